//! The GitOps hint no admission policy can give: a DGD kept in a repository that sets `replicas` on a
//! service whose scaling adapter is enabled. The API server accepts it, but Argo CD or Flux re-apply that
//! value over the autoscaler's at every sync, so the service flaps between the two.

use scaleguard_sdk::dgd::{self, DgdVersion, DgdView, Unit};
use scaleguard_sdk::meta::api_group;
use serde_json::Value;

/// The name the hint's findings carry where a policy's name would be.
pub const GITOPS_REPLICAS: &str = "gitops-replicas";

/// What the hint finds, in one sentence (a policy's `io.kubewarden.policy.description`).
pub const DESCRIPTION: &str = "Warns about replicas kept in Git for a DynamoGraphDeployment component whose \
    scaling adapter is enabled: Argo CD or Flux would re-apply them over the autoscaler's value at every sync";

/// The hint explained, in Markdown (a policy's README).
pub const HELP: &str = "\
# gitops-replicas

A DynamoGraphDeployment kept in Git that sets `replicas` on a component (v1alpha1: a service) or a \
component group whose scaling adapter is enabled is accepted by every admission policy, yet it is wrong: \
at every sync Argo CD or Flux re-applies that value over the one the autoscaler wrote into the adapter, \
and the component flaps between the two.

Omit the field (the adapter starts from it once; absent means 1), or have the GitOps tool ignore it, \
e.g. Argo CD's `ignoreDifferences` with `jsonPointers: [/spec/services/decode/replicas]` (v1alpha1) or \
`jqPathExpressions: ['.spec.components[] | select(.name == \"decode\") | .replicas']` (v1beta1).

`scaleguard check --settings 'gitops-replicas={\"deny\": true}'` makes its findings denials; \
`--skip gitops-replicas` turns it off.
";

/// The warnings for `object`: one per adapter-owned component (v1alpha1: service) or component group of
/// a DGD, of either version, that sets `replicas`. Objects that are not DGDs, or DGDs the model cannot
/// read (the policies report those), get none.
pub fn replicas_warnings(object: &Value) -> Vec<String> {
    let api_version = object
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    if api_group(api_version) != dgd::GROUP
        || object.get("kind").and_then(Value::as_str) != Some(dgd::KIND)
    {
        return Vec::new();
    }
    let Ok(dgd) = DgdView::from_object(object) else {
        return Vec::new();
    };
    dgd.units()
        .into_iter()
        .filter(Unit::adapter_enabled)
        .filter_map(|unit| {
            let replicas = match unit {
                Unit::Component(component) => component.replicas?,
                Unit::Group(group) => group.replicas?,
            };
            Some(warning(&dgd, unit, replicas))
        })
        .collect()
}

fn warning(dgd: &DgdView, unit: Unit<'_>, replicas: i32) -> String {
    let (path, name) = (unit.path(), unit.name());
    let adapter = dgd::adapter_name(dgd.name(), name);
    if dgd.version == DgdVersion::V1alpha1 {
        return format!(
            "{path}.replicas is set to {replicas} while the service's scaling adapter \
             {adapter} is enabled: Argo CD or Flux would re-apply {replicas} over the autoscaler's \
             value at every sync. Omit the field (the adapter starts from it once, absent means 1) \
             or have the GitOps tool ignore /spec/services/{name}/replicas (Argo CD ignoreDifferences)"
        );
    }
    // List items move when the list is reordered: an index path would ignore the wrong item.
    let (owner, list, fix) = match unit {
        Unit::Component(_) => (
            "component",
            ".spec.components[]",
            "Omit the field (the adapter starts from it once, absent means 1) or have the GitOps tool ignore it",
        ),
        Unit::Group(_) => (
            "component group",
            ".spec.experimental.componentGroups[]",
            "Have the GitOps tool ignore it",
        ),
    };
    format!(
        "{path}.replicas is set to {replicas} while the {owner}'s scaling adapter {adapter} is enabled: \
         Argo CD or Flux would re-apply {replicas} over the autoscaler's value at every sync. {fix} \
         (Argo CD ignoreDifferences: jqPathExpressions: ['{list} | select(.name == \"{name}\") | .replicas'])"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dgd(services: Value) -> Value {
        json!({"apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoGraphDeployment",
            "metadata": {"name": "sglang-agg", "namespace": "default"}, "spec": {"services": services}})
    }

    #[test]
    fn replicas_on_an_adapter_owned_service_are_flagged() {
        let warnings = replicas_warnings(&dgd(json!({
            "decode": {"replicas": 2, "scalingAdapter": {"enabled": true}},
            "Frontend": {"scalingAdapter": {"enabled": true}},
            "Planner": {"replicas": 1},
        })));
        assert_eq!(
            warnings,
            [
                "spec.services[decode].replicas is set to 2 while the service's scaling adapter \
              sglang-agg-decode is enabled: Argo CD or Flux would re-apply 2 over the autoscaler's \
              value at every sync. Omit the field (the adapter starts from it once, absent means 1) \
              or have the GitOps tool ignore /spec/services/decode/replicas (Argo CD ignoreDifferences)"
            ]
        );
    }

    #[test]
    fn services_without_an_adapter_and_other_kinds_are_left_alone() {
        assert!(
            replicas_warnings(&dgd(
                json!({"decode": {"replicas": 2, "scalingAdapter": {"enabled": false}}})
            ))
            .is_empty()
        );
        assert!(
            replicas_warnings(&dgd(json!({"decode": {"replicas": null,
            "scalingAdapter": {"enabled": true}}})))
            .is_empty()
        );
        let mut hpa = dgd(json!({"decode": {"replicas": 2, "scalingAdapter": {"enabled": true}}}));
        hpa["kind"] = json!("HorizontalPodAutoscaler");
        assert!(replicas_warnings(&hpa).is_empty());
        let malformed =
            dgd(json!({"decode": {"replicas": "two", "scalingAdapter": {"enabled": true}}}));
        assert!(replicas_warnings(&malformed).is_empty());
    }

    fn v1beta1(spec: Value) -> Value {
        json!({"apiVersion": "nvidia.com/v1beta1", "kind": "DynamoGraphDeployment",
            "metadata": {"name": "sglang-agg", "namespace": "default"}, "spec": spec})
    }

    #[test]
    fn v1beta1_components_and_groups_get_a_path_that_survives_reordering() {
        let warnings = replicas_warnings(&v1beta1(json!({
            "components": [
                {"name": "decode", "replicas": 2, "scalingAdapter": {}},
                {"name": "Frontend", "replicas": 1},
                {"name": "p", "replicas": 1}, {"name": "d", "replicas": 1}
            ],
            "experimental": {"componentGroups": [{"name": "Engines", "replicas": 3, "scalingAdapter": {},
                "components": [{"name": "p"}, {"name": "d"}]}]}
        })));
        assert_eq!(
            warnings,
            [
                "spec.components[decode].replicas is set to 2 while the component's scaling adapter \
                 sglang-agg-decode is enabled: Argo CD or Flux would re-apply 2 over the autoscaler's value \
                 at every sync. Omit the field (the adapter starts from it once, absent means 1) or have the \
                 GitOps tool ignore it (Argo CD ignoreDifferences: jqPathExpressions: \
                 ['.spec.components[] | select(.name == \"decode\") | .replicas'])",
                "spec.experimental.componentGroups[Engines].replicas is set to 3 while the component \
                 group's scaling adapter sglang-agg-engines is enabled: Argo CD or Flux would re-apply 3 \
                 over the autoscaler's value at every sync. Have the GitOps tool ignore it (Argo CD \
                 ignoreDifferences: jqPathExpressions: ['.spec.experimental.componentGroups[] | \
                 select(.name == \"Engines\") | .replicas'])"
            ]
        );
        let unmarked = v1beta1(json!({"components": [{"name": "decode", "replicas": 2}]}));
        assert!(replicas_warnings(&unmarked).is_empty());
    }
}
