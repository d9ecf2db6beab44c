//! The CEL rules of `crds/` (evaluated by a real CEL engine, kube-cel) and
//! their Rust equivalents in `multigres::api::rules` (used by the offline
//! validator) must never disagree.
//!
//! Every MultigresCluster, CoreTemplate, CellTemplate and ShardTemplate in the
//! invalid corpus (`tests/invalid/`, including the previous versions) and in
//! the examples (`examples/`) is judged both ways, on create and — for the
//! corpus cases with `# previous:` — on update against its previous version.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use kube_cel::{CompiledSchema, ErrorKind, ValidationError, Validator, compile_schema};
use multigres::api::{Kind, crd, rules};
use multigres::compile::Input;
use multigres::compile::diagnostics::WRONG_TYPE;
use multigres::compile::load::{self, LoadedObject};
use multigres::compile::path::{FieldPath, Segment};
use multigres::compile::schema::admit;
use multigres::compile::yaml::{Limits, parse_stream};
use serde_json::Value;

/// The kinds users write; child kinds are generated and never judged here.
const KINDS: [Kind; 4] = [
    Kind::MultigresCluster,
    Kind::CoreTemplate,
    Kind::CellTemplate,
    Kind::ShardTemplate,
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read_text(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The CRD of `kind` as committed in `crds/` (read from disk, not generated).
fn crd_file(kind: Kind) -> Value {
    let path = root()
        .join("crds")
        .join(format!("multigres.com_{}.yaml", crd::plural(kind)));
    let mut docs = parse_stream(&read_text(&path), &Limits::default())
        .unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
    assert_eq!(docs.len(), 1, "{} holds one CRD", path.display());
    docs.remove(0).value
}

/// The `openAPIV3Schema` of the v1alpha1 version of `kind`'s CRD.
fn schema_of(crd: &Value) -> Value {
    crd.pointer("/spec/versions")
        .and_then(Value::as_array)
        .and_then(|versions| versions.iter().find(|v| v["name"] == "v1alpha1"))
        .and_then(|v| v.pointer("/schema/openAPIV3Schema"))
        .cloned()
        .expect("the CRD has a v1alpha1 schema")
}

/// The compiled schema of each judged kind, built once.
fn compiled() -> &'static BTreeMap<Kind, CompiledSchema> {
    static COMPILED: OnceLock<BTreeMap<Kind, CompiledSchema>> = OnceLock::new();
    COMPILED.get_or_init(|| {
        KINDS
            .into_iter()
            .map(|kind| {
                let compiled = compile_schema(&schema_of(&crd_file(kind)));
                let errors: Vec<String> = compiled
                    .compilation_errors()
                    .iter()
                    .map(|e| format!("{e:?}"))
                    .collect();
                assert!(
                    errors.is_empty(),
                    "kube-cel cannot compile the rules of {}: {errors:#?}",
                    kind.name()
                );
                (kind, compiled)
            })
            .collect()
    })
}

/// A field path as kube-cel spells it: `spec.cells[0].zoneId`, map keys
/// joined with dots and never quoted.
fn kube_path(path: &FieldPath) -> String {
    let mut out = String::new();
    for segment in &path.0 {
        match segment {
            Segment::Key(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// The API server drops nulls of non-nullable fields before defaulting and
/// validation (our schemas mark nothing nullable); kube-cel does not, so the
/// oracle does it first. `admit` prunes them the same way.
fn prune_nulls(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), prune_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(prune_nulls).collect()),
        other => other.clone(),
    }
}

/// One rule that rejected one node: (message, field path).
type Rejection = (String, String);

/// What the two sides said about one object.
struct Verdicts {
    ours: Vec<Rejection>,
    cel: Vec<Rejection>,
    /// kube-cel results left out of the comparison, with the reason.
    excluded: Vec<String>,
}

/// Judges `object` (as an update of `old`, when given) both ways.
///
/// On update, kube-cel pairs list items with their old versions by index,
/// while the API server and `admit` pair items of `x-kubernetes-list-type:
/// map` lists by their keys. The two agree as long as the items keep their
/// order, which every transition case of the corpus does; a case that
/// reorders items would compare kube-cel's pairing, not the API server's.
fn judge(kind: Kind, object: &Value, old: Option<&Value>) -> Result<Verdicts, String> {
    let admitted = admit(kind, object, old);
    // Compared by the node the rule sits on, as the API server reports it;
    // the diagnostic points at the value inside that node that breaks the
    // rule (`rules::culprit`), which must lie within it.
    let rule_findings = admitted
        .findings
        .iter()
        .filter(|f| f.code.starts_with("MG1"));
    if let Some(f) = rule_findings
        .clone()
        .find(|f| !f.node.is_prefix_of(&f.path))
    {
        return Err(format!(
            "{} is reported at {}, outside the node {} its rule sits on",
            f.code, f.path, f.node
        ));
    }
    let mut ours: Vec<Rejection> = rule_findings
        .map(|f| (f.message.clone(), kube_path(&f.node)))
        .collect();
    // Paths whose value has the wrong type: our validator does not evaluate
    // rules on (or through) a node of the wrong type, it reports MG011 there.
    let ill_typed: Vec<String> = admitted
        .findings
        .iter()
        .filter(|f| f.code == WRONG_TYPE)
        .map(|f| kube_path(&f.path))
        .collect();

    let object = prune_nulls(object);
    let old = old.map(prune_nulls);
    let results = Validator::new()
        .validate_compiled(&compiled()[&kind], &object, old.as_ref())
        .err()
        .map(kube_cel::ValidationErrors::into_vec)
        .unwrap_or_default();
    let mut cel = Vec::new();
    let mut excluded = Vec::new();
    for result in results {
        let known = rules::by_text(&result.rule);
        match (&result.kind, known) {
            (ErrorKind::ValidationFailure, _) => {
                cel.push((result.message.clone(), result.field_path.clone()));
            }
            // A rule that errors rejects the object on the API server as
            // surely as one that fails, only with a CEL error instead of the
            // rule's message (§7 row 22: an omitted `default` makes
            // `db.default == true` error). Counted as that rule's rejection...
            (ErrorKind::EvaluationError | ErrorKind::InvalidResult, Some(rule))
                if !touches(&result, &ill_typed) =>
            {
                cel.push((rule.message.to_owned(), result.field_path.clone()));
            }
            // ...except on a node that holds (or is) a value of the wrong
            // type: CEL then errors on the type (e.g. `"4" % 2`), while our
            // validator reports MG011 for it and does not run the rule. Such
            // objects are rejected either way; only these errors are left
            // out, every other rule of the object is still compared.
            (ErrorKind::EvaluationError | ErrorKind::InvalidResult, Some(_)) => {
                excluded.push(format!(
                    "{} at {:?} (ill-typed: {ill_typed:?}): {}",
                    result.rule, result.field_path, result.message
                ));
            }
            _ => {
                return Err(format!(
                    "kube-cel could not evaluate a rule: {}",
                    describe(&result)
                ));
            }
        }
    }
    ours.sort();
    cel.sort();
    Ok(Verdicts {
        ours,
        cel,
        excluded,
    })
}

/// Whether a kube-cel result is about a node at or above an ill-typed value.
fn touches(result: &ValidationError, ill_typed: &[String]) -> bool {
    ill_typed.iter().any(|bad| {
        let node = &result.field_path;
        node.is_empty()
            || bad == node
            || bad
                .strip_prefix(node.as_str())
                .is_some_and(|rest| rest.starts_with(['.', '[']))
    })
}

fn describe(result: &ValidationError) -> String {
    format!(
        "{:?} rule {:?} at {:?}: {}",
        result.kind, result.rule, result.field_path, result.message
    )
}

/// One object to judge, with where it came from.
struct Subject {
    origin: String,
    kind: Kind,
    value: Value,
    old: Option<Value>,
}

fn loaded(name: &str, bytes: Vec<u8>) -> Vec<LoadedObject> {
    let (_, objects, _) = load::load(&[Input::new(name, bytes)], &Default::default());
    objects
}

fn subjects_of(name: &str, objects: Vec<LoadedObject>, previous: &[LoadedObject]) -> Vec<Subject> {
    let mut out = Vec::new();
    for object in objects {
        let Some(kind) = object.kind.filter(|k| KINDS.contains(k)) else {
            continue;
        };
        let origin = format!("{name}: {} {:?}", kind.name(), object.name);
        // The update pairs the previous object of the same kind and name (the
        // compiler's namespace defaulting plays no part inside one case).
        let old = previous.iter().find(|p| {
            p.kind == Some(kind) && p.name == object.name && p.namespace == object.namespace
        });
        if let Some(old) = old {
            out.push(Subject {
                origin: format!("{origin} (update)"),
                kind,
                value: object.value.clone(),
                old: Some(old.value.clone()),
            });
        }
        out.push(Subject {
            origin,
            kind,
            value: object.value,
            old: None,
        });
    }
    out
}

/// Manifest files under `dir`, recursively, sorted.
fn manifests(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            manifests(&path, out);
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
        {
            out.push(path);
        }
    }
}

/// The `# previous:` header of a corpus case, if any.
fn previous_of(text: &str) -> Option<String> {
    text.lines()
        .take_while(|l| l.starts_with('#'))
        .find_map(|l| l.strip_prefix("# previous:"))
        .map(|p| p.trim().to_owned())
}

fn relative(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Every object of the corpus and the examples.
fn subjects() -> Vec<Subject> {
    let mut out = Vec::new();
    let mut files = Vec::new();
    manifests(&root().join("tests/invalid"), &mut files);
    manifests(&root().join("examples"), &mut files);
    for file in files {
        let name = relative(&file);
        let bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("cannot read {name}: {e}"));
        let previous = previous_of(&String::from_utf8_lossy(&bytes))
            .map(|p| {
                let path = root().join("tests/invalid").join(&p);
                let bytes =
                    std::fs::read(&path).unwrap_or_else(|e| panic!("{name}: cannot read {p}: {e}"));
                loaded(&relative(&path), bytes)
            })
            .unwrap_or_default();
        out.extend(subjects_of(&name, loaded(&name, bytes), &previous));
    }
    out
}

#[test]
fn crd_rules_and_rust_rules_agree_on_every_object() {
    let subjects = subjects();
    let mut disagreements = Vec::new();
    let mut rejected_by: BTreeMap<String, usize> = BTreeMap::new();
    for subject in &subjects {
        match judge(subject.kind, &subject.value, subject.old.as_ref()) {
            Ok(verdicts) => {
                for (message, _) in &verdicts.cel {
                    *rejected_by.entry(message.clone()).or_default() += 1;
                }
                for excluded in &verdicts.excluded {
                    // Listed, never silent (see `judge`).
                    eprintln!("left out: {}: {excluded}", subject.origin);
                }
                if verdicts.ours != verdicts.cel {
                    disagreements.push(format!(
                        "{}\n  crds/ (kube-cel): {:?}\n  api::rules:       {:?}",
                        subject.origin, verdicts.cel, verdicts.ours
                    ));
                }
            }
            Err(e) => disagreements.push(format!("{}\n  {e}", subject.origin)),
        }
    }
    assert!(
        disagreements.is_empty(),
        "the CEL rules and their Rust equivalents disagree on {} of {} objects:\n{}",
        disagreements.len(),
        subjects.len(),
        disagreements.join("\n")
    );
    // The comparison means something only if every rule rejected something.
    let unexercised: Vec<String> = rules::ALL
        .iter()
        .filter(|r| !rejected_by.contains_key(r.message))
        .map(|r| format!("{} ({})", r.code, r.message))
        .collect();
    assert!(
        unexercised.is_empty(),
        "no object of tests/invalid/ or examples/ is rejected by: {unexercised:#?}"
    );
}

#[test]
fn every_crd_rule_is_known_to_api_rules() {
    fn walk(node: &Value, at: &str, out: &mut Vec<(String, String, String)>) {
        match node {
            Value::Object(map) => {
                if let Some(Value::Array(entries)) = map.get("x-kubernetes-validations") {
                    for entry in entries {
                        out.push((
                            at.to_owned(),
                            entry["rule"].as_str().unwrap_or_default().to_owned(),
                            entry["message"].as_str().unwrap_or_default().to_owned(),
                        ));
                    }
                }
                for (key, child) in map {
                    walk(child, &format!("{at}/{key}"), out);
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    walk(child, &format!("{at}/{i}"), out);
                }
            }
            _ => {}
        }
    }
    let mut found = Vec::new();
    let mut files = Vec::new();
    manifests(&root().join("crds"), &mut files);
    assert_eq!(files.len(), Kind::ALL.len(), "crds/ holds one CRD per kind");
    for file in &files {
        let docs = parse_stream(&read_text(file), &Limits::default())
            .unwrap_or_else(|e| panic!("{}: {e:?}", file.display()));
        for doc in docs {
            walk(&doc.value, &relative(file), &mut found);
        }
    }
    assert!(!found.is_empty(), "no x-kubernetes-validations in crds/");
    let mut problems = Vec::new();
    for (at, text, message) in &found {
        match rules::by_text(text) {
            None => problems.push(format!("{at}: unknown rule {text:?}")),
            Some(rule) if rule.message != message => problems.push(format!(
                "{at}: rule {} has message {message:?} in crds/ but {:?} in api::rules",
                rule.code, rule.message
            )),
            Some(_) => {}
        }
    }
    // And every rule of api::rules appears in crds/.
    for rule in rules::ALL {
        if !found.iter().any(|(_, text, _)| text == rule.rule) {
            problems.push(format!(
                "{} ({}) is in no CRD of crds/",
                rule.code, rule.rule
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
