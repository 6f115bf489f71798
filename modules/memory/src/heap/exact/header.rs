//! The header at the start of every block, used or free, and the checks
//! on it.
//!
//! ```text
//!  used:  | check | 0     | 'U'   | pad | length | 0    | payload ...
//!  free:  | check | order | 'F'   | pad | prev   | next | (free bytes)
//!           4 B     1 B     1 B     2 B   4 B      4 B
//! ```
//!
//! A used block records its *length* (what was kept, a multiple of
//! [`GRANULE`]), since it is not a power of two; a free block is a buddy
//! block and records its order and its free-list links. The check value
//! covers the address, kind, order and length, so a header copied
//! elsewhere or overwritten fails it. The links are not covered: they
//! change whenever a neighbour on the list comes or goes.

use super::{ExactHeap, ORDERS};
use crate::heap::MAX_ALIGN;
use core::mem::size_of;

#[repr(C, align(16))]
#[derive(Debug, Clone, Copy)]
pub(super) struct Header {
    pub(super) check: u32,
    pub(super) order: u8,
    pub(super) state: u8,
    _pad: u16,
    /// Used: the length. Free: the previous block on the list (0 = none).
    pub(super) first: usize,
    /// Free: the next block on the list (0 = none).
    pub(super) second: usize,
}

/// Bytes of header before a payload (16 on i686).
pub const HEADER_SIZE: usize = size_of::<Header>();
/// The unit of lengths and the smallest block: a header and as many bytes
/// of payload (32 on i686).
pub const GRANULE: usize = 2 * HEADER_SIZE;
/// The order of the smallest block.
pub(super) const MIN_ORDER: u32 = GRANULE.trailing_zeros();

pub(super) const FREE: u8 = b'F';
pub(super) const USED: u8 = b'U';

const MAGIC: u32 = 0xE8AC_7F17;
const SHIM_MAGIC: u32 = 0x5A11_6E0E;
/// Size of the shim before an over-aligned payload: check, then offset.
pub(super) const SHIM_SIZE: usize = 8;

fn check_value(address: usize, order: u8, state: u8, length: usize) -> u32 {
    MAGIC
        ^ (address as u32).rotate_left(7)
        ^ (u32::from(order) << 8 | u32::from(state))
        ^ (length as u32).rotate_left(17)
}

/// Which free-list link of a header to rewrite.
#[derive(Clone, Copy)]
pub(super) enum Link {
    Prev,
    Next,
}

impl ExactHeap {
    // ---- raw access: callers pass block starts in the heap's regions ----

    fn read(&self, address: usize) -> Header {
        debug_assert!(self.regions.find(address).is_some() && address.is_multiple_of(HEADER_SIZE));
        // SAFETY: callers pass a block start inside one of our regions
        // that the bitmap marks as a start (so no one's payload), or a
        // block they are about to create; `add_region`'s caller promised
        // the memory. Block starts are granule-aligned.
        unsafe { (address as *const Header).read() }
    }

    fn write(&mut self, address: usize, order: u32, state: u8, first: usize, second: usize) {
        debug_assert!(self.regions.find(address).is_some() && address.is_multiple_of(HEADER_SIZE));
        let order = order as u8;
        let length = if state == USED { first } else { 0 };
        let header = Header {
            check: check_value(address, order, state, length),
            order,
            state,
            _pad: 0,
            first,
            second,
        };
        // SAFETY: as in `read`.
        unsafe { (address as *mut Header).write(header) }
    }

    pub(super) fn write_used(&mut self, block: usize, length: usize) {
        self.write(block, 0, USED, length, 0);
    }

    pub(super) fn write_free(&mut self, block: usize, order: u32, prev: usize, next: usize) {
        self.write(block, order, FREE, prev, next);
    }

    /// The (prev, next) links of a free block.
    pub(super) fn links(&self, block: usize) -> (usize, usize) {
        let header = self.read(block);
        (header.first, header.second)
    }

    /// Rewrites one link of a free block's header (not part of the check).
    pub(super) fn write_link(&mut self, block: usize, link: Link, value: usize) {
        debug_assert!(self.regions.find(block).is_some());
        let header = block as *mut Header;
        // SAFETY: as in `read`; only the one field is written.
        unsafe {
            match link {
                Link::Prev => (&raw mut (*header).first).write(value),
                Link::Next => (&raw mut (*header).second).write(value),
            }
        }
    }

    /// The header at `block` if it is intact, of kind `state`, and
    /// describes a block that fits region `region` there.
    fn checked(&self, block: usize, region: usize, state: u8) -> Option<Header> {
        let (start, end) = self.regions.get(region);
        let header = self.read(block);
        let length = if header.state == USED {
            header.first
        } else {
            0
        };
        let intact = header.check == check_value(block, header.order, header.state, length)
            && header.state == state;
        let size = match state {
            USED => length,
            _ => 1usize.checked_shl(u32::from(header.order)).unwrap_or(0),
        };
        let fits = size >= GRANULE
            && size.is_multiple_of(GRANULE)
            && end - block >= size
            && (state == USED
                || (MIN_ORDER..ORDERS as u32).contains(&u32::from(header.order))
                    && (block - start).is_multiple_of(size));
        (intact && fits).then_some(header)
    }

    /// The length of the used block at `block`, if its header is intact.
    pub(super) fn used_length(&self, block: usize, region: usize) -> Option<usize> {
        self.checked(block, region, USED).map(|header| header.first)
    }

    /// The order and links of the free block at `block`, if its header is
    /// intact.
    pub(super) fn free_header(&self, block: usize, region: usize) -> Option<Header> {
        self.checked(block, region, FREE)
    }

    /// Whether an intact header, used or free, lies at `address`: a block
    /// started there once.
    pub(super) fn had_header(&self, address: usize, region: usize) -> bool {
        self.checked(address, region, USED).is_some()
            || self.checked(address, region, FREE).is_some()
    }

    pub(super) fn read_shim(&self, payload: usize) -> Option<usize> {
        // SAFETY: callers check that `payload - SHIM_SIZE` is inside a
        // region and that `payload` is 8-aligned.
        let (check, offset) = unsafe { ((payload - SHIM_SIZE) as *const (u32, u32)).read() };
        let offset = offset as usize;
        (check == SHIM_MAGIC ^ payload as u32
            && offset.is_power_of_two()
            && (HEADER_SIZE + 1..=MAX_ALIGN).contains(&offset))
        .then_some(offset)
    }

    pub(super) fn write_shim(&mut self, payload: usize, offset: usize) {
        let shim = (SHIM_MAGIC ^ payload as u32, offset as u32);
        // SAFETY: the shim lies inside the block just allocated, after its
        // header (offset > HEADER_SIZE), and `payload` is `offset`-aligned.
        unsafe { ((payload - SHIM_SIZE) as *mut (u32, u32)).write(shim) }
    }
}
