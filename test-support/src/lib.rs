//! What the policies' unit tests share (a dev-dependency only): [`RecordingCluster`], a namespace's
//! objects that records every look-up, and builders of the objects and requests the rules review.
#![forbid(unsafe_code)]

use std::cell::RefCell;

use scaleguard_sdk::cluster::{Lookup, list_json_of};
use scaleguard_sdk::dgd::DgdView;
use scaleguard_sdk::{AdmissionRequest, Cluster, LookupError, Operation, ResourceKind};
use serde_json::{Value, json};

/// The namespace every builder puts its object in.
pub const NAMESPACE: &str = "default";
/// `kind` of a scaling adapter.
pub const ADAPTER_KIND: &str = "DynamoGraphDeploymentScalingAdapter";
/// Dynamo's deprecated API version.
pub const V1ALPHA1: &str = "nvidia.com/v1alpha1";
/// Dynamo's stored API version.
pub const V1BETA1: &str = "nvidia.com/v1beta1";
/// The look-up of HPAs, as [`RecordingCluster::calls`] records it.
pub const HPAS: &str = "autoscaling/v2/HorizontalPodAutoscaler";
/// The look-up of ScaledObjects.
pub const SCALED_OBJECTS: &str = "keda.sh/v1alpha1/ScaledObject";
/// The look-up of v1alpha1 DGDs.
pub const DGDS_V1ALPHA1: &str = "nvidia.com/v1alpha1/DynamoGraphDeployment";
/// The look-up of v1beta1 DGDs.
pub const DGDS_V1BETA1: &str = "nvidia.com/v1beta1/DynamoGraphDeployment";
/// The look-up of v1alpha1 adapters.
pub const ADAPTERS_V1ALPHA1: &str = "nvidia.com/v1alpha1/DynamoGraphDeploymentScalingAdapter";
/// The look-up of v1beta1 adapters.
pub const ADAPTERS_V1BETA1: &str = "nvidia.com/v1beta1/DynamoGraphDeploymentScalingAdapter";

/// A namespace's objects that records every look-up as `apiVersion/kind`. As the API server does, a
/// kind is served at every version of its group, and a list returns its objects whatever version they
/// were written in (unconverted here). Look-ups named in `not_served`, `not_granted` or `failing` are
/// refused the way Kubewarden's host refuses them.
#[derive(Debug, Default)]
pub struct RecordingCluster {
    /// The objects, each in its `metadata.namespace`.
    pub objects: Vec<Value>,
    /// Look-ups answered as a kind the cluster does not serve.
    pub not_served: Vec<&'static str>,
    /// Look-ups answered as a kind the policy was not granted.
    pub not_granted: Vec<&'static str>,
    /// Look-ups that fail (`connection refused`).
    pub failing: Vec<&'static str>,
    calls: RefCell<Vec<String>>,
}

impl RecordingCluster {
    /// A cluster holding `objects`.
    pub fn with(objects: Vec<Value>) -> Self {
        Self {
            objects,
            ..Self::default()
        }
    }

    /// The look-ups so far, in order.
    pub fn calls(&self) -> Vec<String> {
        self.calls.borrow().clone()
    }
}

impl Cluster for RecordingCluster {
    fn list_json(&self, lookup: &Lookup<'_>) -> Result<Vec<u8>, LookupError> {
        let (kind, namespace) = (lookup.kind, lookup.namespace);
        let call = kind.to_string();
        self.calls.borrow_mut().push(call.clone());
        if self.not_served.contains(&call.as_str()) {
            return Err(LookupError::NotServed(format!(
                "Cannot find resource {kind}"
            )));
        }
        if self.not_granted.contains(&call.as_str()) {
            return Err(LookupError::NotGranted(format!(
                "Policy has not been granted access to Kubernetes {kind} resources"
            )));
        }
        if self.failing.contains(&call.as_str()) {
            return Err(LookupError::Failed("connection refused".into()));
        }
        let text = |object: &Value, pointer: &str| {
            object
                .pointer(pointer)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let items: Vec<Value> = self
            .objects
            .iter()
            .filter(|o| ResourceKind::new(text(o, "/apiVersion"), "").group() == kind.group())
            .filter(|o| {
                text(o, "/kind") == kind.kind && text(o, "/metadata/namespace") == namespace
            })
            .cloned()
            .collect();
        Ok(list_json_of(&items))
    }
}

/// The request for `operation` (`CREATE`, `UPDATE`, ...) on `object`, with the stored `old_object`.
pub fn request(operation: &str, object: &Value, old_object: Option<&Value>) -> AdmissionRequest {
    AdmissionRequest::for_object(
        "test",
        Operation::from(operation.to_owned()),
        object.clone(),
        old_object.cloned().unwrap_or(Value::Null),
        None,
    )
}

/// An `autoscaling/v2` HPA named `name` scaling `target_kind` `target` of `target_api_version`.
pub fn hpa(name: &str, target_api_version: &str, target_kind: &str, target: &str) -> Value {
    json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {"scaleTargetRef": {"apiVersion": target_api_version, "kind": target_kind,
            "name": target}, "maxReplicas": 4}})
}

/// A KEDA ScaledObject named `name` scaling `target_kind` `target` of `target_api_version`.
pub fn scaled_object(
    name: &str,
    target_api_version: &str,
    target_kind: &str,
    target: &str,
) -> Value {
    json!({"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {"scaleTargetRef": {"apiVersion": target_api_version, "kind": target_kind,
            "name": target}}})
}

/// A v1alpha1 scaling adapter named `name` for service `service` of DGD `dgd`.
pub fn adapter(name: &str, dgd: &str, service: &str) -> Value {
    json!({"apiVersion": V1ALPHA1, "kind": ADAPTER_KIND,
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {"replicas": 1, "dgdRef": {"name": dgd, "serviceName": service}}})
}

/// A v1beta1 scaling adapter named `name` of DGD `dgd`; `dgd_ref` is `{componentName}` or
/// `{componentGroupName}`.
pub fn adapter_v1beta1(name: &str, dgd: &str, mut dgd_ref: Value) -> Value {
    dgd_ref["name"] = json!(dgd);
    json!({"apiVersion": V1BETA1, "kind": ADAPTER_KIND,
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {"replicas": 1, "dgdRef": dgd_ref}})
}

/// The view of a v1alpha1 DGD named `name` with `services` (`spec.services`).
pub fn dgd_view(name: &str, services: Value) -> DgdView {
    DgdView::from_object(&json!({"metadata": {"name": name}, "spec": {"services": services}}))
        .expect("a test DGD reads")
}

/// The view of a v1beta1 DGD named `name` with `spec`.
pub fn dgd_view_v1beta1(name: &str, spec: Value) -> DgdView {
    DgdView::from_object(&json!({"apiVersion": V1BETA1, "metadata": {"name": name}, "spec": spec}))
        .expect("a test DGD reads")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_every_version_of_a_group_in_the_namespace_and_records_refusals() {
        let mut other = adapter("b", "d", "decode");
        other["metadata"]["namespace"] = json!("elsewhere");
        let mut cluster = RecordingCluster::with(vec![
            adapter("a", "d", "decode"),
            adapter_v1beta1("c", "d", json!({"componentName": "decode"})),
            other,
            hpa("h", V1ALPHA1, ADAPTER_KIND, "a"),
        ]);
        let adapters = ResourceKind::of(V1BETA1, ADAPTER_KIND);
        let lookup = |kind| Lookup {
            kind,
            namespace: NAMESPACE,
            field_masks: &[],
        };
        let list = |cluster: &RecordingCluster, kind| {
            cluster.list_json(&lookup(kind)).map(|json| {
                let list: Value = serde_json::from_slice(&json).unwrap();
                list["items"].clone()
            })
        };
        let names: Vec<_> = list(&cluster, &adapters)
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["metadata"]["name"].clone())
            .collect();
        assert_eq!(names, ["a", "c"]);
        cluster.not_served = vec![ADAPTERS_V1BETA1];
        assert!(matches!(
            list(&cluster, &adapters),
            Err(LookupError::NotServed(_))
        ));
        cluster.failing = vec![HPAS];
        let hpas = ResourceKind::of("autoscaling/v2", "HorizontalPodAutoscaler");
        assert_eq!(
            list(&cluster, &hpas),
            Err(LookupError::Failed("connection refused".into()))
        );
        assert_eq!(cluster.calls(), [ADAPTERS_V1BETA1, ADAPTERS_V1BETA1, HPAS]);
    }

    #[test]
    fn requests_take_kind_name_and_namespace_from_the_object() {
        let object = adapter("a", "d", "decode");
        let update = request("UPDATE", &object, Some(&object));
        assert_eq!(update.operation, Operation::Update);
        assert_eq!(
            (update.namespace.as_str(), update.name.as_str()),
            (NAMESPACE, "a")
        );
        assert_eq!(update.kind.kind, ADAPTER_KIND);
        assert_eq!(update.old_object, object);
    }
}
