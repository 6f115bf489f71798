//! Page faults: what the CPU tells us, and what the kernel does about it.
//!
//! When a translation fails — no entry, or an entry that forbids the access
//! — the CPU raises exception 14 (#PF). It leaves the faulting address in
//! CR2 and pushes an error code whose low bits say what happened:
//!
//! ```text
//!  bit 0  P  0 = the page was not present   1 = present, but protected
//!  bit 1  W  0 = a read                     1 = a write
//!  bit 2  U  0 = in kernel mode (ring 0)    1 = in user mode
//!  bit 3  R  1 = a reserved bit was set in a table entry (a corrupt table)
//!  bit 4  I  1 = an instruction fetch (only with NX, which 32-bit paging lacks)
//! ```
//!
//! The handler tries, in order:
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
//! 4. otherwise a bug: print a decoded report and stop.

use crate::layout::Region;
use core::fmt;

/// The error code of a page fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageFaultCode(pub u32);

impl PageFaultCode {
    pub fn present(self) -> bool {
        self.0 & 1 != 0
    }
    pub fn write(self) -> bool {
        self.0 & 2 != 0
    }
    pub fn user(self) -> bool {
        self.0 & 4 != 0
    }
    pub fn reserved_bit(self) -> bool {
        self.0 & 8 != 0
    }
    pub fn instruction_fetch(self) -> bool {
        self.0 & 16 != 0
    }

    /// "read" or "write" (or "instruction fetch").
    pub fn access(self) -> &'static str {
        if self.instruction_fetch() {
            "instruction fetch"
        } else if self.write() {
            "write"
        } else {
            "read"
        }
    }
}

/// Each error-code bit: its name, its mask, and what it means when set and
/// when clear.
const BITS: [(&str, u32, &str, &str); 5] = [
    (
        "present: ",
        1,
        "the page is mapped; the access broke its protection",
        "no page is mapped at this address",
    ),
    (
        "write:   ",
        2,
        "the access was a write",
        "the access was a read",
    ),
    (
        "user:    ",
        4,
        "the CPU was in user mode (ring 3)",
        "the CPU was in kernel mode (ring 0)",
    ),
    (
        "reserved:",
        8,
        "a page-table entry has a reserved bit set: the tables are corrupt",
        "no reserved bit set in the tables",
    ),
    (
        "fetch:   ",
        16,
        "the CPU was fetching an instruction",
        "not an instruction fetch",
    ),
];

impl fmt::Display for PageFaultCode {
    /// Every bit, in words.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "  error code {:#x}:", self.0)?;
        for (name, mask, when_set, when_clear) in BITS {
            let (answer, meaning) = if self.0 & mask != 0 {
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
    pub address: usize,
    pub code: PageFaultCode,
    pub eip: usize,
    pub region: Region,
}

impl fmt::Display for FaultReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "*** page fault: {} of {:#010x} by the instruction at EIP {:#010x}",
            self.code.access(),
            self.address,
            self.eip
        )?;
        writeln!(f, "  address is in: {}", self.region.describe())?;
        write!(f, "{}", self.code)
    }
}

/// The one-line reason a fatal page fault gives to `panic!`.
pub fn fatal_reason(report: &FaultReport) -> &'static str {
    match report.region {
        Region::StackGuard => "kernel stack overflow (a page fault in the stack's guard page)",
        Region::NullPage => "null pointer dereference",
        Region::KernelText | Region::KernelReadOnlyData | Region::MultibootHeader
            if report.code.present() && report.code.write() =>
        {
            "write to read-only kernel memory"
        }
        _ if report.code.reserved_bit() => "corrupt page table",
        _ if !report.code.present() => "access to an unmapped address",
        _ => "access that the page's protection forbids",
    }
}

#[cfg(target_os = "none")]
pub use handler::install;

#[cfg(target_os = "none")]
mod handler {
    use super::{fatal_reason, FaultReport, PageFaultCode};
    use crate::{fixup, growing_heap, guard_pages, kernel_space};
    use core::sync::atomic::{AtomicBool, Ordering};
    use memory::kernel::cpu::exceptions::{self, Report, PAGE_FAULT};
    use memory::kernel::cpu::trap::{self, TrapFrame};
    use memory::kernel::{console, println};

    /// Set while the handler runs: a fault inside it is reported, not
    /// followed into an endless recursion.
    static HANDLING: AtomicBool = AtomicBool::new(false);

    /// Makes [`handle`] the page-fault handler.
    pub fn install() {
        trap::set_exception_handler(PAGE_FAULT, handle);
    }

    fn handle(frame: &mut TrapFrame) -> bool {
        let address = exceptions::faulting_address() as usize;
        let code = PageFaultCode(frame.error_code);
        let report = FaultReport {
            address,
            code,
            eip: frame.eip as usize,
            region: kernel_space::layout().region_of(address),
        };
        if HANDLING.swap(true, Ordering::Relaxed) {
            console::take_for_emergency();
            println!("{report}");
            panic!("page fault inside the page-fault handler at {address:#010x}");
        }
        let probe = fixup::is_probe(frame.eip as usize);
        let handled = if !code.present() && growing_heap::serves(address) {
            match growing_heap::fault_in(address) {
                Ok(()) => true,
                // A probe is told it faulted; anyone else cannot go on.
                Err(_) if probe => fixup::recover(frame, address, code),
                Err(error) => {
                    console::take_for_emergency();
                    println!("{report}");
                    panic!("out of memory: {error}");
                }
            }
        } else if probe {
            fixup::recover(frame, address, code)
        } else if guard_pages::serves(address) {
            guard_pages::handle_fault(address, code)
        } else {
            false
        };
        HANDLING.store(false, Ordering::Relaxed);
        if !handled {
            console::take_for_emergency();
            println!("{report}");
            println!("{}", Report::new(frame, "fatal"));
            panic!(
                "page fault: {}: {} of {address:#010x} at EIP {:#010x}",
                fatal_reason(&report),
                code.access(),
                frame.eip
            );
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(address: usize, code: u32, region: Region) -> FaultReport {
        FaultReport {
            address,
            code: PageFaultCode(code),
            eip: 0x0010_2345,
            region,
        }
    }

    #[test]
    fn error_code_bits_are_spelled_out() {
        let text = format!("{}", PageFaultCode(0b00011));
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
        let text = format!("{}", PageFaultCode(0b11100));
        assert!(text.contains("present:  no  - no page is mapped"), "{text}");
        assert!(text.contains("the access was a read"), "{text}");
        assert!(text.contains("user mode (ring 3)"), "{text}");
        assert!(text.contains("tables are corrupt"), "{text}");
        assert!(text.contains("fetching an instruction"), "{text}");
        assert_eq!(PageFaultCode(0b10000).access(), "instruction fetch");
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
