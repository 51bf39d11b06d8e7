//! `make bench-gitops`: `scaleguard check` over a generated GitOps repository of 10,000 manifests
//! (100 namespaces x 100 objects: DynamoGraphDeployments, HPAs and ScaledObjects), beside the same
//! evaluations done one process per request (`scaleguard run`, the way `kwctl run` is used in CI),
//! measured on a 200-request sample. Needs `make policies`; `SCALEGUARD_BIN` names the binary for the
//! process-per-request side (default: `target/native-release/scaleguard`, else `target/debug/scaleguard`).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use scaleguard_check::request::{admission_request, default_user};
use scaleguard_check::wasm::{compile_all, read_directory};
use scaleguard_check::{Check, ConfiguredPolicy, RunnablePolicy as _, fs, parallel};

mod generated;

use generated::{OBJECTS_PER_NAMESPACE, binary};

const NAMESPACES: usize = 100;
const SAMPLE: usize = 200;

fn main() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let policies_dir = workspace.join("target/policies");
    let root = generated::repository("gitops", NAMESPACES);

    let started = Instant::now();
    let policies = compile_all(read_directory(&policies_dir).expect("make policies first"))
        .expect("the modules compile");
    let compiled = started.elapsed();
    let started = Instant::now();
    let inputs = fs::read_paths(
        &[root.display().to_string()],
        "default",
        &mut std::io::empty(),
    );
    let configured: Vec<ConfiguredPolicy<'_>> = policies
        .iter()
        .map(|policy| ConfiguredPolicy {
            policy,
            settings: serde_json::Value::Null,
        })
        .collect();
    let documents = &inputs.parsed.documents;
    assert_eq!(documents.len(), NAMESPACES * OBJECTS_PER_NAMESPACE);
    let previous = BTreeMap::new();
    let check = Check::new(documents, &previous, &configured, default_user());
    let threads = parallel::threads_for(documents.len());
    let records = parallel::run(&check, threads, &|_, _| {}).unwrap();
    let checked = started.elapsed();
    let denied = records.iter().filter(|r| !r.allowed).count();
    assert_eq!(denied, 0, "the generated repository is clean");
    let per_second = documents.len() as f64 / checked.as_secs_f64();
    println!(
        "scaleguard check: {} manifests, {} evaluations, {threads} threads: {:.2} s ({:.0} manifests/s), plus {:.2} s compiling {} modules once",
        documents.len(),
        records.len(),
        checked.as_secs_f64(),
        per_second,
        compiled.as_secs_f64(),
        policies.len()
    );

    // The same evaluations, one `scaleguard run` process per request, on a sample.
    let binary = binary(&workspace);
    let step = (records.len() / SAMPLE).max(1);
    let scratch = root.join("requests");
    std::fs::create_dir_all(&scratch).unwrap();
    let mut sampled = 0;
    let started = Instant::now();
    for record in records.iter().step_by(step).take(SAMPLE) {
        let position = documents
            .iter()
            .position(|d| {
                d.file == record.file && d.name() == record.name && d.kind() == record.kind
            })
            .unwrap();
        let policy = policies.iter().find(|p| p.name() == record.policy).unwrap();
        let request = admission_request("bench", &documents[position], None, &default_user());
        let request_file = scratch.join("request.json");
        std::fs::write(&request_file, serde_json::to_vec(&request).unwrap()).unwrap();
        let cluster: Vec<_> = check.cluster_for(position);
        let cluster_file = scratch.join("cluster.json");
        std::fs::write(
            &cluster_file,
            serde_json::to_vec(
                &serde_json::json!({"apiVersion": "v1", "kind": "List", "items": cluster}),
            )
            .unwrap(),
        )
        .unwrap();
        let mut command = Command::new(&binary);
        command
            .arg("run")
            .arg("--policy")
            .arg(policies_dir.join(format!("{}.wasm", record.policy)))
            .arg("--request")
            .arg(&request_file)
            .arg("--cluster")
            .arg(&cluster_file);
        for granted in &policy.metadata().context_aware_resources {
            command
                .arg("--allow-context")
                .arg(format!("{}/{}", granted.api_version, granted.kind));
        }
        let output = command.output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        sampled += 1;
    }
    let elapsed = started.elapsed();
    let requests_per_second = f64::from(sampled) / elapsed.as_secs_f64();
    let evaluations_per_manifest = records.len() as f64 / documents.len() as f64;
    println!(
        "one process per request ({}): {sampled} requests in {:.2} s ({:.1} requests/s, so {:.1} manifests/s at {:.2} evaluations per manifest)",
        binary.display(),
        elapsed.as_secs_f64(),
        requests_per_second,
        requests_per_second / evaluations_per_manifest,
        evaluations_per_manifest
    );
    let _ = std::fs::remove_dir_all(&root);
}
