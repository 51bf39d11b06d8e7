//! The rule: every v1alpha1 service's deprecated `autoscaling` (present and not `null`, `{}` included)
//! and, when checked, `dynamoNamespace` gets the Dynamo operator's warning; `mode` decides what else
//! happens. A v1alpha1 `scalingAdapter: {}` without `enabled` is warned about in every mode: it is off in
//! v1alpha1 and on in v1beta1. v1beta1 has none of these fields, so its objects are only checked for shape.

use scaleguard_sdk::dgd::v1alpha1::DynamoGraphDeployment;
use scaleguard_sdk::dgd::{self, DgdVersion};
use scaleguard_sdk::response::BAD_REQUEST;
use scaleguard_sdk::{AdmissionRequest, Cluster, Operation, Policy, Verdict};
use serde_json::Value;

use crate::settings::{Mode, Settings};

/// The `dynamo-deprecated-autoscaling` policy.
#[derive(Debug, Clone, Copy)]
pub struct DeprecatedAutoscaling;

/// A deprecated field set on a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeprecatedField {
    /// The service's name.
    pub service: String,
    /// The field: `autoscaling` or `dynamoNamespace`.
    pub field: &'static str,
    /// The operator's warning for it.
    pub warning: String,
}

impl DeprecatedField {
    /// The field's path, `spec.services[<service>].<field>`.
    pub fn path(&self) -> String {
        format!("spec.services[{}].{}", self.service, self.field)
    }
}

impl Policy for DeprecatedAutoscaling {
    type Settings = Settings;

    fn evaluate(
        request: &AdmissionRequest,
        settings: &Settings,
        _cluster: &dyn Cluster,
    ) -> Verdict {
        let reviewed = matches!(request.operation, Operation::Create | Operation::Update);
        if !reviewed || !request.is_kind(dgd::GROUP, dgd::KIND) {
            return Verdict::accept();
        }
        let invalid =
            |error| Verdict::reject(BAD_REQUEST, format!("invalid {}: {error}", dgd::KIND));
        if DgdVersion::of_json(request.object.json()) == DgdVersion::V1beta1 {
            return match request.dgd_object() {
                Ok(_) => Verdict::accept(),
                Err(error) => invalid(error),
            };
        }
        let dgd: DynamoGraphDeployment = match request.object_as() {
            Ok(dgd) => dgd,
            Err(error) => return invalid(error),
        };
        let namespace = if dgd.metadata.namespace.is_empty() {
            &request.namespace
        } else {
            &dgd.metadata.namespace
        };
        let found = deprecated_fields(&dgd, namespace, settings.check_dynamo_namespace);
        let mut warnings: Vec<String> = found.iter().map(|f| f.warning.clone()).collect();
        warnings.extend(bare_adapter_markers(&dgd));
        if found.is_empty() {
            return Verdict::accept_with_warnings(warnings);
        }
        if request.updates_object_being_deleted(&dgd.metadata) {
            return Verdict::accept_with_warnings(warnings);
        }
        match settings.mode {
            Mode::Warn => Verdict::accept_with_warnings(warnings),
            Mode::Deny => Verdict::Reject {
                code: BAD_REQUEST,
                message: format!(
                    "deprecated fields are not allowed: {}; remove them and use DynamoGraphDeploymentScalingAdapter with HPA, KEDA, or Planner for autoscaling",
                    found
                        .iter()
                        .map(DeprecatedField::path)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                warnings,
            },
            Mode::Remove => match request.object.to_value() {
                Some(object) => Verdict::Mutate {
                    object: without_fields(&object, &found),
                    warnings,
                },
                None => Verdict::reject(
                    BAD_REQUEST,
                    format!("invalid {}: object: recursion limit exceeded", dgd::KIND),
                ),
            },
        }
    }
}

/// The deprecated fields of `dgd`, in service-name order, `autoscaling` before `dynamoNamespace`.
pub fn deprecated_fields(
    dgd: &DynamoGraphDeployment,
    namespace: &str,
    check_dynamo_namespace: bool,
) -> Vec<DeprecatedField> {
    let mut found = Vec::new();
    for (name, service) in &dgd.spec.services {
        if service.has_deprecated_autoscaling() {
            found.push(DeprecatedField {
                service: name.clone(),
                field: "autoscaling",
                warning: format!(
                    "spec.services[{name}].autoscaling is deprecated and ignored. Use DynamoGraphDeploymentScalingAdapter with HPA, KEDA, or Planner for autoscaling instead."
                ),
            });
        }
        if !check_dynamo_namespace {
            continue;
        }
        if let Some(value) = service.deprecated_dynamo_namespace() {
            let replacement = dgd::dynamo_namespace(
                namespace,
                &dgd.metadata.name,
                service.global_dynamo_namespace.unwrap_or(false),
            );
            found.push(DeprecatedField {
                service: name.clone(),
                field: "dynamoNamespace",
                warning: format!(
                    "spec.services[{name}].dynamoNamespace is deprecated and ignored. Value '{value}' will be replaced with '{replacement}'. Remove this field from your configuration"
                ),
            });
        }
    }
    found
}

/// A warning for every service whose `scalingAdapter` has no `enabled`, in service-name order.
pub fn bare_adapter_markers(dgd: &DynamoGraphDeployment) -> Vec<String> {
    dgd.spec
        .services
        .iter()
        .filter(|(_, service)| service.has_bare_adapter_marker())
        .map(|(name, _)| {
            format!(
                "spec.services[{name}].scalingAdapter has no 'enabled': the adapter is off in nvidia.com/v1alpha1, but the same 'scalingAdapter: {{}}' turns it on in nvidia.com/v1beta1; write 'scalingAdapter: {{enabled: true}}' for an adapter, or remove scalingAdapter for none"
            )
        })
        .collect()
}

/// `object` with the `found` fields removed; everything else is kept as submitted.
fn without_fields(object: &Value, found: &[DeprecatedField]) -> Value {
    let mut object = object.clone();
    for field in found {
        if let Some(service) = object
            .pointer_mut(&format!(
                "/spec/services/{}",
                escape_pointer(&field.service)
            ))
            .and_then(Value::as_object_mut)
        {
            service.remove(field.field);
        }
    }
    object
}

/// Escapes a key for a JSON pointer (RFC 6901).
fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;
    use scaleguard_sdk::parse::from_value;
    use serde_json::json;

    #[test]
    fn removal_keeps_everything_else() {
        let object = json!({"spec": {"services": {
            "a/b": {"autoscaling": {}, "replicas": 2, "dynamoNamespace": "x", "extra": [1]},
            "c": {"autoscaling": null}
        }}});
        let dgd: DynamoGraphDeployment = from_value(&object).unwrap();
        let found = deprecated_fields(&dgd, "ns", true);
        assert_eq!(
            found.iter().map(DeprecatedField::path).collect::<Vec<_>>(),
            [
                "spec.services[a/b].autoscaling",
                "spec.services[a/b].dynamoNamespace"
            ]
        );
        assert_eq!(
            without_fields(&object, &found),
            json!({"spec": {"services": {"a/b": {"replicas": 2, "extra": [1]}, "c": {"autoscaling": null}}}})
        );
    }

    #[test]
    fn an_object_too_deep_for_a_tree_is_refused_not_mutated() {
        let mut deep = json!(1);
        for _ in 0..200 {
            deep = json!([deep]);
        }
        let object = json!({"apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoGraphDeployment",
            "metadata": {"name": "d", "namespace": "ns"},
            "spec": {"services": {"a": {"autoscaling": {}, "extra": deep}}}});
        let request = AdmissionRequest::for_object(
            "1",
            Operation::Create,
            object,
            serde_json::Value::Null,
            None,
        );
        let settings = Settings {
            mode: Mode::Remove,
            ..Settings::default()
        };
        assert_eq!(
            DeprecatedAutoscaling::evaluate(&request, &settings, &scaleguard_sdk::EmptyCluster),
            Verdict::reject(
                BAD_REQUEST,
                "invalid DynamoGraphDeployment: object: recursion limit exceeded"
            )
        );
    }

    #[test]
    fn dynamo_namespace_can_be_ignored() {
        let dgd: DynamoGraphDeployment =
            from_value(&json!({"spec": {"services": {"a": {"dynamoNamespace": "x"}}}})).unwrap();
        assert!(deprecated_fields(&dgd, "ns", false).is_empty());
        assert_eq!(deprecated_fields(&dgd, "ns", true).len(), 1);
    }
}
