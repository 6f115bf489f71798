//! The quarantine, KASAN's idea: a freed block is not given back to the
//! heap beneath at once. Its data is filled with [`FREED_BYTE`] and it
//! waits in a FIFO; when it leaves, a changed byte means someone wrote
//! to it after freeing it.

use super::debug_heap::{FREED_MAGIC, LIVE_MAGIC};
use super::{CheckSummary, DebugHeap, DebugMode, HeapBug, HEADER_SIZE};
use super::{FREED_BYTE, QUARANTINE_BLOCKS, QUARANTINE_BYTES};
use crate::heap::{HeapError, Inspect};
use core::alloc::Layout;
use core::ptr::NonNull;

impl<H: Inspect> DebugHeap<H> {
    pub(super) fn enqueue(&mut self, data: usize) {
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
