//! Physical addresses and frames, as types of their own.
//!
//! A kernel juggles numbers that mean different things: a physical address,
//! a frame, a count of frames, an offset, and (from chapter 3 on) a virtual
//! address. As plain `usize`s they all fit any slot, and a call with two of
//! them swapped compiles. Giving each its own type makes the compiler check
//! what the names only say:
//!
//! - [`PhysAddr`] — an address in physical memory, any byte;
//! - [`Frame`] — a 4 KiB frame of physical memory, known to start at a
//!   multiple of [`FRAME_SIZE`]: a `Frame` cannot be unaligned.
//!
//! Both are `#[repr(transparent)]` wrappers: in memory and in registers they
//! are the `usize` they wrap, so the types cost nothing at run time.
//! Chapter 3 adds the virtual side, `VirtAddr` and `Page`.

use core::fmt;
use core::ops::{Add, Sub};

/// Bytes in a frame (and, from chapter 3 on, in a page).
pub const FRAME_SIZE: usize = 4096;

/// A physical address.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[repr(transparent)]
pub struct PhysAddr(usize);

impl PhysAddr {
    pub const fn new(address: usize) -> Self {
        Self(address)
    }

    pub const fn as_usize(self) -> usize {
        self.0
    }

    /// The address `bytes` further, unless that passes the end of memory.
    pub fn checked_add(self, bytes: usize) -> Option<Self> {
        self.0.checked_add(bytes).map(Self)
    }

    /// Bytes past the start of its frame.
    pub const fn frame_offset(self) -> usize {
        self.0 % FRAME_SIZE
    }
}

impl Add<usize> for PhysAddr {
    type Output = PhysAddr;
    fn add(self, bytes: usize) -> PhysAddr {
        PhysAddr(self.0 + bytes)
    }
}

/// The distance between two addresses, in bytes.
impl Sub for PhysAddr {
    type Output = usize;
    fn sub(self, other: PhysAddr) -> usize {
        self.0 - other.0
    }
}

impl fmt::Debug for PhysAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhysAddr({:#010x})", self.0)
    }
}

/// `{:#010x}` prints the address as a number, as reports want it.
impl fmt::LowerHex for PhysAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::LowerHex::fmt(&self.0, f)
    }
}

/// A 4 KiB frame of physical memory, named by its first address.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(transparent)]
pub struct Frame(PhysAddr);

impl Frame {
    /// The frame that starts at `address`, or `None` if `address` is not a
    /// multiple of [`FRAME_SIZE`].
    pub const fn from_start(address: PhysAddr) -> Option<Frame> {
        if address.0.is_multiple_of(FRAME_SIZE) {
            Some(Frame(address))
        } else {
            None
        }
    }

    /// The frame `address` lies in.
    pub const fn containing(address: PhysAddr) -> Frame {
        Frame(PhysAddr(address.0 - address.0 % FRAME_SIZE))
    }

    /// Frame number `number`: the one at `number * FRAME_SIZE`.
    pub const fn from_number(number: usize) -> Frame {
        Frame(PhysAddr(number * FRAME_SIZE))
    }

    pub const fn start(self) -> PhysAddr {
        self.0
    }

    /// Its index among all frames: its address divided by [`FRAME_SIZE`].
    pub const fn number(self) -> usize {
        self.0 .0 / FRAME_SIZE
    }

    /// The frame `count` frames further up.
    pub const fn add(self, count: usize) -> Frame {
        Frame::from_number(self.number() + count)
    }
}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Frame({:#010x})", self.0 .0)
    }
}

/// `{:#010x}` prints the frame's first address.
impl fmt::LowerHex for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::LowerHex::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_starts_on_a_frame_boundary() {
        assert_eq!(
            Frame::from_start(PhysAddr::new(0x5000)),
            Some(Frame::from_number(5))
        );
        assert_eq!(Frame::from_start(PhysAddr::new(0x5008)), None);
        let inside = PhysAddr::new(0x5ABC);
        assert_eq!(Frame::containing(inside).start(), PhysAddr::new(0x5000));
        assert_eq!(inside.frame_offset(), 0xABC);
        assert_eq!(Frame::from_number(5).add(3).number(), 8);
    }

    #[test]
    fn addresses_print_as_numbers_and_debug_says_what_they_are() {
        let frame = Frame::from_number(0x175);
        assert_eq!(format!("{frame:#010x}"), "0x00175000");
        assert_eq!(format!("{frame:?}"), "Frame(0x00175000)");
        assert_eq!(format!("{:?}", PhysAddr::new(8)), "PhysAddr(0x00000008)");
        assert_eq!(PhysAddr::new(0x2000) - PhysAddr::new(0x1800), 0x800);
        assert_eq!(PhysAddr::new(usize::MAX).checked_add(1), None);
    }
}
