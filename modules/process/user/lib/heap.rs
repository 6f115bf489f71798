//! The program's `#[global_allocator]`: `user_malloc`'s first-fit heap over
//! the break, behind a lock. A program has one thread, so the lock is never
//! contended; but `GlobalAlloc` takes `&self`, and the lock is what turns
//! that into the `&mut` the heap needs. (On the host, where `cargo clippy`
//! checks this crate, it is not the allocator.)

use super::syscalls;
use super::user_malloc::{Break, UserHeap};
use core::alloc::{GlobalAlloc, Layout};
use core::ptr::{null_mut, NonNull};
use spin::Mutex;

/// `sbrk` as the heap's [`Break`].
pub struct Sbrk;

impl Break for Sbrk {
    fn grow(&mut self, bytes: usize) -> Option<usize> {
        syscalls::sbrk(isize::try_from(bytes).ok()?).ok()
    }
}

pub struct Heap(Mutex<UserHeap<Sbrk>>);

impl Heap {
    /// Bytes of heap, and how many are free.
    pub fn usage(&self) -> (usize, usize) {
        self.0.lock().usage()
    }

    /// Free blocks and used blocks.
    pub fn blocks(&self) -> (usize, usize) {
        let (mut free, mut used) = (0, 0);
        let _ = self.0.lock().walk(&mut |_, _, is_used| {
            if is_used {
                used += 1
            } else {
                free += 1
            }
        });
        (free, used)
    }
}

#[cfg_attr(target_os = "none", global_allocator)]
pub static HEAP: Heap = Heap(Mutex::new(UserHeap::new(Sbrk)));

// SAFETY: `malloc` returns blocks of at least `size` bytes at the requested
// alignment, never overlapping a live one; `free` and `realloc` take only
// what it returned (a bad pointer ends the program with a message).
unsafe impl GlobalAlloc for Heap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.0
            .lock()
            .malloc(layout.size(), layout.align())
            .map_or(null_mut(), NonNull::as_ptr)
    }

    unsafe fn dealloc(&self, pointer: *mut u8, _layout: Layout) {
        if let Some(pointer) = NonNull::new(pointer) {
            let result = self.0.lock().free(pointer);
            if let Err(error) = result {
                panic!("free: {error:?}");
            }
        }
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let Some(pointer) = NonNull::new(pointer) else {
            return null_mut();
        };
        let result = self.0.lock().realloc(pointer, new_size, layout.align());
        match result {
            Ok(moved) => moved.map_or(null_mut(), NonNull::as_ptr),
            Err(error) => panic!("realloc: {error:?}"),
        }
    }
}
