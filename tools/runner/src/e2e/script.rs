//! The `.e2e` script format and its parser.
//!
//! An end-to-end script types commands into the kernel's shell over the
//! serial port (or on the PS/2 keyboard) and checks what comes back. Each line starts with a
//! directive; leading spaces are allowed, so steps can be indented under
//! their case:
//!
//! ```text
//! # A comment. Blank lines are ignored too.
//! prompt strata>          (optional, before the first case; default "strata> ")
//!
//! === help lists the commands
//! > help                  type `help`, then Enter ("\r")
//! < echo                  the reply must contain `echo`
//! !< unknown command      ... and must not contain `unknown command`
//!
//! === line editing
//! >raw ecx\x7fho hi       type these bytes exactly (here: a DEL), no Enter
//! >raw \r                 now press Enter
//! < hi
//!
//! === the keyboard works too
//! keys e c h o spc shift-h i ret    press these keys on the PS/2 keyboard
//! < Hi
//! ```
//!
//! * `=== NAME` starts a test case; each case is one counted test.
//! * `> TEXT` types TEXT, taken verbatim to the end of the line (trailing
//!   spaces included), then `\r`. A lone `>` just presses Enter.
//! * `>raw TEXT` types TEXT with escapes expanded and adds nothing.
//! * `>nowait TEXT` types TEXT and Enter, but does not wait for the prompt:
//!   for a command that runs until it is interrupted (`run spin`).
//! * `await TEXT` waits (up to the reply timeout) until the output since
//!   the last send that waited contains TEXT: that the program has started,
//!   say, before Ctrl-C is sent. It counts as a send for `<`: the next
//!   send's reply includes what it saw.
//! * `keys KEY...` presses keys on the PS/2 keyboard instead of the serial
//!   port, one after the other, so the input takes the kernel's IRQ 1 and
//!   scancode path. Each KEY is a name for QEMU's monitor command `sendkey`:
//!   `a`..`z`, `0`..`9`, `spc`, `ret`, `backspace`, `tab`, `esc`, `minus`,
//!   `up`, `down`, `caps_lock`, ..., and combinations held together such as
//!   `shift-a` or `ctrl-c`. Names may use only `a-z 0-9 _ -`; QEMU checks
//!   the rest when the key is pressed (an unknown name fails the case). A
//!   `keys` step is a send: `ret` or `kp_enter` (also in a combination,
//!   like `shift-ret`) is its Enter. The kernel echoes keystrokes on the
//!   serial port, so its replies read as they do for serial input.
//! * `< TEXT` / `!< TEXT`: the reply must / must not contain TEXT.
//! * `prompt TEXT` sets the shell prompt the runner waits for.
//! * `>paste COUNT TEXT` types COUNT lines at once, as a paste would: TEXT
//!   with every `{n}` replaced by the line's number (1 to COUNT), each
//!   followed by `\r`, written in one go (up to 32 KiB) without the pauses
//!   of other sends; then waits for COUNT prompts.
//! * `<each TEXT` checks `< TEXT` for every line of the case's last paste,
//!   with `{n}` replaced as there: `<each \nn{n}\n` after
//!   `>paste 500 echo n{n}` checks that all 500 lines ran.
//! * `cmdline TEXT` (before the first case) boots the kernel with TEXT as
//!   its command line instead of an empty one: `make isos` builds
//!   `strata-NAME-e2e-STEM.iso` for the script `STEM.e2e`.
//! * `memory SIZE` (before the first case) boots with SIZE of RAM (QEMU's
//!   `-m`, e.g. `16M`; default 128M).
//!
//! Escapes, valid in `>raw`, `<`, `!<` and `prompt`: `\r \n \t \\ \xNN`.
//!
//! **How replies work.** The runner first waits for the prompt (the boot
//! banner ends with it). Each send then clears the collected output, types
//! the bytes, and collects output until the prompt comes back: that text,
//! including the echoed command and the final prompt, is the *reply* that
//! the following `<` / `!<` lines check. Output is compared with every `\r`
//! removed, so write `\n` for a line break. Any output arriving within
//! 150 ms after the prompt fails the case (it catches e.g. a CRLF treated as
//! two Enters). A `>raw` send without `\r` or `\n`, or a `keys` send
//! without `ret`, does not wait for the prompt; its output becomes part of
//! the next send's reply, so a `<` may not follow it directly. `<` lines before a case's first send check the
//! previous reply (for the first case: the boot banner).
//!
//! A reply that takes longer than 10 s fails its case, and the remaining
//! cases are not run (the kernel is presumably hung); the same goes when the
//! kernel exits. The prompt is recognised where its text first appears in
//! the output, so avoid typing commands that contain the prompt text.

use crate::escapes;

/// The prompt used when a script does not set one.
pub const DEFAULT_PROMPT: &str = "strata> ";

/// A parsed `.e2e` file.
#[derive(Debug, PartialEq)]
pub struct Script {
    pub prompt: Vec<u8>,
    /// The kernel command line to boot with (`cmdline`), if not empty.
    pub command_line: Option<String>,
    /// QEMU's `-m` (`memory`), if not the default.
    pub memory: Option<String>,
    pub cases: Vec<Case>,
}

/// One `=== NAME` section: a single counted test.
#[derive(Debug, PartialEq)]
pub struct Case {
    pub name: String,
    pub steps: Vec<Step>,
}

/// One action or check; `line` is the script line it came from, for
/// messages.
#[derive(Debug, PartialEq)]
pub enum Step {
    /// Type `input`; if it contains an Enter, wait for the prompt.
    Send { line: usize, input: Input },
    /// The reply must contain `text`.
    Expect { line: usize, text: Vec<u8> },
    /// The reply must not contain `text`.
    Reject { line: usize, text: Vec<u8> },
    /// The reply must contain each of `texts` (`<each`).
    ExpectEach { line: usize, texts: Vec<Vec<u8>> },
    /// Wait until the output contains `text` (`await`).
    Await { line: usize, text: Vec<u8> },
}

/// What a send types.
#[derive(Debug, PartialEq)]
pub enum Input {
    /// Bytes for the serial port (`>` and `>raw`).
    Serial(Vec<u8>),
    /// QEMU `sendkey` names for the PS/2 keyboard (`keys`).
    Keys(Vec<String>),
    /// `lines` lines in one go, each ending in `\r` (`>paste`).
    Paste { bytes: Vec<u8>, lines: usize },
    /// Bytes for the serial port, Enter included, with no prompt to wait
    /// for (`>nowait`).
    NoWait(Vec<u8>),
}

impl Input {
    /// Whether sending this presses Enter, so that a reply will follow.
    pub fn has_enter(&self) -> bool {
        self.prompts() > 0
    }

    /// How many prompts the kernel answers this with.
    pub fn prompts(&self) -> usize {
        match self {
            Input::Serial(bytes) => usize::from(has_enter(bytes)),
            Input::Keys(keys) => usize::from(keys.iter().any(|key| is_enter_key(key))),
            Input::Paste { lines, .. } => *lines,
            Input::NoWait(_) => 0,
        }
    }
}

/// The most lines one `>paste` may send...
const MAX_PASTE: usize = 10_000;
/// ... and bytes: a paste is written in one go, and must fit the pipe's
/// buffer (see `Machine::send_at_once`).
const MAX_PASTE_BYTES: usize = 32 << 10;

/// TEXT with `{n}` replaced by `n`.
fn numbered(text: &[u8], n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + 4);
    let mut rest = text;
    while let Some(at) = rest.windows(3).position(|window| window == b"{n}") {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(n.to_string().as_bytes());
        rest = &rest[at + 3..];
    }
    out.extend_from_slice(rest);
    out
}

/// Whether sending `bytes` presses Enter, so that a reply will follow.
pub fn has_enter(bytes: &[u8]) -> bool {
    bytes.contains(&b'\r') || bytes.contains(&b'\n')
}

/// Whether the `sendkey` name `key` presses Enter: `ret` or `kp_enter`,
/// alone or as the last key of a combination (`shift-ret`).
fn is_enter_key(key: &str) -> bool {
    matches!(key.rsplit('-').next(), Some("ret" | "kp_enter"))
}

/// Whether `key` looks like a `sendkey` name. Only the characters are
/// checked: QEMU itself refuses unknown names when the key is pressed.
fn is_key_name(key: &str) -> bool {
    !key.is_empty()
        && key
            .bytes()
            .all(|byte| matches!(byte, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-'))
}

/// Parses a script; errors read `line N: what is wrong`.
pub fn parse(text: &str) -> Result<Script, String> {
    let mut script = Script {
        prompt: DEFAULT_PROMPT.as_bytes().to_vec(),
        command_line: None,
        memory: None,
        cases: Vec::new(),
    };
    // Lines in the current case's last `>paste`, for `<each`.
    let mut pasted: Option<usize> = None;
    let mut case_lines: Vec<usize> = Vec::new();
    // The last send without Enter (line and directive), while its reply is
    // pending.
    let mut pending: Option<(usize, &str)> = None;

    for (index, raw_line) in text.lines().enumerate() {
        let line = index + 1;
        let error = |message: String| format!("line {line}: {message}");
        let trimmed = raw_line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let (directive, argument) = trimmed.split_once(' ').unwrap_or((trimmed, ""));
        let expand = |text: &str| escapes::expand(text).map_err(error);

        if directive == "===" {
            let name = argument.trim();
            if name.is_empty() {
                return Err(error("`===` needs a case name".into()));
            }
            if let Some(first) = script.cases.iter().position(|case| case.name == name) {
                let first_line = case_lines[first];
                return Err(error(format!(
                    "case `{name}` already exists (line {first_line})"
                )));
            }
            finish_case(&script, &case_lines)?;
            pasted = None;
            script.cases.push(Case {
                name: name.to_string(),
                steps: Vec::new(),
            });
            case_lines.push(line);
            continue;
        }
        if directive == "prompt" {
            if !script.cases.is_empty() {
                return Err(error("`prompt` must come before the first case".into()));
            }
            script.prompt = expand(argument)?;
            if script.prompt.is_empty() {
                return Err(error("`prompt` needs the prompt text".into()));
            }
            continue;
        }
        if directive == "cmdline" || directive == "memory" {
            if !script.cases.is_empty() {
                return Err(error(format!(
                    "`{directive}` must come before the first case"
                )));
            }
            let value = argument.trim();
            if value.is_empty() {
                return Err(error(format!("`{directive}` needs a value")));
            }
            if directive == "cmdline" {
                if value.contains(['|', '"', '\'', '\\', '&']) {
                    return Err(error(
                        "`cmdline` may not contain | \" ' \\ or & (it goes into grub.cfg)".into(),
                    ));
                }
                script.command_line = Some(value.to_string());
            } else {
                script.memory = Some(value.to_string());
            }
            continue;
        }

        if let (Some((send_line, send)), "<" | "!<" | "<each") = (pending, directive) {
            let enter = if send == "keys" { "`ret`" } else { "Enter" };
            return Err(error(format!(
                "nothing to check yet: the `{send}` on line {send_line} has no {enter}, \
                 so its output only shows up in the next send's reply"
            )));
        }
        let step = match directive {
            ">" => Step::Send {
                line,
                input: Input::Serial(format!("{argument}\r").into_bytes()),
            },
            ">nowait" => {
                if argument.is_empty() {
                    return Err(error("`>nowait` needs a command to type".into()));
                }
                Step::Send {
                    line,
                    input: Input::NoWait(format!("{argument}\r").into_bytes()),
                }
            }
            "await" => {
                let text = expand(argument)?;
                if text.is_empty() {
                    return Err(error("`await` needs text to wait for".into()));
                }
                Step::Await { line, text }
            }
            ">raw" => {
                let bytes = expand(argument)?;
                if bytes.is_empty() {
                    return Err(error("`>raw` needs bytes to send".into()));
                }
                Step::Send {
                    line,
                    input: Input::Serial(bytes),
                }
            }
            ">paste" => {
                let (count, text) = argument.split_once(' ').unwrap_or((argument, ""));
                let count = count
                    .parse::<usize>()
                    .ok()
                    .filter(|count| (1..=MAX_PASTE).contains(count))
                    .ok_or_else(|| {
                        error(format!("`>paste` needs a line count from 1 to {MAX_PASTE}, then the text"))
                    })?;
                let text = expand(text)?;
                if text.is_empty() || has_enter(&text) {
                    return Err(error(
                        "`>paste` needs one line of text (each line gets its own \\r)".into(),
                    ));
                }
                let mut bytes = Vec::new();
                for n in 1..=count {
                    bytes.extend(numbered(&text, n));
                    bytes.push(b'\r');
                }
                if bytes.len() > MAX_PASTE_BYTES {
                    return Err(error(format!(
                        "`>paste` of {} bytes: at most {MAX_PASTE_BYTES} go in one paste",
                        bytes.len()
                    )));
                }
                pasted = Some(count);
                Step::Send {
                    line,
                    input: Input::Paste {
                        bytes,
                        lines: count,
                    },
                }
            }
            "<each" => {
                let Some(count) = pasted else {
                    return Err(error("`<each` needs a `>paste` earlier in its case".into()));
                };
                let text = expand(argument)?;
                if text.is_empty() || text.contains(&b'\r') {
                    return Err(error("`<each` needs text without `\\r`".into()));
                }
                Step::ExpectEach {
                    line,
                    texts: (1..=count).map(|n| numbered(&text, n)).collect(),
                }
            }
            "keys" => {
                let keys: Vec<String> = argument.split_whitespace().map(String::from).collect();
                if keys.is_empty() {
                    return Err(error(
                        "`keys` needs key names, such as `keys l s ret`".into(),
                    ));
                }
                if let Some(bad) = keys.iter().find(|key| !is_key_name(key)) {
                    return Err(error(format!(
                        "`{bad}` is not a key name: QEMU sendkey names such as `a`, `shift-a`, \
                         `spc` or `ret` use only a-z, 0-9, `_` and `-`"
                    )));
                }
                Step::Send {
                    line,
                    input: Input::Keys(keys),
                }
            }
            "<" | "!<" => {
                let text = expand(argument)?;
                if text.is_empty() {
                    return Err(error(format!("`{directive}` needs text to look for")));
                }
                if text.contains(&b'\r') {
                    return Err(error(
                        "replies are compared with `\\r` removed; use `\\n` for a line break"
                            .into(),
                    ));
                }
                if directive == "<" {
                    Step::Expect { line, text }
                } else {
                    Step::Reject { line, text }
                }
            }
            _ => {
                return Err(error(format!(
                    "unknown directive `{directive}` \
                     (expected ===, >, >raw, >nowait, >paste, keys, await, <, !<, <each, prompt, cmdline, memory or #)"
                )))
            }
        };
        if let Step::Send { input, .. } = &step {
            pending = (!input.has_enter()).then_some((line, directive));
        }
        let Some(case) = script.cases.last_mut() else {
            return Err(error(format!(
                "`{directive}` outside a case; start one with `=== name`"
            )));
        };
        case.steps.push(step);
    }

    finish_case(&script, &case_lines)?;
    if script.cases.is_empty() {
        return Err("no test cases (start one with `=== name`)".into());
    }
    Ok(script)
}

/// Rejects an empty case: almost certainly a mistake, and it would pass.
fn finish_case(script: &Script, case_lines: &[usize]) -> Result<(), String> {
    match (script.cases.last(), case_lines.last()) {
        (Some(case), Some(line)) if case.steps.is_empty() => {
            Err(format!("line {line}: case `{}` has no steps", case.name))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send(line: usize, bytes: &[u8]) -> Step {
        Step::Send {
            line,
            input: Input::Serial(bytes.to_vec()),
        }
    }

    fn keys(line: usize, keys: &[&str]) -> Step {
        Step::Send {
            line,
            input: Input::Keys(keys.iter().map(|key| key.to_string()).collect()),
        }
    }

    #[test]
    fn a_program_can_be_started_awaited_and_interrupted() {
        let script = parse(
            "=== ctrl-c\n>nowait run spin\nawait spin: looping\n>raw \\x03\n> programs\n< exit=130\n",
        )
        .unwrap();
        let steps = &script.cases[0].steps;
        assert_eq!(
            steps[0],
            Step::Send {
                line: 2,
                input: Input::NoWait(b"run spin\r".to_vec())
            }
        );
        assert!(
            !Input::NoWait(b"x\r".to_vec()).has_enter(),
            "no prompt to wait for"
        );
        assert_eq!(
            steps[1],
            Step::Await {
                line: 3,
                text: b"spin: looping".to_vec()
            }
        );
        assert!(parse("=== a\nawait\n").unwrap_err().contains("needs text"));
        assert!(parse("=== a\n>nowait\n")
            .unwrap_err()
            .contains("needs a command"));
    }

    #[test]
    fn parses_every_directive() {
        let script = parse(
            "# comment\n\
             \n\
             prompt sh\\x20$\n\
             === first case\n\
             > echo  a\\n \n\
             < a\\n\n\
             !< error\n\
             === second\n\
             \x20 >raw ab\\x7f\\tc\\\\\n\
             \x20 >\n\
             \x20 < ok\n",
        )
        .unwrap();
        assert_eq!(script.prompt, b"sh $");
        assert_eq!(
            script.cases,
            [
                Case {
                    name: "first case".into(),
                    steps: vec![
                        send(5, b"echo  a\\n \r"),
                        Step::Expect {
                            line: 6,
                            text: b"a\n".to_vec()
                        },
                        Step::Reject {
                            line: 7,
                            text: b"error".to_vec()
                        },
                    ],
                },
                Case {
                    name: "second".into(),
                    steps: vec![
                        send(9, b"ab\x7f\tc\\"),
                        send(10, b"\r"),
                        Step::Expect {
                            line: 11,
                            text: b"ok".to_vec()
                        },
                    ],
                },
            ]
        );
    }

    #[test]
    fn a_paste_numbers_its_lines_and_each_checks_them_all() {
        let script = parse(
            "cmdline heap=pool  log=debug\nmemory 16M\n=== p\n>paste 3 echo n{n}:{n}\n<each \\nn{n}:\n",
        )
        .unwrap();
        assert_eq!(script.command_line.as_deref(), Some("heap=pool  log=debug"));
        assert_eq!(script.memory.as_deref(), Some("16M"));
        assert_eq!(
            script.cases[0].steps,
            [
                Step::Send {
                    line: 4,
                    input: Input::Paste {
                        bytes: b"echo n1:1\recho n2:2\recho n3:3\r".to_vec(),
                        lines: 3
                    }
                },
                Step::ExpectEach {
                    line: 5,
                    texts: vec![b"\nn1:".to_vec(), b"\nn2:".to_vec(), b"\nn3:".to_vec()]
                },
            ]
        );
        let Step::Send { input, .. } = &script.cases[0].steps[0] else {
            panic!("a send")
        };
        assert_eq!(input.prompts(), 3);
        let error = parse("=== p\n> x\n<each a{n}\n").unwrap_err();
        assert!(
            error.starts_with("line 3: `<each` needs a `>paste`"),
            "{error}"
        );
        let error = parse("=== p\n>paste 0 x\n").unwrap_err();
        assert!(
            error.starts_with("line 2: `>paste` needs a line count"),
            "{error}"
        );
        let error = parse("=== p\n> x\ncmdline a\n").unwrap_err();
        assert!(
            error.starts_with("line 3: `cmdline` must come before"),
            "{error}"
        );
        let error = parse("cmdline a|b\n=== p\n> x\n").unwrap_err();
        assert!(
            error.starts_with("line 1: `cmdline` may not contain"),
            "{error}"
        );
    }

    #[test]
    fn default_prompt() {
        let script = parse("=== a\n> help\n").unwrap();
        assert_eq!(script.prompt, b"strata> ");
    }

    #[test]
    fn expectation_may_check_the_banner() {
        let script = parse("=== banner\n< Welcome\n").unwrap();
        assert_eq!(
            script.cases[0].steps,
            [Step::Expect {
                line: 2,
                text: b"Welcome".to_vec()
            }]
        );
    }

    #[test]
    fn unknown_directive_reports_its_line() {
        let error = parse("=== a\n> ls\n<ls\n").unwrap_err();
        assert!(
            error.starts_with("line 3: unknown directive `<ls`"),
            "{error}"
        );
        let error = parse("=== a\nexpect ls\n").unwrap_err();
        assert!(
            error.starts_with("line 2: unknown directive `expect`"),
            "{error}"
        );
    }

    #[test]
    fn bad_escape_reports_its_line() {
        let error = parse("=== a\n>raw \\q\n").unwrap_err();
        assert!(error.starts_with("line 2: unknown escape"), "{error}");
        let error = parse("=== a\n> x\n< \\x4\n").unwrap_err();
        assert!(error.starts_with("line 3: "), "{error}");
    }

    #[test]
    fn structural_errors() {
        let cases = [
            ("> ls\n", "line 1: `>` outside a case"),
            (
                "=== a\n> ls\nprompt $\n",
                "line 3: `prompt` must come before",
            ),
            ("=== a\n=== b\n> ls\n", "line 1: case `a` has no steps"),
            ("=== a\n> ls\n=== b\n", "line 3: case `b` has no steps"),
            (
                "=== a\n> ls\n=== a\n> ls\n",
                "line 3: case `a` already exists (line 1)",
            ),
            ("===\n", "line 1: `===` needs a case name"),
            ("=== a\n<\n", "line 2: `<` needs text"),
            ("=== a\n>raw\n", "line 2: `>raw` needs bytes"),
            (
                "=== a\n>raw ab\n< ab\n",
                "line 3: nothing to check yet: the `>raw` on line 2",
            ),
            (
                "=== a\n> ls\n< a\\r\\n\n",
                "line 3: replies are compared with `\\r` removed",
            ),
            ("# only a comment\n", "no test cases"),
            ("=== a\nkeys\n", "line 2: `keys` needs key names"),
            ("=== a\n  keys   \n", "line 2: `keys` needs key names"),
            ("keys a ret\n", "line 1: `keys` outside a case"),
            (
                "=== a\n> x\nkeys a Ret\n",
                "line 3: `Ret` is not a key name",
            ),
            (
                "=== a\nkeys shift+a\n",
                "line 2: `shift+a` is not a key name",
            ),
            (
                "=== a\nkeys l s\n< ls\n",
                "line 3: nothing to check yet: the `keys` on line 2 has no `ret`",
            ),
            (
                "=== a\nkeys l s\n!< ls\n",
                "line 3: nothing to check yet: the `keys` on line 2",
            ),
        ];
        for (text, expected) in cases {
            let error = parse(text).unwrap_err();
            assert!(error.starts_with(expected), "{text:?} gave {error:?}");
        }
    }

    #[test]
    fn raw_without_enter_then_enter_is_fine() {
        let script = parse("=== a\n>raw ec\n>raw ho\\r\n< echo\n").unwrap();
        assert_eq!(script.cases[0].steps.len(), 3);
        assert!(!has_enter(b"ec"));
        assert!(has_enter(b"ho\r"));
    }

    #[test]
    fn parses_keys() {
        let script = parse(
            "=== keyboard\n\
             \x20 keys e c h o  spc shift-h i ret \n\
             \x20 < Hi\n\
             \x20 keys up\n\
             \x20 keys kp_enter\n",
        )
        .unwrap();
        assert_eq!(
            script.cases[0].steps,
            [
                keys(2, &["e", "c", "h", "o", "spc", "shift-h", "i", "ret"]),
                Step::Expect {
                    line: 3,
                    text: b"Hi".to_vec()
                },
                keys(4, &["up"]),
                keys(5, &["kp_enter"]),
            ]
        );
    }

    #[test]
    fn keys_without_ret_then_a_send_is_fine() {
        let script = parse("=== a\nkeys l s\n> \n< ls\n").unwrap();
        assert_eq!(script.cases[0].steps.len(), 3);
        let script = parse("=== a\n>raw l\nkeys s ret\n< ls\n").unwrap();
        assert_eq!(script.cases[0].steps.len(), 3);
    }

    #[test]
    fn which_keys_press_enter() {
        let input = |keys: &[&str]| Input::Keys(keys.iter().map(|key| key.to_string()).collect());
        assert!(input(&["a", "ret"]).has_enter());
        assert!(input(&["kp_enter"]).has_enter());
        assert!(input(&["shift-ret"]).has_enter());
        assert!(!input(&["a", "b"]).has_enter());
        assert!(!input(&["return", "pgup", "caps_lock", "kp_enterx"]).has_enter());
        assert!(Input::Serial(b"ls\r".to_vec()).has_enter());
        assert!(!Input::Serial(b"ls".to_vec()).has_enter());
    }
}
