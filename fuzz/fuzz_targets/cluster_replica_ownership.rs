#![no_main]
//! `validate` of dynamo-replica-ownership on a namespace the fuzzer shapes.
scaleguard_fuzz::cluster_target!(
    "dynamo-replica-ownership",
    [
        r#"{}"#,
        r#"{"authorizedServiceAccounts": [{"name": "planner-serviceaccount"}]}"#,
        r#"{"authorizedUsers": ["alice"]}"#,
    ]
);
