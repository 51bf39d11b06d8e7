//! The host calls a policy may make, answered like Kubewarden's evaluator answers them.

use std::sync::{Arc, Mutex, PoisonError, RwLock};

use serde::Deserialize;
use serde_json::{Value, json};

use scaleguard_in_memory_cluster::{ClusterView, ListQuery};
use scaleguard_sdk::ResourceKind;

/// The cluster a policy instance currently sees; swapped between evaluations.
pub(crate) type SharedView = Arc<RwLock<ClusterView>>;

/// The `kubewarden/kubernetes/*` host calls of an instance's current (or last) waPC call.
pub(crate) type CallLog = Arc<Mutex<Vec<KubernetesCall>>>;

/// One `kubewarden/kubernetes/*` host call a policy made, as the host received it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KubernetesCall {
    /// The operation: `list_resources_by_namespace`, `list_resources_all`, `get_resource` or `can_i`.
    pub operation: String,
    /// The `(apiVersion, kind)` looked up; `None` for `can_i`.
    pub kind: Option<ResourceKind>,
    /// The `field_masks` a list asked for, as sent.
    pub field_masks: Vec<String>,
}

#[derive(Deserialize)]
struct ListRequest {
    api_version: String,
    kind: String,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    label_selector: Option<String>,
    #[serde(default)]
    field_selector: Option<String>,
    /// Kubewarden's `field_masks` (a set of dot-separated paths; 1.33+).
    #[serde(default)]
    field_masks: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct GetRequest {
    api_version: String,
    kind: String,
    name: String,
    #[serde(default)]
    namespace: Option<String>,
}

#[derive(Deserialize)]
struct CanIRequest {
    subject_access_review: Value,
}

#[derive(Deserialize)]
struct LogRecord {
    #[serde(default)]
    level: String,
    #[serde(default)]
    msg: String,
}

/// Answers one waPC host call: `(binding, namespace, operation, payload)`.
pub(crate) fn answer(
    view: &SharedView,
    calls: &CallLog,
    policy: &str,
    binding: &str,
    namespace: &str,
    operation: &str,
    payload: &[u8],
) -> Result<Vec<u8>, String> {
    match (binding, namespace, operation) {
        ("kubewarden", "kubernetes", "list_resources_by_namespace") => {
            let request: ListRequest = parse(operation, payload)?;
            note_call(
                calls,
                operation,
                Some(request.kind_key()),
                &request.field_masks,
            );
            let Some(namespace) = request.namespace.as_deref() else {
                return Err(format!("{operation}: missing field `namespace`"));
            };
            list(view, &request, Some(namespace))
        }
        ("kubewarden", "kubernetes", "list_resources_all") => {
            let request: ListRequest = parse(operation, payload)?;
            note_call(
                calls,
                operation,
                Some(request.kind_key()),
                &request.field_masks,
            );
            list(view, &request, None)
        }
        ("kubewarden", "kubernetes", "get_resource") => {
            let request: GetRequest = parse(operation, payload)?;
            note_call(
                calls,
                operation,
                Some(ResourceKind::new(
                    request.api_version.clone(),
                    request.kind.clone(),
                )),
                &None,
            );
            let view = view.read().map_err(|e| e.to_string())?;
            view.check_granted(&request.api_version, &request.kind)
                .map_err(|e| e.to_string())?;
            let object = view
                .cluster()
                .get(
                    &request.api_version,
                    &request.kind,
                    &request.name,
                    request.namespace.as_deref(),
                )
                .map_err(|e| e.to_string())?;
            serde_json::to_vec(object).map_err(|e| e.to_string())
        }
        ("kubewarden", "kubernetes", "can_i") => {
            let request: CanIRequest = parse(operation, payload)?;
            note_call(calls, operation, None, &None);
            tracing::debug!(policy, review = %request.subject_access_review, "can_i: the in-memory cluster grants nothing");
            serde_json::to_vec(&json!({"allowed": false, "denied": false, "reason": "scaleguard-host has no RBAC"}))
                .map_err(|e| e.to_string())
        }
        ("kubewarden", "tracing", "log") => {
            let record: LogRecord = parse(operation, payload)?;
            match record.level.as_str() {
                "error" => tracing::error!(policy, "{}", record.msg),
                "warning" | "warn" => tracing::warn!(policy, "{}", record.msg),
                "info" => tracing::info!(policy, "{}", record.msg),
                _ => tracing::debug!(policy, "{}", record.msg),
            }
            Ok(Vec::new())
        }
        _ => Err(format!(
            "unknown host capability {binding}/{namespace}/{operation}"
        )),
    }
}

impl ListRequest {
    fn kind_key(&self) -> ResourceKind {
        ResourceKind::new(self.api_version.clone(), self.kind.clone())
    }
}

/// Notes a `kubernetes` host call in the instance's log.
fn note_call(
    calls: &CallLog,
    operation: &str,
    kind: Option<ResourceKind>,
    field_masks: &Option<Vec<String>>,
) {
    let call = KubernetesCall {
        operation: operation.to_owned(),
        kind,
        field_masks: field_masks.clone().unwrap_or_default(),
    };
    calls
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(call);
}

fn list(
    view: &SharedView,
    request: &ListRequest,
    namespace: Option<&str>,
) -> Result<Vec<u8>, String> {
    let view = view.read().map_err(|e| e.to_string())?;
    let field_masks: Vec<&str> = request
        .field_masks
        .iter()
        .flatten()
        .map(String::as_str)
        .collect();
    view.list_json(&ListQuery {
        api_version: &request.api_version,
        kind: &request.kind,
        namespace,
        label_selector: request.label_selector.as_deref(),
        field_selector: request.field_selector.as_deref(),
        field_masks: &field_masks,
    })
    .map_err(|e| e.to_string())
}

fn parse<'a, T: Deserialize<'a>>(operation: &str, payload: &'a [u8]) -> Result<T, String> {
    serde_json::from_slice(payload).map_err(|e| format!("{operation}: invalid request: {e}"))
}
