//! A lock that is safe to share with interrupt handlers.
//!
//! A plain spin lock deadlocks the moment an interrupt handler tries to take a
//! lock that the code it interrupted already holds: the handler spins forever,
//! and the holder never runs again to release it. On a single CPU the cure is
//! simple: keep interrupts off for as long as the lock is held. [`IrqMutex`]
//! does exactly that, and turns them back on (if they were on) when the guard
//! is dropped. The console, the input queue and the shell's command table all
//! use it; chapter 2's heap does too.

use crate::interrupts;
use core::ops::{Deref, DerefMut};

/// A spin lock that disables interrupts while it is held.
pub struct IrqMutex<T> {
    inner: spin::Mutex<T>,
}

/// Proof that the lock is held; interrupts stay off until it is dropped.
pub struct IrqMutexGuard<'a, T> {
    // `Option` so that `drop` can release the lock *before* re-enabling
    // interrupts: the other order would open a window for an interrupt handler
    // to spin on a lock that is about to be released but never will be.
    guard: Option<spin::MutexGuard<'a, T>>,
    interrupts_were_enabled: bool,
}

impl<T> IrqMutex<T> {
    /// Creates an unlocked mutex (usable in a `static`).
    pub const fn new(value: T) -> Self {
        Self {
            inner: spin::Mutex::new(value),
        }
    }

    /// Disables interrupts, then takes the lock.
    pub fn lock(&self) -> IrqMutexGuard<'_, T> {
        let interrupts_were_enabled = interrupts::disable_and_save();
        IrqMutexGuard {
            guard: Some(self.inner.lock()),
            interrupts_were_enabled,
        }
    }

    /// Like [`lock`](Self::lock), but gives up at once if the lock is taken.
    pub fn try_lock(&self) -> Option<IrqMutexGuard<'_, T>> {
        let interrupts_were_enabled = interrupts::disable_and_save();
        match self.inner.try_lock() {
            Some(guard) => Some(IrqMutexGuard {
                guard: Some(guard),
                interrupts_were_enabled,
            }),
            None => {
                interrupts::restore(interrupts_were_enabled);
                None
            }
        }
    }

    /// Whether someone holds the lock right now.
    pub fn is_locked(&self) -> bool {
        self.inner.is_locked()
    }

    /// Releases the lock without a guard.
    ///
    /// # Safety
    /// Only for the last-resort paths (a panic or a fatal CPU exception) where
    /// the holder will never run again: on one CPU, a held lock seen from a
    /// panic handler belongs to the code the panic interrupted.
    pub unsafe fn force_unlock(&self) {
        // SAFETY: the caller guarantees that the holder never runs again.
        unsafe { self.inner.force_unlock() }
    }
}

impl<T> Deref for IrqMutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.guard.as_ref().expect("guard is present until drop")
    }
}

impl<T> DerefMut for IrqMutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.guard.as_mut().expect("guard is present until drop")
    }
}

impl<T> Drop for IrqMutexGuard<'_, T> {
    fn drop(&mut self) {
        drop(self.guard.take());
        interrupts::restore(self.interrupts_were_enabled);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_gives_exclusive_access_and_releases_on_drop() {
        let mutex = IrqMutex::new(5);
        {
            let mut guard = mutex.lock();
            *guard += 1;
            assert!(mutex.is_locked());
            assert!(
                mutex.try_lock().is_none(),
                "a held lock cannot be taken twice"
            );
        }
        assert!(!mutex.is_locked());
        assert_eq!(*mutex.lock(), 6);
    }
}
