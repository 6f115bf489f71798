//! The kernel's address space: what lives at which virtual address.
//!
//! Strata keeps the simplest layout that still teaches everything: RAM is
//! *identity-mapped* (virtual address = physical address), so the kernel
//! image, the boot information, the frame allocator's bitmaps and every page
//! table are where chapter 2 left them. Above RAM, the kernel reserves
//! virtual ranges that have no fixed physical memory behind them:
//!
//! ```text
//! 0xFFFF_FFFF +-------------------------------+
//!             | unused (never mapped)         |
//! 0xFFC0_0000 +-------------------------------+
//!             | scratch window: `map`/`unmap` |  the shell's playground
//! 0xE000_0000 +-------------------------------+
//!             | large allocations: 128 MiB    |  a run of pages each, mapped
//!             |   (runs, each + a guard page) |  on the first touch
//! 0xD800_0000 +-------------------------------+
//!             | kernel heap: 128 MiB reserved |  mapped page by page, on
//!             |   ^ top grows on demand       |  the first touch (page fault)
//! 0xD000_0000 +-------------------------------+
//!             | unused                        |
//! 0xC808_0000 +-------------------------------+
//!             | guard-page slots (64 x 2 pages)|  heapdebug=full: a page,
//! 0xC800_0000 +-------------------------------+  then an unmapped one
//!             | unused                        |
//! 0xC000_0000 +-------------------------------+  end of the identity map
//!             | RAM, identity-mapped, R/W     |  frames, bitmaps, page tables
//!             |   kernel stack                |
//!             |   stack guard page (unmapped) |  overflow -> double fault
//!             |   kernel data + bss  R/W      |
//!             |   kernel rodata      R        |
//!             |   kernel text        R        |  (CR0.WP: the kernel too)
//! 0x0010_0000 |   multiboot header   R        |
//!             | low memory: only VGA mapped   |  0xB8000, R/W
//! 0x0000_1000 +-------------------------------+
//!             | null page (never mapped)      |  catches null pointers
//! 0x0000_0000 +-------------------------------+
//! ```
//!
//! Everything here is plain arithmetic on addresses, so the host tests check
//! it; `kernel_space.rs` builds the tables from it. The bounds are virtual
//! addresses kept as plain numbers, so that [`AddressSpaceLayout::region_of`]
//! can be one `match` over ranges, like the diagram.

use crate::address::VirtAddr;
use memory::kernel::boot::KernelLayout;

pub use crate::address::PAGE_SIZE;

/// The identity map covers RAM below this address (3 GiB; QEMU's PC never
/// puts RAM between 3 and 4 GiB, where its devices live).
pub const IDENTITY_MAP_END: usize = 0xC000_0000;
/// The guard-page slots (`guard_pages.rs`): a data page and an unmapped
/// page after it, per slot.
pub const GUARD_START: usize = 0xC800_0000;
pub const GUARD_SLOTS: usize = 64;
pub const GUARD_END: usize = GUARD_START + GUARD_SLOTS * 2 * PAGE_SIZE;
/// The kernel heap's reserved virtual range.
pub const HEAP_START: usize = 0xD000_0000;
pub const HEAP_RESERVED: usize = 128 << 20;
pub const HEAP_END: usize = HEAP_START + HEAP_RESERVED;
/// Large allocations, a run of pages each (`large_allocations.rs`): the
/// other half of the kernel heap's 256 MiB.
pub const LARGE_START: usize = HEAP_END;
pub const LARGE_END: usize = LARGE_START + (128 << 20);
/// Where the `map` and `unmap` commands may work.
pub const SCRATCH_START: usize = 0xE000_0000;
pub const SCRATCH_END: usize = 0xFFC0_0000;
/// The VGA text buffer.
pub const VGA_START: usize = 0xB_8000;
pub const VGA_END: usize = 0xC_0000;
const LOW_MEMORY_END: usize = 0x10_0000;

// Checked when the kernel is built: the ranges follow each other, and the
// heap's start is aligned to its size (buddy blocks align to the start).
const _: () = {
    assert!(IDENTITY_MAP_END <= GUARD_START && GUARD_END <= HEAP_START);
    assert!(HEAP_END <= LARGE_START && LARGE_END <= SCRATCH_START);
    assert!(HEAP_RESERVED >= 64 << 20);
    assert!(HEAP_START.is_multiple_of(HEAP_RESERVED));
};

/// A named part of the address space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Region {
    NullPage,
    LowMemory,
    Vga,
    MultibootHeader,
    KernelText,
    KernelReadOnlyData,
    KernelData,
    StackGuard,
    KernelStack,
    Ram,
    NoRam,
    Heap,
    HeapReserve,
    LargeAllocations,
    GuardPages,
    Scratch,
    Unused,
}

impl Region {
    /// What a person reading a fault report needs to know about it.
    pub fn describe(self) -> &'static str {
        match self {
            Region::NullPage => "the null page (never mapped: a null pointer?)",
            Region::LowMemory => "low memory (BIOS area, not mapped)",
            Region::Vga => "the VGA text buffer",
            Region::MultibootHeader => {
                "the kernel's multiboot header and boot information (read-only)"
            }
            Region::KernelText => "kernel text (code, read-only)",
            Region::KernelReadOnlyData => "kernel read-only data",
            Region::KernelData => "kernel data and bss",
            Region::StackGuard => "the kernel stack's guard page (unmapped: a stack overflow?)",
            Region::KernelStack => "the kernel stack",
            Region::Ram => "RAM (identity-mapped)",
            Region::NoRam => "no RAM here (unmapped)",
            Region::Heap => "the kernel heap",
            Region::HeapReserve => "the heap's reserve above its top (unmapped: not in use yet)",
            Region::LargeAllocations => {
                "large allocations (a run of pages each, mapped when touched; a guard page after each)"
            }
            Region::GuardPages => {
                "the heap debugger's guard pages (a sampled block ends where an unmapped page begins)"
            }
            Region::Scratch => {
                "the scratch window for map/unmap (unmapped unless `map` put a page there)"
            }
            Region::Unused => "unused address space (unmapped)",
        }
    }

    /// Whether the identity map maps this region, and how.
    pub fn identity_access(self) -> Option<Access> {
        match self {
            Region::Vga | Region::KernelData | Region::KernelStack | Region::Ram => {
                Some(Access::ReadWrite)
            }
            Region::MultibootHeader | Region::KernelText | Region::KernelReadOnlyData => {
                Some(Access::ReadOnly)
            }
            _ => None,
        }
    }
}

/// How a mapped page may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    ReadOnly,
    ReadWrite,
}

/// The addresses that decide which region an address is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressSpaceLayout {
    pub kernel: KernelLayout,
    /// The end of the highest RAM the identity map covers.
    pub ram_end: usize,
    /// The heap's current top: `HEAP_START..heap_top` is in use.
    pub heap_top: usize,
}

impl AddressSpaceLayout {
    /// The region `address` falls in.
    pub fn region_of(&self, address: VirtAddr) -> Region {
        let address = address.as_usize();
        let kernel = &self.kernel;
        let within = |(start, end): (usize, usize)| (start..end).contains(&address);
        match address {
            0..PAGE_SIZE => Region::NullPage,
            VGA_START..VGA_END => Region::Vga,
            _ if address < LOW_MEMORY_END => Region::LowMemory,
            _ if within(kernel.text) => Region::KernelText,
            _ if within(kernel.rodata) => Region::KernelReadOnlyData,
            _ if within((kernel.stack_guard, kernel.stack_guard + PAGE_SIZE)) => Region::StackGuard,
            _ if within(kernel.stack) => Region::KernelStack,
            _ if within((kernel.image.0, kernel.text.0)) => Region::MultibootHeader,
            _ if within(kernel.image) => Region::KernelData,
            _ if address < self.ram_end.min(IDENTITY_MAP_END) => Region::Ram,
            _ if address < IDENTITY_MAP_END => Region::NoRam,
            GUARD_START..GUARD_END => Region::GuardPages,
            HEAP_START..HEAP_END if address < self.heap_top => Region::Heap,
            HEAP_START..HEAP_END => Region::HeapReserve,
            LARGE_START..LARGE_END => Region::LargeAllocations,
            SCRATCH_START..SCRATCH_END => Region::Scratch,
            _ => Region::Unused,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A layout like the one the linker script produces.
    fn layout() -> AddressSpaceLayout {
        AddressSpaceLayout {
            kernel: KernelLayout {
                image: (0x10_0000, 0x1A_0000),
                text: (0x10_1000, 0x14_0000),
                rodata: (0x14_0000, 0x15_0000),
                stack_guard: 0x18_F000,
                stack: (0x19_0000, 0x1A_0000),
            },
            ram_end: 0x0800_0000,
            heap_top: HEAP_START + 0x2_0000,
        }
    }

    #[test]
    fn every_address_falls_in_the_region_the_diagram_shows() {
        let layout = layout();
        let cases = [
            (0x0, Region::NullPage),
            (0xFFF, Region::NullPage),
            (0x1000, Region::LowMemory),
            (0xB_8000, Region::Vga),
            (0xB_FFFF, Region::Vga),
            (0xC_0000, Region::LowMemory),
            (0x10_0060, Region::MultibootHeader),
            (0x10_1000, Region::KernelText),
            (0x14_0000, Region::KernelReadOnlyData),
            (0x15_0000, Region::KernelData),
            (0x18_F000, Region::StackGuard),
            (0x18_FFFC, Region::StackGuard),
            (0x19_0000, Region::KernelStack),
            (0x1A_0000, Region::Ram),
            (0x07FF_FFFF, Region::Ram),
            (0x0800_0000, Region::NoRam),
            (0xBFFF_FFFF, Region::NoRam),
            (0xC000_0000, Region::Unused),
            (GUARD_START, Region::GuardPages),
            (GUARD_END - 1, Region::GuardPages),
            (GUARD_END, Region::Unused),
            (HEAP_START, Region::Heap),
            (HEAP_START + 0x1_FFFF, Region::Heap),
            (HEAP_START + 0x2_0000, Region::HeapReserve),
            (HEAP_END - 1, Region::HeapReserve),
            (SCRATCH_START, Region::Scratch),
            (SCRATCH_END, Region::Unused),
            (0xFFFF_FFFF, Region::Unused),
        ];
        for (address, region) in cases {
            assert_eq!(
                layout.region_of(VirtAddr::new(address)),
                region,
                "{address:#x}"
            );
        }
    }

    #[test]
    fn code_and_constants_are_read_only_and_holes_unmapped() {
        assert_eq!(Region::KernelText.identity_access(), Some(Access::ReadOnly));
        assert_eq!(
            Region::KernelReadOnlyData.identity_access(),
            Some(Access::ReadOnly)
        );
        assert_eq!(
            Region::KernelData.identity_access(),
            Some(Access::ReadWrite)
        );
        for hole in [
            Region::NullPage,
            Region::LowMemory,
            Region::StackGuard,
            Region::NoRam,
            Region::Heap,
        ] {
            assert_eq!(hole.identity_access(), None, "{hole:?}");
        }
    }
}
