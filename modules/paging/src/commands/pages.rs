//! `pages` and `translate`: reading the page tables.

use crate::address::{Indices, PAGE_SIZE};
use crate::kernel_space::{self, space};
use crate::large_allocations;
use crate::page_table::{describe_flags, MappedRun, Missing};
use crate::regions;
use memory::kernel::println;
use memory::kernel::shell::args::{Args, CommandError};
use memory::kernel::shell::format::ByteSize;
use memory::kernel::shell::registry::Command;

pub const PAGES_COMMAND: Command = Command {
    name: "pages",
    usage: "",
    summary: "mapped pages and page tables, then every mapped range",
    run: pages,
};

pub const TRANSLATE_COMMAND: Command = Command {
    name: "translate",
    usage: "ADDR",
    summary: "walk the page tables for ADDR: physical address and flags, or where the walk stops",
    run: translate,
};

/// Runs are collected first and printed after the lock is dropped: nothing
/// may print (or fault) while the page tables are locked.
const MAX_RUNS: usize = 64;

fn pages<'a>(args: &mut Args<'a>) -> Result<(), CommandError<'a>> {
    args.finish()?;
    let mut runs = [None::<MappedRun>; MAX_RUNS];
    let mut count = 0;
    let counts = {
        let mut space = space();
        space.for_each_run(&mut |run| {
            if let Some(slot) = runs.get_mut(count) {
                *slot = Some(run);
            }
            count += 1;
        });
        space.counts()
    };
    memory::kernel::shell::print_summary(format_args!(
        "pages: mapped={} tables={} ranges={count} bytes={}",
        counts.pages,
        counts.tables,
        counts.pages * PAGE_SIZE
    ));
    println!("Mapped ranges (virtual -> physical), split where the region changes:");
    let layout = regions::current();
    for run in runs.iter().flatten() {
        let start = run.start.start();
        let end = start + run.pages * PAGE_SIZE;
        let mut piece = start;
        while piece < end {
            let region = layout.region_of(piece);
            let mut piece_end = piece + PAGE_SIZE;
            while piece_end < end && layout.region_of(piece_end) == region {
                piece_end = piece_end + PAGE_SIZE;
            }
            let frame = run.frame.start() + (piece - start);
            let how = if piece.as_usize() == frame.as_usize() {
                "identity"
            } else {
                "remapped"
            };
            println!(
                "  {piece:#010x}-{piece_end:#010x} -> {frame:#010x}  {:>9}  {:<10} {:<8} {}",
                ByteSize((piece_end - piece) as u64),
                describe_flags(run.flags),
                how,
                region.describe()
            );
            piece = piece_end;
        }
    }
    if count > MAX_RUNS {
        println!("  ... and {} more ranges", count - MAX_RUNS);
    }
    let (runs, live) = large_allocations::snapshot();
    println!(
        "Large allocations: {live} runs of pages ({} mapped), each followed by a guard page:",
        large_allocations::mapped_pages()
    );
    for run in &runs[..live] {
        println!(
            "  {:#010x}-{:#010x}  {:>9}  {} pages for {} bytes",
            run.start,
            run.end(),
            ByteSize((run.end() - run.start) as u64),
            run.pages,
            run.size
        );
    }
    Ok(())
}

fn translate<'a>(args: &mut Args<'a>) -> Result<(), CommandError<'a>> {
    let address = super::address(args, "ADDR")?;
    args.finish()?;
    let indices = Indices::of(address);
    let (directory_index, table_index, offset) = (indices.directory, indices.table, indices.offset);
    let region = regions::region_of(address).describe();
    match kernel_space::translate(address) {
        Ok(translation) => {
            println!(
                "translate: {address:#010x} -> {:#010x} {} directory={directory_index} table={table_index} offset={offset:#x}",
                translation.physical,
                describe_flags(translation.flags),
            );
            println!("  in {region}");
            Ok(())
        }
        Err(missing) => {
            let reason = match missing {
                Missing::Table { .. } => "directory entry empty: no page table covers these 4 MiB",
                Missing::Page { .. } => "page-table entry empty",
            };
            println!(
                "translate: {address:#010x} not mapped directory={directory_index} table={table_index} ({reason})"
            );
            println!("  in {region}");
            Err(CommandError::Reported)
        }
    }
}
