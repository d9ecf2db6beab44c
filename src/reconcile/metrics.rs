//! The reconciler's Prometheus metrics: upstream's `multigres_operator_*`
//! names (operator-runtime §8.1) where we do the same work, plus reconcile
//! counts, durations and errors, and API requests by verb.

use std::sync::Arc;
use std::sync::atomic::AtomicI64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ControllerLabels {
    pub controller: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    pub controller: &'static str,
    pub result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ObjectLabels {
    pub controller: &'static str,
    pub name: String,
    pub namespace: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct VerbLabels {
    pub verb: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ClusterInfoLabels {
    pub name: String,
    pub namespace: String,
    pub phase: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ClusterLabels {
    pub cluster: String,
    pub namespace: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CellReplicaLabels {
    pub cell: String,
    pub namespace: String,
    pub state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TopoReplicaLabels {
    pub name: String,
    pub namespace: String,
    pub state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PoolReplicaLabels {
    pub cluster: String,
    pub shard: String,
    pub pool: String,
    /// Always empty, as upstream's (replicas are summed over cells).
    pub cell: String,
    pub namespace: String,
    pub state: &'static str,
}

type IntGauge = Gauge<i64, AtomicI64>;

/// Every metric, registered once.
pub struct Metrics {
    pub registry: Registry,
    pub reconciles: Family<ResultLabels, Counter>,
    pub reconcile_seconds: Family<ControllerLabels, Histogram>,
    pub reconcile_errors: Family<ObjectLabels, Counter>,
    pub api_requests: Family<VerbLabels, Counter>,
    pub leader: IntGauge,
    pub cluster_info: Family<ClusterInfoLabels, IntGauge>,
    pub cluster_cells: Family<ClusterLabels, IntGauge>,
    pub cluster_shards: Family<ClusterLabels, IntGauge>,
    pub cell_gateway_replicas: Family<CellReplicaLabels, IntGauge>,
    pub topo_server_replicas: Family<TopoReplicaLabels, IntGauge>,
    pub shard_pool_replicas: Family<PoolReplicaLabels, IntGauge>,
}

impl Metrics {
    pub fn new() -> Arc<Self> {
        let mut registry = Registry::with_prefix("multigres_operator");
        let reconciles = Family::<ResultLabels, Counter>::default();
        registry.register(
            "reconcile",
            "Reconciles by controller and result (success, error, requeue)",
            reconciles.clone(),
        );
        let reconcile_seconds = Family::<ControllerLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.001, 2.0, 16))
        });
        registry.register(
            "reconcile_duration_seconds",
            "Time one reconcile takes",
            reconcile_seconds.clone(),
        );
        let reconcile_errors = Family::<ObjectLabels, Counter>::default();
        registry.register(
            "reconcile_errors",
            "Reconciles that returned an error, by object",
            reconcile_errors.clone(),
        );
        let api_requests = Family::<VerbLabels, Counter>::default();
        registry.register(
            "api_requests",
            "Requests to the Kubernetes API server, by HTTP verb",
            api_requests.clone(),
        );
        let leader = IntGauge::default();
        registry.register(
            "leader",
            "1 while this replica holds the leader lease",
            leader.clone(),
        );
        let cluster_info = Family::<ClusterInfoLabels, IntGauge>::default();
        registry.register(
            "cluster_info",
            "Always 1, labelled with the cluster's phase",
            cluster_info.clone(),
        );
        let cluster_cells = Family::<ClusterLabels, IntGauge>::default();
        registry.register(
            "cluster_cells_total",
            "Cells of a cluster",
            cluster_cells.clone(),
        );
        let cluster_shards = Family::<ClusterLabels, IntGauge>::default();
        registry.register(
            "cluster_shards_total",
            "Shards of a cluster",
            cluster_shards.clone(),
        );
        let cell_gateway_replicas = Family::<CellReplicaLabels, IntGauge>::default();
        registry.register(
            "cell_gateway_replicas",
            "Gateway replicas of a cell, desired and ready",
            cell_gateway_replicas.clone(),
        );
        let topo_server_replicas = Family::<TopoReplicaLabels, IntGauge>::default();
        registry.register(
            "toposerver_replicas",
            "Replicas of a topology server, desired and ready",
            topo_server_replicas.clone(),
        );
        let shard_pool_replicas = Family::<PoolReplicaLabels, IntGauge>::default();
        registry.register(
            "shard_pool_replicas",
            "Pool replicas of a shard, desired and ready",
            shard_pool_replicas.clone(),
        );
        Arc::new(Self {
            registry,
            reconciles,
            reconcile_seconds,
            reconcile_errors,
            api_requests,
            leader,
            cluster_info,
            cluster_cells,
            cluster_shards,
            cell_gateway_replicas,
            topo_server_replicas,
            shard_pool_replicas,
        })
    }

    /// The Prometheus text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    /// Forgets the series of a deleted cluster, so deleted objects do not
    /// linger in the exposition (upstream keeps them: §8.1).
    pub fn forget_cluster(&self, namespace: &str, name: &str) {
        let labels = ClusterLabels {
            cluster: name.into(),
            namespace: namespace.into(),
        };
        self.cluster_cells.remove(&labels);
        self.cluster_shards.remove(&labels);
        self.set_cluster_phase(namespace, name, None);
    }

    /// Keeps one `cluster_info` series per cluster: the one of its phase.
    pub fn set_cluster_phase(&self, namespace: &str, name: &str, phase: Option<&str>) {
        for old in [
            "Initializing",
            "Progressing",
            "Healthy",
            "Degraded",
            "Unknown",
        ] {
            if Some(old) != phase {
                self.cluster_info.remove(&ClusterInfoLabels {
                    name: name.into(),
                    namespace: namespace.into(),
                    phase: old.into(),
                });
            }
        }
        if let Some(phase) = phase {
            self.cluster_info
                .get_or_create(&ClusterInfoLabels {
                    name: name.into(),
                    namespace: namespace.into(),
                    phase: phase.into(),
                })
                .set(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_upstreams_prefix_and_one_phase_per_cluster() {
        let metrics = Metrics::new();
        metrics.set_cluster_phase("ns", "c", Some("Progressing"));
        metrics.set_cluster_phase("ns", "c", Some("Healthy"));
        metrics
            .api_requests
            .get_or_create(&VerbLabels {
                verb: "PATCH".into(),
            })
            .inc();
        let text = metrics.encode();
        assert!(
            text.contains(
                r#"multigres_operator_cluster_info{name="c",namespace="ns",phase="Healthy"} 1"#
            ),
            "{text}"
        );
        assert!(!text.contains(r#"phase="Progressing""#), "{text}");
        assert!(
            text.contains(r#"multigres_operator_api_requests_total{verb="PATCH"} 1"#),
            "{text}"
        );
        metrics.forget_cluster("ns", "c");
        assert!(!metrics.encode().contains(r#"name="c""#));
    }
}
