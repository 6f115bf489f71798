//! `frames` and `frame`: the physical memory map and the frame allocator.

use super::heap::{report_handle_error, take_handle};
use crate::frames::{Frame, FrameState, Owner, PhysAddr, FRAME_SIZE};
use crate::setup::{frames, memory_map};
use kernel::shell::args::{Args, CommandError};
use kernel::shell::builtins::area_type_name;
use kernel::shell::format::ByteSize;
use kernel::shell::handles::{HandleError, Handles};
use kernel::shell::print_summary;
use kernel::shell::registry::Command;
use kernel::sync::IrqMutex;
use kernel::{boot, println};

pub const FRAMES_COMMAND: Command = Command {
    name: "frames",
    usage: "",
    summary: "frame counts, the memory map, and what is reserved and why",
    run: frames_command,
};

pub const FRAME_COMMAND: Command = Command {
    name: "frame",
    usage: "alloc [COUNT [ALIGN]] | free HANDLE | owner ADDRESS",
    summary: "allocate or free frames by hand; who holds a frame",
    run: frame_command,
};

/// A run of frames `frame alloc` handed out.
#[derive(Clone, Copy)]
struct Run {
    first: Frame,
    count: usize,
}

/// Runs handed out by `frame alloc`, by handle.
static RUNS: IrqMutex<Handles<Run, 32>> = IrqMutex::new(Handles::new());

fn frames_command<'a>(args: &mut Args<'a>) -> Result<(), CommandError<'a>> {
    args.finish()?;
    let counts = frames().counts();
    let map = memory_map();
    print_summary(format_args!(
        "frames: total={} free={} used={} reserved={} frame_size={FRAME_SIZE}",
        counts.total, counts.free, counts.used, counts.reserved
    ));
    kernel::print!("Used frames by holder:");
    for owner in Owner::ALL {
        kernel::print!(" {}={}", owner.name(), counts.held_by(owner));
    }
    println!();
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
    match args.word("alloc, free or owner")? {
        "alloc" => frame_alloc(args),
        "free" => frame_free(args),
        "owner" => frame_owner(args),
        _ => Err(CommandError::Usage(
            "the first word is alloc, free or owner",
        )),
    }
}

fn frame_alloc<'a>(args: &mut Args<'a>) -> Result<(), CommandError<'a>> {
    let count = args.optional_number("COUNT")?.unwrap_or(1);
    let align = args.optional_number("ALIGN")?.unwrap_or(FRAME_SIZE as u64);
    args.finish()?;
    let (Ok(count), Ok(align)) = (usize::try_from(count), usize::try_from(align)) else {
        return Err(CommandError::Usage("COUNT and ALIGN must fit in 32 bits"));
    };
    let mut runs = RUNS.lock();
    if !runs.has_room() {
        report_handle_error("frame", "frame alloc", HandleError::Full { capacity: 32 });
        return Err(CommandError::Reported);
    }
    let result = frames().allocate_contiguous(count, align, Owner::Shell);
    match result {
        Ok(first) => {
            let id = runs
                .insert(Run { first, count })
                .expect("room checked above, with the lock held");
            print_summary(format_args!(
                "frame: allocated handle={id} address={first:#010x} count={count} align={align:#x}"
            ));
            Ok(())
        }
        Err(error) => {
            println!("frame: {error}");
            Err(CommandError::Reported)
        }
    }
}

fn frame_free<'a>(args: &mut Args<'a>) -> Result<(), CommandError<'a>> {
    let id = args.number("HANDLE")?;
    args.finish()?;
    let run = take_handle(&RUNS, id, "frame free", "frame alloc")?;
    let result = frames().free_contiguous(run.first, run.count, Owner::Shell);
    match result {
        Ok(()) => {
            print_summary(format_args!(
                "frame: freed handle={id} address={:#010x} count={}",
                run.first, run.count
            ));
            Ok(())
        }
        Err(error) => {
            println!("frame: the allocator refused handle {id}: {error}");
            Err(CommandError::Reported)
        }
    }
}

fn frame_owner<'a>(args: &mut Args<'a>) -> Result<(), CommandError<'a>> {
    let address = args.number("ADDRESS")?;
    args.finish()?;
    let frame = usize::try_from(address).map_or(None, |address| {
        let frame = Frame::containing(PhysAddr::new(address));
        frames().state(frame).map(|state| (frame, state))
    });
    let Some((frame, state)) = frame else {
        println!("frame: {address:#x} is beyond the memory the frame allocator covers");
        return Err(CommandError::Reported);
    };
    let (state_name, holder) = match state {
        FrameState::Free => ("free", "nobody"),
        FrameState::Reserved => ("reserved", "nobody: never handed out"),
        FrameState::Held(owner) => ("held", owner.name()),
    };
    print_summary(format_args!(
        "frame: address={frame:#010x} state={state_name} owner={holder}"
    ));
    if let FrameState::Held(owner) = state {
        println!("  held by {owner}");
    }
    Ok(())
}
