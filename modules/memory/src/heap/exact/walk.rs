//! Walking the exact-fit heap block by block — `heapmap` and the
//! integrity check — and growing its top.

use super::bitmap::Start;
use super::header::{GRANULE, HEADER_SIZE};
use super::{ExactHeap, ORDERS};
use crate::heap::buddy::top_for_block;
use crate::heap::inspect::for_each_block_end_to_end;
use crate::heap::{BlockInfo, Grow, HeapError, Inspect, Traced, MAX_ALIGN};
use core::alloc::Layout;

impl ExactHeap {
    /// The block at `address` (a start, by the bitmap): its size and
    /// whether it is free, or `None` if the bitmap says no block starts
    /// there or its header fails its check.
    fn block_at(&self, address: usize, region: usize) -> Option<(usize, bool)> {
        match self.start_at(region, address) {
            Start::Used => Some((self.used_length(address, region)?, false)),
            Start::Free => Some((1 << self.free_header(address, region)?.order, true)),
            Start::Inside => None,
        }
    }

    /// Checks every block, bit and list: blocks tile each region, no block
    /// starts inside another, no free block has a free buddy of its own
    /// size (it would have merged), and the lists hold exactly the free
    /// blocks. O(granules): for tests and `heap check`.
    pub fn check_integrity(&self) -> Result<(), HeapError> {
        let mut counts = [0u32; ORDERS];
        for (region, (start, end)) in self.regions.iter().enumerate() {
            let corrupt = |address| HeapError::CorruptHeader { address };
            let bitmap = self.bitmaps[region];
            if bitmap.granules < (end - start) / GRANULE
                || self.used_length(bitmap.block, region)
                    != Some(Self::bitmap_block(bitmap.granules))
            {
                return Err(corrupt(bitmap.block));
            }
            let mut address = start;
            while address < end {
                let (size, free) = self.block_at(address, region).ok_or(corrupt(address))?;
                if end - address < size
                    || (address + GRANULE..address + size)
                        .step_by(GRANULE)
                        .any(|inside| self.start_at(region, inside) != Start::Inside)
                {
                    return Err(corrupt(address));
                }
                if free {
                    let order = size.trailing_zeros();
                    let buddy = start + ((address - start) ^ size);
                    if buddy < end
                        && end - buddy >= size
                        && self.block_at(buddy, region) == Some((size, true))
                    {
                        return Err(corrupt(address));
                    }
                    counts[order as usize] += 1;
                }
                address += size;
            }
        }
        for order in 0..ORDERS as u32 {
            let mut listed = 0;
            let (mut block, mut prev) = (self.free_heads[order as usize], 0);
            while block != 0 {
                let corrupt = HeapError::CorruptHeader { address: block };
                let region = self.regions.find(block).ok_or(corrupt)?;
                let header = self
                    .free_header(block, region)
                    .filter(|h| u32::from(h.order) == order && h.first == prev)
                    .ok_or(corrupt)?;
                listed += 1;
                if listed > counts[order as usize] || self.start_at(region, block) != Start::Free {
                    return Err(corrupt);
                }
                (prev, block) = (block, header.second);
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

impl Inspect for ExactHeap {
    fn for_each_block(&self, visit: &mut dyn FnMut(BlockInfo)) {
        let block_at = |address, region| self.block_at(address, region);
        for_each_block_end_to_end(&self.regions, HEADER_SIZE, block_at, visit);
    }

    fn owns(&self, address: usize) -> bool {
        self.regions.find(address).is_some()
    }

    fn check_integrity(&self) -> Result<(), HeapError> {
        ExactHeap::check_integrity(self)
    }

    /// A page minus the header: exactly one 4 KiB block, nothing trimmed.
    fn page_block(&self) -> Layout {
        Layout::from_size_align(MAX_ALIGN - HEADER_SIZE, HEADER_SIZE).expect("a valid layout")
    }

    fn granule(&self) -> usize {
        GRANULE
    }
}

impl Grow for ExactHeap {
    /// As for the plain buddy heap: the top moves to the next multiple of
    /// the block's size, and one block further. If the bitmap does not
    /// cover that, room for a new one (for twice the region) goes on top.
    fn growth_for(&self, layout: Layout) -> Option<usize> {
        let (_, length) = Self::placement(layout).ok()?;
        let block = 1usize << Self::order_for_length(length);
        let region = self.regions.len.checked_sub(1)?;
        let (start, end) = self.regions.get(region);
        let top = end - start;
        let needed = top_for_block(top, block)?;
        if needed / GRANULE <= self.bitmaps[region].granules {
            return Some(needed - top);
        }
        // A bitmap for twice `2 * needed` is at least as large as the one
        // `extend_top` builds for twice the new top (at most `2 * needed`).
        let bitmap = Self::bitmap_block(needed.checked_mul(4)? / GRANULE);
        Some(needed.checked_add(bitmap)? - top)
    }

    /// The new bytes become free blocks that merge with those below. If the
    /// region outgrows its bitmap, a new bitmap for twice the region is
    /// built at the very top of the new bytes, and the old one is freed.
    unsafe fn extend_top(&mut self, bytes: usize) -> Result<(), HeapError> {
        let region = self
            .regions
            .len
            .checked_sub(1)
            .ok_or(HeapError::NotInitialised)?;
        let (start, old_end) = self.regions.get(region);
        let bad = HeapError::BadRegion {
            start: old_end,
            size: bytes,
        };
        let new_end = old_end.checked_add(bytes).ok_or(bad)?;
        if bytes == 0 || !bytes.is_multiple_of(GRANULE) {
            return Err(bad);
        }
        let old = self.bitmaps[region];
        let moves = (new_end - start) / GRANULE > old.granules;
        let granules = 2 * ((new_end - start) / GRANULE);
        if moves && Self::bitmap_block(granules) > bytes {
            return Err(bad);
        }
        self.regions.extend_last(new_end)?;
        // Freeing the new bytes merges them with free blocks below, whose
        // headers the plan checks. If one is corrupt, everything is put
        // back as it was: a grower must be able to trust an error.
        let length = Self::bitmap_block(granules);
        let at = if moves { new_end - length } else { new_end };
        if moves {
            self.install_bitmap(region, at, granules);
        }
        let plan = match self.plan_release(region, (old_end, at), (old_end, old_end)) {
            Ok(plan) => plan,
            Err(error) => {
                self.bitmaps[region] = old;
                self.regions.shrink_last(old_end);
                return Err(error);
            }
        };
        self.apply_release(region, old_end, &plan);
        self.counts.total += bytes;
        if moves {
            self.counts.bookkeeping(length, 0);
            // The old bitmap is an ordinary used block now. If freeing it
            // finds a corrupt neighbour, it stays used (a leak of its
            // bytes, and the corruption is still there for `heap check`
            // to report): the growth itself has happened and must stand.
            let old_length = Self::bitmap_block(old.granules);
            if self
                .release(region, old.block, old.block + old_length)
                .is_ok()
            {
                self.counts.bookkeeping(0, old_length);
            }
        }
        Ok(())
    }
}

/// Records no call sites.
impl Traced for ExactHeap {}
