//! The memory an allocator under test manages.
//!
//! Every allocator gets the same 128 MiB, page-aligned, in turn (a fresh
//! allocator over it for every trial). Each page is written once before any
//! timing, so no benchmark pays for the host kernel's first-touch faults.

use std::alloc::{alloc, dealloc, Layout};
use std::ptr::NonNull;

/// Size of the arena every allocator manages: 128 MiB, as in talc's
/// benchmarks.
pub const ARENA_SIZE: usize = 128 << 20;

const PAGE: usize = 4096;

/// A block of host memory handed whole to one allocator at a time.
pub struct Arena {
    start: NonNull<u8>,
    layout: Layout,
}

impl Arena {
    /// Reserves `size` bytes (a multiple of a page) and touches every page.
    pub fn new(size: usize) -> Self {
        let layout = Layout::from_size_align(size, PAGE).expect("arena size");
        assert!(size > 0, "an arena needs bytes");
        // SAFETY: the layout's size is not zero (checked just above).
        let start = NonNull::new(unsafe { alloc(layout) })
            .unwrap_or_else(|| panic!("the host cannot give the benchmark {size} bytes"));
        for offset in (0..size).step_by(PAGE) {
            // SAFETY: `offset < size`, inside the block just allocated.
            unsafe { start.as_ptr().add(offset).write_volatile(0) };
        }
        Self { start, layout }
    }

    pub fn start(&self) -> *mut u8 {
        self.start.as_ptr()
    }

    pub fn size(&self) -> usize {
        self.layout.size()
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout, freed once.
        unsafe { dealloc(self.start.as_ptr(), self.layout) }
    }
}
