//! The free lists, one per order, doubly linked through the headers of
//! free blocks; a block's buddy; and merging a freed block with its buddy
//! for as long as the buddy is free.

use super::header::{Link, FREE, MERGED, USED};
use super::{BuddyHeap, ORDERS};
use crate::heap::HeapError;

/// The blocks that tile `[from, to)` (offsets in a region): each as large
/// as the room left allows and aligned to its own size, as (offset, order).
/// A 96 KiB region is one 64 KiB and one 32 KiB block. (The exact-fit
/// heap cuts the tail of a block into free blocks the same way.)
pub fn aligned_blocks(from: usize, to: usize) -> impl Iterator<Item = (usize, u32)> {
    let mut offset = from;
    core::iter::from_fn(move || {
        if offset >= to {
            return None;
        }
        let room = to - offset;
        let by_alignment = if offset == 0 {
            usize::BITS - 1
        } else {
            offset.trailing_zeros()
        };
        let order = by_alignment
            .min(usize::BITS - 1 - room.leading_zeros())
            .min(ORDERS as u32 - 1);
        let block = (offset, order);
        offset += 1 << order;
        Some(block)
    })
}

impl BuddyHeap {
    // ---- free lists: doubly linked through the headers of free blocks ----

    pub(super) fn push_free(&mut self, block: usize, order: u32) {
        let head = self.free_heads[order as usize];
        self.write_header(block, order, FREE, 0, head);
        if head != 0 {
            self.write_link(head, Link::Prev, block);
        }
        self.free_heads[order as usize] = block;
        self.non_empty |= 1 << order;
        self.free_counts[order as usize] += 1;
    }

    /// Unlinks a free block in O(1): that is what the `prev` link is for.
    pub(super) fn remove_free(&mut self, block: usize, order: u32) {
        let header = self.read_header(block);
        if header.prev == 0 {
            self.free_heads[order as usize] = header.next;
        } else {
            self.write_link(header.prev, Link::Next, header.next);
        }
        if header.next != 0 {
            self.write_link(header.next, Link::Prev, header.prev);
        }
        if self.free_heads[order as usize] == 0 {
            self.non_empty &= !(1 << order);
        }
        self.free_counts[order as usize] -= 1;
    }

    /// The block `block`'s buddy, if it lies inside the region.
    pub(super) fn buddy_of(&self, block: usize, order: u32, region: usize) -> Option<usize> {
        let (start, end) = self.regions.get(region);
        let size = 1usize << order;
        let buddy = start + ((block - start) ^ size);
        (end - buddy >= size && buddy >= start).then_some(buddy)
    }

    /// Whether the buddy of `block` is a whole free block of the same order.
    /// A buddy inside the region always starts a block, so a header there
    /// that fails its check means memory was overwritten.
    ///
    /// ```text
    ///   buddy outside the region           -> Ok(None)    nothing to merge
    ///   header fails valid_header          -> Err(CorruptHeader)
    ///   FREE and of `order`                -> Ok(Some(buddy))
    ///   USED, MERGED, or FREE but smaller  -> Ok(None)    (it was split)
    /// ```
    pub(super) fn free_buddy(
        &self, block: usize, order: u32, region: usize,
    ) -> Result<Option<usize>, HeapError> {
        // LAB 2.3 BEGIN: find the buddy (buddy_of; none is Ok(None)); a header there that fails valid_header is CorruptHeader; the buddy counts only if it is FREE and of the same order
        let Some(buddy) = self.buddy_of(block, order, region) else {
            return Ok(None);
        };
        match self.valid_header(buddy, region) {
            None => Err(HeapError::CorruptHeader { address: buddy }),
            Some(header) => {
                Ok((header.state == FREE && u32::from(header.order) == order).then_some(buddy))
            }
        }
        // LAB END
    }

    /// Frees `block` and merges it with its buddy for as long as the buddy
    /// is free. Checks every buddy first, so a corrupt header stops the free
    /// before anything changes; then merges exactly as many times as the
    /// check found free buddies (nothing changed in between, so the headers
    /// need not be checked twice).
    ///
    /// ```text
    ///  free B (order 5) while A (order 5) and C (order 6) are free:
    ///
    ///    | A free | B used |   C free    |       |  A+B+C free, order 7   |
    ///    0        32       64            128 ->  0                        128
    ///
    ///  B merges with A (B, the upper of the pair, is marked MERGED), then
    ///  A+B with C (C is marked MERGED). The lower block's header becomes
    ///  the merged block's. A MERGED header stays recognisable, so freeing
    ///  B's pointer again is reported as a double free.
    /// ```
    pub(super) fn free_block(
        &mut self, block: usize, order: u32, region: usize,
    ) -> Result<(), HeapError> {
        // LAB 2.3 BEGIN: count the free buddies first (free_buddy, climbing from the lower of the pair each time), then merge that many times (remove_free the buddy, mark the upper of the pair MERGED, keep the lower), then push_free the result
        let (mut probe, mut probe_order) = (block, order);
        while let Some(buddy) = self.free_buddy(probe, probe_order, region)? {
            probe = probe.min(buddy);
            probe_order += 1;
        }
        let (mut block, mut order) = (block, order);
        while order < probe_order {
            let buddy = self
                .buddy_of(block, order, region)
                .expect("free_buddy found it");
            self.remove_free(buddy, order);
            let (low, high) = (block.min(buddy), block.max(buddy));
            self.write_header(high, order, MERGED, 0, 0);
            block = low;
            order += 1;
        }
        self.push_free(block, order);
        Ok(())
        // LAB END
    }

    /// Puts the blocks that tile `[start + from, start + to)` of a new
    /// region on their free lists. They are the largest blocks aligned to
    /// their own size, so no two of them are free buddies: nothing merges.
    pub(super) fn carve_new(&mut self, start: usize, from: usize, to: usize) {
        for (offset, order) in aligned_blocks(from, to) {
            self.push_free(start + offset, order);
        }
    }

    /// Cuts `[start + from, start + to)` of region `region` (which starts at
    /// `start`) into the largest blocks that are aligned to their own size,
    /// and frees them, so that they merge with free buddies below: how the
    /// top of a region grows. All the headers are written before the first
    /// free: a merged block's buddy may be one of the new blocks further up.
    pub(super) fn carve(
        &mut self, region: usize, start: usize, from: usize, to: usize,
    ) -> Result<(), HeapError> {
        for (offset, order) in aligned_blocks(from, to) {
            self.write_header(start + offset, order, USED, 0, 0);
        }
        for (offset, order) in aligned_blocks(from, to) {
            self.free_block(start + offset, order, region)?;
        }
        Ok(())
    }
}
