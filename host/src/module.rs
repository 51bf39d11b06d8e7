//! Policy modules: compiled once, instantiated per evaluator, called through waPC.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, MutexGuard, OnceLock, PoisonError, RwLock};
use std::time::Duration;

use scaleguard_sdk::response::{INTERNAL_ERROR, SettingsValidationResponse, ValidationResponse};
use serde_json::{Value, json};
use wapc::WapcHost;
use wasmtime_provider::wasmtime::{Config, Engine, Module};
use wasmtime_provider::{
    EpochDeadlines, ResourceLimits, WasmtimeEngineProviderBuilder, WasmtimeEngineProviderPre,
};

use crate::callbacks::{self, CallLog, KubernetesCall, SharedView};
use scaleguard_in_memory_cluster::{ClusterView, InMemoryCluster};
use scaleguard_metadata::PolicyMetadata;
use scaleguard_sdk::ResourceKind;

/// How often the engine's epoch advances: the granularity of [`Limits::timeout`].
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Why the host could not run a policy.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// The module file could not be read.
    #[error("cannot read policy module {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// wasmtime refused the module.
    #[error("cannot load policy module {name}: {reason}")]
    Load {
        /// The module's name.
        name: String,
        /// What wasmtime said.
        reason: String,
    },
    /// A waPC call failed: the guest trapped, timed out or returned an error.
    #[error("policy {name} failed in {operation}: {reason}")]
    Call {
        /// The module's name.
        name: String,
        /// The waPC operation.
        operation: String,
        /// What went wrong.
        reason: String,
    },
    /// The guest answered something that is not the expected JSON.
    #[error("policy {name} answered {operation} with invalid JSON: {reason}")]
    Answer {
        /// The module's name.
        name: String,
        /// The waPC operation.
        operation: String,
        /// The parse error.
        reason: String,
    },
}

/// Bounds on one evaluation, as Kubewarden's policy server sets them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock budget of one waPC call.
    pub timeout: Duration,
    /// Cap on the module's linear memory.
    pub max_memory_bytes: usize,
}

impl Default for Limits {
    /// 2 s (Kubewarden's default policy timeout) and 512 MiB of linear memory.
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(2),
            max_memory_bytes: 512 << 20,
        }
    }
}

/// The process-wide engine: epoch interruption on, its epoch advanced by a ticker thread.
static ENGINE: OnceLock<Result<Engine, String>> = OnceLock::new();

/// wasmtime's compilation cache, when [`use_module_cache`] turned it on before the engine started.
#[cfg(feature = "module-cache")]
static MODULE_CACHE: OnceLock<wasmtime::Cache> = OnceLock::new();

/// Turns on wasmtime's on-disk compilation cache in `directory` (created when missing) for this
/// process: a module compiled by an earlier process is loaded from there instead of compiled again.
/// Must be called before the first module is loaded.
#[cfg(feature = "module-cache")]
pub fn use_module_cache(directory: &Path) -> Result<(), HostError> {
    let cache_error = |reason: String| HostError::Load {
        name: format!("(module cache {})", directory.display()),
        reason,
    };
    if ENGINE.get().is_some() {
        return Err(cache_error(
            "the engine already runs: turn the cache on before loading a module".into(),
        ));
    }
    std::fs::create_dir_all(directory).map_err(|e| cache_error(e.to_string()))?;
    let mut config = wasmtime::CacheConfig::new();
    config.with_directory(directory);
    let cache = wasmtime::Cache::new(config).map_err(|e| cache_error(format!("{e:#}")))?;
    MODULE_CACHE
        .set(cache)
        .map_err(|_| cache_error("the module cache is already on".into()))
}

/// Modules found in the module cache and modules compiled (and stored) since it was turned on;
/// `None` when [`use_module_cache`] was not called.
#[cfg(feature = "module-cache")]
pub fn module_cache_counts() -> Option<(usize, usize)> {
    MODULE_CACHE
        .get()
        .map(|cache| (cache.cache_hits(), cache.cache_misses()))
}

fn engine() -> Result<&'static Engine, String> {
    ENGINE
        .get_or_init(|| {
            let mut config = Config::default();
            config.epoch_interruption(true);
            #[cfg(feature = "module-cache")]
            config.cache(MODULE_CACHE.get().cloned());
            let engine = Engine::new(&config).map_err(|e| e.to_string())?;
            let ticker = engine.weak();
            std::thread::Builder::new()
                .name("scaleguard-epoch".into())
                .spawn(move || {
                    while let Some(engine) = ticker.upgrade() {
                        engine.increment_epoch();
                        drop(engine);
                        std::thread::sleep(EPOCH_TICK);
                    }
                })
                .map_err(|e| e.to_string())?;
            Ok(engine)
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// A compiled policy module, ready to instantiate any number of times.
pub struct PolicyModule {
    name: String,
    pre: WasmtimeEngineProviderPre,
    limits: Limits,
    granted: BTreeSet<ResourceKind>,
    metadata: Option<PolicyMetadata>,
}

impl std::fmt::Debug for PolicyModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicyModule")
            .field("name", &self.name)
            .field("limits", &self.limits)
            .field("granted", &self.granted)
            .finish_non_exhaustive()
    }
}

impl PolicyModule {
    /// Reads and compiles a module file; its name is the file stem.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, HostError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| HostError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let name = path
            .file_stem()
            .map_or_else(|| "policy".to_owned(), |s| s.to_string_lossy().into_owned());
        Self::from_bytes(&name, &bytes, Limits::default())
    }

    /// Compiles module `bytes`, and reads the metadata of an annotated module.
    pub fn from_bytes(name: &str, bytes: &[u8], limits: Limits) -> Result<Self, HostError> {
        let load_error = |reason: String| HostError::Load {
            name: name.to_owned(),
            reason,
        };
        let metadata = PolicyMetadata::from_module(bytes).map_err(|e| load_error(e.to_string()))?;
        let engine = engine().map_err(load_error)?;
        let module = Module::new(engine, bytes).map_err(|e| load_error(format!("{e:#}")))?;
        let pre = WasmtimeEngineProviderBuilder::new()
            .engine(engine.clone())
            .module(module)
            .wasi_params(wapc::WasiParams::default())
            .enable_resource_limits(ResourceLimits {
                max_memory_size: Some(limits.max_memory_bytes),
                max_table_elements: Some(100_000),
            })
            .build_pre()
            .map_err(|e| load_error(e.to_string()))?;
        Ok(Self {
            name: name.to_owned(),
            pre,
            limits,
            granted: BTreeSet::new(),
            metadata,
        })
    }

    /// Grants the policy look-ups of these `(apiVersion, kind)` pairs (its `contextAwareResources`).
    #[must_use]
    pub fn with_context_aware_resources(
        mut self,
        granted: impl IntoIterator<Item = ResourceKind>,
    ) -> Self {
        self.granted = granted.into_iter().collect();
        self
    }

    /// The module's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The `(apiVersion, kind)` pairs the policy may look up.
    pub fn granted(&self) -> &BTreeSet<ResourceKind> {
        &self.granted
    }

    /// The metadata embedded in an annotated module (`None` for an unannotated one). Look-ups are
    /// granted by [`Self::with_context_aware_resources`], never implicitly from the metadata.
    pub fn metadata(&self) -> Option<&PolicyMetadata> {
        self.metadata.as_ref()
    }

    /// A fresh instance whose host calls see `cluster`.
    pub fn instantiate(
        &self,
        cluster: Arc<InMemoryCluster>,
    ) -> Result<PolicyInstance<'_>, HostError> {
        let view: SharedView =
            Arc::new(RwLock::new(ClusterView::new(cluster, self.granted.clone())));
        let calls = CallLog::default();
        let host = self.host(&view, &calls)?;
        Ok(PolicyInstance {
            module: self,
            view,
            calls,
            host,
        })
    }

    fn host(&self, view: &SharedView, calls: &CallLog) -> Result<WapcHost, HostError> {
        let ticks = u64::try_from(self.limits.timeout.as_millis() / EPOCH_TICK.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        let provider = self
            .pre
            .rehydrate(Some(EpochDeadlines {
                wapc_init: ticks,
                wapc_func: ticks,
            }))
            .map_err(|e| self.call_error("instantiate", e.to_string()))?;
        let view = Arc::clone(view);
        let calls = Arc::clone(calls);
        let policy = self.name.clone();
        WapcHost::new(
            Box::new(provider),
            Some(Box::new(
                move |_id, binding, namespace, operation, payload| {
                    callbacks::answer(
                        &view, &calls, &policy, binding, namespace, operation, payload,
                    )
                    .map_err(Into::into)
                },
            )),
        )
        .map_err(|e| self.call_error("wapc_init", e.to_string()))
    }

    fn call_error(&self, operation: &str, reason: String) -> HostError {
        HostError::Call {
            name: self.name.clone(),
            operation: operation.to_owned(),
            reason,
        }
    }
}

/// A live instance of a policy module.
pub struct PolicyInstance<'m> {
    module: &'m PolicyModule,
    view: SharedView,
    calls: CallLog,
    host: WapcHost,
}

impl std::fmt::Debug for PolicyInstance<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicyInstance")
            .field("module", &self.module.name)
            .finish_non_exhaustive()
    }
}

impl PolicyInstance<'_> {
    /// Points later host calls at `cluster`, with the module's grants.
    pub fn set_cluster(&mut self, cluster: Arc<InMemoryCluster>) {
        self.set_view(ClusterView::new(cluster, self.module.granted.clone()));
    }

    /// Points later host calls at `view`: a cluster and the look-ups granted in it, as one policy
    /// resource's `contextAwareResources` grant them whatever its module declares.
    pub fn set_view(&mut self, view: ClusterView) {
        match self.view.write() {
            Ok(mut guard) => *guard = view,
            Err(poisoned) => *poisoned.into_inner() = view,
        }
    }

    /// Calls waPC `operation`. After a failure the instance is replaced by a fresh one, as its memory
    /// may be left in any state.
    pub fn call(&mut self, operation: &str, payload: &[u8]) -> Result<Vec<u8>, HostError> {
        self.calls_log().clear();
        match self.host.call(operation, payload) {
            Ok(answer) => Ok(answer),
            Err(error) => {
                let failure = self.module.call_error(operation, error.to_string());
                self.host = self.module.host(&self.view, &self.calls)?;
                Err(failure)
            }
        }
    }

    /// The `kubewarden/kubernetes/*` host calls (look-ups, `can_i`) the last waPC call made, in order:
    /// how many round trips to the API server one evaluation would cost under Kubewarden. Each
    /// [`Self::call`] starts a new log, so it never holds more than one evaluation's calls.
    pub fn last_host_calls(&self) -> Vec<KubernetesCall> {
        self.calls_log().clone()
    }

    fn calls_log(&self) -> MutexGuard<'_, Vec<KubernetesCall>> {
        self.calls.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `validate` of a raw payload, parsed.
    pub fn validate_payload(&mut self, payload: &[u8]) -> Result<ValidationResponse, HostError> {
        let answer = self.call("validate", payload)?;
        self.parse_answer("validate", &answer)
    }

    /// Evaluates `request` (an AdmissionRequest) with `settings`, as Kubewarden does: a policy that traps,
    /// times out or answers nonsense rejects the request with code 500.
    pub fn evaluate(&mut self, request: &Value, settings: &Value) -> ValidationResponse {
        let payload = json!({"request": request, "settings": settings}).to_string();
        self.evaluate_payload(payload.as_bytes())
    }

    /// [`Self::evaluate`] of a `validate` payload (the JSON of `{"request", "settings"}`).
    pub fn evaluate_payload(&mut self, payload: &[u8]) -> ValidationResponse {
        self.validate_payload(payload)
            .unwrap_or_else(|error| ValidationResponse {
                accepted: false,
                message: Some(error.to_string()),
                code: Some(INTERNAL_ERROR),
                ..ValidationResponse::default()
            })
    }

    /// `validate_settings` of raw settings JSON.
    pub fn validate_settings(
        &mut self,
        settings: &[u8],
    ) -> Result<SettingsValidationResponse, HostError> {
        let answer = self.call("validate_settings", settings)?;
        self.parse_answer("validate_settings", &answer)
    }

    /// `protocol_version`: `v1` for every Kubewarden policy today.
    pub fn protocol_version(&mut self) -> Result<String, HostError> {
        let answer = self.call("protocol_version", b"")?;
        self.parse_answer("protocol_version", &answer)
    }

    fn parse_answer<T: serde::de::DeserializeOwned>(
        &self,
        operation: &str,
        answer: &[u8],
    ) -> Result<T, HostError> {
        serde_json::from_slice(answer).map_err(|e| HostError::Answer {
            name: self.module.name.clone(),
            operation: operation.to_owned(),
            reason: e.to_string(),
        })
    }
}
