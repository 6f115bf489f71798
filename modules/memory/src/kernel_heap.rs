//! The kernel's heap: the `#[global_allocator]` behind `Box`, `Vec`,
//! `String` and `BTreeMap`.
//!
//! Which heap it is comes from the kernel command line — `heap=buddy`
//! (the default), `heap=exact` (the buddy heap trimmed to each request),
//! `heap=pool` or `heap=bump`, and for the pool
//! `pool=first|best` — with two layers in front:
//!
//! ```text
//!   HEAP: LockedHeap<KernelHeap>          the lock, GlobalAlloc, call sites
//!     KernelHeap = DebugHeap<Slabs>       heapdebug=off|poison|full (default off)
//!       Slabs    = SlabHeap<BaseHeap>     slab=on|off (default on: objects <= 1 KiB)
//!         BaseHeap = AnyHeap              heap=buddy|exact|pool|bump (default buddy),
//!                                         pool=first|best (the pool's fit)
//! ```
//!
//! Its memory is a run of
//! contiguous frames from the frame allocator: an eighth of free RAM,
//! rounded down to a power of two (so the buddy heap starts as one block),
//! between 256 KiB and 16 MiB.
//!
//! Two things can go wrong that `GlobalAlloc` cannot return as an error:
//!
//! - a bad `dealloc` (a double free, a pointer the heap never handed out):
//!   the heap refuses it and `report_misuse` prints what and where; the
//!   kernel carries on;
//! - running out of memory: `alloc` returns null, and Rust calls the
//!   allocation-error handler below, which reports the request and the
//!   heap's state and stops the kernel.

use crate::frames::{Owner, FRAME_SIZE};
use crate::heap::debug::HeapBug;
use crate::heap::{
    trace, AnyHeap, DebugHeap, DebugMode, Fit, Heap, HeapError, HeapKind, HeapStats, LockedHeap,
    SlabHeap, TraceEvent,
};
use crate::setup;
use core::alloc::Layout;
use core::fmt::{self, Write};
use kernel::command_line::{self, KernelOption};

/// The kernel's heap, named layer by layer from the top; each wraps the
/// one below it (the table at the top of this file says what picks each).
pub type KernelHeap = DebugHeap<Slabs>;
/// The slab layer: small objects packed into pages, in front of the base.
pub type Slabs = SlabHeap<BaseHeap>;
/// The base heap: the one `heap=` (and `pool=`) chose.
pub type BaseHeap = AnyHeap;

/// The kernel heap. Empty (every allocation fails) until `init`.
#[global_allocator]
pub static HEAP: LockedHeap<KernelHeap> = LockedHeap::new(KernelHeap::new(
    Slabs::new(BaseHeap::new(HeapKind::Buddy, Fit::First), true),
    DebugMode::Off,
));

impl KernelHeap {
    /// The slab layer, beneath the debugger.
    pub fn slabs(&self) -> &Slabs {
        self.beneath()
    }

    /// The base heap, beneath the slabs and the debugger.
    pub fn base(&self) -> &BaseHeap {
        self.slabs().beneath()
    }

    /// The base heap, to allocate from directly (for `demo`, which shows
    /// buddy blocks splitting and merging). Blocks taken from it directly
    /// must be given back to it directly.
    pub fn base_mut(&mut self) -> &mut BaseHeap {
        self.beneath_mut().beneath_mut()
    }

    /// Which heap the base is.
    pub fn kind(&self) -> HeapKind {
        self.base().kind()
    }

    /// The pool's placement policy, if the pool is the base.
    pub fn fit(&self) -> Option<Fit> {
        self.base().fit()
    }
}

/// What the kernel command line chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeapOptions {
    /// `heap=buddy|exact|pool|bump`.
    pub kind: HeapKind,
    /// `pool=first|best`: how the pool picks a free chunk (only the pool
    /// has a choice; the other heaps ignore it).
    pub fit: Fit,
    /// `slab=on|off`.
    pub slabs: bool,
    /// `heapdebug=off|poison|full`.
    pub debug: DebugMode,
}

const MIN_HEAP: usize = 256 << 10;
const MAX_HEAP: usize = 16 << 20;

/// Picks the heap from the command line and gives it its first region: a
/// run of frames (chapter 2, paging off).
pub(crate) fn init() {
    let options = options_from_command_line();
    let free_bytes = setup::frames().counts().free * FRAME_SIZE;
    let size = heap_size_for(free_bytes);
    let first = setup::frames().allocate_contiguous(size / FRAME_SIZE, FRAME_SIZE, Owner::Heap);
    let Ok(first) = first else {
        panic!("no {size} contiguous bytes of RAM for the kernel heap");
    };
    // SAFETY: the frames were just allocated for the heap alone, and are
    // never freed; paging is off, so their physical address is usable.
    unsafe { install(options, first.start().as_usize(), size) };
    setup::count_kernel_frames_with(|| HEAP.lock().stats().total.div_ceil(FRAME_SIZE));
}

/// The kernel command-line options the heap reads.
pub const OPTIONS: &[KernelOption] = &[
    KernelOption {
        name: "heap",
        values: "buddy|exact|pool|bump",
    },
    KernelOption {
        name: "pool",
        values: "first|best",
    },
    KernelOption {
        name: "slab",
        values: "on|off",
    },
    KernelOption {
        name: "heapdebug",
        values: "off|poison|full",
    },
];

/// `heap=`, `pool=`, `slab=` and `heapdebug=` from the kernel command line;
/// a value that is not one of the choices is reported and the default used.
pub fn options_from_command_line() -> HeapOptions {
    command_line::register(OPTIONS);
    let pick = |key: &str, choices: &str| {
        let value = command_line::option(key)?;
        if !choices.split(',').any(|choice| choice == value) {
            log::warn!("{key}={value} is not one of {choices}: using the default");
        }
        Some(value)
    };
    let options = HeapOptions {
        kind: pick("heap", "buddy,exact,pool,bump")
            .and_then(HeapKind::parse)
            .unwrap_or(HeapKind::Buddy),
        fit: pick("pool", "first,best")
            .and_then(Fit::parse)
            .unwrap_or(Fit::First),
        slabs: command_line::switch("slab", true),
        debug: pick("heapdebug", "off,poison,full")
            .and_then(DebugMode::parse)
            .unwrap_or(DebugMode::Off),
    };
    if options.kind != HeapKind::Pool {
        if let Some(fit) = command_line::option("pool") {
            log::warn!(
                "pool={fit} has no effect: the heap is {} (pool= applies to heap=pool)",
                options.kind.name()
            );
        }
    }
    options
}

/// Makes [`HEAP`] an empty heap as `options` say, with `[start, start +
/// size)` as its first region, and routes its reports to the log.
///
/// # Safety
/// The memory must be usable by the heap alone, for ever (as for
/// [`Heap::add_region`]), and nothing may have been allocated yet.
pub unsafe fn install(options: HeapOptions, start: usize, size: usize) {
    let mut heap = HEAP.lock();
    *heap = KernelHeap::new(
        Slabs::new(BaseHeap::new(options.kind, options.fit), options.slabs),
        options.debug,
    );
    heap.set_reporter(report_bug);
    // SAFETY: the caller's promise.
    if let Err(error) = unsafe { heap.add_region(start, size) } {
        panic!("cannot give the heap its memory: {error}");
    }
    drop(heap);
    HEAP.set_error_reporter(report_misuse);
    HEAP.record_call_sites(options.debug != DebugMode::Off);
    HEAP.tracer().set_sink(trace_to_serial);
    let kind = match (options.kind, options.fit) {
        (HeapKind::Pool, Fit::First) => "first-fit pool",
        (HeapKind::Pool, Fit::Best) => "best-fit pool",
        (kind, _) => kind.name(),
    };
    log::info!(
        "heap: {kind} heap of {} at {start:#x}, slabs {}, heapdebug={}",
        kernel::shell::format::ByteSize(size as u64),
        if options.slabs { "on" } else { "off" },
        options.debug.name()
    );
}

/// Prints a bug the heap debugger caught. Runs with the heap locked: the
/// log writes straight to the console and serial port, without allocating.
fn report_bug(bug: &HeapBug) {
    log::error!("heap debug: {bug}");
}

/// An eighth of free memory, as a power of two, within the limits.
pub fn heap_size_for(free_bytes: usize) -> usize {
    let eighth = (free_bytes / 8).max(1);
    (1 << (usize::BITS - 1 - eighth.leading_zeros())).clamp(MIN_HEAP, MAX_HEAP)
}

/// Where the heap's trace goes (the shell's `heaptrace` turns it on): one
/// line on the serial port alone, so that the screen stays readable. It
/// runs inside the allocator with interrupts off, and formats straight
/// into the port, without allocating.
fn trace_to_serial(event: &TraceEvent) {
    kernel::console::print_serial_only(format_args!("{}{event}\r\n", trace::PREFIX));
}

/// Prints a heap error that `dealloc` or `realloc` could not return.
fn report_misuse(error: &HeapError) {
    log::error!("heap: refused a bad free or realloc: {error} (the block is left as it was)");
}

/// Adds `key=value` pairs to the end of the `heap:` summary line.
pub type SummaryExtension = fn(&mut dyn Write) -> fmt::Result;

static SUMMARY_EXTENSION: spin::Once<SummaryExtension> = spin::Once::new();

/// Lets a later chapter append its own figures to the `heap:` summary line
/// (chapter 3 adds what is reserved, mapped and faulted in). Set once.
pub fn extend_summary(extension: SummaryExtension) {
    SUMMARY_EXTENSION.call_once(|| extension);
}

/// The summary line `heap` prints first.
pub type SummaryLine = kernel::shell::format::FixedText<512>;

/// `key=value` summary of heap statistics, as `heap` prints first; `fit` is
/// the pool's policy (`fit=first|best`, after the figures), if it is the pool.
pub fn summary_line(kind: &str, fit: Option<Fit>, stats: &HeapStats) -> SummaryLine {
    let mut line = SummaryLine::new();
    let _ = write!(
        line,
        "heap: kind={kind} total={} used={} free={} largest={} allocations={} peak={} requested={}",
        stats.total,
        stats.used,
        stats.free,
        stats.largest_free,
        stats.allocations,
        stats.peak_used,
        stats.requested
    );
    if let Some(fit) = fit {
        let _ = write!(line, " fit={}", fit.name());
    }
    if let Some(extend) = SUMMARY_EXTENSION.get() {
        let _ = extend(&mut line);
    }
    line
}

/// Prints [`summary_line`].
pub fn print_summary(kind: &str, fit: Option<Fit>, stats: &HeapStats) {
    kernel::shell::print_summary(format_args!("{}", summary_line(kind, fit, stats).as_str()));
}

#[alloc_error_handler]
fn allocation_failed(layout: Layout) -> ! {
    let stats = HEAP.try_stats().unwrap_or(HeapStats::empty());
    panic!(
        "out of memory: the kernel heap could not allocate {} bytes aligned to {} \
         (heap: total={} used={} free={} largest={} allocations={})",
        layout.size(),
        layout.align(),
        stats.total,
        stats.used,
        stats.free,
        stats.largest_free,
        stats.allocations
    );
}
