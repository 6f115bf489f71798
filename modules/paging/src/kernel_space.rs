//! The kernel's address space: building it, switching it on, changing it.
//!
//! Before paging is on, the CPU uses physical addresses, so the tables can
//! be written where the frame allocator put them. The kernel then loads the
//! directory's address into CR3 and sets two bits in CR0:
//!
//! - PG, paging: from the next instruction on, every address is translated.
//!   Because RAM is identity-mapped, the next instruction is where it was;
//! - WP, write protect: read-only pages are read-only for the kernel too
//!   (without it, ring 0 may write anywhere that is mapped).
//!
//! After that the tables are still reachable at their physical addresses,
//! because they are frames of RAM and RAM is identity-mapped. That is how
//! this kernel edits page tables with paging on. (The other classic answers
//! are a *recursive* directory entry, which makes the tables appear in the
//! top 4 MiB, and a temporary mapping window; see the exercises.)

use crate::address::{Frame, Page, VirtAddr, PAGE_SIZE, TABLE_SPAN};
use crate::layout::{Access, AddressSpaceLayout, HEAP_START, IDENTITY_MAP_END, VGA_END, VGA_START};
use crate::page_table::{AddressSpace, MapError, Missing, TableMemory, Translation};
use memory::frames::Owner;
use memory::kernel::boot;
use memory::kernel::sync::{IrqMutex, IrqMutexGuard};
use memory::setup;
use x86::bits32::paging::{PTFlags, PD, PT};
use x86::controlregs::{self, Cr0};

/// Page tables at their physical addresses (RAM is identity-mapped), with
/// frames for new tables from the frame allocator.
pub struct IdentityTables;

impl TableMemory for IdentityTables {
    fn directory(&mut self, frame: Frame) -> &mut PD {
        // SAFETY: `frame` is the directory's frame, which the address space
        // allocated for itself and owns; RAM is identity-mapped (or paging is
        // still off), so the physical address is also the virtual one; a
        // frame is 4 KiB and 4 KiB-aligned, like a PD.
        unsafe { &mut *(frame.start().as_usize() as *mut PD) }
    }

    fn table(&mut self, frame: Frame) -> &mut PT {
        // SAFETY: as for `directory`: a table frame the address space owns.
        unsafe { &mut *(frame.start().as_usize() as *mut PT) }
    }

    fn allocate_table_frame(&mut self) -> Option<Frame> {
        setup::try_frames()?.allocate(Owner::PageTable).ok()
    }

    fn flush(&mut self, page: Page) {
        // SAFETY: `invlpg` only drops a cached translation.
        unsafe { x86::tlb::flush(page.start().as_usize()) };
    }
}

static SPACE: IrqMutex<Option<AddressSpace<IdentityTables>>> = IrqMutex::new(None);

/// The kernel's address space, locked. Panics before [`init`].
pub fn space() -> SpaceGuard {
    SpaceGuard(SPACE.lock())
}

/// The locked address space (interrupts off while it is held). Whoever holds
/// it must not allocate from the heap: a heap fault needs this lock.
pub struct SpaceGuard(IrqMutexGuard<'static, Option<AddressSpace<IdentityTables>>>);

impl core::ops::Deref for SpaceGuard {
    type Target = AddressSpace<IdentityTables>;
    fn deref(&self) -> &Self::Target {
        self.0.as_ref().expect("paging::init() has run")
    }
}

impl core::ops::DerefMut for SpaceGuard {
    fn deref_mut(&mut self) -> &mut Self::Target {
        self.0.as_mut().expect("paging::init() has run")
    }
}

/// Builds the kernel's tables and turns paging on.
pub fn init() {
    let layout = AddressSpaceLayout {
        kernel: boot::kernel_layout(),
        ram_end: ram_end(),
        heap_top: HEAP_START,
    };
    let mut space = match AddressSpace::new(IdentityTables) {
        Ok(space) => space,
        Err(error) => panic!("no frame for the page directory: {error}"),
    };
    let map = setup::memory_map();
    if layout.ram_end > IDENTITY_MAP_END {
        panic!(
            "RAM reaches {:#x}, but the identity map ends at {IDENTITY_MAP_END:#x}: boot with less memory",
            layout.ram_end,
        );
    }
    let kernel = layout.kernel;
    let (info_start, info_end) = boot::info_range();
    let ranges = map
        .usable()
        .iter()
        .map(|range| (range.start as usize, range.end as usize))
        .chain([
            (VGA_START, VGA_END),
            kernel.image,
            (info_start & !(PAGE_SIZE - 1), info_end),
        ]);
    for (start, end) in ranges {
        for address in (start..end).step_by(PAGE_SIZE) {
            let flags = match layout.region_of(VirtAddr::new(address)).identity_access() {
                Some(Access::ReadWrite) => PTFlags::RW,
                Some(Access::ReadOnly) => PTFlags::empty(),
                None if (info_start..info_end).contains(&address) => PTFlags::empty(),
                None => continue,
            };
            // Identity: the page at an address maps to the frame at the
            // same address.
            let page = Page::containing(VirtAddr::new(address));
            let frame = Frame::containing(memory::address::PhysAddr::new(address));
            match space.map(page, frame, flags) {
                Ok(()) | Err(MapError::AlreadyMapped { .. }) => {}
                Err(error) => panic!("cannot identity-map {page:#x}: {error}"),
            }
        }
    }
    let directory = space.directory_frame();
    *SPACE.lock() = Some(space);
    // SAFETY: the directory maps everything the kernel uses — its image
    // (the code running now, its stack, its statics), the boot information,
    // the frame bitmaps, the page tables and VGA — at the same address as
    // before, so execution continues at the next instruction unchanged.
    unsafe {
        controlregs::cr3_write(directory.start().as_usize() as u64);
        let cr0 = controlregs::cr0();
        controlregs::cr0_write(cr0 | Cr0::CR0_ENABLE_PAGING | Cr0::CR0_WRITE_PROTECT);
    }
    let counts = self::space().counts();
    log::info!(
        "paging: {} pages identity-mapped with {} page tables; directory at {directory:#x}",
        counts.pages,
        counts.tables
    );
}

/// Whether CR0.PG and CR0.WP are both set.
pub fn is_enabled() -> bool {
    // SAFETY: reading CR0 has no side effects.
    let cr0 = unsafe { controlregs::cr0() };
    cr0.contains(Cr0::CR0_ENABLE_PAGING | Cr0::CR0_WRITE_PROTECT)
}

/// The directory the CPU is using (CR3).
pub fn active_directory() -> Frame {
    // SAFETY: reading CR3 has no side effects.
    let cr3 = unsafe { controlregs::cr3() } as usize;
    Frame::containing(memory::address::PhysAddr::new(cr3))
}

/// The end of the highest usable RAM (what the identity map covers).
pub fn ram_end() -> usize {
    setup::memory_map()
        .usable()
        .iter()
        .map(|range| range.end as usize)
        .max()
        .unwrap_or(0)
}

/// Where `address` is mapped to.
pub fn translate(address: VirtAddr) -> Result<Translation, Missing> {
    space().translate(address)
}

/// Makes sure page tables cover `[start, end)`, so that mapping pages there
/// later needs no frame for a table. Called by the heap's grower, which may
/// run inside code that holds the tables' lock: then it fails, not hangs.
pub fn ensure_tables(start: VirtAddr, end: VirtAddr) -> Result<(), &'static str> {
    let mut guard = SPACE
        .try_lock()
        .ok_or("the page tables are locked by the code that is allocating")?;
    let space = guard.as_mut().ok_or("paging is not set up")?;
    let mut address = start.as_usize() & !(TABLE_SPAN - 1);
    while address < end.as_usize() {
        space
            .ensure_table(Page::containing(VirtAddr::new(address)))
            .map_err(|_| "no free frame for a page table")?;
        address = match address.checked_add(TABLE_SPAN) {
            Some(next) => next,
            None => break,
        };
    }
    Ok(())
}

/// Maps `page` to `frame`, marked as the mapping's own frame. For the page
/// fault handler, which must not wait for the lock: if the faulting code
/// holds it, this fails instead.
pub fn map_owned(page: Page, frame: Frame, flags: PTFlags) -> Result<(), &'static str> {
    let mut guard = SPACE
        .try_lock()
        .ok_or("the page tables are locked by the code that faulted")?;
    let space = guard.as_mut().ok_or("paging is not set up")?;
    space
        .map_owned(page, frame, flags)
        .map_err(|_| "the page could not be mapped")
}

/// Unmaps `page` and, if the mapping owned its frame, gives the frame back
/// on behalf of `owner` (who allocated it). Like [`map_owned`], fails rather
/// than waits if the tables are locked.
pub fn unmap_owned(page: Page, owner: Owner) -> Result<(), &'static str> {
    let mut guard = SPACE
        .try_lock()
        .ok_or("the page tables are locked by the code that is freeing")?;
    let space = guard.as_mut().ok_or("paging is not set up")?;
    let unmapped = space.unmap(page).map_err(|_| "the page was not mapped")?;
    drop(guard);
    if unmapped.owned {
        setup::try_frames()
            .ok_or("the frame allocator is locked")?
            .free(unmapped.frame, owner)
            .map_err(|_| "the frame could not be freed")?;
    }
    Ok(())
}
