//! Settings of `dynamo-autoscaler-bounds`.

use scaleguard_sdk::PolicySettings;
use scaleguard_sdk::principal::{
    ServiceAccountRef, default_keda_operators, validate_service_accounts,
};
use serde::{Deserialize, Serialize};

/// The default of [`Settings::min_scale_down_stabilization_seconds`]: one minute, as in the guide's
/// TTFT example.
pub const DEFAULT_MIN_SCALE_DOWN_STABILIZATION_SECONDS: u32 = 60;
/// The longest stabilization window an HPA accepts (one hour).
pub const MAX_STABILIZATION_WINDOW_SECONDS: u32 = 3600;

/// Settings of the policy.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Settings {
    /// Whether autoscalers may scale an adapter to zero replicas.
    pub allow_scale_to_zero: bool,
    /// Whether a ScaledObject must set `maxReplicaCount` (KEDA's default is 100).
    pub require_explicit_max: bool,
    /// The highest maximum replicas an autoscaler may set.
    pub max_replicas_ceiling: Option<u32>,
    /// The most GPUs one adapter may reach: maximum replicas × GPUs per replica of its component
    /// (v1alpha1: service) or component group (the sum over its members).
    pub max_gpus_per_adapter: Option<u32>,
    /// Scale-down stabilization windows shorter than this get a warning.
    pub min_scale_down_stabilization_seconds: u32,
    /// KEDA's operator: only the HPAs it writes, for a ScaledObject that made them, are judged on
    /// their ScaledObject instead of as plain HPAs.
    pub keda_operator_service_accounts: Vec<ServiceAccountRef>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            allow_scale_to_zero: false,
            require_explicit_max: true,
            max_replicas_ceiling: None,
            max_gpus_per_adapter: None,
            min_scale_down_stabilization_seconds: DEFAULT_MIN_SCALE_DOWN_STABILIZATION_SECONDS,
            keda_operator_service_accounts: default_keda_operators(),
        }
    }
}

impl PolicySettings for Settings {
    fn validate(&self) -> Result<(), String> {
        validate_service_accounts(
            &self.keda_operator_service_accounts,
            "kedaOperatorServiceAccounts",
        )?;
        if self.max_replicas_ceiling == Some(0) {
            return Err(
                "maxReplicasCeiling must be at least 1: autoscalers need at least one replica"
                    .into(),
            );
        }
        if self.min_scale_down_stabilization_seconds > MAX_STABILIZATION_WINDOW_SECONDS {
            return Err(format!(
                "minScaleDownStabilizationSeconds must be at most {MAX_STABILIZATION_WINDOW_SECONDS}, the longest window an HPA accepts"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scaleguard_sdk::policy::parse_settings;
    use serde_json::json;

    #[test]
    fn defaults_forbid_scale_to_zero_and_require_an_explicit_max() {
        let settings: Settings = parse_settings(&json!(null)).unwrap();
        assert_eq!(
            settings,
            Settings {
                allow_scale_to_zero: false,
                require_explicit_max: true,
                max_replicas_ceiling: None,
                max_gpus_per_adapter: None,
                min_scale_down_stabilization_seconds: 60,
                keda_operator_service_accounts: vec![ServiceAccountRef::in_namespace(
                    "keda",
                    "keda-operator"
                )],
            }
        );
        let settings: Settings = parse_settings(&json!({
            "allowScaleToZero": true, "requireExplicitMax": false, "maxReplicasCeiling": 20,
            "maxGpusPerAdapter": 0, "minScaleDownStabilizationSeconds": 0,
            "kedaOperatorServiceAccounts": [{"namespace": "autoscaling", "name": "keda"}]
        }))
        .unwrap();
        assert_eq!(
            settings,
            Settings {
                allow_scale_to_zero: true,
                require_explicit_max: false,
                max_replicas_ceiling: Some(20),
                max_gpus_per_adapter: Some(0),
                min_scale_down_stabilization_seconds: 0,
                keda_operator_service_accounts: vec![ServiceAccountRef::in_namespace(
                    "autoscaling",
                    "keda"
                )],
            }
        );
    }
}
