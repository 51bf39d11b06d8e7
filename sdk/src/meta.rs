//! The slice of `metadata` the rules read.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::parse::null_as_default;

/// Object metadata: only the fields scaleguard reads; everything else is ignored.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ObjectMeta {
    /// `metadata.name`.
    #[serde(
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub name: String,
    /// `metadata.namespace`; empty when the object does not say.
    #[serde(
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub namespace: String,
    /// `metadata.annotations`.
    #[serde(
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub annotations: BTreeMap<String, String>,
    /// `metadata.deletionTimestamp`: set once the object is being deleted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deletion_timestamp: Option<String>,
    /// `metadata.ownerReferences`.
    #[serde(
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub owner_references: Vec<OwnerReference>,
}

impl ObjectMeta {
    /// Whether the object is being deleted (its finalizers are being removed).
    pub fn is_being_deleted(&self) -> bool {
        self.deletion_timestamp.is_some()
    }

    /// Whether an owner of kind `kind` in API group `group` (any version) owns this object.
    pub fn is_owned_by(&self, group: &str, kind: &str) -> Option<&OwnerReference> {
        self.owner_references
            .iter()
            .find(|owner| owner.kind == kind && api_group(&owner.api_version) == group)
    }
}

/// One entry of `metadata.ownerReferences`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OwnerReference {
    /// The owner's `apiVersion`.
    #[serde(deserialize_with = "null_as_default")]
    pub api_version: String,
    /// The owner's kind.
    #[serde(deserialize_with = "null_as_default")]
    pub kind: String,
    /// The owner's name.
    #[serde(deserialize_with = "null_as_default")]
    pub name: String,
    /// Whether the owner is the managing controller.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub controller: Option<bool>,
}

/// The group of an `apiVersion` (`nvidia.com/v1alpha1` -> `nvidia.com`, `v1` -> ``).
pub fn api_group(api_version: &str) -> &str {
    api_version
        .rsplit_once('/')
        .map_or("", |(group, _version)| group)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_group_of_core_and_named_groups() {
        assert_eq!(api_group("v1"), "");
        assert_eq!(api_group("nvidia.com/v1alpha1"), "nvidia.com");
        assert_eq!(api_group("autoscaling/v2"), "autoscaling");
    }

    #[test]
    fn ownership_matches_group_and_kind_in_any_version() {
        let meta: ObjectMeta = serde_json::from_value(serde_json::json!({
            "ownerReferences": [{"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "name": "s"}]
        }))
        .unwrap();
        assert_eq!(
            meta.is_owned_by("keda.sh", "ScaledObject").unwrap().name,
            "s"
        );
        assert!(meta.is_owned_by("keda.sh", "ScaledJob").is_none());
        assert!(meta.is_owned_by("apps", "ScaledObject").is_none());
    }
}
