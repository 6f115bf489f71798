#!/usr/bin/env bash
# `make book`: the course (docs/) as a static site in target/book/, with
# mdBook (docs/book.toml, docs/SUMMARY.md), its source files linked
# (tools/book.py sources), and checked: every local link resolves and
# nothing is loaded from the network (tools/book.py check).
set -euo pipefail
cd "$(dirname "$0")/.."

tools/setup-book.sh --quiet
mdbook=$(tools/setup-book.sh --path)
book=target/book
source=docs
# In a lab handout the texts of later chapters are left out and their
# SUMMARY.md entries unlinked (plain text, which mdBook refuses): build
# from a copy of docs/ whose SUMMARY.md leaves those entries out.
if grep -qE '^[[:space:]]*[-*] [^[[:space:]]' docs/SUMMARY.md; then
    source=target/book-src
    rm -rf "$source"
    mkdir -p target
    cp -r docs "$source"
    sed -i -E '/^[[:space:]]*[-*] [^[[:space:]]/d' "$source/SUMMARY.md"
fi
# The explorers' WebAssembly (the pages themselves are in docs/explorers/).
explorers=
if [[ -f tools/explorer/Cargo.toml ]]; then
    make -s --no-print-directory explorers >/dev/null
    explorers=${CARGO_TARGET_DIR:-target}/explorers
fi
rm -rf "$book"
"$mdbook" build --dest-dir "$PWD/$book" "$source" 2>&1 | { grep -v '^ *INFO' || true; }
[[ -f "$book/index.html" ]] || { echo "book: mdbook build failed" >&2; exit 1; }
# The build copies every file of docs/ that is not Markdown: not this one.
rm -f "$book/book.toml"
if [[ -n "$explorers" ]]; then
    cp "$explorers/strata_explorer.wasm" "$explorers/strata_explorer.wasm.js" "$book/explorers/"
fi
python3 tools/book.py sources "$book"
python3 tools/book.py check "$book"
echo "book: $(du -sh "$book" | cut -f1) in $book/; open $book/index.html"
