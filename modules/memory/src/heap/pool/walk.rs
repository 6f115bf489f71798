//! Walking the pool chunk by chunk — what `heapmap` shows and what the
//! integrity check verifies.

use super::chunk::{FREE, GRANULE, HEADER_SIZE};
use super::PoolHeap;
use crate::heap::inspect::for_each_block_end_to_end;
use crate::heap::{BlockInfo, HeapError, Inspect, Traced};

impl PoolHeap {
    /// Walks every chunk and the free list. O(chunks): for tests and checks.
    pub fn check_integrity(&self) -> Result<(), HeapError> {
        let mut free = 0;
        for (index, (start, end)) in self.regions.iter().enumerate() {
            let (mut chunk, mut prev_size, mut prev_free) = (start, 0, false);
            while chunk < end {
                let header = self.neighbour(chunk, index)?;
                let is_free = header.state == FREE;
                if header.prev_size as usize != prev_size || (is_free && prev_free) {
                    return Err(HeapError::CorruptHeader { address: chunk });
                }
                free += usize::from(is_free);
                (prev_size, prev_free) = (header.size as usize, is_free);
                chunk += header.size as usize;
            }
        }
        let (mut listed, mut chunk, mut prev) = (0, self.free_head, 0);
        while chunk != 0 {
            let region = self
                .regions
                .find(chunk)
                .ok_or(HeapError::CorruptHeader { address: chunk })?;
            let ok = self
                .valid_header(chunk, region)
                .is_some_and(|h| h.state == FREE)
                && self.links(chunk).prev == prev;
            listed += 1;
            if !ok || listed > free {
                return Err(HeapError::CorruptHeader { address: chunk });
            }
            (prev, chunk) = (chunk, self.links(chunk).next);
        }
        if listed != free || free != self.free_chunks {
            return Err(HeapError::CorruptHeader {
                address: self.free_head,
            });
        }
        Ok(())
    }
}

impl Inspect for PoolHeap {
    fn for_each_block(&self, visit: &mut dyn FnMut(BlockInfo)) {
        let block_at = |chunk, region| {
            let header = self.neighbour(chunk, region).ok()?;
            Some((header.size as usize, header.state == FREE))
        };
        for_each_block_end_to_end(&self.regions, HEADER_SIZE, block_at, visit);
    }

    fn owns(&self, address: usize) -> bool {
        self.regions.find(address).is_some()
    }

    fn check_integrity(&self) -> Result<(), HeapError> {
        PoolHeap::check_integrity(self)
    }

    fn granule(&self) -> usize {
        GRANULE
    }
}

/// Records no call sites.
impl Traced for PoolHeap {}
