//! The two reconciles and their API ends: fetch what a [`pipeline`](crate::pipeline) step needs, apply
//! what it decides, record events and metrics. Nothing here decides anything about replicas.
//!
//! * Start-up: [`api_version`] asks the API server which Dynamo API version it serves.
//! * DGD reconcile (`dgd`): triggered by DGDs and by the adapters they own; lists the adapters of the
//!   DGD's namespace and creates/deletes this controller's adapters.
//! * Adapter reconcile (`adapter`): triggered by adapters and by their DGDs; reads the adapter's DGD,
//!   patches the unit's replicas when the adapter says otherwise (v1alpha1
//!   `spec.services[<svc>].replicas`, v1beta1 one entry of `spec.components` or
//!   `spec.experimental.componentGroups`), records `Scaled`, and keeps the adapter's status.
//!
//! Both are generic over the served version ([`DgdResource`]); [`run`] watches the one of the
//! [`Context`].

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt::Debug;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures::{FutureExt, Stream, StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, Preconditions};
use kube::runtime::controller::{self as runtime, Action, Controller};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::{WatchStreamExt, reflector, watcher};
use kube::{Client, Resource, ResourceExt};
use scaleguard_sdk::dgd::DgdVersion;
use serde::de::DeserializeOwned;
use serde_json::json;
use tracing::{Instrument, debug, info, info_span, warn};

use crate::crd::AdapterResource;
use crate::dgd::{self, DgdResource, DynamoGraphDeployment};
use crate::error::{Error, backoff};
use crate::events::{self, EventSpec, EventType};
use crate::metrics::Metrics;
use crate::pipeline::{
    self, Deletion, MANAGER, Warning, adapter_refs, dgd_to_fetch, plan_adapters, served_version,
    sync_adapter,
};

/// How often a healthy object is reconciled again even without a change.
pub const RESYNC: Duration = Duration::from_secs(300);
/// `controller` label of the DGD reconcile.
const DGD_CONTROLLER: &str = "dgd";
/// `controller` label of the adapter reconcile.
const ADAPTER_CONTROLLER: &str = "adapter";

/// Everything a reconcile needs: the client, metrics, the event reporter's identity, a clock, the Dynamo
/// API version to watch, and the per-object retry counts and last recorded warnings (forgotten when the
/// object is deleted).
pub struct Context {
    client: Client,
    metrics: Arc<Metrics>,
    instance: String,
    clock: fn() -> Timestamp,
    api_version: DgdVersion,
    retries: Mutex<HashMap<String, u32>>,
    warned: Mutex<HashMap<String, BTreeSet<Warning>>>,
}

impl Context {
    /// A context reporting events as `instance` (the pod's name).
    pub fn new(client: Client, metrics: Arc<Metrics>, instance: impl Into<String>) -> Self {
        Self {
            client,
            metrics,
            instance: instance.into(),
            clock: Timestamp::now,
            api_version: DgdVersion::V1alpha1,
            retries: Mutex::default(),
            warned: Mutex::default(),
        }
    }

    /// The same context reading the time from `clock` (tests pin it).
    #[must_use]
    pub fn with_clock(mut self, clock: fn() -> Timestamp) -> Self {
        self.clock = clock;
        self
    }

    /// The same context for a cluster served at `version` (default: v1alpha1); see [`api_version`].
    #[must_use]
    pub fn with_api_version(mut self, version: DgdVersion) -> Self {
        self.api_version = version;
        self
    }

    /// Records an event; a failure is logged, never fatal: the write it reports has happened.
    async fn record(&self, spec: &EventSpec<'_>) {
        let namespace = spec.regarding.namespace.as_deref().unwrap_or("default");
        let events: Api<Event> = Api::namespaced(self.client.clone(), namespace);
        let event = events::build(spec, &self.instance, (self.clock)());
        if let Err(error) = events.create(&post_params(), &event).await {
            warn!(%error, reason = spec.reason, "could not record event");
        }
    }

    /// Records the warnings of one reconcile of `key` that were not recorded after the previous one, so a
    /// lasting problem is reported once, not on every pass.
    async fn warn(&self, key: &str, regarding: &ObjectReference, warnings: Vec<Warning>) {
        let current: BTreeSet<Warning> = warnings.into_iter().collect();
        let previous = {
            let mut warned = self.warned.lock().unwrap_or_else(PoisonError::into_inner);
            if current.is_empty() {
                warned.remove(key)
            } else {
                warned.insert(key.to_owned(), current.clone())
            }
        }
        .unwrap_or_default();
        for warning in current.difference(&previous) {
            warn!(object = key, reason = warning.reason, "{}", warning.note);
            self.record(&EventSpec {
                type_: EventType::Warning,
                reason: warning.reason,
                action: "Reconcile",
                note: &warning.note,
                regarding: regarding.clone(),
                related: None,
            })
            .await;
        }
    }

    fn retry_attempt(&self, key: &str) -> u32 {
        let mut retries = self.retries.lock().unwrap_or_else(PoisonError::into_inner);
        let attempt = retries.entry(key.to_owned()).or_default();
        *attempt = attempt.saturating_add(1);
        *attempt
    }

    fn reset_retries(&self, key: &str) {
        self.retries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
    }

    /// Forgets the retry counts and recorded warnings of the objects of kind `K` the watch says are
    /// gone: one it reports deleted, or, after a re-list (which follows a lost watch, when deletions may
    /// have gone unreported), every one `store` no longer holds.
    fn forget_gone<K>(&self, event: &watcher::Event<K>, store: &Store<K>)
    where
        K: Resource<DynamicType = ()> + Clone,
    {
        match event {
            watcher::Event::Delete(object) => {
                let deleted = object_key(object);
                self.forget(|key| key == deleted);
            }
            watcher::Event::InitDone => {
                let kind = format!("{}/", K::kind(&()));
                let listed: HashSet<String> = store
                    .state()
                    .iter()
                    .map(|object| object_key(object.as_ref()))
                    .collect();
                self.forget(|key| key.starts_with(&kind) && !listed.contains(key));
            }
            watcher::Event::Apply(_) | watcher::Event::Init | watcher::Event::InitApply(_) => {}
        }
    }

    /// Forgets the retry counts and recorded warnings of the objects whose keys are `gone`.
    fn forget(&self, gone: impl Fn(&str) -> bool) {
        self.retries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|key, _| !gone(key));
        self.warned
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|key, _| !gone(key));
    }
}

/// The Dynamo API version to use: `requested`, else the one the cluster serves ([`served_version`] of
/// what it lists at `nvidia.com/v1beta1`). Only a failure other than "not served" (404) is an error.
pub async fn api_version(
    client: &Client,
    requested: Option<DgdVersion>,
) -> Result<DgdVersion, Error> {
    if let Some(version) = requested {
        return Ok(version);
    }
    let v1beta1 = match client
        .list_api_group_resources(DgdVersion::V1beta1.api_version())
        .await
    {
        Ok(resources) => Some(resources),
        Err(kube::Error::Api(status)) if status.code == 404 => None,
        Err(error) => return Err(error.into()),
    };
    Ok(served_version(v1beta1.as_ref()))
}

/// Reconciles the adapters of one DGD: creates missing ones (replicas seeded from the DGD), deletes this
/// controller's adapters no adapter-owned unit claims, and warns about conflicts.
pub async fn reconcile_dgd<D: DgdResource>(
    dgd: Arc<D>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    instrumented(
        DGD_CONTROLLER,
        dgd.as_ref(),
        &ctx,
        apply_dgd(dgd.as_ref(), &ctx),
    )
    .await
}

/// Reconciles one adapter: writes its replicas into its DGD unit when they differ, records `Scaled`,
/// and keeps its status.
pub async fn reconcile_adapter<A: AdapterResource>(
    adapter: Arc<A>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    instrumented(
        ADAPTER_CONTROLLER,
        adapter.as_ref(),
        &ctx,
        apply_adapter(adapter.as_ref(), &ctx),
    )
    .await
}

/// What to do after a failed reconcile: retry with exponential backoff when a retry can help, else wait
/// for the object to change.
pub fn error_policy<K: Resource<DynamicType = ()>>(
    object: Arc<K>,
    error: &Error,
    ctx: Arc<Context>,
) -> Action {
    let key = object_key(object.as_ref());
    if error.is_retryable() {
        let delay = backoff(ctx.retry_attempt(&key));
        debug!(object = key, %error, ?delay, "retrying");
        Action::requeue(delay)
    } else {
        ctx.reset_retries(&key);
        Action::await_change()
    }
}

/// Runs both controllers until `shutdown` resolves, watching the context's API version in `namespace`
/// or, when `None`, all namespaces. Call it only while holding the leader lease
/// ([`LeaderElector::lead`](crate::lease::LeaderElector::lead) does): these are the only code paths
/// that write.
pub async fn run(
    ctx: Arc<Context>,
    namespace: Option<&str>,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) {
    match ctx.api_version {
        DgdVersion::V1alpha1 => {
            run_version::<DynamoGraphDeployment>(ctx, namespace, shutdown).await;
        }
        DgdVersion::V1beta1 => {
            run_version::<dgd::v1beta1::DynamoGraphDeployment>(ctx, namespace, shutdown).await;
        }
    }
}

/// [`run`] for the DGDs of type `D` and their adapters.
async fn run_version<D: DgdResource>(
    ctx: Arc<Context>,
    namespace: Option<&str>,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) {
    let client = ctx.client.clone();
    let (dgds, adapters): (Api<D>, Api<D::Adapter>) = match namespace {
        Some(namespace) => (
            Api::namespaced(client.clone(), namespace),
            Api::namespaced(client, namespace),
        ),
        None => (Api::all(client.clone()), Api::all(client)),
    };
    let shutdown = shutdown.shared();
    let config = watcher::Config::default();
    let (dgd_objects, dgd_store) = watch_objects(dgds.clone(), config.clone(), ctx.clone());
    let (adapter_objects, adapter_store) =
        watch_objects(adapters.clone(), config.clone(), ctx.clone());
    let dgd_controller = Controller::for_stream(dgd_objects, dgd_store)
        .owns(adapters.clone(), config.clone())
        .graceful_shutdown_on(shutdown.clone())
        .run(reconcile_dgd::<D>, error_policy, ctx.clone())
        .for_each(|result| async move { log_outcome(DGD_CONTROLLER, result) });
    let adapter_controller = Controller::for_stream(adapter_objects, adapter_store)
        .watches(dgds, config, |dgd| adapter_refs(&dgd))
        .graceful_shutdown_on(shutdown)
        .run(reconcile_adapter::<D::Adapter>, error_policy, ctx)
        .for_each(|result| async move { log_outcome(ADAPTER_CONTROLLER, result) });
    futures::join!(dgd_controller, adapter_controller);
}

/// The objects of `api` to reconcile, watched and cached in the returned store as `Controller::new`
/// does; the per-object state of those the watch reports gone is forgotten ([`Context::forget_gone`]).
fn watch_objects<K>(
    api: Api<K>,
    config: watcher::Config,
    ctx: Arc<Context>,
) -> (
    impl Stream<Item = Result<K, watcher::Error>> + Send + 'static,
    Store<K>,
)
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    let (store, writer) = reflector::store();
    let reader = store.clone();
    let objects = reflector(writer, watcher(api, config))
        .inspect_ok(move |event| ctx.forget_gone(event, &reader))
        .applied_objects();
    (objects, store)
}

/// Logs what the controller runtime reports. Reconcile failures were already logged and recorded as
/// events; watch failures (e.g. a CRD that is not installed) are worth a warning.
fn log_outcome<K: Resource>(
    controller: &str,
    result: Result<(ObjectRef<K>, Action), runtime::Error<Error, watcher::Error>>,
) {
    match result {
        Ok((object, action)) => debug!(controller, %object, ?action, "reconciled"),
        Err(runtime::Error::ReconcilerFailed(error, object)) => {
            debug!(controller, %object, %error, "reconcile failed");
        }
        Err(runtime::Error::ObjectNotFound(object)) => {
            debug!(controller, %object, "object gone before its reconcile");
        }
        Err(error) => warn!(controller, %error, "controller runtime error"),
    }
}

/// Runs one reconcile's apply step with its span, metrics, warnings and retry bookkeeping. Objects
/// with warnings wait for a change; healthy ones are revisited every [`RESYNC`].
async fn instrumented<K: Resource<DynamicType = ()>>(
    controller: &'static str,
    object: &K,
    ctx: &Context,
    apply: impl Future<Output = Result<Vec<Warning>, Error>>,
) -> Result<Action, Error> {
    let key = object_key(object);
    let span = info_span!("reconcile", controller, object = key);
    let started = Instant::now();
    let result = apply.instrument(span.clone()).await;
    ctx.metrics
        .reconciled(controller, started.elapsed(), &result);
    let regarding = object.object_ref(&());
    match result {
        Ok(warnings) => {
            ctx.reset_retries(&key);
            let action = if warnings.is_empty() {
                Action::requeue(RESYNC)
            } else {
                Action::await_change()
            };
            ctx.warn(&key, &regarding, warnings).instrument(span).await;
            Ok(action)
        }
        Err(error) => {
            let failure = Warning {
                reason: pipeline::reason::RECONCILE_FAILED,
                note: error.to_string(),
            };
            ctx.warn(&key, &regarding, vec![failure])
                .instrument(span)
                .await;
            Err(error)
        }
    }
}

async fn apply_dgd<D: DgdResource>(dgd: &D, ctx: &Context) -> Result<Vec<Warning>, Error> {
    let namespace = dgd.namespace().ok_or(Error::InvalidObject("namespace"))?;
    let adapters: Api<D::Adapter> = Api::namespaced(ctx.client.clone(), &namespace);
    let existing = adapters.list(&ListParams::default()).await?.items;
    let plan = plan_adapters(dgd, &existing);
    for adapter in &plan.create {
        adapters.create(&post_params(), adapter).await?;
        info!(
            adapter = adapter.name_any(),
            replicas = adapter.replicas(),
            "created adapter"
        );
    }
    for deletion in &plan.delete {
        delete_adapter(&adapters, deletion).await?;
    }
    Ok(plan.warnings)
}

async fn delete_adapter<A: AdapterResource>(
    adapters: &Api<A>,
    deletion: &Deletion,
) -> Result<(), Error> {
    let params = DeleteParams::default().preconditions(Preconditions {
        uid: deletion.uid.clone(),
        resource_version: deletion.resource_version.clone(),
    });
    match adapters.delete(&deletion.name, &params).await {
        Ok(_) => {
            info!(adapter = deletion.name, "deleted adapter");
            Ok(())
        }
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(error) => Err(error.into()),
    }
}

async fn apply_adapter<A: AdapterResource>(
    adapter: &A,
    ctx: &Context,
) -> Result<Vec<Warning>, Error> {
    let namespace = adapter
        .namespace()
        .ok_or(Error::InvalidObject("namespace"))?;
    let dgds: Api<A::Dgd> = Api::namespaced(ctx.client.clone(), &namespace);
    let dgd = match dgd_to_fetch(adapter) {
        Some(name) => dgds.get_opt(name).await?,
        None => None,
    };
    let sync = sync_adapter(adapter, dgd.as_ref(), (ctx.clock)());
    if let (Some(write), Some(dgd)) = (&sync.scale, &dgd) {
        dgds.patch(&dgd.name_any(), &patch_params(), &write.patch)
            .await?;
        ctx.metrics.scaled();
        info!(
            unit = write.unit,
            from = write.from,
            to = write.to,
            "scaled"
        );
        ctx.record(&EventSpec {
            type_: EventType::Normal,
            reason: pipeline::reason::SCALED,
            action: "Scale",
            note: &write.note(),
            regarding: adapter.object_ref(&()),
            related: Some(dgd.object_ref(&())),
        })
        .await;
    }
    if let Some(status) = &sync.status {
        let adapters: Api<A> = Api::namespaced(ctx.client.clone(), &namespace);
        let patch = json!({ "status": status });
        adapters
            .patch_status(&adapter.name_any(), &patch_params(), &Patch::Merge(&patch))
            .await?;
    }
    Ok(sync.warnings)
}

fn post_params() -> PostParams {
    PostParams {
        field_manager: Some(MANAGER.to_owned()),
        ..PostParams::default()
    }
}

fn patch_params() -> PatchParams {
    PatchParams {
        field_manager: Some(MANAGER.to_owned()),
        ..PatchParams::default()
    }
}

fn object_key<K: Resource<DynamicType = ()>>(object: &K) -> String {
    format!(
        "{}/{}/{}",
        K::kind(&()),
        object.meta().namespace.as_deref().unwrap_or_default(),
        object.meta().name.as_deref().unwrap_or_default()
    )
}

#[cfg(test)]
mod tests;
