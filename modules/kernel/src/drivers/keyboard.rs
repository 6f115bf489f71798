//! The PS/2 keyboard, on IRQ 1.
//!
//! Every key press and release makes the keyboard controller put a *scancode*
//! in its data port (0x60) and raise IRQ 1. Scancodes are not characters: "A
//! went down" is 0x1E and "A went up" 0x9E, and whether that means `a`, `A` or
//! Ctrl-A depends on Shift, Caps Lock and Ctrl. The `pc-keyboard` crate keeps
//! that state and turns scancode set 1 (what the controller delivers to us by
//! default) into characters with a US layout; [`translate`] then turns keys
//! into the bytes a serial terminal would send, so the shell sees one kind of
//! input from both.
//!
//! The same controller also owns the CPU's reset line, hence [`reboot`].

use crate::input;
use crate::interrupts;
use crate::sync::IrqMutex;
use bitflags::bitflags;
use pc_keyboard::layouts::Us104Key;
use pc_keyboard::{DecodedKey, HandleControl, KeyCode, PS2Keyboard, ScancodeSet1};
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

/// A US keyboard delivering scancode set 1, Ctrl+letter giving ASCII 1–26.
pub type Decoder = PS2Keyboard<Us104Key, ScancodeSet1>;

/// A fresh decoder (no modifier held).
pub const fn new_decoder() -> Decoder {
    PS2Keyboard::new(
        ScancodeSet1::new(),
        Us104Key,
        HandleControl::MapLettersToUnicode,
    )
}

static DECODER: IrqMutex<Decoder> = IrqMutex::new(new_decoder());

/// Empties the controller's buffer (keys pressed during boot). Each key is
/// then IRQ 1, whose handler is `on_interrupt` (`kernel::init` connects
/// them).
pub fn init() {
    while status().contains(Status::OUTPUT_FULL) {
        // SAFETY: reading the data port only consumes the pending byte.
        unsafe { inb(DATA_PORT) };
    }
}

/// IRQ 1: a scancode is waiting; decode it and queue what it stands for.
pub(crate) fn on_interrupt() {
    // SAFETY: IRQ 1 means a scancode is waiting in the data port.
    let scancode = unsafe { inb(DATA_PORT) };
    let mut decoder = DECODER.lock();
    if let Some(key) = decode(&mut decoder, scancode) {
        translate(key, input::push);
    }
}

/// Feeds one scancode to the decoder; returns a key when one is complete (a
/// press of something printable, or of a special key).
pub fn decode(decoder: &mut Decoder, scancode: u8) -> Option<DecodedKey> {
    let event = decoder.add_byte(scancode).ok()??;
    decoder.process_keyevent(event)
}

/// Hands the bytes that stand for `key` to `emit`: ASCII characters as
/// themselves (Enter is `\n`, Backspace 0x08, Tab, Esc and Delete their ASCII
/// codes), the up and down arrows as the ANSI sequences `ESC [ A` and
/// `ESC [ B` (what a terminal sends over serial). Other keys send nothing.
pub fn translate(key: DecodedKey, mut emit: impl FnMut(u8)) {
    // LAB 1.2 BEGIN: emit ASCII characters as themselves, ArrowUp as ESC [ A, ArrowDown as ESC [ B, and nothing for other keys
    let sequence: &[u8] = match key {
        DecodedKey::Unicode(character) if character.is_ascii() => {
            emit(character as u8);
            return;
        }
        DecodedKey::RawKey(KeyCode::ArrowUp) => b"\x1b[A",
        DecodedKey::RawKey(KeyCode::ArrowDown) => b"\x1b[B",
        _ => b"",
    };
    sequence.iter().copied().for_each(emit);
    // LAB END
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

    fn type_scancodes(scancodes: &[u8]) -> Vec<u8> {
        let mut decoder = new_decoder();
        let mut bytes = Vec::new();
        for &scancode in scancodes {
            if let Some(key) = decode(&mut decoder, scancode) {
                translate(key, |byte| bytes.push(byte));
            }
        }
        bytes
    }

    // Set 1 make codes; a break code is the make code + 0x80.
    const A: u8 = 0x1E;
    const B: u8 = 0x30;
    const LEFT_SHIFT: u8 = 0x2A;
    const CAPS_LOCK: u8 = 0x3A;
    const LEFT_CTRL: u8 = 0x1D;
    const ENTER: u8 = 0x1C;
    const BACKSPACE: u8 = 0x0E;
    const KEY_1: u8 = 0x02;
    const RELEASE: u8 = 0x80;

    #[test]
    fn plain_keys_and_releases() {
        assert_eq!(type_scancodes(&[A, A | RELEASE, B, B | RELEASE]), b"ab");
    }

    #[test]
    fn shift_changes_letters_and_digits_while_held() {
        let typed = type_scancodes(&[LEFT_SHIFT, A, KEY_1, LEFT_SHIFT | RELEASE, A, KEY_1]);
        assert_eq!(typed, b"A!a1");
    }

    #[test]
    fn caps_lock_toggles() {
        let typed = type_scancodes(&[
            CAPS_LOCK,
            CAPS_LOCK | RELEASE,
            A,
            CAPS_LOCK,
            CAPS_LOCK | RELEASE,
            A,
        ]);
        assert_eq!(typed, b"Aa");
    }

    #[test]
    fn ctrl_letter_is_a_control_byte() {
        let typed = type_scancodes(&[LEFT_CTRL, A, LEFT_CTRL | RELEASE]);
        assert_eq!(typed, [0x01]);
    }

    #[test]
    fn enter_backspace_and_arrows() {
        // The arrows are extended keys: prefix 0xE0, then 0x48 (up) / 0x50 (down).
        let typed = type_scancodes(&[ENTER, BACKSPACE, 0xE0, 0x48, 0xE0, 0x50]);
        assert_eq!(typed, b"\n\x08\x1b[A\x1b[B");
    }
}
