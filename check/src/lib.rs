//! `scaleguard-check`: the engine of `scaleguard check`. It runs scaleguard's admission policies over
//! the manifests of a GitOps repository, the repository itself serving as the cluster the
//! context-aware policies look at.
//!
//! * [`input`] turns a file's text into documents that know their file, index and line;
//! * [`request`] builds the CREATE (or, against a git ref, UPDATE) AdmissionRequests;
//! * [`engine`] sends each object to the policies whose rules select it, through the [`Evaluator`]
//!   trait, with the other objects of its namespace as the cluster;
//! * [`hint`] adds the GitOps replicas hint no admission policy can give;
//! * [`convert`] rewrites a file's Dynamo objects to another version of Dynamo's API (`scaleguard convert`);
//! * [`report`] and [`render`] hold the findings and render them for people, as JSON, as JUnit, as SARIF
//!   for code scanning or as GitHub workflow commands; [`locate`] places a finding on the line of the
//!   field it names.
//!
//! The core builds for any target (a browser playground runs it with the native policy functions).
//! Feature `native` adds reading files and stdin ([`fs`]), `--against` through git ([`git`]),
//! evaluation on all cores ([`parallel`]) and holding one group of namespaces at a time ([`spool`]); `wasmtime` adds the wasm policies ([`wasm`]);
//! `embedded-policies` builds the modules of `target/policies` into the library ([`embedded`]);
//! `linked-policies` links the policies' decision functions in, run natively ([`linked`]);
//! `cluster-policies` runs the cluster's own Kubewarden policy instances, with their selectors, CEL
//! `matchConditions`, modes and groups ([`instances`], [`expressions`]).
#![forbid(unsafe_code)]

pub mod convert;
pub mod engine;
pub mod hint;
pub mod input;
pub mod locate;
pub mod render;
pub mod report;
pub mod request;
pub mod settings;

#[cfg(feature = "embedded-policies")]
pub mod embedded;
#[cfg(feature = "cluster-policies")]
pub mod expressions;
#[cfg(feature = "native")]
pub mod fs;
#[cfg(feature = "native")]
pub mod git;
#[cfg(feature = "cluster-policies")]
pub mod instances;
#[cfg(feature = "linked-policies")]
pub mod linked;
#[cfg(feature = "native")]
pub mod parallel;
#[cfg(feature = "native")]
pub mod spool;
#[cfg(feature = "wasmtime")]
pub mod wasm;

pub use engine::{Check, ConfiguredPolicy, Evaluator, RunnablePolicy};
pub use input::{Document, InputError};
pub use report::{Record, Report};
