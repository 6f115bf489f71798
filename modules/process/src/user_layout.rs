//! Where a program lives: the user region of every address space.
//!
//! The kernel's mappings are the same in every address space; a program
//! gets one region of its own, 128 MiB just above the end of the identity
//! map. No RAM size reaches it (the identity map stops at 3 GiB, however
//! much RAM there is), and it lies below the kernel's guard slots and heap.
//! It is 32 page-directory entries, so a program's own page tables hang
//! from entries 768 to 799 of its directory and every other entry is the
//! kernel's.
//!
//! ```text
//! 0xC800_0000 +------------------------------+ USER_END
//!             | stack: 64 KiB, grows down    |  mapped on first touch
//! 0xC7FF_0000 +------------------------------+ STACK_BOTTOM
//!             | never mapped: a fault here   |  stack overflow / wild pointer
//! 0xC7F0_0000 +------------------------------+ HEAP_LIMIT
//!             |   ^ heap, up to the break    |  sbrk moves the break; a page
//!             |   | (mapped on first touch)  |  is mapped when first touched
//!             +------------------------------+ the image's end (page-aligned)
//!             | data + bss     RW-           |
//!             | rodata         R--           |  the ELF file's segments,
//!             | text           R-X           |  copied in at load time
//! 0xC010_0000 +------------------------------+ IMAGE_START (user.ld)
//!             | never mapped                 |
//! 0xC000_0000 +------------------------------+ USER_START
//! ```

use core::ops::Range;

pub const PAGE_SIZE: u32 = 4096;
/// The user region.
pub const USER_START: u32 = 0xC000_0000;
pub const USER_END: u32 = 0xC800_0000;
/// Where `user/user.ld` links every program.
pub const IMAGE_START: u32 = 0xC010_0000;
/// The break may not pass this.
pub const HEAP_LIMIT: u32 = 0xC7F0_0000;
/// The user stack: its pages are mapped on first touch.
pub const STACK_BOTTOM: u32 = 0xC7FF_0000;
pub const STACK_TOP: u32 = USER_END;

/// The part of the region a program's segments may use.
pub const IMAGE: Range<u32> = IMAGE_START..HEAP_LIMIT;

// Checked when the kernel is built: the parts follow each other, and the
// region is whole page-directory entries (4 MiB each).
const _: () = {
    assert!(USER_START < IMAGE_START && IMAGE_START < HEAP_LIMIT);
    assert!(HEAP_LIMIT < STACK_BOTTOM && STACK_BOTTOM < STACK_TOP);
    assert!(USER_START.is_multiple_of(4 << 20) && USER_END.is_multiple_of(4 << 20));
};

/// What a user address is, for a fault report and for the fault handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserPart {
    /// Below the image, or the gap above the heap's limit.
    Unmapped,
    /// The program's segments.
    Image,
    /// Between the image's end and the break: mapped on first touch.
    Heap,
    /// Above the break, below the heap's limit: not (yet) the program's.
    AboveBreak,
    Stack,
    /// Not in the user region at all (the kernel's).
    Kernel,
}

impl UserPart {
    /// Which part `address` is in, for a program whose image ends at
    /// `image_end` and whose break is `brk`.
    pub fn of(address: u32, image_end: u32, brk: u32) -> UserPart {
        match address {
            a if !(USER_START..USER_END).contains(&a) => UserPart::Kernel,
            a if a < IMAGE_START => UserPart::Unmapped,
            a if a < image_end => UserPart::Image,
            a if a < brk => UserPart::Heap,
            a if a < HEAP_LIMIT => UserPart::AboveBreak,
            a if a < STACK_BOTTOM => UserPart::Unmapped,
            _ => UserPart::Stack,
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            UserPart::Unmapped => "an unmapped part of the user region",
            UserPart::Image => "the program's image (text, rodata, data, bss)",
            UserPart::Heap => "the program's heap, below the break",
            UserPart::AboveBreak => "above the break (not part of the heap: call sbrk first)",
            UserPart::Stack => "the user stack",
            UserPart::Kernel => "the kernel's memory (not open to user code)",
        }
    }

    /// Whether a first touch here maps a fresh zeroed page.
    pub fn is_demand_paged(self) -> bool {
        matches!(self, UserPart::Heap | UserPart::Stack)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_address_falls_in_the_part_the_diagram_shows() {
        let (image_end, brk) = (0xC010_5000, 0xC012_0000);
        let part = |a| UserPart::of(a, image_end, brk);
        assert_eq!(part(0xBFFF_FFFF), UserPart::Kernel);
        assert_eq!(part(USER_START), UserPart::Unmapped);
        assert_eq!(part(IMAGE_START), UserPart::Image);
        assert_eq!(part(image_end - 1), UserPart::Image);
        assert_eq!(part(image_end), UserPart::Heap);
        assert_eq!(part(brk - 1), UserPart::Heap);
        assert_eq!(part(brk), UserPart::AboveBreak);
        assert_eq!(part(HEAP_LIMIT), UserPart::Unmapped);
        assert_eq!(part(STACK_BOTTOM), UserPart::Stack);
        assert_eq!(part(USER_END - 1), UserPart::Stack);
        assert_eq!(part(USER_END), UserPart::Kernel);
        assert!(part(brk - 1).is_demand_paged() && !part(brk).is_demand_paged());
    }

    #[test]
    fn the_region_never_meets_the_identity_map() {
        // The identity map covers RAM below 3 GiB at most, at any RAM size.
        let identity_map_end_at_most = 0xC000_0000u32;
        assert!(USER_START >= identity_map_end_at_most);
    }
}
