//! The explorers' API against the kernel code used directly.
//!
//! The pages call the exported functions of `strata_explorer.wasm`; these
//! tests call the same functions (compiled for the host) through a fixed
//! sequence of steps, and the same heap stack or address space directly,
//! and check that every figure the page would show is the heap's own.
//!
//! They also write the reference for the browser test
//! (`tools/explorer-browser-test.sh`) into `target/explorers-test/`: a
//! 10 000-step heap trace in the kernel's `heaptrace:` format, the figures
//! each heap ends with when it is replayed as the page replays it, and the
//! walks of a few addresses in the page-walk explorer's preset.
//!
//! Run: `cargo test -p strata-explorer --target i686-unknown-linux-gnu`
//! (32-bit pointers, as in the kernel and in wasm32).

use core::alloc::Layout;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Mutex;

use strata_explorer::address::{Frame, Page, PhysAddr, VirtAddr};
use strata_explorer::heap_explorer::{kind_from_code, Arena, BLOCK_WORDS, SNAPSHOT_HEADER_WORDS};
use strata_explorer::memory::heap::{
    AnyHeap, BlockInfo, Fit, Heap, HeapKind, HeapStats, Inspect, SlabHeap, TraceEvent, SIZE_CLASSES,
};
use strata_explorer::page_table::{AddressSpace, Missing};
use strata_explorer::page_walk::SimulatedMemory;
use strata_explorer::*;

/// The exports keep their state per thread; the reference files are
/// written by one test at a time.
static FILES: Mutex<()> = Mutex::new(());

/// The last call's words and text.
fn words() -> Vec<u32> {
    let (pointer, len) = (out_words(), out_words_len() as usize);
    if len == 0 {
        return Vec::new();
    }
    // SAFETY: the export says where its words are; nothing runs between.
    unsafe { std::slice::from_raw_parts(pointer, len) }.to_vec()
}

fn text() -> String {
    let (pointer, len) = (out_text(), out_text_len() as usize);
    if len == 0 {
        return String::new();
    }
    // SAFETY: as above, for the text.
    let bytes = unsafe { std::slice::from_raw_parts(pointer, len) };
    String::from_utf8(bytes.to_vec()).expect("UTF-8")
}

/// The heap configurations the page offers, by the names it shows.
const CONFIGS: [(&str, u32, u32, u32); 7] = [
    ("buddy", 0, 0, 0),
    ("buddy+slabs", 0, 0, 1),
    ("exact", 1, 0, 0),
    ("exact+slabs", 1, 0, 1),
    ("pool-first", 2, 0, 0),
    ("pool-best", 2, 1, 0),
    ("bump", 3, 0, 0),
];

/// The same stack, built directly, over its own arena.
fn direct(kind: u32, fit: u32, slabs: u32, arena: &Arena) -> SlabHeap<AnyHeap> {
    let kind = kind_from_code(kind).unwrap();
    let fit = if fit == 1 { Fit::Best } else { Fit::First };
    let mut heap = SlabHeap::new(AnyHeap::new(kind, fit), slabs != 0);
    // SAFETY: the arena is this heap's alone and outlives it.
    unsafe { heap.add_region(arena.start(), arena.size()) }.unwrap();
    heap
}

/// The figures of a snapshot, as a `HeapStats`, and its blocks.
fn snapshot() -> (HeapStats, Vec<(u32, u32, u32, bool)>) {
    assert!(heap_snapshot() > 0, "{}", text());
    let words = words();
    let mut stats = HeapStats::empty();
    stats.total = words[3] as usize;
    stats.used = words[4] as usize;
    stats.requested = words[5] as usize;
    stats.free = words[6] as usize;
    stats.largest_free = words[7] as usize;
    stats.allocations = words[8] as usize;
    stats.peak_used = words[9] as usize;
    stats.regions = words[10] as usize;
    let blocks = words[11] as usize;
    let counts = &words[SNAPSHOT_HEADER_WORDS..SNAPSHOT_HEADER_WORDS + SIZE_CLASSES];
    stats.free_blocks.copy_from_slice(counts);
    let first = SNAPSHOT_HEADER_WORDS + SIZE_CLASSES;
    let blocks = words[first..first + blocks * BLOCK_WORDS]
        .chunks(BLOCK_WORDS)
        .map(|block| (block[0], block[1], block[2], block[3] != 0))
        .collect();
    (stats, blocks)
}

fn direct_blocks(heap: &impl Inspect, arena: &Arena) -> Vec<(u32, u32, u32, bool)> {
    let mut blocks = Vec::new();
    heap.for_each_block(&mut |block: BlockInfo| {
        blocks.push((
            (block.start - arena.start()) as u32,
            block.size as u32,
            block.header as u32,
            block.free,
        ))
    });
    blocks
}

/// A small deterministic generator (the same steps on every run).
struct Steps(u64);

impl Steps {
    fn next(&mut self) -> u64 {
        // Knuth's MMIX LCG; the high bits are the good ones.
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }

    /// A request size: mostly small objects, some medium, a few large.
    fn size(&mut self) -> usize {
        match self.below(100) {
            0..=69 => 1 + self.below(256) as usize,
            70..=94 => 257 + self.below(3840) as usize,
            _ => 4097 + self.below(60_000) as usize,
        }
    }

    fn align(&mut self) -> usize {
        match self.below(100) {
            0..=79 => 8,
            80..=89 => 1,
            90..=95 => 16,
            96..=98 => 64,
            _ => 4096,
        }
    }
}

/// Every heap configuration, through the API and directly, after every
/// step of a workload: the same figures and the same blocks.
#[test]
fn the_api_shows_what_the_heap_itself_says() {
    const ARENA: usize = 256 * 1024;
    for (name, kind, fit, slabs) in CONFIGS {
        assert_eq!(heap_reset(kind, fit, slabs, ARENA as u32), 0, "{}", text());
        let arena = Arena::new(ARENA).unwrap();
        let mut heap = direct(kind, fit, slabs, &arena);
        // Tag -> (handle, pointer, layout) of the live blocks.
        let mut live: Vec<(u32, core::ptr::NonNull<u8>, Layout)> = Vec::new();
        let mut steps = Steps(0x5EED ^ u64::from(kind * 16 + fit * 4 + slabs));
        for step in 0..600 {
            let roll = steps.below(10);
            if live.is_empty() || roll < 6 {
                let (size, align) = (steps.size(), steps.align());
                let layout = Layout::from_size_align(size, align).unwrap();
                let expected = heap.allocate(layout);
                let handle = heap_alloc(size as u32, align as u32, 0);
                match expected {
                    Ok(pointer) => {
                        assert!(handle > 0, "{name} step {step}: {}", text());
                        let offset = words()[1] as usize;
                        assert_eq!(offset, pointer.as_ptr() as usize - arena.start(), "{name}");
                        live.push((handle as u32, pointer, layout));
                    }
                    Err(error) => {
                        assert_eq!(handle, -1, "{name} step {step}");
                        assert_eq!(text(), error.to_string(), "{name} step {step}");
                    }
                }
            } else if roll < 9 {
                let index = steps.below(live.len() as u64) as usize;
                let (handle, pointer, layout) = live.swap_remove(index);
                heap.deallocate(pointer, layout).unwrap();
                assert_eq!(heap_free(handle), 0, "{name} step {step}: {}", text());
                assert_eq!(heap_free(handle), -1, "a second free is refused");
            } else {
                let index = steps.below(live.len() as u64) as usize;
                let (handle, pointer, layout) = live[index];
                let size = steps.size();
                match heap.reallocate(pointer, layout, size) {
                    Ok(moved) => {
                        assert_eq!(heap_realloc(handle, size as u32), 0, "{}", text());
                        assert_eq!(words()[0] as usize, moved.as_ptr() as usize - arena.start());
                        let layout = Layout::from_size_align(size, layout.align()).unwrap();
                        live[index] = (handle, moved, layout);
                    }
                    Err(error) => {
                        assert_eq!(heap_realloc(handle, size as u32), -1);
                        assert_eq!(text(), error.to_string());
                    }
                }
            }
            let (stats, blocks) = snapshot();
            assert_eq!(stats, heap.stats(), "{name} after step {step}");
            assert_eq!(
                blocks,
                direct_blocks(&heap, &arena),
                "{name} after step {step}"
            );
        }
        assert_eq!(heap_check(), 0, "{name}: {}", text());
        heap.check_integrity().unwrap();
    }
}

/// ShompOS's keys, as `demo` runs them: on the buddy heap beneath the
/// slabs, each of keys 4-9 splits off one more order.
#[test]
fn the_demo_keys_split_and_merge_as_in_the_kernel() {
    let requests: Vec<u32> = (1..=9).map(|key| demo_request(key)).collect();
    assert_eq!(requests[0], 1);
    assert!(
        requests.windows(2).all(|pair| pair[0] < pair[1]),
        "{requests:?}"
    );
    assert_eq!(demo_request(0), 0);
    assert_eq!(demo_request(10), 0);

    assert_eq!(heap_reset(0, 0, 1, 64 * 1024), 0);
    let (fresh, _) = snapshot();
    let mut orders = Vec::new();
    let mut handles = Vec::new();
    for key in 1..=9 {
        let handle = heap_alloc(demo_request(key), 1, 1);
        assert!(handle > 0, "key {key}: {}", text());
        assert!(text().contains("order="), "{}", text());
        orders.push(words()[3]);
        handles.push(handle as u32);
    }
    // Keys 1-3 take the smallest blocks, keys 4-9 one order more each.
    assert_eq!(orders[0], orders[1]);
    assert_eq!(orders[1], orders[2]);
    for pair in orders[2..].windows(2) {
        assert_eq!(pair[1], pair[0] + 1, "{orders:?}");
    }
    // Freed in ShompOS's free keys' order (a q w e r t y u i): all merge.
    for handle in handles {
        assert_eq!(heap_free(handle), 0, "{}", text());
    }
    let (after, blocks) = snapshot();
    assert_eq!(
        after,
        HeapStats {
            peak_used: after.peak_used,
            ..fresh
        }
    );
    assert_eq!(blocks.len(), 1, "one free block again: {blocks:?}");
}

/// Replays trace lines as the page does (`heap.js`, `replay`): tags are
/// the trace's addresses; a free or realloc of an address the replay does
/// not hold is skipped, as are `fail` and `refused` lines.
#[derive(Debug, Default, PartialEq)]
struct Replayed {
    steps: usize,
    failed: usize,
    skipped: usize,
}

fn replay(trace: &str) -> Replayed {
    let mut tags: HashMap<usize, u32> = HashMap::new();
    let mut result = Replayed::default();
    for line in trace.lines() {
        // The event: the first word after `heaptrace:`, or the line's first.
        let body = line.find("heaptrace:").map_or(line, |at| &line[at + 10..]);
        let words: Vec<&str> = body.split_whitespace().collect();
        let at = 0;
        let events = ["alloc", "free", "realloc", "fail", "refused"];
        if !words.first().is_some_and(|word| events.contains(word)) {
            continue;
        }
        let field = |key: &str| {
            words
                .iter()
                .find_map(|word| word.strip_prefix(key)?.strip_prefix('=')?.parse().ok())
        };
        let hex = |word: &str| usize::from_str_radix(word.trim_start_matches("0x"), 16).ok();
        result.steps += 1;
        match words[at] {
            "alloc" => {
                let tag = hex(words[at + 1]).unwrap();
                let handle = heap_alloc(field("size").unwrap(), field("align").unwrap_or(1), 0);
                if handle > 0 {
                    tags.insert(tag, handle as u32);
                } else {
                    result.failed += 1;
                }
            }
            "free" => match tags.remove(&hex(words[at + 1]).unwrap()) {
                Some(handle) => assert_eq!(heap_free(handle), 0, "{}", text()),
                None => result.skipped += 1,
            },
            "realloc" => {
                let (from, to) = (hex(words[at + 1]).unwrap(), hex(words[at + 3]).unwrap());
                match tags.remove(&from) {
                    Some(handle) => {
                        if heap_realloc(handle, field("size").unwrap()) != 0 {
                            result.failed += 1;
                            tags.insert(from, handle);
                        } else {
                            tags.insert(to, handle);
                        }
                    }
                    None => result.skipped += 1,
                }
            }
            _ => result.skipped += 1,
        }
    }
    result
}

/// Writes a file of the browser test's reference, when this test sees
/// 32-bit pointers as wasm32 does (the heaps' headers, and so every figure,
/// depend on the pointer size: on a 64-bit host the figures differ).
fn write_reference(name: &str, text: &str) {
    if cfg!(target_pointer_width = "32") {
        let _files = FILES.lock().unwrap();
        std::fs::write(reference_dir().join(name), text).unwrap();
    }
}

/// Where the browser test finds its reference.
fn reference_dir() -> PathBuf {
    // CARGO_TARGET_TMPDIR is inside the target directory (under the
    // target triple's folder, with --target): the root is the outermost
    // folder cargo marks with a CACHEDIR.TAG.
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let target = tmp
        .ancestors()
        .filter(|dir| dir.join("CACHEDIR.TAG").exists())
        .last()
        .unwrap_or(&tmp);
    let dir = target.join("explorers-test");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A 10 000-step trace recorded from the kernel's default stack (buddy
/// with slabs) over a 1 MiB arena at 0xd0000000, in the kernel's format,
/// and the figures every configuration ends with when the page replays
/// it. Written for the browser test, which replays it in the page.
#[test]
fn a_recorded_trace_replays_the_same_on_every_heap() {
    const ARENA: usize = 1 << 20;
    const BASE: usize = 0xd000_0000;
    let arena = Arena::new(ARENA).unwrap();
    let mut recorder = direct(0, 0, 1, &arena);
    let mut trace = format!("heaptrace: on kind=buddy total={ARENA} used=0 allocations=0\n");
    let mut live: Vec<(core::ptr::NonNull<u8>, Layout)> = Vec::new();
    let mut steps = Steps(10_000);
    let address =
        |pointer: core::ptr::NonNull<u8>| pointer.as_ptr() as usize - arena.start() + BASE;
    for _ in 0..10_000 {
        let roll = steps.below(20);
        if live.is_empty() || roll < 10 {
            let (size, align) = (steps.size(), steps.align());
            let layout = Layout::from_size_align(size, align).unwrap();
            match recorder.allocate(layout) {
                Ok(pointer) => {
                    let usable = recorder.usable_size(pointer).unwrap();
                    let at = address(pointer);
                    writeln!(
                        trace,
                        "heaptrace: alloc {at:#010x} size={size} align={align} usable={usable}"
                    )
                    .unwrap();
                    live.push((pointer, layout));
                }
                Err(_) => writeln!(trace, "heaptrace: fail size={size} align={align}").unwrap(),
            }
        } else if roll < 19 {
            let (pointer, layout) = live.swap_remove(steps.below(live.len() as u64) as usize);
            recorder.deallocate(pointer, layout).unwrap();
            writeln!(
                trace,
                "heaptrace: free {:#010x} size={}",
                address(pointer),
                layout.size()
            )
            .unwrap();
        } else {
            let index = steps.below(live.len() as u64) as usize;
            let (pointer, layout) = live[index];
            let size = steps.size();
            match recorder.reallocate(pointer, layout, size) {
                Ok(moved) => {
                    let usable = recorder.usable_size(moved).unwrap();
                    writeln!(
                        trace,
                        "heaptrace: realloc {:#010x} -> {:#010x} size={size} old={} align={} usable={usable}",
                        address(pointer),
                        address(moved),
                        layout.size(),
                        layout.align()
                    )
                    .unwrap();
                    live[index] = (
                        moved,
                        Layout::from_size_align(size, layout.align()).unwrap(),
                    );
                }
                Err(_) => writeln!(
                    trace,
                    "heaptrace: fail size={size} align={}",
                    layout.align()
                )
                .unwrap(),
            }
        }
    }
    trace.push_str("heaptrace: off events=10000\n");
    let recorded = recorder.stats();
    // The kernel's format: every event reads back with chapter 2's own
    // parser (`heap/trace.rs`), as written by the `heaptrace` command.
    for line in trace
        .lines()
        .filter(|line| !line.contains(" on ") && !line.contains(" off "))
    {
        assert!(TraceEvent::parse(line).is_some(), "{line}");
    }

    let mut json =
        format!("{{\n  \"trace\": \"test-10000.trace\",\n  \"arena\": {ARENA},\n  \"heaps\": {{\n");
    for (index, (name, kind, fit, slabs)) in CONFIGS.into_iter().enumerate() {
        assert_eq!(heap_reset(kind, fit, slabs, ARENA as u32), 0);
        let replayed = replay(&trace);
        let (stats, blocks) = snapshot();
        assert_eq!(replayed.steps, 10_000, "{name}");
        if name == "buddy+slabs" {
            // The recording's own heap, over an arena as large: every step
            // lands where it did, so the figures are the recording's.
            assert_eq!(stats, recorded, "{name}: {replayed:?}");
            assert_eq!(replayed.failed, 0);
        }
        assert_eq!(heap_check(), 0, "{name}: {}", text());
        let free_blocks = blocks.iter().filter(|block| block.3).count();
        writeln!(
            json,
            "    \"{name}\": {{\"total\": {}, \"used\": {}, \"requested\": {}, \"free\": {}, \
             \"largest_free\": {}, \"allocations\": {}, \"peak_used\": {}, \"blocks\": {}, \
             \"free_blocks\": {free_blocks}, \"failed\": {}, \"skipped\": {}}}{}",
            stats.total,
            stats.used,
            stats.requested,
            stats.free,
            stats.largest_free,
            stats.allocations,
            stats.peak_used,
            blocks.len(),
            replayed.failed,
            replayed.skipped,
            if index + 1 < CONFIGS.len() { "," } else { "" }
        )
        .unwrap();
    }
    json.push_str("  }\n}\n");
    write_reference("test-10000.trace", &trace);
    write_reference("heap-reference.json", &json);
}

/// Lenient reading: the short form `alloc ADDR size=N align=A` (no
/// `usable`), no prefix, other lines around, an unknown free.
#[test]
fn trace_lines_are_read_leniently() {
    assert_eq!(heap_reset(0, 0, 0, 64 * 1024), 0);
    let replayed = replay(
        "strata> heaptrace on\n\
         heaptrace: on kind=buddy total=65536 used=0 allocations=0\n\
           each allocation and free now goes to serial as a 'heaptrace:' line\n\
         strata> free 1\n\
         free: handle=1 address=0xd0001230 size=64\n\
         [ 1.5] heaptrace: alloc 0xd0003000 size=8 align=8 usable=16\n\
         heaptrace: alloc 0xd0001230 size=64 align=8\n\
         alloc 0xd0002000 size=100\n\
         heaptrace: free 0xd0001230 size=64\n\
         heaptrace: free 0xdeadbee0 size=64\n\
         heaptrace: refused 0xd0001230 size=64\n",
    );
    assert_eq!(
        replayed,
        Replayed {
            steps: 6,
            failed: 0,
            skipped: 2
        }
    );
    assert_eq!(snapshot().0.allocations, 2);
}

// ---- the page walk ----

/// The same address space as the page's, built directly.
fn direct_space(table_frames: usize) -> AddressSpace<SimulatedMemory> {
    AddressSpace::new(SimulatedMemory::new(table_frames)).unwrap()
}

fn page(address: usize) -> Page {
    Page::containing(VirtAddr::new(address))
}

/// The addresses the browser test walks.
const WALKED: [u32; 9] = [
    0x000b_8123,
    0x0010_0000,
    0x0012_0abc,
    0xd000_0010,
    0xd000_3fff,
    0xd000_4000,
    0xe000_1fff,
    0x0000_0000,
    0xc000_0000,
];

#[test]
fn the_walk_is_chapter_three_s() {
    assert_eq!(pt_reset(16), 0, "{}", text());
    let mut space = direct_space(16);
    let flags = x86::bits32::paging::PTFlags::RW;
    // Map through the API and directly; fresh frames come from 0x01000000.
    assert_eq!(pt_map(0xd000_0123, 0, 1, flags.bits()), 0, "{}", text());
    space
        .map_owned(
            page(0xd000_0000),
            Frame::containing(PhysAddr::new(0x0100_0000)),
            flags,
        )
        .unwrap();
    assert_eq!(pt_map(0x0040_0000, 0x000b_8000, 0, 0), 0);
    space
        .map(
            page(0x0040_0000),
            Frame::containing(PhysAddr::new(0xb_8000)),
            x86::bits32::paging::PTFlags::empty(),
        )
        .unwrap();
    // Mapped twice: the kernel's error, word for word.
    assert_eq!(pt_map(0x0040_0000, 0x1000, 0, 0), -1);
    let again = space
        .map(
            page(0x0040_0000),
            Frame::containing(PhysAddr::new(0x1000)),
            flags,
        )
        .unwrap_err();
    assert_eq!(text(), again.to_string());
    for address in [0xd000_0123u32, 0xd000_1000, 0x0040_0fff, 0x0080_0000, 0] {
        let mapped = pt_walk(address);
        let walk = words();
        let expected = space.translate(VirtAddr::new(address as usize));
        match expected {
            Ok(translation) => {
                assert_eq!(mapped, 1);
                assert_eq!(
                    (walk[7], walk[8]),
                    (0, translation.physical.as_usize() as u32)
                );
                assert_eq!(walk[9], translation.flags.bits());
                assert_eq!(walk[10], u32::from(translation.owned));
            }
            Err(Missing::Table { directory_index }) => {
                assert_eq!((mapped, walk[7], walk[0] as usize), (0, 1, directory_index))
            }
            Err(Missing::Page { table_index, .. }) => {
                assert_eq!((mapped, walk[7], walk[1] as usize), (0, 2, table_index))
            }
        }
        assert_eq!(walk[0] as usize, address as usize >> 22);
        assert_eq!(walk[1] as usize, (address as usize >> 12) & 0x3ff);
        assert_eq!(walk[2], address & 0xfff);
    }
    // Unmap: the owned frame goes back and is handed out again.
    assert_eq!(pt_unmap(0xd000_0000), 0);
    assert!(text().contains("owned"), "{}", text());
    space.unmap(page(0xd000_0000)).unwrap();
    assert_eq!(pt_unmap(0xd000_0000), -1);
    let twice = space.unmap(page(0xd000_0000)).unwrap_err();
    assert_eq!(text(), twice.to_string());
    assert_eq!(pt_map(0xd000_5000, 0, 1, flags.bits()), 0);
    assert!(text().contains("0x01000000"), "{}", text());
    // The runs and counts are `for_each_run`'s.
    assert_eq!(pt_runs(), 2);
    let runs = words();
    assert_eq!(&runs[..2], &[2, 2], "pages, tables");
    assert_eq!(&runs[5..9], &[0x0040_0000, 0x000b_8000, 1, 1]);
    // The directory and a table, raw: the directory entry is what the walk
    // read, and an empty directory entry has no table.
    assert_eq!(pt_entries(u32::MAX), 1024);
    let directory = words();
    pt_walk(0x0040_0000);
    let walk = words();
    assert_eq!(directory[1], walk[3]);
    assert_eq!(pt_entries(1), 1024);
    assert_eq!(words()[0], walk[6]);
    assert_eq!(pt_entries(2), -1);
}

/// Out of frames for tables: the walk makes none, and says so.
#[test]
fn tables_run_out() {
    assert_eq!(pt_reset(2), 0);
    assert_eq!(pt_map(0x1000, 0x1000, 0, 0), 0);
    assert_eq!(pt_map(0x0040_0000, 0x1000, 0, 0), -1);
    assert_eq!(text(), "no free frame for a page table");
    assert_eq!(pt_reset(0), -1);
}

/// The preset's walks, for the browser test.
#[test]
fn the_preset_walks_are_the_reference() {
    assert_eq!(pt_reset(16), 0);
    assert_eq!(pt_preset(), 0, "{}", text());
    let mut json = String::from("{\n  \"walks\": [\n");
    for (index, address) in WALKED.into_iter().enumerate() {
        pt_walk(address);
        let walk = words();
        let pte = if walk[5] != 0 {
            walk[6].to_string()
        } else {
            "null".into()
        };
        writeln!(
            json,
            "    {{\"address\": {address}, \"directory\": {}, \"table\": {}, \"offset\": {}, \"pde\": {}, \
             \"pte\": {pte}, \"result\": {}, \"physical\": {}}}{}",
            walk[0],
            walk[1],
            walk[2],
            walk[3],
            walk[7],
            walk[8],
            if index + 1 < WALKED.len() { "," } else { "" }
        )
        .unwrap();
    }
    assert_eq!(pt_runs(), 5, "VGA, text, data, heap pages, the window");
    let runs = words();
    write!(
        json,
        "  ],\n  \"pages\": {},\n  \"tables\": {}\n}}\n",
        runs[0], runs[1]
    )
    .unwrap();
    write_reference("pagewalk-reference.json", &json);
}

/// The copy of `x86::bits32::paging` the wasm build uses against the real
/// crate: every flag combination with a few addresses builds and reads
/// back the same entries.
#[test]
fn the_copied_paging_types_are_the_x86_crate_s() {
    use real_x86::bits32::paging as real;
    use x86::bits32::paging as copy;
    for address in [0u32, 0x1000, 0x000b_8000, 0x0123_4000, 0xffff_f000] {
        for bits in 0..0x1000u32 {
            let (ours, theirs) = (
                copy::PTEntry::new(
                    copy::PAddr(address),
                    copy::PTFlags::from_bits_truncate(bits),
                ),
                real::PTEntry::new(
                    real::PAddr(address),
                    real::PTFlags::from_bits_truncate(bits),
                ),
            );
            assert_eq!(ours.0, theirs.0);
            assert_eq!(ours.address().0, theirs.address().0);
            assert_eq!(ours.flags().bits(), theirs.flags().bits());
            assert_eq!(
                format!("{:?}", ours.flags()),
                format!("{:?}", theirs.flags())
            );
            // A 4 MiB page (PS) must be 4 MiB-aligned: both crates assert it.
            let pd_bits = if address % 0x40_0000 == 0 {
                bits
            } else {
                bits & !0x80
            };
            let (ours, theirs) = (
                copy::PDEntry::new(
                    copy::PAddr(address),
                    copy::PDFlags::from_bits_truncate(pd_bits),
                ),
                real::PDEntry::new(
                    real::PAddr(address),
                    real::PDFlags::from_bits_truncate(pd_bits),
                ),
            );
            assert_eq!(ours.0, theirs.0);
            assert_eq!(ours.address().0, theirs.address().0);
            assert_eq!(
                format!("{:?}", ours.flags()),
                format!("{:?}", theirs.flags())
            );
            // Any bits at all, read back as the CPU's entries.
            let raw = address | bits;
            let (ours, theirs) = (copy::PDEntry(raw), real::PDEntry(raw));
            assert_eq!(
                (ours.address().0, ours.flags().bits()),
                (theirs.address().0, theirs.flags().bits())
            );
            let (ours, theirs) = (copy::PTEntry(raw), real::PTEntry(raw));
            assert_eq!(
                (ours.address().0, ours.flags().bits()),
                (theirs.address().0, theirs.flags().bits())
            );
        }
    }
    assert_eq!(
        (copy::PTFlags::all().bits(), copy::PDFlags::all().bits()),
        (real::PTFlags::all().bits(), real::PDFlags::all().bits())
    );
    let _ = HeapKind::ALL;
}

/// What a reader may type: sizes and alignments at the edges. The heaps
/// answer with errors, never a panic (in wasm a panic would stop the page).
#[test]
fn extreme_requests_are_errors_not_panics() {
    for (_, kind, fit, slabs) in CONFIGS {
        assert_eq!(heap_reset(kind, fit, slabs, 64 * 1024), 0);
        for (size, align) in [
            (u32::MAX, 1),
            (u32::MAX, 4096),
            (u32::MAX - 4096, 8),
            (0x8000_0000, 16),
            (0xffff_fff0, 8),
            (1, 8192),
            (1, 3),
            (0, 1),
            (0, 4096),
            (65536, 1),
            (65520, 16),
        ] {
            let handle = heap_alloc(size, align, 0);
            let beneath = heap_alloc(size, align, 1);
            for handle in [handle, beneath] {
                if handle > 0 {
                    assert_eq!(heap_realloc(handle as u32, u32::MAX), -1);
                    assert_eq!(heap_realloc(handle as u32, u32::MAX - 64), -1);
                    assert_eq!(heap_free(handle as u32), 0, "{}", text());
                }
            }
        }
        assert_eq!(heap_free(0), -1);
        assert_eq!(heap_free(u32::MAX), -1);
        assert_eq!(heap_check(), 0, "{}", text());
    }
    assert_eq!(heap_reset(0, 0, 0, 0), -1);
    assert_eq!(heap_reset(0, 0, 0, u32::MAX), -1);
    assert_eq!(heap_reset(9, 0, 0, 4096), -1);
    for address in [0, 0xffff_ffff, 0xffc0_0000, 0x003f_ffff] {
        assert_eq!(pt_reset(3), 0);
        assert_eq!(pt_map(address, 0xffff_ffff, 0, 0xfff), 0, "{}", text());
        pt_walk(address);
        assert_eq!(pt_unmap(address), 0);
        assert_eq!(pt_map_range(address, 0, u32::MAX, 0), -1, "{}", text());
        assert_eq!(pt_map_range(address, 0xffff_f000, 2, 0), -1, "{}", text());
        assert_eq!(pt_map_range(address, 0, 0, 0), -1, "{}", text());
        // The table made for the mapping stays; the next has none.
        assert_eq!(pt_entries(address >> 22), 1024);
        assert_eq!(pt_entries((address >> 22) ^ 1), -1);
    }
}
