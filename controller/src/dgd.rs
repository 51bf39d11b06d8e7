//! The DynamoGraphDeployment as the controller reads it: Kubernetes metadata around the SDK's lenient
//! `spec` and `status` models (unknown fields ignored). The controller never writes a whole DGD, only
//! merge patches of single replica fields, so nothing it does not model can be lost.

use std::borrow::Cow;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Resource;
use kube::core::NamespaceResourceScope;
use scaleguard_sdk::dgd::{self, DgdSpec, DgdStatus};
use serde::{Deserialize, Serialize};

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
        dgd::API_VERSION.into()
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
}
