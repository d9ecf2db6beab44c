//! The eight CustomResourceDefinitions, generated from the types.
//!
//! kube and schemars produce the schemas; `normalize` then brings them into
//! the shape the API server stores and upstream ships: no `nullable` on
//! optional fields, integer bounds, quantities as int-or-string with the
//! Kubernetes pattern, `apiVersion`/`kind`/`metadata` at the root.

use std::sync::OnceLock;

use kube::CustomResourceExt;
use serde_json::{Map, Value, json};

use super::{Cell, CellTemplate, CoreTemplate, Kind, MultigresCluster, Shard, ShardTemplate};
use super::{TableGroup, TopoServer, rules};

/// The pattern the API server uses for `resource.Quantity` fields.
pub const QUANTITY_PATTERN: &str = r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$";

/// The CRD of `kind`, normalised, as JSON.
pub fn crd(kind: Kind) -> Value {
    let generated = match kind {
        Kind::MultigresCluster => serde_json::to_value(MultigresCluster::crd()),
        Kind::CoreTemplate => serde_json::to_value(CoreTemplate::crd()),
        Kind::CellTemplate => serde_json::to_value(CellTemplate::crd()),
        Kind::ShardTemplate => serde_json::to_value(ShardTemplate::crd()),
        Kind::Cell => serde_json::to_value(Cell::crd()),
        Kind::TableGroup => serde_json::to_value(TableGroup::crd()),
        Kind::Shard => serde_json::to_value(Shard::crd()),
        Kind::TopoServer => serde_json::to_value(TopoServer::crd()),
    };
    // Serialising a CRD built from our own types cannot fail.
    let mut crd = generated.unwrap_or_else(|err| panic!("serialising the {kind:?} CRD: {err}"));
    normalize_crd(kind, &mut crd);
    crd
}

/// The CRD of `kind` as YAML, as `crds/` keeps it.
pub fn yaml(kind: Kind) -> String {
    crate::yaml::document(&crd(kind))
}

/// Every CRD as one YAML stream, as `multigres crds` prints it.
pub fn yaml_stream() -> String {
    Kind::ALL
        .into_iter()
        .map(|k| format!("---\n{}", yaml(k)))
        .collect()
}

/// Every CRD, in [`Kind::ALL`] order.
pub fn all() -> Vec<Value> {
    Kind::ALL.into_iter().map(crd).collect()
}

/// The `openAPIV3Schema` of `kind`, without descriptions, as generated.
pub fn generate_schema(kind: Kind) -> Value {
    let mut schema = crd(kind)
        .pointer("/spec/versions/0/schema/openAPIV3Schema")
        .cloned()
        .unwrap_or(Value::Null);
    strip_descriptions(&mut schema);
    schema
}

fn strip_descriptions(value: &mut Value) {
    match value {
        Value::Object(map) => {
            // Only a string `description` is documentation; a property
            // named "description" would hold an object.
            if map.get("description").is_some_and(Value::is_string) {
                map.remove("description");
            }
            map.values_mut().for_each(strip_descriptions);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_descriptions),
        _ => {}
    }
}

/// The schema of `kind` the validator uses: [`generate_schema`]'s output,
/// embedded from `src/api/schemas/` (generating it takes far longer than
/// reading it; a test keeps the two equal).
pub fn schema(kind: Kind) -> &'static Value {
    static SCHEMAS: [OnceLock<Value>; 8] = [const { OnceLock::new() }; 8];
    let index = Kind::ALL.iter().position(|k| *k == kind).unwrap_or(0);
    SCHEMAS[index].get_or_init(|| {
        // The embedded files are written by our own test from our own types.
        serde_json::from_str(embedded_schema(kind)).unwrap_or(Value::Null)
    })
}

/// The embedded schema file of `kind`.
pub fn embedded_schema(kind: Kind) -> &'static str {
    match kind {
        Kind::MultigresCluster => include_str!("schemas/multigresclusters.json"),
        Kind::CoreTemplate => include_str!("schemas/coretemplates.json"),
        Kind::CellTemplate => include_str!("schemas/celltemplates.json"),
        Kind::ShardTemplate => include_str!("schemas/shardtemplates.json"),
        Kind::Cell => include_str!("schemas/cells.json"),
        Kind::TableGroup => include_str!("schemas/tablegroups.json"),
        Kind::Shard => include_str!("schemas/shards.json"),
        Kind::TopoServer => include_str!("schemas/toposervers.json"),
    }
}

/// The file `crds/` keeps the CRD of `kind` in, named as upstream names it.
pub fn file_name(kind: Kind) -> String {
    format!("multigres.com_{}.yaml", plural(kind))
}

pub fn plural(kind: Kind) -> String {
    format!("{}s", kind.name().to_ascii_lowercase())
}

fn normalize_crd(kind: Kind, crd: &mut Value) {
    if let Some(names) = crd
        .pointer_mut("/spec/names")
        .and_then(Value::as_object_mut)
    {
        names.insert("listKind".into(), json!(format!("{}List", kind.name())));
    }
    let Some(root) = crd.pointer_mut("/spec/versions/0/schema/openAPIV3Schema") else {
        return;
    };
    normalize(root);
    if let Some(root) = root.as_object_mut() {
        root.remove("title");
        root.remove("required");
        root.insert(
            "description".into(),
            Value::String(description(kind).into()),
        );
        if let Some(props) = root.get_mut("properties").and_then(Value::as_object_mut) {
            props.insert(
                "apiVersion".into(),
                json!({"description": "APIVersion of this object: multigres.com/v1alpha1.", "type": "string"}),
            );
            props.insert(
                "kind".into(),
                json!({"description": format!("Kind of this object: {}.", kind.name()), "type": "string"}),
            );
            props.insert("metadata".into(), json!({"type": "object"}));
        }
        if kind == Kind::MultigresCluster {
            root.insert(
                "x-kubernetes-validations".into(),
                json!([rules::CLUSTER_NAME_LENGTH.schema_entry()]),
            );
        }
    }
}

fn description(kind: Kind) -> &'static str {
    match kind {
        Kind::MultigresCluster => {
            "MultigresCluster is a horizontally scalable PostgreSQL cluster: topology servers, \
             admin, gateways per cell, and shards with their pools."
        }
        Kind::CoreTemplate => "CoreTemplate holds reusable configuration of the global components.",
        Kind::CellTemplate => "CellTemplate holds reusable configuration of a cell.",
        Kind::ShardTemplate => "ShardTemplate holds reusable configuration of a shard.",
        Kind::Cell => "Cell is one failure domain of a MultigresCluster (generated).",
        Kind::TableGroup => "TableGroup is one table group of a database (generated).",
        Kind::Shard => "Shard is one shard of a table group (generated).",
        Kind::TopoServer => {
            "TopoServer is a managed etcd that stores the cluster topology (generated)."
        }
    }
}

/// Rewrites a schemars schema (recursively) into API-server form.
fn normalize(schema: &mut Value) {
    normalize_node(schema, false);
}

/// `in_affinity`: inside a core `Affinity`, whose lists and selectors the
/// Kubernetes API marks atomic.
fn normalize_node(schema: &mut Value, in_affinity: bool) {
    let Some(map) = schema.as_object_mut() else {
        return;
    };
    map.remove("nullable");
    if let Some(Value::Array(values)) = map.get_mut("enum") {
        values.retain(|v| !v.is_null());
    }
    for bound in ["minimum", "maximum"] {
        if let Some(Value::Number(n)) = map.get(bound)
            && let Some(f) = n.as_f64()
            && f.fract() == 0.0
        {
            // Bounds are small integers written as floats by schemars.
            #[allow(clippy::cast_possible_truncation)]
            map.insert(bound.into(), json!(f as i64));
        }
    }
    if map.get("default") == Some(&json!({})) {
        // schemars documents `#[serde(default)]` on struct fields; upstream does not.
        map.remove("default");
    }
    patch_embedded_kubernetes_types(map);
    if in_affinity {
        mark_affinity_atomics(map);
    }
    if is_quantity(map) {
        map.remove("type");
        map.insert(
            "anyOf".into(),
            json!([{"type": "integer"}, {"type": "string"}]),
        );
        map.insert("pattern".into(), json!(QUANTITY_PATTERN));
    }
    if let Some(Value::Object(props)) = map.get_mut("properties") {
        for (name, child) in props.iter_mut() {
            normalize_node(child, in_affinity || name == "affinity");
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(child) = map.get_mut(key) {
            normalize_node(child, in_affinity);
        }
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(Value::Array(children)) = map.get_mut(key) {
            children
                .iter_mut()
                .for_each(|child| normalize_node(child, in_affinity));
        }
    }
}

/// Lists inside an Affinity are atomic, and so are its label and node selectors.
fn mark_affinity_atomics(map: &mut Map<String, Value>) {
    if map.get("type") == Some(&json!("array")) {
        map.insert("x-kubernetes-list-type".into(), json!("atomic"));
    }
    let keys: Vec<&str> = match map.get("properties") {
        Some(Value::Object(props)) => props.keys().map(String::as_str).collect(),
        _ => return,
    };
    let atomic_struct = matches!(
        keys.as_slice(),
        ["matchExpressions", "matchLabels"]
            | ["matchExpressions", "matchFields"]
            | ["nodeSelectorTerms"]
    );
    if atomic_struct {
        map.insert("x-kubernetes-map-type".into(), json!("atomic"));
    }
}

/// Gives embedded Kubernetes types the markers the Kubernetes API carries but
/// k8s-openapi's schemas lack (controller-gen copies them from the Go source).
fn patch_embedded_kubernetes_types(map: &mut Map<String, Value>) {
    let Some(Value::Object(props)) = map.get("properties") else {
        return;
    };
    let has = |names: &[&str]| names.iter().all(|n| props.contains_key(*n));
    let is_resource_requirements = props.len() == 3 && has(&["claims", "limits", "requests"]);
    let is_condition = has(&[
        "lastTransitionTime",
        "message",
        "observedGeneration",
        "reason",
        "status",
        "type",
    ]);
    let is_local_object_reference =
        props.len() == 1 && has(&["name"]) && map.get("required") == Some(&json!(["name"]));

    if is_local_object_reference {
        // An atomic map whose name defaults to "".
        map.remove("required");
        map.insert("x-kubernetes-map-type".into(), json!("atomic"));
    }
    let Some(Value::Object(props)) = map.get_mut("properties") else {
        return;
    };
    let mut extend = |field: &str, extra: Value| {
        if let (Some(Value::Object(target)), Value::Object(extra)) = (props.get_mut(field), extra) {
            target.extend(extra);
        }
    };
    if is_resource_requirements {
        extend(
            "claims",
            json!({"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]}),
        );
    } else if is_condition {
        extend("message", json!({"maxLength": 32768}));
        extend("observedGeneration", json!({"minimum": 0}));
        extend(
            "reason",
            json!({"maxLength": 1024, "minLength": 1, "pattern": "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"}),
        );
        extend("status", json!({"enum": ["True", "False", "Unknown"]}));
        extend(
            "type",
            json!({"maxLength": 316, "pattern": r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$"}),
        );
    } else if is_local_object_reference {
        extend("name", json!({"default": ""}));
    }
}

/// k8s-openapi marks quantities as `x-kubernetes-int-or-string` strings.
fn is_quantity(map: &Map<String, Value>) -> bool {
    map.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true))
        && !map.contains_key("anyOf")
        && map
            .get("description")
            .and_then(Value::as_str)
            .is_some_and(|d| d.starts_with("Quantity is a fixed-point"))
}

// ---------------------------------------------------------------------------
// JSON Schemas for editors and kubeconform.

/// The file kubeconform looks up for `kind` with the schema location
/// `DIR/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json` (its
/// openapi2jsonschema names them so): `multigrescluster_v1alpha1.json`.
pub fn json_schema_file_name(kind: Kind) -> String {
    format!(
        "{}_{}.json",
        kind.name().to_ascii_lowercase(),
        super::VERSION
    )
}

/// The JSON Schema (draft-07) of one `kind` object, derived from the CRD's
/// `openAPIV3Schema` so that it accepts what the API server stores:
///
/// - objects without `x-kubernetes-preserve-unknown-fields` admit only their
///   properties (`additionalProperties: false`), as the API server prunes or,
///   with strict field validation, rejects anything else;
/// - `x-kubernetes-int-or-string` becomes an integer or a string;
/// - lists of `x-kubernetes-list-type: set` have unique items;
/// - the other `x-kubernetes-*` extensions (CEL rules, list and map types)
///   have no JSON Schema equivalent and are dropped: `multigres validate`
///   checks them;
/// - `apiVersion` and `kind` are required and fixed, and `metadata` is the
///   ObjectMeta a manifest may carry (labels and annotations as strings).
pub fn json_schema(kind: Kind) -> Value {
    let mut schema = crd(kind)
        .pointer("/spec/versions/0/schema/openAPIV3Schema")
        .cloned()
        .unwrap_or_else(|| json!({"type": "object"}));
    to_json_schema(&mut schema);
    if let Some(root) = schema.as_object_mut() {
        let properties = root
            .entry("properties")
            .or_insert_with(|| json!({}))
            .as_object_mut();
        if let Some(properties) = properties {
            properties.insert(
                "apiVersion".into(),
                json!({"type": "string", "enum": [super::API_VERSION]}),
            );
            properties.insert(
                "kind".into(),
                json!({"type": "string", "enum": [kind.name()]}),
            );
            properties.insert("metadata".into(), object_meta_schema());
        }
        let mut required: Vec<Value> = vec![json!("apiVersion"), json!("kind")];
        if let Some(Value::Array(existing)) = root.get("required") {
            for field in existing {
                if !required.contains(field) {
                    required.push(field.clone());
                }
            }
        }
        root.insert("required".into(), Value::Array(required));
        root.insert(
            "$schema".into(),
            json!("http://json-schema.org/draft-07/schema#"),
        );
        root.insert(
            "title".into(),
            json!(format!("{} {}", super::API_VERSION, kind.name())),
        );
    }
    schema
}

/// Every field of `metav1.ObjectMeta`, so a misspelt one (`label:`) is an
/// error, as it is for the API server with strict field validation.
fn object_meta_schema() -> Value {
    let strings = json!({"type": "object", "additionalProperties": {"type": "string"}});
    let objects = json!({"type": "array", "items": {"type": "object"}});
    json!({
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "name": {"type": "string"},
            "generateName": {"type": "string"},
            "namespace": {"type": "string"},
            "selfLink": {"type": "string"},
            "uid": {"type": "string"},
            "resourceVersion": {"type": "string"},
            "generation": {"type": "integer"},
            "creationTimestamp": {"type": ["string", "null"]},
            "deletionTimestamp": {"type": ["string", "null"]},
            "deletionGracePeriodSeconds": {"type": "integer"},
            "labels": strings,
            "annotations": strings,
            "ownerReferences": objects,
            "finalizers": {"type": "array", "items": {"type": "string"}},
            "managedFields": objects,
        }
    })
}

fn to_json_schema(value: &mut Value) {
    let Value::Object(map) = value else {
        return;
    };
    let flag = |map: &Map<String, Value>, key: &str| map.get(key) == Some(&Value::Bool(true));
    let preserve_unknown = flag(map, "x-kubernetes-preserve-unknown-fields");
    let int_or_string = flag(map, "x-kubernetes-int-or-string");
    let set = map.get("x-kubernetes-list-type") == Some(&json!("set"));
    map.retain(|key, _| !key.starts_with("x-kubernetes-"));
    if let Some(Value::Object(properties)) = map.get_mut("properties") {
        properties.values_mut().for_each(to_json_schema);
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(child) = map.get_mut(key) {
            to_json_schema(child);
        }
    }
    for key in ["anyOf", "allOf", "oneOf"] {
        if let Some(Value::Array(children)) = map.get_mut(key) {
            children.iter_mut().for_each(to_json_schema);
        }
    }
    if int_or_string && !map.contains_key("anyOf") {
        map.insert("type".into(), json!(["integer", "string"]));
    }
    if map.remove("nullable") == Some(Value::Bool(true))
        && let Some(Value::String(single)) = map.get("type").cloned()
    {
        map.insert("type".into(), json!([single, "null"]));
    }
    if set {
        map.insert("uniqueItems".into(), json!(true));
    }
    let is_object = map.get("type") == Some(&json!("object"));
    if is_object && !preserve_unknown && !map.contains_key("additionalProperties") {
        map.insert("additionalProperties".into(), json!(false));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_names_and_subresources() {
        for kind in Kind::ALL {
            let crd = crd(kind);
            assert_eq!(crd["spec"]["names"]["kind"], kind.name());
            assert_eq!(crd["spec"]["scope"], "Namespaced");
            assert_eq!(
                crd["metadata"]["name"],
                format!("{}.multigres.com", plural(kind))
            );
            let has_status = crd
                .pointer("/spec/versions/0/subresources/status")
                .is_some();
            assert_eq!(has_status, !kind.is_template(), "{kind:?}");
        }
        let shard = crd(Kind::Shard);
        assert_eq!(
            shard.pointer("/spec/versions/0/subresources/scale/specReplicasPath"),
            Some(&json!(".spec.replicas"))
        );
    }

    #[test]
    fn no_nullable_anywhere() {
        for kind in Kind::ALL {
            let text = serde_json::to_string(&crd(kind)).unwrap();
            assert!(!text.contains("\"nullable\""), "{kind:?}");
        }
    }
}
