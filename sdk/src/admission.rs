//! The AdmissionRequest Kubewarden hands a policy, modelled leniently: `null` where a string or map
//! belongs reads as empty, and a missing `userInfo` stays visible as `None` so rules can fail closed.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::dgd::{DgdVersion, DgdView};
use crate::parse::{FieldError, from_str, null_as_default};

/// An admission request (`admission.k8s.io/v1` `AdmissionReview.request`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AdmissionRequest {
    /// The request's uid, echoed in the response.
    #[serde(deserialize_with = "null_as_default")]
    pub uid: String,
    /// The kind of the object under review.
    #[serde(deserialize_with = "null_as_default")]
    pub kind: GroupVersionKind,
    /// The resource being requested.
    #[serde(deserialize_with = "null_as_default")]
    pub resource: GroupVersionResource,
    /// The subresource, e.g. `scale` or `status`; empty for the main resource.
    #[serde(
        deserialize_with = "null_as_default",
        alias = "sub_resource",
        skip_serializing_if = "String::is_empty"
    )]
    pub sub_resource: String,
    /// The object's name.
    #[serde(deserialize_with = "null_as_default")]
    pub name: String,
    /// The object's namespace.
    #[serde(deserialize_with = "null_as_default")]
    pub namespace: String,
    /// `CREATE`, `UPDATE`, `DELETE` or `CONNECT`.
    #[serde(deserialize_with = "null_as_default")]
    pub operation: Operation,
    /// Who sent the request; `None` when the request carries no `userInfo`.
    #[serde(alias = "user_info", skip_serializing_if = "Option::is_none")]
    pub user_info: Option<UserInfo>,
    /// The new object (`null` for DELETE).
    pub object: RawObject,
    /// The old object (UPDATE and DELETE).
    #[serde(alias = "old_object")]
    pub old_object: RawObject,
    /// Whether the request is a dry run.
    #[serde(deserialize_with = "null_as_default", alias = "dry_run")]
    pub dry_run: bool,
}

/// An object of a request, kept as the JSON text it came in: a rule reads it straight into its typed
/// model ([`AdmissionRequest::object_as`], [`AdmissionRequest::dgd_object`]), and builds the JSON tree
/// only where it needs one ([`RawObject::to_value`]).
#[derive(Clone, Serialize)]
#[serde(transparent)]
pub struct RawObject(Box<RawValue>);

/// How deep a request's object may nest: serde_json's recursion limit, past which no rule could read it.
const MAX_DEPTH: usize = 128;

impl<'de> Deserialize<'de> for RawObject {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        if scaleguard_json_scan::nesting_depth(raw.get().as_bytes()) > MAX_DEPTH {
            return Err(serde::de::Error::custom("recursion limit exceeded"));
        }
        Ok(Self(raw))
    }
}

impl RawObject {
    /// The JSON text.
    pub fn json(&self) -> &str {
        self.0.get()
    }

    /// The object as a JSON tree; `None` when it nests deeper than serde_json builds trees (an object
    /// read from a request never does: it is refused first).
    pub fn to_value(&self) -> Option<Value> {
        serde_json::from_str(self.json()).ok()
    }

    /// Whether it is a JSON object (not `null`, not absent, not another value).
    pub fn is_object(&self) -> bool {
        self.json().starts_with('{')
    }

    /// Whether it is `null` (or was absent).
    pub fn is_null(&self) -> bool {
        self.json() == "null"
    }
}

impl Default for RawObject {
    fn default() -> Self {
        Self::from(Value::Null)
    }
}

impl From<Value> for RawObject {
    fn from(value: Value) -> Self {
        Self(serde_json::value::to_raw_value(&value).expect("a JSON value serializes"))
    }
}

impl PartialEq for RawObject {
    fn eq(&self, other: &Self) -> bool {
        self.json() == other.json()
            || self
                .to_value()
                .is_some_and(|value| Some(value) == other.to_value())
    }
}

impl PartialEq<Value> for RawObject {
    fn eq(&self, other: &Value) -> bool {
        self.to_value().as_ref() == Some(other)
    }
}

impl fmt::Debug for RawObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.json())
    }
}

/// Group, version and kind of an object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct GroupVersionKind {
    /// API group (empty for core).
    #[serde(deserialize_with = "null_as_default")]
    pub group: String,
    /// API version.
    #[serde(deserialize_with = "null_as_default")]
    pub version: String,
    /// Kind.
    #[serde(deserialize_with = "null_as_default")]
    pub kind: String,
}

/// Group, version and plural resource name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct GroupVersionResource {
    /// API group (empty for core).
    #[serde(deserialize_with = "null_as_default")]
    pub group: String,
    /// API version.
    #[serde(deserialize_with = "null_as_default")]
    pub version: String,
    /// Plural resource name.
    #[serde(deserialize_with = "null_as_default")]
    pub resource: String,
}

/// The requesting user.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct UserInfo {
    /// The username, e.g. `system:serviceaccount:dynamo-system:planner-serviceaccount`.
    #[serde(deserialize_with = "null_as_default")]
    pub username: String,
    /// The user's uid.
    #[serde(
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub uid: String,
    /// The user's groups.
    #[serde(deserialize_with = "null_as_default")]
    pub groups: Vec<String>,
    /// Extra attributes from the authenticator.
    #[serde(
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub extra: BTreeMap<String, Value>,
}

/// An admission operation, of a request or of a policy's rules (which may also say `*`); operations
/// Kubernetes may add later are kept as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(from = "String", into = "String")]
pub enum Operation {
    /// `CREATE`.
    #[default]
    Create,
    /// `UPDATE`.
    Update,
    /// `DELETE`.
    Delete,
    /// `CONNECT`.
    Connect,
    /// `*`: every operation (in rules).
    All,
    /// Anything else.
    Other(String),
}

impl Operation {
    /// The operations Kubernetes defines, as rules spell them.
    pub const NAMES: [&'static str; 5] = ["CREATE", "UPDATE", "DELETE", "CONNECT", "*"];

    /// Whether a rule listing this operation covers a request's `operation`.
    pub fn covers(&self, operation: &Operation) -> bool {
        *self == Self::All || self == operation
    }
}

impl From<String> for Operation {
    fn from(value: String) -> Self {
        match value.as_str() {
            "CREATE" => Self::Create,
            "UPDATE" => Self::Update,
            "DELETE" => Self::Delete,
            "CONNECT" => Self::Connect,
            "*" => Self::All,
            _ => Self::Other(value),
        }
    }
}

impl From<Operation> for String {
    fn from(value: Operation) -> Self {
        value.to_string()
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Create => "CREATE",
            Self::Update => "UPDATE",
            Self::Delete => "DELETE",
            Self::Connect => "CONNECT",
            Self::All => "*",
            Self::Other(other) => other,
        })
    }
}

impl AdmissionRequest {
    /// The request the API server sends for `operation` on `object` (and the stored `old_object`, on
    /// UPDATE and DELETE): kind and resource from the object's `apiVersion`/`kind` (the plural resource is
    /// the lowercased kind plus `s`, right for every kind scaleguard reviews), name and namespace from its
    /// metadata (the old object's, when there is no new one). The one builder every host uses.
    pub fn for_object(
        uid: impl Into<String>,
        operation: Operation,
        object: Value,
        old_object: Value,
        user_info: Option<UserInfo>,
    ) -> Self {
        let source = if object.is_object() {
            &object
        } else {
            &old_object
        };
        let text = |pointer: &str| {
            source
                .pointer(pointer)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        let api_version = text("/apiVersion");
        let kind = text("/kind");
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", &api_version));
        Self {
            uid: uid.into(),
            resource: GroupVersionResource {
                group: group.to_owned(),
                version: version.to_owned(),
                resource: format!("{}s", kind.to_lowercase()),
            },
            kind: GroupVersionKind {
                group: group.to_owned(),
                version: version.to_owned(),
                kind,
            },
            sub_resource: String::new(),
            name: text("/metadata/name"),
            namespace: text("/metadata/namespace"),
            operation,
            user_info,
            object: object.into(),
            old_object: old_object.into(),
            dry_run: false,
        }
    }

    /// Whether the object under review is of `kind` in API `group` (any version).
    pub fn is_kind(&self, group: &str, kind: &str) -> bool {
        self.kind.group == group && self.kind.kind == kind
    }

    /// Whether the request updates an object that is being deleted (`metadata.deletionTimestamp` set):
    /// the finalizers' last edits, which rules let through. The API server clears the field on CREATE, so
    /// it counts on UPDATE only.
    pub fn updates_object_being_deleted(&self, metadata: &crate::meta::ObjectMeta) -> bool {
        self.operation == Operation::Update && metadata.is_being_deleted()
    }

    /// The new object as `T`, or an error naming the bad field by its path in the object
    /// (`spec.services[decode].replicas`); a missing or `null` object is an error too.
    pub fn object_as<T: serde::de::DeserializeOwned>(&self) -> Result<T, FieldError> {
        typed(&self.object, "object", from_str)
    }

    /// The new object as a DynamoGraphDeployment of either version (see [`DgdView::from_json`]); an
    /// object without `apiVersion` is read in the version the request names.
    pub fn dgd_object(&self) -> Result<DgdView, FieldError> {
        typed(&self.object, "object", |json| {
            DgdView::from_json_in(json, self.dgd_version())
        })
    }

    /// The old object as a DynamoGraphDeployment of either version; errors are named below `oldObject`.
    pub fn old_dgd_object(&self) -> Result<DgdView, FieldError> {
        old(&self.old_object, |json| {
            DgdView::from_json_in(json, self.dgd_version())
        })
    }

    /// The DGD version an object without `apiVersion` is read in: the request's.
    fn dgd_version(&self) -> DgdVersion {
        let api_version = match self.kind.group.as_str() {
            "" => self.kind.version.clone(),
            group => format!("{group}/{}", self.kind.version),
        };
        DgdVersion::of(&api_version).unwrap_or(DgdVersion::V1alpha1)
    }

    /// The old object as `T`, or an error naming the bad field below `oldObject`
    /// (`oldObject.spec.services[decode].replicas`).
    pub fn old_object_as<T: serde::de::DeserializeOwned>(&self) -> Result<T, FieldError> {
        old(&self.old_object, from_str)
    }
}

/// The old object read by `parse`, its errors below `oldObject`.
fn old<T>(
    object: &RawObject,
    parse: impl Fn(&str) -> Result<T, FieldError>,
) -> Result<T, FieldError> {
    if object.is_object() {
        parse(object.json()).map_err(|error| error.under("oldObject"))
    } else {
        typed(object, "oldObject", parse)
    }
}

/// `object` as `T`; errors have paths relative to the object, its absence is reported at the root as
/// `<field> is missing`.
fn typed<T>(
    object: &RawObject,
    field: &str,
    parse: impl Fn(&str) -> Result<T, FieldError>,
) -> Result<T, FieldError> {
    let shape_error = |what: &str| FieldError {
        path: String::new(),
        reason: format!("{field} is {what}"),
    };
    if object.is_object() {
        parse(object.json())
    } else if object.is_null() {
        Err(shape_error("missing"))
    } else {
        Err(shape_error("not an object"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::parse::from_value;
    use serde_json::json;

    #[test]
    fn requests_are_filled_in_from_the_object() {
        let object = json!({"apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoGraphDeployment",
            "metadata": {"name": "sglang-agg", "namespace": "default"}});
        let alice = UserInfo {
            username: "alice".into(),
            ..UserInfo::default()
        };
        let update = AdmissionRequest::for_object(
            "1",
            Operation::Update,
            object.clone(),
            object.clone(),
            Some(alice),
        );
        assert_eq!(
            serde_json::to_value(&update).unwrap(),
            json!({
                "uid": "1",
                "kind": {"group": "nvidia.com", "version": "v1alpha1", "kind": "DynamoGraphDeployment"},
                "resource": {"group": "nvidia.com", "version": "v1alpha1", "resource": "dynamographdeployments"},
                "name": "sglang-agg",
                "namespace": "default",
                "operation": "UPDATE",
                "userInfo": {"username": "alice", "groups": []},
                "object": object,
                "oldObject": object,
                "dryRun": false,
            })
        );
        let deleted =
            AdmissionRequest::for_object("2", Operation::Delete, Value::Null, object, None);
        assert_eq!(deleted.name, "sglang-agg");
        assert_eq!(deleted.kind.kind, "DynamoGraphDeployment");
        assert!(deleted.user_info.is_none());
    }

    #[test]
    fn rules_spell_every_operation_as_star() {
        let all: Operation = serde_json::from_value(json!("*")).unwrap();
        assert_eq!(all, Operation::All);
        assert!(all.covers(&Operation::Delete));
        assert!(Operation::Update.covers(&Operation::Update));
        assert!(!Operation::Update.covers(&Operation::Create));
        assert_eq!(
            serde_json::to_value(Operation::Other("PATCH".into())).unwrap(),
            "PATCH"
        );
    }

    #[test]
    fn dgd_objects_without_api_version_take_the_requests_version() {
        let request: AdmissionRequest = from_value(&json!({
            "operation": "UPDATE",
            "kind": {"group": "nvidia.com", "version": "v1beta1", "kind": "DynamoGraphDeployment"},
            "object": {"spec": {"components": [{"name": "decode", "scalingAdapter": {}}]}},
            "oldObject": {"apiVersion": "nvidia.com/v1alpha1",
                "spec": {"services": {"decode": {"scalingAdapter": {}}}}}
        }))
        .unwrap();
        let new = request.dgd_object().unwrap();
        assert_eq!(new.version, crate::dgd::DgdVersion::V1beta1);
        assert!(new.components[0].adapter);
        let old = request.old_dgd_object().unwrap();
        assert_eq!(old.version, crate::dgd::DgdVersion::V1alpha1);
        assert!(!old.components[0].adapter);
    }

    #[test]
    fn reads_camel_case_and_snake_case_and_tolerates_nulls() {
        let camel: AdmissionRequest = from_value(&json!({
            "uid": "1", "operation": "UPDATE", "userInfo": {"username": "alice", "groups": null},
            "oldObject": {"a": 1}, "subResource": null, "options": null
        }))
        .unwrap();
        assert_eq!(camel.operation, Operation::Update);
        assert_eq!(camel.user_info.as_ref().unwrap().username, "alice");
        assert_eq!(camel.old_object, json!({"a": 1}));
        let snake: AdmissionRequest =
            from_value(&json!({"user_info": {"username": "bob"}, "old_object": {}})).unwrap();
        assert_eq!(snake.user_info.unwrap().username, "bob");
    }

    #[test]
    fn missing_user_info_stays_visible() {
        let request: AdmissionRequest = from_value(&json!({"operation": "CREATE"})).unwrap();
        assert!(request.user_info.is_none());
    }

    #[test]
    fn unknown_operations_are_kept() {
        let request: AdmissionRequest = from_value(&json!({"operation": "PATCH"})).unwrap();
        assert_eq!(request.operation, Operation::Other("PATCH".into()));
        assert_eq!(request.operation.to_string(), "PATCH");
    }

    #[test]
    fn object_as_names_missing_and_mistyped_objects() {
        let request = AdmissionRequest {
            object: json!("x").into(),
            ..AdmissionRequest::default()
        };
        let error = request.object_as::<Value>().unwrap_err();
        assert_eq!(error.to_string(), "object is not an object");
        let error = request.old_object_as::<Value>().unwrap_err();
        assert_eq!(error.to_string(), "oldObject is missing");
    }
}
