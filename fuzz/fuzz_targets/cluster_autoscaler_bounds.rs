#![no_main]
//! `validate` of dynamo-autoscaler-bounds on a namespace the fuzzer shapes.
scaleguard_fuzz::cluster_target!(
    "dynamo-autoscaler-bounds",
    [
        r#"{}"#,
        r#"{"maxGpusPerAdapter": 4, "maxReplicasCeiling": 32, "requireExplicitMax": true}"#,
        r#"{"allowScaleToZero": true, "minScaleDownStabilizationSeconds": 300, "kedaOperatorServiceAccounts": [{"namespace": "keda", "name": "keda-operator"}]}"#,
    ]
);
