//! A module's embedded metadata as `PolicyModule` reads it (the model lives in `scaleguard-sdk`,
//! re-exported as `scaleguard_host::metadata`).

use std::borrow::Cow;

use scaleguard_host::{Limits, PolicyModule};
use scaleguard_metadata::{METADATA_SECTION, PolicyMetadata, embed};

const METADATA: &str = r#"
rules:
  - apiGroups: ["nvidia.com"]
    apiVersions: ["v1alpha1"]
    resources: ["dynamographdeployments"]
    operations: ["CREATE", "UPDATE"]
mutating: false
contextAwareResources:
  - apiVersion: nvidia.com/v1alpha1
    kind: DynamoGraphDeploymentScalingAdapter
"#;

fn metadata() -> PolicyMetadata {
    PolicyMetadata::from_yaml(METADATA, "metadata.yml").unwrap()
}

/// A valid module with a type section.
fn plain_module() -> Vec<u8> {
    let mut module = wasm_encoder::Module::new();
    let mut types = wasm_encoder::TypeSection::new();
    types.ty().function([], []);
    module.section(&types);
    module.finish()
}

#[test]
fn policy_modules_expose_their_metadata() {
    let plain = plain_module();
    let module = PolicyModule::from_bytes("plain", &plain, Limits::default()).unwrap();
    assert_eq!(module.metadata(), None);
    let annotated = embed(&plain, &metadata()).unwrap();
    let module = PolicyModule::from_bytes("annotated", &annotated, Limits::default()).unwrap();
    assert_eq!(module.metadata(), Some(&metadata()));
    assert!(
        module.granted().is_empty(),
        "look-ups are granted explicitly"
    );
    let mut broken = wasm_encoder::Module::new();
    broken.section(&wasm_encoder::CustomSection {
        name: Cow::Borrowed(METADATA_SECTION),
        data: Cow::Borrowed(b"{"),
    });
    let error = PolicyModule::from_bytes("broken", &broken.finish(), Limits::default())
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with(
            "cannot load policy module broken: custom section io.kubewarden.metadata: "
        ),
        "{error}"
    );
}
