//! Looking inside a heap: the capability behind `heapmap` and `heap check`,
//! and what the layers above a heap (slabs, the debugger) need to know
//! about its blocks besides the [`Heap`] core.

use super::{Heap, HeapError, Regions, MAX_ALIGN};
use core::alloc::Layout;

/// One block, as [`Inspect::for_each_block`] reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockInfo {
    /// Address of the block (its header, if it has one).
    pub start: usize,
    /// Size in bytes, header included.
    pub size: usize,
    /// Bytes of header at the start of the block.
    pub header: usize,
    pub free: bool,
}

/// What a heap can tell about its blocks.
pub trait Inspect: Heap {
    /// Calls `visit` for every block, free or used, in address order.
    fn for_each_block(&self, visit: &mut dyn FnMut(BlockInfo));

    /// The smallest block size: the unit `heapmap` draws one cell per.
    fn granule(&self) -> usize;

    /// Whether `address` lies in one of this heap's regions.
    fn owns(&self, address: usize) -> bool;

    /// Walks every header and list the heap keeps; `Ok` if all are intact.
    /// O(blocks): for tests and `heapcheck`, never on the allocation path.
    fn check_integrity(&self) -> Result<(), HeapError>;

    /// The request whose block lies inside one page and ends at its end:
    /// what a slab asks for (see `slab/`). A whole aligned page does that
    /// in any heap; the buddy heap asks for a page minus its header, which
    /// fits one 4 KiB block instead of two.
    fn page_block(&self) -> Layout {
        Layout::from_size_align(MAX_ALIGN, MAX_ALIGN).expect("a page is a valid layout")
    }
}

/// [`Inspect::for_each_block`] for a heap whose blocks lie end to end from
/// the start of each region, each beginning with a `header`-byte header
/// (the buddy heap and the pool). `block_at(address, region)` reads the
/// header at `address` and says how big that block is and whether it is
/// free, or `None` if the header fails its check: the rest of the region
/// is then shown as one used block, rather than the walk going on into
/// garbage.
pub(super) fn for_each_block_end_to_end(
    regions: &Regions, header: usize, block_at: impl Fn(usize, usize) -> Option<(usize, bool)>,
    visit: &mut dyn FnMut(BlockInfo),
) {
    for (region, (start, end)) in regions.iter().enumerate() {
        let mut address = start;
        while address < end {
            let Some((size, free)) = block_at(address, region) else {
                let rest = end - address;
                visit(BlockInfo {
                    start: address,
                    size: rest,
                    header: 0,
                    free: false,
                });
                break;
            };
            visit(BlockInfo {
                start: address,
                size,
                header,
                free,
            });
            address += size;
        }
    }
}
