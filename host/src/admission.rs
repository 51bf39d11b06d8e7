//! Turning a policy's answer into the AdmissionResponse the API server receives, as Kubewarden does:
//! `mutated_object` becomes a base64 JSONPatch against the submitted object.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use scaleguard_sdk::ValidationResponse;
use serde::Serialize;
use serde_json::Value;

/// `admission.k8s.io/v1` AdmissionResponse.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionResponse {
    /// The request's uid.
    pub uid: String,
    /// Whether the request is admitted.
    pub allowed: bool,
    /// Why not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// `JSONPatch` when there is a patch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch_type: Option<String>,
    /// The base64-encoded JSONPatch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch: Option<String>,
    /// Warnings for the client.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Audit annotations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit_annotations: Option<std::collections::BTreeMap<String, String>>,
}

/// `status` of a refused request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Status {
    /// The policy's message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The policy's code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<u16>,
}

/// The JSONPatch turning `object` into `mutated`.
pub fn patch(object: &Value, mutated: &Value) -> json_patch::Patch {
    json_patch::diff(object, mutated)
}

impl AdmissionResponse {
    /// The response to request `uid` on `object` for the policy's `response`.
    pub fn new(uid: &str, object: &Value, response: &ValidationResponse) -> Self {
        let patch = response
            .mutated_object
            .as_ref()
            .map(|mutated| patch(object, mutated))
            .filter(|patch| !patch.0.is_empty())
            .map(|patch| STANDARD.encode(serde_json::to_vec(&patch).unwrap_or_default()));
        Self {
            uid: uid.to_owned(),
            allowed: response.accepted,
            status: (!response.accepted).then(|| Status {
                message: response.message.clone(),
                code: response.code,
            }),
            patch_type: patch.as_ref().map(|_| "JSONPatch".to_owned()),
            patch,
            warnings: response.warnings.clone().unwrap_or_default(),
            audit_annotations: response.audit_annotations.clone(),
        }
    }
}

/// The AdmissionRequest inside `document`: a whole `AdmissionReview` (its `request`) or a bare request.
pub fn unwrap_review(document: Value) -> Value {
    match document {
        Value::Object(mut map)
            if map.get("kind").and_then(Value::as_str) == Some("AdmissionReview") =>
        {
            map.remove("request").unwrap_or(Value::Null)
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn mutations_become_a_base64_json_patch() {
        let object = json!({"spec": {"services": {"a": {"autoscaling": {}, "replicas": 1}}}});
        let response = ValidationResponse {
            accepted: true,
            mutated_object: Some(json!({"spec": {"services": {"a": {"replicas": 1}}}})),
            warnings: Some(vec!["w".into()]),
            ..ValidationResponse::default()
        };
        let admission = AdmissionResponse::new("uid-1", &object, &response);
        let decoded: Value =
            serde_json::from_slice(&STANDARD.decode(admission.patch.unwrap()).unwrap()).unwrap();
        assert_eq!(
            decoded,
            json!([{"op": "remove", "path": "/spec/services/a/autoscaling"}])
        );
        assert_eq!(admission.patch_type.as_deref(), Some("JSONPatch"));
        assert_eq!(admission.warnings, ["w"]);
        assert!(admission.allowed);
    }

    #[test]
    fn reviews_are_unwrapped() {
        let review = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {"uid": "x"}});
        assert_eq!(unwrap_review(review), json!({"uid": "x"}));
        assert_eq!(unwrap_review(json!({"uid": "y"})), json!({"uid": "y"}));
    }

    #[test]
    fn refusals_carry_status() {
        let response = ValidationResponse {
            accepted: false,
            message: Some("no".into()),
            code: Some(403),
            ..ValidationResponse::default()
        };
        let admission =
            serde_json::to_value(AdmissionResponse::new("u", &json!({}), &response)).unwrap();
        assert_eq!(
            admission,
            json!({"uid": "u", "allowed": false, "status": {"message": "no", "code": 403}})
        );
    }
}
