//! `demo`: ShompOS's buddy-allocator demo, on ShompOS's keys (ShompOS is
//! the teaching OS this chapter grew from: see `docs/sources.md`).
//!
//! Nine slots, one per number key, as in ShompOS's `kernel.c`:
//!
//! | key | does |
//! |-----|------|
//! | `1` .. `9` | allocate into slot 1 .. 9 (a full slot is refused) |
//! | `a q w e r t y u i` | free slot 1 .. 9 |
//! | `p` | print the free blocks per order |
//! | Esc, Ctrl-C | leave, freeing every slot still held |
//!
//! The requests are chosen from the buddy heap's own constants, so that each
//! key shows one thing. Keys 4 to 9 ask for the *smallest* request that needs
//! a block one order bigger than the key before: one byte more than the
//! order below can hold. So `4` needs order MIN_ORDER+1, `5` MIN_ORDER+2, ...
//! and on a fresh heap each key splits off exactly one more order. Keys 1 to
//! 3 ask for 1 byte, half the smallest block's payload and all of it: three
//! sizes, one smallest block each, since a block cannot be smaller.
//!
//! ShompOS stored a new block over a full slot and lost the old one (a leak);
//! here a full slot says what it holds and allocates nothing. After every
//! step one line shows the free lists, so you can watch a block split on the
//! way down and coalesce on the way back up.
//!
//! The demo works on the heap *beneath* the slabs and the debugger (see
//! `kernel_heap`): with slabs, a 17-byte request would be an object in a
//! shared page and no block would split at all (`slabs` shows those). With
//! `heap=pool` or `heap=bump` it asks for the same sizes; those heaps have
//! no orders, so it shows only the addresses.

use super::heap::print_free_blocks;
use crate::heap::buddy::MIN_ORDER;
use crate::heap::{AnyHeap, BuddyHeap, Heap, HeapKind, HeapStats};
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
    summary: "ShompOS's demo: 1-9 allocate, aqwertyui free",
    run: demo,
};

/// One slot per number key.
const SLOTS: usize = 9;
/// The key that frees each slot: `a` frees slot 1, `q` slot 2, ...
const FREE_KEYS: [u8; SLOTS] = *b"aqwertyui";
const ESCAPE: u8 = 0x1b;
const CTRL_C: u8 = 0x03;

/// A block the demo holds: where it is and the layout it was asked with
/// (which freeing it needs again).
type Slot = Option<(NonNull<u8>, Layout)>;

/// The bytes key `key` (1 to 9) asks for. See the module comment.
fn request_for_key(key: usize) -> usize {
    let smallest_payload = BuddyHeap::largest_request_of_order(MIN_ORDER);
    match key {
        1 => 1,
        2 => smallest_payload / 2,
        3 => smallest_payload,
        // Key 4 shows order MIN_ORDER + 1, key 9 order MIN_ORDER + 6.
        _ => BuddyHeap::smallest_request_of_order(MIN_ORDER + key as u32 - 3),
    }
}

fn demo<'a>(args: &mut Args<'a>) -> Result<(), CommandError<'a>> {
    args.finish()?;
    print_intro();
    let mut slots: [Slot; SLOTS] = [None; SLOTS];
    print_free_line();
    loop {
        match input::read_byte() {
            key @ b'1'..=b'9' => allocate(&mut slots, usize::from(key - b'0')),
            b'p' => {
                let (name, stats) = heap_stats();
                print_free_blocks(name, &stats);
            }
            CTRL_C => break,
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
            other => match FREE_KEYS.iter().position(|&key| key == other) {
                Some(index) => free(&mut slots, index + 1),
                None => println!("demo: key {:?} does nothing here", char::from(other)),
            },
        }
    }
    let mut freed = 0;
    for slot in 1..=SLOTS {
        if let Some((pointer, layout)) = slots[slot - 1].take() {
            if let Err(error) = HEAP.lock().base_mut().deallocate(pointer, layout) {
                println!("demo: could not free slot {slot}: {error}");
            }
            freed += 1;
        }
    }
    println!("demo: done, freed {freed} block(s)");
    print_free_line();
    Ok(())
}

/// The keys, and what each asks for (computed, not written down, so the
/// list stays true if the header size changes).
fn print_intro() {
    println!("demo: 1-9 allocate into slot 1-9, a q w e r t y u i free slot 1-9,");
    println!("      p prints the free blocks, Esc or Ctrl-C leaves (freeing all).");
    print!("demo: requests in bytes:");
    for key in 1..=SLOTS {
        print!(" {key}={}", request_for_key(key));
    }
    println!();
    let kind = HEAP.lock().kind();
    if kind != HeapKind::Buddy {
        println!(
            "demo: the {} heap has no orders: the keys ask for the same sizes,",
            kind.name()
        );
        println!("      and orderK below counts free blocks of 2^K bytes or more.");
    }
}

fn allocate(slots: &mut [Slot; SLOTS], slot: usize) {
    if let Some((pointer, layout)) = slots[slot - 1] {
        println!(
            "demo: slot {slot} is full (size {} at {:#010x}): free it with '{}' first",
            layout.size(),
            pointer.as_ptr() as usize,
            char::from(FREE_KEYS[slot - 1])
        );
        print_free_line();
        return;
    }
    let size = request_for_key(slot);
    let layout = Layout::from_size_align(size, 1).expect("a small size");
    // One lock for the allocation and the questions about it; print after.
    let result = {
        let mut heap = HEAP.lock();
        let beneath = heap.base_mut();
        beneath.allocate(layout).map(|pointer| {
            let usable = beneath.usable_size(pointer).unwrap_or(0);
            let order = match &*beneath {
                AnyHeap::Buddy(buddy) => buddy.order_of(pointer).ok(),
                _ => None,
            };
            (pointer, usable, order)
        })
    };
    match result {
        Ok((pointer, usable, order)) => {
            slots[slot - 1] = Some((pointer, layout));
            print!("demo: slot {slot} <- size {size}");
            if let Some(order) = order {
                print!(": order {order} ({}-byte block)", 1usize << order);
            }
            println!(" at {:#010x}, usable {usable}", pointer.as_ptr() as usize);
        }
        Err(error) => println!("demo: slot {slot}: {error}"),
    }
    print_free_line();
}

fn free(slots: &mut [Slot; SLOTS], slot: usize) {
    let Some((pointer, layout)) = slots[slot - 1].take() else {
        println!("demo: slot {slot} is empty");
        return;
    };
    let result = HEAP.lock().base_mut().deallocate(pointer, layout);
    match result {
        Ok(()) => println!(
            "demo: slot {slot} freed ({:#010x})",
            pointer.as_ptr() as usize
        ),
        Err(error) => println!("demo: slot {slot}: {error}"),
    }
    print_free_line();
}

fn heap_stats() -> (&'static str, HeapStats) {
    let mut heap = HEAP.lock();
    let beneath = heap.base_mut();
    (beneath.name(), beneath.stats())
}

/// `free: order5=1 order6=1 ...`: the non-empty free lists on one line.
fn print_free_line() {
    use core::fmt::Write;
    let (_, stats) = heap_stats();
    let mut line = kernel::shell::format::FixedText::<512>::new();
    let _ = line.write_str("free:");
    for (order, count) in stats.free_blocks.iter().enumerate().filter(|(_, &c)| c > 0) {
        let _ = write!(line, " order{order}={count}");
    }
    let _ = write!(
        line,
        " (used={} allocations={})",
        stats.used, stats.allocations
    );
    // Wrapped between entries, so a long list stays readable on the screen.
    kernel::shell::print_summary(format_args!("{}", line.as_str()));
}
