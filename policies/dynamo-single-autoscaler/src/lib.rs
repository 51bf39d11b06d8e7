//! Kubewarden policy `dynamo-single-autoscaler`: one autoscaler per DynamoGraphDeploymentScalingAdapter.
//! An HPA or KEDA ScaledObject may not target an adapter another HPA, ScaledObject or the Dynamo Planner
//! already scales, and a DynamoGraphDeployment may not bring a Planner onto such an adapter. One rule
//! for Dynamo's `nvidia.com/v1alpha1` and `nvidia.com/v1beta1`.
#![deny(unsafe_code)]

mod policy;
mod settings;

pub use policy::SingleAutoscaler;
pub use settings::Settings;

scaleguard_sdk::wapc_entry_points!(SingleAutoscaler);
