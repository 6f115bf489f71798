//! Freeing a range of memory: cut it into the aligned blocks that tile it,
//! and merge each with its buddy for as long as the buddy is free.
//!
//! One routine serves every case: freeing an allocation (all its pieces),
//! shrinking one (the pieces past its new end), giving back the tail of a
//! block, and new memory at the top of a region.
//!
//! ```text
//!  freeing 5024 bytes at 0, whose tail (32, 64, 1024, 2048) is still free:
//!
//!  |4096@0 |512@4096|256@4608|128@4864|32@4992|| 32 | 64 | 1024 | 2048 |
//!
//!  4096@0, 512, 256, 128: each one's buddy is inside the allocation: wait
//!  32@4992 + free 32 -> 64 + free 64 -> 128 + the waiting 128 -> 256
//!    + the waiting 256 -> 512 + the waiting 512 -> 1024 + free 1024
//!    -> 2048 + free 2048 -> 4096 + the waiting 4096@0 -> 8192 at 0
//! ```
//!
//! Rather than reason about which piece merges first, the routine works in
//! two passes. The *plan* frees the pieces one by one on paper: a piece's
//! buddy is either a piece freed earlier on paper (merge), or a free block
//! the bitmap knows of (check its header, then merge), or neither (stop).
//! Only if every header it had to read was intact does the *apply* pass
//! change anything: it takes the absorbed free blocks off their lists and
//! puts the merged blocks on theirs. A corrupt header is reported and the
//! heap is left exactly as it was.

use super::bitmap::Start;
use super::{ExactHeap, ORDERS};
use crate::heap::buddy::aligned_blocks;
use crate::heap::HeapError;
use core::mem::MaybeUninit;

/// At most this many blocks in a plan: a range merges with at most one
/// free block per order on each side, and leaves at most one per order on
/// each side.
const PLAN: usize = 2 * ORDERS;

/// What freeing a range will do (see [`ExactHeap::plan_release`]).
pub(super) struct Plan {
    merged: Blocks,
    absorbed: Blocks,
}

/// A short list of (block, order) that needs no allocation. Its slots
/// start uninitialised: zeroing two lists of 64 on every free cost more
/// than the free itself.
struct Blocks {
    items: [MaybeUninit<(usize, u32)>; PLAN],
    len: usize,
}

impl Blocks {
    const fn new() -> Self {
        Self {
            items: [const { MaybeUninit::uninit() }; PLAN],
            len: 0,
        }
    }

    fn push(&mut self, block: (usize, u32)) {
        self.items[self.len].write(block);
        self.len += 1;
    }

    fn get(&self, index: usize) -> (usize, u32) {
        assert!(index < self.len);
        // SAFETY: slots below `len` were written by `push` (or moved there
        // by `take`, from another such slot).
        unsafe { self.items[index].assume_init() }
    }

    /// Removes `block` if it is in the list.
    fn take(&mut self, block: (usize, u32)) -> bool {
        match (0..self.len).position(|index| self.get(index) == block) {
            Some(index) => {
                self.len -= 1;
                self.items[index] = self.items[self.len];
                true
            }
            None => false,
        }
    }

    fn iter(&self) -> impl Iterator<Item = (usize, u32)> + '_ {
        (0..self.len).map(|index| self.get(index))
    }
}

impl ExactHeap {
    /// The buddy of `block` (of `order`) if it lies inside the region.
    fn buddy_of(&self, region: usize, block: usize, order: u32) -> Option<usize> {
        let (start, end) = self.regions.get(region);
        let size = 1usize.checked_shl(order)?;
        let buddy = start + ((block - start) ^ size);
        (buddy < end && end - buddy >= size).then_some(buddy)
    }

    /// Frees `[from, to)` of `region` (granule-aligned, not free, no block
    /// starting inside it but at `from`), merging with free buddies. If a
    /// buddy's header is corrupt, returns the error and changes nothing.
    pub(super) fn release(
        &mut self, region: usize, from: usize, to: usize,
    ) -> Result<(), HeapError> {
        let plan = self.plan_release(region, (from, to), (from, from))?;
        self.apply_release(region, from, &plan);
        Ok(())
    }

    /// The plan for freeing `[from, to)`, changing nothing: the blocks the
    /// range becomes, and the free blocks already on lists that merge into
    /// them. Free blocks inside `taken` count as not free: they are about
    /// to be taken (an allocation from a run plans the freeing of its
    /// tail before it takes the run, so that a corrupt header stops it
    /// before anything changes).
    pub(super) fn plan_release(
        &self, region: usize, (from, to): (usize, usize), taken: (usize, usize),
    ) -> Result<Plan, HeapError> {
        let (start, _) = self.regions.get(region);
        let mut plan = Plan {
            merged: Blocks::new(),
            absorbed: Blocks::new(),
        };
        for (offset, order) in aligned_blocks(from - start, to - start) {
            let (mut block, mut order) = (start + offset, order);
            while let Some(buddy) = self.buddy_of(region, block, order) {
                if !plan.merged.take((buddy, order)) {
                    let free = !(taken.0..taken.1).contains(&buddy)
                        && self.start_at(region, buddy) == Start::Free;
                    if !free {
                        break;
                    }
                    let header = self
                        .free_header(buddy, region)
                        .ok_or(HeapError::CorruptHeader { address: buddy })?;
                    if u32::from(header.order) != order {
                        break;
                    }
                    plan.absorbed.push((buddy, order));
                }
                block = block.min(buddy);
                order += 1;
            }
            plan.merged.push((block, order));
        }
        Ok(plan)
    }

    /// Carries out a plan made by [`plan_release`](Self::plan_release) for
    /// a range starting at `from`, with nothing changed in between.
    pub(super) fn apply_release(&mut self, region: usize, from: usize, plan: &Plan) {
        if plan.merged.len == 0 {
            return;
        }
        self.set_start(region, from, Start::Inside);
        for (block, order) in plan.absorbed.iter() {
            self.remove_free(region, block, order);
        }
        for (block, order) in plan.merged.iter() {
            self.push_free(region, block, order);
        }
    }
}
