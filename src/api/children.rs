//! The child kinds the compiler generates from a cluster: Cell, TableGroup,
//! Shard and TopoServer. Their specs are fully resolved: every default is
//! written out, so GitOps tools compare exactly what the reconciler uses.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::*;
use super::rules;
use super::status::Phase;

/// One cell: its gateway and, optionally, a local topology server.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "multigres.com",
    version = "v1alpha1",
    kind = "Cell",
    namespaced,
    shortname = "cel",
    status = "CellStatus",
    printcolumn = r#"{"name":"Gateway","type":"integer","jsonPath":".status.gatewayReadyReplicas"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type=='Available')].status"}"#,
    printcolumn = r#"{"name":"Phase","type":"string","jsonPath":".status.phase"}"#
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    rules::ZONE_OR_REGION_NOT_BOTH.schema_entry(),
    rules::ZONE_OR_REGION_REQUIRED.schema_entry(),
]))]
pub struct CellSpec {
    #[schemars(length(min = 1, max = 30), regex(pattern = DNS_LABEL_PATTERN))]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub zone_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub region: Option<String>,
    pub images: CellImages,
    pub multigateway: MultigatewaySpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multigateway_placement: Option<PodPlacementSpec>,
    pub global_topo_server: GlobalTopoServerRef,
    /// The cell's own topology server, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topo_server: Option<LocalTopoServerSpec>,
    /// Every cell of the cluster, in spec order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "set"), length(max = 50), inner(length(min = 1, max = 30), regex(pattern = DNS_LABEL_PATTERN)))]
    pub all_cells: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topology_reconciliation: Option<TopologyReconciliation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observability: Option<ObservabilityConfig>,
    #[serde(default, skip_serializing_if = "ComponentLogLevels::is_empty")]
    pub log_levels: ComponentLogLevels,
    #[serde(
        default,
        rename = "internalTLS",
        skip_serializing_if = "Option::is_none"
    )]
    pub internal_tls: Option<InternalTlsConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_common_name: Option<String>,
}

/// Images of a cell.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CellImages {
    #[serde(flatten)]
    pub pull: PullSettings,
    #[schemars(length(min = 1, max = 512))]
    pub multigateway: String,
}

/// What the cell controller keeps in the topology.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TopologyReconciliation {
    pub register_cell: bool,
    pub prune_poolers: bool,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CellStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub gateway_replicas: i32,
    pub gateway_ready_replicas: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253))]
    pub gateway_service_name: Option<String>,
}

/// One table group of one database, with its resolved shards.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "multigres.com",
    version = "v1alpha1",
    kind = "TableGroup",
    namespaced,
    shortname = "tbg",
    status = "TableGroupStatus",
    printcolumn = r#"{"name":"Shards","type":"integer","jsonPath":".status.readyShards"}"#,
    printcolumn = r#"{"name":"Phase","type":"string","jsonPath":".status.phase"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct TableGroupSpec {
    #[schemars(length(min = 1, max = 30), regex(pattern = DNS_LABEL_PATTERN))]
    pub database_name: String,
    #[schemars(length(min = 1, max = 25), regex(pattern = DNS_LABEL_PATTERN))]
    pub table_group_name: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub default: bool,
    pub images: ShardImages,
    pub global_topo_server: GlobalTopoServerRef,
    #[schemars(
        extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]),
        length(max = 32)
    )]
    pub shards: Vec<ShardResolvedSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pvc_deletion_policy: Option<PvcDeletionPolicy>,
    #[serde(
        default,
        rename = "internalTLS",
        skip_serializing_if = "Option::is_none"
    )]
    pub internal_tls: Option<InternalTlsConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observability: Option<ObservabilityConfig>,
    #[serde(default, skip_serializing_if = "ComponentLogLevels::is_empty")]
    pub log_levels: ComponentLogLevels,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<BackupConfig>,
    /// Node labels of each cell (zone ID or region).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub cell_topology_labels: BTreeMap<String, BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topology_pruning: Option<TopologyPruningConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub durability_policy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 63))]
    pub postgres_superuser: Option<String>,
    pub postgres_password_secret_ref: PostgresPasswordSecretRef,
}

/// Images of a shard.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ShardImages {
    #[serde(flatten)]
    pub pull: PullSettings,
    #[schemars(length(min = 1, max = 512))]
    pub multiorch: String,
    #[schemars(length(min = 1, max = 512))]
    pub multipooler: String,
    #[schemars(length(min = 1, max = 512))]
    pub postgres: String,
}

/// A shard as its table group lists it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ShardResolvedSpec {
    #[schemars(length(max = 63))]
    pub name: String,
    pub multiorch: MultiorchSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 512))]
    pub initdb_args: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgres_config_ref: Option<PostgresConfigRef>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = 200))]
    pub postgres_config: BTreeMap<String, String>,
    #[schemars(extend(
        "maxProperties" = 8,
        "x-kubernetes-validations" = [rules::POOL_NAME_LENGTH.schema_entry()]
    ))]
    pub pools: BTreeMap<String, PoolSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pvc_deletion_policy: Option<PvcDeletionPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<BackupConfig>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TableGroupStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub ready_shards: i32,
    pub total_shards: i32,
}

/// One shard: orchestrators per cell and pools of PostgreSQL pods.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "multigres.com",
    version = "v1alpha1",
    kind = "Shard",
    namespaced,
    shortname = "srd",
    status = "ShardStatus",
    scale(
        spec_replicas_path = ".spec.replicas",
        status_replicas_path = ".status.readyReplicas"
    ),
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type=='Available')].status"}"#,
    printcolumn = r#"{"name":"Phase","type":"string","jsonPath":".status.phase"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct ShardSpec {
    #[schemars(length(min = 1, max = 30), regex(pattern = DNS_LABEL_PATTERN))]
    pub database_name: String,
    #[schemars(length(min = 1, max = 25), regex(pattern = DNS_LABEL_PATTERN))]
    pub table_group_name: String,
    #[schemars(length(min = 1, max = 25), regex(pattern = DNS_LABEL_PATTERN))]
    pub shard_name: String,
    pub images: ShardImages,
    pub global_topo_server: GlobalTopoServerRef,
    pub multiorch: MultiorchSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 512))]
    pub initdb_args: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgres_config_ref: Option<PostgresConfigRef>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = 200))]
    pub postgres_config: BTreeMap<String, String>,
    #[schemars(extend(
        "maxProperties" = 8,
        "x-kubernetes-validations" = [rules::POOL_NAME_LENGTH.schema_entry()]
    ))]
    pub pools: BTreeMap<String, PoolSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pvc_deletion_policy: Option<PvcDeletionPolicy>,
    #[serde(
        default,
        rename = "internalTLS",
        skip_serializing_if = "Option::is_none"
    )]
    pub internal_tls: Option<InternalTlsConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observability: Option<ObservabilityConfig>,
    #[serde(default, skip_serializing_if = "ComponentLogLevels::is_empty")]
    pub log_levels: ComponentLogLevels,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topology_pruning: Option<TopologyPruningConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub durability_policy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 63))]
    pub postgres_superuser: Option<String>,
    pub postgres_password_secret_ref: PostgresPasswordSecretRef,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub cell_topology_labels: BTreeMap<String, BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<BackupConfig>,
    /// Total pool pods (the scale subresource).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum BackupKind {
    Full,
    Diff,
    Incr,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostgresConfigStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_progress: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_applied_at: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ShardStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgres_config: Option<PostgresConfigStatus>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "set"), length(max = 50), inner(length(min = 1, max = 30), regex(pattern = DNS_LABEL_PATTERN)))]
    pub cells: Vec<String>,
    pub orch_ready: bool,
    pub pools_ready: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_backup_time: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_backup_type: Option<BackupKind>,
    /// Role of each pool pod (PRIMARY, REPLICA, DRAINED, ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pod_roles: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_replicas: Option<i32>,
}

/// A managed etcd topology server (also CoreTemplate `globalTopoServer`).
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "multigres.com",
    version = "v1alpha1",
    kind = "TopoServer",
    namespaced,
    shortname = "tps",
    status = "TopoServerStatus",
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type=='Available')].status"}"#,
    printcolumn = r#"{"name":"Phase","type":"string","jsonPath":".status.phase"}"#
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [rules::TOPO_ETCD_REQUIRED.schema_entry()]))]
pub struct TopoServerSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etcd: Option<EtcdSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pvc_deletion_policy: Option<PvcDeletionPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement: Option<PodPlacementSpec>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TopoServerStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_service: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_service: Option<String>,
}
