#!/usr/bin/env bash
# What the build and the tests need from outside the workspace, in one table, and the one place that
# installs it. Nothing else installs: `make test`, the other make targets and the test scripts only check,
# and name what is missing in one line.
#
#   bash scripts/deps.sh install [WHAT ...]   installs what is missing (`make deps`: all of it)
#   bash scripts/deps.sh check WHAT ...       exits 1 at the first WHAT missing, with one line:
#                                             missing: wasm-opt — run: make deps (or: apt-get install binaryen)
#
# WHAT is a command below (wasm-opt, chromium, cargo-nextest, ...), `target:<rust target>` or
# `component:<rustup component>`. Debian packages come from apt-get (through sudo when not root), Rust
# targets and components from rustup, tools from their registry package (`cargo install`).
set -euo pipefail
cd "$(dirname "$0")/.."

# The one place the wasm-bindgen version is pinned: the workspace's `wasm-bindgen = "=X.Y.Z"` (the CLI must
# match the crate the playground is built with).
wasm_bindgen_version=$(sed -n 's/^wasm-bindgen = "=\([0-9.]*\)"$/\1/p' Cargo.toml)
[ -n "$wasm_bindgen_version" ] || { echo "no pinned wasm-bindgen version in Cargo.toml" >&2; exit 1; }

# Commands from Debian packages: command -> package.
declare -A debian=(
    [wasm-opt]=binaryen               # make policies, make playground
    [docker-registry]=docker-registry # scripts/registry-test.sh (the package's service is never started)
    [chromium]=chromium               # scripts/playground-test.sh
    [chromedriver]=chromium-driver    # wasm-bindgen-test-runner in headless Chromium
    [node]=nodejs                     # the playground's end-to-end test (playwright-core)
    [npm]=npm
    [python3]=python3                 # the page's web server in the end-to-end test, fuzz/seed_corpus.py
)
# Commands from crates.io: command -> `cargo install` arguments.
declare -A crates=(
    [cargo-nextest]="cargo-nextest --locked"
    # No TLS: the test runner only talks to chromedriver on loopback, and rustls and ring are a third of
    # the build.
    [wasm-bindgen]="wasm-bindgen-cli --version =$wasm_bindgen_version --locked --no-default-features"
    [cargo-fuzz]="cargo-fuzz --locked" # make fuzz, make fuzz-build (only: `make fuzz-deps`)
)
# How a tool is compiled, where not as its crate says: wasm-bindgen rewrites one module per run, as fast at
# opt-level 1, which compiles in far less time.
declare -A build_env=(
    [wasm-bindgen]="CARGO_PROFILE_RELEASE_OPT_LEVEL=1"
)
# Left out of `make deps` (`make test` does not use them): `make fuzz-deps` installs them.
test_only=(cargo-fuzz)
targets=(wasm32-wasip1 wasm32-unknown-unknown)
components=(rustfmt clippy)

everything() {
    printf '%s\n' "${!debian[@]}"
    for tool in "${!crates[@]}"; do
        [[ " ${test_only[*]} " == *" $tool "* ]] || echo "$tool"
    done
    printf 'target:%s\n' "${targets[@]}"
    printf 'component:%s\n' "${components[@]}"
}

present() {
    case $1 in
        target:* | component:*)
            command -v rustup > /dev/null || {
                echo "missing: rustup — install Rust through rustup, then run: make deps" >&2
                exit 1
            }
            ;;
    esac
    case $1 in
        target:*) rustup target list --installed | grep -qx "${1#target:}" ;;
        component:*) rustup component list --installed | grep -q "^${1#component:}-" ;;
        wasm-bindgen) [ "$(wasm-bindgen --version 2> /dev/null)" = "wasm-bindgen $wasm_bindgen_version" ] ;;
        *) command -v "$1" > /dev/null ;;
    esac
}

# The command that installs $1 by hand.
how() {
    case $1 in
        target:*) echo "rustup target add ${1#target:}" ;;
        component:*) echo "rustup component add ${1#component:}" ;;
        *)
            if [ -n "${debian[$1]:-}" ]; then
                echo "apt-get install ${debian[$1]}"
            elif [ -n "${crates[$1]:-}" ]; then
                echo "cargo install ${crates[$1]}"
            else
                echo "scripts/deps.sh does not know $1" >&2
                exit 2
            fi
            ;;
    esac
}

check() {
    local what
    for what in "$@"; do
        how "$what" > /dev/null
        if ! present "$what"; then
            local name=$what
            case $what in
                target:*) name="the ${what#target:} target" ;;
                component:*) name=${what#component:} ;;
                wasm-bindgen) name="wasm-bindgen $wasm_bindgen_version" ;;
            esac
            local target=deps
            [[ " ${test_only[*]} " == *" $what "* ]] && target=fuzz-deps
            echo "missing: $name — run: make $target (or: $(how "$what"))" >&2
            exit 1
        fi
    done
}

install() {
    local what argv=("$@") packages=() add_targets=() add_components=() tools=()
    [ $# -gt 0 ] || mapfile -t argv < <(everything)
    for what in "${argv[@]}"; do
        how "$what" > /dev/null
        present "$what" && continue
        case $what in
            target:*) add_targets+=("${what#target:}") ;;
            component:*) add_components+=("${what#component:}") ;;
            *)
                if [ -n "${debian[$what]:-}" ]; then packages+=("${debian[$what]}"); else tools+=("$what"); fi
                ;;
        esac
    done
    if [ ${#packages[@]} -gt 0 ]; then
        echo "apt-get install ${packages[*]}"
        export DEBIAN_FRONTEND=noninteractive
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo=sudo
        $sudo apt-get update -qq
        $sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" > /dev/null
    fi
    if [ ${#add_targets[@]} -gt 0 ]; then rustup target add "${add_targets[@]}"; fi
    if [ ${#add_components[@]} -gt 0 ]; then rustup component add "${add_components[@]}"; fi
    for what in "${tools[@]}"; do
        echo "cargo install ${crates[$what]}"
        # shellcheck disable=SC2086 # the arguments are words
        if ! env ${build_env[$what]:-} cargo install ${crates[$what]}; then
            # --locked takes the tool's own lock file; when the registry no longer serves one of its pinned
            # versions, fall back to the newest compatible ones.
            # shellcheck disable=SC2086
            env ${build_env[$what]:-} cargo install ${crates[$what]/ --locked/}
        fi
    done
    check "${argv[@]}"
    echo "dependencies: all present"
}

case ${1:-} in
    install) shift; install "$@" ;;
    check) shift; check "$@" ;;
    *) echo "usage: scripts/deps.sh install [WHAT ...] | check WHAT ..." >&2; exit 2 ;;
esac
