//! A policy's `metadata.yml`, as far as the tests need it.

use std::collections::BTreeSet;

use serde::Deserialize;

use crate::policy_dir;

/// The fields of `metadata.yml` the host and the tests read.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    /// The admission rules.
    pub rules: Vec<Rule>,
    /// Whether the policy may mutate.
    pub mutating: bool,
    /// Whether the audit scanner runs it.
    #[serde(default)]
    pub background_audit: bool,
    /// Kinds it may look up.
    #[serde(default)]
    pub context_aware_resources: Vec<ContextAwareResource>,
    /// `kubewarden-wapc`.
    pub execution_mode: String,
    /// Annotations (`io.kubewarden.policy.*`, `io.artifacthub.*`).
    pub annotations: std::collections::BTreeMap<String, String>,
}

/// One admission rule.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    /// API groups.
    pub api_groups: Vec<String>,
    /// API versions.
    pub api_versions: Vec<String>,
    /// Plural resources.
    pub resources: Vec<String>,
    /// Operations.
    pub operations: Vec<String>,
}

/// One `contextAwareResources` entry.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContextAwareResource {
    /// `apiVersion`.
    pub api_version: String,
    /// Kind.
    pub kind: String,
}

impl Metadata {
    /// Reads `policies/<policy>/metadata.yml`.
    pub fn load(policy: &str) -> Result<Self, String> {
        let path = policy_dir(policy).join("metadata.yml");
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        serde_yaml_ng::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The `(apiVersion, kind)` pairs the policy is granted.
    pub fn granted(&self) -> BTreeSet<(String, String)> {
        self.context_aware_resources
            .iter()
            .map(|r| (r.api_version.clone(), r.kind.clone()))
            .collect()
    }
}
