//! Checking a system call's pointers before the kernel uses them.
//!
//! A program passes addresses in registers, and it may pass anything: the
//! kernel's own memory, a range that wraps around 4 GiB, its read-only
//! code as the buffer for `read`. The kernel runs with every permission,
//! so the MMU would not stop it from writing there on the program's
//! behalf. Before it touches user memory, it checks the range against what
//! the program owns:
//!
//! ```text
//!   check(address, length, access)
//!     length 0                      -> fine: nothing is touched
//!     address + length wraps        -> BadAddress
//!     not inside the user region    -> BadAddress   (the kernel's memory)
//!     each page of the range:
//!       a segment of the image      -> fine to read; to write, only if
//!                                      the segment is writable
//!       heap (below the break)      -> fine (mapped on first touch)
//!       stack                       -> fine (mapped on first touch)
//!       anything else               -> BadAddress
//! ```
//!
//! The check is the first line of defence. The copy itself is the second:
//! it runs with an exception-table entry (`user_copy.rs`), so a fault the
//! check did not foresee becomes an error code too, never a kernel fault.

use crate::abi::Errno;
use crate::elf::Segment;
use crate::user_layout::{UserPart, PAGE_SIZE, USER_END, USER_START};
use core::ops::Range;

/// Which way the kernel moves the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// The kernel reads them (`write`'s buffer).
    Read,
    /// The kernel writes them (`read`'s buffer).
    Write,
}

/// What the kernel knows of a program's memory.
#[derive(Debug, Clone, Copy)]
pub struct UserMemory<'a> {
    pub segments: &'a [Segment],
    /// The end of the image, page-aligned: where the heap starts.
    pub image_end: u32,
    /// The break: the heap ends here.
    pub brk: u32,
}

impl UserMemory<'_> {
    /// Whether the page at `page` (page-aligned) may be accessed so.
    fn allows(&self, page: u32, access: Access) -> bool {
        // LAB 4.1 BEGIN: which part of the region the page is in (UserPart::of); the image: only a page of one of its segments (Segment::pages), and for a write only a writable one; heap and stack: yes; anything else: no
        match UserPart::of(page, self.image_end, self.brk) {
            UserPart::Image => self.segments.iter().any(|segment| {
                segment.pages().contains(&page) && (access == Access::Read || segment.writable())
            }),
            // A heap page is the program's if any of its bytes is below
            // the break: the break need not be page-aligned.
            UserPart::Heap | UserPart::Stack => true,
            UserPart::Unmapped | UserPart::AboveBreak | UserPart::Kernel => false,
        }
        // LAB END
    }
}

/// Checks `length` bytes at `address` for `access`; the range, if the
/// program may have the kernel touch it.
pub fn check(
    address: u32, length: u32, access: Access, memory: &UserMemory,
) -> Result<Range<u32>, Errno> {
    // LAB 4.1 BEGIN: a length of 0 touches nothing (fine, whatever the address); an end that wraps past 4 GiB, or a range not inside [USER_START, USER_END), is BadAddress; then every page from the one holding `address` up to the end must be allowed
    if length == 0 {
        return Ok(address..address);
    }
    let end = address.checked_add(length).ok_or(Errno::BadAddress)?;
    if address < USER_START || end > USER_END {
        return Err(Errno::BadAddress);
    }
    let mut page = address - address % PAGE_SIZE;
    while page < end {
        if !memory.allows(page, access) {
            return Err(Errno::BadAddress);
        }
        page += PAGE_SIZE;
    }
    Ok(address..end)
    // LAB END
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elf::{PF_R, PF_W, PF_X};
    use crate::user_layout::{HEAP_LIMIT, IMAGE_START, STACK_BOTTOM};
    use proptest::prelude::*;

    /// Text (2 pages, R-X), rodata (1 page, R--), a gap page, data (1 page,
    /// RW-); the heap from 0xC010_5000 to a break at 0xC010_7800.
    fn segments() -> [Segment; 3] {
        let segment = |vaddr: u32, memsz: u32, flags: u32| Segment {
            vaddr,
            memsz,
            offset: 0,
            filesz: 0,
            flags,
        };
        [
            segment(IMAGE_START, 0x2000, PF_R | PF_X),
            segment(IMAGE_START + 0x2000, 0x100, PF_R),
            segment(IMAGE_START + 0x4000, 0x800, PF_R | PF_W),
        ]
    }

    fn memory(segments: &[Segment]) -> UserMemory<'_> {
        UserMemory {
            segments,
            image_end: IMAGE_START + 0x5000,
            brk: IMAGE_START + 0x7800,
        }
    }

    #[test]
    fn ranges_the_program_owns_pass_and_others_are_bad_addresses() {
        let segments = segments();
        let memory = memory(&segments);
        let ok = |address, length, access| check(address, length, access, &memory).is_ok();
        let text = IMAGE_START;
        assert!(ok(text, 16, Access::Read), "a write() of its own code");
        assert!(!ok(text, 16, Access::Write), "a read() into its code");
        assert!(!ok(text + 0x2000, 1, Access::Write), "into rodata");
        assert!(
            !ok(text + 0x3000, 1, Access::Read),
            "the gap between segments"
        );
        assert!(ok(text + 0x4000, 0x800, Access::Write), "data");
        assert!(
            ok(text + 0x5000, 0x2800, Access::Write),
            "the heap, to the break"
        );
        assert!(ok(text + 0x7FFF, 1, Access::Write), "the break's last page");
        assert!(!ok(text + 0x8000, 1, Access::Read), "above the break");
        assert!(ok(STACK_BOTTOM, 0x1_0000, Access::Write), "the stack");
        assert!(!ok(HEAP_LIMIT, 1, Access::Read), "between heap and stack");
        assert!(!ok(0x0010_0000, 16, Access::Read), "the kernel");
        assert!(!ok(USER_END - 8, 16, Access::Read), "past the region's end");
        assert_eq!(
            check(0xFFFF_FFF0, 0x20, Access::Read, &memory),
            Err(Errno::BadAddress),
            "wrapping around 4 GiB"
        );
        assert_eq!(
            check(0, 0, Access::Write, &memory),
            Ok(0..0),
            "nothing to touch"
        );
        assert!(!ok(0, 1, Access::Read), "null");
    }

    /// The test layout's rules written out by hand, byte by byte: what may
    /// be read (the three segments' pages, the heap's pages up to the page
    /// of the break, the stack) and what may be written (data, heap, stack).
    fn model_allows(byte: u32, write: bool) -> bool {
        let image = |from: u32, to: u32| (IMAGE_START + from..IMAGE_START + to).contains(&byte);
        let readable_only = image(0, 0x3000);
        let writable = image(0x4000, 0x8000) || (STACK_BOTTOM..USER_END).contains(&byte);
        writable || (!write && readable_only)
    }

    proptest! {
        /// Against a model that asks about every byte: a range passes
        /// exactly when each of its bytes may be touched.
        #[test]
        fn agrees_with_a_byte_by_byte_model(
            offset in 0u32..0xA000,
            length in 0u32..0x3000,
            write in any::<bool>(),
            at_the_stack in any::<bool>(),
        ) {
            let segments = segments();
            let memory = memory(&segments);
            let access = if write { Access::Write } else { Access::Read };
            let base = if at_the_stack { STACK_BOTTOM - 0x2000 } else { IMAGE_START - 0x1000 };
            let address = base + offset;
            let expected = (address..address.saturating_add(length)).all(|byte| model_allows(byte, write));
            prop_assert_eq!(check(address, length, access, &memory).is_ok(), expected);
        }
    }
}
