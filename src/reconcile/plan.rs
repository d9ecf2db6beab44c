//! The full mode's decisions, pure: what to apply, what to mark for
//! deletion and what to delete, from the render of a cluster and what the
//! cluster holds. The executor (`apply.rs`) only carries them out.
//!
//! Three rules shape the plan:
//!
//! - **Owners first.** Every object gets an `ownerReference` to its parent
//!   (the cluster, or the child it was built from) so garbage collection
//!   works; a parent that does not exist yet has no UID, so its objects wait
//!   for the next pass.
//! - **Quiet when idle.** An object whose live version already holds the
//!   render (unchanged.rs: the fields our manager owns and their values) is
//!   not applied again: a reconcile with nothing to do writes nothing, also
//!   the first one after a restart or a change of leader.
//! - **Upstream's deletion order.** A Cell, TableGroup or Shard that left the
//!   render is first marked `multigres.com/pending-deletion`, and deleted once
//!   its controller reports `ReadyForDeletion` (it drains, or removes its
//!   local topology server, first). Objects built from a child that is
//!   itself going away are left to garbage collection, so nothing is removed
//!   ahead of its owner.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::api::Kind;
use crate::compile::Parent;

/// The field manager of every write, as upstream's.
pub const FIELD_MANAGER: &str = "multigres-operator";
/// Marks a child whose parent no longer wants it (upstream's name).
pub use super::status::PENDING_DELETION;

/// An object's identity in a namespace.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey {
    pub api_version: String,
    pub kind: String,
    pub name: String,
}

impl ObjectKey {
    pub fn of(value: &Value) -> Self {
        let text = |pointer: &str| {
            value
                .pointer(pointer)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        Self {
            api_version: text("/apiVersion"),
            kind: text("/kind"),
            name: text("/metadata/name"),
        }
    }

    fn child_kind(&self) -> Option<Kind> {
        if self.api_version != crate::api::API_VERSION {
            return None;
        }
        Kind::ALL.into_iter().find(|k| k.name() == self.kind)
    }
}

impl std::fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.kind, self.name)
    }
}

/// An object the render holds, and whom it belongs to.
#[derive(Debug, Clone)]
pub struct Desired {
    pub value: Value,
    pub parent: Parent,
}

/// What the planner needs to know of a live object.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Live {
    pub key: Option<ObjectKey>,
    pub uid: String,
    /// The object, without its status and managedFields.
    pub object: Value,
    /// The `fieldsV1` of our field manager's Apply entry (null without one).
    pub owned_fields: Value,
    /// UIDs of its owners.
    pub owners: Vec<String>,
    /// Marked `multigres.com/pending-deletion`.
    pub pending_deletion: bool,
    /// Its `ReadyForDeletion` condition is True.
    pub ready_for_deletion: bool,
    /// Has a deletionTimestamp.
    pub terminating: bool,
}

impl Live {
    pub fn of(value: &Value) -> Self {
        let meta = |pointer: &str| value.pointer(&format!("/metadata{pointer}"));
        let owned_fields = meta("/managedFields")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|entry| {
                entry["manager"] == FIELD_MANAGER
                    && entry["operation"] == "Apply"
                    && entry.get("subresource").is_none_or(Value::is_null)
            })
            .map(|entry| entry["fieldsV1"].clone())
            .unwrap_or(Value::Null);
        let mut object = value.clone();
        if let Some(fields) = object.as_object_mut() {
            fields.remove("status");
        }
        if let Some(Value::Object(metadata)) = object.get_mut("metadata") {
            metadata.remove("managedFields");
        }
        let ready_for_deletion = value
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .is_some_and(|conditions| {
                conditions
                    .iter()
                    .any(|c| c["type"] == "ReadyForDeletion" && c["status"] == "True")
            });
        Self {
            key: Some(ObjectKey::of(value)),
            uid: meta("/uid")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            object,
            owned_fields,
            owners: meta("/ownerReferences")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|o| o["uid"].as_str().map(str::to_owned))
                .collect(),
            pending_deletion: meta("/annotations")
                .and_then(|a| a.get(PENDING_DELETION))
                .is_some(),
            ready_for_deletion,
            terminating: meta("/deletionTimestamp").is_some(),
        }
    }
}

/// What the planner sees of one cluster.
pub struct Observed<'a> {
    pub cluster_name: &'a str,
    pub cluster_uid: &'a str,
    /// The render's objects for this cluster (inputs excluded).
    pub desired: &'a [Desired],
    /// Live objects that carry this cluster's labels and an owner of ours.
    pub live: &'a BTreeMap<ObjectKey, Live>,
}

/// One write.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Server-side apply of `value` (ownerReferences filled in).
    Apply { key: ObjectKey, value: Value },
    /// Annotate `multigres.com/pending-deletion` (the first step of
    /// upstream's deletion handshake).
    MarkPendingDeletion(ObjectKey),
    /// Delete (foreground: owned objects go first, as garbage collection
    /// orders them).
    Delete(ObjectKey),
}

/// The plan of one pass.
#[derive(Debug, Default, PartialEq)]
pub struct Plan {
    pub actions: Vec<Action>,
    /// Objects that wait for their parent to exist, or children that wait
    /// for `ReadyForDeletion`: the reconcile comes back soon.
    pub waiting: Vec<String>,
}

/// Plans one pass of the full mode for one cluster.
pub fn full(observed: &Observed<'_>) -> Plan {
    let mut plan = Plan::default();
    let uid_of_child = |kind: Kind, name: &str| {
        observed
            .live
            .iter()
            .find(|(key, _)| key.child_kind() == Some(kind) && key.name == name)
            .map(|(_, live)| live.uid.as_str())
            .filter(|uid| !uid.is_empty())
    };
    let mut wanted = BTreeSet::new();
    for desired in observed.desired {
        let key = ObjectKey::of(&desired.value);
        wanted.insert(key.clone());
        let live = observed.live.get(&key);
        if live.is_some_and(|l| l.terminating) {
            plan.waiting.push(format!("{key} is being deleted"));
            continue;
        }
        let (owner_kind, owner_name, owner_uid) = match &desired.parent {
            Parent::Cluster => (
                "MultigresCluster",
                observed.cluster_name,
                Some(observed.cluster_uid),
            ),
            Parent::Child { kind, name } => (kind.name(), name.as_str(), uid_of_child(*kind, name)),
        };
        let Some(owner_uid) = owner_uid else {
            plan.waiting.push(format!(
                "{key} waits for its owner {owner_kind} {owner_name}"
            ));
            continue;
        };
        let mut value = desired.value.clone();
        value["metadata"]["ownerReferences"] = json!([{
            "apiVersion": crate::api::API_VERSION,
            "kind": owner_kind,
            "name": owner_name,
            "uid": owner_uid,
            "controller": true,
            "blockOwnerDeletion": true,
        }]);
        let unchanged = live
            .is_some_and(|live| super::unchanged::holds(&value, &live.object, &live.owned_fields));
        if !unchanged {
            plan.actions.push(Action::Apply { key, value });
        }
    }

    let leaving: BTreeMap<&ObjectKey, &Live> = observed
        .live
        .iter()
        .filter(|(key, _)| !wanted.contains(*key))
        .collect();
    let leaving_uids: BTreeSet<&str> = leaving.values().map(|l| l.uid.as_str()).collect();
    for (key, live) in &leaving {
        if live.terminating {
            plan.waiting.push(format!("{key} is being deleted"));
            continue;
        }
        // Its owner leaves too: garbage collection removes it after the
        // owner, in the owner's order.
        if live
            .owners
            .iter()
            .any(|o| leaving_uids.contains(o.as_str()))
        {
            continue;
        }
        let handshake = matches!(
            key.child_kind(),
            Some(Kind::Cell | Kind::TableGroup | Kind::Shard)
        );
        if !handshake || live.ready_for_deletion {
            plan.actions.push(Action::Delete((*key).clone()));
        } else if live.pending_deletion {
            plan.waiting.push(format!(
                "{key} is pending deletion, not yet ReadyForDeletion"
            ));
        } else {
            plan.actions
                .push(Action::MarkPendingDeletion((*key).clone()));
            plan.waiting.push(format!(
                "{key} is pending deletion, not yet ReadyForDeletion"
            ));
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(kind: &str, name: &str) -> Value {
        let api_version = if kind == "Deployment" {
            "apps/v1"
        } else {
            crate::api::API_VERSION
        };
        json!({"apiVersion": api_version, "kind": kind, "metadata": {"name": name}, "spec": {"x": 1}})
    }

    fn live(value: &Value, uid: &str, owners: &[&str]) -> (ObjectKey, Live) {
        let mut value = value.clone();
        value["metadata"]["uid"] = json!(uid);
        value["metadata"]["generation"] = json!(1);
        value["metadata"]["ownerReferences"] =
            Value::Array(owners.iter().map(|o| json!({"uid": o})).collect());
        (ObjectKey::of(&value), Live::of(&value))
    }

    fn plan(desired: &[Desired], live: &[(ObjectKey, Live)]) -> Plan {
        let live: BTreeMap<_, _> = live.iter().cloned().collect();
        full(&Observed {
            cluster_name: "c",
            cluster_uid: "uid-c",
            desired,
            live: &live,
        })
    }

    fn cell() -> Desired {
        Desired {
            value: object("Cell", "c-zone-a"),
            parent: Parent::Cluster,
        }
    }

    fn gateway() -> Desired {
        Desired {
            value: object("Deployment", "c-zone-a-multigateway"),
            parent: Parent::Child {
                kind: Kind::Cell,
                name: "c-zone-a".into(),
            },
        }
    }

    fn applied_keys(plan: &Plan) -> Vec<String> {
        plan.actions
            .iter()
            .filter_map(|a| match a {
                Action::Apply { key, .. } => Some(key.to_string()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn owners_come_first_and_their_objects_wait_for_their_uid() {
        let plan = plan(&[cell(), gateway()], &[]);
        assert_eq!(applied_keys(&plan), ["Cell c-zone-a"]);
        assert_eq!(
            plan.waiting,
            ["Deployment c-zone-a-multigateway waits for its owner Cell c-zone-a"]
        );
        let Action::Apply { value, .. } = &plan.actions[0] else {
            unreachable!()
        };
        assert_eq!(
            value["metadata"]["ownerReferences"],
            json!([{"apiVersion": "multigres.com/v1alpha1", "kind": "MultigresCluster",
                    "name": "c", "uid": "uid-c", "controller": true, "blockOwnerDeletion": true}])
        );
    }

    #[test]
    fn once_the_owner_exists_its_objects_point_at_its_uid() {
        let live_cell = live(&object("Cell", "c-zone-a"), "uid-cell", &["uid-c"]);
        let plan = plan(&[cell(), gateway()], &[live_cell]);
        assert_eq!(
            applied_keys(&plan),
            ["Cell c-zone-a", "Deployment c-zone-a-multigateway"]
        );
        let Action::Apply { value, .. } = &plan.actions[1] else {
            unreachable!()
        };
        assert_eq!(value["metadata"]["ownerReferences"][0]["uid"], "uid-cell");
        assert!(plan.waiting.is_empty());
    }

    #[test]
    fn an_object_that_holds_the_render_is_not_applied_again() {
        let first = plan(&[cell()], &[]);
        let Action::Apply { value, .. } = &first.actions[0] else {
            unreachable!()
        };
        // The Cell as the server stores our apply: a uid, and the fields
        // our manager owns.
        let mut stored = value.clone();
        stored["metadata"]["uid"] = json!("uid-cell");
        stored["metadata"]["managedFields"] = json!([{
            "manager": FIELD_MANAGER, "operation": "Apply", "fieldsType": "FieldsV1",
            "fieldsV1": {
                "f:metadata": {"f:ownerReferences": {"k:{\"uid\":\"uid-c\"}": {
                    ".": {}, "f:apiVersion": {}, "f:kind": {}, "f:name": {}, "f:uid": {},
                    "f:controller": {}, "f:blockOwnerDeletion": {}}}},
                "f:spec": {"f:x": {}},
            },
        }]);
        let stored = (ObjectKey::of(&stored), Live::of(&stored));
        assert_eq!(
            plan(&[cell()], std::slice::from_ref(&stored)),
            Plan::default()
        );

        // Someone else changed a field we own: applied again.
        let mut drifted = stored.clone();
        drifted.1.object["spec"]["x"] = json!(3);
        assert_eq!(
            applied_keys(&plan(&[cell()], &[drifted])),
            ["Cell c-zone-a"]
        );

        // The render changed: applied again.
        let mut edited = cell();
        edited.value["spec"]["x"] = json!(2);
        assert_eq!(applied_keys(&plan(&[edited], &[stored])), ["Cell c-zone-a"]);
    }

    #[test]
    fn a_child_that_leaves_is_marked_then_deleted_once_ready() {
        let (key, mut cell_live) = live(&object("Cell", "c-zone-b"), "uid-b", &["uid-c"]);
        let gateway_live = live(
            &object("Deployment", "c-zone-b-multigateway"),
            "uid-gw",
            &["uid-b"],
        );
        let marked = plan(
            &[],
            &[(key.clone(), cell_live.clone()), gateway_live.clone()],
        );
        // The gateway is left to garbage collection, after its Cell.
        assert_eq!(marked.actions, [Action::MarkPendingDeletion(key.clone())]);

        cell_live.pending_deletion = true;
        let waiting = plan(
            &[],
            &[(key.clone(), cell_live.clone()), gateway_live.clone()],
        );
        assert!(waiting.actions.is_empty());
        assert_eq!(waiting.waiting.len(), 1);

        cell_live.ready_for_deletion = true;
        let deleting = plan(&[], &[(key.clone(), cell_live), gateway_live]);
        assert_eq!(deleting.actions, [Action::Delete(key)]);
    }

    #[test]
    fn objects_that_are_not_children_are_deleted_at_once() {
        let service = live(
            &json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "old"}}),
            "uid-s",
            &["uid-c"],
        );
        let plan = plan(&[], std::slice::from_ref(&service));
        assert_eq!(plan.actions, [Action::Delete(service.0)]);
    }

    #[test]
    fn a_terminating_object_is_waited_for_not_applied() {
        let (key, mut cell_live) = live(&object("Cell", "c-zone-a"), "uid-a", &["uid-c"]);
        cell_live.terminating = true;
        let plan = plan(&[cell()], &[(key, cell_live)]);
        assert!(plan.actions.is_empty());
        assert_eq!(plan.waiting, ["Cell c-zone-a is being deleted"]);
    }
}
