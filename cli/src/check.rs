//! `scaleguard check`: run the policies over the manifests of a GitOps repository, the repository
//! serving as the cluster. The engine is `scaleguard-check`; this module turns flags into its inputs.

use std::collections::{BTreeMap, HashMap};
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Result, bail};
use scaleguard_check::RunnablePolicy as _;
use scaleguard_check::hint::GITOPS_REPLICAS;
use scaleguard_check::locate::Sources;
use scaleguard_check::render::{self, HumanStyle};
use scaleguard_check::report::{EXIT_ERRORS, PolicyMode, Tally};
use scaleguard_check::spool::{self, Spool};
use scaleguard_check::wasm::{WasmPolicy, compile_all};
use scaleguard_check::{
    ConfiguredPolicy, Record, Report, engine, fs, git, instances, parallel, request, settings,
};
use serde_json::Value;

use crate::documents::read_document;
use crate::modules;

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
    /// SARIF 2.1.0 for code scanning: a rule per policy, a result per denial, warning and input error.
    Sarif,
    /// GitHub Actions workflow commands: an annotation per denial, warning and input error.
    Github,
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
    #[command(flatten)]
    modules: crate::modules::ModuleArgs,
    /// A policy to run (repeatable): a name among the policies of --policies (or `gitops-replicas`, the
    /// GitOps hint), a .wasm file, or registry://<registry>/<repository>[:<tag>|@sha256:<digest>].
    /// Default: every policy of --policies.
    #[arg(long = "policy", value_name = "POLICY")]
    policy: Vec<String>,
    /// A policy not to run (repeatable), e.g. `gitops-replicas`.
    #[arg(long = "skip", value_name = "POLICY")]
    skip: Vec<String>,
    /// Settings of one policy (repeatable): <policy>=<YAML or JSON file, or inline JSON>.
    #[arg(long = "settings", value_name = "POLICY=SETTINGS")]
    settings: Vec<String>,
    /// Leave out of directory walks the paths this pattern matches (repeatable; gitignore syntax,
    /// relative to the current directory), beside those of `.scaleguardignore` files.
    #[arg(long = "exclude", value_name = "GLOB")]
    exclude: Vec<String>,
    /// Succeed when there is nothing to check (no Kubernetes object in the inputs).
    #[arg(long)]
    allow_empty: bool,
    /// Decide as the cluster's own policy configuration would: every ClusterAdmissionPolicy,
    /// AdmissionPolicy and policy group among the inputs is a policy instance, run with its settings,
    /// rules, selectors, matchConditions and mode; a module with no instance does not run.
    #[arg(long)]
    use_cluster_policies: bool,
    /// Files and directories holding the cluster's policy and Namespace manifests, kept apart from the
    /// workloads (repeatable); implies --use-cluster-policies. They are read, not checked.
    #[arg(long = "cluster-policies", value_name = "PATH")]
    cluster_policies: Vec<String>,
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
    /// Compile every module afresh; read and write no cache (overrides --module-cache and
    /// $SCALEGUARD_MODULE_CACHE).
    #[arg(long)]
    no_module_cache: bool,
}

/// Runs the check and exits: 0 when everything is allowed, 1 when anything is denied (or warned, with
/// `--strict`), 2 for usage or input errors.
pub fn run(args: Args) -> Result<()> {
    let code = match check(&args) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {}", crate::message(&error));
            EXIT_ERRORS
        }
    };
    std::process::exit(i32::from(code))
}

fn check(args: &Args) -> Result<u8> {
    turn_module_cache_on(args);
    let (policies, hint) = load_policies(args)?;
    let selection = fs::Selection {
        excludes: args.exclude.clone(),
    };
    let with_instances = args.use_cluster_policies || !args.cluster_policies.is_empty();
    // The objects go to the spool as they are read; only the cluster's configuration (its policies and
    // Namespaces) is kept beside them.
    let mut spool = Spool::new().map_err(|error| {
        anyhow::anyhow!("cannot create the temporary file the objects are spooled to: {error}")
    })?;
    let mut spool_error = None;
    let mut configuration = Vec::new();
    let inputs = fs::read_selected_each(
        &args.paths,
        &args.namespace,
        &mut std::io::stdin().lock(),
        &selection,
        &mut |document| {
            if with_instances && instances::configures_the_cluster(&document) {
                configuration.push(document.clone());
            }
            if let Err(error) = spool.push(&document) {
                spool_error.get_or_insert(error);
            }
        },
    )
    .map_err(anyhow::Error::msg)?;
    if let Some(error) = spool_error {
        bail!("cannot spool the objects to a temporary file: {error}");
    }
    let mut input_errors = inputs.parsed.errors;
    let cluster = if with_instances {
        let mut cluster_documents = configuration;
        if !args.cluster_policies.is_empty() {
            let apart = fs::read_selected(
                &args.cluster_policies,
                &args.namespace,
                &mut std::io::empty(),
                &selection,
            )
            .map_err(anyhow::Error::msg)?;
            input_errors.extend(apart.parsed.errors);
            cluster_documents.extend(apart.parsed.documents);
        }
        let (found, errors) = instances::find(&cluster_documents);
        input_errors.extend(errors);
        Some((found, cluster_documents))
    } else {
        None
    };
    let (configured, instances, hint_settings) = match cluster {
        Some((found, cluster_documents)) => {
            let (configured, instances, hint_settings) =
                configure_instances(args, &policies, hint, found, &cluster_documents)?;
            (configured, Some(instances), hint_settings)
        }
        None => {
            let (configured, hint_settings) = configure(args, &policies, hint)?;
            (configured, None, hint_settings)
        }
    };
    let hint = match hint_settings {
        Some(settings) => Some(HintSettings::from_value(&settings)?),
        None => None,
    };
    let settings_checked = match &instances {
        Some(instances) => validate_instance_settings(instances, &policies),
        None => engine::validate_settings(&configured),
    };
    settings_checked.map_err(|errors| {
        let errors: Vec<String> = errors
            .iter()
            .map(|error| render::humanize(&error.replacen(": invalid settings: ", ": ", 1)))
            .collect();
        anyhow::anyhow!("invalid settings:\n  {}", errors.join("\n  "))
    })?;
    let previous = match &args.against {
        Some(reference) => git::objects_at(reference, &args.paths, &args.namespace, &selection)
            .map_err(anyhow::Error::msg)?,
        None => BTreeMap::new(),
    };
    let documents = spool.len();
    let user = request::user(&args.user, &args.groups);
    let threads = args
        .jobs
        .unwrap_or_else(|| parallel::threads_for(documents));
    let progress = Progress::new(documents);
    // Every evaluation is held only for the reports that list them all.
    let mut tally = Tally::new(matches!(args.output, Output::Json | Output::Junit) || args.verbose);
    let mut unselected = Vec::new();
    let setup = spool::Setup {
        previous: &previous,
        policies: &configured,
        user_info: &user,
        instances: instances.as_ref(),
    };
    spool
        .review(
            setup,
            threads,
            &|done, total| progress.show(done, total),
            &mut |records, found| {
                tally.add(apply_hint_settings(records, hint));
                unselected.extend(found);
            },
        )
        .map_err(anyhow::Error::msg)?;
    progress.finish();
    // Back in input order: the spool reviews namespace by namespace.
    tally.sort_by_key(|record| (spool.file_position(&record.file), record.index));
    unselected.sort_by_key(|object| (spool.file_position(&object.file), object.index));
    let mut report = Report::of_tally(inputs.files, documents, tally, input_errors)
        .with_skipped(inputs.parsed.skipped);
    if instances.is_some() {
        report = report.with_unselected(unselected);
    }
    // The files with findings, read again to find the line of the field each finding names.
    let sources = || Sources::read(&report, |file| std::fs::read_to_string(file).ok());
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
        Output::Sarif => render::sarif(
            &report,
            &sarif_driver(&policies, instances.as_ref(), hint),
            &sources(),
        ),
        Output::Github => render::github(&report, &sources()),
    };
    print!("{text}");
    if args.output != Output::Human {
        for note in render::notes(&report) {
            eprintln!("{note}");
        }
    }
    if documents == 0 && !args.allow_empty {
        eprintln!(
            "error: nothing to check: no Kubernetes object in {}{} (pass --allow-empty to succeed anyway)",
            args.paths
                .iter()
                .map(|path| if path == "-" { "stdin" } else { path.as_str() })
                .collect::<Vec<_>>()
                .join(", "),
            match report.summary.skipped {
                0 => String::new(),
                n => format!(
                    "; {n} {} skipped, -v lists {}",
                    if n == 1 {
                        "document was"
                    } else {
                        "documents were"
                    },
                    if n == 1 { "it" } else { "them" }
                ),
            }
        );
        return Ok(EXIT_ERRORS);
    }
    Ok(report.exit_code(args.strict))
}

/// The SARIF log's tool: this CLI, and a rule per policy run, described by its module's metadata.
/// The SARIF tool: one rule per policy findings are reported under (each instance, with
/// `--use-cluster-policies`; a monitor-mode instance's findings are warnings), and the GitOps hint.
fn sarif_driver(
    policies: &[WasmPolicy],
    instances: Option<&instances::Instances>,
    hint: Option<HintSettings>,
) -> render::Driver {
    use scaleguard_check::RunnablePolicy as _;
    let rules: Vec<render::Rule> = match instances {
        None => policies
            .iter()
            .map(|policy| render::Rule::from_metadata(policy.name(), policy.metadata()))
            .collect(),
        Some(instances) => instances
            .iter()
            .map(|instance| {
                let mut rule = match &instance.action {
                    instances::Action::Policy { member, .. } => render::Rule::from_metadata(
                        &instance.name,
                        policies[instances.position(member)].metadata(),
                    ),
                    instances::Action::Group {
                        members, message, ..
                    } => render::Rule::group(&instance.name, message, members.keys()),
                };
                if instance.mode == PolicyMode::Monitor {
                    rule.level = render::Level::Warning;
                }
                rule
            })
            .collect(),
    };
    let hint = hint.map(|settings| render::Rule::gitops_replicas(settings.deny));
    render::Driver {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        information_uri: env!("CARGO_PKG_REPOSITORY").to_owned(),
        rules: rules.into_iter().chain(hint).collect(),
    }
}

/// Settings of the GitOps replicas hint: `{"deny": true}` makes its findings denials.
#[derive(Debug, Clone, Copy, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct HintSettings {
    /// Deny instead of warning.
    #[serde(default)]
    deny: bool,
}

impl HintSettings {
    fn from_value(value: &Value) -> Result<Self> {
        if value.is_null() {
            return Ok(Self::default());
        }
        serde_json::from_value(value.clone()).map_err(|error| {
            anyhow::anyhow!(
                "invalid settings:\n  policy {GITOPS_REPLICAS}: {} (its one setting is `deny`: true or false)",
                render::humanize(&error.to_string())
            )
        })
    }
}

/// The records with the GitOps hint's dropped (`hint` is `None`: not run) or, with `deny: true`, made
/// denials.
fn apply_hint_settings(records: Vec<Record>, hint: Option<HintSettings>) -> Vec<Record> {
    records
        .into_iter()
        .filter_map(|mut record| {
            if record.policy != GITOPS_REPLICAS {
                return Some(record);
            }
            let settings = hint?;
            if settings.deny {
                record.allowed = false;
                record.code = Some(400);
                record.message = Some(std::mem::take(&mut record.warnings).join("; "));
            }
            Some(record)
        })
        .collect()
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

/// The policies to run: the modules `--policy` names (names first, then files and registry
/// references), or every available module when it names none; less those of `--skip`. The GitOps hint
/// (`gitops-replicas`) is one of them: the second value says whether it runs. Running no policy at all
/// is an error.
fn load_policies(args: &Args) -> Result<(Vec<WasmPolicy>, bool)> {
    let resolver = args.modules.resolver(&[GITOPS_REPLICAS]);
    let (names, references): (Vec<&String>, Vec<&String>) = args
        .policy
        .iter()
        .partition(|policy| modules::is_name(policy));
    let mut hint = names.is_empty() && references.is_empty();
    for skipped in &args.skip {
        if skipped != GITOPS_REPLICAS
            && !resolver.available()?.iter().any(|(n, _)| n == skipped)
            && !references
                .iter()
                .any(|r| settings::policy_name_of_module(r) == skipped)
        {
            bail!(
                "--skip {skipped}: no such policy (known: {})",
                resolver.known()?
            );
        }
    }
    let mut modules = Vec::new();
    if names.is_empty() && references.is_empty() {
        modules = resolver.available()?.to_vec();
    }
    for policy in names.into_iter().chain(references) {
        if policy == GITOPS_REPLICAS {
            hint = true;
        } else {
            modules.push(resolver.resolve(policy)?);
        }
    }
    modules.retain(|(name, _)| !args.skip.contains(name));
    hint &= !args.skip.iter().any(|s| s == GITOPS_REPLICAS);
    if modules.is_empty() && !hint {
        bail!("no policy to run: every policy was skipped");
    }
    let policies =
        compile_all(modules).map_err(|errors| anyhow::anyhow!("{}", errors.join("\n")))?;
    Ok((policies, hint))
}

/// Each policy with its settings (`--settings`), and the GitOps hint's settings, when it runs.
fn configure<'p>(
    args: &Args,
    policies: &'p [WasmPolicy],
    hint: bool,
) -> Result<(Vec<ConfiguredPolicy<'p>>, Option<Value>)> {
    let mut chosen = chosen_settings(args, policies, hint)?;
    let configured = policies
        .iter()
        .map(|policy| ConfiguredPolicy {
            policy,
            settings: chosen.get(policy.name()).cloned().unwrap_or(Value::Null),
        })
        .collect();
    let hint_settings = hint.then(|| chosen.remove(GITOPS_REPLICAS).unwrap_or(Value::Null));
    Ok((configured, hint_settings))
}

/// The settings `--settings` gives, by policy name; an error names a policy that is not run.
fn chosen_settings(
    args: &Args,
    policies: &[WasmPolicy],
    hint: bool,
) -> Result<BTreeMap<String, Value>> {
    let mut chosen: BTreeMap<String, Value> = BTreeMap::new();
    for setting in &args.settings {
        let Some((name, text)) = setting.split_once('=') else {
            bail!("--settings {setting}: expected <policy>=<file or inline JSON>");
        };
        let run = policies.iter().any(|p| p.name() == name) || (hint && name == GITOPS_REPLICAS);
        if !run {
            let mut names: Vec<&str> = policies.iter().map(|p| p.name()).collect();
            if hint {
                names.push(GITOPS_REPLICAS);
            }
            bail!(
                "--settings {setting}: policy {name} is not run (run: {})",
                names.join(", ")
            );
        }
        let value = read_settings(text)
            .map_err(|error| anyhow::anyhow!("--settings {name}: {}", crate::message(&error)))?;
        chosen.insert(name.to_owned(), value);
    }
    Ok(chosen)
}

/// The policy instances that run (`--use-cluster-policies`): those whose modules are among `policies`
/// (matched by the policy name of their module reference), `--settings` replacing the settings of
/// every member running that policy; the policies they run, each once; and the GitOps hint's settings.
/// Instances of other modules are named in a note on stderr.
fn configure_instances<'p>(
    args: &Args,
    policies: &'p [WasmPolicy],
    hint: bool,
    mut found: Vec<instances::Instance>,
    cluster_documents: &[scaleguard_check::Document],
) -> Result<(
    Vec<ConfiguredPolicy<'p>>,
    instances::Instances,
    Option<Value>,
)> {
    let mut chosen = chosen_settings(args, policies, hint)?;
    for instance in &mut found {
        for (policy, value) in &chosen {
            for member in instance.members_running(policy) {
                member.settings = value.clone();
            }
        }
    }
    let mut configured: Vec<ConfiguredPolicy<'p>> = Vec::new();
    let mut modules = HashMap::new();
    for instance in &found {
        for member in instance.members() {
            let name = settings::policy_name_of_module(&member.module);
            let Some(policy) = policies.iter().find(|policy| policy.name() == name) else {
                continue;
            };
            let position = match configured.iter().position(|c| c.policy.name() == name) {
                Some(position) => position,
                None => {
                    configured.push(ConfiguredPolicy {
                        policy,
                        settings: Value::Null,
                    });
                    configured.len() - 1
                }
            };
            modules.insert(member.module.clone(), position);
        }
    }
    let (instances, unknown) = instances::Instances::new(found, modules, cluster_documents);
    if !unknown.is_empty() {
        let names: Vec<String> = unknown
            .iter()
            .map(|instance| {
                let modules: Vec<&str> = instance
                    .members()
                    .iter()
                    .map(|m| m.module.as_str())
                    .collect();
                format!("{} ({})", instance.name, modules.join(", "))
            })
            .collect();
        eprintln!(
            "note: not run, their modules are not among scaleguard's policies: {}",
            names.join(", ")
        );
    }
    for warning in ungranted_lookups(&instances, &configured) {
        eprintln!("warning: {warning}");
    }
    let hint_settings = hint.then(|| chosen.remove(GITOPS_REPLICAS).unwrap_or(Value::Null));
    Ok((configured, instances, hint_settings))
}

/// One sentence per instance member whose `contextAwareResources` leave out kinds its module looks
/// up: in the cluster those look-ups are refused, and the policy judges as if no such object existed.
fn ungranted_lookups(
    instances: &instances::Instances,
    configured: &[ConfiguredPolicy<'_>],
) -> Vec<String> {
    let mut warnings = Vec::new();
    for instance in instances.iter() {
        for member in instance.members() {
            let policy = configured[instances.position(member)].policy;
            let missing: Vec<String> = policy
                .granted()
                .difference(&member.granted)
                .map(ToString::to_string)
                .collect();
            if missing.is_empty() {
                continue;
            }
            let refused = "the cluster refuses those look-ups and the policy judges as if no such \
                           objects existed";
            let namespaced = instance.namespace.is_some();
            let (instance, missing, policy) = (&instance.name, missing.join(", "), policy.name());
            warnings.push(if namespaced {
                format!(
                    "{instance}: a namespaced policy is granted no look-ups, and {policy} looks up \
                     {missing}; {refused}. Run it from a ClusterAdmissionPolicy that grants them"
                )
            } else {
                format!(
                    "{instance}: its contextAwareResources do not grant {missing}, which {policy} \
                     looks up; {refused}"
                )
            });
        }
    }
    warnings
}

/// Checks the settings of every instance's members with their policies; the errors name the instance.
fn validate_instance_settings(
    instances: &instances::Instances,
    policies: &[WasmPolicy],
) -> std::result::Result<(), Vec<String>> {
    let mut errors = Vec::new();
    for instance in instances.iter() {
        for member in instance.members() {
            let name = settings::policy_name_of_module(&member.module);
            let Some(policy) = policies.iter().find(|policy| policy.name() == name) else {
                continue;
            };
            let configured = [ConfiguredPolicy {
                policy,
                settings: member.settings.clone(),
            }];
            if let Err(found) = engine::validate_settings(&configured) {
                errors.extend(
                    found
                        .into_iter()
                        .map(|error| format!("{}: {error}", instance.name)),
                );
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Settings given on the command line: a YAML or JSON file, or inline JSON.
pub fn read_settings(text: &str) -> Result<Value> {
    if Path::new(text).is_file() {
        return read_document(Path::new(text));
    }
    let inline = text.trim_start();
    if inline.starts_with('{') || inline.starts_with('[') {
        return serde_json::from_str(text)
            .map_err(|error| anyhow::anyhow!("not valid inline JSON: {error}"));
    }
    bail!("{text}: no such file, and not inline JSON (`{{...}}`)")
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
