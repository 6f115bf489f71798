#!/usr/bin/env bash
# Installs what building, running and testing Strata needs on a Debian or
# Ubuntu machine with rustup, printing each step. Run as root it installs;
# otherwise it prints the exact command to run and stops.
#
#   tools/setup.sh          check, and install what is missing
#   tools/setup.sh --quiet  print only what it does (nothing when all is present)
set -euo pipefail
cd "$(dirname "$0")/.."

quiet=false
[[ "${1:-}" == "--quiet" ]] && quiet=true
step() { printf '==> %s\n' "$*"; }
present() { $quiet || printf '==> %s\n' "$*"; }
fail() { printf 'setup: %s\n' "$*" >&2; exit 1; }

# --- Debian packages --------------------------------------------------------
missing=()
have() { command -v "$1" >/dev/null 2>&1; }
have qemu-system-i386 || missing+=(qemu-system-x86)
have grub-mkrescue || missing+=(grub-common)
[[ -d /usr/lib/grub/i386-pc ]] || missing+=(grub-pc-bin)
have xorriso || missing+=(xorriso)
have mformat || missing+=(mtools)
have make || missing+=(make)
have objcopy || missing+=(binutils)
have gcc || missing+=(gcc)
# make trace and make book run Python scripts (tools/*.py).
have python3 || missing+=(python3)
# The explorers' browser test (solution tree only: handouts have no
# tools/explorer) drives headless Chromium.
if [[ -f tools/explorer/Cargo.toml ]]; then
    have chromium || have chromium-headless-shell || missing+=(chromium)
    explorer_note=", chromium"
fi
# Host tests run as 32-bit Linux programs and link with `cc -m32`.
probe=$(mktemp -d)
if ! echo 'int main(void) { return 0; }' | gcc -m32 -x c - -o "$probe/a.out" >/dev/null 2>&1; then
    missing+=(gcc-multilib)
fi
rm -rf "$probe"

if ((${#missing[@]})); then
    step "Debian packages missing: ${missing[*]}"
    command="apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
    if [[ $(id -u) -ne 0 ]]; then
        fail "not root, so not installing. Run:
    sudo sh -c '$command'
then try again."
    fi
    step "installing: $command"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
    present "Debian packages: all present (qemu-system-i386, grub-mkrescue, grub-pc-bin, xorriso, mtools, gcc-multilib, python3${explorer_note:-})"
fi

# --- Rust toolchain ---------------------------------------------------------
have rustup || fail "rustup is not installed. Install it from https://rustup.rs, then try again."
toolchain=$(sed -n 's/^channel *= *"\(.*\)"/\1/p' rust-toolchain.toml)
if ! rustup toolchain list | grep -q "^$toolchain"; then
    step "installing the $toolchain toolchain"
    rustup toolchain install "$toolchain" --profile minimal
fi
installed=$(rustup component list --toolchain "$toolchain" --installed)
components=()
for component in rust-src clippy rustfmt; do
    grep -q "^$component" <<<"$installed" || components+=("$component")
done
if ((${#components[@]})); then
    step "adding rustup components to $toolchain: ${components[*]}"
    rustup component add --toolchain "$toolchain" "${components[@]}"
fi
if ! grep -q '^rust-std-i686-unknown-linux-gnu' <<<"$installed"; then
    step "adding the i686-unknown-linux-gnu target to $toolchain (for 32-bit host tests)"
    rustup target add --toolchain "$toolchain" i686-unknown-linux-gnu
fi
if [[ -f tools/explorer/Cargo.toml ]] && ! grep -q '^rust-std-wasm32-unknown-unknown' <<<"$installed"; then
    step "adding the wasm32-unknown-unknown target to $toolchain (for the explorers)"
    rustup target add --toolchain "$toolchain" wasm32-unknown-unknown
fi
present "Rust: $toolchain with rust-src, clippy, rustfmt and the i686-unknown-linux-gnu target${explorer_note:+ (and wasm32-unknown-unknown)}"
