//! The human, JUnit, SARIF and GitHub renderings of a [`Report`] (the JSON one is [`Report::to_json`]).

mod github;
mod sarif;

use std::fmt::Write as _;

use serde_json::Value;

use crate::input::{InputError, SkipReason, Skipped};
use crate::locate::Sources;
use crate::report::{Record, Report, Unselected};

pub use github::github;
pub use sarif::{Driver, INPUT_ERROR, Level, Rule, sarif};

/// How the human report looks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HumanStyle {
    /// ANSI colours (only on a terminal).
    pub colour: bool,
    /// Also list evaluations that allowed without warnings.
    pub verbose: bool,
    /// Warnings fail the check (`--strict`): said in the summary.
    pub strict: bool,
}

const RED: &str = "\x1b[1;31m";
const YELLOW: &str = "\x1b[33m";
const GREEN: &str = "\x1b[32m";
const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";
const RESET: &str = "\x1b[0m";

/// One line of a file's group: a record, an input error or a skipped document, at its document.
enum Entry<'r> {
    Record(&'r Record),
    Error(&'r InputError),
    Skipped(&'r Skipped),
    Unselected(&'r Unselected),
}

impl Entry<'_> {
    fn position(&self) -> (usize, usize) {
        match self {
            Self::Record(record) => (record.index, record.line),
            Self::Error(error) => (
                error.index.unwrap_or(usize::MAX),
                error.line.unwrap_or(usize::MAX),
            ),
            Self::Skipped(skipped) => (skipped.index.unwrap_or(0), skipped.line.unwrap_or(0)),
            Self::Unselected(unselected) => (unselected.index, unselected.line),
        }
    }
}

/// The records worth showing, the errors and (`all`, for people) the skipped documents, grouped by
/// file in the order files were read.
fn by_file<'r>(report: &'r Report, all: bool) -> Vec<(&'r str, Vec<Entry<'r>>)> {
    by_file_with(report, all, false)
}

fn by_file_with<'r>(
    report: &'r Report,
    all: bool,
    skipped: bool,
) -> Vec<(&'r str, Vec<Entry<'r>>)> {
    let mut groups: Vec<(&str, Vec<Entry<'_>>)> = Vec::new();
    let mut add =
        |file: &'r str, entry: Entry<'r>| match groups.iter_mut().find(|(f, _)| *f == file) {
            Some((_, entries)) => entries.push(entry),
            None => groups.push((file, vec![entry])),
        };
    for record in &report.results {
        if all || record.is_finding() {
            add(&record.file, Entry::Record(record));
        }
    }
    for error in &report.errors {
        add(&error.file, Entry::Error(error));
    }
    if skipped {
        for skipped in &report.skipped {
            add(&skipped.file, Entry::Skipped(skipped));
        }
        for unselected in report.unselected.iter().flatten() {
            add(&unselected.file, Entry::Unselected(unselected));
        }
    }
    for (_, entries) in &mut groups {
        entries.sort_by_key(Entry::position);
    }
    groups
}

/// The human report: findings grouped by file and document, then a summary line.
pub fn human(report: &Report, style: HumanStyle) -> String {
    let paint = |colour: &str, text: &str| {
        if style.colour {
            format!("{colour}{text}{RESET}")
        } else {
            text.to_owned()
        }
    };
    let mut out = String::new();
    for (file, entries) in by_file_with(report, style.verbose, style.verbose) {
        let _ = writeln!(out, "{}", paint(BOLD, file));
        let mut current = None;
        for entry in entries {
            match entry {
                Entry::Record(record) => {
                    let document = (record.index, &record.kind, &record.namespace, &record.name);
                    if current != Some(document) {
                        current = Some(document);
                        let _ = writeln!(
                            out,
                            "  {} {}{}",
                            paint(DIM, &format!("#{} line {}", record.index, record.line)),
                            object(record),
                            if record.operation == "UPDATE" {
                                " (UPDATE)"
                            } else {
                                ""
                            }
                        );
                    }
                    write_record(&mut out, record, &paint);
                }
                Entry::Error(error) => {
                    current = None;
                    let place = match (error.index, error.line) {
                        (Some(index), Some(line)) => format!("#{index} line {line} "),
                        (None, Some(line)) => format!("line {line} "),
                        _ => String::new(),
                    };
                    let _ = writeln!(
                        out,
                        "  {}{} {}",
                        paint(DIM, &place),
                        paint(RED, "error"),
                        humanize(&error.message)
                    );
                }
                Entry::Skipped(skipped) => {
                    current = None;
                    let place = match (skipped.index, skipped.line) {
                        (Some(index), Some(line)) => format!("#{index} line {line} "),
                        _ => String::new(),
                    };
                    let _ = writeln!(
                        out,
                        "  {}{} {}",
                        paint(DIM, &place),
                        paint(DIM, "skipped"),
                        skipped.reason.describe()
                    );
                }
                Entry::Unselected(unselected) => {
                    current = None;
                    let object = if unselected.namespace.is_empty() {
                        format!("{} {}", unselected.kind, unselected.name)
                    } else {
                        format!(
                            "{} {}/{}",
                            unselected.kind, unselected.namespace, unselected.name
                        )
                    };
                    let _ = writeln!(
                        out,
                        "  {} {object}: {}",
                        paint(
                            DIM,
                            &format!("#{} line {}", unselected.index, unselected.line)
                        ),
                        paint(YELLOW, "selected by no policy instance")
                    );
                    for reason in &unselected.reasons {
                        let _ = writeln!(out, "    {} {reason}", paint(DIM, "not selected"));
                    }
                }
            }
        }
    }
    let summary = report.summary;
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let _ = writeln!(
        out,
        "{}{}: {} denied, {} with warnings{}, {}{}{}{}",
        if out.is_empty() { "" } else { "\n" },
        format_args!(
            "{} in {}, {}",
            plural(summary.documents, "object", "objects"),
            plural(summary.files, "file", "files"),
            plural(summary.evaluations, "evaluation", "evaluations"),
        ),
        summary.denied,
        summary.warned,
        if style.strict {
            " (failing: --strict)"
        } else {
            ""
        },
        plural(summary.mutated, "patch", "patches"),
        match summary.errors {
            0 => String::new(),
            n => format!(
                ", {}",
                paint(RED, &plural(n, "input error", "input errors"))
            ),
        },
        match summary.skipped {
            0 => String::new(),
            n if style.verbose => format!(", {n} skipped"),
            n => format!(", {n} skipped (-v lists them)"),
        },
        match summary.unselected {
            None | Some(0) => String::new(),
            Some(n) if style.verbose => format!(", {n} selected by no policy instance"),
            Some(n) => format!(", {n} selected by no policy instance (-v lists them)"),
        }
    );
    for note in notes(report) {
        let _ = writeln!(out, "{note}");
    }
    out
}

/// A message with serde's Rust type names put in words (`expected u32` -> `expected a whole number`),
/// for the messages `check` and `run` show people.
pub fn humanize(message: &str) -> String {
    const WORDS: &[(&[&str], &str)] = &[
        (
            &["u8", "u16", "u32", "u64", "u128", "usize"],
            "a whole number (0 or more)",
        ),
        (
            &["i8", "i16", "i32", "i64", "i128", "isize"],
            "a whole number",
        ),
        (&["f32", "f64"], "a number"),
        (&["a map"], "a mapping"),
    ];
    let mut out = message.to_owned();
    for (names, words) in WORDS {
        for name in *names {
            for ending in ["", ",", ";", ")", " "] {
                let from = format!("expected {name}{ending}");
                if ending.is_empty() {
                    if out.ends_with(&from) {
                        let cut = out.len() - from.len();
                        out = format!("{}expected {words}", &out[..cut]);
                    }
                } else {
                    out = out.replace(&from, &format!("expected {words}{ending}"));
                }
            }
        }
    }
    out
}

/// Advice a report calls for, one line each: how to check Helm templates, how to leave out files
/// that are no manifests.
pub fn notes(report: &Report) -> Vec<String> {
    let mut notes = Vec::new();
    let templates = report
        .skipped
        .iter()
        .filter(|skipped| skipped.reason == SkipReason::HelmTemplate)
        .count();
    if templates > 0 {
        notes.push(format!(
            "note: {} skipped: check what they render with `helm template <release> <chart> | scaleguard check -`",
            if templates == 1 {
                "1 Helm template".to_owned()
            } else {
                format!("{templates} Helm templates")
            }
        ));
    }
    if report.summary.errors > 0 {
        notes.push(
            "note: files that are never applied to a cluster can be left out with --exclude GLOB or a .scaleguardignore file"
                .to_owned(),
        );
    }
    notes
}

fn write_record(out: &mut String, record: &Record, paint: &dyn Fn(&str, &str) -> String) {
    if !record.allowed {
        let code = record.code.map(|c| format!(" ({c})")).unwrap_or_default();
        let _ = writeln!(
            out,
            "    {} {}{code}: {}",
            paint(RED, "denied "),
            record.shown_as(),
            record.message.as_deref().unwrap_or("")
        );
        for cause in &record.causes {
            let field = cause
                .field
                .as_deref()
                .map(|field| format!("{field}: "))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "      {} {field}{}",
                paint(DIM, "cause"),
                cause.message
            );
        }
    } else if record.warnings.is_empty() && record.patch.is_none() {
        let _ = writeln!(out, "    {} {}", paint(GREEN, "allowed"), record.shown_as());
    }
    for warning in &record.warnings {
        let _ = writeln!(
            out,
            "    {} {}: {warning}",
            paint(YELLOW, "warning"),
            record.shown_as()
        );
    }
    if let Some(patch) = &record.patch {
        let _ = writeln!(
            out,
            "    {} {}: {}",
            paint(YELLOW, "patch  "),
            record.shown_as(),
            describe_patch(patch)
        );
    }
}

/// `remove /spec/services/decode/autoscaling, ...`.
fn describe_patch(patch: &Value) -> String {
    patch
        .as_array()
        .into_iter()
        .flatten()
        .map(|operation| {
            let text = |key: &str| operation.get(key).and_then(Value::as_str).unwrap_or("");
            format!("{} {}", text("op"), text("path"))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The JUnit XML report: one test suite per file, one test case per (document, policy) evaluated and
/// per input error. Denials are failures (and, when `strict`, warnings too); input errors are errors.
pub fn junit(report: &Report, strict: bool) -> String {
    let fails = |record: &Record| !record.allowed || (strict && !record.warnings.is_empty());
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let failures = report.results.iter().filter(|r| fails(r)).count();
    let _ = writeln!(
        out,
        "<testsuites name=\"scaleguard check\" tests=\"{}\" failures=\"{failures}\" errors=\"{}\">",
        report.results.len() + report.errors.len(),
        report.errors.len()
    );
    for (file, entries) in by_file(report, true) {
        let records = entries.iter().filter_map(|entry| match entry {
            Entry::Record(record) => Some(*record),
            Entry::Error(_) | Entry::Skipped(_) | Entry::Unselected(_) => None,
        });
        let suite_failures = records.filter(|r| fails(r)).count();
        let suite_errors = entries
            .iter()
            .filter(|entry| matches!(entry, Entry::Error(_)))
            .count();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{suite_failures}\" errors=\"{suite_errors}\">",
            xml(file),
            entries.len()
        );
        for entry in entries {
            match entry {
                Entry::Record(record) => write_test_case(&mut out, file, record, fails(record)),
                Entry::Skipped(_) | Entry::Unselected(_) => {}
                Entry::Error(error) => {
                    let place = match (error.index, error.line) {
                        (Some(index), Some(line)) => format!("document #{index} (line {line})"),
                        _ => "file".to_owned(),
                    };
                    let _ = writeln!(
                        out,
                        "    <testcase classname=\"{}\" name=\"{}\">\n      <error type=\"input\" message=\"{}\"/>\n    </testcase>",
                        xml(file),
                        xml(&place),
                        xml(&error.message)
                    );
                }
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

fn write_test_case(out: &mut String, file: &str, record: &Record, failed: bool) {
    let _ = writeln!(
        out,
        "    <testcase classname=\"{}\" name=\"{}\">",
        xml(file),
        xml(&format!(
            "#{} line {} {}: {}",
            record.index,
            record.line,
            object(record),
            record.shown_as()
        ))
    );
    if failed {
        let (kind, message) = if record.allowed {
            ("warning", record.warnings.join("; "))
        } else {
            ("denied", record.message.clone().unwrap_or_default())
        };
        let code = record
            .code
            .map(|c| format!("code {c}: "))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "      <failure type=\"{kind}\" message=\"{}\">{}</failure>",
            xml(&message),
            xml(&format!("{code}{message}"))
        );
    }
    if !record.warnings.is_empty() {
        let _ = writeln!(
            out,
            "      <system-out>{}</system-out>",
            xml(&record
                .warnings
                .iter()
                .map(|w| format!("warning: {w}"))
                .collect::<Vec<_>>()
                .join("\n"))
        );
    }
    out.push_str("    </testcase>\n");
}

/// `Kind namespace/name`, or `Kind name` for a cluster-scoped object.
fn object(record: &Record) -> String {
    if record.namespace.is_empty() {
        format!("{} {}", record.kind, record.name)
    } else {
        format!("{} {}/{}", record.kind, record.namespace, record.name)
    }
}

/// One denial, warning or input error, where code scanning and pull-request annotations show it.
struct Finding<'r> {
    level: Level,
    /// The policy's name, or [`INPUT_ERROR`].
    rule: &'r str,
    file: &'r str,
    /// The line of the field the message names, else of the document; `None` for a whole file.
    line: Option<usize>,
    /// `Kind namespace/name` of the object, for a denial or warning.
    object: Option<String>,
    message: String,
}

impl Finding<'_> {
    /// The message, after the object it concerns.
    fn text(&self) -> String {
        match &self.object {
            Some(object) => format!("{object}: {}", self.message),
            None => self.message.clone(),
        }
    }
}

/// The denials, warnings and input errors of a report, grouped by file in the order files were read,
/// each at its line (see [`Sources::line`]). A record's denial comes before its warnings.
fn findings<'r>(report: &'r Report, sources: &Sources) -> Vec<Finding<'r>> {
    let mut findings = Vec::new();
    for (file, entries) in by_file(report, false) {
        for entry in entries {
            match entry {
                Entry::Record(record) => {
                    let denial = (!record.allowed)
                        .then(|| (Level::Error, record.message.as_deref().unwrap_or("denied")));
                    let warnings = record.warnings.iter().map(|w| (Level::Warning, w.as_str()));
                    for (level, message) in denial.into_iter().chain(warnings) {
                        findings.push(Finding {
                            level,
                            rule: record.shown_as(),
                            file,
                            line: Some(sources.line(record, message)),
                            object: Some(object(record)),
                            message: message.to_owned(),
                        });
                    }
                }
                Entry::Error(error) => findings.push(Finding {
                    level: Level::Error,
                    rule: INPUT_ERROR,
                    file,
                    line: error.line,
                    object: None,
                    message: humanize(&error.message),
                }),
                Entry::Skipped(_) | Entry::Unselected(_) => {}
            }
        }
    }
    findings
}

/// `text` escaped for XML text and attributes, without the characters XML 1.0 forbids.
fn xml(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            '\n' => escaped.push_str("&#10;"),
            '\t' | '\r' => escaped.push(' '),
            c if (c as u32) < 0x20 => {}
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{Format, parse};
    use scaleguard_sdk::{Operation, ValidationResponse};

    fn report() -> Report {
        let text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\nkind: [\n";
        let parsed = parse("cm.yaml", text, Format::Yaml, "default");
        let denied = ValidationResponse {
            accepted: false,
            code: Some(403),
            message: Some("a <b> & \"c\"".into()),
            warnings: Some(vec!["careful".into()]),
            ..ValidationResponse::default()
        };
        let allowed = ValidationResponse {
            accepted: true,
            ..ValidationResponse::default()
        };
        let document = &parsed.documents[0];
        Report::new(
            1,
            1,
            vec![
                Record::new(document, "strict-policy", &Operation::Create, denied),
                Record::new(document, "lenient-policy", &Operation::Create, allowed),
            ],
            parsed.errors,
        )
    }

    #[test]
    fn the_human_report_groups_findings_by_file_and_document() {
        let report = report();
        assert_eq!(report.exit_code(false), crate::report::EXIT_ERRORS);
        let text = human(&report, HumanStyle::default());
        let expected = "cm.yaml\n  #0 line 1 ConfigMap default/a\n    denied  strict-policy (403): a <b> & \"c\"\n    warning strict-policy: careful\n  #1 line 5 error invalid YAML: ";
        assert!(text.starts_with(expected), "{text}");
        assert!(text.ends_with(
            "\n\n1 object in 1 file, 2 evaluations: 1 denied, 0 with warnings, 0 patches, 1 input error\n\
             note: files that are never applied to a cluster can be left out with --exclude GLOB or a .scaleguardignore file\n"
        ));
        let verbose = human(
            &report,
            HumanStyle {
                verbose: true,
                ..HumanStyle::default()
            },
        );
        assert!(
            verbose.contains("    allowed lenient-policy\n"),
            "{verbose}"
        );
        let coloured = human(
            &report,
            HumanStyle {
                colour: true,
                ..HumanStyle::default()
            },
        );
        assert!(coloured.contains("\x1b[1;31mdenied \x1b[0m strict-policy"));
    }

    #[test]
    fn rust_type_names_are_put_in_words() {
        assert_eq!(
            humanize("maxReplicas: invalid type: string \"x\", expected u32"),
            "maxReplicas: invalid type: string \"x\", expected a whole number (0 or more)"
        );
        assert_eq!(
            humanize("invalid value: -1, expected i32; and: expected f64"),
            "invalid value: -1, expected a whole number; and: expected a number"
        );
        assert_eq!(humanize("expected u32s"), "expected u32s");
    }

    #[test]
    fn junit_escapes_and_counts() {
        let xml_text = junit(&report(), false);
        assert!(xml_text.contains(
            "<testsuites name=\"scaleguard check\" tests=\"3\" failures=\"1\" errors=\"1\">"
        ));
        assert!(xml_text.contains(
            "<failure type=\"denied\" message=\"a &lt;b&gt; &amp; &quot;c&quot;\">code 403: a &lt;b&gt; &amp; &quot;c&quot;</failure>"
        ));
        assert!(xml_text.contains("<error type=\"input\" message=\"invalid YAML: "));
    }

    #[test]
    fn strict_counts_warnings_as_failures() {
        let mut report = report();
        report.errors.clear();
        report.results[0].allowed = true;
        report = Report::new(1, 1, report.results, Vec::new());
        assert_eq!(report.exit_code(false), crate::report::EXIT_OK);
        assert_eq!(report.exit_code(true), crate::report::EXIT_FINDINGS);
        assert!(junit(&report, true).contains("<failure type=\"warning\" message=\"careful\">"));
    }
}
