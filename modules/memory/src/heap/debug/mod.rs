//! The heap debugger: catching use-after-free, overruns, double frees and
//! leaks, in the spirit of Linux's SLUB debugging, KASAN's quarantine,
//! kmemleak and KFENCE — small enough to read in one sitting.
//!
//! [`DebugHeap`] wraps any [`Heap`]. Switched off ([`DebugMode::Off`], the
//! kernel's `heapdebug=off`) every call goes straight through: one branch,
//! no bytes. Switched on, every block gets a header in front and, in
//! `full` mode, a red zone behind:
//!
//! ```text
//!   block from the heap beneath
//!   | (alignment gap) | debug header | data (what the owner asked for) | red zone |
//!                       check, size,   ^ the pointer the owner gets      16 bytes of
//!                       sites, links                                     0xCC
//! ```
//!
//! | bug | how it is caught | when |
//! |-----|------------------|------|
//! | write after free | freed data is filled with 0x6B and parked in a *quarantine* (FIFO); a changed byte is a write after free | when the block leaves quarantine, and by `heapcheck` |
//! | overrun | the red zone after the data must still be 0xCC | on free, on realloc, and by `heapcheck` |
//! | double free | the header says "freed" while the block is in quarantine | at the second free |
//! | leak | live blocks are linked through their headers, with their call site | `leaks`, `leaks mark` / `leaks since` |
//! | out of bounds, at once | a sampled block sits against an unmapped page ([`GuardPages`], chapter 3) | the faulting instruction |
//!
//! New data is filled with 0x5A, so a read of memory nobody wrote shows up
//! as `5a5a5a5a` rather than as a plausible stale value.

mod leaks;
mod report;

pub use leaks::{LeakGroup, LeakReport, LiveBlock};
pub use report::HeapBug;

use super::{BlockInfo, CallSite, Grow, Heap, HeapError, HeapStats, Inspect, Traced};
use core::alloc::Layout;
use core::mem::{align_of, size_of};
use core::ptr::NonNull;

/// Freed data is filled with this (Linux's `POISON_FREE`).
pub const FREED_BYTE: u8 = 0x6B;
/// New data is filled with this (Linux's `POISON_INUSE`).
pub const FRESH_BYTE: u8 = 0x5A;
/// Red zones are filled with this.
pub const RED_ZONE_BYTE: u8 = 0xCC;
/// Bytes of red zone after each block in `full` mode.
pub const RED_ZONE: usize = 16;
/// The quarantine holds at most this many blocks...
pub const QUARANTINE_BLOCKS: usize = 256;
/// ...and at most this many bytes of blocks.
pub const QUARANTINE_BYTES: usize = 256 * 1024;

const LIVE_MAGIC: usize = 0x11FE_B10C;
const FREED_MAGIC: usize = 0xDEAD_B10C;
const PAGE: usize = 4096;

/// How much checking the heap does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DebugMode {
    /// None: the heap beneath, untouched.
    Off,
    /// Headers with call sites, poisoning, quarantine, double-free and
    /// leak reports.
    Poison,
    /// All of `Poison`, plus red zones and (with paging) guard pages.
    Full,
}

impl DebugMode {
    pub const ALL: [DebugMode; 3] = [DebugMode::Off, DebugMode::Poison, DebugMode::Full];

    /// Parses the value of `heapdebug=` on the kernel command line.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|mode| mode.name() == text)
    }

    pub fn name(self) -> &'static str {
        match self {
            DebugMode::Off => "off",
            DebugMode::Poison => "poison",
            DebugMode::Full => "full",
        }
    }
}

/// The header in front of every block's data while debugging is on.
#[repr(C)]
#[derive(Clone, Copy)]
struct DebugHeader {
    /// `data ^ LIVE_MAGIC` or `data ^ FREED_MAGIC`.
    check: usize,
    /// Bytes the owner asked for.
    size: usize,
    /// `data` minus the start of the block beneath (or of the guard page).
    offset: u32,
    /// 1 if the block sits on a guard page.
    guarded: u32,
    serial: usize,
    /// Live blocks: the list of live blocks. Freed ones: `next` is the
    /// quarantine's link.
    prev: usize,
    next: usize,
    allocated_at: CallSite,
    freed_at: CallSite,
}

/// Bytes kept for the header in front of each block's data (64 on i686):
/// the header, rounded up so that data stays 16-aligned.
pub const HEADER_SIZE: usize = size_of::<DebugHeader>().next_multiple_of(16);

/// A block on a guard page, as chapter 3's fault handler describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuardedBlock {
    pub block: usize,
    pub size: usize,
    pub allocated_at: CallSite,
    /// Where it was freed, once it has been.
    pub freed_at: Option<CallSite>,
}

/// Pages with an unmapped page after them, for KFENCE-style sampling.
/// Chapter 3 provides them (it can unmap pages); this chapter only uses
/// them. All methods may be called with the heap locked.
pub trait GuardPages: Sync {
    /// A mapped page, followed by an unmapped one, or `None` if there is no
    /// slot free (or the page tables are busy).
    fn allocate_page(&self) -> Option<usize>;
    /// Remembers what lives on `page`, for the fault report.
    fn describe_page(&self, page: usize, block: GuardedBlock);
    /// What lives, or lived, at `address`, if it is inside a guard slot.
    fn block_at(&self, address: usize) -> Option<GuardedBlock>;
    /// Unmaps `page` (so a use after free faults too) and lets its slot be
    /// reused later.
    fn free_page(&self, page: usize);
}

/// Called with every bug the debugger catches (with the heap locked: it
/// must not allocate).
pub type BugReporter = fn(&HeapBug);

/// What [`DebugHeap::check_all`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CheckSummary {
    pub live_blocks: usize,
    pub quarantined: usize,
    /// Bugs reported by this check.
    pub bugs: usize,
}

/// A heap with a debugger in front of it.
pub struct DebugHeap<H> {
    inner: H,
    mode: DebugMode,
    /// Live blocks: most recent first.
    live_head: usize,
    live_blocks: usize,
    live_bytes: usize,
    /// Allocations so far (each block's serial number).
    serial: usize,
    /// The quarantine: a FIFO through the freed headers' `next`.
    quarantine_head: usize,
    quarantine_tail: usize,
    quarantine_blocks: usize,
    quarantine_bytes: usize,
    guard_pages: Option<&'static dyn GuardPages>,
    /// Put every `guard_every`-th allocation on a guard page (0: never).
    guard_every: usize,
    guard_next: bool,
    reporter: Option<BugReporter>,
    /// Bugs caught, by kind (see [`HeapBug::kind`]).
    bugs: [usize; HeapBug::KINDS],
    last_bug: Option<HeapBug>,
}

impl<H: Inspect> DebugHeap<H> {
    pub const fn new(inner: H, mode: DebugMode) -> Self {
        Self {
            inner,
            mode,
            live_head: 0,
            live_blocks: 0,
            live_bytes: 0,
            serial: 0,
            quarantine_head: 0,
            quarantine_tail: 0,
            quarantine_blocks: 0,
            quarantine_bytes: 0,
            guard_pages: None,
            guard_every: 0,
            guard_next: false,
            reporter: None,
            bugs: [0; HeapBug::KINDS],
            last_bug: None,
        }
    }

    pub fn beneath(&self) -> &H {
        &self.inner
    }

    pub fn beneath_mut(&mut self) -> &mut H {
        &mut self.inner
    }

    pub fn mode(&self) -> DebugMode {
        self.mode
    }

    /// Where bugs are reported (the kernel prints them).
    pub fn set_reporter(&mut self, reporter: BugReporter) {
        self.reporter = Some(reporter);
    }

    /// Bugs caught so far, and the last one.
    pub fn bugs_found(&self) -> (usize, Option<HeapBug>) {
        (self.bugs.iter().sum(), self.last_bug)
    }

    /// Bugs caught so far, by kind (indexed by [`HeapBug::kind`]).
    pub fn bugs_by_kind(&self) -> [usize; HeapBug::KINDS] {
        self.bugs
    }

    /// Gives the debugger guard pages: in `full` mode, one allocation in
    /// `every` (that fits a page) is put on one.
    pub fn set_guard_pages(&mut self, pages: &'static dyn GuardPages, every: usize) {
        self.guard_pages = Some(pages);
        self.guard_every = every;
    }

    /// Changes how often allocations are put on guard pages (0: never);
    /// returns the old setting.
    pub fn set_guard_sampling(&mut self, every: usize) -> usize {
        core::mem::replace(&mut self.guard_every, every)
    }

    /// Puts the next allocation on a guard page, if it can (for tests and
    /// the `guard` command).
    pub fn guard_next_allocation(&mut self) {
        self.guard_next = true;
    }

    /// The allocation number the next block will get (`leaks mark`).
    pub fn next_serial(&self) -> usize {
        self.serial + 1
    }

    /// Calls `visit` for every live block allocated at or after `serial`
    /// (most recent first). Nothing if debugging is off.
    pub fn for_each_live(&self, serial: usize, visit: &mut dyn FnMut(&LiveBlock)) {
        let mut data = self.live_head;
        while data != 0 {
            let header = self.header(data);
            if header.serial < serial {
                break;
            }
            visit(&LiveBlock {
                block: data,
                size: header.size,
                serial: header.serial,
                allocated_at: header.allocated_at,
            });
            data = header.next;
        }
    }

    fn report(&mut self, bug: HeapBug) {
        self.bugs[bug.kind()] += 1;
        self.last_bug = Some(bug);
        if let Some(reporter) = self.reporter {
            reporter(&bug);
        }
    }

    // ---- headers: the only memory this file reads and writes ----

    fn header(&self, data: usize) -> &DebugHeader {
        // SAFETY: every caller passes the data address of a block this heap
        // handed out and has not given back to the heap beneath (from the
        // live list or quarantine, or checked by `checked_header`); its
        // header lies just below it, 16-aligned, inside the same block.
        unsafe { &*((data - HEADER_SIZE) as *const DebugHeader) }
    }

    fn header_mut(&mut self, data: usize) -> &mut DebugHeader {
        // SAFETY: as in `header`; `&mut self` makes it the only reference.
        unsafe { &mut *((data - HEADER_SIZE) as *mut DebugHeader) }
    }

    /// `len` bytes from `address`, inside a block this heap holds.
    fn bytes(&self, address: usize, len: usize) -> &[u8] {
        // SAFETY: callers pass data or red-zone ranges of blocks this heap
        // holds (live or quarantined), which it may read.
        unsafe { core::slice::from_raw_parts(address as *const u8, len) }
    }

    fn fill(&mut self, address: usize, len: usize, byte: u8) {
        // SAFETY: as in `bytes`, and the heap may write them: the owner has
        // not been given them yet, or has given them back.
        unsafe { core::ptr::write_bytes(address as *mut u8, byte, len) }
    }

    /// The header of `data` if it passes its check: `Ok(true)` for a live
    /// block, `Ok(false)` for a freed one still held here.
    fn checked_header(&self, data: usize) -> Result<bool, HeapError> {
        if let Some(guarded) = self.guard_pages.and_then(|pages| pages.block_at(data)) {
            return match guarded.freed_at {
                _ if guarded.block != data => Err(HeapError::InvalidPointer { address: data }),
                None => Ok(true),
                Some(_) => Err(HeapError::DoubleFree { address: data }),
            };
        }
        let header_start = data.wrapping_sub(HEADER_SIZE);
        if !self.inner.owns(data) {
            return Err(HeapError::ForeignPointer { address: data });
        }
        if !self.inner.owns(header_start) || !data.is_multiple_of(16) {
            return Err(HeapError::InvalidPointer { address: data });
        }
        // SAFETY: the header's first word is inside the heap beneath
        // (checked above), which this heap may read; it is trusted only
        // if it matches.
        let check = unsafe { (header_start as *const usize).read() };
        match check ^ data {
            LIVE_MAGIC => Ok(true),
            FREED_MAGIC => Ok(false),
            _ => Err(HeapError::InvalidPointer { address: data }),
        }
    }

    // ---- layouts ----

    /// Bytes from the start of the block beneath to the data.
    fn data_offset(layout: Layout) -> usize {
        layout.align().max(HEADER_SIZE)
    }

    fn red_zone(&self) -> usize {
        if self.mode == DebugMode::Full {
            RED_ZONE
        } else {
            0
        }
    }

    /// The layout asked of the heap beneath for `layout`.
    fn inner_layout(&self, layout: Layout) -> Result<Layout, HeapError> {
        let size = Self::data_offset(layout)
            .checked_add(layout.size())
            .and_then(|size| size.checked_add(self.red_zone()));
        size.and_then(|size| Layout::from_size_align(size, layout.align().max(16)).ok())
            .ok_or(HeapError::OutOfMemory {
                size: layout.size(),
                align: layout.align(),
            })
    }

    /// Bytes of red zone after a block of `size` bytes at `data`: the fixed
    /// red zone, or on a guard page whatever is left before the page end.
    fn red_zone_after(&self, data: usize, size: usize, guarded: bool) -> usize {
        match (self.mode, guarded) {
            (DebugMode::Full, true) => (PAGE - (data + size) % PAGE) % PAGE,
            (DebugMode::Full, false) => RED_ZONE,
            _ => 0,
        }
    }

    /// Reports an overrun if the red zone after `data` was written; returns
    /// whether it was intact. "How far" is the last changed byte.
    fn check_red_zone(&mut self, data: usize) -> bool {
        let header = *self.header(data);
        let len = self.red_zone_after(data, header.size, header.guarded != 0);
        let damage = self
            .bytes(data + header.size, len)
            .iter()
            .rposition(|&byte| byte != RED_ZONE_BYTE);
        match damage {
            None => true,
            Some(last) => {
                self.report(HeapBug::Overrun {
                    block: data,
                    size: header.size,
                    by: last + 1,
                    allocated_at: header.allocated_at,
                });
                // Repaint it, so one overrun is reported once.
                self.fill(data + header.size, len, RED_ZONE_BYTE);
                false
            }
        }
    }

    // ---- allocation ----

    fn allocate_debug(&mut self, layout: Layout, site: CallSite) -> Result<NonNull<u8>, HeapError> {
        self.serial += 1;
        let (data, offset, guarded) = match self.allocate_guarded(layout) {
            Some(placed) => placed,
            None => {
                let inner_layout = self.inner_layout(layout)?;
                let block = match self.inner.allocate(inner_layout) {
                    Err(HeapError::OutOfMemory { .. }) if self.quarantine_blocks > 0 => {
                        self.flush_quarantine();
                        self.inner.allocate(inner_layout)
                    }
                    result => result,
                };
                let block = block.map_err(|error| super::for_request(error, layout))?;
                let offset = Self::data_offset(layout);
                (block.as_ptr() as usize + offset, offset, false)
            }
        };
        let serial = self.serial;
        let next = self.live_head;
        *self.header_mut(data) = DebugHeader {
            check: data ^ LIVE_MAGIC,
            size: layout.size(),
            offset: offset as u32,
            guarded: u32::from(guarded),
            serial,
            prev: 0,
            next,
            allocated_at: site,
            freed_at: CallSite::Unknown,
        };
        if next != 0 {
            self.header_mut(next).prev = data;
        }
        self.live_head = data;
        self.live_blocks += 1;
        self.live_bytes += layout.size();
        self.fill(data, layout.size(), FRESH_BYTE);
        let red = self.red_zone_after(data, layout.size(), guarded);
        self.fill(data + layout.size(), red, RED_ZONE_BYTE);
        if guarded {
            let block = GuardedBlock {
                block: data,
                size: layout.size(),
                allocated_at: site,
                freed_at: None,
            };
            let pages = self.guard_pages.expect("a guarded block has guard pages");
            pages.describe_page(data & !(PAGE - 1), block);
        }
        Ok(NonNull::new(data as *mut u8).expect("data is never at 0"))
    }

    /// Places the block at the end of a guard page, if it is sampled, fits,
    /// and a page is free. Returns (data, offset in the page, true).
    fn allocate_guarded(&mut self, layout: Layout) -> Option<(usize, usize, bool)> {
        let pages = self.guard_pages.filter(|_| self.mode == DebugMode::Full)?;
        let sampled = self.guard_next
            || (self.guard_every > 0 && self.serial.is_multiple_of(self.guard_every));
        let align = layout.align().max(align_of::<DebugHeader>());
        let fits = layout.size() + HEADER_SIZE + align <= PAGE;
        if !sampled || !fits {
            return None;
        }
        let page = pages.allocate_page()?;
        self.guard_next = false;
        // The data ends as close to the page end as its alignment (and the
        // header's) allows; the few bytes left over are a red zone.
        let data = (page + PAGE - layout.size()) & !(align - 1);
        Some((data, data - page, true))
    }

    // ---- freeing ----

    fn deallocate_debug(&mut self, data: usize, site: CallSite) -> Result<(), HeapError> {
        // A freed guarded block's page is unmapped: its record tells all.
        if let Some(guarded) = self.guard_pages.and_then(|pages| pages.block_at(data)) {
            if let (true, Some(freed_at)) = (guarded.block == data, guarded.freed_at) {
                self.report(HeapBug::DoubleFree {
                    block: data,
                    size: guarded.size,
                    allocated_at: guarded.allocated_at,
                    freed_at,
                    again_at: site,
                });
                return Err(HeapError::DoubleFree { address: data });
            }
        }
        if !self.checked_header(data)? {
            let header = *self.header(data);
            self.report(HeapBug::DoubleFree {
                block: data,
                size: header.size,
                allocated_at: header.allocated_at,
                freed_at: header.freed_at,
                again_at: site,
            });
            return Err(HeapError::DoubleFree { address: data });
        }
        self.check_red_zone(data);
        let header = *self.header(data);
        self.unlink_live(&header);
        if header.guarded != 0 {
            let pages = self.guard_pages.expect("a guarded block has guard pages");
            let page = data & !(PAGE - 1);
            let freed = GuardedBlock {
                block: data,
                size: header.size,
                allocated_at: header.allocated_at,
                freed_at: Some(site),
            };
            pages.describe_page(page, freed);
            pages.free_page(page);
            return Ok(());
        }
        let header = self.header_mut(data);
        header.check = data ^ FREED_MAGIC;
        header.freed_at = site;
        header.next = 0;
        let size = header.size;
        self.fill(data, size, FREED_BYTE);
        self.enqueue(data);
        Ok(())
    }

    fn unlink_live(&mut self, header: &DebugHeader) {
        if header.prev == 0 {
            self.live_head = header.next;
        } else {
            self.header_mut(header.prev).next = header.next;
        }
        if header.next != 0 {
            self.header_mut(header.next).prev = header.prev;
        }
        self.live_blocks -= 1;
        self.live_bytes -= header.size;
    }

    // ---- the quarantine ----

    fn enqueue(&mut self, data: usize) {
        if self.quarantine_tail == 0 {
            self.quarantine_head = data;
        } else {
            let tail = self.quarantine_tail;
            self.header_mut(tail).next = data;
        }
        self.quarantine_tail = data;
        self.quarantine_blocks += 1;
        self.quarantine_bytes += self.header(data).size;
        while self.quarantine_blocks > QUARANTINE_BLOCKS || self.quarantine_bytes > QUARANTINE_BYTES
        {
            self.evict_oldest();
        }
    }

    /// Checks the oldest quarantined block's poison and gives it back to
    /// the heap beneath.
    fn evict_oldest(&mut self) {
        let data = self.quarantine_head;
        let header = *self.header(data);
        self.check_poison(data);
        self.quarantine_head = header.next;
        if self.quarantine_head == 0 {
            self.quarantine_tail = 0;
        }
        self.quarantine_blocks -= 1;
        self.quarantine_bytes -= header.size;
        // The layout it was allocated with, as far as the heaps beneath care:
        // the size (slabs route by it); an offset above the header's means
        // the data was aligned to it.
        let offset = header.offset as usize;
        let align = if offset > HEADER_SIZE { offset } else { 16 };
        let inner_layout = Layout::from_size_align(offset + header.size + self.red_zone(), align)
            .expect("it was valid when allocated");
        // A stale header must not pass for a freed block later.
        self.header_mut(data).check = 0;
        let block = NonNull::new((data - offset) as *mut u8).expect("blocks are never at 0");
        let freed = self.inner.deallocate(block, inner_layout);
        debug_assert!(freed.is_ok(), "{freed:?}");
    }

    /// Reports a write after free if the poison of a quarantined block
    /// changed. Returns whether it was intact.
    fn check_poison(&mut self, data: usize) -> bool {
        let header = *self.header(data);
        match self
            .bytes(data, header.size)
            .iter()
            .position(|&byte| byte != FREED_BYTE)
        {
            None => true,
            Some(offset) => {
                self.report(HeapBug::WriteAfterFree {
                    block: data,
                    size: header.size,
                    offset,
                    allocated_at: header.allocated_at,
                    freed_at: header.freed_at,
                });
                // Poison it again, so one write is reported once.
                self.fill(data, header.size, FREED_BYTE);
                false
            }
        }
    }

    /// Empties the quarantine (checking every block), e.g. when memory runs
    /// out or before a test that counts free memory.
    pub fn flush_quarantine(&mut self) {
        while self.quarantine_head != 0 {
            self.evict_oldest();
        }
    }

    /// Walks every header beneath, every live block's header and red zone,
    /// and every quarantined block's poison (`heapcheck`). Reports each bug
    /// it finds; an `Err` means a header beneath is corrupt.
    pub fn check_all(&mut self) -> Result<CheckSummary, HeapError> {
        self.inner.check_integrity()?;
        let mut summary = CheckSummary::default();
        if self.mode == DebugMode::Off {
            return Ok(summary);
        }
        let (bugs_before, _) = self.bugs_found();
        let mut data = self.live_head;
        while data != 0 {
            if self.header(data).check != data ^ LIVE_MAGIC {
                return Err(HeapError::CorruptHeader {
                    address: data - HEADER_SIZE,
                });
            }
            self.check_red_zone(data);
            summary.live_blocks += 1;
            data = self.header(data).next;
        }
        let mut data = self.quarantine_head;
        while data != 0 {
            if self.header(data).check != data ^ FREED_MAGIC {
                return Err(HeapError::CorruptHeader {
                    address: data - HEADER_SIZE,
                });
            }
            self.check_poison(data);
            summary.quarantined += 1;
            data = self.header(data).next;
        }
        summary.bugs = self.bugs_found().0 - bugs_before;
        Ok(summary)
    }
}

/// The most checking: what the host tests use.
impl<H: Inspect + Default> Default for DebugHeap<H> {
    fn default() -> Self {
        Self::new(H::default(), DebugMode::Full)
    }
}

impl<H: Inspect> Heap for DebugHeap<H> {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    unsafe fn add_region(&mut self, start: usize, size: usize) -> Result<(), HeapError> {
        // SAFETY: the caller's promise is passed on unchanged.
        unsafe { self.inner.add_region(start, size) }
    }

    fn allocate(&mut self, layout: Layout) -> Result<NonNull<u8>, HeapError> {
        self.allocate_at(layout, CallSite::Unknown)
    }

    fn deallocate(&mut self, pointer: NonNull<u8>, layout: Layout) -> Result<(), HeapError> {
        self.deallocate_at(pointer, layout, CallSite::Unknown)
    }

    fn reallocate(
        &mut self,
        pointer: NonNull<u8>,
        layout: Layout,
        new_size: usize,
    ) -> Result<NonNull<u8>, HeapError> {
        self.reallocate_at(pointer, layout, new_size, CallSite::Unknown)
    }

    fn usable_size(&self, pointer: NonNull<u8>) -> Result<usize, HeapError> {
        if self.mode == DebugMode::Off {
            return self.inner.usable_size(pointer);
        }
        let data = pointer.as_ptr() as usize;
        match self.checked_header(data)? {
            true => Ok(self.header(data).size),
            false => Err(HeapError::DoubleFree { address: data }),
        }
    }

    /// The heap beneath's figures (headers, red zones and quarantined
    /// blocks count as used), with the owners' blocks and bytes.
    fn stats(&self) -> HeapStats {
        let mut stats = self.inner.stats();
        if self.mode != DebugMode::Off {
            stats.allocations = self.live_blocks;
            stats.requested = self.live_bytes;
        }
        stats
    }
}

impl<H: Inspect> Inspect for DebugHeap<H> {
    fn for_each_block(&self, visit: &mut dyn FnMut(BlockInfo)) {
        self.inner.for_each_block(visit)
    }

    fn granule(&self) -> usize {
        self.inner.granule()
    }

    fn owns(&self, address: usize) -> bool {
        self.inner.owns(address)
            || self
                .guard_pages
                .is_some_and(|pages| pages.block_at(address).is_some())
    }

    fn check_integrity(&self) -> Result<(), HeapError> {
        self.inner.check_integrity()
    }

    fn page_block(&self) -> Layout {
        self.inner.page_block()
    }
}

impl<H: Inspect + Grow> Grow for DebugHeap<H> {
    fn growth_for(&self, layout: Layout) -> Option<usize> {
        if self.mode == DebugMode::Off {
            return self.inner.growth_for(layout);
        }
        self.inner.growth_for(self.inner_layout(layout).ok()?)
    }

    unsafe fn extend_top(&mut self, bytes: usize) -> Result<(), HeapError> {
        // SAFETY: the caller's promise is passed on unchanged.
        unsafe { self.inner.extend_top(bytes) }
    }
}

impl<H: Inspect> Traced for DebugHeap<H> {
    fn allocate_at(&mut self, layout: Layout, site: CallSite) -> Result<NonNull<u8>, HeapError> {
        if self.mode == DebugMode::Off {
            return self.inner.allocate(layout);
        }
        super::check_alignment(layout)?;
        self.allocate_debug(layout, site)
    }

    fn deallocate_at(
        &mut self,
        pointer: NonNull<u8>,
        layout: Layout,
        site: CallSite,
    ) -> Result<(), HeapError> {
        if self.mode == DebugMode::Off {
            return self.inner.deallocate(pointer, layout);
        }
        self.deallocate_debug(pointer.as_ptr() as usize, site)
    }

    /// With debugging on, a block always moves: a stale pointer to the old
    /// place then lands in quarantine, where it is caught.
    fn reallocate_at(
        &mut self,
        pointer: NonNull<u8>,
        layout: Layout,
        new_size: usize,
        site: CallSite,
    ) -> Result<NonNull<u8>, HeapError> {
        if self.mode == DebugMode::Off {
            return self.inner.reallocate(pointer, layout, new_size);
        }
        let data = pointer.as_ptr() as usize;
        if !self.checked_header(data)? {
            return Err(HeapError::DoubleFree { address: data });
        }
        let new_layout = Layout::from_size_align(new_size, layout.align()).map_err(|_| {
            HeapError::OutOfMemory {
                size: new_size,
                align: layout.align(),
            }
        })?;
        let moved = self.allocate_debug(new_layout, site)?;
        let keep = self.header(data).size.min(new_size);
        // SAFETY: both blocks are live blocks of this heap, at least `keep`
        // bytes long, and distinct.
        unsafe { core::ptr::copy_nonoverlapping(pointer.as_ptr(), moved.as_ptr(), keep) };
        self.deallocate_debug(data, site)?;
        Ok(moved)
    }
}

#[cfg(test)]
mod tests;
