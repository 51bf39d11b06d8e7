//! The figures `make bench-check` reports (`benches/policies.rs` measures them) and the budgets they
//! are held to: module size, wasm over native `validate` latency, the wasm latency of a look-up on a
//! namespace of 500 autoscalers and of the replica-ownership DGD edits, host calls per kind looked up.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use scaleguard_host::KubernetesCall;
use serde_json::{Value, json};

/// Size budget of an annotated module, in bytes.
pub const MODULE_BYTES_BUDGET: u64 = 450_000;
/// Size budget of the module with a PromQL parser inside.
pub const PROMQL_MODULE: (&str, u64) = ("dynamo-adapter-target", 1_500_000);
/// Largest allowed ratio of the wasm median `validate` latency to the native one.
pub const WASM_TO_NATIVE_BUDGET: f64 = 2.5;
/// Largest wasm median `validate` latency of a request that looks the namespace up, field masks honoured.
pub const LOOKUP_BUDGET: Duration = Duration::from_millis(2);
/// Largest wasm median `validate` latency of named (policy, request) pairs.
pub const LATENCY_BUDGETS: [(&str, &str, Duration); 2] = [
    (
        "dynamo-replica-ownership",
        "guide DGD edit",
        Duration::from_micros(25),
    ),
    (
        "dynamo-replica-ownership",
        "25-service DGD edit",
        Duration::from_micros(250),
    ),
];

/// Latency samples.
pub struct Samples(Vec<Duration>);

impl Samples {
    /// The samples, in any order.
    pub fn new(mut samples: Vec<Duration>) -> Self {
        samples.sort_unstable();
        Self(samples)
    }

    /// The value at quantile `q` (nearest rank).
    pub fn quantile(&self, q: f64) -> Duration {
        let rank = (q * self.0.len() as f64).ceil() as usize;
        self.0
            .get(rank.clamp(1, self.0.len().max(1)) - 1)
            .copied()
            .unwrap_or_default()
    }

    /// The median.
    pub fn median(&self) -> Duration {
        self.quantile(0.5)
    }

    /// The 99th percentile.
    pub fn p99(&self) -> Duration {
        self.quantile(0.99)
    }

    /// `{"medianUs", "p99Us", "samples"}`.
    pub fn to_json(&self) -> Value {
        json!({"medianUs": micros(self.median()), "p99Us": micros(self.p99()), "samples": self.0.len()})
    }
}

/// `value` rounded to two decimals.
pub fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// `duration` in microseconds, rounded to a tenth.
pub fn micros(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 1e7).round() / 10.0
}

/// One module's figures.
pub struct PolicyReport {
    /// The policy.
    pub name: String,
    /// Size of the annotated module.
    pub module_bytes: u64,
    /// Whether the module carries its metadata.
    pub annotated: bool,
    /// Compile times.
    pub compile: Samples,
    /// Instantiate times.
    pub instantiate: Samples,
    /// The requests the policy's rules select.
    pub requests: Vec<RequestReport>,
}

/// One request's figures for one policy.
pub struct RequestReport {
    /// The request's name.
    pub scenario: &'static str,
    /// The decision, e.g. `denied 403` or `accepted, 3 warnings`.
    pub decision: String,
    /// `validate` through wasmtime, field masks honoured.
    pub wasm: Samples,
    /// `validate` through wasmtime, field masks ignored (Kubewarden before 1.33).
    pub wasm_unmasked: Samples,
    /// The same logic called natively.
    pub native: Samples,
    /// Time the host takes to make the List JSON of one evaluation's look-ups.
    pub list_answer: Samples,
    /// The `kubernetes` host calls of one evaluation.
    pub host_calls: Vec<KubernetesCall>,
}

impl RequestReport {
    /// Median wasm latency over median native latency: the budgeted ratio.
    pub fn ratio(&self) -> f64 {
        self.wasm.median().as_secs_f64() / self.native.median().as_secs_f64().max(1e-9)
    }

    /// The same ratio with the host's median time of making the List JSON taken off the wasm side: the
    /// module's own slowdown, parsing the lists included.
    pub fn ratio_without_list_answer(&self) -> f64 {
        let answer = self.list_answer.median().as_secs_f64();
        (self.wasm.median().as_secs_f64() - answer) / self.native.median().as_secs_f64().max(1e-9)
    }

    /// The distinct `(apiVersion, kind)` pairs the evaluation looked up.
    pub fn kinds_looked_up(&self) -> BTreeSet<&scaleguard_sdk::ResourceKind> {
        self.host_calls
            .iter()
            .filter_map(|call| call.kind.as_ref())
            .collect()
    }
}

impl PolicyReport {
    /// The module's size budget, in bytes: it must stay under it.
    pub fn size_budget(&self) -> u64 {
        if self.name == PROMQL_MODULE.0 {
            PROMQL_MODULE.1
        } else {
            MODULE_BYTES_BUDGET
        }
    }

    /// Each budget the figures exceed, named, with the figures.
    pub fn violations(&self) -> Vec<String> {
        let mut violations = Vec::new();
        if !self.annotated {
            violations.push(format!(
                "{}: target/policies/{}.wasm is not annotated (run `make policies`)",
                self.name, self.name
            ));
        }
        if self.module_bytes >= self.size_budget() {
            violations.push(format!(
                "{}: module size budget: {} bytes, budget under {} bytes",
                self.name,
                self.module_bytes,
                self.size_budget()
            ));
        }
        for request in &self.requests {
            if request.ratio() > WASM_TO_NATIVE_BUDGET {
                violations.push(format!(
                    "{} on {}: wasm/native latency budget: wasm median {} µs is {:.2}x the native {} µs, budget {WASM_TO_NATIVE_BUDGET}x",
                    self.name,
                    request.scenario,
                    micros(request.wasm.median()),
                    request.ratio(),
                    micros(request.native.median()),
                ));
            }
            let budget = LATENCY_BUDGETS
                .iter()
                .find(|(policy, scenario, _)| *policy == self.name && *scenario == request.scenario)
                .map(|(_, _, budget)| *budget)
                .or_else(|| (!request.host_calls.is_empty()).then_some(LOOKUP_BUDGET));
            if let Some(budget) = budget.filter(|budget| request.wasm.median() > *budget) {
                violations.push(format!(
                    "{} on {}: latency budget: wasm median {} µs, budget {} µs",
                    self.name,
                    request.scenario,
                    micros(request.wasm.median()),
                    micros(budget),
                ));
            }
            let kinds = request.kinds_looked_up().len();
            if request.host_calls.len() > kinds {
                violations.push(format!(
                    "{} on {}: host-call budget (one call per kind looked up): {} kubernetes host calls for {kinds} kinds: {}",
                    self.name,
                    request.scenario,
                    request.host_calls.len(),
                    describe_calls(&request.host_calls),
                ));
            }
        }
        violations
    }

    /// The module's figures as `target/bench/policies.json` holds them.
    pub fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "moduleBytes": self.module_bytes,
            "moduleBytesBudget": self.size_budget(),
            "annotated": self.annotated,
            "compileMs": {
                "medianMs": round2(self.compile.median().as_secs_f64() * 1000.0),
                "runs": self.compile.0.len(),
            },
            "instantiate": self.instantiate.to_json(),
            "validate": self.requests.iter().map(|request| json!({
                "request": request.scenario,
                "decision": request.decision,
                "wasm": request.wasm.to_json(),
                "wasmUnmasked": request.wasm_unmasked.to_json(),
                "native": request.native.to_json(),
                "listAnswer": request.list_answer.to_json(),
                "wasmToNativeMedianRatio": round2(request.ratio()),
                "wasmToNativeMedianRatioWithoutListAnswer": round2(request.ratio_without_list_answer()),
                "hostCalls": request.host_calls.iter().map(|call| json!({
                    "operation": call.operation,
                    "apiVersion": call.kind.as_ref().map(|kind| &kind.api_version),
                    "kind": call.kind.as_ref().map(|kind| &kind.kind),
                })).collect::<Vec<_>>(),
                "kindsLookedUp": request.kinds_looked_up().len(),
            })).collect::<Vec<_>>(),
        })
    }
}

/// `list_resources_by_namespace HorizontalPodAutoscaler, ...`, counted.
pub fn describe_calls(calls: &[KubernetesCall]) -> String {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for call in calls {
        let kind = call.kind.as_ref().map_or("", |kind| &*kind.kind);
        *counts
            .entry(format!("{} {kind}", call.operation))
            .or_default() += 1;
    }
    counts
        .iter()
        .map(|(call, count)| format!("{count}x {call}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn micros_samples(values: &[u64]) -> Samples {
        Samples::new(values.iter().copied().map(Duration::from_micros).collect())
    }

    fn list(kind: &str) -> KubernetesCall {
        KubernetesCall {
            operation: "list_resources_by_namespace".to_owned(),
            kind: Some(scaleguard_sdk::ResourceKind::new(
                "nvidia.com/v1alpha1",
                kind,
            )),
            field_masks: Vec::new(),
        }
    }

    fn report(
        module_bytes: u64,
        wasm: &[u64],
        native: &[u64],
        calls: Vec<KubernetesCall>,
    ) -> PolicyReport {
        PolicyReport {
            name: "dynamo-single-autoscaler".to_owned(),
            module_bytes,
            annotated: true,
            compile: micros_samples(&[1]),
            instantiate: micros_samples(&[1]),
            requests: vec![RequestReport {
                scenario: "guide HPA create",
                decision: "accepted".to_owned(),
                wasm: micros_samples(wasm),
                wasm_unmasked: micros_samples(wasm),
                native: micros_samples(native),
                list_answer: micros_samples(&[0]),
                host_calls: calls,
            }],
        }
    }

    #[test]
    fn quantiles_are_nearest_rank() {
        let samples = micros_samples(&(1..=100).rev().collect::<Vec<_>>());
        assert_eq!(samples.median(), Duration::from_micros(50));
        assert_eq!(samples.p99(), Duration::from_micros(99));
        assert_eq!(micros_samples(&[]).median(), Duration::ZERO);
    }

    #[test]
    fn figures_within_every_budget_pass() {
        let within = report(
            449_999,
            &[25, 25, 90],
            &[10, 11, 12],
            vec![list("A"), list("B")],
        );
        assert_eq!(within.violations(), Vec::<String>::new());
    }

    #[test]
    fn each_exceeded_budget_is_named() {
        let over = report(
            450_000,
            &[2_001, 2_001, 2_001],
            &[10, 800, 800],
            vec![list("A"), list("A"), list("B")],
        );
        assert_eq!(
            over.violations(),
            [
                "dynamo-single-autoscaler: module size budget: 450000 bytes, budget under 450000 bytes",
                "dynamo-single-autoscaler on guide HPA create: wasm/native latency budget: wasm median 2001 µs is 2.50x the native 800 µs, budget 2.5x",
                "dynamo-single-autoscaler on guide HPA create: latency budget: wasm median 2001 µs, budget 2000 µs",
                "dynamo-single-autoscaler on guide HPA create: host-call budget (one call per kind looked up): 3 kubernetes host calls for 2 kinds: 2x list_resources_by_namespace A, 1x list_resources_by_namespace B",
            ]
        );
    }

    #[test]
    fn named_requests_have_their_own_latency_budget() {
        let mut ownership = report(1, &[26, 26, 26], &[20, 20, 20], Vec::new());
        ownership.name = "dynamo-replica-ownership".to_owned();
        ownership.requests[0].scenario = "guide DGD edit";
        assert_eq!(
            ownership.violations(),
            [
                "dynamo-replica-ownership on guide DGD edit: latency budget: wasm median 26 µs, budget 25 µs"
            ]
        );
        ownership.requests[0].scenario = "25-service DGD edit";
        assert_eq!(ownership.violations(), Vec::<String>::new());
    }

    #[test]
    fn the_promql_module_has_its_own_size_budget() {
        let mut adapter_target = report(1_499_999, &[1], &[1], Vec::new());
        adapter_target.name = "dynamo-adapter-target".to_owned();
        assert_eq!(adapter_target.violations(), Vec::<String>::new());
        adapter_target.module_bytes = 1_500_000;
        assert_eq!(adapter_target.violations().len(), 1);
    }
}
