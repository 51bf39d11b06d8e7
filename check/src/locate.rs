//! Where a finding is in its file: the line of the field its message names (`spec.services[decode].replicas
//! is set to 2 ...`), found among the positions of the document's YAML events, else the document's line.
//! The reports code scanning and pull-request annotations read ([`crate::render::sarif()`],
//! [`crate::render::github()`]) place findings with it.

use std::collections::BTreeMap;
use std::iter::Peekable;

use granit_parser::{Event, Parser, ScanError, Span};

use crate::input::{Format, document_texts};
use crate::report::{Record, Report};

/// What the sdk puts before a violation the object already had at `--against`'s ref.
const PRE_EXISTING: &str = "pre-existing violation: ";

/// The documents of the files a report's findings are in, to place each finding on its field's line.
#[derive(Debug)]
pub struct Sources {
    /// Per file: each document's text with the line of the file it starts on, by document index.
    documents: BTreeMap<String, Vec<(usize, String)>>,
}

impl Sources {
    /// The documents of the files with findings, their texts as `read` gives them (`None`: the finding
    /// stays on its document's line). Stdin (`-`), read once already, is not asked for.
    pub fn read(report: &Report, read: impl Fn(&str) -> Option<String>) -> Self {
        let mut documents = BTreeMap::new();
        for record in report.results.iter().filter(|record| record.is_finding()) {
            if record.file == "-" || documents.contains_key(&record.file) {
                continue;
            }
            if let Some(text) = read(&record.file) {
                let texts = document_texts(&text, Format::of(&record.file));
                documents.insert(record.file.clone(), texts);
            }
        }
        Self { documents }
    }

    /// The 1-based line of `message`, a denial or warning of `record`: the line of the field the message
    /// starts with when its document has it, else the line where the document starts.
    pub fn line(&self, record: &Record, message: &str) -> usize {
        self.documents
            .get(&record.file)
            .and_then(|documents| documents.get(record.index))
            .and_then(|(start, text)| {
                let path = leading_path(message)?;
                Some(start + field_line(text, &path)? - 1)
            })
            .unwrap_or(record.line)
    }
}

/// One step of a field path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step<'p> {
    /// `.name`: a mapping's key.
    Key(&'p str),
    /// `[x]`: a mapping's key `x`, a sequence's item `x` (a number), or the sequence's item whose `name`
    /// is `x` (`components[decode]`).
    Item(&'p str),
}

/// The field path `message` starts with (`spec.metrics[0].external.metric.selector: ...`), after the
/// prefix of a pre-existing violation; `None` unless it starts with a path of two steps or more,
/// followed by the end, a space or punctuation.
fn leading_path(message: &str) -> Option<Vec<Step<'_>>> {
    let mut rest = message.strip_prefix(PRE_EXISTING).unwrap_or(message);
    let name_end = |text: &str| {
        text.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(text.len())
    };
    let end = name_end(rest);
    if end == 0 {
        return None;
    }
    let mut steps = vec![Step::Key(&rest[..end])];
    rest = &rest[end..];
    loop {
        if let Some(after) = rest.strip_prefix('.') {
            let end = name_end(after);
            if end == 0 {
                return None;
            }
            steps.push(Step::Key(&after[..end]));
            rest = &after[end..];
        } else if let Some(after) = rest.strip_prefix('[') {
            let end = after.find(']')?;
            steps.push(Step::Item(&after[..end]));
            rest = &after[end + 1..];
        } else {
            break;
        }
    }
    let ends = rest.is_empty() || rest.starts_with([' ', ':', ',', ';']);
    (steps.len() > 1 && ends).then_some(steps)
}

/// A YAML node, with the line of each of its parts: a mapping's entries at their keys, a sequence's
/// items at their starts.
#[derive(Debug)]
enum Node {
    Scalar(String),
    Sequence(Vec<(usize, Node)>),
    Mapping(Vec<(String, usize, Node)>),
    /// An alias: nothing a path looks into.
    Opaque,
}

/// The 1-based line, in `text` (one YAML or JSON document), of the field `path` names; `None` when the
/// document does not have it or does not parse.
fn field_line(text: &str, path: &[Step<'_>]) -> Option<usize> {
    let mut events = Parser::new_from_str(text)
        .filter(|event| !matches!(event, Ok((Event::Comment(..), _))))
        .peekable();
    while let Some(Ok((Event::StreamStart | Event::DocumentStart(..), _))) = events.peek() {
        events.next();
    }
    let (_, mut node) = read_node(&mut events)?;
    let mut line = None;
    for step in path {
        let (found, child) = match (step, node) {
            (Step::Key(key) | Step::Item(key), Node::Mapping(entries)) => entries
                .into_iter()
                .find_map(|(name, line, value)| (name == *key).then_some((line, value)))?,
            (Step::Item(item), Node::Sequence(items)) => match item.parse::<usize>() {
                Ok(position) => items.into_iter().nth(position)?,
                Err(_) => items.into_iter().find(|(_, value)| is_named(value, item))?,
            },
            _ => return None,
        };
        line = Some(found);
        node = child;
    }
    line
}

/// Whether `node` is a mapping whose `name` is `name`.
fn is_named(node: &Node, name: &str) -> bool {
    matches!(node, Node::Mapping(entries) if entries.iter().any(|(key, _, value)| {
        key == "name" && matches!(value, Node::Scalar(scalar) if scalar == name)
    }))
}

/// The next node of `events`, with the line it starts on; `None` at a parse error.
fn read_node<'t>(
    events: &mut Peekable<impl Iterator<Item = Result<(Event<'t>, Span), ScanError>>>,
) -> Option<(usize, Node)> {
    let (event, span) = events.next()?.ok()?;
    let line = span.start.line();
    let node = match event {
        Event::Scalar(value, ..) => Node::Scalar(value.into_owned()),
        Event::Alias(_) => Node::Opaque,
        Event::SequenceStart(..) => {
            let mut items = Vec::new();
            while !matches!(events.peek(), Some(Ok((Event::SequenceEnd, _)))) {
                items.push(read_node(events)?);
            }
            events.next();
            Node::Sequence(items)
        }
        Event::MappingStart(..) => {
            let mut entries = Vec::new();
            while !matches!(events.peek(), Some(Ok((Event::MappingEnd, _)))) {
                let (key_line, key) = read_node(events)?;
                let (_, value) = read_node(events)?;
                // A key that is no scalar (`? [a, b]`) names no field.
                if let Node::Scalar(key) = key {
                    entries.push((key, key_line, value));
                }
            }
            events.next();
            Node::Mapping(entries)
        }
        _ => return None,
    };
    Some((line, node))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::parse;
    use scaleguard_sdk::{Operation, ValidationResponse};

    fn line_of(text: &str, path: &str) -> Option<usize> {
        field_line(text, &leading_path(path).expect("a path"))
    }

    const DGD: &str = "\
apiVersion: nvidia.com/v1alpha1
kind: DynamoGraphDeployment
metadata:
  name: chat # a comment
spec:
  services:
    Frontend: {replicas: 1}
    decode:
      # adapter-owned
      replicas: 2
      autoscaling:
        enabled: true
";

    #[test]
    fn map_keys_and_bracketed_keys_find_the_fields_own_line() {
        assert_eq!(line_of(DGD, "spec.services[decode].replicas"), Some(10));
        assert_eq!(line_of(DGD, "spec.services.decode.autoscaling"), Some(11));
        assert_eq!(line_of(DGD, "spec.services[Frontend].replicas"), Some(7));
        assert_eq!(line_of(DGD, "spec.services[decode].minReplicas"), None);
        assert_eq!(line_of(DGD, "spec.services[decode].replicas.x"), None);
    }

    #[test]
    fn list_items_are_found_by_name_or_position() {
        let text = "\
spec:
  components:
    - name: frontend
      replicas: 1
    - replicas: 3
      name: decode
  metrics:
    - type: External
    - type: External
      external:
        metric: {name: q, selector: {matchLabels: {a: b}}}
";
        assert_eq!(line_of(text, "spec.components[decode].replicas"), Some(5));
        assert_eq!(line_of(text, "spec.components[decode]"), Some(5));
        assert_eq!(line_of(text, "spec.components[frontend]"), Some(3));
        assert_eq!(line_of(text, "spec.components[prefill]"), None);
        assert_eq!(
            line_of(text, "spec.metrics[1].external.metric.selector"),
            Some(11)
        );
        assert_eq!(line_of(text, "spec.metrics[2].external"), None);
    }

    #[test]
    fn json_documents_are_read_as_yaml() {
        let text =
            "{\n  \"spec\": {\n    \"scaleTargetRef\": {\n      \"name\": \"x\"\n    }\n  }\n}\n";
        assert_eq!(line_of(text, "spec.scaleTargetRef.name"), Some(4));
    }

    #[test]
    fn only_a_leading_path_of_two_steps_is_a_path() {
        use Step::*;
        assert_eq!(
            leading_path("spec.services[decode].replicas is set to 2"),
            Some(vec![
                Key("spec"),
                Key("services"),
                Item("decode"),
                Key("replicas")
            ])
        );
        assert_eq!(
            leading_path("pre-existing violation: spec.minReplicaCount (not set, so 0)"),
            Some(vec![Key("spec"), Key("minReplicaCount")])
        );
        assert_eq!(
            leading_path("metadata.annotations[argocd.argoproj.io/hook]: bad"),
            Some(vec![
                Key("metadata"),
                Key("annotations"),
                Item("argocd.argoproj.io/hook")
            ])
        );
        assert_eq!(
            leading_path("DynamoGraphDeploymentScalingAdapter chat/x is scaled"),
            None
        );
        assert_eq!(leading_path("spec: is wrong"), None);
        assert_eq!(leading_path("spec.services."), None);
        assert_eq!(leading_path("spec.services[decode"), None);
        assert_eq!(leading_path("spec.replicas/2"), None);
        assert_eq!(leading_path(".spec.replicas"), None);
    }

    #[test]
    fn a_finding_is_placed_on_its_fields_line_in_the_file_else_on_its_documents() {
        let text = format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: a}}\n---\n{DGD}");
        let parsed = parse("dgd.yaml", &text, Format::Yaml, "default");
        let warned = ValidationResponse {
            accepted: true,
            warnings: Some(vec!["spec.services[decode].replicas is set".into()]),
            ..ValidationResponse::default()
        };
        let record = Record::new(&parsed.documents[1], "p", &Operation::Create, warned);
        let report = Report::new(1, 2, vec![record.clone()], Vec::new());
        let sources = Sources::read(&report, |file| (file == "dgd.yaml").then(|| text.clone()));
        assert_eq!(record.line, 5);
        assert_eq!(sources.line(&record, &record.warnings[0]), 14);
        assert_eq!(sources.line(&record, "spec.services[x].replicas"), 5);
        assert_eq!(sources.line(&record, "no path here"), 5);
        let unread = Sources::read(&report, |_| None);
        assert_eq!(unread.line(&record, &record.warnings[0]), 5);
    }
}
