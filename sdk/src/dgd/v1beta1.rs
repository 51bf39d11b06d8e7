//! DynamoGraphDeployment in `nvidia.com/v1beta1` (the storage version since Dynamo 1.2):
//! `spec.components` is a list keyed by `name`, the adapter is the presence of a `scalingAdapter`
//! marker, GPUs live in the pod template's `main` container.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::meta::ObjectMeta;
use crate::parse::{null_as_default, present};

/// `apiVersion` of v1beta1 DGDs and adapters.
pub const API_VERSION: &str = "nvidia.com/v1beta1";
/// The container of a component's pod template whose GPUs count.
pub const MAIN_CONTAINER: &str = "main";
/// The resource name of NVIDIA GPUs in a container's `resources`.
pub const GPU_RESOURCE: &str = "nvidia.com/gpu";
/// `multinode.nodeCount` when `multinode` is set without it.
pub const DEFAULT_NODE_COUNT: i32 = 2;

/// A v1beta1 DynamoGraphDeployment, as far as autoscaling is concerned.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct DynamoGraphDeployment {
    /// Object metadata.
    #[serde(deserialize_with = "null_as_default")]
    pub metadata: ObjectMeta,
    /// The desired state.
    #[serde(deserialize_with = "null_as_default")]
    pub spec: DgdSpec,
}

/// `spec` of a v1beta1 DGD.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct DgdSpec {
    /// `spec.components`, keyed by `name` (the order is free).
    #[serde(deserialize_with = "null_as_default")]
    pub components: Vec<Component>,
    /// `spec.experimental`.
    #[serde(deserialize_with = "null_as_default")]
    pub experimental: Experimental,
}

/// One entry of `spec.components`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Component {
    /// `name`, unique in the DGD.
    #[serde(deserialize_with = "null_as_default")]
    pub name: String,
    /// `type`: `frontend`, `worker`, `prefill`, `decode`, `planner`, `epp`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub component_type: Option<String>,
    /// `replicas`; absent means [`super::DEFAULT_REPLICAS`].
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(deserialize_with = "crate::parse::optional_int32")]
    pub replicas: Option<i32>,
    /// `scalingAdapter`: an empty marker whose presence (not `null`) enables the adapter.
    #[serde(deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub scaling_adapter: Option<Value>,
    /// `globalDynamoNamespace`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub global_dynamo_namespace: Option<bool>,
    /// `multinode`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub multinode: Option<Multinode>,
    /// `podTemplate`.
    #[serde(deserialize_with = "null_as_default")]
    pub pod_template: PodTemplate,
}

/// `multinode` of a component.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Multinode {
    /// `nodeCount`; absent means [`DEFAULT_NODE_COUNT`].
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(deserialize_with = "crate::parse::optional_int32")]
    pub node_count: Option<i32>,
}

impl Multinode {
    /// GPUs per replica from GPUs per node: times `nodeCount` (default [`DEFAULT_NODE_COUNT`]) when
    /// `multinode` is set; a count below one node counts as one.
    pub fn times_nodes(multinode: Option<&Self>, per_node: Option<u32>) -> Option<u32> {
        let nodes = multinode.map_or(1, |m| m.node_count.unwrap_or(DEFAULT_NODE_COUNT).max(1));
        per_node.map(|gpus| gpus.saturating_mul(nodes.unsigned_abs()))
    }
}

/// `podTemplate` of a component (a PodTemplateSpec; only the containers' resources are read).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct PodTemplate {
    /// `podTemplate.spec`.
    #[serde(deserialize_with = "null_as_default")]
    pub spec: PodSpec,
}

/// `podTemplate.spec`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct PodSpec {
    /// `containers`.
    #[serde(deserialize_with = "null_as_default")]
    pub containers: Vec<Container>,
}

/// One container of the pod template.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct Container {
    /// `name`.
    #[serde(deserialize_with = "null_as_default")]
    pub name: String,
    /// `resources`.
    #[serde(deserialize_with = "null_as_default")]
    pub resources: ContainerResources,
}

/// A container's `resources`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct ContainerResources {
    /// `limits`: resource name -> quantity.
    #[serde(deserialize_with = "quantities")]
    pub limits: BTreeMap<String, String>,
    /// `requests`: resource name -> quantity.
    #[serde(deserialize_with = "quantities")]
    pub requests: BTreeMap<String, String>,
}

/// `spec.experimental`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Experimental {
    /// `componentGroups`: components that scale together.
    #[serde(deserialize_with = "null_as_default")]
    pub component_groups: Vec<ComponentGroup>,
}

/// One entry of `spec.experimental.componentGroups`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ComponentGroup {
    /// `name`, unique among the groups.
    #[serde(deserialize_with = "null_as_default")]
    pub name: String,
    /// `replicas` of the whole group.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(deserialize_with = "crate::parse::optional_int32")]
    pub replicas: Option<i32>,
    /// `scalingAdapter`: presence (not `null`) gives the group an adapter.
    #[serde(deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub scaling_adapter: Option<Value>,
    /// `components`: the members, by name.
    #[serde(deserialize_with = "null_as_default")]
    pub components: Vec<GroupMember>,
}

/// A member of a component group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct GroupMember {
    /// The member component's `name`.
    #[serde(deserialize_with = "null_as_default")]
    pub name: String,
}

/// A resource list whose quantities may be written as strings (`"1"`) or numbers (`1`), as the API
/// server accepts both; `null` is an empty list.
fn quantities<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Quantity {
        Text(String),
        Number(serde_json::Number),
    }
    let list = Option::<BTreeMap<String, Quantity>>::deserialize(deserializer)?;
    Ok(list
        .unwrap_or_default()
        .into_iter()
        .map(|(name, quantity)| {
            let text = match quantity {
                Quantity::Text(text) => text,
                Quantity::Number(number) => number.to_string(),
            };
            (name, text)
        })
        .collect())
}

/// Whether a marker field (`scalingAdapter`) is on: present and not `null`.
pub fn marker_present(marker: Option<&Value>) -> bool {
    marker.is_some_and(|value| !value.is_null())
}

impl Component {
    /// Whether the component carries the `scalingAdapter` marker.
    pub fn has_adapter_marker(&self) -> bool {
        marker_present(self.scaling_adapter.as_ref())
    }

    /// The `main` container, when the pod template has one.
    pub fn main_container(&self) -> Option<&Container> {
        self.pod_template
            .spec
            .containers
            .iter()
            .find(|container| container.name == MAIN_CONTAINER)
    }

    /// GPUs per replica: the `main` container's `nvidia.com/gpu` limit, else its request, times
    /// `multinode.nodeCount` when the component spans nodes. Other containers do not count.
    pub fn gpu_count(&self) -> super::GpuCount {
        let Some(main) = self.main_container() else {
            return Ok(None);
        };
        let per_node = super::gpu_count(
            (
                "podTemplate.spec.containers[main].resources.limits[nvidia.com/gpu]",
                main.resources.limits.get(GPU_RESOURCE).map(String::as_str),
            ),
            (
                "podTemplate.spec.containers[main].resources.requests[nvidia.com/gpu]",
                main.resources
                    .requests
                    .get(GPU_RESOURCE)
                    .map(String::as_str),
            ),
        )?;
        Ok(Multinode::times_nodes(self.multinode.as_ref(), per_node))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::from_value;
    use serde_json::json;

    fn component(value: Value) -> Component {
        from_value(&value).unwrap()
    }

    #[test]
    fn gpus_come_from_the_main_container_only() {
        let with = |containers: Value| {
            component(
                json!({"name": "decode", "podTemplate": {"spec": {"containers": containers}}}),
            )
            .gpu_count()
        };
        assert_eq!(
            with(json!([{"name": "main", "resources": {"limits": {"nvidia.com/gpu": "2"}}}])),
            Ok(Some(2))
        );
        assert_eq!(
            with(json!([{"name": "main", "resources": {"requests": {"nvidia.com/gpu": 4}}}])),
            Ok(Some(4))
        );
        assert_eq!(
            with(json!([
                {"name": "sidecar", "resources": {"limits": {"nvidia.com/gpu": "8"}}},
                {"name": "main", "resources": {"limits": {"cpu": "4"}}}
            ])),
            Ok(None)
        );
        assert_eq!(
            with(json!([{"name": "main", "resources": {"limits": {"nvidia.com/gpu": "1.5"}}}]))
                .unwrap_err()
                .to_string(),
            r#"podTemplate.spec.containers[main].resources.limits[nvidia.com/gpu] is "1.5", not a whole number of GPUs"#
        );
        assert_eq!(component(json!({"name": "x"})).gpu_count(), Ok(None));
    }

    #[test]
    fn multinode_multiplies_by_the_node_count() {
        let main = json!({"spec": {"containers": [{"name": "main", "resources": {"limits": {"nvidia.com/gpu": "8"}}}]}});
        let gpus = |multinode: Value| {
            let mut value = json!({"name": "decode", "podTemplate": main.clone()});
            if !multinode.is_null() {
                value["multinode"] = multinode;
            }
            component(value).gpu_count()
        };
        assert_eq!(gpus(Value::Null), Ok(Some(8)));
        assert_eq!(gpus(json!({})), Ok(Some(16)));
        assert_eq!(gpus(json!({"nodeCount": 4})), Ok(Some(32)));
    }

    #[test]
    fn the_marker_is_its_presence() {
        assert!(component(json!({"scalingAdapter": {}})).has_adapter_marker());
        assert!(component(json!({"scalingAdapter": {"x": 1}})).has_adapter_marker());
        assert!(!component(json!({"scalingAdapter": null})).has_adapter_marker());
        assert!(!component(json!({})).has_adapter_marker());
    }

    #[test]
    fn wrong_types_name_the_list_index() {
        let error = from_value::<DynamoGraphDeployment>(
            &json!({"spec": {"components": [{"name": "a"}, {"name": "b", "replicas": "3"}]}}),
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            r#"spec.components[1].replicas: invalid type: string "3", expected i32"#
        );
        let error =
            from_value::<DynamoGraphDeployment>(&json!({"spec": {"components": {"a": {}}}}))
                .unwrap_err();
        assert_eq!(
            error.to_string(),
            "spec.components: invalid type: map, expected a sequence"
        );
    }
}
