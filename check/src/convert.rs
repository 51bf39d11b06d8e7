//! `scaleguard convert`: rewrites the DynamoGraphDeployments and scaling adapters of a manifest file to
//! another version of Dynamo's API ([`scaleguard_sdk::dgd::convert`]), leaving every other document
//! exactly as written. A YAML document that is converted is written anew (its leading comments kept);
//! one that is not keeps its text byte for byte.

use scaleguard_sdk::dgd::DgdVersion;
use scaleguard_sdk::dgd::convert::{Note, convert, is_convertible};
use serde_json::Value;

use crate::input::{Format, first_content_line, is_separator, yaml_value};

/// A converted file, and what the conversion reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvertedFile {
    /// The new text of the file.
    pub text: String,
    /// One warning per value without a field in the target version, naming its document and path.
    pub warnings: Vec<String>,
    /// How many objects were converted.
    pub converted: usize,
}

/// Converts the Dynamo objects of `text` (a file of `format`) to `target`. A document that does not
/// parse, or a Dynamo object of the wrong shape, is an error naming its document, and nothing is
/// converted.
pub fn convert_text(
    text: &str,
    format: Format,
    target: DgdVersion,
) -> Result<ConvertedFile, String> {
    let mut file = ConvertedFile {
        text: String::with_capacity(text.len()),
        warnings: Vec::new(),
        converted: 0,
    };
    match format {
        Format::Json => {
            let mut value: Value =
                serde_json::from_str(text).map_err(|error| format!("invalid JSON: {error}"))?;
            if file.convert_value(&mut value, 0, target)? {
                let pretty = serde_json::to_string_pretty(&value).map_err(|e| e.to_string())?;
                file.text = pretty + "\n";
            } else {
                file.text = text.to_owned();
            }
        }
        Format::Yaml => {
            let mut chunk = String::new();
            let mut index = 0;
            for line in text.split_inclusive('\n') {
                if is_separator(line) {
                    file.convert_chunk(&chunk, &mut index, target)?;
                    file.text.push_str(line);
                    chunk.clear();
                } else {
                    chunk.push_str(line);
                }
            }
            file.convert_chunk(&chunk, &mut index, target)?;
        }
    }
    Ok(file)
}

impl ConvertedFile {
    /// Appends a YAML document, converted when it holds a Dynamo object of another version.
    fn convert_chunk(
        &mut self,
        chunk: &str,
        index: &mut usize,
        target: DgdVersion,
    ) -> Result<(), String> {
        let Some(first) = first_content_line(chunk) else {
            self.text.push_str(chunk);
            return Ok(());
        };
        let document = *index;
        *index += 1;
        let mut value = yaml_value(chunk)
            .map_err(|error| format!("document {document}: invalid YAML: {error}"))?;
        if !self.convert_value(&mut value, document, target)? {
            self.text.push_str(chunk);
            return Ok(());
        }
        let lines: Vec<&str> = chunk.split_inclusive('\n').collect();
        let body = &lines[first..];
        if body
            .iter()
            .any(|line| line.trim_start().starts_with('#') || line.contains(" #"))
        {
            self.warnings.push(format!(
                "document {document}: the comments inside the converted document are not kept"
            ));
        }
        lines[..first]
            .iter()
            .for_each(|line| self.text.push_str(line));
        let yaml = serde_yaml_ng::to_string(&value).map_err(|error| error.to_string())?;
        self.text.push_str(&yaml);
        Ok(())
    }

    /// Converts `value` (an object, or the items of a List) in place; whether anything changed.
    fn convert_value(
        &mut self,
        value: &mut Value,
        document: usize,
        target: DgdVersion,
    ) -> Result<bool, String> {
        let is_list = value
            .get("kind")
            .and_then(Value::as_str)
            .is_some_and(|kind| kind.ends_with("List"))
            && value.get("items").is_some_and(Value::is_array);
        if is_list {
            let mut changed = false;
            for (position, item) in value["items"]
                .as_array_mut()
                .into_iter()
                .flatten()
                .enumerate()
            {
                let place = format!("document {document}, items[{position}]");
                changed |= self.convert_object(item, &place, target)?;
            }
            return Ok(changed);
        }
        self.convert_object(value, &format!("document {document}"), target)
    }

    fn convert_object(
        &mut self,
        object: &mut Value,
        place: &str,
        target: DgdVersion,
    ) -> Result<bool, String> {
        if !is_convertible(object) || DgdVersion::of_object(object) == target {
            return Ok(false);
        }
        let kind = object
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let name = object
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let conversion = match convert(object, target) {
            Some(Ok(conversion)) => conversion,
            Some(Err(error)) => return Err(format!("{place} ({kind} {name}): {error}")),
            None => return Ok(false),
        };
        self.warnings.extend(
            conversion.notes.iter().map(|Note { path, message }| {
                format!("{place} ({kind} {name}): {path}: {message}")
            }),
        );
        *object = conversion.object;
        self.converted += 1;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIXED: &str = "\
# the deployment
apiVersion: nvidia.com/v1alpha1
kind: DynamoGraphDeployment
metadata: {name: sglang-agg, namespace: default}
spec:
  services:
    decode:
      componentType: worker
      replicas: 1
      scalingAdapter: {enabled: true}
      autoscaling: {enabled: true}
---
# untouched, comments and all
apiVersion: v1
kind: ConfigMap   # keep me
metadata: {name: c}
---
apiVersion: nvidia.com/v1alpha1
kind: DynamoGraphDeploymentScalingAdapter
metadata: {name: sglang-agg-decode}
spec: {replicas: 1, dgdRef: {name: sglang-agg, serviceName: decode}}
";

    #[test]
    fn dynamo_documents_are_rewritten_and_others_kept_byte_for_byte() {
        let file = convert_text(MIXED, Format::Yaml, DgdVersion::V1beta1).unwrap();
        assert_eq!(file.converted, 2);
        assert_eq!(
            file.text,
            "\
# the deployment
apiVersion: nvidia.com/v1beta1
kind: DynamoGraphDeployment
metadata:
  name: sglang-agg
  namespace: default
spec:
  components:
  - name: decode
    replicas: 1
    scalingAdapter: {}
    type: worker
---
# untouched, comments and all
apiVersion: v1
kind: ConfigMap   # keep me
metadata: {name: c}
---
apiVersion: nvidia.com/v1beta1
kind: DynamoGraphDeploymentScalingAdapter
metadata:
  name: sglang-agg-decode
spec:
  dgdRef:
    componentName: decode
    name: sglang-agg
  replicas: 1
"
        );
        assert_eq!(
            file.warnings,
            [
                "document 0 (DynamoGraphDeployment sglang-agg): spec.services[decode].autoscaling: autoscaling is deprecated and ignored, and has no v1beta1 field; left out"
            ]
        );
    }

    #[test]
    fn a_file_without_dynamo_objects_of_another_version_is_unchanged() {
        let file = convert_text(MIXED, Format::Yaml, DgdVersion::V1beta1).unwrap();
        let again = convert_text(&file.text, Format::Yaml, DgdVersion::V1beta1).unwrap();
        assert_eq!(again.converted, 0);
        assert_eq!(again.text, file.text);
    }

    #[test]
    fn json_lists_convert_their_items() {
        let text = r#"{"apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "nvidia.com/v1beta1", "kind": "DynamoGraphDeploymentScalingAdapter",
             "metadata": {"name": "a"}, "spec": {"dgdRef": {"name": "d", "componentGroupName": "G"}}}]}"#;
        let file = convert_text(text, Format::Json, DgdVersion::V1alpha1).unwrap();
        let value: Value = serde_json::from_str(&file.text).unwrap();
        assert_eq!(value["items"][0]["apiVersion"], "nvidia.com/v1alpha1");
        assert_eq!(
            file.warnings,
            [
                "document 0, items[0] (DynamoGraphDeploymentScalingAdapter a): spec.dgdRef.componentGroupName: an adapter of component group G has no v1alpha1 form; left out"
            ]
        );
    }

    #[test]
    fn bad_documents_are_errors_naming_them() {
        let text = "apiVersion: v1\nkind: ConfigMap\n---\napiVersion: nvidia.com/v1alpha1\nkind: DynamoGraphDeployment\nmetadata: {name: d}\nspec: {services: [1]}\n";
        assert_eq!(
            convert_text(text, Format::Yaml, DgdVersion::V1beta1).unwrap_err(),
            "document 1 (DynamoGraphDeployment d): spec.services: expected an object"
        );
        assert!(
            convert_text("a: [", Format::Yaml, DgdVersion::V1beta1)
                .unwrap_err()
                .starts_with("document 0: invalid YAML: ")
        );
    }
}
