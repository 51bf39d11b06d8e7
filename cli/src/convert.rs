//! `scaleguard convert`: rewrites the DynamoGraphDeployments and scaling adapters of manifest files to
//! another version of Dynamo's API, on stdout or in place; every other document is left as written.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use scaleguard_check::convert::{ConvertedFile, convert_text};
use scaleguard_check::fs::manifest_files;
use scaleguard_check::input::Format;
use scaleguard_sdk::dgd::DgdVersion;

/// The versions `--to` names.
#[derive(Clone, Copy, clap::ValueEnum)]
enum Target {
    /// `nvidia.com/v1beta1`, the storage version since Dynamo 1.2.
    V1beta1,
    /// `nvidia.com/v1alpha1`, for clusters older than Dynamo 1.2.
    V1alpha1,
}

/// Arguments of `scaleguard convert`.
#[derive(clap::Args)]
pub struct Args {
    /// The version to convert to.
    #[arg(long, value_enum)]
    to: Target,
    /// Files and directories (recursively: .yaml, .yml, .json); `-` reads stdin.
    #[arg(default_value = "-")]
    paths: Vec<String>,
    /// Rewrite the files instead of printing them (not with `-`).
    #[arg(long)]
    in_place: bool,
}

/// Converts every path; warnings go to stderr, one per value without a field in the target version.
pub fn run(args: Args) -> Result<()> {
    let target = match args.to {
        Target::V1beta1 => DgdVersion::V1beta1,
        Target::V1alpha1 => DgdVersion::V1alpha1,
    };
    let mut printed = 0;
    for path in &args.paths {
        if path == "-" {
            if args.in_place {
                bail!("--in-place cannot rewrite stdin");
            }
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("cannot read stdin")?;
            let file = convert_file("-", &text, Format::Yaml, target)?;
            print(&file.text, &mut printed);
            continue;
        }
        let files = manifest_files(Path::new(path))
            .map_err(|error| anyhow::anyhow!("{}: {}", error.file, error.message))?;
        for file in files {
            convert_path(&file, target, args.in_place, &mut printed)?;
        }
    }
    Ok(())
}

fn convert_path(
    path: &PathBuf,
    target: DgdVersion,
    in_place: bool,
    printed: &mut usize,
) -> Result<()> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {name}"))?;
    let file = convert_file(&name, &text, Format::of(&name), target)?;
    if !in_place {
        print(&file.text, printed);
    } else if file.converted > 0 {
        std::fs::write(path, &file.text).with_context(|| format!("cannot write {name}"))?;
        eprintln!("{name}: converted {} object(s) to {target}", file.converted);
    }
    Ok(())
}

fn convert_file(
    name: &str,
    text: &str,
    format: Format,
    target: DgdVersion,
) -> Result<ConvertedFile> {
    let file =
        convert_text(text, format, target).map_err(|error| anyhow::anyhow!("{name}: {error}"))?;
    for warning in &file.warnings {
        eprintln!("warning: {name}: {warning}");
    }
    Ok(file)
}

/// Prints one file's text, `---` between files.
fn print(text: &str, printed: &mut usize) {
    if *printed > 0 {
        println!("---");
    }
    print!("{text}");
    if !text.ends_with('\n') {
        println!();
    }
    *printed += 1;
}
