//! Walking the buddy heap block by block — what `heapmap` shows and what
//! the integrity check verifies — and growing its top.

use super::header::{FREE, HEADER_SIZE, MERGED, MIN_BLOCK};
use super::{BuddyHeap, ORDERS};
use crate::heap::inspect::for_each_block_end_to_end;
use crate::heap::{BlockInfo, Grow, HeapError, Inspect, Traced, MAX_ALIGN};
use core::alloc::Layout;

impl BuddyHeap {
    /// Checks every header and every free list. O(blocks): for tests and the
    /// `heap check` command, never on the allocation path.
    pub fn check_integrity(&self) -> Result<(), HeapError> {
        let mut counts = [0u32; ORDERS];
        for (index, (start, end)) in self.regions.iter().enumerate() {
            let mut address = start;
            while address < end {
                let header = self
                    .valid_header(address, index)
                    .filter(|header| header.state != MERGED)
                    .ok_or(HeapError::CorruptHeader { address })?;
                if header.state == FREE {
                    counts[usize::from(header.order)] += 1;
                }
                address += 1 << header.order;
            }
        }
        for order in 0..ORDERS as u32 {
            let mut listed = 0;
            let (mut block, mut prev) = (self.free_heads[order as usize], 0);
            while block != 0 {
                let region = self
                    .regions
                    .find(block)
                    .ok_or(HeapError::CorruptHeader { address: block })?;
                let header = self
                    .valid_header(block, region)
                    .filter(|h| h.state == FREE && u32::from(h.order) == order && h.prev == prev)
                    .ok_or(HeapError::CorruptHeader { address: block })?;
                listed += 1;
                if listed > counts[order as usize] {
                    return Err(HeapError::CorruptHeader { address: block });
                }
                (prev, block) = (block, header.next);
            }
            let bit = self.non_empty & (1 << order) != 0;
            if listed != counts[order as usize]
                || listed != self.free_counts[order as usize]
                || bit != (listed > 0)
            {
                return Err(HeapError::CorruptHeader {
                    address: self.free_heads[order as usize],
                });
            }
        }
        Ok(())
    }
}

impl Inspect for BuddyHeap {
    fn for_each_block(&self, visit: &mut dyn FnMut(BlockInfo)) {
        let block_at = |address, region| {
            let header = self.valid_header(address, region)?;
            Some((1 << header.order, header.state == FREE))
        };
        for_each_block_end_to_end(&self.regions, HEADER_SIZE, block_at, visit);
    }

    fn owns(&self, address: usize) -> bool {
        self.regions.find(address).is_some()
    }

    fn check_integrity(&self) -> Result<(), HeapError> {
        BuddyHeap::check_integrity(self)
    }

    /// A page minus the block header: exactly one 4 KiB block.
    fn page_block(&self) -> Layout {
        Layout::from_size_align(MAX_ALIGN - HEADER_SIZE, HEADER_SIZE).expect("a valid layout")
    }

    fn granule(&self) -> usize {
        MIN_BLOCK
    }
}

impl Grow for BuddyHeap {
    /// A block of order `k` must start at a multiple of `2^k` from the
    /// region's start, so the top moves to the next such multiple and then
    /// one block further.
    fn growth_for(&self, layout: Layout) -> Option<usize> {
        let order = Self::order_for_layout(layout).ok()?;
        let (start, end) = self.regions.iter().last()?;
        let top = end - start;
        let block = 1usize << order;
        let new_top = super::top_for_block(top, block)?;
        Some(new_top - top)
    }

    /// The new bytes are carved like a region of their own, but relative to
    /// the old region's start, so they merge with free blocks below.
    unsafe fn extend_top(&mut self, bytes: usize) -> Result<(), HeapError> {
        let (_, end) = self
            .regions
            .iter()
            .last()
            .ok_or(HeapError::NotInitialised)?;
        let new_end = end.checked_add(bytes).ok_or(HeapError::BadRegion {
            start: end,
            size: bytes,
        })?;
        if bytes == 0 || !bytes.is_multiple_of(MIN_BLOCK) {
            return Err(HeapError::BadRegion {
                start: end,
                size: bytes,
            });
        }
        let (region, start, old_end) = self.regions.extend_last(new_end)?;
        self.counts.total += bytes;
        self.carve(region, start, old_end - start, new_end - start)
    }
}

/// Records no call sites.
impl Traced for BuddyHeap {}
