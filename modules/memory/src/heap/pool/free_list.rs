//! The free list, doubly linked through the payloads of free chunks, and
//! choosing a chunk for a request: the first that fits, or the smallest
//! (see [`Fit`]).

use super::chunk::{FreeLinks, FREE, GRANULE, HEADER_SIZE, MERGED, MIN_CHUNK, USED};
use super::{Fit, PoolHeap};
use crate::heap::HeapError;

impl PoolHeap {
    // ---- the free list ----

    pub(super) fn push_free(&mut self, chunk: usize, size: usize, prev_size: usize) {
        self.write_header(chunk, size, prev_size, FREE);
        let head = self.free_head;
        self.set_links(
            chunk,
            FreeLinks {
                prev: 0,
                next: head,
            },
        );
        if head != 0 {
            let links = self.links(head);
            self.set_links(
                head,
                FreeLinks {
                    prev: chunk,
                    ..links
                },
            );
        }
        self.free_head = chunk;
        self.free_chunks += 1;
    }

    pub(super) fn remove_free(&mut self, chunk: usize) {
        let FreeLinks { prev, next } = self.links(chunk);
        if prev == 0 {
            self.free_head = next;
        } else {
            let links = self.links(prev);
            self.set_links(prev, FreeLinks { next, ..links });
        }
        if next != 0 {
            let links = self.links(next);
            self.set_links(next, FreeLinks { prev, ..links });
        }
        self.free_chunks -= 1;
    }

    /// Tells the chunk above `chunk` (if any) that its lower neighbour's size
    /// is now `size`.
    pub(super) fn update_next_prev_size(&mut self, chunk: usize, size: usize, region: usize) {
        let (_, end) = self.regions.get(region);
        let next = chunk + size;
        if next < end {
            let header = self.read_header(next);
            self.write_header(next, header.size as usize, size, header.state);
        }
    }

    /// Bytes of chunk needed for `size` bytes of payload.
    pub(super) fn chunk_size_for(size: usize) -> Option<usize> {
        let size = size
            .max(1)
            .checked_add(HEADER_SIZE)?
            .checked_next_multiple_of(GRANULE)?;
        Some(size.max(MIN_CHUNK)).filter(|&size| size <= u32::MAX as usize)
    }

    /// Where a block of `need` chunk bytes with payload alignment `align`
    /// fits inside free chunk `chunk` of `size` bytes: the offset of the new
    /// chunk (0, or a gap big enough to stay a free chunk of its own).
    pub(super) fn fits(chunk: usize, size: usize, need: usize, align: usize) -> Option<usize> {
        // LAB 2.5 BEGIN: align the payload (chunk + HEADER_SIZE) up; the gap before the chunk must be 0 or at least MIN_CHUNK (else move the payload on by a multiple of align that is at least MIN_CHUNK); the chunk fits if gap + need <= size
        let mut payload = (chunk + HEADER_SIZE).next_multiple_of(align);
        let mut gap = payload - HEADER_SIZE - chunk;
        if gap != 0 && gap < MIN_CHUNK {
            payload += align.max(MIN_CHUNK).next_multiple_of(align);
            gap = payload - HEADER_SIZE - chunk;
        }
        (gap.checked_add(need)? <= size).then_some(gap)
        // LAB END
    }

    /// The free chunk to allocate `need` bytes aligned to `align` from, as
    /// `(chunk, gap, size)`: the only place first and best fit differ.
    pub(super) fn find_free(&self, need: usize, align: usize) -> Option<(usize, usize, usize)> {
        let mut found: Option<(usize, usize, usize)> = None;
        let mut chunk = self.free_head;
        while chunk != 0 {
            let size = self.read_header(chunk).size as usize;
            if let Some(gap) = Self::fits(chunk, size, need, align) {
                // Strictly smaller only: on a tie the first found stays.
                if found.is_none_or(|(_, _, smallest)| size < smallest) {
                    found = Some((chunk, gap, size));
                }
                // No chunk that fits is smaller than `need`, so best fit
                // can stop at an exact fit too.
                if self.fit == Fit::First || size == need {
                    break;
                }
            }
            chunk = self.links(chunk).next;
        }
        found
    }

    /// Cuts `chunk` (used, `size` bytes) down to `keep` bytes when the rest
    /// can be a chunk of its own, and frees the rest. Returns the new size.
    pub(super) fn trim(
        &mut self, chunk: usize, size: usize, keep: usize, region: usize,
    ) -> Result<usize, HeapError> {
        // LAB 2.5 BEGIN: keep the chunk whole if the rest is smaller than MIN_CHUNK; else the rest (merged with a free upper neighbour: neighbour, remove_free, mark it MERGED) becomes a free chunk (push_free, with prev_size keep; update_next_prev_size), and the chunk's header says keep
        if size - keep < MIN_CHUNK {
            return Ok(size);
        }
        let prev_size = self.read_header(chunk).prev_size as usize;
        let rest = chunk + keep;
        let rest_size = size - keep;
        // Merge the rest with a free upper neighbour first.
        let (_, end) = self.regions.get(region);
        let next = rest + rest_size;
        let mut merged_size = rest_size;
        if next < end {
            let header = self.neighbour(next, region)?;
            if header.state == FREE {
                self.remove_free(next);
                self.write_header(next, header.size as usize, 0, MERGED);
                merged_size += header.size as usize;
            }
        }
        self.write_header(chunk, keep, prev_size, USED);
        self.push_free(rest, merged_size, keep);
        self.update_next_prev_size(rest, merged_size, region);
        Ok(keep)
        // LAB END
    }
}
