//! From a pointer handed back to the allocation it belongs to: the bitmap
//! first, the header second.
//!
//! The plain buddy heap reads the 16 bytes before a pointer and believes
//! them if their check value is right. Here the bitmap is asked first
//! whether an allocation starts there; only then is the header read. A
//! pointer into the middle of an allocation (say, to the start of its
//! second piece) finds no start bit and is refused, even if the program
//! wrote something that looks exactly like a header before it.

use super::bitmap::Start;
use super::header::{GRANULE, HEADER_SIZE, SHIM_SIZE};
use super::ExactHeap;
use crate::heap::HeapError;
use core::ptr::NonNull;

/// Where an allocation is, found from its payload pointer.
pub(super) struct Allocated {
    pub(super) block: usize,
    pub(super) region: usize,
    /// Bytes kept, header included: a multiple of the granule.
    pub(super) length: usize,
}

impl ExactHeap {
    /// Finds the allocation `pointer` is the payload of, and checks that it
    /// is live.
    pub(super) fn find_allocated(&self, pointer: NonNull<u8>) -> Result<Allocated, HeapError> {
        let address = pointer.as_ptr() as usize;
        let (region, start) = self.regions.locate(address, SHIM_SIZE, HEADER_SIZE)?;
        let plain = address - HEADER_SIZE;
        // Blocks start at multiples of the granule (regions start at
        // page boundaries); a pointer 16 bytes into a payload would put its
        // "header" between two.
        let block = if plain.is_multiple_of(GRANULE) && self.start_at(region, plain) == Start::Used
        {
            plain
        } else {
            // An over-aligned payload has a shim pointing back at its
            // header; the bitmap must agree that an allocation starts there.
            match self.read_shim(address) {
                Some(offset) if address - start >= offset => address - offset,
                _ => plain,
            }
        };
        if !block.is_multiple_of(GRANULE) {
            return Err(HeapError::InvalidPointer { address });
        }
        match self.start_at(region, block) {
            Start::Used => {
                let length = self
                    .used_length(block, region)
                    .ok_or(HeapError::CorruptHeader { address: block })?;
                Ok(Allocated {
                    block,
                    region,
                    length,
                })
            }
            Start::Free => Err(HeapError::DoubleFree { address }),
            // Inside a block: if that block is free and a header still lies
            // at `block`, the allocation was freed and merged into a bigger
            // free block. (Free memory is ours to read; a used block's
            // payload is not, so inside one the answer is just "no".)
            Start::Inside => match self.block_containing(region, block) {
                (_, Start::Free) if self.had_header(block, region) => {
                    Err(HeapError::DoubleFree { address })
                }
                _ => Err(HeapError::InvalidPointer { address }),
            },
        }
    }
}
