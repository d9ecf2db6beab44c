//! A cell's gateway: Deployment and Service (upstream's cell controller,
//! `pkg/resource-handler/controller/cell`).

use super::certificates::PUBLIC_SECRET;
use super::cluster::{GATEWAY_PG, GATEWAY_PG_REPLICA, log_level};
use super::otel::{Otel, Resource};
use super::{
    BuildError, Built, ComponentContainer, ComponentDeployment, ComponentVolumes, Identity,
    cluster_ip_service, named_service_port, node_selector, pod_annotations, tcp_port,
};
use crate::api::Cell;
use crate::api::children::CellSpec;
use crate::labels::{self, Labels};
use crate::names::ClusterNames;
use crate::units::duration;

pub const HTTP: i32 = 15100;
pub const GRPC: i32 = 15170;

pub fn build(
    cell: &Cell,
    fallback_otel: &std::collections::BTreeMap<String, String>,
) -> Result<Vec<Built>, BuildError> {
    let spec = &cell.spec;
    let Identity {
        cluster,
        namespace,
        project,
        ..
    } = Identity::of("Cell", &cell.metadata)?;
    let names = ClusterNames::new(&cluster, &namespace);

    // Upstream's labels, which the immutable selector is drawn from.
    let mut upstream_labels = labels::with(
        labels::standard(&cluster, "multigateway"),
        &[(labels::CELL, &spec.name)],
    );
    if let Some(zone) = &spec.zone_id {
        upstream_labels.insert(labels::ZONE_ID.into(), zone.clone());
    } else if let Some(region) = &spec.region {
        upstream_labels.insert(labels::REGION.into(), region.clone());
    }
    let selector_labels = labels::selector(&upstream_labels);
    // Upstream leaves out the cluster label here (its quirk §8.6); we add it
    // to metadata and pods, not to the selector.
    let object_labels: Labels = labels::with(upstream_labels, &[(labels::CLUSTER, &cluster)]);

    let otel = Otel {
        config: spec.observability.as_ref(),
        fallback: fallback_otel,
    };
    let mut args = gateway_args(spec);
    let mut volumes = ComponentVolumes::new(&otel);
    if spec.internal_tls.as_ref().and_then(|t| t.enabled) == Some(true) {
        args.extend(volumes.add_internal_tls(
            "tls-certs-internal",
            "/etc/multigateway/tls-internal",
            "multigateway",
            &cluster,
            &namespace,
        ));
    }
    if spec
        .cert_common_name
        .as_deref()
        .is_some_and(|cn| !cn.is_empty())
    {
        const DIR: &str = "/etc/multigateway/tls";
        volumes.add_secret("tls-certs", PUBLIC_SECRET, DIR);
        args.extend([
            "--pg-tls-cert-file".into(),
            format!("{DIR}/tls.crt"),
            "--pg-tls-key-file".into(),
            format!("{DIR}/tls.key"),
        ]);
    }

    let stateless = &spec.multigateway.stateless;
    let resource = Resource {
        project: &project,
        cluster: &cluster,
        component: "multigateway",
    };
    let container = ComponentContainer {
        name: "multigateway",
        image: Some(spec.images.multigateway.clone()),
        pull: &spec.images.pull,
        args,
        http: HTTP,
        grpc: GRPC,
        more_ports: vec![
            tcp_port("postgres", GATEWAY_PG),
            tcp_port("pg-replica", GATEWAY_PG_REPLICA),
        ],
        resources: stateless.resources.clone(),
        env: otel.env(Some(resource)),
        mounts: volumes.mounts,
    }
    .build();
    let deployment = ComponentDeployment {
        name: names.gateway_deployment(&spec.name),
        namespace: &namespace,
        labels: object_labels.clone(),
        selector: selector_labels.clone(),
        spec: stateless,
        pod_annotations: Some(pod_annotations(&stateless.pod_annotations, &project)),
        node_selector: node_selector(spec.zone_id.as_deref(), spec.region.as_deref()),
        placement: spec.multigateway_placement.as_ref(),
        pull: &spec.images.pull,
        container,
        volumes: volumes.volumes,
    }
    .build();
    let service = cluster_ip_service(
        names.gateway_service(&spec.name),
        &namespace,
        &object_labels,
        selector_labels,
        // Upstream leaves out the replica port (its quirk §8.27).
        vec![
            named_service_port("http", HTTP),
            named_service_port("grpc", GRPC),
            named_service_port("postgres", GATEWAY_PG),
            named_service_port("pg-replica", GATEWAY_PG_REPLICA),
        ],
        None,
    );
    Ok(vec![deployment, service])
}

/// The gateway's flags, before those of its certificates.
fn gateway_args(spec: &CellSpec) -> Vec<String> {
    let mut args: Vec<String> = [
        ("--http-port", HTTP.to_string()),
        ("--grpc-port", GRPC.to_string()),
        ("--pg-port", GATEWAY_PG.to_string()),
        ("--pg-replica-port", GATEWAY_PG_REPLICA.to_string()),
        (
            "--topo-global-server-addresses",
            spec.global_topo_server.address.clone(),
        ),
        (
            "--topo-global-root",
            spec.global_topo_server.root_path.clone(),
        ),
        ("--cell", spec.name.clone()),
        ("--log-level", log_level(spec.log_levels.multigateway)),
    ]
    .into_iter()
    .flat_map(|(flag, value)| [flag.to_owned(), value])
    .collect();
    args.insert(0, "multigateway".into());
    if let Some(buffer) = &spec.multigateway.buffer {
        if let Some(enabled) = buffer.enabled {
            args.push(format!("--buffer-enabled={enabled}"));
        }
        let go_duration = |d: &str| duration::canonical(d).unwrap_or_else(|_| d.to_owned());
        for (flag, value) in [
            ("--buffer-window", buffer.window.as_deref().map(go_duration)),
            (
                "--buffer-max-failover-duration",
                buffer.max_failover_duration.as_deref().map(go_duration),
            ),
            (
                "--buffer-min-time-between-failovers",
                buffer
                    .min_time_between_failovers
                    .as_deref()
                    .map(go_duration),
            ),
            ("--buffer-size", buffer.size.map(|n| n.to_string())),
            (
                "--buffer-drain-concurrency",
                buffer.drain_concurrency.map(|n| n.to_string()),
            ),
        ] {
            if let Some(value) = value {
                args.push(flag.into());
                args.push(value);
            }
        }
    }
    args
}
