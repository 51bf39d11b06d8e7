//! Kubewarden policy `dynamo-deprecated-autoscaling`: DynamoGraphDeployment services' `autoscaling` and
//! `dynamoNamespace` fields are deprecated and ignored by the Dynamo operator; say so, refuse them, or
//! remove them.
#![deny(unsafe_code)]

mod policy;
mod settings;

pub use policy::DeprecatedAutoscaling;
pub use settings::{Mode, Settings};

scaleguard_sdk::wapc_entry_points!(DeprecatedAutoscaling);
