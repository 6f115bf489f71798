//! Objects: handing one out from the first slab of its class with room,
//! taking it back (refusing a double free or a pointer into the middle of
//! one), and checking every slab's books.

use super::page::SLAB_MAGIC;
use super::{SlabHeap, CLASS_SIZES, EMPTY_SLABS_KEPT, SLAB_BYTES};
use crate::heap::{HeapError, Inspect};
use core::alloc::Layout;
use core::ptr::NonNull;

impl<H: Inspect> SlabHeap<H> {
    // ---- objects ----

    pub(super) fn allocate_object(
        &mut self, class: usize, layout: Layout,
    ) -> Result<NonNull<u8>, HeapError> {
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

    pub(super) fn deallocate_object(
        &mut self, slab: usize, index: usize, object: usize, layout: Layout,
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
    pub(super) fn inside_free_block(&self, address: usize) -> bool {
        let mut inside = false;
        self.inner.for_each_block(&mut |block| {
            inside |= block.free && (block.start..block.start + block.size).contains(&address);
        });
        inside
    }

    pub(super) fn object_size(&self, slab: usize) -> usize {
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
