//! The Flux health checks in `docs/flux/health-check-exprs.yaml`: CEL
//! expressions for a Kustomization's `spec.healthCheckExprs` (Flux 2.5+),
//! evaluated by a real CEL interpreter (the `cel` crate) the way Flux's
//! kustomize-controller does (fluxcd/pkg `runtime/cel`):
//!
//! 1. `status.observedGeneration` present and different from
//!    `metadata.generation`: InProgress (either not an integer: an error);
//! 2. `inProgress`, then `failed`, then `current`: the first that is true
//!    decides; none true: InProgress;
//! 3. the expressions see the object's top-level fields as variables, so an
//!    object without `status` makes `status.x` an error; Flux then reports
//!    Unknown and keeps waiting, like InProgress.
//!
//! Every expression is evaluated against every recorded object of the Argo
//! CD checks (`docs/argocd/resource_customizations/multigres.com/*/testdata`),
//! and the verdict must agree with the Argo CD one its `health_test.yaml`
//! expects: Healthy and Suspended are Current (Flux has no Suspended: a
//! cluster waiting for a person to acknowledge new images runs the images it
//! recorded, and InProgress would time the Kustomization out), Degraded is
//! Failed, Progressing is InProgress.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use cel::objects::{Key, Map};
use cel::{Context, Program};
use serde_json::Value;

use crate::argocd_health::{KINDS, Sample, samples};

const EXPRESSIONS: &str = "docs/flux/health-check-exprs.yaml";
const FLUX_DOC: &str = "docs/flux.md";

fn read(relative: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(relative);
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

#[derive(serde::Deserialize, Debug, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct HealthCheckExpr {
    api_version: String,
    kind: String,
    current: String,
    failed: Option<String>,
    in_progress: Option<String>,
}

/// `spec.healthCheckExprs` of the Kustomization in `text` (the file, or a
/// YAML block of the docs).
fn expressions_in(text: &str, at: &str) -> Vec<HealthCheckExpr> {
    let kustomization: Value = serde_saphyr::from_str(text).unwrap_or_else(|e| panic!("{at}: {e}"));
    assert_eq!(
        kustomization["apiVersion"], "kustomize.toolkit.fluxcd.io/v1",
        "{at}"
    );
    assert_eq!(kustomization["kind"], "Kustomization", "{at}");
    serde_json::from_value(kustomization["spec"]["healthCheckExprs"].clone())
        .unwrap_or_else(|e| panic!("{at}: spec.healthCheckExprs: {e}"))
}

fn expressions() -> Vec<HealthCheckExpr> {
    expressions_in(&read(EXPRESSIONS), EXPRESSIONS)
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Verdict {
    Current,
    Failed,
    InProgress,
    /// An evaluation error: Flux keeps waiting until the timeout.
    Unknown,
}

/// JSON as Flux hands it to cel-go (unstructured content): integers are
/// `int`, other numbers `double`.
fn to_cel(value: &Value) -> cel::Value {
    match value {
        Value::Null => cel::Value::Null,
        Value::Bool(b) => cel::Value::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => cel::Value::Int(i),
            None => cel::Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => cel::Value::String(Arc::new(s.clone())),
        Value::Array(items) => cel::Value::List(Arc::new(items.iter().map(to_cel).collect())),
        Value::Object(map) => cel::Value::Map(Map {
            map: Arc::new(
                map.iter()
                    .map(|(k, v)| (Key::String(Arc::new(k.clone())), to_cel(v)))
                    .collect::<HashMap<_, _>>(),
            ),
        }),
    }
}

fn compile(source: &str, at: &str) -> Program {
    Program::compile(source).unwrap_or_else(|e| panic!("{at}: does not parse: {e}"))
}

/// One expression on one object: its boolean, or why it has none.
fn evaluate(program: &Program, object: &Value) -> Result<bool, String> {
    let mut context = Context::default();
    if let Value::Object(fields) = object {
        for (name, value) in fields {
            context.add_variable_from_value(name.clone(), to_cel(value));
        }
    }
    match program.execute(&context) {
        Ok(cel::Value::Bool(b)) => Ok(b),
        Ok(other) => Err(format!("not a boolean: {other:?}")),
        Err(e) => Err(e.to_string()),
    }
}

/// `unstructured.NestedInt64`: absent is `None`; a non-map on the way or a
/// value that is not an integer is an error.
fn nested_int(object: &Value, path: &[&str]) -> Result<Option<i64>, String> {
    let mut node = object;
    for step in path {
        let Value::Object(map) = node else {
            return Err(format!("{step}: parent is not a map"));
        };
        match map.get(*step) {
            None => return Ok(None),
            Some(child) => node = child,
        }
    }
    node.as_i64()
        .map(Some)
        .ok_or_else(|| format!("{path:?} is not an integer"))
}

struct Compiled {
    in_progress: Option<Program>,
    failed: Option<Program>,
    current: Program,
}

/// Flux's first step: InProgress when `status.observedGeneration` differs
/// from `metadata.generation`, an error when either is not an integer, and
/// `None` when the expressions decide.
fn generation_rule(object: &Value) -> Result<Option<Verdict>, String> {
    let Some(observed) = nested_int(object, &["status", "observedGeneration"])? else {
        return Ok(None);
    };
    match nested_int(object, &["metadata", "generation"])? {
        Some(generation) if generation != observed => Ok(Some(Verdict::InProgress)),
        _ => Ok(None),
    }
}

/// Flux's `StatusEvaluator.Evaluate`.
fn flux_verdict(checks: &Compiled, object: &Value) -> Verdict {
    match generation_rule(object) {
        Err(_) => return Verdict::Unknown,
        Ok(Some(verdict)) => return verdict,
        Ok(None) => {}
    }
    for (program, verdict) in [
        (checks.in_progress.as_ref(), Verdict::InProgress),
        (checks.failed.as_ref(), Verdict::Failed),
        (Some(&checks.current), Verdict::Current),
    ] {
        let Some(program) = program else { continue };
        match evaluate(program, object) {
            Err(_) => return Verdict::Unknown,
            Ok(true) => return verdict,
            Ok(false) => {}
        }
    }
    Verdict::InProgress
}

/// The Flux verdict that matches the Argo CD one.
fn expected(sample: &Sample) -> Verdict {
    match sample.status.as_str() {
        "Healthy" | "Suspended" => Verdict::Current,
        "Degraded" => Verdict::Failed,
        "Progressing" => Verdict::InProgress,
        other => panic!("{}: no Flux verdict for {other}", sample.path),
    }
}

/// Where Flux cannot evaluate (an error, so Unknown: it keeps waiting) and
/// why; everywhere else it must give the expected verdict.
fn unknown_allowed(sample: &Sample) -> Option<&'static str> {
    if sample.object.get("status").is_none() {
        // Flux documents it: `status` is no variable until the controller
        // writes one. Argo CD says Progressing; Flux keeps waiting too.
        assert_eq!(sample.status, "Progressing", "{}", sample.path);
        return Some("no status yet");
    }
    // Malformed objects no API server returns (the CRD schema rejects them).
    sample.odd().then_some("malformed object")
}

fn compiled() -> BTreeMap<String, Compiled> {
    expressions()
        .into_iter()
        .map(|e| {
            let at = format!("{EXPRESSIONS}: {}", e.kind);
            let checks = Compiled {
                in_progress: e.in_progress.as_deref().map(|s| compile(s, &at)),
                failed: e.failed.as_deref().map(|s| compile(s, &at)),
                current: compile(&e.current, &at),
            };
            (e.kind, checks)
        })
        .collect()
}

#[test]
fn one_expression_set_per_kind_with_status() {
    let found: Vec<(String, String)> = expressions()
        .into_iter()
        .map(|e| (e.api_version, e.kind))
        .collect();
    let wanted: Vec<(String, String)> = KINDS
        .iter()
        .map(|k| ("multigres.com/v1alpha1".to_string(), k.to_string()))
        .collect();
    assert_eq!(found, wanted);
}

/// Flux's verdict, in Flux's order of evaluation, on every recorded object.
#[test]
fn flux_verdicts_agree_with_the_argo_cd_health_tests() {
    let checks = compiled();
    let mut failures = Vec::new();
    for sample in samples() {
        let verdict = flux_verdict(&checks[sample.kind], &sample.object);
        let wanted = expected(&sample);
        let allowed = match unknown_allowed(&sample) {
            Some(_) if verdict == Verdict::Unknown => true,
            _ => verdict == wanted,
        };
        if !allowed {
            failures.push(format!(
                "{}: Argo CD {} ({:?}), Flux {verdict:?}",
                sample.path, sample.status, sample.message
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// Each expression on its own, on every recorded object: `failed` is true
/// exactly for the Degraded ones, and `current` exactly for the Healthy and
/// Suspended ones (Flux never reaches `current` when `failed` is true).
/// Errors only where `unknown_allowed` says why.
#[test]
fn every_expression_on_every_recorded_object() {
    let checks = compiled();
    let mut failures = Vec::new();
    let mut evaluations = 0;
    for sample in samples() {
        let kind = &checks[sample.kind];
        let wanted = expected(&sample);
        // Where Flux's generation rule decides, the expressions are never
        // asked; they must still evaluate.
        let decided_before = !matches!(generation_rule(&sample.object), Ok(None));
        let mut check = |name: &str, program: &Program, want: Option<bool>| {
            evaluations += 1;
            let want = want.filter(|_| !decided_before);
            match (evaluate(program, &sample.object), want) {
                (Ok(got), Some(want)) if got != want => failures.push(format!(
                    "{}: `{name}` is {got}, expected {want} (Argo CD {})",
                    sample.path, sample.status
                )),
                (Err(e), _) if unknown_allowed(&sample).is_none() => {
                    failures.push(format!("{}: `{name}` fails: {e}", sample.path))
                }
                _ => {}
            }
        };
        if let Some(failed) = &kind.failed {
            check("failed", failed, Some(wanted == Verdict::Failed));
        }
        let current = (wanted != Verdict::Failed).then_some(wanted == Verdict::Current);
        check("current", &kind.current, current);
        if let Some(in_progress) = &kind.in_progress {
            check(
                "inProgress",
                in_progress,
                Some(wanted == Verdict::InProgress),
            );
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    assert!(evaluations > 200, "only {evaluations} evaluations");
}

/// The evaluator itself: Flux's generation rule and order, and errors.
#[test]
fn the_evaluator_follows_flux() {
    let checks = Compiled {
        in_progress: None,
        failed: Some(compile("status.phase == 'Degraded'", "test")),
        current: compile("status.phase == 'Healthy'", "test"),
    };
    let object = |generation: Value, observed: Value, phase: &str| {
        serde_json::json!({
            "metadata": {"generation": generation},
            "status": {"observedGeneration": observed, "phase": phase}
        })
    };
    use serde_json::json;
    assert_eq!(
        flux_verdict(&checks, &object(json!(2), json!(2), "Healthy")),
        Verdict::Current
    );
    assert_eq!(
        flux_verdict(&checks, &object(json!(2), json!(2), "Degraded")),
        Verdict::Failed
    );
    assert_eq!(
        flux_verdict(&checks, &object(json!(2), json!(2), "Other")),
        Verdict::InProgress
    );
    assert_eq!(
        flux_verdict(&checks, &object(json!(3), json!(2), "Healthy")),
        Verdict::InProgress
    );
    assert_eq!(
        flux_verdict(&checks, &object(json!(3), json!("3"), "Healthy")),
        Verdict::Unknown
    );
    assert_eq!(
        flux_verdict(&checks, &json!({"metadata": {}})),
        Verdict::Unknown
    );
}

/// docs/flux.md shows the same expressions as the file users copy.
#[test]
fn the_flux_doc_shows_the_shipped_expressions() {
    let doc = read(FLUX_DOC);
    let blocks: Vec<&str> = doc
        .split("```yaml\n")
        .skip(1)
        .filter_map(|rest| rest.split("\n```").next())
        .filter(|block| block.contains("healthCheckExprs:"))
        .collect();
    assert_eq!(
        blocks.len(),
        1,
        "{FLUX_DOC}: one yaml block with healthCheckExprs"
    );
    assert_eq!(expressions_in(blocks[0], FLUX_DOC), expressions());
}
