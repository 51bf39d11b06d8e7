//! Who is asking: Kubernetes service-account usernames and the settings that authorize principals.

use serde::{Deserialize, Serialize};

use crate::admission::UserInfo;

/// The username prefix of service accounts.
pub const SERVICE_ACCOUNT_PREFIX: &str = "system:serviceaccount:";

/// The `(namespace, name)` of a service-account username: exactly
/// `system:serviceaccount:<namespace>:<name>`, four colon-separated parts, none empty.
pub fn service_account_of(username: &str) -> Option<(&str, &str)> {
    let mut parts = username.split(':');
    match (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) {
        (Some("system"), Some("serviceaccount"), Some(namespace), Some(name), None)
            if !namespace.is_empty() && !name.is_empty() =>
        {
            Some((namespace, name))
        }
        _ => None,
    }
}

/// A service account authorized by a policy's settings: `{namespace?, name}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceAccountRef {
    /// An exact namespace, `"*"` for any namespace, or absent for the namespace of the object under review.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The service account's exact name.
    pub name: String,
}

/// Namespace value meaning "any namespace".
pub const ANY_NAMESPACE: &str = "*";

impl ServiceAccountRef {
    /// A reference to `name` in the object's own namespace.
    pub fn own_namespace(name: &str) -> Self {
        Self {
            namespace: None,
            name: name.to_owned(),
        }
    }

    /// A reference to `name` in `namespace` (`"*"` for any).
    pub fn in_namespace(namespace: &str, name: &str) -> Self {
        Self {
            namespace: Some(namespace.to_owned()),
            name: name.to_owned(),
        }
    }

    /// Whether `username` is this service account, for an object in `object_namespace`.
    pub fn matches(&self, username: &str, object_namespace: &str) -> bool {
        let Some((namespace, name)) = service_account_of(username) else {
            return false;
        };
        name == self.name
            && match self.namespace.as_deref() {
                None => namespace == object_namespace,
                Some(ANY_NAMESPACE) => true,
                Some(exact) => namespace == exact,
            }
    }

    /// Checks the entry's shape; `path` names it in the message (`authorizedServiceAccounts[0]`).
    pub fn validate(&self, path: &str) -> Result<(), String> {
        if self.name.is_empty() {
            return Err(format!("{path}.name must not be empty"));
        }
        if self.name == ANY_NAMESPACE {
            return Err(format!(
                "{path}.name must name one service account; '*' is only allowed as a namespace"
            ));
        }
        if self.name.contains(':') {
            return Err(format!(
                "{path}.name must be a service account name, not a username: '{}'",
                self.name
            ));
        }
        if self.namespace.as_deref() == Some("") {
            return Err(format!(
                "{path}.namespace must not be empty: omit it for the object's own namespace, or use '*' for any"
            ));
        }
        Ok(())
    }
}

/// KEDA's operator as Kubewarden sees it in a default install: `keda/keda-operator`, the only principal
/// whose HPAs count as KEDA's (setting `kedaOperatorServiceAccounts`).
pub fn default_keda_operators() -> Vec<ServiceAccountRef> {
    vec![ServiceAccountRef::in_namespace("keda", "keda-operator")]
}

/// Checks a list of service accounts given under settings key `key`.
pub fn validate_service_accounts(accounts: &[ServiceAccountRef], key: &str) -> Result<(), String> {
    accounts
        .iter()
        .enumerate()
        .try_for_each(|(index, account)| account.validate(&format!("{key}[{index}]")))
}

/// The principals a policy authorizes: service accounts, exact usernames, exact groups.
#[derive(Debug, Clone, Copy)]
pub struct AuthorizedPrincipals<'a> {
    /// Authorized service accounts.
    pub service_accounts: &'a [ServiceAccountRef],
    /// Authorized usernames.
    pub users: &'a [String],
    /// Authorized groups.
    pub groups: &'a [String],
}

impl AuthorizedPrincipals<'_> {
    /// Whether `user` may act on an object in `object_namespace`. A user with an empty username is
    /// never authorized (fail closed), whatever its groups.
    pub fn authorize(&self, user: &UserInfo, object_namespace: &str) -> bool {
        if user.username.is_empty() {
            return false;
        }
        self.users.contains(&user.username)
            || user.groups.iter().any(|group| self.groups.contains(group))
            || self
                .service_accounts
                .iter()
                .any(|sa| sa.matches(&user.username, object_namespace))
    }

    /// Checks every entry; the message names the settings key and index of the first bad one.
    pub fn validate(&self, keys: [&str; 3]) -> Result<(), String> {
        let [service_accounts_key, users_key, groups_key] = keys;
        validate_service_accounts(self.service_accounts, service_accounts_key)?;
        for (key, values) in [(users_key, self.users), (groups_key, self.groups)] {
            if let Some(index) = values.iter().position(String::is_empty) {
                return Err(format!("{key}[{index}] must not be empty"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_account_usernames_have_exactly_four_parts() {
        assert_eq!(
            service_account_of("system:serviceaccount:ns:planner-serviceaccount"),
            Some(("ns", "planner-serviceaccount"))
        );
        assert_eq!(service_account_of("system:serviceaccount:ns:a:b"), None);
        assert_eq!(service_account_of("system:serviceaccount:ns"), None);
        assert_eq!(service_account_of("system:serviceaccount::name"), None);
        assert_eq!(service_account_of("alice"), None);
        assert_eq!(service_account_of("system:node:ns:name"), None);
    }

    #[test]
    fn namespace_scopes() {
        let user = "system:serviceaccount:team-a:planner-serviceaccount";
        assert!(ServiceAccountRef::own_namespace("planner-serviceaccount").matches(user, "team-a"));
        assert!(
            !ServiceAccountRef::own_namespace("planner-serviceaccount").matches(user, "team-b")
        );
        assert!(
            ServiceAccountRef::in_namespace("*", "planner-serviceaccount").matches(user, "team-b")
        );
        assert!(
            ServiceAccountRef::in_namespace("team-a", "planner-serviceaccount").matches(user, "x")
        );
        assert!(
            !ServiceAccountRef::in_namespace("team-c", "planner-serviceaccount").matches(user, "x")
        );
        assert!(!ServiceAccountRef::in_namespace("*", "other").matches(user, "team-a"));
    }

    #[test]
    fn validation_names_the_entry() {
        let bad = [
            (
                ServiceAccountRef::own_namespace(""),
                "sa[0].name must not be empty",
            ),
            (
                ServiceAccountRef::own_namespace("*"),
                "sa[0].name must name one service account; '*' is only allowed as a namespace",
            ),
            (
                ServiceAccountRef::in_namespace("", "x"),
                "sa[0].namespace must not be empty: omit it for the object's own namespace, or use '*' for any",
            ),
        ];
        for (entry, message) in bad {
            assert_eq!(entry.validate("sa[0]").unwrap_err(), message);
        }
        let users = vec!["alice".to_owned(), String::new()];
        let principals = AuthorizedPrincipals {
            service_accounts: &[],
            users: &users,
            groups: &[],
        };
        assert_eq!(
            principals.validate(["sa", "users", "groups"]).unwrap_err(),
            "users[1] must not be empty"
        );
    }

    #[test]
    fn empty_usernames_are_never_authorized() {
        let groups = vec!["admins".to_owned()];
        let principals = AuthorizedPrincipals {
            service_accounts: &[],
            users: &[],
            groups: &groups,
        };
        let anonymous = UserInfo {
            groups: groups.clone(),
            ..UserInfo::default()
        };
        assert!(!principals.authorize(&anonymous, "ns"));
        let admin = UserInfo {
            username: "bob".into(),
            groups: vec!["admins".to_owned()],
            ..UserInfo::default()
        };
        assert!(principals.authorize(&admin, "ns"));
    }
}
