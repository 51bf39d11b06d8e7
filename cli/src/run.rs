//! `scaleguard run`: evaluate one admission request with a policy module, like `kwctl run`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, Result, bail};
use scaleguard_host::admission::{AdmissionResponse, unwrap_review};
use scaleguard_host::{InMemoryCluster, PolicyModule};
use serde_json::Value;

use crate::documents::{read_document, read_documents};

/// Arguments of `scaleguard run`.
#[derive(clap::Args)]
pub struct Args {
    /// A policy name (looked up in --policies-dir) or a path to a .wasm module.
    #[arg(long)]
    policy: String,
    /// The request: YAML or JSON, a bare AdmissionRequest or a whole AdmissionReview.
    #[arg(long)]
    request: PathBuf,
    /// Settings: a YAML/JSON file, or inline JSON.
    #[arg(long)]
    settings: Option<String>,
    /// Objects the policy's cluster look-ups see (multi-document YAML or JSON).
    #[arg(long)]
    cluster: Option<PathBuf>,
    /// More `(apiVersion/kind)` pairs the policy may look up, e.g.
    /// `nvidia.com/v1beta1/DynamoGraphDeployment`, beside the `contextAwareResources` of an annotated
    /// module's metadata, which are granted by default (as `kwctl run --allow-context-aware` grants them).
    #[arg(long = "allow-context")]
    allow_context: Vec<String>,
    /// Where policy modules named by --policy live.
    #[arg(long, env = "SCALEGUARD_POLICIES_DIR")]
    policies_dir: Option<PathBuf>,
}

/// Prints the AdmissionResponse of the request.
pub fn run(args: Args) -> Result<()> {
    let response = evaluate(&args)?;
    println!("{}", serde_json::to_string_pretty(&response)?);
    Ok(())
}

fn evaluate(args: &Args) -> Result<AdmissionResponse> {
    let module_path = module_path(&args.policy, args.policies_dir.clone())?;
    let granted = args
        .allow_context
        .iter()
        .map(|pair| {
            pair.rsplit_once('/')
                .map(|(api_version, kind)| (api_version.to_owned(), kind.to_owned()))
                .with_context(|| format!("--allow-context {pair}: expected <apiVersion>/<kind>"))
        })
        .collect::<Result<Vec<_>>>()?;
    let module = PolicyModule::load(&module_path)?;
    let declared = module
        .metadata()
        .map(|metadata| metadata.granted())
        .unwrap_or_default();
    let module = module.with_context_aware_resources(declared.into_iter().chain(granted));
    let request = unwrap_review(read_document(&args.request)?);
    let settings = match args.settings.as_deref() {
        None => Value::Null,
        Some(text) if Path::new(text).is_file() => read_document(Path::new(text))?,
        Some(text) => serde_json::from_str(text)
            .with_context(|| format!("--settings {text}: neither a file nor JSON"))?,
    };
    let objects = match &args.cluster {
        Some(path) => read_documents(path)?,
        None => Vec::new(),
    };
    let mut instance = module.instantiate(Arc::new(InMemoryCluster::from_objects(objects)))?;
    let response = instance.evaluate(&request, &settings);
    let uid = request.get("uid").and_then(Value::as_str).unwrap_or("");
    let object = request.get("object").unwrap_or(&Value::Null);
    Ok(AdmissionResponse::new(uid, object, &response))
}

/// `policy` as a path, or `<dir>/<policy>.wasm` in the policies folder: `--policies-dir`, else
/// `target/policies` here, else `../policies` beside the binary (`target/release/../policies`).
fn module_path(policy: &str, policies_dir: Option<PathBuf>) -> Result<PathBuf> {
    if policy.ends_with(".wasm") || policy.contains('/') {
        return Ok(PathBuf::from(policy));
    }
    let beside_binary = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent()?.parent().map(|dir| dir.join("policies")));
    let candidates = policies_dir
        .into_iter()
        .chain([PathBuf::from("target/policies")])
        .chain(beside_binary);
    for dir in candidates {
        let path = dir.join(format!("{policy}.wasm"));
        if path.is_file() {
            return Ok(path);
        }
    }
    bail!("policy module {policy}.wasm not found: run `make policies` or pass --policies-dir")
}
