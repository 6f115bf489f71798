//! Map and unmap: one page-table entry, written or cleared.
//!
//! A mapping is one entry of a page table: the frame's address in its top
//! 20 bits, flags in the low 12. To map a page, find the entry that
//! translates it and write it; to unmap, clear it and tell the TLB:
//!
//! ```text
//!  map(page, frame, flags)                 unmap(page)
//!    entry(page, create)  -> the entry       entry(page, no create) -> the entry
//!    present already?     -> AlreadyMapped   not present?  -> NotMapped
//!    entry = frame | P | flags | software    entry = 0; flush(page)  (invlpg)
//! ```
//!
//! *Finding* the entry is the walk (`page_table.rs`, lab 3.1), which may have
//! to make the page table on the way. This file does not care how: it asks a
//! [`PageEntries`] for the entry, and for the flush. The kernel's address
//! space answers with the real walk and `invlpg`; the host tests answer with
//! a double (a map from page to entry, and a simulated TLB that keeps every
//! translation it was given until it is flushed, as the CPU's does), so map
//! and unmap are checked without the walk, and a missing flush shows up as a
//! stale read.
//!
//! Of the flags, the CPU reads P (present), RW (writable) and US (user),
//! and sets A and D (accessed, dirty). Bits 9–11 it ignores: they are the
//! OS's ([`SoftwareBits`]). Strata uses bit 9 to remember that a frame was
//! allocated *for* the mapping, so that whoever unmaps the page gives the
//! frame back to the frame allocator.

use crate::address::{Frame, Page, PhysAddr};
use bitflags::bitflags;
use core::fmt;
use x86::bits32::paging::{PTEntry, PTFlags};

bitflags! {
    /// The bits of a page-table entry that the CPU ignores, for the OS's
    /// own use (bits 9–11).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct SoftwareBits: u32 {
        /// The frame was allocated for this mapping: whoever unmaps the
        /// page gives it back to the frame allocator.
        const OWNED_FRAME = 1 << 9;
    }
}

/// What [`map`] and [`unmap`] need from an address space: the entry that
/// maps a page, and the TLB.
pub trait PageEntries {
    /// The page-table entry that maps `page`. If no page table covers the
    /// page yet, `create` makes one (all its entries not present). `None`:
    /// there is no table and `create` is not set, or no frame for one.
    fn entry(&mut self, page: Page, create: bool) -> Option<&mut PTEntry>;

    /// Forgets any translation of `page` the CPU may have cached (the TLB's
    /// `invlpg`).
    fn flush(&mut self, page: Page);
}

/// Why a mapping could not be changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapError {
    /// The page is mapped already (to this frame); unmap it first.
    AlreadyMapped { page: Page, frame: Frame },
    /// The page is not mapped.
    NotMapped { page: Page },
    /// No frame for a new page table.
    OutOfFrames,
}

impl fmt::Display for MapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::AlreadyMapped { page, frame } => write!(
                f,
                "{page:#010x} is already mapped (to frame {frame:#010x}); unmap it first"
            ),
            Self::NotMapped { page } => write!(f, "{page:#010x} is not mapped"),
            Self::OutOfFrames => write!(f, "no free frame for a page table"),
        }
    }
}

/// What [`unmap`] took away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unmapped {
    pub frame: Frame,
    /// The frame was the mapping's own: the caller gives it back.
    pub owned: bool,
}

/// The frame a present entry maps.
pub fn frame_of(entry: PTEntry) -> Frame {
    Frame::containing(PhysAddr::new(entry.address().as_usize()))
}

/// Whether a present entry's frame is the mapping's own
/// ([`SoftwareBits::OWNED_FRAME`]): its unmapper frees it.
pub fn is_owned(entry: PTEntry) -> bool {
    SoftwareBits::from_bits_truncate(entry.0).contains(SoftwareBits::OWNED_FRAME)
}

/// Maps `page` to `frame` with `flags`, plus the `software` bits.
///
/// The entry comes from `entries`, its page table made if needed (no frame
/// for one: `OutOfFrames`). An entry that is present already is refused
/// (`AlreadyMapped`, naming its frame) and left as it is: a mapping is
/// never overwritten behind its owner's back. No flush: the CPU caches only
/// present translations, and this page had none.
pub fn map(
    entries: &mut impl PageEntries, page: Page, frame: Frame, flags: PTFlags,
    software: SoftwareBits,
) -> Result<(), MapError> {
    // LAB 3.2 BEGIN: take the entry, creating its table (none: OutOfFrames); refuse a present entry (AlreadyMapped with its frame, frame_of); write the frame's address with P, the flags and the software bits
    let entry = entries.entry(page, true).ok_or(MapError::OutOfFrames)?;
    if entry.flags().contains(PTFlags::P) {
        return Err(MapError::AlreadyMapped {
            page,
            frame: frame_of(*entry),
        });
    }
    let address = frame.start().as_usize().into();
    *entry = PTEntry(PTEntry::new(address, flags | PTFlags::P).0 | software.bits());
    Ok(())
    // LAB END
}

/// Removes the mapping of `page`: clears its entry, then flushes the page
/// from the TLB, which may still hold the old translation. Returns the
/// frame, and whether it was the mapping's own (then the caller frees it).
/// Page tables stay, even when empty.
pub fn unmap(entries: &mut impl PageEntries, page: Page) -> Result<Unmapped, MapError> {
    // LAB 3.2 BEGIN: take the entry without creating a table; none, or not present: NotMapped; clear it, flush the page, and say which frame it had and whether it was owned (is_owned)
    let not_mapped = MapError::NotMapped { page };
    let entry = entries.entry(page, false).ok_or(not_mapped)?;
    let old = *entry;
    if !old.flags().contains(PTFlags::P) {
        return Err(not_mapped);
    }
    *entry = PTEntry(0);
    entries.flush(page);
    Ok(Unmapped {
        frame: frame_of(old),
        owned: is_owned(old),
    })
    // LAB END
}

/// Maps `count` pages from `page` to consecutive frames from `frame`, all
/// or none (like JOS's `boot_map_region`, with a way back): if a page is
/// mapped already, or a table cannot be made, the pages this call mapped so
/// far are unmapped again and the error is returned. (A table made on the
/// way stays, as tables always do.)
pub fn map_range(
    entries: &mut impl PageEntries, page: Page, frame: Frame, count: usize, flags: PTFlags,
) -> Result<(), MapError> {
    // LAB 3.2 BEGIN: map page by page with `map`; on the first error, unmap the pages mapped so far, then return that error
    for index in 0..count {
        let mapped = map(
            entries,
            page.add(index),
            frame.add(index),
            flags,
            SoftwareBits::empty(),
        );
        if let Err(error) = mapped {
            for undo in 0..index {
                let _ = unmap(entries, page.add(undo));
            }
            return Err(error);
        }
    }
    Ok(())
    // LAB END
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::{Indices, VirtAddr, PAGE_SIZE, TABLE_SPAN};
    use proptest::prelude::*;
    use std::collections::{BTreeMap, BTreeSet, HashMap};

    /// The entries without the walk: a map from page to entry, page tables
    /// as a set of directory indices with a budget of frames for new ones,
    /// and a TLB.
    struct Entries {
        entries: HashMap<Page, PTEntry>,
        tables: BTreeSet<usize>,
        frames_for_tables: usize,
        /// The simulated TLB: translations read since their page's last
        /// flush. [`access`](Self::access) uses them before the entries.
        tlb: HashMap<Page, PTEntry>,
        flushed: Vec<Page>,
    }

    impl Entries {
        fn new(frames_for_tables: usize) -> Self {
            Self {
                entries: HashMap::new(),
                tables: BTreeSet::new(),
                frames_for_tables,
                tlb: HashMap::new(),
                flushed: Vec::new(),
            }
        }

        /// The bits of `page`'s entry as they are in memory (0 if never
        /// written).
        fn peek(&self, page: Page) -> u32 {
            self.entries.get(&page).map_or(0, |entry| entry.0)
        }

        /// What an access to `page` reaches, as the MMU finds it: the TLB's
        /// translation if it holds one, else the entry, which the TLB then
        /// keeps if it is present.
        fn access(&mut self, page: Page) -> Option<Frame> {
            if let Some(&cached) = self.tlb.get(&page) {
                return Some(frame_of(cached));
            }
            let entry = PTEntry(self.peek(page));
            if !entry.flags().contains(PTFlags::P) {
                return None;
            }
            self.tlb.insert(page, entry);
            Some(frame_of(entry))
        }
    }

    impl PageEntries for Entries {
        fn entry(&mut self, page: Page, create: bool) -> Option<&mut PTEntry> {
            let table = Indices::of(page.start()).directory;
            if !self.tables.contains(&table) {
                if !create || self.frames_for_tables == 0 {
                    return None;
                }
                self.frames_for_tables -= 1;
                self.tables.insert(table);
            }
            Some(self.entries.entry(page).or_insert(PTEntry(0)))
        }

        fn flush(&mut self, page: Page) {
            self.tlb.remove(&page);
            self.flushed.push(page);
        }
    }

    fn page(address: usize) -> Page {
        Page::from_start(VirtAddr::new(address)).expect("page-aligned")
    }

    fn frame(address: usize) -> Frame {
        Frame::from_start(PhysAddr::new(address)).expect("frame-aligned")
    }

    /// The bits `map` must write.
    fn entry(frame: Frame, flags: PTFlags, software: SoftwareBits) -> u32 {
        PTEntry::new(frame.start().as_usize().into(), flags | PTFlags::P).0 | software.bits()
    }

    #[test]
    fn map_writes_the_entry_and_unmap_clears_and_flushes_it() {
        let mut entries = Entries::new(4);
        let (read_write, read_only) = (page(0xD000_0000), page(0xD000_1000));
        map(
            &mut entries,
            read_write,
            frame(0x0012_3000),
            PTFlags::RW,
            SoftwareBits::empty(),
        )
        .unwrap();
        map(
            &mut entries,
            read_only,
            frame(0x0045_6000),
            PTFlags::empty(),
            SoftwareBits::OWNED_FRAME,
        )
        .unwrap();
        assert_eq!(
            entries.peek(read_write),
            entry(frame(0x0012_3000), PTFlags::RW, SoftwareBits::empty())
        );
        assert_eq!(
            entries.peek(read_only),
            entry(
                frame(0x0045_6000),
                PTFlags::empty(),
                SoftwareBits::OWNED_FRAME
            ),
            "read-only, owned"
        );
        assert!(entries.flushed.is_empty(), "mapping needs no flush");
        assert_eq!(entries.access(read_write), Some(frame(0x0012_3000)));
        assert_eq!(
            unmap(&mut entries, read_write),
            Ok(Unmapped {
                frame: frame(0x0012_3000),
                owned: false
            })
        );
        assert_eq!(
            unmap(&mut entries, read_only),
            Ok(Unmapped {
                frame: frame(0x0045_6000),
                owned: true
            })
        );
        assert_eq!(entries.peek(read_write), 0);
        assert_eq!(entries.peek(read_only), 0);
        assert_eq!(entries.flushed, vec![read_write, read_only]);
        assert_eq!(
            entries.access(read_write),
            None,
            "the TLB forgot the translation it held"
        );
        assert_eq!(entries.tables.len(), 1, "one table, made once, kept");
    }

    #[test]
    fn mistakes_are_errors_that_change_nothing() {
        let mut entries = Entries::new(1);
        let mapped = page(0x1000);
        map(
            &mut entries,
            mapped,
            frame(0x5000),
            PTFlags::empty(),
            SoftwareBits::OWNED_FRAME,
        )
        .unwrap();
        let before = entries.peek(mapped);
        assert_eq!(
            map(
                &mut entries,
                mapped,
                frame(0x6000),
                PTFlags::RW,
                SoftwareBits::empty()
            ),
            Err(MapError::AlreadyMapped {
                page: mapped,
                frame: frame(0x5000)
            })
        );
        assert_eq!(entries.peek(mapped), before, "not overwritten");
        // An empty entry in a table that exists, and a page with no table.
        for missing in [page(0x2000), page(0x8000_0000)] {
            assert_eq!(
                unmap(&mut entries, missing),
                Err(MapError::NotMapped { page: missing })
            );
        }
        assert_eq!(entries.tables.len(), 1, "unmap makes no table");
        // The one frame for tables is spent: a page in another 4 MiB
        // cannot be mapped.
        assert_eq!(
            map(
                &mut entries,
                page(0x0040_0000),
                frame(0x7000),
                PTFlags::RW,
                SoftwareBits::empty()
            ),
            Err(MapError::OutOfFrames)
        );
        assert!(entries.flushed.is_empty(), "nothing was unmapped");
        assert_eq!(
            unmap(&mut entries, mapped),
            Ok(Unmapped {
                frame: frame(0x5000),
                owned: true
            })
        );
        assert_eq!(entries.flushed, vec![mapped], "one flush, for the unmap");
    }

    #[test]
    fn unmap_drops_the_translation_the_tlb_holds() {
        let mut entries = Entries::new(1);
        let scratch = page(0xE000_0000);
        map(
            &mut entries,
            scratch,
            frame(0x9000),
            PTFlags::RW,
            SoftwareBits::empty(),
        )
        .unwrap();
        assert_eq!(entries.access(scratch), Some(frame(0x9000)), "now cached");
        unmap(&mut entries, scratch).unwrap();
        assert_eq!(entries.access(scratch), None, "a stale translation");
        map(
            &mut entries,
            scratch,
            frame(0xA000),
            PTFlags::RW,
            SoftwareBits::empty(),
        )
        .unwrap();
        assert_eq!(entries.access(scratch), Some(frame(0xA000)));
    }

    #[test]
    fn map_range_is_all_or_nothing() {
        let mut entries = Entries::new(2);
        map(
            &mut entries,
            page(0x5000),
            frame(0x9000),
            PTFlags::RW,
            SoftwareBits::empty(),
        )
        .unwrap();
        assert_eq!(
            map_range(&mut entries, page(0x1000), frame(0x1000), 8, PTFlags::RW),
            Err(MapError::AlreadyMapped {
                page: page(0x5000),
                frame: frame(0x9000)
            })
        );
        for address in (0x1000..0x5000).step_by(PAGE_SIZE) {
            assert_eq!(entries.peek(page(address)), 0, "{address:#x}");
        }
        assert_eq!(
            entries.peek(page(0x5000)),
            entry(frame(0x9000), PTFlags::RW, SoftwareBits::empty())
        );
        // Across into a third 4 MiB, with frames for one more table only:
        // the pages in the second are taken back.
        let across = 2 * TABLE_SPAN - 2 * PAGE_SIZE;
        assert_eq!(
            map_range(&mut entries, page(across), frame(0x10_0000), 4, PTFlags::RW),
            Err(MapError::OutOfFrames)
        );
        for index in 0..2 {
            assert_eq!(entries.peek(page(across).add(index)), 0);
        }
        assert_eq!(
            entries.flushed,
            [0x1000, 0x2000, 0x3000, 0x4000, across, across + PAGE_SIZE].map(page)
        );
        // And a range that fits maps consecutive frames.
        map_range(
            &mut entries,
            page(0x1000),
            frame(0x2_0000),
            4,
            PTFlags::empty(),
        )
        .unwrap();
        for index in 0..4 {
            assert_eq!(
                entries.peek(page(0x1000).add(index)),
                entry(
                    frame(0x2_0000).add(index),
                    PTFlags::empty(),
                    SoftwareBits::empty()
                )
            );
        }
    }

    /// One step of the property test below.
    #[derive(Debug, Clone)]
    enum Step {
        Map {
            slot: usize,
            frame: usize,
            owned: bool,
        },
        Unmap {
            slot: usize,
        },
        Access {
            slot: usize,
        },
        MapRange {
            slot: usize,
            count: usize,
            frame: usize,
        },
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            (0..48usize, 0..4096usize, any::<bool>()).prop_map(|(slot, frame, owned)| Step::Map {
                slot,
                frame,
                owned
            }),
            (0..48usize).prop_map(|slot| Step::Unmap { slot }),
            (0..48usize).prop_map(|slot| Step::Access { slot }),
            (0..48usize, 1..6usize, 0..4096usize).prop_map(|(slot, count, frame)| Step::MapRange {
                slot,
                count,
                frame
            }),
        ]
    }

    /// 48 pages in runs of 6, a run per 4 MiB table (so ranges cross
    /// into the next table, and tables run out).
    fn page_of(slot: usize) -> Page {
        page((slot / 6) * TABLE_SPAN * 3 + TABLE_SPAN - 3 * PAGE_SIZE + (slot % 6) * PAGE_SIZE)
    }

    /// What the model expects of mapping `page`, and does it: tables it
    /// needs are made while frames last, as the walk makes them.
    fn model_map(
        model: &mut BTreeMap<Page, (Frame, bool)>, tables: &mut BTreeSet<usize>,
        budget: &mut usize, page: Page, frame: Frame, owned: bool,
    ) -> Result<(), MapError> {
        let table = Indices::of(page.start()).directory;
        if !tables.contains(&table) {
            if *budget == 0 {
                return Err(MapError::OutOfFrames);
            }
            *budget -= 1;
            tables.insert(table);
        }
        if let Some(&(frame, _)) = model.get(&page) {
            return Err(MapError::AlreadyMapped { page, frame });
        }
        model.insert(page, (frame, owned));
        Ok(())
    }

    proptest! {
        /// Random maps, unmaps, range maps and accesses agree with a map
        /// from page to frame; accesses go through the simulated TLB, so an
        /// unmap that does not flush is caught by the next access.
        #[test]
        fn map_and_unmap_match_a_model(
            steps in prop::collection::vec(step(), 1..120),
            budget in 0..10usize,
        ) {
            let mut entries = Entries::new(budget);
            let mut model: BTreeMap<Page, (Frame, bool)> = BTreeMap::new();
            let (mut tables, mut budget) = (BTreeSet::new(), budget);
            for step in steps {
                match step {
                    Step::Map { slot, frame, owned } => {
                        let (page, frame) = (page_of(slot), Frame::from_number(frame));
                        let software = if owned { SoftwareBits::OWNED_FRAME } else { SoftwareBits::empty() };
                        let expected = model_map(&mut model, &mut tables, &mut budget, page, frame, owned);
                        prop_assert_eq!(map(&mut entries, page, frame, PTFlags::RW, software), expected);
                    }
                    Step::Unmap { slot } => {
                        let page = page_of(slot);
                        let expected = match model.remove(&page) {
                            Some((frame, owned)) => Ok(Unmapped { frame, owned }),
                            None => Err(MapError::NotMapped { page }),
                        };
                        prop_assert_eq!(unmap(&mut entries, page), expected);
                    }
                    Step::Access { slot } => {
                        let page = page_of(slot);
                        let expected = model.get(&page).map(|&(frame, _)| frame);
                        prop_assert_eq!(entries.access(page), expected, "{:?}", page);
                    }
                    Step::MapRange { slot, count, frame } => {
                        let (first, frame) = (page_of(slot), Frame::from_number(frame));
                        let mut expected = Ok(());
                        for index in 0..count {
                            let (page, frame) = (first.add(index), frame.add(index));
                            if let Err(error) = model_map(&mut model, &mut tables, &mut budget, page, frame, false) {
                                for undo in 0..index {
                                    model.remove(&first.add(undo));
                                }
                                expected = Err(error);
                                break;
                            }
                        }
                        prop_assert_eq!(map_range(&mut entries, first, frame, count, PTFlags::RW), expected);
                    }
                }
                prop_assert_eq!(&entries.tables, &tables);
                for (&page, entry) in &entries.entries {
                    let present = entry.flags().contains(PTFlags::P);
                    prop_assert_eq!(present, model.contains_key(&page), "{:?}", page);
                }
            }
        }
    }
}
