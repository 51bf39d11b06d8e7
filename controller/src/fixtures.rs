//! Test fixtures: DGDs and adapters as the API server would return them, with builder-style tweaks.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference, Time};
use k8s_openapi::jiff::Timestamp;
use kube::Resource;
use scaleguard_sdk::adapter::{COMPONENT_LABEL, DGD_NAME_LABEL, UnitRef};
use serde_json::{Value, json};

use crate::crd::{
    AdapterResource, DynamoGraphDeploymentScalingAdapter as Adapter, ScalingAdapterStatus,
};
use crate::dgd::{DynamoGraphDeployment, v1beta1};
use crate::pipeline::{MANAGED_BY_LABEL, MANAGER};

/// A v1beta1 scaling adapter.
pub type AdapterV1beta1 = crate::crd::v1beta1::DynamoGraphDeploymentScalingAdapter;

/// Namespace of every fixture.
pub const NAMESPACE: &str = "default";
/// Name of the fixture DGD.
pub const DGD: &str = "test-dgd";
/// uid of the fixture DGD.
pub const DGD_UID: &str = "7d3c4a8e-dgd";
/// resourceVersion of the fixture DGD.
pub const DGD_VERSION: &str = "100";

/// A fixed "now" for deterministic timestamps.
pub fn now() -> Timestamp {
    "2026-03-01T12:00:00Z".parse().unwrap()
}

/// The DGD `test-dgd` in `default` with these `spec.services`.
pub fn dgd(services: Value) -> DynamoGraphDeployment {
    dgd_named(DGD, services)
}

/// A DGD named `name` in `default` with these `spec.services`.
pub fn dgd_named(name: &str, services: Value) -> DynamoGraphDeployment {
    serde_json::from_value(json!({
        "apiVersion": "nvidia.com/v1alpha1",
        "kind": "DynamoGraphDeployment",
        "metadata": {
            "name": name, "namespace": NAMESPACE, "uid": DGD_UID, "resourceVersion": DGD_VERSION,
            "generation": 3
        },
        "spec": {"services": services}
    }))
    .unwrap()
}

/// The v1beta1 DGD `test-dgd` in `default` with this `spec` (`components`, `experimental`).
pub fn dgd_v1beta1(spec: Value) -> v1beta1::DynamoGraphDeployment {
    serde_json::from_value(json!({
        "apiVersion": "nvidia.com/v1beta1",
        "kind": "DynamoGraphDeployment",
        "metadata": {
            "name": DGD, "namespace": NAMESPACE, "uid": DGD_UID, "resourceVersion": DGD_VERSION,
            "generation": 3
        },
        "spec": spec
    }))
    .unwrap()
}

/// Builder-style tweaks of a DGD.
pub trait DgdExt {
    /// With `status.services` set to `services`.
    fn with_status(self, services: Value) -> Self;
    /// With `metadata.deletionTimestamp` set.
    fn deleting(self) -> Self;
}

impl DgdExt for v1beta1::DynamoGraphDeployment {
    fn with_status(mut self, components: Value) -> Self {
        self.status = Some(serde_json::from_value(json!({"components": components})).unwrap());
        self
    }

    fn deleting(mut self) -> Self {
        self.metadata.deletion_timestamp = Some(Time(now()));
        self
    }
}

impl DgdExt for DynamoGraphDeployment {
    fn with_status(mut self, services: Value) -> Self {
        self.status = Some(serde_json::from_value(json!({"services": services})).unwrap());
        self
    }

    fn deleting(mut self) -> Self {
        self.metadata.deletion_timestamp = Some(Time(now()));
        self
    }
}

/// The adapter this controller made for `service` of `test-dgd`, now at `replicas`.
pub fn adapter(service: &str, replicas: i32) -> Adapter {
    made::<Adapter>(UnitRef::Component(service), replicas)
}

/// The v1beta1 adapter this controller made for `unit` of the v1beta1 `test-dgd`, now at `replicas`.
pub fn adapter_v1beta1(unit: UnitRef<'_>, replicas: i32) -> AdapterV1beta1 {
    made::<AdapterV1beta1>(unit, replicas)
}

/// An adapter as this controller makes it, as the API server returns it (uid, resourceVersion).
fn made<A: AdapterResource>(unit: UnitRef<'_>, replicas: i32) -> A {
    let name = format!("{DGD}-{}", unit.name().to_lowercase());
    let labels = [
        (MANAGED_BY_LABEL, MANAGER),
        (DGD_NAME_LABEL, DGD),
        (COMPONENT_LABEL, unit.name()),
    ];
    let metadata = ObjectMeta {
        name: Some(name.clone()),
        namespace: Some(NAMESPACE.into()),
        uid: Some(format!("{name}-uid")),
        resource_version: Some("7".into()),
        labels: Some(
            labels
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        ),
        owner_references: Some(vec![OwnerReference {
            api_version: A::Dgd::api_version(&()).into_owned(),
            kind: "DynamoGraphDeployment".into(),
            name: DGD.into(),
            uid: DGD_UID.into(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        }]),
        ..ObjectMeta::default()
    };
    A::build(metadata, DGD.into(), unit, replicas)
}

/// Builder-style tweaks of an adapter of either version.
pub trait AdapterExt {
    /// Without the `managed-by` label, as the Dynamo operator or a person would make it.
    fn unmanaged(self) -> Self;
    /// With `metadata.deletionTimestamp` set.
    fn deleting(self) -> Self;
    /// With this status.
    fn with_status(self, replicas: i32, selector: &str, last_scale_time: Option<Timestamp>)
    -> Self;
    /// With `spec.dgdRef` naming the service (v1beta1: component) `service`.
    fn for_service(self, service: &str) -> Self;
}

impl<A: AdapterResource> AdapterExt for A {
    fn unmanaged(mut self) -> Self {
        self.meta_mut()
            .labels
            .as_mut()
            .unwrap()
            .remove(MANAGED_BY_LABEL);
        self
    }

    fn deleting(mut self) -> Self {
        self.meta_mut().deletion_timestamp = Some(Time(now()));
        self
    }

    fn with_status(
        mut self,
        replicas: i32,
        selector: &str,
        last_scale_time: Option<Timestamp>,
    ) -> Self {
        *self.status_mut() = Some(ScalingAdapterStatus {
            replicas: Some(replicas),
            selector: Some(selector.into()),
            last_scale_time: last_scale_time.map(Time),
        });
        self
    }

    fn for_service(self, service: &str) -> Self {
        let status = self.status().cloned();
        let mut adapter = A::build(
            self.meta().clone(),
            self.dgd_name().to_owned(),
            UnitRef::Component(service),
            self.replicas(),
        );
        *adapter.status_mut() = status;
        adapter
    }
}

/// The selector of `service` in `test-dgd`.
pub fn selector_of(service: &str) -> String {
    scaleguard_sdk::adapter::selector(DGD, service)
}
