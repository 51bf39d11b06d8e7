//! The rule (work in progress: accepts everything).

use scaleguard_sdk::{AdmissionRequest, Cluster, Policy, Verdict};

use crate::settings::Settings;

/// The `dynamo-autoscaler-bounds` policy.
#[derive(Debug, Clone, Copy)]
pub struct AutoscalerBounds;

impl Policy for AutoscalerBounds {
    type Settings = Settings;

    fn evaluate(_request: &AdmissionRequest, _settings: &Settings, _cluster: &dyn Cluster) -> Verdict {
        Verdict::accept()
    }
}
