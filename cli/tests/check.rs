//! End-to-end tests of `scaleguard check`: the binary, the policy modules `make policies` built, and
//! the examples' GitOps repository.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn policies_dir() -> PathBuf {
    std::env::var_os("SCALEGUARD_POLICIES_DIR")
        .map_or_else(|| workspace().join("target/policies"), PathBuf::from)
}

/// Runs `scaleguard check args` in `directory`, feeding `stdin`.
fn check_in(directory: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_scaleguard"))
        .arg("check")
        .args(args)
        .arg("--policies")
        .arg(policies_dir())
        .arg("--no-module-cache")
        .current_dir(directory)
        .env_remove("SCALEGUARD_POLICIES_DIR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
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

fn check(args: &[&str]) -> Output {
    check_in(&workspace(), args, "")
}

fn json_report(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// `(file, index, line, kind, name, policy, allowed, code)` of a finding.
type Finding = (String, u64, u64, String, String, String, bool, Value);

/// Each finding (denied or warned) of a JSON report.
fn findings(report: &Value) -> Vec<Finding> {
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["allowed"] == false || !r["warnings"].as_array().unwrap().is_empty())
        .map(|r| {
            (
                r["file"].as_str().unwrap().to_owned(),
                r["index"].as_u64().unwrap(),
                r["line"].as_u64().unwrap(),
                r["kind"].as_str().unwrap().to_owned(),
                r["name"].as_str().unwrap().to_owned(),
                r["policy"].as_str().unwrap().to_owned(),
                r["allowed"].as_bool().unwrap(),
                r["code"].clone(),
            )
        })
        .collect()
}

#[test]
fn the_example_repository_shows_exactly_its_planted_mistakes() {
    let output = check(&["examples/gitops", "--output", "json"]);
    assert_eq!(output.status.code(), Some(1), "denials exit 1");
    let report = json_report(&output);
    let chat = "examples/gitops/apps/sglang-chat";
    let f = |file: &str, index, line, kind: &str, name: &str, policy: &str, allowed, code| {
        (
            file.to_owned(),
            index,
            line,
            kind.to_owned(),
            name.to_owned(),
            policy.to_owned(),
            allowed,
            code,
        )
    };
    let (hpa, so, dgd) = (
        "HorizontalPodAutoscaler",
        "ScaledObject",
        "DynamoGraphDeployment",
    );
    let (llama, qwen) = (
        "examples/gitops/apps/llama-disagg",
        "examples/gitops/apps/qwen-engines",
    );
    assert_eq!(
        findings(&report),
        [
            // v1beta1: an HPA on the decode adapter the Planner scales, with a metric filter copied
            // from another deployment; the HPA is denied twice, and the Planner's DGD once
            f(
                &format!("{llama}/decode-hpa.yaml"),
                0,
                6,
                hpa,
                "llama-disagg-decode-hpa",
                "dynamo-adapter-target",
                false,
                json!(400)
            ),
            f(
                &format!("{llama}/decode-hpa.yaml"),
                0,
                6,
                hpa,
                "llama-disagg-decode-hpa",
                "dynamo-single-autoscaler",
                false,
                json!(403)
            ),
            f(
                &format!("{llama}/dgd.yaml"),
                0,
                4,
                dgd,
                "llama-disagg",
                "dynamo-single-autoscaler",
                false,
                json!(403)
            ),
            // v1beta1: a ScaledObject on a component-group member, which has no adapter of its own
            f(
                &format!("{qwen}/autoscalers.yaml"),
                1,
                23,
                so,
                "qwen-engines-decode-scaler",
                "dynamo-adapter-target",
                false,
                json!(400)
            ),
            // v1beta1: the replicas of an adapter-owned component group kept in Git
            f(
                &format!("{qwen}/dgd.yaml"),
                0,
                5,
                dgd,
                "qwen-engines",
                "gitops-replicas",
                true,
                Value::Null
            ),
            // two autoscalers on sglang-chat-decode: each is denied for the other
            f(
                &format!("{chat}/autoscalers.yaml"),
                0,
                3,
                so,
                "sglang-chat-decode-scaler",
                "dynamo-single-autoscaler",
                false,
                json!(403)
            ),
            f(
                &format!("{chat}/autoscalers.yaml"),
                1,
                24,
                hpa,
                "sglang-chat-decode-hpa",
                "dynamo-single-autoscaler",
                false,
                json!(403)
            ),
            // a ScaledObject without minReplicaCount
            f(
                &format!("{chat}/autoscalers.yaml"),
                2,
                46,
                so,
                "sglang-chat-frontend-scaler",
                "dynamo-autoscaler-bounds",
                false,
                json!(400)
            ),
            // the deprecated autoscaling field, and replicas on an adapter-owned service
            f(
                &format!("{chat}/dgd.yaml"),
                0,
                2,
                dgd,
                "sglang-chat",
                "dynamo-deprecated-autoscaling",
                true,
                Value::Null
            ),
            f(
                &format!("{chat}/dgd.yaml"),
                0,
                2,
                dgd,
                "sglang-chat",
                "gitops-replicas",
                true,
                Value::Null
            ),
            // an HPA on an adapter the Planner scales: the HPA and the Planner's DGD
            f(
                "examples/gitops/apps/vllm-disagg/decode-hpa.yaml",
                0,
                3,
                hpa,
                "vllm-disagg-decode-hpa",
                "dynamo-single-autoscaler",
                false,
                json!(403)
            ),
            f(
                "examples/gitops/apps/vllm-disagg/dgd.yaml",
                0,
                3,
                dgd,
                "vllm-disagg",
                "dynamo-single-autoscaler",
                false,
                json!(403)
            ),
        ]
    );
    let messages: Vec<&str> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["message"].as_str())
        .collect();
    assert!(messages[0].contains(
        "selects dynamo_namespace=default-sglang-agg, but component Frontend of DynamoGraphDeployment llama-disagg emits dynamo_namespace=\"inference-llama-disagg\""
    ));
    assert!(
        messages[1]
            .contains("already scaled by the Dynamo Planner of DynamoGraphDeployment llama-disagg")
    );
    assert!(messages[3].contains(
        "component decode of DynamoGraphDeployment qwen-engines belongs to component group Engines and has no adapter of its own; target the group's adapter qwen-engines-engines"
    ));
    assert!(
        messages[4].contains("already scaled by HorizontalPodAutoscaler sglang-chat-decode-hpa")
    );
    assert!(messages[6].contains("lets KEDA scale to zero"));
    assert!(
        messages[7]
            .contains("already scaled by the Dynamo Planner of DynamoGraphDeployment vllm-disagg")
    );
    assert_eq!(
        report["summary"],
        json!({"files": 10, "documents": 14, "evaluations": 39, "denied": 9, "warned": 3,
            "mutated": 0, "errors": 0})
    );
}

#[test]
fn the_clean_deployment_passes_and_strict_fails_on_warnings() {
    let output = check(&["examples/gitops/apps/sglang-agg"]);
    assert_eq!(output.status.code(), Some(0));
    let text = String::from_utf8(output.stdout).unwrap();
    assert_eq!(
        text,
        "3 objects in 2 files, 8 evaluations: 0 denied, 0 with warnings, 0 patches\n"
    );
    let dgd = "examples/gitops/apps/sglang-chat/dgd.yaml";
    assert_eq!(check(&[dgd]).status.code(), Some(0), "warnings alone pass");
    assert_eq!(check(&[dgd, "--strict"]).status.code(), Some(1));
}

#[test]
fn json_records_follow_the_documented_schema() {
    let report = json_report(&check(&[
        "examples/gitops/apps/sglang-chat/dgd.yaml",
        "-o",
        "json",
    ]));
    let keys =
        |value: &Value| -> Vec<String> { value.as_object().unwrap().keys().cloned().collect() };
    assert_eq!(
        keys(&report),
        ["errors", "results", "schemaVersion", "summary"]
    );
    assert_eq!(report["schemaVersion"], 1);
    let record = &report["results"][0];
    let mut expected = [
        "file",
        "index",
        "line",
        "apiVersion",
        "kind",
        "namespace",
        "name",
        "policy",
        "operation",
        "allowed",
        "code",
        "message",
        "warnings",
        "patch",
    ]
    .map(str::to_owned)
    .to_vec();
    expected.sort();
    assert_eq!(keys(record), expected);
    assert_eq!(record["namespace"], "chat");
    assert_eq!(record["operation"], "CREATE");
}

#[test]
fn a_broken_document_is_an_input_error_and_the_rest_is_checked() {
    let repository = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(
        workspace().join("examples/gitops/apps/sglang-chat/autoscalers.yaml"),
    )
    .unwrap();
    let broken = text.replacen(
        "---\n",
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: [x\n---\n",
        1,
    );
    std::fs::write(repository.path().join("autoscalers.yaml"), broken).unwrap();
    let output = check_in(repository.path(), &[".", "-o", "json"], "");
    assert_eq!(
        output.status.code(),
        Some(2),
        "input errors exit 2 even with denials"
    );
    let report = json_report(&output);
    assert_eq!(report["errors"].as_array().unwrap().len(), 1);
    let error = &report["errors"][0];
    assert_eq!(error["file"], "./autoscalers.yaml");
    assert_eq!(
        (error["index"].clone(), error["line"].clone()),
        (json!(1), json!(25))
    );
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .starts_with("invalid YAML: ")
    );
    let checked: Vec<(u64, &str)> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["policy"] == "dynamo-single-autoscaler")
        .map(|r| (r["index"].as_u64().unwrap(), r["name"].as_str().unwrap()))
        .collect();
    assert_eq!(
        checked,
        [
            (0, "sglang-chat-decode-scaler"),
            (2, "sglang-chat-decode-hpa"),
            (3, "sglang-chat-frontend-scaler")
        ]
    );
    let human = String::from_utf8(check_in(repository.path(), &["."], "").stdout).unwrap();
    assert!(
        human.contains("  #1 line 25 error invalid YAML: "),
        "{human}"
    );
}

#[test]
fn stdin_is_read_with_dash() {
    let text =
        std::fs::read_to_string(workspace().join("examples/gitops/apps/sglang-chat/dgd.yaml"))
            .unwrap();
    let output = check_in(
        &workspace(),
        &["-", "-o", "json", "--namespace", "x"],
        &text,
    );
    assert_eq!(output.status.code(), Some(0));
    let report = json_report(&output);
    assert_eq!(report["results"][0]["file"], "-");
    assert_eq!(
        report["results"][0]["namespace"], "chat",
        "the object's own namespace wins"
    );
    assert_eq!(report["summary"]["warned"], 2);
}

fn git(directory: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .current_dir(directory)
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?}");
}

#[test]
fn against_a_git_ref_edits_of_adapter_owned_replicas_are_updates_and_denied() {
    let repository = tempfile::tempdir().unwrap();
    let dgd = |replicas: u32| {
        format!(
            "apiVersion: nvidia.com/v1alpha1\nkind: DynamoGraphDeployment\nmetadata:\n  name: sglang-agg\nspec:\n  services:\n    decode:\n      replicas: {replicas}\n      scalingAdapter:\n        enabled: true\n"
        )
    };
    let file = repository.path().join("apps/dgd.yaml");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, dgd(1)).unwrap();
    git(repository.path(), &["init", "-q", "-b", "main"]);
    git(repository.path(), &["add", "."]);
    git(repository.path(), &["commit", "-q", "-m", "decode"]);
    std::fs::write(&file, dgd(3)).unwrap();

    let output = check_in(
        repository.path(),
        &["apps", "--against", "main", "-o", "json"],
        "",
    );
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report = json_report(&output);
    let ownership = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["policy"] == "dynamo-replica-ownership")
        .expect("the UPDATE reaches dynamo-replica-ownership");
    assert_eq!(ownership["operation"], "UPDATE");
    assert_eq!(ownership["allowed"], false);
    assert_eq!(
        ownership["message"],
        "spec.services[decode].replicas cannot be modified directly when scaling adapter is enabled; use 'kubectl scale dgdsa/sglang-agg-decode --replicas=3' or update the DynamoGraphDeploymentScalingAdapter instead"
    );

    let authorized = check_in(
        repository.path(),
        &[
            "apps",
            "--against",
            "main",
            "--user",
            "system:serviceaccount:default:planner-serviceaccount",
            "-o",
            "json",
        ],
        "",
    );
    assert_eq!(authorized.status.code(), Some(0), "the Planner may scale");
    let created = check_in(repository.path(), &["apps", "-o", "json"], "");
    assert_eq!(
        created.status.code(),
        Some(0),
        "without --against it is a CREATE"
    );
    assert!(
        !json_report(&created)["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["policy"] == "dynamo-replica-ownership"),
        "the policy's rules select UPDATEs only"
    );
    let missing = check_in(repository.path(), &["apps", "--against", "no-such-ref"], "");
    assert_eq!(missing.status.code(), Some(2));
}

/// A base in v1alpha1 and a head migrated to v1beta1 pair up as one object, and the head is read as
/// kubectl reads it: the merge key applied and `5.0` an integer. The 1 -> 5 edit is denied.
#[test]
fn against_pairs_versions_and_reads_yaml_as_kubectl_does() {
    let repository = tempfile::tempdir().unwrap();
    let file = repository.path().join("apps/dgd.yaml");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(
        &file,
        "apiVersion: nvidia.com/v1alpha1\nkind: DynamoGraphDeployment\nmetadata:\n  name: sglang-agg\nspec:\n  services:\n    decode:\n      replicas: 1\n      scalingAdapter:\n        enabled: true\n",
    )
    .unwrap();
    git(repository.path(), &["init", "-q", "-b", "main"]);
    git(repository.path(), &["add", "."]);
    git(repository.path(), &["commit", "-q", "-m", "decode"]);
    std::fs::write(
        &file,
        "apiVersion: nvidia.com/v1beta1\nkind: DynamoGraphDeployment\nmetadata:\n  name: sglang-agg\nspec:\n  components:\n    - name: decode\n      scalingAdapter: {}\n      <<: {replicas: 5.0}\n",
    )
    .unwrap();
    let output = check_in(
        repository.path(),
        &["apps", "--against", "main", "-o", "json"],
        "",
    );
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report = json_report(&output);
    let ownership = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["policy"] == "dynamo-replica-ownership")
        .expect("the UPDATE reaches dynamo-replica-ownership");
    assert_eq!(ownership["operation"], "UPDATE");
    assert_eq!(
        ownership["message"],
        "spec.components[decode].replicas cannot be modified directly when scaling adapter is enabled; use 'kubectl scale dgdsa/sglang-agg-decode --replicas=5' or update the DynamoGraphDeploymentScalingAdapter instead"
    );
}

/// A pull request that raises a component's GPUs under an unchanged HPA breaks the GPU budget: the
/// HPA's violation is new, because its stored version is judged in the tree at the base, not in the new one.
#[test]
fn against_judges_the_base_in_the_base_tree() {
    let repository = tempfile::tempdir().unwrap();
    let apps = repository.path().join("apps");
    std::fs::create_dir_all(&apps).unwrap();
    let dgd = |gpus: u32| {
        format!(
            "apiVersion: nvidia.com/v1beta1\nkind: DynamoGraphDeployment\nmetadata: {{name: sglang-agg}}\nspec:\n  components:\n    - name: decode\n      scalingAdapter: {{}}\n      podTemplate: {{spec: {{containers: [{{name: main, resources: {{limits: {{nvidia.com/gpu: \"{gpus}\"}}}}}}]}}}}\n"
        )
    };
    std::fs::write(apps.join("dgd.yaml"), dgd(1)).unwrap();
    std::fs::write(
        apps.join("hpa.yaml"),
        "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: decode-hpa}\nspec:\n  scaleTargetRef: {apiVersion: nvidia.com/v1beta1, kind: DynamoGraphDeploymentScalingAdapter, name: sglang-agg-decode}\n  minReplicas: 1\n  maxReplicas: 10\n",
    )
    .unwrap();
    let settings = repository.path().join("bounds.yaml");
    std::fs::write(&settings, "maxGpusPerAdapter: 16\n").unwrap();
    git(repository.path(), &["init", "-q", "-b", "main"]);
    git(repository.path(), &["add", "."]);
    git(repository.path(), &["commit", "-q", "-m", "decode"]);
    let settings_arg = format!("dynamo-autoscaler-bounds={}", settings.display());
    let args = [
        "apps",
        "--against",
        "main",
        "--settings",
        settings_arg.as_str(),
        "-o",
        "json",
    ];
    let unchanged = check_in(repository.path(), &args, "");
    assert_eq!(unchanged.status.code(), Some(0), "10 × 1 GPU fits 16");
    std::fs::write(apps.join("dgd.yaml"), dgd(8)).unwrap();
    let output = check_in(repository.path(), &args, "");
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report = json_report(&output);
    let bounds = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| {
            r["policy"] == "dynamo-autoscaler-bounds" && r["kind"] == "HorizontalPodAutoscaler"
        })
        .expect("the HPA is reviewed");
    assert_eq!(bounds["allowed"], false, "{bounds}");
    assert_eq!(
        bounds["message"],
        "spec.maxReplicas (10) × 8 GPUs per replica of component decode of DynamoGraphDeployment sglang-agg is 80 GPUs, above maxGpusPerAdapter (16)"
    );
    assert_eq!(bounds["warnings"], json!([]));
}

/// The API server clears `metadata.deletionTimestamp` on CREATE: a manifest carrying it is judged.
#[test]
fn a_manifests_deletion_timestamp_switches_no_policy_off() {
    let hpa = "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: decode-hpa\n  deletionTimestamp: \"2026-01-01T00:00:00Z\"\nspec:\n  scaleTargetRef: {apiVersion: nvidia.com/v1beta1, kind: DynamoGraphDeploymentScalingAdapter, name: sglang-agg-decode}\n  minReplicas: 0\n  maxReplicas: 5000\n";
    let output = check_in(&workspace(), &["-", "-o", "json"], hpa);
    assert_eq!(output.status.code(), Some(1));
    let report = json_report(&output);
    let bounds = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["policy"] == "dynamo-autoscaler-bounds")
        .expect("the HPA reaches dynamo-autoscaler-bounds");
    assert_eq!(bounds["allowed"], false);
}

#[test]
fn junit_is_well_formed_xml_with_a_failure_per_denial() {
    let output = check(&["examples/gitops", "-o", "junit"]);
    assert_eq!(output.status.code(), Some(1));
    let mut reader = quick_xml::Reader::from_reader(output.stdout.as_slice());
    reader.config_mut().check_end_names = true;
    let (mut buffer, mut suites, mut cases, mut failures) = (Vec::new(), 0, 0, 0);
    loop {
        match reader
            .read_event_into(&mut buffer)
            .expect("well-formed XML")
        {
            quick_xml::events::Event::Eof => break,
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e) => {
                match e.name().as_ref() {
                    b"testsuite" => suites += 1,
                    b"testcase" => cases += 1,
                    b"failure" => failures += 1,
                    _ => {}
                }
            }
            _ => {}
        }
        buffer.clear();
    }
    assert_eq!((suites, cases, failures), (10, 39, 9));
}

#[test]
fn an_unannotated_module_is_refused() {
    let modules = tempfile::tempdir().unwrap();
    std::fs::write(modules.path().join("bare.wasm"), b"\0asm\x01\0\0\0").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_scaleguard"))
        .args(["check", "examples/gitops", "--policies"])
        .arg(modules.path())
        .current_dir(workspace())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr
            .starts_with("error: policy bare is not annotated: its io.kubewarden.metadata section"),
        "{stderr}"
    );
}

/// Files under `directory`, recursively.
fn files_under(directory: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(directory).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn a_module_compiled_once_is_loaded_from_the_module_cache() {
    let cache = tempfile::tempdir().unwrap();
    let module = policies_dir().join("dynamo-deprecated-autoscaling.wasm");
    scaleguard_host::use_module_cache(cache.path()).unwrap();
    scaleguard_host::PolicyModule::load(&module).unwrap();
    assert_eq!(scaleguard_host::module_cache_counts(), Some((0, 1)));
    assert!(!files_under(cache.path()).is_empty(), "nothing was stored");
    scaleguard_host::PolicyModule::load(&module).unwrap();
    assert_eq!(
        scaleguard_host::module_cache_counts(),
        Some((1, 1)),
        "the second load compiled again"
    );
    let late = scaleguard_host::use_module_cache(cache.path()).unwrap_err();
    assert!(
        late.to_string()
            .ends_with("the engine already runs: turn the cache on before loading a module"),
        "{late}"
    );
}

#[test]
fn check_stores_the_compiled_modules_for_the_next_run() {
    let cache = tempfile::tempdir().unwrap();
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_scaleguard"))
            .args(["check", "examples/gitops", "--output", "json", "--policies"])
            .arg(policies_dir())
            .arg("--module-cache")
            .arg(cache.path())
            .current_dir(workspace())
            .env_remove("SCALEGUARD_POLICIES_DIR")
            .output()
            .unwrap()
    };
    let first = run();
    let modules = std::fs::read_dir(policies_dir())
        .unwrap()
        .filter(|entry| entry.as_ref().unwrap().path().extension() == Some("wasm".as_ref()))
        .count();
    assert!(
        files_under(cache.path()).len() >= modules,
        "{modules} modules, cached: {:?}\nstderr: {}",
        files_under(cache.path()),
        String::from_utf8_lossy(&first.stderr)
    );
    let second = run();
    assert_eq!(first.status.code(), Some(1));
    assert_eq!(second.status.code(), Some(1));
    assert_eq!(json_report(&first), json_report(&second));
    assert!(
        second.stderr.is_empty() || !String::from_utf8_lossy(&second.stderr).contains("warning")
    );
}
