//! Running one program, from `run NAME` to its exit status.
//!
//! ```text
//!  run(name)
//!    load: check the ELF file, copy its segments into a new address space
//!    map the top page of the stack; copy the arguments there
//!    CR3 <- the program's directory
//!    ring3::enter  ............ the program runs; system calls, faults,
//!                               interrupts come and go ...
//!      <- returns the exit status, by ring3::leave, from one of:
//!           exit(status)          the program asked        -> status
//!           a fault in ring 3     user_faults.rs           -> 139
//!           Ctrl-C                user_faults.rs           -> 130
//!    CR3 <- the kernel's directory
//!    tear the address space down: every frame back; settle the promise
//!    -> Outcome { pid, status, reason, faults, frames, ... }
//! ```
//!
//! One program runs at a time (a scheduler is a later chapter), so the
//! running program is one static, [`CURRENT`].
//!
//! **The lazy heap.** `sbrk` moves the break and maps nothing. The pages
//! between the image and the break are *promised*: the frames for them are
//! counted as taken (chapter 3's `promise`, shared with the kernel heap),
//! so a first touch can always be served. A first touch below the break
//! maps a zeroed frame and settles one page of the promise; a touch above
//! it ends the program. The stack's pages are mapped on first touch too,
//! and promised when the program starts. (The program's page tables are
//! not promised: a table is taken when its first page is mapped. The
//! chapter's exercises ask what that costs and how to close the gap.)

use crate::abi::{Errno, KILLED_BY_FAULT};
use crate::elf::Segment;
use crate::heap_break::{HeapBreak, Pages};
use crate::loader::{self, LoadError};
use crate::programs;
use crate::ring3::{self, UserEntry};
use crate::user_layout::{UserPart, PAGE_SIZE, STACK_BOTTOM, STACK_TOP};
use crate::user_pointer::{self, Access, UserMemory};
use crate::user_space::UserSpace;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use paging::address::{Page, VirtAddr};
use paging::growing_heap;
use paging::kernel_space;
use paging::memory::frames::Owner;
use paging::memory::kernel::drivers::pit;
use paging::memory::kernel::sync::IrqMutex;
use paging::memory::kernel::{input, interrupts};
use paging::memory::setup;
use x86::controlregs;

/// `Running::fault_in`'s refusal when no frame was free.
pub const NO_FRAME: &str = "no free frame for the page";

/// The stack's pages besides the top one (mapped at the start): promised
/// when the program starts, so that its stack can always grow.
const STACK_PROMISE: usize = ((STACK_TOP - STACK_BOTTOM) / PAGE_SIZE) as usize - 1;

/// The program that is running, if one is.
pub struct Running {
    pub pid: u32,
    pub name: String,
    pub space: UserSpace,
    pub segments: Vec<Segment>,
    /// Its break, and the frames promised to its heap.
    pub heap: HeapBreak,
    /// Stack pages promised and not touched yet.
    pub stack_promised: usize,
    /// Pages mapped on first touch (heap and stack).
    pub faults: u32,
    /// The most frames the program held at once.
    pub peak_frames: usize,
}

/// The kernel's side of moving a break: chapter 3's promise, and the
/// program's own page tables.
struct KernelPages<'a>(&'a mut UserSpace);

impl Pages for KernelPages<'_> {
    fn promise(&mut self, count: usize) -> bool {
        growing_heap::promise(count)
    }
    fn settle(&mut self, count: usize) {
        growing_heap::settle(count);
    }
    fn release(&mut self, page: u32) -> bool {
        self.0.unmap(Page::containing(VirtAddr::new(page as usize)))
    }
}

impl Running {
    /// What the pointer checks need to know.
    pub fn memory(&self) -> UserMemory<'_> {
        UserMemory {
            segments: &self.segments,
            image_end: self.heap.image_end(),
            brk: self.heap.brk(),
        }
    }

    /// Which part of the user region `address` is in.
    pub fn part_of(&self, address: u32) -> UserPart {
        UserPart::of(address, self.heap.image_end(), self.heap.brk())
    }

    /// Maps the page of `address` if it is a heap or stack page not yet
    /// mapped: a demand fault. `Ok(false)` if it was mapped already.
    pub fn fault_in(&mut self, address: u32) -> Result<bool, &'static str> {
        let part = self.part_of(address);
        if !part.is_demand_paged() {
            return Err(part.describe());
        }
        if self.space.translate(address).is_some() {
            return Ok(false);
        }
        let page = Page::containing(VirtAddr::new(address as usize));
        self.space.map_zeroed(page, true).map_err(|_| NO_FRAME)?;
        if part == UserPart::Heap {
            self.heap.touched(&mut KernelPages(&mut self.space));
        } else if self.stack_promised > 0 {
            self.stack_promised -= 1;
            growing_heap::settle(1);
        }
        self.faults += 1;
        self.peak_frames = self.peak_frames.max(self.space.frames());
        Ok(true)
    }

    /// Checks `length` bytes at `address` for `access` and maps the heap
    /// and stack pages of the range that are not mapped yet, so that the
    /// copy finds them present.
    pub fn prepare(&mut self, address: u32, length: u32, access: Access) -> Result<(), Errno> {
        let range = user_pointer::check(address, length, access, &self.memory())?;
        let mut page = range.start - range.start % PAGE_SIZE;
        while page < range.end {
            if self.part_of(page).is_demand_paged() {
                self.fault_in(page).map_err(|_| Errno::OutOfMemory)?;
            }
            page += PAGE_SIZE;
        }
        Ok(())
    }

    /// `sbrk(increment)`: moves the break; returns the old one.
    pub fn sbrk(&mut self, increment: i32) -> Result<u32, Errno> {
        self.heap
            .move_by(increment, &mut KernelPages(&mut self.space))
    }
}

/// The running program.
pub static CURRENT: IrqMutex<Option<Running>> = IrqMutex::new(None);

/// A program is running (in ring 3, or in one of its system calls): read
/// by the input filter, which must not take locks.
pub static RUNNING: AtomicBool = AtomicBool::new(false);

/// Ctrl-C arrived while a program ran, and has not been acted on yet
/// (`user_faults.rs`). Cleared when a program starts, so that a Ctrl-C
/// that came too late for the last program does not end the next.
pub static CTRL_C_PENDING: AtomicBool = AtomicBool::new(false);

static NEXT_PID: AtomicU32 = AtomicU32::new(1);

/// Why a program stopped, when the kernel stopped it (set before
/// `ring3::leave`, read after `enter` returns).
static KILLED: IrqMutex<Option<Killed>> = IrqMutex::new(None);

/// How a program ended, besides its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Killed {
    /// An exception in ring 3 (vector, faulting address for #PF).
    Fault { vector: u32, address: u32 },
    /// Ctrl-C.
    Interrupted,
}

impl fmt::Display for Killed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Killed::Fault {
                vector: 14,
                address,
            } => {
                write!(f, "page fault at {address:#010x}")
            }
            Killed::Fault { vector, .. } => write!(
                f,
                "{}",
                paging::memory::kernel::cpu::exceptions::EXCEPTIONS[vector as usize & 31].name
            ),
            Killed::Interrupted => write!(f, "Ctrl-C"),
        }
    }
}

/// What `run` reports.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub pid: u32,
    pub status: i32,
    pub killed: Option<Killed>,
    /// Pages mapped on first touch.
    pub faults: u32,
    /// The most frames the program held at once (pages and tables).
    pub frames: usize,
    /// Frames given back at the end (all of them, with the directory).
    pub freed: usize,
    pub elapsed_ms: u64,
}

/// Why a program could not start.
#[derive(Debug)]
pub enum RunError {
    NoSuchProgram,
    Load(LoadError),
    NoMemory(&'static str),
    AlreadyRunning,
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::NoSuchProgram => write!(f, "no such program (`programs` lists them)"),
            RunError::Load(error) => write!(f, "{error}"),
            RunError::NoMemory(what) => write!(f, "no memory for {what}"),
            RunError::AlreadyRunning => write!(f, "a program is running already"),
        }
    }
}

/// Ends the running program with `status` (from a trap taken in ring 3).
pub fn end(status: i32, killed: Option<Killed>) -> ! {
    *KILLED.lock() = killed;
    ring3::leave(status)
}

/// Ends the running program because of the exception in `vector`.
pub fn kill_for_fault(vector: u32, address: u32) -> ! {
    end(KILLED_BY_FAULT, Some(Killed::Fault { vector, address }))
}

/// Runs the program `name` with the argument text `args` to its end.
pub fn run(name: &str, args: &str) -> Result<Outcome, RunError> {
    let file = programs::find(name).ok_or(RunError::NoSuchProgram)?;
    if CURRENT.lock().is_some() {
        return Err(RunError::AlreadyRunning);
    }
    let started = pit::uptime_ms();
    let interrupts_were_on = interrupts::are_enabled();
    let loader::Loaded { mut space, program } = loader::load(file.bytes).map_err(RunError::Load)?;
    // The arguments go at the top of the stack, which is mapped now.
    let top_page = Page::containing(VirtAddr::new((STACK_TOP - PAGE_SIZE) as usize));
    let stack_frame = match space.map_zeroed(top_page, true) {
        Ok(frame) => frame,
        Err(_) => {
            space.tear_down();
            return Err(RunError::NoMemory("the stack"));
        }
    };
    let args = &args.as_bytes()[..args.len().min(256)];
    let args_at = STACK_TOP - (args.len() as u32 + 1).next_multiple_of(16);
    let offset = (args_at - (STACK_TOP - PAGE_SIZE)) as usize;
    // SAFETY: the stack's top page was just mapped to `stack_frame`; the
    // arguments (at most 256 bytes) fit in its last part; the frame is
    // reached through the identity map.
    unsafe {
        core::ptr::copy_nonoverlapping(
            args.as_ptr(),
            (stack_frame.start().as_usize() + offset) as *mut u8,
            args.len(),
        )
    };
    let image_end = program.end();
    if !growing_heap::promise(STACK_PROMISE) {
        space.tear_down();
        return Err(RunError::NoMemory("the stack"));
    }
    let pid = NEXT_PID.fetch_add(1, Ordering::Relaxed);
    let directory = space.directory();
    let frames = space.frames();
    *CURRENT.lock() = Some(Running {
        pid,
        name: String::from(name),
        space,
        segments: program.segments().to_vec(),
        heap: HeapBreak::new(image_end),
        stack_promised: STACK_PROMISE,
        faults: 0,
        peak_frames: frames,
    });
    *KILLED.lock() = None;
    let (cs, ds) = ring3::selectors();
    let entry = UserEntry {
        eip: program.entry,
        esp: args_at - 16,
        eax: args_at,
        ebx: args.len() as u32,
        cs,
        ds,
    };
    let kernel = kernel_space::active_directory();
    // SAFETY: the program's directory holds every kernel mapping (copied
    // from the kernel's), so the code running now stays mapped across the
    // switch, and back.
    unsafe { controlregs::cr3_write(directory.start().as_usize() as u64) };
    CTRL_C_PENDING.store(false, Ordering::Relaxed);
    RUNNING.store(true, Ordering::Relaxed);
    let status = ring3::enter(&entry);
    RUNNING.store(false, Ordering::Relaxed);
    // SAFETY: as above: back to the kernel's own directory.
    unsafe { controlregs::cr3_write(kernel.start().as_usize() as u64) };
    let mut running = CURRENT.lock().take().expect("the program that ran");
    let killed = KILLED.lock().take();
    running.heap.end(&mut KernelPages(&mut running.space));
    growing_heap::settle(running.stack_promised);
    let freed = running.space.tear_down();
    if killed == Some(Killed::Interrupted) {
        // What was typed before Ctrl-C was meant for the program: it must
        // not reach the shell as a command.
        while input::try_read().is_some() {}
    }
    // A program ends inside a trap, with interrupts off.
    interrupts::restore(interrupts_were_on);
    Ok(Outcome {
        pid,
        status,
        killed,
        faults: running.faults,
        frames: running.peak_frames,
        freed,
        elapsed_ms: pit::uptime_ms() - started,
    })
}

/// The frames held for programs now: their pages and all page tables
/// (the kernel's tables do not change while a program runs: their ranges
/// were made at boot). `run` compares it before and after a program.
pub fn program_frames() -> usize {
    let counts = setup::frames().counts();
    counts.held_by(Owner::User) + counts.held_by(Owner::PageTable)
}
