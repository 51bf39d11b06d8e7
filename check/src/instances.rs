//! The cluster's own policy configuration (`--use-cluster-policies`, feature `cluster-policies`): every
//! Kubewarden `ClusterAdmissionPolicy`, `AdmissionPolicy`, `ClusterAdmissionPolicyGroup` and
//! `AdmissionPolicyGroup` (`policies.kubewarden.io/v1`) among the inputs is a policy instance, named as
//! Kubewarden names it (`clusterwide-<name>`, `namespaced-<namespace>-<name>`, `clusterwide-group-<name>`,
//! `namespaced-group-<namespace>-<name>`). An instance reviews an object when its module's rules (a
//! group: its own rules) and its `rules`, `namespaceSelector`, `objectSelector` and `matchConditions`
//! select it; an `AdmissionPolicy` sees only its own namespace. Its `mode: monitor` turns denials into
//! warnings, as Kubewarden only logs them; a group combines its members' verdicts with its `expression`
//! and answers with its `message`. Its look-ups see only the kinds its own `contextAwareResources`
//! grant (a `ClusterAdmissionPolicy`'s, a `ClusterAdmissionPolicyGroup` member's), whatever its module's
//! metadata declares; the namespaced kinds grant none.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use scaleguard_metadata::Rule;
use scaleguard_sdk::{AdmissionRequest, ResourceKind, ValidationResponse};
use serde::Deserialize;
use serde_json::Value;

use crate::expressions::{GroupExpression, MatchCondition};
use crate::input::{Document, InputError};
use crate::report::{Cause, PolicyMode, Unselected};
use crate::settings::policy_name_of_module;

/// API group of Kubewarden's policy resources.
const KUBEWARDEN_GROUP: &str = "policies.kubewarden.io";

/// The label the API server gives every namespace: its name.
const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

/// The message of a member that tried to mutate, as Kubewarden words it.
const GROUP_MUTATION: &str = "mutation is not allowed inside of policy group";

/// A label selector (`matchLabels`, `matchExpressions`), as Kubernetes matches it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LabelSelector {
    #[serde(default)]
    match_labels: BTreeMap<String, String>,
    #[serde(default)]
    match_expressions: Vec<Requirement>,
}

/// One of `matchExpressions`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Requirement {
    key: String,
    operator: SelectorOperator,
    #[serde(default)]
    values: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
enum SelectorOperator {
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

impl LabelSelector {
    /// Whether `labels` satisfy every requirement (an empty selector matches everything).
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.match_labels
            .iter()
            .all(|(key, value)| labels.get(key) == Some(value))
            && self.match_expressions.iter().all(|requirement| {
                let value = labels.get(&requirement.key);
                match requirement.operator {
                    SelectorOperator::In => value.is_some_and(|v| requirement.values.contains(v)),
                    SelectorOperator::NotIn => {
                        !value.is_some_and(|v| requirement.values.contains(v))
                    }
                    SelectorOperator::Exists => value.is_some(),
                    SelectorOperator::DoesNotExist => value.is_none(),
                }
            })
    }
}

/// `k=v, k2=v2`, or `none`.
fn describe(labels: &BTreeMap<String, String>) -> String {
    if labels.is_empty() {
        return "none".to_owned();
    }
    labels
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `metadata.labels` of `object` (values that are not strings left out).
fn labels_of(object: &Value) -> BTreeMap<String, String> {
    object
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(key, value)| Some((key.clone(), value.as_str()?.to_owned())))
        .collect()
}

/// A module with the settings and grants it runs with: a policy's, or a group member's.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// The `module` reference (`registry://ghcr.io/scaleguard/policies/<policy>:vX.Y.Z`).
    pub module: String,
    /// Its `settings` (`null` when absent).
    pub settings: Value,
    /// Its `contextAwareResources`: the only kinds its look-ups may list.
    pub granted: BTreeSet<ResourceKind>,
}

impl Member {
    /// How an evaluation runs it.
    pub fn configuration(&self) -> crate::engine::Configuration<'_> {
        crate::engine::Configuration {
            settings: &self.settings,
            granted: &self.granted,
        }
    }
}

/// What an instance runs.
#[derive(Debug)]
pub enum Action {
    /// One module (`ClusterAdmissionPolicy`, `AdmissionPolicy`), with its `spec.message`, which replaces
    /// the module's message on a denial.
    Policy {
        /// The module and its settings.
        member: Member,
        /// `spec.message`.
        message: Option<String>,
    },
    /// Several, combined (`ClusterAdmissionPolicyGroup`, `AdmissionPolicyGroup`).
    Group {
        /// The members by name.
        members: BTreeMap<String, Member>,
        /// `spec.expression`.
        expression: GroupExpression,
        /// `spec.message`: the answer on a denial.
        message: String,
    },
}

/// One Kubewarden policy resource, as the cluster would run it.
#[derive(Debug)]
pub struct Instance {
    /// Kubewarden's name for it (`clusterwide-<name>`, ...).
    pub name: String,
    /// An `AdmissionPolicy`'s namespace: it sees only that namespace's objects.
    pub namespace: Option<String>,
    /// `spec.mode`.
    pub mode: PolicyMode,
    mutating: bool,
    ignore_failures: bool,
    rules: Vec<Rule>,
    namespace_selector: Option<LabelSelector>,
    object_selector: Option<LabelSelector>,
    match_conditions: Vec<MatchCondition>,
    /// What it runs.
    pub action: Action,
}

/// `spec` of the four policy kinds.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Spec {
    module: Option<String>,
    #[serde(default)]
    settings: Value,
    #[serde(default)]
    rules: Vec<Rule>,
    #[serde(default)]
    mode: PolicyMode,
    #[serde(default)]
    mutating: bool,
    failure_policy: Option<String>,
    namespace_selector: Option<LabelSelector>,
    object_selector: Option<LabelSelector>,
    #[serde(default)]
    match_conditions: Vec<MatchConditionSpec>,
    #[serde(default)]
    policies: BTreeMap<String, MemberSpec>,
    expression: Option<String>,
    message: Option<String>,
    context_aware_resources: Option<BTreeSet<ResourceKind>>,
}

#[derive(Deserialize)]
struct MatchConditionSpec {
    name: String,
    expression: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MemberSpec {
    module: String,
    #[serde(default)]
    settings: Value,
    context_aware_resources: Option<BTreeSet<ResourceKind>>,
}

/// The grants of `field`, which only the cluster-wide kinds have: the API server refuses them on an
/// `AdmissionPolicy` or an `AdmissionPolicyGroup`'s member (`kubectl apply` names the unknown field).
fn grants(
    field: Option<BTreeSet<ResourceKind>>,
    cluster_wide: bool,
    path: &str,
) -> Result<BTreeSet<ResourceKind>, String> {
    match field {
        Some(_) if !cluster_wide => Err(format!(
            "{path} is not a field of the namespaced policy kinds: only cluster-wide policies may \
             look up other objects"
        )),
        field => Ok(field.unwrap_or_default()),
    }
}

impl Instance {
    /// The instance `document` declares: `None` when it is no Kubewarden policy, an error (naming the
    /// manifest) when it is one that cannot be run as written.
    pub fn from_document(document: &Document) -> Option<Result<Self, InputError>> {
        if scaleguard_sdk::meta::api_group(document.api_version()) != KUBEWARDEN_GROUP {
            return None;
        }
        let (cluster_wide, group) = match document.kind() {
            "ClusterAdmissionPolicy" => (true, false),
            "AdmissionPolicy" => (false, false),
            "ClusterAdmissionPolicyGroup" => (true, true),
            "AdmissionPolicyGroup" => (false, true),
            _ => return None,
        };
        let error = |message: String| InputError {
            file: document.file.clone(),
            index: Some(document.index),
            line: Some(document.line),
            message: format!("{} {}: {message}", document.kind(), document.name()),
        };
        Some(Self::read(document, cluster_wide, group).map_err(error))
    }

    fn read(document: &Document, cluster_wide: bool, group: bool) -> Result<Self, String> {
        let spec = document.object.get("spec").cloned().unwrap_or(Value::Null);
        let spec: Spec = read_spec(spec)?;
        let namespace = (!cluster_wide).then(|| document.namespace().to_owned());
        let name = match (&namespace, group) {
            (None, false) => format!("clusterwide-{}", document.name()),
            (None, true) => format!("clusterwide-group-{}", document.name()),
            (Some(ns), false) => format!("namespaced-{ns}-{}", document.name()),
            (Some(ns), true) => format!("namespaced-group-{ns}-{}", document.name()),
        };
        let match_conditions = spec
            .match_conditions
            .iter()
            .map(|condition| MatchCondition::compile(&condition.name, &condition.expression))
            .collect::<Result<Vec<_>, _>>()?;
        if group && spec.context_aware_resources.is_some() {
            return Err(
                "spec.contextAwareResources is not a field of policy groups: each member of \
                 spec.policies grants its own"
                    .to_owned(),
            );
        }
        let action = if group {
            let members: BTreeMap<String, Member> = spec
                .policies
                .into_iter()
                .map(|(name, member)| {
                    let path = format!("spec.policies.{name}.contextAwareResources");
                    let member = Member {
                        module: member.module,
                        settings: member.settings,
                        granted: grants(member.context_aware_resources, cluster_wide, &path)?,
                    };
                    Ok((name, member))
                })
                .collect::<Result<_, String>>()?;
            if members.is_empty() {
                return Err("spec.policies is empty".to_owned());
            }
            let names: Vec<&str> = members.keys().map(String::as_str).collect();
            let expression = spec
                .expression
                .ok_or_else(|| "spec.expression is missing".to_owned())?;
            Action::Group {
                expression: GroupExpression::parse(&expression, &names)?,
                members,
                message: spec
                    .message
                    .ok_or_else(|| "spec.message is missing".to_owned())?,
            }
        } else {
            Action::Policy {
                member: Member {
                    module: spec
                        .module
                        .ok_or_else(|| "spec.module is missing".to_owned())?,
                    settings: spec.settings,
                    granted: grants(
                        spec.context_aware_resources,
                        cluster_wide,
                        "spec.contextAwareResources",
                    )?,
                },
                message: spec.message,
            }
        };
        Ok(Self {
            name,
            namespace,
            mode: spec.mode,
            mutating: spec.mutating,
            ignore_failures: spec.failure_policy.as_deref() == Some("Ignore"),
            rules: spec.rules,
            namespace_selector: spec.namespace_selector,
            object_selector: spec.object_selector,
            match_conditions,
            action,
        })
    }

    /// The module references it runs, with their settings.
    pub fn members(&self) -> Vec<&Member> {
        match &self.action {
            Action::Policy { member, .. } => vec![member],
            Action::Group { members, .. } => members.values().collect(),
        }
    }

    /// Its members whose module is policy `policy`, to give them other settings.
    pub fn members_running(&mut self, policy: &str) -> Vec<&mut Member> {
        let members: Vec<&mut Member> = match &mut self.action {
            Action::Policy { member, .. } => vec![member],
            Action::Group { members, .. } => members.values_mut().collect(),
        };
        members
            .into_iter()
            .filter(|member| policy_name_of_module(&member.module) == policy)
            .collect()
    }
}

/// `spec`, deserialized, an error naming the field that is wrong.
fn read_spec(spec: Value) -> Result<Spec, String> {
    serde_json::from_value(spec).map_err(|error| format!("spec: {error}"))
}

/// Whether `document` is part of the cluster's policy configuration: a Kubewarden policy resource, or a
/// `Namespace` whose labels namespace selectors read.
pub fn configures_the_cluster(document: &Document) -> bool {
    scaleguard_sdk::meta::api_group(document.api_version()) == KUBEWARDEN_GROUP
        || (document.kind() == "Namespace" && document.api_version() == "v1")
}

/// Every policy instance among `documents`, and the manifests that cannot be run. A later manifest of
/// the same instance replaces an earlier one, as a later `kubectl apply` would.
pub fn find(documents: &[Document]) -> (Vec<Instance>, Vec<InputError>) {
    let mut instances: Vec<Instance> = Vec::new();
    let mut errors = Vec::new();
    for found in documents.iter().filter_map(Instance::from_document) {
        match found {
            Ok(instance) => {
                instances.retain(|other| other.name != instance.name);
                instances.push(instance);
            }
            Err(error) => errors.push(error),
        }
    }
    (instances, errors)
}

/// Whether an instance reviews an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// It does.
    Selected,
    /// It does not, for this reason.
    Passed(String),
    /// A match condition failed to evaluate (with `failurePolicy: Fail` the API server then refuses
    /// the request).
    Failed(String),
}

/// The instances that run, with the labels of the namespaces they select by.
#[derive(Debug)]
pub struct Instances {
    instances: Vec<Instance>,
    /// Each module reference's position among the check's policies.
    modules: HashMap<String, usize>,
    namespace_labels: HashMap<String, BTreeMap<String, String>>,
}

impl Instances {
    /// The instances whose every module reference `modules` resolves (to a position among the
    /// check's policies), with the labels of the `Namespace` objects of `documents`. The others are
    /// returned: scaleguard does not have their modules.
    pub fn new(
        instances: Vec<Instance>,
        modules: HashMap<String, usize>,
        documents: &[Document],
    ) -> (Self, Vec<Instance>) {
        let (runnable, unknown) = instances.into_iter().partition(|instance| {
            instance
                .members()
                .iter()
                .all(|member| modules.contains_key(&member.module))
        });
        let namespace_labels = documents
            .iter()
            .filter(|document| document.kind() == "Namespace" && document.api_version() == "v1")
            .map(|document| (document.name().to_owned(), labels_of(&document.object)))
            .collect();
        let instances = Self {
            instances: runnable,
            modules,
            namespace_labels,
        };
        (instances, unknown)
    }

    /// The instances, in manifest order.
    pub fn iter(&self) -> impl Iterator<Item = &Instance> {
        self.instances.iter()
    }

    /// The position among the check's policies of `member`'s module.
    pub fn position(&self, member: &Member) -> usize {
        self.modules[&member.module]
    }

    /// The labels namespace `namespace` is selected by: its `Namespace` object's, plus its name.
    fn labels_of_namespace(&self, namespace: &str) -> BTreeMap<String, String> {
        let mut labels = self
            .namespace_labels
            .get(namespace)
            .cloned()
            .unwrap_or_default();
        labels.insert(NAMESPACE_NAME_LABEL.to_owned(), namespace.to_owned());
        labels
    }

    /// Whether `instance` reviews `request`, whose resource `module_selects` (the module's rules; for
    /// a group, ignored: its own rules decide).
    pub fn selection(
        &self,
        instance: &Instance,
        request: &AdmissionRequest,
        request_json: &Value,
        module_selects: bool,
    ) -> Selection {
        let namespace = request.namespace.as_str();
        if let Some(own) = &instance.namespace
            && own != namespace
        {
            return Selection::Passed(format!(
                "an AdmissionPolicy of namespace {own} sees only that namespace's objects"
            ));
        }
        let resource = &request.resource;
        let rules_select = instance.rules.iter().any(|rule| {
            rule.matches(
                &resource.group,
                &resource.version,
                &resource.resource,
                &request.operation,
            )
        });
        if !rules_select || !module_selects {
            return Selection::Passed(format!(
                "its rules do not select {} {}",
                request.operation,
                if resource.group.is_empty() {
                    format!("{}/{}", resource.version, resource.resource)
                } else {
                    format!(
                        "{}/{}/{}",
                        resource.group, resource.version, resource.resource
                    )
                }
            ));
        }
        if let Some(selector) = &instance.namespace_selector {
            // A cluster-scoped object is matched by its own labels when it is a Namespace, and
            // always otherwise, as the API server does.
            let labels = if !namespace.is_empty() {
                Some((self.labels_of_namespace(namespace), namespace))
            } else if request.kind.kind == "Namespace" {
                Some((
                    self.labels_of_namespace(&request.name),
                    request.name.as_str(),
                ))
            } else {
                None
            };
            if let Some((labels, namespace)) = labels
                && !selector.matches(&labels)
            {
                return Selection::Passed(format!(
                    "its namespaceSelector does not match namespace {namespace} (labels: {})",
                    describe(&labels)
                ));
            }
        }
        if let Some(selector) = &instance.object_selector {
            let labels = labels_of(&request.object.to_value().unwrap_or_default());
            // On an UPDATE, either version of the object may match, as the API server decides.
            let old_matches = request.old_object.is_object()
                && selector.matches(&labels_of(
                    &request.old_object.to_value().unwrap_or_default(),
                ));
            if !selector.matches(&labels) && !old_matches {
                return Selection::Passed(format!(
                    "its objectSelector does not match the object's labels ({})",
                    describe(&labels)
                ));
            }
        }
        let mut failure = None;
        for condition in &instance.match_conditions {
            match condition.evaluate(request_json) {
                Ok(true) => {}
                Ok(false) => {
                    return Selection::Passed(format!(
                        "its matchCondition {} is false",
                        condition.name
                    ));
                }
                Err(error) => failure = failure.or(Some(error)),
            }
        }
        match failure {
            None => Selection::Selected,
            Some(error) if instance.ignore_failures => {
                Selection::Passed(format!("{error} (failurePolicy: Ignore)"))
            }
            Some(error) => Selection::Failed(error),
        }
    }
}

/// `response` as `instance` returns it: a patch refused unless it is `mutating`, its `spec.message` in
/// place of the module's (which becomes a cause), and, in monitor mode, every denial a warning.
pub fn as_instance_answers(
    instance: &Instance,
    mut response: ValidationResponse,
    causes: &mut Vec<Cause>,
) -> ValidationResponse {
    if instance.mode == PolicyMode::Protect
        && !instance.mutating
        && response.mutated_object.is_some()
    {
        response = ValidationResponse {
            accepted: false,
            message: Some(format!(
                "Request rejected by policy {}. The policy attempted to mutate the request, but it is \
                 currently configured to not allow mutations.",
                instance.name
            )),
            ..response
        };
        response.mutated_object = None;
    }
    if let Action::Policy {
        message: Some(custom),
        ..
    } = &instance.action
        && !response.accepted
    {
        causes.push(Cause {
            field: None,
            message: response.message.take().unwrap_or_default(),
        });
        response.message = Some(custom.clone());
    }
    if instance.mode == PolicyMode::Monitor {
        if !response.accepted {
            let code = response.code.map(|c| format!(" ({c})")).unwrap_or_default();
            response.warnings.get_or_insert_with(Vec::new).push(format!(
                "monitor mode, not enforced: denied{code}: {}",
                response.message.take().unwrap_or_default()
            ));
            causes.clear();
        }
        response.accepted = true;
        response.code = None;
        response.mutated_object = None;
    }
    response
}

/// A group's answer from its members' (`answer(member)`, asked as the expression needs them): the
/// expression's verdict, a warning `<member>: allowed` or `<member>: rejected` per member asked, and on a
/// denial the group's message (code 400) with each rejecting member's message as a cause.
pub fn group_answer(
    expression: &GroupExpression,
    message: &str,
    answer: &mut dyn FnMut(&str) -> ValidationResponse,
    causes: &mut Vec<Cause>,
) -> ValidationResponse {
    let mut warnings = Vec::new();
    let mut rejections = Vec::new();
    let accepted = expression.evaluate(&mut |member| {
        let response = answer(member);
        let (accepted, reason) = if response.mutated_object.is_some() {
            (false, Some(GROUP_MUTATION.to_owned()))
        } else {
            (response.accepted, response.message)
        };
        warnings.push(format!(
            "{member}: {}",
            if accepted { "allowed" } else { "rejected" }
        ));
        if !accepted {
            rejections.push(Cause {
                field: Some(format!("spec.policies.{member}")),
                message: reason.unwrap_or_default(),
            });
        }
        accepted
    });
    if !accepted {
        causes.extend(rejections);
    }
    ValidationResponse {
        accepted,
        code: (!accepted).then_some(400),
        message: (!accepted).then(|| message.to_owned()),
        warnings: Some(warnings),
        ..ValidationResponse::default()
    }
}

/// The entry of an object no instance selects: why each instance whose modules review it passed it by.
pub fn unselected(document: &Document, reasons: Vec<String>) -> Unselected {
    Unselected {
        file: document.file.clone(),
        index: document.index,
        line: document.line,
        kind: document.kind().to_owned(),
        namespace: document.namespace().to_owned(),
        name: document.name().to_owned(),
        reasons,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{Format, parse};

    #[test]
    fn selectors_match_as_kubernetes_matches_them() {
        let selector: LabelSelector = serde_json::from_value(serde_json::json!({
            "matchLabels": {"team": "a"},
            "matchExpressions": [
                {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["kube-system"]},
                {"key": "tier", "operator": "Exists"}
            ]
        }))
        .unwrap();
        let labels = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        assert!(selector.matches(&labels(&[("team", "a"), ("tier", "gpu")])));
        assert!(!selector.matches(&labels(&[("team", "a")])));
        assert!(!selector.matches(&labels(&[
            ("team", "a"),
            ("tier", "x"),
            ("kubernetes.io/metadata.name", "kube-system")
        ])));
        assert!(LabelSelector::default().matches(&labels(&[])));
    }

    #[test]
    fn instances_are_named_as_kubewarden_names_them_and_later_manifests_win() {
        let text = "\
apiVersion: policies.kubewarden.io/v1
kind: ClusterAdmissionPolicy
metadata: {name: ownership}
spec: {module: registry://x/dynamo-replica-ownership:v1, settings: {a: 1}}
---
apiVersion: policies.kubewarden.io/v1
kind: AdmissionPolicy
metadata: {name: bounds, namespace: prod}
spec: {module: registry://x/dynamo-autoscaler-bounds:v1, mode: monitor}
---
apiVersion: policies.kubewarden.io/v1
kind: ClusterAdmissionPolicyGroup
metadata: {name: autoscalers}
spec:
  policies: {one: {module: registry://x/dynamo-single-autoscaler:v1}}
  expression: one()
  message: no
---
apiVersion: policies.kubewarden.io/v1
kind: ClusterAdmissionPolicy
metadata: {name: ownership}
spec: {module: registry://x/dynamo-replica-ownership:v2}
---
apiVersion: policies.kubewarden.io/v1
kind: ClusterAdmissionPolicy
metadata: {name: broken}
spec: {settings: {}}
";
        let documents = parse("p.yaml", text, Format::Yaml, "default").documents;
        let (instances, errors) = find(&documents);
        let names: Vec<(&str, PolicyMode)> = instances
            .iter()
            .map(|i| (i.name.as_str(), i.mode))
            .collect();
        assert_eq!(
            names,
            [
                ("namespaced-prod-bounds", PolicyMode::Monitor),
                ("clusterwide-group-autoscalers", PolicyMode::Protect),
                ("clusterwide-ownership", PolicyMode::Protect),
            ]
        );
        assert_eq!(
            instances[2].members()[0].module,
            "registry://x/dynamo-replica-ownership:v2"
        );
        assert_eq!(errors.len(), 1);
        assert_eq!(
            (errors[0].line, errors[0].message.as_str()),
            (
                Some(24),
                "ClusterAdmissionPolicy broken: spec.module is missing"
            )
        );
    }

    #[test]
    fn monitor_mode_turns_denials_into_warnings() {
        let text = "apiVersion: policies.kubewarden.io/v1\nkind: ClusterAdmissionPolicy\nmetadata: {name: p}\nspec: {module: m, mode: monitor}\n";
        let documents = parse("p.yaml", text, Format::Yaml, "default").documents;
        let (instances, _) = find(&documents);
        let denied = ValidationResponse {
            accepted: false,
            code: Some(403),
            message: Some("no".into()),
            warnings: Some(vec!["careful".into()]),
            ..ValidationResponse::default()
        };
        let mut causes = Vec::new();
        let answer = as_instance_answers(&instances[0], denied, &mut causes);
        assert!(answer.accepted);
        assert_eq!(answer.code, None);
        assert_eq!(answer.message, None);
        assert_eq!(
            answer.warnings.unwrap(),
            ["careful", "monitor mode, not enforced: denied (403): no"]
        );
    }
}
