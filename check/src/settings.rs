//! Policy settings found among the inputs: a ClusterAdmissionPolicy (`policies.kubewarden.io`) whose
//! `spec.module` names a policy gives that policy its `spec.settings` (`--use-cluster-policies`).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::input::Document;

/// API group of Kubewarden's policy resources.
const KUBEWARDEN_GROUP: &str = "policies.kubewarden.io";

/// The policy a module reference names: the last path segment, without tag or digest
/// (`registry://ghcr.io/scaleguard/policies/dynamo-replica-ownership:v0.1.0` ->
/// `dynamo-replica-ownership`, `file:///x/dynamo-replica-ownership.wasm` -> the same).
pub fn policy_name_of_module(module: &str) -> &str {
    let without_digest = module.split_once('@').map_or(module, |(name, _)| name);
    let last = without_digest.rsplit('/').next().unwrap_or(without_digest);
    let without_tag = last.split_once(':').map_or(last, |(name, _)| name);
    without_tag.strip_suffix(".wasm").unwrap_or(without_tag)
}

/// The settings each ClusterAdmissionPolicy among `documents` gives, by policy name, with the document
/// that gave them. A later manifest for the same policy wins, as a later `kubectl apply` would.
pub fn cluster_policy_settings(documents: &[Document]) -> BTreeMap<String, (Value, &Document)> {
    let mut settings = BTreeMap::new();
    for document in documents {
        let group = scaleguard_sdk::meta::api_group(document.api_version());
        if group != KUBEWARDEN_GROUP || document.kind() != "ClusterAdmissionPolicy" {
            continue;
        }
        let Some(module) = document
            .object
            .pointer("/spec/module")
            .and_then(Value::as_str)
        else {
            continue;
        };
        let value = document
            .object
            .pointer("/spec/settings")
            .cloned()
            .unwrap_or(Value::Null);
        settings.insert(policy_name_of_module(module).to_owned(), (value, document));
    }
    settings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{Format, parse};

    #[test]
    fn module_references_name_their_policy() {
        for module in [
            "registry://ghcr.io/scaleguard/policies/dynamo-replica-ownership:v0.1.0",
            "registry://ghcr.io/scaleguard/policies/dynamo-replica-ownership@sha256:abc",
            "ghcr.io/scaleguard/policies/dynamo-replica-ownership:v0.1.0@sha256:abc",
            "file:///opt/policies/dynamo-replica-ownership.wasm",
            "dynamo-replica-ownership",
        ] {
            assert_eq!(
                policy_name_of_module(module),
                "dynamo-replica-ownership",
                "{module}"
            );
        }
    }

    #[test]
    fn cluster_admission_policies_give_settings() {
        let text = r#"
apiVersion: policies.kubewarden.io/v1
kind: ClusterAdmissionPolicy
metadata: {name: replica-ownership}
spec:
  module: registry://ghcr.io/scaleguard/policies/dynamo-replica-ownership:v0.1.0
  settings: {authorizedUsers: [alice]}
---
apiVersion: policies.kubewarden.io/v1
kind: ClusterAdmissionPolicy
metadata: {name: deprecated}
spec:
  module: registry://ghcr.io/scaleguard/policies/dynamo-deprecated-autoscaling:v0.1.0
---
apiVersion: v1
kind: ConfigMap
metadata: {name: other}
data: {module: x}
"#;
        let parsed = parse("policies.yaml", text, Format::Yaml, "default");
        let settings = cluster_policy_settings(&parsed.documents);
        assert_eq!(settings.len(), 2);
        let (value, document) = &settings["dynamo-replica-ownership"];
        assert_eq!(value, &serde_json::json!({"authorizedUsers": ["alice"]}));
        assert_eq!(document.line, 2);
        assert_eq!(settings["dynamo-deprecated-autoscaling"].0, Value::Null);
    }
}
