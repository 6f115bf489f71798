//! The system-call dispatcher: from the registers of `int 0x80` to the
//! service asked for, and the answer back in EAX.
//!
//! ```text
//!   EAX = number   EBX, ECX, EDX = arguments
//!      |
//!   dispatch ---- 1 exit(EBX) | 2 write(EBX, ECX) | 3 read(EBX, ECX)
//!      |          4 sbrk(EBX as signed) | 5 getpid() | 6 uptime()
//!      |          anything else: NoSuchCall
//!      v
//!   EAX = the value, or -errno
//! ```
//!
//! The services are a trait, [`Services`]: the kernel fills it with the
//! real calls (`syscalls.rs`), the tests with a recording double.

use crate::abi::{self, Errno};

/// What a system call can ask for.
pub trait Services {
    /// Ends the program (in the kernel, it never returns).
    fn exit(&mut self, status: i32) -> Result<u32, Errno>;
    fn write(&mut self, buffer: u32, length: u32) -> Result<u32, Errno>;
    fn read(&mut self, buffer: u32, capacity: u32) -> Result<u32, Errno>;
    fn sbrk(&mut self, increment: i32) -> Result<u32, Errno>;
    fn getpid(&mut self) -> Result<u32, Errno>;
    fn uptime(&mut self) -> Result<u32, Errno>;
}

/// The system call in `eax` with the arguments in `ebx`, `ecx` (and `edx`,
/// which no call uses yet); returns the new EAX.
pub fn dispatch(services: &mut impl Services, eax: u32, ebx: u32, ecx: u32, _edx: u32) -> u32 {
    // LAB 4.3 BEGIN: match the number (abi::SYS_*) to its service, with the arguments it takes (sbrk's is signed); an unknown number is Errno::NoSuchCall; the answer is the value, or the error's to_return()
    let result = match eax {
        abi::SYS_EXIT => services.exit(ebx as i32),
        abi::SYS_WRITE => services.write(ebx, ecx),
        abi::SYS_READ => services.read(ebx, ecx),
        abi::SYS_SBRK => services.sbrk(ebx as i32),
        abi::SYS_GETPID => services.getpid(),
        abi::SYS_UPTIME => services.uptime(),
        _ => Err(Errno::NoSuchCall),
    };
    match result {
        Ok(value) => value,
        Err(errno) => errno.to_return(),
    }
    // LAB END
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Records each call and answers with a fixed value (or an error for
    /// `read`).
    #[derive(Default)]
    struct Recorder {
        calls: Vec<(&'static str, u32, u32)>,
    }

    impl Services for Recorder {
        fn exit(&mut self, status: i32) -> Result<u32, Errno> {
            self.calls.push(("exit", status as u32, 0));
            Ok(0)
        }
        fn write(&mut self, buffer: u32, length: u32) -> Result<u32, Errno> {
            self.calls.push(("write", buffer, length));
            Ok(length)
        }
        fn read(&mut self, buffer: u32, capacity: u32) -> Result<u32, Errno> {
            self.calls.push(("read", buffer, capacity));
            Err(Errno::BadAddress)
        }
        fn sbrk(&mut self, increment: i32) -> Result<u32, Errno> {
            self.calls.push(("sbrk", increment as u32, 0));
            Ok(0xC010_8000)
        }
        fn getpid(&mut self) -> Result<u32, Errno> {
            self.calls.push(("getpid", 0, 0));
            Ok(7)
        }
        fn uptime(&mut self) -> Result<u32, Errno> {
            self.calls.push(("uptime", 0, 0));
            Ok(1234)
        }
    }

    #[test]
    fn each_number_reaches_its_service_with_its_arguments() {
        let mut services = Recorder::default();
        assert_eq!(
            dispatch(&mut services, abi::SYS_WRITE, 0xC010_0000, 5, 9),
            5
        );
        assert_eq!(
            dispatch(&mut services, abi::SYS_READ, 0xC020_0000, 80, 0),
            Errno::BadAddress.to_return()
        );
        assert_eq!(
            dispatch(&mut services, abi::SYS_SBRK, (-4096i32) as u32, 0, 0),
            0xC010_8000
        );
        assert_eq!(dispatch(&mut services, abi::SYS_GETPID, 0, 0, 0), 7);
        assert_eq!(dispatch(&mut services, abi::SYS_UPTIME, 0, 0, 0), 1234);
        dispatch(&mut services, abi::SYS_EXIT, (-3i32) as u32, 0, 0);
        assert_eq!(
            services.calls,
            [
                ("write", 0xC010_0000, 5),
                ("read", 0xC020_0000, 80),
                ("sbrk", (-4096i32) as u32, 0),
                ("getpid", 0, 0),
                ("uptime", 0, 0),
                ("exit", (-3i32) as u32, 0),
            ]
        );
    }

    proptest! {
        /// Any number that is not a system call is NoSuchCall, and reaches
        /// no service.
        #[test]
        fn unknown_numbers_reach_nothing(number in any::<u32>(), a in any::<u32>()) {
            prop_assume!(!(abi::SYS_EXIT..=abi::SYS_UPTIME).contains(&number));
            let mut services = Recorder::default();
            prop_assert_eq!(dispatch(&mut services, number, a, a, a), Errno::NoSuchCall.to_return());
            prop_assert!(services.calls.is_empty());
            prop_assert_eq!(Errno::from_return(Errno::NoSuchCall.to_return() as i32), Some(Errno::NoSuchCall));
        }
    }
}
