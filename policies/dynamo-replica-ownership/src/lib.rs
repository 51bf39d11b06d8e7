//! Kubewarden policy `dynamo-replica-ownership`: the replicas of a DynamoGraphDeployment service whose
//! scaling adapter is enabled belong to the adapter; only its writers may change them in the DGD.
#![deny(unsafe_code)]

mod policy;
mod settings;

pub use policy::ReplicaOwnership;
pub use settings::Settings;

scaleguard_sdk::wapc_entry_points!(ReplicaOwnership);
