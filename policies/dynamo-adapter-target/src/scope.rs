//! The metric scope check: which `dynamo_namespace` a Dynamo metric of the adapter's deployment carries,
//! and whether a selector (a PromQL vector selector, or an HPA metric's label selector) picks exactly
//! that deployment: whether its conditions pin `dynamo_namespace` to the deployment's values, Prometheus
//! holding the metrics of every namespace.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;

use regex_lite::Regex;
use rusty_promql_parser::{LabelMatchOp, LabelMatcher, VectorSelector};
use scaleguard_sdk::autoscaler::{LabelSelector, LabelSelectorRequirement};
use scaleguard_sdk::dgd::{self, Component, DgdView, Role, Unit};
use scaleguard_sdk::review::ScaledUnit;

use crate::pattern;

/// The metric label that tells Dynamo deployments apart.
pub const LABEL: &str = "dynamo_namespace";
/// Prefix of the metrics Dynamo's frontend emits.
const FRONTEND_PREFIX: &str = "dynamo_frontend_";

/// Whether the scope of `metric` is checked: Dynamo's own metrics (`dynamo_*`) and the workers' KV cache
/// statistics (`kvstats_*`).
pub fn is_checked(metric: &str) -> bool {
    metric.starts_with("dynamo_") || metric.starts_with("kvstats_")
}

/// Which of a deployment's Dynamo metrics a selector may select: its frontend's (`dynamo_frontend_*`),
/// and the others (other `dynamo_*`, `kvstats_*`), emitted by what the adapter scales.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Names {
    /// May select `dynamo_frontend_*` metrics.
    pub frontend: bool,
    /// May select other `dynamo_*` or `kvstats_*` metrics.
    pub target: bool,
}

impl Names {
    /// Every metric name.
    pub const ANY: Self = Self {
        frontend: true,
        target: true,
    };

    /// The kind of the metric named `metric`.
    pub fn of(metric: &str) -> Self {
        let frontend = metric.starts_with(FRONTEND_PREFIX);
        Self {
            frontend,
            target: is_checked(metric) && !frontend,
        }
    }

    /// Whether it selects any Dynamo metric.
    pub fn any(self) -> bool {
        self.frontend || self.target
    }

    /// The names both select (a selector's name matchers all apply).
    fn and(self, other: Self) -> Self {
        Self {
            frontend: self.frontend && other.frontend,
            target: self.target && other.target,
        }
    }
}

/// A component (or component group) that emits metrics, and the `dynamo_namespace` values they carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Emitter {
    /// The `dynamo_namespace` values, sorted and distinct: one for a component; for a component group
    /// its members' (several when only some members set `globalDynamoNamespace: true`).
    pub values: Vec<String>,
    /// Who it is, for messages: `service Frontend of DynamoGraphDeployment llama.chat` (v1alpha1),
    /// `component Frontend of ...` (v1beta1), `component group Engines of ...`.
    pub description: String,
}

impl Emitter {
    /// A component of `dgd`, in the words of the DGD's version.
    fn component(namespace: &str, dgd: &DgdView, component: &Component) -> Self {
        let global = if component.global_dynamo_namespace {
            " (globalDynamoNamespace: true)"
        } else {
            ""
        };
        Self {
            values: vec![dgd.dynamo_namespace_of(namespace, component)],
            description: format!(
                "{} {} of {} {}{global}",
                dgd.version.component_noun(),
                component.name,
                dgd::KIND,
                dgd.name()
            ),
        }
    }

    /// What an adapter scales: its component, or its component group, whose series carry the
    /// members' values (a group without members: the DGD's own `<namespace>-<dgd>`).
    fn target(namespace: &str, target: &ScaledUnit<'_>) -> Self {
        let dgd = target.dgd;
        if let Unit::Component(component) = target.unit {
            return Self::component(namespace, dgd, component);
        }
        let members = target.components();
        let mut values: Vec<String> = members
            .iter()
            .map(|member| dgd.dynamo_namespace_of(namespace, member))
            .collect();
        values.sort();
        values.dedup();
        if values.is_empty() {
            values.push(dgd::dynamo_namespace(namespace, dgd.name(), false));
        }
        let global: Vec<&str> = members
            .iter()
            .filter(|member| member.global_dynamo_namespace)
            .map(|member| member.name.as_str())
            .collect();
        let global = if global.is_empty() {
            String::new()
        } else {
            format!(" (globalDynamoNamespace: true on {})", global.join(", "))
        };
        Self {
            values,
            description: format!(
                "{} of {} {}{global}",
                target.describe(),
                dgd::KIND,
                dgd.name()
            ),
        }
    }

    /// What its series carry, for messages: `dynamo_namespace="default-x"`, or for a group whose
    /// members differ `dynamo_namespace="default-x" and dynamo_namespace="dynamo"`.
    pub fn emitted(&self) -> String {
        self.values
            .iter()
            .map(|value| format!("{LABEL}=\"{value}\""))
            .collect::<Vec<_>>()
            .join(" and ")
    }

    /// The filter to write: `dynamo_namespace="default-x"`, or `dynamo_namespace=~"default-x|dynamo"`
    /// for several values (the values are DNS labels and `dynamo`: nothing to escape).
    pub fn filter(&self) -> String {
        match self.values.as_slice() {
            [one] => format!("{LABEL}=\"{one}\""),
            many => format!("{LABEL}=~\"{}\"", many.join("|")),
        }
    }
}

/// What the metrics of an adapter's deployment look like from Prometheus: the `dynamo_namespace` of its
/// frontend and of what the adapter scales, and the values the other DGDs of the namespace emit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    frontend: Emitter,
    target: Emitter,
    others: BTreeSet<String>,
    /// `DynamoGraphDeployment <name>`, for what both emit.
    deployment: String,
}

impl Scope {
    /// The scope of `target` (a component or component group of a DGD in `namespace`), among the
    /// namespace's `dgds` (of either version).
    ///
    /// Frontend metrics come from the DGD's component with the frontend role (v1alpha1
    /// `componentType: frontend`, v1beta1 `type: frontend`), else the component named `Frontend`, in
    /// any case; a DGD without one is described by its own `<namespace>-<dgd>` value.
    pub fn new(target: &ScaledUnit<'_>, dgds: &[&DgdView], namespace: &str) -> Self {
        let dgd = target.dgd;
        let components = &dgd.components;
        let frontend = components
            .iter()
            .find(|c| c.role == Role::Frontend)
            .or_else(|| {
                components
                    .iter()
                    .find(|c| c.name.eq_ignore_ascii_case("frontend"))
            })
            .map_or_else(
                || Emitter {
                    values: vec![dgd::dynamo_namespace(namespace, dgd.name(), false)],
                    description: format!("{} {}", dgd::KIND, dgd.name()),
                },
                |component| Emitter::component(namespace, dgd, component),
            );
        let target_emitter = Emitter::target(namespace, target);
        let mut others: BTreeSet<String> = dgds
            .iter()
            .filter(|other| other.name() != dgd.name())
            .flat_map(|other| {
                other
                    .components
                    .iter()
                    .map(|component| other.dynamo_namespace_of(namespace, component))
            })
            .collect();
        // A value the adapter's own deployment emits tells nothing apart: `dynamo` is every global
        // component's, and `a.b`/`a-b` DGDs share `<namespace>-a-b`.
        for own in frontend.values.iter().chain(&target_emitter.values) {
            others.remove(own);
        }
        Self {
            frontend,
            target: target_emitter,
            others,
            deployment: format!("{} {}", dgd::KIND, dgd.name()),
        }
    }

    /// The `dynamo_namespace` values of the other DGDs of the namespace (less the adapter's own values).
    pub fn others(&self) -> &BTreeSet<String> {
        &self.others
    }

    /// Who emits `metric`: the frontend for `dynamo_frontend_*`, what the adapter scales for the rest.
    #[cfg(test)]
    pub fn emitter_of(&self, metric: &str) -> &Emitter {
        if metric.starts_with(FRONTEND_PREFIX) {
            &self.frontend
        } else {
            &self.target
        }
    }

    /// Who emits the metrics `names` stand for: the frontend, what the adapter scales, or, for a
    /// selector that may select both kinds, the deployment with the values of both (a series of either
    /// value is the deployment's).
    pub fn emitter(&self, names: Names) -> Cow<'_, Emitter> {
        match (names.frontend, names.target) {
            (true, false) => Cow::Borrowed(&self.frontend),
            (false, true) => Cow::Borrowed(&self.target),
            _ => {
                let mut values: Vec<String> = self
                    .frontend
                    .values
                    .iter()
                    .chain(&self.target.values)
                    .cloned()
                    .collect();
                values.sort();
                values.dedup();
                Cow::Owned(Emitter {
                    values,
                    description: self.deployment.clone(),
                })
            }
        }
    }
}

/// One condition a selector puts on the `dynamo_namespace` label, and how it reads.
#[derive(Debug, Clone)]
pub struct Condition {
    test: Test,
    text: String,
}

/// What a [`Condition`] asks of a value. The empty value is a series without the label, as in
/// Prometheus.
#[derive(Debug, Clone)]
enum Test {
    Equal(String),
    NotEqual(String),
    Matches(Pattern),
    DoesNotMatch(Pattern),
    In(Vec<String>),
    NotIn(Vec<String>),
    Exists,
    Nothing,
}

/// A label regex: compiled to match values (anchored, as Prometheus anchors it), and analysed for the
/// values it can match.
#[derive(Debug, Clone)]
struct Pattern {
    regex: Regex,
    analysis: pattern::Analysis,
}

impl Pattern {
    /// `source` as Prometheus reads it: `^(?s:<source>)$`, with `source` a regex on its own (so
    /// `a)|(b` is refused, not read as `^(?s:a)|(b)$`). `Err` is regex-lite's complaint.
    fn new(source: &str) -> Result<Self, regex_lite::Error> {
        Regex::new(source)?;
        Ok(Self {
            regex: Regex::new(&format!("^(?s:{source})$"))?,
            analysis: pattern::analyse(source),
        })
    }

    /// Whether `value` matches, `None` when regex-lite cannot tell: it folds ASCII case only, Go's
    /// `(?i)` folds `K` (Kelvin) and `ſ` too.
    fn matches(&self, value: &str) -> Option<bool> {
        (value.is_ascii() || !self.analysis.folds_case).then(|| self.regex.is_match(value))
    }
}

impl Condition {
    /// A PromQL label matcher, written as PromQL writes it. `Err` says why a regex does not compile.
    pub fn promql(matcher: &LabelMatcher) -> Result<Self, String> {
        let pattern = || {
            Pattern::new(&matcher.value)
                .map_err(|error| format!("invalid regex in {matcher}: {error}"))
        };
        let test = match matcher.op {
            LabelMatchOp::Equal => Test::Equal(matcher.value.clone()),
            LabelMatchOp::NotEqual => Test::NotEqual(matcher.value.clone()),
            LabelMatchOp::RegexMatch => Test::Matches(pattern()?),
            LabelMatchOp::RegexNotMatch => Test::DoesNotMatch(pattern()?),
        };
        Ok(Self {
            test,
            text: matcher.to_string(),
        })
    }

    /// An entry of a label selector's `matchLabels`, written as `kubectl` writes it.
    pub fn match_label(value: &str) -> Self {
        Self {
            test: Test::Equal(value.to_owned()),
            text: format!("{LABEL}={value}"),
        }
    }

    /// An entry of a label selector's `matchExpressions`, written as `kubectl` writes it. Operators the
    /// API server refuses select nothing.
    pub fn expression(requirement: &LabelSelectorRequirement) -> Self {
        let values = requirement.values.join(",");
        let (test, text) = match requirement.operator.as_str() {
            "In" => (
                Test::In(requirement.values.clone()),
                format!("{LABEL} in ({values})"),
            ),
            "NotIn" => (
                Test::NotIn(requirement.values.clone()),
                format!("{LABEL} notin ({values})"),
            ),
            "Exists" => (Test::Exists, LABEL.to_owned()),
            "DoesNotExist" => (Test::Nothing, format!("!{LABEL}")),
            other => (Test::Nothing, format!("{LABEL} {other} ({values})")),
        };
        Self { test, text }
    }

    /// Whether a series whose `dynamo_namespace` is `value` passes the condition; `None` when that
    /// cannot be told (see [`Pattern::matches`]).
    fn selects(&self, value: &str) -> Option<bool> {
        Some(match &self.test {
            Test::Equal(expected) => expected == value,
            Test::NotEqual(excluded) => excluded != value,
            Test::Matches(pattern) => pattern.matches(value)?,
            Test::DoesNotMatch(pattern) => !pattern.matches(value)?,
            Test::In(values) => values.iter().any(|v| v == value),
            Test::NotIn(values) => !values.iter().any(|v| v == value),
            Test::Exists => !value.is_empty(),
            Test::Nothing => false,
        })
    }

    /// The values it lets through, when they are finitely many: `=`, `In`, a regex of literals, and
    /// the conditions that select nothing. Negative conditions, `Exists` and other regexes are open.
    fn finite(&self) -> Option<BTreeSet<String>> {
        match &self.test {
            Test::Equal(value) => Some(BTreeSet::from([value.clone()])),
            Test::In(values) => Some(values.iter().cloned().collect()),
            Test::Matches(pattern) => pattern.analysis.literals.clone(),
            Test::Nothing => Some(BTreeSet::new()),
            Test::NotEqual(_) | Test::DoesNotMatch(_) | Test::NotIn(_) | Test::Exists => None,
        }
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A metric as one selector asks for it: the Dynamo metrics it may select and the conditions on
/// `dynamo_namespace` (all of which a series must pass).
#[derive(Debug, Clone)]
pub struct MetricSelection {
    /// The metric as messages name it: its name, else the selector's name matchers (or its other
    /// matchers, for a selector without any).
    pub metric: String,
    /// The Dynamo metrics it may select.
    pub names: Names,
    /// The conditions on `dynamo_namespace`.
    pub conditions: Vec<Condition>,
}

/// How a selection stands against the deployment it should select.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judgement {
    /// No condition on `dynamo_namespace`: every deployment's series are selected.
    Unfiltered,
    /// Pins `dynamo_namespace` to values of the deployment.
    Right,
    /// Selects none of the deployment's values.
    Wrong,
    /// Selects a value of the deployment, but its conditions do not pin `dynamo_namespace` to a finite
    /// list of values: whatever else they let through (other deployments', in any namespace Prometheus
    /// scrapes) is selected too.
    Unscoped,
    /// Selects a value of the deployment and these values of other DGDs of the namespace.
    TooWide(Vec<String>),
    /// Pins `dynamo_namespace` to a finite list with a value of the deployment and these values,
    /// some of which no DGD of the namespace emits.
    AlsoSelects(Vec<String>),
}

impl MetricSelection {
    /// Whether a series with `dynamo_namespace` `value` may be selected (unless some condition surely
    /// refuses it).
    fn may_select(&self, value: &str) -> bool {
        self.conditions
            .iter()
            .all(|condition| condition.selects(value) != Some(false))
    }

    /// Whether a series with `dynamo_namespace` `value` is surely selected.
    fn surely_selects(&self, value: &str) -> bool {
        self.conditions
            .iter()
            .all(|condition| condition.selects(value) == Some(true))
    }

    /// The values the conditions pin `dynamo_namespace` to, when some condition lets finitely many
    /// through: those all of them let through, as Prometheus combines matchers (`=~"a|b"` and `!="b"`
    /// pin it to `a`). `None`: open.
    fn pinned(&self) -> Option<BTreeSet<String>> {
        let finite = self
            .conditions
            .iter()
            .filter_map(Condition::finite)
            .reduce(|all, values| all.intersection(&values).cloned().collect())?;
        Some(
            finite
                .into_iter()
                .filter(|value| self.may_select(value))
                .collect(),
        )
    }

    /// Judges the selection against the values `expected` (it must select one of them, and no other)
    /// and `siblings`, the values of the other DGDs of the namespace.
    pub fn judge(&self, expected: &[String], siblings: &BTreeSet<String>) -> Judgement {
        if self.conditions.is_empty() {
            return Judgement::Unfiltered;
        }
        if !expected.iter().any(|value| self.surely_selects(value)) {
            return Judgement::Wrong;
        }
        let Some(pinned) = self.pinned() else {
            // Open: another DGD of the namespace it lets through is the wrong scope for certain.
            let also: Vec<String> = siblings
                .iter()
                .filter(|value| self.may_select(value))
                .cloned()
                .collect();
            return if also.is_empty() {
                Judgement::Unscoped
            } else {
                Judgement::TooWide(also)
            };
        };
        let others: Vec<String> = pinned
            .into_iter()
            .filter(|value| !expected.contains(value))
            .collect();
        if others.is_empty() {
            Judgement::Right
        } else if others.iter().all(|value| siblings.contains(value)) {
            Judgement::TooWide(others)
        } else {
            Judgement::AlsoSelects(others)
        }
    }

    /// [`Self::judge`], asking for `siblings` only where they decide: for a selection that pins no values,
    /// or one that pins values besides `expected` (the other DGDs of a namespace are read only then).
    pub fn judge_with<'s, E>(
        &self,
        expected: &[String],
        siblings: impl FnOnce() -> Result<&'s BTreeSet<String>, E>,
    ) -> Result<Judgement, E> {
        Ok(match self.judge(expected, &BTreeSet::new()) {
            Judgement::Unscoped | Judgement::AlsoSelects(_) => self.judge(expected, siblings()?),
            judgement => judgement,
        })
    }

    /// Judges the selection when the deployment is unknown: only what needs none, no filter at all
    /// ([`Judgement::Unfiltered`]) or one that pins nothing ([`Judgement::Unscoped`]).
    pub fn judge_without_deployment(&self) -> Option<Judgement> {
        if self.conditions.is_empty() {
            Some(Judgement::Unfiltered)
        } else if self.pinned().is_none() {
            Some(Judgement::Unscoped)
        } else {
            None
        }
    }

    /// The conditions as written, joined by `, `.
    pub fn conditions_text(&self) -> String {
        self.conditions
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The `dynamo_namespace` conditions of an HPA metric's label selector (`matchLabels` and
/// `matchExpressions` both apply).
pub fn label_selector_conditions(selector: Option<&LabelSelector>) -> Vec<Condition> {
    let Some(selector) = selector else {
        return Vec::new();
    };
    let labels = selector
        .match_labels
        .get(LABEL)
        .map(|value| Condition::match_label(value));
    let expressions = selector
        .match_expressions
        .iter()
        .filter(|requirement| requirement.key == LABEL)
        .map(Condition::expression);
    labels.into_iter().chain(expressions).collect()
}

/// The metric names `selector` may select, and how messages name them. Its name and every `=` or `=~`
/// matcher on `__name__` restrict them (a `__name__` regex is read for the Dynamo names it can match);
/// negative ones (`!=`, `!~`) are not read: a selector with no positive name matcher, `{job="x"}`, may
/// select any metric, Dynamo's included.
fn selected_names(selector: &VectorSelector) -> (Names, String) {
    let mut names = Names::ANY;
    let mut named = selector.name.clone();
    for matcher in selector.matchers.iter().filter(|m| m.name == "__name__") {
        match matcher.op {
            LabelMatchOp::Equal => {
                names = names.and(Names::of(&matcher.value));
                named.get_or_insert_with(|| matcher.value.clone());
            }
            LabelMatchOp::RegexMatch => names = names.and(pattern::dynamo_names(&matcher.value)),
            LabelMatchOp::NotEqual | LabelMatchOp::RegexNotMatch => {}
        }
    }
    if let Some(name) = &selector.name {
        names = names.and(Names::of(name));
    }
    let shown = named.unwrap_or_else(|| {
        let matchers: Vec<String> = selector
            .matchers
            .iter()
            .filter(|m| m.name != LABEL)
            .map(ToString::to_string)
            .collect();
        format!("{{{}}}", matchers.join(", "))
    });
    (names, shown)
}

/// The Dynamo metrics a vector selector may select, with its `dynamo_namespace` conditions: `None`
/// when it cannot select any (its name, or a name matcher, rules them out). `Err` says why a
/// `dynamo_namespace` regex does not compile.
pub fn promql_selection(selector: &VectorSelector) -> Result<Option<MetricSelection>, String> {
    let (names, metric) = selected_names(selector);
    if !names.any() {
        return Ok(None);
    }
    let conditions = selector
        .matchers
        .iter()
        .filter(|m| m.name == LABEL)
        .map(Condition::promql)
        .collect::<Result<_, _>>()?;
    Ok(Some(MetricSelection {
        metric,
        names,
        conditions,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::promql::vector_selectors;
    use scaleguard_sdk::parse::from_value;
    use scaleguard_sdk::review::resolve_adapter;
    use scaleguard_test_support::{dgd_view, dgd_view_v1beta1};
    use serde_json::json;

    fn values(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| (*v).to_owned()).collect()
    }

    fn scope_of(adapter: &str, dgds: &[DgdView]) -> Scope {
        let dgds: Vec<&DgdView> = dgds.iter().collect();
        let target = resolve_adapter(adapter, &[], &dgds).target().unwrap();
        Scope::new(&target, &dgds, "default")
    }

    fn selection(query: &str) -> MetricSelection {
        let selectors = vector_selectors(query).unwrap();
        promql_selection(&selectors[0]).unwrap().unwrap()
    }

    /// The metric and conditions of every selection of `query`.
    fn selections(query: &str) -> Vec<(String, String)> {
        vector_selectors(query)
            .unwrap()
            .iter()
            .filter_map(|selector| promql_selection(selector).unwrap())
            .map(|s| (s.metric.clone(), s.conditions_text()))
            .collect()
    }

    #[test]
    fn finds_selectors_inside_functions_aggregations_ranges_and_subqueries() {
        let query = r#"histogram_quantile(0.95,
          sum(rate(dynamo_frontend_time_to_first_token_seconds_bucket{dynamo_namespace="default-sglang-agg"}[5m]))
          by (le)
        ) / on() group_left topk(3, dynamo_frontend_queued_requests) + -max_over_time(kvstats_gpu_cache_usage_percent[10m:1m])
        # a comment
        "#;
        assert_eq!(
            selections(query),
            [
                (
                    "dynamo_frontend_time_to_first_token_seconds_bucket".into(),
                    r#"dynamo_namespace="default-sglang-agg""#.into()
                ),
                ("dynamo_frontend_queued_requests".into(), String::new()),
                ("kvstats_gpu_cache_usage_percent".into(), String::new()),
            ]
        );
    }

    #[test]
    fn names_come_from_the_selector_or_its_name_matchers() {
        let query = r#"{__name__="dynamo_frontend_queued_requests", dynamo_namespace="a"}
            + {__name__=~"dynamo_.*", job="j", dynamo_namespace!=""}
            + {__name__=~"container_.*|up"} + up{dynamo_namespace="a"} + container_x{__name__=~".*"}
            + {job="j"} + {dynamo_namespace="a"} + {"kvstats_x"} + {__name__!="x", job="j"}"#;
        assert_eq!(
            selections(query),
            [
                (
                    "dynamo_frontend_queued_requests".into(),
                    r#"dynamo_namespace="a""#.into()
                ),
                (
                    r#"{__name__=~"dynamo_.*", job="j"}"#.into(),
                    r#"dynamo_namespace!="""#.into()
                ),
                // A selector without a name may select any metric, Dynamo's included.
                (r#"{job="j"}"#.into(), String::new()),
                ("{}".into(), r#"dynamo_namespace="a""#.into()),
                ("kvstats_x".into(), String::new()),
                (r#"{__name__!="x", job="j"}"#.into(), String::new()),
            ]
        );
        let names = |query: &str| selection(query).names;
        assert_eq!(
            names(r#"{__name__=~"dynamo_frontend_.*"}"#),
            Names {
                frontend: true,
                target: false
            }
        );
        assert_eq!(
            names(r#"{__name__=~"kvstats_.*|dynamo_component_.*"}"#),
            Names {
                frontend: false,
                target: true
            }
        );
        assert_eq!(
            names(r#"{__name__=~".+", __name__=~"kvstats_.*"}"#),
            Names {
                frontend: false,
                target: true
            }
        );
        assert_eq!(names(r#"{job="j"}"#), Names::ANY);
    }

    #[test]
    fn exact_and_anchored_regex_matchers_are_judged_by_value() {
        let others: BTreeSet<String> = ["default-sglang-agg", "default-llama-chat-2"]
            .map(String::from)
            .into();
        let cases = [
            (
                r#"dynamo_m{dynamo_namespace="default-llama-chat"}"#,
                Judgement::Right,
            ),
            (
                r#"dynamo_m{dynamo_namespace="default-sglang-agg"}"#,
                Judgement::Wrong,
            ),
            (r#"dynamo_m"#, Judgement::Unfiltered),
            (r#"dynamo_m{job="x"}"#, Judgement::Unfiltered),
            // Anchored: `default-llama` does not match `default-llama-chat`.
            (
                r#"dynamo_m{dynamo_namespace=~"default-llama"}"#,
                Judgement::Wrong,
            ),
            (
                r#"dynamo_m{dynamo_namespace=~"default-llama-chat|default-llama-chat"}"#,
                Judgement::Right,
            ),
            // A finite list naming another value, whoever emits it.
            (
                r#"dynamo_m{dynamo_namespace=~"default-llama-chat|nothing"}"#,
                Judgement::AlsoSelects(vec!["nothing".into()]),
            ),
            (
                r#"dynamo_m{dynamo_namespace=~"default-llama-chat|default-sglang-agg"}"#,
                Judgement::TooWide(vec!["default-sglang-agg".into()]),
            ),
            (
                r#"dynamo_m{dynamo_namespace=~"default-llama-chat|"}"#,
                Judgement::AlsoSelects(vec![String::new()]),
            ),
            // Matchers combine: the list is cut down to the deployment's value.
            (
                r#"dynamo_m{dynamo_namespace=~"default-llama-chat|nothing", dynamo_namespace!="nothing"}"#,
                Judgement::Right,
            ),
            (
                r#"dynamo_m{dynamo_namespace=~"default-llama-chat|nothing", dynamo_namespace=~"default-.*"}"#,
                Judgement::Right,
            ),
            (
                r#"dynamo_m{dynamo_namespace=~"default-llama-chat|nothing", dynamo_namespace=~"(?i)NOTHING|default-llama-chat"}"#,
                Judgement::AlsoSelects(vec!["nothing".into()]),
            ),
            // Prometheus reads `^(?s:<regex>)$`: `.` matches a newline too.
            (
                "dynamo_m{dynamo_namespace=~\"default-llama-chat|default-llama-chat\\n\", dynamo_namespace=~\"default.*\"}",
                Judgement::AlsoSelects(vec!["default-llama-chat\n".into()]),
            ),
            // Open: anything else it lets through is selected too.
            (
                r#"dynamo_m{dynamo_namespace=~".*-chat"}"#,
                Judgement::Unscoped,
            ),
            (
                r#"dynamo_m{dynamo_namespace=~"(?i)default-llama-chat"}"#,
                Judgement::Unscoped,
            ),
            (
                r#"dynamo_m{dynamo_namespace!="", dynamo_namespace!~"default-(sglang-agg|llama-chat-2)"}"#,
                Judgement::Unscoped,
            ),
            (
                r#"dynamo_m{dynamo_namespace=~"default-llama-chat.*"}"#,
                Judgement::TooWide(vec!["default-llama-chat-2".into()]),
            ),
            (
                r#"dynamo_m{dynamo_namespace=~"default-.*", dynamo_namespace!="default-sglang-agg"}"#,
                Judgement::TooWide(vec!["default-llama-chat-2".into()]),
            ),
            (
                r#"dynamo_m{dynamo_namespace!="default-sglang-agg"}"#,
                Judgement::TooWide(vec!["default-llama-chat-2".into()]),
            ),
            (
                r#"dynamo_m{dynamo_namespace!~"default-llama-chat"}"#,
                Judgement::Wrong,
            ),
        ];
        for (query, expected) in cases {
            assert_eq!(
                selection(query).judge(&values(&["default-llama-chat"]), &others),
                expected,
                "{query}"
            );
            // Judged with the other DGDs read only where they decide, it is judged the same; a right,
            // wrong or unfiltered selection never reads them.
            let read = std::cell::Cell::new(false);
            let judged = selection(query).judge_with(&values(&["default-llama-chat"]), || {
                read.set(true);
                Ok::<_, ()>(&others)
            });
            let needs_others = !matches!(
                expected,
                Judgement::Right | Judgement::Wrong | Judgement::Unfiltered
            );
            assert_eq!(judged, Ok(expected), "{query}");
            assert_eq!(read.get(), needs_others, "{query}");
        }
    }

    #[test]
    fn an_invalid_regex_names_the_matcher() {
        let selectors = vector_selectors(r#"dynamo_m{dynamo_namespace=~"default-(a"}"#).unwrap();
        let error = promql_selection(&selectors[0]).unwrap_err();
        assert!(
            error.starts_with(r#"invalid regex in dynamo_namespace=~"default-(a": "#),
            "{error}"
        );
        // Prometheus compiles `^(?s:<regex>)$`, but only a regex that parses on its own: this one
        // would otherwise read `^(?s:default-a)|(.*)$`, which matches anything.
        let selectors =
            vector_selectors(r#"dynamo_m{dynamo_namespace=~"default-a)|(.*"}"#).unwrap();
        let error = promql_selection(&selectors[0]).unwrap_err();
        assert!(
            error.starts_with(r#"invalid regex in dynamo_namespace=~"default-a)|(.*": "#),
            "{error}"
        );
    }

    #[test]
    fn label_selectors_combine_match_labels_and_expressions() {
        let selector: LabelSelector = from_value(&json!({
            "matchLabels": {"dynamo_namespace": "default-a", "other": "x"},
            "matchExpressions": [
                {"key": "dynamo_namespace", "operator": "In", "values": ["default-a", "default-b"]},
                {"key": "model", "operator": "Exists"}
            ]
        }))
        .unwrap();
        let selection = MetricSelection {
            metric: "dynamo_ttft_p95_seconds".into(),
            names: Names::of("dynamo_ttft_p95_seconds"),
            conditions: label_selector_conditions(Some(&selector)),
        };
        assert_eq!(
            selection.conditions_text(),
            "dynamo_namespace=default-a, dynamo_namespace in (default-a,default-b)"
        );
        let others = BTreeSet::from(["default-b".to_owned()]);
        assert_eq!(
            selection.judge(&values(&["default-a"]), &others),
            Judgement::Right
        );
        assert_eq!(
            selection.judge(&values(&["default-b"]), &others),
            Judgement::Wrong
        );

        let judged = |operator: &str| {
            let requirement = LabelSelectorRequirement {
                key: LABEL.into(),
                operator: operator.into(),
                values: vec!["default-b".into()],
            };
            let condition = Condition::expression(&requirement);
            let text = condition.to_string();
            let selection = MetricSelection {
                metric: "m".into(),
                names: Names::ANY,
                conditions: vec![condition],
            };
            (text, selection.judge(&values(&["default-a"]), &others))
        };
        assert_eq!(
            judged("NotIn"),
            (
                "dynamo_namespace notin (default-b)".into(),
                Judgement::Unscoped
            )
        );
        assert_eq!(
            judged("In"),
            ("dynamo_namespace in (default-b)".into(), Judgement::Wrong)
        );
        assert_eq!(
            judged("Exists"),
            (
                "dynamo_namespace".into(),
                Judgement::TooWide(vec!["default-b".into()])
            )
        );
        assert_eq!(
            judged("DoesNotExist"),
            ("!dynamo_namespace".into(), Judgement::Wrong)
        );
        assert_eq!(
            judged("Gt"),
            ("dynamo_namespace Gt (default-b)".into(), Judgement::Wrong)
        );
        assert!(label_selector_conditions(None).is_empty());

        // In and NotIn combine: the list is cut down to the deployment's value.
        let selector: LabelSelector = from_value(&json!({
            "matchExpressions": [
                {"key": "dynamo_namespace", "operator": "In", "values": ["default-a", "prod-a"]},
                {"key": "dynamo_namespace", "operator": "NotIn", "values": ["prod-a"]}
            ]
        }))
        .unwrap();
        let selection = MetricSelection {
            metric: "m".into(),
            names: Names::ANY,
            conditions: label_selector_conditions(Some(&selector)),
        };
        assert_eq!(
            selection.judge(&values(&["default-a"]), &others),
            Judgement::Right
        );
        // An empty value is a series without the label, which Exists refuses.
        let selector: LabelSelector = from_value(&json!({
            "matchExpressions": [
                {"key": "dynamo_namespace", "operator": "In", "values": ["default-a", ""]},
                {"key": "dynamo_namespace", "operator": "Exists"}
            ]
        }))
        .unwrap();
        let selection = MetricSelection {
            metric: "m".into(),
            names: Names::ANY,
            conditions: label_selector_conditions(Some(&selector)),
        };
        assert_eq!(
            selection.judge(&values(&["default-a"]), &others),
            Judgement::Right
        );
    }

    #[test]
    fn frontend_metrics_come_from_the_frontend_and_the_rest_from_the_target() {
        let dgds = [
            dgd_view(
                "llama.chat",
                json!({"Frontend": {"componentType": "frontend"},
                       "decode": {"globalDynamoNamespace": true}}),
            ),
            dgd_view("sglang-agg", json!({"Frontend": {}, "decode": {}})),
            dgd_view("shared", json!({"worker": {"globalDynamoNamespace": true}})),
        ];
        let scope = scope_of("llama.chat-decode", &dgds);
        assert_eq!(
            scope.emitter_of("dynamo_frontend_queued_requests"),
            &Emitter {
                values: values(&["default-llama-chat"]),
                description: "service Frontend of DynamoGraphDeployment llama.chat".into()
            }
        );
        assert_eq!(
            scope.emitter_of("kvstats_gpu_cache_usage_percent"),
            &Emitter {
                values: values(&["dynamo"]),
                description:
                    "service decode of DynamoGraphDeployment llama.chat (globalDynamoNamespace: true)"
                        .into()
            }
        );
        // A selector of any name may select both: a series of either value is the deployment's.
        assert_eq!(
            scope.emitter(Names::ANY).into_owned(),
            Emitter {
                values: values(&["default-llama-chat", "dynamo"]),
                description: "DynamoGraphDeployment llama.chat".into()
            }
        );
        assert_eq!(
            scope.emitter(Names::of("dynamo_frontend_x")).description,
            "service Frontend of DynamoGraphDeployment llama.chat"
        );
        // `dynamo` is every global service's value: it cannot count against the target.
        assert_eq!(scope.others, BTreeSet::from(["default-sglang-agg".into()]));
    }

    #[test]
    fn a_dgd_without_a_frontend_service_is_described_by_its_own_value() {
        let dgds = [dgd_view(
            "solo",
            json!({"worker": {"componentType": "worker"}}),
        )];
        let scope = scope_of("solo-worker", &dgds);
        assert_eq!(
            scope.emitter_of("dynamo_frontend_queued_requests"),
            &Emitter {
                values: values(&["default-solo"]),
                description: "DynamoGraphDeployment solo".into()
            }
        );
        let named = [dgd_view("x", json!({"FRONTEND": {}, "w": {}}))];
        assert_eq!(
            scope_of("x-w", &named)
                .emitter_of("dynamo_frontend_queued_requests")
                .description,
            "service FRONTEND of DynamoGraphDeployment x"
        );
    }

    #[test]
    fn both_versions_give_the_same_values_in_their_own_words() {
        let alpha = [dgd_view(
            "llama.chat",
            json!({"Frontend": {"componentType": "frontend"},
                   "decode": {"globalDynamoNamespace": true}}),
        )];
        let beta = [dgd_view_v1beta1(
            "llama.chat",
            // The list order is free.
            json!({"components": [{"name": "decode", "type": "worker", "globalDynamoNamespace": true},
                {"name": "Frontend", "type": "frontend"}]}),
        )];
        let (alpha, beta) = (
            scope_of("llama.chat-decode", &alpha),
            scope_of("llama.chat-decode", &beta),
        );
        for metric in [
            "dynamo_frontend_queued_requests",
            "kvstats_gpu_cache_usage_percent",
        ] {
            assert_eq!(
                alpha.emitter_of(metric).values,
                beta.emitter_of(metric).values,
                "{metric}"
            );
            assert_eq!(
                alpha
                    .emitter_of(metric)
                    .description
                    .replacen("service", "component", 1),
                beta.emitter_of(metric).description,
                "{metric}"
            );
        }
        assert_eq!(
            beta.emitter_of("kvstats_gpu_cache_usage_percent")
                .description,
            "component decode of DynamoGraphDeployment llama.chat (globalDynamoNamespace: true)"
        );
    }

    #[test]
    fn a_group_adapter_emits_its_members_values() {
        let group = |global_decode: bool| {
            dgd_view_v1beta1(
                "disagg.v2",
                json!({"components": [{"name": "Frontend", "type": "frontend"},
                    {"name": "prefill", "type": "prefill"},
                    {"name": "decode", "type": "decode", "globalDynamoNamespace": global_decode}],
                  "experimental": {"componentGroups": [{"name": "Engines", "replicas": 1,
                    "scalingAdapter": {}, "components": [{"name": "prefill"}, {"name": "decode"}]}]}}),
            )
        };
        let other = dgd_view("sglang-agg", json!({"decode": {}}));
        let dgds = [group(false), other.clone()];
        let scope = scope_of("disagg.v2-engines", &dgds);
        let target = scope.emitter_of("kvstats_gpu_cache_usage_percent");
        assert_eq!(target.values, values(&["default-disagg-v2"]));
        assert_eq!(
            target.description,
            "component group Engines of DynamoGraphDeployment disagg.v2"
        );
        assert_eq!(target.emitted(), r#"dynamo_namespace="default-disagg-v2""#);
        assert_eq!(target.filter(), r#"dynamo_namespace="default-disagg-v2""#);
        assert_eq!(scope.others, BTreeSet::from(["default-sglang-agg".into()]));

        // Only decode is global: the group's series carry both values, and selecting either is right.
        let dgds = [group(true), other];
        let scope = scope_of("disagg.v2-engines", &dgds);
        let target = scope.emitter_of("kvstats_gpu_cache_usage_percent");
        assert_eq!(target.values, values(&["default-disagg-v2", "dynamo"]));
        assert_eq!(
            target.description,
            "component group Engines of DynamoGraphDeployment disagg.v2 (globalDynamoNamespace: true on decode)"
        );
        assert_eq!(
            target.emitted(),
            r#"dynamo_namespace="default-disagg-v2" and dynamo_namespace="dynamo""#
        );
        assert_eq!(
            target.filter(),
            r#"dynamo_namespace=~"default-disagg-v2|dynamo""#
        );
        for (query, expected) in [
            (r#"dynamo_m{dynamo_namespace="dynamo"}"#, Judgement::Right),
            (
                r#"dynamo_m{dynamo_namespace="default-disagg-v2"}"#,
                Judgement::Right,
            ),
            (
                r#"dynamo_m{dynamo_namespace="default-sglang-agg"}"#,
                Judgement::Wrong,
            ),
            (
                r#"dynamo_m{dynamo_namespace=~"default-.*"}"#,
                Judgement::TooWide(vec!["default-sglang-agg".into()]),
            ),
        ] {
            assert_eq!(
                selection(query).judge(&target.values, scope.others()),
                expected,
                "{query}"
            );
        }
        // The frontend is not a member: its own value.
        assert_eq!(
            scope.emitter_of("dynamo_frontend_queued_requests"),
            &Emitter {
                values: values(&["default-disagg-v2"]),
                description: "component Frontend of DynamoGraphDeployment disagg.v2".into()
            }
        );
    }

    #[test]
    fn a_group_without_members_is_described_by_its_dgds_value() {
        let dgds = [dgd_view_v1beta1(
            "d",
            json!({"components": [{"name": "decode"}],
              "experimental": {"componentGroups": [{"name": "Empty", "replicas": 1, "scalingAdapter": {}}]}}),
        )];
        assert_eq!(
            scope_of("d-empty", &dgds)
                .emitter_of("kvstats_gpu_cache_usage_percent")
                .values,
            values(&["default-d"])
        );
    }

    #[test]
    fn only_dynamo_and_kvstats_metrics_are_checked() {
        assert!(is_checked("dynamo_frontend_queued_requests"));
        assert!(is_checked("dynamo_ttft_p95_seconds"));
        assert!(is_checked("kvstats_gpu_cache_usage_percent"));
        assert!(!is_checked("container_cpu_usage_seconds_total"));
        assert!(!is_checked("Dynamo_frontend_queued_requests"));
    }
}
