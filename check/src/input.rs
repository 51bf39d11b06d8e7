//! Reading manifests: a file's text becomes documents that know their file, index and line. Multi-document
//! YAML is split the way `kubectl` splits it (at `---` lines), so one broken document is reported with its
//! line while the others are still read; `kind: List` is expanded; objects without a namespace get the
//! default one, as `kubectl apply` would give them.

use std::borrow::Cow;

use serde::Serialize;
use serde_json::Value;

/// Kinds Kubernetes (and Kubewarden) define as cluster-scoped: they get no default namespace.
const CLUSTER_SCOPED_KINDS: &[&str] = &[
    "APIService",
    "CSIDriver",
    "CertificateSigningRequest",
    "ClusterAdmissionPolicy",
    "ClusterAdmissionPolicyGroup",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "IngressClass",
    "MutatingWebhookConfiguration",
    "Namespace",
    "Node",
    "PersistentVolume",
    "PolicyServer",
    "PriorityClass",
    "RuntimeClass",
    "StorageClass",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "ValidatingWebhookConfiguration",
];

/// How a file's text is parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A YAML stream of `---`-separated documents (JSON is YAML too).
    Yaml,
    /// One JSON value, or several concatenated.
    Json,
}

impl Format {
    /// The format of a file name: `.json` is JSON, everything else YAML.
    pub fn of(file: &str) -> Self {
        if file.to_ascii_lowercase().ends_with(".json") {
            Self::Json
        } else {
            Self::Yaml
        }
    }
}

/// One Kubernetes object read from the input.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// The file it came from, as named on the command line (`-` for stdin).
    pub file: String,
    /// The document's position in its file, from 0; the items of a `kind: List` share their List's.
    pub index: usize,
    /// The 1-based line where the document starts.
    pub line: usize,
    /// The object, its namespace defaulted.
    pub object: Value,
}

impl Document {
    /// `apiVersion`.
    pub fn api_version(&self) -> &str {
        text(&self.object, "/apiVersion")
    }

    /// `kind`.
    pub fn kind(&self) -> &str {
        text(&self.object, "/kind")
    }

    /// `metadata.namespace`; empty for cluster-scoped objects.
    pub fn namespace(&self) -> &str {
        text(&self.object, "/metadata/namespace")
    }

    /// `metadata.name`.
    pub fn name(&self) -> &str {
        text(&self.object, "/metadata/name")
    }

    /// What identifies the object in a cluster: API group, kind, namespace and name.
    pub fn identity(&self) -> Identity {
        Identity::of(&self.object)
    }
}

/// API group, kind, namespace and name: the same object at another version of the repository.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Identity {
    /// API group (`nvidia.com`; empty for the core group).
    pub group: String,
    /// Kind.
    pub kind: String,
    /// Namespace (empty for cluster-scoped objects).
    pub namespace: String,
    /// Name.
    pub name: String,
}

impl Identity {
    /// The identity of `object`.
    pub fn of(object: &Value) -> Self {
        Self {
            group: scaleguard_sdk::meta::api_group(text(object, "/apiVersion")).to_owned(),
            kind: text(object, "/kind").to_owned(),
            namespace: text(object, "/metadata/namespace").to_owned(),
            name: text(object, "/metadata/name").to_owned(),
        }
    }
}

/// A document or file that could not be read; it is reported and the rest is still checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InputError {
    /// The file (or path) it concerns.
    pub file: String,
    /// The document's index in the file, when the error concerns one document.
    pub index: Option<usize>,
    /// The 1-based line of the error, when known.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl InputError {
    /// An error about a whole file or path.
    pub fn file(file: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            file: file.into(),
            index: None,
            line: None,
            message: message.into(),
        }
    }
}

/// Why a document (or a whole file) was not checked, without being an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SkipReason {
    /// Not a Kubernetes object: no `apiVersion` and `kind` (a chart's `values.yaml`, `renovate.json`,
    /// `mkdocs.yml`, a CI workflow), or not a mapping at all.
    NotKubernetes,
    /// A Helm template (`{{ }}`): only `helm template` knows the objects it renders.
    HelmTemplate,
    /// An AdmissionReview: a request, which `scaleguard run --request` evaluates, not a manifest.
    AdmissionReview,
}

impl SkipReason {
    /// The words a report uses.
    pub fn describe(self) -> &'static str {
        match self {
            Self::NotKubernetes => "not a Kubernetes object (no apiVersion and kind)",
            Self::HelmTemplate => "a Helm template",
            Self::AdmissionReview => "an AdmissionReview, not a manifest",
        }
    }
}

/// A document, or a whole file, that was not checked because it is no Kubernetes manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// The file, as named on the command line (`-` for stdin).
    pub file: String,
    /// The document's index in the file; `None` when the whole file was skipped.
    pub index: Option<usize>,
    /// The 1-based line where the document starts; `None` for a whole file.
    pub line: Option<usize>,
    /// Why.
    pub reason: SkipReason,
}

/// What one file held: its objects, the documents that could not be used, and those that are no
/// Kubernetes manifest.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Parsed {
    /// The objects, in file order.
    pub documents: Vec<Document>,
    /// The broken documents.
    pub errors: Vec<InputError>,
    /// The documents left alone: not Kubernetes objects, Helm templates.
    pub skipped: Vec<Skipped>,
}

impl Parsed {
    /// Appends `other`.
    pub fn extend(&mut self, other: Self) {
        self.documents.extend(other.documents);
        self.errors.extend(other.errors);
        self.skipped.extend(other.skipped);
    }
}

/// Reads the objects in `text`, the contents of `file`, where every document is meant to be a Kubernetes
/// object (a pasted manifest): any other document is an input error. Objects without
/// `metadata.namespace` get `default_namespace`, unless their kind is cluster-scoped.
pub fn parse(file: &str, text: &str, format: Format, default_namespace: &str) -> Parsed {
    let mut parsed = Parsed::default();
    let mut documents = Vec::new();
    for (index, (_, value)) in documents_of(text, format).enumerate() {
        match value {
            Ok((line, value)) => add_objects(
                Origin { file, index, line },
                value,
                default_namespace,
                &mut parsed.errors,
                &mut |document| documents.push(document),
            ),
            Err((line, message)) => parsed.errors.push(InputError {
                file: file.to_owned(),
                index: Some(index),
                line: Some(line),
                message,
            }),
        }
    }
    parsed.documents = documents;
    parsed
}

/// Reads the objects in `text`, a file of a repository, as [`parse`] does, except that, as Kubernetes
/// tools do, a document that does not claim to be a Kubernetes object (no `apiVersion` and `kind`: a
/// chart's `values.yaml`, `renovate.json`) is skipped, not an error, and so is a Helm template
/// (`{{ }}`) that is not an object as written, and an AdmissionReview. A document that claims to be an
/// object (both fields, or both names in text that does not parse) and is malformed is an input error.
pub fn parse_manifests(file: &str, text: &str, format: Format, default_namespace: &str) -> Parsed {
    let mut parsed = Parsed::default();
    let mut documents = Vec::new();
    parse_manifests_each(
        file,
        text,
        format,
        default_namespace,
        &mut parsed,
        &mut |document| documents.push(document),
    );
    parsed.documents = documents;
    parsed
}

/// [`parse_manifests`], handing each object to `each` as soon as it is read (a YAML stream is read one
/// document at a time) and adding the errors and skipped documents to `parsed`.
pub fn parse_manifests_each(
    file: &str,
    text: &str,
    format: Format,
    default_namespace: &str,
    parsed: &mut Parsed,
    each: &mut dyn FnMut(Document),
) {
    for (index, (source, value)) in documents_of(text, format).enumerate() {
        let templated = is_templated(&source);
        let skip = |parsed: &mut Parsed, line: usize, reason: SkipReason| {
            parsed.skipped.push(Skipped {
                file: file.to_owned(),
                index: Some(index),
                line: Some(line),
                reason,
            });
        };
        match value {
            Ok((line, value)) => match claim(&value) {
                Claim::Object => {
                    let (mut errors, mut objects) = (Vec::new(), Vec::new());
                    let origin = Origin { file, index, line };
                    add_objects(
                        origin,
                        value,
                        default_namespace,
                        &mut errors,
                        &mut |object| {
                            objects.push(object);
                        },
                    );
                    if templated && !errors.is_empty() {
                        skip(parsed, line, SkipReason::HelmTemplate);
                    } else {
                        parsed.errors.extend(errors);
                        objects.into_iter().for_each(&mut *each);
                    }
                }
                Claim::Review => skip(parsed, line, SkipReason::AdmissionReview),
                Claim::Nothing if templated => skip(parsed, line, SkipReason::HelmTemplate),
                Claim::Nothing => skip(parsed, line, SkipReason::NotKubernetes),
            },
            Err((line, _)) if templated => skip(parsed, line, SkipReason::HelmTemplate),
            Err((line, message)) if claims_in_text(&source) => parsed.errors.push(InputError {
                file: file.to_owned(),
                index: Some(index),
                line: Some(line),
                message,
            }),
            Err((line, _)) => skip(parsed, line, SkipReason::NotKubernetes),
        }
    }
}

/// What a parsed document says it is.
enum Claim {
    /// A mapping with `apiVersion` and `kind`: a Kubernetes object, which must then be a well-formed one.
    Object,
    /// An AdmissionReview: a request, not a manifest.
    Review,
    /// Anything else: no Kubernetes object.
    Nothing,
}

fn claim(value: &Value) -> Claim {
    let Value::Object(map) = value else {
        return Claim::Nothing;
    };
    let present = |field: &str| map.get(field).is_some_and(|value| !value.is_null());
    if !present("apiVersion") || !present("kind") {
        return Claim::Nothing;
    }
    let api_group = map
        .get("apiVersion")
        .and_then(Value::as_str)
        .map(scaleguard_sdk::meta::api_group);
    if map.get("kind").and_then(Value::as_str) == Some("AdmissionReview")
        && api_group == Some("admission.k8s.io")
    {
        Claim::Review
    } else {
        Claim::Object
    }
}

/// Whether text that does not parse names both `apiVersion` and `kind`: a broken Kubernetes object
/// (a missing `---`, a bad indent), which must stay an error, not be skipped.
fn claims_in_text(source: &str) -> bool {
    source.contains("apiVersion") && source.contains("kind")
}

/// Whether a document holds Helm (Go template) actions: `{{ ... }}`, not GitHub Actions' `${{ ... }}`.
pub fn is_templated(source: &str) -> bool {
    source
        .match_indices("{{")
        .any(|(start, _)| !source[..start].ends_with('$') && source[start..].contains("}}"))
}

/// Where a document is: its file, its index in the file and the line it starts on.
#[derive(Clone, Copy)]
struct Origin<'f> {
    file: &'f str,
    index: usize,
    line: usize,
}

/// Hands the object of a document to `each`, or each item of a List; adds what is no object to `errors`.
fn add_objects(
    origin: Origin<'_>,
    value: Value,
    default_namespace: &str,
    errors: &mut Vec<InputError>,
    each: &mut dyn FnMut(Document),
) {
    let Origin { file, index, line } = origin;
    let (items, listed) = match value {
        Value::Object(mut map) if is_list(&map) => match map.remove("items") {
            Some(Value::Array(items)) => (items, true),
            _ => (Vec::new(), true),
        },
        other => (vec![other], false),
    };
    for (position, mut object) in items.into_iter().enumerate() {
        match check_object(&object) {
            Ok(()) => {
                default_namespace_of(&mut object, default_namespace);
                drop_server_fields(&mut object);
                each(Document {
                    file: file.to_owned(),
                    index,
                    line,
                    object,
                });
            }
            Err(message) => errors.push(InputError {
                file: file.to_owned(),
                index: Some(index),
                line: Some(line),
                message: if listed {
                    format!("items[{position}]: {message}")
                } else {
                    message
                },
            }),
        }
    }
}

/// Whether a map is a `kind: List` (or a typed `<Kind>List`) with `items`.
fn is_list(map: &serde_json::Map<String, Value>) -> bool {
    let kind = map.get("kind").and_then(Value::as_str).unwrap_or("");
    kind.ends_with("List") && map.get("items").is_some_and(Value::is_array)
}

/// Why `object` is not a Kubernetes object a policy can review.
fn check_object(object: &Value) -> Result<(), String> {
    let Value::Object(map) = object else {
        return Err(format!(
            "not a Kubernetes object: expected a mapping, found {}",
            type_name(object)
        ));
    };
    for field in ["apiVersion", "kind"] {
        match map.get(field) {
            Some(Value::String(value)) if !value.is_empty() => {}
            Some(Value::String(_)) | None | Some(Value::Null) => {
                return Err(format!("not a Kubernetes object: {field} is missing"));
            }
            Some(other) => {
                return Err(format!(
                    "{field}: expected a string, found {}",
                    type_name(other)
                ));
            }
        }
    }
    let generated = matches!(object.pointer("/metadata/generateName"),
        Some(Value::String(prefix)) if !prefix.is_empty());
    match object.pointer("/metadata/name") {
        Some(Value::String(name)) if !name.is_empty() => Ok(()),
        // `generateName` (Argo CD hooks, Jobs): the API server names the object at creation.
        Some(Value::String(_)) | None | Some(Value::Null) if generated => Ok(()),
        Some(Value::String(_)) | None | Some(Value::Null) => {
            Err("metadata.name is missing (and there is no metadata.generateName)".to_owned())
        }
        Some(other) => Err(format!(
            "metadata.name: expected a string, found {}",
            type_name(other)
        )),
    }
    .and_then(|()| match object.pointer("/metadata/namespace") {
        None | Some(Value::Null | Value::String(_)) => Ok(()),
        Some(other) => Err(format!(
            "metadata.namespace: expected a string, found {}",
            type_name(other)
        )),
    })
}

fn default_namespace_of(object: &mut Value, default_namespace: &str) {
    let kind = text(object, "/kind");
    if CLUSTER_SCOPED_KINDS.contains(&kind) || !text(object, "/metadata/namespace").is_empty() {
        return;
    }
    if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.insert(
            "namespace".to_owned(),
            Value::String(default_namespace.to_owned()),
        );
    }
}

/// Removes what the API server sets itself and ignores when an object is applied: a manifest's
/// `metadata.deletionTimestamp` would otherwise switch the rules off as for an object being deleted.
fn drop_server_fields(object: &mut Value) {
    if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.remove("deletionTimestamp");
    }
}

/// A document's value with the line it starts on, or the line and text of its parse error.
type DocumentValue = Result<(usize, Value), (usize, String)>;

/// The documents of a file, each with its text, one at a time.
fn documents_of(
    text: &str,
    format: Format,
) -> Box<dyn Iterator<Item = (Cow<'_, str>, DocumentValue)> + '_> {
    match format {
        Format::Yaml => Box::new(yaml_documents(text).map(|(chunk, value)| (chunk.into(), value))),
        Format::Json => Box::new(
            json_documents(text)
                .into_iter()
                .map(|(source, value)| (source.into(), value)),
        ),
    }
}

/// The non-empty documents of a YAML stream, each with its text, parsed one at a time as they are
/// taken. The stream is split at lines that are `---` (optionally followed by a comment), as Kubernetes'
/// YAML reader splits it, so each document parses on its own.
fn yaml_documents(text: &str) -> impl Iterator<Item = (&str, DocumentValue)> {
    yaml_chunks(text).map(|(chunk_start, first_line, chunk)| {
        (chunk, parse_yaml_chunk(chunk, chunk_start, first_line))
    })
}

/// The texts of a YAML stream's non-empty documents, split at `---` lines, in place: each with the
/// 1-based line its text starts on and the line of its first content.
fn yaml_chunks(text: &str) -> impl Iterator<Item = (usize, usize, &str)> {
    let mut lines = text.split_inclusive('\n').enumerate();
    let (mut chunk_begin, mut offset, mut chunk_start, mut finished) = (0, 0, 1, false);
    std::iter::from_fn(move || {
        while !finished {
            // The chunk ends at the next separator line, or at the end of the text.
            let (end, next_start) = match lines.next() {
                Some((number, line)) => {
                    let line_begin = offset;
                    offset += line.len();
                    if !is_separator(line) {
                        continue;
                    }
                    (line_begin, number + 2)
                }
                None => {
                    finished = true;
                    (text.len(), 0)
                }
            };
            let (chunk, start) = (&text[chunk_begin..end], chunk_start);
            (chunk_begin, chunk_start) = (offset, next_start);
            if let Some(first) = first_content_line(chunk) {
                return Some((start, start + first, chunk));
            }
        }
        None
    })
}

/// The text of each document of a file's `text`, numbered as [`parse`] numbers them (a document's
/// index), with the 1-based line of the file its text starts on.
pub fn document_texts(text: &str, format: Format) -> Vec<(usize, String)> {
    match format {
        Format::Yaml => yaml_chunks(text)
            .map(|(chunk_start, _, chunk)| (chunk_start, chunk.to_owned()))
            .collect(),
        Format::Json => json_sources(text)
            .into_iter()
            .map(|(start, source, _)| (line_at(text, start), source))
            .collect(),
    }
}

/// The values of a YAML stream's non-empty documents as [`parse`] reads them (split at `---` lines,
/// merge keys applied, a repeated key refused): each with the line it starts on, or the line and
/// message of its error. The reader of `scaleguard run`'s requests, settings and cluster objects.
pub fn yaml_values(text: &str) -> Vec<Result<(usize, Value), (usize, String)>> {
    yaml_documents(text).map(|(_, value)| value).collect()
}

/// Whether `line` separates two YAML documents: `---` at the start, then only blanks or a comment.
pub(crate) fn is_separator(line: &str) -> bool {
    line.strip_prefix("---").is_some_and(|rest| {
        let rest = rest.trim();
        rest.is_empty() || rest.starts_with('#')
    })
}

/// The 0-based offset of the first line of `chunk` that is neither blank nor a comment.
pub(crate) fn first_content_line(chunk: &str) -> Option<usize> {
    chunk.lines().position(|line| {
        let line = line.trim();
        !line.is_empty() && !line.starts_with('#') && line != "..."
    })
}

fn parse_yaml_chunk(chunk: &str, chunk_start: usize, first_line: usize) -> DocumentValue {
    match yaml_value(chunk) {
        Ok(value) => Ok((first_line, value)),
        Err(YamlError::Json(message)) => Err((first_line, format!("invalid YAML: {message}"))),
        Err(YamlError::Yaml(error)) => {
            // An error at the end of the document (an unclosed bracket) is reported on its last line;
            // a repeated key, which the parser reports at the mapping's start, on the key's second line.
            let last_line = chunk_start + chunk.lines().count().max(1) - 1;
            let repeated = repeated_key_line(chunk, &error.to_string());
            let line = match (repeated, error.location()) {
                (Some(offset), _) => chunk_start + offset,
                (None, Some(location)) => (chunk_start + location.line() - 1).min(last_line),
                (None, None) => first_line,
            };
            let message = error.to_string();
            let message = match (repeated, error.location()) {
                // The parser places a repeated key at its mapping's start: the line above is the key's.
                (Some(_), Some(location)) => message
                    .replace(
                        &format!(" at line {} column {}", location.line(), location.column()),
                        "",
                    )
                    .replace("duplicate entry with key", "duplicate key"),
                // Positions counted from the start of the file, as the report's line is.
                (None, Some(location)) => message.replace(
                    &format!("at line {} column", location.line()),
                    &format!("at line {} column", chunk_start + location.line() - 1),
                ),
                (_, None) => message,
            };
            Err((line, format!("invalid YAML: {message}")))
        }
    }
}

/// The 0-based line of `chunk` where the key a "duplicate entry with key" error names appears again.
fn repeated_key_line(chunk: &str, message: &str) -> Option<usize> {
    let key = message
        .split_once("duplicate entry with key \"")?
        .1
        .split_once('"')?
        .0;
    let prefix = format!("{key}:");
    chunk
        .lines()
        .enumerate()
        .filter(|(_, line)| {
            line.trim_start()
                .trim_start_matches("- ")
                .starts_with(&prefix)
        })
        .nth(1)
        .map(|(offset, _)| offset)
}

/// Why a YAML document gave no JSON value.
#[derive(Debug)]
pub enum YamlError {
    /// It is not YAML, or not YAML Kubernetes reads (a duplicate key, a merge of a non-mapping).
    Yaml(serde_yaml_ng::Error),
    /// It has no JSON form (a key that is not a string).
    Json(String),
}

impl std::fmt::Display for YamlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Yaml(error) => write!(f, "{error}"),
            Self::Json(message) => f.write_str(message),
        }
    }
}

/// One YAML document as kubectl, kustomize, Argo CD and Flux read it: merge keys (`<<: *base`) applied,
/// a repeated key refused (kubectl refuses it; a silent last-wins would hide an object).
pub fn yaml_value(text: &str) -> Result<Value, YamlError> {
    let mut value: serde_yaml_ng::Value = serde_yaml_ng::from_str(text).map_err(YamlError::Yaml)?;
    value.apply_merge().map_err(YamlError::Yaml)?;
    serde_json::to_value(value).map_err(|error| YamlError::Json(error.to_string()))
}

/// The values of a JSON file, each with its text; reading stops at the first syntax error, which is
/// reported.
fn json_documents(text: &str) -> Vec<(String, DocumentValue)> {
    json_sources(text)
        .into_iter()
        .map(|(_, source, value)| (source, value))
        .collect()
}

/// The values of a JSON file, each with the byte offset and the text of its source (whitespace before
/// the value included).
fn json_sources(text: &str) -> Vec<(usize, String, DocumentValue)> {
    let mut documents = Vec::new();
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    loop {
        let start = stream.byte_offset();
        match stream.next() {
            None => break,
            Some(Ok(value)) => {
                let skipped = text[start..]
                    .find(|c: char| !c.is_whitespace())
                    .unwrap_or(0);
                let source = text[start..stream.byte_offset()].to_owned();
                documents.push((start, source, Ok((line_at(text, start + skipped), value))));
            }
            Some(Err(error)) => {
                let message = format!("invalid JSON: {error}");
                documents.push((
                    start,
                    text[start..].to_owned(),
                    Err((error.line(), message)),
                ));
                break;
            }
        }
    }
    documents
}

/// The 1-based line of byte `offset` in `text`.
fn line_at(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

fn text<'a>(object: &'a Value, pointer: &str) -> &'a str {
    object
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a sequence",
        Value::Object(_) => "a mapping",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn summary(parsed: &Parsed) -> Vec<(usize, usize, String, String)> {
        parsed
            .documents
            .iter()
            .map(|d| {
                (
                    d.index,
                    d.line,
                    format!("{}/{}", d.namespace(), d.name()),
                    d.kind().to_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn multi_document_yaml_keeps_index_and_line() {
        let text = "---\n# the frontend\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n\n--- # comment\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: team}\n";
        let parsed = parse("cm.yaml", text, Format::Yaml, "default");
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        assert_eq!(
            summary(&parsed),
            [
                (0, 3, "default/a".into(), "ConfigMap".into()),
                (1, 9, "team/b".into(), "ConfigMap".into()),
            ]
        );
    }

    #[test]
    fn a_broken_document_is_reported_at_its_line_and_the_rest_is_read() {
        let text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [b\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n";
        let parsed = parse("cm.yaml", text, Format::Yaml, "default");
        assert_eq!(
            summary(&parsed)
                .iter()
                .map(|s| s.2.as_str())
                .collect::<Vec<_>>(),
            ["default/a", "default/c"]
        );
        assert_eq!(parsed.documents[1].index, 2);
        assert_eq!(parsed.errors.len(), 1);
        let error = &parsed.errors[0];
        assert_eq!(
            (error.index, error.line),
            (Some(1), Some(8)),
            "the unclosed line"
        );
        assert!(
            error.message.starts_with("invalid YAML: "),
            "{}",
            error.message
        );
    }

    #[test]
    fn lists_are_expanded_and_cluster_scoped_kinds_get_no_namespace() {
        let text = r#"{"apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}},
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}},
            {"apiVersion": "v1", "metadata": {"name": "no-kind"}}
        ]}"#;
        let parsed = parse("list.json", text, Format::of("list.json"), "ns");
        assert_eq!(
            summary(&parsed),
            [
                (0, 1, "/team".into(), "Namespace".into()),
                (0, 1, "ns/x".into(), "ConfigMap".into()),
            ]
        );
        assert_eq!(
            parsed.errors,
            [InputError {
                file: "list.json".into(),
                index: Some(0),
                line: Some(1),
                message: "items[2]: not a Kubernetes object: kind is missing".into(),
            }]
        );
    }

    #[test]
    fn documents_that_are_not_objects_are_errors() {
        let text = "just text\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {namespace: x}\n---\napiVersion: 1\nkind: ConfigMap\n";
        let parsed = parse("bad.yaml", text, Format::Yaml, "default");
        assert!(parsed.documents.is_empty());
        let messages: Vec<_> = parsed
            .errors
            .iter()
            .map(|e| (e.line, e.message.as_str()))
            .collect();
        let missing_name = "metadata.name is missing (and there is no metadata.generateName)";
        assert_eq!(
            messages,
            [
                (
                    Some(1),
                    "not a Kubernetes object: expected a mapping, found a string"
                ),
                (Some(3), missing_name),
                (Some(7), "apiVersion: expected a string, found a number"),
            ]
        );
        // In a repository, the text is skipped; what claims to be an object stays an error.
        let parsed = parse_manifests("bad.yaml", text, Format::Yaml, "default");
        let messages: Vec<_> = parsed.errors.iter().map(|e| e.line).collect();
        assert_eq!(messages, [Some(3), Some(7)]);
        assert_eq!(
            parsed.skipped,
            [Skipped {
                file: "bad.yaml".into(),
                index: Some(0),
                line: Some(1),
                reason: SkipReason::NotKubernetes
            }]
        );
    }

    #[test]
    fn what_is_no_kubernetes_object_is_skipped() {
        let reasons = |file: &str, text: &str| {
            let parsed = parse_manifests(file, text, Format::of(file), "default");
            assert!(parsed.errors.is_empty(), "{file}: {:?}", parsed.errors);
            parsed
                .skipped
                .iter()
                .map(|s| (s.line, s.reason))
                .collect::<Vec<_>>()
        };
        use SkipReason::*;
        assert_eq!(
            reasons(
                "Chart.yaml",
                "apiVersion: v2\nname: model\nversion: 0.1.0\n"
            ),
            [(Some(1), NotKubernetes)]
        );
        assert_eq!(
            reasons("renovate.json", "{\"extends\": [\"config:recommended\"]}"),
            [(Some(1), NotKubernetes)]
        );
        assert_eq!(
            reasons("list.yaml", "- a\n- b\n---\nplain\n"),
            [(Some(1), NotKubernetes), (Some(4), NotKubernetes)]
        );
        assert_eq!(
            reasons(
                "t.yaml",
                "{{- if .Values.enabled }}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n{{- end }}\n"
            ),
            [(Some(1), HelmTemplate)]
        );
        assert_eq!(
            reasons(
                "review.json",
                "{\"apiVersion\": \"admission.k8s.io/v1\", \"kind\": \"AdmissionReview\", \"request\": {}}"
            ),
            [(Some(1), AdmissionReview)]
        );
        assert_eq!(
            reasons("tsconfig.json", "{\"a\": 1,}"),
            [(Some(1), NotKubernetes)]
        );
    }

    #[test]
    fn a_quoted_template_that_is_an_object_is_checked_and_generate_name_is_a_name() {
        let text = "apiVersion: batch/v1\nkind: Job\nmetadata:\n  generateName: migrate-\n  annotations: {argocd.argoproj.io/hook: PreSync}\nspec:\n  template: {metadata: {annotations: {x: \"{{ not helm }}\"}}}\n";
        let parsed = parse_manifests("hook.yaml", text, Format::Yaml, "default");
        assert!(parsed.errors.is_empty() && parsed.skipped.is_empty());
        assert_eq!(parsed.documents.len(), 1);
    }

    #[test]
    fn yaml_error_positions_count_from_the_start_of_the_file() {
        let text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n   bad: indent\n";
        let parsed = parse("f.yaml", text, Format::Yaml, "default");
        assert_eq!(parsed.errors.len(), 1, "{parsed:?}");
        let error = &parsed.errors[0];
        assert_eq!(error.line, Some(9), "{}", error.message);
        assert!(
            error.message.contains("at line 9 column"),
            "{}",
            error.message
        );
    }

    #[test]
    fn json_errors_carry_their_line() {
        let parsed = parse(
            "x.json",
            "{\"apiVersion\": \"v1\",\n \"kind\": }",
            Format::Json,
            "default",
        );
        assert_eq!(parsed.errors[0].line, Some(2));
        assert!(parsed.errors[0].message.starts_with("invalid JSON: "));
    }

    #[test]
    fn a_manifests_deletion_timestamp_is_dropped_as_the_api_server_drops_it() {
        let text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, deletionTimestamp: \"2026-01-01T00:00:00Z\"}\n";
        let parsed = parse("f.yaml", text, Format::Yaml, "default");
        assert_eq!(
            parsed.documents[0].object["metadata"],
            json!({"name": "a", "namespace": "default"})
        );
    }

    #[test]
    fn yaml_merge_keys_apply_and_repeated_keys_are_refused() {
        let text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata:\n  <<: {replicas: \"5\", x: \"1\"}\n  x: \"2\"\n";
        let parsed = parse("f.yaml", text, Format::Yaml, "default");
        assert_eq!(
            parsed.documents[0].object["data"],
            json!({"replicas": "5", "x": "2"})
        );
        let text = "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: h}\nspec: {maxReplicas: 3}\nkind: ConfigMap\n";
        let parsed = parse("f.yaml", text, Format::Yaml, "default");
        assert!(parsed.documents.is_empty());
        assert_eq!(parsed.errors[0].line, Some(5));
        assert!(
            parsed.errors[0].message.starts_with("invalid YAML: ")
                && parsed.errors[0].message.contains("duplicate key \"kind\""),
            "{}",
            parsed.errors[0].message
        );
    }

    #[test]
    fn identities_ignore_the_version() {
        let object = |api_version: &str| {
            json!({"apiVersion": api_version, "kind": "HorizontalPodAutoscaler",
                "metadata": {"name": "h", "namespace": "n"}})
        };
        assert_eq!(
            Identity::of(&object("autoscaling/v1")),
            Identity::of(&object("autoscaling/v2"))
        );
    }
}
