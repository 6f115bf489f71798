//! `heapcheck`, `leaks` and `slabs`: the heap debugger and the slab front
//! end, from the shell.

use crate::heap::debug::LeakReport;
use crate::heap::{DebugMode, Heap};
use crate::kernel_heap::HEAP;
use core::sync::atomic::{AtomicUsize, Ordering};
use kernel::println;
use kernel::shell::args::{Args, CommandError};
use kernel::shell::format::ByteSize;
use kernel::shell::registry::Command;

pub const HEAPCHECK_COMMAND: Command = Command {
    name: "heapcheck",
    usage: "",
    summary: "walk every heap header, red zone and quarantined block",
    run: heapcheck,
};

pub const LEAKS_COMMAND: Command = Command {
    name: "leaks",
    usage: "[mark|since]",
    summary: "live blocks by call site; 'mark', then 'since' shows what is new",
    run: leaks,
};

pub const SLABS_COMMAND: Command = Command {
    name: "slabs",
    usage: "",
    summary: "the slab front end: slabs and objects per size class",
    run: slabs,
};

/// Sites shown by `leaks`; blocks from further sites are summed up.
const SITES_SHOWN: usize = 16;

/// The allocation number `leaks mark` noted (0: everything).
static MARK: AtomicUsize = AtomicUsize::new(0);

const DEBUG_OFF: &str = "heap debugging is off: boot with heapdebug=poison or heapdebug=full";

fn heapcheck<'a>(args: &mut Args<'a>) -> Result<(), CommandError<'a>> {
    args.finish()?;
    let (mode, result) = {
        let mut heap = HEAP.lock();
        (heap.mode(), heap.check_all())
    };
    match result {
        Err(error) => {
            println!("heapcheck: FAILED: {error}");
            Err(CommandError::Reported)
        }
        Ok(summary) => {
            kernel::shell::print_summary(format_args!(
                "heapcheck: mode={} live={} quarantined={} bugs={}",
                mode.name(),
                summary.live_blocks,
                summary.quarantined,
                summary.bugs
            ));
            if mode == DebugMode::Off {
                println!(
                    "  headers and free lists are consistent ({DEBUG_OFF} to check blocks too)"
                );
            } else if summary.bugs > 0 {
                println!("  {} bug(s) reported above", summary.bugs);
                return Err(CommandError::Reported);
            } else {
                println!("  every header, red zone and quarantined block is intact");
            }
            Ok(())
        }
    }
}

fn leaks<'a>(args: &mut Args<'a>) -> Result<(), CommandError<'a>> {
    let since = match args.next_word() {
        None => 0,
        Some("mark") => {
            args.finish()?;
            let mark = HEAP.lock().next_serial();
            MARK.store(mark, Ordering::Relaxed);
            kernel::shell::print_summary(format_args!(
                "leaks: mark={mark} ('leaks since' lists blocks allocated from now on)"
            ));
            return Ok(());
        }
        Some("since") => MARK.load(Ordering::Relaxed),
        Some(_) => return Err(CommandError::Usage("the options are 'mark' and 'since'")),
    };
    args.finish()?;
    let mut report = LeakReport::<SITES_SHOWN>::default();
    let mode = {
        let heap = HEAP.lock();
        heap.for_each_live(since, &mut |block| report.add(block));
        heap.mode()
    };
    if mode == DebugMode::Off {
        println!("leaks: {DEBUG_OFF}");
        return Err(CommandError::Reported);
    }
    let (blocks, bytes) = report.totals();
    let groups = report.groups();
    kernel::shell::print_summary(format_args!(
        "leaks: since={since} blocks={blocks} bytes={bytes} sites={}",
        groups.len()
    ));
    for group in groups {
        println!(
            "  {:>5} block(s) {:>10}  at {} (newest {:#010x})",
            group.blocks,
            ByteSize(group.bytes as u64),
            group.site,
            group.newest
        );
    }
    if report.other_blocks > 0 {
        println!(
            "  {:>5} block(s) {:>10}  from other sites",
            report.other_blocks,
            ByteSize(report.other_bytes as u64)
        );
    }
    Ok(())
}

fn slabs<'a>(args: &mut Args<'a>) -> Result<(), CommandError<'a>> {
    args.finish()?;
    let mut classes = [crate::heap::slab::ClassInfo {
        object_size: 0,
        capacity: 0,
        slabs: 0,
        live: 0,
    }; crate::heap::slab::CLASS_SIZES.len()];
    let (enabled, stats) = {
        let heap = HEAP.lock();
        for (slot, class) in classes.iter_mut().zip(heap.slabs().classes()) {
            *slot = class;
        }
        (heap.slabs().is_enabled(), heap.stats())
    };
    let total_slabs: usize = classes.iter().map(|class| class.slabs).sum();
    let objects: usize = classes.iter().map(|class| class.live).sum();
    kernel::shell::print_summary(format_args!(
        "slabs: enabled={} slabs={total_slabs} objects={objects} allocations={}",
        if enabled { "yes" } else { "no" },
        stats.allocations
    ));
    if !enabled {
        println!("  every request goes to the heap beneath (boot with slab=on to use slabs)");
        return Ok(());
    }
    println!("  size  per slab  slabs  objects  filled");
    for class in classes.iter().filter(|class| class.slabs > 0) {
        let room = class.slabs * class.capacity;
        println!(
            "  {:>4}  {:>8}  {:>5}  {:>7}  {:>5}%",
            class.object_size,
            class.capacity,
            class.slabs,
            class.live,
            class.live * 100 / room
        );
    }
    Ok(())
}
