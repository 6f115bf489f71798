// The page-walk explorer. The walk, translate, map and unmap are chapter 3's
// (page_table.rs, mapping.rs), in strata_explorer.wasm; this file shows
// what they found: the indices, the two entries and their flags, the
// physical address or where the walk stopped.
'use strict';

(function () {
  const { hex, number, element } = window.StrataExplorer;
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  if (params.has('embed')) document.body.classList.add('embedded');

  // The entry bits, as the x86 crate's PDFlags and PTFlags name them.
  const FLAGS = [
    ['P', 'present'], ['RW', 'writable'], ['US', 'user'], ['PWT', 'write-through'],
    ['PCD', 'cache disabled'], ['A', 'accessed'], ['D', 'dirty'], ['PS/PAT', 'page size (PDE) / PAT (PTE)'],
    ['G', 'global'], ['OWNED', "bit 9, the OS's: the frame is the mapping's own"], ['AVL10', 'bit 10, the OS\'s'], ['AVL11', 'bit 11, the OS\'s'],
  ];
  const OWNED = 1 << 9;

  let ex = null;
  let current = 0xd0000123;

  function log(line, kind = '') {
    const out = $('log');
    out.append(element('span', kind ? { class: kind } : {}, line + '\n'));
    while (out.childNodes.length > 300) out.removeChild(out.firstChild);
    out.scrollTop = out.scrollHeight;
  }

  function flagBadges(value, isDirectory) {
    const box = element('span', {});
    FLAGS.forEach(([name, meaning], bit) => {
      const label = bit === 7 ? (isDirectory ? 'PS' : 'PAT') : name;
      if (isDirectory && bit === 9) return;
      const on = (value >>> bit) & 1;
      box.append(element('span', { class: 'badge ' + (on ? 'on' : 'off'), title: meaning, 'data-flag': label }, label));
    });
    return box;
  }

  function drawBits(address) {
    const box = $('bits');
    box.textContent = '';
    const bits = element('div', { class: 'bits' });
    for (let bit = 31; bit >= 0; bit--) {
      const cls = bit >= 22 ? 'dir' : bit >= 12 ? 'tab' : 'off';
      bits.append(element('div', { class: 'bit ' + cls, title: 'bit ' + bit }, (address >>> bit) & 1));
    }
    const unit = 1.45;
    const dir = address >>> 22;
    const tab = (address >>> 12) & 0x3ff;
    const off = address & 0xfff;
    const fields = element('div', { class: 'fields' },
      element('div', { style: 'width:' + 10 * unit + 'rem;border-color:#7d9be0' }, 'directory ' + dir + ' (' + hex(dir, 3) + ')'),
      element('div', { style: 'width:' + 10 * unit + 'rem;border-color:#d9a441' }, 'table ' + tab + ' (' + hex(tab, 3) + ')'),
      element('div', { style: 'width:' + 12 * unit + 'rem;border-color:#5cb85c' }, 'offset ' + off + ' (' + hex(off, 3) + ')'));
    box.append(bits, fields);
  }

  function step(ok, title, ...body) {
    return element('div', { class: 'walk-step ' + (ok ? 'ok' : 'stop') }, element('div', {}, element('strong', {}, title)), ...body);
  }

  function value(id, v) {
    return element('span', { class: 'value', id, 'data-value': String(v >>> 0) }, hex(v));
  }

  // Walks to `address` in wasm and shows the answer.
  function walk(address) {
    current = address >>> 0;
    $('address').value = hex(current);
    drawBits(current);
    const r = ex.call('pt_walk', current);
    if (r.ret < 0) return log('walk: ' + r.text, 'error');
    const w = r.words;
    const [dir, tab, off, pde, tableFrame, hasPte, pte, result, physical, , , directoryFrame] = w;
    const [pdeFlags, pteFlags, answer] = r.text.split('\n');
    const steps = $('steps');
    steps.textContent = '';
    steps.append(step(true, 'CR3 → page directory',
      element('div', {}, 'the directory is in frame ', value('pw-directory', directoryFrame), '; entry ', element('span', { class: 'mono', id: 'pw-dir-index', 'data-value': String(dir) }, String(dir)), ' is at ', hex(directoryFrame + dir * 4), ' (directory index × 4)')));
    const pdePresent = pde & 1;
    steps.append(step(pdePresent, 'Directory entry ' + dir,
      element('div', {}, 'value ', value('pw-pde', pde), '  ', flagBadges(pde, true)),
      element('div', { class: 'mono status' }, 'x86::bits32::paging::PDFlags: ' + (pdeFlags || '(none)')),
      pdePresent
        ? element('div', {}, 'page table in frame ', value('pw-table-frame', tableFrame), " (the entry's top 20 bits)")
        : element('div', {}, 'not present: no page table covers ' + hex(dir << 22) + '–' + hex((((dir + 1) << 22) - 1) >>> 0) + '. The walk stops here.')));
    if (hasPte) {
      const ptePresent = pte & 1;
      steps.append(step(ptePresent, 'Table entry ' + tab + ' (at ' + hex(tableFrame + tab * 4) + ')',
        element('div', {}, 'value ', value('pw-pte', pte), '  ', flagBadges(pte, false)),
        element('div', { class: 'mono status' }, 'x86::bits32::paging::PTFlags: ' + (pteFlags || '(none)')),
        ptePresent
          ? element('div', {}, 'frame ', value('pw-frame', pte & 0xfffff000), (pte & OWNED ? ' (owned: unmap gives it back)' : ''))
          : element('div', {}, 'not present: the page ' + hex(current & 0xfffff000) + ' is not mapped. The walk stops here.')));
    }
    if (result === 0) {
      steps.append(step(true, 'Physical address',
        element('div', {}, 'frame + offset = ', value('pw-physical', physical)),
        element('div', { class: 'mono status' }, 'translate: ' + answer)));
    } else {
      steps.append(step(false, result === 1 ? 'No page table (Missing::Table)' : 'No page (Missing::Page)',
        element('div', { class: 'mono status', id: 'pw-missing', 'data-value': String(result) }, 'translate: ' + answer + ' — a page fault, on a real CPU')));
    }
    steps.dataset.result = String(result);
    drawGrids(dir, tab);
  }

  function drawGrids(dir, tab) {
    const d = ex.call('pt_entries', 0xffffffff);
    const grid = $('directory-grid');
    grid.textContent = '';
    d.words.forEach((entry, index) => {
      const cls = (entry & 1 ? 'present' : '') + (index === dir ? ' selected' : '');
      const cell = element('div', { class: cls, title: 'directory entry ' + index + ': ' + hex(index << 22) + '–, ' + hex(entry) });
      cell.addEventListener('click', () => walk((index << 22) | (current & 0x3fffff)));
      grid.append(cell);
    });
    const runs = ex.call('pt_runs');
    $('directory-at').textContent = 'entry ' + dir;
    const t = ex.call('pt_entries', dir);
    const table = $('table-grid');
    table.textContent = '';
    if (t.ret < 0) {
      $('table-at').textContent = '(directory entry ' + dir + ' has none)';
    } else {
      $('table-at').textContent = 'of directory entry ' + dir;
      t.words.forEach((entry, index) => {
        let cls = entry & 1 ? 'present' + (entry & 2 ? ' rw' : '') + (entry & OWNED ? ' owned' : '') : '';
        if (index === tab) cls += ' selected';
        const address = ((dir << 22) | (index << 12)) >>> 0;
        const cell = element('div', { class: cls, title: hex(address) + ': ' + hex(entry) });
        cell.addEventListener('click', () => walk(address | (current & 0xfff)));
        table.append(cell);
      });
    }
    drawRuns(runs);
  }

  function drawRuns(r) {
    const [pages, tables, frames, limit, flushes] = r.words;
    $('counts').textContent = pages + ' pages mapped, ' + tables + ' page tables; ' + frames + ' of ' + limit + ' frames for tables used (the directory\'s included); ' + flushes + ' TLB flushes (invlpg)';
    const table = $('runs');
    table.textContent = '';
    table.append(element('tr', {}, ...['virtual', 'physical', 'pages', ''].map((h) => element('th', {}, h))));
    for (let at = 5; at + 4 <= r.words.length; at += 4) {
      const [start, frame, count, flags] = r.words.subarray(at, at + 4);
      const row = element('tr', { class: 'clickable' },
        element('td', { class: 'mono' }, hex(start) + '–' + hex(start + count * 4096 - 1)),
        element('td', { class: 'mono' }, hex(frame)),
        element('td', { class: 'num' }, count),
        element('td', {}, (flags & 2 ? 'read-write' : 'read-only') + (flags & 4 ? ', user' : '')));
      row.addEventListener('click', () => walk(start));
      table.append(row);
    }
    if (r.ret === 0) table.append(element('tr', {}, element('td', { colspan: 4 }, 'nothing mapped')));
  }

  function flags() {
    return ($('flag-rw').checked ? 2 : 0) | ($('flag-us').checked ? 4 : 0);
  }

  function readAddress() {
    const address = number($('address').value, true);
    if (!Number.isFinite(address) || address > 0xffffffff) {
      log('"' + $('address').value + '" is not a 32-bit address', 'error');
      return null;
    }
    return address >>> 0;
  }

  function map() {
    const address = readAddress();
    if (address === null) return;
    const count = number($('count').value);
    let r;
    if ($('frame-fresh').checked) {
      if (count !== 1) log('map: fresh frames are mapped one page at a time (give a frame for a range)', 'note');
      r = ex.call('pt_map', address, 0, 1, flags());
    } else {
      const frame = number($('frame').value, true);
      if (!Number.isFinite(frame)) return log('map: "' + $('frame').value + '" is not a frame address', 'error');
      r = count > 1 ? ex.call('pt_map_range', address, frame, count, flags()) : ex.call('pt_map', address, frame, 0, flags());
    }
    log('map: ' + r.text, r.ret < 0 ? 'error' : '');
    walk(address);
  }

  function unmap() {
    const address = readAddress();
    if (address === null) return;
    const r = ex.call('pt_unmap', address);
    log('unmap: ' + r.text, r.ret < 0 ? 'error' : '');
    walk(address);
  }

  function reset(preset) {
    const frames = number($('table-frames').value);
    const r = ex.call('pt_reset', Number.isFinite(frames) ? frames : 16);
    log(r.text, r.ret < 0 ? 'error' : 'note');
    if (r.ret < 0) return;
    if (preset) {
      const p = ex.call('pt_preset');
      log(p.text, p.ret < 0 ? 'error' : 'note');
    }
    walk(current);
  }

  // page-walk.html?selftest=REFERENCE: the preset, then a walk of every
  // address in REFERENCE; the numbers read back from the page's own
  // display, as JSON in #selftest-results (tools/explorer-browser-test.sh).
  async function selftest(url) {
    const reference = await (await fetch(url)).json();
    reset(true);
    const walks = [];
    const shown = (id) => {
      const node = document.getElementById(id);
      return node ? Number(node.dataset.value) : null;
    };
    for (const expected of reference.walks) {
      $('address').value = hex(expected.address);
      $('walk').click();
      const missing = document.getElementById('pw-missing');
      walks.push({
        address: expected.address,
        directory: shown('pw-dir-index'),
        pde: shown('pw-pde'),
        pte: shown('pw-pte'),
        result: missing ? Number(missing.dataset.value) : 0,
        physical: shown('pw-physical') || 0,
      });
    }
    const r = ex.call('pt_runs');
    const out = $('selftest-results');
    out.textContent = JSON.stringify({ walks, pages: r.words[0], tables: r.words[1] });
    out.hidden = false;
    document.body.dataset.selftest = 'done';
  }

  function wire() {
    $('walk').addEventListener('click', () => {
      const address = readAddress();
      if (address !== null) walk(address);
    });
    $('address').addEventListener('keydown', (event) => {
      const moves = { ArrowUp: 4096, ArrowDown: -4096, PageUp: 1 << 22, PageDown: -(1 << 22) };
      if (event.key === 'Enter') $('walk').click();
      else if (event.key in moves) {
        event.preventDefault();
        const address = readAddress();
        if (address !== null) walk((address + moves[event.key]) >>> 0);
      }
    });
    $('map').addEventListener('click', map);
    $('unmap').addEventListener('click', unmap);
    $('reset').addEventListener('click', () => reset(false));
    $('preset').addEventListener('click', () => reset(true));
  }

  async function main() {
    try {
      ex = await window.StrataExplorer.load();
    } catch (error) {
      $('status').textContent = 'Cannot load strata_explorer.wasm (' + error.message + '): build it with `make explorers` and open target/explorers/page-walk.html.';
      $('status').classList.add('error');
      return;
    }
    $('status').textContent = 'strata_explorer.wasm: ' + (ex.size / 1024).toFixed(0) + ' KiB of WebAssembly; the walk is modules/paging/src/page_table.rs.';
    ex.onPanic = (message) => {
      $('status').textContent = 'The page-table code panicked (' + message + '): the address space starts over.';
      $('status').classList.add('error');
      log('panic in kernel code, ' + message, 'error');
      // A fresh, empty address space; no walk (the address may panic again).
      const frames = number($('table-frames').value);
      log(ex.call('pt_reset', Number.isFinite(frames) ? frames : 16).text, 'note');
      $('steps').textContent = '';
    };
    wire();
    const start = number(params.get('address') || '', true);
    if (Number.isFinite(start)) current = start >>> 0;
    reset(true);
    window.StrataExplorer.runSelftest(params, selftest);
  }

  main();
})();
