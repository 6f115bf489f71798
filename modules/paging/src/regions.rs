//! Which region an address is in, right now: the layout of `layout.rs`,
//! filled in with the live figures — where RAM ends, and how far the heap
//! has grown. Fault reports and the `pages`, `translate` and `touch`
//! commands name regions with it.

use crate::address::VirtAddr;
use crate::growing_heap;
use crate::kernel_space;
use crate::layout::{AddressSpaceLayout, Region};
use memory::kernel::boot;

/// The layout as it is at this moment.
pub fn current() -> AddressSpaceLayout {
    AddressSpaceLayout {
        kernel: boot::kernel_layout(),
        ram_end: kernel_space::ram_end(),
        heap_top: growing_heap::window().top,
    }
}

/// The region `address` is in, right now.
pub fn region_of(address: VirtAddr) -> Region {
    current().region_of(address)
}
