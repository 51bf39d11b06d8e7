//! `scaleguard-playground`: `scaleguard check` in a browser. The objects pasted into the page are
//! checked by the policies' own decision functions (linked in, compiled to `wasm32-unknown-unknown`)
//! through `scaleguard-check`'s engine, the other pasted objects serving as the cluster — so the page
//! reports exactly what `scaleguard check` reports, in its JSON record schema.
//!
//! The one entry point is [`check`] (exported to JavaScript as `check`, taking and returning JSON).
#![forbid(unsafe_code)]

use std::collections::BTreeMap;

use scaleguard_check::engine::{self, ConfiguredPolicy};
use scaleguard_check::input::{Format, Identity, InputError, parse};
use scaleguard_check::linked::LinkedPolicy;
use scaleguard_check::render::{self, HumanStyle};
use scaleguard_check::request::{self, default_user};
use scaleguard_check::{Check, Report, RunnablePolicy};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The file name the objects' findings carry.
pub const OBJECTS_FILE: &str = "objects.yaml";
/// The file name the "before" objects' input errors carry.
pub const BEFORE_FILE: &str = "before.yaml";
/// The namespace of objects that set none, unless the input names another (as `kubectl apply`).
pub const DEFAULT_NAMESPACE: &str = "default";

/// What the page sends: the editors' contents.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Input {
    /// The objects: multi-document YAML (or JSON).
    #[serde(default)]
    pub objects: String,
    /// The same objects before the change: an object found here (same API group, kind, namespace and
    /// name) is reviewed as an UPDATE from it, as `scaleguard check --against` does.
    #[serde(default)]
    pub before: String,
    /// The user the requests come from (absent: `scaleguard-check`, as the CLI's default).
    #[serde(default)]
    pub user: Option<String>,
    /// That user's groups (`system:authenticated` is always added).
    #[serde(default)]
    pub groups: Vec<String>,
    /// Namespace of objects that set none (absent or empty: `default`).
    #[serde(default)]
    pub namespace: Option<String>,
    /// The policies to run, by name (absent: all).
    #[serde(default)]
    pub policies: Option<Vec<String>>,
    /// Settings by policy name: JSON text (empty: the defaults).
    #[serde(default)]
    pub settings: BTreeMap<String, String>,
}

/// A policy the page can run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyInfo {
    /// Its name.
    pub name: String,
    /// `io.kubewarden.policy.description` from its `metadata.yml`.
    pub description: String,
    /// Whether this check ran it.
    pub selected: bool,
}

/// A policy whose settings were refused: it was not run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SettingsError {
    /// The policy.
    pub policy: String,
    /// Why, as `scaleguard check` words it.
    pub message: String,
}

/// What the page shows: `scaleguard check`'s JSON report (`schemaVersion`, `results`, `summary`,
/// `errors`) plus the policies, the refused settings and the CLI's human report.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Output {
    /// The report, exactly as `scaleguard check --output json` gives it.
    #[serde(flatten)]
    pub report: Report,
    /// Every policy the page can run.
    pub policies: Vec<PolicyInfo>,
    /// Policies not run because their settings were refused.
    pub settings_errors: Vec<SettingsError>,
    /// The report as `scaleguard check` prints it for people.
    pub text: String,
}

/// Checks the objects of `input` with the chosen policies, as `scaleguard check` would.
pub fn check(input: &Input) -> Output {
    let namespace = input
        .namespace
        .as_deref()
        .filter(|namespace| !namespace.is_empty())
        .unwrap_or(DEFAULT_NAMESPACE);
    let mut errors = Vec::new();
    let available = match LinkedPolicy::all() {
        Ok(policies) => policies,
        Err(message) => {
            errors.push(InputError::file("policies", message));
            Vec::new()
        }
    };
    let chosen: Vec<&LinkedPolicy> = match &input.policies {
        None => available.iter().collect(),
        Some(names) => {
            for name in names {
                if !available.iter().any(|policy| policy.name() == name) {
                    let known: Vec<&str> = available.iter().map(|p| p.name()).collect();
                    errors.push(InputError::file(
                        "policies",
                        format!("no such policy: {name} (known: {})", known.join(", ")),
                    ));
                }
            }
            available
                .iter()
                .filter(|policy| names.iter().any(|name| name == policy.name()))
                .collect()
        }
    };
    let (configured, settings_errors) = configure(&chosen, &input.settings);

    let objects = parse(OBJECTS_FILE, &input.objects, Format::Yaml, namespace);
    let before = parse(BEFORE_FILE, &input.before, Format::Yaml, namespace);
    let previous: BTreeMap<Identity, Value> = before
        .documents
        .into_iter()
        .map(|document| (document.identity(), document.object))
        .collect();
    errors.extend(objects.errors);
    errors.extend(before.errors);

    let user = match &input.user {
        Some(user) => request::user(user, &input.groups),
        None if input.groups.is_empty() => default_user(),
        None => request::user(request::DEFAULT_USER, &input.groups),
    };
    let documents = &objects.documents;
    let checked = Check::new(documents, &previous, &configured, user);
    let records = match checked.run(&mut |_, _| {}) {
        Ok(records) => records,
        Err(message) => {
            errors.push(InputError::file("policies", message));
            Vec::new()
        }
    };
    let files = usize::from(!input.objects.trim().is_empty());
    let report = Report::new(files, documents.len(), records, errors);
    let text = render::human(&report, HumanStyle::default());
    let ran: Vec<&str> = configured.iter().map(|c| c.policy.name()).collect();
    let policies = available
        .iter()
        .map(|policy| PolicyInfo {
            name: policy.name().to_owned(),
            description: policy
                .metadata()
                .annotation("io.kubewarden.policy.description")
                .unwrap_or_default()
                .to_owned(),
            selected: ran.contains(&policy.name()),
        })
        .collect();
    Output {
        report,
        policies,
        settings_errors,
        text,
    }
}

/// [`check`] on JSON: an [`Input`] in, an [`Output`] out. Input that is not an [`Input`] gives a
/// report whose one error says why.
pub fn check_json(input: &str) -> String {
    let output = match serde_json::from_str::<Input>(input) {
        Ok(input) => check(&input),
        Err(error) => {
            let mut output = check(&Input {
                policies: Some(Vec::new()),
                ..Input::default()
            });
            output.report = Report::new(
                0,
                0,
                Vec::new(),
                vec![InputError::file("input", format!("invalid input: {error}"))],
            );
            output.text = render::human(&output.report, HumanStyle::default());
            output
        }
    };
    serde_json::to_string(&output).unwrap_or_else(|error| {
        serde_json::json!({"errors": [{"file": "output", "message": error.to_string()}]})
            .to_string()
    })
}

/// The JavaScript entry point: [`check_json`].
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen(js_name = check)]
pub fn check_js(input: &str) -> String {
    check_json(input)
}

/// The chosen policies with their settings, and those refused: settings that are not JSON, or that
/// the policy's own `validate_settings` refuses (worded as `scaleguard check` words it).
fn configure<'p>(
    chosen: &[&'p LinkedPolicy],
    settings: &BTreeMap<String, String>,
) -> (Vec<ConfiguredPolicy<'p>>, Vec<SettingsError>) {
    let mut configured = Vec::new();
    let mut refused = Vec::new();
    for &policy in chosen {
        let name = policy.name();
        let text = settings.get(name).map_or("", |text| text.trim());
        let value = if text.is_empty() {
            Value::Null
        } else {
            match serde_json::from_str(text) {
                Ok(value) => value,
                Err(error) => {
                    refused.push(SettingsError {
                        policy: name.to_owned(),
                        message: format!("policy {name}: settings are not JSON: {error}"),
                    });
                    continue;
                }
            }
        };
        let candidate = ConfiguredPolicy {
            policy,
            settings: value,
        };
        match engine::validate_settings(std::slice::from_ref(&candidate)) {
            Ok(()) => configured.push(candidate),
            Err(messages) => refused.extend(messages.into_iter().map(|message| SettingsError {
                policy: name.to_owned(),
                message,
            })),
        }
    }
    (configured, refused)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DGD: &str = "\
apiVersion: nvidia.com/v1alpha1
kind: DynamoGraphDeployment
metadata: {name: sglang-agg}
spec:
  services:
    decode: {replicas: 3, scalingAdapter: {enabled: true}}
";

    #[test]
    fn an_edit_of_adapter_owned_replicas_is_an_update_denied_with_the_guides_message() {
        let output = check(&Input {
            objects: DGD.into(),
            before: DGD.replace("replicas: 3", "replicas: 1"),
            policies: Some(vec!["dynamo-replica-ownership".into()]),
            ..Input::default()
        });
        assert!(
            output.report.errors.is_empty(),
            "{:?}",
            output.report.errors
        );
        let record = &output.report.results[0];
        assert_eq!(
            (
                record.policy.as_str(),
                record.operation.as_str(),
                record.allowed
            ),
            ("dynamo-replica-ownership", "UPDATE", false)
        );
        assert_eq!(
            record.message.as_deref(),
            Some(
                "spec.services[decode].replicas cannot be modified directly when scaling adapter is enabled; use 'kubectl scale dgdsa/sglang-agg-decode --replicas=3' or update the DynamoGraphDeploymentScalingAdapter instead"
            )
        );
        assert_eq!(output.report.results[1].policy, "gitops-replicas");
        let selected: Vec<&str> = output
            .policies
            .iter()
            .filter(|p| p.selected)
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(selected, ["dynamo-replica-ownership"]);
        assert!(output.text.starts_with("objects.yaml\n  #0 line 1 DynamoGraphDeployment default/sglang-agg (UPDATE)\n    denied  dynamo-replica-ownership (403): "), "{}", output.text);
    }

    /// The guide's sglang-agg in `nvidia.com/v1beta1`, decode at 3 replicas.
    const DGD_V1BETA1: &str = "\
apiVersion: nvidia.com/v1beta1
kind: DynamoGraphDeployment
metadata: {name: sglang-agg}
spec:
  components:
  - {name: Frontend, type: frontend, replicas: 1}
  - name: decode
    type: worker
    replicas: 3
    scalingAdapter: {}
    podTemplate: {spec: {containers: [{name: main, resources: {limits: {nvidia.com/gpu: \"1\"}}}]}}
";

    /// `dynamo-replica-ownership`'s answer to `objects` reviewed as an UPDATE from `before`.
    fn replica_ownership(objects: &str, before: &str) -> scaleguard_check::Record {
        let output = check(&Input {
            objects: objects.into(),
            before: before.into(),
            policies: Some(vec!["dynamo-replica-ownership".into()]),
            ..Input::default()
        });
        assert!(
            output.report.errors.is_empty(),
            "{:?}",
            output.report.errors
        );
        let record = output.report.results[0].clone();
        assert_eq!(
            (record.policy.as_str(), record.operation.as_str()),
            ("dynamo-replica-ownership", "UPDATE")
        );
        record
    }

    #[test]
    fn a_v1beta1_edit_of_adapter_owned_replicas_is_denied_naming_the_component() {
        let record = replica_ownership(
            DGD_V1BETA1,
            &DGD_V1BETA1.replace("replicas: 3", "replicas: 1"),
        );
        assert!(!record.allowed);
        assert_eq!(
            record.message.as_deref(),
            Some(
                "spec.components[decode].replicas cannot be modified directly when scaling adapter is enabled; use 'kubectl scale dgdsa/sglang-agg-decode --replicas=3' or update the DynamoGraphDeploymentScalingAdapter instead"
            )
        );
    }

    #[test]
    fn a_v1alpha1_before_and_a_v1beta1_after_are_one_object_migrated() {
        let before = DGD.replace("replicas: 3", "replicas: 1");
        assert!(
            replica_ownership(&DGD_V1BETA1.replace("replicas: 3", "replicas: 1"), &before).allowed
        );
        let record = replica_ownership(DGD_V1BETA1, &before);
        assert!(!record.allowed);
        assert_eq!(
            record.message.as_deref(),
            Some(
                "spec.components[decode].replicas cannot be modified directly when scaling adapter is enabled; use 'kubectl scale dgdsa/sglang-agg-decode --replicas=3' or update the DynamoGraphDeploymentScalingAdapter instead"
            )
        );
    }

    #[test]
    fn an_authorized_user_may_edit_them() {
        let output = check(&Input {
            objects: DGD.into(),
            before: DGD.replace("replicas: 3", "replicas: 1"),
            user: Some("alice".into()),
            policies: Some(vec!["dynamo-replica-ownership".into()]),
            settings: BTreeMap::from([(
                "dynamo-replica-ownership".into(),
                r#"{"authorizedUsers": ["alice"]}"#.into(),
            )]),
            ..Input::default()
        });
        assert!(output.report.results[0].allowed);
    }

    #[test]
    fn refused_settings_name_the_policy_and_keep_it_from_running() {
        let output = check(&Input {
            objects: DGD.into(),
            settings: BTreeMap::from([
                (
                    "dynamo-deprecated-autoscaling".into(),
                    r#"{"mode": "shout"}"#.into(),
                ),
                ("dynamo-single-autoscaler".into(), "{".into()),
            ]),
            ..Input::default()
        });
        let refused: Vec<&str> = output
            .settings_errors
            .iter()
            .map(|e| e.policy.as_str())
            .collect();
        assert_eq!(
            refused,
            ["dynamo-deprecated-autoscaling", "dynamo-single-autoscaler"]
        );
        assert!(
            output.settings_errors[0]
                .message
                .starts_with("policy dynamo-deprecated-autoscaling: invalid settings: mode: "),
            "{}",
            output.settings_errors[0].message
        );
        assert!(
            output.settings_errors[1]
                .message
                .starts_with("policy dynamo-single-autoscaler: settings are not JSON: "),
        );
        assert!(
            output
                .report
                .results
                .iter()
                .all(|r| r.policy != "dynamo-deprecated-autoscaling"
                    && r.policy != "dynamo-single-autoscaler")
        );
    }

    #[test]
    fn broken_input_is_reported_not_a_panic() {
        let output: Value = serde_json::from_str(&check_json("{\"objects\": 3}")).unwrap();
        assert_eq!(output["summary"]["errors"], 1);
        assert!(
            output["errors"][0]["message"]
                .as_str()
                .unwrap()
                .starts_with("invalid input: invalid type: integer `3`, expected a string")
        );
        let output = check(&Input {
            objects: "kind: [\n---\napiVersion: v1\nkind: ConfigMap\n".into(),
            policies: Some(vec!["nope".into()]),
            ..Input::default()
        });
        let errors: Vec<(&str, Option<usize>)> = output
            .report
            .errors
            .iter()
            .map(|e| (e.file.as_str(), e.line))
            .collect();
        assert_eq!(
            errors,
            [
                ("policies", None),
                ("objects.yaml", Some(1)),
                ("objects.yaml", Some(3))
            ]
        );
    }
}
