//! Chapter 1's in-kernel tests of the CPU's tables and the trap path: the
//! GDT and IDT are ours, a breakpoint comes back with its report, error
//! codes are decoded, and fatal exceptions are reported. [`tests`](crate::tests)
//! lists them in `TESTS`, with the rest.

use crate::cpu::trap::{self, TrapFrame};
use crate::cpu::{exceptions, gdt, idt};
use crate::ktest;
use crate::screen::WIDTH;
use crate::shell::builtins::raise_breakpoint;
use crate::shell::format::FixedText;
use crate::sync::IrqMutex;
use core::fmt::Write;

pub fn our_gdt_and_idt_are_loaded() {
    let (loaded, ours) = idt::loaded_and_expected_address();
    assert_eq!(loaded, ours, "the IDTR points at our table");
    let mut gdtr = x86::dtables::DescriptorTablePointer::<u64>::default();
    // SAFETY: `sgdt` only stores the GDTR into `gdtr`.
    unsafe { x86::dtables::sgdt(&mut gdtr) };
    let base = gdtr.base;
    assert_eq!(base as usize, gdt::table_address());
    assert_eq!(x86::segmentation::cs(), gdt::KERNEL_CODE);
    assert_eq!(x86::segmentation::ss(), gdt::KERNEL_DATA);
    // SAFETY: `str` only reads the task register.
    assert_eq!(unsafe { x86::task::tr() }, gdt::BOOT_TSS);
}

pub fn breakpoint_returns() {
    let before = exceptions::breakpoints_hit();
    raise_breakpoint();
    raise_breakpoint();
    assert_eq!(exceptions::breakpoints_hit(), before + 2);
}

/// `int3` with registers the token chooses: the report on the screen must
/// show them, and the address where execution resumed.
pub fn breakpoint_report_shows_the_registers() {
    let seed = ktest::seed();
    let (eax, edx) = (seed as u32, (seed >> 32) as u32);
    let resumed_at: u32;
    // `call` pushes the address of the `pop` after it, which the `pop`
    // takes: where the code is (32-bit code cannot read EIP directly).
    // `int3` is 5 bytes further on (pop r32: 1 byte, add r32, imm8: 3), and
    // execution resumes after it (1 byte): 6 bytes after the `pop`.
    // SAFETY: the call and pop balance the stack; the breakpoint handler
    // reports and returns to the next instruction; the registers the asm
    // uses are declared.
    unsafe {
        core::arch::asm!(
            "call 3f",
            "3: pop {resumed_at}",
            "add {resumed_at}, 5",
            "int3",
            resumed_at = out(reg) resumed_at,
            in("eax") eax,
            in("edx") edx,
        );
    }
    // The report's four lines are the last ones printed, above the cursor.
    let (cursor_row, _) = crate::console::cursor();
    let first_row = cursor_row.checked_sub(4).expect("four report lines");
    let mut rows = [[0u8; WIDTH]; 4];
    for (offset, row) in rows.iter_mut().enumerate() {
        crate::console::read_row(first_row + offset, row);
    }
    let shown = |row: usize| core::str::from_utf8(&rows[row]).unwrap_or("?");
    let title = "*** CPU exception #BP Breakpoint (vector 3): resuming after int3";
    assert!(shown(0).starts_with(title), "{:?}", shown(0));
    let mut eip = FixedText::<32>::new();
    let _ = write!(eip, "  EIP={resumed_at:#010x}  CS=0x0008");
    assert!(shown(1).starts_with(eip.as_str()), "{:?}", shown(1));
    let mut registers = (FixedText::<16>::new(), FixedText::<16>::new());
    let _ = write!(registers.0, "  EAX={eax:#010x}");
    let _ = write!(registers.1, "EDX={edx:#010x}");
    assert!(
        shown(2).starts_with(registers.0.as_str()) && shown(2).contains(registers.1.as_str()),
        "{:?} should show{} and {}",
        shown(2),
        registers.0.as_str(),
        registers.1.as_str()
    );
    assert!(shown(3).starts_with("  ESI="), "{:?}", shown(3));
}

/// The report a test handler kept.
static CAPTURED: IrqMutex<FixedText<512>> = IrqMutex::new(FixedText::new());

/// An exception handler for the tests: keeps the exception's report and
/// resumes after the instruction that raised it (two bytes long).
fn capture_and_skip(frame: &mut TrapFrame) -> bool {
    let mut text = FixedText::new();
    let _ = write!(
        text,
        "{}",
        exceptions::Report::new(frame, "caught by a test")
    );
    *CAPTURED.lock() = text;
    frame.eip += 2;
    true
}

/// Raises #GP twice, the error code naming a GDT entry past the table's
/// end (the token picks which) and then an IDT entry with no gate, and
/// reads the reports a handler kept.
pub fn selector_error_codes_are_decoded() {
    let seed = ktest::seed();
    trap::set_exception_handler(exceptions::GENERAL_PROTECTION, capture_and_skip);
    // The GDT has 8 entries; a selector's index is 13 bits.
    let index = 8 + (seed % 8184) as u16;
    let selector = index << 3;
    // SAFETY: the selector is past the GDT's limit, so loading it raises
    // #GP before DS changes; the handler resumes after the two-byte
    // `mov ds, r32` (8E /r; with a 16-bit register, an operand-size prefix
    // would make it three).
    unsafe { core::arch::asm!("mov ds, {0:e}", in(reg) u32::from(selector)) };
    let mut expected = FixedText::<64>::new();
    let _ = writeln!(
        expected,
        "error code {:#010x}: GDT entry {index}",
        u32::from(selector)
    );
    check_captured(
        "*** CPU exception #GP General Protection Fault (vector 13): caught by a test",
        expected.as_str(),
    );
    // Gates 48-255 are empty: `int n` on one raises #GP with the IDT bit.
    let vector = match (seed >> 20) % 3 {
        // SAFETY (all three): the gate is empty, so the CPU raises #GP
        // instead of entering it; the handler resumes after the two-byte
        // `int imm8` (CD ib).
        0 => {
            unsafe { core::arch::asm!("int 0x40") };
            0x40
        }
        1 => {
            unsafe { core::arch::asm!("int 0x80") };
            0x80
        }
        _ => {
            unsafe { core::arch::asm!("int 0xfe") };
            0xFE
        }
    };
    let mut expected = FixedText::<64>::new();
    let _ = writeln!(
        expected,
        "error code {:#010x}: IDT entry {vector}",
        vector * 8 + 2
    );
    check_captured("(vector 13): caught by a test", expected.as_str());
    trap::set_exception_handler(exceptions::GENERAL_PROTECTION, |_| false);
}

fn check_captured(title: &str, error_code: &str) {
    let captured = CAPTURED.lock();
    let text = captured.as_str();
    assert!(
        text.contains(title) && text.contains(error_code),
        "the report should hold {title:?} and {error_code:?}:\n{text}"
    );
}

pub fn divide_by_zero() {
    // Rust checks for division by zero before dividing, so use the `div`
    // instruction itself to make the CPU raise #DE.
    // SAFETY: the divide error is caught by the kernel's handler, which
    // reports and panics; nothing after it runs.
    unsafe {
        core::arch::asm!("xor edx, edx", "div {divisor}", divisor = in(reg) 0u32, inout("eax") 1u32 => _, out("edx") _);
    }
}

pub fn invalid_opcode() {
    // SAFETY: `ud2` raises #UD, which the kernel reports and panics on.
    unsafe { core::arch::asm!("ud2") };
}
