//! The page's examples and the findings each must show (`playground/e2e/expected.json`, which the
//! end-to-end test of the page reads too), as rows the page renders: object, policy, decision, message.

use scaleguard_playground::{Input, check};
use serde_json::{Value, json};

/// `(name, objects)` of each example, as the page loads them, in the order of its buttons: the
/// `nvidia.com/v1beta1` ones (Dynamo >= 1.2) first, the guide's sglang-agg leading, then the
/// `nvidia.com/v1alpha1` ones.
pub const EXAMPLES: [(&str, &str); 7] = [
    (
        "sglang-agg-v1beta1",
        include_str!("../../site/examples/sglang-agg-v1beta1.yaml"),
    ),
    (
        "planner-hpa-v1beta1",
        include_str!("../../site/examples/planner-hpa-v1beta1.yaml"),
    ),
    (
        "component-group-v1beta1",
        include_str!("../../site/examples/component-group-v1beta1.yaml"),
    ),
    (
        "sglang-agg",
        include_str!("../../site/examples/sglang-agg.yaml"),
    ),
    (
        "planner-hpa",
        include_str!("../../site/examples/planner-hpa.yaml"),
    ),
    (
        "scale-to-zero",
        include_str!("../../site/examples/scale-to-zero.yaml"),
    ),
    (
        "bare-marker",
        include_str!("../../site/examples/bare-marker.yaml"),
    ),
];

/// The objects of the example called `name`.
#[allow(dead_code, reason = "not every test binary uses it")]
pub fn example(name: &str) -> &'static str {
    EXAMPLES
        .iter()
        .find(|(example, _)| *example == name)
        .unwrap_or_else(|| panic!("no example {name}"))
        .1
}

/// The expected findings of every example, by name.
pub fn expected() -> Value {
    serde_json::from_str(include_str!("../../e2e/expected.json")).expect("expected.json parses")
}

/// The findings the page shows for `objects`, with every policy and its default settings: one row per
/// denial, warning and patch, in report order.
pub fn findings(objects: &str) -> Value {
    let output = check(&Input {
        objects: objects.to_owned(),
        ..Input::default()
    });
    assert!(
        output.report.errors.is_empty(),
        "{:?}",
        output.report.errors
    );
    let mut rows = Vec::new();
    for record in &output.report.results {
        let object = format!("{} {}/{}", record.kind, record.namespace, record.name);
        let row = |decision: &str, message: &str| json!({"object": object, "policy": record.policy, "decision": decision, "message": message});
        if !record.allowed {
            rows.push(row("denied", record.message.as_deref().unwrap_or("")));
        }
        for warning in &record.warnings {
            rows.push(row("warning", warning));
        }
        if let Some(patch) = &record.patch {
            rows.push(row("patch", &patch.to_string()));
        }
    }
    Value::Array(rows)
}
