//! # Strata's allocator benchmarks
//!
//! `make bench` runs `benches/allocators/`, which puts Strata's three heaps
//! and three allocators from crates.io through the same workloads and
//! prints how they compare. This library holds everything that does not
//! depend on the peers:
//!
//! - [`arena`]: the 128 MiB of host memory each allocator is given;
//! - [`contender`]: the one interface every allocator is driven through
//!   (Rust's `GlobalAlloc` behind a spin lock), and Strata's heaps in it;
//! - [`workloads`]: random actions, heap efficiency, the cycle-counting
//!   microbenchmark and fixed-size pairs, all seeded;
//! - [`frames`]: the physical frame allocator's figures;
//! - [`large`]: blocks of 64 KiB to 16 MiB, in a heap or in chapter 3's
//!   page runs, with the frames each way holds;
//! - [`report`]: tables with ratios, the CSV file and the target checks.
//!
//! The method follows talc's published benchmarks (random actions, heap
//! efficiency, microbench), rewritten here so that every allocator gets the
//! same arena, the same lock and the same random seeds in one run.

pub mod arena;
pub mod contender;
pub mod frames;
pub mod large;
pub mod report;
pub mod workloads;
