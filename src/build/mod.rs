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

use k8s_openapi::api::core::v1::{
    Container, ContainerPort, EnvVar, HTTPGetAction, Probe, ServicePort, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::Serialize;
use serde_json::Value;

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
    let mut value = serde_json::to_value(object).unwrap_or(Value::Null);
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
    ServicePort {
        name: Some(name.into()),
        port,
        target_port: Some(IntOrString::String(name.into())),
        protocol: Some("TCP".into()),
        ..Default::default()
    }
}

/// A Service port whose target is a port number.
pub fn numbered_service_port(name: &str, port: i32) -> ServicePort {
    ServicePort {
        name: Some(name.into()),
        port,
        target_port: Some(IntOrString::Int(port)),
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
        "argocd.argoproj.io/sync-options".into(),
        "Prune=false".into(),
    );
    annotations.insert(
        "kustomize.toolkit.fluxcd.io/prune".into(),
        "disabled".into(),
    );
}
