//! The waPC glue of a policy module: entry points that run [`crate::policy`] and a [`Cluster`] answered by
//! Kubewarden's `kubewarden/kubernetes/*` host calls. A policy's `lib.rs` is one
//! [`wapc_entry_points!`](crate::wapc_entry_points) line.

use serde::Serialize;
pub use wapc_guest;
use wapc_guest::CallResult;

use crate::cluster::{Cluster, Lookup, LookupError};
use crate::policy::{self, Policy};

/// A [`Cluster`] answered by the Kubewarden host.
#[derive(Debug, Clone, Copy, Default)]
pub struct HostCluster;

#[derive(Serialize)]
struct ListByNamespace<'a> {
    api_version: &'a str,
    kind: &'a str,
    namespace: &'a str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    field_masks: &'a [&'a str],
}

impl Cluster for HostCluster {
    fn list_json(&self, lookup: &Lookup<'_>) -> Result<Vec<u8>, LookupError> {
        let request = serde_json::to_vec(&ListByNamespace {
            api_version: &lookup.kind.api_version,
            kind: &lookup.kind.kind,
            namespace: lookup.namespace,
            field_masks: lookup.field_masks,
        })
        .map_err(|e| LookupError::Failed(e.to_string()))?;
        wapc_guest::host_call(
            "kubewarden",
            "kubernetes",
            "list_resources_by_namespace",
            &request,
        )
        .map_err(|error| classify_host_error(error.to_string()))
    }
}

/// Sorts a host-call error by the texts of Kubewarden's evaluator.
pub fn classify_host_error(message: String) -> LookupError {
    if message.contains("has not been granted access") {
        LookupError::NotGranted(message)
    } else if message.contains("Cannot find resource") || message.contains("error finding resource")
    {
        LookupError::NotServed(message)
    } else {
        LookupError::Failed(message)
    }
}

/// The `validate` waPC function of policy `P`.
pub fn validate<P: Policy>(payload: &[u8]) -> CallResult {
    Ok(serde_json::to_vec(&policy::validate::<P>(
        payload,
        &HostCluster,
    ))?)
}

/// The `validate_settings` waPC function of policy `P`.
pub fn validate_settings<P: Policy>(payload: &[u8]) -> CallResult {
    Ok(serde_json::to_vec(&policy::validate_settings::<P>(
        payload,
    ))?)
}

/// The `protocol_version` waPC function: Kubewarden's policy protocol `v1`.
pub fn protocol_version(payload: &[u8]) -> CallResult {
    kubewarden_policy_sdk::protocol_version_guest(payload)
}
