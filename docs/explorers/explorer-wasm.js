// Loads strata_explorer.wasm: chapter 2's heaps and chapter 3's page-table
// walk, compiled from the kernel's own source files (tools/explorer).
//
// The module imports nothing and exports plain functions (see
// tools/explorer/src/lib.rs). A call leaves its results in wasm memory:
// words (out_words, out_words_len) and a UTF-8 text (out_text,
// out_text_len). `call` returns all three.
//
// Served over http(s), the page fetches strata_explorer.wasm from its own
// folder. Opened from disk (file://), where browsers refuse fetch, it loads
// strata_explorer.wasm.js instead: the same bytes in base64, which
// `make explorers` writes next to it.
'use strict';

window.StrataExplorer = (function () {
  const WASM = 'strata_explorer.wasm';

  function loadScript(src) {
    return new Promise((resolve, reject) => {
      const script = document.createElement('script');
      script.src = src;
      script.onload = resolve;
      script.onerror = () => reject(new Error('cannot load ' + src));
      document.head.appendChild(script);
    });
  }

  function fromBase64(text) {
    const binary = atob(text);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  }

  async function bytes() {
    if (location.protocol !== 'file:') {
      try {
        const response = await fetch(WASM);
        if (response.ok) return new Uint8Array(await response.arrayBuffer());
      } catch (error) {
        // Fall through to the base64 copy.
      }
    }
    if (!window.STRATA_EXPLORER_WASM) await loadScript(WASM + '.js');
    return fromBase64(window.STRATA_EXPLORER_WASM);
  }

  class Explorer {
    constructor(module, instance, size) {
      this.module = module;
      this.exports = instance.exports;
      this.size = size;
      this.decoder = new TextDecoder();
      // Called with the message when kernel code panicked (see `trapped`).
      this.onPanic = null;
    }

    // Calls export `name`; returns {ret, words, text} (words copied out of
    // wasm memory, which the next call reuses and may move).
    call(name, ...args) {
      const ret = this.fast(name, ...args);
      return { ret, words: this.words(), text: this.text() };
    }

    // Only the return value: for replays, where speed matters.
    fast(name, ...args) {
      try {
        return this.exports[name](...args);
      } catch (error) {
        if (error instanceof WebAssembly.RuntimeError) this.trapped(name, error);
        throw error;
      }
    }

    // A panic in kernel code ends the call with a trap. Its message was
    // kept (panic_text); the instance's state is lost, so a fresh instance
    // takes its place and the page is told, to start over.
    trapped(name, error) {
      const ex = this.exports;
      let message = String(error.message);
      try {
        const length = ex.panic_text_len();
        if (length) message = this.decoder.decode(new Uint8Array(ex.memory.buffer, ex.panic_text(), length));
      } catch (ignored) {
        // The message stays the trap's own.
      }
      this.exports = new WebAssembly.Instance(this.module, {}).exports;
      // The page starts over on the fresh instance; a panic while it does
      // is not reported again (no loop).
      if (this.onPanic && !this.recovering) {
        this.recovering = true;
        try {
          this.onPanic(name + ': ' + message);
        } finally {
          this.recovering = false;
        }
      }
    }

    words() {
      const ex = this.exports;
      const length = ex.out_words_len();
      if (length === 0) return new Uint32Array(0);
      return new Uint32Array(ex.memory.buffer, ex.out_words(), length).slice();
    }

    text() {
      const ex = this.exports;
      const length = ex.out_text_len();
      if (length === 0) return '';
      return this.decoder.decode(new Uint8Array(ex.memory.buffer, ex.out_text(), length));
    }
  }

  async function load() {
    const code = await bytes();
    const module = await WebAssembly.compile(code);
    const instance = await WebAssembly.instantiate(module, {});
    return new Explorer(module, instance, code.length);
  }

  function hex(value, digits = 8) {
    return '0x' + (value >>> 0).toString(16).padStart(digits, '0');
  }

  function bytesText(n) {
    if (n >= 1 << 20 && n % (1 << 20) === 0) return n / (1 << 20) + ' MiB';
    if (n >= 1024 && n % 1024 === 0) return n / 1024 + ' KiB';
    return n + ' B';
  }

  // Parses "0x1f", "1f" (hex when asked) or "31"; NaN if it is not a number.
  function number(text, hexDefault = false) {
    const t = String(text).trim().toLowerCase().replace(/_/g, '');
    if (/^0x[0-9a-f]+$/.test(t)) return parseInt(t.slice(2), 16);
    if (hexDefault && /^[0-9a-f]+$/.test(t)) return parseInt(t, 16);
    if (/^[0-9]+$/.test(t)) return parseInt(t, 10);
    return NaN;
  }

  function element(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes)) {
      if (key === 'class') node.className = value;
      else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value);
    }
    for (const child of children) {
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  /// Runs the page's self test (`?selftest=REFERENCE`, the browser test)
  /// if the address asks for one; a failure is shown where the test reads
  /// the results, and marks the page failed.
  function runSelftest(params, selftest) {
    const test = params.get('selftest');
    if (!test) return;
    selftest(test).catch((error) => {
      const results = document.getElementById('selftest-results');
      results.textContent = JSON.stringify({ error: String(error && error.stack || error) });
      results.hidden = false;
      document.body.dataset.selftest = 'failed';
    });
  }

  return { load, hex, bytesText, number, element, runSelftest };
})();
