//! Reading YAML/JSON documents given on the command line, with `scaleguard check`'s reader: merge keys
//! applied, a repeated key refused at its line.

use std::path::Path;

use anyhow::{Context as _, Result, bail};
use scaleguard_check::input::yaml_values;
use serde_json::Value;

/// One YAML or JSON document (`null` for none) of `text`, read from `name`.
pub fn parse_document(name: &str, text: &str) -> Result<Value> {
    let mut values = parse_values(name, text)?;
    if values.len() > 1 {
        bail!("{name}: {} documents, expected one", values.len());
    }
    Ok(values.pop().unwrap_or(Value::Null))
}

/// One YAML or JSON document of the file `path`.
pub fn read_document(path: &Path) -> Result<Value> {
    parse_document(&path.display().to_string(), &read(path)?)
}

/// Every object of a multi-document YAML or JSON file; `kind: List` documents are flattened.
pub fn read_documents(path: &Path) -> Result<Vec<Value>> {
    let mut objects = Vec::new();
    for value in parse_values(&path.display().to_string(), &read(path)?)? {
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

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// The documents of `text`; the first that does not parse is an error naming `name` and its line.
fn parse_values(name: &str, text: &str) -> Result<Vec<Value>> {
    yaml_values(text)
        .into_iter()
        .map(|value| match value {
            Ok((_, value)) => Ok(value),
            Err((line, message)) => bail!("{name} line {line}: {message}"),
        })
        .collect()
}
