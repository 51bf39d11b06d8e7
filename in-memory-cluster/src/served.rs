//! An object as Kubewarden's evaluator serves it to a look-up (its reflector's `modify_object`, 1.33+):
//! `metadata.managedFields` and the `kubectl.kubernetes.io/last-applied-configuration` annotation
//! dropped and, when the look-up names `field_masks`, of everything but `apiVersion`, `kind` and
//! `metadata` only the masked fields. A mask is a set of dot-separated paths (`spec.scaleTargetRef`); a
//! path keeps everything below it, a list is transparent (the rest of the path applies to each item), a
//! scalar where the path goes on is kept whole, and a field the object lacks stays absent.

use std::collections::BTreeMap;

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value;

/// The annotation `kubectl apply` writes, which Kubewarden's reflector drops.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Field masks as a tree of path segments; a node without children keeps everything below it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldMask {
    children: BTreeMap<String, FieldMask>,
}

impl FieldMask {
    /// The tree of `paths`; no paths keeps whole objects.
    pub fn new<'p>(paths: impl IntoIterator<Item = &'p str>) -> Self {
        let mut root = Self::default();
        for path in paths {
            let mut node = &mut root;
            for segment in path.split('.') {
                node = node.children.entry(segment.to_owned()).or_default();
            }
        }
        root
    }

    /// Whether the mask keeps whole objects.
    pub fn is_whole(&self) -> bool {
        self.children.is_empty()
    }
}

/// `object` as served to a look-up masked by `mask`, serialized as it goes (nothing is copied).
pub struct Served<'a> {
    /// The stored object.
    pub object: &'a Value,
    /// The look-up's mask.
    pub mask: &'a FieldMask,
}

impl Serialize for Served<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Value::Object(fields) = self.object else {
            return self.object.serialize(serializer);
        };
        let mut map = serializer.serialize_map(None)?;
        for (key, value) in fields {
            match key.as_str() {
                "apiVersion" | "kind" => map.serialize_entry(key, value)?,
                "metadata" => map.serialize_entry(key, &Metadata(value))?,
                _ if self.mask.is_whole() => map.serialize_entry(key, value)?,
                _ => {
                    if let Some(mask) = self.mask.children.get(key) {
                        map.serialize_entry(key, &Pruned { value, mask })?;
                    }
                }
            }
        }
        map.end()
    }
}

/// `metadata` without `managedFields` and the last-applied annotation.
struct Metadata<'a>(&'a Value);

impl Serialize for Metadata<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Value::Object(fields) = self.0 else {
            return self.0.serialize(serializer);
        };
        let mut map = serializer.serialize_map(None)?;
        for (key, value) in fields {
            match (key.as_str(), value) {
                ("managedFields", _) => {}
                ("annotations", Value::Object(annotations)) => {
                    let kept: serde_json::Map<String, Value> = annotations
                        .iter()
                        .filter(|(name, _)| *name != LAST_APPLIED)
                        .map(|(name, value)| (name.clone(), value.clone()))
                        .collect();
                    map.serialize_entry(key, &kept)?;
                }
                _ => map.serialize_entry(key, value)?,
            }
        }
        map.end()
    }
}

/// `value` pruned by `mask`, as Kubewarden's `prune_in_place` prunes it.
struct Pruned<'a> {
    value: &'a Value,
    mask: &'a FieldMask,
}

impl Serialize for Pruned<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.mask.is_whole() {
            return self.value.serialize(serializer);
        }
        match self.value {
            Value::Object(fields) => {
                let mut map = serializer.serialize_map(None)?;
                for (key, value) in fields {
                    if let Some(mask) = self.mask.children.get(key) {
                        map.serialize_entry(key, &Pruned { value, mask })?;
                    }
                }
                map.end()
            }
            Value::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for value in items {
                    seq.serialize_element(&Pruned {
                        value,
                        mask: self.mask,
                    })?;
                }
                seq.end()
            }
            scalar => scalar.serialize(serializer),
        }
    }
}

/// `object` as a look-up masked by `field_masks` serves it.
pub fn served(object: &Value, field_masks: &[&str]) -> Value {
    let mask = FieldMask::new(field_masks.iter().copied());
    serde_json::to_value(Served {
        object,
        mask: &mask,
    })
    .expect("a JSON value always serializes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn masks_keep_the_paths_named_below_the_top_level_fields() {
        let object = json!({
            "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "h", "managedFields": [{"manager": "kubectl"}],
                "annotations": {"a": "b", LAST_APPLIED: "{}"}},
            "spec": {"scaleTargetRef": {"name": "x", "kind": "K"}, "minReplicas": 1,
                "metrics": [{"type": "External", "external": {"metric": {"name": "m"}, "target": {}}},
                    {"type": "Resource"}, 7]},
            "status": {"currentReplicas": 3},
        });
        let masked = served(
            &object,
            &[
                "spec.scaleTargetRef",
                "spec.metrics.external.metric",
                "spec.behavior.scaleDown",
                "spec.minReplicas.x",
            ],
        );
        assert_eq!(
            masked,
            json!({
                "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                "metadata": {"name": "h", "annotations": {"a": "b"}},
                "spec": {"scaleTargetRef": {"name": "x", "kind": "K"}, "minReplicas": 1,
                    "metrics": [{"external": {"metric": {"name": "m"}}}, {}, 7]},
            })
        );
    }

    #[test]
    fn without_masks_only_managed_fields_and_the_last_applied_annotation_go() {
        let object = json!({"kind": "X", "metadata": {"name": "a", "managedFields": [],
            "annotations": {LAST_APPLIED: "{}"}}, "spec": {"a": 1}, "status": {"b": 2}});
        assert_eq!(
            served(&object, &[]),
            json!({"kind": "X", "metadata": {"name": "a", "annotations": {}},
                "spec": {"a": 1}, "status": {"b": 2}})
        );
        assert_eq!(served(&json!("x"), &["spec"]), json!("x"));
    }
}
