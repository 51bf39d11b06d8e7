//! `scaleguard run`: evaluate one admission request with a policy module, like `kwctl run`.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, Result, bail};
use scaleguard_host::PolicyModule;
use scaleguard_host::admission::{AdmissionResponse, unwrap_review};
use scaleguard_in_memory_cluster::InMemoryCluster;
use scaleguard_sdk::ResourceKind;
use scaleguard_sdk::meta::api_group;
use serde_json::Value;

use crate::documents::{read_document, read_documents};

/// Exit code: the request is allowed.
const EXIT_ALLOWED: i32 = 0;
/// Exit code: the request is denied.
const EXIT_DENIED: i32 = 1;
/// Exit code: usage or input error, invalid settings.
const EXIT_ERRORS: i32 = 2;

/// Arguments of `scaleguard run`.
#[derive(clap::Args)]
pub struct Args {
    /// A policy name (looked up in --policies) or a path to a .wasm module.
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
    /// The folder of the policy modules named by --policy (default: target/policies, here or beside
    /// the binary). A folder without the module is an error.
    #[arg(
        long,
        alias = "policies-dir",
        env = "SCALEGUARD_POLICIES_DIR",
        value_name = "DIR"
    )]
    policies: Option<PathBuf>,
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
    let module_path = module_path(&args.policy, args.policies.as_deref())?;
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
    let module = load_module(&module_path)?;
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

/// The module at `path`; a file that is not WebAssembly is said to be so in words.
pub fn load_module(path: &Path) -> Result<PolicyModule> {
    not_wasm(path)?;
    Ok(PolicyModule::load(path)?)
}

/// An error unless `path` starts with WebAssembly's magic bytes.
pub fn not_wasm(path: &Path) -> Result<()> {
    let mut magic = [0_u8; 4];
    let read = std::fs::File::open(path)
        .and_then(|mut file| file.read(&mut magic))
        .with_context(|| format!("cannot read {}", path.display()))?;
    if read < 4 || &magic != b"\0asm" {
        bail!(
            "{} is not a WebAssembly module (a policy module is a .wasm file, as `make policies` builds \
             them into target/policies)",
            path.display()
        );
    }
    Ok(())
}

/// The AdmissionRequest of `path` (`-`: stdin): a bare request, or the request of an AdmissionReview. A
/// manifest is refused with a pointer to `scaleguard check`.
fn read_request(path: &Path) -> Result<Value> {
    let document = if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read the request from stdin")?;
        serde_yaml_ng::from_str(&text).context("--request -: not YAML or JSON")?
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

/// `policy` as a path, or `<dir>/<policy>.wasm` in the policies folder: `--policies` (only there),
/// else `target/policies` here, else `../policies` beside the binary (`target/release/../policies`).
fn module_path(policy: &str, policies: Option<&Path>) -> Result<PathBuf> {
    if policy.ends_with(".wasm") || policy.contains('/') {
        return Ok(PathBuf::from(policy));
    }
    let candidates: Vec<PathBuf> = match policies {
        Some(directory) => vec![directory.to_path_buf()],
        None => {
            let beside_binary = std::env::current_exe()
                .ok()
                .and_then(|exe| exe.parent()?.parent().map(|dir| dir.join("policies")));
            [PathBuf::from("target/policies")]
                .into_iter()
                .chain(beside_binary)
                .filter(|dir| dir.is_dir())
                .collect()
        }
    };
    let mut known = Vec::new();
    for dir in &candidates {
        let path = dir.join(format!("{policy}.wasm"));
        if path.is_file() {
            return Ok(path);
        }
        known.extend(module_names(dir));
    }
    known.sort();
    known.dedup();
    match (policies, known.is_empty()) {
        (Some(directory), true) => bail!(
            "no policy modules (.wasm files) in {} (named by --policies or $SCALEGUARD_POLICIES_DIR)",
            directory.display()
        ),
        (None, true) => bail!(
            "policy module {policy}.wasm not found: run `make policies`, or pass --policies DIR or a .wasm file"
        ),
        (_, false) => bail!(
            "--policy {policy}: no such policy (known: {})",
            known.join(", ")
        ),
    }
}

/// The names of the `.wasm` modules in `directory`.
fn module_names(directory: &Path) -> Vec<String> {
    std::fs::read_dir(directory)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "wasm"))
        .filter_map(|path| Some(path.file_stem()?.to_string_lossy().into_owned()))
        .collect()
}
