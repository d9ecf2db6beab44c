//! Shard status (upstream `shard/status.go`; runtime spec §7.3).

use std::collections::BTreeSet;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::conditions::{self, AVAILABLE, READY_FOR_DELETION};
use super::pods::{self, is_crash_looping, is_draining, is_ready, is_terminating};
use super::{Planned, PlannedEvent, phase_change};
use crate::api::children::{PostgresConfigStatus, Shard, ShardStatus};
use crate::api::status::Phase;
use crate::labels;
use crate::manifests::shard::ShardContext;

/// Pods per cell of a pool that names no count (upstream `DefaultPoolReplicas`).
pub const DEFAULT_POOL_REPLICAS: i32 = 1;

/// The PostgreSQL configuration the shard should run, as the reconcile
/// rendered it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DesiredConfig<'a> {
    /// Hashes a pod carries (annotations `multigres.com/postgres-config-hash`
    /// and `multigres.com/postgres-reload-hash`) once it runs the config.
    Hashes { restart: &'a str, reload: &'a str },
    /// Rendering or reading the config failed (e.g. a missing
    /// `postgresConfigRef` ConfigMap).
    Error(&'a str),
}

/// What the Shard controller reads for status.
pub struct ShardObserved<'a> {
    pub shard: &'a Shard,
    /// The shard's pool pods; the `multigres.com/pool` and
    /// `multigres.com/cell` labels place each in its pool and cell.
    pub pods: &'a [Pod],
    /// The shard's multiorch Deployments (found by name, one per cell).
    pub multiorch: &'a [Deployment],
    /// The multiorch pods; the `multigres.com/cell` label places each.
    pub multiorch_pods: &'a [Pod],
    /// The rendered config; `None` leaves `status.postgresConfig` as read.
    pub config: Option<DesiredConfig<'a>>,
}

/// The status the Shard controller writes, and its `PoolEmpty` and
/// `PhaseChange` events. podRoles, backup fields and conditions other than
/// Available pass through from the observed status.
pub fn shard_status(observed: &ShardObserved<'_>, now: &Time) -> Planned<ShardStatus> {
    let shard = observed.shard;
    let previous = shard.status.clone().unwrap_or_default();
    let generation = shard.metadata.generation;
    let mut status = previous.clone();
    let mut events = Vec::new();
    let mut cells = BTreeSet::new();

    let pools = pools(observed, &mut cells, &mut events);
    let (orch_ready, orch_degraded) = multiorch(observed, &mut cells);

    status.cells = cells.into_iter().collect();
    status.orch_ready = orch_ready;
    status.pools_ready = pools.desired > 0 && pools.desired == pools.ready;
    // readyReplicas is `omitempty` upstream: zero is not written.
    status.ready_replicas = (pools.ready != 0).then_some(pools.ready);
    if let Some(config) = observed.config {
        status.postgres_config = Some(postgres_config(
            previous.postgres_config.as_ref(),
            config,
            pools.config_in_progress,
            now,
        ));
    }

    let (phase, message) = if pools.degraded {
        (
            Phase::Degraded,
            "One or more pool pods are crash-looping".to_owned(),
        )
    } else if orch_degraded {
        (
            Phase::Degraded,
            "One or more Multiorch pods are crash-looping".to_owned(),
        )
    } else if status.pools_ready && status.orch_ready {
        (Phase::Healthy, "Ready".to_owned())
    } else {
        (
            Phase::Progressing,
            format!(
                "PoolsReady: {}, OrchReady: {}",
                status.pools_ready, status.orch_ready
            ),
        )
    };
    status.phase = Some(phase);
    status.message = Some(message);

    let all_ready = pools.ready == pools.desired && pools.desired > 0;
    let available = if all_ready {
        conditions::condition(
            AVAILABLE,
            true,
            "AllPodsReady",
            format!("All {} pods are ready", pools.ready),
            generation,
        )
    } else {
        conditions::condition(
            AVAILABLE,
            false,
            "NotAllPodsReady",
            format!("{}/{} pods ready", pools.ready, pools.desired),
            generation,
        )
    };
    conditions::set(&mut status.conditions, available, now);
    status.observed_generation = generation;

    events.extend(phase_change(previous.phase, status.phase));
    Planned { status, events }
}

/// A shard pending deletion whose pods are all gone: ReadyForDeletion True
/// `DrainComplete` and a Normal `ReadyForDeletion` event, once (upstream
/// writes it with a merge patch only while it is not yet True). `None` when
/// it already is.
pub fn shard_ready_for_deletion(shard: &Shard, now: &Time) -> Option<Planned<ShardStatus>> {
    let previous = shard.status.clone().unwrap_or_default();
    if conditions::is_true(&previous.conditions, READY_FOR_DELETION) {
        return None;
    }
    let mut status = previous;
    let message = "All pods drained; shard is ready for deletion";
    let c = conditions::condition(
        READY_FOR_DELETION,
        true,
        "DrainComplete",
        message,
        shard.metadata.generation,
    );
    conditions::set(&mut status.conditions, c, now);
    Some(Planned {
        status,
        events: vec![PlannedEvent::normal("ReadyForDeletion", message.to_owned())],
    })
}

#[derive(Default)]
struct Pools {
    desired: i32,
    ready: i32,
    degraded: bool,
    config_in_progress: bool,
}

/// Counts desired and ready pods over every pool and cell of the spec. A
/// terminating or draining pod is not ready; `PoolEmpty` is planned for
/// every pool/cell that wants pods and has none ready.
fn pools(
    observed: &ShardObserved<'_>,
    cells: &mut BTreeSet<String>,
    events: &mut Vec<PlannedEvent>,
) -> Pools {
    let mut out = Pools::default();
    let mut live = 0;
    let mut all_config_current = true;
    let mut config_apply_failing = false;
    let hashes = match observed.config {
        Some(DesiredConfig::Hashes { restart, reload }) => Some((restart, reload)),
        _ => None,
    };
    // Sorted pool order (upstream walks a Go map; see §13.22).
    for (pool_name, pool) in &observed.shard.spec.pools {
        let replicas = pool.replicas_per_cell.unwrap_or(DEFAULT_POOL_REPLICAS);
        for cell in &pool.cells {
            cells.insert(cell.clone());
            let mut cell_ready = 0;
            let in_cell = observed.pods.iter().filter(|pod| {
                pods::label(pod, labels::POOL) == Some(pool_name.as_str())
                    && pods::label(pod, labels::CELL) == Some(cell.as_str())
            });
            for pod in in_cell {
                if is_terminating(pod) || is_draining(pod) {
                    continue;
                }
                live += 1;
                let current = hashes.is_some_and(|(restart, reload)| {
                    pods::annotation(pod, labels::CONFIG_HASH) == Some(restart)
                        && pods::annotation(pod, labels::RELOAD_HASH) == Some(reload)
                });
                all_config_current &= current;
                if is_crash_looping(pod) {
                    out.degraded = true;
                    config_apply_failing |= current;
                }
                if is_ready(pod) {
                    cell_ready += 1;
                }
            }
            if replicas > 0 && cell_ready == 0 {
                events.push(PlannedEvent::warning(
                    "PoolEmpty",
                    format!("Pool {pool_name} in cell {cell} has 0 ready replicas"),
                ));
            }
            out.desired += replicas;
            out.ready += cell_ready;
        }
    }
    out.config_in_progress = (live > 0 && !all_config_current) || config_apply_failing;
    out
}

/// (orchReady, any multiorch pod crash-looping). Ready when every multiorch
/// cell has its Deployment, with replicas set, its generation observed and
/// all replicas ready.
///
/// Upstream stops at the first missing Deployment, so later cells are
/// neither added to `cells` nor checked for crash loops; here every cell
/// is (the spec's "sorted union of pool cells and multiorch cells").
fn multiorch(observed: &ShardObserved<'_>, cells: &mut BTreeSet<String>) -> (bool, bool) {
    let Ok(ctx) = ShardContext::new(observed.shard) else {
        // No identity, no Deployment name: nothing can be ready.
        return (false, false);
    };
    let orch_cells = ctx.multiorch_cells();
    if orch_cells.is_empty() {
        // Upstream: "multiorch has no cells" is an error that leaves orchReady false.
        return (false, false);
    }
    let names = ctx.names();
    let mut ready = true;
    let mut degraded = false;
    for cell in &orch_cells {
        cells.insert(cell.clone());
        let name = names.multiorch_deployment(&ctx.id(), cell);
        let deployment = observed
            .multiorch
            .iter()
            .find(|d| d.metadata.name.as_deref() == Some(name.as_str()));
        ready &= deployment.is_some_and(deployment_ready);
        let cell_pods = observed
            .multiorch_pods
            .iter()
            .filter(|pod| pods::label(pod, labels::CELL) == Some(cell.as_str()));
        degraded |= pods::any_crash_looping(cell_pods);
    }
    (ready, degraded)
}

fn deployment_ready(deployment: &Deployment) -> bool {
    let Some(replicas) = deployment.spec.as_ref().and_then(|s| s.replicas) else {
        return false;
    };
    let status = deployment.status.clone().unwrap_or_default();
    status.observed_generation.unwrap_or(0) == deployment.metadata.generation.unwrap_or(0)
        && status.ready_replicas.unwrap_or(0) == replicas
}

/// Upstream `setPostgresConfigStatus`: an error is reported as is; else in
/// progress while a live pod lacks the desired hashes (or one that has them
/// crash-loops); else settled, and lastAppliedAt is stamped only on the
/// move into settled.
fn postgres_config(
    previous: Option<&PostgresConfigStatus>,
    desired: DesiredConfig<'_>,
    in_progress: bool,
    now: &Time,
) -> PostgresConfigStatus {
    let mut out = PostgresConfigStatus {
        last_applied_at: previous.and_then(|p| p.last_applied_at.clone()),
        ..Default::default()
    };
    match desired {
        DesiredConfig::Error(error) => out.error = Some(error.to_owned()),
        DesiredConfig::Hashes { .. } if in_progress => out.in_progress = Some(true),
        DesiredConfig::Hashes { .. } => {
            let was_unsettled = previous.is_none_or(|p| {
                p.in_progress == Some(true) || p.error.as_deref().is_some_and(|e| !e.is_empty())
            });
            if was_unsettled {
                out.last_applied_at = Some(conditions::whole_seconds(now));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::common::PoolSpec;
    use crate::reconcile::status::EventType;
    use crate::reconcile::status::conditions::tests::at;
    use crate::reconcile::status::pods::tests::{
        annotated, pod, terminated, terminating, waiting, with_container, with_init_container,
    };
    use k8s_openapi::api::apps::v1::{DeploymentSpec, DeploymentStatus};
    use std::collections::BTreeMap;

    /// A shard of cluster `c` with pools `(name, cells, replicasPerCell)`.
    fn shard(pools: &[(&str, &[&str], i32)]) -> Shard {
        let mut shard = Shard::new("c-postgres-default-0", Default::default());
        shard.metadata.namespace = Some("ns".into());
        shard.metadata.generation = Some(4);
        shard.metadata.labels = Some(BTreeMap::from([(labels::CLUSTER.into(), "c".into())]));
        shard.spec.database_name = "postgres".into();
        shard.spec.table_group_name = "default".into();
        shard.spec.shard_name = "0-inf".into();
        for (name, cells, replicas) in pools {
            shard.spec.pools.insert(
                (*name).into(),
                PoolSpec {
                    cells: cells.iter().map(|c| (*c).to_owned()).collect(),
                    replicas_per_cell: Some(*replicas),
                    ..Default::default()
                },
            );
        }
        shard
    }

    fn pool_pod(pool: &str, cell: &str, i: usize, ready: bool) -> Pod {
        pod(
            &format!("{pool}-{cell}-{i}"),
            &[(labels::POOL, pool), (labels::CELL, cell)],
            ready,
        )
    }

    /// The multiorch Deployment of `cell`, `ready` of `replicas` ready.
    fn orch(shard: &Shard, cell: &str, replicas: i32, ready: i32) -> Deployment {
        let ctx = ShardContext::new(shard).unwrap();
        let mut d = Deployment::default();
        d.metadata.name = Some(ctx.names().multiorch_deployment(&ctx.id(), cell));
        d.metadata.generation = Some(2);
        d.spec = Some(DeploymentSpec {
            replicas: Some(replicas),
            ..Default::default()
        });
        d.status = Some(DeploymentStatus {
            observed_generation: Some(2),
            ready_replicas: Some(ready),
            ..Default::default()
        });
        d
    }

    fn plan(
        shard: &Shard,
        pods: &[Pod],
        orchs: &[Deployment],
        orch_pods: &[Pod],
    ) -> Planned<ShardStatus> {
        shard_status(
            &ShardObserved {
                shard,
                pods,
                multiorch: orchs,
                multiorch_pods: orch_pods,
                config: None,
            },
            &at(100),
        )
    }

    fn available(status: &ShardStatus) -> (String, String, String) {
        let c = conditions::find(&status.conditions, AVAILABLE).unwrap();
        (c.status.clone(), c.reason.clone(), c.message.clone())
    }

    #[test]
    fn all_pods_and_orchestrators_ready_is_healthy() {
        let s = shard(&[("main", &["z1", "z2"], 2)]);
        let pods: Vec<Pod> = ["z1", "z2"]
            .iter()
            .flat_map(|cell| (0..2).map(move |i| pool_pod("main", cell, i, true)))
            .collect();
        let orchs = [orch(&s, "z1", 1, 1), orch(&s, "z2", 1, 1)];
        let planned = plan(&s, &pods, &orchs, &[]);
        let st = &planned.status;
        assert_eq!(st.phase, Some(Phase::Healthy));
        assert_eq!(st.message.as_deref(), Some("Ready"));
        assert!(st.pools_ready && st.orch_ready);
        assert_eq!(st.ready_replicas, Some(4));
        assert_eq!(st.cells, ["z1", "z2"]);
        assert_eq!(st.observed_generation, Some(4));
        assert_eq!(
            available(st),
            (
                "True".into(),
                "AllPodsReady".into(),
                "All 4 pods are ready".into()
            )
        );
        assert_eq!(
            conditions::find(&st.conditions, AVAILABLE)
                .unwrap()
                .observed_generation,
            Some(4)
        );
        // First status: only the phase change.
        assert_eq!(planned.events.len(), 1);
        assert_eq!(
            planned.events[0].message,
            "Transitioned from '' to 'Healthy'"
        );
    }

    #[test]
    fn missing_pods_are_progressing_with_pool_empty_warnings() {
        let s = shard(&[("main", &["z1", "z2"], 2)]);
        let pods = [
            pool_pod("main", "z1", 0, true),
            pool_pod("main", "z1", 1, false),
        ];
        let orchs = [orch(&s, "z1", 1, 1), orch(&s, "z2", 1, 1)];
        let planned = plan(&s, &pods, &orchs, &[]);
        let st = &planned.status;
        assert_eq!(st.phase, Some(Phase::Progressing));
        assert_eq!(
            st.message.as_deref(),
            Some("PoolsReady: false, OrchReady: true")
        );
        assert_eq!(st.ready_replicas, Some(1));
        assert_eq!(
            available(st),
            (
                "False".into(),
                "NotAllPodsReady".into(),
                "1/4 pods ready".into()
            )
        );
        let warnings: Vec<_> = planned
            .events
            .iter()
            .filter(|e| e.type_ == EventType::Warning)
            .collect();
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].reason, "PoolEmpty");
        assert_eq!(
            warnings[0].message,
            "Pool main in cell z2 has 0 ready replicas"
        );
    }

    #[test]
    fn no_ready_pod_writes_no_ready_replicas() {
        let s = shard(&[("main", &["z1"], 1)]);
        let st = plan(&s, &[], &[orch(&s, "z1", 1, 1)], &[]).status;
        assert_eq!(st.ready_replicas, None);
        assert!(!st.pools_ready);
        assert_eq!(available(&st).2, "0/1 pods ready");
    }

    #[test]
    fn terminating_and_draining_pods_are_not_ready_and_extra_pods_make_pools_not_ready() {
        let s = shard(&[("main", &["z1"], 2)]);
        let pods = [
            pool_pod("main", "z1", 0, true),
            terminating(pool_pod("main", "z1", 1, true)),
            annotated(
                pool_pod("main", "z1", 2, true),
                pods::DRAIN_STATE,
                "draining",
            ),
        ];
        let st = plan(&s, &pods, &[orch(&s, "z1", 1, 1)], &[]).status;
        assert_eq!(st.ready_replicas, Some(1));
        assert!(!st.pools_ready);
        // Scale-down: three ready pods for two desired.
        let pods: Vec<Pod> = (0..3).map(|i| pool_pod("main", "z1", i, true)).collect();
        let st = plan(&s, &pods, &[orch(&s, "z1", 1, 1)], &[]).status;
        assert!(!st.pools_ready);
        assert_eq!(st.phase, Some(Phase::Progressing));
        assert_eq!(available(&st).2, "3/2 pods ready");
    }

    #[test]
    fn orchestrators_not_ready_when_missing_stale_or_short() {
        let s = shard(&[("main", &["z1"], 1)]);
        let pods = [pool_pod("main", "z1", 0, true)];
        let missing = plan(&s, &pods, &[], &[]).status;
        assert!(!missing.orch_ready);
        assert_eq!(
            missing.message.as_deref(),
            Some("PoolsReady: true, OrchReady: false")
        );
        let mut stale = orch(&s, "z1", 1, 1);
        stale.metadata.generation = Some(3);
        assert!(!plan(&s, &pods, &[stale], &[]).status.orch_ready);
        assert!(
            !plan(&s, &pods, &[orch(&s, "z1", 2, 1)], &[])
                .status
                .orch_ready
        );
        let mut unset = orch(&s, "z1", 1, 1);
        unset.spec.as_mut().unwrap().replicas = None;
        assert!(!plan(&s, &pods, &[unset], &[]).status.orch_ready);
    }

    #[test]
    fn multiorch_cells_join_the_pool_cells() {
        let mut s = shard(&[("main", &["z1"], 1)]);
        s.spec.multiorch.cells = vec!["z2".into()];
        let st = plan(&s, &[], &[], &[]).status;
        assert_eq!(st.cells, ["z1", "z2"]);
    }

    #[test]
    fn crash_looping_pool_pods_are_degraded_before_multiorch() {
        let s = shard(&[("main", &["z1"], 1)]);
        let orchs = [orch(&s, "z1", 1, 1)];
        let crashing_pool = [with_container(
            pool_pod("main", "z1", 0, true),
            waiting("CrashLoopBackOff"),
        )];
        let crashing_orch = [with_init_container(
            pod("o", &[(labels::CELL, "z1")], false),
            terminated(3),
        )];
        let st = plan(&s, &crashing_pool, &orchs, &crashing_orch).status;
        assert_eq!(st.phase, Some(Phase::Degraded));
        assert_eq!(
            st.message.as_deref(),
            Some("One or more pool pods are crash-looping")
        );
        let healthy_pool = [pool_pod("main", "z1", 0, true)];
        let st = plan(&s, &healthy_pool, &orchs, &crashing_orch).status;
        assert_eq!(st.phase, Some(Phase::Degraded));
        assert_eq!(
            st.message.as_deref(),
            Some("One or more Multiorch pods are crash-looping")
        );
        // A crash-looping pod that is terminating does not degrade the shard.
        let leaving = [
            terminating(crashing_pool[0].clone()),
            pool_pod("main", "z1", 1, true),
        ];
        assert_eq!(
            plan(&s, &leaving, &orchs, &[]).status.phase,
            Some(Phase::Healthy)
        );
    }

    #[test]
    fn pod_roles_other_conditions_and_backup_pass_through_and_transition_time_is_kept() {
        let s0 = shard(&[("main", &["z1"], 1)]);
        let orchs = [orch(&s0, "z1", 1, 1)];
        let pods = [pool_pod("main", "z1", 0, true)];
        let first = plan(&s0, &pods, &orchs, &[]).status;
        let mut s = s0.clone();
        let mut live = first.clone();
        live.pod_roles = BTreeMap::from([("p".into(), "PRIMARY".into())]);
        live.last_backup_time = Some(at(50));
        conditions::set(
            &mut live.conditions,
            conditions::condition("BackupHealthy", true, "BackupRecent", "ok", Some(4)),
            &at(60),
        );
        s.status = Some(live.clone());
        let again = shard_status(
            &ShardObserved {
                shard: &s,
                pods: &pods,
                multiorch: &orchs,
                multiorch_pods: &[],
                config: None,
            },
            &at(500),
        );
        assert_eq!(again.status, live);
        assert!(again.events.is_empty());
        assert!(!crate::reconcile::status::status_changed(
            Some(&live),
            &again.status
        ));
        // Pods lost: Available flips and takes the new time; the event says so.
        let lost = shard_status(
            &ShardObserved {
                shard: &s,
                pods: &[],
                multiorch: &orchs,
                multiorch_pods: &[],
                config: None,
            },
            &at(600),
        );
        let c = conditions::find(&lost.status.conditions, AVAILABLE).unwrap();
        assert_eq!(c.last_transition_time, at(600));
        assert_eq!(
            conditions::find(&lost.status.conditions, "BackupHealthy")
                .unwrap()
                .last_transition_time,
            at(60)
        );
        assert!(
            lost.events
                .iter()
                .any(|e| e.message == "Transitioned from 'Healthy' to 'Progressing'")
        );
    }

    fn with_hashes(pod: Pod, restart: &str, reload: &str) -> Pod {
        annotated(
            annotated(pod, labels::CONFIG_HASH, restart),
            labels::RELOAD_HASH,
            reload,
        )
    }

    fn config_status(
        s: &Shard,
        pods: &[Pod],
        config: DesiredConfig<'_>,
        now: i64,
    ) -> PostgresConfigStatus {
        let orchs = [orch(s, "z1", 1, 1)];
        shard_status(
            &ShardObserved {
                shard: s,
                pods,
                multiorch: &orchs,
                multiorch_pods: &[],
                config: Some(config),
            },
            &at(now),
        )
        .status
        .postgres_config
        .unwrap()
    }

    #[test]
    fn postgres_config_in_progress_settled_and_error() {
        let desired = DesiredConfig::Hashes {
            restart: "r1",
            reload: "l1",
        };
        let mut s = shard(&[("main", &["z1"], 1)]);
        let old = [with_hashes(pool_pod("main", "z1", 0, true), "r0", "l1")];
        let st = config_status(&s, &old, desired, 10);
        assert_eq!(st.in_progress, Some(true));
        assert_eq!(st.last_applied_at, None);

        // Settled: stamped on the move into settled, then kept.
        s.status = Some(ShardStatus {
            postgres_config: Some(st),
            ..Default::default()
        });
        let current = [with_hashes(pool_pod("main", "z1", 0, true), "r1", "l1")];
        let st = config_status(&s, &current, desired, 20);
        assert_eq!(st.in_progress, None);
        assert_eq!(st.last_applied_at, Some(at(20)));
        s.status = Some(ShardStatus {
            postgres_config: Some(st),
            ..Default::default()
        });
        assert_eq!(
            config_status(&s, &current, desired, 30).last_applied_at,
            Some(at(20))
        );

        // A pod that carries the desired config and crash-loops keeps it unsettled.
        let failing = [with_container(
            current[0].clone(),
            waiting("CrashLoopBackOff"),
        )];
        assert_eq!(
            config_status(&s, &failing, desired, 40).in_progress,
            Some(true)
        );

        // An error is reported as is and keeps the last time.
        let st = config_status(
            &s,
            &current,
            DesiredConfig::Error("configmap x not found"),
            50,
        );
        assert_eq!(st.error.as_deref(), Some("configmap x not found"));
        assert_eq!(st.in_progress, None);
        assert_eq!(st.last_applied_at, Some(at(20)));
    }

    #[test]
    fn ready_for_deletion_once_drained() {
        let mut s = shard(&[("main", &["z1"], 1)]);
        let planned = shard_ready_for_deletion(&s, &at(3)).unwrap();
        let c = conditions::find(&planned.status.conditions, READY_FOR_DELETION).unwrap();
        assert_eq!(
            (c.status.as_str(), c.reason.as_str(), c.message.as_str()),
            (
                "True",
                "DrainComplete",
                "All pods drained; shard is ready for deletion"
            )
        );
        assert_eq!(c.observed_generation, Some(4));
        assert_eq!(planned.events[0].reason, "ReadyForDeletion");
        s.status = Some(planned.status);
        assert!(shard_ready_for_deletion(&s, &at(4)).is_none());
    }
}
