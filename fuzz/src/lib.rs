//! The entry logic the fuzz targets drive: the policies' native decision functions, linked in by
//! `scaleguard-check` exactly as the tests' native twin runs them (on an empty cluster, or on a
//! namespace the fuzzer shapes: [`cluster`]), the sdk's lenient parsers, the DGD conversion, the PromQL
//! front end and `check`'s reader of repository files.

pub mod cluster;

use std::sync::Arc;

use scaleguard_check::input::{Format, parse_manifests};
use scaleguard_check::linked::LinkedPolicy;
use scaleguard_in_memory_cluster::{ClusterView, InMemoryCluster};
use scaleguard_sdk::autoscaler::{HorizontalPodAutoscaler, ScaledObject};
use scaleguard_sdk::dgd::convert::convert;
use scaleguard_sdk::dgd::{DgdVersion, DgdView, parse_gpu_quantity};
use scaleguard_sdk::parse;

/// A linked policy and the empty cluster seen through its granted kinds.
#[derive(Debug)]
pub struct Target {
    policy: LinkedPolicy,
    view: ClusterView,
}

impl Target {
    /// The policy called `name`; panics (at start-up, not during fuzzing) if it is not linked.
    pub fn new(name: &str) -> Self {
        let policy = LinkedPolicy::named(name)
            .unwrap_or_else(|| panic!("no linked policy {name}"))
            .expect("the policy's metadata parses");
        let view = policy.cluster_view(Arc::new(InMemoryCluster::default()));
        Self { policy, view }
    }

    /// Runs the policy's `validate` on the raw payload; any panic is a finding.
    pub fn validate(&self, payload: &[u8]) {
        let _ = self.policy.validate_payload(payload, &self.view);
    }

    /// Runs the policy's `validate` on a scenario the fuzzer shaped, its look-ups listing the scenario's
    /// objects; any panic is a finding.
    pub fn validate_in(&self, scenario: &cluster::Scenario) {
        let cluster = InMemoryCluster::from_objects(scenario.cluster.iter().cloned());
        let view = self.policy.cluster_view(Arc::new(cluster));
        let _ = self.policy.validate_payload(&scenario.payload, &view);
    }

    /// Runs the policy's `validate_settings` on the raw settings; any panic is a finding.
    pub fn validate_settings(&self, settings: &[u8]) {
        let _ = self.policy.validate_settings_payload(settings);
    }
}

/// Runs the sdk's parsers of the watched kinds (a DGD of either version into its view, and through the
/// conversion to the other version), and the GPU quantity parser, on the raw bytes.
pub fn parse_models(bytes: &[u8]) {
    if let Ok(value) = parse::from_slice::<serde_json::Value>(bytes) {
        if let Ok(dgd) = DgdView::from_object(&value) {
            let _ = (dgd.units(), dgd.planner_scaled_components());
        }
        for version in [DgdVersion::V1alpha1, DgdVersion::V1beta1] {
            let _ = convert(&value, version);
        }
    }
    let _ = parse::from_slice::<HorizontalPodAutoscaler>(bytes);
    let _ = parse::from_slice::<ScaledObject>(bytes);
    if let Ok(text) = std::str::from_utf8(bytes) {
        let _ = parse_gpu_quantity(text);
    }
}

/// The conversion as a round-trip property: a DGD of either version that reads into a view converts
/// to the other version into an object that reads too, with the same components (names, replicas,
/// adapters), and converts back without error.
pub fn convert_round_trip(bytes: &[u8]) {
    let Ok(object) = parse::from_slice::<serde_json::Value>(bytes) else {
        return;
    };
    let Ok(original) = DgdView::from_object(&object) else {
        return;
    };
    let other = match original.version {
        DgdVersion::V1alpha1 => DgdVersion::V1beta1,
        DgdVersion::V1beta1 => DgdVersion::V1alpha1,
    };
    let Some(Ok(there)) = convert(&object, other) else {
        return;
    };
    let converted = DgdView::from_object(&there.object).unwrap_or_else(|e| {
        panic!(
            "the conversion of {object} does not read: {e}: {}",
            there.object
        )
    });
    assert_eq!(converted.version, other);
    assert_eq!(
        what_scales(&converted),
        what_scales(&original),
        "{object} converted to {}",
        there.object
    );
    match convert(&there.object, original.version) {
        Some(Ok(_)) => {}
        other => panic!("{} does not convert back: {other:?}", there.object),
    }
}

/// Each component's name, replicas as written and whether an adapter owns them, by name.
fn what_scales(view: &DgdView) -> Vec<(String, Option<i32>, bool)> {
    let mut components: Vec<_> = view
        .components
        .iter()
        .map(|c| (c.name.clone(), c.replicas, c.adapter))
        .collect();
    components.sort();
    components
}

/// Runs the PromQL front end of `dynamo-adapter-target` on the text.
pub fn promql(bytes: &[u8]) {
    if let Ok(query) = std::str::from_utf8(bytes) {
        let _ = dynamo_adapter_target::promql::vector_selectors(query);
    }
}

/// Reads the bytes as a repository file, YAML and JSON, as `scaleguard check` reads files.
pub fn check_documents(bytes: &[u8]) {
    if let Ok(text) = std::str::from_utf8(bytes) {
        for format in [Format::Yaml, Format::Json] {
            let _ = parse_manifests("fuzz.yaml", text, format, "default");
        }
    }
}

/// Defines the fuzz target of a policy's `validate` on a namespace the fuzzer shapes, picking the
/// settings among `$settings` (JSON texts) or arbitrary JSON.
#[macro_export]
macro_rules! cluster_target {
    ($policy:literal, [$($settings:literal),* $(,)?]) => {
        static TARGET: std::sync::OnceLock<($crate::Target, Vec<serde_json::Value>)> =
            std::sync::OnceLock::new();
        libfuzzer_sys::fuzz_target!(|input: &[u8]| {
            let (target, settings) = TARGET.get_or_init(|| {
                let settings = [$($settings),*]
                    .iter()
                    .map(|text| serde_json::from_str(text).expect("settings are JSON"))
                    .collect();
                ($crate::Target::new($policy), settings)
            });
            let mut bytes = libfuzzer_sys::arbitrary::Unstructured::new(input);
            if let Ok(scenario) = $crate::cluster::scenario(&mut bytes, settings) {
                target.validate_in(&scenario);
            }
        });
    };
}

/// Defines the fuzz target of a policy's `validate` (`validate`) or `validate_settings` (`settings`).
#[macro_export]
macro_rules! policy_target {
    ($entry:ident, $policy:literal) => {
        static TARGET: std::sync::OnceLock<$crate::Target> = std::sync::OnceLock::new();
        libfuzzer_sys::fuzz_target!(|input: &[u8]| {
            $crate::policy_target!(@call TARGET.get_or_init(|| $crate::Target::new($policy)), $entry, input)
        });
    };
    (@call $target:expr, validate, $input:expr) => {
        $target.validate($input)
    };
    (@call $target:expr, settings, $input:expr) => {
        $target.validate_settings($input)
    };
}
