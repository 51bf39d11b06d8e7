use http::{Request, Response};
use kube::client::Body;
use serde_json::{Value, json};

use super::*;

const LEASE: &str =
    "/apis/coordination.k8s.io/v1/namespaces/scaleguard-system/leases/scaleguard-controller";
const LEASES: &str = "/apis/coordination.k8s.io/v1/namespaces/scaleguard-system/leases";

type Handle = tower_test::mock::Handle<Request<Body>, Response<Body>>;

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
    (LeaderElector::new(client, config(identity)), handle)
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

/// Answers the next request after checking its method and path; returns its JSON body (if any).
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
