//! The regions a heap manages, and the checks on them: is an address in
//! one, is a pointer where a payload may start, may a region grow.

use super::{HeapError, MAX_REGIONS};

/// The regions a heap manages: a fixed list, since a heap cannot allocate
/// its own bookkeeping.
#[derive(Debug, Clone, Copy)]
pub(super) struct Regions {
    spans: [(usize, usize); MAX_REGIONS],
    pub(super) len: usize,
}

impl Regions {
    pub(super) const fn new() -> Self {
        Self {
            spans: [(0, 0); MAX_REGIONS],
            len: 0,
        }
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.spans[..self.len].iter().copied()
    }

    /// Index of the region that contains `address`.
    pub(super) fn find(&self, address: usize) -> Option<usize> {
        self.iter()
            .position(|(start, end)| (start..end).contains(&address))
    }

    /// Trims `[start, start + size)` to a start aligned to `align` and an
    /// end aligned to `granule`, checks that `min..=max` bytes remain and
    /// that it overlaps no region, and adds it. Returns (index, start, end).
    pub(super) fn claim(
        &mut self, (start, size): (usize, usize), (align, granule): (usize, usize),
        (min, max): (usize, usize),
    ) -> Result<(usize, usize, usize), HeapError> {
        let bad = HeapError::BadRegion { start, size };
        let aligned = start.checked_next_multiple_of(align).ok_or(bad)?;
        let end = start.checked_add(size).ok_or(bad)? & !(granule - 1);
        if aligned >= end || !(min..=max).contains(&(end - aligned)) {
            return Err(bad);
        }
        Ok((self.add(aligned, end)?, aligned, end))
    }

    /// The region of a pointer handed back to a heap whose payloads are
    /// `align`-aligned and follow a header of at least `header` bytes.
    /// Returns (index, region start).
    pub(super) fn locate(
        &self, address: usize, align: usize, header: usize,
    ) -> Result<(usize, usize), HeapError> {
        let index = self
            .find(address)
            .ok_or(HeapError::ForeignPointer { address })?;
        let (start, _) = self.get(index);
        if !address.is_multiple_of(align) || address - start < header {
            return Err(HeapError::InvalidPointer { address });
        }
        Ok((index, start))
    }

    /// Adds `[start, end)` after checking it overlaps no other region.
    pub(super) fn add(&mut self, start: usize, end: usize) -> Result<usize, HeapError> {
        if self.iter().any(|(s, e)| start < e && s < end) {
            return Err(HeapError::BadRegion {
                start,
                size: end - start,
            });
        }
        let index = self.len;
        *self.spans.get_mut(index).ok_or(HeapError::TooManyRegions)? = (start, end);
        self.len += 1;
        Ok(index)
    }

    pub(super) fn get(&self, index: usize) -> (usize, usize) {
        self.spans[index]
    }

    /// Moves the end of the last region back down to `end` (undoing an
    /// [`extend_last`](Self::extend_last) that could not be finished).
    pub(super) fn shrink_last(&mut self, end: usize) {
        let index = self.len - 1;
        debug_assert!(self.spans[index].0 < end && end <= self.spans[index].1);
        self.spans[index].1 = end;
    }

    /// Moves the end of the last region to `end`, if that stays clear of
    /// every other region. Returns the last region's (index, start, old end).
    pub(super) fn extend_last(&mut self, end: usize) -> Result<(usize, usize, usize), HeapError> {
        let index = self.len.checked_sub(1).ok_or(HeapError::NotInitialised)?;
        let (start, old_end) = self.get(index);
        let bad = HeapError::BadRegion {
            start: old_end,
            size: end.wrapping_sub(old_end),
        };
        if end <= old_end
            || self
                .iter()
                .any(|(s, e)| old_end < e && s < end && s != start)
        {
            return Err(bad);
        }
        self.spans[index].1 = end;
        Ok((index, start, old_end))
    }
}
