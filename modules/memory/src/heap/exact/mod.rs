//! The exact-fit buddy heap: buddy blocks, trimmed to the request
//! (`heap=exact`).
//!
//! The binary buddy heap (`buddy/`) rounds every request up to a power of
//! two, so a 5000-byte request holds an 8 KiB block and wastes 3 KiB. This
//! heap takes the same 8 KiB block and gives the unused tail straight back,
//! as the buddy blocks that tile it (Linux's `alloc_pages_exact` does this
//! with pages):
//!
//! ```text
//!  a 5000-byte request, 16-byte header: keeps 5024 bytes (rounded to 32)
//!
//!  0              4096    5024 5056 5120     6144               8192
//!  |hdr| payload ..........|  32| 64 |  1024  |       2048        |
//!  |<------- kept -------->|<--- freed: blocks of 32, 64, 1024, 2048 ->|
//! ```
//!
//! Starting at the end of what is kept, each free block is as large as its
//! address's alignment allows: the tail of an aligned block of `2^k` bytes
//! is cut into at most `k - 5` blocks, each twice the one before. What is
//! lost to rounding is now less than one [`GRANULE`] (32 bytes), not up to
//! half the block.
//!
//! **Pieces.** A kept allocation is no longer one buddy block: 5024 bytes
//! are the blocks 4096 + 512 + 256 + 128 + 32, lying end to end. Only the
//! first begins with a header; the rest are payload. When the allocation is
//! freed, each piece is freed and merges with its buddy as in the plain
//! heap, and everything comes back together.
//!
//! **Knowing where blocks start, out of band.** The plain heap finds its
//! way by reading headers: a block's buddy "is free" if the header at the
//! buddy's address says so. Here that would be wrong: the address of a
//! piece's buddy may lie inside someone's payload, where any bytes at all
//! may look like a header. So the heap keeps two bits per granule in a
//! *bitmap*, apart from the blocks:
//!
//! ```text
//!  granule:   0    1    2    3  ...  157  158  159  160  ...  192 ...
//!  used:      1    0    0    0        0    0    0    0          0
//!  free:      0    0    0    0        1    1    0    1          1
//!             ^ an allocation starts   ^ free blocks start (32, 64, 1024, ...)
//! ```
//!
//! A header is read only where the bitmap says a block starts: a used start
//! when a pointer is handed back, a free start when a buddy is considered
//! for merging. A pointer into the middle of someone's payload finds no
//! bit and is refused, whatever bytes lie before it.
//!
//! The bitmap lives in the heap's own memory: it is the first block of
//! each region, a used block like any other (`heapmap` shows it). When the
//! region grows past what the bitmap covers, a bitmap twice as large is
//! built in the new memory and the old one is freed.
//!
//! Read the folder in this order:
//!
//! - `header.rs` — the header (used: its length; free: its order and list
//!   links) and checking it;
//! - `bitmap.rs` — the two bits per granule: reading, setting, finding
//!   the block an address lies in, and where the bitmap itself lives;
//! - `lookup.rs` — from a pointer handed back to its allocation: bitmap
//!   first, header second;
//! - `free_lists.rs` — one list per order, as in the plain heap;
//! - `release.rs` — freeing a range of memory: cut it into aligned blocks
//!   and merge each with free buddies; checked before anything changes;
//! - `runs.rs` — when no block is large enough: a run of free blocks
//!   that lie end to end (the slow path of a nearly full heap);
//! - `allocate.rs` — the [`Heap`](super::Heap): allocate and trim, free,
//!   resize in place (into free memory after the allocation's end);
//! - `walk.rs` — visiting every block, the integrity check, and growing
//!   the top (moving the bitmap when it no longer covers the region).

mod header;
mod bitmap;
mod lookup;
mod free_lists;
mod release;
mod runs;
mod allocate;
mod walk;

#[cfg(test)]
mod tests;

pub use header::{GRANULE, HEADER_SIZE};

use super::{Accounting, Regions, MAX_REGIONS, SIZE_CLASSES};

/// Orders are kept in a `u32` mask and arrays of [`SIZE_CLASSES`].
const ORDERS: usize = SIZE_CLASSES;

/// Where a region's bitmap is: its words, how many granules they cover,
/// and the used block that holds them.
#[derive(Debug, Clone, Copy)]
struct BitmapAt {
    words: usize,
    granules: usize,
    block: usize,
}

impl BitmapAt {
    const NONE: Self = Self {
        words: 0,
        granules: 0,
        block: 0,
    };
}

/// A buddy heap that trims each block to its request.
pub struct ExactHeap {
    regions: Regions,
    bitmaps: [BitmapAt; MAX_REGIONS],
    /// Address of the first free block of each order (0 = empty list).
    free_heads: [usize; ORDERS],
    /// Bit `k` set = the free list of order `k` is not empty.
    non_empty: u32,
    free_counts: [u32; ORDERS],
    counts: Accounting,
}

impl ExactHeap {
    /// An empty heap; give it memory with [`Heap::add_region`](super::Heap::add_region).
    pub const fn new() -> Self {
        Self {
            regions: Regions::new(),
            bitmaps: [BitmapAt::NONE; MAX_REGIONS],
            free_heads: [0; ORDERS],
            non_empty: 0,
            free_counts: [0; ORDERS],
            counts: Accounting::new(),
        }
    }
}

impl Default for ExactHeap {
    fn default() -> Self {
        Self::new()
    }
}
