//! The simulated kubelet (tests/support/kubelet.rs) against a real control
//! plane (testplane/up): pods of real controllers become Ready, volumes
//! hold pods Pending, node selectors pick nodes, claims bind and grow, and
//! the steering API does what tests will rely on.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{
    ConfigMap, Event, PersistentVolume, PersistentVolumeClaim, Pod, Secret, ServiceAccount,
};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{ListParams, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde_json::json;

use crate::support::kubelet::{Kubelet, NodeSpec, Options, wait_for};
use crate::support::testplane::{TestNamespace, control_plane};

const TIMEOUT: Duration = Duration::from_secs(60);

/// A client and a fresh namespace (with its default ServiceAccount, which
/// pods need before the API server admits them, and its root CA
/// ConfigMap, which they mount), or None to skip; the
/// guard prints the control plane's logs if the test fails. Each test gets
/// its own namespace and its own kubelet scoped to it, so tests run in
/// parallel on the one control plane of the test process.
async fn fixture(test: &str) -> Option<(Client, String, TestNamespace)> {
    let plane = tokio::task::spawn_blocking(control_plane)
        .await
        .expect("starting the control plane")?;
    let client = plane.client().await;
    let namespace = plane.namespace(&client, &format!("kubelet-{test}")).await;
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), &namespace.name);
    wait_for(&accounts, "default", |_| true, TIMEOUT)
        .await
        .expect("the namespace's default ServiceAccount");
    // Every pod mounts it (the projected service-account volume); until the
    // controller manager publishes it, the kubelet holds pods with a
    // FailedMount of its own, which would confuse the tests that count them.
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), &namespace.name);
    wait_for(&config_maps, "kube-root-ca.crt", |_| true, TIMEOUT)
        .await
        .expect("the namespace's kube-root-ca.crt ConfigMap");
    Some((client, namespace.name.clone(), namespace))
}

/// Three nodes in three zones of one region, named after the namespace so
/// the kubelets of parallel tests do not share nodes.
async fn kubelet(client: &Client, namespace: &str) -> Kubelet {
    let nodes: Vec<NodeSpec> = ["a", "b", "c"]
        .iter()
        .map(|zone| {
            NodeSpec::new(
                format!("{namespace}-{zone}"),
                "region-1",
                format!("zone-{zone}"),
            )
        })
        .collect();
    let options = Options {
        namespace: Some(namespace.to_owned()),
        ..Options::default()
    };
    Kubelet::start_with(client.clone(), &nodes, options).await
}

// ---------------------------------------------------------------------------

fn pod(name: &str, spec: serde_json::Value) -> Pod {
    let mut spec = spec;
    spec["containers"] = json!([{"name": "main", "image": "busybox:1.36"}]);
    serde_json::from_value(json!({"metadata": {"name": name}, "spec": spec})).unwrap()
}

fn condition(pod: &Pod, type_: &str) -> Option<String> {
    pod.status
        .as_ref()?
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == type_)
        .map(|c| c.status.clone())
}

fn is_ready(pod: &Pod) -> bool {
    condition(pod, "Ready").as_deref() == Some("True")
}

#[tokio::test]
async fn deployment_pods_become_ready_and_the_deployment_available() {
    let Some((client, ns, _logs)) = fixture("deployment").await else {
        return;
    };
    let _kubelet = kubelet(&client, &ns).await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns);
    let deployment = serde_json::from_value(json!({
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "initContainers": [
                        {"name": "setup", "image": "busybox:1.36"},
                        {"name": "proxy", "image": "envoy:1.30", "restartPolicy": "Always"},
                    ],
                    "containers": [{"name": "nginx", "image": "nginx:1.27"}],
                },
            },
        },
    }))
    .unwrap();
    deployments
        .create(&PostParams::default(), &deployment)
        .await
        .unwrap();
    let available = |d: &Deployment| {
        let status = d.status.clone().unwrap_or_default();
        status.available_replicas == Some(2) && status.ready_replicas == Some(2)
    };
    wait_for(&deployments, "web", available, TIMEOUT)
        .await
        .unwrap();

    let pods: Api<Pod> = Api::namespaced(client, &ns);
    let list = pods
        .list(&ListParams::default().labels("app=web"))
        .await
        .unwrap();
    assert_eq!(list.items.len(), 2);
    let mut ips = Vec::new();
    for pod in &list.items {
        let status = pod.status.clone().unwrap();
        assert_eq!(status.phase.as_deref(), Some("Running"));
        assert!(status.host_ip.is_some() && status.start_time.is_some());
        ips.push(status.pod_ip.clone().expect("a pod IP"));
        for type_ in ["PodScheduled", "Initialized", "ContainersReady", "Ready"] {
            assert_eq!(condition(pod, type_).as_deref(), Some("True"), "{type_}");
        }
        let main = &status.container_statuses.unwrap()[0];
        assert!(main.ready && main.state.as_ref().unwrap().running.is_some());
        assert!(main.image_id.starts_with("nginx:1.27@sha256:"));
        assert!(
            main.container_id
                .as_ref()
                .unwrap()
                .starts_with("containerd://")
        );
        let init = status.init_container_statuses.unwrap();
        let setup = init.iter().find(|c| c.name == "setup").unwrap();
        let exit = setup
            .state
            .as_ref()
            .unwrap()
            .terminated
            .as_ref()
            .map(|t| t.exit_code);
        assert_eq!(
            exit,
            Some(0),
            "an ordinary init container ran to completion"
        );
        let proxy = init.iter().find(|c| c.name == "proxy").unwrap();
        assert!(
            proxy.ready && proxy.state.as_ref().unwrap().running.is_some(),
            "a native sidecar runs"
        );
    }
    assert_ne!(ips[0], ips[1], "pod IPs are unique");
}

#[tokio::test]
async fn a_statefulset_becomes_ready_one_pod_after_the_other() {
    let Some((client, ns, _logs)) = fixture("statefulset").await else {
        return;
    };
    let kubelet = kubelet(&client, &ns).await;
    // Held, db-0 stays Pending: with OrderedReady the controller must not
    // create db-1 before db-0 is Ready.
    kubelet.hold(&ns, "db-0");
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), &ns);
    let set = serde_json::from_value(json!({
        "metadata": {"name": "db"},
        "spec": {
            "replicas": 3,
            "serviceName": "db",
            "selector": {"matchLabels": {"app": "db"}},
            "template": {
                "metadata": {"labels": {"app": "db"}},
                "spec": {"containers": [{"name": "postgres", "image": "postgres:17"}]},
            },
        },
    }))
    .unwrap();
    sets.create(&PostParams::default(), &set).await.unwrap();
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    let pending = |p: &Pod| {
        p.spec.as_ref().and_then(|s| s.node_name.as_ref()).is_none()
            && p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Pending")
    };
    wait_for(&pods, "db-0", pending, TIMEOUT).await.unwrap();
    // The controller reports the pods it created in status.replicas.
    wait_for(
        &sets,
        "db",
        |s| s.status.as_ref().is_some_and(|s| s.replicas == 1),
        TIMEOUT,
    )
    .await
    .unwrap();
    assert!(
        pods.get_opt("db-1").await.unwrap().is_none(),
        "db-1 waits for db-0"
    );

    kubelet.release(&ns, "db-0");
    let ready = |s: &StatefulSet| s.status.as_ref().and_then(|s| s.ready_replicas) == Some(3);
    wait_for(&sets, "db", ready, TIMEOUT).await.unwrap();
    // Each pod was created no earlier than its predecessor became Ready.
    let ready_since = |pod: &Pod| {
        let conditions = pod.status.as_ref().unwrap().conditions.clone().unwrap();
        let ready = conditions.into_iter().find(|c| c.type_ == "Ready").unwrap();
        ready.last_transition_time.unwrap().0
    };
    for ordinal in 1..3 {
        let before = pods.get(&format!("db-{}", ordinal - 1)).await.unwrap();
        let pod = pods.get(&format!("db-{ordinal}")).await.unwrap();
        let created = pod.metadata.creation_timestamp.clone().unwrap().0;
        assert!(is_ready(&pod));
        assert!(
            created >= ready_since(&before),
            "db-{ordinal} created at {created}, before db-{} was Ready",
            ordinal - 1
        );
    }
}

#[tokio::test]
async fn a_pod_with_a_missing_secret_stays_pending_until_it_exists() {
    let Some((client, ns, _logs)) = fixture("secret").await else {
        return;
    };
    let _kubelet = kubelet(&client, &ns).await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    let volumes = json!({"volumes": [{"name": "creds", "secret": {"secretName": "creds"}}]});
    pods.create(&PostParams::default(), &pod("app", volumes))
        .await
        .unwrap();
    let creating = |p: &Pod| {
        let waiting = p.status.as_ref().and_then(|s| {
            s.container_statuses
                .as_ref()?
                .first()?
                .state
                .clone()?
                .waiting
        });
        waiting.and_then(|w| w.reason).as_deref() == Some("ContainerCreating")
    };
    let pending = wait_for(&pods, "app", creating, TIMEOUT).await.unwrap();
    assert_eq!(
        pending.status.as_ref().unwrap().phase.as_deref(),
        Some("Pending")
    );
    assert!(!is_ready(&pending));

    // The Event is recorded before the status is patched.
    let events: Api<Event> = Api::namespaced(client.clone(), &ns);
    let about_app = ListParams::default().fields("involvedObject.name=app,reason=FailedMount");
    let failed = events.list(&about_app).await.unwrap();
    assert_eq!(failed.items.len(), 1, "one FailedMount Event: {failed:?}");
    let message = failed.items[0].message.clone().unwrap();
    assert!(message.contains("secret \"creds\" not found"), "{message}");

    let secrets: Api<Secret> = Api::namespaced(client, &ns);
    let secret = serde_json::from_value(
        json!({"metadata": {"name": "creds"}, "stringData": {"password": "x"}}),
    )
    .unwrap();
    secrets
        .create(&PostParams::default(), &secret)
        .await
        .unwrap();
    wait_for(&pods, "app", is_ready, TIMEOUT).await.unwrap();
}

#[tokio::test]
async fn node_selectors_and_required_affinity_choose_the_node() {
    let Some((client, ns, _logs)) = fixture("zones").await else {
        return;
    };
    let _kubelet = kubelet(&client, &ns).await;
    let pods: Api<Pod> = Api::namespaced(client, &ns);
    let zone_b = json!({"nodeSelector": {"topology.kubernetes.io/zone": "zone-b"}});
    pods.create(&PostParams::default(), &pod("in-b", zone_b))
        .await
        .unwrap();
    let zone_c = json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [
            {"key": "topology.kubernetes.io/zone", "operator": "In", "values": ["zone-c"]},
        ]}],
    }}}});
    pods.create(&PostParams::default(), &pod("in-c", zone_c))
        .await
        .unwrap();
    let nowhere = json!({"nodeSelector": {"topology.kubernetes.io/zone": "zone-z"}});
    pods.create(&PostParams::default(), &pod("nowhere", nowhere))
        .await
        .unwrap();

    let in_b = wait_for(&pods, "in-b", is_ready, TIMEOUT).await.unwrap();
    assert_eq!(in_b.spec.unwrap().node_name, Some(format!("{ns}-b")));
    let in_c = wait_for(&pods, "in-c", is_ready, TIMEOUT).await.unwrap();
    assert_eq!(in_c.spec.unwrap().node_name, Some(format!("{ns}-c")));
    let unschedulable = |p: &Pod| condition(p, "PodScheduled").as_deref() == Some("False");
    let nowhere = wait_for(&pods, "nowhere", unschedulable, TIMEOUT)
        .await
        .unwrap();
    assert_eq!(nowhere.spec.unwrap().node_name, None);
}

#[tokio::test]
async fn a_claim_binds_and_its_resize_is_reported() {
    let Some((client, ns, _logs)) = fixture("claims").await else {
        return;
    };
    let _kubelet = kubelet(&client, &ns).await;
    let classes: Api<StorageClass> = Api::all(client.clone());
    for (name, expand) in [
        (format!("{ns}-expandable"), true),
        (format!("{ns}-fixed"), false),
    ] {
        let class = serde_json::from_value(json!({
            "metadata": {"name": name},
            "provisioner": "testplane.multigres.io/simulated",
            "allowVolumeExpansion": expand,
        }))
        .unwrap();
        classes
            .create(&PostParams::default(), &class)
            .await
            .unwrap();
    }
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), &ns);
    for (name, class) in [("data", "expandable"), ("fixed", "fixed")] {
        let claim = serde_json::from_value(json!({
            "metadata": {"name": name},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "storageClassName": format!("{ns}-{class}"),
                "resources": {"requests": {"storage": "1Gi"}},
            },
        }))
        .unwrap();
        claims.create(&PostParams::default(), &claim).await.unwrap();
    }
    let bound = |c: &PersistentVolumeClaim| {
        c.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound")
    };
    let data = wait_for(&claims, "data", bound, TIMEOUT).await.unwrap();
    wait_for(&claims, "fixed", bound, TIMEOUT).await.unwrap();
    let volume_name = data.spec.unwrap().volume_name.unwrap();
    let volumes: Api<PersistentVolume> = Api::all(client.clone());
    let pv_bound =
        |v: &PersistentVolume| v.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound");
    let volume = wait_for(&volumes, &volume_name, pv_bound, TIMEOUT)
        .await
        .unwrap();
    let spec = volume.spec.unwrap();
    assert_eq!(spec.capacity.unwrap()["storage"].0, "1Gi");
    assert_eq!(spec.storage_class_name, Some(format!("{ns}-expandable")));
    assert_eq!(spec.claim_ref.unwrap().name.as_deref(), Some("data"));

    let grow = Patch::Merge(json!({"spec": {"resources": {"requests": {"storage": "2Gi"}}}}));
    claims
        .patch("data", &PatchParams::default(), &grow)
        .await
        .unwrap();
    let grown = |c: &PersistentVolumeClaim| {
        let capacity = c.status.as_ref().and_then(|s| s.capacity.clone());
        capacity.is_some_and(|c| c.get("storage").map(|q| q.0.as_str()) == Some("2Gi"))
    };
    wait_for(&claims, "data", grown, TIMEOUT).await.unwrap();
    let volume = volumes.get(&volume_name).await.unwrap();
    assert_eq!(volume.spec.unwrap().capacity.unwrap()["storage"].0, "2Gi");

    // Without allowVolumeExpansion the API server itself refuses the resize.
    let refused = claims.patch("fixed", &PatchParams::default(), &grow).await;
    match refused {
        Err(kube::Error::Api(e)) => assert!(
            e.message
                .contains("only dynamically provisioned pvc can be resized"),
            "{e:?}"
        ),
        other => panic!("resizing a claim of a fixed class: {other:?}"),
    }
}

#[tokio::test]
async fn crash_loop_makes_the_pod_unready_and_ready_undoes_it() {
    let Some((client, ns, _logs)) = fixture("crash").await else {
        return;
    };
    let kubelet = kubelet(&client, &ns).await;
    let pods: Api<Pod> = Api::namespaced(client, &ns);
    pods.create(&PostParams::default(), &pod("app", json!({})))
        .await
        .unwrap();
    wait_for(&pods, "app", is_ready, TIMEOUT).await.unwrap();

    kubelet.crash_loop(&ns, "app");
    let crashing = |p: &Pod| {
        let main = p
            .status
            .as_ref()
            .and_then(|s| s.container_statuses.as_ref()?.first().cloned());
        let waiting = main.as_ref().and_then(|m| m.state.clone()?.waiting?.reason);
        !is_ready(p)
            && waiting.as_deref() == Some("CrashLoopBackOff")
            && main.is_some_and(|m| m.restart_count >= 2)
    };
    let crashed = wait_for(&pods, "app", crashing, TIMEOUT).await.unwrap();
    assert_eq!(
        condition(&crashed, "ContainersReady").as_deref(),
        Some("False")
    );

    kubelet.ready(&ns, "app");
    wait_for(&pods, "app", is_ready, TIMEOUT).await.unwrap();
    kubelet.not_ready(&ns, "app");
    wait_for(&pods, "app", |p| !is_ready(p), TIMEOUT)
        .await
        .unwrap();
}

#[tokio::test]
async fn eviction_honours_disruption_budgets_and_deleted_pods_go_away() {
    let Some((client, ns, _logs)) = fixture("evict").await else {
        return;
    };
    let kubelet = kubelet(&client, &ns).await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    let mut app = pod("app", json!({}));
    app.metadata.labels = Some(BTreeMap::from([("app".into(), "app".into())]));
    pods.create(&PostParams::default(), &app).await.unwrap();
    wait_for(&pods, "app", is_ready, TIMEOUT).await.unwrap();

    let budgets: Api<PodDisruptionBudget> = Api::namespaced(client, &ns);
    let budget = serde_json::from_value(json!({
        "metadata": {"name": "app"},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "app"}}},
    }))
    .unwrap();
    budgets
        .create(&PostParams::default(), &budget)
        .await
        .unwrap();
    // The disruption controller must have judged the budget first.
    let judged = |b: &PodDisruptionBudget| {
        b.status
            .as_ref()
            .is_some_and(|s| s.current_healthy == 1 && s.observed_generation == Some(1))
    };
    wait_for(&budgets, "app", judged, TIMEOUT).await.unwrap();
    match kubelet.evict(&ns, "app").await {
        Err(kube::Error::Api(e)) => assert_eq!(e.code, 429, "{e:?}"),
        other => panic!("evicting past a budget: {other:?}"),
    }

    budgets.delete("app", &Default::default()).await.unwrap();
    let uid = pods.get("app").await.unwrap().metadata.uid.unwrap();
    kubelet
        .evict(&ns, "app")
        .await
        .expect("eviction without a budget");
    // Removed after its grace period (30 s, capped at 2 s by the kubelet).
    let deleted = kube::runtime::wait::conditions::is_deleted(&uid);
    let removed = kube::runtime::wait::await_condition(pods.clone(), "app", deleted);
    tokio::time::timeout(TIMEOUT, removed)
        .await
        .expect("the evicted pod is removed within the timeout")
        .unwrap();
}
