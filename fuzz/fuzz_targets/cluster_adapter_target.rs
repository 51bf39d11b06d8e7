#![no_main]
//! `validate` of dynamo-adapter-target on a namespace the fuzzer shapes.
scaleguard_fuzz::cluster_target!(
    "dynamo-adapter-target",
    [
        r#"{}"#,
        r#"{"missingTarget": "deny", "requireNamespaceFilter": true}"#,
    ]
);
