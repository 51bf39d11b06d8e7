//! Crash consistency: the controller may die between any two API calls of a reconcile (a node drain, an
//! OOM kill, a lost leader lease) and a new process, starting from nothing but what the API server holds,
//! must converge to the same result as a controller that never crashed. In particular no replica intent is
//! lost: what an autoscaler or the Planner wrote into an adapter's `spec.replicas` ends up in the DGD,
//! and the controller never writes an adapter's `spec`.
//!
//! An in-memory API server plays the cluster: it stores DGDs, adapters and events, checks merge-patch and
//! delete preconditions, and counts the calls it serves. A "crash after k calls" serves k calls and then
//! fails every further call of that process, so nothing it does after the crash point reaches the API. A
//! fresh process (new client, new `Context`, so no remembered warnings or retries) then runs reconcile
//! passes until a pass changes nothing.
//!
//! The same runs for a v1beta1 cluster, whose replica writes are JSON patches guarded by a `test` of the
//! entry's name: the server applies them as the API server does, refusing one whose test fails (422).
//!
//! Compared: every DGD's `spec`, and every adapter's labels, owner references, `spec` and `status` —
//! except `status.lastScaleTime`. A crash right after a DGD replica write loses that write's `Scaled`
//! event and its `lastScaleTime` stamp (the restarted controller finds the DGD already in sync and has
//! nothing to scale); both are observability, not replica intent, and the test pins that this is the only
//! difference.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use http::{Request, Response};
use k8s_openapi::jiff::Timestamp;
use kube::Client;
use kube::client::Body;
use scaleguard_controller::dgd::{DgdResource, v1beta1};
use scaleguard_controller::metrics::Metrics;
use scaleguard_controller::{Context, DynamoGraphDeployment, reconcile_adapter, reconcile_dgd};
use scaleguard_sdk::dgd::DgdVersion;
use serde_json::{Value, json};

const NAMESPACE: &str = "default";
const DGDS: &str = "/apis/nvidia.com/v1alpha1/namespaces/default/dynamographdeployments";
const EVENTS: &str = "/apis/events.k8s.io/v1/namespaces/default/events";
/// A healthy controller converges in three passes at most (create, sync, observe); more is a livelock.
const MAX_PASSES: usize = 6;

fn now() -> Timestamp {
    "2026-03-01T12:00:00Z".parse().unwrap()
}

/// The API server: objects by name, a resourceVersion counter, and the calls served so far.
#[derive(Debug, Clone)]
struct ApiServer {
    /// The version DGDs and adapters are served at.
    version: DgdVersion,
    dgds: BTreeMap<String, Value>,
    adapters: BTreeMap<String, Value>,
    events: Vec<Value>,
    resource_version: u64,
    /// Calls served to the current controller process.
    served: usize,
    /// `METHOD path` of every call served, across processes.
    log: Vec<String>,
    /// The current process dies after serving this many calls.
    crash_after: Option<usize>,
    /// Requests no controller code path should send (e.g. a write of an adapter's `spec`).
    unexpected: Vec<String>,
    /// Reverse `spec.components` of this DGD right after its read number `.1` (0: the next one).
    reorder_after_read: Option<(String, usize)>,
    /// JSON patches refused because their `test` failed.
    refused_patches: usize,
}

type SharedApi = Arc<Mutex<ApiServer>>;

fn lock(api: &SharedApi) -> std::sync::MutexGuard<'_, ApiServer> {
    api.lock().unwrap_or_else(PoisonError::into_inner)
}

fn status(code: u16, reason: &str, message: String) -> (u16, Value) {
    let status = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {},
        "status": if code < 300 { "Success" } else { "Failure" },
        "message": message, "reason": reason, "code": code
    });
    (code, status)
}

impl ApiServer {
    /// A server of these objects, at the version of the first DGD.
    fn with(dgds: Vec<Value>, adapters: Vec<Value>) -> Self {
        let mut api = Self {
            version: DgdVersion::of_object(&dgds[0]),
            dgds: BTreeMap::new(),
            adapters: BTreeMap::new(),
            events: Vec::new(),
            resource_version: 0,
            served: 0,
            log: Vec::new(),
            crash_after: None,
            unexpected: Vec::new(),
            reorder_after_read: None,
            refused_patches: 0,
        };
        for dgd in dgds {
            api.store_dgd(dgd);
        }
        for adapter in adapters {
            api.store_adapter(adapter);
        }
        api
    }

    fn next_version(&mut self) -> String {
        self.resource_version += 1;
        self.resource_version.to_string()
    }

    fn store_dgd(&mut self, mut dgd: Value) {
        dgd["metadata"]["resourceVersion"] = self.next_version().into();
        self.dgds.insert(name_of(&dgd), dgd);
    }

    fn store_adapter(&mut self, mut adapter: Value) {
        adapter["metadata"]["resourceVersion"] = self.next_version().into();
        self.adapters.insert(name_of(&adapter), adapter);
    }

    fn crashed(&self) -> bool {
        self.crash_after.is_some_and(|limit| self.served >= limit)
    }

    /// What an autoscaler does through `/scale`: sets the adapter's `spec.replicas`.
    fn scale_adapter(&mut self, name: &str, replicas: i32) {
        let version = self.next_version();
        let adapter = self.adapters.get_mut(name).expect("the adapter exists");
        adapter["spec"]["replicas"] = replicas.into();
        adapter["metadata"]["resourceVersion"] = version.into();
    }

    /// The paths of DGDs and adapters at the served version.
    fn paths(&self) -> (String, String) {
        let prefix = format!(
            "/apis/{}/namespaces/{NAMESPACE}",
            self.version.api_version()
        );
        (
            format!("{prefix}/dynamographdeployments"),
            format!("{prefix}/dynamographdeploymentscalingadapters"),
        )
    }

    /// Answers one call; `None` once the process has crashed.
    fn serve(&mut self, method: &str, path: &str, body: Option<Value>) -> Option<(u16, Value)> {
        if self.crashed() {
            return None;
        }
        self.served += 1;
        self.log.push(format!("{method} {path}"));
        let (dgds, adapters) = self.paths();
        let answer = match (method, path) {
            ("POST", EVENTS) => {
                let event = body.unwrap_or_default();
                self.events.push(event.clone());
                (201, event)
            }
            ("GET", path) if path == adapters => {
                let items: Vec<Value> = self.adapters.values().cloned().collect();
                let version = self.resource_version.to_string();
                (
                    200,
                    json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": version}, "items": items}),
                )
            }
            ("POST", path) if path == adapters => self.create_adapter(body.unwrap_or_default()),
            _ => {
                if let Some(name) = path.strip_prefix(&dgds).and_then(|p| p.strip_prefix('/')) {
                    self.dgd_call(method, name, body)
                } else if let Some(rest) = path
                    .strip_prefix(&adapters)
                    .and_then(|p| p.strip_prefix('/'))
                {
                    self.adapter_call(method, rest, body)
                } else {
                    self.refuse(method, path)
                }
            }
        };
        Some(answer)
    }

    fn refuse(&mut self, method: &str, path: &str) -> (u16, Value) {
        self.unexpected.push(format!("{method} {path}"));
        status(405, "MethodNotAllowed", format!("{method} {path}"))
    }

    fn dgd_call(&mut self, method: &str, name: &str, body: Option<Value>) -> (u16, Value) {
        let Some(current) = self.dgds.get(name).cloned() else {
            return status(
                404,
                "NotFound",
                format!("dynamographdeployments {name} not found"),
            );
        };
        match method {
            "GET" => {
                match self.reorder_after_read.take() {
                    Some((dgd, 0)) if dgd == name => {
                        let mut reordered = current.clone();
                        if let Some(components) = reordered["spec"]["components"].as_array_mut() {
                            components.reverse();
                        }
                        self.store_dgd(reordered);
                    }
                    Some((dgd, reads)) if dgd == name => {
                        self.reorder_after_read = Some((dgd, reads - 1));
                    }
                    other => self.reorder_after_read = other,
                }
                (200, current)
            }
            // A JSON patch (v1beta1): applied to the stored object; a failed `test` is a 422.
            "PATCH" if body.as_ref().is_some_and(Value::is_array) => {
                let patch: json_patch::Patch =
                    serde_json::from_value(body.unwrap_or_default()).expect("a JSON patch");
                let mut patched = current;
                if let Err(error) = json_patch::patch(&mut patched, &patch) {
                    self.refused_patches += 1;
                    return status(422, "Invalid", error.to_string());
                }
                self.store_dgd(patched);
                (200, self.dgds[name].clone())
            }
            "PATCH" => {
                let mut patch = body.unwrap_or_default();
                let precondition = patch
                    .get_mut("metadata")
                    .and_then(Value::as_object_mut)
                    .and_then(|metadata| metadata.remove("resourceVersion"));
                if let Some(expected) = precondition
                    && expected != current["metadata"]["resourceVersion"]
                {
                    return status(409, "Conflict", format!("{name} was modified"));
                }
                let mut patched = current;
                json_patch::merge(&mut patched, &patch);
                self.store_dgd(patched);
                (200, self.dgds[name].clone())
            }
            _ => self.refuse(method, &format!("{}/{name}", self.paths().0)),
        }
    }

    fn create_adapter(&mut self, mut adapter: Value) -> (u16, Value) {
        let name = name_of(&adapter);
        if self.adapters.contains_key(&name) {
            return status(409, "AlreadyExists", format!("{name} already exists"));
        }
        adapter["metadata"]["uid"] = format!("uid-{name}-{}", self.resource_version).into();
        self.store_adapter(adapter);
        (201, self.adapters[&name].clone())
    }

    fn adapter_call(&mut self, method: &str, rest: &str, body: Option<Value>) -> (u16, Value) {
        let (name, subresource) = rest.split_once('/').unwrap_or((rest, ""));
        let Some(current) = self.adapters.get(name).cloned() else {
            return status(404, "NotFound", format!("{name} not found"));
        };
        match (method, subresource) {
            ("DELETE", "") => {
                let preconditions = body.unwrap_or_default()["preconditions"].clone();
                for field in ["uid", "resourceVersion"] {
                    if !preconditions[field].is_null()
                        && preconditions[field] != current["metadata"][field]
                    {
                        return status(409, "Conflict", format!("{name}: {field} changed"));
                    }
                }
                self.adapters.remove(name);
                status(200, "Success", format!("{name} deleted"))
            }
            ("PATCH", "status") => {
                let patch = body.unwrap_or_default();
                let mut patched = current;
                json_patch::merge(&mut patched, &json!({"status": patch["status"]}));
                self.store_adapter(patched);
                (200, self.adapters[name].clone())
            }
            _ => self.refuse(method, &format!("{}/{rest}", self.paths().1)),
        }
    }

    /// The stored DGDs and adapters, as the API server holds them.
    fn stored(&self) -> (BTreeMap<String, Value>, BTreeMap<String, Value>) {
        (self.dgds.clone(), self.adapters.clone())
    }

    /// The DGDs and adapters, typed, as a watch cache would hand them to the reconciles.
    fn cached<D: DgdResource>(&self) -> (Vec<D>, Vec<D::Adapter>) {
        (
            self.dgds.values().map(typed).collect(),
            self.adapters.values().map(typed).collect(),
        )
    }

    /// What the comparison looks at (see the module docs).
    fn outcome(&self) -> Outcome {
        let dgds = self
            .dgds
            .iter()
            .map(|(name, dgd)| (name.clone(), dgd["spec"].clone()))
            .collect();
        let adapters = self
            .adapters
            .iter()
            .map(|(name, adapter)| {
                let mut status = adapter["status"].clone();
                if let Some(status) = status.as_object_mut() {
                    status.remove("lastScaleTime");
                }
                let kept = json!({
                    "labels": adapter["metadata"]["labels"],
                    "ownerReferences": adapter["metadata"]["ownerReferences"],
                    "spec": adapter["spec"],
                    "status": status,
                });
                (name.clone(), kept)
            })
            .collect();
        Outcome { dgds, adapters }
    }
}

fn name_of(object: &Value) -> String {
    object["metadata"]["name"]
        .as_str()
        .expect("objects have a name")
        .to_owned()
}

/// The state a converged cluster is compared on.
#[derive(Debug, Clone, PartialEq)]
struct Outcome {
    dgds: BTreeMap<String, Value>,
    adapters: BTreeMap<String, Value>,
}

impl Outcome {
    /// `(unit replicas in the DGD, adapter spec.replicas)` of a DGD service (v1beta1: component or
    /// component group).
    fn replicas(&self, dgd: &str, service: &str) -> (Option<i64>, Option<i64>) {
        let spec = &self.dgds[dgd];
        let entries = spec["components"].as_array().into_iter().flatten();
        let groups = spec["experimental"]["componentGroups"].as_array();
        let in_dgd = match entries
            .chain(groups.into_iter().flatten())
            .find(|entry| entry["name"] == service)
        {
            Some(entry) => entry["replicas"].as_i64(),
            None => spec["services"][service]["replicas"].as_i64(),
        };
        let adapter = format!("{dgd}-{}", service.to_lowercase());
        let in_adapter = self
            .adapters
            .get(&adapter)
            .and_then(|adapter| adapter["spec"]["replicas"].as_i64());
        (in_dgd, in_adapter)
    }
}

/// One controller process: a client whose calls the shared API server answers, and a fresh context.
fn start_process(api: &SharedApi) -> Arc<Context> {
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let server = Arc::clone(api);
    tokio::spawn(async move {
        while let Some((request, send)) = handle.next_request().await {
            let method = request.method().as_str().to_owned();
            let path = request.uri().path().to_owned();
            let bytes = request.into_body().collect_bytes().await.unwrap();
            let body = (!bytes.is_empty()).then(|| serde_json::from_slice(&bytes).unwrap());
            let answer = lock(&server).serve(&method, &path, body);
            match answer {
                Some((code, body)) => send.send_response(
                    Response::builder()
                        .status(code)
                        .body(Body::from(serde_json::to_vec(&body).unwrap()))
                        .unwrap(),
                ),
                None => send.send_error(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "the controller process is gone",
                )),
            }
        }
    });
    let client = Client::new(service, NAMESPACE);
    let context = Context::new(client, Arc::new(Metrics::default()), "crash-test").with_clock(now);
    Arc::new(context)
}

/// The process crashed before the passes converged.
#[derive(Debug)]
struct Crashed;

/// Runs reconcile passes until a pass changes no object. Reconcile errors are the controller runtime's
/// business (it retries); only a crash stops the passes.
async fn converge(api: &SharedApi, ctx: &Arc<Context>) -> Result<(), Crashed> {
    let version = lock(api).version;
    for _ in 0..MAX_PASSES {
        let before = lock(api).stored();
        match version {
            DgdVersion::V1alpha1 => pass::<DynamoGraphDeployment>(api, ctx).await?,
            DgdVersion::V1beta1 => pass::<v1beta1::DynamoGraphDeployment>(api, ctx).await?,
        }
        if lock(api).stored() == before {
            return Ok(());
        }
    }
    panic!(
        "no convergence after {MAX_PASSES} passes:\n{}",
        lock(api).log.join("\n")
    );
}

/// One reconcile pass: every DGD, then every adapter, as the watch cache holds them when it starts.
async fn pass<D: DgdResource>(api: &SharedApi, ctx: &Arc<Context>) -> Result<(), Crashed> {
    let (dgds, adapters) = lock(api).cached::<D>();
    for dgd in dgds {
        let _ = reconcile_dgd(Arc::new(dgd), Arc::clone(ctx)).await;
        if lock(api).crashed() {
            return Err(Crashed);
        }
    }
    for adapter in adapters {
        let _ = reconcile_adapter(Arc::new(adapter), Arc::clone(ctx)).await;
        if lock(api).crashed() {
            return Err(Crashed);
        }
    }
    Ok(())
}

/// Runs a controller that never crashes; returns the outcome and the calls it made.
async fn uninterrupted(initial: &ApiServer) -> (Outcome, Vec<String>) {
    let api = Arc::new(Mutex::new(initial.clone()));
    converge(&api, &start_process(&api)).await.unwrap();
    let api = lock(&api);
    assert!(
        api.unexpected.is_empty(),
        "unexpected calls: {:?}",
        api.unexpected
    );
    (api.outcome(), api.log.clone())
}

/// Crashes the controller after `k` calls, lets `between` change the cluster, restarts it from the API
/// state and converges; returns the outcome.
async fn crash_and_restart(
    initial: &ApiServer,
    k: usize,
    between: impl FnOnce(&mut ApiServer),
) -> Outcome {
    let api = Arc::new(Mutex::new(ApiServer {
        crash_after: Some(k),
        ..initial.clone()
    }));
    let crashed = converge(&api, &start_process(&api)).await;
    assert!(crashed.is_err(), "the controller did not reach call {k}");
    {
        let mut api = lock(&api);
        assert_eq!(
            api.served, k,
            "the crashed process served {} calls",
            api.served
        );
        between(&mut api);
        api.crash_after = None;
        api.served = 0;
    }
    converge(&api, &start_process(&api)).await.unwrap();
    let api = lock(&api);
    assert!(
        api.unexpected.is_empty(),
        "unexpected calls: {:?}",
        api.unexpected
    );
    api.outcome()
}

fn dgd(name: &str, services: Value) -> Value {
    json!({
        "apiVersion": "nvidia.com/v1alpha1",
        "kind": "DynamoGraphDeployment",
        "metadata": {"name": name, "namespace": NAMESPACE, "uid": format!("uid-{name}")},
        "spec": {"services": services}
    })
}

/// An adapter for `service` of DGD `dgd` at `replicas`; `managed` adds this controller's label.
fn adapter(dgd: &str, service: &str, replicas: i32, managed: bool) -> Value {
    let name = format!("{dgd}-{}", service.to_lowercase());
    let mut labels = json!({
        "nvidia.com/dynamo-graph-deployment-name": dgd,
        "nvidia.com/dynamo-component": service
    });
    if managed {
        labels["app.kubernetes.io/managed-by"] = "scaleguard-controller".into();
    }
    json!({
        "apiVersion": "nvidia.com/v1alpha1",
        "kind": "DynamoGraphDeploymentScalingAdapter",
        "metadata": {
            "name": name, "namespace": NAMESPACE, "uid": format!("uid-{name}"), "labels": labels,
            "ownerReferences": [{
                "apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoGraphDeployment",
                "name": dgd, "uid": format!("uid-{dgd}"), "controller": true, "blockOwnerDeletion": true
            }]
        },
        "spec": {"replicas": replicas, "dgdRef": {"name": dgd, "serviceName": service}}
    })
}

/// A new DGD: three services opt into adapters (one without `replicas`), the Planner does not.
fn new_dgd() -> ApiServer {
    let mut llm = dgd(
        "llm",
        json!({
            "Frontend": {"replicas": 2, "scalingAdapter": {"enabled": true}},
            "decode": {"scalingAdapter": {"enabled": true}, "subComponentType": "decode"},
            "prefill": {"replicas": 3, "scalingAdapter": {"enabled": true}},
            "Planner": {"componentType": "planner"}
        }),
    );
    llm["status"] = json!({"services": {"decode": {"replicas": 1}, "Frontend": {"replicas": 2}}});
    ApiServer::with(vec![llm], vec![])
}

/// A running system: an HPA scaled `decode` to 5 and the Planner `prefill` to 3 through their adapters;
/// `encode` was just enabled (no adapter yet); `old` was removed but its adapter remains; DGD `chat` has
/// an adapter the Dynamo operator made, which this controller must leave alone.
fn autoscaled() -> ApiServer {
    let llm = dgd(
        "llm",
        json!({
            "Frontend": {"replicas": 1, "scalingAdapter": {"enabled": true}},
            "decode": {"replicas": 2, "scalingAdapter": {"enabled": true}},
            "prefill": {"scalingAdapter": {"enabled": true}},
            "encode": {"replicas": 2, "scalingAdapter": {"enabled": true}},
            "Planner": {"componentType": "planner"}
        }),
    );
    let chat = dgd(
        "chat",
        json!({"Worker": {"replicas": 1, "scalingAdapter": {"enabled": true}}}),
    );
    ApiServer::with(
        vec![llm, chat],
        vec![
            adapter("llm", "Frontend", 1, true),
            adapter("llm", "decode", 5, true),
            adapter("llm", "prefill", 3, true),
            adapter("llm", "old", 4, true),
            adapter("chat", "Worker", 4, false),
        ],
    )
}

/// Crashes after every call of the uninterrupted run in turn; each restart must converge to its outcome.
async fn every_crash_point_converges(initial: &ApiServer) -> Outcome {
    let (reference, calls) = uninterrupted(initial).await;
    assert!(
        calls.len() > 5,
        "too few calls to be interesting: {calls:?}"
    );
    for (k, call) in calls.iter().enumerate() {
        let outcome = crash_and_restart(initial, k, |_| {}).await;
        assert_eq!(
            outcome, reference,
            "crash after call {k} (next call was `{call}`) changed the outcome"
        );
    }
    reference
}

#[tokio::test]
async fn a_new_dgd_gets_its_adapters_whatever_call_the_controller_dies_after() {
    let outcome = every_crash_point_converges(&new_dgd()).await;
    // Adapters are seeded from the DGD (absent -> 1), and the DGD is not written.
    assert_eq!(outcome.replicas("llm", "Frontend"), (Some(2), Some(2)));
    assert_eq!(outcome.replicas("llm", "decode"), (None, Some(1)));
    assert_eq!(outcome.replicas("llm", "prefill"), (Some(3), Some(3)));
    assert_eq!(outcome.adapters.len(), 3);
    assert_eq!(outcome.dgds["llm"], new_dgd().dgds["llm"]["spec"]);
    assert_eq!(outcome.adapters["llm-decode"]["status"]["replicas"], 1);
}

#[tokio::test]
async fn autoscaler_replicas_reach_the_dgd_whatever_call_the_controller_dies_after() {
    let outcome = every_crash_point_converges(&autoscaled()).await;
    assert_eq!(outcome.replicas("llm", "decode"), (Some(5), Some(5)));
    assert_eq!(outcome.replicas("llm", "prefill"), (Some(3), Some(3)));
    assert_eq!(outcome.replicas("llm", "Frontend"), (Some(1), Some(1)));
    assert_eq!(outcome.replicas("llm", "encode"), (Some(2), Some(2)));
    assert!(!outcome.adapters.contains_key("llm-old"));
    // The operator's adapter and its DGD service are untouched.
    assert_eq!(outcome.replicas("chat", "Worker"), (Some(1), Some(4)));
    assert_eq!(
        outcome.adapters["chat-worker"]["status"],
        Value::Null,
        "an unmanaged adapter's status is not written"
    );
}

#[tokio::test]
async fn a_scale_while_the_controller_is_down_is_not_lost() {
    let initial = autoscaled();
    let mut rescaled = initial.clone();
    rescaled.scale_adapter("llm-decode", 7);
    let (reference, _) = uninterrupted(&rescaled).await;
    assert_eq!(reference.replicas("llm", "decode"), (Some(7), Some(7)));
    let (_, calls) = uninterrupted(&initial).await;
    for (k, call) in calls.iter().enumerate() {
        let outcome =
            crash_and_restart(&initial, k, |api| api.scale_adapter("llm-decode", 7)).await;
        assert_eq!(
            outcome, reference,
            "a scale to 7 after a crash after call {k} (`{call}`) was lost"
        );
    }
}

#[tokio::test]
async fn only_the_scale_event_and_its_timestamp_die_with_a_crash_after_the_dgd_write() {
    let initial = autoscaled();
    let (_, calls) = uninterrupted(&initial).await;
    let first_write = calls
        .iter()
        .position(|call| call.starts_with(&format!("PATCH {DGDS}/")))
        .expect("the run writes a DGD");
    let api = Arc::new(Mutex::new(ApiServer {
        crash_after: Some(first_write + 1),
        ..initial.clone()
    }));
    assert!(converge(&api, &start_process(&api)).await.is_err());
    let scaled_before_crash = lock(&api)
        .events
        .iter()
        .filter(|event| event["reason"] == "Scaled")
        .count();
    assert_eq!(
        scaled_before_crash, 0,
        "the crash came before the Scaled event"
    );
    {
        let mut api = lock(&api);
        api.crash_after = None;
        api.served = 0;
    }
    converge(&api, &start_process(&api)).await.unwrap();
    let api = lock(&api);
    let decode = &api.adapters["llm-decode"];
    assert_eq!(decode["spec"]["replicas"], 5);
    assert_eq!(api.dgds["llm"]["spec"]["services"]["decode"]["replicas"], 5);
    assert_eq!(decode["status"]["replicas"], 5);
    assert!(decode["status"].get("lastScaleTime").is_none());
    let scaled: Vec<&str> = api
        .events
        .iter()
        .filter(|event| event["reason"] == "Scaled")
        .filter_map(|event| event["note"].as_str())
        .collect();
    assert_eq!(scaled, ["Scaled service prefill from 1 to 3 replicas"]);
}

// ---- v1beta1 ----

fn dgd_v1beta1(name: &str, spec: Value) -> Value {
    json!({
        "apiVersion": "nvidia.com/v1beta1",
        "kind": "DynamoGraphDeployment",
        "metadata": {"name": name, "namespace": NAMESPACE, "uid": format!("uid-{name}")},
        "spec": spec
    })
}

/// A v1beta1 adapter for `unit` (a component, or the group when `group`) of DGD `dgd` at `replicas`.
fn adapter_v1beta1(dgd: &str, unit: &str, group: bool, replicas: i32, managed: bool) -> Value {
    let mut adapter = adapter(dgd, unit, replicas, managed);
    adapter["apiVersion"] = "nvidia.com/v1beta1".into();
    adapter["metadata"]["ownerReferences"][0]["apiVersion"] = "nvidia.com/v1beta1".into();
    let field = if group {
        "componentGroupName"
    } else {
        "componentName"
    };
    adapter["spec"]["dgdRef"] = json!({"name": dgd, field: unit});
    adapter
}

/// A new v1beta1 DGD: three components carry the marker (one without `replicas`), the Planner does not.
fn new_dgd_v1beta1() -> ApiServer {
    let mut llm = dgd_v1beta1(
        "llm",
        json!({"components": [
            {"name": "prefill", "type": "prefill", "replicas": 3, "scalingAdapter": {}},
            {"name": "Frontend", "type": "frontend", "replicas": 2, "scalingAdapter": {}},
            {"name": "decode", "type": "decode", "scalingAdapter": {}},
            {"name": "Planner", "type": "planner"}
        ]}),
    );
    llm["status"] = json!({"components": {"decode": {"replicas": 1}, "Frontend": {"replicas": 2}}});
    ApiServer::with(vec![llm], vec![])
}

/// A running v1beta1 system: an HPA scaled `decode` to 5, the Planner `prefill` (no `replicas` in the
/// DGD) to 3 and the group `Engines` to 4; `encode` just got the marker; `old` lost it but its adapter
/// remains; DGD `chat` has an adapter the Dynamo operator made.
fn autoscaled_v1beta1() -> ApiServer {
    let llm = dgd_v1beta1(
        "llm",
        json!({
            "components": [
                {"name": "Planner", "type": "planner"},
                {"name": "decode", "type": "decode", "replicas": 2, "scalingAdapter": {}},
                {"name": "a", "replicas": 1},
                {"name": "Frontend", "type": "frontend", "replicas": 1, "scalingAdapter": {}},
                {"name": "prefill", "type": "prefill", "scalingAdapter": {}},
                {"name": "b", "replicas": 1},
                {"name": "encode", "replicas": 2, "scalingAdapter": {}},
                {"name": "old", "replicas": 4}
            ],
            "experimental": {"componentGroups": [{"name": "Engines", "replicas": 1, "scalingAdapter": {},
                "components": [{"name": "a"}, {"name": "b"}]}]}
        }),
    );
    let chat = dgd_v1beta1(
        "chat",
        json!({"components": [{"name": "Worker", "replicas": 1, "scalingAdapter": {}}]}),
    );
    ApiServer::with(
        vec![llm, chat],
        vec![
            adapter_v1beta1("llm", "Frontend", false, 1, true),
            adapter_v1beta1("llm", "decode", false, 5, true),
            adapter_v1beta1("llm", "prefill", false, 3, true),
            adapter_v1beta1("llm", "Engines", true, 4, true),
            adapter_v1beta1("llm", "old", false, 4, true),
            adapter_v1beta1("chat", "Worker", false, 4, false),
        ],
    )
}

#[tokio::test]
async fn a_new_v1beta1_dgd_gets_its_adapters_whatever_call_the_controller_dies_after() {
    let outcome = every_crash_point_converges(&new_dgd_v1beta1()).await;
    assert_eq!(outcome.replicas("llm", "Frontend"), (Some(2), Some(2)));
    assert_eq!(outcome.replicas("llm", "decode"), (None, Some(1)));
    assert_eq!(outcome.replicas("llm", "prefill"), (Some(3), Some(3)));
    assert_eq!(outcome.adapters.len(), 3);
    assert_eq!(outcome.dgds["llm"], new_dgd_v1beta1().dgds["llm"]["spec"]);
    assert_eq!(
        outcome.adapters["llm-decode"]["spec"]["dgdRef"],
        json!({"name": "llm", "componentName": "decode"})
    );
}

#[tokio::test]
async fn v1beta1_autoscaler_replicas_reach_the_dgd_whatever_call_the_controller_dies_after() {
    let outcome = every_crash_point_converges(&autoscaled_v1beta1()).await;
    assert_eq!(outcome.replicas("llm", "decode"), (Some(5), Some(5)));
    assert_eq!(outcome.replicas("llm", "prefill"), (Some(3), Some(3)));
    assert_eq!(outcome.replicas("llm", "Frontend"), (Some(1), Some(1)));
    assert_eq!(outcome.replicas("llm", "encode"), (Some(2), Some(2)));
    assert_eq!(outcome.replicas("llm", "Engines"), (Some(4), Some(4)));
    // Nothing else in the list moved: the group's members and the component without an adapter.
    assert_eq!(outcome.replicas("llm", "a"), (Some(1), None));
    assert_eq!(outcome.replicas("llm", "old"), (Some(4), None));
    assert!(!outcome.adapters.contains_key("llm-old"));
    assert_eq!(outcome.replicas("chat", "Worker"), (Some(1), Some(4)));
}

#[tokio::test]
async fn a_list_reordered_between_read_and_write_is_never_written_at_a_wrong_index() {
    let (reference, _) = uninterrupted(&autoscaled_v1beta1()).await;
    // Each of llm's first reads in turn is followed at once by a reorder of its components: the write
    // decided on that read targets an index that now holds another component.
    for reads_before in 0..6 {
        let api = Arc::new(Mutex::new(ApiServer {
            reorder_after_read: Some(("llm".to_owned(), reads_before)),
            ..autoscaled_v1beta1()
        }));
        converge(&api, &start_process(&api)).await.unwrap();
        let api = lock(&api);
        assert!(
            api.reorder_after_read.is_none(),
            "llm was read {reads_before} times"
        );
        if reads_before == 0 {
            assert_eq!(api.refused_patches, 1, "decode's write was refused");
        }
        let outcome = api.outcome();
        for unit in [
            "decode", "prefill", "Frontend", "encode", "Engines", "a", "b", "old",
        ] {
            assert_eq!(
                outcome.replicas("llm", unit),
                reference.replicas("llm", unit),
                "{unit}, components reordered after read {reads_before}"
            );
        }
    }
}

/// A stored object as the typed value a watch cache would hold.
fn typed<T: serde::de::DeserializeOwned>(value: &Value) -> T {
    serde_json::from_value(value.clone()).expect("the fake API server stores only valid objects")
}
