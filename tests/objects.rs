//! Every Kubernetes object of a cluster, checked against the upstream
//! operator's objects for its `config/samples/minimal.yaml`.

use std::collections::BTreeMap;

use multigres::compile::{Input, Object, Options, compile};
use serde_json::{Value, json};

fn render(files: &[(&str, String)], preview_runtime: bool) -> Vec<Object> {
    let inputs: Vec<Input> = files
        .iter()
        .map(|(name, text)| Input::new(*name, text.as_bytes().to_vec()))
        .collect();
    let output = compile(
        &inputs,
        &Options {
            preview_runtime,
            ..Default::default()
        },
    );
    output.unwrap_or_else(|errors| panic!("{errors}")).objects
}

fn minimal() -> String {
    let path = format!(
        "{}/examples/minimal/minimal.yaml",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(path).unwrap()
}

fn find<'a>(objects: &'a [Object], kind: &str, name: &str) -> &'a Value {
    &objects
        .iter()
        .find(|o| o.kind == kind && o.name == name)
        .unwrap_or_else(|| panic!("no {kind}/{name}"))
        .value
}

#[test]
fn minimal_emits_exactly_the_static_objects_of_the_worked_example() {
    let objects = render(&[("minimal.yaml", minimal())], false);
    let mut kinds: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for object in &objects {
        kinds
            .entry(object.kind.clone())
            .or_default()
            .push(object.name.clone());
    }
    let expected = json!({
        "Cell": ["minimal-zone-a-96c88ae0"],
        "ConfigMap": [
            "minimal-postgres-default-0-inf-1e3c045c-exporter-queries",
            "minimal-postgres-default-0-inf-1e3c045c-pg-hba",
            "minimal-postgres-default-0-inf-1e3c045c-postgres-config"
        ],
        "Deployment": [
            "minimal-multiadmin",
            "minimal-multiadmin-web",
            "minimal-postgres-default-0-inf-multiorch-zone-a-bbe2a333",
            "minimal-zone-a-multigateway-0ccc2e8b"
        ],
        "MultigresCluster": ["minimal"],
        "PersistentVolumeClaim": ["backup-data-minimal-postgres-default-0-inf-811a09a5"],
        "PodDisruptionBudget": ["minimal-postgres-default-0-inf-pool-default-zone-a-pdb-6a4f8455"],
        "Secret": ["multigres-admin-password"],
        "Service": [
            "minimal-global-topo",
            "minimal-global-topo-headless",
            "minimal-multiadmin",
            "minimal-multiadmin-web",
            "minimal-multigateway",
            "minimal-multigateway-replica",
            "minimal-postgres-default-0-inf-multiorch-zone-a-bbe2a333",
            "minimal-postgres-default-0-inf-pool-default-zone-a-h---22cdf02c",
            "minimal-zone-a-multigateway-0ccc2e8b"
        ],
        "Shard": ["minimal-postgres-default-0-inf-1e3c045c"],
        "StatefulSet": ["minimal-global-topo"],
        "TableGroup": ["minimal-postgres-default-f7d4ad4a"],
        "TopoServer": ["minimal-global-topo"]
    });
    assert_eq!(serde_json::to_value(&kinds).unwrap(), expected);
}

#[test]
fn runtime_preview_adds_the_pool_pods_and_their_volumes() {
    let objects = render(&[("minimal.yaml", minimal())], true);
    let runtime: Vec<(&str, &str)> = objects
        .iter()
        .filter(|o| {
            o.value
                .pointer("/metadata/annotations/config.kubernetes.io~1local-config")
                == Some(&json!("true"))
        })
        .map(|o| (o.kind.as_str(), o.name.as_str()))
        .collect();
    assert_eq!(
        runtime,
        [
            (
                "PersistentVolumeClaim",
                "data-minimal-postgres-default-0-inf-pool-default-zone-a-a3a0d77b-0"
            ),
            (
                "PersistentVolumeClaim",
                "data-minimal-postgres-default-0-inf-pool-default-zone-a-a3a0d77b-1"
            ),
            (
                "Pod",
                "minimal-postgres-default-0-inf-pool-default-zone-a-a3a0d77b-0"
            ),
            (
                "Pod",
                "minimal-postgres-default-0-inf-pool-default-zone-a-a3a0d77b-1"
            ),
        ]
    );
    let pod = find(
        &objects,
        "Pod",
        "minimal-postgres-default-0-inf-pool-default-zone-a-a3a0d77b-1",
    );
    let annotations = &pod["metadata"]["annotations"];
    assert_eq!(
        annotations["argocd.argoproj.io/sync-options"],
        "Prune=false"
    );
    assert_eq!(
        annotations["argocd.argoproj.io/compare-options"],
        "IgnoreExtraneous"
    );
    assert!(
        annotations["multigres.com/spec-hash"]
            .as_str()
            .is_some_and(|h| h.len() == 8)
    );
    let args = pod["spec"]["containers"][0]["args"].as_array().unwrap();
    assert!(args.contains(&json!("--service-id=p-6bfa8f13")), "{args:?}");
    assert_eq!(
        pod["spec"]["subdomain"],
        "minimal-postgres-default-0-inf-pool-default-zone-a-h---22cdf02c"
    );
    // Without the flag, no runtime object appears.
    let without = render(&[("minimal.yaml", minimal())], false);
    assert!(
        !without
            .iter()
            .any(|o| o.kind == "Pod" || o.name.starts_with("data-"))
    );
}

#[test]
fn key_fields_of_the_worked_example() {
    let objects = render(&[("minimal.yaml", minimal())], false);
    let gateway = find(
        &objects,
        "Deployment",
        "minimal-zone-a-multigateway-0ccc2e8b",
    );
    assert_eq!(
        gateway["spec"]["template"]["spec"]["nodeSelector"],
        json!({"topology.k8s.aws/zone-id": "us-central1-a"})
    );
    let multiadmin = find(&objects, "Deployment", "minimal-multiadmin");
    let args = multiadmin["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .unwrap();
    assert!(args.contains(&json!(
        "--topo-global-server-addresses=minimal-global-topo.default.svc:2379"
    )));
    let etcd = find(&objects, "StatefulSet", "minimal-global-topo");
    assert_eq!(etcd["spec"]["replicas"], 3);
    let env = etcd["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array()
        .unwrap();
    let initial = env
        .iter()
        .find(|e| e["name"] == "ETCD_INITIAL_CLUSTER")
        .unwrap();
    assert_eq!(
        initial["value"],
        "minimal-global-topo-0=http://minimal-global-topo-0.minimal-global-topo-headless.default.svc.cluster.local:2380,\
         minimal-global-topo-1=http://minimal-global-topo-1.minimal-global-topo-headless.default.svc.cluster.local:2380,\
         minimal-global-topo-2=http://minimal-global-topo-2.minimal-global-topo-headless.default.svc.cluster.local:2380"
    );
    let multiorch = find(
        &objects,
        "Deployment",
        "minimal-postgres-default-0-inf-multiorch-zone-a-bbe2a333",
    );
    assert_eq!(
        multiorch["spec"]["template"]["spec"]["containers"][0]["args"],
        json!([
            "multiorch",
            "--http-port=15300",
            "--grpc-port=15370",
            "--topo-global-server-addresses=minimal-global-topo.default.svc:2379",
            "--topo-global-root=/multigres/global",
            "--cell=zone-a",
            "--watch-targets=postgres/default/0-inf",
            "--log-level=info"
        ])
    );
    let pdb = find(
        &objects,
        "PodDisruptionBudget",
        "minimal-postgres-default-0-inf-pool-default-zone-a-pdb-6a4f8455",
    );
    assert_eq!(pdb["spec"]["maxUnavailable"], 1);
    assert_eq!(
        pdb["spec"]["selector"]["matchLabels"]
            .as_object()
            .unwrap()
            .len(),
        8
    );
}

/// The pool pod of the minimal cluster with one postgresConfig entry.
fn pod_with(setting: Option<(&str, &str)>) -> Value {
    let mut text = minimal();
    if let Some((key, value)) = setting {
        text.push_str(&format!(
            "  databases:\n  - name: postgres\n    default: true\n    tablegroups:\n    - name: default\n      default: true\n      \
             shards:\n      - name: 0-inf\n        spec:\n          postgresConfig:\n            {key}: \"{value}\"\n"
        ));
    }
    let objects = render(&[("minimal.yaml", text)], true);
    objects
        .into_iter()
        .find(|o| o.kind == "Pod" && o.name.ends_with("-0"))
        .map(|o| o.value)
        .expect("a pool pod")
}

fn annotation<'a>(pod: &'a Value, key: &str) -> &'a str {
    pod["metadata"]["annotations"][key]
        .as_str()
        .unwrap_or_default()
}

#[test]
fn reload_settings_change_only_the_reload_hash_restart_settings_roll_the_pods() {
    let base = pod_with(Some(("work_mem", "4MB")));
    let reload = pod_with(Some(("work_mem", "8MB")));
    let restart = pod_with(Some(("shared_buffers", "256MB")));
    let (spec, config, reload_hash) = (
        "multigres.com/spec-hash",
        "multigres.com/postgres-config-hash",
        "multigres.com/postgres-reload-hash",
    );
    assert_ne!(
        annotation(&base, reload_hash),
        annotation(&reload, reload_hash)
    );
    assert_eq!(annotation(&base, config), annotation(&reload, config));
    assert_eq!(annotation(&base, spec), annotation(&reload, spec));
    assert_ne!(annotation(&base, config), annotation(&restart, config));
    assert_ne!(annotation(&base, spec), annotation(&restart, spec));
}

/// Generated custom resources satisfy the schemas and CEL rules of `crds/`
/// (the same check the API server makes when they are applied).
#[test]
fn generated_children_satisfy_their_crds() {
    use multigres::api::Kind;
    use multigres::compile::schema::admit;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("golden");
    let mut checked = 0;
    for entry in std::fs::read_dir(&root).unwrap() {
        let path = entry.unwrap().path().join("render.yaml");
        let text = std::fs::read_to_string(&path).unwrap();
        let docs = multigres::compile::yaml::parse_stream(&text, &Default::default()).unwrap();
        for doc in docs {
            let kind = doc.value["kind"].as_str().and_then(Kind::from_name);
            let Some(kind) = kind.filter(|k| k.is_child()) else {
                continue;
            };
            let admitted = admit(kind, &doc.value, None);
            assert!(
                admitted.findings.is_empty(),
                "{}: {:?}",
                path.display(),
                admitted.findings
            );
            // Nothing left for the API server to default: every default is written out.
            assert!(
                admitted.defaulted.is_empty(),
                "{}: {kind:?} defaults {:?}",
                path.display(),
                admitted.defaulted
            );
            checked += 1;
        }
    }
    assert!(checked > 20, "only {checked} children checked");
}
