//! Heap tracing: every allocation, free and reallocation as one line of
//! text, for `heaptrace on` and `make trace` (the format is documented in
//! docs/heap-debugging.md, "Tracing the heap").
//!
//! A [`Tracer`] lives in each [`LockedHeap`](super::LockedHeap), which
//! calls it once per request that went through it. It is off by default,
//! and off it costs one relaxed load of an `AtomicBool` per request. On, it
//! hands each [`TraceEvent`] to a *sink*, a plain function the kernel sets
//! to write the line to the serial port alone. A sink runs inside the
//! allocator, so it must not allocate, and it runs with interrupts off, so
//! that the lines come out in the order the heap served the requests.
//!
//! One line per event, after the prefix `heaptrace: ` (addresses in hex,
//! sizes and alignments in decimal bytes):
//!
//! ```text
//! heaptrace: alloc 0xd0001230 size=100 align=8 usable=112
//! heaptrace: free 0xd0001230 size=100
//! heaptrace: realloc 0xd0001230 -> 0xd0002000 size=300 old=100 align=8 usable=496
//! heaptrace: fail size=9000000 align=1
//! heaptrace: refused 0xd0001230 size=100
//! ```
//!
//! [`TraceEvent::parse`] reads a line back, and skips (returns `None` for)
//! lines that are not events, such as the `heaptrace: on ...` and
//! `heaptrace: off ...` lines the shell command prints.

use core::fmt;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// What every trace line starts with.
pub const PREFIX: &str = "heaptrace: ";

/// One request the heap served (or did not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceEvent {
    /// A new block of `usable` bytes at `address` for `size` bytes
    /// aligned to `align`.
    Alloc {
        address: usize,
        size: usize,
        align: usize,
        usable: usize,
    },
    /// The block at `address`, allocated for `size` bytes, is free again.
    Free { address: usize, size: usize },
    /// The block at `from`, allocated for `old` bytes, now holds `size`
    /// bytes at `to` (the same address if it was resized in place).
    Realloc {
        from: usize,
        to: usize,
        size: usize,
        old: usize,
        align: usize,
        usable: usize,
    },
    /// An allocation or a reallocation that could not be served: the heap
    /// is as it was (a reallocated block stays where it was).
    Fail { size: usize, align: usize },
    /// A free or reallocation of `address` that the heap refused (a double
    /// free, a pointer it never handed out): nothing changed.
    Refused { address: usize, size: usize },
}

impl fmt::Display for TraceEvent {
    /// The line without [`PREFIX`] and without a line break.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Alloc {
                address,
                size,
                align,
                usable,
            } => write!(
                f,
                "alloc {address:#010x} size={size} align={align} usable={usable}"
            ),
            Self::Free { address, size } => write!(f, "free {address:#010x} size={size}"),
            Self::Realloc {
                from,
                to,
                size,
                old,
                align,
                usable,
            } => write!(
                f,
                "realloc {from:#010x} -> {to:#010x} size={size} old={old} align={align} usable={usable}"
            ),
            Self::Fail { size, align } => write!(f, "fail size={size} align={align}"),
            Self::Refused { address, size } => {
                write!(f, "refused {address:#010x} size={size}")
            }
        }
    }
}

impl TraceEvent {
    /// Reads one line back: with or without [`PREFIX`], with or without
    /// surrounding spaces and line breaks. Fields after the named ones are
    /// allowed (and ignored) so that the format can grow. `None` for a line
    /// that is not an event.
    pub fn parse(line: &str) -> Option<Self> {
        let line = line.trim();
        let line = line.strip_prefix(PREFIX.trim_end()).unwrap_or(line);
        let mut words = line.split_ascii_whitespace();
        let event = words.next()?;
        let mut fields = Fields::default();
        let address = match event {
            "alloc" | "free" | "realloc" | "refused" => Some(hex(words.next()?)?),
            _ => None,
        };
        let to = match event {
            "realloc" => {
                (words.next()? == "->").then_some(())?;
                Some(hex(words.next()?)?)
            }
            _ => None,
        };
        for word in words {
            fields.read(word)?;
        }
        Some(match event {
            "alloc" => Self::Alloc {
                address: address?,
                size: fields.size?,
                align: fields.align?,
                usable: fields.usable?,
            },
            "free" => Self::Free {
                address: address?,
                size: fields.size?,
            },
            "realloc" => Self::Realloc {
                from: address?,
                to: to?,
                size: fields.size?,
                old: fields.old?,
                align: fields.align?,
                usable: fields.usable?,
            },
            "fail" => Self::Fail {
                size: fields.size?,
                align: fields.align?,
            },
            "refused" => Self::Refused {
                address: address?,
                size: fields.size?,
            },
            _ => return None,
        })
    }
}

/// The `key=value` fields of a line.
#[derive(Default)]
struct Fields {
    size: Option<usize>,
    old: Option<usize>,
    align: Option<usize>,
    usable: Option<usize>,
}

impl Fields {
    /// Notes one `key=value` word; `None` if it is not one.
    fn read(&mut self, word: &str) -> Option<()> {
        let (key, value) = word.split_once('=')?;
        let slot = match key {
            "size" => &mut self.size,
            "old" => &mut self.old,
            "align" => &mut self.align,
            "usable" => &mut self.usable,
            _ => return Some(()),
        };
        *slot = Some(value.parse().ok()?);
        Some(())
    }
}

/// `0x...` as a number.
fn hex(word: &str) -> Option<usize> {
    usize::from_str_radix(word.strip_prefix("0x")?, 16).ok()
}

/// Where trace events go.
pub type TraceSink = fn(&TraceEvent);

/// Whether a heap is traced, how many events it has traced, and where they
/// go.
pub struct Tracer {
    on: AtomicBool,
    events: AtomicUsize,
    sink: spin::Once<TraceSink>,
}

impl Tracer {
    pub const fn new() -> Self {
        Self {
            on: AtomicBool::new(false),
            events: AtomicUsize::new(0),
            sink: spin::Once::new(),
        }
    }

    /// Sets where events go (once; later calls are ignored). Until then,
    /// turning tracing on does nothing.
    pub fn set_sink(&self, sink: TraceSink) {
        self.sink.call_once(|| sink);
    }

    /// Turns tracing on or off.
    pub fn set_on(&self, on: bool) {
        self.on.store(on, Ordering::Relaxed);
    }

    /// Whether tracing is on (and there is a sink to trace to).
    #[inline(always)]
    pub fn is_on(&self) -> bool {
        self.on.load(Ordering::Relaxed) && self.sink.is_completed()
    }

    /// Events traced since boot.
    pub fn events(&self) -> usize {
        self.events.load(Ordering::Relaxed)
    }

    /// Hands `event` to the sink.
    pub fn emit(&self, event: TraceEvent) {
        if let Some(sink) = self.sink.get() {
            self.events.fetch_add(1, Ordering::Relaxed);
            sink(&event);
        }
    }
}

impl Default for Tracer {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::format;
    use std::string::ToString;

    const EVENTS: [TraceEvent; 5] = [
        TraceEvent::Alloc {
            address: 0xd000_1230,
            size: 100,
            align: 8,
            usable: 112,
        },
        TraceEvent::Free {
            address: 0xd000_1230,
            size: 100,
        },
        TraceEvent::Realloc {
            from: 0xd000_1230,
            to: 0xd000_2000,
            size: 300,
            old: 100,
            align: 8,
            usable: 496,
        },
        TraceEvent::Fail {
            size: 9_000_000,
            align: 1,
        },
        TraceEvent::Refused {
            address: 0x12_3450,
            size: 64,
        },
    ];

    #[test]
    fn lines_read_as_the_docs_show_them() {
        let lines: std::vec::Vec<_> = EVENTS.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                "alloc 0xd0001230 size=100 align=8 usable=112",
                "free 0xd0001230 size=100",
                "realloc 0xd0001230 -> 0xd0002000 size=300 old=100 align=8 usable=496",
                "fail size=9000000 align=1",
                "refused 0x00123450 size=64",
            ]
        );
    }

    #[test]
    fn every_event_reads_back() {
        for event in EVENTS {
            assert_eq!(TraceEvent::parse(&event.to_string()), Some(event));
            let line = format!("{PREFIX}{event}\r\n");
            assert_eq!(TraceEvent::parse(&line), Some(event), "{line:?}");
        }
    }

    #[test]
    fn extra_fields_are_ignored_and_other_lines_skipped() {
        assert_eq!(
            TraceEvent::parse("heaptrace: free 0x10 size=4 site=0x1234 cpu=0"),
            Some(TraceEvent::Free {
                address: 0x10,
                size: 4
            })
        );
        for line in [
            "",
            "heaptrace: on kind=buddy total=8388608 used=0 allocations=0",
            "heaptrace: off events=12",
            "heaptrace: alloc 0x10 size=4",
            "heaptrace: alloc 10 size=4 align=1 usable=4",
            "heaptrace: free 0x10 size=four",
            "heaptrace: realloc 0x10 0x20 size=4 old=2 align=1 usable=4",
            "strata> alloc 100",
        ] {
            assert_eq!(TraceEvent::parse(line), None, "{line:?}");
        }
    }

    static SEEN: AtomicUsize = AtomicUsize::new(0);

    #[test]
    fn a_tracer_is_off_until_turned_on_and_needs_a_sink() {
        let tracer = Tracer::new();
        tracer.set_on(true);
        assert!(!tracer.is_on(), "no sink yet");
        tracer.set_on(false);
        tracer.set_sink(|_| {
            SEEN.fetch_add(1, Ordering::Relaxed);
        });
        assert!(!tracer.is_on());
        tracer.set_on(true);
        assert!(tracer.is_on());
        tracer.emit(EVENTS[0]);
        assert_eq!((tracer.events(), SEEN.load(Ordering::Relaxed)), (1, 1));
    }
}
