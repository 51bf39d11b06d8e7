//! `scaleguard run`: evaluate one admission request with a policy module, like `kwctl run`.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, Result, bail};
use scaleguard_host::admission::{AdmissionResponse, unwrap_review};
use scaleguard_host::{Limits, PolicyModule};
use scaleguard_in_memory_cluster::InMemoryCluster;
use scaleguard_sdk::ResourceKind;
use scaleguard_sdk::meta::api_group;
use serde_json::Value;

use crate::documents::{parse_document, read_document, read_documents};

/// Exit code: the request is allowed.
const EXIT_ALLOWED: i32 = 0;
/// Exit code: the request is denied.
const EXIT_DENIED: i32 = 1;
/// Exit code: usage or input error, invalid settings.
const EXIT_ERRORS: i32 = 2;

/// Arguments of `scaleguard run`.
#[derive(clap::Args)]
pub struct Args {
    /// The policy: a name (looked up in --policies), a .wasm file, or
    /// registry://<registry>/<repository>[:<tag>|@sha256:<digest>].
    #[arg(long)]
    policy: String,
    /// The request: YAML or JSON, a bare AdmissionRequest or a whole AdmissionReview; `-` reads stdin.
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
    #[command(flatten)]
    modules: crate::modules::ModuleArgs,
}

/// Prints the AdmissionResponse of the request and exits: 0 allowed, 1 denied, 2 for usage or input
/// errors and invalid settings.
pub fn run(args: Args) -> Result<()> {
    let code = match evaluate(&args) {
        Ok(response) => {
            println!("{}", serde_json::to_string_pretty(&response)?);
            if response.allowed {
                EXIT_ALLOWED
            } else {
                EXIT_DENIED
            }
        }
        Err(error) => {
            eprintln!("error: {}", crate::message(&error));
            EXIT_ERRORS
        }
    };
    std::process::exit(code)
}

fn evaluate(args: &Args) -> Result<AdmissionResponse> {
    let (name, bytes) = args.modules.resolver(&[]).resolve(&args.policy)?;
    let granted = args
        .allow_context
        .iter()
        .map(|pair| {
            pair.rsplit_once('/')
                .filter(|(api_version, kind)| !api_version.is_empty() && !kind.is_empty())
                .map(|(api_version, kind)| ResourceKind::new(api_version, kind))
                .with_context(|| format!("--allow-context {pair}: expected <apiVersion>/<kind>"))
        })
        .collect::<Result<Vec<_>>>()?;
    let module = PolicyModule::from_bytes(&name, &bytes, Limits::default())?;
    let declared = module
        .metadata()
        .map(|metadata| metadata.granted())
        .unwrap_or_default();
    let module = module.with_context_aware_resources(declared.into_iter().chain(granted));
    let request = read_request(&args.request)?;
    let settings = match args.settings.as_deref() {
        None => Value::Null,
        Some(text) => crate::check::read_settings(text)
            .map_err(|error| anyhow::anyhow!("--settings: {}", crate::message(&error)))?,
    };
    let objects = match &args.cluster {
        Some(path) => read_documents(path)?,
        None => Vec::new(),
    };
    report_ungranted(&module, &objects);
    let mut instance = module.instantiate(Arc::new(InMemoryCluster::from_objects(objects)))?;
    let answer = instance
        .validate_settings(serde_json::to_string(&settings)?.as_bytes())
        .with_context(|| format!("policy {}: cannot validate its settings", module.name()))?;
    if !answer.valid {
        let message = answer.message.unwrap_or_default();
        let message = message
            .strip_prefix("invalid settings: ")
            .unwrap_or(&message);
        bail!(
            "invalid settings: policy {}: {}",
            module.name(),
            scaleguard_check::render::humanize(message)
        );
    }
    let response = instance.evaluate(&request, &settings);
    let uid = request.get("uid").and_then(Value::as_str).unwrap_or("");
    let object = request.get("object").unwrap_or(&Value::Null);
    Ok(AdmissionResponse::new(uid, object, &response))
}

/// The AdmissionRequest of `path` (`-`: stdin): a bare request, or the request of an AdmissionReview. A
/// manifest is refused with a pointer to `scaleguard check`.
fn read_request(path: &Path) -> Result<Value> {
    let document = if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read the request from stdin")?;
        parse_document("--request -", &text)?
    } else {
        read_document(path)?
    };
    let name = if path == Path::new("-") {
        "stdin".to_owned()
    } else {
        path.display().to_string()
    };
    let kind = document
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    if document.get("apiVersion").is_some() && !kind.is_empty() && kind != "AdmissionReview" {
        bail!(
            "--request {name}: this is a {kind}, not an AdmissionRequest: `scaleguard check` reviews \
             manifests (`scaleguard check {name}`)"
        );
    }
    let request = unwrap_review(document);
    match request.get("operation") {
        Some(Value::String(_)) => Ok(request),
        _ if kind == "AdmissionReview" => {
            bail!("--request {name}: the AdmissionReview has no request with an operation")
        }
        _ => bail!(
            "--request {name}: not an AdmissionRequest (no `operation`); pass an AdmissionRequest or \
             an AdmissionReview"
        ),
    }
}

/// Tells on stderr which `--cluster` objects the policy cannot see: their kind was not granted.
fn report_ungranted(module: &PolicyModule, objects: &[Value]) {
    let granted = module.granted();
    let mut hidden: BTreeMap<(String, String), usize> = BTreeMap::new();
    for object in objects {
        let text = |key: &str| object.get(key).and_then(Value::as_str).unwrap_or("");
        let (api_version, kind) = (text("apiVersion"), text("kind"));
        let visible = granted
            .iter()
            .any(|granted| granted.kind == kind && granted.group() == api_group(api_version));
        if !visible {
            *hidden
                .entry((api_version.to_owned(), kind.to_owned()))
                .or_default() += 1;
        }
    }
    for ((api_version, kind), count) in hidden {
        eprintln!(
            "warning: --cluster: policy {} cannot see {count} {kind} object{} ({api_version}): the \
             kind is not among its contextAwareResources; grant it with --allow-context {api_version}/{kind}",
            module.name(),
            if count == 1 { "" } else { "s" }
        );
    }
}
