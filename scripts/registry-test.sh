#!/usr/bin/env bash
# Pushes and pulls every policy module through real OCI registries: Debian's docker-registry (the CNCF
# distribution registry), twice: one open, one requiring a login (htpasswd), each on a free loopback port
# storing into a temporary folder. Runs the registry tests of the scaleguard CLI (ignored by plain
# `cargo test`), then stops the registries by their PIDs.
# Needs the annotated modules of `make policies`, and Debian's docker-registry and cargo-nextest (`make deps`;
# the package's service is never started: this script runs its own registries). Used by `make test` and
# `make registry-test`.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh check docker-registry cargo-nextest
registry=$(command -v docker-registry)

# A free port: one nothing answers on (bash's /dev/tcp refuses the connection).
port_is_free() { ! (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null; }

workdir=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2> /dev/null || true
        wait "$pid" 2> /dev/null || true
    done
    rm -rf "$workdir"
}
trap cleanup EXIT

# start_registry NAME [AUTH-CONFIG]: a registry storing into $workdir/NAME; sets $port.
start_registry() {
    local name=$1 auth=${2:-}
    port=""
    for _ in $(seq 50); do
        local candidate=$((20000 + RANDOM % 40000))
        if port_is_free "$candidate"; then port=$candidate; break; fi
    done
    [ -n "$port" ] || { echo "no free loopback port found" >&2; exit 1; }
    mkdir -p "$workdir/$name"
    cat > "$workdir/$name/config.yml" <<CONFIG
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $workdir/$name/storage
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
$auth
CONFIG
    "$registry" serve "$workdir/$name/config.yml" > "$workdir/$name/registry.log" 2>&1 &
    local pid=$!
    pids+=("$pid")
    # Wait (at most 10 s) until the registry answers, or fail if it exited.
    for _ in $(seq 100); do
        if ! kill -0 "$pid" 2> /dev/null; then
            echo "docker-registry $name exited:" >&2; cat "$workdir/$name/registry.log" >&2; exit 1
        fi
        port_is_free "$port" || break
        sleep 0.1
    done
    port_is_free "$port" && { echo "docker-registry $name did not start on 127.0.0.1:$port" >&2; exit 1; }
    echo "docker-registry $name (pid $pid) on 127.0.0.1:$port, storage in $workdir/$name/storage"
}

start_registry open
open_port=$port
# User scaleguard, password registry-test-password (bcrypt as the registry's htpasswd wants, cost 4:
# the registry checks it on every request).
echo 'scaleguard:$2b$04$is8FV0rTDpZ9DLipstd33uoaZIr9IYgJqraF8HJw1gOrIbGvG1nJ6' > "$workdir/htpasswd"
start_registry login "auth:
  htpasswd:
    realm: scaleguard-test
    path: $workdir/htpasswd"
login_port=$port

SCALEGUARD_TEST_REGISTRY="127.0.0.1:$open_port" SCALEGUARD_TEST_AUTH_REGISTRY="127.0.0.1:$login_port" \
    "${CARGO:-cargo}" nextest run --workspace -E 'binary_id(scaleguard::registry)' --run-ignored only \
    --no-fail-fast
