#!/usr/bin/env bash
# Installs what `make book` needs besides tools/setup.sh's (which brings
# cargo, and python3 for tools/book.py): mdBook, at the version pinned
# here, from crates.io into cargo's bin folder. Compiling it takes a few
# minutes, once. Prints each step, as setup.sh does.
#
#   tools/setup-book.sh          check, and install what is missing
#   tools/setup-book.sh --quiet  print only what it does
#   tools/setup-book.sh --path   print where mdbook is (for tools/book.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

# The mdBook the book is built and checked with. Its HTML (theme, search,
# fonts) is what tools/book.py checks: change it and run `make book`.
MDBOOK_VERSION=0.5.4
mdbook="${CARGO_HOME:-$HOME/.cargo}/bin/mdbook"

if [[ "${1:-}" == "--path" ]]; then
    echo "$mdbook"
    exit 0
fi
quiet=false
[[ "${1:-}" == "--quiet" ]] && quiet=true
step() { printf '==> %s\n' "$*"; }
present() { $quiet || printf '==> %s\n' "$*"; }
fail() { printf 'setup-book: %s\n' "$*" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }

installed=$("$mdbook" --version 2>/dev/null || true)
if [[ "$installed" != "mdbook v$MDBOOK_VERSION" ]]; then
    have cargo || fail "cargo is not installed. Install rustup from https://rustup.rs, then try again."
    step "installing mdBook $MDBOOK_VERSION from crates.io into $(dirname "$mdbook") (compiling takes a few minutes)${installed:+; found $installed}"
    # Only what a static build needs: not `mdbook serve` and `watch`, whose
    # web server and file watcher would add to the compile.
    cargo install --quiet mdbook --locked --version "$MDBOOK_VERSION" \
        --no-default-features --features search
fi
have python3 || fail "python3 is missing: tools/setup.sh installs it."
present "Book: mdBook $MDBOOK_VERSION ($mdbook)"
