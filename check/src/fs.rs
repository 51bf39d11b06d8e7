//! Reading the paths named on the command line: files, directories (recursively: `.yaml`, `.yml`,
//! `.json`) and `-` for stdin.

use std::io::Read;
use std::path::Path;

use crate::input::{Format, InputError, Parsed, parse};

/// Extensions of the files a directory walk reads.
const MANIFEST_EXTENSIONS: &[&str] = &["yaml", "yml", "json"];

/// kustomize's own configuration files: never applied, so a directory walk skips them.
const KUSTOMIZE_FILES: &[&str] = &["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// What the paths held.
#[derive(Debug, Default)]
pub struct Inputs {
    /// The objects and the broken documents.
    pub parsed: Parsed,
    /// How many files were read.
    pub files: usize,
}

/// Reads every path (`-` is `stdin`, read as YAML). A path that cannot be read is an input error; the
/// others are still read.
pub fn read_paths(paths: &[String], default_namespace: &str, stdin: &mut dyn Read) -> Inputs {
    let mut inputs = Inputs::default();
    for path in paths {
        if path == "-" {
            let mut text = String::new();
            match stdin.read_to_string(&mut text) {
                Ok(_) => inputs.add_text("-", &text, Format::Yaml, default_namespace),
                Err(error) => inputs
                    .parsed
                    .errors
                    .push(InputError::file("-", format!("cannot read stdin: {error}"))),
            }
            continue;
        }
        let mut files = Vec::new();
        manifest_files(Path::new(path), true, &mut files, &mut inputs.parsed.errors);
        for file in files {
            let name = file.display().to_string();
            match std::fs::read_to_string(&file) {
                Ok(text) => inputs.add_text(&name, &text, Format::of(&name), default_namespace),
                Err(error) => inputs
                    .parsed
                    .errors
                    .push(InputError::file(name, format!("cannot read: {error}"))),
            }
        }
    }
    inputs
}

impl Inputs {
    fn add_text(&mut self, file: &str, text: &str, format: Format, default_namespace: &str) {
        self.files += 1;
        self.parsed
            .extend(parse(file, text, format, default_namespace));
    }
}

/// Adds the manifest files of `path` to `files`, sorted: `path` itself when it is a file named on the
/// command line (`named`), else the `.yaml`/`.yml`/`.json` files below it, hidden entries and kustomize's
/// configuration files skipped. What cannot be read is added to `errors`.
pub fn manifest_files(
    path: &Path,
    named: bool,
    files: &mut Vec<std::path::PathBuf>,
    errors: &mut Vec<InputError>,
) {
    let name = path.display().to_string();
    let entries = match std::fs::metadata(path) {
        Err(error) => return errors.push(InputError::file(name, format!("cannot read: {error}"))),
        Ok(metadata) if !metadata.is_dir() => {
            if named || is_manifest_name(path) {
                files.push(path.to_path_buf());
            }
            return;
        }
        Ok(_) => match std::fs::read_dir(path) {
            Ok(entries) => entries,
            Err(error) => {
                return errors.push(InputError::file(
                    name,
                    format!("cannot read directory: {error}"),
                ));
            }
        },
    };
    let mut entries: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|entry| {
            entry
                .file_name()
                .is_some_and(|name| !name.to_string_lossy().starts_with('.'))
        })
        .collect();
    entries.sort();
    for entry in entries {
        manifest_files(&entry, false, files, errors);
    }
}

/// Whether a directory walk reads the file `path`.
pub(crate) fn is_manifest_name(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let extension = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    MANIFEST_EXTENSIONS.contains(&extension.as_str()) && !KUSTOMIZE_FILES.contains(&name.as_ref())
}
