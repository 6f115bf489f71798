//! The system-call interface: what a program puts in which register.
//!
//! A program asks the kernel for a service with `int 0x80`, the number of
//! the call in EAX and up to three arguments in EBX, ECX and EDX. The answer
//! comes back in EAX: a value, or a negative error code. The same file is
//! compiled into the kernel and into every user program
//! (`user/lib/syscalls.rs`), so the two sides cannot disagree.
//!
//! ```text
//!   call     EAX  EBX            ECX          EDX   returns
//!   exit      1   status         -            -     never
//!   write     2   buffer         length       -     bytes written
//!   read      3   buffer         capacity     -     bytes of one line
//!   sbrk      4   increment (signed)          -     the old break
//!   getpid    5   -              -            -     the pid
//!   uptime    6   -              -            -     milliseconds since boot
//! ```

pub const SYS_EXIT: u32 = 1;
pub const SYS_WRITE: u32 = 2;
pub const SYS_READ: u32 = 3;
pub const SYS_SBRK: u32 = 4;
pub const SYS_GETPID: u32 = 5;
pub const SYS_UPTIME: u32 = 6;

/// Why a system call failed; EAX holds the negated value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum Errno {
    /// A pointer argument does not point into the program's own memory.
    BadAddress = 1,
    /// An argument is out of range (a length too large, say).
    InvalidArgument = 2,
    /// No memory for it: the break cannot move that far.
    OutOfMemory = 3,
    /// No system call has that number.
    NoSuchCall = 4,
}

impl Errno {
    /// The error a negative EAX stands for.
    pub fn from_return(value: i32) -> Option<Errno> {
        match value.checked_neg()? {
            1 => Some(Errno::BadAddress),
            2 => Some(Errno::InvalidArgument),
            3 => Some(Errno::OutOfMemory),
            4 => Some(Errno::NoSuchCall),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Errno::BadAddress => "bad address",
            Errno::InvalidArgument => "invalid argument",
            Errno::OutOfMemory => "out of memory",
            Errno::NoSuchCall => "no such system call",
        }
    }

    /// What EAX holds for it.
    pub fn to_return(self) -> u32 {
        (-(self as i32)) as u32
    }
}

/// The exit status of a program killed by the kernel (a fault, Ctrl-C):
/// 128 plus the reason, as a shell reports a signal.
pub const KILLED_BY_FAULT: i32 = 139;
pub const KILLED_BY_CTRL_C: i32 = 130;
/// The status the user runtime exits with when the program panics.
pub const PANICKED: i32 = 101;
