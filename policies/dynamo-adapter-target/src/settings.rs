//! Settings of `dynamo-adapter-target`.

use scaleguard_sdk::PolicySettings;
use scaleguard_sdk::principal::{
    ServiceAccountRef, default_keda_operators, validate_service_accounts,
};
use serde::{Deserialize, Serialize};

/// What to do about an autoscaler whose adapter does not exist and that nothing in the namespace would
/// create.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MissingTarget {
    /// Accept with a warning: GitOps tools may apply the autoscaler before the DGD.
    #[default]
    Warn,
    /// Refuse.
    Deny,
}

/// Settings of the policy.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Settings {
    /// What to do about a target adapter that does not exist and that no DGD component (v1alpha1: service)
    /// or component group would create, even when its name is a few edits from another (a name with
    /// capitals, which never exists, is refused whatever this says).
    #[serde(deserialize_with = "scaleguard_sdk::parse::variant_name")]
    pub missing_target: MissingTarget,
    /// Whether a `dynamo_*`/`kvstats_*` metric whose selector does not pin `dynamo_namespace` to the
    /// deployment's value (no filter, or `!=`, `!~`, `Exists`, `NotIn`, an open regex) is refused (else
    /// it is a warning).
    pub require_namespace_filter: bool,
    /// KEDA's operator: only the HPAs it writes, for a ScaledObject that made them, are judged on
    /// their ScaledObject instead of as plain HPAs.
    pub keda_operator_service_accounts: Vec<ServiceAccountRef>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            missing_target: MissingTarget::Warn,
            require_namespace_filter: false,
            keda_operator_service_accounts: default_keda_operators(),
        }
    }
}

impl PolicySettings for Settings {
    fn validate(&self) -> Result<(), String> {
        validate_service_accounts(
            &self.keda_operator_service_accounts,
            "kedaOperatorServiceAccounts",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scaleguard_sdk::policy::parse_settings;
    use serde_json::json;

    #[test]
    fn defaults_warn_about_missing_targets_and_unfiltered_metrics() {
        for absent in [json!(null), json!({})] {
            let settings: Settings = parse_settings(&absent).unwrap();
            assert_eq!(
                settings,
                Settings {
                    missing_target: MissingTarget::Warn,
                    require_namespace_filter: false,
                    keda_operator_service_accounts: default_keda_operators(),
                },
                "{absent}"
            );
        }
        let settings: Settings =
            parse_settings(&json!({"missingTarget": "deny", "requireNamespaceFilter": true}))
                .unwrap();
        assert_eq!(
            settings,
            Settings {
                missing_target: MissingTarget::Deny,
                require_namespace_filter: true,
                keda_operator_service_accounts: default_keda_operators(),
            }
        );
    }
}
