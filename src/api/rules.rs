//! The CEL rules of the upstream CRDs (the `x-kubernetes-validations` that
//! upstream's `api/v1alpha1` markers generate), once.
//!
//! The type definitions attach them to the generated schemas
//! (`x-kubernetes-validations`), and the offline validator finds each rule in
//! [`ALL`] by its text and judges it with the Rust predicate beside it. A test
//! evaluates the CEL text itself (with a real CEL engine) against the invalid
//! corpus, so the two cannot drift apart.

use serde_json::Value;

use crate::field_path::FieldPath;

/// One `x-kubernetes-validations` entry and its offline equivalent.
#[derive(Debug)]
pub struct CelRule {
    /// Stable diagnostic code, `MG1` + the rule's number: its place in [`ALL`].
    pub code: &'static str,
    pub rule: &'static str,
    pub message: &'static str,
    /// Judges the rule: `value` is the node the rule sits on (`self`), `old`
    /// the same node in the previous version of the object (`oldSelf`).
    /// Transition rules are only judged when `old` is given.
    pub holds: fn(value: &Value, old: Option<&Value>) -> Verdict,
}

/// The outcome of one rule on one node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Holds,
    Fails,
    /// A transition rule without a previous version: not evaluated.
    NotApplicable,
}

impl From<bool> for Verdict {
    fn from(holds: bool) -> Self {
        if holds {
            Verdict::Holds
        } else {
            Verdict::Fails
        }
    }
}

impl CelRule {
    /// Whether the rule compares with the previous version (`oldSelf`).
    pub fn is_transition(&self) -> bool {
        self.rule.contains("oldSelf")
    }

    /// The schema entry: `{"rule": ..., "message": ...}`.
    pub fn schema_entry(&self) -> Value {
        serde_json::json!({"rule": self.rule, "message": self.message})
    }
}

fn has(value: &Value, field: &str) -> bool {
    value.get(field).is_some()
}

fn str_field<'v>(value: &'v Value, field: &str) -> &'v str {
    value.get(field).and_then(Value::as_str).unwrap_or("")
}

fn map_keys(value: &Value) -> impl Iterator<Item = &String> {
    value.as_object().into_iter().flat_map(|m| m.keys())
}

fn strings(value: &Value) -> impl Iterator<Item = &str> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

/// CEL `size()` of a string counts Unicode code points.
fn size(s: &str) -> usize {
    s.chars().count()
}

fn transition(old: Option<&Value>, check: impl FnOnce(&Value) -> bool) -> Verdict {
    match old {
        Some(old) => check(old).into(),
        None => Verdict::NotApplicable,
    }
}

macro_rules! rules {
    ($($name:ident = $code:literal, $rule:literal, $message:literal, $holds:expr;)*) => {
        $(pub const $name: CelRule = CelRule {
            code: $code,
            rule: $rule,
            message: $message,
            holds: $holds,
        };)*
        /// Every rule, numbered in the order of the upstream CRDs' rules.
        pub const ALL: &[&CelRule] = &[$(&$name),*];
    };
}

rules! {
    CLUSTER_NAME_LENGTH = "MG101",
        "self.metadata.name.size() <= 25",
        "MultigresCluster name must be at most 25 characters",
        |v, _| (size(v.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("")) <= 25).into();
    BACKUP_S3_REQUIRED = "MG102",
        "self.type != 's3' || has(self.s3)",
        "s3 config is required when type is 's3'",
        |v, _| (str_field(v, "type") != "s3" || has(v, "s3")).into();
    BACKUP_FILESYSTEM_REQUIRED = "MG103",
        "self.type != 'filesystem' || has(self.filesystem)",
        "filesystem config is required when type is 'filesystem'",
        |v, _| (str_field(v, "type") != "filesystem" || has(v, "filesystem")).into();
    BACKUP_ENCRYPTION_IMMUTABLE = "MG104",
        "has(self.encryption) == has(oldSelf.encryption) && (!has(self.encryption) || self.encryption == oldSelf.encryption)",
        "encryption is immutable and cannot be added, removed, or changed after creation",
        |v, old| transition(old, |old| v.get("encryption") == old.get("encryption"));
    S3_SERVICE_ACCOUNT_OR_SECRET = "MG105",
        "!(has(self.serviceAccountName) && size(self.serviceAccountName) > 0 && has(self.credentialsSecret) && size(self.credentialsSecret) > 0)",
        "serviceAccountName and credentialsSecret are mutually exclusive",
        |v, _| (str_field(v, "serviceAccountName").is_empty() || str_field(v, "credentialsSecret").is_empty()).into();
    S3_SERVICE_ACCOUNT_OR_ENV = "MG106",
        "!(has(self.serviceAccountName) && size(self.serviceAccountName) > 0 && has(self.useEnvCredentials) && self.useEnvCredentials)",
        "serviceAccountName and useEnvCredentials are mutually exclusive — IRSA credentials are handled automatically",
        |v, _| (str_field(v, "serviceAccountName").is_empty()
            || v.get("useEnvCredentials").and_then(Value::as_bool) != Some(true)).into();
    CELLS_APPEND_ONLY = "MG107",
        "oldSelf.all(c, c.name in self.map(x, x.name))",
        "Cells cannot be removed or renamed (Append-Only)",
        |v, old| transition(old, |old| {
            let names = |list: &Value| -> Vec<String> {
                list.as_array().into_iter().flatten().map(|c| str_field(c, "name").to_owned()).collect()
            };
            let now = names(v);
            names(old).iter().all(|name| now.contains(name))
        });
    CELL_SPEC_OR_TEMPLATE = "MG108",
        "!(has(self.spec) && has(self.cellTemplate))",
        "cannot specify both 'spec' and 'cellTemplate'",
        |v, _| (!(has(v, "spec") && has(v, "cellTemplate"))).into();
    // §7 rows 9 (cells) and 26 (shards) are the same rule text and message.
    SPEC_OR_OVERRIDES = "MG109",
        "!(has(self.spec) && has(self.overrides))",
        "cannot specify both 'spec' and 'overrides'",
        |v, _| (!(has(v, "spec") && has(v, "overrides"))).into();
    ZONE_OR_REGION_NOT_BOTH = "MG110",
        "!(has(self.zoneId) && has(self.region))",
        "cannot specify both 'zoneId' and 'region'",
        |v, _| (!(has(v, "zoneId") && has(v, "region"))).into();
    ZONE_OR_REGION_REQUIRED = "MG111",
        "has(self.zoneId) || has(self.region)",
        "at least one of 'zoneId' or 'region' must be specified",
        |v, _| (has(v, "zoneId") || has(v, "region")).into();
    LOCAL_TOPO_ONE_REQUIRED = "MG112",
        "has(self.etcd) || has(self.external)",
        "must specify either 'etcd' or 'external'",
        |v, _| (has(v, "etcd") || has(v, "external")).into();
    LOCAL_TOPO_ONLY_ONE = "MG113",
        "!(has(self.etcd) && has(self.external))",
        "only one of 'etcd' or 'external' can be set",
        |v, _| (!(has(v, "etcd") && has(v, "external"))).into();
    ETCD_REPLICAS_ODD = "MG114",
        "self % 2 == 1",
        "etcd replicas must be an odd number (1, 3, 5); even numbers provide no additional fault tolerance over the next lower odd number",
        |v, _| (v.as_i64().is_some_and(|n| n % 2 == 1)).into();
    EXTERNAL_ENDPOINTS_URLS = "MG115",
        "self.all(x, x.matches('^https?://'))",
        "endpoints must be valid URLs",
        |v, _| strings(v).all(|x| x.starts_with("http://") || x.starts_with("https://")).into();
    GLOBAL_TOPO_EXACTLY_ONE = "MG116",
        "[has(self.etcd), has(self.external), has(self.templateRef)].filter(x, x).size() == 1",
        "must specify exactly one of 'etcd', 'external', or 'templateRef'",
        |v, _| ((["etcd", "external", "templateRef"].iter().filter(|f| has(v, f)).count()) == 1).into();
    TOPO_ETCD_REQUIRED = "MG117",
        "has(self.etcd)",
        "must specify 'etcd' configuration",
        |v, _| has(v, "etcd").into();
    SPEC_OR_TEMPLATE_REQUIRED = "MG118",
        "has(self.spec) || has(self.templateRef)",
        "must specify either 'spec' or 'templateRef'",
        |v, _| (has(v, "spec") || has(v, "templateRef")).into();
    SPEC_OR_TEMPLATE_NOT_BOTH = "MG119",
        "!(has(self.spec) && has(self.templateRef))",
        "cannot specify both 'spec' and 'templateRef'",
        |v, _| (!(has(v, "spec") && has(v, "templateRef"))).into();
    POD_ANNOTATION_SIZES = "MG120",
        "self.all(k, size(k) < 64 && size(self[k]) < 256)",
        "annotation keys must be <64 chars and values <256 chars",
        |v, _| v.as_object().into_iter().flatten().all(|(k, val)| {
            size(k) < 64 && size(val.as_str().unwrap_or("")) < 256
        }).into();
    POD_LABEL_SIZES = "MG121",
        "self.all(k, size(k) < 64 && size(self[k]) < 64)",
        "label keys and values must be <64 chars",
        |v, _| v.as_object().into_iter().flatten().all(|(k, val)| {
            size(k) < 64 && size(val.as_str().unwrap_or("")) < 64
        }).into();
    ONLY_POSTGRES_DATABASE = "MG122",
        "self.all(db, db.name == 'postgres' && db.default == true)",
        "in v1alpha1, only the single system database named 'postgres' (marked default: true) is supported",
        |v, _| v.as_array().into_iter().flatten().all(|db| {
            str_field(db, "name") == "postgres" && db.get("default").and_then(Value::as_bool) == Some(true)
        }).into();
    ONE_DEFAULT_TABLEGROUP = "MG123",
        "self.filter(x, has(x.default) && x.default).size() == 1",
        "every database must have exactly one tablegroup marked as default",
        |v, _| (v.as_array().into_iter().flatten()
            .filter(|tg| tg.get("default").and_then(Value::as_bool) == Some(true)).count() == 1).into();
    DEFAULT_TABLEGROUP_NAME = "MG124",
        "!has(self.default) || !self.default || self.name == 'default'",
        "the default tablegroup must be named 'default'",
        |v, _| (v.get("default").and_then(Value::as_bool) != Some(true) || str_field(v, "name") == "default").into();
    SHARD_SPEC_OR_TEMPLATE = "MG125",
        "!(has(self.spec) && has(self.shardTemplate))",
        "cannot specify both 'spec' and 'shardTemplate'",
        |v, _| (!(has(v, "spec") && has(v, "shardTemplate"))).into();
    SHARD_NAME_0_INF = "MG127",
        "self == '0-inf'",
        "shardName must be strictly equal to '0-inf' in this version",
        |v, _| (v.as_str() == Some("0-inf")).into();
    CLUSTER_POOL_NAME_LENGTH = "MG128",
        "self.all(key, size(key) <= 25)",
        "pool names must be <= 25 chars",
        |v, _| map_keys(v).all(|k| size(k) <= 25).into();
    POOLS_APPEND_ONLY = "MG129",
        "oldSelf.all(k, k in self)",
        "Pools cannot be removed or renamed in this version (Append-Only)",
        |v, old| transition(old, |old| map_keys(old).all(|k| v.get(k).is_some()));
    POOL_NAME_LENGTH = "MG130",
        "self.all(key, size(key) < 63)",
        "pool names must be < 63 chars",
        |v, _| map_keys(v).all(|k| size(k) < 63).into();
    POOL_CELLS_APPEND_ONLY = "MG131",
        "oldSelf.all(c, c in self)",
        "Cells cannot be removed from a pool (Append-Only)",
        |v, old| transition(old, |old| {
            let now: Vec<&str> = strings(v).collect();
            strings(old).all(|c| now.contains(&c))
        });
    EXTERNAL_ANNOTATIONS_RESERVED = "MG132",
        "!has(self.annotations) || self.annotations.all(k, !k.startsWith('multigres.com/'))",
        "annotations must not use multigres.com/ prefix (reserved for operator)",
        |v, _| map_keys(v.get("annotations").unwrap_or(&Value::Null))
            .all(|k| !k.starts_with("multigres.com/")).into();
}

/// Where a failure of a rule is reported, relative to the node the rule sits
/// on (`self`): the deepest node that holds the offending value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Culprit {
    pub path: FieldPath,
    /// Whether the offending value is a map key (point at the key).
    pub at_key: bool,
}

impl Culprit {
    fn at(path: FieldPath) -> Self {
        Self {
            path,
            at_key: false,
        }
    }

    fn key(key: &str) -> Self {
        Self {
            path: FieldPath::root().key(key),
            at_key: true,
        }
    }
}

/// The first entry of the map `value` whose key or value breaks `ok`.
fn bad_entry(value: &Value, ok: impl Fn(&str, &str) -> (bool, bool)) -> Option<Culprit> {
    value.as_object()?.iter().find_map(|(k, v)| {
        let (key_ok, value_ok) = ok(k, v.as_str().unwrap_or(""));
        if !key_ok {
            Some(Culprit::key(k))
        } else if !value_ok {
            Some(Culprit::at(FieldPath::root().key(k)))
        } else {
            None
        }
    })
}

/// The field `field` of `value` if it is written, else `value` itself (the
/// object that lacks it).
fn field_or_self(value: &Value, field: &str) -> FieldPath {
    if has(value, field) {
        FieldPath::root().key(field)
    } else {
        FieldPath::root()
    }
}

/// Where to report a failure of `rule` on `value` (see [`Culprit`]).
///
/// A rule about one value points at it: a list item, a map key or value, a
/// field. A rule about how fields combine (both set, neither set) or about a
/// field the node lacks points at the node itself, as does a transition rule
/// about a removed entry (which the new version no longer holds). When
/// several values break a rule, the first is reported, as the API server
/// reports one error per rule and node.
pub fn culprit(rule: &CelRule, value: &Value) -> Culprit {
    let found = match rule.code {
        "MG101" => Some(Culprit::at(FieldPath::root().key("metadata").key("name"))),
        // Added or changed: the new encryption; removed: the backup.
        "MG104" => Some(Culprit::at(field_or_self(value, "encryption"))),
        "MG115" => value.as_array().and_then(|items| {
            items
                .iter()
                .position(|x| {
                    !x.as_str()
                        .is_some_and(|x| x.starts_with("http://") || x.starts_with("https://"))
                })
                .map(|i| Culprit::at(FieldPath::root().index(i)))
        }),
        "MG120" => bad_entry(value, |k, v| (size(k) < 64, size(v) < 256)),
        "MG121" => bad_entry(value, |k, v| (size(k) < 64, size(v) < 64)),
        "MG122" => value.as_array().and_then(|dbs| {
            dbs.iter().enumerate().find_map(|(i, db)| {
                let item = FieldPath::root().index(i);
                if str_field(db, "name") != "postgres" {
                    Some(Culprit::at(item.key("name")).within(db, "name"))
                } else if db.get("default").and_then(Value::as_bool) != Some(true) {
                    Some(Culprit::at(item.key("default")).within(db, "default"))
                } else {
                    None
                }
            })
        }),
        // Too many defaults: the second one; none at all: the list.
        "MG123" => value.as_array().and_then(|tgs| {
            tgs.iter()
                .enumerate()
                .filter(|(_, tg)| tg.get("default").and_then(Value::as_bool) == Some(true))
                .nth(1)
                .map(|(i, _)| Culprit::at(FieldPath::root().index(i).key("default")))
        }),
        "MG124" => Some(Culprit::at(field_or_self(value, "name"))),
        "MG128" => map_keys(value)
            .find(|k| size(k) > 25)
            .map(|k| Culprit::key(k)),
        "MG130" => map_keys(value)
            .find(|k| size(k) >= 63)
            .map(|k| Culprit::key(k)),
        "MG132" => map_keys(value.get("annotations").unwrap_or(&Value::Null))
            .find(|k| k.starts_with("multigres.com/"))
            .map(|k| Culprit {
                path: FieldPath::root().key("annotations").key(k),
                at_key: true,
            }),
        _ => None,
    };
    found.unwrap_or_else(|| Culprit::at(FieldPath::root()))
}

impl Culprit {
    /// The item the field belongs to, when the field is not written.
    fn within(mut self, item: &Value, field: &str) -> Self {
        if !has(item, field) {
            self.path.0.pop();
        }
        self
    }
}

/// The rule whose CEL text is `rule`, if it is one of ours.
pub fn by_text(rule: &str) -> Option<&'static CelRule> {
    ALL.iter().copied().find(|r| r.rule == rule)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_texts_are_unique() {
        let mut codes: Vec<_> = ALL.iter().map(|r| r.code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), ALL.len());
        // Two rules share a text only if they are the same rule.
        for rule in ALL {
            assert_eq!(by_text(rule.rule).unwrap().code, rule.code, "{}", rule.rule);
        }
    }

    #[test]
    fn transition_rules_need_the_old_object() {
        let transitions: Vec<_> = ALL
            .iter()
            .filter(|r| r.is_transition())
            .map(|r| r.code)
            .collect();
        assert_eq!(transitions, ["MG104", "MG107", "MG129", "MG131"]);
        for rule in ALL.iter().filter(|r| r.is_transition()) {
            assert_eq!((rule.holds)(&Value::Null, None), Verdict::NotApplicable);
        }
    }
}
