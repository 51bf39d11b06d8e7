//! The DynamoGraphDeployment as the controller reads it, in both served versions: Kubernetes metadata
//! around the SDK's lenient `spec` models and the observed replicas of `status` (unknown fields
//! ignored). The controller never writes a whole DGD, only single replica fields, so nothing it does not
//! model can be lost.
//!
//! * [`DynamoGraphDeployment`]: `nvidia.com/v1alpha1`, `spec.services` keyed by name; a replica write is
//!   a merge patch of `spec.services[<svc>].replicas`.
//! * [`v1beta1::DynamoGraphDeployment`]: `nvidia.com/v1beta1`, the `spec.components` list and its
//!   component groups; a replica write is a JSON patch of one list entry, guarded by a `test` of its name.
//!
//! [`DgdResource`] is what the [`pipeline`](crate::pipeline) needs of either: the SDK's version-neutral
//! view, the observed replicas and the replica patch.

pub mod v1beta1;

use std::borrow::Cow;
use std::fmt::Debug;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Resource;
use kube::api::Patch;
use kube::core::NamespaceResourceScope;
use scaleguard_sdk::adapter::UnitRef;
use scaleguard_sdk::dgd::{self, DgdVersion, DgdView, v1alpha1::DgdSpec, v1alpha1::DgdStatus};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::crd::{AdapterResource, DynamoGraphDeploymentScalingAdapter};

/// A DynamoGraphDeployment of one served version, as the pipeline reads and scales it.
pub trait DgdResource:
    Resource<DynamicType = (), Scope = NamespaceResourceScope>
    + Clone
    + Debug
    + DeserializeOwned
    + Send
    + Sync
    + 'static
{
    /// The version this type is served at.
    const VERSION: DgdVersion;
    /// The scaling adapter of the same version.
    type Adapter: AdapterResource<Dgd = Self>;

    /// The SDK's version-neutral view: components, component groups and which of them an adapter owns.
    fn view(&self) -> DgdView;

    /// The replicas `status` reports for `unit`, when it does.
    fn observed_replicas(&self, unit: UnitRef<'_>) -> Option<i32>;

    /// The patch that sets `unit`'s replicas to `replicas` and nothing else, valid only on this object
    /// as read (a concurrent change makes the API server refuse it); `None` when `unit` is not here.
    fn replica_patch(&self, unit: UnitRef<'_>, replicas: i32) -> Option<Patch<Value>>;
}

/// A DynamoGraphDeployment (`nvidia.com/v1alpha1`).
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
pub struct DynamoGraphDeployment {
    /// Object metadata.
    pub metadata: ObjectMeta,
    /// `spec`; only `spec.services` is modelled.
    #[serde(default)]
    pub spec: DgdSpec,
    /// `status`; only `status.services` is modelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<DgdStatus>,
}

impl Resource for DynamoGraphDeployment {
    type DynamicType = ();
    type Scope = NamespaceResourceScope;

    fn kind(_: &()) -> Cow<'_, str> {
        dgd::KIND.into()
    }

    fn group(_: &()) -> Cow<'_, str> {
        dgd::GROUP.into()
    }

    fn version(_: &()) -> Cow<'_, str> {
        "v1alpha1".into()
    }

    fn api_version(_: &()) -> Cow<'_, str> {
        dgd::v1alpha1::API_VERSION.into()
    }

    fn plural(_: &()) -> Cow<'_, str> {
        dgd::RESOURCE.into()
    }

    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }

    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

impl DgdResource for DynamoGraphDeployment {
    const VERSION: DgdVersion = DgdVersion::V1alpha1;
    type Adapter = DynamoGraphDeploymentScalingAdapter;

    fn view(&self) -> DgdView {
        DgdView::from_v1alpha1(dgd::v1alpha1::DynamoGraphDeployment {
            metadata: view_metadata(&self.metadata),
            spec: self.spec.clone(),
        })
    }

    fn observed_replicas(&self, unit: UnitRef<'_>) -> Option<i32> {
        let UnitRef::Component(service) = unit else {
            return None;
        };
        self.status.as_ref()?.services.get(service)?.replicas
    }

    /// A merge patch of `spec.services[<svc>].replicas`, conditional on this object's
    /// `resourceVersion`: a concurrent change turns into a 409 and a fresh decision.
    fn replica_patch(&self, unit: UnitRef<'_>, replicas: i32) -> Option<Patch<Value>> {
        let UnitRef::Component(service) = unit else {
            return None;
        };
        if !self.spec.services.contains_key(service) {
            return None;
        }
        let mut patch = json!({"spec": {"services": {service: {"replicas": replicas}}}});
        if let Some(version) = &self.metadata.resource_version {
            patch["metadata"] = json!({"resourceVersion": version});
        }
        Some(Patch::Merge(patch))
    }
}

/// The metadata the SDK's view reads: name, namespace and annotations (the power budget mode).
fn view_metadata(metadata: &ObjectMeta) -> scaleguard_sdk::meta::ObjectMeta {
    scaleguard_sdk::meta::ObjectMeta {
        name: metadata.name.clone().unwrap_or_default(),
        namespace: metadata.namespace.clone().unwrap_or_default(),
        annotations: metadata.annotations.clone().unwrap_or_default(),
        ..scaleguard_sdk::meta::ObjectMeta::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_a_dgd_with_unknown_fields() {
        let dgd: DynamoGraphDeployment = serde_json::from_value(json!({
            "apiVersion": "nvidia.com/v1alpha1",
            "kind": "DynamoGraphDeployment",
            "metadata": {"name": "sglang-agg", "namespace": "default"},
            "spec": {"backendFramework": "sglang", "services": {
                "decode": {"replicas": 2, "scalingAdapter": {"enabled": true}, "extraPodSpec": {}}
            }},
            "status": {"state": "successful", "services": {"decode": {"replicas": 2}}}
        }))
        .unwrap();
        assert!(dgd.spec.services["decode"].adapter_enabled());
        assert_eq!(
            DynamoGraphDeployment::url_path(&(), Some("default")),
            "/apis/nvidia.com/v1alpha1/namespaces/default/dynamographdeployments"
        );
    }

    #[test]
    fn the_power_budget_mode_gives_v1alpha1_workers_an_adapter() {
        let dgd: DynamoGraphDeployment = serde_json::from_value(json!({
            "metadata": {"name": "d", "annotations": {
                "dynamo.nvidia.com/power-control-mode": "transactional-replica-fence"}},
            "spec": {"services": {"decode": {"componentType": "worker"}, "Frontend": {}}}
        }))
        .unwrap();
        let owned: Vec<_> = dgd
            .view()
            .components
            .into_iter()
            .filter(|c| c.adapter)
            .map(|c| c.name)
            .collect();
        assert_eq!(owned, ["decode"]);
    }

    #[test]
    fn a_replica_patch_names_only_an_existing_service() {
        let dgd: DynamoGraphDeployment = serde_json::from_value(json!({
            "metadata": {"name": "d"}, "spec": {"services": {"decode": {}}}
        }))
        .unwrap();
        assert_eq!(
            dgd.replica_patch(UnitRef::Component("decode"), 3),
            Some(Patch::Merge(
                json!({"spec": {"services": {"decode": {"replicas": 3}}}})
            ))
        );
        assert_eq!(dgd.replica_patch(UnitRef::Component("prefill"), 3), None);
        assert_eq!(dgd.replica_patch(UnitRef::Group("decode"), 3), None);
    }
}
