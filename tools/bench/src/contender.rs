//! The interface every allocator is measured through.
//!
//! A contender is a `GlobalAlloc` whose state sits behind a `spin::Mutex`:
//! the way a kernel shares its heap, and the same lock for everyone, so the
//! figures compare the allocators and not their locks. Each contender is
//! built over a whole [`Arena`] and nothing else.
//!
//! Reallocation uses the allocator's own in-place routine where it has one
//! (Strata's heaps, talc); otherwise `GlobalAlloc`'s default: allocate,
//! copy, free.

use crate::arena::Arena;
use core::alloc::{GlobalAlloc, Layout};
use core::ptr::{null_mut, NonNull};
use memory::heap::{buddy, exact, BuddyHeap, BumpHeap, ExactHeap, Fit, Heap, PoolHeap, SlabHeap};

/// An allocator under test.
pub trait Contender: GlobalAlloc + Sync {
    /// Its name in tables, the CSV file and the chart.
    const NAME: &'static str;

    /// Bytes of header inside each allocated block, where the allocator
    /// has a fixed one (reported as the header's share of the arena).
    const BLOCK_HEADER: usize = 0;

    /// A fresh allocator that owns all of `arena`.
    ///
    /// # Safety
    /// Nothing else may use the arena while the allocator exists, and the
    /// arena must outlive it.
    unsafe fn over(arena: &Arena) -> Self;

    /// Bytes in allocated blocks (headers and rounding included), where the
    /// allocator counts them: splits heap efficiency into what the program
    /// holds, headers, rounding and fragmentation.
    fn used_bytes(&self) -> Option<usize> {
        None
    }
}

/// One of Strata's heaps, set up as `S` says, behind a spin lock.
pub struct Strata<S: StrataHeap>(spin::Mutex<S::Heap>);

/// A Strata heap as a contender: which heap, how it is set up, its name.
/// Most are the heap itself with its defaults; the best-fit pool is the
/// pool with another setting, so it gets a name of its own, [`BestFit`].
pub trait StrataHeap {
    type Heap: Heap + Send;
    const NAME: &'static str;
    const BLOCK_HEADER: usize;
    /// A fresh, empty heap.
    fn empty() -> Self::Heap;
}

impl StrataHeap for BuddyHeap {
    type Heap = Self;
    const NAME: &'static str = "strata-buddy";
    const BLOCK_HEADER: usize = buddy::HEADER_SIZE;
    fn empty() -> Self {
        Self::new()
    }
}

/// Objects in slabs have no header; larger blocks have the buddy's, so the
/// header share is not one number and is not reported.
impl StrataHeap for SlabHeap<BuddyHeap> {
    type Heap = Self;
    const NAME: &'static str = "strata-slab";
    const BLOCK_HEADER: usize = 0;
    fn empty() -> Self {
        Self::default()
    }
}

impl StrataHeap for ExactHeap {
    type Heap = Self;
    const NAME: &'static str = "strata-exact";
    const BLOCK_HEADER: usize = exact::HEADER_SIZE;
    fn empty() -> Self {
        Self::new()
    }
}

impl StrataHeap for SlabHeap<ExactHeap> {
    type Heap = Self;
    const NAME: &'static str = "strata-slab-exact";
    const BLOCK_HEADER: usize = 0;
    fn empty() -> Self {
        Self::new(ExactHeap::new(), true)
    }
}

/// The pool as the kernel has it by default: first fit.
impl StrataHeap for PoolHeap {
    type Heap = Self;
    const NAME: &'static str = "strata-pool";
    const BLOCK_HEADER: usize = 0;
    fn empty() -> Self {
        Self::with_fit(Fit::First)
    }
}

/// The pool with `pool=best`: the smallest free chunk that fits.
pub struct BestFit;

impl StrataHeap for BestFit {
    type Heap = PoolHeap;
    const NAME: &'static str = "strata-pool-best";
    const BLOCK_HEADER: usize = 0;
    fn empty() -> PoolHeap {
        PoolHeap::with_fit(Fit::Best)
    }
}

impl StrataHeap for BumpHeap {
    type Heap = Self;
    const NAME: &'static str = "strata-bump";
    const BLOCK_HEADER: usize = 0;
    fn empty() -> Self {
        Self::new()
    }
}

impl<S: StrataHeap> Contender for Strata<S> {
    const NAME: &'static str = S::NAME;
    const BLOCK_HEADER: usize = S::BLOCK_HEADER;

    unsafe fn over(arena: &Arena) -> Self {
        let mut heap = S::empty();
        // SAFETY: the caller gives this heap the arena alone, for its life.
        unsafe { heap.add_region(arena.start() as usize, arena.size()) }
            .expect("a Strata heap accepts a 128 MiB arena");
        Self(spin::Mutex::new(heap))
    }

    fn used_bytes(&self) -> Option<usize> {
        Some(self.0.lock().stats().used)
    }
}

// SAFETY: the heap checks every pointer it is given back, hands out blocks
// that do not overlap and are aligned as asked, and the mutex serialises
// every call.
unsafe impl<S: StrataHeap> GlobalAlloc for Strata<S> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.0
            .lock()
            .allocate(layout)
            .map_or(null_mut(), NonNull::as_ptr)
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        let Some(pointer) = NonNull::new(pointer) else {
            return;
        };
        let freed = self.0.lock().deallocate(pointer, layout);
        debug_assert!(freed.is_ok(), "{freed:?}");
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let Some(pointer) = NonNull::new(pointer) else {
            return null_mut();
        };
        self.0
            .lock()
            .reallocate(pointer, layout, new_size)
            .map_or(null_mut(), NonNull::as_ptr)
    }
}

/// Strata's binary buddy heap: the kernel's `#[global_allocator]`.
pub type StrataBuddy = Strata<BuddyHeap>;
/// The buddy heap with slabs in front (the kernel's default).
pub type StrataSlab = Strata<SlabHeap<BuddyHeap>>;
/// The exact-fit buddy heap (`heap=exact`).
pub type StrataExact = Strata<ExactHeap>;
/// The exact-fit heap with slabs in front.
pub type StrataSlabExact = Strata<SlabHeap<ExactHeap>>;
/// Strata's pool, first fit (the default, `pool=first`).
pub type StrataPool = Strata<PoolHeap>;
/// Strata's pool, best fit (`pool=best`).
pub type StrataPoolBest = Strata<BestFit>;
/// Strata's bump allocator (it reuses memory only when everything is freed,
/// so under random frees it soon runs out; its figures show that).
pub type StrataBump = Strata<BumpHeap>;
