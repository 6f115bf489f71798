//! `frames` and `frame`: the physical memory map and the frame allocator.

use crate::frames::FRAME_SIZE;
use crate::setup::{frames, memory_map};
use kernel::shell::args::{Args, CommandError};
use kernel::shell::builtins::area_type_name;
use kernel::shell::format::ByteSize;
use kernel::shell::registry::Command;
use kernel::{boot, println};

pub const FRAMES_COMMAND: Command = Command {
    name: "frames",
    usage: "",
    summary: "frame counts, the memory map, and what is reserved and why",
    run: frames_command,
};

pub const FRAME_COMMAND: Command = Command {
    name: "frame",
    usage: "alloc [COUNT [ALIGN]] | free ADDRESS [COUNT]",
    summary: "allocate or free physical frames by hand",
    run: frame_command,
};

fn frames_command<'a>(args: &mut Args<'a>) -> Result<(), CommandError<'a>> {
    args.finish()?;
    let counts = frames().counts();
    let map = memory_map();
    kernel::shell::print_summary(format_args!(
        "frames: total={} free={} used={} reserved={} frame_size={FRAME_SIZE}",
        counts.total, counts.free, counts.used, counts.reserved
    ));
    println!("Memory map from GRUB:");
    if let Some(tag) = boot::info().memory_map_tag() {
        for area in tag.memory_areas() {
            println!(
                "  {:#011x}-{:#011x} {:>9}  {}",
                area.start_address(),
                area.end_address(),
                ByteSize(area.size()),
                area_type_name(area.typ())
            );
        }
    }
    println!("Usable RAM below 4 GiB, in whole frames:");
    for range in map.usable() {
        println!(
            "  {:#011x}-{:#011x} {:>9}",
            range.start,
            range.end,
            ByteSize(range.len())
        );
    }
    println!("Reserved (never handed out):");
    for reservation in map.reservations() {
        let range = reservation.range;
        println!(
            "  {:#011x}-{:#011x} {:>9}  {}",
            range.start,
            range.end,
            ByteSize(range.len()),
            reservation.reason
        );
    }
    println!(
        "Left out: {} of RAM above 4 GiB (a 32-bit kernel cannot reach it), {} in partial frames.",
        ByteSize(map.unreachable_bytes),
        ByteSize(map.discarded_bytes)
    );
    Ok(())
}

fn frame_command<'a>(args: &mut Args<'a>) -> Result<(), CommandError<'a>> {
    match args.word("alloc or free")? {
        "alloc" => {
            let count = args.optional_number("COUNT")?.unwrap_or(1);
            let align = args.optional_number("ALIGN")?.unwrap_or(FRAME_SIZE as u64);
            args.finish()?;
            let (Ok(count), Ok(align)) = (usize::try_from(count), usize::try_from(align)) else {
                return Err(CommandError::Usage("COUNT and ALIGN must fit in 32 bits"));
            };
            let result = frames().allocate_contiguous(count, align);
            match result {
                Ok(address) => {
                    println!(
                        "frame: allocated address={address:#010x} count={count} align={align:#x}"
                    );
                    Ok(())
                }
                Err(error) => {
                    println!("frame: {error}");
                    Err(CommandError::Reported)
                }
            }
        }
        "free" => {
            let address = args.number("ADDRESS")?;
            let count = args.optional_number("COUNT")?.unwrap_or(1);
            args.finish()?;
            let (Ok(address), Ok(count)) = (usize::try_from(address), usize::try_from(count))
            else {
                return Err(CommandError::Usage("ADDRESS and COUNT must fit in 32 bits"));
            };
            let result = frames().free_contiguous(address, count);
            match result {
                Ok(()) => {
                    println!("frame: freed address={address:#010x} count={count}");
                    Ok(())
                }
                Err(error) => {
                    println!("frame: {error}");
                    Err(CommandError::Reported)
                }
            }
        }
        _ => Err(CommandError::Usage("the first word is alloc or free")),
    }
}
