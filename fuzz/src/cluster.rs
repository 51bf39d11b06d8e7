//! Cluster-shaping inputs: the fuzzer's bytes decide a namespace's objects (DGDs of both versions,
//! adapters, HPAs of both versions, ScaledObjects, HPAs claiming KEDA made them), the request under review
//! and the settings, so that every look-up path and every parse of a listed object is reached. Names come
//! from small pools, so references between objects mostly resolve; any field may instead hold arbitrary
//! JSON, so the lenient readers meet what tenants can write.

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use scaleguard_sdk::{AdmissionRequest, Operation};
use serde_json::{Value, json};

const DGDS: [&str; 2] = ["sglang-agg", "sglang-disagg"];
const COMPONENTS: [&str; 4] = ["decode", "prefill", "Frontend", "Planner"];
const GROUPS: [&str; 1] = ["Engines"];
const NAMESPACES: [&str; 2] = ["default", "other"];
const ADAPTER_KIND: &str = "DynamoGraphDeploymentScalingAdapter";
const DYNAMO_VERSIONS: [&str; 3] = ["nvidia.com/v1alpha1", "nvidia.com/v1beta1", "nvidia.com/v2"];
const QUANTITIES: [&str; 7] = ["1", "2", "0.5", "500m", "1k", "", "1e3"];
const QUERIES: [&str; 6] = [
    r#"sum(dynamo_frontend_inflight_requests{dynamo_namespace="default-sglang-agg"})"#,
    r#"avg(dynamo_component_kvstats_gpu_cache_usage_percent{dynamo_namespace=~"default-sglang-.*"})"#,
    r#"sum(rate(dynamo_frontend_requests_total[1m]))"#,
    r#"dynamo_frontend_queued_requests{dynamo_namespace!="x"} / on() group_left vector(1)"#,
    r#"max by (dynamo_namespace) (dynamo_frontend_inflight_requests{dynamo_namespace="default-sglang-disagg"})"#,
    "sum(",
];
const USERS: [&str; 4] = [
    "alice",
    "system:serviceaccount:default:planner-serviceaccount",
    "system:serviceaccount:keda:keda-operator",
    "system:serviceaccount:scaleguard-system:scaleguard-controller",
];
const OPERATIONS: [&str; 4] = ["CREATE", "UPDATE", "DELETE", "CONNECT"];

/// A request, its settings and the namespace's objects, as one `validate` sees them.
#[derive(Debug)]
pub struct Scenario {
    /// The `validate` payload: `{"request", "settings"}`.
    pub payload: Vec<u8>,
    /// The objects the look-ups list.
    pub cluster: Vec<Value>,
}

/// Builds a scenario from the fuzzer's bytes; `settings` are the policy's settings to pick from.
pub fn scenario(u: &mut Unstructured<'_>, settings: &[Value]) -> Result<Scenario> {
    let count = u.int_in_range(0..=12)?;
    let mut cluster = Vec::with_capacity(count);
    for _ in 0..count {
        cluster.push(object(u)?);
    }
    let object = if !cluster.is_empty() && u.ratio(1, 2)? {
        cluster[u.choose_index(cluster.len())?].clone()
    } else {
        self::object(u)?
    };
    let old_object = match u.int_in_range(0..=3)? {
        0 => Value::Null,
        1 => object.clone(),
        2 => mutated(u, object.clone())?,
        _ => self::object(u)?,
    };
    let operation = Operation::from((*u.choose(&OPERATIONS)?).to_owned());
    let request = AdmissionRequest::for_object("fuzz", operation, object, old_object, None);
    let mut request = serde_json::to_value(request).expect("a request serializes");
    if u.ratio(7, 8)? {
        request["userInfo"] = json!({"username": *u.choose(&USERS)?, "groups": ["system:authenticated"]});
    }
    let settings = if settings.is_empty() || u.ratio(1, 8)? {
        field(json!({}), u)?
    } else {
        settings[u.choose_index(settings.len())?].clone()
    };
    let payload = serde_json::to_vec(&json!({"request": request, "settings": settings}))
        .expect("JSON values serialize");
    Ok(Scenario { payload, cluster })
}

/// One object of a kind the policies look up.
fn object(u: &mut Unstructured<'_>) -> Result<Value> {
    match u.int_in_range(0..=6)? {
        0 => dgd_v1alpha1(u),
        1 => dgd_v1beta1(u),
        2 => adapter(u),
        3 | 4 => hpa(u),
        5 => scaled_object(u),
        _ => arbitrary_json(u, 3),
    }
}

fn metadata(u: &mut Unstructured<'_>, name: String) -> Result<Value> {
    metadata_owned_by(u, name, None)
}

/// Metadata naming `owner` as its controller, when there is one.
fn metadata_owned_by(
    u: &mut Unstructured<'_>,
    name: String,
    owner: Option<Value>,
) -> Result<Value> {
    let mut metadata = json!({"name": name, "namespace": *u.choose(&NAMESPACES)?});
    if let Some(owner) = owner {
        metadata["ownerReferences"] = owner;
    }
    if u.ratio(1, 8)? {
        metadata["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
    }
    if u.ratio(1, 8)? {
        metadata["annotations"] =
            json!({"nvidia.com/dgd-power-budget": field(json!("enforce"), u)?});
    }
    field(metadata, u)
}

fn dgd_v1alpha1(u: &mut Unstructured<'_>) -> Result<Value> {
    let mut services = serde_json::Map::new();
    for _ in 0..u.int_in_range(1..=4)? {
        let name = *u.choose(&COMPONENTS)?;
        let component_type = *u.choose(&["frontend", "worker", "planner", "main"])?;
        let mut service = json!({"componentType": component_type,
            "replicas": field(json!(u.int_in_range(0..=8)?), u)?});
        if u.ratio(1, 2)? {
            service["subComponentType"] = json!(*u.choose(&["decode", "prefill"])?);
        }
        if u.ratio(2, 3)? {
            service["scalingAdapter"] = field(json!({"enabled": u.arbitrary::<bool>()?}), u)?;
        }
        if u.ratio(1, 2)? {
            service["resources"] =
                json!({"limits": {"gpu": field(json!(*u.choose(&QUANTITIES)?), u)?}});
        }
        if u.ratio(1, 6)? {
            service["multinode"] = json!({"nodeCount": field(json!(u.int_in_range(1..=4)?), u)?});
        }
        if u.ratio(1, 6)? {
            service["autoscaling"] = json!({"enabled": true, "minReplicas": 1, "maxReplicas": 4});
        }
        if u.ratio(1, 6)? {
            service["dynamoNamespace"] = field(json!("custom"), u)?;
        }
        services.insert(name.to_owned(), field(service, u)?);
    }
    let name = (*u.choose(&DGDS)?).to_owned();
    Ok(
        json!({"apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoGraphDeployment",
        "metadata": metadata(u, name)?, "spec": field(json!({"services": services}), u)?}),
    )
}

fn dgd_v1beta1(u: &mut Unstructured<'_>) -> Result<Value> {
    let mut components = Vec::new();
    for _ in 0..u.int_in_range(1..=4)? {
        let mut component = json!({"name": *u.choose(&COMPONENTS)?,
            "type": *u.choose(&["frontend", "decode", "prefill", "worker", "planner", "main"])?});
        if u.ratio(1, 2)? {
            component["replicas"] = field(json!(u.int_in_range(0..=8)?), u)?;
        }
        if u.ratio(2, 3)? {
            component["scalingAdapter"] = field(json!({}), u)?;
        }
        if u.ratio(1, 2)? {
            let gpu = field(json!(*u.choose(&QUANTITIES)?), u)?;
            component["podTemplate"] = json!({"spec": {"containers": [{"name": "main",
                "resources": {"limits": {"nvidia.com/gpu": gpu}}}]}});
        }
        components.push(field(component, u)?);
    }
    let mut spec = json!({"components": components});
    if u.ratio(1, 3)? {
        let members: Vec<Value> = (0..u.int_in_range(1..=2)?)
            .map(|_| u.choose(&COMPONENTS).map(|name| json!({"name": name})))
            .collect::<Result<_>>()?;
        spec["experimental"] = json!({"componentGroups": [field(json!({
            "name": *u.choose(&GROUPS)?, "replicas": u.int_in_range(0..=4)?,
            "scalingAdapter": {}, "components": members}), u)?]});
    }
    let name = (*u.choose(&DGDS)?).to_owned();
    Ok(
        json!({"apiVersion": "nvidia.com/v1beta1", "kind": "DynamoGraphDeployment",
        "metadata": metadata(u, name)?, "spec": field(spec, u)?}),
    )
}

/// An adapter's name as the operator derives it: `<dgd>-<component, lowercased>`.
fn adapter_name(u: &mut Unstructured<'_>) -> Result<String> {
    let unit = if u.ratio(1, 5)? {
        *u.choose(&GROUPS)?
    } else {
        *u.choose(&COMPONENTS)?
    };
    Ok(format!("{}-{}", u.choose(&DGDS)?, unit.to_lowercase()))
}

fn adapter(u: &mut Unstructured<'_>) -> Result<Value> {
    let dgd = *u.choose(&DGDS)?;
    let api_version = *u.choose(&DYNAMO_VERSIONS[..2])?;
    let dgd_ref = match u.int_in_range(0..=2)? {
        0 => json!({"name": dgd, "serviceName": *u.choose(&COMPONENTS)?}),
        1 => json!({"name": dgd, "componentName": *u.choose(&COMPONENTS)?}),
        _ => json!({"name": dgd, "componentGroupName": *u.choose(&GROUPS)?}),
    };
    let name = adapter_name(u)?;
    Ok(
        json!({"apiVersion": api_version, "kind": ADAPTER_KIND, "metadata": metadata(u, name)?,
        "spec": field(json!({"replicas": u.int_in_range(0..=8)?, "dgdRef": dgd_ref}), u)?}),
    )
}

fn scale_target(u: &mut Unstructured<'_>) -> Result<Value> {
    let kind = if u.ratio(7, 8)? {
        ADAPTER_KIND
    } else {
        "Deployment"
    };
    field(
        json!({"apiVersion": *u.choose(&DYNAMO_VERSIONS)?, "kind": kind, "name": adapter_name(u)?}),
        u,
    )
}

fn hpa(u: &mut Unstructured<'_>) -> Result<Value> {
    let api_version = *u.choose(&["autoscaling/v2", "autoscaling/v1"])?;
    let keda_made = u.ratio(1, 4)?;
    let name = if keda_made {
        format!("keda-hpa-{}", u.choose(&["s", "t"])?)
    } else {
        (*u.choose(&["h", "decode-hpa"])?).to_owned()
    };
    let owner = if keda_made {
        Some(field(
            json!([{"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
            "name": *u.choose(&["s", "t"])?, "controller": true}]),
            u,
        )?)
    } else {
        None
    };
    let metadata = metadata_owned_by(u, name, owner)?;
    let mut spec = json!({"scaleTargetRef": scale_target(u)?,
        "maxReplicas": field(json!(u.int_in_range(0..=2000)?), u)?});
    if u.ratio(2, 3)? {
        spec["minReplicas"] = field(json!(u.int_in_range(0..=4)?), u)?;
    }
    if u.ratio(1, 3)? {
        spec["behavior"] = json!({"scaleDown": {"stabilizationWindowSeconds":
            field(json!(u.int_in_range(0..=4000)?), u)?}});
    }
    Ok(
        json!({"apiVersion": api_version, "kind": "HorizontalPodAutoscaler", "metadata": metadata,
        "spec": field(spec, u)?}),
    )
}

fn scaled_object(u: &mut Unstructured<'_>) -> Result<Value> {
    let name = (*u.choose(&["s", "t"])?).to_owned();
    let query = if u.ratio(7, 8)? {
        (*u.choose(&QUERIES)?).to_owned()
    } else {
        u.arbitrary::<String>()?
    };
    let mut spec = json!({"scaleTargetRef": scale_target(u)?,
        "triggers": [{"type": "prometheus", "metadata": {"query": query, "threshold": "5"}}]});
    if u.ratio(2, 3)? {
        spec["minReplicaCount"] = field(json!(u.int_in_range(0..=4)?), u)?;
    }
    if u.ratio(2, 3)? {
        spec["maxReplicaCount"] = field(json!(u.int_in_range(0..=2000)?), u)?;
    }
    Ok(
        json!({"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": metadata(u, name)?,
        "spec": field(spec, u)?}),
    )
}

/// `value`, mostly; sometimes arbitrary JSON in its place.
fn field(value: Value, u: &mut Unstructured<'_>) -> Result<Value> {
    if u.ratio(1, 16)? {
        arbitrary_json(u, 2)
    } else {
        Ok(value)
    }
}

/// `object` with one field dropped or replaced, as an edit would.
fn mutated(u: &mut Unstructured<'_>, mut object: Value) -> Result<Value> {
    if let Some(spec) = object.get_mut("spec").and_then(Value::as_object_mut)
        && !spec.is_empty()
    {
        let key = spec
            .keys()
            .nth(u.choose_index(spec.len())?)
            .cloned()
            .unwrap_or_default();
        if u.arbitrary::<bool>()? {
            spec.remove(&key);
        } else {
            spec.insert(key, arbitrary_json(u, 2)?);
        }
    }
    Ok(object)
}

/// Any JSON value, nested at most `depth` levels.
fn arbitrary_json(u: &mut Unstructured<'_>, depth: u32) -> Result<Value> {
    Ok(match u.int_in_range(0..=if depth == 0 { 4 } else { 6 })? {
        0 => Value::Null,
        1 => json!(u.arbitrary::<bool>()?),
        2 => json!(u.arbitrary::<i64>()?),
        3 => json!(u.arbitrary::<f64>()?),
        4 => json!(u.arbitrary::<String>()?),
        5 => Value::Array(
            (0..u.int_in_range(0..=3)?)
                .map(|_| arbitrary_json(u, depth - 1))
                .collect::<Result<_>>()?,
        ),
        _ => {
            let mut map = serde_json::Map::new();
            for _ in 0..u.int_in_range(0..=3)? {
                let key = if u.arbitrary::<bool>()? {
                    (*u.choose(&["spec", "metadata", "name", "replicas", "scaleTargetRef"])?)
                        .to_owned()
                } else {
                    u.arbitrary::<String>()?
                };
                map.insert(key, arbitrary_json(u, depth - 1)?);
            }
            Value::Object(map)
        }
    })
}
