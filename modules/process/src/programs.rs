//! The programs GRUB loaded: Multiboot2 *modules*, each a file in memory
//! with a command line. `tools/make-iso.sh` writes one `module2` line per
//! program into the GRUB menu, with the program's name as its command line:
//!
//! ```text
//! menuentry "Strata process" {
//!     multiboot2 /boot/strata-process.elf
//!     module2 /boot/user/hello hello        <- a module tag: start, end, "hello"
//!     module2 /boot/user/spin spin
//! }
//! ```
//!
//! Chapter 2 reserved the modules' memory, so no frame is handed out on top
//! of them, and chapter 3's identity map covers them: the kernel reads each
//! file where GRUB put it.

use alloc::string::String;
use alloc::vec::Vec;
use paging::memory::kernel::boot;
use spin::Once;

/// A program file, as GRUB loaded it.
pub struct ProgramFile {
    pub name: String,
    pub bytes: &'static [u8],
}

static PROGRAMS: Once<Vec<ProgramFile>> = Once::new();

/// Reads the module tags (once).
pub fn init() {
    PROGRAMS.call_once(|| {
        boot::info()
            .module_tags()
            .map(|module| {
                let name = module
                    .cmdline()
                    .ok()
                    .and_then(|line| line.split_whitespace().next())
                    .unwrap_or("(unnamed)");
                let (start, end) = (
                    module.start_address() as usize,
                    module.end_address() as usize,
                );
                // SAFETY: GRUB loaded the module at [start, end); chapter 2
                // reserved that memory (nothing else is put there) and
                // chapter 3 identity-maps it; nothing writes to it.
                let bytes = unsafe { core::slice::from_raw_parts(start as *const u8, end - start) };
                ProgramFile {
                    name: String::from(name),
                    bytes,
                }
            })
            .collect()
    });
}

/// Every program, in GRUB's order.
pub fn all() -> &'static [ProgramFile] {
    PROGRAMS.get().map_or(&[], Vec::as_slice)
}

/// The program called `name`.
pub fn find(name: &str) -> Option<&'static ProgramFile> {
    all().iter().find(|program| program.name == name)
}
