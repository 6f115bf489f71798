//! The slabs as a heap: [`Heap`], [`Inspect`], [`Grow`] and [`Traced`] for
//! [`SlabHeap`]. Small requests go to a slab, the rest straight to the heap
//! beneath.

use super::{SlabHeap, LARGEST_OBJECT};
use crate::heap::{
    check_alignment, for_request, reallocate_by_moving, BlockInfo, Grow, Heap, HeapError,
    HeapStats, Inspect, Traced,
};
use core::alloc::Layout;
use core::ptr::NonNull;

impl<H: Inspect> Heap for SlabHeap<H> {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    unsafe fn add_region(&mut self, start: usize, size: usize) -> Result<(), HeapError> {
        // SAFETY: the caller's promise is passed on unchanged.
        unsafe { self.inner.add_region(start, size) }
    }

    fn allocate(&mut self, layout: Layout) -> Result<NonNull<u8>, HeapError> {
        match self.class_for(layout) {
            Some(class) => match self.allocate_object(class, layout) {
                Err(HeapError::Unsupported(_)) => {
                    self.enabled = false;
                    self.inner.allocate(layout)
                }
                result => result.map_err(|error| for_request(error, layout)),
            },
            None => {
                check_alignment(layout)?;
                match self.inner.allocate(layout) {
                    Err(HeapError::OutOfMemory { .. }) if self.release_empty_slabs() > 0 => {
                        self.inner.allocate(layout)
                    }
                    result => result,
                }
            }
        }
    }

    fn deallocate(&mut self, pointer: NonNull<u8>, layout: Layout) -> Result<(), HeapError> {
        let address = pointer.as_ptr() as usize;
        if layout.size() <= LARGEST_OBJECT {
            if let Some((slab, index)) = self.slab_of(address) {
                return self.deallocate_object(slab, index, address, layout);
            }
        }
        match self.inner.deallocate(pointer, layout) {
            // The last object of a slab took the slab with it when it was
            // freed: its span went back to the heap beneath, so a second
            // free of it lands inside a free block there. That is a double
            // free, not a pointer nobody handed out.
            Err(HeapError::InvalidPointer { address })
                if layout.size() <= LARGEST_OBJECT && self.inside_free_block(address) =>
            {
                Err(HeapError::DoubleFree { address })
            }
            result => result,
        }
    }

    /// A slab object stays put while the new size is in its class, and
    /// moves otherwise: an object that shrinks to a smaller class moves too,
    /// or the slack would stay wasted (small objects are cheap to copy). A
    /// block of the heap beneath is resized by that heap, in place where it
    /// can, even when it shrinks to a size a slab could hold: moving a large
    /// block would cost a large copy.
    fn reallocate(
        &mut self, pointer: NonNull<u8>, layout: Layout, new_size: usize,
    ) -> Result<NonNull<u8>, HeapError> {
        let address = pointer.as_ptr() as usize;
        let slab = if layout.size() <= LARGEST_OBJECT {
            self.slab_of(address)
        } else {
            None
        };
        let Some((slab, index)) = slab else {
            return self.inner.reallocate(pointer, layout, new_size);
        };
        let header = self.header(slab);
        if header.in_use[index / 32] & (1 << (index % 32)) == 0 {
            return Err(HeapError::DoubleFree { address });
        }
        let class = usize::from(header.class);
        let new_layout = Layout::from_size_align(new_size, layout.align());
        if new_layout.is_ok_and(|new_layout| self.class_for(new_layout) == Some(class)) {
            self.object_bytes = self.object_bytes - layout.size().min(self.object_bytes) + new_size;
            return Ok(pointer);
        }
        reallocate_by_moving(self, pointer, layout, new_size)
    }

    fn usable_size(&self, pointer: NonNull<u8>) -> Result<usize, HeapError> {
        match self.slab_of(pointer.as_ptr() as usize) {
            Some((slab, index)) => {
                let header = self.header(slab);
                if header.in_use[index / 32] & (1 << (index % 32)) == 0 {
                    return Err(HeapError::DoubleFree {
                        address: pointer.as_ptr() as usize,
                    });
                }
                Ok(self.object_size(slab))
            }
            None => self.inner.usable_size(pointer),
        }
    }

    /// The heap beneath's figures, with each slab counted as the objects in
    /// it rather than as one allocation.
    fn stats(&self) -> HeapStats {
        let mut stats = self.inner.stats();
        let slabs: usize = self.classes.iter().map(|class| class.slabs).sum();
        let span = self.inner.page_block().size();
        stats.allocations = stats.allocations - slabs + self.objects;
        stats.requested = stats.requested - slabs * span + self.object_bytes;
        stats
    }
}

impl<H: Inspect> Inspect for SlabHeap<H> {
    fn for_each_block(&self, visit: &mut dyn FnMut(BlockInfo)) {
        self.inner.for_each_block(visit)
    }

    fn granule(&self) -> usize {
        self.inner.granule()
    }

    fn owns(&self, address: usize) -> bool {
        self.inner.owns(address)
    }

    fn check_integrity(&self) -> Result<(), HeapError> {
        self.inner.check_integrity()?;
        self.check_slabs()
    }
}

impl<H: Inspect + Grow> Grow for SlabHeap<H> {
    fn growth_for(&self, layout: Layout) -> Option<usize> {
        match self.class_for(layout) {
            Some(_) => self.inner.growth_for(self.inner.page_block()),
            None => self.inner.growth_for(layout),
        }
    }

    unsafe fn extend_top(&mut self, bytes: usize) -> Result<(), HeapError> {
        // SAFETY: the caller's promise is passed on unchanged.
        unsafe { self.inner.extend_top(bytes) }
    }
}

/// Records no call sites.
impl<H: Inspect> Traced for SlabHeap<H> {}
