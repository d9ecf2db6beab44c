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
//! - **Quiet when idle.** An object whose desired bytes were applied before
//!   and whose live version has not moved since is not applied again: a
//!   reconcile with nothing to do writes nothing.
//! - **Upstream's deletion order.** A Cell, TableGroup or Shard that left the
//!   render is first marked `multigres.com/pending-deletion`, and deleted once
//!   its controller reports `ReadyForDeletion` (it drains, or removes its
//!   local topology server, first). Objects built from a child that is
//!   itself going away are left to garbage collection, so nothing is removed
//!   ahead of its owner.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

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
    /// `metadata.generation` where the kind has one, else the resourceVersion:
    /// what moves when someone else changes the object.
    pub version: String,
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
        let version = match meta("/generation").and_then(Value::as_i64) {
            Some(generation) => format!("g{generation}"),
            None => format!(
                "r{}",
                meta("/resourceVersion")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
            ),
        };
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
            version,
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

/// A past apply: the hash of the bytes sent and the live version it left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub hash: String,
    pub version: String,
}

/// What the planner sees of one cluster.
pub struct Observed<'a> {
    pub cluster_name: &'a str,
    pub cluster_uid: &'a str,
    /// The render's objects for this cluster (inputs excluded).
    pub desired: &'a [Desired],
    /// Live objects that carry this cluster's labels and an owner of ours.
    pub live: &'a BTreeMap<ObjectKey, Live>,
    /// What this process applied before (lost on restart: then everything
    /// is applied once more, which changes nothing on the server).
    pub applied: &'a HashMap<ObjectKey, Applied>,
}

/// One write.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Server-side apply of `value` (ownerReferences filled in); `hash`
    /// identifies the bytes for the next pass's "unchanged" check.
    Apply {
        key: ObjectKey,
        value: Value,
        hash: String,
    },
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
        let hash = hash_of(&value);
        let unchanged = match (observed.applied.get(&key), live) {
            (Some(applied), Some(live)) => applied.hash == hash && applied.version == live.version,
            _ => false,
        };
        if !unchanged {
            plan.actions.push(Action::Apply { key, value, hash });
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

/// A short, stable hash of an object's bytes.
pub fn hash_of(value: &Value) -> String {
    let digest = Sha256::digest(value.to_string().as_bytes());
    digest.iter().take(12).map(|b| format!("{b:02x}")).collect()
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

    fn plan(
        desired: &[Desired],
        live: &[(ObjectKey, Live)],
        applied: &HashMap<ObjectKey, Applied>,
    ) -> Plan {
        let live: BTreeMap<_, _> = live.iter().cloned().collect();
        full(&Observed {
            cluster_name: "c",
            cluster_uid: "uid-c",
            desired,
            live: &live,
            applied,
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
        let plan = plan(&[cell(), gateway()], &[], &HashMap::new());
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
        let plan = plan(&[cell(), gateway()], &[live_cell], &HashMap::new());
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
    fn an_object_applied_before_and_unchanged_since_is_not_applied_again() {
        let first = plan(&[cell()], &[], &HashMap::new());
        let Action::Apply { key, hash, .. } = &first.actions[0] else {
            unreachable!()
        };
        let live_cell = live(&object("Cell", "c-zone-a"), "uid-cell", &["uid-c"]);
        let mut applied = HashMap::new();
        applied.insert(
            key.clone(),
            Applied {
                hash: hash.clone(),
                version: live_cell.1.version.clone(),
            },
        );
        assert_eq!(
            plan(&[cell()], std::slice::from_ref(&live_cell), &applied),
            Plan::default()
        );

        // Someone else changed it (its generation moved): applied again.
        let mut moved = live_cell.clone();
        moved.1.version = "g2".into();
        assert_eq!(
            applied_keys(&plan(&[cell()], &[moved], &applied)),
            ["Cell c-zone-a"]
        );

        // The render changed: applied again.
        let mut edited = cell();
        edited.value["spec"]["x"] = json!(2);
        assert_eq!(
            applied_keys(&plan(&[edited], &[live_cell], &applied)),
            ["Cell c-zone-a"]
        );
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
            &HashMap::new(),
        );
        // The gateway is left to garbage collection, after its Cell.
        assert_eq!(marked.actions, [Action::MarkPendingDeletion(key.clone())]);

        cell_live.pending_deletion = true;
        let waiting = plan(
            &[],
            &[(key.clone(), cell_live.clone()), gateway_live.clone()],
            &HashMap::new(),
        );
        assert!(waiting.actions.is_empty());
        assert_eq!(waiting.waiting.len(), 1);

        cell_live.ready_for_deletion = true;
        let deleting = plan(
            &[],
            &[(key.clone(), cell_live), gateway_live],
            &HashMap::new(),
        );
        assert_eq!(deleting.actions, [Action::Delete(key)]);
    }

    #[test]
    fn objects_that_are_not_children_are_deleted_at_once() {
        let service = live(
            &json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "old"}}),
            "uid-s",
            &["uid-c"],
        );
        let plan = plan(&[], std::slice::from_ref(&service), &HashMap::new());
        assert_eq!(plan.actions, [Action::Delete(service.0)]);
    }

    #[test]
    fn a_terminating_object_is_waited_for_not_applied() {
        let (key, mut cell_live) = live(&object("Cell", "c-zone-a"), "uid-a", &["uid-c"]);
        cell_live.terminating = true;
        let plan = plan(&[cell()], &[(key, cell_live)], &HashMap::new());
        assert!(plan.actions.is_empty());
        assert_eq!(plan.waiting, ["Cell c-zone-a is being deleted"]);
    }
}
