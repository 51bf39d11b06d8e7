//! Every policy's case table, answered by the native pure function and by the compiled module under
//! wasmtime (through `scaleguard-host`, the stack Kubewarden runs), its look-ups' field masks honoured
//! (Kubewarden 1.33+) and ignored (older evaluators, whole objects): every answer must be identical and
//! equal to the expected one.

use std::sync::Arc;

use scaleguard_in_memory_cluster::{ClusterView, InMemoryCluster};
use scaleguard_tests::metadata::Metadata;
use scaleguard_tests::{
    CaseTable, native_validate, native_validate_settings, policy_module, policy_names,
};

fn run_case_table(policy: &str) {
    let table = CaseTable::load(policy).unwrap();
    let metadata = Metadata::load(policy).unwrap();
    let granted = metadata.granted();
    let module = policy_module(policy).unwrap();
    let mut instance = module.instantiate(Default::default()).unwrap();
    assert_eq!(instance.protocol_version().unwrap(), "v1");

    let mut failures = Vec::new();
    for case in &table.cases {
        let request = case.request(policy).unwrap();
        let payload = case.payload(policy).unwrap();
        let native = native_validate(policy, &payload, &case.cluster_view(&granted)).unwrap();
        instance.set_cluster(case.cluster());
        let wasm = instance.validate_payload(&payload).unwrap();
        let masked_calls = instance.last_host_calls();
        instance.set_view(case.cluster_view(&granted).ignoring_field_masks());
        let unmasked = instance.validate_payload(&payload).unwrap();
        if native != wasm {
            failures.push(format!(
                "{}: native and wasm differ:\n  native {native:?}\n  wasm   {wasm:?}",
                case.name
            ));
        }
        if unmasked != wasm {
            failures.push(format!(
                "{}: field masks honoured and ignored differ:\n  masked   {wasm:?}\n  unmasked {unmasked:?}",
                case.name
            ));
        }
        if masked_calls != instance.last_host_calls() {
            failures.push(format!(
                "{}: the look-ups differ with field masks",
                case.name
            ));
        }
        if let Err(problem) = case.check(&request, &wasm) {
            failures.push(format!("{}:\n{problem}", case.name));
        }
    }
    for case in &table.settings {
        let payload = serde_json::to_vec(&case.settings).unwrap();
        let native = native_validate_settings(policy, &payload).unwrap();
        let wasm = instance.validate_settings(&payload).unwrap();
        if native != wasm {
            failures.push(format!(
                "settings {}: native {native:?} != wasm {wasm:?}",
                case.name
            ));
        }
        if let Err(problem) = case.check(&wasm) {
            failures.push(format!("settings {}: {problem}", case.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{policy}: {} of {} cases failed:\n\n{}",
        failures.len(),
        table.cases.len() + table.settings.len(),
        failures.join("\n\n")
    );
}

#[test]
fn dynamo_replica_ownership() {
    run_case_table("dynamo-replica-ownership");
}

#[test]
fn dynamo_deprecated_autoscaling() {
    run_case_table("dynamo-deprecated-autoscaling");
}

#[test]
fn dynamo_single_autoscaler() {
    run_case_table("dynamo-single-autoscaler");
}

#[test]
fn dynamo_autoscaler_bounds() {
    run_case_table("dynamo-autoscaler-bounds");
}

#[test]
fn dynamo_adapter_target() {
    run_case_table("dynamo-adapter-target");
}

/// A new policy folder must come with a native entry, a case table and a test above.
#[test]
fn every_policy_is_covered() {
    let tested = [
        "dynamo-adapter-target",
        "dynamo-autoscaler-bounds",
        "dynamo-deprecated-autoscaling",
        "dynamo-replica-ownership",
        "dynamo-single-autoscaler",
    ];
    assert_eq!(policy_names(), tested);
    for policy in tested {
        assert!(
            native_validate_settings(policy, b"{}").is_some(),
            "{policy} has no native entry"
        );
        let table = CaseTable::load(policy).unwrap();
        assert!(
            !table.cases.is_empty() && !table.settings.is_empty(),
            "{policy} has an empty case table"
        );
    }
}

/// An object of the reviewed kind and name in the namespace's lists is the object under review itself, on
/// CREATE as on UPDATE: every case decides the same when the lists already hold the submitted object (as
/// `scaleguard check`'s repository does, and as the API server does once a write is stored).
#[test]
fn the_object_under_review_in_its_own_lists_is_itself() {
    let mut failures = Vec::new();
    for policy in policy_names() {
        let table = CaseTable::load(&policy).unwrap();
        let granted = Metadata::load(&policy).unwrap().granted();
        for case in &table.cases {
            let request = case.request(&policy).unwrap();
            let object = &request["object"];
            let Some(name) = object.pointer("/metadata/name").and_then(|n| n.as_str()) else {
                continue;
            };
            let same = |other: &serde_json::Value| {
                let text = |value: &serde_json::Value, pointer: &str| {
                    value
                        .pointer(pointer)
                        .and_then(|v| v.as_str())
                        .map(str::to_owned)
                };
                let group = |value: &serde_json::Value| {
                    text(value, "/apiVersion").map(|v| {
                        v.rsplit_once('/')
                            .map_or(String::new(), |(g, _)| g.to_owned())
                    })
                };
                group(other) == group(object)
                    && text(other, "/kind") == text(object, "/kind")
                    && text(other, "/metadata/name").as_deref() == Some(name)
                    && text(other, "/metadata/namespace") == text(object, "/metadata/namespace")
            };
            let mut cluster = InMemoryCluster::from_objects(
                case.cluster.iter().filter(|other| !same(other)).cloned(),
            );
            cluster.insert(object.clone());
            for (api_version, kind) in &case.not_served {
                cluster.mark_not_served(api_version, kind);
            }
            let listed = ClusterView::new(Arc::new(cluster), granted.clone());
            let payload = case.payload(&policy).unwrap();
            let before = native_validate(&policy, &payload, &case.cluster_view(&granted)).unwrap();
            let after = native_validate(&policy, &payload, &listed).unwrap();
            if before != after {
                failures.push(format!(
                    "{policy}: {}:\n  alone  {before:?}\n  listed {after:?}",
                    case.name
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
