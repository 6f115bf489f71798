//! One slab: a page-sized span of the heap beneath, cut into objects of
//! one class, with a header at its start. How an object's address leads to
//! its slab, how a class keeps its slabs, and how slabs come from the heap
//! beneath and go back to it.

use super::{ClassInfo, SlabHeap, CLASSES, CLASS_SIZES, SLAB_BYTES};
use crate::heap::{HeapError, Inspect};
use core::mem::size_of;
use core::ptr::NonNull;

/// At most this many objects in a slab: one bit each in [`SlabHeader::in_use`].
const MAX_OBJECTS: usize = 512;
pub(super) const SLAB_MAGIC: usize = 0x51AB_C0DE;

/// The header at the start of every slab's span.
#[repr(C)]
pub(super) struct SlabHeader {
    /// `address ^ SLAB_MAGIC ^ class`: a pointer whose page does not start
    /// with a slab has (almost certainly) no valid check here.
    pub(super) check: usize,
    pub(super) class: u16,
    /// Objects handed out now.
    pub(super) live: u16,
    /// Objects that fit.
    pub(super) capacity: u16,
    /// Objects handed out at least once; the rest have never been touched,
    /// so a new slab needs no loop to build its free list.
    pub(super) carved: u16,
    /// First object on the free list (0: none), each holding the next.
    pub(super) free: usize,
    /// The class's list of slabs: the ones with room come first.
    pub(super) prev: usize,
    pub(super) next: usize,
    /// Bit `i`: object `i` is handed out.
    pub(super) in_use: [u32; MAX_OBJECTS / 32],
}

const HEADER: usize = size_of::<SlabHeader>();

impl<H: Inspect> SlabHeap<H> {
    /// Per-class figures, for the `slabs` command.
    pub fn classes(&self) -> impl Iterator<Item = ClassInfo> + '_ {
        self.classes
            .iter()
            .zip(CLASS_SIZES)
            .map(|(class, object_size)| ClassInfo {
                object_size,
                capacity: self.capacity(object_size),
                slabs: class.slabs,
                live: class.live,
            })
    }

    pub(super) fn capacity(&self, object_size: usize) -> usize {
        ((SLAB_BYTES - self.span_offset() - HEADER) / object_size).min(MAX_OBJECTS)
    }

    /// Where a span starts within its page: the heap beneath's spans end
    /// at a page end, so this is the page size minus the span's size.
    fn span_offset(&self) -> usize {
        SLAB_BYTES - self.inner.page_block().size()
    }

    // ---- the slab header: the only memory this file touches ----

    pub(super) fn header(&self, slab: usize) -> &SlabHeader {
        // SAFETY: `slab` is the start of a span this heap allocated from
        // `inner` and still holds (it came from a class list, or passed
        // `slab_of`'s check); spans are at least MAX_ALIGN/256-aligned and
        // no object overlaps the header. `&self` keeps it from changing.
        unsafe { &*(slab as *const SlabHeader) }
    }

    pub(super) fn header_mut(&mut self, slab: usize) -> &mut SlabHeader {
        // SAFETY: as in `header`; `&mut self` makes this the only reference.
        unsafe { &mut *(slab as *mut SlabHeader) }
    }

    /// The slab that holds `address`, and the object's index, if `address`
    /// is the start of an object in a live slab.
    pub(super) fn slab_of(&self, address: usize) -> Option<(usize, usize)> {
        if !self.inner.owns(address) {
            return None;
        }
        let page = address & !(SLAB_BYTES - 1);
        let slab = page + self.span_offset();
        if address < slab + HEADER {
            return None;
        }
        // SAFETY: `slab..slab + HEADER` is below `address` in the same page
        // of the heap beneath (checked just above), so it is memory the
        // heap may read; only the check word is read before it is trusted.
        let check = unsafe { (slab as *const usize).read() };
        let class = check ^ slab ^ SLAB_MAGIC;
        if class >= CLASSES {
            return None;
        }
        let size = CLASS_SIZES[class];
        let from_end = page + SLAB_BYTES - address;
        let index = from_end / size;
        let header = self.header(slab);
        (from_end.is_multiple_of(size) && index >= 1 && index <= usize::from(header.capacity))
            .then(|| (slab, index - 1))
    }

    pub(super) fn object_address(slab: usize, size: usize, index: usize) -> usize {
        (slab & !(SLAB_BYTES - 1)) + SLAB_BYTES - (index + 1) * size
    }

    // ---- the class lists: slabs with room first, full ones last ----

    pub(super) fn unlink(&mut self, class: usize, slab: usize) {
        let (prev, next) = {
            let header = self.header(slab);
            (header.prev, header.next)
        };
        if prev == 0 {
            self.classes[class].head = next;
        } else {
            self.header_mut(prev).next = next;
        }
        if next == 0 {
            self.classes[class].tail = prev;
        } else {
            self.header_mut(next).prev = prev;
        }
    }

    pub(super) fn push_front(&mut self, class: usize, slab: usize) {
        let head = self.classes[class].head;
        let header = self.header_mut(slab);
        (header.prev, header.next) = (0, head);
        if head == 0 {
            self.classes[class].tail = slab;
        } else {
            self.header_mut(head).prev = slab;
        }
        self.classes[class].head = slab;
    }

    pub(super) fn push_back(&mut self, class: usize, slab: usize) {
        let tail = self.classes[class].tail;
        let header = self.header_mut(slab);
        (header.prev, header.next) = (tail, 0);
        if tail == 0 {
            self.classes[class].head = slab;
        } else {
            self.header_mut(tail).next = slab;
        }
        self.classes[class].tail = slab;
    }

    // ---- slabs in and out of the heap beneath ----

    /// Takes a page-sized span from the heap beneath and makes it an empty
    /// slab of `class`, at the front of the class's list.
    pub(super) fn new_slab(&mut self, class: usize) -> Result<usize, HeapError> {
        let span_layout = self.inner.page_block();
        let span = match self.inner.allocate(span_layout) {
            Ok(span) => span.as_ptr() as usize,
            Err(HeapError::OutOfMemory { .. }) if self.release_empty_slabs() > 0 => {
                self.inner.allocate(span_layout)?.as_ptr() as usize
            }
            Err(error) => return Err(error),
        };
        // The span must end at its page's end (true of every heap here).
        if span & (SLAB_BYTES - 1) != self.span_offset() {
            let pointer = NonNull::new(span as *mut u8).expect("spans are never at 0");
            let _ = self.inner.deallocate(pointer, span_layout);
            return Err(HeapError::Unsupported(
                "slabs need spans that end at a page end",
            ));
        }
        let size = CLASS_SIZES[class];
        let capacity = self.capacity(size) as u16;
        // SAFETY: the span was just allocated for us: at least HEADER bytes,
        // aligned (every heap aligns spans to 16), and ours alone.
        unsafe {
            (span as *mut SlabHeader).write(SlabHeader {
                check: span ^ SLAB_MAGIC ^ class,
                class: class as u16,
                live: 0,
                capacity,
                carved: 0,
                free: 0,
                prev: 0,
                next: 0,
                in_use: [0; MAX_OBJECTS / 32],
            })
        };
        self.push_front(class, span);
        self.classes[class].slabs += 1;
        self.classes[class].empty += 1;
        Ok(span)
    }

    /// Unlinks an empty slab and gives its span back to the heap beneath.
    pub(super) fn release(&mut self, class: usize, slab: usize) {
        self.unlink(class, slab);
        // A stale header must not make the span look like a slab later.
        self.header_mut(slab).check = 0;
        self.classes[class].slabs -= 1;
        self.classes[class].empty -= 1;
        let pointer = NonNull::new(slab as *mut u8).expect("spans are never at 0");
        let freed = self.inner.deallocate(pointer, self.inner.page_block());
        debug_assert!(freed.is_ok(), "{freed:?}");
    }

    /// Gives every empty slab back to the heap beneath; returns how many.
    pub fn release_empty_slabs(&mut self) -> usize {
        let mut released = 0;
        for class in 0..CLASSES {
            let mut slab = self.classes[class].head;
            while slab != 0 && self.classes[class].empty > 0 {
                let (live, next) = (self.header(slab).live, self.header(slab).next);
                if live == 0 {
                    self.release(class, slab);
                    released += 1;
                }
                slab = next;
            }
        }
        released
    }
}
