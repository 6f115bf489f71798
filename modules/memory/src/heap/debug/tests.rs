//! Each detector, made to catch the bug it exists for. The kernel repeats
//! these on the booted machine (this chapter's `debug_tests.rs`).

use super::debug_heap::PAGE;
use super::*;
use crate::heap::model_tests::Arena;
use crate::heap::{BuddyHeap, SlabHeap};
use crate::heap::{CallSite, Heap, HeapError, Inspect, Traced};
use alloc::format;
use alloc::vec::Vec;
use core::alloc::Layout;
use core::ptr::NonNull;

type Stack = DebugHeap<SlabHeap<BuddyHeap>>;

fn heap(mode: DebugMode) -> (Arena, Stack) {
    let arena = Arena::new(1 << 20);
    let mut heap = DebugHeap::new(SlabHeap::new(BuddyHeap::new(), true), mode);
    // SAFETY: the arena is returned with the heap and outlives it.
    unsafe { heap.add_region(arena.start(), arena.len()) }.unwrap();
    (arena, heap)
}

fn layout(size: usize) -> Layout {
    Layout::from_size_align(size, 8).unwrap()
}

#[track_caller]
fn here() -> CallSite {
    CallSite::caller()
}

fn write(pointer: NonNull<u8>, offset: usize, byte: u8) {
    // SAFETY: the tests write inside the block or its red zone, or into a
    // block in quarantine: memory the heap holds, on purpose.
    unsafe { pointer.as_ptr().add(offset).write_volatile(byte) }
}

#[test]
fn a_write_after_free_is_caught_when_the_block_leaves_quarantine() {
    let (_arena, mut heap) = heap(DebugMode::Poison);
    let (allocated_at, freed_at) = (here(), here());
    let block = heap.allocate_at(layout(24), allocated_at).unwrap();
    heap.deallocate_at(block, layout(24), freed_at).unwrap();
    write(block, 8, 0x42);
    assert_eq!(
        heap.bugs_found().0,
        0,
        "not seen yet: the block is in quarantine"
    );
    heap.flush_quarantine();
    let bug = heap.bugs_found().1.expect("the write was caught");
    let address = block.as_ptr() as usize;
    assert_eq!(
        bug,
        HeapBug::WriteAfterFree {
            block: address,
            size: 24,
            offset: 8,
            allocated_at,
            freed_at
        }
    );
    assert_eq!(
        format!("{bug}"),
        format!(
            "write after free: block {address:#010x} (24 bytes, allocated at {allocated_at}, \
             freed at {freed_at}) was written at offset 8 after it was freed"
        )
    );
    heap.check_integrity().unwrap();
}

#[test]
fn heapcheck_finds_a_write_after_free_in_quarantine() {
    let (_arena, mut heap) = heap(DebugMode::Full);
    let block = heap.allocate(layout(100)).unwrap();
    heap.deallocate(block, layout(100)).unwrap();
    write(block, 99, 0);
    let summary = heap.check_all().unwrap();
    assert_eq!((summary.quarantined, summary.bugs), (1, 1));
    assert!(matches!(
        heap.bugs_found().1,
        Some(HeapBug::WriteAfterFree { offset: 99, .. })
    ));
    assert_eq!(heap.check_all().unwrap().bugs, 0, "reported once");
}

#[test]
fn an_overrun_by_one_byte_is_caught_on_free() {
    let (_arena, mut heap) = heap(DebugMode::Full);
    let allocated_at = here();
    let block = heap.allocate_at(layout(24), allocated_at).unwrap();
    write(block, 24, 0);
    heap.deallocate(block, layout(24)).unwrap();
    let bug = heap.bugs_found().1.expect("the overrun was caught");
    let address = block.as_ptr() as usize;
    assert_eq!(
        format!("{bug}"),
        format!(
            "overrun: block {address:#010x} (24 bytes, allocated at {allocated_at}) \
             was written 1 byte past its end"
        )
    );
}

#[test]
fn heapcheck_tells_how_far_an_overrun_ran() {
    let (_arena, mut heap) = heap(DebugMode::Full);
    let block = heap.allocate(layout(40)).unwrap();
    write(block, 40 + 5, 1);
    assert_eq!(heap.check_all().unwrap().bugs, 1);
    assert!(matches!(
        heap.bugs_found().1,
        Some(HeapBug::Overrun {
            by: 6,
            size: 40,
            ..
        })
    ));
    // Poison mode has no red zones: the same write goes unseen (and lands
    // in the slack of the block beneath, harming no one).
    let (_arena, mut plain) = self::heap(DebugMode::Poison);
    let block = plain.allocate(layout(40)).unwrap();
    write(block, 40, 1);
    assert_eq!(plain.check_all().unwrap().bugs, 0);
}

#[test]
fn a_double_free_names_both_frees() {
    let (_arena, mut heap) = heap(DebugMode::Poison);
    let (allocated_at, freed_at, again_at) = (here(), here(), here());
    let block = heap.allocate_at(layout(48), allocated_at).unwrap();
    heap.deallocate_at(block, layout(48), freed_at).unwrap();
    let stats = heap.stats();
    assert_eq!(
        heap.deallocate_at(block, layout(48), again_at),
        Err(HeapError::DoubleFree {
            address: block.as_ptr() as usize
        })
    );
    assert_eq!(heap.stats(), stats, "the second free changed nothing");
    let address = block.as_ptr() as usize;
    assert_eq!(
        format!("{}", heap.bugs_found().1.unwrap()),
        format!(
            "double free: block {address:#010x} (48 bytes, allocated at {allocated_at}) \
             was freed at {freed_at} and again at {again_at}"
        )
    );
}

#[test]
fn leaks_are_grouped_by_site_and_mark_since_shows_the_new_ones() {
    let (_arena, mut heap) = heap(DebugMode::Poison);
    let (site_a, site_b) = (here(), here());
    let a: Vec<_> = (0..3)
        .map(|_| heap.allocate_at(layout(10), site_a).unwrap())
        .collect();
    heap.allocate_at(layout(300), site_b).unwrap();
    heap.deallocate(a[0], layout(10)).unwrap();
    let mut report = LeakReport::<8>::default();
    heap.for_each_live(0, &mut |block| report.add(block));
    let groups = report.groups();
    assert_eq!(groups.len(), 2);
    assert_eq!(
        (groups[0].site, groups[0].blocks, groups[0].bytes),
        (site_b, 1, 300)
    );
    assert_eq!(
        (groups[1].site, groups[1].blocks, groups[1].bytes),
        (site_a, 2, 20)
    );

    let mark = heap.next_serial();
    let site_c = here();
    let leaked = heap.allocate_at(layout(7), site_c).unwrap();
    let freed = heap.allocate_at(layout(7), site_c).unwrap();
    heap.deallocate(freed, layout(7)).unwrap();
    let mut since = Vec::new();
    heap.for_each_live(mark, &mut |block| since.push(*block));
    assert_eq!(since.len(), 1);
    assert_eq!(
        (since[0].block, since[0].size, since[0].allocated_at),
        (leaked.as_ptr() as usize, 7, site_c)
    );
}

#[test]
fn off_costs_no_bytes_and_reuses_at_once() {
    let (_arena, mut off) = heap(DebugMode::Off);
    let (_arena2, mut bare) = {
        let arena = Arena::new(1 << 20);
        let mut heap = SlabHeap::new(BuddyHeap::new(), true);
        // SAFETY: the arena outlives the heap.
        unsafe { heap.add_region(arena.start(), arena.len()) }.unwrap();
        (arena, heap)
    };
    let a = off.allocate(layout(24)).unwrap();
    let b = bare.allocate(layout(24)).unwrap();
    assert_eq!(off.stats().used, bare.stats().used);
    assert_eq!(
        a.as_ptr() as usize - _arena.start(),
        b.as_ptr() as usize - _arena2.start()
    );
    off.deallocate(a, layout(24)).unwrap();
    assert_eq!(
        off.allocate(layout(24)).unwrap(),
        a,
        "no quarantine when off"
    );
    // With poisoning, the freed block waits; the next one goes elsewhere.
    let (_arena3, mut on) = heap(DebugMode::Poison);
    let c = on.allocate(layout(24)).unwrap();
    on.deallocate(c, layout(24)).unwrap();
    assert_ne!(on.allocate(layout(24)).unwrap(), c);
}

#[test]
fn fresh_data_is_poisoned_and_the_quarantine_is_bounded() {
    let (_arena, mut heap) = heap(DebugMode::Poison);
    let block = heap.allocate(layout(32)).unwrap();
    // SAFETY: a live 32-byte block.
    let bytes = unsafe { core::slice::from_raw_parts(block.as_ptr(), 32) };
    assert!(bytes.iter().all(|&b| b == FRESH_BYTE));
    heap.deallocate(block, layout(32)).unwrap();
    for _ in 0..2 * QUARANTINE_BLOCKS {
        let block = heap.allocate(layout(8)).unwrap();
        heap.deallocate(block, layout(8)).unwrap();
    }
    let summary = heap.check_all().unwrap();
    assert_eq!(summary.quarantined, QUARANTINE_BLOCKS);
    assert_eq!((summary.live_blocks, summary.bugs), (0, 0));
    heap.flush_quarantine();
    heap.beneath_mut().release_empty_slabs();
    assert_eq!(heap.stats().used, 0);
}

#[test]
fn interior_and_foreign_pointers_are_refused() {
    let (_arena, mut heap) = heap(DebugMode::Full);
    let block = heap.allocate(layout(256)).unwrap();
    let inside = NonNull::new(block.as_ptr().wrapping_add(64)).unwrap();
    assert!(matches!(
        heap.deallocate(inside, layout(256)),
        Err(HeapError::InvalidPointer { .. })
    ));
    let mut local = [0u8; 128];
    let foreign = NonNull::new(local.as_mut_ptr().wrapping_add(64)).unwrap();
    assert!(matches!(
        heap.deallocate(foreign, layout(8)),
        Err(HeapError::ForeignPointer { .. })
    ));
    assert_eq!(heap.usable_size(block), Ok(256));
    assert_eq!(heap.bugs_found().0, 0);
}

/// Guard pages on the host: a page from an array, the "unmapped" page
/// after it simply not handed out.
mod guard_pages {
    use super::*;
    use std::sync::Mutex;

    struct FakeGuardPages {
        pages: Mutex<(Vec<usize>, Option<GuardedBlock>, bool)>,
        base: usize,
    }

    impl GuardPages for FakeGuardPages {
        fn allocate_page(&self) -> Option<usize> {
            self.pages.lock().unwrap().0.pop()
        }
        fn describe_page(&self, _page: usize, block: GuardedBlock) {
            self.pages.lock().unwrap().1 = Some(block);
        }
        fn block_at(&self, address: usize) -> Option<GuardedBlock> {
            let inside = (self.base..self.base + 2 * PAGE).contains(&address);
            inside.then(|| self.pages.lock().unwrap().1).flatten()
        }
        fn free_page(&self, page: usize) {
            let mut pages = self.pages.lock().unwrap();
            pages.0.push(page);
            pages.2 = true;
        }
    }

    #[test]
    fn a_sampled_block_ends_at_its_page_end_and_double_frees_are_named() {
        let (_arena, mut heap) = heap(DebugMode::Full);
        let memory = Arena::new(2 * PAGE);
        let provider: &'static FakeGuardPages = Box::leak(Box::new(FakeGuardPages {
            pages: Mutex::new((alloc::vec![memory.start()], None, false)),
            base: memory.start(),
        }));
        heap.set_guard_pages(provider, 0);
        heap.guard_next_allocation();
        let site = here();
        let block = heap.allocate_at(layout(24), site).unwrap();
        let address = block.as_ptr() as usize;
        assert_eq!(
            address + 24,
            memory.start() + PAGE,
            "flush against the guard page"
        );
        let described = provider.block_at(address).unwrap();
        assert_eq!(
            (described.block, described.size, described.allocated_at),
            (address, 24, site)
        );
        assert!(heap.owns(address) && heap.usable_size(block) == Ok(24));
        heap.deallocate(block, layout(24)).unwrap();
        assert!(provider.pages.lock().unwrap().2, "the page was given back");
        assert_eq!(
            heap.deallocate(block, layout(24)),
            Err(HeapError::DoubleFree { address })
        );
        assert!(matches!(
            heap.bugs_found().1,
            Some(HeapBug::DoubleFree { size: 24, .. })
        ));
        // An unsampled allocation goes to the heap beneath as usual.
        let plain = heap.allocate(layout(24)).unwrap();
        assert!(!(memory.start()..memory.start() + 2 * PAGE).contains(&(plain.as_ptr() as usize)));
        drop(memory);
    }
}

/// Running out reports the caller's request, not the bigger block the
/// debugger asked for (header and red zone around it).
#[test]
fn out_of_memory_names_the_callers_request() {
    let (_arena, mut heap) = heap(DebugMode::Full);
    let huge = Layout::from_size_align(1 << 20, 8).unwrap();
    assert_eq!(
        heap.allocate(huge),
        Err(HeapError::OutOfMemory {
            size: 1 << 20,
            align: 8
        })
    );
}
