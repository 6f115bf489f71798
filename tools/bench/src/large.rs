//! The `large` workload: blocks of 64 KiB to 16 MiB, allocated, touched
//! page by page, reallocated and freed, as a kernel would use them.
//!
//! Two ways to serve them are compared on the same seeded sequence:
//!
//! - a heap in a demand-paged arena (talc, Strata's exact-fit heap): a
//!   page gets a frame when it is first touched and keeps it, since a
//!   heap never gives pages back;
//! - chapter 3's page runs (`strata-runs`): each block is a run of pages
//!   in an address space as large as the arena and laid over it, so that
//!   touching and copying write real memory as the heaps' blocks do; a
//!   page-table double (a set of mapped pages) counts the frames, and
//!   freeing or shrinking a run unmaps its pages.
//!
//! Reported: bytes of frames per live byte (averaged over the operations
//! after which something is live: 1.0 is perfect), and nanoseconds per
//! operation. The page faults themselves are not simulated (both ways take
//! one per touched page in the kernel).

use crate::arena::Arena;
use crate::contender::Contender;
use core::alloc::Layout;
use fastrand::Rng;
use paging::large_allocations::{PageBacking, PageRuns};
use std::time::Instant;

/// Size bands, log-uniform within each: the large allocations chapter 3
/// serves with runs, and the band just below its threshold (to show why
/// the threshold is where it is).
pub const BANDS: [(usize, usize); 2] = [(64 << 10, 16 << 20), (16 << 10, 64 << 10)];
/// Operations per run.
pub const OPERATIONS: usize = 3000;
/// At most this many blocks live at once (about 60 MiB on average).
const MAX_LIVE: usize = 24;
const PAGE: usize = 4096;

/// What one way of serving large blocks measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LargeFigures {
    /// Bytes of frames held per live byte, averaged over the operations.
    pub frames_per_live_byte: f64,
    pub ns_per_operation: f64,
    /// Pages that got a frame (a page fault each, in the kernel), per
    /// operation.
    pub faults_per_operation: f64,
    /// Operations that could not be served (out of memory).
    pub refused: usize,
}

fn size(rng: &mut Rng, (low, high): (usize, usize)) -> usize {
    let (low, high) = (low as f64, high as f64);
    let exponent = rng.f64() * (high / low).log2();
    (low * exponent.exp2()) as usize
}

/// One step of the sequence every contender sees.
#[derive(Clone, Copy)]
enum Step {
    Allocate(usize),
    Free(usize),
    Reallocate(usize, usize),
}

fn steps(seed: u64, band: (usize, usize)) -> Vec<Step> {
    let mut rng = Rng::with_seed(seed);
    let mut live = 0usize;
    (0..OPERATIONS)
        .map(|_| match rng.u32(0..4) {
            _ if live == 0 => {
                live += 1;
                Step::Allocate(size(&mut rng, band))
            }
            0 | 1 if live < MAX_LIVE => {
                live += 1;
                Step::Allocate(size(&mut rng, band))
            }
            2 => Step::Reallocate(rng.usize(0..live), size(&mut rng, band)),
            _ => {
                live -= 1;
                Step::Free(rng.usize(0..=live))
            }
        })
        .collect()
}

/// The mean of frames held per live byte, over the operations after which
/// something was live.
#[derive(Default)]
struct Ratios {
    sum: f64,
    count: usize,
}

impl Ratios {
    fn add(&mut self, frames: usize, live_bytes: usize) {
        if live_bytes > 0 {
            self.sum += (frames * PAGE) as f64 / live_bytes as f64;
            self.count += 1;
        }
    }

    fn mean(&self) -> f64 {
        self.sum / self.count.max(1) as f64
    }
}

/// A set of pages with frames: the page-table double.
struct Frames {
    mapped: Vec<bool>,
    count: usize,
    faults: usize,
    base: usize,
}

impl Frames {
    fn new(base: usize, bytes: usize) -> Self {
        Self {
            mapped: vec![false; bytes / PAGE],
            count: 0,
            faults: 0,
            base,
        }
    }

    /// Touches every page of `[start, start + len)`.
    fn touch(&mut self, start: usize, len: usize) {
        let first = (start - self.base) / PAGE;
        let last = (start + len - 1 - self.base) / PAGE;
        for page in &mut self.mapped[first..=last] {
            self.count += usize::from(!*page);
            self.faults += usize::from(!*page);
            *page = true;
        }
    }
}

impl PageBacking for Frames {
    fn promise(&mut self, _pages: usize) -> bool {
        true
    }

    fn release(&mut self, from: usize, to: usize) {
        for page in &mut self.mapped[(from - self.base) / PAGE..(to - self.base) / PAGE] {
            self.count -= usize::from(*page);
            *page = false;
        }
    }

    fn release_promise(&mut self, _pages: usize) {}
}

/// The sequence through a heap over `arena`, each page of the arena
/// getting a frame when first touched.
pub fn large_heap<C: Contender>(arena: &Arena, seed: u64, band: (usize, usize)) -> LargeFigures {
    // SAFETY: the arena outlives the allocator, dropped at the end.
    let allocator = unsafe { C::over(arena) };
    let mut frames = Frames::new(arena.start() as usize, arena.size());
    let mut live: Vec<(*mut u8, Layout)> = Vec::new();
    let (mut ratios, mut refused) = (Ratios::default(), 0);
    let started = Instant::now();
    let steps = steps(seed, band);
    for &step in &steps {
        match step {
            Step::Allocate(size) => {
                let layout = Layout::from_size_align(size, 8).expect("a valid size");
                // SAFETY: a layout with a non-zero size.
                let pointer = unsafe { allocator.alloc(layout) };
                if pointer.is_null() {
                    refused += 1;
                    continue;
                }
                touch(pointer, size, &mut frames);
                live.push((pointer, layout));
            }
            Step::Free(index) if index < live.len() => {
                let (pointer, layout) = live.swap_remove(index);
                // SAFETY: live, with this layout, freed once.
                unsafe { allocator.dealloc(pointer, layout) };
            }
            Step::Reallocate(index, size) if index < live.len() => {
                let (pointer, layout) = live[index];
                // SAFETY: live, with this layout; the new size is not 0.
                let moved = unsafe { allocator.realloc(pointer, layout, size) };
                if moved.is_null() {
                    refused += 1;
                    continue;
                }
                touch(moved, size, &mut frames);
                live[index] = (moved, Layout::from_size_align(size, 8).expect("valid"));
            }
            _ => {}
        }
        let bytes: usize = live.iter().map(|(_, layout)| layout.size()).sum();
        ratios.add(frames.count, bytes);
    }
    let took = started.elapsed();
    for (pointer, layout) in live {
        // SAFETY: live, with this layout, freed once.
        unsafe { allocator.dealloc(pointer, layout) };
    }
    LargeFigures {
        frames_per_live_byte: ratios.mean(),
        ns_per_operation: took.as_nanos() as f64 / steps.len() as f64,
        faults_per_operation: frames.faults as f64 / steps.len() as f64,
        refused,
    }
}

/// Writes one byte in every page of the block: as the kernel's code would,
/// each touch of a new page is a fault that maps a frame.
fn touch(pointer: *mut u8, size: usize, frames: &mut Frames) {
    for offset in (0..size).step_by(PAGE) {
        // SAFETY: inside the block just handed out.
        unsafe { pointer.add(offset).write_volatile(1) };
    }
    frames.touch(pointer as usize, size);
}

/// The sequence through chapter 3's page runs, their addresses laid over
/// `arena`; moving a run copies it, as the kernel does when a run cannot
/// grow in place.
pub fn large_runs(arena: &Arena, seed: u64, band: (usize, usize)) -> LargeFigures {
    let base = arena.start() as usize;
    let mut runs = PageRuns::new(base, base + arena.size());
    let mut frames = Frames::new(base, arena.size());
    let mut live: Vec<(usize, usize)> = Vec::new();
    let (mut ratios, mut refused) = (Ratios::default(), 0);
    let started = Instant::now();
    let steps = steps(seed, band);
    for &step in &steps {
        match step {
            Step::Allocate(size) => match runs.allocate(&mut frames, size) {
                Ok(run) => {
                    touch(run.start as *mut u8, size, &mut frames);
                    live.push((run.start, size));
                }
                Err(_) => refused += 1,
            },
            Step::Free(index) if index < live.len() => {
                let (start, _) = live.swap_remove(index);
                runs.free(&mut frames, start).expect("live");
            }
            Step::Reallocate(index, size) if index < live.len() => {
                let (start, old) = live[index];
                let start = match runs.resize_in_place(&mut frames, start, size) {
                    Ok(_) => start,
                    Err(_) => match runs.allocate(&mut frames, size) {
                        Ok(new) => {
                            // SAFETY: both runs lie in the arena, are
                            // distinct, and hold at least this many bytes.
                            unsafe {
                                core::ptr::copy_nonoverlapping(
                                    start as *const u8,
                                    new.start as *mut u8,
                                    old.min(size),
                                )
                            };
                            frames.touch(new.start, old.min(size));
                            runs.free(&mut frames, start).expect("live");
                            new.start
                        }
                        Err(_) => {
                            refused += 1;
                            continue;
                        }
                    },
                };
                touch(start as *mut u8, size, &mut frames);
                live[index] = (start, size);
            }
            _ => {}
        }
        let bytes: usize = live.iter().map(|&(_, size)| size).sum();
        ratios.add(frames.count, bytes);
    }
    let took = started.elapsed();
    LargeFigures {
        frames_per_live_byte: ratios.mean(),
        ns_per_operation: took.as_nanos() as f64 / steps.len() as f64,
        faults_per_operation: frames.faults as f64 / steps.len() as f64,
        refused,
    }
}
