#!/usr/bin/env bash
# Shows scaleguard's policies deciding on the guide's sglang-agg objects (run by `make demo`).
set -euo pipefail
cd "$(dirname "$0")/.."
scaleguard=target/debug/scaleguard

show() {
    printf '\n\033[1m$ scaleguard run %s\033[0m\n' "$*"
    local status=0
    "$scaleguard" run "$@" || status=$?
    # `run` exits 1 for a denial, which is what the demo shows; 2 is an error.
    [ "$status" -le 1 ] || exit "$status"
}

echo "== A user edits decode's replicas by hand: the adapter owns them =="
show --policy dynamo-replica-ownership --request examples/requests/edit-decode-replicas.yaml

echo
echo "== An authorized user (settings: authorizedUsers) may =="
show --policy dynamo-replica-ownership --request examples/requests/edit-decode-replicas.yaml \
    --settings '{"authorizedUsers": ["alice"]}'

echo
echo "== The guide's DGD with deprecated fields: warned (default mode) =="
show --policy dynamo-deprecated-autoscaling --request examples/requests/create-guide-dgd.yaml

echo
echo "== ... or removed (mode: remove, a JSONPatch) =="
show --policy dynamo-deprecated-autoscaling --request examples/requests/create-guide-dgd.yaml \
    --settings '{"mode": "remove"}'
