//! The DynamoGraphDeployment in `nvidia.com/v1beta1` (the storage version since Dynamo 1.2).

use std::borrow::Cow;
use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Resource;
use kube::api::Patch;
use kube::core::NamespaceResourceScope;
use scaleguard_sdk::adapter::UnitRef;
use scaleguard_sdk::dgd::v1alpha1::ServiceStatus;
use scaleguard_sdk::dgd::v1beta1::DgdSpec;
use scaleguard_sdk::dgd::{self, DgdVersion, DgdView};
use scaleguard_sdk::parse::null_as_default;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{DgdResource, view_metadata};
use crate::crd::v1beta1::DynamoGraphDeploymentScalingAdapter;

/// A DynamoGraphDeployment (`nvidia.com/v1beta1`).
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
pub struct DynamoGraphDeployment {
    /// Object metadata.
    pub metadata: ObjectMeta,
    /// `spec`; `spec.components` and `spec.experimental.componentGroups` are modelled.
    #[serde(default)]
    pub spec: DgdSpec,
    /// `status`; only `status.components` is modelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<DgdStatus>,
}

/// `status` of a v1beta1 DGD.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct DgdStatus {
    /// `status.components`: the observed state per component, keyed by name (the entries of
    /// v1alpha1's `status.services`).
    #[serde(deserialize_with = "null_as_default")]
    pub components: BTreeMap<String, ServiceStatus>,
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
        "v1beta1".into()
    }

    fn api_version(_: &()) -> Cow<'_, str> {
        dgd::v1beta1::API_VERSION.into()
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
    const VERSION: DgdVersion = DgdVersion::V1beta1;
    type Adapter = DynamoGraphDeploymentScalingAdapter;

    fn view(&self) -> DgdView {
        DgdView::from_v1beta1(dgd::v1beta1::DynamoGraphDeployment {
            metadata: view_metadata(&self.metadata),
            spec: self.spec.clone(),
        })
    }

    /// A component's `status.components[<name>].replicas`; nothing for a group, whose status the
    /// operator does not report.
    fn observed_replicas(&self, unit: UnitRef<'_>) -> Option<i32> {
        let UnitRef::Component(component) = unit else {
            return None;
        };
        self.status.as_ref()?.components.get(component)?.replicas
    }

    /// A JSON patch of the entry's `replicas` at its index in this object (`replace`, or `add` when
    /// the field is absent), guarded by a `test` of the entry's name: if the list moved since it was
    /// read, the API server refuses the patch instead of writing another entry. The rest of the list
    /// is never sent.
    fn replica_patch(&self, unit: UnitRef<'_>, replicas: i32) -> Option<Patch<Value>> {
        let (list, index, current) = match unit {
            UnitRef::Component(name) => {
                let components = self.spec.components.iter();
                let (index, entry) = components.enumerate().find(|(_, c)| c.name == name)?;
                ("/spec/components", index, entry.replicas)
            }
            UnitRef::Group(name) => {
                let groups = self.spec.experimental.component_groups.iter();
                let (index, entry) = groups.enumerate().find(|(_, g)| g.name == name)?;
                ("/spec/experimental/componentGroups", index, entry.replicas)
            }
        };
        let entry = format!("{list}/{index}");
        let write = if current.is_some() { "replace" } else { "add" };
        let operations = json!([
            {"op": "test", "path": format!("{entry}/name"), "value": unit.name()},
            {"op": write, "path": format!("{entry}/replicas"), "value": replicas}
        ]);
        let patch =
            serde_json::from_value(operations).expect("a test and a write are a JSON patch");
        Some(Patch::Json(patch))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dgd(spec: Value) -> DynamoGraphDeployment {
        serde_json::from_value(json!({
            "apiVersion": "nvidia.com/v1beta1", "kind": "DynamoGraphDeployment",
            "metadata": {"name": "d", "namespace": "default"}, "spec": spec
        }))
        .unwrap()
    }

    fn json_patch(patch: Option<Patch<Value>>) -> Value {
        match patch {
            Some(Patch::Json(patch)) => serde_json::to_value(patch).unwrap(),
            other => panic!("not a JSON patch: {other:?}"),
        }
    }

    #[test]
    fn reads_components_groups_and_status() {
        let dgd: DynamoGraphDeployment = serde_json::from_value(json!({
            "apiVersion": "nvidia.com/v1beta1", "kind": "DynamoGraphDeployment",
            "metadata": {"name": "sglang-agg", "namespace": "default"},
            "spec": {"backendFramework": "sglang", "components": [
                {"name": "decode", "type": "worker", "replicas": 2, "scalingAdapter": {}, "extraPodSpec": {}}
            ]},
            "status": {"state": "successful", "conditions": [], "components": {"decode": {"replicas": 1}}}
        }))
        .unwrap();
        let view = dgd.view();
        assert_eq!(view.version, DgdVersion::V1beta1);
        assert!(view.component("decode").unwrap().adapter);
        assert_eq!(dgd.observed_replicas(UnitRef::Component("decode")), Some(1));
        assert_eq!(dgd.observed_replicas(UnitRef::Group("decode")), None);
        assert_eq!(
            DynamoGraphDeployment::url_path(&(), Some("default")),
            "/apis/nvidia.com/v1beta1/namespaces/default/dynamographdeployments"
        );
    }

    #[test]
    fn a_replica_patch_tests_the_name_at_the_index_as_read() {
        let dgd = dgd(json!({"components": [
            {"name": "Frontend", "replicas": 1},
            {"name": "decode", "replicas": 2, "scalingAdapter": {}},
            {"name": "prefill", "scalingAdapter": {}}
        ]}));
        assert_eq!(
            json_patch(dgd.replica_patch(UnitRef::Component("decode"), 3)),
            json!([
                {"op": "test", "path": "/spec/components/1/name", "value": "decode"},
                {"op": "replace", "path": "/spec/components/1/replicas", "value": 3}
            ])
        );
        assert_eq!(
            json_patch(dgd.replica_patch(UnitRef::Component("prefill"), 0)),
            json!([
                {"op": "test", "path": "/spec/components/2/name", "value": "prefill"},
                {"op": "add", "path": "/spec/components/2/replicas", "value": 0}
            ])
        );
        assert_eq!(dgd.replica_patch(UnitRef::Component("encode"), 3), None);
    }

    #[test]
    fn a_group_replica_patch_writes_the_groups_entry() {
        let dgd = dgd(json!({
            "components": [{"name": "prefill"}, {"name": "decode"}],
            "experimental": {"componentGroups": [
                {"name": "Other", "replicas": 1, "components": [{"name": "x"}]},
                {"name": "Engines", "replicas": 1, "scalingAdapter": {},
                 "components": [{"name": "prefill"}, {"name": "decode"}]}
            ]}
        }));
        assert_eq!(
            json_patch(dgd.replica_patch(UnitRef::Group("Engines"), 4)),
            json!([
                {"op": "test", "path": "/spec/experimental/componentGroups/1/name", "value": "Engines"},
                {"op": "replace", "path": "/spec/experimental/componentGroups/1/replicas", "value": 4}
            ])
        );
        assert_eq!(dgd.replica_patch(UnitRef::Group("decode"), 4), None);
    }
}
