//! Handles: the small numbers the shell hands out for what it allocated.
//!
//! `alloc` and `frame alloc` print a handle; `free` and `frame free` take
//! one. A command can then only give back what it handed out: there is no
//! way to type the address of a block or frame someone else holds and have
//! it freed. A handle is used once: a second free of it is refused by name.

/// Why a handle was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandleError {
    /// Every slot is taken.
    Full { capacity: usize },
    /// This handle was handed out and already given back.
    AlreadyFreed { id: u64 },
    /// No such handle was ever handed out.
    Unknown { id: u64 },
}

/// Up to `N` items of type `T`, each under a handle (1, 2, 3, ...; never
/// reused).
pub struct Handles<T: Copy, const N: usize> {
    slots: [Option<(u32, T)>; N],
    next_id: u32,
}

impl<T: Copy, const N: usize> Handles<T, N> {
    pub const fn new() -> Self {
        Self {
            slots: [None; N],
            next_id: 1,
        }
    }

    /// Whether a slot is free, so that allocating first is worth it.
    pub fn has_room(&self) -> bool {
        self.slots.iter().any(Option::is_none)
    }

    /// Stores `item`; returns its handle.
    pub fn insert(&mut self, item: T) -> Result<u32, HandleError> {
        let slot = self
            .slots
            .iter_mut()
            .find(|slot| slot.is_none())
            .ok_or(HandleError::Full { capacity: N })?;
        let id = self.next_id;
        self.next_id += 1;
        *slot = Some((id, item));
        Ok(id)
    }

    /// Takes the item under handle `id` out.
    pub fn take(&mut self, id: u64) -> Result<T, HandleError> {
        let slot = self
            .slots
            .iter_mut()
            .find(|slot| slot.is_some_and(|(handle, _)| u64::from(handle) == id));
        match slot.and_then(Option::take) {
            Some((_, item)) => Ok(item),
            None if id > 0 && id < u64::from(self.next_id) => Err(HandleError::AlreadyFreed { id }),
            None => Err(HandleError::Unknown { id }),
        }
    }

    /// Every live handle and its item.
    pub fn iter(&self) -> impl Iterator<Item = (u32, T)> + '_ {
        self.slots.iter().flatten().copied()
    }
}

impl<T: Copy, const N: usize> Default for Handles<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handle_gives_its_item_back_once() {
        let mut handles = Handles::<usize, 2>::new();
        let a = handles.insert(0xA000).unwrap();
        let b = handles.insert(0xB000).unwrap();
        assert_eq!((a, b), (1, 2));
        assert_eq!(
            handles.insert(0xC000),
            Err(HandleError::Full { capacity: 2 })
        );
        assert_eq!(handles.take(1), Ok(0xA000));
        assert_eq!(handles.take(1), Err(HandleError::AlreadyFreed { id: 1 }));
        assert_eq!(handles.take(0), Err(HandleError::Unknown { id: 0 }));
        assert_eq!(
            handles.take(0x0017_5000),
            Err(HandleError::Unknown { id: 0x0017_5000 })
        );
        // Handles are not reused: the next one is 3, in slot 1.
        assert_eq!(handles.insert(0xC000), Ok(3));
        assert_eq!(
            handles.iter().collect::<Vec<_>>(),
            [(3, 0xC000), (2, 0xB000)]
        );
    }
}
