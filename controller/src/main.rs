//! The `scaleguard-controller` binary: `run` the controller, or print the adapter `crd`.
#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::{ArgAction, Parser, Subcommand, ValueEnum};
use futures::FutureExt;
use scaleguard_controller::lease::{LeaderElector, LeaseConfig};
use scaleguard_controller::metrics::Metrics;
use scaleguard_controller::server::{self, Readiness};
use scaleguard_controller::{Context, controller, crd_yaml};
use scaleguard_sdk::dgd::DgdVersion;
use tokio::net::TcpListener;
use tracing::info;
use tracing_subscriber::EnvFilter;

/// Creates DynamoGraphDeploymentScalingAdapters for the DGD services, components and component groups
/// that ask for one, and keeps the DGD's replicas in sync with them.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the controller.
    Run(RunArgs),
    /// Print the DynamoGraphDeploymentScalingAdapter CRD (YAML).
    Crd,
}

#[derive(clap::Args)]
struct RunArgs {
    /// Watch only this namespace (default: all namespaces).
    #[arg(long, env = "WATCH_NAMESPACE")]
    namespace: Option<String>,
    /// The Dynamo API version of DGDs and adapters.
    #[arg(long, env = "DYNAMO_API_VERSION", value_enum, default_value_t = DynamoApiVersion::Auto)]
    dynamo_api_version: DynamoApiVersion,
    /// Address of the /metrics, /healthz and /readyz endpoint.
    #[arg(long, default_value = "0.0.0.0:8080")]
    metrics_addr: SocketAddr,
    /// Log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Elect a leader on a Lease so several replicas can run; only the leader writes.
    #[arg(long, default_value_t = true, action = ArgAction::Set)]
    leader_elect: bool,
    /// Name of the leader election Lease.
    #[arg(long, default_value = "scaleguard-controller")]
    lease_name: String,
    /// Namespace of the leader election Lease.
    #[arg(long, env = "POD_NAMESPACE", default_value = "scaleguard-system")]
    lease_namespace: String,
    /// This replica's identity in the Lease and in events (default: the pod name, $HOSTNAME).
    #[arg(long, env = "POD_NAME")]
    identity: Option<String>,
    /// Seconds a Lease stays valid without renewal.
    #[arg(long, default_value_t = 15)]
    lease_duration_seconds: u64,
    /// Seconds the leader keeps leading while renewals fail.
    #[arg(long, default_value_t = 10)]
    renew_deadline_seconds: u64,
    /// Seconds between leader election rounds.
    #[arg(long, default_value_t = 2)]
    retry_period_seconds: u64,
}

/// `--dynamo-api-version`.
#[derive(Clone, Copy, ValueEnum)]
enum DynamoApiVersion {
    /// `v1beta1` where the cluster serves it (Dynamo 1.2 and later), else `v1alpha1`.
    Auto,
    /// `nvidia.com/v1beta1`.
    #[value(name = "v1beta1")]
    V1beta1,
    /// `nvidia.com/v1alpha1`.
    #[value(name = "v1alpha1")]
    V1alpha1,
}

impl DynamoApiVersion {
    /// The version asked for; `None` to ask the cluster.
    fn requested(self) -> Option<DgdVersion> {
        match self {
            Self::Auto => None,
            Self::V1beta1 => Some(DgdVersion::V1beta1),
            Self::V1alpha1 => Some(DgdVersion::V1alpha1),
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Crd => {
            print!("{}", crd_yaml());
            Ok(())
        }
        Command::Run(args) => run(args).await,
    }
}

async fn run(args: RunArgs) -> anyhow::Result<()> {
    init_tracing(args.log_format);
    let identity = args
        .identity
        .clone()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| format!("scaleguard-controller-{}", std::process::id()));
    let client = kube::Client::try_default()
        .await
        .context("no Kubernetes client configuration (in-cluster or kubeconfig)")?;
    let metrics = Arc::new(Metrics::default());
    let readiness = Readiness::default();
    let listener = TcpListener::bind(args.metrics_addr)
        .await
        .with_context(|| format!("cannot listen on {}", args.metrics_addr))?;
    tokio::spawn(server::serve(listener, metrics.clone(), readiness.clone()));
    let version = client
        .apiserver_version()
        .await
        .context("cannot reach the Kubernetes API server")?;
    info!(%identity, server = version.git_version, "connected");
    let api_version = controller::api_version(&client, args.dynamo_api_version.requested())
        .await
        .context("cannot discover the Dynamo API version")?;
    info!(%api_version, "speaking the Dynamo API");
    readiness.set_ready();

    let ctx = Context::new(client.clone(), metrics.clone(), identity.clone())
        .with_api_version(api_version);
    let ctx = Arc::new(ctx);
    let shutdown = shutdown_signal().shared();
    let namespace = args.namespace.as_deref();
    if !args.leader_elect {
        metrics.set_leader(true);
        controller::run(ctx, namespace, shutdown).await;
        return Ok(());
    }

    let config = LeaseConfig {
        name: args.lease_name,
        namespace: args.lease_namespace,
        identity,
        lease_duration: Duration::from_secs(args.lease_duration_seconds),
        renew_deadline: Duration::from_secs(args.renew_deadline_seconds),
        retry_period: Duration::from_secs(args.retry_period_seconds),
    };
    // Lost: another replica may be writing already; exiting makes the Deployment restart us as a standby.
    LeaderElector::new(client, config)
        .lead(&metrics, shutdown, |shutdown| {
            controller::run(ctx, namespace, shutdown)
        })
        .await?;
    info!("stopped");
    Ok(())
}

fn init_tracing(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}

/// Resolves on SIGTERM (Kubernetes stopping the pod) or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing a SIGTERM handler cannot fail");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
