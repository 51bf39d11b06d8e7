//! Reading YAML/JSON documents given on the command line.

use std::path::Path;

use anyhow::{Context as _, Result};
use serde::Deserialize as _;
use serde_json::Value;

/// One YAML or JSON document.
pub fn read_document(path: &Path) -> Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_yaml_ng::from_str(&text).with_context(|| format!("{}: not YAML or JSON", path.display()))
}

/// Every object of a multi-document YAML or JSON file; `kind: List` documents are flattened.
pub fn read_documents(path: &Path) -> Result<Vec<Value>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut objects = Vec::new();
    for document in serde_yaml_ng::Deserializer::from_str(&text) {
        let value = Value::deserialize(document)
            .with_context(|| format!("{}: not YAML or JSON", path.display()))?;
        match value {
            Value::Null => {}
            Value::Object(ref map) if map.get("kind").and_then(Value::as_str) == Some("List") => {
                objects.extend(
                    map.get("items")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default(),
                );
            }
            other => objects.push(other),
        }
    }
    Ok(objects)
}
