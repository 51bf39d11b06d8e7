//! `scaleguard inspect`: print the metadata embedded in a module, like `kwctl inspect`.

use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use scaleguard_metadata::{METADATA_SECTION, PolicyMetadata};

/// Output formats of `scaleguard inspect`.
#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    /// YAML, the usage text as a block.
    Yaml,
    /// The section's JSON, pretty-printed.
    Json,
}

/// Arguments of `scaleguard inspect`.
#[derive(clap::Args)]
pub struct Args {
    /// The module.
    module: PathBuf,
    /// How to print the metadata.
    #[arg(short = 'o', long, value_enum, default_value = "yaml")]
    output: Format,
}

/// Prints the embedded metadata; an unannotated module is an error.
pub fn run(args: Args) -> Result<()> {
    let module = std::fs::read(&args.module)
        .with_context(|| format!("cannot read {}", args.module.display()))?;
    crate::modules::not_wasm(&args.module, &module)?;
    let Some(metadata) = PolicyMetadata::from_module(&module)
        .with_context(|| format!("{}", args.module.display()))?
    else {
        bail!(
            "{} is not annotated: it has no {METADATA_SECTION} section (run `scaleguard annotate`)",
            args.module.display()
        );
    };
    match args.output {
        Format::Yaml => print!("{}", serde_yaml_ng::to_string(&metadata)?),
        Format::Json => println!("{}", serde_json::to_string_pretty(&metadata)?),
    }
    Ok(())
}
