//! The rule (work in progress: accepts everything).

use scaleguard_sdk::{AdmissionRequest, Cluster, Policy, Verdict};

use crate::settings::Settings;

/// The `dynamo-single-autoscaler` policy.
#[derive(Debug, Clone, Copy)]
pub struct SingleAutoscaler;

impl Policy for SingleAutoscaler {
    type Settings = Settings;

    fn evaluate(_request: &AdmissionRequest, _settings: &Settings, _cluster: &dyn Cluster) -> Verdict {
        Verdict::accept()
    }
}
