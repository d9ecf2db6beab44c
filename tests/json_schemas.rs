//! `multigres crds --json-schema DIR`: one JSON Schema per kind, named as
//! kubeconform looks them up (`{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json`,
//! kind in lower case), judged by a real JSON Schema validator (the
//! `jsonschema` crate, as an editor or kubeconform would judge a manifest):
//!
//! - every multigres.com object of `examples/` and of the golden renders
//!   (`golden/`, the child kinds) is valid;
//! - every case of the invalid corpus (`tests/invalid/`) whose mistake is a
//!   schema error (MG010 unknown field to MG017 count) is invalid, for the
//!   reason its code names (the failing JSON Schema keyword).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use multigres::api::{API_VERSION, Kind, crd};
use multigres::compile::yaml::{Limits, parse_stream};
use serde_json::{Value, json};

use crate::support::run::multigres;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The validator of `kind`'s schema, built once (the schemas are large).
fn validator(kind: Kind) -> &'static jsonschema::Validator {
    static VALIDATORS: OnceLock<BTreeMap<Kind, jsonschema::Validator>> = OnceLock::new();
    &VALIDATORS.get_or_init(|| {
        Kind::ALL
            .into_iter()
            .map(|kind| {
                let validator = jsonschema::validator_for(&crd::json_schema(kind))
                    .unwrap_or_else(|e| panic!("{}: not a valid JSON Schema: {e}", kind.name()));
                (kind, validator)
            })
            .collect()
    })[&kind]
}

/// Every YAML file under `dir`, recursively, sorted.
fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(yaml_files(&path));
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// The multigres.com objects of a YAML file, with their kinds.
fn objects_in(path: &Path) -> Vec<(Kind, Value)> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let documents = parse_stream(&text, &Limits::default())
        .unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
    documents
        .into_iter()
        .filter(|d| d.value["apiVersion"] == API_VERSION)
        .map(|d| {
            let name = d.value["kind"].as_str().unwrap_or_default().to_string();
            let kind = Kind::from_name(&name)
                .unwrap_or_else(|| panic!("{}: unknown kind {name}", path.display()));
            (kind, d.value)
        })
        .collect()
}

/// The failures of `object` as `instance path: schema keyword: message`.
fn errors(kind: Kind, object: &Value) -> Vec<String> {
    validator(kind)
        .iter_errors(object)
        .map(|e| format!("{}: {}: {e}", e.instance_path(), e.schema_path()))
        .collect()
}

#[test]
fn the_command_writes_one_schema_per_kind_named_for_kubeconform() {
    let dir = std::env::temp_dir().join(format!("multigres-json-schema-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let run = multigres(&["crds", "--json-schema", dir.to_str().unwrap()], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "", "the schemas replace the printed CRDs");
    let written: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let expected: BTreeSet<String> = [
        "multigrescluster_v1alpha1.json",
        "coretemplate_v1alpha1.json",
        "celltemplate_v1alpha1.json",
        "shardtemplate_v1alpha1.json",
        "cell_v1alpha1.json",
        "tablegroup_v1alpha1.json",
        "shard_v1alpha1.json",
        "toposerver_v1alpha1.json",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(written, expected);
    for kind in Kind::ALL {
        let path = dir.join(crd::json_schema_file_name(kind));
        let text = std::fs::read_to_string(&path).unwrap();
        let schema: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(schema, crd::json_schema(kind), "{}", path.display());
        assert!(
            text.ends_with("}\n"),
            "{}: one final newline",
            path.display()
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The schemas are schemas: valid draft-07 documents, with the extensions
/// of Kubernetes translated or removed.
#[test]
fn every_schema_is_a_draft_7_schema_without_kubernetes_extensions() {
    for kind in Kind::ALL {
        let schema = crd::json_schema(kind);
        // Against the meta-schema its `$schema` names (draft-07).
        if let Err(e) = jsonschema::meta::validate(&schema) {
            panic!("{}: {e}", kind.name());
        }
        let text = schema.to_string();
        assert!(
            !text.contains("x-kubernetes-"),
            "{}: an extension is left",
            kind.name()
        );
        assert_eq!(schema["properties"]["kind"]["enum"], json!([kind.name()]));
        assert_eq!(
            schema["additionalProperties"],
            json!(false),
            "{}",
            kind.name()
        );
    }
}

#[test]
fn every_example_object_is_valid() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for path in yaml_files(&root().join("examples")) {
        for (kind, object) in objects_in(&path) {
            checked += 1;
            for error in errors(kind, &object) {
                failures.push(format!("{}: {} {error}", path.display(), kind.name()));
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    assert!(checked >= 15, "only {checked} example objects");
}

/// The rendered children (Cell, TableGroup, Shard, TopoServer) of the golden
/// renders are valid too: kubeconform can check `multigres render` output.
#[test]
fn every_rendered_object_is_valid() {
    let mut kinds = BTreeSet::new();
    let mut failures = Vec::new();
    for path in yaml_files(&root().join("golden")) {
        for (kind, object) in objects_in(&path) {
            kinds.insert(kind);
            for error in errors(kind, &object) {
                failures.push(format!("{}: {} {error}", path.display(), kind.name()));
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    for kind in [Kind::Cell, Kind::TableGroup, Kind::Shard, Kind::TopoServer] {
        assert!(kinds.contains(&kind), "no rendered {}", kind.name());
    }
}

/// The JSON Schema keywords that report each schema diagnostic.
fn keywords_of(code: &str) -> Option<&'static [&'static str]> {
    Some(match code {
        "MG010" => &["additionalProperties"],
        "MG011" => &["type"],
        "MG012" => &["required"],
        "MG013" => &["enum"],
        "MG014" => &["pattern"],
        "MG015" => &["minLength", "maxLength"],
        "MG016" => &["minimum", "maximum"],
        "MG017" => &["minItems", "maxItems", "minProperties", "maxProperties"],
        _ => return None,
    })
}

#[test]
fn invalid_corpus_schema_errors_are_rejected_for_their_reason() {
    let mut cases = 0;
    let mut failures = Vec::new();
    for path in yaml_files(&root().join("tests/invalid")) {
        if path.parent().is_some_and(|p| p.ends_with("previous")) {
            continue;
        }
        // Some cases are not UTF-8 on purpose; their header is.
        let bytes = std::fs::read(&path).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        let codes: BTreeSet<&str> = text
            .lines()
            .take_while(|l| l.starts_with('#'))
            .filter_map(|l| l.strip_prefix("# expect: "))
            .filter_map(|rest| rest.split_whitespace().next())
            .collect();
        let wanted: Vec<&str> = codes
            .iter()
            .filter_map(|code| keywords_of(code))
            .flatten()
            .copied()
            .collect();
        if wanted.is_empty() {
            continue;
        }
        cases += 1;
        let found: Vec<String> = objects_in(&path)
            .iter()
            .flat_map(|(kind, object)| errors(*kind, object))
            .collect();
        let for_the_reason = found.iter().any(|error| {
            let keyword = error.split(": ").nth(1).and_then(|p| p.rsplit('/').next());
            keyword.is_some_and(|k| wanted.contains(&k))
        });
        if !for_the_reason {
            failures.push(format!(
                "{}: expected a failure of {wanted:?} ({codes:?}), got {found:?}",
                path.display()
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    // Unknown field, wrong type and the other schema checks, at least.
    assert!(cases >= 10, "only {cases} schema cases");
}
