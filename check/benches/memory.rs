//! `make bench-memory`: the peak resident memory of `scaleguard check` (the binary, as CI runs it) over
//! generated repositories of 10,000 manifests (100 namespaces of 100 objects) and 100,000 manifests
//! (1,000 such namespaces), and over one 50 MB YAML file, beside a one-namespace baseline, every run
//! loading the modules from a compilation cache filled by a first run. The peak is
//! the kernel's high-water mark (`VmHWM` of `/proc/<pid>/status`), sampled every 2 ms while the check
//! runs. Budgets, which fail the bench: from 10,000 to 100,000 manifests (the largest namespace no
//! larger), at most 128 bytes more per added manifest (the spool's index of where each object is; a
//! manifest held would cost kilobytes); the 50 MB file within three times its size above the baseline.
//! Needs `make policies` and the CLI (`SCALEGUARD_BIN`, as `make bench-gitops`). Linux only.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod generated;

use generated::{OBJECTS_PER_NAMESPACE, binary, namespace_yaml, repository, scratch};

const MIB: f64 = 1024.0 * 1024.0;
/// The 50 MB file: namespaces of 100 objects whose DGDs carry this much annotation.
const PADDING: usize = 12_000;
const FILE_BYTES: usize = 50_000_000;
/// What each manifest beyond the first 10,000 may add to the peak.
const BYTES_PER_ADDED_MANIFEST: u64 = 128;

/// The peak resident memory of the check and its duration.
struct Measured {
    peak_bytes: u64,
    seconds: f64,
}

/// How `scaleguard check` is run: the binary, the modules and their compilation cache.
struct Checker<'a> {
    binary: &'a Path,
    policies: &'a Path,
    module_cache: &'a Path,
}

/// Runs `scaleguard check path` and samples its high-water mark until it exits.
fn measure(checker: &Checker<'_>, path: &Path) -> Measured {
    let started = Instant::now();
    let mut child = Command::new(checker.binary)
        .arg("check")
        .arg(path)
        .arg("--policies")
        .arg(checker.policies)
        .arg("--module-cache")
        .arg(checker.module_cache)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kib = 0;
    let status = loop {
        if let Ok(status) = std::fs::read_to_string(&status_file)
            && let Some(kib) = status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|value| {
                    value
                        .trim()
                        .trim_end_matches("kB")
                        .trim()
                        .parse::<u64>()
                        .ok()
                })
        {
            peak_kib = peak_kib.max(kib);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert!(
        status.success(),
        "scaleguard check {}: {stderr}",
        path.display()
    );
    Measured {
        peak_bytes: peak_kib * 1024,
        seconds: started.elapsed().as_secs_f64(),
    }
}

fn main() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let policies = workspace.join("target/policies");
    assert!(policies.is_dir(), "make policies first");
    let binary = binary(&workspace);

    let baseline_root = repository("memory-baseline", 1);
    let small_root = repository("memory-10k", 100);
    let large_root = repository("memory-100k", 1_000);
    let file_root = scratch("memory-50mb");
    let big_file = file_root.join("all.yaml");
    let mut text = String::with_capacity(FILE_BYTES + 2_000_000);
    let mut namespaces = 0;
    while text.len() < FILE_BYTES {
        if !text.is_empty() {
            text.push_str("---\n");
        }
        text.push_str(&namespace_yaml(namespaces, PADDING));
        namespaces += 1;
    }
    std::fs::write(&big_file, &text).unwrap();
    let file_bytes = text.len() as u64;
    drop(text);

    let module_cache = scratch("memory-module-cache");
    let checker = Checker {
        binary: &binary,
        policies: &policies,
        module_cache: &module_cache,
    };
    // Once to fill the module cache, so every measured run loads the compiled modules.
    measure(&checker, &baseline_root);
    let baseline = measure(&checker, &baseline_root);
    let mut failures = Vec::new();
    let report = |label: &str, manifests: usize, measured: &Measured| {
        let above = measured.peak_bytes.saturating_sub(baseline.peak_bytes);
        println!(
            "{label}: {manifests} manifests, peak RSS {:.1} MiB ({:.1} MiB above the baseline), {:.1} s",
            measured.peak_bytes as f64 / MIB,
            above as f64 / MIB,
            measured.seconds
        );
        above
    };
    report("baseline (one namespace)", OBJECTS_PER_NAMESPACE, &baseline);
    let small = measure(&checker, &small_root);
    let small_above = report("100 namespaces", 100 * OBJECTS_PER_NAMESPACE, &small);
    let large = measure(&checker, &large_root);
    let large_above = report("1,000 namespaces", 1_000 * OBJECTS_PER_NAMESPACE, &large);
    let added = (1_000 - 100) * OBJECTS_PER_NAMESPACE as u64;
    let per_added = large_above.saturating_sub(small_above) / added;
    println!("  {per_added} bytes more per manifest from 10,000 to 100,000");
    if per_added > BYTES_PER_ADDED_MANIFEST {
        failures.push(format!(
            "from 10,000 to 100,000 manifests the peak grew by {per_added} bytes per manifest, over \
             {BYTES_PER_ADDED_MANIFEST}"
        ));
    }
    let file = measure(&checker, &big_file);
    let file_above = report(
        &format!(
            "one {:.1} MB file ({namespaces} namespaces)",
            file_bytes as f64 / 1e6
        ),
        namespaces * OBJECTS_PER_NAMESPACE,
        &file,
    );
    println!(
        "  {:.2} copies of the file above the baseline",
        file_above as f64 / file_bytes as f64
    );
    if file_above > 3 * file_bytes {
        failures.push(format!(
            "the {:.1} MB file took {:.1} MiB above the baseline, over 3 copies of it",
            file_bytes as f64 / 1e6,
            file_above as f64 / MIB
        ));
    }
    for root in [
        baseline_root,
        small_root,
        large_root,
        file_root,
        module_cache,
    ] {
        let _ = std::fs::remove_dir_all(root);
    }
    if !failures.is_empty() {
        eprintln!("over budget:\n  {}", failures.join("\n  "));
        std::process::exit(1);
    }
}
