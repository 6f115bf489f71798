//! The pool: a free list of variable-sized chunks, first fit or best fit.
//!
//! The C allocators this course started from work this way, as do most C
//! textbooks' allocators. Memory is a row of *chunks*, each with a 16-byte
//! header:
//!
//! ```text
//!  +-------+------+-----------+-------+-----+----------------------------+
//!  | check | size | prev_size | state | pad | payload (free: prev, next) |
//!  +-------+------+-----------+-------+-----+----------------------------+
//!  size      = this chunk's bytes, header included (a multiple of 16)
//!  prev_size = the chunk just below's size (0 for the first), so that a
//!              chunk can find its lower neighbour without a search
//! ```
//!
//! Free chunks are also on a doubly linked free list, threaded through their
//! payloads. *Allocation* walks the list for a chunk that fits — the first
//! one, or the smallest one: see [`Fit`] — and *splits* off the rest when it
//! is big enough to be a chunk. *Freeing* merges the chunk with its upper
//! neighbour and with its lower neighbour when they are free (*coalescing*),
//! so two free chunks are never next to each other.
//!
//! Compared with the buddy heap it wastes less (no rounding to powers of
//! two) but allocation is O(free chunks) and the heap fragments over time.

use super::{
    check_alignment, out_of_memory, reallocate_by_moving, size_class, Accounting, BlockInfo, Heap,
    HeapError, HeapStats, Inspect, Regions, Traced, SIZE_CLASSES,
};
use core::alloc::Layout;
use core::mem::size_of;
use core::ptr::NonNull;

#[repr(C, align(16))]
#[derive(Debug, Clone, Copy)]
struct ChunkHeader {
    check: u32,
    size: u32,
    prev_size: u32,
    state: u8,
    _pad: [u8; 3],
}

/// The free-list links in a free chunk's payload.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
struct FreeLinks {
    prev: usize,
    next: usize,
}

const HEADER_SIZE: usize = size_of::<ChunkHeader>();
/// Chunk sizes and payloads are multiples of this.
const GRANULE: usize = HEADER_SIZE;
/// A chunk must hold its header and, when free, its links.
const MIN_CHUNK: usize = HEADER_SIZE + size_of::<FreeLinks>().next_multiple_of(GRANULE);

const FREE: u8 = b'F';
const USED: u8 = b'U';
/// Merged into the chunk below: a second free of it is a double free.
const MERGED: u8 = b'M';
const MAGIC: u32 = 0x9001_C4A7;

fn check_value(address: usize, size: u32, prev_size: u32, state: u8) -> u32 {
    MAGIC ^ (address as u32).rotate_left(11) ^ size.rotate_left(3) ^ prev_size ^ u32::from(state)
}

/// Which free chunk the pool allocates from (`pool=first|best` on the
/// kernel command line).
///
/// *First fit* takes the first chunk on the free list with room: it often
/// stops after a few chunks. *Best fit* takes the smallest chunk with room
/// (alignment gap included), so it reads the whole list unless it meets an
/// exact fit; on a tie it keeps the one found first, which is the one freed
/// most recently (freed chunks go to the front of the list). What it buys is
/// that big chunks stay big:
///
/// ```text
///  free list: A (256 bytes) -> B (64 bytes)      then ask for 48 bytes
///                                                (a 64-byte chunk)
///  first fit: A [used 64 | free 192]   B [free 64]
///  best fit:  A [free 256]             B [used 64]
///
///  Asking next for 240 bytes (a 256-byte chunk) now fails under first fit:
///  it cut the only chunk big enough down to 192.
/// ```
///
/// Which wins depends on the load: `docs/chapter-2-memory.md` has figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    First,
    Best,
}

impl Fit {
    pub const ALL: [Fit; 2] = [Fit::First, Fit::Best];

    /// Parses the value of `pool=` on the kernel command line.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|fit| fit.name() == text)
    }

    pub fn name(self) -> &'static str {
        match self {
            Fit::First => "first",
            Fit::Best => "best",
        }
    }
}

/// A free-list heap over one or more regions.
pub struct PoolHeap {
    regions: Regions,
    /// First free chunk (0 = none).
    free_head: usize,
    free_chunks: usize,
    counts: Accounting,
    fit: Fit,
}

impl PoolHeap {
    /// An empty first-fit pool.
    pub const fn new() -> Self {
        Self::with_fit(Fit::First)
    }

    /// An empty pool that places blocks by `fit`.
    pub const fn with_fit(fit: Fit) -> Self {
        Self {
            regions: Regions::new(),
            free_head: 0,
            free_chunks: 0,
            counts: Accounting::new(),
            fit,
        }
    }

    /// How this pool picks a free chunk.
    pub fn fit(&self) -> Fit {
        self.fit
    }

    // ---- raw access: the only place this file touches memory ----

    fn read_header(&self, chunk: usize) -> ChunkHeader {
        debug_assert!(self.regions.find(chunk).is_some() && chunk.is_multiple_of(GRANULE));
        // SAFETY: callers pass chunk starts inside our regions (from the free
        // list, from a neighbour's size, or checked against `self.regions`),
        // which `add_region`'s caller let us use; they are GRANULE-aligned.
        unsafe { (chunk as *const ChunkHeader).read() }
    }

    fn write_header(&mut self, chunk: usize, size: usize, prev_size: usize, state: u8) {
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

    fn links(&self, chunk: usize) -> FreeLinks {
        // SAFETY: only free chunks have links; a free chunk is at least
        // MIN_CHUNK bytes, so the links after its header are inside it.
        unsafe { ((chunk + HEADER_SIZE) as *const FreeLinks).read() }
    }

    fn set_links(&mut self, chunk: usize, links: FreeLinks) {
        // SAFETY: as in `links`.
        unsafe { ((chunk + HEADER_SIZE) as *mut FreeLinks).write(links) }
    }

    /// The header at `chunk`, if intact and inside region `region`.
    fn valid_header(&self, chunk: usize, region: usize) -> Option<ChunkHeader> {
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
    fn neighbour(&self, chunk: usize, region: usize) -> Result<ChunkHeader, HeapError> {
        self.valid_header(chunk, region)
            .filter(|header| header.state != MERGED)
            .ok_or(HeapError::CorruptHeader { address: chunk })
    }

    // ---- the free list ----

    fn push_free(&mut self, chunk: usize, size: usize, prev_size: usize) {
        self.write_header(chunk, size, prev_size, FREE);
        let head = self.free_head;
        self.set_links(
            chunk,
            FreeLinks {
                prev: 0,
                next: head,
            },
        );
        if head != 0 {
            let links = self.links(head);
            self.set_links(
                head,
                FreeLinks {
                    prev: chunk,
                    ..links
                },
            );
        }
        self.free_head = chunk;
        self.free_chunks += 1;
    }

    fn remove_free(&mut self, chunk: usize) {
        let FreeLinks { prev, next } = self.links(chunk);
        if prev == 0 {
            self.free_head = next;
        } else {
            let links = self.links(prev);
            self.set_links(prev, FreeLinks { next, ..links });
        }
        if next != 0 {
            let links = self.links(next);
            self.set_links(next, FreeLinks { prev, ..links });
        }
        self.free_chunks -= 1;
    }

    /// Tells the chunk above `chunk` (if any) that its lower neighbour's size
    /// is now `size`.
    fn update_next_prev_size(&mut self, chunk: usize, size: usize, region: usize) {
        let (_, end) = self.regions.get(region);
        let next = chunk + size;
        if next < end {
            let header = self.read_header(next);
            self.write_header(next, header.size as usize, size, header.state);
        }
    }

    /// The chunk a payload pointer belongs to, checked to be allocated.
    fn find_allocated(
        &self,
        pointer: NonNull<u8>,
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

    /// Bytes of chunk needed for `size` bytes of payload.
    fn chunk_size_for(size: usize) -> Option<usize> {
        let size = size
            .max(1)
            .checked_add(HEADER_SIZE)?
            .checked_next_multiple_of(GRANULE)?;
        Some(size.max(MIN_CHUNK)).filter(|&size| size <= u32::MAX as usize)
    }

    /// Where a block of `need` chunk bytes with payload alignment `align`
    /// fits inside free chunk `chunk` of `size` bytes: the offset of the new
    /// chunk (0, or a gap big enough to stay a free chunk of its own).
    fn fits(chunk: usize, size: usize, need: usize, align: usize) -> Option<usize> {
        let mut payload = (chunk + HEADER_SIZE).next_multiple_of(align);
        let mut gap = payload - HEADER_SIZE - chunk;
        if gap != 0 && gap < MIN_CHUNK {
            payload += align.max(MIN_CHUNK).next_multiple_of(align);
            gap = payload - HEADER_SIZE - chunk;
        }
        (gap.checked_add(need)? <= size).then_some(gap)
    }

    /// The free chunk to allocate `need` bytes aligned to `align` from, as
    /// `(chunk, gap, size)`: the only place first and best fit differ.
    fn find_free(&self, need: usize, align: usize) -> Option<(usize, usize, usize)> {
        let mut found: Option<(usize, usize, usize)> = None;
        let mut chunk = self.free_head;
        while chunk != 0 {
            let size = self.read_header(chunk).size as usize;
            if let Some(gap) = Self::fits(chunk, size, need, align) {
                // Strictly smaller only: on a tie the first found stays.
                if found.is_none_or(|(_, _, smallest)| size < smallest) {
                    found = Some((chunk, gap, size));
                }
                // No chunk that fits is smaller than `need`, so best fit
                // can stop at an exact fit too.
                if self.fit == Fit::First || size == need {
                    break;
                }
            }
            chunk = self.links(chunk).next;
        }
        found
    }

    /// Cuts `chunk` (used, `size` bytes) down to `keep` bytes when the rest
    /// can be a chunk of its own, and frees the rest. Returns the new size.
    fn trim(
        &mut self,
        chunk: usize,
        size: usize,
        keep: usize,
        region: usize,
    ) -> Result<usize, HeapError> {
        if size - keep < MIN_CHUNK {
            return Ok(size);
        }
        let prev_size = self.read_header(chunk).prev_size as usize;
        let rest = chunk + keep;
        let rest_size = size - keep;
        // Merge the rest with a free upper neighbour first.
        let (_, end) = self.regions.get(region);
        let next = rest + rest_size;
        let mut merged_size = rest_size;
        if next < end {
            let header = self.neighbour(next, region)?;
            if header.state == FREE {
                self.remove_free(next);
                self.write_header(next, header.size as usize, 0, MERGED);
                merged_size += header.size as usize;
            }
        }
        self.write_header(chunk, keep, prev_size, USED);
        self.push_free(rest, merged_size, keep);
        self.update_next_prev_size(rest, merged_size, region);
        Ok(keep)
    }

    /// Walks every chunk and the free list. O(chunks): for tests and checks.
    pub fn check_integrity(&self) -> Result<(), HeapError> {
        let mut free = 0;
        for (index, (start, end)) in self.regions.iter().enumerate() {
            let (mut chunk, mut prev_size, mut prev_free) = (start, 0, false);
            while chunk < end {
                let header = self.neighbour(chunk, index)?;
                let is_free = header.state == FREE;
                if header.prev_size as usize != prev_size || (is_free && prev_free) {
                    return Err(HeapError::CorruptHeader { address: chunk });
                }
                free += usize::from(is_free);
                (prev_size, prev_free) = (header.size as usize, is_free);
                chunk += header.size as usize;
            }
        }
        let (mut listed, mut chunk, mut prev) = (0, self.free_head, 0);
        while chunk != 0 {
            let region = self
                .regions
                .find(chunk)
                .ok_or(HeapError::CorruptHeader { address: chunk })?;
            let ok = self
                .valid_header(chunk, region)
                .is_some_and(|h| h.state == FREE)
                && self.links(chunk).prev == prev;
            listed += 1;
            if !ok || listed > free {
                return Err(HeapError::CorruptHeader { address: chunk });
            }
            (prev, chunk) = (chunk, self.links(chunk).next);
        }
        if listed != free || free != self.free_chunks {
            return Err(HeapError::CorruptHeader {
                address: self.free_head,
            });
        }
        Ok(())
    }
}

impl Default for PoolHeap {
    fn default() -> Self {
        Self::new()
    }
}

impl Heap for PoolHeap {
    fn name(&self) -> &'static str {
        "pool"
    }

    /// The whole region becomes one free chunk (seed 000's
    /// `extend_allocation_space` for every region after the first).
    unsafe fn add_region(&mut self, start: usize, size: usize) -> Result<(), HeapError> {
        let (_, aligned, end) = self.regions.claim(
            (start, size),
            (GRANULE, GRANULE),
            (MIN_CHUNK, u32::MAX as usize),
        )?;
        self.push_free(aligned, end - aligned, 0);
        self.counts.total += end - aligned;
        Ok(())
    }

    fn allocate(&mut self, layout: Layout) -> Result<NonNull<u8>, HeapError> {
        check_alignment(layout)?;
        let need = Self::chunk_size_for(layout.size()).ok_or(out_of_memory(layout))?;
        let align = layout.align().max(GRANULE);
        let (chunk, gap, size) = self.find_free(need, align).ok_or(out_of_memory(layout))?;
        let region = self
            .regions
            .find(chunk)
            .expect("free chunks are in a region");
        let prev_size = self.read_header(chunk).prev_size as usize;
        self.remove_free(chunk);
        // An alignment gap at the front stays behind as a free chunk.
        let (block, block_size, block_prev) = if gap == 0 {
            (chunk, size, prev_size)
        } else {
            self.push_free(chunk, gap, prev_size);
            (chunk + gap, size - gap, gap)
        };
        self.write_header(block, block_size, block_prev, USED);
        self.update_next_prev_size(block, block_size, region);
        // The tail, if big enough, is split off and freed (`chunk_split`).
        let final_size = self.trim(block, block_size, need, region)?;
        self.counts.allocated(final_size, layout.size());
        Ok(NonNull::new((block + HEADER_SIZE) as *mut u8).expect("chunks are never at 0"))
    }

    fn deallocate(&mut self, pointer: NonNull<u8>, layout: Layout) -> Result<(), HeapError> {
        let (chunk, region, header) = self.find_allocated(pointer)?;
        let (start, end) = self.regions.get(region);
        let size = header.size as usize;
        // Check both neighbours before changing anything.
        let next = chunk + size;
        let upper = if next < end {
            Some(self.neighbour(next, region)?)
        } else {
            None
        };
        let lower_address = chunk - header.prev_size as usize;
        let lower = if chunk > start {
            Some(self.neighbour(lower_address, region)?)
        } else {
            None
        };
        let (mut merged, mut merged_size, mut prev_size) = (chunk, size, header.prev_size as usize);
        if let Some(upper) = upper.filter(|h| h.state == FREE) {
            self.remove_free(next);
            self.write_header(next, upper.size as usize, 0, MERGED);
            merged_size += upper.size as usize;
        }
        if let Some(lower) = lower.filter(|h| h.state == FREE) {
            self.remove_free(lower_address);
            self.write_header(chunk, size, 0, MERGED);
            merged = lower_address;
            merged_size += lower.size as usize;
            prev_size = lower.prev_size as usize;
        }
        self.push_free(merged, merged_size, prev_size);
        self.update_next_prev_size(merged, merged_size, region);
        self.counts.freed(size, layout.size());
        Ok(())
    }

    /// Shrinks by splitting off the tail; grows into a free upper neighbour;
    /// otherwise moves.
    fn reallocate(
        &mut self,
        pointer: NonNull<u8>,
        layout: Layout,
        new_size: usize,
    ) -> Result<NonNull<u8>, HeapError> {
        let (chunk, region, header) = self.find_allocated(pointer)?;
        let need = Self::chunk_size_for(new_size).ok_or(out_of_memory(layout))?;
        let size = header.size as usize;
        let (_, end) = self.regions.get(region);
        let mut available = size;
        let next = chunk + size;
        let upper = if next < end {
            Some(self.neighbour(next, region)?)
        } else {
            None
        };
        if need > size {
            match upper {
                Some(upper) if upper.state == FREE && size + upper.size as usize >= need => {
                    self.remove_free(next);
                    self.write_header(next, upper.size as usize, 0, MERGED);
                    available += upper.size as usize;
                    self.write_header(chunk, available, header.prev_size as usize, USED);
                    self.update_next_prev_size(chunk, available, region);
                }
                _ => return reallocate_by_moving(self, pointer, layout, new_size),
            }
        }
        let final_size = self.trim(chunk, available, need, region)?;
        self.counts
            .resized((size, final_size), (layout.size(), new_size));
        Ok(pointer)
    }

    fn usable_size(&self, pointer: NonNull<u8>) -> Result<usize, HeapError> {
        let (_, _, header) = self.find_allocated(pointer)?;
        Ok(header.size as usize - HEADER_SIZE)
    }

    fn stats(&self) -> HeapStats {
        let (mut free_blocks, mut largest_free) = ([0; SIZE_CLASSES], 0);
        let mut chunk = self.free_head;
        while chunk != 0 {
            let size = self.read_header(chunk).size as usize;
            free_blocks[size_class(size).min(SIZE_CLASSES - 1)] += 1;
            largest_free = largest_free.max(size);
            chunk = self.links(chunk).next;
        }
        self.counts
            .stats(largest_free, free_blocks, self.regions.len)
    }
}

impl Inspect for PoolHeap {
    fn for_each_block(&self, visit: &mut dyn FnMut(BlockInfo)) {
        for (index, (start, end)) in self.regions.iter().enumerate() {
            let mut chunk = start;
            while chunk < end {
                let Ok(header) = self.neighbour(chunk, index) else {
                    visit(BlockInfo {
                        start: chunk,
                        size: end - chunk,
                        header: 0,
                        free: false,
                    });
                    break;
                };
                visit(BlockInfo {
                    start: chunk,
                    size: header.size as usize,
                    header: HEADER_SIZE,
                    free: header.state == FREE,
                });
                chunk += header.size as usize;
            }
        }
    }

    fn owns(&self, address: usize) -> bool {
        self.regions.find(address).is_some()
    }

    fn check_integrity(&self) -> Result<(), HeapError> {
        PoolHeap::check_integrity(self)
    }

    fn granule(&self) -> usize {
        GRANULE
    }
}

/// Records no call sites.
impl Traced for PoolHeap {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heap::model_tests::Arena;

    // The tests that do not compare the policies run under both (`for fit
    // in Fit::ALL`): everything but the choice of chunk is shared.

    fn pool_over(arena: &Arena, fit: Fit) -> PoolHeap {
        let mut heap = PoolHeap::with_fit(fit);
        // SAFETY: the arena outlives the heap in every test.
        unsafe { heap.add_region(arena.start(), arena.len()) }.unwrap();
        heap
    }

    fn layout(size: usize) -> Layout {
        Layout::from_size_align(size, 1).unwrap()
    }

    fn free_sizes(heap: &PoolHeap) -> Vec<usize> {
        let mut sizes = Vec::new();
        heap.for_each_block(&mut |block| {
            if block.free {
                sizes.push(block.size);
            }
        });
        sizes
    }

    /// Allocates chunks of `sizes` bytes, in address order, each followed
    /// by a used 32-byte chunk so that they cannot merge once freed.
    fn future_holes(heap: &mut PoolHeap, sizes: &[usize]) -> Vec<(NonNull<u8>, Layout)> {
        let holes = sizes.iter().map(|&size| {
            let hole_layout = layout(size - HEADER_SIZE);
            let hole = heap.allocate(hole_layout).unwrap();
            heap.allocate(layout(1)).unwrap();
            (hole, hole_layout)
        });
        holes.collect()
    }

    #[test]
    fn first_fit_takes_the_first_chunk_and_best_fit_the_smallest() {
        let rest = 4096 - 3 * 32 - (256 + 128 + 96);
        for (fit, taken, after) in [
            (Fit::First, 0, [256 - 64, 128, 96, rest]),
            (Fit::Best, 2, [256, 128, 96 - 64, rest]),
        ] {
            let arena = Arena::new(4096);
            let mut heap = pool_over(&arena, fit);
            let holes = future_holes(&mut heap, &[256, 128, 96]);
            // A freed chunk goes to the front of the free list, so freeing
            // the last first makes the list 256, 128, 96, then the rest.
            for &(hole, layout) in holes.iter().rev() {
                heap.deallocate(hole, layout).unwrap();
            }
            // 40 bytes need a 64-byte chunk: every chunk has room.
            let block = heap.allocate(layout(40)).unwrap();
            assert_eq!(block, holes[taken].0, "{fit:?} fit took the wrong chunk");
            // First fit cut the 256-byte chunk; best fit left it whole.
            assert_eq!(free_sizes(&heap), after, "{fit:?} fit");
            heap.check_integrity().unwrap();
        }
    }

    #[test]
    fn best_fit_takes_the_first_found_of_equal_chunks() {
        let arena = Arena::new(4096);
        let mut heap = pool_over(&arena, Fit::Best);
        let holes = future_holes(&mut heap, &[96, 96]);
        // Freed in address order: the list is the higher chunk, the lower.
        for &(hole, layout) in &holes {
            heap.deallocate(hole, layout).unwrap();
        }
        // Both have room for a 64-byte chunk and neither is an exact fit:
        // the search sees both and keeps the first (the higher).
        let block = heap.allocate(layout(40)).unwrap();
        assert_eq!(block, holes[1].0);
        heap.check_integrity().unwrap();
    }

    #[test]
    fn fits_parse_from_their_names_only() {
        for fit in Fit::ALL {
            assert_eq!(Fit::parse(fit.name()), Some(fit));
            assert_eq!(PoolHeap::with_fit(fit).fit(), fit);
        }
        assert_eq!(PoolHeap::new().fit(), Fit::First);
        assert_eq!(Fit::parse("Best"), None);
        assert_eq!(Fit::parse(""), None);
    }

    #[test]
    fn allocation_splits_the_first_chunk_that_fits() {
        for fit in Fit::ALL {
            let arena = Arena::new(1024);
            let mut heap = pool_over(&arena, fit);
            let a = heap.allocate(layout(100)).unwrap();
            assert_eq!(a.as_ptr() as usize, arena.start() + HEADER_SIZE);
            // 100 bytes + header, rounded to 16 = 128; the rest stays free.
            assert_eq!(heap.usable_size(a).unwrap(), 112);
            assert_eq!(free_sizes(&heap), [1024 - 128]);
            heap.check_integrity().unwrap();
        }
    }

    #[test]
    fn freeing_coalesces_with_both_neighbours() {
        for fit in Fit::ALL {
            let arena = Arena::new(1024);
            let mut heap = pool_over(&arena, fit);
            let [a, b, c, d] = [0; 4].map(|_| heap.allocate(layout(48)).unwrap());
            heap.deallocate(a, layout(48)).unwrap();
            heap.deallocate(c, layout(48)).unwrap();
            assert_eq!(free_sizes(&heap), [64, 64, 1024 - 256]);
            // b sits between two free chunks: all three become one.
            heap.deallocate(b, layout(48)).unwrap();
            assert_eq!(free_sizes(&heap), [192, 1024 - 256]);
            heap.check_integrity().unwrap();
            heap.deallocate(d, layout(48)).unwrap();
            assert_eq!(free_sizes(&heap), [1024]);
            assert_eq!(heap.stats().free_blocks.iter().sum::<u32>(), 1);
            heap.check_integrity().unwrap();
        }
    }

    #[test]
    fn aligned_allocation_leaves_the_gap_free() {
        for fit in Fit::ALL {
            let arena = Arena::new(8192);
            let mut heap = pool_over(&arena, fit);
            let small = heap.allocate(layout(8)).unwrap();
            let aligned = Layout::from_size_align(128, 256).unwrap();
            let p = heap.allocate(aligned).unwrap();
            assert_eq!(p.as_ptr() as usize % 256, 0);
            heap.check_integrity().unwrap();
            heap.deallocate(p, aligned).unwrap();
            heap.deallocate(small, layout(8)).unwrap();
            assert_eq!(free_sizes(&heap), [8192]);
        }
    }

    #[test]
    fn errors_leave_the_pool_unchanged() {
        for fit in Fit::ALL {
            let arena = Arena::new(1024);
            let mut heap = pool_over(&arena, fit);
            let a = heap.allocate(layout(10)).unwrap();
            let b = heap.allocate(layout(10)).unwrap();
            heap.deallocate(a, layout(10)).unwrap();
            let before = heap.stats();
            let address = a.as_ptr() as usize;
            assert_eq!(
                heap.deallocate(a, layout(10)),
                Err(HeapError::DoubleFree { address })
            );
            let odd = NonNull::new((address + 16) as *mut u8).unwrap();
            assert_eq!(
                heap.deallocate(odd, layout(1)),
                Err(HeapError::InvalidPointer {
                    address: address + 16
                })
            );
            assert_eq!(
                heap.allocate(layout(2000)),
                Err(HeapError::OutOfMemory {
                    size: 2000,
                    align: 1
                })
            );
            assert_eq!(heap.stats(), before);
            // Trample b's upper neighbour's header: freeing b reports it.
            let next = b.as_ptr() as usize + heap.usable_size(b).unwrap();
            // SAFETY: inside the arena; simulates an overflow out of b.
            unsafe { (next as *mut u32).write(0) };
            assert_eq!(
                heap.deallocate(b, layout(10)),
                Err(HeapError::CorruptHeader { address: next })
            );
            assert_eq!(heap.stats(), before);
        }
    }

    #[test]
    fn realloc_grows_into_a_free_neighbour_and_shrinks_in_place() {
        for fit in Fit::ALL {
            let arena = Arena::new(2048);
            let mut heap = pool_over(&arena, fit);
            let a = heap.allocate(layout(32)).unwrap();
            let grown = heap.reallocate(a, layout(32), 500).unwrap();
            assert_eq!(grown, a);
            assert!(heap.usable_size(grown).unwrap() >= 500);
            let shrunk = heap.reallocate(grown, layout(500), 20).unwrap();
            assert_eq!(shrunk, a);
            assert_eq!(heap.usable_size(shrunk).unwrap(), 32 - HEADER_SIZE + 16);
            heap.check_integrity().unwrap();
            let blocker = heap.allocate(layout(16)).unwrap();
            let moved = heap.reallocate(shrunk, layout(20), 300).unwrap();
            assert_ne!(moved, shrunk);
            heap.deallocate(moved, layout(300)).unwrap();
            heap.deallocate(blocker, layout(16)).unwrap();
            assert_eq!(free_sizes(&heap), [2048]);
        }
    }

    #[test]
    fn a_second_region_extends_a_full_pool() {
        for fit in Fit::ALL {
            let first = Arena::new(256);
            let second = Arena::new(4096);
            let mut heap = pool_over(&first, fit);
            let a = heap.allocate(layout(200)).unwrap();
            assert!(heap.allocate(layout(200)).is_err());
            // SAFETY: the arena outlives the heap.
            unsafe { heap.add_region(second.start(), second.len()) }.unwrap();
            let b = heap.allocate(layout(200)).unwrap();
            assert!((second.start()..second.start() + 4096).contains(&(b.as_ptr() as usize)));
            heap.deallocate(a, layout(200)).unwrap();
            heap.deallocate(b, layout(200)).unwrap();
            assert_eq!(free_sizes(&heap), [256, 4096]);
            heap.check_integrity().unwrap();
        }
    }
}
