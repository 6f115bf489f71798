//! The Programmable Interval Timer (8253/8254), and the kernel's clock.
//!
//! The PIT counts down from a *divisor* at 1 193 182 Hz and raises IRQ 0 each
//! time it reaches zero, so it ticks at 1 193 182 / divisor Hz. Strata sets it
//! to 100 Hz: a tick every 10 ms. Every tick adds one to [`ticks`]; `uptime`
//! and the log timestamps are computed from it.

use crate::interrupts;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use x86::io::outb;

/// The PIT's input clock.
pub const INPUT_HZ: u32 = 1_193_182;
/// The tick rate Strata uses unless told otherwise.
pub const DEFAULT_HZ: u32 = 100;

const CHANNEL0_DATA: u16 = 0x40;
const MODE_COMMAND: u16 = 0x43;
/// Channel 0, write low byte then high byte, mode 3 (square wave), binary.
const CHANNEL0_SQUARE_WAVE: u8 = 0x36;
pub const TIMER_IRQ: u8 = 0;

static TICKS: AtomicU64 = AtomicU64::new(0);
static DIVISOR: AtomicU32 = AtomicU32::new(INPUT_HZ / DEFAULT_HZ);

/// The divisor that makes the PIT tick at (about) `hz`, clamped to what its
/// 16-bit counter can hold (0 means 65 536).
pub fn divisor_for(hz: u32) -> u16 {
    let divisor = INPUT_HZ / hz.max(1);
    divisor.clamp(1, 65_535) as u16
}

/// Programs channel 0 to tick at `hz`. Each tick is IRQ 0, whose handler
/// is `tick` (`kernel::init` connects them).
pub fn init(hz: u32) {
    let divisor = divisor_for(hz);
    DIVISOR.store(u32::from(divisor), Ordering::Relaxed);
    // SAFETY: ports 0x43 and 0x40 belong to the PIT; this is its documented
    // programming sequence (command, then the divisor low byte, high byte).
    unsafe {
        outb(MODE_COMMAND, CHANNEL0_SQUARE_WAVE);
        outb(CHANNEL0_DATA, divisor as u8);
        outb(CHANNEL0_DATA, (divisor >> 8) as u8);
    }
}

/// IRQ 0: one more tick.
pub(crate) fn tick() {
    TICKS.fetch_add(1, Ordering::Relaxed);
}

/// Timer ticks since the PIT was started.
pub fn ticks() -> u64 {
    TICKS.load(Ordering::Relaxed)
}

/// The tick rate in whole Hz (100 for a divisor of 11 931, whose exact rate
/// is 100.007 Hz).
pub fn frequency() -> u32 {
    INPUT_HZ / DIVISOR.load(Ordering::Relaxed)
}

/// Milliseconds since the PIT was started, from the exact tick length
/// (divisor / 1 193 182 s), so the clock does not drift by the rounding in
/// [`frequency`].
pub fn uptime_ms() -> u64 {
    ticks_to_ms(ticks(), DIVISOR.load(Ordering::Relaxed))
}

/// How many milliseconds `ticks` ticks of a PIT with `divisor` last.
pub fn ticks_to_ms(ticks: u64, divisor: u32) -> u64 {
    ticks * u64::from(divisor) * 1000 / u64::from(INPUT_HZ)
}

/// Sleeps (with `hlt`) for at least `count` ticks. Interrupts must be on.
pub fn sleep_ticks(count: u64) {
    let until = ticks() + count;
    while ticks() < until {
        interrupts::enable_and_halt();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn divisor_gives_the_requested_rate() {
        assert_eq!(divisor_for(100), 11_931);
        assert_eq!(INPUT_HZ / u32::from(divisor_for(1000)), 1000);
        // Too slow for a 16-bit counter: clamp to the slowest rate (~18.2 Hz).
        assert_eq!(divisor_for(1), 65_535);
        // Faster than the input clock: the fastest rate, never a zero divisor.
        assert_eq!(divisor_for(10_000_000), 1);
    }

    #[test]
    fn uptime_follows_the_exact_tick_length() {
        let divisor = u32::from(divisor_for(100));
        assert_eq!(ticks_to_ms(100, divisor), 999);
        // A day's worth of 100.007 Hz ticks is still (just under) a day.
        let ticks_per_day = 86_400 * u64::from(INPUT_HZ) / u64::from(divisor);
        assert_eq!(ticks_to_ms(ticks_per_day, divisor) / 1000, 86_399);
    }
}
