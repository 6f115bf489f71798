//! Guard pages for the heap debugger, KFENCE-style.
//!
//! Red zones (chapter 2's heap debugger) catch an overrun when the block is
//! freed — long after the instruction that did it. With paging the kernel
//! can do better for a *sample* of blocks: put the block at the very end of
//! a page whose next page is not mapped. The first byte written past the
//! end faults at once, and the fault handler knows exactly which block it
//! was, and who allocated it. Linux's KFENCE does this for one allocation
//! every 100 ms, because pages are too expensive to give every block.
//!
//! ```text
//!   slot i:  | data page (mapped)                 | guard page (unmapped) |
//!            |   ...unused... | header | block... |  <- a write here faults
//!   GUARD_START + i * 8 KiB                       ^ page end = block end
//! ```
//!
//! When a guarded block is freed its data page is unmapped too, so a use
//! after free faults as well; the slot remembers the block until it is
//! reused (slots are taken round-robin, so that is as late as possible).
//!
//! A fault in a slot is reported — the block, how far past its end, the
//! site that allocated it — and then the kernel *carries on*: the handler
//! maps a spare frame at the faulting page and the instruction is retried.
//! (The slot drops that page when it is next freed or reused.)
//!
//! In `heapdebug=full`, one allocation in [`SAMPLE_EVERY`] goes to a slot
//! (`guardpages=N` on the command line changes it; 0 turns it off).

use crate::address::{Page, VirtAddr};
use crate::growing_heap::{self, FaultInError};
use crate::kernel_space;
use crate::layout::{GUARD_END, GUARD_SLOTS, GUARD_START, PAGE_SIZE};
use core::fmt;
use memory::frames::Owner;
use memory::heap::debug::{GuardPages, GuardedBlock};
use memory::kernel::command_line::{self, KernelOption};
use memory::kernel::sync::IrqMutex;
use memory::kernel_heap::HEAP;
use x86::irq::PageFaultError;

/// By default, one allocation in this many is put on a guard page.
pub const SAMPLE_EVERY: usize = 100;

const SLOT_SPAN: usize = 2 * PAGE_SIZE;

#[derive(Clone, Copy)]
struct Slot {
    /// The block on it now, or the last one (with `freed_at` set).
    block: Option<GuardedBlock>,
    in_use: bool,
    /// Which of the two pages are mapped right now.
    data_mapped: bool,
    guard_mapped: bool,
}

struct Slots {
    slots: [Slot; GUARD_SLOTS],
    /// Where the round-robin search starts.
    next: usize,
    /// The last fault in a slot, for the tests to check what was caught.
    last_fault: Option<GuardFault>,
}

static SLOTS: IrqMutex<Slots> = IrqMutex::new(Slots {
    slots: [Slot {
        block: None,
        in_use: false,
        data_mapped: false,
        guard_mapped: false,
    }; GUARD_SLOTS],
    next: 0,
    last_fault: None,
});

/// What a fault in a slot was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuardFault {
    pub address: usize,
    pub write: bool,
    pub block: GuardedBlock,
}

impl fmt::Display for GuardFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let access = if self.write { "write" } else { "read" };
        let GuardedBlock {
            block,
            size,
            allocated_at,
            freed_at,
        } = self.block;
        write!(f, "guard page: {access} of {:#010x} ", self.address)?;
        match freed_at {
            Some(freed_at) => write!(
                f,
                "is a use after free at offset {} of block {block:#010x} ({size} bytes, \
                 allocated at {allocated_at}, freed at {freed_at})",
                self.address.wrapping_sub(block)
            ),
            None if self.address >= block + size => {
                let past = self.address - (block + size) + 1;
                let unit = if past == 1 { "byte" } else { "bytes" };
                write!(
                    f,
                    "is {past} {unit} past the end of block {block:#010x} ({size} bytes, \
                     allocated at {allocated_at})"
                )
            }
            None => write!(
                f,
                "is {} bytes before block {block:#010x} ({size} bytes, allocated at {allocated_at})",
                block - self.address
            ),
        }
    }
}

fn slot_of(address: usize) -> Option<usize> {
    (GUARD_START..GUARD_END)
        .contains(&address)
        .then(|| (address - GUARD_START) / SLOT_SPAN)
}

fn data_page(slot: usize) -> usize {
    GUARD_START + slot * SLOT_SPAN
}

/// The page at `address` (a slot's data page, as the heap debugger names it).
fn page_at(address: usize) -> Page {
    Page::containing(VirtAddr::new(address))
}

/// The unmapped page after the data page `page`.
fn guard_page(page: usize) -> Page {
    page_at(page).add(1)
}

/// Maps a fresh, zeroed frame at `page`, owned by the mapping
/// (`growing_heap::fault_in_page`). Guard-page frames hold heap blocks, so
/// the heap is their owner.
fn map_fresh(page: usize) -> Result<(), FaultInError> {
    growing_heap::fault_in_page(page_at(page))
}

/// The provider the heap debugger is given.
struct KernelGuardPages;

impl GuardPages for KernelGuardPages {
    /// The next free slot, round-robin, with its data page mapped and its
    /// guard page not. Uses `try_lock` throughout: this runs with the heap
    /// locked, possibly inside code that holds the page tables.
    fn allocate_page(&self) -> Option<usize> {
        let mut slots = SLOTS.try_lock()?;
        let start = slots.next;
        let index = (0..GUARD_SLOTS)
            .map(|step| (start + step) % GUARD_SLOTS)
            .find(|&index| !slots.slots[index].in_use)?;
        let page = data_page(index);
        let slot = &mut slots.slots[index];
        if slot.guard_mapped {
            kernel_space::unmap_owned(guard_page(page), Owner::Heap).ok()?;
            slot.guard_mapped = false;
        }
        if !slot.data_mapped {
            map_fresh(page).ok()?;
            slot.data_mapped = true;
        }
        (slot.in_use, slot.block) = (true, None);
        slots.next = (index + 1) % GUARD_SLOTS;
        Some(page)
    }

    fn describe_page(&self, page: usize, block: GuardedBlock) {
        if let (Some(index), Some(mut slots)) = (slot_of(page), SLOTS.try_lock()) {
            slots.slots[index].block = Some(block);
        }
    }

    fn block_at(&self, address: usize) -> Option<GuardedBlock> {
        let index = slot_of(address)?;
        SLOTS.try_lock()?.slots[index].block
    }

    fn free_page(&self, page: usize) {
        let (Some(index), Some(mut slots)) = (slot_of(page), SLOTS.try_lock()) else {
            return;
        };
        let slot = &mut slots.slots[index];
        slot.in_use = false;
        if slot.data_mapped && kernel_space::unmap_owned(page_at(page), Owner::Heap).is_ok() {
            slot.data_mapped = false;
        }
        if slot.guard_mapped && kernel_space::unmap_owned(guard_page(page), Owner::Heap).is_ok() {
            slot.guard_mapped = false;
        }
    }
}

static PROVIDER: KernelGuardPages = KernelGuardPages;

/// Makes page tables for the slots and gives them to the heap debugger
/// (which uses them only in `heapdebug=full`).
pub fn install() {
    command_line::register(&[KernelOption {
        name: "guardpages",
        values: "N",
    }]);
    if let Err(error) =
        kernel_space::ensure_tables(VirtAddr::new(GUARD_START), VirtAddr::new(GUARD_END))
    {
        log::warn!("guard pages: {error}: the heap debugger will do without them");
        return;
    }
    let every = match command_line::option("guardpages") {
        None => SAMPLE_EVERY,
        Some(text) => text.parse().unwrap_or_else(|_| {
            log::warn!("guardpages={text} is not a number: using {SAMPLE_EVERY}");
            SAMPLE_EVERY
        }),
    };
    HEAP.lock().set_guard_pages(&PROVIDER, every);
}

/// Reports a fault in a slot and makes the page usable so that the kernel
/// can carry on. Returns `false` if it cannot (the fault is then fatal).
pub fn handle_fault(address: VirtAddr, code: PageFaultError) -> bool {
    let address = address.as_usize();
    let Some(index) = slot_of(address) else {
        return false;
    };
    let Some(mut slots) = SLOTS.try_lock() else {
        return false;
    };
    let Some(block) = slots.slots[index].block else {
        return false;
    };
    let fault = GuardFault {
        address,
        write: code.contains(PageFaultError::WR),
        block,
    };
    log::error!("{fault} (mapping a spare page and carrying on)");
    slots.last_fault = Some(fault);
    let page = address & !(PAGE_SIZE - 1);
    let guard = page != data_page(index);
    if map_fresh(page).is_err() {
        return false;
    }
    let slot = &mut slots.slots[index];
    if guard {
        slot.guard_mapped = true;
    } else {
        slot.data_mapped = true;
    }
    true
}

/// The last fault reported in a slot.
pub fn last_fault() -> Option<GuardFault> {
    SLOTS.lock().last_fault
}
