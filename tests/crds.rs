//! The CRDs in `crds/` are what the types generate, and they match the
//! upstream CRDs except for the differences docs/compatibility.md lists.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use multigres::api::{Kind, crd};
use multigres::compile::yaml::{Limits, parse_stream};
use serde_json::Value;

use crate::generators::Target;
use crate::support::generated::assert_up_to_date;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read_yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut docs = parse_stream(&text, &Limits::default())
        .unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
    assert_eq!(docs.len(), 1, "{} should hold one CRD", path.display());
    docs.remove(0).value
}

/// `crds/` and `src/api/schemas/` (the schemas the validator embeds,
/// because generating them at run time is slow) hold what the types
/// generate.
#[test]
fn crds_directory_and_embedded_schemas_are_up_to_date() {
    assert_up_to_date(Target::Crds);
    let files = std::fs::read_dir(repo().join("crds")).unwrap().count();
    assert_eq!(
        files,
        Kind::ALL.len(),
        "crds/ holds exactly one file per kind"
    );
}

#[test]
fn crds_carry_every_cel_rule_of_the_api() {
    let stream = crd::yaml_stream();
    for rule in multigres::api::rules::ALL {
        assert!(
            stream.contains(rule.message),
            "no CRD carries {} ({})",
            rule.code,
            rule.message
        );
    }
}

/// Properties compared between upstream and our schemas.
const COMPARED: &[&str] = &[
    "type",
    "format",
    "enum",
    "allOf",
    "anyOf",
    "oneOf",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
    "pattern",
    "default",
    "required",
    "nullable",
    "x-kubernetes-validations",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-map-type",
    "x-kubernetes-int-or-string",
    "x-kubernetes-preserve-unknown-fields",
];

/// Flattens a schema to `path -> property -> value` (`[]` items, `{*}` map values).
fn flatten(schema: &Value, path: String, out: &mut BTreeMap<String, BTreeMap<String, Value>>) {
    let mut props = BTreeMap::new();
    for key in COMPARED {
        if let Some(v) = schema.get(*key) {
            let v = if *key == "required" {
                let mut names: Vec<Value> = v.as_array().cloned().unwrap_or_default();
                names.sort_by_key(|n| n.to_string());
                Value::Array(names)
            } else {
                v.clone()
            };
            props.insert((*key).to_owned(), v);
        }
    }
    out.insert(path.clone(), props);
    if let Some(Value::Object(properties)) = schema.get("properties") {
        for (name, child) in properties {
            flatten(child, format!("{path}.{name}"), out);
        }
    }
    if let Some(items) = schema.get("items") {
        flatten(items, format!("{path}[]"), out);
    }
    if let Some(additional) = schema.get("additionalProperties").filter(|a| a.is_object()) {
        flatten(additional, format!("{path}{{*}}"), out);
    }
}

/// The CRD-level facts compared besides the schema.
fn crd_facts(crd: &Value) -> BTreeMap<String, Value> {
    let version = &crd["spec"]["versions"][0];
    BTreeMap::from([
        ("names".into(), crd["spec"]["names"].clone()),
        ("scope".into(), crd["spec"]["scope"].clone()),
        ("version".into(), version["name"].clone()),
        ("subresources".into(), version["subresources"].clone()),
        (
            "printerColumns".into(),
            version["additionalPrinterColumns"].clone(),
        ),
    ])
}

/// `(path glob, property)` pairs from the exceptions table of docs/compatibility.md.
fn exceptions() -> Vec<(String, String)> {
    let doc = std::fs::read_to_string(repo().join("docs/compatibility.md"))
        .expect("docs/compatibility.md");
    let table = doc
        .split("<!-- crd-parity-exceptions -->")
        .nth(1)
        .expect("docs/compatibility.md has a <!-- crd-parity-exceptions --> table");
    table
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .filter_map(|line| {
            let cells: Vec<&str> = line
                .split('|')
                .map(|c| c.trim().trim_matches('`'))
                .collect();
            let (path, property) = (cells.get(1)?, cells.get(2)?);
            (!path.is_empty() && *path != "Path" && !path.starts_with("---"))
                .then(|| ((*path).to_owned(), (*property).to_owned()))
        })
        .collect()
}

/// `*` matches any run of characters.
fn glob_matches(glob: &str, text: &str) -> bool {
    let parts: Vec<&str> = glob.split('*').collect();
    let mut rest = text;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(part) else {
                return false;
            };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            let Some(at) = rest.find(part) else {
                return false;
            };
            rest = &rest[at + part.len()..];
        }
    }
    rest.is_empty()
}

#[test]
fn schemas_match_upstream_except_listed_differences() {
    // Upstream's generated CRDs (config/crd/bases), copied with their origin
    // in tests/upstream-crds/README.md.
    let upstream_dir = repo().join("tests/upstream-crds");
    let exceptions = exceptions();
    let mut used = vec![false; exceptions.len()];
    let mut differences = Vec::new();
    for kind in Kind::ALL {
        let upstream = read_yaml(&upstream_dir.join(crd::file_name(kind)));
        let ours = crd::crd(kind);
        for (fact, theirs) in crd_facts(&upstream) {
            let mine = crd_facts(&ours).remove(&fact).unwrap_or_default();
            if theirs != mine {
                differences.push((
                    kind.name().to_owned(),
                    fact,
                    format!("upstream {theirs}, ours {mine}"),
                ));
            }
        }
        let mut up = BTreeMap::new();
        let mut us = BTreeMap::new();
        flatten(
            &upstream["spec"]["versions"][0]["schema"]["openAPIV3Schema"],
            kind.name().into(),
            &mut up,
        );
        flatten(
            &ours["spec"]["versions"][0]["schema"]["openAPIV3Schema"],
            kind.name().into(),
            &mut us,
        );
        let paths: std::collections::BTreeSet<&String> = up.keys().chain(us.keys()).collect();
        for path in paths {
            match (up.get(path), us.get(path)) {
                (Some(_), None) => {
                    differences.push((path.clone(), "presence".into(), "missing in ours".into()))
                }
                (None, Some(_)) => {
                    differences.push((path.clone(), "presence".into(), "extra in ours".into()))
                }
                (Some(a), Some(b)) => {
                    for key in COMPARED {
                        if a.get(*key) != b.get(*key) {
                            differences.push((
                                path.clone(),
                                (*key).into(),
                                format!("upstream {:?}, ours {:?}", a.get(*key), b.get(*key)),
                            ));
                        }
                    }
                }
                (None, None) => {}
            }
        }
    }
    let mut unexplained = Vec::new();
    for (path, property, detail) in &differences {
        match exceptions
            .iter()
            .position(|(glob, prop)| prop == property && glob_matches(glob, path))
        {
            Some(i) => used[i] = true,
            None => unexplained.push(format!("{path} [{property}]: {detail}")),
        }
    }
    assert!(
        unexplained.is_empty(),
        "differences not listed in docs/compatibility.md:\n{}",
        unexplained.join("\n")
    );
    let stale: Vec<_> = exceptions
        .iter()
        .zip(&used)
        .filter(|(_, u)| !**u)
        .map(|(e, _)| e)
        .collect();
    assert!(
        stale.is_empty(),
        "docs/compatibility.md lists differences that no longer exist: {stale:?}"
    );
}

#[test]
fn glob() {
    assert!(glob_matches("*.pools{*}.type", "Shard.spec.pools{*}.type"));
    assert!(!glob_matches(
        "*.pools{*}.type",
        "Shard.spec.pools{*}.types"
    ));
    assert!(glob_matches("Cell", "Cell"));
}
