//! Deterministic output: objects sorted in apply order, keys sorted, YAML or
//! JSON.

use serde_json::Value;

/// One value as a YAML document: [`crate::yaml::document`].
pub use crate::yaml::document as yaml;

use super::Object;

/// Apply order of kinds: what others depend on comes first. Kinds not
/// listed follow, alphabetically (docs/cli.md, "What render prints", lists
/// them; a test keeps the two equal).
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

/// Where `kind` goes in the output: its place in [`KIND_ORDER`], or after
/// every listed kind.
pub fn kind_rank(kind: &str) -> usize {
    KIND_ORDER
        .iter()
        .position(|k| *k == kind)
        .unwrap_or(KIND_ORDER.len())
}

/// (rank of the kind, kind, namespace, name): the order of the output.
pub fn sort_key(object: &Object) -> (usize, String, String, String) {
    (
        kind_rank(&object.kind),
        object.kind.clone(),
        object.namespace.clone().unwrap_or_default(),
        object.name.clone(),
    )
}

/// A YAML stream, one document per object, `---` before each.
pub fn to_yaml(objects: &[Object]) -> String {
    let mut out = Vec::new();
    write_yaml(objects, &mut out).expect("writing to memory cannot fail");
    String::from_utf8(out).expect("every YAML document is UTF-8")
}

/// [`to_yaml`], written in batches, so that a large render is never held in
/// memory twice. Serialising is most of a render's time and each object is
/// independent, so the objects of a batch are serialised on every core;
/// the bytes do not depend on how many there are.
pub fn write_yaml(objects: &[Object], out: &mut impl std::io::Write) -> std::io::Result<()> {
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    write_yaml_with(objects, out, threads)
}

/// Objects serialised per batch: a few megabytes of text.
const BATCH: usize = 2048;

fn write_yaml_with(
    objects: &[Object],
    out: &mut impl std::io::Write,
    threads: usize,
) -> std::io::Result<()> {
    for batch in objects.chunks(BATCH) {
        for text in documents(batch, threads) {
            out.write_all(text.as_bytes())?;
        }
    }
    Ok(())
}

/// The documents of `objects`, in order, as up to `threads` strings each
/// serialised on its own thread.
fn documents(objects: &[Object], threads: usize) -> Vec<String> {
    let serialise = |part: &[Object]| -> String {
        part.iter()
            .map(|object| {
                let text = crate::yaml::try_document(&object.value).unwrap_or_else(|e| {
                    panic!(
                        "internal error: {} {}/{} does not serialise to YAML: {e}",
                        object.kind,
                        object.namespace.as_deref().unwrap_or(""),
                        object.name
                    )
                });
                format!("---\n{text}")
            })
            .collect()
    };
    if threads <= 1 || objects.len() < 2 {
        return vec![serialise(objects)];
    }
    let per_thread = objects.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let workers: Vec<_> = objects
            .chunks(per_thread)
            .map(|part| scope.spawn(move || serialise(part)))
            .collect();
        workers
            .into_iter()
            // A panic in a worker is a bug: let it reach main's handler.
            .map(|worker| {
                worker
                    .join()
                    .unwrap_or_else(|p| std::panic::resume_unwind(p))
            })
            .collect()
    })
}

/// A JSON `List` of the objects, for `--format json`.
pub fn to_json(objects: &[Object]) -> String {
    let items: Vec<&Value> = objects.iter().map(|o| &o.value).collect();
    let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items});
    let mut text = serde_json::to_string_pretty(&list).expect("a JSON value serialises to JSON");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::{Origin, provenance::Provenance};

    fn object(index: usize) -> Object {
        Object {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            namespace: Some("default".into()),
            name: format!("config-{index}"),
            value: serde_json::json!({
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": format!("config-{index}"), "namespace": "default"},
                "data": {"on": "yes", "text": "line one\nline two\n", "n": index},
            }),
            origin: Origin::Generated {
                cluster: "c".into(),
                parent: crate::compile::Parent::Cluster,
            },
            prov: Provenance::default(),
        }
    }

    #[test]
    fn the_stream_does_not_depend_on_threads_or_batches() {
        let objects: Vec<Object> = (0..BATCH + 7).map(object).collect();
        let mut sequential = Vec::new();
        write_yaml_with(&objects, &mut sequential, 1).unwrap();
        let text = String::from_utf8(sequential.clone()).unwrap();
        // YAML 1.1 readers (kubectl) would take n, on and yes for booleans.
        let first = "---\napiVersion: v1\ndata:\n  \"n\": 0\n  \"on\": \"yes\"\n  text: |\n";
        assert!(text.starts_with(first), "{text}");
        assert_eq!(text.matches("---\n").count(), objects.len());
        for threads in [2, 3, 7] {
            let mut parallel = Vec::new();
            write_yaml_with(&objects, &mut parallel, threads).unwrap();
            assert!(
                parallel == sequential,
                "{threads} threads changed the bytes"
            );
        }
        assert_eq!(to_yaml(&objects), text);
    }
}
