//! Would a server-side apply change anything? Answered from the live object
//! alone, so a reconcile after a restart or a leader change writes nothing
//! when nothing is to change (an apply that changes nothing is still a
//! write request).
//!
//! A server-side apply by our field manager leaves an object as it is when
//! two things hold:
//!
//! - the fields our manager owns (its `managedFields` entry, `fieldsV1`)
//!   are exactly the fields of the applied object: none would be dropped,
//!   none added;
//! - every value applied is the live value (the server may have defaulted
//!   more around it; that stays).
//!
//! `fieldsV1` is a tree: `f:NAME` is a field of a map, `k:{KEYS}` an element
//! of a list keyed by the fields KEYS, `v:VALUE` an element of a set, `.`
//! the node itself; a node without children is owned whole (a leaf, or an
//! atomic map or list). Whatever this module cannot place (an `i:` index,
//! a value the server normalised) counts as a change: the apply is sent,
//! and it is a no-op on the server. A false "unchanged" would lose an
//! edit; a false "changed" costs one request.

use serde_json::{Map, Value};

/// True if applying `desired` would leave `live` unchanged, given `owned`,
/// the `fieldsV1` of our manager's Apply entry on `live`.
pub fn holds(desired: &Value, live: &Value, owned: &Value) -> bool {
    let (Some(owned), Some(desired)) = (owned.as_object(), applied_fields(desired)) else {
        return false;
    };
    // The object itself is a map of fields, never owned whole.
    same_fields(&desired, live, owned)
}

/// `desired` without what `fieldsV1` never lists: the type and the name.
fn applied_fields(desired: &Value) -> Option<Map<String, Value>> {
    let mut fields = desired.as_object()?.clone();
    fields.remove("apiVersion");
    fields.remove("kind");
    if let Some(Value::Object(metadata)) = fields.get_mut("metadata") {
        metadata.remove("name");
        metadata.remove("namespace");
        if metadata.is_empty() {
            fields.remove("metadata");
        }
    }
    Some(fields)
}

/// `desired` and the owned tree `owned` name the same fields, and `live`
/// holds `desired`'s values at them.
fn same(desired: &Value, live: &Value, owned: &Map<String, Value>) -> bool {
    let children = owned.keys().filter(|k| k.as_str() != ".").count();
    if children == 0 {
        return contains(desired, live);
    }
    match desired {
        Value::Object(fields) => same_fields(fields, live, owned),
        Value::Array(items) => {
            let Some(live_items) = live.as_array() else {
                return false;
            };
            items.len() == children
                && items.iter().all(|item| {
                    owned
                        .iter()
                        .any(|(path, sub)| element(item, live_items, path, sub))
                })
        }
        _ => false,
    }
}

/// The map `desired` has exactly the `f:` fields of `owned`, each the same
/// as in `live`.
fn same_fields(desired: &Map<String, Value>, live: &Value, owned: &Map<String, Value>) -> bool {
    let children = owned.keys().filter(|k| k.as_str() != ".").count();
    desired.len() == children
        && desired.iter().all(|(name, value)| {
            match (owned.get(&format!("f:{name}")), live.get(name)) {
                (Some(Value::Object(sub)), Some(live)) => same(value, live, sub),
                _ => false,
            }
        })
}

/// `item`, a desired list element, is the element `path` names (`k:` or
/// `v:`), and the live list holds it.
fn element(item: &Value, live_items: &[Value], path: &str, sub: &Value) -> bool {
    if let Some(keys) = path.strip_prefix("k:") {
        let Ok(Value::Object(keys)) = serde_json::from_str::<Value>(keys) else {
            return false;
        };
        // A key field the render leaves out is one the server defaulted
        // (a port's protocol): it matches.
        let named = keys
            .iter()
            .all(|(k, v)| item.get(k).is_none_or(|mine| numbers_equal(mine, v)));
        let live_item = live_items.iter().find(|l| {
            keys.iter()
                .all(|(k, v)| l.get(k).is_some_and(|x| numbers_equal(x, v)))
        });
        match (named, live_item, sub.as_object()) {
            (true, Some(live_item), Some(sub)) => same(item, live_item, sub),
            _ => false,
        }
    } else if let Some(value) = path.strip_prefix("v:") {
        serde_json::from_str::<Value>(value).is_ok_and(|v| numbers_equal(&v, item))
            && live_items.iter().any(|l| numbers_equal(l, item))
    } else {
        false
    }
}

/// Every value of `desired` is in `live` (maps may hold more; lists are
/// compared element by element).
fn contains(desired: &Value, live: &Value) -> bool {
    match (desired, live) {
        (Value::Object(d), Value::Object(l)) => d
            .iter()
            .all(|(k, v)| l.get(k).is_some_and(|lv| contains(v, lv))),
        (Value::Array(d), Value::Array(l)) => {
            d.len() == l.len() && d.iter().zip(l).all(|(d, l)| contains(d, l))
        }
        (d, l) => numbers_equal(d, l),
    }
}

/// Equal, with `1` and `1.0` the same number (typed objects and the render
/// may write a number either way).
fn numbers_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A Service as our render writes it.
    fn desired() -> Value {
        json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "s", "namespace": "ns", "labels": {"app": "a"},
                         "ownerReferences": [{"uid": "u1", "name": "c"}]},
            "spec": {"ports": [{"name": "client", "port": 2379, "targetPort": "client"}],
                     "selector": {"app": "a"}},
        })
    }

    /// What the API server stores after applying `desired()`: defaults
    /// around it, a cluster IP.
    fn live() -> Value {
        json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "s", "namespace": "ns", "uid": "x", "resourceVersion": "9",
                         "labels": {"app": "a"},
                         "ownerReferences": [{"uid": "u1", "name": "c"}]},
            "spec": {"clusterIP": "10.0.0.1", "type": "ClusterIP",
                     "ports": [{"name": "client", "port": 2379, "protocol": "TCP",
                                "targetPort": "client"}],
                     "selector": {"app": "a"}},
        })
    }

    /// Its `fieldsV1` as the API server records it for our manager.
    fn owned() -> Value {
        json!({
            "f:metadata": {"f:labels": {"f:app": {}},
                           "f:ownerReferences": {"k:{\"uid\":\"u1\"}": {".": {}, "f:uid": {}, "f:name": {}}}},
            "f:spec": {
                "f:ports": {"k:{\"port\":2379,\"protocol\":\"TCP\"}":
                    {".": {}, "f:name": {}, "f:port": {}, "f:targetPort": {}}},
                "f:selector": {},
            },
        })
    }

    #[test]
    fn an_object_as_the_server_stored_our_apply_holds_it() {
        assert!(holds(&desired(), &live(), &owned()));
    }

    #[test]
    fn a_changed_value_is_a_change() {
        let mut edited = desired();
        edited["spec"]["ports"][0]["port"] = json!(2380);
        assert!(!holds(&edited, &live(), &owned()));
        let mut drifted = live();
        drifted["metadata"]["labels"]["app"] = json!("b");
        assert!(!holds(&desired(), &drifted, &owned()));
        // An atomic map (owned whole) with one more entry live.
        let mut atomic = live();
        atomic["spec"]["selector"]["extra"] = json!("x");
        assert!(holds(&desired(), &atomic, &owned()), "the map holds ours");
        let mut fewer = desired();
        fewer["spec"]["selector"]["more"] = json!("y");
        assert!(!holds(&fewer, &live(), &owned()));
    }

    #[test]
    fn a_field_added_or_dropped_by_the_render_is_a_change() {
        let mut added = desired();
        added["metadata"]["labels"]["team"] = json!("t");
        assert!(!holds(&added, &live(), &owned()));
        let mut dropped = desired();
        dropped["metadata"]["labels"] = json!({});
        assert!(
            !holds(&dropped, &live(), &owned()),
            "the server would remove a label"
        );
        let mut no_ports = desired();
        no_ports["spec"]["ports"] = json!([]);
        assert!(!holds(&no_ports, &live(), &owned()));
    }

    #[test]
    fn a_new_owner_is_a_change() {
        let mut moved = desired();
        moved["metadata"]["ownerReferences"][0]["uid"] = json!("u2");
        assert!(!holds(&moved, &live(), &owned()));
    }

    #[test]
    fn without_an_entry_of_ours_everything_is_a_change() {
        assert!(!holds(&desired(), &live(), &Value::Null));
        assert!(!holds(&desired(), &live(), &json!({})));
    }

    #[test]
    fn set_elements_are_matched_by_value() {
        let desired = json!({"metadata": {"finalizers": ["a", "b"]}});
        let live = json!({"metadata": {"finalizers": ["b", "a", "c"]}});
        let owned =
            json!({"f:metadata": {"f:finalizers": {".": {}, "v:\"a\"": {}, "v:\"b\"": {}}}});
        assert!(holds(&desired, &live, &owned));
        let fewer = json!({"metadata": {"finalizers": ["a"]}});
        assert!(!holds(&fewer, &live, &owned));
    }

    #[test]
    fn numbers_compare_by_value() {
        assert!(contains(&json!({"n": 1}), &json!({"n": 1.0, "m": 2})));
        assert!(!contains(&json!([1]), &json!([1, 2])));
    }
}
