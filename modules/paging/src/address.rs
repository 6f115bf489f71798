//! Virtual addresses and pages: the other half of chapter 2's `PhysAddr`
//! and `Frame`.
//!
//! With paging on, the kernel holds two kinds of address that are both
//! 32-bit numbers: the *virtual* ones its instructions use, and the
//! *physical* ones the page tables map them to. `map(page, frame)` with the
//! two swapped would compile if both were `usize`; with [`Page`] and
//! [`Frame`] it does not.
//!
//! - [`VirtAddr`] — an address the CPU's instructions use, any byte;
//! - [`Page`] — 4 KiB of virtual address space starting at a multiple of
//!   [`PAGE_SIZE`], the unit a page-table entry maps (to a `Frame`).
//!
//! A virtual address splits into the two table indices and the offset the
//! MMU uses ([`VirtAddr::split`]); see `page_table.rs` for the walk.

use core::fmt;
use core::ops::{Add, Sub};

pub use memory::address::{Frame, PhysAddr, FRAME_SIZE};

/// Bytes in a page: a page maps onto exactly one frame.
pub const PAGE_SIZE: usize = FRAME_SIZE;
/// Bytes one page-directory entry covers: a table of 1024 pages.
pub const TABLE_SPAN: usize = PAGE_SIZE * 1024;

/// A virtual address.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[repr(transparent)]
pub struct VirtAddr(usize);

/// Where a virtual address leads the MMU: an entry of the page directory,
/// an entry of the page table that one points to, and the byte in the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Indices {
    /// Bits 31–22: the page-directory entry (0–1023).
    pub directory: usize,
    /// Bits 21–12: the page-table entry (0–1023).
    pub table: usize,
    /// Bits 11–0: the byte in the page.
    pub offset: usize,
}

impl VirtAddr {
    pub const fn new(address: usize) -> Self {
        Self(address)
    }

    pub const fn as_usize(self) -> usize {
        self.0
    }

    /// The address `bytes` further, unless that passes 4 GiB.
    pub fn checked_add(self, bytes: usize) -> Option<Self> {
        self.0.checked_add(bytes).map(Self)
    }

    /// Bytes past the start of its page.
    pub const fn page_offset(self) -> usize {
        self.0 % PAGE_SIZE
    }

    /// The directory index, table index and offset of this address.
    pub const fn split(self) -> Indices {
        Indices {
            directory: self.0 / TABLE_SPAN,
            table: (self.0 / PAGE_SIZE) % 1024,
            offset: self.0 % PAGE_SIZE,
        }
    }

    /// The address with these indices (the inverse of [`split`](Self::split)).
    pub const fn join(indices: Indices) -> Self {
        Self(indices.directory * TABLE_SPAN + indices.table * PAGE_SIZE + indices.offset)
    }
}

impl Add<usize> for VirtAddr {
    type Output = VirtAddr;
    fn add(self, bytes: usize) -> VirtAddr {
        VirtAddr(self.0 + bytes)
    }
}

/// The distance between two addresses, in bytes.
impl Sub for VirtAddr {
    type Output = usize;
    fn sub(self, other: VirtAddr) -> usize {
        self.0 - other.0
    }
}

impl fmt::Debug for VirtAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VirtAddr({:#010x})", self.0)
    }
}

/// `{:#010x}` prints the address as a number, as reports want it.
impl fmt::LowerHex for VirtAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::LowerHex::fmt(&self.0, f)
    }
}

/// A 4 KiB page of virtual address space, named by its first address.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(transparent)]
pub struct Page(VirtAddr);

impl Page {
    /// The page that starts at `address`, or `None` if `address` is not a
    /// multiple of [`PAGE_SIZE`].
    pub const fn from_start(address: VirtAddr) -> Option<Page> {
        if address.0.is_multiple_of(PAGE_SIZE) {
            Some(Page(address))
        } else {
            None
        }
    }

    /// The page `address` lies in.
    pub const fn containing(address: VirtAddr) -> Page {
        Page(VirtAddr(address.0 - address.0 % PAGE_SIZE))
    }

    pub const fn start(self) -> VirtAddr {
        self.0
    }

    /// The page `count` pages further up.
    pub const fn add(self, count: usize) -> Page {
        Page(VirtAddr(self.0 .0 + count * PAGE_SIZE))
    }
}

impl fmt::Debug for Page {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Page({:#010x})", self.0 .0)
    }
}

/// `{:#010x}` prints the page's first address.
impl fmt::LowerHex for Page {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::LowerHex::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_split_into_ten_ten_and_twelve_bits() {
        let split = |address| {
            let Indices {
                directory,
                table,
                offset,
            } = VirtAddr::new(address).split();
            (directory, table, offset)
        };
        assert_eq!(split(0), (0, 0, 0));
        assert_eq!(split(0x0040_1234), (1, 1, 0x234));
        assert_eq!(split(0xC000_0000), (768, 0, 0));
        assert_eq!(split(0xFFFF_FFFF), (1023, 1023, 0xFFF));
        assert_eq!(split(0xD012_3ABC), (0x340, 0x123, 0xABC));
        for address in [0usize, 0x1000, 0x0040_1234, 0xD012_3ABC, 0xFFFF_FFFF] {
            let address = VirtAddr::new(address);
            assert_eq!(VirtAddr::join(address.split()), address);
        }
    }

    #[test]
    fn a_page_starts_on_a_page_boundary() {
        let inside = VirtAddr::new(0xD000_1ABC);
        assert_eq!(Page::from_start(inside), None);
        let page = Page::containing(inside);
        assert_eq!(page.start(), VirtAddr::new(0xD000_1000));
        assert_eq!(Page::from_start(page.start()), Some(page));
        assert_eq!(page.add(2).start(), VirtAddr::new(0xD000_3000));
        assert_eq!(
            format!("{page:#010x} {page:?}"),
            "0xd0001000 Page(0xd0001000)"
        );
    }
}
