//! `heapmap`: a picture of the heap, one character per smallest block.
//!
//! ```text
//! heapmap: kind=buddy cell=32 cells=32768 blocks=12 regions=1
//! 0x00400000 HHH#h.h...h.......h...............h.......................
//! 0x00400800 h...............................................................
//!            ... 14 more rows like the one above
//! ```
//!
//! `H` starts a used block, `#` is the rest of it; `h` starts a free block,
//! `.` is the rest of it. On the VGA screen the cells are also coloured.
//! Rows that are all free (or all used) and repeat are folded into one line.

use super::scratch::ScratchVec;
use crate::frames::FrameError;
use crate::heap::{BlockInfo, Heap, Inspect};
use crate::kernel_heap::HEAP;
use kernel::console;
use kernel::println;
use kernel::screen::{Attribute, Color};
use kernel::shell::args::{Args, CommandError};
use kernel::shell::registry::Command;

pub const HEAPMAP_COMMAND: Command = Command {
    name: "heapmap",
    usage: "[BYTES_PER_CELL]",
    summary: "draw the heap: H/# used, h/. free, one cell per smallest block",
    run: heapmap,
};

const CELLS_PER_ROW: usize = 64;

/// What a cell shows, in order of importance when a cell spans several
/// blocks.
const FREE_BODY: u8 = b'.';
const FREE_HEADER: u8 = b'h';
const USED_BODY: u8 = b'#';
const USED_HEADER: u8 = b'H';

fn importance(cell: u8) -> u8 {
    match cell {
        USED_HEADER => 4,
        USED_BODY => 3,
        FREE_HEADER => 2,
        FREE_BODY => 1,
        _ => 0,
    }
}

fn heapmap<'a>(args: &mut Args<'a>) -> Result<(), CommandError<'a>> {
    let requested = args.optional_number("BYTES_PER_CELL")?;
    args.finish()?;
    let Snapshot {
        blocks,
        granule,
        kind,
        regions,
        left_out,
    } = match snapshot() {
        Ok(snapshot) => snapshot,
        Err(error) => {
            println!("heapmap: no room for a copy of the block list ({error}); nothing drawn");
            return Err(CommandError::Reported);
        }
    };
    let blocks = blocks.as_slice();
    let cell = match requested {
        None => granule,
        Some(bytes) if bytes.is_power_of_two() && bytes >= granule as u64 && bytes <= 1 << 24 => {
            bytes as usize
        }
        Some(_) => {
            return Err(CommandError::Usage(
                "BYTES_PER_CELL must be a power of two, at least the heap's smallest block",
            ))
        }
    };
    let cells = blocks
        .iter()
        .map(|block| block.size)
        .sum::<usize>()
        .div_ceil(cell);
    kernel::shell::print_summary(format_args!(
        "heapmap: kind={kind} cell={cell} cells={cells} blocks={} regions={regions}",
        blocks.len()
    ));
    println!("  H/# = used block (header/rest)   h/. = free block (header/rest)");
    let mut painter = Painter::new(cell);
    for block in blocks {
        painter.paint(block);
    }
    painter.finish();
    if left_out > 0 {
        println!("  ({left_out} blocks appeared while copying and are not drawn)");
    }
    Ok(())
}

/// The heap's blocks, copied out, with what else the picture needs.
struct Snapshot {
    blocks: ScratchVec<BlockInfo>,
    granule: usize,
    kind: &'static str,
    regions: usize,
    /// Blocks that did not fit the copy (none, unless the heap changed
    /// between counting and copying).
    left_out: usize,
}

/// Copies the block list out of the heap, into frames borrowed from the
/// frame allocator (`ScratchVec`), not into the heap: allocating from the
/// heap would change the picture (the copy's own block would be drawn) and
/// fail on a full heap. The copy is sized from the statistics first, since
/// the heap is locked while it is walked.
fn snapshot() -> Result<Snapshot, FrameError> {
    let stats = HEAP.lock().stats();
    let free: u32 = stats.free_blocks.iter().sum();
    let capacity = (stats.allocations + free as usize + 2 * stats.regions) * 2 + 16;
    let mut blocks = ScratchVec::with_capacity(capacity)?;
    let mut left_out = 0;
    let heap = HEAP.lock();
    heap.for_each_block(&mut |block| {
        if !blocks.push(block) {
            left_out += 1;
        }
    });
    Ok(Snapshot {
        blocks,
        granule: heap.granule(),
        kind: heap.name(),
        regions: heap.stats().regions,
        left_out,
    })
}

/// Turns blocks into rows of cells and prints them, folding repeats.
struct Painter {
    cell: usize,
    /// Address of the first cell of `row`, or None before the first block.
    row_start: Option<usize>,
    row: [u8; CELLS_PER_ROW],
    previous: [u8; CELLS_PER_ROW],
    repeats: usize,
    /// Address just past the last block painted (a jump means a new region).
    end: usize,
}

impl Painter {
    fn new(cell: usize) -> Self {
        Self {
            cell,
            row_start: None,
            row: [0; CELLS_PER_ROW],
            previous: [0; CELLS_PER_ROW],
            repeats: 0,
            end: 0,
        }
    }

    fn paint(&mut self, block: &BlockInfo) {
        if self.row_start.is_none() || block.start != self.end {
            self.flush_row();
            self.flush_repeats();
            println!("region at {:#010x}:", block.start);
            self.row_start = Some(block.start);
            self.previous = [0; CELLS_PER_ROW];
        }
        let (header, body) = if block.free {
            (FREE_HEADER, FREE_BODY)
        } else {
            (USED_HEADER, USED_BODY)
        };
        let mut address = block.start;
        let end = block.start + block.size;
        let mut first = true;
        while address < end {
            let row_start = self.row_start.expect("set above");
            let index = (address - row_start) / self.cell;
            if index >= CELLS_PER_ROW {
                self.flush_row();
                self.row_start = Some(row_start + CELLS_PER_ROW * self.cell);
                continue;
            }
            let shown = if first && block.header > 0 {
                header
            } else {
                body
            };
            if importance(shown) > importance(self.row[index]) {
                self.row[index] = shown;
            }
            first = false;
            // On to the next cell boundary.
            address = row_start + (index + 1) * self.cell;
        }
        self.end = end;
    }

    /// Prints the current row, or counts it if it repeats a uniform row.
    fn flush_row(&mut self) {
        let Some(row_start) = self.row_start else {
            return;
        };
        let used = self
            .row
            .iter()
            .position(|&cell| cell == 0)
            .unwrap_or(CELLS_PER_ROW);
        if used == 0 {
            return;
        }
        let uniform = self.row[..used].iter().all(|&cell| cell == self.row[0]);
        if uniform && used == CELLS_PER_ROW && self.row == self.previous {
            self.repeats += 1;
        } else {
            self.flush_repeats();
            print_row(row_start, &self.row[..used]);
            self.previous = self.row;
        }
        self.row = [0; CELLS_PER_ROW];
    }

    fn flush_repeats(&mut self) {
        if self.repeats > 0 {
            println!(
                "           ... {} more rows like the one above",
                self.repeats
            );
            self.repeats = 0;
        }
    }

    fn finish(&mut self) {
        self.flush_row();
        self.flush_repeats();
    }
}

/// One row: its address, then runs of cells in their colours.
fn print_row(address: usize, cells: &[u8]) {
    kernel::print!("{address:#010x} ");
    for run in cells.chunk_by(|a, b| a == b) {
        let text = core::str::from_utf8(run).unwrap_or("?");
        console::print_fmt_in(colour_of(run[0]), format_args!("{text}"));
    }
    println!();
}

fn colour_of(cell: u8) -> Attribute {
    match cell {
        USED_HEADER => Attribute::new(Color::Yellow, Color::Red),
        USED_BODY => Attribute::new(Color::White, Color::Red),
        FREE_HEADER => Attribute::new(Color::Yellow, Color::Green),
        _ => Attribute::new(Color::LightGreen, Color::Black),
    }
}
