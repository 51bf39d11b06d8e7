//! `scaleguard push`, `scaleguard pull` and `scaleguard check --policy registry://...`. The tests marked
//! `#[ignore]` need a real registry at `$SCALEGUARD_TEST_REGISTRY` (`host:port`, plain HTTP):
//! `scripts/registry-test.sh` starts one and runs them.

mod common;

use std::collections::BTreeMap;

use common::{
    module_path, policy_names, scaleguard, scaleguard_with, source_metadata,
    unannotated_module_path,
};
use oci_client::client::{ClientConfig, ClientProtocol, Config, ImageLayer};
use oci_client::manifest::{
    IMAGE_CONFIG_MEDIA_TYPE, OCI_IMAGE_MEDIA_TYPE, OciDescriptor, OciImageManifest,
    WASM_CONFIG_MEDIA_TYPE, WASM_LAYER_MEDIA_TYPE,
};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

fn sha256(bytes: &[u8]) -> String {
    let hex: String = Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("sha256:{hex}")
}

fn test_registry() -> String {
    std::env::var("SCALEGUARD_TEST_REGISTRY")
        .expect("SCALEGUARD_TEST_REGISTRY=<host:port> of a plain-HTTP registry: run scripts/registry-test.sh")
}

fn client() -> Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::new(ClientConfig {
        protocol: ClientProtocol::Http,
        ..ClientConfig::default()
    })
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

#[test]
fn push_refuses_an_unannotated_module() {
    let module = unannotated_module_path("dynamo-replica-ownership");
    let run = scaleguard([
        "push".as_ref(),
        module.as_os_str(),
        "127.0.0.1:9/scaleguard/policies/dynamo-replica-ownership:v0.1.0".as_ref(),
        "--insecure".as_ref(),
    ]);
    assert!(!run.success);
    assert_eq!(
        run.stderr,
        format!(
            "Error: {}: refusing to push an unannotated module (no io.kubewarden.metadata section): run `scaleguard annotate` first\n",
            module.display()
        )
    );
    assert_eq!(run.stdout, "");
}

#[test]
fn push_refuses_bad_references() {
    let module = module_path("dynamo-replica-ownership");
    let version = source_metadata("dynamo-replica-ownership")
        .version()
        .unwrap()
        .to_owned();
    let cases = [
        (
            "https://ghcr.io/scaleguard/policies/x:v1".to_owned(),
            "Error: https://ghcr.io/scaleguard/policies/x:v1: not an OCI reference: expected [registry://]<registry>/<repository>:<tag>\n".to_owned(),
        ),
        (
            "ghcr.io/Scale Guard/x:v1".to_owned(),
            "Error: ghcr.io/Scale Guard/x:v1: not an OCI reference: expected [registry://]<registry>/<repository>:<tag>\n\nCaused by:\n    invalid reference format\n".to_owned(),
        ),
        (
            "registry://ghcr.io/scaleguard/policies/dynamo-replica-ownership".to_owned(),
            format!("Error: registry://ghcr.io/scaleguard/policies/dynamo-replica-ownership: push to a tag, e.g. ghcr.io/scaleguard/policies/dynamo-replica-ownership:v{version}\n"),
        ),
        (
            format!("ghcr.io/scaleguard/policies/x@sha256:{}", "a".repeat(64)),
            format!("Error: ghcr.io/scaleguard/policies/x@sha256:{}: push to a tag, e.g. ghcr.io/scaleguard/policies/x:v{version}\n", "a".repeat(64)),
        ),
    ];
    for (reference, message) in cases {
        let run = scaleguard(["push".as_ref(), module.as_os_str(), reference.as_ref()]);
        assert!(!run.success, "{reference}");
        assert_eq!(run.stderr, message, "{reference}");
    }
}

/// The manifest's annotations: the one-line metadata annotations plus the OCI source.
fn expected_annotations(policy: &str) -> BTreeMap<String, String> {
    let metadata = source_metadata(policy);
    let mut annotations = metadata.annotations.clone();
    annotations.insert(
        "org.opencontainers.image.source".into(),
        metadata.annotations["io.kubewarden.policy.source"].clone(),
    );
    annotations
}

#[test]
#[ignore = "needs a registry: scripts/registry-test.sh"]
fn every_policy_round_trips_through_the_registry() {
    let registry = test_registry();
    let client = client();
    for policy in policy_names() {
        let annotated = module_path(&policy);
        let module = std::fs::read(&annotated).unwrap();
        let version = source_metadata(&policy).version().unwrap().to_owned();
        let repository = format!("{registry}/scaleguard/policies/{policy}");
        let tag_reference = format!("registry://{repository}:v{version}");

        let push = scaleguard([
            "push".as_ref(),
            annotated.as_os_str(),
            tag_reference.as_ref(),
            "--insecure".as_ref(),
        ]);
        assert!(push.success, "{policy}: {}", push.stderr);
        let pinned = push.stdout.trim_end().to_owned();
        let digest = pinned
            .strip_prefix(&format!("{repository}@"))
            .unwrap_or_else(|| panic!("{policy}: push printed {pinned}"))
            .to_owned();

        // The manifest, as the registry serves it.
        let reference: Reference = format!("{repository}:v{version}").parse().unwrap();
        let (raw, served_digest) = block_on(client.pull_manifest_raw(
            &reference,
            &RegistryAuth::Anonymous,
            &[OCI_IMAGE_MEDIA_TYPE],
        ))
        .unwrap();
        assert_eq!(served_digest, digest, "{policy}");
        assert_eq!(
            sha256(&raw),
            digest,
            "{policy}: the digest is the manifest's sha256"
        );
        let manifest: Value = serde_json::from_slice(&raw).unwrap();
        assert_eq!(
            manifest,
            json!({
                "schemaVersion": 2,
                "mediaType": OCI_IMAGE_MEDIA_TYPE,
                "config": {
                    "mediaType": WASM_CONFIG_MEDIA_TYPE,
                    "digest": sha256(b"{}"),
                    "size": 2,
                },
                "layers": [{
                    "mediaType": WASM_LAYER_MEDIA_TYPE,
                    "digest": sha256(&module),
                    "size": module.len(),
                }],
                "annotations": expected_annotations(&policy),
            }),
            "{policy}"
        );
        let mut config = Vec::new();
        let config_descriptor = OciDescriptor {
            media_type: WASM_CONFIG_MEDIA_TYPE.into(),
            digest: sha256(b"{}"),
            size: 2,
            ..OciDescriptor::default()
        };
        block_on(client.pull_blob(&reference, &config_descriptor, &mut config)).unwrap();
        assert_eq!(config, b"{}", "{policy}");

        // Pulled back by tag and by digest: the same bytes, the same immutable reference.
        let dir = tempfile::tempdir().unwrap();
        for (source, file) in [
            (tag_reference.clone(), "by-tag.wasm"),
            (format!("registry://{pinned}"), "by-digest.wasm"),
        ] {
            let output = dir.path().join(file);
            let pull = scaleguard([
                "pull".as_ref(),
                source.as_ref(),
                "-o".as_ref(),
                output.as_os_str(),
                "--insecure".as_ref(),
            ]);
            assert!(pull.success, "{policy} {source}: {}", pull.stderr);
            assert_eq!(pull.stdout, format!("{pinned}\n"), "{policy} {source}");
            assert!(
                std::fs::read(&output).unwrap() == module,
                "{policy} {source}: pulled bytes differ from the pushed module"
            );
        }
    }
}

#[test]
#[ignore = "needs a registry: scripts/registry-test.sh"]
fn pushing_the_same_module_again_gives_the_same_digest() {
    let registry = test_registry();
    let module = module_path("dynamo-replica-ownership");
    let push = |tag: &str| {
        let run = scaleguard([
            "push".as_ref(),
            module.as_os_str(),
            format!("{registry}/scaleguard/reproducible:{tag}").as_ref(),
            "--insecure".as_ref(),
        ]);
        assert!(run.success, "{}", run.stderr);
        run.stdout
    };
    assert_eq!(push("first"), push("second"));
}

#[test]
#[ignore = "needs a registry: scripts/registry-test.sh"]
fn pull_of_a_missing_tag_fails_clearly() {
    let registry = test_registry();
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("missing.wasm");
    let reference = format!("{registry}/scaleguard/policies/missing:v0.0.0");
    let run = scaleguard([
        "pull".as_ref(),
        reference.as_ref(),
        "-o".as_ref(),
        output.as_os_str(),
        "--insecure".as_ref(),
    ]);
    assert!(!run.success);
    assert!(
        run.stderr
            .starts_with(&format!("Error: cannot pull {reference}\n\nCaused by:\n")),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("manifest unknown"), "{}", run.stderr);
    assert!(!output.exists());
}

#[test]
#[ignore = "needs a registry: scripts/registry-test.sh"]
fn pull_refuses_an_artifact_that_is_not_a_policy() {
    let registry = test_registry();
    let reference: Reference = format!("{registry}/scaleguard/not-a-policy:v1")
        .parse()
        .unwrap();
    let layer = ImageLayer::new(
        b"\0asm\x01\0\0\0".to_vec(),
        WASM_LAYER_MEDIA_TYPE.into(),
        None,
    );
    let config = Config::new(b"{}".to_vec(), IMAGE_CONFIG_MEDIA_TYPE.into(), None);
    let manifest = OciImageManifest::build(std::slice::from_ref(&layer), &config, None);
    block_on(client().push(
        &reference,
        &[layer],
        config,
        &RegistryAuth::Anonymous,
        Some(manifest),
    ))
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("x.wasm");
    let run = scaleguard([
        "pull".as_ref(),
        reference.whole().as_ref(),
        "-o".as_ref(),
        output.as_os_str(),
        "--insecure".as_ref(),
    ]);
    assert!(!run.success);
    assert_eq!(
        run.stderr,
        format!(
            "Error: {}: config media type {IMAGE_CONFIG_MEDIA_TYPE} is not {WASM_CONFIG_MEDIA_TYPE}: not a policy module\n",
            reference.whole()
        )
    );
    assert!(!output.exists());
}

/// The registry that requires a login (`scripts/registry-test.sh`: htpasswd, user
/// `scaleguard`, password `registry-test-password`).
fn test_auth_registry() -> String {
    std::env::var("SCALEGUARD_TEST_AUTH_REGISTRY").expect(
        "SCALEGUARD_TEST_AUTH_REGISTRY=<host:port> of a registry with a login: run scripts/registry-test.sh",
    )
}

#[test]
#[ignore = "needs a registry: scripts/registry-test.sh"]
fn credentials_come_from_the_docker_config_or_the_environment() {
    use base64::Engine as _;
    let registry = test_auth_registry();
    let module = module_path("dynamo-replica-ownership");
    let reference = format!("{registry}/scaleguard/policies/dynamo-replica-ownership:v1");
    let push_args = [
        "push".as_ref(),
        module.as_os_str(),
        reference.as_ref(),
        "--insecure".as_ref(),
    ];

    let anonymous = scaleguard(push_args);
    assert!(!anonymous.success, "pushed without credentials");
    assert!(
        anonymous.stderr.starts_with(&format!(
            "Error: cannot push to {reference}: the registry wants credentials: `docker login`, \
             or set $SCALEGUARD_REGISTRY_USERNAME and $SCALEGUARD_REGISTRY_PASSWORD\n"
        )),
        "{}",
        anonymous.stderr
    );

    let docker_config = tempfile::tempdir().unwrap();
    let auth =
        base64::engine::general_purpose::STANDARD.encode("scaleguard:registry-test-password");
    std::fs::write(
        docker_config.path().join("config.json"),
        serde_json::to_vec(&json!({"auths": {&registry: {"auth": auth}}})).unwrap(),
    )
    .unwrap();
    let from_docker_config = scaleguard_with(push_args, docker_config.path(), &[]);
    assert!(from_docker_config.success, "{}", from_docker_config.stderr);

    let empty = tempfile::tempdir().unwrap();
    let from_environment = scaleguard_with(
        push_args,
        empty.path(),
        &[
            ("SCALEGUARD_REGISTRY_USERNAME", "scaleguard"),
            ("SCALEGUARD_REGISTRY_PASSWORD", "registry-test-password"),
        ],
    );
    assert!(from_environment.success, "{}", from_environment.stderr);
    assert_eq!(from_environment.stdout, from_docker_config.stdout);

    let output = docker_config.path().join("pulled.wasm");
    let pull = scaleguard_with(
        [
            "pull".as_ref(),
            reference.as_ref(),
            "-o".as_ref(),
            output.as_os_str(),
            "--insecure".as_ref(),
        ],
        docker_config.path(),
        &[],
    );
    assert!(pull.success, "{}", pull.stderr);
    assert!(std::fs::read(&output).unwrap() == std::fs::read(&module).unwrap());
}

/// `check --policy registry://...` pulls the module in-process (plain HTTP with `--insecure`) and runs
/// it: the vLLM example, whose HPA fights its Planner, gets the same findings as from the local module.
#[test]
#[ignore = "needs a registry: scripts/registry-test.sh"]
fn check_runs_a_policy_pulled_from_the_registry() {
    let registry = test_registry();
    let module = module_path("dynamo-single-autoscaler");
    let tag = format!("{registry}/scaleguard/check/dynamo-single-autoscaler:v1");
    let push = scaleguard([
        "push".as_ref(),
        module.as_os_str(),
        tag.as_ref(),
        "--insecure".as_ref(),
    ]);
    assert!(push.success, "{}", push.stderr);
    let pinned = format!("registry://{}", push.stdout.trim_end());
    let check = |policy: &str| {
        scaleguard([
            "check",
            "examples/gitops/apps/vllm-disagg",
            "--policy",
            policy,
            "--insecure",
            "--no-module-cache",
            "-o",
            "json",
        ])
    };
    let pulled = check(&pinned);
    assert_eq!(pulled.stderr, "");
    let report: Value = serde_json::from_str(&pulled.stdout).unwrap();
    let findings: Vec<(&str, &str, &str, bool, &str)> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["file"].as_str().unwrap(),
                r["kind"].as_str().unwrap(),
                r["policy"].as_str().unwrap(),
                r["allowed"].as_bool().unwrap(),
                r["message"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        findings,
        [
            (
                "examples/gitops/apps/vllm-disagg/decode-hpa.yaml",
                "HorizontalPodAutoscaler",
                "dynamo-single-autoscaler",
                false,
                "DynamoGraphDeploymentScalingAdapter llm/vllm-disagg-vllmdecodeworker is already scaled by the Dynamo Planner of DynamoGraphDeployment vllm-disagg; use one autoscaler per adapter"
            ),
            (
                "examples/gitops/apps/vllm-disagg/dgd.yaml",
                "DynamoGraphDeployment",
                "dynamo-single-autoscaler",
                false,
                "DynamoGraphDeploymentScalingAdapter llm/vllm-disagg-vllmdecodeworker is already scaled by HorizontalPodAutoscaler vllm-disagg-decode-hpa, and the Dynamo Planner of DynamoGraphDeployment vllm-disagg would scale it too; use one autoscaler per adapter"
            ),
        ]
    );
    let local = check(module.to_str().unwrap());
    assert_eq!(
        pulled.stdout, local.stdout,
        "the same findings as the local module"
    );
    assert_eq!(check(&format!("registry://{tag}")).stdout, local.stdout);

    let missing = format!("registry://{registry}/scaleguard/check/missing:v0");
    let failed = check(&missing);
    assert!(!failed.success);
    assert!(
        failed.stderr.starts_with(&format!(
            "error: --policy {missing}: cannot pull {missing}: "
        )) && failed.stderr.contains("manifest unknown"),
        "{}",
        failed.stderr
    );
}
