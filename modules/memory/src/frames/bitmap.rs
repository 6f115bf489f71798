//! A bitmap with a summary on top, so finding a set bit takes a few steps
//! instead of a scan.
//!
//! Level 0 has one bit per frame (1 = free). Each bit of level 1 says
//! whether the matching 32-bit *word* of level 0 has any bit set; level 2
//! summarises level 1 the same way, and so on up to a single word:
//!
//! ```text
//!  level 2:  [0000...0101]                       1 word
//!  level 1:  [0..01] [0..0] [1..0] ...           32 words
//!  level 0:  [....] [....] ... (one bit per frame, 1 = free)   1024 words
//! ```
//!
//! To find the first free frame at or after a position (the allocator
//! starts at the lowest frame that may be free), look in the position's
//! word; if nothing is set there, climb a level and look to the right in
//! the summary word, until a word has a set bit; then descend, taking the
//! lowest set bit of each word below. 4 GiB of frames (2^20 bits) needs
//! four levels (32768, 1024, 32 and 1 words), so that is at most four words
//! up and three down, whatever the state of memory. Setting or clearing a
//! bit updates the summaries only when a word turns empty or non-empty.

/// Most levels: enough for 32^5 = 2^25 bits.
const MAX_LEVELS: usize = 5;

/// Words needed for each level of a bitmap of `bits` bits.
fn level_words(bits: usize) -> ([usize; MAX_LEVELS], usize) {
    let mut words = [0; MAX_LEVELS];
    let mut levels = 0;
    let mut count = bits.max(1);
    loop {
        let needed = count.div_ceil(32);
        words[levels] = needed;
        levels += 1;
        if needed == 1 {
            return (words, levels);
        }
        assert!(levels < MAX_LEVELS, "bitmap too large");
        count = needed;
    }
}

/// A bitmap of `bits` bits over caller-given storage, with summary levels.
pub struct LevelBitmap<'a> {
    storage: &'a mut [u32],
    /// Offset of each level's first word in `storage`.
    offsets: [usize; MAX_LEVELS],
    levels: usize,
    bits: usize,
}

impl<'a> LevelBitmap<'a> {
    /// Words of storage a bitmap of `bits` bits needs.
    pub fn storage_words(bits: usize) -> usize {
        let (words, levels) = level_words(bits);
        words[..levels].iter().sum()
    }

    /// A bitmap with every bit clear. `storage` must have
    /// [`storage_words`](Self::storage_words) words.
    pub fn new(storage: &'a mut [u32], bits: usize) -> Self {
        let (words, levels) = level_words(bits);
        assert_eq!(
            storage.len(),
            Self::storage_words(bits),
            "wrong storage size"
        );
        storage.fill(0);
        let mut offsets = [0; MAX_LEVELS];
        for level in 1..levels {
            offsets[level] = offsets[level - 1] + words[level - 1];
        }
        Self {
            storage,
            offsets,
            levels,
            bits,
        }
    }

    pub fn len(&self) -> usize {
        self.bits
    }

    pub fn is_empty(&self) -> bool {
        self.bits == 0
    }

    fn word(&self, level: usize, index: usize) -> u32 {
        self.storage[self.offsets[level] + index]
    }

    fn word_mut(&mut self, level: usize, index: usize) -> &mut u32 {
        &mut self.storage[self.offsets[level] + index]
    }

    fn words_at(&self, level: usize) -> usize {
        let end = self
            .offsets
            .get(level + 1)
            .copied()
            .filter(|_| level + 1 < self.levels);
        end.unwrap_or(self.storage.len()) - self.offsets[level]
    }

    pub fn get(&self, bit: usize) -> bool {
        assert!(bit < self.bits);
        self.word(0, bit / 32) & (1 << (bit % 32)) != 0
    }

    pub fn set(&mut self, bit: usize) {
        assert!(bit < self.bits);
        let mut index = bit;
        for level in 0..self.levels {
            let word = self.word_mut(level, index / 32);
            let was_empty = *word == 0;
            *word |= 1 << (index % 32);
            if !was_empty {
                return;
            }
            index /= 32;
        }
    }

    pub fn clear(&mut self, bit: usize) {
        assert!(bit < self.bits);
        let mut index = bit;
        for level in 0..self.levels {
            let word = self.word_mut(level, index / 32);
            *word &= !(1 << (index % 32));
            if *word != 0 {
                return;
            }
            index /= 32;
        }
    }

    /// Sets every bit in `[from, to)` a whole word at a time: building the
    /// frame allocator for 4 GiB sets a million bits, and one `set` each
    /// would climb the levels a million times. Every word that gets a bit
    /// is non-empty afterwards, so the level above needs exactly the bits
    /// `[from / 32, (to - 1) / 32]` set, which is the same job one level up
    /// (and nothing to do there if none of the words was empty before).
    pub fn set_range(&mut self, from: usize, to: usize) {
        assert!(from <= to && to <= self.bits, "range outside the bitmap");
        let (mut from, mut to) = (from, to);
        for level in 0..self.levels {
            if from >= to {
                return;
            }
            let mut summary_changes = false;
            for index in from / 32..=(to - 1) / 32 {
                let low = if index == from / 32 { from % 32 } else { 0 };
                let high = if index == (to - 1) / 32 {
                    (to - 1) % 32
                } else {
                    31
                };
                // Bits low..=high of this word.
                let word = self.word_mut(level, index);
                summary_changes |= *word == 0;
                *word |= (!0u32 >> (31 - high)) & (!0u32 << low);
            }
            if !summary_changes {
                return; // every word was non-empty already: the levels above know
            }
            (from, to) = (from / 32, (to - 1) / 32 + 1);
        }
    }

    /// The first set bit at or after `from`.
    pub fn next_set(&self, from: usize) -> Option<usize> {
        // Most searches start where the last one ended, in a word that
        // still has a set bit: no need to climb at all.
        if from < self.bits {
            let masked = self.word(0, from / 32) & (!0u32 << (from % 32));
            if masked != 0 {
                return Some(from / 32 * 32 + masked.trailing_zeros() as usize);
            }
        }
        // Climb until a word has a set bit at or after the position...
        let (mut level, mut index) = (0, from);
        loop {
            if level == self.levels || index / 32 >= self.words_at(level) {
                return None;
            }
            let masked = self.word(level, index / 32) & (!0u32 << (index % 32));
            if masked != 0 {
                index = index / 32 * 32 + masked.trailing_zeros() as usize;
                break;
            }
            index = index / 32 + 1;
            level += 1;
        }
        // ...then descend, taking the lowest set bit of each word.
        while level > 0 {
            level -= 1;
            index = index * 32 + self.word(level, index).trailing_zeros() as usize;
        }
        Some(index)
    }

    /// The first clear bit in `[from, to)`, word by word.
    pub fn next_clear_in(&self, from: usize, to: usize) -> Option<usize> {
        let mut bit = from;
        while bit < to {
            let inverted = !self.word(0, bit / 32) & (!0u32 << (bit % 32));
            if inverted != 0 {
                let found = bit / 32 * 32 + inverted.trailing_zeros() as usize;
                return (found < to).then_some(found);
            }
            bit = (bit / 32 + 1) * 32;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn bitmap(storage: &mut Vec<u32>, bits: usize) -> LevelBitmap<'_> {
        storage.resize(LevelBitmap::storage_words(bits), 0);
        LevelBitmap::new(storage, bits)
    }

    #[test]
    fn sizes_of_levels() {
        assert_eq!(LevelBitmap::storage_words(1), 1);
        assert_eq!(LevelBitmap::storage_words(32), 1);
        assert_eq!(LevelBitmap::storage_words(33), 2 + 1);
        // 4 GiB of frames: 32768 + 1024 + 32 + 1 words.
        assert_eq!(LevelBitmap::storage_words(1 << 20), 32768 + 1024 + 32 + 1);
    }

    #[test]
    fn finds_bits_across_levels() {
        let mut storage = Vec::new();
        let mut bits = bitmap(&mut storage, 100_000);
        assert_eq!(bits.next_set(0), None);
        bits.set(99_999);
        bits.set(40_000);
        assert_eq!(bits.next_set(0), Some(40_000));
        assert_eq!(bits.next_set(40_001), Some(99_999));
        bits.clear(40_000);
        assert_eq!(bits.next_set(0), Some(99_999));
        assert_eq!(bits.next_set(100_000), None);
        assert_eq!(bits.next_clear_in(99_990, 100_000), Some(99_990));
        assert_eq!(bits.next_clear_in(99_999, 100_000), None);
    }

    proptest! {
        /// The summaries never disagree with a plain set of numbers.
        #[test]
        fn agrees_with_a_set(
            size in 1usize..5000,
            operations in prop::collection::vec((any::<bool>(), any::<usize>()), 0..300),
            probes in prop::collection::vec(any::<usize>(), 10),
        ) {
            let mut storage = Vec::new();
            let mut bits = bitmap(&mut storage, size);
            let mut model = BTreeSet::new();
            for (set, bit) in operations {
                let bit = bit % size;
                if set { bits.set(bit); model.insert(bit); } else { bits.clear(bit); model.remove(&bit); }
            }
            for probe in probes.iter() {
                let from = probe % (size + 1);
                prop_assert_eq!(bits.next_set(from), model.range(from..).next().copied());
                let clear = (from..size).find(|bit| !model.contains(bit));
                prop_assert_eq!(bits.next_clear_in(from, size), clear);
            }
        }

        /// Setting a range sets exactly its bits, summaries included.
        #[test]
        fn set_range_is_set_on_every_bit(
            size in 1usize..5000,
            ranges in prop::collection::vec((any::<usize>(), 0usize..2000), 0..6),
            probes in prop::collection::vec(any::<usize>(), 10),
        ) {
            let (mut ranged_storage, mut single_storage) = (Vec::new(), Vec::new());
            let mut ranged = bitmap(&mut ranged_storage, size);
            let mut single = bitmap(&mut single_storage, size);
            for (start, length) in ranges {
                let start = start % size;
                let end = (start + length).min(size);
                ranged.set_range(start, end);
                (start..end).for_each(|bit| single.set(bit));
            }
            for probe in probes {
                let from = probe % (size + 1);
                prop_assert_eq!(ranged.next_set(from), single.next_set(from));
            }
            let _ = (ranged, single); // end the borrows of the storage
            prop_assert_eq!(ranged_storage, single_storage);
        }
    }
}
