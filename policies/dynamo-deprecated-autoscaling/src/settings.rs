//! Settings of `dynamo-deprecated-autoscaling`.

use scaleguard_sdk::PolicySettings;
use serde::{Deserialize, Serialize};

/// What to do about deprecated fields.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Accept, with a warning per deprecated field.
    #[default]
    Warn,
    /// Refuse (code 400), naming every deprecated field.
    Deny,
    /// Accept with the deprecated fields removed (mutating), plus the warnings.
    Remove,
}

/// Settings of the policy.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Settings {
    /// What to do about deprecated fields.
    #[serde(deserialize_with = "scaleguard_sdk::parse::variant_name")]
    pub mode: Mode,
    /// Whether `dynamoNamespace` counts too.
    pub check_dynamo_namespace: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            mode: Mode::Warn,
            check_dynamo_namespace: true,
        }
    }
}

impl PolicySettings for Settings {}

#[cfg(test)]
mod tests {
    use super::*;
    use scaleguard_sdk::policy::parse_settings;
    use serde_json::json;

    #[test]
    fn defaults_warn_and_check_dynamo_namespace() {
        let settings: Settings = parse_settings(&json!(null)).unwrap();
        assert_eq!(
            settings,
            Settings {
                mode: Mode::Warn,
                check_dynamo_namespace: true
            }
        );
        let settings: Settings =
            parse_settings(&json!({"mode": "remove", "checkDynamoNamespace": false})).unwrap();
        assert_eq!(
            settings,
            Settings {
                mode: Mode::Remove,
                check_dynamo_namespace: false
            }
        );
    }
}
