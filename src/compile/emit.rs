//! Deterministic output: objects sorted in apply order, keys sorted, YAML or
//! JSON.

use serde_json::Value;

use super::Object;

/// Apply order of kinds: what others depend on comes first. Kinds not
/// listed follow, alphabetically (docs/output.md shows the list).
pub const KIND_ORDER: &[&str] = &[
    "Namespace",
    "CustomResourceDefinition",
    "ServiceAccount",
    "Secret",
    "ConfigMap",
    "CoreTemplate",
    "CellTemplate",
    "ShardTemplate",
    "MultigresCluster",
    "TopoServer",
    "Cell",
    "TableGroup",
    "Shard",
    "PersistentVolumeClaim",
    "Service",
    "StatefulSet",
    "Deployment",
    "PodDisruptionBudget",
    "Certificate",
    "Pod",
];

/// (rank of the kind, kind, namespace, name): the order of the output.
pub fn sort_key(object: &Object) -> (usize, String, String, String) {
    let rank = KIND_ORDER
        .iter()
        .position(|k| *k == object.kind)
        .unwrap_or(KIND_ORDER.len());
    (
        rank,
        object.kind.clone(),
        object.namespace.clone().unwrap_or_default(),
        object.name.clone(),
    )
}

/// A YAML stream, one document per object, `---` before each.
pub fn to_yaml(objects: &[Object]) -> String {
    let mut out = String::new();
    for object in objects {
        out.push_str("---\n");
        out.push_str(&yaml(&object.value));
    }
    out
}

/// One value as a YAML document (keys sorted, strings quoted where YAML 1.1
/// readers such as kubectl would otherwise see another type).
pub fn yaml(value: &Value) -> String {
    // Long lines stay on one line (no folding), so that diffs show whole
    // values; multi-line strings become literal blocks.
    let mut options = serde_saphyr::SerializerOptions::default();
    options.folded_wrap_chars = usize::MAX;
    // Serialising a JSON value cannot fail.
    let mut text = serde_saphyr::to_string_with_options(value, options).unwrap_or_default();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

/// A JSON `List` of the objects, for `--format json`.
pub fn to_json(objects: &[Object]) -> String {
    let items: Vec<&Value> = objects.iter().map(|o| &o.value).collect();
    let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items});
    let mut text = serde_json::to_string_pretty(&list).unwrap_or_default();
    text.push('\n');
    text
}
