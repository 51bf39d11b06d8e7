//! End-to-end tests of `scaleguard run`: one request through a policy module `make policies` built.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn policies_dir() -> PathBuf {
    std::env::var_os("SCALEGUARD_POLICIES_DIR")
        .map_or_else(|| workspace().join("target/policies"), PathBuf::from)
}

/// Runs `scaleguard run` with `request` and `cluster` written to files; returns the AdmissionResponse.
fn run(policy: &str, request: &Value, cluster: &[Value], extra: &[&str]) -> Value {
    let directory = tempfile::tempdir().unwrap();
    let request_path = directory.path().join("request.json");
    std::fs::write(&request_path, serde_json::to_vec(request).unwrap()).unwrap();
    let cluster_path = directory.path().join("cluster.json");
    let list = json!({"apiVersion": "v1", "kind": "List", "items": cluster});
    std::fs::write(&cluster_path, serde_json::to_vec(&list).unwrap()).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_scaleguard"))
        .args(["run", "--policy", policy, "--policies-dir"])
        .arg(policies_dir())
        .arg("--request")
        .arg(&request_path)
        .arg("--cluster")
        .arg(&cluster_path)
        .args(extra)
        .env_remove("SCALEGUARD_POLICIES_DIR")
        .output()
        .expect("the binary runs");
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// A Planner-managed v1beta1 DGD whose Planner scales its `type: decode` component.
fn planner_dgd() -> Value {
    json!({"apiVersion": "nvidia.com/v1beta1", "kind": "DynamoGraphDeployment",
    "metadata": {"name": "sglang-disagg", "namespace": "default"},
    "spec": {"components": [
        {"name": "Planner", "type": "planner"},
        {"name": "decode", "type": "decode", "scalingAdapter": {}},
        {"name": "Frontend", "type": "frontend"}
    ]}})
}

fn hpa_create() -> Value {
    json!({"uid": "u1", "operation": "CREATE", "namespace": "default", "name": "decode-hpa",
        "kind": {"group": "autoscaling", "version": "v2", "kind": "HorizontalPodAutoscaler"},
        "userInfo": {"username": "alice"},
        "object": {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "decode-hpa", "namespace": "default"},
            "spec": {"scaleTargetRef": {"apiVersion": "nvidia.com/v1beta1",
                "kind": "DynamoGraphDeploymentScalingAdapter", "name": "sglang-disagg-decode"},
                "minReplicas": 1, "maxReplicas": 4}}})
}

/// The module's own `contextAwareResources` are granted without `--allow-context`, so the policy sees
/// the v1beta1 DGD and its Planner.
#[test]
fn an_annotated_module_is_granted_its_declared_look_ups() {
    let response = run(
        "dynamo-single-autoscaler",
        &hpa_create(),
        &[planner_dgd()],
        &[],
    );
    assert_eq!(response["uid"], "u1");
    assert_eq!(response["allowed"], false, "{response}");
    assert_eq!(
        response["status"]["message"],
        "DynamoGraphDeploymentScalingAdapter default/sglang-disagg-decode is already scaled by the Dynamo Planner of DynamoGraphDeployment sglang-disagg; use one autoscaler per adapter"
    );
}

/// Without the DGD in the cluster there is no conflict: the decision above came from the look-up.
#[test]
fn without_the_planner_the_same_request_is_allowed() {
    let response = run("dynamo-single-autoscaler", &hpa_create(), &[], &[]);
    assert_eq!(response["allowed"], true, "{response}");
}
