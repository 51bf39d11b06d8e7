//! Cluster look-ups for context-aware rules, behind a small trait: the wasm guest answers them with
//! Kubewarden host calls, tests and native tools with an in-memory set of objects.

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::meta::api_group;
use crate::parse::FieldError;

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

/// Read access to the cluster, one call per kind and namespace.
pub trait Cluster {
    /// All objects of `kind` in `namespace` (`list_resources_by_namespace`).
    fn list(&self, kind: &ResourceKind, namespace: &str) -> Result<Vec<Value>, LookupError>;
}

/// A cluster with nothing in it, for rules that look nothing up.
#[derive(Debug, Clone, Copy, Default)]
pub struct EmptyCluster;

impl Cluster for EmptyCluster {
    fn list(&self, _kind: &ResourceKind, _namespace: &str) -> Result<Vec<Value>, LookupError> {
        Ok(Vec::new())
    }
}

/// A cluster whose answers are kept: every kind is listed once per namespace, however many views of it
/// (the cluster before and after an edit, [`Edited`]) a rule looks through.
pub struct ListedOnce<'c> {
    cluster: &'c dyn Cluster,
    lists: RefCell<Vec<Listed>>,
}

/// One answer [`ListedOnce`] keeps: the kind, the namespace, the list.
type Listed = (ResourceKind, String, Result<Vec<Value>, LookupError>);

impl<'c> ListedOnce<'c> {
    /// Look-ups of `cluster`, each made once.
    pub fn new(cluster: &'c dyn Cluster) -> Self {
        Self {
            cluster,
            lists: RefCell::new(Vec::new()),
        }
    }
}

impl Cluster for ListedOnce<'_> {
    fn list(&self, kind: &ResourceKind, namespace: &str) -> Result<Vec<Value>, LookupError> {
        if let Some((_, _, answer)) = self
            .lists
            .borrow()
            .iter()
            .find(|(k, n, _)| k == kind && n == namespace)
        {
            return answer.clone();
        }
        let answer = self.cluster.list(kind, namespace);
        self.lists
            .borrow_mut()
            .push((kind.clone(), namespace.to_owned(), answer.clone()));
        answer
    }
}

/// The cluster as it is once an edit of one object is stored: that object (of `kind` at any version of
/// its group, in its namespace, by name) replaced by `object`, or gone when `object` is `None`.
pub struct Edited<'c> {
    /// The cluster before the edit.
    pub cluster: &'c dyn Cluster,
    /// The edited object's kind (its group counts, not its version).
    pub kind: &'c str,
    /// The edited object's API group.
    pub group: &'c str,
    /// The edited object's namespace.
    pub namespace: &'c str,
    /// The edited object's name.
    pub name: &'c str,
    /// What is stored after the edit.
    pub object: Option<&'c Value>,
}

impl Cluster for Edited<'_> {
    fn list(&self, kind: &ResourceKind, namespace: &str) -> Result<Vec<Value>, LookupError> {
        let mut items = self.cluster.list(kind, namespace)?;
        if kind.kind != self.kind || kind.group() != self.group || namespace != self.namespace {
            return Ok(items);
        }
        items.retain(|item| {
            item.pointer("/metadata/name").and_then(Value::as_str) != Some(self.name)
        });
        items.extend(self.object.cloned());
        Ok(items)
    }
}

/// Lists `kind` in `namespace`, each item read by `parse`. An object that does not fit its model is an
/// error naming it and the field.
pub fn list_parsed<T>(
    cluster: &dyn Cluster,
    kind: &ResourceKind,
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Counts its look-ups; holds DGDs `a` and `b` of namespace `x`.
    struct Counting(RefCell<usize>);

    impl Cluster for Counting {
        fn list(&self, _: &ResourceKind, namespace: &str) -> Result<Vec<Value>, LookupError> {
            *self.0.borrow_mut() += 1;
            Ok(vec![
                json!({"metadata": {"name": "a", "namespace": namespace}, "v": 1}),
                json!({"metadata": {"name": "b", "namespace": namespace}}),
            ])
        }
    }

    const DGD: ResourceKind = ResourceKind::of("nvidia.com/v1beta1", "DynamoGraphDeployment");

    #[test]
    fn an_edited_cluster_holds_the_new_object_and_lists_each_kind_once() {
        let counting = Counting(RefCell::new(0));
        let cluster = ListedOnce::new(&counting);
        let new = json!({"metadata": {"name": "a", "namespace": "x"}, "v": 2});
        let edit = |object| Edited {
            cluster: &cluster,
            kind: "DynamoGraphDeployment",
            group: "nvidia.com",
            namespace: "x",
            name: "a",
            object,
        };
        let after = edit(Some(&new)).list(&DGD, "x").unwrap();
        assert_eq!(after.len(), 2);
        assert_eq!(after[1], new);
        let gone = edit(None).list(&DGD, "x").unwrap();
        assert_eq!(gone, [json!({"metadata": {"name": "b", "namespace": "x"}})]);
        let other_namespace = edit(Some(&new)).list(&DGD, "y").unwrap();
        assert_eq!(other_namespace.len(), 2);
        assert_eq!(*counting.0.borrow(), 2, "x once, y once");
    }
}
