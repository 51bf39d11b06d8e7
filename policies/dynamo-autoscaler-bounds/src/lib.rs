//! Kubewarden policy `dynamo-autoscaler-bounds`: Enforces sane replica bounds, GPU budgets and stabilization windows on autoscalers of DynamoGraphDeploymentScalingAdapters.
#![deny(unsafe_code)]

mod policy;
mod settings;

pub use policy::AutoscalerBounds;
pub use settings::Settings;

scaleguard_sdk::wapc_entry_points!(AutoscalerBounds);
