//! A text screen: cursor, line wrapping, scrolling, tab and backspace.
//!
//! This is the logic of a terminal, kept apart from the hardware. It works on
//! anything that implements [`CellGrid`] — the VGA text buffer in the kernel
//! ([`drivers::vga`](crate::drivers::vga)), a plain array in the host tests —
//! so it can be tested without booting.

/// Columns of the VGA text mode Strata uses.
pub const WIDTH: usize = 80;
/// Rows of the VGA text mode Strata uses.
pub const HEIGHT: usize = 25;
/// Tab stops every this many columns.
pub const TAB_WIDTH: usize = 8;

/// The 16 VGA text colours.
#[allow(dead_code)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Color {
    Black = 0,
    Blue = 1,
    Green = 2,
    Cyan = 3,
    Red = 4,
    Magenta = 5,
    Brown = 6,
    LightGray = 7,
    DarkGray = 8,
    LightBlue = 9,
    LightGreen = 10,
    LightCyan = 11,
    LightRed = 12,
    Pink = 13,
    Yellow = 14,
    White = 15,
}

/// A cell's attribute byte: background colour in the high nibble, foreground
/// in the low one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attribute(pub u8);

impl Attribute {
    pub const fn new(foreground: Color, background: Color) -> Self {
        Self(((background as u8) << 4) | foreground as u8)
    }
}

/// The default look: light grey on black.
pub const DEFAULT_ATTRIBUTE: Attribute = Attribute::new(Color::LightGray, Color::Black);

/// One character cell: a code page 437 character and its attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cell {
    pub character: u8,
    pub attribute: Attribute,
}

impl Cell {
    pub const fn blank(attribute: Attribute) -> Self {
        Self {
            character: b' ',
            attribute,
        }
    }
}

/// Storage for `HEIGHT` × `WIDTH` cells, plus somewhere to show the cursor.
pub trait CellGrid {
    fn read(&self, row: usize, column: usize) -> Cell;
    fn write(&mut self, row: usize, column: usize, cell: Cell);
    /// Moves the visible cursor (the VGA hardware cursor); optional.
    fn show_cursor(&mut self, _row: usize, _column: usize) {}
}

/// Drawn for bytes that have no glyph of their own (CP437's ■).
const UNPRINTABLE: u8 = 0xFE;

/// A terminal-like writer over a [`CellGrid`].
pub struct TextScreen<G: CellGrid> {
    grid: G,
    row: usize,
    column: usize,
    attribute: Attribute,
}

impl<G: CellGrid> TextScreen<G> {
    /// Wraps `grid`; the cursor starts at the top left.
    pub const fn new(grid: G) -> Self {
        Self {
            grid,
            row: 0,
            column: 0,
            attribute: DEFAULT_ATTRIBUTE,
        }
    }

    /// Where the next character will go, as (row, column).
    pub fn cursor(&self) -> (usize, usize) {
        (self.row, self.column)
    }

    /// The colours used for text written from now on.
    pub fn set_attribute(&mut self, attribute: Attribute) {
        self.attribute = attribute;
    }

    pub fn attribute(&self) -> Attribute {
        self.attribute
    }

    pub fn grid(&self) -> &G {
        &self.grid
    }

    /// Blanks every cell and puts the cursor at the top left.
    pub fn clear(&mut self) {
        for row in 0..HEIGHT {
            self.clear_row(row);
        }
        self.row = 0;
        self.column = 0;
        self.grid.show_cursor(0, 0);
    }

    /// Writes one byte, interpreting `\n`, `\r`, `\t` and backspace (0x08).
    pub fn write_byte(&mut self, byte: u8) {
        match byte {
            b'\n' => self.new_line(),
            b'\r' => self.column = 0,
            b'\t' => {
                let next_stop = (self.column / TAB_WIDTH + 1) * TAB_WIDTH;
                while self.column < next_stop.min(WIDTH) {
                    self.put(b' ');
                }
            }
            // Backspace moves left without erasing, like a terminal: the
            // line editor sends "\x08 \x08" to rub a character out. At the
            // left edge it goes back to the end of the previous row, so a
            // long command line that wrapped can still be rubbed out.
            0x08 => {
                if self.column > 0 {
                    self.column -= 1;
                } else if self.row > 0 {
                    self.row -= 1;
                    self.column = WIDTH - 1;
                }
            }
            0x20..=0x7E => self.put(byte),
            _ => self.put(UNPRINTABLE),
        }
        self.grid.show_cursor(self.row, self.column);
    }

    /// Writes every byte of `text`.
    pub fn write_bytes(&mut self, text: &[u8]) {
        for &byte in text {
            self.write_byte(byte);
        }
    }

    fn put(&mut self, character: u8) {
        if self.column >= WIDTH {
            self.new_line();
        }
        let cell = Cell {
            character,
            attribute: self.attribute,
        };
        self.grid.write(self.row, self.column, cell);
        self.column += 1;
    }

    fn new_line(&mut self) {
        self.column = 0;
        if self.row + 1 < HEIGHT {
            self.row += 1;
        } else {
            self.scroll_up();
        }
    }

    /// Moves every row up by one; the top row is lost, the bottom one blank.
    fn scroll_up(&mut self) {
        // LAB 1.1 BEGIN: copy every row one row up (grid.read, then grid.write a row higher), then blank the bottom row
        for row in 1..HEIGHT {
            for column in 0..WIDTH {
                let cell = self.grid.read(row, column);
                self.grid.write(row - 1, column, cell);
            }
        }
        self.clear_row(HEIGHT - 1);
        // LAB END
    }

    fn clear_row(&mut self, row: usize) {
        for column in 0..WIDTH {
            self.grid.write(row, column, Cell::blank(self.attribute));
        }
    }
}

impl<G: CellGrid> core::fmt::Write for TextScreen<G> {
    fn write_str(&mut self, text: &str) -> core::fmt::Result {
        self.write_bytes(text.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A grid in ordinary memory.
    struct ArrayGrid {
        cells: [[Cell; WIDTH]; HEIGHT],
        cursor: (usize, usize),
    }

    impl ArrayGrid {
        fn new() -> Self {
            Self {
                cells: [[Cell::blank(DEFAULT_ATTRIBUTE); WIDTH]; HEIGHT],
                cursor: (0, 0),
            }
        }
    }

    impl CellGrid for ArrayGrid {
        fn read(&self, row: usize, column: usize) -> Cell {
            self.cells[row][column]
        }
        fn write(&mut self, row: usize, column: usize, cell: Cell) {
            self.cells[row][column] = cell;
        }
        fn show_cursor(&mut self, row: usize, column: usize) {
            self.cursor = (row, column);
        }
    }

    fn row_text(screen: &TextScreen<ArrayGrid>, row: usize) -> String {
        let text: String = (0..WIDTH)
            .map(|c| screen.grid().read(row, c).character as char)
            .collect();
        text.trim_end().to_string()
    }

    #[test]
    fn writes_lines_and_moves_the_hardware_cursor() {
        let mut screen = TextScreen::new(ArrayGrid::new());
        screen.write_bytes(b"hello\nworld");
        assert_eq!(row_text(&screen, 0), "hello");
        assert_eq!(row_text(&screen, 1), "world");
        assert_eq!(screen.cursor(), (1, 5));
        assert_eq!(screen.grid().cursor, (1, 5));
    }

    #[test]
    fn long_lines_wrap() {
        let mut screen = TextScreen::new(ArrayGrid::new());
        screen.write_bytes(&[b'x'; WIDTH + 3]);
        assert_eq!(row_text(&screen, 0).len(), WIDTH);
        assert_eq!(row_text(&screen, 1), "xxx");
    }

    #[test]
    fn scrolls_when_the_bottom_is_reached() {
        let mut screen = TextScreen::new(ArrayGrid::new());
        for line in 0..HEIGHT + 2 {
            screen.write_bytes(format!("line {line}\n").as_bytes());
        }
        // 27 lines and a trailing newline: the first three scrolled away.
        assert_eq!(row_text(&screen, 0), "line 3");
        assert_eq!(row_text(&screen, HEIGHT - 2), "line 26");
        assert_eq!(row_text(&screen, HEIGHT - 1), "");
        assert_eq!(screen.cursor(), (HEIGHT - 1, 0));
    }

    #[test]
    fn tab_goes_to_the_next_stop_and_backspace_rubs_out() {
        let mut screen = TextScreen::new(ArrayGrid::new());
        screen.write_bytes(b"ab\tc");
        assert_eq!(screen.grid().read(0, TAB_WIDTH).character, b'c');
        screen.write_bytes(b"\x08 \x08");
        assert_eq!(screen.cursor(), (0, TAB_WIDTH));
        assert_eq!(row_text(&screen, 0), "ab");
        // Backspace at the top left stays put; elsewhere at the left edge it
        // goes back to the end of the row above.
        screen.write_bytes(b"\r\x08");
        assert_eq!(screen.cursor(), (0, 0));
        screen.write_bytes(b"\n\x08");
        assert_eq!(screen.cursor(), (0, WIDTH - 1));
    }

    #[test]
    fn colours_apply_to_new_text_and_unprintables_are_marked() {
        let mut screen = TextScreen::new(ArrayGrid::new());
        let red = Attribute::new(Color::LightRed, Color::Black);
        screen.set_attribute(red);
        screen.write_bytes(&[b'!', 0x01]);
        assert_eq!(screen.grid().read(0, 0).attribute, red);
        assert_eq!(screen.grid().read(0, 1).character, UNPRINTABLE);
    }

    #[test]
    fn clear_blanks_everything() {
        let mut screen = TextScreen::new(ArrayGrid::new());
        screen.write_bytes(b"junk\nmore");
        screen.clear();
        assert_eq!(row_text(&screen, 0), "");
        assert_eq!(row_text(&screen, 1), "");
        assert_eq!(screen.cursor(), (0, 0));
    }
}
