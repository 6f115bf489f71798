//! What happens when the kernel panics.
//!
//! A kernel has no one to return an error to, so a panic prints its message
//! and location on the screen and serial port and halts the CPU. Under the
//! in-kernel test runner the panic is handed to [`ktest`](crate::ktest)
//! instead, which decides whether it was expected and exits QEMU with a
//! status the host can read.

use core::sync::atomic::{AtomicBool, Ordering};

static PANICKING: AtomicBool = AtomicBool::new(false);

/// Prints the report and stops.
///
/// A panic while reporting a panic (the screen code itself failed, say) is
/// reported on the serial port alone, which needs nothing but the UART; under
/// the test runner it also exits QEMU, so the host is not left waiting.
pub fn report_and_halt(info: &core::panic::PanicInfo) -> ! {
    crate::interrupts::disable();
    if PANICKING.swap(true, Ordering::Relaxed) {
        crate::console::print_serial_only(format_args!(
            "\r\nKERNEL PANIC while reporting a panic: {}\r\n",
            info.message()
        ));
        if crate::ktest::is_running() {
            crate::drivers::qemu::exit(crate::drivers::qemu::ExitCode::Failure);
        }
        crate::interrupts::halt_forever();
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
    // A test kernel that panics before its tests start (a lab's `todo!()`
    // reached during boot, say) exits QEMU, so the host need not wait for
    // its time limit to learn that.
    if crate::ktest::requested() {
        crate::println!("(test kernel: exiting QEMU with status 35)");
        crate::drivers::qemu::exit(crate::drivers::qemu::ExitCode::Failure);
    }
    crate::println!("The system is halted.");
    crate::interrupts::halt_forever()
}

#[cfg(all(target_os = "none", not(test)))]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    report_and_halt(info)
}
