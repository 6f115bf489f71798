//! `touch ADDR`: read a word and show what paging did about it. (Nothing
//! here allocates: the heap's own faults would muddle the picture.)

use super::address;
use crate::address::{Frame, VirtAddr};
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
    usage: "ADDR",
    summary: "read the word at ADDR: in the heap, watch demand paging; elsewhere, the fault report",
    run: touch,
};

fn touch<'a>(args: &mut Args<'a>) -> Result<(), CommandError<'a>> {
    let address = address(args, "ADDR")?;
    args.finish()?;
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
            } else if faults_after > faults_before {
                let frame = kernel_space::translate(aligned).map_or(0, |translation| {
                    Frame::containing(translation.physical).start().as_usize()
                });
                println!(
                    "page fault #{faults_after} brought in frame {frame:#010x}: demand paging)"
                );
            } else {
                println!("mapped meanwhile)");
            }
            Ok(())
        }
        Err(ProbeFault { address, code, eip }) => {
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
    }
}
