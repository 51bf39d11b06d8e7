//! The rule: an HPA or ScaledObject that scales a Dynamo scaling adapter keeps sane replica bounds (no
//! scale to zero unless allowed, a maximum at or above the minimum and set explicitly, an idle count below
//! the minimum, a fallback within the bounds), stays under the replica ceiling and the GPU budget of the
//! component (v1alpha1: service) or component group behind its adapter, and is warned about a short
//! scale-down stabilization window. One rule for DGDs and adapters of `nvidia.com/v1alpha1` and
//! `nvidia.com/v1beta1`, read through the sdk's version-neutral view.

use std::fmt;

use scaleguard_sdk::adapter::{ScalingAdapter, UnitRef};
use scaleguard_sdk::autoscaler::{
    HPA_DEFAULT_MIN_REPLICAS, HorizontalPodAutoscaler, HpaBehavior, KEDA_DEFAULT_MAX_REPLICA_COUNT,
    KEDA_DEFAULT_MIN_REPLICA_COUNT, ScaleTargetRef, ScaledObject,
};
use scaleguard_sdk::dgd::{self, DgdVersion, DgdView, Unit, adapter_name, is_adapter_name};
use scaleguard_sdk::response::BAD_REQUEST;
use scaleguard_sdk::review::{
    AdapterResolution, Autoscaler, AutoscalerReview, FieldMasks, Findings, NamespaceObjects,
    ScaledUnit, Violation, autoscaler_verdict, dgd_edit_verdict, lookup_failed,
};
use scaleguard_sdk::{AdmissionRequest, Cluster, LookupError, Policy, Verdict};

use crate::settings::Settings;

/// The `dynamo-autoscaler-bounds` policy.
#[derive(Debug, Clone, Copy)]
pub struct AutoscalerBounds;

/// What the rule reads of the kinds it looks up: the sdk's models whole (the host sends nothing else).
const FIELD_MASKS: FieldMasks = FieldMasks::MODELS;

/// Why scaling to zero is refused, appended to each scale-to-zero violation.
const SCALE_TO_ZERO_REASON: &str = "Dynamo workers at zero replicas drop the model from the frontend (allowScaleToZero: true allows it)";

impl Policy for AutoscalerBounds {
    type Settings = Settings;

    fn evaluate(request: &AdmissionRequest, settings: &Settings, cluster: &dyn Cluster) -> Verdict {
        if request.is_kind(dgd::GROUP, dgd::KIND) {
            return decide_dgd_edit(request, settings, cluster);
        }
        let review = match AutoscalerReview::from_request(request) {
            Ok(review) => review,
            Err(verdict) => return verdict,
        };
        let objects = NamespaceObjects::new(cluster, &review.namespace, &FIELD_MASKS);
        decide(request, &review, settings, &objects).unwrap_or_else(|error| lookup_failed(&error))
    }
}

/// The verdict on a reviewed autoscaler; on UPDATE, what the stored object already violated is only warned
/// about. KEDA's own HPA is judged on its ScaledObject; an HPA only claiming to be it, as a plain HPA.
fn decide(
    request: &AdmissionRequest,
    review: &AutoscalerReview,
    settings: &Settings,
    objects: &NamespaceObjects<'_>,
) -> Result<Verdict, LookupError> {
    autoscaler_verdict(
        request,
        review,
        objects,
        &settings.keda_operator_service_accounts,
        BAD_REQUEST,
        &|autoscaler, objects| findings(autoscaler, settings, objects),
    )
}

/// The verdict on a DGD CREATE or UPDATE with `maxGpusPerAdapter` set: GPUs per replica raised (or a
/// component or group newly reached by an autoscaler) so that an autoscaler of the namespace that
/// scales it may now exceed the budget, is denied, naming the autoscaler.
fn decide_dgd_edit(
    request: &AdmissionRequest,
    settings: &Settings,
    cluster: &dyn Cluster,
) -> Verdict {
    let Some(budget) = settings.max_gpus_per_adapter else {
        return Verdict::accept();
    };
    dgd_edit_verdict(
        request,
        cluster,
        &FIELD_MASKS,
        BAD_REQUEST,
        &|autoscaler, objects| {
            let Some(bounds) = ReplicaBounds::of(autoscaler) else {
                return Ok(Vec::new());
            };
            let mut findings = Findings::default();
            check_gpu_budget(
                autoscaler.target(),
                bounds.max,
                budget,
                objects,
                &mut findings,
            )?;
            Ok(findings.violations)
        },
    )
}

/// Everything `autoscaler` violates or deserves a warning for. Looks the namespace up only for the GPU
/// budget (`maxGpusPerAdapter`).
pub fn findings(
    autoscaler: &Autoscaler,
    settings: &Settings,
    objects: &NamespaceObjects<'_>,
) -> Result<Findings, LookupError> {
    let Some(bounds) = ReplicaBounds::of(autoscaler) else {
        return Ok(Findings {
            violations: vec![Violation::keyed(
                "spec.maxReplicas",
                "spec.maxReplicas is not set: a HorizontalPodAutoscaler needs a maximum",
            )],
            warnings: Vec::new(),
        });
    };
    let mut findings = Findings {
        violations: bounds.violations(settings),
        warnings: Vec::new(),
    };
    if let Some(budget) = settings.max_gpus_per_adapter {
        check_gpu_budget(
            autoscaler.target(),
            bounds.max,
            budget,
            objects,
            &mut findings,
        )?;
    }
    findings
        .warnings
        .extend(bounds.stabilization_warning(settings));
    Ok(findings)
}

/// The value in effect for one field of an autoscaler: as written, or its default when not set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldValue {
    /// The field's path, e.g. `spec.minReplicaCount`.
    pub path: &'static str,
    /// The value in effect.
    pub value: i32,
    /// Whether the field is not set and `value` is its default.
    pub defaulted: bool,
}

impl FieldValue {
    /// The field at `path`: `written`, or `default` when not set.
    pub fn new(path: &'static str, written: Option<i32>, default: i32) -> Self {
        Self {
            path,
            value: written.unwrap_or(default),
            defaulted: written.is_none(),
        }
    }

    /// A field that is set to `value`.
    fn written(path: &'static str, value: i32) -> Self {
        Self::new(path, Some(value), value)
    }
}

impl fmt::Display for FieldValue {
    /// `spec.minReplicaCount (1)`, or `spec.minReplicaCount (not set, so 0)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.defaulted {
            write!(f, "{} (not set, so {})", self.path, self.value)
        } else {
            write!(f, "{} ({})", self.path, self.value)
        }
    }
}

/// The replica bounds and scale-down window of an autoscaler, with the HPA's and KEDA's defaults applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplicaBounds {
    /// Who scales, as messages name it: `the HPA` or `KEDA`.
    pub scaler: &'static str,
    /// The minimum replicas.
    pub min: FieldValue,
    /// The maximum replicas.
    pub max: FieldValue,
    /// KEDA's `idleReplicaCount`, when set.
    pub idle: Option<FieldValue>,
    /// KEDA's `fallback.replicas`, when set.
    pub fallback: Option<FieldValue>,
    /// The scale-down stabilization window in seconds.
    pub scale_down_stabilization: FieldValue,
}

impl ReplicaBounds {
    /// The bounds of `autoscaler`; `None` for an HPA without `maxReplicas` (the API requires it).
    pub fn of(autoscaler: &Autoscaler) -> Option<Self> {
        match autoscaler {
            Autoscaler::Hpa(hpa) => Self::of_hpa(hpa),
            Autoscaler::ScaledObject(so) => Some(Self::of_scaled_object(so)),
        }
    }

    fn of_hpa(hpa: &HorizontalPodAutoscaler) -> Option<Self> {
        let spec = &hpa.spec;
        Some(Self {
            scaler: "the HPA",
            min: FieldValue::new(
                "spec.minReplicas",
                spec.min_replicas,
                HPA_DEFAULT_MIN_REPLICAS,
            ),
            max: FieldValue::written("spec.maxReplicas", spec.max_replicas?),
            idle: None,
            fallback: None,
            scale_down_stabilization: FieldValue::new(
                "spec.behavior.scaleDown.stabilizationWindowSeconds",
                written_window(spec.behavior.as_ref()),
                HpaBehavior::scale_down_stabilization_seconds(spec.behavior.as_ref()),
            ),
        })
    }

    fn of_scaled_object(so: &ScaledObject) -> Self {
        let spec = &so.spec;
        let behavior = spec
            .advanced
            .as_ref()
            .and_then(|advanced| advanced.horizontal_pod_autoscaler_config.as_ref())
            .and_then(|config| config.behavior.as_ref());
        Self {
            scaler: "KEDA",
            min: FieldValue::new(
                "spec.minReplicaCount",
                spec.min_replica_count,
                KEDA_DEFAULT_MIN_REPLICA_COUNT,
            ),
            max: FieldValue::new(
                "spec.maxReplicaCount",
                spec.max_replica_count,
                KEDA_DEFAULT_MAX_REPLICA_COUNT,
            ),
            idle: spec
                .idle_replica_count
                .map(|idle| FieldValue::written("spec.idleReplicaCount", idle)),
            fallback: spec
                .fallback
                .as_ref()
                .and_then(|fallback| fallback.replicas)
                .map(|replicas| FieldValue::written("spec.fallback.replicas", replicas)),
            scale_down_stabilization: FieldValue::new(
                "spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.stabilizationWindowSeconds",
                written_window(behavior),
                so.scale_down_stabilization_seconds(),
            ),
        }
    }

    /// The bound violations, each keyed by its field path and check so an UPDATE can tell new from old.
    pub fn violations(&self, settings: &Settings) -> Vec<Violation> {
        let Self {
            scaler,
            min,
            max,
            idle,
            fallback,
            scale_down_stabilization: _,
        } = *self;
        let mut violations = Vec::new();
        let mut violate = |field: FieldValue, check: &str, message: String, excess: Option<u64>| {
            let violation = Violation::keyed(format!("{} {check}", field.path), message);
            violations.push(match excess {
                Some(excess) => violation.beyond_limit_by(excess),
                None => violation,
            });
        };
        if !settings.allow_scale_to_zero {
            if min.value <= 0 {
                violate(
                    min,
                    "scale-to-zero",
                    format!("{min} lets {scaler} scale to zero: {SCALE_TO_ZERO_REASON}"),
                    None,
                );
            }
            if let Some(idle) = idle {
                violate(
                    idle,
                    "scale-to-zero",
                    format!(
                        "{idle} is set, and an idle replica count is how KEDA scales to zero (0 is the only value it supports): {SCALE_TO_ZERO_REASON}"
                    ),
                    None,
                );
            }
        }
        if max.value < min.value {
            violate(
                max,
                "below-min",
                format!("{max} is below {min}"),
                Some(i64::from(min.value).abs_diff(i64::from(max.value))),
            );
        }
        if max.defaulted && settings.require_explicit_max {
            violate(
                max,
                "explicit",
                format!(
                    "{} is not set, so {scaler} may scale up to {} replicas: set an explicit maximum (or requireExplicitMax: false)",
                    max.path, max.value
                ),
                None,
            );
        }
        if let Some(idle) = idle.filter(|idle| idle.value >= min.value) {
            violate(
                idle,
                "not-below-min",
                format!("{idle} must be lower than {min}"),
                None,
            );
        }
        if let Some(fallback) =
            fallback.filter(|fallback| fallback.value < min.value || fallback.value > max.value)
        {
            violate(
                fallback,
                "out-of-bounds",
                format!("{fallback} must be between {min} and {max}"),
                None,
            );
        }
        if let Some(ceiling) = settings
            .max_replicas_ceiling
            .filter(|&ceiling| i64::from(max.value) > i64::from(ceiling))
        {
            violate(
                max,
                "ceiling",
                format!("{max} is above maxReplicasCeiling ({ceiling})"),
                Some(i64::from(max.value).abs_diff(i64::from(ceiling))),
            );
        }
        violations
    }

    /// The warning for a scale-down stabilization window shorter than the settings' minimum.
    pub fn stabilization_warning(&self, settings: &Settings) -> Option<String> {
        let window = self.scale_down_stabilization;
        let minimum = settings.min_scale_down_stabilization_seconds;
        (i64::from(window.value) < i64::from(minimum)).then(|| {
            format!(
                "{window} is shorter than minScaleDownStabilizationSeconds ({minimum}): {} may remove GPU workers on a brief dip in load and add them back moments later",
                self.scaler
            )
        })
    }
}

/// `scaleDown.stabilizationWindowSeconds` as written in `behavior`.
fn written_window(behavior: Option<&HpaBehavior>) -> Option<i32> {
    behavior
        .and_then(|behavior| behavior.scale_down.as_ref())
        .and_then(|rules| rules.stabilization_window_seconds)
}

/// Checks that `max` replicas of what `adapter` scales (a component, v1alpha1 a service, or a component
/// group; a group's GPUs per replica are its members' times their replicas) need at most `budget` GPUs.
/// Of several components or groups that would give the adapter its name, the only one with its adapter
/// enabled is the one. When it cannot be told, or a GPU quantity is not a whole number, the check is
/// skipped with a warning. `target` is the autoscaler's `scaleTargetRef`, whose `apiVersion`
/// picks the words of the warning that no DGD has the adapter's name.
fn check_gpu_budget(
    target: &ScaleTargetRef,
    max: FieldValue,
    budget: u32,
    objects: &NamespaceObjects<'_>,
    findings: &mut Findings,
) -> Result<(), LookupError> {
    let adapter = target.name.as_str();
    let skipped = |reason: String| format!("GPU budget (maxGpusPerAdapter) not checked: {reason}");
    let target = match objects.resolve(adapter)? {
        AdapterResolution::Found(target) => target,
        AdapterResolution::DanglingAdapter(found) => {
            findings.warnings.push(skipped(format!(
                "adapter {adapter} refers to {} of DynamoGraphDeployment {:?}, which namespace {} does not have",
                referred_unit(found),
                found.spec.dgd_ref.name,
                objects.namespace()
            )));
            return Ok(());
        }
        // Only a component or group with its adapter enabled gets the adapter: when exactly one of
        // the candidates has it, that one is behind the name (the others cannot shadow its GPUs).
        AdapterResolution::Ambiguous(targets) if owners(&targets).len() == 1 => owners(&targets)[0],
        AdapterResolution::Ambiguous(targets) => {
            let candidates: Vec<String> = targets
                .iter()
                .map(|t| format!("{}/{}", t.dgd.name(), t.name()))
                .collect();
            findings.warnings.push(skipped(format!(
                "adapter {adapter} does not exist yet, and several DynamoGraphDeployment {} would get its name: {}",
                unit_nouns(&targets),
                candidates.join(", ")
            )));
            return Ok(());
        }
        AdapterResolution::NotFound => {
            if let Some((dgd, member, group)) = grouped_member(adapter, &objects.dgds()?) {
                findings.warnings.push(skipped(format!(
                    "adapter {adapter} will not exist: component {member} of DynamoGraphDeployment {dgd} scales with its component group {group}, whose adapter is {}",
                    adapter_name(dgd, group)
                )));
                return Ok(());
            }
            let units = match target.api_version.as_deref().and_then(DgdVersion::of) {
                Some(DgdVersion::V1beta1) => "component or component group",
                _ => "service",
            };
            findings.warnings.push(skipped(format!(
                "namespace {} has neither adapter {adapter} nor a DynamoGraphDeployment {units} that would get its name",
                objects.namespace()
            )));
            return Ok(());
        }
    };
    let dgd = target.dgd.name();
    let gpus = match target.gpus_per_replica() {
        Ok(gpus) => gpus.unwrap_or(0),
        Err(error) => {
            // The error names the full path: `spec.services[decode].resources.limits.gpu`, or the
            // `main` container's `nvidia.com/gpu` of the component (or group member).
            findings
                .warnings
                .push(skipped(format!("in DynamoGraphDeployment {dgd}, {error}")));
            return Ok(());
        }
    };
    let replicas = u64::try_from(max.value).unwrap_or(0);
    let total = replicas * u64::from(gpus);
    if total > u64::from(budget) {
        let per_replica = if gpus == 1 { "GPU" } else { "GPUs" };
        findings.violations.push(
            Violation::keyed(
                format!("{} gpu-budget", max.path),
                format!(
                    "{max} × {gpus} {per_replica} per replica of {} of DynamoGraphDeployment {dgd} is {total} GPUs, above maxGpusPerAdapter ({budget})",
                    target.describe()
                ),
            )
            .beyond_limit_by(total - u64::from(budget)),
        );
    }
    Ok(())
}

/// The candidates whose adapter is enabled (v1alpha1 `scalingAdapter.enabled: true`, the v1beta1
/// `scalingAdapter` marker, a worker under the power budget mode): the ones the operator creates it for.
fn owners<'a>(targets: &[ScaledUnit<'a>]) -> Vec<ScaledUnit<'a>> {
    targets
        .iter()
        .filter(|target| target.unit.adapter_enabled())
        .copied()
        .collect()
}

/// The component group member whose name gives `adapter` (`<dgd>-<lowercased member>`), as
/// `(dgd, member, group)`: members have no adapter of their own, their group has one.
fn grouped_member<'a>(adapter: &str, dgds: &[&'a DgdView]) -> Option<(&'a str, &'a str, &'a str)> {
    dgds.iter().find_map(|dgd| {
        dgd.components.iter().find_map(|component| {
            let group = component.group.as_deref()?;
            is_adapter_name(adapter, dgd.name(), &component.name).then_some((
                dgd.name(),
                component.name.as_str(),
                group,
            ))
        })
    })
}

/// What an adapter's `spec.dgdRef` names, as messages say it: `service "decode"` (v1alpha1),
/// `component "decode"` or `component group "Engines"` (v1beta1).
fn referred_unit(adapter: &ScalingAdapter) -> String {
    match adapter.unit_ref() {
        UnitRef::Component(name) => {
            let version = DgdVersion::of(&adapter.api_version).unwrap_or(DgdVersion::V1alpha1);
            format!("{} {name:?}", version.component_noun())
        }
        UnitRef::Group(name) => format!("component group {name:?}"),
    }
}

/// The plural of what `targets` are, e.g. `services` (all v1alpha1), `components`, or
/// `services or components or component groups` when they differ.
fn unit_nouns(targets: &[ScaledUnit<'_>]) -> String {
    let noun = |target: &ScaledUnit<'_>| match target.unit {
        Unit::Component(_) => match target.dgd.version {
            DgdVersion::V1alpha1 => "services",
            DgdVersion::V1beta1 => "components",
        },
        Unit::Group(_) => "component groups",
    };
    let nouns: Vec<&str> = ["services", "components", "component groups"]
        .into_iter()
        .filter(|&wanted| targets.iter().any(|target| noun(target) == wanted))
        .collect();
    nouns.join(" or ")
}

#[cfg(test)]
mod tests {

    use super::*;
    use scaleguard_sdk::ValidationResponse;
    use scaleguard_sdk::autoscaler::DEFAULT_SCALE_DOWN_STABILIZATION_SECONDS;
    use scaleguard_sdk::parse::from_value;
    use scaleguard_test_support::{
        ADAPTERS_V1ALPHA1, ADAPTERS_V1BETA1, DGDS_V1ALPHA1, DGDS_V1BETA1, RecordingCluster,
    };
    use serde_json::{Value, json};

    fn decode_dgd(gpu: &str) -> Value {
        json!({"apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoGraphDeployment",
            "metadata": {"name": "sglang-agg", "namespace": "default"},
            "spec": {"services": {"decode": {"replicas": 1, "scalingAdapter": {"enabled": true},
                "resources": {"limits": {"gpu": gpu}}}}}})
    }

    fn scaled_object(spec: Value) -> Value {
        let mut object = json!({"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
            "metadata": {"name": "sglang-agg-decode-scaler", "namespace": "default"},
            "spec": {"scaleTargetRef": {"apiVersion": "nvidia.com/v1alpha1",
                "kind": "DynamoGraphDeploymentScalingAdapter", "name": "sglang-agg-decode"}}});
        for (key, value) in spec.as_object().into_iter().flatten() {
            object["spec"][key] = value.clone();
        }
        object
    }

    fn evaluate(
        operation: &str,
        object: Value,
        old_object: Value,
        settings: Value,
        cluster: &dyn Cluster,
    ) -> ValidationResponse {
        let request: AdmissionRequest = from_value(&json!({
            "operation": operation, "namespace": "default",
            "kind": {"group": "keda.sh", "version": "v1alpha1", "kind": "ScaledObject"},
            "object": object, "oldObject": old_object
        }))
        .unwrap();
        let settings: Settings = from_value(&settings).unwrap();
        AutoscalerBounds::evaluate(&request, &settings, cluster).into()
    }

    #[test]
    fn without_a_gpu_budget_nothing_is_looked_up() {
        let cluster = RecordingCluster::with(vec![decode_dgd("2")]);
        let bad = scaled_object(json!({"maxReplicaCount": 10}));
        let answer = evaluate("UPDATE", bad.clone(), bad, json!({}), &cluster);
        assert!(answer.accepted);
        assert_eq!(
            answer.warnings.unwrap(),
            [
                "pre-existing violation: spec.minReplicaCount (not set, so 0) lets KEDA scale to zero: Dynamo workers at zero replicas drop the model from the frontend (allowScaleToZero: true allows it)"
            ]
        );
        assert!(cluster.calls().is_empty());
    }

    #[test]
    fn autoscalers_of_anything_but_an_adapter_are_not_looked_up() {
        let cluster = RecordingCluster::with(vec![decode_dgd("2")]);
        let mut object = scaled_object(json!({"maxReplicaCount": 1000}));
        object["spec"]["scaleTargetRef"] = json!({"kind": "Deployment", "name": "web"});
        let answer = evaluate(
            "CREATE",
            object,
            Value::Null,
            json!({"maxGpusPerAdapter": 1}),
            &cluster,
        );
        assert_eq!(answer, ValidationResponse::from(Verdict::accept()));
        assert!(cluster.calls().is_empty());
    }

    #[test]
    fn a_gpu_budget_lists_adapters_and_dgds_once_for_old_and_new_object() {
        let cluster = RecordingCluster::with(vec![decode_dgd("2")]);
        let old = scaled_object(json!({"minReplicaCount": 1, "maxReplicaCount": 4}));
        let new = scaled_object(json!({"minReplicaCount": 1, "maxReplicaCount": 10}));
        let answer = evaluate(
            "UPDATE",
            new,
            old,
            json!({"maxGpusPerAdapter": 16}),
            &cluster,
        );
        assert_eq!(
            answer.message.as_deref(),
            Some(
                "spec.maxReplicaCount (10) × 2 GPUs per replica of service decode of DynamoGraphDeployment sglang-agg is 20 GPUs, above maxGpusPerAdapter (16)"
            )
        );
        assert_eq!(cluster.calls(), [ADAPTERS_V1BETA1, DGDS_V1BETA1]);
    }

    #[test]
    fn a_cluster_without_v1beta1_is_listed_at_v1alpha1() {
        let mut cluster = RecordingCluster::with(vec![decode_dgd("2")]);
        cluster.not_served = vec![ADAPTERS_V1BETA1, DGDS_V1BETA1];
        let object = scaled_object(json!({"minReplicaCount": 1, "maxReplicaCount": 10}));
        let answer = evaluate(
            "CREATE",
            object,
            Value::Null,
            json!({"maxGpusPerAdapter": 16}),
            &cluster,
        );
        assert_eq!(
            answer.message.as_deref(),
            Some(
                "spec.maxReplicaCount (10) × 2 GPUs per replica of service decode of DynamoGraphDeployment sglang-agg is 20 GPUs, above maxGpusPerAdapter (16)"
            )
        );
        assert_eq!(
            cluster.calls(),
            [
                ADAPTERS_V1BETA1,
                ADAPTERS_V1ALPHA1,
                DGDS_V1BETA1,
                DGDS_V1ALPHA1
            ]
        );
    }

    /// A v1beta1 DGD whose group `Engines` runs `prefill` (2 replicas × 1 GPU) and `decode` (1 replica
    /// × 4 GPUs on each of 2 nodes): 10 GPUs per group replica. The sidecar's GPUs do not count.
    fn engines_dgd() -> Value {
        let main = |gpus: &str| {
            json!({"spec": {"containers": [
                {"name": "main", "resources": {"limits": {"nvidia.com/gpu": gpus}}},
                {"name": "sidecar", "resources": {"limits": {"nvidia.com/gpu": "8"}}}]}})
        };
        json!({"apiVersion": "nvidia.com/v1beta1", "kind": "DynamoGraphDeployment",
            "metadata": {"name": "sglang-disagg", "namespace": "default"},
            "spec": {"components": [
                {"name": "decode", "type": "decode", "replicas": 1, "multinode": {},
                 "podTemplate": main("4")},
                {"name": "prefill", "type": "prefill", "replicas": 2, "podTemplate": main("1")},
                {"name": "Frontend", "type": "frontend"}],
              "experimental": {"componentGroups": [{"name": "Engines", "replicas": 1,
                "scalingAdapter": {}, "components": [{"name": "prefill"}, {"name": "decode"}]}]}}})
    }

    #[test]
    fn a_group_adapter_counts_every_member() {
        let cluster = RecordingCluster::with(vec![engines_dgd()]);
        let mut object = scaled_object(json!({"minReplicaCount": 1, "maxReplicaCount": 3}));
        object["spec"]["scaleTargetRef"] = json!({"apiVersion": "nvidia.com/v1beta1",
            "kind": "DynamoGraphDeploymentScalingAdapter", "name": "sglang-disagg-engines"});
        let answer = evaluate(
            "CREATE",
            object,
            Value::Null,
            json!({"maxGpusPerAdapter": 24}),
            &cluster,
        );
        assert_eq!(
            answer.message.as_deref(),
            Some(
                "spec.maxReplicaCount (3) × 10 GPUs per replica of component group Engines of DynamoGraphDeployment sglang-disagg is 30 GPUs, above maxGpusPerAdapter (24)"
            )
        );
    }

    #[test]
    fn dangling_adapters_and_ambiguous_names_use_each_versions_words() {
        let adapter = |api_version: &str, dgd_ref: Value| -> ScalingAdapter {
            from_value(
                &json!({"apiVersion": api_version, "metadata": {"name": "x"},
                "spec": {"replicas": 1, "dgdRef": dgd_ref}}),
            )
            .unwrap()
        };
        assert_eq!(
            referred_unit(&adapter(
                "nvidia.com/v1alpha1",
                json!({"name": "d", "serviceName": "decode"})
            )),
            "service \"decode\""
        );
        assert_eq!(
            referred_unit(&adapter(
                "nvidia.com/v1beta1",
                json!({"name": "d", "componentName": "decode"})
            )),
            "component \"decode\""
        );
        assert_eq!(
            referred_unit(&adapter(
                "nvidia.com/v1beta1",
                json!({"name": "d", "componentGroupName": "Engines"})
            )),
            "component group \"Engines\""
        );
        let dgds = [
            scaleguard_sdk::dgd::DgdView::from_object(&decode_dgd("1")).unwrap(),
            scaleguard_sdk::dgd::DgdView::from_object(&engines_dgd()).unwrap(),
        ];
        let target = |dgd: usize, name: &str| ScaledUnit {
            dgd: &dgds[dgd],
            unit: dgds[dgd]
                .units()
                .into_iter()
                .find(|unit| unit.name() == name)
                .unwrap(),
        };
        assert_eq!(unit_nouns(&[target(0, "decode")]), "services");
        assert_eq!(unit_nouns(&[target(1, "Frontend")]), "components");
        assert_eq!(
            unit_nouns(&[
                target(1, "Engines"),
                target(0, "decode"),
                target(1, "Frontend")
            ]),
            "services or components or component groups"
        );
    }

    #[test]
    fn a_failed_look_up_is_a_500_naming_it() {
        let mut cluster = RecordingCluster::default();
        cluster.failing = vec![ADAPTERS_V1BETA1];
        let object = scaled_object(json!({"minReplicaCount": 1, "maxReplicaCount": 4}));
        let answer = evaluate(
            "CREATE",
            object,
            Value::Null,
            json!({"maxGpusPerAdapter": 16}),
            &cluster,
        );
        assert!(!answer.accepted);
        assert_eq!(answer.code, Some(500));
        assert_eq!(
            answer.message.as_deref(),
            Some(
                "cluster look-up failed: listing nvidia.com/v1beta1/DynamoGraphDeploymentScalingAdapter in namespace default: connection refused"
            )
        );
    }

    #[test]
    fn an_empty_scaled_object_gets_keda_defaults() {
        let so: ScaledObject = from_value(&scaled_object(json!({}))).unwrap();
        let bounds = ReplicaBounds::of(&Autoscaler::ScaledObject(so)).unwrap();
        assert_eq!(
            bounds.min.to_string(),
            "spec.minReplicaCount (not set, so 0)"
        );
        assert_eq!(
            bounds.max.to_string(),
            "spec.maxReplicaCount (not set, so 100)"
        );
        assert_eq!(
            bounds.scale_down_stabilization,
            FieldValue::new(
                "spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.stabilizationWindowSeconds",
                None,
                DEFAULT_SCALE_DOWN_STABILIZATION_SECONDS
            )
        );
        assert_eq!((bounds.idle, bounds.fallback), (None, None));
    }

    #[test]
    fn an_hpa_without_max_replicas_is_a_violation_not_a_crash() {
        let hpa: HorizontalPodAutoscaler = from_value(&json!({"spec": {"scaleTargetRef": {
            "apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoGraphDeploymentScalingAdapter",
            "name": "a"}, "minReplicas": 0}}))
        .unwrap();
        let cluster = RecordingCluster::default();
        let objects = NamespaceObjects::new(&cluster, "default", &FIELD_MASKS);
        let found = findings(&Autoscaler::Hpa(hpa), &Settings::default(), &objects).unwrap();
        assert_eq!(
            found.violations,
            [Violation::keyed(
                "spec.maxReplicas",
                "spec.maxReplicas is not set: a HorizontalPodAutoscaler needs a maximum"
            )]
        );
    }

    #[test]
    fn a_fallback_is_checked_against_both_bounds() {
        let settings = Settings::default();
        let messages = |fallback: i32| {
            let so: ScaledObject = from_value(&scaled_object(json!({"minReplicaCount": 2,
                "maxReplicaCount": 4, "fallback": {"failureThreshold": 3, "replicas": fallback}})))
            .unwrap();
            ReplicaBounds::of(&Autoscaler::ScaledObject(so))
                .unwrap()
                .violations(&settings)
                .into_iter()
                .map(|v| v.message)
                .collect::<Vec<_>>()
        };
        assert!(messages(2).is_empty());
        assert!(messages(4).is_empty());
        assert_eq!(
            messages(1),
            [
                "spec.fallback.replicas (1) must be between spec.minReplicaCount (2) and spec.maxReplicaCount (4)"
            ]
        );
        assert_eq!(messages(5).len(), 1);
    }
}
