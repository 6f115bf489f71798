//! Levelled logging: `log::info!`, `log::warn!` and friends.
//!
//! The kernel uses the standard `log` facade, so its messages look like any
//! Rust program's. This logger prints each record with the uptime and the
//! level, coloured by level on the screen:
//!
//! ```text
//! [    0.031] INFO  kernel ready: GDT, IDT, PICs, 100 Hz timer, ...
//! ```
//!
//! The level can be set at boot with `log=debug` (or `trace`, `info`, `warn`,
//! `error`, `off`) on the kernel command line.

use crate::console;
use crate::drivers::pit;
use crate::screen::{Attribute, Color};
use log::{Level, LevelFilter, Log, Metadata, Record};

struct ConsoleLogger;

static LOGGER: ConsoleLogger = ConsoleLogger;

/// Installs the logger at level `Info`.
pub fn init() {
    // `set_logger` fails only if a logger is already installed, which is
    // harmless (a second `init`).
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(LevelFilter::Info);
}

/// Applies `log=LEVEL` from the kernel command line, if present; a level
/// that is not one of trace/debug/info/warn/error/off is reported and ignored.
pub fn apply_command_line(command_line: &str) {
    let Some(name) = crate::command_line::find(command_line, "log") else {
        return;
    };
    match parse_level(name) {
        Some(level) => log::set_max_level(level),
        None => log::warn!("ignoring log={name}: expected trace, debug, info, warn, error or off"),
    }
}

/// Parses a level name as given on the command line.
pub fn parse_level(name: &str) -> Option<LevelFilter> {
    name.parse().ok()
}

impl Log for ConsoleLogger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let ms = pit::uptime_ms();
        console::print_fmt_in(
            colour_of(record.level()),
            format_args!(
                "[{:>5}.{:03}] {:<5} {}\n",
                ms / 1000,
                ms % 1000,
                record.level(),
                record.args()
            ),
        );
    }

    fn flush(&self) {}
}

fn colour_of(level: Level) -> Attribute {
    let foreground = match level {
        Level::Error => Color::LightRed,
        Level::Warn => Color::Yellow,
        Level::Info => Color::LightGreen,
        Level::Debug => Color::LightCyan,
        Level::Trace => Color::DarkGray,
    };
    Attribute::new(foreground, Color::Black)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_names_parse_case_insensitively() {
        assert_eq!(parse_level("debug"), Some(LevelFilter::Debug));
        assert_eq!(parse_level("WARN"), Some(LevelFilter::Warn));
        assert_eq!(parse_level("off"), Some(LevelFilter::Off));
        assert_eq!(parse_level("loud"), None);
    }

    #[test]
    fn the_command_line_sets_the_level_and_a_bad_one_is_ignored() {
        // The only test touching the global level, so it cannot race another.
        apply_command_line("test log=warn quiet");
        assert_eq!(log::max_level(), LevelFilter::Warn);
        apply_command_line("log=loud");
        assert_eq!(
            log::max_level(),
            LevelFilter::Warn,
            "an unknown level changes nothing"
        );
        apply_command_line("logging=off");
        assert_eq!(
            log::max_level(),
            LevelFilter::Warn,
            "only the exact key counts"
        );
        apply_command_line("log=off");
        assert_eq!(log::max_level(), LevelFilter::Off);
    }
}
