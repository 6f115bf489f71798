//! `bench [ROUNDS]`: what the kernel's memory operations cost, in CPU
//! cycles read with `rdtsc` — one heap allocate and free, one frame
//! allocate and free, and one heap page brought in by a page fault.
//!
//! Under QEMU's TCG these are cycles of the *host* spent emulating the
//! guest, so they are only indicative: compare them with each other (a
//! fault costs hundreds of allocations), not with real hardware. The host
//! benchmarks (`make bench`) measure the same code natively.
//!
//! A later chapter adds measures of its own with [`add_measure`] (chapter
//! 4: a page of a user program's lazy heap, brought in by a fault), and
//! they join the summary line.

use crate::address::{VirtAddr, PAGE_SIZE};
use crate::kernel_space;
use core::alloc::{GlobalAlloc, Layout};
use memory::frames::Owner;
use memory::kernel::println;
use memory::kernel::shell::args::{Args, CommandError};
use memory::kernel::shell::registry::Command;
use memory::kernel_heap::HEAP;
use memory::setup;

pub const BENCH_COMMAND: Command = Command {
    name: "bench",
    usage: "[ROUNDS]",
    summary: "cycles per heap allocate/free, frame allocate/free and demand-faulted heap page",
    run: bench,
};

/// A measure a later chapter adds: its key in the summary line, and a
/// function that returns the value (None: could not measure).
pub type Measure = (&'static str, fn() -> Option<u64>);

static MEASURES: memory::kernel::sync::IrqMutex<[Option<Measure>; 4]> =
    memory::kernel::sync::IrqMutex::new([None; 4]);

/// Adds `measure` to `bench`'s summary line; `false` if there is no room.
pub fn add_measure(measure: Measure) -> bool {
    let mut measures = MEASURES.lock();
    match measures.iter_mut().find(|slot| slot.is_none()) {
        Some(slot) => {
            *slot = Some(measure);
            true
        }
        None => false,
    }
}

const DEFAULT_ROUNDS: u64 = 1000;
const MAX_ROUNDS: u64 = 100_000;
/// Heap requests cycle through these sizes.
const SIZES: [usize; 5] = [16, 64, 256, 1024, 4096];
/// Sizes tried, largest first, for the block whose pages are faulted in.
/// All are large allocations, a run of pages of their own
/// (`large_allocations.rs`), so every page is new (smaller machines fall
/// back to the smaller sizes).
const FAULT_BLOCKS: [usize; 3] = [
    (4 << 20) - PAGE_SIZE,
    (1 << 20) - PAGE_SIZE,
    (256 << 10) - PAGE_SIZE,
];

/// The time-stamp counter.
fn cycles() -> u64 {
    // SAFETY: RDTSC only reads a counter; every CPU QEMU emulates for i686
    // has it, and CR4.TSD is clear, so ring 0 may read it.
    unsafe { core::arch::x86::_rdtsc() }
}

/// Cycles spent in `count` allocate+free pairs.
struct Pairs {
    allocate: u64,
    free: u64,
    count: u64,
}

/// `total` cycles spread over `count` calls (0 for none).
fn per_call(total: u64, count: u64) -> u64 {
    total.checked_div(count).unwrap_or(0)
}

fn bench<'a>(args: &mut Args<'a>) -> Result<(), CommandError<'a>> {
    let rounds = args.optional_number("ROUNDS")?.unwrap_or(DEFAULT_ROUNDS);
    args.finish()?;
    if !(1..=MAX_ROUNDS).contains(&rounds) {
        return Err(CommandError::Usage("ROUNDS is from 1 to 100000"));
    }
    let heap = heap_pairs(rounds).ok_or(CommandError::Failed("the heap is out of memory"))?;
    let frames = frame_pairs(rounds).ok_or(CommandError::Failed("no free frame"))?;
    let (fault_cycles, faulted) = faulted_pages();
    // Copied out: a measure may run a program, which must not find the
    // table locked.
    let measures = *MEASURES.lock();
    let mut extra = [("", None); 4];
    for (slot, measure) in extra.iter_mut().zip(measures.iter().flatten()) {
        *slot = (measure.0, measure.1());
    }
    memory::kernel::shell::print_summary(format_args!(
        "bench: rounds={rounds} heap_alloc={} heap_free={} frame_alloc={} frame_free={} fault_page={} faulted_pages={faulted}{}",
        per_call(heap.allocate, heap.count),
        per_call(heap.free, heap.count),
        per_call(frames.allocate, frames.count),
        per_call(frames.free, frames.count),
        per_call(fault_cycles, faulted),
        Extra(&extra),
    ));
    println!("  cycles per operation, from rdtsc. Under QEMU's TCG they count the host");
    println!("  emulating the guest: indicative only (compare them with each other).");
    if faulted == 0 {
        println!("  fault_page=0: no page of the test block was new (the heap keeps the pages it has touched)");
    }
    Ok(())
}

/// The added measures, as ` key=value` (`key=?` when one failed).
struct Extra<'a>(&'a [(&'static str, Option<u64>)]);

impl core::fmt::Display for Extra<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for (key, value) in self.0.iter().filter(|(key, _)| !key.is_empty()) {
            match value {
                Some(value) => write!(f, " {key}={value}")?,
                None => write!(f, " {key}=?")?,
            }
        }
        Ok(())
    }
}

/// Times `rounds` calls of `allocate`, each followed by `free` of what it
/// returned; both get `state` (the allocator).
fn time_pairs<S, T>(
    rounds: u64, state: &mut S, allocate: impl Fn(&mut S, u64) -> Option<T>,
    free: impl Fn(&mut S, T) -> Option<()>,
) -> Option<Pairs> {
    let mut pairs = Pairs {
        allocate: 0,
        free: 0,
        count: rounds,
    };
    for round in 0..rounds {
        let start = cycles();
        let item = allocate(state, round)?;
        let allocated = cycles();
        free(state, item)?;
        let freed = cycles();
        pairs.allocate += allocated - start;
        pairs.free += freed - allocated;
    }
    Some(pairs)
}

/// Allocates and frees `rounds` blocks through the kernel heap (the same
/// path as `Box::new`).
fn heap_pairs(rounds: u64) -> Option<Pairs> {
    let mut layouts = SIZES.map(|size| Layout::from_size_align(size, 8).ok());
    time_pairs(
        rounds,
        &mut layouts,
        |layouts, round| {
            let layout = layouts[round as usize % layouts.len()]?;
            HEAP.allocate(layout).ok().map(|block| (block, layout))
        },
        |_, (block, layout)| {
            // SAFETY: `block` was just allocated from HEAP with `layout`.
            unsafe { HEAP.dealloc(block.as_ptr(), layout) };
            Some(())
        },
    )
}

/// Allocates and frees one frame `rounds` times.
fn frame_pairs(rounds: u64) -> Option<Pairs> {
    time_pairs(
        rounds,
        &mut setup::frames(),
        |frames, _| frames.allocate(Owner::Kernel).ok(),
        |frames, frame| frames.free(frame, Owner::Kernel).ok(),
    )
}

/// Allocates a large block and writes one byte to each of its pages that
/// is not mapped yet: each such write is a demand fault that maps a frame.
/// Returns the cycles over those writes and how many pages faulted (none
/// if the heap cannot give even the smallest block).
fn faulted_pages() -> (u64, u64) {
    let Some((block, layout)) = FAULT_BLOCKS.iter().find_map(|&size| {
        let layout = Layout::from_size_align(size, PAGE_SIZE).ok()?;
        HEAP.allocate(layout).ok().map(|block| (block, layout))
    }) else {
        return (0, 0);
    };
    let (mut fault_cycles, mut faulted) = (0, 0);
    let start = block.as_ptr() as usize;
    for page in (start..start + layout.size()).step_by(PAGE_SIZE) {
        if kernel_space::translate(VirtAddr::new(page)).is_ok() {
            continue;
        }
        let before = cycles();
        // SAFETY: `page` is inside the block just allocated, which is ours
        // until it is freed below; the heap's fault handler maps it.
        unsafe { (page as *mut u8).write_volatile(0) };
        fault_cycles += cycles() - before;
        faulted += u64::from(kernel_space::translate(VirtAddr::new(page)).is_ok());
    }
    // SAFETY: allocated above with `layout`, freed once.
    unsafe { HEAP.dealloc(block.as_ptr(), layout) };
    (fault_cycles, faulted)
}
