//! The kernel command line: `test heap=pool log=debug`.
//!
//! GRUB passes the words after the kernel's file name in `grub.cfg` as a
//! tag of the boot information. Each word is an *option*: `key=value`, or a
//! bare `key`. The rules are Linux's:
//!
//! - **the last one wins**: `heap=pool heap=bump` means `heap=bump`, and a
//!   warning says the option was given twice;
//! - **unknown options are reported**: every chapter registers the options
//!   it reads ([`register`]), and once they all have, [`warn_about_problems`]
//!   names each word no chapter knows — a typo like `hep=pool` or
//!   `HEAP=POOL` would otherwise be ignored without a word;
//! - **switches** (`test`, `slab`) are on as a bare word or with
//!   `on|yes|true|1`, and off with `off|no|false|0` ([`switch`]).
//!
//! The line is never copied: [`text`] is the text inside the boot
//! information, which stays where GRUB put it for the kernel's whole life,
//! so a line of any length is read whole.

use crate::sync::IrqMutex;
use core::fmt;

/// An option some chapter reads, for the unknown-option check and `info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelOption {
    pub name: &'static str,
    /// The values it takes, for messages: `buddy|pool|bump`, `on|off`, `N`.
    pub values: &'static str,
}

/// The options chapter 1 reads.
pub const OPTIONS: &[KernelOption] = &[
    KernelOption {
        name: "test",
        values: "on|off",
    },
    KernelOption {
        name: "log",
        values: "trace|debug|info|warn|error|off",
    },
];

/// The most options the chapters together may register.
const MAX_OPTIONS: usize = 16;

static LINE: spin::Once<&'static str> = spin::Once::new();
static KNOWN: IrqMutex<Known> = IrqMutex::new(Known::new());

/// Sets the line (from the boot information); called once by `boot::init`.
pub fn set(line: &'static str) {
    LINE.call_once(|| line);
}

/// The whole kernel command line ("" when there is none).
pub fn text() -> &'static str {
    LINE.get().copied().unwrap_or("")
}

/// The value of `key` on the kernel command line (see [`find`]).
pub fn option(key: &str) -> Option<&'static str> {
    find(text(), key)
}

/// Whether switch `key` is on; `default` when it is absent or has a value
/// that is neither on nor off (a warning names that value).
pub fn switch(key: &str, default: bool) -> bool {
    match option(key) {
        None => default,
        Some(value) => parse_switch(value).unwrap_or_else(|| {
            log::warn!(
                "{key}={value} is not on or off: using {key}={}",
                on_off(default)
            );
            default
        }),
    }
}

/// Adds a chapter's options to the ones [`warn_about_problems`] accepts.
pub fn register(options: &[KernelOption]) {
    let mut known = KNOWN.lock();
    for &option in options {
        if !known.add(option) {
            log::error!("cannot register kernel option {}: too many", option.name);
        }
    }
}

/// Logs a warning for every unknown or repeated option. Called once every
/// chapter has registered its options: when the shell or the tests start.
pub fn warn_about_problems() {
    let known = KNOWN.lock().clone();
    for problem in problems(text(), known.names()) {
        log::warn!("kernel command line: {problem}");
    }
}

/// Calls `visit` for each registered option (for `info`).
pub fn for_each_option(visit: impl FnMut(&KernelOption)) {
    let known = KNOWN.lock().clone();
    known.options().iter().for_each(visit);
}

/// Looks up `key=value` (returns `Some(value)`) or a bare `key` (returns
/// `Some("")`) among the whitespace-separated words of `line`. When the key
/// is given more than once, the last one wins.
pub fn find<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split_whitespace()
        .rev()
        .find_map(|word| match word.split_once('=') {
            Some((name, value)) if name == key => Some(value),
            None if word == key => Some(""),
            _ => None,
        })
}

/// A bare switch or `on|yes|true|1` is on, `off|no|false|0` is off,
/// anything else is neither.
pub fn parse_switch(value: &str) -> Option<bool> {
    match value {
        "" | "on" | "yes" | "true" | "1" => Some(true),
        "off" | "no" | "false" | "0" => Some(false),
        _ => None,
    }
}

fn on_off(on: bool) -> &'static str {
    if on {
        "on"
    } else {
        "off"
    }
}

/// Something wrong with a command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem<'a> {
    /// No chapter reads `word`; `suggestion` is a known name one typo away.
    Unknown {
        word: &'a str,
        suggestion: Option<&'a str>,
    },
    /// `key` is given `times` times; `winner` is the last, which counts.
    Repeated {
        key: &'a str,
        times: usize,
        winner: &'a str,
    },
}

impl fmt::Display for Problem<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Problem::Unknown {
                word,
                suggestion: Some(name),
            } => write!(f, "unknown option '{word}' ignored (did you mean {name}?)"),
            Problem::Unknown { word, .. } => write!(f, "unknown option '{word}' ignored"),
            Problem::Repeated { key, times, winner } => {
                write!(
                    f,
                    "'{key}' is given {times} times: the last, '{winner}', wins"
                )
            }
        }
    }
}

/// The problems of `line`, given the names of the known options: first
/// the unknown words, then each repeated key once, in the order they appear.
pub fn problems<'a>(line: &'a str, known: &'a [&'a str]) -> impl Iterator<Item = Problem<'a>> + 'a {
    let key_of = |word: &'a str| word.split_once('=').map_or(word, |(key, _)| key);
    let words = move || line.split_whitespace();
    let unknown = words().filter_map(move |word| {
        let key = key_of(word);
        (!known.contains(&key)).then(|| Problem::Unknown {
            word,
            suggestion: known.iter().copied().find(|name| one_typo_away(key, name)),
        })
    });
    let repeated = words().enumerate().filter_map(move |(index, word)| {
        let key = key_of(word);
        let earlier = words().take(index).any(|other| key_of(other) == key);
        let times = words().filter(|other| key_of(other) == key).count();
        (known.contains(&key) && times > 1 && !earlier).then(|| Problem::Repeated {
            key,
            times,
            winner: words()
                .rev()
                .find(|other| key_of(other) == key)
                .unwrap_or(word),
        })
    });
    unknown.chain(repeated)
}

/// Whether `typed` is `name` in other letter case, or with one letter
/// missing, extra or changed: `hep`, `HEAP`, `heapp` and `haep`... all
/// point at `heap`.
fn one_typo_away(typed: &str, name: &str) -> bool {
    if typed.eq_ignore_ascii_case(name) {
        return true;
    }
    let (a, b) = (typed.as_bytes(), name.as_bytes());
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if long.len() - short.len() > 1 || short.is_empty() {
        return false;
    }
    // Skip the common start and end; at most one byte may be left over
    // (in the longer word), or one byte changed, or two swapped.
    let start = short.iter().zip(long).take_while(|(x, y)| x == y).count();
    let end = short[start..]
        .iter()
        .rev()
        .zip(long[start..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (short_rest, long_rest) = (short.len() - start - end, long.len() - start - end);
    let swapped = short_rest == 2
        && long_rest == 2
        && short[start] == long[start + 1]
        && short[start + 1] == long[start];
    long_rest <= 1 && short_rest <= 1 || swapped
}

/// The registered options, in registration order.
#[derive(Clone)]
struct Known {
    options: [KernelOption; MAX_OPTIONS],
    names: [&'static str; MAX_OPTIONS],
    len: usize,
}

impl Known {
    const fn new() -> Self {
        Self {
            options: [KernelOption {
                name: "",
                values: "",
            }; MAX_OPTIONS],
            names: [""; MAX_OPTIONS],
            len: 0,
        }
    }

    fn add(&mut self, option: KernelOption) -> bool {
        if self.names().contains(&option.name) {
            return true;
        }
        if self.len == MAX_OPTIONS {
            return false;
        }
        self.options[self.len] = option;
        self.names[self.len] = option.name;
        self.len += 1;
        true
    }

    fn names(&self) -> &[&'static str] {
        &self.names[..self.len]
    }

    fn options(&self) -> &[KernelOption] {
        &self.options[..self.len]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KNOWN: &[&str] = &["test", "log", "heap", "slab", "heapdebug"];

    fn problems_of(line: &str) -> Vec<String> {
        problems(line, KNOWN).map(|p| p.to_string()).collect()
    }

    #[test]
    fn options_are_found_by_key_and_the_last_wins() {
        let line = "test heap=pool log=debug  quiet heap=bump";
        assert_eq!(find(line, "heap"), Some("bump"));
        assert_eq!(find(line, "log"), Some("debug"));
        assert_eq!(find(line, "test"), Some(""));
        assert_eq!(find(line, "quiet"), Some(""));
        assert_eq!(find(line, "slab"), None);
        // A key is a whole word, not a prefix.
        assert_eq!(find(line, "hea"), None);
        assert_eq!(find("", "test"), None);
    }

    #[test]
    fn switches_take_on_and_off_in_several_spellings() {
        for on in ["", "on", "yes", "true", "1"] {
            assert_eq!(parse_switch(on), Some(true), "{on:?}");
        }
        for off in ["off", "no", "false", "0"] {
            assert_eq!(parse_switch(off), Some(false), "{off:?}");
        }
        assert_eq!(parse_switch("maybe"), None);
        assert_eq!(parse_switch("OFF"), None);
    }

    #[test]
    fn unknown_words_are_named_with_a_suggestion_when_one_is_close() {
        assert_eq!(
            problems_of("test hep=pool HEAP=POOL foo=bar slab heapdebgu=full"),
            [
                "unknown option 'hep=pool' ignored (did you mean heap?)",
                "unknown option 'HEAP=POOL' ignored (did you mean heap?)",
                "unknown option 'foo=bar' ignored",
                "unknown option 'heapdebgu=full' ignored (did you mean heapdebug?)",
            ]
        );
        assert!(problems_of("test heap=pool log=info").is_empty());
        assert!(problems_of("").is_empty());
    }

    #[test]
    fn each_repeated_key_is_reported_once_with_its_winner() {
        assert_eq!(
            problems_of("heap=pool log=info heap=bump slab=on heap=buddy log=warn"),
            [
                "'heap' is given 3 times: the last, 'heap=buddy', wins",
                "'log' is given 2 times: the last, 'log=warn', wins",
            ]
        );
    }

    #[test]
    fn one_typo_means_one_letter_added_dropped_changed_or_swapped() {
        for typed in ["hep", "heapp", "haep", "heao", "HEAP", "Heap", "eap"] {
            assert!(one_typo_away(typed, "heap"), "{typed}");
        }
        for typed in ["he", "heapxx", "pool", "ehpa", ""] {
            assert!(!one_typo_away(typed, "heap"), "{typed}");
        }
    }

    #[test]
    fn registering_ignores_repeats_and_stops_at_the_limit() {
        let mut known = Known::new();
        let option = |name| KernelOption { name, values: "" };
        assert!(known.add(option("a")));
        assert!(known.add(option("a")));
        assert_eq!(known.names(), ["a"]);
        let names = [
            "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p",
        ];
        for name in names {
            assert!(known.add(option(name)));
        }
        assert!(!known.add(option("q")));
        assert_eq!(known.names().len(), MAX_OPTIONS);
    }
}
