//! The bump allocator: the simplest heap there is.
//!
//! A C bump allocator's `balloc` and `breset` (`docs/sources.md`). A pointer, `top`, starts at the bottom of
//! the region; an allocation rounds `top` up to the alignment, hands it out
//! and moves `top` past it. Nothing is ever searched, so it is as fast as an
//! allocator gets — but memory comes back only all at once: when the last
//! live allocation is freed (or on [`BumpHeap::reset`]), `top` returns to the
//! bottom.
//!
//! ```text
//!  region start                     top                         region end
//!  |[h|block A][h| block B ][h|C]   |                                    |
//!  |<------------- used ----------->|<------------ free ---------------->|
//! ```
//!
//! Unlike that one, each block carries an 8-byte header `h` (its size and a
//! check value), so this heap can answer `usable_size`, grow the newest
//! block in place, and tell a double free from a real one. Freeing the
//! newest block also moves `top` back, so a stack-like pattern reuses memory.

use super::{
    check_alignment, out_of_memory, reallocate_by_moving, size_class, Accounting, BlockInfo, Heap,
    HeapError, HeapStats, Inspect, Regions, Traced, MAX_REGIONS, SIZE_CLASSES,
};
use core::alloc::Layout;
use core::ptr::NonNull;

/// Header before every payload: check value, then the payload's size.
const HEADER_SIZE: usize = 8;
const LIVE_MAGIC: u32 = 0xB0B5_11FE;
const FREED_MAGIC: u32 = 0xB0B5_DEAD;

/// A bump allocator over one or more regions, filled in order.
pub struct BumpHeap {
    regions: Regions,
    /// Next free byte in each region.
    tops: [usize; MAX_REGIONS],
    /// The region allocations come from now; earlier ones are full.
    current: usize,
    /// The newest live block's payload (0 = none), for freeing it back.
    newest: usize,
    /// Live allocations and requested bytes. `used` is not counted here: a
    /// bump heap's used bytes are simply its tops minus its starts.
    counts: Accounting,
}

impl BumpHeap {
    pub const fn new() -> Self {
        Self {
            regions: Regions::new(),
            tops: [0; MAX_REGIONS],
            current: 0,
            newest: 0,
            counts: Accounting::new(),
        }
    }

    /// Starts again from the bottom of every region.
    /// Refused while allocations are live: their memory would be handed out
    /// a second time.
    pub fn reset(&mut self) -> Result<(), HeapError> {
        if self.counts.allocations != 0 {
            return Err(HeapError::Unsupported("reset while allocations are live"));
        }
        for index in 0..self.regions.len {
            self.tops[index] = self.regions.get(index).0;
        }
        self.current = 0;
        self.newest = 0;
        Ok(())
    }

    fn used(&self) -> usize {
        self.regions
            .iter()
            .zip(self.tops)
            .map(|((start, _), top)| top - start)
            .sum()
    }

    fn note_peak(&mut self) {
        self.counts.peak_used = self.counts.peak_used.max(self.used());
    }

    fn read_header(&self, payload: usize) -> (u32, u32) {
        // SAFETY: callers check that `payload` lies in a region at or above
        // `start + HEADER_SIZE` and is 8-aligned, so the header is inside the
        // region (memory `add_region`'s caller gave us) and aligned.
        unsafe { ((payload - HEADER_SIZE) as *const (u32, u32)).read() }
    }

    fn write_header(&mut self, payload: usize, magic: u32, size: usize) {
        let header = (magic ^ payload as u32, size as u32);
        // SAFETY: as in `read_header`.
        unsafe { ((payload - HEADER_SIZE) as *mut (u32, u32)).write(header) }
    }

    /// Checks that `pointer` is a live block; returns (payload, size, region).
    fn find_allocated(&self, pointer: NonNull<u8>) -> Result<(usize, usize, usize), HeapError> {
        let address = pointer.as_ptr() as usize;
        let (region, _) = self.regions.locate(address, HEADER_SIZE, HEADER_SIZE)?;
        let (check, size) = self.read_header(address);
        let size = size as usize;
        let top = self.tops[region];
        if check == LIVE_MAGIC ^ address as u32 && address < top && top - address >= size {
            Ok((address, size, region))
        } else if check == FREED_MAGIC ^ address as u32 {
            Err(HeapError::DoubleFree { address })
        } else {
            Err(HeapError::InvalidPointer { address })
        }
    }

    /// Where a block for `layout` would go in region `index`: (payload, new top).
    fn place(&self, index: usize, layout: Layout) -> Option<(usize, usize)> {
        let (_, end) = self.regions.get(index);
        let payload = self.tops[index]
            .checked_add(HEADER_SIZE)?
            .checked_next_multiple_of(layout.align().max(HEADER_SIZE))?;
        let top = payload
            .checked_add(layout.size().max(1))?
            .checked_next_multiple_of(HEADER_SIZE)?;
        (top <= end && layout.size() <= u32::MAX as usize).then_some((payload, top))
    }
}

impl Default for BumpHeap {
    fn default() -> Self {
        Self::new()
    }
}

impl Heap for BumpHeap {
    fn name(&self) -> &'static str {
        "bump"
    }

    unsafe fn add_region(&mut self, start: usize, size: usize) -> Result<(), HeapError> {
        let (index, aligned, end) = self.regions.claim(
            (start, size),
            (HEADER_SIZE, HEADER_SIZE),
            (2 * HEADER_SIZE, usize::MAX),
        )?;
        self.tops[index] = aligned;
        self.counts.total += end - aligned;
        Ok(())
    }

    fn allocate(&mut self, layout: Layout) -> Result<NonNull<u8>, HeapError> {
        check_alignment(layout)?;
        // Try the current region, then move on to later ones for good.
        let (index, (payload, top)) = (self.current..self.regions.len)
            .find_map(|index| Some((index, self.place(index, layout)?)))
            .ok_or(out_of_memory(layout))?;
        self.current = index;
        self.tops[index] = top;
        self.write_header(payload, LIVE_MAGIC, layout.size());
        self.newest = payload;
        self.counts.allocated(0, layout.size());
        self.note_peak();
        Ok(NonNull::new(payload as *mut u8).expect("regions never start at 0"))
    }

    fn deallocate(&mut self, pointer: NonNull<u8>, layout: Layout) -> Result<(), HeapError> {
        let (payload, _, region) = self.find_allocated(pointer)?;
        self.write_header(payload, FREED_MAGIC, layout.size());
        self.counts.freed(0, layout.size());
        if self.counts.allocations == 0 {
            self.reset()?;
        } else if payload == self.newest {
            // The newest block: give its bytes back (down to its header).
            self.tops[region] = payload - HEADER_SIZE;
            self.newest = 0;
        }
        Ok(())
    }

    /// Only the newest block can change size in place.
    fn reallocate(
        &mut self, pointer: NonNull<u8>, layout: Layout, new_size: usize,
    ) -> Result<NonNull<u8>, HeapError> {
        let (payload, size, region) = self.find_allocated(pointer)?;
        let (_, end) = self.regions.get(region);
        if payload == self.newest {
            let top = payload
                .checked_add(new_size.max(1))
                .and_then(|t| t.checked_next_multiple_of(HEADER_SIZE));
            if let Some(top) = top.filter(|&top| top <= end && new_size <= u32::MAX as usize) {
                self.tops[region] = top;
                self.write_header(payload, LIVE_MAGIC, new_size);
                self.counts.resized((0, 0), (size, new_size));
                self.note_peak();
                return Ok(pointer);
            }
        } else if new_size <= size {
            self.write_header(payload, LIVE_MAGIC, new_size);
            self.counts.resized((0, 0), (size, new_size));
            return Ok(pointer);
        }
        reallocate_by_moving(self, pointer, layout, new_size)
    }

    fn usable_size(&self, pointer: NonNull<u8>) -> Result<usize, HeapError> {
        let (payload, size, region) = self.find_allocated(pointer)?;
        // The newest block may use everything up to `top`.
        Ok(if payload == self.newest {
            self.tops[region] - payload
        } else {
            size
        })
    }

    fn stats(&self) -> HeapStats {
        let mut free_blocks = [0; SIZE_CLASSES];
        let mut largest_free = 0;
        for (index, (_, end)) in self.regions.iter().enumerate().skip(self.current) {
            let room = end - self.tops[index];
            if room > 0 {
                free_blocks[size_class(room).min(SIZE_CLASSES - 1)] += 1;
                largest_free = largest_free.max(room);
            }
        }
        let used = self.used();
        let stats = self
            .counts
            .stats(largest_free, free_blocks, self.regions.len);
        HeapStats {
            used,
            free: stats.total - used,
            ..stats
        }
    }
}

impl Inspect for BumpHeap {
    /// Nothing to walk: a bump heap keeps no block list, only its tops.
    fn check_integrity(&self) -> Result<(), HeapError> {
        Ok(())
    }

    /// A bump heap knows only where `top` is: below it is used, above free.
    fn for_each_block(&self, visit: &mut dyn FnMut(BlockInfo)) {
        for (index, (start, end)) in self.regions.iter().enumerate() {
            let top = self.tops[index];
            if top > start {
                visit(BlockInfo {
                    start,
                    size: top - start,
                    header: 0,
                    free: false,
                });
            }
            if end > top {
                visit(BlockInfo {
                    start: top,
                    size: end - top,
                    header: 0,
                    free: true,
                });
            }
        }
    }

    fn owns(&self, address: usize) -> bool {
        self.regions.find(address).is_some()
    }

    fn granule(&self) -> usize {
        HEADER_SIZE
    }
}

/// Records no call sites.
impl Traced for BumpHeap {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heap::model_tests::Arena;

    fn bump_over(arena: &Arena) -> BumpHeap {
        let mut heap = BumpHeap::new();
        // SAFETY: the arena outlives the heap in every test.
        unsafe { heap.add_region(arena.start(), arena.len()) }.unwrap();
        heap
    }

    #[test]
    fn allocations_are_aligned_and_consecutive() {
        let arena = Arena::new(4096);
        let mut heap = bump_over(&arena);
        let a = heap
            .allocate(Layout::from_size_align(3, 1).unwrap())
            .unwrap();
        let b = heap
            .allocate(Layout::from_size_align(8, 64).unwrap())
            .unwrap();
        assert_eq!(a.as_ptr() as usize, arena.start() + HEADER_SIZE);
        assert_eq!(b.as_ptr() as usize % 64, 0);
        assert!(b.as_ptr() as usize > a.as_ptr() as usize);
        assert_eq!(heap.usable_size(a).unwrap(), 3);
        assert!(heap.stats().used >= 64 + 8);
    }

    #[test]
    fn reset_only_when_nothing_is_live_and_last_free_resets() {
        let arena = Arena::new(4096);
        let mut heap = bump_over(&arena);
        let one = Layout::from_size_align(100, 8).unwrap();
        let a = heap.allocate(one).unwrap();
        let b = heap.allocate(one).unwrap();
        assert!(heap.reset().is_err());
        heap.deallocate(a, one).unwrap();
        assert!(
            heap.stats().used > 0,
            "a is not the newest: its bytes stay used"
        );
        let address = a.as_ptr() as usize;
        assert_eq!(
            heap.deallocate(a, one),
            Err(HeapError::DoubleFree { address })
        );
        heap.deallocate(b, one).unwrap();
        assert_eq!(heap.stats().used, 0, "the last free resets the heap");
        let again = heap.allocate(one).unwrap();
        assert_eq!(again, a, "memory is reused from the bottom");
    }

    #[test]
    fn newest_block_grows_in_place_and_full_heap_says_so() {
        let arena = Arena::new(1024);
        let mut heap = bump_over(&arena);
        let one = Layout::from_size_align(16, 8).unwrap();
        let a = heap.allocate(one).unwrap();
        assert_eq!(heap.reallocate(a, one, 500).unwrap(), a);
        assert_eq!(
            heap.allocate(Layout::from_size_align(600, 8).unwrap()),
            Err(HeapError::OutOfMemory {
                size: 600,
                align: 8
            })
        );
        let inside = NonNull::new((a.as_ptr() as usize + 8) as *mut u8).unwrap();
        assert!(matches!(
            heap.deallocate(inside, one),
            Err(HeapError::InvalidPointer { .. })
        ));
    }

    #[test]
    fn a_new_region_takes_over_when_the_first_is_full() {
        let first = Arena::new(64);
        let second = Arena::new(4096);
        let mut heap = bump_over(&first);
        let big = Layout::from_size_align(100, 8).unwrap();
        assert!(heap.allocate(big).is_err());
        // SAFETY: the arena outlives the heap.
        unsafe { heap.add_region(second.start(), second.len()) }.unwrap();
        let p = heap.allocate(big).unwrap();
        assert!((second.start()..second.start() + 4096).contains(&(p.as_ptr() as usize)));
        assert_eq!(heap.stats().regions, 2);
    }
}
