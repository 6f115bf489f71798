//! A program's address space: its own page directory, the kernel's tables
//! shared, and the user region its own.
//!
//! ```text
//!  a program's directory                 the kernel's directory
//!  +-------------------+                 +-------------------+
//!  | 0..767   kernel   |---- same ------>| 0..767            |  identity map
//!  | 768..799 USER     |  tables, US=0   | 768..799 (empty)  |
//!  | 800..1023 kernel  |---------------->| 800..1023         |  heap, ...
//!  +-------------------+                 +-------------------+
//!        | 768..799: this program's own tables, pages with US=1
//! ```
//!
//! The kernel's entries are copied, so both directories point at the
//! *same* page tables: a page the kernel maps later in one of them (the
//! heap growing during a system call) is there in both. That holds only
//! for tables that exist when the copy is made, so chapter 4 makes every
//! table of the kernel heap's range at boot (`init` in `lib.rs`). The
//! kernel's pages keep U/S clear, so ring 3 cannot touch them although
//! they are mapped.
//!
//! Tearing a program down walks entries 768–799 only: every page it owns,
//! every table under it, and the directory go back to the frame
//! allocator. A test checks that `frames` is the same before and after.

use crate::user_layout::{PAGE_SIZE, USER_END, USER_START};
use paging::address::{Frame, Page, PhysAddr, VirtAddr};
use paging::kernel_space::{self, IdentityTables};
use paging::mapping::{frame_of, is_owned};
use paging::memory::frames::Owner;
use paging::memory::setup;
use paging::page_table::{AddressSpace, MapError, TableMemory, Translation};
use x86::bits32::paging::{PDEntry, PDFlags, PTFlags};

/// The directory entries of the user region.
const USER_ENTRIES: core::ops::Range<usize> =
    (USER_START as usize >> 22)..(USER_END as usize >> 22);

/// One program's address space.
pub struct UserSpace {
    space: AddressSpace<IdentityTables>,
    /// Frames mapped for the program (its pages, not the tables).
    pages: usize,
}

impl UserSpace {
    /// A new directory with the kernel's entries copied in.
    pub fn new() -> Result<UserSpace, MapError> {
        let space = AddressSpace::new(IdentityTables)?;
        let kernel = kernel_space::space().directory_frame();
        let mut tables = IdentityTables;
        let kernel_entries: [PDEntry; 1024] = *tables.directory(kernel);
        let directory = tables.directory(space.directory_frame());
        for (index, entry) in kernel_entries.iter().enumerate() {
            if USER_ENTRIES.contains(&index) {
                debug_assert!(
                    !entry.flags().contains(PDFlags::P),
                    "the kernel maps nothing there"
                );
                continue;
            }
            directory[index] = *entry;
        }
        Ok(UserSpace { space, pages: 0 })
    }

    /// What goes into CR3 while the program runs.
    pub fn directory(&self) -> Frame {
        self.space.directory_frame()
    }

    /// Frames the program holds: its pages and its page tables.
    pub fn frames(&self) -> usize {
        self.pages + self.space.counts().tables
    }

    /// Maps a fresh zeroed frame at `page` for the program (`writable` or
    /// read-only), and returns the frame.
    pub fn map_zeroed(&mut self, page: Page, writable: bool) -> Result<Frame, MapError> {
        let frame = setup::frames()
            .allocate(Owner::User)
            .map_err(|_| MapError::OutOfFrames)?;
        // SAFETY: the frame was just allocated for this program and nobody
        // else maps it; RAM is identity-mapped, so its physical address is
        // a kernel address (writable, as RAM is), and it is 4 KiB long.
        unsafe {
            core::ptr::write_bytes(frame.start().as_usize() as *mut u8, 0, PAGE_SIZE as usize)
        };
        let flags = if writable {
            PTFlags::US | PTFlags::RW
        } else {
            PTFlags::US
        };
        if let Err(error) = self.space.map_owned(page, frame, flags) {
            let _ = setup::frames().free(frame, Owner::User);
            return Err(error);
        }
        self.pages += 1;
        Ok(frame)
    }

    /// Where `address` is mapped, if it is.
    pub fn translate(&mut self, address: u32) -> Option<Translation> {
        self.space.translate(VirtAddr::new(address as usize)).ok()
    }

    /// Unmaps the program's page at `page` and frees its frame; `false` if
    /// it was not mapped.
    pub fn unmap(&mut self, page: Page) -> bool {
        match self.space.unmap(page) {
            Ok(unmapped) => {
                if unmapped.owned {
                    let _ = setup::frames().free(unmapped.frame, Owner::User);
                    self.pages -= 1;
                }
                true
            }
            Err(_) => false,
        }
    }

    /// Gives every frame back: the pages of entries 768–799, their tables,
    /// and the directory. Returns how many frames that was. The caller has
    /// switched CR3 away from this directory first.
    pub fn tear_down(self) -> usize {
        // LAB 4.4 BEGIN: for each directory entry of the user region (USER_ENTRIES) that is present: free every present, owned page of its table (is_owned, frame_of; Owner::User), then the table's frame (Owner::PageTable); then free the directory (Owner::PageTable); count every frame freed
        let mut tables = IdentityTables;
        let directory = self.space.directory_frame();
        let mut freed = 0;
        let mut frames = setup::frames();
        for index in USER_ENTRIES {
            let entry = tables.directory(directory)[index];
            if !entry.flags().contains(PDFlags::P) {
                continue;
            }
            let table = Frame::containing(PhysAddr::new(entry.address().as_usize()));
            for page_entry in tables.table(table).iter() {
                if page_entry.flags().contains(PTFlags::P) && is_owned(*page_entry) {
                    let frame = frame_of(*page_entry);
                    frames
                        .free(frame, Owner::User)
                        .expect("a page the program owned");
                    freed += 1;
                }
            }
            frames
                .free(table, Owner::PageTable)
                .expect("a table the program owned");
            freed += 1;
        }
        frames
            .free(directory, Owner::PageTable)
            .expect("the program's directory");
        freed + 1
        // LAB END
    }
}
