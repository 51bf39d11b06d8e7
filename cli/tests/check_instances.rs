//! End-to-end tests of `scaleguard check --use-cluster-policies` / `--cluster-policies`: the binary
//! decides as the cluster's Kubewarden policy instances would, with their selectors, match conditions,
//! modes and groups. Every case runs twice, with the DGD in `nvidia.com/v1alpha1` and in `v1beta1`.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};

use common::{modules_dir, workspace_root};

/// A DGD `d` in namespace `prod` whose Planner scales its `decode` adapter `d-decode`.
fn dgd(version: &str) -> &'static str {
    match version {
        "v1alpha1" => {
            "apiVersion: nvidia.com/v1alpha1\nkind: DynamoGraphDeployment\nmetadata: {name: d, namespace: prod}\nspec:\n  services:\n    Planner: {componentType: planner}\n    decode:\n      componentType: worker\n      subComponentType: decode\n      scalingAdapter: {enabled: true}\n"
        }
        _ => {
            "apiVersion: nvidia.com/v1beta1\nkind: DynamoGraphDeployment\nmetadata: {name: d, namespace: prod}\nspec:\n  components:\n    - {name: Planner, type: planner}\n    - {name: decode, type: decode, scalingAdapter: {}}\n"
        }
    }
}

/// An HPA on `d-decode` (so `dynamo-single-autoscaler` denies it and the DGD), with `metadata` extra.
fn hpa(version: &str, metadata: &str) -> String {
    format!(
        "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: h\n  namespace: prod\n{metadata}spec:\n  scaleTargetRef: {{apiVersion: nvidia.com/{version}, kind: DynamoGraphDeploymentScalingAdapter, name: d-decode}}\n  minReplicas: 1\n  maxReplicas: 4\n"
    )
}

/// The kinds the autoscaler policies look up, as `contextAwareResources` lines indented by `indent`.
fn grants(indent: &str, kinds: &[&str]) -> String {
    let mut lines = format!("{indent}contextAwareResources:\n");
    for kind in kinds {
        let (api_version, kind) = kind.rsplit_once('/').unwrap();
        lines.push_str(&format!(
            "{indent}  - {{apiVersion: {api_version}, kind: {kind}}}\n"
        ));
    }
    lines
}

/// Every kind the autoscaler policies' metadata declares.
const LOOKED_UP: [&str; 6] = [
    "autoscaling/v2/HorizontalPodAutoscaler",
    "keda.sh/v1alpha1/ScaledObject",
    "nvidia.com/v1beta1/DynamoGraphDeployment",
    "nvidia.com/v1alpha1/DynamoGraphDeployment",
    "nvidia.com/v1beta1/DynamoGraphDeploymentScalingAdapter",
    "nvidia.com/v1alpha1/DynamoGraphDeploymentScalingAdapter",
];

/// A ClusterAdmissionPolicy granting every kind of [`LOOKED_UP`] (or, with `namespace`, an
/// AdmissionPolicy, which grants none) `name` running `module` with `extra` spec lines, over DGDs and
/// HPAs.
fn policy(name: &str, namespace: Option<&str>, module: &str, extra: &str) -> String {
    let (kind, namespace, grants) = match namespace {
        Some(ns) => (
            "AdmissionPolicy",
            format!(", namespace: {ns}"),
            String::new(),
        ),
        None => (
            "ClusterAdmissionPolicy",
            String::new(),
            grants("  ", &LOOKED_UP),
        ),
    };
    format!(
        "apiVersion: policies.kubewarden.io/v1\nkind: {kind}\nmetadata: {{name: {name}{namespace}}}\nspec:\n  module: registry://ghcr.io/scaleguard/policies/{module}:v0.2.0\n  rules:\n    - {{apiGroups: [autoscaling], apiVersions: [v2], resources: [horizontalpodautoscalers], operations: [CREATE, UPDATE]}}\n    - {{apiGroups: [nvidia.com], apiVersions: [v1alpha1, v1beta1], resources: [dynamographdeployments], operations: [CREATE, UPDATE]}}\n{grants}{extra}---\n"
    )
}

const SINGLE: &str = "dynamo-single-autoscaler";
const HPA_DENIAL: &str = "DynamoGraphDeploymentScalingAdapter prod/d-decode is already scaled by the Dynamo Planner of DynamoGraphDeployment d; use one autoscaler per adapter";
const DGD_DENIAL: &str = "DynamoGraphDeploymentScalingAdapter prod/d-decode is already scaled by HorizontalPodAutoscaler h, and the Dynamo Planner of DynamoGraphDeployment d would scale it too; use one autoscaler per adapter";

/// Runs `scaleguard check apps --cluster-policies cluster -o json` over `apps` and `cluster` files,
/// with a module cache shared by the runs of one test.
fn run(cache: &Path, apps: &[(&str, &str)], cluster: &str, extra: &[&str]) -> Output {
    let repository = tempfile::tempdir().unwrap();
    for (file, text) in apps {
        let path = repository.path().join("apps").join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    std::fs::create_dir_all(repository.path().join("cluster")).unwrap();
    std::fs::write(repository.path().join("cluster/policies.yaml"), cluster).unwrap();
    Command::new(env!("CARGO_BIN_EXE_scaleguard"))
        .args([
            "check",
            "apps",
            "--cluster-policies",
            "cluster",
            "-o",
            "json",
        ])
        .args(extra)
        .arg("--policies")
        .arg(modules_dir())
        .arg("--module-cache")
        .arg(cache)
        .current_dir(repository.path())
        .env_remove("SCALEGUARD_POLICIES_DIR")
        .output()
        .unwrap()
}

fn json_report(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// `(kind, policy, instance, mode, allowed, code, message, warnings)` of every record.
fn records(report: &Value) -> Vec<Value> {
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            json!([
                r["kind"],
                r["policy"],
                r["instance"],
                r["mode"],
                r["allowed"],
                r["code"],
                r["message"],
                r["warnings"]
            ])
        })
        .collect()
}

/// `(name, reasons)` of every object selected by no instance.
fn unselected(report: &Value) -> Vec<Value> {
    report["unselected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| json!([u["name"], u["reasons"]]))
        .collect()
}

const VERSIONS: [&str; 2] = ["v1alpha1", "v1beta1"];

#[test]
fn a_protect_instance_denies_under_its_name_and_modules_without_instances_do_not_run() {
    let cache = tempfile::tempdir().unwrap();
    for version in VERSIONS {
        let cluster = policy("single", None, SINGLE, "");
        let output = run(
            cache.path(),
            &[("dgd.yaml", dgd(version)), ("hpa.yaml", &hpa(version, ""))],
            &cluster,
            &[],
        );
        assert_eq!(output.status.code(), Some(1), "{version}");
        let report = json_report(&output);
        assert_eq!(
            records(&report),
            [
                json!([
                    "DynamoGraphDeployment",
                    SINGLE,
                    "clusterwide-single",
                    "protect",
                    false,
                    403,
                    DGD_DENIAL,
                    []
                ]),
                json!([
                    "HorizontalPodAutoscaler",
                    SINGLE,
                    "clusterwide-single",
                    "protect",
                    false,
                    403,
                    HPA_DENIAL,
                    []
                ]),
            ],
            "{version}: only the module with an instance runs"
        );
        assert_eq!(report["summary"]["unselected"], 0);
        assert_eq!(report["unselected"], json!([]));
    }
}

#[test]
fn monitor_mode_reports_denials_as_warnings_and_passes() {
    let cache = tempfile::tempdir().unwrap();
    for version in VERSIONS {
        let cluster = policy("single", None, SINGLE, "  mode: monitor\n");
        let output = run(
            cache.path(),
            &[("dgd.yaml", dgd(version)), ("hpa.yaml", &hpa(version, ""))],
            &cluster,
            &[],
        );
        assert_eq!(
            output.status.code(),
            Some(0),
            "{version}: monitor only logs"
        );
        let warning = |message: &str| {
            json!([format!(
                "monitor mode, not enforced: denied (403): {message}"
            )])
        };
        assert_eq!(
            records(&json_report(&output)),
            [
                json!([
                    "DynamoGraphDeployment",
                    SINGLE,
                    "clusterwide-single",
                    "monitor",
                    true,
                    null,
                    null,
                    warning(DGD_DENIAL)
                ]),
                json!([
                    "HorizontalPodAutoscaler",
                    SINGLE,
                    "clusterwide-single",
                    "monitor",
                    true,
                    null,
                    null,
                    warning(HPA_DENIAL)
                ]),
            ],
            "{version}"
        );
    }
}

#[test]
fn the_namespace_selector_reads_the_namespace_objects_labels() {
    let cache = tempfile::tempdir().unwrap();
    let selector = "  namespaceSelector:\n    matchLabels: {scaleguard.io/policies: enabled}\n";
    for version in VERSIONS {
        let apps = [
            ("dgd.yaml", dgd(version)),
            ("hpa.yaml", &hpa(version, "") as &str),
        ];
        let unlabelled = format!(
            "{}apiVersion: v1\nkind: Namespace\nmetadata: {{name: prod}}\n",
            policy("single", None, SINGLE, selector)
        );
        let output = run(cache.path(), &apps, &unlabelled, &[]);
        assert_eq!(output.status.code(), Some(0), "{version}");
        let report = json_report(&output);
        assert_eq!(records(&report), Vec::<Value>::new(), "{version}");
        let reason = json!([
            "clusterwide-single: its namespaceSelector does not match namespace prod (labels: kubernetes.io/metadata.name=prod)"
        ]);
        assert_eq!(
            unselected(&report),
            [json!(["d", reason]), json!(["h", reason])],
            "{version}"
        );
        assert_eq!(report["summary"]["unselected"], 2);

        let labelled = unlabelled.replace(
            "metadata: {name: prod}",
            "metadata: {name: prod, labels: {scaleguard.io/policies: enabled}}",
        );
        let output = run(cache.path(), &apps, &labelled, &[]);
        assert_eq!(output.status.code(), Some(1), "{version}");
        assert_eq!(json_report(&output)["summary"]["denied"], 2, "{version}");
    }
}

#[test]
fn the_object_selector_reads_the_objects_labels() {
    let cache = tempfile::tempdir().unwrap();
    for version in VERSIONS {
        let cluster = policy(
            "single",
            None,
            SINGLE,
            "  objectSelector:\n    matchExpressions: [{key: scaleguard.io/checked, operator: Exists}]\n",
        );
        let labelled = hpa(version, "  labels: {scaleguard.io/checked: \"yes\"}\n");
        let output = run(
            cache.path(),
            &[("dgd.yaml", dgd(version)), ("hpa.yaml", &labelled)],
            &cluster,
            &[],
        );
        assert_eq!(output.status.code(), Some(1), "{version}");
        let report = json_report(&output);
        assert_eq!(
            records(&report),
            [json!([
                "HorizontalPodAutoscaler",
                SINGLE,
                "clusterwide-single",
                "protect",
                false,
                403,
                HPA_DENIAL,
                []
            ])],
            "{version}"
        );
        assert_eq!(
            unselected(&report),
            [json!([
                "d",
                [
                    "clusterwide-single: its objectSelector does not match the object's labels (none)"
                ]
            ])],
            "{version}"
        );
    }
}

const OPT_OUT: &str = "  matchConditions:\n    - name: not-exempt\n      expression: \"!has(object.metadata.annotations) || !('scaleguard.io/exempt' in object.metadata.annotations) || object.metadata.annotations['scaleguard.io/exempt'] != 'true'\"\n";

#[test]
fn a_match_condition_exempts_one_object_by_annotation() {
    let cache = tempfile::tempdir().unwrap();
    for version in VERSIONS {
        let cluster = policy("single", None, SINGLE, OPT_OUT);
        let exempt = hpa(version, "  annotations: {scaleguard.io/exempt: \"true\"}\n");
        let output = run(
            cache.path(),
            &[("dgd.yaml", dgd(version)), ("hpa.yaml", &exempt)],
            &cluster,
            &[],
        );
        assert_eq!(output.status.code(), Some(1), "{version}");
        let report = json_report(&output);
        assert_eq!(
            records(&report),
            [json!([
                "DynamoGraphDeployment",
                SINGLE,
                "clusterwide-single",
                "protect",
                false,
                403,
                DGD_DENIAL,
                []
            ])],
            "{version}: the DGD has no annotation"
        );
        assert_eq!(
            unselected(&report),
            [json!([
                "h",
                ["clusterwide-single: its matchCondition not-exempt is false"]
            ])],
            "{version}"
        );
    }
}

#[test]
fn a_match_condition_calling_what_scaleguard_lacks_is_an_input_error_naming_it() {
    let cache = tempfile::tempdir().unwrap();
    for version in VERSIONS {
        let cluster = policy(
            "single",
            None,
            SINGLE,
            "  matchConditions:\n    - {name: authz, expression: \"authorizer.requestResource.check('get').allowed()\"}\n",
        );
        let output = run(
            cache.path(),
            &[("dgd.yaml", dgd(version)), ("hpa.yaml", &hpa(version, ""))],
            &cluster,
            &[],
        );
        assert_eq!(output.status.code(), Some(2), "{version}");
        let report = json_report(&output);
        assert_eq!(
            report["errors"],
            json!([{"file": "cluster/policies.yaml", "index": 0, "line": 1,
                "message": "ClusterAdmissionPolicy single: matchConditions[authz] uses function allowed, \
                function check, variable authorizer, which scaleguard's CEL does not provide (it has CEL's \
                standard library, the strings, lists, math and base64 extensions and `matches`, and the \
                variables object, oldObject and request)"}]),
            "{version}"
        );
        assert_eq!(
            records(&report),
            Vec::<Value>::new(),
            "{version}: the instance does not run"
        );
    }
}

#[test]
fn an_admission_policy_sees_only_its_namespace_looks_up_nothing_and_one_module_runs_as_several_instances()
 {
    let cache = tempfile::tempdir().unwrap();
    for version in VERSIONS {
        let cluster = [
            policy("single", Some("prod"), SINGLE, ""),
            policy("single", Some("staging"), SINGLE, ""),
            policy("single-everywhere", None, SINGLE, "  mode: monitor\n"),
        ]
        .concat();
        let output = run(
            cache.path(),
            &[("dgd.yaml", dgd(version)), ("hpa.yaml", &hpa(version, ""))],
            &cluster,
            &[],
        );
        assert_eq!(
            output.status.code(),
            Some(0),
            "{version}: only the monitor-mode instance sees the conflict"
        );
        let monitored = |message: &str| {
            json!([format!(
                "monitor mode, not enforced: denied (403): {message}"
            )])
        };
        let allowed_by_prod = |kind: &str| {
            json!([
                kind,
                SINGLE,
                "namespaced-prod-single",
                "protect",
                true,
                null,
                null,
                []
            ])
        };
        assert_eq!(
            records(&json_report(&output)),
            [
                allowed_by_prod("DynamoGraphDeployment"),
                json!([
                    "DynamoGraphDeployment",
                    SINGLE,
                    "clusterwide-single-everywhere",
                    "monitor",
                    true,
                    null,
                    null,
                    monitored(DGD_DENIAL)
                ]),
                allowed_by_prod("HorizontalPodAutoscaler"),
                json!([
                    "HorizontalPodAutoscaler",
                    SINGLE,
                    "clusterwide-single-everywhere",
                    "monitor",
                    true,
                    null,
                    null,
                    monitored(HPA_DENIAL)
                ]),
            ],
            "{version}: namespaced-staging-single sees nothing of prod, and namespaced-prod-single \
             cannot look up the autoscalers and DGDs it would conflict with"
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        for instance in ["namespaced-prod-single", "namespaced-staging-single"] {
            assert!(
                stderr.contains(&format!(
                    "warning: {instance}: a namespaced policy is granted no look-ups, and \
                     dynamo-single-autoscaler looks up autoscaling/v2/HorizontalPodAutoscaler, \
                     keda.sh/v1alpha1/ScaledObject, nvidia.com/v1alpha1/DynamoGraphDeployment, \
                     nvidia.com/v1alpha1/DynamoGraphDeploymentScalingAdapter, \
                     nvidia.com/v1beta1/DynamoGraphDeployment, \
                     nvidia.com/v1beta1/DynamoGraphDeploymentScalingAdapter; the cluster refuses \
                     those look-ups and the policy judges as if no such objects existed. Run it \
                     from a ClusterAdmissionPolicy that grants them\n"
                )),
                "{version}: {stderr}"
            );
        }
        assert!(
            !stderr.contains("single-everywhere"),
            "{version}: it grants all: {stderr}"
        );
    }
}

#[test]
fn an_instance_looks_up_only_the_kinds_its_context_aware_resources_grant() {
    let cache = tempfile::tempdir().unwrap();
    let without_dgds = [LOOKED_UP[0], LOOKED_UP[1], LOOKED_UP[4], LOOKED_UP[5]];
    let missing_warning = |instance: &str| {
        format!(
            "warning: {instance}: its contextAwareResources do not grant \
             nvidia.com/v1alpha1/DynamoGraphDeployment, nvidia.com/v1beta1/DynamoGraphDeployment, which \
             dynamo-single-autoscaler looks up; the cluster refuses those look-ups and the policy \
             judges as if no such objects existed\n"
        )
    };
    for version in VERSIONS {
        let apps = [
            ("dgd.yaml", dgd(version)),
            ("hpa.yaml", &hpa(version, "") as &str),
        ];
        let cluster = policy("single", None, SINGLE, "")
            .replace(&grants("  ", &LOOKED_UP), &grants("  ", &without_dgds));
        let output = run(cache.path(), &apps, &cluster, &[]);
        assert_eq!(output.status.code(), Some(1), "{version}");
        assert_eq!(
            records(&json_report(&output)),
            [
                json!([
                    "DynamoGraphDeployment",
                    SINGLE,
                    "clusterwide-single",
                    "protect",
                    false,
                    403,
                    DGD_DENIAL,
                    []
                ]),
                json!([
                    "HorizontalPodAutoscaler",
                    SINGLE,
                    "clusterwide-single",
                    "protect",
                    true,
                    null,
                    null,
                    []
                ]),
            ],
            "{version}: the DGD's edit still lists the HPA; the HPA cannot see the Planner's DGD"
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(&missing_warning("clusterwide-single")),
            "{version}: {stderr}"
        );

        // A group member grants its own: `single` here grants nothing, so single() is true.
        let cluster = group("single()", "protect").replacen(&grants("      ", &LOOKED_UP), "", 1);
        let output = run(cache.path(), &apps, &cluster, &[]);
        assert_eq!(output.status.code(), Some(0), "{version}");
        assert_eq!(
            records(&json_report(&output)),
            [json!([
                "HorizontalPodAutoscaler",
                "clusterwide-group-autoscalers",
                "clusterwide-group-autoscalers",
                "protect",
                true,
                null,
                null,
                ["single: allowed"]
            ])],
            "{version}"
        );

        // The namespaced kinds have no such field: the API server would refuse the manifest.
        let cluster = policy("single", Some("prod"), SINGLE, &grants("  ", &LOOKED_UP));
        let output = run(cache.path(), &apps, &cluster, &[]);
        assert_eq!(output.status.code(), Some(2), "{version}");
        assert_eq!(
            json_report(&output)["errors"],
            json!([{"file": "cluster/policies.yaml", "index": 0, "line": 1,
                "message": "AdmissionPolicy single: spec.contextAwareResources is not a field of the \
                namespaced policy kinds: only cluster-wide policies may look up other objects"}]),
            "{version}"
        );
    }
}

/// A group of `dynamo-single-autoscaler` and `dynamo-autoscaler-bounds` over HPAs, with `expression`;
/// each member grants every kind of [`LOOKED_UP`].
fn group(expression: &str, mode: &str) -> String {
    let grants = grants("      ", &LOOKED_UP);
    format!(
        "apiVersion: policies.kubewarden.io/v1\nkind: ClusterAdmissionPolicyGroup\nmetadata: {{name: autoscalers}}\nspec:\n  mode: {mode}\n  rules:\n    - {{apiGroups: [autoscaling], apiVersions: [v2], resources: [horizontalpodautoscalers], operations: [CREATE]}}\n  policies:\n    single:\n      module: registry://ghcr.io/scaleguard/policies/dynamo-single-autoscaler:v0.2.0\n{grants}    bounds:\n      module: registry://ghcr.io/scaleguard/policies/dynamo-autoscaler-bounds:v0.2.0\n{grants}  expression: \"{expression}\"\n  message: the autoscaler breaks the platform's rules\n"
    )
}

#[test]
fn a_group_combines_its_members_and_answers_with_its_message() {
    let cache = tempfile::tempdir().unwrap();
    let instance = "clusterwide-group-autoscalers";
    for version in VERSIONS {
        let apps = [
            ("dgd.yaml", dgd(version)),
            ("hpa.yaml", &hpa(version, "") as &str),
        ];
        let output = run(
            cache.path(),
            &apps,
            &group("single() && bounds()", "protect"),
            &[],
        );
        assert_eq!(output.status.code(), Some(1), "{version}");
        let report = json_report(&output);
        assert_eq!(
            records(&report),
            [json!([
                "HorizontalPodAutoscaler",
                instance,
                instance,
                "protect",
                false,
                400,
                "the autoscaler breaks the platform's rules",
                ["single: rejected"]
            ])],
            "{version}: bounds() is not evaluated once single() is false"
        );
        assert_eq!(
            report["results"][0]["causes"],
            json!([{"field": "spec.policies.single", "message": HPA_DENIAL}]),
            "{version}"
        );
        assert_eq!(
            unselected(&report),
            [json!([
                "d",
                [format!(
                    "{instance}: its rules do not select CREATE nvidia.com/{version}/dynamographdeployments"
                )]
            ])],
            "{version}: the group's rules leave DGDs out"
        );

        let output = run(
            cache.path(),
            &apps,
            &group("bounds() || single()", "protect"),
            &[],
        );
        assert_eq!(output.status.code(), Some(0), "{version}");
        assert_eq!(
            records(&json_report(&output)),
            [json!([
                "HorizontalPodAutoscaler",
                instance,
                instance,
                "protect",
                true,
                null,
                null,
                ["bounds: allowed"]
            ])],
            "{version}"
        );

        let output = run(
            cache.path(),
            &apps,
            &group("!bounds() || single()", "monitor"),
            &[],
        );
        assert_eq!(output.status.code(), Some(0), "{version}");
        assert_eq!(
            records(&json_report(&output)),
            [json!([
                "HorizontalPodAutoscaler",
                instance,
                instance,
                "monitor",
                true,
                null,
                null,
                [
                    "bounds: allowed",
                    "single: rejected",
                    "monitor mode, not enforced: denied (400): the autoscaler breaks the platform's rules"
                ]
            ])],
            "{version}"
        );
    }
}

#[test]
fn the_example_repository_shows_exactly_its_planted_mistakes_as_the_cluster_decides() {
    let output = Command::new(env!("CARGO_BIN_EXE_scaleguard"))
        .args([
            "check",
            "examples/gitops",
            "--cluster-policies",
            "examples/gitops-cluster",
            "-o",
            "json",
            "--no-module-cache",
            "--policies",
        ])
        .arg(modules_dir())
        .current_dir(workspace_root())
        .env_remove("SCALEGUARD_POLICIES_DIR")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("warning:"),
        "every instance grants what its module looks up: {stderr}"
    );
    let report = json_report(&output);
    let findings: Vec<Value> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["allowed"] == false || !r["warnings"].as_array().unwrap().is_empty())
        .map(|r| {
            json!([
                r["file"],
                r["index"],
                r["kind"],
                r["name"],
                r["instance"],
                r["mode"],
                r["allowed"],
                r["code"]
            ])
        })
        .collect();
    let apps = "examples/gitops/apps";
    let (single, target) = (
        "clusterwide-dynamo-single-autoscaler",
        "clusterwide-dynamo-adapter-target",
    );
    assert_eq!(
        findings,
        [
            json!([
                format!("{apps}/llama-disagg/decode-hpa.yaml"),
                0,
                "HorizontalPodAutoscaler",
                "llama-disagg-decode-hpa",
                single,
                "protect",
                false,
                403
            ]),
            // monitor mode: the copied metric filter is a warning, not a denial
            json!([
                format!("{apps}/llama-disagg/decode-hpa.yaml"),
                0,
                "HorizontalPodAutoscaler",
                "llama-disagg-decode-hpa",
                target,
                "monitor",
                true,
                null
            ]),
            json!([
                format!("{apps}/llama-disagg/dgd.yaml"),
                0,
                "DynamoGraphDeployment",
                "llama-disagg",
                single,
                "protect",
                false,
                403
            ]),
            json!([
                format!("{apps}/qwen-engines/autoscalers.yaml"),
                1,
                "ScaledObject",
                "qwen-engines-decode-scaler",
                target,
                "monitor",
                true,
                null
            ]),
            json!([
                format!("{apps}/qwen-engines/dgd.yaml"),
                0,
                "DynamoGraphDeployment",
                "qwen-engines",
                null,
                null,
                true,
                null
            ]),
            json!([
                format!("{apps}/sglang-chat/autoscalers.yaml"),
                0,
                "ScaledObject",
                "sglang-chat-decode-scaler",
                single,
                "protect",
                false,
                403
            ]),
            json!([
                format!("{apps}/sglang-chat/autoscalers.yaml"),
                1,
                "HorizontalPodAutoscaler",
                "sglang-chat-decode-hpa",
                single,
                "protect",
                false,
                403
            ]),
            // sglang-chat-frontend-scaler scales to zero, exempt by its annotation: no finding
            json!([
                format!("{apps}/sglang-chat/dgd.yaml"),
                0,
                "DynamoGraphDeployment",
                "sglang-chat",
                "clusterwide-dynamo-deprecated-autoscaling",
                "protect",
                true,
                null
            ]),
            json!([
                format!("{apps}/sglang-chat/dgd.yaml"),
                0,
                "DynamoGraphDeployment",
                "sglang-chat",
                null,
                null,
                true,
                null
            ]),
        ]
    );
    // namespace llm is left out by every instance's namespaceSelector: vllm-disagg is visible as such
    let left_out = "its namespaceSelector does not match namespace llm (labels: kubernetes.io/metadata.name=llm)";
    assert_eq!(
        unselected(&report),
        [
            json!([
                "vllm-disagg-decode-hpa",
                [
                    format!("{single}: {left_out}"),
                    format!("clusterwide-dynamo-autoscaler-bounds: {left_out}"),
                    format!("{target}: {left_out}"),
                ]
            ]),
            json!([
                "vllm-disagg",
                [
                    format!("{single}: {left_out}"),
                    "clusterwide-dynamo-autoscaler-bounds: its rules do not select CREATE nvidia.com/v1alpha1/dynamographdeployments",
                    format!("clusterwide-dynamo-deprecated-autoscaling: {left_out}"),
                ]
            ]),
        ]
    );
    assert_eq!(
        report["summary"],
        json!({"files": 10, "documents": 14, "evaluations": 33, "denied": 4, "warned": 5,
            "mutated": 0, "errors": 0, "skipped": 0, "unselected": 2})
    );
}

/// With the cluster's policies, SARIF reports each finding under its instance: a rule per instance,
/// made from its module's metadata, a monitor-mode instance's rule and findings at warning level.
#[test]
fn sarif_rules_are_the_instances() {
    let output = Command::new(env!("CARGO_BIN_EXE_scaleguard"))
        .args([
            "check",
            "examples/gitops",
            "--cluster-policies",
            "examples/gitops-cluster",
            "-o",
            "sarif",
            "--no-module-cache",
            "--policies",
        ])
        .arg(modules_dir())
        .current_dir(workspace_root())
        .env_remove("SCALEGUARD_POLICIES_DIR")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let log = json_report(&output);
    let run = &log["runs"][0];
    let rules: Vec<(&str, &str)> = run["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|rule| {
            (
                rule["id"].as_str().unwrap(),
                rule["defaultConfiguration"]["level"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(
        rules.contains(&("clusterwide-dynamo-single-autoscaler", "error")),
        "{rules:?}"
    );
    assert!(
        rules.contains(&("clusterwide-dynamo-adapter-target", "warning")),
        "the monitor-mode instance: {rules:?}"
    );
    let results = run["results"].as_array().unwrap();
    assert!(!results.is_empty());
    for result in results {
        let rule = result["ruleId"].as_str().unwrap();
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index].0, rule, "ruleIndex points at the rule");
        if rule == "clusterwide-dynamo-adapter-target" {
            assert_eq!(result["level"], "warning", "monitor mode: {result}");
        }
    }
    assert!(
        results
            .iter()
            .any(|r| r["ruleId"] == "clusterwide-dynamo-single-autoscaler" && r["level"] == "error")
    );
}
