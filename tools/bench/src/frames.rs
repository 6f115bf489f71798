//! The frame allocator's figures: one frame allocated and freed, an aligned
//! run of 16, and how long building the allocator takes from a 4 GiB map
//! and from a fragmented one (the kernel does this once, at boot, before
//! anything else can run).

use core::hint::black_box;
use memory::frames::{Frame, FrameAllocator, Owner};
use memory::memory_map::{MapEntry, MemoryMap, PhysRange};
use std::time::{Duration, Instant};

const KIB: u64 = 1 << 10;
const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

fn entry(start: u64, length: u64, usable: bool) -> MapEntry {
    MapEntry {
        start,
        length,
        usable,
    }
}

fn cleaned(entries: &[MapEntry], reservations: &[PhysRange]) -> MemoryMap {
    let mut map = MemoryMap::from_entries(entries.iter().copied()).expect("few ranges");
    for &range in reservations {
        map.reserve(range, "benchmark").expect("few reservations");
    }
    map
}

/// A PC with 4 GiB: low memory, the BIOS hole, then RAM to the 4 GiB line.
/// The first MiB and a 4 MiB kernel image are reserved.
pub fn four_gib_map() -> MemoryMap {
    cleaned(
        &[
            entry(0, 639 * KIB, true),
            entry(639 * KIB, MIB - 639 * KIB, false),
            entry(MIB, 4 * GIB - MIB, true),
        ],
        &[PhysRange::new(0, MIB), PhysRange::new(MIB, 5 * MIB)],
    )
}

/// The same 4 GiB cut into 48 usable ranges of uneven sizes with holes
/// between them, and 15 reservations spread over it: every range boundary
/// is a partial bitmap word.
pub fn fragmented_map() -> MemoryMap {
    let mut entries = Vec::new();
    let mut start = MIB;
    for index in 0..48u64 {
        let length = 16 * MIB + (index * 7 % 11) * 4 * MIB + index * 12 * KIB;
        entries.push(entry(start, length, true));
        start += length + (index % 5 + 1) * 256 * KIB + 4 * KIB;
    }
    let reservations: Vec<PhysRange> = (0..15u64)
        .map(|index| {
            let at = MIB + index * 190 * MIB + index * 20 * KIB;
            PhysRange::new(at, at + 300 * KIB + index * 4 * KIB)
        })
        .collect();
    cleaned(&entries, &reservations)
}

/// The median of `repeats` builds of a frame allocator over `map`.
pub fn build_time(map: &MemoryMap, repeats: usize) -> Duration {
    let mut storage = vec![0u32; FrameAllocator::storage_words(map)];
    let mut times: Vec<Duration> = (0..repeats)
        .map(|_| {
            let start = Instant::now();
            let frames = FrameAllocator::new(black_box(map), &mut storage);
            black_box(frames.counts());
            start.elapsed()
        })
        .collect();
    times.sort_unstable();
    times[times.len() / 2]
}

/// Frames kept allocated around the measured pairs.
const BACKGROUND_FRAMES: usize = 1000;

/// Nanoseconds per single-frame allocate+free, over the 4 GiB map with
/// 1000 frames in use.
pub fn single_frame_pair(iterations: u64) -> f64 {
    let map = four_gib_map();
    let mut storage = vec![0u32; FrameAllocator::storage_words(&map)];
    let mut frames = FrameAllocator::new(&map, &mut storage);
    for _ in 0..BACKGROUND_FRAMES {
        frames.allocate(Owner::Kernel).expect("4 GiB of frames");
    }
    let start = Instant::now();
    for _ in 0..iterations {
        let frame = frames.allocate(Owner::Kernel).expect("a free frame");
        frames
            .free(black_box(frame), Owner::Kernel)
            .expect("just allocated");
    }
    start.elapsed().as_nanos() as f64 / iterations as f64
}

/// Nanoseconds per allocation and free of 16 contiguous frames aligned to
/// 64 KiB, with single frames scattered below so the search has work.
pub fn contiguous_pair(iterations: u64) -> f64 {
    let map = four_gib_map();
    let mut storage = vec![0u32; FrameAllocator::storage_words(&map)];
    let mut frames = FrameAllocator::new(&map, &mut storage);
    let taken: Vec<Frame> = (0..BACKGROUND_FRAMES)
        .map(|_| frames.allocate(Owner::Kernel).expect("4 GiB of frames"))
        .collect();
    // Free every third frame: holes too small and badly aligned for a run.
    for &frame in taken.iter().step_by(3) {
        frames.free(frame, Owner::Kernel).expect("allocated above");
    }
    let start = Instant::now();
    for _ in 0..iterations {
        let run = frames
            .allocate_contiguous(16, 64 * KIB as usize, Owner::Kernel)
            .expect("an aligned run");
        frames
            .free_contiguous(black_box(run), 16, Owner::Kernel)
            .expect("just allocated");
    }
    start.elapsed().as_nanos() as f64 / iterations as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_maps_describe_what_their_comments_say() {
        let whole = four_gib_map();
        assert_eq!(whole.end(), 4 * GIB);
        assert_eq!(
            whole.usable_frames() as u64,
            (639 * KIB / 4096) + (4 * GIB - MIB) / 4096
        );
        let fragmented = fragmented_map();
        assert_eq!(fragmented.usable().len(), 48);
        assert!(
            fragmented.available().len() > 48,
            "reservations split ranges"
        );
    }
}
