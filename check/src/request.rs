//! The AdmissionRequests `check` sends a policy: a CREATE of each object read, or an UPDATE from the
//! object at `--against`, by the user `--user`/`--group` name.

use scaleguard_sdk::{AdmissionRequest, Operation, UserInfo};
use serde::Serialize;
use serde_json::Value;

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
    AdmissionRequest::for_object(
        uid,
        operation,
        document.object.clone(),
        old_object.cloned().unwrap_or(Value::Null),
        Some(user_info.clone()),
    )
}

/// The `validate` payload: `{"request": <request>, "settings": <settings>}`, serialized straight from
/// the request (no copy of the object is made).
pub fn validation_payload(request: &AdmissionRequest, settings: &Value) -> Vec<u8> {
    #[derive(Serialize)]
    struct ValidationPayload<'a> {
        request: &'a AdmissionRequest,
        settings: &'a Value,
    }
    serde_json::to_vec(&ValidationPayload { request, settings })
        .expect("an AdmissionRequest and JSON settings always serialize")
}
