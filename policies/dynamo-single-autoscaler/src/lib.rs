//! Kubewarden policy `dynamo-single-autoscaler`: Denies a second autoscaler (HPA, KEDA ScaledObject or the Dynamo Planner) on one DynamoGraphDeploymentScalingAdapter.
#![deny(unsafe_code)]

mod policy;
mod settings;

pub use policy::SingleAutoscaler;
pub use settings::Settings;

scaleguard_sdk::wapc_entry_points!(SingleAutoscaler);
