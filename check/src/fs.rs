//! Reading the paths named on the command line: files, directories (recursively: `.yaml`, `.yml`,
//! `.json`, less what `--exclude` and `.scaleguardignore` leave out) and `-` for stdin.

use std::io::Read;
use std::path::{Path, PathBuf};

use ignore::Match;
use ignore::gitignore::{Gitignore, GitignoreBuilder};

use crate::input::{
    Document, Format, InputError, Parsed, SkipReason, Skipped, parse_manifests_each,
};

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

/// The file that leaves paths out of a directory walk, in gitignore syntax, in the walked directory or
/// any directory above it (up to the current directory or the repository's root). `.gitignore` files
/// are read the same way: what git leaves out, a GitOps tool never applies.
pub const IGNORE_FILE: &str = ".scaleguardignore";

/// What a directory walk leaves out, beside hidden entries and kustomize's configuration files.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// `--exclude` patterns, in gitignore syntax, relative to the current directory.
    pub excludes: Vec<String>,
}

/// Reads every path (`-` is `stdin`, read as YAML). A path that cannot be read is an input error; the
/// others are still read.
pub fn read_paths(paths: &[String], default_namespace: &str, stdin: &mut dyn Read) -> Inputs {
    read_selected(paths, default_namespace, stdin, &Selection::default())
        .unwrap_or_else(|error| unreachable!("no patterns, no error: {error}"))
}

/// Reads every path as [`read_paths`] does, leaving out of directory walks what `selection` and the
/// [`IGNORE_FILE`]s exclude (a file named on the command line is always read). Documents that are no
/// Kubernetes object, and Helm templates, are skipped (see [`crate::input::parse_manifests`]). An `--exclude` pattern
/// that is not a valid glob is an error.
pub fn read_selected(
    paths: &[String],
    default_namespace: &str,
    stdin: &mut dyn Read,
    selection: &Selection,
) -> Result<Inputs, String> {
    let mut documents = Vec::new();
    let mut inputs = read_selected_each(
        paths,
        default_namespace,
        stdin,
        selection,
        &mut |document| {
            documents.push(document);
        },
    )?;
    inputs.parsed.documents = documents;
    Ok(inputs)
}

/// Reads every path as [`read_selected`] does, handing each object to `each` as soon as it is read
/// instead of keeping it: a file is held while it is read, and a YAML file's documents are parsed one
/// at a time. The [`Inputs`] returned hold the errors and skipped documents, and no object.
pub fn read_selected_each(
    paths: &[String],
    default_namespace: &str,
    stdin: &mut dyn Read,
    selection: &Selection,
    each: &mut dyn FnMut(Document),
) -> Result<Inputs, String> {
    let Rules { cwd, excludes } = Rules::new(selection)?;
    let mut inputs = Inputs::default();
    for path in paths {
        if path == "-" {
            let mut text = String::new();
            match stdin.read_to_string(&mut text) {
                Ok(_) => inputs.add_text("-", &text, Format::Yaml, default_namespace, each),
                Err(error) => inputs
                    .parsed
                    .errors
                    .push(InputError::file("-", format!("cannot read stdin: {error}"))),
            }
            continue;
        }
        let mut walk = Walk {
            cwd: &cwd,
            excludes: &excludes,
            ignore_files: true,
            ignores: Vec::new(),
            files: Vec::new(),
            parsed: Parsed::default(),
        };
        walk.named(Path::new(path));
        inputs.parsed.extend(walk.parsed);
        for file in walk.files {
            let name = file.display().to_string();
            if helm_template_file(&file) {
                inputs.parsed.skipped.push(Skipped {
                    file: name,
                    index: None,
                    line: None,
                    reason: SkipReason::HelmTemplate,
                });
                continue;
            }
            match std::fs::read_to_string(&file) {
                Ok(text) => {
                    inputs.add_text(&name, &text, Format::of(&name), default_namespace, each);
                }
                Err(error) => inputs
                    .parsed
                    .errors
                    .push(InputError::file(name, format!("cannot read: {error}"))),
            }
        }
    }
    Ok(inputs)
}

impl Inputs {
    fn add_text(
        &mut self,
        file: &str,
        text: &str,
        format: Format,
        default_namespace: &str,
        each: &mut dyn FnMut(Document),
    ) {
        self.files += 1;
        parse_manifests_each(
            file,
            text,
            format,
            default_namespace,
            &mut self.parsed,
            each,
        );
    }
}

/// Whether `file` is a template of a Helm chart: below a `templates/` folder beside a `Chart.yaml`.
/// Helm renders every file there; only `helm template` knows the objects.
fn helm_template_file(file: &Path) -> bool {
    file.ancestors().skip(1).any(|folder| {
        folder.file_name().is_some_and(|name| name == "templates")
            && folder
                .parent()
                .is_some_and(|chart| chart.join("Chart.yaml").is_file())
    })
}

/// What directory walks leave out, from the current directory: the `--exclude` patterns of a
/// [`Selection`] and, found as a walk finds them, the `.gitignore` and [`IGNORE_FILE`] files.
pub(crate) struct Rules {
    cwd: PathBuf,
    excludes: Gitignore,
}

impl Rules {
    /// The rules of `selection`; an `--exclude` pattern that is not a valid glob is an error.
    pub(crate) fn new(selection: &Selection) -> Result<Self, String> {
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        let mut excludes = GitignoreBuilder::new(&cwd);
        for pattern in &selection.excludes {
            excludes
                .add_line(None, pattern)
                .map_err(|error| format!("--exclude {pattern}: {error}"))?;
        }
        let excludes = excludes
            .build()
            .map_err(|error| format!("--exclude: {error}"))?;
        Ok(Self { cwd, excludes })
    }

    /// Whether a walk of the folder `root` would read `file` (a `/`-separated path below `root`, which
    /// need not exist: `--against` asks about the files of a git ref), with the ignore files of the
    /// working tree.
    pub(crate) fn walks(&self, root: &Path, file: &str) -> bool {
        let mut walk = Walk {
            cwd: &self.cwd,
            excludes: &self.excludes,
            ignore_files: true,
            ignores: Vec::new(),
            files: Vec::new(),
            parsed: Parsed::default(),
        };
        walk.load_ignore_files_above(root);
        walk.load_ignore_files(root);
        let parts: Vec<&str> = file.split('/').collect();
        let mut path = root.to_path_buf();
        for (position, part) in parts.iter().enumerate() {
            if part.starts_with('.') {
                return false;
            }
            path.push(part);
            let is_dir = position + 1 < parts.len();
            if walk.excluded(&path, is_dir) {
                return false;
            }
            if is_dir {
                walk.load_ignore_files(&path);
            }
        }
        is_manifest_name(&path)
    }
}

/// One walk of a path named on the command line.
struct Walk<'a> {
    cwd: &'a Path,
    excludes: &'a Gitignore,
    /// Whether `.gitignore` and [`IGNORE_FILE`] leave paths out.
    ignore_files: bool,
    /// The [`IGNORE_FILE`]s in force, outermost first.
    ignores: Vec<Gitignore>,
    files: Vec<PathBuf>,
    /// Errors (unreadable paths, broken ignore files).
    parsed: Parsed,
}

impl Walk<'_> {
    fn absolute(&self, path: &Path) -> PathBuf {
        self.cwd.join(path).components().collect()
    }

    fn named(&mut self, path: &Path) {
        let name = path.display().to_string();
        match std::fs::metadata(path) {
            Err(error) => self
                .parsed
                .errors
                .push(InputError::file(name, format!("cannot read: {error}"))),
            Ok(metadata) if !metadata.is_dir() => self.files.push(path.to_path_buf()),
            Ok(_) => {
                self.load_ignore_files_above(path);
                self.directory(path);
            }
        }
    }

    /// Pushes the matchers of the ignore files above the folder `path`: up to the current directory,
    /// else to the repository's root (a folder holding `.git`).
    fn load_ignore_files_above(&mut self, path: &Path) {
        let absolute = self.absolute(path);
        let mut above: Vec<PathBuf> = Vec::new();
        for folder in absolute.ancestors().skip(1) {
            above.push(folder.to_path_buf());
            if folder == self.cwd || folder.join(".git").exists() {
                break;
            }
        }
        if !absolute.starts_with(self.cwd) && !above.iter().any(|f| f.join(".git").exists()) {
            above.clear();
        }
        for folder in above.iter().rev() {
            self.load_ignore_files(folder);
        }
    }

    /// Pushes the matchers of `folder`'s `.gitignore` (what git leaves out, a GitOps tool never sees)
    /// and [`IGNORE_FILE`] (which wins); how many it pushed.
    fn load_ignore_files(&mut self, folder: &Path) -> usize {
        if !self.ignore_files {
            return 0;
        }
        [".gitignore", IGNORE_FILE]
            .into_iter()
            .filter(|name| self.load_ignore_file(folder, name))
            .count()
    }

    /// Pushes the matcher of `folder`'s file `name`, if it has one; whether it did.
    fn load_ignore_file(&mut self, folder: &Path, name: &str) -> bool {
        let file = folder.join(name);
        if !file.is_file() {
            return false;
        }
        let mut builder = GitignoreBuilder::new(self.absolute(folder));
        if let Some(error) = builder.add(&file) {
            self.parsed.errors.push(InputError::file(
                file.display().to_string(),
                format!("cannot read: {error}"),
            ));
        }
        match builder.build() {
            Ok(matcher) => {
                self.ignores.push(matcher);
                true
            }
            Err(error) => {
                self.parsed.errors.push(InputError::file(
                    file.display().to_string(),
                    format!("cannot read: {error}"),
                ));
                false
            }
        }
    }

    /// Whether `--exclude` or an ignore file leaves `path` out.
    fn excluded(&self, path: &Path, is_dir: bool) -> bool {
        let absolute = self.absolute(path);
        if self.excludes.matched(&absolute, is_dir).is_ignore() {
            return true;
        }
        for matcher in self.ignores.iter().rev() {
            match matcher.matched(&absolute, is_dir) {
                Match::Ignore(_) => return true,
                Match::Whitelist(_) => return false,
                Match::None => {}
            }
        }
        false
    }

    fn directory(&mut self, path: &Path) {
        let entries = match std::fs::read_dir(path) {
            Ok(entries) => entries,
            Err(error) => {
                return self.parsed.errors.push(InputError::file(
                    path.display().to_string(),
                    format!("cannot read directory: {error}"),
                ));
            }
        };
        let pushed = self.load_ignore_files(path);
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
            let is_dir = entry.is_dir();
            if self.excluded(&entry, is_dir) {
                continue;
            }
            if is_dir {
                self.directory(&entry);
            } else if is_manifest_name(&entry) {
                self.files.push(entry);
            }
        }
        self.ignores.truncate(self.ignores.len() - pushed);
    }
}

/// The manifest files of `path`, sorted: `path` itself when it is a file, else the `.yaml`/`.yml`/`.json`
/// files below it, hidden entries and kustomize's configuration files skipped (no ignore files: the
/// walk of `scaleguard convert`). What cannot be read is an error.
pub fn manifest_files(path: &Path) -> Result<Vec<PathBuf>, InputError> {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let excludes = Gitignore::empty();
    let mut walk = Walk {
        cwd: &cwd,
        excludes: &excludes,
        ignore_files: false,
        ignores: Vec::new(),
        files: Vec::new(),
        parsed: Parsed::default(),
    };
    walk.named(path);
    match walk.parsed.errors.into_iter().next() {
        Some(error) => Err(error),
        None => Ok(walk.files),
    }
}

/// Whether a directory walk reads the file `path`.
fn is_manifest_name(path: &Path) -> bool {
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
