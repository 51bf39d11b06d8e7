//! The rule: an HPA or KEDA ScaledObject that targets a scaling adapter must target one that exists or is
//! about to (its DGD service enables it), and its Dynamo metrics must be scoped, through the
//! `dynamo_namespace` label, to the adapter's own deployment.

use std::collections::BTreeSet;

use scaleguard_sdk::adapter::{self, ScalingAdapter};
use scaleguard_sdk::dgd::{DynamoGraphDeployment, adapter_name};
use scaleguard_sdk::response::BAD_REQUEST;
use scaleguard_sdk::review::{
    AdapterTarget as ServiceTarget, Autoscaler, AutoscalerReview, Findings, NamespaceObjects,
    Violation, lookup_failed, resolve_adapter,
};
use scaleguard_sdk::{AdmissionRequest, Cluster, LookupError, Policy, Verdict};
use serde_json::Value;

use crate::scope::{self, Judgement, MetricSelection, Scope};
use crate::settings::{MissingTarget, Settings};

/// The `dynamo-adapter-target` policy.
#[derive(Debug, Clone, Copy)]
pub struct AdapterTarget;

/// The largest edit distance at which an existing name is suggested for a missing one.
const MAX_SUGGESTION_DISTANCE: usize = 2;
/// Where an autoscaler names its adapter.
const TARGET_PATH: &str = "spec.scaleTargetRef.name";

impl Policy for AdapterTarget {
    type Settings = Settings;

    fn evaluate(request: &AdmissionRequest, settings: &Settings, cluster: &dyn Cluster) -> Verdict {
        let review = match AutoscalerReview::from_request(request) {
            Ok(review) => review,
            Err(verdict) => return verdict,
        };
        // KEDA's own HPA is its ScaledObject, judged when the ScaledObject is admitted.
        if review.object.keda_owner().is_some() {
            return Verdict::accept();
        }
        let objects = NamespaceObjects::new(cluster, &review.namespace);
        decide(&review, settings, &objects).unwrap_or_else(|error| lookup_failed(&error))
    }
}

/// The findings of the submitted object, less those the stored object already had.
fn decide(
    review: &AutoscalerReview,
    settings: &Settings,
    objects: &NamespaceObjects<'_>,
) -> Result<Verdict, LookupError> {
    let after = findings(&review.object, settings, objects)?;
    let before = review
        .old_object
        .as_ref()
        .map(|old| findings(old, settings, objects))
        .transpose()?;
    Ok(after.verdict(before.as_ref(), BAD_REQUEST))
}

/// Everything wrong with `autoscaler`: its target, then the scope of its metrics.
fn findings(
    autoscaler: &Autoscaler,
    settings: &Settings,
    objects: &NamespaceObjects<'_>,
) -> Result<Findings, LookupError> {
    let mut findings = Findings::default();
    let Some(adapter) = autoscaler.adapter() else {
        return Ok(findings);
    };
    let adapters = objects.adapters()?;
    let dgds = objects.dgds()?;
    let namespace = objects.namespace();
    let target = check_target(adapter, adapters, dgds, namespace, settings, &mut findings);
    let scope = target.map(|target| Scope::new(&target, dgds, namespace));
    check_metrics(autoscaler, scope.as_ref(), settings, &mut findings);
    Ok(findings)
}

/// Checks that `adapter` exists or that a DGD service is about to create it; returns the DGD service it
/// scales, when that is known (even when the adapter still has to be enabled).
fn check_target<'a>(
    adapter: &str,
    adapters: &'a [ScalingAdapter],
    dgds: &'a [DynamoGraphDeployment],
    namespace: &str,
    settings: &Settings,
    findings: &mut Findings,
) -> Option<ServiceTarget<'a>> {
    let resolution = resolve_adapter(adapter, adapters, dgds);
    if adapters.iter().any(|a| a.metadata.name == adapter) {
        return resolution.target();
    }
    let missing = format!(
        "{TARGET_PATH}: {} {namespace}/{adapter} does not exist",
        adapter::KIND
    );
    let candidates = resolution.candidates();
    if !candidates.is_empty() {
        if !candidates.iter().any(|c| c.service.adapter_enabled()) {
            for candidate in &candidates {
                let (dgd, service) = (&candidate.dgd.metadata.name, candidate.service_name);
                findings.violations.push(Violation::keyed(
                    format!("target {adapter} disabled {dgd}/{service}"),
                    format!(
                        "{missing}, because service {service} of DynamoGraphDeployment {dgd} does not enable its scaling adapter; set spec.services[{service}].scalingAdapter.enabled: true in that DynamoGraphDeployment"
                    ),
                ));
            }
        }
        return resolution.target();
    }
    let suggestions = suggestions(adapter, adapters, dgds);
    if !suggestions.is_empty() {
        let listed = suggestions
            .iter()
            .map(Suggestion::to_string)
            .collect::<Vec<_>>();
        let question = match listed.as_slice() {
            [one] => format!("did you mean {one}?"),
            many => format!("did you mean one of {}?", many.join(", ")),
        };
        findings.violations.push(Violation::keyed(
            format!("target {adapter} misspelled"),
            format!("{missing}; {question}"),
        ));
        return None;
    }
    let message = format!(
        "{missing}, and no DynamoGraphDeployment service in the namespace would create it (a service with scalingAdapter.enabled: true whose <dgd>-<lowercased service> is that name); the autoscaler reports <unknown> until it exists"
    );
    match settings.missing_target {
        MissingTarget::Warn => findings.warnings.push(message),
        MissingTarget::Deny => findings.violations.push(Violation::keyed(
            format!("target {adapter} missing"),
            message,
        )),
    }
    None
}

/// An adapter name close to a missing one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Suggestion {
    /// Edit distance to the missing name, ignoring case.
    distance: usize,
    /// The name.
    name: String,
    /// The DGD service that would create it, when no adapter of that name exists yet and the service
    /// does not enable it.
    to_enable: Option<(String, String)>,
}

impl std::fmt::Display for Suggestion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.name)?;
        if let Some((dgd, service)) = &self.to_enable {
            write!(
                f,
                " (service {service} of DynamoGraphDeployment {dgd} must also set scalingAdapter.enabled: true)"
            )?;
        }
        Ok(())
    }
}

/// The existing adapters, and the adapters DGD services would create, whose names differ from `missing`
/// only in case or by at most [`MAX_SUGGESTION_DISTANCE`] edits; closest first.
fn suggestions(
    missing: &str,
    adapters: &[ScalingAdapter],
    dgds: &[DynamoGraphDeployment],
) -> Vec<Suggestion> {
    let lowercase = missing.to_lowercase();
    let existing = adapters.iter().map(|a| (a.metadata.name.clone(), None));
    let by_services = dgds.iter().flat_map(|dgd| {
        dgd.spec.services.iter().map(|(service_name, service)| {
            let name = adapter_name(&dgd.metadata.name, service_name);
            let exists = adapters.iter().any(|a| a.metadata.name == name);
            let to_enable = (!exists && !service.adapter_enabled())
                .then(|| (dgd.metadata.name.clone(), service_name.clone()));
            (name, to_enable)
        })
    });
    let found: BTreeSet<Suggestion> = existing
        .chain(by_services)
        .filter(|(name, _)| {
            name.eq_ignore_ascii_case(missing)
                || strsim::levenshtein(name, missing) <= MAX_SUGGESTION_DISTANCE
        })
        .map(|(name, to_enable)| Suggestion {
            distance: strsim::levenshtein(&name.to_lowercase(), &lowercase),
            name,
            to_enable,
        })
        .collect();
    // An adapter that exists and the service that made it give the same name: keep the first.
    let mut seen = BTreeSet::new();
    found
        .into_iter()
        .filter(|s| seen.insert(s.name.clone()))
        .collect()
}

/// Checks the scope of the autoscaler's Dynamo metrics: KEDA `prometheus` triggers' queries, HPA
/// `External` and `Object` metrics' label selectors. Without `scope` (the target is unknown) only what
/// needs no deployment is checked: queries that do not parse, metrics without a filter.
fn check_metrics(
    autoscaler: &Autoscaler,
    scope: Option<&Scope>,
    settings: &Settings,
    findings: &mut Findings,
) {
    match autoscaler {
        Autoscaler::ScaledObject(scaled_object) => {
            for (index, trigger) in scaled_object.spec.triggers.iter().enumerate() {
                if trigger.type_ != "prometheus" {
                    continue;
                }
                let path = format!("spec.triggers[{index}].metadata.query");
                match trigger.metadata.get("query") {
                    None | Some(Value::Null) => {}
                    Some(Value::String(query)) => {
                        check_query(&path, query, scope, settings, findings);
                    }
                    Some(_) => findings.violations.push(Violation::keyed(
                        format!("{path} type"),
                        format!("{path} must be a string"),
                    )),
                }
            }
        }
        Autoscaler::Hpa(hpa) => {
            for (index, metric) in hpa.spec.metrics.iter().enumerate() {
                let sources = [("external", &metric.external), ("object", &metric.object)];
                for (field, source) in sources {
                    let Some(source) = source else { continue };
                    let identifier = &source.metric;
                    let selection = MetricSelection {
                        metric: identifier.name.clone(),
                        conditions: scope::label_selector_conditions(identifier.selector.as_ref()),
                    };
                    let path = format!("spec.metrics[{index}].{field}.metric.selector");
                    check_selection(&path, &selection, scope, settings, findings);
                }
            }
        }
    }
}

/// Checks every selector of a PromQL `query` found at `path`.
fn check_query(
    path: &str,
    query: &str,
    scope: Option<&Scope>,
    settings: &Settings,
    findings: &mut Findings,
) {
    let parse_error = |problem: String| {
        Violation::keyed(
            format!("{path} parse"),
            format!("{path} does not parse: {problem}"),
        )
    };
    let selectors = match scope::vector_selectors(query) {
        Ok(selectors) => selectors,
        Err(error) => return findings.violations.push(parse_error(error.to_string())),
    };
    for selector in &selectors {
        match scope::promql_selection(selector) {
            Ok(Some(selection)) => check_selection(path, &selection, scope, settings, findings),
            Ok(None) => {}
            Err(problem) => push_violation(findings, parse_error(problem)),
        }
    }
}

/// Checks one metric selection found at `path`; each finding is recorded once.
fn check_selection(
    path: &str,
    selection: &MetricSelection,
    scope: Option<&Scope>,
    settings: &Settings,
    findings: &mut Findings,
) {
    let metric = selection.metric.as_str();
    if !scope::is_checked(metric) {
        return;
    }
    let conditions = selection.conditions_text();
    let key = format!("{path} {metric} {conditions}");
    let Some(scope) = scope else {
        if selection.conditions.is_empty() {
            unfiltered(path, metric, None, key, settings, findings);
        }
        return;
    };
    let emitter = scope.emitter_of(metric);
    let label = scope::LABEL;
    let message = match selection.judge(&emitter.value, scope.others()) {
        Judgement::Right => return,
        Judgement::Unfiltered => {
            return unfiltered(path, metric, Some(&emitter.value), key, settings, findings);
        }
        Judgement::Wrong => format!(
            "{path}: {metric} selects {conditions}, but {} emits {label}=\"{}\"",
            emitter.description, emitter.value
        ),
        Judgement::TooWide(others) => format!(
            "{path}: {metric} selects {conditions}, which also matches {} of another DynamoGraphDeployment in the namespace; select {label}=\"{}\" only",
            others.join(", "),
            emitter.value
        ),
    };
    push_violation(findings, Violation::keyed(key, message));
}

/// Records a metric without a `dynamo_namespace` filter: a warning, or a violation with
/// `requireNamespaceFilter`. `expected` is the value to filter on, when the deployment is known.
fn unfiltered(
    path: &str,
    metric: &str,
    expected: Option<&str>,
    key: String,
    settings: &Settings,
    findings: &mut Findings,
) {
    let label = scope::LABEL;
    let fix = match expected {
        Some(value) => format!("filter on {label}=\"{value}\""),
        None => format!("filter on {label}"),
    };
    let message = format!(
        "{path}: {metric} has no {label} filter, so it aggregates the metrics of every Dynamo deployment; {fix}"
    );
    if settings.require_namespace_filter {
        push_violation(findings, Violation::keyed(key, message));
    } else if !findings.warnings.contains(&message) {
        findings.warnings.push(message);
    }
}

/// Adds `violation` unless one with its key is already there (a query may select a metric twice).
fn push_violation(findings: &mut Findings, violation: Violation) {
    if !findings.violations.iter().any(|v| v.key == violation.key) {
        findings.violations.push(violation);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scaleguard_sdk::ResourceKind;
    use scaleguard_sdk::parse::from_value;
    use serde_json::json;

    fn dgd(name: &str, services: Value) -> DynamoGraphDeployment {
        from_value(&json!({"metadata": {"name": name}, "spec": {"services": services}})).unwrap()
    }

    fn adapter(name: &str) -> ScalingAdapter {
        from_value(&json!({"metadata": {"name": name},
            "spec": {"replicas": 1, "dgdRef": {"name": "x", "serviceName": "y"}}}))
        .unwrap()
    }

    fn suggested(
        missing: &str,
        adapters: &[ScalingAdapter],
        dgds: &[DynamoGraphDeployment],
    ) -> Vec<String> {
        suggestions(missing, adapters, dgds)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn suggestions_are_close_names_closest_first() {
        let dgds = [
            dgd(
                "sglang-agg",
                json!({"decode": {"scalingAdapter": {"enabled": true}}, "Frontend": {}}),
            ),
            dgd("sglang-agx", json!({"decode": {}})),
        ];
        let adapters = [adapter("sglang-agg-decode")];
        assert_eq!(
            suggested("sglang-agg-Decode", &adapters, &dgds),
            [
                "sglang-agg-decode",
                "sglang-agx-decode (service decode of DynamoGraphDeployment sglang-agx must also set scalingAdapter.enabled: true)"
            ]
        );
        // Case alone never counts against a name, however many letters differ.
        assert_eq!(
            suggested("SGLANG-AGG-FRONTEND", &adapters, &dgds),
            [
                "sglang-agg-frontend (service Frontend of DynamoGraphDeployment sglang-agg must also set scalingAdapter.enabled: true)"
            ]
        );
        assert!(suggested("llama-decode", &adapters, &dgds).is_empty());
    }

    /// A cluster whose look-ups fail.
    struct Broken;

    impl Cluster for Broken {
        fn list(&self, kind: ResourceKind, _: &str) -> Result<Vec<Value>, LookupError> {
            Err(LookupError::Failed(format!("{kind}: connection refused")))
        }
    }

    #[test]
    fn a_failed_look_up_cannot_be_decided() {
        let request: AdmissionRequest = from_value(&json!({
            "operation": "CREATE", "namespace": "default",
            "kind": {"group": "keda.sh", "version": "v1alpha1", "kind": "ScaledObject"},
            "object": {"metadata": {"name": "s"}, "spec": {"scaleTargetRef": {
                "apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoGraphDeploymentScalingAdapter",
                "name": "sglang-agg-decode"}}}
        }))
        .unwrap();
        let Verdict::Reject { code, message, .. } =
            AdapterTarget::evaluate(&request, &Settings::default(), &Broken)
        else {
            panic!("expected a refusal");
        };
        assert_eq!(code, 500);
        assert_eq!(
            message,
            "cluster look-up failed: listing nvidia.com/v1alpha1/DynamoGraphDeploymentScalingAdapter in namespace default: nvidia.com/v1alpha1/DynamoGraphDeploymentScalingAdapter: connection refused"
        );
    }
}
