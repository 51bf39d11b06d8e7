//! `deploy/policies/`: the ClusterAdmissionPolicies, the policy group and the kustomizations users
//! apply from GitOps. Every manifest is read with the Kubewarden SDK's own CRD types (unknown fields
//! refused), its module reference must name a policy at its current version, its rules, mutation and
//! look-ups must match the policy's metadata, its settings must be valid for the module, and every
//! overlay, rendered, must still send each policy every request its metadata asks for.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use common::{policy_names, source_metadata, workspace_root};
use k8s_openapi::api::admissionregistration::v1::RuleWithOperations;
use kubewarden_policy_sdk::crd::policies::common::{FailurePolicy, PolicyMode};
use kubewarden_policy_sdk::crd::policies::{ClusterAdmissionPolicy, ClusterAdmissionPolicyGroup};
use scaleguard_metadata::PolicyMetadata;
use scaleguard_sdk::{Operation, ResourceKind};
use serde::Deserialize as _;
use serde_json::Value;

/// Admission requests as (group, version, resource, operation).
type Requests = BTreeSet<(String, String, String, Operation)>;

/// Namespaces the policies leave alone.
const SYSTEM_NAMESPACES: [&str; 4] = [
    "kube-system",
    "kube-public",
    "kube-node-lease",
    "kubewarden",
];

fn deploy_dir() -> PathBuf {
    workspace_root().join("deploy/policies")
}

fn documents(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|document| {
            Value::deserialize(document).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        })
        .filter(|value| !value.is_null())
        .collect()
}

fn kind(object: &Value) -> &str {
    object["kind"].as_str().unwrap_or_default()
}

fn name(object: &Value) -> &str {
    object["metadata"]["name"].as_str().unwrap_or_default()
}

/// The objects a kustomization folder renders to. Supports what deploy/policies uses: resources
/// (files and folders), JSON 6902 patches with a `target`, and `$patch: delete`; anything else fails.
fn render(dir: &Path) -> Vec<Value> {
    let [kustomization] = documents(&dir.join("kustomization.yaml"))
        .try_into()
        .unwrap();
    let mut objects = Vec::new();
    for resource in kustomization["resources"].as_array().unwrap() {
        let path = dir.join(resource.as_str().unwrap());
        if path.is_dir() {
            objects.extend(render(&path));
        } else {
            objects.extend(documents(&path));
        }
    }
    for entry in kustomization["patches"].as_array().into_iter().flatten() {
        let patch: Value = serde_yaml_ng::from_str(entry["patch"].as_str().unwrap()).unwrap();
        if let Some(target) = entry.get("target") {
            let operations: json_patch::Patch = serde_json::from_value(patch).unwrap();
            let matching: Vec<&mut Value> = objects
                .iter_mut()
                .filter(|o| target["kind"].as_str().is_none_or(|k| k == kind(o)))
                .filter(|o| target["name"].as_str().is_none_or(|n| n == name(o)))
                .collect();
            assert!(
                !matching.is_empty(),
                "{}: patch target {target} matches nothing",
                dir.display()
            );
            for object in matching {
                json_patch::patch(object, &operations).unwrap();
            }
        } else {
            assert_eq!(
                patch["$patch"],
                "delete",
                "{}: unsupported patch {patch}",
                dir.display()
            );
            let before = objects.len();
            objects.retain(|o| !(kind(o) == kind(&patch) && name(o) == name(&patch)));
            assert_eq!(
                objects.len(),
                before - 1,
                "{}: {patch} deletes nothing",
                dir.display()
            );
        }
    }
    objects
}

/// Every YAML file under deploy/policies.
fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().filter_map(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            files.extend(yaml_files(&path));
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            files.push(path);
        }
    }
    files
}

/// The policy a `registry://<ociUrl>:v<version>` module names, checked to be its current version.
fn policy_of(module: &str) -> (String, PolicyMetadata) {
    for policy in policy_names() {
        let metadata = source_metadata(&policy);
        let repository = format!("registry://{}:", metadata.oci_url().unwrap());
        if let Some(tag) = module.strip_prefix(&repository) {
            assert_eq!(
                tag,
                format!("v{}", metadata.version().unwrap()),
                "{module}: not the current version of {policy}"
            );
            return (policy, metadata);
        }
    }
    panic!("{module} is not the module of a scaleguard policy");
}

/// Every (group, version, resource, operation) a list of rules matches.
fn requests(rules: &[RuleWithOperations]) -> Requests {
    let mut requests = BTreeSet::new();
    for rule in rules {
        for group in rule.api_groups.iter().flatten() {
            for version in rule.api_versions.iter().flatten() {
                for resource in rule.resources.iter().flatten() {
                    for operation in rule.operations.iter().flatten() {
                        requests.insert((
                            group.clone(),
                            version.clone(),
                            resource.clone(),
                            Operation::from(operation.clone()),
                        ));
                    }
                }
            }
        }
    }
    requests
}

fn metadata_requests(metadata: &PolicyMetadata) -> Requests {
    let rules: Vec<RuleWithOperations> =
        serde_json::from_value(serde_json::to_value(&metadata.rules).unwrap()).unwrap();
    requests(&rules)
}

fn granted(
    resources: &[kubewarden_policy_sdk::crd::policies::common::ContextAwareResource],
) -> BTreeSet<ResourceKind> {
    resources
        .iter()
        .map(|r| ResourceKind::new(r.api_version.clone(), r.kind.clone()))
        .collect()
}

fn assert_settings_valid(policy: &str, settings: &Value, what: &str) {
    let answer =
        scaleguard_tests::native_validate_settings(policy, settings.to_string().as_bytes())
            .unwrap_or_else(|| panic!("{policy} has no native entry"));
    assert!(
        answer.valid,
        "{what}: settings refused by {policy}: {:?}",
        answer.message
    );
}

fn assert_leaves_system_namespaces_alone(selector: Option<&Value>, what: &str) {
    let expressions = selector
        .and_then(|s| s["matchExpressions"].as_array())
        .unwrap_or_else(|| panic!("{what}: no namespaceSelector.matchExpressions"));
    let excluded: BTreeSet<&str> = expressions
        .iter()
        .filter(|e| e["key"] == "kubernetes.io/metadata.name" && e["operator"] == "NotIn")
        .flat_map(|e| {
            e["values"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(Value::as_str)
        })
        .collect();
    for namespace in SYSTEM_NAMESPACES {
        assert!(
            excluded.contains(namespace),
            "{what}: namespaceSelector does not exclude {namespace}"
        );
    }
}

/// Checks a ClusterAdmissionPolicy and returns its policy and the requests it sends it.
fn check_policy(object: &Value) -> (String, Requests) {
    let what = format!("ClusterAdmissionPolicy {}", name(object));
    let typed: ClusterAdmissionPolicy = serde_json::from_value(object.clone())
        .unwrap_or_else(|e| panic!("{what}: not a ClusterAdmissionPolicy: {e}"));
    let spec = typed.spec.unwrap_or_else(|| panic!("{what}: no spec"));
    let (policy, metadata) = policy_of(&spec.module);
    let rules = spec
        .rules
        .clone()
        .unwrap_or_else(|| panic!("{what}: no rules"));
    let sent = requests(&rules);
    assert!(!sent.is_empty(), "{what}: no rules");
    assert!(
        sent.is_subset(&metadata_requests(&metadata)),
        "{what}: rules beyond {policy}'s metadata"
    );
    assert_eq!(spec.mutating, metadata.mutating, "{what}: mutating");
    assert_eq!(
        granted(&spec.context_aware_resources),
        metadata.granted(),
        "{what}: contextAwareResources"
    );
    assert!(spec.mode.is_some(), "{what}: no mode");
    assert!(spec.failure_policy.is_some(), "{what}: no failurePolicy");
    let timeout: i32 = spec
        .timeout_seconds
        .unwrap_or_else(|| panic!("{what}: no timeoutSeconds"))
        .into();
    assert!(
        (2..=30).contains(&timeout),
        "{what}: timeoutSeconds {timeout}"
    );
    if !metadata.background_audit {
        assert_eq!(
            object["spec"]["backgroundAudit"], false,
            "{what}: the policy cannot audit"
        );
    }
    assert_leaves_system_namespaces_alone(object["spec"].get("namespaceSelector"), &what);
    assert_settings_valid(&policy, &spec.settings.0, &what);
    (policy, sent)
}

/// Checks a ClusterAdmissionPolicyGroup and returns, per member policy, the requests it is sent.
fn check_group(object: &Value) -> Vec<(String, Requests)> {
    let what = format!("ClusterAdmissionPolicyGroup {}", name(object));
    let typed: ClusterAdmissionPolicyGroup = serde_json::from_value(object.clone())
        .unwrap_or_else(|e| panic!("{what}: not a ClusterAdmissionPolicyGroup: {e}"));
    let spec = typed.spec.unwrap_or_else(|| panic!("{what}: no spec"));
    let sent = requests(&spec.rules.unwrap_or_default());
    assert!(!sent.is_empty(), "{what}: no rules");
    assert!(
        spec.failure_policy.is_some() && spec.mode.is_some(),
        "{what}: failurePolicy, mode"
    );
    assert!(!spec.message.is_empty(), "{what}: no message");
    assert_leaves_system_namespaces_alone(object["spec"].get("namespaceSelector"), &what);
    let mut members = Vec::new();
    let mut called: BTreeSet<String> = BTreeSet::new();
    for (member, definition) in &spec.policies {
        let (policy, metadata) = policy_of(&definition.module);
        assert!(
            !metadata.mutating,
            "{what}: {member}: a group cannot mutate, {policy} may"
        );
        assert!(
            sent.is_subset(&metadata_requests(&metadata)),
            "{what}: {member}: rules beyond {policy}'s metadata"
        );
        assert_eq!(
            granted(&definition.context_aware_resources),
            metadata.granted(),
            "{what}: {member}"
        );
        assert_settings_valid(
            &policy,
            &definition.settings.0,
            &format!("{what}: {member}"),
        );
        assert!(
            spec.expression.contains(&format!("{member}()")),
            "{what}: the expression never calls {member}"
        );
        called.insert(member.clone());
        members.push((policy, sent.clone()));
    }
    assert_eq!(called.len(), spec.policies.len());
    members
}

#[test]
fn only_policies_and_kustomizations_no_crd() {
    for path in yaml_files(&deploy_dir()) {
        for object in documents(&path) {
            assert!(
                [
                    "ClusterAdmissionPolicy",
                    "ClusterAdmissionPolicyGroup",
                    "Kustomization"
                ]
                .contains(&kind(&object)),
                "{}: {} — installing the policies must never install or replace a CRD or anything else",
                path.display(),
                kind(&object)
            );
        }
    }
}

#[test]
fn the_base_has_one_policy_per_policy_matching_its_metadata_exactly() {
    let objects = render(&deploy_dir().join("base"));
    let mut policies = Vec::new();
    for object in &objects {
        assert_eq!(kind(object), "ClusterAdmissionPolicy");
        let (policy, sent) = check_policy(object);
        assert_eq!(name(object), policy, "named after its policy");
        assert_eq!(
            sent,
            metadata_requests(&source_metadata(&policy)),
            "{policy}: every request of its metadata"
        );
        assert_eq!(object["spec"]["mode"], "protect");
        policies.push(policy);
    }
    policies.sort();
    assert_eq!(policies, policy_names());
}

#[test]
fn replica_ownership_authorizes_the_dynamo_operator_the_planner_and_the_controller() {
    let [object] = documents(&deploy_dir().join("base/dynamo-replica-ownership.yaml"))
        .try_into()
        .unwrap();
    let accounts = object["spec"]["settings"]["authorizedServiceAccounts"]
        .as_array()
        .unwrap();
    let has = |namespace: Option<&str>, account: &str| {
        accounts
            .iter()
            .any(|a| a["name"] == account && a["namespace"].as_str() == namespace)
    };
    assert!(has(None, "planner-serviceaccount"));
    assert!(has(Some("scaleguard-system"), "scaleguard-controller"));
    assert!(has(
        Some("dynamo-system"),
        "dynamo-platform-dynamo-operator-controller-manager"
    ));
}

/// Per policy, the requests the rendered overlay sends it; checks every object on the way.
fn coverage(objects: &[Value]) -> BTreeMap<String, Requests> {
    let mut sent: BTreeMap<String, BTreeSet<_>> = BTreeMap::new();
    for object in objects {
        let members = match kind(object) {
            "ClusterAdmissionPolicy" => vec![check_policy(object)],
            "ClusterAdmissionPolicyGroup" => check_group(object),
            other => panic!("unexpected {other}"),
        };
        for (policy, requests) in members {
            sent.entry(policy).or_default().extend(requests);
        }
    }
    sent
}

fn full_coverage() -> BTreeMap<String, Requests> {
    policy_names()
        .into_iter()
        .map(|policy| {
            let requests = metadata_requests(&source_metadata(&policy));
            (policy, requests)
        })
        .collect()
}

#[test]
fn the_monitor_overlay_puts_every_policy_in_monitor_mode() {
    let objects = render(&deploy_dir().join("overlays/monitor"));
    assert_eq!(coverage(&objects), full_coverage());
    for object in &objects {
        let typed: ClusterAdmissionPolicy = serde_json::from_value(object.clone()).unwrap();
        assert_eq!(
            typed.spec.unwrap().mode,
            Some(PolicyMode::Monitor),
            "{}",
            name(object)
        );
    }
}

#[test]
fn the_protect_overlay_puts_every_policy_in_protect_mode() {
    let objects = render(&deploy_dir().join("overlays/protect"));
    assert_eq!(coverage(&objects), full_coverage());
    for object in &objects {
        let spec = serde_json::from_value::<ClusterAdmissionPolicy>(object.clone())
            .unwrap()
            .spec
            .unwrap();
        assert_eq!(spec.mode, Some(PolicyMode::Protect), "{}", name(object));
        assert!(spec.failure_policy.is_some());
    }
}

#[test]
fn the_group_overlay_still_sends_every_policy_all_its_requests() {
    let objects = render(&deploy_dir().join("overlays/group"));
    assert_eq!(coverage(&objects), full_coverage());
    let groups: Vec<&Value> = objects
        .iter()
        .filter(|o| kind(o) == "ClusterAdmissionPolicyGroup")
        .collect();
    assert_eq!(groups.len(), 1);
    let spec = serde_json::from_value::<ClusterAdmissionPolicyGroup>(groups[0].clone())
        .unwrap()
        .spec
        .unwrap();
    assert_eq!(spec.policies.len(), 3, "the three autoscaler policies");
    assert_eq!(spec.failure_policy, Some(FailurePolicy::Fail));
}

#[test]
fn the_top_level_kustomization_starts_in_monitor_mode() {
    let objects = render(&deploy_dir());
    assert_eq!(objects, render(&deploy_dir().join("overlays/monitor")));
}
