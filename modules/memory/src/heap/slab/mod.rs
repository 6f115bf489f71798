//! Slabs: small objects packed into pages, in front of another heap.
//!
//! A buddy block has a 16-byte header and a power-of-two size, so a 24-byte
//! `Box` costs a 64-byte block: almost two thirds wasted. ShompOS's wish
//! list (`docs/sources.md`) asks for "many small allocations housed in one
//! larger block"; Linux
//! calls that a *slab allocator* (Bonwick, 1994).
//!
//! [`SlabHeap`] sits in front of any [`Heap`](super::Heap). A request of up to
//! [`LARGEST_OBJECT`] bytes is rounded up to one of the [`CLASS_SIZES`] and
//! served from a *slab*: one page-sized block of the heap beneath, cut into
//! equal objects. Bigger requests go straight through.
//!
//! ```text
//!   one slab (a 4 KiB page; the span the heap beneath gave us is shaded)
//!   page start                                                  page end
//!   |buddy hdr|slab header|  (unused)  | obj 4 | obj 3 | obj 2 | obj 1 | obj 0 |
//!             ^ span start               objects are packed down from the end,
//!                                        so object i sits at end - (i+1)*size
//! ```
//!
//! - **Finding the slab of an object is one AND:** every span lies inside
//!   one page, so the header is at `(object & !4095) + offset`.
//! - **Objects are aligned for free:** the page end is 4096-aligned, so an
//!   object of 48 bytes is 16-aligned, one of 256 bytes 256-aligned.
//! - **Allocate and free are O(1):** each slab keeps a free list of its
//!   objects (threaded through the free objects themselves), and each class
//!   keeps its slabs in one list with the ones that have room in front.
//! - **Empty slabs go back** to the heap beneath at once, so that after
//!   everything is freed the heap beneath is exactly as it was (`heap`
//!   shows one free block again). The price: a class that goes 0 → 1 → 0
//!   objects splits and merges a page each time. Linux keeps a few empty
//!   slabs per cache for that reason; [`EMPTY_SLABS_KEPT`] is the knob
//!   (exercise: set it to 1 and run `make bench`).
//! - **Mistakes are caught:** each slab has a bitmap of the objects handed
//!   out, so freeing an object twice, or a pointer into the middle of one,
//!   is refused like the heaps beneath refuse it.
//!
//! Read the folder in this order:
//!
//! - this file — the size classes and the [`SlabHeap`] itself;
//! - `page.rs` — one slab: its header, finding it from an object's
//!   address, its class's list, getting a page from the heap beneath and
//!   giving it back;
//! - `objects.rs` — handing out and taking back objects, and checking
//!   every slab;
//! - `heap_traits.rs` — the slabs as a [`Heap`](super::Heap) in front of
//!   another.

mod page;
mod objects;
mod heap_traits;

#[cfg(test)]
mod tests;

use super::Inspect;
use core::alloc::Layout;

/// The object sizes: four classes per doubling (as in jemalloc), so
/// rounding up wastes at most a fifth of an object (about a tenth on
/// average). An object is aligned to the largest power of two dividing its
/// size: 40-byte objects to 8, 48-byte ones to 16, 640-byte ones to 128.
pub const CLASS_SIZES: [usize; 24] = [
    8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512, 640,
    768, 896, 1024,
];
/// Requests above this many bytes go to the heap beneath.
pub const LARGEST_OBJECT: usize = 1024;
/// A slab is one page.
pub const SLAB_BYTES: usize = 4096;
/// Empty slabs a class keeps instead of giving them back (see above).
/// [`SlabHeap::release_empty_slabs`] gives back even those, and runs by
/// itself when the heap beneath runs out.
pub const EMPTY_SLABS_KEPT: usize = 0;

const CLASSES: usize = CLASS_SIZES.len();

/// `CLASS_BY_EIGHTHS[n]`: the smallest class of at least `8 * n` bytes.
const CLASS_BY_EIGHTHS: [u8; LARGEST_OBJECT / 8 + 1] = {
    let mut table = [0; LARGEST_OBJECT / 8 + 1];
    let (mut eighths, mut class) = (0, 0);
    while eighths < table.len() {
        while CLASS_SIZES[class] < eighths * 8 {
            class += 1;
        }
        table[eighths] = class as u8;
        eighths += 1;
    }
    table
};

/// One size class: its slabs, and counts for `stats` and `slabs`.
#[derive(Clone, Copy)]
struct Class {
    head: usize,
    tail: usize,
    slabs: usize,
    empty: usize,
    live: usize,
}

impl Class {
    const EMPTY: Self = Self {
        head: 0,
        tail: 0,
        slabs: 0,
        empty: 0,
        live: 0,
    };
}

/// One class, as [`SlabHeap::classes`] reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClassInfo {
    pub object_size: usize,
    /// Objects per slab.
    pub capacity: usize,
    pub slabs: usize,
    /// Objects handed out.
    pub live: usize,
}

/// A slab front end over the heap `H`. Switched off, it passes every call
/// straight through (the kernel's `slab=off`).
pub struct SlabHeap<H> {
    inner: H,
    enabled: bool,
    classes: [Class; CLASSES],
    /// Live objects and the bytes asked for them (for `stats`).
    objects: usize,
    object_bytes: usize,
}

impl<H: Inspect> SlabHeap<H> {
    /// A front end over `inner`, on or off.
    pub const fn new(inner: H, enabled: bool) -> Self {
        Self {
            inner,
            enabled,
            classes: [Class::EMPTY; CLASSES],
            objects: 0,
            object_bytes: 0,
        }
    }

    pub fn beneath(&self) -> &H {
        &self.inner
    }

    /// The heap beneath. Blocks taken from it directly must be given back
    /// to it directly.
    pub fn beneath_mut(&mut self) -> &mut H {
        &mut self.inner
    }

    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// The class that serves `layout`, if any: the smallest one big enough
    /// whose objects are aligned enough.
    fn class_for(&self, layout: Layout) -> Option<usize> {
        if !self.enabled || layout.size() > LARGEST_OBJECT {
            return None;
        }
        // The smallest class that fits, from a table by size in 8-byte steps;
        // then up to one aligned enough (rare: most alignments are <= 8).
        let mut class = usize::from(CLASS_BY_EIGHTHS[layout.size().div_ceil(8)]);
        while object_alignment(CLASS_SIZES[class]) < layout.align() {
            class += 1;
            if class == CLASSES {
                return None;
            }
        }
        Some(class)
    }
}

/// The alignment every object of `size` bytes gets: the largest power of
/// two dividing it (objects are placed down from a page end).
fn object_alignment(size: usize) -> usize {
    1 << size.trailing_zeros()
}

impl<H: Inspect + Default> Default for SlabHeap<H> {
    fn default() -> Self {
        Self::new(H::default(), true)
    }
}
