//! A user program's heap: `malloc`, `free` and `realloc` over memory that
//! grows with `sbrk`.
//!
//! This file is compiled into every user program (`user/lib/heap.rs`
//! makes it the `#[global_allocator]`) and, for its host tests, into the
//! kernel's library; the kernel itself never calls it. It is the first-fit
//! pool of chapter 2 done the classic way, with *boundary tags*: each block
//! has its size at both ends, so a freed block finds its lower neighbour
//! without a `prev_size` field, by reading the footer just below it.
//!
//! ```text
//!  start                                                       end (the break)
//!  | P |  header | payload ...        | footer |  header | ...    | E |
//!      ^ size|used                    ^ size|used            epilogue: 0|used
//!  prologue footer: 0|used, so the first block's lower neighbour is "used"
//!
//!  a free block keeps its list links in its payload:
//!  | header | next free | prev free | ...                  | footer |
//! ```
//!
//! Sizes are multiples of 8 and include the two tags, so every payload is
//! 8-aligned. When no free block fits, the heap asks for more memory with
//! the [`Break`] it was given (`sbrk` in a program): the new bytes become a
//! free block that merges with a free last block, and the search runs
//! again. The kernel maps none of those bytes until the program touches
//! them (chapter 4's lazy `sbrk`).

use core::ptr::NonNull;

/// Where the heap gets memory: the program's break.
pub trait Break {
    /// Moves the break up by `bytes` and returns its old value (the start
    /// of the new bytes), or `None` if it cannot.
    fn grow(&mut self, bytes: usize) -> Option<usize>;
}

/// Tag bit: the block is allocated.
const USED: u32 = 1;
/// Header and footer, 4 bytes each.
const TAGS: usize = 8;
/// The smallest block: two tags and room for the two free-list links.
const MIN_BLOCK: usize = 16;
/// The least the heap grows by at a time, so that small allocations do not
/// cost a system call each.
const GROWTH: usize = 16 * 1024;

/// What went wrong in a call: a pointer the heap never handed out, or a
/// block whose tags were overwritten.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MallocError {
    /// Not inside the heap, not a block start, or not allocated.
    InvalidPointer(usize),
    /// The header and footer of a block disagree.
    CorruptBlock(usize),
}

/// A first-fit heap with boundary tags over memory from a [`Break`].
pub struct UserHeap<B: Break> {
    brk: B,
    /// `[start, end)`: the heap; 0 before the first allocation.
    start: usize,
    end: usize,
    /// The first free block (its header's address), 0 if none.
    free_head: usize,
}

impl<B: Break> UserHeap<B> {
    pub const fn new(brk: B) -> Self {
        Self {
            brk,
            start: 0,
            end: 0,
            free_head: 0,
        }
    }

    // ---- the tags: the only reads and writes of heap memory ----

    fn read(&self, address: usize) -> u32 {
        debug_assert!(self.start <= address && address + 4 <= self.end);
        // SAFETY: `address` is a tag or link slot inside [start, end), which
        // the break gave this heap; slots are 4-aligned (blocks and the heap
        // start are 8-aligned plus 4).
        unsafe { (address as *const u32).read() }
    }

    fn write(&mut self, address: usize, value: u32) {
        debug_assert!(self.start <= address && address + 4 <= self.end);
        // SAFETY: as in `read`.
        unsafe { (address as *mut u32).write(value) }
    }

    /// Writes the header and the footer of the block at `block`.
    fn set_block(&mut self, block: usize, size: usize, used: bool) {
        let tag = size as u32 | if used { USED } else { 0 };
        self.write(block, tag);
        self.write(block + size - 4, tag);
    }

    fn size_of(&self, block: usize) -> usize {
        (self.read(block) & !7) as usize
    }

    fn is_used(&self, block: usize) -> bool {
        self.read(block) & USED != 0
    }

    // ---- the free list, doubly linked through the payloads ----

    fn push_free(&mut self, block: usize, size: usize) {
        self.set_block(block, size, false);
        let head = self.free_head;
        self.write(block + 4, head as u32);
        self.write(block + 8, 0);
        if head != 0 {
            self.write(head + 8, block as u32);
        }
        self.free_head = block;
    }

    fn remove_free(&mut self, block: usize) {
        let (next, prev) = (self.read(block + 4) as usize, self.read(block + 8) as usize);
        if prev == 0 {
            self.free_head = next;
        } else {
            self.write(prev + 4, next as u32);
        }
        if next != 0 {
            self.write(next + 8, prev as u32);
        }
    }

    // ---- growing ----

    /// Asks the break for at least `bytes` more and frees them as one block
    /// (merged with a free last block). `false` if the break cannot move.
    fn grow(&mut self, bytes: usize) -> bool {
        let bytes = bytes.max(GROWTH).next_multiple_of(TAGS);
        if self.start == 0 {
            // The first call: the prologue footer and the epilogue header.
            let Some(start) = self.brk.grow(TAGS) else {
                return false;
            };
            (self.start, self.end) = (start, start + TAGS);
            self.write(start, USED);
            self.write(start + 4, USED);
        }
        let Some(old_end) = self.brk.grow(bytes) else {
            return false;
        };
        if old_end != self.end {
            // Someone else moved the break: the heap must be contiguous.
            return false;
        }
        self.end += bytes;
        // The old epilogue becomes the new block's header.
        let block = old_end - 4;
        self.write(self.end - 4, USED);
        self.release(block, bytes);
        true
    }

    /// Frees `[block, block + size)`, merging it with free neighbours.
    fn release(&mut self, block: usize, size: usize) {
        let (mut block, mut size) = (block, size);
        let next = block + size;
        if !self.is_used(next) {
            self.remove_free(next);
            size += self.size_of(next);
        }
        let lower_footer = self.read(block - 4);
        if lower_footer & USED == 0 {
            let lower = block - (lower_footer as usize & !7);
            // The header left inside the merged block must not say "used",
            // or a second free of the same pointer would look valid.
            self.write(block, 0);
            self.remove_free(lower);
            size += block - lower;
            block = lower;
        }
        self.push_free(block, size);
    }

    // ---- the calls ----

    /// Where an aligned payload of a block of `need` bytes fits in the free
    /// block `block` of `size`: the gap before it (0, or enough for a free
    /// block of its own).
    fn fits(block: usize, size: usize, need: usize, align: usize) -> Option<usize> {
        let mut payload = (block + 4).next_multiple_of(align);
        if payload - 4 - block != 0 && payload - 4 - block < MIN_BLOCK {
            payload += MIN_BLOCK.next_multiple_of(align);
        }
        let gap = payload - 4 - block;
        (gap + need <= size).then_some(gap)
    }

    /// The first free block `size` bytes aligned to `align` fit in.
    fn find(&self, need: usize, align: usize) -> Option<(usize, usize)> {
        let mut block = self.free_head;
        while block != 0 {
            if let Some(gap) = Self::fits(block, self.size_of(block), need, align) {
                return Some((block, gap));
            }
            block = self.read(block + 4) as usize;
        }
        None
    }

    /// Allocates `size` bytes aligned to `align` (a power of two); `None`
    /// when the break cannot grow enough.
    pub fn malloc(&mut self, size: usize, align: usize) -> Option<NonNull<u8>> {
        let need = size
            .checked_add(TAGS)?
            .max(MIN_BLOCK)
            .next_multiple_of(TAGS);
        let align = align.max(8);
        let (block, gap) = match self.find(need, align) {
            Some(found) => found,
            None => {
                if !self.grow(need.checked_add(align + MIN_BLOCK)?) {
                    return None;
                }
                self.find(need, align)?
            }
        };
        let mut size = self.size_of(block);
        self.remove_free(block);
        let mut start = block;
        if gap != 0 {
            self.push_free(block, gap);
            (start, size) = (block + gap, size - gap);
        }
        if size - need >= MIN_BLOCK {
            self.push_free(start + need, size - need);
            size = need;
        }
        self.set_block(start, size, true);
        NonNull::new((start + 4) as *mut u8)
    }

    /// The block of an allocated payload, checked.
    fn block_of(&self, pointer: NonNull<u8>) -> Result<(usize, usize), MallocError> {
        let address = pointer.as_ptr() as usize;
        let block = address.wrapping_sub(4);
        let inside = self.start != 0 && block > self.start && address < self.end;
        if !inside || !address.is_multiple_of(8) || !self.is_used(block) {
            return Err(MallocError::InvalidPointer(address));
        }
        let size = self.size_of(block);
        if size < MIN_BLOCK
            || size > self.end - 4 - block
            || self.read(block + size - 4) != self.read(block)
        {
            return Err(MallocError::CorruptBlock(block));
        }
        Ok((block, size))
    }

    /// Frees what [`malloc`](Self::malloc) returned.
    pub fn free(&mut self, pointer: NonNull<u8>) -> Result<(), MallocError> {
        let (block, size) = self.block_of(pointer)?;
        self.release(block, size);
        Ok(())
    }

    /// Resizes in place when it can (shrinking, or growing into a free upper
    /// neighbour); otherwise allocates, copies and frees.
    pub fn realloc(
        &mut self, pointer: NonNull<u8>, new_size: usize, align: usize,
    ) -> Result<Option<NonNull<u8>>, MallocError> {
        let (block, size) = self.block_of(pointer)?;
        let Some(need) = new_size.checked_add(TAGS) else {
            return Ok(None);
        };
        let need = need.max(MIN_BLOCK).next_multiple_of(TAGS);
        let next = block + size;
        let room = if self.is_used(next) {
            size
        } else {
            size + self.size_of(next)
        };
        if need <= room {
            if room > size {
                self.remove_free(next);
            }
            let keep = if room - need >= MIN_BLOCK { need } else { room };
            self.set_block(block, keep, true);
            if keep < room {
                self.release(block + keep, room - keep);
            }
            return Ok(Some(pointer));
        }
        let Some(moved) = self.malloc(new_size, align) else {
            return Ok(None);
        };
        // SAFETY: both blocks are allocated and distinct; the old payload
        // holds `size - TAGS` bytes, the new one at least `new_size`.
        unsafe { core::ptr::copy_nonoverlapping(pointer.as_ptr(), moved.as_ptr(), size - TAGS) };
        self.release(block, size);
        Ok(Some(moved))
    }

    /// Calls `visit(start, size, used)` for every block, lowest first; an
    /// error if the tags do not tile the heap.
    pub fn walk(&self, visit: &mut dyn FnMut(usize, usize, bool)) -> Result<(), MallocError> {
        if self.start == 0 {
            return Ok(());
        }
        let mut block = self.start + 4;
        while block < self.end - 4 {
            let size = self.size_of(block);
            if size < MIN_BLOCK
                || size > self.end - 4 - block
                || self.read(block + size - 4) != self.read(block)
            {
                return Err(MallocError::CorruptBlock(block));
            }
            visit(block, size, self.is_used(block));
            block += size;
        }
        Ok(())
    }

    /// Bytes of heap, and how many of them are in free blocks.
    pub fn usage(&self) -> (usize, usize) {
        let mut free = 0;
        let _ = self.walk(&mut |_, size, used| {
            if !used {
                free += size;
            }
        });
        (self.end - self.start, free)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A break over a boxed arena: grows until `limit` bytes.
    struct ArenaBreak {
        memory: Vec<u64>,
        used: usize,
        limit: usize,
    }

    impl ArenaBreak {
        fn new(limit: usize) -> Self {
            Self {
                memory: vec![0; limit / 8],
                used: 0,
                limit,
            }
        }
    }

    impl Break for ArenaBreak {
        fn grow(&mut self, bytes: usize) -> Option<usize> {
            if self.used + bytes > self.limit {
                return None;
            }
            let old = self.memory.as_ptr() as usize + self.used;
            self.used += bytes;
            Some(old)
        }
    }

    /// Every block, and checks that free blocks are listed and never
    /// neighbours (they would have merged).
    fn blocks(heap: &UserHeap<ArenaBreak>) -> Vec<(usize, usize, bool)> {
        let mut all = Vec::new();
        heap.walk(&mut |start, size, used| all.push((start, size, used)))
            .unwrap();
        for pair in all.windows(2) {
            assert!(pair[0].2 || pair[1].2, "two free neighbours: {pair:?}");
        }
        let mut listed = Vec::new();
        let mut block = heap.free_head;
        while block != 0 {
            listed.push(block);
            block = heap.read(block + 4) as usize;
        }
        listed.sort();
        let free: Vec<usize> = all.iter().filter(|b| !b.2).map(|b| b.0).collect();
        assert_eq!(listed, free, "the free list holds exactly the free blocks");
        all
    }

    #[test]
    fn freeing_merges_with_both_neighbours() {
        let mut heap = UserHeap::new(ArenaBreak::new(1 << 20));
        let [a, b, c] = [0; 3].map(|_| heap.malloc(100, 8).unwrap());
        let _guard = heap.malloc(8, 8).unwrap();
        heap.free(a).unwrap();
        heap.free(c).unwrap();
        let free_before = blocks(&heap).iter().filter(|b| !b.2).count();
        heap.free(b).unwrap();
        // a, b and c are one free block now: two fewer free blocks.
        assert_eq!(
            blocks(&heap).iter().filter(|b| !b.2).count(),
            free_before - 1
        );
        assert_eq!(
            heap.free(b),
            Err(MallocError::InvalidPointer(b.as_ptr() as usize))
        );
    }

    #[test]
    fn the_heap_grows_with_the_break_and_stops_when_it_cannot() {
        let mut heap = UserHeap::new(ArenaBreak::new(64 * 1024));
        let big = heap.malloc(40 * 1024, 8).unwrap();
        assert!(
            heap.malloc(40 * 1024, 8).is_none(),
            "the break stops at 64 KiB"
        );
        heap.free(big).unwrap();
        assert!(
            heap.malloc(40 * 1024, 8).is_some(),
            "the freed block is reused"
        );
        let (bytes, _) = heap.usage();
        assert!(bytes <= 64 * 1024);
    }

    #[test]
    fn alignment_and_foreign_pointers() {
        let mut heap = UserHeap::new(ArenaBreak::new(1 << 20));
        for shift in 3..13 {
            let p = heap.malloc(24, 1 << shift).unwrap();
            assert_eq!(p.as_ptr() as usize % (1 << shift), 0);
        }
        let mut local = 0u64;
        let foreign = NonNull::from(&mut local).cast::<u8>();
        assert!(matches!(
            heap.free(foreign),
            Err(MallocError::InvalidPointer(_))
        ));
        let p = heap.malloc(64, 8).unwrap();
        // An overflow from below rewrites p's header.
        // SAFETY: the arena is ours; this simulates a buggy program.
        unsafe { p.as_ptr().sub(4).cast::<u32>().write(0x1234_5670 | USED) };
        assert!(heap.free(p).is_err());
    }

    #[test]
    fn realloc_grows_in_place_into_a_free_neighbour() {
        let mut heap = UserHeap::new(ArenaBreak::new(1 << 20));
        let a = heap.malloc(64, 8).unwrap();
        let b = heap.malloc(64, 8).unwrap();
        let _c = heap.malloc(64, 8).unwrap();
        // SAFETY: a holds 64 bytes.
        unsafe { a.as_ptr().write_bytes(7, 64) };
        heap.free(b).unwrap();
        assert_eq!(heap.realloc(a, 120, 8), Ok(Some(a)), "in place, into b");
        let moved = heap.realloc(a, 4000, 8).unwrap().unwrap();
        assert_ne!(moved, a);
        // SAFETY: moved holds 4000 bytes, the first 64 copied from a.
        assert!(unsafe { core::slice::from_raw_parts(moved.as_ptr(), 64) }
            .iter()
            .all(|&byte| byte == 7));
        blocks(&heap);
    }

    proptest! {
        /// malloc, free and realloc in random order against a model (the
        /// live blocks and their contents): aligned, apart, intact; the
        /// tags tile the heap and free blocks never touch. At the end every
        /// block is free and the heap is one free block.
        #[test]
        fn agrees_with_a_model(
            operations in prop::collection::vec((0u8..3, 1usize..3000, 0u32..7, any::<usize>()), 1..150),
        ) {
            let mut heap = UserHeap::new(ArenaBreak::new(1 << 20));
            let mut live: Vec<(NonNull<u8>, usize, u8)> = Vec::new();
            for (step, (kind, size, shift, pick)) in operations.into_iter().enumerate() {
                let fill = step as u8;
                match kind {
                    0 => {
                        let align = 1 << shift;
                        if let Some(p) = heap.malloc(size, align) {
                            prop_assert_eq!(p.as_ptr() as usize % align, 0);
                            // SAFETY: p holds `size` bytes.
                            unsafe { p.as_ptr().write_bytes(fill, size) };
                            live.push((p, size, fill));
                        }
                    }
                    1 if !live.is_empty() => {
                        let (p, _, _) = live.swap_remove(pick % live.len());
                        heap.free(p).unwrap();
                    }
                    _ if !live.is_empty() => {
                        let index = pick % live.len();
                        let (p, old, fill) = live[index];
                        if let Some(q) = heap.realloc(p, size, 8).unwrap() {
                            // SAFETY: q holds `size` bytes; the first min(old, size) were kept.
                            let kept = unsafe { core::slice::from_raw_parts(q.as_ptr(), old.min(size)) };
                            prop_assert!(kept.iter().all(|&b| b == fill));
                            // SAFETY: as above.
                            unsafe { q.as_ptr().write_bytes(fill, size) };
                            live[index] = (q, size, fill);
                        }
                    }
                    _ => {}
                }
                for &(p, size, fill) in &live {
                    // SAFETY: a live block of `size` bytes.
                    let bytes = unsafe { core::slice::from_raw_parts(p.as_ptr(), size) };
                    prop_assert!(bytes.iter().all(|&b| b == fill), "a block was overwritten");
                }
                let all = blocks(&heap);
                prop_assert_eq!(all.iter().filter(|b| b.2).count(), live.len());
            }
            for (p, _, _) in live.drain(..) {
                heap.free(p).unwrap();
            }
            let all = blocks(&heap);
            prop_assert!(all.len() <= 1 && all.iter().all(|b| !b.2));
        }
    }
}
