#!/usr/bin/env bash
# Releases one policy (README, "Releasing a policy"):
#   1. version checks: the crate version, io.kubewarden.policy.version (checked by `scaleguard annotate`),
#      the module tag in deploy/policies/base/<policy>.yaml and, in CI, the git tag <policy>/v<version>;
#   2. `make release-artifacts`: every module annotated, plus target/policies/sha256sums;
#   3. the Artifact Hub package: locally, the release date is pinned and artifacthub/<policy> regenerated
#      (commit both before tagging); in CI (RELEASE_TAG set) they must already be committed and current;
#   4. `scaleguard push` to <registry path>/<policy>:v<version>, the digest reference written to
#      target/policies/<policy>.ref for signing.
# Usage: scripts/release.sh <policy> [<registry>/<path>]   (default: the policy's io.kubewarden.policy.ociUrl)
# Environment: RELEASE_TAG (the pushed tag, in CI), INSECURE=1 (a plain-HTTP registry), registry
# credentials as for `scaleguard push` (Docker config, or SCALEGUARD_REGISTRY_USERNAME/PASSWORD).
set -euo pipefail
cd "$(dirname "$0")/.."

policy=${1:?usage: scripts/release.sh <policy> [<registry>/<path>]}
registry_path=${2:-}
dir=policies/$policy
fail() { echo "release $policy: $*" >&2; exit 1; }

[ -f "$dir/metadata.yml" ] || fail "no policies/$policy/metadata.yml"
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$dir/Cargo.toml" | head -n 1)
[ -n "$version" ] || fail "$dir/Cargo.toml has no literal version"
tag="$policy/v$version"
if [ -n "${RELEASE_TAG:-}" ] && [ "$RELEASE_TAG" != "$tag" ]; then
    fail "tag $RELEASE_TAG does not match the crate version: expected $tag"
fi
oci_url=$(sed -n 's/^ *io\.kubewarden\.policy\.ociUrl: *//p' "$dir/metadata.yml")
[ -n "$oci_url" ] || fail "$dir/metadata.yml has no io.kubewarden.policy.ociUrl"
module_ref="registry://$oci_url:v$version"
grep -qF "module: $module_ref" "deploy/policies/base/$policy.yaml" \
    || fail "deploy/policies/base/$policy.yaml does not use $module_ref"

make release-artifacts

scaleguard=target/debug/scaleguard
if [ -n "${RELEASE_TAG:-}" ]; then
    "$scaleguard" artifacthub --check "$dir" \
        || fail "artifacthub/$policy or its release date is not committed: run scripts/release.sh $policy locally first"
else
    "$scaleguard" artifacthub --pin-missing-dates "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$dir"
    echo "commit artifacthub/ before tagging $tag"
fi

target=${registry_path:-${oci_url%/"$policy"}}/$policy:v$version
insecure=()
[ "${INSECURE:-}" = 1 ] && insecure=(--insecure)
pinned=$("$scaleguard" push "target/policies/$policy.wasm" "$target" "${insecure[@]}")
echo "$pinned" > "target/policies/$policy.ref"
echo "released $tag: registry://$pinned"
