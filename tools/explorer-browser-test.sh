#!/usr/bin/env bash
# The explorers in a headless browser (tools/explorer/browser-test.py says
# what is checked): builds them (make explorers), runs the host tests that
# write the reference (cargo test -p strata-explorer), then loads the pages
# in headless Chromium and compares.
#
#   tools/explorer-browser-test.sh            the test
#   tools/explorer-browser-test.sh --break    the same with a broken drawing
#                                             of free blocks: it must fail
#
# Needs Chromium (apt-get install chromium; CHROMIUM=/path picks another)
# and python3. Prints "N passed, N failed", and the replay's timing.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
make -s --no-print-directory explorers
cargo test -q -p strata-explorer --target i686-unknown-linux-gnu
# The pages as the test leaves them, as PNGs (docs/images/ has copies).
exec python3 tools/explorer/browser-test.py "$target/explorers" "$target/explorers-test" \
    --screenshots "$target/explorers-screenshots" "$@"
