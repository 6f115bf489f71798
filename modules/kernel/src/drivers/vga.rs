//! VGA text mode: 80×25 character cells mapped at physical address 0xB8000,
//! and the hardware cursor, moved through the CRT controller's ports.
//!
//! Each cell is two bytes: the character, then its attribute (colours). The
//! logic of writing text — wrapping, scrolling, tabs — is in
//! [`screen`](crate::screen); this file only touches the hardware.

use crate::screen::{Attribute, Cell, CellGrid, HEIGHT, WIDTH};
use x86::io::outb;

/// Where the VGA text buffer is mapped (identity-mapped in every chapter).
pub const BUFFER_ADDRESS: usize = 0xB8000;

const CRTC_INDEX: u16 = 0x3D4;
const CRTC_DATA: u16 = 0x3D5;
const CURSOR_LOCATION_HIGH: u8 = 0x0E;
const CURSOR_LOCATION_LOW: u8 = 0x0F;

/// The VGA text buffer. Only one exists; [`console`](crate::console) owns it.
pub struct VgaText {
    _private: (),
}

impl VgaText {
    /// # Safety
    /// The VGA text buffer must be mapped at [`BUFFER_ADDRESS`], and only one
    /// `VgaText` may exist.
    pub const unsafe fn new() -> Self {
        Self { _private: () }
    }

    fn cell_pointer(row: usize, column: usize) -> *mut u16 {
        assert!(
            row < HEIGHT && column < WIDTH,
            "cell ({row}, {column}) is off the screen"
        );
        (BUFFER_ADDRESS as *mut u16).wrapping_add(row * WIDTH + column)
    }
}

impl CellGrid for VgaText {
    fn read(&self, row: usize, column: usize) -> Cell {
        // SAFETY: `new`'s contract: the buffer is mapped; the index is in range.
        // Volatile, because this is device memory the compiler must not elide.
        let raw = unsafe { Self::cell_pointer(row, column).read_volatile() };
        Cell {
            character: raw as u8,
            attribute: Attribute((raw >> 8) as u8),
        }
    }

    fn write(&mut self, row: usize, column: usize, cell: Cell) {
        let raw = u16::from(cell.character) | (u16::from(cell.attribute.0) << 8);
        // SAFETY: as in `read`.
        unsafe { Self::cell_pointer(row, column).write_volatile(raw) };
    }

    fn show_cursor(&mut self, row: usize, column: usize) {
        let position = (row * WIDTH + column.min(WIDTH - 1)) as u16;
        // SAFETY: the CRT controller's index/data ports; registers 0x0E/0x0F
        // hold the cursor's cell index.
        unsafe {
            outb(CRTC_INDEX, CURSOR_LOCATION_HIGH);
            outb(CRTC_DATA, (position >> 8) as u8);
            outb(CRTC_INDEX, CURSOR_LOCATION_LOW);
            outb(CRTC_DATA, position as u8);
        }
    }
}
