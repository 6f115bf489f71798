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
//! The handler gathers what it knows about the fault ([`Fault`]: the
//! report, whether EIP is a probe, whether the address is in a live run of
//! pages, whether the handler was running already) and [`decide`]s, a pure
//! function tested on the host. In order:
//!
//! 1. a fault inside the handler itself is left unserved, and said so;
//! 2. a reserved-bit fault is never served: the tables are corrupt;
//! 3. demand paging: a not-present fault in the heap's region, below its
//!    top, or in a live run of pages, is served by bringing in a frame
//!    (`growing_heap`, `large_allocations`), and the faulting instruction
//!    runs again;
//! 4. the exception table: a fault at one of the few instructions that are
//!    *allowed* to fault (the shell's probes) resumes at its fix-up address
//!    (`fixup`), whatever region it hit: a probe asked to read an address
//!    that may fault, and it is told that it did (also when demand paging
//!    found no frame for it);
//! 5. the heap debugger's guard pages: a not-present fault there is an
//!    overrun or a use after free of a sampled block — report it, map a
//!    spare page, carry on (`guard_pages`);
//! 6. anything else it returns unserved, and chapter 1's trap path gives
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

/// What the handler knows about a fault when it decides what to do.
#[derive(Debug, Clone, Copy)]
pub struct Fault {
    /// The address, the error code, EIP, and the region the address is in
    /// right now (`Region::Heap` is below the heap's top).
    pub report: FaultReport,
    /// EIP is an instruction of the exception table: a probe, which is
    /// allowed to fault.
    pub probe: bool,
    /// The address is in the pages of a live run of pages (the rest of the
    /// large allocations' range is guard pages and unused addresses).
    pub in_live_run: bool,
    /// The handler was running already: this fault happened inside it.
    pub nested: bool,
}

/// Who brings in a frame for a demand fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pager {
    /// The heap's region, below its top (`growing_heap::fault_in`).
    Heap,
    /// A live run of pages (`large_allocations::fault_in`).
    LargeAllocation,
}

/// What the handler does about a fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Demand paging: the pager maps a fresh frame at the page, and the
    /// instruction runs again. If it finds no frame, a probe is still told
    /// that it faulted; for anyone else it is fatal ("out of memory").
    FaultIn(Pager),
    /// A probe faulted: it resumes at its fix-up, told that it did.
    Recover,
    /// A sampled block's guard page: report it, map a spare page, go on.
    GuardPage,
    /// A fault inside the handler: left unserved, and the report says so.
    Nested,
    /// A bug: left unserved, to chapter 1's fatal report.
    Fatal,
}

/// The handler's decision: who, if anyone, serves `fault` (the order is
/// the module's list).
pub fn decide(fault: &Fault) -> Decision {
    // LAB 3.3 BEGIN: nested: Nested; a reserved bit (RSVD): Fatal; not present (no P) in Region::Heap, or in Region::LargeAllocations with in_live_run: FaultIn with that pager; else a probe: Recover; else not present in Region::GuardPages: GuardPage; else Fatal
    let code = fault.report.code;
    if fault.nested {
        return Decision::Nested;
    }
    if code.contains(PageFaultError::RSVD) {
        return Decision::Fatal;
    }
    let not_present = !code.contains(PageFaultError::P);
    let pager = match fault.report.region {
        Region::Heap => Some(Pager::Heap),
        Region::LargeAllocations if fault.in_live_run => Some(Pager::LargeAllocation),
        _ => None,
    };
    match pager {
        Some(pager) if not_present => Decision::FaultIn(pager),
        _ if fault.probe => Decision::Recover,
        _ if not_present && fault.report.region == Region::GuardPages => Decision::GuardPage,
        _ => Decision::Fatal,
    }
    // LAB END
}

#[cfg(target_os = "none")]
pub use handler::install;

#[cfg(target_os = "none")]
mod handler {
    use super::{
        access, decide, fatal_reason, Decision, Fault, FaultReport, PageFaultError, Pager,
    };
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

    /// Serves the fault if it can ([`decide`] says how); returns `false`
    /// to leave it to chapter 1's fatal report.
    fn handle(frame: &mut TrapFrame) -> bool {
        let report = report_of(frame);
        let fault = Fault {
            report,
            probe: fixup::is_probe(report.eip),
            in_live_run: large_allocations::serves(report.address),
            nested: HANDLING.swap(true, Ordering::Relaxed),
        };
        let decision = decide(&fault);
        if decision == Decision::Nested {
            // HANDLING stays set: it is the outer handler's.
            *UNSERVED.lock() = Some(Unserved::Nested);
            return false;
        }
        *UNSERVED.lock() = None;
        let served = match decision {
            Decision::FaultIn(pager) => {
                let result = match pager {
                    Pager::Heap => growing_heap::fault_in(report.address),
                    Pager::LargeAllocation => large_allocations::fault_in(report.address),
                };
                match result {
                    Ok(()) => true,
                    // A probe is told it faulted; anyone else cannot go on.
                    Err(_) if fault.probe => fixup::recover(frame, report.address, report.code),
                    Err(error) => {
                        *UNSERVED.lock() = Some(Unserved::NoFrame(error));
                        false
                    }
                }
            }
            Decision::Recover => fixup::recover(frame, report.address, report.code),
            Decision::GuardPage => guard_pages::handle_fault(report.address, report.code),
            Decision::Nested | Decision::Fatal => false,
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

    /// A fault with these facts (EIP and address do not matter to
    /// `decide`).
    fn fault(region: Region, code: u32, probe: bool, in_live_run: bool) -> Fault {
        Fault {
            report: report(0xD000_1234, code, region),
            probe,
            in_live_run,
            nested: false,
        }
    }

    const NOT_PRESENT_READ: u32 = 0b000;
    const NOT_PRESENT_WRITE: u32 = 0b010;
    const PROTECTED_WRITE: u32 = 0b011;
    const CORRUPT: u32 = 0b1001;

    /// Lab 3.3: each kind of fault, by hand.
    #[test]
    fn each_fault_goes_to_whoever_can_serve_it() {
        use Decision::*;
        let cases = [
            // Demand paging, for a probe too (`touch` shows it at work).
            (
                fault(Region::Heap, NOT_PRESENT_WRITE, false, false),
                FaultIn(Pager::Heap),
            ),
            (
                fault(Region::Heap, NOT_PRESENT_READ, true, false),
                FaultIn(Pager::Heap),
            ),
            (
                fault(Region::LargeAllocations, NOT_PRESENT_READ, false, true),
                FaultIn(Pager::LargeAllocation),
            ),
            // Not in a live run: a guard page after a run, or free addresses.
            (
                fault(Region::LargeAllocations, NOT_PRESENT_WRITE, false, false),
                Fatal,
            ),
            (
                fault(Region::LargeAllocations, NOT_PRESENT_READ, true, false),
                Recover,
            ),
            // Present: mapping a frame would not help.
            (fault(Region::Heap, PROTECTED_WRITE, false, false), Fatal),
            (fault(Region::Heap, PROTECTED_WRITE, true, false), Recover),
            (
                fault(Region::KernelText, PROTECTED_WRITE, true, false),
                Recover,
            ),
            (
                fault(Region::KernelText, PROTECTED_WRITE, false, false),
                Fatal,
            ),
            // Above the heap's top: not the heap's (yet).
            (
                fault(Region::HeapReserve, NOT_PRESENT_WRITE, false, false),
                Fatal,
            ),
            (
                fault(Region::HeapReserve, NOT_PRESENT_READ, true, false),
                Recover,
            ),
            // Guard pages: a probe there is told, anyone else reported.
            (
                fault(Region::GuardPages, NOT_PRESENT_WRITE, false, false),
                GuardPage,
            ),
            (
                fault(Region::GuardPages, NOT_PRESENT_READ, true, false),
                Recover,
            ),
            (
                fault(Region::GuardPages, PROTECTED_WRITE, false, false),
                Fatal,
            ),
            // Holes.
            (
                fault(Region::NullPage, NOT_PRESENT_READ, false, false),
                Fatal,
            ),
            (
                fault(Region::StackGuard, NOT_PRESENT_WRITE, false, false),
                Fatal,
            ),
            (
                fault(Region::Scratch, NOT_PRESENT_READ, true, false),
                Recover,
            ),
            // Corrupt tables are never papered over, not even for a probe.
            (fault(Region::Heap, CORRUPT, false, false), Fatal),
            (fault(Region::Heap, CORRUPT, true, false), Fatal),
        ];
        for (fault, decision) in cases {
            assert_eq!(decide(&fault), decision, "{fault:?}");
        }
        let nested = Fault {
            nested: true,
            ..fault(Region::Heap, NOT_PRESENT_WRITE, true, false)
        };
        assert_eq!(
            decide(&nested),
            Nested,
            "not served from inside the handler"
        );
    }

    const REGIONS: [Region; 17] = [
        Region::NullPage,
        Region::LowMemory,
        Region::Vga,
        Region::MultibootHeader,
        Region::KernelText,
        Region::KernelReadOnlyData,
        Region::KernelData,
        Region::StackGuard,
        Region::KernelStack,
        Region::Ram,
        Region::NoRam,
        Region::Heap,
        Region::HeapReserve,
        Region::LargeAllocations,
        Region::GuardPages,
        Region::Scratch,
        Region::Unused,
    ];

    proptest::proptest! {
        /// Lab 3.3: the rules, each on its own, for any fault: what may
        /// be faulted in, what only a probe gets, and that nothing is
        /// served from inside the handler or over a corrupt table.
        #[test]
        fn decisions_follow_the_rules(
            region in proptest::sample::select(REGIONS.to_vec()),
            code in 0u32..32,
            probe: bool,
            in_live_run: bool,
            nested: bool,
        ) {
            let fault = Fault { nested, ..fault(region, code, probe, in_live_run) };
            let decision = decide(&fault);
            let code = PageFaultError::from_bits_truncate(code);
            let present = code.contains(PageFaultError::P);
            let corrupt = code.contains(PageFaultError::RSVD);
            let pager = match region {
                Region::Heap => Some(Pager::Heap),
                Region::LargeAllocations if in_live_run => Some(Pager::LargeAllocation),
                _ => None,
            };
            let servable = !nested && !corrupt;
            // Demand paging: exactly the not-present faults its pagers own.
            let demand = servable && !present && pager.is_some();
            proptest::prop_assert_eq!(
                matches!(decision, Decision::FaultIn(_)), demand, "{:?}", fault
            );
            if let Decision::FaultIn(chosen) = decision {
                proptest::prop_assert_eq!(Some(chosen), pager);
            }
            // Nested: exactly the faults inside the handler.
            proptest::prop_assert_eq!(decision == Decision::Nested, nested);
            // Recover: exactly the probes that demand paging does not take.
            proptest::prop_assert_eq!(decision == Decision::Recover, servable && probe && !demand);
            // Guard pages: not-present faults there, not a probe's.
            let guard = servable && !probe && !present && region == Region::GuardPages;
            proptest::prop_assert_eq!(decision == Decision::GuardPage, guard);
        }
    }
}
