//! Properties of the compiler over generated inputs (proptest):
//!
//! - the output does not depend on the order of the inputs;
//! - writing out every CRD default changes no generated object;
//! - every generated name is valid for its kind, within its length class;
//! - random values in any field of any input never make it panic, and what
//!   it prints is deterministic YAML;
//! - what it prints passes the syntax checks the API server applies to
//!   names, labels, annotation keys and node selectors, above all when the
//!   values that end up there (zones, regions, pod labels, the certificate
//!   name) are hostile.
//!
//! Failures are shrunk to a small case and their seeds kept in
//! `tests/properties.proptest-regressions`, which is committed: those cases
//! run first, every time. `PROPTEST_CASES` sets how many cases each
//! property tries (256 by default).

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::strategy::ValueTree;
use serde_json::{Map, Value, json};

use multigres::compile::yaml::{self, Limits};
use multigres::compile::{Input, Options, Origin, compile, emit};

#[path = "../fuzz/src/edge_strings.rs"]
mod edge_strings;

// ---------------------------------------------------------------------------
// Generated input sets.

/// A DNS-1123 label of 1..=max characters.
fn label(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[a-z0-9]([-a-z0-9]{{0,{}}}[a-z0-9])?", max - 2))
        .expect("a valid expression")
}

/// A DNS-1035 label (a letter first), as a cluster name must be (MG223).
fn letter_label(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[a-z]([-a-z0-9]{{0,{}}}[a-z0-9])?", max - 2))
        .expect("a valid expression")
}

/// `count` distinct labels.
fn distinct_labels(
    max: usize,
    count: std::ops::RangeInclusive<usize>,
) -> impl Strategy<Value = Vec<String>> {
    proptest::collection::btree_set(label(max), count).prop_map(|s| s.into_iter().collect())
}

fn quantity(values: &'static [&'static str]) -> impl Strategy<Value = String> {
    proptest::sample::select(values).prop_map(str::to_owned)
}

fn resources() -> impl Strategy<Value = Option<Value>> {
    proptest::option::of(
        (
            quantity(&["100m", "250m", "500m", "1", "1500m", "2"]),
            quantity(&["128Mi", "256Mi", "1Gi", "1.5Gi", "2G", "4096Mi"]),
        )
            .prop_map(|(cpu, memory)| json!({"requests": {"cpu": cpu, "memory": memory}})),
    )
}

/// A pool: optional fields present or not, cells a subset of the cluster's.
fn pool(cells: Vec<String>) -> impl Strategy<Value = Value> {
    let cell_count = cells.len();
    (
        proptest::sample::subsequence(cells, 0..=cell_count),
        proptest::option::of(1..4i64),
        proptest::option::of(quantity(&["1Gi", "10Gi", "50Gi", "100G"])),
        resources(),
    )
        .prop_map(|(cells, replicas, size, resources)| {
            let mut pool = Map::new();
            pool.insert("type".into(), json!("readWrite"));
            if !cells.is_empty() {
                pool.insert("cells".into(), json!(cells));
            }
            if let Some(replicas) = replicas {
                pool.insert("replicasPerCell".into(), json!(replicas));
            }
            if let Some(size) = size {
                pool.insert("storage".into(), json!({"size": size}));
            }
            if let Some(resources) = resources {
                pool.insert("postgres".into(), json!({"resources": resources}));
            }
            Value::Object(pool)
        })
}

/// A cluster with its Secret and, at random, templates that it uses.
#[derive(Debug, Clone)]
struct InputSet {
    namespace: String,
    /// One JSON document per object (JSON is YAML).
    documents: Vec<Value>,
}

fn input_set() -> impl Strategy<Value = InputSet> {
    (letter_label(25), label(40), distinct_labels(30, 1..=3))
        .prop_flat_map(|(name, namespace, cells)| {
            let table_groups = distinct_labels(25, 0..=2);
            let pools = proptest::collection::btree_map(label(25), pool(cells.clone()), 1..=2);
            let zones = proptest::collection::vec(any::<bool>(), cells.len());
            (
                Just(name),
                Just(namespace),
                Just(cells),
                zones,
                table_groups,
                pools,
                any::<bool>(), // templates
                proptest::option::of(1..4i64),
                proptest::sample::select(&["", "Delete", "Retain"][..]),
                proptest::option::of(proptest::sample::select(&["16MB", "64kB", "1GB"][..])),
            )
        })
        .prop_map(
            |(name, namespace, cells, zones, table_groups, pools, templates, gateways, deletion, work_mem)| {
                let secret = format!("{name}-admin");
                let mut spec = Map::new();
                spec.insert(
                    "postgresPasswordSecretRef".into(),
                    json!({"name": secret, "key": "password"}),
                );
                let cells: Vec<Value> = cells
                    .iter()
                    .zip(zones)
                    .map(|(cell, zone)| {
                        if zone {
                            json!({"name": cell, "zoneId": format!("zone-{cell}")})
                        } else {
                            json!({"name": cell, "region": "eu-west-1"})
                        }
                    })
                    .collect();
                spec.insert("cells".into(), Value::Array(cells));
                let mut shard_spec = Map::new();
                shard_spec.insert("pools".into(), json!(pools));
                if let Some(work_mem) = work_mem {
                    shard_spec.insert("postgresConfig".into(), json!({"work_mem": work_mem}));
                }
                let shard = |spec: &Map<String, Value>| {
                    if templates {
                        json!({"name": "0-inf", "overrides": spec})
                    } else {
                        json!({"name": "0-inf", "spec": spec})
                    }
                };
                let mut groups = vec![json!({"name": "default", "default": true, "shards": [shard(&shard_spec)]})];
                for group in table_groups.into_iter().filter(|g| g != "default") {
                    groups.push(json!({"name": group, "shards": [shard(&shard_spec)]}));
                }
                spec.insert(
                    "databases".into(),
                    json!([{"name": "postgres", "default": true, "tablegroups": groups}]),
                );
                if !deletion.is_empty() {
                    spec.insert(
                        "pvcDeletionPolicy".into(),
                        json!({"whenDeleted": deletion, "whenScaled": deletion}),
                    );
                }
                let mut documents = vec![json!({
                    "apiVersion": "v1", "kind": "Secret",
                    "metadata": {"name": secret, "namespace": namespace},
                    "stringData": {"password": "x"},
                })];
                if templates {
                    spec.insert(
                        "templateDefaults".into(),
                        json!({"coreTemplate": "core", "cellTemplate": "cell", "shardTemplate": "shard"}),
                    );
                    let meta = |n: &str| json!({"name": n, "namespace": namespace});
                    documents.push(json!({
                        "apiVersion": "multigres.com/v1alpha1", "kind": "CoreTemplate", "metadata": meta("core"),
                        "spec": {"globalTopoServer": {"etcd": {"replicas": 3}}, "multiadmin": {"replicas": 1}},
                    }));
                    let mut gateway = Map::new();
                    if let Some(replicas) = gateways {
                        gateway.insert("replicas".into(), json!(replicas));
                    }
                    documents.push(json!({
                        "apiVersion": "multigres.com/v1alpha1", "kind": "CellTemplate", "metadata": meta("cell"),
                        "spec": {"multigateway": gateway},
                    }));
                    documents.push(json!({
                        "apiVersion": "multigres.com/v1alpha1", "kind": "ShardTemplate", "metadata": meta("shard"),
                        "spec": {"multiorch": {"replicas": 1}},
                    }));
                }
                documents.push(json!({
                    "apiVersion": "multigres.com/v1alpha1", "kind": "MultigresCluster",
                    "metadata": {"name": name, "namespace": namespace},
                    "spec": spec,
                }));
                InputSet {
                    namespace,
                    documents,
                }
            },
        )
}

fn stream(documents: &[Value]) -> String {
    documents
        .iter()
        .map(|d| format!("---\n{}\n", serde_json::to_string_pretty(d).unwrap()))
        .collect()
}

struct Rendered {
    /// Every object, as `render` prints them.
    all: String,
    /// Only the generated objects.
    generated: String,
    objects: Vec<Value>,
}

fn render(inputs: &[Input], preview_runtime: bool) -> Result<Rendered, String> {
    let options = Options {
        preview_runtime,
        ..Options::default()
    };
    let output = compile(inputs, &options).map_err(|errors| {
        errors
            .0
            .iter()
            .map(|d| format!("{d}\n"))
            .collect::<String>()
    })?;
    let generated: Vec<_> = output
        .objects
        .iter()
        .filter(|o| matches!(o.origin, Origin::Generated { .. }))
        .cloned()
        .collect();
    Ok(Rendered {
        all: emit::to_yaml(&output.objects),
        generated: emit::to_yaml(&generated),
        objects: generated.into_iter().map(|o| o.value).collect(),
    })
}

fn one_file(set: &InputSet) -> Vec<Input> {
    vec![Input::new("cluster.yaml", stream(&set.documents))]
}

// ---------------------------------------------------------------------------
// CRD defaulting, as the API server does it, written independently of the
// compiler: walk the schema, and where an object is present, add each
// missing property that has a `default`.

fn schema(kind: &str) -> Value {
    let plural = match kind {
        "MultigresCluster" => "multigresclusters",
        "CoreTemplate" => "coretemplates",
        "CellTemplate" => "celltemplates",
        "ShardTemplate" => "shardtemplates",
        other => panic!("no schema for {other}"),
    };
    let path = format!(
        "{}/src/api/schemas/{plural}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn apply_defaults(value: &mut Value, schema: &Value) {
    match value {
        Value::Object(map) => {
            if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
                for (key, property) in properties {
                    if !map.contains_key(key)
                        && let Some(default) = property.get("default")
                    {
                        map.insert(key.clone(), default.clone());
                    }
                    if let Some(child) = map.get_mut(key) {
                        apply_defaults(child, property);
                    }
                }
            }
            if let Some(additional) = schema.get("additionalProperties").filter(|a| a.is_object()) {
                for child in map.values_mut() {
                    apply_defaults(child, additional);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for item in items {
                    apply_defaults(item, item_schema);
                }
            }
        }
        _ => {}
    }
}

fn with_defaults_written_out(set: &InputSet) -> InputSet {
    let mut explicit = set.clone();
    for document in &mut explicit.documents {
        let kind = document["kind"].as_str().unwrap_or_default().to_owned();
        if document["apiVersion"] == "multigres.com/v1alpha1" {
            apply_defaults(document, &schema(&kind));
        }
    }
    explicit
}

// ---------------------------------------------------------------------------
// Names.

fn is_label(name: &str, max: usize) -> bool {
    !name.is_empty()
        && name.len() <= max
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// As Kubernetes checks it (IsDNS1123Subdomain): 253 characters in all;
/// the parts between dots are not limited to 63.
fn is_subdomain(name: &str) -> bool {
    name.len() <= 253 && name.split('.').all(|part| is_label(part, 253))
}

/// The length class and syntax each kind's name must have: Services are
/// DNS-1035 labels (they become DNS names), StatefulSet names leave room for
/// the controller's revision-hash label, Pod names are hostnames; every
/// other object name is a DNS-1123 subdomain.
fn name_is_valid(kind: &str, name: &str) -> bool {
    match kind {
        "Service" => is_label(name, 63) && name.starts_with(|c: char| c.is_ascii_lowercase()),
        "StatefulSet" => is_label(name, 52),
        "Pod" => is_label(name, 63),
        _ => is_subdomain(name),
    }
}

fn label_value_is_valid(value: &str) -> bool {
    value.is_empty()
        || (value.len() <= 63
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            && value.starts_with(|c: char| c.is_ascii_alphanumeric())
            && value.ends_with(|c: char| c.is_ascii_alphanumeric()))
}

/// A label or annotation key as the API server checks it: an optional
/// DNS-1123 subdomain and `/`, then a name of at most 63 characters.
fn qualified_name_is_valid(key: &str) -> bool {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    prefix.is_none_or(is_subdomain) && !name.is_empty() && label_value_is_valid(name)
}

/// What the API server would refuse in a generated object's name, labels,
/// annotation keys, label selectors and node selectors (maps under those
/// keys anywhere in the object).
fn api_server_syntax_problems(object: &Value) -> Vec<String> {
    fn walk(value: &Value, field: &str, path: &str, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                let string_map = map.values().all(Value::is_string);
                if string_map
                    && matches!(
                        field,
                        "labels" | "matchLabels" | "nodeSelector" | "selector"
                    )
                {
                    for (key, v) in map {
                        let v = v.as_str().unwrap_or_default();
                        if !qualified_name_is_valid(key) || !label_value_is_valid(v) {
                            out.push(format!("{path}: {key:?}={v:?}"));
                        }
                    }
                } else if string_map && field == "annotations" {
                    for key in map.keys().filter(|k| !qualified_name_is_valid(k)) {
                        out.push(format!("{path}: annotation key {key:?}"));
                    }
                } else {
                    for (key, v) in map {
                        walk(v, key, &format!("{path}.{key}"), out);
                    }
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(item, field, &format!("{path}[{i}]"), out);
                }
            }
            _ => {}
        }
    }
    let kind = object["kind"].as_str().unwrap_or_default();
    let name = object["metadata"]["name"].as_str().unwrap_or_default();
    let mut out = Vec::new();
    if !name_is_valid(kind, name) {
        out.push(format!("name {name:?} is not valid for a {kind}"));
    }
    walk(object, "", "", &mut out);
    out.into_iter()
        .map(|p| format!("{kind} {name}: {p}"))
        .collect()
}

/// The fields whose values land in labels, selectors or names, as pointers
/// into the cluster document, each with the value to write there.
fn label_bearing_edit() -> impl Strategy<Value = (&'static str, Option<String>, Value)> {
    let text = prop_oneof![
        proptest::sample::select(edge_strings::EDGE_STRINGS).prop_map(str::to_owned),
        "\\PC{0,20}",
        "[a-zA-Z0-9._:/ -]{0,12}",
    ];
    (
        proptest::sample::select(
            &[
                "/spec/cells/0/zoneId",
                "/spec/cells/0/region",
                "/spec/certCommonName",
                "/spec/multiadminWeb/spec/podLabels",
                "/spec/cells/0/overrides/multigateway/podLabels",
                "/spec/cells/0/overrides/multigateway/podAnnotations",
            ][..],
        ),
        text.clone(),
        text,
    )
        .prop_map(|(pointer, key, value)| {
            if pointer.ends_with("podLabels") || pointer.ends_with("podAnnotations") {
                (pointer, Some(key), Value::String(value))
            } else {
                (pointer, None, Value::String(value))
            }
        })
}

/// Writes `value` at `pointer` (under `key` for a map), creating objects on
/// the way.
fn write_at(document: &mut Value, pointer: &str, key: Option<&str>, value: Value) {
    let mut node = document;
    for part in pointer.split('/').skip(1) {
        node = match part.parse::<usize>() {
            Ok(index) if node.is_array() => &mut node[index],
            _ => {
                if !node.is_object() {
                    *node = json!({});
                }
                node.as_object_mut()
                    .unwrap()
                    .entry(part)
                    .or_insert_with(|| json!({}))
            }
        };
    }
    match key {
        Some(key) => {
            if !node.is_object() {
                *node = json!({});
            }
            node.as_object_mut().unwrap().insert(key.to_owned(), value);
        }
        None => *node = value,
    }
}

// ---------------------------------------------------------------------------
// Mutations: a random value in a random field of the schema.

#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Item,
    MapValue,
}

/// Every field path the schema describes.
fn field_paths(schema: &Value, prefix: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    if prefix.len() > 12 {
        return;
    }
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        for (key, property) in properties {
            prefix.push(Step::Key(key.clone()));
            out.push(prefix.clone());
            field_paths(property, prefix, out);
            prefix.pop();
        }
    }
    if let Some(items) = schema.get("items") {
        prefix.push(Step::Item);
        out.push(prefix.clone());
        field_paths(items, prefix, out);
        prefix.pop();
    }
    if let Some(additional) = schema.get("additionalProperties").filter(|a| a.is_object()) {
        prefix.push(Step::MapValue);
        out.push(prefix.clone());
        field_paths(additional, prefix, out);
        prefix.pop();
    }
}

/// Sets `path` in `value` to `leaf`, creating (or replacing with) objects
/// and one-item lists on the way.
fn set_path(value: &mut Value, path: &[Step], leaf: Value) {
    let Some((step, rest)) = path.split_first() else {
        *value = leaf;
        return;
    };
    let next = match step {
        Step::Key(key) => {
            if !value.is_object() {
                *value = json!({});
            }
            value
                .as_object_mut()
                .unwrap()
                .entry(key.clone())
                .or_insert(Value::Null)
        }
        Step::Item => {
            if !matches!(value, Value::Array(items) if !items.is_empty()) {
                *value = json!([{}]);
            }
            &mut value.as_array_mut().unwrap()[0]
        }
        Step::MapValue => {
            if !matches!(value, Value::Object(map) if !map.is_empty()) {
                *value = json!({"x": {}});
            }
            value.as_object_mut().unwrap().values_mut().next().unwrap()
        }
    };
    set_path(next, rest, leaf);
}

fn awkward_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        prop_oneof![
            Just(0i64),
            Just(-1),
            Just(1),
            Just(3),
            Just(i64::from(i32::MAX) + 1)
        ]
        .prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        proptest::sample::select(edge_strings::EDGE_STRINGS).prop_map(Value::from),
        "\\PC{0,40}".prop_map(Value::from),
        "[a-z]{300}".prop_map(Value::from),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            proptest::collection::btree_map("[a-zA-Z]{1,8}", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn field_paths_of(kind: &str) -> Vec<Vec<Step>> {
    let mut out = Vec::new();
    field_paths(&schema(kind), &mut Vec::new(), &mut out);
    out
}

fn parse_output(text: &str) -> usize {
    let limits = Limits {
        max_nodes: usize::MAX,
        max_documents: usize::MAX,
        ..Limits::default()
    };
    yaml::parse_stream(text, &limits)
        .unwrap_or_else(|e| panic!("render printed YAML it cannot read back: {e:?}"))
        .len()
}

// ---------------------------------------------------------------------------

// 256 cases each by default; PROPTEST_CASES=N runs more.
proptest! {
    #[test]
    fn output_does_not_depend_on_input_order(
        set in input_set(),
        order in any::<Vec<Index>>(),
        split in any::<Index>(),
    ) {
        let reference = render(&one_file(&set), false);
        prop_assume!(reference.is_ok(), "invalid generated input: {}", reference.err().unwrap_or_default());
        let reference = reference.unwrap();
        // Shuffle the documents, then split them over two files given in
        // either order.
        let mut documents = set.documents.clone();
        for (i, index) in order.iter().enumerate().take(documents.len()) {
            let j = index.index(documents.len());
            documents.swap(i, j);
        }
        let at = split.index(documents.len() + 1);
        let (first, second) = documents.split_at(at);
        let inputs = vec![
            Input::new("b.yaml", stream(first)),
            Input::new("a.yaml", stream(second)),
        ];
        let shuffled = render(&inputs, false).expect("the same objects are valid in any order");
        prop_assert!(shuffled.all == reference.all, "the order of the inputs changed the output");
    }

    #[test]
    fn writing_out_the_crd_defaults_changes_no_generated_object(set in input_set()) {
        let sparse = render(&one_file(&set), false);
        prop_assume!(sparse.is_ok(), "invalid generated input: {}", sparse.err().unwrap_or_default());
        let explicit_set = with_defaults_written_out(&set);
        prop_assert!(explicit_set.documents != set.documents || set.documents.len() < 2);
        let explicit = render(&one_file(&explicit_set), false)
            .map_err(|e| TestCaseError::fail(format!("defaults written out are invalid:\n{e}")))?;
        prop_assert!(
            explicit.generated == sparse.unwrap().generated,
            "writing out the defaults changed the generated objects"
        );
    }

    #[test]
    fn every_generated_name_is_valid_within_its_length_class(set in input_set()) {
        let rendered = render(&one_file(&set), true);
        prop_assume!(rendered.is_ok(), "invalid generated input: {}", rendered.err().unwrap_or_default());
        for object in rendered.unwrap().objects {
            let kind = object["kind"].as_str().unwrap_or_default();
            let name = object["metadata"]["name"].as_str().unwrap_or_default();
            prop_assert!(name_is_valid(kind, name), "{kind} name {name:?} is not valid for its kind");
            prop_assert_eq!(object["metadata"]["namespace"].as_str(), Some(set.namespace.as_str()));
            let labels = object["metadata"]["labels"].as_object().cloned().unwrap_or_default();
            for (key, value) in labels {
                let value = value.as_str().unwrap_or_default();
                prop_assert!(label_value_is_valid(value), "{kind} {name}: label {key}={value:?} is not a valid label value");
            }
        }
    }

    #[test]
    fn random_values_in_any_field_never_panic(
        set in input_set(),
        target in any::<Index>(),
        path in any::<Index>(),
        leaf in awkward_value(),
        preview_runtime in any::<bool>(),
    ) {
        let mut set = set;
        let ours: Vec<usize> = set
            .documents
            .iter()
            .enumerate()
            .filter(|(_, d)| d["apiVersion"] == "multigres.com/v1alpha1")
            .map(|(i, _)| i)
            .collect();
        let document = &mut set.documents[ours[target.index(ours.len())]];
        let kind = document["kind"].as_str().unwrap_or_default().to_owned();
        let paths = field_paths_of(&kind);
        set_path(document, &paths[path.index(paths.len())], leaf);
        let inputs = one_file(&set);
        // A panic here fails the property; errors are a fine answer.
        let first = render(&inputs, preview_runtime);
        if let Ok(rendered) = &first {
            prop_assert!(parse_output(&rendered.all) > 0);
            let problems: Vec<String> = rendered.objects.iter().flat_map(api_server_syntax_problems).collect();
            prop_assert!(problems.is_empty(), "the API server would refuse: {problems:#?}");
            let again = render(&inputs, preview_runtime).expect("the same input again");
            prop_assert!(again.all == rendered.all, "two renders of the same input differ");
        }
    }
}

proptest! {
    #[test]
    fn values_that_land_in_labels_and_names_are_checked_before_the_api_server_sees_them(
        set in input_set(),
        (pointer, key, value) in label_bearing_edit(),
    ) {
        let mut set = set;
        let cluster = set
            .documents
            .iter_mut()
            .find(|d| d["kind"] == "MultigresCluster")
            .expect("a cluster");
        write_at(cluster, pointer, key.as_deref(), value);
        // Refusing the input is a fine answer; printing what the API server
        // would refuse is not.
        if let Ok(rendered) = render(&one_file(&set), true) {
            let problems: Vec<String> = rendered.objects.iter().flat_map(api_server_syntax_problems).collect();
            prop_assert!(problems.is_empty(), "the API server would refuse: {problems:#?}");
        }
    }
}

/// The generator is not vacuous: most generated sets are valid clusters.
#[test]
fn generated_input_sets_are_mostly_valid() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = input_set();
    let mut valid = 0;
    let mut invalid = BTreeMap::new();
    for _ in 0..200 {
        let set = strategy.new_tree(&mut runner).unwrap().current();
        match render(&one_file(&set), false) {
            Ok(_) => valid += 1,
            Err(e) => {
                *invalid
                    .entry(e.lines().next().unwrap_or("").to_owned())
                    .or_insert(0) += 1
            }
        }
    }
    assert!(
        valid >= 180,
        "only {valid} of 200 generated sets are valid: {invalid:#?}"
    );
}
