//! The generated GitOps repository the benches check: namespaces of Dynamo stacks (a
//! DynamoGraphDeployment, an HPA on its Frontend adapter, a ScaledObject on its decode adapter), clean
//! under every policy.

use std::path::{Path, PathBuf};

/// Per namespace: this many DGDs, each with an HPA on its Frontend adapter and a ScaledObject on its
/// decode adapter (34 x 3 = 102, trimmed to 100 objects).
const STACKS: usize = 34;
/// The objects of each generated namespace.
pub const OBJECTS_PER_NAMESPACE: usize = 100;

/// The three objects of stack `index` in `namespace`; `padding` bytes of annotation on the DGD.
pub fn stack(namespace: &str, index: usize, padding: usize) -> Vec<String> {
    let dgd = format!("llm-{index}");
    let annotations = if padding == 0 {
        String::new()
    } else {
        format!("  annotations: {{notes: \"{}\"}}\n", "x".repeat(padding))
    };
    vec![
        format!(
            "apiVersion: nvidia.com/v1alpha1\nkind: DynamoGraphDeployment\nmetadata:\n  name: {dgd}\n  namespace: {namespace}\n{annotations}spec:\n  services:\n    Frontend: {{componentType: frontend, scalingAdapter: {{enabled: true}}}}\n    decode:\n      componentType: worker\n      scalingAdapter: {{enabled: true}}\n      resources: {{limits: {{gpu: \"1\"}}}}\n"
        ),
        format!(
            "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {{name: {dgd}-frontend, namespace: {namespace}}}\nspec:\n  scaleTargetRef: {{apiVersion: nvidia.com/v1alpha1, kind: DynamoGraphDeploymentScalingAdapter, name: {dgd}-frontend}}\n  minReplicas: 1\n  maxReplicas: 5\n  metrics: [{{type: Resource, resource: {{name: cpu, target: {{type: Utilization, averageUtilization: 70}}}}}}]\n"
        ),
        format!(
            "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {{name: {dgd}-decode, namespace: {namespace}}}\nspec:\n  scaleTargetRef: {{apiVersion: nvidia.com/v1alpha1, kind: DynamoGraphDeploymentScalingAdapter, name: {dgd}-decode}}\n  minReplicaCount: 1\n  maxReplicaCount: 10\n  cooldownPeriod: 300\n  triggers:\n    - type: prometheus\n      metadata:\n        serverAddress: http://prometheus.monitoring.svc:9090\n        query: sum(dynamo_frontend_queued_requests{{dynamo_namespace=\"{namespace}-{dgd}\"}})\n        threshold: \"10\"\n"
        ),
    ]
}

/// The YAML of generated namespace `n`: [`OBJECTS_PER_NAMESPACE`] documents.
pub fn namespace_yaml(n: usize, padding: usize) -> String {
    let namespace = format!("team-{n:04}");
    let documents: Vec<String> = (0..STACKS)
        .flat_map(|index| stack(&namespace, index, padding))
        .take(OBJECTS_PER_NAMESPACE)
        .collect();
    documents.join("---\n")
}

/// Writes a repository of `namespaces` namespaces, one file each, into a new directory under the
/// system's temporary directory named after `label`, and returns it.
pub fn repository(label: &str, namespaces: usize) -> PathBuf {
    let root = scratch(label);
    for n in 0..namespaces {
        std::fs::write(root.join(format!("team-{n:04}.yaml")), namespace_yaml(n, 0)).unwrap();
    }
    root
}

/// A new empty directory under the system's temporary directory, named after `label` and this process.
pub fn scratch(label: &str) -> PathBuf {
    let root =
        std::env::temp_dir().join(format!("scaleguard-bench-{label}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    root
}

/// The `scaleguard` binary: `$SCALEGUARD_BIN`, else the native-release build, else the debug one.
pub fn binary(workspace: &Path) -> PathBuf {
    std::env::var_os("SCALEGUARD_BIN").map_or_else(
        || {
            [
                "target/native-release/scaleguard",
                "target/debug/scaleguard",
            ]
            .iter()
            .map(|p| workspace.join(p))
            .find(|p| p.is_file())
            .expect("build the CLI first (make cli or make release-cli)")
        },
        PathBuf::from,
    )
}
