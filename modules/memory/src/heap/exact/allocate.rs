//! The exact-fit heap as a [`Heap`]: allocate (split and trim), free,
//! and resize in place.

use super::bitmap::{bitmap_bytes, Start};
use super::header::{GRANULE, HEADER_SIZE, MIN_ORDER};
use super::lookup::Allocated;
use super::runs::{FIRST_TRY, LAST_TRY};
use super::{ExactHeap, ORDERS};
use crate::heap::buddy::{aligned_blocks, largest_free, order_for};
use crate::heap::{
    check_alignment, out_of_memory, reallocate_by_moving, Heap, HeapError, HeapStats, MAX_ALIGN,
};
use core::alloc::Layout;
use core::ptr::NonNull;

impl ExactHeap {
    /// Bytes kept for a payload of `size` that starts `offset` bytes into
    /// its block: rounded up to the granule.
    fn length_for(offset: usize, size: usize) -> Option<usize> {
        offset
            .checked_add(size.max(1))?
            .checked_next_multiple_of(GRANULE)
    }

    /// The order of the buddy block a length is cut from.
    pub(super) fn order_for_length(length: usize) -> u32 {
        order_for(length).max(MIN_ORDER)
    }

    /// Where the payload of `layout` starts in its block, and the length.
    pub(super) fn placement(layout: Layout) -> Result<(usize, usize), HeapError> {
        let offset = layout.align().max(HEADER_SIZE);
        let length = Self::length_for(offset, layout.size()).ok_or(out_of_memory(layout))?;
        if Self::order_for_length(length) >= ORDERS as u32 {
            return Err(out_of_memory(layout));
        }
        Ok((offset, length))
    }

    /// Bytes the granules of a region of `bytes` need for their bitmap,
    /// in a block of its own.
    pub(super) fn bitmap_block(granules: usize) -> usize {
        (HEADER_SIZE + bitmap_bytes(granules)).next_multiple_of(GRANULE)
    }

    /// The allocation `pointer` is the payload of: its length in bytes,
    /// header included (for tests and the `demo` command).
    pub fn length_of(&self, pointer: NonNull<u8>) -> Result<usize, HeapError> {
        Ok(self.find_allocated(pointer)?.length)
    }
}

impl Heap for ExactHeap {
    fn name(&self) -> &'static str {
        "exact"
    }

    /// The region's first block holds its bitmap; the rest is carved into
    /// the largest aligned free blocks that fit.
    unsafe fn add_region(&mut self, start: usize, size: usize) -> Result<(), HeapError> {
        let granules = (size / GRANULE).max(1);
        let room = Self::bitmap_block(granules) + GRANULE;
        let (region, start, end) = self.regions.claim(
            (start, size),
            (MAX_ALIGN, GRANULE),
            (room, isize::MAX as usize),
        )?;
        // `claim` checked there is room for the bitmap and a block.
        let length = self.install_bitmap(region, start, (end - start) / GRANULE);
        self.counts.total += end - start;
        self.counts.bookkeeping(length, 0);
        self.release(region, start + length, end)
    }

    fn allocate(&mut self, layout: Layout) -> Result<NonNull<u8>, HeapError> {
        check_alignment(layout)?;
        let (offset, length) = Self::placement(layout)?;
        let order = Self::order_for_length(length);
        // A run of free blocks may start anywhere, so it serves only
        // payloads that need no more than the header's alignment, and never
        // a whole power of two: that is a buddy block, aligned to its size,
        // which callers such as the slabs rely on.
        let from_run = offset == HEADER_SIZE && !length.is_power_of_two();
        // First a few runs of smaller blocks (they would otherwise stay
        // unused), then the smallest buddy block, then any run at all.
        let early = match from_run {
            true => self.take_run(length, FIRST_TRY)?,
            false => None,
        };
        let block = match early {
            Some((block, _)) => block,
            None => match self.take_free(order) {
                Some((block, region, found)) => self.trim(region, block, found, length),
                None if from_run => {
                    let (block, _) = self
                        .take_run(length, LAST_TRY)?
                        .ok_or(out_of_memory(layout))?;
                    block
                }
                None => return Err(out_of_memory(layout)),
            },
        };
        let payload = block + offset;
        if offset > HEADER_SIZE {
            self.write_shim(payload, offset);
        }
        self.counts.allocated(length, layout.size());
        Ok(NonNull::new(payload as *mut u8).expect("blocks are never at address 0"))
    }

    fn deallocate(&mut self, pointer: NonNull<u8>, layout: Layout) -> Result<(), HeapError> {
        let Allocated {
            block,
            region,
            length,
        } = self.find_allocated(pointer)?;
        self.release(region, block, block + length)?;
        self.counts.freed(length, layout.size());
        Ok(())
    }

    /// Shrinks by freeing the end; grows into the free blocks that follow
    /// the allocation's end, however they are aligned; otherwise moves.
    fn reallocate(
        &mut self, pointer: NonNull<u8>, layout: Layout, new_size: usize,
    ) -> Result<NonNull<u8>, HeapError> {
        let Allocated {
            block,
            region,
            length,
        } = self.find_allocated(pointer)?;
        let offset = pointer.as_ptr() as usize - block;
        let new_length = Self::length_for(offset, new_size).ok_or(out_of_memory(layout))?;
        let (_, region_end) = self.regions.get(region);
        let resized = if new_length <= length {
            self.release(region, block + new_length, block + length)?;
            true
        } else {
            // Past the region's end (or the address space's), nothing
            // can follow the block: move, and let `allocate` say no.
            new_length <= region_end - block
                && self.grow_in_place(region, block + length, block + new_length)
        };
        if !resized {
            return reallocate_by_moving(self, pointer, layout, new_size);
        }
        self.write_used(block, new_length);
        self.counts
            .resized((length, new_length), (layout.size(), new_size));
        Ok(pointer)
    }

    fn usable_size(&self, pointer: NonNull<u8>) -> Result<usize, HeapError> {
        let allocated = self.find_allocated(pointer)?;
        Ok(allocated.block + allocated.length - pointer.as_ptr() as usize)
    }

    fn stats(&self) -> HeapStats {
        self.counts.stats(
            largest_free(self.non_empty),
            self.free_counts,
            self.regions.len,
        )
    }
}

impl ExactHeap {
    /// Keeps `[block, block + length)` of a free block of `order` just
    /// taken off its list, and frees the rest as the blocks that tile it,
    /// each twice the one before. None can merge: each one's buddy is the
    /// memory just below it, which is kept.
    pub(super) fn trim(&mut self, region: usize, block: usize, order: u32, length: usize) -> usize {
        for (tail, order) in aligned_blocks(length, 1 << order) {
            self.push_free(region, block + tail, order);
        }
        self.set_start(region, block, Start::Used);
        self.write_used(block, length);
        block
    }

    /// Takes the free blocks from `end` up to at least `wanted`, if they
    /// are all free, and frees what lies past `wanted` again. Returns
    /// whether it did (`false`: something else lies in the way).
    fn grow_in_place(&mut self, region: usize, end: usize, wanted: usize) -> bool {
        // Every block on the way must be free (headers checked); then take
        // them, and give back the tail of the last one: cut as after an
        // allocation, it merges with nothing.
        let Some(reach) = self.run_reach(region, end, wanted) else {
            return false;
        };
        self.take_blocks(region, end, reach);
        let (start, _) = self.regions.get(region);
        for (tail, order) in aligned_blocks(wanted - start, reach - start) {
            self.push_free(region, start + tail, order);
        }
        true
    }
}
