//! The pool: a free list of variable-sized chunks, first fit or best fit.
//!
//! The C allocators this course started from work this way, as do most C
//! textbooks' allocators. Memory is a row of *chunks*, each with a 16-byte
//! header:
//!
//! ```text
//!  +-------+------+-----------+-------+-----+----------------------------+
//!  | check | size | prev_size | state | pad | payload (free: prev, next) |
//!  +-------+------+-----------+-------+-----+----------------------------+
//!  size      = this chunk's bytes, header included (a multiple of 16)
//!  prev_size = the chunk just below's size (0 for the first), so that a
//!              chunk can find its lower neighbour without a search
//! ```
//!
//! Free chunks are also on a doubly linked free list, threaded through their
//! payloads. *Allocation* walks the list for a chunk that fits — the first
//! one, or the smallest one: see [`Fit`] — and *splits* off the rest when it
//! is big enough to be a chunk. *Freeing* merges the chunk with its upper
//! neighbour and with its lower neighbour when they are free (*coalescing*),
//! so two free chunks are never next to each other.
//!
//! Compared with the buddy heap it wastes less (no rounding to powers of
//! two) but allocation is O(free chunks) and the heap fragments over time.
//!
//! Read the folder in this order (the buddy heap's folder has the same
//! plan, so the two can be compared file by file):
//!
//! - this file — [`Fit`] and the [`PoolHeap`] itself;
//! - `chunk.rs` — the chunk header, and checking it before believing it;
//! - `free_list.rs` — the free list, and choosing a chunk for a request
//!   (first or best fit), splitting off the rest;
//! - `allocate.rs` — the pool as a [`Heap`](super::Heap): allocating,
//!   freeing with coalescing, resizing in place;
//! - `walk.rs` — visiting every chunk and checking the whole pool.

mod chunk;
mod free_list;
mod allocate;
mod walk;

#[cfg(test)]
mod tests;

use super::{Accounting, Regions};

/// Which free chunk the pool allocates from (`pool=first|best` on the
/// kernel command line).
///
/// *First fit* takes the first chunk on the free list with room: it often
/// stops after a few chunks. *Best fit* takes the smallest chunk with room
/// (alignment gap included), so it reads the whole list unless it meets an
/// exact fit; on a tie it keeps the one found first, which is the one freed
/// most recently (freed chunks go to the front of the list). What it buys is
/// that big chunks stay big:
///
/// ```text
///  free list: A (256 bytes) -> B (64 bytes)      then ask for 48 bytes
///                                                (a 64-byte chunk)
///  first fit: A [used 64 | free 192]   B [free 64]
///  best fit:  A [free 256]             B [used 64]
///
///  Asking next for 240 bytes (a 256-byte chunk) now fails under first fit:
///  it cut the only chunk big enough down to 192.
/// ```
///
/// Which wins depends on the load: `docs/chapter-2-memory.md` has figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    First,
    Best,
}

impl Fit {
    pub const ALL: [Fit; 2] = [Fit::First, Fit::Best];

    /// Parses the value of `pool=` on the kernel command line.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|fit| fit.name() == text)
    }

    pub fn name(self) -> &'static str {
        match self {
            Fit::First => "first",
            Fit::Best => "best",
        }
    }
}

/// A free-list heap over one or more regions.
pub struct PoolHeap {
    regions: Regions,
    /// First free chunk (0 = none).
    free_head: usize,
    free_chunks: usize,
    counts: Accounting,
    fit: Fit,
}

impl PoolHeap {
    /// An empty first-fit pool.
    pub const fn new() -> Self {
        Self::with_fit(Fit::First)
    }

    /// An empty pool that places blocks by `fit`.
    pub const fn with_fit(fit: Fit) -> Self {
        Self {
            regions: Regions::new(),
            free_head: 0,
            free_chunks: 0,
            counts: Accounting::new(),
            fit,
        }
    }

    /// How this pool picks a free chunk.
    pub fn fit(&self) -> Fit {
        self.fit
    }
}

impl Default for PoolHeap {
    fn default() -> Self {
        Self::new()
    }
}
