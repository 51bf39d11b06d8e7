//! Evaluating documents: every object a policy's rules select is sent to it as an AdmissionRequest, with
//! the other objects of its namespace as the cluster its look-ups see.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, OnceLock};

use scaleguard_in_memory_cluster::{ClusterView, InMemoryCluster};
use scaleguard_sdk::{
    AdmissionRequest, ResourceKind, SettingsValidationResponse, UserInfo, ValidationResponse,
};
use serde_json::Value;

use crate::hint::{GITOPS_REPLICAS, replicas_warnings};
use crate::input::{Document, Identity};
use crate::report::Record;
use crate::request::{admission_request, validation_payload};

/// Evaluates requests for one policy; one per worker thread (a wasm instance is not shared).
pub trait Evaluator {
    /// Answers a `validate` payload (the JSON of `{"request", "settings"}`), its look-ups answered by
    /// `cluster`: the objects it may see, with the kinds it was granted. A policy that fails answers a
    /// rejection with code 500, as Kubewarden does.
    fn validate(&mut self, payload: &[u8], cluster: ClusterView) -> ValidationResponse;

    /// Answers `validate_settings` for `settings`.
    fn validate_settings(&mut self, settings: &Value) -> SettingsValidationResponse;
}

/// A policy `check` can run: a wasm module under wasmtime, or (in a browser) the native function.
pub trait RunnablePolicy: Sync {
    /// The policy's name, as reports show it.
    fn name(&self) -> &str;

    /// Whether the policy's `rules` (from its metadata) select `request`.
    fn selects(&self, request: &AdmissionRequest) -> bool;

    /// The look-ups its metadata's `contextAwareResources` declare: what it is granted when it runs as
    /// itself (a cluster's policy resource grants its own).
    fn granted(&self) -> &BTreeSet<ResourceKind>;

    /// A new evaluator.
    fn evaluator(&self) -> Result<Box<dyn Evaluator + '_>, String>;
}

/// A policy with the settings it runs with.
pub struct ConfiguredPolicy<'p> {
    /// The policy.
    pub policy: &'p dyn RunnablePolicy,
    /// Its settings (`null` for the defaults).
    pub settings: Value,
}

impl std::fmt::Debug for ConfiguredPolicy<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfiguredPolicy")
            .field("policy", &self.policy.name())
            .field("settings", &self.settings)
            .finish()
    }
}

/// Checks every policy's settings with the policy itself; the errors name the policy.
pub fn validate_settings(policies: &[ConfiguredPolicy<'_>]) -> Result<(), Vec<String>> {
    let errors: Vec<String> = policies
        .iter()
        .filter_map(|configured| {
            let name = configured.policy.name();
            let answer = configured
                .policy
                .evaluator()
                .map(|mut evaluator| evaluator.validate_settings(&configured.settings));
            match answer {
                Ok(answer) if answer.valid => None,
                Ok(answer) => Some(format!(
                    "policy {name}: {}",
                    answer
                        .message
                        .unwrap_or_else(|| "invalid settings".to_owned())
                )),
                Err(error) => Some(format!("policy {name}: {error}")),
            }
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// How one evaluation runs a policy: a policy's own settings and grants, or a cluster's policy
/// resource's.
#[derive(Debug, Clone, Copy)]
pub struct Configuration<'c> {
    /// The settings (`null` for the defaults).
    pub settings: &'c Value,
    /// The kinds its look-ups may list (`contextAwareResources`).
    pub granted: &'c BTreeSet<ResourceKind>,
}

impl Configuration<'_> {
    /// `cluster` as this configuration's look-ups see it.
    fn view(&self, cluster: &Arc<InMemoryCluster>) -> ClusterView {
        ClusterView::new(Arc::clone(cluster), self.granted.clone())
    }
}

/// A prepared check: the documents, the objects they replace, and who the requests come from.
pub struct Check<'a> {
    documents: &'a [Document],
    /// How many of `documents`, from the first, are reviewed (see [`Check::reviewing`]).
    reviewed: usize,
    previous: Vec<Option<&'a Value>>,
    by_namespace: HashMap<&'a str, Vec<usize>>,
    /// Each namespace's cluster, made on first use and shared by every evaluation in it, so each List
    /// a look-up asks for is serialized once.
    clusters: HashMap<&'a str, OnceLock<Arc<InMemoryCluster>>>,
    /// The objects at `--against`, by namespace: the cluster the replaced objects were judged in.
    base_by_namespace: HashMap<&'a str, Vec<&'a Value>>,
    policies: &'a [ConfiguredPolicy<'a>],
    user_info: UserInfo,
    /// The cluster's policy instances (`--use-cluster-policies`): they decide what runs, with which
    /// settings, instead of `policies` (whose settings are then unused).
    #[cfg(feature = "cluster-policies")]
    instances: Option<&'a crate::instances::Instances>,
}

/// The prefix of the warning a policy gives for a violation the stored object already had.
const PRE_EXISTING: &str = "pre-existing violation: ";

/// The code of a denial `check` makes of a violation the base did not have (the policies deny
/// violations with 400 or 403; which one is the policy's, so a response that already denied keeps it).
const NEW_VIOLATION_CODE: u16 = 403;

/// A violation's sentence with its values left out: every number, and every parenthesized value that
/// holds one (`(not set, so 0)` and `(0)` alike), so the same violation with other values (a maximum
/// lowered from 40 to 36 above a ceiling of 32, a minimum written out as the default it had) is the
/// one the base had.
fn shape(violation: &str) -> String {
    let mut shaped = String::with_capacity(violation.len());
    let mut rest = violation;
    while let Some(c) = rest.chars().next() {
        let value_in_parentheses = (c == '(')
            .then(|| rest.find(')'))
            .flatten()
            .filter(|&end| rest[..end].bytes().any(|b| b.is_ascii_digit()));
        if let Some(end) = value_in_parentheses {
            shaped.push_str("(#)");
            rest = &rest[end + 1..];
        } else if c.is_ascii_digit() {
            if !shaped.ends_with('#') {
                shaped.push('#');
            }
            rest = &rest[1..];
        } else {
            shaped.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    shaped
}

impl std::fmt::Debug for Check<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Check")
            .field("documents", &self.documents.len())
            .field("policies", &self.policies)
            .finish_non_exhaustive()
    }
}

impl<'a> Check<'a> {
    /// Prepares a check of `documents` by `policies`. An object that `previous` (the objects at
    /// `--against`, by identity) also holds is reviewed as an UPDATE from it, others as a CREATE.
    pub fn new(
        documents: &'a [Document],
        previous: &'a BTreeMap<Identity, Value>,
        policies: &'a [ConfiguredPolicy<'a>],
        user_info: UserInfo,
    ) -> Self {
        let mut by_namespace: HashMap<&str, Vec<usize>> = HashMap::new();
        for (position, document) in documents.iter().enumerate() {
            by_namespace
                .entry(document.namespace())
                .or_default()
                .push(position);
        }
        let mut base_by_namespace: HashMap<&str, Vec<&Value>> = HashMap::new();
        for (identity, object) in previous {
            base_by_namespace
                .entry(identity.namespace.as_str())
                .or_default()
                .push(object);
        }
        let previous = if previous.is_empty() {
            vec![None; documents.len()]
        } else {
            documents
                .iter()
                .map(|document| previous.get(&document.identity()))
                .collect()
        };
        let clusters = by_namespace
            .keys()
            .map(|namespace| (*namespace, OnceLock::new()))
            .collect();
        Self {
            documents,
            reviewed: documents.len(),
            previous,
            by_namespace,
            clusters,
            base_by_namespace,
            policies,
            user_info,
            #[cfg(feature = "cluster-policies")]
            instances: None,
        }
    }

    /// The check, run as `instances` (whose modules are `policies`, by position) instead of as each
    /// policy with its settings.
    #[cfg(feature = "cluster-policies")]
    pub fn with_instances(mut self, instances: &'a crate::instances::Instances) -> Self {
        self.instances = Some(instances);
        self
    }

    /// The number of documents reviewed.
    pub fn len(&self) -> usize {
        self.reviewed
    }

    /// Whether there is nothing to check.
    pub fn is_empty(&self) -> bool {
        self.reviewed == 0
    }

    /// One evaluator per policy, in policy order.
    pub fn evaluators(&self) -> Result<Vec<Box<dyn Evaluator + 'a>>, String> {
        self.policies
            .iter()
            .map(|configured| configured.policy.evaluator())
            .collect()
    }

    /// The check reviewing only its first `count` documents: the others are context, seen by the
    /// look-ups of the reviewed ones (the cluster-scoped objects beside one group of namespaces).
    #[must_use]
    pub fn reviewing(mut self, count: usize) -> Self {
        self.reviewed = count.min(self.documents.len());
        self
    }

    /// What the policies' look-ups see while document `position` is reviewed: the objects of its
    /// namespace, itself among them (as the API server lists an object being updated; every policy
    /// takes an object of its own kind and name for itself), and the cluster-scoped ones.
    pub fn cluster_for(&self, position: usize) -> Vec<&'a Value> {
        let namespace = self.documents[position].namespace();
        let neighbours = self.by_namespace.get(namespace).into_iter().flatten();
        let cluster_scoped = if namespace.is_empty() {
            None
        } else {
            self.by_namespace.get("")
        };
        neighbours
            .chain(cluster_scoped.into_iter().flatten())
            .map(|&other| &self.documents[other].object)
            .collect()
    }

    /// [`Self::cluster_for`] as the cluster the look-ups are answered from, made once per namespace.
    fn cluster_of(&self, position: usize) -> Arc<InMemoryCluster> {
        let namespace = self.documents[position].namespace();
        let made = || {
            let objects = self.cluster_for(position).into_iter().cloned();
            Arc::new(InMemoryCluster::from_objects(objects))
        };
        // Every namespace of the documents has its cell (see `Check::new`).
        Arc::clone(self.clusters[namespace].get_or_init(made))
    }

    /// Reviews document `position` with each policy whose rules select it (`evaluators` from
    /// [`Check::evaluators`]), or with the instances that select it, and adds the GitOps replicas hint.
    pub fn review(
        &self,
        position: usize,
        evaluators: &mut [Box<dyn Evaluator + 'a>],
    ) -> Vec<Record> {
        let document = &self.documents[position];
        let request = self.request(position);
        #[cfg(feature = "cluster-policies")]
        let mut records = match self.instances {
            Some(instances) => self.review_as_instances(instances, position, &request, evaluators),
            None => self.review_as_policies(position, &request, evaluators),
        };
        #[cfg(not(feature = "cluster-policies"))]
        let mut records = self.review_as_policies(position, &request, evaluators);
        let hints = replicas_warnings(&document.object);
        if !hints.is_empty() {
            let response = ValidationResponse {
                accepted: true,
                warnings: Some(hints),
                ..ValidationResponse::default()
            };
            records.push(Record::new(
                document,
                GITOPS_REPLICAS,
                &request.operation,
                response,
            ));
        }
        records
    }

    /// The AdmissionRequest of document `position`.
    fn request(&self, position: usize) -> AdmissionRequest {
        admission_request(
            &format!("scaleguard-check-{position}"),
            &self.documents[position],
            self.previous[position],
            &self.user_info,
        )
    }

    /// Each policy whose rules select `request`, with its settings.
    fn review_as_policies(
        &self,
        position: usize,
        request: &AdmissionRequest,
        evaluators: &mut [Box<dyn Evaluator + 'a>],
    ) -> Vec<Record> {
        let mut cluster = None;
        let mut records = Vec::new();
        for (index, configured) in self.policies.iter().enumerate() {
            if !configured.policy.selects(request) {
                continue;
            }
            let response = self.evaluate(
                position,
                request,
                index,
                Configuration {
                    settings: &configured.settings,
                    granted: configured.policy.granted(),
                },
                evaluators,
                &mut cluster,
            );
            records.push(Record::new(
                &self.documents[position],
                configured.policy.name(),
                &request.operation,
                response,
            ));
        }
        records
    }

    /// Policy `index`'s answer to `request` as `configuration` runs it, its look-ups seeing `cluster`
    /// (computed on first use); on an UPDATE, with the violations it calls pre-existing confirmed.
    fn evaluate(
        &self,
        position: usize,
        request: &AdmissionRequest,
        index: usize,
        configuration: Configuration<'_>,
        evaluators: &mut [Box<dyn Evaluator + 'a>],
        cluster: &mut Option<Arc<InMemoryCluster>>,
    ) -> ValidationResponse {
        let cluster = cluster.get_or_insert_with(|| self.cluster_of(position));
        let evaluator = &mut evaluators[index];
        let payload = validation_payload(request, configuration.settings);
        let mut response = evaluator.validate(&payload, configuration.view(cluster));
        if let Some(old_object) = self.previous[position] {
            self.confirm_pre_existing(
                position,
                old_object,
                configuration,
                evaluator,
                &mut response,
            );
        }
        response
    }

    /// The instances that select `request`, each answering as Kubewarden would.
    #[cfg(feature = "cluster-policies")]
    fn review_as_instances(
        &self,
        instances: &crate::instances::Instances,
        position: usize,
        request: &AdmissionRequest,
        evaluators: &mut [Box<dyn Evaluator + 'a>],
    ) -> Vec<Record> {
        use crate::instances::{Action, Selection, as_instance_answers, group_answer};
        let document = &self.documents[position];
        let request_json = serde_json::to_value(request).unwrap_or_default();
        let mut cluster = None;
        let mut records = Vec::new();
        for instance in instances.iter() {
            let module_selects = match &instance.action {
                Action::Policy { member, .. } => self.policies[instances.position(member)]
                    .policy
                    .selects(request),
                Action::Group { .. } => true,
            };
            let mut causes = Vec::new();
            let (policy, response) =
                match instances.selection(instance, request, &request_json, module_selects) {
                    Selection::Passed(_) => continue,
                    Selection::Failed(error) => {
                        let response = ValidationResponse {
                            accepted: false,
                            code: Some(500),
                            message: Some(error),
                            ..ValidationResponse::default()
                        };
                        (instance.name.clone(), response)
                    }
                    Selection::Selected => match &instance.action {
                        Action::Policy { member, .. } => {
                            let index = instances.position(member);
                            let response = self.evaluate(
                                position,
                                request,
                                index,
                                member.configuration(),
                                evaluators,
                                &mut cluster,
                            );
                            let policy = self.policies[index].policy.name().to_owned();
                            (policy, as_instance_answers(instance, response, &mut causes))
                        }
                        Action::Group {
                            members,
                            expression,
                            message,
                        } => {
                            let mut answer = |name: &str| {
                                let member = &members[name];
                                self.evaluate(
                                    position,
                                    request,
                                    instances.position(member),
                                    member.configuration(),
                                    evaluators,
                                    &mut cluster,
                                )
                            };
                            let response =
                                group_answer(expression, message, &mut answer, &mut causes);
                            let response = as_instance_answers(instance, response, &mut causes);
                            (instance.name.clone(), response)
                        }
                    },
                };
            let mut record = Record::new(document, &policy, &request.operation, response)
                .of_instance(&instance.name, instance.mode);
            record.causes = causes;
            records.push(record);
        }
        records
    }

    /// The objects some instance's modules review but no instance selects, and why each passed them by.
    #[cfg(feature = "cluster-policies")]
    pub fn unselected(&self) -> Vec<crate::report::Unselected> {
        use crate::instances::Selection;
        let Some(instances) = self.instances else {
            return Vec::new();
        };
        let mut unselected = Vec::new();
        for position in 0..self.len() {
            let request = self.request(position);
            let request_json = serde_json::to_value(&request).unwrap_or_default();
            let mut reasons = Vec::new();
            let mut selected = false;
            for instance in instances.iter() {
                let reviewed_by_modules = instance.members().iter().any(|member| {
                    self.policies[instances.position(member)]
                        .policy
                        .selects(&request)
                });
                if !reviewed_by_modules {
                    continue;
                }
                // Reviewed by its modules: only the instance's own selectors are left to decide.
                match instances.selection(instance, &request, &request_json, true) {
                    Selection::Passed(reason) => {
                        reasons.push(format!("{}: {reason}", instance.name))
                    }
                    Selection::Selected | Selection::Failed(_) => selected = true,
                }
            }
            if !selected && !reasons.is_empty() {
                unselected.push(crate::instances::unselected(
                    &self.documents[position],
                    reasons,
                ));
            }
        }
        unselected
    }

    /// A policy judges an UPDATE's stored object in the cluster it sees now, so a violation the rest of
    /// the change introduced (a DGD's GPUs raised under an unchanged HPA) looks pre-existing. Each
    /// violation `response` calls pre-existing is checked against the stored object judged in the tree
    /// at `--against`; one it did not have there is denied as new.
    fn confirm_pre_existing(
        &self,
        position: usize,
        old_object: &Value,
        configuration: Configuration<'_>,
        evaluator: &mut Box<dyn Evaluator + 'a>,
        response: &mut ValidationResponse,
    ) {
        let claimed: Vec<String> = response
            .warnings
            .iter()
            .flatten()
            .filter_map(|warning| warning.strip_prefix(PRE_EXISTING))
            .map(str::to_owned)
            .collect();
        if claimed.is_empty() {
            return;
        }
        let document = &self.documents[position];
        let base = Document {
            object: old_object.clone(),
            ..document.clone()
        };
        let base_objects = self
            .base_by_namespace
            .get(document.namespace())
            .into_iter()
            .flatten();
        let cluster = Arc::new(InMemoryCluster::from_objects(
            base_objects.map(|object| (*object).clone()),
        ));
        let request = admission_request(
            &format!("scaleguard-check-{position}-base"),
            &base,
            None,
            &self.user_info,
        );
        let before = evaluator.validate(
            &validation_payload(&request, configuration.settings),
            configuration.view(&cluster),
        );
        // The base's denial joins its violations with "; ", which sentences may contain too: each
        // claimed violation is looked for in the whole message.
        let had = before
            .message
            .as_deref()
            .filter(|_| !before.accepted)
            .map(shape)
            .unwrap_or_default();
        let new: Vec<String> = claimed
            .into_iter()
            .filter(|violation| !had.contains(&shape(violation)))
            .collect();
        if new.is_empty() {
            return;
        }
        if let Some(warnings) = response.warnings.as_mut() {
            warnings.retain(|warning| {
                !warning
                    .strip_prefix(PRE_EXISTING)
                    .is_some_and(|violation| new.iter().any(|n| n == violation))
            });
        }
        let mut message: Vec<String> = response.message.take().into_iter().collect();
        message.extend(new);
        response.accepted = false;
        response.code = response.code.or(Some(NEW_VIOLATION_CODE));
        response.message = Some(message.join("; "));
        response.mutated_object = None;
    }

    /// Reviews every document on this thread, calling `progress(done, total)` after each.
    pub fn run(&self, progress: &mut dyn FnMut(usize, usize)) -> Result<Vec<Record>, String> {
        let mut evaluators = self.evaluators()?;
        let mut records = Vec::new();
        for position in 0..self.len() {
            records.extend(self.review(position, &mut evaluators));
            progress(position + 1, self.len());
        }
        Ok(records)
    }
}

/// A policy for the engine's tests.
#[cfg(test)]
pub(crate) mod test_policy {
    use super::*;
    use scaleguard_in_memory_cluster::ListQuery;
    use scaleguard_sdk::Operation;

    /// Denies an object whose namespace holds another object of the same name, and names what it
    /// saw; selects CREATE and UPDATE of ConfigMaps.
    pub(crate) struct UniqueNames;

    struct UniqueNamesEvaluator;

    impl RunnablePolicy for UniqueNames {
        fn name(&self) -> &str {
            "unique-names"
        }

        fn selects(&self, request: &AdmissionRequest) -> bool {
            request.resource.resource == "configmaps"
                && matches!(request.operation, Operation::Create | Operation::Update)
        }

        fn granted(&self) -> &BTreeSet<ResourceKind> {
            static NONE: BTreeSet<ResourceKind> = BTreeSet::new();
            &NONE
        }

        fn evaluator(&self) -> Result<Box<dyn Evaluator + '_>, String> {
            Ok(Box::new(UniqueNamesEvaluator))
        }
    }

    impl Evaluator for UniqueNamesEvaluator {
        /// Lists ConfigMaps and Secrets in the object's namespace and Namespaces, granted or not; an
        /// object of its own kind and name is itself.
        fn validate(&mut self, payload: &[u8], view: ClusterView) -> ValidationResponse {
            let payload: Value = serde_json::from_slice(payload).unwrap();
            let cluster = view.cluster();
            let request = &payload["request"];
            let namespace = request["namespace"].as_str();
            let own = |object: &Value| {
                object["kind"] == request["kind"]["kind"]
                    && object["metadata"]["name"] == request["object"]["metadata"]["name"]
            };
            let listed: Vec<&Value> = [
                ("ConfigMap", namespace),
                ("Secret", namespace),
                ("Namespace", None),
            ]
            .into_iter()
            .flat_map(|(kind, namespace)| {
                let query = ListQuery {
                    namespace,
                    ..ListQuery::of("v1", kind)
                };
                cluster.list(&query).unwrap()
            })
            .filter(|object| !own(object))
            .collect();
            let seen: Vec<String> = listed
                .iter()
                .map(|o| format!("{}/{}", o["metadata"]["namespace"], o["metadata"]["name"]))
                .collect();
            let clash = listed
                .iter()
                .any(|o| o["metadata"]["name"] == request["object"]["metadata"]["name"]);
            ValidationResponse {
                accepted: !clash,
                code: clash.then_some(409),
                message: clash.then(|| "name taken".to_owned()),
                warnings: Some(vec![format!(
                    "{} by {} with {} old {}; saw {}",
                    request["operation"].as_str().unwrap_or(""),
                    request["userInfo"]["username"].as_str().unwrap_or(""),
                    payload["settings"],
                    request["oldObject"]["data"]["v"],
                    seen.join(",")
                )]),
                ..ValidationResponse::default()
            }
        }

        fn validate_settings(&mut self, settings: &Value) -> SettingsValidationResponse {
            SettingsValidationResponse {
                valid: settings.is_null(),
                message: (!settings.is_null()).then(|| "no settings expected".to_owned()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_policy::UniqueNames;
    use super::*;
    use crate::input::{Format, parse};
    use crate::request::default_user;
    use serde_json::json;

    const INPUT: &str = "\
apiVersion: v1
kind: ConfigMap
metadata: {name: a}
data: {v: new}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: b}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: a, namespace: other}
---
apiVersion: v1
kind: Secret
metadata: {name: a}
";

    fn run(previous: &BTreeMap<Identity, Value>) -> Vec<Record> {
        let documents = parse("in.yaml", INPUT, Format::Yaml, "default").documents;
        let policies = [ConfiguredPolicy {
            policy: &UniqueNames,
            settings: Value::Null,
        }];
        let check = Check::new(&documents, previous, &policies, default_user());
        let mut calls = 0;
        let records = check.run(&mut |done, total| {
            calls += 1;
            assert_eq!((done, total), (calls, 4));
        });
        records.unwrap()
    }

    #[test]
    fn violations_are_compared_without_their_values() {
        assert_eq!(
            shape("spec.minReplicaCount (not set, so 0) lets KEDA scale to zero"),
            shape("spec.minReplicaCount (0) lets KEDA scale to zero")
        );
        assert_eq!(
            shape("spec.maxReplicas (40) is above maxReplicasCeiling (32)"),
            "spec.maxReplicas (#) is above maxReplicasCeiling (#)"
        );
        assert_eq!(shape("10 × 8 GPUs (é)"), "# × # GPUs (é)");
        assert_ne!(
            shape("spec.minReplicas (0) lets the HPA scale to zero"),
            shape("spec.maxReplicas (0) is below spec.minReplicas (1)")
        );
    }

    #[test]
    fn each_selected_object_sees_its_namespace() {
        let records = run(&BTreeMap::new());
        let seen: Vec<(&str, &str, bool, &str)> = records
            .iter()
            .map(|r| {
                (
                    r.namespace.as_str(),
                    r.name.as_str(),
                    r.allowed,
                    r.warnings[0].as_str(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                (
                    "default",
                    "a",
                    false,
                    "CREATE by scaleguard-check with null old null; saw \"default\"/\"b\",\"default\"/\"a\""
                ),
                (
                    "default",
                    "b",
                    true,
                    "CREATE by scaleguard-check with null old null; saw \"default\"/\"a\",\"default\"/\"a\""
                ),
                (
                    "other",
                    "a",
                    true,
                    "CREATE by scaleguard-check with null old null; saw "
                ),
            ],
            "the Secret is not selected; ConfigMap a clashes with Secret a of its namespace"
        );
        assert_eq!(records[0].code, Some(409));
        assert_eq!(records[0].message.as_deref(), Some("name taken"));
        assert_eq!((records[0].index, records[0].line), (0, 1));
    }

    #[test]
    fn objects_found_at_the_reference_are_updates_from_it() {
        let old = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "b", "namespace": "default"}, "data": {"v": "old"}});
        let previous = BTreeMap::from([(Identity::of(&old), old)]);
        let records = run(&previous);
        let operations: Vec<(&str, &str)> = records
            .iter()
            .map(|r| (r.name.as_str(), r.operation.as_str()))
            .collect();
        assert_eq!(
            operations,
            [("a", "CREATE"), ("b", "UPDATE"), ("a", "CREATE")]
        );
        assert!(
            records[1].warnings[0].starts_with("UPDATE by scaleguard-check with null old \"old\""),
            "{}",
            records[1].warnings[0]
        );
    }

    #[test]
    fn settings_are_validated_by_the_policy() {
        let policies = [
            ConfiguredPolicy {
                policy: &UniqueNames,
                settings: Value::Null,
            },
            ConfiguredPolicy {
                policy: &UniqueNames,
                settings: json!({"x": 1}),
            },
        ];
        assert_eq!(
            validate_settings(&policies),
            Err(vec!["policy unique-names: no settings expected".to_owned()])
        );
        assert_eq!(validate_settings(&policies[..1]), Ok(()));
    }

    #[test]
    fn dgds_get_the_gitops_hint_even_without_policies() {
        let text = "apiVersion: nvidia.com/v1alpha1\nkind: DynamoGraphDeployment\nmetadata: {name: d}\nspec:\n  services:\n    decode: {replicas: 2, scalingAdapter: {enabled: true}}\n";
        let documents = parse("dgd.yaml", text, Format::Yaml, "default").documents;
        let previous = BTreeMap::new();
        let check = Check::new(&documents, &previous, &[], default_user());
        let records = check.run(&mut |_, _| {}).unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].policy, GITOPS_REPLICAS);
        assert!(records[0].allowed);
        assert!(records[0].warnings[0].starts_with("spec.services[decode].replicas is set to 2"));
    }
}
