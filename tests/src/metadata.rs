//! A policy's `metadata.yml`, read with `scaleguard-host`'s model: the one `scaleguard annotate`
//! validates and embeds, and `scaleguard check` reads back from modules.

use std::ops::Deref;

use scaleguard_metadata::PolicyMetadata;

use crate::policy_dir;

/// `policies/<policy>/metadata.yml`; every field of [`PolicyMetadata`] (rules, `granted()`, annotations)
/// is reachable through it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata(PolicyMetadata);

impl Metadata {
    /// Reads `policies/<policy>/metadata.yml`.
    pub fn load(policy: &str) -> Result<Self, String> {
        PolicyMetadata::load(policy_dir(policy).join("metadata.yml"))
            .map(Self)
            .map_err(|e| e.to_string())
    }
}

impl Deref for Metadata {
    type Target = PolicyMetadata;

    fn deref(&self) -> &PolicyMetadata {
        &self.0
    }
}
