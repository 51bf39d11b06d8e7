//! DynamoGraphDeploymentScalingAdapter (`nvidia.com/v1alpha1`), the object autoscalers scale through
//! its `/scale` subresource.

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

/// A DynamoGraphDeploymentScalingAdapter.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct ScalingAdapter {
    /// Object metadata.
    #[serde(deserialize_with = "null_as_default")]
    pub metadata: ObjectMeta,
    /// The desired state.
    #[serde(deserialize_with = "null_as_default")]
    pub spec: AdapterSpec,
    /// The observed state.
    #[serde(
        deserialize_with = "null_as_default",
        skip_serializing_if = "Option::is_none"
    )]
    pub status: Option<AdapterStatus>,
}

/// `spec` of an adapter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AdapterSpec {
    /// `spec.replicas`: the replicas autoscalers set through `/scale`.
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
    /// The service's name in `spec.services` (original case).
    #[serde(deserialize_with = "null_as_default")]
    pub service_name: String,
}

/// `status` of an adapter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AdapterStatus {
    /// Observed replicas of the service.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// The label selector of the service's pods.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
    /// When the adapter last scaled the service (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_scale_time: Option<String>,
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
    fn parses_spec_and_status() {
        let adapter: ScalingAdapter = from_value(&json!({
            "metadata": {"name": "sglang-agg-decode"},
            "spec": {"replicas": 3, "dgdRef": {"name": "sglang-agg", "serviceName": "decode"}},
            "status": {"replicas": 2, "selector": "x", "lastScaleTime": "2026-01-01T00:00:00Z"}
        }))
        .unwrap();
        assert_eq!(adapter.spec.replicas, 3);
        assert_eq!(adapter.spec.dgd_ref.service_name, "decode");
        assert_eq!(adapter.status.unwrap().replicas, Some(2));
    }
}
