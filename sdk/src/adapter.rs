//! DynamoGraphDeploymentScalingAdapter (`nvidia.com/v1alpha1` and `v1beta1`), the object autoscalers
//! scale through its `/scale` subresource. Both versions read into one model: v1alpha1 names its service
//! in `dgdRef.serviceName`, v1beta1 its component in `dgdRef.componentName` or its component group in
//! `dgdRef.componentGroupName`.

use serde::{Deserialize, Serialize};

use crate::meta::ObjectMeta;
use crate::parse::null_as_default;

/// Kind of a scaling adapter.
pub const KIND: &str = "DynamoGraphDeploymentScalingAdapter";
/// Plural resource name of scaling adapters.
pub const RESOURCE: &str = "dynamographdeploymentscalingadapters";
/// Label naming the adapter's DGD.
pub const DGD_NAME_LABEL: &str = "nvidia.com/dynamo-graph-deployment-name";
/// Label naming the adapter's service (original case).
pub const COMPONENT_LABEL: &str = "nvidia.com/dynamo-component";

/// What [`ScalingAdapter`] reads, as Kubewarden's `field_masks` name fields.
pub const FIELDS: &[&str] = &["spec.replicas", "spec.dgdRef"];

/// A DynamoGraphDeploymentScalingAdapter.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct ScalingAdapter {
    /// `apiVersion`: which of `dgdRef`'s fields name the target.
    #[serde(
        rename = "apiVersion",
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub api_version: String,
    /// Object metadata.
    #[serde(deserialize_with = "null_as_default")]
    pub metadata: ObjectMeta,
    /// The desired state (its `status` is the companion controller's business; no rule reads it).
    #[serde(deserialize_with = "null_as_default")]
    pub spec: AdapterSpec,
}

/// `spec` of an adapter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AdapterSpec {
    /// `spec.replicas`: the replicas autoscalers set through `/scale`.
    #[serde(deserialize_with = "crate::parse::int32")]
    pub replicas: i32,
    /// `spec.dgdRef`: the DGD service this adapter scales.
    #[serde(deserialize_with = "null_as_default")]
    pub dgd_ref: DgdRef,
}

/// `spec.dgdRef` of an adapter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DgdRef {
    /// The DGD's name.
    #[serde(deserialize_with = "null_as_default")]
    pub name: String,
    /// v1alpha1: the service's name in `spec.services` (original case).
    #[serde(
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub service_name: String,
    /// v1beta1: the component's name in `spec.components`.
    #[serde(
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub component_name: String,
    /// v1beta1: the component group's name in `spec.experimental.componentGroups`.
    #[serde(
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub component_group_name: String,
}

/// What an adapter's `dgdRef` points at, whatever the version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitRef<'a> {
    /// A component (v1alpha1: service) by name.
    Component(&'a str),
    /// A component group by name.
    Group(&'a str),
}

impl UnitRef<'_> {
    /// The name referred to.
    pub fn name(&self) -> &str {
        match self {
            Self::Component(name) | Self::Group(name) => name,
        }
    }
}

impl ScalingAdapter {
    /// What `spec.dgdRef` points at: v1alpha1 `serviceName`; v1beta1 `componentName`, else
    /// `componentGroupName`.
    pub fn unit_ref(&self) -> UnitRef<'_> {
        let dgd_ref = &self.spec.dgd_ref;
        match crate::dgd::DgdVersion::of(&self.api_version) {
            Some(crate::dgd::DgdVersion::V1beta1)
                if dgd_ref.component_name.is_empty()
                    && !dgd_ref.component_group_name.is_empty() =>
            {
                UnitRef::Group(&dgd_ref.component_group_name)
            }
            Some(crate::dgd::DgdVersion::V1beta1) => UnitRef::Component(&dgd_ref.component_name),
            _ => UnitRef::Component(&dgd_ref.service_name),
        }
    }
}

/// The `status.selector` of the adapter of `service` in DGD `dgd`.
pub fn selector(dgd: &str, service: &str) -> String {
    format!("{DGD_NAME_LABEL}={dgd},{COMPONENT_LABEL}={service}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::from_value;
    use serde_json::json;

    #[test]
    fn selector_keeps_the_service_case() {
        assert_eq!(
            selector("my-dgd", "MyService"),
            "nvidia.com/dynamo-graph-deployment-name=my-dgd,nvidia.com/dynamo-component=MyService"
        );
    }

    #[test]
    fn parses_the_spec() {
        let adapter: ScalingAdapter = from_value(&json!({
            "metadata": {"name": "sglang-agg-decode"},
            "spec": {"replicas": 3, "dgdRef": {"name": "sglang-agg", "serviceName": "decode"}},
            "status": {"replicas": 2, "selector": "x", "lastScaleTime": "2026-01-01T00:00:00Z"}
        }))
        .unwrap();
        assert_eq!(adapter.spec.replicas, 3);
        assert_eq!(adapter.spec.dgd_ref.service_name, "decode");
        assert_eq!(adapter.unit_ref(), UnitRef::Component("decode"));
    }

    #[test]
    fn v1beta1_adapters_name_a_component_or_a_group() {
        let adapter = |dgd_ref: serde_json::Value| -> ScalingAdapter {
            from_value(&json!({"apiVersion": "nvidia.com/v1beta1",
                "spec": {"replicas": 1, "dgdRef": dgd_ref}}))
            .unwrap()
        };
        assert_eq!(
            adapter(json!({"name": "d", "componentName": "decode"})).unit_ref(),
            UnitRef::Component("decode")
        );
        assert_eq!(
            adapter(json!({"name": "d", "componentGroupName": "Engines"})).unit_ref(),
            UnitRef::Group("Engines")
        );
        assert_eq!(
            adapter(json!({"name": "d", "serviceName": "decode"})).unit_ref(),
            UnitRef::Component("")
        );
    }
}
