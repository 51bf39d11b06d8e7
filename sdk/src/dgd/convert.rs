//! Conversion of DynamoGraphDeployments and their scaling adapters between `nvidia.com/v1alpha1` and
//! `nvidia.com/v1beta1`, following the operator's conversion rules: the service map becomes the
//! component list keyed by `name` (sorted by name), `componentType` + `subComponentType` become `type`,
//! `scalingAdapter.enabled: true` becomes the marker's presence, `resources.*.gpu` becomes the `main`
//! container's `nvidia.com/gpu`, adapters' `dgdRef.serviceName` becomes `componentName`.
//!
//! Conversion works on the JSON object, so fields it does not know travel unchanged. A value with no
//! field in the target version is left out and reported as a [`Note`], never dropped silently.

use serde_json::{Map, Value, json};

use super::{DgdVersion, KIND, v1beta1};
use crate::adapter;

/// Something a conversion could not carry over as it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// The JSON path of the value in the source object (`spec.services[decode].autoscaling`).
    pub path: String,
    /// What happened to it.
    pub message: String,
}

/// A converted object and what the conversion reported.
#[derive(Debug, Clone, PartialEq)]
pub struct Conversion {
    /// The object in the target version.
    pub object: Value,
    /// Values that have no field in the target version, and other things worth a warning.
    pub notes: Vec<Note>,
}

/// Why an object could not be converted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvertError {
    /// The JSON path of the offending value.
    pub path: String,
    /// What is wrong with it.
    pub reason: String,
}

impl std::fmt::Display for ConvertError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.reason)
    }
}

impl std::error::Error for ConvertError {}

/// Whether `object` is a DGD or DGDSA of group `nvidia.com` that [`convert`] handles.
pub fn is_convertible(object: &Value) -> bool {
    let api_version = object
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    let kind = object.get("kind").and_then(Value::as_str).unwrap_or("");
    DgdVersion::of(api_version).is_some() && (kind == KIND || kind == adapter::KIND)
}

/// Converts a DGD or DGDSA `object` to `target`. An object already in `target` is returned unchanged;
/// `None` when the object is not one [`is_convertible`] accepts.
pub fn convert(object: &Value, target: DgdVersion) -> Option<Result<Conversion, ConvertError>> {
    if !is_convertible(object) {
        return None;
    }
    let source = DgdVersion::of_object(object);
    let kind = object.get("kind").and_then(Value::as_str).unwrap_or("");
    if source == target {
        return Some(Ok(Conversion {
            object: object.clone(),
            notes: Vec::new(),
        }));
    }
    let mut converter = Converter::default();
    let result = match (kind == KIND, target) {
        (true, DgdVersion::V1beta1) => converter.dgd_to_v1beta1(object),
        (true, DgdVersion::V1alpha1) => converter.dgd_to_v1alpha1(object),
        (false, _) => converter.adapter_to(object, target),
    };
    Some(result.map(|object| Conversion {
        object,
        notes: converter.notes,
    }))
}

#[derive(Default)]
struct Converter {
    notes: Vec<Note>,
}

/// An object's map, or an error naming `path`.
fn as_map<'a>(value: &'a Value, path: &str) -> Result<&'a Map<String, Value>, ConvertError> {
    value.as_object().ok_or_else(|| ConvertError {
        path: path.to_owned(),
        reason: "expected an object".to_owned(),
    })
}

/// `value` as a map, `null` and absence as an empty one.
fn map_or_empty(value: Option<&Value>, path: &str) -> Result<Map<String, Value>, ConvertError> {
    match value {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(value) => as_map(value, path).cloned(),
    }
}

impl Converter {
    fn note(&mut self, path: String, message: impl Into<String>) {
        self.notes.push(Note {
            path,
            message: message.into(),
        });
    }

    /// Copies `object` with its `apiVersion` set to `target`, `spec` and `status` still to convert.
    fn header(object: &Value, target: DgdVersion) -> Result<Map<String, Value>, ConvertError> {
        let mut out = as_map(object, "")?.clone();
        out.insert("apiVersion".into(), json!(target.api_version()));
        Ok(out)
    }

    fn dgd_to_v1beta1(&mut self, object: &Value) -> Result<Value, ConvertError> {
        let mut out = Self::header(object, DgdVersion::V1beta1)?;
        if let Some(spec) = object.get("spec").filter(|s| !s.is_null()) {
            let mut spec = as_map(spec, "spec")?.clone();
            if let Some(services) = spec.remove("services") {
                let services = map_or_empty(Some(&services), "spec.services")?;
                let mut components = Vec::new();
                for (name, service) in &services {
                    let path = format!("spec.services[{name}]");
                    components.push(self.service_to_component(name, service, &path)?);
                }
                spec.insert("components".into(), Value::Array(components));
            }
            out.insert("spec".into(), Value::Object(spec));
        }
        rename_status(&mut out, "services", "components")?;
        Ok(Value::Object(out))
    }

    fn service_to_component(
        &mut self,
        name: &str,
        service: &Value,
        path: &str,
    ) -> Result<Value, ConvertError> {
        let service = map_or_empty(Some(service), path)?;
        let mut component = Map::new();
        component.insert("name".into(), json!(name));
        let mut main_container = Map::new();
        let mut pod_spec = Map::new();
        let component_type = service.get("componentType").and_then(Value::as_str);
        let sub_type = service.get("subComponentType").and_then(Value::as_str);
        let folded = matches!(component_type, None | Some("" | "worker"))
            && matches!(sub_type, Some("prefill" | "decode"));
        for (field, value) in &service {
            let field_path = format!("{path}.{field}");
            match field.as_str() {
                "componentType" => {
                    if !folded && !value.is_null() {
                        component.insert("type".into(), value.clone());
                    }
                }
                "subComponentType" => match sub_type {
                    _ if folded => {
                        component.insert("type".into(), json!(sub_type));
                    }
                    None | Some("") => {}
                    Some(other) => self.note(
                        field_path,
                        format!(
                            "subComponentType '{other}' has no v1beta1 field (only a worker's prefill or decode becomes its `type`); left out"
                        ),
                    ),
                },
                "scalingAdapter" => self.adapter_toggle_to_marker(value, &mut component, &field_path),
                "resources" => {
                    let resources = map_or_empty(Some(value), &field_path)?;
                    for (list, quantities) in resources {
                        let list_path = format!("{field_path}.{list}");
                        let mut quantities = map_or_empty(Some(&quantities), &list_path)?;
                        if let Some(gpu) = quantities.remove("gpu") {
                            quantities.insert(v1beta1::GPU_RESOURCE.into(), gpu);
                        }
                        let resources = main_container
                            .entry("resources")
                            .or_insert_with(|| json!({}));
                        resources[list.as_str()] = Value::Object(quantities);
                    }
                }
                "extraPodSpec" => {
                    let mut extra = map_or_empty(Some(value), &field_path)?;
                    if let Some(main) = extra.remove("mainContainer") {
                        let main = map_or_empty(Some(&main), &format!("{field_path}.mainContainer"))?;
                        for (key, value) in main {
                            main_container.entry(key).or_insert(value);
                        }
                    }
                    pod_spec.extend(extra);
                }
                "envs" => {
                    main_container.insert("env".into(), value.clone());
                }
                "autoscaling" | "dynamoNamespace" => {
                    if !value.is_null() {
                        self.note(
                            field_path,
                            format!("{field} is deprecated and ignored, and has no v1beta1 field; left out"),
                        );
                    }
                }
                _ => {
                    component.insert(field.clone(), value.clone());
                }
            }
        }
        if !main_container.is_empty() || !pod_spec.is_empty() {
            main_container.insert("name".into(), json!(v1beta1::MAIN_CONTAINER));
            let mut containers = vec![Value::Object(main_container)];
            if let Some(Value::Array(others)) = pod_spec.remove("containers") {
                containers.extend(others);
            }
            pod_spec.insert("containers".into(), Value::Array(containers));
            component.insert("podTemplate".into(), json!({"spec": pod_spec}));
        }
        Ok(Value::Object(component))
    }

    fn adapter_toggle_to_marker(
        &mut self,
        toggle: &Value,
        component: &mut Map<String, Value>,
        path: &str,
    ) {
        match toggle.get("enabled") {
            Some(Value::Bool(true)) => {
                component.insert("scalingAdapter".into(), json!({}));
            }
            Some(Value::Bool(false)) => {}
            None | Some(Value::Null) if toggle.is_object() => self.note(
                path.to_owned(),
                "scalingAdapter: {} without `enabled` is off in v1alpha1, but its presence turns the adapter on in v1beta1; left out (write `scalingAdapter: {enabled: true}` in v1alpha1, or keep `scalingAdapter: {}` in v1beta1, to have an adapter)",
            ),
            _ => {}
        }
    }

    fn dgd_to_v1alpha1(&mut self, object: &Value) -> Result<Value, ConvertError> {
        let mut out = Self::header(object, DgdVersion::V1alpha1)?;
        if let Some(spec) = object.get("spec").filter(|s| !s.is_null()) {
            let mut spec = as_map(spec, "spec")?.clone();
            if let Some(experimental) = spec.get_mut("experimental").and_then(Value::as_object_mut)
                && let Some(groups) = experimental.remove("componentGroups")
            {
                self.note(
                    "spec.experimental.componentGroups".into(),
                    format!(
                        "component groups have no v1alpha1 field; left out: {}",
                        serde_json::to_string(&groups).unwrap_or_default()
                    ),
                );
                if experimental.is_empty() {
                    spec.remove("experimental");
                }
            }
            if let Some(components) = spec.remove("components") {
                let Value::Array(components) = components else {
                    return Err(ConvertError {
                        path: "spec.components".into(),
                        reason: "expected a list".into(),
                    });
                };
                let mut services = Map::new();
                for (index, component) in components.iter().enumerate() {
                    let name = component
                        .get("name")
                        .and_then(Value::as_str)
                        .ok_or_else(|| ConvertError {
                            path: format!("spec.components[{index}].name"),
                            reason: "a component needs a name".into(),
                        })?;
                    if services.contains_key(name) {
                        // The API server refuses such a list (`listMapKey: name`); a map cannot hold it.
                        return Err(ConvertError {
                            path: format!("spec.components[{index}].name"),
                            reason: format!("component name {name} is listed twice"),
                        });
                    }
                    let path = format!("spec.components[{name}]");
                    let service = self.component_to_service(component, &path)?;
                    services.insert(name.to_owned(), service);
                }
                spec.insert("services".into(), Value::Object(services));
            }
            out.insert("spec".into(), Value::Object(spec));
        }
        rename_status(&mut out, "components", "services")?;
        Ok(Value::Object(out))
    }

    fn component_to_service(
        &mut self,
        component: &Value,
        path: &str,
    ) -> Result<Value, ConvertError> {
        let component = as_map(component, path)?;
        let mut service = Map::new();
        for (field, value) in component {
            let field_path = format!("{path}.{field}");
            match field.as_str() {
                "name" => {}
                "type" => match value.as_str() {
                    Some(role @ ("prefill" | "decode")) => {
                        service.insert("componentType".into(), json!("worker"));
                        service.insert("subComponentType".into(), json!(role));
                    }
                    _ => {
                        service.insert("componentType".into(), value.clone());
                    }
                },
                "scalingAdapter" => {
                    if !value.is_null() {
                        service.insert("scalingAdapter".into(), json!({"enabled": true}));
                    }
                }
                "podTemplate" => self.pod_template_to_service(value, &mut service, &field_path)?,
                "minAvailable" | "roles" | "engineGroup" => self.note(
                    field_path,
                    format!("{field} has no v1alpha1 field; left out"),
                ),
                _ => {
                    service.insert(field.clone(), value.clone());
                }
            }
        }
        Ok(Value::Object(service))
    }

    fn pod_template_to_service(
        &mut self,
        template: &Value,
        service: &mut Map<String, Value>,
        path: &str,
    ) -> Result<(), ConvertError> {
        let template = map_or_empty(Some(template), path)?;
        for (field, value) in &template {
            if field != "spec" && !value.is_null() {
                self.note(
                    format!("{path}.{field}"),
                    format!("podTemplate.{field} has no v1alpha1 field; left out"),
                );
            }
        }
        let spec_path = format!("{path}.spec");
        let mut pod_spec = map_or_empty(template.get("spec"), &spec_path)?;
        let containers = match pod_spec.remove("containers") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(containers)) => containers,
            Some(_) => {
                return Err(ConvertError {
                    path: format!("{spec_path}.containers"),
                    reason: "expected a list".into(),
                });
            }
        };
        let (main, others): (Vec<Value>, Vec<Value>) = containers
            .into_iter()
            .partition(|c| c.get("name").and_then(Value::as_str) == Some(v1beta1::MAIN_CONTAINER));
        if !others.is_empty() {
            pod_spec.insert("containers".into(), Value::Array(others));
        }
        if let Some(main) = main.into_iter().next() {
            let mut main = map_or_empty(Some(&main), &format!("{spec_path}.containers[main]"))?;
            main.remove("name");
            if let Some(resources) = main.remove("resources") {
                let resources_path = format!("{spec_path}.containers[main].resources");
                let mut resources = map_or_empty(Some(&resources), &resources_path)?;
                for list in resources.values_mut() {
                    if let Some(quantities) = list.as_object_mut()
                        && let Some(gpu) = quantities.remove(v1beta1::GPU_RESOURCE)
                    {
                        let gpu = match gpu {
                            Value::Number(number) => json!(number.to_string()),
                            other => other,
                        };
                        quantities.insert("gpu".into(), gpu);
                    }
                }
                service.insert("resources".into(), Value::Object(resources));
            }
            if let Some(env) = main.remove("env") {
                service.insert("envs".into(), env);
            }
            if !main.is_empty() {
                pod_spec.insert("mainContainer".into(), Value::Object(main));
            }
        }
        if !pod_spec.is_empty() {
            service.insert("extraPodSpec".into(), Value::Object(pod_spec));
        }
        Ok(())
    }

    fn adapter_to(&mut self, object: &Value, target: DgdVersion) -> Result<Value, ConvertError> {
        let mut out = Self::header(object, target)?;
        let Some(dgd_ref) = out
            .get_mut("spec")
            .and_then(|spec| spec.get_mut("dgdRef"))
            .and_then(Value::as_object_mut)
        else {
            return Ok(Value::Object(out));
        };
        let (from, to) = match target {
            DgdVersion::V1beta1 => ("serviceName", "componentName"),
            DgdVersion::V1alpha1 => ("componentName", "serviceName"),
        };
        if let Some(name) = dgd_ref.remove(from) {
            dgd_ref.insert(to.into(), name);
        }
        if target == DgdVersion::V1alpha1
            && let Some(group) = dgd_ref.remove("componentGroupName")
        {
            self.note(
                "spec.dgdRef.componentGroupName".into(),
                format!(
                    "an adapter of component group {} has no v1alpha1 form; left out",
                    group.as_str().unwrap_or_default()
                ),
            );
        }
        Ok(Value::Object(out))
    }
}

/// Renames `status.<from>` to `status.<to>` (the per-component status map).
fn rename_status(out: &mut Map<String, Value>, from: &str, to: &str) -> Result<(), ConvertError> {
    if let Some(status) = out.get_mut("status").filter(|s| !s.is_null()) {
        let status = status.as_object_mut().ok_or_else(|| ConvertError {
            path: "status".into(),
            reason: "expected an object".into(),
        })?;
        if let Some(value) = status.remove(from) {
            status.insert(to.into(), value);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dgd::DgdView;

    fn to(object: Value, target: DgdVersion) -> Conversion {
        convert(&object, target).unwrap().unwrap()
    }

    fn guide_v1alpha1() -> Value {
        json!({
            "apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoGraphDeployment",
            "metadata": {"name": "sglang-agg", "namespace": "default"},
            "spec": {"backendFramework": "sglang", "services": {
                "decode": {"componentType": "worker", "replicas": 1, "scalingAdapter": {"enabled": true},
                    "resources": {"limits": {"gpu": "1"}},
                    "extraPodSpec": {"mainContainer": {"image": "sglang:1.3.0"}}},
                "Frontend": {"componentType": "frontend", "replicas": 1,
                    "extraPodSpec": {"mainContainer": {"image": "sglang:1.3.0"}}}
            }}
        })
    }

    #[test]
    fn the_guides_dgd_becomes_the_v1beta1_shape() {
        let converted = to(guide_v1alpha1(), DgdVersion::V1beta1);
        assert_eq!(converted.notes, []);
        assert_eq!(
            converted.object,
            json!({
                "apiVersion": "nvidia.com/v1beta1", "kind": "DynamoGraphDeployment",
                "metadata": {"name": "sglang-agg", "namespace": "default"},
                "spec": {"backendFramework": "sglang", "components": [
                    {"name": "Frontend", "type": "frontend", "replicas": 1,
                     "podTemplate": {"spec": {"containers": [{"name": "main", "image": "sglang:1.3.0"}]}}},
                    {"name": "decode", "type": "worker", "replicas": 1, "scalingAdapter": {},
                     "podTemplate": {"spec": {"containers": [{"name": "main", "image": "sglang:1.3.0",
                        "resources": {"limits": {"nvidia.com/gpu": "1"}}}]}}}
                ]}
            })
        );
    }

    #[test]
    fn there_and_back_keeps_what_the_rules_read() {
        let original = guide_v1alpha1();
        let beta = to(original.clone(), DgdVersion::V1beta1).object;
        let back = to(beta.clone(), DgdVersion::V1alpha1);
        assert_eq!(back.notes, []);
        assert_eq!(back.object, original);
        let strip = |view: DgdView| {
            view.components
                .into_iter()
                .map(|mut c| {
                    c.path.clear();
                    c
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(
            strip(DgdView::from_object(&beta).unwrap()),
            strip(DgdView::from_object(&original).unwrap())
        );
    }

    #[test]
    fn roles_fold_and_unfold() {
        let object = json!({"apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoGraphDeployment",
            "spec": {"services": {
                "p": {"componentType": "worker", "subComponentType": "prefill"},
                "w": {"componentType": "worker", "subComponentType": "aggregated"},
                "Planner": {"componentType": "planner"}}}});
        let converted = to(object, DgdVersion::V1beta1);
        let types: Vec<_> = converted.object["spec"]["components"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| format!("{}={}", c["name"], c["type"]))
            .collect();
        assert_eq!(
            types,
            [
                r#""Planner"="planner""#,
                r#""p"="prefill""#,
                r#""w"="worker""#
            ]
        );
        assert_eq!(
            converted.notes,
            [Note {
                path: "spec.services[w].subComponentType".into(),
                message: "subComponentType 'aggregated' has no v1beta1 field (only a worker's prefill or decode becomes its `type`); left out".into()
            }]
        );
        let back = to(converted.object, DgdVersion::V1alpha1).object;
        assert_eq!(
            back["spec"]["services"]["p"],
            json!({"componentType": "worker", "subComponentType": "prefill"})
        );
    }

    #[test]
    fn values_without_a_v1beta1_field_are_reported() {
        let object = json!({"apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoGraphDeployment",
            "spec": {"services": {"decode": {"autoscaling": {"enabled": true}, "dynamoNamespace": "x",
                "scalingAdapter": {}}}}});
        let converted = to(object, DgdVersion::V1beta1);
        let paths: Vec<_> = converted.notes.iter().map(|n| n.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "spec.services[decode].autoscaling",
                "spec.services[decode].dynamoNamespace",
                "spec.services[decode].scalingAdapter"
            ]
        );
        assert_eq!(
            converted.object["spec"]["components"],
            json!([{"name": "decode"}])
        );
    }

    #[test]
    fn groups_and_sidecars_going_back() {
        let object = json!({"apiVersion": "nvidia.com/v1beta1", "kind": "DynamoGraphDeployment",
            "spec": {"components": [{"name": "decode", "type": "decode", "minAvailable": 1,
                "podTemplate": {"spec": {"containers": [
                    {"name": "sidecar", "image": "s"},
                    {"name": "main", "image": "m", "resources": {"limits": {"nvidia.com/gpu": 2}}}]}}}],
              "experimental": {"componentGroups": [{"name": "g", "replicas": 1, "components": [{"name": "decode"}]}]}}});
        let converted = to(object, DgdVersion::V1alpha1);
        assert_eq!(
            converted.object["spec"],
            json!({"services": {"decode": {"componentType": "worker", "subComponentType": "decode",
                "resources": {"limits": {"gpu": "2"}},
                "extraPodSpec": {"containers": [{"name": "sidecar", "image": "s"}], "mainContainer": {"image": "m"}}}}})
        );
        let paths: Vec<_> = converted.notes.iter().map(|n| n.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "spec.experimental.componentGroups",
                "spec.components[decode].minAvailable"
            ]
        );
    }

    #[test]
    fn adapters_rename_their_reference() {
        let adapter = json!({"apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoGraphDeploymentScalingAdapter",
            "metadata": {"name": "sglang-agg-decode"},
            "spec": {"replicas": 2, "dgdRef": {"name": "sglang-agg", "serviceName": "decode"}}});
        let beta = to(adapter.clone(), DgdVersion::V1beta1).object;
        assert_eq!(
            beta["spec"]["dgdRef"],
            json!({"name": "sglang-agg", "componentName": "decode"})
        );
        assert_eq!(to(beta, DgdVersion::V1alpha1).object, adapter);
        let group = json!({"apiVersion": "nvidia.com/v1beta1", "kind": "DynamoGraphDeploymentScalingAdapter",
            "spec": {"dgdRef": {"name": "d", "componentGroupName": "Engines"}}});
        assert_eq!(to(group, DgdVersion::V1alpha1).notes.len(), 1);
    }

    #[test]
    fn other_objects_are_not_converted_and_bad_shapes_are_errors() {
        assert!(
            convert(
                &json!({"apiVersion": "v1", "kind": "ConfigMap"}),
                DgdVersion::V1beta1
            )
            .is_none()
        );
        let bad = json!({"apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoGraphDeployment",
            "spec": {"services": []}});
        assert_eq!(
            convert(&bad, DgdVersion::V1beta1)
                .unwrap()
                .unwrap_err()
                .to_string(),
            "spec.services: expected an object"
        );
        // Found by the conversion's fuzz target: a second `decode` would overwrite the first service.
        let twice = json!({"apiVersion": "nvidia.com/v1beta1", "kind": "DynamoGraphDeployment",
            "spec": {"components": [{"name": "decode", "replicas": 1},
                {"name": "decode", "replicas": 4}]}});
        assert_eq!(
            convert(&twice, DgdVersion::V1alpha1)
                .unwrap()
                .unwrap_err()
                .to_string(),
            "spec.components[1].name: component name decode is listed twice"
        );
    }
}
