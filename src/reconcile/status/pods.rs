//! Pod health and the workload phase rule (upstream `pkg/util/status`).

use k8s_openapi::api::core::v1::{ContainerStatus, Pod};

use crate::api::status::Phase;

/// Pod annotation of the drain state machine; a pod that carries it is not
/// counted as ready.
pub const DRAIN_STATE: &str = "drain.multigres.com/state";

/// A container that restarted this often and is not running counts as
/// crash-looping even between two back-offs.
pub const CRASH_LOOP_RESTARTS: i32 = 3;

/// Waiting reasons that mean the container cannot run.
const CRASH_REASONS: [&str; 3] = ["CrashLoopBackOff", "OOMKilled", "ImagePullBackOff"];

/// Some container or init container (native sidecars report there) waits
/// with a crash reason, or is terminated after at least
/// [`CRASH_LOOP_RESTARTS`] restarts.
pub fn is_crash_looping(pod: &Pod) -> bool {
    let Some(status) = &pod.status else {
        return false;
    };
    let crashing =
        |list: &Option<Vec<ContainerStatus>>| list.iter().flatten().any(container_crash_looping);
    crashing(&status.container_statuses) || crashing(&status.init_container_statuses)
}

fn container_crash_looping(container: &ContainerStatus) -> bool {
    let Some(state) = &container.state else {
        return false;
    };
    let waiting = state
        .waiting
        .as_ref()
        .and_then(|w| w.reason.as_deref())
        .is_some_and(|reason| CRASH_REASONS.contains(&reason));
    waiting || (state.terminated.is_some() && container.restart_count >= CRASH_LOOP_RESTARTS)
}

/// Some pod that is not terminating crash-loops.
pub fn any_crash_looping<'p>(pods: impl IntoIterator<Item = &'p Pod>) -> bool {
    pods.into_iter()
        .any(|pod| !is_terminating(pod) && is_crash_looping(pod))
}

pub fn is_terminating(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_some()
}

/// The pod's Ready condition is True.
pub fn is_ready(pod: &Pod) -> bool {
    pod.status
        .iter()
        .flat_map(|s| s.conditions.iter().flatten())
        .any(|c| c.type_ == "Ready" && c.status == "True")
}

/// The pod carries a drain state (any value).
pub fn is_draining(pod: &Pod) -> bool {
    annotation(pod, DRAIN_STATE).is_some_and(|v| !v.is_empty())
}

pub fn label<'p>(pod: &'p Pod, key: &str) -> Option<&'p str> {
    pod.metadata.labels.as_ref()?.get(key).map(String::as_str)
}

pub fn annotation<'p>(pod: &'p Pod, key: &str) -> Option<&'p str> {
    pod.metadata
        .annotations
        .as_ref()?
        .get(key)
        .map(String::as_str)
}

/// What the workload rule looks at: a Deployment or StatefulSet and its pods.
pub struct Workload<'a> {
    /// Upstream's component name in messages (`Gateway`, `StatefulSet`).
    pub component: &'a str,
    pub ready: i32,
    pub total: i32,
    /// metadata.generation and status.observedGeneration of the workload.
    pub generation: Option<i64>,
    pub observed_generation: Option<i64>,
    pub pods: &'a [Pod],
}

/// Upstream's `ComputeWorkloadPhase`: Degraded when a pod crash-loops, else
/// Progressing while the workload controller has not seen the latest
/// generation, else Initializing with no replicas, Healthy when all are
/// ready, Progressing otherwise.
pub fn workload_phase(w: &Workload<'_>) -> (Phase, String) {
    if any_crash_looping(w.pods) {
        return (
            Phase::Degraded,
            format!("{}: one or more pods are crash-looping", w.component),
        );
    }
    // Go compares int64 zero values: an absent generation is 0.
    if w.generation.unwrap_or(0) != w.observed_generation.unwrap_or(0) {
        return (
            Phase::Progressing,
            format!("{} is progressing", w.component),
        );
    }
    if w.total == 0 {
        return (
            Phase::Initializing,
            format!("{}: {}/{} replicas ready", w.component, w.ready, w.total),
        );
    }
    if w.ready == w.total {
        return (Phase::Healthy, "Ready".into());
    }
    (
        Phase::Progressing,
        format!("{}: {}/{} replicas ready", w.component, w.ready, w.total),
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{
        ContainerState, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting,
        PodCondition, PodStatus,
    };
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use k8s_openapi::jiff::Timestamp;
    use std::collections::BTreeMap;

    /// A pod with labels; `ready` sets its Ready condition.
    pub(crate) fn pod(name: &str, labels: &[(&str, &str)], ready: bool) -> Pod {
        let mut pod = Pod::default();
        pod.metadata.name = Some(name.into());
        pod.metadata.labels = Some(
            labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        );
        pod.status = Some(PodStatus {
            conditions: Some(vec![PodCondition {
                type_: "Ready".into(),
                status: if ready { "True" } else { "False" }.into(),
                ..Default::default()
            }]),
            container_statuses: Some(vec![running("main")]),
            ..Default::default()
        });
        pod
    }

    pub(crate) fn running(name: &str) -> ContainerStatus {
        ContainerStatus {
            name: name.into(),
            state: Some(ContainerState {
                running: Some(ContainerStateRunning::default()),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    pub(crate) fn waiting(reason: &str) -> ContainerStatus {
        ContainerStatus {
            name: "c".into(),
            state: Some(ContainerState {
                waiting: Some(ContainerStateWaiting {
                    reason: Some(reason.into()),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    pub(crate) fn terminated(restarts: i32) -> ContainerStatus {
        ContainerStatus {
            name: "c".into(),
            restart_count: restarts,
            state: Some(ContainerState {
                terminated: Some(ContainerStateTerminated::default()),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    /// `pod` with one more container status.
    pub(crate) fn with_container(mut pod: Pod, container: ContainerStatus) -> Pod {
        let status = pod.status.get_or_insert_with(Default::default);
        status
            .container_statuses
            .get_or_insert_with(Vec::new)
            .push(container);
        pod
    }

    pub(crate) fn with_init_container(mut pod: Pod, container: ContainerStatus) -> Pod {
        let status = pod.status.get_or_insert_with(Default::default);
        status
            .init_container_statuses
            .get_or_insert_with(Vec::new)
            .push(container);
        pod
    }

    pub(crate) fn terminating(mut pod: Pod) -> Pod {
        pod.metadata.deletion_timestamp = Some(Time(Timestamp::UNIX_EPOCH));
        pod
    }

    pub(crate) fn annotated(mut pod: Pod, key: &str, value: &str) -> Pod {
        pod.metadata
            .annotations
            .get_or_insert_with(BTreeMap::new)
            .insert(key.into(), value.into());
        pod
    }

    #[test]
    fn crash_loop_waiting_reasons() {
        for reason in ["CrashLoopBackOff", "OOMKilled", "ImagePullBackOff"] {
            let p = with_container(pod("p", &[], false), waiting(reason));
            assert!(is_crash_looping(&p), "{reason}");
        }
        for reason in ["ContainerCreating", "ErrImagePull", "PodInitializing"] {
            let p = with_container(pod("p", &[], false), waiting(reason));
            assert!(!is_crash_looping(&p), "{reason}");
        }
    }

    #[test]
    fn terminated_counts_from_three_restarts() {
        let two = with_container(pod("p", &[], false), terminated(2));
        let three = with_container(pod("p", &[], false), terminated(3));
        assert!(!is_crash_looping(&two));
        assert!(is_crash_looping(&three));
        // Restarts alone, while running, are not a crash loop.
        let mut restarted = running("r");
        restarted.restart_count = 9;
        assert!(!is_crash_looping(&with_container(
            pod("p", &[], true),
            restarted
        )));
    }

    #[test]
    fn init_containers_are_checked_too() {
        let p = with_init_container(pod("p", &[], false), waiting("CrashLoopBackOff"));
        assert!(is_crash_looping(&p));
        let p = with_init_container(pod("p", &[], false), terminated(3));
        assert!(is_crash_looping(&p));
        assert!(!is_crash_looping(&pod("p", &[], false)));
    }

    #[test]
    fn terminating_pods_do_not_count() {
        let crashing = with_container(pod("p", &[], false), waiting("CrashLoopBackOff"));
        assert!(any_crash_looping([&crashing]));
        assert!(!any_crash_looping([&terminating(crashing)]));
    }

    #[test]
    fn a_pod_without_status_is_neither_ready_nor_crashing() {
        let p = Pod::default();
        assert!(!is_ready(&p));
        assert!(!is_crash_looping(&p));
        assert!(!is_draining(&p));
    }

    fn workload<'a>(
        ready: i32,
        total: i32,
        generation: i64,
        observed: i64,
        pods: &'a [Pod],
    ) -> Workload<'a> {
        Workload {
            component: "Gateway",
            ready,
            total,
            generation: Some(generation),
            observed_generation: Some(observed),
            pods,
        }
    }

    #[test]
    fn workload_rule_in_upstream_order() {
        let crashing = [with_container(pod("p", &[], false), waiting("OOMKilled"))];
        let phase = |w: Workload<'_>| workload_phase(&w);
        assert_eq!(
            phase(workload(2, 2, 3, 2, &crashing)),
            (
                Phase::Degraded,
                "Gateway: one or more pods are crash-looping".into()
            )
        );
        assert_eq!(
            phase(workload(2, 2, 3, 2, &[])),
            (Phase::Progressing, "Gateway is progressing".into())
        );
        assert_eq!(
            phase(workload(0, 0, 1, 1, &[])),
            (Phase::Initializing, "Gateway: 0/0 replicas ready".into())
        );
        assert_eq!(
            phase(workload(2, 2, 1, 1, &[])),
            (Phase::Healthy, "Ready".into())
        );
        assert_eq!(
            phase(workload(1, 2, 1, 1, &[])),
            (Phase::Progressing, "Gateway: 1/2 replicas ready".into())
        );
    }
}
