//! The trap path: how every exception and interrupt reaches Rust code.
//!
//! For each vector there is a tiny assembly *stub*. It makes the stack look the
//! same for every vector — the CPU pushes an error code for some exceptions and
//! not for others, so the stub pushes a dummy 0 where the CPU did not — then
//! pushes the vector number and jumps to `trap_common`, which saves all general
//! registers with `pushad` and the data segment registers, loads the kernel's
//! data segment (code in ring 3 may have loaded anything into DS or ES, even
//! a null selector), and calls `dispatch` with a pointer to the registers.
//! When `dispatch` returns, `trap_common` restores the registers and `iretd`
//! resumes the interrupted code. The stack then looks like this (xv6's
//! `trapframe`, the same idea):
//!
//! ```text
//!  higher addresses
//!  +------------+
//!  | SS, ESP    |  <- only for a trap from ring 3 (the CPU switched stacks)
//!  | EFLAGS     |  \
//!  | CS         |   } pushed by the CPU
//!  | EIP        |  /
//!  | error code |  <- by the CPU, or a 0 from the stub
//!  | vector     |  <- by the stub
//!  | EAX ... EDI|  <- by `pushad` in trap_common
//!  +------------+  <- passed to `dispatch` as &mut TrapFrame
//!  | DS ES FS GS|  <- saved, then reloaded with the kernel's (restored at the end)
//!  +------------+  <- ESP
//! ```
//!
//! Handlers are registered at run time ([`set_irq_handler`],
//! [`set_exception_handler`]), so a later chapter can install, say, a page
//! fault handler without editing this file.
//!
//! Chapter 4 runs code in ring 3, and registers three more things here:
//!
//! - [`set_syscall_handler`]: the handler of `int 0x80`, whose gate user
//!   code may use;
//! - [`set_user_exception_handler`]: exceptions raised *by user code* go
//!   there first (a user page fault is the user's business, not the
//!   kernel's);
//! - [`set_user_return_hook`]: called last, just before `iretd` takes a trap
//!   back to ring 3 (how Ctrl-C stops a program that never makes a system
//!   call).

use super::exceptions;
pub use super::trap_frame::TrapFrame;
use crate::drivers::pic;
use crate::sync::IrqMutex;
use core::sync::atomic::{AtomicU32, Ordering};

/// Vectors 0–31 are CPU exceptions, 32–47 the remapped hardware IRQs.
pub const VECTOR_COUNT: usize = 48;
/// The system-call vector (`int 0x80`, as Linux and xv6 on i386).
pub const SYSCALL_VECTOR: u8 = 0x80;
/// The first IRQ vector (IRQ 0, the timer).
pub const IRQ_BASE: u8 = 32;
/// How many IRQ lines the two PICs have.
pub const IRQ_COUNT: usize = 16;

/// A handler for an IRQ line.
pub type IrqHandler = fn(&mut TrapFrame);

/// A handler for a CPU exception: returns `true` if it dealt with the
/// exception (execution resumes), `false` to fall back to the fatal report.
pub type ExceptionHandler = fn(&mut TrapFrame) -> bool;

/// A handler for traps that concern user code: the system call, user
/// exceptions, and the return to ring 3. It may change the frame (a system
/// call's result goes in `eax`), and it may not return at all (a program
/// that is killed never resumes).
pub type UserTrapHandler = fn(&mut TrapFrame);

struct Handlers {
    irq: [Option<IrqHandler>; IRQ_COUNT],
    exception: [Option<ExceptionHandler>; 32],
    syscall: Option<UserTrapHandler>,
    user_exception: Option<UserTrapHandler>,
    user_return: Option<UserTrapHandler>,
}

static HANDLERS: IrqMutex<Handlers> = IrqMutex::new(Handlers {
    irq: [None; IRQ_COUNT],
    exception: [None; 32],
    syscall: None,
    user_exception: None,
    user_return: None,
});

static IRQ_COUNTS: [AtomicU32; IRQ_COUNT] = [const { AtomicU32::new(0) }; IRQ_COUNT];
static SPURIOUS_IRQS: AtomicU32 = AtomicU32::new(0);

/// Installs `handler` for IRQ line `irq` (0–15) and unmasks the line.
pub fn set_irq_handler(irq: u8, handler: IrqHandler) {
    HANDLERS.lock().irq[irq as usize] = Some(handler);
    pic::unmask(irq);
}

/// Installs `handler` for CPU exception `vector` (0–31).
pub fn set_exception_handler(vector: u8, handler: ExceptionHandler) {
    HANDLERS.lock().exception[vector as usize] = Some(handler);
}

/// Installs `handler` for `int 0x80` (`idt::open_syscall_gate` lets ring 3
/// reach it).
pub fn set_syscall_handler(handler: UserTrapHandler) {
    HANDLERS.lock().syscall = Some(handler);
}

/// Installs `handler` for every exception raised in ring 3; kernel
/// exceptions still go to [`set_exception_handler`]'s handlers.
pub fn set_user_exception_handler(handler: UserTrapHandler) {
    HANDLERS.lock().user_exception = Some(handler);
}

/// Installs `hook`, called at the end of every trap that returns to ring 3.
pub fn set_user_return_hook(hook: UserTrapHandler) {
    HANDLERS.lock().user_return = Some(hook);
}

/// How many times IRQ `irq` has fired.
pub fn irq_count(irq: u8) -> u32 {
    IRQ_COUNTS[irq as usize].load(Ordering::Relaxed)
}

/// How many spurious IRQ 7/15s the PICs have raised (and we ignored).
pub fn spurious_irq_count() -> u32 {
    SPURIOUS_IRQS.load(Ordering::Relaxed)
}

/// Called by `trap_common` for every trap, with interrupts off.
#[cfg_attr(not(target_os = "none"), allow(dead_code))]
extern "C" fn dispatch(frame: &mut TrapFrame) {
    let vector = frame.vector as u8;
    let from_user = frame.from_user();
    if vector == SYSCALL_VECTOR {
        let handler = HANDLERS.lock().syscall;
        if let Some(handle) = handler {
            handle(frame);
        }
    } else if vector < IRQ_BASE {
        let user_handler = HANDLERS.lock().user_exception.filter(|_| from_user);
        if let Some(handle) = user_handler {
            handle(frame);
        } else {
            let handler = HANDLERS.lock().exception[vector as usize];
            let handled = handler.is_some_and(|handle| handle(frame));
            if !handled {
                exceptions::handle_unclaimed(frame);
            }
        }
    } else {
        handle_irq(vector - IRQ_BASE, frame);
    }
    if from_user {
        let hook = HANDLERS.lock().user_return;
        if let Some(hook) = hook {
            hook(frame);
        }
    }
}

fn handle_irq(irq: u8, frame: &mut TrapFrame) {
    // A spurious IRQ 7/15 is the PIC taking back an interrupt it had already
    // announced; it is not a real interrupt and must not be acknowledged.
    if pic::is_spurious(irq) {
        SPURIOUS_IRQS.fetch_add(1, Ordering::Relaxed);
        return;
    }
    IRQ_COUNTS[irq as usize].fetch_add(1, Ordering::Relaxed);
    let handler = HANDLERS.lock().irq[irq as usize];
    if let Some(handle) = handler {
        handle(frame);
    }
    pic::end_of_interrupt(irq);
}

#[cfg(target_os = "none")]
extern "C" {
    /// Addresses of the 48 stubs below, in vector order (filled in by the
    /// assembler; read-only).
    #[link_name = "strata_trap_stubs"]
    pub(super) static TRAP_STUBS: [u32; VECTOR_COUNT];
    /// The stub of `int 0x80`.
    fn strata_syscall_stub();
}

/// The address of the stub of `int 0x80`.
#[cfg(target_os = "none")]
pub fn syscall_stub_address() -> u32 {
    strata_syscall_stub as *const () as usize as u32
}

#[cfg(not(target_os = "none"))]
pub fn syscall_stub_address() -> u32 {
    0
}

// The stubs. `STUB n, e`: vector n, e = 1 if the CPU pushes an error code.
// Each stub also appends its own address to the `strata_trap_stubs` table.
#[cfg(target_os = "none")]
core::arch::global_asm!(
    r#"
    .section .text.trap, "ax"
trap_common:
    pushad
    mov eax, ds              // the data segments of the interrupted code:
    push eax                 // from ring 3 they are the program's, which
    mov eax, es              // may be anything it loaded (even null), so
    push eax                 // the kernel loads its own and puts these back.
    mov eax, fs              // (Through EAX: the assembler would make a
    push eax                 // `push ds` a 2-byte push.)
    mov eax, gs
    push eax
    mov ax, 0x10             // KERNEL_DATA
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    cld                      // the Rust ABI expects the direction flag clear
    lea eax, [esp + 16]      // argument: &mut TrapFrame (above the segments)
    push eax
    call {dispatch}
    add esp, 4
    pop eax
    mov gs, ax
    pop eax
    mov fs, ax
    pop eax
    mov es, ax
    pop eax
    mov ds, ax
    popad
    add esp, 8               // drop the vector and the error code
    iretd

    .macro STUB num, has_error_code
    .section .text.trap, "ax"
trap_stub_\num:
    .if \has_error_code == 0
    push 0
    .endif
    push \num
    jmp trap_common
    .section .rodata.trap_stubs, "a"
    .long trap_stub_\num
    .endm

    .section .rodata.trap_stubs, "a"
    .p2align 2
    .global strata_trap_stubs
strata_trap_stubs:
    STUB 0, 0
    STUB 1, 0
    STUB 2, 0
    STUB 3, 0
    STUB 4, 0
    STUB 5, 0
    STUB 6, 0
    STUB 7, 0
    STUB 8, 1
    STUB 9, 0
    STUB 10, 1
    STUB 11, 1
    STUB 12, 1
    STUB 13, 1
    STUB 14, 1
    STUB 15, 0
    STUB 16, 0
    STUB 17, 1
    STUB 18, 0
    STUB 19, 0
    STUB 20, 0
    STUB 21, 1
    STUB 22, 0
    STUB 23, 0
    STUB 24, 0
    STUB 25, 0
    STUB 26, 0
    STUB 27, 0
    STUB 28, 0
    STUB 29, 1
    STUB 30, 1
    STUB 31, 0
    STUB 32, 0
    STUB 33, 0
    STUB 34, 0
    STUB 35, 0
    STUB 36, 0
    STUB 37, 0
    STUB 38, 0
    STUB 39, 0
    STUB 40, 0
    STUB 41, 0
    STUB 42, 0
    STUB 43, 0
    STUB 44, 0
    STUB 45, 0
    STUB 46, 0
    STUB 47, 0

    // `int 0x80`: like the others, but outside the table (its vector is
    // not 48), and global so that Rust can take its address.
    .section .text.trap, "ax"
    .global strata_syscall_stub
strata_syscall_stub:
    push 0
    push 0x80
    jmp trap_common
    .text
"#,
    dispatch = sym dispatch,
);
