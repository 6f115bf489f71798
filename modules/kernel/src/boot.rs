//! From GRUB to Rust: the Multiboot2 header, the entry point, and the boot
//! information.
//!
//! GRUB looks for a *Multiboot2 header* in the first 32 KiB of the kernel file,
//! loads the kernel's ELF segments where they ask to be, and jumps to `_start`
//! in 32-bit protected mode with paging off, interrupts off, and:
//!
//! - `EAX` = `0x36D76289`, the magic proving a Multiboot2 loader started us;
//! - `EBX` = the physical address of the *boot information*: a list of tags
//!   (command line, boot loader name, memory map, modules, ...).
//!
//! There is no stack yet, so `_start` points ESP at the top of the 64 KiB
//! stack reserved by `linker.ld`, pushes EBX and EAX as arguments and calls
//! `kmain` — the function each chapter's `main.rs` defines. The `multiboot2`
//! crate then reads the tags; the command line goes to [`command_line`].

use crate::command_line;
use core::sync::atomic::{AtomicU32, Ordering};
use multiboot2::{BootInformation, BootInformationHeader};

/// The value GRUB leaves in EAX.
pub const BOOTLOADER_MAGIC: u32 = 0x36D7_6289;

#[cfg(target_os = "none")]
core::arch::global_asm!(
    r#"
    // The Multiboot2 header: magic, architecture (0 = i386 protected mode),
    // header length, a checksum that makes the four fields sum to 0 (mod 2^32),
    // and an empty list of tags (just the end tag, type 0, size 8).
    .section .multiboot, "a"
    .p2align 3
multiboot2_header:
    .long 0xE85250D6
    .long 0
    .long multiboot2_header_end - multiboot2_header
    .long 0x100000000 - (0xE85250D6 + (multiboot2_header_end - multiboot2_header))
    .short 0
    .short 0
    .long 8
multiboot2_header_end:

    .section .text.boot, "ax"
    .global _start
_start:
    mov esp, offset __stack_top
    sub esp, 8               // keep ESP 16-byte aligned at the call, as the ABI wants
    xor ebp, ebp             // a zero frame pointer ends stack traces here
    push ebx                 // kmain(magic, boot_info_addr)
    push eax
    call kmain
1:  cli
    hlt
    jmp 1b
"#
);

static BOOT_INFO_ADDRESS: AtomicU32 = AtomicU32::new(0);

/// Checks the magic and remembers where the boot information is. A kernel not
/// started by a Multiboot2 loader cannot know its memory, so it stops here
/// with a message rather than guess.
pub fn init(magic: u32, boot_info_addr: u32) {
    assert_eq!(
        magic, BOOTLOADER_MAGIC,
        "not started by a Multiboot2 boot loader: EAX={magic:#x}, expected {BOOTLOADER_MAGIC:#x}"
    );
    // SAFETY: the magic proves EBX points at a Multiboot2 information
    // structure that the loader placed in memory we do not otherwise use.
    let loaded = unsafe { BootInformation::load(boot_info_addr as *const BootInformationHeader) };
    let info = match loaded {
        Ok(info) => info,
        Err(error) => {
            panic!("the Multiboot2 boot information at {boot_info_addr:#x} is malformed: {error:?}")
        }
    };
    if let Some(text) = info.command_line_tag().and_then(|tag| tag.cmdline().ok()) {
        // SAFETY: the text lies inside the boot information, which stays
        // where GRUB put it, unchanged, for the kernel's whole life (later
        // chapters reserve its frames; nothing writes to it), so it may be
        // borrowed for 'static like `info()` below borrows all of it.
        command_line::set(unsafe { &*(text as *const str) });
    }
    BOOT_INFO_ADDRESS.store(boot_info_addr, Ordering::Relaxed);
}

/// The boot information GRUB passed.
///
/// Panics if called before [`init`] validated it.
pub fn info() -> BootInformation<'static> {
    let address = BOOT_INFO_ADDRESS.load(Ordering::Relaxed);
    assert!(address != 0, "boot::info() called before boot::init()");
    // SAFETY: `init` loaded this address successfully, and nothing in the
    // kernel writes to the boot information afterwards.
    unsafe { BootInformation::load(address as *const BootInformationHeader) }
        .expect("validated in boot::init")
}

/// Physical address range `[start, end)` of the boot information, so later
/// chapters can keep it out of the frame allocator.
pub fn info_range() -> (usize, usize) {
    let info = info();
    (info.start_address(), info.end_address())
}

/// Where the kernel's own image and boot stack are, from the symbols
/// `linker.ld` defines. All addresses are physical (and, with identity
/// mapping, virtual too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelLayout {
    /// `[start, end)` of everything the kernel image occupies, stack included.
    pub image: (usize, usize),
    /// `[start, end)` of the code.
    pub text: (usize, usize),
    /// `[start, end)` of the read-only data.
    pub rodata: (usize, usize),
    /// The unused page just below the boot stack.
    pub stack_guard: usize,
    /// `[bottom, top)` of the boot stack; it grows down from `top`.
    pub stack: (usize, usize),
}

/// The kernel's layout in memory.
#[cfg(target_os = "none")]
pub fn kernel_layout() -> KernelLayout {
    extern "C" {
        static __kernel_start: u8;
        static __kernel_end: u8;
        static __text_start: u8;
        static __text_end: u8;
        static __rodata_start: u8;
        static __rodata_end: u8;
        static __stack_guard: u8;
        static __stack_bottom: u8;
        static __stack_top: u8;
    }
    // Only the symbols' addresses are used; nothing is read through them.
    let at = |symbol: *const u8| symbol as usize;
    KernelLayout {
        image: (at(&raw const __kernel_start), at(&raw const __kernel_end)),
        text: (at(&raw const __text_start), at(&raw const __text_end)),
        rodata: (at(&raw const __rodata_start), at(&raw const __rodata_end)),
        stack_guard: at(&raw const __stack_guard),
        stack: (at(&raw const __stack_bottom), at(&raw const __stack_top)),
    }
}
