//! `scaleguard-controller`: the companion controller that gives every DynamoGraphDeployment unit an
//! adapter owns (a v1alpha1 service with `scalingAdapter.enabled: true`; a v1beta1 component or component
//! group with the `scalingAdapter` marker) a DynamoGraphDeploymentScalingAdapter and keeps the DGD's
//! replicas in sync with it, for clusters where nothing else manages adapters. It speaks
//! `nvidia.com/v1beta1` where the cluster serves it (Dynamo 1.2 and later) and `v1alpha1` elsewhere.
//!
//! Built as a pipeline, controller-rs and Stackable style:
//! * [`pipeline`] — the pure steps: the adapters a DGD asks for and the plan to get there
//!   ([`pipeline::desired_adapters`], [`pipeline::plan_adapters`]), the DGD write an adapter needs
//!   ([`pipeline::replica_write`]), the adapter's status ([`pipeline::adapter_status`]), combined by
//!   [`pipeline::sync_adapter`]; and the API version to speak ([`pipeline::served_version`]);
//! * [`controller`] — the only code that talks to the API: one [`controller::Context`], the two
//!   reconciles, [`controller::api_version`] and [`controller::run`];
//! * [`crd`] and [`dgd`] — the resource types of both versions, read through [`dgd::DgdResource`] and
//!   [`crd::AdapterResource`]; [`error`] — the one error enum; [`events`], [`metrics`], [`lease`]
//!   (leader election; [`lease::LeaderElector::lead`] runs the controller while this replica leads) and
//!   [`server`] (`/metrics`, `/healthz`, `/readyz`) — operations.
#![forbid(unsafe_code)]

pub mod controller;
pub mod crd;
pub mod dgd;
pub mod error;
pub mod events;
pub mod lease;
pub mod metrics;
pub mod pipeline;
pub mod server;

#[cfg(test)]
mod deploy_tests;
#[cfg(test)]
mod fixtures;

pub use controller::{Context, error_policy, reconcile_adapter, reconcile_dgd, run};
pub use crd::{DynamoGraphDeploymentScalingAdapter, crd_yaml};
pub use dgd::DynamoGraphDeployment;
pub use error::Error;
