//! Each policy's `questions-ui.yml`, the Rancher UI form over its settings: well formed, and every
//! value the form offers by default is one the policy accepts.

mod common;

use common::{policy_dir, policy_names};
use serde::Deserialize;
use serde_json::{Map, Value};

/// One question of a Rancher questions file, as Kubewarden's UI reads it. Every key it may have is
/// listed, so a misspelt key is refused.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "some fields are only read by deny_unknown_fields")]
struct Question {
    variable: String,
    label: String,
    #[serde(rename = "type")]
    kind: String,
    group: Option<String>,
    tooltip: Option<String>,
    required: Option<bool>,
    default: Option<serde_yaml_ng::Value>,
    options: Option<Vec<String>>,
    min: Option<i64>,
    max: Option<i64>,
    value_multiline: Option<bool>,
    sequence_questions: Option<Vec<Question>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Questions {
    questions: Vec<Question>,
}

const KINDS: [&str; 6] = ["boolean", "string", "int", "enum", "array[", "sequence["];

fn check_form(policy: &str, questions: &[Question]) {
    for question in questions {
        let name = &question.variable;
        assert!(
            KINDS.contains(&question.kind.as_str()),
            "{policy}.{name}: type {}",
            question.kind
        );
        assert!(
            !question.label.is_empty() && question.tooltip.is_some(),
            "{policy}.{name}"
        );
        assert_eq!(
            question.kind == "enum",
            question.options.is_some(),
            "{policy}.{name}: options"
        );
        assert_eq!(
            question.kind == "sequence[",
            question.sequence_questions.is_some(),
            "{policy}.{name}: sequence_questions"
        );
        if question.min.is_some() || question.max.is_some() {
            assert_eq!(question.kind, "int", "{policy}.{name}: min/max");
            assert!(
                question.min <= question.max.or(question.min),
                "{policy}.{name}: min > max"
            );
        }
        if question.value_multiline.is_some() {
            assert_eq!(question.kind, "array[", "{policy}.{name}: value_multiline");
        }
        if let Some(nested) = &question.sequence_questions {
            check_form(policy, nested);
        }
    }
}

/// The policy's own `validate_settings` (native; the case tables prove it answers as its module does).
fn validate(policy: &str, settings: &Value) -> (bool, Option<String>) {
    let answer =
        scaleguard_tests::native_validate_settings(policy, settings.to_string().as_bytes())
            .unwrap_or_else(|| panic!("{policy} has no native entry"));
    (answer.valid, answer.message)
}

#[test]
fn every_policy_has_a_settings_form_the_policy_accepts() {
    for policy in policy_names() {
        let path = policy_dir(&policy).join("questions-ui.yml");
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let form: Questions =
            serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        check_form(&policy, &form.questions);
        assert!(
            form.questions
                .iter()
                .all(|q| q.group.as_deref() == Some("Settings")),
            "{policy}"
        );

        // Every variable with its default (`null` for an optional one without default): a variable the
        // settings do not know, or a default they refuse, makes them invalid.
        let defaults: Map<String, Value> = form
            .questions
            .iter()
            .map(|q| {
                let value = q.default.as_ref().map_or(Value::Null, |default| {
                    serde_json::to_value(default).unwrap()
                });
                (q.variable.clone(), value)
            })
            .collect();
        let defaults = Value::Object(defaults);
        assert_eq!(
            validate(&policy, &defaults),
            (true, None),
            "{policy}: {defaults}"
        );
        // Every option of every enum.
        for question in form.questions.iter().filter(|q| q.options.is_some()) {
            for option in question.options.iter().flatten() {
                let settings = serde_json::json!({ &question.variable: option });
                assert_eq!(
                    validate(&policy, &settings),
                    (true, None),
                    "{policy}: {settings}"
                );
            }
        }
        // And the form's variables are the settings the policy reads: one it does not know is refused.
        let unknown = serde_json::json!({"notASetting": true});
        assert!(
            !validate(&policy, &unknown).0,
            "{policy} accepts unknown settings"
        );
    }
}
