//! The rule: an HPA or KEDA ScaledObject that targets a scaling adapter must target one that exists or is
//! about to (its DGD component or component group enables it), and its Dynamo metrics must be scoped,
//! through the `dynamo_namespace` label, to the adapter's own deployment. Every rule reads DGDs through
//! the sdk's version-neutral [`DgdView`], and speaks the words of the DGD's version: v1alpha1 `service`
//! and `scalingAdapter.enabled: true`, v1beta1 `component` and the `scalingAdapter: {}` marker.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::collections::BTreeSet;

use scaleguard_sdk::adapter::{self, ScalingAdapter};
use scaleguard_sdk::autoscaler::{MetricSpec, Trigger};
use scaleguard_sdk::dgd::{self, DgdVersion, DgdView, adapter_name};
use scaleguard_sdk::parse::FieldError;
use scaleguard_sdk::response::BAD_REQUEST;
use scaleguard_sdk::review::{
    Autoscaler, AutoscalerReview, FieldMasks, Findings, NamespaceObjects, ScaledUnit, Violation,
    autoscaler_verdict, dgd_edit_verdict, lookup_failed,
};
use scaleguard_sdk::{AdmissionRequest, Cluster, LookupError, Operation, Policy, Verdict};
use serde_json::Value;

use crate::promql;
use crate::scope::{self, Emitter, Judgement, MetricSelection, Scope};
use crate::settings::{MissingTarget, Settings};

/// The `dynamo-adapter-target` policy.
#[derive(Debug, Clone, Copy)]
pub struct AdapterTarget;

/// What the rule reads of the kinds it looks up: the sdk's models whole (the host sends nothing else).
const FIELD_MASKS: FieldMasks = FieldMasks::MODELS;

/// The largest edit distance at which an existing name is suggested for a missing one.
const MAX_SUGGESTION_DISTANCE: usize = 2;
/// Where an autoscaler names its adapter.
const TARGET_PATH: &str = "spec.scaleTargetRef.name";

impl Policy for AdapterTarget {
    type Settings = Settings;

    fn evaluate(request: &AdmissionRequest, settings: &Settings, cluster: &dyn Cluster) -> Verdict {
        if request.is_kind(dgd::GROUP, dgd::KIND) {
            // A DGD edit that breaks an autoscaler on it (its adapter disabled, its metric label
            // changed) is the edit's violation. A new DGD breaks nothing: its autoscalers were judged.
            if request.operation != Operation::Update {
                return Verdict::accept();
            }
            return dgd_edit_verdict(
                request,
                cluster,
                &FIELD_MASKS,
                BAD_REQUEST,
                &|autoscaler, objects| Ok(findings(autoscaler, settings, objects)?.violations),
            );
        }
        let review = match AutoscalerReview::from_request_reading(request, |autoscaler| {
            AutoscalerMetrics::read(autoscaler).map(drop)
        }) {
            Ok(review) => review,
            Err(verdict) => return verdict,
        };
        let objects = NamespaceObjects::new(cluster, &review.namespace, &FIELD_MASKS);
        decide(request, &review, settings, &objects).unwrap_or_else(|error| lookup_failed(&error))
    }
}

/// The findings of the submitted object, less those the stored object already had. KEDA's own HPA is
/// its ScaledObject, judged when the ScaledObject is admitted; an HPA only claiming to be it is judged
/// as a plain HPA.
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
    let namespace = objects.namespace();
    let target = check_target(adapter, autoscaler, objects, settings, &mut findings)?;
    let deployment = target.map(|target| Deployment::new(target, objects));
    let metrics = AutoscalerMetrics::read(autoscaler).map_err(|error| {
        LookupError::Failed(format!(
            "{} {namespace}/{}: {error}",
            autoscaler.kind(),
            autoscaler.name()
        ))
    })?;
    check_metrics(&metrics, deployment.as_ref(), settings, &mut findings)?;
    Ok(findings)
}

/// What an autoscaler scales, as its metrics must select it: the scope of its deployment alone, and,
/// read on first need, among the other DGDs of the namespace (their values decide only a selection that
/// pins no value, or values besides the deployment's).
struct Deployment<'a, 'o> {
    target: ScaledUnit<'a>,
    objects: &'a NamespaceObjects<'o>,
    alone: Scope,
    among_others: OnceCell<Scope>,
}

impl<'a, 'o> Deployment<'a, 'o> {
    fn new(target: ScaledUnit<'a>, objects: &'a NamespaceObjects<'o>) -> Self {
        Self {
            alone: Scope::new(&target, &[], objects.namespace()),
            target,
            objects,
            among_others: OnceCell::new(),
        }
    }

    /// Who emits what `selection` selects, and how the selection stands against it.
    fn judge(
        &self,
        selection: &MetricSelection,
    ) -> Result<(Cow<'_, Emitter>, Judgement), LookupError> {
        let emitter = self.alone.emitter(selection.names);
        let judgement = selection.judge_with(&emitter.values, || {
            Ok::<_, LookupError>(self.among_others()?.others())
        })?;
        Ok((emitter, judgement))
    }

    fn among_others(&self) -> Result<&Scope, LookupError> {
        if let Some(scope) = self.among_others.get() {
            return Ok(scope);
        }
        let dgds = self.objects.dgds()?;
        let scope = Scope::new(&self.target, &dgds, self.objects.namespace());
        Ok(self.among_others.get_or_init(|| scope))
    }
}

/// The metrics of an autoscaler: a ScaledObject's triggers, an HPA's metrics (both read on demand).
enum AutoscalerMetrics {
    Triggers(Vec<Trigger>),
    Hpa(Vec<MetricSpec>),
}

impl AutoscalerMetrics {
    fn read(autoscaler: &Autoscaler) -> Result<Self, FieldError> {
        Ok(match autoscaler {
            Autoscaler::ScaledObject(so) => Self::Triggers(so.spec.triggers()?),
            Autoscaler::Hpa(hpa) => Self::Hpa(hpa.spec.metrics()?),
        })
    }
}

/// The version whose words a message that names no DGD speaks: v1beta1 when the autoscaler targets
/// `nvidia.com/v1beta1` or a DGD of the namespace is v1beta1 (in a cluster that serves v1beta1 every
/// DGD is listed as v1beta1), else v1alpha1.
fn wording(autoscaler: &Autoscaler, dgds: &[&DgdView]) -> DgdVersion {
    let targets_v1beta1 =
        autoscaler.target().api_version.as_deref() == Some(DgdVersion::V1beta1.api_version());
    if targets_v1beta1 || dgds.iter().any(|d| d.version == DgdVersion::V1beta1) {
        DgdVersion::V1beta1
    } else {
        DgdVersion::V1alpha1
    }
}

/// What turns the adapter on, written below a component's or group's path: v1alpha1
/// `scalingAdapter.enabled: true`, v1beta1 the marker `scalingAdapter: {}`.
fn enabling_field(version: DgdVersion) -> &'static str {
    match version {
        DgdVersion::V1alpha1 => "scalingAdapter.enabled: true",
        DgdVersion::V1beta1 => "scalingAdapter: {}",
    }
}

/// Checks that `adapter` (the target of `autoscaler`) exists or that a DGD component or group is about
/// to create it; returns what it scales, when that is known (even when the adapter still has to be
/// enabled). Only a missing adapter that nothing would create reads every adapter and DGD of the
/// namespace, for what is near its name.
fn check_target<'a>(
    adapter: &str,
    autoscaler: &Autoscaler,
    objects: &'a NamespaceObjects<'_>,
    settings: &Settings,
    findings: &mut Findings,
) -> Result<Option<ScaledUnit<'a>>, LookupError> {
    let namespace = objects.namespace();
    let resolution = objects.resolve(adapter)?;
    if objects.adapter(adapter)?.is_some() {
        return Ok(resolution.target());
    }
    let missing = format!(
        "{TARGET_PATH}: {} {namespace}/{adapter} does not exist",
        adapter::KIND
    );
    let candidates = resolution.candidates();
    if !candidates.is_empty() {
        if !candidates.iter().any(|c| c.unit.adapter_enabled()) {
            for candidate in candidates {
                let dgd = candidate.dgd.name();
                let fix = format!(
                    "{}.{}",
                    candidate.unit.path(),
                    enabling_field(candidate.dgd.version)
                );
                findings.violations.push(Violation::keyed(
                    format!("target {adapter} disabled {dgd}/{}", candidate.name()),
                    format!(
                        "{missing}, because {} of {} {dgd} does not enable its scaling adapter; set {fix} in that {}",
                        candidate.describe(),
                        dgd::KIND,
                        dgd::KIND
                    ),
                ));
            }
        }
        return Ok(resolution.target());
    }
    let dgds = objects.dgds()?;
    let members = group_members_named(adapter, &dgds);
    if !members.is_empty() {
        for (dgd, member, group) in members {
            let (name, group_name) = (dgd.name(), &group.name);
            let group_adapter = adapter_name(name, group_name);
            let enable = if group.adapter {
                String::new()
            } else {
                format!(
                    ", and set {}.{} in that {}",
                    group.path,
                    enabling_field(dgd.version),
                    dgd::KIND
                )
            };
            findings.violations.push(Violation::keyed(
                format!("target {adapter} group member {name}/{member}"),
                format!(
                    "{missing}, because component {member} of {} {name} belongs to component group {group_name} and has no adapter of its own; target the group's adapter {group_adapter}{enable}",
                    dgd::KIND
                ),
            ));
        }
        return Ok(None);
    }
    let would_create = match wording(autoscaler, &dgds) {
        DgdVersion::V1alpha1 => {
            "no DynamoGraphDeployment service in the namespace would create it (a service with scalingAdapter.enabled: true whose <dgd>-<lowercased service> is that name)"
        }
        DgdVersion::V1beta1 => {
            "no DynamoGraphDeployment component in the namespace would create it (a component or component group with scalingAdapter: {}, or a worker component in the power budget mode, whose <dgd>-<lowercased name> is that name)"
        }
    };
    let message =
        format!("{missing}, and {would_create}; the autoscaler reports <unknown> until it exists");
    let suggestions = suggestions(adapter, &objects.adapters()?, &dgds);
    if !suggestions.is_empty() {
        let listed = suggestions
            .iter()
            .map(Suggestion::to_string)
            .collect::<Vec<_>>();
        let question = match listed.as_slice() {
            [one] => format!("did you mean {one}?"),
            many => format!("did you mean one of {}?", many.join(", ")),
        };
        // A name with capitals (one differing from another only in case among them) can never exist:
        // adapter names are the lowercase `<dgd>-<lowercased name>`. A lowercase name a few edits away
        // may be a deployment still to be applied (`llama-2-decode` beside `llama-1-decode`): like any
        // missing target, a warning unless `missingTarget: deny`.
        let never_exists = adapter.chars().any(char::is_uppercase);
        if never_exists || settings.missing_target == MissingTarget::Deny {
            findings.violations.push(Violation::keyed(
                format!("target {adapter} misspelled"),
                format!("{missing}; {question}"),
            ));
        } else {
            findings.warnings.push(format!("{message}; {question}"));
        }
        return Ok(None);
    }
    match settings.missing_target {
        MissingTarget::Warn => findings.warnings.push(message),
        MissingTarget::Deny => findings.violations.push(Violation::keyed(
            format!("target {adapter} missing"),
            message,
        )),
    }
    Ok(None)
}

/// The members of component groups whose own adapter name would be `adapter` (ignoring case): the
/// operator never creates one, their group's adapter scales them. Each with its DGD and group.
fn group_members_named<'a>(
    adapter: &str,
    dgds: &[&'a DgdView],
) -> Vec<(&'a DgdView, &'a str, &'a dgd::ComponentGroup)> {
    let lowercase = &adapter.to_lowercase();
    dgds.iter()
        .copied()
        .flat_map(|dgd| {
            dgd.components.iter().filter_map(move |component| {
                let group = dgd.group(component.group.as_deref()?)?;
                (adapter_name(dgd.name(), &component.name).to_lowercase() == *lowercase)
                    .then_some((dgd, component.name.as_str(), group))
            })
        })
        .collect()
}

/// An adapter name close to a missing one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Suggestion {
    /// Edit distance to the missing name, ignoring case.
    distance: usize,
    /// The name.
    name: String,
    /// What would create it, when no adapter of that name exists yet and it does not enable it.
    to_enable: Option<ToEnable>,
}

/// A DGD component or group that would create a suggested adapter once it enables it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct ToEnable {
    /// The DGD's name.
    dgd: String,
    /// The component's or group's name.
    unit: String,
    /// What it must do: `service decode of DynamoGraphDeployment x must also set ...`.
    sentence: String,
}

impl std::fmt::Display for Suggestion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.name)?;
        if let Some(to_enable) = &self.to_enable {
            write!(f, " ({})", to_enable.sentence)?;
        }
        Ok(())
    }
}

/// The existing adapters, and the adapters DGD components and groups would create, whose names differ
/// from `missing` only in case or by at most [`MAX_SUGGESTION_DISTANCE`] edits; closest first.
fn suggestions(missing: &str, adapters: &[&ScalingAdapter], dgds: &[&DgdView]) -> Vec<Suggestion> {
    let lowercase = missing.to_lowercase();
    let existing = adapters.iter().map(|a| (a.metadata.name.clone(), None));
    let by_units = dgds.iter().flat_map(|dgd| {
        dgd.units().into_iter().map(|unit| {
            let name = adapter_name(dgd.name(), unit.name());
            let exists = adapters.iter().any(|a| a.metadata.name == name);
            let to_enable = (!exists && !unit.adapter_enabled()).then(|| {
                let target = ScaledUnit { dgd, unit };
                ToEnable {
                    dgd: dgd.name().to_owned(),
                    unit: unit.name().to_owned(),
                    sentence: format!(
                        "{} of {} {} must also set {}",
                        target.describe(),
                        dgd::KIND,
                        dgd.name(),
                        enabling_field(dgd.version)
                    ),
                }
            });
            (name, to_enable)
        })
    });
    let found: BTreeSet<Suggestion> = existing
        .chain(by_units)
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
    // An adapter that exists and the component that made it give the same name: keep the first.
    let mut seen = BTreeSet::new();
    found
        .into_iter()
        .filter(|s| seen.insert(s.name.clone()))
        .collect()
}

/// Checks the scope of the autoscaler's Dynamo metrics: KEDA `prometheus` triggers' queries, HPA
/// `External` and `Object` metrics' label selectors. Without `deployment` (the target is unknown) only
/// what needs none is checked: queries that do not parse, metrics without a filter.
fn check_metrics(
    metrics: &AutoscalerMetrics,
    deployment: Option<&Deployment<'_, '_>>,
    settings: &Settings,
    findings: &mut Findings,
) -> Result<(), LookupError> {
    match metrics {
        AutoscalerMetrics::Triggers(triggers) => {
            for (index, trigger) in triggers.iter().enumerate() {
                if trigger.type_ != "prometheus" {
                    continue;
                }
                let path = format!("spec.triggers[{index}].metadata.query");
                match trigger.metadata.get("query") {
                    None | Some(Value::Null) => {}
                    Some(Value::String(query)) => {
                        check_query(&path, query, deployment, settings, findings)?;
                    }
                    Some(_) => findings.violations.push(Violation::keyed(
                        format!("{path} type"),
                        format!("{path} must be a string"),
                    )),
                }
            }
        }
        AutoscalerMetrics::Hpa(metrics) => {
            for (index, metric) in metrics.iter().enumerate() {
                let sources = [("external", &metric.external), ("object", &metric.object)];
                for (field, source) in sources {
                    let Some(source) = source else { continue };
                    let identifier = &source.metric;
                    let selection = MetricSelection {
                        metric: identifier.name.clone(),
                        names: scope::Names::of(&identifier.name),
                        conditions: scope::label_selector_conditions(identifier.selector.as_ref()),
                    };
                    let path = format!("spec.metrics[{index}].{field}.metric.selector");
                    check_selection(&path, &selection, deployment, settings, findings)?;
                }
            }
        }
    }
    Ok(())
}

/// Checks every selector of a PromQL `query` found at `path`.
fn check_query(
    path: &str,
    query: &str,
    deployment: Option<&Deployment<'_, '_>>,
    settings: &Settings,
    findings: &mut Findings,
) -> Result<(), LookupError> {
    let parse_error = |problem: String| {
        Violation::keyed(
            format!("{path} parse"),
            format!("{path} does not parse: {problem}"),
        )
    };
    let selectors = match promql::vector_selectors(query) {
        Ok(selectors) => selectors,
        Err(error) => {
            findings.violations.push(parse_error(error.to_string()));
            return Ok(());
        }
    };
    for selector in &selectors {
        match scope::promql_selection(selector) {
            Ok(Some(selection)) => {
                check_selection(path, &selection, deployment, settings, findings)?;
            }
            Ok(None) => {}
            Err(problem) => push_violation(findings, parse_error(problem)),
        }
    }
    Ok(())
}

/// Checks one metric selection found at `path`; each finding is recorded once.
fn check_selection(
    path: &str,
    selection: &MetricSelection,
    deployment: Option<&Deployment<'_, '_>>,
    settings: &Settings,
    findings: &mut Findings,
) -> Result<(), LookupError> {
    if !selection.names.any() {
        return Ok(());
    }
    let Some(deployment) = deployment else {
        if let Some(judgement) = selection.judge_without_deployment() {
            report(path, selection, None, &judgement, settings, findings);
        }
        return Ok(());
    };
    let (emitter, judgement) = deployment.judge(selection)?;
    report(
        path,
        selection,
        Some(&emitter),
        &judgement,
        settings,
        findings,
    );
    Ok(())
}

/// Records what `judgement` finds in a selection at `path`, against `emitter` (`None` when the
/// deployment is unknown).
fn report(
    path: &str,
    selection: &MetricSelection,
    emitter: Option<&Emitter>,
    judgement: &Judgement,
    settings: &Settings,
    findings: &mut Findings,
) {
    let label = scope::LABEL;
    let metric = selection.metric.as_str();
    let conditions = selection.conditions_text();
    let key = format!("{path} {metric} {conditions}");
    // The filter to write, when the deployment is known.
    let fix = emitter.map_or_else(|| label.to_owned(), Emitter::filter);
    let message = match (judgement, emitter) {
        (Judgement::Right, _) => return,
        (Judgement::Unfiltered, _) => {
            let message = format!(
                "{path}: {metric} has no {label} filter, so it aggregates the metrics of every Dynamo deployment; filter on {fix}"
            );
            return unscoped(key, message, settings, findings);
        }
        (Judgement::Unscoped, _) => {
            let message = format!(
                "{path}: {metric} selects {conditions}, which does not pin {label} to the deployment's value, so it aggregates the metrics of every other Dynamo deployment it lets through (Prometheus holds those of every namespace); filter on {fix}"
            );
            return unscoped(key, message, settings, findings);
        }
        (Judgement::Wrong, Some(emitter)) => format!(
            "{path}: {metric} selects {conditions}, but {} emits {}",
            emitter.description,
            emitter.emitted()
        ),
        (Judgement::TooWide(others), _) => format!(
            "{path}: {metric} selects {conditions}, which also matches {} of another DynamoGraphDeployment in the namespace; select {fix} only",
            others.join(", "),
        ),
        (Judgement::AlsoSelects(others), _) => {
            let others: Vec<String> = others
                .iter()
                .map(|value| match value.as_str() {
                    "" => format!("{label}=\"\" (series without the label)"),
                    value => format!("{label}=\"{}\"", value.escape_debug()),
                })
                .collect();
            format!(
                "{path}: {metric} selects {conditions}, which also matches {} (Prometheus holds the metrics of every namespace); select {fix} only",
                others.join(", ")
            )
        }
        (Judgement::Wrong, None) => return,
    };
    push_violation(findings, Violation::keyed(key, message));
}

/// Records a metric its selector does not scope to one deployment (no `dynamo_namespace` filter, or
/// one that lets other values through): a warning, or a violation with `requireNamespaceFilter`.
fn unscoped(key: String, message: String, settings: &Settings, findings: &mut Findings) {
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
    use scaleguard_sdk::parse::from_value;
    use scaleguard_test_support::{
        ADAPTERS_V1ALPHA1, ADAPTERS_V1BETA1, DGDS_V1ALPHA1, DGDS_V1BETA1, RecordingCluster,
    };
    use scaleguard_test_support::{dgd_view, dgd_view_v1beta1};
    use serde_json::json;

    fn adapter(name: &str) -> ScalingAdapter {
        from_value(&json!({"metadata": {"name": name},
            "spec": {"replicas": 1, "dgdRef": {"name": "x", "serviceName": "y"}}}))
        .unwrap()
    }

    fn suggested(missing: &str, adapters: &[ScalingAdapter], dgds: &[DgdView]) -> Vec<String> {
        let adapters: Vec<&ScalingAdapter> = adapters.iter().collect();
        suggestions(missing, &adapters, &dgds.iter().collect::<Vec<_>>())
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn suggestions_are_close_names_closest_first() {
        let dgds = [
            dgd_view(
                "sglang-agg",
                json!({"decode": {"scalingAdapter": {"enabled": true}}, "Frontend": {}}),
            ),
            dgd_view("sglang-agx", json!({"decode": {}})),
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

    #[test]
    fn v1beta1_suggestions_name_components_and_groups_in_v1beta1_words() {
        let dgds = [
            dgd_view_v1beta1(
                "disagg",
                json!({"components": [{"name": "prefill", "type": "prefill"},
                    {"name": "decode", "type": "decode"}, {"name": "Frontend", "type": "frontend"}],
                  "experimental": {"componentGroups": [{"name": "Engines", "replicas": 1,
                    "components": [{"name": "prefill"}, {"name": "decode"}]}]}}),
            ),
            dgd_view_v1beta1(
                "agg",
                json!({"components": [{"name": "decode", "type": "worker", "scalingAdapter": {}}]}),
            ),
        ];
        assert_eq!(
            suggested("disagg-engine", &[], &dgds),
            [
                "disagg-engines (component group Engines of DynamoGraphDeployment disagg must also set scalingAdapter: {})"
            ]
        );
        assert_eq!(
            suggested("disagg-Frontend", &[], &dgds),
            [
                "disagg-frontend (component Frontend of DynamoGraphDeployment disagg must also set scalingAdapter: {})"
            ]
        );
        // The bare marker enables it: nothing more to set.
        assert_eq!(suggested("agg-Decode", &[], &dgds), ["agg-decode"]);
        // Group members have no adapter of their own: never suggested.
        assert!(suggested("disagg-decod", &[], &dgds).is_empty());
    }

    #[test]
    fn group_members_are_found_by_their_would_be_adapter_name() {
        let disagg = dgd_view_v1beta1(
            "disagg",
            json!({"components": [{"name": "prefill"}, {"name": "decode"}, {"name": "Frontend"}],
              "experimental": {"componentGroups": [{"name": "Engines", "replicas": 1,
                "components": [{"name": "prefill"}, {"name": "decode"}]}]}}),
        );
        let dgds = [&disagg];
        let found: Vec<_> = group_members_named("disagg-Decode", &dgds)
            .iter()
            .map(|(dgd, member, group)| format!("{}/{member} in {}", dgd.name(), group.name))
            .collect();
        assert_eq!(found, ["disagg/decode in Engines"]);
        assert!(group_members_named("disagg-frontend", &dgds).is_empty());
        assert!(group_members_named("disagg-engines", &dgds).is_empty());
    }

    fn scaled_object(api_version: &str) -> Autoscaler {
        Autoscaler::ScaledObject(
            from_value(
                &json!({"metadata": {"name": "s"}, "spec": {"scaleTargetRef": {
                "apiVersion": api_version, "kind": "DynamoGraphDeploymentScalingAdapter",
                "name": "x"}}}),
            )
            .unwrap(),
        )
    }

    #[test]
    fn messages_naming_no_dgd_speak_v1beta1_when_the_target_or_a_dgd_does() {
        let (a, b) = (
            dgd_view("a", json!({"decode": {}})),
            dgd_view_v1beta1("b", json!({"components": [{"name": "decode"}]})),
        );
        let (alpha, beta) = ([&a], [&b]);
        let v1alpha1 = scaled_object("nvidia.com/v1alpha1");
        let v1beta1 = scaled_object("nvidia.com/v1beta1");
        assert_eq!(wording(&v1alpha1, &[]), DgdVersion::V1alpha1);
        assert_eq!(wording(&v1alpha1, &alpha), DgdVersion::V1alpha1);
        assert_eq!(wording(&v1alpha1, &beta), DgdVersion::V1beta1);
        assert_eq!(wording(&v1beta1, &alpha), DgdVersion::V1beta1);
        assert_eq!(
            wording(&scaled_object("nvidia.com/v1"), &[]),
            DgdVersion::V1alpha1
        );
    }

    fn request(api_version: &str) -> AdmissionRequest {
        from_value(&json!({
            "operation": "CREATE", "namespace": "default",
            "kind": {"group": "keda.sh", "version": "v1alpha1", "kind": "ScaledObject"},
            "object": {"metadata": {"name": "s"}, "spec": {"scaleTargetRef": {
                "apiVersion": api_version, "kind": "DynamoGraphDeploymentScalingAdapter",
                "name": "sglang-agg-decode"}}}
        }))
        .unwrap()
    }

    #[test]
    fn a_failed_look_up_cannot_be_decided() {
        let mut failing = RecordingCluster::default();
        failing.failing = vec![ADAPTERS_V1BETA1, ADAPTERS_V1ALPHA1];
        let Verdict::Reject { code, message, .. } = AdapterTarget::evaluate(
            &request("nvidia.com/v1alpha1"),
            &Settings::default(),
            &failing,
        ) else {
            panic!("expected a refusal");
        };
        assert_eq!(code, 500);
        // v1beta1 is listed first: its failure is not a kind the cluster lacks, so it is not retried.
        assert_eq!(
            message,
            "cluster look-up failed: listing nvidia.com/v1beta1/DynamoGraphDeploymentScalingAdapter in namespace default: connection refused"
        );
    }

    fn v1alpha1_objects() -> Vec<Value> {
        vec![
            json!({"apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoGraphDeployment",
                "metadata": {"name": "sglang-agg", "namespace": "default"},
                "spec": {"services": {"decode": {"scalingAdapter": {"enabled": true}}}}}),
            json!({"apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoGraphDeploymentScalingAdapter",
                "metadata": {"name": "sglang-agg-decode", "namespace": "default"},
                "spec": {"replicas": 1, "dgdRef": {"name": "sglang-agg", "serviceName": "decode"}}}),
        ]
    }

    #[test]
    fn look_ups_try_v1beta1_first_and_fall_back_to_v1alpha1() {
        // Dynamo < 1.2: only v1alpha1 is served.
        let mut old = RecordingCluster::with(v1alpha1_objects());
        old.not_served = vec![ADAPTERS_V1BETA1, DGDS_V1BETA1];
        let verdict =
            AdapterTarget::evaluate(&request("nvidia.com/v1alpha1"), &Settings::default(), &old);
        assert_eq!(verdict, Verdict::accept());
        assert_eq!(
            old.calls(),
            [
                ADAPTERS_V1BETA1,
                ADAPTERS_V1ALPHA1,
                DGDS_V1BETA1,
                DGDS_V1ALPHA1
            ]
        );
        // Dynamo >= 1.2: one list per kind, at v1beta1, whatever version the autoscaler names.
        let new = RecordingCluster::with(v1alpha1_objects());
        let verdict =
            AdapterTarget::evaluate(&request("nvidia.com/v1alpha1"), &Settings::default(), &new);
        assert_eq!(verdict, Verdict::accept());
        assert_eq!(new.calls(), [ADAPTERS_V1BETA1, DGDS_V1BETA1]);
    }

    #[test]
    fn a_v1beta1_component_with_the_bare_marker_is_about_to_get_its_adapter() {
        let mut cluster = RecordingCluster::with(vec![
            json!({"apiVersion": "nvidia.com/v1beta1", "kind": "DynamoGraphDeployment",
            "metadata": {"name": "sglang-agg", "namespace": "default"},
            "spec": {"components": [{"name": "decode", "type": "worker", "scalingAdapter": {}}]}}),
        ]);
        cluster.not_served = vec![ADAPTERS_V1ALPHA1, DGDS_V1ALPHA1];
        let settings = Settings {
            missing_target: MissingTarget::Deny,
            ..Settings::default()
        };
        assert_eq!(
            AdapterTarget::evaluate(&request("nvidia.com/v1beta1"), &settings, &cluster),
            Verdict::accept()
        );
    }
}
