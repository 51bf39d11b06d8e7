//! The pure steps of both reconciles: no I/O, no clock, so every rule is a plain `#[test]`.
//!
//! * DGD reconcile: [`desired_adapters`] (what the DGD asks for) → [`plan_adapters`] (creates, deletes and
//!   warnings, given the adapters that exist).
//! * Adapter reconcile: [`dgd_to_fetch`] → [`sync_adapter`], built from [`replica_write`] (the DGD write an
//!   adapter needs) and [`adapter_status`].
//!
//! The adapter is the source of truth for replicas: nothing here ever derives an existing adapter's
//! `spec.replicas` from the DGD; a DGD's replicas only seed an adapter that is being created.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference, Time};
use k8s_openapi::jiff::Timestamp;
use kube::Resource;
use kube::runtime::reflector::ObjectRef;
use scaleguard_sdk::adapter::{COMPONENT_LABEL, DGD_NAME_LABEL, selector};
use scaleguard_sdk::dgd::{DgdService, adapter_name};
use serde_json::{Value, json};

use crate::crd::{
    DgdRef, DynamoGraphDeploymentScalingAdapter as Adapter, ScalingAdapterSpec,
    ScalingAdapterStatus,
};
use crate::dgd::DynamoGraphDeployment;

/// The controller's name: its field manager, event reporter and `managed-by` label value.
pub const MANAGER: &str = "scaleguard-controller";
/// The label marking adapters this controller created (value [`MANAGER`]); it never touches others.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// Longest valid object name (DNS-1123 subdomain).
const MAX_NAME_LENGTH: usize = 253;
/// Longest valid label value.
const MAX_LABEL_VALUE_LENGTH: usize = 63;

/// Reasons of the Warning events the controller records.
pub mod reason {
    /// An adapter of the wanted name exists and is not this controller's (of this DGD service).
    pub const ADAPTER_CONFLICT: &str = "AdapterConflict";
    /// Two services' names lowercase to the same adapter name.
    pub const ADAPTER_NAME_COLLISION: &str = "AdapterNameCollision";
    /// The adapter name is not a valid DNS-1123 subdomain or is too long.
    pub const INVALID_ADAPTER_NAME: &str = "InvalidAdapterName";
    /// The DGD or service name is not a valid label value.
    pub const INVALID_LABEL_VALUE: &str = "InvalidLabelValue";
    /// The adapter's `spec.dgdRef` is empty or names a service the DGD lacks.
    pub const INVALID_DGD_REF: &str = "InvalidDgdRef";
    /// The adapter's DGD does not exist.
    pub const DGD_NOT_FOUND: &str = "DgdNotFound";
    /// The adapter's `spec.replicas` is negative.
    pub const INVALID_REPLICAS: &str = "InvalidReplicas";
    /// A reconcile failed (API conflict, transient or rejected request).
    pub const RECONCILE_FAILED: &str = "ReconcileFailed";
    /// The reason of the Normal event recorded when the controller scales a service.
    pub const SCALED: &str = "Scaled";
}

/// A Warning event a reconcile wants recorded on the object it reconciles.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Warning {
    /// The event's reason, one of [`reason`].
    pub reason: &'static str,
    /// The human-readable message.
    pub note: String,
}

impl Warning {
    fn new(reason: &'static str, note: impl Into<String>) -> Self {
        Self {
            reason,
            note: note.into(),
        }
    }
}

/// What a DGD asks for: the adapters to exist, and the names its enabled services claim.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DesiredAdapters {
    /// Adapters to exist, by name, as they would be created.
    pub adapters: BTreeMap<String, Adapter>,
    /// Every adapter name an enabled service maps to, valid or not: never deleted as leftovers.
    pub claimed: BTreeSet<String>,
    /// Services that get no adapter, and why.
    pub warnings: Vec<Warning>,
}

/// An adapter to delete, with the preconditions that make the delete safe against races.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deletion {
    /// The adapter's name.
    pub name: String,
    /// The uid it had when planned.
    pub uid: Option<String>,
    /// The resourceVersion it had when planned.
    pub resource_version: Option<String>,
}

/// The writes a DGD reconcile makes. Empty at steady state.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AdapterPlan {
    /// Adapters to create.
    pub create: Vec<Adapter>,
    /// This controller's adapters to delete.
    pub delete: Vec<Deletion>,
    /// Warning events to record on the DGD.
    pub warnings: Vec<Warning>,
}

/// A write of an adapter's replicas into `spec.services[<service>].replicas` of its DGD.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplicaWrite {
    /// The service's key in `spec.services` (original case).
    pub service: String,
    /// The service's effective replicas before the write.
    pub from: i32,
    /// The adapter's replicas, written into the DGD.
    pub to: i32,
}

impl ReplicaWrite {
    /// The JSON merge patch: only the service's `replicas`, conditional on the DGD's `resourceVersion`
    /// (the DGD the decision was made on), so a concurrent change turns into a 409 and a fresh decision.
    pub fn patch(&self, resource_version: Option<&str>) -> Value {
        let mut patch = json!({"spec": {"services": {&self.service: {"replicas": self.to}}}});
        if let Some(version) = resource_version {
            patch["metadata"] = json!({"resourceVersion": version});
        }
        patch
    }

    /// The `Scaled` event's message.
    pub fn note(&self) -> String {
        format!(
            "Scaled service {} from {} to {} replicas",
            self.service, self.from, self.to
        )
    }
}

/// The writes an adapter reconcile makes. Empty at steady state.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AdapterSync {
    /// The DGD write, when the adapter's replicas differ from the service's.
    pub scale: Option<ReplicaWrite>,
    /// The adapter's new status, when it differs from the current one.
    pub status: Option<ScalingAdapterStatus>,
    /// Warning events to record on the adapter.
    pub warnings: Vec<Warning>,
}

/// Whether this controller created `adapter` (it carries `app.kubernetes.io/managed-by: scaleguard-controller`).
pub fn is_managed(adapter: &Adapter) -> bool {
    label(&adapter.metadata, MANAGED_BY_LABEL) == Some(MANAGER)
}

/// The adapters `dgd` asks for: one per service with `scalingAdapter.enabled: true`, named
/// `<dgd>-<lowercased service>`, `spec.replicas` seeded from the service (absent → 1). Services whose
/// names collide once lowercased, or whose adapter name or labels would be invalid, get a warning instead.
pub fn desired_adapters(dgd: &DynamoGraphDeployment) -> DesiredAdapters {
    let dgd_name = dgd.metadata.name.as_deref().unwrap_or_default();
    let mut by_name: BTreeMap<String, Vec<(&str, &DgdService)>> = BTreeMap::new();
    for (service_name, service) in &dgd.spec.services {
        if service.adapter_enabled() {
            by_name
                .entry(adapter_name(dgd_name, service_name))
                .or_default()
                .push((service_name, service));
        }
    }
    let mut desired = DesiredAdapters::default();
    for (name, services) in by_name {
        desired.claimed.insert(name.clone());
        match services.as_slice() {
            [(service_name, service)] => match validate(dgd_name, service_name, &name) {
                Ok(()) => {
                    desired
                        .adapters
                        .insert(name, build_adapter(dgd, service_name, service));
                }
                Err(warning) => desired.warnings.push(warning),
            },
            colliding => {
                let names: Vec<&str> = colliding.iter().map(|(service, _)| *service).collect();
                desired.warnings.push(Warning::new(
                    reason::ADAPTER_NAME_COLLISION,
                    format!(
                        "services {} all map to adapter name {name}; no adapter is created for them",
                        names.join(", ")
                    ),
                ));
            }
        }
    }
    desired
}

/// The writes that bring the adapters of `dgd` to what it asks for, given `existing`, the adapters in
/// its namespace. Creates missing adapters; deletes this controller's adapters of this DGD that no
/// enabled service claims; reports (never touches) adapters of the wanted names that are not its own.
/// An existing adapter's `spec.replicas` is never planned to change.
pub fn plan_adapters(dgd: &DynamoGraphDeployment, existing: &[Adapter]) -> AdapterPlan {
    let mut plan = AdapterPlan::default();
    if dgd.metadata.deletion_timestamp.is_some() {
        return plan;
    }
    let dgd_name = dgd.metadata.name.as_deref().unwrap_or_default();
    let desired = desired_adapters(dgd);
    plan.warnings = desired.warnings;
    let existing_by_name: BTreeMap<&str, &Adapter> = existing
        .iter()
        .filter_map(|adapter| Some((adapter.metadata.name.as_deref()?, adapter)))
        .collect();
    let ours = |adapter: &Adapter| {
        is_managed(adapter) && label(&adapter.metadata, DGD_NAME_LABEL) == Some(dgd_name)
    };

    for (name, wanted) in desired.adapters {
        match existing_by_name.get(name.as_str()) {
            None => plan.create.push(wanted),
            Some(current) if !ours(current) => {
                plan.warnings.push(conflict(&name, current));
            }
            Some(current) if current.spec.dgd_ref == wanted.spec.dgd_ref => {}
            // Ours, for a service of this DGD that is gone (e.g. renamed to a new case): delete it;
            // its deletion triggers the next reconcile, which creates the new one.
            Some(current) => plan.delete.extend(deletion(current)),
        }
    }
    for adapter in existing {
        let name = adapter.metadata.name.as_deref().unwrap_or_default();
        if ours(adapter) && !desired.claimed.contains(name) {
            plan.delete.extend(deletion(adapter));
        }
    }
    plan
}

/// The adapters an adapter reconcile must revisit when `dgd` changes: those of its enabled services.
pub fn adapter_refs(dgd: &DynamoGraphDeployment) -> Vec<ObjectRef<Adapter>> {
    let dgd_name = dgd.metadata.name.as_deref().unwrap_or_default();
    let namespace = dgd.metadata.namespace.as_deref().unwrap_or_default();
    dgd.spec
        .services
        .iter()
        .filter(|(_, service)| service.adapter_enabled())
        .map(|(service, _)| ObjectRef::new(&adapter_name(dgd_name, service)).within(namespace))
        .collect()
}

/// The DGD an adapter reconcile reads: none for an adapter being deleted (nothing to do) or one whose
/// `spec.dgdRef.name` is empty ([`sync_adapter`] reports it).
pub fn dgd_to_fetch(adapter: &Adapter) -> Option<&str> {
    if adapter.metadata.deletion_timestamp.is_some() || adapter.spec.dgd_ref.name.is_empty() {
        None
    } else {
        Some(&adapter.spec.dgd_ref.name)
    }
}

/// The write `adapter` needs on its service: the adapter's `spec.replicas` into the DGD when they differ
/// from the service's effective replicas (absent → 1), and only while the service has the adapter enabled.
pub fn replica_write(adapter: &Adapter, service: &DgdService) -> Option<ReplicaWrite> {
    let current = service.effective_replicas();
    let wanted = adapter.spec.replicas;
    (service.adapter_enabled() && wanted != current).then(|| ReplicaWrite {
        service: adapter.spec.dgd_ref.service_name.clone(),
        from: current,
        to: wanted,
    })
}

/// The status `adapter` should have: `replicas` observed in the DGD's `status.services[svc].replicas`
/// (else the adapter's `spec.replicas`), the service's pod `selector`, and `last_scale_time`.
pub fn adapter_status(
    adapter: &Adapter,
    dgd: &DynamoGraphDeployment,
    last_scale_time: Option<Time>,
) -> ScalingAdapterStatus {
    let DgdRef { name, service_name } = &adapter.spec.dgd_ref;
    let observed = dgd
        .status
        .as_ref()
        .and_then(|status| status.services.get(service_name))
        .and_then(|service| service.replicas);
    ScalingAdapterStatus {
        replicas: Some(observed.unwrap_or(adapter.spec.replicas)),
        selector: Some(selector(name, service_name)),
        last_scale_time,
    }
}

/// Everything an adapter reconcile decides, given the adapter, its DGD as read (`None`: not found) and
/// the current time (stamped into `status.lastScaleTime` only when it scales).
///
/// Adapters being deleted, and adapters of other controllers, are never written; the latter only get a
/// warning when their `dgdRef` cannot be resolved. This controller's adapters are synced only while their
/// service has the adapter enabled and the DGD is the one that owns them.
pub fn sync_adapter(
    adapter: &Adapter,
    dgd: Option<&DynamoGraphDeployment>,
    now: Timestamp,
) -> AdapterSync {
    let mut sync = AdapterSync::default();
    if adapter.metadata.deletion_timestamp.is_some() {
        return sync;
    }
    let DgdRef { name, service_name } = &adapter.spec.dgd_ref;
    if name.is_empty() || service_name.is_empty() {
        sync.warnings.push(Warning::new(
            reason::INVALID_DGD_REF,
            "spec.dgdRef.name and spec.dgdRef.serviceName must both be set",
        ));
        return sync;
    }
    let Some(dgd) = dgd else {
        sync.warnings.push(Warning::new(
            reason::DGD_NOT_FOUND,
            format!(
                "DynamoGraphDeployment {name} not found; the adapter is orphaned until garbage collection deletes it"
            ),
        ));
        return sync;
    };
    let managed = is_managed(adapter);
    let Some(service) = dgd.spec.services.get(service_name) else {
        // This controller's adapters of removed services are deleted by the DGD reconcile.
        if !managed {
            sync.warnings.push(Warning::new(
                reason::INVALID_DGD_REF,
                format!("service {service_name} not found in DynamoGraphDeployment {name}"),
            ));
        }
        return sync;
    };
    if !managed || !service.adapter_enabled() || !owned_by(adapter, dgd) {
        return sync;
    }
    if adapter.spec.replicas < 0 {
        sync.warnings.push(Warning::new(
            reason::INVALID_REPLICAS,
            format!(
                "spec.replicas is {}; it must be at least 0",
                adapter.spec.replicas
            ),
        ));
        return sync;
    }
    sync.scale = replica_write(adapter, service);
    let current = adapter.status.clone().unwrap_or_default();
    let last_scale_time = match sync.scale {
        Some(_) => Some(Time(now)),
        None => current.last_scale_time.clone(),
    };
    let status = adapter_status(adapter, dgd, last_scale_time);
    sync.status = (status != current).then_some(status);
    sync
}

fn build_adapter(dgd: &DynamoGraphDeployment, service_name: &str, service: &DgdService) -> Adapter {
    let dgd_name = dgd.metadata.name.clone().unwrap_or_default();
    let labels = BTreeMap::from([
        (MANAGED_BY_LABEL.to_owned(), MANAGER.to_owned()),
        (DGD_NAME_LABEL.to_owned(), dgd_name.clone()),
        (COMPONENT_LABEL.to_owned(), service_name.to_owned()),
    ]);
    let owner = OwnerReference {
        api_version: DynamoGraphDeployment::api_version(&()).into_owned(),
        kind: DynamoGraphDeployment::kind(&()).into_owned(),
        name: dgd_name.clone(),
        uid: dgd.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    };
    Adapter {
        metadata: ObjectMeta {
            name: Some(adapter_name(&dgd_name, service_name)),
            namespace: dgd.metadata.namespace.clone(),
            labels: Some(labels),
            owner_references: Some(vec![owner]),
            ..ObjectMeta::default()
        },
        spec: ScalingAdapterSpec {
            replicas: service.effective_replicas(),
            dgd_ref: DgdRef {
                name: dgd_name,
                service_name: service_name.to_owned(),
            },
        },
        status: None,
    }
}

fn validate(dgd_name: &str, service_name: &str, adapter_name: &str) -> Result<(), Warning> {
    if adapter_name.len() > MAX_NAME_LENGTH {
        return Err(Warning::new(
            reason::INVALID_ADAPTER_NAME,
            format!(
                "adapter name for service {service_name} is {} characters long, more than {MAX_NAME_LENGTH}; no adapter is created",
                adapter_name.len()
            ),
        ));
    }
    if !is_dns1123_subdomain(adapter_name) {
        return Err(Warning::new(
            reason::INVALID_ADAPTER_NAME,
            format!(
                "adapter name {adapter_name} for service {service_name} is not a valid DNS-1123 subdomain; no adapter is created"
            ),
        ));
    }
    for value in [dgd_name, service_name] {
        if !is_label_value(value) {
            return Err(Warning::new(
                reason::INVALID_LABEL_VALUE,
                format!(
                    "{value} is not a valid label value (at most {MAX_LABEL_VALUE_LENGTH} characters); no adapter is created for service {service_name}"
                ),
            ));
        }
    }
    Ok(())
}

fn conflict(name: &str, current: &Adapter) -> Warning {
    let note = if is_managed(current) {
        let DgdRef {
            name: dgd,
            service_name,
        } = &current.spec.dgd_ref;
        format!(
            "adapter {name} already exists for service {service_name} of DynamoGraphDeployment {dgd}; leaving it alone"
        )
    } else {
        format!(
            "adapter {name} already exists and is not managed by {MANAGER} (no {MANAGED_BY_LABEL}={MANAGER} label); leaving it alone"
        )
    };
    Warning::new(reason::ADAPTER_CONFLICT, note)
}

fn deletion(adapter: &Adapter) -> Option<Deletion> {
    let metadata = &adapter.metadata;
    metadata.deletion_timestamp.is_none().then(|| Deletion {
        name: metadata.name.clone().unwrap_or_default(),
        uid: metadata.uid.clone(),
        resource_version: metadata.resource_version.clone(),
    })
}

/// Whether `dgd` is the adapter's controller owner: an adapter left over from a deleted DGD of the same
/// name waits for garbage collection instead of scaling the new one.
fn owned_by(adapter: &Adapter, dgd: &DynamoGraphDeployment) -> bool {
    let Some(uid) = dgd.metadata.uid.as_deref() else {
        return false;
    };
    adapter
        .metadata
        .owner_references
        .iter()
        .flatten()
        .any(|owner| owner.uid == uid && owner.controller == Some(true))
}

fn label<'a>(metadata: &'a ObjectMeta, key: &str) -> Option<&'a str> {
    metadata.labels.as_ref()?.get(key).map(String::as_str)
}

/// A DNS-1123 subdomain: dot-separated labels of `[a-z0-9-]`, each starting and ending alphanumeric,
/// 253 characters at most.
fn is_dns1123_subdomain(name: &str) -> bool {
    name.len() <= MAX_NAME_LENGTH
        && name.split('.').all(|part| {
            let bytes = part.as_bytes();
            !bytes.is_empty()
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
                && bytes[0] != b'-'
                && bytes[bytes.len() - 1] != b'-'
        })
}

/// A label value: empty, or up to 63 of `[A-Za-z0-9-_.]` starting and ending alphanumeric.
fn is_label_value(value: &str) -> bool {
    let bytes = value.as_bytes();
    bytes.is_empty()
        || (bytes.len() <= MAX_LABEL_VALUE_LENGTH
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            && bytes[0].is_ascii_alphanumeric()
            && bytes[bytes.len() - 1].is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests;
