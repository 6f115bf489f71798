//! Into ring 3 and back.
//!
//! There is no instruction that "calls" user code. The kernel builds the
//! frame that an interrupt *from* ring 3 would have left on the stack, and
//! returns through it with `iretd`: the CPU pops EIP, CS (RPL 3), EFLAGS,
//! and, because the privilege level changes, ESP and SS too.
//!
//! ```text
//!  the kernel stack just before iretd       then, in ring 3:
//!  +--------------------+
//!  | SS  = user data    |                   ESP = user stack top
//!  | ESP = user stack   |                   CS  = user code (CPL 3)
//!  | EFLAGS (IF = 1)    |                   EIP = the program's entry
//!  | CS  = user code    |
//!  | EIP = entry        |  <- ESP
//!  +--------------------+
//! ```
//!
//! The way back is a trap: a system call, an interrupt, an exception. The
//! CPU switches to the stack the TSS names (`esp0`, set below to just under
//! this function's frame), pushes SS:ESP and EFLAGS, CS, EIP there, and runs
//! the handler in ring 0. Usually the handler returns to the program with
//! `iretd`. When the program is finished (it called `exit`, it faulted, it
//! was interrupted with Ctrl-C), [`leave`] instead puts back the stack
//! pointer that [`enter`] saved and returns from `enter`, as `longjmp`
//! would: every trap frame in between is simply dropped.
//!
//! ```text
//!  kernel stack                        (grows down)
//!  | run()'s frame              |
//!  | enter: saved EBP EBX ESI EDI | <- saved ESP (strata_kernel_esp)
//!  | ...  256 bytes of margin     |
//!  | trap frames of the program   | <- esp0: traps from ring 3 start here
//!  |   (a syscall, an IRQ, ...)   |
//! ```

use crate::segments;
use paging::memory::kernel::cpu::gdt;

/// Where the program starts, and the registers it starts with.
#[repr(C)]
pub struct UserEntry {
    pub eip: u32,
    pub esp: u32,
    /// The argument text's address and length (`_start` reads EAX, EBX).
    pub eax: u32,
    pub ebx: u32,
    pub cs: u32,
    pub ds: u32,
}

core::arch::global_asm!(
    r#"
    .section .bss.ring3, "aw"
    .p2align 2
strata_kernel_esp:
    .long 0

    .section .text.ring3, "ax"
    .global strata_enter_user
strata_enter_user:
    push ebp
    push ebx
    push esi
    push edi
    mov [strata_kernel_esp], esp
    mov ecx, [esp + 20]
    mov eax, [ecx + 20]
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    push dword ptr [ecx + 20]
    push dword ptr [ecx + 4]
    push 0x202
    push dword ptr [ecx + 16]
    push dword ptr [ecx + 0]
    mov eax, [ecx + 8]
    mov ebx, [ecx + 12]
    xor ecx, ecx
    xor edx, edx
    xor esi, esi
    xor edi, edi
    xor ebp, ebp
    iretd

    .global strata_leave_user
strata_leave_user:
    mov eax, [esp + 4]
    mov esp, [strata_kernel_esp]
    mov ecx, {kernel_data}
    mov ds, cx
    mov es, cx
    mov fs, cx
    mov gs, cx
    pop edi
    pop esi
    pop ebx
    pop ebp
    ret
    .text
"#,
    kernel_data = const gdt::KERNEL_DATA.bits(),
);

extern "C" {
    fn strata_enter_user(entry: *const UserEntry) -> i32;
    fn strata_leave_user(status: i32) -> !;
}

/// Runs the program from `entry` until it is finished; returns what
/// [`leave`] was given (its exit status). The program's address space must
/// be loaded (CR3) already.
pub fn enter(entry: &UserEntry) -> i32 {
    let here: u32;
    // SAFETY: reads ESP only.
    unsafe { core::arch::asm!("mov {}, esp", out(reg) here) };
    // Traps from ring 3 land below enter's saved registers, with room to
    // spare; rounded down to 16 bytes.
    gdt::set_kernel_stack((here - 256) & !15);
    // SAFETY: `entry` holds a user code and data selector (segments.rs),
    // and an EIP and ESP in the program's address space, which is loaded.
    // Ring 3 cannot harm the kernel: its pages are supervisor-only. The
    // function returns only through `leave`, with the stack as it saved it.
    unsafe { strata_enter_user(entry) }
}

/// Ends the running program: returns `status` from [`enter`]. Call it only
/// from a trap taken in ring 3 (the saved stack belongs to `enter`), with
/// no lock held.
pub fn leave(status: i32) -> ! {
    // SAFETY: called from a trap of the program `enter` started, so the
    // stack pointer it saved is still the caller's frame; the frames above
    // it are the trap's, and are dropped.
    unsafe { strata_leave_user(status) }
}

/// The selectors a program runs with.
pub fn selectors() -> (u32, u32) {
    (
        u32::from(segments::user_code()),
        u32::from(segments::user_data()),
    )
}
