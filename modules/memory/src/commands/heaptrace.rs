//! `heaptrace`: every allocation, free and reallocation of the kernel heap,
//! streamed to the serial port as it happens, one line each (the format is
//! in `heap/trace.rs` and docs/heap-debugging.md). `make trace` records a
//! session of it to a file.
//!
//! The lines go to the serial port alone (`kernel_heap.rs` sends them
//! there), so the screen stays readable. The summary lines this command
//! prints (`heaptrace: on ...`, `heaptrace: off ...`) go to both, and
//! frame the trace.

use crate::heap::Heap;
use crate::kernel_heap::HEAP;
use core::sync::atomic::{AtomicUsize, Ordering};
use kernel::println;
use kernel::shell::args::{Args, CommandError};
use kernel::shell::print_summary;
use kernel::shell::registry::Command;

pub const HEAPTRACE_COMMAND: Command = Command {
    name: "heaptrace",
    usage: "[on|off|status]",
    summary: "stream every heap allocation and free to serial, a line each",
    run: heaptrace,
};

/// The event count when tracing was last turned on.
static STARTED_AT: AtomicUsize = AtomicUsize::new(0);

fn heaptrace<'a>(args: &mut Args<'a>) -> Result<(), CommandError<'a>> {
    let word = args.next_word();
    args.finish()?;
    let tracer = HEAP.tracer();
    match word {
        Some("on") => {
            let (name, stats) = {
                let heap = HEAP.lock();
                (heap.name(), heap.stats())
            };
            // The first line of the trace says what was there before it.
            print_summary(format_args!(
                "heaptrace: on kind={name} total={} used={} allocations={}",
                stats.total, stats.used, stats.allocations
            ));
            STARTED_AT.store(tracer.events(), Ordering::Relaxed);
            tracer.set_on(true);
            println!("  each allocation and free now goes to serial as a 'heaptrace:' line");
        }
        Some("off") => {
            tracer.set_on(false);
            let events = tracer
                .events()
                .saturating_sub(STARTED_AT.load(Ordering::Relaxed));
            print_summary(format_args!("heaptrace: off events={events}"));
        }
        None | Some("status") => print_summary(format_args!(
            "heaptrace: tracing={} events={}",
            if tracer.is_on() { "on" } else { "off" },
            tracer.events()
        )),
        Some(_) => {
            return Err(CommandError::Usage(
                "the options are 'on', 'off' and 'status'",
            ))
        }
    }
    Ok(())
}
