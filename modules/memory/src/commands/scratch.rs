//! Scratch space for commands that look at the heap.
//!
//! A command that draws or lists the heap must not allocate from it: it
//! would change what it is about to show (`heapmap` would draw its own
//! buffer), and on a full heap the allocation would fail. So such a command
//! borrows a few whole frames straight from the frame allocator, uses them
//! as a plain array, and gives them back when it is done. A heap debugger
//! that runs beside a user program does the same with `mmap`.
//!
//! The frames are RAM that the kernel reaches at its physical address: with
//! paging off (this chapter), and through the identity map of RAM once
//! paging is on (chapter 3).

use crate::frames::{Frame, FrameError, Owner, FRAME_SIZE};
use crate::setup::frames;
use core::mem::{align_of, size_of};

/// Up to `capacity` values of `T`, in frames borrowed from the frame
/// allocator; the frames go back when it is dropped.
pub struct ScratchVec<T: Copy> {
    first: Frame,
    frames: usize,
    capacity: usize,
    len: usize,
    _items: core::marker::PhantomData<T>,
}

impl<T: Copy> ScratchVec<T> {
    /// Room for `capacity` values (at least one frame's worth).
    pub fn with_capacity(capacity: usize) -> Result<Self, FrameError> {
        const { assert!(align_of::<T>() <= FRAME_SIZE && size_of::<T>() > 0) };
        let bytes = capacity.max(1).saturating_mul(size_of::<T>());
        let count = bytes.div_ceil(FRAME_SIZE);
        let first = frames().allocate_contiguous(count, FRAME_SIZE, Owner::Kernel)?;
        Ok(Self {
            first,
            frames: count,
            capacity: count * FRAME_SIZE / size_of::<T>(),
            len: 0,
            _items: core::marker::PhantomData,
        })
    }

    /// Appends `value`; returns `false` (and drops it) when full.
    pub fn push(&mut self, value: T) -> bool {
        if self.len == self.capacity {
            return false;
        }
        // SAFETY: `start()` is the address of `frames` whole frames that this
        // vector holds (as `Owner::Kernel`) until it is dropped, reachable at
        // that address (see the module comment); `len < capacity`, so the
        // slot lies inside them, and a frame's alignment suits any `T`.
        unsafe { (self.start() as *mut T).add(self.len).write(value) };
        self.len += 1;
        true
    }

    /// Where the frames are: their physical address is also where the
    /// kernel reaches them (see the module comment).
    fn start(&self) -> usize {
        self.first.start().as_usize()
    }

    pub fn as_slice(&self) -> &[T] {
        // SAFETY: the first `len` slots were written by `push`, and the
        // frames stay ours for as long as `self` is borrowed.
        unsafe { core::slice::from_raw_parts(self.start() as *const T, self.len) }
    }
}

impl<T: Copy> Drop for ScratchVec<T> {
    fn drop(&mut self) {
        if let Err(error) = frames().free_contiguous(self.first, self.frames, Owner::Kernel) {
            log::error!("scratch frames could not be given back: {error}");
        }
    }
}
