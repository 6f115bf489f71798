//! The commands every chapter's shell starts with.

use super::args::{Args, CommandError};
use super::format::ByteSize;
use super::registry::Command;
use crate::cpu::exceptions;
use crate::drivers::{keyboard, pit, qemu};
use crate::{boot, console, println};
use multiboot2::MemoryAreaType;

/// The built-in commands, in the order `help` lists them.
pub const COMMANDS: &[Command] = &[
    Command {
        name: "help",
        usage: "",
        summary: "list every command",
        run: help,
    },
    Command {
        name: "echo",
        usage: "[TEXT...]",
        summary: "print TEXT",
        run: echo,
    },
    Command {
        name: "clear",
        usage: "",
        summary: "clear the screen",
        run: clear,
    },
    Command {
        name: "uptime",
        usage: "",
        summary: "time since boot, from the PIT's ticks",
        run: uptime,
    },
    Command {
        name: "info",
        usage: "",
        summary: "boot loader, command line and the memory map GRUB passed",
        run: info,
    },
    Command {
        name: "int3",
        usage: "",
        summary: "raise a breakpoint exception and carry on",
        run: int3,
    },
    Command {
        name: "reboot",
        usage: "",
        summary: "restart the machine (QEMU with -no-reboot exits)",
        run: reboot,
    },
    Command {
        name: "halt",
        usage: "",
        summary: "power off (under QEMU) or stop the CPU",
        run: halt,
    },
];

fn help<'a>(args: &mut Args<'a>) -> Result<(), CommandError<'a>> {
    args.finish()?;
    println!("Commands:");
    super::registry::for_each_command(|command| {
        // "  name usage", then the summary from column 27, wrapped there; a
        // long usage puts the summary on a line of its own.
        const SUMMARY_COLUMN: usize = 27;
        let usage_width = 2 + command.name.len() + 1 + command.usage.len();
        crate::print!("  {} {}", command.name, command.usage);
        if usage_width < SUMMARY_COLUMN {
            crate::print!("{:1$}", "", SUMMARY_COLUMN - usage_width);
        } else {
            crate::print!("\n{:1$}", "", SUMMARY_COLUMN);
        }
        let summary = format_args!("{}", command.summary);
        super::format::print_wrapped(SUMMARY_COLUMN, SUMMARY_COLUMN, summary);
        println!();
    });
    Ok(())
}

fn echo<'a>(args: &mut Args<'a>) -> Result<(), CommandError<'a>> {
    for (index, word) in args.rest().enumerate() {
        if index > 0 {
            crate::print!(" ");
        }
        crate::print!("{word}");
    }
    println!();
    Ok(())
}

fn clear<'a>(args: &mut Args<'a>) -> Result<(), CommandError<'a>> {
    args.finish()?;
    console::clear();
    Ok(())
}

fn uptime<'a>(args: &mut Args<'a>) -> Result<(), CommandError<'a>> {
    args.finish()?;
    let ms = pit::uptime_ms();
    super::format::print_summary(format_args!(
        "uptime: seconds={}.{:03} ticks={} hz={}",
        ms / 1000,
        ms % 1000,
        pit::ticks(),
        pit::frequency()
    ));
    Ok(())
}

fn info<'a>(args: &mut Args<'a>) -> Result<(), CommandError<'a>> {
    args.finish()?;
    let info = boot::info();
    let loader = info
        .boot_loader_name_tag()
        .and_then(|tag| tag.name().ok())
        .unwrap_or("(unknown)");
    let command_line = crate::command_line::text();
    let areas = info
        .memory_map_tag()
        .map_or(&[][..], |tag| tag.memory_areas());
    let usable: u64 = areas
        .iter()
        .filter(|area| area.typ() == MemoryAreaType::Available)
        .map(|area| area.size())
        .sum();
    super::format::print_summary(format_args!("info: loader=\"{loader}\" cmdline=\"{command_line}\" memory_areas={} usable_bytes={usable}", areas.len()));
    println!("Boot loader:   {loader}");
    println!(
        "Command line:  {}",
        if command_line.is_empty() {
            "(none)"
        } else {
            command_line
        }
    );
    println!(
        "Boot info at:  {:#x}..{:#x}",
        info.start_address(),
        info.end_address()
    );
    println!(
        "Memory map ({} areas, {} usable):",
        areas.len(),
        ByteSize(usable)
    );
    println!("  {:<18} {:<18} {:>10}  type", "start", "end", "size");
    for area in areas {
        println!(
            "  {:#018x} {:#018x} {:>10}  {}",
            area.start_address(),
            area.end_address(),
            ByteSize(area.size()),
            area_type_name(area.typ())
        );
    }
    Ok(())
}

/// The memory map's type names, as the Multiboot2 specification gives them.
pub fn area_type_name(typ: MemoryAreaType) -> &'static str {
    match typ {
        MemoryAreaType::Available => "available",
        MemoryAreaType::Reserved => "reserved",
        MemoryAreaType::AcpiAvailable => "ACPI reclaimable",
        MemoryAreaType::ReservedHibernate => "ACPI NVS (keep for hibernation)",
        MemoryAreaType::Defective => "defective",
        MemoryAreaType::Custom(_) => "other",
    }
}

fn int3<'a>(args: &mut Args<'a>) -> Result<(), CommandError<'a>> {
    args.finish()?;
    println!("Raising a breakpoint exception (int3)...");
    raise_breakpoint();
    println!(
        "Back from the breakpoint handler: execution continued (breakpoints so far: {}).",
        exceptions::breakpoints_hit()
    );
    Ok(())
}

/// Executes `int3`, the one-byte breakpoint instruction.
pub fn raise_breakpoint() {
    // SAFETY: the breakpoint handler reports and returns to the next
    // instruction, touching no memory of ours.
    #[cfg(target_os = "none")]
    unsafe {
        core::arch::asm!("int3")
    };
}

fn reboot<'a>(args: &mut Args<'a>) -> Result<(), CommandError<'a>> {
    args.finish()?;
    println!("Rebooting...");
    keyboard::reboot()
}

fn halt<'a>(args: &mut Args<'a>) -> Result<(), CommandError<'a>> {
    args.finish()?;
    println!("Powering off...");
    qemu::power_off();
    // QEMU acts on the power-off request asynchronously; give it a moment.
    pit::sleep_ticks(u64::from(pit::frequency() / 5));
    println!(
        "Still running, so this is not QEMU: the CPU is halted. It is now safe to switch off."
    );
    crate::interrupts::halt_forever()
}
