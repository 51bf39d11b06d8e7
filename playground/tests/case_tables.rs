//! Every policy's case table (`policies/<policy>/test_data/cases.yaml`, the cases the modules are
//! proven against under wasmtime) answered through the playground's entry point: the request's object
//! and the case's cluster pasted as the objects, its old object as "before", its user and groups, its
//! settings. The finding the page shows for the object must be the answer the case expects, so the page
//! cannot drift from the modules' decisions.
//!
//! A case the page cannot express is counted, with its reason, and must stay a minority: a DELETE or
//! CONNECT (`check` sends CREATEs and UPDATEs), a request without `userInfo` (Kubewarden always sends
//! one), an object that is not a Kubernetes object `check` can read (it reports those as input errors),
//! a request the policy's rules do not select (Kubewarden never calls the policy for it), a kind
//! the case's cluster does not serve while holding objects of it, and an object being deleted (`check`
//! drops a manifest's `metadata.deletionTimestamp`, as the API server does on apply).
#![cfg(not(target_arch = "wasm32"))]

use std::collections::BTreeMap;

use scaleguard_check::input::Identity;
use scaleguard_playground::{Input, OBJECTS_FILE, check};
use scaleguard_tests::{Case, CaseTable, policy_names};
use serde_json::Value;

/// How a case went.
enum Outcome {
    /// The page showed the expected answer.
    Passed,
    /// The page showed something else.
    Failed(String),
    /// The page cannot express the case.
    Skipped(String),
}

fn text<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// The playground input of `case`, or why the page cannot express it.
fn input_of(policy: &str, case: &Case) -> Result<Input, String> {
    let request = case.request(policy)?;
    let operation = text(&request, "/operation");
    if operation != "CREATE" && operation != "UPDATE" {
        return Err(format!("operation {operation:?}"));
    }
    if !text(&request, "/subResource").is_empty() {
        return Err("a subresource request".into());
    }
    let user_info = request.get("userInfo").filter(|u| u.is_object());
    for (api_version, kind) in &case.not_served {
        if case
            .cluster
            .iter()
            .any(|o| text(o, "/apiVersion") == api_version && text(o, "/kind") == kind)
        {
            return Err(format!(
                "{api_version}/{kind} not served yet in the cluster"
            ));
        }
    }
    let object = &request["object"];
    let old_object = &request["oldObject"];
    if [object, old_object]
        .iter()
        .any(|o| o.pointer("/metadata/deletionTimestamp").is_some())
    {
        return Err(
            "metadata.deletionTimestamp (check drops it from manifests, as the API server does)"
                .into(),
        );
    }
    if operation == "UPDATE" && !old_object.is_object() {
        return Err("an UPDATE without oldObject".into());
    }
    if operation == "UPDATE" && Identity::of(old_object) != Identity::of(object) {
        return Err("oldObject is another object (group, kind, namespace or name)".into());
    }
    let documents: Vec<String> = std::iter::once(object)
        .chain(&case.cluster)
        .map(Value::to_string)
        .collect();
    let groups = user_info
        .and_then(|u| u.get("groups"))
        .and_then(Value::as_array)
        .map(|groups| {
            groups
                .iter()
                .filter_map(|g| g.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let namespace = text(&request, "/namespace");
    // Before the change the cluster held the same objects, and the stored object instead of the
    // submitted one: the page judges a violation the stored object had against that state.
    let before: Vec<String> = if operation == "UPDATE" {
        case.cluster
            .iter()
            .filter(|o| Identity::of(o) != Identity::of(object))
            .chain(std::iter::once(old_object))
            .map(Value::to_string)
            .collect()
    } else {
        Vec::new()
    };
    Ok(Input {
        objects: documents.join("\n---\n"),
        before: before.join("\n---\n"),
        user: user_info.map(|u| text(u, "/username").to_owned()),
        groups,
        namespace: (!namespace.is_empty()).then(|| namespace.to_owned()),
        policies: Some(vec![policy.to_owned()]),
        settings: if case.settings.is_null() {
            BTreeMap::new()
        } else {
            BTreeMap::from([(policy.to_owned(), case.settings.to_string())])
        },
    })
}

fn run_case(policy: &str, case: &Case) -> Outcome {
    let input = match input_of(policy, case) {
        Ok(input) => input,
        Err(reason) => return Outcome::Skipped(reason),
    };
    let output = check(&input);
    if !output.settings_errors.is_empty() {
        // Refused settings: the page shows the policy's own validate_settings message; the module's
        // validate refuses the same settings with code 400 and that message.
        let expected = case.expect.message.as_deref().unwrap_or("");
        let shown = &output.settings_errors[0].message;
        return if !case.expect.accepted
            && case.expect.code == Some(400)
            && shown == &format!("policy {policy}: {expected}")
        {
            Outcome::Passed
        } else {
            Outcome::Failed(format!("settings refused: {shown}"))
        };
    }
    if output.report.errors.iter().any(|e| e.file == OBJECTS_FILE) {
        return Outcome::Skipped(format!(
            "not an object check reads: {}",
            output.report.errors[0].message
        ));
    }
    if !output.report.errors.is_empty() {
        return Outcome::Failed(format!("input errors: {:?}", output.report.errors));
    }
    let Some(record) = output
        .report
        .results
        .iter()
        .find(|r| r.index == 0 && r.policy == policy)
    else {
        return Outcome::Skipped("not selected by the policy's rules".into());
    };
    let expect = &case.expect;
    let request_operation = case
        .request(policy)
        .map(|r| text(&r, "/operation").to_owned())
        .unwrap_or_default();
    let shown = (
        record.operation.as_str(),
        record.allowed,
        record.code,
        record.message.as_deref(),
        &record.warnings,
        &record.patch,
    );
    let wanted = (
        request_operation.as_str(),
        expect.accepted,
        expect.code.filter(|_| !expect.accepted),
        expect.message.as_deref(),
        &expect.warnings,
        &expect.patch,
    );
    if shown == wanted {
        Outcome::Passed
    } else {
        Outcome::Failed(format!(
            "(operation, allowed, code, message, warnings, patch)\n  expected {wanted:?}\n  shown    {shown:?}"
        ))
    }
}

#[test]
fn the_page_answers_every_case_table_as_the_modules_do() {
    let mut failures = Vec::new();
    let mut summary = Vec::new();
    let (mut total, mut total_skipped) = (0, 0);
    for policy in policy_names() {
        let table = CaseTable::load(&policy).unwrap();
        let (mut passed, mut skipped) = (0, Vec::new());
        for case in &table.cases {
            match run_case(&policy, case) {
                Outcome::Passed => passed += 1,
                Outcome::Failed(problem) => {
                    failures.push(format!("{policy}: {}:\n{problem}", case.name))
                }
                Outcome::Skipped(reason) => skipped.push(format!("{}: {reason}", case.name)),
            }
        }
        for case in &table.settings {
            let output = check(&Input {
                policies: Some(vec![policy.clone()]),
                settings: BTreeMap::from([(policy.clone(), case.settings.to_string())]),
                ..Input::default()
            });
            let shown = output.settings_errors.first().map(|e| e.message.clone());
            let wanted = case
                .message
                .as_ref()
                .map(|m| format!("policy {policy}: {m}"));
            if shown == wanted && output.settings_errors.is_empty() == case.valid {
                passed += 1;
            } else {
                failures.push(format!(
                    "{policy}: settings {}:\n  expected {wanted:?}\n  shown    {shown:?}",
                    case.name
                ));
            }
        }
        assert!(passed > 0, "{policy}: no case answered through the page");
        total += table.cases.len() + table.settings.len();
        total_skipped += skipped.len();
        summary.push(format!(
            "{policy}: {passed} of {} cases answered through the page; not expressible:\n    {}",
            table.cases.len() + table.settings.len(),
            skipped.join("\n    ")
        ));
    }
    println!("{}", summary.join("\n"));
    assert!(
        failures.is_empty(),
        "{} cases differ:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    assert!(
        total_skipped * 5 < total,
        "{total_skipped} of {total} cases cannot be expressed on the page: more than a fifth"
    );
}
