//! The DynamoGraphDeploymentScalingAdapter custom resource, as Rust types: the controller watches and
//! writes it, and `scaleguard-controller crd` prints its CustomResourceDefinition.
//!
//! * [`DynamoGraphDeploymentScalingAdapter`]: `nvidia.com/v1alpha1`, `spec.dgdRef.serviceName`. Its
//!   schema is the API contract (`spec.replicas` and both `spec.dgdRef` fields required, non-empty) and
//!   the CRD `deploy/crds/` ships, for Dynamo before 0.8 (v1alpha1 only). It has no v1beta1 version:
//!   without Dynamo's conversion webhook, the API server would hand v1alpha1 adapters to v1beta1
//!   readers unconverted (`serviceName` for `componentName`). Dynamo 1.2 and later install their own.
//! * [`v1beta1::DynamoGraphDeploymentScalingAdapter`]: `nvidia.com/v1beta1`, `spec.dgdRef.componentName`
//!   or `componentGroupName`.
//!
//! Deserializing stays lenient about `dgdRef`'s fields so that one malformed adapter made by someone
//! else is reported, not a reason for the whole watch to fail. [`AdapterResource`] is what the
//! [`pipeline`](crate::pipeline) needs of either version.

pub mod v1beta1;

use std::fmt::Debug;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::core::NamespaceResourceScope;
use kube::core::object::HasStatus;
use kube::{CustomResource, CustomResourceExt, Resource};
use scaleguard_sdk::adapter::UnitRef;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::dgd::{DgdResource, DynamoGraphDeployment};

/// A scaling adapter of one served version, as the pipeline reads and builds it.
pub trait AdapterResource:
    Resource<DynamicType = (), Scope = NamespaceResourceScope>
    + Clone
    + Debug
    + DeserializeOwned
    + Serialize
    + HasStatus<Status = ScalingAdapterStatus>
    + Send
    + Sync
    + 'static
{
    /// The DynamoGraphDeployment of the same version.
    type Dgd: DgdResource<Adapter = Self>;

    /// A new adapter with `metadata`, scaling `unit` of the DGD named `dgd`, at `replicas`.
    fn build(metadata: ObjectMeta, dgd: String, unit: UnitRef<'_>, replicas: i32) -> Self;

    /// `spec.replicas`.
    fn replicas(&self) -> i32;

    /// `spec.dgdRef.name`: the DGD's name, in the adapter's namespace.
    fn dgd_name(&self) -> &str;

    /// What `spec.dgdRef` points at (an empty name when the field is missing).
    fn unit_ref(&self) -> UnitRef<'_>;
}

/// The desired state of a scaling adapter (`spec`).
#[derive(CustomResource, Clone, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
// The printcolumn entries repeat `type_ = "string"`, which this lint mistakes for a repeated attribute.
#[allow(clippy::duplicated_attributes)]
#[kube(
    group = "nvidia.com",
    version = "v1alpha1",
    kind = "DynamoGraphDeploymentScalingAdapter",
    plural = "dynamographdeploymentscalingadapters",
    shortname = "dgdsa",
    namespaced,
    status = "ScalingAdapterStatus",
    derive = "PartialEq",
    doc = "Exposes one service of a DynamoGraphDeployment through the scale subresource, for HPA, KEDA or the Planner.",
    scale(
        spec_replicas_path = ".spec.replicas",
        status_replicas_path = ".status.replicas",
        label_selector_path = ".status.selector"
    ),
    printcolumn(name = "DGD", type_ = "string", json_path = ".spec.dgdRef.name"),
    printcolumn(
        name = "SERVICE",
        type_ = "string",
        json_path = ".spec.dgdRef.serviceName"
    ),
    printcolumn(name = "REPLICAS", type_ = "integer", json_path = ".status.replicas"),
    printcolumn(
        name = "AGE",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct ScalingAdapterSpec {
    /// The replicas the service should run; autoscalers write it through `/scale`.
    #[schemars(range(min = 0))]
    pub replicas: i32,
    /// The DynamoGraphDeployment service this adapter scales.
    pub dgd_ref: DgdRef,
}

/// `spec.dgdRef`: the DGD service an adapter scales.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("required" = ["name", "serviceName"]), transform = without_defaults)]
pub struct DgdRef {
    /// The DynamoGraphDeployment's name, in the adapter's namespace.
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub name: String,
    /// The service's key in `spec.services` (original case).
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub service_name: String,
}

/// The observed state of a scaling adapter (`status`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScalingAdapterStatus {
    /// The service's observed replicas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// The label selector of the service's pods, for the scale subresource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
    /// When the controller last wrote this adapter's replicas into the DGD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_scale_time: Option<Time>,
}

impl AdapterResource for DynamoGraphDeploymentScalingAdapter {
    type Dgd = DynamoGraphDeployment;

    fn build(metadata: ObjectMeta, dgd: String, unit: UnitRef<'_>, replicas: i32) -> Self {
        let spec = ScalingAdapterSpec {
            replicas,
            dgd_ref: DgdRef {
                name: dgd,
                service_name: unit.name().to_owned(),
            },
        };
        Self {
            metadata,
            spec,
            status: None,
        }
    }

    fn replicas(&self) -> i32 {
        self.spec.replicas
    }

    fn dgd_name(&self) -> &str {
        &self.spec.dgd_ref.name
    }

    fn unit_ref(&self) -> UnitRef<'_> {
        UnitRef::Component(&self.spec.dgd_ref.service_name)
    }
}

/// Drops the `default: ''` schemars derives from `#[serde(default)]`: the API server validates defaults
/// against the schema, and an empty name would fail `minLength: 1`.
fn without_defaults(schema: &mut schemars::Schema) {
    let properties = schema
        .get_mut("properties")
        .and_then(serde_json::Value::as_object_mut);
    for property in properties.into_iter().flat_map(|p| p.values_mut()) {
        if let Some(property) = property.as_object_mut() {
            property.remove("default");
        }
    }
}

/// The adapter CRD as YAML, exactly as checked in under `deploy/crds/`.
pub fn crd_yaml() -> String {
    let crd = DynamoGraphDeploymentScalingAdapter::crd();
    let yaml = serde_yaml_ng::to_string(&crd).expect("a CRD always serializes to YAML");
    format!("# Generated by `scaleguard-controller crd`; do not edit.\n{yaml}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    const CHECKED_IN: &str =
        include_str!("../../deploy/crds/dynamographdeploymentscalingadapters.nvidia.com.yaml");

    #[test]
    fn checked_in_crd_has_no_drift() {
        assert!(
            CHECKED_IN == crd_yaml(),
            "deploy/crds is stale: run `cargo run -p scaleguard-controller -- crd > \
             deploy/crds/dynamographdeploymentscalingadapters.nvidia.com.yaml`"
        );
    }

    #[test]
    fn crd_matches_the_dynamo_contract() {
        let crd = serde_json::to_value(DynamoGraphDeploymentScalingAdapter::crd()).unwrap();
        assert_eq!(
            crd["metadata"]["name"],
            "dynamographdeploymentscalingadapters.nvidia.com"
        );
        assert_eq!(crd["spec"]["scope"], "Namespaced");
        assert_eq!(crd["spec"]["names"]["shortNames"], json!(["dgdsa"]));
        let version = &crd["spec"]["versions"][0];
        assert_eq!(version["name"], "v1alpha1");
        assert_eq!(
            version["subresources"],
            json!({
                "status": {},
                "scale": {
                    "specReplicasPath": ".spec.replicas",
                    "statusReplicasPath": ".status.replicas",
                    "labelSelectorPath": ".status.selector"
                }
            })
        );
        let columns: Vec<&Value> = version["additionalPrinterColumns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| &c["name"])
            .collect();
        assert_eq!(columns, ["DGD", "SERVICE", "REPLICAS", "AGE"]);
        let spec = &version["schema"]["openAPIV3Schema"]["properties"]["spec"];
        assert_eq!(spec["required"], json!(["dgdRef", "replicas"]));
        assert_eq!(
            spec["properties"]["replicas"]["minimum"].as_f64(),
            Some(0.0)
        );
        assert_eq!(
            spec["properties"]["dgdRef"]["required"],
            json!(["name", "serviceName"])
        );
        let service_name = &spec["properties"]["dgdRef"]["properties"]["serviceName"];
        assert_eq!(service_name["minLength"], 1);
        assert!(
            service_name.get("default").is_none(),
            "a default must satisfy minLength"
        );
    }

    #[test]
    fn the_shipped_crd_serves_only_v1alpha1() {
        let crd = serde_json::to_value(DynamoGraphDeploymentScalingAdapter::crd()).unwrap();
        let versions: Vec<&Value> = crd["spec"]["versions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| &v["name"])
            .collect();
        assert_eq!(versions, ["v1alpha1"], "see the module docs");
    }

    #[test]
    fn a_dgd_ref_without_a_service_name_still_reads() {
        let adapter: DynamoGraphDeploymentScalingAdapter = serde_json::from_value(json!({
            "apiVersion": "nvidia.com/v1alpha1",
            "kind": "DynamoGraphDeploymentScalingAdapter",
            "metadata": {"name": "x"},
            "spec": {"replicas": 2, "dgdRef": {"name": "d"}}
        }))
        .unwrap();
        assert_eq!(adapter.spec.dgd_ref.service_name, "");
    }
}
