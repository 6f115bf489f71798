//! The buddy heap's unit tests: the given code (the header check, carving
//! a region), and the whole heap at work. The checks that grade labs
//! 2.2–2.4 one at a time are in `lab_tests.rs`.

use super::header::{BlockHeader, FREE, USED};
use super::*;
use crate::heap::model_tests::Arena;
use crate::heap::{Grow, Heap, HeapError};
use core::alloc::Layout;
use core::ptr::NonNull;

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

/// The header check (given code): headers written by hand into a region
/// that was never carved, so no lab's code runs.
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

/// Carving a new region (given code): the largest blocks aligned to their
/// own size, and nothing allocated.
#[test]
fn odd_sized_region_is_carved_into_aligned_powers_of_two() {
    let arena = Arena::new(4096 * 3 + 96);
    let heap = heap_over(&arena);
    let stats = heap.stats();
    assert_eq!(stats.total, 4096 * 3 + 96);
    assert_eq!(stats.free_blocks[13], 1);
    assert_eq!(stats.free_blocks[12], 1);
    assert_eq!(stats.free_blocks[6], 1);
    assert_eq!(stats.free_blocks[5], 1);
    assert_eq!(stats.free_blocks.iter().sum::<u32>(), 4);
    assert_eq!((stats.used, stats.largest_free), (0, 8192));
    heap.check_integrity().unwrap();
}

#[test]
fn blocks_at_the_end_of_a_region_never_merge_past_it() {
    let arena = Arena::new(4096 * 3 + 96);
    let mut heap = heap_over(&arena);
    let stats = heap.stats();
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
