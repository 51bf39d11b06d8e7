//! DynamoGraphDeployment (`nvidia.com/v1alpha1`) and the rules derived from it: adapter names, replica
//! defaults, Planner detection and the `dynamo_namespace` metric label.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::meta::ObjectMeta;
use crate::parse::{null_as_default, present};

/// API group of Dynamo's resources.
pub const GROUP: &str = "nvidia.com";
/// `apiVersion` of DGDs and their adapters.
pub const API_VERSION: &str = "nvidia.com/v1alpha1";
/// Kind of a DynamoGraphDeployment.
pub const KIND: &str = "DynamoGraphDeployment";
/// Plural resource name of DynamoGraphDeployments.
pub const RESOURCE: &str = "dynamographdeployments";
/// Replicas of a service that does not set `replicas`.
pub const DEFAULT_REPLICAS: i32 = 1;
/// `dynamo_namespace` of services with `globalDynamoNamespace: true`.
pub const GLOBAL_DYNAMO_NAMESPACE: &str = "dynamo";
/// The `componentType` that marks the Planner service.
pub const PLANNER_COMPONENT_TYPE: &str = "planner";
/// Service names the Planner scales when a service sets no `subComponentType`.
pub const PLANNER_FALLBACK_SERVICE_NAMES: &[&str] = &[
    "prefill",
    "decode",
    "VllmPrefillWorker",
    "VllmDecodeWorker",
    "TRTLLMPrefillWorker",
    "TRTLLMDecodeWorker",
];

/// A DynamoGraphDeployment, as far as autoscaling is concerned.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct DynamoGraphDeployment {
    /// Object metadata.
    #[serde(deserialize_with = "null_as_default")]
    pub metadata: ObjectMeta,
    /// The desired state.
    #[serde(deserialize_with = "null_as_default")]
    pub spec: DgdSpec,
    /// The observed state.
    #[serde(
        deserialize_with = "null_as_default",
        skip_serializing_if = "Option::is_none"
    )]
    pub status: Option<DgdStatus>,
}

/// `spec` of a DGD.
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
    /// `replicas`; absent means [`DEFAULT_REPLICAS`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// `componentType`: `frontend`, `worker`, `planner`, ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub component_type: Option<String>,
    /// `subComponentType`: `prefill` / `decode` for the services the Planner scales.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_component_type: Option<String>,
    /// `scalingAdapter`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scaling_adapter: Option<ScalingAdapter>,
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
}

/// `scalingAdapter` of a service.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct ScalingAdapter {
    /// `enabled`: only `true` creates an adapter.
    #[serde(deserialize_with = "null_as_default")]
    pub enabled: bool,
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

/// `status` of a DGD.
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
    pub replicas: Option<i32>,
    /// Updated replicas.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_replicas: Option<i32>,
    /// Ready replicas.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ready_replicas: Option<i32>,
    /// Available replicas.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub available_replicas: Option<i32>,
}

impl DgdService {
    /// The replicas the service runs: `replicas`, or [`DEFAULT_REPLICAS`] when absent.
    pub fn effective_replicas(&self) -> i32 {
        effective_replicas(self.replicas)
    }

    /// Whether the service opted into a scaling adapter (`scalingAdapter.enabled: true`).
    pub fn adapter_enabled(&self) -> bool {
        self.scaling_adapter.as_ref().is_some_and(|a| a.enabled)
    }

    /// Whether the service is the Planner.
    pub fn is_planner(&self) -> bool {
        self.component_type.as_deref() == Some(PLANNER_COMPONENT_TYPE)
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

    /// GPUs per replica: `resources.limits.gpu`, else `resources.requests.gpu`, as written.
    pub fn gpus_per_replica(&self) -> Option<&str> {
        self.resources
            .limits
            .gpu
            .as_deref()
            .or(self.resources.requests.gpu.as_deref())
    }

    /// GPUs per replica as a count (`resources.limits.gpu`, else `resources.requests.gpu`); `None` when
    /// neither is set. Dynamo writes whole numbers as strings (`"1"`, `"2"`); anything else is an error.
    pub fn gpu_count(&self) -> Result<Option<u32>, InvalidGpuQuantity> {
        let (field, value) = match (&self.resources.limits.gpu, &self.resources.requests.gpu) {
            (Some(limit), _) => ("resources.limits.gpu", limit),
            (None, Some(request)) => ("resources.requests.gpu", request),
            (None, None) => return Ok(None),
        };
        parse_gpu_quantity(value)
            .map(Some)
            .ok_or_else(|| InvalidGpuQuantity {
                field,
                value: value.clone(),
            })
    }
}

/// A service's GPU quantity that is not a whole, non-negative number of GPUs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidGpuQuantity {
    /// The field, relative to the service: `resources.limits.gpu` or `resources.requests.gpu`.
    pub field: &'static str,
    /// The value as written.
    pub value: String,
}

impl std::fmt::Display for InvalidGpuQuantity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} is {:?}, not a whole number of GPUs",
            self.field, self.value
        )
    }
}

impl std::error::Error for InvalidGpuQuantity {}

/// A GPU quantity as Dynamo writes it: ASCII digits only (`"2"`), no sign, unit or fraction.
pub fn parse_gpu_quantity(value: &str) -> Option<u32> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
}

/// Replicas with the DGD default applied: absent means [`DEFAULT_REPLICAS`].
pub fn effective_replicas(replicas: Option<i32>) -> i32 {
    replicas.unwrap_or(DEFAULT_REPLICAS)
}

/// The name of the scaling adapter of `service` in DGD `dgd`: `<dgd>-<lowercased service>`.
pub fn adapter_name(dgd: &str, service: &str) -> String {
    format!("{dgd}-{}", service.to_lowercase())
}

/// The `dynamo_namespace` metric label of a DGD's services: `<namespace>-<dgd with '.' -> '-'>`,
/// or [`GLOBAL_DYNAMO_NAMESPACE`] for a service with `globalDynamoNamespace: true`.
pub fn dynamo_namespace(namespace: &str, dgd: &str, global: bool) -> String {
    if global {
        GLOBAL_DYNAMO_NAMESPACE.to_owned()
    } else {
        format!("{namespace}-{}", dgd.replace('.', "-"))
    }
}

impl DynamoGraphDeployment {
    /// The DGD's namespace, or `fallback` (the request's) when the object does not say.
    pub fn namespace_or<'a>(&'a self, fallback: &'a str) -> &'a str {
        if self.metadata.namespace.is_empty() {
            fallback
        } else {
            &self.metadata.namespace
        }
    }

    /// Whether the Planner manages this DGD (a service has `componentType: planner`).
    pub fn is_planner_managed(&self) -> bool {
        self.spec.services.values().any(DgdService::is_planner)
    }

    /// The services the Planner scales, in name order; empty when the DGD has no Planner.
    pub fn planner_scaled_services(&self) -> Vec<&str> {
        if !self.is_planner_managed() {
            return Vec::new();
        }
        self.spec
            .services
            .iter()
            .filter(|(name, service)| is_planner_scaled(name, service))
            .map(|(name, _)| name.as_str())
            .collect()
    }

    /// The service whose adapter is named `adapter`, if any.
    pub fn service_for_adapter(&self, adapter: &str) -> Option<(&str, &DgdService)> {
        self.spec
            .services
            .iter()
            .find(|(name, _)| adapter_name(&self.metadata.name, name) == adapter)
            .map(|(name, service)| (name.as_str(), service))
    }

    /// The `dynamo_namespace` label value of `service` (see [`dynamo_namespace`]).
    pub fn dynamo_namespace_of(&self, namespace: &str, service: &DgdService) -> String {
        dynamo_namespace(
            namespace,
            &self.metadata.name,
            service.global_dynamo_namespace.unwrap_or(false),
        )
    }
}

/// Whether the Planner scales a service: its `subComponentType` is `prefill` or `decode`, or it sets none
/// and has one of the [`PLANNER_FALLBACK_SERVICE_NAMES`].
fn is_planner_scaled(name: &str, service: &DgdService) -> bool {
    match service.sub_component_type.as_deref() {
        Some(sub) => sub == "prefill" || sub == "decode",
        None => PLANNER_FALLBACK_SERVICE_NAMES.contains(&name),
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
    fn adapter_names_lowercase_the_service() {
        assert_eq!(adapter_name("sglang-agg", "decode"), "sglang-agg-decode");
        assert_eq!(adapter_name("my-dgd", "MyService"), "my-dgd-myservice");
        assert_eq!(
            adapter_name("sglang-agg", "Frontend"),
            "sglang-agg-frontend"
        );
    }

    #[test]
    fn absent_replicas_mean_one() {
        assert_eq!(effective_replicas(None), 1);
        assert_eq!(effective_replicas(Some(0)), 0);
        assert_eq!(effective_replicas(Some(3)), 3);
    }

    #[test]
    fn dynamo_namespace_replaces_dots_and_honours_global() {
        assert_eq!(
            dynamo_namespace("default", "sglang-agg", false),
            "default-sglang-agg"
        );
        assert_eq!(
            dynamo_namespace("default", "llama.chat", false),
            "default-llama-chat"
        );
        assert_eq!(dynamo_namespace("default", "llama.chat", true), "dynamo");
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
        assert_eq!(dgd.spec.services["decode"].gpus_per_replica(), Some("1"));
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
        for invalid in ["", "+1", "1k", "500m", " 1", "99999999999"] {
            assert_eq!(parse_gpu_quantity(invalid), None, "{invalid:?}");
        }
        assert_eq!(parse_gpu_quantity("0"), Some(0));
    }

    #[test]
    fn adapter_needs_enabled_true() {
        let dgd = dgd(json!({"spec": {"services": {
            "a": {"scalingAdapter": {"enabled": true}},
            "b": {"scalingAdapter": {"enabled": false}},
            "c": {"scalingAdapter": {}},
            "d": {}
        }}}));
        let enabled: Vec<_> = dgd
            .spec
            .services
            .iter()
            .filter(|(_, s)| s.adapter_enabled())
            .map(|(n, _)| n.as_str())
            .collect();
        assert_eq!(enabled, ["a"]);
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
    fn planner_scales_prefill_and_decode_by_sub_component_type_or_name() {
        let dgd = dgd(json!({"spec": {"services": {
            "Frontend": {"componentType": "frontend"},
            "Planner": {"componentType": "planner"},
            "VllmDecodeWorker": {"componentType": "worker"},
            "prefill-workers": {"componentType": "worker", "subComponentType": "prefill"},
            "decode": {"componentType": "worker", "subComponentType": "aggregated"}
        }}}));
        assert!(dgd.is_planner_managed());
        assert_eq!(
            dgd.planner_scaled_services(),
            ["VllmDecodeWorker", "prefill-workers"]
        );
    }

    #[test]
    fn no_planner_means_no_planner_scaled_services() {
        let dgd = dgd(json!({"spec": {"services": {"decode": {"subComponentType": "decode"}}}}));
        assert!(!dgd.is_planner_managed());
        assert!(dgd.planner_scaled_services().is_empty());
    }

    #[test]
    fn adapters_resolve_back_to_their_service() {
        let dgd =
            dgd(json!({"metadata": {"name": "my-dgd"}, "spec": {"services": {"MyService": {}}}}));
        assert_eq!(
            dgd.service_for_adapter("my-dgd-myservice").unwrap().0,
            "MyService"
        );
        assert!(dgd.service_for_adapter("my-dgd-other").is_none());
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
