//! A cell's gateway: Deployment and Service (upstream's cell controller,
//! `pkg/resource-handler/controller/cell`).

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{Container, PodSpec, PodTemplateSpec, Service, ServiceSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

use super::certificates::PUBLIC_SECRET;
use super::cluster::{GATEWAY_PG, GATEWAY_PG_REPLICA, log_level};
use super::otel::{Otel, Resource};
use super::topo::{pull_policy, pull_secrets};
use super::{
    Built, built, internal_tls_args, internal_tls_name, meta, mount, named_service_port,
    node_selector, pod_annotations, probes, secret_volume, tcp_port,
};
use crate::api::Cell;
use crate::labels::{self, Labels};
use crate::names::ClusterNames;
use crate::units::duration;

pub const HTTP: i32 = 15100;
pub const GRPC: i32 = 15170;

pub fn build(
    cell: &Cell,
    fallback_otel: &std::collections::BTreeMap<String, String>,
) -> Vec<Built> {
    let spec = &cell.spec;
    let own = cell.metadata.labels.clone().unwrap_or_default();
    let cluster = own.get(labels::CLUSTER).cloned().unwrap_or_default();
    let namespace = cell.metadata.namespace.clone().unwrap_or_default();
    let names = ClusterNames::new(&cluster, &namespace);
    let project = cell
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(labels::PROJECT_REF))
        .cloned()
        .unwrap_or_else(|| cluster.clone());

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

    let mut volumes = Vec::new();
    let mut mounts = Vec::new();
    if let (Some(volume), Some(otel_mount)) = (otel.volume(), otel.mount()) {
        volumes.push(volume);
        mounts.push(otel_mount);
    }
    if spec.internal_tls.as_ref().and_then(|t| t.enabled) == Some(true) {
        const DIR: &str = "/etc/multigateway/tls-internal";
        volumes.push(secret_volume(
            "tls-certs-internal",
            &internal_tls_name("multigateway", &cluster, &namespace),
        ));
        mounts.push(mount("tls-certs-internal", DIR, true));
        args.extend(internal_tls_args(DIR, &cluster, &namespace));
    }
    if spec
        .cert_common_name
        .as_deref()
        .is_some_and(|cn| !cn.is_empty())
    {
        const DIR: &str = "/etc/multigateway/tls";
        volumes.push(secret_volume("tls-certs", PUBLIC_SECRET));
        mounts.push(mount("tls-certs", DIR, true));
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
    let mut container = Container {
        name: "multigateway".into(),
        image: Some(spec.images.multigateway.clone()),
        image_pull_policy: pull_policy(&spec.images.pull),
        args: Some(args),
        ports: Some(vec![
            tcp_port("http", HTTP),
            tcp_port("grpc", GRPC),
            tcp_port("postgres", GATEWAY_PG),
            tcp_port("pg-replica", GATEWAY_PG_REPLICA),
        ]),
        resources: stateless.resources.clone(),
        env: Some(otel.env(Some(resource))).filter(|e| !e.is_empty()),
        volume_mounts: (!mounts.is_empty()).then_some(mounts),
        ..Default::default()
    };
    probes(&mut container, HTTP, "/ready", "/live", "/ready");

    let name = names.gateway_deployment(&spec.name);
    let metadata = meta(&name, &namespace, object_labels.clone());
    let deployment = Deployment {
        metadata: metadata.clone(),
        spec: Some(DeploymentSpec {
            replicas: Some(stateless.replicas.unwrap_or(1)),
            selector: LabelSelector {
                match_labels: Some(selector_labels.clone()),
                ..Default::default()
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels::merge(&object_labels, &stateless.pod_labels)),
                    annotations: Some(pod_annotations(&stateless.pod_annotations, &project)),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    affinity: stateless.affinity.clone(),
                    tolerations: spec
                        .multigateway_placement
                        .as_ref()
                        .map(|p| p.tolerations.clone())
                        .filter(|t| !t.is_empty()),
                    node_selector: node_selector(spec.zone_id.as_deref(), spec.region.as_deref()),
                    image_pull_secrets: pull_secrets(&spec.images.pull),
                    containers: vec![container],
                    volumes: (!volumes.is_empty()).then_some(volumes),
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        ..Default::default()
    };

    let service_name = names.gateway_service(&spec.name);
    let service_meta = meta(&service_name, &namespace, object_labels);
    let service = Service {
        metadata: service_meta.clone(),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".into()),
            // Upstream leaves out the replica port (its quirk §8.27).
            ports: Some(vec![
                named_service_port("http", HTTP),
                named_service_port("grpc", GRPC),
                named_service_port("postgres", GATEWAY_PG),
                named_service_port("pg-replica", GATEWAY_PG_REPLICA),
            ]),
            selector: Some(selector_labels),
            ..Default::default()
        }),
        ..Default::default()
    };
    vec![
        built(&deployment, &metadata),
        built(&service, &service_meta),
    ]
}
