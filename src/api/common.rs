//! Types shared by several kinds: stateless component specs, storage, pools,
//! topology servers, backups, references and small settings.
//!
//! Field names, bounds and rules follow the upstream CRDs exactly; merges and
//! defaults live in `compile::resolve`, not here.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, LocalObjectReference, ResourceRequirements, Toleration,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::rules;

/// DNS-label pattern shared by database, table group, shard, pool and cell names.
pub const DNS_LABEL_PATTERN: &str = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
/// Go duration syntax accepted for gateway buffer settings.
pub const DURATION_PATTERN: &str = r"^([0-9]+(\.[0-9]+)?(ns|us|µs|μs|ms|s|m|h))+$";

pub(crate) fn is_false(b: &bool) -> bool {
    !*b
}

/// Replicas, resources, affinity and pod metadata of a stateless component.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatelessSpec {
    /// Number of pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 128))]
    pub replicas: Option<i32>,
    /// Compute resources of the component's container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    /// Scheduling affinity of the pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity: Option<Affinity>,
    /// Extra annotations on the pods.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend(
        "maxProperties" = 20,
        "x-kubernetes-validations" = [rules::POD_ANNOTATION_SIZES.schema_entry()]
    ))]
    pub pod_annotations: BTreeMap<String, String>,
    /// Extra labels on the pods (operator labels win on conflict).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend(
        "maxProperties" = 20,
        "x-kubernetes-validations" = [rules::POD_LABEL_SIZES.schema_entry()]
    ))]
    pub pod_labels: BTreeMap<String, String>,
}

/// Where pods may be scheduled.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodPlacementSpec {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration>,
}

/// A persistent volume request.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StorageSpec {
    /// Volume size, a Kubernetes quantity such as `10Gi`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 63), regex(pattern = r"^([0-9]+)(.+)$"))]
    pub size: Option<String>,
    /// StorageClass name; empty means the cluster's default class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub class: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access_modes: Vec<String>,
}

impl StorageSpec {
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

/// Whether volumes are kept or deleted.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum PvcRetention {
    Retain,
    Delete,
}

/// What happens to persistent volume claims when their owner goes away.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PvcDeletionPolicy {
    /// PVCs when the cluster or shard is deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "Retain"))]
    pub when_deleted: Option<PvcRetention>,
    /// PVCs of pods removed by a scale-down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "Delete"))]
    pub when_scaled: Option<PvcRetention>,
}

impl PvcDeletionPolicy {
    /// Upstream's `MergePVCDeletionPolicy(child, parent)`: each field from
    /// the child when set, else from the parent; `None` when nothing is set.
    pub fn merged(child: Option<&Self>, parent: Option<&Self>) -> Option<Self> {
        let Some(child) = child else {
            return parent.cloned();
        };
        let merged = Self {
            when_deleted: child.when_deleted.or(parent.and_then(|p| p.when_deleted)),
            when_scaled: child.when_scaled.or(parent.and_then(|p| p.when_scaled)),
        };
        (merged != Self::default()).then_some(merged)
    }
}

/// Resources and identity of one pool container.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContainerConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub run_as_user: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub run_as_group: Option<i64>,
}

impl ContainerConfig {
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

/// Where backups go.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum BackupType {
    #[default]
    Filesystem,
    S3,
}

/// pgBackRest backups of a shard.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    rules::BACKUP_S3_REQUIRED.schema_entry(),
    rules::BACKUP_FILESYSTEM_REQUIRED.schema_entry(),
    rules::BACKUP_ENCRYPTION_IMMUTABLE.schema_entry(),
]))]
pub struct BackupConfig {
    #[serde(rename = "type")]
    pub backup_type: BackupType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filesystem: Option<FilesystemBackupConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3: Option<S3BackupConfig>,
    /// TLS between pgBackRest peers; empty `secretName` means generated certificates.
    #[serde(
        default,
        rename = "pgbackrestTLS",
        skip_serializing_if = "Option::is_none"
    )]
    pub pgbackrest_tls: Option<PgBackRestTlsConfig>,
    /// Repository encryption; cannot change after creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<BackupEncryptionConfig>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FilesystemBackupConfig {
    /// Mount path of the backup volume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "StorageSpec::is_empty")]
    pub storage: StorageSpec,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    rules::S3_SERVICE_ACCOUNT_OR_SECRET.schema_entry(),
    rules::S3_SERVICE_ACCOUNT_OR_ENV.schema_entry(),
]))]
pub struct S3BackupConfig {
    #[schemars(length(min = 1))]
    pub bucket: String,
    #[schemars(length(min = 1))]
    pub region: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_prefix: Option<String>,
    /// Use credentials from the pod environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_env_credentials: Option<bool>,
    /// Secret holding AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_secret: Option<String>,
    /// ServiceAccount for IRSA; also the pool pods' service account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PgBackRestTlsConfig {
    /// Secret with ca.crt, tls.crt and tls.key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_name: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackupEncryptionConfig {
    /// Secret whose `keys.json` maps key generations to passphrases.
    #[schemars(length(min = 1))]
    pub secret_name: String,
}

/// The Secret holding the PostgreSQL superuser password.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostgresPasswordSecretRef {
    #[schemars(
        length(min = 1, max = 253),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
    )]
    pub name: String,
    #[schemars(length(min = 1, max = 253), regex(pattern = r"^[-._a-zA-Z0-9]+$"))]
    pub key: String,
}

/// A ConfigMap key holding postgresql.conf lines (deprecated; use postgresConfig).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostgresConfigRef {
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    #[schemars(length(min = 1, max = 253))]
    pub key: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SamplingConfigRef {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "sampling-config.yaml"))]
    pub key: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum OtlpProtocol {
    #[serde(rename = "http/protobuf")]
    HttpProtobuf,
    #[serde(rename = "grpc")]
    Grpc,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OtelExporter {
    Otlp,
    None,
    Console,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum MetricsTemporality {
    Cumulative,
    Delta,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HistogramAggregation {
    Base2ExponentialBucketHistogram,
    ExplicitBucketHistogram,
}

/// OpenTelemetry settings for data-plane pods.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ObservabilityConfig {
    /// OTLP endpoint; `disabled` turns telemetry off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otlp_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otlp_metrics_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otlp_protocol: Option<OtlpProtocol>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traces_exporter: Option<OtelExporter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics_exporter: Option<OtelExporter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logs_exporter: Option<OtelExporter>,
    /// Metric export interval in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_export_interval: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics_temporality: Option<MetricsTemporality>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub histogram_aggregation: Option<HistogramAggregation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traces_sampler: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampling_config_ref: Option<SamplingConfigRef>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

/// Log level of each data-plane component.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ComponentLogLevels {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pgctld: Option<LogLevel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multipooler: Option<LogLevel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multiorch: Option<LogLevel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multiadmin: Option<LogLevel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multigateway: Option<LogLevel>,
}

impl ComponentLogLevels {
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

/// Mutual TLS between Multigres components.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InternalTlsConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// Removal of stale pooler records from the topology.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TopologyPruningConfig {
    /// Unset means enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// Request buffering in the gateway during planned failovers.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GatewayBufferConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Longest time one request waits (binary default 10s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub window: Option<String>,
    /// Longest buffering per failover, at least `window` (binary default 20s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub max_failover_duration: Option<String>,
    /// Binary default 1m.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub min_time_between_failovers: Option<String>,
    /// Buffered requests (binary default 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub size: Option<i32>,
    /// Binary default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub drain_concurrency: Option<i32>,
}

/// The gateway of one cell.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MultigatewaySpec {
    #[serde(flatten)]
    pub stateless: StatelessSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buffer: Option<GatewayBufferConfig>,
}

/// The orchestrator of one shard.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MultiorchSpec {
    #[serde(flatten)]
    pub stateless: StatelessSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement: Option<PodPlacementSpec>,
    /// Cells that run an orchestrator; empty means every cluster cell.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "set"), length(max = 50), inner(length(min = 1, max = 30), regex(pattern = DNS_LABEL_PATTERN)))]
    pub cells: Vec<String>,
}

/// The only pool type of v1alpha1.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum PoolType {
    #[serde(rename = "readWrite")]
    ReadWrite,
}

/// A set of PostgreSQL pods (with pooler) of one shard.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PoolSpec {
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub pool_type: Option<PoolType>,
    /// Cells of the pool; empty means every cluster cell.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(
        extend(
            "x-kubernetes-list-type" = "set",
            "x-kubernetes-validations" = [rules::POOL_CELLS_APPEND_ONLY.schema_entry()]
        ),
        length(min = 1, max = 10),
        inner(length(min = 1, max = 30), regex(pattern = DNS_LABEL_PATTERN))
    )]
    pub cells: Vec<String>,
    /// Pods per cell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 32))]
    pub replicas_per_cell: Option<i32>,
    #[serde(default, skip_serializing_if = "StorageSpec::is_empty")]
    pub storage: StorageSpec,
    #[serde(default, skip_serializing_if = "ContainerConfig::is_empty")]
    pub postgres: ContainerConfig,
    #[serde(default, skip_serializing_if = "ContainerConfig::is_empty")]
    pub multipooler: ContainerConfig,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity: Option<Affinity>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub fs_group: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pvc_deletion_policy: Option<PvcDeletionPolicy>,
}

/// The most members an etcd cluster may have. etcd sets no hard limit, but
/// every write waits for a majority, so its FAQ advises at most seven; nine
/// (tolerating four failures) leaves headroom. Upstream sets no maximum: a
/// bound is needed because the member list grows with the count (one peer
/// URL per member in the StatefulSet), and an unbounded count made one field
/// expand into gigabytes of output.
pub const MAX_ETCD_REPLICAS: i32 = 9;

/// A managed etcd cluster.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EtcdSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 512))]
    pub image: Option<String>,
    /// Members; odd, at most nine, and fixed after creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        range(min = 1, max = MAX_ETCD_REPLICAS),
        extend("x-kubernetes-validations" = [rules::ETCD_REPLICAS_ODD.schema_entry()])
    )]
    pub replicas: Option<i32>,
    #[serde(default, skip_serializing_if = "StorageSpec::is_empty")]
    pub storage: StorageSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    /// Key prefix of the topology in etcd.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 512))]
    pub root_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pvc_deletion_policy: Option<PvcDeletionPolicy>,
}

/// An etcd cluster run by someone else.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalTopoServerSpec {
    #[schemars(
        extend(
            "x-kubernetes-list-type" = "set",
            "x-kubernetes-validations" = [rules::EXTERNAL_ENDPOINTS_URLS.schema_entry()]
        ),
        length(min = 1, max = 20),
        inner(length(min = 1, max = 2048))
    )]
    pub endpoints: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub implementation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253))]
    pub ca_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253))]
    pub client_cert_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 512))]
    pub root_path: Option<String>,
}

/// A cell's own topology server.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    rules::LOCAL_TOPO_ONE_REQUIRED.schema_entry(),
    rules::LOCAL_TOPO_ONLY_ONE.schema_entry(),
]))]
pub struct LocalTopoServerSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etcd: Option<EtcdSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<ExternalTopoServerSpec>,
}

/// Where cells, table groups and shards find the global topology.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GlobalTopoServerRef {
    #[schemars(length(min = 1, max = 512))]
    pub address: String,
    #[schemars(length(min = 1, max = 512))]
    pub root_path: String,
    #[schemars(length(min = 1, max = 63))]
    pub implementation: String,
}

/// Image pull behaviour.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum PullPolicy {
    Always,
    Never,
    IfNotPresent,
}

/// Pull policy and secrets shared by every image set.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PullSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_policy: Option<PullPolicy>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub image_pull_secrets: Vec<LocalObjectReference>,
}
