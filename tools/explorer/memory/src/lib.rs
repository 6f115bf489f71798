//! Chapter 2's heaps and addresses, from the kernel's own source files.
//!
//! Every module here is a file of `modules/memory/src`, included with
//! `#[path]`: the browser runs the code the kernel runs, not a copy. The
//! one thing the files need that is not plain `core` is chapter 1's lock,
//! `kernel::sync::IrqMutex`, which `heap/locked.rs` uses for the kernel's
//! `#[global_allocator]`. The explorers never take that lock (they drive a
//! heap directly, as the host tests do), but the file must compile: `sync`
//! below stands in for chapter 1's, a plain spin lock (there are no
//! interrupts to turn off in a browser), and `kernel` names this crate.
#![no_std]

/// `kernel::sync::IrqMutex` in `heap/locked.rs` resolves to [`sync`] below.
extern crate self as kernel;

#[path = "../../../../modules/memory/src/address.rs"]
pub mod address;

#[path = "../../../../modules/memory/src/heap/mod.rs"]
pub mod heap;

/// Chapter 1's `IrqMutex`, without the interrupts: the same names and
/// signatures over `spin::Mutex`.
pub mod sync {
    use core::ops::{Deref, DerefMut};

    /// A spin lock with the interface of chapter 1's `IrqMutex`.
    pub struct IrqMutex<T> {
        inner: spin::Mutex<T>,
    }

    /// Proof that the lock is held.
    pub struct IrqMutexGuard<'a, T> {
        guard: spin::MutexGuard<'a, T>,
    }

    impl<T> IrqMutex<T> {
        pub const fn new(value: T) -> Self {
            Self {
                inner: spin::Mutex::new(value),
            }
        }

        pub fn lock(&self) -> IrqMutexGuard<'_, T> {
            IrqMutexGuard {
                guard: self.inner.lock(),
            }
        }

        pub fn try_lock(&self) -> Option<IrqMutexGuard<'_, T>> {
            self.inner.try_lock().map(|guard| IrqMutexGuard { guard })
        }

        pub fn is_locked(&self) -> bool {
            self.inner.is_locked()
        }
    }

    impl<T> Deref for IrqMutexGuard<'_, T> {
        type Target = T;
        fn deref(&self) -> &T {
            &self.guard
        }
    }

    impl<T> DerefMut for IrqMutexGuard<'_, T> {
        fn deref_mut(&mut self) -> &mut T {
            &mut self.guard
        }
    }
}
