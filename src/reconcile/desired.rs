//! From live objects to what `render` would print for them: the cluster,
//! the templates and ConfigMaps of its namespace go through the very
//! `compile()` of `multigres render`, so the full mode applies exactly the
//! objects a render of the same inputs holds.

use serde_json::{Map, Value};

use super::plan::Desired;
use crate::compile::{self, Input, Options, Origin};
use crate::diagnostics::Diagnostics;
use crate::images::ImageSet;

/// The live objects one cluster compiles from, as the API server returns
/// them (JSON).
pub struct LiveInputs<'a> {
    pub cluster: &'a Value,
    /// Templates of the cluster's namespace (all three kinds).
    pub templates: &'a [Value],
    /// ConfigMaps a shard's `postgresConfigRef` may name.
    pub config_maps: &'a [Value],
}

/// The generated objects of the cluster, with their parents, or the
/// compiler's diagnostics (file names are `Kind/namespace/name`).
pub fn desired(live: &LiveInputs<'_>, images: &ImageSet) -> Result<Vec<Desired>, Diagnostics> {
    let inputs: Vec<Input> = std::iter::once(live.cluster)
        .chain(live.templates)
        .chain(live.config_maps)
        .map(|object| Input::new(input_name(object), as_input(object).to_string()))
        .collect();
    let options = Options {
        images: images.clone(),
        ..Options::default()
    };
    let bundle = compile::compile(&inputs, &options)?;
    Ok(bundle
        .objects
        .into_iter()
        .filter_map(|object| match object.origin {
            Origin::Generated { parent, .. } => Some(Desired {
                value: object.value,
                parent,
            }),
            Origin::Input(_) => None,
        })
        .collect())
}

/// How diagnostics name a live object: `MultigresCluster/ns/name`.
pub fn input_name(object: &Value) -> String {
    let text = |pointer: &str| {
        object
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or("?")
    };
    format!(
        "{}/{}/{}",
        text("/kind"),
        text("/metadata/namespace"),
        text("/metadata/name")
    )
}

/// A live object as a user would have written it: what the server adds
/// (uid, resourceVersion, managedFields, status, …) is dropped, so the
/// compiler sees the same input as `render` does.
pub fn as_input(object: &Value) -> Value {
    let mut out = Map::new();
    for key in ["apiVersion", "kind", "spec", "data"] {
        if let Some(value) = object.get(key) {
            out.insert(key.into(), value.clone());
        }
    }
    let mut metadata = Map::new();
    if let Some(live) = object.get("metadata").and_then(Value::as_object) {
        for key in ["name", "namespace", "labels", "annotations"] {
            if let Some(value) = live.get(key) {
                metadata.insert(key.into(), value.clone());
            }
        }
    }
    if let Some(Value::Object(annotations)) = metadata.get_mut("annotations") {
        // kubectl's client-side record of the last apply is not part of the object.
        annotations.remove("kubectl.kubernetes.io/last-applied-configuration");
        if annotations.is_empty() {
            metadata.remove("annotations");
        }
    }
    out.insert("metadata".into(), Value::Object(metadata));
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn server_fields_are_dropped() {
        let live = json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "pg", "namespace": "ns", "uid": "u", "resourceVersion": "7",
                         "managedFields": [{}], "creationTimestamp": "2026-01-01T00:00:00Z",
                         "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"}},
            "data": {"k": "v"},
        });
        assert_eq!(
            as_input(&live),
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": "pg", "namespace": "ns"}, "data": {"k": "v"}})
        );
        assert_eq!(input_name(&live), "ConfigMap/ns/pg");
    }
}
