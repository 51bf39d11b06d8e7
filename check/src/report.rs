//! What a check found: one flat [`Record`] per (document, policy) evaluated, the input errors, and a
//! summary; and the exit code they call for. The JSON rendering is this model, serialized (its schema is
//! documented in the README, `schemaVersion` 1).

use scaleguard_sdk::{Operation, ValidationResponse};
use serde::Serialize;
use serde_json::Value;

use crate::input::{Document, InputError, Skipped};

/// The version of the JSON report's schema.
pub const SCHEMA_VERSION: u32 = 1;

/// Exit code: nothing denied (and, with `--strict`, nothing warned).
pub const EXIT_OK: u8 = 0;
/// Exit code: something was denied (or warned, with `--strict`).
pub const EXIT_FINDINGS: u8 = 1;
/// Exit code: usage or input errors, whatever else was found.
pub const EXIT_ERRORS: u8 = 2;

/// How a Kubewarden policy instance acts on a denial (`spec.mode`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PolicyMode {
    /// Denials are enforced.
    #[default]
    Protect,
    /// Denials are only logged: the request is admitted, unpatched.
    Monitor,
}

/// Why a policy instance denied with a message of its own: a group's refusing member, or the module's own
/// message (Kubernetes' `status.details.causes`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cause {
    /// `spec.policies.<member>`; none for the module's own message, replaced by the instance's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The member's message.
    pub message: String,
}

/// A policy's answer for one document.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    /// The file, as named on the command line (`-` for stdin).
    pub file: String,
    /// The document's index in the file, from 0.
    pub index: usize,
    /// The 1-based line where the document starts.
    pub line: usize,
    /// The object's `apiVersion`.
    pub api_version: String,
    /// The object's kind.
    pub kind: String,
    /// The object's namespace (empty for cluster-scoped objects).
    pub namespace: String,
    /// The object's name.
    pub name: String,
    /// The policy's name, or `gitops-replicas` for the GitOps hint.
    pub policy: String,
    /// `CREATE`, or `UPDATE` for an object that exists at `--against`.
    pub operation: String,
    /// Whether the policy admits the object.
    pub allowed: bool,
    /// The refusal's code.
    pub code: Option<u16>,
    /// The refusal's message.
    pub message: Option<String>,
    /// The warnings the API server would show.
    pub warnings: Vec<String>,
    /// The JSONPatch a mutating policy applies, as JSON.
    pub patch: Option<Value>,
    /// The Kubewarden policy instance that answered (`clusterwide-<name>`, `namespaced-<ns>-<name>`,
    /// `clusterwide-group-<name>`), with `--use-cluster-policies`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// That instance's mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<PolicyMode>,
    /// A policy group's refusing members and their messages.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub causes: Vec<Cause>,
}

impl Record {
    /// The record of `policy`'s `response` to `operation` on `document`.
    pub fn new(
        document: &Document,
        policy: &str,
        operation: &Operation,
        response: ValidationResponse,
    ) -> Self {
        let patch = response
            .mutated_object
            .as_ref()
            .map(|mutated| json_patch::diff(&document.object, mutated))
            .filter(|patch| !patch.0.is_empty())
            .and_then(|patch| serde_json::to_value(patch).ok());
        Self {
            file: document.file.clone(),
            index: document.index,
            line: document.line,
            api_version: document.api_version().to_owned(),
            kind: document.kind().to_owned(),
            namespace: document.namespace().to_owned(),
            name: display_name(document),
            policy: policy.to_owned(),
            operation: operation.to_string(),
            allowed: response.accepted,
            code: response.code.filter(|_| !response.accepted),
            message: response.message,
            warnings: response.warnings.unwrap_or_default(),
            patch,
            instance: None,
            mode: None,
            causes: Vec::new(),
        }
    }

    /// The record as the answer of policy instance `instance` in `mode`.
    pub fn of_instance(mut self, instance: &str, mode: PolicyMode) -> Self {
        self.instance = Some(instance.to_owned());
        self.mode = Some(mode);
        self
    }

    /// The name the record is shown under: its instance's, else its policy's.
    pub fn shown_as(&self) -> &str {
        self.instance.as_deref().unwrap_or(&self.policy)
    }

    /// Whether the record is worth showing: denied, warned or mutated.
    pub fn is_finding(&self) -> bool {
        !self.allowed || !self.warnings.is_empty() || self.patch.is_some()
    }
}

/// The object's name; for an object the API server names (`metadata.generateName`, e.g. an Argo CD
/// hook), the prefix it will name it from, followed by `*`.
fn display_name(document: &Document) -> String {
    match document.name() {
        "" => document
            .object
            .pointer("/metadata/generateName")
            .and_then(Value::as_str)
            .map(|prefix| format!("{prefix}*"))
            .unwrap_or_default(),
        name => name.to_owned(),
    }
}

/// Counts over a report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Files read.
    pub files: usize,
    /// Objects read.
    pub documents: usize,
    /// Records (policy evaluations and hints).
    pub evaluations: usize,
    /// Records that deny.
    pub denied: usize,
    /// Records that allow with warnings.
    pub warned: usize,
    /// Records that allow with a patch.
    pub mutated: usize,
    /// Input errors.
    pub errors: usize,
    /// Documents (or whole files) skipped: not Kubernetes objects, Helm templates.
    pub skipped: usize,
    /// Objects some policy instance's modules review but no instance selects (`--use-cluster-policies`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unselected: Option<usize>,
}

/// An object that policy modules review but that no policy instance selects, and why each passed it by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Unselected {
    /// The file.
    pub file: String,
    /// The document's index in the file.
    pub index: usize,
    /// The 1-based line where the document starts.
    pub line: usize,
    /// The object's kind.
    pub kind: String,
    /// The object's namespace (empty for cluster-scoped objects).
    pub namespace: String,
    /// The object's name.
    pub name: String,
    /// `<instance>: <why it does not select the object>`, per instance whose modules review it.
    pub reasons: Vec<String>,
}

/// The records of a check as they come, group by group: each one counted, and kept when the report
/// shows it. The JSON and JUnit reports (and `-v`) list every evaluation; the others show the findings
/// only, so the clean evaluations of a large repository need not be held.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    keep_all: bool,
    kept: Vec<Record>,
    summary: Summary,
}

impl Tally {
    /// An empty tally keeping every record (`keep_all`), or the findings only.
    pub fn new(keep_all: bool) -> Self {
        Self {
            keep_all,
            ..Self::default()
        }
    }

    /// Counts `records`, keeping those the report shows.
    pub fn add(&mut self, records: impl IntoIterator<Item = Record>) {
        for record in records {
            let summary = &mut self.summary;
            summary.evaluations += 1;
            summary.denied += usize::from(!record.allowed);
            summary.warned += usize::from(record.allowed && !record.warnings.is_empty());
            summary.mutated += usize::from(record.allowed && record.patch.is_some());
            if self.keep_all || record.is_finding() {
                self.kept.push(record);
            }
        }
    }

    /// Puts the kept records in the order of `key` (a stable sort: a document's records keep theirs).
    pub fn sort_by_key<K: Ord>(&mut self, key: impl FnMut(&Record) -> K) {
        self.kept.sort_by_key(key);
    }
}

/// Everything a check found.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// Always [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// One record per (document, policy) evaluated, in input order.
    pub results: Vec<Record>,
    /// The counts.
    pub summary: Summary,
    /// Files and documents that could not be read.
    pub errors: Vec<InputError>,
    /// Documents and files that are no Kubernetes manifests, left alone.
    pub skipped: Vec<Skipped>,
    /// Objects no policy instance selects (`--use-cluster-policies`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unselected: Option<Vec<Unselected>>,
}

impl Report {
    /// The report of `results` and `errors` over `files` files holding `documents` objects.
    pub fn new(
        files: usize,
        documents: usize,
        results: Vec<Record>,
        errors: Vec<InputError>,
    ) -> Self {
        let mut tally = Tally::new(true);
        tally.add(results);
        Self::of_tally(files, documents, tally, errors)
    }

    /// The report of the records `tally` counted and kept.
    pub fn of_tally(files: usize, documents: usize, tally: Tally, errors: Vec<InputError>) -> Self {
        let summary = Summary {
            files,
            documents,
            errors: errors.len(),
            ..tally.summary
        };
        Self {
            schema_version: SCHEMA_VERSION,
            results: tally.kept,
            summary,
            errors,
            skipped: Vec::new(),
            unselected: None,
        }
    }

    /// The report with the objects no policy instance selects.
    pub fn with_unselected(mut self, unselected: Vec<Unselected>) -> Self {
        self.summary.unselected = Some(unselected.len());
        self.unselected = Some(unselected);
        self
    }

    /// The report with the documents and files that were skipped.
    pub fn with_skipped(mut self, skipped: Vec<Skipped>) -> Self {
        self.summary.skipped = skipped.len();
        self.skipped = skipped;
        self
    }

    /// The process's exit code: [`EXIT_ERRORS`] when anything could not be read, else
    /// [`EXIT_FINDINGS`] when anything was denied (or, when `strict`, warned), else [`EXIT_OK`].
    pub fn exit_code(&self, strict: bool) -> u8 {
        if !self.errors.is_empty() {
            EXIT_ERRORS
        } else if self.summary.denied > 0 || (strict && self.summary.warned > 0) {
            EXIT_FINDINGS
        } else {
            EXIT_OK
        }
    }

    /// The JSON rendering.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}
