use std::sync::Arc;

use futures::FutureExt;
use futures::future;
use http::{Request, Response};
use kube::client::Body;
use serde_json::{Value, json};
use tokio::sync::watch;

use super::*;
use crate::fixtures::now;

const LEASE: &str =
    "/apis/coordination.k8s.io/v1/namespaces/scaleguard-system/leases/scaleguard-controller";
const LEASES: &str = "/apis/coordination.k8s.io/v1/namespaces/scaleguard-system/leases";

type Handle = tower_test::mock::Handle<Request<Body>, Response<Body>>;
/// A shutdown signal as `lead` takes it.
type Shutdown = future::Shared<future::BoxFuture<'static, ()>>;

fn config(identity: &str) -> LeaseConfig {
    LeaseConfig {
        name: "scaleguard-controller".into(),
        namespace: "scaleguard-system".into(),
        identity: identity.into(),
        lease_duration: Duration::from_secs(15),
        renew_deadline: Duration::from_secs(10),
        retry_period: Duration::from_secs(2),
    }
}

fn elector(identity: &str) -> (LeaderElector, Handle) {
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let client = Client::new(service, "default");
    let elector = LeaderElector::new(client, config(identity)).with_clock(now);
    (elector, handle)
}

fn lease(holder: &str, version: &str) -> Value {
    json!({
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": "scaleguard-controller", "namespace": "scaleguard-system", "resourceVersion": version},
        "spec": {
            "holderIdentity": holder, "leaseDurationSeconds": 15, "leaseTransitions": 2,
            "acquireTime": "2026-03-01T11:00:00.000000Z", "renewTime": "2026-03-01T11:59:58.000000Z"
        }
    })
}

/// [`now`] as a Lease writes it.
const NOW: &str = "2026-03-01T12:00:00.000000Z";

/// Answers the next request after checking its method, path and field manager (writes only); returns its
/// JSON body (if any).
async fn answer(
    handle: &mut Handle,
    method: &str,
    path: &str,
    status: u16,
    response: Value,
) -> Value {
    let (request, send) = handle.next_request().await.expect("a request");
    assert_eq!(request.method().as_str(), method);
    assert_eq!(request.uri().path(), path);
    let query = request.uri().query().unwrap_or_default();
    assert_eq!(
        query.contains("fieldManager=scaleguard-controller"),
        method != "GET",
        "{method} {path}?{query}"
    );
    let bytes = request.into_body().collect_bytes().await.unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    let response = Response::builder()
        .status(status)
        .body(Body::from(serde_json::to_vec(&response).unwrap()))
        .unwrap();
    send.send_response(response);
    body
}

fn not_found() -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404})
}

/// [`answer`], asserting the request comes `at` seconds (of paused time) after `start`.
async fn answer_at(
    handle: &mut Handle,
    start: Instant,
    at: u64,
    method: &str,
    status: u16,
    response: Value,
) -> Value {
    let path = if method == "POST" { LEASES } else { LEASE };
    let body = answer(handle, method, path, status, response).await;
    assert_eq!(start.elapsed(), Duration::from_secs(at), "{method} {path}");
    body
}

/// `lease`, renewed by its holder at [`NOW`].
fn renewed(holder: &str, version: &str) -> Value {
    let mut lease = lease(holder, version);
    lease["spec"]["renewTime"] = NOW.into();
    lease
}

/// A stand-in for the controller: `running` is true from its start until `shutdown` stops it.
fn controller(
    running: watch::Sender<bool>,
) -> impl FnOnce(Shutdown) -> future::BoxFuture<'static, ()> {
    move |shutdown| {
        async move {
            running.send_replace(true);
            shutdown.await;
            running.send_replace(false);
        }
        .boxed()
    }
}

/// A shutdown signal that never comes.
fn no_shutdown() -> Shutdown {
    future::pending().boxed().shared()
}

/// Whether the `leader` metric says this replica leads.
fn leads(metrics: &Metrics) -> bool {
    metrics
        .encode()
        .lines()
        .any(|line| line == "scaleguard_controller_leader 1")
}

#[test]
fn decides_renew_acquire_or_follow() {
    let spec = |holder: Option<&str>| LeaseSpec {
        holder_identity: holder.map(str::to_owned),
        lease_duration_seconds: Some(15),
        ..LeaseSpec::default()
    };
    let fresh = Duration::from_secs(3);
    let stale = Duration::from_secs(15);
    let default = Duration::from_secs(30);
    assert_eq!(
        decide(&spec(Some("a")), "a", fresh, default),
        Decision::Renew
    );
    assert_eq!(
        decide(&spec(Some("b")), "a", fresh, default),
        Decision::Follow
    );
    assert_eq!(
        decide(&spec(Some("b")), "a", stale, default),
        Decision::Acquire
    );
    assert_eq!(decide(&spec(None), "a", fresh, default), Decision::Acquire);
    assert_eq!(
        decide(&spec(Some("")), "a", fresh, default),
        Decision::Acquire
    );
    let no_duration = LeaseSpec {
        holder_identity: Some("b".into()),
        ..LeaseSpec::default()
    };
    assert_eq!(decide(&no_duration, "a", stale, default), Decision::Follow);
}

#[tokio::test]
async fn creates_the_lease_when_there_is_none() {
    let (mut elector, mut handle) = elector("pod-a");
    let server = tokio::spawn(async move {
        answer(&mut handle, "GET", LEASE, 404, not_found()).await;
        let created = answer(&mut handle, "POST", LEASES, 201, json!({})).await;
        assert_eq!(created["metadata"]["name"], "scaleguard-controller");
        assert_eq!(created["spec"]["holderIdentity"], "pod-a");
        assert_eq!(created["spec"]["leaseDurationSeconds"], 15);
        assert_eq!(created["spec"]["leaseTransitions"], 0);
        assert!(created["spec"]["renewTime"].is_string());
    });
    assert!(elector.try_acquire_or_renew().await.unwrap());
    server.await.unwrap();
}

#[tokio::test]
async fn renews_its_own_lease_with_a_checked_replace() {
    let (mut elector, mut handle) = elector("pod-a");
    let server = tokio::spawn(async move {
        answer(&mut handle, "GET", LEASE, 200, lease("pod-a", "41")).await;
        let renewed = answer(&mut handle, "PUT", LEASE, 200, lease("pod-a", "42")).await;
        assert_eq!(renewed["metadata"]["resourceVersion"], "41");
        assert_eq!(renewed["spec"]["holderIdentity"], "pod-a");
        assert_eq!(renewed["spec"]["leaseTransitions"], 2);
        assert_ne!(renewed["spec"]["renewTime"], "2026-03-01T11:59:58.000000Z");
    });
    assert!(elector.try_acquire_or_renew().await.unwrap());
    server.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn takes_over_only_after_the_lease_went_unrenewed_for_its_duration() {
    let (mut elector, mut handle) = elector("pod-b");
    let server = tokio::spawn(async move {
        // First sight of pod-a's lease: follow, no write.
        answer(&mut handle, "GET", LEASE, 200, lease("pod-a", "41")).await;
        // Still the same record 10 s later: follow.
        answer(&mut handle, "GET", LEASE, 200, lease("pod-a", "41")).await;
        // Unchanged for 16 s: take it over, conditional on that record.
        answer(&mut handle, "GET", LEASE, 200, lease("pod-a", "41")).await;
        let acquired = answer(&mut handle, "PUT", LEASE, 200, lease("pod-b", "42")).await;
        assert_eq!(acquired["metadata"]["resourceVersion"], "41");
        assert_eq!(acquired["spec"]["holderIdentity"], "pod-b");
        assert_eq!(acquired["spec"]["leaseTransitions"], 3);
    });
    assert!(!elector.try_acquire_or_renew().await.unwrap());
    tokio::time::advance(Duration::from_secs(10)).await;
    assert!(!elector.try_acquire_or_renew().await.unwrap());
    tokio::time::advance(Duration::from_secs(6)).await;
    assert!(elector.try_acquire_or_renew().await.unwrap());
    server.await.unwrap();
}

#[tokio::test]
async fn a_concurrent_takeover_loses_the_round() {
    let (mut elector, mut handle) = elector("pod-b");
    let server = tokio::spawn(async move {
        answer(&mut handle, "GET", LEASE, 200, lease("", "41")).await;
        let conflict = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Conflict", "code": 409});
        answer(&mut handle, "PUT", LEASE, 409, conflict).await;
    });
    assert!(!elector.try_acquire_or_renew().await.unwrap());
    server.await.unwrap();
}

#[tokio::test]
async fn release_clears_the_holder_only_when_it_holds_the_lease() {
    let (elector, mut handle) = elector("pod-a");
    let server = tokio::spawn(async move {
        answer(&mut handle, "GET", LEASE, 200, lease("pod-a", "41")).await;
        let released = answer(&mut handle, "PUT", LEASE, 200, lease("", "42")).await;
        assert!(released["spec"].get("holderIdentity").is_none());
        assert_eq!(released["spec"]["leaseDurationSeconds"], 1);
        answer(&mut handle, "GET", LEASE, 200, lease("pod-b", "43")).await;
    });
    elector.release().await.unwrap();
    elector.release().await.unwrap();
    server.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn lead_runs_the_controller_once_the_lease_is_won_and_renews_it_every_retry_period() {
    let (elector, mut handle) = elector("pod-a");
    let metrics = Arc::new(Metrics::default());
    let (running_tx, running) = watch::channel(false);
    let start = Instant::now();
    let server = tokio::spawn({
        let metrics = metrics.clone();
        async move {
            answer_at(&mut handle, start, 0, "GET", 404, not_found()).await;
            assert!(
                !*running.borrow(),
                "the controller ran before the lease was won"
            );
            let created = answer_at(&mut handle, start, 0, "POST", 201, lease("pod-a", "1")).await;
            let expected = json!({
                "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": "scaleguard-controller", "namespace": "scaleguard-system"},
                "spec": {
                    "holderIdentity": "pod-a", "leaseDurationSeconds": 15, "leaseTransitions": 0,
                    "acquireTime": NOW, "renewTime": NOW
                }
            });
            assert_eq!(created, expected);
            for (at, version, next) in [(2, "1", "2"), (4, "2", "3")] {
                answer_at(&mut handle, start, at, "GET", 200, lease("pod-a", version)).await;
                assert!(*running.borrow(), "the controller is not running at {at} s");
                assert!(leads(&metrics));
                let renewal =
                    answer_at(&mut handle, start, at, "PUT", 200, lease("pod-a", next)).await;
                assert_eq!(renewal, renewed("pod-a", version));
            }
        }
    });
    tokio::select! {
        result = elector.lead(&metrics, no_shutdown(), controller(running_tx)) => {
            panic!("stopped leading: {result:?}");
        }
        scenario = server => scenario.unwrap(),
    }
}

#[tokio::test(start_paused = true)]
async fn lead_stops_the_controller_without_writing_when_another_replica_took_the_lease() {
    let (elector, mut handle) = elector("pod-a");
    let metrics = Metrics::default();
    let (running_tx, running) = watch::channel(false);
    let start = Instant::now();
    let server = tokio::spawn(async move {
        // A free lease (its holder released it): won, one transition more.
        answer_at(&mut handle, start, 0, "GET", 200, lease("", "41")).await;
        let acquired = answer_at(&mut handle, start, 0, "PUT", 200, lease("pod-a", "42")).await;
        let mut expected = lease("pod-a", "41");
        expected["spec"]["acquireTime"] = NOW.into();
        expected["spec"]["renewTime"] = NOW.into();
        expected["spec"]["leaseTransitions"] = 3.into();
        assert_eq!(acquired, expected);
        // pod-b holds it now: no renewal, no release, no request at all any more.
        answer_at(&mut handle, start, 2, "GET", 200, lease("pod-b", "50")).await;
        assert!(
            *running.borrow(),
            "the controller did not run while leading"
        );
        assert!(
            handle.next_request().await.is_none(),
            "a request after the lease was lost"
        );
    });
    let result = elector
        .lead(&metrics, no_shutdown(), controller(running_tx))
        .await;
    assert!(matches!(result, Err(Error::Lost)), "{result:?}");
    assert_eq!(start.elapsed(), Duration::from_secs(2));
    assert!(!leads(&metrics));
    server.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn lead_stops_the_controller_when_renewals_fail_for_the_renew_deadline() {
    let (elector, mut handle) = elector("pod-a");
    let metrics = Metrics::default();
    let (running_tx, _running) = watch::channel(false);
    let start = Instant::now();
    let server = tokio::spawn(async move {
        answer_at(&mut handle, start, 0, "GET", 200, lease("pod-a", "41")).await;
        answer_at(&mut handle, start, 0, "PUT", 200, lease("pod-a", "42")).await;
        let unavailable = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "ServiceUnavailable", "code": 503});
        for at in [2, 4, 6, 8, 10] {
            answer_at(&mut handle, start, at, "GET", 503, unavailable.clone()).await;
        }
        assert!(
            handle.next_request().await.is_none(),
            "a request after the lease was lost"
        );
    });
    let result = elector
        .lead(&metrics, no_shutdown(), controller(running_tx))
        .await;
    assert!(matches!(result, Err(Error::Lost)), "{result:?}");
    assert_eq!(start.elapsed(), Duration::from_secs(10));
    server.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn lead_releases_the_lease_on_shutdown_once_the_controller_stopped() {
    let (elector, mut handle) = elector("pod-a");
    let metrics = Metrics::default();
    let (running_tx, running) = watch::channel(false);
    let (sigterm, terminated) = oneshot::channel::<()>();
    let shutdown = terminated.map(drop).boxed().shared();
    let start = Instant::now();
    let server = tokio::spawn(async move {
        answer_at(&mut handle, start, 0, "GET", 200, lease("pod-a", "41")).await;
        answer_at(&mut handle, start, 0, "PUT", 200, lease("pod-a", "42")).await;
        answer_at(&mut handle, start, 2, "GET", 200, lease("pod-a", "42")).await;
        answer_at(&mut handle, start, 2, "PUT", 200, lease("pod-a", "43")).await;
        // SIGTERM at 3 s: the controller stops, then the lease is released at once.
        answer_at(&mut handle, start, 3, "GET", 200, lease("pod-a", "43")).await;
        assert!(
            !*running.borrow(),
            "the lease is released while the controller runs"
        );
        let released = answer_at(&mut handle, start, 3, "PUT", 200, lease("", "44")).await;
        let mut expected = renewed("pod-a", "43");
        expected["spec"]["leaseDurationSeconds"] = 1.into();
        expected["spec"]
            .as_object_mut()
            .unwrap()
            .remove("holderIdentity");
        assert_eq!(released, expected);
        assert!(
            handle.next_request().await.is_none(),
            "a request after the release"
        );
    });
    let leading = elector.lead(&metrics, shutdown, controller(running_tx));
    let signal = async {
        tokio::time::sleep(Duration::from_secs(3)).await;
        sigterm.send(()).unwrap();
    };
    let (result, ()) = tokio::join!(leading, signal);
    result.unwrap();
    assert!(!leads(&metrics));
    server.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn lead_on_shutdown_as_a_standby_never_runs_the_controller_nor_writes() {
    let (elector, mut handle) = elector("pod-b");
    let metrics = Metrics::default();
    let (sigterm, terminated) = oneshot::channel::<()>();
    let shutdown = terminated.map(drop).boxed().shared();
    let start = Instant::now();
    let server = tokio::spawn(async move {
        // pod-a renews its lease: pod-b follows.
        answer_at(&mut handle, start, 0, "GET", 200, lease("pod-a", "41")).await;
        answer_at(&mut handle, start, 2, "GET", 200, lease("pod-a", "42")).await;
        assert!(
            handle.next_request().await.is_none(),
            "a request after shutdown"
        );
    });
    let leading = elector.lead(&metrics, shutdown, |_| -> future::Ready<()> {
        panic!("a standby ran the controller")
    });
    let signal = async {
        tokio::time::sleep(Duration::from_secs(3)).await;
        sigterm.send(()).unwrap();
    };
    let (result, ()) = tokio::join!(leading, signal);
    result.unwrap();
    assert_eq!(start.elapsed(), Duration::from_secs(3));
    assert!(!leads(&metrics));
    server.await.unwrap();
}
