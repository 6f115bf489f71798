//! Chapter 3's in-kernel tests: paging on the real (emulated) machine, at
//! 16 MiB, 128 MiB and 1 GiB, with the growing buddy heap and again with the
//! pool (`ktest.conf`). Chapters 1 and 2's tests run in the same kernel, so
//! every heap test of chapter 2 also runs on the demand-paged heap.

use crate::address::{Frame, Page, PhysAddr, VirtAddr, PAGE_SIZE};
use crate::fixup::{probe_read, probe_write, ProbeFault};
use crate::kernel_space::{self, space};
use crate::layout::{GUARD_END, GUARD_START, HEAP_END, SCRATCH_START, VGA_START};
use crate::page_table::{MapError, Missing, Unmapped};
use alloc::boxed::Box;
use memory::frames::{FrameState, Owner, FRAME_SIZE};
use memory::heap::Heap;
use memory::kernel::boot;
use memory::kernel::ktest::KernelTest;
use memory::kernel::shell::{self, Outcome};
use memory::kernel_heap::HEAP;
use memory::setup::frames;
use x86::bits32::paging::PTFlags;
use x86::irq::PageFaultError;

/// Chapter 3's tests of the page tables, permissions and faults (the
/// growing heap's are in `heap_tests.rs`).
pub const TESTS: &[KernelTest] = &[
    KernelTest::new("paging::is_on_with_write_protect", is_on_with_write_protect),
    KernelTest::new(
        "paging::kernel_sections_have_their_permissions",
        kernel_sections_have_their_permissions,
    ),
    KernelTest::new(
        "paging::map_translate_unmap_round_trip",
        map_translate_unmap_round_trip,
    ),
    KernelTest::new("paging::kernel_text_is_read_only", kernel_text_is_read_only),
    KernelTest::new(
        "paging::probes_fault_and_carry_on",
        probes_fault_and_carry_on,
    ),
    KernelTest::new("shell::paging_commands_answer", paging_commands_answer),
    KernelTest::new(
        "frames::the_shell_cannot_free_the_kernels_frames",
        the_shell_cannot_free_the_kernels_frames,
    ),
    KernelTest::new(
        "paging::map_with_a_frame_is_a_read_only_window",
        map_with_a_frame_is_a_read_only_window,
    ),
    KernelTest::expecting_panic(
        "fault::unmapped_read_is_reported",
        unmapped_read_is_reported,
        "page fault: access to an unmapped address: read of 0xe8000000",
    ),
    KernelTest::expecting_panic(
        "fault::write_to_kernel_text_is_reported",
        write_to_kernel_text_is_reported,
        "page fault: write to read-only kernel memory",
    ),
    KernelTest::expecting_panic(
        "fault::stack_overflow_is_caught_by_the_double_fault_task",
        stack_overflow_is_caught,
        "kernel stack overflow",
    ),
];

fn is_on_with_write_protect() {
    assert!(kernel_space::is_enabled(), "CR0.PG and CR0.WP are set");
    assert_eq!(
        kernel_space::active_directory(),
        space().directory_frame(),
        "CR3 holds our directory"
    );
}

fn kernel_sections_have_their_permissions() {
    let kernel = boot::kernel_layout();
    let writable = |address: usize| {
        let translation = kernel_space::translate(va(address)).expect("mapped");
        assert_eq!(
            translation.physical,
            PhysAddr::new(address),
            "identity-mapped"
        );
        translation.flags.contains(PTFlags::RW)
    };
    assert!(!writable(kernel.text.0), "text is read-only");
    assert!(!writable(kernel.rodata.0), "rodata is read-only");
    let local = 0u32;
    assert!(
        writable(&local as *const u32 as usize),
        "the stack is writable"
    );
    assert!(writable(VGA_START), "VGA is writable");
    let (info, _) = boot::info_range();
    assert!(
        kernel_space::translate(va(info)).is_ok(),
        "boot information mapped"
    );
    for hole in [0, 0x1000, kernel.stack_guard] {
        assert!(
            kernel_space::translate(va(hole)).is_err(),
            "{hole:#x} is a hole"
        );
    }
}

/// A virtual address, from a number.
fn va(address: usize) -> VirtAddr {
    VirtAddr::new(address)
}

/// Where the identity map shows `frame`.
fn identity(frame: Frame) -> VirtAddr {
    va(frame.start().as_usize())
}

/// Frames free, counting the page tables as free: tables stay once made.
fn free_frames_and_tables() -> usize {
    frames().counts().free + space().counts().tables
}

fn not_present(fault: &ProbeFault) -> bool {
    !fault.code.contains(PageFaultError::P)
}

fn present_write(fault: &ProbeFault) -> bool {
    fault.code.contains(PageFaultError::P | PageFaultError::WR)
}

fn map_translate_unmap_round_trip() {
    let before = free_frames_and_tables();
    let frame = frames().allocate(Owner::Kernel).expect("a free frame");
    let page = Page::containing(va(SCRATCH_START + 0x10_0000));
    let alias = page.add(1);
    space().map_owned(page, frame, PTFlags::RW).unwrap();
    space().map(alias, frame, PTFlags::empty()).unwrap();
    let translation = kernel_space::translate(page.start() + 0x123).unwrap();
    assert_eq!(translation.physical, frame.start() + 0x123);
    assert!(translation.owned && translation.flags.contains(PTFlags::RW));
    // SAFETY: `page` was just mapped, writable, to a frame we own.
    unsafe { ((page.start().as_usize() + 8) as *mut u32).write_volatile(0x5EED_F00D) };
    // The same frame through the read-only alias, and through RAM's
    // identity map: three virtual addresses, one physical word.
    assert_eq!(probe_read(alias.start() + 8), Ok(0x5EED_F00D));
    assert_eq!(probe_read(identity(frame) + 8), Ok(0x5EED_F00D));
    assert_eq!(
        space().map(page, frame, PTFlags::RW),
        Err(MapError::AlreadyMapped { page, frame })
    );
    assert_eq!(
        space().unmap(alias),
        Ok(Unmapped {
            frame,
            owned: false
        })
    );
    assert_eq!(space().unmap(page), Ok(Unmapped { frame, owned: true }));
    assert!(matches!(
        kernel_space::translate(page.start()),
        Err(Missing::Page { .. })
    ));
    // The TLB was flushed: the old translation is gone for the CPU too.
    let fault = probe_read(page.start() + 8).expect_err("unmapped");
    assert!(not_present(&fault) && fault.address == page.start() + 8);
    assert_eq!(space().unmap(page), Err(MapError::NotMapped { page }));
    frames().free(frame, Owner::Kernel).unwrap();
    assert_eq!(free_frames_and_tables(), before);
}

/// `frame free` with the address of the page directory, a page table or a
/// heap page (what a student could read in the boot log or from
/// `translate`) changes nothing, and the kernel carries on.
fn the_shell_cannot_free_the_kernels_frames() {
    let boxed = Box::new([7u32; 256]);
    let heap_frame = Frame::containing(
        kernel_space::translate(va(boxed.as_ptr() as usize))
            .expect("the box is mapped")
            .physical,
    );
    let directory = kernel_space::active_directory();
    let table = memory::frame_tests::some_frame_held_by(Owner::PageTable);
    let before = frames().counts();
    for frame in [directory, table, heap_frame] {
        let command = alloc::format!("frame free {frame:#x}");
        assert_eq!(shell::execute(&command), Outcome::Failed, "{command}");
        assert!(!frames().is_free(frame), "{command} freed it");
    }
    assert_eq!(
        frames().state(directory),
        Some(FrameState::Held(Owner::PageTable))
    );
    assert_eq!(
        frames().free(directory, Owner::Mapping),
        Err(memory::frames::FrameError::NotYours {
            frame: directory,
            holder: Owner::PageTable,
            by: Owner::Mapping
        })
    );
    assert_eq!(frames().counts(), before);
    // What `bench` and a large allocation (8 MiB, or a quarter of the free
    // RAM on a small machine, or half the fixed pool) do next still works.
    assert_eq!(shell::execute("bench 10"), Outcome::Ran);
    let room = HEAP.lock().stats().largest_free / 2;
    let size = (frames().counts().free * FRAME_SIZE / 4).min(8 << 20);
    let size = if HEAP.lock().kind().grows_at_top() {
        size
    } else {
        size.min(room)
    };
    let big = alloc::vec![1u8; size];
    assert!(big.iter().all(|&byte| byte == 1));
    assert!(boxed.iter().all(|&word| word == 7));
}

/// `map VADDR PADDR` never makes a writable alias of a frame someone holds,
/// refuses a free frame, and `unmap` of it frees nothing.
fn map_with_a_frame_is_a_read_only_window() {
    let page = va(SCRATCH_START + 0x20_0000);
    let directory = kernel_space::active_directory();
    let before = free_frames_and_tables();
    let text = Frame::containing(PhysAddr::new(boot::kernel_layout().text.0));
    let device = Frame::containing(PhysAddr::new(0xFEE0_0000));
    for frame in [directory, text, device] {
        let command = alloc::format!("map {page:#x} {frame:#x}");
        assert_eq!(shell::execute(&command), Outcome::Ran, "{command}");
        let translation = kernel_space::translate(page).expect("mapped");
        assert!(
            !translation.flags.contains(PTFlags::RW),
            "{command}: writable"
        );
        assert!(!translation.owned);
        // SAFETY: the write faults (the page is read-only); the probe
        // catches it, and nothing is written.
        let write = unsafe { probe_write(page, 0xBAD) };
        assert!(write.is_err_and(|fault| present_write(&fault)));
        assert_eq!(
            shell::execute(&alloc::format!("unmap {page:#x}")),
            Outcome::Ran
        );
    }
    let free = frames().allocate(Owner::Kernel).expect("a free frame");
    frames().free(free, Owner::Kernel).unwrap();
    let command = alloc::format!("map {page:#x} {free:#x}");
    assert_eq!(shell::execute(&command), Outcome::Failed, "a free frame");
    assert!(kernel_space::translate(page).is_err());
    assert_eq!(
        frames().state(directory),
        Some(FrameState::Held(Owner::PageTable))
    );
    assert_eq!(free_frames_and_tables(), before);
}

fn kernel_text_is_read_only() {
    let target = va(is_on_with_write_protect as *const () as usize & !3);
    let word = probe_read(target).expect("text is readable");
    // Writing back the same word: harmless even if the protection failed.
    // SAFETY: the value at `target` does not change.
    let fault = unsafe { probe_write(target, word) }.expect_err("text is read-only");
    assert!(present_write(&fault), "{:?}", fault.code);
    assert_eq!(fault.address, target);
}

fn probes_fault_and_carry_on() {
    let guard = boot::kernel_layout().stack_guard;
    // Unmapped places of every kind, the guard-page slots of the heap
    // debugger and the heap's reserve above its top among them: a probe's
    // fault is recovered whatever region it hits.
    // (With heapdebug=full a slot may be in use: only unmapped ones count.)
    let slots = [GUARD_START, GUARD_END - PAGE_SIZE, GUARD_START + PAGE_SIZE].map(va);
    let slots = slots.map(|page| kernel_space::translate(page).is_err().then_some(page));
    let slots = slots.iter().flatten().copied();
    let places = [0, 0xFFC, SCRATCH_START, guard, guard + 0xFFC, HEAP_END - 4].map(va);
    for address in places.into_iter().chain(slots.clone()) {
        let fault = probe_read(address).expect_err("unmapped");
        assert_eq!(fault.address, address);
        assert!(not_present(&fault) && !fault.code.contains(PageFaultError::WR));
    }
    assert_eq!(probe_read(va(VGA_START)).map(|_| ()), Ok(()));
    assert!(slots.clone().count() > 0, "some guard slot is unmapped");
    for address in slots {
        let command = alloc::format!("touch {address:#x}");
        assert_eq!(shell::execute(&command), Outcome::Failed, "{command}");
    }
}

fn paging_commands_answer() {
    let before = free_frames_and_tables();
    for (line, outcome) in [
        ("pages", Outcome::Ran),
        ("translate 0xb8000", Outcome::Ran),
        ("translate 0xe0000000", Outcome::Failed),
        ("translate banana", Outcome::Failed),
        ("map 0xe0000000", Outcome::Ran),
        ("map 0xe0000000", Outcome::Failed),
        ("touch 0xe0000000", Outcome::Ran),
        ("unmap 0xe0000000", Outcome::Ran),
        ("unmap 0xe0000000", Outcome::Failed),
        ("touch 0xe0000000", Outcome::Failed),
        ("map 0xe0000123", Outcome::Failed),
        ("map 0x00100000", Outcome::Failed),
        ("unmap 0xd0000000", Outcome::Failed),
        ("map 0xe0001000 0xb8000", Outcome::Ran),
        ("unmap 0xe0001000", Outcome::Ran),
        ("touch 0", Outcome::Failed),
        ("touch 0x100000000", Outcome::Failed),
    ] {
        assert_eq!(shell::execute(line), outcome, "{line}");
    }
    assert_eq!(free_frames_and_tables(), before, "map's frame was freed");
    assert_eq!(kernel_space::translate(va(SCRATCH_START)).ok(), None);
}

fn unmapped_read_is_reported() {
    // SAFETY: none — this read is meant to fault; the test expects the
    // kernel to report it and stop.
    let value = unsafe { (0xE800_0000 as *const u32).read_volatile() };
    panic!("read {value:#x} from an unmapped address");
}

fn write_to_kernel_text_is_reported() {
    let target = write_to_kernel_text_is_reported as *const () as usize;
    // SAFETY: none — this write is meant to fault (text is read-only).
    unsafe { (target as *mut u8).write_volatile(0xC3) };
    panic!("wrote to kernel text at {target:#x}");
}

#[allow(unconditional_recursion)]
fn recurse(depth: u32) -> u32 {
    let frame = core::hint::black_box([depth as u8; 256]);
    recurse(depth + 1).wrapping_add(u32::from(frame[depth as usize % 256]))
}

fn stack_overflow_is_caught() {
    let total = recurse(0);
    panic!("returned from endless recursion with {total}");
}
