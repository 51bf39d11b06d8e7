//! `scaleguard-sdk`: typed, lenient models of the Kubernetes objects that drive NVIDIA Dynamo autoscaling,
//! and the rules scaleguard's policies share.
//!
//! * [`dgd`], [`adapter`], [`autoscaler`] model DynamoGraphDeployments, their scaling adapters,
//!   HorizontalPodAutoscalers and KEDA ScaledObjects. Unknown fields are ignored; a watched field of the
//!   wrong type is a [`FieldError`] naming its path (`spec.services[decode].replicas`).
//! * [`admission`] models the AdmissionRequest Kubewarden hands a policy.
//! * [`policy`] is the contract every policy implements: a pure function from request, settings and a
//!   [`Cluster`] look-up to a [`Verdict`]; [`policy::validate`] and [`policy::validate_settings`] are the
//!   entry logic shared by the wasm module and native callers, so both answer byte for byte the same.
//! * `guest` (feature `guest`) is the thin waPC glue a policy's `lib.rs` uses.
#![deny(unsafe_code)]

pub mod adapter;
pub mod admission;
pub mod autoscaler;
pub mod cluster;
pub mod dgd;
#[cfg(feature = "guest")]
pub mod guest;
pub mod meta;
pub mod parse;
pub mod policy;
pub mod principal;
pub mod response;
pub mod review;

pub use admission::{AdmissionRequest, Operation, UserInfo};
pub use cluster::{Cluster, EmptyCluster, LookupError, ResourceKind};
pub use parse::FieldError;
pub use policy::{Policy, PolicySettings};
pub use response::{SettingsValidationResponse, ValidationResponse, Verdict};
