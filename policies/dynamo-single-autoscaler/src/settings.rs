//! Settings of `dynamo-single-autoscaler`.

use scaleguard_sdk::PolicySettings;
use scaleguard_sdk::principal::{
    ServiceAccountRef, default_keda_operators, validate_service_accounts,
};
use serde::{Deserialize, Serialize};

/// Settings of the policy.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Settings {
    /// Whether the Dynamo Planner counts as an autoscaler of the components (v1alpha1: services) and
    /// component groups it scales.
    pub planner_conflicts: bool,
    /// KEDA's operator: only the HPAs it writes, for a ScaledObject that made them, count as that
    /// ScaledObject instead of as a second autoscaler.
    pub keda_operator_service_accounts: Vec<ServiceAccountRef>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            planner_conflicts: true,
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
    fn the_planner_counts_by_default() {
        for absent in [json!(null), json!({})] {
            let settings: Settings = parse_settings(&absent).unwrap();
            assert!(settings.planner_conflicts, "{absent}");
        }
        let settings: Settings = parse_settings(&json!({"plannerConflicts": false})).unwrap();
        assert!(!settings.planner_conflicts);
    }
}
