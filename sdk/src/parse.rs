//! Typed parsing that names the JSON path of the offending field, and the `null`-tolerant helpers the
//! lenient models use.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use serde_path_to_error::Segment;

/// Fields whose values are maps keyed by user data: their keys render as `[key]`
/// (`spec.services[decode].replicas`, `metadata.labels[app.kubernetes.io/name]`).
const MAP_FIELDS: &[&str] = &["services", "labels", "annotations", "matchLabels"];

/// A value that did not fit its model, with the path of the field that broke it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The JSON path, e.g. `spec.services[decode].replicas`; empty for the root.
    pub path: String,
    /// What was wrong there, as serde says it.
    pub reason: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.reason)
        } else {
            write!(f, "{}: {}", self.path, self.reason)
        }
    }
}

impl std::error::Error for FieldError {}

impl FieldError {
    /// The same error, its path below `prefix` (`settings` + `mode` -> `settings.mode`).
    #[must_use]
    pub fn under(mut self, prefix: &str) -> Self {
        self.path = if self.path.is_empty() {
            prefix.to_owned()
        } else if self.path.starts_with('[') {
            format!("{prefix}{}", self.path)
        } else {
            format!("{prefix}.{}", self.path)
        };
        self
    }
}

/// Deserializes `value` into `T`; on failure the error names the path of the bad field.
pub fn from_value<T: DeserializeOwned>(value: &Value) -> Result<T, FieldError> {
    serde_path_to_error::deserialize(value).map_err(path_error)
}

/// Deserializes JSON bytes into `T`; on failure the error names the path of the bad field.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, FieldError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(path_error)?;
    deserializer.end().map_err(|e| FieldError {
        path: String::new(),
        reason: e.to_string(),
    })?;
    Ok(value)
}

fn path_error<E: fmt::Display>(error: serde_path_to_error::Error<E>) -> FieldError {
    FieldError {
        path: render_path(error.path()),
        reason: error.inner().to_string(),
    }
}

fn render_path(path: &serde_path_to_error::Path) -> String {
    let mut rendered = String::new();
    let mut inside_map = false;
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => {
                rendered.push_str(&format!("[{index}]"));
                inside_map = false;
            }
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if inside_map {
                    rendered.push_str(&format!("[{key}]"));
                    inside_map = false;
                } else {
                    if !rendered.is_empty() {
                        rendered.push('.');
                    }
                    rendered.push_str(key);
                    inside_map = MAP_FIELDS.contains(&key.as_str());
                }
            }
            Segment::Unknown => {
                rendered.push_str(".?");
                inside_map = false;
            }
        }
    }
    rendered
}

/// Deserializes a field whose `null` means the same as its absence: the type's default.
pub fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Deserializes an `int32` as the API server reads it: a JSON integer, or a number without a fraction
/// (`1.0`, which YAML writers produce). Anything else is the error serde gives for `i32`.
pub fn int32<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i32, D::Error> {
    Int32::deserialize(deserializer).map(|Int32(value)| value)
}

/// [`int32`] of an optional field; `null` is `None`.
pub fn optional_int32<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i32>, D::Error> {
    Option::<Int32>::deserialize(deserializer).map(|value| value.map(|Int32(value)| value))
}

/// An `int32` read by [`int32`].
struct Int32(i32);

impl<'de> Deserialize<'de> for Int32 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(Int32Visitor).map(Int32)
    }
}

struct Int32Visitor;

impl serde::de::Visitor<'_> for Int32Visitor {
    type Value = i32;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("i32")
    }

    fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<i32, E> {
        i32::try_from(value)
            .map_err(|_| E::invalid_value(serde::de::Unexpected::Signed(value), &self))
    }

    fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<i32, E> {
        i32::try_from(value)
            .map_err(|_| E::invalid_value(serde::de::Unexpected::Unsigned(value), &self))
    }

    fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<i32, E> {
        if value.fract() != 0.0 || !value.is_finite() {
            return Err(E::invalid_type(serde::de::Unexpected::Float(value), &self));
        }
        if value < f64::from(i32::MIN) || value > f64::from(i32::MAX) {
            return Err(E::invalid_value(serde::de::Unexpected::Float(value), &self));
        }
        #[allow(clippy::cast_possible_truncation)]
        Ok(value as i32)
    }
}

/// Deserializes a field whose presence matters even when it is `null`: absent stays `None`
/// (through `#[serde(default)]`), present becomes `Some(value)`, `Some(Value::Null)` included.
pub fn present<'de, D>(deserializer: D) -> Result<Option<Value>, D::Error>
where
    D: Deserializer<'de>,
{
    Value::deserialize(deserializer).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dgd::v1alpha1::DynamoGraphDeployment;
    use serde_json::json;

    fn dgd_error(value: Value) -> String {
        from_value::<DynamoGraphDeployment>(&value)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn service_fields_render_with_the_service_name_in_brackets() {
        let error = dgd_error(json!({"spec": {"services": {"decode": {"replicas": "3"}}}}));
        assert_eq!(
            error,
            r#"spec.services[decode].replicas: invalid type: string "3", expected i32"#
        );
    }

    #[test]
    fn a_list_where_a_map_belongs_names_the_field() {
        let error = dgd_error(json!({"spec": {"services": []}}));
        assert_eq!(
            error,
            "spec.services: invalid type: sequence, expected a map"
        );
    }

    #[test]
    fn label_keys_render_in_brackets() {
        let error = dgd_error(json!({"metadata": {"labels": {"app.kubernetes.io/name": 5}}}));
        assert_eq!(
            error,
            "metadata.labels[app.kubernetes.io/name]: invalid type: integer `5`, expected a string"
        );
    }

    #[test]
    fn under_prefixes_the_path() {
        let error = FieldError {
            path: "mode".into(),
            reason: "bad".into(),
        };
        assert_eq!(error.under("settings").to_string(), "settings.mode: bad");
        let root = FieldError {
            path: String::new(),
            reason: "bad".into(),
        };
        assert_eq!(root.under("request").to_string(), "request: bad");
    }

    #[test]
    fn integers_may_be_written_as_integral_numbers() {
        #[derive(Debug, Deserialize, PartialEq)]
        struct Replicas {
            #[serde(deserialize_with = "int32")]
            value: i32,
        }
        let read = |value: Value| from_value::<Replicas>(&json!({"value": value}));
        assert_eq!(read(json!(3)).unwrap().value, 3);
        assert_eq!(read(json!(3.0)).unwrap().value, 3);
        assert_eq!(read(json!(-1.0)).unwrap().value, -1);
        assert_eq!(
            read(json!(1.5)).unwrap_err().to_string(),
            "value: invalid type: floating point `1.5`, expected i32"
        );
        assert_eq!(
            read(json!("3")).unwrap_err().to_string(),
            r#"value: invalid type: string "3", expected i32"#
        );
        assert_eq!(
            read(json!(4_294_967_296_i64)).unwrap_err().to_string(),
            "value: invalid value: integer `4294967296`, expected i32"
        );
        assert_eq!(
            read(json!(1e10)).unwrap_err().to_string(),
            "value: invalid value: floating point `10000000000.0`, expected i32"
        );
    }

    #[test]
    fn trailing_garbage_is_an_error() {
        let error = from_slice::<Value>(b"{} x").unwrap_err();
        assert!(error.reason.contains("trailing characters"), "{error}");
    }
}
