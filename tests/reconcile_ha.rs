//! `multigres reconcile` when processes die (issue 11), on the real API
//! server: `kill -9` at any point and a restart converge with no duplicate
//! or orphaned object; with leader election only the leader writes, a
//! killed leader's Lease passes to the standby within the lease duration,
//! a terminated leader releases it at once, and a leader that loses it
//! stops; SIGTERM stops an operator cleanly and at once.
//!
//! Each test runs its own reconciler processes (tests/support/operator.rs)
//! watching only its namespace, which also holds their Lease.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams, PostParams};
use kube::discovery::Discovery;
use serde_json::json;

use super::apiserver::{render, render_edited, start};
use super::reconcile::{
    apply_inputs, apply_object, eventually, generated, matches_render, minimal_with_two_gateways,
};
use super::support::operator::Operator;
use super::support::testplane::ControlPlane;
use multigres::compile;

/// Upstream's leader-election Lease.
const LEASE: &str = "multigres-operator.multigres.com";
const CLUSTER_LABEL: &str = "multigres.com/cluster";
/// Every kind the full mode applies (apiVersion, kind).
const APPLIED_KINDS: &[(&str, &str)] = &[
    ("multigres.com/v1alpha1", "Cell"),
    ("multigres.com/v1alpha1", "TableGroup"),
    ("multigres.com/v1alpha1", "Shard"),
    ("multigres.com/v1alpha1", "TopoServer"),
    ("apps/v1", "Deployment"),
    ("apps/v1", "StatefulSet"),
    ("v1", "Service"),
    ("v1", "ConfigMap"),
    ("policy/v1", "PodDisruptionBudget"),
    ("v1", "PersistentVolumeClaim"),
];
const PATCHES: &str = r#"multigres_operator_api_requests_total{verb="PATCH"}"#;

/// A live object that carries a cluster's label.
#[derive(Debug)]
struct Labelled {
    kind: String,
    name: String,
    labels: BTreeMap<String, String>,
}

/// Every live object of the applied kinds labelled `multigres.com/cluster=cluster`.
async fn labelled(
    client: &kube::Client,
    namespace: &str,
    cluster: &str,
) -> Result<Vec<Labelled>, String> {
    let mut out = Vec::new();
    for (api_version, kind) in APPLIED_KINDS {
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind));
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &resource);
        let list = api
            .list(&ListParams::default().labels(&format!("{CLUSTER_LABEL}={cluster}")))
            .await
            .map_err(|e| format!("list {kind}: {e}"))?;
        out.extend(list.items.into_iter().map(|o| Labelled {
            kind: (*kind).to_owned(),
            name: o.metadata.name.unwrap_or_default(),
            labels: o.metadata.labels.unwrap_or_default(),
        }));
    }
    Ok(out)
}

fn labels_of(object: &compile::Object) -> BTreeMap<String, String> {
    serde_json::from_value(object.value["metadata"]["labels"].clone()).unwrap_or_default()
}

/// The claims a rendered StatefulSet's controller creates itself
/// (`<template>-<set>-<ordinal>`): the StatefulSet explains them.
fn stateful_set_claims(objects: &[compile::Object]) -> Vec<String> {
    let mut out = Vec::new();
    for set in generated(objects)
        .into_iter()
        .filter(|o| o.kind == "StatefulSet")
    {
        let replicas = set.value["spec"]["replicas"].as_u64().unwrap_or(1);
        let templates = set.value["spec"]["volumeClaimTemplates"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for template in templates {
            let claim = template["metadata"]["name"].as_str().unwrap_or_default();
            out.extend((0..replicas).map(|i| format!("{claim}-{}-{i}", set.name)));
        }
    }
    out
}

/// What is live for the cluster beyond its render: an object the render
/// does not hold (an orphan), and a label set carried by more live objects
/// of a kind than rendered objects of that kind (a duplicate).
fn orphans_and_duplicates(objects: &[compile::Object], live: &[Labelled]) -> Vec<String> {
    let rendered = generated(objects);
    let claims = stateful_set_claims(objects);
    let live: Vec<&Labelled> = live
        .iter()
        .filter(|l| !(l.kind == "PersistentVolumeClaim" && claims.contains(&l.name)))
        .collect();
    let mut found = Vec::new();
    for object in &live {
        if !rendered
            .iter()
            .any(|r| r.kind == object.kind && r.name == object.name)
        {
            found.push(format!(
                "orphan: {} {} {:?}",
                object.kind, object.name, object.labels
            ));
        }
    }
    let carries = |labels: &BTreeMap<String, String>, wanted: &BTreeMap<String, String>| {
        wanted.iter().all(|(k, v)| labels.get(k) == Some(v))
    };
    for object in &rendered {
        let wanted = labels_of(object);
        let in_render = rendered
            .iter()
            .filter(|r| r.kind == object.kind && carries(&labels_of(r), &wanted))
            .count();
        let in_cluster = live
            .iter()
            .filter(|l| l.kind == object.kind && carries(&l.labels, &wanted))
            .count();
        if in_cluster > in_render {
            found.push(format!(
                "duplicate: {in_cluster} live {} objects carry the labels of {} (the render has {in_render})",
                object.kind, object.name
            ));
        }
    }
    found
}

/// How many of the render's generated objects are live.
async fn live_generated(
    client: &kube::Client,
    namespace: &str,
    cluster: &str,
    objects: &[compile::Object],
) -> usize {
    let live = labelled(client, namespace, cluster).await.unwrap();
    generated(objects)
        .iter()
        .filter(|r| live.iter().any(|l| l.kind == r.kind && l.name == r.name))
        .count()
}

fn cluster_name(objects: &[compile::Object]) -> String {
    objects
        .iter()
        .find(|o| o.kind == "MultigresCluster")
        .expect("the example has a cluster")
        .name
        .clone()
}

/// Kills `operator` while some but not all of the render's objects exist:
/// at each new write it is frozen (SIGSTOP), the live objects are counted,
/// and it is killed once the count is strictly between none and all.
/// Returns how many existed.
async fn kill_mid_way(
    operator: &mut Operator,
    client: &kube::Client,
    namespace: &str,
    objects: &[compile::Object],
) -> usize {
    let cluster = cluster_name(objects);
    let total = generated(objects).len();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut writes_seen = 0.0;
    while Instant::now() < deadline {
        let writes = operator.sample(PATCHES);
        if writes > writes_seen {
            writes_seen = writes;
            operator.pause();
            // The requests sent before the stop land meanwhile.
            tokio::time::sleep(Duration::from_millis(300)).await;
            let live = live_generated(client, namespace, &cluster, objects).await;
            assert!(
                live < total,
                "the operator had applied all {total} objects at its {writes}th PATCH, before the test could stop it mid-way"
            );
            if live > 0 {
                operator.kill();
                return live;
            }
            operator.resume();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("the operator wrote nothing in two minutes");
}

/// The live objects equal the render, and nothing else carries the
/// cluster's label.
async fn converged_without_strays(
    what: &str,
    client: &kube::Client,
    discovery: &Discovery,
    namespace: &str,
    objects: &[compile::Object],
) {
    eventually(what, Duration::from_secs(120), async || {
        matches_render(client, discovery, objects).await
    })
    .await;
    let live = labelled(client, namespace, &cluster_name(objects))
        .await
        .unwrap();
    let strays = orphans_and_duplicates(objects, &live);
    assert!(strays.is_empty(), "{what}: {strays:#?}");
}

#[tokio::test]
async fn kill_9_at_any_point_and_a_restart_converge_with_no_duplicate_or_orphan() {
    let Some(plane) = start() else { return };
    let client = plane.client().await;
    let discovery = Discovery::new(client.clone()).run().await.unwrap();
    let namespace = plane.namespace(&client, "kill").await;
    let ns = namespace.name.as_str();
    let objects = render("templated", ns);
    for object in generated(&objects) {
        assert!(
            APPLIED_KINDS.iter().any(|(_, kind)| *kind == object.kind),
            "the render holds a {} the test does not list",
            object.kind
        );
    }
    let full = || Operator::start(&plane.kubeconfig(), "full", ns, &[], &[]);

    // 1. Mid-way through the first apply.
    let mut first = full();
    apply_inputs(&client, &discovery, &objects, "kubectl").await;
    let live = kill_mid_way(&mut first, &client, ns, &objects).await;
    eprintln!(
        "killed mid-way: {live} of {} objects live",
        generated(&objects).len()
    );

    // 2. At the first write of the restarted one (it finishes what the
    // first left, from what is live: nothing survives in memory).
    let mut second = full();
    eventually(
        "the second operator writes",
        Duration::from_secs(60),
        async || {
            if second.sample(PATCHES) >= 1.0 {
                Ok(())
            } else {
                Err("no PATCH yet".to_owned())
            }
        },
    )
    .await;
    second.kill();

    // 3. After convergence; an edit arrives while no operator runs.
    let mut third = full();
    converged_without_strays(
        "after two kills, a restart converges",
        &client,
        &discovery,
        ns,
        &objects,
    )
    .await;
    third.kill();
    let edited = render_edited("templated", ns, &|value| {
        if value["kind"] == "CellTemplate" {
            value["spec"]["multigateway"]["replicas"] = json!(3);
        }
    });
    let template = edited.iter().find(|o| o.kind == "CellTemplate").unwrap();
    apply_object(&client, &discovery, template, "kubectl").await;
    let _fourth = full();
    converged_without_strays(
        "a restart after a kill converges the edit made while it was down",
        &client,
        &discovery,
        ns,
        &edited,
    )
    .await;
}

/// A replica with leader election; its identity is `name_<pid>`.
fn replica(plane: &ControlPlane, namespace: &str, name: &str) -> (Operator, String) {
    let operator = Operator::start(
        &plane.kubeconfig(),
        "full",
        namespace,
        &["--leader-elect"],
        &[("POD_NAMESPACE", namespace), ("POD_NAME", name)],
    );
    let identity = format!("{name}_{}", operator.pid());
    (operator, identity)
}

/// The holder of the Lease, if any.
async fn holder(client: &kube::Client, namespace: &str) -> Option<String> {
    Api::<Lease>::namespaced(client.clone(), namespace)
        .get_opt(LEASE)
        .await
        .unwrap()?
        .spec?
        .holder_identity
        .filter(|h| !h.is_empty())
}

async fn wait_for_holder(client: &kube::Client, namespace: &str, identity: &str, limit: Duration) {
    eventually(
        &format!("{identity} holds the lease"),
        limit,
        async || match holder(client, namespace).await {
            Some(h) if h == identity => Ok(()),
            other => Err(format!("the holder is {other:?}")),
        },
    )
    .await;
}

#[tokio::test]
async fn only_the_leader_writes_and_a_killed_leader_hands_over_within_the_lease_duration() {
    let Some(plane) = start() else { return };
    let client = plane.client().await;
    let discovery = Discovery::new(client.clone()).run().await.unwrap();
    let namespace = plane.namespace(&client, "leader").await;
    let ns = namespace.name.as_str();
    let (mut a, a_id) = replica(plane, ns, "replica-a");
    wait_for_holder(&client, ns, &a_id, Duration::from_secs(30)).await;
    let (mut b, b_id) = replica(plane, ns, "replica-b");

    let objects = render("minimal", ns);
    apply_inputs(&client, &discovery, &objects, "kubectl").await;
    eventually(
        "the leader converges the render",
        Duration::from_secs(120),
        async || matches_render(&client, &discovery, &objects).await,
    )
    .await;
    // The standby has tried for the Lease a few times meanwhile.
    eventually(
        "the standby reads the lease",
        Duration::from_secs(10),
        async || {
            let gets = b.sample(r#"multigres_operator_api_requests_total{verb="GET"}"#);
            if gets >= 2.0 {
                Ok(())
            } else {
                Err(format!("{gets} GETs"))
            }
        },
    )
    .await;
    assert_eq!(holder(&client, ns).await.as_deref(), Some(a_id.as_str()));
    assert_eq!(a.sample("multigres_operator_leader"), 1.0);
    assert_eq!(b.sample("multigres_operator_leader"), 0.0);
    assert!(a.sample(PATCHES) > 0.0, "the leader applied nothing");
    for verb in ["PATCH", "POST", "PUT", "DELETE"] {
        let sent = b.sample(&format!(
            r#"multigres_operator_api_requests_total{{verb="{verb}"}}"#
        ));
        assert_eq!(sent, 0.0, "the standby sent {sent} {verb} requests");
    }

    // kill -9 of the leader: the standby takes over once the Lease expires.
    let killed = Instant::now();
    a.kill();
    wait_for_holder(&client, ns, &b_id, Duration::from_secs(30)).await;
    let handover = killed.elapsed();
    eprintln!("the standby held the lease {handover:?} after the leader was killed");
    assert!(
        handover < Duration::from_secs(20),
        "the lease (15 s, retried every 2 s) took {handover:?} to pass to the standby"
    );
    eventually(
        "the new leader says so",
        Duration::from_secs(10),
        async || {
            if b.sample("multigres_operator_leader") == 1.0 {
                Ok(())
            } else {
                Err("leader 0".to_owned())
            }
        },
    )
    .await;
    let (edited, cluster) = minimal_with_two_gateways(ns);
    apply_object(&client, &discovery, &cluster, "kubectl").await;
    eventually(
        "the new leader converges an edit",
        Duration::from_secs(60),
        async || matches_render(&client, &discovery, &edited).await,
    )
    .await;

    // SIGTERM of a leader releases the Lease: a new standby takes it at
    // its next try, not after the lease duration.
    let (_c, c_id) = replica(plane, ns, "replica-c");
    let terminated = Instant::now();
    b.assert_stops_on_sigterm(Duration::from_secs(5), "a leader");
    let after = holder(&client, ns).await;
    assert!(
        after.is_none() || after.as_deref() == Some(c_id.as_str()),
        "a terminated leader left the lease held by {after:?}"
    );
    wait_for_holder(&client, ns, &c_id, Duration::from_secs(8)).await;
    let released = terminated.elapsed();
    eprintln!("the standby held the released lease {released:?} after SIGTERM");
    assert!(
        released < Duration::from_secs(8),
        "the released lease took {released:?} to pass"
    );
}

#[tokio::test]
async fn a_leader_that_loses_its_lease_stops() {
    let Some(plane) = start() else { return };
    let client = plane.client().await;
    let discovery = Discovery::new(client.clone()).run().await.unwrap();
    let namespace = plane.namespace(&client, "lost-lease").await;
    let ns = namespace.name.as_str();
    let (mut leader, identity) = replica(plane, ns, "replica-a");
    wait_for_holder(&client, ns, &identity, Duration::from_secs(30)).await;
    let objects = render("minimal", ns);
    apply_inputs(&client, &discovery, &objects, "kubectl").await;
    eventually(
        "the leader converges the render",
        Duration::from_secs(120),
        async || matches_render(&client, &discovery, &objects).await,
    )
    .await;

    // Another replica holds the Lease now (as after a partition longer
    // than the lease): this one must stop writing, i.e. exit.
    let leases: Api<Lease> = Api::namespaced(client.clone(), ns);
    let mut lease = leases.get(LEASE).await.unwrap();
    let spec = lease.spec.get_or_insert_with(Default::default);
    spec.holder_identity = Some("replica-elsewhere_1".into());
    spec.acquire_time = Some(MicroTime(Timestamp::now()));
    spec.renew_time = Some(MicroTime(Timestamp::now()));
    leases
        .replace(LEASE, &PostParams::default(), &lease)
        .await
        .unwrap();
    let status = leader.wait_exit(Duration::from_secs(15));
    assert!(
        status.is_some_and(|s| !s.success()),
        "a leader whose lease another replica holds must stop (and fail); it {}",
        match status {
            Some(s) => format!("exited with {s}"),
            None => "still runs after 15 s".to_owned(),
        }
    );
    assert!(
        leader.log_text().contains("lost the lease"),
        "the log says why it stopped"
    );
    assert_eq!(
        holder(&client, ns).await.as_deref(),
        Some("replica-elsewhere_1")
    );
}

#[tokio::test]
async fn sigterm_stops_an_operator_at_once() {
    let Some(plane) = start() else { return };
    let client = plane.client().await;
    let discovery = Discovery::new(client.clone()).run().await.unwrap();

    // Without leader election, busy with a cluster.
    let namespace = plane.namespace(&client, "sigterm").await;
    let ns = namespace.name.as_str();
    let mut operator = Operator::start(&plane.kubeconfig(), "full", ns, &[], &[]);
    let objects = render("minimal", ns);
    apply_inputs(&client, &discovery, &objects, "kubectl").await;
    eventually(
        "the operator converges the render",
        Duration::from_secs(120),
        async || matches_render(&client, &discovery, &objects).await,
    )
    .await;
    operator.assert_stops_on_sigterm(Duration::from_secs(5), "a busy operator");

    // A standby waiting for the Lease.
    let namespace = plane.namespace(&client, "sigterm-standby").await;
    let ns = namespace.name.as_str();
    let (_leader, leader_id) = replica(plane, ns, "replica-a");
    wait_for_holder(&client, ns, &leader_id, Duration::from_secs(30)).await;
    let (mut standby, _) = replica(plane, ns, "replica-b");
    standby.assert_stops_on_sigterm(Duration::from_secs(5), "a standby");
    assert_eq!(
        holder(&client, ns).await,
        Some(leader_id),
        "a standby's exit touched the lease"
    );
}

#[test]
fn strays_are_found() {
    let objects = render("minimal", "strays");
    let cluster = cluster_name(&objects);
    let as_live = |o: &compile::Object| Labelled {
        kind: o.kind.clone(),
        name: o.name.clone(),
        labels: labels_of(o),
    };
    let mut live: Vec<Labelled> = generated(&objects).into_iter().map(as_live).collect();
    assert_eq!(
        orphans_and_duplicates(&objects, &live),
        Vec::<String>::new()
    );
    // A StatefulSet's own claim is explained by the StatefulSet.
    let set_claim = stateful_set_claims(&objects)
        .first()
        .cloned()
        .expect("the minimal render has a StatefulSet with a claim template");
    live.push(Labelled {
        kind: "PersistentVolumeClaim".into(),
        name: set_claim,
        labels: BTreeMap::from([(CLUSTER_LABEL.to_owned(), cluster.clone())]),
    });
    assert_eq!(
        orphans_and_duplicates(&objects, &live),
        Vec::<String>::new()
    );
    // A second Deployment with a rendered one's labels is both.
    let deployment = generated(&objects)
        .into_iter()
        .find(|o| o.kind == "Deployment")
        .unwrap();
    live.push(Labelled {
        name: format!("{}-copy", deployment.name),
        ..as_live(deployment)
    });
    let found = orphans_and_duplicates(&objects, &live);
    assert!(
        found.iter().any(|f| f.starts_with("orphan: Deployment")),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|f| f.starts_with("duplicate:") && f.contains("live Deployment")),
        "{found:?}"
    );
}
