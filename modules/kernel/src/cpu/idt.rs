//! The Interrupt Descriptor Table.
//!
//! When an exception or interrupt with vector *n* arrives, the CPU reads entry
//! *n* of the IDT: a *gate* naming a code segment and an address to jump to.
//! Strata fills vectors 0–31 (CPU exceptions) and 32–47 (the 16 hardware IRQs,
//! once the PICs are remapped there) with *interrupt gates* pointing at the
//! small assembly stubs in [`trap`](super::trap). An interrupt gate also clears
//! EFLAGS.IF, so a handler is never interrupted by another IRQ.
//!
//! A gate can also be a *task gate* (see [`set_task_gate`]): instead of jumping,
//! the CPU switches to another task, with its own stack. Chapter 3 uses one for
//! the double fault, so that even a kernel stack overflow gets reported.

use super::gdt::KERNEL_CODE;
use super::trap::VECTOR_COUNT;
use crate::sync::IrqMutex;
use lazy_static::lazy_static;
use x86::segmentation::{
    BuildDescriptor, Descriptor, DescriptorBuilder, GateDescriptorBuilder, SegmentSelector,
    TaskGateDescriptorBuilder,
};
use x86::Ring;

const ENTRIES: usize = 256;

lazy_static! {
    /// The table. Like the GDT, it must stay put for as long as interrupts
    /// can happen, so it is a static; its gates are built by code (the
    /// descriptor builders are not `const`), so it is a `lazy_static`,
    /// built by [`build`] the first time it is used — by [`init`].
    static ref IDT: IrqMutex<[Descriptor; ENTRIES]> = IrqMutex::new(build());
}

/// Vectors 0–47 point at their trap stubs; the rest are not present.
fn build() -> [Descriptor; ENTRIES] {
    let mut idt = [Descriptor::NULL; ENTRIES];
    for (vector, stub) in trap_stub_addresses().iter().enumerate() {
        idt[vector] = DescriptorBuilder::interrupt_descriptor(KERNEL_CODE, *stub)
            .present()
            .dpl(Ring::Ring0)
            .finish();
    }
    idt
}

/// Loads the table (building it, on this first use).
pub fn init() {
    let idt = IDT.lock();
    let pointer = x86::dtables::DescriptorTablePointer::new(&*idt);
    // SAFETY: the table is a static; every present gate points at a stub that
    // saves the registers, calls the dispatcher and returns with `iretd`.
    unsafe { x86::dtables::lidt(&pointer) };
}

/// Replaces `vector`'s gate with a task gate: the CPU will switch to the task
/// whose TSS `tss` selects. Used for the double fault in chapter 3.
pub fn set_task_gate(vector: u8, tss: SegmentSelector) {
    IDT.lock()[vector as usize] = DescriptorBuilder::task_gate_descriptor(tss)
        .present()
        .dpl(Ring::Ring0)
        .finish();
}

/// Points `vector` at `handler` with an interrupt gate that ring-3 code may
/// invoke with `int vector` (DPL 3): the door of the system call. Every
/// other gate has DPL 0, so `int 13` from user code is itself a #GP.
pub fn set_user_gate(vector: u8, handler: u32) {
    IDT.lock()[vector as usize] = DescriptorBuilder::interrupt_descriptor(KERNEL_CODE, handler)
        .present()
        .dpl(Ring::Ring3)
        .finish();
}

/// Opens `int 0x80`, the system call (trap::set_syscall_handler), to ring 3.
pub fn open_syscall_gate() {
    set_user_gate(
        super::trap::SYSCALL_VECTOR,
        super::trap::syscall_stub_address(),
    );
}

/// The IDT's address as the CPU sees it (`sidt`), and ours, for a self-test.
pub fn loaded_and_expected_address() -> (usize, usize) {
    let mut loaded = x86::dtables::DescriptorTablePointer::<Descriptor>::default();
    // SAFETY: `sidt` only stores the IDTR into `loaded`.
    unsafe { x86::dtables::sidt(&mut loaded) };
    let base = loaded.base;
    (base as usize, IDT.lock().as_ptr() as usize)
}

#[cfg(target_os = "none")]
fn trap_stub_addresses() -> [u32; VECTOR_COUNT] {
    // SAFETY: `TRAP_STUBS` is a read-only table of addresses emitted by the
    // assembler in `trap.rs`; it is never written.
    unsafe { super::trap::TRAP_STUBS }
}

#[cfg(not(target_os = "none"))]
fn trap_stub_addresses() -> [u32; VECTOR_COUNT] {
    unreachable!("the trap stubs exist only in the kernel image")
}
