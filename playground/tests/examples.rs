//! The page's examples, checked natively: exactly the findings `e2e/expected.json` lists (the wasm
//! build in a browser and the end-to-end test of the page check the same list), and the page offers
//! exactly these examples, the `nvidia.com/v1beta1` ones first.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::collections::BTreeSet;
use std::path::Path;

#[test]
fn each_example_shows_exactly_its_findings() {
    let expected = common::expected();
    for (name, objects) in common::EXAMPLES {
        let shown = common::findings(objects);
        assert_eq!(shown, expected[name], "example {name}");
    }
    let listed: BTreeSet<&str> = expected
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let examples: BTreeSet<&str> = common::EXAMPLES.iter().map(|(name, _)| *name).collect();
    assert_eq!(
        listed, examples,
        "expected.json lists every example, and only those"
    );
}

/// The page's example buttons (`data-example="..."` in index.html), in page order.
fn buttons() -> Vec<String> {
    let page = include_str!("../site/index.html");
    page.split("data-example=\"")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_owned())
        .collect()
}

#[test]
fn the_page_offers_every_example_the_guides_v1beta1_sglang_agg_first() {
    let names: Vec<&str> = common::EXAMPLES.iter().map(|(name, _)| *name).collect();
    assert_eq!(buttons(), names, "index.html's buttons, in order");
    assert_eq!(names[0], "sglang-agg-v1beta1");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("site/examples");
    let files: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let wanted: BTreeSet<String> = names.iter().map(|name| format!("{name}.yaml")).collect();
    assert_eq!(files, wanted, "{}", dir.display());
}

#[test]
fn the_v1beta1_examples_are_v1beta1_and_the_others_v1alpha1() {
    for (name, objects) in common::EXAMPLES {
        let dynamo: BTreeSet<&str> = objects
            .lines()
            .filter_map(|line| line.trim().strip_prefix("apiVersion: nvidia.com/"))
            .collect();
        let version = if name.ends_with("-v1beta1") {
            "v1beta1"
        } else {
            "v1alpha1"
        };
        assert_eq!(dynamo, BTreeSet::from([version]), "example {name}");
    }
}

/// The guide's sglang-agg in `nvidia.com/v1beta1`, word for word (DOMAIN.md), as the first example.
#[test]
fn the_first_example_is_the_guides_v1beta1_sglang_agg() {
    let dgd = "\
apiVersion: nvidia.com/v1beta1
kind: DynamoGraphDeployment
metadata: {name: sglang-agg, namespace: default}
spec:
  components:
  - name: Frontend
    type: frontend
    replicas: 1
    podTemplate: {spec: {containers: [{name: main, image: nvcr.io/nvidia/ai-dynamo/sglang-runtime:1.3.0}]}}
  - name: decode
    type: worker
    replicas: 1
    scalingAdapter: {}
    podTemplate:
      spec:
        containers:
        - name: main
          image: nvcr.io/nvidia/ai-dynamo/sglang-runtime:1.3.0
          resources: {limits: {nvidia.com/gpu: \"1\"}}
---
";
    let (name, objects) = common::EXAMPLES[0];
    assert_eq!(name, "sglang-agg-v1beta1");
    assert!(objects.contains(dgd), "{objects}");
}
