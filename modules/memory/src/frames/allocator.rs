//! The frame allocator itself: a [`LevelBitmap`] of free frames and a tag
//! byte per frame saying who holds it (see the folder's introduction).

use super::{Frame, FrameCounts, FrameError, FrameState, LevelBitmap, Owner, FRAME_SIZE};
use crate::memory_map::MemoryMap;

/// The tag byte of a reserved frame: 0, so zeroed storage is all reserved.
const RESERVED: u8 = 0;
/// The tag byte of a free frame.
const FREE: u8 = 0xFF;

/// Hands out 4 KiB frames of the physical memory described by a [`MemoryMap`].
pub struct FrameAllocator<'a> {
    free: LevelBitmap<'a>,
    /// One tag byte per frame, four to a word: [`RESERVED`], [`FREE`] or the
    /// holder's [`Owner`].
    tags: &'a mut [u32],
    counts: FrameCounts,
    /// No frame below this one is free: where the search for the lowest
    /// free frame starts. Usually its level-0 word has a free bit, so
    /// `allocate` finds it without climbing the summaries.
    lowest_free: usize,
}

impl<'a> FrameAllocator<'a> {
    /// Words of storage needed for `map`: the free bitmap and the tags of
    /// every frame up to the end of its usable RAM.
    pub fn storage_words(map: &MemoryMap) -> usize {
        let frames = Self::frames_covered(map);
        LevelBitmap::storage_words(frames) + frames.div_ceil(4)
    }

    fn frames_covered(map: &MemoryMap) -> usize {
        (map.end() / FRAME_SIZE as u64) as usize
    }

    /// An allocator whose free frames are `map`'s available frames.
    ///
    /// `storage` (of [`storage_words`](Self::storage_words) words) must not
    /// lie in an available frame: reserve it in `map` first.
    pub fn new(map: &MemoryMap, storage: &'a mut [u32]) -> Self {
        let frames = Self::frames_covered(map);
        let (bitmap_words, tags) = storage.split_at_mut(LevelBitmap::storage_words(frames));
        let mut free = LevelBitmap::new(bitmap_words, frames);
        // Every frame is reserved until the map says otherwise.
        tags.fill(0);
        for range in map.available() {
            let (first, end) = (
                range.start / FRAME_SIZE as u64,
                range.end / FRAME_SIZE as u64,
            );
            free.set_range(first as usize, end as usize);
            for frame in first as usize..end as usize {
                set_tag(tags, frame, FREE);
            }
        }
        Self {
            free,
            tags,
            counts: FrameCounts {
                total: map.usable_frames(),
                reserved: map.reserved_frames(),
                free: map.available_frames(),
                used: 0,
                held: [0; Owner::ALL.len()],
            },
            lowest_free: 0,
        }
    }

    pub fn counts(&self) -> FrameCounts {
        self.counts
    }

    /// Allocates the lowest free frame for `owner`.
    pub fn allocate(&mut self, owner: Owner) -> Result<Frame, FrameError> {
        // LAB 2.1 BEGIN: find the lowest free frame from lowest_free on (LevelBitmap::next_set; none left is OutOfFrames for 1 frame-aligned frame), take it for owner, and move lowest_free past it
        let frame = self
            .free
            .next_set(self.lowest_free)
            .ok_or(FrameError::OutOfFrames {
                count: 1,
                align: FRAME_SIZE,
            })?;
        self.take(frame, 1, owner);
        self.lowest_free = frame + 1;
        Ok(Frame::from_number(frame))
        // LAB END
    }

    /// Gives back a frame `owner` holds.
    pub fn free(&mut self, frame: Frame, owner: Owner) -> Result<(), FrameError> {
        self.free_contiguous(frame, 1, owner)
    }

    /// Allocates `count` physically contiguous frames for `owner`, whose
    /// first address is a multiple of `align` (a power of two; anything up
    /// to a frame means "frame-aligned") — for DMA buffers and large pages.
    /// Returns the first frame of the run.
    pub fn allocate_contiguous(
        &mut self, count: usize, align: usize, owner: Owner,
    ) -> Result<Frame, FrameError> {
        if count == 0 || !align.is_power_of_two() {
            return Err(FrameError::BadRequest { count, align });
        }
        // LAB 2.1 BEGIN: from lowest_free, find the next free frame, round it up to the alignment (in frames), and take the run if next_clear_in finds no used frame in it; otherwise search again after that used frame; past the end is OutOfFrames
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
                    self.take(start, count, owner);
                    return Ok(Frame::from_number(start));
                }
                Some(used) => from = used + 1,
            }
        }
        // LAB END
    }

    /// Gives back the `count` frames from `first` on, all held by `owner`.
    /// Every frame is checked before any is freed, so an error changes
    /// nothing.
    pub fn free_contiguous(
        &mut self, first: Frame, count: usize, owner: Owner,
    ) -> Result<(), FrameError> {
        if count == 0 {
            return Err(FrameError::BadRequest {
                count,
                align: FRAME_SIZE,
            });
        }
        // LAB 2.1 BEGIN: check every frame of the run first (state_of: beyond the bitmap is OutOfRange, Reserved, Free is a DoubleFree, a holder other than owner is NotYours); then set the run free in the bitmap, tag it FREE, lower lowest_free and update the counts (free, used, held by owner)
        let first = first.number();
        for number in first..first.saturating_add(count) {
            let frame = Frame::from_number(number);
            match self.state_of(number) {
                None => return Err(FrameError::OutOfRange { frame }),
                Some(FrameState::Reserved) => return Err(FrameError::Reserved { frame }),
                Some(FrameState::Free) => return Err(FrameError::DoubleFree { frame }),
                Some(FrameState::Held(holder)) if holder != owner => {
                    return Err(FrameError::NotYours {
                        frame,
                        holder,
                        by: owner,
                    })
                }
                Some(FrameState::Held(_)) => {}
            }
        }
        if count == 1 {
            self.free.set(first);
        } else {
            self.free.set_range(first, first + count);
        }
        for frame in first..first + count {
            set_tag(self.tags, frame, FREE);
        }
        self.lowest_free = self.lowest_free.min(first);
        self.counts.free += count;
        self.counts.used -= count;
        self.counts.held[owner as usize - 1] -= count;
        Ok(())
        // LAB END
    }

    /// What `frame` is (`None`: beyond the memory covered).
    pub fn state(&self, frame: Frame) -> Option<FrameState> {
        self.state_of(frame.number())
    }

    /// Whether `frame` is free right now.
    pub fn is_free(&self, frame: Frame) -> bool {
        self.state(frame) == Some(FrameState::Free)
    }

    fn state_of(&self, frame: usize) -> Option<FrameState> {
        if frame >= self.free.len() {
            return None;
        }
        Some(match tag(self.tags, frame) {
            RESERVED => FrameState::Reserved,
            FREE => FrameState::Free,
            tag => FrameState::Held(Owner::from_tag(tag).expect("only owners are stored")),
        })
    }

    fn take(&mut self, first: usize, count: usize, owner: Owner) {
        for frame in first..first + count {
            self.free.clear(frame);
            set_tag(self.tags, frame, owner as u8);
        }
        self.counts.free -= count;
        self.counts.used += count;
        self.counts.held[owner as usize - 1] += count;
    }
}

/// Frame `frame`'s tag: byte `frame % 4` of word `frame / 4`.
fn tag(tags: &[u32], frame: usize) -> u8 {
    (tags[frame / 4] >> (8 * (frame % 4))) as u8
}

fn set_tag(tags: &mut [u32], frame: usize, tag: u8) {
    let shift = 8 * (frame % 4);
    let word = &mut tags[frame / 4];
    *word = (*word & !(0xFF << shift)) | (u32::from(tag) << shift);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::PhysAddr;
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

    /// The frame at physical address `address`.
    fn at(address: u64) -> Frame {
        Frame::from_start(PhysAddr::new(address as usize)).expect("frame-aligned")
    }

    /// A frame's address, as the memory map counts them.
    fn address(frame: Frame) -> u64 {
        frame.start().as_usize() as u64
    }

    fn with_allocator<R>(map: &MemoryMap, body: impl FnOnce(&mut FrameAllocator) -> R) -> R {
        let mut storage = vec![0u32; FrameAllocator::storage_words(map)];
        let mut frames = FrameAllocator::new(map, &mut storage);
        body(&mut frames)
    }

    /// The constructor (given code): the map's available frames are free,
    /// the rest reserved, and the counts say so.
    #[test]
    fn a_new_allocator_has_the_maps_available_frames_free() {
        let map = map_of(&[usable(0, 2 * MIB), usable(3 * MIB, MIB / 2)]);
        with_allocator(&map, |frames| {
            let counts = frames.counts();
            assert_eq!((counts.total, counts.reserved, counts.used), (640, 256, 0));
            assert_eq!(counts.free, 384);
            assert_eq!(frames.state(at(0)), Some(FrameState::Reserved));
            assert_eq!(frames.state(at(MIB)), Some(FrameState::Free));
            assert_eq!(frames.state(at(2 * MIB - 4096)), Some(FrameState::Free));
            assert_eq!(frames.state(at(2 * MIB)), Some(FrameState::Reserved));
            assert_eq!(
                frames.state(at(3 * MIB + MIB / 2 - 4096)),
                Some(FrameState::Free)
            );
            assert_eq!(frames.state(at(3 * MIB + MIB / 2)), None);
        });
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
                    used: 0,
                    held: [0; 6],
                }
            );
            let mut seen = BTreeSet::new();
            while let Ok(frame) = frames.allocate(Owner::Kernel) {
                assert!(address(frame) >= MIB, "reserved {frame:?} handed out");
                assert!(
                    !(2 * MIB..3 * MIB).contains(&address(frame)),
                    "hole handed out"
                );
                assert!(seen.insert(frame));
            }
            assert_eq!(seen.len(), expected);
            assert_eq!(
                frames.allocate(Owner::Kernel),
                Err(FrameError::OutOfFrames {
                    count: 1,
                    align: FRAME_SIZE
                })
            );
            for &frame in &seen {
                frames.free(frame, Owner::Kernel).unwrap();
            }
            assert_eq!(frames.counts().free, expected);
        });
    }

    #[test]
    fn mistakes_are_errors_with_the_frame() {
        let map = map_of(&[usable(0, 4 * MIB)]);
        with_allocator(&map, |frames| {
            let a = frames.allocate(Owner::Kernel).unwrap();
            let before = frames.counts();
            assert_eq!(
                frames.free(at(0x1000), Owner::Kernel),
                Err(FrameError::Reserved { frame: at(0x1000) })
            );
            let beyond = at(4 * MIB);
            assert_eq!(
                frames.free(beyond, Owner::Kernel),
                Err(FrameError::OutOfRange { frame: beyond })
            );
            assert_eq!(
                frames.free(a.add(1), Owner::Kernel),
                Err(FrameError::DoubleFree { frame: a.add(1) })
            );
            // A range with one bad frame frees nothing.
            assert_eq!(
                frames.free_contiguous(a, 2, Owner::Kernel),
                Err(FrameError::DoubleFree { frame: a.add(1) })
            );
            assert_eq!(frames.counts(), before);
            frames.free(a, Owner::Kernel).unwrap();
            assert_eq!(
                frames.free(a, Owner::Kernel),
                Err(FrameError::DoubleFree { frame: a })
            );
            assert_eq!(
                frames.allocate_contiguous(0, 4096, Owner::Kernel),
                Err(FrameError::BadRequest {
                    count: 0,
                    align: 4096
                })
            );
            assert_eq!(
                frames.allocate_contiguous(1, 3000, Owner::Kernel),
                Err(FrameError::BadRequest {
                    count: 1,
                    align: 3000
                })
            );
        });
    }

    #[test]
    fn only_the_holder_may_free_a_frame() {
        let map = map_of(&[usable(0, 4 * MIB)]);
        with_allocator(&map, |frames| {
            let table = frames.allocate(Owner::PageTable).unwrap();
            let run = frames
                .allocate_contiguous(4, FRAME_SIZE, Owner::Heap)
                .unwrap();
            let before = frames.counts();
            assert_eq!(
                frames.free(table, Owner::Shell),
                Err(FrameError::NotYours {
                    frame: table,
                    holder: Owner::PageTable,
                    by: Owner::Shell
                })
            );
            // One frame of the run held by someone else refuses the lot.
            let mine = frames.allocate(Owner::Shell).unwrap();
            assert_eq!(mine, run.add(4));
            assert!(matches!(
                frames.free_contiguous(run.add(3), 2, Owner::Heap),
                Err(FrameError::NotYours {
                    holder: Owner::Shell,
                    ..
                })
            ));
            frames.free(mine, Owner::Shell).unwrap();
            assert_eq!(frames.counts(), before);
            assert_eq!(
                frames.state(table),
                Some(FrameState::Held(Owner::PageTable))
            );
            assert_eq!(frames.counts().held_by(Owner::Heap), 4);
            assert_eq!(frames.state(at(0x1000)), Some(FrameState::Reserved));
            assert_eq!(frames.state(at(4 * MIB)), None);
            frames.free(table, Owner::PageTable).unwrap();
            frames.free_contiguous(run, 4, Owner::Heap).unwrap();
            assert_eq!(frames.state(table), Some(FrameState::Free));
        });
    }

    #[test]
    fn a_count_of_zero_is_an_error_wherever_it_points() {
        let map = map_of(&[usable(0, 4 * MIB)]);
        with_allocator(&map, |frames| {
            let before = frames.counts();
            let zero = Err(FrameError::BadRequest {
                count: 0,
                align: FRAME_SIZE,
            });
            // Past the end of RAM (this once panicked in the bitmap), in
            // RAM never handed out, and at a frame that is in use.
            assert_eq!(frames.free_contiguous(at(8 * MIB), 0, Owner::Shell), zero);
            assert_eq!(frames.free_contiguous(at(2 * MIB), 0, Owner::Shell), zero);
            let held = frames.allocate(Owner::Shell).unwrap();
            assert_eq!(frames.free_contiguous(held, 0, Owner::Shell), zero);
            frames.free(held, Owner::Shell).unwrap();
            assert_eq!(frames.counts(), before);
        });
    }

    #[test]
    fn contiguous_runs_respect_alignment_and_skip_holes() {
        let map = map_of(&[usable(0, 3 * MIB), usable(3 * MIB + 8192, 8 * MIB)]);
        with_allocator(&map, |frames| {
            let single = frames.allocate(Owner::Kernel).unwrap();
            assert_eq!(address(single), MIB);
            let run = frames
                .allocate_contiguous(16, 64 * 1024, Owner::Kernel)
                .unwrap();
            assert_eq!(
                address(run),
                MIB + 64 * 1024,
                "first aligned run above the used frame"
            );
            // 1 MiB aligned to 2 MiB: 2 MiB is free and 3 MiB is a hole, so 4 MiB.
            let big = frames
                .allocate_contiguous(256, 2 * MIB as usize, Owner::Kernel)
                .unwrap();
            assert_eq!(address(big), 2 * MIB);
            let bigger = frames
                .allocate_contiguous(512, 2 * MIB as usize, Owner::Kernel)
                .unwrap();
            assert_eq!(address(bigger), 4 * MIB);
            frames.free_contiguous(bigger, 512, Owner::Kernel).unwrap();
            frames.free_contiguous(big, 256, Owner::Kernel).unwrap();
            frames.free_contiguous(run, 16, Owner::Kernel).unwrap();
            frames.free(single, Owner::Kernel).unwrap();
            assert_eq!(frames.counts().used, 0);
            assert!(frames
                .allocate_contiguous(4096, FRAME_SIZE, Owner::Kernel)
                .is_err());
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
            let top = (1u64 << 32) - FRAME_SIZE as u64;
            // Nothing is usable at 2 GiB, and 4 GiB itself is out of reach.
            let align = 1 << 31;
            assert_eq!(
                frames.allocate_contiguous(1, align, Owner::Kernel),
                Err(FrameError::OutOfFrames { count: 1, align })
            );
            let high = frames
                .allocate_contiguous(4096, 16 << 20, Owner::Kernel)
                .unwrap();
            assert_eq!(address(high), (1 << 32) - 16 * MIB);
            frames.free_contiguous(high, 4096, Owner::Kernel).unwrap();
            // Take everything: the top frame below 4 GiB is among them.
            let mut highest = 0;
            while let Ok(frame) = frames.allocate(Owner::Kernel) {
                highest = highest.max(address(frame));
            }
            assert_eq!(highest, top);
        });
    }

    proptest! {
        /// Random allocate / free / contiguous sequences by several owners
        /// against a model: a list of runs and who holds each. A free by
        /// the wrong owner is tried first, and must change nothing.
        #[test]
        fn agrees_with_a_model(
            operations in prop::collection::vec((0u8..4, 1usize..40, 0u32..6, any::<usize>()), 0..200),
        ) {
            let map = map_of(&[usable(0, 3 * MIB), usable(4 * MIB + 4096, MIB), MapEntry { start: 2 * MIB, length: 8192, usable: false }]);
            let mut storage = vec![0u32; FrameAllocator::storage_words(&map)];
            let mut frames = FrameAllocator::new(&map, &mut storage);
            let available = map.available_frames();
            let mut used: Vec<(Frame, usize, Owner)> = Vec::new();
            for (kind, count, shift, pick) in operations {
                let owner = Owner::ALL[pick % Owner::ALL.len()];
                match kind {
                    0 => if let Ok(frame) = frames.allocate(owner) { used.push((frame, 1, owner)) },
                    1 => {
                        let align = FRAME_SIZE << shift;
                        if let Ok(first) = frames.allocate_contiguous(count, align, owner) {
                            prop_assert_eq!(first.start().as_usize() % align, 0);
                            used.push((first, count, owner));
                        }
                    }
                    _ if !used.is_empty() => {
                        let (first, count, holder) = used.swap_remove(pick % used.len());
                        let stranger = Owner::ALL[(holder as usize + shift as usize) % Owner::ALL.len()];
                        if stranger != holder {
                            let before = frames.counts();
                            prop_assert_eq!(
                                frames.free_contiguous(first, count, stranger),
                                Err(FrameError::NotYours { frame: first, holder, by: stranger })
                            );
                            prop_assert_eq!(frames.counts(), before);
                        }
                        frames.free_contiguous(first, count, holder).unwrap();
                        prop_assert_eq!(frames.free(first, holder), Err(FrameError::DoubleFree { frame: first }));
                    }
                    _ => {}
                }
                // No frame is handed out twice, none is reserved, and each
                // is tagged with its holder.
                let mut all = BTreeSet::new();
                for &(first, count, holder) in &used {
                    for frame in (0..count).map(|index| first.add(index)) {
                        prop_assert!(map.available().iter().any(|r| (r.start..r.end).contains(&address(frame))));
                        prop_assert!(all.insert(frame), "{:?} handed out twice", frame);
                        prop_assert_eq!(frames.state(frame), Some(FrameState::Held(holder)));
                    }
                }
                prop_assert_eq!(frames.counts().used, all.len());
                prop_assert_eq!(frames.counts().free, available - all.len());
                for owner in Owner::ALL {
                    let held: usize = used.iter().filter(|run| run.2 == owner).map(|run| run.1).sum();
                    prop_assert_eq!(frames.counts().held_by(owner), held);
                }
            }
        }
    }
}
