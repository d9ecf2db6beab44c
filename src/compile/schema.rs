//! What the API server does to one of our objects before storing it, driven by
//! the schema in `crds/`: drop nulls, apply `default:` values, reject unknown
//! fields (kubectl's strict validation), check types, bounds, patterns, enums,
//! list types, and evaluate the `x-kubernetes-validations` rules.
//!
//! Because everything comes from the generated schema, the offline validator
//! and the CRDs the cluster enforces cannot disagree.

use std::collections::{BTreeSet, HashMap};
use std::sync::OnceLock;

use regex::Regex;
use serde_json::{Map, Value};

use super::diagnostics as codes;
use super::load::did_you_mean;
use super::path::FieldPath;
use crate::api::{Kind, crd, rules};

/// One problem found by the schema, before it is placed in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub code: &'static str,
    pub path: FieldPath,
    /// Whether the finding is about the field's name (point at the key)
    /// rather than its value.
    pub at_key: bool,
    /// The node the finding is about as the API server reports it: for a CEL
    /// rule, the node the rule sits on (`path` is the value inside it that
    /// breaks the rule); else `path` itself.
    pub node: FieldPath,
    pub message: String,
    pub hint: Option<String>,
}

/// The result of admitting one object.
#[derive(Debug, Default)]
pub struct Admitted {
    /// The object with nulls dropped and schema defaults applied.
    pub value: Value,
    /// Paths that got a schema default.
    pub defaulted: Vec<FieldPath>,
    pub findings: Vec<Finding>,
}

/// Admits `object` of `kind` as the API server would on create (or on update
/// when `old` is given, which enables transition rules).
pub fn admit(kind: Kind, object: &Value, old: Option<&Value>) -> Admitted {
    let compiled = compiled(kind);
    let mut admitted = Admitted {
        value: object.clone(),
        ..Admitted::default()
    };
    let mut walker = Walker {
        findings: Vec::new(),
        defaulted: Vec::new(),
        patterns: &compiled.patterns,
    };
    walker.node(
        &mut admitted.value,
        compiled.schema,
        old,
        &FieldPath::root(),
    );
    admitted.findings = walker.findings;
    admitted.defaulted = walker.defaulted;
    admitted
}

/// The schema of one kind and its compiled patterns, built once per kind.
struct Compiled {
    schema: &'static Value,
    patterns: HashMap<String, Regex>,
}

fn compiled(kind: Kind) -> &'static Compiled {
    static COMPILED: [OnceLock<Compiled>; 8] = [const { OnceLock::new() }; 8];
    let index = Kind::ALL
        .iter()
        .position(|k| *k == kind)
        .expect("Kind::ALL lists every kind");
    COMPILED[index].get_or_init(|| {
        let schema = crd::schema(kind);
        let mut patterns = HashMap::new();
        collect_patterns(schema, &mut patterns);
        Compiled { schema, patterns }
    })
}

fn collect_patterns(schema: &Value, patterns: &mut HashMap<String, Regex>) {
    match schema {
        Value::Object(map) => {
            if let Some(Value::String(source)) = map.get("pattern")
                && !patterns.contains_key(source)
            {
                // Our schema patterns are plain regular expressions that the
                // regex crate reads as Kubernetes does; a test checks each.
                // One that does not compile is a bug in our schemas: dropping
                // it would accept what the API server refuses.
                let regex = Regex::new(source).unwrap_or_else(|e| {
                    panic!("internal error: schema pattern {source:?} does not compile: {e}")
                });
                patterns.insert(source.clone(), regex);
            }
            map.values().for_each(|v| collect_patterns(v, patterns));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_patterns(v, patterns)),
        _ => {}
    }
}

struct Walker<'p> {
    findings: Vec<Finding>,
    defaulted: Vec<FieldPath>,
    patterns: &'p HashMap<String, Regex>,
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

impl Walker<'_> {
    fn report(
        &mut self,
        code: &'static str,
        path: &FieldPath,
        message: String,
        hint: Option<String>,
    ) {
        self.findings.push(Finding {
            code,
            path: path.clone(),
            at_key: false,
            node: path.clone(),
            message,
            hint,
        });
    }

    fn node(&mut self, value: &mut Value, schema: &Value, old: Option<&Value>, path: &FieldPath) {
        let Some(schema) = schema.as_object() else {
            return;
        };
        if !self.check_type(value, schema, path) {
            return;
        }
        match value {
            Value::Object(map) => self.object(map, schema, old, path),
            Value::Array(items) => self.array(items, schema, old, path),
            Value::String(s) => self.string(s, schema, path),
            Value::Number(_) => self.number(value, schema, path),
            _ => {}
        }
        self.enumeration(value, schema, path);
        self.cel_rules(value, schema, old, path);
    }

    /// Reports a type mismatch; returns whether the node has the right type.
    fn check_type(&mut self, value: &Value, schema: &Map<String, Value>, path: &FieldPath) -> bool {
        let int_or_string = schema.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true));
        let expected = schema.get("type").and_then(Value::as_str);
        let actual = type_name(value);
        let ok = match (expected, actual) {
            _ if int_or_string => matches!(actual, "integer" | "string"),
            (None, _) => true,
            (Some("number"), "integer") => true,
            (Some(expected), actual) => expected == actual,
        };
        if ok {
            return true;
        }
        let expected = if int_or_string {
            "integer or string"
        } else {
            expected.unwrap_or("")
        };
        let hint = match value {
            Value::Bool(_) if expected == "string" => Some(
                "unquoted yes/no/on/off/true/false are booleans in YAML; quote the value to make it a string"
                    .to_owned(),
            ),
            Value::Number(_) if expected == "string" => {
                Some("quote the value to make it a string".to_owned())
            }
            Value::String(s) if expected == "integer" && s.trim().parse::<i64>().is_ok() => {
                Some("write the number without quotes".to_owned())
            }
            _ => None,
        };
        self.report(
            codes::WRONG_TYPE,
            path,
            format!("expected {expected}, got {actual}"),
            hint,
        );
        false
    }

    fn object(
        &mut self,
        map: &mut Map<String, Value>,
        schema: &Map<String, Value>,
        old: Option<&Value>,
        path: &FieldPath,
    ) {
        // The API server prunes nulls of non-nullable fields before defaulting.
        map.retain(|_, v| !v.is_null());
        let properties = schema.get("properties").and_then(Value::as_object);
        let additional = schema.get("additionalProperties");
        let preserve =
            schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
        if let Some(properties) = properties {
            for (name, property) in properties {
                if !map.contains_key(name)
                    && let Some(default) = property.get("default")
                {
                    map.insert(name.clone(), default.clone());
                    self.defaulted.push(path.key(name));
                }
            }
        }
        let keys: Vec<String> = map.keys().cloned().collect();
        for key in &keys {
            let child_path = path.key(key);
            let child_old = old.and_then(|o| o.get(key));
            let child_schema = properties.and_then(|p| p.get(key)).or(additional);
            match child_schema {
                Some(child_schema) if child_schema.is_object() => {
                    if let Some(child) = map.get_mut(key) {
                        self.node(child, child_schema, child_old, &child_path);
                    }
                }
                _ if preserve || properties.is_none() && additional.is_none() => {}
                _ => {
                    let suggestion = properties
                        .and_then(|p| did_you_mean(key, p.keys().map(String::as_str)))
                        .map(|s| format!("did you mean {s:?}?"));
                    let known = properties
                        .map(|p| p.keys().cloned().collect::<Vec<_>>().join(", "))
                        .unwrap_or_default();
                    self.findings.push(Finding {
                        code: codes::UNKNOWN_FIELD,
                        node: child_path.clone(),
                        path: child_path,
                        at_key: true,
                        message: format!("unknown field {key:?}"),
                        hint: suggestion.or(Some(format!("known fields here: {known}"))),
                    });
                }
            }
        }
        if let Some(required) = schema.get("required").and_then(Value::as_array) {
            for name in required.iter().filter_map(Value::as_str) {
                if !map.contains_key(name) {
                    self.report(
                        codes::REQUIRED,
                        path,
                        format!("required field {name:?} is missing"),
                        None,
                    );
                }
            }
        }
        if let Some(max) = schema.get("maxProperties").and_then(Value::as_u64)
            && map.len() as u64 > max
        {
            self.report(
                codes::COUNT,
                path,
                format!("has {} entries, more than the maximum of {max}", map.len()),
                None,
            );
        }
    }

    fn array(
        &mut self,
        items: &mut [Value],
        schema: &Map<String, Value>,
        old: Option<&Value>,
        path: &FieldPath,
    ) {
        let list_type = schema.get("x-kubernetes-list-type").and_then(Value::as_str);
        let map_keys: Vec<&str> = schema
            .get("x-kubernetes-list-map-keys")
            .and_then(Value::as_array)
            .map(|keys| keys.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if let Some(item_schema) = schema.get("items") {
            for (i, item) in items.iter_mut().enumerate() {
                // Old items correlate only through list-map keys.
                let item_old = match (list_type, old) {
                    (Some("map"), Some(old)) => old
                        .as_array()
                        .and_then(|olds| olds.iter().find(|o| same_keys(o, item, &map_keys))),
                    _ => None,
                };
                self.node(item, item_schema, item_old, &path.index(i));
            }
        }
        let count = items.len() as u64;
        if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
            && count < min
        {
            self.report(
                codes::COUNT,
                path,
                format!("has {count} items, fewer than the minimum of {min}"),
                None,
            );
        }
        if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
            && count > max
        {
            self.report(
                codes::COUNT,
                path,
                format!("has {count} items, more than the maximum of {max}"),
                None,
            );
        }
        match list_type {
            Some("set") => {
                let mut seen = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    if seen.contains(&item) {
                        self.report(
                            codes::DUPLICATE_ITEM,
                            &path.index(i),
                            format!("duplicate entry {item}"),
                            Some("each entry of this list may appear once".into()),
                        );
                    }
                    seen.push(item);
                }
            }
            Some("map") => {
                let mut seen = BTreeSet::new();
                for (i, item) in items.iter().enumerate() {
                    let key: Vec<String> = map_keys
                        .iter()
                        .map(|k| item.get(*k).map(Value::to_string).unwrap_or_default())
                        .collect();
                    if !seen.insert(key.clone()) {
                        self.report(
                            codes::DUPLICATE_ITEM,
                            &path.index(i),
                            format!("duplicate entry with {} {}", map_keys.join("/"), key.join("/")),
                            Some("entries of this list are identified by that key, which must be unique".into()),
                        );
                    }
                }
            }
            _ => {}
        }
    }

    fn string(&mut self, s: &str, schema: &Map<String, Value>, path: &FieldPath) {
        let length = s.chars().count() as u64;
        if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
            && length < min
        {
            let message = if length == 0 {
                "must not be empty".to_owned()
            } else {
                format!("is {length} characters long, shorter than the minimum of {min}")
            };
            self.report(codes::LENGTH, path, message, None);
        }
        if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
            && length > max
        {
            self.report(
                codes::LENGTH,
                path,
                format!("is {length} characters long, longer than the maximum of {max}"),
                None,
            );
        }
        if let Some(source) = schema.get("pattern").and_then(Value::as_str)
            && let Some(regex) = self.patterns.get(source)
            && !regex.is_match(s)
        {
            self.report(
                codes::PATTERN,
                path,
                format!("{s:?} does not match the pattern {source}"),
                pattern_hint(source),
            );
        }
    }

    fn number(&mut self, value: &Value, schema: &Map<String, Value>, path: &FieldPath) {
        let Some(n) = value.as_f64() else {
            return;
        };
        let bound = |key: &str| schema.get(key).and_then(Value::as_f64);
        let (lowest, highest) = match schema.get("format").and_then(Value::as_str) {
            Some("int32") => (f64::from(i32::MIN), f64::from(i32::MAX)),
            // i64 bounds as f64; values outside do not fit the field.
            #[allow(clippy::cast_precision_loss)]
            Some("int64") => (i64::MIN as f64, i64::MAX as f64),
            _ => (f64::NEG_INFINITY, f64::INFINITY),
        };
        let minimum = bound("minimum").map_or(lowest, |m| m.max(lowest));
        let maximum = bound("maximum").map_or(highest, |m| m.min(highest));
        if n < minimum || n > maximum {
            let range = match (minimum.is_finite(), maximum.is_finite()) {
                (true, true) if maximum < highest => format!("between {minimum} and {maximum}"),
                (true, _) if maximum >= highest && minimum > lowest => {
                    format!("at least {minimum}")
                }
                _ => format!("between {minimum} and {maximum}"),
            };
            self.report(
                codes::RANGE,
                path,
                format!("{value} is out of range: must be {range}"),
                None,
            );
        }
    }

    fn enumeration(&mut self, value: &Value, schema: &Map<String, Value>, path: &FieldPath) {
        let allowed = schema.get("enum").and_then(Value::as_array);
        if let Some(allowed) = allowed
            && !allowed.contains(value)
        {
            let options: Vec<String> = allowed.iter().map(Value::to_string).collect();
            let suggestion = value
                .as_str()
                .and_then(|v| did_you_mean(v, allowed.iter().filter_map(Value::as_str)))
                .map(|s| format!("did you mean {s:?}? "))
                .unwrap_or_default();
            self.report(
                codes::NOT_IN_ENUM,
                path,
                format!("{value} is not one of {}", options.join(", ")),
                Some(format!("{suggestion}values are case-sensitive")),
            );
        }
    }

    fn cel_rules(
        &mut self,
        value: &Value,
        schema: &Map<String, Value>,
        old: Option<&Value>,
        path: &FieldPath,
    ) {
        let Some(entries) = schema
            .get("x-kubernetes-validations")
            .and_then(Value::as_array)
        else {
            return;
        };
        for entry in entries {
            let text = entry.get("rule").and_then(Value::as_str).unwrap_or("");
            let Some(rule) = rules::by_text(text) else {
                // crds/ and api::rules are generated from the same constants;
                // a test keeps every schema rule known.
                continue;
            };
            if (rule.holds)(value, old) == rules::Verdict::Fails {
                // Point at the value that breaks the rule (the root rule on
                // the name at `metadata.name`, not at `apiVersion`).
                let culprit = rules::culprit(rule, value);
                let mut at = path.clone();
                at.0.extend(culprit.path.0);
                self.findings.push(Finding {
                    code: rule.code,
                    path: at,
                    at_key: culprit.at_key,
                    node: path.clone(),
                    message: rule.message.to_owned(),
                    hint: rule_hint(rule),
                });
            }
        }
    }
}

fn same_keys(a: &Value, b: &Value, keys: &[&str]) -> bool {
    keys.iter().all(|k| a.get(*k) == b.get(*k))
}

fn pattern_hint(pattern: &str) -> Option<String> {
    let hint = match pattern {
        crate::api::common::DNS_LABEL_PATTERN => {
            "use lowercase letters, digits and '-', starting and ending with a letter or digit"
        }
        crate::api::common::DURATION_PATTERN => "use a Go duration such as 500ms, 10s, 1m30s or 2h",
        r"^([0-9]+)(.+)$" => "use a quantity with a unit, such as 10Gi or 500Mi",
        crd::QUANTITY_PATTERN => "use a Kubernetes quantity such as 100m, 1, 256Mi or 1Gi",
        _ => return None,
    };
    Some(hint.to_owned())
}

fn rule_hint(rule: &rules::CelRule) -> Option<String> {
    let hint = match rule.code {
        "MG101" => "child names embed the cluster name; choose one of at most 25 characters",
        "MG109" => "use a template with overrides, or a full inline spec, not both",
        "MG111" => {
            "set zoneId (node label topology.k8s.aws/zone-id) or region (topology.kubernetes.io/region)"
        }
        "MG114" => "use 1, 3 or 5 replicas",
        "MG127" => "v1alpha1 supports one shard per table group, named 0-inf",
        "MG122" => "declare one database named postgres with default: true, or leave databases out",
        _ => return None,
    };
    Some(hint.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn codes_of(kind: Kind, value: Value) -> Vec<(&'static str, String)> {
        admit(kind, &value, None)
            .findings
            .into_iter()
            .map(|f| (f.code, f.path.to_string()))
            .collect()
    }

    fn cluster(spec: Value) -> Value {
        json!({"apiVersion": "multigres.com/v1alpha1", "kind": "MultigresCluster",
               "metadata": {"name": "c"}, "spec": spec})
    }

    #[test]
    fn defaults_are_applied_and_recorded() {
        let admitted = admit(
            Kind::MultigresCluster,
            &cluster(
                json!({"postgresPasswordSecretRef": {"name": "s", "key": "k"},
                            "globalTopoServer": {"etcd": {"pvcDeletionPolicy": {"whenScaled": "Retain"}}}}),
            ),
            None,
        );
        assert!(admitted.findings.is_empty(), "{:?}", admitted.findings);
        let spec = &admitted.value["spec"];
        assert_eq!(spec["postgresSuperuser"], "postgres");
        assert_eq!(
            spec["pvcDeletionPolicy"],
            json!({"whenDeleted": "Delete", "whenScaled": "Delete"})
        );
        assert_eq!(
            spec["globalTopoServer"]["etcd"]["pvcDeletionPolicy"]["whenDeleted"],
            "Retain"
        );
        let defaulted: Vec<String> = admitted.defaulted.iter().map(ToString::to_string).collect();
        assert!(defaulted.contains(&"spec.postgresSuperuser".to_owned()));
    }

    #[test]
    fn structural_errors() {
        let found = codes_of(
            Kind::MultigresCluster,
            cluster(json!({
                "postgresPasswordSecretRef": {"name": "S", "key": "k"},
                "cells": [{"name": "a", "zoneID": "z"}, {"name": "a", "zoneId": "z", "region": "r"}],
                "logLevels": {"multiorch": "verbose"},
                "multiadmin": {"spec": {"replicas": 500}},
                "databases": [{"name": "postgres", "default": true,
                               "tablegroups": [{"name": "default", "default": true,
                                                "shards": [{"name": "0-inf", "spec": {"multiorch": {"cells": ["a", "a"]}}}]}]}],
            })),
        );
        let expected = [
            ("MG014", "spec.postgresPasswordSecretRef.name"),
            ("MG010", "spec.cells[0].zoneID"),
            ("MG111", "spec.cells[0]"),
            ("MG110", "spec.cells[1]"),
            ("MG018", "spec.cells[1]"),
            ("MG013", "spec.logLevels.multiorch"),
            ("MG016", "spec.multiadmin.spec.replicas"),
            (
                "MG018",
                "spec.databases[0].tablegroups[0].shards[0].spec.multiorch.cells[1]",
            ),
        ];
        for (code, path) in expected {
            assert!(
                found.contains(&(code, path.to_owned())),
                "missing {code} at {path}: {found:?}"
            );
        }
        assert_eq!(found.len(), expected.len(), "{found:?}");
    }

    #[test]
    fn wrong_types_get_hints() {
        let admitted = admit(
            Kind::CellTemplate,
            &json!({"metadata": {"name": "t"}, "spec": {"multigateway": {"replicas": "2", "podLabels": {"a": true}}}}),
            None,
        );
        let hints: Vec<_> = admitted
            .findings
            .iter()
            .map(|f| (f.code, f.hint.clone().unwrap_or_default()))
            .collect();
        assert_eq!(hints.len(), 2, "{hints:?}");
        assert!(hints.iter().all(|(c, _)| *c == "MG011"));
        assert!(hints.iter().any(|(_, h)| h.contains("without quotes")));
        assert!(hints.iter().any(|(_, h)| h.contains("booleans in YAML")));
    }

    #[test]
    fn transition_rules_need_the_old_version() {
        let new = cluster(
            json!({"postgresPasswordSecretRef": {"name": "s", "key": "k"},
                                 "cells": [{"name": "b", "zoneId": "z"}]}),
        );
        let old = cluster(
            json!({"postgresPasswordSecretRef": {"name": "s", "key": "k"},
                                 "cells": [{"name": "a", "zoneId": "z"}]}),
        );
        assert!(
            admit(Kind::MultigresCluster, &new, None)
                .findings
                .is_empty()
        );
        let found: Vec<_> = admit(Kind::MultigresCluster, &new, Some(&old))
            .findings
            .iter()
            .map(|f| f.code)
            .collect();
        assert_eq!(found, ["MG107"]);
    }

    #[test]
    fn every_schema_pattern_compiles() {
        fn walk(v: &Value, out: &mut Vec<String>) {
            match v {
                Value::Object(m) => {
                    if let Some(Value::String(p)) = m.get("pattern") {
                        out.push(p.clone());
                    }
                    m.values().for_each(|c| walk(c, out));
                }
                Value::Array(a) => a.iter().for_each(|c| walk(c, out)),
                _ => {}
            }
        }
        for kind in Kind::ALL {
            let mut sources = Vec::new();
            walk(crd::schema(kind), &mut sources);
            for source in sources {
                assert!(compiled(kind).patterns.contains_key(&source), "{source}");
            }
        }
    }

    #[test]
    fn nulls_are_pruned() {
        let admitted = admit(
            Kind::CellTemplate,
            &json!({"metadata": {"name": "t"}, "spec": {"multigateway": null}}),
            None,
        );
        assert!(admitted.findings.is_empty());
        assert_eq!(admitted.value["spec"], json!({}));
    }
}
