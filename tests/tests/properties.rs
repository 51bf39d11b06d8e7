//! Properties over generated DGDs, autoscalers, requests and clusters (proptest):
//!
//! * the SDK's DGD model reads the watched fields as the guide defines them, names the path of a wrong
//!   type, and no JSON makes a parser panic;
//! * an adapter name resolves to the unique (DGD, service) producing it, or to the ambiguity, and the
//!   namespace's look-ups, which read only the DGDs it may lead to, resolve it the same;
//! * no policy panics, and every refusal carries a code and a message;
//! * `dynamo-replica-ownership` decides the same whatever the order of `spec.services` and whatever the
//!   fields it does not watch, and denies exactly the unauthorized changes of adapter-owned replicas;
//! * `dynamo-deprecated-autoscaling` in `remove` mode returns the object without its deprecated fields
//!   and with nothing else changed;
//! * converting v1alpha1 DGDs and adapters to v1beta1 changes no policy's decision, and converting there
//!   and back keeps every field the policies read;
//! * every kind the policies look up reads as the same model whether the host masks it by the model's
//!   field masks or serves it whole;
//! * looking for a name among the listed items that may mention it finds what reading every item finds,
//!   however the List's JSON writes the names.
//!
//! Failing inputs are kept in `proptest-regressions/` next to this file and replayed first.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, LazyLock};

use proptest::prelude::*;
use proptest::sample::{Index, select};
use scaleguard_host::admission::patch;
use scaleguard_in_memory_cluster::{ClusterView, InMemoryCluster, served};
use scaleguard_sdk::ResourceKind;
use scaleguard_sdk::adapter::ScalingAdapter;
use scaleguard_sdk::autoscaler::{HorizontalPodAutoscaler, ScaledObject};
use scaleguard_sdk::dgd::convert::convert;
use scaleguard_sdk::dgd::v1alpha1::DynamoGraphDeployment;
use scaleguard_sdk::dgd::{DgdVersion, DgdView};
use scaleguard_sdk::parse::{from_slice, from_str, from_value};
use scaleguard_sdk::review::{
    self, AdapterResolution, FieldMasks, NamespaceObjects, ScaledUnit, resolve_adapter,
};
use scaleguard_sdk::{AdmissionRequest, ValidationResponse};
use scaleguard_tests::generate::{
    SERVICE_NAMES, adapter_object, any_json, cluster_objects, dgd, dgd_object, hpa_object,
    operation, reviewed_object, scaled_object, service, service_name, services, sometimes_broken,
    unknown_fields, user_info,
};
use scaleguard_tests::metadata::Metadata;
use scaleguard_tests::{CaseTable, native_validate, policy_names, request_json};
use serde_json::{Value, json};

// ---- the SDK's models ----

/// Watched fields of a service, a value of the wrong type for it, and the path the error must name.
fn wrong_type() -> impl Strategy<Value = (&'static str, Value, &'static str)> {
    select(vec![
        ("replicas", json!("3"), "replicas"),
        ("replicas", json!(1.5), "replicas"),
        ("replicas", json!(4_294_967_296_i64), "replicas"),
        ("scalingAdapter", json!(true), "scalingAdapter"),
        (
            "scalingAdapter",
            json!({"enabled": "yes"}),
            "scalingAdapter.enabled",
        ),
        ("componentType", json!(["worker"]), "componentType"),
        ("subComponentType", json!(7), "subComponentType"),
        (
            "globalDynamoNamespace",
            json!("true"),
            "globalDynamoNamespace",
        ),
        (
            "resources",
            json!({"limits": {"gpu": 1}}),
            "resources.limits.gpu",
        ),
        (
            "resources",
            json!({"requests": "lots"}),
            "resources.requests",
        ),
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Replicas (absent -> 1), the adapter opt-in and the deprecated field's presence read as the guide
    /// defines them, whatever unknown fields the DGD carries; the model survives a round trip.
    #[test]
    fn the_dgd_model_reads_the_watched_fields_as_the_guide_defines_them(services in services()) {
        let model: DynamoGraphDeployment = from_value(&dgd("llm", &services)).unwrap();
        prop_assert_eq!(model.spec.services.len(), services.len());
        for (name, raw) in &services {
            let service = &model.spec.services[name];
            let replicas = raw.get("replicas").and_then(Value::as_i64).unwrap_or(1);
            prop_assert_eq!(i64::from(service.effective_replicas()), replicas);
            prop_assert_eq!(
                service.adapter_enabled(),
                raw.pointer("/scalingAdapter/enabled") == Some(&json!(true))
            );
            let deprecated = raw.get("autoscaling").is_some_and(|v| !v.is_null());
            prop_assert_eq!(service.has_deprecated_autoscaling(), deprecated);
        }
        let again: DynamoGraphDeployment =
            from_value(&serde_json::to_value(&model).unwrap()).unwrap();
        prop_assert_eq!(again, model);
    }

    /// A watched field of the wrong type is refused with its full path, the service name in brackets.
    #[test]
    fn a_wrong_type_names_its_path(
        mut services in services(),
        name in service_name(),
        (field, bad, path) in wrong_type(),
    ) {
        let mut broken = services.remove(&name).unwrap_or_else(|| json!({}));
        broken[field] = bad;
        services.insert(name.clone(), broken);
        let error = from_value::<DynamoGraphDeployment>(&dgd("llm", &services)).unwrap_err();
        prop_assert_eq!(error.path, format!("spec.services[{name}].{path}"));
    }

    /// No JSON value makes a model panic.
    #[test]
    fn models_never_panic_on_any_json(value in any_json()) {
        let _ = from_value::<DynamoGraphDeployment>(&value);
        let _ = from_value::<ScalingAdapter>(&value);
        let _ = from_value::<HorizontalPodAutoscaler>(&value);
        let _ = from_value::<ScaledObject>(&value);
        let _ = from_value::<AdmissionRequest>(&value);
    }

    /// No byte string makes the request parser panic.
    #[test]
    fn the_request_parser_never_panics_on_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = from_slice::<AdmissionRequest>(&bytes);
    }
}

// ---- adapter resolution ----

/// DGD and service names whose adapter names collide: `a` + `b-c` and `a-b` + `c` both give `a-b-c`;
/// `prefill` and `Prefill` in one DGD both give `<dgd>-prefill`.
const COLLIDING_DGDS: &[&str] = &["a", "a-b", "llm", "llm-prefill", "x"];
const COLLIDING_SERVICES: &[&str] = &[
    "b",
    "b-c",
    "c",
    "B-C",
    "prefill",
    "Prefill",
    "decode",
    "prefill-decode",
];

/// The adapter name of a service by the guide's rule, written out independently of the SDK.
fn produced_name(dgd: &str, service: &str) -> String {
    format!("{dgd}-{}", service.to_lowercase())
}

fn colliding_dgds() -> impl Strategy<Value = Vec<DgdView>> {
    colliding_dgd_objects().prop_map(|dgds| {
        dgds.iter()
            .map(|dgd| DgdView::from_object(dgd).unwrap())
            .collect()
    })
}

/// [`colliding_dgds`] as objects (v1alpha1, in namespace `default`).
fn colliding_dgd_objects() -> impl Strategy<Value = Vec<Value>> {
    prop::collection::btree_map(
        select(COLLIDING_DGDS),
        prop::collection::btree_set(select(COLLIDING_SERVICES), 0..5),
        0..5,
    )
    .prop_map(|dgds| {
        dgds.into_iter()
            .map(|(name, names)| {
                let services: BTreeMap<String, Value> = names
                    .into_iter()
                    .map(|s| (s.to_owned(), json!({})))
                    .collect();
                dgd(name, &services)
            })
            .collect()
    })
}

fn refs<T>(objects: &[T]) -> Vec<&T> {
    objects.iter().collect()
}

/// Existing adapters: a name, and the (DGD, service) their `dgdRef` names, which may not exist.
fn existing_adapters() -> impl Strategy<Value = Vec<ScalingAdapter>> {
    prop::collection::btree_map(
        probe_name(),
        (select(COLLIDING_DGDS), select(COLLIDING_SERVICES)),
        0..3,
    )
    .prop_map(|adapters| {
        adapters
            .into_iter()
            .map(|(name, (dgd, service))| {
                from_value(&json!({"metadata": {"name": name},
                    "spec": {"replicas": 1, "dgdRef": {"name": dgd, "serviceName": service}}}))
                .unwrap()
            })
            .collect()
    })
}

fn probe_name() -> impl Strategy<Value = String> {
    (select(COLLIDING_DGDS), select(COLLIDING_SERVICES)).prop_map(|(d, s)| produced_name(d, s))
}

type Target = (String, String);

/// A resolution as plain data, comparable across orderings of the input.
#[derive(Debug, PartialEq, Eq)]
enum Resolved {
    Found(Target),
    Dangling(String),
    Ambiguous(BTreeSet<Target>),
    NotFound,
}

fn resolved(resolution: &AdapterResolution<'_>) -> Resolved {
    let target = |t: &ScaledUnit<'_>| (t.dgd.metadata.name.clone(), t.name().to_owned());
    match resolution {
        AdapterResolution::Found(t) => Resolved::Found(target(t)),
        AdapterResolution::DanglingAdapter(a) => Resolved::Dangling(a.metadata.name.clone()),
        AdapterResolution::Ambiguous(targets) => {
            Resolved::Ambiguous(targets.iter().map(target).collect())
        }
        AdapterResolution::NotFound => Resolved::NotFound,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// With no adapter of that name, a name resolves to the one (DGD, service) producing it, to all of
    /// them when several do, or to nothing; an existing adapter resolves through its `dgdRef` or dangles.
    #[test]
    fn an_adapter_name_resolves_to_its_unique_producer_or_the_ambiguity(
        dgds in colliding_dgds(),
        adapters in existing_adapters(),
        name in probe_name(),
    ) {
        let producers: BTreeSet<Target> = dgds
            .iter()
            .flat_map(|d| d.components.iter().map(move |c| (d.metadata.name.clone(), c.name.clone())))
            .filter(|(dgd, service)| produced_name(dgd, service) == name)
            .collect();
        let expected = match adapters.iter().find(|a| a.metadata.name == name) {
            Some(adapter) => {
                let dgd_ref = &adapter.spec.dgd_ref;
                let exists = dgds.iter().any(|d| {
                    d.metadata.name == dgd_ref.name && d.component(&dgd_ref.service_name).is_some()
                });
                if exists {
                    Resolved::Found((dgd_ref.name.clone(), dgd_ref.service_name.clone()))
                } else {
                    Resolved::Dangling(name.clone())
                }
            }
            None => match producers.len() {
                0 => Resolved::NotFound,
                1 => Resolved::Found(producers.into_iter().next().unwrap()),
                _ => Resolved::Ambiguous(producers),
            },
        };
        prop_assert_eq!(resolved(&resolve_adapter(&name, &refs(&adapters), &refs(&dgds))), expected);
    }

    /// Resolving through the namespace's look-ups reads only the DGDs the name may lead to, and finds
    /// what resolving against every DGD finds.
    #[test]
    fn resolving_through_the_look_ups_finds_what_every_dgd_gives(
        dgds in colliding_dgd_objects(),
        adapters in existing_adapters(),
        name in probe_name(),
    ) {
        let views: Vec<DgdView> = dgds.iter().map(|d| DgdView::from_object(d).unwrap()).collect();
        let expected = resolved(&resolve_adapter(&name, &refs(&adapters), &refs(&views)));
        let adapter_objects = adapters.iter().map(|a| {
            let mut object = serde_json::to_value(a).unwrap();
            object["apiVersion"] = json!("nvidia.com/v1alpha1");
            object["kind"] = json!("DynamoGraphDeploymentScalingAdapter");
            object["metadata"]["namespace"] = json!("default");
            object
        });
        let cluster = Arc::new(InMemoryCluster::from_objects(dgds.iter().cloned().chain(adapter_objects)));
        let granted = [DgdVersion::V1alpha1, DgdVersion::V1beta1]
            .into_iter()
            .flat_map(|v| [review::dgd_resource(v), review::adapter_resource(v)])
            .collect();
        let view = ClusterView::new(cluster, granted);
        let objects = NamespaceObjects::new(&view, "default", &FieldMasks::MODELS);
        prop_assert_eq!(resolved(&objects.resolve(&name).unwrap()), expected);
    }

    /// The order in which the cluster lists DGDs and adapters does not change the resolution.
    #[test]
    fn resolution_does_not_depend_on_list_order(
        dgds in colliding_dgds(),
        adapters in existing_adapters(),
        name in probe_name(),
    ) {
        let forward = resolved(&resolve_adapter(&name, &refs(&adapters), &refs(&dgds)));
        let (mut dgds, mut adapters) = (dgds, adapters);
        dgds.reverse();
        adapters.reverse();
        prop_assert_eq!(resolved(&resolve_adapter(&name, &refs(&adapters), &refs(&dgds))), forward);
    }
}

// ---- every policy ----

/// Per policy: every settings value its case table uses (valid and invalid ones), plus no settings.
static SETTINGS: LazyLock<BTreeMap<String, Vec<Value>>> = LazyLock::new(|| {
    policy_names()
        .into_iter()
        .map(|policy| {
            let table = CaseTable::load(&policy).unwrap();
            let mut settings: Vec<Value> = vec![Value::Null];
            settings.extend(table.cases.iter().map(|case| case.settings.clone()));
            settings.extend(table.settings.iter().map(|case| case.settings.clone()));
            (policy, settings)
        })
        .collect()
});

/// Per policy: the kinds its metadata grants it.
static GRANTED: LazyLock<BTreeMap<String, BTreeSet<ResourceKind>>> = LazyLock::new(|| {
    policy_names()
        .into_iter()
        .map(|policy| {
            let granted = Metadata::load(&policy).unwrap().granted();
            (policy, granted)
        })
        .collect()
});

/// A decision Kubewarden can pass on: an admission carries no code or message; a refusal carries a code
/// scaleguard uses and a message.
fn check_decision(policy: &str, response: &ValidationResponse) -> Result<(), TestCaseError> {
    if response.accepted {
        prop_assert!(
            response.code.is_none() && response.message.is_none(),
            "{policy} admitted with a code or message: {response:?}"
        );
    } else {
        prop_assert!(
            matches!(response.code, Some(400 | 403 | 500)),
            "{policy} refused with code {:?}",
            response.code
        );
        prop_assert!(
            response
                .message
                .as_deref()
                .is_some_and(|m| !m.trim().is_empty()),
            "{policy} refused without a message"
        );
        prop_assert!(
            response.mutated_object.is_none(),
            "{policy} refused and mutated"
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Whatever the request, settings and cluster, no policy panics, and each answers a proper decision.
    #[test]
    fn no_policy_panics_and_every_refusal_says_why(
        object in sometimes_broken(reviewed_object()),
        other in sometimes_broken(reviewed_object()),
        old_choice in 0..4u8,
        operation in operation(),
        user in user_info(),
        cluster in cluster_objects(),
        settings_pick in any::<Index>(),
        junk_settings in prop::option::weighted(0.15, any_json()),
    ) {
        // The stored object of an UPDATE is mostly the same object, else another one, or missing.
        let old = match old_choice {
            0 | 1 => object.clone(),
            2 => other,
            _ => Value::Null,
        };
        let request = request_json("property", operation, &object, &old, user.as_ref());
        let cluster = Arc::new(InMemoryCluster::from_objects(cluster));
        for policy in policy_names() {
            let settings = junk_settings
                .clone()
                .unwrap_or_else(|| settings_pick.get(&SETTINGS[&policy]).clone());
            let payload = serde_json::to_vec(&json!({"request": request, "settings": settings})).unwrap();
            let view = ClusterView::new(Arc::clone(&cluster), GRANTED[&policy].clone());
            let response = native_validate(&policy, &payload, &view).unwrap();
            check_decision(&policy, &response)?;
        }
    }
}

// ---- dynamo-replica-ownership ----

const REPLICA_OWNERSHIP: &str = "dynamo-replica-ownership";

/// Service maps whose keys overlap (so UPDATEs change services that exist on both sides).
fn pool_services() -> impl Strategy<Value = BTreeMap<String, Value>> {
    prop::collection::btree_map(
        select(SERVICE_NAMES).prop_map(str::to_owned),
        service(),
        0..6,
    )
}

/// Named services in the order a map was written with.
type ServiceEntries = Vec<(String, Value)>;

/// A service map, and the same entries in a shuffled order.
fn shuffled(
    services: BTreeMap<String, Value>,
) -> impl Strategy<Value = (ServiceEntries, ServiceEntries)> {
    let entries: Vec<(String, Value)> = services.into_iter().collect();
    (Just(entries.clone()), Just(entries).prop_shuffle())
}

/// The DGD `llm` without services: what [`UnrelatedEdit`]s change around them.
fn bare_dgd() -> Value {
    json!({"apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoGraphDeployment",
        "metadata": {"name": "llm", "namespace": "default"}, "spec": {}})
}

/// `dgd` as JSON text with `spec.services` written with its entries in exactly the given order.
fn dgd_text_with(dgd: &Value, services: &[(String, Value)]) -> String {
    const PLACEHOLDER: &str = "\"__services__\"";
    let entries: Vec<String> = services
        .iter()
        .map(|(name, service)| format!("{}:{service}", Value::from(name.as_str())))
        .collect();
    let mut dgd = dgd.clone();
    dgd["spec"]["services"] = json!("__services__");
    dgd.to_string()
        .replacen(PLACEHOLDER, &format!("{{{}}}", entries.join(",")), 1)
}

fn dgd_text(services: &[(String, Value)]) -> String {
    dgd_text_with(&bare_dgd(), services)
}

/// The `validate` payload of an UPDATE of `llm` from `old` to `new` (JSON texts) by `user`.
fn update_payload(old: &str, new: &str, user: Option<&Value>) -> Vec<u8> {
    let user = user.map_or_else(String::new, |user| format!(r#","userInfo":{user}"#));
    format!(
        r#"{{"request":{{"uid":"p","kind":{{"group":"nvidia.com","version":"v1alpha1","kind":"DynamoGraphDeployment"}},"operation":"UPDATE","name":"llm","namespace":"default"{user},"object":{new},"oldObject":{old}}},"settings":null}}"#
    )
    .into_bytes()
}

fn replica_ownership(payload: &[u8]) -> ValidationResponse {
    native_validate(REPLICA_OWNERSHIP, payload, &scaleguard_sdk::EmptyCluster).unwrap()
}

/// Users whose authorization under the default settings is known: `(userInfo, authorized)`.
fn known_user() -> impl Strategy<Value = (Option<Value>, bool)> {
    select(vec![
        (
            Some(json!({"username": "alice", "groups": ["system:authenticated"]})),
            false,
        ),
        (
            Some(json!({"username": "system:serviceaccount:default:planner-serviceaccount"})),
            true,
        ),
        (
            Some(json!({"username": "system:serviceaccount:team-b:planner-serviceaccount"})),
            false,
        ),
        (
            Some(
                json!({"username": "system:serviceaccount:scaleguard-system:scaleguard-controller"}),
            ),
            true,
        ),
        (None, false),
    ])
}

/// A change of a field the rule does not watch.
#[derive(Debug, Clone)]
enum UnrelatedEdit {
    /// `metadata.labels` / `metadata.annotations`.
    Metadata(&'static str, BTreeMap<String, String>),
    /// `spec.backendFramework` and other spec fields.
    Spec(&'static str, Value),
    /// `status`, well-typed.
    Status(u8, String),
    /// A service's `componentType`, `subComponentType`, GPUs or unknown fields.
    Service(Index, &'static str, Value),
}

fn unrelated_edit() -> impl Strategy<Value = UnrelatedEdit> {
    prop_oneof![
        (
            select(vec!["labels", "annotations"]),
            prop::collection::btree_map("[a-z./]{1,12}", "[a-z0-9]{0,8}", 0..3)
        )
            .prop_map(|(field, map)| UnrelatedEdit::Metadata(field, map)),
        (select(vec!["backendFramework", "pvcs", "envs"]), any_json())
            .prop_map(|(field, value)| UnrelatedEdit::Spec(field, value)),
        (0..9u8, "[a-z]{0,10}").prop_map(|(ready, state)| UnrelatedEdit::Status(ready, state)),
        (
            any::<Index>(),
            select(vec!["componentType", "subComponentType"]),
            "[a-z]{0,10}".prop_map(Value::from)
        )
            .prop_map(|(at, field, value)| UnrelatedEdit::Service(at, field, value)),
        (
            any::<Index>(),
            "[0-8]".prop_map(|gpu| json!({"limits": {"gpu": gpu}}))
        )
            .prop_map(|(at, resources)| UnrelatedEdit::Service(at, "resources", resources)),
        (any::<Index>(), unknown_fields()).prop_map(|(at, fields)| UnrelatedEdit::Service(
            at,
            "extraPodSpec",
            Value::Object(fields)
        )),
    ]
}

impl UnrelatedEdit {
    fn apply(&self, services: &mut [(String, Value)], dgd: &mut Value) {
        match self {
            Self::Metadata(field, map) => dgd["metadata"][*field] = json!(map),
            Self::Spec(field, value) => dgd["spec"][*field] = value.clone(),
            Self::Status(ready, state) => {
                dgd["status"] = json!({"state": state, "services": {"decode": {"replicas": 1, "readyReplicas": ready}}});
            }
            Self::Service(at, field, value) => {
                if !services.is_empty() {
                    let (_, service) = &mut services[at.index(services.len())];
                    service[*field] = value.clone();
                }
            }
        }
    }
}

/// The DGD `llm` as JSON text after `edits`, its services in the given order.
fn edited_dgd_text(services: &[(String, Value)], edits: &[UnrelatedEdit]) -> String {
    let mut services = services.to_vec();
    let mut dgd = bare_dgd();
    for edit in edits {
        edit.apply(&mut services, &mut dgd);
    }
    dgd_text_with(&dgd, &services)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Listing `spec.services` in another order changes nothing in the decision.
    #[test]
    fn replica_ownership_ignores_the_order_of_services(
        ((old, old_shuffled), (new, new_shuffled)) in (pool_services().prop_flat_map(shuffled), pool_services().prop_flat_map(shuffled)),
        (user, _) in known_user(),
    ) {
        let ordered = replica_ownership(&update_payload(&dgd_text(&old), &dgd_text(&new), user.as_ref()));
        let reordered = replica_ownership(&update_payload(&dgd_text(&old_shuffled), &dgd_text(&new_shuffled), user.as_ref()));
        prop_assert_eq!(ordered, reordered);
    }

    /// Fields the rule does not watch (labels, annotations, other spec fields, status, a service's
    /// component types, GPUs and unknown fields) change nothing in the decision, on either side.
    #[test]
    fn replica_ownership_ignores_unrelated_fields(
        old in pool_services(),
        new in pool_services(),
        (user, _) in known_user(),
        old_edits in prop::collection::vec(unrelated_edit(), 0..4),
        new_edits in prop::collection::vec(unrelated_edit(), 1..4),
    ) {
        let old: Vec<(String, Value)> = old.into_iter().collect();
        let new: Vec<(String, Value)> = new.into_iter().collect();
        let plain = replica_ownership(&update_payload(&dgd_text(&old), &dgd_text(&new), user.as_ref()));
        let edited = replica_ownership(&update_payload(
            &edited_dgd_text(&old, &old_edits),
            &edited_dgd_text(&new, &new_edits),
            user.as_ref(),
        ));
        prop_assert_eq!(plain, edited);
    }

    /// An UPDATE is denied exactly when an unauthorized writer changes the effective replicas (absent -> 1)
    /// of a service that exists in both objects and has its adapter enabled in either; the denial
    /// names each such service with the `kubectl scale` command that would do it.
    #[test]
    fn replica_ownership_denies_exactly_unauthorized_replica_changes(
        old in pool_services(),
        new in pool_services(),
        (user, authorized) in known_user(),
    ) {
        let effective = |service: &Value| service.get("replicas").and_then(Value::as_i64).unwrap_or(1);
        let enabled = |service: &Value| service.pointer("/scalingAdapter/enabled") == Some(&json!(true));
        let changes: Vec<(&String, i64)> = new
            .iter()
            .filter_map(|(name, service)| {
                let before = old.get(name)?;
                let owned = enabled(service) || enabled(before);
                (owned && effective(service) != effective(before)).then(|| (name, effective(service)))
            })
            .collect();
        let old: Vec<(String, Value)> = old.clone().into_iter().collect();
        let new_entries: Vec<(String, Value)> = new.clone().into_iter().collect();
        let response = replica_ownership(&update_payload(&dgd_text(&old), &dgd_text(&new_entries), user.as_ref()));
        let denied = !changes.is_empty() && !authorized;
        prop_assert_eq!(response.accepted, !denied, "{:?}", response);
        if denied {
            prop_assert_eq!(response.code, Some(403));
            let message = response.message.unwrap_or_default();
            prop_assert_eq!(message.matches("cannot be modified directly").count(), changes.len());
            for (service, replicas) in changes {
                let expected = format!(
                    "spec.services[{service}].replicas cannot be modified directly when scaling adapter is enabled; use 'kubectl scale dgdsa/llm-{} --replicas={replicas}'",
                    service.to_lowercase()
                );
                prop_assert!(message.contains(&expected), "{} lacks {}", message, expected);
            }
        }
    }
}

// ---- dynamo-deprecated-autoscaling, remove mode ----

/// Service names with the characters a JSON pointer must escape.
fn awkward_service_name() -> impl Strategy<Value = String> {
    prop_oneof![service_name(), "[A-Za-z~/.][A-Za-z0-9~/.-]{0,8}"]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// `remove` mode answers the submitted object minus exactly its deprecated fields (`autoscaling` unless
    /// `null`, and `dynamoNamespace` unless `null` when checked): none is left, nothing else changes, and the
    /// JSONPatch only removes them; an object without any is admitted unchanged.
    #[test]
    fn remove_mode_removes_the_deprecated_fields_and_nothing_else(
        services in prop::collection::btree_map(awkward_service_name(), service(), 0..8),
        check_dynamo_namespace in any::<bool>(),
        operation in select(vec!["CREATE", "UPDATE"]),
    ) {
        let object = dgd("llm", &services);
        let mut expected = object.clone();
        let mut removed = Vec::new();
        for (name, service) in &services {
            let mut fields = vec!["autoscaling"];
            if check_dynamo_namespace {
                fields.push("dynamoNamespace");
            }
            for field in fields {
                if service.get(field).is_some_and(|v| !v.is_null()) {
                    expected["spec"]["services"][name].as_object_mut().unwrap().remove(field);
                    let escaped = name.replace('~', "~0").replace('/', "~1");
                    removed.push(format!("/spec/services/{escaped}/{field}"));
                }
            }
        }
        let settings = json!({"mode": "remove", "checkDynamoNamespace": check_dynamo_namespace});
        let request = request_json("p", operation, &object, &object, Some(&json!({"username": "alice"})));
        let payload = serde_json::to_vec(&json!({"request": request, "settings": settings})).unwrap();
        let response = native_validate("dynamo-deprecated-autoscaling", &payload, &scaleguard_sdk::EmptyCluster).unwrap();
        prop_assert!(response.accepted);
        // `scalingAdapter` without `enabled` is warned about too, and never removed.
        let bare_markers = services
            .values()
            .filter(|service| {
                service.get("scalingAdapter").is_some_and(|marker| {
                    marker.is_object() && marker.get("enabled").is_none_or(Value::is_null)
                })
            })
            .count();
        let warnings = response.warnings.map_or(0, |w| w.len());
        prop_assert_eq!(warnings, removed.len() + bare_markers);
        if removed.is_empty() {
            prop_assert_eq!(response.mutated_object, None);
            return Ok(());
        }
        let mutated = response.mutated_object.expect("a mutation");
        prop_assert_eq!(&mutated, &expected);
        let operations = serde_json::to_value(patch(&object, &mutated)).unwrap();
        let mut paths: Vec<String> = operations
            .as_array()
            .unwrap()
            .iter()
            .map(|op| {
                assert_eq!(op["op"], "remove", "{op}");
                op["path"].as_str().unwrap().to_owned()
            })
            .collect();
        paths.sort();
        removed.sort();
        prop_assert_eq!(paths, removed);
    }
}

// ---- the two versions of Dynamo's API ----

/// Whether a generated v1alpha1 service map uses roles the two versions' Planners read differently:
/// a `subComponentType` other than a worker's prefill/decode (it has no v1beta1 field, and convert
/// reports it); a
/// `componentType` of prefill/decode without the matching `subComponentType` (v1alpha1's Planner keys on
/// `subComponentType`, v1beta1's on `type`); or a worker found by its name (`decode`, `VllmPrefillWorker`)
/// beside a service that has that role by `subComponentType` (v1alpha1 scales both, v1beta1's Planner
/// looks for a name only when no component has the role).
fn planner_reads_it_differently(services: &serde_json::Map<String, Value>) -> bool {
    let text =
        |service: &Value, key: &str| service.get(key).and_then(Value::as_str).map(str::to_owned);
    let roles: Vec<String> = services
        .values()
        .filter_map(|s| text(s, "subComponentType"))
        .collect();
    services.iter().any(|(name, service)| {
        let sub = text(service, "subComponentType");
        let by_name_role = if name.to_ascii_lowercase().contains("prefill") { "prefill" } else { "decode" };
        let component_type = text(service, "componentType");
        let worker = matches!(component_type.as_deref(), None | Some("" | "worker"));
        matches!(sub.as_deref(), Some(s) if !s.is_empty() && (!worker || (s != "prefill" && s != "decode")))
            || matches!(component_type.as_deref(), Some(t @ ("prefill" | "decode")) if sub.as_deref() != Some(t))
            || (sub.as_deref().is_none_or(str::is_empty)
                && SERVICE_NAMES_THE_PLANNER_FINDS.contains(&name.as_str())
                && roles.iter().any(|role| role == by_name_role))
    })
}

/// The v1alpha1 Planner's fallback names.
const SERVICE_NAMES_THE_PLANNER_FINDS: &[&str] =
    scaleguard_sdk::dgd::v1alpha1::PLANNER_FALLBACK_SERVICE_NAMES;

/// Every v1alpha1 Dynamo object of `objects` converted to v1beta1; `None` when one of them uses roles
/// the two versions read differently.
fn to_v1beta1(objects: &[Value]) -> Option<Vec<Value>> {
    objects
        .iter()
        .map(|object| {
            let services = object.pointer("/spec/services").and_then(Value::as_object);
            if services.is_some_and(planner_reads_it_differently) {
                return None;
            }
            match convert(object, DgdVersion::V1beta1) {
                Some(Ok(conversion)) => Some(conversion.object),
                Some(Err(_)) => None,
                None => Some(object.clone()),
            }
        })
        .collect()
}

/// A view's components without their paths (the only field that names the version).
fn components_of(view: &DgdView) -> Vec<scaleguard_sdk::dgd::Component> {
    view.components
        .iter()
        .cloned()
        .map(|mut component| {
            component.path.clear();
            if let Err(error) = &mut component.gpus {
                error.field.clear();
            }
            component
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// A v1alpha1 DGD and its v1beta1 conversion read as the same components, and converting back gives
    /// the same again: the conversion keeps every field the policies read.
    #[test]
    fn conversion_there_and_back_keeps_what_the_rules_read(object in dgd_object()) {
        let Some(beta) = to_v1beta1(std::slice::from_ref(&object)) else {
            return Ok(());
        };
        let original = DgdView::from_object(&object).unwrap();
        let converted = DgdView::from_object(&beta[0]).unwrap();
        prop_assert_eq!(converted.version, DgdVersion::V1beta1);
        prop_assert_eq!(components_of(&converted), components_of(&original));
        let back = convert(&beta[0], DgdVersion::V1alpha1).unwrap().unwrap();
        let back = DgdView::from_object(&back.object).unwrap();
        prop_assert_eq!(back.version, DgdVersion::V1alpha1);
        prop_assert_eq!(components_of(&back), components_of(&original));
    }

    /// Converting the reviewed object, the stored one and every Dynamo object of the cluster to v1beta1
    /// changes no policy's decision. `dynamo-deprecated-autoscaling` is left out: the fields it reports
    /// do not exist in v1beta1, and convert reports them instead.
    #[test]
    fn converting_to_v1beta1_changes_no_decision(
        object in reviewed_object(),
        other in reviewed_object(),
        same_old in any::<bool>(),
        operation in operation(),
        user in user_info(),
        cluster in cluster_objects(),
        settings_pick in any::<Index>(),
    ) {
        let old = if same_old { object.clone() } else { other };
        let mut all = vec![object.clone(), old.clone()];
        all.extend(cluster.iter().cloned());
        let Some(converted) = to_v1beta1(&all) else {
            return Ok(());
        };
        let decide = |object: &Value, old: &Value, cluster: &[Value], policy: &str, settings: &Value| {
            let request = request_json("property", operation, object, old, user.as_ref());
            let payload = serde_json::to_vec(&json!({"request": request, "settings": settings})).unwrap();
            let cluster = Arc::new(InMemoryCluster::from_objects(cluster.iter().cloned()));
            let view = ClusterView::new(cluster, GRANTED[policy].clone());
            let response = native_validate(policy, &payload, &view).unwrap();
            (response.accepted, response.code)
        };
        for policy in policy_names().iter().filter(|p| *p != "dynamo-deprecated-autoscaling") {
            let settings = settings_pick.get(&SETTINGS[policy]).clone();
            let before = decide(&object, &old, &cluster, policy, &settings);
            let after = decide(&converted[0], &converted[1], &converted[2..], policy, &settings);
            prop_assert_eq!(before, after, "{} on {} / {}", policy, object, converted[0]);
        }
    }
}

// ---- field masks ----

/// `object` read by `read` as a Kubewarden host serves it to a look-up that ignores field masks and to
/// one masked by `fields`: the same model, or an error both ways. (Which broken field the error names
/// may differ: serde reads a struct from a list too, field by field, and a mask prunes such a list's
/// items, as in `"spec": [{"x": false}, [true]]`.)
fn reads_the_same<T: PartialEq + std::fmt::Debug>(
    object: &Value,
    fields: &[&str],
    read: fn(&str) -> Result<T, scaleguard_sdk::FieldError>,
) -> Result<(), TestCaseError> {
    match (
        read(&served(object, &[]).to_string()),
        read(&served(object, fields).to_string()),
    ) {
        (Err(_), Err(_)) => {}
        (whole, masked) => prop_assert_eq!(whole, masked, "{}", object),
    }
    Ok(())
}

/// The DGDs or adapters of `objects`, converted to v1beta1.
fn at_v1beta1(objects: BoxedStrategy<Value>) -> BoxedStrategy<Value> {
    objects
        .prop_map(|object| match convert(&object, DgdVersion::V1beta1) {
            Some(Ok(conversion)) => conversion.object,
            _ => object,
        })
        .boxed()
}

proptest! {
    /// Every kind the policies look up, masked by its model's fields (`FieldMasks::MODELS`), reads as the
    /// same model as the whole object, broken objects included: a policy decides the same whether the
    /// host honours its field masks (Kubewarden 1.33+) or not.
    #[test]
    fn a_masked_object_reads_as_the_whole_one(
        alpha in sometimes_broken(dgd_object()),
        beta in sometimes_broken(at_v1beta1(dgd_object())),
        hpa in sometimes_broken(hpa_object()),
        scaled in sometimes_broken(scaled_object()),
        adapter in sometimes_broken(adapter_object().boxed()),
        beta_adapter in sometimes_broken(at_v1beta1(adapter_object().boxed())),
    ) {
        let masks = FieldMasks::MODELS;
        reads_the_same(&alpha, masks.dgds, DgdView::from_json)?;
        reads_the_same(&beta, masks.dgds, DgdView::from_json)?;
        reads_the_same(&hpa, masks.hpas, from_str::<HorizontalPodAutoscaler>)?;
        reads_the_same(&scaled, masks.scaled_objects, from_str::<ScaledObject>)?;
        reads_the_same(&adapter, masks.adapters, from_str::<ScalingAdapter>)?;
        reads_the_same(&beta_adapter, masks.adapters, from_str::<ScalingAdapter>)?;
    }
}

// ---- look-ups by mention ----

/// Characters of generated names: plain ones, one JSON may write as `\/`, one outside ASCII, and two
/// JSON always escapes.
const NAME_CHARACTERS: &[char] = &['a', 'b', '-', '/', 'é', '"', '\\'];

/// A name, each character with how JSON writes it: 0 as itself (or its short escape where JSON
/// requires one), 1 as `\uXXXX`, 2 as its short escape where it has one (`\/`).
fn written_name() -> impl Strategy<Value = Vec<(char, u8)>> {
    prop::collection::vec((select(NAME_CHARACTERS), 0..3_u8), 1..5)
}

fn name_of(written: &[(char, u8)]) -> String {
    written.iter().map(|&(c, _)| c).collect()
}

/// `written` as a JSON string, each character written as it says.
fn json_string(written: &[(char, u8)]) -> String {
    let mut json = String::from("\"");
    for &(c, how) in written {
        match (c, how) {
            (_, 1) => json.push_str(&format!("\\u{:04x}", u32::from(c))),
            ('/', 2) => json.push_str("\\/"),
            ('"' | '\\', _) => {
                json.push('\\');
                json.push(c);
            }
            _ => json.push(c),
        }
    }
    json.push('"');
    json
}

/// An item of the generated Lists: a name and a reference to another name.
#[derive(Debug, serde::Deserialize)]
struct Referring {
    metadata: scaleguard_sdk::meta::ObjectMeta,
    spec: Reference,
}

#[derive(Debug, serde::Deserialize)]
struct Reference {
    #[serde(rename = "ref")]
    target: String,
}

/// Answers every look-up with one List JSON.
struct Answering(String);

impl scaleguard_sdk::Cluster for Answering {
    fn list_json(
        &self,
        _: &scaleguard_sdk::cluster::Lookup<'_>,
    ) -> Result<Vec<u8>, scaleguard_sdk::LookupError> {
        Ok(self.0.clone().into_bytes())
    }
}

proptest! {
    /// Looking for a name among the items that may mention it finds exactly what reading every item
    /// finds, however the List's JSON writes the names (escapes a name may hold, `\uXXXX`, `\/`, names
    /// JSON must escape), for whole names and for the start of one, on the first searches of a list
    /// and on those an earlier one covers.
    #[test]
    fn looking_for_a_mention_finds_what_reading_every_item_finds(
        items in prop::collection::vec((written_name(), written_name()), 0..6),
        probes in prop::collection::vec((written_name(), any::<bool>()), 1..4),
    ) {
        use scaleguard_sdk::listed::{ListText, ListedItems, Mention};
        let objects: Vec<String> = items
            .iter()
            .map(|(name, target)| {
                format!(r#"{{"metadata": {{"name": {}}}, "spec": {{"ref": {}}}}}"#, json_string(name), json_string(target))
            })
            .collect();
        let answer = format!(r#"{{"kind": "List", "items": [{}]}}"#, objects.join(", "));
        let kind = ResourceKind::of("example.com/v1", "Referring");
        let lookup = scaleguard_sdk::cluster::Lookup { kind: &kind, namespace: "default", field_masks: &[] };
        let listed = ListedItems::new(
            ListText::list(&Answering(answer.clone()), &lookup).unwrap(),
            from_str::<Referring>,
        );
        for (probe, exact) in &probes {
            let probe = name_of(probe);
            let matches = |text: &str| if *exact { text == probe } else { text.starts_with(&probe) };
            let mention = if *exact { Mention::Exact(&probe) } else { Mention::Prefix(&probe) };
            let keep = |item: &Referring| matches(&item.metadata.name) || matches(&item.spec.target);
            let found: Vec<(String, String)> = listed
                .read_where(Some(&[mention]), &keep)
                .unwrap()
                .iter()
                .map(|item| (item.metadata.name.clone(), item.spec.target.clone()))
                .collect();
            let expected: Vec<(String, String)> = items
                .iter()
                .map(|(name, target)| (name_of(name), name_of(target)))
                .filter(|(name, target)| matches(name) || matches(target))
                .collect();
            prop_assert_eq!(found, expected, "{} in {}", probe, answer);
        }
    }
}
