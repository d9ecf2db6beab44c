//! The rendered output on a real API server (the control plane of
//! `testplane/`, see tests/support/testplane.rs): the CRDs install and become
//! Established, every example applies with server-side apply under our
//! field manager, a second apply changes nothing (what Argo CD and Flux will
//! see), and `kubectl diff --server-side` of the render is empty.
//!
//! Each example is rendered into a namespace of its own (its inputs without
//! their `metadata.namespace`, rendered with that namespace), since several
//! examples share object names in `default`. The committed golden files are
//! also applied as they are, byte for byte, one after the other.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::GroupVersionKind;
use kube::discovery::Discovery;
use multigres::compile::{self, Input, InputLimits, Options};
use multigres::input_files::Budget;
use serde_json::Value;

use crate::support::testplane::{ControlPlane, control_plane};
use crate::support::tools;

/// The field manager of `multigres reconcile --mode full` (issue 11), and of
/// these applies.
const FIELD_MANAGER: &str = "multigres-operator";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Installs crds/ and the cert-manager stand-in once per control plane,
/// and waits until every CRD is Established.
fn install_crds(plane: &ControlPlane) {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        for path in [
            repo().join("crds"),
            repo().join("tests/data/cert-manager-certificate-crd.yaml"),
        ] {
            let output = plane
                .kubectl()
                .args([
                    "apply",
                    "--server-side",
                    "--field-manager",
                    FIELD_MANAGER,
                    "-f",
                ])
                .arg(&path)
                .output()
                .unwrap();
            assert!(
                output.status.success(),
                "kubectl apply -f {}: {}",
                path.display(),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let output = plane
            .kubectl()
            .args([
                "wait",
                "--for",
                "condition=Established",
                "crd",
                "--all",
                "--timeout=120s",
            ])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    });
}

pub(crate) fn start() -> Option<&'static ControlPlane> {
    if !tools::require_tool("kubectl") {
        return None;
    }
    let plane = control_plane()?;
    install_crds(plane);
    Some(plane)
}

#[tokio::test]
async fn crds_install_and_become_established() {
    let Some(plane) = start() else { return };
    let client = plane.client().await;
    let crds = Api::<CustomResourceDefinition>::all(client.clone());
    let mut ours = Vec::new();
    for crd in crds.list(&Default::default()).await.unwrap() {
        if crd.spec.group != "multigres.com" {
            continue;
        }
        let established = crd
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .into_iter()
            .flatten()
            .any(|c| c.type_ == "Established" && c.status == "True");
        assert!(established, "{} is not Established", crd.spec.names.kind);
        ours.push(crd.spec.names.kind.clone());
    }
    ours.sort();
    assert_eq!(
        ours,
        [
            "Cell",
            "CellTemplate",
            "CoreTemplate",
            "MultigresCluster",
            "Shard",
            "ShardTemplate",
            "TableGroup",
            "TopoServer"
        ]
    );
}

/// The example's input files, without `metadata.namespace`, each object
/// passed through `edit`.
pub(crate) fn example_inputs(example: &str, edit: &dyn Fn(&mut Value)) -> Vec<Input> {
    // Read as render reads a directory.
    let dir = repo().join("examples").join(example);
    let mut budget = Budget::new(InputLimits::default().max_input_bytes);
    let read = multigres::input_files::read_paths(&[dir], &mut budget).unwrap();
    read.inputs
        .iter()
        .map(|input| {
            let text = std::str::from_utf8(&input.bytes).unwrap();
            let documents: Vec<String> = compile::yaml::parse_stream(text, &Default::default())
                .unwrap()
                .into_iter()
                .filter(|d| !d.value.is_null())
                .map(|d| {
                    let mut value = d.value;
                    if let Some(metadata) = value.get_mut("metadata").and_then(Value::as_object_mut)
                    {
                        metadata.remove("namespace");
                    }
                    edit(&mut value);
                    compile::emit::yaml(&value)
                })
                .collect();
            Input::new(input.name.clone(), documents.join("---\n"))
        })
        .collect()
}

/// Every example, rendered into `namespace`.
pub(crate) fn render(example: &str, namespace: &str) -> Vec<compile::Object> {
    render_edited(example, namespace, &|_| {})
}

pub(crate) fn render_edited(
    example: &str,
    namespace: &str,
    edit: &dyn Fn(&mut Value),
) -> Vec<compile::Object> {
    let options = Options {
        namespace: Some(namespace.to_owned()),
        ..Default::default()
    };
    match compile::compile(&example_inputs(example, edit), &options) {
        Ok(bundle) => bundle.objects,
        Err(diagnostics) => panic!("{example} does not render:\n{diagnostics}"),
    }
}

/// An object of the render as the API server serves it.
pub(crate) fn api_for(
    client: &kube::Client,
    discovery: &Discovery,
    object: &compile::Object,
) -> Api<DynamicObject> {
    let (group, version) = object
        .api_version
        .rsplit_once('/')
        .unwrap_or(("", &object.api_version));
    let gvk = GroupVersionKind::gvk(group, version, &object.kind);
    let (resource, _) = discovery
        .resolve_gvk(&gvk)
        .unwrap_or_else(|| panic!("the API server does not serve {gvk:?}"));
    match &object.namespace {
        Some(namespace) => Api::namespaced_with(client.clone(), namespace, &resource),
        None => Api::all_with(client.clone(), &resource),
    }
}

async fn apply(api: &Api<DynamicObject>, object: &compile::Object) -> DynamicObject {
    api.patch(
        &object.name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&object.value),
    )
    .await
    .unwrap_or_else(|e| {
        panic!(
            "the API server refuses {} {}: {e}",
            object.kind, object.name
        )
    })
}

/// Applies every object again and returns those the apply changed: a new
/// generation (a spec write), or a new resourceVersion that the apply itself
/// made. Controllers write status meanwhile (the Deployment controller, the
/// PV binder), which also moves the resourceVersion; when the status or the
/// annotations moved between the read and the apply, the object is read and
/// applied again, a few times, until a try is clean.
async fn reapply_changes(
    client: &kube::Client,
    discovery: &Discovery,
    objects: &[compile::Object],
) -> Vec<String> {
    let mut changed = Vec::new();
    for object in objects {
        let api = api_for(client, discovery, object);
        let first = api.get(&object.name).await.unwrap();
        let mut wrote = true;
        for _ in 0..5 {
            let before = api.get(&object.name).await.unwrap();
            let after = apply(&api, object).await;
            if before.metadata.resource_version == after.metadata.resource_version {
                wrote = false;
                break;
            }
            // A controller's write shows in what controllers write (status,
            // annotations the render does not set); anything else is the
            // apply's own.
            let ours = object
                .value
                .pointer("/metadata/annotations")
                .and_then(Value::as_object);
            let theirs = |annotations: &Option<BTreeMap<String, String>>| {
                annotations
                    .clone()
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|(key, _)| !ours.is_some_and(|ours| ours.contains_key(key)))
                    .collect::<BTreeMap<_, _>>()
            };
            let by_controller = before.data.get("status") != after.data.get("status")
                || theirs(&before.metadata.annotations) != theirs(&after.metadata.annotations);
            if !by_controller {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        }
        let after = api.get(&object.name).await.unwrap();
        if wrote || first.metadata.generation != after.metadata.generation {
            changed.push(format!("{} {}", object.kind, object.name));
        }
    }
    changed
}

/// The examples golden.rs renders, each with the flags it needs.
pub(crate) const EXAMPLES: &[&str] = &[
    "default-templates",
    "external-etcd",
    "minimal",
    "no-namespace",
    "no-templates",
    "overrides",
    "secured",
    "templated",
    "topology",
    "two-cells",
];

#[tokio::test]
async fn every_example_applies_and_a_second_apply_changes_nothing() {
    let Some(plane) = start() else { return };
    let client = plane.client().await;
    let discovery = Discovery::new(client.clone()).run().await.unwrap();
    for example in EXAMPLES {
        let namespace = plane.namespace(&client, example).await;
        let objects = render(example, &namespace.name);
        for object in &objects {
            apply(&api_for(&client, &discovery, object), object).await;
        }
        // What Argo CD and Flux do on every sync: apply the same render.
        let changed = reapply_changes(&client, &discovery, &objects).await;
        let unexplained: Vec<&String> = changed
            .iter()
            .filter(|c| !c.starts_with("PersistentVolumeClaim "))
            .collect();
        assert!(
            unexplained.is_empty(),
            "{example}: a second apply of the same render changed {unexplained:?}"
        );
        // Kubernetes 1.34 writes a PersistentVolumeClaim once more on its
        // first update, whatever the apply holds: the resourceVersion moves
        // and nothing else does (measured with kubectl alone: a claim of
        // two fields, applied twice; the third apply writes nothing). From
        // the third apply on, nothing may change at all.
        let changed = reapply_changes(&client, &discovery, &objects).await;
        assert!(
            changed.is_empty(),
            "{example}: a third apply of the same render changed {changed:?}"
        );

        // What Argo CD's server-side diff shows: nothing. kubectl reads the
        // live object and then asks for the merged one, so a controller's
        // status write in between shows as a diff of status alone: such a
        // diff is tried again, a persistent one fails.
        let file = tempfile::NamedTempFile::new().unwrap();
        let mut text = Vec::new();
        compile::emit::write_yaml(&objects, &mut text).unwrap();
        std::fs::write(file.path(), text).unwrap();
        let mut diff = kubectl_diff(plane, file.path());
        for _ in 0..5 {
            if diff.status.success() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            diff = kubectl_diff(plane, file.path());
        }
        assert!(
            diff.status.success(),
            "{example}: kubectl diff --server-side is not empty (exit {:?}):\n{}\n{}",
            diff.status.code(),
            String::from_utf8_lossy(&diff.stdout),
            String::from_utf8_lossy(&diff.stderr)
        );
    }
}

/// The schema codes the API server judges too (`MG010`, unknown fields, is
/// left out: server-side apply drops unknown metadata fields silently).
const SCHEMA_CODES: &[&str] = &[
    "MG011", "MG012", "MG013", "MG014", "MG015", "MG016", "MG017", "MG018",
];

/// The objects of our group in a corpus file, in `namespace`.
fn corpus_objects(path: &Path, namespace: &str) -> Vec<compile::Object> {
    let text = std::fs::read_to_string(path).unwrap();
    compile::yaml::parse_stream(&text, &Default::default())
        .unwrap()
        .into_iter()
        .map(|d| d.value)
        .filter(|v| {
            v["apiVersion"]
                .as_str()
                .is_some_and(|a| a.starts_with("multigres.com/"))
        })
        .map(|mut value| {
            value["metadata"]["namespace"] = Value::String(namespace.to_owned());
            object_of(value)
        })
        .collect()
}

/// An object read from a file, as the helpers above take it.
fn object_of(value: Value) -> compile::Object {
    compile::Object {
        api_version: value["apiVersion"].as_str().unwrap().to_owned(),
        kind: value["kind"].as_str().unwrap().to_owned(),
        namespace: value["metadata"]["namespace"].as_str().map(str::to_owned),
        name: value["metadata"]["name"].as_str().unwrap_or("").to_owned(),
        value,
        origin: compile::Origin::Generated {
            cluster: String::new(),
            parent: compile::Parent::Cluster,
        },
        prov: Default::default(),
    }
}

/// CEL parity: every case of the invalid corpus that a CRD rule covers
/// (`MG1xx`, one code per rule of `multigres::api::rules`) is refused by the
/// API server with that rule's message, as `multigres validate` refuses it;
/// transition rules are judged on an update of the case's previous version.
/// The schema cases ([`SCHEMA_CODES`]) are refused too, at the same place.
/// That every valid example is accepted is the test above.
#[tokio::test]
async fn the_api_server_refuses_each_crd_rule_case_of_the_corpus_with_its_rule() {
    let Some(plane) = start() else { return };
    let client = plane.client().await;
    let discovery = Discovery::new(client.clone()).run().await.unwrap();
    let mut judged = 0;
    let mut mismatches = Vec::new();
    for case in crate::invalid::cases() {
        let code = case.expects.first().map_or("", |e| e.code.as_str());
        // A CRD rule's case must be refused with the rule's message; a schema
        // case (wrong type, required, enum, pattern, length, range, count,
        // duplicate) with the server's own words.
        let rule = multigres::api::rules::ALL.iter().find(|r| r.code == code);
        let message = match rule {
            Some(rule) => rule.message,
            None if SCHEMA_CODES.contains(&code) => "",
            None => continue,
        };
        judged += 1;
        let namespace = plane.namespace(&client, "cel").await;
        let path = repo().join(&case.path);
        let previous = case
            .previous
            .as_ref()
            .map(|p| repo().join("tests/invalid").join(p));
        if let Some(previous) = &previous {
            for object in corpus_objects(previous, &namespace.name) {
                apply(&api_for(&client, &discovery, &object), &object).await;
            }
        }
        let mut refusals = Vec::new();
        for object in corpus_objects(&path, &namespace.name) {
            let api = api_for(&client, &discovery, &object);
            let params = PatchParams::apply(FIELD_MANAGER).force().dry_run();
            if let Err(error) = api
                .patch(&object.name, &params, &Patch::Apply(&object.value))
                .await
            {
                refusals.push(error.to_string());
            }
        }
        let name = &case.path;
        // Where `multigres validate` reports it: the field path of its
        // diagnostic. The API server names the node the rule sits on; validate
        // the same node or, where the rule's node is a whole list or map, the
        // value inside it that breaks the rule (its line and column point
        // there too). So the server's path is validate's or a prefix of it.
        let field = validate_field(&path, previous.as_deref(), code);
        let agrees = |refusal: &String| {
            refusal.contains(message)
                && server_fields(refusal)
                    .iter()
                    .any(|server| is_prefix_path(server, &field))
        };
        if !refusals.iter().any(agrees) {
            mismatches.push(format!(
                "{name}: {code} ({message:?}) at {field:?} was not among the API server's answers: {refusals:?}"
            ));
        }
    }
    assert!(judged >= 30, "only {judged} corpus cases name a CRD rule");
    assert!(
        mismatches.is_empty(),
        "the API server and `multigres validate` disagree on {} of {judged} cases:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

/// The field path of `multigres validate`'s diagnostic `code` on a corpus
/// case (with its previous version, if it has one).
fn validate_field(case: &Path, previous: Option<&Path>, code: &str) -> String {
    let input = |path: &Path| Input::new(path.display().to_string(), std::fs::read(path).unwrap());
    let previous: Vec<Input> = previous.map(|p| vec![input(p)]).unwrap_or_default();
    let options = Options {
        namespace: Some("default".into()),
        ..Default::default()
    };
    let diagnostics = match compile::compile_with_previous(&[input(case)], &previous, &options) {
        Ok(_) => panic!("{} compiles", case.display()),
        Err(diagnostics) => diagnostics,
    };
    diagnostics
        .0
        .iter()
        .find(|d| d.code == code)
        .and_then(|d| d.subject.as_ref())
        .map(|s| s.field.clone())
        .unwrap_or_else(|| panic!("{}: no {code} with a field", case.display()))
}

/// The field paths of an API server refusal (`field: "spec.cells[0]"` in
/// its causes), in validate's notation: map keys as `.key` rather than the
/// server's `[key]`, and the object itself (`<nil>`) as the empty path.
fn server_fields(refusal: &str) -> Vec<String> {
    // Server-side apply refuses a patch that does not fit the schema's
    // types before validation, naming the path in its message:
    // `failed to create typed patch object (...): .spec.cells: duplicate ...`.
    let typed_patch = refusal
        .split_once("failed to create typed patch object (")
        .and_then(|(_, rest)| rest.split_once("): ."))
        .and_then(|(_, rest)| rest.split_once(": "))
        .map(|(path, _)| path);
    refusal
        .split("field: \"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .chain(typed_patch)
        .map(|path| {
            if path == "<nil>" {
                return String::new();
            }
            let mut out = String::new();
            let mut rest = path;
            while let Some(open) = rest.find('[') {
                out.push_str(&rest[..open]);
                let close = rest[open..].find(']').map_or(rest.len(), |c| open + c);
                let inside = &rest[open + 1..close];
                if inside.parse::<usize>().is_ok() {
                    out.push_str(&rest[open..=close]);
                } else {
                    out.push('.');
                    out.push_str(inside);
                }
                rest = &rest[(close + 1).min(rest.len())..];
            }
            out.push_str(rest);
            out
        })
        .collect()
}

/// Whether `prefix` is `path` or a path above it.
fn is_prefix_path(prefix: &str, path: &str) -> bool {
    prefix.is_empty()
        || path == prefix
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with(['.', '[']))
}

fn kubectl_diff(plane: &ControlPlane, file: &Path) -> std::process::Output {
    plane
        .kubectl()
        .args([
            "diff",
            "--server-side",
            "--field-manager",
            FIELD_MANAGER,
            "-f",
        ])
        .arg(file)
        .output()
        .unwrap()
}

/// A change to the cluster that concerns no child (an annotation of its
/// own) leaves every generated object as it is live: Argo CD and Flux see
/// one changed object, the cluster.
#[tokio::test]
async fn an_unrelated_edit_of_the_cluster_changes_only_the_cluster() {
    let Some(plane) = start() else { return };
    let client = plane.client().await;
    let discovery = Discovery::new(client.clone()).run().await.unwrap();
    let namespace = plane.namespace(&client, "edit").await;
    let objects = render("two-cells", &namespace.name);
    for object in &objects {
        apply(&api_for(&client, &discovery, object), object).await;
    }
    let edited = render_edited("two-cells", &namespace.name, &|value| {
        if value["kind"] == "MultigresCluster" {
            value["metadata"]["annotations"]["example.com/owner"] = "team-a".into();
        }
    });
    assert_eq!(edited.len(), objects.len());
    let changed = reapply_changes(&client, &discovery, &edited).await;
    let expected: Vec<String> = objects
        .iter()
        .filter(|o| o.kind == "MultigresCluster")
        .map(|o| format!("{} {}", o.kind, o.name))
        .collect();
    let unexpected: Vec<&String> = changed
        .iter()
        .filter(|c| !c.starts_with("PersistentVolumeClaim ") && !expected.contains(c))
        .collect();
    assert!(unexpected.is_empty(), "the edit changed {unexpected:?}");
    assert_eq!(
        changed
            .iter()
            .filter(|c| c.starts_with("MultigresCluster "))
            .collect::<Vec<_>>(),
        expected.iter().collect::<Vec<_>>()
    );
}

/// The documents of a golden file that kubectl applies, as the text of a
/// YAML stream (the committed bytes of each), and their objects: all but
/// those marked `config.kubernetes.io/local-config: "true"` (the runtime
/// preview), which kpt, kustomize and Argo CD never apply either.
fn applied_documents(text: &str) -> (String, Vec<compile::Object>) {
    // A golden file separates its documents with `---` lines; no block
    // scalar holds one at column 0 (it would be indented).
    let mut documents = vec![String::new()];
    for line in text.split_inclusive('\n') {
        if line.trim_end() == "---" {
            documents.push(String::new());
        }
        documents.last_mut().unwrap().push_str(line);
    }
    let mut kept = String::new();
    let mut objects = Vec::new();
    for document in documents {
        let mut values: Vec<Value> = compile::yaml::parse_stream(&document, &Default::default())
            .unwrap()
            .into_iter()
            .map(|d| d.value)
            .filter(|v| !v.is_null())
            .collect();
        assert!(values.len() <= 1, "a document split badly:\n{document}");
        let Some(value) = values.pop() else { continue };
        let local = value.pointer("/metadata/annotations/config.kubernetes.io~1local-config")
            == Some(&Value::String("true".into()));
        if !local {
            kept.push_str(&document);
            objects.push(object_of(value));
        }
    }
    (kept, objects)
}

fn kubectl_ok(plane: &ControlPlane, args: &[&str], file: &Path) {
    let output = plane.kubectl().args(args).arg(file).output().unwrap();
    assert!(
        output.status.success(),
        "kubectl {} {}: {}",
        args.join(" "),
        file.display(),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The acceptance of issue 10 as a GitOps tool sees it: every committed
/// `golden/*/render.yaml`, byte for byte, applies with server-side apply;
/// applying it again moves no object's generation or resourceVersion; and
/// `kubectl diff --server-side` of it is empty. The golden files reuse
/// names in `default` (and two share `finance`), so each is applied into
/// the namespaces it names, checked, and deleted with them before the next.
#[tokio::test]
async fn every_golden_file_applies_as_committed_and_a_second_apply_changes_nothing() {
    let Some(plane) = start() else { return };
    let client = plane.client().await;
    let discovery = Discovery::new(client.clone()).run().await.unwrap();
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let mut goldens: Vec<PathBuf> = std::fs::read_dir(repo().join("golden"))
        .unwrap()
        .map(|entry| entry.unwrap().path().join("render.yaml"))
        .filter(|path| path.exists())
        .collect();
    goldens.sort();
    assert!(goldens.len() >= 10, "golden files: {goldens:?}");
    let mut previews = 0;
    for golden in &goldens {
        let name = golden
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy();
        // Guards print the control plane's logs if a check fails.
        let _logs = plane.namespace(&client, &format!("golden-{name}")).await;
        let text = std::fs::read_to_string(golden).unwrap();
        let (applied, objects) = applied_documents(&text);
        let scratch = tempfile::NamedTempFile::new().unwrap();
        let file = if applied == text {
            golden.as_path()
        } else {
            previews += 1;
            std::fs::write(scratch.path(), &applied).unwrap();
            scratch.path()
        };
        let mut created = Vec::new();
        let wanted: BTreeSet<&str> = objects
            .iter()
            .filter_map(|o| o.namespace.as_deref())
            .collect();
        for namespace in wanted {
            if namespaces.get_opt(namespace).await.unwrap().is_none() {
                let object: Namespace =
                    serde_json::from_value(serde_json::json!({"metadata": {"name": namespace}}))
                        .unwrap();
                let made = namespaces
                    .create(&Default::default(), &object)
                    .await
                    .unwrap();
                created.push((namespace.to_owned(), made.metadata.uid.unwrap()));
            }
        }

        kubectl_ok(
            plane,
            &[
                "apply",
                "--server-side",
                "--field-manager",
                FIELD_MANAGER,
                "-f",
            ],
            file,
        );
        // A second apply; the PersistentVolumeClaim's one-time rewrite
        // (see every_example_applies_and_a_second_apply_changes_nothing)
        // is allowed once, then nothing may move.
        let changed = reapply_changes(&client, &discovery, &objects).await;
        let unexplained: Vec<&String> = changed
            .iter()
            .filter(|c| !c.starts_with("PersistentVolumeClaim "))
            .collect();
        assert!(
            unexplained.is_empty(),
            "{name}: a second apply of the golden file changed {unexplained:?}"
        );
        let changed = reapply_changes(&client, &discovery, &objects).await;
        assert!(
            changed.is_empty(),
            "{name}: a third apply of the golden file changed {changed:?}"
        );
        let mut diff = kubectl_diff(plane, file);
        for _ in 0..5 {
            if diff.status.success() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            diff = kubectl_diff(plane, file);
        }
        assert!(
            diff.status.success(),
            "{name}: kubectl diff --server-side is not empty (exit {:?}):\n{}\n{}",
            diff.status.code(),
            String::from_utf8_lossy(&diff.stdout),
            String::from_utf8_lossy(&diff.stderr)
        );

        // Gone, dependents too, before the next golden file reuses the names.
        kubectl_ok(
            plane,
            &[
                "delete",
                "--cascade=foreground",
                "--wait",
                "--timeout=120s",
                "-f",
            ],
            file,
        );
        for (namespace, uid) in created {
            namespaces
                .delete(&namespace, &Default::default())
                .await
                .unwrap();
            let gone = kube::runtime::wait::await_condition(
                namespaces.clone(),
                &namespace,
                kube::runtime::wait::conditions::is_deleted(&uid),
            );
            tokio::time::timeout(std::time::Duration::from_secs(120), gone)
                .await
                .unwrap_or_else(|_| panic!("{name}: namespace {namespace} still there after 2 min"))
                .unwrap();
        }
    }
    assert!(previews >= 1, "no golden file holds a runtime preview");
}
