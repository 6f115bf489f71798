//! A program's break: where its heap ends, and the frames promised to it.
//!
//! `sbrk` moves the break and maps nothing; the kernel maps a heap page
//! only when the program first touches it. But the frame for that page
//! must be there when the touch comes: a page fault cannot wait for memory,
//! and there is no good way to fail it. So moving the break up *promises*
//! a frame for each new page (chapter 3's promise, shared with the kernel
//! heap), and `sbrk` fails with "out of memory" when the free frames do not
//! cover the promise. The promise shrinks as pages are touched (their frame
//! is taken) and when the break comes down.
//!
//! ```text
//!  image end          old break           new break
//!  |  touched | untouched |    new pages     |
//!  |  frames  |  promised |  promised now    |      sbrk(+n): promise the
//!                                                   pages the break newly covers
//!  the break coming down past pages: each touched page is unmapped (its
//!  frame freed); each untouched one is settled (its promise dropped)
//! ```
//!
//! The arithmetic is plain code over [`Pages`], which the kernel fills with
//! the real promise and page tables and the tests with a model.

use crate::abi::Errno;
use crate::user_layout::{HEAP_LIMIT, PAGE_SIZE};

/// What moving the break does to memory.
pub trait Pages {
    /// Promises `count` frames; `false` if the free frames cannot cover it.
    fn promise(&mut self, count: usize) -> bool;
    /// Drops `count` frames of the promise.
    fn settle(&mut self, count: usize);
    /// Unmaps the page at `page` and frees its frame; `false` if it was
    /// never touched (not mapped).
    fn release(&mut self, page: u32) -> bool;
}

/// The break of one program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeapBreak {
    /// Where the heap starts: the image's end, page-aligned.
    image_end: u32,
    brk: u32,
    /// Pages below the break not touched yet: frames promised to them.
    promised: usize,
}

impl HeapBreak {
    /// An empty heap at the end of the image.
    pub fn new(image_end: u32) -> HeapBreak {
        debug_assert!(image_end.is_multiple_of(PAGE_SIZE));
        HeapBreak {
            image_end,
            brk: image_end,
            promised: 0,
        }
    }

    pub fn brk(&self) -> u32 {
        self.brk
    }

    pub fn image_end(&self) -> u32 {
        self.image_end
    }

    /// Frames promised and not yet taken.
    pub fn promised(&self) -> usize {
        self.promised
    }

    /// The pages of the heap below `brk`: a page counts as soon as one of
    /// its bytes is below the break.
    fn pages_below(&self, brk: u32) -> u32 {
        (brk.next_multiple_of(PAGE_SIZE) - self.image_end) / PAGE_SIZE
    }

    /// `sbrk(increment)`: moves the break, promising the pages it newly
    /// covers or giving back those it no longer does; returns the old
    /// break. A break below the image is `InvalidArgument`; past
    /// [`HEAP_LIMIT`], or beyond what the free frames can promise, it is
    /// `OutOfMemory`. An error changes nothing.
    pub fn move_by(&mut self, increment: i32, pages: &mut impl Pages) -> Result<u32, Errno> {
        // LAB 4.2 BEGIN: the new break (checked_add_signed; overflow or below image_end: InvalidArgument; above HEAP_LIMIT: OutOfMemory); if it covers more pages (pages_below), promise them (refused: OutOfMemory) and add them to promised; if fewer, for each page it no longer covers: release it, or if it was never touched settle one page of the promise; then move the break and return the old one
        let old = self.brk;
        let new = old
            .checked_add_signed(increment)
            .filter(|&new| new >= self.image_end)
            .ok_or(Errno::InvalidArgument)?;
        if new > HEAP_LIMIT {
            return Err(Errno::OutOfMemory);
        }
        let (before, after) = (self.pages_below(old), self.pages_below(new));
        if after > before {
            let more = (after - before) as usize;
            if !pages.promise(more) {
                return Err(Errno::OutOfMemory);
            }
            self.promised += more;
        }
        for index in after..before {
            if !pages.release(self.image_end + index * PAGE_SIZE) {
                self.promised -= 1;
                pages.settle(1);
            }
        }
        self.brk = new;
        Ok(old)
        // LAB END
    }

    /// A heap page was touched and got its frame: one page of the promise
    /// is kept.
    pub fn touched(&mut self, pages: &mut impl Pages) {
        if self.promised > 0 {
            self.promised -= 1;
            pages.settle(1);
        }
    }

    /// The program ended: every page still promised is given back.
    pub fn end(&mut self, pages: &mut impl Pages) {
        pages.settle(self.promised);
        self.promised = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    const IMAGE_END: u32 = 0xC010_8000;

    /// Free frames, the promise, and the touched pages, as plain numbers.
    #[derive(Debug, Default)]
    struct Model {
        free: usize,
        promised: usize,
        touched: BTreeSet<u32>,
    }

    impl Pages for Model {
        fn promise(&mut self, count: usize) -> bool {
            let ok = self.promised + count <= self.free;
            if ok {
                self.promised += count;
            }
            ok
        }
        fn settle(&mut self, count: usize) {
            self.promised -= count;
        }
        fn release(&mut self, page: u32) -> bool {
            let was = self.touched.remove(&page);
            if was {
                self.free += 1;
            }
            was
        }
    }

    impl Model {
        /// A touch of a heap page: takes a promised frame.
        fn touch(&mut self, heap: &mut HeapBreak, page: u32) {
            if self.touched.insert(page) {
                self.free -= 1;
                heap.touched(self);
            }
        }
    }

    #[test]
    fn moving_up_promises_the_new_pages_and_down_gives_them_back() {
        let mut model = Model {
            free: 10,
            ..Model::default()
        };
        let mut heap = HeapBreak::new(IMAGE_END);
        assert_eq!(heap.move_by(100, &mut model), Ok(IMAGE_END));
        assert_eq!(
            (heap.promised(), model.promised),
            (1, 1),
            "one page for 100 bytes"
        );
        assert_eq!(heap.move_by(8192, &mut model), Ok(IMAGE_END + 100));
        assert_eq!(
            heap.promised(),
            3,
            "100 + 8192 bytes reach into a third page"
        );
        model.touch(&mut heap, IMAGE_END);
        assert_eq!((heap.promised(), model.promised, model.free), (2, 2, 9));
        assert_eq!(heap.move_by(-8292, &mut model), Ok(IMAGE_END + 8292));
        assert_eq!(
            (heap.brk(), heap.promised(), model.promised),
            (IMAGE_END, 0, 0)
        );
        assert_eq!(model.free, 10, "the touched page's frame came back");
    }

    #[test]
    fn bad_moves_are_errors_that_change_nothing() {
        let mut model = Model {
            free: 4,
            ..Model::default()
        };
        let mut heap = HeapBreak::new(IMAGE_END);
        heap.move_by(4096, &mut model).unwrap();
        let before = heap;
        assert_eq!(heap.move_by(-8192, &mut model), Err(Errno::InvalidArgument));
        assert_eq!(
            heap.move_by(i32::MIN, &mut model),
            Err(Errno::InvalidArgument)
        );
        assert_eq!(
            heap.move_by(0x1000_0000, &mut model),
            Err(Errno::OutOfMemory),
            "past the limit"
        );
        assert_eq!(
            heap.move_by(5 * 4096, &mut model),
            Err(Errno::OutOfMemory),
            "more than the frames"
        );
        assert_eq!((heap, model.promised), (before, 1));
        let mut other = HeapBreak::new(IMAGE_END);
        other.end(&mut model);
        heap.end(&mut model);
        assert_eq!(model.promised, 0);
    }

    proptest! {
        /// Random moves and touches against the model: the promise always
        /// equals the untouched pages below the break, never exceeds the
        /// free frames, and an error changes nothing.
        #[test]
        fn agrees_with_a_model(
            free in 0usize..40,
            steps in prop::collection::vec((any::<bool>(), -40_000i32..40_000, any::<u32>()), 1..60),
        ) {
            let mut model = Model { free, ..Model::default() };
            let mut heap = HeapBreak::new(IMAGE_END);
            for (is_move, increment, pick) in steps {
                if is_move {
                    let before = (heap, model.promised);
                    match heap.move_by(increment, &mut model) {
                        Ok(old) => prop_assert_eq!(old, before.0.brk()),
                        Err(_) => prop_assert_eq!((heap, model.promised), before),
                    }
                } else if heap.brk() > IMAGE_END {
                    let pages = (heap.brk() - IMAGE_END).div_ceil(PAGE_SIZE);
                    let page = IMAGE_END + (pick % pages) * PAGE_SIZE;
                    model.touch(&mut heap, page);
                }
                let below = (heap.brk().next_multiple_of(PAGE_SIZE) - IMAGE_END) / PAGE_SIZE;
                let untouched = below as usize - model.touched.len();
                prop_assert_eq!(heap.promised(), untouched);
                prop_assert_eq!(model.promised, untouched);
                prop_assert!(model.promised <= model.free);
                prop_assert!(model.touched.iter().all(|&page| page < heap.brk().next_multiple_of(PAGE_SIZE)));
            }
            heap.end(&mut model);
            prop_assert_eq!(model.promised, 0);
        }
    }
}
