//! The allocator workloads. Each takes a fresh [`Contender`] over the arena
//! and a seed, so every allocator sees the same sequence of requests.
//!
//! - [`random_actions`]: throughput under a random mix of allocate, free
//!   and (optionally) reallocate, sizes biased towards small;
//! - [`heap_efficiency`]: how much of the arena is live when the first
//!   request fails;
//! - [`microbench`]: cycles per allocate and per free, as percentiles;
//! - [`pair`]: nanoseconds per allocate+free of one fixed size.

use crate::arena::Arena;
use crate::contender::Contender;
use core::alloc::Layout;
use core::hint::black_box;
use fastrand::Rng;
use std::time::{Duration, Instant};

/// How long and how often to measure.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub trials: u64,
    pub warmup: Duration,
    pub trial: Duration,
    pub efficiency_runs: u64,
    pub microbench: Duration,
    pub pair_iterations: u64,
    pub seed: u64,
}

impl Plan {
    /// The figures `make bench` reports (about two minutes for everything).
    pub const FULL: Self = Self {
        trials: 5,
        warmup: Duration::from_millis(5),
        trial: Duration::from_millis(150),
        efficiency_runs: 40,
        microbench: Duration::from_millis(400),
        pair_iterations: 1_000_000,
        seed: 0x5EED_5747_A7A0,
    };

    /// A quick pass (seconds) for checking the benchmark itself works.
    pub const QUICK: Self = Self {
        trials: 1,
        warmup: Duration::from_millis(1),
        trial: Duration::from_millis(20),
        efficiency_runs: 3,
        microbench: Duration::from_millis(50),
        pair_iterations: 20_000,
        seed: 0x5EED_5747_A7A0,
    };
}

/// A live allocation.
struct Block {
    pointer: *mut u8,
    layout: Layout,
}

/// A size up to `max`, biased towards small ones: first a random cap, then
/// a size below it. Most sizes land within a few powers of two of `max`,
/// with a long tail of small ones, as real programs do.
pub fn small_biased_size(rng: &mut Rng, max: usize) -> usize {
    let cap = rng.usize(16..max.max(17));
    rng.usize(1..cap)
}

/// An alignment that is usually a word: word × 2^k with probability about
/// 3/4, 3/16, 3/64, ... (from the trailing zeros of a random number).
pub fn word_biased_align(rng: &mut Rng) -> usize {
    size_of::<usize>() << (rng.u16(..).trailing_zeros() / 2)
}

fn random_layout(rng: &mut Rng, max: usize) -> Layout {
    Layout::from_size_align(small_biased_size(rng, max), word_biased_align(rng))
        .expect("sizes and alignments are small")
}

fn allocate<C: Contender>(allocator: &C, layout: Layout) -> Option<Block> {
    // SAFETY: every layout here has a non-zero size.
    let pointer = unsafe { allocator.alloc(layout) };
    (!pointer.is_null()).then_some(Block { pointer, layout })
}

fn free<C: Contender>(allocator: &C, block: Block) {
    // SAFETY: `block` came from this allocator with this layout and is
    // freed once (it is moved in).
    unsafe { allocator.dealloc(block.pointer, block.layout) }
}

/// Resizes `block`; on failure it is left as it was.
fn reallocate<C: Contender>(allocator: &C, block: &mut Block, new_size: usize) -> bool {
    // SAFETY: `block` is live in this allocator with this layout, and
    // `new_size` is not zero.
    let pointer = unsafe { allocator.realloc(block.pointer, block.layout, new_size) };
    if pointer.is_null() {
        return false;
    }
    block.pointer = pointer;
    block.layout = Layout::from_size_align(new_size, block.layout.align()).expect("same align");
    true
}

/// Reallocations ask for up to this many times the largest allocation.
const REALLOC_GROWTH: usize = 3;
/// Below this many live blocks, random actions always allocate.
const MIN_LIVE: usize = 300;

/// Random actions: operations per second in trial `trial` (its own seed).
///
/// Each action is, with `realloc`, one of 7 equally likely choices: 3
/// allocate, 3 free a random live block, 1 reallocate one (to up to three
/// times `max_size`); without it, 3 and 3. Below 300 live blocks it always
/// allocates, so the heap neither empties nor grows without bound. Only
/// successful operations count.
pub fn random_actions<C: Contender>(
    arena: &Arena, plan: &Plan, max_size: usize, realloc: bool, trial: u64,
) -> f64 {
    // SAFETY: the arena outlives the allocator, which is dropped (with
    // everything in it) before the next one is built over the arena.
    let allocator = unsafe { C::over(arena) };
    let mut rng = Rng::with_seed(plan.seed + trial);
    let mut live = Vec::with_capacity(100_000);
    let mut run =
        |duration| random_action_loop(&allocator, &mut rng, &mut live, max_size, realloc, duration);
    run(plan.warmup);
    let (operations, took) = run(plan.trial);
    operations as f64 / took.as_secs_f64()
}

fn random_action_loop<C: Contender>(
    allocator: &C, rng: &mut Rng, live: &mut Vec<Block>, max_size: usize, realloc: bool,
    duration: Duration,
) -> (u64, Duration) {
    let choices = if realloc { 7 } else { 6 };
    let mut operations = 0;
    let start = Instant::now();
    while start.elapsed() < duration {
        for _ in 0..100 {
            let action = rng.u32(0..choices);
            let done = if action == 6 {
                let new_size = rng.usize(1..max_size * REALLOC_GROWTH);
                match live.len() {
                    0 => false,
                    count => reallocate(allocator, &mut live[rng.usize(0..count)], new_size),
                }
            } else if action < 3 || live.len() < MIN_LIVE {
                allocate(allocator, random_layout(rng, max_size))
                    .map(|block| live.push(block))
                    .is_some()
            } else {
                let index = rng.usize(0..live.len());
                free(allocator, live.swap_remove(index));
                true
            };
            operations += u64::from(done);
        }
    }
    (operations, start.elapsed())
}

/// What [`heap_efficiency`] measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Efficiency {
    /// Bytes the program had live at the first failure, over the arena:
    /// the share of the memory the allocator could actually hand out.
    pub live: f64,
    /// The share of the arena taken by block headers at that moment.
    pub headers: f64,
    /// The share in allocated blocks (live bytes, headers and rounding up),
    /// for allocators that count it; the rest of the arena was free but in
    /// pieces too small for the request that failed.
    pub blocks: Option<f64>,
}

/// Largest allocation in the efficiency run, and how far a reallocation
/// may grow it.
/// Heap efficiency's mixes, as (largest allocation, largest reallocation):
/// mixed sizes that grow by reallocation up to ten times, and small objects
/// that stay small (a kernel's `Box`es and tree nodes, where slabs matter).
pub const EFFICIENCY_SIZES: [(usize, usize); 2] = [(10_000, 100_000), (500, 500)];
/// The small-object mix runs in an arena of this size: filling 128 MiB with
/// objects of 250 bytes on average would take a first-fit list allocator
/// (linked_list_allocator) hours.
pub const SMALL_OBJECT_ARENA: usize = 8 << 20;

/// Heap efficiency: allocate (5 in 10), free (1 in 10) and reallocate (4 in
/// 10) at random until the first request fails, then note how many bytes
/// were live. Averaged over the plan's runs, each on a fresh allocator.
pub fn heap_efficiency<C: Contender>(
    arena: &Arena, plan: &Plan, (max, realloc_max): (usize, usize),
) -> Efficiency {
    // Shares of the arena, summed over runs (bytes would overflow a 32-bit
    // usize after a few runs of 128 MiB).
    let (mut live_share, mut header_share) = (0.0, 0.0);
    let mut block_share = Some(0.0);
    let arena_bytes = arena.size() as f64;
    for run in 0..plan.efficiency_runs {
        // SAFETY: as in `random_actions`.
        let allocator = unsafe { C::over(arena) };
        let mut rng = Rng::with_seed(plan.seed + run);
        let mut live: Vec<Block> = Vec::with_capacity(100_000);
        loop {
            let ok = match rng.u32(0..10) {
                0..=4 => allocate(&allocator, random_layout(&mut rng, max))
                    .map(|block| live.push(block))
                    .is_some(),
                5 if !live.is_empty() => {
                    let index = rng.usize(0..live.len());
                    free(&allocator, live.swap_remove(index));
                    true
                }
                6.. if !live.is_empty() => {
                    let index = rng.usize(0..live.len());
                    let new_size = rng.usize(1..realloc_max);
                    reallocate(&allocator, &mut live[index], new_size)
                }
                _ => true,
            };
            if !ok {
                break;
            }
        }
        let live_bytes: usize = live.iter().map(|block| block.layout.size()).sum();
        live_share += live_bytes as f64 / arena_bytes;
        header_share += (live.len() * C::BLOCK_HEADER) as f64 / arena_bytes;
        block_share = block_share
            .zip(allocator.used_bytes())
            .map(|(sum, used)| sum + used as f64 / arena_bytes);
    }
    let runs = plan.efficiency_runs as f64;
    Efficiency {
        live: live_share / runs,
        headers: header_share / runs,
        blocks: block_share.map(|share| share / runs),
    }
}

/// The processor's time-stamp counter, fenced so the compiler does not move
/// the measured call across it.
#[inline(always)]
pub fn cycles() -> u64 {
    core::sync::atomic::compiler_fence(core::sync::atomic::Ordering::SeqCst);
    #[cfg(target_arch = "x86")]
    // SAFETY: RDTSC only reads a counter; every i686 CPU QEMU or a host
    // offers has it.
    let now = unsafe { core::arch::x86::_rdtsc() };
    #[cfg(target_arch = "x86_64")]
    // SAFETY: as above.
    let now = unsafe { core::arch::x86_64::_rdtsc() };
    core::sync::atomic::compiler_fence(core::sync::atomic::Ordering::SeqCst);
    now
}

/// The 1st, 25th, 50th, 75th and 99th percentiles.
pub const PERCENTILES: [usize; 5] = [1, 25, 50, 75, 99];

/// The [`PERCENTILES`] of `samples` (sorted in place; nearest rank).
pub fn percentiles(samples: &mut [u64]) -> [u64; 5] {
    assert!(!samples.is_empty(), "no samples");
    samples.sort_unstable();
    PERCENTILES.map(|p| samples[(samples.len() * p / 100).min(samples.len() - 1)])
}

/// Cycles spent in each allocate and each free.
#[derive(Debug, Default)]
pub struct CycleSamples {
    pub allocate: Vec<u64>,
    pub free: Vec<u64>,
}

impl CycleSamples {
    /// The percentiles of an allocate+free pair: the sum of the two at each
    /// percentile.
    pub fn pair_percentiles(&mut self) -> [u64; 5] {
        let allocate = percentiles(&mut self.allocate);
        let free = percentiles(&mut self.free);
        core::array::from_fn(|i| allocate[i] + free[i])
    }
}

/// Up to this many blocks stay live in the microbenchmark.
const MICRO_MAX_LIVE: usize = 600;
const MICRO_KEEP: usize = 50;

/// One round of the microbenchmark, lasting `duration`: time each allocate
/// (sizes up to 64 KiB, small-biased) and each free in cycles, with 50 to
/// 600 blocks live, after a warm-up of growing sizes.
pub fn microbench<C: Contender>(
    arena: &Arena, plan: &Plan, round: u64, duration: Duration, samples: &mut CycleSamples,
) {
    // SAFETY: as in `random_actions`.
    let allocator = unsafe { C::over(arena) };
    let mut rng = Rng::with_seed(plan.seed + round);
    for size in (8..80_000).step_by(8) {
        let layout = Layout::from_size_align(size, 8).expect("small");
        if let Some(block) = allocate(&allocator, layout) {
            free(&allocator, block);
        }
    }
    let mut live: Vec<Block> = Vec::with_capacity(MICRO_MAX_LIVE + 1);
    let start = Instant::now();
    for step in 0u64.. {
        if step % 256 == 0 && start.elapsed() > duration {
            break;
        }
        let layout = random_layout(&mut rng, 0x10000);
        let before = cycles();
        let block = allocate(&allocator, layout);
        let took = cycles().wrapping_sub(before);
        let Some(block) = block else {
            for block in live.drain(MICRO_KEEP.min(live.len())..) {
                free(&allocator, block);
            }
            continue;
        };
        samples.allocate.push(took);
        live.push(block);
        if (live.len() > MICRO_KEEP && rng.u32(0..10) == 0) || live.len() > MICRO_MAX_LIVE {
            for _ in 0..8 {
                let block = live.swap_remove(rng.usize(0..live.len()));
                let before = cycles();
                free(&allocator, block);
                samples.free.push(cycles().wrapping_sub(before));
            }
        }
    }
}

/// Blocks left live around the fixed-size pairs, so the allocator works
/// in a used heap rather than an empty one.
const PAIR_BACKGROUND: usize = 1000;

/// Nanoseconds per allocate+free of `size` bytes (word-aligned), with 1000
/// random blocks live around it, over `iterations` pairs.
pub fn pair<C: Contender>(arena: &Arena, plan: &Plan, size: usize, iterations: u64) -> f64 {
    // SAFETY: as in `random_actions`.
    let allocator = unsafe { C::over(arena) };
    let mut rng = Rng::with_seed(plan.seed);
    let background: Vec<Block> = (0..PAIR_BACKGROUND)
        .filter_map(|_| allocate(&allocator, random_layout(&mut rng, 4096)))
        .collect();
    let layout = Layout::from_size_align(size, size_of::<usize>()).expect("small");
    let start = Instant::now();
    for _ in 0..iterations {
        let block = allocate(&allocator, black_box(layout)).expect("one block always fits");
        black_box(block.pointer);
        free(&allocator, block);
    }
    let took = start.elapsed();
    drop(background);
    took.as_nanos() as f64 / iterations as f64
}

/// The median of `values` (sorted in place).
pub fn median(values: &mut [f64]) -> f64 {
    assert!(!values.is_empty(), "no values");
    values.sort_unstable_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Every workload, instantiated for one contender: the table the benchmark
/// walks, so that it can take turns between allocators trial by trial (a
/// noisy moment on the host then hurts everyone alike).
pub struct Workloads {
    pub name: &'static str,
    pub block_header: usize,
    pub random_actions: fn(&Arena, &Plan, usize, bool, u64) -> f64,
    pub heap_efficiency: fn(&Arena, &Plan, (usize, usize)) -> Efficiency,
    pub microbench: fn(&Arena, &Plan, u64, Duration, &mut CycleSamples),
    pub pair: fn(&Arena, &Plan, usize, u64) -> f64,
    pub large: fn(&Arena, u64, (usize, usize)) -> crate::large::LargeFigures,
}

impl Workloads {
    pub fn of<C: Contender>() -> Self {
        Self {
            name: C::NAME,
            block_header: C::BLOCK_HEADER,
            random_actions: random_actions::<C>,
            heap_efficiency: heap_efficiency::<C>,
            microbench: microbench::<C>,
            pair: pair::<C>,
            large: crate::large::large_heap::<C>,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contender::{StrataBuddy, StrataPool, StrataPoolBest, StrataSlab};

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let mut samples: Vec<u64> = (1..=100).rev().collect();
        assert_eq!(percentiles(&mut samples), [2, 26, 51, 76, 100]);
        assert_eq!(percentiles(&mut [7]), [7; 5]);
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
    }

    #[test]
    fn sizes_and_alignments_stay_in_range_and_are_mostly_small() {
        let mut rng = Rng::with_seed(1);
        let sizes: Vec<usize> = (0..10_000)
            .map(|_| small_biased_size(&mut rng, 1000))
            .collect();
        assert!(sizes.iter().all(|&size| (1..1000).contains(&size)));
        let below_half = sizes.iter().filter(|&&size| size < 500).count();
        assert!(below_half > 6000, "{below_half} of 10000 below half");
        let aligns: Vec<usize> = (0..10_000).map(|_| word_biased_align(&mut rng)).collect();
        let words = aligns.iter().filter(|&&a| a == size_of::<usize>()).count();
        assert!((7000..8000).contains(&words), "{words} word-aligned");
        assert!(aligns.iter().all(|a| a.is_power_of_two() && *a <= 4096));
    }

    #[test]
    fn heap_efficiency_accounts_for_every_byte_it_reports() {
        let arena = Arena::new(4 << 20);
        let plan = Plan::QUICK;
        let buddy = heap_efficiency::<StrataBuddy>(&arena, &plan, EFFICIENCY_SIZES[0]);
        let blocks = buddy.blocks.expect("Strata heaps count used bytes");
        assert!(buddy.live > 0.3 && buddy.live < 1.0, "{buddy:?}");
        assert!(
            buddy.headers > 0.0 && buddy.live + buddy.headers <= blocks,
            "{buddy:?}"
        );
        assert!(blocks <= 1.0, "{buddy:?}");
        // Same seeds, same requests: the first-fit pool wastes less than the
        // power-of-two buddy.
        let pool = heap_efficiency::<StrataPool>(&arena, &plan, EFFICIENCY_SIZES[0]);
        assert!(pool.live > buddy.live, "{pool:?} vs {buddy:?}");
        // Best fit is another pool: also no rounding, and a run of its own
        // (not first fit's figures again).
        let best = heap_efficiency::<StrataPoolBest>(&arena, &plan, EFFICIENCY_SIZES[0]);
        assert!(best.live > buddy.live, "{best:?} vs {buddy:?}");
        assert_ne!(best, pool);
        // Small objects: slabs round up less than the buddy's powers of two
        // plus header.
        let small = heap_efficiency::<StrataBuddy>(&arena, &plan, EFFICIENCY_SIZES[1]);
        let slab = heap_efficiency::<StrataSlab>(&arena, &plan, EFFICIENCY_SIZES[1]);
        assert!(slab.live > small.live * 1.1, "{slab:?} vs {small:?}");
    }

    #[test]
    fn timed_workloads_count_operations_and_cycles() {
        let arena = Arena::new(4 << 20);
        let plan = Plan::QUICK;
        assert!(random_actions::<StrataBuddy>(&arena, &plan, 1000, true, 0) > 0.0);
        let mut samples = CycleSamples::default();
        microbench::<StrataBuddy>(&arena, &plan, 0, Duration::from_millis(10), &mut samples);
        assert!(!samples.allocate.is_empty() && !samples.free.is_empty());
        let pair = samples.pair_percentiles();
        assert!(pair.windows(2).all(|w| w[0] <= w[1]), "{pair:?}");
        assert!(super::pair::<StrataBuddy>(&arena, &plan, 64, 1000) > 0.0);
    }
}
