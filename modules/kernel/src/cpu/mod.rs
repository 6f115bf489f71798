//! The CPU's own structures: segments, interrupt gates and the trap path.
//!
//! - [`gdt`]: the Global Descriptor Table (flat segments and a TSS);
//! - [`idt`]: the Interrupt Descriptor Table, pointing every vector at a stub;
//! - [`trap`]: the stubs, the saved register frame and the dispatcher;
//! - [`exceptions`]: names and decoded reports for the 32 CPU exceptions;
//! - [`interrupts`]: turning interrupts on and off, and waiting for one.

pub mod exceptions;
pub mod gdt;
pub mod idt;
pub mod interrupts;
pub mod trap;
