//! Test fixtures: DGDs and adapters as the API server would return them, with builder-style tweaks.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{OwnerReference, Time};
use k8s_openapi::jiff::Timestamp;
use scaleguard_sdk::adapter::{COMPONENT_LABEL, DGD_NAME_LABEL};
use serde_json::{Value, json};

use crate::crd::{
    DgdRef, DynamoGraphDeploymentScalingAdapter as Adapter, ScalingAdapterSpec,
    ScalingAdapterStatus,
};
use crate::dgd::DynamoGraphDeployment;
use crate::pipeline::{MANAGED_BY_LABEL, MANAGER};

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

/// Builder-style tweaks of a DGD.
pub trait DgdExt {
    /// With `status.services` set to `services`.
    fn with_status(self, services: Value) -> Self;
    /// With `metadata.deletionTimestamp` set.
    fn deleting(self) -> Self;
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
    let name = format!("{DGD}-{}", service.to_lowercase());
    let mut adapter = Adapter::new(
        &name,
        ScalingAdapterSpec {
            replicas,
            dgd_ref: DgdRef {
                name: DGD.into(),
                service_name: service.into(),
            },
        },
    );
    adapter.metadata.namespace = Some(NAMESPACE.into());
    adapter.metadata.uid = Some(format!("{name}-uid"));
    adapter.metadata.resource_version = Some("7".into());
    adapter.metadata.labels = Some(
        [
            (MANAGED_BY_LABEL, MANAGER),
            (DGD_NAME_LABEL, DGD),
            (COMPONENT_LABEL, service),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect(),
    );
    adapter.metadata.owner_references = Some(vec![OwnerReference {
        api_version: "nvidia.com/v1alpha1".into(),
        kind: "DynamoGraphDeployment".into(),
        name: DGD.into(),
        uid: DGD_UID.into(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }]);
    adapter
}

/// Builder-style tweaks of an adapter.
pub trait AdapterExt {
    /// Without the `managed-by` label, as the Dynamo operator or a person would make it.
    fn unmanaged(self) -> Self;
    /// With `metadata.deletionTimestamp` set.
    fn deleting(self) -> Self;
    /// With this status.
    fn with_status(self, replicas: i32, selector: &str, last_scale_time: Option<Timestamp>)
    -> Self;
    /// With `spec.dgdRef.serviceName` set to `service`.
    fn for_service(self, service: &str) -> Self;
}

impl AdapterExt for Adapter {
    fn unmanaged(mut self) -> Self {
        self.metadata
            .labels
            .as_mut()
            .unwrap()
            .remove(MANAGED_BY_LABEL);
        self
    }

    fn deleting(mut self) -> Self {
        self.metadata.deletion_timestamp = Some(Time(now()));
        self
    }

    fn with_status(
        mut self,
        replicas: i32,
        selector: &str,
        last_scale_time: Option<Timestamp>,
    ) -> Self {
        self.status = Some(ScalingAdapterStatus {
            replicas: Some(replicas),
            selector: Some(selector.into()),
            last_scale_time: last_scale_time.map(Time),
        });
        self
    }

    fn for_service(mut self, service: &str) -> Self {
        self.spec.dgd_ref.service_name = service.into();
        self
    }
}

/// The selector of `service` in `test-dgd`.
pub fn selector_of(service: &str) -> String {
    scaleguard_sdk::adapter::selector(DGD, service)
}
