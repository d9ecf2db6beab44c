//! TopoServer status (upstream `toposerver/toposerver_controller.go`;
//! runtime spec §7.6).

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::conditions::{self, READY};
use super::pods::{Workload, workload_phase};
use super::{Planned, phase_change};
use crate::api::children::{TopoServer, TopoServerStatus};

/// What the TopoServer controller reads for status.
pub struct TopoServerObserved<'a> {
    pub topo_server: &'a TopoServer,
    /// Its etcd StatefulSet (same name), if it exists.
    pub stateful_set: Option<&'a StatefulSet>,
    /// Its etcd pods.
    pub pods: &'a [Pod],
}

/// The client Service (`<name>`) and the headless peer Service
/// (`<name>-headless`) of a TopoServer, as `manifests::topo::build` names them.
pub fn service_names(topo_server_name: &str) -> (String, String) {
    (
        topo_server_name.to_owned(),
        format!("{topo_server_name}-headless"),
    )
}

/// The status the TopoServer controller writes; `None` while the
/// StatefulSet does not exist (upstream writes nothing then). The phase
/// follows the workload rule over the StatefulSet's **spec** replicas.
pub fn topo_server_status(
    observed: &TopoServerObserved<'_>,
    now: &Time,
) -> Option<Planned<TopoServerStatus>> {
    let topo = observed.topo_server;
    let sts = observed.stateful_set?;
    let previous = topo.status.clone().unwrap_or_default();
    let generation = topo.metadata.generation;
    let mut status = previous.clone();

    let (client, peer) = service_names(topo.metadata.name.as_deref().unwrap_or_default());
    status.client_service = Some(client);
    status.peer_service = Some(peer);

    // Upstream dereferences spec.replicas unchecked; absent reads as 0 here.
    let desired = sts.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0);
    let counts = sts.status.clone().unwrap_or_default();
    let ready = counts.ready_replicas.unwrap_or(0);
    let current = counts.observed_generation.unwrap_or(0) == sts.metadata.generation.unwrap_or(0);
    let condition = if current && ready == desired && desired > 0 {
        conditions::condition(
            READY,
            true,
            "AllReplicasReady",
            format!("All {ready} replicas are ready"),
            generation,
        )
    } else {
        let message = if current {
            format!("{ready}/{desired} replicas ready")
        } else {
            "StatefulSet update in progress".to_owned()
        };
        conditions::condition(READY, false, "NotAllReplicasReady", message, generation)
    };
    conditions::set(&mut status.conditions, condition, now);

    let (phase, message) = workload_phase(&Workload {
        component: "StatefulSet",
        ready,
        total: desired,
        generation: sts.metadata.generation,
        observed_generation: counts.observed_generation,
        pods: observed.pods,
    });
    status.phase = Some(phase);
    status.message = Some(message);
    status.observed_generation = generation;
    let events = phase_change(previous.phase, status.phase)
        .into_iter()
        .collect();
    Some(Planned { status, events })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::status::Phase;
    use crate::reconcile::status::conditions::tests::at;
    use crate::reconcile::status::pods::tests::{pod, terminated, with_container};
    use crate::reconcile::status::status_changed;
    use k8s_openapi::api::apps::v1::{StatefulSetSpec, StatefulSetStatus};

    fn topo() -> TopoServer {
        let mut t = TopoServer::new("c-global-topo", Default::default());
        t.metadata.generation = Some(1);
        t
    }

    /// A StatefulSet at generation 4 wanting `desired`, `ready` ready, status for `observed`.
    fn sts(desired: i32, ready: i32, observed: i64) -> StatefulSet {
        let mut s = StatefulSet::default();
        s.metadata.generation = Some(4);
        s.spec = Some(StatefulSetSpec {
            replicas: Some(desired),
            ..Default::default()
        });
        s.status = Some(StatefulSetStatus {
            // status.replicas may lag the spec: the phase must not use it.
            replicas: ready,
            ready_replicas: Some(ready),
            observed_generation: Some(observed),
            ..Default::default()
        });
        s
    }

    fn plan(
        topo: &TopoServer,
        sts: Option<&StatefulSet>,
        pods: &[Pod],
    ) -> Option<Planned<TopoServerStatus>> {
        topo_server_status(
            &TopoServerObserved {
                topo_server: topo,
                stateful_set: sts,
                pods,
            },
            &at(10),
        )
    }

    fn ready(st: &TopoServerStatus) -> (String, String, String) {
        let c = conditions::find(&st.conditions, READY).unwrap();
        (c.status.clone(), c.reason.clone(), c.message.clone())
    }

    #[test]
    fn no_stateful_set_no_status() {
        assert!(plan(&topo(), None, &[]).is_none());
    }

    #[test]
    fn all_replicas_ready() {
        let planned = plan(&topo(), Some(&sts(3, 3, 4)), &[]).unwrap();
        let st = &planned.status;
        assert_eq!(
            (st.phase, st.message.as_deref()),
            (Some(Phase::Healthy), Some("Ready"))
        );
        assert_eq!(st.client_service.as_deref(), Some("c-global-topo"));
        assert_eq!(st.peer_service.as_deref(), Some("c-global-topo-headless"));
        assert_eq!(
            ready(st),
            (
                "True".into(),
                "AllReplicasReady".into(),
                "All 3 replicas are ready".into()
            )
        );
        assert_eq!(st.observed_generation, Some(1));
        assert!(conditions::find(&st.conditions, "Available").is_none());
        assert_eq!(
            planned.events[0].message,
            "Transitioned from '' to 'Healthy'"
        );
    }

    #[test]
    fn spec_replicas_decide_not_status_replicas() {
        let st = plan(&topo(), Some(&sts(3, 1, 4)), &[]).unwrap().status;
        assert_eq!(st.phase, Some(Phase::Progressing));
        assert_eq!(
            st.message.as_deref(),
            Some("StatefulSet: 1/3 replicas ready")
        );
        assert_eq!(
            ready(&st),
            (
                "False".into(),
                "NotAllReplicasReady".into(),
                "1/3 replicas ready".into()
            )
        );
    }

    #[test]
    fn update_in_progress_zero_replicas_and_crash_loop() {
        let st = plan(&topo(), Some(&sts(3, 3, 3)), &[]).unwrap().status;
        assert_eq!(st.message.as_deref(), Some("StatefulSet is progressing"));
        assert_eq!(ready(&st).2, "StatefulSet update in progress");
        let st = plan(&topo(), Some(&sts(0, 0, 4)), &[]).unwrap().status;
        assert_eq!(st.phase, Some(Phase::Initializing));
        assert_eq!(ready(&st).0, "False");
        let crashing = [with_container(pod("e", &[], false), terminated(5))];
        let st = plan(&topo(), Some(&sts(3, 3, 4)), &crashing)
            .unwrap()
            .status;
        assert_eq!(st.phase, Some(Phase::Degraded));
        assert_eq!(
            st.message.as_deref(),
            Some("StatefulSet: one or more pods are crash-looping")
        );
    }

    #[test]
    fn a_storage_class_condition_from_the_guard_survives_and_a_repeat_is_a_no_op() {
        let mut t = topo();
        let mut live = plan(&t, Some(&sts(3, 3, 4)), &[]).unwrap().status;
        conditions::set(
            &mut live.conditions,
            conditions::condition("StorageClassValid", true, "StorageClassFound", "", Some(1)),
            &at(3),
        );
        t.status = Some(live.clone());
        let again = topo_server_status(
            &TopoServerObserved {
                topo_server: &t,
                stateful_set: Some(&sts(3, 3, 4)),
                pods: &[],
            },
            &at(50),
        )
        .unwrap();
        assert!(again.events.is_empty());
        assert!(!status_changed(Some(&live), &again.status));
    }
}
