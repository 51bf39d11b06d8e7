//! The GitOps hint no admission policy can give: a DGD kept in a repository that sets `replicas` on a
//! service whose scaling adapter is enabled. The API server accepts it, but Argo CD or Flux re-apply that
//! value over the autoscaler's at every sync, so the service flaps between the two.

use scaleguard_sdk::dgd::{self, DynamoGraphDeployment};
use scaleguard_sdk::meta::api_group;
use scaleguard_sdk::parse::from_value;
use serde_json::Value;

/// The name the hint's findings carry where a policy's name would be.
pub const GITOPS_REPLICAS: &str = "gitops-replicas";

/// The warnings for `object`: one per adapter-enabled service of a DGD that sets `replicas`. Objects
/// that are not DGDs, or DGDs the model cannot read (the policies report those), get none.
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
    let Ok(dgd) = from_value::<DynamoGraphDeployment>(object) else {
        return Vec::new();
    };
    dgd.spec
        .services
        .iter()
        .filter(|(_, service)| service.adapter_enabled())
        .filter_map(|(name, service)| {
            let replicas = service.replicas?;
            let adapter = dgd::adapter_name(&dgd.metadata.name, name);
            Some(format!(
                "spec.services[{name}].replicas is set to {replicas} while the service's scaling adapter \
                 {adapter} is enabled: Argo CD or Flux would re-apply {replicas} over the autoscaler's \
                 value at every sync. Omit the field (the adapter starts from it once, absent means 1) \
                 or have the GitOps tool ignore /spec/services/{name}/replicas (Argo CD ignoreDifferences)"
            ))
        })
        .collect()
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
}
