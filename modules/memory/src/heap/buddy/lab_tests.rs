//! The checks that grade labs 2.2, 2.3 and 2.4, each on its own.
//!
//! A lab's check must pass once that lab is done, whatever state the other
//! labs are in. So no check here reaches another lab's code: the state a
//! check starts from is built by hand. [`tiled`] writes the headers of a
//! region tiled by blocks the test chooses, and pushes the free ones on
//! their lists, with the given code only (`write_header`, `push_free`).
//! Then the check calls the one lab it grades: `take_block` through
//! `allocate` (2.2), `free_block` through `deallocate` (2.3), or
//! `resize_in_place` (2.4), and compares the heap with a model: the set of
//! free blocks, as `(offset, order)` pairs.

use super::header::USED;
use super::*;
use crate::heap::model_tests::Arena;
use crate::heap::{Heap, HeapError, Inspect};
use core::alloc::Layout;
use core::ptr::NonNull;
use proptest::prelude::*;
use std::collections::BTreeSet;

/// A block of a hand-built tiling: offset in the region, order, used.
type Block = (usize, u32, bool);

/// A heap whose one region, at the start of `arena`, is tiled by `blocks`
/// (in address order, each aligned to its size, no gaps): used blocks get a
/// USED header, free ones go on their free lists. Returns the heap and the
/// region's index.
fn tiled(arena: &Arena, blocks: &[Block]) -> (BuddyHeap, usize) {
    let mut heap = BuddyHeap::new();
    let start = arena.start();
    let end = blocks
        .last()
        .map_or(0, |&(offset, order, _)| offset + (1 << order));
    assert!(end <= arena.len());
    let region = heap.regions.add(start, start + end).unwrap();
    heap.counts.total += end;
    let mut offset = 0;
    for &(at, order, used) in blocks {
        assert_eq!((at, at % (1 << order)), (offset, 0), "a tiling, in order");
        if used {
            heap.write_header(start + at, order, USED, 0, 0);
            heap.counts.allocated(1 << order, 1);
        } else {
            heap.push_free(start + at, order);
        }
        offset = at + (1 << order);
    }
    heap.check_integrity().unwrap();
    (heap, region)
}

/// The heap's free blocks, as (offset from `start`, order).
fn free_blocks(heap: &BuddyHeap, start: usize) -> BTreeSet<(usize, u32)> {
    let mut free = BTreeSet::new();
    heap.for_each_block(&mut |block| {
        if block.free {
            free.insert((block.start - start, block.size.trailing_zeros()));
        }
    });
    free
}

/// The payload pointer of the used block at `offset`.
fn payload(arena: &Arena, offset: usize) -> NonNull<u8> {
    NonNull::new((arena.start() + offset + HEADER_SIZE) as *mut u8).unwrap()
}

fn one_byte() -> Layout {
    Layout::from_size_align(1, 1).unwrap()
}

/// A random tiling of `1 << top` bytes: `splits` says, block by block,
/// whether to split it (while it is above the smallest order), and `used`
/// whether a leaf is used. Two free leaves that are buddies would have
/// merged, so the second of such a pair is made used.
fn random_tiling(top: u32, splits: &[bool], used: &[bool]) -> Vec<Block> {
    let mut pending = vec![(0usize, top)];
    let mut leaves = Vec::new();
    let mut coin = splits.iter().cycle();
    while let Some((offset, order)) = pending.pop() {
        if order > MIN_ORDER && *coin.next().unwrap() {
            // Upper half pushed first, so the lower one is handled next.
            pending.push((offset + (1 << (order - 1)), order - 1));
            pending.push((offset, order - 1));
        } else {
            leaves.push((offset, order));
        }
    }
    let mut blocks: Vec<Block> = Vec::new();
    for (index, &(offset, order)) in leaves.iter().enumerate() {
        let mut is_used = used[index % used.len()];
        let lower_buddy = offset.checked_sub(1 << order);
        if let (Some(lower), Some(&(previous, previous_order, false))) =
            (lower_buddy, blocks.last())
        {
            if offset & (1 << order) != 0 && previous == lower && previous_order == order {
                is_used = true;
            }
        }
        blocks.push((offset, order, is_used));
    }
    blocks
}

/// The model of a free: merge with the free buddy for as long as there is
/// one inside `[0, len)`, then add the result.
fn model_free(free: &mut BTreeSet<(usize, u32)>, len: usize, offset: usize, order: u32) {
    let (mut offset, mut order) = (offset, order);
    loop {
        let buddy = offset ^ (1 << order);
        if buddy + (1 << order) > len || !free.remove(&(buddy, order)) {
            break;
        }
        offset = offset.min(buddy);
        order += 1;
    }
    free.insert((offset, order));
}

// ---- lab 2.2: taking a block, splitting a larger one ----

#[test]
fn allocation_takes_the_smallest_free_block_and_splits_it() {
    let arena = Arena::new(8192);
    // Free blocks of order 9 at 512 and order 12 at 4096: a 100-byte
    // request (order 7) must split the order-9 block, not the larger one.
    let blocks = [
        (0, 9, true),
        (512, 9, false),
        (1024, 10, true),
        (2048, 11, true),
        (4096, 12, false),
    ];
    let (mut heap, _) = tiled(&arena, &blocks);
    let layout = Layout::from_size_align(100, 1).unwrap();
    let pointer = heap.allocate(layout).unwrap();
    assert_eq!(pointer, payload(&arena, 512));
    assert_eq!(heap.order_of(pointer), Ok(7));
    let expected = BTreeSet::from([(640, 7), (768, 8), (4096, 12)]);
    assert_eq!(free_blocks(&heap, arena.start()), expected);
    // A request no free block can hold changes nothing.
    let huge = Layout::from_size_align(5000, 1).unwrap();
    assert!(matches!(
        heap.allocate(huge),
        Err(HeapError::OutOfMemory { .. })
    ));
    assert_eq!(free_blocks(&heap, arena.start()), expected);
    heap.check_integrity().unwrap();
}

proptest! {
    /// Allocations of random sizes and alignments from a random tiling,
    /// until the heap is full, against the model: the block taken was the
    /// start of a free block of the smallest non-empty order that fits, and
    /// its upper halves are now free, one of each order below.
    #[test]
    fn allocation_matches_the_model(
        top in 10u32..15,
        splits in prop::collection::vec(any::<bool>(), 1..64),
        used in prop::collection::vec(any::<bool>(), 1..64),
        requests in prop::collection::vec((1usize..3000, 0u32..8), 1..60),
    ) {
        let arena = Arena::new(1 << top);
        let blocks = random_tiling(top, &splits, &used);
        let (mut heap, _) = tiled(&arena, &blocks);
        let start = arena.start();
        let mut free = free_blocks(&heap, start);
        for (size, align) in requests {
            let layout = Layout::from_size_align(size, 1 << align).unwrap();
            let order = BuddyHeap::order_for_layout(layout).unwrap();
            let smallest = free.iter().filter(|&&(_, o)| o >= order).map(|&(_, o)| o).min();
            let result = heap.allocate(layout);
            let Some(found) = smallest else {
                prop_assert!(result.is_err(), "nothing free fits order {}", order);
                prop_assert_eq!(&free_blocks(&heap, start), &free);
                continue;
            };
            let pointer = result.unwrap();
            prop_assert_eq!(pointer.as_ptr() as usize % layout.align(), 0);
            prop_assert_eq!(heap.order_of(pointer), Ok(order));
            let block = pointer.as_ptr() as usize - layout.align().max(HEADER_SIZE) - start;
            prop_assert!(free.remove(&(block, found)), "not the start of a free block of order {}", found);
            for half in order..found {
                free.insert((block + (1 << half), half));
            }
            prop_assert_eq!(&free_blocks(&heap, start), &free);
        }
        heap.check_integrity().unwrap();
    }
}

// ---- lab 2.3: freeing, checking the buddy, merging ----

#[test]
fn freeing_merges_with_free_buddies_up_the_orders() {
    let arena = Arena::new(4096);
    // | A 32 used | B 32 used | C 64 free | D 128 used | E 256 free | ...
    let blocks = [
        (0, 5, true),
        (32, 5, true),
        (64, 6, false),
        (128, 7, true),
        (256, 8, false),
        (512, 9, false),
        (1024, 10, false),
        (2048, 11, false),
    ];
    let (mut heap, _) = tiled(&arena, &blocks);
    // A's buddy B is used: A stays an order-5 block.
    heap.deallocate(payload(&arena, 0), one_byte()).unwrap();
    assert!(free_blocks(&heap, arena.start()).contains(&(0, 5)));
    // B merges with A, then with C; D is used, so it stops at order 7.
    heap.deallocate(payload(&arena, 32), one_byte()).unwrap();
    let free = free_blocks(&heap, arena.start());
    assert_eq!(
        free,
        BTreeSet::from([(0, 7), (256, 8), (512, 9), (1024, 10), (2048, 11)])
    );
    // D merges all the way up: the region is one block again.
    heap.deallocate(payload(&arena, 128), one_byte()).unwrap();
    assert_eq!(free_blocks(&heap, arena.start()), BTreeSet::from([(0, 12)]));
    assert_eq!(heap.stats().used, 0);
    heap.check_integrity().unwrap();
}

#[test]
fn a_double_free_after_merging_is_still_caught() {
    let arena = Arena::new(64);
    let (mut heap, _) = tiled(&arena, &[(0, 5, true), (32, 5, true)]);
    heap.deallocate(payload(&arena, 0), one_byte()).unwrap();
    heap.deallocate(payload(&arena, 32), one_byte()).unwrap();
    // The upper block's header was kept, marked MERGED.
    let address = payload(&arena, 32).as_ptr() as usize;
    assert_eq!(
        heap.deallocate(payload(&arena, 32), one_byte()),
        Err(HeapError::DoubleFree { address })
    );
    assert_eq!(free_blocks(&heap, arena.start()), BTreeSet::from([(0, 6)]));
    heap.check_integrity().unwrap();
}

#[test]
fn an_overwritten_buddy_header_is_reported_and_nothing_changes() {
    let arena = Arena::new(256);
    let blocks = [
        (0, 5, true),
        (32, 5, false),
        (64, 6, false),
        (128, 7, false),
    ];
    let (mut heap, _) = tiled(&arena, &blocks);
    // An overflow trampled the header of 64's block (the second buddy up).
    // SAFETY: the arena is ours; this simulates a buggy caller.
    unsafe { ((arena.start() + 64) as *mut u8).write_bytes(0xAA, 8) };
    let before = heap.stats();
    assert_eq!(
        heap.deallocate(payload(&arena, 0), one_byte()),
        Err(HeapError::CorruptHeader {
            address: arena.start() + 64
        })
    );
    assert_eq!(heap.stats(), before, "nothing changed");
    assert_eq!(
        heap.free_counts[5], 1,
        "the free buddy at 32 is still listed"
    );
}

proptest! {
    /// Every block of a random tiling used, then freed in a random order,
    /// against the model; a second free of each is a double free that
    /// changes nothing. At the end the region is one free block again.
    #[test]
    fn freeing_matches_the_model(
        top in 6u32..14,
        splits in prop::collection::vec(any::<bool>(), 1..64),
        order_seed in prop::collection::vec(any::<usize>(), 1..64),
    ) {
        let arena = Arena::new(1 << top);
        let blocks: Vec<Block> = random_tiling(top, &splits, &[true])
            .into_iter()
            .map(|(offset, order, _)| (offset, order, true))
            .collect();
        let (mut heap, _) = tiled(&arena, &blocks);
        let mut left: Vec<(usize, u32)> = blocks.iter().map(|&(o, k, _)| (o, k)).collect();
        let mut free = BTreeSet::new();
        let mut seeds = order_seed.iter().cycle();
        while !left.is_empty() {
            let (offset, order) = left.swap_remove(seeds.next().unwrap() % left.len());
            heap.deallocate(payload(&arena, offset), one_byte()).unwrap();
            model_free(&mut free, 1 << top, offset, order);
            prop_assert_eq!(&free_blocks(&heap, arena.start()), &free);
            let again = heap.deallocate(payload(&arena, offset), one_byte());
            prop_assert!(matches!(again, Err(HeapError::DoubleFree { .. })), "{:?}", again);
            prop_assert_eq!(&free_blocks(&heap, arena.start()), &free);
        }
        prop_assert_eq!(free, BTreeSet::from([(0, top)]));
        heap.check_integrity().unwrap();
    }
}

// ---- lab 2.4: resizing in place ----

#[test]
fn resizing_shrinks_in_place_and_grows_into_free_upper_buddies() {
    let arena = Arena::new(1024);
    let blocks = [(0, 8, true), (256, 8, false), (512, 9, false)];
    let (mut heap, region) = tiled(&arena, &blocks);
    let start = arena.start();
    // Shrink 256 -> 64: the halves 64 and 128 go back on their lists.
    assert_eq!(heap.resize_in_place(start, region, 8, 6), Ok(true));
    let expected = BTreeSet::from([(64, 6), (128, 7), (256, 8), (512, 9)]);
    assert_eq!(free_blocks(&heap, start), expected);
    // Grow 64 -> 1024: every upper buddy is free.
    assert_eq!(heap.resize_in_place(start, region, 6, 10), Ok(true));
    assert!(free_blocks(&heap, start).is_empty());
    assert_eq!(heap.order_of(payload(&arena, 0)), Ok(10));
    heap.check_integrity().unwrap();
}

#[test]
fn resizing_refuses_when_a_buddy_is_used_or_below_and_changes_nothing() {
    let arena = Arena::new(1024);
    // The block at 256: its order-8 buddy (0) is below it, and at order 9
    // its buddy (512) is used.
    let blocks = [(0, 8, false), (256, 8, true), (512, 9, true)];
    let (mut heap, region) = tiled(&arena, &blocks);
    let start = arena.start();
    let before = free_blocks(&heap, start);
    assert_eq!(heap.resize_in_place(start + 256, region, 8, 9), Ok(false));
    assert_eq!(heap.resize_in_place(start + 512, region, 9, 10), Ok(false));
    assert_eq!(free_blocks(&heap, start), before);
    // A corrupt upper buddy is reported, not merged.
    let arena = Arena::new(128);
    let (mut heap, region) = tiled(&arena, &[(0, 6, true), (64, 6, false)]);
    // SAFETY: the arena is ours; this simulates an overflow.
    unsafe { ((arena.start() + 64) as *mut u8).write_bytes(0x55, 4) };
    assert_eq!(
        heap.resize_in_place(arena.start(), region, 6, 7),
        Err(HeapError::CorruptHeader {
            address: arena.start() + 64
        })
    );
    assert_eq!(heap.order_of(payload(&arena, 0)), Ok(6));
}

proptest! {
    /// A random used block of a random tiling resized to random orders
    /// against the model: shrinking always works and frees the upper
    /// halves; growing works exactly when every upper buddy on the way is
    /// a free block of its order, and absorbs them.
    #[test]
    fn resizing_in_place_matches_the_model(
        top in 6u32..14,
        splits in prop::collection::vec(any::<bool>(), 1..64),
        used in prop::collection::vec(any::<bool>(), 1..64),
        pick in any::<usize>(),
        wanted in prop::collection::vec(5u32..14, 1..12),
    ) {
        let arena = Arena::new(1 << top);
        let mut blocks = random_tiling(top, &splits, &used);
        let index = pick % blocks.len();
        blocks[index].2 = true;
        let (mut heap, region) = tiled(&arena, &blocks);
        let start = arena.start();
        let (offset, mut order, _) = blocks[index];
        let mut free = free_blocks(&heap, start);
        for wanted in wanted.into_iter().filter(|&w| w >= MIN_ORDER && w <= top) {
            let grows = (order..wanted).all(|step| {
                offset & (1 << step) == 0 && free.contains(&(offset + (1 << step), step))
            });
            let expected = wanted <= order || grows;
            let result = heap.resize_in_place(start + offset, region, order, wanted);
            prop_assert_eq!(result, Ok(expected), "{} -> {}", order, wanted);
            if expected {
                for step in order..wanted {
                    free.remove(&(offset + (1 << step), step));
                }
                for step in wanted..order {
                    free.insert((offset + (1 << step), step));
                }
                order = wanted;
            }
            prop_assert_eq!(&free_blocks(&heap, start), &free);
            prop_assert_eq!(heap.order_of(payload(&arena, offset)), Ok(order));
        }
        heap.check_integrity().unwrap();
    }
}
