//! End-to-end tests of `scaleguard convert`: the example GitOps repository converted to
//! `nvidia.com/v1beta1` is judged as the original is.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use common::{built_modules_dir, workspace_root};

fn scaleguard(args: &[&str], directory: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_scaleguard"))
        .args(args)
        .current_dir(directory)
        .env_remove("SCALEGUARD_POLICIES_DIR")
        .output()
        .expect("the binary runs")
}

/// `(file, kind, name, policy, allowed, code)` of every finding of `scaleguard check` in `directory`.
fn findings(directory: &Path) -> Vec<(String, String, String, String, bool, Value)> {
    let policies = built_modules_dir();
    let output = scaleguard(
        &[
            "check",
            ".",
            "--output",
            "json",
            "--no-module-cache",
            "--policies",
            policies.to_str().unwrap(),
        ],
        directory,
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["allowed"] == false || !r["warnings"].as_array().unwrap().is_empty())
        .map(|r| {
            let text = |key: &str| r[key].as_str().unwrap().to_owned();
            (
                text("file"),
                text("kind"),
                text("name"),
                text("policy"),
                r["allowed"] == true,
                r["code"].clone(),
            )
        })
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn the_converted_repository_gets_the_same_findings() {
    let original = workspace_root().join("examples/gitops/apps");
    let copy = tempfile::tempdir().unwrap();
    copy_dir(&original, copy.path());
    let converted = scaleguard(
        &["convert", "--to", "v1beta1", "--in-place", "."],
        copy.path(),
    );
    assert!(
        converted.status.success(),
        "{}",
        String::from_utf8_lossy(&converted.stderr)
    );
    let stderr = String::from_utf8(converted.stderr).unwrap();
    // The deprecated fields have no v1beta1 field: convert reports each, so their finding goes with them.
    assert!(
        stderr.contains("spec.services[decode].autoscaling: autoscaling is deprecated and ignored, and has no v1beta1 field; left out"),
        "{stderr}"
    );
    for file in [
        "sglang-agg/dgd.yaml",
        "sglang-chat/dgd.yaml",
        "vllm-disagg/dgd.yaml",
    ] {
        let text = std::fs::read_to_string(copy.path().join(file)).unwrap();
        assert!(
            text.contains("apiVersion: nvidia.com/v1beta1"),
            "{file}: {text}"
        );
        assert!(!text.contains("services:"), "{file}: {text}");
    }
    let expected: Vec<_> = findings(&original)
        .into_iter()
        .filter(|finding| finding.3 != "dynamo-deprecated-autoscaling")
        .collect();
    assert!(expected.iter().any(|f| !f.4), "the example has denials");
    assert_eq!(findings(copy.path()), expected);
}

#[test]
fn stdin_is_converted_to_stdout_and_other_documents_are_kept() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_scaleguard"))
        .args(["convert", "--to", "v1alpha1", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let input = "kind: ConfigMap  # as is\napiVersion: v1\n---\napiVersion: nvidia.com/v1beta1\nkind: DynamoGraphDeployment\nmetadata: {name: d}\nspec: {components: [{name: decode, type: decode, scalingAdapter: {}}]}\n";
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), input.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "kind: ConfigMap  # as is\napiVersion: v1\n---\napiVersion: nvidia.com/v1alpha1\nkind: DynamoGraphDeployment\nmetadata:\n  name: d\nspec:\n  services:\n    decode:\n      componentType: worker\n      scalingAdapter:\n        enabled: true\n      subComponentType: decode\n"
    );
}
