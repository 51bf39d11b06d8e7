//! Which policy a Kubewarden module reference names.

/// The policy a module reference names: the last path segment, without tag or digest
/// (`registry://ghcr.io/scaleguard/policies/dynamo-replica-ownership:v0.1.0` ->
/// `dynamo-replica-ownership`, `file:///x/dynamo-replica-ownership.wasm` -> the same).
pub fn policy_name_of_module(module: &str) -> &str {
    let without_digest = module.split_once('@').map_or(module, |(name, _)| name);
    let last = without_digest.rsplit('/').next().unwrap_or(without_digest);
    let without_tag = last.split_once(':').map_or(last, |(name, _)| name);
    without_tag.strip_suffix(".wasm").unwrap_or(without_tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_references_name_their_policy() {
        for module in [
            "registry://ghcr.io/scaleguard/policies/dynamo-replica-ownership:v0.1.0",
            "registry://ghcr.io/scaleguard/policies/dynamo-replica-ownership@sha256:abc",
            "ghcr.io/scaleguard/policies/dynamo-replica-ownership:v0.1.0@sha256:abc",
            "file:///opt/policies/dynamo-replica-ownership.wasm",
            "dynamo-replica-ownership",
        ] {
            assert_eq!(
                policy_name_of_module(module),
                "dynamo-replica-ownership",
                "{module}"
            );
        }
    }
}
