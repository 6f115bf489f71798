// The heap explorer. Every allocation, free and resize is a call into
// chapter 2's heap code in strata_explorer.wasm; this file keeps the page's
// state (handles, demo slots, the loaded trace), draws what the heap
// reports, and replays traces.
'use strict';

(function () {
  const { hex, bytesText, number, element } = window.StrataExplorer;

  // Where the arena is shown: chapter 3's heap starts here.
  const BASE = 0xd0000000;
  // The heap configurations, as tools/explorer/tests/api.rs names them.
  const CONFIGS = [
    { name: 'buddy', kind: 0, fit: 0, slabs: 0 },
    { name: 'buddy+slabs', kind: 0, fit: 0, slabs: 1 },
    { name: 'exact', kind: 1, fit: 0, slabs: 0 },
    { name: 'exact+slabs', kind: 1, fit: 0, slabs: 1 },
    { name: 'pool-first', kind: 2, fit: 0, slabs: 0 },
    { name: 'pool-best', kind: 2, fit: 1, slabs: 0 },
    { name: 'bump', kind: 3, fit: 0, slabs: 0 },
  ];
  const FREE_KEYS = 'aqwertyui';
  const SNAPSHOT_HEADER = 16;
  const SIZE_CLASSES = 32;
  const NO_ORDER = 0xffffffff;
  // The map: label column, then the rows of the arena.
  const LABEL_W = 92;
  const MAP_W = 800;
  const ROW_H = 22;
  const ROW_GAP = 7;

  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  if (params.has('embed')) document.body.classList.add('embedded');

  let ex = null;
  const state = {
    config: CONFIGS[1],
    arena: 32768,
    snap: null,
    previous: null, // the blocks before the last step
    changed: new Set(), // offsets of blocks the last step made
    selected: null, // offset of the selected block
    view: { start: 0, len: 32768 },
    live: new Map(), // handle -> {address, size, align, beneath}
    slots: new Array(9).fill(null), // demo slot -> handle
    session: [], // this session's steps, as trace lines
    recording: true, // off while a trace is replayed
  };
  const replay = {
    steps: [],
    pos: 0,
    tags: new Map(),
    failed: 0,
    skipped: 0,
    unreadable: 0,
    arena: null,
    timer: null,
    outcome: [], // per step: '' | 'failed' | 'skipped'
  };

  // ---------------------------------------------------------------- log

  function log(line, kind = '') {
    const out = $('log');
    const span = element('span', kind ? { class: kind } : {}, line + '\n');
    out.append(span);
    while (out.childNodes.length > 400) out.removeChild(out.firstChild);
    out.scrollTop = out.scrollHeight;
  }

  function setStatus(text, error = false) {
    const status = $('status');
    status.textContent = text;
    status.classList.toggle('error', error);
  }

  // ------------------------------------------------------------ the heap

  function configByName(name) {
    return CONFIGS.find((config) => config.name === name) || CONFIGS[1];
  }

  // A fresh heap of the chosen configuration; forgets handles and slots.
  function resetHeap(quiet = false) {
    const { config, arena } = state;
    const r = ex.call('heap_reset', config.kind, config.fit, config.slabs, arena);
    if (r.ret < 0) {
      log('reset: ' + r.text, 'error');
      return false;
    }
    state.live.clear();
    state.slots.fill(null);
    state.previous = null;
    state.changed = new Set();
    state.selected = null;
    state.view = { start: 0, len: arena };
    if (!quiet) log(r.text + ' (' + config.name + ')', 'note');
    return true;
  }

  function snapshot() {
    const r = ex.call('heap_snapshot');
    if (r.ret < 0) throw new Error(r.text);
    const w = r.words;
    const snap = {
      arena: w[1], granule: w[2], total: w[3], used: w[4], requested: w[5], free: w[6],
      largest: w[7], allocations: w[8], peak: w[9], regions: w[10],
      kind: w[14], slabs: w[15], summary: r.text,
      freeBlocks: Array.from(w.subarray(SNAPSHOT_HEADER, SNAPSHOT_HEADER + SIZE_CLASSES)),
      blocks: [], handles: [], classes: [],
    };
    let at = SNAPSHOT_HEADER + SIZE_CLASSES;
    for (let i = 0; i < w[11]; i++, at += 4) {
      snap.blocks.push({ off: w[at], size: w[at + 1], header: w[at + 2], free: w[at + 3] !== 0, handles: [] });
    }
    for (let i = 0; i < w[12]; i++, at += 6) {
      snap.handles.push({ id: w[at], off: w[at + 1], size: w[at + 2], align: w[at + 3], usable: w[at + 4], beneath: w[at + 5] !== 0 });
    }
    for (let i = 0; i < w[13]; i++, at += 4) {
      snap.classes.push({ size: w[at], capacity: w[at + 1], slabs: w[at + 2], live: w[at + 3] });
    }
    // Each handle in the block that holds it (slab pages hold many).
    for (const handle of snap.handles) {
      const block = blockAt(snap.blocks, handle.off);
      if (block) handle.block = block, block.handles.push(handle);
    }
    return snap;
  }

  // The block containing offset `off` (blocks are in address order).
  function blockAt(blocks, off) {
    let lo = 0;
    let hi = blocks.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const block = blocks[mid];
      if (off < block.off) hi = mid - 1;
      else if (off >= block.off + block.size) lo = mid + 1;
      else return block;
    }
    return null;
  }

  function sizeClass(size) {
    return 31 - Math.clz32(size);
  }

  // After a step: what changed, then redraw.
  function refresh(describe = true) {
    const before = state.snap ? state.snap.blocks : null;
    state.snap = snapshot();
    state.changed = new Set();
    if (before && describe) {
      const text = describeChanges(before, state.snap.blocks);
      $('changes').textContent = text;
    } else {
      $('changes').textContent = '';
    }
    draw();
  }

  // Which blocks appeared and disappeared: a split, a merge, or a block
  // changing hands. (Only for the reader: the heap did the work.)
  function describeChanges(before, after) {
    const key = (b) => b.off + ':' + b.size + ':' + (b.free ? 'f' : 'u');
    const old = new Map(before.map((b) => [key(b), b]));
    const now = new Map(after.map((b) => [key(b), b]));
    const gone = before.filter((b) => !now.has(key(b)));
    const made = after.filter((b) => !old.has(key(b)));
    for (const block of made) state.changed.add(block.off);
    if (gone.length === 0 && made.length === 0) return 'blocks: no change (a slab object, or nothing happened)';
    const name = (b) => bytesText(b.size) + (b.free ? ' free' : ' used') + ' at ' + hex(BASE + b.off);
    const list = (blocks) => blocks.slice(0, 6).map(name).join(', ') + (blocks.length > 6 ? ', … (' + blocks.length + ')' : '');
    if (gone.length === 1 && gone[0].free && made.length > 1) {
      return 'split: ' + name(gone[0]) + ' → ' + made.map((b) => bytesText(b.size) + (b.free ? ' free' : ' used')).join(' + ');
    }
    if (made.length === 1 && made[0].free && gone.length > 1) {
      return 'merged: ' + gone.map((b) => bytesText(b.size) + (b.free ? ' free' : ' used')).join(' + ') + ' → ' + name(made[0]);
    }
    return 'blocks: − ' + (gone.length ? list(gone) : 'none') + '   + ' + (made.length ? list(made) : 'none');
  }

  // ------------------------------------------------------------- actions

  function address(off) {
    return (BASE + off) >>> 0;
  }

  function record(line) {
    if (state.recording) state.session.push(line);
  }

  // Where a handle's block is: known for the page's own steps, looked up
  // in the last snapshot for those of a fast replay.
  function addressOf(handle) {
    const held = state.live.get(handle);
    if (held && held.address) return held.address;
    const found = state.snap && state.snap.handles.find((h) => h.id === handle);
    return found ? address(found.off) : 0;
  }

  // Allocates and records it; returns the handle or -1.
  function allocate(size, align, beneath, quiet = false) {
    const r = ex.call('heap_alloc', size, align, beneath ? 1 : 0);
    if (r.ret < 0) {
      if (!quiet) log('alloc: ' + r.text, 'error');
      return { handle: -1, text: r.text };
    }
    const [handle, off, usable, order] = r.words;
    const at = address(off);
    state.live.set(handle, { address: at, size, align, beneath });
    record('heaptrace: alloc ' + hex(at) + ' size=' + size + ' align=' + align + ' usable=' + usable + (beneath ? ' beneath=1' : ''));
    if (!quiet) log('alloc: ' + r.text.replace(/offset=0x[0-9a-f]+/, 'address=' + hex(at)));
    return { handle, at, usable, order, text: r.text };
  }

  function free(handle, quiet = false) {
    const held = { ...state.live.get(handle), address: addressOf(handle) };
    const r = ex.call('heap_free', handle);
    if (r.ret < 0) {
      if (!quiet) log('free: ' + r.text, 'error');
      return false;
    }
    state.live.delete(handle);
    record('heaptrace: free ' + hex(held.address) + ' size=' + held.size);
    if (!quiet) log('free: handle=' + handle + ' address=' + hex(held.address) + ' size=' + held.size);
    return true;
  }

  function reallocate(handle, size) {
    const held = { ...state.live.get(handle), address: addressOf(handle) };
    const r = ex.call('heap_realloc', handle, size);
    if (r.ret < 0) {
      log('realloc: ' + r.text, 'error');
      return false;
    }
    const [off, usable, moved] = r.words;
    const at = address(off);
    record('heaptrace: realloc ' + hex(held.address) + ' -> ' + hex(at) + ' size=' + size + ' old=' + held.size + ' align=' + held.align + ' usable=' + usable);
    state.live.set(handle, { ...held, address: at, size });
    log('realloc: ' + r.text.replace(/offset=0x[0-9a-f]+/, 'address=' + hex(at)) + (moved ? ' (moved)' : ' (in place)'));
    return true;
  }

  function readNumber(id, what) {
    const value = number($(id).value);
    if (!Number.isFinite(value)) {
      log(what + ': "' + $(id).value + '" is not a number', 'error');
      return null;
    }
    return value;
  }

  // --------------------------------------------------------- demo (keys)

  function freeLine() {
    const s = state.snap;
    const parts = [];
    s.freeBlocks.forEach((count, order) => count && parts.push('order' + order + '=' + count));
    return 'free: ' + parts.join(' ') + ' (used=' + s.used + ' allocations=' + s.allocations + ')';
  }

  function demoKey(key) {
    if (key >= '1' && key <= '9') {
      const slot = key.charCodeAt(0) - 48;
      const handle = state.slots[slot - 1];
      if (handle !== null) {
        const held = state.live.get(handle);
        log('demo: slot ' + slot + ' is full (size ' + held.size + ' at ' + hex(addressOf(handle)) + "): free it with '" + FREE_KEYS[slot - 1] + "' first");
      } else {
        const size = ex.fast('demo_request', slot);
        const got = allocate(size, 1, true, true);
        if (got.handle < 0) {
          log('demo: slot ' + slot + ': ' + got.text, 'error');
        } else {
          state.slots[slot - 1] = got.handle;
          const order = got.order !== NO_ORDER ? ': order ' + got.order + ' (' + (2 ** got.order) + '-byte block)' : '';
          log('demo: slot ' + slot + ' <- size ' + size + order + ' at ' + hex(got.at) + ', usable ' + got.usable);
        }
      }
    } else if (FREE_KEYS.includes(key)) {
      const slot = FREE_KEYS.indexOf(key) + 1;
      const handle = state.slots[slot - 1];
      if (handle === null) {
        log('demo: slot ' + slot + ' is empty');
      } else {
        const at = addressOf(handle);
        if (free(handle, true)) {
          state.slots[slot - 1] = null;
          log('demo: slot ' + slot + ' freed (' + hex(at) + ')');
        }
      }
    } else if (key === 'p') {
      printFreeBlocks();
      return;
    } else if (key === 'Escape') {
      let freed = 0;
      state.slots.forEach((handle, index) => {
        if (handle !== null && free(handle, true)) freed++;
        state.slots[index] = null;
      });
      log('demo: done, freed ' + freed + ' block(s)');
    } else {
      return;
    }
    refresh();
    log(freeLine(), 'note');
    drawSlots();
  }

  // The `heap` command's free blocks by size (ShompOS's `p`).
  function printFreeBlocks() {
    const s = state.snap;
    const name = state.config.name;
    log('Free blocks by size (' + name + ' heap, ' + s.regions + ' regions, ' + bytesText(s.free) + ' of ' + bytesText(s.total) + ' free, ' + s.requested + ' B requested in ' + s.allocations + ' live):');
    let any = false;
    s.freeBlocks.forEach((count, order) => {
      if (!count) return;
      any = true;
      const exact = state.config.kind === 0 ? '' : '+';
      log('  order ' + String(order).padStart(2) + ' (' + bytesText(2 ** order) + exact + '): ' + count);
    });
    if (!any) log('  (none: the heap is full)');
  }

  function drawSlots() {
    const box = $('demo-slots');
    box.textContent = '';
    state.slots.forEach((handle, index) => {
      const held = handle !== null ? state.live.get(handle) : null;
      const text = (index + 1) + ': ' + (held ? held.size + ' B @ ' + hex(addressOf(handle)) : 'empty');
      box.append(element('span', { class: 'slot' + (held ? ' full' : '') }, text));
    });
  }

  // ---------------------------------------------------------------- draw

  function draw() {
    drawMap();
    drawStats();
    drawFreeLists();
    drawSlabs();
    drawHandles();
    drawSlots();
  }

  function drawMap() {
    const s = state.snap;
    const view = state.view;
    const rows = view.len > 16384 ? 16 : 8;
    const perRow = view.len / rows;
    const scale = MAP_W / perRow;
    const viewEnd = view.start + view.len;
    const height = rows * (ROW_H + ROW_GAP);
    const svg = $('map');
    svg.setAttribute('viewBox', '0 0 ' + (LABEL_W + MAP_W) + ' ' + height);
    svg.dataset.bytesPerPx = String(perRow / MAP_W);
    svg.dataset.viewStart = String(view.start);
    svg.dataset.viewLen = String(view.len);
    const parts = [
      '<defs><pattern id="waste" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">' +
        '<rect width="6" height="6" fill="#8fa8d8"/><rect width="2" height="6" fill="#c8d5ee"/></pattern></defs>',
    ];
    for (let row = 0; row < rows; row++) {
      const y = row * (ROW_H + ROW_GAP);
      parts.push('<text x="2" y="' + (y + ROW_H / 2 + 4) + '">' + hex(address(view.start + row * perRow)) + '</text>');
      parts.push('<rect x="' + LABEL_W + '" y="' + y + '" width="' + MAP_W + '" height="' + ROW_H + '" fill="#eef0f4"/>');
    }
    // Rectangles for [from, to) clipped to the view, one per row it crosses.
    const segments = (from, to, cls) => {
      let a = Math.max(from, view.start);
      const b = Math.min(to, viewEnd);
      let out = '';
      while (a < b) {
        const row = Math.floor((a - view.start) / perRow);
        const rowStart = view.start + row * perRow;
        const end = Math.min(b, rowStart + perRow);
        const x = LABEL_W + (a - rowStart) * scale;
        out += '<rect class="' + cls + '" x="' + x.toFixed(3) + '" y="' + row * (ROW_H + ROW_GAP) + '" width="' + ((end - a) * scale).toFixed(3) + '" height="' + ROW_H + '"/>';
        a = end;
      }
      return out;
    };
    for (const block of s.blocks) {
      if (block.off + block.size <= view.start || block.off >= viewEnd) continue;
      const end = block.off + block.size;
      // Browser test (tools/explorer-browser-test.sh --break): this line.
      const state_ = block.free ? 'free' : 'used';
      let classes = 'blk ' + state_;
      if (state.changed.has(block.off)) classes += ' new';
      if (state.selected === block.off) classes += ' selected';
      let body = '';
      let title = (block.free ? 'free' : 'used') + ' block at ' + hex(address(block.off)) + ', ' + block.size + ' bytes (order ' + sizeClass(block.size) + ')';
      if (block.free) {
        body += segments(block.off, end, 'free');
      } else {
        body += segments(block.off, end, 'used waste');
        if (block.header) body += segments(block.off, block.off + block.header, 'hdr');
        for (const handle of block.handles) {
          // With slabs on, requests up to 1 KiB are objects in a slab's page.
          if (s.slabs && !handle.beneath && handle.size <= 1024) body += segments(handle.off, handle.off + handle.usable, 'obj');
          body += segments(handle.off, handle.off + Math.min(handle.size, handle.usable), 'req');
        }
        if (block.handles.length) {
          title += '\nhandle' + (block.handles.length > 1 ? 's ' : ' ') + block.handles.slice(0, 12).map((h) => h.id + ' (' + h.size + ' B)').join(', ') + (block.handles.length > 12 ? ', …' : '');
        } else {
          title += '\n(not the page\'s: a slab page with no live object, or the heap\'s own)';
        }
      }
      if (classes.includes(' new') || classes.includes(' selected')) body += segments(block.off, end, 'outline');
      if ((end - block.off) * scale > 3 && block.off >= view.start) {
        const row = Math.floor((block.off - view.start) / perRow);
        const x = LABEL_W + (block.off - view.start - row * perRow) * scale;
        body += '<line class="sep" x1="' + x.toFixed(3) + '" x2="' + x.toFixed(3) + '" y1="' + row * (ROW_H + ROW_GAP) + '" y2="' + (row * (ROW_H + ROW_GAP) + ROW_H) + '"/>';
      }
      parts.push('<g class="' + classes + '" data-off="' + block.off + '" data-size="' + block.size + '" data-header="' + block.header + '"><title>' + title + '</title>' + body + '</g>');
    }
    svg.innerHTML = parts.join('');
    $('view-range').textContent = hex(address(view.start)) + '–' + hex(address(viewEnd)) + ' (' + bytesText(view.len) + ', ' + (perRow / MAP_W).toFixed(2) + ' B per px)';
  }

  function drawStats() {
    const s = state.snap;
    $('summary').textContent = s.summary;
    const waste = s.used - s.requested;
    const rows = [
      ['total', s.total], ['used', s.used], ['requested', s.requested],
      ['free', s.free], ['largest free', s.largest], ['allocations', s.allocations],
      ['peak used', s.peak], ['regions', s.regions], ['granule', s.granule],
      ['waste (used − requested)', waste + (s.used ? ' (' + (100 * waste / s.used).toFixed(1) + '%)' : '')],
      ['fragmentation (1 − largest/free)', s.free ? (100 * (1 - s.largest / s.free)).toFixed(1) + '%' : '–'],
      ['blocks', s.blocks.length],
    ];
    const table = $('stats');
    table.textContent = '';
    for (const [name, value] of rows) {
      table.append(element('tr', { 'data-stat': name }, element('td', {}, name), element('td', { class: 'num' }, value)));
    }
  }

  function drawFreeLists() {
    const s = state.snap;
    const walked = new Map();
    for (const block of s.blocks) {
      if (!block.free) continue;
      const k = sizeClass(block.size);
      if (!walked.has(k)) walked.set(k, []);
      walked.get(k).push(block);
    }
    const table = $('free-lists');
    table.textContent = '';
    table.append(element('tr', {}, element('th', {}, 'order'), element('th', { class: 'num' }, 'size'), element('th', { class: 'num' }, 'free'), element('th', {}, 'blocks (from the walk)')));
    const exact = state.config.kind === 0;
    let any = false;
    for (let k = 0; k < SIZE_CLASSES; k++) {
      const count = s.freeBlocks[k];
      const blocks = walked.get(k) || [];
      if (!count && !blocks.length) continue;
      any = true;
      const list = blocks.slice(0, 6).map((b) => hex(address(b.off))).join(' ') + (blocks.length > 6 ? ' … +' + (blocks.length - 6) : '');
      const countText = count === blocks.length ? String(count) : count + ' (walk: ' + blocks.length + ')';
      table.append(element('tr', {}, element('td', {}, String(k)), element('td', { class: 'num' }, bytesText(2 ** k) + (exact ? '' : '+')), element('td', { class: 'num' }, countText), element('td', { class: 'mono', style: 'font-size:0.75rem' }, list)));
    }
    if (!any) table.append(element('tr', {}, element('td', { colspan: 4 }, '(none: the heap is full)')));
  }

  function drawSlabs() {
    const s = state.snap;
    $('slab-panel').hidden = !s.slabs;
    const table = $('slabs');
    table.textContent = '';
    table.append(element('tr', {}, ...['object', 'per slab', 'slabs', 'live'].map((h) => element('th', { class: 'num' }, h))));
    let any = false;
    for (const c of s.classes) {
      if (!c.slabs && !c.live) continue;
      any = true;
      table.append(element('tr', {}, ...[c.size, c.capacity, c.slabs, c.live].map((v) => element('td', { class: 'num' }, v))));
    }
    if (!any) table.append(element('tr', {}, element('td', { colspan: 4 }, 'no slabs: objects up to 1 KiB get one when asked for')));
  }

  function drawHandles() {
    const s = state.snap;
    const table = $('handles');
    table.textContent = '';
    table.append(element('tr', {}, ...['handle', 'address', 'size', 'usable', ''].map((h) => element('th', {}, h))));
    for (const h of s.handles.slice(-150).reverse()) {
      const button = element('button', { onclick: () => { free(h.id); refresh(); } }, 'free');
      const row = element('tr', { class: 'clickable', onclick: (event) => { if (event.target !== button) select(h.block ? h.block.off : null, h.id); } },
        element('td', { class: 'num' }, h.id), element('td', { class: 'mono' }, hex(address(h.off))),
        element('td', { class: 'num' }, h.size), element('td', { class: 'num' }, h.usable), element('td', {}, button));
      table.append(row);
    }
    if (s.handles.length > 150) table.append(element('tr', {}, element('td', { colspan: 5 }, '… and ' + (s.handles.length - 150) + ' older')));
    if (!s.handles.length) table.append(element('tr', {}, element('td', { colspan: 5 }, 'none')));
  }

  function select(off, handle) {
    state.selected = off;
    if (handle !== undefined && handle !== null) {
      $('free-handle').value = handle;
      $('realloc-handle').value = handle;
    }
    drawMap();
  }

  function zoom(factor) {
    const view = state.view;
    const len = Math.min(state.snap.arena, Math.max(4096, view.len / factor));
    const center = state.selected !== null ? state.selected : view.start + view.len / 2;
    let start = Math.floor((center - len / 2) / (len / 8)) * (len / 8);
    start = Math.max(0, Math.min(start, state.snap.arena - len));
    state.view = { start, len };
    drawMap();
  }

  // --------------------------------------------------------------- replay

  function tagOf(word) {
    const t = String(word || '').toLowerCase().replace(/^0x/, '').replace(/^0+(?=.)/, '');
    return /^[0-9a-f]+$/.test(t) ? t : null;
  }

  // Reads a trace leniently: a line's event is the first word after
  // "heaptrace:" (whatever comes before it: a timestamp, other output), or
  // the line's first word if it has no "heaptrace:"; fields in any order,
  // `align` 1 and `usable` unknown when missing, unknown fields ignored;
  // lines without an event (the shell's own replies) are passed over;
  // `heaptrace: on ... total=N` sizes the arena.
  function parseTrace(text) {
    const steps = [];
    let arena = null;
    let kind = null;
    let unreadable = 0;
    const lines = text.split(/\r?\n/);
    lines.forEach((line, lineNo) => {
      const prefix = line.indexOf('heaptrace:');
      const words = (prefix >= 0 ? line.slice(prefix + 10) : line).trim().split(/\s+/);
      const fields = {};
      for (const word of words) {
        const m = /^([a-z_]+)=(\S+)$/i.exec(word);
        if (m) fields[m[1].toLowerCase()] = m[2];
      }
      const field = (name) => (name in fields ? number(fields[name]) : NaN);
      const at = /^(alloc|free|realloc|fail|refused)$/.test(words[0]) ? 0 : -1;
      if (at < 0) {
        if (words[0] === 'on' && Number.isFinite(field('total'))) {
          arena = field('total');
          kind = fields.kind || null;
        }
        return;
      }
      const op = words[at];
      const step = { op, text: line.trim(), line: lineNo + 1 };
      if (op === 'alloc') {
        step.tag = tagOf(words[at + 1]);
        step.size = field('size');
        step.align = Number.isFinite(field('align')) ? field('align') : 1;
        step.beneath = fields.beneath === '1';
        if (step.tag === null || !Number.isFinite(step.size)) return void unreadable++;
      } else if (op === 'free') {
        step.tag = tagOf(words[at + 1]);
        if (step.tag === null) return void unreadable++;
      } else if (op === 'realloc') {
        step.tag = tagOf(words[at + 1]);
        const arrow = words[at + 2] === '->' ? at + 3 : at + 2;
        step.to = tagOf(words[arrow]);
        step.size = field('size');
        if (step.tag === null || step.to === null || !Number.isFinite(step.size)) return void unreadable++;
      }
      steps.push(step);
    });
    return { steps, arena, kind, unreadable };
  }

  function loadTrace(text, source) {
    stopRun();
    const parsed = parseTrace(text);
    replay.steps = parsed.steps;
    replay.unreadable = parsed.unreadable;
    replay.arena = parsed.arena;
    let note = parsed.steps.length + ' steps from ' + source;
    if (parsed.unreadable) note += ', ' + parsed.unreadable + ' unreadable lines skipped';
    if (parsed.arena) {
      // A page at least, 256 MiB at most (the explorer's limit).
      const arena = Math.min(256 << 20, Math.max(4096, Math.ceil(parsed.arena / 4096) * 4096));
      setArena(arena);
      note += '; arena ' + bytesText(arena) + ' (the trace\'s total=)';
    }
    if (parsed.kind) note += '; recorded on ' + parsed.kind;
    $('trace-info').textContent = note;
    log('trace: ' + note, 'note');
    restart();
  }

  function setArena(arena) {
    const select = $('arena');
    if (![...select.options].some((o) => Number(o.value) === arena)) {
      select.append(element('option', { value: String(arena) }, bytesText(arena) + ' (trace)'));
    }
    select.value = String(arena);
    state.arena = arena;
  }

  function restart() {
    stopRun();
    resetHeap(true);
    replay.pos = 0;
    replay.tags = new Map();
    replay.failed = 0;
    replay.skipped = 0;
    replay.outcome = [];
    state.snap = null;
    refresh(false);
    drawTraceWindow();
  }

  // One step of a replay, as tools/explorer/tests/api.rs's `replay` does it.
  function applyStep(step, verbose, recordIt = false) {
    state.recording = recordIt;
    try {
      return applyStepUnrecorded(step, verbose);
    } finally {
      state.recording = true;
    }
  }

  // This session's steps again, on the heap now chosen: the same sequence
  // on another heap (recorded anew, with this heap's addresses).
  function replaySession() {
    const steps = parseTrace(state.session.join('\n')).steps;
    resetHeap();
    state.session = [];
    replay.tags = new Map();
    replay.failed = 0;
    replay.skipped = 0;
    for (const step of steps) applyStep(step, false, true);
    state.snap = null;
    refresh(false);
    if (steps.length) {
      log('replayed this session\'s ' + steps.length + ' steps on ' + state.config.name + (replay.failed ? ': ' + replay.failed + ' failed' : ''), 'note');
    }
  }

  function applyStepUnrecorded(step, verbose) {
    const tags = replay.tags;
    let outcome = '';
    if (step.op === 'alloc') {
      const got = verbose ? allocate(step.size, step.align, step.beneath) : quickAlloc(step);
      if (got > 0 || got.handle > 0) tags.set(step.tag, got.handle || got);
      else outcome = 'failed';
    } else if (step.op === 'free') {
      if (tags.has(step.tag)) {
        const handle = tags.get(step.tag);
        tags.delete(step.tag);
        if (verbose) free(handle);
        else quickFree(handle);
      } else {
        outcome = 'skipped';
      }
    } else if (step.op === 'realloc') {
      if (tags.has(step.tag)) {
        const handle = tags.get(step.tag);
        tags.delete(step.tag);
        const ok = verbose ? reallocate(handle, step.size) : quickRealloc(handle, step.size);
        if (ok) tags.set(step.to, handle);
        else tags.set(step.tag, handle), outcome = 'failed';
      } else {
        outcome = 'skipped';
      }
    } else {
      outcome = 'skipped';
    }
    if (outcome === 'failed') replay.failed++;
    if (outcome === 'skipped') replay.skipped++;
    if (verbose && outcome === 'skipped') log('replay: line ' + step.line + ' skipped (' + (step.op === 'fail' || step.op === 'refused' ? 'the kernel served nothing' : 'no block of this replay has that address') + ')', 'note');
    return outcome;
  }

  // The same without the page's bookkeeping of addresses (fast replays).
  function quickAlloc(step) {
    const handle = ex.fast('heap_alloc', step.size, step.align, step.beneath ? 1 : 0);
    if (handle > 0) state.live.set(handle, { address: 0, size: step.size, align: step.align, beneath: step.beneath });
    return handle;
  }

  function quickFree(handle) {
    ex.fast('heap_free', handle);
    state.live.delete(handle);
  }

  function quickRealloc(handle, size) {
    const ok = ex.fast('heap_realloc', handle, size) === 0;
    if (ok) state.live.get(handle).size = size;
    return ok;
  }

  // Applies steps up to `target` without drawing; returns the time taken.
  function runTo(target) {
    const t0 = performance.now();
    while (replay.pos < target && replay.pos < replay.steps.length) {
      replay.outcome[replay.pos] = applyStep(replay.steps[replay.pos], false);
      replay.pos++;
    }
    return performance.now() - t0;
  }

  function stepOnce() {
    if (replay.pos >= replay.steps.length) {
      stopRun();
      return false;
    }
    const step = replay.steps[replay.pos];
    log('» ' + step.line + ': ' + step.text, 'note');
    replay.outcome[replay.pos] = applyStep(step, true);
    replay.pos++;
    refresh();
    drawTraceWindow();
    return true;
  }

  function stepBack() {
    const target = Math.max(0, replay.pos - 1);
    restart();
    runTo(target);
    refresh(false);
    drawTraceWindow();
  }

  function toEnd() {
    stopRun();
    const from = replay.pos;
    const t0 = performance.now();
    const replayMs = runTo(replay.steps.length);
    state.snap = null;
    refresh(false);
    drawTraceWindow();
    const total = performance.now() - t0;
    const done = replay.pos - from;
    $('replay-ms').textContent = done + ' steps: ' + replayMs.toFixed(1) + ' ms in the heap, ' + total.toFixed(1) + ' ms with drawing';
    $('replay-ms').dataset.steps = String(done);
    $('replay-ms').dataset.replayMs = replayMs.toFixed(3);
    $('replay-ms').dataset.totalMs = total.toFixed(3);
    log('replay: ' + done + ' steps in ' + replayMs.toFixed(1) + ' ms (' + total.toFixed(1) + ' ms with drawing); ' + replay.failed + ' failed, ' + replay.skipped + ' skipped', 'note');
    return { replayMs, total };
  }

  function run() {
    if (replay.timer) return stopRun();
    $('step-run').textContent = 'pause';
    const tick = () => {
      const speed = Number($('step-speed').value);
      // Up to 30 steps a second one by one; faster, in batches per frame.
      if (speed <= 30) {
        if (!stepOnce()) return;
        replay.timer = setTimeout(tick, 1000 / speed);
      } else {
        runTo(replay.pos + Math.ceil(speed / 10));
        refresh();
        drawTraceWindow();
        if (replay.pos >= replay.steps.length) return stopRun();
        replay.timer = setTimeout(tick, 100);
      }
    };
    tick();
  }

  function stopRun() {
    if (replay.timer) clearTimeout(replay.timer);
    replay.timer = null;
    $('step-run').textContent = 'play';
  }

  function drawTraceWindow() {
    const box = $('trace-window');
    box.textContent = '';
    const n = replay.steps.length;
    $('step-position').textContent = n ? 'step ' + replay.pos + ' / ' + n + ' (failed ' + replay.failed + ', skipped ' + replay.skipped + ')' : 'no trace loaded';
    if (!n) return;
    const from = Math.max(0, replay.pos - 3);
    for (let i = from; i < Math.min(n, from + 7); i++) {
      const step = replay.steps[i];
      const mark = i === replay.pos ? '▶ ' : i < replay.pos ? '✓ ' : '  ';
      const outcome = replay.outcome[i] ? '   [' + replay.outcome[i] + ']' : '';
      const cls = i === replay.pos ? 'current' : replay.outcome[i] === 'failed' ? 'failed' : '';
      box.append(element('span', cls ? { class: cls } : {}, mark + String(step.line).padStart(6) + '  ' + step.text + outcome), '\n');
    }
  }

  // The loaded trace (or this session) on every heap: the figures each ends with.
  function compareAll(steps, arena) {
    const results = [];
    const saved = state.config;
    for (const config of CONFIGS) {
      state.config = config;
      state.arena = arena;
      resetHeap(true);
      replay.tags = new Map();
      replay.failed = 0;
      replay.skipped = 0;
      const t0 = performance.now();
      for (const step of steps) applyStep(step, false);
      const ms = performance.now() - t0;
      const s = snapshot();
      results.push({
        name: config.name, total: s.total, used: s.used, requested: s.requested, free: s.free,
        largest_free: s.largest, allocations: s.allocations, peak_used: s.peak,
        blocks: s.blocks.length, free_blocks: s.blocks.filter((b) => b.free).length,
        failed: replay.failed, skipped: replay.skipped, ms,
      });
    }
    state.config = saved;
    return results;
  }

  function showComparison(results) {
    const table = $('compare-table');
    table.textContent = '';
    const heads = ['heap', 'failed', 'live', 'used', 'requested', 'waste', 'free', 'largest free', 'fragm.', 'peak', 'ms'];
    table.append(element('tr', {}, ...heads.map((h, i) => element('th', i ? { class: 'num' } : {}, h))));
    for (const r of results) {
      const waste = r.used - r.requested;
      const cells = [r.name, r.failed, r.allocations, r.used, r.requested,
        waste + (r.used ? ' (' + (100 * waste / r.used).toFixed(0) + '%)' : ''), r.free, r.largest_free,
        r.free ? (100 * (1 - r.largest_free / r.free)).toFixed(0) + '%' : '–', r.peak_used, r.ms.toFixed(1)];
      const row = element('tr', { class: 'clickable' + (r.name === state.config.name ? ' current' : ''), 'data-heap': r.name, onclick: () => { $('heap-kind').value = r.name; state.config = configByName(r.name); restart(); toEnd(); showComparison(results); } },
        ...cells.map((c, i) => element('td', i ? { class: 'num' } : {}, c)));
      table.append(row);
    }
  }

  function compare() {
    stopRun();
    let steps = replay.steps;
    if (!steps.length) {
      steps = parseTrace(state.session.join('\n')).steps;
      if (!steps.length) return log('compare: nothing to replay (load a trace, or allocate something first)', 'error');
    }
    const arena = state.arena;
    const position = replay.pos;
    const results = compareAll(steps, arena);
    showComparison(results);
    // Back where the reader was.
    state.config = configByName($('heap-kind').value);
    restart();
    runTo(position);
    refresh(false);
    drawTraceWindow();
    log('compare: ' + steps.length + ' steps on ' + CONFIGS.length + ' heaps over ' + bytesText(arena), 'note');
  }

  // ------------------------------------------------------------ self test

  // heap.html?selftest=TRACE: replays TRACE on every heap, draws it on
  // ?draw=HEAP (default buddy), and writes the figures as JSON into
  // #selftest-results, for tools/explorer-browser-test.sh.
  async function selftest(url) {
    const response = await fetch(url);
    const text = await response.text();
    loadTrace(text, url);
    const heaps = {};
    for (const r of compareAll(replay.steps, state.arena)) heaps[r.name] = r;
    const drawName = params.get('draw') || 'buddy';
    $('heap-kind').value = drawName;
    state.config = configByName(drawName);
    restart();
    const timing = toEnd();
    const svg = $('map');
    const drawnFree = svg.querySelectorAll('g.blk.free').length;
    const result = {
      wasm_bytes: ex.size, steps: replay.steps.length, arena: state.arena, drawn: drawName,
      replay_ms: timing.replayMs, replay_and_draw_ms: timing.total, drawn_free_blocks: drawnFree, heaps,
    };
    const out = $('selftest-results');
    out.textContent = JSON.stringify(result);
    out.hidden = false;
    document.body.dataset.selftest = 'done';
  }

  // ----------------------------------------------------------------- wire

  function wire() {
    // Another heap or arena: the loaded trace starts again on it, or this
    // session's steps are replayed on it.
    $('heap-kind').addEventListener('change', () => {
      state.config = configByName($('heap-kind').value);
      if (replay.steps.length) restart();
      else replaySession();
    });
    $('arena').addEventListener('change', () => {
      state.arena = Number($('arena').value);
      if (replay.steps.length) restart();
      else replaySession();
    });
    $('reset').addEventListener('click', () => {
      state.session = [];
      resetHeap();
      state.snap = null;
      refresh(false);
      if (replay.steps.length) restart();
    });
    $('replay-session').addEventListener('click', replaySession);
    $('check').addEventListener('click', () => {
      const r = ex.call('heap_check');
      log(r.text, r.ret < 0 ? 'error' : 'note');
    });
    $('alloc').addEventListener('click', () => {
      const size = readNumber('alloc-size', 'alloc');
      const align = readNumber('alloc-align', 'alloc');
      if (size === null || align === null) return;
      const got = allocate(size, align, false);
      if (got.handle > 0) {
        $('free-handle').value = got.handle;
        $('realloc-handle').value = got.handle;
      }
      refresh();
    });
    $('free').addEventListener('click', () => {
      const handle = readNumber('free-handle', 'free');
      if (handle === null) return;
      if (!state.live.has(handle)) {
        ex.call('heap_free', handle);
        return log('free: ' + ex.text(), 'error');
      }
      free(handle);
      state.slots.forEach((h, i) => { if (h === handle) state.slots[i] = null; });
      refresh();
    });
    $('realloc').addEventListener('click', () => {
      const handle = readNumber('realloc-handle', 'realloc');
      const size = readNumber('realloc-size', 'realloc');
      if (handle === null || size === null) return;
      if (!state.live.has(handle)) {
        ex.call('heap_realloc', handle, size);
        return log('realloc: ' + ex.text(), 'error');
      }
      reallocate(handle, size);
      refresh();
    });
    for (const id of ['alloc-size', 'alloc-align']) $(id).addEventListener('keydown', (e) => e.key === 'Enter' && $('alloc').click());
    $('free-handle').addEventListener('keydown', (e) => e.key === 'Enter' && $('free').click());

    const allocKeys = $('demo-alloc-keys');
    const freeKeys = $('demo-free-keys');
    for (let key = 1; key <= 9; key++) {
      const size = ex.fast('demo_request', key);
      allocKeys.append(element('button', { class: 'key', title: 'allocate ' + size + ' bytes into slot ' + key, onclick: () => demoKey(String(key)) }, String(key)));
      freeKeys.append(element('button', { class: 'key', title: 'free slot ' + key, onclick: () => demoKey(FREE_KEYS[key - 1]) }, FREE_KEYS[key - 1]));
    }
    $('demo-p').addEventListener('click', () => demoKey('p'));
    $('demo-esc').addEventListener('click', () => demoKey('Escape'));
    document.addEventListener('keydown', (event) => {
      const target = event.target;
      if (event.ctrlKey || event.metaKey || event.altKey) return;
      if (target && /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName)) return;
      const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
      if (/^[1-9]$/.test(key) || FREE_KEYS.includes(key) || key === 'p' || key === 'Escape') {
        event.preventDefault();
        demoKey(key);
      }
    });

    $('map').addEventListener('click', (event) => {
      const g = event.target.closest('g.blk');
      if (!g) return;
      const off = Number(g.dataset.off);
      const block = blockAt(state.snap.blocks, off);
      const handle = block && block.handles.length ? block.handles[0].id : null;
      select(off, handle);
      log(g.querySelector('title').textContent.replace(/\n/g, '; '), 'note');
    });
    $('zoom-in').addEventListener('click', () => zoom(4));
    $('zoom-out').addEventListener('click', () => zoom(0.25));
    $('zoom-fit').addEventListener('click', () => {
      state.view = { start: 0, len: state.snap.arena };
      drawMap();
    });

    $('trace-file').addEventListener('change', async () => {
      const file = $('trace-file').files[0];
      if (!file) return;
      const text = await file.text();
      $('trace-text').value = text.length > 200000 ? text.slice(0, 200000) + '\n… (shown cut; all ' + text.length + ' bytes loaded)' : text;
      loadTrace(text, file.name);
    });
    $('trace-load').addEventListener('click', () => loadTrace($('trace-text').value, 'the pasted text'));
    $('trace-session').addEventListener('click', () => {
      const text = state.session.join('\n');
      $('trace-text').value = text;
      loadTrace(text, 'this session');
    });
    $('step-restart').addEventListener('click', restart);
    $('step-back').addEventListener('click', stepBack);
    $('step-next').addEventListener('click', () => { stopRun(); stepOnce(); });
    $('step-run').addEventListener('click', run);
    $('step-end').addEventListener('click', toEnd);
    $('compare').addEventListener('click', compare);
  }

  async function main() {
    try {
      ex = await window.StrataExplorer.load();
    } catch (error) {
      setStatus('Cannot load strata_explorer.wasm (' + error.message + '): build it with `make explorers` and open target/explorers/heap.html.', true);
      return;
    }
    setStatus('strata_explorer.wasm: ' + (ex.size / 1024).toFixed(0) + ' KiB of WebAssembly, compiled from modules/memory/src/heap/.');
    state.config = configByName($('heap-kind').value);
    state.arena = Number($('arena').value);
    ex.onPanic = (message) => {
      stopRun();
      setStatus('The heap code panicked (' + message + '): the heap starts over.', true);
      log('panic in kernel code, ' + message, 'error');
      replay.pos = 0;
      resetHeap();
      state.snap = null;
      refresh(false);
    };
    wire();
    resetHeap();
    refresh(false);
    drawTraceWindow();
    window.StrataExplorer.runSelftest(params, selftest);
  }

  main();
})();
