//! `multigres install operator` (issue 11, item 6): its output is
//! deterministic, every object of both modes is accepted by a real API
//! server (the control plane of `testplane/`, RBAC on), the installed
//! ServiceAccount holds exactly the rights of the reconciler's contract
//! (docs/operator.md, "Permissions") and no more, and its pod passes the
//! `restricted` Pod Security level.
//!
//! The contract is written out below on its own, not read from the code
//! under test: the API server's answers are compared with it.

use std::collections::BTreeSet;
use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule, Role};
use kube::api::{Api, ListParams, PostParams};
use serde_json::Value;

use crate::support::run::multigres;
use crate::support::testplane::{ControlPlane, control_plane};
use crate::support::tools;

const IMAGE: &str = "registry.example.com/multigres:test";

/// The ClusterRole and ClusterRoleBinding `multigres-operator` are
/// cluster-wide and named the same in every install: each apply puts its
/// mode's rules in the role and its namespace's ServiceAccount in the
/// binding. Every test that applies an install holds this lock for as long
/// as it relies on them (tests/reconcile_rbac.rs runs a reconciler with
/// those rights), so the tests of one binary never change them under each
/// other.
pub(crate) static CLUSTER_WIDE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const SERVICE_ACCOUNT: &str = "multigres-operator";

pub(crate) fn install(mode: &str, namespace: &str) -> String {
    let run = multigres(
        &[
            "install",
            "operator",
            "--mode",
            mode,
            "--namespace",
            namespace,
            "--image",
            IMAGE,
        ],
        None,
    );
    assert_eq!(
        run.code, 0,
        "install operator --mode {mode}: {}",
        run.stderr
    );
    run.stdout
}

fn documents(text: &str) -> Vec<Value> {
    multigres::compile::yaml::parse_stream(text, &Default::default())
        .unwrap()
        .into_iter()
        .map(|d| d.value)
        .collect()
}

fn find<'a>(objects: &'a [Value], kind: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind)
        .unwrap_or_else(|| panic!("the install prints no {kind}"))
}

#[test]
fn the_output_is_deterministic_and_sorted_as_render_sorts() {
    for mode in ["full", "runtime"] {
        let first = install(mode, "multigres-system");
        assert_eq!(first, install(mode, "multigres-system"), "{mode}");
        let objects = documents(&first);
        let ranks: Vec<usize> = objects
            .iter()
            .map(|o| multigres::compile::emit::kind_rank(o["kind"].as_str().unwrap()))
            .collect();
        assert!(ranks.is_sorted(), "{mode}: {ranks:?}");
        // The CRDs are those `multigres crds` prints.
        let crds = multigres(&["crds"], None);
        assert_eq!(crds.code, 0);
        let by_name = |mut crds: Vec<Value>| {
            crds.sort_by_key(|crd| crd["metadata"]["name"].to_string());
            crds
        };
        let installed: Vec<Value> = objects
            .iter()
            .filter(|o| o["kind"] == "CustomResourceDefinition")
            .cloned()
            .collect();
        assert_eq!(installed.len(), 8, "{mode}");
        assert!(
            by_name(installed) == by_name(documents(&crds.stdout)),
            "{mode}: the install's CRDs are not those of `multigres crds`"
        );
        let deployment = find(&objects, "Deployment");
        let container = &deployment["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(container["image"], IMAGE);
        assert_eq!(
            container["args"],
            serde_json::json!(["reconcile", "--mode", mode, "--leader-elect"])
        );
    }
}

#[test]
fn install_refuses_an_empty_image_a_bad_namespace_and_no_replicas() {
    for (args, says) in [
        (
            &[
                "install",
                "operator",
                "--image",
                "x",
                "--namespace",
                "Not_A_Name",
            ][..],
            "--namespace",
        ),
        (&["install", "operator", "--image", " "], "--image"),
        (
            &["install", "operator", "--image", "x", "--replicas", "0"],
            "--replicas",
        ),
        (
            &["install", "operator", "--image", "x", "--mode", "partial"],
            "--mode",
        ),
    ] {
        let run = multigres(args, None);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{args:?}");
        assert!(run.stderr.contains(says), "{args:?}: {}", run.stderr);
    }
    // Without --image, the local name of docs/operator.md's build, said on stderr.
    let run = multigres(&["install", "operator"], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let image = format!("image: multigres:{}", env!("CARGO_PKG_VERSION"));
    assert!(run.stdout.contains(&image), "{}", run.stdout);
    assert!(run.stderr.contains("no --image given"), "{}", run.stderr);
}

// The contract of the reconciler (docs/operator.md, "Permissions").

const READ: &[&str] = &["get", "list", "watch"];
const ALL: &[&str] = &[
    "get", "list", "watch", "create", "update", "patch", "delete",
];
const CHANGE: &[&str] = &["create", "update", "patch", "delete"];

/// (group, resource or resource/subresource, verb).
type Right = (String, String, String);

fn rights(out: &mut BTreeSet<Right>, group: &str, resources: &[&str], verbs: &[&str]) {
    for resource in resources {
        for verb in verbs {
            out.insert((group.into(), (*resource).into(), (*verb).into()));
        }
    }
}

/// What the ClusterRole of `mode` grants, everywhere.
fn cluster_contract(mode: &str) -> BTreeSet<Right> {
    let mut out = BTreeSet::new();
    let ours = [
        "cells",
        "multigresclusters",
        "shards",
        "tablegroups",
        "toposervers",
    ];
    rights(&mut out, "multigres.com", &ours, READ);
    let status: Vec<String> = ours.iter().map(|r| format!("{r}/status")).collect();
    let status: Vec<&str> = status.iter().map(String::as_str).collect();
    rights(
        &mut out,
        "multigres.com",
        &status,
        &["get", "patch", "update"],
    );
    rights(
        &mut out,
        "multigres.com",
        &["coretemplates", "celltemplates", "shardtemplates"],
        READ,
    );
    rights(&mut out, "", &["events"], &["create", "patch"]);
    rights(&mut out, "events.k8s.io", &["events"], &["create", "patch"]);
    rights(
        &mut out,
        "",
        &["pods", "persistentvolumeclaims", "secrets"],
        ALL,
    );
    rights(&mut out, "", &["configmaps", "services"], READ);
    rights(&mut out, "apps", &["deployments", "statefulsets"], READ);
    rights(&mut out, "policy", &["poddisruptionbudgets"], READ);
    rights(&mut out, "", &["nodes"], READ);
    rights(&mut out, "storage.k8s.io", &["storageclasses"], READ);
    rights(
        &mut out,
        "multigres.com",
        &["multigresclusters/finalizers", "shards/finalizers"],
        &["update"],
    );
    rights(
        &mut out,
        "multigres.com",
        &["multigresclusters", "shards"],
        &["patch", "update"],
    );
    if mode == "full" {
        rights(
            &mut out,
            "multigres.com",
            &["cells", "tablegroups", "shards", "toposervers"],
            CHANGE,
        );
        rights(&mut out, "", &["configmaps", "services"], CHANGE);
        rights(&mut out, "apps", &["deployments", "statefulsets"], CHANGE);
        rights(&mut out, "policy", &["poddisruptionbudgets"], CHANGE);
        rights(&mut out, "cert-manager.io", &["certificates"], ALL);
    }
    out
}

/// What the leader-election Role grants in the operator's namespace.
fn leader_election_contract() -> BTreeSet<Right> {
    let mut out = BTreeSet::new();
    rights(&mut out, "coordination.k8s.io", &["leases"], ALL);
    rights(&mut out, "", &["events"], &["create", "patch"]);
    out
}

/// Rights the operator of `mode` must not have, each of which would matter.
fn refusals(mode: &str) -> Vec<(&'static str, &'static str, &'static str)> {
    let mut out = vec![
        ("", "namespaces", "delete"),
        ("rbac.authorization.k8s.io", "clusterroles", "create"),
        ("rbac.authorization.k8s.io", "clusterrolebindings", "create"),
        // A user's cluster is the user's: the operator never creates or
        // deletes one, nor a template.
        ("multigres.com", "multigresclusters", "create"),
        ("multigres.com", "multigresclusters", "delete"),
        ("multigres.com", "shardtemplates", "update"),
        (
            "apiextensions.k8s.io",
            "customresourcedefinitions",
            "update",
        ),
        ("", "nodes", "patch"),
        ("", "pods/exec", "create"),
        ("", "serviceaccounts/token", "create"),
        ("", "secrets", "deletecollection"),
    ];
    if mode == "runtime" {
        out.extend([
            ("apps", "deployments", "patch"),
            ("apps", "statefulsets", "patch"),
            ("", "services", "patch"),
            ("", "configmaps", "patch"),
            ("policy", "poddisruptionbudgets", "create"),
            ("multigres.com", "cells", "create"),
            ("multigres.com", "shards", "delete"),
            ("cert-manager.io", "certificates", "create"),
            ("cert-manager.io", "certificates", "get"),
        ]);
    }
    out
}

/// The (group, resource, verb) triples the rules grant.
fn granted(rules: &[PolicyRule]) -> BTreeSet<Right> {
    let mut out = BTreeSet::new();
    for rule in rules {
        assert!(
            rule.resource_names.is_none() && rule.non_resource_urls.is_none(),
            "{rule:?}"
        );
        for group in rule.api_groups.iter().flatten() {
            for resource in rule.resources.iter().flatten() {
                for verb in &rule.verbs {
                    out.insert((group.clone(), resource.clone(), verb.clone()));
                }
            }
        }
    }
    out
}

fn start() -> Option<&'static ControlPlane> {
    if !tools::require_tool("kubectl") {
        return None;
    }
    control_plane()
}

/// `multigres install operator ... | kubectl apply --server-side -f -`, as
/// docs/operator.md says.
pub(crate) fn apply(plane: &ControlPlane, yaml: &str) {
    let mut child = plane
        .kubectl()
        .args(["apply", "--server-side", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(yaml.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "kubectl apply --server-side refuses the install:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Whether the API server lets the installed ServiceAccount of `operator`
/// (its namespace) do `verb` on `resource` (`name/subresource` allowed) of
/// `group` in `namespace` (`None`: cluster-scoped).
async fn allowed(
    client: &kube::Client,
    operator: &str,
    namespace: Option<&str>,
    (group, resource, verb): (&str, &str, &str),
) -> bool {
    let (resource, subresource) = match resource.split_once('/') {
        Some((r, s)) => (r, Some(s.to_owned())),
        None => (resource, None),
    };
    let review = SubjectAccessReview {
        spec: SubjectAccessReviewSpec {
            user: Some(format!(
                "system:serviceaccount:{operator}:{SERVICE_ACCOUNT}"
            )),
            groups: Some(vec![
                "system:serviceaccounts".into(),
                format!("system:serviceaccounts:{operator}"),
                "system:authenticated".into(),
            ]),
            resource_attributes: Some(ResourceAttributes {
                group: Some(group.into()),
                resource: Some(resource.into()),
                subresource,
                verb: Some(verb.into()),
                namespace: namespace.map(str::to_owned),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    let answer = Api::<SubjectAccessReview>::all(client.clone())
        .create(&PostParams::default(), &review)
        .await
        .unwrap();
    answer.status.is_some_and(|s| s.allowed)
}

/// [`allowed`], asked until it says `expected` (the authorizer's caches
/// follow an apply within moments) or ten seconds pass; the last answer.
async fn settles_to(
    client: &kube::Client,
    operator: &str,
    namespace: Option<&str>,
    right: (&str, &str, &str),
    expected: bool,
) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let answer = allowed(client, operator, namespace, right).await;
        if answer == expected || Instant::now() > deadline {
            return answer;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Cluster-scoped resources of the contract; the others are asked about in
/// a namespace the operator does not live in.
const CLUSTER_SCOPED: &[&str] = &["nodes", "storageclasses", "namespaces", "clusterroles"];

/// Both modes in turn on one control plane (the ClusterRole and its binding
/// are cluster-wide and named the same in both modes: switching modes is an
/// apply of the other mode's output). Every object is accepted; the live
/// rules grant exactly the contract; the API server's authorizer grants
/// every right of it and refuses the rights that matter; the Deployment's
/// pod is admitted in the operator's namespace, which enforces the
/// restricted Pod Security level.
#[tokio::test]
async fn each_mode_installs_and_its_service_account_holds_exactly_the_contract() {
    let Some(plane) = start() else { return };
    let _cluster_wide = CLUSTER_WIDE.lock().await;
    let client = plane.client().await;
    let operator = plane.namespace(&client, "operator").await;
    let tenant = plane.namespace(&client, "tenant").await;
    for mode in ["full", "runtime", "full"] {
        apply(plane, &install(mode, &operator.name));

        let role = Api::<ClusterRole>::all(client.clone())
            .get(SERVICE_ACCOUNT)
            .await
            .unwrap();
        assert_eq!(
            granted(role.rules.as_deref().unwrap_or_default()),
            cluster_contract(mode),
            "{mode}: the live ClusterRole grants other rights than the contract"
        );
        let election = Api::<Role>::namespaced(client.clone(), &operator.name)
            .get("multigres-operator-leader-election")
            .await
            .unwrap();
        assert_eq!(
            granted(election.rules.as_deref().unwrap_or_default()),
            leader_election_contract(),
            "{mode}"
        );

        let mut wrong = Vec::new();
        for (group, resource, verb) in cluster_contract(mode) {
            let right = (group.as_str(), resource.as_str(), verb.as_str());
            let namespace = (!CLUSTER_SCOPED.contains(&right.1)).then_some(tenant.name.as_str());
            if !settles_to(&client, &operator.name, namespace, right, true).await {
                wrong.push(format!("refused: {verb} {group}/{resource}"));
            }
        }
        for (group, resource, verb) in leader_election_contract() {
            let right = (group.as_str(), resource.as_str(), verb.as_str());
            if !settles_to(&client, &operator.name, Some(&operator.name), right, true).await {
                wrong.push(format!(
                    "refused in its namespace: {verb} {group}/{resource}"
                ));
            }
        }
        // The lease is the operator's namespace's only.
        let lease = ("coordination.k8s.io", "leases", "create");
        if settles_to(&client, &operator.name, Some(&tenant.name), lease, false).await {
            wrong.push("granted: create leases in another namespace".into());
        }
        for right in refusals(mode) {
            let namespace = (!CLUSTER_SCOPED.contains(&right.1)).then_some(tenant.name.as_str());
            if settles_to(&client, &operator.name, namespace, right, false).await {
                wrong.push(format!("granted: {} {}/{}", right.2, right.0, right.1));
            }
        }
        assert!(wrong.is_empty(), "{mode}: {wrong:#?}");

        // The ReplicaSet controller creates the pod of this mode: admitted
        // under the restricted level its namespace enforces.
        let pods = Api::<Pod>::namespaced(client.clone(), &operator.name);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let listed = pods
                .list(&ListParams::default().labels("app.kubernetes.io/name=multigres-operator"))
                .await
                .unwrap();
            let of_mode = listed.items.iter().any(|pod| {
                pod.metadata.deletion_timestamp.is_none()
                    && pod.spec.as_ref().is_some_and(|spec| {
                        spec.containers[0]
                            .args
                            .as_ref()
                            .is_some_and(|args| args.iter().any(|a| a == mode))
                    })
            });
            if of_mode {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{mode}: no pod of the Deployment after a minute; events:\n{}",
                events(plane, &operator.name)
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

fn events(plane: &ControlPlane, namespace: &str) -> String {
    let output = plane
        .kubectl()
        .args(["get", "events", "-n", namespace])
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The Deployment's pod template, created as a Pod (dry run) in a namespace
/// that enforces the restricted level, is admitted by Pod Security
/// Admission; the same pod with one of its protections taken away is
/// refused, so the admission is really judging.
#[tokio::test]
async fn the_pod_template_meets_the_restricted_pod_security_level() {
    let Some(plane) = start() else { return };
    let client = plane.client().await;
    let namespace = plane.namespace(&client, "restricted").await;
    let objects = documents(&install("runtime", &namespace.name));
    // The install's own Namespace object carries the enforcement; its
    // ServiceAccount is the pod's.
    let namespace_object = find(&objects, "Namespace");
    assert_eq!(
        namespace_object["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
        "restricted"
    );
    let yaml: String = [namespace_object, find(&objects, "ServiceAccount")]
        .iter()
        .map(|o| format!("---\n{}", multigres::compile::emit::yaml(o)))
        .collect();
    apply(plane, &yaml);

    let template = &find(&objects, "Deployment")["spec"]["template"];
    let pod_of = |spec: &Value| -> Pod {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "template", "labels": template["metadata"]["labels"]},
            "spec": spec,
        }))
        .unwrap()
    };
    let pods = Api::<Pod>::namespaced(client.clone(), &namespace.name);
    let dry_run = PostParams {
        dry_run: true,
        ..Default::default()
    };
    let mut spec = template["spec"].clone();
    if let Err(e) = pods.create(&dry_run, &pod_of(&spec)).await {
        panic!("the restricted level refuses the operator's pod: {e}");
    }
    spec["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = Value::Bool(true);
    let refused = pods.create(&dry_run, &pod_of(&spec)).await;
    let message = match refused {
        Ok(_) => panic!("the namespace does not enforce the restricted level"),
        Err(e) => e.to_string(),
    };
    assert!(
        message.contains("restricted") && message.contains("allowPrivilegeEscalation"),
        "{message}"
    );
}
