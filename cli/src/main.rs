//! `scaleguard`: run, annotate, publish and describe scaleguard's Kubewarden policy modules, as `kwctl` does.
#![forbid(unsafe_code)]

mod annotate;
mod artifacthub;
mod check;
mod convert;
mod documents;
mod inspect;
mod modules;
mod oci;
mod run;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "scaleguard",
    version,
    about = "Keep NVIDIA Dynamo autoscaling safe"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// One variant per subcommand; each module holds its arguments and its `run`.
#[derive(Subcommand)]
enum Command {
    /// Evaluate one admission request with a policy and print the AdmissionResponse.
    Run(run::Args),
    /// Embed a policy's metadata.yml and README into its module, as `kwctl annotate` does.
    Annotate(annotate::Args),
    /// Print the metadata embedded in an annotated module.
    Inspect(inspect::Args),
    /// Push an annotated module to an OCI registry, as `kwctl push` does.
    Push(oci::PushArgs),
    /// Pull a policy module from an OCI registry into a file.
    Pull(oci::PullArgs),
    /// Generate artifacthub-pkg.yml files from the policies' metadata.
    Artifacthub(artifacthub::Args),
    /// Run the policies over a GitOps repository's manifests, the repository serving as the cluster.
    Check(check::Args),
    /// Convert DynamoGraphDeployments and their scaling adapters between nvidia.com/v1alpha1 and v1beta1.
    Convert(convert::Args),
}

/// An error for people, on one line: its causes joined with `: `, a cause left out when the message
/// already says it (no repeated `Caused by`), Rust type names put in words.
pub fn message(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let cause = cause.to_string();
        let cause = cause.strip_prefix("Error: ").unwrap_or(&cause);
        if text.contains(cause) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(cause);
    }
    scaleguard_check::render::humanize(&text)
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Run(args) => run::run(args),
        Command::Annotate(args) => annotate::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Push(args) => oci::push(args),
        Command::Pull(args) => oci::pull(args),
        Command::Artifacthub(args) => artifacthub::run(args),
        Command::Check(args) => check::run(args),
        Command::Convert(args) => convert::run(args),
    }
}
