//! `map` and `unmap`: changing the page tables by hand, in the scratch
//! window only.

use crate::kernel_space::space;
use crate::layout::{SCRATCH_END, SCRATCH_START};
use crate::page_table::{MapError, PAGE_SIZE};
use memory::kernel::println;
use memory::kernel::shell::args::{Args, CommandError};
use memory::kernel::shell::registry::Command;
use memory::setup::frames;
use x86::bits32::paging::PTFlags;

pub const MAP_COMMAND: Command = Command {
    name: "map",
    usage: "VADDR [PADDR]",
    summary: "map the page at VADDR (scratch window) to a new frame, or to the frame at PADDR",
    run: map,
};

pub const UNMAP_COMMAND: Command = Command {
    name: "unmap",
    usage: "VADDR",
    summary: "unmap the page at VADDR (scratch window); a frame map allocated is freed",
    run: unmap,
};

/// Checks that `address` is a page in the scratch window.
fn scratch_page<'a>(address: usize) -> Result<usize, CommandError<'a>> {
    if !address.is_multiple_of(PAGE_SIZE) {
        println!("{address:#010x} is not page-aligned (a multiple of 0x1000)");
        return Err(CommandError::Reported);
    }
    if !(SCRATCH_START..SCRATCH_END).contains(&address) {
        println!(
            "{address:#010x} is outside the scratch window {SCRATCH_START:#010x}-{SCRATCH_END:#010x}: \
             the kernel and the heap own everything else"
        );
        return Err(CommandError::Reported);
    }
    Ok(address)
}

fn map<'a>(args: &mut Args<'a>) -> Result<(), CommandError<'a>> {
    let page = scratch_page(super::address(args, "VADDR")?)?;
    let physical = args.optional_number("PADDR")?;
    args.finish()?;
    if let Some(physical) = physical {
        let frame = match usize::try_from(physical) {
            Ok(frame) if physical <= u64::from(u32::MAX) && frame.is_multiple_of(PAGE_SIZE) => {
                frame
            }
            _ => {
                println!("map: PADDR {physical:#x} is not a 32-bit, page-aligned address");
                return Err(CommandError::Reported);
            }
        };
        let result = space().map(page, frame, PTFlags::RW);
        return report_map(page, frame, false, result);
    }
    let frame = frames().allocate();
    let frame = match frame {
        Ok(frame) => frame,
        Err(error) => {
            println!("map: {error}");
            return Err(CommandError::Reported);
        }
    };
    let result = space().map_owned(page, frame, PTFlags::RW);
    report_map(page, frame, true, result)
}

fn report_map<'a>(
    page: usize,
    frame: usize,
    owned: bool,
    result: Result<(), MapError>,
) -> Result<(), CommandError<'a>> {
    match result {
        Ok(()) => {
            println!(
                "map: mapped {page:#010x} -> {frame:#010x} read-write{}",
                if owned { " (new frame)" } else { "" }
            );
            Ok(())
        }
        Err(error) => {
            if owned {
                let _ = frames().free(frame);
            }
            println!("map: {error}");
            Err(CommandError::Reported)
        }
    }
}

fn unmap<'a>(args: &mut Args<'a>) -> Result<(), CommandError<'a>> {
    let page = scratch_page(super::address(args, "VADDR")?)?;
    args.finish()?;
    let result = space().unmap(page);
    match result {
        Ok((frame, owned)) => {
            let freed = owned && frames().free(frame).is_ok();
            println!(
                "unmap: unmapped {page:#010x} (was {frame:#010x}){}",
                if freed {
                    "; frame freed"
                } else {
                    "; frame kept (map was given it)"
                }
            );
            Ok(())
        }
        Err(error) => {
            println!("unmap: {error}");
            Err(CommandError::Reported)
        }
    }
}
