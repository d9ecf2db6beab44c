//! Pure status planners: an observed snapshot in, the status to write (and
//! the events to emit) out. No clock (`now` is a parameter) and no I/O.
//!
//! Every planner starts from the status read from the object and replaces
//! what its controller owns (phase, message, counts, its conditions), so
//! fields and conditions written by other steps (podRoles, backup health,
//! ReadyForDeletion, StorageClassValid, images) pass through unchanged and
//! [`status_changed`] can tell a no-op reconcile from a real change.
//!
//! The rules are upstream's (multigres-operator `pkg/util/status` and the
//! `updateStatus` of each controller); deviations are marked "Upstream:".

#[cfg(test)]
mod argocd;
pub mod cell;
pub mod cluster;
pub mod conditions;
pub mod pods;
pub mod shard;
pub mod table_group;
pub mod topo_server;
pub mod watches;

use serde::Serialize;
use serde_json::Value;

use crate::api::status::Phase;

pub use cell::{CellObserved, cell_ready_for_deletion, cell_status, local_topo_ready};
pub use cluster::{ClusterObserved, cluster_status, resolved_templates};
pub use shard::{DesiredConfig, ShardObserved, shard_ready_for_deletion, shard_status};
pub use table_group::{TableGroupObserved, table_group_ready_for_deletion, table_group_status};
pub use topo_server::{TopoServerObserved, topo_server_status};
pub use watches::{TemplateKind, clusters_using_template, shards_using_config_map};

/// A status to write and the events that go with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned<S> {
    pub status: S,
    pub events: Vec<PlannedEvent>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Normal,
    Warning,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Normal => "Normal",
            EventType::Warning => "Warning",
        }
    }
}

/// One Kubernetes Event on the reconciled object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedEvent {
    pub type_: EventType,
    pub reason: &'static str,
    pub message: String,
}

impl PlannedEvent {
    pub fn normal(reason: &'static str, message: String) -> Self {
        PlannedEvent {
            type_: EventType::Normal,
            reason,
            message,
        }
    }

    pub fn warning(reason: &'static str, message: String) -> Self {
        PlannedEvent {
            type_: EventType::Warning,
            reason,
            message,
        }
    }
}

/// The phase as upstream prints it (`''` when none was written).
pub fn phase_name(phase: Option<Phase>) -> &'static str {
    match phase {
        None => "",
        Some(Phase::Initializing) => "Initializing",
        Some(Phase::Progressing) => "Progressing",
        Some(Phase::Healthy) => "Healthy",
        Some(Phase::Degraded) => "Degraded",
        Some(Phase::Unknown) => "Unknown",
    }
}

/// Normal `PhaseChange` "Transitioned from 'A' to 'B'" when the phase moves.
pub fn phase_change(old: Option<Phase>, new: Option<Phase>) -> Option<PlannedEvent> {
    (old != new).then(|| {
        PlannedEvent::normal(
            "PhaseChange",
            format!(
                "Transitioned from '{}' to '{}'",
                phase_name(old),
                phase_name(new)
            ),
        )
    })
}

/// Whether writing `new` over the live status `old` changes anything. The
/// order of `conditions` does not count (the API server keys them by type),
/// everything else does, lastTransitionTime included. No live status means
/// a write.
pub fn status_changed<S: Serialize>(old: Option<&S>, new: &S) -> bool {
    let Some(old) = old else {
        return true;
    };
    normalized(old) != normalized(new)
}

/// The status as JSON, conditions sorted by type.
fn normalized<S: Serialize>(status: &S) -> Value {
    let mut value = serde_json::to_value(status).unwrap_or(Value::Null);
    if let Some(Value::Array(list)) = value.get_mut("conditions") {
        list.sort_by(|a, b| {
            let key = |v: &Value| v.get("type").and_then(Value::as_str).map(str::to_owned);
            key(a).cmp(&key(b))
        });
    }
    value
}

/// Annotation a parent sets on a child it removes gracefully (RFC 3339 time).
pub const PENDING_DELETION: &str = "multigres.com/pending-deletion";

/// The annotation `key` is set to a non-empty value (Go reads an absent one as "").
pub(crate) fn annotation_set(
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    key: &str,
) -> bool {
    meta.annotations
        .as_ref()
        .and_then(|a| a.get(key))
        .is_some_and(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::children::CellStatus;
    use conditions::tests::at;

    fn with_conditions(types: &[(&str, i64)]) -> CellStatus {
        let mut status = CellStatus {
            phase: Some(Phase::Healthy),
            gateway_replicas: 2,
            ..Default::default()
        };
        for (t, second) in types {
            conditions::set(
                &mut status.conditions,
                conditions::condition(t, true, "R", "m", Some(1)),
                &at(*second),
            );
        }
        status
    }

    #[test]
    fn no_live_status_is_a_change() {
        assert!(status_changed(None, &CellStatus::default()));
    }

    #[test]
    fn the_same_status_is_no_change_whatever_the_condition_order() {
        let a = with_conditions(&[("Available", 1), ("Ready", 2)]);
        let b = with_conditions(&[("Ready", 2), ("Available", 1)]);
        assert!(!status_changed(Some(&a), &a.clone()));
        assert!(!status_changed(Some(&a), &b));
    }

    #[test]
    fn any_field_or_transition_time_is_a_change() {
        let a = with_conditions(&[("Available", 1), ("Ready", 2)]);
        let moved = with_conditions(&[("Available", 1), ("Ready", 3)]);
        assert!(status_changed(Some(&a), &moved));
        let mut replicas = a.clone();
        replicas.gateway_ready_replicas = 1;
        assert!(status_changed(Some(&a), &replicas));
        let mut message = a.clone();
        message.conditions[0].message = "other".into();
        assert!(status_changed(Some(&a), &message));
        let fewer = with_conditions(&[("Available", 1)]);
        assert!(status_changed(Some(&a), &fewer));
    }

    #[test]
    fn phase_change_event_names_both_phases() {
        assert_eq!(
            phase_change(Some(Phase::Healthy), Some(Phase::Healthy)),
            None
        );
        let event = phase_change(None, Some(Phase::Progressing)).unwrap();
        assert_eq!(event.type_, EventType::Normal);
        assert_eq!(event.reason, "PhaseChange");
        assert_eq!(event.message, "Transitioned from '' to 'Progressing'");
        let event = phase_change(Some(Phase::Progressing), Some(Phase::Degraded)).unwrap();
        assert_eq!(
            event.message,
            "Transitioned from 'Progressing' to 'Degraded'"
        );
    }
}
