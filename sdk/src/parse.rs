//! Typed parsing that names the JSON path of the offending field, and the `null`-tolerant helpers the
//! lenient models use.

use std::fmt;
use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;

use scaleguard_json_scan::string_close;

/// Fields whose values are maps keyed by user data: their keys render as `[key]`
/// (`spec.services[decode].replicas`, `metadata.annotations[nvidia.com/x]`).
const MAP_FIELDS: &[&str] = &["services", "annotations", "matchLabels"];

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

/// Deserializes `value` into `T` (settings, which come as a value); on failure the error names the path
/// of the bad field, found where reading the value's JSON text stops.
pub fn from_value<T: DeserializeOwned>(value: &Value) -> Result<T, FieldError> {
    T::deserialize(value).map_err(|error| FieldError {
        path: from_str::<T>(&value.to_string())
            .err()
            .map(|located| located.path)
            .unwrap_or_default(),
        reason: error.to_string(),
    })
}

/// Deserializes one object's JSON text into `T`, straight from the text; on failure the error names the
/// path of the bad field (`spec.services[decode].replicas`), found where reading stopped, and the reason
/// without a position. Models are only ever read from text, so each is compiled into a module once.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, FieldError> {
    serde_json::from_str(text).map_err(|error| located(text, &error))
}

/// The [`FieldError`] of `error`, met reading `text`: its path, and its reason without the position.
fn located(text: &str, error: &serde_json::Error) -> FieldError {
    let reason = error.to_string();
    let position = format!(" at line {} column {}", error.line(), error.column());
    FieldError {
        path: path_of(text.as_bytes(), error),
        reason: reason
            .strip_suffix(&position)
            .map_or_else(|| reason.clone(), str::to_owned),
    }
}

/// Deserializes JSON bytes into `T`; on failure the error names the path of the bad field, and its
/// reason the position.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, FieldError> {
    let text = std::str::from_utf8(bytes).map_err(|error| FieldError {
        path: String::new(),
        reason: format!("invalid UTF-8: {error}"),
    })?;
    serde_json::from_str(text).map_err(|error| FieldError {
        path: path_of(bytes, &error),
        reason: error.to_string(),
    })
}

/// The path of the value serde_json was reading in `text` when it gave `error`.
fn path_of(text: &[u8], error: &serde_json::Error) -> String {
    let line_start: usize = text
        .split_inclusive(|&byte| byte == b'\n')
        .take(error.line().saturating_sub(1))
        .map(<[u8]>::len)
        .sum();
    render_path(&path_at(
        text,
        line_start + error.column().saturating_sub(1),
    ))
}

/// One step of a JSON path.
#[derive(Debug, PartialEq, Eq)]
enum Segment {
    /// A field (or a key of a map field).
    Key(String),
    /// An item of a list.
    Index(usize),
}

/// Where in a container a scan is.
enum Frame {
    /// In an object: the key of the current field, once read, and whether its value has begun.
    Object { key: Option<String>, in_value: bool },
    /// In a list: the current item.
    List { index: usize },
}

/// The path of the value that byte `offset` of JSON `text` is in, found by scanning the text to it: a
/// key being read at `offset` counts whole (a serde error about a field stops inside or right after it),
/// and a container closing at `offset` is the value (an error about the whole object stops there).
fn path_at(text: &[u8], offset: usize) -> Vec<Segment> {
    let end = offset.min(text.len());
    let mut stack: Vec<Frame> = Vec::new();
    let mut at = 0;
    while at < end {
        match text[at] {
            b'{' => stack.push(Frame::Object {
                key: None,
                in_value: false,
            }),
            b'[' => stack.push(Frame::List { index: 0 }),
            b'}' | b']' => {
                stack.pop();
            }
            b':' => {
                if let Some(Frame::Object { in_value, .. }) = stack.last_mut() {
                    *in_value = true;
                }
            }
            b',' => match stack.last_mut() {
                Some(Frame::List { index }) => *index += 1,
                Some(Frame::Object { key, in_value }) => (*key, *in_value) = (None, false),
                None => {}
            },
            b'"' => {
                let close = string_close(text, at).unwrap_or(text.len());
                if let Some(Frame::Object {
                    key,
                    in_value: false,
                }) = stack.last_mut()
                {
                    let quoted = &text[at..(close + 1).min(text.len())];
                    let quoted = String::from_utf8_lossy(quoted);
                    *key = Some(
                        serde_json::from_str(&quoted)
                            .unwrap_or_else(|_| quoted.trim_matches('"').to_owned()),
                    );
                }
                at = close;
            }
            _ => {}
        }
        at += 1;
    }
    // Stopped at the end of a container: the error is about the container, not its last field or item
    // (`missing field`, `invalid length`).
    match (text.get(end), stack.last_mut()) {
        (Some(b'}'), Some(Frame::Object { key, .. })) => *key = None,
        (Some(b']'), Some(Frame::List { .. })) => {
            stack.pop();
        }
        _ => {}
    }
    stack
        .into_iter()
        .filter_map(|frame| match frame {
            Frame::Object { key, .. } => key.map(Segment::Key),
            Frame::List { index } => Some(Segment::Index(index)),
        })
        .collect()
}

fn render_path(path: &[Segment]) -> String {
    let mut rendered = String::new();
    let mut inside_map = false;
    for segment in path {
        match segment {
            Segment::Index(index) => {
                rendered.push_str(&format!("[{index}]"));
                inside_map = false;
            }
            Segment::Key(key) => {
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

/// A field kept as its JSON text and read into `T` only by the rules that use it: the others keep one
/// copy of the text instead of a tree of models, and carry no deserializer for `T` in their modules.
/// Absent and `null` read as `T`'s default; two are equal when they read the same.
pub struct Deferred<T> {
    json: Option<Box<RawValue>>,
    model: PhantomData<fn() -> T>,
}

impl<T> Deferred<T> {
    /// Whether the field is absent or `null`.
    pub fn is_absent(&self) -> bool {
        self.json.is_none()
    }
}

impl<T: DeserializeOwned + Default> Deferred<T> {
    /// Reads the field; on failure the error's path is relative to it (`[0].type`: see
    /// [`FieldError::under`]).
    pub fn read(&self) -> Result<T, FieldError> {
        self.json
            .as_ref()
            .map_or_else(|| Ok(T::default()), |json| from_str(json.get()))
    }
}

impl<T> Default for Deferred<T> {
    fn default() -> Self {
        Self {
            json: None,
            model: PhantomData,
        }
    }
}

impl<T> Clone for Deferred<T> {
    fn clone(&self) -> Self {
        Self {
            json: self.json.clone(),
            model: PhantomData,
        }
    }
}

impl<T> fmt::Debug for Deferred<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.json {
            Some(json) => f.write_str(json.get()),
            None => f.write_str("null"),
        }
    }
}

impl<T: DeserializeOwned + Default + PartialEq> PartialEq for Deferred<T> {
    fn eq(&self, other: &Self) -> bool {
        self.read() == other.read()
    }
}

impl<'de, T> Deserialize<'de> for Deferred<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Self {
            json: Option::deserialize(deserializer)?,
            model: PhantomData,
        })
    }
}

impl<T> Serialize for Deferred<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.json.serialize(serializer)
    }
}

/// Deserializes a field of a unit-variant enum from its name, so that a value that is not a string is
/// refused as such (serde_json reading an enum from text says only `expected value`).
pub fn variant_name<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    deserializer.deserialize_str(VariantName(PhantomData))
}

/// Reads an enum from its name while the deserializer is at the name, so that an error names the field.
struct VariantName<T>(PhantomData<fn() -> T>);

impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for VariantName<T> {
    type Value = T;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a string")
    }

    fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<T, E> {
        T::deserialize(serde::de::value::StrDeserializer::<E>::new(name))
    }
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
    use std::collections::BTreeMap;

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
        let error = dgd_error(json!({"metadata": {"annotations": {"app.kubernetes.io/name": 5}}}));
        assert_eq!(
            error,
            "metadata.annotations[app.kubernetes.io/name]: invalid type: integer `5`, expected a string"
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
    fn paths_are_found_in_text_of_any_shape() {
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Strict {
            #[serde(default)]
            items: Vec<BTreeMap<String, i32>>,
        }
        let error =
            from_slice::<Strict>(b"{\n  \"items\": [{\"a\": 1},\n    {\"b\\\"c\": \"x\"}]\n}")
                .unwrap_err();
        assert_eq!(error.path, r#"items[1].b"c"#);
        assert_eq!(
            error.reason,
            r#"invalid type: string "x", expected i32 at line 3 column 16"#
        );
        let error = from_str::<Strict>(r#"{"items": [], "itemz": 1}"#).unwrap_err();
        assert_eq!(
            error.to_string(),
            "itemz: unknown field `itemz`, expected `items`"
        );
        let error = from_value::<DynamoGraphDeployment>(&json!({"metadata": {"name": "x"},
            "spec": {"services": {"a": {}, "b": {"resources": {"limits": {"gpu": 1.5}}}}}}))
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "spec.services[b].resources.limits.gpu: invalid type: floating point `1.5`, expected a string"
        );
    }

    #[test]
    fn trailing_garbage_is_an_error() {
        let error = from_slice::<Value>(b"{} x").unwrap_err();
        assert!(error.reason.contains("trailing characters"), "{error}");
    }
}
