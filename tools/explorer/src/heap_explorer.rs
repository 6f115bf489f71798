//! The heap explorer's side in WebAssembly: one heap stack, as the kernel
//! builds it (`SlabHeap<AnyHeap>`: the heap `heap=` picks, with `slab=`'s
//! slabs in front or not), over an arena of wasm memory, and the blocks the
//! page has allocated from it, by handle.
//!
//! Nothing here decides where a block goes or how blocks split and merge:
//! every allocation, free and resize is a call into chapter 2's heap code.
//! This file keeps the handles (as the `alloc` and `free` commands do) and
//! turns what the heap reports (`stats`, `for_each_block`, the slab
//! classes) into numbers for the page.

use crate::out::Out;
use core::alloc::Layout;
use core::ptr::NonNull;
use memory::heap::buddy::MIN_ORDER;
use memory::heap::slab::ClassInfo;
use memory::heap::{
    AnyHeap, BlockInfo, BuddyHeap, Fit, Heap, HeapError, HeapKind, Inspect, SlabHeap, MAX_ALIGN,
    SIZE_CLASSES,
};

/// The largest arena the page may ask for.
pub const MAX_ARENA: usize = 256 << 20;
/// The smallest: one page.
pub const MIN_ARENA: usize = MAX_ALIGN;

/// What [`HeapExplorer::snapshot`] writes first: this many words of figures,
/// then [`SIZE_CLASSES`] free-block counts, then the blocks, the handles
/// and the slab classes (see `snapshot`).
pub const SNAPSHOT_HEADER_WORDS: usize = 16;
/// Words per block in a snapshot: offset, size, header, free.
pub const BLOCK_WORDS: usize = 4;
/// Words per live handle: id, offset, size, align, usable, beneath.
pub const HANDLE_WORDS: usize = 6;
/// Words per slab class: object size, objects per slab, slabs, live objects.
pub const CLASS_WORDS: usize = 4;

/// The heaps, numbered as the page numbers them.
pub fn kind_from_code(code: u32) -> Option<HeapKind> {
    match code {
        0 => Some(HeapKind::Buddy),
        1 => Some(HeapKind::Exact),
        2 => Some(HeapKind::Pool),
        3 => Some(HeapKind::Bump),
        _ => None,
    }
}

/// The inverse of [`kind_from_code`].
pub fn kind_code(kind: HeapKind) -> u32 {
    match kind {
        HeapKind::Buddy => 0,
        HeapKind::Exact => 1,
        HeapKind::Pool => 2,
        HeapKind::Bump => 3,
    }
}

/// The bytes ShompOS's key `key` (1 to 9) asks for in the `demo` command
/// (`modules/memory/src/commands/demo.rs`, `request_for_key`, which needs
/// the kernel's shell and so is not compiled here): keys 1-3 ask for one
/// byte, half the smallest block's payload and all of it; keys 4-9 for the
/// smallest request that needs a block one order bigger than the key
/// before. The sizes come from the buddy heap's own functions.
pub fn demo_request(key: usize) -> Option<usize> {
    let smallest_payload = BuddyHeap::largest_request_of_order(MIN_ORDER);
    Some(match key {
        1 => 1,
        2 => smallest_payload / 2,
        3 => smallest_payload,
        4..=9 => BuddyHeap::smallest_request_of_order(MIN_ORDER + key as u32 - 3),
        _ => return None,
    })
}

/// Memory for a heap: `size` bytes aligned to a page (the heaps want their
/// regions aligned to [`MAX_ALIGN`]), zeroed, freed on drop.
pub struct Arena {
    start: NonNull<u8>,
    layout: Layout,
}

impl Arena {
    pub fn new(size: usize) -> Option<Self> {
        if size == 0 {
            return None;
        }
        let layout = Layout::from_size_align(size, MAX_ALIGN).ok()?;
        // SAFETY: the layout's size is not zero.
        let start = NonNull::new(unsafe { std::alloc::alloc_zeroed(layout) })?;
        Some(Self { start, layout })
    }

    pub fn start(&self) -> usize {
        self.start.as_ptr() as usize
    }

    pub fn size(&self) -> usize {
        self.layout.size()
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout.
        unsafe { std::alloc::dealloc(self.start.as_ptr(), self.layout) }
    }
}

/// A block the page holds.
#[derive(Debug, Clone, Copy)]
pub struct Held {
    pub pointer: NonNull<u8>,
    pub layout: Layout,
    /// Allocated from the heap beneath the slabs (as the `demo` command
    /// does), so freed there too.
    pub beneath: bool,
}

/// One heap stack over its arena, and the page's handles.
pub struct HeapExplorer {
    // Dropped before the arena it points into.
    heap: Box<SlabHeap<AnyHeap>>,
    arena: Arena,
    /// Handle `n` is `held[n - 1]`; handles are never reused, so a trace's
    /// steps keep their numbers.
    held: Vec<Option<Held>>,
}

impl HeapExplorer {
    /// A fresh heap of `kind` (with `fit`, for the pool), slabs in front or
    /// not, over an arena of `arena` bytes: what the kernel builds from
    /// `heap=`, `pool=` and `slab=` over its frames.
    pub fn new(kind: HeapKind, fit: Fit, slabs: bool, arena: usize) -> Result<Self, String> {
        if !(MIN_ARENA..=MAX_ARENA).contains(&arena) {
            return Err(format!(
                "the arena must be {MIN_ARENA} to {MAX_ARENA} bytes, not {arena}"
            ));
        }
        let arena = Arena::new(arena).ok_or("no memory for the arena")?;
        let mut heap = Box::new(SlabHeap::new(AnyHeap::new(kind, fit), slabs));
        // SAFETY: the arena is ours alone and outlives the heap (it is
        // dropped after it: see the field order).
        unsafe { heap.add_region(arena.start(), arena.size()) }
            .map_err(|error| error.to_string())?;
        Ok(Self {
            heap,
            arena,
            held: Vec::new(),
        })
    }

    pub fn heap(&self) -> &SlabHeap<AnyHeap> {
        &self.heap
    }

    pub fn arena_start(&self) -> usize {
        self.arena.start()
    }

    pub fn arena_size(&self) -> usize {
        self.arena.size()
    }

    /// The live block behind `handle`.
    pub fn held(&self, handle: u32) -> Option<Held> {
        let index = (handle as usize).checked_sub(1)?;
        self.held.get(index).copied().flatten()
    }

    /// Allocates `size` bytes aligned to `align`, from the slab stack or
    /// (`beneath`) from the heap under the slabs, and returns its handle.
    pub fn allocate(
        &mut self, size: usize, align: usize, beneath: bool,
    ) -> Result<(u32, Held), String> {
        let layout = Layout::from_size_align(size, align)
            .map_err(|_| format!("ALIGN must be a power of two up to {MAX_ALIGN}, not {align}"))?;
        let pointer = if beneath {
            self.heap.beneath_mut().allocate(layout)
        } else {
            self.heap.allocate(layout)
        }
        .map_err(|error| error.to_string())?;
        let held = Held {
            pointer,
            layout,
            beneath,
        };
        self.held.push(Some(held));
        Ok((self.held.len() as u32, held))
    }

    /// Frees the block behind `handle` (a freed or unknown handle is
    /// refused, as the `free` command refuses it).
    pub fn free(&mut self, handle: u32) -> Result<Held, String> {
        let held = self.take(handle)?;
        let result = if held.beneath {
            self.heap
                .beneath_mut()
                .deallocate(held.pointer, held.layout)
        } else {
            self.heap.deallocate(held.pointer, held.layout)
        };
        match result {
            Ok(()) => Ok(held),
            Err(error) => {
                // The heap refused and changed nothing: the block stays held.
                self.held[handle as usize - 1] = Some(held);
                Err(format!("the heap refused handle {handle}: {error}"))
            }
        }
    }

    /// Resizes the block behind `handle` to `new_size` bytes (in place or
    /// by moving it, as the heap decides); the handle stays.
    pub fn reallocate(&mut self, handle: u32, new_size: usize) -> Result<Held, String> {
        let held = self.take(handle)?;
        let result = if held.beneath {
            self.heap
                .beneath_mut()
                .reallocate(held.pointer, held.layout, new_size)
        } else {
            self.heap.reallocate(held.pointer, held.layout, new_size)
        };
        let slot = &mut self.held[handle as usize - 1];
        match result {
            Ok(pointer) => {
                let layout = Layout::from_size_align(new_size, held.layout.align())
                    .expect("the heap accepted it");
                *slot = Some(Held {
                    pointer,
                    layout,
                    ..held
                });
                Ok(slot.expect("just set"))
            }
            Err(error) => {
                *slot = Some(held);
                Err(error.to_string())
            }
        }
    }

    fn take(&mut self, handle: u32) -> Result<Held, String> {
        let slot = (handle as usize)
            .checked_sub(1)
            .and_then(|index| self.held.get_mut(index))
            .ok_or_else(|| format!("no handle {handle}"))?;
        slot.take()
            .ok_or_else(|| format!("handle {handle} was already freed"))
    }

    /// Bytes usable from the block behind `handle`.
    pub fn usable(&self, held: Held) -> Result<usize, HeapError> {
        if held.beneath {
            self.heap.beneath().usable_size(held.pointer)
        } else {
            self.heap.usable_size(held.pointer)
        }
    }

    /// The block's order, when the heap beneath is the buddy heap and the
    /// block is its own (not a slab object).
    pub fn order(&self, held: Held) -> Option<u32> {
        match self.heap.beneath() {
            AnyHeap::Buddy(buddy) => buddy.order_of(held.pointer).ok(),
            _ => None,
        }
    }

    /// What `alloc` prints, and for the buddy heap the block's order as
    /// `demo` prints it.
    pub fn describe(&self, handle: u32, held: Held) -> String {
        let address = held.pointer.as_ptr() as usize;
        let usable = self.usable(held).unwrap_or(0);
        let mut line = format!(
            "handle={handle} offset={:#x} size={} usable={usable} align={}",
            address - self.arena.start(),
            held.layout.size(),
            held.layout.align(),
        );
        if let Some(order) = self.order(held).filter(|_| self.is_block_start(held)) {
            line += &format!(" order={order} ({}-byte block)", 1usize << order);
        }
        line
    }

    /// Whether the block is the heap beneath's own (so it has an order),
    /// not an object in a slab's page.
    fn is_block_start(&self, held: Held) -> bool {
        held.beneath || self.heap.beneath().usable_size(held.pointer).is_ok()
    }

    /// Walks every header: `heap check`.
    pub fn check(&self) -> Result<(), HeapError> {
        self.heap.check_integrity()
    }

    /// Every block of the heap beneath, in address order.
    pub fn blocks(&self) -> Vec<BlockInfo> {
        let mut blocks = Vec::new();
        self.heap.for_each_block(&mut |block| blocks.push(block));
        blocks
    }

    /// The slab classes (all zero when the slabs are off).
    pub fn classes(&self) -> Vec<ClassInfo> {
        self.heap.classes().collect()
    }

    /// The live handles, in handle order.
    pub fn handles(&self) -> impl Iterator<Item = (u32, Held)> + '_ {
        self.held
            .iter()
            .enumerate()
            .filter_map(|(index, held)| held.map(|held| (index as u32 + 1, held)))
    }

    /// Everything the page draws, as words (see the module's constants):
    ///
    /// ```text
    /// header  version arena granule total used requested free largest
    ///         allocations peak regions blocks handles classes kind slabs
    /// counts  free blocks per size class (SIZE_CLASSES words)
    /// blocks  offset size header free          (per block)
    /// handles id offset size align usable beneath   (per live handle)
    /// classes object_size capacity slabs live  (per slab class)
    /// ```
    ///
    /// Offsets are from the arena's start. The text is the heap's name and
    /// its summary, as the `heap` command's first line.
    pub fn snapshot(&self, out: &mut Out) {
        let stats = self.heap.stats();
        let blocks = self.blocks();
        let classes = self.classes();
        let start = self.arena.start();
        let handles: Vec<(u32, Held)> = self.handles().collect();
        let words = &mut out.words;
        words.extend([
            1,
            self.arena.size() as u32,
            self.heap.granule() as u32,
            stats.total as u32,
            stats.used as u32,
            stats.requested as u32,
            stats.free as u32,
            stats.largest_free as u32,
            stats.allocations as u32,
            stats.peak_used as u32,
            stats.regions as u32,
            blocks.len() as u32,
            handles.len() as u32,
            classes.len() as u32,
            kind_code(self.heap.beneath().kind()),
            u32::from(self.heap.is_enabled()),
        ]);
        debug_assert_eq!(words.len(), SNAPSHOT_HEADER_WORDS);
        words.extend_from_slice(&stats.free_blocks[..SIZE_CLASSES]);
        for block in &blocks {
            words.extend([
                (block.start - start) as u32,
                block.size as u32,
                block.header as u32,
                u32::from(block.free),
            ]);
        }
        for &(id, held) in &handles {
            words.extend([
                id,
                (held.pointer.as_ptr() as usize - start) as u32,
                held.layout.size() as u32,
                held.layout.align() as u32,
                self.usable(held).unwrap_or(0) as u32,
                u32::from(held.beneath),
            ]);
        }
        for class in &classes {
            words.extend([
                class.object_size as u32,
                class.capacity as u32,
                class.slabs as u32,
                class.live as u32,
            ]);
        }
        let fit = self.heap.beneath().fit();
        out.text = format!(
            "heap: kind={} total={} used={} free={} largest={} allocations={} peak={} requested={}{}{}",
            self.heap.name(),
            stats.total,
            stats.used,
            stats.free,
            stats.largest_free,
            stats.allocations,
            stats.peak_used,
            stats.requested,
            fit.map_or(String::new(), |fit| format!(" fit={}", fit.name())),
            if self.heap.is_enabled() { " slabs=on" } else { " slabs=off" },
        );
    }
}
