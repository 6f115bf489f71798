//! The allocators Rust kernels use, driven through the same interface as
//! Strata's heaps: each behind a `spin::Mutex`, over the whole arena.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::{null_mut, NonNull};
use strata_bench::arena::Arena;
use strata_bench::contender::Contender;
use talc::base::Talc;
use talc::source::Manual;
use talc::DefaultBinning;

/// talc: dlmalloc-style bins with boundary tags; claims the arena manually.
pub struct TalcPeer(spin::Mutex<Talc<Manual, DefaultBinning>>);

// SAFETY: talc's state is raw pointers into the arena, which only the
// thread holding the mutex touches.
unsafe impl Sync for TalcPeer {}
// SAFETY: as above.
unsafe impl Send for TalcPeer {}

impl Contender for TalcPeer {
    const NAME: &'static str = "talc";

    unsafe fn over(arena: &Arena) -> Self {
        let mut talc = Talc::new(Manual);
        // SAFETY: the caller gives talc the arena alone, for its life.
        unsafe { talc.claim(arena.start(), arena.size()) }.expect("talc claims the arena");
        Self(spin::Mutex::new(talc))
    }
}

// SAFETY: each call forwards to talc under the lock with the caller's
// guarantees unchanged; realloc is talc's own `TalcLock::realloc` shape.
unsafe impl GlobalAlloc for TalcPeer {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the layout's size is not zero (GlobalAlloc's contract).
        unsafe { self.0.lock().allocate(layout) }.map_or(null_mut(), NonNull::as_ptr)
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        // SAFETY: `pointer` came from this talc with `layout`.
        unsafe { self.0.lock().deallocate(pointer, layout) }
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let mut talc = self.0.lock();
        // SAFETY: `pointer` is live with `layout`; `new_size` is not zero.
        if unsafe { talc.try_realloc_in_place(pointer, layout, new_size) } {
            return pointer;
        }
        // In place failed, so this is a growth: copy the whole old block.
        // SAFETY: the new layout's size is not zero and its align is valid.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: as in `alloc`.
        let Some(moved) = (unsafe { talc.allocate(new_layout) }) else {
            return null_mut();
        };
        // SAFETY: both blocks are live, distinct, and at least
        // `layout.size()` long; the old one is freed after the copy.
        unsafe {
            moved
                .as_ptr()
                .copy_from_nonoverlapping(pointer, layout.size());
            talc.deallocate(pointer, layout);
        }
        moved.as_ptr()
    }
}

/// linked_list_allocator: one first-fit list of holes (the blog_os heap).
pub struct LinkedListPeer(spin::Mutex<linked_list_allocator::Heap>);

impl Contender for LinkedListPeer {
    const NAME: &'static str = "linked_list_allocator";

    unsafe fn over(arena: &Arena) -> Self {
        let mut heap = linked_list_allocator::Heap::empty();
        // SAFETY: the caller gives the heap the arena alone, for its life.
        unsafe { heap.init(arena.start(), arena.size()) };
        Self(spin::Mutex::new(heap))
    }
}

// SAFETY: forwards to the heap under the lock; it has no in-place
// reallocation, so `realloc` is GlobalAlloc's allocate-copy-free.
unsafe impl GlobalAlloc for LinkedListPeer {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.0
            .lock()
            .allocate_first_fit(layout)
            .map_or(null_mut(), NonNull::as_ptr)
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        // SAFETY: `pointer` came from this heap with `layout`.
        unsafe {
            self.0
                .lock()
                .deallocate(NonNull::new_unchecked(pointer), layout)
        }
    }
}

/// buddy_system_allocator: a header-less binary buddy (rCore's heap).
pub struct BuddySystemPeer(spin::Mutex<buddy_system_allocator::Heap<32>>);

impl Contender for BuddySystemPeer {
    const NAME: &'static str = "buddy_system_allocator";

    unsafe fn over(arena: &Arena) -> Self {
        let mut heap = buddy_system_allocator::Heap::<32>::new();
        // SAFETY: the caller gives the heap the arena alone, for its life.
        unsafe { heap.init(arena.start() as usize, arena.size()) };
        Self(spin::Mutex::new(heap))
    }
}

// SAFETY: forwards to the heap under the lock; realloc is GlobalAlloc's
// allocate-copy-free (the crate has no in-place reallocation).
unsafe impl GlobalAlloc for BuddySystemPeer {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.0
            .lock()
            .alloc(layout)
            .map_or(null_mut(), NonNull::as_ptr)
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        // SAFETY: `pointer` came from this heap with `layout`.
        unsafe {
            self.0
                .lock()
                .dealloc(NonNull::new_unchecked(pointer), layout)
        }
    }
}
