//! Kubewarden policy `dynamo-adapter-target`: an HPA or KEDA ScaledObject must target a
//! DynamoGraphDeploymentScalingAdapter that exists (or that a DGD component or component group is about
//! to create), and the Dynamo metrics it scales on must be scoped to that adapter's deployment through
//! `dynamo_namespace`. DGDs and adapters are read in both `nvidia.com/v1alpha1` and `v1beta1`.
//!
//! - `policy`: the rule, from the admission request to the verdict and its messages.
//! - `promql`: the PromQL front end: a query's vector selectors, within size limits, or where it stops
//!   parsing.
//! - `scope`: which `dynamo_namespace` values a deployment's metrics carry, and how a selector's
//!   conditions on that label stand against them; `pattern` reads the label and name regexes.
//! - `settings`: the policy's settings.
#![deny(unsafe_code)]

mod pattern;
mod policy;
pub mod promql;
mod scope;
mod settings;

pub use policy::AdapterTarget;
pub use settings::{MissingTarget, Settings};

scaleguard_sdk::wapc_entry_points!(AdapterTarget);
