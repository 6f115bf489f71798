//! `touch ADDR [LEN]`: read a word and show what paging did about it, or
//! read one word in every page of `[ADDR, ADDR+LEN)` and count the pages
//! that were brought in. (Nothing here allocates: the heap's own faults
//! would muddle the picture.)

use super::address;
use crate::address::{Frame, VirtAddr, PAGE_SIZE};
use crate::fixup::{probe_read, ProbeFault};
use crate::growing_heap;
use crate::kernel_space;
use crate::page_fault::FaultReport;
use crate::regions;
use memory::kernel::shell::args::{Args, CommandError};
use memory::kernel::shell::registry::Command;
use memory::kernel::{print, println};

pub const TOUCH_COMMAND: Command = Command {
    name: "touch",
    usage: "ADDR [LEN]",
    summary: "read the word at ADDR (or one in each page of LEN bytes): watch demand paging, or the fault report",
    run: touch,
};

fn touch<'a>(args: &mut Args<'a>) -> Result<(), CommandError<'a>> {
    let address = address(args, "ADDR")?;
    let length = args.optional_number("LEN")?;
    args.finish()?;
    if let Some(length) = length {
        return touch_pages(address, length);
    }
    let aligned = VirtAddr::new(address.as_usize() & !3);
    let was_mapped = kernel_space::translate(aligned).is_ok();
    let faults_before = growing_heap::counters().faults;
    let result = probe_read(aligned);
    let faults_after = growing_heap::counters().faults;
    match result {
        Ok(value) => {
            print!(
                "touch: {aligned:#010x} = {value:#010x} faulted={} (",
                !was_mapped
            );
            if was_mapped {
                println!("the page was mapped already)");
            } else if let Ok(translation) = kernel_space::translate(aligned) {
                let frame = Frame::containing(translation.physical).start().as_usize();
                if faults_after > faults_before {
                    println!("heap page fault #{faults_after} brought in frame {frame:#010x}: demand paging)");
                } else {
                    println!("a page fault brought in frame {frame:#010x}: demand paging)");
                }
            } else {
                println!("not mapped: the fault was recovered)");
            }
            Ok(())
        }
        Err(fault) => report(fault),
    }
}

/// Reads one word in every page of `[start, start + length)`.
fn touch_pages<'a>(start: VirtAddr, length: u64) -> Result<(), CommandError<'a>> {
    let first = start.as_usize() & !(PAGE_SIZE - 1);
    let end = usize::try_from(length)
        .ok()
        .and_then(|length| start.as_usize().checked_add(length))
        .filter(|&end| end > start.as_usize())
        .ok_or(CommandError::Usage(
            "LEN must be at least 1 and stay below 4 GiB",
        ))?;
    let (mut pages, mut brought_in) = (0usize, 0usize);
    for page in (first..end).step_by(PAGE_SIZE) {
        let page = VirtAddr::new(page);
        let was_mapped = kernel_space::translate(page).is_ok();
        if let Err(fault) = probe_read(page) {
            println!("touch: {pages} pages read before the fault:");
            return report(fault);
        }
        pages += 1;
        brought_in += usize::from(!was_mapped);
    }
    println!("touch: {pages} pages from {first:#010x}, {brought_in} brought in by page faults");
    Ok(())
}

fn report<'a>(ProbeFault { address, code, eip }: ProbeFault) -> Result<(), CommandError<'a>> {
    let report = FaultReport {
        address,
        code,
        eip,
        region: regions::region_of(address),
    };
    println!("touch: {address:#010x} faulted; the exception table caught it:");
    println!("{report}");
    println!("(an unexpected fault like this one stops the kernel; touch carries on)");
    Err(CommandError::Reported)
}
