//! The byte and block counts every heap keeps, kept in one place so that
//! the heaps count the same way.

use super::{HeapStats, SIZE_CLASSES};

/// The byte and block counts every heap keeps for [`HeapStats`], updated in
/// one place so that the three heaps count the same way.
#[derive(Debug, Clone, Copy)]
pub(super) struct Accounting {
    pub(super) total: usize,
    pub(super) used: usize,
    pub(super) requested: usize,
    pub(super) allocations: usize,
    pub(super) peak_used: usize,
}

impl Accounting {
    pub(super) const fn new() -> Self {
        Self {
            total: 0,
            used: 0,
            requested: 0,
            allocations: 0,
            peak_used: 0,
        }
    }

    /// A block of `block` bytes was handed out for a request of `requested`.
    pub(super) fn allocated(&mut self, block: usize, requested: usize) {
        self.used += block;
        self.peak_used = self.peak_used.max(self.used);
        self.requested += requested;
        self.allocations += 1;
    }

    pub(super) fn freed(&mut self, block: usize, requested: usize) {
        self.used -= block;
        self.requested = self.requested.saturating_sub(requested);
        self.allocations -= 1;
    }

    /// The heap's own bookkeeping took `added` bytes and gave back
    /// `removed` (the exact-fit heap's bitmap, when it is built or moved):
    /// used, but not an allocation anyone asked for.
    pub(super) fn bookkeeping(&mut self, added: usize, removed: usize) {
        self.used = self.used + added - removed;
        self.peak_used = self.peak_used.max(self.used);
    }

    /// A block changed size in place.
    pub(super) fn resized(
        &mut self, (old_block, new_block): (usize, usize),
        (old_requested, new_requested): (usize, usize),
    ) {
        self.used = self.used - old_block + new_block;
        self.peak_used = self.peak_used.max(self.used);
        self.requested = self.requested.saturating_sub(old_requested) + new_requested;
    }

    /// The statistics, given what only the heap itself knows.
    pub(super) fn stats(
        &self, largest_free: usize, free_blocks: [u32; SIZE_CLASSES], regions: usize,
    ) -> HeapStats {
        HeapStats {
            total: self.total,
            used: self.used,
            requested: self.requested,
            free: self.total - self.used,
            largest_free,
            allocations: self.allocations,
            peak_used: self.peak_used,
            free_blocks,
            regions,
        }
    }
}
