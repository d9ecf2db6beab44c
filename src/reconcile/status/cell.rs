//! Cell status (upstream `cell/cell_controller.go`; runtime spec §7.5).

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::conditions::{self, AVAILABLE, READY, READY_FOR_DELETION};
use super::pods::{Workload, workload_phase};
use super::{Planned, PlannedEvent, phase_change};
use crate::api::children::{Cell, CellStatus, TopoServer};
use crate::api::status::Phase;
use crate::labels;
use crate::names::ClusterNames;

const WAITING_FOR_LOCAL_TOPO: &str = "Waiting for managed local TopoServer to become ready";

/// What the Cell controller reads for status.
pub struct CellObserved<'a> {
    pub cell: &'a Cell,
    /// The cell's multigateway Deployment, if it exists.
    pub gateway: Option<&'a Deployment>,
    /// The multigateway pods of the cell.
    pub gateway_pods: &'a [Pod],
    /// See [`local_topo_ready`].
    pub local_topo_ready: bool,
}

/// The cell has a managed (etcd) local TopoServer.
pub fn has_managed_local_topo(cell: &Cell) -> bool {
    cell.spec
        .topo_server
        .as_ref()
        .is_some_and(|t| t.etcd.is_some())
}

/// No managed local topo, or it exists, is Healthy and its status is for
/// its current generation.
pub fn local_topo_ready(cell: &Cell, local_topo: Option<&TopoServer>) -> bool {
    if !has_managed_local_topo(cell) {
        return true;
    }
    local_topo.is_some_and(|topo| {
        let status = topo.status.as_ref();
        status.and_then(|s| s.observed_generation).unwrap_or(0)
            == topo.metadata.generation.unwrap_or(0)
            && status.and_then(|s| s.phase) == Some(Phase::Healthy)
    })
}

/// The status the Cell controller writes. `None` when the gateway
/// Deployment does not exist yet: upstream writes nothing then.
pub fn cell_status(observed: &CellObserved<'_>, now: &Time) -> Option<Planned<CellStatus>> {
    let cell = observed.cell;
    let previous = cell.status.clone().unwrap_or_default();
    let generation = cell.metadata.generation;
    let mut status = previous.clone();

    if !observed.local_topo_ready {
        for type_ in [AVAILABLE, READY] {
            let c = conditions::condition(
                type_,
                false,
                "LocalTopoServerNotReady",
                WAITING_FOR_LOCAL_TOPO,
                generation,
            );
            conditions::set(&mut status.conditions, c, now);
        }
        status.phase = Some(Phase::Progressing);
        status.message = Some(WAITING_FOR_LOCAL_TOPO.into());
        status.observed_generation = generation;
        // Upstream emits no PhaseChange on this path; §7.2 says every phase
        // change does, so this one does too.
        let events = phase_change(previous.phase, status.phase)
            .into_iter()
            .collect();
        return Some(Planned { status, events });
    }

    let deployment = observed.gateway?;
    let counts = deployment.status.clone().unwrap_or_default();
    let replicas = counts.replicas.unwrap_or(0);
    let ready = counts.ready_replicas.unwrap_or(0);
    let converged =
        counts.observed_generation.unwrap_or(0) == deployment.metadata.generation.unwrap_or(0);

    let available = if ready > 0 {
        conditions::condition(
            AVAILABLE,
            true,
            "MultigatewayAvailable",
            format!("Multigateway {ready}/{replicas} replicas ready"),
            generation,
        )
    } else {
        conditions::condition(
            AVAILABLE,
            false,
            "MultigatewayUnavailable",
            "No ready replicas available",
            generation,
        )
    };
    conditions::set(&mut status.conditions, available, now);
    let all_ready = converged && ready == replicas && replicas > 0;
    let ready_condition = if all_ready {
        conditions::condition(
            READY,
            true,
            "MultigatewayReady",
            "All replicas match desired state",
            generation,
        )
    } else {
        conditions::condition(
            READY,
            false,
            "MultigatewayNotReady",
            format!("Multigateway {ready}/{replicas} ready, waiting for full convergence"),
            generation,
        )
    };
    conditions::set(&mut status.conditions, ready_condition, now);

    status.gateway_replicas = replicas;
    status.gateway_ready_replicas = ready;
    status.gateway_service_name = Some(gateway_service_name(cell));

    // Total is the Deployment's status.replicas (upstream), not its spec.
    let (phase, message) = workload_phase(&Workload {
        component: "Gateway",
        ready,
        total: replicas,
        generation: deployment.metadata.generation,
        observed_generation: counts.observed_generation,
        pods: observed.gateway_pods,
    });
    status.phase = Some(phase);
    status.message = Some(message);
    status.observed_generation = generation;
    let events = phase_change(previous.phase, status.phase)
        .into_iter()
        .collect();
    Some(Planned { status, events })
}

/// The per-cell multigateway Service (upstream `BuildMultigatewayServiceName`).
fn gateway_service_name(cell: &Cell) -> String {
    let meta = &cell.metadata;
    let cluster = meta
        .labels
        .as_ref()
        .and_then(|l| l.get(labels::CLUSTER))
        .map(String::as_str)
        .unwrap_or_default();
    ClusterNames::new(cluster, meta.namespace.as_deref().unwrap_or_default())
        .gateway_service(&cell.spec.name)
}

/// A cell pending deletion: ReadyForDeletion False `LocalTopoServerDeleting`
/// while its local TopoServer still exists, then True (`StatelessComponent`
/// without a managed local topo, `LocalTopoServerDeleted` with one) and a
/// Normal `ReadyForDeletion` event, once. `None` when there is nothing to
/// write (already True).
pub fn cell_ready_for_deletion(
    cell: &Cell,
    local_topo_exists: bool,
    now: &Time,
) -> Option<Planned<CellStatus>> {
    let previous = cell.status.clone().unwrap_or_default();
    let generation = cell.metadata.generation;
    let mut status = previous.clone();
    if local_topo_exists {
        let c = conditions::condition(
            READY_FOR_DELETION,
            false,
            "LocalTopoServerDeleting",
            "Waiting for managed local TopoServer deletion",
            generation,
        );
        conditions::set(&mut status.conditions, c, now);
        return Some(Planned {
            status,
            events: Vec::new(),
        });
    }
    if conditions::is_true(&previous.conditions, READY_FOR_DELETION) {
        return None;
    }
    let (reason, message) = if has_managed_local_topo(cell) {
        (
            "LocalTopoServerDeleted",
            "Managed local TopoServer is deleted; ready for deletion",
        )
    } else {
        (
            "StatelessComponent",
            "Cell has no managed local TopoServer; ready for deletion",
        )
    };
    let c = conditions::condition(READY_FOR_DELETION, true, reason, message, generation);
    conditions::set(&mut status.conditions, c, now);
    let event = PlannedEvent::normal(
        "ReadyForDeletion",
        format!(
            "Cell {} marked ready for deletion",
            cell.metadata.name.as_deref().unwrap_or_default()
        ),
    );
    Some(Planned {
        status,
        events: vec![event],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::children::TopoServerStatus;
    use crate::api::common::{EtcdSpec, LocalTopoServerSpec};
    use crate::reconcile::status::conditions::tests::at;
    use crate::reconcile::status::pods::tests::{pod, waiting, with_container};
    use crate::reconcile::status::status_changed;
    use k8s_openapi::api::apps::v1::DeploymentStatus;
    use std::collections::BTreeMap;

    fn cell() -> Cell {
        let mut cell = Cell::new("c-z1", Default::default());
        cell.metadata.namespace = Some("ns".into());
        cell.metadata.generation = Some(2);
        cell.metadata.labels = Some(BTreeMap::from([(labels::CLUSTER.into(), "c".into())]));
        cell.spec.name = "z1".into();
        cell
    }

    fn managed(mut cell: Cell) -> Cell {
        cell.spec.topo_server = Some(LocalTopoServerSpec {
            etcd: Some(EtcdSpec::default()),
            external: None,
        });
        cell
    }

    /// A gateway Deployment at generation 7 whose status observed `observed`.
    fn gateway(replicas: i32, ready: i32, observed: i64) -> Deployment {
        let mut d = Deployment::default();
        d.metadata.generation = Some(7);
        d.status = Some(DeploymentStatus {
            replicas: Some(replicas),
            ready_replicas: Some(ready),
            observed_generation: Some(observed),
            ..Default::default()
        });
        d
    }

    fn plan(
        cell: &Cell,
        gateway: Option<&Deployment>,
        pods: &[Pod],
    ) -> Option<Planned<CellStatus>> {
        cell_status(
            &CellObserved {
                cell,
                gateway,
                gateway_pods: pods,
                local_topo_ready: true,
            },
            &at(100),
        )
    }

    fn cond(st: &CellStatus, type_: &str) -> (String, String, String) {
        let c = conditions::find(&st.conditions, type_).unwrap();
        (c.status.clone(), c.reason.clone(), c.message.clone())
    }

    fn c(status: &str, reason: &str, message: &str) -> (String, String, String) {
        (status.into(), reason.into(), message.into())
    }

    #[test]
    fn no_deployment_no_status() {
        assert!(plan(&cell(), None, &[]).is_none());
    }

    #[test]
    fn all_gateways_ready_is_healthy() {
        let planned = plan(&cell(), Some(&gateway(2, 2, 7)), &[]).unwrap();
        let st = &planned.status;
        assert_eq!(
            (st.phase, st.message.as_deref()),
            (Some(Phase::Healthy), Some("Ready"))
        );
        assert_eq!((st.gateway_replicas, st.gateway_ready_replicas), (2, 2));
        assert_eq!(
            st.gateway_service_name,
            Some(ClusterNames::new("c", "ns").gateway_service("z1"))
        );
        assert_eq!(
            cond(st, AVAILABLE),
            c(
                "True",
                "MultigatewayAvailable",
                "Multigateway 2/2 replicas ready"
            )
        );
        assert_eq!(
            cond(st, READY),
            c(
                "True",
                "MultigatewayReady",
                "All replicas match desired state"
            )
        );
        assert_eq!(st.observed_generation, Some(2));
        assert_eq!(
            planned.events[0].message,
            "Transitioned from '' to 'Healthy'"
        );
    }

    #[test]
    fn some_gateways_ready_is_available_but_not_ready() {
        let st = plan(&cell(), Some(&gateway(2, 1, 7)), &[]).unwrap().status;
        assert_eq!(st.phase, Some(Phase::Progressing));
        assert_eq!(st.message.as_deref(), Some("Gateway: 1/2 replicas ready"));
        assert_eq!(
            cond(&st, AVAILABLE),
            c(
                "True",
                "MultigatewayAvailable",
                "Multigateway 1/2 replicas ready"
            )
        );
        assert_eq!(
            cond(&st, READY),
            c(
                "False",
                "MultigatewayNotReady",
                "Multigateway 1/2 ready, waiting for full convergence"
            )
        );
    }

    #[test]
    fn none_ready_stale_empty_and_crash_looping() {
        let st = plan(&cell(), Some(&gateway(2, 0, 7)), &[]).unwrap().status;
        assert_eq!(
            cond(&st, AVAILABLE),
            c(
                "False",
                "MultigatewayUnavailable",
                "No ready replicas available"
            )
        );
        let st = plan(&cell(), Some(&gateway(2, 2, 6)), &[]).unwrap().status;
        assert_eq!(
            (st.phase, st.message.as_deref()),
            (Some(Phase::Progressing), Some("Gateway is progressing"))
        );
        assert_eq!(cond(&st, READY).0, "False");
        let st = plan(&cell(), Some(&gateway(0, 0, 7)), &[]).unwrap().status;
        assert_eq!(st.phase, Some(Phase::Initializing));
        assert_eq!(cond(&st, READY).0, "False");
        let crashing = [with_container(
            pod("g", &[], false),
            waiting("ImagePullBackOff"),
        )];
        let st = plan(&cell(), Some(&gateway(2, 2, 7)), &crashing)
            .unwrap()
            .status;
        assert_eq!(st.phase, Some(Phase::Degraded));
        assert_eq!(
            st.message.as_deref(),
            Some("Gateway: one or more pods are crash-looping")
        );
    }

    #[test]
    fn a_managed_local_topo_that_is_not_ready_holds_the_cell() {
        let cell = managed(cell());
        let mut topo = TopoServer::new("t", Default::default());
        topo.metadata.generation = Some(1);
        assert!(!local_topo_ready(&cell, None));
        assert!(!local_topo_ready(&cell, Some(&topo)));
        topo.status = Some(TopoServerStatus {
            observed_generation: Some(1),
            phase: Some(Phase::Healthy),
            ..Default::default()
        });
        assert!(local_topo_ready(&cell, Some(&topo)));
        topo.metadata.generation = Some(2);
        assert!(!local_topo_ready(&cell, Some(&topo)));
        assert!(local_topo_ready(&self::cell(), None));

        // Written even without a gateway Deployment.
        let planned = cell_status(
            &CellObserved {
                cell: &cell,
                gateway: None,
                gateway_pods: &[],
                local_topo_ready: false,
            },
            &at(5),
        )
        .unwrap();
        let st = planned.status;
        assert_eq!(st.phase, Some(Phase::Progressing));
        assert_eq!(st.message.as_deref(), Some(WAITING_FOR_LOCAL_TOPO));
        for t in [AVAILABLE, READY] {
            assert_eq!(
                cond(&st, t),
                c("False", "LocalTopoServerNotReady", WAITING_FOR_LOCAL_TOPO)
            );
        }
    }

    #[test]
    fn a_second_pass_over_the_same_objects_changes_nothing() {
        let mut cell = cell();
        let deployment = gateway(2, 1, 7);
        cell.status = Some(plan(&cell, Some(&deployment), &[]).unwrap().status);
        let again = cell_status(
            &CellObserved {
                cell: &cell,
                gateway: Some(&deployment),
                gateway_pods: &[],
                local_topo_ready: true,
            },
            &at(999),
        )
        .unwrap();
        assert!(again.events.is_empty());
        assert!(!status_changed(cell.status.as_ref(), &again.status));
        // Ready flips: only Ready takes the new time.
        let all = gateway(2, 2, 7);
        let moved = cell_status(
            &CellObserved {
                cell: &cell,
                gateway: Some(&all),
                gateway_pods: &[],
                local_topo_ready: true,
            },
            &at(999),
        )
        .unwrap()
        .status;
        assert_eq!(
            conditions::find(&moved.conditions, READY)
                .unwrap()
                .last_transition_time,
            at(999)
        );
        assert_eq!(
            conditions::find(&moved.conditions, AVAILABLE)
                .unwrap()
                .last_transition_time,
            at(100)
        );
    }

    #[test]
    fn ready_for_deletion_after_the_local_topo_is_gone() {
        let stateless = cell();
        let planned = cell_ready_for_deletion(&stateless, false, &at(1)).unwrap();
        assert_eq!(
            cond(&planned.status, READY_FOR_DELETION),
            c(
                "True",
                "StatelessComponent",
                "Cell has no managed local TopoServer; ready for deletion"
            )
        );
        assert_eq!(planned.events[0].reason, "ReadyForDeletion");
        assert_eq!(
            planned.events[0].message,
            "Cell c-z1 marked ready for deletion"
        );

        let with_topo = managed(cell());
        let planned = cell_ready_for_deletion(&with_topo, true, &at(1)).unwrap();
        assert_eq!(
            cond(&planned.status, READY_FOR_DELETION),
            c(
                "False",
                "LocalTopoServerDeleting",
                "Waiting for managed local TopoServer deletion"
            )
        );
        assert!(planned.events.is_empty());
        let mut deleting = with_topo.clone();
        deleting.status = Some(planned.status);
        let planned = cell_ready_for_deletion(&deleting, false, &at(2)).unwrap();
        assert_eq!(
            cond(&planned.status, READY_FOR_DELETION),
            c(
                "True",
                "LocalTopoServerDeleted",
                "Managed local TopoServer is deleted; ready for deletion"
            )
        );
        let mut done = deleting.clone();
        done.status = Some(planned.status);
        assert!(cell_ready_for_deletion(&done, false, &at(3)).is_none());
    }
}
