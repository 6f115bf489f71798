//! [`DebugHeap`]: the header in front of each block, the live list, and
//! allocating and freeing with checks. The quarantine that freed blocks
//! wait in is `quarantine.rs`; how the debugger is itself a heap is
//! `heap_traits.rs`.

use super::{DebugMode, FREED_BYTE, FRESH_BYTE, RED_ZONE, RED_ZONE_BYTE};
use super::{GuardPages, GuardedBlock, HeapBug, LiveBlock};
use crate::heap::{CallSite, HeapError, Inspect};
use core::alloc::Layout;
use core::mem::{align_of, size_of};
use core::ptr::NonNull;

pub(super) const LIVE_MAGIC: usize = 0x11FE_B10C;
pub(super) const FREED_MAGIC: usize = 0xDEAD_B10C;
pub(super) const PAGE: usize = 4096;

/// The header in front of every block's data while debugging is on.
#[repr(C)]
#[derive(Clone, Copy)]
pub(super) struct DebugHeader {
    /// `data ^ LIVE_MAGIC` or `data ^ FREED_MAGIC`.
    pub(super) check: usize,
    /// Bytes the owner asked for.
    pub(super) size: usize,
    /// `data` minus the start of the block beneath (or of the guard page).
    pub(super) offset: u32,
    /// 1 if the block sits on a guard page.
    pub(super) guarded: u32,
    pub(super) serial: usize,
    /// Live blocks: the list of live blocks. Freed ones: `next` is the
    /// quarantine's link.
    pub(super) prev: usize,
    pub(super) next: usize,
    pub(super) allocated_at: CallSite,
    pub(super) freed_at: CallSite,
}

/// Bytes kept for the header in front of each block's data (64 on i686):
/// the header, rounded up so that data stays 16-aligned.
pub const HEADER_SIZE: usize = size_of::<DebugHeader>().next_multiple_of(16);

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
    pub(super) inner: H,
    pub(super) mode: DebugMode,
    /// Live blocks: most recent first.
    pub(super) live_head: usize,
    pub(super) live_blocks: usize,
    pub(super) live_bytes: usize,
    /// Allocations so far (each block's serial number).
    pub(super) serial: usize,
    /// The quarantine: a FIFO through the freed headers' `next`.
    pub(super) quarantine_head: usize,
    pub(super) quarantine_tail: usize,
    pub(super) quarantine_blocks: usize,
    pub(super) quarantine_bytes: usize,
    pub(super) guard_pages: Option<&'static dyn GuardPages>,
    /// Put every `guard_every`-th allocation on a guard page (0: never).
    pub(super) guard_every: usize,
    pub(super) guard_next: bool,
    pub(super) reporter: Option<BugReporter>,
    /// Bugs caught, by kind (see [`HeapBug::kind`]).
    pub(super) bugs: [usize; HeapBug::KINDS],
    pub(super) last_bug: Option<HeapBug>,
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

    /// Puts the next allocation on a guard page, if it can, instead of
    /// waiting for the sample: the tests use it to catch a chosen block.
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

    pub(super) fn report(&mut self, bug: HeapBug) {
        self.bugs[bug.kind()] += 1;
        self.last_bug = Some(bug);
        if let Some(reporter) = self.reporter {
            reporter(&bug);
        }
    }

    // ---- headers: the only memory this file reads and writes ----

    pub(super) fn header(&self, data: usize) -> &DebugHeader {
        // SAFETY: every caller passes the data address of a block this heap
        // handed out and has not given back to the heap beneath (from the
        // live list or quarantine, or checked by `checked_header`); its
        // header lies just below it, 16-aligned, inside the same block.
        unsafe { &*((data - HEADER_SIZE) as *const DebugHeader) }
    }

    pub(super) fn header_mut(&mut self, data: usize) -> &mut DebugHeader {
        // SAFETY: as in `header`; `&mut self` makes it the only reference.
        unsafe { &mut *((data - HEADER_SIZE) as *mut DebugHeader) }
    }

    /// `len` bytes from `address`, inside a block this heap holds.
    pub(super) fn bytes(&self, address: usize, len: usize) -> &[u8] {
        // SAFETY: callers pass data or red-zone ranges of blocks this heap
        // holds (live or quarantined), which it may read.
        unsafe { core::slice::from_raw_parts(address as *const u8, len) }
    }

    pub(super) fn fill(&mut self, address: usize, len: usize, byte: u8) {
        // SAFETY: as in `bytes`, and the heap may write them: the owner has
        // not been given them yet, or has given them back.
        unsafe { core::ptr::write_bytes(address as *mut u8, byte, len) }
    }

    /// The header of `data` if it passes its check: `Ok(true)` for a live
    /// block, `Ok(false)` for a freed one still held here.
    pub(super) fn checked_header(&self, data: usize) -> Result<bool, HeapError> {
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

    pub(super) fn red_zone(&self) -> usize {
        if self.mode == DebugMode::Full {
            RED_ZONE
        } else {
            0
        }
    }

    /// The layout asked of the heap beneath for `layout`.
    pub(super) fn inner_layout(&self, layout: Layout) -> Result<Layout, HeapError> {
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
    pub(super) fn check_red_zone(&mut self, data: usize) -> bool {
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

    pub(super) fn allocate_debug(
        &mut self, layout: Layout, site: CallSite,
    ) -> Result<NonNull<u8>, HeapError> {
        self.serial += 1;
        let (data, offset, guarded) = match self.allocate_guarded(layout) {
            Some((data, offset)) => (data, offset, true),
            None => {
                let inner_layout = self.inner_layout(layout)?;
                let block = match self.inner.allocate(inner_layout) {
                    Err(HeapError::OutOfMemory { .. }) if self.quarantine_blocks > 0 => {
                        self.flush_quarantine();
                        self.inner.allocate(inner_layout)
                    }
                    result => result,
                };
                let block = block.map_err(|error| crate::heap::for_request(error, layout))?;
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
    /// and a page is free. Returns the data's address and its offset in the
    /// page.
    fn allocate_guarded(&mut self, layout: Layout) -> Option<(usize, usize)> {
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
        Some((data, data - page))
    }

    // ---- freeing ----

    pub(super) fn deallocate_debug(
        &mut self, data: usize, site: CallSite,
    ) -> Result<(), HeapError> {
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
}
