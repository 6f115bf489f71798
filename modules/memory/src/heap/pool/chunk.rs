//! The chunk header at the start of every chunk, the links a free chunk
//! keeps in its payload, and checking a header before believing it.

use super::PoolHeap;
use crate::heap::HeapError;
use core::mem::size_of;
use core::ptr::NonNull;

#[repr(C, align(16))]
#[derive(Debug, Clone, Copy)]
pub(super) struct ChunkHeader {
    pub(super) check: u32,
    pub(super) size: u32,
    pub(super) prev_size: u32,
    pub(super) state: u8,
    pub(super) _pad: [u8; 3],
}

/// The free-list links in a free chunk's payload.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub(super) struct FreeLinks {
    pub(super) prev: usize,
    pub(super) next: usize,
}

pub(super) const HEADER_SIZE: usize = size_of::<ChunkHeader>();
/// Chunk sizes and payloads are multiples of this.
pub(super) const GRANULE: usize = HEADER_SIZE;
/// A chunk must hold its header and, when free, its links.
pub(super) const MIN_CHUNK: usize = HEADER_SIZE + size_of::<FreeLinks>().next_multiple_of(GRANULE);

pub(super) const FREE: u8 = b'F';
pub(super) const USED: u8 = b'U';
/// Merged into the chunk below: a second free of it is a double free.
pub(super) const MERGED: u8 = b'M';
const MAGIC: u32 = 0x9001_C4A7;

fn check_value(address: usize, size: u32, prev_size: u32, state: u8) -> u32 {
    MAGIC ^ (address as u32).rotate_left(11) ^ size.rotate_left(3) ^ prev_size ^ u32::from(state)
}

impl PoolHeap {
    // ---- raw access: the only place this file touches memory ----

    pub(super) fn read_header(&self, chunk: usize) -> ChunkHeader {
        debug_assert!(self.regions.find(chunk).is_some() && chunk.is_multiple_of(GRANULE));
        // SAFETY: callers pass chunk starts inside our regions (from the free
        // list, from a neighbour's size, or checked against `self.regions`),
        // which `add_region`'s caller let us use; they are GRANULE-aligned.
        unsafe { (chunk as *const ChunkHeader).read() }
    }

    pub(super) fn write_header(&mut self, chunk: usize, size: usize, prev_size: usize, state: u8) {
        debug_assert!(self.regions.find(chunk).is_some() && chunk.is_multiple_of(GRANULE));
        let (size, prev_size) = (size as u32, prev_size as u32);
        let header = ChunkHeader {
            check: check_value(chunk, size, prev_size, state),
            size,
            prev_size,
            state,
            _pad: [0; 3],
        };
        // SAFETY: as in `read_header`.
        unsafe { (chunk as *mut ChunkHeader).write(header) }
    }

    pub(super) fn links(&self, chunk: usize) -> FreeLinks {
        // SAFETY: only free chunks have links; a free chunk is at least
        // MIN_CHUNK bytes, so the links after its header are inside it.
        unsafe { ((chunk + HEADER_SIZE) as *const FreeLinks).read() }
    }

    pub(super) fn set_links(&mut self, chunk: usize, links: FreeLinks) {
        // SAFETY: as in `links`.
        unsafe { ((chunk + HEADER_SIZE) as *mut FreeLinks).write(links) }
    }

    /// The header at `chunk`, if intact and inside region `region`.
    pub(super) fn valid_header(&self, chunk: usize, region: usize) -> Option<ChunkHeader> {
        let (_, end) = self.regions.get(region);
        let header = self.read_header(chunk);
        let size = header.size as usize;
        let intact = header.check
            == check_value(chunk, header.size, header.prev_size, header.state)
            && matches!(header.state, FREE | USED | MERGED)
            && size >= MIN_CHUNK
            && size.is_multiple_of(GRANULE)
            && end - chunk >= size;
        intact.then_some(header)
    }

    /// The header of a chunk that must exist (a neighbour found by size):
    /// failing the check there means memory was overwritten.
    pub(super) fn neighbour(&self, chunk: usize, region: usize) -> Result<ChunkHeader, HeapError> {
        self.valid_header(chunk, region)
            .filter(|header| header.state != MERGED)
            .ok_or(HeapError::CorruptHeader { address: chunk })
    }

    /// The chunk a payload pointer belongs to, checked to be allocated.
    pub(super) fn find_allocated(
        &self, pointer: NonNull<u8>,
    ) -> Result<(usize, usize, ChunkHeader), HeapError> {
        let address = pointer.as_ptr() as usize;
        let (region, _) = self.regions.locate(address, GRANULE, HEADER_SIZE)?;
        let chunk = address - HEADER_SIZE;
        match self.valid_header(chunk, region) {
            None => Err(HeapError::InvalidPointer { address }),
            Some(header) if header.state == USED => Ok((chunk, region, header)),
            Some(_) => Err(HeapError::DoubleFree { address }),
        }
    }
}
