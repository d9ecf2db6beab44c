//! TableGroup status (upstream `tablegroup/status.go` and the pending
//! deletion of `tablegroup_controller.go`; runtime spec §7.4).

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::conditions::{self, AVAILABLE, READY_FOR_DELETION};
use super::{PENDING_DELETION, Planned, PlannedEvent, annotation_set, phase_change};
use crate::api::children::{Shard, TableGroup, TableGroupStatus};
use crate::api::status::Phase;
use crate::labels;
use crate::names::{ClusterNames, ShardId};

/// What the TableGroup controller reads for status.
pub struct TableGroupObserved<'a> {
    pub table_group: &'a TableGroup,
    /// Its child Shards.
    pub shards: &'a [Shard],
    /// The generation each desired Shard has after this reconcile's apply
    /// (full mode). A Shard not listed is compared with its own
    /// metadata.generation (runtime mode: nothing was applied).
    pub applied_generations: &'a BTreeMap<String, i64>,
}

/// The object names of the Shards the table group's spec asks for.
pub fn desired_shard_names(table_group: &TableGroup) -> Vec<String> {
    let meta = &table_group.metadata;
    let cluster = meta
        .labels
        .as_ref()
        .and_then(|l| l.get(labels::CLUSTER))
        .map(String::as_str)
        .unwrap_or_default();
    let names = ClusterNames::new(cluster, meta.namespace.as_deref().unwrap_or_default());
    let spec = &table_group.spec;
    spec.shards
        .iter()
        .map(|shard| {
            names.shard(&ShardId {
                database: &spec.database_name,
                table_group: &spec.table_group_name,
                shard: &shard.name,
            })
        })
        .collect()
}

fn is_terminating(shard: &Shard) -> bool {
    shard.metadata.deletion_timestamp.is_some()
}

fn pending_deletion(shard: &Shard) -> bool {
    annotation_set(&shard.metadata, PENDING_DELETION)
}

fn ready_for_deletion(shard: &Shard) -> bool {
    shard
        .status
        .as_ref()
        .is_some_and(|s| conditions::is_true(&s.conditions, READY_FOR_DELETION))
}

/// The status of a table group that is not pending deletion itself.
///
/// Cleanup is pending while a desired name still belongs to a Shard being
/// removed, or an undesired Shard is terminating, not yet annotated, or
/// annotated but not ReadyForDeletion (one that is ready is deleted in this
/// pass and no longer counts).
pub fn table_group_status(
    observed: &TableGroupObserved<'_>,
    now: &Time,
) -> Planned<TableGroupStatus> {
    let tg = observed.table_group;
    let previous = tg.status.clone().unwrap_or_default();
    let generation = tg.metadata.generation;
    let by_name: BTreeMap<&str, &Shard> = observed
        .shards
        .iter()
        .filter_map(|s| Some((s.metadata.name.as_deref()?, s)))
        .collect();

    let mut pending = false;
    let mut active = BTreeSet::new();
    for name in desired_shard_names(tg) {
        match by_name.get(name.as_str()) {
            Some(shard) if pending_deletion(shard) || is_terminating(shard) => pending = true,
            _ => {
                active.insert(name);
            }
        }
    }
    for shard in observed.shards {
        let name = shard.metadata.name.as_deref().unwrap_or_default();
        if active.contains(name) {
            continue;
        }
        if is_terminating(shard) || !pending_deletion(shard) || !ready_for_deletion(shard) {
            pending = true;
        }
    }

    let total = i32::try_from(tg.spec.shards.len()).unwrap_or(i32::MAX);
    let mut ready = 0;
    let mut degraded = false;
    for shard in observed.shards {
        let name = shard.metadata.name.as_deref().unwrap_or_default();
        if !active.contains(name) {
            continue;
        }
        let applied = observed
            .applied_generations
            .get(name)
            .copied()
            .unwrap_or_else(|| shard.metadata.generation.unwrap_or(0));
        let status = shard.status.as_ref();
        if status.and_then(|s| s.observed_generation).unwrap_or(0) != applied {
            continue;
        }
        match status.and_then(|s| s.phase) {
            Some(Phase::Healthy) => ready += 1,
            Some(Phase::Degraded) => degraded = true,
            _ => {}
        }
    }

    let (phase, message) = if degraded {
        (Phase::Degraded, "At least one shard is degraded".to_owned())
    } else if pending {
        (
            Phase::Progressing,
            "Waiting for shard cleanup to finish".to_owned(),
        )
    } else if total == 0 {
        (Phase::Initializing, "No Shards".to_owned())
    } else if ready == total {
        (Phase::Healthy, "Ready".to_owned())
    } else {
        (Phase::Progressing, format!("{ready}/{total} shards ready"))
    };

    let (mut up, mut reason, mut cond_message) = (
        false,
        "ShardsNotReady",
        format!("{ready}/{total} shards ready"),
    );
    match phase {
        Phase::Healthy => (up, reason) = (true, "ShardsReady"),
        Phase::Degraded => (reason, cond_message) = ("ShardDegraded", message.clone()),
        _ => {}
    }
    if total == 0 && !pending {
        (up, reason, cond_message) = (true, "NoShards", message.clone());
    }
    if pending && phase == Phase::Progressing {
        (reason, cond_message) = ("CleanupPending", message.clone());
    }

    let mut status = previous.clone();
    status.total_shards = total;
    status.ready_shards = ready;
    status.phase = Some(phase);
    status.message = Some(message);
    conditions::set(
        &mut status.conditions,
        conditions::condition(AVAILABLE, up, reason, cond_message, generation),
        now,
    );
    status.observed_generation = generation;
    let events = phase_change(previous.phase, status.phase)
        .into_iter()
        .collect();
    Planned { status, events }
}

/// A table group pending deletion (annotation `multigres.com/pending-deletion`):
/// once every child Shard is annotated, not terminating and
/// ReadyForDeletion, the status with ReadyForDeletion True `AllShardsReady`
/// and a Normal `ReadyForDeletion` event; `None` while some child is not
/// ready (the executor annotates the unannotated ones and requeues in 5 s).
///
/// Upstream: the event is emitted on every such pass; here only when the
/// condition becomes True, so a no-op reconcile emits nothing.
pub fn table_group_ready_for_deletion(
    table_group: &TableGroup,
    shards: &[Shard],
    now: &Time,
) -> Option<Planned<TableGroupStatus>> {
    let all_ready = shards
        .iter()
        .all(|s| !is_terminating(s) && pending_deletion(s) && ready_for_deletion(s));
    if !all_ready {
        return None;
    }
    let previous = table_group.status.clone().unwrap_or_default();
    let mut status = previous.clone();
    conditions::set(
        &mut status.conditions,
        conditions::condition(
            READY_FOR_DELETION,
            true,
            "AllShardsReady",
            "All child Shards are ready for deletion",
            table_group.metadata.generation,
        ),
        now,
    );
    let mut events = Vec::new();
    if !conditions::is_true(&previous.conditions, READY_FOR_DELETION) {
        events.push(PlannedEvent::normal(
            "ReadyForDeletion",
            format!(
                "TableGroup {} marked ready for deletion",
                table_group.metadata.name.as_deref().unwrap_or_default()
            ),
        ));
    }
    Some(Planned { status, events })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::children::{ShardResolvedSpec, ShardStatus};
    use crate::reconcile::status::conditions::tests::at;
    use crate::reconcile::status::status_changed;

    fn table_group(shards: &[&str]) -> TableGroup {
        let mut tg = TableGroup::new("c-postgres-default", Default::default());
        tg.metadata.namespace = Some("ns".into());
        tg.metadata.generation = Some(3);
        tg.metadata.labels = Some(BTreeMap::from([(labels::CLUSTER.into(), "c".into())]));
        tg.spec.database_name = "postgres".into();
        tg.spec.table_group_name = "default".into();
        tg.spec.shards = shards
            .iter()
            .map(|name| ShardResolvedSpec {
                name: (*name).into(),
                ..Default::default()
            })
            .collect();
        tg
    }

    fn shard_name(shard: &str) -> String {
        ClusterNames::new("c", "ns").shard(&ShardId {
            database: "postgres",
            table_group: "default",
            shard,
        })
    }

    /// A child Shard at generation 5 whose status observed `observed`.
    fn child(shard: &str, phase: Phase, observed: i64) -> Shard {
        let mut s = Shard::new(&shard_name(shard), Default::default());
        s.metadata.generation = Some(5);
        s.status = Some(ShardStatus {
            observed_generation: Some(observed),
            phase: Some(phase),
            ..Default::default()
        });
        s
    }

    fn pending(mut s: Shard) -> Shard {
        s.metadata.annotations = Some(BTreeMap::from([(
            PENDING_DELETION.into(),
            "2026-01-01T00:00:00Z".into(),
        )]));
        s
    }

    fn drained(mut s: Shard) -> Shard {
        let status = s.status.get_or_insert_with(Default::default);
        conditions::set(
            &mut status.conditions,
            conditions::condition(READY_FOR_DELETION, true, "DrainComplete", "", None),
            &at(1),
        );
        s
    }

    fn terminating(mut s: Shard) -> Shard {
        s.metadata.deletion_timestamp = Some(at(1));
        s
    }

    fn plan(tg: &TableGroup, shards: &[Shard]) -> TableGroupStatus {
        plan_applied(tg, shards, &BTreeMap::new())
    }

    fn plan_applied(
        tg: &TableGroup,
        shards: &[Shard],
        applied: &BTreeMap<String, i64>,
    ) -> TableGroupStatus {
        table_group_status(
            &TableGroupObserved {
                table_group: tg,
                shards,
                applied_generations: applied,
            },
            &at(100),
        )
        .status
    }

    fn summary(st: &TableGroupStatus) -> (Phase, String, i32, i32, String, String, String) {
        let c = conditions::find(&st.conditions, AVAILABLE).unwrap();
        (
            st.phase.unwrap(),
            st.message.clone().unwrap(),
            st.ready_shards,
            st.total_shards,
            c.status.clone(),
            c.reason.clone(),
            c.message.clone(),
        )
    }

    fn expect(
        phase: Phase,
        message: &str,
        ready: i32,
        total: i32,
        up: &str,
        reason: &str,
        cond: &str,
    ) -> (Phase, String, i32, i32, String, String, String) {
        (
            phase,
            message.into(),
            ready,
            total,
            up.into(),
            reason.into(),
            cond.into(),
        )
    }

    #[test]
    fn all_current_healthy_shards_make_it_healthy() {
        let tg = table_group(&["0-7f", "80-inf"]);
        let st = plan(
            &tg,
            &[
                child("0-7f", Phase::Healthy, 5),
                child("80-inf", Phase::Healthy, 5),
            ],
        );
        assert_eq!(
            summary(&st),
            expect(
                Phase::Healthy,
                "Ready",
                2,
                2,
                "True",
                "ShardsReady",
                "2/2 shards ready"
            )
        );
        assert_eq!(st.observed_generation, Some(3));
    }

    #[test]
    fn a_stale_shard_is_not_counted() {
        let tg = table_group(&["0-7f", "80-inf"]);
        let st = plan(
            &tg,
            &[
                child("0-7f", Phase::Healthy, 5),
                child("80-inf", Phase::Healthy, 4),
            ],
        );
        assert_eq!(
            summary(&st),
            expect(
                Phase::Progressing,
                "1/2 shards ready",
                1,
                2,
                "False",
                "ShardsNotReady",
                "1/2 shards ready"
            )
        );
        // Full mode: the generation the apply returned decides.
        let applied = BTreeMap::from([(shard_name("0-7f"), 6), (shard_name("80-inf"), 4)]);
        let st = plan_applied(
            &tg,
            &[
                child("0-7f", Phase::Healthy, 5),
                child("80-inf", Phase::Healthy, 4),
            ],
            &applied,
        );
        assert_eq!((st.ready_shards, st.phase), (1, Some(Phase::Progressing)));
        // A stale Degraded shard does not degrade the group.
        let st = plan(
            &tg,
            &[
                child("0-7f", Phase::Degraded, 4),
                child("80-inf", Phase::Healthy, 5),
            ],
        );
        assert_eq!(st.phase, Some(Phase::Progressing));
    }

    #[test]
    fn a_degraded_shard_wins() {
        let tg = table_group(&["0-inf"]);
        let st = plan(&tg, &[child("0-inf", Phase::Degraded, 5)]);
        assert_eq!(
            summary(&st),
            expect(
                Phase::Degraded,
                "At least one shard is degraded",
                0,
                1,
                "False",
                "ShardDegraded",
                "At least one shard is degraded"
            )
        );
    }

    #[test]
    fn no_shards_is_initializing_and_available() {
        let tg = table_group(&[]);
        let st = plan(&tg, &[]);
        assert_eq!(
            summary(&st),
            expect(
                Phase::Initializing,
                "No Shards",
                0,
                0,
                "True",
                "NoShards",
                "No Shards"
            )
        );
    }

    #[test]
    fn cleanup_pending_cases() {
        let tg = table_group(&["0-inf"]);
        let healthy = child("0-inf", Phase::Healthy, 5);
        let cleanup = expect(
            Phase::Progressing,
            "Waiting for shard cleanup to finish",
            1,
            1,
            "False",
            "CleanupPending",
            "Waiting for shard cleanup to finish",
        );
        // An undesired shard, not yet annotated; annotated, draining; terminating.
        for old in [
            child("old", Phase::Healthy, 5),
            pending(child("old", Phase::Healthy, 5)),
            terminating(drained(pending(child("old", Phase::Healthy, 5)))),
        ] {
            assert_eq!(summary(&plan(&tg, &[healthy.clone(), old])), cleanup);
        }
        // Drained: deleted in this pass, nothing pending.
        let gone = drained(pending(child("old", Phase::Healthy, 5)));
        assert_eq!(
            plan(&tg, &[healthy.clone(), gone]).phase,
            Some(Phase::Healthy)
        );
        // A desired name still held by a shard on its way out is not counted.
        let replaced = pending(child("0-inf", Phase::Healthy, 5));
        let st = plan(&tg, &[replaced]);
        assert_eq!(st.ready_shards, 0);
        assert_eq!(summary(&st).5, "CleanupPending");
        // With no shards left in spec, cleanup keeps Available False.
        let empty = table_group(&[]);
        let st = plan(&empty, &[pending(child("old", Phase::Healthy, 5))]);
        assert_eq!(
            summary(&st),
            expect(
                Phase::Progressing,
                "Waiting for shard cleanup to finish",
                0,
                0,
                "False",
                "CleanupPending",
                "Waiting for shard cleanup to finish"
            )
        );
        // Degraded still wins over cleanup, with its own reason.
        let st = plan(
            &tg,
            &[
                child("0-inf", Phase::Degraded, 5),
                child("old", Phase::Healthy, 5),
            ],
        );
        assert_eq!(summary(&st).5, "ShardDegraded");
    }

    #[test]
    fn unchanged_inputs_plan_the_live_status() {
        let mut tg = table_group(&["0-inf"]);
        let shards = [child("0-inf", Phase::Healthy, 5)];
        let first = table_group_status(
            &TableGroupObserved {
                table_group: &tg,
                shards: &shards,
                applied_generations: &BTreeMap::new(),
            },
            &at(100),
        );
        assert_eq!(first.events[0].message, "Transitioned from '' to 'Healthy'");
        tg.status = Some(first.status.clone());
        let again = table_group_status(
            &TableGroupObserved {
                table_group: &tg,
                shards: &shards,
                applied_generations: &BTreeMap::new(),
            },
            &at(900),
        );
        assert!(again.events.is_empty());
        assert!(!status_changed(tg.status.as_ref(), &again.status));
    }

    #[test]
    fn ready_for_deletion_waits_for_every_child() {
        let tg = table_group(&["0-inf"]);
        let ready = drained(pending(child("0-inf", Phase::Healthy, 5)));
        assert!(
            table_group_ready_for_deletion(&tg, &[child("0-inf", Phase::Healthy, 5)], &at(1))
                .is_none()
        );
        assert!(
            table_group_ready_for_deletion(
                &tg,
                &[pending(child("0-inf", Phase::Healthy, 5))],
                &at(1)
            )
            .is_none()
        );
        assert!(
            table_group_ready_for_deletion(&tg, &[terminating(ready.clone())], &at(1)).is_none()
        );
        let planned =
            table_group_ready_for_deletion(&tg, std::slice::from_ref(&ready), &at(7)).unwrap();
        let c = conditions::find(&planned.status.conditions, READY_FOR_DELETION).unwrap();
        assert_eq!(
            (c.status.as_str(), c.reason.as_str()),
            ("True", "AllShardsReady")
        );
        assert_eq!(c.message, "All child Shards are ready for deletion");
        assert_eq!(planned.events[0].reason, "ReadyForDeletion");
        assert_eq!(
            planned.events[0].message,
            "TableGroup c-postgres-default marked ready for deletion"
        );
        // No children at all: ready at once. Already True: no second event.
        let mut done = tg.clone();
        done.status = Some(planned.status);
        let again = table_group_ready_for_deletion(&done, &[], &at(9)).unwrap();
        assert!(again.events.is_empty());
        assert!(!status_changed(done.status.as_ref(), &again.status));
    }
}
