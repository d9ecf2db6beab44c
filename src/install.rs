//! What `multigres install operator` prints: everything an administrator
//! applies to run `multigres reconcile` in a cluster (docs/operator.md).
//!
//! The CRDs, the operator's Namespace, its ServiceAccount, a least-privilege
//! ClusterRole and the leader-election Role with their bindings, the
//! Deployment and the metrics Service. Pure: the same options give the same
//! bytes, sorted as `render` sorts its output.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::api::crd;
use crate::compile::emit;

/// The name of the ServiceAccount, the ClusterRole, the ClusterRoleBinding
/// and the Deployment, in both modes: switching modes is an apply of the
/// other mode's output, which replaces the ClusterRole's rules (a binding's
/// `roleRef` cannot change, so the role keeps its name).
pub const NAME: &str = "multigres-operator";
/// The Role and RoleBinding of leader election, in the operator's namespace.
pub const LEADER_ELECTION: &str = "multigres-operator-leader-election";
/// The Service in front of the metrics port.
pub const METRICS_SERVICE: &str = "multigres-operator-metrics";
/// The default of `--namespace`.
pub const DEFAULT_NAMESPACE: &str = "multigres-system";
/// The label on the ClusterRole and the Deployment that says the mode.
pub const MODE_LABEL: &str = "multigres.com/operator-mode";
/// The port of `/metrics` (the reconciler's `--metrics-bind-address`).
pub const METRICS_PORT: u16 = 8080;
/// The port of `/healthz` and `/readyz` (`--health-probe-bind-address`).
pub const HEALTH_PORT: u16 = 8081;
/// The user and group of the container: distroless's `nonroot`, as in
/// deploy/operator.Dockerfile.
pub const RUN_AS: u32 = 65532;

/// How the reconciler works (docs/operator.md, "Modes").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Mode {
    /// A drop-in for the upstream operator: it applies every object of the
    /// render itself.
    Full,
    /// The GitOps mode: Argo CD or Flux applies the render; the reconciler
    /// writes only status, events and runtime objects.
    Runtime,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Full => "full",
            Mode::Runtime => "runtime",
        }
    }
}

/// The options of `multigres install operator`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub mode: Mode,
    pub namespace: String,
    pub image: String,
    pub replicas: u16,
}

const READ: &[&str] = &["get", "list", "watch"];
const WRITE: &[&str] = &["create", "update", "patch", "delete"];
const EVENT: &[&str] = &["create", "patch"];

/// The kinds of multigres.com the reconciler reads and writes the status of.
const RECONCILED: &[&str] = &[
    "cells",
    "multigresclusters",
    "shards",
    "tablegroups",
    "toposervers",
];
/// The children full mode applies (and prunes) itself.
const APPLIED_CHILDREN: &[&str] = &["cells", "shards", "tablegroups", "toposervers"];

/// One grant: `verbs` on `resources` of `group`.
type Grant = (&'static str, Vec<String>, &'static [&'static str]);

fn grant(group: &'static str, resources: &[&str], verbs: &'static [&'static str]) -> Grant {
    (
        group,
        resources.iter().map(|r| (*r).to_owned()).collect(),
        verbs,
    )
}

/// What the reconciler of `mode` may do anywhere in the cluster: the
/// contract of docs/operator.md, "Permissions".
fn cluster_grants(mode: Mode) -> Vec<Grant> {
    let status: Vec<String> = RECONCILED.iter().map(|r| format!("{r}/status")).collect();
    let status: Vec<&str> = status.iter().map(String::as_str).collect();
    let mut grants = vec![
        grant("multigres.com", RECONCILED, READ),
        grant("multigres.com", &status, &["get", "update", "patch"]),
        grant(
            "multigres.com",
            &["coretemplates", "celltemplates", "shardtemplates"],
            READ,
        ),
        // Finalizers and annotations (pending deletion) of the objects it
        // deletes in order.
        grant(
            "multigres.com",
            &["multigresclusters", "shards"],
            &["update", "patch"],
        ),
        grant(
            "multigres.com",
            &["multigresclusters/finalizers", "shards/finalizers"],
            &["update"],
        ),
        grant("", &["events"], EVENT),
        grant("events.k8s.io", &["events"], EVENT),
        // Runtime objects: pool pods, their claims, generated TLS Secrets.
        grant("", &["pods", "persistentvolumeclaims", "secrets"], READ),
        grant("", &["pods", "persistentvolumeclaims", "secrets"], WRITE),
        grant("", &["configmaps", "services", "nodes"], READ),
        grant("apps", &["deployments", "statefulsets"], READ),
        grant("policy", &["poddisruptionbudgets"], READ),
        grant("storage.k8s.io", &["storageclasses"], READ),
    ];
    if mode == Mode::Full {
        grants.extend([
            grant("multigres.com", APPLIED_CHILDREN, WRITE),
            grant("", &["configmaps", "services"], WRITE),
            grant("apps", &["deployments", "statefulsets"], WRITE),
            grant("policy", &["poddisruptionbudgets"], WRITE),
            grant("cert-manager.io", &["certificates"], READ),
            grant("cert-manager.io", &["certificates"], WRITE),
        ]);
    }
    grants
}

/// What leader election needs in the operator's namespace.
fn leader_election_grants() -> Vec<Grant> {
    vec![
        grant("coordination.k8s.io", &["leases"], READ),
        grant("coordination.k8s.io", &["leases"], WRITE),
        grant("", &["events"], EVENT),
    ]
}

/// The order verbs are written in: reads first, as people list them.
const VERB_ORDER: &[&str] = &[
    "get", "list", "watch", "create", "update", "patch", "delete",
];

/// `grants` as RBAC rules: the verbs of each (group, resource) merged, then
/// the resources of a group that have the same verbs in one rule; groups
/// and resources sorted, so the rules do not depend on the grants' order.
fn rules(grants: &[Grant]) -> Vec<Value> {
    let mut verbs: BTreeMap<(&str, &str), BTreeSet<usize>> = BTreeMap::new();
    for (group, resources, granted) in grants {
        for resource in resources {
            let entry = verbs.entry((*group, resource.as_str())).or_default();
            for verb in *granted {
                let rank = VERB_ORDER
                    .iter()
                    .position(|v| v == verb)
                    .unwrap_or_else(|| panic!("internal error: verb {verb} has no place"));
                entry.insert(rank);
            }
        }
    }
    let mut merged: BTreeMap<(&str, Vec<usize>), Vec<&str>> = BTreeMap::new();
    for ((group, resource), ranks) in verbs {
        merged
            .entry((group, ranks.into_iter().collect()))
            .or_default()
            .push(resource);
    }
    merged
        .into_iter()
        .map(|((group, ranks), resources)| {
            let verbs: Vec<&str> = ranks.iter().map(|r| VERB_ORDER[*r]).collect();
            json!({"apiGroups": [group], "resources": resources, "verbs": verbs})
        })
        .collect()
}

fn labels() -> Value {
    json!({"app.kubernetes.io/name": NAME, "app.kubernetes.io/part-of": "multigres"})
}

fn mode_labels(mode: Mode) -> Value {
    let mut labels = labels();
    labels[MODE_LABEL] = json!(mode.as_str());
    labels
}

/// Every object of the install, in output order.
pub fn objects(options: &Options) -> Vec<Value> {
    let Options {
        mode,
        namespace,
        image,
        replicas,
    } = options;
    let mode = *mode;
    let subject = json!([{"kind": "ServiceAccount", "name": NAME, "namespace": namespace}]);
    let mut objects = crd::all();
    objects.extend([
        json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": namespace,
                "labels": {
                    // The operator's pod meets the restricted level; nothing
                    // else is meant to run here.
                    "pod-security.kubernetes.io/enforce": "restricted",
                    "app.kubernetes.io/part-of": "multigres",
                },
            },
        }),
        json!({
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": NAME, "namespace": namespace, "labels": labels()},
        }),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": NAME, "labels": mode_labels(mode)},
            "rules": rules(&cluster_grants(mode)),
        }),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": NAME, "labels": labels()},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": NAME},
            "subjects": subject,
        }),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": LEADER_ELECTION, "namespace": namespace, "labels": labels()},
            "rules": rules(&leader_election_grants()),
        }),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": LEADER_ELECTION, "namespace": namespace, "labels": labels()},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": LEADER_ELECTION},
            "subjects": subject,
        }),
        deployment(mode, namespace, image, *replicas),
        json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": METRICS_SERVICE, "namespace": namespace, "labels": labels()},
            "spec": {
                "selector": {"app.kubernetes.io/name": NAME},
                "ports": [{"name": "metrics", "port": METRICS_PORT, "targetPort": "metrics", "protocol": "TCP"}],
            },
        }),
    ]);
    objects.sort_by_cached_key(|object| {
        let text = |pointer: &str| {
            object
                .pointer(pointer)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let kind = text("/kind");
        (
            emit::kind_rank(&kind),
            kind,
            text("/metadata/namespace"),
            text("/metadata/name"),
        )
    });
    objects
}

fn deployment(mode: Mode, namespace: &str, image: &str, replicas: u16) -> Value {
    let field = |path: &str| json!({"fieldRef": {"apiVersion": "v1", "fieldPath": path}});
    let probe = |path: &str, delay: u32, period: u32| {
        json!({
            "httpGet": {"path": path, "port": "health"},
            "initialDelaySeconds": delay,
            "periodSeconds": period,
        })
    };
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": NAME, "namespace": namespace, "labels": mode_labels(mode)},
        "spec": {
            "replicas": replicas,
            // As upstream: never two versions at once. Leader election keeps
            // replicas of one version from writing together.
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": {"app.kubernetes.io/name": NAME}},
            "template": {
                "metadata": {"labels": labels()},
                "spec": {
                    "serviceAccountName": NAME,
                    // The reconciler releases its lease and stops its
                    // controllers on SIGTERM.
                    "terminationGracePeriodSeconds": 30,
                    "securityContext": {
                        "runAsNonRoot": true,
                        "runAsUser": RUN_AS,
                        "runAsGroup": RUN_AS,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [{
                        "name": "reconciler",
                        "image": image,
                        // Any image with multigres on its PATH.
                        "command": ["multigres"],
                        "args": ["reconcile", "--mode", mode.as_str(), "--leader-elect"],
                        "env": [
                            {"name": "POD_NAMESPACE", "valueFrom": field("metadata.namespace")},
                            {"name": "POD_SERVICE_ACCOUNT", "valueFrom": field("spec.serviceAccountName")},
                        ],
                        "ports": [
                            {"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"},
                            {"name": "health", "containerPort": HEALTH_PORT, "protocol": "TCP"},
                        ],
                        "livenessProbe": probe("/healthz", 15, 20),
                        "readinessProbe": probe("/readyz", 5, 10),
                        // A Rust process: tens of MiB idle (issue 11 aims
                        // under 30 MiB); the limit leaves room for the caches
                        // of many clusters. No CPU limit: throttling would
                        // only slow reconciles.
                        "resources": {
                            "requests": {"cpu": "50m", "memory": "64Mi"},
                            "limits": {"memory": "256Mi"},
                        },
                        "securityContext": {
                            "allowPrivilegeEscalation": false,
                            "readOnlyRootFilesystem": true,
                            "runAsNonRoot": true,
                            "capabilities": {"drop": ["ALL"]},
                        },
                    }],
                },
            },
        },
    })
}

/// [`objects`] as a YAML stream, `---` before each document, as `render`
/// prints.
pub fn manifests(options: &Options) -> String {
    objects(options)
        .iter()
        .map(|object| format!("---\n{}", emit::yaml(object)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(mode: Mode) -> Options {
        Options {
            mode,
            namespace: DEFAULT_NAMESPACE.into(),
            image: "registry.example.com/multigres:v1".into(),
            replicas: 1,
        }
    }

    /// The (group, resource, verb) triples of rules.
    fn triples(rules: &[Value]) -> BTreeSet<(String, String, String)> {
        let strings = |value: &Value| -> Vec<String> {
            value
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_owned())
                .collect()
        };
        let mut out = BTreeSet::new();
        for rule in rules {
            for group in strings(&rule["apiGroups"]) {
                for resource in strings(&rule["resources"]) {
                    for verb in strings(&rule["verbs"]) {
                        out.insert((group.clone(), resource.clone(), verb));
                    }
                }
            }
        }
        out
    }

    #[test]
    fn merging_rules_keeps_every_grant_and_adds_none() {
        for mode in [Mode::Full, Mode::Runtime] {
            let grants = cluster_grants(mode);
            let mut expected = BTreeSet::new();
            for (group, resources, verbs) in &grants {
                for resource in resources {
                    for verb in *verbs {
                        expected.insert((
                            (*group).to_owned(),
                            resource.clone(),
                            (*verb).to_owned(),
                        ));
                    }
                }
            }
            let merged = rules(&grants);
            assert_eq!(triples(&merged), expected, "{mode:?}");
            // Merged: no two rules of a group share their verbs.
            let keys: BTreeSet<_> = merged
                .iter()
                .map(|r| (r["apiGroups"].to_string(), r["verbs"].to_string()))
                .collect();
            assert_eq!(keys.len(), merged.len(), "{mode:?}");
        }
    }

    #[test]
    fn runtime_mode_grants_a_strict_subset_of_full_mode() {
        let full = triples(&rules(&cluster_grants(Mode::Full)));
        let runtime = triples(&rules(&cluster_grants(Mode::Runtime)));
        assert!(runtime.is_subset(&full));
        let only_full: BTreeSet<_> = full.difference(&runtime).collect();
        assert!(only_full.contains(&(
            "apps".to_owned(),
            "deployments".to_owned(),
            "patch".to_owned()
        )));
        // Nothing is granted with a wildcard.
        assert!(
            full.iter()
                .all(|(g, r, v)| g != "*" && r != "*" && v != "*")
        );
    }

    #[test]
    fn the_output_is_sorted_and_does_not_depend_on_the_run() {
        let objects = objects(&options(Mode::Runtime));
        let kinds: Vec<&str> = objects
            .iter()
            .map(|o| o["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds[0], "Namespace");
        assert!(kinds[1..9].iter().all(|k| *k == "CustomResourceDefinition"));
        let ranks: Vec<usize> = kinds.iter().map(|k| emit::kind_rank(k)).collect();
        assert!(ranks.is_sorted(), "{kinds:?}");
        assert_eq!(
            manifests(&options(Mode::Runtime)),
            manifests(&options(Mode::Runtime))
        );
        assert_ne!(
            manifests(&options(Mode::Runtime)),
            manifests(&options(Mode::Full))
        );
    }
}
