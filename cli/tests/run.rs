//! End-to-end tests of `scaleguard run`: one request through a policy module `make policies` built.

mod common;

use std::process::Command;

use serde_json::{Value, json};

use common::{built_modules_dir, workspace_root};

/// Runs `scaleguard run` with `request` and `cluster` written to files; returns the AdmissionResponse.
fn run(policy: &str, request: &Value, cluster: &[Value], extra: &[&str]) -> Value {
    let directory = tempfile::tempdir().unwrap();
    let request_path = directory.path().join("request.json");
    std::fs::write(&request_path, serde_json::to_vec(request).unwrap()).unwrap();
    let cluster_path = directory.path().join("cluster.json");
    let list = json!({"apiVersion": "v1", "kind": "List", "items": cluster});
    std::fs::write(&cluster_path, serde_json::to_vec(&list).unwrap()).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_scaleguard"))
        .args(["run", "--policy", policy, "--policies"])
        .arg(built_modules_dir())
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

/// Runs `scaleguard run args` in the workspace, feeding `stdin`.
fn run_raw(args: &[&str], stdin: &str) -> std::process::Output {
    use std::io::Write as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_scaleguard"))
        .arg("run")
        .args(args)
        .current_dir(workspace_root())
        .env_remove("SCALEGUARD_POLICIES_DIR")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const EDIT: &str = "examples/requests/edit-decode-replicas.yaml";

/// 0 allowed, 1 denied, 2 for invalid settings; `--request -` reads stdin.
#[test]
fn exit_codes_say_allowed_denied_or_error() {
    let policies = built_modules_dir().display().to_string();
    let base = [
        "--policy",
        "dynamo-replica-ownership",
        "--policies",
        &policies,
    ];
    let denied = run_raw(&[&base[..], &["--request", EDIT]].concat(), "");
    assert_eq!(denied.status.code(), Some(1), "{}", text(&denied.stderr));
    let response: Value = serde_json::from_slice(&denied.stdout).unwrap();
    assert_eq!(response["allowed"], false);
    let request = std::fs::read_to_string(workspace_root().join(EDIT)).unwrap();
    let allowed = run_raw(
        &[
            &base[..],
            &[
                "--request",
                "-",
                "--settings",
                r#"{"authorizedUsers": ["alice"]}"#,
            ],
        ]
        .concat(),
        &request,
    );
    assert_eq!(allowed.status.code(), Some(0), "{}", text(&allowed.stderr));
    let invalid = run_raw(
        &[
            &base[..],
            &["--request", EDIT, "--settings", r#"{"authorizedUsers": 3}"#],
        ]
        .concat(),
        "",
    );
    assert_eq!(invalid.status.code(), Some(2));
    assert_eq!(text(&invalid.stdout), "");
    let message = text(&invalid.stderr);
    assert!(
        message.starts_with("error: invalid settings: policy dynamo-replica-ownership: ")
            && message.matches("invalid settings").count() == 1
            && !message.contains("Caused by"),
        "{message}"
    );
}

/// A manifest where a request is expected is pointed to `scaleguard check`.
#[test]
fn a_manifest_is_not_a_request() {
    let policies = built_modules_dir().display().to_string();
    let output = run_raw(
        &[
            "--policy",
            "dynamo-single-autoscaler",
            "--policies",
            &policies,
            "--request",
            "examples/gitops/apps/vllm-disagg/dgd.yaml",
        ],
        "",
    );
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        text(&output.stderr),
        "error: --request examples/gitops/apps/vllm-disagg/dgd.yaml: this is a DynamoGraphDeployment, not an AdmissionRequest: `scaleguard check` reviews manifests (`scaleguard check examples/gitops/apps/vllm-disagg/dgd.yaml`)\n"
    );
}

/// `--policies` names the only folder looked in: an empty one is an error, not a silent fallback to
/// target/policies; a typo lists the known names.
#[test]
fn the_policies_folder_is_not_fallen_back_from() {
    let empty = tempfile::tempdir().unwrap();
    let dir = empty.path().display().to_string();
    let output = run_raw(
        &[
            "--policy",
            "dynamo-replica-ownership",
            "--policies",
            &dir,
            "--request",
            EDIT,
        ],
        "",
    );
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        text(&output.stderr),
        format!(
            "error: no policy modules (.wasm files) in {dir} (named by --policies or $SCALEGUARD_POLICIES_DIR): \
             run `make policies`, or name the folder the modules are in\n"
        )
    );
    let policies = built_modules_dir().display().to_string();
    let typo = run_raw(
        &[
            "--policy",
            "dynamo-replica-ownershp",
            "--policies",
            &policies,
            "--request",
            EDIT,
        ],
        "",
    );
    assert_eq!(typo.status.code(), Some(2));
    assert_eq!(
        text(&typo.stderr),
        "error: --policy dynamo-replica-ownershp: no such policy (known: dynamo-adapter-target, dynamo-autoscaler-bounds, dynamo-deprecated-autoscaling, dynamo-replica-ownership, dynamo-single-autoscaler)\n"
    );
    let not_wasm = run_raw(&["--policy", "README.md/x.wasm", "--request", EDIT], "");
    assert_eq!(not_wasm.status.code(), Some(2));
    let readme = run_raw(&["--policy", "./README.md", "--request", EDIT], "");
    assert_eq!(
        text(&readme.stderr),
        "error: ./README.md is not a WebAssembly module (a policy module is a .wasm file, as `make policies` builds them into target/policies)\n"
    );
}

/// `--cluster` objects the policy may not look up are reported, not silently left unseen.
#[test]
fn cluster_objects_the_policy_cannot_see_are_reported() {
    let directory = tempfile::tempdir().unwrap();
    let request_path = directory.path().join("request.json");
    std::fs::write(&request_path, hpa_create().to_string()).unwrap();
    let cluster_path = directory.path().join("cluster.yaml");
    std::fs::write(
        &cluster_path,
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: default}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: default}\n",
    )
    .unwrap();
    let policies = built_modules_dir().display().to_string();
    let output = Command::new(env!("CARGO_BIN_EXE_scaleguard"))
        .args([
            "run",
            "--policy",
            "dynamo-single-autoscaler",
            "--policies",
            &policies,
        ])
        .arg("--request")
        .arg(&request_path)
        .arg("--cluster")
        .arg(&cluster_path)
        .env_remove("SCALEGUARD_POLICIES_DIR")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        text(&output.stderr),
        "warning: --cluster: policy dynamo-single-autoscaler cannot see 2 ConfigMap objects (v1): the kind is not among its contextAwareResources; grant it with --allow-context v1/ConfigMap\n"
    );
}

/// `scaleguard inspect` of a file that is not wasm says so in words.
#[test]
fn inspect_of_a_file_that_is_not_wasm_says_so() {
    let output = Command::new(env!("CARGO_BIN_EXE_scaleguard"))
        .args(["inspect", "README.md"])
        .current_dir(workspace_root())
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        text(&output.stderr)
            .contains("README.md is not a WebAssembly module (a policy module is a .wasm file"),
        "{}",
        text(&output.stderr)
    );
}

/// `run` reads YAML as `check` does: a repeated key is refused at its line, in a request as in the
/// `--cluster` objects, where `check` refuses the same text at the same line.
#[test]
fn a_repeated_key_is_refused_at_its_line_as_check_refuses_it() {
    let directory = tempfile::tempdir().unwrap();
    let request = directory.path().join("request.yaml");
    std::fs::write(
        &request,
        "uid: u1\noperation: CREATE\nkind: {group: autoscaling, version: v2, kind: HorizontalPodAutoscaler}\noperation: UPDATE\n",
    )
    .unwrap();
    let policies = built_modules_dir().display().to_string();
    let base = [
        "--policy",
        "dynamo-single-autoscaler",
        "--policies",
        &policies,
    ];
    let output = run_raw(
        &[&base[..], &["--request", request.to_str().unwrap()]].concat(),
        "",
    );
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(text(&output.stdout), "");
    assert_eq!(
        text(&output.stderr),
        format!(
            "error: {} line 4: invalid YAML: duplicate key \"operation\"\n",
            request.display()
        )
    );

    let hpa = directory.path().join("hpa.json");
    std::fs::write(&hpa, hpa_create().to_string()).unwrap();
    let cluster = directory.path().join("cluster.yaml");
    std::fs::write(
        &cluster,
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: h}\nspec: {maxReplicas: 3}\nkind: ConfigMap\n",
    )
    .unwrap();
    let output = run_raw(
        &[
            &base[..],
            &[
                "--request",
                hpa.to_str().unwrap(),
                "--cluster",
                cluster.to_str().unwrap(),
            ],
        ]
        .concat(),
        "",
    );
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        text(&output.stderr),
        format!(
            "error: {} line 9: invalid YAML: duplicate key \"kind\"\n",
            cluster.display()
        )
    );
    let check = Command::new(env!("CARGO_BIN_EXE_scaleguard"))
        .args([
            "check",
            "-o",
            "json",
            "--no-module-cache",
            "--policies",
            &policies,
        ])
        .arg(&cluster)
        .output()
        .unwrap();
    assert_eq!(check.status.code(), Some(2));
    let report: Value = serde_json::from_slice(&check.stdout).unwrap();
    assert_eq!(
        report["errors"],
        json!([{"file": cluster.display().to_string(), "index": 1, "line": 9,
            "message": "invalid YAML: duplicate key \"kind\""}])
    );
}

/// A merge key is applied in a request, as `check` applies it in a manifest.
#[test]
fn a_merge_key_is_applied_in_a_request() {
    let directory = tempfile::tempdir().unwrap();
    let request = directory.path().join("request.yaml");
    let hpa = serde_json::to_string(&hpa_create()["object"]).unwrap();
    std::fs::write(
        &request,
        format!(
            "base: &base\n  uid: u1\n  operation: CREATE\n  namespace: default\n  name: decode-hpa\n  kind: {{group: autoscaling, version: v2, kind: HorizontalPodAutoscaler}}\n  userInfo: {{username: alice}}\n<<: *base\nobject: {hpa}\n"
        ),
    )
    .unwrap();
    let policies = built_modules_dir().display().to_string();
    let output = run_raw(
        &[
            "--policy",
            "dynamo-single-autoscaler",
            "--policies",
            &policies,
            "--request",
            request.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let response: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(response["uid"], "u1");
    assert_eq!(response["allowed"], true);
}
