//! `scaleguard annotate`: embed a policy's metadata into its module, as `kwctl annotate` does.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, Result, bail};
use scaleguard_host::{Limits, PolicyModule};
use scaleguard_metadata::{
    ExecutionMode, PolicyMetadata, ProtocolVersion, USAGE_ANNOTATION, embed,
};

/// Arguments of `scaleguard annotate`.
#[derive(clap::Args)]
pub struct Args {
    /// The module cargo built (annotated or not: an existing annotation is replaced).
    module: PathBuf,
    /// The policy's metadata.yml.
    #[arg(short = 'm', long)]
    metadata_path: PathBuf,
    /// The policy's README, embedded as `io.kubewarden.policy.usage` [default: README.md beside
    /// the metadata].
    #[arg(short = 'u', long)]
    usage_path: Option<PathBuf>,
    /// The version `io.kubewarden.policy.version` must equal [default: `package.version` of the
    /// Cargo.toml beside the metadata].
    #[arg(long)]
    crate_version: Option<String>,
    /// Where to write the annotated module (may be the input module). `-o`/`--output` are kept as
    /// hidden aliases; elsewhere `-o` names a report format.
    #[arg(short = 'O', long, short_alias = 'o', alias = "output")]
    output_path: PathBuf,
}

/// Validates the metadata, asks the module its protocol version, embeds both and the usage text.
pub fn run(args: Args) -> Result<()> {
    let mut metadata = PolicyMetadata::load(&args.metadata_path)?;
    let policy_dir = args.metadata_path.parent().unwrap_or(Path::new("."));
    let crate_version = match args.crate_version {
        Some(version) => version,
        None => crate_version(&policy_dir.join("Cargo.toml"))?,
    };
    metadata
        .validate(Some(&crate_version))
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.metadata_path.display()))?;
    if metadata.execution_mode != ExecutionMode::KubewardenWapc {
        bail!(
            "{}: executionMode must be kubewarden-wapc: scaleguard annotates waPC policies only",
            args.metadata_path.display()
        );
    }
    let usage_path = args
        .usage_path
        .unwrap_or_else(|| policy_dir.join("README.md"));
    let usage = std::fs::read_to_string(&usage_path)
        .with_context(|| format!("cannot read the usage text {}", usage_path.display()))?;
    let module = std::fs::read(&args.module)
        .with_context(|| format!("cannot read {}", args.module.display()))?;
    metadata.protocol_version = Some(protocol_version(&args.module, &module)?);
    metadata
        .annotations
        .insert(USAGE_ANNOTATION.to_owned(), usage);
    let annotated = embed(&module, &metadata)
        .with_context(|| format!("cannot annotate {}", args.module.display()))?;
    std::fs::write(&args.output_path, &annotated)
        .with_context(|| format!("cannot write {}", args.output_path.display()))?;
    println!(
        "{}: {} {} annotated (protocol v1, {} bytes)",
        args.output_path.display(),
        metadata.title().unwrap_or_default(),
        crate_version,
        annotated.len()
    );
    Ok(())
}

/// `protocol_version` of the module, called through the waPC host as Kubewarden calls it.
fn protocol_version(path: &Path, module: &[u8]) -> Result<ProtocolVersion> {
    let name = path
        .file_stem()
        .map_or_else(|| "policy".to_owned(), |s| s.to_string_lossy().into_owned());
    let module = PolicyModule::from_bytes(&name, module, Limits::default())?;
    let answer = module
        .instantiate(Arc::default())?
        .protocol_version()
        .with_context(|| format!("{}: protocol_version failed", path.display()))?;
    answer
        .parse()
        .map_err(|reason: String| anyhow::anyhow!("{}: {reason}", path.display()))
}

/// `package.version` of a crate's Cargo.toml.
pub fn crate_version(manifest: &Path) -> Result<String> {
    let text = std::fs::read_to_string(manifest).with_context(|| {
        format!(
            "cannot read {} for the crate version: pass --crate-version",
            manifest.display()
        )
    })?;
    let manifest_toml: toml::Table =
        toml::from_str(&text).with_context(|| format!("{}: not TOML", manifest.display()))?;
    match manifest_toml
        .get("package")
        .and_then(|package| package.get("version"))
    {
        Some(toml::Value::String(version)) => Ok(version.clone()),
        Some(_) => bail!(
            "{}: package.version is inherited, not written out: pass --crate-version",
            manifest.display()
        ),
        None => bail!("{}: no package.version", manifest.display()),
    }
}
