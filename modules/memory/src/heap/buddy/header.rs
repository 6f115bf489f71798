//! The header at the start of every block: what it holds, how it is
//! checked before it is believed, and how a payload pointer leads back to
//! it (through a *shim* when the payload is over-aligned).

use super::{BuddyHeap, ORDERS};
use crate::heap::{HeapError, MAX_ALIGN};
use core::mem::size_of;
use core::ptr::NonNull;

/// The header at the start of every block.
#[repr(C, align(16))]
#[derive(Debug, Clone, Copy)]
pub(super) struct BlockHeader {
    /// [`check_value`] of the other fields and the block's address: a header
    /// that was overwritten, or a pointer that does not point after a header,
    /// fails the check.
    pub(super) check: u32,
    pub(super) order: u8,
    pub(super) state: u8,
    _pad: u16,
    /// Free-list links (addresses of headers; 0 = none). Only while free.
    pub(super) prev: usize,
    pub(super) next: usize,
}

/// Bytes of header before the payload of an ordinary block (16 on i686).
pub const HEADER_SIZE: usize = size_of::<BlockHeader>();
/// The smallest block: a header and as many bytes of payload.
pub const MIN_BLOCK: usize = 2 * HEADER_SIZE;
/// The order of the smallest block (5 on i686: 32 bytes).
pub const MIN_ORDER: u32 = MIN_BLOCK.trailing_zeros();

/// The block is on a free list.
pub(super) const FREE: u8 = b'F';
/// The block is allocated.
pub(super) const USED: u8 = b'U';
/// The block was freed and then merged into the buddy below it: its header
/// is now just bytes inside a bigger block, kept recognisable so that a
/// second free of the old pointer is reported as a double free.
pub(super) const MERGED: u8 = b'M';

const HEADER_MAGIC: u32 = 0xB0DD_7E55;
const SHIM_MAGIC: u32 = 0x5A11_6E0D;
/// Size of the shim before an over-aligned payload: check, then offset.
const SHIM_SIZE: usize = 8;

fn check_value(address: usize, order: u8, state: u8) -> u32 {
    HEADER_MAGIC ^ (address as u32).rotate_left(7) ^ (u32::from(order) << 8 | u32::from(state))
}

/// Where an allocated block is, found from a payload pointer.
pub(super) struct Allocated {
    pub(super) block: usize,
    pub(super) region: usize,
    pub(super) order: u32,
}

/// Which free-list link of a header to rewrite.
#[derive(Clone, Copy)]
pub(super) enum Link {
    Prev,
    Next,
}

impl BuddyHeap {
    // ---- raw header access: the only place this file touches memory ----

    pub(super) fn read_header(&self, address: usize) -> BlockHeader {
        debug_assert!(self.regions.find(address).is_some() && address.is_multiple_of(HEADER_SIZE));
        // SAFETY: callers pass block starts inside one of our regions (from
        // the free lists, or checked against `self.regions`); `add_region`'s
        // caller promised the heap may read and write them. Block starts are
        // multiples of MIN_BLOCK from a MAX_ALIGN-aligned region start, so
        // the read is aligned.
        unsafe { (address as *const BlockHeader).read() }
    }

    pub(super) fn write_header(
        &mut self, address: usize, order: u32, state: u8, prev: usize, next: usize,
    ) {
        debug_assert!(self.regions.find(address).is_some() && address.is_multiple_of(HEADER_SIZE));
        let order = order as u8;
        let header = BlockHeader {
            check: check_value(address, order, state),
            order,
            state,
            _pad: 0,
            prev,
            next,
        };
        // SAFETY: as in `read_header`: an aligned block start in our memory.
        unsafe { (address as *mut BlockHeader).write(header) }
    }

    fn read_shim(&self, payload: usize) -> (u32, u32) {
        // SAFETY: callers check that `payload - SHIM_SIZE` is inside a region
        // and that `payload` is 8-aligned.
        unsafe { ((payload - SHIM_SIZE) as *const (u32, u32)).read() }
    }

    pub(super) fn write_shim(&mut self, payload: usize, offset: usize) {
        let shim = (SHIM_MAGIC ^ payload as u32, offset as u32);
        // SAFETY: the shim lies inside the block just allocated, after its
        // header (offset > HEADER_SIZE), and `payload` is `offset`-aligned.
        unsafe { ((payload - SHIM_SIZE) as *mut (u32, u32)).write(shim) }
    }

    /// The header at `address` if it is intact and describes a block that
    /// fits region `region` at that address.
    pub(super) fn valid_header(&self, address: usize, region: usize) -> Option<BlockHeader> {
        let (start, end) = self.regions.get(region);
        let header = self.read_header(address);
        let order = u32::from(header.order);
        let intact = header.check == check_value(address, header.order, header.state)
            && matches!(header.state, FREE | USED | MERGED)
            && (MIN_ORDER..ORDERS as u32).contains(&order);
        let fits =
            intact && (address - start).is_multiple_of(1 << order) && end - address >= 1 << order;
        fits.then_some(header)
    }

    /// Finds the block a payload pointer belongs to, and checks that it is
    /// allocated.
    pub(super) fn find_allocated(&self, pointer: NonNull<u8>) -> Result<Allocated, HeapError> {
        let address = pointer.as_ptr() as usize;
        let (region, start) = self.regions.locate(address, SHIM_SIZE, HEADER_SIZE)?;
        // An over-aligned payload has a shim pointing back at its header.
        let (check, offset) = self.read_shim(address);
        let offset = offset as usize;
        let shim = check == SHIM_MAGIC ^ address as u32
            && offset.is_power_of_two()
            && (HEADER_SIZE + 1..=MAX_ALIGN).contains(&offset)
            && address - start >= offset;
        let block = if shim {
            address - offset
        } else {
            address - HEADER_SIZE
        };
        // Blocks start at multiples of MIN_BLOCK; a pointer 8 bytes into a
        // payload would put its "header" between two.
        if !block.is_multiple_of(HEADER_SIZE) {
            return Err(HeapError::InvalidPointer { address });
        }
        let header = match self.valid_header(block, region) {
            Some(header) => header,
            None if shim => return Err(HeapError::CorruptHeader { address: block }),
            None => return Err(HeapError::InvalidPointer { address }),
        };
        match header.state {
            USED => Ok(Allocated {
                block,
                region,
                order: u32::from(header.order),
            }),
            _ => Err(HeapError::DoubleFree { address }),
        }
    }

    /// Rewrites one free-list link of the free block at `address`. The
    /// links are not part of the check value, so the rest of the header
    /// (and its cache line's other bytes) need not be read or rewritten.
    pub(super) fn write_link(&mut self, address: usize, link: Link, value: usize) {
        debug_assert!(self.regions.find(address).is_some() && address.is_multiple_of(HEADER_SIZE));
        let header = address as *mut BlockHeader;
        // SAFETY: as in `read_header`: an aligned block start in our memory;
        // only the one field is written.
        unsafe {
            match link {
                Link::Prev => (&raw mut (*header).prev).write(value),
                Link::Next => (&raw mut (*header).next).write(value),
            }
        }
    }
}
