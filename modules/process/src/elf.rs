//! Reading a program: the ELF32 executable format, checked field by field.
//!
//! A user program arrives as a file that GRUB loaded into memory (a
//! Multiboot2 *module*). Before the kernel maps a single page for it, every
//! field it will rely on is checked here, because the file comes from
//! outside the kernel: a truncated file, a header that points past the end,
//! a segment that would land on the kernel, or one that is writable *and*
//! executable is refused with a message that says which field is wrong.
//!
//! An ELF executable is a header, a table of *program headers* and the
//! bytes they point at. Only the program headers matter for running it:
//! each `PT_LOAD` entry says "copy `filesz` bytes from `offset` in the file
//! to virtual address `vaddr`, and zero the rest up to `memsz`" (the zeroed
//! tail is the program's `.bss`).
//!
//! ```text
//!  file                                    address space
//!  +-------------------+ 0
//!  | ELF header (52 B) |  e_entry, e_phoff, e_phnum ...
//!  +-------------------+ e_phoff
//!  | program header 0  |---+  PT_LOAD R-X   vaddr 0xC010_0000 --> text
//!  | program header 1  |-+ |  PT_LOAD RW-   vaddr 0xC010_2000 --> data+bss
//!  +-------------------+ | |
//!  | .text bytes       |<+-|- offset, filesz       memsz >= filesz:
//!  | .data bytes       |<+    offset, filesz       the rest is zeroed
//!  +-------------------+
//! ```
//!
//! The parser is plain code over a byte slice, so the host tests feed it
//! random bytes and mutated headers: whatever the bytes, it returns a
//! program or an error, and never panics or reads out of bounds.

use core::fmt;
use core::ops::Range;

/// The most `PT_LOAD` segments a program may have. A Rust program linked by
/// `user.ld` has two or three (text, read-only data, and data and bss when
/// it has any).
pub const MAX_SEGMENTS: usize = 8;
/// Page size: segments are mapped page by page.
const PAGE: u32 = 4096;

const HEADER_SIZE: usize = 52;
const PROGRAM_HEADER_SIZE: usize = 32;
const SECTION_HEADER_SIZE: u16 = 40;

// e_ident and the fixed fields of a 32-bit little-endian x86 executable.
const MAGIC: [u8; 4] = [0x7F, b'E', b'L', b'F'];
const CLASS_32: u8 = 1;
const DATA_LITTLE_ENDIAN: u8 = 1;
const VERSION_CURRENT: u8 = 1;
const OSABI_SYSV: u8 = 0;
const TYPE_EXECUTABLE: u16 = 2;
const MACHINE_386: u16 = 3;

// Program header types.
const PT_NULL: u32 = 0;
const PT_LOAD: u32 = 1;
const PT_DYNAMIC: u32 = 2;
const PT_INTERP: u32 = 3;
const PT_NOTE: u32 = 4;
const PT_PHDR: u32 = 6;
const PT_TLS: u32 = 7;
const PT_GNU_STACK: u32 = 0x6474_E551;
const PT_GNU_RELRO: u32 = 0x6474_E552;

/// Segment permission flags (`p_flags`).
pub const PF_X: u32 = 1;
pub const PF_W: u32 = 2;
pub const PF_R: u32 = 4;

/// What is wrong with a file, precisely enough to fix it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElfError {
    /// Shorter than the 52-byte ELF header.
    TooShort { len: usize },
    /// The first four bytes are not `\x7fELF`.
    NotElf,
    /// A field of the header has a value Strata cannot run.
    BadField {
        field: &'static str,
        value: u32,
        expected: &'static str,
    },
    /// A table or segment reaches past the end of the file.
    OutsideFile {
        what: &'static str,
        index: usize,
        end: u64,
        len: usize,
    },
    /// A program header of a kind that needs what Strata does not have
    /// (dynamic linking, an interpreter, thread-local storage).
    Unsupported { index: usize, kind: u32 },
    /// More loadable segments than [`MAX_SEGMENTS`], or none.
    SegmentCount { count: usize },
    /// A segment's file part is larger than its memory part.
    FileLargerThanMemory { index: usize },
    /// A segment's address and file offset disagree modulo its alignment.
    Misaligned { index: usize },
    /// A segment lies (partly) outside the user region.
    OutsideUserRegion { index: usize, start: u64, end: u64 },
    /// Two segments share a page.
    Overlap { first: usize, second: usize },
    /// A segment both writable and executable: refused (W^X).
    WritableAndExecutable { index: usize },
    /// The entry point is not inside an executable segment.
    EntryNotExecutable { entry: u32 },
}

impl fmt::Display for ElfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ElfError::TooShort { len } => {
                write!(f, "{len} bytes is too short for an ELF header ({HEADER_SIZE} bytes)")
            }
            ElfError::NotElf => write!(f, "not an ELF file (no \\x7fELF magic)"),
            ElfError::BadField {
                field,
                value,
                expected,
            } => write!(f, "{field} is {value:#x}, expected {expected}"),
            ElfError::OutsideFile {
                what,
                index,
                end,
                len,
            } => write!(
                f,
                "{what} {index} ends at byte {end:#x}, past the end of the {len}-byte file"
            ),
            ElfError::Unsupported { index, kind } => write!(
                f,
                "program header {index} has type {kind:#x} (dynamic linking, interpreters and TLS are not supported)"
            ),
            ElfError::SegmentCount { count } => write!(
                f,
                "{count} loadable segments; a program needs 1 to {MAX_SEGMENTS}"
            ),
            ElfError::FileLargerThanMemory { index } => {
                write!(f, "segment {index} has more bytes in the file than in memory")
            }
            ElfError::Misaligned { index } => write!(
                f,
                "segment {index}'s address and file offset differ modulo its alignment"
            ),
            ElfError::OutsideUserRegion { index, start, end } => write!(
                f,
                "segment {index} ({start:#x}..{end:#x}) is outside the user region"
            ),
            ElfError::Overlap { first, second } => {
                write!(f, "segments {first} and {second} share a page")
            }
            ElfError::WritableAndExecutable { index } => {
                write!(f, "segment {index} is writable and executable (W^X)")
            }
            ElfError::EntryNotExecutable { entry } => {
                write!(f, "the entry point {entry:#x} is not in an executable segment")
            }
        }
    }
}

/// One loadable segment, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// Where it goes; `vaddr + memsz` is inside the user region.
    pub vaddr: u32,
    pub memsz: u32,
    /// The bytes to copy: `offset .. offset + filesz` of the file.
    pub offset: u32,
    pub filesz: u32,
    /// `PF_R | PF_W | PF_X`.
    pub flags: u32,
}

impl Segment {
    pub fn writable(&self) -> bool {
        self.flags & PF_W != 0
    }

    pub fn executable(&self) -> bool {
        self.flags & PF_X != 0
    }

    /// The pages it covers, as addresses: `[first page, end of last page)`.
    pub fn pages(&self) -> Range<u32> {
        let start = self.vaddr - self.vaddr % PAGE;
        // Checked at parse time: no overflow inside the user region.
        let end = (self.vaddr + self.memsz).next_multiple_of(PAGE);
        start..end
    }

    /// The file bytes of the segment.
    pub fn bytes<'a>(&self, file: &'a [u8]) -> &'a [u8] {
        &file[self.offset as usize..(self.offset + self.filesz) as usize]
    }
}

/// A checked executable: where to start, and what to load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    pub entry: u32,
    segments: [Segment; MAX_SEGMENTS],
    count: usize,
}

impl Program {
    pub fn segments(&self) -> &[Segment] {
        &self.segments[..self.count]
    }

    /// The first address above every segment, page-aligned: where the
    /// program's heap (its *break*) starts.
    pub fn end(&self) -> u32 {
        self.segments()
            .iter()
            .map(|segment| segment.pages().end)
            .max()
            .unwrap_or(0)
    }
}

/// Little-endian reads at fixed offsets of a slice known to be long enough.
fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

fn expect(
    field: &'static str, value: u32, wanted: u32, expected: &'static str,
) -> Result<(), ElfError> {
    if value == wanted {
        Ok(())
    } else {
        Err(ElfError::BadField {
            field,
            value,
            expected,
        })
    }
}

/// Checks `file` as a program for the user region `user` (virtual
/// addresses) and returns what to load.
pub fn parse(file: &[u8], user: Range<u32>) -> Result<Program, ElfError> {
    if file.len() < HEADER_SIZE {
        return Err(ElfError::TooShort { len: file.len() });
    }
    if file[..4] != MAGIC {
        return Err(ElfError::NotElf);
    }
    expect("EI_CLASS", file[4].into(), CLASS_32.into(), "1 (32-bit)")?;
    expect(
        "EI_DATA",
        file[5].into(),
        DATA_LITTLE_ENDIAN.into(),
        "1 (little-endian)",
    )?;
    expect("EI_VERSION", file[6].into(), VERSION_CURRENT.into(), "1")?;
    expect(
        "EI_OSABI",
        file[7].into(),
        OSABI_SYSV.into(),
        "0 (System V)",
    )?;
    expect(
        "e_type",
        u16_at(file, 16).into(),
        TYPE_EXECUTABLE.into(),
        "2 (executable)",
    )?;
    expect(
        "e_machine",
        u16_at(file, 18).into(),
        MACHINE_386.into(),
        "3 (i386)",
    )?;
    expect("e_version", u32_at(file, 20), 1, "1")?;
    let entry = u32_at(file, 24);
    let phoff = u32_at(file, 28);
    let shoff = u32_at(file, 32);
    expect("e_flags", u32_at(file, 36), 0, "0")?;
    expect(
        "e_ehsize",
        u16_at(file, 40).into(),
        HEADER_SIZE as u32,
        "52",
    )?;
    expect(
        "e_phentsize",
        u16_at(file, 42).into(),
        PROGRAM_HEADER_SIZE as u32,
        "32",
    )?;
    let phnum = usize::from(u16_at(file, 44));
    let shentsize = u16_at(file, 46);
    let shnum = u16_at(file, 48);
    let shstrndx = u16_at(file, 50);
    // Section headers are not needed to run a program, but a file whose
    // section table points outside it is damaged: refuse it too.
    if shnum != 0 {
        expect(
            "e_shentsize",
            shentsize.into(),
            SECTION_HEADER_SIZE.into(),
            "40",
        )?;
        let end = u64::from(shoff) + u64::from(shnum) * u64::from(SECTION_HEADER_SIZE);
        if end > file.len() as u64 {
            return Err(ElfError::OutsideFile {
                what: "the section header table",
                index: 0,
                end,
                len: file.len(),
            });
        }
        if shstrndx >= shnum {
            return Err(ElfError::BadField {
                field: "e_shstrndx",
                value: shstrndx.into(),
                expected: "below e_shnum",
            });
        }
    }
    let table_end = u64::from(phoff) + (phnum * PROGRAM_HEADER_SIZE) as u64;
    if table_end > file.len() as u64 {
        return Err(ElfError::OutsideFile {
            what: "the program header table",
            index: 0,
            end: table_end,
            len: file.len(),
        });
    }
    let mut program = Program {
        entry,
        segments: [Segment {
            vaddr: 0,
            memsz: 0,
            offset: 0,
            filesz: 0,
            flags: 0,
        }; MAX_SEGMENTS],
        count: 0,
    };
    for index in 0..phnum {
        let at = phoff as usize + index * PROGRAM_HEADER_SIZE;
        let header = &file[at..at + PROGRAM_HEADER_SIZE];
        let kind = u32_at(header, 0);
        match kind {
            PT_LOAD => {}
            PT_NULL | PT_NOTE | PT_PHDR | PT_GNU_STACK | PT_GNU_RELRO => continue,
            PT_DYNAMIC | PT_INTERP | PT_TLS => return Err(ElfError::Unsupported { index, kind }),
            // Other kinds (processor- or OS-specific) carry nothing to load.
            _ => continue,
        }
        let segment = Segment {
            offset: u32_at(header, 4),
            vaddr: u32_at(header, 8),
            filesz: u32_at(header, 16),
            memsz: u32_at(header, 20),
            flags: u32_at(header, 24),
        };
        let align = u32_at(header, 28);
        if segment.memsz == 0 && segment.filesz == 0 {
            // An empty segment (a linker script's empty section) loads nothing.
            continue;
        }
        check_segment(file, &user, index, &segment, align)?;
        if program.count == MAX_SEGMENTS {
            return Err(ElfError::SegmentCount {
                count: program.count + 1,
            });
        }
        for (other, earlier) in program.segments().iter().enumerate() {
            let (a, b) = (earlier.pages(), segment.pages());
            if a.start < b.end && b.start < a.end {
                return Err(ElfError::Overlap {
                    first: other,
                    second: program.count,
                });
            }
        }
        program.segments[program.count] = segment;
        program.count += 1;
    }
    if program.count == 0 {
        return Err(ElfError::SegmentCount { count: 0 });
    }
    let runs_entry = program
        .segments()
        .iter()
        .any(|s| s.executable() && (s.vaddr..s.vaddr + s.memsz).contains(&entry));
    if !runs_entry {
        return Err(ElfError::EntryNotExecutable { entry });
    }
    Ok(program)
}

/// The checks on one `PT_LOAD` program header.
fn check_segment(
    file: &[u8], user: &Range<u32>, index: usize, segment: &Segment, align: u32,
) -> Result<(), ElfError> {
    let file_end = u64::from(segment.offset) + u64::from(segment.filesz);
    if file_end > file.len() as u64 {
        return Err(ElfError::OutsideFile {
            what: "segment",
            index,
            end: file_end,
            len: file.len(),
        });
    }
    if segment.filesz > segment.memsz {
        return Err(ElfError::FileLargerThanMemory { index });
    }
    if align > 1 && (!align.is_power_of_two() || segment.vaddr % align != segment.offset % align) {
        return Err(ElfError::Misaligned { index });
    }
    let start = u64::from(segment.vaddr);
    let end = start + u64::from(segment.memsz);
    if segment.memsz == 0 || start < u64::from(user.start) || end > u64::from(user.end) {
        return Err(ElfError::OutsideUserRegion { index, start, end });
    }
    if segment.flags & PF_W != 0 && segment.flags & PF_X != 0 {
        return Err(ElfError::WritableAndExecutable { index });
    }
    let known = PF_R | PF_W | PF_X;
    if segment.flags & !known != 0 {
        return Err(ElfError::BadField {
            field: "p_flags",
            value: segment.flags,
            expected: "R, W and X bits only",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const USER: Range<u32> = 0x4000_0000..0x4800_0000;

    /// A little ELF executable: the header, then one program header per
    /// `(vaddr, memsz, filesz, flags)`, then each segment's bytes.
    fn elf(entry: u32, segments: &[(u32, u32, u32, u32)]) -> Vec<u8> {
        let phoff = HEADER_SIZE as u32;
        let data_start = phoff + (segments.len() * PROGRAM_HEADER_SIZE) as u32;
        let mut file = vec![0u8; HEADER_SIZE];
        file[..4].copy_from_slice(&MAGIC);
        file[4..8].copy_from_slice(&[CLASS_32, DATA_LITTLE_ENDIAN, VERSION_CURRENT, OSABI_SYSV]);
        let put16 = |file: &mut Vec<u8>, at: usize, v: u16| {
            file[at..at + 2].copy_from_slice(&v.to_le_bytes())
        };
        let put32 = |file: &mut Vec<u8>, at: usize, v: u32| {
            file[at..at + 4].copy_from_slice(&v.to_le_bytes())
        };
        put16(&mut file, 16, TYPE_EXECUTABLE);
        put16(&mut file, 18, MACHINE_386);
        put32(&mut file, 20, 1);
        put32(&mut file, 24, entry);
        put32(&mut file, 28, phoff);
        put16(&mut file, 40, HEADER_SIZE as u16);
        put16(&mut file, 42, PROGRAM_HEADER_SIZE as u16);
        put16(&mut file, 44, segments.len() as u16);
        let mut offset = data_start.next_multiple_of(PAGE);
        let mut bodies = Vec::new();
        for &(vaddr, memsz, filesz, flags) in segments {
            // The offset agrees with the address modulo a page.
            offset += (vaddr % PAGE + PAGE - offset % PAGE) % PAGE;
            let mut header = vec![0u8; PROGRAM_HEADER_SIZE];
            for (at, value) in [
                (0, PT_LOAD),
                (4, offset),
                (8, vaddr),
                (12, vaddr),
                (16, filesz),
                (20, memsz),
                (24, flags),
                (28, PAGE),
            ] {
                header[at..at + 4].copy_from_slice(&u32::to_le_bytes(value));
            }
            file.extend_from_slice(&header);
            bodies.push((offset, filesz));
            offset += filesz;
        }
        for (at, filesz) in bodies {
            file.resize(at as usize, 0);
            file.extend((0..filesz).map(|i| i as u8));
        }
        file
    }

    /// Text, read-only data and data+bss, as `user.ld` lays them out.
    fn three_segments() -> Vec<u8> {
        elf(
            0x4000_0010,
            &[
                (0x4000_0000, 0x1800, 0x1800, PF_R | PF_X),
                (0x4000_2000, 0x100, 0x100, PF_R),
                (0x4000_3000, 0x3000, 0x40, PF_R | PF_W),
            ],
        )
    }

    fn set(file: &mut [u8], at: usize, bytes: &[u8]) {
        file[at..at + bytes.len()].copy_from_slice(bytes);
    }

    #[test]
    fn a_well_formed_program_is_read_segment_by_segment() {
        let file = three_segments();
        let program = parse(&file, USER).unwrap();
        assert_eq!(program.entry, 0x4000_0010);
        let segments = program.segments();
        assert_eq!(segments.len(), 3);
        assert!(segments[0].executable() && !segments[0].writable());
        assert!(segments[2].writable() && !segments[2].executable());
        assert_eq!(segments[2].pages(), 0x4000_3000..0x4000_6000);
        assert_eq!(
            segments[1].bytes(&file),
            &(0..0x100).map(|i| i as u8).collect::<Vec<_>>()[..]
        );
        assert_eq!(program.end(), 0x4000_6000, "the break starts above the bss");
    }

    #[test]
    fn every_header_field_is_checked() {
        let cases: &[(usize, &[u8], &str)] = &[
            (4, &[2], "EI_CLASS"),
            (5, &[2], "EI_DATA"),
            (6, &[0], "EI_VERSION"),
            (7, &[3], "EI_OSABI"),
            (16, &[3, 0], "e_type"),
            (18, &[0x3E, 0], "e_machine"),
            (20, &[2, 0, 0, 0], "e_version"),
            (36, &[1, 0, 0, 0], "e_flags"),
            (40, &[64, 0], "e_ehsize"),
            (42, &[56, 0], "e_phentsize"),
        ];
        for &(at, bytes, field) in cases {
            let mut file = three_segments();
            set(&mut file, at, bytes);
            match parse(&file, USER) {
                Err(ElfError::BadField { field: got, .. }) => assert_eq!(got, field),
                other => panic!("{field}: {other:?}"),
            }
        }
        let mut file = three_segments();
        set(&mut file, 0, b"\x7fELG");
        assert_eq!(parse(&file, USER), Err(ElfError::NotElf));
        // A section table that points past the end of the file.
        let mut file = three_segments();
        set(&mut file, 32, &0xFFFF_0000u32.to_le_bytes());
        set(&mut file, 46, &[40, 0, 3, 0, 1, 0]);
        assert!(matches!(
            parse(&file, USER),
            Err(ElfError::OutsideFile {
                what: "the section header table",
                ..
            })
        ));
    }

    #[test]
    fn every_prefix_of_a_program_is_refused_without_a_panic() {
        let file = three_segments();
        for len in 0..file.len() {
            assert!(parse(&file[..len], USER).is_err(), "{len} bytes");
        }
        assert_eq!(
            parse(&file[..10], USER),
            Err(ElfError::TooShort { len: 10 })
        );
    }

    #[test]
    fn segments_must_stay_in_the_user_region_and_apart() {
        let at = |vaddr: u32, memsz: u32, flags: u32| {
            elf(
                0x4000_0000,
                &[
                    (0x4000_0000, 0x1000, 0x10, PF_R | PF_X),
                    (vaddr, memsz, 0x10, flags),
                ],
            )
        };
        // On the kernel, across the region's end, and wrapping around 4 GiB.
        for (vaddr, memsz) in [
            (0x0010_0000, 0x1000),
            (0x47FF_F000, 0x2000),
            (0xFFFF_F000, 0x2000),
        ] {
            assert!(
                matches!(
                    parse(&at(vaddr, memsz, PF_R), USER),
                    Err(ElfError::OutsideUserRegion { index: 1, .. })
                ),
                "{vaddr:#x}"
            );
        }
        assert_eq!(
            parse(&at(0x4000_0800, 0x10, PF_R), USER),
            Err(ElfError::Overlap {
                first: 0,
                second: 1
            })
        );
        assert_eq!(
            parse(&at(0x4000_1000, 0x10, PF_R | PF_W | PF_X), USER),
            Err(ElfError::WritableAndExecutable { index: 1 })
        );
        assert_eq!(
            parse(&at(0x4000_1000, 0x8, PF_R), USER),
            Err(ElfError::FileLargerThanMemory { index: 1 })
        );
        assert!(matches!(
            parse(&at(0x4000_1000, 0x10, PF_R | 0x100), USER),
            Err(ElfError::BadField {
                field: "p_flags",
                ..
            })
        ));
    }

    #[test]
    fn the_entry_must_be_in_an_executable_segment() {
        let file = elf(
            0x4000_2000,
            &[
                (0x4000_0000, 0x1000, 0x10, PF_R | PF_X),
                (0x4000_2000, 0x1000, 0x10, PF_R | PF_W),
            ],
        );
        assert_eq!(
            parse(&file, USER),
            Err(ElfError::EntryNotExecutable { entry: 0x4000_2000 })
        );
        assert_eq!(
            parse(&elf(0x4000_0000, &[]), USER),
            Err(ElfError::SegmentCount { count: 0 })
        );
    }

    #[test]
    fn dynamic_programs_and_files_cut_short_are_refused() {
        let mut file = three_segments();
        // Program header 1 becomes PT_INTERP.
        set(
            &mut file,
            HEADER_SIZE + PROGRAM_HEADER_SIZE,
            &PT_INTERP.to_le_bytes(),
        );
        assert_eq!(
            parse(&file, USER),
            Err(ElfError::Unsupported {
                index: 1,
                kind: PT_INTERP
            })
        );
        let mut file = three_segments();
        // Segment 0's bytes reach past the end of the file.
        set(&mut file, HEADER_SIZE + 16, &0x10_0000u32.to_le_bytes());
        set(&mut file, HEADER_SIZE + 20, &0x10_0000u32.to_le_bytes());
        assert!(matches!(
            parse(&file, USER),
            Err(ElfError::OutsideFile {
                what: "segment",
                index: 0,
                ..
            })
        ));
        let mut file = three_segments();
        set(&mut file, 44, &[0xFF, 0xFF]);
        assert!(matches!(
            parse(&file, USER),
            Err(ElfError::OutsideFile {
                what: "the program header table",
                ..
            })
        ));
        let mut file = three_segments();
        // An alignment that is not a power of two.
        set(&mut file, HEADER_SIZE + 28, &3u32.to_le_bytes());
        assert_eq!(parse(&file, USER), Err(ElfError::Misaligned { index: 0 }));
    }

    #[test]
    fn errors_read_as_sentences() {
        let message = ElfError::OutsideUserRegion {
            index: 2,
            start: 0x100000,
            end: 0x101000,
        }
        .to_string();
        assert_eq!(
            message,
            "segment 2 (0x100000..0x101000) is outside the user region"
        );
        assert!(ElfError::TooShort { len: 3 }
            .to_string()
            .contains("too short"));
    }

    proptest! {
        /// Random bytes, and random damage to a good file: an answer every
        /// time, and a program only if everything it says holds.
        #[test]
        fn no_bytes_make_it_panic(
            random in prop::collection::vec(any::<u8>(), 0..400),
            damage in prop::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        ) {
            let _ = parse(&random, USER);
            let mut file = three_segments();
            for (at, byte) in damage {
                let at = at % 200;
                file[at] = byte;
            }
            if let Ok(program) = parse(&file, USER) {
                let segments = program.segments();
                prop_assert!(!segments.is_empty() && segments.len() <= MAX_SEGMENTS);
                for (i, s) in segments.iter().enumerate() {
                    prop_assert!(USER.start <= s.vaddr && s.vaddr + s.memsz <= USER.end);
                    prop_assert!(s.filesz <= s.memsz && (s.offset + s.filesz) as usize <= file.len());
                    prop_assert!(!(s.writable() && s.executable()));
                    for t in &segments[i + 1..] {
                        prop_assert!(s.pages().end <= t.pages().start || t.pages().end <= s.pages().start);
                    }
                }
                prop_assert!(segments.iter().any(|s| s.executable() && (s.vaddr..s.vaddr + s.memsz).contains(&program.entry)));
            }
        }
    }
}
