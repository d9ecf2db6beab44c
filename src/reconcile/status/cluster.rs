//! MultigresCluster status (upstream `multigrescluster/status.go` and
//! `collectResolvedTemplates`; runtime spec §7.7). Image resolution
//! (`status.images`, ImageRolloutPending) is not planned here: both pass
//! through from the observed status.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

use super::conditions::{self, ADMIN_WEB_EXTERNAL_READY, AVAILABLE, GATEWAY_EXTERNAL_READY};
use super::{Planned, phase_change};
use crate::api::children::{Cell, TableGroup, TopoServer};
use crate::api::cluster::{
    CellStatusSummary, ExternalEndpointStatus, MultigresCluster, MultigresClusterSpec,
    MultigresClusterStatus, ResolvedTemplates,
};
use crate::api::status::Phase;

/// What the MultigresCluster controller reads for status: its children
/// (labelled `multigres.com/cluster=<name>`) and, when the external
/// gateway / admin web is enabled, the global multigateway Service
/// (`<cluster>-multigateway`) and the multiadmin-web Service and
/// Deployment (`<cluster>-multiadmin-web`).
pub struct ClusterObserved<'a> {
    pub cluster: &'a MultigresCluster,
    pub cells: &'a [Cell],
    pub table_groups: &'a [TableGroup],
    pub topo_servers: &'a [TopoServer],
    pub gateway_service: Option<&'a Service>,
    pub admin_web_service: Option<&'a Service>,
    pub admin_web_deployment: Option<&'a Deployment>,
}

/// A child's status is for its current generation (Go: both default to 0).
fn current(generation: Option<i64>, observed: Option<i64>) -> bool {
    generation.unwrap_or(0) == observed.unwrap_or(0)
}

/// The status the MultigresCluster controller writes.
pub fn cluster_status(
    observed: &ClusterObserved<'_>,
    now: &Time,
) -> Planned<MultigresClusterStatus> {
    let cluster = observed.cluster;
    let spec = &cluster.spec;
    let generation = cluster.metadata.generation;
    let previous = cluster.status.clone().unwrap_or_default();
    let mut status = previous.clone();
    status.observed_generation = generation;

    status.cells = BTreeMap::new();
    for cell in observed.cells {
        let cell_status = cell.status.clone().unwrap_or_default();
        let ready = conditions::is_true(&cell_status.conditions, AVAILABLE)
            && current(cell.metadata.generation, cell_status.observed_generation);
        status.cells.insert(
            cell.spec.name.clone(),
            CellStatusSummary {
                ready,
                gateway_replicas: cell_status.gateway_replicas,
            },
        );
    }

    status.databases = BTreeMap::new();
    for tg in observed.table_groups {
        let tg_status = tg.status.clone().unwrap_or_default();
        let entry = status
            .databases
            .entry(tg.spec.database_name.clone())
            .or_default();
        if current(tg.metadata.generation, tg_status.observed_generation) {
            entry.ready_shards += tg_status.ready_shards;
        }
        entry.total_shards += tg_status.total_shards;
    }

    // Every child: Degraded wins, then all Healthy and current. No child at
    // all is Healthy too (upstream quirk, runtime spec §13.15: kept).
    let children = observed
        .cells
        .iter()
        .map(|c| {
            (
                c.metadata.generation,
                c.status.as_ref().map(|s| (s.observed_generation, s.phase)),
            )
        })
        .chain(observed.table_groups.iter().map(|t| {
            (
                t.metadata.generation,
                t.status.as_ref().map(|s| (s.observed_generation, s.phase)),
            )
        }))
        .chain(observed.topo_servers.iter().map(|t| {
            (
                t.metadata.generation,
                t.status.as_ref().map(|s| (s.observed_generation, s.phase)),
            )
        }));
    let mut degraded = false;
    let mut all_healthy = true;
    for (generation, child) in children {
        let (observed_generation, phase) = child.unwrap_or((None, None));
        if !current(generation, observed_generation) {
            all_healthy = false;
        } else if phase == Some(Phase::Degraded) {
            degraded = true;
            all_healthy = false;
        } else if phase != Some(Phase::Healthy) {
            all_healthy = false;
        }
    }
    let (phase, message) = if degraded {
        (Phase::Degraded, "Cluster is degraded")
    } else if all_healthy {
        (Phase::Healthy, "Ready")
    } else {
        (Phase::Progressing, "Cluster is progressing")
    };
    status.phase = Some(phase);
    status.message = Some(message.into());

    let all_cells_ready = !status.cells.is_empty() && status.cells.values().all(|c| c.ready);
    // Upstream sets no observedGeneration on this condition.
    let available = conditions::condition(
        AVAILABLE,
        all_cells_ready,
        "AggregatedStatus",
        "Aggregation of cell availability",
        None,
    );
    conditions::set(&mut status.conditions, available, now);

    let gateway_enabled = spec.external_gateway.as_ref().is_some_and(|g| g.enabled);
    let gateway_endpoint = if gateway_enabled {
        observed
            .gateway_service
            .map(external_endpoint)
            .unwrap_or_default()
    } else {
        String::new()
    };
    let ready_gateways: i32 = observed
        .cells
        .iter()
        .filter_map(|c| {
            let s = c.status.as_ref()?;
            current(c.metadata.generation, s.observed_generation)
                .then_some(s.gateway_ready_replicas)
        })
        .sum();
    status.gateway = gateway_enabled.then(|| ExternalEndpointStatus {
        external_endpoint: gateway_endpoint.clone(),
    });
    let gateway = gateway_enabled.then(|| {
        external_condition(
            GATEWAY_EXTERNAL_READY,
            &gateway_endpoint,
            ready_gateways,
            ("Waiting for gateway service endpoint", "NoReadyGateways"),
            "External endpoint assigned but no multigateway pods are ready",
            generation,
        )
    });
    place(&mut status.conditions, GATEWAY_EXTERNAL_READY, gateway, now);

    let admin_web_enabled = spec.external_admin_web.as_ref().is_some_and(|a| a.enabled);
    let admin_web_endpoint = if admin_web_enabled {
        observed
            .admin_web_service
            .map(external_endpoint)
            .unwrap_or_default()
    } else {
        String::new()
    };
    let admin_web_ready = observed
        .admin_web_deployment
        .and_then(|d| d.status.as_ref()?.ready_replicas)
        .unwrap_or(0);
    status.admin_web = admin_web_enabled.then(|| ExternalEndpointStatus {
        external_endpoint: admin_web_endpoint.clone(),
    });
    let admin_web = admin_web_enabled.then(|| {
        external_condition(
            ADMIN_WEB_EXTERNAL_READY,
            &admin_web_endpoint,
            admin_web_ready,
            ("Waiting for admin web service endpoint", "NoReadyAdminWeb"),
            "External endpoint assigned but no multiadmin-web pods are ready",
            generation,
        )
    });
    place(
        &mut status.conditions,
        ADMIN_WEB_EXTERNAL_READY,
        admin_web,
        now,
    );

    status.resolved_templates = Some(resolved_templates(spec));
    let events = phase_change(previous.phase, status.phase)
        .into_iter()
        .collect();
    Planned { status, events }
}

/// Sets `condition`, or removes its type when the feature is disabled.
fn place(list: &mut Vec<Condition>, type_: &str, condition: Option<Condition>, now: &Time) {
    match condition {
        Some(c) => conditions::set(list, c, now),
        None => conditions::remove(list, type_),
    }
}

/// False `AwaitingEndpoint` without an endpoint, False `<no_ready_reason>`
/// with no ready pod, else True `EndpointReady`.
fn external_condition(
    type_: &str,
    endpoint: &str,
    ready: i32,
    (awaiting_message, no_ready_reason): (&str, &str),
    no_ready_message: &str,
    generation: Option<i64>,
) -> Condition {
    if endpoint.is_empty() {
        conditions::condition(
            type_,
            false,
            "AwaitingEndpoint",
            awaiting_message,
            generation,
        )
    } else if ready == 0 {
        conditions::condition(type_, false, no_ready_reason, no_ready_message, generation)
    } else {
        conditions::condition(
            type_,
            true,
            "EndpointReady",
            format!("External endpoint {endpoint} is serving traffic"),
            generation,
        )
    }
}

/// A Service's external endpoint: `spec.externalIPs[0]`, else the first
/// load balancer ingress's hostname, else its IP; empty when none.
pub fn external_endpoint(service: &Service) -> String {
    if let Some(ip) = service
        .spec
        .as_ref()
        .and_then(|s| s.external_ips.as_ref())
        .and_then(|ips| ips.first())
        .filter(|ip| !ip.is_empty())
    {
        return ip.clone();
    }
    let ingress = service
        .status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.as_ref())
        .and_then(|list| list.first());
    match ingress {
        Some(i) => match i.hostname.as_deref().filter(|h| !h.is_empty()) {
            Some(hostname) => hostname.to_owned(),
            None => i.ip.clone().unwrap_or_default(),
        },
        None => String::new(),
    }
}

/// `status.resolvedTemplates` as upstream records it: the sorted, distinct
/// template names the spec names explicitly (templateDefaults and each
/// component's reference). The namespace's implicit `default` template is
/// not recorded (see [`super::watches::clusters_using_template`]).
pub fn resolved_templates(spec: &MultigresClusterSpec) -> ResolvedTemplates {
    let sorted = |names: Vec<Option<&String>>| -> Vec<String> {
        names
            .into_iter()
            .flatten()
            .filter(|n| !n.is_empty())
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    };
    let defaults = &spec.template_defaults;
    let core = vec![
        defaults.core_template.as_ref(),
        spec.global_topo_server
            .as_ref()
            .and_then(|g| g.template_ref.as_ref()),
        spec.multiadmin
            .as_ref()
            .and_then(|m| m.template_ref.as_ref()),
        spec.multiadmin_web
            .as_ref()
            .and_then(|m| m.template_ref.as_ref()),
    ];
    let cell = std::iter::once(defaults.cell_template.as_ref())
        .chain(spec.cells.iter().map(|c| c.cell_template.as_ref()))
        .collect();
    let shard = std::iter::once(defaults.shard_template.as_ref())
        .chain(
            spec.databases
                .iter()
                .flat_map(|d| &d.tablegroups)
                .flat_map(|t| &t.shards)
                .map(|s| s.shard_template.as_ref()),
        )
        .collect();
    ResolvedTemplates {
        core_templates: sorted(core),
        cell_templates: sorted(cell),
        shard_templates: sorted(shard),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::children::{CellStatus, TableGroupStatus, TopoServerStatus};
    use crate::api::cluster::DatabaseStatusSummary;
    use crate::api::cluster::{
        CellConfig, DatabaseConfig, ExternalAdminWebConfig, ExternalGatewayConfig,
        GlobalTopoServerSpec, MultiadminConfig, ShardConfig, TableGroupConfig, TemplateDefaults,
    };
    use crate::reconcile::status::conditions::tests::at;
    use crate::reconcile::status::status_changed;
    use k8s_openapi::api::apps::v1::DeploymentStatus;
    use k8s_openapi::api::core::v1::{
        LoadBalancerIngress, LoadBalancerStatus, ServiceSpec, ServiceStatus,
    };

    fn cluster() -> MultigresCluster {
        let mut c = MultigresCluster::new("c", Default::default());
        c.metadata.generation = Some(6);
        c
    }

    /// A cell at generation 2; `available` sets its Available condition.
    fn cell(name: &str, phase: Phase, available: bool, observed: i64, ready_gateways: i32) -> Cell {
        let mut c = Cell::new(&format!("c-{name}"), Default::default());
        c.metadata.generation = Some(2);
        c.spec.name = name.into();
        let mut st = CellStatus {
            observed_generation: Some(observed),
            phase: Some(phase),
            gateway_replicas: 2,
            gateway_ready_replicas: ready_gateways,
            ..Default::default()
        };
        conditions::set(
            &mut st.conditions,
            conditions::condition(AVAILABLE, available, "R", "", None),
            &at(1),
        );
        c.status = Some(st);
        c
    }

    fn table_group(
        database: &str,
        phase: Phase,
        ready: i32,
        total: i32,
        observed: i64,
    ) -> TableGroup {
        let mut t = TableGroup::new("tg", Default::default());
        t.metadata.generation = Some(3);
        t.spec.database_name = database.into();
        t.status = Some(TableGroupStatus {
            observed_generation: Some(observed),
            phase: Some(phase),
            ready_shards: ready,
            total_shards: total,
            ..Default::default()
        });
        t
    }

    fn topo(phase: Phase, observed: i64) -> TopoServer {
        let mut t = TopoServer::new("c-global-topo", Default::default());
        t.metadata.generation = Some(1);
        t.status = Some(TopoServerStatus {
            observed_generation: Some(observed),
            phase: Some(phase),
            ..Default::default()
        });
        t
    }

    fn observed<'a>(
        cluster: &'a MultigresCluster,
        cells: &'a [Cell],
        table_groups: &'a [TableGroup],
        topo_servers: &'a [TopoServer],
    ) -> ClusterObserved<'a> {
        ClusterObserved {
            cluster,
            cells,
            table_groups,
            topo_servers,
            gateway_service: None,
            admin_web_service: None,
            admin_web_deployment: None,
        }
    }

    fn plan(o: &ClusterObserved<'_>) -> MultigresClusterStatus {
        cluster_status(o, &at(100)).status
    }

    fn available(st: &MultigresClusterStatus) -> (String, String, String, Option<i64>) {
        let c = conditions::find(&st.conditions, AVAILABLE).unwrap();
        (
            c.status.clone(),
            c.reason.clone(),
            c.message.clone(),
            c.observed_generation,
        )
    }

    #[test]
    fn healthy_children_make_a_healthy_available_cluster() {
        let c = cluster();
        let cells = [
            cell("z1", Phase::Healthy, true, 2, 2),
            cell("z2", Phase::Healthy, true, 2, 1),
        ];
        let tgs = [table_group("postgres", Phase::Healthy, 1, 1, 3)];
        let topos = [topo(Phase::Healthy, 1)];
        let planned = cluster_status(&observed(&c, &cells, &tgs, &topos), &at(100));
        let st = &planned.status;
        assert_eq!(
            (st.phase, st.message.as_deref()),
            (Some(Phase::Healthy), Some("Ready"))
        );
        assert_eq!(st.observed_generation, Some(6));
        assert_eq!(
            st.cells["z1"],
            CellStatusSummary {
                ready: true,
                gateway_replicas: 2
            }
        );
        assert_eq!(
            st.databases["postgres"],
            DatabaseStatusSummary {
                ready_shards: 1,
                total_shards: 1
            }
        );
        assert_eq!(
            available(st),
            (
                "True".into(),
                "AggregatedStatus".into(),
                "Aggregation of cell availability".into(),
                None
            )
        );
        assert_eq!(st.gateway, None);
        assert!(conditions::find(&st.conditions, GATEWAY_EXTERNAL_READY).is_none());
        assert_eq!(st.resolved_templates, Some(ResolvedTemplates::default()));
        assert_eq!(
            planned.events[0].message,
            "Transitioned from '' to 'Healthy'"
        );
    }

    #[test]
    fn zero_children_yields_healthy_but_not_available() {
        let c = cluster();
        let st = plan(&observed(&c, &[], &[], &[]));
        assert_eq!(st.phase, Some(Phase::Healthy));
        assert_eq!(available(&st).0, "False");
        assert!(st.cells.is_empty() && st.databases.is_empty());
    }

    #[test]
    fn degraded_child_wins_and_stale_children_are_progressing() {
        let c = cluster();
        let cells = [cell("z1", Phase::Healthy, true, 2, 2)];
        let st = plan(&observed(&c, &cells, &[], &[topo(Phase::Degraded, 1)]));
        assert_eq!(
            (st.phase, st.message.as_deref()),
            (Some(Phase::Degraded), Some("Cluster is degraded"))
        );
        let tgs = [table_group("postgres", Phase::Degraded, 0, 1, 3)];
        assert_eq!(
            plan(&observed(&c, &cells, &tgs, &[])).phase,
            Some(Phase::Degraded)
        );
        // A stale Degraded child does not degrade the cluster, but it is not Healthy either.
        let st = plan(&observed(&c, &cells, &[], &[topo(Phase::Degraded, 0)]));
        assert_eq!(
            (st.phase, st.message.as_deref()),
            (Some(Phase::Progressing), Some("Cluster is progressing"))
        );
        let st = plan(&observed(&c, &cells, &[], &[topo(Phase::Initializing, 1)]));
        assert_eq!(st.phase, Some(Phase::Progressing));
        // A child without any status is not Healthy.
        let mut bare = topo(Phase::Healthy, 1);
        bare.status = None;
        assert_eq!(
            plan(&observed(&c, &cells, &[], &[bare])).phase,
            Some(Phase::Progressing)
        );
    }

    #[test]
    fn a_stale_or_unavailable_cell_is_not_ready_and_stale_table_groups_add_no_ready_shards() {
        let c = cluster();
        let cells = [
            cell("z1", Phase::Healthy, true, 1, 2),
            cell("z2", Phase::Healthy, false, 2, 0),
        ];
        let tgs = [
            table_group("postgres", Phase::Healthy, 2, 2, 2),
            table_group("postgres", Phase::Healthy, 1, 3, 3),
        ];
        let st = plan(&observed(&c, &cells, &tgs, &[]));
        assert!(!st.cells["z1"].ready && !st.cells["z2"].ready);
        assert_eq!(available(&st).0, "False");
        assert_eq!(
            st.databases["postgres"],
            DatabaseStatusSummary {
                ready_shards: 1,
                total_shards: 5
            }
        );
    }

    fn service(external_ip: Option<&str>, hostname: Option<&str>, ip: Option<&str>) -> Service {
        Service {
            spec: Some(ServiceSpec {
                external_ips: external_ip.map(|i| vec![i.to_owned()]),
                ..Default::default()
            }),
            status: Some(ServiceStatus {
                load_balancer: Some(LoadBalancerStatus {
                    ingress: (hostname.is_some() || ip.is_some()).then(|| {
                        vec![LoadBalancerIngress {
                            hostname: hostname.map(str::to_owned),
                            ip: ip.map(str::to_owned),
                            ..Default::default()
                        }]
                    }),
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn external_endpoint_prefers_external_ip_then_hostname_then_ip() {
        assert_eq!(
            external_endpoint(&service(
                Some("1.2.3.4"),
                Some("lb.example"),
                Some("5.6.7.8")
            )),
            "1.2.3.4"
        );
        assert_eq!(
            external_endpoint(&service(None, Some("lb.example"), Some("5.6.7.8"))),
            "lb.example"
        );
        assert_eq!(
            external_endpoint(&service(None, None, Some("5.6.7.8"))),
            "5.6.7.8"
        );
        assert_eq!(external_endpoint(&service(None, None, None)), "");
        assert_eq!(external_endpoint(&Service::default()), "");
    }

    fn external(st: &MultigresClusterStatus, type_: &str) -> (String, String, String) {
        let c = conditions::find(&st.conditions, type_).unwrap();
        (c.status.clone(), c.reason.clone(), c.message.clone())
    }

    #[test]
    fn gateway_external_ready_steps() {
        let mut c = cluster();
        c.spec.external_gateway = Some(ExternalGatewayConfig {
            enabled: true,
            ..Default::default()
        });
        let ready_cells = [cell("z1", Phase::Healthy, true, 2, 2)];
        let idle_cells = [cell("z1", Phase::Healthy, true, 2, 0)];
        let stale_cells = [cell("z1", Phase::Healthy, true, 1, 2)];
        let svc = service(None, Some("gw.example"), None);

        let st = plan(&observed(&c, &ready_cells, &[], &[]));
        assert_eq!(
            external(&st, GATEWAY_EXTERNAL_READY),
            (
                "False".into(),
                "AwaitingEndpoint".into(),
                "Waiting for gateway service endpoint".into()
            )
        );
        assert_eq!(st.gateway.as_ref().unwrap().external_endpoint, "");

        for cells in [&idle_cells[..], &stale_cells[..]] {
            let mut o = observed(&c, cells, &[], &[]);
            o.gateway_service = Some(&svc);
            assert_eq!(
                external(&plan(&o), GATEWAY_EXTERNAL_READY),
                (
                    "False".into(),
                    "NoReadyGateways".into(),
                    "External endpoint assigned but no multigateway pods are ready".into()
                )
            );
        }
        let mut o = observed(&c, &ready_cells, &[], &[]);
        o.gateway_service = Some(&svc);
        let st = plan(&o);
        assert_eq!(
            external(&st, GATEWAY_EXTERNAL_READY),
            (
                "True".into(),
                "EndpointReady".into(),
                "External endpoint gw.example is serving traffic".into()
            )
        );
        assert_eq!(
            conditions::find(&st.conditions, GATEWAY_EXTERNAL_READY)
                .unwrap()
                .observed_generation,
            Some(6)
        );
        assert_eq!(st.gateway.as_ref().unwrap().external_endpoint, "gw.example");

        // Disabled again: condition and endpoint are removed.
        let mut off = c.clone();
        off.spec.external_gateway = None;
        off.status = Some(st);
        let st = plan(&observed(&off, &ready_cells, &[], &[]));
        assert!(conditions::find(&st.conditions, GATEWAY_EXTERNAL_READY).is_none());
        assert_eq!(st.gateway, None);
    }

    #[test]
    fn admin_web_external_ready_steps() {
        let mut c = cluster();
        c.spec.external_admin_web = Some(ExternalAdminWebConfig {
            enabled: true,
            ..Default::default()
        });
        let svc = service(Some("9.9.9.9"), None, None);
        let mut deployment = Deployment {
            status: Some(DeploymentStatus {
                ready_replicas: Some(0),
                ..Default::default()
            }),
            ..Default::default()
        };
        let st = plan(&observed(&c, &[], &[], &[]));
        assert_eq!(
            external(&st, ADMIN_WEB_EXTERNAL_READY),
            (
                "False".into(),
                "AwaitingEndpoint".into(),
                "Waiting for admin web service endpoint".into()
            )
        );
        let mut o = observed(&c, &[], &[], &[]);
        o.admin_web_service = Some(&svc);
        o.admin_web_deployment = Some(&deployment);
        assert_eq!(
            external(&plan(&o), ADMIN_WEB_EXTERNAL_READY),
            (
                "False".into(),
                "NoReadyAdminWeb".into(),
                "External endpoint assigned but no multiadmin-web pods are ready".into()
            )
        );
        deployment.status.as_mut().unwrap().ready_replicas = Some(1);
        let mut o = observed(&c, &[], &[], &[]);
        o.admin_web_service = Some(&svc);
        o.admin_web_deployment = Some(&deployment);
        let st = plan(&o);
        assert_eq!(external(&st, ADMIN_WEB_EXTERNAL_READY).1, "EndpointReady");
        assert_eq!(st.admin_web.unwrap().external_endpoint, "9.9.9.9");
    }

    #[test]
    fn images_and_other_conditions_pass_through_and_a_repeat_is_a_no_op() {
        let mut c = cluster();
        let cells = [cell("z1", Phase::Healthy, true, 2, 2)];
        let mut live = plan(&observed(&c, &cells, &[], &[]));
        conditions::set(
            &mut live.conditions,
            conditions::condition("ImageRolloutPending", false, "UpToDate", "", Some(6)),
            &at(5),
        );
        live.images = Some(Default::default());
        c.status = Some(live.clone());
        let again = cluster_status(&observed(&c, &cells, &[], &[]), &at(700));
        assert!(again.events.is_empty());
        assert!(!status_changed(Some(&live), &again.status));
    }

    #[test]
    fn resolved_templates_are_the_explicit_references_sorted_and_distinct() {
        let spec = MultigresClusterSpec {
            template_defaults: TemplateDefaults {
                core_template: Some("core-b".into()),
                cell_template: None,
                shard_template: Some("shard-a".into()),
            },
            global_topo_server: Some(GlobalTopoServerSpec {
                template_ref: Some("core-a".into()),
                ..Default::default()
            }),
            multiadmin: Some(MultiadminConfig {
                template_ref: Some("core-b".into()),
                ..Default::default()
            }),
            cells: vec![
                CellConfig {
                    name: "z1".into(),
                    cell_template: Some("cell-b".into()),
                    ..Default::default()
                },
                CellConfig {
                    name: "z2".into(),
                    cell_template: Some("cell-a".into()),
                    ..Default::default()
                },
                CellConfig {
                    name: "z3".into(),
                    cell_template: Some(String::new()),
                    ..Default::default()
                },
            ],
            databases: vec![DatabaseConfig {
                name: "postgres".into(),
                tablegroups: vec![TableGroupConfig {
                    name: "default".into(),
                    shards: vec![
                        ShardConfig {
                            name: "0-inf".into(),
                            shard_template: Some("shard-b".into()),
                            ..Default::default()
                        },
                        ShardConfig {
                            name: "x".into(),
                            shard_template: Some("shard-a".into()),
                            ..Default::default()
                        },
                    ],
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(
            resolved_templates(&spec),
            ResolvedTemplates {
                core_templates: vec!["core-a".into(), "core-b".into()],
                cell_templates: vec!["cell-a".into(), "cell-b".into()],
                shard_templates: vec!["shard-a".into(), "shard-b".into()],
            }
        );
        assert_eq!(
            resolved_templates(&MultigresClusterSpec::default()),
            ResolvedTemplates::default()
        );
    }
}
