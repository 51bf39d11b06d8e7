//! The pure steps of both reconciles, for either served version of the DGD and its adapters (through
//! [`DgdResource`] and [`AdapterResource`], which read both into the SDK's version-neutral view): no I/O,
//! no clock, so every rule is a plain `#[test]`.
//!
//! * Start-up: [`served_version`] (the Dynamo API version `auto` picks).
//! * DGD reconcile: [`desired_adapters`] (what the DGD asks for) → [`plan_adapters`] (creates, deletes and
//!   warnings, given the adapters that exist).
//! * Adapter reconcile: [`dgd_to_fetch`] → [`sync_adapter`], built from [`replica_write`] (the DGD write an
//!   adapter needs) and [`adapter_status`].
//!
//! A *unit* is what one adapter scales: a component (v1alpha1: service) outside any group, or a v1beta1
//! component group. The adapter is the source of truth for replicas: nothing here ever derives an
//! existing adapter's `spec.replicas` from the DGD; a DGD's replicas only seed an adapter that is being
//! created.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    APIResourceList, ObjectMeta, OwnerReference, Time,
};
use k8s_openapi::jiff::Timestamp;
use kube::Resource;
use kube::api::Patch;
use kube::runtime::reflector::ObjectRef;
use scaleguard_sdk::adapter::{self, COMPONENT_LABEL, DGD_NAME_LABEL, UnitRef, selector};
use scaleguard_sdk::dgd::{self, DgdVersion, DgdView, Unit, adapter_name};
use serde_json::Value;

use crate::crd::{AdapterResource, ScalingAdapterStatus};
use crate::dgd::DgdResource;

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
    /// An adapter of the wanted name exists and is not this controller's (of this DGD unit).
    pub const ADAPTER_CONFLICT: &str = "AdapterConflict";
    /// Two units' names lowercase to the same adapter name.
    pub const ADAPTER_NAME_COLLISION: &str = "AdapterNameCollision";
    /// The adapter name is not a valid DNS-1123 subdomain or is too long.
    pub const INVALID_ADAPTER_NAME: &str = "InvalidAdapterName";
    /// The DGD or unit name is not a valid label value.
    pub const INVALID_LABEL_VALUE: &str = "InvalidLabelValue";
    /// The adapter's `spec.dgdRef` is empty or names a unit the DGD lacks.
    pub const INVALID_DGD_REF: &str = "InvalidDgdRef";
    /// The adapter's DGD does not exist.
    pub const DGD_NOT_FOUND: &str = "DgdNotFound";
    /// The adapter's `spec.replicas` is negative.
    pub const INVALID_REPLICAS: &str = "InvalidReplicas";
    /// A reconcile failed (API conflict, transient or rejected request).
    pub const RECONCILE_FAILED: &str = "ReconcileFailed";
    /// The reason of the Normal event recorded when the controller scales a unit.
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

/// What a DGD asks for: the adapters to exist, and the names its adapter-owned units claim.
#[derive(Clone, Debug, PartialEq)]
pub struct DesiredAdapters<A> {
    /// Adapters to exist, by name, as they would be created.
    pub adapters: BTreeMap<String, A>,
    /// Every adapter name an adapter-owned unit maps to, valid or not: never deleted as leftovers.
    pub claimed: BTreeSet<String>,
    /// Units that get no adapter, and why.
    pub warnings: Vec<Warning>,
}

impl<A> Default for DesiredAdapters<A> {
    fn default() -> Self {
        Self {
            adapters: BTreeMap::new(),
            claimed: BTreeSet::new(),
            warnings: Vec::new(),
        }
    }
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
#[derive(Clone, Debug, PartialEq)]
pub struct AdapterPlan<A> {
    /// Adapters to create.
    pub create: Vec<A>,
    /// This controller's adapters to delete.
    pub delete: Vec<Deletion>,
    /// Warning events to record on the DGD.
    pub warnings: Vec<Warning>,
}

impl<A> Default for AdapterPlan<A> {
    fn default() -> Self {
        Self {
            create: Vec::new(),
            delete: Vec::new(),
            warnings: Vec::new(),
        }
    }
}

/// A write of an adapter's replicas into its unit of the DGD.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplicaWrite {
    /// The unit, as messages name it: `service decode`, `component decode`, `component group Engines`.
    pub unit: String,
    /// The unit's effective replicas before the write.
    pub from: i32,
    /// The adapter's replicas, written into the DGD.
    pub to: i32,
    /// The patch that writes them, valid only on the DGD the decision was made on
    /// ([`DgdResource::replica_patch`]): a concurrent change makes the API server refuse it, and the
    /// next reconcile decides again on fresh state.
    pub patch: Patch<Value>,
}

impl ReplicaWrite {
    /// The `Scaled` event's message.
    pub fn note(&self) -> String {
        format!(
            "Scaled {} from {} to {} replicas",
            self.unit, self.from, self.to
        )
    }
}

/// The writes an adapter reconcile makes. Empty at steady state.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AdapterSync {
    /// The DGD write, when the adapter's replicas differ from the unit's.
    pub scale: Option<ReplicaWrite>,
    /// The adapter's new status, when it differs from the current one.
    pub status: Option<ScalingAdapterStatus>,
    /// Warning events to record on the adapter.
    pub warnings: Vec<Warning>,
}

/// The Dynamo API version `auto` picks, from what the cluster serves at `nvidia.com/v1beta1` (`None`:
/// not served at all): v1beta1 when both DGDs and their adapters are served there (Dynamo 1.2 and
/// later), else v1alpha1.
pub fn served_version(v1beta1: Option<&APIResourceList>) -> DgdVersion {
    let served = |plural: &str| {
        v1beta1.is_some_and(|list| {
            list.resources
                .iter()
                .any(|resource| resource.name == plural)
        })
    };
    if served(dgd::RESOURCE) && served(adapter::RESOURCE) {
        DgdVersion::V1beta1
    } else {
        DgdVersion::V1alpha1
    }
}

/// Whether this controller created `adapter` (it carries `app.kubernetes.io/managed-by: scaleguard-controller`).
pub fn is_managed(adapter: &impl Resource) -> bool {
    label(adapter.meta(), MANAGED_BY_LABEL) == Some(MANAGER)
}

/// The adapters `dgd` asks for: one per unit an adapter owns (v1alpha1 `scalingAdapter.enabled: true`,
/// the v1beta1 `scalingAdapter` marker on a component or group, a worker under the power budget mode, as
/// the SDK's view says), named `<dgd>-<lowercased unit>`, `spec.replicas` seeded from the unit (absent →
/// 1). Units whose names collide once lowercased, or whose adapter name or labels would be invalid, get
/// a warning instead.
pub fn desired_adapters<D: DgdResource>(dgd: &D) -> DesiredAdapters<D::Adapter> {
    let view = dgd.view();
    let dgd_name = dgd.meta().name.as_deref().unwrap_or_default();
    let mut by_name: BTreeMap<String, Vec<Unit<'_>>> = BTreeMap::new();
    for unit in view.units().into_iter().filter(adapter_owns) {
        by_name
            .entry(adapter_name(dgd_name, unit.name()))
            .or_default()
            .push(unit);
    }
    let mut desired = DesiredAdapters::default();
    for (name, units) in by_name {
        desired.claimed.insert(name.clone());
        match units.as_slice() {
            [unit] => match validate(view.version, dgd_name, unit_ref(unit), &name) {
                Ok(()) => {
                    let adapter = build_adapter(dgd, &name, unit);
                    desired.adapters.insert(name, adapter);
                }
                Err(warning) => desired.warnings.push(warning),
            },
            colliding => desired.warnings.push(Warning::new(
                reason::ADAPTER_NAME_COLLISION,
                format!(
                    "{} all map to adapter name {name}; no adapter is created for them",
                    list_units(view.version, colliding)
                ),
            )),
        }
    }
    desired
}

/// The writes that bring the adapters of `dgd` to what it asks for, given `existing`, the adapters in
/// its namespace. Creates missing adapters; deletes this controller's adapters of this DGD that no
/// adapter-owned unit claims; reports (never touches) adapters of the wanted names that are not its own.
/// An existing adapter's `spec.replicas` is never planned to change.
pub fn plan_adapters<D: DgdResource>(dgd: &D, existing: &[D::Adapter]) -> AdapterPlan<D::Adapter> {
    let mut plan = AdapterPlan::default();
    if dgd.meta().deletion_timestamp.is_some() {
        return plan;
    }
    let dgd_name = dgd.meta().name.as_deref().unwrap_or_default();
    let desired = desired_adapters(dgd);
    plan.warnings = desired.warnings;
    let existing_by_name: BTreeMap<&str, &D::Adapter> = existing
        .iter()
        .filter_map(|adapter| Some((adapter.meta().name.as_deref()?, adapter)))
        .collect();
    let ours = |adapter: &D::Adapter| {
        is_managed(adapter) && label(adapter.meta(), DGD_NAME_LABEL) == Some(dgd_name)
    };

    for (name, wanted) in desired.adapters {
        match existing_by_name.get(name.as_str()) {
            None => plan.create.push(wanted),
            Some(current) if !ours(current) => {
                plan.warnings.push(conflict(&name, *current));
            }
            Some(current) if same_target(*current, &wanted) => {}
            // Ours, for a unit of this DGD that is gone (e.g. renamed to a new case): delete it; its
            // deletion triggers the next reconcile, which creates the new one.
            Some(current) => plan.delete.extend(deletion(*current)),
        }
    }
    for adapter in existing {
        let name = adapter.meta().name.as_deref().unwrap_or_default();
        if ours(adapter) && !desired.claimed.contains(name) {
            plan.delete.extend(deletion(adapter));
        }
    }
    plan
}

/// The adapters an adapter reconcile must revisit when `dgd` changes: those of its adapter-owned units.
pub fn adapter_refs<D: DgdResource>(dgd: &D) -> Vec<ObjectRef<D::Adapter>> {
    let dgd_name = dgd.meta().name.as_deref().unwrap_or_default();
    let namespace = dgd.meta().namespace.as_deref().unwrap_or_default();
    dgd.view()
        .units()
        .into_iter()
        .filter(adapter_owns)
        .map(|unit| ObjectRef::new(&adapter_name(dgd_name, unit.name())).within(namespace))
        .collect()
}

/// The DGD an adapter reconcile reads: none for an adapter being deleted (nothing to do) or one whose
/// `spec.dgdRef.name` is empty ([`sync_adapter`] reports it).
pub fn dgd_to_fetch<A: AdapterResource>(adapter: &A) -> Option<&str> {
    if adapter.meta().deletion_timestamp.is_some() || adapter.dgd_name().is_empty() {
        None
    } else {
        Some(adapter.dgd_name())
    }
}

/// The write `adapter` needs on its unit of `dgd`: the adapter's `spec.replicas` into the DGD when they
/// differ from the unit's effective replicas (absent → 1), and only while an adapter owns the unit's
/// replicas.
pub fn replica_write<A: AdapterResource>(adapter: &A, dgd: &A::Dgd) -> Option<ReplicaWrite> {
    let view = dgd.view();
    let target = adapter.unit_ref();
    let unit = find_unit(&view, target).filter(adapter_owns)?;
    let (from, to) = (unit.replicas(), adapter.replicas());
    if from == to {
        return None;
    }
    Some(ReplicaWrite {
        unit: describe(view.version, target),
        from,
        to,
        patch: dgd.replica_patch(target, to)?,
    })
}

/// The status `adapter` should have: `replicas` observed in the DGD's status (v1alpha1
/// `status.services[svc]`, v1beta1 `status.components[name]`; else the adapter's `spec.replicas`), the
/// unit's pod `selector`, and `last_scale_time`.
pub fn adapter_status<A: AdapterResource>(
    adapter: &A,
    dgd: &A::Dgd,
    last_scale_time: Option<Time>,
) -> ScalingAdapterStatus {
    let unit = adapter.unit_ref();
    let observed = dgd.observed_replicas(unit);
    ScalingAdapterStatus {
        replicas: Some(observed.unwrap_or(adapter.replicas())),
        selector: Some(selector(adapter.dgd_name(), unit.name())),
        last_scale_time,
    }
}

/// Everything an adapter reconcile decides, given the adapter, its DGD as read (`None`: not found) and
/// the current time (stamped into `status.lastScaleTime` only when it scales).
///
/// Adapters being deleted, and adapters of other controllers, are never written; the latter only get a
/// warning when their `dgdRef` cannot be resolved. This controller's adapters are synced only while an
/// adapter owns their unit's replicas and the DGD is the one that owns them.
pub fn sync_adapter<A: AdapterResource>(
    adapter: &A,
    dgd: Option<&A::Dgd>,
    now: Timestamp,
) -> AdapterSync {
    let mut sync = AdapterSync::default();
    if adapter.meta().deletion_timestamp.is_some() {
        return sync;
    }
    let version = <A::Dgd as DgdResource>::VERSION;
    let name = adapter.dgd_name();
    let target = adapter.unit_ref();
    if name.is_empty() || target.name().is_empty() {
        let required = match version {
            DgdVersion::V1alpha1 => "spec.dgdRef.name and spec.dgdRef.serviceName must both be set",
            DgdVersion::V1beta1 => {
                "spec.dgdRef.name and spec.dgdRef.componentName or spec.dgdRef.componentGroupName must be set"
            }
        };
        sync.warnings
            .push(Warning::new(reason::INVALID_DGD_REF, required));
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
    let view = dgd.view();
    let Some(unit) = find_unit(&view, target) else {
        // This controller's adapters of removed units are deleted by the DGD reconcile.
        if !managed {
            sync.warnings.push(Warning::new(
                reason::INVALID_DGD_REF,
                format!(
                    "{} not found in DynamoGraphDeployment {name}",
                    describe(version, target)
                ),
            ));
        }
        return sync;
    };
    if !managed || !adapter_owns(&unit) || !owned_by(adapter, dgd) {
        return sync;
    }
    if adapter.replicas() < 0 {
        sync.warnings.push(Warning::new(
            reason::INVALID_REPLICAS,
            format!(
                "spec.replicas is {}; it must be at least 0",
                adapter.replicas()
            ),
        ));
        return sync;
    }
    sync.scale = replica_write(adapter, dgd);
    let current = adapter.status().cloned().unwrap_or_default();
    let last_scale_time = match sync.scale {
        Some(_) => Some(Time(now)),
        None => current.last_scale_time.clone(),
    };
    let status = adapter_status(adapter, dgd, last_scale_time);
    sync.status = (status != current).then_some(status);
    sync
}

/// Whether an adapter owns `unit`'s replicas (as the SDK's view says); a group member's belong to its
/// group.
fn adapter_owns(unit: &Unit<'_>) -> bool {
    match unit {
        Unit::Component(component) => component.adapter && component.group.is_none(),
        Unit::Group(group) => group.adapter,
    }
}

/// The component or component group `target` names in `view`.
fn find_unit<'a>(view: &'a DgdView, target: UnitRef<'_>) -> Option<Unit<'a>> {
    match target {
        UnitRef::Component(name) => view.component(name).map(Unit::Component),
        UnitRef::Group(name) => view.group(name).map(Unit::Group),
    }
}

fn unit_ref<'a>(unit: &Unit<'a>) -> UnitRef<'a> {
    match unit {
        Unit::Component(component) => UnitRef::Component(&component.name),
        Unit::Group(group) => UnitRef::Group(&group.name),
    }
}

/// What messages call a unit: `service`, `component` or `component group`.
fn noun(version: DgdVersion, unit: UnitRef<'_>) -> &'static str {
    match unit {
        UnitRef::Component(_) => version.component_noun(),
        UnitRef::Group(_) => "component group",
    }
}

/// A unit as messages name it: `service decode`, `component decode`, `component group Engines`.
fn describe(version: DgdVersion, unit: UnitRef<'_>) -> String {
    format!("{} {}", noun(version, unit), unit.name())
}

/// Several units as messages name them: `services Decode, decode`, or each described when they are of
/// different kinds.
fn list_units(version: DgdVersion, units: &[Unit<'_>]) -> String {
    let refs: Vec<UnitRef<'_>> = units.iter().map(unit_ref).collect();
    let nouns: BTreeSet<&str> = refs.iter().map(|unit| noun(version, *unit)).collect();
    match nouns.into_iter().collect::<Vec<_>>().as_slice() {
        [noun] => {
            let names: Vec<&str> = refs.iter().map(UnitRef::name).collect();
            format!("{noun}s {}", names.join(", "))
        }
        _ => {
            let described: Vec<String> = refs.iter().map(|unit| describe(version, *unit)).collect();
            described.join(", ")
        }
    }
}

fn build_adapter<D: DgdResource>(dgd: &D, name: &str, unit: &Unit<'_>) -> D::Adapter {
    let metadata = dgd.meta();
    let dgd_name = metadata.name.clone().unwrap_or_default();
    let labels = BTreeMap::from([
        (MANAGED_BY_LABEL.to_owned(), MANAGER.to_owned()),
        (DGD_NAME_LABEL.to_owned(), dgd_name.clone()),
        (COMPONENT_LABEL.to_owned(), unit.name().to_owned()),
    ]);
    let owner = OwnerReference {
        api_version: D::api_version(&()).into_owned(),
        kind: D::kind(&()).into_owned(),
        name: dgd_name.clone(),
        uid: metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    };
    let adapter_metadata = ObjectMeta {
        name: Some(name.to_owned()),
        namespace: metadata.namespace.clone(),
        labels: Some(labels),
        owner_references: Some(vec![owner]),
        ..ObjectMeta::default()
    };
    D::Adapter::build(adapter_metadata, dgd_name, unit_ref(unit), unit.replicas())
}

fn validate(
    version: DgdVersion,
    dgd_name: &str,
    unit: UnitRef<'_>,
    adapter_name: &str,
) -> Result<(), Warning> {
    let described = describe(version, unit);
    if adapter_name.len() > MAX_NAME_LENGTH {
        return Err(Warning::new(
            reason::INVALID_ADAPTER_NAME,
            format!(
                "adapter name for {described} is {} characters long, more than {MAX_NAME_LENGTH}; no adapter is created",
                adapter_name.len()
            ),
        ));
    }
    if !is_dns1123_subdomain(adapter_name) {
        return Err(Warning::new(
            reason::INVALID_ADAPTER_NAME,
            format!(
                "adapter name {adapter_name} for {described} is not a valid DNS-1123 subdomain; no adapter is created"
            ),
        ));
    }
    for value in [dgd_name, unit.name()] {
        if !is_label_value(value) {
            return Err(Warning::new(
                reason::INVALID_LABEL_VALUE,
                format!(
                    "{value} is not a valid label value (at most {MAX_LABEL_VALUE_LENGTH} characters); no adapter is created for {described}"
                ),
            ));
        }
    }
    Ok(())
}

/// Whether two adapters scale the same unit of the same DGD.
fn same_target<A: AdapterResource>(a: &A, b: &A) -> bool {
    a.dgd_name() == b.dgd_name() && a.unit_ref() == b.unit_ref()
}

fn conflict<A: AdapterResource>(name: &str, current: &A) -> Warning {
    let note = if is_managed(current) {
        format!(
            "adapter {name} already exists for {} of DynamoGraphDeployment {}; leaving it alone",
            describe(<A::Dgd as DgdResource>::VERSION, current.unit_ref()),
            current.dgd_name()
        )
    } else {
        format!(
            "adapter {name} already exists and is not managed by {MANAGER} (no {MANAGED_BY_LABEL}={MANAGER} label); leaving it alone"
        )
    };
    Warning::new(reason::ADAPTER_CONFLICT, note)
}

fn deletion(adapter: &impl Resource) -> Option<Deletion> {
    let metadata = adapter.meta();
    metadata.deletion_timestamp.is_none().then(|| Deletion {
        name: metadata.name.clone().unwrap_or_default(),
        uid: metadata.uid.clone(),
        resource_version: metadata.resource_version.clone(),
    })
}

/// Whether `dgd` is the adapter's controller owner: an adapter left over from a deleted DGD of the same
/// name waits for garbage collection instead of scaling the new one.
fn owned_by(adapter: &impl Resource, dgd: &impl Resource) -> bool {
    let Some(uid) = dgd.meta().uid.as_deref() else {
        return false;
    };
    adapter
        .meta()
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
