//! Mock-API tests: a scenario task plays the API server, asserting the exact method, path, query and
//! body of each request in order; a missing request times the scenario out, an unexpected one times the
//! reconcile out.

use std::time::Duration;

use http::{Request, Response};
use kube::client::Body;
use serde_json::{Value, json};

use scaleguard_sdk::adapter::UnitRef;

use super::*;
use crate::fixtures::*;

const TIMEOUT: Duration = Duration::from_secs(5);
const ADAPTERS: &str =
    "/apis/nvidia.com/v1alpha1/namespaces/default/dynamographdeploymentscalingadapters";
const DGDS: &str = "/apis/nvidia.com/v1alpha1/namespaces/default/dynamographdeployments";
const ADAPTERS_V1BETA1: &str =
    "/apis/nvidia.com/v1beta1/namespaces/default/dynamographdeploymentscalingadapters";
const DGDS_V1BETA1: &str = "/apis/nvidia.com/v1beta1/namespaces/default/dynamographdeployments";
const EVENTS: &str = "/apis/events.k8s.io/v1/namespaces/default/events";
const MANAGER_QUERY: &str = "fieldManager=scaleguard-controller";

type Handle = tower_test::mock::Handle<Request<Body>, Response<Body>>;

/// One expected request and the answer to it.
struct Call {
    method: &'static str,
    path: String,
    query: &'static str,
    content_type: Option<&'static str>,
    body: Option<Value>,
    status: u16,
    response: Value,
}

impl Call {
    fn new(method: &'static str, path: impl Into<String>, query: &'static str) -> Self {
        Self {
            method,
            path: path.into(),
            query,
            content_type: None,
            body: None,
            status: 200,
            response: json!({}),
        }
    }

    fn get(path: impl Into<String>) -> Self {
        Self::new("GET", path, "")
    }

    fn create(path: impl Into<String>, body: Value) -> Self {
        let mut call = Self::new("POST", path, MANAGER_QUERY);
        call.response = body.clone();
        call.body = Some(body);
        call.status = 201;
        call
    }

    fn merge_patch(path: impl Into<String>, body: Value) -> Self {
        let mut call = Self::new("PATCH", path, MANAGER_QUERY);
        call.content_type = Some("application/merge-patch+json");
        call.body = Some(body);
        call
    }

    fn json_patch(path: impl Into<String>, body: Value) -> Self {
        let mut call = Self::new("PATCH", path, MANAGER_QUERY);
        call.content_type = Some("application/json-patch+json");
        call.body = Some(body);
        call
    }

    fn delete(path: impl Into<String>, body: Value) -> Self {
        let mut call = Self::new("DELETE", path, "");
        call.body = Some(body);
        call
    }

    fn responds(mut self, status: u16, response: Value) -> Self {
        self.status = status;
        self.response = response;
        self
    }
}

fn status(code: u16, reason: &str) -> Value {
    json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": format!("{reason} (test)"), "reason": reason, "code": code
    })
}

fn list(items: Vec<Value>) -> Value {
    json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": "1"}, "items": items})
}

fn to_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap()
}

fn event(
    type_: &str,
    reason: &str,
    action: &str,
    note: &str,
    regarding: Value,
    related: Option<Value>,
) -> Value {
    let mut event = json!({
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": {"generateName": format!("{}.", regarding["name"].as_str().unwrap()), "namespace": "default"},
        "eventTime": "2026-03-01T12:00:00.000000Z",
        "type": type_,
        "reason": reason,
        "action": action,
        "note": note,
        "regarding": regarding,
        "reportingController": "scaleguard-controller",
        "reportingInstance": "test-pod"
    });
    if let Some(related) = related {
        event["related"] = related;
    }
    event
}

fn dgd_ref() -> Value {
    json!({"apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoGraphDeployment", "name": DGD, "namespace": "default", "uid": DGD_UID})
}

fn adapter_ref(service: &str) -> Value {
    let name = format!("{DGD}-{}", service.to_lowercase());
    json!({
        "apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoGraphDeploymentScalingAdapter",
        "name": name, "namespace": "default", "uid": format!("{name}-uid")
    })
}

fn dgd_ref_v1beta1() -> Value {
    let mut reference = dgd_ref();
    reference["apiVersion"] = "nvidia.com/v1beta1".into();
    reference
}

fn adapter_ref_v1beta1(unit: &str) -> Value {
    let mut reference = adapter_ref(unit);
    reference["apiVersion"] = "nvidia.com/v1beta1".into();
    reference
}

/// A context on a mock client, and the handle that plays the API server.
fn context() -> (Arc<Context>, Handle) {
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let client = Client::new(service, "default");
    let ctx = Context::new(client, Arc::new(Metrics::default()), "test-pod").with_clock(now);
    (Arc::new(ctx), handle)
}

/// The `key=value` pairs of a query string (kube leaves an empty one before the first `&`).
fn query_pairs(query: Option<&str>) -> Vec<&str> {
    query
        .unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty())
        .collect()
}

/// Answers `calls` in order, asserting each request; returns the handle so no request goes unanswered.
fn scenario(mut handle: Handle, calls: Vec<Call>) -> tokio::task::JoinHandle<Handle> {
    tokio::spawn(async move {
        for (index, call) in calls.into_iter().enumerate() {
            let (request, send) = handle.next_request().await.unwrap_or_else(|| {
                panic!("call {index} ({} {}) never came", call.method, call.path)
            });
            let what = format!("call {index}: {} {}", request.method(), request.uri());
            assert_eq!(request.method().as_str(), call.method, "{what}");
            assert_eq!(request.uri().path(), call.path, "{what}");
            assert_eq!(
                query_pairs(request.uri().query()),
                query_pairs(Some(call.query)),
                "{what}"
            );
            if let Some(content_type) = call.content_type {
                assert_eq!(request.headers()["content-type"], content_type, "{what}");
            }
            let bytes = request.into_body().collect_bytes().await.unwrap();
            match call.body {
                Some(expected) => {
                    let body: Value = serde_json::from_slice(&bytes).unwrap();
                    assert_eq!(body, expected, "{what}");
                }
                None => assert!(bytes.is_empty(), "{what}: unexpected body"),
            }
            let response = Response::builder()
                .status(call.status)
                .body(Body::from(serde_json::to_vec(&call.response).unwrap()))
                .unwrap();
            send.send_response(response);
        }
        handle
    })
}

/// Runs `reconcile` against `calls`: every call must come, in order, and no other.
async fn verify<T, F: Future<Output = T>>(
    handle: Handle,
    calls: Vec<Call>,
    reconcile: F,
) -> (T, Handle) {
    let server = scenario(handle, calls);
    let result = tokio::time::timeout(TIMEOUT, reconcile)
        .await
        .expect("the reconcile sent a request the scenario did not expect");
    let handle = tokio::time::timeout(TIMEOUT, server)
        .await
        .expect("the scenario still waits for a request")
        .expect("the scenario's assertions failed");
    (result, handle)
}

// ---- DGD reconcile ----

#[tokio::test]
async fn dgd_reconcile_creates_adapters_for_enabled_services() {
    let (ctx, handle) = context();
    let dgd = dgd(json!({
        "Frontend": {"replicas": 2, "scalingAdapter": {"enabled": true}},
        "decode": {"replicas": 3, "scalingAdapter": {"enabled": true}},
        "Planner": {}
    }));
    let created = |service: &str, replicas: i32| {
        json!({
            "apiVersion": "nvidia.com/v1alpha1",
            "kind": "DynamoGraphDeploymentScalingAdapter",
            "metadata": {
                "name": format!("test-dgd-{}", service.to_lowercase()),
                "namespace": "default",
                "labels": {
                    "app.kubernetes.io/managed-by": "scaleguard-controller",
                    "nvidia.com/dynamo-component": service,
                    "nvidia.com/dynamo-graph-deployment-name": "test-dgd"
                },
                "ownerReferences": [{
                    "apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoGraphDeployment",
                    "name": "test-dgd", "uid": DGD_UID, "controller": true, "blockOwnerDeletion": true
                }]
            },
            "spec": {"replicas": replicas, "dgdRef": {"name": "test-dgd", "serviceName": service}}
        })
    };
    let calls = vec![
        Call::get(ADAPTERS).responds(200, list(vec![])),
        Call::create(ADAPTERS, created("decode", 3)),
        Call::create(ADAPTERS, created("Frontend", 2)),
    ];
    let (result, _) = verify(handle, calls, reconcile_dgd(Arc::new(dgd), ctx)).await;
    assert_eq!(result.unwrap(), Action::requeue(RESYNC));
}

#[tokio::test]
async fn dgd_reconcile_deletes_the_adapter_of_a_removed_service_with_preconditions() {
    let (ctx, handle) = context();
    let dgd = dgd(json!({"decode": {"replicas": 3, "scalingAdapter": {"enabled": true}}}));
    let calls = vec![
        Call::get(ADAPTERS).responds(
            200,
            list(vec![
                to_json(&adapter("decode", 3)),
                to_json(&adapter("prefill", 1)),
            ]),
        ),
        Call::delete(
            format!("{ADAPTERS}/test-dgd-prefill"),
            json!({"preconditions": {"resourceVersion": "7", "uid": "test-dgd-prefill-uid"}}),
        )
        .responds(200, status(200, "Success")),
    ];
    let (result, _) = verify(handle, calls, reconcile_dgd(Arc::new(dgd), ctx)).await;
    assert_eq!(result.unwrap(), Action::requeue(RESYNC));
}

#[tokio::test]
async fn dgd_reconcile_at_steady_state_makes_no_writes() {
    let (ctx, handle) = context();
    let dgd = dgd(json!({
        "Frontend": {"replicas": 2, "scalingAdapter": {"enabled": true}},
        "decode": {"replicas": 3, "scalingAdapter": {"enabled": true}}
    }));
    // The decode adapter was scaled to 5 by an autoscaler: still no write from the DGD reconcile.
    let existing = list(vec![
        to_json(&adapter("Frontend", 2)),
        to_json(&adapter("decode", 5)),
        to_json(&adapter("other", 1).unmanaged()),
    ]);
    let calls = vec![Call::get(ADAPTERS).responds(200, existing)];
    let (result, _) = verify(handle, calls, reconcile_dgd(Arc::new(dgd), ctx)).await;
    assert_eq!(result.unwrap(), Action::requeue(RESYNC));
}

#[tokio::test]
async fn dgd_reconcile_reports_an_operator_made_adapter_once_and_leaves_it_alone() {
    let (ctx, handle) = context();
    let dgd = Arc::new(dgd(
        json!({"decode": {"replicas": 3, "scalingAdapter": {"enabled": true}}}),
    ));
    let existing = list(vec![to_json(&adapter("decode", 7).unmanaged())]);
    let warning = event(
        "Warning",
        "AdapterConflict",
        "Reconcile",
        "adapter test-dgd-decode already exists and is not managed by scaleguard-controller \
         (no app.kubernetes.io/managed-by=scaleguard-controller label); leaving it alone",
        dgd_ref(),
        None,
    );
    let calls = vec![
        Call::get(ADAPTERS).responds(200, existing.clone()),
        Call::create(EVENTS, warning),
    ];
    let (result, handle) = verify(handle, calls, reconcile_dgd(dgd.clone(), ctx.clone())).await;
    assert_eq!(result.unwrap(), Action::await_change());
    // The same conflict on the next pass is not recorded again: zero writes.
    let calls = vec![Call::get(ADAPTERS).responds(200, existing)];
    let (result, _) = verify(handle, calls, reconcile_dgd(dgd, ctx)).await;
    assert_eq!(result.unwrap(), Action::await_change());
}

#[tokio::test]
async fn dgd_reconcile_retries_transient_errors_with_backoff() {
    let (ctx, handle) = context();
    let dgd = Arc::new(dgd(
        json!({"decode": {"scalingAdapter": {"enabled": true}}}),
    ));
    let failure = event(
        "Warning",
        "ReconcileFailed",
        "Reconcile",
        "transient API error: ServiceUnavailable (test) (HTTP 503 ServiceUnavailable)",
        dgd_ref(),
        None,
    );
    let calls = vec![
        Call::get(ADAPTERS).responds(503, status(503, "ServiceUnavailable")),
        Call::create(EVENTS, failure),
    ];
    let (result, _) = verify(handle, calls, reconcile_dgd(dgd.clone(), ctx.clone())).await;
    let error = result.unwrap_err();
    assert_eq!(error.metric_label(), "transient");
    assert_eq!(
        error_policy(dgd.clone(), &error, ctx.clone()),
        Action::requeue(Duration::from_secs(1))
    );
    assert_eq!(
        error_policy(dgd, &error, ctx.clone()),
        Action::requeue(Duration::from_secs(2))
    );
    let metrics = ctx.metrics.encode();
    assert!(
        metrics.contains("scaleguard_controller_reconcile_failures_total{controller=\"dgd\",reason=\"transient\"} 1"),
        "{metrics}"
    );
}

// ---- adapter reconcile ----

fn dgd_json(services: Value) -> Value {
    to_json(&dgd(services))
}

#[tokio::test]
async fn adapter_reconcile_writes_the_adapter_replicas_into_the_dgd() {
    let (ctx, handle) = context();
    let adapter = adapter("decode", 5).with_status(2, &selector_of("decode"), None);
    let calls = vec![
        Call::get(format!("{DGDS}/test-dgd"))
            .responds(200, dgd_json(json!({"decode": {"replicas": 2, "scalingAdapter": {"enabled": true}}}))),
        Call::merge_patch(
            format!("{DGDS}/test-dgd"),
            json!({"metadata": {"resourceVersion": DGD_VERSION}, "spec": {"services": {"decode": {"replicas": 5}}}}),
        )
        .responds(200, dgd_json(json!({}))),
        Call::create(
            EVENTS,
            event(
                "Normal",
                "Scaled",
                "Scale",
                "Scaled service decode from 2 to 5 replicas",
                adapter_ref("decode"),
                Some(dgd_ref()),
            ),
        ),
        Call::merge_patch(
            format!("{ADAPTERS}/test-dgd-decode/status"),
            json!({"status": {
                "replicas": 5,
                "selector": "nvidia.com/dynamo-graph-deployment-name=test-dgd,nvidia.com/dynamo-component=decode",
                "lastScaleTime": "2026-03-01T12:00:00Z"
            }}),
        )
        .responds(200, to_json(&crate::fixtures::adapter("decode", 1))),
    ];
    let (result, _) = verify(
        handle,
        calls,
        reconcile_adapter(Arc::new(adapter), ctx.clone()),
    )
    .await;
    assert_eq!(result.unwrap(), Action::requeue(RESYNC));
    assert!(
        ctx.metrics
            .encode()
            .contains("scaleguard_controller_scale_events_total 1")
    );
}

#[tokio::test]
async fn adapter_reconcile_scales_from_an_absent_replicas_field_as_one() {
    let (ctx, handle) = context();
    let adapter = adapter("decode", 3).with_status(1, &selector_of("decode"), Some(now()));
    let calls = vec![
        Call::get(format!("{DGDS}/test-dgd"))
            .responds(200, dgd_json(json!({"decode": {"scalingAdapter": {"enabled": true}}}))),
        Call::merge_patch(
            format!("{DGDS}/test-dgd"),
            json!({"metadata": {"resourceVersion": DGD_VERSION}, "spec": {"services": {"decode": {"replicas": 3}}}}),
        )
        .responds(200, dgd_json(json!({}))),
        Call::create(
            EVENTS,
            event(
                "Normal",
                "Scaled",
                "Scale",
                "Scaled service decode from 1 to 3 replicas",
                adapter_ref("decode"),
                Some(dgd_ref()),
            ),
        ),
        Call::merge_patch(
            format!("{ADAPTERS}/test-dgd-decode/status"),
            json!({"status": {
                "replicas": 3,
                "selector": "nvidia.com/dynamo-graph-deployment-name=test-dgd,nvidia.com/dynamo-component=decode",
                "lastScaleTime": "2026-03-01T12:00:00Z"
            }}),
        )
        .responds(200, to_json(&crate::fixtures::adapter("decode", 1))),
    ];
    let (result, _) = verify(handle, calls, reconcile_adapter(Arc::new(adapter), ctx)).await;
    assert_eq!(result.unwrap(), Action::requeue(RESYNC));
}

#[tokio::test]
async fn adapter_reconcile_at_steady_state_makes_no_writes() {
    let (ctx, handle) = context();
    let earlier: Timestamp = "2026-02-01T08:30:00Z".parse().unwrap();
    let adapter = adapter("decode", 3).with_status(3, &selector_of("decode"), Some(earlier));
    let dgd = to_json(
        &dgd(json!({"decode": {"replicas": 3, "scalingAdapter": {"enabled": true}}}))
            .with_status(json!({"decode": {"replicas": 3, "readyReplicas": 3}})),
    );
    let calls = vec![Call::get(format!("{DGDS}/test-dgd")).responds(200, dgd)];
    let (result, _) = verify(handle, calls, reconcile_adapter(Arc::new(adapter), ctx)).await;
    assert_eq!(result.unwrap(), Action::requeue(RESYNC));
}

#[tokio::test]
async fn adapter_reconcile_only_updates_the_status_when_the_dgd_reports_new_replicas() {
    let (ctx, handle) = context();
    let adapter = adapter("decode", 3).with_status(1, &selector_of("decode"), Some(now()));
    let dgd = to_json(
        &dgd(json!({"decode": {"replicas": 3, "scalingAdapter": {"enabled": true}}}))
            .with_status(json!({"decode": {"replicas": 2}})),
    );
    let calls = vec![
        Call::get(format!("{DGDS}/test-dgd")).responds(200, dgd),
        Call::merge_patch(
            format!("{ADAPTERS}/test-dgd-decode/status"),
            json!({"status": {
                "replicas": 2,
                "selector": "nvidia.com/dynamo-graph-deployment-name=test-dgd,nvidia.com/dynamo-component=decode",
                "lastScaleTime": "2026-03-01T12:00:00Z"
            }}),
        )
        .responds(200, to_json(&crate::fixtures::adapter("decode", 1))),
    ];
    let (result, _) = verify(handle, calls, reconcile_adapter(Arc::new(adapter), ctx)).await;
    assert_eq!(result.unwrap(), Action::requeue(RESYNC));
}

#[tokio::test]
async fn adapter_reconcile_of_an_orphan_warns_and_waits() {
    let (ctx, handle) = context();
    let calls = vec![
        Call::get(format!("{DGDS}/test-dgd")).responds(404, status(404, "NotFound")),
        Call::create(
            EVENTS,
            event(
                "Warning",
                "DgdNotFound",
                "Reconcile",
                "DynamoGraphDeployment test-dgd not found; the adapter is orphaned until garbage collection deletes it",
                adapter_ref("decode"),
                None,
            ),
        ),
    ];
    let (result, _) = verify(
        handle,
        calls,
        reconcile_adapter(Arc::new(adapter("decode", 2)), ctx),
    )
    .await;
    assert_eq!(result.unwrap(), Action::await_change());
}

#[tokio::test]
async fn adapter_reconcile_of_an_adapter_being_deleted_sends_nothing() {
    let (ctx, handle) = context();
    let adapter = adapter("decode", 5).deleting();
    let (result, _) = verify(handle, vec![], reconcile_adapter(Arc::new(adapter), ctx)).await;
    assert_eq!(result.unwrap(), Action::requeue(RESYNC));
}

#[tokio::test]
async fn adapter_reconcile_of_an_unmanaged_adapter_never_writes_it() {
    let (ctx, handle) = context();
    let adapter = adapter("decode", 5).unmanaged();
    let calls = vec![Call::get(format!("{DGDS}/test-dgd")).responds(
        200,
        dgd_json(json!({"decode": {"replicas": 2, "scalingAdapter": {"enabled": true}}})),
    )];
    let (result, _) = verify(handle, calls, reconcile_adapter(Arc::new(adapter), ctx)).await;
    assert_eq!(result.unwrap(), Action::requeue(RESYNC));
}

#[tokio::test]
async fn a_conflicting_dgd_write_is_retried_on_fresh_state() {
    let (ctx, handle) = context();
    let adapter = Arc::new(adapter("decode", 5).with_status(2, &selector_of("decode"), None));
    let calls = vec![
        Call::get(format!("{DGDS}/test-dgd"))
            .responds(200, dgd_json(json!({"decode": {"replicas": 2, "scalingAdapter": {"enabled": true}}}))),
        Call::merge_patch(
            format!("{DGDS}/test-dgd"),
            json!({"metadata": {"resourceVersion": DGD_VERSION}, "spec": {"services": {"decode": {"replicas": 5}}}}),
        )
        .responds(409, status(409, "Conflict")),
        Call::create(
            EVENTS,
            event(
                "Warning",
                "ReconcileFailed",
                "Reconcile",
                "conflict: Conflict (test) (HTTP 409 Conflict)",
                adapter_ref("decode"),
                None,
            ),
        ),
    ];
    let (result, _) = verify(
        handle,
        calls,
        reconcile_adapter(adapter.clone(), ctx.clone()),
    )
    .await;
    let error = result.unwrap_err();
    assert_eq!(error.metric_label(), "conflict");
    assert_eq!(
        error_policy(adapter, &error, ctx),
        Action::requeue(Duration::from_secs(1))
    );
}

// ---- forgetting deleted objects ----

/// A DGD whose one adapter-owned service has a name no adapter can have: a lasting warning.
fn dgd_with_invalid_unit() -> DynamoGraphDeployment {
    dgd(json!({"my_worker": {"scalingAdapter": {"enabled": true}}}))
}

/// The warning about [`dgd_with_invalid_unit`], regarding `dgd`.
fn invalid_name_warning(dgd: Value) -> Value {
    event(
        "Warning",
        "InvalidAdapterName",
        "Reconcile",
        "adapter name test-dgd-my_worker for service my_worker is not a valid DNS-1123 subdomain; \
         no adapter is created",
        dgd,
        None,
    )
}

#[tokio::test]
async fn a_relist_forgets_the_warnings_of_the_objects_it_no_longer_lists() {
    let (ctx, handle) = context();
    let dgd = Arc::new(dgd_with_invalid_unit());
    let reconcile = || reconcile_dgd(dgd.clone(), ctx.clone());
    let warned = vec![
        Call::get(ADAPTERS).responds(200, list(vec![])),
        Call::create(EVENTS, invalid_name_warning(dgd_ref())),
    ];
    let (result, handle) = verify(handle, warned, reconcile()).await;
    assert_eq!(result.unwrap(), Action::await_change());
    let (store, mut writer) = reflector::store();
    let mut relist = |listed: Vec<DynamoGraphDeployment>| {
        let listed = listed.into_iter().map(watcher::Event::InitApply);
        for event in std::iter::once(watcher::Event::Init)
            .chain(listed)
            .chain([watcher::Event::InitDone])
        {
            writer.apply_watcher_event(&event);
            ctx.forget_gone(&event, &store);
        }
    };
    // Still listed: the warning stays recorded, so the next pass records nothing.
    relist(vec![dgd.as_ref().clone()]);
    let calls = vec![Call::get(ADAPTERS).responds(200, list(vec![]))];
    let (result, handle) = verify(handle, calls, reconcile()).await;
    assert_eq!(result.unwrap(), Action::await_change());
    // Deleted while the watch was down: forgotten, so the DGD made again is warned about again.
    relist(vec![]);
    let warned = vec![
        Call::get(ADAPTERS).responds(200, list(vec![])),
        Call::create(EVENTS, invalid_name_warning(dgd_ref())),
    ];
    let (result, _) = verify(handle, warned, reconcile()).await;
    assert_eq!(result.unwrap(), Action::await_change());
}

/// The watch reports the DGD deleted and made again with the same problem: the new object's warning is
/// recorded, not taken for the one already recorded about the old object.
#[tokio::test]
async fn run_forgets_a_deleted_dgd_so_the_dgd_made_again_is_warned_about_again() {
    let (ctx, mut handle) = context();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let controllers = tokio::spawn(run(ctx, Some("default"), async {
        let _ = stopped.await;
    }));
    let dgd = to_json(&dgd_with_invalid_unit());
    let mut made_again = dgd.clone();
    made_again["metadata"]["uid"] = "made-again-uid".into();
    made_again["metadata"]["resourceVersion"] = "101".into();
    let deleted_and_made_again = [
        json!({"type": "DELETED", "object": dgd}),
        json!({"type": "ADDED", "object": made_again}),
    ]
    .map(|event| format!("{event}\n"))
    .concat();
    let respond = |body: Vec<u8>, status: u16| {
        Response::builder()
            .status(status)
            .body(Body::from(body))
            .unwrap()
    };
    // The DGD watches that follow the initial list, answered once the first warning is recorded.
    let mut first_dgd_watches = Vec::new();
    let mut open_watches = Vec::new();
    let mut warnings = Vec::new();
    while warnings.len() < 2 {
        let (request, send) = tokio::time::timeout(TIMEOUT, handle.next_request())
            .await
            .expect("no warning about the DGD made again")
            .expect("a request");
        let path = request.uri().path().to_owned();
        let query = query_pairs(request.uri().query()).join("&");
        let has = |pair: &str| query.split('&').any(|each| each == pair);
        let watch = has("watch=true");
        match (request.method().as_str(), path.as_str()) {
            ("GET", DGDS) if watch && has("resourceVersion=1") => {
                first_dgd_watches.push(send);
            }
            ("GET", _) if watch => open_watches.push(send),
            ("GET", DGDS) => {
                send.send_response(respond(list(vec![dgd.clone()]).to_string().into(), 200))
            }
            ("GET", ADAPTERS) => send.send_response(respond(list(vec![]).to_string().into(), 200)),
            ("POST", EVENTS) => {
                let bytes = request.into_body().collect_bytes().await.unwrap();
                let event: Value = serde_json::from_slice(&bytes).unwrap();
                send.send_response(respond(bytes.to_vec(), 201));
                warnings.push(event);
            }
            (method, path) => panic!("unexpected {method} {path}?{query}"),
        }
        if !warnings.is_empty() {
            for watch in first_dgd_watches.drain(..) {
                watch.send_response(respond(deleted_and_made_again.clone().into(), 200));
            }
        }
    }
    let mut made_again_ref = dgd_ref();
    made_again_ref["uid"] = "made-again-uid".into();
    assert_eq!(
        warnings,
        [
            invalid_name_warning(dgd_ref()),
            invalid_name_warning(made_again_ref)
        ]
    );
    stop.send(()).unwrap();
    tokio::time::timeout(TIMEOUT, controllers)
        .await
        .expect("the controllers did not stop on shutdown")
        .unwrap();
    drop(open_watches);
}

// ---- v1beta1 ----

fn v1beta1_json(spec: Value) -> Value {
    to_json(&dgd_v1beta1(spec))
}

fn decode_at(index: usize, replicas: i32) -> Value {
    let decode =
        json!({"name": "decode", "type": "decode", "replicas": replicas, "scalingAdapter": {}});
    let mut components = vec![json!({"name": "Frontend", "type": "frontend"})];
    components.insert(index, decode);
    v1beta1_json(json!({"components": components}))
}

fn scaled_v1beta1(note: &str, adapter: &str) -> Call {
    Call::create(
        EVENTS,
        event(
            "Normal",
            "Scaled",
            "Scale",
            note,
            adapter_ref_v1beta1(adapter),
            Some(dgd_ref_v1beta1()),
        ),
    )
}

fn status_v1beta1(adapter: &str, replicas: i32) -> Call {
    let unit_name = match adapter {
        "engines" => "Engines",
        other => other,
    };
    Call::merge_patch(
        format!("{ADAPTERS_V1BETA1}/test-dgd-{adapter}/status"),
        json!({"status": {
            "replicas": replicas,
            "selector": selector_of(unit_name),
            "lastScaleTime": "2026-03-01T12:00:00Z"
        }}),
    )
    .responds(
        200,
        to_json(&adapter_v1beta1(UnitRef::Component(adapter), 1)),
    )
}

#[tokio::test]
async fn v1beta1_dgd_reconcile_creates_v1beta1_adapters_for_components_and_groups() {
    let (ctx, handle) = context();
    let dgd = dgd_v1beta1(json!({
        "components": [
            {"name": "prefill", "type": "prefill"},
            {"name": "decode", "type": "decode", "replicas": 3, "scalingAdapter": {}},
            {"name": "Frontend", "type": "frontend"}
        ],
        "experimental": {"componentGroups": [{"name": "Engines", "replicas": 2, "scalingAdapter": {},
            "components": [{"name": "prefill"}]}]}
    }));
    let created = |unit: &str, dgd_ref: Value, replicas: i32| {
        json!({
            "apiVersion": "nvidia.com/v1beta1",
            "kind": "DynamoGraphDeploymentScalingAdapter",
            "metadata": {
                "name": format!("test-dgd-{}", unit.to_lowercase()),
                "namespace": "default",
                "labels": {
                    "app.kubernetes.io/managed-by": "scaleguard-controller",
                    "nvidia.com/dynamo-component": unit,
                    "nvidia.com/dynamo-graph-deployment-name": "test-dgd"
                },
                "ownerReferences": [{
                    "apiVersion": "nvidia.com/v1beta1", "kind": "DynamoGraphDeployment",
                    "name": "test-dgd", "uid": DGD_UID, "controller": true, "blockOwnerDeletion": true
                }]
            },
            "spec": {"replicas": replicas, "dgdRef": dgd_ref}
        })
    };
    let calls = vec![
        Call::get(ADAPTERS_V1BETA1).responds(200, list(vec![])),
        Call::create(
            ADAPTERS_V1BETA1,
            created(
                "decode",
                json!({"name": "test-dgd", "componentName": "decode"}),
                3,
            ),
        ),
        Call::create(
            ADAPTERS_V1BETA1,
            created(
                "Engines",
                json!({"name": "test-dgd", "componentGroupName": "Engines"}),
                2,
            ),
        ),
    ];
    let (result, _) = verify(handle, calls, reconcile_dgd(Arc::new(dgd), ctx)).await;
    assert_eq!(result.unwrap(), Action::requeue(RESYNC));
}

#[tokio::test]
async fn v1beta1_adapter_reconcile_patches_one_component_guarded_by_its_name() {
    let (ctx, handle) = context();
    let adapter = adapter_v1beta1(UnitRef::Component("decode"), 5).with_status(
        2,
        &selector_of("decode"),
        None,
    );
    let calls = vec![
        Call::get(format!("{DGDS_V1BETA1}/test-dgd")).responds(200, decode_at(1, 2)),
        Call::json_patch(
            format!("{DGDS_V1BETA1}/test-dgd"),
            json!([
                {"op": "test", "path": "/spec/components/1/name", "value": "decode"},
                {"op": "replace", "path": "/spec/components/1/replicas", "value": 5}
            ]),
        )
        .responds(200, decode_at(1, 5)),
        scaled_v1beta1("Scaled component decode from 2 to 5 replicas", "decode"),
        status_v1beta1("decode", 5),
    ];
    let (result, _) = verify(handle, calls, reconcile_adapter(Arc::new(adapter), ctx)).await;
    assert_eq!(result.unwrap(), Action::requeue(RESYNC));
}

#[tokio::test]
async fn v1beta1_adapter_reconcile_patches_a_component_group() {
    let (ctx, handle) = context();
    let adapter =
        adapter_v1beta1(UnitRef::Group("Engines"), 4).with_status(1, &selector_of("Engines"), None);
    let dgd = v1beta1_json(json!({
        "components": [{"name": "prefill"}, {"name": "decode"}],
        "experimental": {"componentGroups": [{"name": "Engines", "replicas": 1, "scalingAdapter": {},
            "components": [{"name": "prefill"}, {"name": "decode"}]}]}
    }));
    let calls = vec![
        Call::get(format!("{DGDS_V1BETA1}/test-dgd")).responds(200, dgd.clone()),
        Call::json_patch(
            format!("{DGDS_V1BETA1}/test-dgd"),
            json!([
                {"op": "test", "path": "/spec/experimental/componentGroups/0/name", "value": "Engines"},
                {"op": "replace", "path": "/spec/experimental/componentGroups/0/replicas", "value": 4}
            ]),
        )
        .responds(200, dgd),
        scaled_v1beta1("Scaled component group Engines from 1 to 4 replicas", "engines"),
        status_v1beta1("engines", 4),
    ];
    let (result, _) = verify(handle, calls, reconcile_adapter(Arc::new(adapter), ctx)).await;
    assert_eq!(result.unwrap(), Action::requeue(RESYNC));
}

#[tokio::test]
async fn a_list_that_moved_is_never_written_at_the_old_index() {
    let (ctx, handle) = context();
    let adapter = Arc::new(
        adapter_v1beta1(UnitRef::Component("decode"), 5).with_status(
            2,
            &selector_of("decode"),
            None,
        ),
    );
    // Read with decode at index 1; the list is reordered before the patch arrives: the test op fails.
    let calls = vec![
        Call::get(format!("{DGDS_V1BETA1}/test-dgd")).responds(200, decode_at(1, 2)),
        Call::json_patch(
            format!("{DGDS_V1BETA1}/test-dgd"),
            json!([
                {"op": "test", "path": "/spec/components/1/name", "value": "decode"},
                {"op": "replace", "path": "/spec/components/1/replicas", "value": 5}
            ]),
        )
        .responds(422, status(422, "Invalid")),
        Call::create(
            EVENTS,
            event(
                "Warning",
                "ReconcileFailed",
                "Reconcile",
                "request rejected: Invalid (test) (HTTP 422 Invalid)",
                adapter_ref_v1beta1("decode"),
                None,
            ),
        ),
    ];
    let (result, handle) = verify(
        handle,
        calls,
        reconcile_adapter(adapter.clone(), ctx.clone()),
    )
    .await;
    let error = result.unwrap_err();
    assert_eq!(error.metric_label(), "rejected");
    // The reorder is a DGD change, which triggers the next reconcile: it reads decode at index 0.
    let calls = vec![
        Call::get(format!("{DGDS_V1BETA1}/test-dgd")).responds(200, decode_at(0, 2)),
        Call::json_patch(
            format!("{DGDS_V1BETA1}/test-dgd"),
            json!([
                {"op": "test", "path": "/spec/components/0/name", "value": "decode"},
                {"op": "replace", "path": "/spec/components/0/replicas", "value": 5}
            ]),
        )
        .responds(200, decode_at(0, 5)),
        scaled_v1beta1("Scaled component decode from 2 to 5 replicas", "decode"),
        status_v1beta1("decode", 5),
    ];
    let (result, _) = verify(handle, calls, reconcile_adapter(adapter, ctx)).await;
    assert_eq!(result.unwrap(), Action::requeue(RESYNC));
}

// ---- the Dynamo API version ----

#[tokio::test]
async fn auto_discovers_v1beta1_where_the_cluster_serves_it() {
    let resources = json!({
        "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "nvidia.com/v1beta1",
        "resources": [
            {"name": "dynamographdeployments", "singularName": "dynamographdeployment",
             "namespaced": true, "kind": "DynamoGraphDeployment", "verbs": ["get", "list", "watch", "patch"]},
            {"name": "dynamographdeploymentscalingadapters", "singularName": "dynamographdeploymentscalingadapter",
             "namespaced": true, "kind": "DynamoGraphDeploymentScalingAdapter", "verbs": ["get", "list", "create"]}
        ]
    });
    let (ctx, handle) = context();
    let calls = vec![Call::get("/apis/nvidia.com/v1beta1").responds(200, resources)];
    let (version, handle) = verify(handle, calls, api_version(&ctx.client, None)).await;
    assert_eq!(version.unwrap(), DgdVersion::V1beta1);
    // Dynamo before 1.2: the group version does not exist.
    let calls = vec![Call::get("/apis/nvidia.com/v1beta1").responds(404, status(404, "NotFound"))];
    let (version, handle) = verify(handle, calls, api_version(&ctx.client, None)).await;
    assert_eq!(version.unwrap(), DgdVersion::V1alpha1);
    // Any other failure is not an answer.
    let calls = vec![
        Call::get("/apis/nvidia.com/v1beta1").responds(503, status(503, "ServiceUnavailable")),
    ];
    let (version, handle) = verify(handle, calls, api_version(&ctx.client, None)).await;
    assert_eq!(version.unwrap_err().metric_label(), "transient");
    // A version asked for is not discovered.
    let requested = api_version(&ctx.client, Some(DgdVersion::V1beta1));
    let (version, _) = verify(handle, vec![], requested).await;
    assert_eq!(version.unwrap(), DgdVersion::V1beta1);
}

// ---- wiring ----

#[tokio::test]
async fn run_watches_dgds_creates_their_adapters_and_stops_on_shutdown() {
    let (ctx, mut handle) = context();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let controllers = tokio::spawn(run(ctx, Some("default"), async {
        let _ = stopped.await;
    }));
    let dgd = dgd_json(json!({"decode": {"replicas": 2, "scalingAdapter": {"enabled": true}}}));
    let mut open_watches = Vec::new();
    loop {
        let (request, send) = tokio::time::timeout(TIMEOUT, handle.next_request())
            .await
            .expect("the controllers stopped sending requests before creating the adapter")
            .expect("a request");
        let path = request.uri().path().to_owned();
        let watch = request
            .uri()
            .query()
            .unwrap_or_default()
            .contains("watch=true");
        let respond = |body: Value, status: u16| {
            Response::builder()
                .status(status)
                .body(Body::from(serde_json::to_vec(&body).unwrap()))
                .unwrap()
        };
        match (request.method().as_str(), path.as_str()) {
            ("GET", _) if watch => open_watches.push(send),
            ("GET", DGDS) => send.send_response(respond(list(vec![dgd.clone()]), 200)),
            ("GET", ADAPTERS) => send.send_response(respond(list(vec![]), 200)),
            ("POST", ADAPTERS) => {
                let bytes = request.into_body().collect_bytes().await.unwrap();
                let created: Value = serde_json::from_slice(&bytes).unwrap();
                assert_eq!(created["metadata"]["name"], "test-dgd-decode");
                assert_eq!(created["spec"]["replicas"], 2);
                send.send_response(respond(created, 201));
                break;
            }
            (method, path) => panic!("unexpected {method} {path}"),
        }
    }
    stop.send(()).unwrap();
    tokio::time::timeout(TIMEOUT, controllers)
        .await
        .expect("the controllers did not stop on shutdown")
        .unwrap();
    drop(open_watches);
}

#[tokio::test]
async fn run_at_v1beta1_watches_and_creates_v1beta1_objects() {
    let (ctx, mut handle) = context();
    let ctx = Arc::new(
        Arc::into_inner(ctx)
            .unwrap()
            .with_api_version(DgdVersion::V1beta1),
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let controllers = tokio::spawn(run(ctx, Some("default"), async {
        let _ = stopped.await;
    }));
    let dgd = v1beta1_json(
        json!({"components": [{"name": "decode", "replicas": 2, "scalingAdapter": {}}]}),
    );
    let mut open_watches = Vec::new();
    loop {
        let (request, send) = tokio::time::timeout(TIMEOUT, handle.next_request())
            .await
            .expect("the controllers stopped sending requests before creating the adapter")
            .expect("a request");
        let path = request.uri().path().to_owned();
        let watch = request
            .uri()
            .query()
            .unwrap_or_default()
            .contains("watch=true");
        let respond = |body: Value, status: u16| {
            Response::builder()
                .status(status)
                .body(Body::from(serde_json::to_vec(&body).unwrap()))
                .unwrap()
        };
        match (request.method().as_str(), path.as_str()) {
            ("GET", _) if watch => open_watches.push(send),
            ("GET", DGDS_V1BETA1) => send.send_response(respond(list(vec![dgd.clone()]), 200)),
            ("GET", ADAPTERS_V1BETA1) => send.send_response(respond(list(vec![]), 200)),
            ("POST", ADAPTERS_V1BETA1) => {
                let bytes = request.into_body().collect_bytes().await.unwrap();
                let created: Value = serde_json::from_slice(&bytes).unwrap();
                assert_eq!(created["apiVersion"], "nvidia.com/v1beta1");
                assert_eq!(
                    created["spec"],
                    json!({"replicas": 2, "dgdRef": {"name": "test-dgd", "componentName": "decode"}})
                );
                send.send_response(respond(created, 201));
                break;
            }
            (method, path) => panic!("unexpected {method} {path}"),
        }
    }
    stop.send(()).unwrap();
    tokio::time::timeout(TIMEOUT, controllers)
        .await
        .expect("the controllers did not stop on shutdown")
        .unwrap();
    drop(open_watches);
}
