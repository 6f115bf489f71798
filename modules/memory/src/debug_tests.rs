//! In-kernel tests of the heap debugger and the slabs: each detector is
//! made to catch its bug on the booted kernel's own heap, and must report
//! it exactly, with the block's address and the line that allocated it.
//!
//! The bugs are only committed when the kernel was booted with
//! `heapdebug=poison` or `full` (the `heapdebug=full` variant in
//! `ktest.conf`); with debugging off they would corrupt the heap for real,
//! so there each test checks instead that the debugger is really off.

use crate::heap::debug::{HeapBug, LeakReport};
use crate::heap::{CallSite, DebugMode, Heap};
use crate::kernel_heap::HEAP;
use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use core::alloc::Layout;
use core::ptr::NonNull;
use kernel::ktest::KernelTest;
use kernel::shell::{self, Outcome};

pub const TESTS: &[KernelTest] = &[
    KernelTest::new(
        "heapdebug::mode_follows_the_command_line",
        mode_follows_the_command_line,
    ),
    KernelTest::new(
        "heapdebug::write_after_free_is_reported",
        write_after_free_is_reported,
    ),
    KernelTest::new(
        "heapdebug::overrun_by_one_byte_is_reported",
        overrun_by_one_byte_is_reported,
    ),
    KernelTest::new(
        "heapdebug::double_free_is_reported",
        double_free_is_reported,
    ),
    KernelTest::new(
        "heapdebug::leak_is_reported_by_site",
        leak_is_reported_by_site,
    ),
    KernelTest::new(
        "heapdebug::boxes_record_their_callers",
        boxes_record_their_callers,
    ),
    KernelTest::new("heapdebug::commands_answer", commands_answer),
    KernelTest::new("slab::small_boxes_share_a_page", small_boxes_share_a_page),
];

fn mode() -> DebugMode {
    HEAP.lock().mode()
}

/// Runs `test` with guard-page sampling off (chapter 3 turns it on), so
/// that the blocks land where the test expects them.
fn without_guard_pages(test: impl FnOnce()) {
    let every = HEAP.lock().set_guard_sampling(0);
    test();
    HEAP.lock().set_guard_sampling(every);
}

fn last_bug() -> Option<HeapBug> {
    HEAP.lock().bugs_found().1
}

fn write_byte(block: NonNull<u8>, offset: usize, byte: u8) {
    // SAFETY: on purpose, the tests write just past a block or into a
    // freed one: memory the heap debugger owns and watches, nobody else.
    unsafe { block.as_ptr().add(offset).write_volatile(byte) }
}

/// With debugging off there is nothing to catch with: no reports, and the
/// commands that need it say so.
fn debugger_is_really_off() {
    assert_eq!(HEAP.lock().bugs_found(), (0, None));
    assert_eq!(shell::execute("leaks"), Outcome::Failed);
    let block = Box::new(7u64);
    let pointer = NonNull::from(&*block).cast::<u8>();
    let heap = HEAP.lock();
    assert_eq!(
        heap.usable_size(pointer),
        heap.beneath().usable_size(pointer),
        "no header in front of the block"
    );
}

fn mode_follows_the_command_line() {
    let expected = kernel::command_line::option("heapdebug")
        .and_then(DebugMode::parse)
        .unwrap_or(DebugMode::Off);
    assert_eq!(mode(), expected);
    let slabs = kernel::command_line::switch("slab", true);
    assert_eq!(HEAP.lock().slabs().is_enabled(), slabs);
}

fn site(line: u32) -> String {
    format!("{}:{line}", file!())
}

fn write_after_free_is_reported() {
    if mode() == DebugMode::Off {
        return debugger_is_really_off();
    }
    without_guard_pages(|| {
        let layout = Layout::from_size_align(24, 8).unwrap();
        let (block, allocated) = (HEAP.allocate(layout).unwrap(), line!());
        let (freed, free_line) = (HEAP.deallocate(block, layout), line!());
        assert_eq!(freed, Ok(()));
        write_byte(block, 8, 0x42);
        let summary = HEAP.lock().check_all().expect("headers intact");
        assert_eq!(summary.bugs, 1, "heapcheck caught the write");
        assert_eq!(
            format!("{}", last_bug().unwrap()),
            format!(
                "write after free: block {:#010x} (24 bytes, allocated at {}, freed at {}) \
                 was written at offset 8 after it was freed",
                block.as_ptr() as usize,
                site(allocated),
                site(free_line)
            )
        );
    });
}

fn overrun_by_one_byte_is_reported() {
    if mode() != DebugMode::Full {
        return debugger_is_really_off_or_poisoning();
    }
    without_guard_pages(|| {
        let layout = Layout::from_size_align(24, 8).unwrap();
        let (block, allocated) = (HEAP.allocate(layout).unwrap(), line!());
        write_byte(block, 24, 0);
        let bugs = HEAP.lock().bugs_found().0;
        assert_eq!(
            HEAP.deallocate(block, layout),
            Ok(()),
            "the free itself is fine"
        );
        assert_eq!(HEAP.lock().bugs_found().0, bugs + 1, "caught on free");
        assert_eq!(
            format!("{}", last_bug().unwrap()),
            format!(
                "overrun: block {:#010x} (24 bytes, allocated at {}) was written 1 byte past its end",
                block.as_ptr() as usize,
                site(allocated)
            )
        );
    });
}

/// Off: nothing to catch with. Poison: no red zones, so the same one-byte
/// overrun goes unseen (it lands in the slack of the block beneath).
fn debugger_is_really_off_or_poisoning() {
    if mode() == DebugMode::Off {
        return debugger_is_really_off();
    }
    without_guard_pages(|| {
        let layout = Layout::from_size_align(24, 8).unwrap();
        let block = HEAP.allocate(layout).unwrap();
        let before = HEAP.lock().bugs_found().0;
        write_byte(block, 24, 0);
        assert_eq!(HEAP.deallocate(block, layout), Ok(()));
        assert_eq!(
            HEAP.lock().bugs_found().0,
            before,
            "poison mode has no red zones"
        );
    });
}

fn double_free_is_reported() {
    if mode() == DebugMode::Off {
        return debugger_is_really_off();
    }
    without_guard_pages(|| {
        let layout = Layout::from_size_align(48, 8).unwrap();
        let (block, allocated) = (HEAP.allocate(layout).unwrap(), line!());
        let (first, first_line) = (HEAP.deallocate(block, layout), line!());
        assert_eq!(first, Ok(()));
        let stats = HEAP.lock().stats();
        let (second, second_line) = (HEAP.deallocate(block, layout), line!());
        let address = block.as_ptr() as usize;
        assert_eq!(second, Err(crate::heap::HeapError::DoubleFree { address }));
        assert_eq!(
            HEAP.lock().stats(),
            stats,
            "the second free changed nothing"
        );
        assert_eq!(
            format!("{}", last_bug().unwrap()),
            format!(
                "double free: block {address:#010x} (48 bytes, allocated at {}) \
                 was freed at {} and again at {}",
                site(allocated),
                site(first_line),
                site(second_line)
            )
        );
    });
}

fn leak_is_reported_by_site() {
    if mode() == DebugMode::Off {
        return debugger_is_really_off();
    }
    let layout = Layout::from_size_align(40, 8).unwrap();
    let mark = HEAP.lock().next_serial();
    let mut leaked = [None; 3];
    let mut line = 0;
    for slot in &mut leaked {
        (*slot, line) = (Some(HEAP.allocate(layout).unwrap()), line!());
    }
    let freed = HEAP
        .allocate(Layout::from_size_align(8, 8).unwrap())
        .unwrap();
    HEAP.deallocate(freed, Layout::from_size_align(8, 8).unwrap())
        .unwrap();
    let mut report = LeakReport::<4>::default();
    HEAP.lock()
        .for_each_live(mark, &mut |block| report.add(block));
    let groups = report.groups();
    assert_eq!(groups.len(), 1, "only the leaking site: {groups:?}");
    assert_eq!(format!("{}", groups[0].site), site(line));
    assert_eq!((groups[0].blocks, groups[0].bytes), (3, 120));
    assert_eq!(groups[0].newest, leaked[2].unwrap().as_ptr() as usize);
    for block in leaked.into_iter().flatten() {
        HEAP.deallocate(block, layout).unwrap();
    }
}

/// `Box::new` reaches the heap through `GlobalAlloc`, which cannot be
/// `#[track_caller]`: its site is the chain of return addresses, and one
/// of them must be in this function.
#[inline(never)]
fn boxes_record_their_callers() {
    if mode() == DebugMode::Off {
        return debugger_is_really_off();
    }
    let mark = HEAP.lock().next_serial();
    let boxed = Box::new([3u8; 40]);
    let address = &*boxed as *const [u8; 40] as usize;
    let mut sites = [CallSite::Unknown; 2];
    let mut found = 0;
    HEAP.lock().for_each_live(mark, &mut |block| {
        if block.block == address && found < sites.len() {
            sites[found] = block.allocated_at;
            found += 1;
        }
    });
    assert_eq!(found, 1, "the box is a live block");
    let CallSite::Return(chain) = sites[0] else {
        panic!("expected return addresses, got {:?}", sites[0]);
    };
    let start = boxes_record_their_callers as fn() as usize;
    assert!(
        chain.iter().any(|&a| (start..start + 0x800).contains(&a)),
        "no return address in this function ({start:#x}): {}",
        sites[0]
    );
}

fn commands_answer() {
    let expected = if mode() == DebugMode::Off {
        Outcome::Failed
    } else {
        Outcome::Ran
    };
    assert_eq!(shell::execute("heapcheck"), Outcome::Ran);
    assert_eq!(shell::execute("leaks"), expected);
    assert_eq!(shell::execute("leaks mark"), Outcome::Ran);
    assert_eq!(shell::execute("leaks since"), expected);
    assert_eq!(shell::execute("leaks everything"), Outcome::Failed);
    assert_eq!(shell::execute("slabs"), Outcome::Ran);
    assert_eq!(shell::execute("slabs 3"), Outcome::Failed);
}

fn small_boxes_share_a_page() {
    let objects = || -> usize { HEAP.lock().slabs().classes().map(|class| class.live).sum() };
    let before = objects();
    let allocations = HEAP.lock().stats().allocations;
    let (first, second) = (Box::new(1u64), Box::new(2u64));
    let slabs = HEAP.lock().slabs().is_enabled();
    let expected = if slabs { before + 2 } else { 0 };
    assert_eq!(objects(), expected, "each box is a slab object");
    if slabs && mode() == DebugMode::Off {
        let usable = |value: &u64| {
            let pointer = NonNull::from(value).cast::<u8>();
            HEAP.lock().usable_size(pointer)
        };
        // 8 bytes in a slab; a buddy block would have at least 16.
        assert_eq!((usable(&first), usable(&second)), (Ok(8), Ok(8)));
    }
    drop((first, second));
    assert_eq!(HEAP.lock().stats().allocations, allocations);
    if mode() == DebugMode::Off {
        assert_eq!(objects(), before, "freed objects go back to their slab");
    }
}
