//! The wasm build in a real browser (wasm-bindgen-test in headless Chromium, `make playground-test`):
//! the exported entry point answers the page's examples with exactly the findings of
//! `e2e/expected.json`, and broken input with a report, not a trap.
#![cfg(target_arch = "wasm32")]

mod common;

use serde_json::Value;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn the_examples_show_exactly_their_findings() {
    let expected = common::expected();
    for (name, objects) in common::EXAMPLES {
        assert_eq!(common::findings(objects), expected[name], "example {name}");
    }
}

#[wasm_bindgen_test]
fn the_exported_entry_takes_and_gives_json() {
    let input = serde_json::json!({
        "objects": common::EXAMPLES[1].1,
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
        "plannerConflicts: false lets the HPA and the Planner share the adapter: {output}"
    );
    let broken: Value = serde_json::from_str(&scaleguard_playground::check_js("[")).unwrap();
    assert_eq!(broken["summary"]["errors"], 1);
}
