//! Where an allocation came from.
//!
//! A leak report that says "37 blocks of 24 bytes" is a riddle; one that
//! says "37 blocks of 24 bytes allocated at `shell/history.rs:88`" is a fix.
//! The kernel learns the site in one of two ways:
//!
//! - **`#[track_caller]`**: the kernel's own entry points
//!   ([`LockedHeap::allocate`](super::LockedHeap::allocate) and friends)
//!   are marked with it, so Rust passes them the caller's file and line.
//! - **Return addresses**: `Box::new` and `Vec::push` reach the heap through
//!   `GlobalAlloc`, which cannot take that attribute. There the kernel walks
//!   the chain of saved frame pointers (the target is built with
//!   `frame-pointer = always`) and keeps the first few return addresses.
//!   `make symbolize ADDR=...` turns them into function names and lines.

use super::{Heap, HeapError};
use core::alloc::Layout;
use core::fmt;
use core::panic::Location;
use core::ptr::NonNull;

/// Return addresses kept per allocation.
pub const RETURN_CHAIN: usize = 3;

/// The place an allocation (or a free) was made from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallSite {
    /// Not recorded (heap debugging off, or on the host).
    Unknown,
    /// A file and line, from `#[track_caller]`.
    Source(&'static Location<'static>),
    /// Return addresses, innermost first (0 = none).
    Return([usize; RETURN_CHAIN]),
}

impl CallSite {
    /// The caller of the function this is called in, if it is
    /// `#[track_caller]` all the way up.
    #[track_caller]
    pub fn caller() -> Self {
        CallSite::Source(Location::caller())
    }

    /// The return addresses on the stack above the caller's caller, from
    /// the frame-pointer chain; [`CallSite::Unknown`] where there is none
    /// to walk (on the host, where frame pointers are not guaranteed).
    #[inline(never)]
    pub fn return_addresses(skip: usize) -> Self {
        #[cfg(all(target_arch = "x86", target_os = "none"))]
        {
            CallSite::Return(walk_frames(skip))
        }
        #[cfg(not(all(target_arch = "x86", target_os = "none")))]
        {
            let _ = skip;
            CallSite::Unknown
        }
    }
}

/// Follows the saved EBP chain. Each frame is `[saved EBP, return address]`
/// at EBP; boot clears EBP, so the chain ends with 0. A frame that does not
/// lie a little above the one before (a corrupt chain, or the switch to
/// another stack) ends the walk rather than reading wild memory.
#[cfg(all(target_arch = "x86", target_os = "none"))]
#[inline(always)]
fn walk_frames(skip: usize) -> [usize; RETURN_CHAIN] {
    const MAX_FRAME: usize = 64 * 1024;
    let mut chain = [0; RETURN_CHAIN];
    let mut frame: usize;
    // SAFETY: copies EBP, this function's frame pointer, into a register.
    unsafe {
        core::arch::asm!("mov {}, ebp", out(reg) frame, options(nomem, nostack, preserves_flags))
    };
    let (mut depth, mut kept) = (0, 0);
    while kept < RETURN_CHAIN && frame != 0 && frame.is_multiple_of(4) && depth < 64 {
        // SAFETY: `frame` is this function's frame, or one that lies above
        // it on the same stack by less than MAX_FRAME (checked below before
        // it is followed): memory of a live frame, which holds the caller's
        // EBP and the return address.
        let (next, return_address) = unsafe {
            (
                (frame as *const usize).read(),
                (frame as *const usize).add(1).read(),
            )
        };
        if depth > skip {
            chain[kept] = return_address;
            kept += 1;
        }
        if next <= frame || next - frame > MAX_FRAME {
            break;
        }
        (frame, depth) = (next, depth + 1);
    }
    chain
}

impl fmt::Display for CallSite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallSite::Unknown => write!(f, "an unrecorded site"),
            CallSite::Source(location) => write!(f, "{}:{}", location.file(), location.line()),
            CallSite::Return(chain) => {
                for (index, address) in chain.iter().take_while(|&&a| a != 0).enumerate() {
                    let separator = if index == 0 { "" } else { " < " };
                    write!(f, "{separator}{address:#010x}")?;
                }
                Ok(())
            }
        }
    }
}

/// A heap that wants to know where each request came from: the heap
/// debugger records it with the block. [`LockedHeap`](super::LockedHeap)
/// passes the site to these; the defaults drop it, so for any other heap
/// `impl Traced for MyHeap {}` is all it takes.
pub trait Traced: Heap {
    /// [`allocate`](Heap::allocate), with the site of the request.
    fn allocate_at(&mut self, layout: Layout, _site: CallSite) -> Result<NonNull<u8>, HeapError> {
        self.allocate(layout)
    }

    /// [`deallocate`](Heap::deallocate), with the site of the free.
    fn deallocate_at(
        &mut self, pointer: NonNull<u8>, layout: Layout, _site: CallSite,
    ) -> Result<(), HeapError> {
        self.deallocate(pointer, layout)
    }

    /// [`reallocate`](Heap::reallocate), with the site of the request.
    fn reallocate_at(
        &mut self, pointer: NonNull<u8>, layout: Layout, new_size: usize, _site: CallSite,
    ) -> Result<NonNull<u8>, HeapError> {
        self.reallocate(pointer, layout, new_size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn entry_point() -> CallSite {
        CallSite::caller()
    }

    #[test]
    fn track_caller_names_the_line_that_called() {
        let line = line!() + 1;
        let site = entry_point();
        let CallSite::Source(location) = site else {
            panic!("{site:?}");
        };
        assert_eq!((location.file(), location.line()), (file!(), line));
        assert_eq!(
            alloc::format!("{site}"),
            alloc::format!("{}:{line}", file!())
        );
    }

    #[test]
    fn return_chains_print_innermost_first() {
        let site = CallSite::Return([0x10_2030, 0x10_4050, 0]);
        assert_eq!(alloc::format!("{site}"), "0x00102030 < 0x00104050");
        assert_eq!(
            alloc::format!("{}", CallSite::Unknown),
            "an unrecorded site"
        );
    }
}
