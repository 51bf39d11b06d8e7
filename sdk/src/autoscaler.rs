//! The autoscalers that drive adapters: HorizontalPodAutoscaler (`autoscaling/v2` and `v1`) and KEDA's
//! ScaledObject (`keda.sh/v1alpha1`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::meta::{ObjectMeta, api_group};
use crate::parse::{Deferred, FieldError, null_as_default};

/// Kind of a HorizontalPodAutoscaler.
pub const HPA_KIND: &str = "HorizontalPodAutoscaler";
/// API group of HPAs.
pub const HPA_GROUP: &str = "autoscaling";
/// Kind of a KEDA ScaledObject.
pub const SCALED_OBJECT_KIND: &str = "ScaledObject";
/// API group of KEDA.
pub const KEDA_GROUP: &str = "keda.sh";
/// `apiVersion` of KEDA ScaledObjects.
pub const KEDA_API_VERSION: &str = "keda.sh/v1alpha1";
/// HPA default `minReplicas`.
pub const HPA_DEFAULT_MIN_REPLICAS: i32 = 1;
/// Default scale-down stabilization window of an HPA, in seconds.
pub const DEFAULT_SCALE_DOWN_STABILIZATION_SECONDS: i32 = 300;
/// KEDA's default `minReplicaCount`: scale to zero.
pub const KEDA_DEFAULT_MIN_REPLICA_COUNT: i32 = 0;
/// KEDA's default `maxReplicaCount`.
pub const KEDA_DEFAULT_MAX_REPLICA_COUNT: i32 = 100;

/// `scaleTargetRef` of an HPA or ScaledObject.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ScaleTargetRef {
    /// The target's `apiVersion` (KEDA lets it be omitted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// The target's kind (KEDA defaults it to `Deployment`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The target's name, in the autoscaler's namespace.
    #[serde(deserialize_with = "null_as_default")]
    pub name: String,
}

impl ScaleTargetRef {
    /// Whether the target is a DynamoGraphDeploymentScalingAdapter: kind
    /// `DynamoGraphDeploymentScalingAdapter` in API group `nvidia.com`, any version.
    pub fn targets_adapter(&self) -> bool {
        self.kind.as_deref() == Some(crate::adapter::KIND)
            && self
                .api_version
                .as_deref()
                .is_some_and(|v| api_group(v) == crate::dgd::GROUP)
    }
}

/// What [`HorizontalPodAutoscaler`] reads, as Kubewarden's `field_masks` name fields.
pub const HPA_FIELDS: &[&str] = &[
    "spec.scaleTargetRef",
    "spec.minReplicas",
    "spec.maxReplicas",
    "spec.behavior.scaleDown.stabilizationWindowSeconds",
    "spec.behavior.scaleUp.stabilizationWindowSeconds",
    "spec.metrics.type",
    "spec.metrics.external.metric",
    "spec.metrics.object.metric",
];

/// A HorizontalPodAutoscaler (`autoscaling/v2`, and the `v1` fields that matter).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct HorizontalPodAutoscaler {
    /// Object metadata.
    #[serde(deserialize_with = "null_as_default")]
    pub metadata: ObjectMeta,
    /// The desired behaviour.
    #[serde(deserialize_with = "null_as_default")]
    pub spec: HpaSpec,
}

/// `spec` of an HPA.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HpaSpec {
    /// What it scales.
    #[serde(deserialize_with = "null_as_default")]
    pub scale_target_ref: ScaleTargetRef,
    /// `minReplicas` (default 1; 0 only with the HPAScaleToZero feature gate).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(deserialize_with = "crate::parse::optional_int32")]
    pub min_replicas: Option<i32>,
    /// `maxReplicas` (required by the API).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(deserialize_with = "crate::parse::optional_int32")]
    pub max_replicas: Option<i32>,
    /// `behavior` (v2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub behavior: Option<HpaBehavior>,
    /// `metrics` (v2), read by [`Self::metrics`].
    #[serde(skip_serializing_if = "Deferred::is_absent")]
    pub metrics: Deferred<Vec<MetricSpec>>,
}

impl HpaSpec {
    /// `metrics`, read from its JSON text; a bad field is named from `spec`
    /// (`spec.metrics[0].type`).
    pub fn metrics(&self) -> Result<Vec<MetricSpec>, FieldError> {
        self.metrics
            .read()
            .map_err(|error| error.under("spec.metrics"))
    }
}

/// `behavior` of an HPA (also KEDA's `advanced.horizontalPodAutoscalerConfig.behavior`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HpaBehavior {
    /// `scaleDown` rules.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale_down: Option<ScalingRules>,
    /// `scaleUp` rules.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale_up: Option<ScalingRules>,
}

/// `scaleDown` / `scaleUp` rules.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ScalingRules {
    /// `stabilizationWindowSeconds`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(deserialize_with = "crate::parse::optional_int32")]
    pub stabilization_window_seconds: Option<i32>,
}

impl HpaBehavior {
    /// The scale-down stabilization window in effect (default 300 s).
    pub fn scale_down_stabilization_seconds(behavior: Option<&Self>) -> i32 {
        behavior
            .and_then(|b| b.scale_down.as_ref())
            .and_then(|rules| rules.stabilization_window_seconds)
            .unwrap_or(DEFAULT_SCALE_DOWN_STABILIZATION_SECONDS)
    }
}

/// One entry of an HPA's `metrics` (v2). Only `External` and `Object` metrics carry label selectors
/// worth checking; the rest is kept as raw JSON.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MetricSpec {
    /// `type`: `Resource`, `Pods`, `Object`, `External`, `ContainerResource`.
    #[serde(rename = "type", deserialize_with = "null_as_default")]
    pub type_: String,
    /// `external`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external: Option<MetricSource>,
    /// `object`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<MetricSource>,
}

/// The `external` / `object` source of an HPA metric.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct MetricSource {
    /// `metric`: the metric's name and label selector.
    #[serde(deserialize_with = "null_as_default")]
    pub metric: MetricIdentifier,
}

/// `metric` of an HPA metric source.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct MetricIdentifier {
    /// The metric's name.
    #[serde(deserialize_with = "null_as_default")]
    pub name: String,
    /// Its label selector.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
}

/// A Kubernetes label selector.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LabelSelector {
    /// `matchLabels`.
    #[serde(
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub match_labels: BTreeMap<String, String>,
    /// `matchExpressions`.
    #[serde(
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub match_expressions: Vec<LabelSelectorRequirement>,
}

/// One entry of `matchExpressions`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct LabelSelectorRequirement {
    /// The label key.
    #[serde(deserialize_with = "null_as_default")]
    pub key: String,
    /// `In`, `NotIn`, `Exists`, `DoesNotExist`.
    #[serde(deserialize_with = "null_as_default")]
    pub operator: String,
    /// The values.
    #[serde(deserialize_with = "null_as_default")]
    pub values: Vec<String>,
}

/// What [`ScaledObject`] reads, as Kubewarden's `field_masks` name fields.
pub const SCALED_OBJECT_FIELDS: &[&str] = &[
    "spec.scaleTargetRef",
    "spec.minReplicaCount",
    "spec.maxReplicaCount",
    "spec.idleReplicaCount",
    "spec.cooldownPeriod",
    "spec.pollingInterval",
    "spec.fallback.failureThreshold",
    "spec.fallback.replicas",
    "spec.advanced.horizontalPodAutoscalerConfig.name",
    "spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.stabilizationWindowSeconds",
    "spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleUp.stabilizationWindowSeconds",
    "spec.triggers.type",
    "spec.triggers.name",
    "spec.triggers.metadata",
];

/// A KEDA ScaledObject (`keda.sh/v1alpha1`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct ScaledObject {
    /// Object metadata.
    #[serde(deserialize_with = "null_as_default")]
    pub metadata: ObjectMeta,
    /// The desired behaviour.
    #[serde(deserialize_with = "null_as_default")]
    pub spec: ScaledObjectSpec,
}

/// `spec` of a ScaledObject.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ScaledObjectSpec {
    /// What it scales.
    #[serde(deserialize_with = "null_as_default")]
    pub scale_target_ref: ScaleTargetRef,
    /// `minReplicaCount` (KEDA's default is 0: scale to zero).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(deserialize_with = "crate::parse::optional_int32")]
    pub min_replica_count: Option<i32>,
    /// `maxReplicaCount` (default 100).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(deserialize_with = "crate::parse::optional_int32")]
    pub max_replica_count: Option<i32>,
    /// `idleReplicaCount`: replicas while no trigger is active; must be lower than the minimum.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(deserialize_with = "crate::parse::optional_int32")]
    pub idle_replica_count: Option<i32>,
    /// `cooldownPeriod` in seconds (default 300).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(deserialize_with = "crate::parse::optional_int32")]
    pub cooldown_period: Option<i32>,
    /// `pollingInterval` in seconds (default 30).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(deserialize_with = "crate::parse::optional_int32")]
    pub polling_interval: Option<i32>,
    /// `fallback`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback: Option<Fallback>,
    /// `advanced`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advanced: Option<Advanced>,
    /// `triggers`, read by [`Self::triggers`].
    #[serde(skip_serializing_if = "Deferred::is_absent")]
    pub triggers: Deferred<Vec<Trigger>>,
}

impl ScaledObjectSpec {
    /// `triggers`, read from their JSON text; a bad field is named from `spec`
    /// (`spec.triggers[0].metadata`).
    pub fn triggers(&self) -> Result<Vec<Trigger>, FieldError> {
        self.triggers
            .read()
            .map_err(|error| error.under("spec.triggers"))
    }
}

/// `fallback` of a ScaledObject.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Fallback {
    /// `failureThreshold`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(deserialize_with = "crate::parse::optional_int32")]
    pub failure_threshold: Option<i32>,
    /// `replicas` to run while the scaler fails.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(deserialize_with = "crate::parse::optional_int32")]
    pub replicas: Option<i32>,
}

/// `advanced` of a ScaledObject.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Advanced {
    /// `horizontalPodAutoscalerConfig`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub horizontal_pod_autoscaler_config: Option<HpaConfig>,
}

/// `advanced.horizontalPodAutoscalerConfig` of a ScaledObject.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct HpaConfig {
    /// `name`: the name KEDA gives its HPA instead of `keda-hpa-<scaledobject>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The `behavior` KEDA passes to its HPA.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub behavior: Option<HpaBehavior>,
}

/// One entry of a ScaledObject's `triggers`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct Trigger {
    /// `type`, e.g. `prometheus`.
    #[serde(rename = "type", deserialize_with = "null_as_default")]
    pub type_: String,
    /// `name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `metadata`: scaler parameters (`query`, `threshold`, `serverAddress`, ...), kept as written.
    #[serde(deserialize_with = "null_as_default")]
    pub metadata: BTreeMap<String, Value>,
}

impl ScaledObject {
    /// The scale-down stabilization window KEDA's HPA will use (default 300 s).
    pub fn scale_down_stabilization_seconds(&self) -> i32 {
        let behavior = self
            .spec
            .advanced
            .as_ref()
            .and_then(|a| a.horizontal_pod_autoscaler_config.as_ref())
            .and_then(|c| c.behavior.as_ref());
        HpaBehavior::scale_down_stabilization_seconds(behavior)
    }
}

/// The prefix of the name KEDA gives the HPA it makes for a ScaledObject: `keda-hpa-<scaledobject>`.
pub const KEDA_HPA_PREFIX: &str = "keda-hpa-";

impl ScaledObject {
    /// The name of the HPA KEDA makes for this ScaledObject: `advanced.horizontalPodAutoscalerConfig.name`,
    /// else `keda-hpa-<name>`.
    pub fn keda_hpa_name(&self) -> String {
        self.spec
            .advanced
            .as_ref()
            .and_then(|advanced| advanced.horizontal_pod_autoscaler_config.as_ref())
            .and_then(|config| config.name.clone())
            .unwrap_or_else(|| format!("{KEDA_HPA_PREFIX}{}", self.metadata.name))
    }
}

impl HorizontalPodAutoscaler {
    /// The KEDA ScaledObject this HPA claims as its controller (a `controller: true` ownerReference to a
    /// `keda.sh` ScaledObject). A claim anyone can write: [`Self::is_made_by_keda_for`] checks it.
    pub fn claimed_scaled_object(&self) -> Option<&str> {
        self.metadata
            .owner_references
            .iter()
            .find(|owner| {
                owner.controller == Some(true)
                    && owner.kind == SCALED_OBJECT_KIND
                    && crate::meta::api_group(&owner.api_version) == KEDA_GROUP
            })
            .map(|owner| owner.name.as_str())
    }

    /// Whether this HPA is the one KEDA made for `scaled_object`: claimed by it as controller, named as
    /// KEDA names it, and scaling the ScaledObject's own target.
    pub fn is_made_by_keda_for(&self, scaled_object: &ScaledObject) -> bool {
        self.claimed_scaled_object() == Some(scaled_object.metadata.name.as_str())
            && self.metadata.name == scaled_object.keda_hpa_name()
            && self.spec.scale_target_ref.name == scaled_object.spec.scale_target_ref.name
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{from_str, from_value};
    use serde_json::json;

    fn target(api_version: Option<&str>, kind: Option<&str>) -> ScaleTargetRef {
        ScaleTargetRef {
            api_version: api_version.map(str::to_owned),
            kind: kind.map(str::to_owned),
            name: "x".into(),
        }
    }

    #[test]
    fn targets_adapter_needs_the_kind_and_the_nvidia_group_in_any_version() {
        let kind = Some("DynamoGraphDeploymentScalingAdapter");
        assert!(target(Some("nvidia.com/v1alpha1"), kind).targets_adapter());
        assert!(target(Some("nvidia.com/v1"), kind).targets_adapter());
        assert!(!target(Some("example.com/v1alpha1"), kind).targets_adapter());
        assert!(!target(None, kind).targets_adapter());
        assert!(!target(Some("apps/v1"), Some("Deployment")).targets_adapter());
        assert!(!target(Some("nvidia.com/v1alpha1"), None).targets_adapter());
    }

    #[test]
    fn keda_hpa_names_its_scaled_object() {
        let hpa: HorizontalPodAutoscaler = from_value(&json!({
            "metadata": {"name": "keda-hpa-s", "ownerReferences": [
                {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "name": "s", "controller": true}
            ]},
            "spec": {"scaleTargetRef": {"kind": "DynamoGraphDeploymentScalingAdapter", "name": "a"}, "maxReplicas": 3}
        }))
        .unwrap();
        assert_eq!(hpa.claimed_scaled_object(), Some("s"));
    }

    #[test]
    fn stabilization_defaults_to_300_seconds() {
        let so: ScaledObject =
            from_value(&json!({"spec": {"scaleTargetRef": {"name": "a"}}})).unwrap();
        assert_eq!(so.scale_down_stabilization_seconds(), 300);
        let so: ScaledObject = from_value(
            &json!({"spec": {"advanced": {"horizontalPodAutoscalerConfig": {
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": 0}}}}}}),
        )
        .unwrap();
        assert_eq!(so.scale_down_stabilization_seconds(), 0);
    }

    #[test]
    fn keda_trigger_metadata_is_kept_as_written() {
        let so: ScaledObject = from_value(
            &json!({"spec": {"triggers": [{"type": "prometheus", "metadata": {
            "query": "sum(dynamo_frontend_queued_requests)", "threshold": "10"}}]}}),
        )
        .unwrap();
        let triggers = so.spec.triggers().unwrap();
        assert_eq!(triggers[0].type_, "prometheus");
        assert_eq!(triggers[0].metadata["threshold"], "10");
    }

    #[test]
    fn metrics_and_triggers_are_read_on_demand_naming_the_bad_field() {
        let hpa: HorizontalPodAutoscaler = from_str(
            r#"{"spec": {"maxReplicas": 2, "metrics": [{"type": "Resource", "resource": {"name": "cpu"}},
                {"type": "External", "external": {"metric": {"name": 5}}}]}}"#,
        )
        .unwrap();
        assert_eq!(hpa.spec.max_replicas, Some(2));
        assert_eq!(
            hpa.spec.metrics().unwrap_err().to_string(),
            "spec.metrics[1].external.metric.name: invalid type: integer `5`, expected a string"
        );
        let so: ScaledObject =
            from_str(r#"{"spec": {"triggers": {"type": "prometheus"}}}"#).unwrap();
        assert_eq!(
            so.spec.triggers().unwrap_err().to_string(),
            "spec.triggers: invalid type: map, expected a sequence"
        );
        for absent in [r#"{"spec": {}}"#, r#"{"spec": {"metrics": null}}"#] {
            let hpa: HorizontalPodAutoscaler = from_str(absent).unwrap();
            assert!(hpa.spec.metrics.is_absent());
            assert_eq!(hpa.spec.metrics().unwrap(), Vec::new());
        }
    }

    #[test]
    fn deferred_fields_are_equal_when_they_read_the_same() {
        let read = |text: &str| from_str::<HorizontalPodAutoscaler>(text).unwrap();
        let whole =
            read(r#"{"spec": {"metrics": [{"type": "Resource", "resource": {"name": "cpu"}}]}}"#);
        let masked = read(r#"{"spec": {"metrics": [{"type": "Resource"}]}}"#);
        assert_eq!(whole, masked);
        assert_ne!(whole, read(r#"{"spec": {"metrics": [{"type": "Pods"}]}}"#));
        assert_eq!(
            read(r#"{"spec": {}}"#),
            read(r#"{"spec": {"metrics": []}}"#)
        );
    }
}
