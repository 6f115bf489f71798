//! Chapter 3's shell commands: look at the page tables and poke them.
//!
//! Every command prints a `name: key=value ...` summary line first, like
//! chapter 2's. `map` and `unmap` only work in the scratch window
//! (0xE0000000–0xFFBFFFFF): everything else belongs to the kernel or the
//! heap, and unmapping it from the shell would bring the kernel down.

mod pages;
mod mapping;
mod touch;
pub mod bench;
pub mod register;

pub use register::register;

use crate::address::VirtAddr;
use memory::kernel::shell::args::{Args, CommandError};

/// A virtual-address argument: a number that fits in 32 bits.
fn address<'a>(args: &mut Args<'a>, what: &'static str) -> Result<VirtAddr, CommandError<'a>> {
    let value = args.number(what)?;
    usize::try_from(value)
        .ok()
        .filter(|_| value <= u64::from(u32::MAX))
        .map(VirtAddr::new)
        .ok_or(CommandError::Usage(
            "addresses are 32-bit: at most 0xffffffff",
        ))
}
