//! `--against <git-ref>`: the objects of the same paths at another commit, read with the `git` command
//! (`git ls-tree`, then one `git cat-file --batch` for every file).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::fs::{Rules, Selection};
use crate::input::{Format, Identity, parse};

/// The objects held at `reference` by the files under `paths` (`-`, stdin, stands for the current
/// directory), by identity. A folder's files are those its walk in the working tree would read: what
/// `selection` and the working tree's ignore files leave out there is left out here too. Documents
/// that do not parse at `reference` are left out: only the objects found there matter.
pub fn objects_at(
    reference: &str,
    paths: &[String],
    default_namespace: &str,
    selection: &Selection,
) -> Result<BTreeMap<Identity, Value>, String> {
    let rules = Rules::new(selection)?;
    let mut objects = BTreeMap::new();
    for path in paths {
        let path = Path::new(if path == "-" { "." } else { path });
        let (directory, pathspec) = if path.is_dir() {
            (path, ".".to_owned())
        } else {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            (
                path.parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or(Path::new(".")),
                name.unwrap_or_default(),
            )
        };
        let listing = git(
            directory,
            &[
                "ls-tree",
                "-r",
                "-z",
                "--full-name",
                "--name-only",
                reference,
                "--",
                &pathspec,
            ],
            None,
        )?;
        // A folder's files, named from the repository's root, are walked from the folder.
        let prefix = if pathspec == "." {
            let prefix = git(directory, &["rev-parse", "--show-prefix"], None)?;
            let prefix = String::from_utf8_lossy(&prefix);
            Some(prefix.strip_suffix('\n').unwrap_or(&prefix).to_owned())
        } else {
            None
        };
        let files: Vec<&str> = listing
            .split(|&b| b == 0)
            .filter_map(|name| std::str::from_utf8(name).ok())
            .filter(|name| !name.is_empty())
            .filter(|name| match &prefix {
                Some(prefix) => name
                    .strip_prefix(prefix.as_str())
                    .is_some_and(|file| rules.walks(path, file)),
                None => true,
            })
            .collect();
        if files.is_empty() {
            continue;
        }
        let batch: String = files
            .iter()
            .map(|file| format!("{reference}:{file}\n"))
            .collect();
        let output = git(directory, &["cat-file", "--batch"], Some(batch.as_bytes()))?;
        for (file, contents) in files.iter().zip(blobs(&output)) {
            let Some(text) = contents.and_then(|bytes| std::str::from_utf8(bytes).ok()) else {
                continue;
            };
            for document in parse(file, text, Format::of(file), default_namespace).documents {
                objects.insert(document.identity(), document.object);
            }
        }
    }
    Ok(objects)
}

/// The contents of each blob in `git cat-file --batch` output, `None` for a missing one.
fn blobs(output: &[u8]) -> Vec<Option<&[u8]>> {
    let mut blobs = Vec::new();
    let mut rest = output;
    while let Some(end) = rest.iter().position(|&b| b == b'\n') {
        let header = String::from_utf8_lossy(&rest[..end]).into_owned();
        rest = &rest[end + 1..];
        let size = header
            .rsplit(' ')
            .next()
            .and_then(|size| size.parse::<usize>().ok());
        match size {
            Some(size) if !header.ends_with(" missing") && size <= rest.len() => {
                blobs.push(Some(&rest[..size]));
                rest = rest.get(size + 1..).unwrap_or_default();
            }
            _ => blobs.push(None),
        }
    }
    blobs
}

/// Runs `git -C directory args`, feeding `input`; its stdout, or its stderr as the error.
fn git(directory: &Path, args: &[&str], input: Option<&[u8]>) -> Result<Vec<u8>, String> {
    let mut child = Command::new("git")
        .arg("-C")
        .arg(directory)
        .args(args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| format!("--against: cannot run git: {error}"))?;
    let stdin = child.stdin.take();
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let (output, errors) = std::thread::scope(|scope| {
        if let (Some(mut stdin), Some(input)) = (stdin, input) {
            scope.spawn(move || stdin.write_all(input));
        }
        let errors = scope.spawn(move || {
            let mut text = String::new();
            if let Some(stderr) = stderr.as_mut() {
                let _ = stderr.read_to_string(&mut text);
            }
            text
        });
        let mut output = Vec::new();
        if let Some(stdout) = stdout.as_mut() {
            let _ = stdout.read_to_end(&mut output);
        }
        (output, errors.join().unwrap_or_default())
    });
    let status = child
        .wait()
        .map_err(|error| format!("--against: git failed: {error}"))?;
    if status.success() {
        Ok(output)
    } else {
        Err(format!(
            "--against: `git {}` in {} failed: {}",
            args.join(" "),
            directory.display(),
            errors.trim()
        ))
    }
}
