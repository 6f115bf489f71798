//! Chapter 2's start-up, first half: from GRUB's memory map to a frame
//! allocator (the heap, in `kernel_heap`, is built on it next).
//!
//! ```text
//!  multiboot2 memory map ──> MemoryMap ──(reserve: first MiB, kernel, boot
//!                                         info, modules, frame tables)
//!                               │
//!                               ▼
//!                        FrameAllocator ──(contiguous frames)──> kernel heap
//! ```
//!
//! In this chapter paging is off, so a physical address *is* the address the
//! CPU uses: the frame allocator's tables and the heap are reached directly
//! at the physical addresses the memory map gave us.

use crate::frames::FrameAllocator;
use crate::memory_map::{MapEntry, MemoryMap, PhysRange};
use kernel::boot;
use kernel::shell::format::ByteSize;
use kernel::sync::{IrqMutex, IrqMutexGuard};
use multiboot2::MemoryAreaType;

/// The one frame allocator (None until [`init`]).
static FRAMES: IrqMutex<Option<FrameAllocator<'static>>> = IrqMutex::new(None);
/// The cleaned memory map, with its reservations, for the `frames` command
/// and the tests.
static MEMORY_MAP: spin::Once<MemoryMap> = spin::Once::new();

const MIB: u64 = 1 << 20;

/// Builds the memory map and the frame allocator. Chapter 2 then gives the
/// heap frames of its own (`memory::init`); chapter 3 turns paging on first
/// and gives the heap virtual memory.
pub fn init() {
    let mut map = memory_map_from_boot_info();
    let words = FrameAllocator::storage_words(&map);
    let bytes = (words * 4) as u64;
    let Some(start) = map.find_available(bytes, MIB) else {
        panic!(
            "no room for the frame allocator's {bytes} bytes of bitmap and tags in the memory map"
        );
    };
    map.reserve(
        PhysRange::new(start, start + bytes),
        "frame allocator bitmap and tags",
    )
    .expect("room for reservations");
    // SAFETY: `start..start + bytes` is usable RAM (the map says so), and is
    // now reserved, so nothing else will ever be given it; paging is off, so
    // the physical address is the address; 4 KiB alignment suits u32s.
    let storage = unsafe { core::slice::from_raw_parts_mut(start as usize as *mut u32, words) };
    let frames = FrameAllocator::new(&map, storage);
    let counts = frames.counts();
    *FRAMES.lock() = Some(frames);
    MEMORY_MAP.call_once(|| map);
    log::info!(
        "frames: {} free of {} ({} reserved), {} of bitmaps and tags at {start:#x}",
        counts.free,
        counts.total,
        counts.reserved,
        ByteSize(bytes)
    );
}

/// The map with everything the kernel already uses reserved.
fn memory_map_from_boot_info() -> MemoryMap {
    let info = boot::info();
    let Some(tag) = info.memory_map_tag() else {
        panic!("GRUB passed no memory map: cannot know where RAM is");
    };
    let entries = tag.memory_areas().iter().map(|area| MapEntry {
        start: area.start_address(),
        length: area.size(),
        usable: area.typ() == MemoryAreaType::Available,
    });
    let mut map = match MemoryMap::from_entries(entries) {
        Ok(map) => map,
        Err(_) => panic!("the memory map has more pieces than Strata can track"),
    };
    let layout = boot::kernel_layout();
    let (info_start, info_end) = boot::info_range();
    let mut reserve = |start: usize, end: usize, reason| {
        map.reserve(PhysRange::new(start as u64, end as u64), reason)
            .expect("room for reservations");
    };
    reserve(0, MIB as usize, "first MiB: BIOS data, VGA memory, ROMs");
    reserve(
        layout.image.0,
        layout.image.1,
        "kernel image and boot stack",
    );
    reserve(info_start, info_end, "multiboot2 boot information");
    for module in info.module_tags() {
        reserve(
            module.start_address() as usize,
            module.end_address() as usize,
            "GRUB module",
        );
    }
    map
}

/// The frame allocator. Panics before [`init`].
pub fn frames() -> FramesGuard {
    FramesGuard(FRAMES.lock())
}

/// The frame allocator, unless it is locked right now (or not set up yet).
/// For code that may run while this CPU holds the lock — a page-fault
/// handler must not wait for a lock its own CPU will never release.
pub fn try_frames() -> Option<FramesGuard> {
    let guard = FRAMES.try_lock()?;
    guard.is_some().then_some(FramesGuard(guard))
}

/// The locked frame allocator (interrupts stay off while it is held).
pub struct FramesGuard(IrqMutexGuard<'static, Option<FrameAllocator<'static>>>);

impl core::ops::Deref for FramesGuard {
    type Target = FrameAllocator<'static>;
    fn deref(&self) -> &Self::Target {
        self.0.as_ref().expect("memory::setup::init() has run")
    }
}

impl core::ops::DerefMut for FramesGuard {
    fn deref_mut(&mut self) -> &mut Self::Target {
        self.0.as_mut().expect("memory::setup::init() has run")
    }
}

/// The cleaned memory map. Panics before [`init`].
pub fn memory_map() -> &'static MemoryMap {
    MEMORY_MAP.get().expect("memory::setup::init() has run")
}

/// Counts the frames the kernel's own structures hold.
pub type FrameCounter = fn() -> usize;

static KERNEL_FRAMES: spin::Once<FrameCounter> = spin::Once::new();

/// How many frames the kernel's own structures hold, as the structures
/// themselves count them (chapter 2: the heap's frames; chapter 3: heap
/// pages and page tables). Tests compare it with the frame allocator's
/// count, which is kept separately. 0 until a counter is set.
pub fn kernel_frames() -> usize {
    KERNEL_FRAMES.get().map_or(0, |count| count())
}

/// Sets how [`kernel_frames`] counts (once): the chapter that builds the
/// heap says so.
pub fn count_kernel_frames_with(counter: FrameCounter) {
    KERNEL_FRAMES.call_once(|| counter);
}
