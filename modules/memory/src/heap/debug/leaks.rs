//! Leak reports: live blocks grouped by the site that allocated them.
//!
//! A leak is a block nobody will free. The heap cannot know that, but it can
//! show which sites own the live blocks; a site whose count only ever grows
//! (`leaks mark`, run the suspect, `leaks since`) is the place to look.
//!
//! The report is built while the heap is locked, so it must not allocate:
//! groups live in a fixed array, and blocks from sites beyond it are counted
//! together.

use crate::heap::CallSite;

/// A live block, as the heap debugger walks them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiveBlock {
    /// The address its owner was given.
    pub block: usize,
    pub size: usize,
    /// Its allocation number: later allocations have larger ones.
    pub serial: usize,
    pub allocated_at: CallSite,
}

/// The live blocks from one site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeakGroup {
    pub site: CallSite,
    pub blocks: usize,
    pub bytes: usize,
    /// The most recently allocated of them, and its allocation number.
    pub newest: usize,
    pub newest_serial: usize,
}

/// Live blocks grouped by site, at most `N` sites.
pub struct LeakReport<const N: usize> {
    groups: [LeakGroup; N],
    len: usize,
    /// Blocks (and their bytes) from sites that did not fit.
    pub other_blocks: usize,
    pub other_bytes: usize,
}

impl<const N: usize> Default for LeakReport<N> {
    fn default() -> Self {
        Self {
            groups: [LeakGroup {
                site: CallSite::Unknown,
                blocks: 0,
                bytes: 0,
                newest: 0,
                newest_serial: 0,
            }; N],
            len: 0,
            other_blocks: 0,
            other_bytes: 0,
        }
    }
}

impl<const N: usize> LeakReport<N> {
    /// Counts `block` in its site's group.
    pub fn add(&mut self, block: &LiveBlock) {
        let groups = &mut self.groups[..self.len];
        if let Some(group) = groups.iter_mut().find(|g| g.site == block.allocated_at) {
            group.blocks += 1;
            group.bytes += block.size;
            if block.serial > group.newest_serial {
                (group.newest, group.newest_serial) = (block.block, block.serial);
            }
        } else if self.len < N {
            self.groups[self.len] = LeakGroup {
                site: block.allocated_at,
                blocks: 1,
                bytes: block.size,
                newest: block.block,
                newest_serial: block.serial,
            };
            self.len += 1;
        } else {
            self.other_blocks += 1;
            self.other_bytes += block.size;
        }
    }

    /// The groups, most bytes first.
    pub fn groups(&mut self) -> &[LeakGroup] {
        let groups = &mut self.groups[..self.len];
        groups.sort_unstable_by(|a, b| b.bytes.cmp(&a.bytes).then(b.blocks.cmp(&a.blocks)));
        groups
    }

    /// Blocks and bytes in all.
    pub fn totals(&self) -> (usize, usize) {
        let groups = &self.groups[..self.len];
        (
            groups.iter().map(|g| g.blocks).sum::<usize>() + self.other_blocks,
            groups.iter().map(|g| g.bytes).sum::<usize>() + self.other_bytes,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(block: usize, size: usize, site: usize) -> LiveBlock {
        LiveBlock {
            block,
            size,
            serial: block,
            allocated_at: CallSite::Return([site, 0, 0]),
        }
    }

    #[test]
    fn blocks_group_by_site_biggest_first_and_overflow_is_counted() {
        let mut report = LeakReport::<2>::default();
        for (address, size, site) in [(3, 10, 0xA), (2, 100, 0xB), (1, 10, 0xA), (4, 5, 0xC)] {
            report.add(&block(address, size, site));
        }
        let groups = report.groups();
        assert_eq!(groups.len(), 2);
        assert_eq!(
            (groups[0].site, groups[0].blocks, groups[0].bytes),
            (CallSite::Return([0xB, 0, 0]), 1, 100)
        );
        assert_eq!(
            (groups[1].blocks, groups[1].bytes, groups[1].newest),
            (2, 20, 3)
        );
        assert_eq!((report.other_blocks, report.other_bytes), (1, 5));
        assert_eq!(report.totals(), (4, 125));
    }
}
