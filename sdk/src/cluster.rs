//! Cluster look-ups for context-aware rules, behind a small trait: the wasm guest answers them with
//! Kubewarden host calls, tests and native tools with an in-memory set of objects.

use std::borrow::Cow;
use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::meta::api_group;
use crate::parse::{FieldError, from_str, null_as_default};

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

/// The items of a List, each the unparsed JSON text of one object.
#[derive(Deserialize)]
struct ListItems<'a> {
    #[serde(borrow, default, deserialize_with = "null_as_default")]
    items: Vec<&'a RawValue>,
}

/// Just enough of an object to name it in an error.
#[derive(Deserialize)]
struct Named<'a> {
    #[serde(borrow, default)]
    metadata: Option<NameOnly<'a>>,
}

#[derive(Deserialize)]
struct NameOnly<'a> {
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
}

/// Lists `lookup` and reads its items into `T` in one pass over the List JSON; where an item does not
/// fit, the error is [`list_parsed`]'s, naming the object and the field.
pub fn list_read<T: DeserializeOwned>(
    cluster: &dyn Cluster,
    lookup: &Lookup<'_>,
) -> Result<Vec<T>, LookupError> {
    #[derive(Deserialize)]
    #[serde(bound = "T: DeserializeOwned")]
    struct Items<T> {
        #[serde(default, deserialize_with = "null_as_default")]
        items: Vec<T>,
    }
    let answer = cluster.list_json(lookup)?;
    std::str::from_utf8(&answer)
        .ok()
        .and_then(|text| serde_json::from_str::<Items<T>>(text).ok())
        .map_or_else(
            || parse_items(lookup, &answer, from_str),
            |list| Ok(list.items),
        )
}

/// Lists `lookup` and reads each item by `parse`, straight from the List JSON: every item is a slice of
/// the answer, never a `serde_json::Value` tree. An object that does not fit its model is an error naming
/// it and the field.
pub fn list_parsed<T>(
    cluster: &dyn Cluster,
    lookup: &Lookup<'_>,
    parse: fn(&str) -> Result<T, FieldError>,
) -> Result<Vec<T>, LookupError> {
    parse_items(lookup, &cluster.list_json(lookup)?, parse)
}

/// Reads each item of the List JSON `answer` to `lookup` by `parse`.
fn parse_items<T>(
    lookup: &Lookup<'_>,
    answer: &[u8],
    parse: fn(&str) -> Result<T, FieldError>,
) -> Result<Vec<T>, LookupError> {
    let items = list_items(lookup, answer)?;
    let mut parsed = Vec::with_capacity(items.len());
    for item in items {
        parsed.push(parse(item.get()).map_err(|error| item_failed(lookup, item, &error))?);
    }
    Ok(parsed)
}

/// The items of the List JSON `answer` to `lookup`.
fn list_items<'a>(lookup: &Lookup<'_>, answer: &'a [u8]) -> Result<Vec<&'a RawValue>, LookupError> {
    let failed = |reason: &dyn fmt::Display| {
        LookupError::Failed(format!(
            "list of {} in {}: {reason}",
            lookup.kind, lookup.namespace
        ))
    };
    let text = std::str::from_utf8(answer).map_err(|e| failed(&e))?;
    let list: ListItems<'_> = serde_json::from_str(text).map_err(|e| failed(&e))?;
    Ok(list.items)
}

/// The error of a listed `item` that does not fit its model, naming the object.
fn item_failed(lookup: &Lookup<'_>, item: &RawValue, error: &FieldError) -> LookupError {
    let named: Option<Named<'_>> = serde_json::from_str(item.get()).ok();
    let name = named
        .and_then(|named| named.metadata?.name)
        .unwrap_or(Cow::Borrowed("<unnamed>"));
    LookupError::Failed(format!(
        "{} {}/{name}: {error}",
        lookup.kind, lookup.namespace
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::from_str;
    use serde_json::json;

    /// Answers every look-up with `answer`.
    struct Answering(&'static str);

    impl Cluster for Answering {
        fn list_json(&self, _: &Lookup<'_>) -> Result<Vec<u8>, LookupError> {
            Ok(self.0.as_bytes().to_vec())
        }
    }

    const DGD: ResourceKind = ResourceKind::of("nvidia.com/v1beta1", "DynamoGraphDeployment");

    fn names(answer: &'static str) -> Result<Vec<String>, LookupError> {
        #[derive(Deserialize)]
        struct Meta {
            metadata: NameOf,
        }
        #[derive(Deserialize)]
        struct NameOf {
            name: String,
        }
        let lookup = Lookup {
            kind: &DGD,
            namespace: "x",
            field_masks: &[],
        };
        list_parsed(&Answering(answer), &lookup, |item| {
            from_str::<Meta>(item).map(|meta| meta.metadata.name)
        })
    }

    #[test]
    fn items_are_read_straight_from_the_list_json() {
        let answer = r#"{"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""},
            "items": [{"metadata": {"name": "a", "labels": {"x": "y"}}, "spec": {}}, {"metadata": {"name": "b"}}]}"#;
        assert_eq!(names(answer).unwrap(), ["a", "b"]);
        assert_eq!(names(r#"{"items": null}"#).unwrap(), Vec::<String>::new());
        assert_eq!(names("{}").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn an_item_that_does_not_fit_is_named_with_its_field() {
        let error = names(r#"{"items": [{"metadata": {"name": "a"}}, {"metadata": {"name": 5}}]}"#)
            .unwrap_err();
        assert_eq!(
            error,
            LookupError::Failed(
                "nvidia.com/v1beta1/DynamoGraphDeployment x/<unnamed>: metadata.name: invalid type: integer `5`, expected a string".into()
            )
        );
        let error = names(r#"{"items": [{"metadata": {"name": "a", "uid": 1}, "spec": 1}, {"metadata": {"name": "b", "x": 1}}, {"metadata": {}}]}"#)
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "nvidia.com/v1beta1/DynamoGraphDeployment x/<unnamed>: metadata: missing field `name`"
        );
        let error = names(r#"{"items": 3}"#).unwrap_err();
        assert!(
            error.to_string().starts_with(
                "list of nvidia.com/v1beta1/DynamoGraphDeployment in x: invalid type: integer `3`"
            ),
            "{error}"
        );
    }

    #[test]
    fn the_list_json_of_values_holds_them_as_items() {
        let items = [json!({"metadata": {"name": "a"}})];
        let json: Value = serde_json::from_slice(&list_json_of(&items)).unwrap();
        assert_eq!(json, json!({"items": [{"metadata": {"name": "a"}}]}));
    }
}
