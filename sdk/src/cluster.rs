//! Cluster look-ups for context-aware rules, behind a small trait: the wasm guest answers them with
//! Kubewarden host calls, tests and native tools with an in-memory set of objects.

use std::fmt;

use serde_json::Value;

use crate::parse::FieldError;

/// An `(apiVersion, kind)` pair, as Kubewarden's `contextAwareResources` name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceKind {
    /// `apiVersion`, e.g. `nvidia.com/v1alpha1`.
    pub api_version: &'static str,
    /// Kind, e.g. `DynamoGraphDeployment`.
    pub kind: &'static str,
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

/// Read access to the cluster, one call per kind and namespace.
pub trait Cluster {
    /// All objects of `kind` in `namespace` (`list_resources_by_namespace`).
    fn list(&self, kind: ResourceKind, namespace: &str) -> Result<Vec<Value>, LookupError>;
}

/// A cluster with nothing in it, for rules that look nothing up.
#[derive(Debug, Clone, Copy, Default)]
pub struct EmptyCluster;

impl Cluster for EmptyCluster {
    fn list(&self, _kind: ResourceKind, _namespace: &str) -> Result<Vec<Value>, LookupError> {
        Ok(Vec::new())
    }
}

/// Lists `kind` in `namespace`, each item read by `parse`. An object that does not fit its model is an
/// error naming it and the field.
pub fn list_parsed<T>(
    cluster: &dyn Cluster,
    kind: ResourceKind,
    namespace: &str,
    parse: fn(&Value) -> Result<T, FieldError>,
) -> Result<Vec<T>, LookupError> {
    cluster
        .list(kind, namespace)?
        .iter()
        .map(|item| {
            parse(item).map_err(|error| {
                let name = item
                    .pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .unwrap_or("<unnamed>");
                LookupError::Failed(format!("{kind} {namespace}/{name}: {error}"))
            })
        })
        .collect()
}
