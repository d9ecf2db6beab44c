//! `multigres explain`: for a field of a rendered object, its value, the
//! layer of the template chain that supplied it, and where that layer wrote it.

use std::fmt::Write;

use serde_json::Value;

use crate::compile::path::FieldPath;
use crate::compile::provenance::Source;
use crate::compile::{Bundle, Object, Origin};

/// `KIND/NAME[:FIELD]`, NAME possibly `namespace/name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    pub field: Option<FieldPath>,
}

impl Query {
    pub fn parse(text: &str) -> Result<Self, String> {
        let usage = || {
            format!(
                "--field {text:?}: expected KIND/NAME[:FIELD], e.g. Cell/minimal-zone-a-96c88ae0:spec.multigateway.replicas"
            )
        };
        let (object, field) = match text.split_once(':') {
            Some((object, field)) => (object, Some(field)),
            None => (text, None),
        };
        let (kind, rest) = object.split_once('/').ok_or_else(usage)?;
        let (namespace, name) = match rest.split_once('/') {
            Some((namespace, name)) => (Some(namespace.to_owned()), name),
            None => (None, rest),
        };
        if kind.is_empty() || name.is_empty() {
            return Err(usage());
        }
        let field = match field {
            Some(field) if !field.is_empty() => {
                Some(FieldPath::parse(field).map_err(|e| format!("--field: {e}"))?)
            }
            _ => None,
        };
        Ok(Self {
            kind: kind.to_owned(),
            namespace,
            name: name.to_owned(),
            field,
        })
    }
}

/// Explains `query` against a compilation's output.
pub fn explain(
    output: &Bundle,
    query: &Query,
    default_namespace: Option<&str>,
) -> Result<String, String> {
    let matches: Vec<&Object> = output
        .objects
        .iter()
        .filter(|o| o.kind.eq_ignore_ascii_case(&query.kind) && o.name == query.name)
        .filter(|o| match &query.namespace {
            Some(ns) => o.namespace.as_deref().or(default_namespace) == Some(ns.as_str()),
            None => true,
        })
        .collect();
    let object = match matches.as_slice() {
        [object] => *object,
        [] => return Err(not_found(output, query)),
        _ => {
            return Err(format!(
                "{}/{} exists in several namespaces; write KIND/NAMESPACE/NAME",
                query.kind, query.name
            ));
        }
    };
    let mut out = String::new();
    let namespace = object
        .namespace
        .as_deref()
        .or(default_namespace)
        .unwrap_or("");
    let _ = writeln!(out, "{} {namespace}/{}", object.kind, object.name);
    match &object.origin {
        Origin::Input(source) => {
            let _ = writeln!(
                out,
                "  an input object, emitted unchanged: {}:{}",
                output.sources.file_name(source.doc),
                output.sources.key_pos(source, "").line
            );
            return Ok(out);
        }
        Origin::Generated { cluster, .. } => {
            let _ = writeln!(
                out,
                "  generated from MultigresCluster {namespace}/{cluster}"
            );
        }
    }
    match &query.field {
        Some(field) => {
            let value = object.value.pointer(&field.pointer());
            let Some(value) = value else {
                let hint = suggest_field(&object.value, field);
                return Err(format!(
                    "{} {} has no field {field}{hint}",
                    object.kind, object.name
                ));
            };
            describe(&mut out, output, object, field, value);
        }
        None => {
            let mut leaves = Vec::new();
            collect_leaves(&object.value, FieldPath::root(), &mut leaves);
            for (path, value) in leaves.into_iter().filter(|(p, _)| matches!(p.0.first(), Some(crate::compile::path::Segment::Key(k)) if k == "spec")) {
                describe(&mut out, output, object, &path, value);
            }
        }
    }
    Ok(out)
}

fn describe(out: &mut String, output: &Bundle, object: &Object, path: &FieldPath, value: &Value) {
    let _ = writeln!(out, "  {path}: {}", compact(value));
    match object.prov.lookup(&path.pointer()) {
        Some(source) => {
            let _ = writeln!(out, "    from: {}", source.layer);
            if let Some(at) = location(output, &source) {
                let _ = writeln!(out, "    at:   {at}");
            }
        }
        None if object.prov.records().next().is_none() => {
            let _ = writeln!(
                out,
                "    from: built from the cluster's Cell, Shard or TopoServer objects (explain their fields for sources)"
            );
        }
        None => {
            let _ = writeln!(out, "    from: the object's identity (names and labels)");
        }
    }
}

/// `file:line:col` of the node a source names.
fn location(output: &Bundle, source: &Source) -> Option<String> {
    let (object, pointer) = source.at.as_ref()?;
    let exact = output.sources.has_node(object, pointer);
    let pos = output.sources.key_pos(object, pointer);
    let note = if exact {
        ""
    } else {
        " (the enclosing block; the field itself is not written there)"
    };
    Some(format!(
        "{}:{}:{}{note}",
        output.sources.file_name(object.doc),
        pos.line,
        pos.col
    ))
}

fn compact(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Scalars, scalar lists and empty containers, in document order.
fn collect_leaves<'v>(value: &'v Value, path: FieldPath, out: &mut Vec<(FieldPath, &'v Value)>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, child) in map {
                collect_leaves(child, path.key(key), out);
            }
        }
        Value::Array(items) if items.iter().any(|i| i.is_object() || i.is_array()) => {
            for (i, child) in items.iter().enumerate() {
                collect_leaves(child, path.index(i), out);
            }
        }
        _ => out.push((path, value)),
    }
}

fn suggest_field(value: &Value, field: &FieldPath) -> String {
    let mut known = Vec::new();
    collect_leaves(value, FieldPath::root(), &mut known);
    let names: Vec<String> = known.iter().map(|(p, _)| p.to_string()).collect();
    crate::compile::load::did_you_mean(&field.to_string(), names.iter().map(String::as_str))
        .map(|s| format!("; did you mean {s}?"))
        .unwrap_or_else(|| "; leave out :FIELD to list every field".into())
}

fn not_found(output: &Bundle, query: &Query) -> String {
    let same_kind: Vec<String> = output
        .objects
        .iter()
        .filter(|o| o.kind.eq_ignore_ascii_case(&query.kind))
        .map(|o| format!("{}/{}", o.kind, o.name))
        .collect();
    if same_kind.is_empty() {
        format!("no {} in the rendered output", query.kind)
    } else {
        format!(
            "no {}/{} in the rendered output; there is {}",
            query.kind,
            query.name,
            same_kind.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries() {
        let q = Query::parse("shard/ns/name:spec.pools.a.replicasPerCell").unwrap();
        assert_eq!(q.kind, "shard");
        assert_eq!(q.namespace.as_deref(), Some("ns"));
        assert_eq!(q.name, "name");
        assert_eq!(q.field.unwrap().to_string(), "spec.pools.a.replicasPerCell");
        assert!(Query::parse("Cell/x").unwrap().field.is_none());
        assert!(Query::parse("Cell").is_err());
        assert!(Query::parse("/x:spec").is_err());
    }
}
