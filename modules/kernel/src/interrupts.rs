//! The interrupt flag (EFLAGS.IF): on, off, saved and restored.
//!
//! These instructions are privileged, so on the host (where the library's pure
//! logic is unit-tested as an ordinary Linux program) they do nothing.

/// Whether maskable interrupts are currently enabled.
pub fn are_enabled() -> bool {
    #[cfg(target_os = "none")]
    {
        use x86::bits32::eflags::{self, EFlags};
        // SAFETY: reading EFLAGS has no side effects.
        unsafe { eflags::read() }.contains(EFlags::FLAGS_IF)
    }
    #[cfg(not(target_os = "none"))]
    false
}

/// `sti`: let the CPU take maskable interrupts.
pub fn enable() {
    // SAFETY: the IDT and PICs are set up by `kernel::init` before anyone
    // enables interrupts; enabling them cannot break memory safety.
    #[cfg(target_os = "none")]
    unsafe {
        x86::irq::enable()
    };
}

/// `cli`: stop taking maskable interrupts.
pub fn disable() {
    // SAFETY: masking interrupts only delays them.
    #[cfg(target_os = "none")]
    unsafe {
        x86::irq::disable()
    };
}

/// Disables interrupts and returns whether they were enabled before, for
/// [`restore`].
pub fn disable_and_save() -> bool {
    let were_enabled = are_enabled();
    disable();
    were_enabled
}

/// Undoes [`disable_and_save`].
pub fn restore(were_enabled: bool) {
    if were_enabled {
        enable();
    }
}

/// Runs `f` with interrupts off.
pub fn without<R>(f: impl FnOnce() -> R) -> R {
    let were_enabled = disable_and_save();
    let result = f();
    restore(were_enabled);
    result
}

/// `hlt`: sleeps until the next interrupt (or forever, if they are off).
pub fn halt() {
    // SAFETY: `hlt` only pauses the CPU.
    #[cfg(target_os = "none")]
    unsafe {
        x86::halt()
    };
}

/// Enables interrupts and sleeps until the next one, atomically.
///
/// `sti` takes effect only after the *next* instruction, so no interrupt can
/// slip in between the two: the classic way to wait without missing a wake-up
/// that arrives just after you checked for work with interrupts off.
pub fn enable_and_halt() {
    // SAFETY: as for `enable` and `halt`.
    #[cfg(target_os = "none")]
    unsafe {
        core::arch::asm!("sti", "hlt", options(nomem, nostack))
    };
}

/// Stops the CPU for good: interrupts off, then `hlt` in a loop (an NMI could
/// still wake it, so loop).
pub fn halt_forever() -> ! {
    loop {
        disable();
        halt();
    }
}
