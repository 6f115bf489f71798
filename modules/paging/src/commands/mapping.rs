//! `map` and `unmap`: changing the page tables by hand, in the scratch
//! window only.

use crate::address::{Frame, Page, PhysAddr, VirtAddr};
use crate::kernel_space::space;
use crate::layout::{SCRATCH_END, SCRATCH_START};
use crate::page_table::Unmapped;
use memory::frames::{FrameState, Owner};
use memory::kernel::println;
use memory::kernel::shell::args::{Args, CommandError};
use memory::kernel::shell::registry::Command;
use memory::setup::frames;
use x86::bits32::paging::PTFlags;

pub const MAP_COMMAND: Command = Command {
    name: "map",
    usage: "VADDR [PADDR]",
    summary:
        "map the page at VADDR (scratch window) to a new frame, or read-only to the frame at PADDR",
    run: map,
};

pub const UNMAP_COMMAND: Command = Command {
    name: "unmap",
    usage: "VADDR",
    summary: "unmap the page at VADDR (scratch window); a frame map allocated is freed",
    run: unmap,
};

/// Checks that `address` is a page in the scratch window.
fn scratch_page<'a>(address: VirtAddr) -> Result<Page, CommandError<'a>> {
    let Some(page) = Page::from_start(address) else {
        println!("{address:#010x} is not page-aligned (a multiple of 0x1000)");
        return Err(CommandError::Reported);
    };
    if !(SCRATCH_START..SCRATCH_END).contains(&address.as_usize()) {
        println!(
            "{address:#010x} is outside the scratch window {SCRATCH_START:#010x}-{SCRATCH_END:#010x}: \
             the kernel and the heap own everything else"
        );
        return Err(CommandError::Reported);
    }
    Ok(page)
}

fn map<'a>(args: &mut Args<'a>) -> Result<(), CommandError<'a>> {
    let page = scratch_page(super::address(args, "VADDR")?)?;
    let physical = args.optional_number("PADDR")?;
    args.finish()?;
    match physical {
        Some(physical) => map_existing(page, physical),
        None => map_fresh(page),
    }
}

/// `map VADDR`: a fresh frame, writable, which the mapping owns (`unmap`
/// gives it back).
fn map_fresh<'a>(page: Page) -> Result<(), CommandError<'a>> {
    let frame = frames().allocate(Owner::Mapping);
    let frame = match frame {
        Ok(frame) => frame,
        Err(error) => {
            println!("map: {error}");
            return Err(CommandError::Reported);
        }
    };
    let result = space().map_owned(page, frame, PTFlags::RW);
    if let Err(error) = result {
        let _ = frames().free(frame, Owner::Mapping);
        println!("map: {error}");
        return Err(CommandError::Reported);
    }
    println!("map: mapped {page:#010x} -> {frame:#010x} read-write (new frame)");
    Ok(())
}

/// `map VADDR PADDR`: a window onto a frame someone else holds, so it is
/// read-only — a writable alias of the page directory or the kernel's code
/// would let one typo corrupt the kernel. A free frame is refused: the
/// allocator could hand it out while the window still shows it.
fn map_existing<'a>(page: Page, physical: u64) -> Result<(), CommandError<'a>> {
    let frame = usize::try_from(physical)
        .ok()
        .and_then(|address| Frame::from_start(PhysAddr::new(address)));
    let frame = match frame {
        Some(frame) => frame,
        None => {
            println!("map: PADDR {physical:#x} is not a 32-bit, page-aligned address");
            return Err(CommandError::Reported);
        }
    };
    let state = frames().state(frame);
    let what = match state {
        Some(FrameState::Free) => {
            println!(
                "map: frame {frame:#010x} is free: the allocator could hand it out while it is \
                 mapped here. Map a fresh frame with 'map VADDR' instead"
            );
            return Err(CommandError::Reported);
        }
        Some(FrameState::Held(owner)) => owner.name(),
        Some(FrameState::Reserved) => "reserved",
        None => "not RAM",
    };
    let result = space().map(page, frame, PTFlags::empty());
    if let Err(error) = result {
        println!("map: {error}");
        return Err(CommandError::Reported);
    }
    println!(
        "map: mapped {page:#010x} -> {frame:#010x} read-only (frame: {what}; \
         a window onto someone else's frame is never writable)"
    );
    Ok(())
}

fn unmap<'a>(args: &mut Args<'a>) -> Result<(), CommandError<'a>> {
    let page = scratch_page(super::address(args, "VADDR")?)?;
    args.finish()?;
    let result = space().unmap(page);
    let Unmapped { frame, owned } = match result {
        Ok(unmapped) => unmapped,
        Err(error) => {
            println!("unmap: {error}");
            return Err(CommandError::Reported);
        }
    };
    if !owned {
        println!("unmap: unmapped {page:#010x} (was {frame:#010x}); frame kept (map did not allocate it)");
        return Ok(());
    }
    let freed = frames().free(frame, Owner::Mapping);
    match freed {
        Ok(()) => {
            println!("unmap: unmapped {page:#010x} (was {frame:#010x}); frame freed");
            Ok(())
        }
        Err(error) => {
            println!("unmap: unmapped {page:#010x}, but its frame was not freed: {error}");
            Err(CommandError::Reported)
        }
    }
}
