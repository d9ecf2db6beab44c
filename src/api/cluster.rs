//! `MultigresCluster`: the object users write.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::*;
use super::rules;
use super::status::Phase;

/// A horizontally scalable PostgreSQL cluster: topology servers, admin,
/// gateways per cell, and shards with their pools.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "multigres.com",
    version = "v1alpha1",
    kind = "MultigresCluster",
    namespaced,
    shortname = "mgc",
    status = "MultigresClusterStatus",
    printcolumn = r#"{"name":"Available","type":"string","jsonPath":".status.conditions[?(@.type=='Available')].status"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"Phase","type":"string","jsonPath":".status.phase"}"#,
    printcolumn = r#"{"name":"Images","type":"string","priority":1,"jsonPath":".status.images.appliedRevision"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct MultigresClusterSpec {
    /// Component images (unset ones come from the operator's image set) and pull settings.
    #[serde(default, skip_serializing_if = "ClusterImages::is_empty")]
    pub images: ClusterImages,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_update_policy: Option<ImageUpdatePolicy>,
    #[serde(default, skip_serializing_if = "ComponentLogLevels::is_empty")]
    pub log_levels: ComponentLogLevels,
    /// Templates used by components that name none.
    #[serde(default, skip_serializing_if = "TemplateDefaults::is_empty")]
    pub template_defaults: TemplateDefaults,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global_topo_server: Option<GlobalTopoServerSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multiadmin: Option<MultiadminConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multiadmin_web: Option<MultiadminWebConfig>,
    /// Failure domains; each runs gateways and pool pods. Append-only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(
        extend(
            "x-kubernetes-list-type" = "map",
            "x-kubernetes-list-map-keys" = ["name"],
            "x-kubernetes-validations" = [rules::CELLS_APPEND_ONLY.schema_entry()]
        ),
        length(max = 50)
    )]
    pub cells: Vec<CellConfig>,
    /// Databases; v1alpha1 supports exactly the system database `postgres`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(
        extend(
            "x-kubernetes-list-type" = "map",
            "x-kubernetes-list-map-keys" = ["name"],
            "x-kubernetes-validations" = [rules::ONLY_POSTGRES_DATABASE.schema_entry()]
        ),
        length(max = 1)
    )]
    pub databases: Vec<DatabaseConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = {"whenDeleted": "Delete", "whenScaled": "Delete"}))]
    pub pvc_deletion_policy: Option<PvcDeletionPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observability: Option<ObservabilityConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<BackupConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_gateway: Option<ExternalGatewayConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_admin_web: Option<ExternalAdminWebConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topology_pruning: Option<TopologyPruningConfig>,
    /// `AT_LEAST_2` (default) or `MULTI_CELL_AT_LEAST_2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub durability_policy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 63), extend("default" = "postgres"))]
    pub postgres_superuser: Option<String>,
    pub postgres_password_secret_ref: PostgresPasswordSecretRef,
    #[serde(
        default,
        rename = "internalTLS",
        skip_serializing_if = "Option::is_none"
    )]
    pub internal_tls: Option<InternalTlsConfig>,
    /// Public TLS name of the gateway (cert-manager Certificate `generated-certs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_common_name: Option<String>,
}

/// Component image pins and pull settings of the cluster.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterImages {
    #[serde(flatten)]
    pub pull: PullSettings,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 512))]
    pub multigateway: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 512))]
    pub multiorch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 512))]
    pub multipooler: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 512))]
    pub multiadmin: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 512))]
    pub multiadmin_web: Option<String>,
    /// The pgctld image (PostgreSQL, pgctld and pgBackRest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 512))]
    pub postgres: Option<String>,
}

impl ClusterImages {
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ImageUpdateStrategy {
    Immediate,
    Lazy,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImageUpdatePolicy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<ImageUpdateStrategy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64), regex(pattern = r"^[0-9a-f]*$"))]
    pub acknowledged_revision: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateDefaults {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub core_template: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub cell_template: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub shard_template: Option<String>,
}

impl TemplateDefaults {
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

/// The global topology server: managed etcd, an external etcd, or a CoreTemplate.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [rules::GLOBAL_TOPO_EXACTLY_ONE.schema_entry()]))]
pub struct GlobalTopoServerSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etcd: Option<EtcdSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<ExternalTopoServerSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub template_ref: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pvc_deletion_policy: Option<PvcDeletionPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement: Option<PodPlacementSpec>,
}

/// The admin API: an inline spec or a CoreTemplate.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    rules::SPEC_OR_TEMPLATE_REQUIRED.schema_entry(),
    rules::SPEC_OR_TEMPLATE_NOT_BOTH.schema_entry(),
]))]
pub struct MultiadminConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<StatelessSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub template_ref: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement: Option<PodPlacementSpec>,
}

/// The admin web UI: an inline spec or a CoreTemplate.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    rules::SPEC_OR_TEMPLATE_REQUIRED.schema_entry(),
    rules::SPEC_OR_TEMPLATE_NOT_BOTH.schema_entry(),
]))]
pub struct MultiadminWebConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<StatelessSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub template_ref: Option<String>,
}

/// One cell (failure domain) of the cluster.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    rules::CELL_SPEC_OR_TEMPLATE.schema_entry(),
    rules::SPEC_OR_OVERRIDES.schema_entry(),
    rules::ZONE_OR_REGION_NOT_BOTH.schema_entry(),
    rules::ZONE_OR_REGION_REQUIRED.schema_entry(),
]))]
pub struct CellConfig {
    #[schemars(length(min = 1, max = 30), regex(pattern = DNS_LABEL_PATTERN))]
    pub name: String,
    /// Zone ID; pods select nodes labelled `topology.k8s.aws/zone-id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub zone_id: Option<String>,
    /// Region; pods select nodes labelled `topology.kubernetes.io/region`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub cell_template: Option<String>,
    /// Changes on top of the cell template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overrides: Option<CellOverrides>,
    /// The whole cell configuration, without a template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<CellInlineSpec>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CellOverrides {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multigateway: Option<MultigatewaySpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multigateway_placement: Option<PodPlacementSpec>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CellInlineSpec {
    #[serde(default)]
    pub multigateway: MultigatewaySpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multigateway_placement: Option<PodPlacementSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_topo_server: Option<LocalTopoServerSpec>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseConfig {
    #[schemars(length(min = 1, max = 30), regex(pattern = DNS_LABEL_PATTERN))]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(
        extend(
            "x-kubernetes-list-type" = "map",
            "x-kubernetes-list-map-keys" = ["name"],
            "x-kubernetes-validations" = [rules::ONE_DEFAULT_TABLEGROUP.schema_entry()]
        ),
        length(max = 20)
    )]
    pub tablegroups: Vec<TableGroupConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<BackupConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub durability_policy: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [rules::DEFAULT_TABLEGROUP_NAME.schema_entry()]))]
pub struct TableGroupConfig {
    #[schemars(length(min = 1, max = 25), regex(pattern = DNS_LABEL_PATTERN))]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(
        extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]),
        length(max = 32)
    )]
    pub shards: Vec<ShardConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<BackupConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pvc_deletion_policy: Option<PvcDeletionPolicy>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    rules::SHARD_SPEC_OR_TEMPLATE.schema_entry(),
    rules::SPEC_OR_OVERRIDES.schema_entry(),
]))]
pub struct ShardConfig {
    #[schemars(
        length(min = 1, max = 25),
        regex(pattern = DNS_LABEL_PATTERN),
        extend("x-kubernetes-validations" = [rules::SHARD_NAME_0_INF.schema_entry()])
    )]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub shard_template: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overrides: Option<ShardOverrides>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<ShardInlineSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<BackupConfig>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ShardOverrides {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multiorch: Option<MultiorchSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 512))]
    pub initdb_args: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgres_config_ref: Option<PostgresConfigRef>,
    /// postgresql.conf settings, merged per key.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = 200))]
    pub postgres_config: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend(
        "maxProperties" = 8,
        "x-kubernetes-validations" = [
            rules::CLUSTER_POOL_NAME_LENGTH.schema_entry(),
            rules::POOLS_APPEND_ONLY.schema_entry(),
        ]
    ))]
    pub pools: BTreeMap<String, PoolSpec>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ShardInlineSpec {
    #[serde(default)]
    pub multiorch: MultiorchSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 512))]
    pub initdb_args: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgres_config_ref: Option<PostgresConfigRef>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = 200))]
    pub postgres_config: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend(
        "maxProperties" = 8,
        "x-kubernetes-validations" = [
            rules::CLUSTER_POOL_NAME_LENGTH.schema_entry(),
            rules::POOLS_APPEND_ONLY.schema_entry(),
        ]
    ))]
    pub pools: BTreeMap<String, PoolSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pvc_deletion_policy: Option<PvcDeletionPolicy>,
}

/// Exposure of the gateway outside the cluster.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [rules::EXTERNAL_ANNOTATIONS_RESERVED.schema_entry()]))]
pub struct ExternalGatewayConfig {
    pub enabled: bool,
    #[serde(default, rename = "externalIPs", skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 10), inner(length(min = 3, max = 45), regex(pattern = IP_ADDRESS_PATTERN)))]
    pub external_ips: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = 20))]
    pub annotations: BTreeMap<String, String>,
}

/// Exposure of the admin web UI outside the cluster.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [rules::EXTERNAL_ANNOTATIONS_RESERVED.schema_entry()]))]
pub struct ExternalAdminWebConfig {
    pub enabled: bool,
    #[serde(default, rename = "externalIPs", skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 10), inner(length(min = 3, max = 45), regex(pattern = IP_ADDRESS_PATTERN)))]
    pub external_ips: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = 20))]
    pub annotations: BTreeMap<String, String>,
}

/// IPv4 or IPv6 literal, as the upstream CRD checks it.
pub const IP_ADDRESS_PATTERN: &str =
    r"^(([0-9]{1,3}\.){3}[0-9]{1,3})$|^(([0-9a-fA-F]{0,4}:){2,7}[0-9a-fA-F]{0,4})$";

/// Observed state of a cluster, written by the reconciler.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MultigresClusterStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = 50))]
    pub cells: BTreeMap<String, CellStatusSummary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<ExternalEndpointStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_web: Option<ExternalEndpointStatus>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = 50))]
    pub databases: BTreeMap<String, DatabaseStatusSummary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_templates: Option<ResolvedTemplates>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<ImagesStatus>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CellStatusSummary {
    pub ready: bool,
    pub gateway_replicas: i32,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalEndpointStatus {
    pub external_endpoint: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseStatusSummary {
    pub ready_shards: i32,
    pub total_shards: i32,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResolvedTemplates {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(inner(length(min = 1, max = 63)))]
    pub core_templates: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(inner(length(min = 1, max = 63)))]
    pub cell_templates: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(inner(length(min = 1, max = 63)))]
    pub shard_templates: Vec<String>,
}

/// The six component images.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ComponentImages {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 512))]
    pub multigateway: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 512))]
    pub multiorch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 512))]
    pub multipooler: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 512))]
    pub multiadmin: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 512))]
    pub multiadmin_web: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 512))]
    pub postgres: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ImageSource {
    Explicit,
    #[default]
    Defaults,
    Mixed,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImagesStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_strategy: Option<String>,
    pub effective: ComponentImages,
    pub source: ImageSource,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied: Option<ComponentImages>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied_revision: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available: Option<ComponentImages>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available_revision: Option<String>,
}
