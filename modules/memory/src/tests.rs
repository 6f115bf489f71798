//! Chapter 2's in-kernel tests of the heap (the frame allocator's are in
//! `frame_tests.rs`, the heap debugger's in `debug_tests.rs`): on the real
//! (emulated) machine, at 16 MiB, 128 MiB and 1 GiB of RAM, under the buddy
//! heap and again under the pool, first fit (`heap=pool`) and best fit
//! (`heap=pool,pool=best`; see `ktest.conf`).

use crate::frames::{Owner, FRAME_SIZE};
use crate::heap::{Fit, Heap, HeapKind, Inspect};
use crate::kernel_heap::{summary_line, HEAP};
use crate::setup::frames;
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::alloc::{GlobalAlloc, Layout};
use core::ptr::NonNull;
use kernel::interrupts;
use kernel::ktest::KernelTest;
use kernel::shell::{self, Outcome};

/// Chapter 2's heap and shell tests.
pub const TESTS: &[KernelTest] = &[
    KernelTest::new(
        "heap::kind_follows_the_command_line",
        kind_follows_the_command_line,
    ),
    KernelTest::new(
        "heap::fit_follows_the_command_line",
        fit_follows_the_command_line,
    ),
    KernelTest::new("heap::a_single_box", a_single_box),
    KernelTest::new("heap::vec_of_1000_pushes", vec_of_1000_pushes),
    KernelTest::new("heap::freed_memory_is_reused", freed_memory_is_reused),
    KernelTest::new(
        "heap::long_lived_box_survives_churn",
        long_lived_box_survives_churn,
    ),
    KernelTest::new(
        "heap::btree_map_of_10000_entries",
        btree_map_of_10000_entries,
    ),
    KernelTest::new("heap::alignment_up_to_a_page", alignment_up_to_a_page),
    KernelTest::new(
        "heap::growing_vec_keeps_its_contents",
        growing_vec_keeps_its_contents,
    ),
    KernelTest::new("heap::double_free_is_refused", double_free_is_refused),
    KernelTest::new(
        "heap::foreign_pointer_is_refused",
        foreign_pointer_is_refused,
    ),
    KernelTest::new("heap::lock_keeps_interrupts_off", lock_keeps_interrupts_off),
    KernelTest::new("shell::memory_commands_answer", memory_commands_answer),
    KernelTest::new(
        "heap::seeded_sizes_keep_their_contents",
        seeded_sizes_keep_their_contents,
    ),
    KernelTest::new(
        "heap::a_pool_in_frames_splits_and_coalesces",
        a_pool_in_frames_splits_and_coalesces,
    ),
    KernelTest::new("heap::integrity_after_all_tests", integrity_after_all_tests),
    KernelTest::expecting_panic(
        "heap::exhaustion_is_reported",
        exhaustion_is_reported,
        "out of memory: the kernel heap could not allocate",
    ),
];

pub(crate) fn heap_owns(address: usize) -> bool {
    let pointer = NonNull::new(address as *mut u8).expect("not null");
    HEAP.lock().usable_size(pointer).is_ok()
}

fn kind_follows_the_command_line() {
    let expected = kernel::command_line::option("heap")
        .and_then(HeapKind::parse)
        .unwrap_or(HeapKind::Buddy);
    assert_eq!(HEAP.lock().kind(), expected);
    assert!(
        HEAP.lock().stats().total >= 256 << 10,
        "the heap has memory"
    );
}

/// `pool=first|best` reaches the pool, and `heap` shows it (`fit=best`);
/// the other heaps have no fit.
fn fit_follows_the_command_line() {
    let chosen = kernel::command_line::option("pool")
        .and_then(Fit::parse)
        .unwrap_or(Fit::First);
    let (kind, name, fit, stats) = {
        let heap = HEAP.lock();
        (heap.kind(), heap.name(), heap.fit(), heap.stats())
    };
    let expected = (kind == HeapKind::Pool).then_some(chosen);
    assert_eq!(fit, expected);
    let summary = summary_line(name, fit, &stats);
    let shown = summary
        .as_str()
        .split_whitespace()
        .find_map(|pair| pair.strip_prefix("fit="));
    assert_eq!(shown, expected.map(Fit::name), "in {}", summary.as_str());
}

fn a_single_box() {
    let before = HEAP.lock().stats().allocations;
    let boxed = Box::new(0xC0FF_EE42u32);
    assert_eq!(*boxed, 0xC0FF_EE42);
    assert!(
        heap_owns(&*boxed as *const u32 as usize),
        "the box lives in the heap"
    );
    assert_eq!(HEAP.lock().stats().allocations, before + 1);
    drop(boxed);
    assert_eq!(HEAP.lock().stats().allocations, before);
}

fn vec_of_1000_pushes() {
    let mut numbers = Vec::new();
    for i in 0..1000u32 {
        numbers.push(i * 3);
    }
    assert_eq!(numbers.len(), 1000);
    assert!(numbers.iter().enumerate().all(|(i, &n)| n == i as u32 * 3));
    assert_eq!(
        numbers.iter().map(|&n| u64::from(n)).sum::<u64>(),
        3 * 999 * 1000 / 2
    );
}

/// Allocates, in 1 KiB boxes, twice as much as the whole heap: only
/// possible if freed blocks are handed out again.
fn freed_memory_is_reused() {
    let before = HEAP.lock().stats();
    let rounds = 2 * before.total / 1024 + 1;
    for round in 0..rounds {
        let block = Box::new([round as u8; 1024]);
        assert!(block.iter().all(|&b| b == round as u8));
    }
    // Owners' figures only: `used` also counts what the front ends keep
    // for later (an empty slab per class, the debugger's quarantine).
    let after = HEAP.lock().stats();
    assert_eq!(
        (after.requested, after.allocations),
        (before.requested, before.allocations)
    );
}

fn long_lived_box_survives_churn() {
    let keeper = Box::new([0x5A5A_5A5Au32; 64]);
    let total = HEAP.lock().stats().total;
    for round in 0..2 * total / 512 {
        let short = Box::new([round as u32; 128]);
        assert_eq!(short[127], round as u32);
    }
    assert!(
        keeper.iter().all(|&word| word == 0x5A5A_5A5A),
        "the long-lived box was overwritten"
    );
}

fn btree_map_of_10000_entries() {
    let before = HEAP.lock().stats().allocations;
    let mut map = BTreeMap::new();
    for key in 0..10_000u32 {
        map.insert(key, key.wrapping_mul(2_654_435_761));
    }
    assert_eq!(map.len(), 10_000);
    for key in (0..10_000u32).step_by(7) {
        assert_eq!(map.get(&key), Some(&key.wrapping_mul(2_654_435_761)));
    }
    let text: String = alloc::format!("{} entries, first {:?}", map.len(), map.iter().next());
    assert_eq!(text, "10000 entries, first Some((0, 0))");
    drop(text);
    drop(map);
    assert_eq!(
        HEAP.lock().stats().allocations,
        before,
        "every node was freed"
    );
}

fn alignment_up_to_a_page() {
    #[repr(C, align(4096))]
    struct Page([u8; 4096]);
    #[repr(C, align(64))]
    struct Line([u8; 64]);
    let page = Box::new(Page([1; 4096]));
    let line = Box::new(Line([2; 64]));
    assert_eq!(&*page as *const Page as usize % 4096, 0);
    assert_eq!(&*line as *const Line as usize % 64, 0);
    assert!(page.0.iter().all(|&b| b == 1) && line.0.iter().all(|&b| b == 2));
}

/// Two vectors growing in turn get in each other's way, so reallocation
/// must sometimes move a block (and sometimes grows it in place).
fn growing_vec_keeps_its_contents() {
    let (mut evens, mut odds): (Vec<u32>, Vec<u32>) = (Vec::new(), Vec::new());
    let mut moves = 0;
    for i in 0..10_000 {
        let (before_evens, before_odds) = (evens.as_ptr(), odds.as_ptr());
        evens.push(2 * i);
        odds.push(2 * i + 1);
        let grew = |old: *const u32, vec: &Vec<u32>| vec.len() > 1 && old != vec.as_ptr();
        moves += usize::from(grew(before_evens, &evens)) + usize::from(grew(before_odds, &odds));
    }
    assert!(moves > 0, "interleaved growth never moved a block");
    assert!(evens.iter().enumerate().all(|(i, &n)| n == 2 * i as u32));
    assert!(odds.iter().enumerate().all(|(i, &n)| n == 2 * i as u32 + 1));
    evens.truncate(5);
    evens.shrink_to_fit();
    assert_eq!(evens, [0, 2, 4, 6, 8]);
}

fn double_free_is_refused() {
    let layout = Layout::from_size_align(48, 8).unwrap();
    // SAFETY: the second dealloc is the point of the test: the heap must
    // detect it and leave itself untouched.
    unsafe {
        let pointer = HEAP.alloc(layout);
        assert!(!pointer.is_null());
        HEAP.dealloc(pointer, layout);
        let stats = HEAP.lock().stats();
        let errors = HEAP.errors_reported();
        HEAP.dealloc(pointer, layout);
        assert_eq!(
            HEAP.errors_reported(),
            errors + 1,
            "the double free was reported"
        );
        assert_eq!(HEAP.lock().stats(), stats, "and changed nothing");
    }
    assert_eq!(HEAP.lock().check_integrity(), Ok(()));
}

fn foreign_pointer_is_refused() {
    let mut on_the_stack = [0u8; 64];
    let layout = Layout::new::<[u8; 64]>();
    let stats = HEAP.lock().stats();
    let errors = HEAP.errors_reported();
    // SAFETY: the heap checks the pointer and must refuse it.
    unsafe { HEAP.dealloc(on_the_stack.as_mut_ptr(), layout) };
    assert_eq!(HEAP.errors_reported(), errors + 1);
    assert_eq!(HEAP.lock().stats(), stats);
    // A pointer into the middle of a live block is refused too.
    let block = Box::new([7u8; 256]);
    let inside = &block[100] as *const u8 as *mut u8;
    // SAFETY: as above; `block` stays valid and is freed normally below.
    unsafe { HEAP.dealloc(inside, layout) };
    assert_eq!(HEAP.errors_reported(), errors + 2);
    assert!(block.iter().all(|&b| b == 7));
}

fn lock_keeps_interrupts_off() {
    assert!(interrupts::are_enabled());
    let guard = HEAP.lock();
    assert!(
        !interrupts::are_enabled(),
        "an interrupt could find the heap half-changed"
    );
    drop(guard);
    assert!(interrupts::are_enabled());
}

fn memory_commands_answer() {
    assert_eq!(shell::execute("heap"), Outcome::Ran);
    assert_eq!(shell::execute("heap check"), Outcome::Ran);
    assert_eq!(shell::execute("frames"), Outcome::Ran);
    assert_eq!(shell::execute("alloc 4000000000"), Outcome::Failed);
    assert_eq!(shell::execute("free 999999"), Outcome::Failed);
    let before = HEAP.lock().stats();
    assert_eq!(shell::execute("alloc 100 64"), Outcome::Ran);
    assert_eq!(HEAP.lock().stats().allocations, before.allocations + 1);
    assert_eq!(
        shell::execute("alloc 100 3"),
        Outcome::Failed,
        "3 is not a power of two"
    );
}

/// Blocks of sizes the grader's token picks (`ktest::seed`), each filled
/// with its own pattern, freed in a seed-picked order: every block keeps its
/// bytes, and the heap's owners' figures end where they started.
fn seeded_sizes_keep_their_contents() {
    let before = HEAP.lock().stats();
    let mut state = kernel::ktest::seed() | 1;
    let mut next = move || {
        // xorshift64: a repeatable sequence for one seed.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut blocks: Vec<Vec<u8>> = (0..48)
        .map(|index| vec![index as u8; 1 + (next() % 3000) as usize])
        .collect();
    while !blocks.is_empty() {
        let victim = (next() % blocks.len() as u64) as usize;
        let block = blocks.swap_remove(victim);
        let pattern = block[0];
        assert!(
            block.iter().all(|&byte| byte == pattern),
            "a block of {} bytes lost its contents",
            block.len()
        );
        for (index, other) in blocks.iter().enumerate() {
            assert!(
                other.iter().all(|&byte| byte == other[0]),
                "block {index} was overwritten"
            );
        }
    }
    drop(blocks); // the (now empty) vector's own buffer
    let after = HEAP.lock().stats();
    assert_eq!(
        (after.requested, after.allocations),
        (before.requested, before.allocations)
    );
    assert_eq!(HEAP.lock().check_integrity(), Ok(()));
}

/// Lab 2.5 on real memory, whatever heap the kernel runs: a first-fit pool
/// over four frames of its own. Blocks of seeded sizes and alignments keep
/// their contents, and once all are freed (in an order the seed picks) the
/// frames are one free chunk again.
fn a_pool_in_frames_splits_and_coalesces() {
    let bytes = 4 * FRAME_SIZE;
    let first = frames()
        .allocate_contiguous(4, FRAME_SIZE, Owner::Kernel)
        .expect("four free frames");
    let start = first.start().as_usize();
    let mut pool = crate::heap::PoolHeap::new();
    // SAFETY: the four frames are ours until freed below, and chapter 2
    // reaches physical memory at its own address.
    unsafe { pool.add_region(start, bytes) }.expect("a pool over the frames");
    let mut seed = kernel::ktest::seed();
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut blocks = Vec::new();
    for index in 0..24u8 {
        let size = 1 + next() as usize % 600;
        let align = 1 << (next() % 7);
        let layout = Layout::from_size_align(size, align).unwrap();
        let Ok(pointer) = pool.allocate(layout) else {
            break;
        };
        assert_eq!(pointer.as_ptr() as usize % align, 0, "aligned to {align}");
        // SAFETY: the pool handed out `size` bytes at `pointer`.
        unsafe { pointer.as_ptr().write_bytes(index, size) };
        blocks.push((pointer, layout, index));
    }
    assert!(blocks.len() >= 8, "only {} blocks fit", blocks.len());
    pool.check_integrity().expect("an intact pool");
    while !blocks.is_empty() {
        let (pointer, layout, index) = blocks.swap_remove(next() as usize % blocks.len());
        // SAFETY: still allocated, `layout.size()` bytes long.
        let contents = unsafe { core::slice::from_raw_parts(pointer.as_ptr(), layout.size()) };
        assert!(
            contents.iter().all(|&byte| byte == index),
            "block {index} was overwritten"
        );
        pool.deallocate(pointer, layout)
            .expect("a block it handed out");
    }
    let stats = pool.stats();
    assert_eq!(
        stats.free_blocks.iter().sum::<u32>(),
        1,
        "coalesced into one chunk"
    );
    assert_eq!(stats.largest_free, bytes);
    frames()
        .free_contiguous(first, 4, Owner::Kernel)
        .expect("the frames are given back");
}

fn integrity_after_all_tests() {
    assert_eq!(HEAP.lock().check_integrity(), Ok(()));
}

/// More than the heap has, plus every free frame (a heap that grows, as in
/// chapter 3, could otherwise find the room).
fn exhaustion_is_reported() {
    let total = HEAP.lock().stats().total;
    let too_much = total + frames().counts().free * FRAME_SIZE + 1;
    let too_big: Vec<u8> = Vec::with_capacity(too_much);
    // Not reached: the allocation-error handler stops the kernel.
    assert!(too_big.capacity() >= too_much);
}
