//! The context-aware policies serve their look-ups with one host call per kind, never one per object:
//! each runs through its compiled module under wasmtime on the requests of
//! `scaleguard_tests::workload` in a namespace of 500 autoscalers (with their DGDs and adapters), and
//! the `kubernetes` host calls of every evaluation are counted (`PolicyInstance::last_host_calls`).

use std::collections::BTreeMap;
use std::sync::Arc;

use scaleguard_host::KubernetesCall;
use scaleguard_sdk::review::FieldMasks;
use scaleguard_tests::metadata::Metadata;
use scaleguard_tests::workload::{autoscaler_cluster, scenarios};
use scaleguard_tests::{native_validate, policy_module, policy_names};

#[test]
fn context_aware_policies_list_each_kind_once() {
    let cluster = Arc::new(autoscaler_cluster().unwrap());
    let scenarios = scenarios().unwrap();
    let mut context_aware = Vec::new();
    for policy in policy_names() {
        let metadata = Metadata::load(&policy).unwrap();
        let granted = metadata.granted();
        if granted.is_empty() {
            continue;
        }
        context_aware.push(policy.clone());
        let module = policy_module(&policy).unwrap();
        let mut instance = module.instantiate(Arc::clone(&cluster)).unwrap();
        for scenario in scenarios.iter().filter(|s| s.is_selected_by(&metadata)) {
            let context = format!("{policy} on {}", scenario.name);
            let payload = scenario.payload(&policy);
            let response = instance.validate_payload(&payload).unwrap();
            let calls = instance.last_host_calls();

            // Nothing in the namespace conflicts with the guide's objects: the answer is an admission,
            // the one the native function gives on the same cluster.
            let native = native_validate(
                &policy,
                &payload,
                &scaleguard_in_memory_cluster::ClusterView::new(
                    Arc::clone(&cluster),
                    granted.clone(),
                ),
            )
            .unwrap();
            assert_eq!(response, native, "{context}: wasm and native differ");
            assert!(response.accepted, "{context}: {response:?}");

            let mut per_kind: BTreeMap<&KubernetesCall, usize> = BTreeMap::new();
            for call in &calls {
                *per_kind.entry(call).or_default() += 1;
                assert_eq!(
                    call.operation, "list_resources_by_namespace",
                    "{context}: {call:?}"
                );
                let kind = call.kind.as_ref().unwrap();
                assert!(granted.contains(kind), "{context}: {kind:?} is not granted");
                assert_eq!(
                    call.field_masks,
                    model_fields(&kind.kind),
                    "{context}: the look-up of {kind} asks for the fields the rules read"
                );
            }
            for (call, count) in per_kind {
                assert_eq!(count, 1, "{context}: {count} calls {call:?}, one is enough");
            }
            if scenario.request["kind"]["kind"] != "DynamoGraphDeployment" {
                assert!(
                    !calls.is_empty(),
                    "{context}: an autoscaler of an adapter is looked up in the namespace"
                );
            }
        }
    }
    assert_eq!(
        context_aware,
        [
            "dynamo-adapter-target",
            "dynamo-autoscaler-bounds",
            "dynamo-single-autoscaler"
        ]
    );
}

/// The field masks of the sdk's model of `kind`: what every context-aware policy reads of it.
fn model_fields(kind: &str) -> Vec<String> {
    let masks = FieldMasks::MODELS;
    let fields = match kind {
        "DynamoGraphDeployment" => masks.dgds,
        "DynamoGraphDeploymentScalingAdapter" => masks.adapters,
        "HorizontalPodAutoscaler" => masks.hpas,
        "ScaledObject" => masks.scaled_objects,
        other => panic!("{other} is not looked up"),
    };
    fields.iter().map(|&field| field.to_owned()).collect()
}

#[test]
fn the_log_holds_the_last_call_only() {
    let policy = "dynamo-single-autoscaler";
    let module = policy_module(policy).unwrap();
    let mut instance = module
        .instantiate(Arc::new(autoscaler_cluster().unwrap()))
        .unwrap();
    let hpa = scenarios()
        .unwrap()
        .into_iter()
        .find(|s| s.name == "guide HPA create")
        .unwrap();
    let payload = hpa.payload(policy);
    instance.validate_payload(&payload).unwrap();
    let first = instance.last_host_calls();
    let mut kinds: Vec<&str> = first
        .iter()
        .filter_map(|call| call.kind.as_ref().map(|kind| &*kind.kind))
        .collect();
    kinds.sort_unstable();
    assert_eq!(
        kinds,
        [
            "DynamoGraphDeployment",
            "DynamoGraphDeploymentScalingAdapter",
            "HorizontalPodAutoscaler",
            "ScaledObject"
        ]
    );
    instance.validate_payload(&payload).unwrap();
    assert_eq!(instance.last_host_calls(), first, "a second evaluation");
    instance.validate_settings(b"{}").unwrap();
    assert_eq!(
        instance.last_host_calls(),
        [],
        "validate_settings looks nothing up"
    );
}
