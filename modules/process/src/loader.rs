//! Loading a program: its ELF file checked, then its segments copied, page
//! by page, into frames of a new address space.
//!
//! ```text
//!   file bytes  --elf::parse-->  segments (checked)
//!   for each segment, for each page it covers:
//!       frame = a zeroed frame             (the .bss part stays zero)
//!       copy the file bytes that fall in this page into the frame
//!       map the page: US, and RW only if the segment is writable
//! ```
//!
//! The bytes are copied through the identity map, before the page is
//! mapped read-only for the program: the kernel never writes through a
//! read-only mapping.

use crate::elf::{self, ElfError, Program};
use crate::user_layout::{IMAGE, PAGE_SIZE};
use crate::user_space::UserSpace;
use core::fmt;
use paging::address::{Page, VirtAddr};
use paging::page_table::MapError;

/// Why a program could not be loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadError {
    Elf(ElfError),
    Memory(MapError),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Elf(error) => write!(f, "bad ELF file: {error}"),
            LoadError::Memory(error) => write!(f, "no memory to load it: {error}"),
        }
    }
}

/// A loaded program: its address space and where it starts.
pub struct Loaded {
    pub space: UserSpace,
    pub program: Program,
}

/// Checks `file` and loads it into a new address space.
pub fn load(file: &[u8]) -> Result<Loaded, LoadError> {
    let program = elf::parse(file, IMAGE).map_err(LoadError::Elf)?;
    let mut space = UserSpace::new().map_err(LoadError::Memory)?;
    for segment in program.segments() {
        let bytes = segment.bytes(file);
        for page in segment.pages().step_by(PAGE_SIZE as usize) {
            let frame = match space.map_zeroed(
                Page::containing(VirtAddr::new(page as usize)),
                segment.writable(),
            ) {
                Ok(frame) => frame,
                Err(error) => {
                    space.tear_down();
                    return Err(LoadError::Memory(error));
                }
            };
            // The part of the file's bytes that lands in this page.
            let from = page.max(segment.vaddr);
            let to = (page + PAGE_SIZE).min(segment.vaddr + segment.filesz);
            if from < to {
                let source = &bytes[(from - segment.vaddr) as usize..(to - segment.vaddr) as usize];
                let target = frame.start().as_usize() + (from - page) as usize;
                // SAFETY: `target..target + len` lies inside the frame just
                // allocated for this page (from and to are in the page),
                // reached through the identity map; no one else uses it.
                unsafe {
                    core::ptr::copy_nonoverlapping(source.as_ptr(), target as *mut u8, source.len())
                };
            }
        }
    }
    Ok(Loaded { space, program })
}
