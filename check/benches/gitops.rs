//! `make bench-gitops`: `scaleguard check` over a generated GitOps repository of 10,000 manifests
//! (100 namespaces x 100 objects: DynamoGraphDeployments, HPAs and ScaledObjects) with 2 threads, then
//! over 20,000 (200 namespaces of the same size). Budgets, which fail the bench: at least 5,000
//! manifests/s over 10,000, and 20,000 within 2.2x the time of 10,000. Beside them, the same
//! evaluations done one process per request (`scaleguard run`, the way `kwctl run` is used in CI),
//! measured on a 200-request sample. Needs `make policies`; `SCALEGUARD_BIN` names the binary for the
//! process-per-request side (default: `target/native-release/scaleguard`, else `target/debug/scaleguard`).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use scaleguard_check::request::{admission_request, default_user};
use scaleguard_check::wasm::{compile_all, read_directory};
use scaleguard_check::{Check, ConfiguredPolicy, RunnablePolicy as _, fs, parallel};

mod generated;

use generated::{OBJECTS_PER_NAMESPACE, binary};

const NAMESPACES: usize = 100;
const SAMPLE: usize = 200;
/// Threads of the budgeted runs: the two cores of the reference machine.
const THREADS: usize = 2;
/// Least manifests per second over the 10,000-manifest repository.
const THROUGHPUT_BUDGET: f64 = 5_000.0;
/// Most time twice the manifests (twice the namespaces of the same size) may take, over the time of once:
/// linear, not quadratic.
const SCALING_BUDGET: f64 = 2.2;

/// One `scaleguard check` over a generated repository, timed.
struct Run<'p> {
    root: std::path::PathBuf,
    inputs: fs::Inputs,
    policies: &'p [ConfiguredPolicy<'p>],
}

impl Run<'_> {
    /// Checks every document with [`THREADS`] threads; the records and the time taken.
    fn check(&self) -> (Vec<scaleguard_check::Record>, Duration) {
        let documents = &self.inputs.parsed.documents;
        let previous = BTreeMap::new();
        let started = Instant::now();
        let check = Check::new(documents, &previous, self.policies, default_user());
        let records = parallel::run(&check, THREADS, &|_, _| {}).unwrap();
        let elapsed = started.elapsed();
        assert!(
            records.iter().all(|r| r.allowed),
            "the generated repository is clean"
        );
        (records, elapsed)
    }
}

fn main() -> ExitCode {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let policies_dir = workspace.join("target/policies");

    let started = Instant::now();
    let policies = compile_all(read_directory(&policies_dir).expect("make policies first"))
        .expect("the modules compile");
    let compiled = started.elapsed();
    let configured: Vec<ConfiguredPolicy<'_>> = policies
        .iter()
        .map(|policy| ConfiguredPolicy {
            policy,
            settings: serde_json::Value::Null,
        })
        .collect();
    let run = |label: &str, namespaces: usize| {
        let root = generated::repository(label, namespaces);
        let inputs = fs::read_paths(
            &[root.display().to_string()],
            "default",
            &mut std::io::empty(),
        );
        assert_eq!(
            inputs.parsed.documents.len(),
            namespaces * OBJECTS_PER_NAMESPACE
        );
        Run {
            root,
            inputs,
            policies: &configured,
        }
    };
    let gitops = run("gitops", NAMESPACES);
    let (records, checked) = gitops.check();
    let documents = &gitops.inputs.parsed.documents;
    let per_second = documents.len() as f64 / checked.as_secs_f64();
    println!(
        "scaleguard check: {} manifests, {} evaluations, {THREADS} threads: {:.2} s ({per_second:.0} manifests/s, budget {THROUGHPUT_BUDGET:.0}), plus {:.2} s compiling {} modules once",
        documents.len(),
        records.len(),
        checked.as_secs_f64(),
        compiled.as_secs_f64(),
        policies.len()
    );
    let twice = run("gitops-twice", 2 * NAMESPACES);
    let (_, checked_twice) = twice.check();
    let _ = std::fs::remove_dir_all(&twice.root);
    let scaling = checked_twice.as_secs_f64() / checked.as_secs_f64();
    println!(
        "scaleguard check: {} manifests ({} namespaces): {:.2} s, {scaling:.2}x the time of {} (budget {SCALING_BUDGET}x)",
        twice.inputs.parsed.documents.len(),
        2 * NAMESPACES,
        checked_twice.as_secs_f64(),
        documents.len(),
    );
    let previous = BTreeMap::new();
    let check = Check::new(documents, &previous, &configured, default_user());
    let root = &gitops.root;

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
    let _ = std::fs::remove_dir_all(root);

    let mut exceeded = Vec::new();
    if cfg!(debug_assertions) {
        eprintln!(
            "warning: an unoptimised build; run `make bench-gitops` for figures that mean something"
        );
    }
    if per_second < THROUGHPUT_BUDGET {
        exceeded.push(format!(
            "throughput: {per_second:.0} manifests/s, budget at least {THROUGHPUT_BUDGET:.0}"
        ));
    }
    if scaling > SCALING_BUDGET {
        exceeded.push(format!(
            "scaling: twice the manifests took {scaling:.2}x the time, budget {SCALING_BUDGET}x"
        ));
    }
    if exceeded.is_empty() {
        println!("bench-gitops: every budget holds");
        ExitCode::SUCCESS
    } else {
        eprintln!("bench-gitops: {} budget(s) exceeded:", exceeded.len());
        for budget in &exceeded {
            eprintln!("  - {budget}");
        }
        ExitCode::FAILURE
    }
}
