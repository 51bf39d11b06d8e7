//! Policies as Kubewarden runs them: annotated wasm modules under wasmtime, through `scaleguard-host`.
//! Each module is compiled once; each thread instantiates it once and reuses the instance.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use scaleguard_host::{Limits, PolicyInstance, PolicyModule};
use scaleguard_in_memory_cluster::{ClusterView, InMemoryCluster};
use scaleguard_metadata::PolicyMetadata;
use scaleguard_sdk::{ResourceKind, SettingsValidationResponse, ValidationResponse};
use serde_json::Value;

use crate::engine::{Evaluator, RunnablePolicy};
use scaleguard_sdk::AdmissionRequest;

/// A compiled, annotated policy module.
#[derive(Debug)]
pub struct WasmPolicy {
    module: PolicyModule,
    metadata: PolicyMetadata,
}

impl WasmPolicy {
    /// Compiles module `bytes` named `name`. A module without embedded metadata is refused: its rules
    /// say which objects it reviews, and guessing them would check the wrong objects.
    pub fn from_bytes(name: &str, bytes: &[u8]) -> Result<Self, String> {
        let metadata = PolicyMetadata::from_module(bytes)
            .map_err(|error| format!("policy {name}: {error}"))?
            .ok_or_else(|| {
                format!(
                    "policy {name} is not annotated: its io.kubewarden.metadata section, which holds the \
                     rules that say which objects it reviews, is missing. Build the modules with \
                     `make policies` (it annotates them) or annotate this one with `scaleguard annotate`"
                )
            })?;
        let module = PolicyModule::from_bytes(name, bytes, Limits::default())
            .map_err(|error| error.to_string())?
            .with_context_aware_resources(metadata.granted());
        Ok(Self { module, metadata })
    }

    /// The metadata embedded in the module.
    pub fn metadata(&self) -> &PolicyMetadata {
        &self.metadata
    }
}

impl RunnablePolicy for WasmPolicy {
    fn name(&self) -> &str {
        self.module.name()
    }

    fn selects(&self, request: &AdmissionRequest) -> bool {
        self.metadata.selects(request)
    }

    fn granted(&self) -> &BTreeSet<ResourceKind> {
        self.module.granted()
    }

    fn evaluator(&self) -> Result<Box<dyn Evaluator + '_>, String> {
        let instance = self
            .module
            .instantiate(Arc::new(InMemoryCluster::default()))
            .map_err(|error| error.to_string())?;
        Ok(Box::new(WasmEvaluator { instance }))
    }
}

/// One instance of a module.
struct WasmEvaluator<'p> {
    instance: PolicyInstance<'p>,
}

impl Evaluator for WasmEvaluator<'_> {
    fn validate(&mut self, payload: &[u8], cluster: ClusterView) -> ValidationResponse {
        self.instance.set_view(cluster);
        self.instance.evaluate_payload(payload)
    }

    fn validate_settings(&mut self, settings: &Value) -> SettingsValidationResponse {
        let answer = serde_json::to_vec(settings)
            .map_err(|error| error.to_string())
            .and_then(|bytes| {
                self.instance
                    .validate_settings(&bytes)
                    .map_err(|error| error.to_string())
            });
        answer.unwrap_or_else(|message| SettingsValidationResponse {
            valid: false,
            message: Some(message),
        })
    }
}

/// Compiles the modules `(name, bytes)` on all cores; the errors name each module that failed.
pub fn compile_all(modules: Vec<(String, Vec<u8>)>) -> Result<Vec<WasmPolicy>, Vec<String>> {
    let results: Vec<Result<WasmPolicy, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = modules
            .iter()
            .map(|(name, bytes)| scope.spawn(move || WasmPolicy::from_bytes(name, bytes)))
            .collect();
        handles
            .into_iter()
            .map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|_| Err("compiling a policy module panicked".to_owned()))
            })
            .collect()
    });
    let (policies, errors): (Vec<_>, Vec<_>) = results.into_iter().partition(Result::is_ok);
    if errors.is_empty() {
        Ok(policies.into_iter().filter_map(Result::ok).collect())
    } else {
        Err(errors.into_iter().filter_map(Result::err).collect())
    }
}

/// The module at `path` as `(name, bytes)`; its name is the file stem.
pub fn read_module(path: &Path) -> Result<(String, Vec<u8>), String> {
    let bytes = std::fs::read(path)
        .map_err(|error| format!("cannot read policy module {}: {error}", path.display()))?;
    let name = path
        .file_stem()
        .map_or_else(|| "policy".to_owned(), |s| s.to_string_lossy().into_owned());
    Ok((name, bytes))
}

/// The modules of `directory` (every `*.wasm`, sorted by name) as `(name, bytes)`.
pub fn read_directory(directory: &Path) -> Result<Vec<(String, Vec<u8>)>, String> {
    let entries = std::fs::read_dir(directory).map_err(|error| {
        format!(
            "cannot read policy directory {}: {error}",
            directory.display()
        )
    })?;
    let mut paths: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "wasm"))
        .collect();
    paths.sort();
    paths.iter().map(|path| read_module(path)).collect()
}
