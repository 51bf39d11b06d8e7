use kube::core::object::HasStatus;
use serde_json::json;

use super::*;
use crate::dgd::{DynamoGraphDeployment, v1beta1};
use crate::fixtures::*;

fn names<A: AdapterResource>(adapters: &[A]) -> Vec<(&str, i32)> {
    adapters
        .iter()
        .map(|a| (a.meta().name.as_deref().unwrap(), a.replicas()))
        .collect()
}

fn deleted<A>(plan: &AdapterPlan<A>) -> Vec<&str> {
    plan.delete.iter().map(|d| d.name.as_str()).collect()
}

fn reasons(warnings: &[Warning]) -> Vec<&str> {
    warnings.iter().map(|w| w.reason).collect()
}

// ---- desired adapters / plan (DGD reconcile) ----

#[test]
fn creates_adapters_for_enabled_services() {
    let dgd = dgd(json!({
        "Frontend": {"replicas": 2, "scalingAdapter": {"enabled": true}},
        "decode": {"replicas": 3, "scalingAdapter": {"enabled": true}}
    }));
    let plan = plan_adapters(&dgd, &[]);
    assert_eq!(
        names(&plan.create),
        [("test-dgd-decode", 3), ("test-dgd-frontend", 2)]
    );
    assert!(plan.delete.is_empty() && plan.warnings.is_empty());
}

#[test]
fn a_created_adapter_carries_labels_owner_and_dgd_ref() {
    let dgd = dgd(json!({"Frontend": {"replicas": 2, "scalingAdapter": {"enabled": true}}}));
    let created = serde_json::to_value(&plan_adapters(&dgd, &[]).create[0]).unwrap();
    assert_eq!(
        created,
        json!({
            "apiVersion": "nvidia.com/v1alpha1",
            "kind": "DynamoGraphDeploymentScalingAdapter",
            "metadata": {
                "name": "test-dgd-frontend",
                "namespace": "default",
                "labels": {
                    "app.kubernetes.io/managed-by": "scaleguard-controller",
                    "nvidia.com/dynamo-component": "Frontend",
                    "nvidia.com/dynamo-graph-deployment-name": "test-dgd"
                },
                "ownerReferences": [{
                    "apiVersion": "nvidia.com/v1alpha1",
                    "kind": "DynamoGraphDeployment",
                    "name": "test-dgd",
                    "uid": DGD_UID,
                    "controller": true,
                    "blockOwnerDeletion": true
                }]
            },
            "spec": {"replicas": 2, "dgdRef": {"name": "test-dgd", "serviceName": "Frontend"}}
        })
    );
}

#[test]
fn absent_replicas_seed_one() {
    let dgd = dgd(json!({"decode": {"scalingAdapter": {"enabled": true}}}));
    assert_eq!(
        names(&plan_adapters(&dgd, &[]).create),
        [("test-dgd-decode", 1)]
    );
}

#[test]
fn skips_services_without_the_adapter_enabled() {
    let dgd = dgd(json!({
        "off": {"replicas": 2, "scalingAdapter": {"enabled": false}},
        "empty": {"replicas": 2, "scalingAdapter": {}},
        "null": {"replicas": 2, "scalingAdapter": null},
        "absent": {"replicas": 2}
    }));
    assert_eq!(plan_adapters(&dgd, &[]), AdapterPlan::default());
}

#[test]
fn lowercases_adapter_names_like_dynamo() {
    let my = dgd_named(
        "my-dgd",
        json!({"MyService": {"scalingAdapter": {"enabled": true}}}),
    );
    assert_eq!(
        names(&plan_adapters(&my, &[]).create),
        [("my-dgd-myservice", 1)]
    );
    let sglang = dgd_named(
        "sglang-agg",
        json!({"decode": {"scalingAdapter": {"enabled": true}}}),
    );
    let created = &plan_adapters(&sglang, &[]).create[0];
    assert_eq!(created.metadata.name.as_deref(), Some("sglang-agg-decode"));
    assert_eq!(created.spec.dgd_ref.service_name, "decode");
}

#[test]
fn deletes_the_adapter_of_a_removed_service() {
    let dgd = dgd(json!({"decode": {"replicas": 3, "scalingAdapter": {"enabled": true}}}));
    let existing = [adapter("decode", 3), adapter("prefill", 2)];
    let plan = plan_adapters(&dgd, &existing);
    assert_eq!(deleted(&plan), ["test-dgd-prefill"]);
    assert_eq!(
        plan.delete[0],
        Deletion {
            name: "test-dgd-prefill".into(),
            uid: Some("test-dgd-prefill-uid".into()),
            resource_version: Some("7".into()),
        }
    );
    assert!(plan.create.is_empty());
}

#[test]
fn deletes_the_adapter_of_a_disabled_service() {
    let dgd = dgd(json!({"decode": {"replicas": 3, "scalingAdapter": {"enabled": false}}}));
    assert_eq!(
        deleted(&plan_adapters(&dgd, &[adapter("decode", 3)])),
        ["test-dgd-decode"]
    );
}

#[test]
fn never_deletes_adapters_it_did_not_make() {
    let dgd = dgd(json!({}));
    let existing = [
        adapter("decode", 3).unmanaged(),
        adapter("prefill", 1).deleting(),
    ];
    assert_eq!(plan_adapters(&dgd, &existing), AdapterPlan::default());
}

#[test]
fn an_operator_made_adapter_of_the_same_name_is_a_conflict_left_untouched() {
    let dgd = dgd(json!({"decode": {"replicas": 3, "scalingAdapter": {"enabled": true}}}));
    let plan = plan_adapters(&dgd, &[adapter("decode", 7).unmanaged()]);
    assert!(plan.create.is_empty() && plan.delete.is_empty());
    assert_eq!(
        plan.warnings,
        [Warning::new(
            reason::ADAPTER_CONFLICT,
            "adapter test-dgd-decode already exists and is not managed by scaleguard-controller \
             (no app.kubernetes.io/managed-by=scaleguard-controller label); leaving it alone"
        )]
    );
}

#[test]
fn an_adapter_of_another_dgd_with_the_same_name_is_a_conflict() {
    // DGD "test" + service "dgd-decode" and DGD "test-dgd" + service "decode" share a name.
    let other = dgd_named(
        "test",
        json!({"dgd-decode": {"scalingAdapter": {"enabled": true}}}),
    );
    let plan = plan_adapters(&other, &[adapter("decode", 2)]);
    assert!(plan.create.is_empty() && plan.delete.is_empty());
    assert_eq!(reasons(&plan.warnings), [reason::ADAPTER_CONFLICT]);
    assert!(
        plan.warnings[0]
            .note
            .contains("service decode of DynamoGraphDeployment test-dgd")
    );
}

#[test]
fn a_renamed_service_replaces_its_adapter() {
    // `Decode` became `decode`: same adapter name, different service; delete now, create next pass.
    let dgd = dgd(json!({"decode": {"scalingAdapter": {"enabled": true}}}));
    let plan = plan_adapters(&dgd, &[adapter("Decode", 4)]);
    assert_eq!(deleted(&plan), ["test-dgd-decode"]);
    assert!(plan.create.is_empty());
}

#[test]
fn an_existing_adapter_is_never_overwritten_from_the_dgd() {
    let dgd = dgd(json!({"decode": {"replicas": 2, "scalingAdapter": {"enabled": true}}}));
    assert_eq!(
        plan_adapters(&dgd, &[adapter("decode", 9)]),
        AdapterPlan::default()
    );
}

#[test]
fn colliding_service_names_get_a_warning_and_keep_their_adapter() {
    let dgd = dgd(json!({
        "Decode": {"scalingAdapter": {"enabled": true}},
        "decode": {"scalingAdapter": {"enabled": true}}
    }));
    let plan = plan_adapters(&dgd, &[adapter("decode", 4)]);
    assert!(plan.create.is_empty());
    assert!(plan.delete.is_empty(), "a claimed name is never deleted");
    assert_eq!(
        plan.warnings,
        [Warning::new(
            reason::ADAPTER_NAME_COLLISION,
            "services Decode, decode all map to adapter name test-dgd-decode; no adapter is created for them"
        )]
    );
}

#[test]
fn invalid_adapter_names_get_a_warning() {
    let long = "w".repeat(250);
    let dgd = dgd(json!({
        "my_worker": {"scalingAdapter": {"enabled": true}},
        long.clone(): {"scalingAdapter": {"enabled": true}},
        "ok": {"scalingAdapter": {"enabled": true}}
    }));
    let plan = plan_adapters(&dgd, &[]);
    assert_eq!(names(&plan.create), [("test-dgd-ok", 1)]);
    assert_eq!(
        reasons(&plan.warnings),
        [reason::INVALID_ADAPTER_NAME, reason::INVALID_ADAPTER_NAME]
    );
    assert!(
        plan.warnings[0].note.contains("test-dgd-my_worker"),
        "{:?}",
        plan.warnings
    );
    assert!(
        plan.warnings[1].note.contains("259 characters"),
        "{:?}",
        plan.warnings
    );
}

#[test]
fn a_service_name_too_long_for_a_label_gets_a_warning() {
    let long = "w".repeat(64);
    let dgd = dgd(json!({long: {"scalingAdapter": {"enabled": true}}}));
    let plan = plan_adapters(&dgd, &[]);
    assert!(plan.create.is_empty());
    assert_eq!(reasons(&plan.warnings), [reason::INVALID_LABEL_VALUE]);
}

#[test]
fn a_dgd_being_deleted_plans_nothing() {
    let dgd = dgd(json!({"decode": {"scalingAdapter": {"enabled": true}}})).deleting();
    assert_eq!(
        plan_adapters(&dgd, &[adapter("prefill", 1)]),
        AdapterPlan::default()
    );
}

#[test]
fn adapter_refs_name_the_adapters_of_enabled_services() {
    let dgd = dgd(json!({
        "Frontend": {"scalingAdapter": {"enabled": true}},
        "decode": {"scalingAdapter": {"enabled": false}}
    }));
    assert_eq!(
        adapter_refs(&dgd),
        [ObjectRef::new("test-dgd-frontend").within("default")]
    );
}

#[test]
fn name_and_label_validation() {
    assert!(is_dns1123_subdomain("sglang-agg-decode"));
    assert!(is_dns1123_subdomain("a.b-c.d"));
    assert!(!is_dns1123_subdomain("a_b"));
    assert!(!is_dns1123_subdomain("-a"));
    assert!(!is_dns1123_subdomain("a..b"));
    assert!(!is_dns1123_subdomain(""));
    assert!(!is_dns1123_subdomain(&"a".repeat(254)));
    assert!(is_label_value("VllmDecodeWorker"));
    assert!(is_label_value("my_worker.v1"));
    assert!(!is_label_value("_x"));
    assert!(!is_label_value(&"a".repeat(64)));
}

// ---- replica write / status / sync (adapter reconcile) ----

fn enabled(replicas: Option<i32>) -> DynamoGraphDeployment {
    let service = match replicas {
        Some(replicas) => json!({"replicas": replicas, "scalingAdapter": {"enabled": true}}),
        None => json!({"scalingAdapter": {"enabled": true}}),
    };
    dgd(json!({ "decode": service }))
}

#[test]
fn an_adapter_at_5_scales_a_dgd_at_2_to_5() {
    let adapter = adapter("decode", 5).with_status(2, &selector_of("decode"), None);
    let sync = sync_adapter(&adapter, Some(&enabled(Some(2))), now());
    let write = sync.scale.unwrap();
    assert_eq!(
        write,
        ReplicaWrite {
            unit: "service decode".into(),
            from: 2,
            to: 5,
            patch: Patch::Merge(
                json!({"metadata": {"resourceVersion": "100"}, "spec": {"services": {"decode": {"replicas": 5}}}})
            ),
        }
    );
    assert_eq!(write.note(), "Scaled service decode from 2 to 5 replicas");
    assert_eq!(
        sync.status,
        Some(ScalingAdapterStatus {
            replicas: Some(5),
            selector: Some(selector_of("decode")),
            last_scale_time: Some(Time(now())),
        })
    );
}

#[test]
fn the_scaled_event_text_matches_the_guide() {
    let write = replica_write(&adapter("decode", 3), &enabled(Some(1)));
    assert_eq!(
        write.unwrap().note(),
        "Scaled service decode from 1 to 3 replicas"
    );
}

#[test]
fn equal_replicas_need_no_write() {
    let adapter = adapter("decode", 2).with_status(2, &selector_of("decode"), None);
    assert_eq!(
        sync_adapter(&adapter, Some(&enabled(Some(2))), now()),
        AdapterSync::default()
    );
}

#[test]
fn absent_dgd_replicas_count_as_one() {
    let service = enabled(None);
    assert_eq!(replica_write(&adapter("decode", 1), &service), None);
    assert_eq!(
        replica_write(&adapter("decode", 3), &service).map(|w| (w.from, w.to)),
        Some((1, 3))
    );
}

#[test]
fn a_disabled_service_is_not_synced() {
    let dgd = dgd(json!({"decode": {"replicas": 2, "scalingAdapter": {"enabled": false}}}));
    assert_eq!(
        sync_adapter(&adapter("decode", 5), Some(&dgd), now()),
        AdapterSync::default()
    );
}

#[test]
fn an_unmanaged_adapter_whose_service_is_missing_warns_and_writes_nothing() {
    let dgd = enabled(Some(2));
    let empty = adapter("decode", 5).unmanaged().for_service("");
    let sync = sync_adapter(&empty, Some(&dgd), now());
    assert_eq!(reasons(&sync.warnings), [reason::INVALID_DGD_REF]);
    assert!(sync.scale.is_none() && sync.status.is_none());

    let unknown = adapter("decode", 5).unmanaged().for_service("prefill");
    let sync = sync_adapter(&unknown, Some(&dgd), now());
    assert_eq!(
        sync.warnings,
        [Warning::new(
            reason::INVALID_DGD_REF,
            "service prefill not found in DynamoGraphDeployment test-dgd"
        )]
    );
    assert!(sync.scale.is_none() && sync.status.is_none());
}

#[test]
fn an_unmanaged_adapter_is_never_synced_nor_given_a_status() {
    let sync = sync_adapter(
        &adapter("decode", 5).unmanaged(),
        Some(&enabled(Some(2))),
        now(),
    );
    assert_eq!(sync, AdapterSync::default());
}

#[test]
fn an_adapter_being_deleted_does_nothing() {
    let adapter = adapter("decode", 5).deleting();
    assert_eq!(dgd_to_fetch(&adapter), None);
    assert_eq!(
        sync_adapter(&adapter, Some(&enabled(Some(2))), now()),
        AdapterSync::default()
    );
}

#[test]
fn a_missing_dgd_orphans_the_adapter_with_a_warning() {
    let adapter = adapter("decode", 5);
    assert_eq!(dgd_to_fetch(&adapter), Some("test-dgd"));
    let sync = sync_adapter(&adapter, None, now());
    assert_eq!(
        sync.warnings,
        [Warning::new(
            reason::DGD_NOT_FOUND,
            "DynamoGraphDeployment test-dgd not found; the adapter is orphaned until garbage collection deletes it"
        )]
    );
    assert!(sync.scale.is_none() && sync.status.is_none());
}

#[test]
fn an_adapter_of_a_previous_dgd_with_the_same_name_waits_for_gc() {
    let mut adapter = adapter("decode", 5);
    adapter.metadata.owner_references.as_mut().unwrap()[0].uid = "old-uid".into();
    assert_eq!(
        sync_adapter(&adapter, Some(&enabled(Some(2))), now()),
        AdapterSync::default()
    );
}

#[test]
fn negative_replicas_warn_and_write_nothing() {
    let sync = sync_adapter(&adapter("decode", -1), Some(&enabled(Some(2))), now());
    assert_eq!(reasons(&sync.warnings), [reason::INVALID_REPLICAS]);
    assert!(sync.scale.is_none() && sync.status.is_none());
}

#[test]
fn status_reports_observed_replicas_when_the_dgd_has_them() {
    let dgd =
        enabled(Some(3)).with_status(json!({"decode": {"replicas": 2, "updatedReplicas": 2}}));
    let sync = sync_adapter(&adapter("decode", 3), Some(&dgd), now());
    assert_eq!(sync.scale, None);
    assert_eq!(
        sync.status,
        Some(ScalingAdapterStatus {
            replicas: Some(2),
            selector: Some(
                "nvidia.com/dynamo-graph-deployment-name=test-dgd,nvidia.com/dynamo-component=decode"
                    .into()
            ),
            last_scale_time: None,
        })
    );
}

#[test]
fn status_keeps_the_last_scale_time_and_is_not_rewritten_when_equal() {
    let earlier: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
    let adapter = adapter("decode", 3).with_status(3, &selector_of("decode"), Some(earlier));
    assert_eq!(
        sync_adapter(&adapter, Some(&enabled(Some(3))), now()),
        AdapterSync::default()
    );
    let status = adapter_status(&adapter, &enabled(Some(3)), Some(Time(earlier)));
    assert_eq!(Some(status), adapter.status);
}

#[test]
fn steady_state_makes_no_writes() {
    let dgd = dgd(json!({
        "Frontend": {"replicas": 2, "scalingAdapter": {"enabled": true}},
        "decode": {"replicas": 3, "scalingAdapter": {"enabled": true}},
        "Planner": {"componentType": "planner"}
    }))
    .with_status(json!({"Frontend": {"replicas": 2}, "decode": {"replicas": 3}}));
    let adapters = [
        adapter("Frontend", 2).with_status(2, &selector_of("Frontend"), None),
        adapter("decode", 3).with_status(3, &selector_of("decode"), Some(now())),
    ];
    assert_eq!(plan_adapters(&dgd, &adapters), AdapterPlan::default());
    for adapter in &adapters {
        assert_eq!(
            sync_adapter(adapter, Some(&dgd), now()),
            AdapterSync::default()
        );
    }
}

#[test]
fn an_autoscaler_write_followed_by_a_dgd_reconcile_keeps_the_autoscaler_value() {
    // The DGD still says 2; an HPA just scaled the adapter to 4 through /scale.
    let dgd = enabled(Some(2));
    let scaled = adapter("decode", 4).with_status(2, &selector_of("decode"), None);
    // The DGD reconcile runs first: it must not touch the adapter.
    assert_eq!(
        plan_adapters(&dgd, std::slice::from_ref(&scaled)),
        AdapterPlan::default()
    );
    // The adapter reconcile then carries the autoscaler's value into the DGD.
    let sync = sync_adapter(&scaled, Some(&dgd), now());
    assert_eq!(sync.scale.map(|w| (w.from, w.to)), Some((2, 4)));
}

// ---- crash safety: any prefix of the writes, then reconciling again, converges ----

/// The objects an API server would hold.
#[derive(Clone, Debug)]
struct World<D: DgdResource> {
    dgd: D,
    adapters: Vec<D::Adapter>,
}

#[derive(Debug)]
enum Write<A> {
    Create(Box<A>),
    Delete(String),
    Scale(ReplicaWrite),
    Status(String, ScalingAdapterStatus),
}

impl<D: DgdResource + serde::Serialize> World<D> {
    /// The writes of one DGD reconcile and then one reconcile of each adapter, each decided on the
    /// state at its start, applied until `budget` writes have happened (the crash).
    fn reconcile_all(&mut self, budget: &mut usize) -> usize {
        let mut done = 0;
        let plan = plan_adapters(&self.dgd, &self.adapters);
        let writes = plan
            .create
            .into_iter()
            .map(|adapter| Write::Create(Box::new(adapter)))
            .chain(plan.delete.into_iter().map(|d| Write::Delete(d.name)));
        done += self.apply_all(writes, budget);
        for adapter in self.adapters.clone() {
            let sync = sync_adapter(&adapter, Some(&self.dgd), now());
            let name = adapter.meta().name.clone().unwrap();
            let writes = sync
                .scale
                .map(Write::Scale)
                .into_iter()
                .chain(sync.status.map(|s| Write::Status(name, s)));
            done += self.apply_all(writes, budget);
        }
        done
    }

    fn apply_all(
        &mut self,
        writes: impl Iterator<Item = Write<D::Adapter>>,
        budget: &mut usize,
    ) -> usize {
        let mut done = 0;
        for write in writes {
            if *budget == 0 {
                return done;
            }
            *budget -= 1;
            done += 1;
            self.apply(write);
        }
        done
    }

    fn apply(&mut self, write: Write<D::Adapter>) {
        match write {
            Write::Create(adapter) => {
                let mut adapter = *adapter;
                adapter.meta_mut().uid =
                    Some(format!("{}-uid", adapter.meta().name.clone().unwrap()));
                self.adapters.push(adapter);
            }
            Write::Delete(name) => self
                .adapters
                .retain(|a| a.meta().name.as_ref() != Some(&name)),
            Write::Scale(write) => {
                let mut dgd = serde_json::to_value(&self.dgd).unwrap();
                match write.patch {
                    Patch::Merge(patch) => json_patch::merge(&mut dgd, &patch),
                    Patch::Json(patch) => json_patch::patch(&mut dgd, &patch).unwrap(),
                    other => panic!("not a replica patch: {other:?}"),
                }
                self.dgd = serde_json::from_value(dgd).unwrap();
            }
            Write::Status(name, status) => {
                let adapter = self
                    .adapters
                    .iter_mut()
                    .find(|a| a.meta().name.as_ref() == Some(&name))
                    .unwrap();
                *adapter.status_mut() = Some(status);
            }
        }
    }

    /// Reconciles until a full pass writes nothing; panics if that takes more than a few passes.
    fn converge(&mut self) {
        for _ in 0..5 {
            let mut unlimited = usize::MAX;
            if self.reconcile_all(&mut unlimited) == 0 {
                return;
            }
        }
        panic!("no convergence: {self:#?}");
    }

    /// Crashes after every write of one full pass in turn; each must converge and pass `check`.
    fn every_crash_converges(&self, check: impl Fn(&Self, usize)) {
        let mut unlimited = usize::MAX;
        let total = self.clone().reconcile_all(&mut unlimited);
        assert!(
            total >= 4,
            "the scenario exercises several writes, got {total}"
        );
        for crash_after in 0..=total {
            let mut world = self.clone();
            let mut budget = crash_after;
            world.reconcile_all(&mut budget);
            world.converge();
            check(&world, crash_after);
        }
    }
}

#[test]
fn a_crash_between_any_two_writes_loses_no_replica_intent() {
    let start = World {
        dgd: dgd(json!({
            "Frontend": {"scalingAdapter": {"enabled": true}},
            "decode": {"replicas": 2, "scalingAdapter": {"enabled": true}},
            "prefill": {"replicas": 2, "scalingAdapter": {"enabled": true}},
            "old": {"replicas": 1}
        })),
        adapters: vec![
            adapter("decode", 5),  // an autoscaler scaled decode from 2 to 5
            adapter("prefill", 2), // in sync
            adapter("old", 1),     // its adapter was disabled
        ],
    };
    start.every_crash_converges(|world, crash_after| {
        let replicas = |service: &str| world.dgd.spec.services[service].effective_replicas();
        let adapter_replicas: BTreeMap<&str, i32> = world
            .adapters
            .iter()
            .map(|a| (a.spec.dgd_ref.service_name.as_str(), a.spec.replicas))
            .collect();
        assert_eq!(
            adapter_replicas,
            BTreeMap::from([("Frontend", 1), ("decode", 5), ("prefill", 2)]),
            "crash after {crash_after} writes"
        );
        assert_eq!(
            (
                replicas("Frontend"),
                replicas("decode"),
                replicas("prefill")
            ),
            (1, 5, 2),
            "crash after {crash_after} writes"
        );
    });
}

// ---- the Dynamo API version ----

fn served(resources: &[&str]) -> APIResourceList {
    serde_json::from_value(json!({
        "groupVersion": "nvidia.com/v1beta1",
        "resources": resources.iter().map(|name| json!({
            "name": name, "singularName": "", "namespaced": true, "kind": "K", "verbs": ["get"]
        })).collect::<Vec<_>>()
    }))
    .unwrap()
}

#[test]
fn auto_picks_v1beta1_only_where_dgds_and_adapters_are_served_there() {
    let both = served(&[
        "dynamographdeployments",
        "dynamographdeployments/status",
        "dynamographdeploymentscalingadapters",
        "dynamographdeploymentscalingadapters/scale",
    ]);
    assert_eq!(served_version(Some(&both)), DgdVersion::V1beta1);
    assert_eq!(served_version(None), DgdVersion::V1alpha1);
    let dgds_only = served(&["dynamographdeployments", "dynamographdeployments/status"]);
    assert_eq!(served_version(Some(&dgds_only)), DgdVersion::V1alpha1);
    let subresources_only = served(&[
        "dynamographdeployments/status",
        "dynamographdeploymentscalingadapters/scale",
    ]);
    assert_eq!(
        served_version(Some(&subresources_only)),
        DgdVersion::V1alpha1
    );
}

// ---- v1beta1: components, component groups, the power budget mode ----

/// The operations of a JSON patch.
fn ops(patch: &Patch<Value>) -> Value {
    match patch {
        Patch::Json(patch) => serde_json::to_value(patch).unwrap(),
        other => panic!("not a JSON patch: {other:?}"),
    }
}

fn component(name: &str) -> UnitRef<'_> {
    UnitRef::Component(name)
}

fn group(name: &str) -> UnitRef<'_> {
    UnitRef::Group(name)
}

/// The guide's decode component with the marker, at `replicas` (absent when `None`), after a
/// Frontend so that its index is 1.
fn marked(replicas: Option<i32>) -> v1beta1::DynamoGraphDeployment {
    let mut decode = json!({"name": "decode", "type": "decode", "scalingAdapter": {}});
    if let Some(replicas) = replicas {
        decode["replicas"] = replicas.into();
    }
    dgd_v1beta1(json!({"components": [{"name": "Frontend", "type": "frontend"}, decode]}))
}

fn engines(replicas: i32, marker: bool) -> v1beta1::DynamoGraphDeployment {
    let mut group = json!({"name": "Engines", "replicas": replicas,
        "components": [{"name": "prefill"}, {"name": "decode"}]});
    if marker {
        group["scalingAdapter"] = json!({});
    }
    dgd_v1beta1(json!({
        "components": [
            {"name": "prefill", "type": "prefill", "replicas": 1},
            {"name": "decode", "type": "decode", "replicas": 1},
            {"name": "Frontend", "type": "frontend", "replicas": 2, "scalingAdapter": {}}
        ],
        "experimental": {"componentGroups": [group]}
    }))
}

#[test]
fn v1beta1_markers_create_v1beta1_adapters() {
    let dgd = dgd_v1beta1(json!({"components": [
        {"name": "decode", "type": "decode", "replicas": 3, "scalingAdapter": {}},
        {"name": "Frontend", "type": "frontend", "replicas": 2, "scalingAdapter": {}},
        {"name": "prefill", "type": "prefill", "scalingAdapter": {}},
        {"name": "absent", "replicas": 2},
        {"name": "null", "replicas": 2, "scalingAdapter": null},
        {"name": "Planner", "type": "planner"}
    ]}));
    let plan = plan_adapters(&dgd, &[]);
    assert_eq!(
        names(&plan.create),
        [
            ("test-dgd-decode", 3),
            ("test-dgd-frontend", 2),
            ("test-dgd-prefill", 1)
        ]
    );
    assert_eq!(
        serde_json::to_value(&plan.create[1]).unwrap(),
        json!({
            "apiVersion": "nvidia.com/v1beta1",
            "kind": "DynamoGraphDeploymentScalingAdapter",
            "metadata": {
                "name": "test-dgd-frontend",
                "namespace": "default",
                "labels": {
                    "app.kubernetes.io/managed-by": "scaleguard-controller",
                    "nvidia.com/dynamo-component": "Frontend",
                    "nvidia.com/dynamo-graph-deployment-name": "test-dgd"
                },
                "ownerReferences": [{
                    "apiVersion": "nvidia.com/v1beta1",
                    "kind": "DynamoGraphDeployment",
                    "name": "test-dgd",
                    "uid": DGD_UID,
                    "controller": true,
                    "blockOwnerDeletion": true
                }]
            },
            "spec": {"replicas": 2, "dgdRef": {"name": "test-dgd", "componentName": "Frontend"}}
        })
    );
    assert!(plan.delete.is_empty() && plan.warnings.is_empty());
}

#[test]
fn a_group_with_the_marker_gets_one_adapter_and_its_members_none() {
    let plan = plan_adapters(&engines(2, true), &[]);
    assert_eq!(
        names(&plan.create),
        [("test-dgd-engines", 2), ("test-dgd-frontend", 2)]
    );
    let created = serde_json::to_value(&plan.create[0]).unwrap();
    assert_eq!(
        created["spec"],
        json!({"replicas": 2, "dgdRef": {"name": "test-dgd", "componentGroupName": "Engines"}})
    );
    assert_eq!(
        created["metadata"]["labels"]["nvidia.com/dynamo-component"],
        "Engines"
    );
    assert_eq!(
        adapter_refs(&engines(2, true)),
        [
            ObjectRef::new("test-dgd-frontend").within("default"),
            ObjectRef::new("test-dgd-engines").within("default")
        ]
    );
}

#[test]
fn the_power_budget_mode_gives_every_worker_outside_a_group_an_adapter() {
    let mut dgd = engines(1, false);
    dgd.spec.components.push(
        serde_json::from_value(json!({"name": "agg", "type": "worker", "replicas": 4})).unwrap(),
    );
    dgd.metadata.annotations = Some(BTreeMap::from([(
        "dynamo.nvidia.com/power-control-mode".to_owned(),
        "transactional-replica-fence".to_owned(),
    )]));
    assert_eq!(
        names(&plan_adapters(&dgd, &[]).create),
        [("test-dgd-agg", 4), ("test-dgd-frontend", 2)]
    );
}

#[test]
fn a_component_and_a_group_of_the_same_lowercased_name_collide() {
    let dgd = dgd_v1beta1(json!({
        "components": [{"name": "decode", "scalingAdapter": {}}, {"name": "x"}],
        "experimental": {"componentGroups": [
            {"name": "Decode", "replicas": 1, "scalingAdapter": {}, "components": [{"name": "x"}]}
        ]}
    }));
    let plan = plan_adapters(&dgd, &[]);
    assert!(plan.create.is_empty());
    assert_eq!(
        plan.warnings,
        [Warning::new(
            reason::ADAPTER_NAME_COLLISION,
            "component decode, component group Decode all map to adapter name test-dgd-decode; \
             no adapter is created for them"
        )]
    );
}

#[test]
fn v1beta1_adapters_are_deleted_when_the_marker_or_the_unit_goes() {
    let existing = [
        adapter_v1beta1(component("decode"), 3),
        adapter_v1beta1(group("Engines"), 2),
    ];
    let plan = plan_adapters(&engines(2, false), &existing);
    assert_eq!(deleted(&plan), ["test-dgd-decode", "test-dgd-engines"]);
    assert_eq!(names(&plan.create), [("test-dgd-frontend", 2)]);
    // Kept, and never overwritten from the DGD, while the group has the marker.
    let plan = plan_adapters(&engines(2, true), &existing[1..]);
    assert_eq!(names(&plan.create), [("test-dgd-frontend", 2)]);
    assert!(plan.delete.is_empty());
}

#[test]
fn an_existing_v1beta1_adapter_of_another_unit_is_a_conflict_naming_it() {
    // DGD "test" + component "dgd-x" and DGD "test-dgd" + group "X" share a name.
    let mut dgd = dgd_v1beta1(json!({"components": [{"name": "dgd-x", "scalingAdapter": {}}]}));
    dgd.metadata.name = Some("test".into());
    let plan = plan_adapters(&dgd, &[adapter_v1beta1(group("X"), 1)]);
    assert!(plan.create.is_empty() && plan.delete.is_empty());
    assert_eq!(
        plan.warnings,
        [Warning::new(
            reason::ADAPTER_CONFLICT,
            "adapter test-dgd-x already exists for component group X of DynamoGraphDeployment \
             test-dgd; leaving it alone"
        )]
    );
}

#[test]
fn a_v1beta1_adapter_writes_its_component_with_a_guarded_json_patch() {
    let adapter = adapter_v1beta1(component("decode"), 5);
    let sync = sync_adapter(&adapter, Some(&marked(Some(2))), now());
    let write = sync.scale.unwrap();
    assert_eq!((write.from, write.to), (2, 5));
    assert_eq!(write.note(), "Scaled component decode from 2 to 5 replicas");
    assert_eq!(
        ops(&write.patch),
        json!([
            {"op": "test", "path": "/spec/components/1/name", "value": "decode"},
            {"op": "replace", "path": "/spec/components/1/replicas", "value": 5}
        ])
    );
    assert_eq!(
        sync.status.unwrap().selector.as_deref(),
        Some("nvidia.com/dynamo-graph-deployment-name=test-dgd,nvidia.com/dynamo-component=decode")
    );
}

#[test]
fn v1beta1_absent_replicas_count_as_one_and_are_added() {
    let write = replica_write(&adapter_v1beta1(component("decode"), 3), &marked(None)).unwrap();
    assert_eq!((write.from, write.to), (1, 3));
    assert_eq!(
        ops(&write.patch)[1],
        json!({"op": "add", "path": "/spec/components/1/replicas", "value": 3})
    );
    assert_eq!(
        replica_write(&adapter_v1beta1(component("decode"), 1), &marked(None)),
        None
    );
}

#[test]
fn a_group_adapter_writes_the_groups_replicas() {
    let adapter = adapter_v1beta1(group("Engines"), 3).with_status(1, "s", None);
    let sync = sync_adapter(&adapter, Some(&engines(1, true)), now());
    let write = sync.scale.unwrap();
    assert_eq!(
        write.note(),
        "Scaled component group Engines from 1 to 3 replicas"
    );
    assert_eq!(
        ops(&write.patch),
        json!([
            {"op": "test", "path": "/spec/experimental/componentGroups/0/name", "value": "Engines"},
            {"op": "replace", "path": "/spec/experimental/componentGroups/0/replicas", "value": 3}
        ])
    );
    // The operator reports no status for a group: the adapter's own replicas stand in.
    assert_eq!(sync.status.unwrap().replicas, Some(3));
}

#[test]
fn v1beta1_adapters_are_not_synced_without_the_marker_nor_for_a_group_member() {
    assert_eq!(
        sync_adapter(
            &adapter_v1beta1(group("Engines"), 3),
            Some(&engines(1, false)),
            now()
        ),
        AdapterSync::default()
    );
    // A member's replicas belong to its group, even with a marker of its own.
    let mut dgd = engines(1, true);
    dgd.spec.components[1].scaling_adapter = Some(json!({}));
    assert_eq!(
        sync_adapter(&adapter_v1beta1(component("decode"), 3), Some(&dgd), now()),
        AdapterSync::default()
    );
}

#[test]
fn v1beta1_status_reports_observed_component_replicas() {
    let dgd = marked(Some(3)).with_status(json!({"decode": {"replicas": 2}}));
    let sync = sync_adapter(&adapter_v1beta1(component("decode"), 3), Some(&dgd), now());
    assert_eq!(sync.scale, None);
    assert_eq!(sync.status.unwrap().replicas, Some(2));
}

#[test]
fn unresolvable_v1beta1_refs_are_named_in_v1beta1_words() {
    let dgd = marked(Some(2));
    let sync = sync_adapter(
        &adapter_v1beta1(group("Engines"), 1).unmanaged(),
        Some(&dgd),
        now(),
    );
    assert_eq!(
        sync.warnings,
        [Warning::new(
            reason::INVALID_DGD_REF,
            "component group Engines not found in DynamoGraphDeployment test-dgd"
        )]
    );
    let empty = adapter_v1beta1(component("decode"), 1).for_service("");
    assert_eq!(
        sync_adapter(&empty, Some(&dgd), now()).warnings,
        [Warning::new(
            reason::INVALID_DGD_REF,
            "spec.dgdRef.name and spec.dgdRef.componentName or spec.dgdRef.componentGroupName must be set"
        )]
    );
}

#[test]
fn v1beta1_steady_state_makes_no_writes() {
    let dgd = engines(2, true).with_status(json!({"Frontend": {"replicas": 2}}));
    let adapters = [
        adapter_v1beta1(component("Frontend"), 2).with_status(2, &selector_of("Frontend"), None),
        adapter_v1beta1(group("Engines"), 2).with_status(2, &selector_of("Engines"), None),
    ];
    assert_eq!(plan_adapters(&dgd, &adapters), AdapterPlan::default());
    for adapter in &adapters {
        assert_eq!(
            sync_adapter(adapter, Some(&dgd), now()),
            AdapterSync::default()
        );
    }
}

#[test]
fn a_v1beta1_crash_between_any_two_writes_loses_no_replica_intent() {
    let mut dgd = engines(1, true);
    dgd.spec.components.extend([
        serde_json::from_value(json!({"name": "agg", "replicas": 2, "scalingAdapter": {}}))
            .unwrap(),
        serde_json::from_value(json!({"name": "old", "replicas": 1})).unwrap(),
    ]);
    let start = World {
        dgd,
        adapters: vec![
            adapter_v1beta1(group("Engines"), 4), // an autoscaler scaled the group from 1 to 4
            adapter_v1beta1(component("agg"), 2), // in sync
            adapter_v1beta1(component("old"), 1), // its marker was removed
        ],
    };
    start.every_crash_converges(|world, crash_after| {
        let adapter_replicas: BTreeMap<String, i32> = world
            .adapters
            .iter()
            .map(|a| (a.metadata.name.clone().unwrap(), a.spec.replicas))
            .collect();
        assert_eq!(
            adapter_replicas,
            BTreeMap::from([
                ("test-dgd-agg".to_owned(), 2),
                ("test-dgd-engines".to_owned(), 4),
                ("test-dgd-frontend".to_owned(), 2)
            ]),
            "crash after {crash_after} writes"
        );
        let view = world.dgd.view();
        assert_eq!(view.group("Engines").unwrap().replicas(), 4);
        assert_eq!(view.component("agg").unwrap().replicas(), 2);
        assert_eq!(view.component("Frontend").unwrap().replicas(), 2);
    });
}
