//! `scaleguard annotate` and `scaleguard inspect` end to end, and the embedded metadata read the way
//! Kubewarden reads it.

mod common;

use std::collections::BTreeMap;

use common::{
    custom_sections, expected_embedded_metadata, metadata_section, module_path, policy_dir,
    policy_names, scaleguard, source_metadata, unannotated_module_path,
};
use k8s_openapi::api::admissionregistration::v1::RuleWithOperations;
use kubewarden_policy_sdk::crd::policies::common::ContextAwareResource;
use kubewarden_policy_sdk::metadata::ProtocolVersion;
use scaleguard_metadata::{METADATA_SECTION, PolicyMetadata, USAGE_ANNOTATION};
use serde::Deserialize;

/// The fields Kubewarden's policy evaluator reads from the `io.kubewarden.metadata` section
/// (`policy_evaluator::policy_metadata::Metadata`, which is not on crates.io), typed with the SDK 0.17
/// and Kubernetes types it uses. Unknown fields are refused, so every field written is one Kubewarden
/// knows; all but the optional two are required, so every field kwctl writes is there.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct KubewardenMetadata {
    protocol_version: ProtocolVersion,
    rules: Vec<RuleWithOperations>,
    annotations: BTreeMap<String, String>,
    mutating: bool,
    background_audit: bool,
    execution_mode: String,
    policy_type: String,
    context_aware_resources: Vec<ContextAwareResource>,
    host_capabilities: Option<Vec<String>>,
    minimum_kubewarden_version: Option<String>,
}

#[test]
fn make_policies_writes_modules_annotated_with_the_current_metadata() {
    for policy in policy_names() {
        let module = std::fs::read(module_path(&policy)).unwrap();
        assert_eq!(
            PolicyMetadata::from_module(&module).unwrap(),
            Some(expected_embedded_metadata(&policy)),
            "{policy}: target/policies/{policy}.wasm is stale: run `make policies`"
        );
        assert_eq!(
            custom_sections(&module)
                .iter()
                .filter(|name| *name == METADATA_SECTION)
                .count(),
            1,
            "{policy}"
        );
    }
}

#[test]
fn kubewarden_reads_every_field_of_the_embedded_metadata() {
    for policy in policy_names() {
        let module = std::fs::read(module_path(&policy)).unwrap();
        let json = metadata_section(&module).expect("annotated");
        let read: KubewardenMetadata = serde_json::from_slice(&json)
            .unwrap_or_else(|e| panic!("{policy}: Kubewarden cannot read the metadata: {e}"));
        let source = source_metadata(&policy);
        assert_eq!(read.protocol_version, ProtocolVersion::V1, "{policy}");
        assert_eq!(read.execution_mode, "kubewarden-wapc", "{policy}");
        assert_eq!(read.policy_type, "kubernetes", "{policy}");
        assert_eq!(read.mutating, source.mutating, "{policy}");
        assert_eq!(read.background_audit, source.background_audit, "{policy}");
        assert_eq!(read.host_capabilities, source.host_capabilities, "{policy}");
        assert_eq!(read.minimum_kubewarden_version, None, "{policy}");
        assert_eq!(
            read.context_aware_resources
                .iter()
                .map(|r| scaleguard_sdk::ResourceKind::new(r.api_version.clone(), r.kind.clone()))
                .collect::<std::collections::BTreeSet<_>>(),
            source.granted(),
            "{policy}"
        );
        assert_eq!(read.rules.len(), source.rules.len(), "{policy}");
        for (read, source) in read.rules.iter().zip(&source.rules) {
            assert_eq!(read.api_groups.as_ref(), Some(&source.api_groups));
            assert_eq!(read.api_versions.as_ref(), Some(&source.api_versions));
            assert_eq!(read.resources.as_ref(), Some(&source.resources));
            let operations: Vec<String> = source.operations.iter().map(|o| o.to_string()).collect();
            assert_eq!(read.operations.as_ref(), Some(&operations));
        }
        let readme = std::fs::read_to_string(policy_dir(&policy).join("README.md")).unwrap();
        assert_eq!(
            read.annotations.get(USAGE_ANNOTATION),
            Some(&readme),
            "{policy}"
        );
        assert_eq!(
            read.annotations.get("io.kubewarden.policy.version"),
            source.annotations.get("io.kubewarden.policy.version"),
        );
    }
}

#[test]
fn annotate_then_inspect_a_fresh_module() {
    let policy = "dynamo-replica-ownership";
    let raw = std::fs::read(unannotated_module_path(policy)).unwrap();
    assert_eq!(PolicyMetadata::from_module(&raw).unwrap(), None);
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("annotated.wasm");
    let run = scaleguard([
        "annotate".as_ref(),
        unannotated_module_path(policy).as_os_str(),
        "--metadata-path".as_ref(),
        policy_dir(policy).join("metadata.yml").as_os_str(),
        "--output-path".as_ref(),
        output.as_os_str(),
    ]);
    assert!(run.success, "{}", run.stderr);
    let version = source_metadata(policy).version().unwrap().to_owned();
    assert_eq!(
        run.stdout,
        format!(
            "{}: {policy} {version} annotated (protocol v1, {} bytes)\n",
            output.display(),
            std::fs::metadata(&output).unwrap().len()
        )
    );
    let annotated = std::fs::read(&output).unwrap();
    assert_eq!(
        &annotated[..raw.len()],
        &raw[..],
        "the module itself is unchanged"
    );

    let json = scaleguard([
        "inspect".as_ref(),
        output.as_os_str(),
        "-o".as_ref(),
        "json".as_ref(),
    ]);
    assert!(json.success, "{}", json.stderr);
    let inspected: PolicyMetadata = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(inspected, expected_embedded_metadata(policy));

    let yaml = scaleguard(["inspect".as_ref(), output.as_os_str()]);
    assert!(yaml.success, "{}", yaml.stderr);
    let inspected: PolicyMetadata = serde_yaml_ng::from_str(&yaml.stdout).unwrap();
    assert_eq!(inspected, expected_embedded_metadata(policy));
    assert!(
        yaml.stdout.contains("protocolVersion: v1\n"),
        "{}",
        yaml.stdout
    );
}

#[test]
fn annotating_an_annotated_module_replaces_its_metadata() {
    let policy = "dynamo-deprecated-autoscaling";
    let dir = tempfile::tempdir().unwrap();
    let usage = dir.path().join("USAGE.md");
    std::fs::write(&usage, "# New usage\n").unwrap();
    let output = dir.path().join("again.wasm");
    let run = scaleguard([
        "annotate".as_ref(),
        module_path(policy).as_os_str(),
        "-m".as_ref(),
        policy_dir(policy).join("metadata.yml").as_os_str(),
        "-u".as_ref(),
        usage.as_os_str(),
        "-o".as_ref(),
        output.as_os_str(),
    ]);
    assert!(run.success, "{}", run.stderr);
    let module = std::fs::read(&output).unwrap();
    let sections = custom_sections(&module);
    assert_eq!(
        sections
            .iter()
            .filter(|name| *name == METADATA_SECTION)
            .count(),
        1,
        "{sections:?}"
    );
    let metadata = PolicyMetadata::from_module(&module).unwrap().unwrap();
    assert_eq!(metadata.usage(), Some("# New usage\n"));
}

/// Runs `annotate` of replica-ownership's module with `metadata.yml` text and extra arguments.
fn annotate_with(metadata: &str, extra: &[&str]) -> common::Run {
    let dir = tempfile::tempdir().unwrap();
    let metadata_path = dir.path().join("metadata.yml");
    std::fs::write(&metadata_path, metadata).unwrap();
    let readme = policy_dir("dynamo-replica-ownership").join("README.md");
    let output = dir.path().join("out.wasm");
    let module = unannotated_module_path("dynamo-replica-ownership");
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "annotate".as_ref(),
        module.as_os_str(),
        "-m".as_ref(),
        metadata_path.as_os_str(),
        "-u".as_ref(),
        readme.as_os_str(),
        "-o".as_ref(),
        output.as_os_str(),
    ];
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    let run = scaleguard(args);
    assert!(
        !output.exists() || run.success,
        "nothing is written on failure"
    );
    run
}

fn replica_ownership_version() -> String {
    source_metadata("dynamo-replica-ownership")
        .version()
        .unwrap()
        .to_owned()
}

fn replica_ownership_metadata_text() -> String {
    std::fs::read_to_string(policy_dir("dynamo-replica-ownership").join("metadata.yml")).unwrap()
}

#[test]
fn annotate_refuses_a_version_other_than_the_crate_version() {
    let version = replica_ownership_version();
    let run = annotate_with(
        &replica_ownership_metadata_text(),
        &["--crate-version", "9.9.9"],
    );
    assert!(!run.success);
    assert!(
        run.stderr.contains(&format!(
            "- annotations.io.kubewarden.policy.version is {version} but the crate version is 9.9.9: keep them equal"
        )),
        "{}",
        run.stderr
    );
}

#[test]
fn annotate_reports_every_metadata_problem() {
    let text = replica_ownership_metadata_text()
        .replace("operations: [\"UPDATE\"]", "operations: []")
        .lines()
        .filter(|line| !line.contains("io.kubewarden.policy.license"))
        .collect::<Vec<_>>()
        .join("\n");
    let run = annotate_with(&text, &["--crate-version", &replica_ownership_version()]);
    assert!(!run.success);
    assert!(
        run.stderr.contains(
            "invalid metadata:\n  - rules[0].operations must not be empty\n  - annotations.io.kubewarden.policy.license is missing"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn annotate_names_the_field_of_a_parse_error() {
    let text = replica_ownership_metadata_text().replace("\"UPDATE\"", "\"PATCH\"");
    let run = annotate_with(&text, &["--crate-version", &replica_ownership_version()]);
    assert!(!run.success);
    assert!(
        run.stderr.contains(
            "rules[0].operations[0]: unknown variant `PATCH`, expected one of `CREATE`, `UPDATE`, `DELETE`, `CONNECT`, `*`"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn annotate_refuses_a_file_that_is_not_a_module() {
    let dir = tempfile::tempdir().unwrap();
    let not_wasm = dir.path().join("policy.wasm");
    std::fs::write(&not_wasm, "not a module").unwrap();
    let policy = policy_dir("dynamo-replica-ownership");
    let run = scaleguard([
        "annotate".as_ref(),
        not_wasm.as_os_str(),
        "-m".as_ref(),
        policy.join("metadata.yml").as_os_str(),
        "-o".as_ref(),
        dir.path().join("out.wasm").as_os_str(),
    ]);
    assert!(!run.success);
    assert!(
        run.stderr
            .contains("not a WebAssembly module: magic header not detected"),
        "{}",
        run.stderr
    );
}

#[test]
fn inspect_refuses_an_unannotated_module() {
    let module = unannotated_module_path("dynamo-replica-ownership");
    let run = scaleguard(["inspect".as_ref(), module.as_os_str()]);
    assert!(!run.success);
    assert!(
        run.stderr.contains(&format!(
            "{} is not annotated: it has no io.kubewarden.metadata section (run `scaleguard annotate`)",
            module.display()
        )),
        "{}",
        run.stderr
    );
}
