//! The policy modules `--policy` names, for `scaleguard run` and `scaleguard check` alike: a name among
//! the available modules (`--policies DIR`, else the modules built into the binary, else
//! `target/policies`), a `.wasm` file, or a `registry://` reference, pulled in-process into memory.

use std::cell::OnceCell;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use scaleguard_check::settings::policy_name_of_module;
use scaleguard_check::wasm::{read_directory, read_module};

use crate::oci::RegistryArgs;

/// A policy module: its policy's name and its bytes.
pub type Module = (String, Vec<u8>);

/// Where the modules `--policy` names come from; flattened into `run`'s and `check`'s arguments.
#[derive(clap::Args)]
pub struct ModuleArgs {
    /// The folder of the policy modules, where a policy name is looked up (default: the modules built
    /// into the binary, else target/policies, here or beside the binary). A folder without modules is
    /// an error.
    #[arg(long, env = "SCALEGUARD_POLICIES_DIR", value_name = "DIR")]
    policies: Option<PathBuf>,
    #[command(flatten)]
    registry: RegistryArgs,
}

impl ModuleArgs {
    /// The resolver of these arguments; `builtins` are the names the command knows that are no
    /// module (`check`'s `gitops-replicas`), listed with the known names of an error.
    pub fn resolver<'a>(&'a self, builtins: &'a [&'a str]) -> Resolver<'a> {
        Resolver::new(self.policies.as_deref(), &self.registry, builtins)
    }
}

/// Fetches the module a `registry://` reference names (the registry client, or a fake in tests).
pub trait Puller {
    /// The module's bytes.
    fn pull(&self, reference: &str) -> Result<Vec<u8>>;
}

/// Turns `--policy` values into modules; the available modules are read once, when a name needs them.
pub struct Resolver<'a> {
    directory: Option<&'a Path>,
    puller: &'a dyn Puller,
    builtins: &'a [&'a str],
    available: OnceCell<Vec<Module>>,
}

impl<'a> Resolver<'a> {
    /// A resolver looking names up in `directory` (`--policies`) and pulling with `puller`.
    pub fn new(
        directory: Option<&'a Path>,
        puller: &'a dyn Puller,
        builtins: &'a [&'a str],
    ) -> Self {
        Self {
            directory,
            puller,
            builtins,
            available: OnceCell::new(),
        }
    }

    /// The module `policy` names: `registry://<registry>/<repository>[:<tag>|@<digest>]` (pulled,
    /// named by its repository), a path (ending in `.wasm` or holding a `/`; named by its file), or
    /// else a name among [`Self::available`].
    pub fn resolve(&self, policy: &str) -> Result<Module> {
        if policy.starts_with("registry://") {
            let bytes = self
                .puller
                .pull(policy)
                .with_context(|| format!("--policy {policy}"))?;
            return Ok((policy_name_of_module(policy).to_owned(), bytes));
        }
        if !is_name(policy) {
            let path = Path::new(policy);
            let module = read_module(path).map_err(anyhow::Error::msg)?;
            not_wasm(path, &module.1)?;
            return Ok(module);
        }
        match self.available()?.iter().find(|(name, _)| name == policy) {
            Some(module) => Ok(module.clone()),
            None => bail!(
                "--policy {policy}: no such policy (known: {})",
                self.known()?
            ),
        }
    }

    /// The modules a name is looked up among: those of `--policies`, else the modules built into the
    /// binary, else those of target/policies here or beside the binary (`target/debug/../policies`).
    pub fn available(&self) -> Result<&[Module]> {
        if let Some(modules) = self.available.get() {
            return Ok(modules);
        }
        let modules = self.read_available()?;
        Ok(self.available.get_or_init(|| modules))
    }

    /// The names of the available modules and the builtins, for an error.
    pub fn known(&self) -> Result<String> {
        let mut known: Vec<&str> = self.available()?.iter().map(|(n, _)| n.as_str()).collect();
        known.extend(self.builtins);
        Ok(known.join(", "))
    }

    fn read_available(&self) -> Result<Vec<Module>> {
        if let Some(directory) = self.directory {
            let modules = read_directory(directory).map_err(|error| {
                anyhow::anyhow!("{error} (named by --policies or $SCALEGUARD_POLICIES_DIR)")
            })?;
            if modules.is_empty() {
                bail!(
                    "no policy modules (.wasm files) in {} (named by --policies or $SCALEGUARD_POLICIES_DIR): \
                     run `make policies`, or name the folder the modules are in",
                    directory.display()
                );
            }
            return Ok(modules);
        }
        #[cfg(feature = "embedded-policies")]
        return Ok(scaleguard_check::embedded::modules());
        #[cfg(not(feature = "embedded-policies"))]
        {
            let beside_binary = std::env::current_exe()
                .ok()
                .and_then(|exe| Some(exe.parent()?.parent()?.join("policies")));
            let candidates = [PathBuf::from("target/policies")]
                .into_iter()
                .chain(beside_binary);
            for directory in candidates {
                if directory.is_dir() {
                    let modules = read_directory(&directory).map_err(anyhow::Error::msg)?;
                    if !modules.is_empty() {
                        return Ok(modules);
                    }
                }
            }
            bail!("no policy modules: run `make policies`, or pass --policies DIR or --policy")
        }
    }
}

/// Whether `policy` is a name to look up among the available modules, not a path or a reference.
pub fn is_name(policy: &str) -> bool {
    !policy.ends_with(".wasm") && !policy.contains('/')
}

/// An error unless `bytes`, read from `path`, start with WebAssembly's magic bytes.
pub fn not_wasm(path: &Path, bytes: &[u8]) -> Result<()> {
    if !bytes.starts_with(b"\0asm") {
        bail!(
            "{} is not a WebAssembly module (a policy module is a .wasm file, as `make policies` builds \
             them into target/policies)",
            path.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;

    /// A registry holding one module, recording what it is asked for.
    struct FakeRegistry {
        asked: RefCell<Vec<String>>,
    }

    impl Puller for FakeRegistry {
        fn pull(&self, reference: &str) -> Result<Vec<u8>> {
            self.asked.borrow_mut().push(reference.to_owned());
            match reference {
                "registry://127.0.0.1:5000/policies/dynamo-single-autoscaler@sha256:abc" => {
                    Ok(b"\0asm\x01\0\0\0".to_vec())
                }
                _ => bail!("cannot pull {reference}: manifest unknown"),
            }
        }
    }

    fn registry() -> FakeRegistry {
        FakeRegistry {
            asked: RefCell::new(Vec::new()),
        }
    }

    #[test]
    fn a_registry_reference_is_pulled_and_named_by_its_repository() {
        let registry = registry();
        let empty = tempfile::tempdir().unwrap();
        let resolver = Resolver::new(Some(empty.path()), &registry, &[]);
        let reference = "registry://127.0.0.1:5000/policies/dynamo-single-autoscaler@sha256:abc";
        assert_eq!(
            resolver.resolve(reference).unwrap(),
            (
                "dynamo-single-autoscaler".to_owned(),
                b"\0asm\x01\0\0\0".to_vec()
            )
        );
        assert_eq!(*registry.asked.borrow(), [reference]);
        let missing = "registry://127.0.0.1:5000/policies/x:v1";
        assert_eq!(
            crate::message(&resolver.resolve(missing).unwrap_err()),
            "--policy registry://127.0.0.1:5000/policies/x:v1: cannot pull \
             registry://127.0.0.1:5000/policies/x:v1: manifest unknown"
        );
        assert_eq!(*registry.asked.borrow(), [reference, missing]);
    }

    #[test]
    fn names_are_looked_up_in_the_folder_and_files_read_without_the_registry() {
        let registry = registry();
        let folder = tempfile::tempdir().unwrap();
        let module = b"\0asm\x01\0\0\0".to_vec();
        std::fs::write(folder.path().join("b.wasm"), &module).unwrap();
        std::fs::write(folder.path().join("a.wasm"), &module).unwrap();
        std::fs::write(folder.path().join("text.wasm"), "not wasm").unwrap();
        let resolver = Resolver::new(Some(folder.path()), &registry, &["gitops-replicas"]);
        assert_eq!(
            resolver.resolve("b").unwrap(),
            ("b".to_owned(), module.clone())
        );
        assert_eq!(
            crate::message(&resolver.resolve("c").unwrap_err()),
            "--policy c: no such policy (known: a, b, text, gitops-replicas)"
        );
        let file = folder.path().join("a.wasm");
        assert_eq!(
            resolver.resolve(file.to_str().unwrap()).unwrap(),
            ("a".to_owned(), module)
        );
        let text = folder.path().join("text.wasm");
        assert_eq!(
            crate::message(&resolver.resolve(text.to_str().unwrap()).unwrap_err()),
            format!(
                "{} is not a WebAssembly module (a policy module is a .wasm file, as `make policies` \
                 builds them into target/policies)",
                text.display()
            )
        );
        assert!(registry.asked.borrow().is_empty());
    }
}
