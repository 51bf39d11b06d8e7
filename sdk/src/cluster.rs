//! Cluster look-ups for context-aware rules, behind a small trait: the wasm guest answers them with
//! Kubewarden host calls, tests and native tools with an in-memory set of objects.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::fmt;
use std::ops::Range;

use serde::de::{
    DeserializeOwned, DeserializeSeed, Error as _, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
use serde::{Deserialize, Deserializer, Serialize};
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

/// A List whose items are read into `T` on first use, and looked up by `metadata.name` before: a rule
/// reads in full only the objects it looks at. An item whose name does not read leniently is read in
/// full to be named, and fails the look-up if it does not fit `T`.
pub struct NamedItems<T> {
    kind: ResourceKind,
    namespace: String,
    answer: String,
    parse: fn(&str) -> Result<T, FieldError>,
    name_of: fn(&T) -> &str,
    items: Vec<NamedItem<T>>,
}

struct NamedItem<T> {
    text: Range<usize>,
    /// `metadata.name`, read alone (`None`: it does not read so).
    name: OnceCell<Option<String>>,
    read: OnceCell<Result<T, LookupError>>,
}

impl<T> NamedItems<T> {
    /// Lists `lookup`; `parse` reads an item, `name_of` names what it read.
    pub fn list(
        cluster: &dyn Cluster,
        lookup: &Lookup<'_>,
        parse: fn(&str) -> Result<T, FieldError>,
        name_of: fn(&T) -> &str,
    ) -> Result<Self, LookupError> {
        let answer = String::from_utf8(cluster.list_json(lookup)?)
            .map_err(|error| list_failed(lookup, &error.utf8_error()))?;
        let start = answer.as_ptr() as usize;
        let items = list_items(lookup, answer.as_bytes())?
            .into_iter()
            .map(|item| {
                let offset = item.get().as_ptr() as usize - start;
                NamedItem {
                    text: offset..offset + item.get().len(),
                    name: OnceCell::new(),
                    read: OnceCell::new(),
                }
            })
            .collect();
        Ok(Self {
            kind: lookup.kind.clone(),
            namespace: lookup.namespace.to_owned(),
            answer,
            parse,
            name_of,
            items,
        })
    }

    /// The kind listed.
    pub fn kind(&self) -> &ResourceKind {
        &self.kind
    }

    /// Every item, read, in list order.
    pub fn all(&self) -> Result<Vec<&T>, LookupError> {
        self.items.iter().map(|item| self.read(item)).collect()
    }

    /// The items whose name `wanted` accepts, read, in list order.
    pub fn named(&self, wanted: &dyn Fn(&str) -> bool) -> Result<Vec<&T>, LookupError> {
        let mut named = Vec::new();
        for item in &self.items {
            if wanted(self.name(item)?) {
                named.push(self.read(item)?);
            }
        }
        Ok(named)
    }

    /// The item's name: read alone, unless the item was read whole or its name does not read alone.
    fn name<'s>(&'s self, item: &'s NamedItem<T>) -> Result<&'s str, LookupError> {
        if let Some(Ok(read)) = item.read.get() {
            return Ok((self.name_of)(read));
        }
        let name = item.name.get_or_init(|| {
            let named: Named<'_> = serde_json::from_str(&self.answer[item.text.clone()]).ok()?;
            named.metadata?.name.map(Cow::into_owned)
        });
        match name {
            Some(name) => Ok(name),
            None => self.read(item).map(self.name_of),
        }
    }

    fn read<'s>(&'s self, item: &'s NamedItem<T>) -> Result<&'s T, LookupError> {
        item.read
            .get_or_init(|| {
                let text = &self.answer[item.text.clone()];
                (self.parse)(text).map_err(|error| {
                    let lookup = Lookup {
                        kind: &self.kind,
                        namespace: &self.namespace,
                        field_masks: &[],
                    };
                    match item.name.get() {
                        Some(Some(name)) => named_item_failed(&lookup, name, &error),
                        _ => item_failed(&lookup, text, &error),
                    }
                })
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}

/// Lists `lookup` and reads its items into `T`, each made a `U` by `into`, in one pass over the List JSON;
/// where an item does not fit, the error names the object and the field (read again item by item).
pub fn list_read<T: DeserializeOwned, U>(
    cluster: &dyn Cluster,
    lookup: &Lookup<'_>,
    into: fn(T) -> U,
) -> Result<Vec<U>, LookupError> {
    let answer = cluster.list_json(lookup)?;
    let items = ItemsOf {
        // The items of the masked lists take a few hundred bytes each: sized so, the list seldom grows.
        capacity: answer.len() / 256,
        into,
    };
    std::str::from_utf8(&answer)
        .ok()
        .and_then(|text| {
            let mut deserializer = serde_json::Deserializer::from_str(text);
            let items = deserializer.deserialize_map(items).ok()?;
            deserializer.end().ok().map(|()| items)
        })
        .map_or_else(
            || {
                Ok(parse_items(lookup, &answer, from_str)?
                    .into_iter()
                    .map(into)
                    .collect())
            },
            Ok,
        )
}

/// Reads the `items` of a List JSON (absent or `null`: none) into a `Vec<U>` of `capacity`, each item
/// read as a `T` and made a `U` by `into`.
struct ItemsOf<T, U> {
    capacity: usize,
    into: fn(T) -> U,
}

impl<'de, T: Deserialize<'de>, U> Visitor<'de> for ItemsOf<T, U> {
    type Value = Vec<U>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a List")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<U>, A::Error> {
        let mut items = None;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if key != "items" {
                map.next_value::<IgnoredAny>()?;
            } else if items.is_some() {
                return Err(A::Error::duplicate_field("items"));
            } else {
                items = Some(map.next_value_seed(ItemList(self.capacity, self.into))?);
            }
        }
        Ok(items.unwrap_or_default())
    }
}

/// The list of a List's `items` (`null`: none), read into a `Vec<U>` of the given capacity.
struct ItemList<T, U>(usize, fn(T) -> U);

impl<'de, T: Deserialize<'de>, U> DeserializeSeed<'de> for ItemList<T, U> {
    type Value = Vec<U>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Vec<U>, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de, T: Deserialize<'de>, U> Visitor<'de> for ItemList<T, U> {
    type Value = Vec<U>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a list of objects")
    }

    fn visit_none<E>(self) -> Result<Vec<U>, E> {
        Ok(Vec::new())
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Vec<U>, D::Error> {
        deserializer.deserialize_seq(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<U>, A::Error> {
        let mut items = Vec::with_capacity(self.0);
        while let Some(item) = seq.next_element()? {
            items.push((self.1)(item));
        }
        Ok(items)
    }
}

/// Reads each item of the List JSON `answer` to `lookup` by `parse`, straight from its slice of the
/// answer (never a `serde_json::Value` tree). An object that does not fit its model is an error naming it
/// and the field.
fn parse_items<T>(
    lookup: &Lookup<'_>,
    answer: &[u8],
    parse: fn(&str) -> Result<T, FieldError>,
) -> Result<Vec<T>, LookupError> {
    let items = list_items(lookup, answer)?;
    let mut parsed = Vec::with_capacity(items.len());
    for item in items {
        parsed.push(parse(item.get()).map_err(|error| item_failed(lookup, item.get(), &error))?);
    }
    Ok(parsed)
}

/// The items of the List JSON `answer` to `lookup`.
fn list_items<'a>(lookup: &Lookup<'_>, answer: &'a [u8]) -> Result<Vec<&'a RawValue>, LookupError> {
    let text = std::str::from_utf8(answer).map_err(|e| list_failed(lookup, &e))?;
    let list: ListItems<'_> = serde_json::from_str(text).map_err(|e| list_failed(lookup, &e))?;
    Ok(list.items)
}

/// The error of an answer to `lookup` that is not a List.
fn list_failed(lookup: &Lookup<'_>, reason: &dyn fmt::Display) -> LookupError {
    LookupError::Failed(format!(
        "list of {} in {}: {reason}",
        lookup.kind, lookup.namespace
    ))
}

/// The error of a listed `item` that does not fit its model, naming the object.
fn item_failed(lookup: &Lookup<'_>, item: &str, error: &FieldError) -> LookupError {
    let named: Option<Named<'_>> = serde_json::from_str(item).ok();
    let name = named
        .and_then(|named| named.metadata?.name)
        .unwrap_or(Cow::Borrowed("<unnamed>"));
    named_item_failed(lookup, &name, error)
}

/// The error of listed object `name` that does not fit its model.
fn named_item_failed(lookup: &Lookup<'_>, name: &str, error: &FieldError) -> LookupError {
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
    const LOOKUP: Lookup<'static> = Lookup {
        kind: &DGD,
        namespace: "x",
        field_masks: &[],
    };

    /// An object read for its name.
    #[derive(Debug, PartialEq, Deserialize)]
    struct Named {
        metadata: NameOf,
    }

    #[derive(Debug, PartialEq, Deserialize)]
    struct NameOf {
        name: String,
    }

    fn names(answer: &'static str) -> Result<Vec<String>, LookupError> {
        list_read(&Answering(answer), &LOOKUP, |named: Named| {
            named.metadata.name
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
    fn one_pass_reads_what_item_by_item_reads_and_fails_alike() {
        for answer in [
            r#"{"kind": "List", "items": [{"metadata": {"name": "a"}}, {"metadata": {"name": "b"}, "spec": [1]}]}"#,
            r#"{"items": null, "metadata": {}}"#,
            "{}",
            r#"{"items": [{"metadata": {"name": "a"}}, {"metadata": {"name": 5}}]}"#,
            r#"{"items": [], "items": [{"metadata": {"name": "a"}}]}"#,
            r#"{"items": [{"metadata": {"name": "a"}}]} trailing"#,
            r#"{"items": {"metadata": {"name": "a"}}}"#,
            "[]",
        ] {
            let cluster = Answering(answer);
            assert_eq!(
                list_read(&cluster, &LOOKUP, |named: Named| named),
                parse_items(&LOOKUP, answer.as_bytes(), from_str::<Named>),
                "{answer}"
            );
        }
        let read = list_read(
            &Answering(r#"{"items": [{"metadata": {"name": "a"}}]}"#),
            &LOOKUP,
            |named: Named| named.metadata.name,
        );
        assert_eq!(read.unwrap(), ["a"]);
    }

    #[test]
    fn named_items_read_only_the_items_asked_for() {
        #[derive(Debug, PartialEq, Deserialize)]
        struct Sized {
            metadata: NameOf,
            #[serde(default)]
            size: u8,
        }
        let list = |answer| {
            NamedItems::list(&Answering(answer), &LOOKUP, from_str::<Sized>, |s| {
                &s.metadata.name
            })
        };
        let items = list(
            r#"{"items": [{"metadata": {"name": "a"}, "size": 1}, {"metadata": {"name": "b"}, "size": "big"}, {"metadata": {"name": "a"}, "size": 3}]}"#,
        )
        .unwrap();
        let sizes = |wanted: &dyn Fn(&str) -> bool| -> Result<Vec<u8>, LookupError> {
            Ok(items.named(wanted)?.iter().map(|s| s.size).collect())
        };
        assert_eq!(sizes(&|name| name == "a"), Ok(vec![1, 3]));
        assert_eq!(sizes(&|name| name == "c"), Ok(vec![]));
        let unreadable = Err(LookupError::Failed(
            "nvidia.com/v1beta1/DynamoGraphDeployment x/b: size: invalid type: string \"big\", expected u8".into(),
        ));
        assert_eq!(sizes(&|name| name == "b"), unreadable);
        assert_eq!(sizes(&|_| true), unreadable);
        assert_eq!(
            sizes(&|name| name == "a"),
            Ok(vec![1, 3]),
            "read once, kept"
        );
        // An item whose name does not read alone is read whole to be named: it fails any look-up by name.
        let unnamed =
            list(r#"{"items": [{"metadata": {"name": "a"}}, {"metadata": {"name": 5}}]}"#).unwrap();
        let failure = LookupError::Failed(
            "nvidia.com/v1beta1/DynamoGraphDeployment x/<unnamed>: metadata.name: invalid type: integer `5`, expected a string".into(),
        );
        assert_eq!(
            unnamed.named(&|name| name == "a").err(),
            Some(failure.clone())
        );
        assert_eq!(unnamed.all().err(), Some(failure));
        let all = items.all().err();
        assert_eq!(all, unreadable.err());
    }

    #[test]
    fn the_list_json_of_values_holds_them_as_items() {
        let items = [json!({"metadata": {"name": "a"}})];
        let json: Value = serde_json::from_slice(&list_json_of(&items)).unwrap();
        assert_eq!(json, json!({"items": [{"metadata": {"name": "a"}}]}));
    }
}
