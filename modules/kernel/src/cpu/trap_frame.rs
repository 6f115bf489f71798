//! The registers a trap saves: what every handler is given.
//!
//! The CPU pushes EFLAGS, CS and EIP (and, for some exceptions, an error
//! code); the stub in `trap.rs` pushes the vector (and a dummy error code
//! where the CPU pushed none) and `pushad` the general registers. Together
//! they form a [`TrapFrame`] on the stack, which `trap_common` hands to the
//! dispatcher. A handler may change it: `iretd` resumes from what it holds.

/// The registers saved on the stack when a trap happens, lowest address first.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct TrapFrame {
    pub edi: u32,
    pub esi: u32,
    pub ebp: u32,
    /// The ESP that `pushad` saw (already below the frame); see [`TrapFrame::interrupted_esp`].
    pub pushad_esp: u32,
    pub ebx: u32,
    pub edx: u32,
    pub ecx: u32,
    pub eax: u32,
    pub vector: u32,
    pub error_code: u32,
    pub eip: u32,
    pub cs: u32,
    pub eflags: u32,
}

impl TrapFrame {
    /// Whether the trap interrupted ring-3 code: the low two bits of the
    /// saved CS are the privilege level it ran at. Only then did the CPU
    /// also push the user's ESP and SS, above EFLAGS.
    pub fn from_user(&self) -> bool {
        self.cs & 3 == 3
    }

    /// The stack pointer of the interrupted code. A trap in ring 0 pushes no
    /// ESP of its own, so it is the address just above the saved EFLAGS. A
    /// trap from ring 3 switched stacks, and the CPU pushed the user's ESP
    /// (and SS) just above EFLAGS.
    pub fn interrupted_esp(&self) -> u32 {
        let eflags_slot = &self.eflags as *const u32;
        if self.from_user() {
            // SAFETY: on a trap from ring 3 the CPU pushed SS and ESP above
            // EFLAGS, on the same stack, before the rest of this frame; the
            // frame is borrowed, so they are still there.
            unsafe { eflags_slot.add(1).read() }
        } else {
            eflags_slot as u32 + 4
        }
    }
}
