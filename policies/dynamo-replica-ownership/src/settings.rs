//! Settings of `dynamo-replica-ownership`.

use scaleguard_sdk::PolicySettings;
use scaleguard_sdk::principal::{AuthorizedPrincipals, ServiceAccountRef};
use serde::{Deserialize, Serialize};

/// Who may write the replicas of adapter-owned services.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Settings {
    /// Authorized service accounts; a list given here replaces the default.
    pub authorized_service_accounts: Vec<ServiceAccountRef>,
    /// Authorized usernames (exact).
    pub authorized_users: Vec<String>,
    /// Authorized groups (exact; matched against `userInfo.groups`).
    pub authorized_groups: Vec<String>,
}

/// The Planner's service account name.
pub const PLANNER_SERVICE_ACCOUNT: &str = "planner-serviceaccount";
/// scaleguard's companion controller: namespace and service account.
pub const CONTROLLER_NAMESPACE: &str = "scaleguard-system";
/// scaleguard's companion controller service account.
pub const CONTROLLER_SERVICE_ACCOUNT: &str = "scaleguard-controller";

impl Default for Settings {
    /// The Planner in the DGD's own namespace, and scaleguard's controller.
    fn default() -> Self {
        Self {
            authorized_service_accounts: vec![
                ServiceAccountRef::own_namespace(PLANNER_SERVICE_ACCOUNT),
                ServiceAccountRef::in_namespace(CONTROLLER_NAMESPACE, CONTROLLER_SERVICE_ACCOUNT),
            ],
            authorized_users: Vec::new(),
            authorized_groups: Vec::new(),
        }
    }
}

impl Settings {
    /// The principals these settings authorize.
    pub fn principals(&self) -> AuthorizedPrincipals<'_> {
        AuthorizedPrincipals {
            service_accounts: &self.authorized_service_accounts,
            users: &self.authorized_users,
            groups: &self.authorized_groups,
        }
    }
}

impl PolicySettings for Settings {
    fn validate(&self) -> Result<(), String> {
        self.principals().validate([
            "authorizedServiceAccounts",
            "authorizedUsers",
            "authorizedGroups",
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scaleguard_sdk::policy::parse_settings;
    use serde_json::json;

    #[test]
    fn defaults_authorize_the_planner_in_its_namespace_and_the_controller() {
        let settings: Settings = parse_settings(&json!({})).unwrap();
        assert_eq!(
            settings.authorized_service_accounts,
            [
                ServiceAccountRef::own_namespace("planner-serviceaccount"),
                ServiceAccountRef::in_namespace("scaleguard-system", "scaleguard-controller"),
            ]
        );
    }

    #[test]
    fn a_given_list_replaces_the_default() {
        let settings: Settings = parse_settings(&json!({
            "authorizedServiceAccounts": [{"namespace": "dynamo-system", "name": "dynamo-operator"}]
        }))
        .unwrap();
        assert_eq!(
            settings.authorized_service_accounts,
            [ServiceAccountRef::in_namespace(
                "dynamo-system",
                "dynamo-operator"
            )]
        );
    }
}
