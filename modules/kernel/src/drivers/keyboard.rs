//! The PS/2 keyboard, on IRQ 1.
//!
//! Every key press and release makes the keyboard controller put a *scancode*
//! in its data port (0x60) and raise IRQ 1. Scancodes are not characters: "A
//! went down" is 0x1E and "A went up" 0x9E, and whether that means `a`, `A` or
//! Ctrl-A depends on Shift, Caps Lock and Ctrl. Two steps turn them into the
//! bytes the shell reads:
//!
//! 1. [`decode`]: the `pc-keyboard` crate's [`ScancodeSet1`] (what the
//!    controller delivers to us by default) turns scancodes into key events,
//!    "this key went down" or "up". It knows the multi-byte codes, e.g. the
//!    arrows' `0xE0` prefix; it knows nothing of modifiers or characters.
//! 2. [`KeyTranslator::key_event`] keeps the modifiers' state and turns each
//!    key press into the bytes a serial terminal would send for it, so the
//!    shell sees one kind of input from both. What each key's cap shows, it
//!    looks up in [`us_keycap`].
//!
//! The same controller also owns the CPU's reset line, hence [`reboot`].

use crate::input;
use crate::interrupts;
use crate::sync::IrqMutex;
use bitflags::bitflags;
pub use pc_keyboard::{KeyCode, KeyEvent, KeyState};
use pc_keyboard::{ScancodeSet, ScancodeSet1};
use x86::io::{inb, outb};

/// The keyboard's IRQ line.
pub const KEYBOARD_IRQ: u8 = 1;
const DATA_PORT: u16 = 0x60;
const STATUS_PORT: u16 = 0x64;
const COMMAND_PORT: u16 = 0x64;
const COMMAND_PULSE_RESET: u8 = 0xFE;
/// "Write keyboard output buffer": the next data byte comes back as if the
/// keyboard had sent it.
const COMMAND_WRITE_KEYBOARD_OUTPUT: u8 = 0xD2;

bitflags! {
    /// The controller's status register (port 0x64): the two bits this
    /// driver waits on.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    struct Status: u8 {
        /// A byte is waiting in the data port for the CPU to read.
        const OUTPUT_FULL = 1 << 0;
        /// The controller has not yet taken the last byte the CPU wrote:
        /// wait before writing another.
        const INPUT_FULL = 1 << 1;
    }
}

/// Reads the status register.
fn status() -> Status {
    // SAFETY: reading the status port has no side effect.
    Status::from_bits_truncate(unsafe { inb(STATUS_PORT) })
}

/// Waits until the controller can take a command or data byte.
fn wait_until_ready_for_input() {
    while status().contains(Status::INPUT_FULL) {}
}

/// Scancode set 1 in, key events out.
pub type Decoder = ScancodeSet1;

/// A fresh decoder (in the middle of no multi-byte scancode).
pub const fn new_decoder() -> Decoder {
    ScancodeSet1::new()
}

/// Feeds one scancode to the decoder; returns the key event once one is
/// complete (an extended key takes two scancodes).
pub fn decode(decoder: &mut Decoder, scancode: u8) -> Option<KeyEvent> {
    decoder.advance_state(scancode).ok().flatten()
}

/// The keys of a US keyboard that type a character: the one its cap shows
/// alone, and the one with Shift. Letters are listed in lower and upper
/// case; the keypad types what its caps show (Num Lock is taken to be on).
#[rustfmt::skip]
const US_KEYCAPS: [(KeyCode, u8, u8); 63] = {
    use KeyCode::*;
    [
        (A, b'a', b'A'), (B, b'b', b'B'), (C, b'c', b'C'), (D, b'd', b'D'),
        (E, b'e', b'E'), (F, b'f', b'F'), (G, b'g', b'G'), (H, b'h', b'H'),
        (I, b'i', b'I'), (J, b'j', b'J'), (K, b'k', b'K'), (L, b'l', b'L'),
        (M, b'm', b'M'), (N, b'n', b'N'), (O, b'o', b'O'), (P, b'p', b'P'),
        (Q, b'q', b'Q'), (R, b'r', b'R'), (S, b's', b'S'), (T, b't', b'T'),
        (U, b'u', b'U'), (V, b'v', b'V'), (W, b'w', b'W'), (X, b'x', b'X'),
        (Y, b'y', b'Y'), (Z, b'z', b'Z'),
        (Key1, b'1', b'!'), (Key2, b'2', b'@'), (Key3, b'3', b'#'), (Key4, b'4', b'$'),
        (Key5, b'5', b'%'), (Key6, b'6', b'^'), (Key7, b'7', b'&'), (Key8, b'8', b'*'),
        (Key9, b'9', b'('), (Key0, b'0', b')'),
        (Oem8, b'`', b'~'), (OemMinus, b'-', b'_'), (OemPlus, b'=', b'+'),
        (Oem4, b'[', b'{'), (Oem6, b']', b'}'), (Oem7, b'\\', b'|'),
        (Oem1, b';', b':'), (Oem3, b'\'', b'"'),
        (OemComma, b',', b'<'), (OemPeriod, b'.', b'>'), (Oem2, b'/', b'?'),
        (Spacebar, b' ', b' '),
        (Numpad0, b'0', b'0'), (Numpad1, b'1', b'1'), (Numpad2, b'2', b'2'),
        (Numpad3, b'3', b'3'), (Numpad4, b'4', b'4'), (Numpad5, b'5', b'5'),
        (Numpad6, b'6', b'6'), (Numpad7, b'7', b'7'), (Numpad8, b'8', b'8'),
        (Numpad9, b'9', b'9'), (NumpadPeriod, b'.', b'.'),
        (NumpadAdd, b'+', b'+'), (NumpadSubtract, b'-', b'-'),
        (NumpadMultiply, b'*', b'*'), (NumpadDivide, b'/', b'/'),
    ]
};

/// What the cap of `code` shows on a US keyboard, as (alone, with Shift);
/// `None` for keys that type no character (modifiers, Enter, arrows, F1...).
pub fn us_keycap(code: KeyCode) -> Option<(u8, u8)> {
    US_KEYCAPS
        .iter()
        .find(|(key, _, _)| *key == code)
        .map(|&(_, alone, shifted)| (alone, shifted))
}

/// The state of the modifier keys, and what it makes of the other keys.
///
/// Left and right Shift (and Ctrl) are separate keys, and each is tracked
/// on its own: with both Shifts held, letting go of one still leaves Shift
/// held. A key held down *repeats*: the keyboard sends its press again and
/// again, and only one release at the end.
#[derive(Debug, Clone, Copy, Default)]
pub struct KeyTranslator {
    left_shift: bool,
    right_shift: bool,
    left_ctrl: bool,
    right_ctrl: bool,
    caps_lock: bool,
    /// Caps Lock is down: its repeated presses must not toggle it again.
    caps_lock_down: bool,
}

impl KeyTranslator {
    /// No modifier held, Caps Lock off.
    pub const fn new() -> Self {
        Self {
            left_shift: false,
            right_shift: false,
            left_ctrl: false,
            right_ctrl: false,
            caps_lock: false,
            caps_lock_down: false,
        }
    }

    /// Takes one key event and hands the bytes it types to `emit`:
    ///
    /// - Shift and Ctrl (left or right) are held while down; Caps Lock
    ///   toggles on a press, not on the repeats while it is held. They type
    ///   nothing, and neither does any release.
    /// - A letter is upper case when Shift or Caps Lock is on, but not both
    ///   (Shift with Caps Lock on types lower case, as on a PC). With Ctrl
    ///   held, it types its control byte instead: A is 0x01, Z is 0x1A.
    /// - Other keys with a cap ([`us_keycap`]) type what it shows: the
    ///   shifted character while Shift is held. Caps Lock and Ctrl do not
    ///   change them.
    /// - Enter (either one) types `\n`, Backspace 0x08, Tab 0x09, Esc 0x1B
    ///   and Delete 0x7F; the up and down arrows type the ANSI sequences
    ///   `ESC [ A` and `ESC [ B` (what a terminal sends over serial).
    /// - Every other key types nothing.
    pub fn key_event(&mut self, event: KeyEvent, mut emit: impl FnMut(u8)) {
        // LAB 1.2 BEGIN: track Shift and Ctrl (each side) and Caps Lock (toggle on a press, not a repeat); for a press, emit the bytes of the key with the modifiers applied
        let down = match event.state {
            KeyState::Down => true,
            KeyState::Up => false,
            KeyState::SingleShot => return,
        };
        match event.code {
            KeyCode::LShift => self.left_shift = down,
            KeyCode::RShift => self.right_shift = down,
            KeyCode::LControl => self.left_ctrl = down,
            KeyCode::RControl => self.right_ctrl = down,
            KeyCode::CapsLock => {
                if down && !self.caps_lock_down {
                    self.caps_lock = !self.caps_lock;
                }
                self.caps_lock_down = down;
            }
            _ if !down => {}
            code => {
                let shift = self.left_shift || self.right_shift;
                let ctrl = self.left_ctrl || self.right_ctrl;
                let byte = match us_keycap(code) {
                    Some((letter, _)) if letter.is_ascii_lowercase() && ctrl => letter - b'a' + 1,
                    Some((letter, upper)) if letter.is_ascii_lowercase() => {
                        if shift != self.caps_lock {
                            upper
                        } else {
                            letter
                        }
                    }
                    Some((alone, shifted)) => {
                        if shift {
                            shifted
                        } else {
                            alone
                        }
                    }
                    None => {
                        let sequence: &[u8] = match code {
                            KeyCode::Return | KeyCode::NumpadEnter => b"\n",
                            KeyCode::Backspace => b"\x08",
                            KeyCode::Tab => b"\t",
                            KeyCode::Escape => b"\x1b",
                            KeyCode::Delete => b"\x7f",
                            KeyCode::ArrowUp => b"\x1b[A",
                            KeyCode::ArrowDown => b"\x1b[B",
                            _ => b"",
                        };
                        sequence.iter().copied().for_each(emit);
                        return;
                    }
                };
                emit(byte);
            }
        }
        // LAB END
    }
}

/// The decoder and the modifiers' state: one keyboard, so one of each.
struct Keyboard {
    decoder: Decoder,
    translator: KeyTranslator,
}

static KEYBOARD: IrqMutex<Keyboard> = IrqMutex::new(Keyboard {
    decoder: new_decoder(),
    translator: KeyTranslator::new(),
});

/// Empties the controller's buffer (keys pressed during boot). Each key is
/// then IRQ 1, whose handler is `on_interrupt` (`kernel::init` connects
/// them).
pub fn init() {
    while status().contains(Status::OUTPUT_FULL) {
        // SAFETY: reading the data port only consumes the pending byte.
        unsafe { inb(DATA_PORT) };
    }
}

/// IRQ 1: a scancode is waiting; decode it and queue what it types.
pub(crate) fn on_interrupt() {
    // SAFETY: IRQ 1 means a scancode is waiting in the data port.
    let scancode = unsafe { inb(DATA_PORT) };
    let mut keyboard = KEYBOARD.lock();
    if let Some(event) = decode(&mut keyboard.decoder, scancode) {
        keyboard.translator.key_event(event, input::push);
    }
}

/// Makes the controller deliver `scancode` as if a key had sent it, IRQ 1
/// and all, and waits until the handler has read it. For in-kernel tests of
/// the whole path from controller to shell input. Interrupts must be on.
pub fn simulate_scancode(scancode: u8) {
    wait_until_ready_for_input();
    // SAFETY: "write keyboard output buffer": the controller takes the next
    // data byte, raises IRQ 1, and our handler reads the byte from the data
    // port, as for a real key.
    unsafe { outb(COMMAND_PORT, COMMAND_WRITE_KEYBOARD_OUTPUT) };
    wait_until_ready_for_input();
    // SAFETY: the data byte of that command.
    unsafe { outb(DATA_PORT, scancode) };
    let deadline = crate::drivers::pit::ticks() + 10;
    while status().contains(Status::OUTPUT_FULL) {
        assert!(
            crate::drivers::pit::ticks() < deadline,
            "the keyboard interrupt did not take scancode {scancode:#04x} within 100 ms"
        );
        interrupts::halt();
    }
}

/// Resets the machine by pulsing the CPU's reset line through the keyboard
/// controller. (QEMU run with `-no-reboot` exits instead.)
pub fn reboot() -> ! {
    interrupts::disable();
    wait_until_ready_for_input();
    // SAFETY: "pulse reset": the CPU restarts and nothing after this runs.
    unsafe { outb(COMMAND_PORT, COMMAND_PULSE_RESET) };
    crate::interrupts::halt_forever()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes a fresh keyboard types for `scancodes`.
    fn type_scancodes(scancodes: &[u8]) -> Vec<u8> {
        let mut decoder = new_decoder();
        let mut translator = KeyTranslator::new();
        let mut bytes = Vec::new();
        for &scancode in scancodes {
            if let Some(event) = decode(&mut decoder, scancode) {
                translator.key_event(event, |byte| bytes.push(byte));
            }
        }
        bytes
    }

    // Set 1 make codes; a break code is the make code + 0x80.
    const A: u8 = 0x1E;
    const B: u8 = 0x30;
    const LEFT_SHIFT: u8 = 0x2A;
    const RIGHT_SHIFT: u8 = 0x36;
    const CAPS_LOCK: u8 = 0x3A;
    const LEFT_CTRL: u8 = 0x1D;
    const ENTER: u8 = 0x1C;
    const BACKSPACE: u8 = 0x0E;
    const KEY_1: u8 = 0x02;
    const SLASH: u8 = 0x35;
    const RELEASE: u8 = 0x80;

    #[test]
    fn plain_keys_and_releases() {
        assert_eq!(type_scancodes(&[A, A | RELEASE, B, B | RELEASE]), b"ab");
        // A held key repeats its press: each one types.
        assert_eq!(type_scancodes(&[B, B, B, B | RELEASE]), b"bbb");
    }

    #[test]
    fn shift_changes_letters_and_digits_while_held() {
        let typed = type_scancodes(&[LEFT_SHIFT, A, KEY_1, SLASH, LEFT_SHIFT | RELEASE, A, KEY_1]);
        assert_eq!(typed, b"A!?a1");
        // Both Shifts down, one let go: Shift is still held.
        let typed = type_scancodes(&[
            LEFT_SHIFT,
            RIGHT_SHIFT,
            LEFT_SHIFT | RELEASE,
            B,
            RIGHT_SHIFT | RELEASE,
            B,
        ]);
        assert_eq!(typed, b"Bb");
    }

    #[test]
    fn caps_lock_toggles() {
        let typed = type_scancodes(&[
            CAPS_LOCK,
            CAPS_LOCK | RELEASE,
            A,
            KEY_1,
            LEFT_SHIFT,
            A,
            LEFT_SHIFT | RELEASE,
            CAPS_LOCK,
            CAPS_LOCK | RELEASE,
            A,
        ]);
        assert_eq!(typed, b"A1aa", "Caps Lock is for letters; Shift undoes it");
        // Held down, Caps Lock repeats its press: it toggles once.
        let typed = type_scancodes(&[CAPS_LOCK, CAPS_LOCK, CAPS_LOCK, CAPS_LOCK | RELEASE, B]);
        assert_eq!(typed, b"B");
    }

    #[test]
    fn ctrl_letter_is_a_control_byte() {
        let typed = type_scancodes(&[LEFT_CTRL, A, B, KEY_1, LEFT_CTRL | RELEASE, A]);
        assert_eq!(typed, [0x01, 0x02, b'1', b'a']);
        // The right Ctrl is an extended key (0xE0 0x1D), and Ctrl + Z is 26.
        let typed = type_scancodes(&[0xE0, LEFT_CTRL, 0x2C, 0xE0, LEFT_CTRL | RELEASE]);
        assert_eq!(typed, [0x1A]);
    }

    #[test]
    fn enter_backspace_and_arrows() {
        // The arrows are extended keys: prefix 0xE0, then 0x48 (up) / 0x50
        // (down); left (0x4B) and F1 (0x3B) type nothing.
        let typed = type_scancodes(&[
            ENTER, BACKSPACE, 0x0F, 0x01, 0xE0, 0x48, 0xE0, 0x50, 0xE0, 0x4B, 0x3B, 0xE0, 0x53,
        ]);
        assert_eq!(typed, b"\n\x08\t\x1b\x1b[A\x1b[B\x7f");
    }

    /// The keys the model knows, with what they type alone and with Shift
    /// (nothing, for keys that type nothing).
    const MODEL_KEYS: [(KeyCode, &[u8], &[u8]); 20] = [
        (KeyCode::A, b"a", b"A"),
        (KeyCode::Q, b"q", b"Q"),
        (KeyCode::Z, b"z", b"Z"),
        (KeyCode::Key2, b"2", b"@"),
        (KeyCode::Key9, b"9", b"("),
        (KeyCode::OemMinus, b"-", b"_"),
        (KeyCode::Oem3, b"'", b"\""),
        (KeyCode::Spacebar, b" ", b" "),
        (KeyCode::Return, b"\n", b"\n"),
        (KeyCode::Backspace, b"\x08", b"\x08"),
        (KeyCode::ArrowUp, b"\x1b[A", b"\x1b[A"),
        (KeyCode::ArrowDown, b"\x1b[B", b"\x1b[B"),
        (KeyCode::ArrowLeft, b"", b""),
        (KeyCode::F1, b"", b""),
        (KeyCode::LAlt, b"", b""),
        (KeyCode::LShift, b"", b""),
        (KeyCode::RShift, b"", b""),
        (KeyCode::LControl, b"", b""),
        (KeyCode::RControl, b"", b""),
        (KeyCode::CapsLock, b"", b""),
    ];

    proptest::proptest! {
        /// Any sequence of presses and releases (a release of a key that
        /// was never pressed, presses repeated while held) types what a
        /// model says: the set of keys held, and Caps Lock flipped by each
        /// press of it that is not a repeat.
        #[test]
        fn agrees_with_a_model_of_held_keys(
            events in proptest::collection::vec((0..MODEL_KEYS.len(), proptest::bool::ANY), 0..300)
        ) {
            let mut translator = KeyTranslator::new();
            let mut held: Vec<KeyCode> = Vec::new();
            let mut caps_lock = false;
            for (index, (key, down)) in events.into_iter().enumerate() {
                let (code, alone, shifted) = MODEL_KEYS[key];
                let mut typed = Vec::new();
                let state = if down { KeyState::Down } else { KeyState::Up };
                translator.key_event(KeyEvent::new(code, state), |byte| typed.push(byte));
                let was_held = held.contains(&code);
                held.retain(|&other| other != code);
                if !down {
                    proptest::prop_assert!(typed.is_empty(), "release {}: {:?} typed {:?}", index, code, typed);
                    continue;
                }
                held.push(code);
                if code == KeyCode::CapsLock && !was_held {
                    caps_lock = !caps_lock;
                }
                let shift = held.contains(&KeyCode::LShift) || held.contains(&KeyCode::RShift);
                let ctrl = held.contains(&KeyCode::LControl) || held.contains(&KeyCode::RControl);
                let is_letter = alone.len() == 1 && alone[0].is_ascii_alphabetic();
                let expected: Vec<u8> = if is_letter && ctrl {
                    vec![alone[0] - b'a' + 1]
                } else if is_letter {
                    (if shift ^ caps_lock { shifted } else { alone }).to_vec()
                } else {
                    (if shift { shifted } else { alone }).to_vec()
                };
                proptest::prop_assert_eq!(
                    &typed, &expected,
                    "press {}: {:?} with shift={} ctrl={} caps_lock={}", index, code, shift, ctrl, caps_lock
                );
            }
        }
    }
}
