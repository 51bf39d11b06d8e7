//! The contract every scaleguard policy implements, and the entry logic shared by the wasm module and
//! native callers: parse the payload, parse the settings, run the rule, answer.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::admission::AdmissionRequest;
use crate::cluster::Cluster;
use crate::parse::{from_slice, from_str};
use crate::response::{BAD_REQUEST, SettingsValidationResponse, ValidationResponse, Verdict};

/// A policy's settings: read from JSON (absent or `null` means [`Default`]), then checked as a whole.
pub trait PolicySettings: DeserializeOwned + Default {
    /// Checks what serde cannot; the message names the offending key. Settings serde checks fully
    /// keep this default.
    fn validate(&self) -> Result<(), String> {
        Ok(())
    }
}

/// A scaleguard policy: a pure function of the request, its settings and cluster look-ups.
pub trait Policy {
    /// The policy's settings.
    type Settings: PolicySettings;

    /// Decides on `request`.
    fn evaluate(
        request: &AdmissionRequest,
        settings: &Self::Settings,
        cluster: &dyn Cluster,
    ) -> Verdict;
}

/// The `validate` payload: `{"request": <AdmissionRequest>, "settings": <settings>}`, the settings as
/// their JSON text (absent and `null`: `None`).
#[derive(Deserialize)]
struct ValidationPayload {
    request: AdmissionRequest,
    #[serde(default)]
    settings: Option<Box<RawValue>>,
}

/// Answers a `validate` payload: a malformed payload or invalid settings are refused with code 400 and the
/// path of the bad field; otherwise the policy decides.
pub fn validate<P: Policy>(payload: &[u8], cluster: &dyn Cluster) -> ValidationResponse {
    let payload: ValidationPayload = match from_slice(payload) {
        Ok(payload) => payload,
        Err(error) => {
            return Verdict::reject(BAD_REQUEST, format!("invalid validation request: {error}"))
                .into();
        }
    };
    let settings =
        match parse_settings_json::<P::Settings>(payload.settings.as_deref().map(RawValue::get)) {
            Ok(settings) => settings,
            Err(message) => return Verdict::reject(BAD_REQUEST, message).into(),
        };
    P::evaluate(&payload.request, &settings, cluster).into()
}

/// Answers a `validate_settings` payload (the raw settings JSON; empty means no settings).
pub fn validate_settings<P: Policy>(payload: &[u8]) -> SettingsValidationResponse {
    let text = if payload.iter().all(u8::is_ascii_whitespace) {
        Ok(None)
    } else {
        from_slice::<Box<RawValue>>(payload).map(Some)
    };
    let result = text
        .map_err(|error| format!("invalid settings: {error}"))
        .and_then(|text| parse_settings_json::<P::Settings>(text.as_deref().map(RawValue::get)));
    match result {
        Ok(_) => SettingsValidationResponse {
            valid: true,
            message: None,
        },
        Err(message) => SettingsValidationResponse {
            valid: false,
            message: Some(message),
        },
    }
}

/// Reads and checks settings; the error is the message users see.
pub fn parse_settings<S: PolicySettings>(value: &Value) -> Result<S, String> {
    parse_settings_json(Some(&value.to_string()))
}

/// [`parse_settings`] of settings' JSON text, well-formed (`None`: absent), read straight from the text.
fn parse_settings_json<S: PolicySettings>(text: Option<&str>) -> Result<S, String> {
    let text = text.unwrap_or("null");
    let settings: S = match text.trim_start().as_bytes().first() {
        Some(b'{') => from_str(text).map_err(|error| format!("invalid settings: {error}"))?,
        Some(b'n') | None => S::default(),
        Some(other) => {
            let kind = match other {
                b'"' => "a string",
                b'[' => "an array",
                b't' | b'f' => "a boolean",
                _ => "a number",
            };
            return Err(format!("invalid settings: expected an object, got {kind}"));
        }
    };
    settings
        .validate()
        .map_err(|message| format!("invalid settings: {message}"))?;
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::EmptyCluster;
    use serde_json::json;

    #[derive(Debug, Default, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    struct Limit {
        #[serde(default)]
        max_replicas: u32,
    }

    impl PolicySettings for Limit {
        fn validate(&self) -> Result<(), String> {
            if self.max_replicas > 10 {
                return Err("maxReplicas must be at most 10".into());
            }
            Ok(())
        }
    }

    struct EchoOperation;

    impl Policy for EchoOperation {
        type Settings = Limit;
        fn evaluate(request: &AdmissionRequest, settings: &Limit, _: &dyn Cluster) -> Verdict {
            Verdict::accept_with_warnings(vec![format!(
                "{} {}",
                request.operation, settings.max_replicas
            )])
        }
    }

    fn validate_json(payload: &Value) -> Value {
        let bytes = serde_json::to_vec(payload).unwrap();
        serde_json::to_value(validate::<EchoOperation>(&bytes, &EmptyCluster)).unwrap()
    }

    fn settings_json(payload: &str) -> Value {
        serde_json::to_value(validate_settings::<EchoOperation>(payload.as_bytes())).unwrap()
    }

    #[test]
    fn runs_the_policy_with_its_settings() {
        let answer = validate_json(
            &json!({"request": {"operation": "UPDATE"}, "settings": {"maxReplicas": 3}}),
        );
        assert_eq!(answer, json!({"accepted": true, "warnings": ["UPDATE 3"]}));
        let answer = validate_json(&json!({"request": {"operation": "CREATE"}}));
        assert_eq!(answer, json!({"accepted": true, "warnings": ["CREATE 0"]}));
    }

    #[test]
    fn malformed_payloads_are_refused_with_the_path() {
        let answer = validate_json(&json!({"request": {"userInfo": {"groups": "admins"}}}));
        assert_eq!(
            answer,
            json!({"accepted": false, "code": 400, "message":
                "invalid validation request: request.userInfo.groups: invalid type: string \"admins\", expected a sequence at line 1 column 41"})
        );
        let bytes = b"{\"request\": ";
        let answer = serde_json::to_value(validate::<EchoOperation>(bytes, &EmptyCluster)).unwrap();
        assert_eq!(answer["code"], 400);
        assert!(
            answer["message"]
                .as_str()
                .unwrap()
                .starts_with("invalid validation request: ")
        );
    }

    #[test]
    fn invalid_settings_are_refused_at_validation_time_too() {
        let answer = validate_json(&json!({"request": {}, "settings": {"maxReplicas": 11}}));
        assert_eq!(
            answer,
            json!({"accepted": false, "code": 400, "message": "invalid settings: maxReplicas must be at most 10"})
        );
    }

    #[test]
    fn settings_validation_names_the_problem() {
        assert_eq!(settings_json("{}"), json!({"valid": true}));
        assert_eq!(settings_json(""), json!({"valid": true}));
        assert_eq!(settings_json("null"), json!({"valid": true}));
        assert_eq!(
            settings_json(r#"{"maxReplica": 1}"#),
            json!({"valid": false, "message": "invalid settings: maxReplica: unknown field `maxReplica`, expected `maxReplicas`"})
        );
        assert_eq!(
            settings_json(r#"{"maxReplicas": -1}"#),
            json!({"valid": false, "message": "invalid settings: maxReplicas: invalid value: integer `-1`, expected u32"})
        );
        assert_eq!(
            settings_json("[1]"),
            json!({"valid": false, "message": "invalid settings: expected an object, got an array"})
        );
        assert_eq!(
            settings_json(r#"{"maxReplicas": 20}"#),
            json!({"valid": false, "message": "invalid settings: maxReplicas must be at most 10"})
        );
        assert_eq!(settings_json("{")["valid"], false);
    }
}
