//! The SARIF 2.1.0 rendering, for code scanning (GitHub, GitLab, Azure DevOps): one rule per policy run,
//! one result per denial (`error`), warning (`warning`) and input error (`error`, rule [`INPUT_ERROR`]).

use scaleguard_metadata::{PolicyMetadata, USAGE_ANNOTATION};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use super::{Finding, findings};
use crate::hint;
use crate::locate::Sources;
use crate::report::Report;

/// The rule of input errors: a file or document that cannot be read. They are results, not tool
/// notifications, so code scanning shows them at their line, in the pull request that broke the file.
pub const INPUT_ERROR: &str = "input-error";

/// The SARIF schema the log names.
const SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// The key of the results' fingerprint in `partialFingerprints`.
const FINGERPRINT: &str = "scaleguardFinding/v1";

/// How serious a finding is, in SARIF's words (GitHub's workflow commands use the same).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// A denial, or an input error.
    Error,
    /// A warning.
    Warning,
}

impl Level {
    /// `error` or `warning`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warning => "warning",
        }
    }
}

/// The tool a SARIF log names: `scaleguard`, at `version`, its home page, and the rules it ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Driver {
    /// The CLI's version.
    pub version: String,
    /// The repository's URL.
    pub information_uri: String,
    /// The policies run (and the GitOps hint, when it runs); the renderer adds [`INPUT_ERROR`].
    pub rules: Vec<Rule>,
}

/// What code scanning shows about the results of one rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The name findings are reported under: the policy's.
    pub id: String,
    /// One sentence.
    pub description: String,
    /// The rule explained, in Markdown.
    pub help: Option<String>,
    /// Where the rule is documented.
    pub help_uri: Option<String>,
    /// The level of its findings when nothing says otherwise.
    pub level: Level,
}

impl Rule {
    /// The rule of policy `name` from its module's metadata: its description (else its title)
    /// annotation, its README (the usage annotation) as help, its URL annotation.
    pub fn from_metadata(name: &str, metadata: &PolicyMetadata) -> Self {
        Self {
            id: name.to_owned(),
            description: metadata
                .annotation("io.kubewarden.policy.description")
                .or_else(|| metadata.title())
                .unwrap_or(name)
                .to_owned(),
            help: metadata.annotation(USAGE_ANNOTATION).map(str::to_owned),
            help_uri: metadata
                .annotation("io.kubewarden.policy.url")
                .map(str::to_owned),
            level: Level::Error,
        }
    }

    /// The rule of a policy group: its findings carry the group's `message`.
    pub fn group<'m>(
        name: &str,
        message: &str,
        members: impl IntoIterator<Item = &'m String>,
    ) -> Self {
        let members: Vec<&str> = members.into_iter().map(String::as_str).collect();
        Self {
            id: name.to_owned(),
            description: format!("Policy group {name}: {message}"),
            help: Some(format!(
                "A Kubewarden policy group: its members ({}) decide together through the group's expression.",
                members.join(", ")
            )),
            help_uri: None,
            level: Level::Error,
        }
    }

    /// The rule of the GitOps replicas hint; with `deny`, its findings are denials.
    pub fn gitops_replicas(deny: bool) -> Self {
        Self {
            id: hint::GITOPS_REPLICAS.to_owned(),
            description: hint::DESCRIPTION.to_owned(),
            help: Some(hint::HELP.to_owned()),
            help_uri: None,
            level: if deny { Level::Error } else { Level::Warning },
        }
    }

    fn input_error() -> Self {
        Self {
            id: INPUT_ERROR.to_owned(),
            description:
                "A file or document that claims to be a Kubernetes object cannot be read: \
                          it does not parse, or is a malformed object"
                    .to_owned(),
            help: None,
            help_uri: None,
            level: Level::Error,
        }
    }

    fn to_json(&self) -> Value {
        let mut rule = json!({
            "id": self.id,
            "shortDescription": {"text": self.description},
            "defaultConfiguration": {"level": self.level.as_str()},
        });
        if let Some(help) = &self.help {
            rule["help"] = json!({"text": help, "markdown": help});
        }
        if let Some(uri) = &self.help_uri {
            rule["helpUri"] = json!(uri);
        }
        rule
    }
}

/// The SARIF 2.1.0 log of `report`: one run of `scaleguard`, its rules, and a result per finding at
/// the line [`Sources`] finds, with a fingerprint that stays while the finding does.
pub fn sarif(report: &Report, driver: &Driver, sources: &Sources) -> String {
    let mut rules = driver.rules.clone();
    rules.push(Rule::input_error());
    let results: Vec<Value> = findings(report, sources)
        .iter()
        .map(|finding| result(finding, &rules))
        .collect();
    let log = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "scaleguard",
                "version": driver.version,
                "informationUri": driver.information_uri,
                "rules": rules.iter().map(Rule::to_json).collect::<Vec<_>>(),
            }},
            "results": results,
        }],
    });
    serde_json::to_string_pretty(&log).unwrap_or_default() + "\n"
}

fn result(finding: &Finding<'_>, rules: &[Rule]) -> Value {
    let mut result = json!({
        "ruleId": finding.rule,
        "level": finding.level.as_str(),
        "message": {"text": finding.text()},
        "partialFingerprints": {FINGERPRINT: fingerprint(finding)},
    });
    if let Some(index) = rules.iter().position(|rule| rule.id == finding.rule) {
        result["ruleIndex"] = json!(index);
    }
    // Stdin has no file to point at.
    if finding.file != "-" {
        let mut location = json!({"artifactLocation": artifact_location(finding.file)});
        if let Some(line) = finding.line {
            location["region"] = json!({"startLine": line});
        }
        result["locations"] = json!([{"physicalLocation": location}]);
    }
    result
}

/// A hash of the rule, the file, the object and the message: what the finding is, not where its line
/// is, so code scanning keeps tracking it when lines above it move.
fn fingerprint(finding: &Finding<'_>) -> String {
    let mut hasher = Sha256::new();
    for part in [
        finding.rule,
        &uri(finding.file),
        finding.object.as_deref().unwrap_or(""),
        &finding.message,
    ] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// A relative path as a URI relative to the checked folder (`%SRCROOT%`); an absolute one as a `file:`
/// URI.
fn artifact_location(file: &str) -> Value {
    if file.starts_with('/') {
        json!({"uri": format!("file://{}", uri(file))})
    } else {
        json!({"uri": uri(file), "uriBaseId": "%SRCROOT%"})
    }
}

/// `file` as a URI path: without a leading `./`, each byte that is not unreserved nor `/`
/// percent-encoded.
fn uri(file: &str) -> String {
    let mut path = file;
    while let Some(rest) = path.strip_prefix("./") {
        path = rest;
    }
    let mut uri = String::with_capacity(path.len());
    for byte in path.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                uri.push(char::from(byte));
            }
            _ => uri.push_str(&format!("%{byte:02X}")),
        }
    }
    uri
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{Format, parse};
    use crate::report::Record;
    use scaleguard_sdk::{Operation, ValidationResponse};

    #[test]
    fn paths_become_uris_relative_to_the_checked_folder() {
        assert_eq!(
            artifact_location("./apps/a b/dgd.yaml"),
            json!({"uri": "apps/a%20b/dgd.yaml", "uriBaseId": "%SRCROOT%"})
        );
        assert_eq!(
            artifact_location("/srv/repo/100%.yaml"),
            json!({"uri": "file:///srv/repo/100%25.yaml"})
        );
        assert_eq!(uri("../other/é.yaml"), "../other/%C3%A9.yaml");
    }

    #[test]
    fn results_carry_level_rule_line_and_a_fingerprint_that_ignores_the_line() {
        let text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata:\n  x: \"1\"\n---\nkind: [\n";
        let parsed = parse("./cm.yaml", text, Format::Yaml, "default");
        let response = ValidationResponse {
            accepted: false,
            code: Some(400),
            message: Some("data.x: not allowed".into()),
            warnings: Some(vec!["careful".into()]),
            ..ValidationResponse::default()
        };
        let record = Record::new(&parsed.documents[0], "p", &Operation::Create, response);
        let report = Report::new(1, 1, vec![record], parsed.errors);
        let driver = Driver {
            version: "1.2.3".into(),
            information_uri: "https://example.com/scaleguard".into(),
            rules: vec![Rule::gitops_replicas(false)],
        };
        let sources = Sources::read(&report, |_| Some(text.to_owned()));
        let log: Value = serde_json::from_str(&sarif(&report, &driver, &sources)).unwrap();
        let run = &log["runs"][0];
        assert_eq!(run["tool"]["driver"]["version"], "1.2.3");
        let rules: Vec<&Value> = run["tool"]["driver"]["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|rule| &rule["id"])
            .collect();
        assert_eq!(rules, ["gitops-replicas", "input-error"]);
        assert_eq!(
            run["tool"]["driver"]["rules"][0]["defaultConfiguration"]["level"],
            "warning"
        );
        assert_eq!(
            Rule::gitops_replicas(true).level,
            Level::Error,
            "deny: true"
        );
        let results = run["results"].as_array().unwrap();
        let summary: Vec<(&Value, &Value, &Value, &Value)> = results
            .iter()
            .map(|r| {
                let location = &r["locations"][0]["physicalLocation"];
                (
                    &r["ruleId"],
                    &r["level"],
                    &location["artifactLocation"]["uri"],
                    &location["region"]["startLine"],
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (&json!("p"), &json!("error"), &json!("cm.yaml"), &json!(5)),
                (&json!("p"), &json!("warning"), &json!("cm.yaml"), &json!(1)),
                (
                    &json!("input-error"),
                    &json!("error"),
                    &json!("cm.yaml"),
                    &json!(7)
                ),
            ]
        );
        assert_eq!(
            results[0]["message"]["text"],
            "ConfigMap default/a: data.x: not allowed"
        );
        assert_eq!(results[2]["ruleIndex"], 1);
        assert!(results[0].get("ruleIndex").is_none(), "p is no known rule");

        // The same finding three lines lower keeps its fingerprint; another message changes it.
        let moved = format!("\n\n\n{text}");
        let parsed = parse("cm.yaml", &moved, Format::Yaml, "default");
        let fingerprints = |message: &str| {
            let response = ValidationResponse {
                accepted: false,
                message: Some(message.into()),
                ..ValidationResponse::default()
            };
            let record = Record::new(&parsed.documents[0], "p", &Operation::Create, response);
            let report = Report::new(1, 1, vec![record], Vec::new());
            let sources = Sources::read(&report, |_| Some(moved.clone()));
            let log: Value = serde_json::from_str(&sarif(&report, &driver, &sources)).unwrap();
            let result = &log["runs"][0]["results"][0];
            assert_eq!(
                result["locations"][0]["physicalLocation"]["region"]["startLine"],
                8
            );
            result["partialFingerprints"][FINGERPRINT].clone()
        };
        assert_eq!(
            fingerprints("data.x: not allowed"),
            results[0]["partialFingerprints"][FINGERPRINT]
        );
        assert_ne!(
            fingerprints("data.x: other"),
            results[0]["partialFingerprints"][FINGERPRINT]
        );
    }
}
