//! The double fault, handled by a task of its own.
//!
//! Below the kernel's boot stack is a guard page that is never mapped. When
//! the stack overflows into it, the faulting instruction raises a page
//! fault — and to deliver it, the CPU pushes EFLAGS, CS, EIP and an error
//! code onto... the same stack, which is in the guard page. That push
//! faults too: a fault while delivering a fault is a *double fault* (#DF,
//! vector 8). Were #DF delivered the same way, its push would fault a third
//! time, and a *triple* fault resets the machine without a word.
//!
//! So vector 8 is a **task gate**. Instead of pushing onto the current
//! stack, the CPU switches *tasks*: it saves every register into the current
//! task's TSS (Task State Segment), loads every register — ESP included —
//! from the double-fault task's TSS, and runs it:
//!
//! ```text
//!  boot task (the kernel)            double-fault task
//!  TSS at GDT slot 3                 TSS at a free GDT slot
//!  +---------------------+   #DF     +--------------------------+
//!  | EIP, ESP (in guard) |  -------> | EIP = double_fault_task  |
//!  | ... saved by the CPU|           | ESP = its own 16 KiB     |
//!  +---------------------+  <- link  | CR3 = the kernel's tables|
//!                                    +--------------------------+
//! ```
//!
//! The new TSS's `link` field names the interrupted task, so the handler can
//! read where the kernel was (its ESP tells an overflow from other causes),
//! report, and stop.

use crate::address::PAGE_SIZE;
use core::cell::UnsafeCell;
use memory::kernel::boot;
use memory::kernel::cpu::gdt::{self, KERNEL_CODE, KERNEL_DATA};
use memory::kernel::cpu::{exceptions, idt};
use memory::kernel::sync::IrqMutex;
use memory::kernel::{console, println};
use x86::bits32::task::TaskStateSegment;
use x86::segmentation::SegmentSelector;

/// Vector of the double fault.
const DOUBLE_FAULT: u8 = 8;
const STACK_SIZE: usize = 16 << 10;

/// The double-fault task's stack: only the CPU (through the TSS's ESP) and
/// the task itself ever use it.
#[repr(C, align(16))]
struct TaskStack(UnsafeCell<[u8; STACK_SIZE]>);

// SAFETY: no Rust code reads or writes the array; it is handed to the CPU
// as a stack, used by the double-fault task alone.
unsafe impl Sync for TaskStack {}

static STACK: TaskStack = TaskStack(UnsafeCell::new([0; STACK_SIZE]));

/// The task's TSS. The CPU writes to it (the `link` field, the busy bit's
/// descriptor), so it lives in writable memory.
static TASK: IrqMutex<TaskStateSegment> = IrqMutex::new(TaskStateSegment::new());

/// Fills in the double-fault task's TSS and points vector 8 at it.
pub fn install() {
    let stack_top = STACK.0.get() as usize + STACK_SIZE;
    {
        let mut tss = TASK.lock();
        tss.eip = double_fault_task as *const () as usize as u32;
        // As if called: room for a return address, 16-byte aligned below.
        tss.esp = (stack_top - 16) as u32;
        tss.ebp = 0;
        tss.eflags = 0x2; // bit 1 is always set; IF = 0: no interrupts
        tss.cr3 = crate::kernel_space::active_directory().start().as_usize() as u32;
        tss.cs = ring0_gdt_selector(KERNEL_CODE);
        let data = ring0_gdt_selector(KERNEL_DATA);
        (tss.ds, tss.es, tss.fs, tss.gs, tss.ss) = (data, data, data, data, data);
        // No I/O permission bitmap: its offset points past the TSS's end.
        tss.iobp_offset = core::mem::size_of::<TaskStateSegment>() as u16;
    }
    match gdt::add_tss(&TASK) {
        Ok(selector) => idt::set_task_gate(DOUBLE_FAULT, selector),
        Err(_) => panic!("no free GDT slot for the double-fault task"),
    }
}

/// The raw value of a ring-0 GDT selector: the index times 8 (the low three
/// bits, table and privilege level, are all 0).
fn ring0_gdt_selector(selector: SegmentSelector) -> u16 {
    selector.index() << 3
}

/// The registers the CPU saved for the task that double-faulted, found
/// through this task's `link` field and the GDT.
fn interrupted_task() -> Option<TaskStateSegment> {
    let link = SegmentSelector::from_raw(TASK.try_lock()?.link);
    let descriptor_address = gdt::table_address() + usize::from(link.index()) * 8;
    // SAFETY: the GDT is a static table that lives for ever; `link` is a
    // selector the CPU itself wrote, of the TSS it switched away from.
    let descriptor = unsafe { (descriptor_address as *const u64).read() };
    let base = ((descriptor >> 16) & 0xFF_FFFF) | ((descriptor >> 32) & 0xFF00_0000);
    // SAFETY: the base of a TSS descriptor in our GDT is one of the kernel's
    // static TSSs; the CPU finished writing it before starting this task.
    Some(unsafe { (base as usize as *const TaskStateSegment).read() })
}

/// The double-fault task's entry point. It never returns: there is nothing
/// to return to (the CPU pushed the error code where a return address would
/// be).
extern "C" fn double_fault_task() -> ! {
    console::take_for_emergency();
    let guard = boot::kernel_layout().stack_guard;
    let cr2 = exceptions::faulting_address();
    let Some(interrupted) = interrupted_task() else {
        panic!("double fault (caught by the double-fault task; the interrupted task is unknown)");
    };
    // Copies: the TSS is a packed struct, its fields cannot be borrowed.
    let (eip, esp, ebp) = (interrupted.eip, interrupted.esp as usize, interrupted.ebp);
    println!("*** CPU exception #DF Double Fault (vector 8): handled by the double-fault task");
    println!(
        "  the interrupted task: EIP={eip:#010x} ESP={esp:#010x} EBP={ebp:#010x}; CR2={cr2:#010x}"
    );
    // The fault that could not be delivered pushed at or just below ESP.
    if (guard..=guard + PAGE_SIZE).contains(&esp) {
        println!("  ESP is in the boot stack's guard page {guard:#010x}: the kernel stack is full");
        panic!(
            "kernel stack overflow: ESP {esp:#010x} ran into the guard page at {guard:#010x} \
             (EIP {eip:#010x}; caught by the double-fault task)"
        );
    }
    panic!("double fault at EIP {eip:#010x}, ESP {esp:#010x} (caught by the double-fault task)");
}
