//! Playing a parsed script against a booted kernel: typing the sends,
//! collecting replies up to the prompt, and checking expectations.
//! The rules are described in [`super::script`].

use std::mem;
use std::time::{Duration, Instant};

use super::script::{Case, Input, Step};
use crate::escapes::quote;
use crate::qemu::{Ending, Machine, Received, SendError};

/// How long one command may take to bring the prompt back.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long output must stay quiet after a prompt. Long enough for a
/// second, unwanted prompt (say, from a CRLF treated as two Enters) to show.
const QUIET_PERIOD: Duration = Duration::from_millis(150);
/// Longest reply shown in a failure message.
const MAX_SHOWN: usize = 2000;

/// Why waiting for output stopped early.
enum Stop {
    TimedOut,
    /// QEMU exited; the ending is stored in [`Player::ended`].
    Died,
}

/// Drives one booted kernel through the cases of one script.
pub struct Player<'a> {
    machine: &'a mut Machine,
    prompt: Vec<u8>,
    /// Output collected since the last send: the reply being checked.
    reply: Vec<u8>,
    /// The last send had no Enter, so the next send must not clear `reply`.
    keep_reply: bool,
    /// Output that followed the prompt in the same chunk.
    after_prompt: Vec<u8>,
    /// A problem noticed between cases, charged to the next case.
    carried_problem: Option<String>,
    /// Set once QEMU has exited.
    ended: Option<Ending>,
    /// Set when a reply timed out: the line whose send got no prompt.
    stuck_at: Option<usize>,
}

impl<'a> Player<'a> {
    pub fn new(machine: &'a mut Machine, prompt: Vec<u8>) -> Self {
        Player {
            machine,
            prompt,
            reply: Vec::new(),
            keep_reply: false,
            after_prompt: Vec::new(),
            carried_problem: None,
            ended: None,
            stuck_at: None,
        }
    }

    /// Waits for the boot banner to end with the prompt. Returns how long the
    /// boot took, or why no prompt came.
    pub fn wait_for_banner(&mut self, timeout: Duration) -> Result<Duration, String> {
        match self.wait_for_prompt(Instant::now() + timeout) {
            Ok(()) => {}
            Err(Stop::TimedOut) => {
                return Err(format!(
                    "no prompt {} within {} s of booting",
                    quote(&self.prompt, MAX_SHOWN),
                    timeout.as_secs()
                ))
            }
            Err(Stop::Died) => return Err(self.died_message("before showing the prompt")),
        }
        let boot_time = self.machine.uptime();
        match self.stay_quiet() {
            Ok(None) => {}
            Ok(Some(problem)) => self.carried_problem = Some(problem),
            Err(_) => return Err(self.died_message("right after the prompt")),
        }
        Ok(boot_time)
    }

    /// Why the kernel cannot run more cases, if it cannot: it exited, or it
    /// stopped answering (then every further case would just wait for the
    /// full timeout too).
    pub fn out_of_service(&self) -> Option<String> {
        if let Some(ending) = &self.ended {
            Some(format!(
                "not run: the kernel exited earlier ({})",
                ending.describe()
            ))
        } else {
            self.stuck_at
                .map(|line| format!("not run: the kernel stopped answering at line {line}"))
        }
    }

    /// Runs one case. Returns its problems: empty means it passed.
    pub fn run_case(&mut self, case: &Case) -> Vec<String> {
        self.machine.note(&format!("case: {}", case.name));
        let mut problems: Vec<String> = self.carried_problem.take().into_iter().collect();
        // Failed expectations about the current reply; the reply itself is
        // shown once after them, not once per expectation.
        let mut misses: Vec<String> = Vec::new();
        for step in &case.steps {
            match step {
                Step::Send { line, input } => {
                    self.report_misses(&mut misses, &mut problems);
                    if let Err(problem) = self.send(*line, input) {
                        problems.push(problem);
                        // The kernel is stuck or gone: the rest of this
                        // case would only fail in confusing ways.
                        break;
                    }
                    if let Ok(Some(problem)) | Err(problem) = self.stay_quiet_after(input) {
                        problems.push(format!("line {line}: {problem}"));
                    }
                }
                Step::Expect { line, text } if !contains(&self.reply, text) => {
                    let text = quote(text, MAX_SHOWN);
                    misses.push(format!("line {line}: expected the reply to contain {text}"));
                }
                Step::Reject { line, text } if contains(&self.reply, text) => {
                    let text = quote(text, MAX_SHOWN);
                    misses.push(format!(
                        "line {line}: expected the reply NOT to contain {text}"
                    ));
                }
                Step::ExpectEach { line, texts } => {
                    let missing: Vec<String> = texts
                        .iter()
                        .filter(|text| !contains(&self.reply, text))
                        .map(|text| quote(text, 80))
                        .collect();
                    if !missing.is_empty() {
                        let shown = missing.iter().take(5).cloned().collect::<Vec<_>>();
                        misses.push(format!(
                            "line {line}: expected the reply to contain each of {} texts; {} missing, such as {}",
                            texts.len(),
                            missing.len(),
                            shown.join(", ")
                        ));
                    }
                }
                Step::Await { line, text } => {
                    self.report_misses(&mut misses, &mut problems);
                    if let Err(problem) = self.await_text(*line, text) {
                        problems.push(problem);
                        break;
                    }
                }
                Step::Expect { .. } | Step::Reject { .. } => {}
            }
            if self.ended.is_some() || self.stuck_at.is_some() {
                break;
            }
        }
        self.report_misses(&mut misses, &mut problems);
        problems
    }

    /// Moves failed expectations into `problems`, followed by the reply they
    /// were checked against.
    fn report_misses(&self, misses: &mut Vec<String>, problems: &mut Vec<String>) {
        if !misses.is_empty() {
            problems.append(misses);
            problems.push(self.shown_reply());
        }
    }

    /// Types `input` and, if it includes an Enter, waits for the prompt.
    fn send(&mut self, line: usize, input: &Input) -> Result<(), String> {
        if !mem::take(&mut self.keep_reply) {
            self.reply.clear();
        }
        let typed = match input {
            Input::Serial(bytes) | Input::NoWait(bytes) => {
                self.machine.send(bytes).map_err(|_| SendError::Exited)
            }
            Input::Paste { bytes, .. } => self
                .machine
                .send_at_once(bytes)
                .map_err(|_| SendError::Exited),
            Input::Keys(keys) => self.machine.send_keys(keys),
        };
        match typed {
            Ok(()) => {}
            Err(SendError::Exited) => {
                self.ended = Some(self.machine.wait_for_exit());
                return Err(format!(
                    "line {line}: {}",
                    self.died_message("before the send")
                ));
            }
            Err(SendError::Failed(problem)) => return Err(format!("line {line}: {problem}")),
        }
        if !input.has_enter() {
            self.keep_reply = true;
            return Ok(());
        }
        let sent = match input {
            Input::Serial(bytes) | Input::NoWait(bytes) => quote(bytes, MAX_SHOWN),
            Input::Keys(keys) => format!("keys `{}`", keys.join(" ")),
            Input::Paste { bytes, lines } => format!("{lines} pasted lines {}", quote(bytes, 200)),
        };
        // A paste is answered with one prompt per line; each may take up
        // to the usual time.
        let prompts = input.prompts();
        for received in 0..prompts {
            match self.wait_for_prompt(Instant::now() + REPLY_TIMEOUT) {
                Ok(()) => {}
                Err(Stop::TimedOut) => {
                    self.stuck_at = Some(line);
                    return Err(format!(
                        "line {line}: no prompt within {} s after sending {sent} \
                         ({received} of {prompts} prompts came back)\n{}",
                        REPLY_TIMEOUT.as_secs(),
                        self.shown_reply()
                    ));
                }
                Err(Stop::Died) => {
                    return Err(format!(
                        "line {line}: {}\n{}",
                        self.died_message(&format!("while answering {sent}")),
                        self.shown_reply()
                    ))
                }
            }
        }
        Ok(())
    }

    /// After a send that waited for the prompt: checks the quiet period.
    fn stay_quiet_after(&mut self, input: &Input) -> Result<Option<String>, String> {
        if !input.has_enter() {
            return Ok(None);
        }
        self.stay_quiet()
            .map_err(|_| self.died_message("right after the prompt"))
    }

    /// Collects output for [`QUIET_PERIOD`] after a prompt; any output
    /// (apart from the rest of the prompt, e.g. its trailing space) is a
    /// problem.
    fn stay_quiet(&mut self) -> Result<Option<String>, Stop> {
        let deadline = Instant::now() + QUIET_PERIOD;
        let mut extra = mem::take(&mut self.after_prompt);
        loop {
            match self.machine.receive(deadline) {
                Received::Output(bytes) => extra.extend(bytes),
                Received::TimedOut => break,
                Received::Closed => return Err(self.died()),
            }
        }
        let padding = extra
            .iter()
            .take_while(|&&byte| byte == b' ' || byte == b'\t')
            .count();
        self.reply.extend(extra.drain(..padding));
        Ok((!extra.is_empty()).then(|| {
            format!(
                "unexpected output after the prompt: {}",
                quote(&extra, MAX_SHOWN)
            )
        }))
    }

    /// Adds output to the reply until it ends with the prompt. Output that
    /// arrived in the same chunk after the prompt is kept for
    /// [`Player::stay_quiet`]: a kernel that answers one Enter with two
    /// prompts sends both at once.
    fn wait_for_prompt(&mut self, deadline: Instant) -> Result<(), Stop> {
        // Output that followed an earlier prompt (in a paste, the next
        // line's answer) comes first.
        let earlier = mem::take(&mut self.after_prompt);
        if let Some(rest) = append_until_prompt(&mut self.reply, &earlier, &self.prompt) {
            self.after_prompt = rest.to_vec();
            return Ok(());
        }
        loop {
            let chunk = match self.machine.receive(deadline) {
                Received::Output(chunk) => chunk,
                Received::TimedOut => return Err(Stop::TimedOut),
                Received::Closed => return Err(self.died()),
            };
            if let Some(rest) = append_until_prompt(&mut self.reply, &chunk, &self.prompt) {
                self.after_prompt = rest.to_vec();
                return Ok(());
            }
        }
    }

    /// Collects output until it contains `text` (`await`); what it sees
    /// stays in the reply of the next send.
    fn await_text(&mut self, line: usize, text: &[u8]) -> Result<(), String> {
        let deadline = Instant::now() + REPLY_TIMEOUT;
        let earlier = mem::take(&mut self.after_prompt);
        self.reply.extend_from_slice(&earlier);
        self.keep_reply = true;
        while !contains(&self.reply, text) {
            match self.machine.receive(deadline) {
                Received::Output(chunk) => self.reply.extend_from_slice(&chunk),
                Received::TimedOut => {
                    self.stuck_at = Some(line);
                    return Err(format!(
                        "line {line}: no {} within {} s\n{}",
                        quote(text, MAX_SHOWN),
                        REPLY_TIMEOUT.as_secs(),
                        self.shown_reply()
                    ));
                }
                Received::Closed => {
                    self.died();
                    return Err(format!(
                        "line {line}: {}\n{}",
                        self.died_message("while waiting"),
                        self.shown_reply()
                    ));
                }
            }
        }
        Ok(())
    }

    fn died(&mut self) -> Stop {
        self.ended = Some(self.machine.wait_for_exit());
        Stop::Died
    }

    fn died_message(&self, when: &str) -> String {
        let ending = self.ended.as_ref().map_or("?".into(), Ending::describe);
        format!("the kernel exited ({ending}) {when}")
    }

    fn shown_reply(&self) -> String {
        format!("  reply received: {}", quote(&self.reply, MAX_SHOWN))
    }
}

/// Appends `chunk` to `reply` byte by byte until `reply` ends with the
/// prompt; returns the rest of the chunk if it did, `None` if the prompt has
/// not come yet.
///
/// Trailing whitespace of the prompt is ignored (so `prompt strata>` and
/// the kernel's `strata> ` agree; the space then shows up as the first byte
/// of the rest). Matching the *first* place the prompt appears means a
/// command line that itself contains the prompt text will confuse the
/// runner: avoid that in scripts.
pub fn append_until_prompt<'c>(
    reply: &mut Vec<u8>, chunk: &'c [u8], prompt: &[u8],
) -> Option<&'c [u8]> {
    let prompt = prompt.trim_ascii_end();
    for (index, &byte) in chunk.iter().enumerate() {
        reply.push(byte);
        if !prompt.is_empty() && reply.ends_with(prompt) {
            return Some(&chunk[index + 1..]);
        }
    }
    None
}

/// Whether `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty()
        || haystack
            .windows(needle.len())
            .any(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_stops_at_the_prompt() {
        let mut reply = b"Welcome\n".to_vec();
        assert_eq!(append_until_prompt(&mut reply, b"stra", b"strata> "), None);
        let rest = append_until_prompt(&mut reply, b"ta> ", b"strata> ");
        assert_eq!(rest, Some(&b" "[..]));
        assert_eq!(reply, b"Welcome\nstrata>");
    }

    #[test]
    fn output_after_the_prompt_is_left_over() {
        // A CRLF treated as two Enters: two prompts in one chunk.
        let mut reply = Vec::new();
        let chunk = b"echo x\nx\nstrata> \nstrata> ";
        let rest = append_until_prompt(&mut reply, chunk, b"strata> ");
        assert_eq!(rest, Some(&b" \nstrata> "[..]));
        assert_eq!(reply, b"echo x\nx\nstrata>");
    }

    #[test]
    fn empty_prompt_never_matches() {
        let mut reply = Vec::new();
        assert_eq!(append_until_prompt(&mut reply, b"abc", b"  "), None);
        assert_eq!(reply, b"abc");
    }

    #[test]
    fn finds_substrings() {
        assert!(contains(b"help\ncommands: echo\n", b"echo\n"));
        assert!(!contains(b"help\n", b"echo"));
        assert!(!contains(b"ec", b"echo"));
    }
}
