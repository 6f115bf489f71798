//! The input queue: where keystrokes and serial bytes wait for the shell.
//!
//! Two interrupt handlers (keyboard and serial) *produce* bytes; the shell
//! *consumes* them. A fixed ring buffer sits between them — no heap exists in
//! chapter 1 — guarded by an [`IrqMutex`] so a handler can never catch the
//! shell halfway through taking a byte.
//!
//! A queue can fill up: paste a few hundred lines and they arrive faster
//! than the shell runs them. Two rules keep that from ever running a line
//! nobody typed:
//!
//! 1. **Producers that can wait, wait.** The serial driver moves bytes into
//!    the queue only while there is [`room`]; the rest stay in the UART,
//!    which (under QEMU) stops taking input from the host until there is
//!    space again. When the shell has emptied the queue, it calls the
//!    function the driver registered with [`on_room`] to move them in. A
//!    paste then arrives whole, just more slowly.
//! 2. **Lost bytes leave a mark.** A producer that cannot wait (a key press,
//!    a real UART whose FIFO overflowed) has its byte dropped, and the queue
//!    records an [`Input::Overrun`] *at the place in the stream where the
//!    bytes went missing*:
//!
//! ```text
//!   oldest                                        newest
//!   [e][c][h][o][ ][1][\r][f][r][e][e][ ][OVERRUN: 7 dropped]
//!                          `---- this line lost bytes: the shell discards it
//! ```
//!
//!    The last slot is kept free for that mark, so it always fits. The
//!    reader sees the mark between the bytes before and after the loss, and
//!    the line editor throws away the line it falls in.

use crate::interrupts;
use crate::sync::IrqMutex;

/// What the queue hands the reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    Byte(u8),
    /// `dropped` bytes were lost at this point of the stream.
    Overrun {
        dropped: usize,
    },
}

/// A first-in, first-out ring of [`Input`]s with a fixed capacity.
pub struct InputQueue<const CAPACITY: usize> {
    entries: [Input; CAPACITY],
    /// Index of the oldest entry.
    head: usize,
    len: usize,
    dropped: usize,
}

impl<const CAPACITY: usize> InputQueue<CAPACITY> {
    pub const fn new() -> Self {
        assert!(CAPACITY >= 2, "one slot is kept for the overrun mark");
        Self {
            entries: [Input::Byte(0); CAPACITY],
            head: 0,
            len: 0,
            dropped: 0,
        }
    }

    /// How many more bytes fit (the last slot is kept for an overrun mark).
    pub fn room(&self) -> usize {
        CAPACITY - 1 - self.len.min(CAPACITY - 1)
    }

    /// Appends `byte`; if there is no room, drops it and marks the loss.
    /// Returns whether the byte was kept.
    pub fn push(&mut self, byte: u8) -> bool {
        if self.room() > 0 {
            self.append(Input::Byte(byte));
            true
        } else {
            self.lost(1);
            false
        }
    }

    /// Records that `count` bytes were lost *here*, after everything queued
    /// so far. Consecutive losses share one mark.
    pub fn lost(&mut self, count: usize) {
        self.dropped += count;
        if let Some(Input::Overrun { dropped }) = self.newest_mut() {
            *dropped += count;
        } else {
            // Room for a mark is always left by `push`.
            self.append(Input::Overrun { dropped: count });
        }
    }

    /// Takes the oldest entry.
    pub fn pop(&mut self) -> Option<Input> {
        if self.len == 0 {
            return None;
        }
        let entry = self.entries[self.head];
        self.head = (self.head + 1) % CAPACITY;
        self.len -= 1;
        Some(entry)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many bytes were lost since boot.
    pub fn dropped(&self) -> usize {
        self.dropped
    }

    fn append(&mut self, entry: Input) {
        debug_assert!(self.len < CAPACITY);
        self.entries[(self.head + self.len) % CAPACITY] = entry;
        self.len += 1;
    }

    fn newest_mut(&mut self) -> Option<&mut Input> {
        let newest = (self.head + self.len.checked_sub(1)?) % CAPACITY;
        Some(&mut self.entries[newest])
    }
}

impl<const CAPACITY: usize> Default for InputQueue<CAPACITY> {
    fn default() -> Self {
        Self::new()
    }
}

static INPUT: IrqMutex<InputQueue<512>> = IrqMutex::new(InputQueue::new());
/// Called when the reader has emptied the queue, so a producer that
/// stopped for lack of room can move its waiting bytes in.
static ON_ROOM: spin::Once<fn()> = spin::Once::new();

/// Sees each byte before the queue does (chapter 4: Ctrl-C while a program
/// runs); it returns `true` if it took the byte.
static FILTER: spin::Once<fn(u8) -> bool> = spin::Once::new();

/// Adds a byte of input (called by the keyboard and serial handlers); a byte
/// that does not fit is dropped and the loss marked.
pub fn push(byte: u8) {
    if FILTER.get().is_some_and(|take| take(byte)) {
        return;
    }
    INPUT.lock().push(byte);
}

/// Registers the filter that sees every byte before it is queued (one may
/// be registered): a terminal's interrupt character is handled there, so
/// that it acts at once even while nothing reads the input.
pub fn set_filter(filter: fn(u8) -> bool) {
    FILTER.call_once(|| filter);
}

/// Marks that `count` bytes were lost before reaching the queue (a UART
/// reporting an overrun of its own buffer).
pub fn lost(count: usize) {
    INPUT.lock().lost(count);
}

/// How many more bytes the queue takes right now.
pub fn room() -> usize {
    INPUT.lock().room()
}

/// How many bytes were lost since boot.
pub fn dropped() -> usize {
    INPUT.lock().dropped()
}

/// Registers the function that refills the queue once it is empty (one
/// producer may wait: the serial port).
pub fn on_room(refill: fn()) {
    ON_ROOM.call_once(|| refill);
}

/// Waits (halting the CPU between interrupts) until input arrives.
/// Interrupts must be enabled, or nothing will ever arrive.
pub fn read() -> Input {
    loop {
        interrupts::disable();
        // The guard must be gone before interrupts come back on: held across
        // `enable`, an interrupt's `push` would spin on it for ever. (In
        // `if let Some(b) = INPUT.lock().pop()` the guard would live to the
        // end of the `if let`; that deadlock once hung 1 boot in 5.)
        let entry = INPUT.lock().pop();
        if let Some(entry) = entry {
            interrupts::enable();
            return entry;
        }
        // Empty: let a producer that waited for room move its bytes in. It
        // takes its own lock, so interrupts stay off only for that long.
        refill();
        if !INPUT.lock().is_empty() {
            continue;
        }
        // Checking and sleeping must be one step: see `enable_and_halt`.
        interrupts::enable_and_halt();
    }
}

/// Waits for the next byte, skipping overrun marks: for readers that do not
/// work in lines (key-driven commands, the test protocol).
pub fn read_byte() -> u8 {
    loop {
        if let Input::Byte(byte) = read() {
            return byte;
        }
    }
}

/// Takes the next byte if one is waiting, skipping overrun marks.
pub fn try_read() -> Option<u8> {
    loop {
        let entry = INPUT.lock().pop();
        match entry {
            Some(Input::Byte(byte)) => return Some(byte),
            Some(Input::Overrun { .. }) => continue,
            None => {
                refill();
                let entry = INPUT.lock().pop();
                return match entry {
                    Some(Input::Byte(byte)) => Some(byte),
                    _ => None,
                };
            }
        }
    }
}

fn refill() {
    if let Some(refill) = ON_ROOM.get() {
        refill();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes_of(queue: &mut InputQueue<8>) -> Vec<Input> {
        core::iter::from_fn(|| queue.pop()).collect()
    }

    #[test]
    fn bytes_come_out_in_order_across_the_wrap() {
        let mut queue = InputQueue::<4>::new();
        for round in 0..3u8 {
            for i in 0..3 {
                assert!(queue.push(round * 10 + i));
            }
            for i in 0..3 {
                assert_eq!(queue.pop(), Some(Input::Byte(round * 10 + i)));
            }
        }
        assert!(queue.is_empty());
        assert_eq!(queue.pop(), None);
    }

    #[test]
    fn a_full_queue_drops_new_bytes_and_marks_where() {
        let mut queue = InputQueue::<4>::new();
        assert_eq!(queue.room(), 3);
        assert!(queue.push(1));
        assert!(queue.push(2));
        assert!(queue.push(3));
        assert_eq!(queue.room(), 0);
        assert!(!queue.push(4));
        assert!(!queue.push(5));
        assert_eq!(queue.dropped(), 2);
        assert_eq!(queue.len(), 4, "three bytes and one mark");
        assert_eq!(queue.pop(), Some(Input::Byte(1)));
        // One slot is free again, but the mark must stay last: a byte after
        // it would have arrived after the loss, and still does not fit.
        assert!(!queue.push(6));
        assert_eq!(queue.pop(), Some(Input::Byte(2)));
        assert!(queue.push(7), "room again behind the mark");
        assert_eq!(queue.pop(), Some(Input::Byte(3)));
        assert_eq!(queue.pop(), Some(Input::Overrun { dropped: 3 }));
        assert_eq!(queue.pop(), Some(Input::Byte(7)));
        assert_eq!(queue.dropped(), 3);
    }

    #[test]
    fn losses_reported_from_outside_sit_between_the_bytes() {
        let mut queue = InputQueue::<8>::new();
        queue.push(b'a');
        queue.lost(5);
        queue.lost(2);
        queue.push(b'b');
        assert_eq!(
            bytes_of(&mut queue),
            [
                Input::Byte(b'a'),
                Input::Overrun { dropped: 7 },
                Input::Byte(b'b')
            ]
        );
    }
}
