//! The binary buddy heap: the kernel's `#[global_allocator]`.
//!
//! Every block is a power of two bytes, `2^order`, and starts at a multiple
//! of its own size (counted from the start of its region). A block of order
//! `k` splits into two halves of order `k-1` — *buddies* — and two free
//! buddies merge back into their parent. The address of a block's buddy is
//! one XOR away, so nothing is ever searched:
//!
//! ```text
//! offset of buddy = offset of block XOR 2^order
//!
//!  order 7 |<------------------------ 128 ------------------------>|
//!  order 6 |<---------- 64 ---------->|<---------- 64 ----------->|
//!  order 5 |<--- 32 -->|<--- 32 ---->|
//!          0           32            64                           128
//!          buddy of 0 (order 5) is 0^32 = 32; buddy of 32 is 32^32 = 0
//! ```
//!
//! Each block begins with a 16-byte [`BlockHeader`] (ShompOS's
//! `block_header`, analloc's tree bits): a check value, the order and whether
//! the block is free. While a block is free, the rest of its header links it
//! into the free list of its order, in both directions, so a block can be
//! taken off its list in O(1) when its buddy wants to merge with it:
//!
//! ```text
//!  +--------+-------+-------+------+-------+-------+----------------------+
//!  | check  | order | state | pad  | prev  | next  | payload ...          |
//!  | 4 B    | 1 B   | 1 B   | 2 B  | 4 B   | 4 B   | (2^order - 16 bytes) |
//!  +--------+-------+-------+------+-------+-------+----------------------+
//!  ^ block start (aligned to its size)      ^ prev/next: only while free
//! ```
//!
//! *Allocation* rounds `header + size` up to a power of two, takes the
//! smallest free block that is large enough (a bit mask says which lists are
//! non-empty, so that is one instruction), and splits it in half until it is
//! the right size, putting each upper half on its free list.
//!
//! *Freeing* checks the header, then merges the block with its buddy for as
//! long as the buddy is free and whole, and puts the result on its list.
//!
//! Alignments above 16 are served from a block big enough to hold
//! `align + size`: its payload starts `align` bytes in (blocks are aligned
//! to their size, so that address is aligned), and an 8-byte *shim* just
//! before the payload records the distance back to the header.

use super::{
    check_alignment, out_of_memory, reallocate_by_moving, Accounting, BlockInfo, Grow, Heap,
    HeapError, HeapStats, Inspect, Regions, Traced, MAX_ALIGN, SIZE_CLASSES,
};
use core::alloc::Layout;
use core::mem::size_of;
use core::ptr::NonNull;

/// The header at the start of every block.
#[repr(C, align(16))]
#[derive(Debug, Clone, Copy)]
struct BlockHeader {
    /// [`check_value`] of the other fields and the block's address: a header
    /// that was overwritten, or a pointer that does not point after a header,
    /// fails the check.
    check: u32,
    order: u8,
    state: u8,
    _pad: u16,
    /// Free-list links (addresses of headers; 0 = none). Only while free.
    prev: usize,
    next: usize,
}

/// Bytes of header before the payload of an ordinary block (16 on i686).
pub const HEADER_SIZE: usize = size_of::<BlockHeader>();
/// The smallest block: a header and as many bytes of payload.
pub const MIN_BLOCK: usize = 2 * HEADER_SIZE;
/// The order of the smallest block (5 on i686: 32 bytes).
pub const MIN_ORDER: u32 = MIN_BLOCK.trailing_zeros();
/// Orders are kept in a `u32` mask and arrays of [`SIZE_CLASSES`].
const ORDERS: usize = SIZE_CLASSES;

/// The block is on a free list.
const FREE: u8 = b'F';
/// The block is allocated.
const USED: u8 = b'U';
/// The block was freed and then merged into the buddy below it: its header
/// is now just bytes inside a bigger block, kept recognisable so that a
/// second free of the old pointer is reported as a double free.
const MERGED: u8 = b'M';

const HEADER_MAGIC: u32 = 0xB0DD_7E55;
const SHIM_MAGIC: u32 = 0x5A11_6E0D;
/// Size of the shim before an over-aligned payload: check, then offset.
const SHIM_SIZE: usize = 8;

fn check_value(address: usize, order: u8, state: u8) -> u32 {
    HEADER_MAGIC ^ (address as u32).rotate_left(7) ^ (u32::from(order) << 8 | u32::from(state))
}

/// `ceil(log2(n))` for `n >= 1`.
fn order_for(bytes: usize) -> u32 {
    usize::BITS - (bytes - 1).leading_zeros()
}

/// The blocks that tile `[from, to)` (offsets in a region): each as large
/// as the room left allows and aligned to its own size, as (offset, order).
/// A 96 KiB region is one 64 KiB and one 32 KiB block.
fn aligned_blocks(from: usize, to: usize) -> impl Iterator<Item = (usize, u32)> {
    let mut offset = from;
    core::iter::from_fn(move || {
        if offset >= to {
            return None;
        }
        let room = to - offset;
        let by_alignment = if offset == 0 {
            usize::BITS - 1
        } else {
            offset.trailing_zeros()
        };
        let order = by_alignment
            .min(usize::BITS - 1 - room.leading_zeros())
            .min(ORDERS as u32 - 1);
        let block = (offset, order);
        offset += 1 << order;
        Some(block)
    })
}

/// A binary buddy heap over one or more regions.
pub struct BuddyHeap {
    regions: Regions,
    /// Address of the first free block of each order (0 = empty list).
    free_heads: [usize; ORDERS],
    /// Bit `k` set = the free list of order `k` is not empty.
    non_empty: u32,
    free_counts: [u32; ORDERS],
    counts: Accounting,
}

/// Which free-list link of a header to rewrite.
#[derive(Clone, Copy)]
enum Link {
    Prev,
    Next,
}

/// Where an allocated block is, found from a payload pointer.
struct Allocated {
    block: usize,
    region: usize,
    order: u32,
}

impl BuddyHeap {
    /// An empty heap; give it memory with [`Heap::add_region`].
    pub const fn new() -> Self {
        Self {
            regions: Regions::new(),
            free_heads: [0; ORDERS],
            non_empty: 0,
            free_counts: [0; ORDERS],
            counts: Accounting::new(),
        }
    }

    // ---- raw header access: the only place this file touches memory ----

    fn read_header(&self, address: usize) -> BlockHeader {
        debug_assert!(self.regions.find(address).is_some() && address.is_multiple_of(HEADER_SIZE));
        // SAFETY: callers pass block starts inside one of our regions (from
        // the free lists, or checked against `self.regions`); `add_region`'s
        // caller promised the heap may read and write them. Block starts are
        // multiples of MIN_BLOCK from a MAX_ALIGN-aligned region start, so
        // the read is aligned.
        unsafe { (address as *const BlockHeader).read() }
    }

    fn write_header(&mut self, address: usize, order: u32, state: u8, prev: usize, next: usize) {
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

    fn write_shim(&mut self, payload: usize, offset: usize) {
        let shim = (SHIM_MAGIC ^ payload as u32, offset as u32);
        // SAFETY: the shim lies inside the block just allocated, after its
        // header (offset > HEADER_SIZE), and `payload` is `offset`-aligned.
        unsafe { ((payload - SHIM_SIZE) as *mut (u32, u32)).write(shim) }
    }

    /// The header at `address` if it is intact and describes a block that
    /// fits region `region` at that address.
    fn valid_header(&self, address: usize, region: usize) -> Option<BlockHeader> {
        // LAB 2.2 BEGIN: accept the header only if its check value, state and order are right and the block lies aligned inside the region
        let (start, end) = self.regions.get(region);
        let header = self.read_header(address);
        let order = u32::from(header.order);
        let intact = header.check == check_value(address, header.order, header.state)
            && matches!(header.state, FREE | USED | MERGED)
            && (MIN_ORDER..ORDERS as u32).contains(&order);
        let fits =
            intact && (address - start).is_multiple_of(1 << order) && end - address >= 1 << order;
        fits.then_some(header)
        // LAB END
    }

    // ---- free lists: doubly linked through the headers of free blocks ----

    /// Rewrites one free-list link of the free block at `address`. The
    /// links are not part of the check value, so the rest of the header
    /// (and its cache line's other bytes) need not be read or rewritten.
    fn write_link(&mut self, address: usize, link: Link, value: usize) {
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

    fn push_free(&mut self, block: usize, order: u32) {
        let head = self.free_heads[order as usize];
        self.write_header(block, order, FREE, 0, head);
        if head != 0 {
            self.write_link(head, Link::Prev, block);
        }
        self.free_heads[order as usize] = block;
        self.non_empty |= 1 << order;
        self.free_counts[order as usize] += 1;
    }

    /// Unlinks a free block in O(1): that is what the `prev` link is for.
    fn remove_free(&mut self, block: usize, order: u32) {
        let header = self.read_header(block);
        if header.prev == 0 {
            self.free_heads[order as usize] = header.next;
        } else {
            self.write_link(header.prev, Link::Next, header.next);
        }
        if header.next != 0 {
            self.write_link(header.next, Link::Prev, header.prev);
        }
        if self.free_heads[order as usize] == 0 {
            self.non_empty &= !(1 << order);
        }
        self.free_counts[order as usize] -= 1;
    }

    /// The block `block`'s buddy, if it lies inside the region.
    fn buddy_of(&self, block: usize, order: u32, region: usize) -> Option<usize> {
        let (start, end) = self.regions.get(region);
        let size = 1usize << order;
        let buddy = start + ((block - start) ^ size);
        (end - buddy >= size && buddy >= start).then_some(buddy)
    }

    /// Whether the buddy of `block` is a whole free block of the same order.
    /// A buddy inside the region always starts a block, so a header there
    /// that fails its check means memory was overwritten.
    fn free_buddy(
        &self,
        block: usize,
        order: u32,
        region: usize,
    ) -> Result<Option<usize>, HeapError> {
        let Some(buddy) = self.buddy_of(block, order, region) else {
            return Ok(None);
        };
        match self.valid_header(buddy, region) {
            None => Err(HeapError::CorruptHeader { address: buddy }),
            Some(header) => {
                Ok((header.state == FREE && u32::from(header.order) == order).then_some(buddy))
            }
        }
    }

    /// Finds the block a payload pointer belongs to, and checks that it is
    /// allocated.
    fn find_allocated(&self, pointer: NonNull<u8>) -> Result<Allocated, HeapError> {
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

    /// Frees `block` and merges it with its buddy for as long as the buddy
    /// is free. Checks every buddy first, so a corrupt header stops the free
    /// before anything changes; then merges exactly as many times as the
    /// check found free buddies (nothing changed in between, so the headers
    /// need not be checked twice).
    fn free_block(&mut self, block: usize, order: u32, region: usize) -> Result<(), HeapError> {
        // LAB 2.3 BEGIN: count the free buddies first (free_buddy), then merge that many times (remove_free, mark the upper half MERGED), then push_free
        let (mut probe, mut probe_order) = (block, order);
        while let Some(buddy) = self.free_buddy(probe, probe_order, region)? {
            probe = probe.min(buddy);
            probe_order += 1;
        }
        let (start, _) = self.regions.get(region);
        let (mut block, mut order) = (block, order);
        while order < probe_order {
            let buddy = start + ((block - start) ^ (1 << order));
            self.remove_free(buddy, order);
            let (low, high) = (block.min(buddy), block.max(buddy));
            self.write_header(high, order, MERGED, 0, 0);
            block = low;
            order += 1;
        }
        self.push_free(block, order);
        Ok(())
        // LAB END
    }

    /// Cuts `[start + from, start + to)` of region `region` (which starts at
    /// `start`) into the largest blocks that are aligned to their own size,
    /// and frees them, so that they merge with free buddies below. All the
    /// headers are written before the first free: a merged block's buddy may
    /// be one of the new blocks further up.
    fn carve(
        &mut self,
        region: usize,
        start: usize,
        from: usize,
        to: usize,
    ) -> Result<(), HeapError> {
        for (offset, order) in aligned_blocks(from, to) {
            self.write_header(start + offset, order, USED, 0, 0);
        }
        for (offset, order) in aligned_blocks(from, to) {
            self.free_block(start + offset, order, region)?;
        }
        Ok(())
    }

    /// The most bytes a block of `order` can hand out: all of it but the
    /// header. (For requests aligned to at most [`HEADER_SIZE`]; a larger
    /// alignment moves the payload further in.) `demo` uses this and
    /// [`smallest_request_of_order`](Self::smallest_request_of_order) to
    /// pick requests that land in the order it wants to show.
    pub const fn largest_request_of_order(order: u32) -> usize {
        assert!(MIN_ORDER <= order && order < ORDERS as u32, "no such order");
        (1 << order) - HEADER_SIZE
    }

    /// The fewest bytes that need a block of `order`: one more than the
    /// order below can hold. Every request up to the smallest block's
    /// payload costs one smallest block, so for [`MIN_ORDER`] that is 1.
    pub const fn smallest_request_of_order(order: u32) -> usize {
        if order == MIN_ORDER {
            1
        } else {
            Self::largest_request_of_order(order - 1) + 1
        }
    }

    /// The order of the allocated block that `pointer` points into (an
    /// error if the heap did not hand it out, or it was freed).
    pub fn order_of(&self, pointer: NonNull<u8>) -> Result<u32, HeapError> {
        Ok(self.find_allocated(pointer)?.order)
    }

    /// The order of the block that serves `layout`: header (or alignment
    /// gap) plus payload, rounded up to a power of two.
    fn order_for_layout(layout: Layout) -> Result<u32, HeapError> {
        let offset = layout.align().max(HEADER_SIZE);
        let need = offset
            .checked_add(layout.size().max(1))
            .ok_or(out_of_memory(layout))?;
        let order = order_for(need).max(MIN_ORDER);
        if order >= ORDERS as u32 {
            return Err(out_of_memory(layout));
        }
        Ok(order)
    }

    /// Checks every header and every free list. O(blocks): for tests and the
    /// `heap check` command, never on the allocation path.
    pub fn check_integrity(&self) -> Result<(), HeapError> {
        let mut counts = [0u32; ORDERS];
        for (index, (start, end)) in self.regions.iter().enumerate() {
            let mut address = start;
            while address < end {
                let header = self
                    .valid_header(address, index)
                    .filter(|header| header.state != MERGED)
                    .ok_or(HeapError::CorruptHeader { address })?;
                if header.state == FREE {
                    counts[usize::from(header.order)] += 1;
                }
                address += 1 << header.order;
            }
        }
        for order in 0..ORDERS as u32 {
            let mut listed = 0;
            let (mut block, mut prev) = (self.free_heads[order as usize], 0);
            while block != 0 {
                let region = self
                    .regions
                    .find(block)
                    .ok_or(HeapError::CorruptHeader { address: block })?;
                let header = self
                    .valid_header(block, region)
                    .filter(|h| h.state == FREE && u32::from(h.order) == order && h.prev == prev)
                    .ok_or(HeapError::CorruptHeader { address: block })?;
                listed += 1;
                if listed > counts[order as usize] {
                    return Err(HeapError::CorruptHeader { address: block });
                }
                (prev, block) = (block, header.next);
            }
            let bit = self.non_empty & (1 << order) != 0;
            if listed != counts[order as usize]
                || listed != self.free_counts[order as usize]
                || bit != (listed > 0)
            {
                return Err(HeapError::CorruptHeader {
                    address: self.free_heads[order as usize],
                });
            }
        }
        Ok(())
    }
}

impl Default for BuddyHeap {
    fn default() -> Self {
        Self::new()
    }
}

impl Heap for BuddyHeap {
    fn name(&self) -> &'static str {
        "buddy"
    }

    /// Carves the region into the largest aligned power-of-two blocks that
    /// fit: a 96 KiB region becomes one 64 KiB and one 32 KiB block.
    unsafe fn add_region(&mut self, start: usize, size: usize) -> Result<(), HeapError> {
        let (region, aligned, end) = self.regions.claim(
            (start, size),
            (MAX_ALIGN, MIN_BLOCK),
            (MIN_BLOCK, isize::MAX as usize),
        )?;
        self.carve(region, aligned, 0, end - aligned)?;
        self.counts.total += end - aligned;
        Ok(())
    }

    fn allocate(&mut self, layout: Layout) -> Result<NonNull<u8>, HeapError> {
        check_alignment(layout)?;
        let order = Self::order_for_layout(layout)?;
        let offset = layout.align().max(HEADER_SIZE);
        // The smallest non-empty list at or above `order`.
        let candidates = self.non_empty & !((1u32 << order) - 1);
        if candidates == 0 {
            return Err(out_of_memory(layout));
        }
        let mut found = candidates.trailing_zeros();
        let block = self.free_heads[found as usize];
        self.remove_free(block, found);
        // LAB 2.4 BEGIN: split the block until its order fits: each time, push its upper half on the free list one order down
        while found > order {
            found -= 1;
            self.push_free(block + (1 << found), found);
        }
        // LAB END
        self.write_header(block, order, USED, 0, 0);
        let payload = block + offset;
        if offset > HEADER_SIZE {
            self.write_shim(payload, offset);
        }
        self.counts.allocated(1 << order, layout.size());
        Ok(NonNull::new(payload as *mut u8).expect("blocks are never at address 0"))
    }

    fn deallocate(&mut self, pointer: NonNull<u8>, layout: Layout) -> Result<(), HeapError> {
        let allocated = self.find_allocated(pointer)?;
        self.free_block(allocated.block, allocated.order, allocated.region)?;
        self.counts.freed(1 << allocated.order, layout.size());
        Ok(())
    }

    /// Shrinks by splitting off upper halves; grows by absorbing upper
    /// buddies that are free; otherwise moves.
    fn reallocate(
        &mut self,
        pointer: NonNull<u8>,
        layout: Layout,
        new_size: usize,
    ) -> Result<NonNull<u8>, HeapError> {
        let Allocated {
            block,
            region,
            order,
        } = self.find_allocated(pointer)?;
        let payload_offset = pointer.as_ptr() as usize - block;
        let need = payload_offset
            .checked_add(new_size.max(1))
            .ok_or(out_of_memory(layout))?;
        let wanted = order_for(need).max(MIN_ORDER);
        if wanted < ORDERS as u32 {
            // Can every step up to `wanted` absorb a free upper buddy?
            let mut grows = wanted > order;
            for step in order..wanted {
                match self.free_buddy(block, step, region)? {
                    Some(buddy) if buddy > block => {}
                    _ => {
                        grows = false;
                        break;
                    }
                }
            }
            if wanted <= order || grows {
                for step in order..wanted {
                    let buddy = block + (1 << step);
                    self.remove_free(buddy, step);
                    self.write_header(buddy, step, MERGED, 0, 0);
                }
                for step in (wanted..order).rev() {
                    self.push_free(block + (1 << step), step);
                }
                self.write_header(block, wanted, USED, 0, 0);
                self.counts
                    .resized((1 << order, 1 << wanted), (layout.size(), new_size));
                return Ok(pointer);
            }
        }
        reallocate_by_moving(self, pointer, layout, new_size)
    }

    fn usable_size(&self, pointer: NonNull<u8>) -> Result<usize, HeapError> {
        let allocated = self.find_allocated(pointer)?;
        Ok(allocated.block + (1 << allocated.order) - pointer.as_ptr() as usize)
    }

    fn stats(&self) -> HeapStats {
        let largest_free = match self.non_empty {
            0 => 0,
            mask => 1 << (u32::BITS - 1 - mask.leading_zeros()),
        };
        self.counts
            .stats(largest_free, self.free_counts, self.regions.len)
    }
}

impl Inspect for BuddyHeap {
    fn for_each_block(&self, visit: &mut dyn FnMut(BlockInfo)) {
        for (index, (start, end)) in self.regions.iter().enumerate() {
            let mut address = start;
            while address < end {
                let Some(header) = self.valid_header(address, index) else {
                    // A corrupt header: show the rest of the region as one
                    // used block rather than walk into garbage.
                    visit(BlockInfo {
                        start: address,
                        size: end - address,
                        header: 0,
                        free: false,
                    });
                    break;
                };
                let size = 1 << header.order;
                visit(BlockInfo {
                    start: address,
                    size,
                    header: HEADER_SIZE,
                    free: header.state == FREE,
                });
                address += size;
            }
        }
    }

    fn owns(&self, address: usize) -> bool {
        self.regions.find(address).is_some()
    }

    fn check_integrity(&self) -> Result<(), HeapError> {
        BuddyHeap::check_integrity(self)
    }

    /// A page minus the block header: exactly one 4 KiB block.
    fn page_block(&self) -> Layout {
        Layout::from_size_align(MAX_ALIGN - HEADER_SIZE, HEADER_SIZE).expect("a valid layout")
    }

    fn granule(&self) -> usize {
        MIN_BLOCK
    }
}

impl Grow for BuddyHeap {
    /// A block of order `k` must start at a multiple of `2^k` from the
    /// region's start, so the top moves to the next such multiple and then
    /// one block further.
    fn growth_for(&self, layout: Layout) -> Option<usize> {
        let order = Self::order_for_layout(layout).ok()?;
        let (start, end) = self.regions.iter().last()?;
        let top = end - start;
        let block = 1usize << order;
        let new_top = top.checked_next_multiple_of(block)?.checked_add(block)?;
        Some(new_top - top)
    }

    /// The new bytes are carved like a region of their own, but relative to
    /// the old region's start, so they merge with free blocks below.
    unsafe fn extend_top(&mut self, bytes: usize) -> Result<(), HeapError> {
        let (_, end) = self
            .regions
            .iter()
            .last()
            .ok_or(HeapError::NotInitialised)?;
        let new_end = end.checked_add(bytes).ok_or(HeapError::BadRegion {
            start: end,
            size: bytes,
        })?;
        if bytes == 0 || !bytes.is_multiple_of(MIN_BLOCK) {
            return Err(HeapError::BadRegion {
                start: end,
                size: bytes,
            });
        }
        let (region, start, old_end) = self.regions.extend_last(new_end)?;
        self.counts.total += bytes;
        self.carve(region, start, old_end - start, new_end - start)
    }
}

/// Records no call sites.
impl Traced for BuddyHeap {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heap::model_tests::Arena;

    fn heap_over(arena: &Arena) -> BuddyHeap {
        let mut heap = BuddyHeap::new();
        // SAFETY: the arena outlives the heap in every test.
        unsafe { heap.add_region(arena.start(), arena.len()) }.unwrap();
        heap
    }

    fn layout(size: usize) -> Layout {
        Layout::from_size_align(size, 1).unwrap()
    }

    #[test]
    fn header_is_sixteen_bytes_on_i686() {
        if cfg!(target_pointer_width = "32") {
            assert_eq!(HEADER_SIZE, 16);
            assert_eq!(MIN_BLOCK, 32);
        }
    }

    /// Lab 2.2 alone: headers written by hand into a region that was never
    /// carved, so no other lab's code runs.
    #[test]
    fn the_header_check_accepts_only_intact_headers_that_fit() {
        let arena = Arena::new(8192);
        let mut heap = BuddyHeap::new();
        let start = arena.start();
        let region = heap.regions.add(start, start + 4096).unwrap();
        let (free, used) = (start, start + 2048);
        heap.write_header(free, 11, FREE, 0, 0);
        heap.write_header(used, 11, USED, 0, 0);
        let header = heap
            .valid_header(free, region)
            .expect("an intact free header");
        assert_eq!((header.order, header.state), (11, FREE));
        assert_eq!(heap.valid_header(used, region).map(|h| h.state), Some(USED));
        // A block that does not fit: an order-12 block at 2048 would end
        // past the region, and one at 0 is fine but at 2048 is misaligned.
        heap.write_header(used, 12, USED, 0, 0);
        assert!(
            heap.valid_header(used, region).is_none(),
            "order 12 at 2048"
        );
        heap.write_header(free, 12, FREE, 0, 0);
        assert!(
            heap.valid_header(free, region).is_some(),
            "order 12 at 0 fills the region"
        );
        heap.write_header(free, 13, FREE, 0, 0);
        assert!(
            heap.valid_header(free, region).is_none(),
            "order 13 is past the end"
        );
        // Orders below the smallest block, and unknown states, are refused.
        heap.write_header(free, MIN_ORDER - 1, FREE, 0, 0);
        assert!(
            heap.valid_header(free, region).is_none(),
            "order below MIN_ORDER"
        );
        heap.write_header(free, 11, b'X', 0, 0);
        assert!(heap.valid_header(free, region).is_none(), "unknown state");
        // Any change to a field the check value covers is caught.
        heap.write_header(free, 11, FREE, 0, 0);
        // SAFETY: `free` is the start of the arena, which holds the header.
        unsafe { (*(free as *mut BlockHeader)).state = USED };
        assert!(
            heap.valid_header(free, region).is_none(),
            "state changed behind its back"
        );
        heap.write_header(free, 11, FREE, 0, 0);
        // SAFETY: as above.
        unsafe { (*(free as *mut BlockHeader)).order = 10 };
        assert!(
            heap.valid_header(free, region).is_none(),
            "order changed behind its back"
        );
        // A header copied to another address fails there: the check value
        // covers the address too.
        heap.write_header(free, 10, FREE, 0, 0);
        // SAFETY: both addresses are block starts inside the arena.
        unsafe { ((start + 1024) as *mut BlockHeader).write(heap.read_header(free)) };
        assert!(
            heap.valid_header(start + 1024, region).is_none(),
            "moved header"
        );
    }

    #[test]
    fn first_allocation_splits_down_to_the_smallest_block() {
        let arena = Arena::new(4096);
        let mut heap = heap_over(&arena);
        assert_eq!(heap.stats().free_blocks[12], 1);
        let p = heap.allocate(layout(1)).unwrap();
        assert_eq!(p.as_ptr() as usize, arena.start() + HEADER_SIZE);
        let stats = heap.stats();
        // 4096 = 32 (used) + 32 + 64 + 128 + ... + 2048 (one free of each).
        for order in MIN_ORDER..12 {
            assert_eq!(stats.free_blocks[order as usize], 1, "order {order}");
        }
        assert_eq!(stats.free_blocks[12], 0);
        assert_eq!(stats.used, MIN_BLOCK);
        assert_eq!(stats.largest_free, 2048);
        heap.check_integrity().unwrap();
    }

    #[test]
    fn each_order_starts_one_byte_past_what_the_order_below_holds() {
        let arena = Arena::new(64 * 1024);
        let mut heap = heap_over(&arena);
        let order_for = |heap: &mut BuddyHeap, size: usize| {
            let pointer = heap.allocate(layout(size)).unwrap();
            let order = heap.order_of(pointer).unwrap();
            heap.deallocate(pointer, layout(size)).unwrap();
            order
        };
        assert_eq!(BuddyHeap::smallest_request_of_order(MIN_ORDER), 1);
        for order in MIN_ORDER..MIN_ORDER + 8 {
            let smallest = BuddyHeap::smallest_request_of_order(order);
            let largest = BuddyHeap::largest_request_of_order(order);
            assert_eq!(order_for(&mut heap, smallest), order, "{smallest} bytes");
            assert_eq!(order_for(&mut heap, largest), order, "{largest} bytes");
            assert_eq!(order_for(&mut heap, largest + 1), order + 1);
            if order > MIN_ORDER {
                assert_eq!(order_for(&mut heap, smallest - 1), order - 1);
            }
        }
        if cfg!(target_pointer_width = "32") {
            // The numbers chapter 2's text quotes for `demo`.
            assert_eq!(BuddyHeap::largest_request_of_order(5), 16);
            assert_eq!(BuddyHeap::smallest_request_of_order(6), 17);
            assert_eq!(BuddyHeap::smallest_request_of_order(11), 1009);
        }
        // A freed block has no order any more.
        let pointer = heap.allocate(layout(1)).unwrap();
        heap.deallocate(pointer, layout(1)).unwrap();
        assert!(matches!(
            heap.order_of(pointer),
            Err(HeapError::DoubleFree { .. })
        ));
        heap.check_integrity().unwrap();
    }

    #[test]
    fn freeing_buddies_coalesces_back_to_one_block() {
        let arena = Arena::new(4096);
        let mut heap = heap_over(&arena);
        let a = heap.allocate(layout(8)).unwrap();
        let b = heap.allocate(layout(8)).unwrap();
        assert_eq!(
            b.as_ptr() as usize - a.as_ptr() as usize,
            MIN_BLOCK,
            "b is a's buddy"
        );
        heap.deallocate(a, layout(8)).unwrap();
        // a cannot merge: its buddy b is in use.
        assert_eq!(heap.stats().free_blocks[MIN_ORDER as usize], 1);
        heap.deallocate(b, layout(8)).unwrap();
        let stats = heap.stats();
        assert_eq!(stats.free_blocks[12], 1);
        assert_eq!(stats.free_blocks.iter().sum::<u32>(), 1);
        assert_eq!((stats.used, stats.allocations), (0, 0));
        heap.check_integrity().unwrap();
    }

    #[test]
    fn odd_sized_region_is_carved_into_aligned_powers_of_two() {
        let arena = Arena::new(4096 * 3 + 96);
        let mut heap = heap_over(&arena);
        let stats = heap.stats();
        assert_eq!(stats.total, 4096 * 3 + 96);
        assert_eq!(stats.free_blocks[13], 1);
        assert_eq!(stats.free_blocks[12], 1);
        assert_eq!(stats.free_blocks[6], 1);
        assert_eq!(stats.free_blocks[5], 1);
        // Blocks at the end never merge with memory past the region.
        let blocks: Vec<_> = (0..3)
            .map(|_| heap.allocate(layout(4000)).unwrap())
            .collect();
        assert!(heap.allocate(layout(4000)).is_err());
        for block in blocks {
            heap.deallocate(block, layout(4000)).unwrap();
        }
        assert_eq!(heap.stats().free_blocks, stats.free_blocks);
        heap.check_integrity().unwrap();
    }

    #[test]
    fn double_free_and_foreign_pointers_are_errors_that_change_nothing() {
        let arena = Arena::new(4096);
        let mut heap = heap_over(&arena);
        let a = heap.allocate(layout(100)).unwrap();
        let keep = heap.allocate(layout(100)).unwrap();
        heap.deallocate(a, layout(100)).unwrap();
        let before = heap.stats();
        let address = a.as_ptr() as usize;
        assert_eq!(
            heap.deallocate(a, layout(100)),
            Err(HeapError::DoubleFree { address })
        );
        let inside = NonNull::new((address + 4) as *mut u8).unwrap();
        assert_eq!(
            heap.deallocate(inside, layout(1)),
            Err(HeapError::InvalidPointer {
                address: address + 4
            })
        );
        let mut local = 0u64;
        let foreign = NonNull::from(&mut local).cast::<u8>();
        assert!(matches!(
            heap.deallocate(foreign, layout(8)),
            Err(HeapError::ForeignPointer { .. })
        ));
        assert_eq!(heap.stats(), before);
        heap.check_integrity().unwrap();
        heap.deallocate(keep, layout(100)).unwrap();
        assert_eq!(heap.stats().free_blocks[12], 1);
    }

    #[test]
    fn a_double_free_after_merging_is_still_caught() {
        let arena = Arena::new(4096);
        let mut heap = heap_over(&arena);
        let a = heap.allocate(layout(8)).unwrap();
        let b = heap.allocate(layout(8)).unwrap();
        heap.deallocate(a, layout(8)).unwrap();
        heap.deallocate(b, layout(8)).unwrap();
        // b's header was merged into a's block; freeing b again is reported.
        let address = b.as_ptr() as usize;
        assert_eq!(
            heap.deallocate(b, layout(8)),
            Err(HeapError::DoubleFree { address })
        );
        heap.check_integrity().unwrap();
    }

    #[test]
    fn an_overwritten_header_is_reported_not_followed() {
        let arena = Arena::new(4096);
        let mut heap = heap_over(&arena);
        let a = heap.allocate(layout(8)).unwrap();
        let b = heap.allocate(layout(8)).unwrap();
        heap.deallocate(b, layout(8)).unwrap();
        // An overflow from `a` tramples its free buddy's header.
        let usable = heap.usable_size(a).unwrap();
        // SAFETY: the arena is ours; this simulates a buggy caller.
        unsafe { a.as_ptr().add(usable).write_bytes(0xAA, 8) };
        let buddy = a.as_ptr() as usize + usable;
        let before = heap.stats();
        assert_eq!(
            heap.deallocate(a, layout(8)),
            Err(HeapError::CorruptHeader { address: buddy })
        );
        assert_eq!(heap.stats(), before, "nothing changed");
        assert_eq!(
            heap.check_integrity(),
            Err(HeapError::CorruptHeader { address: buddy })
        );
    }

    #[test]
    fn alignment_up_to_a_page_is_honoured_and_freed() {
        let arena = Arena::new(64 * 1024);
        let mut heap = heap_over(&arena);
        let mut blocks = Vec::new();
        for shift in 0..=12 {
            let layout = Layout::from_size_align(24, 1 << shift).unwrap();
            let p = heap.allocate(layout).unwrap();
            assert_eq!(
                p.as_ptr() as usize % (1 << shift),
                0,
                "align {}",
                1 << shift
            );
            assert!(heap.usable_size(p).unwrap() >= 24);
            blocks.push((p, layout));
        }
        let too_big = Layout::from_size_align(8, 8192).unwrap();
        assert_eq!(
            heap.allocate(too_big),
            Err(HeapError::AlignmentTooLarge { align: 8192 })
        );
        for (p, layout) in blocks {
            heap.deallocate(p, layout).unwrap();
        }
        assert_eq!(heap.stats().free_blocks[16], 1);
        heap.check_integrity().unwrap();
    }

    #[test]
    fn realloc_shrinks_and_grows_in_place_when_it_can() {
        let arena = Arena::new(4096);
        let mut heap = heap_over(&arena);
        let p = heap.allocate(layout(1000)).unwrap();
        assert_eq!(heap.usable_size(p).unwrap(), 1024 - HEADER_SIZE);
        // Shrink: the upper halves go back on the free lists.
        let q = heap.reallocate(p, layout(1000), 40).unwrap();
        assert_eq!(q, p);
        assert_eq!(heap.usable_size(q).unwrap(), 64 - HEADER_SIZE);
        // Grow: the free upper buddies are absorbed again.
        let r = heap.reallocate(q, layout(40), 2000).unwrap();
        assert_eq!(r, p);
        assert_eq!(heap.usable_size(r).unwrap(), 2048 - HEADER_SIZE);
        assert_eq!(heap.stats().used, 2048);
        heap.check_integrity().unwrap();
        // Blocked by a used buddy: it moves, keeping the contents.
        let r = heap.reallocate(r, layout(2000), 100).unwrap();
        // SAFETY: r has at least 100 usable bytes.
        unsafe { r.as_ptr().write_bytes(7, 100) };
        let blocker = heap.allocate(layout(100)).unwrap();
        let moved = heap.reallocate(r, layout(100), 500).unwrap();
        assert_ne!(moved, r);
        // SAFETY: moved has at least 500 usable bytes, the first 100 copied.
        assert!(unsafe { core::slice::from_raw_parts(moved.as_ptr(), 100) }
            .iter()
            .all(|&b| b == 7));
        heap.deallocate(moved, layout(500)).unwrap();
        heap.deallocate(blocker, layout(100)).unwrap();
        assert_eq!(heap.stats().free_blocks[12], 1);
    }

    #[test]
    fn extending_the_top_merges_with_free_blocks_below() {
        let arena = Arena::new(64 * 1024);
        let mut heap = BuddyHeap::new();
        // SAFETY: the arena outlives the heap; the heap gets its first 4 KiB
        // now and the rest only through `extend_top`.
        unsafe { heap.add_region(arena.start(), 4096) }.unwrap();
        let small = heap.allocate(layout(100)).unwrap();
        // 3000 bytes need a 4 KiB block: the top moves to 4 KiB + 4 KiB.
        let big = layout(3000);
        assert!(heap.allocate(big).is_err());
        assert_eq!(heap.growth_for(big), Some(4096));
        // SAFETY: the bytes above the region are the arena's.
        unsafe { heap.extend_top(4096) }.unwrap();
        let p = heap.allocate(big).unwrap();
        assert_eq!(p.as_ptr() as usize, arena.start() + 4096 + HEADER_SIZE);
        assert_eq!((heap.stats().total, heap.stats().regions), (8192, 1));
        // From an unaligned top, the gap is filled with smaller blocks first.
        // SAFETY: as above.
        unsafe { heap.extend_top(1024) }.unwrap();
        assert_eq!(heap.growth_for(layout(8000)), Some(16384 - 9216 + 8192));
        // SAFETY: as above.
        unsafe { heap.extend_top(16384 - 9216 + 8192) }.unwrap();
        let q = heap.allocate(layout(8000)).unwrap();
        assert_eq!(q.as_ptr() as usize, arena.start() + 16384 + HEADER_SIZE);
        heap.check_integrity().unwrap();
        for (pointer, size) in [(small, 100), (p, 3000), (q, 8000)] {
            heap.deallocate(pointer, layout(size)).unwrap();
        }
        // Everything merged back: 24 KiB as one 16 KiB and one 8 KiB block.
        let stats = heap.stats();
        assert_eq!(stats.free_blocks.iter().sum::<u32>(), 2);
        assert_eq!((stats.free_blocks[14], stats.free_blocks[13]), (1, 1));
        heap.check_integrity().unwrap();
        // Bad sizes are refused and change nothing.
        // SAFETY: nothing is written for a refused extension.
        assert!(unsafe { heap.extend_top(0) }.is_err());
        assert!(unsafe { heap.extend_top(24) }.is_err());
        assert_eq!(heap.stats(), stats);
        assert_eq!(BuddyHeap::new().growth_for(big), None, "no region yet");
    }

    #[test]
    fn out_of_memory_is_an_error_and_a_second_region_helps() {
        let first = Arena::new(4096);
        let second = Arena::new(8192);
        let mut heap = heap_over(&first);
        assert_eq!(
            heap.allocate(layout(5000)),
            Err(HeapError::OutOfMemory {
                size: 5000,
                align: 1
            })
        );
        // SAFETY: the arena outlives the heap.
        unsafe { heap.add_region(second.start(), second.len()) }.unwrap();
        let p = heap.allocate(layout(5000)).unwrap();
        assert!((second.start()..second.start() + 8192).contains(&(p.as_ptr() as usize)));
        assert_eq!(heap.stats().regions, 2);
        // SAFETY: overlapping an existing region is refused before any write.
        assert!(matches!(
            unsafe { heap.add_region(first.start(), 4096) },
            Err(HeapError::BadRegion { .. })
        ));
        heap.deallocate(p, layout(5000)).unwrap();
        heap.check_integrity().unwrap();
    }
}
