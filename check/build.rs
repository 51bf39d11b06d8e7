//! With feature `embedded-policies`, embeds every `*.wasm` of `$SCALEGUARD_EMBED_POLICIES` (default: the
//! workspace's `target/policies`, which `make policies` fills) as `MODULES: &[(name, bytes)]`.

use std::path::PathBuf;

fn main() {
    println!("cargo::rerun-if-env-changed=SCALEGUARD_EMBED_POLICIES");
    if std::env::var_os("CARGO_FEATURE_EMBEDDED_POLICIES").is_none() {
        return;
    }
    let directory = std::env::var_os("SCALEGUARD_EMBED_POLICIES").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/policies"),
        PathBuf::from,
    );
    println!("cargo::rerun-if-changed={}", directory.display());
    let mut modules: Vec<(String, PathBuf)> = std::fs::read_dir(&directory)
        .unwrap_or_else(|error| {
            panic!(
                "embedded-policies: cannot read {}: {error}; run `make policies` first",
                directory.display()
            )
        })
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "wasm"))
        .filter_map(|path| {
            let name = path.file_stem()?.to_string_lossy().into_owned();
            let path = path.canonicalize().ok()?;
            Some((name, path))
        })
        .collect();
    assert!(
        !modules.is_empty(),
        "embedded-policies: no *.wasm in {}; run `make policies` first",
        directory.display()
    );
    modules.sort();
    let mut source = String::from(
        "/// The embedded modules: `(name, bytes)`, sorted by name.\npub static MODULES: &[(&str, &[u8])] = &[\n",
    );
    for (name, path) in &modules {
        println!("cargo::rerun-if-changed={}", path.display());
        source.push_str(&format!(
            "    ({name:?}, include_bytes!({:?})),\n",
            path.display().to_string()
        ));
    }
    source.push_str("];\n");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("embedded_policies.rs"), source).expect("OUT_DIR is writable");
}
