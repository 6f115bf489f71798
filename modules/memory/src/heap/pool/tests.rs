//! The pool's unit tests.

use super::chunk::HEADER_SIZE;
use super::*;
use crate::heap::model_tests::Arena;
use crate::heap::{Heap, HeapError, Inspect};
use core::alloc::Layout;
use core::ptr::NonNull;

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
