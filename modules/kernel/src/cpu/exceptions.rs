//! The 32 CPU exceptions: their names, and the report printed when one is not
//! handled.
//!
//! An exception is the CPU telling the kernel that an instruction could not
//! complete (a divide by zero, a page that is not present, a privilege
//! violation). Most leave the machine in a state where continuing would only
//! repeat the fault, so Strata prints everything it knows — which exception,
//! where, the error code, the registers — and panics. The breakpoint (`int3`,
//! vector 3) is the exception meant to be resumed: a debugger's hook. Strata
//! reports it and carries on with the next instruction.
//!
//! This is the one fatal path for every exception. A later chapter that
//! handles an exception (chapter 3's page faults) serves what it can and
//! leaves the rest here; it adds what it knows to the report by registering
//! a [`ReportDecoder`]: lines of its own after the registers, and the one line the
//! panic says.

use super::trap_frame::TrapFrame;
use crate::console;
use crate::sync::IrqMutex;
use core::fmt::{self, Write};
use core::sync::atomic::{AtomicU32, Ordering};
use x86::bits32::eflags::EFlags;

/// One row of the exception table (Intel SDM vol. 3A, table 6-1).
pub struct ExceptionInfo {
    /// The short name the manuals use, e.g. `#PF`.
    pub mnemonic: &'static str,
    pub name: &'static str,
    /// Whether the CPU pushes an error code for it.
    pub has_error_code: bool,
}

const fn exception(
    mnemonic: &'static str, name: &'static str, has_error_code: bool,
) -> ExceptionInfo {
    ExceptionInfo {
        mnemonic,
        name,
        has_error_code,
    }
}

/// Vectors 0–31, in order.
pub const EXCEPTIONS: [ExceptionInfo; 32] = [
    exception("#DE", "Divide Error", false),
    exception("#DB", "Debug", false),
    exception("NMI", "Non-Maskable Interrupt", false),
    exception("#BP", "Breakpoint", false),
    exception("#OF", "Overflow", false),
    exception("#BR", "BOUND Range Exceeded", false),
    exception("#UD", "Invalid Opcode", false),
    exception("#NM", "Device Not Available", false),
    exception("#DF", "Double Fault", true),
    exception("--", "Coprocessor Segment Overrun", false),
    exception("#TS", "Invalid TSS", true),
    exception("#NP", "Segment Not Present", true),
    exception("#SS", "Stack-Segment Fault", true),
    exception("#GP", "General Protection Fault", true),
    exception("#PF", "Page Fault", true),
    exception("--", "Reserved", false),
    exception("#MF", "x87 Floating-Point Error", false),
    exception("#AC", "Alignment Check", true),
    exception("#MC", "Machine Check", false),
    exception("#XM", "SIMD Floating-Point Exception", false),
    exception("#VE", "Virtualization Exception", false),
    exception("#CP", "Control Protection Exception", true),
    exception("--", "Reserved", false),
    exception("--", "Reserved", false),
    exception("--", "Reserved", false),
    exception("--", "Reserved", false),
    exception("--", "Reserved", false),
    exception("--", "Reserved", false),
    exception("#HV", "Hypervisor Injection Exception", false),
    exception("#VC", "VMM Communication Exception", true),
    exception("#SX", "Security Exception", true),
    exception("--", "Reserved", false),
];

/// Vector of the breakpoint exception raised by `int3`.
pub const BREAKPOINT: u8 = 3;
/// Vector of the divide error.
pub const DIVIDE_ERROR: u8 = 0;
/// Vector of the page fault.
pub const PAGE_FAULT: u8 = 14;

static BREAKPOINTS: AtomicU32 = AtomicU32::new(0);

/// A later chapter's decoding of one exception, for its fatal report.
#[derive(Clone, Copy)]
pub struct ReportDecoder {
    /// Lines of its own, printed after the registers.
    pub details: fn(&TrapFrame, &mut dyn Write) -> fmt::Result,
    /// The one line the panic says: what went wrong, in words.
    pub summary: fn(&TrapFrame, &mut dyn Write) -> fmt::Result,
}

static DECODERS: IrqMutex<[Option<ReportDecoder>; 32]> = IrqMutex::new([None; 32]);

/// Adds `decoder`'s lines to the fatal report of exception `vector`.
pub fn set_decoder(vector: u8, decoder: ReportDecoder) {
    DECODERS.lock()[vector as usize] = Some(decoder);
}

/// How many breakpoints have been hit (and resumed) since boot.
pub fn breakpoints_hit() -> u32 {
    BREAKPOINTS.load(Ordering::Relaxed)
}

/// What happens to an exception no registered handler claimed: a breakpoint
/// is reported and resumed; anything else is reported and the kernel panics.
pub(super) fn handle_unclaimed(frame: &mut TrapFrame) {
    let vector = frame.vector as u8;
    if vector == BREAKPOINT {
        BREAKPOINTS.fetch_add(1, Ordering::Relaxed);
        crate::println!("{}", Report::new(frame, "resuming after int3"));
        return;
    }
    // The interrupted code may have been halfway through printing; it will
    // never finish, so take the console from it.
    console::take_for_emergency();
    crate::println!("{}", Report::new(frame, "fatal"));
    let decoder = DECODERS
        .try_lock()
        .and_then(|decoders| decoders[vector as usize]);
    match decoder {
        Some(decoder) => {
            crate::println!("{}", Decoded(frame, decoder.details));
            panic!("{}", Decoded(frame, decoder.summary));
        }
        None => {
            let info = &EXCEPTIONS[vector as usize];
            panic!(
                "unhandled CPU exception: {} {} (vector {})",
                info.mnemonic, info.name, vector
            );
        }
    }
}

/// A decoder's text, for `println!` and `panic!`.
struct Decoded<'a>(&'a TrapFrame, fn(&TrapFrame, &mut dyn Write) -> fmt::Result);

impl fmt::Display for Decoded<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (self.1)(self.0, f)
    }
}

/// A decoded, printable account of one exception.
pub struct Report<'a> {
    frame: &'a TrapFrame,
    outcome: &'static str,
}

impl<'a> Report<'a> {
    pub fn new(frame: &'a TrapFrame, outcome: &'static str) -> Self {
        Self { frame, outcome }
    }
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let frame = self.frame;
        let vector = frame.vector as usize;
        let info = &EXCEPTIONS[vector];
        writeln!(
            f,
            "*** CPU exception {} {} (vector {}): {}",
            info.mnemonic, info.name, vector, self.outcome
        )?;
        if info.has_error_code {
            writeln!(f, "  error code {:#010x}", frame.error_code)?;
        }
        write!(
            f,
            "  EIP={:#010x}  CS={:#06x}  EFLAGS={:#010x} [",
            frame.eip, frame.cs, frame.eflags
        )?;
        write_flags(f, frame.eflags)?;
        writeln!(f, "]")?;
        if vector == PAGE_FAULT as usize {
            writeln!(
                f,
                "  CR2={:#010x} (the address that faulted)",
                faulting_address()
            )?;
        }
        writeln!(
            f,
            "  EAX={:#010x} EBX={:#010x} ECX={:#010x} EDX={:#010x}",
            frame.eax, frame.ebx, frame.ecx, frame.edx
        )?;
        write!(
            f,
            "  ESI={:#010x} EDI={:#010x} EBP={:#010x} ESP={:#010x}",
            frame.esi,
            frame.edi,
            frame.ebp,
            frame.interrupted_esp()
        )
    }
}

/// CR2 holds the linear address of the last page fault.
pub fn faulting_address() -> u32 {
    #[cfg(target_os = "none")]
    {
        // SAFETY: reading CR2 has no side effects.
        unsafe { x86::controlregs::cr2() as u32 }
    }
    #[cfg(not(target_os = "none"))]
    0
}

/// Writes the names of the EFLAGS bits that are set, e.g. `ZF IF`.
/// The bits are `x86`'s [`EFlags`]; the short names are the ones Intel's
/// manual and debuggers print (that crate's `bitflags` cannot list names).
fn write_flags(out: &mut impl Write, eflags: u32) -> fmt::Result {
    const FLAGS: [(EFlags, &str); 9] = [
        (EFlags::FLAGS_CF, "CF"),
        (EFlags::FLAGS_PF, "PF"),
        (EFlags::FLAGS_AF, "AF"),
        (EFlags::FLAGS_ZF, "ZF"),
        (EFlags::FLAGS_SF, "SF"),
        (EFlags::FLAGS_TF, "TF"),
        (EFlags::FLAGS_IF, "IF"),
        (EFlags::FLAGS_DF, "DF"),
        (EFlags::FLAGS_OF, "OF"),
    ];
    let eflags = EFlags::from_bits_truncate(eflags);
    let mut first = true;
    for (flag, name) in FLAGS {
        if eflags.contains(flag) {
            if !first {
                out.write_char(' ')?;
            }
            out.write_str(name)?;
            first = false;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(vector: u32, error_code: u32) -> TrapFrame {
        TrapFrame {
            edi: 7,
            esi: 6,
            ebp: 5,
            pushad_esp: 0,
            ebx: 2,
            edx: 4,
            ecx: 3,
            eax: 1,
            vector,
            error_code,
            eip: 0x0010_2030,
            cs: 0x08,
            eflags: 0x246,
        }
    }

    #[test]
    fn error_codes_match_the_stubs() {
        // The assembly stubs push a dummy error code exactly where the CPU
        // does not push one; the table must agree with them.
        let with_code: [usize; 10] = [8, 10, 11, 12, 13, 14, 17, 21, 29, 30];
        for (vector, info) in EXCEPTIONS.iter().enumerate() {
            assert_eq!(
                info.has_error_code,
                with_code.contains(&vector),
                "vector {vector}"
            );
        }
    }

    #[test]
    fn report_names_the_exception_and_decodes_flags() {
        let text = format!("{}", Report::new(&frame(0, 0), "fatal"));
        assert!(text.contains("#DE Divide Error (vector 0)"), "{text}");
        assert!(text.contains("EIP=0x00102030"), "{text}");
        assert!(text.contains("[PF ZF IF]"), "{text}");
        assert!(text.contains("EAX=0x00000001"), "{text}");
        assert!(
            !text.contains("error code"),
            "no error code for #DE: {text}"
        );
    }

    #[test]
    fn report_shows_error_code_and_cr2_for_page_faults() {
        let text = format!("{}", Report::new(&frame(14, 0b110), "fatal"));
        assert!(text.contains("error code 0x00000006"), "{text}");
        assert!(text.contains("CR2="), "{text}");
    }
}
