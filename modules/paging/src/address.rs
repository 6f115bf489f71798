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
//! Both are chapter 2's generic types with the marker [`Virtual`] in place
//! of `Physical`, so they have the same methods (`new`, `start`,
//! `containing`, ...) and a `VirtAddr` is still no `PhysAddr`. What only a
//! virtual address has is here: the two table indices and the offset the
//! MMU splits it into ([`Indices::of`]); see `page_table.rs` for the walk.

pub use memory::address::{Address, AddressKind, Frame, PhysAddr, Unit, FRAME_SIZE};

/// Bytes in a page: a page maps onto exactly one frame.
pub const PAGE_SIZE: usize = FRAME_SIZE;
/// Bytes one page-directory entry covers: a table of 1024 pages.
pub const TABLE_SPAN: usize = PAGE_SIZE * 1024;

/// Virtual memory: the addresses instructions use, translated by the MMU.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Virtual {}

impl AddressKind for Virtual {
    const ADDRESS: &'static str = "VirtAddr";
    const UNIT: &'static str = "Page";
}

/// A virtual address.
pub type VirtAddr = Address<Virtual>;

/// A 4 KiB page of virtual address space.
pub type Page = Unit<Virtual>;

/// Where a virtual address leads the MMU: an entry of the page directory,
/// an entry of the page table that one points to, and the byte in the page.
///
/// ```text
///  31            22 21            12 11                     0
/// +----------------+----------------+------------------------+
/// |   directory    |     table      |         offset         |
/// +----------------+----------------+------------------------+
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Indices {
    /// Bits 31–22: the page-directory entry (0–1023).
    pub directory: usize,
    /// Bits 21–12: the page-table entry (0–1023).
    pub table: usize,
    /// Bits 11–0: the byte in the page.
    pub offset: usize,
}

impl Indices {
    /// The directory index, table index and offset of `address`.
    pub const fn of(address: VirtAddr) -> Self {
        let address = address.as_usize();
        Self {
            directory: address / TABLE_SPAN,
            table: (address / PAGE_SIZE) % 1024,
            offset: address % PAGE_SIZE,
        }
    }

    /// The address with these indices (the inverse of [`of`](Self::of)).
    pub const fn address(self) -> VirtAddr {
        VirtAddr::new(self.directory * TABLE_SPAN + self.table * PAGE_SIZE + self.offset)
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
            } = Indices::of(VirtAddr::new(address));
            (directory, table, offset)
        };
        assert_eq!(split(0), (0, 0, 0));
        assert_eq!(split(0x0040_1234), (1, 1, 0x234));
        assert_eq!(split(0xC000_0000), (768, 0, 0));
        assert_eq!(split(0xFFFF_FFFF), (1023, 1023, 0xFFF));
        assert_eq!(split(0xD012_3ABC), (0x340, 0x123, 0xABC));
        for address in [0usize, 0x1000, 0x0040_1234, 0xD012_3ABC, 0xFFFF_FFFF] {
            let address = VirtAddr::new(address);
            assert_eq!(Indices::of(address).address(), address);
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
