//! The input queue: where keystrokes and serial bytes wait for the shell.
//!
//! Two interrupt handlers (keyboard and serial) *produce* bytes; the shell
//! *consumes* them. A fixed ring buffer sits between them — no heap exists in
//! chapter 1 — guarded by an [`IrqMutex`] so a handler can never catch the
//! shell halfway through taking a byte. When the queue is full, new bytes are
//! dropped and counted rather than overwriting unread ones.

use crate::cpu::interrupts;
use crate::sync::IrqMutex;

/// A first-in, first-out ring of bytes with a fixed capacity.
pub struct ByteQueue<const CAPACITY: usize> {
    bytes: [u8; CAPACITY],
    /// Index of the oldest byte.
    head: usize,
    len: usize,
    dropped: usize,
}

impl<const CAPACITY: usize> ByteQueue<CAPACITY> {
    pub const fn new() -> Self {
        Self {
            bytes: [0; CAPACITY],
            head: 0,
            len: 0,
            dropped: 0,
        }
    }

    /// Appends `byte`; returns `false` (and counts it) if the queue is full.
    pub fn push(&mut self, byte: u8) -> bool {
        if self.len == CAPACITY {
            self.dropped += 1;
            return false;
        }
        self.bytes[(self.head + self.len) % CAPACITY] = byte;
        self.len += 1;
        true
    }

    /// Takes the oldest byte.
    pub fn pop(&mut self) -> Option<u8> {
        if self.len == 0 {
            return None;
        }
        let byte = self.bytes[self.head];
        self.head = (self.head + 1) % CAPACITY;
        self.len -= 1;
        Some(byte)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many bytes were thrown away because the queue was full.
    pub fn dropped(&self) -> usize {
        self.dropped
    }
}

impl<const CAPACITY: usize> Default for ByteQueue<CAPACITY> {
    fn default() -> Self {
        Self::new()
    }
}

static INPUT: IrqMutex<ByteQueue<512>> = IrqMutex::new(ByteQueue::new());

/// Adds a byte of input (called by the keyboard and serial handlers).
pub fn push(byte: u8) {
    INPUT.lock().push(byte);
}

/// Takes a byte if one is waiting.
pub fn try_read() -> Option<u8> {
    INPUT.lock().pop()
}

/// Waits (halting the CPU between interrupts) until a byte arrives.
/// Interrupts must be enabled, or nothing will ever arrive.
pub fn read_byte() -> u8 {
    loop {
        interrupts::disable();
        // The guard must be gone before interrupts come back on: held across
        // `enable`, an interrupt's `push` would spin on it for ever. (In
        // `if let Some(b) = INPUT.lock().pop()` the guard would live to the
        // end of the `if let`; that deadlock once hung 1 boot in 5.)
        let byte = INPUT.lock().pop();
        if let Some(byte) = byte {
            interrupts::enable();
            return byte;
        }
        // Checking and sleeping must be one step: see `enable_and_halt`.
        interrupts::enable_and_halt();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_come_out_in_order_across_the_wrap() {
        let mut queue = ByteQueue::<4>::new();
        for round in 0..3u8 {
            for i in 0..3 {
                assert!(queue.push(round * 10 + i));
            }
            for i in 0..3 {
                assert_eq!(queue.pop(), Some(round * 10 + i));
            }
        }
        assert!(queue.is_empty());
        assert_eq!(queue.pop(), None);
    }

    #[test]
    fn a_full_queue_drops_new_bytes_and_counts_them() {
        let mut queue = ByteQueue::<2>::new();
        assert!(queue.push(1));
        assert!(queue.push(2));
        assert!(!queue.push(3));
        assert_eq!(queue.dropped(), 1);
        assert_eq!(queue.len(), 2);
        assert_eq!(queue.pop(), Some(1));
        assert_eq!(queue.pop(), Some(2));
    }
}
