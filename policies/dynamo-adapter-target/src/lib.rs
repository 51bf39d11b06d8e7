//! Kubewarden policy `dynamo-adapter-target`: Autoscalers must target a real DynamoGraphDeploymentScalingAdapter and scope dynamo_namespace metric queries to their own deployment.
#![deny(unsafe_code)]

mod policy;
mod settings;

pub use policy::AdapterTarget;
pub use settings::Settings;

scaleguard_sdk::wapc_entry_points!(AdapterTarget);
