//! A TopoServer's etcd: StatefulSet, headless Service, client Service
//! (upstream's `pkg/resource-handler/controller/toposerver`).

use k8s_openapi::api::apps::v1::{
    StatefulSet, StatefulSetPersistentVolumeClaimRetentionPolicy, StatefulSetSpec,
    StatefulSetUpdateStrategy,
};
use k8s_openapi::api::core::v1::{
    Container, EnvVar, EnvVarSource, ObjectFieldSelector, PodSpec, PodTemplateSpec, Service,
    ServiceSpec, VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::{
    BuildError, Built, Identity, built, env, meta, mount, named_service_port, probes, selector,
    tcp_port,
};
use crate::api::TopoServer;
use crate::api::common::{PullSettings, PvcRetention};
use crate::images::Component;
use crate::labels;

pub const CLIENT_PORT: i32 = 2379;
pub const PEER_PORT: i32 = 2380;
pub const METRICS_PORT: i32 = 2381;
/// The etcd volume of a TopoServer a cluster creates, when no layer (inline,
/// template) sets one: the resolver writes it into the TopoServer's spec
/// (upstream's `DefaultEtcdStorageSize`, which it reuses for pools).
pub const RESOLVED_ETCD_STORAGE: &str = "1Gi";
/// The etcd volume of a TopoServer whose spec names no size, which only a
/// TopoServer that did not come through the resolver can have (upstream's
/// StatefulSet builder fallback). Both live here, side by side, because
/// they are easy to confuse; a test pins when each applies.
pub const UNRESOLVED_ETCD_STORAGE: &str = "10Gi";

/// The etcd objects of `topo`.
///
/// `exclusive` fixes an upstream bug: the global etcd selector (component,
/// instance, cluster) also matches the cluster's local etcd pods (theirs only
/// adds the cell), so upstream's global client Service sends clients to
/// local members. The labels change in a way that never leaves a Service
/// without the endpoints it needs:
///
/// - **Every etcd pod carries [`labels::TOPO_SERVER`]** (its TopoServer's
///   name), global or local, exclusive or not. Adding a label to the pod
///   template of a running StatefulSet is allowed (the template may change
///   while the immutable `spec.selector`, left as upstream has it, still
///   matches) and rolls the pods one at a time, each waiting for the
///   previous one to be Ready, so quorum holds; peers keep resolving
///   through the headless Service meanwhile (next point).
/// - **The headless Service keeps upstream's selector**, always. A
///   StatefulSet pod's DNS name `<pod>.<name>-headless.<ns>.svc` only needs
///   the Service named in `spec.serviceName` to select the pod; with
///   `publishNotReadyAddresses` it is published from the moment the pod has
///   an IP, Ready or not, which peers need while they bootstrap. Selecting
///   on a new label would drop the name of every pod not yet restarted with
///   it, so members could not reach each other's peer URLs mid-roll. Also
///   selecting a cell's local etcd pods only adds records named after those
///   pods (`<local>-N`, another StatefulSet's names), which no global member
///   or client looks up; the local etcd has its own headless Service for its
///   own peers. Nothing connects to the headless Service's bare name.
/// - **The client Service selects on the label only when `exclusive`** (a
///   cell of the cluster has a managed local etcd): only then do the
///   selectors differ in effect. Since every pod we render already carries
///   the label, a cluster rendered by us from its first version keeps its
///   endpoints when a cell's first local etcd is added. The exception is a
///   cluster whose running global etcd pods lack the label (made by the
///   upstream operator, or by a version of ours that labelled them only
///   with local etcds) and that has local etcds: the selector changes
///   before the pods are replaced. `render --check` warns about it
///   (`MG312`), and `docs/compatibility.md` says how to label the running
///   pods first.
pub fn build(
    topo: &TopoServer,
    pull: &PullSettings,
    exclusive: bool,
) -> Result<Vec<Built>, BuildError> {
    let Identity {
        name,
        namespace,
        cluster,
        ..
    } = Identity::of("TopoServer", &topo.metadata)?;
    let own = topo.metadata.labels.clone().unwrap_or_default();
    let object_labels = labels::merge(&labels::standard(&cluster, "toposerver"), &own);
    let mut pod_labels = object_labels.clone();
    pod_labels.insert(labels::TOPO_SERVER.into(), name.clone());
    let headless_selector = labels::selector(&object_labels);
    let mut client_selector = headless_selector.clone();
    if exclusive {
        client_selector.insert(labels::TOPO_SERVER.into(), name.clone());
    }
    let headless = format!("{name}-headless");
    let etcd = topo.spec.etcd.clone().unwrap_or_default();
    let replicas = etcd.replicas.unwrap_or(3);

    let peers: Vec<String> = (0..replicas.max(0))
        .map(|i| {
            format!(
                "{name}-{i}=http://{name}-{i}.{headless}.{namespace}.svc.cluster.local:{PEER_PORT}"
            )
        })
        .collect();
    let field = |path: &str| EnvVarSource {
        field_ref: Some(ObjectFieldSelector {
            field_path: path.into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let advertised = |port: i32| {
        format!("http://$(POD_NAME).{headless}.$(POD_NAMESPACE).svc.cluster.local:{port}")
    };
    let env_vars = vec![
        EnvVar {
            name: "POD_NAME".into(),
            value_from: Some(field("metadata.name")),
            ..Default::default()
        },
        EnvVar {
            name: "POD_NAMESPACE".into(),
            value_from: Some(field("metadata.namespace")),
            ..Default::default()
        },
        env("ETCD_NAME", "$(POD_NAME)"),
        env("ETCD_DATA_DIR", "/var/lib/etcd"),
        env(
            "ETCD_LISTEN_CLIENT_URLS",
            format!("http://[::]:{CLIENT_PORT}"),
        ),
        env("ETCD_LISTEN_PEER_URLS", format!("http://[::]:{PEER_PORT}")),
        env(
            "ETCD_LISTEN_METRICS_URLS",
            format!("http://[::]:{METRICS_PORT}"),
        ),
        env("ETCD_ADVERTISE_CLIENT_URLS", advertised(CLIENT_PORT)),
        env("ETCD_INITIAL_ADVERTISE_PEER_URLS", advertised(PEER_PORT)),
        env("ETCD_INITIAL_CLUSTER_STATE", "new"),
        env("ETCD_INITIAL_CLUSTER_TOKEN", name.clone()),
        env("ETCD_INITIAL_CLUSTER", peers.join(",")),
    ];
    let mut container = Container {
        name: "etcd".into(),
        image: Some(
            etcd.image
                .clone()
                .unwrap_or_else(|| Component::Etcd.default_image().into()),
        ),
        image_pull_policy: pull_policy(pull),
        resources: etcd.resources.clone(),
        ports: Some(vec![
            tcp_port("client", CLIENT_PORT),
            tcp_port("peer", PEER_PORT),
            tcp_port("metrics", METRICS_PORT),
        ]),
        volume_mounts: Some(vec![mount("data", "/var/lib/etcd", false)]),
        env: Some(env_vars),
        ..Default::default()
    };
    probes(&mut container, METRICS_PORT, "/readyz", "/livez", "/readyz");

    let claim = super::claim(
        ObjectMeta {
            name: Some("data".into()),
            ..Default::default()
        },
        &etcd.storage,
        UNRESOLVED_ETCD_STORAGE,
    );
    let when_scaled = match topo
        .spec
        .pvc_deletion_policy
        .as_ref()
        .and_then(|p| p.when_scaled)
    {
        Some(PvcRetention::Delete) => "Delete",
        _ => "Retain",
    };
    let statefulset_meta = meta(&name, &namespace, object_labels.clone());
    let statefulset = StatefulSet {
        metadata: statefulset_meta.clone(),
        spec: Some(StatefulSetSpec {
            service_name: Some(headless.clone()),
            replicas: Some(replicas),
            selector: selector(&object_labels),
            pod_management_policy: Some("Parallel".into()),
            update_strategy: Some(StatefulSetUpdateStrategy {
                type_: Some("RollingUpdate".into()),
                ..Default::default()
            }),
            persistent_volume_claim_retention_policy: Some(
                StatefulSetPersistentVolumeClaimRetentionPolicy {
                    when_deleted: Some("Retain".into()),
                    when_scaled: Some(when_scaled.into()),
                },
            ),
            volume_claim_templates: Some(vec![claim]),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(pod_labels),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    tolerations: topo
                        .spec
                        .placement
                        .as_ref()
                        .map(|p| p.tolerations.clone())
                        .filter(|t| !t.is_empty()),
                    image_pull_secrets: pull_secrets(pull),
                    containers: vec![container],
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        ..Default::default()
    };

    let service = |service_name: &str, headless_service: bool| {
        let metadata = meta(service_name, &namespace, object_labels.clone());
        let mut ports = vec![named_service_port("client", CLIENT_PORT)];
        if headless_service {
            ports.push(named_service_port("peer", PEER_PORT));
        }
        let service = Service {
            metadata: metadata.clone(),
            spec: Some(ServiceSpec {
                type_: (!headless_service).then(|| "ClusterIP".into()),
                cluster_ip: headless_service.then(|| "None".into()),
                ip_family_policy: Some("PreferDualStack".into()),
                publish_not_ready_addresses: headless_service.then_some(true),
                ports: Some(ports),
                selector: Some(if headless_service {
                    headless_selector.clone()
                } else {
                    client_selector.clone()
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        built(&service, &metadata)
    };
    let mut statefulset = built(&statefulset, &statefulset_meta);
    // k8s-openapi writes apiVersion and kind into each claim template; the
    // API server does not store them, so they would show as drift.
    for claim in statefulset
        .value
        .pointer_mut("/spec/volumeClaimTemplates")
        .and_then(|v| v.as_array_mut())
        .into_iter()
        .flatten()
    {
        if let Some(claim) = claim.as_object_mut() {
            claim.remove("apiVersion");
            claim.remove("kind");
        }
    }
    Ok(vec![
        statefulset,
        service(&headless, true),
        service(&name, false),
    ])
}

pub fn access_modes(modes: &[String]) -> Vec<String> {
    if modes.is_empty() {
        vec!["ReadWriteOnce".into()]
    } else {
        modes.to_vec()
    }
}

pub fn storage_request(size: &str) -> VolumeResourceRequirements {
    VolumeResourceRequirements {
        requests: Some(std::collections::BTreeMap::from([(
            "storage".to_owned(),
            Quantity(size.to_owned()),
        )])),
        ..Default::default()
    }
}

/// Upstream never sets `imagePullPolicy` on containers (its quirk §8.2); we
/// set the cluster's `spec.images.imagePullPolicy`.
pub fn pull_policy(pull: &PullSettings) -> Option<String> {
    pull.image_pull_policy
        .and_then(|p| serde_json::to_value(p).ok())
        .and_then(|v| v.as_str().map(str::to_owned))
}

/// Upstream gives pull secrets to the admin pods only; we give them to
/// every pod, so that private registries work for all components.
pub fn pull_secrets(
    pull: &PullSettings,
) -> Option<Vec<k8s_openapi::api::core::v1::LocalObjectReference>> {
    (!pull.image_pull_secrets.is_empty()).then(|| pull.image_pull_secrets.clone())
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn topo(name: &str, cell: Option<&str>) -> TopoServer {
        let mut labels =
            json!({"multigres.com/cluster": "minimal", "app.kubernetes.io/instance": "minimal"});
        if let Some(cell) = cell {
            labels["multigres.com/cell"] = json!(cell);
        }
        serde_json::from_value(json!({
            "apiVersion": "multigres.com/v1alpha1", "kind": "TopoServer",
            "metadata": {"name": name, "namespace": "default", "labels": labels},
            "spec": {"etcd": {"replicas": 3}},
        }))
        .unwrap()
    }

    /// The size of the etcd StatefulSet's claim template.
    fn claim_size(built: &[Built]) -> Value {
        let statefulset = built
            .iter()
            .find(|b| b.kind == "StatefulSet")
            .expect("an etcd StatefulSet");
        statefulset.value["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]
            ["storage"]
            .clone()
    }

    #[test]
    fn a_child_without_its_identity_is_an_error_not_objects_with_empty_names() {
        let mut orphan = topo("t", None);
        orphan.metadata.labels = None;
        let error = build(&orphan, &PullSettings::default(), false).unwrap_err();
        assert_eq!(
            error.to_string(),
            "TopoServer default/t has no multigres.com/cluster label: a child without its \
             identity cannot be built"
        );
        let mut nameless = topo("t", None);
        nameless.metadata.name = None;
        assert!(matches!(
            build(&nameless, &PullSettings::default(), false),
            Err(BuildError::MissingIdentity {
                missing: "name",
                ..
            })
        ));
    }

    #[test]
    fn etcd_storage_is_the_resolved_size_for_a_cluster_and_the_fallback_only_without_one() {
        // A TopoServer that names no size (not made by the resolver).
        let bare = build(&topo("t", None), &PullSettings::default(), false).unwrap();
        assert_eq!(claim_size(&bare), json!(UNRESOLVED_ETCD_STORAGE));
        // A cluster that sets no size: the resolver writes its default into
        // the TopoServer, so the builder's fallback never applies.
        let cluster = "apiVersion: multigres.com/v1alpha1\nkind: MultigresCluster\n\
                       metadata: {name: c, namespace: d}\nspec:\n  postgresPasswordSecretRef: {name: s, key: p}\n\
                       \x20 cells: [{name: a, zoneId: z}]\n";
        let output = crate::compile::compile(
            &[crate::compile::Input::new("c.yaml", cluster)],
            &Default::default(),
        );
        let output = output.unwrap_or_else(|errors| panic!("{errors}"));
        let topo_server = output
            .objects
            .iter()
            .find(|o| o.kind == "TopoServer")
            .expect("the global TopoServer");
        assert_eq!(
            topo_server.value["spec"]["etcd"]["storage"]["size"],
            json!(RESOLVED_ETCD_STORAGE)
        );
        let statefulset = output
            .objects
            .iter()
            .find(|o| o.kind == "StatefulSet")
            .expect("the etcd StatefulSet");
        assert_eq!(
            statefulset.value["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"],
            json!(RESOLVED_ETCD_STORAGE)
        );
        assert_ne!(RESOLVED_ETCD_STORAGE, UNRESOLVED_ETCD_STORAGE);
    }

    /// The StatefulSet's pod labels, the headless and the client Service's
    /// selectors.
    fn parts(topo: &TopoServer, exclusive: bool) -> (Value, Value, Value) {
        let built = build(topo, &PullSettings::default(), exclusive).unwrap();
        let name = topo.metadata.name.clone().unwrap();
        let find = |kind: &str, object: &str| {
            built
                .iter()
                .find(|b| b.kind == kind && b.name == object)
                .unwrap_or_else(|| panic!("no {kind} {object}"))
                .value
                .clone()
        };
        let statefulset = find("StatefulSet", &name);
        assert_eq!(
            statefulset["spec"]["serviceName"],
            format!("{name}-headless")
        );
        (
            statefulset["spec"]["template"]["metadata"]["labels"].clone(),
            find("Service", &format!("{name}-headless"))["spec"]["selector"].clone(),
            find("Service", &name)["spec"]["selector"].clone(),
        )
    }

    #[test]
    fn pods_always_carry_the_label_and_the_headless_service_never_selects_it() {
        for (name, cell) in [("minimal-global-topo", None), ("minimal-z-topo", Some("z"))] {
            for exclusive in [false, true] {
                let topo = topo(name, cell);
                let (pods, headless, _) = parts(&topo, exclusive);
                assert_eq!(pods[labels::TOPO_SERVER], name, "{name} {exclusive}");
                assert!(headless.get(labels::TOPO_SERVER).is_none(), "{headless}");
                // Upstream's selector: component, instance, cluster (and cell).
                let mut upstream = json!({
                    "app.kubernetes.io/component": "toposerver",
                    "app.kubernetes.io/instance": "minimal",
                    "multigres.com/cluster": "minimal",
                });
                if let Some(cell) = cell {
                    upstream["multigres.com/cell"] = json!(cell);
                }
                assert_eq!(headless, upstream);
            }
        }
    }

    #[test]
    fn the_client_service_selects_on_the_label_only_when_exclusive() {
        let topo = topo("minimal-global-topo", None);
        let (pods, headless, shared) = parts(&topo, false);
        assert_eq!(shared, headless);
        let (_, _, exclusive) = parts(&topo, true);
        assert_eq!(exclusive[labels::TOPO_SERVER], "minimal-global-topo");
        let mut without = exclusive.clone();
        without.as_object_mut().unwrap().remove(labels::TOPO_SERVER);
        assert_eq!(without, headless);
        // Every selector matches the pods the StatefulSet makes.
        for selector in [&headless, &shared, &exclusive] {
            for (key, value) in selector.as_object().unwrap() {
                assert_eq!(&pods[key], value, "{key}");
            }
        }
    }
}
