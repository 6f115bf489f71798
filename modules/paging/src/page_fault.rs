//! Page faults: what the CPU tells us, and what the kernel does about it.
//!
//! When a translation fails — no entry, or an entry that forbids the access
//! — the CPU raises exception 14 (#PF). It leaves the faulting address in
//! CR2 and pushes an error code whose low bits say what happened (the `x86`
//! crate names them: [`PageFaultError`]):
//!
//! ```text
//!  bit 0  P     0 = the page was not present   1 = present, but protected
//!  bit 1  WR    0 = a read                     1 = a write
//!  bit 2  US    0 = in kernel mode (ring 0)    1 = in user mode
//!  bit 3  RSVD  1 = a reserved bit was set in a table entry (a corrupt table)
//!  bit 4  ID    1 = an instruction fetch (only with NX, which 32-bit paging lacks)
//! ```
//!
//! The handler serves what it can, in order:
//!
//! 1. the heap: a not-present fault inside the heap's live range is demand
//!    paging at work — take a frame, map it, return, and the faulting
//!    instruction runs again (`growing_heap`);
//! 2. the exception table: a fault at one of the few instructions that are
//!    *allowed* to fault (the shell's probes) resumes at its fix-up address
//!    (`fixup`), whatever region it hit: a probe asked to read an address
//!    that may fault, and it is told that it did;
//! 3. the heap debugger's guard pages: a fault there is an overrun or a use
//!    after free of a sampled block — report it, map a spare page, carry on
//!    (`guard_pages`);
//! 4. anything else it returns unserved, and chapter 1's trap path gives
//!    the fatal report and panics, as for every exception. This chapter adds
//!    its decoding to that report ([`FaultReport`]: the access, the address
//!    and its region, every error-code bit in words) and the one-line reason
//!    the panic gives ([`fatal_reason`]). There is one fatal path, not two.

use crate::address::VirtAddr;
use crate::layout::Region;
use core::fmt;
pub use x86::irq::PageFaultError;

/// "read" or "write" (or "instruction fetch").
pub fn access(code: PageFaultError) -> &'static str {
    if code.contains(PageFaultError::ID) {
        "instruction fetch"
    } else if code.contains(PageFaultError::WR) {
        "write"
    } else {
        "read"
    }
}

/// Each error-code bit: its name, and what it means when set and when
/// clear.
const BITS: [(&str, PageFaultError, &str, &str); 5] = [
    (
        "present: ",
        PageFaultError::P,
        "the page is mapped; the access broke its protection",
        "no page is mapped at this address",
    ),
    (
        "write:   ",
        PageFaultError::WR,
        "the access was a write",
        "the access was a read",
    ),
    (
        "user:    ",
        PageFaultError::US,
        "the CPU was in user mode (ring 3)",
        "the CPU was in kernel mode (ring 0)",
    ),
    (
        "reserved:",
        PageFaultError::RSVD,
        "a page-table entry has a reserved bit set: the tables are corrupt",
        "no reserved bit set in the tables",
    ),
    (
        "fetch:   ",
        PageFaultError::ID,
        "the CPU was fetching an instruction",
        "not an instruction fetch",
    ),
];

/// Every bit of an error code, in words.
pub struct ErrorCodeBits(pub PageFaultError);

impl fmt::Display for ErrorCodeBits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "  error code {:#x}:", self.0.bits())?;
        for (name, bit, when_set, when_clear) in BITS {
            let (answer, meaning) = if self.0.contains(bit) {
                ("yes", when_set)
            } else {
                ("no ", when_clear)
            };
            write!(f, "\n    {name} {answer} - {meaning}")?;
        }
        Ok(())
    }
}

/// A decoded page fault, ready to print.
#[derive(Debug, Clone, Copy)]
pub struct FaultReport {
    pub address: VirtAddr,
    pub code: PageFaultError,
    pub eip: usize,
    pub region: Region,
}

impl fmt::Display for FaultReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "*** page fault: {} of {:#010x} by the instruction at EIP {:#010x}",
            access(self.code),
            self.address,
            self.eip
        )?;
        writeln!(f, "  address is in: {}", self.region.describe())?;
        write!(f, "{}", ErrorCodeBits(self.code))
    }
}

/// The one-line reason a fatal page fault gives to `panic!`.
pub fn fatal_reason(report: &FaultReport) -> &'static str {
    let (present, write) = (
        report.code.contains(PageFaultError::P),
        report.code.contains(PageFaultError::WR),
    );
    match report.region {
        Region::StackGuard => "kernel stack overflow (a page fault in the stack's guard page)",
        Region::NullPage => "null pointer dereference",
        Region::KernelText | Region::KernelReadOnlyData | Region::MultibootHeader
            if present && write =>
        {
            "write to read-only kernel memory"
        }
        _ if report.code.contains(PageFaultError::RSVD) => "corrupt page table",
        _ if !present => "access to an unmapped address",
        _ => "access that the page's protection forbids",
    }
}

#[cfg(target_os = "none")]
pub use handler::install;

#[cfg(target_os = "none")]
mod handler {
    use super::{access, fatal_reason, FaultReport, PageFaultError};
    use crate::address::VirtAddr;
    use crate::growing_heap::{self, FaultInError};
    use crate::large_allocations;
    use crate::{fixup, guard_pages, regions};
    use core::fmt::{self, Write};
    use core::sync::atomic::{AtomicBool, Ordering};
    use memory::kernel::cpu::exceptions::{self, ReportDecoder, PAGE_FAULT};
    use memory::kernel::cpu::trap::{self, TrapFrame};
    use memory::kernel::sync::IrqMutex;

    /// Set while the handler runs: a fault inside it is left unserved (and
    /// so reported), not followed into an endless recursion.
    static HANDLING: AtomicBool = AtomicBool::new(false);

    /// Why the last fault went unserved, when there is more to say than the
    /// report's decoding: for the fatal report's first line.
    #[derive(Clone, Copy)]
    enum Unserved {
        Nested,
        NoFrame(FaultInError),
    }
    static UNSERVED: IrqMutex<Option<Unserved>> = IrqMutex::new(None);

    /// Makes `handle` the page-fault handler, and adds this chapter's
    /// decoding to chapter 1's fatal report for page faults.
    pub fn install() {
        trap::set_exception_handler(PAGE_FAULT, handle);
        exceptions::set_decoder(PAGE_FAULT, ReportDecoder { details, summary });
    }

    fn report_of(frame: &TrapFrame) -> FaultReport {
        let address = VirtAddr::new(exceptions::faulting_address() as usize);
        FaultReport {
            address,
            code: PageFaultError::from_bits_truncate(frame.error_code),
            eip: frame.eip as usize,
            region: regions::region_of(address),
        }
    }

    /// Serves the fault if it can; returns `false` to leave it to chapter
    /// 1's fatal report.
    fn handle(frame: &mut TrapFrame) -> bool {
        let report = report_of(frame);
        if HANDLING.swap(true, Ordering::Relaxed) {
            *UNSERVED.lock() = Some(Unserved::Nested);
            return false;
        }
        *UNSERVED.lock() = None;
        let probe = fixup::is_probe(report.eip);
        let not_present = !report.code.contains(PageFaultError::P);
        let heap = not_present && growing_heap::serves(report.address);
        let large = not_present && !heap && large_allocations::serves(report.address);
        let served = if heap || large {
            let result = if heap {
                growing_heap::fault_in(report.address)
            } else {
                large_allocations::fault_in(report.address)
            };
            match result {
                Ok(()) => true,
                // A probe is told it faulted; anyone else cannot go on.
                Err(_) if probe => fixup::recover(frame, report.address, report.code),
                Err(error) => {
                    *UNSERVED.lock() = Some(Unserved::NoFrame(error));
                    false
                }
            }
        } else if probe {
            fixup::recover(frame, report.address, report.code)
        } else if guard_pages::serves(report.address) {
            guard_pages::handle_fault(report.address, report.code)
        } else {
            false
        };
        HANDLING.store(false, Ordering::Relaxed);
        served
    }

    /// The fatal report's page-fault lines.
    fn details(frame: &TrapFrame, out: &mut dyn Write) -> fmt::Result {
        write!(out, "{}", report_of(frame))
    }

    /// The panic's one line: what went wrong, in words.
    fn summary(frame: &TrapFrame, out: &mut dyn Write) -> fmt::Result {
        let report = report_of(frame);
        // Read, not taken: the panic message may be formatted more than
        // once (for the test runner, then for the screen).
        let unserved = *UNSERVED.lock();
        match unserved {
            Some(Unserved::Nested) => write!(
                out,
                "page fault inside the page-fault handler at {:#010x}",
                report.address
            ),
            Some(Unserved::NoFrame(error)) => write!(out, "out of memory: {error}"),
            None => write!(
                out,
                "page fault: {}: {} of {:#010x} at EIP {:#010x}",
                fatal_reason(&report),
                access(report.code),
                report.address,
                report.eip
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(address: usize, code: u32, region: Region) -> FaultReport {
        FaultReport {
            address: VirtAddr::new(address),
            code: PageFaultError::from_bits_truncate(code),
            eip: 0x0010_2345,
            region,
        }
    }

    #[test]
    fn error_code_bits_are_spelled_out() {
        let text = format!(
            "{}",
            ErrorCodeBits(PageFaultError::from_bits_truncate(0b00011))
        );
        assert!(
            text.contains("present:  yes - the page is mapped"),
            "{text}"
        );
        assert!(
            text.contains("write:    yes - the access was a write"),
            "{text}"
        );
        assert!(
            text.contains("user:     no  - the CPU was in kernel mode"),
            "{text}"
        );
        assert!(text.contains("reserved: no "), "{text}");
        assert!(text.contains("fetch:    no "), "{text}");
        let text = format!(
            "{}",
            ErrorCodeBits(PageFaultError::from_bits_truncate(0b11100))
        );
        assert!(text.contains("present:  no  - no page is mapped"), "{text}");
        assert!(text.contains("the access was a read"), "{text}");
        assert!(text.contains("user mode (ring 3)"), "{text}");
        assert!(text.contains("tables are corrupt"), "{text}");
        assert!(text.contains("fetching an instruction"), "{text}");
        assert_eq!(
            access(PageFaultError::from_bits_truncate(0b10000)),
            "instruction fetch"
        );
    }

    #[test]
    fn the_report_names_the_access_address_and_region() {
        let text = format!("{}", report(0xE000_0000, 0, Region::Scratch));
        assert!(
            text.contains("page fault: read of 0xe0000000 by the instruction at EIP 0x00102345"),
            "{text}"
        );
        assert!(text.contains("address is in: the scratch window"), "{text}");
        assert!(text.contains("error code 0x0"), "{text}");
    }

    #[test]
    fn the_reason_says_what_kind_of_mistake_it_was() {
        let cases = [
            (
                report(0x18_F000, 2, Region::StackGuard),
                "kernel stack overflow",
            ),
            (report(0x10, 0, Region::NullPage), "null pointer"),
            (
                report(0x10_2000, 3, Region::KernelText),
                "write to read-only kernel memory",
            ),
            (report(0x10_2000, 0b1001, Region::Ram), "corrupt page table"),
            (report(0xE000_0000, 2, Region::Scratch), "unmapped address"),
            (report(0x20_0000, 3, Region::Ram), "protection forbids"),
        ];
        for (report, words) in cases {
            assert!(fatal_reason(&report).contains(words), "{report:?}: {words}");
        }
    }
}
