//! Two-level page tables: how a 32-bit virtual address becomes physical.
//!
//! With paging on (CR0.PG), every address the CPU uses is *virtual*. The
//! MMU splits it in three and walks two tables to find the physical frame:
//!
//! ```text
//!  31            22 21            12 11                 0
//! +----------------+----------------+--------------------+
//! | directory index|  table index   |   offset in page   |
//! |   (10 bits)    |   (10 bits)    |     (12 bits)      |
//! +----------------+----------------+--------------------+
//!         |                 |                  |
//!  CR3 -> page directory    |                  |
//!        [1024 entries] ----+-> page table     |
//!          each covers 4 MiB    [1024 entries] +-> frame + offset
//!                                 each covers 4 KiB
//! ```
//!
//! An entry is a frame address (its top 20 bits) plus flags in the low 12:
//! P (present), RW (writable), US (user), A/D (accessed, dirty, set by the
//! CPU), and bits 9–11, which the CPU ignores and the OS may use. Strata uses
//! bit 9 to remember that a frame was allocated for the mapping and must go
//! back to the frame allocator when the page is unmapped.
//!
//! Everything below goes through **one walk**, `AddressSpace::walk`: the
//! counterpart of xv6's `walkpgdir(pgdir, va, alloc)`. It finds the entry
//! that maps a page, and makes the missing page table on the way when asked
//! to. `translate` reads that entry, `map` writes it, `unmap` clears it.
//!
//! The types come from the `x86` crate (`bits32::paging`); this file adds the
//! walk. It never touches memory itself: a [`TableMemory`] hands it the tables
//! by frame and supplies frames for new ones. The kernel's memory reaches
//! tables through the identity map (`kernel_space.rs`); the host tests below
//! use a simulated physical memory. That is how the same walker is tested on
//! the host and used in the kernel.

use crate::address::{Frame, Indices, Page, PhysAddr, VirtAddr};
use bitflags::bitflags;
use core::fmt;
use x86::bits32::paging::{PDEntry, PDFlags, PTEntry, PTFlags, PD, PT};

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

/// Where page tables live, seen from the code that edits them.
pub trait TableMemory {
    /// The page directory in `frame`.
    fn directory(&mut self, frame: Frame) -> &mut PD;
    /// The page table in `frame`.
    fn table(&mut self, frame: Frame) -> &mut PT;
    /// A frame for a new page table (its contents are overwritten).
    fn allocate_table_frame(&mut self) -> Option<Frame>;
    /// Forgets any cached translation of `page` (the TLB's `invlpg`).
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

/// Where a translation stopped, when it did not reach a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// The directory entry is empty: no page table covers these 4 MiB.
    Table { directory_index: usize },
    /// The table exists but its entry is empty.
    Page {
        directory_index: usize,
        table_index: usize,
    },
}

/// A virtual address that is mapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Translation {
    pub physical: PhysAddr,
    pub flags: PTFlags,
    /// The frame was allocated for this mapping.
    pub owned: bool,
}

/// What [`AddressSpace::unmap`] took away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unmapped {
    pub frame: Frame,
    /// The frame was the mapping's own: the caller gives it back.
    pub owned: bool,
}

/// How much an address space maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpaceCounts {
    /// Mapped pages.
    pub pages: usize,
    /// Page tables (the directory not counted).
    pub tables: usize,
}

/// A run of mapped pages with consecutive frames and the same flags, as
/// [`AddressSpace::for_each_run`] reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MappedRun {
    pub start: Page,
    pub frame: Frame,
    pub pages: usize,
    pub flags: PTFlags,
}

/// The place of one page-table entry: the table's frame and the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct EntrySlot {
    table: Frame,
    index: usize,
}

/// The flags that matter for permissions and reports: present, writable
/// and user (accessed and dirty change under the program's feet).
fn permission_bits(flags: PTFlags) -> PTFlags {
    flags & (PTFlags::P | PTFlags::RW | PTFlags::US)
}

/// One address space: a page directory and the tables under it.
pub struct AddressSpace<M> {
    directory: Frame,
    memory: M,
    counts: SpaceCounts,
}

impl<M: TableMemory> AddressSpace<M> {
    /// An empty address space: a directory with no tables.
    pub fn new(mut memory: M) -> Result<Self, MapError> {
        let directory = memory.allocate_table_frame().ok_or(MapError::OutOfFrames)?;
        memory.directory(directory).fill(PDEntry(0));
        Ok(Self {
            directory,
            memory,
            counts: SpaceCounts {
                pages: 0,
                tables: 0,
            },
        })
    }

    /// The page directory's frame: what goes into CR3.
    pub fn directory_frame(&self) -> Frame {
        self.directory
    }

    pub fn counts(&self) -> SpaceCounts {
        self.counts
    }

    /// The walk: the slot of the page-table entry that maps `page`.
    ///
    /// The directory entry for `page` names its page table. If that entry is
    /// not present, there is no table yet: with `create` the walk takes a
    /// frame, zeroes it (a recycled frame holds garbage, and a garbage entry
    /// would map garbage) and puts it in the directory; without `create`, or
    /// with no frame left, there is no slot (`None`).
    fn walk(&mut self, page: Page, create: bool) -> Option<EntrySlot> {
        // LAB 3.1 BEGIN: split the address; follow the directory entry to its table (table_frame); if there is none and `create`, allocate a frame, zero it, enter it in the directory (P | RW) and count it; return the slot
        let indices = Indices::of(page.start());
        let table = match self.table_frame(indices.directory) {
            Some(table) => table,
            None if create => {
                let table = self.memory.allocate_table_frame()?;
                self.memory.table(table).fill(PTEntry(0));
                // The directory entry is writable: the table's entries decide.
                self.memory.directory(self.directory)[indices.directory] =
                    PDEntry::new(table.start().as_usize().into(), PDFlags::P | PDFlags::RW);
                self.counts.tables += 1;
                table
            }
            None => return None,
        };
        Some(EntrySlot {
            table,
            index: indices.table,
        })
        // LAB END
    }

    fn entry(&mut self, slot: EntrySlot) -> &mut PTEntry {
        &mut self.memory.table(slot.table)[slot.index]
    }

    /// Where `address` is mapped to, with the page's flags, or where the
    /// walk stopped.
    pub fn translate(&mut self, address: VirtAddr) -> Result<Translation, Missing> {
        let indices = Indices::of(address);
        let slot = self
            .walk(Page::containing(address), false)
            .ok_or(Missing::Table {
                directory_index: indices.directory,
            })?;
        let entry = *self.entry(slot);
        if !entry.flags().contains(PTFlags::P) {
            return Err(Missing::Page {
                directory_index: indices.directory,
                table_index: indices.table,
            });
        }
        Ok(Translation {
            physical: PhysAddr::new(entry.address().as_usize() + indices.offset),
            flags: entry.flags(),
            owned: is_owned(entry),
        })
    }

    /// Maps `page` to `frame` with `flags`.
    pub fn map(&mut self, page: Page, frame: Frame, flags: PTFlags) -> Result<(), MapError> {
        self.map_with(page, frame, flags, SoftwareBits::empty())
    }

    /// Like [`map`](Self::map), and marks the frame as the mapping's own:
    /// [`unmap`](Self::unmap) will say it must be freed.
    pub fn map_owned(&mut self, page: Page, frame: Frame, flags: PTFlags) -> Result<(), MapError> {
        self.map_with(page, frame, flags, SoftwareBits::OWNED_FRAME)
    }

    /// Maps `count` pages from `page` to consecutive frames from `frame`,
    /// one walk per page. If one is mapped already, or a table cannot be
    /// made, the pages mapped so far are unmapped again: all the pages or
    /// none (a table made on the way stays, as tables always do).
    pub fn map_range(
        &mut self, page: Page, frame: Frame, count: usize, flags: PTFlags,
    ) -> Result<(), MapError> {
        for index in 0..count {
            if let Err(error) = self.map(page.add(index), frame.add(index), flags) {
                for undo in 0..index {
                    let _ = self.unmap(page.add(undo));
                }
                return Err(error);
            }
        }
        Ok(())
    }

    /// Removes the mapping of `page` and flushes it from the TLB. Returns
    /// the frame it was mapped to, and whether that frame was the mapping's
    /// own (then the caller frees it). Page tables stay, even when empty.
    pub fn unmap(&mut self, page: Page) -> Result<Unmapped, MapError> {
        let not_mapped = MapError::NotMapped { page };
        let slot = self.walk(page, false).ok_or(not_mapped)?;
        let entry = *self.entry(slot);
        if !entry.flags().contains(PTFlags::P) {
            return Err(not_mapped);
        }
        *self.entry(slot) = PTEntry(0);
        self.memory.flush(page);
        self.counts.pages -= 1;
        Ok(Unmapped {
            frame: frame_of(entry),
            owned: is_owned(entry),
        })
    }

    /// Makes sure a page table covers `page`, allocating one if needed.
    pub fn ensure_table(&mut self, page: Page) -> Result<(), MapError> {
        self.walk(page, true)
            .map(|_| ())
            .ok_or(MapError::OutOfFrames)
    }

    /// Calls `visit` for each run of pages that are mapped to consecutive
    /// frames with the same permissions, in address order.
    pub fn for_each_run(&mut self, visit: &mut dyn FnMut(MappedRun)) {
        let mut run: Option<MappedRun> = None;
        for directory in 0..1024 {
            let Some(table) = self.table_frame(directory) else {
                continue;
            };
            for index in 0..1024 {
                let entry = self.memory.table(table)[index];
                if !entry.flags().contains(PTFlags::P) {
                    continue;
                }
                let indices = Indices {
                    directory,
                    table: index,
                    offset: 0,
                };
                let page = Page::containing(indices.address());
                let frame = frame_of(entry);
                let flags = permission_bits(entry.flags());
                match run.as_mut() {
                    Some(current)
                        if current.start.add(current.pages) == page
                            && current.frame.add(current.pages) == frame
                            && current.flags == flags =>
                    {
                        current.pages += 1;
                    }
                    _ => {
                        if let Some(done) = run.take() {
                            visit(done);
                        }
                        run = Some(MappedRun {
                            start: page,
                            frame,
                            pages: 1,
                            flags,
                        });
                    }
                }
            }
        }
        if let Some(done) = run {
            visit(done);
        }
    }

    /// The table memory (for the kernel to reach its frame source).
    pub fn memory(&mut self) -> &mut M {
        &mut self.memory
    }

    /// Maps `page` to `frame` with `flags`, plus `software` bits: the walk
    /// (making the table if needed), then one entry written.
    fn map_with(
        &mut self, page: Page, frame: Frame, flags: PTFlags, software: SoftwareBits,
    ) -> Result<(), MapError> {
        // LAB 3.2 BEGIN: walk to the entry, creating its table (OutOfFrames if that fails); refuse an entry that is present already; write frame, P, flags and software bits; count the page
        let slot = self.walk(page, true).ok_or(MapError::OutOfFrames)?;
        let existing = *self.entry(slot);
        if existing.flags().contains(PTFlags::P) {
            return Err(MapError::AlreadyMapped {
                page,
                frame: frame_of(existing),
            });
        }
        let address = frame.start().as_usize().into();
        *self.entry(slot) = PTEntry(PTEntry::new(address, flags | PTFlags::P).0 | software.bits());
        self.counts.pages += 1;
        Ok(())
        // LAB END
    }

    /// The frame of the page table for directory entry `directory`, if
    /// that entry is present.
    fn table_frame(&mut self, directory: usize) -> Option<Frame> {
        let entry = self.memory.directory(self.directory)[directory];
        entry
            .flags()
            .contains(PDFlags::P)
            .then(|| Frame::containing(PhysAddr::new(entry.address().as_usize())))
    }
}

/// The frame a present entry maps.
fn frame_of(entry: PTEntry) -> Frame {
    Frame::containing(PhysAddr::new(entry.address().as_usize()))
}

/// Whether a present entry's frame is the mapping's own
/// ([`SoftwareBits::OWNED_FRAME`]): its unmapper frees it.
fn is_owned(entry: PTEntry) -> bool {
    SoftwareBits::from_bits_truncate(entry.0).contains(SoftwareBits::OWNED_FRAME)
}

/// "read-write" or "read-only", for reports.
pub fn describe_flags(flags: PTFlags) -> &'static str {
    if flags.contains(PTFlags::RW) {
        "read-write"
    } else {
        "read-only"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::{PAGE_SIZE, TABLE_SPAN};
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    /// Physical memory for the tests: a few frames, addressed like real ones
    /// (frame `n` is at `BASE + n * 4096`), so the walker cannot tell.
    struct SimulatedMemory {
        frames: Vec<Box<[u32; 1024]>>,
        limit: usize,
        flushed: Vec<Page>,
    }

    const BASE: usize = 0x0040_0000;

    impl SimulatedMemory {
        fn new(limit: usize) -> Self {
            Self {
                frames: Vec::new(),
                limit,
                flushed: Vec::new(),
            }
        }

        fn words(&mut self, frame: Frame) -> &mut [u32; 1024] {
            let address = frame.start().as_usize();
            assert!(address >= BASE, "{frame:?}");
            &mut self.frames[(address - BASE) / PAGE_SIZE]
        }
    }

    impl TableMemory for SimulatedMemory {
        fn directory(&mut self, frame: Frame) -> &mut PD {
            let words = self.words(frame);
            // SAFETY: PD is 1024 transparent u32 entries, like `words`.
            unsafe { &mut *(words as *mut [u32; 1024] as *mut PD) }
        }

        fn table(&mut self, frame: Frame) -> &mut PT {
            let words = self.words(frame);
            // SAFETY: PT is 1024 transparent u32 entries, like `words`.
            unsafe { &mut *(words as *mut [u32; 1024] as *mut PT) }
        }

        fn allocate_table_frame(&mut self) -> Option<Frame> {
            if self.frames.len() == self.limit {
                return None;
            }
            // Garbage, like a real recycled frame: the walker must clear it.
            self.frames.push(Box::new([0xDEAD_BEEF; 1024]));
            Some(frame(BASE + (self.frames.len() - 1) * PAGE_SIZE))
        }

        fn flush(&mut self, page: Page) {
            self.flushed.push(page);
        }
    }

    fn space(limit: usize) -> AddressSpace<SimulatedMemory> {
        AddressSpace::new(SimulatedMemory::new(limit)).unwrap()
    }

    fn page(address: usize) -> Page {
        Page::from_start(VirtAddr::new(address)).expect("page-aligned")
    }

    fn frame(address: usize) -> Frame {
        Frame::from_start(PhysAddr::new(address)).expect("frame-aligned")
    }

    fn translate(
        space: &mut AddressSpace<SimulatedMemory>, address: usize,
    ) -> Result<Translation, Missing> {
        space.translate(VirtAddr::new(address))
    }

    /// What `unmap` returns for a page that was mapped to `address`.
    fn unmapped(address: usize, owned: bool) -> Result<Unmapped, MapError> {
        Ok(Unmapped {
            frame: frame(address),
            owned,
        })
    }

    fn counts(pages: usize, tables: usize) -> SpaceCounts {
        SpaceCounts { pages, tables }
    }

    /// Lab 3.1 alone: tables built by hand, so only the walk runs.
    #[test]
    fn the_walk_follows_hand_built_tables() {
        let mut space = space(8);
        let directory = space.directory_frame();
        let table = space.memory().allocate_table_frame().unwrap();
        let table_address = table.start().as_usize();
        space.memory().table(table).fill(PTEntry(0));
        // Directory entry 0x340 (0xD000_0000..) points at the table; its
        // entry 5 maps a frame read-only and entry 6 is left empty.
        space.memory().directory(directory)[0x340] =
            PDEntry::new(table_address.into(), PDFlags::P | PDFlags::RW);
        space.memory().table(table)[5] = PTEntry::new(0x0ABC_D000.into(), PTFlags::P);
        space.memory().table(table)[7] = PTEntry(
            PTEntry::new(0x0000_7000.into(), PTFlags::P | PTFlags::RW).0
                | SoftwareBits::OWNED_FRAME.bits(),
        );

        let read_only = translate(&mut space, 0xD000_5123).unwrap();
        assert_eq!(read_only.physical, PhysAddr::new(0x0ABC_D123));
        assert!(read_only.flags.contains(PTFlags::P) && !read_only.flags.contains(PTFlags::RW));
        assert!(!read_only.owned);
        let owned = translate(&mut space, 0xD000_7FFF).unwrap();
        assert_eq!(
            (owned.physical, owned.owned),
            (PhysAddr::new(0x0000_7FFF), true)
        );
        assert_eq!(
            translate(&mut space, 0xD000_6000),
            Err(Missing::Page {
                directory_index: 0x340,
                table_index: 6
            })
        );
        assert_eq!(
            translate(&mut space, 0xD040_5000),
            Err(Missing::Table {
                directory_index: 0x341
            })
        );
        // A directory entry that is not present is not followed, whatever
        // address it holds.
        space.memory().directory(directory)[0x341] =
            PDEntry::new(table_address.into(), PDFlags::RW);
        assert_eq!(
            translate(&mut space, 0xD040_5000),
            Err(Missing::Table {
                directory_index: 0x341
            })
        );
        assert_eq!(space.counts(), counts(0, 0), "a lookup makes no table");
    }

    /// The walk with `create` makes the missing table, zeroed, once.
    #[test]
    fn the_walk_makes_a_missing_table_once() {
        let mut space = space(8);
        space.ensure_table(page(0xD000_0000)).unwrap();
        assert_eq!(space.counts(), counts(0, 1));
        // Every entry of the new table is empty, though its frame held
        // garbage.
        for address in (0xD000_0000..0xD040_0000).step_by(PAGE_SIZE * 97) {
            assert!(matches!(
                translate(&mut space, address),
                Err(Missing::Page { .. })
            ));
        }
        space.ensure_table(page(0xD03F_F000)).unwrap();
        assert_eq!(space.counts(), counts(0, 1), "the same 4 MiB: no new table");
        let mut full = self::space(1);
        assert_eq!(
            full.ensure_table(page(0xD000_0000)),
            Err(MapError::OutOfFrames)
        );
    }

    #[test]
    fn map_translate_unmap_round_trip() {
        let mut space = space(8);
        assert_eq!(
            translate(&mut space, 0xD000_0123),
            Err(Missing::Table {
                directory_index: 0x340
            })
        );
        space
            .map(page(0xD000_0000), frame(0x0012_3000), PTFlags::RW)
            .unwrap();
        let translation = translate(&mut space, 0xD000_0123).unwrap();
        assert_eq!(translation.physical, PhysAddr::new(0x0012_3123));
        assert!(translation.flags.contains(PTFlags::P | PTFlags::RW));
        assert!(!translation.owned);
        assert_eq!(
            translate(&mut space, 0xD000_1000),
            Err(Missing::Page {
                directory_index: 0x340,
                table_index: 1
            })
        );
        assert_eq!(space.counts(), counts(1, 1));
        assert_eq!(space.unmap(page(0xD000_0000)), unmapped(0x0012_3000, false));
        assert_eq!(space.memory().flushed, vec![page(0xD000_0000)]);
        assert!(translate(&mut space, 0xD000_0123).is_err());
        assert_eq!(space.counts(), counts(0, 1), "the empty table stays");
    }

    #[test]
    fn mistakes_are_errors_that_change_nothing() {
        let mut space = space(8);
        space
            .map_owned(page(0x1000), frame(0x5000), PTFlags::empty())
            .unwrap();
        assert_eq!(
            space.map(page(0x1000), frame(0x6000), PTFlags::RW),
            Err(MapError::AlreadyMapped {
                page: page(0x1000),
                frame: frame(0x5000)
            })
        );
        assert_eq!(
            space.unmap(page(0x2000)),
            Err(MapError::NotMapped { page: page(0x2000) })
        );
        assert_eq!(
            space.unmap(page(0x8000_0000)),
            Err(MapError::NotMapped {
                page: page(0x8000_0000)
            })
        );
        let kept = translate(&mut space, 0x1000).unwrap();
        assert_eq!((kept.physical, kept.owned), (PhysAddr::new(0x5000), true));
        assert!(!kept.flags.contains(PTFlags::RW), "still read-only");
        assert_eq!(space.counts(), counts(1, 1));
        assert_eq!(space.unmap(page(0x1000)), unmapped(0x5000, true));
        assert_eq!(
            space.memory().flushed,
            vec![page(0x1000)],
            "one flush, for the unmap"
        );
    }

    #[test]
    fn map_range_is_all_or_nothing() {
        let mut space = space(8);
        space
            .map(page(0x0000_5000), frame(0x9000), PTFlags::RW)
            .unwrap();
        assert_eq!(
            space.map_range(page(0x0000_1000), frame(0x1000), 8, PTFlags::RW),
            Err(MapError::AlreadyMapped {
                page: page(0x5000),
                frame: frame(0x9000)
            })
        );
        assert_eq!(space.counts().pages, 1, "nothing of the range was mapped");
        // Out of frames for the second table: the first table's pages are
        // taken back.
        let mut small = self::space(2);
        let across = 0x0040_0000 - 2 * PAGE_SIZE;
        assert_eq!(
            small.map_range(page(across), frame(0x10_0000), 4, PTFlags::RW),
            Err(MapError::OutOfFrames)
        );
        assert_eq!(small.counts().pages, 0);
    }

    #[test]
    fn runs_join_consecutive_frames_with_equal_flags() {
        let mut space = space(8);
        space
            .map_range(page(0x0010_0000), frame(0x0010_0000), 3, PTFlags::empty())
            .unwrap();
        space
            .map_range(page(0x0010_3000), frame(0x0010_3000), 2, PTFlags::RW)
            .unwrap();
        // Across a table boundary, still one run.
        space
            .map_range(page(0x003F_F000), frame(0x0050_0000), 3, PTFlags::RW)
            .unwrap();
        let mut runs = Vec::new();
        space.for_each_run(&mut |run| runs.push((run.start, run.frame, run.pages)));
        assert_eq!(
            runs,
            vec![
                (page(0x0010_0000), frame(0x0010_0000), 3),
                (page(0x0010_3000), frame(0x0010_3000), 2),
                (page(0x003F_F000), frame(0x0050_0000), 3),
            ]
        );
    }

    proptest! {
        /// Random maps and unmaps agree with a plain map from page to frame,
        /// and every address translates as the model says.
        #[test]
        fn the_walker_matches_a_model(
            operations in prop::collection::vec((0usize..64, 0usize..4096, any::<bool>()), 1..200),
            probes in prop::collection::vec(0usize..64, 1..50),
        ) {
            // 64 candidate pages spread over several tables.
            let page_of = |slot: usize| page((slot % 8) * TABLE_SPAN * 37 + (slot / 8) * PAGE_SIZE * 129);
            let mut space = space(32);
            let mut model: BTreeMap<Page, Frame> = BTreeMap::new();
            for (slot, number, map) in operations {
                let page = page_of(slot);
                let frame = Frame::from_number(number);
                if map {
                    let result = space.map(page, frame, PTFlags::RW);
                    match model.get(&page) {
                        Some(&old) => prop_assert_eq!(result, Err(MapError::AlreadyMapped { page, frame: old })),
                        None => {
                            prop_assert_eq!(result, Ok(()));
                            model.insert(page, frame);
                        }
                    }
                } else {
                    let result = space.unmap(page);
                    match model.remove(&page) {
                        Some(old) => prop_assert_eq!(result, Ok(Unmapped { frame: old, owned: false })),
                        None => prop_assert_eq!(result, Err(MapError::NotMapped { page })),
                    }
                }
                prop_assert_eq!(space.counts().pages, model.len());
            }
            for slot in probes {
                let address = page_of(slot).start() + 0x123;
                match model.get(&page_of(slot)) {
                    Some(frame) => prop_assert_eq!(space.translate(address).map(|t| t.physical), Ok(frame.start() + 0x123)),
                    None => prop_assert!(space.translate(address).is_err()),
                }
            }
            let mut mapped = 0;
            space.for_each_run(&mut |run| mapped += run.pages);
            prop_assert_eq!(mapped, model.len());
        }
    }
}
