//! Cluster look-ups for context-aware rules, behind a small trait: the wasm guest answers them with
//! Kubewarden host calls, tests and native tools with an in-memory set of objects.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::meta::api_group;

/// An `(apiVersion, kind)` pair, as Kubewarden's `contextAwareResources` name them: the one type for it,
/// whether a policy names it in code or a host reads it from metadata.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceKind {
    /// `apiVersion`, e.g. `nvidia.com/v1alpha1`.
    pub api_version: Cow<'static, str>,
    /// Kind, e.g. `DynamoGraphDeployment`.
    pub kind: Cow<'static, str>,
}

impl ResourceKind {
    /// A kind named in code.
    pub const fn of(api_version: &'static str, kind: &'static str) -> Self {
        Self {
            api_version: Cow::Borrowed(api_version),
            kind: Cow::Borrowed(kind),
        }
    }

    /// A kind read at run time.
    pub fn new(api_version: impl Into<String>, kind: impl Into<String>) -> Self {
        Self {
            api_version: Cow::Owned(api_version.into()),
            kind: Cow::Owned(kind.into()),
        }
    }

    /// The API group of its `apiVersion` (empty for the core group).
    pub fn group(&self) -> &str {
        api_group(&self.api_version)
    }
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.api_version, self.kind)
    }
}

/// Why a look-up gave no list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupError {
    /// The cluster does not serve this kind (e.g. KEDA is not installed).
    NotServed(String),
    /// The policy was not granted access to this kind (`contextAwareResources`).
    NotGranted(String),
    /// Anything else: the host said so, or its answer did not parse.
    Failed(String),
}

impl LookupError {
    /// Whether the error means "there are no such objects" for a rule: the kind is not served, or the
    /// policy may not see it.
    pub fn is_absent_kind(&self) -> bool {
        matches!(self, Self::NotServed(_) | Self::NotGranted(_))
    }
}

impl fmt::Display for LookupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotServed(message) | Self::NotGranted(message) | Self::Failed(message) => {
                f.write_str(message)
            }
        }
    }
}

impl std::error::Error for LookupError {}

/// One `list_resources_by_namespace` look-up: a kind in a namespace, and the fields of each object the
/// rule reads.
#[derive(Debug, Clone, Copy)]
pub struct Lookup<'a> {
    /// The kind, at the version asked for.
    pub kind: &'a ResourceKind,
    /// The namespace.
    pub namespace: &'a str,
    /// Kubewarden's `field_masks`: dot-separated paths below the object's top level (`spec.scaleTargetRef`;
    /// a list is transparent, so `spec.components.name` is the name of every component). The host returns
    /// `apiVersion`, `kind` and `metadata` whole and, of the rest, only these paths. Empty asks for whole
    /// objects, and evaluators older than Kubewarden 1.33 return whole objects whatever is asked.
    pub field_masks: &'a [&'a str],
}

/// Read access to the cluster, one call per kind and namespace.
pub trait Cluster {
    /// The List JSON (`{"items": [...]}`) the host answers `lookup` with.
    fn list_json(&self, lookup: &Lookup<'_>) -> Result<Vec<u8>, LookupError>;
}

/// A cluster with nothing in it, for rules that look nothing up.
#[derive(Debug, Clone, Copy, Default)]
pub struct EmptyCluster;

impl Cluster for EmptyCluster {
    fn list_json(&self, _lookup: &Lookup<'_>) -> Result<Vec<u8>, LookupError> {
        Ok(list_json_of(&[]))
    }
}

/// The List JSON of `items`, for clusters that hold their objects as values.
pub fn list_json_of(items: &[Value]) -> Vec<u8> {
    #[derive(Serialize)]
    struct List<'a> {
        items: &'a [Value],
    }
    serde_json::to_vec(&List { items }).expect("JSON values always serialize")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_list_json_of_values_holds_them_as_items() {
        let items = [json!({"metadata": {"name": "a"}})];
        let json: Value = serde_json::from_slice(&list_json_of(&items)).unwrap();
        assert_eq!(json, json!({"items": [{"metadata": {"name": "a"}}]}));
    }
}
