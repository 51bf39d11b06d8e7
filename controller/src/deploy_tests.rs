//! Checks of the install manifests in `deploy/controller/`: they parse as the Kubernetes types they
//! claim to be, grant exactly the verbs the controller uses, and run it locked down.

use std::collections::BTreeSet;
use std::path::PathBuf;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::rbac::v1::{ClusterRole, Role};
use serde::Deserialize;
use serde_json::Value;

fn deploy_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy/controller")
}

fn documents(file: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(deploy_dir().join(file)).unwrap();
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|document| Value::deserialize(document).unwrap())
        .collect()
}

fn of_kind<T: serde::de::DeserializeOwned>(file: &str, kind: &str) -> T {
    let document = documents(file)
        .into_iter()
        .find(|d| d["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {file}"));
    serde_json::from_value(document).unwrap()
}

fn rules(rules: Vec<k8s_openapi::api::rbac::v1::PolicyRule>) -> BTreeSet<String> {
    rules
        .into_iter()
        .flat_map(|rule| {
            let groups = rule.api_groups.unwrap_or_default();
            let resources = rule.resources.unwrap_or_default();
            let verbs = rule.verbs;
            groups.into_iter().flat_map(move |group| {
                let verbs = verbs.clone();
                resources.clone().into_iter().flat_map(move |resource| {
                    let group = group.clone();
                    verbs
                        .clone()
                        .into_iter()
                        .map(move |verb| format!("{group}/{resource}:{verb}"))
                })
            })
        })
        .collect()
}

#[test]
fn the_cluster_role_grants_exactly_the_requests_the_controller_sends() {
    let role: ClusterRole = of_kind("rbac.yaml", "ClusterRole");
    let expected: BTreeSet<String> = [
        "nvidia.com/dynamographdeployments:get",
        "nvidia.com/dynamographdeployments:list",
        "nvidia.com/dynamographdeployments:watch",
        "nvidia.com/dynamographdeployments:patch",
        "nvidia.com/dynamographdeployments/finalizers:update",
        "nvidia.com/dynamographdeploymentscalingadapters:list",
        "nvidia.com/dynamographdeploymentscalingadapters:watch",
        "nvidia.com/dynamographdeploymentscalingadapters:create",
        "nvidia.com/dynamographdeploymentscalingadapters:delete",
        "nvidia.com/dynamographdeploymentscalingadapters/status:patch",
        "events.k8s.io/events:create",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert_eq!(rules(role.rules.unwrap_or_default()), expected);

    let lease: Role = of_kind("rbac.yaml", "Role");
    assert_eq!(
        lease.metadata.namespace.as_deref(),
        Some("scaleguard-system")
    );
    let expected: BTreeSet<String> = ["get", "create", "update"]
        .into_iter()
        .map(|verb| format!("coordination.k8s.io/leases:{verb}"))
        .collect();
    assert_eq!(rules(lease.rules.unwrap_or_default()), expected);
}

#[test]
fn the_deployment_runs_locked_down_with_probes() {
    let deployment: Deployment = of_kind("deployment.yaml", "Deployment");
    assert_eq!(
        deployment.metadata.namespace.as_deref(),
        Some("scaleguard-system")
    );
    let pod = deployment.spec.unwrap().template.spec.unwrap();
    assert_eq!(
        pod.service_account_name.as_deref(),
        Some("scaleguard-controller")
    );
    assert_eq!(pod.security_context.unwrap().run_as_non_root, Some(true));
    let container = &pod.containers[0];
    let security = container.security_context.clone().unwrap();
    assert_eq!(security.read_only_root_filesystem, Some(true));
    assert_eq!(security.allow_privilege_escalation, Some(false));
    assert_eq!(security.run_as_non_root, Some(true));
    let path = |probe: &Option<k8s_openapi::api::core::v1::Probe>| {
        probe.clone().unwrap().http_get.unwrap().path.unwrap()
    };
    assert_eq!(path(&container.liveness_probe), "/healthz");
    assert_eq!(path(&container.readiness_probe), "/readyz");
    assert_eq!(container.args.as_ref().unwrap()[0], "run");
    assert!(container.resources.as_ref().unwrap().limits.is_some());
}

#[test]
fn the_service_account_is_the_one_the_replica_ownership_policy_authorizes() {
    let account = &documents("serviceaccount.yaml")[0];
    assert_eq!(account["metadata"]["name"], "scaleguard-controller");
    assert_eq!(account["metadata"]["namespace"], "scaleguard-system");
}

#[test]
fn the_kustomization_lists_every_manifest() {
    let kustomization = &documents("kustomization.yaml")[0];
    let listed: BTreeSet<&str> = kustomization["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    let files: Vec<String> = std::fs::read_dir(deploy_dir())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".yaml") && name != "kustomization.yaml")
        .collect();
    let files: BTreeSet<&str> = files.iter().map(String::as_str).collect();
    assert_eq!(listed, files);
}
