#![no_main]
//! `validate` of dynamo-deprecated-autoscaling on a namespace the fuzzer shapes.
scaleguard_fuzz::cluster_target!(
    "dynamo-deprecated-autoscaling",
    [
        r#"{}"#,
        r#"{"mode": "remove"}"#,
        r#"{"mode": "deny", "checkDynamoNamespace": false}"#,
    ]
);
