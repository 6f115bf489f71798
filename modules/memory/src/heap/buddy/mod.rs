//! The binary buddy heap: the kernel's `#[global_allocator]`.
//!
//! Every block is a power of two bytes, `2^order`, and starts at a multiple
//! of its own size (counted from the start of its region). A block of order
//! `k` splits into two halves of order `k-1` — *buddies* — and two free
//! buddies merge back into their parent. The address of a block's buddy is
//! one XOR away, so nothing is ever searched:
//!
//! ```text
//! offset of buddy = offset of block XOR 2^order
//!
//!  order 7 |<------------------------ 128 ------------------------>|
//!  order 6 |<---------- 64 ---------->|<---------- 64 ----------->|
//!  order 5 |<--- 32 -->|<--- 32 ---->|
//!          0           32            64                           128
//!          buddy of 0 (order 5) is 0^32 = 32; buddy of 32 is 32^32 = 0
//! ```
//!
//! Each block begins with a 16-byte `BlockHeader` (ShompOS's
//! `block_header`; `docs/sources.md`): a check value, the order and whether
//! the block is free. While a block is free, the rest of its header links it
//! into the free list of its order, in both directions, so a block can be
//! taken off its list in O(1) when its buddy wants to merge with it:
//!
//! ```text
//!  +--------+-------+-------+------+-------+-------+----------------------+
//!  | check  | order | state | pad  | prev  | next  | payload ...          |
//!  | 4 B    | 1 B   | 1 B   | 2 B  | 4 B   | 4 B   | (2^order - 16 bytes) |
//!  +--------+-------+-------+------+-------+-------+----------------------+
//!  ^ block start (aligned to its size)      ^ prev/next: only while free
//! ```
//!
//! *Allocation* rounds `header + size` up to a power of two, takes the
//! smallest free block that is large enough (a bit mask says which lists are
//! non-empty, so that is one instruction), and splits it in half until it is
//! the right size, putting each upper half on its free list.
//!
//! *Freeing* checks the header, then merges the block with its buddy for as
//! long as the buddy is free and whole, and puts the result on its list.
//!
//! Alignments above 16 are served from a block big enough to hold
//! `align + size`: its payload starts `align` bytes in (blocks are aligned
//! to their size, so that address is aligned), and an 8-byte *shim* just
//! before the payload records the distance back to the header.
//!
//! Read the folder in this order:
//!
//! - `header.rs` — the block header, and checking it before believing it;
//!   finding the block a pointer belongs to;
//! - `free_lists.rs` — one list per order, a block's buddy, and merging a
//!   freed block with its free buddies (lab 2.3); cutting a region into
//!   blocks;
//! - `allocate.rs` — the [`Heap`](super::Heap): taking a block by
//!   splitting a larger one (lab 2.2), freeing, resizing in place (lab
//!   2.4);
//! - `walk.rs` — visiting every block (for `heapmap` and the integrity
//!   check) and growing the top.

mod header;
mod free_lists;
mod allocate;
mod walk;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod lab_tests;

/// The exact-fit heap (`exact/`) rounds and tiles the same way.
pub use allocate::{largest_free, order_for, top_for_block};
pub use free_lists::aligned_blocks;
pub use header::{HEADER_SIZE, MIN_BLOCK, MIN_ORDER};

use super::{Accounting, Regions, SIZE_CLASSES};

/// Orders are kept in a `u32` mask and arrays of [`SIZE_CLASSES`].
const ORDERS: usize = SIZE_CLASSES;

/// A binary buddy heap over one or more regions.
pub struct BuddyHeap {
    regions: Regions,
    /// Address of the first free block of each order (0 = empty list).
    free_heads: [usize; ORDERS],
    /// Bit `k` set = the free list of order `k` is not empty.
    non_empty: u32,
    free_counts: [u32; ORDERS],
    counts: Accounting,
}

impl BuddyHeap {
    /// An empty heap; give it memory with [`Heap::add_region`](super::Heap::add_region).
    pub const fn new() -> Self {
        Self {
            regions: Regions::new(),
            free_heads: [0; ORDERS],
            non_empty: 0,
            free_counts: [0; ORDERS],
            counts: Accounting::new(),
        }
    }
}

impl Default for BuddyHeap {
    fn default() -> Self {
        Self::new()
    }
}
