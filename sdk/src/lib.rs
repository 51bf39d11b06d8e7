//! `scaleguard-sdk`: typed, lenient models of the Kubernetes objects that drive NVIDIA Dynamo autoscaling,
//! and the rules scaleguard's policies share.
//!
//! * [`dgd`], [`adapter`], [`autoscaler`] model DynamoGraphDeployments, their scaling adapters,
//!   HorizontalPodAutoscalers and KEDA ScaledObjects. Unknown fields are ignored; a watched field of the
//!   wrong type is a [`FieldError`] naming its path (`spec.services[decode].replicas`).
//! * [`admission`] models the AdmissionRequest Kubewarden hands a policy.
//! * [`policy`] is the contract every policy implements: a pure function from request, settings and a
//!   [`Cluster`] look-up to a [`Verdict`]; [`policy::validate`] and [`policy::validate_settings`] are the
//!   entry logic shared by the wasm module and native callers, so both give the same answers (the tests
//!   compare them as parsed responses).
//! * `guest` (feature `guest`) is the thin waPC glue a policy's `lib.rs` uses.
//!
//! The sdk is what policies compile against, and only that: a policy's metadata is `scaleguard-metadata`,
//! the in-memory cluster of native hosts `scaleguard-in-memory-cluster`.
#![deny(unsafe_code)]

pub mod adapter;
pub mod admission;
pub mod autoscaler;
pub mod cluster;
pub mod dgd;
#[cfg(feature = "guest")]
pub mod guest;
pub mod listed;
pub mod meta;
pub mod parse;
pub mod policy;
pub mod principal;
pub mod response;
pub mod review;

pub use admission::{AdmissionRequest, Operation, RawObject, UserInfo};
pub use cluster::{Cluster, EmptyCluster, LookupError, ResourceKind};
pub use parse::FieldError;
pub use policy::{Policy, PolicySettings};
pub use response::{SettingsValidationResponse, ValidationResponse, Verdict};

/// Defines `wapc_init`, registering exactly `validate`, `validate_settings` and `protocol_version` for
/// policy type `$policy` with the glue of module `guest` (feature `guest`). Compiled only for WASI (the
/// module Kubewarden runs), so policies also link as native libraries and into the browser playground.
#[macro_export]
macro_rules! wapc_entry_points {
    ($policy:ty) => {
        /// waPC entry point: registers the functions Kubewarden calls.
        #[cfg(target_os = "wasi")]
        #[allow(unsafe_code)]
        #[unsafe(no_mangle)]
        pub extern "C" fn wapc_init() {
            use $crate::guest::wapc_guest::register_function;
            register_function("validate", $crate::guest::validate::<$policy>);
            register_function(
                "validate_settings",
                $crate::guest::validate_settings::<$policy>,
            );
            register_function("protocol_version", $crate::guest::protocol_version);
        }
    };
}
