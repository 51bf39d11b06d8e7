//! End-to-end tests of `scaleguard check`: the binary, the policy modules `make policies` built, and
//! the examples' GitOps repository.

mod common;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

use common::{modules_dir, workspace_root};

/// Runs `scaleguard check args` in `directory`, feeding `stdin`.
fn check_in(directory: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_scaleguard"))
        .arg("check")
        .args(args)
        .arg("--policies")
        .arg(modules_dir())
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
    check_in(&workspace_root(), args, "")
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
        json!({"files": 10, "documents": 14, "evaluations": 44, "denied": 9, "warned": 3,
            "mutated": 0, "errors": 0, "skipped": 0})
    );
}

#[test]
fn the_clean_deployment_passes_and_strict_fails_on_warnings() {
    let output = check(&["examples/gitops/apps/sglang-agg"]);
    assert_eq!(output.status.code(), Some(0));
    let text = String::from_utf8(output.stdout).unwrap();
    assert_eq!(
        text,
        "3 objects in 2 files, 9 evaluations: 0 denied, 0 with warnings, 0 patches\n"
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
        ["errors", "results", "schemaVersion", "skipped", "summary"]
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
        workspace_root().join("examples/gitops/apps/sglang-chat/autoscalers.yaml"),
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
        std::fs::read_to_string(workspace_root().join("examples/gitops/apps/sglang-chat/dgd.yaml"))
            .unwrap();
    let output = check_in(
        &workspace_root(),
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

/// The base is read as the working tree is: a DGD in an ignored folder at the ref is no object of the
/// base, so the same DGD moved into `apps/` is a CREATE (the ownership policy reviews UPDATEs only),
/// whether `.scaleguardignore`, `.gitignore` or `--exclude` leaves the folder out. Left in, it pairs as
/// an UPDATE of its replicas, denied.
#[test]
fn against_leaves_out_of_the_base_what_the_working_tree_leaves_out() {
    let repository = tempfile::tempdir().unwrap();
    let dgd = |replicas: u32| {
        format!(
            "apiVersion: nvidia.com/v1alpha1\nkind: DynamoGraphDeployment\nmetadata:\n  name: sglang-agg\nspec:\n  services:\n    decode:\n      replicas: {replicas}\n      scalingAdapter:\n        enabled: true\n"
        )
    };
    write_tree(
        repository.path(),
        &[
            ("drafts/dgd.yaml", &dgd(1)),
            (".scaleguardignore", "drafts/\n"),
        ],
    );
    git(repository.path(), &["init", "-q", "-b", "main"]);
    git(repository.path(), &["add", "."]);
    git(repository.path(), &["commit", "-q", "-m", "draft"]);
    write_tree(repository.path(), &[("apps/dgd.yaml", &dgd(3))]);
    // The exit code, and `(file, operation, replica-ownership's decision)` of each evaluation.
    let outcome = |args: &[&str]| {
        let output = check_in(
            repository.path(),
            &[&[".", "--against", "main", "-o", "json"], args].concat(),
            "",
        );
        let mut evaluations: Vec<(String, String, Option<bool>)> = json_report(&output)["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["file"].as_str().unwrap().to_owned(),
                    r["operation"].as_str().unwrap().to_owned(),
                    (r["policy"] == "dynamo-replica-ownership").then(|| r["allowed"] == true),
                )
            })
            .collect();
        evaluations.dedup();
        (output.status.code(), evaluations)
    };
    let created = || {
        (
            Some(0),
            vec![("./apps/dgd.yaml".to_owned(), "CREATE".to_owned(), None)],
        )
    };
    assert_eq!(outcome(&[]), created(), ".scaleguardignore");

    std::fs::rename(
        repository.path().join(".scaleguardignore"),
        repository.path().join(".gitignore"),
    )
    .unwrap();
    assert_eq!(outcome(&[]), created(), ".gitignore");

    std::fs::remove_file(repository.path().join(".gitignore")).unwrap();
    assert_eq!(outcome(&["--exclude", "drafts"]), created(), "--exclude");

    assert_eq!(
        outcome(&[]),
        (
            Some(1),
            vec![
                ("./apps/dgd.yaml".to_owned(), "UPDATE".to_owned(), None),
                (
                    "./apps/dgd.yaml".to_owned(),
                    "UPDATE".to_owned(),
                    Some(false)
                ),
                ("./apps/dgd.yaml".to_owned(), "UPDATE".to_owned(), None),
                ("./drafts/dgd.yaml".to_owned(), "UPDATE".to_owned(), None),
                (
                    "./drafts/dgd.yaml".to_owned(),
                    "UPDATE".to_owned(),
                    Some(true)
                ),
                ("./drafts/dgd.yaml".to_owned(), "UPDATE".to_owned(), None),
            ]
        ),
        "nothing left out"
    );
}

/// The API server clears `metadata.deletionTimestamp` on CREATE: a manifest carrying it is judged.
#[test]
fn a_manifests_deletion_timestamp_switches_no_policy_off() {
    let hpa = "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: decode-hpa\n  deletionTimestamp: \"2026-01-01T00:00:00Z\"\nspec:\n  scaleTargetRef: {apiVersion: nvidia.com/v1beta1, kind: DynamoGraphDeploymentScalingAdapter, name: sglang-agg-decode}\n  minReplicas: 0\n  maxReplicas: 5000\n";
    let output = check_in(&workspace_root(), &["-", "-o", "json"], hpa);
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
    assert_eq!((suites, cases, failures), (10, 44, 9));
}

/// Runs `scaleguard check` on a copy of sglang-chat's autoscalers with a broken document inserted
/// (document #1, line 25) and the report format `output`.
fn check_broken_repository(output: &str) -> Output {
    let repository = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(
        workspace_root().join("examples/gitops/apps/sglang-chat/autoscalers.yaml"),
    )
    .unwrap();
    let broken = text.replacen(
        "---\n",
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: [x\n---\n",
        1,
    );
    std::fs::write(repository.path().join("autoscalers.yaml"), broken).unwrap();
    check_in(repository.path(), &[".", "-o", output], "")
}

/// `(ruleId, level, uri, startLine)` of each result of a SARIF log.
fn sarif_results(log: &Value) -> Vec<(String, String, String, u64)> {
    log["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|result| {
            let location = &result["locations"][0]["physicalLocation"];
            assert_eq!(location["artifactLocation"]["uriBaseId"], "%SRCROOT%");
            (
                result["ruleId"].as_str().unwrap().to_owned(),
                result["level"].as_str().unwrap().to_owned(),
                location["artifactLocation"]["uri"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
                location["region"]["startLine"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// The SARIF log on stdout, checked against the SARIF 2.1.0 schema of OASIS (`tests/data/README.md`).
fn valid_sarif(output: &Output) -> Value {
    let log = json_report(output);
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sarif-schema-2.1.0.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::draft4::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&log)
        .map(|error| format!("{}: {error}", error.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "not valid SARIF 2.1.0:\n{}",
        errors.join("\n")
    );
    let mut other_version = log.clone();
    other_version["version"] = json!("2.0.0");
    assert!(
        !validator.is_valid(&other_version),
        "the schema refuses what is not SARIF 2.1.0"
    );
    log
}

#[test]
fn sarif_is_valid_and_places_each_planted_mistake_on_its_line() {
    let output = check(&["examples/gitops", "--output", "sarif"]);
    assert_eq!(output.status.code(), Some(1), "denials exit 1");
    let log = valid_sarif(&output);
    let driver = &log["runs"][0]["tool"]["driver"];
    assert_eq!(
        (
            &driver["name"],
            &driver["version"],
            &driver["informationUri"]
        ),
        (
            &json!("scaleguard"),
            &json!(env!("CARGO_PKG_VERSION")),
            &json!("https://github.com/scaleguard/scaleguard")
        )
    );
    let rules = driver["rules"].as_array().unwrap();
    let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    let mut expected_ids = common::policy_names();
    expected_ids.extend(["gitops-replicas".to_owned(), "input-error".to_owned()]);
    assert_eq!(ids, expected_ids);
    for (rule, policy) in rules.iter().zip(common::policy_names()) {
        let metadata = common::source_metadata(&policy);
        let readme =
            std::fs::read_to_string(common::policy_dir(&policy).join("README.md")).unwrap();
        assert_eq!(
            rule["shortDescription"]["text"].as_str(),
            metadata.annotation("io.kubewarden.policy.description"),
            "{policy}"
        );
        assert_eq!(rule["help"]["markdown"], readme, "{policy}");
        assert_eq!(rule["help"]["text"], readme, "{policy}");
        assert_eq!(
            rule["helpUri"].as_str(),
            metadata.annotation("io.kubewarden.policy.url"),
            "{policy}"
        );
        assert_eq!(rule["defaultConfiguration"]["level"], "error");
    }
    assert_eq!(
        rules[5]["defaultConfiguration"]["level"], "warning",
        "the hint warns"
    );

    let (llama, qwen, chat, vllm) = (
        "examples/gitops/apps/llama-disagg",
        "examples/gitops/apps/qwen-engines",
        "examples/gitops/apps/sglang-chat",
        "examples/gitops/apps/vllm-disagg",
    );
    let r =
        |rule: &str, level: &str, uri: String, line| (rule.to_owned(), level.to_owned(), uri, line);
    assert_eq!(
        sarif_results(&log),
        [
            // spec.metrics[0].external.metric.selector
            r(
                "dynamo-adapter-target",
                "error",
                format!("{llama}/decode-hpa.yaml"),
                23
            ),
            r(
                "dynamo-single-autoscaler",
                "error",
                format!("{llama}/decode-hpa.yaml"),
                6
            ),
            r(
                "dynamo-single-autoscaler",
                "error",
                format!("{llama}/dgd.yaml"),
                4
            ),
            // spec.scaleTargetRef.name
            r(
                "dynamo-adapter-target",
                "error",
                format!("{qwen}/autoscalers.yaml"),
                32
            ),
            // spec.experimental.componentGroups[Engines].replicas: the list item named Engines
            r("gitops-replicas", "warning", format!("{qwen}/dgd.yaml"), 35),
            r(
                "dynamo-single-autoscaler",
                "error",
                format!("{chat}/autoscalers.yaml"),
                3
            ),
            r(
                "dynamo-single-autoscaler",
                "error",
                format!("{chat}/autoscalers.yaml"),
                24
            ),
            // spec.minReplicaCount is not set: the document's line
            r(
                "dynamo-autoscaler-bounds",
                "error",
                format!("{chat}/autoscalers.yaml"),
                46
            ),
            // spec.services[decode].autoscaling and .replicas: the map key decode
            r(
                "dynamo-deprecated-autoscaling",
                "warning",
                format!("{chat}/dgd.yaml"),
                22
            ),
            r("gitops-replicas", "warning", format!("{chat}/dgd.yaml"), 17),
            r(
                "dynamo-single-autoscaler",
                "error",
                format!("{vllm}/decode-hpa.yaml"),
                3
            ),
            r(
                "dynamo-single-autoscaler",
                "error",
                format!("{vllm}/dgd.yaml"),
                3
            ),
        ]
    );
    let results = log["runs"][0]["results"].as_array().unwrap();
    assert_eq!(
        results[3]["message"]["text"],
        "ScaledObject inference/qwen-engines-decode-scaler: spec.scaleTargetRef.name: DynamoGraphDeploymentScalingAdapter inference/qwen-engines-decode does not exist, because component decode of DynamoGraphDeployment qwen-engines belongs to component group Engines and has no adapter of its own; target the group's adapter qwen-engines-engines"
    );
    for result in results {
        let rule = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[rule]["id"], result["ruleId"]);
    }
    let mut fingerprints: Vec<&str> = results
        .iter()
        .map(|r| {
            r["partialFingerprints"]["scaleguardFinding/v1"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert!(fingerprints.iter().all(|f| f.len() == 64));
    fingerprints.sort_unstable();
    fingerprints.dedup();
    assert_eq!(
        fingerprints.len(),
        results.len(),
        "one fingerprint per result"
    );
    let again = json_report(&check(&["examples/gitops", "--output", "sarif"]));
    assert_eq!(
        again, log,
        "the same log, fingerprints included, run after run"
    );
}

#[test]
fn input_errors_are_sarif_results_and_annotations_and_exit_2() {
    let output = check_broken_repository("sarif");
    assert_eq!(
        output.status.code(),
        Some(2),
        "input errors exit 2 even with denials"
    );
    let log = valid_sarif(&output);
    let results = sarif_results(&log);
    let r = |rule: &str, level: &str, line| {
        (
            rule.to_owned(),
            level.to_owned(),
            "autoscalers.yaml".to_owned(),
            line,
        )
    };
    // Without the DGD, dynamo-adapter-target warns that each adapter does not exist, at
    // spec.scaleTargetRef.name; the other findings are at their documents.
    assert_eq!(
        results,
        [
            r("dynamo-adapter-target", "warning", 12),
            r("dynamo-single-autoscaler", "error", 3),
            r("input-error", "error", 25),
            r("dynamo-adapter-target", "warning", 37),
            r("dynamo-single-autoscaler", "error", 28),
            r("dynamo-adapter-target", "warning", 64),
            r("dynamo-autoscaler-bounds", "error", 50),
        ]
    );
    let message = log["runs"][0]["results"][2]["message"]["text"]
        .as_str()
        .unwrap();
    assert!(message.starts_with("invalid YAML: "), "{message}");

    let output = check_broken_repository("github");
    assert_eq!(output.status.code(), Some(2));
    let text = stdout(&output);
    let commands: Vec<&str> = text.lines().collect();
    assert_eq!(commands.len(), 7, "{text}");
    assert!(
        commands[2]
            .starts_with("::error file=autoscalers.yaml,line=25,title=input-error::invalid YAML: "),
        "{}",
        commands[2]
    );
}

#[test]
fn github_output_is_one_workflow_command_per_finding() {
    let output = check(&["examples/gitops", "--output", "github"]);
    assert_eq!(output.status.code(), Some(1), "denials exit 1");
    let expected = [
        "::error file=examples/gitops/apps/llama-disagg/decode-hpa.yaml,line=23,title=dynamo-adapter-target::HorizontalPodAutoscaler inference/llama-disagg-decode-hpa: spec.metrics[0].external.metric.selector: dynamo_frontend_queued_requests selects dynamo_namespace=default-sglang-agg, but component Frontend of DynamoGraphDeployment llama-disagg emits dynamo_namespace=\"inference-llama-disagg\"",
        "::error file=examples/gitops/apps/llama-disagg/decode-hpa.yaml,line=6,title=dynamo-single-autoscaler::HorizontalPodAutoscaler inference/llama-disagg-decode-hpa: DynamoGraphDeploymentScalingAdapter inference/llama-disagg-decode is already scaled by the Dynamo Planner of DynamoGraphDeployment llama-disagg; use one autoscaler per adapter",
        "::error file=examples/gitops/apps/llama-disagg/dgd.yaml,line=4,title=dynamo-single-autoscaler::DynamoGraphDeployment inference/llama-disagg: DynamoGraphDeploymentScalingAdapter inference/llama-disagg-decode is already scaled by HorizontalPodAutoscaler llama-disagg-decode-hpa, and the Dynamo Planner of DynamoGraphDeployment llama-disagg would scale it too; use one autoscaler per adapter",
        "::error file=examples/gitops/apps/qwen-engines/autoscalers.yaml,line=32,title=dynamo-adapter-target::ScaledObject inference/qwen-engines-decode-scaler: spec.scaleTargetRef.name: DynamoGraphDeploymentScalingAdapter inference/qwen-engines-decode does not exist, because component decode of DynamoGraphDeployment qwen-engines belongs to component group Engines and has no adapter of its own; target the group's adapter qwen-engines-engines",
        "::warning file=examples/gitops/apps/qwen-engines/dgd.yaml,line=35,title=gitops-replicas::DynamoGraphDeployment inference/qwen-engines: spec.experimental.componentGroups[Engines].replicas is set to 1 while the component group's scaling adapter qwen-engines-engines is enabled: Argo CD or Flux would re-apply 1 over the autoscaler's value at every sync. Have the GitOps tool ignore it (Argo CD ignoreDifferences: jqPathExpressions: ['.spec.experimental.componentGroups[] | select(.name == \"Engines\") | .replicas'])",
        "::error file=examples/gitops/apps/sglang-chat/autoscalers.yaml,line=3,title=dynamo-single-autoscaler::ScaledObject chat/sglang-chat-decode-scaler: DynamoGraphDeploymentScalingAdapter chat/sglang-chat-decode is already scaled by HorizontalPodAutoscaler sglang-chat-decode-hpa; use one autoscaler per adapter",
        "::error file=examples/gitops/apps/sglang-chat/autoscalers.yaml,line=24,title=dynamo-single-autoscaler::HorizontalPodAutoscaler chat/sglang-chat-decode-hpa: DynamoGraphDeploymentScalingAdapter chat/sglang-chat-decode is already scaled by ScaledObject sglang-chat-decode-scaler; use one autoscaler per adapter",
        "::error file=examples/gitops/apps/sglang-chat/autoscalers.yaml,line=46,title=dynamo-autoscaler-bounds::ScaledObject chat/sglang-chat-frontend-scaler: spec.minReplicaCount (not set, so 0) lets KEDA scale to zero: Dynamo workers at zero replicas drop the model from the frontend (allowScaleToZero: true allows it)",
        "::warning file=examples/gitops/apps/sglang-chat/dgd.yaml,line=22,title=dynamo-deprecated-autoscaling::DynamoGraphDeployment chat/sglang-chat: spec.services[decode].autoscaling is deprecated and ignored. Use DynamoGraphDeploymentScalingAdapter with HPA, KEDA, or Planner for autoscaling instead.",
        "::warning file=examples/gitops/apps/sglang-chat/dgd.yaml,line=17,title=gitops-replicas::DynamoGraphDeployment chat/sglang-chat: spec.services[decode].replicas is set to 2 while the service's scaling adapter sglang-chat-decode is enabled: Argo CD or Flux would re-apply 2 over the autoscaler's value at every sync. Omit the field (the adapter starts from it once, absent means 1) or have the GitOps tool ignore /spec/services/decode/replicas (Argo CD ignoreDifferences)",
        "::error file=examples/gitops/apps/vllm-disagg/decode-hpa.yaml,line=3,title=dynamo-single-autoscaler::HorizontalPodAutoscaler llm/vllm-disagg-decode-hpa: DynamoGraphDeploymentScalingAdapter llm/vllm-disagg-vllmdecodeworker is already scaled by the Dynamo Planner of DynamoGraphDeployment vllm-disagg; use one autoscaler per adapter",
        "::error file=examples/gitops/apps/vllm-disagg/dgd.yaml,line=3,title=dynamo-single-autoscaler::DynamoGraphDeployment llm/vllm-disagg: DynamoGraphDeploymentScalingAdapter llm/vllm-disagg-vllmdecodeworker is already scaled by HorizontalPodAutoscaler vllm-disagg-decode-hpa, and the Dynamo Planner of DynamoGraphDeployment vllm-disagg would scale it too; use one autoscaler per adapter",
    ];
    assert_eq!(
        stdout(&output),
        expected.map(|line| format!("{line}\n")).concat()
    );
}

#[test]
fn a_clean_repository_gives_no_result_and_exits_0() {
    let clean = "examples/gitops/apps/sglang-agg";
    let output = check(&[clean, "--output", "sarif"]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(valid_sarif(&output)["runs"][0]["results"], json!([]));
    let output = check(&[clean, "--output", "github"]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(stdout(&output), "");
}

#[test]
fn an_unannotated_module_is_refused() {
    let modules = tempfile::tempdir().unwrap();
    std::fs::write(modules.path().join("bare.wasm"), b"\0asm\x01\0\0\0").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_scaleguard"))
        .args(["check", "examples/gitops", "--policies"])
        .arg(modules.path())
        .current_dir(workspace_root())
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
    let module = modules_dir().join("dynamo-deprecated-autoscaling.wasm");
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
            .arg(modules_dir())
            .arg("--module-cache")
            .arg(cache.path())
            .current_dir(workspace_root())
            .env_remove("SCALEGUARD_POLICIES_DIR")
            .output()
            .unwrap()
    };
    let first = run();
    let modules = std::fs::read_dir(modules_dir())
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

/// Runs `scaleguard check` in `directory` with `args` only (no `--policies` added), `env` set.
fn check_raw(directory: &Path, args: &[&str], env: &[(&str, &Path)], stdin: &str) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_scaleguard"));
    command
        .arg("check")
        .args(args)
        .current_dir(directory)
        .env_remove("SCALEGUARD_POLICIES_DIR")
        .env_remove("SCALEGUARD_MODULE_CACHE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.spawn().expect("the binary runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

const KNOWN: &str = "dynamo-adapter-target, dynamo-autoscaler-bounds, dynamo-deprecated-autoscaling, \
                     dynamo-replica-ownership, dynamo-single-autoscaler, gitops-replicas";

/// A folder without modules, named by `--policies` or `$SCALEGUARD_POLICIES_DIR`, is a usage error: a
/// wrong path in CI must not pass everything.
#[test]
fn no_policy_modules_is_a_usage_error() {
    let empty = tempfile::tempdir().unwrap();
    let dir = empty.path().display().to_string();
    let expected = format!(
        "error: no policy modules (.wasm files) in {dir} (named by --policies or $SCALEGUARD_POLICIES_DIR): \
         run `make policies`, or name the folder the modules are in\n"
    );
    let flag = check_raw(
        &workspace_root(),
        &["examples/gitops", "--no-module-cache", "--policies", &dir],
        &[],
        "",
    );
    assert_eq!(
        (flag.status.code(), stderr(&flag)),
        (Some(2), expected.clone())
    );
    assert_eq!(stdout(&flag), "");
    let env = check_raw(
        &workspace_root(),
        &["examples/gitops", "--no-module-cache"],
        &[("SCALEGUARD_POLICIES_DIR", empty.path())],
        "",
    );
    assert_eq!((env.status.code(), stderr(&env)), (Some(2), expected));
    let missing = empty.path().join("nope");
    let wrong = check_raw(
        &workspace_root(),
        &["examples/gitops", "--no-module-cache"],
        &[("SCALEGUARD_POLICIES_DIR", &missing)],
        "",
    );
    assert_eq!(wrong.status.code(), Some(2));
    assert!(
        stderr(&wrong).starts_with(&format!(
            "error: cannot read policy directory {}: ",
            missing.display()
        )),
        "{}",
        stderr(&wrong)
    );
}

/// Skipping every policy, the hint included, leaves nothing to run.
#[test]
fn running_no_policy_is_a_usage_error_and_unknown_names_list_the_known() {
    let everything: Vec<String> = KNOWN
        .split(", ")
        .flat_map(|name| ["--skip".to_owned(), name.to_owned()])
        .collect();
    let mut args = vec!["examples/gitops"];
    args.extend(everything.iter().map(String::as_str));
    let output = check(&args);
    assert_eq!(
        (output.status.code(), stderr(&output)),
        (
            Some(2),
            "error: no policy to run: every policy was skipped\n".to_owned()
        )
    );
    let typo = check(&["examples/gitops", "--policy", "dynamo-single-autoscalr"]);
    assert_eq!(
        (typo.status.code(), stderr(&typo)),
        (
            Some(2),
            format!("error: --policy dynamo-single-autoscalr: no such policy (known: {KNOWN})\n")
        )
    );
    let skip = check(&["examples/gitops", "--skip", "gitops-replica"]);
    assert_eq!(
        stderr(&skip),
        format!("error: --skip gitops-replica: no such policy (known: {KNOWN})\n")
    );
}

/// An empty folder or empty stdin is nothing to check: exit 2, unless `--allow-empty`.
#[test]
fn nothing_to_check_fails_unless_allowed() {
    let empty = tempfile::tempdir().unwrap();
    let output = check_in(empty.path(), &["."], "");
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stderr(&output),
        "error: nothing to check: no Kubernetes object in . (pass --allow-empty to succeed anyway)\n"
    );
    assert_eq!(
        stdout(&output),
        "0 objects in 0 files, 0 evaluations: 0 denied, 0 with warnings, 0 patches\n"
    );
    let stdin = check_in(empty.path(), &["-"], "");
    assert_eq!(stdin.status.code(), Some(2));
    assert_eq!(
        stderr(&stdin),
        "error: nothing to check: no Kubernetes object in stdin (pass --allow-empty to succeed anyway)\n"
    );
    let allowed = check_in(empty.path(), &["-", "--allow-empty"], "");
    assert_eq!(
        (allowed.status.code(), stderr(&allowed)),
        (Some(0), String::new())
    );
    std::fs::write(empty.path().join("values.yaml"), "replicas: 2\n").unwrap();
    let only_values = check_in(empty.path(), &["."], "");
    assert_eq!(only_values.status.code(), Some(2));
    assert_eq!(
        stderr(&only_values),
        "error: nothing to check: no Kubernetes object in .; 1 document was skipped, -v lists it \
         (pass --allow-empty to succeed anyway)\n"
    );
}

/// Writes `files` (path, contents) under `root`.
fn write_tree(root: &Path, files: &[(&str, &str)]) {
    for (path, contents) in files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }
}

/// A GitOps repository as found in the wild: a chart, a Renovate config, docs, an Argo CD hook, an
/// ignore file. Its only findings are its planted violations (the vLLM deployment whose HPA fights
/// its Planner); the rest is skipped, left out, or checked clean.
fn gitops_fixture() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let example = |file: &str| {
        std::fs::read_to_string(
            workspace_root()
                .join("examples/gitops/apps/vllm-disagg")
                .join(file),
        )
        .unwrap()
    };
    let (dgd, hpa) = (example("dgd.yaml"), example("decode-hpa.yaml"));
    write_tree(
        root.path(),
        &[
            ("apps/vllm/dgd.yaml", &dgd),
            ("apps/vllm/decode-hpa.yaml", &hpa),
            (
                "apps/vllm/kustomization.yaml",
                "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [dgd.yaml, decode-hpa.yaml]\n",
            ),
            (
                "apps/vllm/presync-migrate.yaml",
                "apiVersion: batch/v1\nkind: Job\nmetadata:\n  generateName: vllm-migrate-\n  namespace: llm\n  annotations:\n    argocd.argoproj.io/hook: PreSync\n    argocd.argoproj.io/hook-delete-policy: HookSucceeded\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: migrate, image: busybox}]\n",
            ),
            (
                "charts/model/Chart.yaml",
                "apiVersion: v2\nname: model\ndescription: A Dynamo model\nversion: 0.1.0\n",
            ),
            (
                "charts/model/values.yaml",
                "replicas: 2\nimage:\n  repository: nvcr.io/nvidia/ai-dynamo/vllm-runtime\n  tag: 0.7.0\n",
            ),
            (
                "charts/model/values.schema.json",
                "{\"$schema\": \"https://json-schema.org/draft-07/schema\", \"type\": \"object\", \"properties\": {\"kind\": {\"type\": \"string\"}}}\n",
            ),
            (
                "charts/model/templates/dgd.yaml",
                "apiVersion: nvidia.com/v1alpha1\nkind: DynamoGraphDeployment\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  services:\n    decode:\n      replicas: {{ .Values.replicas }}\n      scalingAdapter: {enabled: true}\n",
            ),
            (
                "charts/model/templates/_helpers.tpl",
                "{{- define \"model.name\" -}}{{ .Chart.Name }}{{- end }}\n",
            ),
            (
                "renovate.json",
                "{\"$schema\": \"https://docs.renovatebot.com/renovate-schema.json\", \"extends\": [\"config:recommended\"]}\n",
            ),
            (
                "mkdocs.yml",
                "site_name: Inference platform\nnav:\n  - Home: index.md\nmarkdown_extensions:\n  - pymdownx.emoji:\n      emoji_index: !!python/name:material.extensions.emoji.twemoji\n",
            ),
            ("docs/index.md", "# Inference platform\n"),
            (
                ".github/workflows/ci.yaml",
                "on: [pull_request]\njobs:\n  check:\n    runs-on: ubuntu-latest\n    steps: [{run: \"echo ${{ github.sha }}\"}]\n",
            ),
            (
                "workflows/release.yaml",
                "name: release\non: {push: {tags: ['v*']}}\njobs: {build: {runs-on: ubuntu-latest, steps: [{run: \"echo ${{ github.ref }}\"}]}}\n",
            ),
            (
                ".scaleguardignore",
                "# drafts never reach a cluster\ndrafts/\n*.draft.yaml\n",
            ),
            (
                "drafts/broken.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [broken\n",
            ),
            (
                "apps/vllm/next.draft.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n",
            ),
        ],
    );
    root
}

#[test]
fn a_gitops_repository_shows_only_its_planted_violations() {
    let root = gitops_fixture();
    let output = check_in(root.path(), &[".", "-o", "json"], "");
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let report = json_report(&output);
    assert_eq!(report["errors"], json!([]));
    assert_eq!(
        findings(&report)
            .iter()
            .map(|f| (f.0.as_str(), f.3.as_str(), f.5.as_str(), f.6))
            .collect::<Vec<_>>(),
        [
            (
                "./apps/vllm/decode-hpa.yaml",
                "HorizontalPodAutoscaler",
                "dynamo-single-autoscaler",
                false
            ),
            (
                "./apps/vllm/dgd.yaml",
                "DynamoGraphDeployment",
                "dynamo-single-autoscaler",
                false
            ),
        ]
    );
    let skipped: Vec<(&str, &str)> = report["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["file"].as_str().unwrap(), s["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(
        skipped,
        [
            ("./charts/model/Chart.yaml", "not-kubernetes"),
            ("./charts/model/templates/dgd.yaml", "helm-template"),
            ("./charts/model/values.schema.json", "not-kubernetes"),
            ("./charts/model/values.yaml", "not-kubernetes"),
            ("./mkdocs.yml", "not-kubernetes"),
            ("./renovate.json", "not-kubernetes"),
            ("./workflows/release.yaml", "not-kubernetes"),
        ]
    );
    // The Argo CD hook is checked, under the prefix its name is generated from.
    let files: Vec<&str> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["file"].as_str().unwrap())
        .collect();
    assert!(!files.iter().any(|f| f.contains("draft")), "{files:?}");
    assert_eq!(report["summary"]["documents"], 3);
    assert_eq!(
        stderr(&output),
        "note: 1 Helm template skipped: check what they render with `helm template <release> <chart> | scaleguard check -`\n"
    );

    let human = check_in(root.path(), &["."], "");
    assert_eq!(human.status.code(), Some(1));
    let text = stdout(&human);
    assert!(
        text.starts_with("./apps/vllm/decode-hpa.yaml\n")
            && text.ends_with(
                ": 2 denied, 0 with warnings, 0 patches, 7 skipped (-v lists them)\n\
                 note: 1 Helm template skipped: check what they render with \
                 `helm template <release> <chart> | scaleguard check -`\n"
            ),
        "{text}"
    );
    assert!(text.contains("\n\n3 objects in 9 files, "), "{text}");
    let verbose = stdout(&check_in(root.path(), &[".", "-v"], ""));
    assert!(
        verbose.contains(
            "./mkdocs.yml\n  #0 line 1 skipped not a Kubernetes object (no apiVersion and kind)\n"
        ),
        "{verbose}"
    );
    assert!(
        verbose.contains("./charts/model/templates/dgd.yaml\n  skipped a Helm template\n"),
        "{verbose}"
    );
}

/// `--exclude` leaves paths out (gitignore syntax, repeatable); a file named on the command line is
/// read even when excluded; the ignore file's paths come back as input errors once it is gone.
#[test]
fn exclude_and_the_ignore_file_leave_paths_out() {
    let root = gitops_fixture();
    let output = check_in(
        root.path(),
        &[
            ".",
            "-o",
            "json",
            "--exclude",
            "apps/vllm/decode-hpa.yaml",
            "--exclude",
            "*.json",
        ],
        "",
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let report = json_report(&output);
    assert_eq!(report["summary"]["documents"], 2);
    assert_eq!(report["summary"]["denied"], 0, "the HPA is left out");
    let named = check_in(root.path(), &["drafts/broken.yaml", "-o", "json"], "");
    assert_eq!(named.status.code(), Some(2));
    assert_eq!(
        json_report(&named)["errors"][0]["file"],
        "drafts/broken.yaml",
        "a file named on the command line is read"
    );
    std::fs::remove_file(root.path().join(".scaleguardignore")).unwrap();
    let unignored = check_in(root.path(), &[".", "-o", "json"], "");
    assert_eq!(unignored.status.code(), Some(2));
    let errors: Vec<(String, String)> = json_report(&unignored)["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["file"].as_str().unwrap().to_owned(),
                e["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert_eq!(
        errors[0],
        (
            "./apps/vllm/next.draft.yaml".to_owned(),
            "metadata.name is missing (and there is no metadata.generateName)".to_owned()
        )
    );
    assert_eq!(errors[1].0, "./drafts/broken.yaml");
}

/// What claims to be an object stays an error, with positions counted from the start of the file.
#[test]
fn a_malformed_object_is_an_error_at_its_file_line() {
    let text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n# second\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n   bad: indent\n";
    let output = check_in(&workspace_root(), &["-", "-o", "json"], text);
    assert_eq!(output.status.code(), Some(2));
    let error = &json_report(&output)["errors"][0];
    assert_eq!(error["line"], 10);
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("at line 10 column"),
        "{error}"
    );
}

/// The GitOps hint is a policy like the others: selected, configured, skipped.
#[test]
fn the_gitops_hint_is_selected_configured_and_skipped_like_a_policy() {
    let dgd = "examples/gitops/apps/qwen-engines/dgd.yaml";
    let report = json_report(&check(&[dgd, "-o", "json", "--policy", "gitops-replicas"]));
    let policies: Vec<&str> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["policy"].as_str().unwrap())
        .collect();
    assert_eq!(policies, ["gitops-replicas"]);
    let denied = check(&[
        dgd,
        "-o",
        "json",
        "--settings",
        r#"gitops-replicas={"deny": true}"#,
    ]);
    assert_eq!(denied.status.code(), Some(1));
    let record = json_report(&denied)["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["policy"] == "gitops-replicas")
        .cloned()
        .unwrap();
    assert_eq!(
        (&record["allowed"], &record["code"]),
        (&json!(false), &json!(400))
    );
    let skipped = json_report(&check(&[dgd, "-o", "json", "--skip", "gitops-replicas"]));
    assert!(
        skipped["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["policy"] != "gitops-replicas")
    );
    let bad = check(&[dgd, "--settings", r#"gitops-replicas={"deny": 3}"#]);
    assert_eq!(
        (bad.status.code(), stderr(&bad)),
        (
            Some(2),
            "error: invalid settings:\n  policy gitops-replicas: invalid type: integer `3`, expected a boolean (its one setting is `deny`: true or false)\n".to_owned()
        )
    );
    let not_run = check(&[
        dgd,
        "--skip",
        "gitops-replicas",
        "--settings",
        r#"gitops-replicas={}"#,
    ]);
    assert_eq!(not_run.status.code(), Some(2));
    assert!(
        stderr(&not_run).starts_with("error: --settings gitops-replicas={}: policy gitops-replicas is not run (run: dynamo-adapter-target,"),
        "{}",
        stderr(&not_run)
    );
}

/// `--settings` takes a file or inline JSON; errors say what is wrong once, without Rust type names.
#[test]
fn settings_inline_or_from_a_file_and_their_errors_in_words() {
    let dgd = "examples/gitops/apps/sglang-chat";
    let inline = check(&[
        dgd,
        "-o",
        "json",
        "--settings",
        r#"dynamo-autoscaler-bounds={"allowScaleToZero": true}"#,
    ]);
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), "allowScaleToZero: true\n").unwrap();
    let from_file = check(&[
        dgd,
        "-o",
        "json",
        "--settings",
        &format!("dynamo-autoscaler-bounds={}", file.path().display()),
    ]);
    assert_eq!(json_report(&inline), json_report(&from_file));
    let bad = check(&[
        dgd,
        "--settings",
        r#"dynamo-autoscaler-bounds={"maxReplicasCeiling": "x"}"#,
    ]);
    assert_eq!(
        (bad.status.code(), stderr(&bad)),
        (
            Some(2),
            "error: invalid settings:\n  policy dynamo-autoscaler-bounds: maxReplicasCeiling: invalid type: string \"x\", expected a whole number (0 or more)\n".to_owned()
        )
    );
    let neither = check(&[dgd, "--settings", "dynamo-autoscaler-bounds=nope.yaml"]);
    assert_eq!(
        stderr(&neither),
        "error: --settings dynamo-autoscaler-bounds: nope.yaml: no such file, and not inline JSON (`{...}`)\n"
    );
}

/// `$SCALEGUARD_MODULE_CACHE` does not make `--no-module-cache` an error: the flag wins.
#[test]
fn no_module_cache_wins_over_the_environment() {
    let cache = tempfile::tempdir().unwrap();
    let output = check_raw(
        &workspace_root(),
        &["examples/gitops/apps/sglang-agg", "--no-module-cache"],
        &[
            ("SCALEGUARD_MODULE_CACHE", cache.path()),
            ("SCALEGUARD_POLICIES_DIR", &modules_dir()),
        ],
        "",
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(files_under(cache.path()).is_empty(), "no cache was written");
}

/// The pre-commit hook passes `.`: this repository's own non-Kubernetes YAML (metadata, test cases,
/// workflows, package.json) is skipped, not an input error.
#[test]
fn this_repository_checks_without_input_errors() {
    let output = check(&[".", "-o", "json"]);
    let report = json_report(&output);
    assert_eq!(report["errors"], json!([]), "{}", stderr(&output));
    assert_ne!(output.status.code(), Some(2));
}
