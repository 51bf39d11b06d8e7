//! `scaleguard push` and `scaleguard pull`: policy modules as OCI artifacts, laid out as `kwctl push`
//! lays them out — one layer holding the raw module (`application/vnd.wasm.content.layer.v1+wasm`), the
//! config blob `{}` (`application/vnd.wasm.config.v1+json`), and the metadata's one-line annotations plus
//! `org.opencontainers.image.source` on the manifest.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use oci_client::annotations::ORG_OPENCONTAINERS_IMAGE_SOURCE;
use oci_client::client::{ClientConfig, ClientProtocol, Config, ImageLayer};
use oci_client::manifest::{
    OCI_IMAGE_MEDIA_TYPE, OciImageManifest, WASM_CONFIG_MEDIA_TYPE, WASM_LAYER_MEDIA_TYPE,
};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use scaleguard_metadata::{METADATA_SECTION, PolicyMetadata, SOURCE_ANNOTATION};

use crate::modules::Puller;

/// Environment variables holding registry credentials; they win over the Docker config.
const USERNAME_VARIABLE: &str = "SCALEGUARD_REGISTRY_USERNAME";
/// See [`USERNAME_VARIABLE`].
const PASSWORD_VARIABLE: &str = "SCALEGUARD_REGISTRY_PASSWORD";

/// How to reach the registry.
#[derive(clap::Args)]
pub struct RegistryArgs {
    /// Talk plain HTTP to the registry (a local test registry); HTTPS otherwise.
    #[arg(long)]
    insecure: bool,
}

/// Arguments of `scaleguard push`.
#[derive(clap::Args)]
pub struct PushArgs {
    /// The annotated module.
    module: PathBuf,
    /// Where to push it: `[registry://]<registry>/<repository>:<tag>`.
    reference: String,
    #[command(flatten)]
    registry: RegistryArgs,
}

/// Arguments of `scaleguard pull`.
#[derive(clap::Args)]
pub struct PullArgs {
    /// What to pull: `[registry://]<registry>/<repository>:<tag>` or `...@sha256:<digest>`.
    reference: String,
    /// Where to write the module. `-o`/`--output` are kept as hidden aliases; elsewhere `-o` names a
    /// report format.
    #[arg(short = 'O', long = "output-path", short_alias = 'o', alias = "output")]
    output: PathBuf,
    #[command(flatten)]
    registry: RegistryArgs,
}

/// Pushes an annotated module and prints its immutable `<repository>@sha256:<digest>` reference.
pub fn push(args: PushArgs) -> Result<()> {
    let module = std::fs::read(&args.module)
        .with_context(|| format!("cannot read {}", args.module.display()))?;
    let Some(metadata) = PolicyMetadata::from_module(&module)
        .with_context(|| format!("{}", args.module.display()))?
    else {
        bail!(
            "{}: refusing to push an unannotated module (no {METADATA_SECTION} section): \
             run `scaleguard annotate` first",
            args.module.display()
        );
    };
    let reference = parse_reference(&args.reference)?;
    // A reference without a tag parses as `:latest`: a release is pushed to an explicit tag.
    let last_segment = args.reference.rsplit('/').next().unwrap_or_default();
    if reference.digest().is_some() || !last_segment.contains(':') {
        bail!(
            "{}: push to a tag, e.g. {}/{}:v{}",
            args.reference,
            reference.registry(),
            reference.repository(),
            metadata.version().unwrap_or("X.Y.Z")
        );
    }
    let layer = ImageLayer::new(module, WASM_LAYER_MEDIA_TYPE.to_owned(), None);
    let config = Config::new(b"{}".to_vec(), WASM_CONFIG_MEDIA_TYPE.to_owned(), None);
    let mut manifest = OciImageManifest::build(
        std::slice::from_ref(&layer),
        &config,
        Some(manifest_annotations(&metadata)),
    );
    // The OCI image spec asks for the media type in the manifest itself, not only in Content-Type.
    manifest.media_type = Some(OCI_IMAGE_MEDIA_TYPE.to_owned());
    let client = client(&args.registry);
    let auth = registry_auth(&reference)?;
    let digest = runtime()?.block_on(async {
        client
            .push(&reference, &[layer], config, &auth, Some(manifest))
            .await?;
        client.fetch_manifest_digest(&reference, &auth).await
    });
    let digest =
        digest.map_err(|e| registry_error(e, &format!("cannot push to {}", args.reference)))?;
    eprintln!("pushed {} to {}", args.module.display(), reference.whole());
    println!(
        "{}/{}@{digest}",
        reference.registry(),
        reference.repository()
    );
    Ok(())
}

/// Pulls a policy module into a file and prints its immutable reference.
pub fn pull(args: PullArgs) -> Result<()> {
    let pulled = fetch(&args.reference, &args.registry)?;
    std::fs::write(&args.output, &pulled.module)
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    eprintln!(
        "pulled {} to {} ({} bytes)",
        pulled.reference.whole(),
        args.output.display(),
        pulled.module.len()
    );
    println!(
        "{}/{}@{}",
        pulled.reference.registry(),
        pulled.reference.repository(),
        pulled.digest
    );
    Ok(())
}

/// `registry://` modules named by `--policy` (`run`, `check`) are pulled as `scaleguard pull` pulls
/// them, into memory.
impl Puller for RegistryArgs {
    fn pull(&self, reference: &str) -> Result<Vec<u8>> {
        Ok(fetch(reference, self)?.module)
    }
}

/// A policy module pulled from a registry.
struct Pulled {
    reference: Reference,
    /// The manifest's digest (empty when the registry gave none).
    digest: String,
    module: Vec<u8>,
}

/// Pulls the policy module `text` names: an artifact with the wasm config and exactly one layer.
fn fetch(text: &str, registry: &RegistryArgs) -> Result<Pulled> {
    let reference = parse_reference(text)?;
    let client = client(registry);
    let auth = registry_auth(&reference)?;
    let image = runtime()?
        .block_on(client.pull(&reference, &auth, vec![WASM_LAYER_MEDIA_TYPE]))
        .map_err(|e| registry_error(e, &format!("cannot pull {text}")))?;
    if image.config.media_type != WASM_CONFIG_MEDIA_TYPE {
        bail!(
            "{text}: config media type {} is not {WASM_CONFIG_MEDIA_TYPE}: not a policy module",
            image.config.media_type
        );
    }
    let [layer] = image.layers.as_slice() else {
        bail!(
            "{text}: {} layers, a policy module has exactly one",
            image.layers.len()
        );
    };
    Ok(Pulled {
        module: layer.data.to_vec(),
        digest: image.digest.unwrap_or_default(),
        reference,
    })
}

/// The manifest's annotations: the metadata's one-line annotations (multi-line ones, such as the
/// usage text, are dropped as `kwctl push` drops them) and `org.opencontainers.image.source`.
pub fn manifest_annotations(metadata: &PolicyMetadata) -> BTreeMap<String, String> {
    let mut annotations: BTreeMap<String, String> = metadata
        .annotations
        .iter()
        .filter(|(_, value)| !value.contains('\n'))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    if let Some(source) = metadata.annotation(SOURCE_ANNOTATION) {
        annotations.insert(
            ORG_OPENCONTAINERS_IMAGE_SOURCE.to_owned(),
            source.to_owned(),
        );
    }
    annotations
}

/// Parses `[registry://]<registry>/<repository>[:<tag>|@<digest>]`.
fn parse_reference(text: &str) -> Result<Reference> {
    let bare = text.strip_prefix("registry://").unwrap_or(text);
    if bare.contains("://") {
        bail!("{text}: not an OCI reference: expected [registry://]<registry>/<repository>:<tag>");
    }
    bare.parse().with_context(|| {
        format!("{text}: not an OCI reference: expected [registry://]<registry>/<repository>:<tag>")
    })
}

fn client(registry: &RegistryArgs) -> Client {
    // reqwest is built without a default TLS crypto provider: use ring, as the controller does.
    // An error means a provider is already installed, which is as good.
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::new(ClientConfig {
        protocol: if registry.insecure {
            ClientProtocol::Http
        } else {
            ClientProtocol::Https
        },
        ..ClientConfig::default()
    })
}

/// Credentials for the reference's registry: `$SCALEGUARD_REGISTRY_USERNAME` and
/// `$SCALEGUARD_REGISTRY_PASSWORD`, else the Docker config (`$DOCKER_CONFIG/config.json` or
/// `~/.docker/config.json`, credential helpers included), else anonymous.
fn registry_auth(reference: &Reference) -> Result<RegistryAuth> {
    if let (Ok(username), Ok(password)) = (
        std::env::var(USERNAME_VARIABLE),
        std::env::var(PASSWORD_VARIABLE),
    ) {
        return Ok(RegistryAuth::Basic(username, password));
    }
    let config_dir = std::env::var_os("DOCKER_CONFIG")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".docker")));
    let Some(config_path) = config_dir.map(|dir| dir.join("config.json")) else {
        return Ok(RegistryAuth::Anonymous);
    };
    let config = match std::fs::File::open(&config_path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Ok(RegistryAuth::Anonymous);
        }
        Err(error) => bail!("cannot read {}: {error}", config_path.display()),
    };
    use docker_credential::{CredentialRetrievalError as Missing, DockerCredential};
    let server = reference.resolve_registry();
    match docker_credential::get_credential_from_reader(std::io::BufReader::new(config), server) {
        Ok(DockerCredential::UsernamePassword(username, password)) => {
            Ok(RegistryAuth::Basic(username, password))
        }
        Ok(DockerCredential::IdentityToken(token)) => Ok(RegistryAuth::Bearer(token)),
        Err(Missing::NoCredentialConfigured) => Ok(RegistryAuth::Anonymous),
        Err(error) => bail!(
            "cannot read the credentials of {server} from {}: {error:?}",
            config_path.display()
        ),
    }
}

/// A registry error, with how to log in when the registry wants credentials.
fn registry_error(error: oci_client::errors::OciDistributionError, what: &str) -> anyhow::Error {
    let unauthorized = matches!(
        error,
        oci_client::errors::OciDistributionError::AuthenticationFailure(_)
            | oci_client::errors::OciDistributionError::UnauthorizedError { .. }
    ) || error.to_string().contains("code: 401");
    let error = anyhow::Error::new(error);
    if unauthorized {
        error.context(format!(
            "{what}: the registry wants credentials: `docker login`, or set \
             ${USERNAME_VARIABLE} and ${PASSWORD_VARIABLE}"
        ))
    } else {
        error.context(what.to_owned())
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}
