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
    ///
    /// - CR submits the line (`submit`); an LF right after a CR is the same
    ///   Enter and does nothing, any other LF submits.
    /// - Backspace (0x08) and Delete (0x7F) remove the last character and
    ///   echo `RUB_OUT`; on an empty line they do nothing.
    /// - Printable ASCII (0x20..=0x7E) is stored and echoed while it fits
    ///   in [`MAX_LINE`]; past that it is dropped, and the line marked as
    ///   overflowed, so that its Enter refuses it.
    /// - ESC starts an escape sequence (`ESC [ parameters final`):
    ///   - after ESC, a `[` makes it a control sequence; any other byte
    ///     ends it (a lone Esc key) and is then taken as ordinary input;
    ///   - in a control sequence, parameter and intermediate bytes
    ///     (0x20..=0x3F) wait for more; a final byte (0x40..=0x7E) ends it:
    ///     `A` recalls an older line (`recall_older`), `B` a newer one
    ///     (`recall_newer`), any other is ignored; any other byte (Enter
    ///     after an unfinished `ESC [ 1 2`) ends the sequence and is then
    ///     taken as ordinary input, so that it is never swallowed.
    /// - Every other byte (control bytes, non-ASCII) is ignored.
    pub fn feed(&mut self, byte: u8, echo: &mut impl FnMut(&[u8])) -> Event {
        // LAB 1.3 BEGIN: keep track of CR and of where an escape sequence is; submit on Enter, rub out on 0x08/0x7F, store printable bytes while they fit
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
                // 0x40..=0x7E ends the sequence. Anything else aborts it and
                // is then taken as ordinary input.
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
        // LAB END
    }

    /// `dropped` bytes of input were lost at this point: the line being
    /// typed has a hole, so its Enter will discard it.
    pub fn lost(&mut self, dropped: usize) {
        self.lost += dropped;
        // Whatever escape sequence was under way may have lost its end.
        self.escape = Escape::None;
    }

    /// Enter: echoes the newline and ends the line. A line that lost bytes
    /// or overflowed is refused (`Overrun`, `TooLong`); any other becomes
    /// [`line`](Self::line) and, unless blank or a repeat of the newest, is
    /// added to the history. The next line starts empty.
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

    /// Rubs the whole line out: the next one starts afresh, so whatever
    /// did not fit in this one no longer counts.
    fn erase_line(&mut self, echo: &mut impl FnMut(&[u8])) {
        for _ in 0..self.len {
            echo(RUB_OUT);
        }
        self.len = 0;
        self.overflowed = false;
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

    /// What a terminal shows of the echo: the line, and the cursor in it.
    #[derive(Default)]
    struct Terminal {
        row: Vec<u8>,
        cursor: usize,
    }

    impl Terminal {
        fn show(&mut self, bytes: &[u8]) -> Result<(), String> {
            for &byte in bytes {
                match byte {
                    b'\n' => *self = Terminal::default(),
                    BACKSPACE if self.cursor == 0 => return Err("backspace at the prompt".into()),
                    BACKSPACE => self.cursor -= 1,
                    0x20..=0x7E if self.cursor < self.row.len() => {
                        self.row[self.cursor] = byte;
                        self.cursor += 1;
                    }
                    0x20..=0x7E => {
                        self.row.push(byte);
                        self.cursor += 1;
                    }
                    _ => return Err(format!("echoed the control byte {byte:#04x}")),
                }
            }
            Ok(())
        }

        /// The text left of the cursor, if everything right of it is blank.
        fn line(&self) -> Option<&str> {
            let (line, rest) = self.row.split_at(self.cursor);
            rest.iter()
                .all(|&byte| byte == b' ')
                .then(|| core::str::from_utf8(line).unwrap())
        }
    }

    /// The editor as a simple model sees it: a `String`, a flag for a line
    /// that outgrew the buffer, and the history as a list, newest last.
    #[derive(Default)]
    struct Model {
        line: String,
        overflowed: bool,
        history: Vec<String>,
        recalled: Option<usize>,
        after_carriage_return: bool,
        /// The lines submitted, in order.
        submitted: Vec<String>,
    }

    impl Model {
        fn type_text(&mut self, text: &[u8]) {
            for &byte in text {
                if self.line.len() < MAX_LINE {
                    self.line.push(byte as char);
                } else {
                    self.overflowed = true;
                }
            }
        }

        fn enter(&mut self) -> Event {
            let line = core::mem::take(&mut self.line);
            self.recalled = None;
            if core::mem::take(&mut self.overflowed) {
                return Event::TooLong { limit: MAX_LINE };
            }
            self.submitted.push(line.clone());
            if !line.trim().is_empty() && self.history.last() != Some(&line) {
                self.history.push(line);
                if self.history.len() > HISTORY_LINES {
                    self.history.remove(0);
                }
            }
            Event::Submitted
        }

        fn recall(&mut self, age: Option<usize>) {
            self.recalled = age;
            self.overflowed = false;
            self.line = match age {
                Some(age) => self.history[self.history.len() - 1 - age].clone(),
                None => String::new(),
            };
        }

        /// Takes one key (the bytes it sends); returns the events the
        /// editor must give for them.
        fn key(&mut self, kind: u8, text: &[u8]) -> (Vec<u8>, Vec<Event>) {
            let after_carriage_return = core::mem::take(&mut self.after_carriage_return);
            let mut events = Vec::new();
            let bytes: Vec<u8> = match kind {
                0..=39 => {
                    self.type_text(text);
                    text.to_vec()
                }
                40..=54 => {
                    self.line.pop();
                    vec![[BACKSPACE, DELETE][kind as usize % 2]]
                }
                55..=66 => {
                    let enter: &[u8] = [b"\r".as_slice(), b"\n", b"\r\n"][kind as usize % 3];
                    if enter != b"\n" || !after_carriage_return {
                        events.push(self.enter());
                    }
                    self.after_carriage_return = enter == b"\r";
                    enter.to_vec()
                }
                67..=76 => {
                    let age = self.recalled.map_or(0, |age| age + 1);
                    if age < self.history.len() {
                        self.recall(Some(age));
                    }
                    b"\x1b[A".to_vec()
                }
                77..=84 => {
                    match self.recalled {
                        Some(0) => self.recall(None),
                        Some(age) => self.recall(Some(age - 1)),
                        None => {}
                    }
                    b"\x1b[B".to_vec()
                }
                85..=92 => {
                    let ignored: [&[u8]; 6] = [
                        b"\x1b[C",
                        b"\x1b[3~",
                        b"\x1b[1;5D",
                        b"\x01",
                        b"\xc3\xa9",
                        b"\t",
                    ];
                    ignored[kind as usize % ignored.len()].to_vec()
                }
                _ => {
                    // A lone Esc: the key after it counts as itself.
                    let key = if text[0] == b'[' { b'x' } else { text[0] };
                    self.type_text(&[key]);
                    vec![ESCAPE, key]
                }
            };
            (bytes, events)
        }
    }

    /// Keys as (kind, printable text): `Model::key` says what each kind is.
    fn keys() -> impl proptest::strategy::Strategy<Value = Vec<(u8, Vec<u8>)>> {
        let text = proptest::collection::vec(0x20u8..0x7F, 1..60);
        proptest::collection::vec((0u8..100, text), 0..120)
    }

    proptest::proptest! {
        /// Any keys — text, Backspace and Delete, Enter as CR, LF or CR LF,
        /// the arrows, ignored sequences and bytes, a lone Esc — give the
        /// events, lines and history a model says, and the echo always
        /// shows exactly the line being typed.
        #[test]
        fn agrees_with_a_model_of_the_line(keys in keys()) {
            let mut editor = LineEditor::new();
            let mut model = Model::default();
            let mut terminal = Terminal::default();
            let mut submitted = Vec::new();
            for (index, (kind, text)) in keys.iter().enumerate() {
                let (bytes, expected) = model.key(*kind, text);
                let mut events = Vec::new();
                let mut shown = Ok(());
                for &byte in &bytes {
                    let event = editor.feed(byte, &mut |echoed: &[u8]| {
                        shown = shown.clone().and_then(|()| terminal.show(echoed));
                    });
                    if event != Event::Pending {
                        events.push(event);
                    }
                    if event == Event::Submitted {
                        submitted.push(editor.line().to_string());
                    }
                }
                proptest::prop_assert_eq!(shown, Ok(()), "key {}: {:?}", index, bytes);
                proptest::prop_assert_eq!(&events, &expected, "key {}: {:?}", index, bytes);
                proptest::prop_assert_eq!(editor.current(), model.line.as_str(), "key {}: {:?}", index, bytes);
                proptest::prop_assert_eq!(terminal.line(), Some(model.line.as_str()), "key {}: what the echo shows", index);
                proptest::prop_assert_eq!(&submitted, &model.submitted, "key {}: the lines", index);
            }
            let newest_first: Vec<&str> = (0..HISTORY_LINES).map_while(|age| editor.history.get(age)).map(ascii).collect();
            let model_history: Vec<&str> = model.history.iter().rev().map(String::as_str).collect();
            proptest::prop_assert_eq!(newest_first, model_history);
        }
    }
}
