//! Helpers shared by the CLI's end-to-end tests: paths of the workspace and its built modules, and
//! running the `scaleguard` binary.
#![allow(
    dead_code,
    reason = "each test file uses a different part of these helpers"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use scaleguard_metadata::{PolicyMetadata, ProtocolVersion, USAGE_ANNOTATION};

/// The workspace's root folder.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the CLI crate lives in the workspace")
        .to_path_buf()
}

/// Where `make policies` puts the modules (`SCALEGUARD_POLICIES_DIR` overrides).
pub fn modules_dir() -> PathBuf {
    std::env::var_os("SCALEGUARD_POLICIES_DIR")
        .map_or_else(|| workspace_root().join("target/policies"), PathBuf::from)
}

/// Names of the policy folders under `policies/`, sorted.
pub fn policy_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(workspace_root().join("policies"))
        .expect("policies/ exists")
        .filter_map(Result::ok)
        .filter(|entry| entry.path().join("metadata.yml").exists())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A policy's source folder.
pub fn policy_dir(policy: &str) -> PathBuf {
    workspace_root().join("policies").join(policy)
}

/// The policy's metadata.yml, parsed.
pub fn source_metadata(policy: &str) -> PolicyMetadata {
    PolicyMetadata::load(policy_dir(policy).join("metadata.yml")).unwrap()
}

/// What `make policies` embeds: metadata.yml, `protocolVersion: v1` and the README as usage.
pub fn expected_embedded_metadata(policy: &str) -> PolicyMetadata {
    let mut metadata = source_metadata(policy);
    metadata.protocol_version = Some(ProtocolVersion::V1);
    let readme = std::fs::read_to_string(policy_dir(policy).join("README.md")).unwrap();
    metadata
        .annotations
        .insert(USAGE_ANNOTATION.to_owned(), readme);
    metadata
}

/// The annotated module `make policies` writes.
pub fn annotated_module(policy: &str) -> PathBuf {
    let path = workspace_root().join(format!("target/policies/{policy}.wasm"));
    assert!(
        path.exists(),
        "{} is missing: run `make policies` first",
        path.display()
    );
    path
}

/// The module cargo built, before annotation.
pub fn unannotated_module(policy: &str) -> PathBuf {
    let path = workspace_root().join(format!(
        "target/wasm32-wasip1/release/{}.wasm",
        policy.replace('-', "_")
    ));
    assert!(
        path.exists(),
        "{} is missing: run `make policies` first",
        path.display()
    );
    path
}

/// The outcome of one `scaleguard` run.
pub struct Run {
    /// Whether it exited 0.
    pub success: bool,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Self {
        Self {
            success: output.status.success(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// Runs `scaleguard <args>` in the workspace root, without registry credentials from the
/// environment (a temporary, empty Docker config) and without backtraces in error messages.
pub fn scaleguard<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let docker_config = tempfile::tempdir().unwrap();
    scaleguard_with(args, docker_config.path(), &[])
}

/// Runs `scaleguard <args>` with `$DOCKER_CONFIG` set to `docker_config` and `env` added.
pub fn scaleguard_with<I, S>(args: I, docker_config: &Path, env: &[(&str, &str)]) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    Command::new(env!("CARGO_BIN_EXE_scaleguard"))
        .args(args)
        .current_dir(workspace_root())
        .env("DOCKER_CONFIG", docker_config)
        .env_remove("SCALEGUARD_REGISTRY_USERNAME")
        .env_remove("SCALEGUARD_REGISTRY_PASSWORD")
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .envs(env.iter().copied())
        .output()
        .expect("the scaleguard binary runs")
        .into()
}

/// Names of a module's custom sections, in order.
pub fn custom_sections(module: &[u8]) -> Vec<String> {
    wasmparser::Parser::new(0)
        .parse_all(module)
        .filter_map(|payload| match payload.unwrap() {
            wasmparser::Payload::CustomSection(section) => Some(section.name().to_owned()),
            _ => None,
        })
        .collect()
}

/// The raw JSON of a module's first `io.kubewarden.metadata` section.
pub fn metadata_section(module: &[u8]) -> Option<Vec<u8>> {
    wasmparser::Parser::new(0)
        .parse_all(module)
        .find_map(|payload| match payload.unwrap() {
            wasmparser::Payload::CustomSection(section)
                if section.name() == scaleguard_metadata::METADATA_SECTION =>
            {
                Some(section.data().to_vec())
            }
            _ => None,
        })
}
