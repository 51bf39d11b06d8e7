//! `make bench-check`: every policy module of `target/policies/` measured through `scaleguard-host`
//! (wasmtime, as Kubewarden runs it) beside the same entry logic called natively, on the requests of
//! `scaleguard_tests::workload` (the guide's DGD, a 25-service DGD, the guide's HPA and ScaledObject in a
//! namespace of 500 autoscalers).
//!
//! Per module: its size, compile time (`PolicyModule::from_bytes`, wasmtime's compilation cache off),
//! instantiate time; per request the policy's rules select: `validate` latency (median and p99) through
//! wasmtime and natively — iterations interleaved, alternating which side goes first, so machine noise
//! hits both — their ratio, and the `kubernetes` host calls one evaluation makes. The native side is
//! `LinkedPolicy::validate_payload` fed the same payload bytes, each look-up answered with the List JSON
//! bytes the host sends the module for it (made once by the host's code, `ClusterView::list_json`),
//! parsed as the module parses them. The wasm side's time includes the host making those bytes at every
//! call; that cost is also timed on its own (`listAnswer`), and the ratio without it on the wasm side is
//! reported beside the budgeted one.
//!
//! Every request is also run through a second instance whose host ignores field masks (whole objects, as
//! evaluators before Kubewarden 1.33 answer), reported beside the masked figure.
//!
//! Prints a table, writes `target/bench/policies.json`, then checks the budgets and exits non-zero,
//! naming each budget exceeded: module size, wasm/native ratio, the wasm median of a request that looks
//! the namespace up (2 ms) and of the replica-ownership DGD edits, one host call per kind looked up.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::hint::black_box;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use scaleguard_check::linked::LinkedPolicy;
use scaleguard_host::{Limits, PolicyModule};
use scaleguard_in_memory_cluster::{ClusterView, InMemoryCluster, ListQuery};
use scaleguard_sdk::cluster::Lookup;
use scaleguard_sdk::{Cluster, LookupError, ValidationResponse};
use scaleguard_tests::bench_report::{
    LATENCY_BUDGETS, LOOKUP_BUDGET, MODULE_BYTES_BUDGET, PROMQL_MODULE, PolicyReport,
    RequestReport, Samples, WASM_TO_NATIVE_BUDGET, micros,
};
use scaleguard_tests::workload::{AUTOSCALERS, Scenario, autoscaler_cluster, scenarios};
use scaleguard_tests::{module_path, policy_names, workspace_root};
use serde_json::{Value, json};

/// Compilations timed per module (each compiles afresh: the compilation cache is never turned on).
const COMPILE_RUNS: usize = 3;
/// Instantiations timed per module.
const INSTANTIATE_RUNS: usize = 50;
/// Untimed evaluations per side before timing a request.
const WARM_UP: usize = 20;
/// Timed iterations per request and side, at least.
const MIN_ITERATIONS: usize = 300;
/// Timed iterations per request and side, at most.
const MAX_ITERATIONS: usize = 5_000;
/// Past [`MIN_ITERATIONS`], timing a request stops after this long.
const TIME_PER_REQUEST: Duration = Duration::from_secs(3);

fn main() -> ExitCode {
    match run() {
        Ok(violations) if violations.is_empty() => {
            println!("\nbench-check: every budget holds");
            ExitCode::SUCCESS
        }
        Ok(violations) => {
            eprintln!("\nbench-check: {} budget(s) exceeded:", violations.len());
            for violation in &violations {
                eprintln!("  - {violation}");
            }
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("bench-check: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Measures everything, prints and writes the report; returns the budgets exceeded.
fn run() -> Result<Vec<String>, String> {
    if cfg!(debug_assertions) {
        eprintln!(
            "warning: an unoptimised build; run `make bench-check` for figures that mean something"
        );
    }
    let cluster = Arc::new(autoscaler_cluster()?);
    let scenarios = scenarios()?;
    let mut reports = Vec::new();
    for policy in policy_names() {
        reports.push(measure_policy(&policy, &cluster, &scenarios)?);
    }
    print_tables(&reports);
    let violations: Vec<String> = reports.iter().flat_map(PolicyReport::violations).collect();
    let report = json!({
        "machine": machine(),
        "optimised": !cfg!(debug_assertions),
        "autoscalersInCluster": AUTOSCALERS,
        "budgets": {
            "lookupMedianUs": micros(LOOKUP_BUDGET),
            "medianUsOf": LATENCY_BUDGETS.iter().map(|(policy, scenario, budget)| json!({
                "policy": policy, "request": scenario, "medianUs": micros(*budget),
            })).collect::<Vec<_>>(),
            "moduleBytes": MODULE_BYTES_BUDGET,
            "moduleBytesOf": {PROMQL_MODULE.0: PROMQL_MODULE.1},
            "wasmToNativeMedianRatio": WASM_TO_NATIVE_BUDGET,
            "hostCallsPerKind": 1,
        },
        "policies": reports.iter().map(PolicyReport::to_json).collect::<Vec<_>>(),
        "violations": violations,
    });
    let path = workspace_root().join("target/bench/policies.json");
    std::fs::create_dir_all(path.parent().unwrap_or(&path))
        .and_then(|()| std::fs::write(&path, format!("{report:#}\n")))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    println!("\nreport: {}", path.display());
    Ok(violations)
}

fn measure_policy(
    policy: &str,
    cluster: &Arc<InMemoryCluster>,
    scenarios: &[Scenario],
) -> Result<PolicyReport, String> {
    let path = module_path(policy);
    let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let linked = LinkedPolicy::named(policy)
        .ok_or_else(|| format!("{policy} is not linked into scaleguard-check"))??;
    let granted = linked.metadata().granted();

    let mut compile = Vec::new();
    let mut module = None;
    for _ in 0..COMPILE_RUNS {
        let started = Instant::now();
        let compiled = PolicyModule::from_bytes(policy, &bytes, Limits::default())
            .map_err(|e| e.to_string())?;
        compile.push(started.elapsed());
        module = Some(compiled);
    }
    let module = module
        .ok_or("no compile run")?
        .with_context_aware_resources(granted);
    let annotated = module.metadata().is_some();

    let mut instantiate = Vec::new();
    for _ in 0..INSTANTIATE_RUNS {
        let started = Instant::now();
        let instance = module
            .instantiate(Arc::clone(cluster))
            .map_err(|e| e.to_string())?;
        instantiate.push(started.elapsed());
        drop(black_box(instance));
    }

    let mut instance = module
        .instantiate(Arc::clone(cluster))
        .map_err(|e| e.to_string())?;
    let mut unmasked = module
        .instantiate(Arc::clone(cluster))
        .map_err(|e| e.to_string())?;
    unmasked.set_view(
        linked
            .cluster_view(Arc::clone(cluster))
            .ignoring_field_masks(),
    );
    let mut requests = Vec::new();
    for scenario in scenarios
        .iter()
        .filter(|s| s.is_selected_by(linked.metadata()))
    {
        let payload = scenario.payload(policy);
        let native_cluster = ListJsonCluster::new(linked.cluster_view(Arc::clone(cluster)));
        let wasm_call = |instance: &mut scaleguard_host::PolicyInstance| {
            instance
                .validate_payload(&payload)
                .map_err(|e| e.to_string())
        };
        let native_call = || linked.validate_payload(&payload, &native_cluster);
        let (mut wasm, mut whole, mut native) = (
            wasm_call(&mut instance)?,
            wasm_call(&mut unmasked)?,
            native_call(),
        );
        for _ in 1..WARM_UP {
            (wasm, whole, native) = (
                wasm_call(&mut instance)?,
                wasm_call(&mut unmasked)?,
                native_call(),
            );
        }
        if wasm != native || wasm != whole {
            return Err(format!(
                "{policy} on {}: the answers differ:\n  wasm          {wasm:?}\n  wasm unmasked {whole:?}\n  native        {native:?}",
                scenario.name
            ));
        }
        let (mut wasm_times, mut unmasked_times, mut native_times, mut answer_times) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let started = Instant::now();
        for iteration in 0..MAX_ITERATIONS {
            if iteration >= MIN_ITERATIONS && started.elapsed() > TIME_PER_REQUEST {
                break;
            }
            let time_wasm = |instance: &mut scaleguard_host::PolicyInstance,
                             times: &mut Vec<Duration>|
             -> Result<(), String> {
                let start = Instant::now();
                black_box(wasm_call(instance)?);
                times.push(start.elapsed());
                Ok(())
            };
            let mut time_native = || {
                let start = Instant::now();
                black_box(native_call());
                native_times.push(start.elapsed());
            };
            if iteration % 2 == 0 {
                time_wasm(&mut instance, &mut wasm_times)?;
                time_native();
            } else {
                time_native();
                time_wasm(&mut instance, &mut wasm_times)?;
            }
            time_wasm(&mut unmasked, &mut unmasked_times)?;
            answer_times.push(native_cluster.time_host_answers());
        }
        requests.push(RequestReport {
            scenario: scenario.name,
            decision: decision(&wasm),
            wasm: Samples::new(wasm_times),
            wasm_unmasked: Samples::new(unmasked_times),
            native: Samples::new(native_times),
            list_answer: Samples::new(answer_times),
            host_calls: instance.last_host_calls(),
        });
    }
    Ok(PolicyReport {
        name: policy.to_owned(),
        module_bytes: bytes.len() as u64,
        annotated,
        compile: Samples::new(compile),
        instantiate: Samples::new(instantiate),
        requests,
    })
}

/// The native side's cluster: each look-up is answered with the List JSON bytes `scaleguard-host`
/// sends the module for it, field masks honoured (made by the host's code the first time it is asked,
/// during warm-up, and copied out at every call, as the host copies them into the module).
struct ListJsonCluster {
    view: ClusterView,
    /// The answers made so far, by `(apiVersion, kind, namespace, field masks)`.
    answers: RefCell<BTreeMap<ListKey, ListAnswer>>,
}

/// `(apiVersion, kind, namespace, field masks)` of a look-up.
type ListKey = (String, String, String, Vec<String>);
/// The List JSON the host answers a look-up with, or the error it gives.
type ListAnswer = Result<Vec<u8>, LookupError>;

impl ListJsonCluster {
    fn new(view: ClusterView) -> Self {
        Self {
            view,
            answers: RefCell::default(),
        }
    }

    /// How long the host takes to make the answers of one evaluation: every answer made so far, again.
    fn time_host_answers(&self) -> Duration {
        let started = Instant::now();
        for (api_version, kind, namespace, masks) in self.answers.borrow().keys() {
            let masks: Vec<&str> = masks.iter().map(String::as_str).collect();
            let query = ListQuery {
                field_masks: &masks,
                ..ListQuery::of(api_version, kind).in_namespace(namespace)
            };
            let _ = black_box(self.view.list_json(&query));
        }
        started.elapsed()
    }
}

impl Cluster for ListJsonCluster {
    fn list_json(&self, lookup: &Lookup<'_>) -> Result<Vec<u8>, LookupError> {
        let key = (
            lookup.kind.api_version.to_string(),
            lookup.kind.kind.to_string(),
            lookup.namespace.to_owned(),
            lookup.field_masks.iter().map(|&m| m.to_owned()).collect(),
        );
        self.answers
            .borrow_mut()
            .entry(key)
            .or_insert_with(|| Cluster::list_json(&self.view, lookup))
            .clone()
    }
}

fn decision(response: &ValidationResponse) -> String {
    let mut decision = if response.accepted {
        "accepted".to_owned()
    } else {
        format!("denied {}", response.code.unwrap_or_default())
    };
    let warnings = response.warnings.as_ref().map_or(0, Vec::len);
    if warnings > 0 {
        decision.push_str(&format!(", {warnings} warnings"));
    }
    if response.mutated_object.is_some() {
        decision.push_str(", patch");
    }
    decision
}

fn print_tables(reports: &[PolicyReport]) {
    println!(
        "{:<31} {:>9} {:>10} {:>11} {:>16}",
        "module", "bytes", "budget", "compile ms", "instantiate µs"
    );
    for report in reports {
        println!(
            "{:<31} {:>9} {:>10} {:>11.1} {:>7.1} (p99 {:.1})",
            report.name,
            report.module_bytes,
            report.size_budget(),
            micros(report.compile.median()) / 1000.0,
            micros(report.instantiate.median()),
            micros(report.instantiate.p99()),
        );
    }
    println!(
        "\nvalidate, µs: median (p99); {AUTOSCALERS} autoscalers in the namespace the look-ups list; wasm: field \
         masks honoured (Kubewarden 1.33+), unmasked: ignored (older evaluators); ratio: wasm/native medians \
         (budget {WASM_TO_NATIVE_BUDGET}x); -lists: the same with the host's making of the List JSON taken off wasm"
    );
    println!(
        "{:<30} {:<26} {:<22} {:>18} {:>18} {:>18} {:>6} {:>8} {:>5}",
        "policy", "request", "decision", "wasm", "unmasked", "native", "ratio", "-lists", "calls"
    );
    let figure = |samples: &Samples| {
        format!(
            "{:.1} ({:.1})",
            micros(samples.median()),
            micros(samples.p99())
        )
    };
    for report in reports {
        for request in &report.requests {
            println!(
                "{:<30} {:<26} {:<22} {:>18} {:>18} {:>18} {:>5.2}x {:>7.2}x {:>5}",
                report.name,
                request.scenario,
                request.decision,
                figure(&request.wasm),
                figure(&request.wasm_unmasked),
                figure(&request.native),
                request.ratio(),
                request.ratio_without_list_answer(),
                request.host_calls.len(),
            );
        }
    }
}

/// The machine the figures come from: cores, CPU model, memory.
fn machine() -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name")?.split_once(':'))
        .map(|(_, model)| model.trim().to_owned());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_kib = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse::<u64>().ok());
    json!({
        "cpus": std::thread::available_parallelism().map_or(0, usize::from),
        "cpuModel": model,
        "memoryGiB": memory_kib.map(|kib| (kib as f64 / (1 << 20) as f64 * 10.0).round() / 10.0),
    })
}
