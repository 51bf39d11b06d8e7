//! `scaleguard check`: run the policies over the manifests of a GitOps repository, the repository
//! serving as the cluster. The engine is `scaleguard-check`; this module turns flags into its inputs.

use std::collections::BTreeMap;
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context as _, Result, bail};
use scaleguard_check::render::{self, HumanStyle};
use scaleguard_check::report::EXIT_ERRORS;
use scaleguard_check::wasm::{WasmPolicy, compile_all, read_directory, read_module};
use scaleguard_check::{
    Check, ConfiguredPolicy, Report, engine, fs, git, parallel, request, settings,
};
use serde_json::Value;

use crate::documents::read_document;

/// Inputs from which a progress indicator is shown on a terminal.
const PROGRESS_FROM: usize = 500;

/// Report formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// Findings grouped by file, for people.
    Human,
    /// One flat record per (document, policy) evaluated, a summary and the input errors.
    Json,
    /// JUnit XML for CI systems: a test suite per file, a test case per evaluation.
    Junit,
}

/// Arguments of `scaleguard check`.
#[derive(clap::Args)]
pub struct Args {
    /// Files and directories to check (directories recursively: .yaml, .yml, .json); `-` reads stdin.
    #[arg(default_value = ".")]
    paths: Vec<String>,
    /// Namespace of objects that set none, as `kubectl apply` would give them.
    #[arg(short, long, default_value = "default")]
    namespace: String,
    /// Review objects that also exist at this git ref as UPDATEs from their version there.
    #[arg(long, value_name = "GIT_REF")]
    against: Option<String>,
    /// The user the requests come from.
    #[arg(long, default_value = request::DEFAULT_USER)]
    user: String,
    /// A group of that user (repeatable); `system:authenticated` is always added.
    #[arg(long = "group", value_name = "GROUP")]
    groups: Vec<String>,
    /// Run every module of this directory (default: the modules built into the binary, else
    /// target/policies).
    #[arg(long, env = "SCALEGUARD_POLICIES_DIR", value_name = "DIR")]
    policies: Option<PathBuf>,
    /// A policy to run (repeatable): a name among the policies, a .wasm file, or
    /// registry://<registry>/<repository>@sha256:<digest>.
    #[arg(long = "policy", value_name = "POLICY")]
    policy: Vec<String>,
    /// Settings of one policy (repeatable): <policy>=<YAML or JSON file>.
    #[arg(long = "settings", value_name = "POLICY=FILE")]
    settings: Vec<String>,
    /// Take policy settings from the ClusterAdmissionPolicy manifests among the inputs.
    #[arg(long)]
    use_cluster_policies: bool,
    /// Report format.
    #[arg(short, long, value_enum, default_value = "human")]
    output: Output,
    /// Warnings fail the check too.
    #[arg(long)]
    strict: bool,
    /// Also list the evaluations that allowed without warnings (human report).
    #[arg(short, long)]
    verbose: bool,
    /// Evaluation threads (default: one per core).
    #[arg(short = 'j', long)]
    jobs: Option<usize>,
    /// Directory of wasmtime's compilation cache, so later runs load the compiled modules instead of
    /// compiling them again (default: $XDG_CACHE_HOME/scaleguard/modules, else
    /// ~/.cache/scaleguard/modules).
    #[arg(long, env = "SCALEGUARD_MODULE_CACHE", value_name = "DIR")]
    module_cache: Option<PathBuf>,
    /// Compile every module afresh; read and write no cache.
    #[arg(long, conflicts_with = "module_cache")]
    no_module_cache: bool,
}

/// Runs the check and exits: 0 when everything is allowed, 1 when anything is denied (or warned, with
/// `--strict`), 2 for usage or input errors.
pub fn run(args: Args) -> Result<()> {
    let code = match check(&args) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            EXIT_ERRORS
        }
    };
    std::process::exit(i32::from(code))
}

fn check(args: &Args) -> Result<u8> {
    turn_module_cache_on(args);
    let policies = load_policies(args)?;
    let inputs = fs::read_paths(&args.paths, &args.namespace, &mut std::io::stdin().lock());
    let configured = configure(args, &policies, &inputs.parsed.documents)?;
    engine::validate_settings(&configured)
        .map_err(|errors| anyhow::anyhow!("invalid settings:\n  {}", errors.join("\n  ")))?;
    let previous = match &args.against {
        Some(reference) => {
            git::objects_at(reference, &args.paths, &args.namespace).map_err(anyhow::Error::msg)?
        }
        None => BTreeMap::new(),
    };
    let documents = &inputs.parsed.documents;
    let user = request::user(&args.user, &args.groups);
    let check = Check::new(documents, &previous, &configured, user);
    let threads = args
        .jobs
        .unwrap_or_else(|| parallel::threads_for(documents.len()));
    let progress = Progress::new(documents.len());
    let records = parallel::run(&check, threads, &|done, total| progress.show(done, total))
        .map_err(anyhow::Error::msg)?;
    progress.finish();
    let report = Report::new(inputs.files, documents.len(), records, inputs.parsed.errors);
    let text = match args.output {
        Output::Human => render::human(
            &report,
            HumanStyle {
                colour: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
                verbose: args.verbose,
                strict: args.strict,
            },
        ),
        Output::Json => report.to_json() + "\n",
        Output::Junit => render::junit(&report, args.strict),
    };
    print!("{text}");
    Ok(report.exit_code(args.strict))
}

/// Turns wasmtime's compilation cache on, unless `--no-module-cache`. The cache only saves time: when
/// it cannot be used (no home directory, a read-only one), the modules are compiled, with a warning.
fn turn_module_cache_on(args: &Args) {
    if args.no_module_cache {
        return;
    }
    let directory = args.module_cache.clone().or_else(|| {
        let cache_home = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))?;
        Some(cache_home.join("scaleguard").join("modules"))
    });
    if let Some(directory) = directory
        && let Err(error) = scaleguard_host::use_module_cache(&directory)
    {
        eprintln!("warning: compiling without a module cache: {error}");
    }
}

/// The policies to run: `--policy` files and registry references, plus the policies named by `--policy`
/// (or all, when none is named and no file is given) from `--policies`, the embedded modules, or
/// target/policies.
fn load_policies(args: &Args) -> Result<Vec<WasmPolicy>> {
    let (names, references): (Vec<&String>, Vec<&String>) = args
        .policy
        .iter()
        .partition(|policy| !policy.ends_with(".wasm") && !policy.contains('/'));
    let mut modules = Vec::new();
    if !names.is_empty() || references.is_empty() {
        let available = available_modules(args.policies.as_deref())?;
        if names.is_empty() {
            modules = available;
        } else {
            for name in names {
                let Some(module) = available.iter().find(|(n, _)| n == name) else {
                    let known: Vec<&str> = available.iter().map(|(n, _)| n.as_str()).collect();
                    bail!(
                        "--policy {name}: no such policy (known: {})",
                        known.join(", ")
                    );
                };
                modules.push(module.clone());
            }
        }
    }
    for reference in references {
        modules.push(if reference.starts_with("registry://") {
            pull(reference)?
        } else {
            read_module(Path::new(reference)).map_err(anyhow::Error::msg)?
        });
    }
    compile_all(modules).map_err(|errors| anyhow::anyhow!("{}", errors.join("\n")))
}

/// The modules of `--policies`, else the embedded ones, else those of target/policies here or beside
/// the binary (`target/debug/../policies`).
fn available_modules(directory: Option<&Path>) -> Result<Vec<(String, Vec<u8>)>> {
    if let Some(directory) = directory {
        return read_directory(directory).map_err(anyhow::Error::msg);
    }
    #[cfg(feature = "embedded-policies")]
    return Ok(scaleguard_check::embedded::modules());
    #[cfg(not(feature = "embedded-policies"))]
    {
        let beside_binary = std::env::current_exe()
            .ok()
            .and_then(|exe| Some(exe.parent()?.parent()?.join("policies")));
        let candidates = [PathBuf::from("target/policies")]
            .into_iter()
            .chain(beside_binary);
        for directory in candidates {
            if directory.is_dir() {
                return read_directory(&directory).map_err(anyhow::Error::msg);
            }
        }
        bail!("no policy modules: run `make policies`, or pass --policies DIR or --policy")
    }
}

/// Pulls a module as `scaleguard pull` does (the same binary, so the same client, credentials and
/// checks), into a temporary file; `(name, bytes)`, named by the reference's repository.
fn pull(reference: &str) -> Result<(String, Vec<u8>)> {
    let name = settings::policy_name_of_module(reference).to_owned();
    let file = std::env::temp_dir().join(format!(
        "scaleguard-check-{}-{name}.wasm",
        std::process::id()
    ));
    let output = Command::new(std::env::current_exe()?)
        .args(["pull", reference, "--output"])
        .arg(&file)
        .stdin(Stdio::null())
        .output()
        .context("cannot run scaleguard pull")?;
    let bytes = std::fs::read(&file);
    let _ = std::fs::remove_file(&file);
    if !output.status.success() {
        bail!(
            "--policy {reference}: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok((
        name,
        bytes.with_context(|| format!("--policy {reference}"))?,
    ))
}

/// Each policy with its settings: from a ClusterAdmissionPolicy among the inputs
/// (`--use-cluster-policies`), overridden by `--settings`.
fn configure<'p>(
    args: &Args,
    policies: &'p [WasmPolicy],
    documents: &[scaleguard_check::Document],
) -> Result<Vec<ConfiguredPolicy<'p>>> {
    use scaleguard_check::Policy as _;
    let mut chosen: BTreeMap<String, Value> = BTreeMap::new();
    if args.use_cluster_policies {
        for (name, (value, _)) in settings::cluster_policy_settings(documents) {
            chosen.insert(name, value);
        }
    }
    for setting in &args.settings {
        let Some((name, file)) = setting.split_once('=') else {
            bail!("--settings {setting}: expected <policy>=<file>");
        };
        if !policies.iter().any(|p| p.name() == name) {
            bail!("--settings {setting}: no policy {name} is run");
        }
        chosen.insert(
            name.to_owned(),
            read_document(Path::new(file)).with_context(|| format!("--settings {setting}"))?,
        );
    }
    Ok(policies
        .iter()
        .map(|policy| ConfiguredPolicy {
            policy,
            settings: chosen.get(policy.name()).cloned().unwrap_or(Value::Null),
        })
        .collect())
}

/// `checked 3500/10000 objects` on stderr, for large inputs on a terminal.
struct Progress {
    shown: bool,
    last_percent: AtomicUsize,
}

impl Progress {
    fn new(total: usize) -> Self {
        Self {
            shown: total >= PROGRESS_FROM && std::io::stderr().is_terminal(),
            last_percent: AtomicUsize::new(0),
        }
    }

    fn show(&self, done: usize, total: usize) {
        if !self.shown {
            return;
        }
        let percent = done * 100 / total.max(1);
        if self.last_percent.swap(percent, Ordering::Relaxed) != percent {
            eprint!("\rchecked {done}/{total} objects ({percent}%)");
        }
    }

    fn finish(&self) {
        if self.shown {
            eprint!("\r\x1b[2K");
        }
    }
}
