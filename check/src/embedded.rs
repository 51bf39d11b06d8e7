//! The policy modules built into this library (feature `embedded-policies`): those of
//! `target/policies` (or `$SCALEGUARD_EMBED_POLICIES`) when it was built, so a GitOps repository's CI
//! needs only the binary.

include!(concat!(env!("OUT_DIR"), "/embedded_policies.rs"));

/// The embedded modules as `(name, bytes)`, sorted by name.
pub fn modules() -> Vec<(String, Vec<u8>)> {
    MODULES
        .iter()
        .map(|(name, bytes)| ((*name).to_owned(), bytes.to_vec()))
        .collect()
}
