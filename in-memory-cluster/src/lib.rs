//! An in-memory Kubernetes cluster answering Kubewarden's context-aware look-ups: what the native
//! hosts (wasmtime's, the tests', the browser playground's) give a policy as its cluster.
//!
//! As the API server does, it serves an object at every version of its group: a list of
//! `nvidia.com/v1beta1` DynamoGraphDeployments returns the `v1alpha1` ones too, a list of
//! `autoscaling/v2` HPAs the `autoscaling/v1` ones. Items keep the `apiVersion` they were written in
//! (the API server would convert them); scaleguard's policies read each item by its own `apiVersion`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use scaleguard_sdk::cluster::Lookup;
use scaleguard_sdk::meta::api_group;
use scaleguard_sdk::{Cluster, LookupError, ResourceKind};
use serde_json::{Value, json};

mod served;

pub use served::{FieldMask, Served, served};

/// `(API group, kind)`: what the stored objects are kept by, whatever version wrote them.
type GroupKind = (String, String);

/// Objects by (API group, kind), plus the (apiVersion, kind) pairs the cluster does not serve (a CRD
/// that is not installed, or a version it does not have yet).
#[derive(Debug, Clone, Default)]
pub struct InMemoryCluster {
    objects: BTreeMap<GroupKind, Vec<Value>>,
    not_served: BTreeSet<ResourceKind>,
    lists: ListCache,
}

/// One look-up, as `list_resources_by_namespace` and `list_resources_all` ask for it: a kind at an
/// `apiVersion`, in a namespace or all of them, filtered by a label and a field selector, each object
/// served with only the fields its `field_masks` name (see [`served`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListQuery<'q> {
    /// `apiVersion`.
    pub api_version: &'q str,
    /// Kind.
    pub kind: &'q str,
    /// The namespace (`None`: every namespace).
    pub namespace: Option<&'q str>,
    /// `labelSelector`.
    pub label_selector: Option<&'q str>,
    /// `fieldSelector`.
    pub field_selector: Option<&'q str>,
    /// `field_masks`; empty: whole objects.
    pub field_masks: &'q [&'q str],
}

impl<'q> ListQuery<'q> {
    /// Every object of `kind` at `api_version`, in every namespace.
    pub fn of(api_version: &'q str, kind: &'q str) -> Self {
        Self {
            api_version,
            kind,
            namespace: None,
            label_selector: None,
            field_selector: None,
            field_masks: &[],
        }
    }

    /// The query, in `namespace` only.
    #[must_use]
    pub fn in_namespace(self, namespace: &'q str) -> Self {
        Self {
            namespace: Some(namespace),
            ..self
        }
    }

    /// Whether it filters by a selector.
    fn selects(&self) -> bool {
        self.label_selector.is_some() || self.field_selector.is_some()
    }
}

/// `(apiVersion, kind, namespace, field masks)` of a look-up without selectors; the masks sorted, as
/// the set they are.
type ListKey = (String, String, Option<String>, Vec<String>);

/// The List JSON of the look-ups without selectors, made once while the objects stay as they are:
/// `scaleguard check` asks every evaluation in a namespace for the same lists. A clone starts empty.
#[derive(Debug, Default)]
struct ListCache(Mutex<HashMap<ListKey, Arc<[u8]>>>);

impl Clone for ListCache {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl ListCache {
    fn clear(&mut self) {
        self.0
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

/// A look-up the cluster refused, worded as Kubewarden's evaluator words it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClusterError {
    /// The kind is not in the policy's `contextAwareResources`.
    #[error(
        "Policy has not been granted access to Kubernetes {api_version}/{kind} resources. The violation has been reported."
    )]
    NotGranted {
        /// `apiVersion`.
        api_version: String,
        /// Kind.
        kind: String,
    },
    /// The cluster does not serve the kind.
    #[error("Cannot find resource {api_version}/{kind}")]
    NotServed {
        /// `apiVersion`.
        api_version: String,
        /// Kind.
        kind: String,
    },
    /// `get_resource` of an object that does not exist.
    #[error("Cannot find {api_version}/{kind} named '{name}' inside of namespace '{namespace}'")]
    NotFound {
        /// `apiVersion`.
        api_version: String,
        /// Kind.
        kind: String,
        /// Name.
        name: String,
        /// Namespace.
        namespace: String,
    },
    /// A label or field selector that does not parse.
    #[error("invalid {what} selector '{selector}': {reason}")]
    InvalidSelector {
        /// `label` or `field`.
        what: &'static str,
        /// The selector.
        selector: String,
        /// What is wrong.
        reason: String,
    },
}

impl InMemoryCluster {
    /// A cluster holding `objects` (each needs `apiVersion` and `kind`; others are skipped).
    pub fn from_objects(objects: impl IntoIterator<Item = Value>) -> Self {
        let mut cluster = Self::default();
        for object in objects {
            cluster.insert(object);
        }
        cluster
    }

    /// Adds `object`; returns `false` (and keeps nothing) when it has no `apiVersion` or `kind`.
    pub fn insert(&mut self, object: Value) -> bool {
        let (Some(api_version), Some(kind)) = (
            object.get("apiVersion").and_then(Value::as_str),
            object.get("kind").and_then(Value::as_str),
        ) else {
            return false;
        };
        let key = (api_group(api_version).to_owned(), kind.to_owned());
        self.objects.entry(key).or_default().push(object);
        self.lists.clear();
        true
    }

    /// Marks a kind as not served by the cluster (e.g. KEDA's CRDs are not installed).
    pub fn mark_not_served(&mut self, api_version: &str, kind: &str) {
        self.not_served.insert(ResourceKind::new(api_version, kind));
        self.lists.clear();
    }

    /// The List JSON `list_resources_by_namespace` / `list_resources_all` return, each object served as
    /// Kubewarden serves it ([`served`]) straight from the stored one (no copy of it is made); a look-up
    /// without selectors is serialized once and then answered from the cache.
    pub fn list_json(&self, query: &ListQuery<'_>) -> Result<Vec<u8>, ClusterError> {
        let serialize = || {
            let mask = FieldMask::new(query.field_masks.iter().copied());
            let list = ListAnswer {
                api_version: query.api_version,
                kind: format!("{}List", query.kind),
                metadata: json!({"resourceVersion": ""}),
                items: self
                    .list(query)?
                    .into_iter()
                    .map(|object| Served {
                        object,
                        mask: &mask,
                    })
                    .collect(),
            };
            Ok(serde_json::to_vec(&list).expect("a list of JSON values always serializes"))
        };
        if query.selects() {
            return serialize();
        }
        let mut masks: Vec<String> = query.field_masks.iter().map(|&m| m.to_owned()).collect();
        masks.sort();
        masks.dedup();
        let key = (
            query.api_version.to_owned(),
            query.kind.to_owned(),
            query.namespace.map(str::to_owned),
            masks,
        );
        let cached = self
            .lists
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
            .cloned();
        if let Some(json) = cached {
            return Ok(json.to_vec());
        }
        let json = serialize()?;
        self.lists
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, json.as_slice().into());
        Ok(json)
    }

    /// The objects `query` asks for: its kind at any version of its group.
    pub fn list(&self, query: &ListQuery<'_>) -> Result<Vec<&Value>, ClusterError> {
        self.check_served(query.api_version, query.kind)?;
        let labels = Selector::parse("label", query.label_selector.unwrap_or(""))?;
        let fields = Selector::parse("field", query.field_selector.unwrap_or(""))?;
        let key = (
            api_group(query.api_version).to_owned(),
            query.kind.to_owned(),
        );
        Ok(self
            .objects
            .get(&key)
            .into_iter()
            .flatten()
            .filter(|object| query.namespace.is_none_or(|ns| namespace_of(object) == ns))
            .filter(|object| labels.matches(|k| label(object, k)))
            .filter(|object| fields.matches(|k| field(object, k)))
            .collect())
    }

    /// One object by name.
    pub fn get(
        &self,
        api_version: &str,
        kind: &str,
        name: &str,
        namespace: Option<&str>,
    ) -> Result<&Value, ClusterError> {
        let query = ListQuery {
            namespace,
            ..ListQuery::of(api_version, kind)
        };
        self.list(&query)?
            .into_iter()
            .find(|object| name_of(object) == name)
            .ok_or_else(|| ClusterError::NotFound {
                api_version: api_version.to_owned(),
                kind: kind.to_owned(),
                name: name.to_owned(),
                namespace: namespace.unwrap_or("").to_owned(),
            })
    }

    fn check_served(&self, api_version: &str, kind: &str) -> Result<(), ClusterError> {
        if self
            .not_served
            .contains(&ResourceKind::new(api_version, kind))
        {
            return Err(ClusterError::NotServed {
                api_version: api_version.to_owned(),
                kind: kind.to_owned(),
            });
        }
        Ok(())
    }
}

/// What one policy sees of a cluster: only the kinds it was granted (`contextAwareResources`), through
/// an evaluator that honours field masks (Kubewarden 1.33+) or one that ignores them.
#[derive(Debug, Clone)]
pub struct ClusterView {
    cluster: Arc<InMemoryCluster>,
    granted: BTreeSet<ResourceKind>,
    honours_field_masks: bool,
}

impl ClusterView {
    /// `cluster` as seen by a policy granted `granted`, field masks honoured.
    pub fn new(cluster: Arc<InMemoryCluster>, granted: BTreeSet<ResourceKind>) -> Self {
        Self {
            cluster,
            granted,
            honours_field_masks: true,
        }
    }

    /// The same view through an evaluator older than Kubewarden 1.33: look-ups' field masks are ignored
    /// and whole objects served.
    #[must_use]
    pub fn ignoring_field_masks(self) -> Self {
        Self {
            honours_field_masks: false,
            ..self
        }
    }

    /// The cluster behind the view.
    pub fn cluster(&self) -> &InMemoryCluster {
        &self.cluster
    }

    /// Refuses kinds the policy was not granted.
    pub fn check_granted(&self, api_version: &str, kind: &str) -> Result<(), ClusterError> {
        if self.granted.contains(&ResourceKind::new(api_version, kind)) {
            Ok(())
        } else {
            Err(ClusterError::NotGranted {
                api_version: api_version.to_owned(),
                kind: kind.to_owned(),
            })
        }
    }

    /// The objects of a granted kind: [`InMemoryCluster::list`] behind [`Self::check_granted`].
    pub fn list(&self, query: &ListQuery<'_>) -> Result<Vec<&Value>, ClusterError> {
        self.check_granted(query.api_version, query.kind)?;
        self.cluster.list(query)
    }

    /// [`InMemoryCluster::list_json`] behind [`Self::check_granted`], the masks dropped when the view
    /// ignores them.
    pub fn list_json(&self, query: &ListQuery<'_>) -> Result<Vec<u8>, ClusterError> {
        self.check_granted(query.api_version, query.kind)?;
        if self.honours_field_masks {
            self.cluster.list_json(query)
        } else {
            self.cluster.list_json(&ListQuery {
                field_masks: &[],
                ..*query
            })
        }
    }
}

/// A Kubernetes List as the host sends it, borrowing its items from the cluster.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct ListAnswer<'a> {
    api_version: &'a str,
    kind: String,
    metadata: Value,
    items: Vec<Served<'a>>,
}

/// The native twin of the guest's host-call [`Cluster`]: the same objects, grants and errors.
impl Cluster for ClusterView {
    fn list_json(&self, lookup: &Lookup<'_>) -> Result<Vec<u8>, LookupError> {
        let query = ListQuery {
            field_masks: lookup.field_masks,
            ..ListQuery::of(&lookup.kind.api_version, &lookup.kind.kind)
                .in_namespace(lookup.namespace)
        };
        Ok(ClusterView::list_json(self, &query)?)
    }
}

/// How a policy reads a refused look-up: a kind not granted or not served is no objects.
impl From<ClusterError> for LookupError {
    fn from(error: ClusterError) -> Self {
        match error {
            ClusterError::NotGranted { .. } => Self::NotGranted(error.to_string()),
            ClusterError::NotServed { .. } => Self::NotServed(error.to_string()),
            _ => Self::Failed(error.to_string()),
        }
    }
}

fn name_of(object: &Value) -> &str {
    object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn namespace_of(object: &Value) -> &str {
    object
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn label<'a>(object: &'a Value, key: &str) -> Option<&'a str> {
    object
        .pointer("/metadata/labels")
        .and_then(|labels| labels.get(key))
        .and_then(Value::as_str)
}

fn field<'a>(object: &'a Value, path: &str) -> Option<&'a str> {
    let pointer = format!("/{}", path.replace('.', "/"));
    object.pointer(&pointer).and_then(Value::as_str)
}

/// A parsed label or field selector: `a=b`, `a==b`, `a!=b`, `a`, `!a`, `a in (x,y)`, `a notin (x,y)`.
#[derive(Debug, Default)]
struct Selector {
    requirements: Vec<Requirement>,
}

#[derive(Debug)]
enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    Exists(String),
    NotExists(String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
}

impl Selector {
    fn parse(what: &'static str, selector: &str) -> Result<Self, ClusterError> {
        let invalid = |reason: &str| ClusterError::InvalidSelector {
            what,
            selector: selector.to_owned(),
            reason: reason.to_owned(),
        };
        let mut requirements = Vec::new();
        for term in split_terms(selector) {
            let term = term.trim();
            if term.is_empty() {
                continue;
            }
            let requirement = if let Some((key, value)) = term.split_once("!=") {
                Requirement::NotEquals(key.trim().to_owned(), value.trim().to_owned())
            } else if let Some((key, value)) =
                term.split_once("==").or_else(|| term.split_once('='))
            {
                Requirement::Equals(key.trim().to_owned(), value.trim().to_owned())
            } else if let Some((key, values)) = set_term(term, " notin ") {
                Requirement::NotIn(key, values)
            } else if let Some((key, values)) = set_term(term, " in ") {
                Requirement::In(key, values)
            } else if let Some(key) = term.strip_prefix('!') {
                Requirement::NotExists(key.trim().to_owned())
            } else if term.contains(|c: char| c.is_whitespace() || "()".contains(c)) {
                return Err(invalid(&format!("cannot parse '{term}'")));
            } else {
                Requirement::Exists(term.to_owned())
            };
            requirements.push(requirement);
        }
        Ok(Self { requirements })
    }

    fn matches<'a>(&self, value_of: impl Fn(&str) -> Option<&'a str>) -> bool {
        self.requirements
            .iter()
            .all(|requirement| match requirement {
                Requirement::Equals(key, value) => value_of(key) == Some(value.as_str()),
                Requirement::NotEquals(key, value) => value_of(key) != Some(value.as_str()),
                Requirement::Exists(key) => value_of(key).is_some(),
                Requirement::NotExists(key) => value_of(key).is_none(),
                Requirement::In(key, values) => {
                    value_of(key).is_some_and(|v| values.iter().any(|x| x == v))
                }
                Requirement::NotIn(key, values) => {
                    !value_of(key).is_some_and(|v| values.iter().any(|x| x == v))
                }
            })
    }
}

/// Splits a selector at commas outside parentheses.
fn split_terms(selector: &str) -> Vec<&str> {
    let mut terms = Vec::new();
    let (mut depth, mut start) = (0_i32, 0);
    for (index, c) in selector.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                terms.push(&selector[start..index]);
                start = index + 1;
            }
            _ => {}
        }
    }
    terms.push(&selector[start..]);
    terms
}

fn set_term(term: &str, operator: &str) -> Option<(String, Vec<String>)> {
    let (key, rest) = term.split_once(operator)?;
    let values = rest.trim().strip_prefix('(')?.strip_suffix(')')?;
    Some((
        key.trim().to_owned(),
        values.split(',').map(|v| v.trim().to_owned()).collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster() -> InMemoryCluster {
        let mut cluster = InMemoryCluster::from_objects([
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a", "namespace": "x", "labels": {"app": "web", "tier": "1"}}}),
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "b", "namespace": "x", "labels": {"app": "db"}}}),
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "c", "namespace": "y"}}),
        ]);
        cluster.mark_not_served("keda.sh/v1alpha1", "ScaledObject");
        cluster
    }

    fn names(objects: &[&Value]) -> Vec<String> {
        objects.iter().map(|o| name_of(o).to_owned()).collect()
    }

    #[test]
    fn lists_by_namespace_and_selectors() {
        let cluster = cluster();
        let list = |namespace, label_selector, field_selector| {
            let query = ListQuery {
                namespace,
                label_selector,
                field_selector,
                ..ListQuery::of("v1", "Pod")
            };
            names(&cluster.list(&query).unwrap())
        };
        assert_eq!(list(Some("x"), None, None), ["a", "b"]);
        assert_eq!(list(None, None, None), ["a", "b", "c"]);
        assert_eq!(list(None, Some("app=web"), None), ["a"]);
        assert_eq!(list(None, Some("app!=web"), None), ["b", "c"]);
        assert_eq!(list(None, Some("app in (web, db),!tier"), None), ["b"]);
        assert_eq!(list(None, Some("app notin (web)"), None), ["b", "c"]);
        assert_eq!(list(None, Some("tier"), None), ["a"]);
        assert_eq!(list(None, None, Some("metadata.name=c")), ["c"]);
        assert_eq!(list(None, None, Some("metadata.namespace!=x")), ["c"]);
    }

    #[test]
    fn errors_use_kubewardens_words() {
        let cluster = cluster();
        assert_eq!(
            cluster
                .list(&ListQuery::of("keda.sh/v1alpha1", "ScaledObject").in_namespace("x"))
                .unwrap_err()
                .to_string(),
            "Cannot find resource keda.sh/v1alpha1/ScaledObject"
        );
        assert_eq!(
            cluster
                .get("v1", "Pod", "zz", Some("x"))
                .unwrap_err()
                .to_string(),
            "Cannot find v1/Pod named 'zz' inside of namespace 'x'"
        );
        let unparsable = ListQuery {
            label_selector: Some("a in (b"),
            ..ListQuery::of("v1", "Pod")
        };
        assert!(matches!(
            cluster.list(&unparsable),
            Err(ClusterError::InvalidSelector { .. })
        ));
        let view = ClusterView::new(Arc::new(cluster), BTreeSet::new());
        assert_eq!(
            view.list_json(&ListQuery::of("v1", "Pod").in_namespace("x"))
                .unwrap_err()
                .to_string(),
            "Policy has not been granted access to Kubernetes v1/Pod resources. The violation has been reported."
        );
    }

    #[test]
    fn every_version_of_a_group_serves_its_objects() {
        let mut cluster = InMemoryCluster::from_objects([
            json!({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "v1", "namespace": "x"}}),
            json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "v2", "namespace": "x"}}),
            json!({"apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoGraphDeployment", "metadata": {"name": "a", "namespace": "x"}}),
            json!({"apiVersion": "nvidia.com/v1beta1", "kind": "DynamoGraphDeployment", "metadata": {"name": "b", "namespace": "x"}}),
            json!({"apiVersion": "other.com/v1", "kind": "DynamoGraphDeployment", "metadata": {"name": "c", "namespace": "x"}}),
        ]);
        let list = |cluster: &InMemoryCluster, api_version, kind| {
            cluster
                .list(&ListQuery::of(api_version, kind).in_namespace("x"))
                .map(|items| names(&items))
        };
        for version in ["autoscaling/v1", "autoscaling/v2", "autoscaling/v2beta2"] {
            assert_eq!(
                list(&cluster, version, "HorizontalPodAutoscaler").unwrap(),
                ["v1", "v2"]
            );
        }
        for version in ["nvidia.com/v1alpha1", "nvidia.com/v1beta1"] {
            assert_eq!(
                list(&cluster, version, "DynamoGraphDeployment").unwrap(),
                ["a", "b"]
            );
        }
        cluster.mark_not_served("nvidia.com/v1beta1", "DynamoGraphDeployment");
        assert!(list(&cluster, "nvidia.com/v1beta1", "DynamoGraphDeployment").is_err());
        assert_eq!(
            list(&cluster, "nvidia.com/v1alpha1", "DynamoGraphDeployment").unwrap(),
            ["a", "b"]
        );
    }

    #[test]
    fn a_list_is_serialized_once_until_the_objects_change() {
        let mut cluster = cluster();
        let pods = |cluster: &InMemoryCluster, selector| {
            let query = ListQuery {
                label_selector: selector,
                ..ListQuery::of("v1", "Pod").in_namespace("x")
            };
            let json = cluster.list_json(&query).unwrap();
            let list: Value = serde_json::from_slice(&json).unwrap();
            let names: Vec<String> = list["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|item| name_of(item).to_owned())
                .collect();
            (list["kind"].clone(), names)
        };
        let first = pods(&cluster, None);
        assert_eq!(first, (json!("PodList"), vec!["a".into(), "b".into()]));
        assert_eq!(pods(&cluster, None), first, "from the cache");
        assert_eq!(
            pods(&cluster, Some("app=db")),
            (json!("PodList"), vec!["b".into()]),
            "a look-up with a selector is never cached"
        );
        cluster.insert(
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "d", "namespace": "x"}}),
        );
        assert_eq!(
            pods(&cluster, None).1,
            ["a", "b", "d"],
            "a new object empties the cache"
        );
        cluster.mark_not_served("v1", "Pod");
        assert!(
            cluster
                .list_json(&ListQuery::of("v1", "Pod").in_namespace("x"))
                .is_err()
        );
    }

    #[test]
    fn objects_without_kind_are_not_kept() {
        let mut cluster = InMemoryCluster::default();
        assert!(!cluster.insert(json!({"metadata": {"name": "x"}})));
    }
}
