//! The rule: on a DGD UPDATE (either version, or a mix of both), the effective replicas of every component
//! and component group whose scaling adapter is enabled in the new **or** the old object (and that exists
//! in both) may only change by an authorized writer. An adapter in either state protects the replicas, so
//! disabling the adapter and changing replicas in one edit is denied too.

use scaleguard_sdk::dgd::{self, DgdView, Unit, adapter_name};
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
        if request.updates_object_being_deleted(&new.metadata) {
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
        let dgd_name = if new.name().is_empty() {
            &request.name
        } else {
            new.name()
        };
        let message = changes
            .iter()
            .map(|change| change.denial(dgd_name))
            .collect::<Vec<_>>()
            .join(". ");
        Verdict::reject(FORBIDDEN, message)
    }
}

fn parse_objects(request: &AdmissionRequest) -> Result<(DgdView, DgdView), FieldError> {
    Ok((request.dgd_object()?, request.old_dgd_object()?))
}

/// A change of the effective replicas of an adapter-owned component or component group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaChange<'a> {
    /// Its JSON path in the new object (`spec.services[decode]`, `spec.components[decode]`,
    /// `spec.experimental.componentGroups[Engines]`).
    pub path: &'a str,
    /// Its name (original case), from which its adapter is named.
    pub name: &'a str,
    /// The effective replicas requested.
    pub replicas: i32,
}

impl ReplicaChange<'_> {
    /// The guide's denial sentence for this change.
    fn denial(&self, dgd_name: &str) -> String {
        format!(
            "{path}.replicas cannot be modified directly when scaling adapter is enabled; \
             use 'kubectl scale dgdsa/{adapter} --replicas={replicas}' or update the \
             DynamoGraphDeploymentScalingAdapter instead",
            path = self.path,
            adapter = adapter_name(dgd_name, self.name),
            replicas = self.replicas,
        )
    }
}

/// The replica changes of components and groups that exist in both objects and have their adapter
/// enabled in either, components first, each in name order. Absent replicas count as 1, so absent -> 1
/// is no change.
pub fn replica_changes<'a>(new: &'a DgdView, old: &DgdView) -> Vec<ReplicaChange<'a>> {
    let components = new.components.iter().filter_map(|component| {
        let before = old.component(&component.name)?;
        owned_change(Unit::Component(component), Unit::Component(before))
    });
    let groups = new.groups.iter().filter_map(|group| {
        let before = old.group(&group.name)?;
        owned_change(Unit::Group(group), Unit::Group(before))
    });
    components.chain(groups).collect()
}

fn owned_change<'a>(after: Unit<'a>, before: Unit<'_>) -> Option<ReplicaChange<'a>> {
    let owned = after.adapter_enabled() || before.adapter_enabled();
    (owned && after.replicas() != before.replicas()).then(|| ReplicaChange {
        path: after.path(),
        name: after.name(),
        replicas: after.replicas(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use scaleguard_test_support::dgd_view;
    use serde_json::{Value, json};

    fn dgd(services: Value) -> DgdView {
        dgd_view("sglang-agg", services)
    }

    fn changed(new: &DgdView, old: &DgdView) -> Vec<(String, i32)> {
        replica_changes(new, old)
            .iter()
            .map(|change| (change.path.to_owned(), change.replicas))
            .collect()
    }

    #[test]
    fn an_adapter_in_either_object_protects_services_present_before() {
        let old = dgd(json!({"a": {"replicas": 1}, "b": {"replicas": 1},
            "d": {"replicas": 1, "scalingAdapter": {"enabled": true}}}));
        let new = dgd(json!({
            "a": {"replicas": 2, "scalingAdapter": {"enabled": true}},
            "b": {"replicas": 2},
            "c": {"replicas": 2, "scalingAdapter": {"enabled": true}},
            "d": {"replicas": 2, "scalingAdapter": {"enabled": false}}
        }));
        assert_eq!(
            changed(&new, &old),
            [
                ("spec.services[a]".to_owned(), 2),
                ("spec.services[d]".to_owned(), 2)
            ]
        );
    }

    #[test]
    fn absent_and_one_are_the_same() {
        let old = dgd(json!({"a": {"scalingAdapter": {"enabled": true}}}));
        let new = dgd(json!({"a": {"replicas": 1, "scalingAdapter": {"enabled": true}}}));
        assert!(replica_changes(&new, &old).is_empty());
        let new = dgd(json!({"a": {"replicas": 0, "scalingAdapter": {"enabled": true}}}));
        assert_eq!(changed(&new, &old), [("spec.services[a]".to_owned(), 0)]);
    }

    #[test]
    fn groups_are_protected_with_their_adapter() {
        let group = |replicas: i32| {
            DgdView::from_object(&json!({"apiVersion": "nvidia.com/v1beta1",
                "metadata": {"name": "d"}, "spec": {"components": [{"name": "p"}, {"name": "q"}],
                "experimental": {"componentGroups": [{"name": "Engines", "replicas": replicas,
                    "scalingAdapter": {}, "components": [{"name": "p"}, {"name": "q"}]}]}}}))
            .unwrap()
        };
        let (old, new) = (group(1), group(2));
        let changes = replica_changes(&new, &old);
        assert_eq!(
            changes[0].denial("d"),
            "spec.experimental.componentGroups[Engines].replicas cannot be modified directly when scaling adapter is enabled; use 'kubectl scale dgdsa/d-engines --replicas=2' or update the DynamoGraphDeploymentScalingAdapter instead"
        );
    }

    #[test]
    fn denial_uses_the_adapter_name_and_requested_replicas() {
        let change = ReplicaChange {
            path: "spec.services[decode]",
            name: "decode",
            replicas: 3,
        };
        assert_eq!(
            change.denial("sglang-agg"),
            "spec.services[decode].replicas cannot be modified directly when scaling adapter is enabled; use 'kubectl scale dgdsa/sglang-agg-decode --replicas=3' or update the DynamoGraphDeploymentScalingAdapter instead"
        );
    }
}
