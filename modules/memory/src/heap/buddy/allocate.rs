//! The buddy heap as a [`Heap`]: allocating (take the smallest free block
//! that fits and split it), freeing, and resizing in place.

use super::header::{Allocated, FREE, HEADER_SIZE, MERGED, MIN_BLOCK, MIN_ORDER, USED};
use super::{BuddyHeap, ORDERS};
use crate::heap::{
    check_alignment, out_of_memory, reallocate_by_moving, Heap, HeapError, HeapStats, MAX_ALIGN,
};
use core::alloc::Layout;
use core::ptr::NonNull;

/// The largest free block of a buddy heap whose non-empty lists are the
/// set bits of `non_empty` (the exact-fit heap keeps the same mask).
pub fn largest_free(non_empty: u32) -> usize {
    match non_empty {
        0 => 0,
        mask => 1 << (u32::BITS - 1 - mask.leading_zeros()),
    }
}

/// Where the top of a region must move (counted from its start) so that a
/// block of `block` bytes (a power of two) fits above `top`: to the next
/// multiple of the block's size, and one block further.
pub fn top_for_block(top: usize, block: usize) -> Option<usize> {
    top.checked_next_multiple_of(block)?.checked_add(block)
}

/// `ceil(log2(n))` for `n >= 1`.
pub fn order_for(bytes: usize) -> u32 {
    usize::BITS - (bytes - 1).leading_zeros()
}

impl BuddyHeap {
    /// The most bytes a block of `order` can hand out: all of it but the
    /// header. (For requests aligned to at most [`HEADER_SIZE`]; a larger
    /// alignment moves the payload further in.) `demo` uses this and
    /// [`smallest_request_of_order`](Self::smallest_request_of_order) to
    /// pick requests that land in the order it wants to show.
    pub const fn largest_request_of_order(order: u32) -> usize {
        assert!(MIN_ORDER <= order && order < ORDERS as u32, "no such order");
        (1 << order) - HEADER_SIZE
    }

    /// The fewest bytes that need a block of `order`: one more than the
    /// order below can hold. Every request up to the smallest block's
    /// payload costs one smallest block, so for [`MIN_ORDER`] that is 1.
    pub const fn smallest_request_of_order(order: u32) -> usize {
        if order == MIN_ORDER {
            1
        } else {
            Self::largest_request_of_order(order - 1) + 1
        }
    }

    /// The order of the allocated block that `pointer` points into (an
    /// error if the heap did not hand it out, or it was freed).
    pub fn order_of(&self, pointer: NonNull<u8>) -> Result<u32, HeapError> {
        Ok(self.find_allocated(pointer)?.order)
    }

    /// Takes a free block of exactly `order` for an allocation, and marks it
    /// USED; `None` if no free block is that large. The smallest free block
    /// that is large enough is split in half until it fits, each upper half
    /// going on the free list one order down:
    ///
    /// ```text
    ///  take_block(5), the smallest free block is of order 7 at 0:
    ///    remove [0, 128) from list 7
    ///    split: [64, 128) -> list 6,  [32, 64) -> list 5
    ///    [0, 32) is the block: header USED, order 5
    /// ```
    ///
    /// `non_empty`'s bit k says whether list k has a block, so "the smallest
    /// non-empty list at or above `order`" is one mask and one
    /// `trailing_zeros`, not a loop over the lists.
    pub(super) fn take_block(&mut self, order: u32) -> Option<usize> {
        // LAB 2.2 BEGIN: find the smallest non-empty list at or above order (mask non_empty, trailing_zeros; none is None), take its head (free_heads) off the list (remove_free), split it down to order (push each upper half one order down), and write its header USED with order
        let candidates = self.non_empty & !((1u32 << order) - 1);
        if candidates == 0 {
            return None;
        }
        let mut found = candidates.trailing_zeros();
        let block = self.free_heads[found as usize];
        self.remove_free(block, found);
        while found > order {
            found -= 1;
            self.push_free(block + (1 << found), found);
        }
        self.write_header(block, order, USED, 0, 0);
        Some(block)
        // LAB END
    }

    /// Resizes the allocated block `block` (of `order`, in region `region`)
    /// to `wanted` without moving it, if it can; `Ok(false)` changes nothing.
    ///
    /// ```text
    ///  shrink 7 -> 5: always      grow 5 -> 7: only if every upper buddy is free
    ///  | used, order 7        |   | used 5 | free 5 |   free 6    |
    ///  | used 5 |f 5| free 6  |   | used, order 7                 |
    /// ```
    ///
    /// Growing absorbs, one order at a time, the buddy *above* the block:
    /// a buddy below would move the block's start, and the payload with it.
    /// Every step is checked before the first is taken, so a refusal or a
    /// corrupt header leaves the heap as it was.
    pub(super) fn resize_in_place(
        &mut self, block: usize, region: usize, order: u32, wanted: u32,
    ) -> Result<bool, HeapError> {
        // LAB 2.4 BEGIN: growing: check first that for each order from order to wanted the buddy (buddy_of) lies above the block and valid_header says it is FREE and of that order (a header that fails is CorruptHeader; anything else is Ok(false)); then absorb each (remove_free, mark MERGED). Shrinking: push each upper half, from wanted up to order, on its free list. Then write the block's header USED with wanted
        for step in order..wanted {
            let Some(buddy) = self.buddy_of(block, step, region).filter(|&b| b > block) else {
                return Ok(false);
            };
            let header = self
                .valid_header(buddy, region)
                .ok_or(HeapError::CorruptHeader { address: buddy })?;
            if header.state != FREE || u32::from(header.order) != step {
                return Ok(false);
            }
        }
        for step in order..wanted {
            let buddy = block + (1 << step);
            self.remove_free(buddy, step);
            self.write_header(buddy, step, MERGED, 0, 0);
        }
        for step in (wanted..order).rev() {
            self.push_free(block + (1 << step), step);
        }
        self.write_header(block, wanted, USED, 0, 0);
        Ok(true)
        // LAB END
    }

    /// The order of the block that serves `layout`: header (or alignment
    /// gap) plus payload, rounded up to a power of two.
    pub(super) fn order_for_layout(layout: Layout) -> Result<u32, HeapError> {
        let offset = layout.align().max(HEADER_SIZE);
        let need = offset
            .checked_add(layout.size().max(1))
            .ok_or(out_of_memory(layout))?;
        let order = order_for(need).max(MIN_ORDER);
        if order >= ORDERS as u32 {
            return Err(out_of_memory(layout));
        }
        Ok(order)
    }
}

impl Heap for BuddyHeap {
    fn name(&self) -> &'static str {
        "buddy"
    }

    /// Carves the region into the largest aligned power-of-two blocks that
    /// fit: a 96 KiB region becomes one 64 KiB and one 32 KiB block.
    unsafe fn add_region(&mut self, start: usize, size: usize) -> Result<(), HeapError> {
        let (_, aligned, end) = self.regions.claim(
            (start, size),
            (MAX_ALIGN, MIN_BLOCK),
            (MIN_BLOCK, isize::MAX as usize),
        )?;
        self.carve_new(aligned, 0, end - aligned);
        self.counts.total += end - aligned;
        Ok(())
    }

    fn allocate(&mut self, layout: Layout) -> Result<NonNull<u8>, HeapError> {
        check_alignment(layout)?;
        // LAB 2.2 BEGIN: the block's order (order_for_layout), a block of that order (take_block; none is out_of_memory), the payload `offset` = max(align, HEADER_SIZE) bytes in, with a shim before it when offset > HEADER_SIZE (write_shim); count the allocation and return the payload
        let order = Self::order_for_layout(layout)?;
        let offset = layout.align().max(HEADER_SIZE);
        let block = self.take_block(order).ok_or(out_of_memory(layout))?;
        let payload = block + offset;
        if offset > HEADER_SIZE {
            self.write_shim(payload, offset);
        }
        self.counts.allocated(1 << order, layout.size());
        Ok(NonNull::new(payload as *mut u8).expect("blocks are never at address 0"))
        // LAB END
    }

    fn deallocate(&mut self, pointer: NonNull<u8>, layout: Layout) -> Result<(), HeapError> {
        let allocated = self.find_allocated(pointer)?;
        self.free_block(allocated.block, allocated.order, allocated.region)?;
        self.counts.freed(1 << allocated.order, layout.size());
        Ok(())
    }

    /// Resizes in place if it can (`resize_in_place`, lab 2.4);
    /// otherwise moves.
    fn reallocate(
        &mut self, pointer: NonNull<u8>, layout: Layout, new_size: usize,
    ) -> Result<NonNull<u8>, HeapError> {
        let Allocated {
            block,
            region,
            order,
        } = self.find_allocated(pointer)?;
        let payload_offset = pointer.as_ptr() as usize - block;
        let need = payload_offset
            .checked_add(new_size.max(1))
            .ok_or(out_of_memory(layout))?;
        let wanted = order_for(need).max(MIN_ORDER);
        if wanted < ORDERS as u32 && self.resize_in_place(block, region, order, wanted)? {
            self.counts
                .resized((1 << order, 1 << wanted), (layout.size(), new_size));
            return Ok(pointer);
        }
        reallocate_by_moving(self, pointer, layout, new_size)
    }

    fn usable_size(&self, pointer: NonNull<u8>) -> Result<usize, HeapError> {
        let allocated = self.find_allocated(pointer)?;
        Ok(allocated.block + (1 << allocated.order) - pointer.as_ptr() as usize)
    }

    fn stats(&self) -> HeapStats {
        self.counts.stats(
            largest_free(self.non_empty),
            self.free_counts,
            self.regions.len,
        )
    }
}
