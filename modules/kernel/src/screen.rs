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
pub const UNPRINTABLE: u8 = 0xFE;

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

    /// Writes one byte: printable ASCII is drawn, `\n` starts a new line,
    /// and every other byte is a control byte, for `control`.
    pub fn write_byte(&mut self, byte: u8) {
        match byte {
            b'\n' => self.new_line(),
            0x20..=0x7E => self.put(byte),
            _ => self.control(byte),
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

    /// A byte that is neither printable nor `\n`, as a terminal takes it:
    ///
    /// - `\r` (carriage return) goes back to column 0 of the same row;
    /// - `\t` writes spaces up to the next tab stop (every [`TAB_WIDTH`]
    ///   columns), and no further than the right edge: a tab never wraps;
    /// - backspace (0x08) moves one column left *without erasing*, like a
    ///   terminal: the line editor sends `"\x08 \x08"` to rub a character
    ///   out. At the left edge it goes back to the last column of the row
    ///   above, so that a long command line that wrapped can still be rubbed
    ///   out; at the top left it stays put;
    /// - anything else is drawn as ■ ([`UNPRINTABLE`]), so that stray bytes
    ///   show up instead of vanishing.
    ///
    /// Nothing the kernel prints while it boots is a control byte (the line
    /// editor's echo of a Backspace is), so a kernel whose `control` is
    /// unfinished still boots, and runs its tests.
    fn control(&mut self, byte: u8) {
        // LAB 1.1 BEGIN: \r to column 0; \t spaces up to the next stop (not past the edge); 0x08 one column left, or to the end of the row above; else draw UNPRINTABLE
        match byte {
            b'\r' => self.column = 0,
            b'\t' => {
                let next_stop = (self.column / TAB_WIDTH + 1) * TAB_WIDTH;
                while self.column < next_stop.min(WIDTH) {
                    self.put(b' ');
                }
            }
            0x08 => {
                if self.column > 0 {
                    self.column -= 1;
                } else if self.row > 0 {
                    self.row -= 1;
                    self.column = WIDTH - 1;
                }
            }
            _ => self.put(UNPRINTABLE),
        }
        // LAB END
    }

    /// Moves every row up by one; the top row is lost, the bottom one blank.
    /// The cursor stays where it is: on the bottom row, now blank.
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
    fn carriage_return_goes_back_and_overwrites() {
        let mut screen = TextScreen::new(ArrayGrid::new());
        screen.write_bytes(b"abcdef\rXY");
        assert_eq!(row_text(&screen, 0), "XYcdef");
        assert_eq!(screen.cursor(), (0, 2));
        // A tab near the right edge stops there; the next character wraps.
        screen.write_bytes(b"\r");
        screen.write_bytes(&[b'-'; WIDTH - 3]);
        screen.write_bytes(b"\t");
        assert_eq!(screen.cursor(), (0, WIDTH));
        screen.write_bytes(b"\tz");
        assert_eq!(screen.cursor(), (1, 1), "a tab at the edge does nothing");
        assert_eq!(row_text(&screen, 1), "z");
    }

    /// The screen as a simple model sees it: rows of text, where scrolling
    /// is removing the first row and pushing an empty one.
    struct Model {
        rows: Vec<String>,
        row: usize,
        column: usize,
    }

    impl Model {
        fn new() -> Self {
            Self {
                rows: vec![String::new(); HEIGHT],
                row: 0,
                column: 0,
            }
        }

        fn put(&mut self, character: char) {
            if self.column == WIDTH {
                self.new_line();
            }
            let row = &mut self.rows[self.row];
            let mut characters: Vec<char> = row.chars().collect();
            if characters.len() <= self.column {
                characters.resize(self.column + 1, ' ');
            }
            characters[self.column] = character;
            *row = characters.into_iter().collect();
            self.column += 1;
        }

        fn new_line(&mut self) {
            self.column = 0;
            if self.row == HEIGHT - 1 {
                self.rows.remove(0);
                self.rows.push(String::new());
            } else {
                self.row += 1;
            }
        }

        fn write(&mut self, byte: u8) {
            match byte {
                b'\n' => self.new_line(),
                b'\r' => self.column = 0,
                b'\t' => {
                    let stop = ((self.column / TAB_WIDTH + 1) * TAB_WIDTH).min(WIDTH);
                    while self.column < stop {
                        self.put(' ');
                    }
                }
                0x08 if self.column > 0 => self.column -= 1,
                0x08 if self.row > 0 => (self.row, self.column) = (self.row - 1, WIDTH - 1),
                0x08 => {}
                0x20..=0x7E => self.put(byte as char),
                _ => self.put('■'),
            }
        }
    }

    /// Row `row` as text, ■ for the unprintable mark, trailing blanks cut.
    fn shown(screen: &TextScreen<ArrayGrid>, row: usize) -> String {
        let text: String = (0..WIDTH)
            .map(|column| match screen.grid().read(row, column).character {
                UNPRINTABLE => '■',
                character => character as char,
            })
            .collect();
        text.trim_end().to_string()
    }

    /// Bytes a terminal gets: mostly text, with newlines often enough to
    /// scroll many times, and every control byte the screen knows.
    fn terminal_bytes() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::strategy::Strategy;
        const BYTES: &[u8] =
            b"abcdefghijklmnopqrstuvwxyz    \n\n\n\n\r\t\t\x08\x08\x08\x01\x1b\x7f\xc3";
        proptest::collection::vec(0..BYTES.len(), 0..2500)
            .prop_map(|picks| picks.into_iter().map(|pick| BYTES[pick]).collect())
    }

    proptest::proptest! {
        /// Any stream of bytes leaves the grid and the cursor as the model
        /// says: text, wrapping, scrolling, `\r`, tabs, backspace and ■.
        #[test]
        fn agrees_with_a_model_of_rows(bytes in terminal_bytes()) {
            let mut screen = TextScreen::new(ArrayGrid::new());
            let mut model = Model::new();
            for (index, &byte) in bytes.iter().enumerate() {
                screen.write_byte(byte);
                model.write(byte);
                proptest::prop_assert_eq!(
                    screen.cursor(),
                    (model.row, model.column),
                    "cursor after byte {} ({:#04x})",
                    index,
                    byte
                );
            }
            for row in 0..HEIGHT {
                proptest::prop_assert_eq!(shown(&screen, row), model.rows[row].trim_end(), "row {}", row);
            }
            proptest::prop_assert_eq!(screen.grid().cursor, screen.cursor());
        }
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
