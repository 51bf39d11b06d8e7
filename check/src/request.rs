//! The AdmissionRequests `check` sends a policy: a CREATE of each object read, or an UPDATE from the
//! object at `--against`, by the user `--user`/`--group` name.

use scaleguard_sdk::admission::{GroupVersionKind, GroupVersionResource};
use scaleguard_sdk::metadata::{Operation as RuleOperation, PolicyMetadata};
use scaleguard_sdk::{AdmissionRequest, Operation, UserInfo};
use serde_json::{Value, json};

use crate::input::Document;

/// The user a check runs as unless told otherwise: an authenticated user with no privileges.
pub const DEFAULT_USER: &str = "scaleguard-check";
/// The group every authenticated user has.
pub const AUTHENTICATED_GROUP: &str = "system:authenticated";

/// The default `userInfo`: [`DEFAULT_USER`] in [`AUTHENTICATED_GROUP`].
pub fn default_user() -> UserInfo {
    user(DEFAULT_USER, &[])
}

/// `userInfo` of `username` in `groups` (plus [`AUTHENTICATED_GROUP`], as the API server adds it).
pub fn user(username: &str, groups: &[String]) -> UserInfo {
    let mut groups = groups.to_vec();
    if !groups.iter().any(|g| g == AUTHENTICATED_GROUP) {
        groups.push(AUTHENTICATED_GROUP.to_owned());
    }
    UserInfo {
        username: username.to_owned(),
        groups,
        ..UserInfo::default()
    }
}

/// Group, version, plural resource and operation of a request: what a policy's `rules` match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestTarget {
    /// API group (empty for the core group).
    pub group: String,
    /// API version.
    pub version: String,
    /// Plural resource, e.g. `dynamographdeployments`.
    pub resource: String,
    /// The operation.
    pub operation: Operation,
}

impl RequestTarget {
    /// The target of `operation` on `object`. The resource is the lowercased kind plus `s`, which is right
    /// for every kind scaleguard's policies review.
    pub fn of(object: &Value, operation: Operation) -> Self {
        let api_version = object
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("");
        let kind = object.get("kind").and_then(Value::as_str).unwrap_or("");
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        Self {
            group: group.to_owned(),
            version: version.to_owned(),
            resource: format!("{}s", kind.to_lowercase()),
            operation,
        }
    }

    /// Whether the `rules` of a policy's `metadata` select a request for this target.
    pub fn is_selected_by(&self, metadata: &PolicyMetadata) -> bool {
        self.operation
            .to_string()
            .parse::<RuleOperation>()
            .is_ok_and(|operation| {
                metadata.matches(&self.group, &self.version, &self.resource, operation)
            })
    }
}

/// The AdmissionRequest for `document`: an UPDATE from `old_object` when there is one, else a CREATE.
pub fn admission_request(
    uid: &str,
    document: &Document,
    old_object: Option<&Value>,
    user_info: &UserInfo,
) -> AdmissionRequest {
    let operation = if old_object.is_some() {
        Operation::Update
    } else {
        Operation::Create
    };
    let target = RequestTarget::of(&document.object, operation.clone());
    let kind = GroupVersionKind {
        group: target.group.clone(),
        version: target.version.clone(),
        kind: document.kind().to_owned(),
    };
    AdmissionRequest {
        uid: uid.to_owned(),
        kind,
        resource: GroupVersionResource {
            group: target.group,
            version: target.version,
            resource: target.resource,
        },
        sub_resource: String::new(),
        name: document.name().to_owned(),
        namespace: document.namespace().to_owned(),
        operation,
        user_info: Some(user_info.clone()),
        object: document.object.clone(),
        old_object: old_object.cloned().unwrap_or(Value::Null),
        dry_run: false,
    }
}

/// The `validate` payload: `{"request": <request>, "settings": <settings>}`.
pub fn validation_payload(request: &AdmissionRequest, settings: &Value) -> Value {
    json!({"request": request, "settings": settings})
}
