//! proptest strategies for the objects scaleguard reviews: DGDs whose services look like real ones
//! (optional fields absent, `null` or set, unknown fields), HPAs and ScaledObjects aimed at adapters,
//! the users who send them, the clusters they live in, and arbitrary JSON to break them with.
//!
//! Names come from small pools so that generated autoscalers, adapters and DGDs refer to each other
//! (and collide) often.

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::sample::{Index, select};
use serde_json::{Map, Value, json};

/// The namespace of every generated object.
pub const NAMESPACE: &str = "default";
/// DGD names; `llm` + `a-decode` and `llm-a` + `decode` give the same adapter name.
pub const DGD_NAMES: &[&str] = &["llm", "llm-a", "chat"];
/// Service names, in the cases DGDs use.
pub const SERVICE_NAMES: &[&str] = &[
    "Frontend",
    "decode",
    "prefill",
    "a-decode",
    "Planner",
    "VllmDecodeWorker",
];

/// Any JSON value, up to four levels deep.
pub fn any_json() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON numbers are finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map(".{0,8}", inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
    .boxed()
}

/// Fields the models ignore, as real DGD services carry them.
pub fn unknown_fields() -> impl Strategy<Value = Map<String, Value>> + Clone {
    prop::collection::btree_map(
        select(vec![
            "extraPodSpec",
            "envs",
            "envFromSecret",
            "livenessProbe",
            "sharedMemory",
        ]),
        any_json(),
        0..3,
    )
    .prop_map(|map| map.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

/// A well-typed DGD service: every optional field absent, `null` (where the API allows it) or set, with
/// deprecated fields now and then, and unknown fields.
pub fn service() -> BoxedStrategy<Value> {
    (
        prop::option::of(0..64i32),
        prop::option::of(prop::option::of(any::<bool>())),
        prop::option::of(prop_oneof![Just(json!(null)), Just(json!({})), any_json()]),
        prop::option::of(prop_oneof![
            Just(json!(null)),
            "[a-z-]{1,10}".prop_map(Value::from)
        ]),
        prop::option::of(select(vec![
            "frontend", "worker", "planner", "prefill", "decode",
        ])),
        prop::option::of(select(vec!["prefill", "decode", "aggregated"])),
        prop::option::of("[0-8]"),
        unknown_fields(),
    )
        .prop_map(
            |(replicas, adapter, autoscaling, dynamo_namespace, component, sub, gpu, unknown)| {
                let mut service = unknown;
                let mut set = |key: &str, value: Option<Value>| {
                    if let Some(value) = value {
                        service.insert(key.to_owned(), value);
                    }
                };
                set("replicas", replicas.map(Value::from));
                set(
                    "scalingAdapter",
                    adapter.map(|enabled| {
                        enabled.map_or_else(|| json!({}), |e| json!({"enabled": e}))
                    }),
                );
                set("autoscaling", autoscaling);
                set("dynamoNamespace", dynamo_namespace);
                set("componentType", component.map(Value::from));
                set("subComponentType", sub.map(Value::from));
                set("resources", gpu.map(|gpu| json!({"limits": {"gpu": gpu}})));
                Value::Object(service)
            },
        )
        .boxed()
}

/// Service names as DGDs use them: upper and lower case, digits, dashes.
pub fn service_name() -> impl Strategy<Value = String> + Clone {
    prop_oneof![
        select(SERVICE_NAMES).prop_map(str::to_owned),
        "[A-Za-z][A-Za-z0-9-]{0,10}",
    ]
}

/// Up to eight services by name.
pub fn services() -> BoxedStrategy<BTreeMap<String, Value>> {
    prop::collection::btree_map(service_name(), service(), 0..8).boxed()
}

/// A DGD named `name` in [`NAMESPACE`] with `services` and the fields around them real DGDs have.
pub fn dgd(name: &str, services: &BTreeMap<String, Value>) -> Value {
    json!({
        "apiVersion": "nvidia.com/v1alpha1",
        "kind": "DynamoGraphDeployment",
        "metadata": {"name": name, "namespace": NAMESPACE, "uid": format!("uid-{name}"), "labels": {"team": "llm"}},
        "spec": {"backendFramework": "sglang", "services": services},
        "status": {"state": "successful"}
    })
}

/// A DGD from the name pool.
pub fn dgd_object() -> BoxedStrategy<Value> {
    (select(DGD_NAMES), services())
        .prop_map(|(name, services)| dgd(name, &services))
        .boxed()
}

/// The adapter name of a pool DGD and service: `<dgd>-<lowercased service>`.
pub fn adapter_name() -> impl Strategy<Value = String> + Clone {
    (select(DGD_NAMES), select(SERVICE_NAMES))
        .prop_map(|(dgd, service)| format!("{dgd}-{}", service.to_lowercase()))
}

/// `scaleTargetRef`: mostly an adapter, sometimes a Deployment or no kind at all.
fn scale_target_ref() -> impl Strategy<Value = Value> + Clone {
    let adapter = adapter_name().prop_map(|name| {
        json!({"apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoGraphDeploymentScalingAdapter", "name": name})
    });
    prop_oneof![
        4 => adapter,
        1 => "[a-z-]{1,12}".prop_map(|name| json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": name})),
        1 => "[a-z-]{1,12}".prop_map(|name| json!({"name": name})),
    ]
}

/// Prometheus queries as written in autoscalers, well-formed or not.
fn promql() -> impl Strategy<Value = String> + Clone {
    prop_oneof![
        select(vec![
            r#"sum(dynamo_frontend_queued_requests{dynamo_namespace="default-llm"})"#,
            r#"avg(kvstats_gpu_cache_usage_percent{dynamo_namespace="default-llm-a"})"#,
            r#"sum(rate(dynamo_frontend_requests_total{dynamo_namespace="default-chat"}[1m]))"#,
            r#"histogram_quantile(0.9, sum by (le) (rate(dynamo_frontend_time_to_first_token_seconds_bucket{dynamo_namespace=~"default-.*"}[5m])))"#,
            "sum(dynamo_frontend_inflight_requests)",
            "sum(rate(",
            "",
        ])
        .prop_map(str::to_owned),
        ".{0,40}",
    ]
}

/// Metadata of an autoscaler, sometimes owned by a KEDA ScaledObject or being deleted.
fn autoscaler_metadata() -> impl Strategy<Value = Value> + Clone {
    (
        "[a-z][a-z-]{0,10}",
        prop::option::of("[a-z][a-z-]{0,10}"),
        any::<bool>(),
    )
        .prop_map(|(name, keda_owner, deleting)| {
            let mut metadata = json!({"name": name, "namespace": NAMESPACE});
            if let Some(owner) = keda_owner {
                metadata["name"] = format!("keda-hpa-{owner}").into();
                metadata["ownerReferences"] = json!([{"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "name": owner, "uid": "u", "controller": true}]);
                metadata["labels"] = json!({"scaledobject.keda.sh/name": owner});
            }
            if deleting {
                metadata["deletionTimestamp"] = "2026-03-01T12:00:00Z".into();
            }
            metadata
        })
}

/// An HPA (`autoscaling/v2`, sometimes `v1`).
pub fn hpa_object() -> BoxedStrategy<Value> {
    (
        select(vec!["autoscaling/v2", "autoscaling/v1"]),
        autoscaler_metadata(),
        scale_target_ref(),
        prop::option::of(-2..8i32),
        prop::option::of(-2..2000i32),
        prop::option::of(-10..4000i32),
        prop::option::of(("[a-z_]{1,40}", select(DGD_NAMES))),
    )
        .prop_map(|(api_version, metadata, target, min, max, window, metric)| {
            let mut spec = json!({"scaleTargetRef": target});
            if let Some(min) = min {
                spec["minReplicas"] = min.into();
            }
            if let Some(max) = max {
                spec["maxReplicas"] = max.into();
            }
            if let Some(window) = window {
                spec["behavior"] = json!({"scaleDown": {"stabilizationWindowSeconds": window}});
            }
            if let Some((metric, dgd)) = metric {
                spec["metrics"] = json!([{"type": "External", "external": {
                    "metric": {"name": metric, "selector": {"matchLabels": {"dynamo_namespace": format!("{NAMESPACE}-{dgd}")}}},
                    "target": {"type": "AverageValue", "averageValue": "5"}}}]);
            }
            json!({"apiVersion": api_version, "kind": "HorizontalPodAutoscaler", "metadata": metadata, "spec": spec})
        })
.boxed()
}

/// A KEDA ScaledObject with optional counts, fallback, behaviour and Prometheus triggers.
pub fn scaled_object() -> BoxedStrategy<Value> {
    (
        autoscaler_metadata(),
        scale_target_ref(),
        prop::array::uniform5(prop::option::of(-2..1200i32)),
        prop::option::of(-1..10i32),
        prop::option::of(-10..4000i32),
        prop::collection::vec((promql(), "[0-9.]{0,4}"), 0..3),
    )
        .prop_map(|(metadata, target, counts, fallback, window, triggers)| {
            let mut spec = json!({"scaleTargetRef": target});
            let keys = ["minReplicaCount", "maxReplicaCount", "idleReplicaCount", "cooldownPeriod", "pollingInterval"];
            for (key, count) in keys.into_iter().zip(counts) {
                if let Some(count) = count {
                    spec[key] = count.into();
                }
            }
            if let Some(replicas) = fallback {
                spec["fallback"] = json!({"failureThreshold": 3, "replicas": replicas});
            }
            if let Some(window) = window {
                spec["advanced"] = json!({"horizontalPodAutoscalerConfig": {"behavior": {"scaleDown": {"stabilizationWindowSeconds": window}}}});
            }
            spec["triggers"] = triggers
                .into_iter()
                .map(|(query, threshold)| json!({"type": "prometheus", "metadata": {
                    "serverAddress": "http://prometheus.monitoring:9090", "query": query, "threshold": threshold}}))
                .collect();
            json!({"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": metadata, "spec": spec})
        })
.boxed()
}

/// A scaling adapter of a pool DGD service, made by the operator or by scaleguard's controller.
pub fn adapter_object() -> impl Strategy<Value = Value> + Clone {
    (select(DGD_NAMES), select(SERVICE_NAMES), 0..10i32).prop_map(|(dgd, service, replicas)| {
        json!({
            "apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoGraphDeploymentScalingAdapter",
            "metadata": {"name": format!("{dgd}-{}", service.to_lowercase()), "namespace": NAMESPACE},
            "spec": {"replicas": replicas, "dgdRef": {"name": dgd, "serviceName": service}}
        })
    })
}

/// Any object a scaleguard policy reviews, or one it should let through (a Pod).
pub fn reviewed_object() -> BoxedStrategy<Value> {
    prop_oneof![
        3 => dgd_object(),
        3 => hpa_object(),
        3 => scaled_object(),
        1 => Just(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": NAMESPACE}})),
    ]
.boxed()
}

/// Every JSON pointer inside `value`, the root included.
fn pointers(value: &Value, prefix: &str, out: &mut Vec<String>) {
    out.push(prefix.to_owned());
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let key = key.replace('~', "~0").replace('/', "~1");
                pointers(child, &format!("{prefix}/{key}"), out);
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                pointers(child, &format!("{prefix}/{index}"), out);
            }
        }
        _ => {}
    }
}

/// `value` with the value at one of its paths (chosen by `at`) replaced by `replacement`.
pub fn replace_at(mut value: Value, at: Index, replacement: Value) -> Value {
    let mut paths = Vec::new();
    pointers(&value, "", &mut paths);
    let path = at.get(&paths);
    if let Some(slot) = value.pointer_mut(path) {
        *slot = replacement;
    }
    value
}

/// Objects from `objects`, and now and then one with any JSON at one of its paths (a wrong type at a
/// watched field, a `null` spec, ...).
pub fn sometimes_broken(objects: BoxedStrategy<Value>) -> BoxedStrategy<Value> {
    prop_oneof![
        3 => objects.clone(),
        1 => (objects, any::<Index>(), any_json()).prop_map(|(object, at, junk)| replace_at(object, at, junk)),
    ]
.boxed()
}

/// Who sends a request: a person, the Planner (here or elsewhere), the controller, a group member,
/// nobody, or a malformed userInfo.
pub fn user_info() -> BoxedStrategy<Option<Value>> {
    prop_oneof![
        Just(Some(
            json!({"username": "alice", "groups": ["system:authenticated"]})
        )),
        Just(Some(
            json!({"username": "system:serviceaccount:default:planner-serviceaccount"})
        )),
        Just(Some(
            json!({"username": "system:serviceaccount:team-b:planner-serviceaccount"})
        )),
        Just(Some(
            json!({"username": "system:serviceaccount:scaleguard-system:scaleguard-controller"})
        )),
        Just(Some(json!({"username": "", "groups": []}))),
        Just(None),
        any_json().prop_map(Some),
    ]
    .boxed()
}

/// Admission operations, including one Kubernetes does not have.
pub fn operation() -> impl Strategy<Value = &'static str> + Clone {
    prop_oneof![
        3 => Just("CREATE"),
        3 => Just("UPDATE"),
        1 => Just("DELETE"),
        1 => Just("CONNECT"),
        1 => Just("PATCH"),
    ]
}

/// The objects of a namespace: DGDs, adapters, HPAs and ScaledObjects (names may repeat, as a broken
/// cluster could list them), now and then one of them broken.
pub fn cluster_objects() -> BoxedStrategy<Vec<Value>> {
    (
        prop::collection::vec(dgd_object(), 0..3),
        prop::collection::vec(adapter_object(), 0..4),
        prop::collection::vec(hpa_object(), 0..3),
        prop::collection::vec(scaled_object(), 0..3),
        prop::option::weighted(0.1, (any::<Index>(), any::<Index>(), any_json())),
    )
        .prop_map(|(dgds, adapters, hpas, scaled_objects, broken)| {
            let mut objects: Vec<Value> = dgds
                .into_iter()
                .chain(adapters)
                .chain(hpas)
                .chain(scaled_objects)
                .collect();
            if let (Some((which, at, junk)), false) = (broken, objects.is_empty()) {
                let index = which.index(objects.len());
                let object = objects[index].take();
                let mut broken = replace_at(object.clone(), at, junk);
                // Keep it listable: the host files objects by apiVersion and kind.
                objects[index] = match broken.as_object_mut() {
                    Some(map) => {
                        map.insert("apiVersion".into(), object["apiVersion"].clone());
                        map.insert("kind".into(), object["kind"].clone());
                        broken
                    }
                    None => object,
                };
            }
            objects
        })
        .boxed()
}
