//! A policy's metadata: its `metadata.yml`, and the `io.kubewarden.metadata` custom section of an
//! annotated module, which holds the same fields as JSON (plus `protocolVersion` and the usage text),
//! exactly as `kwctl annotate` writes them and Kubewarden reads them (the first section of that name).
//!
//! ```
//! use scaleguard_metadata::{PolicyMetadata, embed};
//! use scaleguard_sdk::Operation;
//! let metadata = PolicyMetadata::from_yaml(
//!     r#"
//! rules:
//!   - apiGroups: ["nvidia.com"]
//!     apiVersions: ["v1alpha1"]
//!     resources: ["dynamographdeployments"]
//!     operations: ["UPDATE"]
//! mutating: false
//! "#,
//!     "metadata.yml",
//! )?;
//! assert!(metadata.matches("nvidia.com", "v1alpha1", "dynamographdeployments", &Operation::Update));
//! let empty_module = b"\0asm\x01\0\0\0";
//! let annotated = embed(empty_module, &metadata)?;
//! assert_eq!(PolicyMetadata::from_module(&annotated)?, Some(metadata));
//! # Ok::<(), scaleguard_metadata::MetadataError>(())
//! ```

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use wasmparser::{Encoding, Parser, Payload};

use scaleguard_sdk::{AdmissionRequest, Operation, ResourceKind};

/// Name of the custom section Kubewarden reads a module's metadata from.
pub const METADATA_SECTION: &str = "io.kubewarden.metadata";
/// Annotation holding the policy's README (added by `annotate`).
pub const USAGE_ANNOTATION: &str = "io.kubewarden.policy.usage";
/// Annotation holding the policy's version (`X.Y.Z`, equal to its crate version).
pub const VERSION_ANNOTATION: &str = "io.kubewarden.policy.version";
/// Annotation holding the policy's name.
pub const TITLE_ANNOTATION: &str = "io.kubewarden.policy.title";
/// Annotation holding the OCI repository the policy is published to (no scheme, no tag).
pub const OCI_URL_ANNOTATION: &str = "io.kubewarden.policy.ociUrl";
/// Annotation holding the policy's source repository URL.
pub const SOURCE_ANNOTATION: &str = "io.kubewarden.policy.source";

/// Annotations every published policy carries (Kubewarden's and Artifact Hub's conventions).
pub const REQUIRED_ANNOTATIONS: [&str; 13] = [
    "io.artifacthub.displayName",
    "io.artifacthub.resources",
    "io.artifacthub.keywords",
    TITLE_ANNOTATION,
    VERSION_ANNOTATION,
    "io.kubewarden.policy.description",
    "io.kubewarden.policy.author",
    "io.kubewarden.policy.url",
    SOURCE_ANNOTATION,
    "io.kubewarden.policy.license",
    OCI_URL_ANNOTATION,
    "io.kubewarden.policy.severity",
    "io.kubewarden.policy.category",
];

/// Values `io.kubewarden.policy.severity` may take.
pub const SEVERITIES: [&str; 4] = ["low", "medium", "high", "critical"];

/// Top-level keys of `metadata.yml`; any other key is a typo.
const KNOWN_FIELDS: [&str; 10] = [
    "protocolVersion",
    "rules",
    "mutating",
    "backgroundAudit",
    "contextAwareResources",
    "hostCapabilities",
    "executionMode",
    "policyType",
    "annotations",
    "minimumKubewardenVersion",
];

/// Why metadata could not be read, embedded or accepted.
#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The text or section is not metadata; `reason` names the field path.
    #[error("{origin}: {reason}")]
    Parse {
        /// Where the metadata came from (a file, or the module's section).
        origin: String,
        /// What is wrong, with the field path.
        reason: String,
    },
    /// The metadata parses but breaks the rules; one line per problem.
    #[error("invalid metadata:\n  - {}", .0.join("\n  - "))]
    Invalid(Vec<String>),
    /// The bytes are not a WebAssembly core module.
    #[error("not a WebAssembly module: {0}")]
    Wasm(String),
}

/// Which resources a rule matches by scope (Kubernetes' `scope`; absent means `*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scope {
    /// Cluster-scoped resources.
    Cluster,
    /// Namespaced resources.
    Namespaced,
    /// Both.
    #[serde(rename = "*")]
    All,
}

/// One admission rule, as in a ValidatingWebhookConfiguration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rule {
    /// API groups (`""` is the core group, `*` any).
    pub api_groups: Vec<String>,
    /// API versions (`*` any).
    pub api_versions: Vec<String>,
    /// Plural resources, optionally `resource/subresource`; `*`, `*/*`, `r/*` and `*/sub` are wildcards.
    pub resources: Vec<String>,
    /// Operations.
    #[serde(deserialize_with = "known_operations")]
    pub operations: Vec<Operation>,
    /// Scope; absent means `*`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scope>,
}

impl Rule {
    /// Whether a request for `resource` (`resource` or `resource/subresource`) of `group`/`version`
    /// with `operation` matches this rule, with Kubernetes' wildcard semantics.
    pub fn matches(
        &self,
        group: &str,
        version: &str,
        resource: &str,
        operation: &Operation,
    ) -> bool {
        let listed = |values: &[String], value: &str| values.iter().any(|v| v == "*" || v == value);
        listed(&self.api_groups, group)
            && listed(&self.api_versions, version)
            && self.operations.iter().any(|o| o.covers(operation))
            && self
                .resources
                .iter()
                .any(|pattern| resource_matches(pattern, resource))
    }

    /// The problems of this rule, each prefixed with `path`.
    fn problems(&self, path: &str) -> Vec<String> {
        let mut problems = Vec::new();
        for (field, values) in [
            ("apiGroups", &self.api_groups),
            ("apiVersions", &self.api_versions),
            ("resources", &self.resources),
        ] {
            if values.is_empty() {
                problems.push(format!("{path}.{field} must not be empty"));
            } else if values.len() > 1 && values.iter().any(|v| v == "*") {
                problems.push(format!(
                    "{path}.{field}: no other value may be listed with '*'"
                ));
            }
        }
        if self.operations.is_empty() {
            problems.push(format!("{path}.operations must not be empty"));
        } else if self.operations.len() > 1 && self.operations.contains(&Operation::All) {
            problems.push(format!(
                "{path}.operations: no other value may be listed with '*'"
            ));
        }
        for (index, resource) in self.resources.iter().enumerate() {
            if resource.is_empty() || resource.split('/').any(str::is_empty) {
                problems.push(format!(
                    "{path}.resources[{index}] must be `resource` or `resource/subresource`, got '{resource}'"
                ));
            }
        }
        problems
    }
}

/// A rule's operations: each one Kubernetes defines, or `*`.
fn known_operations<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<Operation>, D::Error> {
    /// One operation, refused (at its index) unless Kubernetes defines it.
    struct Known(Operation);

    impl<'de> Deserialize<'de> for Known {
        fn deserialize<E: serde::Deserializer<'de>>(deserializer: E) -> Result<Self, E::Error> {
            match Operation::deserialize(deserializer)? {
                Operation::Other(text) => {
                    Err(serde::de::Error::unknown_variant(&text, &Operation::NAMES))
                }
                known => Ok(Self(known)),
            }
        }
    }

    let operations = Vec::<Known>::deserialize(deserializer)?;
    Ok(operations
        .into_iter()
        .map(|Known(operation)| operation)
        .collect())
}

/// Whether a rule's resource `pattern` matches `resource` (`r` or `r/sub`).
fn resource_matches(pattern: &str, resource: &str) -> bool {
    let (name, sub) = resource.split_once('/').unwrap_or((resource, ""));
    match pattern.split_once('/') {
        None => sub.is_empty() && (pattern == "*" || pattern == name),
        Some((pattern_name, pattern_sub)) => {
            !sub.is_empty()
                && (pattern_name == "*" || pattern_name == name)
                && (pattern_sub == "*" || pattern_sub == sub)
        }
    }
}

/// How Kubewarden runs the module.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExecutionMode {
    /// waPC with Kubewarden's protocol: every scaleguard policy.
    #[default]
    #[serde(rename = "kubewarden-wapc")]
    KubewardenWapc,
    /// Open Policy Agent.
    #[serde(rename = "opa")]
    Opa,
    /// OPA Gatekeeper.
    #[serde(rename = "gatekeeper")]
    Gatekeeper,
    /// WASI command.
    #[serde(rename = "wasi")]
    Wasi,
}

/// What the policy evaluates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum PolicyType {
    /// Kubernetes admission requests.
    #[default]
    #[serde(rename = "kubernetes")]
    Kubernetes,
    /// Raw JSON documents.
    #[serde(rename = "raw")]
    Raw,
}

/// The waPC protocol version a module speaks (its `protocol_version` answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProtocolVersion {
    /// `v1`: every Kubewarden policy today.
    #[serde(rename = "v1")]
    V1,
}

impl FromStr for ProtocolVersion {
    type Err = String;

    /// Parses `v1`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "v1" => Ok(Self::V1),
            other => Err(format!("unknown protocol version '{other}', expected 'v1'")),
        }
    }
}

const fn default_true() -> bool {
    true
}

/// A policy's metadata: the fields of `metadata.yml`, which Kubewarden reads from an annotated module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyMetadata {
    /// The waPC protocol the module speaks; set by `annotate` from the module itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol_version: Option<ProtocolVersion>,
    /// The admission requests the policy is made for.
    pub rules: Vec<Rule>,
    /// Whether the policy may answer with a mutated object.
    pub mutating: bool,
    /// Whether the audit scanner evaluates existing objects with it (default true).
    #[serde(default = "default_true")]
    pub background_audit: bool,
    /// Kinds the policy may look up in the cluster.
    #[serde(default)]
    pub context_aware_resources: Vec<ResourceKind>,
    /// Host capabilities the policy calls, e.g. `kubernetes/list_resources_by_namespace`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_capabilities: Option<Vec<String>>,
    /// How Kubewarden runs the module.
    #[serde(default)]
    pub execution_mode: ExecutionMode,
    /// What the policy evaluates.
    #[serde(default)]
    pub policy_type: PolicyType,
    /// `io.kubewarden.policy.*` and `io.artifacthub.*` annotations.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// The oldest Kubewarden that can run the policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_kubewarden_version: Option<String>,
}

impl PolicyMetadata {
    /// Parses `metadata.yml` text; `origin` names it in errors. Unknown top-level keys are refused,
    /// and every error names the field path.
    pub fn from_yaml(text: &str, origin: &str) -> Result<Self, MetadataError> {
        let parse_error = |reason: String| MetadataError::Parse {
            origin: origin.to_owned(),
            reason,
        };
        let document: serde_yaml_ng::Value =
            serde_yaml_ng::from_str(text).map_err(|e| parse_error(e.to_string()))?;
        let serde_yaml_ng::Value::Mapping(fields) = &document else {
            return Err(parse_error("expected a mapping of metadata fields".into()));
        };
        for key in fields.keys() {
            let key = key.as_str().unwrap_or_default();
            if !KNOWN_FIELDS.contains(&key) {
                return Err(parse_error(format!(
                    "unknown field `{key}`, expected one of {}",
                    KNOWN_FIELDS.join(", ")
                )));
            }
        }
        serde_path_to_error::deserialize(document).map_err(|e| {
            parse_error(match e.path().to_string().as_str() {
                "." => e.inner().to_string(),
                path => format!("{path}: {}", e.inner()),
            })
        })
    }

    /// Reads a `metadata.yml` file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, MetadataError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| MetadataError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_yaml(&text, &path.display().to_string())
    }

    /// The metadata embedded in a module: the JSON of its first `io.kubewarden.metadata` custom
    /// section (as Kubewarden reads it), or `None` for an unannotated module.
    pub fn from_module(module: &[u8]) -> Result<Option<Self>, MetadataError> {
        for payload in Parser::new(0).parse_all(module) {
            let payload = payload.map_err(|e| MetadataError::Wasm(e.to_string()))?;
            if let Payload::CustomSection(section) = payload
                && section.name() == METADATA_SECTION
            {
                let mut json = serde_json::Deserializer::from_slice(section.data());
                return serde_path_to_error::deserialize(&mut json)
                    .map(Some)
                    .map_err(|e| MetadataError::Parse {
                        origin: format!("custom section {METADATA_SECTION}"),
                        reason: format!("{}: {}", e.path(), e.inner()),
                    });
            }
        }
        Ok(None)
    }

    /// Checks the metadata before it is embedded or published: rules well formed (Kubernetes'
    /// wildcard rules), context-aware kinds named, every [`REQUIRED_ANNOTATIONS`] present and
    /// sensible, and — given `crate_version` — `io.kubewarden.policy.version` equal to it.
    /// Every problem is reported, one per line.
    pub fn validate(&self, crate_version: Option<&str>) -> Result<(), MetadataError> {
        let mut problems = Vec::new();
        if self.policy_type == PolicyType::Kubernetes && self.rules.is_empty() {
            problems.push("rules must not be empty: the policy would never be called".to_owned());
        }
        for (index, rule) in self.rules.iter().enumerate() {
            problems.extend(rule.problems(&format!("rules[{index}]")));
        }
        let mut seen = BTreeSet::new();
        for (index, resource) in self.context_aware_resources.iter().enumerate() {
            if resource.api_version.is_empty() || resource.kind.is_empty() {
                problems.push(format!(
                    "contextAwareResources[{index}] needs both apiVersion and kind"
                ));
            } else if !seen.insert(resource) {
                problems.push(format!(
                    "contextAwareResources[{index}]: {}/{} is listed twice",
                    resource.api_version, resource.kind
                ));
            }
        }
        for (index, capability) in self.host_capabilities.iter().flatten().enumerate() {
            if capability.is_empty() {
                problems.push(format!("hostCapabilities[{index}] must not be empty"));
            }
        }
        problems.extend(self.annotation_problems(crate_version));
        if problems.is_empty() {
            Ok(())
        } else {
            Err(MetadataError::Invalid(problems))
        }
    }

    fn annotation_problems(&self, crate_version: Option<&str>) -> Vec<String> {
        let mut problems = Vec::new();
        for key in REQUIRED_ANNOTATIONS {
            match self.annotations.get(key).map(|v| v.trim()) {
                None => problems.push(format!("annotations.{key} is missing")),
                Some("") => problems.push(format!("annotations.{key} must not be empty")),
                Some(_) => {}
            }
        }
        if let Some(version) = self.version() {
            match semver::Version::parse(version) {
                Err(e) => problems.push(format!(
                    "annotations.{VERSION_ANNOTATION}: '{version}' is not a semantic version X.Y.Z: {e}"
                )),
                Ok(_) => match crate_version {
                    Some(expected) if expected != version => problems.push(format!(
                        "annotations.{VERSION_ANNOTATION} is {version} but the crate version is {expected}: keep them equal"
                    )),
                    _ => {}
                },
            }
        }
        for key in ["io.kubewarden.policy.url", SOURCE_ANNOTATION] {
            if let Some(url) = self.annotation(key)
                && !url.starts_with("https://")
            {
                problems.push(format!("annotations.{key}: '{url}' is not an https:// URL"));
            }
        }
        if let Some(oci_url) = self.oci_url()
            && let Err(reason) = check_oci_repository(oci_url)
        {
            problems.push(format!("annotations.{OCI_URL_ANNOTATION}: {reason}"));
        }
        if let Some(severity) = self.annotation("io.kubewarden.policy.severity")
            && !SEVERITIES.contains(&severity)
        {
            problems.push(format!(
                "annotations.io.kubewarden.policy.severity: '{severity}' is not one of {}",
                SEVERITIES.join(", ")
            ));
        }
        if let Some(keywords) = self.annotation("io.artifacthub.keywords")
            && keywords.split(',').any(|k| k.trim().is_empty())
        {
            problems.push(format!(
                "annotations.io.artifacthub.keywords: '{keywords}' has an empty keyword"
            ));
        }
        problems
    }

    /// Whether a request matches one of the policy's rules: see [`Rule::matches`].
    pub fn matches(
        &self,
        group: &str,
        version: &str,
        resource: &str,
        operation: &Operation,
    ) -> bool {
        self.rules
            .iter()
            .any(|rule| rule.matches(group, version, resource, operation))
    }

    /// The `(apiVersion, kind)` pairs of `contextAwareResources`.
    pub fn granted(&self) -> BTreeSet<ResourceKind> {
        self.context_aware_resources.iter().cloned().collect()
    }

    /// Whether the policy's rules select `request` (its resource, subresource and operation).
    pub fn selects(&self, request: &AdmissionRequest) -> bool {
        let resource = &request.resource;
        let name = if request.sub_resource.is_empty() {
            resource.resource.clone()
        } else {
            format!("{}/{}", resource.resource, request.sub_resource)
        };
        self.matches(
            &resource.group,
            &resource.version,
            &name,
            &request.operation,
        )
    }

    /// An annotation's value.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations.get(key).map(String::as_str)
    }

    /// `io.kubewarden.policy.title`.
    pub fn title(&self) -> Option<&str> {
        self.annotation(TITLE_ANNOTATION)
    }

    /// `io.kubewarden.policy.version`.
    pub fn version(&self) -> Option<&str> {
        self.annotation(VERSION_ANNOTATION)
    }

    /// `io.kubewarden.policy.ociUrl`: the OCI repository, without scheme or tag.
    pub fn oci_url(&self) -> Option<&str> {
        self.annotation(OCI_URL_ANNOTATION)
    }

    /// `io.kubewarden.policy.usage`: the policy's README, once annotated.
    pub fn usage(&self) -> Option<&str> {
        self.annotation(USAGE_ANNOTATION)
    }

    /// The metadata as the JSON `kwctl annotate` embeds.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("metadata always serializes")
    }
}

/// Checks an `ociUrl`: `registry/path`, lower case, without scheme, tag or digest.
fn check_oci_repository(oci_url: &str) -> Result<(), String> {
    if oci_url.contains("://") {
        return Err(format!("'{oci_url}' must not have a scheme"));
    }
    let Some((registry, path)) = oci_url.split_once('/') else {
        return Err(format!("'{oci_url}' must be <registry>/<repository>"));
    };
    if registry.is_empty() || path.split('/').any(str::is_empty) {
        return Err(format!("'{oci_url}' must be <registry>/<repository>"));
    }
    if path.contains(':') || path.contains('@') {
        return Err(format!("'{oci_url}' must not carry a tag or digest"));
    }
    if path
        .chars()
        .any(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || "._-/".contains(c)))
    {
        return Err(format!(
            "'{oci_url}': a repository path is lower-case letters, digits and . _ - /"
        ));
    }
    Ok(())
}

/// `module` with `metadata` as JSON in an `io.kubewarden.metadata` custom section at its end, as
/// `kwctl annotate` writes it. Existing sections of that name are removed, so annotating again
/// replaces the metadata instead of adding a second copy. Every other section is kept byte for byte.
pub fn embed(module: &[u8], metadata: &PolicyMetadata) -> Result<Vec<u8>, MetadataError> {
    let mut annotated = wasm_encoder::Module::new();
    for payload in Parser::new(0).parse_all(module) {
        let payload = payload.map_err(|e| MetadataError::Wasm(e.to_string()))?;
        match &payload {
            Payload::Version {
                encoding: Encoding::Component,
                ..
            } => {
                return Err(MetadataError::Wasm(
                    "a WebAssembly component; Kubewarden policies are core modules".into(),
                ));
            }
            Payload::CustomSection(section) if section.name() == METADATA_SECTION => continue,
            _ => {}
        }
        if let Some((id, range)) = payload.as_section() {
            annotated.section(&wasm_encoder::RawSection {
                id,
                data: &module[range],
            });
        }
    }
    annotated.section(&wasm_encoder::CustomSection {
        name: Cow::Borrowed(METADATA_SECTION),
        data: Cow::Owned(metadata.to_json()),
    });
    Ok(annotated.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    const METADATA: &str = r#"
rules:
  - apiGroups: ["nvidia.com"]
    apiVersions: ["v1alpha1"]
    resources: ["dynamographdeployments"]
    operations: ["CREATE", "UPDATE"]
mutating: true
contextAwareResources:
  - apiVersion: nvidia.com/v1alpha1
    kind: DynamoGraphDeploymentScalingAdapter
hostCapabilities: ["kubernetes/list_resources_by_namespace"]
executionMode: kubewarden-wapc
policyType: kubernetes
annotations:
  io.artifacthub.displayName: Example
  io.artifacthub.resources: DynamoGraphDeployment
  io.artifacthub.keywords: dynamo, autoscaling
  io.kubewarden.policy.title: example
  io.kubewarden.policy.version: 0.2.0
  io.kubewarden.policy.description: An example
  io.kubewarden.policy.author: scaleguard developers
  io.kubewarden.policy.url: https://github.com/scaleguard/scaleguard
  io.kubewarden.policy.source: https://github.com/scaleguard/scaleguard
  io.kubewarden.policy.license: Apache-2.0
  io.kubewarden.policy.ociUrl: ghcr.io/scaleguard/policies/example
  io.kubewarden.policy.severity: medium
  io.kubewarden.policy.category: Autoscaling
"#;

    fn metadata() -> PolicyMetadata {
        PolicyMetadata::from_yaml(METADATA, "metadata.yml").unwrap()
    }

    /// A valid module with a type section, a `name` custom section and a custom section after it.
    fn module_with_sections() -> Vec<u8> {
        let mut module = wasm_encoder::Module::new();
        let mut types = wasm_encoder::TypeSection::new();
        types.ty().function([], []);
        module.section(&types);
        module.section(&wasm_encoder::CustomSection {
            name: Cow::Borrowed("producers"),
            data: Cow::Borrowed(b"\x00"),
        });
        module.finish()
    }

    fn custom_section_names(module: &[u8]) -> Vec<String> {
        Parser::new(0)
            .parse_all(module)
            .filter_map(|payload| match payload.unwrap() {
                Payload::CustomSection(section) => Some(section.name().to_owned()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn metadata_yml_parses_with_defaults() {
        let metadata = metadata();
        assert!(
            metadata.background_audit,
            "backgroundAudit defaults to true"
        );
        assert_eq!(metadata.protocol_version, None);
        assert_eq!(metadata.execution_mode, ExecutionMode::KubewardenWapc);
        assert_eq!(
            metadata.granted(),
            BTreeSet::from([ResourceKind::of(
                "nvidia.com/v1alpha1",
                "DynamoGraphDeploymentScalingAdapter"
            )])
        );
        assert_eq!(metadata.version(), Some("0.2.0"));
        metadata.validate(Some("0.2.0")).unwrap();
    }

    #[test]
    fn parse_errors_name_the_field() {
        let cases = [
            (
                METADATA.replace("contextAwareResources:", "contextAwareResource:"),
                "metadata.yml: unknown field `contextAwareResource`, expected one of protocolVersion, rules, mutating, backgroundAudit, contextAwareResources, hostCapabilities, executionMode, policyType, annotations, minimumKubewardenVersion",
            ),
            (
                METADATA.replace(r#"["CREATE", "UPDATE"]"#, r#"["CREATE", "PATCH"]"#),
                "metadata.yml: rules[0].operations[1]: unknown variant `PATCH`, expected one of `CREATE`, `UPDATE`, `DELETE`, `CONNECT`, `*`",
            ),
            (
                METADATA.replace("mutating: true", "mutating: yes please"),
                "metadata.yml: mutating: invalid type: string \"yes please\", expected a boolean",
            ),
            (
                METADATA.replace("kubewarden-wapc", "wapc"),
                "metadata.yml: executionMode: unknown variant `wapc`, expected one of `kubewarden-wapc`, `opa`, `gatekeeper`, `wasi`",
            ),
            (
                METADATA.replace("    kind: Dynamo", "    knd: Dynamo"),
                "metadata.yml: contextAwareResources[0].knd: unknown field `knd`, expected `apiVersion` or `kind`",
            ),
            (
                "- a list".to_owned(),
                "metadata.yml: expected a mapping of metadata fields",
            ),
        ];
        for (text, message) in cases {
            let error = PolicyMetadata::from_yaml(&text, "metadata.yml").unwrap_err();
            assert_eq!(error.to_string(), message);
        }
    }

    #[test]
    fn validation_reports_every_problem() {
        let mut metadata = metadata();
        metadata.rules[0].operations = vec![Operation::All, Operation::Create];
        metadata.rules[0].api_groups.clear();
        metadata.rules[0].resources = vec!["dynamographdeployments/".into()];
        metadata
            .context_aware_resources
            .push(metadata.context_aware_resources[0].clone());
        metadata.annotations.remove("io.kubewarden.policy.license");
        metadata
            .annotations
            .insert("io.kubewarden.policy.severity".into(), "urgent".into());
        metadata.annotations.insert(
            OCI_URL_ANNOTATION.into(),
            "ghcr.io/scaleguard/policies/example:v0.2.0".into(),
        );
        let error = metadata.validate(Some("0.3.0")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid metadata:\n  \
             - rules[0].apiGroups must not be empty\n  \
             - rules[0].operations: no other value may be listed with '*'\n  \
             - rules[0].resources[0] must be `resource` or `resource/subresource`, got 'dynamographdeployments/'\n  \
             - contextAwareResources[1]: nvidia.com/v1alpha1/DynamoGraphDeploymentScalingAdapter is listed twice\n  \
             - annotations.io.kubewarden.policy.license is missing\n  \
             - annotations.io.kubewarden.policy.version is 0.2.0 but the crate version is 0.3.0: keep them equal\n  \
             - annotations.io.kubewarden.policy.ociUrl: 'ghcr.io/scaleguard/policies/example:v0.2.0' must not carry a tag or digest\n  \
             - annotations.io.kubewarden.policy.severity: 'urgent' is not one of low, medium, high, critical"
        );
    }

    #[test]
    fn validation_refuses_no_rules_and_a_bad_version() {
        let mut metadata = metadata();
        metadata.rules.clear();
        metadata
            .annotations
            .insert(VERSION_ANNOTATION.into(), "v0.2".into());
        let error = metadata.validate(None).unwrap_err().to_string();
        assert!(
            error.contains("rules must not be empty: the policy would never be called"),
            "{error}"
        );
        assert!(
            error.contains(
                "annotations.io.kubewarden.policy.version: 'v0.2' is not a semantic version X.Y.Z"
            ),
            "{error}"
        );
    }

    #[test]
    fn rules_match_like_kubernetes() {
        let rule = |resources: &[&str], operations: &[Operation]| Rule {
            api_groups: vec!["nvidia.com".into()],
            api_versions: vec!["*".into()],
            resources: resources.iter().map(|r| (*r).to_owned()).collect(),
            operations: operations.to_vec(),
            scope: None,
        };
        let dgd = "dynamographdeployments";
        let update = rule(&[dgd], &[Operation::Update]);
        assert!(update.matches("nvidia.com", "v1alpha1", dgd, &Operation::Update));
        assert!(!update.matches("nvidia.com", "v1alpha1", dgd, &Operation::Create));
        assert!(!update.matches("apps", "v1alpha1", dgd, &Operation::Update));
        assert!(!update.matches(
            "nvidia.com",
            "v1alpha1",
            "dynamographdeployments/status",
            &Operation::Update
        ));
        let every = rule(&["*"], &[Operation::All]);
        assert!(every.matches("nvidia.com", "v2", dgd, &Operation::Delete));
        assert!(!every.matches(
            "nvidia.com",
            "v2",
            "dynamographdeployments/scale",
            &Operation::Update
        ));
        let scale = rule(&["*/scale"], &[Operation::Update]);
        assert!(scale.matches(
            "nvidia.com",
            "v1",
            "dynamographdeploymentscalingadapters/scale",
            &Operation::Update
        ));
        assert!(!scale.matches(
            "nvidia.com",
            "v1",
            "dynamographdeploymentscalingadapters",
            &Operation::Update
        ));
        let subresources = rule(&[&format!("{dgd}/*")], &[Operation::Update]);
        assert!(subresources.matches(
            "nvidia.com",
            "v1",
            "dynamographdeployments/status",
            &Operation::Update
        ));
        assert!(!subresources.matches("nvidia.com", "v1", dgd, &Operation::Update));
        assert!(metadata().matches("nvidia.com", "v1alpha1", dgd, &Operation::Create));
        assert!(!metadata().matches("nvidia.com", "v1alpha1", dgd, &Operation::Delete));
    }

    #[test]
    fn embedding_keeps_every_section_and_round_trips() {
        let module = module_with_sections();
        assert_eq!(PolicyMetadata::from_module(&module).unwrap(), None);
        let mut metadata = metadata();
        metadata.protocol_version = Some(ProtocolVersion::V1);
        let annotated = embed(&module, &metadata).unwrap();
        assert_eq!(
            &annotated[..module.len()],
            &module[..],
            "the original sections come first, unchanged"
        );
        assert_eq!(
            custom_section_names(&annotated),
            ["producers", METADATA_SECTION]
        );
        assert_eq!(
            PolicyMetadata::from_module(&annotated).unwrap(),
            Some(metadata)
        );
    }

    #[test]
    fn annotating_again_replaces_the_section() {
        let first = embed(&module_with_sections(), &metadata()).unwrap();
        let mut updated = metadata();
        updated
            .annotations
            .insert(USAGE_ANNOTATION.into(), "# example\n\nusage".into());
        let second = embed(&first, &updated).unwrap();
        assert_eq!(
            custom_section_names(&second),
            ["producers", METADATA_SECTION]
        );
        let read = PolicyMetadata::from_module(&second).unwrap().unwrap();
        assert_eq!(read.usage(), Some("# example\n\nusage"));
        assert_eq!(
            embed(&second, &updated).unwrap(),
            second,
            "annotating is idempotent"
        );
    }

    #[test]
    fn the_first_section_wins_when_reading() {
        let mut module = wasm_encoder::Module::new();
        for title in ["first", "second"] {
            let mut metadata = metadata();
            metadata
                .annotations
                .insert(TITLE_ANNOTATION.into(), title.into());
            module.section(&wasm_encoder::CustomSection {
                name: Cow::Borrowed(METADATA_SECTION),
                data: Cow::Owned(metadata.to_json()),
            });
        }
        let read = PolicyMetadata::from_module(&module.finish())
            .unwrap()
            .unwrap();
        assert_eq!(read.title(), Some("first"));
    }

    #[test]
    fn broken_input_is_an_error_not_a_panic() {
        let not_wasm = embed(b"not wasm", &metadata()).unwrap_err().to_string();
        assert!(
            not_wasm.starts_with("not a WebAssembly module: magic header not detected"),
            "{not_wasm}"
        );
        let mut module = wasm_encoder::Module::new();
        module.section(&wasm_encoder::CustomSection {
            name: Cow::Borrowed(METADATA_SECTION),
            data: Cow::Borrowed(br#"{"rules": [], "mutating": "no"}"#),
        });
        assert_eq!(
            PolicyMetadata::from_module(&module.finish())
                .unwrap_err()
                .to_string(),
            "custom section io.kubewarden.metadata: mutating: invalid type: string \"no\", expected a boolean at line 1 column 30"
        );
        let component = b"\0asm\x0d\0\x01\0";
        assert_eq!(
            embed(component, &metadata()).unwrap_err().to_string(),
            "not a WebAssembly module: a WebAssembly component; Kubewarden policies are core modules"
        );
    }
}
