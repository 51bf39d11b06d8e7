//! The policies linked in as Rust functions (feature `linked-policies`): each policy crate's pure
//! decision function, run natively with the entry logic its module runs (`scaleguard_sdk::policy`), its
//! rules and `contextAwareResources` read from its `metadata.yml`. The browser playground runs these;
//! the tests prove them identical to the modules, case by case.

use std::collections::BTreeSet;
use std::sync::Arc;

use scaleguard_in_memory_cluster::{ClusterView, InMemoryCluster};
use scaleguard_metadata::PolicyMetadata;
use scaleguard_sdk::policy::{validate, validate_settings};
use scaleguard_sdk::{Cluster, ResourceKind, SettingsValidationResponse, ValidationResponse};
use serde_json::Value;

use crate::engine::{Evaluator, RunnablePolicy};
use scaleguard_sdk::AdmissionRequest;

/// `validate` of a policy: a payload and the cluster its look-ups see.
type ValidateFn = fn(&[u8], &dyn Cluster) -> ValidationResponse;
/// `validate_settings` of a policy: the raw settings JSON.
type ValidateSettingsFn = fn(&[u8]) -> SettingsValidationResponse;

/// One policy's name, `metadata.yml` and entry functions.
struct Entry {
    name: &'static str,
    metadata_yml: &'static str,
    validate: ValidateFn,
    validate_settings: ValidateSettingsFn,
}

macro_rules! entry {
    ($name:literal, $policy:ty) => {
        Entry {
            name: $name,
            metadata_yml: include_str!(concat!("../../policies/", $name, "/metadata.yml")),
            validate: validate::<$policy>,
            validate_settings: validate_settings::<$policy>,
        }
    };
}

/// Every policy of the workspace, by name.
const ENTRIES: [Entry; 5] = [
    entry!(
        "dynamo-adapter-target",
        dynamo_adapter_target::AdapterTarget
    ),
    entry!(
        "dynamo-autoscaler-bounds",
        dynamo_autoscaler_bounds::AutoscalerBounds
    ),
    entry!(
        "dynamo-deprecated-autoscaling",
        dynamo_deprecated_autoscaling::DeprecatedAutoscaling
    ),
    entry!(
        "dynamo-replica-ownership",
        dynamo_replica_ownership::ReplicaOwnership
    ),
    entry!(
        "dynamo-single-autoscaler",
        dynamo_single_autoscaler::SingleAutoscaler
    ),
];

/// A policy's decision function with its metadata.
#[derive(Debug, Clone)]
pub struct LinkedPolicy {
    name: &'static str,
    metadata: PolicyMetadata,
    granted: BTreeSet<ResourceKind>,
    validate: ValidateFn,
    validate_settings: ValidateSettingsFn,
}

impl LinkedPolicy {
    /// Every linked policy, sorted by name. A `metadata.yml` that does not parse is an error naming it
    /// (the build embeds them, and a test reads them all).
    pub fn all() -> Result<Vec<Self>, String> {
        ENTRIES.iter().map(Self::from_entry).collect()
    }

    /// The policy called `name`, if linked.
    pub fn named(name: &str) -> Option<Result<Self, String>> {
        ENTRIES
            .iter()
            .find(|entry| entry.name == name)
            .map(Self::from_entry)
    }

    fn from_entry(entry: &Entry) -> Result<Self, String> {
        let origin = format!("policies/{}/metadata.yml", entry.name);
        let metadata = PolicyMetadata::from_yaml(entry.metadata_yml, &origin)
            .map_err(|error| error.to_string())?;
        Ok(Self {
            name: entry.name,
            granted: metadata.granted(),
            metadata,
            validate: entry.validate,
            validate_settings: entry.validate_settings,
        })
    }

    /// The policy's metadata (`metadata.yml`).
    pub fn metadata(&self) -> &PolicyMetadata {
        &self.metadata
    }

    /// Answers a `validate` payload with `cluster` as the cluster, exactly as the module would.
    pub fn validate_payload(&self, payload: &[u8], cluster: &dyn Cluster) -> ValidationResponse {
        (self.validate)(payload, cluster)
    }

    /// Answers `validate_settings` for the raw settings JSON, exactly as the module would.
    pub fn validate_settings_payload(&self, payload: &[u8]) -> SettingsValidationResponse {
        (self.validate_settings)(payload)
    }

    /// `objects` as the policy sees them: only the kinds of its `contextAwareResources`.
    pub fn cluster_view(&self, cluster: Arc<InMemoryCluster>) -> ClusterView {
        ClusterView::new(cluster, self.granted.clone())
    }
}

impl RunnablePolicy for LinkedPolicy {
    fn name(&self) -> &str {
        self.name
    }

    fn selects(&self, request: &AdmissionRequest) -> bool {
        self.metadata.selects(request)
    }

    fn granted(&self) -> &BTreeSet<ResourceKind> {
        &self.granted
    }

    fn evaluator(&self) -> Result<Box<dyn Evaluator + '_>, String> {
        Ok(Box::new(LinkedEvaluator(self)))
    }
}

/// Evaluates with a [`LinkedPolicy`]; it keeps no state.
struct LinkedEvaluator<'p>(&'p LinkedPolicy);

impl Evaluator for LinkedEvaluator<'_> {
    fn validate(&mut self, payload: &[u8], cluster: ClusterView) -> ValidationResponse {
        self.0.validate_payload(payload, &cluster)
    }

    fn validate_settings(&mut self, settings: &Value) -> SettingsValidationResponse {
        match serde_json::to_vec(settings) {
            Ok(bytes) => self.0.validate_settings_payload(&bytes),
            Err(error) => SettingsValidationResponse {
                valid: false,
                message: Some(error.to_string()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_policy_is_linked_with_its_metadata() {
        let policies = LinkedPolicy::all().unwrap();
        let names: Vec<&str> = policies.iter().map(|p| p.name()).collect();
        assert_eq!(
            names,
            [
                "dynamo-adapter-target",
                "dynamo-autoscaler-bounds",
                "dynamo-deprecated-autoscaling",
                "dynamo-replica-ownership",
                "dynamo-single-autoscaler",
            ]
        );
        for policy in &policies {
            assert_eq!(policy.metadata().title(), Some(policy.name()));
        }
        let ownership = LinkedPolicy::named("dynamo-replica-ownership")
            .unwrap()
            .unwrap();
        let dgd = |operation| {
            let object = serde_json::json!({"apiVersion": "nvidia.com/v1alpha1",
                "kind": "DynamoGraphDeployment", "metadata": {"name": "d", "namespace": "n"}});
            AdmissionRequest::for_object("1", operation, object.clone(), object, None)
        };
        assert!(ownership.selects(&dgd(scaleguard_sdk::Operation::Update)));
        assert!(
            !ownership.selects(&dgd(scaleguard_sdk::Operation::Create)),
            "its metadata.yml selects UPDATEs only"
        );
        assert!(LinkedPolicy::named("no-such-policy").is_none());
    }
}
