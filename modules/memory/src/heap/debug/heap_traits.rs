//! The debugger is itself a heap: [`Heap`], [`Inspect`], [`Grow`] and
//! [`Traced`] for [`DebugHeap`], each passing through to the heap beneath
//! when debugging is off.

use super::{DebugHeap, DebugMode};
use crate::heap::{BlockInfo, CallSite, Grow, Heap, HeapError, HeapStats, Inspect, Traced};
use core::alloc::Layout;
use core::ptr::NonNull;

/// The most checking: what the host tests use.
impl<H: Inspect + Default> Default for DebugHeap<H> {
    fn default() -> Self {
        Self::new(H::default(), DebugMode::Full)
    }
}

impl<H: Inspect> Heap for DebugHeap<H> {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    unsafe fn add_region(&mut self, start: usize, size: usize) -> Result<(), HeapError> {
        // SAFETY: the caller's promise is passed on unchanged.
        unsafe { self.inner.add_region(start, size) }
    }

    fn allocate(&mut self, layout: Layout) -> Result<NonNull<u8>, HeapError> {
        self.allocate_at(layout, CallSite::Unknown)
    }

    fn deallocate(&mut self, pointer: NonNull<u8>, layout: Layout) -> Result<(), HeapError> {
        self.deallocate_at(pointer, layout, CallSite::Unknown)
    }

    fn reallocate(
        &mut self, pointer: NonNull<u8>, layout: Layout, new_size: usize,
    ) -> Result<NonNull<u8>, HeapError> {
        self.reallocate_at(pointer, layout, new_size, CallSite::Unknown)
    }

    fn usable_size(&self, pointer: NonNull<u8>) -> Result<usize, HeapError> {
        if self.mode == DebugMode::Off {
            return self.inner.usable_size(pointer);
        }
        let data = pointer.as_ptr() as usize;
        match self.checked_header(data)? {
            true => Ok(self.header(data).size),
            false => Err(HeapError::DoubleFree { address: data }),
        }
    }

    /// The heap beneath's figures (headers, red zones and quarantined
    /// blocks count as used), with the owners' blocks and bytes.
    fn stats(&self) -> HeapStats {
        let mut stats = self.inner.stats();
        if self.mode != DebugMode::Off {
            stats.allocations = self.live_blocks;
            stats.requested = self.live_bytes;
        }
        stats
    }
}

impl<H: Inspect> Inspect for DebugHeap<H> {
    fn for_each_block(&self, visit: &mut dyn FnMut(BlockInfo)) {
        self.inner.for_each_block(visit)
    }

    fn granule(&self) -> usize {
        self.inner.granule()
    }

    fn owns(&self, address: usize) -> bool {
        self.inner.owns(address)
            || self
                .guard_pages
                .is_some_and(|pages| pages.block_at(address).is_some())
    }

    fn check_integrity(&self) -> Result<(), HeapError> {
        self.inner.check_integrity()
    }

    fn page_block(&self) -> Layout {
        self.inner.page_block()
    }
}

impl<H: Inspect + Grow> Grow for DebugHeap<H> {
    fn growth_for(&self, layout: Layout) -> Option<usize> {
        if self.mode == DebugMode::Off {
            return self.inner.growth_for(layout);
        }
        self.inner.growth_for(self.inner_layout(layout).ok()?)
    }

    unsafe fn extend_top(&mut self, bytes: usize) -> Result<(), HeapError> {
        // SAFETY: the caller's promise is passed on unchanged.
        unsafe { self.inner.extend_top(bytes) }
    }
}

impl<H: Inspect> Traced for DebugHeap<H> {
    fn allocate_at(&mut self, layout: Layout, site: CallSite) -> Result<NonNull<u8>, HeapError> {
        if self.mode == DebugMode::Off {
            return self.inner.allocate(layout);
        }
        crate::heap::check_alignment(layout)?;
        self.allocate_debug(layout, site)
    }

    fn deallocate_at(
        &mut self, pointer: NonNull<u8>, layout: Layout, site: CallSite,
    ) -> Result<(), HeapError> {
        if self.mode == DebugMode::Off {
            return self.inner.deallocate(pointer, layout);
        }
        self.deallocate_debug(pointer.as_ptr() as usize, site)
    }

    /// With debugging on, a block always moves: a stale pointer to the old
    /// place then lands in quarantine, where it is caught.
    fn reallocate_at(
        &mut self, pointer: NonNull<u8>, layout: Layout, new_size: usize, site: CallSite,
    ) -> Result<NonNull<u8>, HeapError> {
        if self.mode == DebugMode::Off {
            return self.inner.reallocate(pointer, layout, new_size);
        }
        let data = pointer.as_ptr() as usize;
        if !self.checked_header(data)? {
            return Err(HeapError::DoubleFree { address: data });
        }
        let new_layout = Layout::from_size_align(new_size, layout.align()).map_err(|_| {
            HeapError::OutOfMemory {
                size: new_size,
                align: layout.align(),
            }
        })?;
        let moved = self.allocate_debug(new_layout, site)?;
        let keep = self.header(data).size.min(new_size);
        // SAFETY: both blocks are live blocks of this heap, at least `keep`
        // bytes long, and distinct.
        unsafe { core::ptr::copy_nonoverlapping(pointer.as_ptr(), moved.as_ptr(), keep) };
        self.deallocate_debug(data, site)?;
        Ok(moved)
    }
}
