//! The rule: one autoscaler per scaling adapter. An HPA or ScaledObject may not target an adapter that
//! another HPA, another ScaledObject or the Dynamo Planner already scales, and a DGD may not bring a
//! Planner onto a service whose adapter an HPA or ScaledObject already scales. KEDA's own HPA
//! (`keda-hpa-<so>`, owned by the ScaledObject) is that ScaledObject, not a second autoscaler.

use std::collections::BTreeSet;
use std::fmt;

use scaleguard_sdk::adapter;
use scaleguard_sdk::dgd::{self, DynamoGraphDeployment};
use scaleguard_sdk::response::{BAD_REQUEST, FORBIDDEN};
use scaleguard_sdk::review::{
    Autoscaler, AutoscalerReview, Findings, NamespaceObjects, Violation, lookup_failed,
    resolve_adapter,
};
use scaleguard_sdk::{
    AdmissionRequest, Cluster, FieldError, LookupError, Operation, Policy, Verdict,
};

use crate::settings::Settings;

/// The `dynamo-single-autoscaler` policy.
#[derive(Debug, Clone, Copy)]
pub struct SingleAutoscaler;

impl Policy for SingleAutoscaler {
    type Settings = Settings;

    fn evaluate(request: &AdmissionRequest, settings: &Settings, cluster: &dyn Cluster) -> Verdict {
        let decision = if request.is_kind(dgd::GROUP, dgd::KIND) {
            review_dgd(request, settings, cluster)
        } else {
            match AutoscalerReview::from_request(request) {
                Ok(review) => review_autoscaler(&review, settings, cluster),
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
    /// The autoscaler `autoscaler` stands for.
    fn of(autoscaler: &Autoscaler) -> Self {
        let (kind, name) = autoscaler.counts_as();
        Self::Autoscaler {
            kind,
            name: name.to_owned(),
        }
    }

    /// What identifies this scaler on `adapter` across the old and the new object of an UPDATE.
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
    review: &AutoscalerReview,
    settings: &Settings,
    cluster: &dyn Cluster,
) -> Result<Verdict, LookupError> {
    let objects = NamespaceObjects::new(cluster, &review.namespace);
    let after = autoscaler_conflicts(&review.object, &objects, settings)?;
    let before = review
        .old_object
        .as_ref()
        .map(|old| autoscaler_conflicts(old, &objects, settings))
        .transpose()?;
    Ok(after.verdict(before.as_ref(), FORBIDDEN))
}

/// Who else scales the adapter `autoscaler` targets: other HPAs and ScaledObjects of the namespace
/// (the object itself excepted, whatever the operation: the audit scanner reviews stored objects as
/// CREATEs) and, when `plannerConflicts` is on, the Planner of the adapter's DGD service.
fn autoscaler_conflicts(
    autoscaler: &Autoscaler,
    objects: &NamespaceObjects<'_>,
    settings: &Settings,
) -> Result<Findings, LookupError> {
    let Some(adapter) = autoscaler.adapter() else {
        return Ok(Findings::default());
    };
    let others = objects.autoscalers_of(adapter)?;
    if is_keda_hpa_of_a_scaled_object_in(autoscaler, &others) {
        return Ok(Findings::default());
    }
    let itself = Scaler::of(autoscaler);
    let mut scalers: BTreeSet<Scaler> = others
        .iter()
        .map(Scaler::of)
        .filter(|scaler| *scaler != itself)
        .collect();
    if settings.planner_conflicts {
        let planners = objects
            .resolve(adapter)?
            .candidates()
            .into_iter()
            .filter(|target| target.is_planner_scaled())
            .map(|target| Scaler::Planner {
                dgd: target.dgd.metadata.name.clone(),
            });
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

/// Whether `autoscaler` is the HPA KEDA made for a ScaledObject among `others` (which target the same
/// adapter): it *is* that ScaledObject, whose own admission decides its conflicts.
fn is_keda_hpa_of_a_scaled_object_in(autoscaler: &Autoscaler, others: &[Autoscaler]) -> bool {
    autoscaler.keda_owner().is_some_and(|owner| {
        others
            .iter()
            .any(|other| matches!(other, Autoscaler::ScaledObject(so) if so.metadata.name == owner))
    })
}

/// A DGD CREATE or UPDATE: a Planner may not take over services whose adapter an HPA or ScaledObject
/// already scales, unless the stored DGD already had that conflict.
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
    let dgd: DynamoGraphDeployment = match request.object_as() {
        Ok(dgd) => dgd,
        Err(error) => return Ok(invalid_dgd(&error)),
    };
    if dgd.metadata.is_being_deleted() || !dgd.is_planner_managed() {
        return Ok(Verdict::accept());
    }
    let old: Option<DynamoGraphDeployment> = match request.operation {
        Operation::Update => match request.old_object_as() {
            Ok(old) => Some(old),
            Err(error) => return Ok(invalid_dgd(&error)),
        },
        _ => None,
    };
    let objects = NamespaceObjects::new(cluster, dgd.namespace_or(&request.namespace));
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

/// The HPAs and ScaledObjects of the namespace that target the adapter of a service `dgd`'s Planner
/// scales. The adapter of a service is the existing adapter whose `spec.dgdRef` names it, or, before the
/// adapter exists, the one named `<dgd>-<lowercased service>`.
fn planner_conflicts(
    dgd: &DynamoGraphDeployment,
    objects: &NamespaceObjects<'_>,
) -> Result<Findings, LookupError> {
    if !dgd.is_planner_managed() {
        return Ok(Findings::default());
    }
    let autoscalers = objects.adapter_autoscalers()?;
    if autoscalers.is_empty() {
        return Ok(Findings::default());
    }
    let adapters = objects.adapters()?;
    let conflicts: BTreeSet<(&str, Scaler)> = autoscalers
        .iter()
        .filter_map(|autoscaler| {
            let adapter = autoscaler.adapter()?;
            let planner_scaled = resolve_adapter(adapter, adapters, std::slice::from_ref(dgd))
                .candidates()
                .iter()
                .any(|target| target.is_planner_scaled());
            planner_scaled.then(|| (adapter, Scaler::of(autoscaler)))
        })
        .collect();
    let planner = Scaler::Planner {
        dgd: dgd.metadata.name.clone(),
    };
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
    use scaleguard_sdk::ResourceKind;
    use scaleguard_sdk::parse::from_value;
    use serde_json::{Value, json};
    use std::cell::RefCell;

    /// A namespace's objects, recording every look-up; kinds listed in `not_served` are not served, and
    /// `failing` makes one kind's look-up fail.
    #[derive(Default)]
    struct RecordingCluster {
        objects: Vec<Value>,
        not_served: Vec<&'static str>,
        failing: Option<&'static str>,
        calls: RefCell<Vec<String>>,
    }

    impl RecordingCluster {
        fn with(objects: Vec<Value>) -> Self {
            Self {
                objects,
                ..Self::default()
            }
        }

        fn calls(&self) -> Vec<String> {
            self.calls.borrow().clone()
        }
    }

    impl Cluster for RecordingCluster {
        fn list(&self, kind: ResourceKind, namespace: &str) -> Result<Vec<Value>, LookupError> {
            self.calls.borrow_mut().push(kind.kind.to_owned());
            if self.not_served.contains(&kind.kind) {
                return Err(LookupError::NotServed(format!(
                    "Cannot find resource {kind}"
                )));
            }
            if self.failing == Some(kind.kind) {
                return Err(LookupError::Failed("connection refused".into()));
            }
            Ok(self
                .objects
                .iter()
                .filter(|o| o["kind"] == kind.kind && o["metadata"]["namespace"] == namespace)
                .cloned()
                .collect())
        }
    }

    const ADAPTER_REF: &str = "DynamoGraphDeploymentScalingAdapter";

    fn hpa(name: &str, target_kind: &str, target: &str) -> Value {
        json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"scaleTargetRef": {"apiVersion": "nvidia.com/v1alpha1", "kind": target_kind,
                "name": target}, "maxReplicas": 4}})
    }

    fn keda_hpa(scaled_object: &str, target: &str) -> Value {
        let mut hpa = hpa(&format!("keda-hpa-{scaled_object}"), ADAPTER_REF, target);
        hpa["metadata"]["ownerReferences"] = json!([{"apiVersion": "keda.sh/v1alpha1",
            "kind": "ScaledObject", "name": scaled_object, "controller": true}]);
        hpa
    }

    fn scaled_object(name: &str, target_kind: &str, target: &str) -> Value {
        json!({"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"scaleTargetRef": {"apiVersion": "nvidia.com/v1alpha1", "kind": target_kind,
                "name": target}}})
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
        dgd["spec"]["services"]
            .as_object_mut()
            .unwrap()
            .remove("Planner");
        dgd
    }

    fn adapter(name: &str, dgd: &str, service: &str) -> Value {
        json!({"apiVersion": "nvidia.com/v1alpha1", "kind": ADAPTER_REF,
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"replicas": 1, "dgdRef": {"name": dgd, "serviceName": service}}})
    }

    fn request(operation: &str, object: &Value, old_object: Option<&Value>) -> AdmissionRequest {
        let api_version = object["apiVersion"].as_str().unwrap();
        let (group, version) = api_version.split_once('/').unwrap();
        from_value(&json!({"operation": operation, "namespace": "default",
            "kind": {"group": group, "version": version, "kind": object["kind"]},
            "object": object, "oldObject": old_object.unwrap_or(&Value::Null)}))
        .unwrap()
    }

    fn evaluate(request: &AdmissionRequest, cluster: &RecordingCluster) -> Verdict {
        SingleAutoscaler::evaluate(request, &Settings::default(), cluster)
    }

    fn denied(message: &str) -> Verdict {
        Verdict::reject(FORBIDDEN, message)
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
        let dgd = without_planner(planner_dgd());
        assert_eq!(
            evaluate(&request("CREATE", &dgd, None), &cluster),
            Verdict::accept()
        );
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
        assert_eq!(
            cluster.calls(),
            [
                "HorizontalPodAutoscaler",
                "ScaledObject",
                "DynamoGraphDeploymentScalingAdapter",
                "DynamoGraphDeployment"
            ]
        );
    }

    #[test]
    fn kedas_own_hpa_is_its_scaled_object() {
        let scaler = scaled_object("s", ADAPTER_REF, "sglang-agg-decode");
        let cluster =
            RecordingCluster::with(vec![scaler.clone(), keda_hpa("s", "sglang-agg-decode")]);
        let created = keda_hpa("s", "sglang-agg-decode");
        assert_eq!(
            evaluate(&request("CREATE", &created, None), &cluster),
            Verdict::accept()
        );
        // Updating the ScaledObject does not make its own HPA a second autoscaler.
        assert_eq!(
            evaluate(&request("UPDATE", &scaler, Some(&scaler)), &cluster),
            Verdict::accept()
        );
        // A KEDA HPA whose ScaledObject targets another adapter is an HPA like any other.
        let cluster = RecordingCluster::with(vec![
            scaled_object("s", ADAPTER_REF, "sglang-agg-prefill"),
            scaled_object("t", ADAPTER_REF, "sglang-agg-decode"),
        ]);
        assert_eq!(
            evaluate(&request("CREATE", &created, None), &cluster),
            denied(
                "DynamoGraphDeploymentScalingAdapter default/sglang-agg-decode is already scaled by ScaledObject t; use one autoscaler per adapter"
            )
        );
    }

    #[test]
    fn another_scaled_objects_hpa_counts_as_that_scaled_object_once() {
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
        let expected = [
            conflict("HorizontalPodAutoscaler manual"),
            conflict("ScaledObject first"),
            conflict("ScaledObject gone"),
        ];
        assert_eq!(
            evaluate(&request("CREATE", &second, None), &cluster),
            denied(&expected.join("; "))
        );
    }

    #[test]
    fn the_planner_conflicts_on_the_services_it_scales_only() {
        let cluster = RecordingCluster::with(vec![planner_dgd()]);
        let on_decode = hpa("d", ADAPTER_REF, "sglang-disagg-decode");
        assert_eq!(
            evaluate(&request("CREATE", &on_decode, None), &cluster),
            denied(
                "DynamoGraphDeploymentScalingAdapter default/sglang-disagg-decode is already scaled by the Dynamo Planner of DynamoGraphDeployment sglang-disagg; use one autoscaler per adapter"
            )
        );
        let on_frontend = hpa("f", ADAPTER_REF, "sglang-disagg-frontend");
        assert_eq!(
            evaluate(&request("CREATE", &on_frontend, None), &cluster),
            Verdict::accept()
        );
        let ignoring_planner = Settings {
            planner_conflicts: false,
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
        assert_eq!(cluster.calls(), ["HorizontalPodAutoscaler", "ScaledObject"]);
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
            denied(
                "DynamoGraphDeploymentScalingAdapter default/custom is already scaled by the Dynamo Planner of DynamoGraphDeployment sglang-disagg; use one autoscaler per adapter"
            )
        );
        let on_decode_named = scaled_object("d", ADAPTER_REF, "sglang-disagg-decode");
        assert_eq!(
            evaluate(&request("CREATE", &on_decode_named, None), &cluster),
            Verdict::accept()
        );
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
        assert_eq!(
            evaluate(&request("UPDATE", &edited, Some(&stored)), &cluster),
            Verdict::accept_with_warnings(vec![
                "pre-existing violation: DynamoGraphDeploymentScalingAdapter default/sglang-agg-decode is already scaled by ScaledObject s; use one autoscaler per adapter".into()
            ])
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
        let before = without_planner(planner_dgd());
        let after = planner_dgd();
        let message = "DynamoGraphDeploymentScalingAdapter default/sglang-disagg-decode is already scaled by HorizontalPodAutoscaler decode-hpa, and the Dynamo Planner of DynamoGraphDeployment sglang-disagg would scale it too; use one autoscaler per adapter";
        assert_eq!(
            evaluate(&request("UPDATE", &after, Some(&before)), &cluster),
            denied(message)
        );
        assert_eq!(
            evaluate(&request("CREATE", &after, None), &cluster),
            denied(message)
        );
        assert_eq!(
            evaluate(&request("UPDATE", &after, Some(&after)), &cluster),
            Verdict::accept_with_warnings(vec![format!("pre-existing violation: {message}")])
        );
        let mut deleting = after.clone();
        deleting["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
        assert_eq!(
            evaluate(&request("UPDATE", &deleting, Some(&after)), &cluster),
            Verdict::accept()
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
        assert_eq!(
            evaluate(&request("CREATE", &planner_dgd(), None), &cluster),
            denied(
                "DynamoGraphDeploymentScalingAdapter default/custom is already scaled by ScaledObject c, and the Dynamo Planner of DynamoGraphDeployment sglang-disagg would scale it too; use one autoscaler per adapter"
            )
        );
    }

    #[test]
    fn kinds_not_served_are_none_and_other_failures_refuse() {
        let mut cluster = RecordingCluster::with(vec![hpa("h", ADAPTER_REF, "sglang-agg-decode")]);
        cluster.not_served = vec!["ScaledObject", "DynamoGraphDeployment"];
        let scaled = scaled_object("s", ADAPTER_REF, "sglang-agg-decode");
        assert_eq!(
            evaluate(&request("CREATE", &scaled, None), &cluster),
            denied(
                "DynamoGraphDeploymentScalingAdapter default/sglang-agg-decode is already scaled by HorizontalPodAutoscaler h; use one autoscaler per adapter"
            )
        );
        cluster.failing = Some("DynamoGraphDeploymentScalingAdapter");
        cluster.not_served.clear();
        let alone = hpa("alone", ADAPTER_REF, "sglang-agg-prefill");
        assert_eq!(
            evaluate(&request("CREATE", &alone, None), &cluster),
            Verdict::reject(
                500,
                "cluster look-up failed: listing nvidia.com/v1alpha1/DynamoGraphDeploymentScalingAdapter in namespace default: connection refused"
            )
        );
        assert_eq!(
            evaluate(&request("CREATE", &planner_dgd(), None), &cluster),
            Verdict::reject(
                500,
                "cluster look-up failed: listing nvidia.com/v1alpha1/DynamoGraphDeploymentScalingAdapter in namespace default: connection refused"
            )
        );
    }

    #[test]
    fn malformed_dgds_are_refused_with_the_path() {
        let mut dgd = planner_dgd();
        dgd["spec"]["services"]["decode"]["replicas"] = json!("two");
        let Verdict::Reject { code, message, .. } =
            evaluate(&request("CREATE", &dgd, None), &RecordingCluster::default())
        else {
            panic!("expected a rejection");
        };
        assert_eq!(code, 400);
        assert!(
            message.starts_with("invalid DynamoGraphDeployment: spec.services[decode].replicas: "),
            "{message}"
        );
    }
}
