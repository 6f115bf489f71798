//! `x86::bits32::paging` for targets the `x86` crate is empty on (wasm32).
//! `bits32/paging.rs` is x86 0.52.0's file, unchanged (see Cargo.toml).
#![no_std]
#![allow(warnings, clippy::all)]

/// The `x86` crate's own macro, which its paging file uses for flag bits.
macro_rules! bit {
    ($x:expr) => {
        1 << $x
    };
}

pub mod bits32 {
    // Unchanged upstream code: not formatted to this workspace's style.
    #[rustfmt::skip]
    pub mod paging;
}
