//! GitHub Actions workflow commands (`::error file=...,line=...,title=...::message`): pull requests get
//! the findings as inline annotations, without code scanning.

use std::fmt::Write as _;

use super::findings;
use crate::locate::Sources;
use crate::report::Report;

/// One workflow command per denial (`::error`), warning (`::warning`) and input error (`::error`),
/// titled with the policy's name, at the line [`Sources`] finds.
pub fn github(report: &Report, sources: &Sources) -> String {
    let mut out = String::new();
    for finding in findings(report, sources) {
        let mut properties = Vec::new();
        // Stdin has no file to point at.
        if finding.file != "-" {
            let file = finding.file.strip_prefix("./").unwrap_or(finding.file);
            properties.push(format!("file={}", property(file)));
        }
        if let Some(line) = finding.line {
            properties.push(format!("line={line}"));
        }
        properties.push(format!("title={}", property(finding.rule)));
        let _ = writeln!(
            out,
            "::{} {}::{}",
            finding.level.as_str(),
            properties.join(","),
            data(&finding.text())
        );
    }
    out
}

/// A command's message, escaped as the runner unescapes it.
fn data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A command's property value, escaped as the runner unescapes it.
fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{Format, parse};
    use crate::report::Record;
    use scaleguard_sdk::{Operation, ValidationResponse};

    #[test]
    fn messages_and_properties_are_escaped() {
        assert_eq!(data("100% a:b,c\r\nd"), "100%25 a:b,c%0D%0Ad");
        assert_eq!(property("100% a:b,c\nd"), "100%25 a%3Ab%2Cc%0Ad");
    }

    #[test]
    fn denials_warnings_and_input_errors_are_one_command_each() {
        let text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata:\n  x: \"1\"\n---\nkind: [\n";
        let parsed = parse("./a,b.yaml", text, Format::Yaml, "default");
        let response = ValidationResponse {
            accepted: false,
            message: Some("data.x: 100% wrong".into()),
            warnings: Some(vec!["two\nlines".into()]),
            ..ValidationResponse::default()
        };
        let record = Record::new(&parsed.documents[0], "p", &Operation::Create, response);
        let report = Report::new(1, 1, vec![record], parsed.errors);
        let sources = Sources::read(&report, |_| Some(text.to_owned()));
        let lines: Vec<String> = github(&report, &sources)
            .lines()
            .map(str::to_owned)
            .collect();
        assert_eq!(
            lines[..2],
            [
                "::error file=a%2Cb.yaml,line=5,title=p::ConfigMap default/a: data.x: 100%25 wrong",
                "::warning file=a%2Cb.yaml,line=1,title=p::ConfigMap default/a: two%0Alines",
            ]
        );
        assert!(
            lines[2]
                .starts_with("::error file=a%2Cb.yaml,line=7,title=input-error::invalid YAML: "),
            "{}",
            lines[2]
        );
        assert_eq!(lines.len(), 3);
    }
}
