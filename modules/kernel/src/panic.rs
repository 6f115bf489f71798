//! What happens when the kernel panics.
//!
//! A kernel has no one to return an error to, so a panic prints its message
//! and location on the screen and serial port and halts the CPU. Under the
//! in-kernel test runner the panic is handed to [`ktest`](crate::ktest)
//! instead, which decides whether it was expected and exits QEMU with a
//! status the host can read.

use core::sync::atomic::{AtomicBool, Ordering};

static PANICKING: AtomicBool = AtomicBool::new(false);

/// Prints the report and stops; a panic while panicking just stops.
pub fn report_and_halt(info: &core::panic::PanicInfo) -> ! {
    crate::cpu::interrupts::disable();
    if PANICKING.swap(true, Ordering::Relaxed) {
        crate::halt_forever();
    }
    crate::console::take_for_emergency();
    if crate::ktest::is_running() {
        crate::ktest::on_panic(info);
    }
    crate::println!("\nKERNEL PANIC: {}", info.message());
    if let Some(location) = info.location() {
        crate::println!(
            "  at {}:{}:{}",
            location.file(),
            location.line(),
            location.column()
        );
    }
    crate::println!("The system is halted.");
    crate::halt_forever()
}

#[cfg(all(target_os = "none", not(test)))]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    report_and_halt(info)
}
