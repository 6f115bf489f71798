//! One heap chosen at boot: `heap=exact|buddy|pool|bump` on the kernel command line
//! (and, for the pool, `pool=first|best`).
//!
//! A `#[global_allocator]` is a single static, fixed at compile time, so the
//! choice is made one level down: the static holds an [`AnyHeap`], an enum of
//! the four heaps, which forwards every call to the one that was picked.

use super::{
    BlockInfo, BuddyHeap, BumpHeap, ExactHeap, Fit, Grow, Heap, HeapError, HeapStats, Inspect,
    PoolHeap, Traced,
};
use core::alloc::Layout;
use core::ptr::NonNull;

/// Which heap to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeapKind {
    Exact,
    Buddy,
    Pool,
    Bump,
}

impl HeapKind {
    pub const ALL: [HeapKind; 4] = [
        HeapKind::Exact,
        HeapKind::Buddy,
        HeapKind::Pool,
        HeapKind::Bump,
    ];

    /// Parses the value of `heap=` on the kernel command line.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.name() == text)
    }

    /// Whether the heap can move the end of its region up ([`Grow`]): the
    /// two buddy heaps can; the pool and the bump heap get a fixed region.
    pub fn grows_at_top(self) -> bool {
        matches!(self, HeapKind::Exact | HeapKind::Buddy)
    }

    pub fn name(self) -> &'static str {
        match self {
            HeapKind::Exact => "exact",
            HeapKind::Buddy => "buddy",
            HeapKind::Pool => "pool",
            HeapKind::Bump => "bump",
        }
    }
}

/// The exact-fit, buddy, pool or bump heap.
///
/// The variants differ in size (the exact-fit heap keeps a bitmap's place
/// per region), but there is one `AnyHeap`, in a static: boxing the large
/// one would need a heap to hold the heap.
#[allow(clippy::large_enum_variant)]
pub enum AnyHeap {
    Exact(ExactHeap),
    Buddy(BuddyHeap),
    Pool(PoolHeap),
    Bump(BumpHeap),
}

impl AnyHeap {
    /// An empty heap of the given kind; `fit` is the pool's placement
    /// policy (the other heaps have none and ignore it).
    pub const fn new(kind: HeapKind, fit: Fit) -> Self {
        match kind {
            HeapKind::Exact => AnyHeap::Exact(ExactHeap::new()),
            HeapKind::Buddy => AnyHeap::Buddy(BuddyHeap::new()),
            HeapKind::Pool => AnyHeap::Pool(PoolHeap::with_fit(fit)),
            HeapKind::Bump => AnyHeap::Bump(BumpHeap::new()),
        }
    }

    pub fn kind(&self) -> HeapKind {
        match self {
            AnyHeap::Exact(_) => HeapKind::Exact,
            AnyHeap::Buddy(_) => HeapKind::Buddy,
            AnyHeap::Pool(_) => HeapKind::Pool,
            AnyHeap::Bump(_) => HeapKind::Bump,
        }
    }

    /// The pool's placement policy, if this is the pool.
    pub fn fit(&self) -> Option<Fit> {
        match self {
            AnyHeap::Pool(pool) => Some(pool.fit()),
            AnyHeap::Exact(_) | AnyHeap::Buddy(_) | AnyHeap::Bump(_) => None,
        }
    }

    fn inner(&self) -> &dyn Inspect {
        match self {
            AnyHeap::Exact(heap) => heap,
            AnyHeap::Buddy(heap) => heap,
            AnyHeap::Pool(heap) => heap,
            AnyHeap::Bump(heap) => heap,
        }
    }

    fn inner_mut(&mut self) -> &mut dyn Inspect {
        match self {
            AnyHeap::Exact(heap) => heap,
            AnyHeap::Buddy(heap) => heap,
            AnyHeap::Pool(heap) => heap,
            AnyHeap::Bump(heap) => heap,
        }
    }
}

impl Heap for AnyHeap {
    fn name(&self) -> &'static str {
        self.inner().name()
    }

    unsafe fn add_region(&mut self, start: usize, size: usize) -> Result<(), HeapError> {
        // SAFETY: the caller's promise is passed on unchanged.
        unsafe { self.inner_mut().add_region(start, size) }
    }

    fn allocate(&mut self, layout: Layout) -> Result<NonNull<u8>, HeapError> {
        self.inner_mut().allocate(layout)
    }

    fn deallocate(&mut self, pointer: NonNull<u8>, layout: Layout) -> Result<(), HeapError> {
        self.inner_mut().deallocate(pointer, layout)
    }

    fn reallocate(
        &mut self, pointer: NonNull<u8>, layout: Layout, new_size: usize,
    ) -> Result<NonNull<u8>, HeapError> {
        self.inner_mut().reallocate(pointer, layout, new_size)
    }

    fn usable_size(&self, pointer: NonNull<u8>) -> Result<usize, HeapError> {
        self.inner().usable_size(pointer)
    }

    fn stats(&self) -> HeapStats {
        self.inner().stats()
    }
}

impl Inspect for AnyHeap {
    fn for_each_block(&self, visit: &mut dyn FnMut(BlockInfo)) {
        self.inner().for_each_block(visit)
    }

    fn granule(&self) -> usize {
        self.inner().granule()
    }

    fn owns(&self, address: usize) -> bool {
        self.inner().owns(address)
    }

    fn check_integrity(&self) -> Result<(), HeapError> {
        self.inner().check_integrity()
    }

    fn page_block(&self) -> Layout {
        self.inner().page_block()
    }
}

/// The two buddy heaps grow at their top; the pool and the bump heap get
/// a fixed region.
impl Grow for AnyHeap {
    fn growth_for(&self, layout: Layout) -> Option<usize> {
        match self {
            AnyHeap::Exact(heap) => heap.growth_for(layout),
            AnyHeap::Buddy(heap) => heap.growth_for(layout),
            AnyHeap::Pool(_) | AnyHeap::Bump(_) => None,
        }
    }

    unsafe fn extend_top(&mut self, bytes: usize) -> Result<(), HeapError> {
        match self {
            // SAFETY: the caller's promise is passed on unchanged.
            AnyHeap::Exact(heap) => unsafe { heap.extend_top(bytes) },
            // SAFETY: as above.
            AnyHeap::Buddy(heap) => unsafe { heap.extend_top(bytes) },
            AnyHeap::Pool(_) | AnyHeap::Bump(_) => {
                Err(HeapError::Unsupported("growing a region in place"))
            }
        }
    }
}

/// Records no call sites.
impl Traced for AnyHeap {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse_from_their_names_only() {
        for kind in HeapKind::ALL {
            assert_eq!(HeapKind::parse(kind.name()), Some(kind));
            assert_eq!(AnyHeap::new(kind, Fit::First).kind(), kind);
            assert_eq!(AnyHeap::new(kind, Fit::First).name(), kind.name());
        }
        assert_eq!(HeapKind::parse("slab"), None);
        assert_eq!(HeapKind::parse(""), None);
        assert_eq!(HeapKind::parse("Buddy"), None);
    }

    #[test]
    fn only_the_pool_has_a_fit() {
        for fit in Fit::ALL {
            assert_eq!(AnyHeap::new(HeapKind::Pool, fit).fit(), Some(fit));
            assert_eq!(AnyHeap::new(HeapKind::Buddy, fit).fit(), None);
            assert_eq!(AnyHeap::new(HeapKind::Bump, fit).fit(), None);
        }
    }
}
