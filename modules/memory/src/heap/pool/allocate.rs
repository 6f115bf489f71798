//! The pool as a [`Heap`]: allocating from the chunk the fit picks,
//! freeing with coalescing (both neighbours), and resizing in place.

use super::chunk::{FREE, GRANULE, HEADER_SIZE, MERGED, MIN_CHUNK, USED};
use super::PoolHeap;
use crate::heap::{
    check_alignment, out_of_memory, reallocate_by_moving, size_class, Heap, HeapError, HeapStats,
    SIZE_CLASSES,
};
use core::alloc::Layout;
use core::ptr::NonNull;

impl Heap for PoolHeap {
    fn name(&self) -> &'static str {
        "pool"
    }

    /// The whole region becomes one free chunk, the first region or any
    /// later one.
    unsafe fn add_region(&mut self, start: usize, size: usize) -> Result<(), HeapError> {
        let (_, aligned, end) = self.regions.claim(
            (start, size),
            (GRANULE, GRANULE),
            (MIN_CHUNK, u32::MAX as usize),
        )?;
        self.push_free(aligned, end - aligned, 0);
        self.counts.total += end - aligned;
        Ok(())
    }

    fn allocate(&mut self, layout: Layout) -> Result<NonNull<u8>, HeapError> {
        check_alignment(layout)?;
        let need = Self::chunk_size_for(layout.size()).ok_or(out_of_memory(layout))?;
        let align = layout.align().max(GRANULE);
        let (chunk, gap, size) = self.find_free(need, align).ok_or(out_of_memory(layout))?;
        // LAB 2.5 BEGIN: take the chunk off the free list (remove_free); a gap in front stays a free chunk (push_free); write the block's header USED (its prev_size is the gap, or the chunk's), fix the next chunk's prev_size, trim the block to need, count it, and return its payload
        let region = self
            .regions
            .find(chunk)
            .expect("free chunks are in a region");
        let prev_size = self.read_header(chunk).prev_size as usize;
        self.remove_free(chunk);
        // An alignment gap at the front stays behind as a free chunk.
        let (block, block_size, block_prev) = if gap == 0 {
            (chunk, size, prev_size)
        } else {
            self.push_free(chunk, gap, prev_size);
            (chunk + gap, size - gap, gap)
        };
        self.write_header(block, block_size, block_prev, USED);
        self.update_next_prev_size(block, block_size, region);
        // The tail, if big enough, is split off and freed (`chunk_split`).
        let final_size = self.trim(block, block_size, need, region)?;
        self.counts.allocated(final_size, layout.size());
        Ok(NonNull::new((block + HEADER_SIZE) as *mut u8).expect("chunks are never at 0"))
        // LAB END
    }

    fn deallocate(&mut self, pointer: NonNull<u8>, layout: Layout) -> Result<(), HeapError> {
        let (chunk, region, header) = self.find_allocated(pointer)?;
        // LAB 2.5 BEGIN: check both neighbours first (neighbour: the upper at chunk + size if inside the region, the lower at chunk - prev_size if the chunk is not the region's first), so a corrupt one changes nothing; then absorb a free upper (remove_free, mark MERGED), be absorbed by a free lower (remove_free, mark this chunk MERGED), push_free the result with its prev_size, fix the next chunk's prev_size, and count the free
        let (start, end) = self.regions.get(region);
        let size = header.size as usize;
        // Check both neighbours before changing anything.
        let next = chunk + size;
        let upper = if next < end {
            Some(self.neighbour(next, region)?)
        } else {
            None
        };
        let lower_address = chunk - header.prev_size as usize;
        let lower = if chunk > start {
            Some(self.neighbour(lower_address, region)?)
        } else {
            None
        };
        let (mut merged, mut merged_size, mut prev_size) = (chunk, size, header.prev_size as usize);
        if let Some(upper) = upper.filter(|h| h.state == FREE) {
            self.remove_free(next);
            self.write_header(next, upper.size as usize, 0, MERGED);
            merged_size += upper.size as usize;
        }
        if let Some(lower) = lower.filter(|h| h.state == FREE) {
            self.remove_free(lower_address);
            self.write_header(chunk, size, 0, MERGED);
            merged = lower_address;
            merged_size += lower.size as usize;
            prev_size = lower.prev_size as usize;
        }
        self.push_free(merged, merged_size, prev_size);
        self.update_next_prev_size(merged, merged_size, region);
        self.counts.freed(size, layout.size());
        Ok(())
        // LAB END
    }

    /// Shrinks by splitting off the tail; grows into a free upper neighbour;
    /// otherwise moves.
    fn reallocate(
        &mut self, pointer: NonNull<u8>, layout: Layout, new_size: usize,
    ) -> Result<NonNull<u8>, HeapError> {
        let (chunk, region, header) = self.find_allocated(pointer)?;
        let need = Self::chunk_size_for(new_size).ok_or(out_of_memory(layout))?;
        let size = header.size as usize;
        let (_, end) = self.regions.get(region);
        let mut available = size;
        let next = chunk + size;
        let upper = if next < end {
            Some(self.neighbour(next, region)?)
        } else {
            None
        };
        if need > size {
            match upper {
                Some(upper) if upper.state == FREE && size + upper.size as usize >= need => {
                    self.remove_free(next);
                    self.write_header(next, upper.size as usize, 0, MERGED);
                    available += upper.size as usize;
                    self.write_header(chunk, available, header.prev_size as usize, USED);
                    self.update_next_prev_size(chunk, available, region);
                }
                _ => return reallocate_by_moving(self, pointer, layout, new_size),
            }
        }
        let final_size = self.trim(chunk, available, need, region)?;
        self.counts
            .resized((size, final_size), (layout.size(), new_size));
        Ok(pointer)
    }

    fn usable_size(&self, pointer: NonNull<u8>) -> Result<usize, HeapError> {
        let (_, _, header) = self.find_allocated(pointer)?;
        Ok(header.size as usize - HEADER_SIZE)
    }

    fn stats(&self) -> HeapStats {
        let (mut free_blocks, mut largest_free) = ([0; SIZE_CLASSES], 0);
        let mut chunk = self.free_head;
        while chunk != 0 {
            let size = self.read_header(chunk).size as usize;
            free_blocks[size_class(size).min(SIZE_CLASSES - 1)] += 1;
            largest_free = largest_free.max(size);
            chunk = self.links(chunk).next;
        }
        self.counts
            .stats(largest_free, free_blocks, self.regions.len)
    }
}
