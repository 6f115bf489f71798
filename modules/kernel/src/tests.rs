//! Chapter 1's in-kernel tests (see [`ktest`]).

use crate::drivers::{keyboard, pic, pit, serial};
use crate::input::Input;
use crate::ktest::{self, KernelTest};
use crate::screen::{HEIGHT, WIDTH};
use crate::shell::format::FixedText;
use crate::shell::line_editor::LineEditor;
use crate::shell::{self, Command, CommandError, Outcome};
use crate::trap_tests;
use core::fmt::Write;
use core::sync::atomic::{AtomicU64, Ordering};

/// Every chapter-1 test; later chapters run these too.
pub const TESTS: &[KernelTest] = &[
    KernelTest::new(
        "boot::multiboot2_information_is_read",
        multiboot2_information_is_read,
    ),
    KernelTest::new("boot::running_on_the_boot_stack", running_on_the_boot_stack),
    KernelTest::new(
        "cpu::our_gdt_and_idt_are_loaded",
        trap_tests::our_gdt_and_idt_are_loaded,
    ),
    KernelTest::new("cpu::breakpoint_returns", trap_tests::breakpoint_returns),
    KernelTest::new(
        "cpu::breakpoint_report_shows_the_registers",
        trap_tests::breakpoint_report_shows_the_registers,
    ),
    KernelTest::new(
        "cpu::selector_error_codes_are_decoded",
        trap_tests::selector_error_codes_are_decoded,
    ),
    KernelTest::expecting_panic(
        "cpu::divide_error_is_reported",
        trap_tests::divide_by_zero,
        "#DE Divide Error (vector 0)",
    ),
    KernelTest::expecting_panic(
        "cpu::invalid_opcode_is_reported",
        trap_tests::invalid_opcode,
        "(vector 6)",
    ),
    KernelTest::expecting_panic(
        "panic::panics_are_reported",
        deliberate_panic,
        "deliberate panic 42",
    ),
    KernelTest::new(
        "pic::only_used_lines_are_unmasked",
        only_used_lines_are_unmasked,
    ),
    KernelTest::new("pit::timer_ticks_at_100_hz", timer_ticks_at_100_hz),
    KernelTest::new("console::text_reaches_the_screen", text_reaches_the_screen),
    KernelTest::new("serial::uart_is_present", uart_is_present),
    KernelTest::new("shell::registered_commands_run", registered_commands_run),
    KernelTest::new(
        "shell::typed_lines_are_edited_and_run",
        typed_lines_are_edited_and_run,
    ),
    KernelTest::new(
        "console::scrolling_keeps_the_newest_lines",
        scrolling_keeps_the_newest_lines,
    ),
    KernelTest::new(
        "keyboard::typed_keys_reach_the_shell_input",
        typed_keys_reach_the_shell_input,
    ),
];

fn multiboot2_information_is_read() {
    let info = crate::boot::info();
    let loader = info
        .boot_loader_name_tag()
        .and_then(|tag| tag.name().ok())
        .unwrap_or("");
    assert!(loader.contains("GRUB"), "boot loader name: {loader:?}");
    assert!(
        crate::command_line::switch("test", false),
        "command line: {:?}",
        crate::command_line::text()
    );
    let areas = info
        .memory_map_tag()
        .expect("GRUB passes a memory map")
        .memory_areas();
    assert!(!areas.is_empty());
    // The kernel itself (loaded at 1 MiB) must be in available memory.
    let kernel = crate::boot::kernel_layout().image.0 as u64;
    assert!(areas
        .iter()
        .any(|a| a.typ() == multiboot2::MemoryAreaType::Available
            && a.start_address() <= kernel
            && kernel < a.end_address()));
}

fn running_on_the_boot_stack() {
    let layout = crate::boot::kernel_layout();
    let local = 0u32;
    let here = &local as *const u32 as usize;
    assert!(
        layout.stack.0 <= here && here < layout.stack.1,
        "{here:#x} not in {:#x?}",
        layout.stack
    );
    assert_eq!(layout.stack_guard + 4096, layout.stack.0);
    assert_eq!(layout.stack.1 - layout.stack.0, 64 * 1024);
    assert!(layout.text.0 >= layout.image.0 && layout.text.1 <= layout.rodata.0);
}

fn deliberate_panic() {
    let answer = 42;
    panic!("deliberate panic {answer}");
}

fn only_used_lines_are_unmasked() {
    let masks = pic::masks();
    for irq in [0u8, 1, 2, serial::COM1_IRQ] {
        assert_eq!(
            masks & (1 << irq),
            0,
            "IRQ {irq} should be unmasked (masks {masks:#06x})"
        );
    }
    for irq in [3u8, 5, 6, 7, 8, 12, 14, 15] {
        assert_ne!(
            masks & (1 << irq),
            0,
            "IRQ {irq} should be masked (masks {masks:#06x})"
        );
    }
    assert_eq!(keyboard::KEYBOARD_IRQ, 1);
}

fn timer_ticks_at_100_hz() {
    assert_eq!(pit::frequency(), 100);
    let start = pit::ticks();
    pit::sleep_ticks(5);
    assert!(pit::ticks() >= start + 5);
    assert!(crate::cpu::trap::irq_count(0) as u64 >= 5);
}

fn text_reaches_the_screen() {
    crate::println!("ktest marker 7361");
    let (row, _) = crate::console::cursor();
    let printed = row
        .checked_sub(1)
        .expect("the marker line is above the cursor");
    let mut text = [0u8; crate::screen::WIDTH];
    crate::console::read_row(printed, &mut text);
    assert!(
        text.starts_with(b"ktest marker 7361 "),
        "{:?}",
        core::str::from_utf8(&text)
    );
}

fn uart_is_present() {
    assert!(serial::is_present());
}

static PROBE_VALUE: AtomicU64 = AtomicU64::new(0);

fn probe<'a>(args: &mut crate::shell::Args<'a>) -> Result<(), CommandError<'a>> {
    let value = args.number("VALUE")?;
    args.finish()?;
    PROBE_VALUE.store(value, Ordering::Relaxed);
    Ok(())
}

const PROBE: Command = Command {
    name: "ktest-probe",
    usage: "VALUE",
    summary: "stores VALUE (in-kernel test)",
    run: probe,
};

fn registered_commands_run() {
    shell::register(PROBE).expect("first registration");
    assert!(shell::register(Command {
        name: "ktest-probe",
        usage: "",
        summary: "",
        run: probe,
    })
    .is_err());
    assert_eq!(shell::execute("ktest-probe 0x2a"), Outcome::Ran);
    assert_eq!(PROBE_VALUE.load(Ordering::Relaxed), 42);
    assert_eq!(shell::execute("ktest-probe ten"), Outcome::Failed);
    assert_eq!(shell::execute("ktest-probe 1 2"), Outcome::Failed);
    assert_eq!(
        PROBE_VALUE.load(Ordering::Relaxed),
        42,
        "a failed parse must not run the command"
    );
    // A value the grader's token chooses, so no fixed answer passes.
    let mut line = FixedText::<48>::new();
    write!(line, "ktest-probe {:#x}", ktest::seed()).unwrap();
    assert_eq!(shell::execute(line.as_str()), Outcome::Ran);
    assert_eq!(PROBE_VALUE.load(Ordering::Relaxed), ktest::seed());
    assert_eq!(shell::execute("no-such-command"), Outcome::Unknown);
    assert_eq!(shell::execute("   "), Outcome::Empty);
    assert_eq!(shell::execute("echo from a test"), Outcome::Ran);
}

/// Lines typed with mistakes, an escape sequence, CR LF and the up arrow go
/// through the line editor to `execute`: the probe must get the values the
/// lines show once edited (the token picks them), and an overlong line
/// must not run at all.
fn typed_lines_are_edited_and_run() {
    // Registered already if `registered_commands_run` ran in this boot.
    let _ = shell::register(PROBE);
    let seed = ktest::seed();
    let first = seed >> 8;
    let second = (first & !0xF) | (seed & 0xF);
    let mut typed = FixedText::<320>::new();
    // A typo rubbed out with Backspace, two with Delete, the right arrow
    // (ignored), Enter as CR LF; then the line recalled with its last digit
    // changed; then a line longer than the editor takes.
    let _ = write!(
        typed,
        "ktest-prx\x08obe 0x{first:x}zz\x7f\x7f\x1b[C\r\n\x1b[A\x08{:x}\rktest-probe 7{:0>130}\r",
        seed & 0xF,
        ""
    );
    let mut bytes = typed.as_str().bytes();
    let mut read = || Input::Byte(bytes.next().expect("the editor should have ended the line"));
    let mut editor = LineEditor::new();
    let outcome = shell::repl::read_and_execute(&mut editor, &mut read, &mut |_| {});
    assert_eq!(outcome, Some(Outcome::Ran));
    assert_eq!(
        PROBE_VALUE.load(Ordering::Relaxed),
        first,
        "{:?}",
        editor.line()
    );
    let outcome = shell::repl::read_and_execute(&mut editor, &mut read, &mut |_| {});
    assert_eq!(outcome, Some(Outcome::Ran));
    assert_eq!(
        PROBE_VALUE.load(Ordering::Relaxed),
        second,
        "{:?}",
        editor.line()
    );
    let outcome = shell::repl::read_and_execute(&mut editor, &mut read, &mut |_| {});
    assert_eq!(outcome, None, "an overlong line is refused");
    assert_eq!(PROBE_VALUE.load(Ordering::Relaxed), second);
    assert_eq!(bytes.next(), None, "every byte was read");
}

/// More lines than the screen holds (how many more, the seed decides): the
/// rows above the cursor must be the newest lines, in order.
fn scrolling_keeps_the_newest_lines() {
    let seed = ktest::seed();
    let lines = HEIGHT + 3 + (seed % 7) as usize;
    for index in 0..lines {
        crate::println!("scroll {seed:016x} line {index}");
    }
    let (row, column) = crate::console::cursor();
    assert_eq!(
        (row, column),
        (HEIGHT - 1, 0),
        "the cursor stays on the bottom row"
    );
    for row in 0..HEIGHT - 1 {
        let mut expected = FixedText::<48>::new();
        write!(
            expected,
            "scroll {seed:016x} line {} ",
            lines - (HEIGHT - 1) + row
        )
        .unwrap();
        let mut text = [0u8; WIDTH];
        crate::console::read_row(row, &mut text);
        assert!(
            text.starts_with(expected.as_str().as_bytes()),
            "row {row} should start with {:?} but holds {:?}",
            expected.as_str(),
            core::str::from_utf8(&text)
        );
    }
}

/// Scancode set 1 "make" codes of the hex digits 0-9 and a-f.
const HEX_DIGIT_SCANCODES: [u8; 16] = [
    0x0B, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x1E, 0x30, 0x2E, 0x20, 0x12, 0x21,
];

/// Set 1 make codes of the left Shift key and Enter.
const LEFT_SHIFT: u8 = 0x2A;
const ENTER: u8 = 0x1C;

/// Types the seed in hex, some digits with Shift held (the token picks
/// which), then the up arrow and Enter, through the keyboard controller;
/// the input queue must get the characters, `ESC [ A` and `\n`.
fn typed_keys_reach_the_shell_input() {
    while crate::input::try_read().is_some() {}
    let press = |code: u8| {
        keyboard::simulate_scancode(code);
        keyboard::simulate_scancode(code | 0x80); // the release
    };
    let seed = ktest::seed();
    let shifted = seed.rotate_left(23);
    let mut expected = FixedText::<32>::new();
    for index in 0..16 {
        let value = (seed >> (60 - 4 * index)) & 0xF;
        let shift = (shifted >> index) & 1 == 1;
        if shift {
            keyboard::simulate_scancode(LEFT_SHIFT);
        }
        press(HEX_DIGIT_SCANCODES[value as usize]);
        if shift {
            keyboard::simulate_scancode(LEFT_SHIFT | 0x80);
        }
        let character = match (value, shift) {
            (0..=9, false) => b'0' + value as u8,
            (0..=9, true) => b")!@#$%^&*("[value as usize],
            (_, false) => b'a' + value as u8 - 10,
            (_, true) => b'A' + value as u8 - 10,
        };
        let _ = expected.write_char(character as char);
    }
    for code in [0xE0, 0x48, 0xE0, 0xC8] {
        keyboard::simulate_scancode(code); // up arrow: an extended key
    }
    press(ENTER);
    let _ = expected.write_str("\x1b[A\n");
    let mut received = [0u8; 32];
    let mut count = 0;
    while let Some(byte) = crate::input::try_read() {
        received[count] = byte;
        count += 1;
        if count == received.len() {
            break;
        }
    }
    assert_eq!(
        &received[..count],
        expected.as_str().as_bytes(),
        "typed {:?}",
        expected.as_str()
    );
}
