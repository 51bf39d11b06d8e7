//! The DynamoGraphDeploymentScalingAdapter in `nvidia.com/v1beta1` (the storage version since Dynamo
//! 1.2, whose operator installs the CRD): `spec.dgdRef` names a component or a component group.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::CustomResource;
use scaleguard_sdk::adapter::UnitRef;
use serde::{Deserialize, Serialize};

use super::{AdapterResource, ScalingAdapterStatus};
use crate::dgd::v1beta1::DynamoGraphDeployment;

/// The desired state of a v1beta1 scaling adapter (`spec`).
#[derive(CustomResource, Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[kube(
    group = "nvidia.com",
    version = "v1beta1",
    kind = "DynamoGraphDeploymentScalingAdapter",
    plural = "dynamographdeploymentscalingadapters",
    namespaced,
    status = "ScalingAdapterStatus",
    derive = "PartialEq",
    schema = "disabled"
)]
#[serde(rename_all = "camelCase")]
pub struct ScalingAdapterSpec {
    /// The replicas the component or group should run; autoscalers write it through `/scale`.
    pub replicas: i32,
    /// The component or component group this adapter scales.
    pub dgd_ref: DgdRef,
}

/// `spec.dgdRef`: a component (`componentName`) or a component group (`componentGroupName`) of a DGD,
/// exactly one of the two.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DgdRef {
    /// The DynamoGraphDeployment's name, in the adapter's namespace.
    #[serde(default)]
    pub name: String,
    /// The component's `name` in `spec.components`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub component_name: String,
    /// The group's `name` in `spec.experimental.componentGroups`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub component_group_name: String,
}

impl AdapterResource for DynamoGraphDeploymentScalingAdapter {
    type Dgd = DynamoGraphDeployment;

    fn build(metadata: ObjectMeta, dgd: String, unit: UnitRef<'_>, replicas: i32) -> Self {
        let (component_name, component_group_name) = match unit {
            UnitRef::Component(name) => (name.to_owned(), String::new()),
            UnitRef::Group(name) => (String::new(), name.to_owned()),
        };
        let dgd_ref = DgdRef {
            name: dgd,
            component_name,
            component_group_name,
        };
        Self {
            metadata,
            spec: ScalingAdapterSpec { replicas, dgd_ref },
            status: None,
        }
    }

    fn replicas(&self) -> i32 {
        self.spec.replicas
    }

    fn dgd_name(&self) -> &str {
        &self.spec.dgd_ref.name
    }

    /// `componentName`, else `componentGroupName` (the SDK's rule).
    fn unit_ref(&self) -> UnitRef<'_> {
        let DgdRef {
            name: _,
            component_name,
            component_group_name,
        } = &self.spec.dgd_ref;
        if component_name.is_empty() && !component_group_name.is_empty() {
            UnitRef::Group(component_group_name)
        } else {
            UnitRef::Component(component_name)
        }
    }
}

#[cfg(test)]
mod tests {
    use kube::Resource;
    use serde_json::json;

    use super::*;

    #[test]
    fn dgd_refs_name_a_component_or_a_group() {
        let adapter = |dgd_ref| -> DynamoGraphDeploymentScalingAdapter {
            serde_json::from_value(json!({
                "apiVersion": "nvidia.com/v1beta1", "kind": "DynamoGraphDeploymentScalingAdapter",
                "metadata": {"name": "x"}, "spec": {"replicas": 1, "dgdRef": dgd_ref}
            }))
            .unwrap()
        };
        let component = adapter(json!({"name": "d", "componentName": "decode"}));
        assert_eq!(component.unit_ref(), UnitRef::Component("decode"));
        let group = adapter(json!({"name": "d", "componentGroupName": "Engines"}));
        assert_eq!(group.unit_ref(), UnitRef::Group("Engines"));
        assert_eq!(
            adapter(json!({"name": "d"})).unit_ref(),
            UnitRef::Component("")
        );
        assert_eq!(
            DynamoGraphDeploymentScalingAdapter::url_path(&(), Some("default")),
            "/apis/nvidia.com/v1beta1/namespaces/default/dynamographdeploymentscalingadapters"
        );
    }

    #[test]
    fn a_built_group_adapter_names_only_the_group() {
        let adapter = DynamoGraphDeploymentScalingAdapter::build(
            ObjectMeta::default(),
            "d".into(),
            UnitRef::Group("Engines"),
            2,
        );
        assert_eq!(
            serde_json::to_value(&adapter).unwrap()["spec"],
            json!({"replicas": 2, "dgdRef": {"name": "d", "componentGroupName": "Engines"}})
        );
    }
}
