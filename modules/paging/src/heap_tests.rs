//! Chapter 3's in-kernel tests of the heap that grows on page faults: it
//! grows far beyond its first pages, runs out of frames cleanly, serves
//! nothing above its top, and puts sampled blocks on guard pages; and of
//! the large allocations beside it.

use crate::address::{Frame, VirtAddr, PAGE_SIZE};
use crate::fixup::probe_read;
use crate::growing_heap::{self, GROWTH_STEP, HEAP_START};
use crate::kernel_space;
use crate::large_allocations;
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::alloc::{GlobalAlloc, Layout};
use memory::frames::{Owner, FRAME_SIZE};
use memory::heap::{Heap, Inspect};
use memory::kernel::ktest::KernelTest;
use memory::kernel_heap::HEAP;
use memory::setup::frames;
use x86::irq::PageFaultError;

/// The growing heap's tests. They run before `tests.rs`'s, some of which
/// grow the heap (a large vector, `bench`) and would spoil what these watch.
pub const TESTS: &[KernelTest] = &[
    KernelTest::new(
        "heap::grows_far_beyond_its_first_pages",
        grows_far_beyond_its_first_pages,
    ),
    KernelTest::new(
        "large::a_frame_per_touched_page_and_all_back_on_free",
        large_allocations_take_a_frame_per_touched_page_and_give_all_back,
    ),
    KernelTest::new(
        "large::a_request_beyond_the_frames_is_refused_cleanly",
        a_large_request_beyond_the_frames_is_refused_cleanly,
    ),
    KernelTest::new(
        "heap::running_out_of_frames_gives_null_and_the_kernel_goes_on",
        running_out_of_frames_gives_null,
    ),
    KernelTest::new(
        "heap::reserve_above_the_top_is_not_served",
        reserve_above_the_top_is_not_served,
    ),
    KernelTest::new(
        "heapdebug::guard_page_catches_overrun_and_use_after_free",
        guard_page_catches_overrun_and_use_after_free,
    ),
];

/// Allocates far more than the heap's first region (buddy), or half the
/// pool, in blocks below the large-allocation threshold (so that they are
/// the heap's), and touches every page of them.
fn grows_far_beyond_its_first_pages() {
    const BLOCK: usize = 48 << 10;
    const _: () = assert!(BLOCK < large_allocations::THRESHOLD);
    let counters_before = growing_heap::counters();
    let window_before = growing_heap::window();
    let kind = HEAP.lock().kind();
    let free_bytes = frames().counts().free * FRAME_SIZE;
    let size = if kind.grows_at_top() {
        (4 << 20usize).min(free_bytes / 4)
    } else {
        HEAP.lock().stats().largest_free / 2
    };
    let blocks: Vec<Vec<u8>> = (0..size / BLOCK)
        .map(|_| alloc::vec![0xA5; BLOCK])
        .collect();
    for block in &blocks {
        let start = block.as_ptr() as usize;
        assert!(
            (HEAP_START..growing_heap::HEAP_END).contains(&start),
            "the heap is in its virtual range"
        );
        for page in (start..start + BLOCK).step_by(PAGE_SIZE) {
            let translation =
                kernel_space::translate(VirtAddr::new(page)).expect("touched pages are mapped");
            assert_ne!(
                Frame::containing(translation.physical).start().as_usize(),
                page,
                "a frame, not the identity"
            );
        }
        assert!(block.iter().step_by(997).all(|&byte| byte == 0xA5));
    }
    let size = blocks.len() * BLOCK;
    let counters_after = growing_heap::counters();
    let faults = counters_after.faults - counters_before.faults;
    let window_after = growing_heap::window();
    assert!(window_after.mapped_pages >= window_before.mapped_pages);
    if kind.grows_at_top() {
        assert!(
            window_after.top - window_before.top >= size,
            "the top moved past {size} bytes"
        );
        assert!(counters_after.growths > counters_before.growths);
        assert!(
            faults >= size / PAGE_SIZE,
            "{faults} faults for {} pages",
            size / PAGE_SIZE
        );
    }
    drop(blocks);
    assert_eq!(HEAP.lock().check_integrity(), Ok(()));
}

/// A large request gets a run of pages: frames only as pages are touched,
/// one per page (16 MiB is 4096, not the 8192 of a buddy block), growth in
/// place, and every frame back on free.
fn large_allocations_take_a_frame_per_touched_page_and_give_all_back() {
    let free_before = frames().counts().free;
    let mapped_before = large_allocations::mapped_pages();
    let size = (16usize << 20).min(free_before / 2 * FRAME_SIZE);
    let pages = size / PAGE_SIZE;
    let layout = Layout::from_size_align(size, 8).unwrap();
    let block = HEAP.allocate(layout).expect("a run for the large request");
    let start = block.as_ptr() as usize;
    assert!((large_allocations::LARGE_START..large_allocations::LARGE_END).contains(&start));
    assert_eq!(
        frames().counts().free,
        free_before,
        "no frame before a touch"
    );
    assert_eq!(HEAP.usable_size(block), Ok(size), "exact to the page");
    for page in 0..pages {
        // SAFETY: the block is ours and `size` bytes long.
        unsafe {
            block
                .as_ptr()
                .add(page * PAGE_SIZE)
                .write_volatile(page as u8)
        };
    }
    assert_eq!(large_allocations::mapped_pages() - mapped_before, pages);
    assert_eq!(
        free_before - frames().counts().free,
        pages,
        "one frame per page"
    );
    // Grows in place: the addresses after a fresh run are free.
    // SAFETY: `block` is live with `layout`; the new size is valid.
    let grown = unsafe { HEAP.realloc(block.as_ptr(), layout, size + 8 * PAGE_SIZE) };
    assert_eq!(grown, block.as_ptr(), "grown without moving");
    for page in (0..pages).step_by(97) {
        // SAFETY: inside the grown block.
        assert_eq!(
            unsafe { grown.add(page * PAGE_SIZE).read_volatile() },
            page as u8
        );
    }
    let grown_layout = Layout::from_size_align(size + 8 * PAGE_SIZE, 8).unwrap();
    HEAP.deallocate(block, grown_layout).unwrap();
    assert_eq!(
        frames().counts().free,
        free_before,
        "every frame given back"
    );
    assert_eq!(large_allocations::mapped_pages(), mapped_before);
    assert_eq!(
        HEAP.deallocate(block, grown_layout),
        Err(memory::heap::HeapError::DoubleFree { address: start })
    );
    assert!(
        kernel_space::translate(VirtAddr::new(start)).is_err(),
        "unmapped"
    );
}

/// More than the frames can back is refused up front (no promise), not
/// at a page fault; a smaller one then still works.
fn a_large_request_beyond_the_frames_is_refused_cleanly() {
    let free = frames().counts().free;
    let too_big = Layout::from_size_align((free + 16) * FRAME_SIZE, 8).unwrap();
    assert!(matches!(
        HEAP.allocate(too_big),
        Err(memory::heap::HeapError::OutOfMemory { .. })
    ));
    assert_eq!(frames().counts().free, free);
    let fits = Layout::from_size_align(64 << 10, 8).unwrap();
    let block = HEAP.allocate(fits).expect("a small run still fits");
    HEAP.deallocate(block, fits).unwrap();
}

fn running_out_of_frames_gives_null() {
    const KEEP: usize = 8;
    // Below the large-allocation threshold: these are the heap's.
    let layout = Layout::from_size_align(60 << 10, 8).unwrap();
    let mut blocks = [core::ptr::null_mut::<u8>(); 1024];
    let mut count = 0;
    {
        // Keep what the heap was promised, and a few more.
        let promised = growing_heap::window().promised_pages();
        let hoard = Hoard::leaving(promised + KEEP);
        assert!(frames().counts().free <= promised + KEEP + 1024);
        loop {
            // SAFETY: a valid layout; each block is freed below, once.
            let block = unsafe { HEAP.alloc(layout) };
            if block.is_null() {
                break;
            }
            // Touch every page: each fault must find a frame.
            for offset in (0..layout.size()).step_by(PAGE_SIZE) {
                // SAFETY: the block is ours and `layout.size()` long.
                unsafe { block.add(offset).write_volatile(count as u8) };
            }
            assert!(count < blocks.len(), "the heap never ran out");
            blocks[count] = block;
            count += 1;
        }
        assert_eq!(HEAP.last_failure(), Some(layout));
        let window = growing_heap::window();
        assert!(
            window.grown_top(GROWTH_STEP).is_none()
                || !window.can_grow(window.top + GROWTH_STEP, frames().counts().free),
            "the heap stopped because frames (or its range) ran out"
        );
        drop(hoard);
    }
    for &block in &blocks[..count] {
        // SAFETY: allocated above with `layout`, freed once.
        unsafe { HEAP.dealloc(block, layout) };
    }
    // The kernel goes on: the heap works and is whole.
    let boxed = Box::new([7u8; 100_000]);
    assert!(boxed.iter().all(|&byte| byte == 7));
    drop(boxed);
    assert_eq!(HEAP.lock().check_integrity(), Ok(()));
}

fn reserve_above_the_top_is_not_served() {
    let window = growing_heap::window();
    let beyond = window.top.next_multiple_of(PAGE_SIZE) + PAGE_SIZE;
    assert!(
        beyond < window.end,
        "the tests never fill the 128 MiB range"
    );
    let fault = probe_read(VirtAddr::new(beyond)).expect_err("not demand-mapped");
    assert!(!fault.code.contains(PageFaultError::P), "{fault:?}");
    assert_eq!(growing_heap::window().top, window.top);
}

/// KFENCE-style sampling: a block on a guard page faults at the first byte
/// past its end, and again when touched after it was freed; both faults are
/// reported with the block and its site, and the kernel carries on.
fn guard_page_catches_overrun_and_use_after_free() {
    use crate::guard_pages;
    use crate::layout::{GUARD_END, GUARD_START};
    use memory::heap::DebugMode;
    let layout = Layout::from_size_align(24, 8).unwrap();
    HEAP.lock().guard_next_allocation();
    let (block, line) = (HEAP.allocate(layout).unwrap(), line!());
    let address = block.as_ptr() as usize;
    let guarded = (GUARD_START..GUARD_END).contains(&address);
    if HEAP.lock().mode() != DebugMode::Full {
        assert!(!guarded, "guard pages are for heapdebug=full only");
        HEAP.deallocate(block, layout).unwrap();
        return;
    }
    assert!(guarded, "{address:#x} is not in a guard slot");
    assert_eq!(
        (address + 24) % PAGE_SIZE,
        0,
        "the block ends at its page end"
    );
    let site = alloc::format!("{}:{line}", file!());
    // SAFETY: on purpose, one byte past the block: the guard page faults,
    // the handler reports it and maps a spare page, and the write lands
    // there.
    unsafe { block.as_ptr().add(24).write_volatile(0xEE) };
    let fault = guard_pages::last_fault().expect("the overrun faulted");
    assert_eq!(
        alloc::format!("{fault}"),
        alloc::format!(
            "guard page: write of {:#010x} is 1 byte past the end of block {address:#010x} \
             (24 bytes, allocated at {site})",
            address + 24
        )
    );
    let free_line = line!() + 1;
    HEAP.deallocate(block, layout).unwrap();
    // SAFETY: on purpose, a read of the freed block: its page was unmapped,
    // so this faults, is reported, and reads a spare page.
    let _ = unsafe { block.as_ptr().add(4).read_volatile() };
    let fault = guard_pages::last_fault().expect("the use after free faulted");
    assert_eq!(
        alloc::format!("{fault}"),
        alloc::format!(
            "guard page: read of {:#010x} is a use after free at offset 4 of block \
             {address:#010x} (24 bytes, allocated at {site}, freed at {}:{free_line})",
            address + 4,
            file!()
        )
    );
    assert_eq!(
        HEAP.deallocate(block, layout),
        Err(memory::heap::HeapError::DoubleFree { address })
    );
}

/// Frames set aside so that only a few are free; given back on drop.
struct Hoard {
    runs: [(Frame, usize); 512],
    len: usize,
}

impl Hoard {
    /// Takes free frames until only `keep` are left.
    fn leaving(keep: usize) -> Self {
        let mut hoard = Hoard {
            runs: [(Frame::from_number(0), 0); 512],
            len: 0,
        };
        let mut chunk = 1024;
        while chunk > 0 && hoard.len < hoard.runs.len() {
            let free = frames().counts().free;
            if free <= keep {
                break;
            }
            let count = chunk.min(free - keep);
            match frames().allocate_contiguous(count, FRAME_SIZE, Owner::Kernel) {
                Ok(start) => {
                    hoard.runs[hoard.len] = (start, count);
                    hoard.len += 1;
                }
                Err(_) => chunk /= 2,
            }
        }
        hoard
    }
}

impl Drop for Hoard {
    fn drop(&mut self) {
        for &(start, count) in &self.runs[..self.len] {
            frames()
                .free_contiguous(start, count, Owner::Kernel)
                .expect("hoarded frames");
        }
    }
}
