//! Chapter 4's shell commands: `programs` and `run`.
//!
//! `run` ends with a summary line in the shell's `name: key=value` form:
//!
//! ```text
//! strata> run hello
//! hello from ring 3: pid=1 args=""
//! run: name=hello pid=1 exit=0 faulted=0 frames=7 freed=8 leaked=0 ms=10
//! ```
//!
//! `faulted` counts the pages mapped on first touch; `frames` the most the
//! program held at once (its pages and page tables, not the directory);
//! `freed` the frames the teardown gave back (the directory included); and
//! `leaked` the frames held for programs that did not come back: always 0.

use crate::process::{self, RunError};
use crate::programs;
use paging::memory::kernel::println;
use paging::memory::kernel::shell::args::{Args, CommandError};
use paging::memory::kernel::shell::{self, registry::Command};

pub const PROGRAMS_COMMAND: Command = Command {
    name: "programs",
    usage: "",
    summary: "list the user programs GRUB loaded (run them with `run NAME`)",
    run: list,
};

pub const RUN_COMMAND: Command = Command {
    name: "run",
    usage: "NAME [ARGS]",
    summary: "run a user program in ring 3 until it exits (Ctrl-C stops it)",
    run,
};

/// Adds the commands to the shell, and the user heap's fault cost to
/// chapter 3's `bench`.
pub fn register() {
    shell::register_all(&[PROGRAMS_COMMAND, RUN_COMMAND]);
    paging::commands::bench::add_measure(("user_fault_page", user_fault_page));
}

/// Cycles per page of a program's lazy heap, brought in by a fault:
/// measured by the `fault-bench` program itself, which exits with it.
fn user_fault_page() -> Option<u64> {
    let outcome = process::run("fault-bench", "").ok()?;
    (outcome.killed.is_none() && outcome.status > 0).then_some(outcome.status as u64)
}

fn list<'a>(args: &mut Args<'a>) -> Result<(), CommandError<'a>> {
    args.finish()?;
    for program in programs::all() {
        println!("{} size={}", program.name, program.bytes.len());
    }
    println!("programs: count={}", programs::all().len());
    Ok(())
}

fn run<'a>(args: &mut Args<'a>) -> Result<(), CommandError<'a>> {
    let name = args.word("NAME")?;
    let rest: alloc::vec::Vec<&str> = args.rest().collect();
    let text = rest.join(" ");
    let before = process::program_frames();
    match process::run(name, &text) {
        Ok(outcome) => {
            let leaked = process::program_frames().saturating_sub(before);
            match outcome.killed {
                None => println!(
                    "run: name={name} pid={} exit={} faulted={} frames={} freed={} leaked={leaked} ms={}",
                    outcome.pid, outcome.status, outcome.faults, outcome.frames, outcome.freed, outcome.elapsed_ms
                ),
                Some(killed) => println!(
                    "run: name={name} pid={} exit={} killed=\"{killed}\" faulted={} frames={} freed={} leaked={leaked} ms={}",
                    outcome.pid, outcome.status, outcome.faults, outcome.frames, outcome.freed, outcome.elapsed_ms
                ),
            }
            Ok(())
        }
        Err(RunError::NoSuchProgram) => {
            println!("run: no program `{name}`; `programs` lists them");
            Err(CommandError::Reported)
        }
        Err(error) => {
            println!("run: {name}: {error}");
            Err(CommandError::Reported)
        }
    }
}
