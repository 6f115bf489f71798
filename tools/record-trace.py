#!/usr/bin/env python3
"""`make trace`: record the kernel heap's trace from one boot to a file.

    tools/record-trace.py ISO OUT [COMMAND[;COMMAND...] ...]
    tools/record-trace.py --interactive ISO OUT
    tools/record-trace.py test                    this script's own tests

Boots ISO in QEMU with no window, its serial port on a pipe, waits for the
shell, types `heaptrace on`, then each COMMAND (by default a few
allocations and frees with the shell's `alloc` and `free`, and `heap`),
then `heaptrace off`, and stops QEMU. With --interactive, QEMU runs on
this terminal instead: type the commands yourself (`heaptrace on` first),
then quit with Ctrl-A then X.

OUT gets the `heaptrace:` lines of the session, one per line, exactly as
the kernel printed them (docs/heap-debugging.md, "Tracing the heap", gives
the format; the explorer loads the file as it is). The whole serial output
goes next to it, in OUT's folder as serial.log.
"""

import os
import re
import select
import subprocess
import sys
import time

PROMPT = b"strata> "
BOOT_TIMEOUT = 60
REPLY_TIMEOUT = 30
# The UART holds 16 received bytes: type in chunks that size, with a pause.
CHUNK, CHUNK_PAUSE = 16, 0.002
# Handles count from 1 in the order of the allocations: `free 2` frees the
# second block. 70000 bytes is a large allocation from chapter 3 on (a run
# of pages of its own).
DEFAULT_COMMANDS = [
    "alloc 100",
    "alloc 3000 64",
    "alloc 24",
    "alloc 70000",
    "free 2",
    "alloc 500",
    "alloc 5000 4096",
    "free 1",
    "heap",
    "free 4",
    "free 3",
    "free 5",
    "free 6",
]
TRACE_LINE = re.compile(r"heaptrace: [^\r\n]*")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def qemu_args(iso, memory):
    return [
        "qemu-system-i386", "-cdrom", iso, "-m", memory, "-no-reboot",
        "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
    ]


def trace_lines(serial):
    """The `heaptrace:` lines of a serial log, without escapes or `\\r`."""
    text = ANSI.sub("", serial.decode("utf-8", errors="replace"))
    return [match.group(0).rstrip() for match in TRACE_LINE.finditer(text)]


class Machine:
    """QEMU with its serial port on a pipe."""

    def __init__(self, iso, memory):
        self.process = subprocess.Popen(
            qemu_args(iso, memory) + ["-display", "none", "-serial", "stdio", "-monitor", "none"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        self.output = bytearray()
        self.seen = 0  # where the output not yet waited through starts

    def wait_for(self, text, timeout):
        deadline = time.monotonic() + timeout
        while True:
            found = self.output.find(text, self.seen)
            if found >= 0:
                self.seen = found + len(text)
                return
            left = deadline - time.monotonic()
            if left <= 0 or self.process.poll() is not None:
                reason = "QEMU ended" if self.process.poll() is not None else f"{timeout} s passed"
                raise RuntimeError(f"no {text.decode()!r} from the kernel: {reason}")
            ready, _, _ = select.select([self.process.stdout], [], [], min(left, 0.2))
            if ready:
                chunk = os.read(self.process.stdout.fileno(), 65536)
                self.output += chunk

    def type(self, line):
        data = line.encode() + b"\r"
        for start in range(0, len(data), CHUNK):
            self.process.stdin.write(data[start:start + CHUNK])
            self.process.stdin.flush()
            time.sleep(CHUNK_PAUSE)

    def command(self, line):
        self.type(line)
        self.wait_for(PROMPT, REPLY_TIMEOUT)

    def stop(self):
        self.process.kill()
        self.process.wait()


def record(iso, out, commands, memory):
    machine = Machine(iso, memory)
    try:
        machine.wait_for(PROMPT, BOOT_TIMEOUT)
        for line in ["heaptrace on", *commands, "heaptrace off"]:
            print(f"trace: strata> {line}")
            machine.command(line)
    finally:
        machine.stop()
        save(out, bytes(machine.output))


def record_interactive(iso, out, memory):
    log = os.path.join(os.path.dirname(out) or ".", "serial.log")
    print("Type 'heaptrace on', then commands; quit with Ctrl-A then X.")
    chardev = f"stdio,id=serial0,mux=on,signal=off,logfile={log}"
    subprocess.run(
        qemu_args(iso, memory)
        + ["-nographic", "-chardev", chardev, "-serial", "chardev:serial0", "-mon", "chardev=serial0"],
        check=False,
    )
    with open(log, "rb") as file:
        save(out, file.read())


def save(out, serial):
    folder = os.path.dirname(out) or "."
    os.makedirs(folder, exist_ok=True)
    log = os.path.join(folder, "serial.log")
    if not os.path.exists(log) or os.path.getsize(log) != len(serial):
        with open(log, "wb") as file:
            file.write(serial)
    lines = trace_lines(serial)
    with open(out, "w", encoding="utf-8") as file:
        file.writelines(line + "\n" for line in lines)
    events = sum(1 for line in lines if line.split()[1:2] in (["alloc"], ["free"], ["realloc"], ["fail"], ["refused"]))
    print(f"trace: {events} events ({len(lines)} lines) in {out}; the whole serial output in {log}")


def self_test():
    import unittest

    class Tests(unittest.TestCase):
        def test_trace_lines_are_kept_whole_and_plain(self):
            serial = (
                b"\x1b[?7hstrata> heaptrace on\r\nheaptrace: on kind=buddy total=8\r\n"
                b"strata> alloc 100\r\nheaptrace: alloc 0x00100010 size=100 align=1 usable=112\r\n"
                b"alloc: handle=1\r\nstrata> \x1b[32mheaptrace: free 0x00100010 size=100\x1b[0m\r\n"
            )
            self.assertEqual(trace_lines(serial), [
                "heaptrace: on kind=buddy total=8",
                "heaptrace: alloc 0x00100010 size=100 align=1 usable=112",
                "heaptrace: free 0x00100010 size=100",
            ])

        def test_the_command_echo_is_no_trace_line(self):
            self.assertEqual(trace_lines(b"strata> heaptrace on\r\nheaptrace status\r\n"), [])

    suite = unittest.defaultTestLoader.loadTestsFromTestCase(Tests)
    return 0 if unittest.TextTestRunner(verbosity=2).run(suite).wasSuccessful() else 1


def main(argv):
    if argv[1:] == ["test"]:
        return self_test()
    memory = os.environ.get("MEMORY", "128M")
    if len(argv) == 4 and argv[1] == "--interactive":
        record_interactive(argv[2], argv[3], memory)
        return 0
    if len(argv) < 3 or argv[1].startswith("-"):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    # `make trace TRACE_COMMANDS='alloc 100; free 1'` passes one argument.
    commands = [part.strip() for arg in argv[3:] for part in arg.split(";") if part.strip()]
    iso, out, commands = argv[1], argv[2], commands or DEFAULT_COMMANDS
    try:
        record(iso, out, commands, memory)
    except RuntimeError as error:
        print(f"trace: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
