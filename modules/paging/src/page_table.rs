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
//! The types come from the `x86` crate (`bits32::paging`); this file adds the
//! walk. It never touches memory itself: a [`TableMemory`] hands it the tables
//! by frame address and supplies frames for new ones. The kernel's memory
//! reaches tables through the identity map (`kernel_space.rs`); the host tests
//! below use a simulated physical memory. That is how the same walker is
//! tested on the host and used in the kernel.

use core::fmt;
use x86::bits32::paging::{pd_index, pt_index, PDEntry, PDFlags, PTEntry, PTFlags, VAddr, PD, PT};

/// Bytes in a page (and in a frame).
pub const PAGE_SIZE: usize = 4096;
/// Bytes one page-directory entry covers: 1024 pages.
pub const TABLE_SPAN: usize = PAGE_SIZE * 1024;
/// Bit 9 of a page-table entry, "available to software": set when the frame
/// was allocated for this mapping, so [`AddressSpace::unmap`] reports that it
/// should be given back.
const OWNED_FRAME: u32 = 1 << 9;

/// The directory index, table index and offset of a virtual address.
pub fn split(address: usize) -> (usize, usize, usize) {
    let virtual_address = VAddr::from_usize(address);
    (
        pd_index(virtual_address),
        pt_index(virtual_address),
        address & (PAGE_SIZE - 1),
    )
}

/// The virtual address with these indices (the inverse of [`split`]).
pub fn join(directory_index: usize, table_index: usize, offset: usize) -> usize {
    directory_index * TABLE_SPAN + table_index * PAGE_SIZE + offset
}

/// Where page tables live, seen from the code that edits them.
pub trait TableMemory {
    /// The page directory in the frame at physical address `frame`.
    fn directory(&mut self, frame: usize) -> &mut PD;
    /// The page table in the frame at physical address `frame`.
    fn table(&mut self, frame: usize) -> &mut PT;
    /// A frame for a new page table (its contents are overwritten).
    fn allocate_table_frame(&mut self) -> Option<usize>;
    /// Forgets any cached translation of `page` (the TLB's `invlpg`).
    fn flush(&mut self, page: usize);
}

/// Why a mapping could not be changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapError {
    /// The address is not at the start of a page (or frame).
    Unaligned { address: usize },
    /// The page is mapped already (to this frame); unmap it first.
    AlreadyMapped { page: usize, frame: usize },
    /// The page is not mapped.
    NotMapped { page: usize },
    /// No frame for a new page table.
    OutOfFrames,
}

impl fmt::Display for MapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Unaligned { address } => {
                write!(f, "{address:#010x} is not page-aligned (4 KiB)")
            }
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
    pub physical: usize,
    pub flags: PTFlags,
    /// The frame was allocated for this mapping.
    pub owned: bool,
}

/// A run of mapped pages with consecutive frames and the same flags, as
/// [`AddressSpace::for_each_run`] reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MappedRun {
    pub start: usize,
    pub frame: usize,
    pub pages: usize,
    pub flags: PTFlags,
}

/// The flags that matter for permissions and reports: present and writable
/// (accessed and dirty change under the program's feet; user is never set).
fn permission_bits(flags: PTFlags) -> PTFlags {
    flags & (PTFlags::P | PTFlags::RW | PTFlags::US)
}

/// One address space: a page directory and the tables under it.
pub struct AddressSpace<M> {
    directory: usize,
    memory: M,
    tables: usize,
    pages: usize,
}

impl<M: TableMemory> AddressSpace<M> {
    /// An empty address space: a directory with no tables.
    pub fn new(mut memory: M) -> Result<Self, MapError> {
        let directory = memory.allocate_table_frame().ok_or(MapError::OutOfFrames)?;
        memory.directory(directory).fill(PDEntry(0));
        Ok(Self {
            directory,
            memory,
            tables: 0,
            pages: 0,
        })
    }

    /// Physical address of the page directory: what goes into CR3.
    pub fn directory_frame(&self) -> usize {
        self.directory
    }

    /// Mapped pages, and page tables (not counting the directory).
    pub fn counts(&self) -> (usize, usize) {
        (self.pages, self.tables)
    }

    /// Maps the 4 KiB page at `page` to the frame at `frame`.
    pub fn map(&mut self, page: usize, frame: usize, flags: PTFlags) -> Result<(), MapError> {
        self.map_entry(page, frame, flags, 0)
    }

    /// Like [`map`](Self::map), and marks the frame as the mapping's own:
    /// [`unmap`](Self::unmap) will say it must be freed.
    pub fn map_owned(&mut self, page: usize, frame: usize, flags: PTFlags) -> Result<(), MapError> {
        self.map_entry(page, frame, flags, OWNED_FRAME)
    }

    /// Maps `count` pages from `page` to consecutive frames from `frame`.
    /// Checks every page first: if one is mapped already, nothing changes.
    pub fn map_range(
        &mut self,
        page: usize,
        frame: usize,
        count: usize,
        flags: PTFlags,
    ) -> Result<(), MapError> {
        for index in 0..count {
            let address = page + index * PAGE_SIZE;
            if let Ok(existing) = self.translate(address) {
                return Err(MapError::AlreadyMapped {
                    page: address,
                    frame: existing.physical,
                });
            }
        }
        for index in 0..count {
            let offset = index * PAGE_SIZE;
            if let Err(error) = self.map(page + offset, frame + offset, flags) {
                for undo in 0..index {
                    let _ = self.unmap(page + undo * PAGE_SIZE);
                }
                return Err(error);
            }
        }
        Ok(())
    }

    /// Removes the mapping of `page` and flushes it from the TLB. Returns
    /// the frame it was mapped to, and whether that frame was the mapping's
    /// own (then the caller frees it). Page tables stay, even when empty.
    pub fn unmap(&mut self, page: usize) -> Result<(usize, bool), MapError> {
        check_aligned(page)?;
        let (table, table_index, entry) = self
            .present_entry(page)
            .map_err(|_| MapError::NotMapped { page })?;
        self.memory.table(table)[table_index] = PTEntry(0);
        self.memory.flush(page);
        self.pages -= 1;
        Ok((entry.address().as_usize(), entry.0 & OWNED_FRAME != 0))
    }

    /// The physical address `address` is mapped to, with the page's flags,
    /// or where the walk stopped.
    pub fn translate(&mut self, address: usize) -> Result<Translation, Missing> {
        let (_, _, entry) = self.present_entry(address)?;
        Ok(Translation {
            physical: entry.address().as_usize() + split(address).2,
            flags: entry.flags(),
            owned: entry.0 & OWNED_FRAME != 0,
        })
    }

    /// The walk: the table frame, index and entry that map `address`, if
    /// the entry is present.
    fn present_entry(&mut self, address: usize) -> Result<(usize, usize, PTEntry), Missing> {
        // LAB 3.1 BEGIN: split the address, find the directory entry's table (table_frame), read the table entry; report where the walk stops
        let (directory_index, table_index, _) = split(address);
        let table = self
            .table_frame(directory_index)
            .ok_or(Missing::Table { directory_index })?;
        let entry = self.memory.table(table)[table_index];
        if !entry.flags().contains(PTFlags::P) {
            return Err(Missing::Page {
                directory_index,
                table_index,
            });
        }
        Ok((table, table_index, entry))
        // LAB END
    }

    /// Makes sure a page table covers `page`, allocating one if needed.
    pub fn ensure_table(&mut self, page: usize) -> Result<(), MapError> {
        let (directory_index, _, _) = split(page);
        if self.table_frame(directory_index).is_none() {
            let frame = self
                .memory
                .allocate_table_frame()
                .ok_or(MapError::OutOfFrames)?;
            self.memory.table(frame).fill(PTEntry(0));
            // The directory entry is writable: the table's entries decide.
            self.memory.directory(self.directory)[directory_index] =
                PDEntry::new(frame.into(), PDFlags::P | PDFlags::RW);
            self.tables += 1;
        }
        Ok(())
    }

    /// Calls `visit` for each run of pages that are mapped to consecutive
    /// frames with the same permissions, in address order.
    pub fn for_each_run(&mut self, visit: &mut dyn FnMut(MappedRun)) {
        let mut run: Option<MappedRun> = None;
        for directory_index in 0..1024 {
            let Some(table) = self.table_frame(directory_index) else {
                continue;
            };
            for table_index in 0..1024 {
                let entry = self.memory.table(table)[table_index];
                if !entry.flags().contains(PTFlags::P) {
                    continue;
                }
                let page = join(directory_index, table_index, 0);
                let frame = entry.address().as_usize();
                let flags = permission_bits(entry.flags());
                match run.as_mut() {
                    Some(current)
                        if current.start + current.pages * PAGE_SIZE == page
                            && current.frame + current.pages * PAGE_SIZE == frame
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

    /// Maps `page` to `frame` with `flags`, plus `software` bits (9–11).
    fn map_entry(
        &mut self,
        page: usize,
        frame: usize,
        flags: PTFlags,
        software: u32,
    ) -> Result<(), MapError> {
        // LAB 3.2 BEGIN: check alignment, refuse a page that is mapped already, ensure_table, write the entry (P, flags, software bits), count it
        check_aligned(page)?;
        check_aligned(frame)?;
        let entry = PTEntry(PTEntry::new(frame.into(), flags | PTFlags::P).0 | software);
        if let Ok(existing) = self.translate(page) {
            return Err(MapError::AlreadyMapped {
                page,
                frame: existing.physical,
            });
        }
        self.ensure_table(page)?;
        let (directory_index, table_index, _) = split(page);
        let table = self.table_frame(directory_index).expect("just ensured");
        self.memory.table(table)[table_index] = entry;
        self.pages += 1;
        Ok(())
        // LAB END
    }

    fn table_frame(&mut self, directory_index: usize) -> Option<usize> {
        let entry = self.memory.directory(self.directory)[directory_index];
        entry
            .flags()
            .contains(PDFlags::P)
            .then(|| entry.address().as_usize())
    }
}

fn check_aligned(address: usize) -> Result<(), MapError> {
    if address.is_multiple_of(PAGE_SIZE) {
        Ok(())
    } else {
        Err(MapError::Unaligned { address })
    }
}

/// `RW` or `R-`, for reports.
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
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    /// Physical memory for the tests: a few frames, addressed like real ones
    /// (frame `n` is at `BASE + n * 4096`), so the walker cannot tell.
    struct SimulatedMemory {
        frames: Vec<Box<[u32; 1024]>>,
        limit: usize,
        flushed: Vec<usize>,
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

        fn words(&mut self, frame: usize) -> &mut [u32; 1024] {
            assert!(
                frame >= BASE && frame.is_multiple_of(PAGE_SIZE),
                "{frame:#x}"
            );
            &mut self.frames[(frame - BASE) / PAGE_SIZE]
        }
    }

    impl TableMemory for SimulatedMemory {
        fn directory(&mut self, frame: usize) -> &mut PD {
            let words = self.words(frame);
            // SAFETY: PD is 1024 transparent u32 entries, like `words`.
            unsafe { &mut *(words as *mut [u32; 1024] as *mut PD) }
        }

        fn table(&mut self, frame: usize) -> &mut PT {
            let words = self.words(frame);
            // SAFETY: PT is 1024 transparent u32 entries, like `words`.
            unsafe { &mut *(words as *mut [u32; 1024] as *mut PT) }
        }

        fn allocate_table_frame(&mut self) -> Option<usize> {
            if self.frames.len() == self.limit {
                return None;
            }
            // Garbage, like a real recycled frame: the walker must clear it.
            self.frames.push(Box::new([0xDEAD_BEEF; 1024]));
            Some(BASE + (self.frames.len() - 1) * PAGE_SIZE)
        }

        fn flush(&mut self, page: usize) {
            self.flushed.push(page);
        }
    }

    fn space(limit: usize) -> AddressSpace<SimulatedMemory> {
        AddressSpace::new(SimulatedMemory::new(limit)).unwrap()
    }

    #[test]
    fn addresses_split_into_ten_ten_and_twelve_bits() {
        assert_eq!(split(0), (0, 0, 0));
        assert_eq!(split(0x0040_1234), (1, 1, 0x234));
        assert_eq!(split(0xC000_0000), (768, 0, 0));
        assert_eq!(split(0xFFFF_FFFF), (1023, 1023, 0xFFF));
        assert_eq!(split(0xD012_3ABC), (0x340, 0x123, 0xABC));
        for address in [0usize, 0x1000, 0x0040_1234, 0xD012_3ABC, 0xFFFF_FFFF] {
            let (d, t, o) = split(address);
            assert_eq!(join(d, t, o), address);
        }
    }

    /// Lab 3.1 alone: tables built by hand, so only the walk runs.
    #[test]
    fn the_walk_follows_hand_built_tables() {
        let mut space = space(8);
        let directory = space.directory_frame();
        let table = space.memory().allocate_table_frame().unwrap();
        space.memory().table(table).fill(PTEntry(0));
        // Directory entry 0x340 (0xD000_0000..) points at the table; its
        // entry 5 maps a frame read-only and entry 6 is left empty.
        space.memory().directory(directory)[0x340] =
            PDEntry::new(table.into(), PDFlags::P | PDFlags::RW);
        space.memory().table(table)[5] = PTEntry::new(0x0ABC_D000.into(), PTFlags::P);
        space.memory().table(table)[7] =
            PTEntry(PTEntry::new(0x0000_7000.into(), PTFlags::P | PTFlags::RW).0 | OWNED_FRAME);

        let read_only = space.translate(0xD000_5123).unwrap();
        assert_eq!(read_only.physical, 0x0ABC_D123);
        assert!(read_only.flags.contains(PTFlags::P) && !read_only.flags.contains(PTFlags::RW));
        assert!(!read_only.owned);
        let owned = space.translate(0xD000_7FFF).unwrap();
        assert_eq!((owned.physical, owned.owned), (0x0000_7FFF, true));
        assert_eq!(
            space.translate(0xD000_6000),
            Err(Missing::Page {
                directory_index: 0x340,
                table_index: 6
            })
        );
        assert_eq!(
            space.translate(0xD040_5000),
            Err(Missing::Table {
                directory_index: 0x341
            })
        );
        // A directory entry that is not present is not followed, whatever
        // address it holds.
        space.memory().directory(directory)[0x341] = PDEntry::new(table.into(), PDFlags::RW);
        assert_eq!(
            space.translate(0xD040_5000),
            Err(Missing::Table {
                directory_index: 0x341
            })
        );
    }

    #[test]
    fn map_translate_unmap_round_trip() {
        let mut space = space(8);
        assert_eq!(
            space.translate(0xD000_0123),
            Err(Missing::Table {
                directory_index: 0x340
            })
        );
        space.map(0xD000_0000, 0x0012_3000, PTFlags::RW).unwrap();
        let translation = space.translate(0xD000_0123).unwrap();
        assert_eq!(translation.physical, 0x0012_3123);
        assert!(translation.flags.contains(PTFlags::P | PTFlags::RW));
        assert!(!translation.owned);
        assert_eq!(
            space.translate(0xD000_1000),
            Err(Missing::Page {
                directory_index: 0x340,
                table_index: 1
            })
        );
        assert_eq!(space.counts(), (1, 1));
        assert_eq!(space.unmap(0xD000_0000), Ok((0x0012_3000, false)));
        assert_eq!(space.memory().flushed, vec![0xD000_0000]);
        assert!(space.translate(0xD000_0123).is_err());
        assert_eq!(space.counts(), (0, 1), "the empty table stays");
    }

    #[test]
    fn mistakes_are_errors_that_change_nothing() {
        let mut space = space(8);
        space.map_owned(0x1000, 0x5000, PTFlags::empty()).unwrap();
        assert_eq!(
            space.map(0x1000, 0x6000, PTFlags::RW),
            Err(MapError::AlreadyMapped {
                page: 0x1000,
                frame: 0x5000
            })
        );
        assert_eq!(
            space.map(0x1234, 0x6000, PTFlags::RW),
            Err(MapError::Unaligned { address: 0x1234 })
        );
        assert_eq!(
            space.map(0x2000, 0x6001, PTFlags::RW),
            Err(MapError::Unaligned { address: 0x6001 })
        );
        assert_eq!(
            space.unmap(0x2000),
            Err(MapError::NotMapped { page: 0x2000 })
        );
        assert_eq!(
            space.unmap(0x8000_0000),
            Err(MapError::NotMapped { page: 0x8000_0000 })
        );
        let kept = space.translate(0x1000).unwrap();
        assert_eq!((kept.physical, kept.owned), (0x5000, true));
        assert!(!kept.flags.contains(PTFlags::RW), "still read-only");
        assert_eq!(space.counts(), (1, 1));
        assert_eq!(space.unmap(0x1000), Ok((0x5000, true)));
    }

    #[test]
    fn map_range_is_all_or_nothing() {
        let mut space = space(8);
        space.map(0x0000_5000, 0x9000, PTFlags::RW).unwrap();
        assert_eq!(
            space.map_range(0x0000_1000, 0x1000, 8, PTFlags::RW),
            Err(MapError::AlreadyMapped {
                page: 0x5000,
                frame: 0x9000
            })
        );
        assert_eq!(space.counts().0, 1, "nothing of the range was mapped");
        // Out of frames for the second table: the first table's pages are
        // taken back.
        let mut small = self::space(2);
        let across = 0x0040_0000 - 2 * PAGE_SIZE;
        assert_eq!(
            small.map_range(across, 0x10_0000, 4, PTFlags::RW),
            Err(MapError::OutOfFrames)
        );
        assert_eq!(small.counts().0, 0);
    }

    #[test]
    fn runs_join_consecutive_frames_with_equal_flags() {
        let mut space = space(8);
        space
            .map_range(0x0010_0000, 0x0010_0000, 3, PTFlags::empty())
            .unwrap();
        space
            .map_range(0x0010_3000, 0x0010_3000, 2, PTFlags::RW)
            .unwrap();
        // Across a table boundary, still one run.
        space
            .map_range(0x003F_F000, 0x0050_0000, 3, PTFlags::RW)
            .unwrap();
        let mut runs = Vec::new();
        space.for_each_run(&mut |run| runs.push((run.start, run.frame, run.pages)));
        assert_eq!(
            runs,
            vec![
                (0x0010_0000, 0x0010_0000, 3),
                (0x0010_3000, 0x0010_3000, 2),
                (0x003F_F000, 0x0050_0000, 3),
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
            let page_of = |slot: usize| (slot % 8) * TABLE_SPAN * 37 + (slot / 8) * PAGE_SIZE * 129;
            let mut space = space(32);
            let mut model: BTreeMap<usize, usize> = BTreeMap::new();
            for (slot, frame, map) in operations {
                let page = page_of(slot);
                let frame = frame * PAGE_SIZE;
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
                        Some(old) => prop_assert_eq!(result, Ok((old, false))),
                        None => prop_assert_eq!(result, Err(MapError::NotMapped { page })),
                    }
                }
                prop_assert_eq!(space.counts().0, model.len());
            }
            for slot in probes {
                let address = page_of(slot) + 0x123;
                match model.get(&page_of(slot)) {
                    Some(frame) => prop_assert_eq!(space.translate(address).map(|t| t.physical), Ok(frame + 0x123)),
                    None => prop_assert!(space.translate(address).is_err()),
                }
            }
            let mut mapped = 0;
            space.for_each_run(&mut |run| mapped += run.pages);
            prop_assert_eq!(mapped, model.len());
        }
    }
}
