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

/// What an exception's error code says, and so how the report decodes it
/// (Intel SDM vol. 3A, section 6.13 and the entry of each exception).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// The CPU pushes none; the trap stub pushes a 0 in its place.
    None,
    /// A segment selector, or an IDT entry: the descriptor the fault is
    /// about (#TS, #NP, #SS, #GP). Its bits, low to high:
    ///
    /// ```text
    ///  bit 0     EXT    1: the fault happened while delivering an external
    ///                      event (an interrupt), not because of an instruction
    ///  bit 1     IDT    1: the index is an IDT entry (a vector)
    ///  bit 2     TI     (when IDT is 0) 0: a GDT entry, 1: an LDT entry
    ///  bits 3-15 index  of the descriptor (a selector's index)
    /// ```
    ///
    /// A code of 0 names no descriptor: the fault is not about one (a
    /// privileged instruction in ring 3, say).
    Selector,
    /// What the access that faulted was (#PF): shown as a number, with the
    /// address it was about (CR2) after it. Paging is off in chapter 1, so
    /// no page fault happens here; chapter 3, which turns paging on, adds
    /// the code's bits in words to the report (a [`ReportDecoder`]).
    PageFault,
    /// Always 0 (#DF, #AC), or a code this kernel does not decode (#CP,
    /// #VC, #SX): shown as a number.
    Number,
}

/// One row of the exception table (Intel SDM vol. 3A, table 6-1).
pub struct ExceptionInfo {
    /// The short name the manuals use, e.g. `#PF`.
    pub mnemonic: &'static str,
    pub name: &'static str,
    /// Whether the CPU pushes an error code for it, and what it means.
    pub error_code: ErrorCode,
}

impl ExceptionInfo {
    /// Whether the CPU pushes an error code for this exception.
    pub const fn has_error_code(&self) -> bool {
        !matches!(self.error_code, ErrorCode::None)
    }
}

const fn exception(
    mnemonic: &'static str, name: &'static str, error_code: ErrorCode,
) -> ExceptionInfo {
    ExceptionInfo {
        mnemonic,
        name,
        error_code,
    }
}

/// Vectors 0–31, in order.
pub const EXCEPTIONS: [ExceptionInfo; 32] = [
    exception("#DE", "Divide Error", ErrorCode::None),
    exception("#DB", "Debug", ErrorCode::None),
    exception("NMI", "Non-Maskable Interrupt", ErrorCode::None),
    exception("#BP", "Breakpoint", ErrorCode::None),
    exception("#OF", "Overflow", ErrorCode::None),
    exception("#BR", "BOUND Range Exceeded", ErrorCode::None),
    exception("#UD", "Invalid Opcode", ErrorCode::None),
    exception("#NM", "Device Not Available", ErrorCode::None),
    exception("#DF", "Double Fault", ErrorCode::Number),
    exception("--", "Coprocessor Segment Overrun", ErrorCode::None),
    exception("#TS", "Invalid TSS", ErrorCode::Selector),
    exception("#NP", "Segment Not Present", ErrorCode::Selector),
    exception("#SS", "Stack-Segment Fault", ErrorCode::Selector),
    exception("#GP", "General Protection Fault", ErrorCode::Selector),
    exception("#PF", "Page Fault", ErrorCode::PageFault),
    exception("--", "Reserved", ErrorCode::None),
    exception("#MF", "x87 Floating-Point Error", ErrorCode::None),
    exception("#AC", "Alignment Check", ErrorCode::Number),
    exception("#MC", "Machine Check", ErrorCode::None),
    exception("#XM", "SIMD Floating-Point Exception", ErrorCode::None),
    exception("#VE", "Virtualization Exception", ErrorCode::None),
    exception("#CP", "Control Protection Exception", ErrorCode::Number),
    exception("--", "Reserved", ErrorCode::None),
    exception("--", "Reserved", ErrorCode::None),
    exception("--", "Reserved", ErrorCode::None),
    exception("--", "Reserved", ErrorCode::None),
    exception("--", "Reserved", ErrorCode::None),
    exception("--", "Reserved", ErrorCode::None),
    exception("#HV", "Hypervisor Injection Exception", ErrorCode::None),
    exception("#VC", "VMM Communication Exception", ErrorCode::Number),
    exception("#SX", "Security Exception", ErrorCode::Number),
    exception("--", "Reserved", ErrorCode::None),
];

/// Vector of the breakpoint exception raised by `int3`.
pub const BREAKPOINT: u8 = 3;
/// Vector of the divide error.
pub const DIVIDE_ERROR: u8 = 0;
/// Vector of the segment-not-present fault (also raised by an `int n`
/// whose IDT gate is not present).
pub const SEGMENT_NOT_PRESENT: u8 = 11;
/// Vector of the general protection fault.
pub const GENERAL_PROTECTION: u8 = 13;
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

/// A decoded, printable account of one exception: what the kernel prints
/// before it resumes after a breakpoint, or panics.
///
/// ```text
/// *** CPU exception #GP General Protection Fault (vector 13): fatal
///   error code 0x00000040: GDT entry 8
///   EIP=0x00104a2c  CS=0x0008  EFLAGS=0x00000246 [PF ZF IF]
///   EAX=0x00000040 EBX=0x00000000 ECX=0x00000001 EDX=0x0010f000
///   ESI=0x00000000 EDI=0x00000000 EBP=0x0011ff58 ESP=0x0011ff40
/// ```
pub struct Report<'a> {
    pub frame: &'a TrapFrame,
    /// What happens next: "fatal", "resuming after int3", ...
    pub outcome: &'static str,
    /// CR2 when the exception was taken (shown for page faults only).
    pub faulting_address: u32,
}

impl<'a> Report<'a> {
    /// The report of the exception `frame` holds, with CR2 read now:
    /// before anything else can fault and change it.
    pub fn new(frame: &'a TrapFrame, outcome: &'static str) -> Self {
        Self {
            frame,
            outcome,
            faulting_address: faulting_address(),
        }
    }
}

impl fmt::Display for Report<'_> {
    /// The title (mnemonic, name, vector, outcome); the error code, decoded
    /// as [`EXCEPTIONS`] says, with CR2 after a page fault's; EIP, CS and
    /// EFLAGS with the names of its flags; then the general registers
    /// (`write_registers`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // LAB 1.4 BEGIN: the title line, the error code as EXCEPTIONS says to show it (CR2 after a #PF's), then EIP, CS and EFLAGS [FlagNames]
        let frame = self.frame;
        let vector = frame.vector as usize;
        let info = &EXCEPTIONS[vector];
        let code = frame.error_code;
        writeln!(
            f,
            "*** CPU exception {} {} (vector {vector}): {}",
            info.mnemonic, info.name, self.outcome
        )?;
        match info.error_code {
            ErrorCode::None => {}
            ErrorCode::Selector => {
                writeln!(f, "  error code {code:#010x}: {}", SelectorError(code))?
            }
            ErrorCode::PageFault => {
                writeln!(f, "  error code {code:#010x}")?;
                writeln!(
                    f,
                    "  CR2={:#010x} (the address that faulted)",
                    self.faulting_address
                )?;
            }
            ErrorCode::Number => writeln!(f, "  error code {code:#010x}")?,
        }
        writeln!(
            f,
            "  EIP={:#010x}  CS={:#06x}  EFLAGS={:#010x} [{}]",
            frame.eip,
            frame.cs,
            frame.eflags,
            FlagNames(frame.eflags)
        )?;
        // LAB END
        write_registers(f, self.frame)
    }
}

/// The general registers, as the report's last two lines.
fn write_registers(f: &mut fmt::Formatter<'_>, frame: &TrapFrame) -> fmt::Result {
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

// A selector error code's flag bits (see [`ErrorCode::Selector`]); its
// index is in bits 3-15.
/// EXT: the fault happened while delivering an external event.
pub const SELECTOR_EXTERNAL: u32 = 1 << 0;
/// IDT: the index is an IDT entry.
pub const SELECTOR_IN_IDT: u32 = 1 << 1;
/// TI: the index is an LDT entry (when the IDT bit is clear).
pub const SELECTOR_IN_LDT: u32 = 1 << 2;

/// A selector error code in words: `GDT entry 8`, `IDT entry 128`,
/// `LDT entry 3, during an external event`, or, for 0, that it names none.
pub struct SelectorError(pub u32);

impl fmt::Display for SelectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // LAB 1.4 BEGIN: 0 names no descriptor; else which table (IDT bit, then TI) and the index in bits 3-15, and whether EXT is set
        let code = self.0;
        if code == 0 {
            return f.write_str("no descriptor (the fault is not about a segment)");
        }
        let table = if code & SELECTOR_IN_IDT != 0 {
            "IDT"
        } else if code & SELECTOR_IN_LDT != 0 {
            "LDT"
        } else {
            "GDT"
        };
        write!(f, "{table} entry {}", (code >> 3) & 0x1FFF)?;
        if code & SELECTOR_EXTERNAL != 0 {
            f.write_str(", during an external event")?;
        }
        Ok(())
        // LAB END
    }
}

/// The EFLAGS bits a report names, with the short names Intel's manual and
/// debuggers print (the `x86` crate's `bitflags` cannot list names).
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

/// The names of the EFLAGS bits that are set, in `FLAGS` order and one
/// space apart, e.g. `PF ZF IF`; nothing if none is.
pub struct FlagNames(pub u32);

impl fmt::Display for FlagNames {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // LAB 1.4 BEGIN: the names in FLAGS of the bits that are set, one space apart
        let eflags = EFlags::from_bits_truncate(self.0);
        let mut set = FLAGS.iter().filter(|(flag, _)| eflags.contains(*flag));
        if let Some((_, first)) = set.next() {
            f.write_str(first)?;
        }
        for (_, name) in set {
            write!(f, " {name}")?;
        }
        Ok(())
        // LAB END
    }
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

    fn report(frame: &TrapFrame, faulting_address: u32) -> String {
        let report = Report {
            frame,
            outcome: "fatal",
            faulting_address,
        };
        format!("{report}")
    }

    /// The report's line that starts with `start` (after the indent).
    fn line<'a>(text: &'a str, start: &str) -> Option<&'a str> {
        text.lines()
            .find(|line| line.trim_start().starts_with(start))
    }

    #[test]
    fn error_codes_match_the_stubs() {
        // The assembly stubs push a dummy error code exactly where the CPU
        // does not push one; the table must agree with them.
        let with_code: [usize; 10] = [8, 10, 11, 12, 13, 14, 17, 21, 29, 30];
        for (vector, info) in EXCEPTIONS.iter().enumerate() {
            assert_eq!(
                info.has_error_code(),
                with_code.contains(&vector),
                "vector {vector}"
            );
        }
    }

    #[test]
    fn report_names_the_exception_and_decodes_flags() {
        let text = report(&frame(0, 0), 0);
        assert!(
            text.starts_with("*** CPU exception #DE Divide Error (vector 0): fatal\n"),
            "{text}"
        );
        assert!(
            text.contains("  EIP=0x00102030  CS=0x0008  EFLAGS=0x00000246 [PF ZF IF]\n"),
            "{text}"
        );
        assert!(
            text.contains("  EAX=0x00000001 EBX=0x00000002 ECX=0x00000003 EDX=0x00000004\n"),
            "{text}"
        );
        assert!(
            text.contains("  ESI=0x00000006 EDI=0x00000007 EBP=0x00000005 ESP="),
            "{text}"
        );
        assert!(
            !text.contains("error code"),
            "no error code for #DE: {text}"
        );
        assert!(!text.contains("CR2"), "no CR2 but for #PF: {text}");
        assert_eq!(text.lines().count(), 4, "{text}");
        assert!(!text.ends_with('\n'), "println! adds the last newline");
    }

    #[test]
    fn selector_error_codes_name_the_descriptor() {
        let cases = [
            (0x40, "GDT entry 8"),
            (0x44, "LDT entry 8"),
            (0x402, "IDT entry 128"),
            (0x403, "IDT entry 128, during an external event"),
            (0x19, "GDT entry 3, during an external event"),
            (0xFFF8, "GDT entry 8191"),
            (0, "no descriptor (the fault is not about a segment)"),
        ];
        for (code, words) in cases {
            let text = report(&frame(u32::from(GENERAL_PROTECTION), code), 0);
            let expected = format!("  error code {code:#010x}: {words}");
            assert_eq!(line(&text, "error code"), Some(expected.as_str()), "{text}");
        }
        let text = report(&frame(u32::from(SEGMENT_NOT_PRESENT), 0x0402), 0);
        assert!(text.starts_with("*** CPU exception #NP Segment Not Present (vector 11)"));
        assert!(
            text.contains("error code 0x00000402: IDT entry 128\n"),
            "{text}"
        );
    }

    #[test]
    fn page_faults_show_the_faulting_address() {
        let text = report(&frame(u32::from(PAGE_FAULT), 0b110), 0xDEAD_B000);
        assert_eq!(line(&text, "error code"), Some("  error code 0x00000006"));
        assert_eq!(
            line(&text, "CR2="),
            Some("  CR2=0xdeadb000 (the address that faulted)"),
            "{text}"
        );
        // A double fault's code is always 0: shown, not decoded; no CR2.
        let text = report(&frame(8, 0), 0xDEAD_B000);
        assert_eq!(line(&text, "error code"), Some("  error code 0x00000000"));
        assert!(!text.contains("CR2"), "{text}");
    }

    /// EFLAGS bit numbers and the names the report gives them.
    const FLAG_BITS: [(u32, &str); 9] = [
        (0, "CF"),
        (2, "PF"),
        (4, "AF"),
        (6, "ZF"),
        (7, "SF"),
        (8, "TF"),
        (9, "IF"),
        (10, "DF"),
        (11, "OF"),
    ];

    proptest::proptest! {
        /// Any frame: the title names the table's exception, the error code
        /// is shown exactly when the table says there is one and decoded
        /// as a simple model of its bits says, CR2 only for a page fault,
        /// and the flags and registers are all there.
        #[test]
        fn agrees_with_a_model_of_the_error_code_bits(
            vector in 0u32..32,
            error_code in proptest::prop_oneof![0u32..0x20, 0u32..0x1_0000],
            eflags in proptest::prelude::any::<u32>(),
            eax in proptest::prelude::any::<u32>(),
            cr2 in proptest::prelude::any::<u32>(),
        ) {
            let mut frame = frame(vector, error_code);
            frame.eflags = eflags;
            frame.eax = eax;
            let text = report(&frame, cr2);
            let info = &EXCEPTIONS[vector as usize];
            let title = format!("*** CPU exception {} {} (vector {vector}): fatal", info.mnemonic, info.name);
            proptest::prop_assert_eq!(text.lines().next(), Some(title.as_str()));

            let bit = |n: u32| error_code & (1 << n) != 0;
            let decoded = match info.error_code {
                ErrorCode::None => None,
                ErrorCode::Number => Some(String::new()),
                ErrorCode::Selector if error_code == 0 => {
                    Some(": no descriptor (the fault is not about a segment)".to_string())
                }
                ErrorCode::Selector => {
                    let table = ["GDT", "IDT", "LDT", "IDT"][((error_code >> 1) & 3) as usize];
                    let external = if bit(0) { ", during an external event" } else { "" };
                    Some(format!(": {table} entry {}{external}", (error_code & 0xFFFF) / 8))
                }
                ErrorCode::PageFault => Some(String::new()),
            };
            let expected = decoded.map(|words| format!("  error code {error_code:#010x}{words}"));
            proptest::prop_assert_eq!(line(&text, "error code"), expected.as_deref());
            let cr2_line = format!("  CR2={cr2:#010x} (the address that faulted)");
            let expected = (vector == u32::from(PAGE_FAULT)).then_some(cr2_line.as_str());
            proptest::prop_assert_eq!(line(&text, "CR2="), expected);

            let names: Vec<&str> = FLAG_BITS
                .iter()
                .filter(|(bit, _)| eflags & (1 << bit) != 0)
                .map(|(_, name)| *name)
                .collect();
            let flags = format!("  EIP=0x00102030  CS=0x0008  EFLAGS={eflags:#010x} [{}]", names.join(" "));
            proptest::prop_assert_eq!(line(&text, "EIP="), Some(flags.as_str()));
            let registers = format!("  EAX={eax:#010x} EBX=0x00000002 ECX=0x00000003 EDX=0x00000004");
            proptest::prop_assert_eq!(line(&text, "EAX="), Some(registers.as_str()));
            proptest::prop_assert!(line(&text, "ESI=").is_some());
        }
    }
}
