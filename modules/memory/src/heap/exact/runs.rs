//! When no buddy block is large enough: allocating from a *run* of free
//! blocks that lie end to end.
//!
//! Because allocations are trimmed, free memory ends up as runs of blocks
//! that are neighbours but not buddies, and so never merge:
//!
//! ```text
//!  | used | 2048 free | 8192 free  | 4096 free | used |
//!         ^ a run of 14 KiB: no free block is larger than 8 KiB,
//!           but a 12 KiB request fits here.
//! ```
//!
//! A request of `length` bytes needs a block of order `k` with
//! `2^(k-1) < length <= 2^k`. If none is free, any run long enough still
//! holds it, and such a run always contains a free block of order `k-1` or
//! `k-2`: an interval longer than `2^(k-1)` contains an aligned block of
//! `2^(k-2)` bytes, and since free buddies always merge, that block lies
//! inside one free block. So only those two lists are searched, and only
//! a bounded number of blocks on each: this is the slow path of a heap
//! that is nearly full, and it must not become a linear scan of the heap.

use super::bitmap::Start;
use super::header::{GRANULE, MIN_ORDER};
use super::ExactHeap;
use crate::heap::HeapError;

/// Blocks of each order tried as part of a run before a larger block is
/// split (a few: this runs on every allocation)...
pub(super) const FIRST_TRY: usize = 4;
/// ...and when no larger block is left (the heap is nearly full).
pub(super) const LAST_TRY: usize = 32;

impl ExactHeap {
    /// The size of the free block at `address`, if one starts there and
    /// its header is intact.
    fn free_size(&self, region: usize, address: usize) -> Option<usize> {
        match self.start_at(region, address) {
            Start::Free => Some(1 << self.free_header(address, region)?.order),
            _ => None,
        }
    }

    /// Where the run of free blocks that ends at `block` begins.
    fn run_start(&self, region: usize, block: usize) -> usize {
        let (start, _) = self.regions.get(region);
        let mut first = block;
        while first > start {
            let (previous, kind) = self.block_containing(region, first - GRANULE);
            if kind != Start::Free || self.free_size(region, previous) != Some(first - previous) {
                break;
            }
            first = previous;
        }
        first
    }

    /// The end of the free blocks from `from` once they cover `wanted`, or
    /// `None` if a used block (or the region's end) comes first.
    pub(super) fn run_reach(&self, region: usize, from: usize, wanted: usize) -> Option<usize> {
        let (_, end) = self.regions.get(region);
        let mut reach = from;
        while reach < wanted {
            if reach >= end {
                return None;
            }
            reach += self.free_size(region, reach)?;
        }
        Some(reach)
    }

    /// Finds a run of at least `length` bytes and takes it: the first
    /// `length` bytes become a used block, the rest are freed again.
    /// Returns the block and its region, `None` if no run was found, or
    /// the error if a header on the way is corrupt (nothing is changed).
    pub(super) fn take_run(
        &mut self, length: usize, candidates: usize,
    ) -> Result<Option<(usize, usize)>, HeapError> {
        let order = Self::order_for_length(length);
        for candidate_order in (order.saturating_sub(2).max(MIN_ORDER)..order).rev() {
            let mut candidate = self.free_heads[candidate_order as usize];
            for _ in 0..candidates {
                if candidate == 0 {
                    break;
                }
                let Some(region) = self.regions.find(candidate) else {
                    return Ok(None);
                };
                let first = self.run_start(region, candidate);
                let (_, end) = self.regions.get(region);
                let reach = (length <= end - first)
                    .then(|| self.run_reach(region, first, first + length))
                    .flatten();
                if let Some(reach) = reach {
                    // Headers on the way were checked by `run_reach`; the
                    // tail merges like any freed memory, planned first.
                    let tail =
                        self.plan_release(region, (first + length, reach), (first, reach))?;
                    self.take_blocks(region, first, reach);
                    self.set_start(region, first, Start::Used);
                    self.write_used(first, length);
                    self.apply_release(region, first + length, &tail);
                    return Ok(Some((first, region)));
                }
                candidate = self.links(candidate).1;
            }
        }
        Ok(None)
    }

    /// Takes every free block in `[from, to)` off its list (their headers
    /// were checked by whoever found them).
    pub(super) fn take_blocks(&mut self, region: usize, from: usize, to: usize) {
        let mut block = from;
        while block < to {
            let order = self
                .free_header(block, region)
                .map_or(MIN_ORDER, |header| u32::from(header.order));
            self.remove_free(region, block, order);
            block += 1 << order;
        }
    }
}
