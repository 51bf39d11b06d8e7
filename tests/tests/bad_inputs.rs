//! The bad-input corpus (`tests/bad_inputs.yaml`) run through every compiled policy module under
//! wasmtime, with Kubewarden's limits (2 s epoch deadline, 512 MiB memory cap): every input gets an
//! answer — a decision or a settings verdict — never a trap, a timeout or an out-of-memory failure.

use std::collections::BTreeMap;

use scaleguard_sdk::dgd::DgdVersion;
use scaleguard_sdk::dgd::convert::convert;
use scaleguard_tests::{policy_module, policy_names, workspace_root};
use serde::Deserialize;
use serde_json::{Value, json};

/// The corpus file.
#[derive(Debug, Deserialize)]
struct Corpus {
    /// `validate` inputs.
    validate: Vec<Input>,
    /// `validate_settings` inputs.
    settings: Vec<Input>,
}

/// One bad input and what every policy must answer.
#[derive(Debug, Deserialize)]
struct Input {
    name: String,
    payload: PayloadSpec,
    /// Expected answer for every policy not listed in `by_policy`.
    #[serde(default)]
    expect: Option<Expect>,
    /// Expected answer of particular policies.
    #[serde(default, rename = "byPolicy")]
    by_policy: BTreeMap<String, Expect>,
}

/// How the payload bytes are made.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", rename_all_fields = "camelCase")]
enum PayloadSpec {
    /// Exactly these bytes.
    Raw(String),
    /// This JSON document.
    Json(Value),
    /// `{"request": <request with `object` = `depth` nested arrays>, "settings": {}}`, or for settings
    /// the nested arrays under `field`.
    Nested { depth: usize },
    /// A DGD carrying an annotation of `bytes` bytes.
    Huge { bytes: usize },
    /// A DGD with `count` services, each named `name_prefix` + index.
    Services { count: usize, name_prefix: String },
}

/// The expected answer.
#[derive(Debug, Deserialize)]
struct Expect {
    /// `accepted` (validate) or `valid` (settings).
    ok: bool,
    #[serde(default)]
    code: Option<u16>,
    /// The exact message.
    #[serde(default)]
    message: Option<String>,
    /// A part of the message, where the rest is serde's wording (a long path, a parser position).
    #[serde(default, rename = "messageContains")]
    message_contains: Option<String>,
}

fn nested(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

fn dgd(services: Value, annotations: Value) -> Value {
    json!({
        "apiVersion": "nvidia.com/v1alpha1",
        "kind": "DynamoGraphDeployment",
        "metadata": {"name": "g", "namespace": "default", "annotations": annotations},
        "spec": {"services": services},
    })
}

fn request(object: Value) -> Value {
    json!({
        "uid": "bad-input",
        "kind": {"group": "nvidia.com", "version": "v1alpha1", "kind": "DynamoGraphDeployment"},
        "resource": {"group": "nvidia.com", "version": "v1alpha1", "resource": "dynamographdeployments"},
        "operation": "CREATE",
        "namespace": "default",
        "name": "g",
        "userInfo": {"username": "alice"},
        "object": object,
    })
}

impl PayloadSpec {
    fn bytes(&self, settings: bool) -> Vec<u8> {
        match self {
            Self::Raw(text) => text.clone().into_bytes(),
            Self::Json(value) => value.to_string().into_bytes(),
            Self::Nested { depth } if settings => {
                format!("{{\"field\":{}}}", nested(*depth)).into_bytes()
            }
            Self::Nested { depth } => {
                let marker = "\"NESTED\"";
                let payload = json!({"request": request(json!("NESTED")), "settings": {}});
                payload
                    .to_string()
                    .replace(marker, &nested(*depth))
                    .into_bytes()
            }
            Self::Huge { bytes } if settings => json!({"field": "x".repeat(*bytes)})
                .to_string()
                .into_bytes(),
            Self::Huge { bytes } => {
                let object = dgd(json!({}), json!({"big": "x".repeat(*bytes)}));
                json!({"request": request(object), "settings": {}})
                    .to_string()
                    .into_bytes()
            }
            Self::Services { count, name_prefix } => {
                let services: serde_json::Map<String, Value> = (0..*count)
                    .map(|i| {
                        (
                            format!("{name_prefix}{i}"),
                            json!({"componentType": "worker", "replicas": 1}),
                        )
                    })
                    .collect();
                let object = dgd(Value::Object(services), json!({}));
                json!({"request": request(object), "settings": {}})
                    .to_string()
                    .into_bytes()
            }
        }
    }
}

fn check(
    expect: &Expect,
    ok: bool,
    code: Option<u16>,
    message: Option<&str>,
) -> Result<(), String> {
    let message_matches = match (&expect.message, &expect.message_contains, message) {
        (None, None, _) => true,
        (Some(want), _, Some(got)) => got == want,
        (None, Some(part), Some(got)) => got.contains(part.as_str()),
        (_, _, None) => false,
    };
    if ok == expect.ok && (expect.code.is_none() || code == expect.code) && message_matches {
        Ok(())
    } else {
        Err(format!(
            "expected {expect:?}, got ok={ok} code={code:?} message={message:?}"
        ))
    }
}

#[test]
fn every_policy_answers_every_bad_input_within_its_limits() {
    let path = workspace_root().join("tests/bad_inputs.yaml");
    // Through a JSON value: serde_yaml_ng reads enums only from YAML tags.
    let document: Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let corpus: Corpus = serde_json::from_value(document).unwrap();
    let mut failures = Vec::new();
    for policy in policy_names() {
        let module = policy_module(&policy).unwrap();
        let mut instance = module.instantiate(Default::default()).unwrap();
        for input in &corpus.validate {
            let expect = input.by_policy.get(&policy).or(input.expect.as_ref());
            let outcome = instance
                .validate_payload(&input.payload.bytes(false))
                .map_err(|e| e.to_string())
                .and_then(|r| {
                    let got = format!("{r:?}");
                    match expect {
                        Some(expect) => check(expect, r.accepted, r.code, r.message.as_deref()),
                        None => Err(format!("no expectation; got {got}")),
                    }
                });
            if let Err(problem) = outcome {
                failures.push(format!("{policy} validate {}: {problem}", input.name));
            }
        }
        for input in &corpus.settings {
            let expect = input.by_policy.get(&policy).or(input.expect.as_ref());
            let outcome = instance
                .validate_settings(&input.payload.bytes(true))
                .map_err(|e| e.to_string())
                .and_then(|r| {
                    let got = format!("{r:?}");
                    match expect {
                        Some(expect) => check(expect, r.valid, None, r.message.as_deref()),
                        None => Err(format!("no expectation; got {got}")),
                    }
                });
            if let Err(problem) = outcome {
                failures.push(format!("{policy} settings {}: {problem}", input.name));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The inputs a fuzz target once failed on (`fuzz/regressions/<target>/`, named after the target:
/// `validate_<policy>` or `settings_<policy>` without the `dynamo-` prefix), replayed through the modules:
/// each must get an answer.
#[test]
fn fuzz_regressions_get_an_answer() {
    let mut failures = Vec::new();
    for policy in policy_names() {
        let short = policy.trim_start_matches("dynamo-").replace('-', "_");
        let module = policy_module(&policy).unwrap();
        let mut instance = module.instantiate(Default::default()).unwrap();
        for entry in ["validate", "settings"] {
            let folder = workspace_root().join(format!("fuzz/regressions/{entry}_{short}"));
            let Ok(files) = std::fs::read_dir(&folder) else {
                continue;
            };
            for file in files {
                let path = file.unwrap().path();
                let input = std::fs::read(&path).unwrap();
                let answer = if entry == "validate" {
                    instance.validate_payload(&input).map(|_| ())
                } else {
                    instance.validate_settings(&input).map(|_| ())
                };
                if let Err(error) = answer {
                    failures.push(format!("{}: {error}", path.display()));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The inputs the conversion's fuzz target once failed on (`fuzz/regressions/convert_round_trip/`): each
/// converts to either version or is refused with the path of what stops it, and never panics.
#[test]
fn conversion_regressions_convert_or_name_the_field() {
    let folder = workspace_root().join("fuzz/regressions/convert_round_trip");
    for file in std::fs::read_dir(&folder).unwrap() {
        let path = file.unwrap().path();
        let object: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        for version in [DgdVersion::V1alpha1, DgdVersion::V1beta1] {
            if let Some(Err(error)) = convert(&object, version) {
                assert!(
                    error.path.starts_with("spec."),
                    "{}: {error}",
                    path.display()
                );
            }
        }
    }
}

/// The replay above finds a policy's regressions by the fuzz target's name: every policy has both of its
/// fuzz targets under that name, and every regression folder is named after a fuzz target.
#[test]
fn fuzz_targets_and_regression_folders_follow_the_policies() {
    let names_in = |folder: &str, suffix: &str| -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(workspace_root().join(folder)) else {
            return Vec::new();
        };
        let mut names: Vec<String> = entries
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .filter_map(|name| name.strip_suffix(suffix).map(str::to_owned))
            .collect();
        names.sort();
        names
    };
    let targets = names_in("fuzz/fuzz_targets", ".rs");
    let mut expected: Vec<String> = policy_names()
        .iter()
        .flat_map(|policy| {
            let short = policy.trim_start_matches("dynamo-").replace('-', "_");
            [
                format!("cluster_{short}"),
                format!("settings_{short}"),
                format!("validate_{short}"),
            ]
        })
        .chain(
            [
                "check_documents",
                "convert_round_trip",
                "promql",
                "sdk_parsers",
            ]
            .map(str::to_owned),
        )
        .collect();
    expected.sort();
    assert_eq!(targets, expected);
    for folder in names_in("fuzz/regressions", "") {
        assert!(
            targets.contains(&folder),
            "fuzz/regressions/{folder} is not named after a fuzz target"
        );
    }
}
