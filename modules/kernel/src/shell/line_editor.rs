//! The line editor: bytes in, lines out.
//!
//! Input comes from the keyboard and from a serial terminal, which disagree on
//! almost everything: Enter is CR (0x0D) from one terminal, LF (0x0A) from
//! another and CR LF from a third; Backspace is 0x08 or 0x7F; an arrow key is a
//! three-byte escape sequence (`ESC [ A`). The editor accepts all of them, and
//! is careful that CR LF counts as *one* Enter.
//!
//! It keeps the line in a fixed buffer (there is no heap in chapter 1). A line
//! that outgrows it is not cut short and run — that could turn `free 12345`
//! into `free 12` — but refused as a whole when Enter comes (even if some of
//! it was rubbed out meanwhile: the characters that did not fit are gone).
//! Other control bytes and non-ASCII bytes are ignored.
//!
//! Input can also be *lost* on the way (a paste that overflowed the input
//! queue). The reader tells the editor with [`LineEditor::lost`], and the
//! line the loss fell in is discarded at its Enter, for the same reason: a
//! line with a hole in it is not the line that was typed.
//!
//! The editor never prints directly: it hands what should be echoed to a
//! callback, so it can be tested on the host.

/// The longest line accepted, in bytes.
pub const MAX_LINE: usize = 120;
/// How many earlier lines the up arrow can bring back.
pub const HISTORY_LINES: usize = 16;

const BACKSPACE: u8 = 0x08;
const DELETE: u8 = 0x7F;
const ESCAPE: u8 = 0x1B;
/// Rubs out the character left of the cursor on a screen or terminal.
const RUB_OUT: &[u8] = b"\x08 \x08";

/// What a byte fed to the editor produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Keep typing.
    Pending,
    /// Enter was pressed; the line is in [`LineEditor::line`].
    Submitted,
    /// Enter was pressed on a line longer than `limit`; it was discarded.
    TooLong { limit: usize },
    /// Enter was pressed on a line that lost `dropped` bytes on the way; it
    /// was discarded.
    Overrun { dropped: usize },
}

/// Where we are in an escape sequence (`ESC [ parameters final-byte`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Escape {
    None,
    /// Seen ESC.
    Started,
    /// Seen ESC [.
    ControlSequence,
}

/// A line being edited, plus the history of earlier lines.
pub struct LineEditor {
    buffer: [u8; MAX_LINE],
    len: usize,
    overflowed: bool,
    /// Bytes lost inside the line being typed (0: none).
    lost: usize,
    escape: Escape,
    /// The previous byte was CR, so an LF right after it is part of the same Enter.
    after_carriage_return: bool,
    history: History,
    /// How far back in the history the up arrow has gone (`None`: editing a new line).
    recalled: Option<usize>,
    submitted: [u8; MAX_LINE],
    submitted_len: usize,
}

impl LineEditor {
    pub const fn new() -> Self {
        Self {
            buffer: [0; MAX_LINE],
            len: 0,
            overflowed: false,
            lost: 0,
            escape: Escape::None,
            after_carriage_return: false,
            history: History::new(),
            recalled: None,
            submitted: [0; MAX_LINE],
            submitted_len: 0,
        }
    }

    /// The line being typed, so far.
    pub fn current(&self) -> &str {
        ascii(&self.buffer[..self.len])
    }

    /// The last line submitted with Enter.
    pub fn line(&self) -> &str {
        ascii(&self.submitted[..self.submitted_len])
    }

    /// Feeds one byte of input; `echo` receives what should appear on screen.
    pub fn feed(&mut self, byte: u8, echo: &mut impl FnMut(&[u8])) -> Event {
        let after_carriage_return = core::mem::replace(&mut self.after_carriage_return, false);
        match self.escape {
            Escape::Started if byte == b'[' => {
                self.escape = Escape::ControlSequence;
                return Event::Pending;
            }
            // A lone Esc (the keyboard's Esc key): forget it and treat this
            // byte as ordinary input.
            Escape::Started => self.escape = Escape::None,
            Escape::ControlSequence => {
                // Parameters and intermediates are 0x20..=0x3F; a byte in
                // 0x40..=0x7E ends the sequence. Anything else (Enter, say,
                // after an unfinished `ESC [ 1 2`) aborts it and is then
                // taken as ordinary input, so it is never swallowed.
                match byte {
                    b'A' => self.recall_older(echo),
                    b'B' => self.recall_newer(echo),
                    0x20..=0x3F => return Event::Pending,
                    0x40..=0x7E => {}
                    _ => {
                        self.escape = Escape::None;
                        return self.feed(byte, echo);
                    }
                }
                self.escape = Escape::None;
                return Event::Pending;
            }
            Escape::None => {}
        }
        match byte {
            b'\r' => {
                self.after_carriage_return = true;
                self.submit(echo)
            }
            b'\n' if after_carriage_return => Event::Pending,
            b'\n' => self.submit(echo),
            BACKSPACE | DELETE => {
                if self.len > 0 {
                    self.len -= 1;
                    echo(RUB_OUT);
                }
                Event::Pending
            }
            ESCAPE => {
                self.escape = Escape::Started;
                Event::Pending
            }
            0x20..=0x7E => {
                if self.len < MAX_LINE {
                    self.buffer[self.len] = byte;
                    self.len += 1;
                    echo(&[byte]);
                } else {
                    self.overflowed = true;
                }
                Event::Pending
            }
            // Other control bytes and anything non-ASCII.
            _ => Event::Pending,
        }
    }

    /// `dropped` bytes of input were lost at this point: the line being
    /// typed has a hole, so its Enter will discard it.
    pub fn lost(&mut self, dropped: usize) {
        self.lost += dropped;
        // Whatever escape sequence was under way may have lost its end.
        self.escape = Escape::None;
    }

    fn submit(&mut self, echo: &mut impl FnMut(&[u8])) -> Event {
        echo(b"\n");
        let overflowed = core::mem::replace(&mut self.overflowed, false);
        let lost = core::mem::replace(&mut self.lost, 0);
        let line = &self.buffer[..self.len];
        self.recalled = None;
        if lost > 0 {
            self.len = 0;
            return Event::Overrun { dropped: lost };
        }
        if overflowed {
            self.len = 0;
            return Event::TooLong { limit: MAX_LINE };
        }
        self.submitted[..line.len()].copy_from_slice(line);
        self.submitted_len = line.len();
        if !ascii(line).trim().is_empty() && self.history.newest() != Some(line) {
            self.history.push(line);
        }
        self.len = 0;
        Event::Submitted
    }

    /// Up arrow: replace the line with the next older one from the history.
    fn recall_older(&mut self, echo: &mut impl FnMut(&[u8])) {
        let age = self.recalled.map_or(0, |age| age + 1);
        if age < self.history.len() {
            self.recalled = Some(age);
            self.replace_with_history(age, echo);
        }
    }

    /// Down arrow: the next newer line, or an empty one after the newest.
    fn recall_newer(&mut self, echo: &mut impl FnMut(&[u8])) {
        match self.recalled {
            Some(0) => {
                self.recalled = None;
                self.erase_line(echo);
            }
            Some(age) => {
                self.recalled = Some(age - 1);
                self.replace_with_history(age - 1, echo);
            }
            None => {}
        }
    }

    fn replace_with_history(&mut self, age: usize, echo: &mut impl FnMut(&[u8])) {
        self.erase_line(echo);
        let line = self
            .history
            .get(age)
            .expect("age checked against the history length");
        self.buffer[..line.len()].copy_from_slice(line);
        self.len = line.len();
        self.overflowed = false;
        echo(&self.buffer[..self.len]);
    }

    fn erase_line(&mut self, echo: &mut impl FnMut(&[u8])) {
        for _ in 0..self.len {
            echo(RUB_OUT);
        }
        self.len = 0;
    }
}

impl Default for LineEditor {
    fn default() -> Self {
        Self::new()
    }
}

/// The editor only ever stores bytes 0x20..=0x7E, which are valid UTF-8.
fn ascii(bytes: &[u8]) -> &str {
    core::str::from_utf8(bytes).expect("the line editor stores only printable ASCII")
}

/// The last [`HISTORY_LINES`] submitted lines, in a ring.
struct History {
    lines: [[u8; MAX_LINE]; HISTORY_LINES],
    lens: [usize; HISTORY_LINES],
    /// Where the next line goes.
    next: usize,
    count: usize,
}

impl History {
    const fn new() -> Self {
        Self {
            lines: [[0; MAX_LINE]; HISTORY_LINES],
            lens: [0; HISTORY_LINES],
            next: 0,
            count: 0,
        }
    }

    fn push(&mut self, line: &[u8]) {
        self.lines[self.next][..line.len()].copy_from_slice(line);
        self.lens[self.next] = line.len();
        self.next = (self.next + 1) % HISTORY_LINES;
        self.count = (self.count + 1).min(HISTORY_LINES);
    }

    fn len(&self) -> usize {
        self.count
    }

    /// The line `age` entries back (0 = the newest).
    fn get(&self, age: usize) -> Option<&[u8]> {
        if age >= self.count {
            return None;
        }
        let slot = (self.next + HISTORY_LINES - 1 - age) % HISTORY_LINES;
        Some(&self.lines[slot][..self.lens[slot]])
    }

    fn newest(&self) -> Option<&[u8]> {
        self.get(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` and returns the events that were not `Pending`, the
    /// submitted lines, and everything echoed.
    fn type_bytes(editor: &mut LineEditor, input: &[u8]) -> (Vec<Event>, Vec<String>, Vec<u8>) {
        let mut echoed = Vec::new();
        let mut events = Vec::new();
        let mut lines = Vec::new();
        for &byte in input {
            let event = editor.feed(byte, &mut |bytes: &[u8]| echoed.extend_from_slice(bytes));
            if event != Event::Pending {
                events.push(event);
            }
            if event == Event::Submitted {
                lines.push(editor.line().to_string());
            }
        }
        (events, lines, echoed)
    }

    #[test]
    fn enter_as_cr_lf_or_crlf_submits_exactly_once() {
        let mut editor = LineEditor::new();
        let (_, lines, _) = type_bytes(&mut editor, b"one\rtwo\nthree\r\nfour\n\r");
        assert_eq!(lines, ["one", "two", "three", "four", ""]);
    }

    #[test]
    fn a_lone_lf_after_other_input_still_counts() {
        let mut editor = LineEditor::new();
        // CR, then a typed character, then LF: two Enters.
        let (_, lines, _) = type_bytes(&mut editor, b"a\rb\n");
        assert_eq!(lines, ["a", "b"]);
    }

    #[test]
    fn backspace_and_delete_rub_out_and_echo() {
        let mut editor = LineEditor::new();
        let (_, lines, echoed) = type_bytes(&mut editor, b"helpx\x08\x7f\x7f\x08\x08\x08lp\r");
        assert_eq!(lines, ["lp"]);
        // Six rub-outs requested but only four characters to rub out.
        assert_eq!(echoed.windows(3).filter(|w| *w == RUB_OUT).count(), 5);
        assert!(echoed.starts_with(b"helpx"));
        assert!(echoed.ends_with(b"lp\n"));
    }

    #[test]
    fn control_and_non_ascii_bytes_are_ignored() {
        let mut editor = LineEditor::new();
        let (_, lines, echoed) = type_bytes(&mut editor, b"ec\x01\x02\x07ho\x00 h\xc3\xa9i\t\r");
        assert_eq!(lines, ["echo hi"]);
        assert!(echoed
            .iter()
            .all(|&b| b == b'\n' || (0x20..0x7F).contains(&b)));
    }

    #[test]
    fn an_overlong_line_is_refused_whole() {
        let mut editor = LineEditor::new();
        let mut input = vec![b'x'; MAX_LINE + 10];
        input.push(b'\r');
        let (events, lines, echoed) = type_bytes(&mut editor, &input);
        assert_eq!(events, [Event::TooLong { limit: MAX_LINE }]);
        assert!(lines.is_empty());
        // Only what fitted was echoed.
        assert_eq!(echoed.iter().filter(|&&b| b == b'x').count(), MAX_LINE);
        // The editor is ready for the next line.
        let (_, lines, _) = type_bytes(&mut editor, b"ok\r");
        assert_eq!(lines, ["ok"]);
    }

    #[test]
    fn a_line_of_exactly_the_limit_is_accepted() {
        let mut editor = LineEditor::new();
        let mut input = vec![b'y'; MAX_LINE];
        input.push(b'\r');
        let (_, lines, _) = type_bytes(&mut editor, &input);
        assert_eq!(lines, ["y".repeat(MAX_LINE)]);
    }

    #[test]
    fn arrows_walk_the_history() {
        let mut editor = LineEditor::new();
        type_bytes(&mut editor, b"first\rsecond\rthird\r");
        const UP: &[u8] = b"\x1b[A";
        const DOWN: &[u8] = b"\x1b[B";
        type_bytes(&mut editor, UP);
        assert_eq!(editor.current(), "third");
        type_bytes(&mut editor, &[UP, UP, UP].concat());
        assert_eq!(editor.current(), "first", "stops at the oldest");
        type_bytes(&mut editor, DOWN);
        assert_eq!(editor.current(), "second");
        type_bytes(&mut editor, &[DOWN, DOWN].concat());
        assert_eq!(editor.current(), "", "past the newest is a fresh line");
        let (_, lines, _) = type_bytes(&mut editor, &[UP, b"!\r"].concat());
        assert_eq!(lines, ["third!"]);
    }

    #[test]
    fn history_skips_blank_lines_and_repeats_and_keeps_the_newest() {
        let mut editor = LineEditor::new();
        type_bytes(&mut editor, b"a\r\r   \ra\r");
        assert_eq!(editor.history.len(), 1);
        for i in 0..HISTORY_LINES + 5 {
            type_bytes(&mut editor, format!("cmd{i}\r").as_bytes());
        }
        assert_eq!(editor.history.len(), HISTORY_LINES);
        assert_eq!(
            editor.history.get(0),
            Some(format!("cmd{}", HISTORY_LINES + 4).as_bytes())
        );
        assert_eq!(
            editor.history.get(HISTORY_LINES - 1),
            Some(b"cmd5".as_slice())
        );
        assert_eq!(editor.history.get(HISTORY_LINES), None);
    }

    #[test]
    fn a_control_byte_ends_an_unfinished_escape_and_counts() {
        let mut editor = LineEditor::new();
        // `ESC [ 1 2` never got its final byte; Enter still submits.
        let (events, lines, _) = type_bytes(&mut editor, b"echo hi\x1b[12\r");
        assert_eq!(events, [Event::Submitted]);
        assert_eq!(lines, ["echo hi"]);
        // And a Backspace inside one rubs out as usual.
        let (_, lines, _) = type_bytes(&mut editor, b"ab\x1b[\x08c\r");
        assert_eq!(lines, ["ac"]);
    }

    #[test]
    fn a_line_that_lost_bytes_is_discarded_whole() {
        let mut editor = LineEditor::new();
        type_bytes(&mut editor, b"free 6");
        editor.lost(3);
        let (events, lines, _) = type_bytes(&mut editor, b"6\r");
        assert_eq!(events, [Event::Overrun { dropped: 3 }]);
        assert!(lines.is_empty());
        // The next line is whole again, and the discarded one is not in
        // the history.
        let (events, lines, _) = type_bytes(&mut editor, b"echo ok\r\x1b[A\x1b[A");
        assert_eq!(events, [Event::Submitted]);
        assert_eq!(lines, ["echo ok"]);
        assert_eq!(editor.current(), "echo ok");
    }

    proptest::proptest! {
        /// A paste of many lines through a small input queue, read at a
        /// random pace: every line that is run is exactly one of the lines
        /// sent, in order, and every loss discards at least one line.
        #[test]
        fn lines_through_a_full_queue_arrive_whole_or_not_at_all(
            count in 1usize..60,
            reads_per_push in proptest::collection::vec(0usize..3, 1..400),
        ) {
            use crate::input::{Input, InputQueue};
            let sent: Vec<String> = (0..count).map(|n| format!("echo n{n}")).collect();
            let stream: Vec<u8> = sent.iter().flat_map(|line| format!("{line}\r").into_bytes()).collect();
            let mut queue = InputQueue::<16>::new();
            let mut editor = LineEditor::new();
            let mut run = Vec::new();
            let mut overruns = 0;
            let mut read = |queue: &mut InputQueue<16>, editor: &mut LineEditor| {
                match queue.pop() {
                    Some(Input::Byte(byte)) => match editor.feed(byte, &mut |_| {}) {
                        Event::Submitted => run.push(editor.line().to_string()),
                        Event::Overrun { .. } => overruns += 1,
                        _ => {}
                    },
                    Some(Input::Overrun { dropped }) => editor.lost(dropped),
                    None => {}
                }
            };
            for (index, &byte) in stream.iter().enumerate() {
                queue.push(byte);
                for _ in 0..reads_per_push[index % reads_per_push.len()] {
                    read(&mut queue, &mut editor);
                }
            }
            while !queue.is_empty() {
                read(&mut queue, &mut editor);
            }
            // Only whole lines, in the order they were sent.
            let mut rest = sent.iter();
            for line in &run {
                proptest::prop_assert!(rest.any(|s| s == line), "{} was never sent (or out of order)", line);
            }
            if queue.dropped() > 0 {
                // The loss is reported at the next Enter, unless it took
                // every Enter after it.
                proptest::prop_assert!(overruns > 0 || editor.lost > 0, "bytes were lost but no line was discarded");
                proptest::prop_assert!(run.len() < count);
            } else {
                proptest::prop_assert_eq!(run, sent);
            }
        }
    }

    #[test]
    fn unknown_escape_sequences_are_swallowed() {
        let mut editor = LineEditor::new();
        // Delete key (ESC [ 3 ~), a right arrow, and a lone Esc, which does
        // not swallow the key after it.
        let (_, lines, _) = type_bytes(&mut editor, b"ab\x1b[3~\x1b[C\x1bxc\r");
        assert_eq!(lines, ["abxc"]);
    }
}
