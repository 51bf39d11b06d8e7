//! Realistic work for the policies, shared by the benchmark (`benches/policies.rs`) and the host-call
//! test (`tests/host_calls.rs`): the guide's `sglang-agg` objects as `examples/` hold them, a DGD with 25
//! services, and a namespace holding 500 autoscalers (with the DGDs and adapters they scale) for the
//! context-aware policies to look up.

use scaleguard_host::admission::unwrap_review;
use scaleguard_in_memory_cluster::InMemoryCluster;
use scaleguard_metadata::PolicyMetadata;
use scaleguard_sdk::AdmissionRequest;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::workspace_root;

/// The namespace every request and cluster object lives in.
pub const NAMESPACE: &str = "default";
/// Autoscalers in [`autoscaler_cluster`]: half HPAs, half ScaledObjects.
pub const AUTOSCALERS: usize = 500;
/// Services of the large DGD.
pub const SERVICES: usize = 25;

/// One request the policies are run on.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Short name, for tables and reports.
    pub name: &'static str,
    /// The AdmissionRequest.
    pub request: Value,
}

impl Scenario {
    /// Whether `metadata`'s rules select this request (a policy is only sent what it asks for).
    pub fn is_selected_by(&self, metadata: &PolicyMetadata) -> bool {
        serde_json::from_value::<AdmissionRequest>(self.request.clone())
            .is_ok_and(|request| metadata.selects(&request))
    }

    /// The `validate` payload for `policy`: the request and [`settings`] of the policy.
    pub fn payload(&self, policy: &str) -> Vec<u8> {
        json!({"request": self.request, "settings": settings(policy)})
            .to_string()
            .into_bytes()
    }
}

/// The settings a policy is run with: the defaults, except `maxGpusPerAdapter` for
/// `dynamo-autoscaler-bounds`, the one setting that makes it look the namespace up.
pub fn settings(policy: &str) -> Value {
    match policy {
        "dynamo-autoscaler-bounds" => json!({"maxGpusPerAdapter": 64}),
        _ => json!({}),
    }
}

/// The requests: the guide's DGD created (with its deprecated fields) and edited (decode from 1 to 3
/// replicas), a 25-service DGD edited, and the guide's HPA and ScaledObject on `sglang-agg` created.
pub fn scenarios() -> Result<Vec<Scenario>, String> {
    let autoscalers = documents("examples/gitops/apps/sglang-agg/autoscalers.yaml")?;
    let of_kind = |kind: &str| {
        autoscalers
            .iter()
            .find(|object| object["kind"] == kind)
            .cloned()
            .ok_or_else(|| format!("examples/gitops/apps/sglang-agg has no {kind}"))
    };
    let alice = json!({"username": "alice", "groups": ["system:authenticated"]});
    let create = |uid: &str, object: &Value| {
        crate::request_json(uid, "CREATE", object, &Value::Null, Some(&alice))
    };
    let (large_old, large_new) = (large_dgd(1), large_dgd(2));
    Ok(vec![
        Scenario {
            name: "guide DGD create",
            request: request_file("examples/requests/create-guide-dgd.yaml")?,
        },
        Scenario {
            name: "guide DGD edit",
            request: request_file("examples/requests/edit-decode-replicas.yaml")?,
        },
        Scenario {
            name: "25-service DGD edit",
            request: crate::request_json(
                "large-dgd",
                "UPDATE",
                &large_new,
                &large_old,
                Some(&alice),
            ),
        },
        Scenario {
            name: "guide HPA create",
            request: create("guide-hpa", &of_kind("HorizontalPodAutoscaler")?),
        },
        Scenario {
            name: "guide ScaledObject create",
            request: create("guide-scaledobject", &of_kind("ScaledObject")?),
        },
    ])
}

/// A disaggregated DGD of [`SERVICES`] services scaled by its Planner (a Frontend, the Planner, then
/// decode and prefill workers of one GPU each, every one with its scaling adapter, half still carrying
/// the deprecated `dynamoNamespace`), its `generation` set to `generation`: editing it changes metadata,
/// never replicas.
pub fn large_dgd(generation: u64) -> Value {
    let mut services = Map::new();
    services.insert(
        "Frontend".into(),
        json!({"componentType": "frontend", "scalingAdapter": {"enabled": true}}),
    );
    services.insert("Planner".into(), json!({"componentType": "planner"}));
    for index in 2..SERVICES {
        let role = if index % 2 == 0 { "prefill" } else { "decode" };
        let mut service = json!({
            "componentType": "worker",
            "subComponentType": role,
            "replicas": 2,
            "scalingAdapter": {"enabled": true},
            "resources": {"limits": {"gpu": "1"}},
            "extraPodSpec": {"mainContainer": {"image": "nvcr.io/nvidia/ai-dynamo/sglang-runtime:0.8.0",
                "args": ["--model-path", "Qwen/Qwen3-0.6B", "--tp", "1"]}},
        });
        if index % 2 == 1 {
            service["dynamoNamespace"] = json!("llm-25");
        }
        services.insert(format!("{role}-{index:02}"), service);
    }
    json!({
        "apiVersion": "nvidia.com/v1alpha1",
        "kind": "DynamoGraphDeployment",
        "metadata": {"name": "llm-25", "namespace": NAMESPACE, "generation": generation},
        "spec": {"backendFramework": "sglang", "services": services},
    })
}

/// A namespace holding [`AUTOSCALERS`] autoscalers: the guide's `sglang-agg` DGD with its two adapters
/// (nothing scaling them yet), and `AUTOSCALERS / 2` DGDs `llm-<i>` like it, each with its two adapters,
/// an HPA on the Frontend adapter and a ScaledObject on the decode adapter.
pub fn autoscaler_cluster() -> Result<InMemoryCluster, String> {
    let mut objects = documents("examples/gitops/apps/sglang-agg/dgd.yaml")?;
    for service in ["Frontend", "decode"] {
        objects.push(adapter("sglang-agg", service));
    }
    for index in 0..AUTOSCALERS / 2 {
        let dgd = format!("llm-{index:03}");
        objects.push(json!({
            "apiVersion": "nvidia.com/v1alpha1",
            "kind": "DynamoGraphDeployment",
            "metadata": {"name": dgd, "namespace": NAMESPACE},
            "spec": {"services": {
                "Frontend": {"componentType": "frontend", "scalingAdapter": {"enabled": true}},
                "decode": {"componentType": "worker", "scalingAdapter": {"enabled": true},
                    "resources": {"limits": {"gpu": "1"}}},
            }},
        }));
        objects.push(adapter(&dgd, "Frontend"));
        objects.push(adapter(&dgd, "decode"));
        objects.push(json!({
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": format!("{dgd}-frontend-hpa"), "namespace": NAMESPACE},
            "spec": {
                "scaleTargetRef": adapter_ref(&format!("{dgd}-frontend")),
                "minReplicas": 1,
                "maxReplicas": 5,
                "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": 70}}}],
            },
        }));
        objects.push(json!({
            "apiVersion": "keda.sh/v1alpha1",
            "kind": "ScaledObject",
            "metadata": {"name": format!("{dgd}-decode-scaler"), "namespace": NAMESPACE},
            "spec": {
                "scaleTargetRef": adapter_ref(&format!("{dgd}-decode")),
                "minReplicaCount": 1,
                "maxReplicaCount": 10,
                "triggers": [{"type": "prometheus", "metadata": {
                    "serverAddress": "http://prometheus-kube-prometheus-prometheus.monitoring.svc:9090",
                    "query": format!("sum(dynamo_frontend_queued_requests{{dynamo_namespace=\"{NAMESPACE}-{dgd}\"}})"),
                    "threshold": "10"}}],
            },
        }));
    }
    Ok(InMemoryCluster::from_objects(objects))
}

fn adapter(dgd: &str, service: &str) -> Value {
    json!({
        "apiVersion": "nvidia.com/v1alpha1",
        "kind": "DynamoGraphDeploymentScalingAdapter",
        "metadata": {"name": format!("{dgd}-{}", service.to_lowercase()), "namespace": NAMESPACE},
        "spec": {"replicas": 1, "dgdRef": {"name": dgd, "serviceName": service}},
    })
}

fn adapter_ref(name: &str) -> Value {
    json!({"apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoGraphDeploymentScalingAdapter", "name": name})
}

/// The AdmissionRequest in a YAML file of the workspace.
fn request_file(path: &str) -> Result<Value, String> {
    let mut documents = documents(path)?;
    match documents.len() {
        1 => Ok(unwrap_review(documents.remove(0))),
        n => Err(format!("{path}: expected one request, found {n} documents")),
    }
}

/// The non-empty documents of a YAML file of the workspace.
fn documents(path: &str) -> Result<Vec<Value>, String> {
    let text =
        std::fs::read_to_string(workspace_root().join(path)).map_err(|e| format!("{path}: {e}"))?;
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|document| Value::deserialize(document).map_err(|e| format!("{path}: {e}")))
        .filter(|document| !matches!(document, Ok(Value::Null)))
        .collect()
}
