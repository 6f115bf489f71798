//! `heap`, `alloc` and `free`: the kernel heap by hand.

use crate::heap::{Heap, HeapError, HeapStats, Inspect, SIZE_CLASSES};
use crate::kernel_heap::{print_summary, HEAP};
use core::alloc::Layout;
use core::ptr::NonNull;
use kernel::println;
use kernel::shell::args::{Args, CommandError};
use kernel::shell::format::ByteSize;
use kernel::shell::handles::{HandleError, Handles};
use kernel::shell::registry::Command;
use kernel::sync::IrqMutex;

pub const HEAP_COMMAND: Command = Command {
    name: "heap",
    usage: "[check]",
    summary: "heap statistics and free blocks per size; 'check' walks every header",
    run: heap,
};

pub const ALLOC_COMMAND: Command = Command {
    name: "alloc",
    usage: "SIZE [ALIGN]",
    summary: "allocate SIZE bytes from the kernel heap; prints a handle for free",
    run: alloc,
};

pub const FREE_COMMAND: Command = Command {
    name: "free",
    usage: "HANDLE",
    summary: "free a block that alloc handed out",
    run: free,
};

fn heap<'a>(args: &mut Args<'a>) -> Result<(), CommandError<'a>> {
    let check = match args.next_word() {
        None => false,
        Some("check") => true,
        Some(_) => return Err(CommandError::Usage("the only option is 'check'")),
    };
    args.finish()?;
    let (name, fit, stats, integrity) = {
        let heap = HEAP.lock();
        let integrity = check.then(|| heap.check_integrity());
        (heap.name(), heap.fit(), heap.stats(), integrity)
    };
    print_summary(name, fit, &stats);
    print_free_blocks(name, &stats);
    match integrity {
        None => Ok(()),
        Some(Ok(())) if name == "bump" => {
            println!("check: nothing to walk (a bump heap keeps no block list)");
            Ok(())
        }
        Some(Ok(())) => {
            println!("check: every header and free list is consistent");
            Ok(())
        }
        Some(Err(error)) => {
            println!("heap: check FAILED: {error}");
            Err(CommandError::Reported)
        }
    }
}

/// The free blocks by size (ShompOS's `p`): for the buddy heap, exactly one
/// line per order.
pub fn print_free_blocks(name: &str, stats: &HeapStats) {
    kernel::shell::print_summary(format_args!(
        "Free blocks by size ({} heap, {} regions, {} of {} free, {} requested in {} live):",
        name,
        stats.regions,
        ByteSize(stats.free as u64),
        ByteSize(stats.total as u64),
        ByteSize(stats.requested as u64),
        stats.allocations
    ));
    let mut any = false;
    for class in 0..SIZE_CLASSES {
        let count = stats.free_blocks[class];
        if count > 0 {
            any = true;
            let exact = if name == "buddy" { "" } else { "+" };
            println!(
                "  order {class:>2} ({}{exact}): {count}",
                ByteSize(1u64 << class)
            );
        }
    }
    if !any {
        println!("  (none: the heap is full)");
    }
}

/// A block `alloc` handed out.
#[derive(Clone, Copy)]
struct Block {
    address: usize,
    layout: Layout,
}

/// Blocks handed out by `alloc`, by handle.
static BLOCKS: IrqMutex<Handles<Block, 32>> = IrqMutex::new(Handles::new());

fn alloc<'a>(args: &mut Args<'a>) -> Result<(), CommandError<'a>> {
    let size = args.number("SIZE")?;
    let align = args.optional_number("ALIGN")?.unwrap_or(1);
    args.finish()?;
    if !align.is_power_of_two() || align > crate::heap::MAX_ALIGN as u64 {
        return Err(CommandError::Usage(
            "ALIGN must be a power of two up to 4096",
        ));
    }
    let mut blocks = BLOCKS.lock();
    if !blocks.has_room() {
        return Err(CommandError::Failed(
            "all 32 handles are in use: free one first",
        ));
    }
    let layout = usize::try_from(size)
        .ok()
        .and_then(|size| Layout::from_size_align(size, align as usize).ok());
    // Too big to even describe is the same answer as too big to find.
    let result = layout.map_or(
        Err(HeapError::OutOfMemory { size: 0, align: 0 }),
        |layout| HEAP.allocate(layout),
    );
    let pointer = match result {
        Ok(pointer) => pointer,
        Err(HeapError::OutOfMemory { .. }) => {
            println!("alloc: out of memory: no free block for {size} bytes aligned to {align}");
            return Err(CommandError::Reported);
        }
        Err(error) => {
            println!("alloc: {error}");
            return Err(CommandError::Reported);
        }
    };
    let layout = layout.expect("allocated, so the layout exists");
    let address = pointer.as_ptr() as usize;
    let id = blocks
        .insert(Block { address, layout })
        .expect("room checked above, with the lock held");
    let usable = HEAP.usable_size(pointer).unwrap_or(0);
    kernel::shell::print_summary(format_args!(
        "alloc: handle={id} address={address:#010x} size={size} usable={usable} align={align}"
    ));
    Ok(())
}

fn free<'a>(args: &mut Args<'a>) -> Result<(), CommandError<'a>> {
    let id = args.number("HANDLE")?;
    args.finish()?;
    let block = take_handle(&BLOCKS, id, "free", "alloc")?;
    let pointer = NonNull::new(block.address as *mut u8).expect("heap blocks are never at 0");
    let result = HEAP.deallocate(pointer, block.layout);
    match result {
        Ok(()) => {
            kernel::shell::print_summary(format_args!(
                "free: handle={id} address={:#010x} size={}",
                block.address,
                block.layout.size()
            ));
            Ok(())
        }
        Err(error) => {
            println!("free: the heap refused handle {id}: {error}");
            Err(CommandError::Reported)
        }
    }
}

/// Takes handle `id` out of `handles` for `command`; if it cannot, says why
/// (`giver` is the command that hands such handles out).
pub fn take_handle<'a, T: Copy, const N: usize>(
    handles: &IrqMutex<Handles<T, N>>, id: u64, command: &str, giver: &str,
) -> Result<T, CommandError<'a>> {
    let taken = handles.lock().take(id);
    taken.map_err(|error| {
        report_handle_error(command, giver, error);
        CommandError::Reported
    })
}

/// Says why `command` refused a handle that `giver` should have printed.
pub fn report_handle_error(command: &str, giver: &str, error: HandleError) {
    match error {
        HandleError::AlreadyFreed { id } => println!(
            "{command}: handle {id} was already freed (a second free is refused; nothing changed)"
        ),
        HandleError::Unknown { id } => println!(
            "{command}: no handle {id} ({giver} prints the handles it hands out; \
             {command} takes only those, never an address)"
        ),
        HandleError::Full { capacity } => {
            println!("{command}: all {capacity} handles are in use: free one first")
        }
    }
}
