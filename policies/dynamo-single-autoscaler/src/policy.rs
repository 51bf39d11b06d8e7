//! The rule: one autoscaler per scaling adapter. An HPA or ScaledObject may not target an adapter that
//! another HPA, another ScaledObject or the Dynamo Planner already scales, and a DGD may not bring a
//! Planner onto a component (v1alpha1: service) or component group whose adapter an HPA or ScaledObject
//! already scales. KEDA's own HPA is that ScaledObject, not a second autoscaler: an HPA the ScaledObject
//! of the namespace made (its controller, `keda-hpa-<so>` or the configured name, the same target) and,
//! for the HPA under review, written by KEDA's operator (`kedaOperatorServiceAccounts`). An HPA that only
//! claims it is judged as a plain HPA, with a warning.
//!
//! Both served versions of Dynamo's API are one rule: DGDs are read into the sdk's version-neutral
//! [`DgdView`], adapters of either version resolve through [`resolve_adapter`], and an autoscaler's
//! `scaleTargetRef.apiVersion` (`nvidia.com/v1alpha1` or `/v1beta1`) does not matter: an adapter is one
//! object whatever version names it. The messages name adapters, autoscalers and DGDs only, so they read
//! the same in both versions.

use std::collections::BTreeSet;
use std::fmt;

use scaleguard_sdk::adapter;
use scaleguard_sdk::dgd::{self, DgdView};
use scaleguard_sdk::response::{BAD_REQUEST, FORBIDDEN};
use scaleguard_sdk::review::{
    Autoscaler, AutoscalerReview, FieldMasks, Findings, NamespaceObjects, Violation,
    autoscaler_verdict, lookup_failed, resolve_adapter,
};
use scaleguard_sdk::{
    AdmissionRequest, Cluster, FieldError, LookupError, Operation, Policy, Verdict,
};

use crate::settings::Settings;

/// The `dynamo-single-autoscaler` policy.
#[derive(Debug, Clone, Copy)]
pub struct SingleAutoscaler;

/// What the rule reads of the kinds it looks up: the sdk's models whole (the host sends nothing else).
const FIELD_MASKS: FieldMasks = FieldMasks::MODELS;

impl Policy for SingleAutoscaler {
    type Settings = Settings;

    fn evaluate(request: &AdmissionRequest, settings: &Settings, cluster: &dyn Cluster) -> Verdict {
        let decision = if request.is_kind(dgd::GROUP, dgd::KIND) {
            review_dgd(request, settings, cluster)
        } else {
            match AutoscalerReview::from_request(request) {
                Ok(review) => review_autoscaler(request, &review, settings, cluster),
                Err(verdict) => return verdict,
            }
        };
        decision.unwrap_or_else(|error| lookup_failed(&error))
    }
}

/// Something that scales an adapter besides the object under review.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Scaler {
    /// An HPA or ScaledObject, by kind and name; KEDA's HPA counts as its ScaledObject.
    Autoscaler {
        /// `HorizontalPodAutoscaler` or `ScaledObject`.
        kind: &'static str,
        /// Its name.
        name: String,
    },
    /// The Dynamo Planner of a DGD.
    Planner {
        /// The DGD's name.
        dgd: String,
    },
}

impl Scaler {
    /// The autoscaler `autoscaler` stands for (KEDA's own HPA: its ScaledObject).
    fn of(autoscaler: &Autoscaler, objects: &NamespaceObjects<'_>) -> Result<Self, LookupError> {
        let (kind, name) = objects.counts_as(autoscaler)?;
        Ok(Self::Autoscaler { kind, name })
    }

    /// The Planner of `dgd`.
    fn planner_of(dgd: &DgdView) -> Self {
        Self::Planner {
            dgd: dgd.name().to_owned(),
        }
    }

    /// What identifies this scaler on `adapter` across the old and the new object of an UPDATE (and
    /// across versions: neither the DGD's nor the adapter's version is part of it).
    fn key(&self, adapter: &str) -> String {
        match self {
            Self::Autoscaler { kind, name } => format!("{adapter}/{kind}/{name}"),
            Self::Planner { dgd } => format!("{adapter}/Planner/{dgd}"),
        }
    }
}

impl fmt::Display for Scaler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Autoscaler { kind, name } => write!(f, "{kind} {name}"),
            Self::Planner { dgd } => write!(f, "the Dynamo Planner of {} {dgd}", dgd::KIND),
        }
    }
}

/// An HPA or ScaledObject targeting an adapter: the conflicts of the new object, less those the stored
/// object already had.
fn review_autoscaler(
    request: &AdmissionRequest,
    review: &AutoscalerReview,
    settings: &Settings,
    cluster: &dyn Cluster,
) -> Result<Verdict, LookupError> {
    let objects = NamespaceObjects::new(cluster, &review.namespace, &FIELD_MASKS);
    autoscaler_verdict(
        request,
        review,
        &objects,
        &settings.keda_operator_service_accounts,
        FORBIDDEN,
        &|autoscaler, objects| autoscaler_conflicts(autoscaler, objects, settings),
    )
}

/// Who else scales the adapter `autoscaler` targets: other HPAs and ScaledObjects of the namespace that
/// target an adapter of that name in any `nvidia.com` version (the object itself excepted, whatever the
/// operation: the audit scanner reviews stored objects as CREATEs) and, when `plannerConflicts` is on,
/// the Planner of the adapter's DGD when it scales the adapter's component, or a member of its
/// component group.
fn autoscaler_conflicts(
    autoscaler: &Autoscaler,
    objects: &NamespaceObjects<'_>,
    settings: &Settings,
) -> Result<Findings, LookupError> {
    let Some(adapter) = autoscaler.adapter() else {
        return Ok(Findings::default());
    };
    let others = objects.autoscalers_of(adapter)?;
    // The object under review counts as itself: a claim of KEDA ownership it makes was judged already.
    let itself = Scaler::Autoscaler {
        kind: autoscaler.kind(),
        name: autoscaler.name().to_owned(),
    };
    let mut scalers = BTreeSet::new();
    for other in &others {
        let scaler = Scaler::of(other, objects)?;
        if scaler != itself && !is_made_by_keda_for(other, autoscaler, objects)? {
            scalers.insert(scaler);
        }
    }
    if settings.planner_conflicts {
        let resolution = objects.resolve(adapter)?;
        let planners = resolution
            .candidates()
            .iter()
            .filter(|target| target.is_planner_scaled())
            .map(|target| Scaler::planner_of(target.dgd));
        scalers.extend(planners);
    }
    let namespace = objects.namespace();
    Ok(Findings {
        violations: scalers
            .iter()
            .map(|scaler| {
                Violation::keyed(
                    scaler.key(adapter),
                    format!(
                        "{} {namespace}/{adapter} is already scaled by {scaler}; use one autoscaler per adapter",
                        adapter::KIND
                    ),
                )
            })
            .collect(),
        warnings: Vec::new(),
    })
}

/// Whether `other` is the HPA KEDA made for `autoscaler`, the ScaledObject under review (it *is* that
/// ScaledObject, not a second autoscaler).
fn is_made_by_keda_for(
    other: &Autoscaler,
    autoscaler: &Autoscaler,
    objects: &NamespaceObjects<'_>,
) -> Result<bool, LookupError> {
    let Autoscaler::ScaledObject(so) = autoscaler else {
        return Ok(false);
    };
    Ok(
        matches!(other, Autoscaler::Hpa(hpa) if hpa.is_made_by_keda_for(so))
            || objects
                .kedas_hpa_of(other)?
                .is_some_and(|of| of.metadata.name == so.metadata.name),
    )
}

/// A DGD CREATE or UPDATE, in either version: a Planner may not take over components (or component
/// groups) whose adapter an HPA or ScaledObject already scales, unless the stored DGD already had that
/// conflict.
fn review_dgd(
    request: &AdmissionRequest,
    settings: &Settings,
    cluster: &dyn Cluster,
) -> Result<Verdict, LookupError> {
    if !settings.planner_conflicts
        || !matches!(request.operation, Operation::Create | Operation::Update)
    {
        return Ok(Verdict::accept());
    }
    let dgd = match request.dgd_object() {
        Ok(dgd) => dgd,
        Err(error) => return Ok(invalid_dgd(&error)),
    };
    if request.updates_object_being_deleted(&dgd.metadata) || !dgd.is_planner_managed() {
        return Ok(Verdict::accept());
    }
    let old = match request.operation {
        // Errors are named below `oldObject` (`oldObject.spec.components[1].replicas`).
        Operation::Update => match request.old_dgd_object() {
            Ok(old) => Some(old),
            Err(error) => return Ok(invalid_dgd(&error)),
        },
        _ => None,
    };
    let objects =
        NamespaceObjects::new(cluster, dgd.namespace_or(&request.namespace), &FIELD_MASKS);
    let after = planner_conflicts(&dgd, &objects)?;
    let before = old
        .as_ref()
        .map(|old| planner_conflicts(old, &objects))
        .transpose()?;
    Ok(after.verdict(before.as_ref(), FORBIDDEN))
}

fn invalid_dgd(error: &FieldError) -> Verdict {
    Verdict::reject(BAD_REQUEST, format!("invalid {}: {error}", dgd::KIND))
}

/// The HPAs and ScaledObjects of the namespace that target the adapter of a component (v1alpha1:
/// service) or component group `dgd`'s Planner scales (a group: when the Planner scales one of its
/// members). That adapter is the existing adapter, of either version, whose `spec.dgdRef` names it, or,
/// before the adapter exists, the one named `<dgd>-<lowercased component or group>`.
fn planner_conflicts(
    dgd: &DgdView,
    objects: &NamespaceObjects<'_>,
) -> Result<Findings, LookupError> {
    if !dgd.is_planner_managed() {
        return Ok(Findings::default());
    }
    let adapters_of_dgd = objects.adapters_of(dgd.name())?;
    let mut conflicts: BTreeSet<(&str, Scaler)> = BTreeSet::new();
    for autoscaler in objects.autoscalers_of_dgd(&adapters_of_dgd)? {
        let Some(adapter) = autoscaler.adapter() else {
            continue;
        };
        let planner_scaled = resolve_adapter(adapter, adapters_of_dgd.adapters(), &[dgd])
            .candidates()
            .iter()
            .any(|target| target.is_planner_scaled());
        if planner_scaled {
            conflicts.insert((adapter, Scaler::of(autoscaler, objects)?));
        }
    }
    let planner = Scaler::planner_of(dgd);
    let namespace = objects.namespace();
    Ok(Findings {
        violations: conflicts
            .iter()
            .map(|(adapter, scaler)| {
                Violation::keyed(
                    scaler.key(adapter),
                    format!(
                        "{} {namespace}/{adapter} is already scaled by {scaler}, and {planner} would scale it too; use one autoscaler per adapter",
                        adapter::KIND
                    ),
                )
            })
            .collect(),
        warnings: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use scaleguard_test_support::{
        ADAPTER_KIND as ADAPTER_REF, ADAPTERS_V1ALPHA1, ADAPTERS_V1BETA1, DGDS_V1ALPHA1,
        DGDS_V1BETA1, HPAS, RecordingCluster, SCALED_OBJECTS, V1ALPHA1, V1BETA1, adapter,
        adapter_v1beta1, request,
    };
    use serde_json::{Value, json};

    fn hpa(name: &str, target_kind: &str, target: &str) -> Value {
        scaleguard_test_support::hpa(name, V1ALPHA1, target_kind, target)
    }

    fn keda_hpa(scaled_object: &str, target: &str) -> Value {
        let mut hpa = hpa(&format!("keda-hpa-{scaled_object}"), ADAPTER_REF, target);
        hpa["metadata"]["ownerReferences"] = json!([{"apiVersion": "keda.sh/v1alpha1",
            "kind": "ScaledObject", "name": scaled_object, "controller": true}]);
        hpa
    }

    fn scaled_object(name: &str, target_kind: &str, target: &str) -> Value {
        scaleguard_test_support::scaled_object(name, V1ALPHA1, target_kind, target)
    }

    /// `sglang-disagg`, with a Planner that scales `decode` and `prefill` (not `Frontend`).
    fn planner_dgd() -> Value {
        json!({"apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoGraphDeployment",
            "metadata": {"name": "sglang-disagg", "namespace": "default"},
            "spec": {"services": {
                "Frontend": {"componentType": "frontend", "scalingAdapter": {"enabled": true}},
                "Planner": {"componentType": "planner"},
                "decode": {"componentType": "worker", "subComponentType": "decode",
                    "scalingAdapter": {"enabled": true}},
                "prefill": {"componentType": "worker", "subComponentType": "prefill",
                    "scalingAdapter": {"enabled": true}}}}})
    }

    fn without_planner(mut dgd: Value) -> Value {
        if let Some(services) = dgd["spec"]["services"].as_object_mut() {
            services.remove("Planner");
        } else if let Some(components) = dgd["spec"]["components"].as_array_mut() {
            components.retain(|c| c["type"] != "planner");
        }
        dgd
    }

    fn component(name: &str, component_type: &str, adapter: bool) -> Value {
        let mut component = json!({"name": name, "type": component_type,
            "podTemplate": {"spec": {"containers": [{"name": "main"}]}}});
        if adapter {
            component["scalingAdapter"] = json!({});
        }
        component
    }

    /// [`planner_dgd`] in v1beta1: `type: planner` scales the `type: prefill` and `type: decode`
    /// components; the adapters are the bare `scalingAdapter: {}` marker.
    fn planner_dgd_v1beta1() -> Value {
        json!({"apiVersion": "nvidia.com/v1beta1", "kind": "DynamoGraphDeployment",
            "metadata": {"name": "sglang-disagg", "namespace": "default"},
            "spec": {"components": [
                component("Frontend", "frontend", true),
                component("Planner", "planner", false),
                component("decode", "decode", true),
                component("prefill", "prefill", true)]}})
    }

    /// `sglang-disagg` in v1beta1 with a Planner, `prefill` and `decode` scaling together in component
    /// group `Engines`, whose adapter is `sglang-disagg-engines`.
    fn engines_dgd() -> Value {
        json!({"apiVersion": "nvidia.com/v1beta1", "kind": "DynamoGraphDeployment",
            "metadata": {"name": "sglang-disagg", "namespace": "default"},
            "spec": {"components": [
                component("Frontend", "frontend", true),
                component("Planner", "planner", false),
                component("decode", "decode", false),
                component("prefill", "prefill", false)],
              "experimental": {"componentGroups": [{"name": "Engines", "replicas": 1,
                "scalingAdapter": {}, "components": [{"name": "prefill"}, {"name": "decode"}]}]}}})
    }

    fn evaluate(request: &AdmissionRequest, cluster: &RecordingCluster) -> Verdict {
        SingleAutoscaler::evaluate(request, &Settings::default(), cluster)
    }

    fn denied(message: &str) -> Verdict {
        Verdict::reject(FORBIDDEN, message)
    }

    fn planner_conflict(adapter: &str) -> String {
        format!(
            "DynamoGraphDeploymentScalingAdapter default/{adapter} is already scaled by the Dynamo Planner of DynamoGraphDeployment sglang-disagg; use one autoscaler per adapter"
        )
    }

    fn dgd_conflict(adapter: &str, scaler: &str) -> String {
        format!(
            "DynamoGraphDeploymentScalingAdapter default/{adapter} is already scaled by {scaler}, and the Dynamo Planner of DynamoGraphDeployment sglang-disagg would scale it too; use one autoscaler per adapter"
        )
    }

    fn rejection(verdict: Verdict) -> (u16, String) {
        let Verdict::Reject { code, message, .. } = verdict else {
            panic!("expected a rejection, got {verdict:?}");
        };
        (code, message)
    }

    #[test]
    fn autoscalers_of_anything_but_an_adapter_are_accepted_without_look_ups() {
        let cluster = RecordingCluster::with(vec![hpa("other", "Deployment", "web")]);
        let requests = [
            request("CREATE", &hpa("web", "Deployment", "web"), None),
            request("CREATE", &scaled_object("web", "Deployment", "web"), None),
        ];
        for request in &requests {
            assert_eq!(evaluate(request, &cluster), Verdict::accept());
        }
        assert_eq!(cluster.calls(), Vec::<String>::new());
    }

    #[test]
    fn dgds_without_a_planner_are_accepted_without_look_ups() {
        let cluster = RecordingCluster::with(vec![hpa("h", ADAPTER_REF, "sglang-disagg-decode")]);
        for dgd in [
            without_planner(planner_dgd()),
            without_planner(planner_dgd_v1beta1()),
        ] {
            assert_eq!(
                evaluate(&request("CREATE", &dgd, None), &cluster),
                Verdict::accept()
            );
        }
        assert_eq!(cluster.calls(), Vec::<String>::new());
    }

    #[test]
    fn an_hpa_on_an_adapter_a_scaled_object_scales_is_denied() {
        let cluster = RecordingCluster::with(vec![
            scaled_object("sglang-agg-decode-scaler", ADAPTER_REF, "sglang-agg-decode"),
            keda_hpa("sglang-agg-decode-scaler", "sglang-agg-decode"),
        ]);
        let hpa = hpa("sglang-agg-decode-hpa", ADAPTER_REF, "sglang-agg-decode");
        assert_eq!(
            evaluate(&request("CREATE", &hpa, None), &cluster),
            denied(
                "DynamoGraphDeploymentScalingAdapter default/sglang-agg-decode is already scaled by ScaledObject sglang-agg-decode-scaler; use one autoscaler per adapter"
            )
        );
        // One call per kind; Dynamo's kinds at v1beta1, the storage version, first.
        assert_eq!(
            cluster.calls(),
            [HPAS, SCALED_OBJECTS, ADAPTERS_V1BETA1, DGDS_V1BETA1]
        );
    }

    /// `request` as KEDA's operator sends it.
    fn from_keda(mut request: AdmissionRequest) -> AdmissionRequest {
        request.user_info = Some(scaleguard_sdk::UserInfo {
            username: "system:serviceaccount:keda:keda-operator".into(),
            ..scaleguard_sdk::UserInfo::default()
        });
        request
    }

    #[test]
    fn kedas_own_hpa_is_its_scaled_object() {
        let scaler = scaled_object("s", ADAPTER_REF, "sglang-agg-decode");
        let cluster =
            RecordingCluster::with(vec![scaler.clone(), keda_hpa("s", "sglang-agg-decode")]);
        let created = keda_hpa("s", "sglang-agg-decode");
        assert_eq!(
            evaluate(&from_keda(request("CREATE", &created, None)), &cluster),
            Verdict::accept()
        );
        // Updating the ScaledObject does not make its own HPA a second autoscaler.
        assert_eq!(
            evaluate(&request("UPDATE", &scaler, Some(&scaler)), &cluster),
            Verdict::accept()
        );
        // Nor when the ScaledObject names the adapter at v1beta1 and its HPA at v1alpha1.
        let scaler_v1beta1 =
            scaleguard_test_support::scaled_object("s", V1BETA1, ADAPTER_REF, "sglang-agg-decode");
        let cluster = RecordingCluster::with(vec![scaler_v1beta1.clone(), created.clone()]);
        assert_eq!(
            evaluate(&from_keda(request("CREATE", &created, None)), &cluster),
            Verdict::accept()
        );
        assert_eq!(
            evaluate(
                &request("UPDATE", &scaler_v1beta1, Some(&scaler_v1beta1)),
                &cluster
            ),
            Verdict::accept()
        );
        // An HPA claiming a ScaledObject that targets another adapter is an HPA like any other.
        let cluster = RecordingCluster::with(vec![
            scaled_object("s", ADAPTER_REF, "sglang-agg-prefill"),
            scaled_object("t", ADAPTER_REF, "sglang-agg-decode"),
        ]);
        assert_eq!(
            evaluate(&from_keda(request("CREATE", &created, None)), &cluster),
            Verdict::Reject {
                code: FORBIDDEN,
                message: "DynamoGraphDeploymentScalingAdapter default/sglang-agg-decode is already scaled by ScaledObject t; use one autoscaler per adapter".into(),
                warnings: vec!["HorizontalPodAutoscaler keda-hpa-s claims to be the HPA KEDA made for ScaledObject s (a controller ownerReference), but KEDA names that HPA keda-hpa-s and points it at sglang-agg-prefill: it is judged as a plain HorizontalPodAutoscaler".into()],
            }
        );
        // So is the right HPA sent by anyone but KEDA's operator: a second autoscaler beside s.
        let cluster = RecordingCluster::with(vec![scaler.clone()]);
        let Verdict::Reject {
            message, warnings, ..
        } = evaluate(&request("CREATE", &created, None), &cluster)
        else {
            panic!("a hand-written HPA beside the ScaledObject is denied");
        };
        assert_eq!(
            message,
            "DynamoGraphDeploymentScalingAdapter default/sglang-agg-decode is already scaled by ScaledObject s; use one autoscaler per adapter"
        );
        assert!(warnings[0].ends_with("not from KEDA's operator (kedaOperatorServiceAccounts): it is judged as a plain HorizontalPodAutoscaler"));
    }

    #[test]
    fn another_scaled_objects_hpa_counts_as_that_scaled_object_once_and_a_forged_one_as_an_hpa() {
        let cluster = RecordingCluster::with(vec![
            scaled_object("first", ADAPTER_REF, "sglang-agg-decode"),
            keda_hpa("first", "sglang-agg-decode"),
            keda_hpa("gone", "sglang-agg-decode"),
            hpa("manual", ADAPTER_REF, "sglang-agg-decode"),
        ]);
        let second = scaled_object("second", ADAPTER_REF, "sglang-agg-decode");
        let conflict = |scaler: &str| {
            format!(
                "DynamoGraphDeploymentScalingAdapter default/sglang-agg-decode is already scaled by {scaler}; use one autoscaler per adapter"
            )
        };
        // keda-hpa-gone claims a ScaledObject the namespace does not have: it is a plain HPA.
        let expected = [
            conflict("HorizontalPodAutoscaler keda-hpa-gone"),
            conflict("HorizontalPodAutoscaler manual"),
            conflict("ScaledObject first"),
        ];
        assert_eq!(
            evaluate(&request("CREATE", &second, None), &cluster),
            denied(&expected.join("; "))
        );
    }

    #[test]
    fn an_adapter_is_one_adapter_whatever_version_names_it() {
        // The ScaledObject names the adapter at v1alpha1, the new HPA at v1beta1, and the reverse.
        for (existing, new) in [(V1ALPHA1, V1BETA1), (V1BETA1, V1ALPHA1)] {
            let cluster = RecordingCluster::with(vec![
                adapter("sglang-agg-decode", "sglang-agg", "decode"),
                scaleguard_test_support::scaled_object(
                    "s",
                    existing,
                    ADAPTER_REF,
                    "sglang-agg-decode",
                ),
            ]);
            let hpa = scaleguard_test_support::hpa("h", new, ADAPTER_REF, "sglang-agg-decode");
            assert_eq!(
                evaluate(&request("CREATE", &hpa, None), &cluster),
                denied(
                    "DynamoGraphDeploymentScalingAdapter default/sglang-agg-decode is already scaled by ScaledObject s; use one autoscaler per adapter"
                ),
                "{existing} then {new}"
            );
        }
    }

    #[test]
    fn the_planner_conflicts_on_the_services_it_scales_only() {
        let cluster = RecordingCluster::with(vec![planner_dgd()]);
        let on_decode = hpa("d", ADAPTER_REF, "sglang-disagg-decode");
        assert_eq!(
            evaluate(&request("CREATE", &on_decode, None), &cluster),
            denied(&planner_conflict("sglang-disagg-decode"))
        );
        let on_frontend = hpa("f", ADAPTER_REF, "sglang-disagg-frontend");
        assert_eq!(
            evaluate(&request("CREATE", &on_frontend, None), &cluster),
            Verdict::accept()
        );
        let ignoring_planner = Settings {
            planner_conflicts: false,
            ..Settings::default()
        };
        let cluster = RecordingCluster::with(vec![planner_dgd()]);
        assert_eq!(
            SingleAutoscaler::evaluate(
                &request("CREATE", &on_decode, None),
                &ignoring_planner,
                &cluster
            ),
            Verdict::accept()
        );
        assert_eq!(cluster.calls(), [HPAS, SCALED_OBJECTS]);
    }

    #[test]
    fn the_v1beta1_planner_conflicts_on_the_prefill_and_decode_components_only() {
        let mut dgd = planner_dgd_v1beta1();
        dgd["spec"]["components"]
            .as_array_mut()
            .unwrap()
            .push(component("agg", "worker", true));
        let cluster = RecordingCluster::with(vec![dgd]);
        for (target, decision) in [
            (
                "sglang-disagg-decode",
                denied(&planner_conflict("sglang-disagg-decode")),
            ),
            (
                "sglang-disagg-prefill",
                denied(&planner_conflict("sglang-disagg-prefill")),
            ),
            ("sglang-disagg-frontend", Verdict::accept()),
            ("sglang-disagg-agg", Verdict::accept()),
            ("sglang-disagg-planner", Verdict::accept()),
        ] {
            for version in [V1ALPHA1, V1BETA1] {
                let hpa = scaleguard_test_support::hpa("h", version, ADAPTER_REF, target);
                assert_eq!(
                    evaluate(&request("CREATE", &hpa, None), &cluster),
                    decision,
                    "{target} at {version}"
                );
            }
        }
    }

    #[test]
    fn a_component_group_adapter_is_planner_scaled_through_its_members() {
        let cluster = RecordingCluster::with(vec![engines_dgd()]);
        let on_engines =
            scaleguard_test_support::hpa("e", V1BETA1, ADAPTER_REF, "sglang-disagg-engines");
        assert_eq!(
            evaluate(&request("CREATE", &on_engines, None), &cluster),
            denied(&planner_conflict("sglang-disagg-engines"))
        );
        // A member has no adapter of its own: its name leads nowhere.
        let on_member =
            scaleguard_test_support::hpa("d", V1BETA1, ADAPTER_REF, "sglang-disagg-decode");
        assert_eq!(
            evaluate(&request("CREATE", &on_member, None), &cluster),
            Verdict::accept()
        );
        // The existing group adapter, whatever its name, leads to the group through dgdRef.
        let cluster = RecordingCluster::with(vec![
            engines_dgd(),
            adapter_v1beta1(
                "engines",
                "sglang-disagg",
                json!({"componentGroupName": "Engines"}),
            ),
        ]);
        let on_custom =
            scaleguard_test_support::scaled_object("c", V1ALPHA1, ADAPTER_REF, "engines");
        assert_eq!(
            evaluate(&request("CREATE", &on_custom, None), &cluster),
            denied(&planner_conflict("engines"))
        );
        // A group of components the Planner does not scale is no conflict.
        let mut frontends = engines_dgd();
        frontends["spec"]["experimental"]["componentGroups"][0]["components"] =
            json!([{"name": "Frontend"}]);
        let cluster = RecordingCluster::with(vec![frontends]);
        assert_eq!(
            evaluate(&request("CREATE", &on_engines, None), &cluster),
            Verdict::accept()
        );
    }

    #[test]
    fn an_existing_adapter_leads_to_its_service_through_dgd_ref() {
        // The adapter `custom` scales the Planner-scaled `prefill`, whatever its name says.
        let cluster = RecordingCluster::with(vec![
            planner_dgd(),
            adapter("custom", "sglang-disagg", "prefill"),
            adapter("sglang-disagg-decode", "sglang-disagg", "Frontend"),
        ]);
        let on_custom = scaled_object("c", ADAPTER_REF, "custom");
        assert_eq!(
            evaluate(&request("CREATE", &on_custom, None), &cluster),
            denied(&planner_conflict("custom"))
        );
        let on_decode_named = scaled_object("d", ADAPTER_REF, "sglang-disagg-decode");
        assert_eq!(
            evaluate(&request("CREATE", &on_decode_named, None), &cluster),
            Verdict::accept()
        );
    }

    #[test]
    fn adapters_and_dgds_of_either_version_lead_to_each_other() {
        // A v1alpha1 adapter (`serviceName`) of a v1beta1 DGD, and a v1beta1 adapter (`componentName`)
        // of a v1alpha1 DGD: a GitOps repository mid-migration, or a cluster listed before conversion.
        let cases = [
            (
                planner_dgd_v1beta1(),
                adapter("custom", "sglang-disagg", "prefill"),
                adapter("sglang-disagg-decode", "sglang-disagg", "Frontend"),
            ),
            (
                planner_dgd(),
                adapter_v1beta1(
                    "custom",
                    "sglang-disagg",
                    json!({"componentName": "prefill"}),
                ),
                adapter_v1beta1(
                    "sglang-disagg-decode",
                    "sglang-disagg",
                    json!({"componentName": "Frontend"}),
                ),
            ),
        ];
        for (dgd, custom, renamed) in cases {
            let cluster = RecordingCluster::with(vec![dgd.clone(), custom, renamed]);
            for version in [V1ALPHA1, V1BETA1] {
                let on_custom =
                    scaleguard_test_support::scaled_object("c", version, ADAPTER_REF, "custom");
                assert_eq!(
                    evaluate(&request("CREATE", &on_custom, None), &cluster),
                    denied(&planner_conflict("custom")),
                    "{} via {version}",
                    dgd["apiVersion"]
                );
                let on_decode_named = scaleguard_test_support::scaled_object(
                    "d",
                    version,
                    ADAPTER_REF,
                    "sglang-disagg-decode",
                );
                assert_eq!(
                    evaluate(&request("CREATE", &on_decode_named, None), &cluster),
                    Verdict::accept(),
                    "{} via {version}",
                    dgd["apiVersion"]
                );
            }
        }
    }

    #[test]
    fn updates_deny_only_new_conflicts() {
        let cluster = RecordingCluster::with(vec![
            scaled_object("s", ADAPTER_REF, "sglang-agg-decode"),
            hpa("h", ADAPTER_REF, "sglang-agg-decode"),
        ]);
        let stored = hpa("h", ADAPTER_REF, "sglang-agg-decode");
        let mut edited = stored.clone();
        edited["spec"]["maxReplicas"] = json!(8);
        let warning = "pre-existing violation: DynamoGraphDeploymentScalingAdapter default/sglang-agg-decode is already scaled by ScaledObject s; use one autoscaler per adapter";
        assert_eq!(
            evaluate(&request("UPDATE", &edited, Some(&stored)), &cluster),
            Verdict::accept_with_warnings(vec![warning.into()])
        );
        // Moving the reference from v1alpha1 to v1beta1 names the same adapter: no new conflict.
        let mut migrated = edited.clone();
        migrated["spec"]["scaleTargetRef"]["apiVersion"] = json!(V1BETA1);
        assert_eq!(
            evaluate(&request("UPDATE", &migrated, Some(&stored)), &cluster),
            Verdict::accept_with_warnings(vec![warning.into()])
        );
        let elsewhere = hpa("h", ADAPTER_REF, "sglang-agg-frontend");
        assert_eq!(
            evaluate(&request("UPDATE", &edited, Some(&elsewhere)), &cluster),
            denied(
                "DynamoGraphDeploymentScalingAdapter default/sglang-agg-decode is already scaled by ScaledObject s; use one autoscaler per adapter"
            )
        );
    }

    #[test]
    fn a_planner_added_to_a_dgd_is_denied_where_an_autoscaler_scales_its_services() {
        let cluster = RecordingCluster::with(vec![
            hpa("decode-hpa", ADAPTER_REF, "sglang-disagg-decode"),
            keda_hpa("front", "sglang-disagg-frontend"),
            scaled_object("front", ADAPTER_REF, "sglang-disagg-frontend"),
            hpa("web", "Deployment", "sglang-disagg-decode"),
        ]);
        let message = dgd_conflict("sglang-disagg-decode", "HorizontalPodAutoscaler decode-hpa");
        for after in [planner_dgd(), planner_dgd_v1beta1()] {
            let version = after["apiVersion"].clone();
            let before = without_planner(after.clone());
            assert_eq!(
                evaluate(&request("UPDATE", &after, Some(&before)), &cluster),
                denied(&message),
                "{version}"
            );
            assert_eq!(
                evaluate(&request("CREATE", &after, None), &cluster),
                denied(&message),
                "{version}"
            );
            assert_eq!(
                evaluate(&request("UPDATE", &after, Some(&after)), &cluster),
                Verdict::accept_with_warnings(vec![format!("pre-existing violation: {message}")]),
                "{version}"
            );
            let mut deleting = after.clone();
            deleting["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
            assert_eq!(
                evaluate(&request("UPDATE", &deleting, Some(&after)), &cluster),
                Verdict::accept(),
                "{version}"
            );
        }
        // The conflict is the same one across versions: a stored v1alpha1 DGD edited as v1beta1.
        assert_eq!(
            evaluate(
                &request("UPDATE", &planner_dgd_v1beta1(), Some(&planner_dgd())),
                &cluster
            ),
            Verdict::accept_with_warnings(vec![format!("pre-existing violation: {message}")])
        );
    }

    #[test]
    fn reordering_v1beta1_components_is_no_new_conflict() {
        let cluster =
            RecordingCluster::with(vec![hpa("decode-hpa", ADAPTER_REF, "sglang-disagg-decode")]);
        let before = planner_dgd_v1beta1();
        let mut after = before.clone();
        after["spec"]["components"]
            .as_array_mut()
            .unwrap()
            .reverse();
        assert_eq!(
            evaluate(&request("UPDATE", &after, Some(&before)), &cluster),
            Verdict::accept_with_warnings(vec![format!(
                "pre-existing violation: {}",
                dgd_conflict("sglang-disagg-decode", "HorizontalPodAutoscaler decode-hpa")
            )])
        );
    }

    #[test]
    fn a_dgd_bringing_a_planner_onto_a_scaled_component_group_is_denied() {
        let cluster = RecordingCluster::with(vec![
            scaleguard_test_support::hpa(
                "engines-hpa",
                V1BETA1,
                ADAPTER_REF,
                "sglang-disagg-engines",
            ),
            scaleguard_test_support::hpa(
                "decode-hpa",
                V1BETA1,
                ADAPTER_REF,
                "sglang-disagg-decode",
            ),
        ]);
        let message = dgd_conflict(
            "sglang-disagg-engines",
            "HorizontalPodAutoscaler engines-hpa",
        );
        assert_eq!(
            evaluate(&request("CREATE", &engines_dgd(), None), &cluster),
            denied(&message)
        );
        // Grouping prefill and decode under a Planner is a new conflict on the group's adapter; the
        // member's own name no longer leads to an adapter, so the old conflict there is gone.
        assert_eq!(
            evaluate(
                &request("UPDATE", &engines_dgd(), Some(&planner_dgd_v1beta1())),
                &cluster
            ),
            denied(&message)
        );
        assert_eq!(
            evaluate(
                &request("UPDATE", &planner_dgd_v1beta1(), Some(&engines_dgd())),
                &cluster
            ),
            denied(&dgd_conflict(
                "sglang-disagg-decode",
                "HorizontalPodAutoscaler decode-hpa"
            ))
        );
    }

    #[test]
    fn a_dgd_resolves_existing_adapters_through_dgd_ref() {
        // `custom` scales the Planner-scaled prefill; `sglang-disagg-decode` exists but belongs elsewhere.
        let cluster = RecordingCluster::with(vec![
            adapter("custom", "sglang-disagg", "prefill"),
            adapter("sglang-disagg-decode", "other", "decode"),
            scaled_object("c", ADAPTER_REF, "custom"),
            scaled_object("d", ADAPTER_REF, "sglang-disagg-decode"),
        ]);
        for dgd in [planner_dgd(), planner_dgd_v1beta1()] {
            assert_eq!(
                evaluate(&request("CREATE", &dgd, None), &cluster),
                denied(&dgd_conflict("custom", "ScaledObject c")),
                "{}",
                dgd["apiVersion"]
            );
        }
        // A v1beta1 group adapter under another name leads to the group under review.
        let cluster = RecordingCluster::with(vec![
            adapter_v1beta1(
                "engines",
                "sglang-disagg",
                json!({"componentGroupName": "Engines"}),
            ),
            scaled_object("e", ADAPTER_REF, "engines"),
        ]);
        assert_eq!(
            evaluate(&request("CREATE", &engines_dgd(), None), &cluster),
            denied(&dgd_conflict("engines", "ScaledObject e"))
        );
    }

    #[test]
    fn dynamo_kinds_fall_back_to_v1alpha1_where_v1beta1_is_not_served_or_granted() {
        let objects = vec![planner_dgd(), adapter("custom", "sglang-disagg", "prefill")];
        let on_custom = hpa("h", ADAPTER_REF, "custom");
        for refused in [true, false] {
            let mut cluster = RecordingCluster::with(objects.clone());
            let absent = vec![DGDS_V1BETA1, ADAPTERS_V1BETA1];
            if refused {
                cluster.not_granted = absent;
            } else {
                cluster.not_served = absent;
            }
            assert_eq!(
                evaluate(&request("CREATE", &on_custom, None), &cluster),
                denied(&planner_conflict("custom"))
            );
            assert_eq!(
                cluster.calls(),
                [
                    HPAS,
                    SCALED_OBJECTS,
                    ADAPTERS_V1BETA1,
                    ADAPTERS_V1ALPHA1,
                    DGDS_V1BETA1,
                    DGDS_V1ALPHA1
                ]
            );
        }
    }

    #[test]
    fn kinds_not_served_are_none_and_other_failures_refuse() {
        let mut cluster = RecordingCluster::with(vec![hpa("h", ADAPTER_REF, "sglang-agg-decode")]);
        cluster.not_served = vec![SCALED_OBJECTS, DGDS_V1BETA1, DGDS_V1ALPHA1];
        let scaled = scaled_object("s", ADAPTER_REF, "sglang-agg-decode");
        assert_eq!(
            evaluate(&request("CREATE", &scaled, None), &cluster),
            denied(
                "DynamoGraphDeploymentScalingAdapter default/sglang-agg-decode is already scaled by HorizontalPodAutoscaler h; use one autoscaler per adapter"
            )
        );
        cluster.failing = vec![ADAPTERS_V1BETA1];
        cluster.not_served.clear();
        let alone = hpa("alone", ADAPTER_REF, "sglang-agg-prefill");
        let failed = Verdict::reject(
            500,
            "cluster look-up failed: listing nvidia.com/v1beta1/DynamoGraphDeploymentScalingAdapter in namespace default: connection refused",
        );
        assert_eq!(evaluate(&request("CREATE", &alone, None), &cluster), failed);
        for dgd in [planner_dgd(), planner_dgd_v1beta1()] {
            assert_eq!(evaluate(&request("CREATE", &dgd, None), &cluster), failed);
        }
        // A failure of the v1alpha1 fallback refuses too.
        cluster.not_served = vec![ADAPTERS_V1BETA1];
        cluster.failing = vec![ADAPTERS_V1ALPHA1];
        let (code, message) = rejection(evaluate(&request("CREATE", &alone, None), &cluster));
        assert_eq!(code, 500);
        assert!(
            message.starts_with("cluster look-up failed: listing nvidia.com/")
                && message.ends_with(
                    "/DynamoGraphDeploymentScalingAdapter in namespace default: connection refused"
                ),
            "{message}"
        );
    }

    #[test]
    fn malformed_dgds_are_refused_with_the_path() {
        let refusal = |object: &Value, old: Option<&Value>| {
            let operation = if old.is_some() { "UPDATE" } else { "CREATE" };
            rejection(evaluate(
                &request(operation, object, old),
                &RecordingCluster::default(),
            ))
        };
        let mut dgd = planner_dgd();
        dgd["spec"]["services"]["decode"]["replicas"] = json!("two");
        let (code, message) = refusal(&dgd, None);
        assert_eq!(code, 400);
        assert!(
            message.starts_with("invalid DynamoGraphDeployment: spec.services[decode].replicas: "),
            "{message}"
        );
        // v1beta1: a list item by its index, and the list itself.
        let mut listed = planner_dgd_v1beta1();
        listed["spec"]["components"][1]["replicas"] = json!("two");
        assert_eq!(
            refusal(&listed, None),
            (
                400,
                r#"invalid DynamoGraphDeployment: spec.components[1].replicas: invalid type: string "two", expected i32"#.into()
            )
        );
        let mut mapped = planner_dgd_v1beta1();
        mapped["spec"]["components"] = json!({"decode": {"type": "decode"}});
        assert_eq!(
            refusal(&mapped, None),
            (
                400,
                "invalid DynamoGraphDeployment: spec.components: invalid type: map, expected a sequence".into()
            )
        );
        // The stored object's errors are named below `oldObject`, as in v1alpha1.
        assert_eq!(
            refusal(&planner_dgd_v1beta1(), Some(&listed)),
            (
                400,
                r#"invalid DynamoGraphDeployment: oldObject.spec.components[1].replicas: invalid type: string "two", expected i32"#.into()
            )
        );
        let (code, message) = refusal(&planner_dgd(), Some(&dgd));
        assert_eq!(code, 400);
        assert!(
            message.starts_with(
                "invalid DynamoGraphDeployment: oldObject.spec.services[decode].replicas: "
            ),
            "{message}"
        );
    }
}
