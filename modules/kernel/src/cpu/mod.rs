//! The CPU's own structures: segments, interrupt gates and the trap path.
//! Read them in this order:
//!
//! - [`gdt`]: the Global Descriptor Table (flat segments and a TSS);
//! - [`trap_frame`]: the registers a trap saves;
//! - [`exceptions`]: names and decoded reports for the 32 CPU exceptions,
//!   and the one fatal path for those nobody handles;
//! - [`trap`]: the stubs, the dispatcher, and handler registration;
//! - [`idt`]: the Interrupt Descriptor Table, pointing every vector at a stub.
//!
//! (Turning interrupts on and off is `interrupts.rs`, before all of this:
//! the locks need it.)

pub mod gdt;
pub mod trap_frame;
pub mod exceptions;
pub mod trap;
pub mod idt;
