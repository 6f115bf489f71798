//! The slab front end's unit tests.

use super::*;
use crate::heap::model_tests::Arena;
use crate::heap::{BuddyHeap, PoolHeap};
use crate::heap::{Heap, HeapError, HeapStats};
use core::ptr::NonNull;

fn slab_heap<H: Inspect + Default>(bytes: usize) -> (Arena, SlabHeap<H>) {
    let arena = Arena::new(bytes);
    let mut heap = SlabHeap::new(H::default(), true);
    // SAFETY: the arena outlives the heap in every test (returned first).
    unsafe { heap.add_region(arena.start(), arena.len()) }.unwrap();
    (arena, heap)
}

fn layout(size: usize, align: usize) -> Layout {
    Layout::from_size_align(size, align).unwrap()
}

#[test]
fn classes_round_up_and_respect_alignment() {
    let heap = SlabHeap::new(BuddyHeap::new(), true);
    let size_of_class = |l| heap.class_for(l).map(|class| CLASS_SIZES[class]);
    assert_eq!(size_of_class(layout(1, 1)), Some(8));
    assert_eq!(size_of_class(layout(17, 8)), Some(24));
    assert_eq!(
        size_of_class(layout(17, 16)),
        Some(32),
        "24-byte objects are only 8-aligned"
    );
    assert_eq!(size_of_class(layout(100, 64)), Some(128));
    assert_eq!(size_of_class(layout(1024, 8)), Some(1024));
    assert_eq!(size_of_class(layout(1025, 8)), None);
    assert_eq!(size_of_class(layout(8, 2048)), None);
    let off = SlabHeap::new(BuddyHeap::new(), false);
    assert_eq!(off.class_for(layout(8, 8)), None);
}

#[test]
fn objects_share_a_page_and_empty_slabs_go_back() {
    let (_arena, mut heap) = slab_heap::<BuddyHeap>(64 * 1024);
    let fresh = heap.beneath().stats();
    let l = layout(24, 8);
    let a = heap.allocate(l).unwrap();
    let b = heap.allocate(l).unwrap();
    let (a_addr, b_addr) = (a.as_ptr() as usize, b.as_ptr() as usize);
    assert_eq!(a_addr & !4095, b_addr & !4095, "one page holds both");
    assert_eq!(a_addr - b_addr, 24);
    assert_eq!(heap.stats().allocations, 2);
    assert_eq!(heap.stats().requested, 48);
    assert_eq!(heap.beneath().stats().allocations, 1, "one slab beneath");
    assert_eq!(heap.usable_size(a), Ok(24));
    heap.deallocate(a, l).unwrap();
    assert_eq!(
        heap.deallocate(a, l),
        Err(HeapError::DoubleFree { address: a_addr })
    );
    heap.deallocate(b, l).unwrap();
    assert_eq!(heap.release_empty_slabs(), EMPTY_SLABS_KEPT);
    let peak_used = fresh.peak_used.max(4096);
    assert_eq!(heap.beneath().stats(), HeapStats { peak_used, ..fresh });
    heap.check_integrity().unwrap();
}

/// The second free of a slab's last object comes after the slab went
/// back to the heap beneath; it is still called a double free.
#[test]
fn freeing_a_released_slabs_last_object_again_is_a_double_free() {
    fn check<H: Inspect + Default>() {
        let (_arena, mut heap) = slab_heap::<H>(64 * 1024);
        let l = layout(40, 8);
        let only = heap.allocate(l).unwrap();
        let address = only.as_ptr() as usize;
        heap.deallocate(only, l).unwrap();
        assert_eq!(heap.beneath().stats().allocations, 0, "the slab went back");
        let before = heap.stats();
        assert_eq!(
            heap.deallocate(only, l),
            Err(HeapError::DoubleFree { address })
        );
        assert_eq!(heap.stats(), before);
        heap.check_integrity().unwrap();
        // A pointer into a block that is in use is not a double free.
        let big = heap.allocate(layout(4000, 8)).unwrap();
        let inside = NonNull::new(big.as_ptr().wrapping_add(512)).unwrap();
        assert!(matches!(
            heap.deallocate(inside, l),
            Err(HeapError::InvalidPointer { .. })
        ));
    }
    check::<BuddyHeap>();
    check::<PoolHeap>();
}

/// Running out reports the caller's request, not the page the slab
/// asked the heap beneath for.
#[test]
fn out_of_memory_names_the_callers_request() {
    let (_arena, mut heap) = slab_heap::<BuddyHeap>(4096);
    let big = heap.allocate(layout(2000, 8)).unwrap();
    assert_eq!(
        heap.allocate(layout(100, 4)),
        Err(HeapError::OutOfMemory {
            size: 100,
            align: 4
        })
    );
    heap.deallocate(big, layout(2000, 8)).unwrap();
}

#[test]
fn full_slabs_move_back_and_forth_and_all_go_back() {
    let (_arena, mut heap) = slab_heap::<BuddyHeap>(256 * 1024);
    let l = layout(1024, 8);
    let per_slab = heap_capacity(&heap, 1024);
    let blocks: Vec<_> = (0..2 * per_slab + 1)
        .map(|_| heap.allocate(l).unwrap())
        .collect();
    assert_eq!(heap.beneath().stats().allocations, 3);
    heap.check_integrity().unwrap();
    for block in blocks.iter().step_by(2) {
        heap.deallocate(*block, l).unwrap();
    }
    heap.check_integrity().unwrap();
    for block in blocks.iter().skip(1).step_by(2) {
        heap.deallocate(*block, l).unwrap();
    }
    let slabs_made = heap.beneath().stats().allocations.max(3);
    let kept = [EMPTY_SLABS_KEPT, slabs_made].into_iter().min();
    assert_eq!(Some(heap.beneath().stats().allocations), kept);
    heap.check_integrity().unwrap();
}

fn heap_capacity<H: Inspect>(heap: &SlabHeap<H>, size: usize) -> usize {
    heap.classes()
        .find(|c| c.object_size == size)
        .unwrap()
        .capacity
}

#[test]
fn interior_and_foreign_pointers_are_refused() {
    let (_arena, mut heap) = slab_heap::<BuddyHeap>(64 * 1024);
    let l = layout(64, 8);
    let a = heap.allocate(l).unwrap();
    let inside = NonNull::new(a.as_ptr().wrapping_add(8)).unwrap();
    assert!(heap.deallocate(inside, l).is_err());
    let mut local = 0u64;
    let foreign = NonNull::from(&mut local).cast::<u8>();
    assert!(matches!(
        heap.deallocate(foreign, l),
        Err(HeapError::ForeignPointer { .. })
    ));
    heap.deallocate(a, l).unwrap();
    heap.check_integrity().unwrap();
}

#[test]
fn works_over_the_pool_too() {
    let (_arena, mut heap) = slab_heap::<PoolHeap>(64 * 1024);
    let l = layout(40, 8);
    let blocks: Vec<_> = (0..200).map(|_| heap.allocate(l).unwrap()).collect();
    assert!(heap.is_enabled());
    assert!(heap.beneath().stats().allocations < 5);
    for block in blocks {
        heap.deallocate(block, l).unwrap();
    }
    heap.check_integrity().unwrap();
}

#[test]
fn reallocation_stays_in_class_or_moves_with_contents() {
    let (_arena, mut heap) = slab_heap::<BuddyHeap>(64 * 1024);
    let a = heap.allocate(layout(20, 4)).unwrap();
    // SAFETY: a is 24 bytes long.
    unsafe { a.as_ptr().write_bytes(0xAB, 20) };
    assert_eq!(heap.reallocate(a, layout(20, 4), 24), Ok(a));
    let b = heap.reallocate(a, layout(24, 4), 3000).unwrap();
    assert_ne!(a, b);
    // SAFETY: b is 3000 bytes long.
    assert!(unsafe { core::slice::from_raw_parts(b.as_ptr(), 20) }
        .iter()
        .all(|&x| x == 0xAB));
    // A buddy block shrinks in place rather than moving into a slab.
    let c = heap.reallocate(b, layout(3000, 4), 10).unwrap();
    assert_eq!(c, b);
    heap.deallocate(c, layout(10, 4)).unwrap();
    // A slab object that shrinks to a smaller class moves there.
    let d = heap.allocate(layout(100, 4)).unwrap();
    assert_eq!(heap.reallocate(d, layout(100, 4), 97), Ok(d));
    let e = heap.reallocate(d, layout(97, 4), 20).unwrap();
    assert_ne!(e, d);
    assert_eq!(heap.usable_size(e), Ok(24));
    heap.deallocate(e, layout(20, 4)).unwrap();
    assert_eq!(heap.stats().allocations, 0);
    heap.check_integrity().unwrap();
}
