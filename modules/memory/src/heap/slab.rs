//! Slabs: small objects packed into pages, in front of another heap.
//!
//! A buddy block has a 16-byte header and a power-of-two size, so a 24-byte
//! `Box` costs a 64-byte block: almost two thirds wasted. ShompOS's wish
//! list asks for "many small allocations housed in one larger block"; Linux
//! calls that a *slab allocator* (Bonwick, 1994).
//!
//! [`SlabHeap`] sits in front of any [`Heap`]. A request of up to
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

use super::{
    check_alignment, for_request, reallocate_by_moving, BlockInfo, Grow, Heap, HeapError,
    HeapStats, Inspect, Traced,
};
use core::alloc::Layout;
use core::mem::size_of;
use core::ptr::NonNull;

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
/// At most this many objects in a slab: one bit each in [`SlabHeader::in_use`].
const MAX_OBJECTS: usize = 512;
const SLAB_MAGIC: usize = 0x51AB_C0DE;

/// The header at the start of every slab's span.
#[repr(C)]
struct SlabHeader {
    /// `address ^ SLAB_MAGIC ^ class`: a pointer whose page does not start
    /// with a slab has (almost certainly) no valid check here.
    check: usize,
    class: u16,
    /// Objects handed out now.
    live: u16,
    /// Objects that fit.
    capacity: u16,
    /// Objects handed out at least once; the rest have never been touched,
    /// so a new slab needs no loop to build its free list.
    carved: u16,
    /// First object on the free list (0: none), each holding the next.
    free: usize,
    /// The class's list of slabs: the ones with room come first.
    prev: usize,
    next: usize,
    /// Bit `i`: object `i` is handed out.
    in_use: [u32; MAX_OBJECTS / 32],
}

const HEADER: usize = size_of::<SlabHeader>();

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

    fn capacity(&self, object_size: usize) -> usize {
        ((SLAB_BYTES - self.span_offset() - HEADER) / object_size).min(MAX_OBJECTS)
    }

    /// Where a span starts within its page: the heap beneath's spans end
    /// at a page end, so this is the page size minus the span's size.
    fn span_offset(&self) -> usize {
        SLAB_BYTES - self.inner.page_block().size()
    }

    // ---- the slab header: the only memory this file touches ----

    fn header(&self, slab: usize) -> &SlabHeader {
        // SAFETY: `slab` is the start of a span this heap allocated from
        // `inner` and still holds (it came from a class list, or passed
        // `slab_of`'s check); spans are at least MAX_ALIGN/256-aligned and
        // no object overlaps the header. `&self` keeps it from changing.
        unsafe { &*(slab as *const SlabHeader) }
    }

    fn header_mut(&mut self, slab: usize) -> &mut SlabHeader {
        // SAFETY: as in `header`; `&mut self` makes this the only reference.
        unsafe { &mut *(slab as *mut SlabHeader) }
    }

    /// The slab that holds `address`, and the object's index, if `address`
    /// is the start of an object in a live slab.
    fn slab_of(&self, address: usize) -> Option<(usize, usize)> {
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

    fn object_address(slab: usize, size: usize, index: usize) -> usize {
        (slab & !(SLAB_BYTES - 1)) + SLAB_BYTES - (index + 1) * size
    }

    // ---- the class lists: slabs with room first, full ones last ----

    fn unlink(&mut self, class: usize, slab: usize) {
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

    fn push_front(&mut self, class: usize, slab: usize) {
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

    fn push_back(&mut self, class: usize, slab: usize) {
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
    fn new_slab(&mut self, class: usize) -> Result<usize, HeapError> {
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
    fn release(&mut self, class: usize, slab: usize) {
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

    // ---- objects ----

    fn allocate_object(&mut self, class: usize, layout: Layout) -> Result<NonNull<u8>, HeapError> {
        let mut slab = self.classes[class].head;
        if slab == 0 || self.header(slab).live == self.header(slab).capacity {
            slab = self.new_slab(class)?;
        }
        let size = CLASS_SIZES[class];
        let header = self.header_mut(slab);
        let object = if header.free != 0 {
            let object = header.free;
            // SAFETY: a free object holds the next free object's address in
            // its first word (written by `deallocate_object`); objects are
            // at least 8 bytes and 8-aligned.
            header.free = unsafe { (object as *const usize).read() };
            object
        } else {
            header.carved += 1;
            Self::object_address(slab, size, usize::from(header.carved) - 1)
        };
        let index = ((slab & !(SLAB_BYTES - 1)) + SLAB_BYTES - object) / size - 1;
        header.in_use[index / 32] |= 1 << (index % 32);
        header.live += 1;
        let (live, capacity) = (header.live, header.capacity);
        if live == 1 {
            self.classes[class].empty -= 1;
        }
        if live == capacity {
            self.unlink(class, slab);
            self.push_back(class, slab);
        }
        self.classes[class].live += 1;
        self.objects += 1;
        self.object_bytes += layout.size();
        Ok(NonNull::new(object as *mut u8).expect("objects are never at 0"))
    }

    fn deallocate_object(
        &mut self,
        slab: usize,
        index: usize,
        object: usize,
        layout: Layout,
    ) -> Result<(), HeapError> {
        let header = self.header_mut(slab);
        let bit = 1 << (index % 32);
        if header.in_use[index / 32] & bit == 0 {
            return Err(HeapError::DoubleFree { address: object });
        }
        header.in_use[index / 32] &= !bit;
        // SAFETY: the object is ours and was just handed back; its first
        // word now holds the free-list link.
        unsafe { (object as *mut usize).write(header.free) };
        header.free = object;
        let was_full = header.live == header.capacity;
        header.live -= 1;
        let (live, class) = (header.live, usize::from(header.class));
        if was_full {
            self.unlink(class, slab);
            self.push_front(class, slab);
        }
        self.classes[class].live -= 1;
        self.objects -= 1;
        self.object_bytes = self.object_bytes.saturating_sub(layout.size());
        if live == 0 {
            self.classes[class].empty += 1;
            if self.classes[class].empty > EMPTY_SLABS_KEPT {
                self.release(class, slab);
            }
        }
        Ok(())
    }

    /// Whether `address` lies inside a free block of the heap beneath (a
    /// walk of every block: only on the way to reporting an error).
    fn inside_free_block(&self, address: usize) -> bool {
        let mut inside = false;
        self.inner.for_each_block(&mut |block| {
            inside |= block.free && (block.start..block.start + block.size).contains(&address);
        });
        inside
    }

    fn object_size(&self, slab: usize) -> usize {
        CLASS_SIZES[usize::from(self.header(slab).class)]
    }

    /// Checks the heap beneath, then every slab: its header, its bitmap
    /// against its count, and its free list. O(objects).
    pub fn check_slabs(&self) -> Result<(), HeapError> {
        for (class, list) in self.classes.iter().enumerate() {
            let (mut slab, mut prev, mut slabs, mut live) = (list.head, 0, 0, 0);
            while slab != 0 {
                let corrupt = HeapError::CorruptHeader { address: slab };
                let header = self.header(slab);
                let bits: u32 = header.in_use.iter().map(|word| word.count_ones()).sum();
                if header.check != slab ^ SLAB_MAGIC ^ class
                    || header.prev != prev
                    || bits != u32::from(header.live)
                    || header.live > header.capacity
                {
                    return Err(corrupt);
                }
                let mut free = header.free;
                let mut listed = 0;
                while free != 0 {
                    match self.slab_of(free) {
                        Some((owner, index))
                            if owner == slab
                                && header.in_use[index / 32] & (1 << (index % 32)) == 0
                                && listed < usize::from(header.capacity) => {}
                        _ => return Err(corrupt),
                    }
                    listed += 1;
                    // SAFETY: `free` was just checked to be a free object of
                    // this slab, whose first word is the next link.
                    free = unsafe { (free as *const usize).read() };
                }
                if listed + usize::from(header.live) != usize::from(header.carved) {
                    return Err(corrupt);
                }
                slabs += 1;
                live += usize::from(header.live);
                (prev, slab) = (slab, header.next);
            }
            if slabs != list.slabs || live != list.live || list.tail != prev {
                return Err(HeapError::CorruptHeader { address: list.head });
            }
        }
        Ok(())
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

impl<H: Inspect> Heap for SlabHeap<H> {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    unsafe fn add_region(&mut self, start: usize, size: usize) -> Result<(), HeapError> {
        // SAFETY: the caller's promise is passed on unchanged.
        unsafe { self.inner.add_region(start, size) }
    }

    fn allocate(&mut self, layout: Layout) -> Result<NonNull<u8>, HeapError> {
        match self.class_for(layout) {
            Some(class) => match self.allocate_object(class, layout) {
                Err(HeapError::Unsupported(_)) => {
                    self.enabled = false;
                    self.inner.allocate(layout)
                }
                result => result.map_err(|error| for_request(error, layout)),
            },
            None => {
                check_alignment(layout)?;
                match self.inner.allocate(layout) {
                    Err(HeapError::OutOfMemory { .. }) if self.release_empty_slabs() > 0 => {
                        self.inner.allocate(layout)
                    }
                    result => result,
                }
            }
        }
    }

    fn deallocate(&mut self, pointer: NonNull<u8>, layout: Layout) -> Result<(), HeapError> {
        let address = pointer.as_ptr() as usize;
        if layout.size() <= LARGEST_OBJECT {
            if let Some((slab, index)) = self.slab_of(address) {
                return self.deallocate_object(slab, index, address, layout);
            }
        }
        match self.inner.deallocate(pointer, layout) {
            // The last object of a slab took the slab with it when it was
            // freed: its span went back to the heap beneath, so a second
            // free of it lands inside a free block there. That is a double
            // free, not a pointer nobody handed out.
            Err(HeapError::InvalidPointer { address })
                if layout.size() <= LARGEST_OBJECT && self.inside_free_block(address) =>
            {
                Err(HeapError::DoubleFree { address })
            }
            result => result,
        }
    }

    /// A slab object stays put while the new size is in its class, and
    /// moves otherwise: an object that shrinks to a smaller class moves too,
    /// or the slack would stay wasted (small objects are cheap to copy). A
    /// block of the heap beneath is resized by that heap, in place where it
    /// can, even when it shrinks to a size a slab could hold: moving a large
    /// block would cost a large copy.
    fn reallocate(
        &mut self,
        pointer: NonNull<u8>,
        layout: Layout,
        new_size: usize,
    ) -> Result<NonNull<u8>, HeapError> {
        let address = pointer.as_ptr() as usize;
        let slab = if layout.size() <= LARGEST_OBJECT {
            self.slab_of(address)
        } else {
            None
        };
        let Some((slab, index)) = slab else {
            return self.inner.reallocate(pointer, layout, new_size);
        };
        let header = self.header(slab);
        if header.in_use[index / 32] & (1 << (index % 32)) == 0 {
            return Err(HeapError::DoubleFree { address });
        }
        let class = usize::from(header.class);
        let new_layout = Layout::from_size_align(new_size, layout.align());
        if new_layout.is_ok_and(|new_layout| self.class_for(new_layout) == Some(class)) {
            self.object_bytes = self.object_bytes - layout.size().min(self.object_bytes) + new_size;
            return Ok(pointer);
        }
        reallocate_by_moving(self, pointer, layout, new_size)
    }

    fn usable_size(&self, pointer: NonNull<u8>) -> Result<usize, HeapError> {
        match self.slab_of(pointer.as_ptr() as usize) {
            Some((slab, index)) => {
                let header = self.header(slab);
                if header.in_use[index / 32] & (1 << (index % 32)) == 0 {
                    return Err(HeapError::DoubleFree {
                        address: pointer.as_ptr() as usize,
                    });
                }
                Ok(self.object_size(slab))
            }
            None => self.inner.usable_size(pointer),
        }
    }

    /// The heap beneath's figures, with each slab counted as the objects in
    /// it rather than as one allocation.
    fn stats(&self) -> HeapStats {
        let mut stats = self.inner.stats();
        let slabs: usize = self.classes.iter().map(|class| class.slabs).sum();
        let span = self.inner.page_block().size();
        stats.allocations = stats.allocations - slabs + self.objects;
        stats.requested = stats.requested - slabs * span + self.object_bytes;
        stats
    }
}

impl<H: Inspect> Inspect for SlabHeap<H> {
    fn for_each_block(&self, visit: &mut dyn FnMut(BlockInfo)) {
        self.inner.for_each_block(visit)
    }

    fn granule(&self) -> usize {
        self.inner.granule()
    }

    fn owns(&self, address: usize) -> bool {
        self.inner.owns(address)
    }

    fn check_integrity(&self) -> Result<(), HeapError> {
        self.inner.check_integrity()?;
        self.check_slabs()
    }
}

impl<H: Inspect + Grow> Grow for SlabHeap<H> {
    fn growth_for(&self, layout: Layout) -> Option<usize> {
        match self.class_for(layout) {
            Some(_) => self.inner.growth_for(self.inner.page_block()),
            None => self.inner.growth_for(layout),
        }
    }

    unsafe fn extend_top(&mut self, bytes: usize) -> Result<(), HeapError> {
        // SAFETY: the caller's promise is passed on unchanged.
        unsafe { self.inner.extend_top(bytes) }
    }
}

/// Records no call sites.
impl<H: Inspect> Traced for SlabHeap<H> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heap::model_tests::Arena;
    use crate::heap::{BuddyHeap, PoolHeap};

    fn slab_heap<H: Inspect + Default>(bytes: usize) -> (Arena, SlabHeap<H>) {
        let arena = Arena::new(bytes);
        let mut heap = SlabHeap::new(H::default(), true);
        // SAFETY: the arena outlives the heap in every test (returned first).
        unsafe { heap.add_region(arena.start(), arena.len()) }.unwrap();
        (arena, heap)
    }

    fn layout(size: usize, align: usize) -> Layout {
        Layout::from_size_align(size, align).unwrap()
    }

    #[test]
    fn classes_round_up_and_respect_alignment() {
        let heap = SlabHeap::new(BuddyHeap::new(), true);
        let size_of_class = |l| heap.class_for(l).map(|class| CLASS_SIZES[class]);
        assert_eq!(size_of_class(layout(1, 1)), Some(8));
        assert_eq!(size_of_class(layout(17, 8)), Some(24));
        assert_eq!(
            size_of_class(layout(17, 16)),
            Some(32),
            "24-byte objects are only 8-aligned"
        );
        assert_eq!(size_of_class(layout(100, 64)), Some(128));
        assert_eq!(size_of_class(layout(1024, 8)), Some(1024));
        assert_eq!(size_of_class(layout(1025, 8)), None);
        assert_eq!(size_of_class(layout(8, 2048)), None);
        let off = SlabHeap::new(BuddyHeap::new(), false);
        assert_eq!(off.class_for(layout(8, 8)), None);
    }

    #[test]
    fn objects_share_a_page_and_empty_slabs_go_back() {
        let (_arena, mut heap) = slab_heap::<BuddyHeap>(64 * 1024);
        let fresh = heap.beneath().stats();
        let l = layout(24, 8);
        let a = heap.allocate(l).unwrap();
        let b = heap.allocate(l).unwrap();
        let (a_addr, b_addr) = (a.as_ptr() as usize, b.as_ptr() as usize);
        assert_eq!(a_addr & !4095, b_addr & !4095, "one page holds both");
        assert_eq!(a_addr - b_addr, 24);
        assert_eq!(heap.stats().allocations, 2);
        assert_eq!(heap.stats().requested, 48);
        assert_eq!(heap.beneath().stats().allocations, 1, "one slab beneath");
        assert_eq!(heap.usable_size(a), Ok(24));
        heap.deallocate(a, l).unwrap();
        assert_eq!(
            heap.deallocate(a, l),
            Err(HeapError::DoubleFree { address: a_addr })
        );
        heap.deallocate(b, l).unwrap();
        assert_eq!(heap.release_empty_slabs(), EMPTY_SLABS_KEPT);
        let peak_used = fresh.peak_used.max(4096);
        assert_eq!(heap.beneath().stats(), HeapStats { peak_used, ..fresh });
        heap.check_integrity().unwrap();
    }

    /// The second free of a slab's last object comes after the slab went
    /// back to the heap beneath; it is still called a double free.
    #[test]
    fn freeing_a_released_slabs_last_object_again_is_a_double_free() {
        fn check<H: Inspect + Default>() {
            let (_arena, mut heap) = slab_heap::<H>(64 * 1024);
            let l = layout(40, 8);
            let only = heap.allocate(l).unwrap();
            let address = only.as_ptr() as usize;
            heap.deallocate(only, l).unwrap();
            assert_eq!(heap.beneath().stats().allocations, 0, "the slab went back");
            let before = heap.stats();
            assert_eq!(
                heap.deallocate(only, l),
                Err(HeapError::DoubleFree { address })
            );
            assert_eq!(heap.stats(), before);
            heap.check_integrity().unwrap();
            // A pointer into a block that is in use is not a double free.
            let big = heap.allocate(layout(4000, 8)).unwrap();
            let inside = NonNull::new(big.as_ptr().wrapping_add(512)).unwrap();
            assert!(matches!(
                heap.deallocate(inside, l),
                Err(HeapError::InvalidPointer { .. })
            ));
        }
        check::<BuddyHeap>();
        check::<PoolHeap>();
    }

    /// Running out reports the caller's request, not the page the slab
    /// asked the heap beneath for.
    #[test]
    fn out_of_memory_names_the_callers_request() {
        let (_arena, mut heap) = slab_heap::<BuddyHeap>(4096);
        let big = heap.allocate(layout(2000, 8)).unwrap();
        assert_eq!(
            heap.allocate(layout(100, 4)),
            Err(HeapError::OutOfMemory {
                size: 100,
                align: 4
            })
        );
        heap.deallocate(big, layout(2000, 8)).unwrap();
    }

    #[test]
    fn full_slabs_move_back_and_forth_and_all_go_back() {
        let (_arena, mut heap) = slab_heap::<BuddyHeap>(256 * 1024);
        let l = layout(1024, 8);
        let per_slab = heap_capacity(&heap, 1024);
        let blocks: Vec<_> = (0..2 * per_slab + 1)
            .map(|_| heap.allocate(l).unwrap())
            .collect();
        assert_eq!(heap.beneath().stats().allocations, 3);
        heap.check_integrity().unwrap();
        for block in blocks.iter().step_by(2) {
            heap.deallocate(*block, l).unwrap();
        }
        heap.check_integrity().unwrap();
        for block in blocks.iter().skip(1).step_by(2) {
            heap.deallocate(*block, l).unwrap();
        }
        let slabs_made = heap.beneath().stats().allocations.max(3);
        let kept = [EMPTY_SLABS_KEPT, slabs_made].into_iter().min();
        assert_eq!(Some(heap.beneath().stats().allocations), kept);
        heap.check_integrity().unwrap();
    }

    fn heap_capacity<H: Inspect>(heap: &SlabHeap<H>, size: usize) -> usize {
        heap.classes()
            .find(|c| c.object_size == size)
            .unwrap()
            .capacity
    }

    #[test]
    fn interior_and_foreign_pointers_are_refused() {
        let (_arena, mut heap) = slab_heap::<BuddyHeap>(64 * 1024);
        let l = layout(64, 8);
        let a = heap.allocate(l).unwrap();
        let inside = NonNull::new(a.as_ptr().wrapping_add(8)).unwrap();
        assert!(heap.deallocate(inside, l).is_err());
        let mut local = 0u64;
        let foreign = NonNull::from(&mut local).cast::<u8>();
        assert!(matches!(
            heap.deallocate(foreign, l),
            Err(HeapError::ForeignPointer { .. })
        ));
        heap.deallocate(a, l).unwrap();
        heap.check_integrity().unwrap();
    }

    #[test]
    fn works_over_the_pool_too() {
        let (_arena, mut heap) = slab_heap::<PoolHeap>(64 * 1024);
        let l = layout(40, 8);
        let blocks: Vec<_> = (0..200).map(|_| heap.allocate(l).unwrap()).collect();
        assert!(heap.is_enabled());
        assert!(heap.beneath().stats().allocations < 5);
        for block in blocks {
            heap.deallocate(block, l).unwrap();
        }
        heap.check_integrity().unwrap();
    }

    #[test]
    fn reallocation_stays_in_class_or_moves_with_contents() {
        let (_arena, mut heap) = slab_heap::<BuddyHeap>(64 * 1024);
        let a = heap.allocate(layout(20, 4)).unwrap();
        // SAFETY: a is 24 bytes long.
        unsafe { a.as_ptr().write_bytes(0xAB, 20) };
        assert_eq!(heap.reallocate(a, layout(20, 4), 24), Ok(a));
        let b = heap.reallocate(a, layout(24, 4), 3000).unwrap();
        assert_ne!(a, b);
        // SAFETY: b is 3000 bytes long.
        assert!(unsafe { core::slice::from_raw_parts(b.as_ptr(), 20) }
            .iter()
            .all(|&x| x == 0xAB));
        // A buddy block shrinks in place rather than moving into a slab.
        let c = heap.reallocate(b, layout(3000, 4), 10).unwrap();
        assert_eq!(c, b);
        heap.deallocate(c, layout(10, 4)).unwrap();
        // A slab object that shrinks to a smaller class moves there.
        let d = heap.allocate(layout(100, 4)).unwrap();
        assert_eq!(heap.reallocate(d, layout(100, 4), 97), Ok(d));
        let e = heap.reallocate(d, layout(97, 4), 20).unwrap();
        assert_ne!(e, d);
        assert_eq!(heap.usable_size(e), Ok(24));
        heap.deallocate(e, layout(20, 4)).unwrap();
        assert_eq!(heap.stats().allocations, 0);
        heap.check_integrity().unwrap();
    }
}
