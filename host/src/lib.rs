//! `scaleguard-host`: runs Kubewarden policy modules the way Kubewarden does — `wapc` on
//! `wasmtime-provider` with WASI — and answers their `kubewarden/kubernetes/*` host calls from an
//! in-memory set of Kubernetes objects, with the errors Kubewarden's evaluator gives.
//! [`PolicyInstance::last_host_calls`] lists the `kubernetes` host calls of the last evaluation (how
//! many API round trips it would cost under Kubewarden).
//!
//! ```no_run
//! use std::sync::Arc;
//! use scaleguard_host::PolicyModule;
//! use scaleguard_in_memory_cluster::InMemoryCluster;
//! let module = PolicyModule::load("target/policies/dynamo-replica-ownership.wasm")?;
//! let mut policy = module.instantiate(Arc::new(InMemoryCluster::default()))?;
//! let request = serde_json::json!({"operation": "CREATE"});
//! let response = policy.evaluate(&request, &serde_json::json!({}));
//! assert!(response.accepted);
//! # Ok::<(), scaleguard_host::HostError>(())
//! ```
#![forbid(unsafe_code)]

pub mod admission;
mod callbacks;
mod module;

pub use callbacks::KubernetesCall;
pub use module::{HostError, Limits, PolicyInstance, PolicyModule};
#[cfg(feature = "module-cache")]
pub use module::{module_cache_counts, use_module_cache};
