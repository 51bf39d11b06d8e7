//! Helpers shared by the CLI's end-to-end tests: running the `scaleguard` binary, reading modules, and
//! (from `scaleguard-tests`) the paths of the workspace and its built modules.
#![allow(
    dead_code,
    unused_imports,
    reason = "each test file uses a different part of these helpers"
)]

use std::path::Path;
use std::process::{Command, Output};

use scaleguard_metadata::{PolicyMetadata, ProtocolVersion, USAGE_ANNOTATION};
/// Paths of the workspace and its built modules: the one locator every test uses.
pub use scaleguard_tests::{
    built_modules_dir, module_path, modules_dir, policy_dir, policy_names, unannotated_module_path,
    workspace_root,
};

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
