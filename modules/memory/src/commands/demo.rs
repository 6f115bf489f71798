//! `demo`: ShompOS's buddy-allocator demo, key by key.
//!
//! Number keys 4 to 9 allocate 2^n bytes (16 to 512) into the next empty
//! slot, lettered `a` to `h`; pressing a slot's letter frees it; `p` prints
//! the free blocks per order; Esc (or `q`) leaves and frees what is left.
//! After every step one line shows the free lists, so you can watch a block
//! split on the way down and coalesce on the way back up.
//!
//! The demo works on the heap *beneath* the slabs and the debugger (see
//! `kernel_heap`): with slabs, a 16-byte request would be an object in a
//! shared page and no block would split at all (`slabs` shows those).

use super::heap::print_free_blocks;
use crate::heap::{Heap, HeapStats};
use crate::kernel_heap::HEAP;
use core::alloc::Layout;
use core::ptr::NonNull;
use kernel::drivers::pit;
use kernel::shell::args::{Args, CommandError};
use kernel::shell::registry::Command;
use kernel::{input, print, println};

pub const DEMO_COMMAND: Command = Command {
    name: "demo",
    usage: "",
    summary: "ShompOS's demo: keys 4-9 allocate, a-h free, p prints free lists, Esc leaves",
    run: demo,
};

const SLOTS: usize = 8;
const ESCAPE: u8 = 0x1b;

fn demo<'a>(args: &mut Args<'a>) -> Result<(), CommandError<'a>> {
    args.finish()?;
    println!("demo: keys 4-9 allocate 2^key bytes into slots a-h; a-h free a slot;");
    println!("      p prints the free blocks; Esc or q leaves (freeing what is left).");
    let mut slots: [Option<(NonNull<u8>, Layout)>; SLOTS] = [None; SLOTS];
    print_free_line();
    loop {
        match input::read_byte() {
            key @ b'4'..=b'9' => allocate(&mut slots, u32::from(key - b'0')),
            key @ b'a'..=b'h' => free(&mut slots, usize::from(key - b'a')),
            b'p' => {
                let (name, stats) = heap_stats();
                print_free_blocks(name, &stats);
            }
            b'q' => break,
            ESCAPE => {
                // Arrow keys arrive as ESC [ A: give the rest a moment to
                // arrive, and ignore the whole sequence.
                pit::sleep_ticks(2);
                if input::try_read() == Some(b'[') {
                    let _ = input::try_read();
                    continue;
                }
                break;
            }
            b'\r' | b'\n' => {}
            other => println!("demo: key {:?} does nothing here", char::from(other)),
        }
    }
    let mut freed = 0;
    for (index, slot) in slots.iter_mut().enumerate() {
        if let Some((pointer, layout)) = slot.take() {
            if let Err(error) = HEAP.lock().beneath().deallocate(pointer, layout) {
                println!("demo: could not free slot {}: {error}", slot_name(index));
            }
            freed += 1;
        }
    }
    println!("demo: done, freed {freed} block(s)");
    print_free_line();
    Ok(())
}

fn allocate(slots: &mut [Option<(NonNull<u8>, Layout)>; SLOTS], scale: u32) {
    let Some(index) = slots.iter().position(Option::is_none) else {
        println!("demo: all slots are full: free one with a-h");
        return;
    };
    let layout = Layout::from_size_align(1 << scale, 1).expect("small power of two");
    let result = HEAP.lock().beneath().allocate(layout);
    match result {
        Ok(pointer) => {
            slots[index] = Some((pointer, layout));
            let usable = HEAP.lock().beneath().usable_size(pointer).unwrap_or(0);
            println!(
                "demo: slot {} <- 2^{scale} = {} bytes at {:#010x} (usable {usable})",
                slot_name(index),
                1 << scale,
                pointer.as_ptr() as usize
            );
        }
        Err(error) => println!("demo: {error}"),
    }
    print_free_line();
}

fn free(slots: &mut [Option<(NonNull<u8>, Layout)>; SLOTS], index: usize) {
    let Some((pointer, layout)) = slots[index].take() else {
        println!("demo: slot {} is empty", slot_name(index));
        return;
    };
    let result = HEAP.lock().beneath().deallocate(pointer, layout);
    match result {
        Ok(()) => println!(
            "demo: slot {} freed ({:#010x})",
            slot_name(index),
            pointer.as_ptr() as usize
        ),
        Err(error) => println!("demo: {error}"),
    }
    print_free_line();
}

fn slot_name(index: usize) -> char {
    char::from(b'a' + index as u8)
}

fn heap_stats() -> (&'static str, HeapStats) {
    let mut heap = HEAP.lock();
    let beneath = heap.beneath();
    (beneath.name(), beneath.stats())
}

/// `free: order5=1 order6=1 ...`: the non-empty free lists on one line.
fn print_free_line() {
    let (_, stats) = heap_stats();
    print!("free:");
    for (order, count) in stats.free_blocks.iter().enumerate().filter(|(_, &c)| c > 0) {
        print!(" order{order}={count}");
    }
    println!(" (used={} allocations={})", stats.used, stats.allocations);
}
