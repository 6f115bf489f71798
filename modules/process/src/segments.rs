//! The segments of user code: the flat code and data segments again, at
//! privilege level 3, added to chapter 1's GDT.
//!
//! The privilege level a program runs at is the low two bits of CS. To run
//! code in ring 3 the kernel loads CS with a selector of a DPL-3 code
//! segment (and SS, DS, ES with a DPL-3 data segment); the CPU then refuses
//! that code every DPL-0 descriptor, every privileged instruction (`cli`,
//! `hlt`, `in`, `out`, loading CR3), and every page whose U/S bit is clear.
//!
//! ```text
//! index  selector      descriptor
//!   5    0x2B (RPL 3)  user code: base 0, limit 4 GiB, execute/read, DPL 3
//!   6    0x33 (RPL 3)  user data: base 0, limit 4 GiB, read/write, DPL 3
//! ```
//!
//! (The indices follow chapter 3's double-fault TSS; the selectors are
//! whatever `gdt::add_segment` returns.)

use paging::memory::kernel::cpu::gdt;
use spin::Once;
use x86::segmentation::{
    BuildDescriptor, CodeSegmentType, DataSegmentType, DescriptorBuilder, SegmentDescriptorBuilder,
    SegmentSelector,
};
use x86::Ring;

static SELECTORS: Once<(SegmentSelector, SegmentSelector)> = Once::new();

/// Adds the two segments (once).
pub fn init() {
    SELECTORS.call_once(|| {
        let code = DescriptorBuilder::code_descriptor(0, 0xF_FFFF, CodeSegmentType::ExecuteRead)
            .present()
            .dpl(Ring::Ring3)
            .db()
            .limit_granularity_4kb()
            .finish();
        let data = DescriptorBuilder::data_descriptor(0, 0xF_FFFF, DataSegmentType::ReadWrite)
            .present()
            .dpl(Ring::Ring3)
            .db()
            .limit_granularity_4kb()
            .finish();
        let full = |_| panic!("chapter 1's GDT has no room for the user segments");
        (
            gdt::add_segment(code, Ring::Ring3).unwrap_or_else(full),
            gdt::add_segment(data, Ring::Ring3).unwrap_or_else(full),
        )
    });
}

/// The user code segment's selector (RPL 3).
pub fn user_code() -> u16 {
    SELECTORS.get().expect("segments::init has run").0.bits()
}

/// The user data segment's selector (RPL 3), also the stack's.
pub fn user_data() -> u16 {
    SELECTORS.get().expect("segments::init has run").1.bits()
}
