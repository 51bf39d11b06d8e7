//! The entry logic the fuzz targets drive: the policies' native decision functions, linked in by
//! `scaleguard-check` exactly as the tests' native twin runs them, and the sdk's lenient parsers.

use std::sync::Arc;

use scaleguard_check::linked::LinkedPolicy;
use scaleguard_sdk::autoscaler::{HorizontalPodAutoscaler, ScaledObject};
use scaleguard_sdk::dgd::convert::convert;
use scaleguard_sdk::dgd::{DgdVersion, DgdView, parse_gpu_quantity};
use scaleguard_in_memory_cluster::{ClusterView, InMemoryCluster};
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
