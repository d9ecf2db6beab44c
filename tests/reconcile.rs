//! `multigres reconcile` on the real API server of the test control plane
//! (issue 11): the full mode converges to the render, edits and deletions
//! reach the objects in upstream's order, lazy images wait for a person,
//! the runtime mode writes status and never a static field, and an idle
//! reconciler writes nothing.
//!
//! Each test runs its own reconciler process (tests/support/operator.rs)
//! watching only its namespace.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams};
use kube::discovery::Discovery;
use serde_json::{Value, json};

use super::apiserver::{EXAMPLES, api_for, render, render_edited, start};
use super::argocd_health;
use super::support::operator::Operator;
use multigres::api::MultigresCluster;
use multigres::compile::{self, Origin};

/// Polls `check` until it returns `Some`, or fails after `limit` with
/// what the last try said.
pub(crate) async fn eventually<T>(
    what: &str,
    limit: Duration,
    mut check: impl AsyncFnMut() -> Result<T, String>,
) -> T {
    let deadline = Instant::now() + limit;
    loop {
        match check().await {
            Ok(value) => return value,
            Err(why) if Instant::now() > deadline => panic!("{what}: not after {limit:?}: {why}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}

/// Where `live` differs from `desired`, as JSON pointers: every field the
/// render sets must be live with the same value (the server may add its
/// defaults; lists must have the same length).
fn differences(desired: &Value, live: &Value, at: &str, out: &mut Vec<String>) {
    match (desired, live) {
        (Value::Object(d), Value::Object(l)) => {
            for (key, value) in d {
                let path = format!("{at}/{key}");
                match l.get(key) {
                    Some(inner) => differences(value, inner, &path, out),
                    None => out.push(format!("{path} is missing")),
                }
            }
        }
        (Value::Array(d), Value::Array(l)) if d.len() == l.len() => {
            for (i, (a, b)) in d.iter().zip(l).enumerate() {
                differences(a, b, &format!("{at}/{i}"), out);
            }
        }
        (d, l) if d == l => {}
        (d, l) => out.push(format!("{at}: rendered {d}, live {l}")),
    }
}

/// The generated objects of a render (what the reconciler applies).
pub(crate) fn generated(objects: &[compile::Object]) -> Vec<&compile::Object> {
    objects
        .iter()
        .filter(|o| matches!(o.origin, Origin::Generated { .. }))
        .collect()
}

/// The render of examples/minimal in `ns` with two gateways in its cell
/// (a cluster edit that changes a Deployment), and its cluster object.
pub(crate) fn minimal_with_two_gateways(ns: &str) -> (Vec<compile::Object>, compile::Object) {
    let edited = render_edited("minimal", ns, &|value| {
        if value["kind"] == "MultigresCluster" {
            value["spec"]["cells"][0]["spec"] = json!({"multigateway": {"replicas": 2}});
        }
    });
    let cluster = edited
        .iter()
        .find(|o| o.kind == "MultigresCluster")
        .expect("the render holds its cluster")
        .clone();
    (edited, cluster)
}

/// Applies the inputs of a render (cluster, templates, Secrets) as a user
/// would, with field manager `manager`.
pub(crate) async fn apply_inputs(
    client: &kube::Client,
    discovery: &Discovery,
    objects: &[compile::Object],
    manager: &str,
) {
    for object in objects
        .iter()
        .filter(|o| matches!(o.origin, Origin::Input(_)))
    {
        apply_object(client, discovery, object, manager).await;
    }
}

/// Server-side applies one object of a render, as `manager` (a user's
/// kubectl, a GitOps tool).
pub(crate) async fn apply_object(
    client: &kube::Client,
    discovery: &Discovery,
    object: &compile::Object,
    manager: &str,
) {
    api_for(client, discovery, object)
        .patch(
            &object.name,
            &PatchParams::apply(manager).force(),
            &Patch::Apply(&object.value),
        )
        .await
        .unwrap_or_else(|e| panic!("apply {} {}: {e}", object.kind, object.name));
}

/// Every object of `kinds` in the render has a `status.phase`.
pub(crate) async fn statuses_written(
    client: &kube::Client,
    discovery: &Discovery,
    objects: &[compile::Object],
    kinds: &[&str],
) -> Result<(), String> {
    for object in objects.iter().filter(|o| kinds.contains(&o.kind.as_str())) {
        let live = api_for(client, discovery, object)
            .get(&object.name)
            .await
            .unwrap();
        if live.data.pointer("/status/phase").is_none() {
            return Err(format!(
                "{} {} has no status.phase",
                object.kind, object.name
            ));
        }
    }
    Ok(())
}

/// What the runtime mode may never do to an object a GitOps tool applied:
/// own a field outside the status subresource.
pub(crate) async fn assert_only_status_written(
    client: &kube::Client,
    discovery: &Discovery,
    objects: &[compile::Object],
) {
    for object in objects {
        let live = api_for(client, discovery, object)
            .get(&object.name)
            .await
            .unwrap();
        for entry in live.metadata.managed_fields.unwrap_or_default() {
            if entry.manager.as_deref() == Some("multigres-operator") {
                assert_eq!(
                    entry.subresource.as_deref(),
                    Some("status"),
                    "{} {}: the runtime mode wrote {:?}",
                    object.kind,
                    object.name,
                    entry.fields_v1
                );
            }
        }
    }
}

/// Every generated object is live, equal to the render up to what the
/// server adds, and owned (ownerReferences) by its parent.
pub(crate) async fn matches_render(
    client: &kube::Client,
    discovery: &Discovery,
    objects: &[compile::Object],
) -> Result<(), String> {
    for object in generated(objects) {
        let api = api_for(client, discovery, object);
        let live = api
            .get_opt(&object.name)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("{} {} does not exist", object.kind, object.name))?;
        let live = serde_json::to_value(&live).unwrap();
        let mut found = Vec::new();
        differences(&object.value, &live, "", &mut found);
        if !found.is_empty() {
            return Err(format!(
                "{} {}: {}",
                object.kind,
                object.name,
                found.join("; ")
            ));
        }
        let owner = &live["metadata"]["ownerReferences"][0];
        if owner["controller"] != json!(true) {
            return Err(format!(
                "{} {} has no controller owner",
                object.kind, object.name
            ));
        }
    }
    Ok(())
}

/// The cluster of a render, as served.
pub(crate) async fn cluster(
    client: &kube::Client,
    objects: &[compile::Object],
) -> MultigresCluster {
    let object = objects
        .iter()
        .find(|o| o.kind == "MultigresCluster")
        .expect("the example has a cluster");
    let api: Api<MultigresCluster> =
        Api::namespaced(client.clone(), object.namespace.as_deref().unwrap());
    api.get(&object.name).await.unwrap()
}

#[tokio::test]
async fn full_mode_converges_to_the_render_of_every_example() {
    let Some(plane) = start() else { return };
    let client = plane.client().await;
    let discovery = Discovery::new(client.clone()).run().await.unwrap();
    let mut running = Vec::new();
    for example in EXAMPLES {
        let namespace = plane.namespace(&client, &format!("full-{example}")).await;
        let objects = render(example, &namespace.name);
        let operator = Operator::start(&plane.kubeconfig(), "full", &namespace.name, &[], &[]);
        apply_inputs(&client, &discovery, &objects, "kubectl").await;
        running.push((example, namespace, objects, operator));
    }
    for (example, namespace, objects, operator) in &running {
        eventually(
            &format!("{example}: the live objects equal the render"),
            Duration::from_secs(120),
            async || matches_render(&client, &discovery, objects).await,
        )
        .await;
        let cluster = eventually(
            &format!("{example}: the cluster reports its phase and conditions"),
            Duration::from_secs(60),
            async || {
                let cluster = cluster(&client, objects).await;
                let status = cluster.status.clone().unwrap_or_default();
                match (
                    status.phase,
                    status.conditions.iter().any(|c| c.type_ == "Available"),
                ) {
                    (Some(_), true) => Ok(cluster),
                    _ => Err(format!("status {status:?}")),
                }
            },
        )
        .await;
        assert!(
            cluster
                .metadata
                .finalizers
                .unwrap_or_default()
                .contains(&"multigres.com/cluster-cleanup".to_owned()),
            "{example} in {}: the full mode adds upstream's cleanup finalizer",
            namespace.name
        );
        assert!(operator.sample(r#"multigres_operator_reconcile_total{controller="multigrescluster",result="success"}"#) >= 1.0);
        // One probe can time out on a loaded machine (ten reconcilers and
        // the rest of the suite share two cores), as a kubelet's can: the
        // probe is polled, as the kubelet polls it.
        eventually(
            &format!("{example}: /readyz answers 200"),
            Duration::from_secs(30),
            async || match operator.ready() {
                true => Ok(()),
                false => Err("not 200".to_owned()),
            },
        )
        .await;
    }
}

#[tokio::test]
async fn edits_reach_the_objects_and_templates_reach_exactly_their_clusters() {
    let Some(plane) = start() else { return };
    let client = plane.client().await;
    let discovery = Discovery::new(client.clone()).run().await.unwrap();
    let namespace = plane.namespace(&client, "edits").await;
    let ns = namespace.name.as_str();
    let _operator = Operator::start(&plane.kubeconfig(), "full", ns, &[], &[]);

    // Two clusters in one namespace: the templated one uses the CellTemplate
    // "standard-cell", the minimal one uses no template.
    let templated = render("templated", ns);
    let minimal = render("minimal", ns);
    apply_inputs(&client, &discovery, &templated, "kubectl").await;
    apply_inputs(&client, &discovery, &minimal, "kubectl").await;
    for objects in [&templated, &minimal] {
        eventually("the render is live", Duration::from_secs(120), async || {
            matches_render(&client, &discovery, objects).await
        })
        .await;
    }
    let generations = async |objects: &[compile::Object]| -> Vec<(String, Option<i64>)> {
        let mut out = Vec::new();
        for object in generated(objects) {
            let live = api_for(&client, &discovery, object)
                .get(&object.name)
                .await
                .unwrap();
            out.push((
                format!("{} {}", object.kind, object.name),
                live.metadata.generation,
            ));
        }
        out
    };
    let minimal_before = generations(&minimal).await;

    // A template edit: the gateways of the cells of the templated cluster.
    let edited = render_edited("templated", ns, &|value| {
        if value["kind"] == "CellTemplate" {
            value["spec"]["multigateway"]["replicas"] = json!(3);
        }
    });
    let template = edited.iter().find(|o| o.kind == "CellTemplate").unwrap();
    apply_object(&client, &discovery, template, "kubectl").await;
    eventually(
        "the template edit reaches its cluster",
        Duration::from_secs(60),
        async || matches_render(&client, &discovery, &edited).await,
    )
    .await;
    let gateway_replicas: Vec<i64> = generated(&edited)
        .iter()
        .filter(|o| o.kind == "Deployment" && o.name.contains("multigateway"))
        .map(|o| o.value["spec"]["replicas"].as_i64().unwrap())
        .collect();
    assert!(!gateway_replicas.is_empty() && gateway_replicas.iter().all(|r| *r == 3));
    assert_eq!(
        generations(&minimal).await,
        minimal_before,
        "a template edit changed a cluster that does not use the template"
    );

    // A cluster edit: the gateway replicas.
    let (edited_minimal, cluster_object) = minimal_with_two_gateways(ns);
    let cluster_object = &cluster_object;
    apply_object(&client, &discovery, cluster_object, "kubectl").await;
    eventually(
        "the cluster edit reaches the gateway",
        Duration::from_secs(60),
        async || matches_render(&client, &discovery, &edited_minimal).await,
    )
    .await;

    // Deleting a cluster removes its objects (the finalizer, then garbage
    // collection by ownerReference).
    api_for(&client, &discovery, cluster_object)
        .delete(&cluster_object.name, &DeleteParams::default())
        .await
        .unwrap();
    eventually(
        "deleting the cluster removes its objects",
        Duration::from_secs(120),
        async || {
            for object in generated(&edited_minimal)
                .into_iter()
                .chain([cluster_object])
            {
                if api_for(&client, &discovery, object)
                    .get_opt(&object.name)
                    .await
                    .unwrap()
                    .is_some()
                {
                    return Err(format!("{} {} still exists", object.kind, object.name));
                }
            }
            Ok(())
        },
    )
    .await;
    // The other cluster keeps everything.
    matches_render(&client, &discovery, &edited).await.unwrap();
}

/// The image of the first container of a live Deployment.
async fn deployment_image(client: &kube::Client, ns: &str, name: &str) -> String {
    let deployments: Api<k8s_openapi::api::apps::v1::Deployment> =
        Api::namespaced(client.clone(), ns);
    let live = deployments.get(name).await.unwrap();
    let containers = live.spec.unwrap().template.spec.unwrap().containers;
    containers[0].image.clone().unwrap_or_default()
}

/// `(status, reason)` of the cluster's ImageRolloutPending condition.
fn rollout_condition(cluster: &MultigresCluster) -> Option<(String, String)> {
    let conditions = &cluster.status.as_ref()?.conditions;
    let condition = conditions
        .iter()
        .find(|c| c.type_ == "ImageRolloutPending")?;
    Some((condition.status.clone(), condition.reason.clone()))
}

#[tokio::test]
async fn lazy_images_wait_for_an_acknowledgement_then_roll_out() {
    let Some(plane) = start() else { return };
    let client = plane.client().await;
    let discovery = Discovery::new(client.clone()).run().await.unwrap();
    let namespace = plane.namespace(&client, "lazy").await;
    let ns = namespace.name.as_str();
    let objects = render("minimal", ns);
    let gateway = generated(&objects)
        .into_iter()
        .find(|o| o.kind == "Deployment" && o.name.contains("multigateway"))
        .unwrap()
        .name
        .clone();
    let recorded_image = multigres::images::Component::Multigateway.default_image();
    let clusters: Api<MultigresCluster> = Api::namespaced(client.clone(), ns);
    let lazy = ["--image-update-strategy", "lazy"];

    let mut first = Operator::start(&plane.kubeconfig(), "full", ns, &lazy, &[]);
    apply_inputs(&client, &discovery, &objects, "kubectl").await;
    eventually(
        "the cluster records the images it runs",
        Duration::from_secs(120),
        async || {
            let cluster = clusters.get("minimal").await.unwrap();
            let annotation = cluster.metadata.annotations.unwrap_or_default();
            let recorded = annotation
                .get("multigres.com/applied-images")
                .ok_or("no applied-images annotation")?;
            if !recorded.contains(recorded_image) {
                return Err(format!("recorded {recorded}"));
            }
            match rollout_condition(&clusters.get("minimal").await.unwrap()) {
                Some((status, reason)) if status == "False" && reason == "UpToDate" => Ok(()),
                other => Err(format!("ImageRolloutPending {other:?}")),
            }
        },
    )
    .await;
    assert_eq!(
        deployment_image(&client, ns, &gateway).await,
        recorded_image
    );
    first.terminate();

    // A new operator release: another multigateway image is available.
    let next = "registry.example/multigres:next";
    let second = Operator::start(
        &plane.kubeconfig(),
        "full",
        ns,
        &lazy,
        &[("MULTIGRES_IMAGE_MULTIGATEWAY", next)],
    );
    let available = eventually(
        "the new set waits for a person",
        Duration::from_secs(60),
        async || {
            let cluster = clusters.get("minimal").await.unwrap();
            match rollout_condition(&cluster) {
                Some((status, reason))
                    if status == "True" && reason == "AwaitingAcknowledgement" =>
                {
                    let images = cluster.status.unwrap().images.unwrap();
                    Ok(images.available_revision.unwrap())
                }
                other => Err(format!("ImageRolloutPending {other:?}")),
            }
        },
    )
    .await;
    // The reconciles that saw the new set ran; the gateway kept its image.
    assert_eq!(
        deployment_image(&client, ns, &gateway).await,
        recorded_image
    );

    let acknowledge = json!({"spec": {"imageUpdatePolicy": {"acknowledgedRevision": available}}});
    clusters
        .patch(
            "minimal",
            &PatchParams::default(),
            &Patch::Merge(&acknowledge),
        )
        .await
        .unwrap();
    eventually(
        "the acknowledged set rolls out",
        Duration::from_secs(60),
        async || {
            let image = deployment_image(&client, ns, &gateway).await;
            let condition = rollout_condition(&clusters.get("minimal").await.unwrap());
            if image == next && condition == Some(("False".into(), "UpToDate".into())) {
                Ok(())
            } else {
                Err(format!(
                    "gateway image {image}, ImageRolloutPending {condition:?}"
                ))
            }
        },
    )
    .await;
    let events: Api<k8s_openapi::api::core::v1::Event> = Api::namespaced(client.clone(), ns);
    eventually(
        "an ImagesUpdated event",
        Duration::from_secs(30),
        async || {
            let list = events.list(&Default::default()).await.unwrap();
            list.items
                .iter()
                .find(|e| e.reason.as_deref() == Some("ImagesUpdated"))
                .map(|_| ())
                .ok_or_else(|| "none yet".to_owned())
        },
    )
    .await;
    drop(second);
}

#[tokio::test]
async fn a_child_no_longer_rendered_is_marked_then_deleted_once_ready() {
    let Some(plane) = start() else { return };
    let client = plane.client().await;
    let discovery = Discovery::new(client.clone()).run().await.unwrap();
    let namespace = plane.namespace(&client, "handshake").await;
    let ns = namespace.name.as_str();
    let _operator = Operator::start(&plane.kubeconfig(), "full", ns, &[], &[]);
    let objects = render("two-cells", ns);
    apply_inputs(&client, &discovery, &objects, "kubectl").await;
    eventually("the render is live", Duration::from_secs(120), async || {
        matches_render(&client, &discovery, &objects).await
    })
    .await;
    // Cells are append-only in the CRD, so a cell cannot leave the spec;
    // a Cell the reconciler applied earlier that the render no longer holds
    // (an older version's) is the same case: one of ours that leaves.
    let live_cluster = cluster(&client, &objects).await;
    let cell = generated(&objects)
        .into_iter()
        .find(|o| o.kind == "Cell")
        .unwrap();
    let mut stray = cell.value.clone();
    stray["metadata"]["name"] = json!("two-cells-stray-cell");
    stray["spec"]["name"] = json!("stray");
    stray["metadata"]["labels"]["multigres.com/cell"] = json!("stray");
    stray["metadata"]["ownerReferences"] = json!([{
        "apiVersion": "multigres.com/v1alpha1", "kind": "MultigresCluster",
        "name": live_cluster.metadata.name, "uid": live_cluster.metadata.uid,
        "controller": true, "blockOwnerDeletion": true,
    }]);
    let cells: Api<DynamicObject> = api_for(&client, &discovery, cell);
    cells
        .patch(
            "two-cells-stray-cell",
            &PatchParams::apply("multigres-operator").force(),
            &Patch::Apply(&stray),
        )
        .await
        .unwrap();
    eventually(
        "the stray cell is deleted",
        Duration::from_secs(60),
        async || match cells.get_opt("two-cells-stray-cell").await.unwrap() {
            Some(_) => Err("still there".to_owned()),
            None => Ok(()),
        },
    )
    .await;
    // In upstream's order: marked, ready, deleted — the events say so.
    let events: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(client.clone(), ns);
    let reasons: BTreeSet<String> = events
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|e| {
            e.note.as_deref().unwrap_or_default().contains("stray")
                || e.regarding.as_ref().and_then(|r| r.name.as_deref())
                    == Some("two-cells-stray-cell")
        })
        .filter_map(|e| e.reason)
        .collect();
    for reason in ["PendingDeletion", "ReadyForDeletion", "Deleted"] {
        assert!(
            reasons.contains(reason),
            "no {reason} event about the stray cell: {reasons:?}"
        );
    }
    // The real cells are untouched.
    matches_render(&client, &discovery, &objects).await.unwrap();
}

#[tokio::test]
async fn runtime_mode_writes_status_and_never_a_static_field() {
    let Some(plane) = start() else { return };
    let client = plane.client().await;
    let discovery = Discovery::new(client.clone()).run().await.unwrap();
    let namespace = plane.namespace(&client, "runtime").await;
    let ns = namespace.name.as_str();
    let objects = render("two-cells", ns);
    // A GitOps tool applies everything, the generated objects included.
    for object in &objects {
        apply_object(&client, &discovery, object, "argocd-controller").await;
    }
    let operator = Operator::start(&plane.kubeconfig(), "runtime", ns, &[], &[]);
    eventually(
        "every child and the cluster have a status",
        Duration::from_secs(60),
        async || {
            statuses_written(
                &client,
                &discovery,
                &objects,
                &[
                    "MultigresCluster",
                    "Cell",
                    "TableGroup",
                    "Shard",
                    "TopoServer",
                ],
            )
            .await
        },
    )
    .await;
    // Let every controller pass at least once more.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_only_status_written(&client, &discovery, &objects).await;
    for object in &objects {
        let live = api_for(&client, &discovery, object)
            .get(&object.name)
            .await
            .unwrap();
        // The API server adds its own (a claim's kubernetes.io/pvc-protection).
        let ours: Vec<String> = live
            .metadata
            .finalizers
            .unwrap_or_default()
            .into_iter()
            .filter(|f| f.starts_with("multigres.com/"))
            .collect();
        assert!(
            ours.is_empty(),
            "{} {}: the runtime mode added finalizers {ours:?}",
            object.kind,
            object.name
        );
    }
    assert_eq!(
        operator.sample(r#"multigres_operator_api_requests_total{verb="DELETE"}"#),
        0.0
    );

    // Argo CD's health checks (docs/argocd/) read exactly what was written.
    let mut live = Vec::new();
    for object in objects.iter().filter(|o| {
        matches!(
            o.kind.as_str(),
            "MultigresCluster" | "Cell" | "TableGroup" | "Shard" | "TopoServer"
        )
    }) {
        let served = api_for(&client, &discovery, object)
            .get(&object.name)
            .await
            .unwrap();
        live.push((object.kind.clone(), serde_json::to_value(served).unwrap()));
    }
    let lua = argocd_health::argo_lua();
    for (kind, value) in &live {
        let check = argocd_health::compile(&lua, kind);
        let health = argocd_health::assess(&lua, &check, value)
            .unwrap_or_else(|e| panic!("{kind}: the health script fails on the live status: {e}"));
        // No pod runs here (no kubelet in this namespace): every kind is on
        // its way, none is broken, and the script says why.
        let phase = value.pointer("/status/phase").and_then(Value::as_str);
        let expected = match phase {
            Some("Healthy") => "Healthy",
            Some("Degraded") => "Degraded",
            _ => "Progressing",
        };
        assert_eq!(
            health.status, expected,
            "{kind} with phase {phase:?}: {}",
            health.message
        );
        assert!(!health.message.is_empty(), "{kind}: no message");
    }

    // SIGTERM: a clean stop.
    let mut operator = operator;
    let status = operator.terminate().expect("the operator was running");
    assert!(
        status.success(),
        "SIGTERM: {status:?}\n{}",
        operator.log_text()
    );
}
