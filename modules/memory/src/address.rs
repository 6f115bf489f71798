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
//! Chapter 3 adds the virtual side, `VirtAddr` and `Page`. Both sides work
//! the same way, so the code is written once, for any *kind* of address:
//!
//! ```text
//!   Address<K>   any byte of address space K      PhysAddr = Address<Physical>
//!   Unit<K>      4 KiB of it, aligned to 4 KiB    Frame    = Unit<Physical>
//!                                                 (chapter 3: VirtAddr and
//!                                                  Page, with K = Virtual)
//! ```
//!
//! `K` is a *marker*: an enum with no values ([`Physical`]), so it takes no
//! memory; it only keeps a `PhysAddr` from being passed where a `VirtAddr`
//! is wanted. Every type here is `#[repr(transparent)]`: in memory and in
//! registers it is the `usize` it wraps, so the types cost nothing at run
//! time.

use core::fmt;
use core::hash::Hash;
use core::marker::PhantomData;
use core::ops::{Add, Sub};

/// Bytes in a frame (and, from chapter 3 on, in a page).
pub const FRAME_SIZE: usize = 4096;

/// A kind of address space, and the names its types print under.
pub trait AddressKind: Copy + Eq + Ord + Hash {
    /// What `{:?}` calls an address: `PhysAddr`.
    const ADDRESS: &'static str;
    /// What `{:?}` calls a 4 KiB unit: `Frame`.
    const UNIT: &'static str;
}

/// Physical memory: the addresses on the memory bus.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Physical {}

impl AddressKind for Physical {
    const ADDRESS: &'static str = "PhysAddr";
    const UNIT: &'static str = "Frame";
}

/// An address in the address space `K`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(transparent)]
pub struct Address<K>(usize, PhantomData<K>);

/// A physical address.
pub type PhysAddr = Address<Physical>;

impl<K> Address<K> {
    pub const fn new(address: usize) -> Self {
        Self(address, PhantomData)
    }

    pub const fn as_usize(self) -> usize {
        self.0
    }
}

impl<K> Add<usize> for Address<K> {
    type Output = Self;
    fn add(self, bytes: usize) -> Self {
        Self::new(self.0 + bytes)
    }
}

/// The distance between two addresses, in bytes.
impl<K> Sub for Address<K> {
    type Output = usize;
    fn sub(self, other: Self) -> usize {
        self.0 - other.0
    }
}

impl<K: AddressKind> fmt::Debug for Address<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({:#010x})", K::ADDRESS, self.0)
    }
}

/// `{:#010x}` prints the address as a number, as reports want it.
impl<K> fmt::LowerHex for Address<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::LowerHex::fmt(&self.0, f)
    }
}

/// 4 KiB of the address space `K`, starting at a multiple of 4 KiB, named
/// by its first address: a frame, or (chapter 3) a page.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(transparent)]
pub struct Unit<K>(Address<K>);

/// A 4 KiB frame of physical memory.
pub type Frame = Unit<Physical>;

impl<K> Unit<K> {
    /// The unit that starts at `address`, or `None` if `address` is not a
    /// multiple of [`FRAME_SIZE`].
    pub const fn from_start(address: Address<K>) -> Option<Self> {
        if address.0.is_multiple_of(FRAME_SIZE) {
            Some(Self(address))
        } else {
            None
        }
    }

    /// The unit `address` lies in.
    pub const fn containing(address: Address<K>) -> Self {
        Self::from_number(address.0 / FRAME_SIZE)
    }

    /// Unit number `number`: the one at `number * FRAME_SIZE`.
    pub const fn from_number(number: usize) -> Self {
        Self(Address::new(number * FRAME_SIZE))
    }

    pub const fn start(self) -> Address<K> {
        self.0
    }

    /// Its index among all units: its address divided by [`FRAME_SIZE`].
    pub const fn number(self) -> usize {
        self.0 .0 / FRAME_SIZE
    }

    /// The unit `count` units further up.
    pub const fn add(self, count: usize) -> Self {
        Self::from_number(self.number() + count)
    }
}

impl<K: AddressKind> fmt::Debug for Unit<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({:#010x})", K::UNIT, self.0 .0)
    }
}

/// `{:#010x}` prints the unit's first address.
impl<K> fmt::LowerHex for Unit<K> {
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
        assert_eq!(Frame::from_number(5).add(3).number(), 8);
    }

    #[test]
    fn addresses_print_as_numbers_and_debug_says_what_they_are() {
        let frame = Frame::from_number(0x175);
        assert_eq!(format!("{frame:#010x}"), "0x00175000");
        assert_eq!(format!("{frame:?}"), "Frame(0x00175000)");
        assert_eq!(format!("{:?}", PhysAddr::new(8)), "PhysAddr(0x00000008)");
        assert_eq!(PhysAddr::new(0x2000) - PhysAddr::new(0x1800), 0x800);
    }
}
