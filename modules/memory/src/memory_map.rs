//! The physical memory map: which addresses are RAM we may use.
//!
//! The BIOS knows which physical addresses are RAM and which are ROM,
//! memory-mapped devices or firmware tables; GRUB passes its list on in the
//! multiboot2 *memory map* tag. That list is raw: entries may come in any
//! order, overlap, have zero length, start or end in the middle of a page,
//! or lie above 4 GiB where a 32-bit kernel without PAE cannot reach. So the
//! map is *cleaned* before anything trusts it:
//!
//! ```text
//!  raw entries      [usable 0-640K][reserved 640K-1M][usable 1M-128M][reserved ...]
//!  1. clip at 4 GiB      (what lies above is counted, then left out)
//!  2. usable minus every non-usable entry   (when they overlap, trust "reserved")
//!  3. sort and merge, then shrink each range inward to whole 4 KiB frames
//!  4. minus the reservations: the first 1 MiB, the kernel image, the boot
//!     information, GRUB modules, the frame allocator's own tables
//!  => the frames the frame allocator may hand out
//! ```
//!
//! [`RangeSet`] does the arithmetic; [`MemoryMap`] keeps the result and the
//! list of reservations with the reason for each, for the `frames` command.

/// [`crate::address::FRAME_SIZE`], as the `u64` the map's arithmetic uses
/// (firmware describes memory above 4 GiB too).
const FRAME_SIZE: u64 = crate::address::FRAME_SIZE as u64;
/// The first address a 32-bit kernel cannot reach (without PAE).
pub const ADDRESS_LIMIT: u64 = 1 << 32;
/// Most ranges a [`RangeSet`] holds (firmware maps have a few dozen at most).
pub const MAX_RANGES: usize = 64;
/// Most reservations a [`MemoryMap`] records.
pub const MAX_RESERVATIONS: usize = 16;

/// The half-open physical range `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhysRange {
    pub start: u64,
    pub end: u64,
}

impl PhysRange {
    pub const fn new(start: u64, end: u64) -> Self {
        Self { start, end }
    }

    pub fn len(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }

    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }

    /// The whole frames inside this range (start rounded up, end down).
    pub fn frames_inside(&self) -> PhysRange {
        let start = self.start.next_multiple_of(FRAME_SIZE);
        let end = self.end / FRAME_SIZE * FRAME_SIZE;
        PhysRange::new(start, end.max(start))
    }

    /// The whole frames this range touches (start rounded down, end up).
    pub fn frames_touched(&self) -> PhysRange {
        let start = self.start / FRAME_SIZE * FRAME_SIZE;
        PhysRange::new(start, self.end.next_multiple_of(FRAME_SIZE))
    }
}

/// The set is full: the map has more pieces than [`MAX_RANGES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManyRanges;

/// A set of addresses kept as sorted, disjoint, non-touching ranges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RangeSet {
    ranges: [PhysRange; MAX_RANGES],
    len: usize,
}

impl RangeSet {
    pub const fn new() -> Self {
        Self {
            ranges: [PhysRange::new(0, 0); MAX_RANGES],
            len: 0,
        }
    }

    pub fn ranges(&self) -> &[PhysRange] {
        &self.ranges[..self.len]
    }

    /// Total bytes in the set.
    pub fn bytes(&self) -> u64 {
        self.ranges().iter().map(PhysRange::len).sum()
    }

    /// Adds `range`, merging it with every range it overlaps or touches.
    pub fn insert(&mut self, range: PhysRange) -> Result<(), TooManyRanges> {
        if range.is_empty() {
            return Ok(());
        }
        let mut merged = range;
        let mut kept = RangeSet::new();
        for &existing in self.ranges() {
            if existing.end < merged.start || merged.end < existing.start {
                kept.push(existing)?;
            } else {
                merged = PhysRange::new(
                    existing.start.min(merged.start),
                    existing.end.max(merged.end),
                );
            }
        }
        kept.push(merged)?;
        kept.ranges[..kept.len].sort_unstable_by_key(|range| range.start);
        *self = kept;
        Ok(())
    }

    /// Takes `range` out of the set, splitting a range that it cuts in two.
    pub fn remove(&mut self, range: PhysRange) -> Result<(), TooManyRanges> {
        if range.is_empty() {
            return Ok(());
        }
        let mut kept = RangeSet::new();
        for &existing in self.ranges() {
            let below = PhysRange::new(existing.start, existing.end.min(range.start));
            let above = PhysRange::new(existing.start.max(range.end), existing.end);
            if !below.is_empty() {
                kept.push(below)?;
            }
            if !above.is_empty() {
                kept.push(above)?;
            }
        }
        *self = kept;
        Ok(())
    }

    /// Keeps only the whole frames of each range.
    pub fn shrink_to_frames(&mut self) {
        let mut kept = RangeSet::new();
        for &range in self.ranges() {
            let frames = range.frames_inside();
            if !frames.is_empty() {
                // Never more ranges than before, so this cannot fail.
                let _ = kept.push(frames);
            }
        }
        *self = kept;
    }

    pub fn contains(&self, address: u64) -> bool {
        self.ranges()
            .iter()
            .any(|range| (range.start..range.end).contains(&address))
    }

    fn push(&mut self, range: PhysRange) -> Result<(), TooManyRanges> {
        *self.ranges.get_mut(self.len).ok_or(TooManyRanges)? = range;
        self.len += 1;
        Ok(())
    }
}

impl Default for RangeSet {
    fn default() -> Self {
        Self::new()
    }
}

/// One entry of the raw map, as the firmware reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MapEntry {
    pub start: u64,
    pub length: u64,
    pub usable: bool,
}

/// Memory taken before the frame allocator starts, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reservation {
    pub range: PhysRange,
    pub reason: &'static str,
}

/// The cleaned map: usable frames below 4 GiB, and what is reserved in them.
#[derive(Debug, Clone, Copy)]
pub struct MemoryMap {
    /// Usable RAM below 4 GiB, in whole frames.
    usable: RangeSet,
    /// `usable` minus every reservation: what the frame allocator hands out.
    available: RangeSet,
    reservations: [Reservation; MAX_RESERVATIONS],
    reservation_count: usize,
    /// Usable RAM above 4 GiB: reported, never used.
    pub unreachable_bytes: u64,
    /// Usable bytes lost to partial frames at the edges of ranges, and to
    /// overlaps with non-usable entries.
    pub discarded_bytes: u64,
}

impl MemoryMap {
    /// Cleans a raw memory map (see the module documentation).
    pub fn from_entries(
        entries: impl Iterator<Item = MapEntry> + Clone,
    ) -> Result<Self, TooManyRanges> {
        let mut usable = RangeSet::new();
        let mut unreachable_bytes = 0;
        let mut raw_usable_bytes = 0;
        for entry in entries.clone().filter(|entry| entry.usable) {
            let end = entry.start.saturating_add(entry.length);
            let below = PhysRange::new(entry.start.min(ADDRESS_LIMIT), end.min(ADDRESS_LIMIT));
            unreachable_bytes += entry.length - below.len();
            raw_usable_bytes += below.len();
            usable.insert(below)?;
        }
        // Overlapping usable entries are counted once.
        raw_usable_bytes = raw_usable_bytes.min(usable.bytes());
        for entry in entries.filter(|entry| !entry.usable) {
            usable.remove(PhysRange::new(
                entry.start,
                entry.start.saturating_add(entry.length),
            ))?;
        }
        usable.shrink_to_frames();
        Ok(Self {
            usable,
            available: usable,
            reservations: [Reservation {
                range: PhysRange::new(0, 0),
                reason: "",
            }; MAX_RESERVATIONS],
            reservation_count: 0,
            unreachable_bytes,
            discarded_bytes: raw_usable_bytes - usable.bytes(),
        })
    }

    /// Marks `range` as taken, for `reason`. The frames it touches are never
    /// handed out. Overlapping reservations are fine.
    pub fn reserve(&mut self, range: PhysRange, reason: &'static str) -> Result<(), TooManyRanges> {
        let slot = self
            .reservations
            .get_mut(self.reservation_count)
            .ok_or(TooManyRanges)?;
        self.available.remove(range.frames_touched())?;
        *slot = Reservation { range, reason };
        self.reservation_count += 1;
        Ok(())
    }

    /// Usable RAM below 4 GiB, in whole frames.
    pub fn usable(&self) -> &[PhysRange] {
        self.usable.ranges()
    }

    /// Usable RAM minus the reservations.
    pub fn available(&self) -> &[PhysRange] {
        self.available.ranges()
    }

    pub fn reservations(&self) -> &[Reservation] {
        &self.reservations[..self.reservation_count]
    }

    pub fn usable_frames(&self) -> usize {
        (self.usable.bytes() / FRAME_SIZE) as usize
    }

    pub fn available_frames(&self) -> usize {
        (self.available.bytes() / FRAME_SIZE) as usize
    }

    /// Frames of usable RAM that a reservation covers.
    pub fn reserved_frames(&self) -> usize {
        self.usable_frames() - self.available_frames()
    }

    /// One past the last usable frame: the frame allocator covers `[0, end)`.
    pub fn end(&self) -> u64 {
        self.usable().last().map_or(0, |range| range.end)
    }

    /// The lowest `length` bytes at `align`, at or above `minimum`, that are
    /// available: where the frame allocator can put its bitmaps.
    pub fn find_available(&self, length: u64, minimum: u64) -> Option<u64> {
        self.available().iter().find_map(|range| {
            let start = range.start.max(minimum).next_multiple_of(FRAME_SIZE);
            (start.checked_add(length)? <= range.end).then_some(start)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    fn usable(start: u64, length: u64) -> MapEntry {
        MapEntry {
            start,
            length,
            usable: true,
        }
    }

    fn reserved(start: u64, length: u64) -> MapEntry {
        MapEntry {
            start,
            length,
            usable: false,
        }
    }

    fn map(entries: &[MapEntry]) -> MemoryMap {
        MemoryMap::from_entries(entries.iter().copied()).unwrap()
    }

    #[test]
    fn qemu_128m_map_is_cleaned() {
        // What QEMU's BIOS reports for -m 128M, in the order it reports it.
        let map = map(&[
            usable(0, 0x9fc00),
            reserved(0x9fc00, 0x400),
            reserved(0xf0000, 0x10000),
            usable(MIB, 0x7ee0000),
            reserved(0x7fe0000, 0x20000),
            reserved(0xfffc0000, 0x40000),
        ]);
        assert_eq!(
            map.usable(),
            [PhysRange::new(0, 0x9f000), PhysRange::new(MIB, 0x7fe0000)]
        );
        assert_eq!(map.end(), 0x7fe0000);
        assert_eq!(map.discarded_bytes, 0xc00, "the partial frame below 640K");
        assert_eq!(map.unreachable_bytes, 0);
    }

    #[test]
    fn unsorted_overlapping_and_empty_entries() {
        let map = map(&[
            usable(8 * MIB, 4 * MIB),
            usable(2 * MIB, 0),
            usable(MIB, 4 * MIB),
            usable(4 * MIB, 2 * MIB), // overlaps the one above
            usable(6 * MIB, MIB),     // touches it
        ]);
        assert_eq!(
            map.usable(),
            [
                PhysRange::new(MIB, 7 * MIB),
                PhysRange::new(8 * MIB, 12 * MIB)
            ]
        );
        assert_eq!(map.usable_frames(), (10 * MIB / FRAME_SIZE) as usize);
    }

    #[test]
    fn reserved_wins_where_it_overlaps_usable() {
        let map = map(&[usable(0, 16 * MIB), reserved(4 * MIB + 100, 200)]);
        assert_eq!(
            map.usable(),
            [
                PhysRange::new(0, 4 * MIB),
                PhysRange::new(4 * MIB + FRAME_SIZE, 16 * MIB)
            ]
        );
    }

    #[test]
    fn partial_pages_are_dropped() {
        let map = map(&[usable(0x1001, 0x3000), usable(0x10000, 0x800)]);
        assert_eq!(map.usable(), [PhysRange::new(0x2000, 0x4000)]);
        assert_eq!(map.discarded_bytes, 0x3000 + 0x800 - 0x2000);
    }

    #[test]
    fn ram_above_4_gib_is_counted_and_left_out() {
        let map = map(&[
            usable(MIB, 3 * 1024 * MIB - MIB),
            usable(ADDRESS_LIMIT - 2 * MIB, 4 * MIB), // straddles 4 GiB
            usable(ADDRESS_LIMIT, 4096 * MIB),
        ]);
        assert_eq!(map.end(), ADDRESS_LIMIT);
        assert_eq!(map.unreachable_bytes, 2 * MIB + 4096 * MIB);
        assert_eq!(
            map.usable().last(),
            Some(&PhysRange::new(ADDRESS_LIMIT - 2 * MIB, ADDRESS_LIMIT))
        );
    }

    #[test]
    fn reservations_take_whole_frames_and_keep_their_reason() {
        let mut map = map(&[usable(0, 8 * MIB)]);
        let before = map.available_frames();
        map.reserve(PhysRange::new(0, MIB), "first MiB").unwrap();
        map.reserve(PhysRange::new(0x200010, 0x200020), "boot information")
            .unwrap();
        map.reserve(PhysRange::new(MIB / 2, MIB + 1), "overlapping")
            .unwrap();
        assert_eq!(map.reservations().len(), 3);
        assert_eq!(map.reservations()[1].reason, "boot information");
        // 256 frames + 1 frame + 1 frame beyond the first MiB.
        assert_eq!(map.reserved_frames(), 258);
        assert_eq!(map.available_frames(), before - 258);
        assert!(!map.available.contains(0x200000));
        assert_eq!(
            map.find_available(2 * FRAME_SIZE, MIB),
            Some(MIB + FRAME_SIZE)
        );
        assert_eq!(map.find_available(64 * MIB, 0), None);
    }

    #[test]
    fn range_set_merges_and_splits() {
        let mut set = RangeSet::new();
        set.insert(PhysRange::new(10, 20)).unwrap();
        set.insert(PhysRange::new(30, 40)).unwrap();
        set.insert(PhysRange::new(20, 30)).unwrap();
        assert_eq!(set.ranges(), [PhysRange::new(10, 40)]);
        set.remove(PhysRange::new(15, 25)).unwrap();
        assert_eq!(
            set.ranges(),
            [PhysRange::new(10, 15), PhysRange::new(25, 40)]
        );
        set.remove(PhysRange::new(0, 100)).unwrap();
        assert!(set.ranges().is_empty());
        let mut full = RangeSet::new();
        for i in 0..MAX_RANGES as u64 {
            full.insert(PhysRange::new(i * 10, i * 10 + 5)).unwrap();
        }
        assert_eq!(
            full.insert(PhysRange::new(10_000, 10_001)),
            Err(TooManyRanges)
        );
    }
}
