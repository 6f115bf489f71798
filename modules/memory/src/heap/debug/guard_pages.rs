//! Guard pages, KFENCE's idea: a sampled block is placed at the end of a
//! page whose next page is unmapped, so the first byte read or written past
//! its end faults at once, at the faulting instruction. Mapping and
//! unmapping pages is chapter 3's work; this file is only the interface
//! the debugger uses, which chapter 3 implements.

use crate::heap::CallSite;

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
