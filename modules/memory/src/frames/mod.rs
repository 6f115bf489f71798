//! The physical frame allocator: who owns each 4 KiB frame of RAM.
//!
//! Physical memory is handed out in *frames*: 4 KiB pieces, aligned to
//! 4 KiB, the unit the MMU maps in chapter 3. The allocator keeps two
//! bitmaps over every frame from address 0 up to the end of usable RAM:
//!
//! - `available`: 1 = this frame is RAM that may be handed out at all (in
//!   the memory map and not reserved). Never changes after start-up.
//! - `free`: 1 = free right now. A [`LevelBitmap`], so the lowest free
//!   frame is found in a handful of steps, not by a scan from the bottom.
//!
//! With both, every mistake can be told apart and refused with the address:
//! freeing a frame that is already free ([`FrameError::DoubleFree`]), one
//! that was never RAM or is reserved ([`FrameError::Reserved`]), or one
//! beyond the end ([`FrameError::OutOfRange`]).
//!
//! The bitmaps need `2 × frames / 8` bytes — 64 KiB for 1 GiB of RAM — and
//! live in memory the caller provides (the kernel takes it from the memory
//! map and reserves it, so the allocator never hands out its own bitmaps).

mod bitmap;

pub use bitmap::LevelBitmap;

use crate::memory_map::{MemoryMap, FRAME_SIZE as FRAME_SIZE_U64};
use core::fmt;

/// Bytes in a frame.
pub const FRAME_SIZE: usize = FRAME_SIZE_U64 as usize;

/// Why a frame operation was refused. Each carries the address concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// No free frame (or run of frames) is left.
    OutOfFrames { count: usize, align: usize },
    /// The address is not a multiple of [`FRAME_SIZE`].
    Unaligned { address: usize },
    /// The address is beyond the memory this allocator covers.
    OutOfRange { address: usize },
    /// The frame is reserved or not RAM: it was never handed out.
    Reserved { address: usize },
    /// The frame is already free.
    DoubleFree { address: usize },
    /// A count of zero, or an alignment that is not a power of two.
    BadRequest { count: usize, align: usize },
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::OutOfFrames { count, align } => {
                write!(
                    f,
                    "out of frames: no {count} free frame(s) aligned to {align:#x}"
                )
            }
            Self::Unaligned { address } => write!(f, "{address:#010x} is not frame-aligned"),
            Self::OutOfRange { address } => write!(f, "{address:#010x} is beyond physical memory"),
            Self::Reserved { address } => {
                write!(
                    f,
                    "{address:#010x} is reserved or not RAM, never handed out"
                )
            }
            Self::DoubleFree { address } => write!(f, "frame {address:#010x} is already free"),
            Self::BadRequest { count, align } => {
                write!(f, "bad request: {count} frame(s) aligned to {align:#x}")
            }
        }
    }
}

/// Frame counts, for the `frames` command and the tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameCounts {
    /// Frames of usable RAM (below 4 GiB) in the memory map.
    pub total: usize,
    /// Of those, frames that are reserved and never handed out.
    pub reserved: usize,
    pub free: usize,
    pub used: usize,
}

/// Hands out 4 KiB frames of the physical memory described by a [`MemoryMap`].
pub struct FrameAllocator<'a> {
    free: LevelBitmap<'a>,
    available: LevelBitmap<'a>,
    counts: FrameCounts,
    /// No frame below this one is free: where the search for the lowest
    /// free frame starts. Usually its level-0 word has a free bit, so
    /// `allocate` finds it without climbing the summaries.
    lowest_free: usize,
}

impl<'a> FrameAllocator<'a> {
    /// Words of storage needed for a map whose usable RAM ends at `end`.
    pub fn storage_words(map: &MemoryMap) -> usize {
        2 * LevelBitmap::storage_words(Self::frames_covered(map))
    }

    fn frames_covered(map: &MemoryMap) -> usize {
        (map.end() / FRAME_SIZE_U64) as usize
    }

    /// An allocator whose free frames are `map`'s available frames.
    ///
    /// `storage` (of [`storage_words`](Self::storage_words) words) must not
    /// lie in an available frame: reserve it in `map` first.
    pub fn new(map: &MemoryMap, storage: &'a mut [u32]) -> Self {
        let frames = Self::frames_covered(map);
        let half = LevelBitmap::storage_words(frames);
        let (free_words, available_words) = storage.split_at_mut(half);
        let mut free = LevelBitmap::new(free_words, frames);
        let mut available = LevelBitmap::new(available_words, frames);
        // LAB 2.1 BEGIN: mark every frame of each of map.available()'s ranges free and available (LevelBitmap::set_range)
        for range in map.available() {
            let (first, end) = (range.start / FRAME_SIZE_U64, range.end / FRAME_SIZE_U64);
            free.set_range(first as usize, end as usize);
            available.set_range(first as usize, end as usize);
        }
        // LAB END
        let free_count = map.available_frames();
        Self {
            free,
            available,
            counts: FrameCounts {
                total: map.usable_frames(),
                reserved: map.reserved_frames(),
                free: free_count,
                used: 0,
            },
            lowest_free: 0,
        }
    }

    pub fn counts(&self) -> FrameCounts {
        self.counts
    }

    /// Allocates the lowest free frame; returns its physical address.
    pub fn allocate(&mut self) -> Result<usize, FrameError> {
        let frame = self
            .free
            .next_set(self.lowest_free)
            .ok_or(FrameError::OutOfFrames {
                count: 1,
                align: FRAME_SIZE,
            })?;
        self.free.clear(frame);
        self.lowest_free = frame + 1;
        self.counts.free -= 1;
        self.counts.used += 1;
        Ok(frame * FRAME_SIZE)
    }

    /// Returns a frame from [`allocate`](Self::allocate).
    pub fn free(&mut self, address: usize) -> Result<(), FrameError> {
        self.free_contiguous(address, 1)
    }

    /// Allocates `count` physically contiguous frames whose first address is
    /// a multiple of `align` (a power of two; anything up to a frame means
    /// "frame-aligned") — for DMA buffers and large pages.
    pub fn allocate_contiguous(&mut self, count: usize, align: usize) -> Result<usize, FrameError> {
        if count == 0 || !align.is_power_of_two() {
            return Err(FrameError::BadRequest { count, align });
        }
        let step = (align / FRAME_SIZE).max(1);
        let mut from = self.lowest_free;
        loop {
            let out = FrameError::OutOfFrames { count, align };
            let first = self.free.next_set(from).ok_or(out)?;
            let start = first.next_multiple_of(step);
            let end = start
                .checked_add(count)
                .filter(|&end| end <= self.free.len())
                .ok_or(out)?;
            match self.free.next_clear_in(start, end) {
                None => {
                    self.take(start, count);
                    return Ok(start * FRAME_SIZE);
                }
                Some(used) => from = used + 1,
            }
        }
    }

    /// Frees `count` frames from `address`. Every frame is checked before
    /// any is freed, so an error changes nothing.
    pub fn free_contiguous(&mut self, address: usize, count: usize) -> Result<(), FrameError> {
        if !address.is_multiple_of(FRAME_SIZE) {
            return Err(FrameError::Unaligned { address });
        }
        let first = address / FRAME_SIZE;
        for frame in first..first.saturating_add(count) {
            let address = frame * FRAME_SIZE;
            if frame >= self.free.len() {
                return Err(FrameError::OutOfRange { address });
            }
            if !self.available.get(frame) {
                return Err(FrameError::Reserved { address });
            }
            if self.free.get(frame) {
                return Err(FrameError::DoubleFree { address });
            }
        }
        if count == 1 {
            self.free.set(first);
        } else {
            self.free.set_range(first, first + count);
        }
        self.lowest_free = self.lowest_free.min(first);
        self.counts.free += count;
        self.counts.used -= count;
        Ok(())
    }

    /// Whether the frame at `address` is free right now.
    pub fn is_free(&self, address: usize) -> bool {
        let frame = address / FRAME_SIZE;
        frame < self.free.len() && self.free.get(frame)
    }

    /// Whether the frame at `address` may ever be handed out.
    pub fn is_available(&self, address: usize) -> bool {
        let frame = address / FRAME_SIZE;
        frame < self.available.len() && self.available.get(frame)
    }

    fn take(&mut self, first: usize, count: usize) {
        for frame in first..first + count {
            self.free.clear(frame);
        }
        self.counts.free -= count;
        self.counts.used += count;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory_map::{MapEntry, PhysRange};
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    const MIB: u64 = 1 << 20;

    fn map_of(entries: &[MapEntry]) -> MemoryMap {
        let mut map = MemoryMap::from_entries(entries.iter().copied()).unwrap();
        map.reserve(PhysRange::new(0, MIB), "first MiB").unwrap();
        map
    }

    fn usable(start: u64, length: u64) -> MapEntry {
        MapEntry {
            start,
            length,
            usable: true,
        }
    }

    fn with_allocator<R>(map: &MemoryMap, body: impl FnOnce(&mut FrameAllocator) -> R) -> R {
        let mut storage = vec![0u32; FrameAllocator::storage_words(map)];
        let mut frames = FrameAllocator::new(map, &mut storage);
        body(&mut frames)
    }

    #[test]
    fn hands_out_every_available_frame_once_then_fails() {
        let map = map_of(&[usable(0, 2 * MIB), usable(3 * MIB, MIB / 2)]);
        with_allocator(&map, |frames| {
            let expected = (MIB + MIB / 2) as usize / FRAME_SIZE;
            assert_eq!(
                frames.counts(),
                FrameCounts {
                    total: 640,
                    reserved: 256,
                    free: expected,
                    used: 0
                }
            );
            let mut seen = BTreeSet::new();
            while let Ok(address) = frames.allocate() {
                assert!(
                    address as u64 >= MIB,
                    "reserved frame {address:#x} handed out"
                );
                assert!(
                    !(2 * MIB..3 * MIB).contains(&(address as u64)),
                    "hole handed out"
                );
                assert!(seen.insert(address));
            }
            assert_eq!(seen.len(), expected);
            assert_eq!(
                frames.allocate(),
                Err(FrameError::OutOfFrames {
                    count: 1,
                    align: FRAME_SIZE
                })
            );
            for &address in &seen {
                frames.free(address).unwrap();
            }
            assert_eq!(frames.counts().free, expected);
        });
    }

    #[test]
    fn mistakes_are_errors_with_the_address() {
        let map = map_of(&[usable(0, 4 * MIB)]);
        with_allocator(&map, |frames| {
            let a = frames.allocate().unwrap();
            let before = frames.counts();
            assert_eq!(
                frames.free(a + 1),
                Err(FrameError::Unaligned { address: a + 1 })
            );
            assert_eq!(
                frames.free(0x1000),
                Err(FrameError::Reserved { address: 0x1000 })
            );
            let beyond = 4 * MIB as usize;
            assert_eq!(
                frames.free(beyond),
                Err(FrameError::OutOfRange { address: beyond })
            );
            assert_eq!(
                frames.free(a + FRAME_SIZE),
                Err(FrameError::DoubleFree {
                    address: a + FRAME_SIZE
                })
            );
            // A range with one bad frame frees nothing.
            assert_eq!(
                frames.free_contiguous(a, 2),
                Err(FrameError::DoubleFree {
                    address: a + FRAME_SIZE
                })
            );
            assert_eq!(frames.counts(), before);
            frames.free(a).unwrap();
            assert_eq!(frames.free(a), Err(FrameError::DoubleFree { address: a }));
            assert_eq!(
                frames.allocate_contiguous(0, 4096),
                Err(FrameError::BadRequest {
                    count: 0,
                    align: 4096
                })
            );
            assert_eq!(
                frames.allocate_contiguous(1, 3000),
                Err(FrameError::BadRequest {
                    count: 1,
                    align: 3000
                })
            );
        });
    }

    #[test]
    fn contiguous_runs_respect_alignment_and_skip_holes() {
        let map = map_of(&[usable(0, 3 * MIB), usable(3 * MIB + 8192, 8 * MIB)]);
        with_allocator(&map, |frames| {
            let single = frames.allocate().unwrap();
            assert_eq!(single as u64, MIB);
            let run = frames.allocate_contiguous(16, 64 * 1024).unwrap();
            assert_eq!(run % (64 * 1024), 0);
            assert_eq!(
                run as u64,
                MIB + 64 * 1024,
                "first aligned run above the used frame"
            );
            // 1 MiB aligned to 2 MiB: 2 MiB is free and 3 MiB is a hole, so 4 MiB.
            let big = frames.allocate_contiguous(256, 2 * MIB as usize).unwrap();
            assert_eq!(big as u64, 2 * MIB);
            let bigger = frames.allocate_contiguous(512, 2 * MIB as usize).unwrap();
            assert_eq!(bigger as u64, 4 * MIB);
            frames.free_contiguous(bigger, 512).unwrap();
            frames.free_contiguous(big, 256).unwrap();
            frames.free_contiguous(run, 16).unwrap();
            frames.free(single).unwrap();
            assert_eq!(frames.counts().used, 0);
            assert!(frames.allocate_contiguous(4096, FRAME_SIZE).is_err());
        });
    }

    #[test]
    fn a_map_reaching_4_gib_is_covered_to_the_last_frame() {
        let map = map_of(&[
            usable(MIB, 16 * MIB),
            usable((1 << 32) - 16 * MIB, 32 * MIB),
        ]);
        with_allocator(&map, |frames| {
            assert_eq!(map.unreachable_bytes, 16 * MIB);
            let top = (1u64 << 32) - FRAME_SIZE_U64;
            // Nothing is usable at 2 GiB, and 4 GiB itself is out of reach.
            let align = 1 << 31;
            assert_eq!(
                frames.allocate_contiguous(1, align),
                Err(FrameError::OutOfFrames { count: 1, align })
            );
            let high = frames.allocate_contiguous(4096, 16 << 20).unwrap();
            assert_eq!(high as u64, (1 << 32) - 16 * MIB);
            frames.free_contiguous(high, 4096).unwrap();
            // Take everything: the top frame below 4 GiB is among them.
            let mut highest = 0;
            while let Ok(address) = frames.allocate() {
                highest = highest.max(address);
            }
            assert_eq!(highest as u64, top);
        });
    }

    proptest! {
        /// Random allocate / free / contiguous sequences against a set of
        /// used frames.
        #[test]
        fn agrees_with_a_model(
            operations in prop::collection::vec((0u8..4, 1usize..40, 0u32..6, any::<usize>()), 0..200),
        ) {
            let map = map_of(&[usable(0, 3 * MIB), usable(4 * MIB + 4096, MIB), MapEntry { start: 2 * MIB, length: 8192, usable: false }]);
            let mut storage = vec![0u32; FrameAllocator::storage_words(&map)];
            let mut frames = FrameAllocator::new(&map, &mut storage);
            let available = map.available_frames();
            let mut used: Vec<(usize, usize)> = Vec::new();
            for (kind, count, align_shift, pick) in operations {
                match kind {
                    0 => if let Ok(address) = frames.allocate() { used.push((address, 1)) },
                    1 => {
                        let align = FRAME_SIZE << align_shift;
                        if let Ok(address) = frames.allocate_contiguous(count, align) {
                            prop_assert_eq!(address % align, 0);
                            used.push((address, count));
                        }
                    }
                    _ if !used.is_empty() => {
                        let (address, count) = used.swap_remove(pick % used.len());
                        frames.free_contiguous(address, count).unwrap();
                        prop_assert_eq!(frames.free(address), Err(FrameError::DoubleFree { address }));
                    }
                    _ => {}
                }
                // No frame is handed out twice, none is reserved.
                let mut all = BTreeSet::new();
                for &(address, count) in &used {
                    for frame in 0..count {
                        let frame = address + frame * FRAME_SIZE;
                        prop_assert!(map.available().iter().any(|r| (r.start..r.end).contains(&(frame as u64))));
                        prop_assert!(all.insert(frame), "frame {:#x} handed out twice", frame);
                        prop_assert!(!frames.is_free(frame));
                    }
                }
                prop_assert_eq!(frames.counts().used, all.len());
                prop_assert_eq!(frames.counts().free, available - all.len());
            }
        }
    }
}
