//! # The explorers: Strata's heaps and page-table walk, in a browser
//!
//! `docs/explorers/heap.html` and `docs/explorers/page-walk.html` run the
//! kernel's own code, compiled to WebAssembly from the same source files:
//!
//! - chapter 2's heaps (`modules/memory/src/heap/`) and addresses, through
//!   the crate `memory` (`tools/explorer/memory`, which includes those
//!   files with `#[path]`);
//! - chapter 3's addresses, map/unmap and walk
//!   (`modules/paging/src/{address,mapping,page_table}.rs`), included below
//!   with `#[path]` as the modules `address`, `mapping` and `page_table`,
//!   the names those files use for each other.
//!
//! There is no second implementation of an allocator or of the walk: the
//! files here hold the heap stack over an arena ([`heap_explorer`]), the
//! simulated memory the walker runs over ([`page_walk`]), and the exported
//! functions below, a small C-like API the pages call (plain wasm exports,
//! no bindings generator). A call leaves its results in wasm memory, as
//! words and one text ([`out`]); `out_words`/`out_words_len` and
//! `out_text`/`out_text_len` say where.
//!
//! Every export returns `0` or more on success, and `-1` on failure with
//! the reason (the kernel's error message) in the text.

#[path = "../../../modules/paging/src/address.rs"]
pub mod address;
#[path = "../../../modules/paging/src/mapping.rs"]
pub mod mapping;
#[path = "../../../modules/paging/src/page_table.rs"]
pub mod page_table;

pub mod heap_explorer;
pub mod out;
pub mod page_walk;

pub use memory;

use heap_explorer::{kind_from_code, HeapExplorer};
use memory::heap::Fit;
use out::Out;
use page_walk::PageWalker;
use std::cell::RefCell;
use x86::bits32::paging::PTFlags;

thread_local! {
    static OUT: RefCell<Out> = RefCell::new(Out::default());
    /// The message of the last panic (see [`panic_text`]).
    static PANIC: RefCell<String> = const { RefCell::new(String::new()) };
    static HEAP: RefCell<Option<HeapExplorer>> = const { RefCell::new(None) };
    static WALKER: RefCell<Option<PageWalker>> = const { RefCell::new(None) };
}

/// Runs `call` with the output cleared; an `Err` becomes `-1` with its
/// message as the text.
fn answer(call: impl FnOnce(&mut Out) -> Result<i32, String>) -> i32 {
    keep_panic_messages();
    OUT.with(|out| {
        let mut out = out.borrow_mut();
        out.clear();
        match call(&mut out) {
            Ok(value) => value,
            Err(message) => {
                out.words.clear();
                out.text = message;
                -1
            }
        }
    })
}

fn with_heap<T>(call: impl FnOnce(&mut HeapExplorer) -> Result<T, String>) -> Result<T, String> {
    HEAP.with(|heap| match heap.borrow_mut().as_mut() {
        Some(heap) => call(heap),
        None => Err("no heap yet: call heap_reset first".into()),
    })
}

fn with_walker<T>(call: impl FnOnce(&mut PageWalker) -> Result<T, String>) -> Result<T, String> {
    WALKER.with(|walker| match walker.borrow_mut().as_mut() {
        Some(walker) => call(walker),
        None => Err("no address space yet: call pt_reset first".into()),
    })
}

/// Keeps each panic's message for [`panic_text`], then lets the panic go
/// on as before: in wasm it ends the call with a trap (an `unreachable`),
/// after which the page reads the message and starts a fresh instance.
/// A panic should not happen; where it would (a lab's `todo!()` stub in a
/// handout's kernel files), the page says which and where.
fn keep_panic_messages() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANIC.with(|text| {
                if let Ok(mut text) = text.try_borrow_mut() {
                    *text = info.to_string();
                }
            });
            previous(info);
        }));
    });
}

// ---- the results of the last call ----

/// Where the last call's words are (valid until the next call).
#[no_mangle]
pub extern "C" fn out_words() -> *const u32 {
    OUT.with(|out| out.borrow().words.as_ptr())
}

#[no_mangle]
pub extern "C" fn out_words_len() -> u32 {
    OUT.with(|out| out.borrow().words.len() as u32)
}

/// Where the last call's text is, in UTF-8.
#[no_mangle]
pub extern "C" fn out_text() -> *const u8 {
    OUT.with(|out| out.borrow().text.as_ptr())
}

#[no_mangle]
pub extern "C" fn out_text_len() -> u32 {
    OUT.with(|out| out.borrow().text.len() as u32)
}

/// The message of the last panic in kernel code, if any (after a trap the
/// instance's other state is not to be trusted; this text is apart).
#[no_mangle]
pub extern "C" fn panic_text() -> *const u8 {
    PANIC.with(|text| text.borrow().as_ptr())
}

#[no_mangle]
pub extern "C" fn panic_text_len() -> u32 {
    PANIC.with(|text| text.borrow().len() as u32)
}

// ---- the heap explorer ----

/// A fresh heap stack: `kind` 0 buddy, 1 exact, 2 pool, 3 bump; `fit` 0
/// first, 1 best (the pool's); `slabs` 1 puts slabs in front; over an arena
/// of `arena` bytes. The kernel's `heap=`, `pool=` and `slab=`.
#[no_mangle]
pub extern "C" fn heap_reset(kind: u32, fit: u32, slabs: u32, arena: u32) -> i32 {
    answer(|out| {
        let kind = kind_from_code(kind).ok_or(format!("no heap kind {kind}"))?;
        let fit = if fit == 1 { Fit::Best } else { Fit::First };
        let explorer = HeapExplorer::new(kind, fit, slabs != 0, arena as usize)?;
        out.text = format!(
            "a fresh {} heap over {arena} bytes{}",
            kind.name(),
            if slabs != 0 { ", slabs in front" } else { "" }
        );
        HEAP.with(|heap| *heap.borrow_mut() = Some(explorer));
        Ok(0)
    })
}

/// Allocates `size` bytes aligned to `align`; `beneath` 1 asks the heap
/// under the slabs (as `demo` does). Returns the handle; the text is what
/// `alloc` prints, and the words are `[handle, offset, usable, order or
/// u32::MAX]`.
#[no_mangle]
pub extern "C" fn heap_alloc(size: u32, align: u32, beneath: u32) -> i32 {
    answer(|out| {
        with_heap(|heap| {
            let (handle, held) = heap.allocate(size as usize, align as usize, beneath != 0)?;
            out.text = heap.describe(handle, held);
            out.words.extend([
                handle,
                (held.pointer.as_ptr() as usize - heap.arena_start()) as u32,
                heap.usable(held).unwrap_or(0) as u32,
                heap.order(held).unwrap_or(u32::MAX),
            ]);
            Ok(handle as i32)
        })
    })
}

/// Frees the block behind `handle`.
#[no_mangle]
pub extern "C" fn heap_free(handle: u32) -> i32 {
    answer(|out| {
        with_heap(|heap| {
            let held = heap.free(handle)?;
            out.text = format!(
                "free: handle={handle} offset={:#x} size={}",
                held.pointer.as_ptr() as usize - heap.arena_start(),
                held.layout.size()
            );
            Ok(0)
        })
    })
}

/// Resizes the block behind `handle` to `new_size` bytes (the handle
/// stays); the words are `[offset, usable, moved]`.
#[no_mangle]
pub extern "C" fn heap_realloc(handle: u32, new_size: u32) -> i32 {
    answer(|out| {
        with_heap(|heap| {
            let before = heap.held(handle).map(|held| held.pointer);
            let held = heap.reallocate(handle, new_size as usize)?;
            out.text = heap.describe(handle, held);
            out.words.extend([
                (held.pointer.as_ptr() as usize - heap.arena_start()) as u32,
                heap.usable(held).unwrap_or(0) as u32,
                u32::from(before != Some(held.pointer)),
            ]);
            Ok(0)
        })
    })
}

/// `heap check`: walks every header and list.
#[no_mangle]
pub extern "C" fn heap_check() -> i32 {
    answer(|out| {
        with_heap(|heap| {
            heap.check()
                .map_err(|error| format!("check FAILED: {error}"))?;
            out.text = "check: every header and free list is consistent".into();
            Ok(0)
        })
    })
}

/// Everything the page draws (see [`HeapExplorer::snapshot`]).
#[no_mangle]
pub extern "C" fn heap_snapshot() -> i32 {
    answer(|out| {
        with_heap(|heap| {
            heap.snapshot(out);
            Ok(out.words.len() as i32)
        })
    })
}

/// The bytes ShompOS's key `key` (1-9) asks for in `demo`; 0 for others.
#[no_mangle]
pub extern "C" fn demo_request(key: u32) -> u32 {
    heap_explorer::demo_request(key as usize).unwrap_or(0) as u32
}

// ---- the page-walk explorer ----

/// A fresh address space: an empty directory, with `table_frames` frames
/// for tables in all (the directory's included).
#[no_mangle]
pub extern "C" fn pt_reset(table_frames: u32) -> i32 {
    answer(|out| {
        let walker = PageWalker::new(table_frames as usize)?;
        out.text = format!("an empty address space, {table_frames} frames for tables");
        WALKER.with(|slot| *slot.borrow_mut() = Some(walker));
        Ok(0)
    })
}

/// The kernel's layout in miniature ([`PageWalker::preset`]).
#[no_mangle]
pub extern "C" fn pt_preset() -> i32 {
    answer(|out| {
        with_walker(|walker| {
            walker.preset()?;
            out.text =
                "mapped: kernel RAM from 1 MiB (text read-only), VGA, 4 heap pages, a window"
                    .into();
            Ok(0)
        })
    })
}

/// Walks to `address`: the words and text of [`page_walk::write_walk`].
#[no_mangle]
pub extern "C" fn pt_walk(address: u32) -> i32 {
    answer(|out| {
        with_walker(|walker| {
            let walk = walker.walk(address as usize);
            let directory = walker.space().directory_frame();
            page_walk::write_walk(&walk, directory, out);
            Ok(walk.translation.is_ok() as i32)
        })
    })
}

/// Maps the page of `address`: to `frame` if `fresh` is 0, else to a fresh
/// frame the mapping owns; `flags` bit 1 is RW, bit 2 US (the entry's).
#[no_mangle]
pub extern "C" fn pt_map(address: u32, frame: u32, fresh: u32, flags: u32) -> i32 {
    answer(|out| {
        with_walker(|walker| {
            let frame = (fresh == 0).then_some(frame as usize);
            out.text = walker.map(address as usize, frame, PTFlags::from_bits_truncate(flags))?;
            Ok(0)
        })
    })
}

/// Maps `count` pages from `address` to frames from `frame`, all or none.
#[no_mangle]
pub extern "C" fn pt_map_range(address: u32, frame: u32, count: u32, flags: u32) -> i32 {
    answer(|out| {
        with_walker(|walker| {
            out.text = walker.map_range(
                address as usize,
                frame as usize,
                count as usize,
                PTFlags::from_bits_truncate(flags),
            )?;
            Ok(0)
        })
    })
}

/// Unmaps the page of `address`.
#[no_mangle]
pub extern "C" fn pt_unmap(address: u32) -> i32 {
    answer(|out| {
        with_walker(|walker| {
            out.text = walker.unmap(address as usize)?;
            Ok(0)
        })
    })
}

/// The mapped runs, as `pages` lists them (`for_each_run`): words
/// `[pages, tables, table_frames, limit, flushes]`, then per run
/// `[start, frame, pages, flags]`.
#[no_mangle]
pub extern "C" fn pt_runs() -> i32 {
    answer(|out| {
        with_walker(|walker| {
            let counts = walker.space().counts();
            let memory = walker.space().memory();
            let (frames, limit, flushes) =
                (memory.table_frames(), memory.limit(), memory.flushes());
            out.words.extend([
                counts.pages as u32,
                counts.tables as u32,
                frames as u32,
                limit as u32,
                flushes as u32,
            ]);
            let mut runs = Vec::new();
            walker.space().for_each_run(&mut |run| runs.push(run));
            for run in &runs {
                out.words.extend([
                    run.start.start().as_usize() as u32,
                    run.frame.start().as_usize() as u32,
                    run.pages as u32,
                    run.flags.bits(),
                ]);
            }
            Ok(runs.len() as i32)
        })
    })
}

/// The 1024 raw entries of the directory (`index` = u32::MAX) or of the
/// table directory entry `index` points to; `-1` if there is none.
#[no_mangle]
pub extern "C" fn pt_entries(index: u32) -> i32 {
    answer(|out| {
        with_walker(|walker| {
            let index = (index != u32::MAX).then_some(index as usize % 1024);
            let entries = walker
                .entries(index)
                .ok_or("no page table there: the directory entry is not present")?;
            out.words.extend_from_slice(&entries);
            Ok(1024)
        })
    })
}
