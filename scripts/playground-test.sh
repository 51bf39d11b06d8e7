#!/usr/bin/env bash
# The browser tests of the playground: checks that what they need is installed (Debian's chromium,
# chromium-driver, nodejs, npm and binaryen, by `make deps`; playwright-core comes from
# playground/e2e/package-lock.json through `npm ci`), builds the site (scripts/playground-build.sh), then runs
#   1. the wasm-bindgen tests of scaleguard-playground in headless Chromium (wasm-bindgen-test-runner
#      with Debian's chromedriver), and
#   2. the end-to-end test of the page (playwright-core driving Debian's Chromium, the site served by
#      python3 -m http.server on 127.0.0.1), which saves target/playground/screenshot.png.
# The native tests of the playground run with the workspace's (`cargo nextest run --workspace`).
# Used by `make playground-test`.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh check chromium chromedriver node npm wasm-opt

bash scripts/playground-build.sh

echo "== wasm-bindgen tests in headless Chromium"
CHROMEDRIVER=/usr/bin/chromedriver \
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
    cargo test -p scaleguard-playground --target wasm32-unknown-unknown

echo "== end-to-end test of the page"
(cd playground/e2e && npm ci --no-audit --no-fund > /dev/null && npm test)
echo "screenshots: target/playground/screenshot.png, target/playground/screenshot-phone.png"
