//! `scaleguard artifacthub`: each policy's `artifacthub-pkg.yml`, generated from its `metadata.yml`,
//! README, `questions-ui.yml` and ClusterAdmissionPolicy, as `kwctl scaffold artifacthub` generates it.
//! `createdAt` comes from a pinned release date, so regenerating gives the same bytes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use scaleguard_metadata::PolicyMetadata;
use serde::Serialize;

use crate::annotate::crate_version;

/// Arguments of `scaleguard artifacthub`.
#[derive(clap::Args)]
pub struct Args {
    /// Policy source folders (each with metadata.yml, README.md, Cargo.toml, optional questions-ui.yml).
    #[arg(required = true)]
    policy_dirs: Vec<PathBuf>,
    /// Release date (`createdAt`) of every published policy version: `<policy>: {<version>: <RFC 3339>}`.
    #[arg(long, default_value = "artifacthub/release-dates.yml")]
    release_dates: PathBuf,
    /// Where each policy's ClusterAdmissionPolicy lives, as `<policy>.yaml` (the `install` section).
    #[arg(long, default_value = "deploy/policies/base")]
    manifests_dir: PathBuf,
    /// Output folder: files go to `<output-dir>/<policy>/artifacthub-pkg.yml`.
    #[arg(long, default_value = "artifacthub")]
    output_dir: PathBuf,
    /// Write nothing; fail if a checked-in file differs from what would be generated.
    #[arg(long, conflicts_with = "pin_missing_dates")]
    check: bool,
    /// Record this RFC 3339 time in --release-dates for every policy version that has no date yet
    /// (what a release does), then generate.
    #[arg(long, value_name = "TIME")]
    pin_missing_dates: Option<String>,
}

/// The header of the release-dates file, kept when `--pin-missing-dates` rewrites it.
const RELEASE_DATES_HEADER: &str = "\
# The release date of every published policy version: `createdAt` of artifacthub/<policy>/artifacthub-pkg.yml.
# scripts/release.sh adds the entry of a new version; keep the old ones, so regenerating is reproducible.
";

/// Writes (or, with `--check`, compares) every policy's `artifacthub-pkg.yml`.
pub fn run(args: Args) -> Result<()> {
    let dates_text = std::fs::read_to_string(&args.release_dates)
        .with_context(|| format!("cannot read {}", args.release_dates.display()))?;
    let mut release_dates: BTreeMap<String, BTreeMap<String, String>> =
        serde_yaml_ng::from_str(&dates_text)
            .with_context(|| format!("{}", args.release_dates.display()))?;
    let inputs = args
        .policy_dirs
        .iter()
        .map(|policy_dir| PolicyInputs::read(policy_dir, &args.manifests_dir))
        .collect::<Result<Vec<_>>>()?;
    if let Some(time) = &args.pin_missing_dates {
        chrono::DateTime::parse_from_rfc3339(time)
            .with_context(|| format!("--pin-missing-dates {time}: not an RFC 3339 time"))?;
        for policy in &inputs {
            release_dates
                .entry(policy.name.clone())
                .or_default()
                .entry(policy.version.clone())
                .or_insert_with(|| time.clone());
        }
        let text = format!(
            "{RELEASE_DATES_HEADER}{}",
            serde_yaml_ng::to_string(&release_dates)?
        );
        std::fs::write(&args.release_dates, text)
            .with_context(|| format!("cannot write {}", args.release_dates.display()))?;
    }
    let mut stale = Vec::new();
    for inputs in &inputs {
        let created_at = release_date(&release_dates, inputs, &args.release_dates)?;
        let text = package(inputs, created_at)?;
        let path = args
            .output_dir
            .join(&inputs.name)
            .join("artifacthub-pkg.yml");
        if args.check {
            if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
                stale.push(path.display().to_string());
            }
        } else {
            std::fs::create_dir_all(path.parent().unwrap_or(Path::new(".")))
                .with_context(|| format!("cannot create {}", path.display()))?;
            std::fs::write(&path, text)
                .with_context(|| format!("cannot write {}", path.display()))?;
            println!("{}", path.display());
        }
    }
    if !stale.is_empty() {
        bail!(
            "out of date with the policies' metadata, README or manifest (regenerate with `make artifacthub`): {}",
            stale.join(", ")
        );
    }
    Ok(())
}

/// Everything one package is generated from.
struct PolicyInputs {
    /// The policy's name: its folder, its title.
    name: String,
    metadata: PolicyMetadata,
    version: String,
    readme: String,
    questions_ui: Option<String>,
    manifest: String,
}

impl PolicyInputs {
    fn read(policy_dir: &Path, manifests_dir: &Path) -> Result<Self> {
        let name = policy_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .with_context(|| format!("{}: not a policy folder", policy_dir.display()))?;
        let metadata_path = policy_dir.join("metadata.yml");
        let metadata = PolicyMetadata::load(&metadata_path)?;
        let version = crate_version(&policy_dir.join("Cargo.toml"))?;
        metadata
            .validate(Some(&version))
            .map_err(|e| anyhow::anyhow!("{}: {e}", metadata_path.display()))?;
        if metadata.title() != Some(name.as_str()) {
            bail!(
                "{}: io.kubewarden.policy.title must be the folder name {name}",
                metadata_path.display()
            );
        }
        let read = |path: PathBuf| {
            std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))
        };
        let questions_path = policy_dir.join("questions-ui.yml");
        let questions_ui = match questions_path.exists() {
            true => Some(read(questions_path)?),
            false => None,
        };
        Ok(Self {
            readme: read(policy_dir.join("README.md"))?,
            manifest: read(manifests_dir.join(format!("{name}.yaml")))?,
            name,
            metadata,
            version,
            questions_ui,
        })
    }

    fn annotation(&self, key: &str) -> String {
        self.metadata.annotation(key).unwrap_or_default().to_owned()
    }
}

/// `createdAt` of the policy's version, checked to be an RFC 3339 time.
fn release_date<'a>(
    release_dates: &'a BTreeMap<String, BTreeMap<String, String>>,
    inputs: &PolicyInputs,
    file: &Path,
) -> Result<&'a str> {
    let Some(date) = release_dates
        .get(&inputs.name)
        .and_then(|versions| versions.get(&inputs.version))
    else {
        bail!(
            "{} has no release date for {} {}: add `{}: {{\"{}\": <RFC 3339 time>}}` (scripts/release.sh does)",
            file.display(),
            inputs.name,
            inputs.version,
            inputs.name,
            inputs.version
        );
    };
    chrono::DateTime::parse_from_rfc3339(date).with_context(|| {
        format!(
            "{}: {}.{}: '{date}' is not an RFC 3339 time",
            file.display(),
            inputs.name,
            inputs.version
        )
    })?;
    Ok(date)
}

/// One `artifacthub-pkg.yml`, fields in the order of Artifact Hub's reference file.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Package<'a> {
    version: &'a str,
    name: &'a str,
    display_name: String,
    created_at: &'a str,
    description: String,
    license: String,
    #[serde(rename = "homeURL")]
    home_url: String,
    containers_images: [ContainerImage; 1],
    keywords: Vec<String>,
    links: Vec<Link>,
    install: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    maintainers: Vec<Maintainer>,
    provider: Provider,
    recommendations: [Recommendation; 1],
    annotations: BTreeMap<&'static str, String>,
    readme: &'a str,
}

#[derive(Serialize)]
struct ContainerImage {
    name: &'static str,
    image: String,
}

#[derive(Serialize)]
struct Link {
    name: &'static str,
    url: String,
}

#[derive(Serialize)]
struct Maintainer {
    name: String,
    email: String,
}

#[derive(Serialize)]
struct Provider {
    name: &'static str,
}

#[derive(Serialize)]
struct Recommendation {
    url: &'static str,
}

/// The text of `artifacthub-pkg.yml`.
fn package(inputs: &PolicyInputs, created_at: &str) -> Result<String> {
    let name = inputs.name.as_str();
    let version = inputs.version.as_str();
    let oci_url = inputs.annotation("io.kubewarden.policy.ociUrl");
    let source = inputs.annotation("io.kubewarden.policy.source");
    let tag = format!("{name}/v{version}");
    let mut links = Vec::new();
    if source.starts_with("https://github.com/") {
        links.push(Link {
            name: "policy",
            url: format!(
                "{}/releases/download/{}/policy.wasm",
                source.trim_end_matches('/'),
                tag.replace('/', "%2F")
            ),
        });
    }
    links.push(Link {
        name: "source",
        url: source.clone(),
    });
    let mut annotations = BTreeMap::from([
        ("kubewarden/mutation", inputs.metadata.mutating.to_string()),
        (
            "kubewarden/resources",
            inputs.annotation("io.artifacthub.resources"),
        ),
        (
            "kubewarden/rules",
            serde_yaml_ng::to_string(&inputs.metadata.rules)?,
        ),
    ]);
    if !inputs.metadata.context_aware_resources.is_empty() {
        annotations.insert(
            "kubewarden/contextAwareResources",
            serde_yaml_ng::to_string(&inputs.metadata.context_aware_resources)?,
        );
    }
    if let Some(questions) = &inputs.questions_ui {
        annotations.insert("kubewarden/questions-ui", questions.clone());
    }
    let package = Package {
        version,
        name,
        display_name: inputs.annotation("io.artifacthub.displayName"),
        created_at,
        description: inputs.annotation("io.kubewarden.policy.description"),
        license: inputs.annotation("io.kubewarden.policy.license"),
        home_url: inputs.annotation("io.kubewarden.policy.url"),
        containers_images: [ContainerImage {
            name: "policy",
            image: format!("{oci_url}:v{version}"),
        }],
        keywords: inputs
            .annotation("io.artifacthub.keywords")
            .split(',')
            .map(|keyword| keyword.trim().to_owned())
            .collect(),
        links,
        install: install(inputs, &oci_url, &source, &tag),
        maintainers: maintainers(&inputs.annotation("io.kubewarden.policy.author")),
        provider: Provider { name: "scaleguard" },
        recommendations: [Recommendation {
            url: "https://artifacthub.io/packages/helm/kubewarden/kubewarden-controller",
        }],
        annotations,
        readme: &inputs.readme,
    };
    Ok(format!(
        "# Generated by `scaleguard artifacthub` (make artifacthub) from policies/{name}/metadata.yml,\n\
         # README.md, questions-ui.yml and deploy/policies/base/{name}.yaml. Do not edit.\n{}",
        serde_yaml_ng::to_string(&package)?
    ))
}

/// The `install` section: the module, the ClusterAdmissionPolicy, the monitor-first kustomization.
fn install(inputs: &PolicyInputs, oci_url: &str, source: &str, tag: &str) -> String {
    let version = &inputs.version;
    let manifest = inputs.manifest.trim_end();
    format!(
        "The policy is the OCI artifact `registry://{oci_url}:v{version}` (signed with cosign, keyless).\n\
         With Kubewarden installed, apply its ClusterAdmissionPolicy. Start with `mode: monitor`, read the\n\
         policy reports, then switch to `mode: protect`:\n\
         ```yaml\n{manifest}\n```\n\
         Pin the module by digest in GitOps: `scaleguard pull registry://{oci_url}:v{version} -o {name}.wasm`\n\
         prints `{oci_url}@sha256:<digest>`; use `registry://{oci_url}@sha256:<digest>` as `module`.\n\n\
         All scaleguard policies at once, in monitor mode:\n\
         ```console\n\
         kubectl apply -k '{source}//deploy/policies/overlays/monitor?ref={tag}'\n\
         ```\n",
        name = inputs.name,
    )
}

/// Maintainers from `io.kubewarden.policy.author`: `Name <email>` entries, comma-separated.
/// Entries without an email are left out (Artifact Hub requires one).
fn maintainers(author: &str) -> Vec<Maintainer> {
    author
        .split(',')
        .filter_map(|entry| {
            let (name, rest) = entry.split_once('<')?;
            let email = rest.strip_suffix('>').unwrap_or(rest).trim();
            email.contains('@').then(|| Maintainer {
                name: name.trim().to_owned(),
                email: email.to_owned(),
            })
        })
        .collect()
}
