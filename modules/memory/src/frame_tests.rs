//! Chapter 2's in-kernel tests of the frame allocator: the counts agree
//! with the memory map, every frame comes back, contiguous runs are
//! aligned, and every mistake is refused with the frame named.

use crate::frames::{Frame, FrameError, FrameState, Owner, PhysAddr, FRAME_SIZE};
use crate::heap::Inspect;
use crate::kernel_heap::HEAP;
use crate::memory_map::PhysRange;
use crate::setup::{frames, memory_map};
use crate::tests::heap_owns;
use alloc::boxed::Box;
use kernel::ktest::KernelTest;
use kernel::shell::{self, Outcome};
use multiboot2::MemoryAreaType;

/// The frame allocator's tests.
pub const TESTS: &[KernelTest] = &[
    KernelTest::new(
        "frames::count_is_the_map_minus_reservations",
        count_is_the_map_minus_reservations,
    ),
    KernelTest::new("frames::drained_then_refilled", drained_then_refilled),
    KernelTest::new("frames::contiguous_and_aligned", contiguous_and_aligned),
    KernelTest::new("frames::mistakes_are_refused", mistakes_are_refused),
    KernelTest::new(
        "frames::only_the_holder_frees_a_frame",
        only_the_holder_frees_a_frame,
    ),
];

/// Frames reserved by the map, recounted from the raw boot information.
fn expected_available_frames() -> (usize, usize) {
    let info = kernel::boot::info();
    let areas = info.memory_map_tag().expect("a memory map").memory_areas();
    let reservations = memory_map().reservations();
    let reserved = |frame: u64| {
        reservations.iter().any(|r| {
            (r.range.frames_touched().start..r.range.frames_touched().end).contains(&frame)
        })
    };
    let (mut usable, mut available) = (0, 0);
    for area in areas
        .iter()
        .filter(|area| area.typ() == MemoryAreaType::Available)
    {
        let range =
            PhysRange::new(area.start_address(), area.end_address().min(1 << 32)).frames_inside();
        let mut frame = range.start;
        while frame < range.end {
            usable += 1;
            available += usize::from(!reserved(frame));
            frame += FRAME_SIZE as u64;
        }
    }
    (usable, available)
}

fn count_is_the_map_minus_reservations() {
    let (usable, available) = expected_available_frames();
    let counts = frames().counts();
    assert_eq!(counts.total, usable);
    assert_eq!(counts.free + counts.used, available);
    assert_eq!(counts.reserved, usable - available);
    // What is used is the kernel's own (the heap; no test keeps frames).
    assert_eq!(counts.used, crate::setup::kernel_frames());
    assert_eq!(counts.held_by(Owner::Shell), 0);
    let frames = frames();
    assert!(
        (0..256)
            .all(|number| frames.state(Frame::from_number(number)) == Some(FrameState::Reserved)),
        "no frame of the first MiB may ever be handed out"
    );
}

fn is_reserved(frame: Frame) -> bool {
    let address = frame.start().as_usize() as u64;
    memory_map().reservations().iter().any(|r| {
        let range = r.range.frames_touched();
        (range.start..range.end).contains(&address)
    })
}

/// Takes every free frame, one at a time, linking them into a list through
/// their first word (which proves each is real, writable RAM), then gives
/// them all back.
fn drained_then_refilled() {
    let before = frames().counts();
    let mut list = 0usize;
    let mut taken = 0;
    loop {
        let result = frames().allocate(Owner::Kernel);
        match result {
            Ok(frame) => {
                let address = frame.start().as_usize();
                assert!(!is_reserved(frame), "reserved {frame:?} handed out");
                assert!(!heap_owns(address + 16), "heap {frame:?} handed out");
                // SAFETY: the frame is ours until freed below; its physical
                // address is where the CPU writes (paging off, or RAM
                // identity-mapped from chapter 3 on).
                unsafe { (address as *mut usize).write(list) };
                list = address;
                taken += 1;
            }
            Err(error) => {
                assert_eq!(
                    error,
                    FrameError::OutOfFrames {
                        count: 1,
                        align: FRAME_SIZE
                    }
                );
                break;
            }
        }
    }
    assert_eq!(taken, before.free);
    assert_eq!(frames().counts().free, 0);
    assert!(
        frames()
            .allocate_contiguous(1, FRAME_SIZE, Owner::Kernel)
            .is_err(),
        "empty stays empty"
    );
    while list != 0 {
        // SAFETY: each frame on the list holds the address of the next.
        let next = unsafe { (list as *const usize).read() };
        let frame = Frame::from_start(PhysAddr::new(list)).expect("a frame's start");
        frames()
            .free(frame, Owner::Kernel)
            .expect("a frame we took");
        list = next;
    }
    assert_eq!(frames().counts(), before);
}

fn contiguous_and_aligned() {
    let before = frames().counts();
    let run = frames()
        .allocate_contiguous(16, 64 << 10, Owner::Kernel)
        .expect("64 KiB free somewhere");
    assert_eq!(run.start().as_usize() % (64 << 10), 0);
    for index in 0..16 {
        assert!(!frames().is_free(run.add(index)));
    }
    frames().free_contiguous(run, 16, Owner::Kernel).unwrap();
    assert_eq!(frames().counts(), before);
}

fn mistakes_are_refused() {
    let before = frames().counts();
    let low = Frame::from_number(1);
    assert_eq!(
        frames().free(low, Owner::Kernel),
        Err(FrameError::Reserved { frame: low })
    );
    let kernel = Frame::containing(PhysAddr::new(kernel::boot::kernel_layout().image.0));
    assert_eq!(
        frames().free(kernel, Owner::Kernel),
        Err(FrameError::Reserved { frame: kernel })
    );
    let frame = frames().allocate(Owner::Kernel).unwrap();
    frames().free(frame, Owner::Kernel).unwrap();
    assert_eq!(
        frames().free(frame, Owner::Kernel),
        Err(FrameError::DoubleFree { frame })
    );
    let top = Frame::containing(PhysAddr::new(0xFFFF_F000));
    assert_eq!(
        frames().free(top, Owner::Kernel),
        Err(FrameError::OutOfRange { frame: top })
    );
    assert_eq!(frames().counts(), before);
}

/// The lowest frame `owner` holds.
pub fn some_frame_held_by(owner: Owner) -> Frame {
    let frames = frames();
    (0..)
        .map(Frame::from_number)
        .take_while(|&frame| frames.state(frame).is_some())
        .find(|&frame| frames.state(frame) == Some(FrameState::Held(owner)))
        .expect("the owner holds a frame")
}

/// A frame of the heap cannot be freed by anyone but the heap: not by a
/// direct call, not from the shell.
fn only_the_holder_frees_a_frame() {
    let keep = Box::new([0x5Au8; 64]);
    let heap_frame = some_frame_held_by(Owner::Heap);
    // Made before the counts are taken: the heap may grow to hold it.
    let command = alloc::format!("frame free {heap_frame:#x}");
    let before = frames().counts();
    assert_eq!(
        frames().free(heap_frame, Owner::Shell),
        Err(FrameError::NotYours {
            frame: heap_frame,
            holder: Owner::Heap,
            by: Owner::Shell
        })
    );
    // The shell's `frame free` takes handles it handed out, not addresses.
    assert_eq!(shell::execute(&command), Outcome::Failed);
    assert_eq!(shell::execute("frame free 0"), Outcome::Failed);
    assert_eq!(frames().counts(), before);
    assert_eq!(
        frames().state(heap_frame),
        Some(FrameState::Held(Owner::Heap))
    );
    assert_eq!(shell::execute("frame owner 0x1000"), Outcome::Ran);
    assert!(HEAP.lock().check_integrity().is_ok());
    assert!(keep.iter().all(|&byte| byte == 0x5A));
    drop(keep);
}
