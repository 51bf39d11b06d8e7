//! The wasm build in a real browser (wasm-bindgen-test in headless Chromium, `make playground-test`):
//! the exported entry point answers the page's examples with exactly the findings of
//! `e2e/expected.json`, reads `nvidia.com/v1beta1` and `v1alpha1` DGDs alike, and answers broken input
//! with a report, not a trap.
#![cfg(target_arch = "wasm32")]

mod common;

use serde_json::{Value, json};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn the_examples_show_exactly_their_findings() {
    let expected = common::expected();
    for (name, objects) in common::EXAMPLES {
        assert_eq!(common::findings(objects), expected[name], "example {name}");
    }
}

/// The first example, the guide's sglang-agg in `nvidia.com/v1beta1`: decode's `scalingAdapter: {}`
/// creates its adapter, so the guide's ScaledObject is accepted; Frontend has no marker, so the guide's
/// HPA on it is refused with the v1beta1 fix; decode's `replicas` is a GitOps hazard.
#[wasm_bindgen_test]
fn the_guides_v1beta1_sglang_agg_shows_exactly_its_findings() {
    let (name, objects) = common::EXAMPLES[0];
    assert_eq!(name, "sglang-agg-v1beta1");
    assert_eq!(
        common::findings(objects),
        json!([
            {
                "object": "DynamoGraphDeployment default/sglang-agg",
                "policy": "gitops-replicas",
                "decision": "warning",
                "message": "spec.components[decode].replicas is set to 1 while the component's scaling adapter sglang-agg-decode is enabled: Argo CD or Flux would re-apply 1 over the autoscaler's value at every sync. Omit the field (the adapter starts from it once, absent means 1) or have the GitOps tool ignore it (Argo CD ignoreDifferences: jqPathExpressions: ['.spec.components[] | select(.name == \"decode\") | .replicas'])"
            },
            {
                "object": "HorizontalPodAutoscaler default/sglang-agg-frontend-hpa",
                "policy": "dynamo-adapter-target",
                "decision": "denied",
                "message": "spec.scaleTargetRef.name: DynamoGraphDeploymentScalingAdapter default/sglang-agg-frontend does not exist, because component Frontend of DynamoGraphDeployment sglang-agg does not enable its scaling adapter; set spec.components[Frontend].scalingAdapter: {} in that DynamoGraphDeployment"
            }
        ])
    );
}

/// The DGD of the first example (v1beta1) with decode at `replicas`.
fn v1beta1_dgd(replicas: u32) -> String {
    let dgd = common::EXAMPLES[0].1.split("\n---\n").next().unwrap();
    let edited = dgd.replace(
        "  - name: decode\n    type: worker\n    replicas: 1\n",
        &format!("  - name: decode\n    type: worker\n    replicas: {replicas}\n"),
    );
    assert!(
        replicas == 1 || edited != dgd,
        "decode's replicas not found"
    );
    edited
}

/// What `dynamo-replica-ownership` says about `objects` reviewed as an UPDATE from `before`.
fn replica_ownership(objects: &str, before: &str) -> Value {
    let input = json!({
        "objects": objects,
        "before": before,
        "policies": ["dynamo-replica-ownership"],
    });
    let output: Value =
        serde_json::from_str(&scaleguard_playground::check_js(&input.to_string())).unwrap();
    assert_eq!(output["errors"], json!([]), "{output}");
    let record = &output["results"][0];
    assert_eq!(record["policy"], "dynamo-replica-ownership", "{output}");
    assert_eq!(record["operation"], "UPDATE", "{output}");
    record.clone()
}

#[wasm_bindgen_test]
fn a_v1beta1_edit_of_adapter_owned_replicas_is_denied_naming_the_component() {
    let record = replica_ownership(&v1beta1_dgd(3), &v1beta1_dgd(1));
    assert_eq!(record["allowed"], false);
    assert_eq!(record["code"], 403);
    assert_eq!(
        record["message"],
        "spec.components[decode].replicas cannot be modified directly when scaling adapter is enabled; use 'kubectl scale dgdsa/sglang-agg-decode --replicas=3' or update the DynamoGraphDeploymentScalingAdapter instead"
    );
}

#[wasm_bindgen_test]
fn a_v1alpha1_object_before_and_a_v1beta1_one_after_is_one_object_migrated() {
    let v1alpha1 = "\
apiVersion: nvidia.com/v1alpha1
kind: DynamoGraphDeployment
metadata: {name: sglang-agg, namespace: default}
spec:
  services:
    Frontend: {componentType: frontend, replicas: 1}
    decode: {componentType: worker, replicas: 1, scalingAdapter: {enabled: true}}
";
    let unchanged = replica_ownership(&v1beta1_dgd(1), v1alpha1);
    assert_eq!(unchanged["allowed"], true, "{unchanged}");
    let scaled = replica_ownership(&v1beta1_dgd(3), v1alpha1);
    assert_eq!(scaled["allowed"], false, "{scaled}");
    assert_eq!(
        scaled["message"],
        "spec.components[decode].replicas cannot be modified directly when scaling adapter is enabled; use 'kubectl scale dgdsa/sglang-agg-decode --replicas=3' or update the DynamoGraphDeploymentScalingAdapter instead"
    );
}

#[wasm_bindgen_test]
fn the_exported_entry_takes_and_gives_json() {
    for example in ["planner-hpa", "planner-hpa-v1beta1"] {
        let input = json!({
            "objects": common::example(example),
            "user": "alice",
            "groups": ["ml-team"],
            "policies": ["dynamo-single-autoscaler"],
            "settings": {"dynamo-single-autoscaler": "{\"plannerConflicts\": false}"},
        });
        let output: Value =
            serde_json::from_str(&scaleguard_playground::check_js(&input.to_string())).unwrap();
        assert_eq!(output["schemaVersion"], 1);
        assert_eq!(
            output["summary"]["denied"], 0,
            "{example}: plannerConflicts: false lets the HPA and the Planner share the adapter: {output}"
        );
    }
    let broken: Value = serde_json::from_str(&scaleguard_playground::check_js("[")).unwrap();
    assert_eq!(broken["summary"]["errors"], 1);
}
