//! Two bits per granule, kept apart from the blocks: does a used block
//! start here, does a free block start here (at most one of the two).
//!
//! The bits of 32 granules (64 on a 64-bit host) share a pair of words,
//! used then free, so that one cache line answers both questions for a
//! whole stretch of the heap:
//!
//! ```text
//!  words:  [used 0..31][free 0..31][used 32..63][free 32..63] ...
//! ```

use super::header::{GRANULE, HEADER_SIZE};
use super::{BitmapAt, ExactHeap};
use core::mem::size_of;

/// Granules per word of bits.
const PER_WORD: usize = usize::BITS as usize;

/// What the bitmap says about one granule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Start {
    /// No block starts here: it is inside one.
    Inside,
    /// An allocation starts here.
    Used,
    /// A free block starts here.
    Free,
}

/// Bytes of bitmap for `granules` granules.
pub(super) fn bitmap_bytes(granules: usize) -> usize {
    granules.div_ceil(PER_WORD) * 2 * size_of::<usize>()
}

impl ExactHeap {
    /// The address of the pair of words (used, then free) that holds the
    /// bits of `address` in `region`, and the bit in each.
    fn words_of(&self, region: usize, address: usize) -> (*mut [usize; 2], usize) {
        let (start, _) = self.regions.get(region);
        debug_assert!((address - start).is_multiple_of(GRANULE));
        let granule = (address - start) / GRANULE;
        let BitmapAt {
            words, granules, ..
        } = self.bitmaps[region];
        assert!(granule < granules, "the bitmap covers its region");
        let pair = words + granule / PER_WORD * 2 * size_of::<usize>();
        (pair as *mut [usize; 2], granule % PER_WORD)
    }

    /// Whether a block starts at `address`, and which kind.
    pub(super) fn start_at(&self, region: usize, address: usize) -> Start {
        let (pair, bit) = self.words_of(region, address);
        // SAFETY: `words_of` checked the granule against the bitmap's size;
        // the bitmap lies in the heap's memory (see `install_bitmap`) and
        // is word-aligned.
        let [used, free] = unsafe { pair.read() };
        if used & (1 << bit) != 0 {
            Start::Used
        } else if free & (1 << bit) != 0 {
            Start::Free
        } else {
            Start::Inside
        }
    }

    /// Records that a block of kind `start` begins at `address` (or, for
    /// [`Start::Inside`], that none does any more).
    pub(super) fn set_start(&mut self, region: usize, address: usize, start: Start) {
        let (pair, bit) = self.words_of(region, address);
        let mask = 1usize << bit;
        // SAFETY: as in `start_at`.
        let [mut used, mut free] = unsafe { pair.read() };
        used = if start == Start::Used {
            used | mask
        } else {
            used & !mask
        };
        free = if start == Start::Free {
            free | mask
        } else {
            free & !mask
        };
        // SAFETY: as in `start_at`.
        unsafe { pair.write([used, free]) };
    }

    /// The start of the block that `address` lies in, and its kind: the
    /// nearest start at or below it, found a word of bits at a time.
    pub(super) fn block_containing(&self, region: usize, address: usize) -> (usize, Start) {
        let (start, _) = self.regions.get(region);
        let granule = (address - start) / GRANULE;
        let (mut word, bit) = (granule / PER_WORD, granule % PER_WORD);
        // Bits at or below `bit` in the first word; all bits further down.
        let mut mask = usize::MAX >> (PER_WORD - 1 - bit);
        loop {
            let at = start + word * PER_WORD * GRANULE;
            let (pair, _) = self.words_of(region, at);
            // SAFETY: as in `start_at`.
            let [used, free] = unsafe { pair.read() };
            let bits = (used | free) & mask;
            if bits != 0 {
                let found = at + (PER_WORD - 1 - bits.leading_zeros() as usize) * GRANULE;
                return (found, self.start_at(region, found));
            }
            if word == 0 {
                return (start, Start::Inside);
            }
            word -= 1;
            mask = usize::MAX;
        }
    }

    /// Places a bitmap for `granules` granules in a used block at `block`
    /// (inside `region`, which must already reach past its end), copies
    /// the bits of the bitmap it replaces (if any) and clears the rest.
    /// Returns the block's length. The block gets a used header and bit.
    pub(super) fn install_bitmap(&mut self, region: usize, block: usize, granules: usize) -> usize {
        let length = (HEADER_SIZE + bitmap_bytes(granules)).next_multiple_of(GRANULE);
        let words = block + HEADER_SIZE;
        let old = self.bitmaps[region];
        let kept = bitmap_bytes(old.granules.min(granules));
        // SAFETY: the caller gives a block of `length` bytes inside the
        // region, used by nothing else; the old bitmap (if any) is a
        // different block of the same region, at least `kept` bytes long.
        unsafe {
            if old.words != 0 {
                core::ptr::copy_nonoverlapping(old.words as *const u8, words as *mut u8, kept);
            }
            core::ptr::write_bytes((words + kept) as *mut u8, 0, bitmap_bytes(granules) - kept);
        }
        self.bitmaps[region] = BitmapAt {
            words,
            granules,
            block,
        };
        self.set_start(region, block, Start::Used);
        self.write_used(block, length);
        length
    }
}
