//! Probes that may fault: an exception table, as Linux uses for copying
//! from user memory.
//!
//! Most page faults in a kernel are bugs. A few are expected: `touch
//! 0xE0000000` *asks* to read an address that may be unmapped. The kernel
//! marks the instructions that are allowed to fault and, for each, where to
//! continue instead:
//!
//! ```text
//!  probe_read:                         exception table
//!      mov ecx, [esp + 4]              +----------------+---------------+
//!      xor edx, edx        ; edx = 0   | faulting EIP   | resume at     |
//!  read_access:                        +----------------+---------------+
//!      mov eax, [ecx]   <--- may fault | read_access    | probe_resume  |
//!  probe_resume:                       | write_access   | probe_resume  |
//!      ret                             +----------------+---------------+
//! ```
//!
//! When the page-fault handler finds the faulting EIP in the table, it
//! writes the resume address into the saved EIP, sets EDX to 1 (so the probe
//! returns "faulted") and EAX to the error code, and returns; `iretd` lands
//! on `probe_resume` instead of retrying the access.

use crate::address::VirtAddr;
use core::sync::atomic::{AtomicUsize, Ordering};
use memory::kernel::cpu::trap::TrapFrame;
use x86::irq::PageFaultError;

/// A probe that faulted: where, and the error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeFault {
    pub address: VirtAddr,
    pub code: PageFaultError,
    /// The probe's access instruction.
    pub eip: usize,
}

// The probes: `extern "C"` functions returning a u64, which the i386 C
// calling convention returns in EDX:EAX — EDX = 0 and EAX = the value read,
// or EDX = 1 and EAX = the error code.
core::arch::global_asm!(
    r#"
    .section .text.probe, "ax"
    .global strata_probe_read
strata_probe_read:
    mov ecx, [esp + 4]
    xor edx, edx
    .global strata_probe_read_access
strata_probe_read_access:
    mov eax, [ecx]
    .global strata_probe_resume
strata_probe_resume:
    ret

    .global strata_probe_write
strata_probe_write:
    mov ecx, [esp + 4]
    mov eax, [esp + 8]
    xor edx, edx
    .global strata_probe_write_access
strata_probe_write_access:
    mov [ecx], eax
    jmp strata_probe_resume
    .text
"#
);

extern "C" {
    fn strata_probe_read(address: usize) -> u64;
    fn strata_probe_write(address: usize, value: u32) -> u64;
    // Labels inside the probes; only their addresses are used.
    static strata_probe_read_access: u8;
    static strata_probe_write_access: u8;
    static strata_probe_resume: u8;
}

/// The address and instruction of the last probe fault (CR2 is overwritten
/// by the next fault, so the handler keeps them here).
static LAST_FAULT_ADDRESS: AtomicUsize = AtomicUsize::new(0);
static LAST_FAULT_EIP: AtomicUsize = AtomicUsize::new(0);

/// Reads the 32-bit word at `address`; a page fault comes back as an error.
pub fn probe_read(address: VirtAddr) -> Result<u32, ProbeFault> {
    // SAFETY: the read may fault; every fault at its one access instruction
    // is turned into a return through `recover`. Nothing else is touched.
    decode(unsafe { strata_probe_read(address.as_usize()) })
}

/// Writes `value` at `address`; a page fault comes back as an error.
///
/// # Safety
/// If the page is mapped and writable, the write happens: `address` must be
/// memory the caller may change.
pub unsafe fn probe_write(address: VirtAddr, value: u32) -> Result<(), ProbeFault> {
    // SAFETY: the caller vouches for the write; a fault is recovered.
    decode(unsafe { strata_probe_write(address.as_usize(), value) }).map(|_| ())
}

fn decode(result: u64) -> Result<u32, ProbeFault> {
    let (value, faulted) = (result as u32, (result >> 32) as u32);
    if faulted == 0 {
        Ok(value)
    } else {
        Err(ProbeFault {
            address: VirtAddr::new(LAST_FAULT_ADDRESS.load(Ordering::Relaxed)),
            code: PageFaultError::from_bits_truncate(value),
            eip: LAST_FAULT_EIP.load(Ordering::Relaxed),
        })
    }
}

/// The exception table: (instruction that may fault, where to resume).
fn table() -> [(usize, usize); 2] {
    let at = |label: *const u8| label as usize;
    let resume = at(&raw const strata_probe_resume);
    [
        (at(&raw const strata_probe_read_access), resume),
        (at(&raw const strata_probe_write_access), resume),
    ]
}

/// Entries added by later chapters (chapter 4's copies from and to user
/// memory), as (instruction, resume): 0 marks a free slot.
static MORE: [(AtomicUsize, AtomicUsize); 4] =
    [const { (AtomicUsize::new(0), AtomicUsize::new(0)) }; 4];

/// Adds an entry to the exception table: a fault at `instruction` resumes
/// at `resume`, with EDX = 1 and EAX = the error code, as for the probes.
/// `false` if the table is full.
pub fn add_entry(instruction: usize, resume: usize) -> bool {
    for (slot_instruction, slot_resume) in &MORE {
        if slot_instruction.load(Ordering::Relaxed) == 0 {
            slot_resume.store(resume, Ordering::Relaxed);
            slot_instruction.store(instruction, Ordering::Release);
            return true;
        }
    }
    false
}

/// The resume address of `eip`, if it is in the table.
fn resume_of(eip: usize) -> Option<usize> {
    let fixed = table()
        .into_iter()
        .find(|&(instruction, _)| instruction == eip);
    fixed.map(|(_, resume)| resume).or_else(|| {
        MORE.iter()
            .find(|(instruction, _)| instruction.load(Ordering::Acquire) == eip)
            .map(|(_, resume)| resume.load(Ordering::Relaxed))
    })
}

/// Whether `eip` is one of the instructions in the table.
pub fn is_probe(eip: usize) -> bool {
    eip != 0 && resume_of(eip).is_some()
}

/// Called by the page-fault handler: if the fault is at an instruction in
/// the table, redirects the saved EIP to its fix-up and returns `true`.
pub fn recover(frame: &mut TrapFrame, address: VirtAddr, code: PageFaultError) -> bool {
    let Some(resume) = resume_of(frame.eip as usize).filter(|_| frame.eip != 0) else {
        return false;
    };
    LAST_FAULT_ADDRESS.store(address.as_usize(), Ordering::Relaxed);
    LAST_FAULT_EIP.store(frame.eip as usize, Ordering::Relaxed);
    frame.eip = resume as u32;
    frame.edx = 1;
    frame.eax = code.bits();
    true
}
