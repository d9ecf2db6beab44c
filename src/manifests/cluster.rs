//! Objects of the cluster itself: multiadmin and multiadmin-web Deployments
//! and Services, and the cluster-wide gateway Services
//! (upstream's `pkg/cluster-handler/controller/multigrescluster`).

use k8s_openapi::api::core::v1::{Container, Volume};

use super::otel::Otel;
use super::topo::pull_policy;
use super::{
    Built, ComponentContainer, ComponentDeployment, ComponentVolumes, cluster_ip_service, env,
    named_service_port, numbered_service_port, probes, tcp_port,
};
use crate::api::cluster::{ClusterImages, ExternalAdminWebConfig, ExternalGatewayConfig};
use crate::api::common::{
    ComponentLogLevels, GlobalTopoServerRef, LogLevel, PodPlacementSpec, StatelessSpec,
};
use crate::labels::{self, Labels};
use crate::names::ClusterNames;

pub const MULTIADMIN_HTTP: i32 = 18000;
pub const MULTIADMIN_GRPC: i32 = 18070;
pub const MULTIADMIN_WEB_HTTP: i32 = 18100;
pub const GATEWAY_PG: i32 = 5432;
pub const GATEWAY_PG_REPLICA: i32 = 5433;

/// What the cluster-level builders need: the resolved cluster.
#[derive(Debug, Clone, Copy)]
pub struct ClusterParts<'a> {
    pub name: &'a str,
    pub namespace: &'a str,
    /// Resolved: pull settings and all six component images.
    pub images: &'a ClusterImages,
    pub log_levels: &'a ComponentLogLevels,
    pub postgres_superuser: &'a str,
    pub global_topo: &'a GlobalTopoServerRef,
    pub multiadmin: &'a StatelessSpec,
    pub multiadmin_placement: Option<&'a PodPlacementSpec>,
    pub multiadmin_web: &'a StatelessSpec,
    pub external_gateway: Option<&'a ExternalGatewayConfig>,
    pub external_admin_web: Option<&'a ExternalAdminWebConfig>,
    pub internal_tls: bool,
    pub otel: Otel<'a>,
}

pub fn build(parts: &ClusterParts<'_>) -> Vec<Built> {
    let names = ClusterNames::new(parts.name, parts.namespace);
    let mut out = multiadmin(parts, &names);
    out.extend(multiadmin_web(parts, &names));
    out.extend(gateway_services(parts, &names));
    out
}

pub fn log_level(level: Option<LogLevel>) -> String {
    level
        .and_then(|l| serde_json::to_value(l).ok())
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| "info".into())
}

fn component_labels(cluster: &str, component: &str) -> Labels {
    labels::with(
        labels::standard(cluster, component),
        &[(labels::CLUSTER, cluster)],
    )
}

/// A Deployment of an admin component, placed by its spec and placement.
/// Its pods keep the user's annotations as they are: they are not scraped.
fn admin_deployment(
    parts: &ClusterParts<'_>,
    name: String,
    labels: &Labels,
    (spec, placement): (&StatelessSpec, Option<&PodPlacementSpec>),
    container: Container,
    volumes: Vec<Volume>,
) -> Built {
    ComponentDeployment {
        name,
        namespace: parts.namespace,
        labels: labels.clone(),
        selector: labels::selector(labels),
        spec,
        pod_annotations: (!spec.pod_annotations.is_empty()).then(|| spec.pod_annotations.clone()),
        node_selector: None,
        placement,
        pull: &parts.images.pull,
        container,
        volumes,
    }
    .build()
}

fn multiadmin(parts: &ClusterParts<'_>, names: &ClusterNames<'_>) -> Vec<Built> {
    let labels = component_labels(parts.name, "multiadmin");
    // Upstream hard-codes the managed global etcd here, which breaks clusters
    // with an external global topology; we use the resolved reference.
    let mut args = vec![
        format!("--http-port={MULTIADMIN_HTTP}"),
        format!("--grpc-port={MULTIADMIN_GRPC}"),
        format!(
            "--topo-global-server-addresses={}",
            parts.global_topo.address
        ),
        format!("--topo-global-root={}", parts.global_topo.root_path),
        "--service-map=grpc-multiadmin".into(),
        "--pprof-http=true".into(),
        format!("--log-level={}", log_level(parts.log_levels.multiadmin)),
    ];
    let mut volumes = ComponentVolumes::new(&parts.otel);
    if parts.internal_tls {
        args.extend(volumes.add_internal_tls(
            "tls-certs",
            "/etc/multiadmin/tls",
            "multiadmin",
            parts.name,
            parts.namespace,
        ));
    }
    let mut container = ComponentContainer {
        name: "multiadmin",
        image: parts.images.multiadmin.clone(),
        pull: &parts.images.pull,
        args,
        http: MULTIADMIN_HTTP,
        grpc: MULTIADMIN_GRPC,
        more_ports: Vec::new(),
        resources: parts.multiadmin.resources.clone(),
        env: parts.otel.env(None),
        mounts: volumes.mounts,
    }
    .build();
    container.command = Some(vec!["/multigres/bin/multiadmin".into()]);
    let deployment = admin_deployment(
        parts,
        names.multiadmin(),
        &labels,
        (parts.multiadmin, parts.multiadmin_placement),
        container,
        volumes.volumes,
    );
    let service = cluster_ip_service(
        names.multiadmin(),
        parts.namespace,
        &labels,
        labels::selector(&labels),
        vec![
            numbered_service_port("http", MULTIADMIN_HTTP),
            numbered_service_port("grpc", MULTIADMIN_GRPC),
        ],
        None,
    );
    vec![deployment, service]
}

fn multiadmin_web(parts: &ClusterParts<'_>, names: &ClusterNames<'_>) -> Vec<Built> {
    let labels = component_labels(parts.name, "multiadmin-web");
    let mut container = Container {
        name: "multiadmin-web".into(),
        image: parts.images.multiadmin_web.clone(),
        image_pull_policy: pull_policy(&parts.images.pull),
        env: Some(vec![
            env("HOSTNAME", "::"),
            env(
                "MULTIADMIN_API_URL",
                format!("http://{}:{MULTIADMIN_HTTP}", names.multiadmin()),
            ),
            env("POSTGRES_HOST", names.global_gateway_service()),
            env("POSTGRES_PORT", GATEWAY_PG.to_string()),
            env("POSTGRES_DATABASE", "postgres"),
            env("POSTGRES_USER", parts.postgres_superuser),
        ]),
        ports: Some(vec![tcp_port("http", MULTIADMIN_WEB_HTTP)]),
        resources: parts.multiadmin_web.resources.clone(),
        ..Default::default()
    };
    probes(&mut container, MULTIADMIN_WEB_HTTP, "/", "/", "/");
    let deployment = admin_deployment(
        parts,
        names.multiadmin_web(),
        &labels,
        (parts.multiadmin_web, None),
        container,
        Vec::new(),
    );
    let exposure = parts
        .external_admin_web
        .filter(|e| e.enabled)
        .map(|e| (&e.external_ips, &e.annotations));
    let service = cluster_ip_service(
        names.multiadmin_web(),
        parts.namespace,
        &labels,
        labels::selector(&labels),
        vec![numbered_service_port("http", MULTIADMIN_WEB_HTTP)],
        exposure,
    );
    vec![deployment, service]
}

fn gateway_services(parts: &ClusterParts<'_>, names: &ClusterNames<'_>) -> Vec<Built> {
    let labels = component_labels(parts.name, "multigateway");
    // Every cell's gateways, whatever the cell.
    let selector = Labels::from([
        (labels::COMPONENT.to_owned(), "multigateway".to_owned()),
        (labels::INSTANCE.to_owned(), parts.name.to_owned()),
    ]);
    let exposure = parts
        .external_gateway
        .filter(|e| e.enabled)
        .map(|e| (&e.external_ips, &e.annotations));
    vec![
        cluster_ip_service(
            names.global_gateway_service(),
            parts.namespace,
            &labels,
            selector.clone(),
            vec![named_service_port("postgres", GATEWAY_PG)],
            exposure,
        ),
        cluster_ip_service(
            names.global_gateway_replica_service(),
            parts.namespace,
            &labels,
            selector,
            vec![named_service_port("pg-replica", GATEWAY_PG_REPLICA)],
            None,
        ),
    ]
}
