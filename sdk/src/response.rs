//! What a policy answers: the [`Verdict`] a rule returns and the wire formats Kubewarden reads.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// HTTP-style code of a request the policy refuses as malformed.
pub const BAD_REQUEST: u16 = 400;
/// HTTP-style code of a request from someone not allowed to make it.
pub const FORBIDDEN: u16 = 403;
/// HTTP-style code of a policy that could not decide (e.g. a failed cluster look-up).
pub const INTERNAL_ERROR: u16 = 500;

/// A rule's decision.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Admit the request, passing `warnings` on to the client.
    Accept {
        /// Warnings shown to the client (`kubectl` prints them).
        warnings: Vec<String>,
    },
    /// Refuse the request.
    Reject {
        /// HTTP-style status code.
        code: u16,
        /// Why.
        message: String,
        /// Warnings shown beside the refusal.
        warnings: Vec<String>,
    },
    /// Admit the request with `object` in place of the submitted one.
    Mutate {
        /// The object to store.
        object: Value,
        /// Warnings shown to the client.
        warnings: Vec<String>,
    },
}

impl Verdict {
    /// Admit, with no warnings.
    pub fn accept() -> Self {
        Self::Accept {
            warnings: Vec::new(),
        }
    }

    /// Admit, passing `warnings` to the client (the Kubewarden SDK's `accept_request` cannot).
    pub fn accept_with_warnings(warnings: Vec<String>) -> Self {
        Self::Accept { warnings }
    }

    /// Refuse with `code` and `message`.
    pub fn reject(code: u16, message: impl Into<String>) -> Self {
        Self::Reject {
            code,
            message: message.into(),
            warnings: Vec::new(),
        }
    }
}

/// The `validate` answer of a Kubewarden policy (the SDK's `ValidationResponse`, wire-compatible).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct ValidationResponse {
    /// Whether the request is admitted.
    pub accepted: bool,
    /// Why it was refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// HTTP-style status code of a refusal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<u16>,
    /// The object to store instead of the submitted one (mutating policies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mutated_object: Option<Value>,
    /// Annotations for the audit log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_annotations: Option<BTreeMap<String, String>>,
    /// Warnings for the client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warnings: Option<Vec<String>>,
}

impl From<Verdict> for ValidationResponse {
    fn from(verdict: Verdict) -> Self {
        let non_empty = |warnings: Vec<String>| (!warnings.is_empty()).then_some(warnings);
        match verdict {
            Verdict::Accept { warnings } => Self {
                accepted: true,
                warnings: non_empty(warnings),
                ..Self::default()
            },
            Verdict::Reject {
                code,
                message,
                warnings,
            } => Self {
                accepted: false,
                message: Some(message),
                code: Some(code),
                warnings: non_empty(warnings),
                ..Self::default()
            },
            Verdict::Mutate { object, warnings } => Self {
                accepted: true,
                mutated_object: Some(object),
                warnings: non_empty(warnings),
                ..Self::default()
            },
        }
    }
}

/// The `validate_settings` answer of a Kubewarden policy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct SettingsValidationResponse {
    /// Whether the settings are usable.
    pub valid: bool,
    /// What is wrong with them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accept_with_warnings_carries_them_on_the_wire() {
        let response = ValidationResponse::from(Verdict::accept_with_warnings(vec!["w".into()]));
        assert_eq!(
            serde_json::to_value(response).unwrap(),
            json!({"accepted": true, "warnings": ["w"]})
        );
    }

    #[test]
    fn rejections_carry_code_and_message() {
        let response = ValidationResponse::from(Verdict::reject(403, "no"));
        assert_eq!(
            serde_json::to_value(response).unwrap(),
            json!({"accepted": false, "message": "no", "code": 403})
        );
    }

    #[test]
    fn mutations_carry_the_object() {
        let response = ValidationResponse::from(Verdict::Mutate {
            object: json!({"a": 1}),
            warnings: vec![],
        });
        assert_eq!(
            serde_json::to_value(response).unwrap(),
            json!({"accepted": true, "mutated_object": {"a": 1}})
        );
    }
}
