//! The rule: on a DGD UPDATE, the effective replicas of every service that has its scaling adapter
//! enabled in the new object (and exists in the old one) may only change by an authorized writer.

use scaleguard_sdk::dgd::{self, DynamoGraphDeployment, adapter_name};
use scaleguard_sdk::response::{BAD_REQUEST, FORBIDDEN};
use scaleguard_sdk::{AdmissionRequest, Cluster, FieldError, Operation, Policy, Verdict};

use crate::settings::Settings;

/// The `dynamo-replica-ownership` policy.
#[derive(Debug, Clone, Copy)]
pub struct ReplicaOwnership;

impl Policy for ReplicaOwnership {
    type Settings = Settings;

    fn evaluate(
        request: &AdmissionRequest,
        settings: &Settings,
        _cluster: &dyn Cluster,
    ) -> Verdict {
        if request.operation != Operation::Update || !request.is_kind(dgd::GROUP, dgd::KIND) {
            return Verdict::accept();
        }
        let (new, old) = match parse_objects(request) {
            Ok(objects) => objects,
            Err(error) => {
                return Verdict::reject(BAD_REQUEST, format!("invalid {}: {error}", dgd::KIND));
            }
        };
        if new.metadata.is_being_deleted() {
            return Verdict::accept();
        }
        let changes = replica_changes(&new, &old);
        if changes.is_empty() {
            return Verdict::accept();
        }
        let namespace = new.namespace_or(&request.namespace);
        let authorized = request
            .user_info
            .as_ref()
            .is_some_and(|user| settings.principals().authorize(user, namespace));
        if authorized {
            return Verdict::accept();
        }
        let dgd_name = if new.metadata.name.is_empty() {
            &request.name
        } else {
            &new.metadata.name
        };
        let message = changes
            .iter()
            .map(|change| change.denial(dgd_name))
            .collect::<Vec<_>>()
            .join(". ");
        Verdict::reject(FORBIDDEN, message)
    }
}

fn parse_objects(
    request: &AdmissionRequest,
) -> Result<(DynamoGraphDeployment, DynamoGraphDeployment), FieldError> {
    let new = request.object_as()?;
    let old = request.old_object_as()?;
    Ok((new, old))
}

/// A change of an adapter-owned service's effective replicas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaChange<'a> {
    /// The service's name (original case).
    pub service: &'a str,
    /// The effective replicas requested.
    pub replicas: i32,
}

impl ReplicaChange<'_> {
    /// The guide's denial sentence for this change.
    fn denial(&self, dgd_name: &str) -> String {
        format!(
            "spec.services[{service}].replicas cannot be modified directly when scaling adapter is enabled; \
             use 'kubectl scale dgdsa/{adapter} --replicas={replicas}' or update the \
             DynamoGraphDeploymentScalingAdapter instead",
            service = self.service,
            adapter = adapter_name(dgd_name, self.service),
            replicas = self.replicas,
        )
    }
}

/// The replica changes of services that have the adapter enabled in `new` and exist in `old`, in
/// service-name order. Absent replicas count as 1, so absent -> 1 is no change.
pub fn replica_changes<'a>(
    new: &'a DynamoGraphDeployment,
    old: &DynamoGraphDeployment,
) -> Vec<ReplicaChange<'a>> {
    new.spec
        .services
        .iter()
        .filter(|(_, service)| service.adapter_enabled())
        .filter_map(|(name, service)| {
            let before = old.spec.services.get(name)?;
            (service.effective_replicas() != before.effective_replicas()).then_some(ReplicaChange {
                service: name,
                replicas: service.effective_replicas(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use scaleguard_sdk::parse::from_value;
    use serde_json::{Value, json};

    fn dgd(services: Value) -> DynamoGraphDeployment {
        from_value(&json!({"metadata": {"name": "sglang-agg"}, "spec": {"services": services}}))
            .unwrap()
    }

    #[test]
    fn only_enabled_services_present_before_count() {
        let old = dgd(json!({"a": {"replicas": 1}, "b": {"replicas": 1}}));
        let new = dgd(json!({
            "a": {"replicas": 2, "scalingAdapter": {"enabled": true}},
            "b": {"replicas": 2},
            "c": {"replicas": 2, "scalingAdapter": {"enabled": true}}
        }));
        assert_eq!(
            replica_changes(&new, &old),
            [ReplicaChange {
                service: "a",
                replicas: 2
            }]
        );
    }

    #[test]
    fn absent_and_one_are_the_same() {
        let old = dgd(json!({"a": {"scalingAdapter": {"enabled": true}}}));
        let new = dgd(json!({"a": {"replicas": 1, "scalingAdapter": {"enabled": true}}}));
        assert!(replica_changes(&new, &old).is_empty());
        let new = dgd(json!({"a": {"replicas": 0, "scalingAdapter": {"enabled": true}}}));
        assert_eq!(
            replica_changes(&new, &old),
            [ReplicaChange {
                service: "a",
                replicas: 0
            }]
        );
    }

    #[test]
    fn denial_uses_the_adapter_name_and_requested_replicas() {
        let change = ReplicaChange {
            service: "decode",
            replicas: 3,
        };
        assert_eq!(
            change.denial("sglang-agg"),
            "spec.services[decode].replicas cannot be modified directly when scaling adapter is enabled; use 'kubectl scale dgdsa/sglang-agg-decode --replicas=3' or update the DynamoGraphDeploymentScalingAdapter instead"
        );
    }
}
