//! DynamoGraphDeployment in `nvidia.com/v1alpha1` (Dynamo 0.8 – 1.1; served but deprecated since 1.2):
//! `spec.services` is a map keyed by service name.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::meta::ObjectMeta;
use crate::parse::{null_as_default, present};

/// `apiVersion` of v1alpha1 DGDs and adapters.
pub const API_VERSION: &str = "nvidia.com/v1alpha1";
/// Service names the Planner scales when a service sets no `subComponentType`.
pub const PLANNER_FALLBACK_SERVICE_NAMES: &[&str] = &[
    "prefill",
    "decode",
    "VllmPrefillWorker",
    "VllmDecodeWorker",
    "TRTLLMPrefillWorker",
    "TRTLLMDecodeWorker",
];

/// A v1alpha1 DynamoGraphDeployment, as far as autoscaling is concerned.
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

/// `spec` of a v1alpha1 DGD.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct DgdSpec {
    /// `spec.services`: service name (original case) -> service.
    #[serde(deserialize_with = "null_as_default")]
    pub services: BTreeMap<String, DgdService>,
}

/// One entry of `spec.services`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DgdService {
    /// `replicas`; absent means [`super::DEFAULT_REPLICAS`].
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(deserialize_with = "crate::parse::optional_int32")]
    pub replicas: Option<i32>,
    /// `componentType`: `frontend`, `worker`, `planner`, ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub component_type: Option<String>,
    /// `subComponentType`: `prefill` / `decode` for the services the Planner scales.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_component_type: Option<String>,
    /// `scalingAdapter`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scaling_adapter: Option<AdapterToggle>,
    /// The deprecated, ignored `autoscaling` field: `Some` whenever present, `Some(Null)` for `null`.
    #[serde(deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<Value>,
    /// The deprecated, ignored `dynamoNamespace` field: `Some` whenever present.
    #[serde(deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub dynamo_namespace: Option<Value>,
    /// `globalDynamoNamespace`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub global_dynamo_namespace: Option<bool>,
    /// `resources`.
    #[serde(deserialize_with = "null_as_default")]
    pub resources: Resources,
    /// `multinode`: a service spanning several nodes per replica.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub multinode: Option<super::v1beta1::Multinode>,
}

/// `scalingAdapter` of a v1alpha1 service: an opt-in switch (named `ScalingAdapter` in messages, as the
/// field is).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, expecting = "struct ScalingAdapter")]
pub struct AdapterToggle {
    /// `enabled`: only `true` creates an adapter; absent (`scalingAdapter: {}`) is off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// `resources` of a service.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct Resources {
    /// `resources.limits`.
    #[serde(deserialize_with = "null_as_default")]
    pub limits: ResourceList,
    /// `resources.requests`.
    #[serde(deserialize_with = "null_as_default")]
    pub requests: ResourceList,
}

/// A list of resource quantities; Dynamo writes them as strings (`gpu: "1"`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct ResourceList {
    /// `gpu`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu: Option<String>,
}

/// `status` of a v1alpha1 DGD (the companion controller reads it; the rules do not).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct DgdStatus {
    /// `status.services`: the observed state per service.
    #[serde(deserialize_with = "null_as_default")]
    pub services: BTreeMap<String, ServiceStatus>,
}

/// One entry of `status.services`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ServiceStatus {
    /// Observed replicas.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(deserialize_with = "crate::parse::optional_int32")]
    pub replicas: Option<i32>,
    /// Updated replicas.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(deserialize_with = "crate::parse::optional_int32")]
    pub updated_replicas: Option<i32>,
    /// Ready replicas.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(deserialize_with = "crate::parse::optional_int32")]
    pub ready_replicas: Option<i32>,
    /// Available replicas.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(deserialize_with = "crate::parse::optional_int32")]
    pub available_replicas: Option<i32>,
}

impl DgdService {
    /// The replicas the service runs: `replicas`, or [`super::DEFAULT_REPLICAS`] when absent.
    pub fn effective_replicas(&self) -> i32 {
        super::effective_replicas(self.replicas)
    }

    /// Whether the service opted into a scaling adapter (`scalingAdapter.enabled: true`).
    pub fn adapter_enabled(&self) -> bool {
        self.scaling_adapter
            .as_ref()
            .is_some_and(|toggle| toggle.enabled == Some(true))
    }

    /// Whether `scalingAdapter` is written without `enabled` (`scalingAdapter: {}`): off in v1alpha1, but
    /// the same text turns the adapter on in v1beta1.
    pub fn has_bare_adapter_marker(&self) -> bool {
        self.scaling_adapter
            .as_ref()
            .is_some_and(|toggle| toggle.enabled.is_none())
    }

    /// Whether the deprecated `autoscaling` field is set (`{}` counts, `null` does not).
    pub fn has_deprecated_autoscaling(&self) -> bool {
        self.autoscaling.as_ref().is_some_and(|v| !v.is_null())
    }

    /// The deprecated `dynamoNamespace` value, when set (and not `null`).
    pub fn deprecated_dynamo_namespace(&self) -> Option<String> {
        match self.dynamo_namespace.as_ref()? {
            Value::Null => None,
            Value::String(value) => Some(value.clone()),
            other => Some(other.to_string()),
        }
    }

    /// The role the service plays: `componentType`, with `worker` + `subComponentType: prefill|decode`
    /// (or no `componentType` and that `subComponentType`) read as `prefill` / `decode`, as the
    /// v1beta1 conversion does.
    pub fn role(&self) -> super::Role {
        let sub = self.sub_component_type.as_deref().unwrap_or("");
        match self.component_type.as_deref().unwrap_or("") {
            "" | "worker" if sub == "prefill" || sub == "decode" => super::Role::parse(sub),
            component_type => super::Role::parse(component_type),
        }
    }

    /// GPUs per replica: `resources.limits.gpu`, else `resources.requests.gpu`, per node, times
    /// `multinode.nodeCount` when the service spans nodes.
    pub fn gpu_count(&self) -> super::GpuCount {
        let per_node = super::gpu_count(
            ("resources.limits.gpu", self.resources.limits.gpu.as_deref()),
            (
                "resources.requests.gpu",
                self.resources.requests.gpu.as_deref(),
            ),
        )?;
        Ok(super::v1beta1::Multinode::times_nodes(
            self.multinode.as_ref(),
            per_node,
        ))
    }
}

/// Whether the Planner scales a v1alpha1 service: its `subComponentType` is `prefill` or `decode`, or it
/// sets none (an empty one counts as none), is a worker (or says nothing) and has one of the
/// [`PLANNER_FALLBACK_SERVICE_NAMES`].
pub fn is_planner_scaled(name: &str, service: &DgdService) -> bool {
    match service.sub_component_type.as_deref() {
        Some("prefill" | "decode") => true,
        Some("") | None => {
            matches!(
                service.component_type.as_deref(),
                None | Some("" | "worker")
            ) && PLANNER_FALLBACK_SERVICE_NAMES.contains(&name)
        }
        Some(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::from_value;
    use serde_json::json;

    fn dgd(value: Value) -> DynamoGraphDeployment {
        from_value(&value).unwrap()
    }

    #[test]
    fn unknown_fields_are_tolerated_and_services_keep_their_case() {
        let dgd = dgd(json!({
            "apiVersion": "nvidia.com/v1alpha1",
            "kind": "DynamoGraphDeployment",
            "metadata": {"name": "sglang-agg", "namespace": "default", "annotations": {"a": "b"}},
            "spec": {"services": {
                "Frontend": {"componentType": "frontend", "replicas": 2, "extraPodSpec": {"x": 1}},
                "decode": {"componentType": "worker", "resources": {"limits": {"gpu": "1"}}, "envs": []}
            }}
        }));
        assert_eq!(
            dgd.spec.services.keys().collect::<Vec<_>>(),
            ["Frontend", "decode"]
        );
        assert_eq!(dgd.spec.services["Frontend"].effective_replicas(), 2);
        assert_eq!(dgd.spec.services["decode"].effective_replicas(), 1);
        assert_eq!(dgd.spec.services["decode"].gpu_count(), Ok(Some(1)));
    }

    #[test]
    fn gpu_counts_prefer_limits_and_refuse_anything_but_whole_numbers() {
        let dgd = dgd(json!({"spec": {"services": {
            "both": {"resources": {"limits": {"gpu": "2"}, "requests": {"gpu": "1"}}},
            "requests": {"resources": {"requests": {"gpu": "4"}}},
            "none": {},
            "fraction": {"resources": {"limits": {"gpu": "1.5"}}},
            "negative": {"resources": {"requests": {"gpu": "-1"}}}
        }}}));
        let count = |name: &str| dgd.spec.services[name].gpu_count();
        assert_eq!(count("both"), Ok(Some(2)));
        assert_eq!(count("requests"), Ok(Some(4)));
        assert_eq!(count("none"), Ok(None));
        assert_eq!(
            count("fraction").unwrap_err().to_string(),
            r#"resources.limits.gpu is "1.5", not a whole number of GPUs"#
        );
        assert_eq!(
            count("negative").unwrap_err().field,
            "resources.requests.gpu"
        );
    }

    #[test]
    fn multinode_services_count_every_node_and_empty_limits_fall_back() {
        let dgd = dgd(json!({"spec": {"services": {
            "four": {"multinode": {"nodeCount": 4}, "resources": {"limits": {"gpu": "8"}}},
            "default": {"multinode": {}, "resources": {"limits": {"gpu": "8"}}},
            "empty": {"resources": {"limits": {"gpu": ""}, "requests": {"gpu": "2"}}}
        }}}));
        let count = |name: &str| dgd.spec.services[name].gpu_count();
        assert_eq!(count("four"), Ok(Some(32)));
        assert_eq!(count("default"), Ok(Some(16)));
        assert_eq!(count("empty"), Ok(Some(2)));
    }

    #[test]
    fn adapter_needs_enabled_true_and_a_bare_marker_is_seen() {
        let dgd = dgd(json!({"spec": {"services": {
            "a": {"scalingAdapter": {"enabled": true}},
            "b": {"scalingAdapter": {"enabled": false}},
            "c": {"scalingAdapter": {}},
            "d": {}
        }}}));
        let services = &dgd.spec.services;
        let enabled: Vec<_> = services
            .iter()
            .filter(|(_, s)| s.adapter_enabled())
            .map(|(n, _)| n.as_str())
            .collect();
        assert_eq!(enabled, ["a"]);
        let bare: Vec<_> = services
            .iter()
            .filter(|(_, s)| s.has_bare_adapter_marker())
            .map(|(n, _)| n.as_str())
            .collect();
        assert_eq!(bare, ["c"]);
    }

    #[test]
    fn deprecated_autoscaling_counts_empty_objects_but_not_null() {
        let dgd = dgd(json!({"spec": {"services": {
            "empty": {"autoscaling": {}},
            "null": {"autoscaling": null},
            "absent": {}
        }}}));
        assert!(dgd.spec.services["empty"].has_deprecated_autoscaling());
        assert!(!dgd.spec.services["null"].has_deprecated_autoscaling());
        assert!(!dgd.spec.services["absent"].has_deprecated_autoscaling());
    }

    #[test]
    fn roles_fold_sub_component_types_as_the_conversion_does() {
        let dgd = dgd(json!({"spec": {"services": {
            "a": {"componentType": "worker", "subComponentType": "prefill"},
            "b": {"subComponentType": "decode"},
            "c": {"componentType": "worker", "subComponentType": "aggregated"},
            "d": {"componentType": "planner"},
            "e": {}
        }}}));
        let role = |name: &str| dgd.spec.services[name].role();
        assert_eq!(role("a"), crate::dgd::Role::Prefill);
        assert_eq!(role("b"), crate::dgd::Role::Decode);
        assert_eq!(role("c"), crate::dgd::Role::Worker);
        assert_eq!(role("d"), crate::dgd::Role::Planner);
        assert_eq!(role("e"), crate::dgd::Role::Unset);
    }

    #[test]
    fn planner_scales_by_sub_component_type_or_fallback_name() {
        let service = |value: Value| -> DgdService { from_value(&value).unwrap() };
        assert!(is_planner_scaled(
            "x",
            &service(json!({"subComponentType": "prefill"}))
        ));
        assert!(is_planner_scaled("decode", &service(json!({}))));
        assert!(is_planner_scaled(
            "decode",
            &service(json!({"subComponentType": ""}))
        ));
        assert!(!is_planner_scaled(
            "decode",
            &service(json!({"subComponentType": "aggregated"}))
        ));
        assert!(!is_planner_scaled("x", &service(json!({}))));
        assert!(!is_planner_scaled(
            "decode",
            &service(json!({"componentType": "planner"}))
        ));
        assert!(is_planner_scaled(
            "decode",
            &service(json!({"componentType": "worker"}))
        ));
    }

    #[test]
    fn null_spec_and_services_are_empty() {
        assert!(dgd(json!({"spec": null})).spec.services.is_empty());
        assert!(
            dgd(json!({"spec": {"services": null}}))
                .spec
                .services
                .is_empty()
        );
    }
}
