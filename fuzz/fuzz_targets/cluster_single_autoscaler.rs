#![no_main]
//! `validate` of dynamo-single-autoscaler on a namespace the fuzzer shapes.
scaleguard_fuzz::cluster_target!(
    "dynamo-single-autoscaler",
    [
        r#"{}"#,
        r#"{"plannerConflicts": false}"#,
        r#"{"kedaOperatorServiceAccounts": [{"namespace": "keda", "name": "keda-operator"}]}"#,
    ]
);
