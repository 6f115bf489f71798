#!/usr/bin/env python3
"""The explorers in a headless browser, against the host tests' reference.

    tools/explorer/browser-test.py PAGES REFERENCE [--break] [--chromium PATH]

PAGES is the built explorers (target/explorers: `make explorers`),
REFERENCE the files `cargo test -p strata-explorer` writes
(target/explorers-test: a 10 000-step heap trace and the figures each heap
ends with, the page walk's answers). tools/explorer-browser-test.sh runs
all three steps.

The pages are served from a temporary folder on 127.0.0.1 and loaded in
headless Chromium, driven over the DevTools protocol on a pipe
(--remote-debugging-pipe: no extra Python modules). It checks:

- heap.html?selftest=...: the page replays the trace on every heap; its
  figures must be the host test's, heap by heap;
- the drawing, read back from the page's SVG: one `g.blk.free` per free
  block, their sizes adding up to the free bytes, each drawn to scale
  (the width of its rectangles times the bytes per pixel);
- page-walk.html?selftest=...: each walk, as the page displays it, must be
  the host test's;
- heap.html opened from disk (file://), where the page must load the wasm
  from its base64 copy.

It prints how long the page took to replay the 10 000 steps.

--break serves a copy of heap.js that draws free blocks of 256 bytes or
less as used ones: the drawing check must then fail (and this exits 1).
"""

import argparse
import base64
import functools
import html.parser
import http.server
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time

TIMEOUT = 90
HEAP_FIELDS = ("total", "used", "requested", "free", "largest_free", "allocations",
               "peak_used", "blocks", "free_blocks", "failed", "skipped")
# The line heap.js marks for this test, and how --break changes it.
DRAW_LINE = "const state_ = block.free ? 'free' : 'used';"
BROKEN_LINE = "const state_ = block.free && block.size > 256 ? 'free' : 'used';"


class Failures:
    def __init__(self):
        self.messages = []
        self.passed = 0

    def check(self, ok, message):
        if ok:
            self.passed += 1
        else:
            self.messages.append(message)
            print("  FAIL " + message)
        return ok


class DevTools:
    """Chromium on --remote-debugging-pipe: JSON messages ending in NUL,
    written to its fd 3 and read from its fd 4."""

    def __init__(self, chromium, profile):
        to_browser_read, self.to_browser = os.pipe()
        self.from_browser, from_browser_write = os.pipe()

        def pipes():
            os.dup2(to_browser_read, 3)
            os.dup2(from_browser_write, 4)

        self.process = subprocess.Popen(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-dev-shm-usage", "--allow-file-access-from-files",
             "--remote-debugging-pipe", "--user-data-dir=" + profile, "about:blank"],
            preexec_fn=pipes, close_fds=False,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_browser_read)
        os.close(from_browser_write)
        self.buffer = b""
        self.next_id = 0

    def read(self, deadline):
        while b"\0" not in self.buffer:
            left = deadline - time.time()
            if left <= 0:
                raise TimeoutError("no answer from Chromium")
            ready, _, _ = select.select([self.from_browser], [], [], left)
            if ready:
                chunk = os.read(self.from_browser, 1 << 16)
                if not chunk:
                    raise EOFError("Chromium closed the pipe")
                self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method, params=None, session=None):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.time() + TIMEOUT
        while True:
            answer = self.read(deadline)
            if answer.get("id") == self.next_id:
                if "error" in answer:
                    raise RuntimeError(method + ": " + json.dumps(answer["error"]))
                return answer.get("result", {})

    def open(self, url):
        target = self.send("Target.createTarget", {"url": url})["targetId"]
        return self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]

    def evaluate(self, session, expression):
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session)
        return result.get("result", {}).get("value")

    def screenshot(self, session, path):
        """Saves the page as a 1200x900 PNG (for docs/images)."""
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": 1200, "height": 900, "deviceScaleFactor": 1, "mobile": False}, session)
        data = self.send("Page.captureScreenshot", {"format": "png"}, session)["data"]
        with open(path, "wb") as file:
            file.write(base64.b64decode(data))

    def wait_for(self, session, expression, seconds=TIMEOUT):
        deadline = time.time() + seconds
        while time.time() < deadline:
            value = self.evaluate(session, expression)
            if value:
                return value
            time.sleep(0.1)
        raise TimeoutError("waited %ds for: %s" % (seconds, expression))

    def close(self):
        try:
            self.send("Browser.close")
        except (EOFError, TimeoutError, RuntimeError, OSError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


class MapReader(html.parser.HTMLParser):
    """The heap map's blocks as the SVG draws them: each `g.blk` with its
    data-* and the widths of its rectangles by class."""

    def __init__(self):
        super().__init__()
        self.bytes_per_px = None
        self.blocks = []
        self.current = None
        self.in_map = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        if tag == "svg" and attrs.get("id") == "map":
            self.in_map = True
            self.bytes_per_px = float(attrs["data-bytes-per-px"])
        elif self.in_map and tag == "g" and "blk" in classes:
            self.current = {"free": "free" in classes, "size": int(attrs["data-size"]),
                            "off": int(attrs["data-off"]), "widths": {}}
            self.blocks.append(self.current)
        elif self.in_map and tag == "rect" and self.current is not None:
            for name in classes:
                self.current["widths"][name] = self.current["widths"].get(name, 0.0) + float(attrs["width"])

    def handle_endtag(self, tag):
        if tag == "g":
            self.current = None
        elif tag == "svg":
            self.in_map = False


def check_heap(devtools, base, reference, failures, shots=None):
    trace = reference["trace"]
    session = devtools.open(base + "/heap.html?selftest=" + trace)
    status = devtools.wait_for(session, "document.body && document.body.dataset.selftest")
    results = json.loads(devtools.evaluate(session, "document.getElementById('selftest-results').textContent"))
    if not failures.check(status == "done", "heap.html self test: " + json.dumps(results)):
        return None
    print("heap.html: %d steps replayed on %d heaps" % (results["steps"], len(results["heaps"])))
    for name, expected in reference["heaps"].items():
        got = results["heaps"].get(name)
        if not failures.check(got is not None, "heap %s: not replayed by the page" % name):
            continue
        wrong = [f"{field} {got[field]} != {expected[field]}" for field in HEAP_FIELDS if got[field] != expected[field]]
        failures.check(not wrong, "heap %s: the page's figures differ from the host test's: %s" % (name, "; ".join(wrong)))
    # The drawing, read back from the page.
    drawn = reference["heaps"][results["drawn"]]
    reader = MapReader()
    reader.feed(devtools.evaluate(session, "document.getElementById('map').outerHTML"))
    free = [block for block in reader.blocks if block["free"]]
    used = [block for block in reader.blocks if not block["free"]]
    failures.check(len(free) == drawn["free_blocks"],
                   "drawing: %d free blocks drawn, the heap has %d" % (len(free), drawn["free_blocks"]))
    failures.check(len(used) == drawn["blocks"] - drawn["free_blocks"],
                   "drawing: %d used blocks drawn, the heap has %d" % (len(used), drawn["blocks"] - drawn["free_blocks"]))
    failures.check(sum(block["size"] for block in free) == drawn["free"],
                   "drawing: the free blocks drawn add up to %d bytes, the heap has %d free"
                   % (sum(block["size"] for block in free), drawn["free"]))
    off_scale = [block for block in free
                 if abs(block["widths"].get("free", 0.0) * reader.bytes_per_px - block["size"]) > 0.01 * reader.bytes_per_px * 16]
    failures.check(not off_scale, "drawing: %d free blocks not drawn to scale, e.g. %s"
                   % (len(off_scale), json.dumps(off_scale[:2])))
    covered = sum(sum(w for name, w in block["widths"].items() if name in ("free", "used")) for block in reader.blocks)
    failures.check(abs(covered * reader.bytes_per_px - results["arena"]) < reader.bytes_per_px * len(reader.blocks) * 0.01,
                   "drawing: the blocks cover %.0f bytes of the %d-byte arena" % (covered * reader.bytes_per_px, results["arena"]))
    print("heap.html: %d blocks drawn (%d free) at %.2f bytes per pixel" % (len(reader.blocks), len(free), reader.bytes_per_px))
    if shots:
        devtools.screenshot(session, os.path.join(shots, "heap-explorer.png"))
    return results


def check_page_walk(devtools, base, reference, failures, shots=None):
    session = devtools.open(base + "/page-walk.html?selftest=pagewalk-reference.json")
    status = devtools.wait_for(session, "document.body && document.body.dataset.selftest")
    results = json.loads(devtools.evaluate(session, "document.getElementById('selftest-results').textContent"))
    if not failures.check(status == "done", "page-walk.html self test: " + json.dumps(results)):
        return
    for expected, got in zip(reference["walks"], results["walks"]):
        for field in ("directory", "pde", "pte", "result", "physical"):
            failures.check(got[field] == expected[field], "walk %#010x: %s shown %s, expected %s"
                           % (expected["address"], field, got[field], expected[field]))
    failures.check(len(results["walks"]) == len(reference["walks"]), "page walk: not every address walked")
    failures.check((results["pages"], results["tables"]) == (reference["pages"], reference["tables"]),
                   "page walk: %s pages / %s tables, expected %s / %s"
                   % (results["pages"], results["tables"], reference["pages"], reference["tables"]))
    print("page-walk.html: %d walks shown as the host test computed them" % len(results["walks"]))
    if shots:
        devtools.screenshot(session, os.path.join(shots, "page-walk-explorer.png"))


def check_file_url(devtools, folder, failures):
    session = devtools.open("file://" + os.path.join(folder, "heap.html"))
    status = devtools.wait_for(session, "(() => { const s = document.getElementById('status');"
                                        " return s && !s.textContent.startsWith('Loading') && s.textContent; })()", 30)
    failures.check("KiB of WebAssembly" in status, "heap.html from file://: " + status)
    print("heap.html from file://: " + status)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("pages")
    parser.add_argument("reference")
    parser.add_argument("--break", dest="broken", action="store_true",
                        help="draw small free blocks wrongly: the test must fail")
    parser.add_argument("--chromium", default=os.environ.get("CHROMIUM", ""))
    parser.add_argument("--screenshots", default="",
                        help="a folder for PNGs of both pages as the test leaves them")
    args = parser.parse_args()

    chromium = args.chromium or shutil.which("chromium") or shutil.which("chromium-headless-shell") \
        or shutil.which("google-chrome") or shutil.which("chromium-browser")
    if not chromium:
        print("no Chromium found (apt-get install chromium, or CHROMIUM=/path/to/it)")
        return 2

    folder = tempfile.mkdtemp(prefix="strata-explorers-")
    try:
        for source in (args.pages, args.reference):
            for name in os.listdir(source):
                shutil.copy(os.path.join(source, name), folder)
        if args.broken:
            path = os.path.join(folder, "heap.js")
            with open(path) as file:
                text = file.read()
            assert DRAW_LINE in text, "heap.js no longer has the line --break changes"
            with open(path, "w") as file:
                file.write(text.replace(DRAW_LINE, BROKEN_LINE))
            print("--break: heap.js draws free blocks of 256 bytes or less as used")
        with open(os.path.join(folder, "heap-reference.json")) as file:
            heap_reference = json.load(file)
        with open(os.path.join(folder, "pagewalk-reference.json")) as file:
            walk_reference = json.load(file)

        handler = functools.partial(QuietHandler, directory=folder)
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = "http://127.0.0.1:%d" % server.server_address[1]

        failures = Failures()
        devtools = DevTools(chromium, os.path.join(folder, "profile"))
        try:
            shots = args.screenshots or None
            if shots:
                os.makedirs(shots, exist_ok=True)
            results = check_heap(devtools, base, heap_reference, failures, shots)
            check_page_walk(devtools, base, walk_reference, failures, shots)
            check_file_url(devtools, folder, failures)
        finally:
            devtools.close()
            server.shutdown()
        if results:
            print("heap.html: the %d-step replay took %.1f ms in the page on %s (%.1f ms with drawing %d blocks);"
                  % (results["steps"], results["replay_ms"], results["drawn"], results["replay_and_draw_ms"],
                     reference_blocks(heap_reference, results["drawn"])))
            print("           per heap: " + ", ".join("%s %.1f ms" % (name, heap["ms"]) for name, heap in results["heaps"].items()))
            print("           strata_explorer.wasm is %d bytes" % results["wasm_bytes"])
        print("%d passed, %d failed" % (failures.passed, len(failures.messages)))
        return 1 if failures.messages else 0
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def reference_blocks(reference, name):
    return reference["heaps"][name]["blocks"]


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


if __name__ == "__main__":
    sys.exit(main())
