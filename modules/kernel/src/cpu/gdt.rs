//! The Global Descriptor Table.
//!
//! Protected mode still runs every memory access through a *segment*. Strata,
//! like every modern kernel, makes segmentation disappear: one code and one
//! data segment, both starting at 0 and covering all 4 GiB ("flat"), so a
//! logical address equals a linear one. What the GDT is still needed for:
//!
//! - the code segment's privilege level (ring 0) and the 32-bit default size;
//! - the Task State Segment (TSS). The CPU saves the current register state
//!   into the running task's TSS when it switches tasks, which chapter 3 uses
//!   to run the double-fault handler on a stack of its own. The TSS also
//!   says which stack a trap from ring 3 runs on (`esp0`, [`set_kernel_stack`]);
//! - the segments of user code (chapter 4): the same flat segments, at
//!   privilege level 3 ([`add_segment`]).
//!
//! GRUB leaves its own GDT loaded, somewhere we do not control, so the first
//! thing the kernel does is install this one.
//!
//! ```text
//! index  selector  descriptor
//!   0     0x00     null (the CPU requires it)
//!   1     0x08     kernel code: base 0, limit 4 GiB, execute/read, ring 0
//!   2     0x10     kernel data: base 0, limit 4 GiB, read/write, ring 0
//!   3     0x18     TSS of the boot task (the kernel itself)
//!   4..   0x20..   free: later chapters add their own TSSs (`add_tss`)
//!                    and segments (`add_segment`)
//! ```

use crate::sync::IrqMutex;
use lazy_static::lazy_static;
use x86::bits32::task::TaskStateSegment;
use x86::segmentation::{
    BuildDescriptor, CodeSegmentType, DataSegmentType, Descriptor, DescriptorBuilder,
    GateDescriptorBuilder, SegmentDescriptorBuilder, SegmentSelector,
};
use x86::Ring;

/// Selector of the flat ring-0 code segment.
pub const KERNEL_CODE: SegmentSelector = SegmentSelector::new(1, Ring::Ring0);
/// Selector of the flat ring-0 data segment.
pub const KERNEL_DATA: SegmentSelector = SegmentSelector::new(2, Ring::Ring0);
/// Selector of the boot task's TSS.
pub const BOOT_TSS: SegmentSelector = SegmentSelector::new(3, Ring::Ring0);

/// How many descriptors the table holds (the free ones are for later chapters).
const ENTRIES: usize = 8;
const FIRST_FREE: usize = 4;

struct Gdt {
    entries: [Descriptor; ENTRIES],
    used: usize,
}

lazy_static! {
    /// The table. The CPU reads it from memory whenever a segment register
    /// is loaded, so it must live at a fixed address for ever: a static. Its
    /// descriptors are built by code (the builders are not `const`), so it
    /// is a `lazy_static`, built by [`build`] the first time it is used — by
    /// [`init`].
    static ref GDT: IrqMutex<Gdt> = IrqMutex::new(build());
}

/// The boot task's TSS. The kernel runs as this task; nothing in it is read
/// until a task switch (chapter 3) saves the kernel's state into it. The CPU
/// *writes* it then, so it must be mutable memory (an immutable `static` would
/// land in `.rodata`, which chapter 3 maps read-only).
static BOOT_TASK: IrqMutex<TaskStateSegment> = IrqMutex::new(TaskStateSegment::new());

/// The flat code and data segments and the boot task's TSS; the rest free.
fn build() -> Gdt {
    let mut entries = [Descriptor::NULL; ENTRIES];
    entries[KERNEL_CODE.index() as usize] =
        DescriptorBuilder::code_descriptor(0, 0xF_FFFF, CodeSegmentType::ExecuteRead)
            .present()
            .dpl(Ring::Ring0)
            .db()
            .limit_granularity_4kb()
            .finish();
    entries[KERNEL_DATA.index() as usize] =
        DescriptorBuilder::data_descriptor(0, 0xF_FFFF, DataSegmentType::ReadWrite)
            .present()
            .dpl(Ring::Ring0)
            .db()
            .limit_granularity_4kb()
            .finish();
    entries[BOOT_TSS.index() as usize] = tss_descriptor(&BOOT_TASK);
    Gdt {
        entries,
        used: FIRST_FREE,
    }
}

/// Loads the GDT (building it, on this first use), and reloads every
/// segment register (including CS, with a far return) so that the CPU uses
/// our descriptors from now on.
pub fn init() {
    let gdt = GDT.lock();
    let pointer = x86::dtables::DescriptorTablePointer::new(&gdt.entries);
    // SAFETY: the table lives in a static, so it outlives its use by the CPU;
    // the code and data descriptors describe the same flat address space that
    // GRUB's segments did, so every address the kernel holds stays valid across
    // the reload; the TSS descriptor points at a static TSS.
    unsafe {
        x86::dtables::lgdt(&pointer);
        // The far jump that reloads CS exists only in 32-bit code. A 64-bit
        // host build (`make bench BITS=64`) compiles this file but never
        // runs it.
        #[cfg(target_arch = "x86")]
        x86::bits32::segmentation::load_cs(KERNEL_CODE);
        x86::segmentation::load_ds(KERNEL_DATA);
        x86::segmentation::load_es(KERNEL_DATA);
        x86::segmentation::load_fs(KERNEL_DATA);
        x86::segmentation::load_gs(KERNEL_DATA);
        x86::segmentation::load_ss(KERNEL_DATA);
        x86::task::load_tr(BOOT_TSS);
    }
}

/// Adds a descriptor for `tss` to the table and returns its selector, for a
/// task gate in the IDT. Fails when the table is full.
pub fn add_tss(tss: &'static IrqMutex<TaskStateSegment>) -> Result<SegmentSelector, GdtFull> {
    let mut gdt = GDT.lock();
    let index = gdt.used;
    if index >= ENTRIES {
        return Err(GdtFull);
    }
    gdt.entries[index] = tss_descriptor(tss);
    gdt.used += 1;
    Ok(SegmentSelector::new(index as u16, Ring::Ring0))
}

/// Adds `descriptor` (a code or data segment) to the table and returns its
/// selector, with a requested privilege level of `ring`: the descriptor's
/// own privilege level, so that ring-3 code may load it. Fails when the
/// table is full.
pub fn add_segment(descriptor: Descriptor, ring: Ring) -> Result<SegmentSelector, GdtFull> {
    let mut gdt = GDT.lock();
    let index = gdt.used;
    if index >= ENTRIES {
        return Err(GdtFull);
    }
    gdt.entries[index] = descriptor;
    gdt.used += 1;
    Ok(SegmentSelector::new(index as u16, ring))
}

/// Sets the stack a trap from ring 3 switches to: on such a trap the CPU
/// loads SS:ESP from the running task's TSS (`ss0:esp0`) before it pushes
/// anything, because the user's own stack cannot be trusted. Traps in ring
/// 0 stay on the stack they interrupted, so this matters only while user
/// code runs.
pub fn set_kernel_stack(top: u32) {
    let mut task = BOOT_TASK.lock();
    task.ss0 = KERNEL_DATA.bits();
    task.esp0 = top;
}

/// The GDT has no free descriptor left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GdtFull;

/// The linear address of the table (what `sgdt` should report), for tests
/// and the curious.
pub fn table_address() -> usize {
    GDT.lock().entries.as_ptr() as usize
}

fn tss_descriptor(tss: &'static IrqMutex<TaskStateSegment>) -> Descriptor {
    // The TSS sits at a fixed address inside its static; only that address
    // goes into the descriptor.
    let base = &*tss.lock() as *const TaskStateSegment as u64;
    let limit = core::mem::size_of::<TaskStateSegment>() as u64 - 1;
    <DescriptorBuilder as GateDescriptorBuilder<u32>>::tss_descriptor(base, limit, true)
        .present()
        .dpl(Ring::Ring0)
        .finish()
}
