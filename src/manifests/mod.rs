//! Builders of the Kubernetes objects the operator creates from the child
//! custom resources (upstream's `pkg/resource-handler/controller/`): etcd StatefulSets,
//! Deployments, Services, ConfigMaps, PodDisruptionBudgets, PVCs,
//! Certificates, and the pool Pods the reconciler owns.
//!
//! Each builder reads a child object as the API server stores it (a Cell,
//! Shard or TopoServer), exactly as the in-cluster reconciler will, so
//! `render` and the reconciler produce the same objects. Builders are pure.

pub mod certificates;
pub mod cluster;
pub mod gateway;
pub mod otel;
pub mod pool;
pub mod shard;
pub mod topo;

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{
    Container, ContainerPort, EnvVar, HTTPGetAction, PersistentVolumeClaim,
    PersistentVolumeClaimSpec, PodSpec, PodTemplateSpec, Probe, ResourceRequirements, Service,
    ServicePort, ServiceSpec, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::Serialize;
use serde_json::Value;

use self::otel::Otel;
use self::topo::{access_modes, pull_policy, pull_secrets, storage_request};
use crate::api::common::{PodPlacementSpec, PullSettings, StatelessSpec, StorageSpec};
use crate::labels::{self, Labels};

/// A built object, ready to emit.
#[derive(Debug, Clone, PartialEq)]
pub struct Built {
    pub kind: &'static str,
    pub api_version: &'static str,
    pub name: String,
    pub namespace: String,
    pub value: Value,
}

/// Serialises a typed Kubernetes object (with `apiVersion` and `kind`).
pub fn built<T: Serialize + k8s_openapi::Resource>(object: &T, metadata: &ObjectMeta) -> Built {
    let mut value = serde_json::to_value(object).unwrap_or_else(|e| {
        panic!(
            "internal error: a {} does not serialise to JSON: {e}",
            T::KIND
        )
    });
    if let Some(map) = value.as_object_mut() {
        map.insert("apiVersion".into(), Value::String(T::API_VERSION.into()));
        map.insert("kind".into(), Value::String(T::KIND.into()));
    }
    crate::units::canonicalize(&mut value);
    Built {
        kind: T::KIND,
        api_version: T::API_VERSION,
        name: metadata.name.clone().unwrap_or_default(),
        namespace: metadata.namespace.clone().unwrap_or_default(),
        value,
    }
}

/// Why a child object cannot be built from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// The API server stores children with a name, a namespace and the
    /// `multigres.com/cluster` label; without them the objects built from
    /// the child would have empty names or belong to no cluster.
    #[error(
        "{kind} {namespace}/{name} has no {missing}: a child without its identity cannot be built"
    )]
    MissingIdentity {
        kind: &'static str,
        namespace: String,
        name: String,
        missing: &'static str,
    },
}

/// Who a child object (Cell, Shard, TopoServer) is: read once, here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub name: String,
    pub namespace: String,
    /// Its `multigres.com/cluster` label.
    pub cluster: String,
    /// Its project annotation, else its cluster.
    pub project: String,
}

impl Identity {
    /// The identity of the child `kind` with `metadata`, or what it lacks.
    pub fn of(kind: &'static str, metadata: &ObjectMeta) -> Result<Self, BuildError> {
        let text = |value: &Option<String>| value.clone().filter(|v| !v.is_empty());
        let missing = |what| BuildError::MissingIdentity {
            kind,
            namespace: metadata.namespace.clone().unwrap_or_default(),
            name: metadata.name.clone().unwrap_or_default(),
            missing: what,
        };
        let name = text(&metadata.name).ok_or_else(|| missing("name"))?;
        let namespace = text(&metadata.namespace).ok_or_else(|| missing("namespace"))?;
        let cluster = metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(labels::CLUSTER))
            .filter(|c| !c.is_empty())
            .cloned()
            .ok_or_else(|| missing("multigres.com/cluster label"))?;
        let project = metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(labels::PROJECT_REF))
            .cloned()
            .unwrap_or_else(|| cluster.clone());
        Ok(Self {
            name,
            namespace,
            cluster,
            project,
        })
    }
}

pub fn meta(name: impl Into<String>, namespace: &str, labels: Labels) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        namespace: Some(namespace.to_owned()),
        labels: Some(labels),
        ..Default::default()
    }
}

pub fn selector(labels: &Labels) -> LabelSelector {
    LabelSelector {
        match_labels: Some(labels::selector(labels)),
        ..Default::default()
    }
}

pub fn tcp_port(name: &str, port: i32) -> ContainerPort {
    ContainerPort {
        name: Some(name.into()),
        container_port: port,
        protocol: Some("TCP".into()),
        ..Default::default()
    }
}

/// A Service port whose target is the container port of the same name.
pub fn named_service_port(name: &str, port: i32) -> ServicePort {
    service_port(name, port, IntOrString::String(name.into()))
}

/// A Service port whose target is a port number.
pub fn numbered_service_port(name: &str, port: i32) -> ServicePort {
    service_port(name, port, IntOrString::Int(port))
}

fn service_port(name: &str, port: i32, target: IntOrString) -> ServicePort {
    ServicePort {
        name: Some(name.into()),
        port,
        target_port: Some(target),
        protocol: Some("TCP".into()),
        ..Default::default()
    }
}

/// The startup, liveness and readiness probes every component uses:
/// HTTP GETs with periods 5/10/5 s and 30 startup attempts.
pub fn probes(container: &mut Container, port: i32, startup: &str, live: &str, ready: &str) {
    let probe = |path: &str, period: i32, failures: Option<i32>| Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.into()),
            port: IntOrString::Int(port),
            ..Default::default()
        }),
        period_seconds: Some(period),
        failure_threshold: failures,
        ..Default::default()
    };
    container.startup_probe = Some(probe(startup, 5, Some(30)));
    container.liveness_probe = Some(probe(live, 10, None));
    container.readiness_probe = Some(probe(ready, 5, None));
}

pub fn env(name: &str, value: impl Into<String>) -> EnvVar {
    EnvVar {
        name: name.into(),
        value: Some(value.into()),
        ..Default::default()
    }
}

pub fn mount(name: &str, path: &str, read_only: bool) -> VolumeMount {
    VolumeMount {
        name: name.into(),
        mount_path: path.into(),
        read_only: read_only.then_some(true),
        ..Default::default()
    }
}

/// A Secret volume with file mode 0444.
pub fn secret_volume(name: &str, secret: &str) -> Volume {
    Volume {
        name: name.into(),
        secret: Some(k8s_openapi::api::core::v1::SecretVolumeSource {
            secret_name: Some(secret.into()),
            default_mode: Some(0o444),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn config_map_volume(name: &str, config_map: &str) -> Volume {
    Volume {
        name: name.into(),
        config_map: Some(k8s_openapi::api::core::v1::ConfigMapVolumeSource {
            name: config_map.into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn empty_dir_volume(name: &str) -> Volume {
    Volume {
        name: name.into(),
        empty_dir: Some(Default::default()),
        ..Default::default()
    }
}

/// Pod annotations of data-plane components: the user's, minus the
/// Prometheus scrape keys (the operator owns scraping), plus the project.
pub fn pod_annotations(
    user: &BTreeMap<String, String>,
    project_ref: &str,
) -> BTreeMap<String, String> {
    let mut annotations: BTreeMap<String, String> = user
        .iter()
        .filter(|(k, _)| {
            !matches!(
                k.as_str(),
                "prometheus.io/scrape" | "prometheus.io/port" | "prometheus.io/path"
            )
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    annotations.insert(labels::PROJECT_REF.into(), project_ref.into());
    annotations
}

/// Flags that make a component present and require internal mTLS.
pub fn internal_tls_args(dir: &str, cluster: &str, namespace: &str) -> Vec<String> {
    let file = |name: &str| format!("{dir}/{name}");
    let mut args = Vec::new();
    for (flag, value) in [
        ("--grpc-cert", file("tls.crt")),
        ("--grpc-key", file("tls.key")),
        ("--grpc-ca", file("ca.crt")),
        ("--grpc-server-ca", file("ca.crt")),
        ("--multipooler-grpc-cert", file("tls.crt")),
        ("--multipooler-grpc-key", file("tls.key")),
        ("--multipooler-grpc-ca", file("ca.crt")),
        (
            "--multipooler-grpc-server-name",
            internal_tls_name("multipooler", cluster, namespace),
        ),
    ] {
        args.push(flag.to_owned());
        args.push(value);
    }
    args.push("--multipooler-grpc-require-tls".into());
    args
}

/// `<component>.<cluster>.<namespace>.multigres.internal`: the internal
/// certificate name, Secret name and DNS name of a component.
pub fn internal_tls_name(component: &str, cluster: &str, namespace: &str) -> String {
    format!("{component}.{cluster}.{namespace}.multigres.internal")
}

/// The pod's node selector for a cell: its zone ID, else its region.
pub fn node_selector(
    zone_id: Option<&str>,
    region: Option<&str>,
) -> Option<BTreeMap<String, String>> {
    labels::cell_topology(zone_id, region)
}

/// `Prune=false` and friends: GitOps tools must never delete these objects.
pub fn keep_annotations(annotations: &mut BTreeMap<String, String>) {
    annotations.insert(
        crate::labels::ARGOCD_SYNC_OPTIONS.into(),
        "Prune=false".into(),
    );
    annotations.insert(
        "kustomize.toolkit.fluxcd.io/prune".into(),
        "disabled".into(),
    );
}

/// The volumes of a stateless component (multiadmin, multiorch,
/// multigateway) and where its container mounts them, all read-only.
#[derive(Default)]
pub struct ComponentVolumes {
    pub volumes: Vec<Volume>,
    pub mounts: Vec<VolumeMount>,
}

impl ComponentVolumes {
    /// Starts with the OpenTelemetry sampling file, when one is configured.
    pub fn new(otel: &Otel<'_>) -> Self {
        let mut out = Self::default();
        if let (Some(volume), Some(otel_mount)) = (otel.volume(), otel.mount()) {
            out.volumes.push(volume);
            out.mounts.push(otel_mount);
        }
        out
    }

    /// Mounts Secret `secret` at `dir` as volume `name`.
    pub fn add_secret(&mut self, name: &str, secret: &str, dir: &str) {
        self.volumes.push(secret_volume(name, secret));
        self.mounts.push(mount(name, dir, true));
    }

    /// Mounts `component`'s internal certificate at `dir` as volume `name`,
    /// and returns the flags that make the component use it.
    pub fn add_internal_tls(
        &mut self,
        name: &str,
        dir: &str,
        component: &str,
        cluster: &str,
        namespace: &str,
    ) -> Vec<String> {
        self.add_secret(name, &internal_tls_name(component, cluster, namespace), dir);
        internal_tls_args(dir, cluster, namespace)
    }
}

/// The one container of a stateless component that serves HTTP and gRPC
/// (multiadmin, multiorch, multigateway).
pub struct ComponentContainer<'a> {
    pub name: &'a str,
    pub image: Option<String>,
    pub pull: &'a PullSettings,
    pub args: Vec<String>,
    pub http: i32,
    pub grpc: i32,
    /// Ports after the HTTP and gRPC ones.
    pub more_ports: Vec<ContainerPort>,
    pub resources: Option<ResourceRequirements>,
    /// The OpenTelemetry variables, if any.
    pub env: Vec<EnvVar>,
    pub mounts: Vec<VolumeMount>,
}

impl ComponentContainer<'_> {
    /// The container, probed on its HTTP port: ready at startup and for
    /// readiness, live for liveness.
    pub fn build(self) -> Container {
        let mut ports = vec![tcp_port("http", self.http), tcp_port("grpc", self.grpc)];
        ports.extend(self.more_ports);
        let mut container = Container {
            name: self.name.into(),
            image: self.image,
            image_pull_policy: pull_policy(self.pull),
            args: Some(self.args),
            ports: Some(ports),
            resources: self.resources,
            env: (!self.env.is_empty()).then_some(self.env),
            volume_mounts: (!self.mounts.is_empty()).then_some(self.mounts),
            ..Default::default()
        };
        probes(&mut container, self.http, "/ready", "/live", "/ready");
        container
    }
}

/// A Deployment of a stateless component: one container, replicas and pod
/// placement from its [`StatelessSpec`].
pub struct ComponentDeployment<'a> {
    pub name: String,
    pub namespace: &'a str,
    pub labels: Labels,
    /// The labels the pods are selected by.
    pub selector: Labels,
    pub spec: &'a StatelessSpec,
    pub pod_annotations: Option<BTreeMap<String, String>>,
    pub node_selector: Option<BTreeMap<String, String>>,
    pub placement: Option<&'a PodPlacementSpec>,
    pub pull: &'a PullSettings,
    pub container: Container,
    pub volumes: Vec<Volume>,
}

impl ComponentDeployment<'_> {
    pub fn build(self) -> Built {
        let metadata = meta(&self.name, self.namespace, self.labels.clone());
        let deployment = Deployment {
            metadata: metadata.clone(),
            spec: Some(DeploymentSpec {
                replicas: Some(self.spec.replicas.unwrap_or(1)),
                selector: LabelSelector {
                    match_labels: Some(self.selector),
                    ..Default::default()
                },
                template: PodTemplateSpec {
                    metadata: Some(ObjectMeta {
                        labels: Some(labels::merge(&self.labels, &self.spec.pod_labels)),
                        annotations: self.pod_annotations,
                        ..Default::default()
                    }),
                    spec: Some(PodSpec {
                        node_selector: self.node_selector,
                        affinity: self.spec.affinity.clone(),
                        tolerations: self
                            .placement
                            .map(|p| p.tolerations.clone())
                            .filter(|t| !t.is_empty()),
                        image_pull_secrets: pull_secrets(self.pull),
                        containers: vec![self.container],
                        volumes: (!self.volumes.is_empty()).then_some(self.volumes),
                        ..Default::default()
                    }),
                },
                ..Default::default()
            }),
            ..Default::default()
        };
        built(&deployment, &metadata)
    }
}

/// A ClusterIP Service, with external IPs and annotations when exposed.
pub fn cluster_ip_service(
    name: String,
    namespace: &str,
    labels: &Labels,
    selector: Labels,
    ports: Vec<ServicePort>,
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

/// A PersistentVolumeClaim for `storage`, of `fallback_size` when it names
/// no size.
pub fn volume_claim(metadata: ObjectMeta, storage: &StorageSpec, fallback_size: &str) -> Built {
    let claim = claim(metadata.clone(), storage, fallback_size);
    built(&claim, &metadata)
}

/// The claim of [`volume_claim`], typed (a StatefulSet's claim template).
pub fn claim(
    metadata: ObjectMeta,
    storage: &StorageSpec,
    fallback_size: &str,
) -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        metadata,
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(access_modes(&storage.access_modes)),
            storage_class_name: storage.class.clone(),
            resources: Some(storage_request(
                storage.size.as_deref().unwrap_or(fallback_size),
            )),
            ..Default::default()
        }),
        ..Default::default()
    }
}
