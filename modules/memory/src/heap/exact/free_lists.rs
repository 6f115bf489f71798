//! The free lists, one per order, doubly linked through the headers of
//! free blocks (as in the plain buddy heap); each change to a list also
//! sets or clears the block's free bit.

use super::bitmap::Start;
use super::header::Link;
use super::ExactHeap;

impl ExactHeap {
    /// Makes `block` (of `order`, in `region`) a free block: header, bit,
    /// list.
    pub(super) fn push_free(&mut self, region: usize, block: usize, order: u32) {
        let head = self.free_heads[order as usize];
        self.write_free(block, order, 0, head);
        if head != 0 {
            self.write_link(head, Link::Prev, block);
        }
        self.set_start(region, block, Start::Free);
        self.free_heads[order as usize] = block;
        self.non_empty |= 1 << order;
        self.free_counts[order as usize] += 1;
    }

    /// Takes a free block off its list in O(1) and clears its bit. Its
    /// header was checked by whoever found it.
    pub(super) fn remove_free(&mut self, region: usize, block: usize, order: u32) {
        let (prev, next) = self.links(block);
        if prev == 0 {
            self.free_heads[order as usize] = next;
        } else {
            self.write_link(prev, Link::Next, next);
        }
        if next != 0 {
            self.write_link(next, Link::Prev, prev);
        }
        if self.free_heads[order as usize] == 0 {
            self.non_empty &= !(1 << order);
        }
        self.free_counts[order as usize] -= 1;
        self.set_start(region, block, Start::Inside);
    }

    /// The smallest free block of at least `order`, off its list:
    /// (block, region, its order).
    pub(super) fn take_free(&mut self, order: u32) -> Option<(usize, usize, u32)> {
        let candidates = self.non_empty & !((1u32 << order) - 1);
        if candidates == 0 {
            return None;
        }
        let found = candidates.trailing_zeros();
        let block = self.free_heads[found as usize];
        let region = self.regions.find(block)?;
        self.remove_free(region, block, found);
        Some((block, region, found))
    }
}
