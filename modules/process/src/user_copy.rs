//! Copying between the kernel and a program's memory, surviving a fault.
//!
//! `user_pointer::check` says whether a range is the program's; the copy
//! still runs as if it might fault, because a check can be wrong (or go
//! stale). Like chapter 3's probes, the copy's one access instruction has an
//! entry in the exception table: a page fault there resumes after the copy
//! with EDX = 1, and the system call returns "bad address" instead of the
//! kernel dying.
//!
//! ```text
//!  strata_user_copy(dst, src, n):          exception table
//!      ...                                 +-----------------+----------+
//!  copy:   rep movsb   <--- may fault      | copy            | resume   |
//!  resume: pop ...; ret                    +-----------------+----------+
//! ```
//!
//! (Linux's `copy_from_user` works the same way.)

use crate::abi::Errno;
use paging::fixup;

core::arch::global_asm!(
    r#"
    .section .text.user_copy, "ax"
    .global strata_user_copy
strata_user_copy:
    push esi
    push edi
    mov edi, [esp + 12]
    mov esi, [esp + 16]
    mov ecx, [esp + 20]
    xor edx, edx
    .global strata_user_copy_access
strata_user_copy_access:
    rep movsb
    .global strata_user_copy_resume
strata_user_copy_resume:
    pop edi
    pop esi
    ret
    .text
"#
);

extern "C" {
    /// Returns EDX:EAX: EDX = 0 when all bytes were copied, 1 after a fault.
    fn strata_user_copy(destination: usize, source: usize, length: usize) -> u64;
    static strata_user_copy_access: u8;
    static strata_user_copy_resume: u8;
}

/// Puts the copy into chapter 3's exception table.
pub fn init() {
    let access = &raw const strata_user_copy_access as usize;
    let resume = &raw const strata_user_copy_resume as usize;
    assert!(
        fixup::add_entry(access, resume),
        "the exception table is full"
    );
}

fn copy(destination: usize, source: usize, length: usize) -> Result<(), Errno> {
    // SAFETY: the callers pass a kernel buffer they own and a user range
    // they checked; a fault in the one access instruction is recovered
    // through the exception table, so the worst outcome is an error.
    let result = unsafe { strata_user_copy(destination, source, length) };
    if result >> 32 == 0 {
        Ok(())
    } else {
        Err(Errno::BadAddress)
    }
}

/// Copies `buffer.len()` bytes from the program's `address` into `buffer`.
pub fn copy_from_user(buffer: &mut [u8], address: u32) -> Result<(), Errno> {
    copy(buffer.as_mut_ptr() as usize, address as usize, buffer.len())
}

/// Copies `bytes` to the program's `address`.
pub fn copy_to_user(address: u32, bytes: &[u8]) -> Result<(), Errno> {
    copy(address as usize, bytes.as_ptr() as usize, bytes.len())
}
