//! `make bench`: Strata's allocators side by side with talc,
//! linked_list_allocator and buddy_system_allocator, in one run.
//!
//! Every allocator gets the same 128 MiB arena (one at a time), the same
//! spin lock and the same random seeds. The run prints a table per
//! workload with Strata-buddy's ratio to each peer (above 1: Strata is
//! better), checks the targets, and writes `target/bench/results.csv`,
//! `target/bench/chart.svg` and `target/bench/machine.txt`.
//!
//! `cargo bench -p strata-bench -- --quick` measures briefly (to check the
//! benchmark itself); `make bench BITS=64` runs at the host's own width.

mod chart;
mod peers;

use peers::{BuddySystemPeer, LinkedListPeer, TalcPeer};
use std::path::PathBuf;
use strata_bench::arena::{Arena, ARENA_SIZE};
use strata_bench::contender::{
    Contender, StrataBuddy, StrataBump, StrataExact, StrataPool, StrataPoolBest, StrataSlab,
    StrataSlabExact,
};
use strata_bench::report::{Better, Results};
use strata_bench::workloads::{
    self, percentiles, CycleSamples, Plan, Workloads, EFFICIENCY_SIZES, PERCENTILES,
    SMALL_OBJECT_ARENA,
};
use strata_bench::{frames, large};

/// Maximum allocation sizes for random actions.
const RANDOM_ACTION_SIZES: [usize; 5] = [200, 1000, 3000, 10_000, 30_000];
/// Fixed sizes for allocate+free pairs.
const PAIR_SIZES: [usize; 5] = [16, 64, 256, 1024, 4096];

const SUBJECT: &str = StrataBuddy::NAME;
/// What the kernel runs by default (`heap=buddy slab=on`): slabs in front
/// of the buddy heap. Its figures are repeated under [`DEFAULT`].
const DEFAULT_HEAP: &str = StrataSlab::NAME;
const DEFAULT: &str = "strata-default";
/// Chapter 3's page runs, in the `large` workload only.
const RUNS: &str = "strata-runs";
const ALLOCATORS: [&str; 12] = [
    RUNS,
    DEFAULT,
    StrataBuddy::NAME,
    StrataSlab::NAME,
    StrataExact::NAME,
    StrataSlabExact::NAME,
    StrataPool::NAME,
    StrataPoolBest::NAME,
    StrataBump::NAME,
    TalcPeer::NAME,
    LinkedListPeer::NAME,
    BuddySystemPeer::NAME,
];
const PEERS: [&str; 3] = [TalcPeer::NAME, LinkedListPeer::NAME, BuddySystemPeer::NAME];

/// `--only NAME[,NAME...]` measures only those allocators, and
/// `--workloads NAME[,NAME...]` only those workloads (for profiling).
fn selected(name: &str) -> bool {
    chosen("--only", name)
}

fn workload_selected(name: &str) -> bool {
    chosen("--workloads", name)
}

fn chosen(option: &str, name: &str) -> bool {
    let arguments: Vec<String> = std::env::args().collect();
    match arguments.iter().position(|argument| argument == option) {
        Some(index) => arguments
            .get(index + 1)
            .is_some_and(|only| only.split(',').any(|wanted| wanted == name)),
        None => true,
    }
}

fn main() {
    let quick = std::env::args().any(|argument| argument == "--quick");
    let plan = if quick { Plan::QUICK } else { Plan::FULL };
    let machine = machine_description();
    println!("{machine}");

    let contenders: Vec<Workloads> = [
        Workloads::of::<StrataBuddy>(),
        Workloads::of::<StrataSlab>(),
        Workloads::of::<StrataExact>(),
        Workloads::of::<StrataSlabExact>(),
        Workloads::of::<StrataPool>(),
        Workloads::of::<StrataPoolBest>(),
        Workloads::of::<StrataBump>(),
        Workloads::of::<TalcPeer>(),
        Workloads::of::<LinkedListPeer>(),
        Workloads::of::<BuddySystemPeer>(),
    ]
    .into_iter()
    .filter(|contender| selected(contender.name))
    .collect();
    let arena = Arena::new(ARENA_SIZE);
    let mut results = Results::default();
    measure(&contenders, &arena, &plan, &mut results);
    drop(arena);
    if workload_selected("large") {
        let arena = Arena::new(ARENA_SIZE);
        measure_large(&contenders, &arena, &plan, &mut results);
    }
    measure_frames(&plan, &mut results);
    results.alias(DEFAULT_HEAP, DEFAULT);

    print_tables(&results);
    let misses = check_targets(&results);

    let directory = output_directory();
    std::fs::create_dir_all(&directory).expect("create target/bench");
    let directory = directory.canonicalize().unwrap_or(directory);
    let csv = directory.join("results.csv");
    std::fs::write(&csv, results.to_csv()).expect("write results.csv");
    std::fs::write(directory.join("machine.txt"), &machine).expect("write machine.txt");
    let chart = directory.join("chart.svg");
    chart::draw(&results, &ALLOCATORS, &chart, &machine).expect("draw the chart");
    println!("\nwrote {} and {}", csv.display(), chart.display());
    if misses > 0 {
        println!("{misses} target(s) missed: see docs/benchmarks.md for why.");
    }
}

/// Runs every workload. Timed workloads take turns: trial 1 for every
/// allocator, then trial 2, ..., and each figure is the median of its
/// trials, so a slow moment on the host is shared rather than landing on one
/// allocator.
fn measure(contenders: &[Workloads], arena: &Arena, plan: &Plan, results: &mut Results) {
    for (workload, realloc) in [
        ("random_actions", true),
        ("random_actions_no_realloc", false),
    ] {
        if !workload_selected(workload) {
            continue;
        }
        for max in RANDOM_ACTION_SIZES {
            eprintln!("{workload} up to {max} bytes ...");
            let scores = take_turns(contenders, plan, |contender, trial| {
                (contender.random_actions)(arena, plan, max, realloc, trial)
            });
            for (contender, score) in contenders.iter().zip(scores) {
                results.add(workload, max, contender.name, "ops_per_s", score);
            }
        }
    }
    if workload_selected("heap_efficiency") {
        let small_arena = Arena::new(SMALL_OBJECT_ARENA);
        for mix @ (max, _) in EFFICIENCY_SIZES {
            let arena = if max <= 1000 { &small_arena } else { arena };
            for contender in contenders {
                eprintln!(
                    "heap_efficiency up to {max} bytes for {} ...",
                    contender.name
                );
                let efficiency = (contender.heap_efficiency)(arena, plan, mix);
                let mut add = |metric, value| {
                    results.add("heap_efficiency", max, contender.name, metric, value)
                };
                add("live_fraction", efficiency.live);
                if contender.block_header > 0 {
                    add("header_fraction", efficiency.headers);
                }
                if let Some(blocks) = efficiency.blocks {
                    add("block_fraction", blocks);
                }
            }
        }
    }
    if workload_selected("microbench") {
        eprintln!("microbench ...");
        let round = plan.microbench / plan.trials as u32;
        let mut samples: Vec<CycleSamples> =
            contenders.iter().map(|_| CycleSamples::default()).collect();
        for trial in 0..plan.trials {
            for (contender, samples) in contenders.iter().zip(&mut samples) {
                (contender.microbench)(arena, plan, trial, round, samples);
            }
        }
        for (contender, samples) in contenders.iter().zip(&mut samples) {
            let pair = samples.pair_percentiles();
            let allocate = percentiles(&mut samples.allocate);
            let free = percentiles(&mut samples.free);
            for (index, percentile) in PERCENTILES.iter().enumerate() {
                let param = format!("p{percentile}");
                results.add(
                    "microbench",
                    &param,
                    contender.name,
                    "cycles",
                    pair[index] as f64,
                );
                results.add(
                    "microbench",
                    &param,
                    contender.name,
                    "alloc_cycles",
                    allocate[index] as f64,
                );
                results.add(
                    "microbench",
                    &param,
                    contender.name,
                    "free_cycles",
                    free[index] as f64,
                );
            }
        }
    }
    if workload_selected("pair") {
        for size in PAIR_SIZES {
            eprintln!("pair of {size} bytes ...");
            let iterations = plan.pair_iterations / plan.trials;
            let times = take_turns(contenders, plan, |contender, _| {
                (contender.pair)(arena, plan, size, iterations)
            });
            for (contender, ns) in contenders.iter().zip(times) {
                results.add("pair", size, contender.name, "ns", ns);
            }
        }
    }
}

/// Runs `run` for trial 1 of every contender, then trial 2, ...; returns
/// each contender's median.
fn take_turns(
    contenders: &[Workloads], plan: &Plan, mut run: impl FnMut(&Workloads, u64) -> f64,
) -> Vec<f64> {
    let mut trials = vec![Vec::new(); contenders.len()];
    for trial in 0..plan.trials {
        for (index, contender) in contenders.iter().enumerate() {
            trials[index].push(run(contender, trial));
        }
    }
    trials
        .iter_mut()
        .map(|values| workloads::median(values))
        .collect()
}

const FRAMES: &str = "strata-frames";

fn measure_frames(plan: &Plan, results: &mut Results) {
    if !selected(FRAMES) {
        return;
    }
    eprintln!("measuring {FRAMES} ...");
    let iterations = plan.pair_iterations * 4;
    results.add(
        "frames",
        "single",
        FRAMES,
        "ns",
        frames::single_frame_pair(iterations),
    );
    results.add(
        "frames",
        "contiguous16",
        FRAMES,
        "ns",
        frames::contiguous_pair(plan.pair_iterations),
    );
    let repeats = if plan.trials > 1 { 21 } else { 3 };
    let whole = frames::build_time(&frames::four_gib_map(), repeats);
    results.add(
        "frames",
        "build_4gib",
        FRAMES,
        "ns",
        whole.as_nanos() as f64,
    );
    let fragmented = frames::build_time(&frames::fragmented_map(), repeats);
    results.add(
        "frames",
        "build_fragmented",
        FRAMES,
        "ns",
        fragmented.as_nanos() as f64,
    );
}

/// The `large` workload: every heap in a demand-paged arena, and chapter
/// 3's page runs in a simulated address space of the same size.
fn measure_large(contenders: &[Workloads], arena: &Arena, plan: &Plan, results: &mut Results) {
    for band in large::BANDS {
        let param = band_name(band);
        let mut record = |name: &'static str, figures: large::LargeFigures| {
            results.add(
                "large",
                &param,
                name,
                "frames_per_live_byte",
                figures.frames_per_live_byte,
            );
            results.add("large", &param, name, "ns_per_op", figures.ns_per_operation);
            results.add(
                "large",
                &param,
                name,
                "faults_per_op",
                figures.faults_per_operation,
            );
            results.add("large", &param, name, "refused", figures.refused as f64);
        };
        for contender in contenders {
            println!("large blocks of {param} for {} ...", contender.name);
            record(contender.name, (contender.large)(arena, plan.seed, band));
        }
        if selected(RUNS) {
            println!("large blocks of {param} for {RUNS} ...");
            record(RUNS, large::large_runs(arena, plan.seed, band));
        }
    }
}

/// `64K-16M` for a band of sizes.
fn band_name((low, high): (usize, usize)) -> String {
    let unit = |bytes: usize| match bytes {
        bytes if bytes >= 1 << 20 => format!("{}M", bytes >> 20),
        bytes => format!("{}K", bytes >> 10),
    };
    format!("{}-{}", unit(low), unit(high))
}

fn print_tables(results: &Results) {
    let tables = [
        (
            "random_actions",
            "ops_per_s",
            Better::Higher,
            "random actions with realloc: successful operations per second, by maximum size",
        ),
        (
            "random_actions_no_realloc",
            "ops_per_s",
            Better::Higher,
            "random actions without realloc: operations per second, by maximum size",
        ),
        (
            "heap_efficiency",
            "live_fraction",
            Better::Higher,
            "heap efficiency: live bytes / arena at the first failure",
        ),
        (
            "microbench",
            "cycles",
            Better::Lower,
            "microbench: cycles per allocate+free pair, by percentile",
        ),
        (
            "pair",
            "ns",
            Better::Lower,
            "pair: nanoseconds per allocate+free, by size in bytes",
        ),
        (
            "large",
            "frames_per_live_byte",
            Better::Lower,
            "large blocks (64 KiB-16 MiB, touched): bytes of frames held per live byte",
        ),
        (
            "large",
            "ns_per_op",
            Better::Lower,
            "large blocks: nanoseconds per operation (page faults not included)",
        ),
        (
            "large",
            "faults_per_op",
            Better::Lower,
            "large blocks: pages given a frame (a page fault each in the kernel) per operation",
        ),
        (
            "large",
            "refused",
            Better::Lower,
            "large blocks: requests refused (out of memory)",
        ),
    ];
    for (workload, metric, better, title) in tables {
        println!("\n{title}  (x: {SUBJECT}'s advantage; above 1 = better)");
        print!(
            "{}",
            results.table(workload, metric, better, &ALLOCATORS, SUBJECT, &PEERS)
        );
    }
    let share = |metric| results.get("heap_efficiency", "10000", SUBJECT, metric);
    if let (Some(live), Some(headers), Some(blocks)) = (
        share("live_fraction"),
        share("header_fraction"),
        share("block_fraction"),
    ) {
        println!(
            "  {SUBJECT} at its first failure: live {:.1}%, block headers {:.2}%, rounding up to powers of two {:.1}%, free but too fragmented {:.1}%",
            live * 100.0,
            headers * 100.0,
            (blocks - live - headers) * 100.0,
            (1.0 - blocks) * 100.0
        );
    }
    println!("\nframes: nanoseconds (strata-frames)");
    print!(
        "{}",
        results.table("frames", "ns", Better::Lower, &[FRAMES], FRAMES, &[])
    );
}

/// Prints each target with what was measured; returns how many missed.
fn check_targets(results: &Results) -> usize {
    let mut checks: Vec<(String, Option<f64>, f64)> = Vec::new();
    for workload in ["random_actions", "random_actions_no_realloc"] {
        for max in RANDOM_ACTION_SIZES {
            let param = max.to_string();
            for (peer, needed) in [(TalcPeer::NAME, 1.0), (LinkedListPeer::NAME, 3.0)] {
                let ratio =
                    results.ratio(workload, &param, "ops_per_s", Better::Higher, SUBJECT, peer);
                checks.push((format!("{workload} {max}: x{peer}"), ratio, needed));
            }
        }
    }
    let ratio = |workload, param, metric, better, peer| {
        results.ratio(workload, param, metric, better, SUBJECT, peer)
    };
    let efficiency = ratio(
        "heap_efficiency",
        "10000",
        "live_fraction",
        Better::Higher,
        BuddySystemPeer::NAME,
    );
    checks.push((
        "heap_efficiency: xbuddy_system_allocator".into(),
        efficiency,
        1.1,
    ));
    // Slabs: well above the plain buddy on small objects, and no slower at
    // random actions.
    let slab = |workload: &str, param: &str, metric: &str, better| {
        results.ratio(workload, param, metric, better, StrataSlab::NAME, SUBJECT)
    };
    checks.push((
        format!("heap_efficiency 500: {} x{SUBJECT}", StrataSlab::NAME),
        slab("heap_efficiency", "500", "live_fraction", Better::Higher),
        1.2,
    ));
    for max in RANDOM_ACTION_SIZES {
        checks.push((
            format!("random_actions {max}: {} x{SUBJECT}", StrataSlab::NAME),
            slab(
                "random_actions",
                &max.to_string(),
                "ops_per_s",
                Better::Higher,
            ),
            0.95,
        ));
    }
    // The kernel's default heap against talc and buddy_system_allocator
    // (issue "a heap that wastes little").
    let default = |workload: &str, param: &str, metric: &str, better, peer: &str| {
        results.ratio(workload, param, metric, better, DEFAULT, peer)
    };
    for (param, peer, needed) in [
        ("10000", TalcPeer::NAME, 0.95),
        ("10000", BuddySystemPeer::NAME, 1.3),
        ("500", TalcPeer::NAME, 0.95),
    ] {
        checks.push((
            format!("heap_efficiency {param}: {DEFAULT} x{peer}"),
            default(
                "heap_efficiency",
                param,
                "live_fraction",
                Better::Higher,
                peer,
            ),
            needed,
        ));
    }
    for workload in ["random_actions", "random_actions_no_realloc"] {
        for max in RANDOM_ACTION_SIZES {
            checks.push((
                format!("{workload} {max}: {DEFAULT} xtalc"),
                default(
                    workload,
                    &max.to_string(),
                    "ops_per_s",
                    Better::Higher,
                    TalcPeer::NAME,
                ),
                1.0,
            ));
        }
    }
    for size in PAIR_SIZES {
        checks.push((
            format!("pair {size}: {DEFAULT} xtalc (talc's ns / ours)"),
            default(
                "pair",
                &size.to_string(),
                "ns",
                Better::Lower,
                TalcPeer::NAME,
            ),
            1.0,
        ));
    }
    checks.push((
        format!("large: {RUNS} frames per live byte xtalc (talc's / ours)"),
        results.ratio(
            "large",
            "64K-16M",
            "frames_per_live_byte",
            Better::Lower,
            RUNS,
            TalcPeer::NAME,
        ),
        1.0,
    ));
    let p99 = ratio("microbench", "p99", "cycles", Better::Lower, TalcPeer::NAME);
    checks.push((
        "microbench p99: xtalc (talc's cycles / ours)".into(),
        p99,
        1.0,
    ));
    // Absolute frame targets, as "how many times under the limit".
    for (param, limit_ns, what) in [
        ("single", 20.0, "frames single alloc+free: 20 ns / measured"),
        (
            "build_4gib",
            5e6,
            "frames build from 4 GiB: 5 ms / measured",
        ),
    ] {
        let under = results
            .get("frames", param, FRAMES, "ns")
            .map(|ns| limit_ns / ns);
        checks.push((what.into(), under, 1.0));
    }

    println!("\ntargets (each figure must reach the number after >=)");
    let mut misses = 0;
    for (what, measured, needed) in checks {
        let holds = measured.is_some_and(|value| value >= needed);
        misses += usize::from(!holds);
        let shown = measured.map_or("-".into(), |value| format!("{value:.2}"));
        println!(
            "  {:<58} {shown:>8} >= {needed:<4} {}",
            what,
            if holds { "holds" } else { "MISSED" }
        );
    }
    misses
}

fn output_directory() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/bench")
}

/// The machine, compiler and pointer width the figures came from.
fn machine_description() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split(':').nth(1))
                .map(|name| name.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let rustc = std::process::Command::new(std::env::var("RUSTC").unwrap_or("rustc".into()))
        .arg("--version")
        .output()
        .ok()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .unwrap_or_default();
    format!(
        "machine: {cpu}, {cores} cores; {rustc}; {}-bit pointers ({}); arena {} MiB",
        usize::BITS,
        std::env::consts::ARCH,
        ARENA_SIZE >> 20
    )
}
