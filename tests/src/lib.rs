//! The policies' case tables (`policies/<policy>/test_data/cases.yaml`) and the two ways of answering them:
//! the native pure function and the compiled module under wasmtime. Both must give the same answer, and
//! that answer must be the one the table expects.
#![forbid(unsafe_code)]

pub mod bench_report;
pub mod generate;
pub mod metadata;
pub mod workload;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use scaleguard_check::linked::LinkedPolicy;
use scaleguard_host::PolicyModule;
use scaleguard_host::admission::patch;
use scaleguard_in_memory_cluster::{ClusterView, InMemoryCluster};
use scaleguard_sdk::{
    AdmissionRequest, Cluster, Operation, ResourceKind, SettingsValidationResponse,
    ValidationResponse,
};
use serde::Deserialize;
use serde_json::Value;

/// The workspace's root folder.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate lives in the workspace")
        .to_path_buf()
}

/// Names of every policy folder under `policies/`, sorted.
pub fn policy_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(workspace_root().join("policies"))
        .expect("policies/ exists")
        .filter_map(Result::ok)
        .filter(|entry| entry.path().join("Cargo.toml").exists())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A policy's source folder.
pub fn policy_dir(policy: &str) -> PathBuf {
    workspace_root().join("policies").join(policy)
}

// Built modules: the one place tests, benchmarks and other crates' tests (a dev-dependency on this crate) look
// for what `make policies` builds. `cargo test` on a fresh clone fails in them with one line saying so.

/// What a test that needs the built modules says when they are missing.
pub const MODULES_NOT_BUILT: &str = "policy modules not built: run `make policies`";

/// Where `make policies` puts the modules (`SCALEGUARD_POLICIES_DIR` overrides), whether built or not; the
/// checked forms are [`built_modules_dir`] and [`module_path`].
pub fn modules_dir() -> PathBuf {
    std::env::var_os("SCALEGUARD_POLICIES_DIR")
        .map_or_else(|| workspace_root().join("target/policies"), PathBuf::from)
}

/// The annotated module of `policy` that `make policies` wrote into [`modules_dir`]. Panics with
/// [`MODULES_NOT_BUILT`] when it is missing.
#[track_caller]
pub fn module_path(policy: &str) -> PathBuf {
    built(modules_dir().join(format!("{policy}.wasm")))
}

/// `path`, once it is a file; else a panic with [`MODULES_NOT_BUILT`].
#[track_caller]
fn built(path: PathBuf) -> PathBuf {
    assert!(
        path.is_file(),
        "{MODULES_NOT_BUILT} ({} is missing)",
        path.display()
    );
    path
}

/// [`modules_dir`], holding the module of every policy under `policies/` (for a test that hands the
/// folder to `scaleguard --policies`). Panics with [`MODULES_NOT_BUILT`] when one is missing.
#[track_caller]
pub fn built_modules_dir() -> PathBuf {
    for policy in policy_names() {
        module_path(&policy);
    }
    modules_dir()
}

/// The module of `policy` as `make policies` had cargo build it (`target/wasm32-wasip1/release/`), before
/// it optimised and annotated it. Panics with [`MODULES_NOT_BUILT`] when it is missing.
#[track_caller]
pub fn unannotated_module_path(policy: &str) -> PathBuf {
    built(workspace_root().join(format!(
        "target/wasm32-wasip1/release/{}.wasm",
        policy.replace('-', "_")
    )))
}

/// `policy`'s module ([`module_path`]: panics when it is not built), granted its `metadata.yml`'s
/// `contextAwareResources`, as a ClusterAdmissionPolicy grants them.
#[track_caller]
pub fn policy_module(policy: &str) -> Result<PolicyModule, String> {
    let path = module_path(policy);
    let granted = metadata::Metadata::load(policy)?.granted();
    PolicyModule::load(&path)
        .map(|module| module.with_context_aware_resources(granted))
        .map_err(|e| e.to_string())
}

/// The native `validate` of `policy`, exactly the entry logic its module runs (the policy linked in by
/// `scaleguard-check`, as the browser playground runs it).
pub fn native_validate(
    policy: &str,
    payload: &[u8],
    cluster: &dyn Cluster,
) -> Option<ValidationResponse> {
    let policy = LinkedPolicy::named(policy)?.ok()?;
    Some(policy.validate_payload(payload, cluster))
}

/// The AdmissionRequest JSON for `operation` on `object`, built as every host builds it
/// ([`AdmissionRequest::for_object`]), with `user_info` as given: any JSON, so tests can send what no
/// API server would.
pub fn request_json(
    uid: &str,
    operation: &str,
    object: &Value,
    old_object: &Value,
    user_info: Option<&Value>,
) -> Value {
    let request = AdmissionRequest::for_object(
        uid,
        Operation::from(operation.to_owned()),
        object.clone(),
        old_object.clone(),
        None,
    );
    let mut request = serde_json::to_value(request).expect("a request always serializes");
    if let Some(user_info) = user_info {
        request["userInfo"] = user_info.clone();
    }
    request
}

/// The native `validate_settings` of `policy`.
pub fn native_validate_settings(
    policy: &str,
    payload: &[u8],
) -> Option<SettingsValidationResponse> {
    let policy = LinkedPolicy::named(policy)?.ok()?;
    Some(policy.validate_settings_payload(payload))
}

/// A policy's case table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseTable {
    /// Objects the cases refer to through YAML anchors; not read otherwise.
    #[serde(default)]
    pub fixtures: Value,
    /// `validate` cases.
    pub cases: Vec<Case>,
    /// `validate_settings` cases.
    #[serde(default)]
    pub settings: Vec<SettingsCase>,
}

/// One `validate` case.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Case {
    /// What the case shows.
    pub name: String,
    /// The request: a file under `test_data/` (bare AdmissionRequest or AdmissionReview) or built here.
    pub request: RequestSpec,
    /// The policy settings (absent: defaults).
    #[serde(default)]
    pub settings: Value,
    /// Objects in the cluster.
    #[serde(default)]
    pub cluster: Vec<Value>,
    /// `[apiVersion, kind]` pairs the cluster does not serve.
    #[serde(default)]
    pub not_served: Vec<(String, String)>,
    /// The expected answer.
    pub expect: Expect,
}

/// How a case's request is given.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RequestSpec {
    /// A file under the policy's `test_data/`.
    File(String),
    /// Built from its parts, the rest filled in as the API server would.
    Built {
        /// `CREATE`, `UPDATE`, ...
        operation: String,
        /// The new object.
        #[serde(default)]
        object: Value,
        /// The old object.
        #[serde(default, rename = "oldObject")]
        old_object: Value,
        /// `userInfo`; absent leaves the request without one.
        #[serde(default, rename = "userInfo")]
        user_info: Option<Value>,
    },
}

/// The answer a case expects.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// Admitted?
    pub accepted: bool,
    /// The refusal's code.
    #[serde(default)]
    pub code: Option<u16>,
    /// The refusal's message, exactly.
    #[serde(default)]
    pub message: Option<String>,
    /// The warnings, exactly and in order (absent: none).
    #[serde(default)]
    pub warnings: Vec<String>,
    /// The JSONPatch from submitted to mutated object (absent: no mutation).
    #[serde(default)]
    pub patch: Option<Value>,
}

/// One `validate_settings` case.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsCase {
    /// What the case shows.
    pub name: String,
    /// The settings JSON.
    pub settings: Value,
    /// Expected validity.
    pub valid: bool,
    /// Expected message, exactly.
    #[serde(default)]
    pub message: Option<String>,
}

impl CaseTable {
    /// Reads `policies/<policy>/test_data/cases.yaml`.
    pub fn load(policy: &str) -> Result<Self, String> {
        let path = policy_dir(policy).join("test_data/cases.yaml");
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        serde_yaml_ng::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }
}

impl Case {
    /// The AdmissionRequest of the case.
    pub fn request(&self, policy: &str) -> Result<Value, String> {
        match &self.request {
            RequestSpec::File(file) => {
                let path = policy_dir(policy).join("test_data").join(file);
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                let document: Value = serde_yaml_ng::from_str(&text)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                Ok(scaleguard_host::admission::unwrap_review(document))
            }
            RequestSpec::Built {
                operation,
                object,
                old_object,
                user_info,
            } => Ok(request_json(
                &self.name,
                operation,
                object,
                old_object,
                user_info.as_ref(),
            )),
        }
    }

    /// The `validate` payload: `{"request": ..., "settings": ...}`.
    pub fn payload(&self, policy: &str) -> Result<Vec<u8>, String> {
        let payload =
            serde_json::json!({"request": self.request(policy)?, "settings": self.settings});
        serde_json::to_vec(&payload).map_err(|e| e.to_string())
    }

    /// The case's cluster.
    pub fn cluster(&self) -> Arc<InMemoryCluster> {
        let mut cluster = InMemoryCluster::from_objects(self.cluster.iter().cloned());
        for (api_version, kind) in &self.not_served {
            cluster.mark_not_served(api_version, kind);
        }
        Arc::new(cluster)
    }

    /// The case's cluster as a policy granted `granted` sees it natively.
    pub fn cluster_view(&self, granted: &std::collections::BTreeSet<ResourceKind>) -> ClusterView {
        ClusterView::new(self.cluster(), granted.clone())
    }

    /// Whether `response` to `request` is the expected one; the error says what differs.
    pub fn check(&self, request: &Value, response: &ValidationResponse) -> Result<(), String> {
        let expect = &self.expect;
        let mut problems = Vec::new();
        if response.accepted != expect.accepted {
            problems.push(format!(
                "accepted: expected {}, got {}",
                expect.accepted, response.accepted
            ));
        }
        if response.code != expect.code {
            problems.push(format!(
                "code: expected {:?}, got {:?}",
                expect.code, response.code
            ));
        }
        if response.message != expect.message {
            problems.push(format!(
                "message:\n  expected {:?}\n  got      {:?}",
                expect.message, response.message
            ));
        }
        let warnings = response.warnings.clone().unwrap_or_default();
        if warnings != expect.warnings {
            problems.push(format!(
                "warnings:\n  expected {:?}\n  got      {:?}",
                expect.warnings, warnings
            ));
        }
        let object = request.get("object").unwrap_or(&Value::Null);
        let actual_patch = response
            .mutated_object
            .as_ref()
            .map(|mutated| serde_json::to_value(patch(object, mutated)).unwrap_or_default());
        if actual_patch != expect.patch {
            problems.push(format!(
                "patch: expected {:?}, got {:?}",
                expect.patch, actual_patch
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("\n"))
        }
    }
}

impl SettingsCase {
    /// Whether `response` is the expected one.
    pub fn check(&self, response: &SettingsValidationResponse) -> Result<(), String> {
        if response.valid == self.valid && response.message == self.message {
            Ok(())
        } else {
            Err(format!(
                "expected valid={} message={:?}, got valid={} message={:?}",
                self.valid, self.message, response.valid, response.message
            ))
        }
    }
}
