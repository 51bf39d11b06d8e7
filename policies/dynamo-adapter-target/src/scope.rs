//! The metric scope check: which `dynamo_namespace` a Dynamo metric of the adapter's deployment carries,
//! and whether a selector (a PromQL vector selector, or an HPA metric's label selector) picks exactly
//! that deployment.

use std::collections::BTreeSet;
use std::fmt;

use regex_lite::Regex;
use rusty_promql_parser::lexer::whitespace::ws_opt;
use rusty_promql_parser::{Expr, LabelMatchOp, LabelMatcher, VectorSelector};
use scaleguard_sdk::autoscaler::{LabelSelector, LabelSelectorRequirement};
use scaleguard_sdk::dgd::{self, Component, DgdView, Role, Unit};
use scaleguard_sdk::review::AdapterTarget;

/// The metric label that tells Dynamo deployments apart.
pub const LABEL: &str = "dynamo_namespace";
/// Prefix of the metrics Dynamo's frontend emits.
const FRONTEND_PREFIX: &str = "dynamo_frontend_";

/// Whether the scope of `metric` is checked: Dynamo's own metrics (`dynamo_*`) and the workers' KV cache
/// statistics (`kvstats_*`).
pub fn is_checked(metric: &str) -> bool {
    metric.starts_with("dynamo_") || metric.starts_with("kvstats_")
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
    fn target(namespace: &str, target: &AdapterTarget<'_>) -> Self {
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
}

impl Scope {
    /// The scope of `target` (a component or component group of a DGD in `namespace`), among the
    /// namespace's `dgds` (of either version).
    ///
    /// Frontend metrics come from the DGD's component with the frontend role (v1alpha1
    /// `componentType: frontend`, v1beta1 `type: frontend`), else the component named `Frontend`, in
    /// any case; a DGD without one is described by its own `<namespace>-<dgd>` value.
    pub fn new(target: &AdapterTarget<'_>, dgds: &[DgdView], namespace: &str) -> Self {
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
        }
    }

    /// The `dynamo_namespace` values of the other DGDs of the namespace (less the adapter's own values).
    pub fn others(&self) -> &BTreeSet<String> {
        &self.others
    }

    /// Who emits `metric`: the frontend for `dynamo_frontend_*`, what the adapter scales for the rest.
    pub fn emitter_of(&self, metric: &str) -> &Emitter {
        if metric.starts_with(FRONTEND_PREFIX) {
            &self.frontend
        } else {
            &self.target
        }
    }
}

/// One condition a selector puts on the `dynamo_namespace` label, and how it reads.
#[derive(Debug, Clone)]
pub struct Condition {
    test: Test,
    text: String,
}

/// What a [`Condition`] asks of a value.
#[derive(Debug, Clone)]
enum Test {
    Equal(String),
    NotEqual(String),
    Matches(Regex),
    DoesNotMatch(Regex),
    In(Vec<String>),
    NotIn(Vec<String>),
    Exists,
    Nothing,
}

impl Condition {
    /// A PromQL label matcher, written as PromQL writes it. Regexes are anchored, as Prometheus anchors
    /// them; `Err` says why a regex does not compile.
    pub fn promql(matcher: &LabelMatcher) -> Result<Self, String> {
        let anchored = || {
            Regex::new(&format!("^(?:{})$", matcher.value))
                .map_err(|error| format!("invalid regex in {matcher}: {error}"))
        };
        let test = match matcher.op {
            LabelMatchOp::Equal => Test::Equal(matcher.value.clone()),
            LabelMatchOp::NotEqual => Test::NotEqual(matcher.value.clone()),
            LabelMatchOp::RegexMatch => Test::Matches(anchored()?),
            LabelMatchOp::RegexNotMatch => Test::DoesNotMatch(anchored()?),
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

    /// Whether a series whose `dynamo_namespace` is `value` passes the condition.
    pub fn selects(&self, value: &str) -> bool {
        match &self.test {
            Test::Equal(expected) => expected == value,
            Test::NotEqual(excluded) => excluded != value,
            Test::Matches(regex) => regex.is_match(value),
            Test::DoesNotMatch(regex) => !regex.is_match(value),
            Test::In(values) => values.iter().any(|v| v == value),
            Test::NotIn(values) => !values.iter().any(|v| v == value),
            Test::Exists => true,
            Test::Nothing => false,
        }
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A metric as one selector asks for it: its name and the conditions on `dynamo_namespace` (all of which
/// a series must pass).
#[derive(Debug, Clone)]
pub struct MetricSelection {
    /// The metric's name.
    pub metric: String,
    /// The conditions on `dynamo_namespace`.
    pub conditions: Vec<Condition>,
}

/// How a selection stands against the deployment it should select.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judgement {
    /// No condition on `dynamo_namespace`: every deployment's series are selected.
    Unfiltered,
    /// Selects a value of the deployment and no other DGD's.
    Right,
    /// Selects none of the deployment's values.
    Wrong,
    /// Selects a value of the deployment, and also these values of other DGDs.
    TooWide(Vec<String>),
}

impl MetricSelection {
    /// Whether a series with `dynamo_namespace` `value` is selected.
    fn selects(&self, value: &str) -> bool {
        self.conditions.iter().all(|c| c.selects(value))
    }

    /// Judges the selection against the values `expected` (it must select one of them) and the values
    /// of the other DGDs.
    pub fn judge(&self, expected: &[String], others: &BTreeSet<String>) -> Judgement {
        if self.conditions.is_empty() {
            Judgement::Unfiltered
        } else if !expected.iter().any(|value| self.selects(value)) {
            Judgement::Wrong
        } else {
            let also: Vec<String> = others.iter().filter(|v| self.selects(v)).cloned().collect();
            if also.is_empty() {
                Judgement::Right
            } else {
                Judgement::TooWide(also)
            }
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

/// The longest query accepted, in bytes. The parser and the syntax tree it builds are recursive: these
/// limits keep a hostile query from exhausting the module's stack, far above what real queries need.
pub const MAX_QUERY_BYTES: usize = 8192;
/// The deepest nesting of parentheses, brackets and braces a query may have.
pub const MAX_NESTING: usize = 64;
/// The most `+`, `-` and `^` signs a query may have: each unary sign and each `^` is one more level of
/// the parser's recursion.
pub const MAX_SIGNS: usize = 256;

/// A PromQL query that does not parse: where the parser stopped, and what it found there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError {
    /// Line of the query, from 1.
    pub line: usize,
    /// Column of that line in characters, from 1.
    pub column: usize,
    /// What is wrong there.
    pub problem: String,
}

impl QueryError {
    /// The error at byte `offset` of `query`.
    fn at(query: &str, offset: usize, problem: String) -> Self {
        let before = &query[..offset];
        let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
        Self {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
            problem,
        }
    }

    /// The parser stopped where `rest` (a suffix of `query`) begins.
    fn stopped_at(query: &str, rest: &str) -> Self {
        let offset = query.len().saturating_sub(rest.len());
        let found = rest.lines().next().unwrap_or_default().trim_end();
        let problem = if found.is_empty() {
            "unexpected end of query".to_owned()
        } else {
            let shown: String = found.chars().take(30).collect();
            let more = if shown.len() < found.len() { "..." } else { "" };
            format!("unexpected `{shown}{more}`")
        };
        Self::at(query, offset, problem)
    }
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.problem
        )
    }
}

/// The vector selectors of a PromQL query (those of range selectors and subqueries included), in query
/// order; `Err` says where a query that does not parse stops parsing.
pub fn vector_selectors(query: &str) -> Result<Vec<VectorSelector>, QueryError> {
    check_size(query)?;
    let rest = match rusty_promql_parser::expr(query) {
        Ok((rest, expr)) => match ws_opt(rest) {
            Ok(("", ())) => return Ok(selectors_of(&expr)),
            Ok((rest, ())) => rest,
            Err(_) => rest,
        },
        Err(nom::Err::Error(error) | nom::Err::Failure(error)) => error.input,
        Err(nom::Err::Incomplete(_)) => "",
    };
    Err(QueryError::stopped_at(query, rest))
}

/// Refuses queries longer than [`MAX_QUERY_BYTES`], nested deeper than [`MAX_NESTING`] or with more
/// than [`MAX_SIGNS`] signs; what is quoted does not count.
fn check_size(query: &str) -> Result<(), QueryError> {
    if query.len() > MAX_QUERY_BYTES {
        return Err(QueryError::at(
            query,
            0,
            format!(
                "the query is {} bytes long, more than {MAX_QUERY_BYTES}",
                query.len()
            ),
        ));
    }
    let mut depth = 0usize;
    let mut signs = 0usize;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (offset, c) in query.char_indices() {
        let too_many = |problem: String| Err(QueryError::at(query, offset, problem));
        match quote {
            Some(_) if escaped => escaped = false,
            Some('`') if c == '`' => quote = None,
            Some(q) if q != '`' && c == '\\' => escaped = true,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '"' | '\'' | '`' => quote = Some(c),
                '(' | '[' | '{' => {
                    depth += 1;
                    if depth > MAX_NESTING {
                        return too_many(format!("nested deeper than {MAX_NESTING} levels"));
                    }
                }
                ')' | ']' | '}' => depth = depth.saturating_sub(1),
                '+' | '-' | '^' => {
                    signs += 1;
                    if signs > MAX_SIGNS {
                        return too_many(format!("more than {MAX_SIGNS} signs (+, -, ^)"));
                    }
                }
                _ => {}
            },
        }
    }
    Ok(())
}

/// The vector selectors of `expr`, in query order, walked without recursion.
fn selectors_of(expr: &Expr) -> Vec<VectorSelector> {
    let mut selectors = Vec::new();
    let mut pending = vec![expr];
    while let Some(expr) = pending.pop() {
        match expr {
            Expr::VectorSelector(selector) => selectors.push(selector.clone()),
            Expr::MatrixSelector(range) => selectors.push(range.selector.clone()),
            Expr::Call(call) => pending.extend(call.args.iter().rev()),
            Expr::Aggregation(aggregation) => {
                pending.push(&aggregation.expr);
                pending.extend(aggregation.param.as_ref());
            }
            Expr::Binary(binary) => {
                pending.push(&binary.rhs);
                pending.push(&binary.lhs);
            }
            Expr::Unary(unary) => pending.push(&unary.expr),
            Expr::Paren(inner) => pending.push(inner),
            Expr::Subquery(subquery) => pending.push(&subquery.expr),
            Expr::Number(_) | Expr::String(_) => {}
        }
    }
    selectors
}

/// The metric a vector selector selects, with its `dynamo_namespace` conditions: `None` for a selector
/// without a metric name (neither a name nor a `__name__="..."` matcher). `Err` says why a
/// `dynamo_namespace` regex does not compile.
pub fn promql_selection(selector: &VectorSelector) -> Result<Option<MetricSelection>, String> {
    let metric = selector.name.clone().or_else(|| {
        selector
            .matchers
            .iter()
            .find(|m| m.name == "__name__" && m.op == LabelMatchOp::Equal)
            .map(|m| m.value.clone())
    });
    let Some(metric) = metric else {
        return Ok(None);
    };
    let conditions = selector
        .matchers
        .iter()
        .filter(|m| m.name == LABEL)
        .map(Condition::promql)
        .collect::<Result<_, _>>()?;
    Ok(Some(MetricSelection { metric, conditions }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use scaleguard_sdk::parse::from_value;
    use scaleguard_sdk::review::resolve_adapter;
    use serde_json::{Value, json};

    fn dgd(name: &str, services: Value) -> DgdView {
        DgdView::from_object(&json!({"metadata": {"name": name}, "spec": {"services": services}}))
            .unwrap()
    }

    fn dgd_v1beta1(name: &str, spec: Value) -> DgdView {
        DgdView::from_object(&json!({"apiVersion": "nvidia.com/v1beta1",
            "metadata": {"name": name}, "spec": spec}))
        .unwrap()
    }

    fn values(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| (*v).to_owned()).collect()
    }

    fn scope_of(adapter: &str, dgds: &[DgdView]) -> Scope {
        let target = resolve_adapter(adapter, &[], dgds).target().unwrap();
        Scope::new(&target, dgds, "default")
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
    fn names_come_from_the_selector_or_its_name_matcher() {
        let query =
            r#"{__name__="dynamo_frontend_queued_requests", dynamo_namespace="a"} + {job="j"}"#;
        assert_eq!(
            selections(query),
            [(
                "dynamo_frontend_queued_requests".into(),
                r#"dynamo_namespace="a""#.into()
            )]
        );
    }

    #[test]
    fn exact_and_anchored_regex_matchers_are_judged_by_value() {
        let others: BTreeSet<String> = ["default-sglang-agg", "default-llama-chat-2"]
            .map(String::from)
            .into();
        let cases = [
            (
                r#"m{dynamo_namespace="default-llama-chat"}"#,
                Judgement::Right,
            ),
            (
                r#"m{dynamo_namespace="default-sglang-agg"}"#,
                Judgement::Wrong,
            ),
            (r#"m"#, Judgement::Unfiltered),
            (r#"m{job="x"}"#, Judgement::Unfiltered),
            // Anchored: `default-llama` does not match `default-llama-chat`.
            (r#"m{dynamo_namespace=~"default-llama"}"#, Judgement::Wrong),
            (
                r#"m{dynamo_namespace=~"default-llama-chat|nothing"}"#,
                Judgement::Right,
            ),
            (
                r#"m{dynamo_namespace=~"default-llama-chat.*"}"#,
                Judgement::TooWide(vec!["default-llama-chat-2".into()]),
            ),
            (
                r#"m{dynamo_namespace=~"default-.*", dynamo_namespace!="default-sglang-agg"}"#,
                Judgement::TooWide(vec!["default-llama-chat-2".into()]),
            ),
            (
                r#"m{dynamo_namespace!="default-sglang-agg"}"#,
                Judgement::TooWide(vec!["default-llama-chat-2".into()]),
            ),
            (
                r#"m{dynamo_namespace!~"default-llama-chat"}"#,
                Judgement::Wrong,
            ),
        ];
        for (query, expected) in cases {
            assert_eq!(
                selection(query).judge(&values(&["default-llama-chat"]), &others),
                expected,
                "{query}"
            );
        }
    }

    #[test]
    fn an_invalid_regex_names_the_matcher() {
        let selectors = vector_selectors(r#"m{dynamo_namespace=~"default-(a"}"#).unwrap();
        let error = promql_selection(&selectors[0]).unwrap_err();
        assert!(
            error.starts_with(r#"invalid regex in dynamo_namespace=~"default-(a": "#),
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
                conditions: vec![condition],
            };
            (text, selection.judge(&values(&["default-a"]), &others))
        };
        assert_eq!(
            judged("NotIn"),
            (
                "dynamo_namespace notin (default-b)".into(),
                Judgement::Right
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
    }

    #[test]
    fn unparsable_queries_say_where_parsing_stops() {
        let error = |query: &str| vector_selectors(query).unwrap_err().to_string();
        assert_eq!(
            error("sum(rate(x[5m]))\n  by le"),
            "line 2, column 3: unexpected `by le`"
        );
        assert_eq!(
            error("sum(rate(x[5m])"),
            "line 1, column 16: unexpected end of query"
        );
        assert_eq!(error("  \n"), "line 2, column 1: unexpected end of query");
        assert_eq!(
            // Columns count characters, not bytes.
            error(r#"x{a="ÿ"} + y{c="d}"#),
            "line 1, column 14: unexpected `c=\"d}`"
        );
        assert_eq!(
            error("sum(x) by (le) 42 is more than thirty characters long"),
            "line 1, column 16: unexpected `42 is more than thirty charact...`"
        );
    }

    #[test]
    fn queries_the_parser_could_not_recurse_through_are_refused_before_parsing() {
        let deep = format!(
            "{}x{}",
            "(".repeat(MAX_NESTING + 1),
            ")".repeat(MAX_NESTING + 1)
        );
        assert_eq!(
            vector_selectors(&deep).unwrap_err().to_string(),
            format!(
                "line 1, column {}: nested deeper than {MAX_NESTING} levels",
                MAX_NESTING + 1
            )
        );
        let fine = format!("{}x{}", "(".repeat(MAX_NESTING), ")".repeat(MAX_NESTING));
        assert_eq!(vector_selectors(&fine).unwrap().len(), 1);
        // Brackets inside strings do not count.
        let quoted = format!(r#"x{{a="{}", b='\'(', c=`(`}}"#, "(-".repeat(300));
        assert_eq!(vector_selectors(&quoted).unwrap().len(), 1);
        let signs = format!("x{}", "-x".repeat(MAX_SIGNS + 1));
        assert_eq!(
            vector_selectors(&signs).unwrap_err().to_string(),
            format!(
                "line 1, column {}: more than {MAX_SIGNS} signs (+, -, ^)",
                2 * MAX_SIGNS + 2
            )
        );
        assert_eq!(
            vector_selectors(&format!("x{}", "^x".repeat(MAX_SIGNS)))
                .unwrap()
                .len(),
            MAX_SIGNS + 1
        );
        let long = format!("x{}", " * x".repeat(MAX_QUERY_BYTES / 4));
        assert_eq!(
            vector_selectors(&long).unwrap_err().to_string(),
            format!(
                "line 1, column 1: the query is {} bytes long, more than {MAX_QUERY_BYTES}",
                MAX_QUERY_BYTES + 1
            )
        );
        let fits = format!("x{}", " * x".repeat((MAX_QUERY_BYTES - 1) / 4));
        assert_eq!(
            vector_selectors(&fits).unwrap().len(),
            (MAX_QUERY_BYTES - 1) / 4 + 1
        );
    }

    #[test]
    fn frontend_metrics_come_from_the_frontend_and_the_rest_from_the_target() {
        let dgds = [
            dgd(
                "llama.chat",
                json!({"Frontend": {"componentType": "frontend"},
                       "decode": {"globalDynamoNamespace": true}}),
            ),
            dgd("sglang-agg", json!({"Frontend": {}, "decode": {}})),
            dgd("shared", json!({"worker": {"globalDynamoNamespace": true}})),
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
        // `dynamo` is every global service's value: it cannot count against the target.
        assert_eq!(scope.others, BTreeSet::from(["default-sglang-agg".into()]));
    }

    #[test]
    fn a_dgd_without_a_frontend_service_is_described_by_its_own_value() {
        let dgds = [dgd("solo", json!({"worker": {"componentType": "worker"}}))];
        let scope = scope_of("solo-worker", &dgds);
        assert_eq!(
            scope.emitter_of("dynamo_frontend_queued_requests"),
            &Emitter {
                values: values(&["default-solo"]),
                description: "DynamoGraphDeployment solo".into()
            }
        );
        let named = [dgd("x", json!({"FRONTEND": {}, "w": {}}))];
        assert_eq!(
            scope_of("x-w", &named)
                .emitter_of("dynamo_frontend_queued_requests")
                .description,
            "service FRONTEND of DynamoGraphDeployment x"
        );
    }

    #[test]
    fn both_versions_give_the_same_values_in_their_own_words() {
        let alpha = [dgd(
            "llama.chat",
            json!({"Frontend": {"componentType": "frontend"},
                   "decode": {"globalDynamoNamespace": true}}),
        )];
        let beta = [dgd_v1beta1(
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
            dgd_v1beta1(
                "disagg.v2",
                json!({"components": [{"name": "Frontend", "type": "frontend"},
                    {"name": "prefill", "type": "prefill"},
                    {"name": "decode", "type": "decode", "globalDynamoNamespace": global_decode}],
                  "experimental": {"componentGroups": [{"name": "Engines", "replicas": 1,
                    "scalingAdapter": {}, "components": [{"name": "prefill"}, {"name": "decode"}]}]}}),
            )
        };
        let other = dgd("sglang-agg", json!({"decode": {}}));
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
            (r#"m{dynamo_namespace="dynamo"}"#, Judgement::Right),
            (
                r#"m{dynamo_namespace="default-disagg-v2"}"#,
                Judgement::Right,
            ),
            (
                r#"m{dynamo_namespace="default-sglang-agg"}"#,
                Judgement::Wrong,
            ),
            (
                r#"m{dynamo_namespace=~"default-.*"}"#,
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
        let dgds = [dgd_v1beta1(
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
