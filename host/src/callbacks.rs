//! The host calls a policy may make, answered like Kubewarden's evaluator answers them.

use std::sync::{Arc, RwLock};

use serde::Deserialize;
use serde_json::{Value, json};

use crate::cluster::ClusterView;

/// The cluster a policy instance currently sees; swapped between evaluations.
pub(crate) type SharedView = Arc<RwLock<ClusterView>>;

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
    policy: &str,
    binding: &str,
    namespace: &str,
    operation: &str,
    payload: &[u8],
) -> Result<Vec<u8>, String> {
    match (binding, namespace, operation) {
        ("kubewarden", "kubernetes", "list_resources_by_namespace") => {
            let request: ListRequest = parse(operation, payload)?;
            let Some(namespace) = request.namespace.as_deref() else {
                return Err(format!("{operation}: missing field `namespace`"));
            };
            list(view, &request, Some(namespace))
        }
        ("kubewarden", "kubernetes", "list_resources_all") => {
            let request: ListRequest = parse(operation, payload)?;
            list(view, &request, None)
        }
        ("kubewarden", "kubernetes", "get_resource") => {
            let request: GetRequest = parse(operation, payload)?;
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

fn list(
    view: &SharedView,
    request: &ListRequest,
    namespace: Option<&str>,
) -> Result<Vec<u8>, String> {
    let view = view.read().map_err(|e| e.to_string())?;
    let list = view
        .list_json(
            &request.api_version,
            &request.kind,
            namespace,
            request.label_selector.as_deref(),
            request.field_selector.as_deref(),
        )
        .map_err(|e| e.to_string())?;
    serde_json::to_vec(&list).map_err(|e| e.to_string())
}

fn parse<'a, T: Deserialize<'a>>(operation: &str, payload: &'a [u8]) -> Result<T, String> {
    serde_json::from_slice(payload).map_err(|e| format!("{operation}: invalid request: {e}"))
}
