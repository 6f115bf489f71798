# Strata's build. `make help` lists the targets.
#
# Every chapter is a crate under modules/ with a bootable kernel of its own;
# MODULE picks the one to run (default: the latest chapter present).

SHELL := /bin/bash
.DEFAULT_GOAL := help

# Chapters in order; each depends only on the one before it.
CHAPTERS := $(notdir $(wildcard $(addprefix modules/,kernel memory paging process)))
MODULE ?= $(lastword $(CHAPTERS))
# The crates to build and lint: one per chapter, and chapter 4's user
# programs (a crate of their own, linked for the user region).
CRATES := $(addprefix strata-,$(CHAPTERS)) $(if $(filter process,$(CHAPTERS)),strata-user)

# Kernel builds use the cargo aliases in .cargo/config.toml (kbuild, kclippy, kdoc,
# htest, hclippy), which carry the target and build-std flags. Like cargo,
# honour CARGO_TARGET_DIR (the course checks share one between handouts).
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
KERNEL_DIR := $(TARGET_DIR)/i686-elf/debug
RUNNER := $(TARGET_DIR)/debug/strata-runner
ISO_DIR := target/iso
comma := ,
# The benchmarks are part of the solution tree, not of lab handouts; a
# handout has a `.handout` file instead, saying where it came from.
HAVE_BENCH := $(wildcard tools/bench/Cargo.toml)
# Likewise the explorers (chapters 2 and 3 in WebAssembly) and the book.
HAVE_EXPLORER := $(wildcard tools/explorer/Cargo.toml)
IS_HANDOUT := $(wildcard .handout)

# Course mode (docs/labs.md): CHAPTER is a chapter number or module name,
# by default the latest chapter in this tree.
CHAPTER ?= $(words $(CHAPTERS))
TOKEN ?=
DEST ?=

QEMU := qemu-system-i386
MEMORY ?= 128M
# Kernel command line for `make run`, e.g. CMDLINE="heap=pool log=debug".
CMDLINE ?=
QEMU_FLAGS := -cdrom $(ISO_DIR)/strata-$(MODULE).iso -m $(MEMORY) -no-reboot \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04
# Set a display only when there is one to show the window on.
HAVE_DISPLAY := $(if $(DISPLAY)$(WAYLAND_DISPLAY),yes,)

.PHONY: help setup build iso isos test-isos run run-nographic test bench lint fmt debug symbolize clean \
	check-module runner grade handout branches book trace explorers

help:
	@echo "Strata - a Rust teaching OS for i686. Chapters: $(CHAPTERS)"
	@echo
	@echo "  make run [MODULE=name]    boot a chapter in QEMU (window if there is a display, else on this terminal)"
	@echo "  make run-nographic        boot on this terminal only (quit: Ctrl-A then X)"
	@echo "  make test                 lint, then every host, in-kernel and end-to-end test"
	@echo "  make bench [BITS=64]      allocators vs talc & co. (results: target/bench/)"
	@echo "  make iso [MODULE=name]    build target/iso/strata-MODULE.iso"
	@echo "  make debug [MODULE=name]  QEMU paused with a GDB server, and GDB attached"
	@echo "  make symbolize ADDR='0x..'  function and line of return addresses in a heap report"
	@echo "  make trace [MODULE=name]  record one boot's heap trace (heaptrace) to target/trace/heap.trace"
	@echo "  make book                 the course as a static site (mdBook): target/book/index.html"
	@echo "  make explorers            the heap and page-walk explorers (kernel code in WebAssembly): target/explorers/"
	@echo "  make grade [CHAPTER=N]    a chapter's graded lab checks and its Score: X/Y"
	@echo "  make handout CHAPTER=N DEST=DIR   the student tree for chapter N"
	@echo "  make branches DEST=DIR    a git repository with one branch per chapter's handout"
	@echo "  make lint | fmt | clean"
	@echo
	@echo "MODULE defaults to '$(MODULE)'. MEMORY=$(MEMORY) sets QEMU's RAM."
	@echo "CMDLINE='heap=pool log=debug' sets the kernel command line for run, iso and debug."

# `make grade FORMAT=json` keeps stdout for the JSON grade alone: make
# echoes no commands, and what the steps before it print goes to stderr.
# (make's own "Entering directory" lines, under -C or from another make,
# come before this file is read: pass --no-print-directory for those.)
ifeq ($(FORMAT),json)
MAKEFLAGS += --silent
TO_STDERR := >&2
endif

setup:
	@tools/setup.sh --quiet $(TO_STDERR)

check-module:
	@[[ " $(CHAPTERS) " == *" $(MODULE) "* ]] || { echo "unknown MODULE '$(MODULE)'; chapters: $(CHAPTERS)"; exit 1; }

build: setup
	cargo kbuild $(addprefix -p ,$(CRATES))

iso: check-module build
	@tools/make-iso.sh $(KERNEL_DIR)/strata-$(MODULE) $(MODULE) $(ISO_DIR)/strata-$(MODULE).iso "$(CMDLINE)"

# Every chapter's test ISO (kernel command line "test"): what `make grade`
# boots.
test-isos: build
	@for chapter in $(CHAPTERS); do \
		tools/make-iso.sh $(KERNEL_DIR)/strata-$$chapter $$chapter $(ISO_DIR)/strata-$$chapter-test.iso test $(TO_STDERR) \
		|| exit 1; \
	done

# Every chapter's ISO and test ISO, one test ISO per variant listed in its
# ktest.conf ("test heap=pool" ...; commas join the words of a variant:
# heap=pool,pool=best is "test heap=pool pool=best"), and one ISO per e2e
# script that asks for a kernel command line of its own (`cmdline ...`).
isos: test-isos
	@for chapter in $(CHAPTERS); do \
		elf=$(KERNEL_DIR)/strata-$$chapter; \
		tools/make-iso.sh $$elf $$chapter $(ISO_DIR)/strata-$$chapter.iso || exit 1; \
		for variant in $$(sed -n 's/^variants *= *//p' modules/$$chapter/ktest.conf 2>/dev/null); do \
			tools/make-iso.sh $$elf $$chapter $(ISO_DIR)/strata-$$chapter-test-$${variant//[=,]/-}.iso "test $${variant//,/ }" \
			|| exit 1; \
		done; \
		for script in $$(ls modules/$$chapter/e2e/*.e2e 2>/dev/null); do \
			line=$$(sed -n 's/^[[:space:]]*cmdline[[:space:]]\+\(.*[^[:space:]]\)[[:space:]]*$$/\1/p' $$script); \
			[[ -n "$$line" ]] || continue; \
			tools/make-iso.sh $$elf $$chapter $(ISO_DIR)/strata-$$chapter-e2e-$$(basename $$script .e2e).iso "$$line" \
			|| exit 1; \
		done; \
	done

run: iso
ifeq ($(HAVE_DISPLAY),yes)
	$(QEMU) $(QEMU_FLAGS) -serial stdio
else
	@echo "No display: running on this terminal (quit with Ctrl-A then X)."
	$(QEMU) $(QEMU_FLAGS) -nographic
endif

run-nographic: iso
	@echo "Quit with Ctrl-A then X."
	$(QEMU) $(QEMU_FLAGS) -nographic

test: lint isos runner
	cargo test -q -p strata-runner
ifneq ($(HAVE_BENCH),)
	cargo htest -q -p strata-bench
endif
	$(RUNNER) test --chapters $(subst $() ,$(comma),$(CHAPTERS))
ifneq ($(HAVE_EXPLORER),)
	tools/explorer-browser-test.sh
endif
ifeq ($(IS_HANDOUT),)
	$(RUNNER) course-check
endif

lint: setup
	cargo fmt --all -- --check
	cargo clippy -q -p strata-runner -- -D warnings
	cargo hclippy -q $(addprefix -p ,$(CRATES)) -- -D warnings
	cargo kclippy -q $(addprefix -p ,$(CRATES)) -- -D warnings
	RUSTDOCFLAGS="-D warnings" cargo kdoc -q --lib --no-deps $(addprefix -p ,$(CRATES))
	RUSTDOCFLAGS="-D warnings" cargo doc -q --lib --no-deps --target i686-unknown-linux-gnu $(addprefix -p strata-,$(CHAPTERS))
ifneq ($(HAVE_BENCH),)
	cargo clippy -q -p strata-bench --lib --tests --benches --target i686-unknown-linux-gnu -- -D warnings
endif
ifneq ($(HAVE_EXPLORER),)
	cargo clippy -q -p strata-explorer --target wasm32-unknown-unknown -- -D warnings
endif

runner:
	cargo build -q -p strata-runner

# Course mode: grade a chapter, write a handout, or a class repository.
grade: test-isos runner
	$(RUNNER) grade --chapter $(CHAPTER) $(if $(TOKEN),--token $(TOKEN)) $(if $(FORMAT),--format $(FORMAT))

handout: runner
	@[[ -n "$(DEST)" ]] || { echo "usage: make handout CHAPTER=N DEST=DIR"; exit 1; }
	$(RUNNER) handout --chapter $(CHAPTER) --dest $(DEST)

branches: runner
	@[[ -n "$(DEST)" ]] || { echo "usage: make branches DEST=DIR"; exit 1; }
	$(RUNNER) branches --dest $(DEST)

# Host benchmarks of the allocators against talc, linked_list_allocator and
# buddy_system_allocator (docs/benchmarks.md). 32-bit pointers, as in the
# kernel, unless BITS=64. Extra arguments: BENCH_ARGS="--quick".
BITS ?= 32
BENCH_TARGET := $(if $(filter 64,$(BITS)),,--target i686-unknown-linux-gnu)
BENCH_ARGS ?=
bench: setup
	@[[ -n "$(HAVE_BENCH)" ]] || { echo "make bench needs tools/bench (the solution tree has it)"; exit 1; }
	cargo bench -p strata-bench $(BENCH_TARGET) -- $(BENCH_ARGS)

fmt:
	cargo fmt --all

# The heap and page-walk explorers (docs/explorers/, tools/explorer):
# chapter 2's heaps and chapter 3's page-table walk compiled to WebAssembly
# from the kernel's own files, with their pages, into target/explorers/
# (open heap.html there, or serve the folder). strata_explorer.wasm.js is
# the same module in base64, for pages opened from disk (file://), where
# browsers refuse to fetch the .wasm. Release, without debug information.
EXPLORER_WASM := $(TARGET_DIR)/wasm32-unknown-unknown/release/strata_explorer.wasm
EXPLORERS_DIR := $(TARGET_DIR)/explorers
explorers:
	@[[ -f tools/explorer/Cargo.toml ]] || { echo "make explorers needs tools/explorer (the solution tree has it)"; exit 1; }
	@rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
	cargo build -q --release --target wasm32-unknown-unknown -p strata-explorer \
		--config profile.release.debug=false --config profile.release.strip=true \
		--config profile.release.lto=true --config profile.release.codegen-units=1 \
		--config 'profile.release.opt-level="s"'
	@mkdir -p $(EXPLORERS_DIR)
	@cp docs/explorers/*.html docs/explorers/*.js docs/explorers/*.css $(EXPLORER_WASM) $(EXPLORERS_DIR)/
	@{ printf 'window.STRATA_EXPLORER_WASM = "'; base64 -w0 $(EXPLORER_WASM); printf '";\n'; } \
		> $(EXPLORERS_DIR)/strata_explorer.wasm.js
	@echo "explorers: $(EXPLORERS_DIR)/heap.html, page-walk.html ($$(stat -c %s $(EXPLORER_WASM)) bytes of wasm)"

# The course texts (docs/) as a static site with mdBook, which it installs
# on first use (tools/setup-book.sh): navigation, search, the figures, and
# the source files the texts name. It checks that every local link
# resolves and that no page loads anything from the network.
book: setup
	@[[ -f tools/book.sh ]] || { echo "make book needs tools/book.sh (the solution tree has it)"; exit 1; }
	@tools/book.sh

# One boot's heap trace (docs/heap-debugging.md, "Tracing the heap"):
# boots the chapter with no window, types `heaptrace on`, a few commands
# (TRACE_COMMANDS='alloc 100; free 1' for others), `heaptrace off`, and
# keeps the `heaptrace:` lines in target/trace/heap.trace (the whole serial
# output in target/trace/serial.log). INTERACTIVE=yes: type them yourself
# on this terminal, then quit with Ctrl-A then X.
TRACE_COMMANDS ?=
trace: iso
ifeq ($(INTERACTIVE),yes)
	@MEMORY=$(MEMORY) tools/record-trace.py --interactive $(ISO_DIR)/strata-$(MODULE).iso target/trace/heap.trace
else
	@MEMORY=$(MEMORY) tools/record-trace.py $(ISO_DIR)/strata-$(MODULE).iso target/trace/heap.trace $(if $(TRACE_COMMANDS),"$(TRACE_COMMANDS)")
endif

# QEMU waits for GDB on port 1234 (-s) before running the first instruction (-S).
debug: iso
	@command -v gdb >/dev/null || { echo "make debug needs gdb: apt-get install gdb"; exit 1; }
	$(QEMU) $(QEMU_FLAGS) -serial file:$(ISO_DIR)/debug-serial.log -s -S & \
	gdb -q $(KERNEL_DIR)/strata-$(MODULE) \
		-ex 'target remote localhost:1234' -ex 'break kmain' -ex 'continue'; \
	kill %1 2>/dev/null || true

# Return addresses from a heap-debugger report, as functions and lines.
symbolize: check-module build
	@[[ -n "$(ADDR)" ]] || { echo 'usage: make symbolize ADDR="0x00113323 0x0011eb5e" [MODULE=name]'; exit 1; }
	@addr2line -f -C -i -p -e $(KERNEL_DIR)/strata-$(MODULE) $(ADDR)

clean:
	cargo clean
