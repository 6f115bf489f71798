//! The page-walk explorer's side in WebAssembly: one address space of
//! chapter 3 (`page_table.rs`'s [`AddressSpace`]) over simulated physical
//! memory, as chapter 3's host tests build it (their `SimulatedMemory`).
//!
//! The walk, translate, map and unmap are chapter 3's. What is here is
//! the memory they run over (frames for page tables, a few at a time) and
//! a source of frames to map pages to, standing in for chapter 2's frame
//! allocator, and reading raw entries back for the page to draw.

use crate::address::{Frame, Indices, Page, PhysAddr, VirtAddr, PAGE_SIZE};
use crate::mapping::PageEntries;
use crate::out::Out;
use crate::page_table::{describe_flags, AddressSpace, Missing, TableMemory};
use x86::bits32::paging::{PDFlags, PTFlags, PD, PT};

/// Where the frames for page tables are: frame `n` of the simulated memory
/// is at `TABLE_BASE + n * 4096`.
pub const TABLE_BASE: usize = 0x0070_0000;
/// The most frames for page tables the page may allow (the directory's
/// included).
pub const MAX_TABLE_FRAMES: usize = 1025;
/// Where fresh frames for `map ADDRESS` (no frame given) come from: like
/// the kernel's `map`, which takes a frame from the frame allocator and
/// marks the mapping as its owner.
pub const DATA_BASE: usize = 0x0100_0000;

/// Physical memory for the tables: frames that exist only when a table is
/// made in them, at addresses like real ones, so the walker cannot tell.
pub struct SimulatedMemory {
    frames: Vec<Box<[u32; 1024]>>,
    limit: usize,
    flushed: usize,
}

impl SimulatedMemory {
    pub fn new(limit: usize) -> Self {
        Self {
            frames: Vec::new(),
            limit,
            flushed: 0,
        }
    }

    /// The words of a table frame, if `frame` is one.
    pub fn words(&self, frame: Frame) -> Option<&[u32; 1024]> {
        let index = frame.start().as_usize().checked_sub(TABLE_BASE)? / PAGE_SIZE;
        self.frames.get(index).map(|words| &**words)
    }

    fn words_mut(&mut self, frame: Frame) -> &mut [u32; 1024] {
        let address = frame.start().as_usize();
        assert!(address >= TABLE_BASE, "{frame:?} is not a table frame");
        &mut self.frames[(address - TABLE_BASE) / PAGE_SIZE]
    }

    /// Frames taken for tables (the directory's included).
    pub fn table_frames(&self) -> usize {
        self.frames.len()
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    /// TLB flushes the address space asked for (one per unmap).
    pub fn flushes(&self) -> usize {
        self.flushed
    }
}

impl TableMemory for SimulatedMemory {
    fn directory(&mut self, frame: Frame) -> &mut PD {
        let words = self.words_mut(frame);
        // SAFETY: PD is 1024 transparent u32 entries, like `words`.
        unsafe { &mut *(words as *mut [u32; 1024] as *mut PD) }
    }

    fn table(&mut self, frame: Frame) -> &mut PT {
        let words = self.words_mut(frame);
        // SAFETY: PT is 1024 transparent u32 entries, like `words`.
        unsafe { &mut *(words as *mut [u32; 1024] as *mut PT) }
    }

    fn allocate_table_frame(&mut self) -> Option<Frame> {
        if self.frames.len() == self.limit {
            return None;
        }
        // Garbage, like a recycled frame: the walker must clear it (and
        // 0xDEAD_BEEF has P set, so a table it forgot to clear shows).
        self.frames.push(Box::new([0xDEAD_BEEF; 1024]));
        Frame::from_start(PhysAddr::new(
            TABLE_BASE + (self.frames.len() - 1) * PAGE_SIZE,
        ))
    }

    fn flush(&mut self, _page: Page) {
        self.flushed += 1;
    }
}

/// One address space, and the frames handed out for its pages.
pub struct PageWalker {
    space: AddressSpace<SimulatedMemory>,
    /// The next fresh data frame, and the owned ones given back by unmap.
    next_frame: usize,
    returned: Vec<Frame>,
}

/// Where a walk went, for the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Walk {
    pub indices: Indices,
    /// The directory entry, as the CPU reads it.
    pub directory_entry: u32,
    /// The page-table entry, if a table covers the address.
    pub table_entry: Option<u32>,
    /// The table's frame, if there is one.
    pub table_frame: Option<Frame>,
    /// `page_table.rs`'s answer.
    pub translation: Result<crate::page_table::Translation, Missing>,
}

impl PageWalker {
    /// An empty address space with room for `table_frames` frames of
    /// tables (the directory takes one).
    pub fn new(table_frames: usize) -> Result<Self, String> {
        if !(1..=MAX_TABLE_FRAMES).contains(&table_frames) {
            return Err(format!(
                "frames for tables: 1 to {MAX_TABLE_FRAMES}, not {table_frames}"
            ));
        }
        let space = AddressSpace::new(SimulatedMemory::new(table_frames))
            .map_err(|error| error.to_string())?;
        Ok(Self {
            space,
            next_frame: DATA_BASE / PAGE_SIZE,
            returned: Vec::new(),
        })
    }

    pub fn space(&mut self) -> &mut AddressSpace<SimulatedMemory> {
        &mut self.space
    }

    /// Walks to `address` as the MMU would, and asks `translate`.
    pub fn walk(&mut self, address: usize) -> Walk {
        let address = VirtAddr::new(address);
        let indices = Indices::of(address);
        let directory = self.space.directory_frame();
        let directory_entry = self.space.memory().directory(directory)[indices.directory];
        let table_frame = directory_entry
            .flags()
            .contains(PDFlags::P)
            .then(|| Frame::containing(PhysAddr::new(directory_entry.address().as_usize())));
        // The entry through chapter 3's walk (without making a table).
        let table_entry = self
            .space
            .entry(Page::containing(address), false)
            .map(|entry| entry.0);
        let translation = self.space.translate(address);
        Walk {
            indices,
            directory_entry: directory_entry.0,
            table_entry,
            table_frame,
            translation,
        }
    }

    /// `map ADDRESS [FRAME]`: maps the page of `address` to `frame`, or,
    /// without one, to a fresh frame the mapping owns.
    pub fn map(
        &mut self, address: usize, frame: Option<usize>, flags: PTFlags,
    ) -> Result<String, String> {
        let page = Page::containing(VirtAddr::new(address));
        let flags = flags & (PTFlags::RW | PTFlags::US);
        match frame {
            Some(frame) => {
                let frame = Frame::containing(PhysAddr::new(frame));
                self.space
                    .map(page, frame, flags)
                    .map_err(|error| error.to_string())?;
                Ok(format!(
                    "mapped {page:#010x} -> frame {frame:#010x} ({})",
                    describe_flags(flags)
                ))
            }
            None => {
                let frame = self.fresh_frame();
                match self.space.map_owned(page, frame, flags) {
                    Ok(()) => Ok(format!(
                        "mapped {page:#010x} -> fresh frame {frame:#010x} ({}, owned)",
                        describe_flags(flags)
                    )),
                    Err(error) => {
                        self.returned.push(frame);
                        Err(error.to_string())
                    }
                }
            }
        }
    }

    /// Maps `count` pages from `address` to consecutive frames from
    /// `frame`, all or none (`map_range`).
    pub fn map_range(
        &mut self, address: usize, frame: usize, count: usize, flags: PTFlags,
    ) -> Result<String, String> {
        let page = Page::containing(VirtAddr::new(address));
        let frame = Frame::containing(PhysAddr::new(frame));
        // Both ranges must end below 4 GiB (the address space's end).
        let room = |start: usize| (0x1_0000_0000u64 - start as u64) / PAGE_SIZE as u64;
        let fits =
            count as u64 <= room(page.start().as_usize()).min(room(frame.start().as_usize()));
        if count == 0 || !fits {
            return Err(format!(
                "{count} pages from {page:#010x} to frames from {frame:#010x} do not fit below 4 GiB"
            ));
        }
        self.space
            .map_range(page, frame, count, flags & (PTFlags::RW | PTFlags::US))
            .map_err(|error| error.to_string())?;
        Ok(format!(
            "mapped {count} pages from {page:#010x} -> frames from {frame:#010x}"
        ))
    }

    /// `unmap ADDRESS`: an owned frame goes back to the frame source.
    pub fn unmap(&mut self, address: usize) -> Result<String, String> {
        let page = Page::containing(VirtAddr::new(address));
        let unmapped = self.space.unmap(page).map_err(|error| error.to_string())?;
        if unmapped.owned {
            self.returned.push(unmapped.frame);
        }
        Ok(format!(
            "unmapped {page:#010x} (was frame {:#010x}{})",
            unmapped.frame,
            if unmapped.owned {
                ", owned: given back"
            } else {
                ""
            }
        ))
    }

    fn fresh_frame(&mut self) -> Frame {
        self.returned.pop().unwrap_or_else(|| {
            self.next_frame += 1;
            Frame::from_number(self.next_frame - 1)
        })
    }

    /// The kernel's layout in miniature: what chapter 3 maps at boot and
    /// what its commands add (README: `pages`, `map`).
    pub fn preset(&mut self) -> Result<(), String> {
        // RAM identity-mapped from 1 MiB (kernel text read-only, the rest
        // writable); the null page and low memory below it left out.
        self.map_range(0x0010_0000, 0x0010_0000, 0x20, PTFlags::empty())?;
        self.map_range(0x0012_0000, 0x0012_0000, 0xE0, PTFlags::RW)?;
        // The VGA text buffer.
        self.map_range(0x000B_8000, 0x000B_8000, 1, PTFlags::RW)?;
        // The heap's first pages, each on a frame of its own.
        for page in 0..4 {
            self.map(0xD000_0000 + page * PAGE_SIZE, None, PTFlags::RW)?;
        }
        // A read-only window onto a frame someone holds (`map A 0xb8000`).
        self.map(0xE000_1000, Some(0x000B_8000), PTFlags::empty())?;
        Ok(())
    }

    /// The raw entries of the directory (`None`) or of the page table that
    /// directory entry `index` points to; `None` if it has no table.
    pub fn entries(&mut self, index: Option<usize>) -> Option<[u32; 1024]> {
        let directory = self.space.directory_frame();
        let frame = match index {
            None => directory,
            Some(index) => {
                let entry = self.space.memory().directory(directory)[index];
                if !entry.flags().contains(PDFlags::P) {
                    return None;
                }
                Frame::containing(PhysAddr::new(entry.address().as_usize()))
            }
        };
        self.space.memory().words(frame).copied()
    }
}

/// Writes a walk as words for the page:
///
/// ```text
/// directory table offset pde table_frame(0: none) has_pte pte
/// result(0 mapped, 1 no table, 2 no page) physical flags owned directory_frame
/// ```
///
/// and, as text, the flags of both entries as the `x86` crate names them
/// and what `translate` said, one per line.
pub fn write_walk(walk: &Walk, directory_frame: Frame, out: &mut Out) {
    let (result, physical, flags, owned) = match walk.translation {
        Ok(translation) => (
            0,
            translation.physical.as_usize() as u32,
            translation.flags.bits(),
            u32::from(translation.owned),
        ),
        Err(Missing::Table { .. }) => (1, 0, 0, 0),
        Err(Missing::Page { .. }) => (2, 0, 0, 0),
    };
    out.words.extend([
        walk.indices.directory as u32,
        walk.indices.table as u32,
        walk.indices.offset as u32,
        walk.directory_entry,
        walk.table_frame
            .map_or(0, |frame| frame.start().as_usize() as u32),
        u32::from(walk.table_entry.is_some()),
        walk.table_entry.unwrap_or(0),
        result,
        physical,
        flags,
        owned,
        directory_frame.start().as_usize() as u32,
    ]);
    let mut directory_flags = PDFlags::from_bits_truncate(walk.directory_entry);
    // Bit 12 is PAT only in the entry of a 4 MiB page (PS); in an entry
    // that points to a page table it is part of the table's address.
    if !directory_flags.contains(PDFlags::PS) {
        directory_flags.remove(PDFlags::PAT);
    }
    let table_flags = walk
        .table_entry
        .map(|entry| format!("{:?}", PTFlags::from_bits_truncate(entry)))
        .unwrap_or_default();
    let answer = match walk.translation {
        Ok(translation) => format!(
            "{:#010x}, {}{}",
            translation.physical,
            describe_flags(translation.flags),
            if translation.owned {
                ", owned frame"
            } else {
                ""
            }
        ),
        Err(missing) => format!("{missing:?}"),
    };
    out.text = format!("{directory_flags:?}\n{table_flags}\n{answer}");
}
