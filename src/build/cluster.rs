//! Objects of the cluster itself: multiadmin and multiadmin-web Deployments
//! and Services, and the cluster-wide gateway Services
//! (upstream's `pkg/cluster-handler/controller/multigrescluster`).

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{
    Container, PodSpec, PodTemplateSpec, Service, ServiceSpec, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::otel::Otel;
use super::topo::{pull_policy, pull_secrets};
use super::{
    Built, built, env, internal_tls_args, internal_tls_name, meta, mount, named_service_port,
    numbered_service_port, probes, secret_volume, selector, tcp_port,
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

/// A Deployment with one container and the usual pod template.
struct DeploymentParts<'a> {
    name: String,
    namespace: &'a str,
    labels: Labels,
    spec: &'a StatelessSpec,
    tolerations: Option<&'a PodPlacementSpec>,
    container: Container,
    volumes: Vec<Volume>,
    pull: &'a crate::api::common::PullSettings,
}

fn deployment(parts: DeploymentParts<'_>) -> Built {
    let metadata = meta(&parts.name, parts.namespace, parts.labels.clone());
    let pod_labels = labels::merge(&parts.labels, &parts.spec.pod_labels);
    let annotations =
        (!parts.spec.pod_annotations.is_empty()).then(|| parts.spec.pod_annotations.clone());
    let deployment = Deployment {
        metadata: metadata.clone(),
        spec: Some(DeploymentSpec {
            replicas: Some(parts.spec.replicas.unwrap_or(1)),
            selector: selector(&parts.labels),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(pod_labels),
                    annotations,
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    image_pull_secrets: pull_secrets(parts.pull),
                    affinity: parts.spec.affinity.clone(),
                    tolerations: parts
                        .tolerations
                        .map(|p| p.tolerations.clone())
                        .filter(|t| !t.is_empty()),
                    containers: vec![parts.container],
                    volumes: (!parts.volumes.is_empty()).then_some(parts.volumes),
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        ..Default::default()
    };
    built(&deployment, &metadata)
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
    let mut volumes = Vec::new();
    let mut mounts: Vec<VolumeMount> = Vec::new();
    if let (Some(volume), Some(otel_mount)) = (parts.otel.volume(), parts.otel.mount()) {
        volumes.push(volume);
        mounts.push(otel_mount);
    }
    if parts.internal_tls {
        const DIR: &str = "/etc/multiadmin/tls";
        volumes.push(secret_volume(
            "tls-certs",
            &internal_tls_name("multiadmin", parts.name, parts.namespace),
        ));
        mounts.push(mount("tls-certs", DIR, true));
        args.extend(internal_tls_args(DIR, parts.name, parts.namespace));
    }
    let mut container = Container {
        name: "multiadmin".into(),
        image: parts.images.multiadmin.clone(),
        image_pull_policy: pull_policy(&parts.images.pull),
        command: Some(vec!["/multigres/bin/multiadmin".into()]),
        args: Some(args),
        ports: Some(vec![
            tcp_port("http", MULTIADMIN_HTTP),
            tcp_port("grpc", MULTIADMIN_GRPC),
        ]),
        resources: parts.multiadmin.resources.clone(),
        env: Some(parts.otel.env(None)).filter(|e| !e.is_empty()),
        volume_mounts: (!mounts.is_empty()).then_some(mounts),
        ..Default::default()
    };
    probes(&mut container, MULTIADMIN_HTTP, "/ready", "/live", "/ready");
    let deployment = deployment(DeploymentParts {
        name: names.multiadmin(),
        namespace: parts.namespace,
        labels: labels.clone(),
        spec: parts.multiadmin,
        tolerations: parts.multiadmin_placement,
        container,
        volumes,
        pull: &parts.images.pull,
    });
    let service = service(
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
    let deployment = deployment(DeploymentParts {
        name: names.multiadmin_web(),
        namespace: parts.namespace,
        labels: labels.clone(),
        spec: parts.multiadmin_web,
        tolerations: None,
        container,
        volumes: Vec::new(),
        pull: &parts.images.pull,
    });
    let exposure = parts
        .external_admin_web
        .filter(|e| e.enabled)
        .map(|e| (&e.external_ips, &e.annotations));
    let service = service(
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
        service(
            names.global_gateway_service(),
            parts.namespace,
            &labels,
            selector.clone(),
            vec![named_service_port("postgres", GATEWAY_PG)],
            exposure,
        ),
        service(
            names.global_gateway_replica_service(),
            parts.namespace,
            &labels,
            selector,
            vec![named_service_port("pg-replica", GATEWAY_PG_REPLICA)],
            None,
        ),
    ]
}

/// A ClusterIP Service, with external IPs and annotations when exposed.
fn service(
    name: String,
    namespace: &str,
    labels: &Labels,
    selector: Labels,
    ports: Vec<k8s_openapi::api::core::v1::ServicePort>,
    exposure: Option<(&Vec<String>, &BTreeMap<String, String>)>,
) -> Built {
    let mut metadata = meta(name, namespace, labels.clone());
    if let Some((_, annotations)) = exposure
        && !annotations.is_empty()
    {
        metadata.annotations = Some(annotations.clone());
    }
    let service = Service {
        metadata: metadata.clone(),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".into()),
            ports: Some(ports),
            selector: Some(selector),
            external_ips: exposure
                .map(|(ips, _)| ips.clone())
                .filter(|ips| !ips.is_empty()),
            ..Default::default()
        }),
        ..Default::default()
    };
    built(&service, &metadata)
}
