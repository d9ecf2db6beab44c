//! A shard's static objects: orchestrator Deployment and Service per cell,
//! the three ConfigMaps, the backup volume, and a PodDisruptionBudget and
//! headless Service per pool and cell (upstream's
//! `pkg/resource-handler/controller/shard`).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ConfigMap, Service, ServiceSpec};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::cluster::log_level;
use super::otel::{Otel, Resource};
use super::{
    BuildError, Built, ComponentContainer, ComponentDeployment, ComponentVolumes, Identity, built,
    cluster_ip_service, keep_annotations, meta, named_service_port, pod_annotations, selector,
    volume_claim,
};
use crate::api::Shard;
use crate::api::common::{BackupType, PvcRetention};
use crate::labels::{self, Labels};
use crate::names::{ClusterNames, ShardId};

pub const MULTIORCH_HTTP: i32 = 15300;
pub const MULTIORCH_GRPC: i32 = 15370;
pub const POOLER_HTTP: i32 = 15200;
pub const POOLER_GRPC: i32 = 15270;
pub const POSTGRES_PORT: i32 = 5432;
pub const EXPORTER_PORT: i32 = 9187;
pub const BACKUP_STORAGE_FALLBACK: &str = "10Gi";

/// The generated configuration files of a shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFiles {
    pub postgresql_conf: String,
    pub pg_hba_template: String,
    pub exporter_queries: String,
}

/// The shard's identity, read from the Shard object.
pub struct ShardContext<'a> {
    pub shard: &'a Shard,
    pub cluster: String,
    pub namespace: String,
    pub name: String,
    pub project: String,
    pub labels: Labels,
}

impl<'a> ShardContext<'a> {
    pub fn new(shard: &'a Shard) -> Result<Self, BuildError> {
        let identity = Identity::of("Shard", &shard.metadata)?;
        Ok(Self {
            shard,
            namespace: identity.namespace,
            name: identity.name,
            project: identity.project,
            cluster: identity.cluster,
            labels: shard.metadata.labels.clone().unwrap_or_default(),
        })
    }

    pub fn id(&self) -> ShardId<'_> {
        let spec = &self.shard.spec;
        ShardId {
            database: &spec.database_name,
            table_group: &spec.table_group_name,
            shard: &spec.shard_name,
        }
    }

    pub fn names(&self) -> ClusterNames<'_> {
        ClusterNames::new(&self.cluster, &self.namespace)
    }

    /// Labels of a shard child: the Shard's own labels under the component's
    /// standard labels and `extra`.
    pub fn child_labels(&self, component: &str, extra: &[(&str, &str)]) -> Labels {
        labels::merge(
            &labels::with(labels::standard(&self.cluster, component), extra),
            &self.labels,
        )
    }

    /// Labels of a pool's pods, PVCs and headless Service in one cell.
    pub fn pool_labels(&self, pool: &str, cell: &str) -> Labels {
        let spec = &self.shard.spec;
        self.child_labels(
            "shard-pool",
            &[
                (labels::SHARD, &spec.shard_name),
                (labels::CELL, cell),
                (labels::POOL, pool),
                (labels::DATABASE, &spec.database_name),
                (labels::TABLE_GROUP, &spec.table_group_name),
            ],
        )
    }

    /// `shard.spec.pvcDeletionPolicy.whenDeleted == Delete`.
    pub fn deletes_volumes(&self) -> bool {
        self.shard
            .spec
            .pvc_deletion_policy
            .as_ref()
            .and_then(|p| p.when_deleted)
            == Some(PvcRetention::Delete)
    }

    pub fn otel<'f>(&'a self, fallback: &'f BTreeMap<String, String>) -> Otel<'f>
    where
        'a: 'f,
    {
        Otel {
            config: self.shard.spec.observability.as_ref(),
            fallback,
        }
    }

    pub fn internal_tls(&self) -> bool {
        self.shard
            .spec
            .internal_tls
            .as_ref()
            .and_then(|t| t.enabled)
            == Some(true)
    }

    /// The cells that run an orchestrator: the listed ones, else every pool
    /// cell (sorted).
    pub fn multiorch_cells(&self) -> Vec<String> {
        let spec = &self.shard.spec;
        if !spec.multiorch.cells.is_empty() {
            return spec.multiorch.cells.clone();
        }
        let mut cells: Vec<String> = spec
            .pools
            .values()
            .flat_map(|p| p.cells.iter().cloned())
            .collect();
        cells.sort();
        cells.dedup();
        cells
    }
}

pub fn build(
    shard: &Shard,
    files: &ConfigFiles,
    fallback_otel: &BTreeMap<String, String>,
) -> Result<Vec<Built>, BuildError> {
    let ctx = ShardContext::new(shard)?;
    let mut out = Vec::new();
    for cell in ctx.multiorch_cells() {
        out.extend(multiorch(&ctx, &cell, fallback_otel));
    }
    out.extend(config_maps(&ctx, files));
    if let Some(pvc) = backup_volume(&ctx) {
        out.push(pvc);
    }
    for (pool, spec) in &shard.spec.pools {
        for cell in &spec.cells {
            out.push(pool_disruption_budget(&ctx, pool, cell));
            out.push(pool_headless_service(&ctx, pool, cell));
        }
    }
    Ok(out)
}

fn multiorch(
    ctx: &ShardContext<'_>,
    cell: &str,
    fallback_otel: &BTreeMap<String, String>,
) -> Vec<Built> {
    let spec = &ctx.shard.spec;
    let labels = ctx.child_labels(
        "multiorch",
        &[
            (labels::CELL, cell),
            (labels::DATABASE, &spec.database_name),
            (labels::TABLE_GROUP, &spec.table_group_name),
        ],
    );
    let mut args = vec![
        "multiorch".to_owned(),
        format!("--http-port={MULTIORCH_HTTP}"),
        format!("--grpc-port={MULTIORCH_GRPC}"),
        format!(
            "--topo-global-server-addresses={}",
            spec.global_topo_server.address
        ),
        format!("--topo-global-root={}", spec.global_topo_server.root_path),
        format!("--cell={cell}"),
        format!(
            "--watch-targets={}/{}/{}",
            spec.database_name, spec.table_group_name, spec.shard_name
        ),
        format!("--log-level={}", log_level(spec.log_levels.multiorch)),
    ];
    let otel = ctx.otel(fallback_otel);
    let mut volumes = ComponentVolumes::new(&otel);
    if ctx.internal_tls() {
        args.extend(volumes.add_internal_tls(
            "tls-certs",
            "/etc/multigres/tls",
            "multiorch",
            &ctx.cluster,
            &ctx.namespace,
        ));
    }
    let stateless = &spec.multiorch.stateless;
    let resource = Resource {
        project: &ctx.project,
        cluster: &ctx.cluster,
        component: "multiorch",
    };
    let container = ComponentContainer {
        name: "multiorch",
        image: Some(spec.images.multiorch.clone()),
        pull: &spec.images.pull,
        args,
        http: MULTIORCH_HTTP,
        grpc: MULTIORCH_GRPC,
        more_ports: Vec::new(),
        resources: stateless.resources.clone(),
        env: otel.env(Some(resource)),
        mounts: volumes.mounts,
    }
    .build();

    let names = ctx.names();
    let deployment = ComponentDeployment {
        name: names.multiorch_deployment(&ctx.id(), cell),
        namespace: &ctx.namespace,
        labels: labels.clone(),
        selector: labels::selector(&labels),
        spec: stateless,
        pod_annotations: Some(pod_annotations(&stateless.pod_annotations, &ctx.project)),
        node_selector: spec.cell_topology_labels.get(cell).cloned(),
        placement: spec.multiorch.placement.as_ref(),
        pull: &spec.images.pull,
        container,
        volumes: volumes.volumes,
    }
    .build();
    let service = cluster_ip_service(
        names.multiorch_service(&ctx.id(), cell),
        &ctx.namespace,
        &labels,
        labels::selector(&labels),
        vec![
            named_service_port("http", MULTIORCH_HTTP),
            named_service_port("grpc", MULTIORCH_GRPC),
        ],
        None,
    );
    vec![deployment, service]
}

/// `<shard>-pg-hba`, `<shard>-postgres-config`, `<shard>-exporter-queries`.
pub fn config_map_names(shard_name: &str) -> [String; 3] {
    [
        format!("{shard_name}-pg-hba"),
        format!("{shard_name}-postgres-config"),
        format!("{shard_name}-exporter-queries"),
    ]
}

fn config_maps(ctx: &ShardContext<'_>, files: &ConfigFiles) -> Vec<Built> {
    let [pg_hba, postgres_config, exporter] = config_map_names(&ctx.name);
    [
        (
            pg_hba,
            "pg-hba-config",
            "pg_hba_template.conf",
            &files.pg_hba_template,
        ),
        (
            postgres_config,
            "postgres-config",
            "postgresql.conf",
            &files.postgresql_conf,
        ),
        (
            exporter,
            "postgres-exporter-queries",
            "queries.yml",
            &files.exporter_queries,
        ),
    ]
    .into_iter()
    .map(|(name, component, key, content)| {
        let metadata = meta(name, &ctx.namespace, ctx.child_labels(component, &[]));
        let config_map = ConfigMap {
            metadata: metadata.clone(),
            data: Some(BTreeMap::from([(key.to_owned(), content.clone())])),
            ..Default::default()
        };
        built(&config_map, &metadata)
    })
    .collect()
}

/// The shard-wide backup volume, for filesystem backups.
fn backup_volume(ctx: &ShardContext<'_>) -> Option<Built> {
    let spec = &ctx.shard.spec;
    let backup = spec.backup.as_ref()?;
    if backup.backup_type != BackupType::Filesystem {
        return None;
    }
    let storage = backup
        .filesystem
        .as_ref()
        .map(|f| f.storage.clone())
        .unwrap_or_default();
    let labels = labels::with(
        labels::standard(&ctx.cluster, "shard-pool"),
        &[
            (labels::CLUSTER, &ctx.cluster),
            (labels::DATABASE, &spec.database_name),
            (labels::TABLE_GROUP, &spec.table_group_name),
            (labels::SHARD, &spec.shard_name),
        ],
    );
    let mut metadata = meta(ctx.names().backup_pvc(&ctx.id()), &ctx.namespace, labels);
    if !ctx.deletes_volumes() {
        // Retained volumes hold backups: GitOps tools must never prune them.
        let mut annotations = BTreeMap::new();
        keep_annotations(&mut annotations);
        metadata.annotations = Some(annotations);
    }
    Some(volume_claim(metadata, &storage, BACKUP_STORAGE_FALLBACK))
}

fn pool_disruption_budget(ctx: &ShardContext<'_>, pool: &str, cell: &str) -> Built {
    let spec = &ctx.shard.spec;
    // Built explicitly: the Shard's own labels are not merged in.
    let labels = labels::with(
        labels::standard(&ctx.cluster, "shard-pool"),
        &[
            (labels::CLUSTER, &ctx.cluster),
            (labels::SHARD, &spec.shard_name),
            (labels::CELL, cell),
            (labels::POOL, pool),
            (labels::DATABASE, &spec.database_name),
            (labels::TABLE_GROUP, &spec.table_group_name),
        ],
    );
    let metadata = meta(
        ctx.names().pool_pdb(&ctx.id(), pool, cell),
        &ctx.namespace,
        labels.clone(),
    );
    let pdb = PodDisruptionBudget {
        metadata: metadata.clone(),
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(1)),
            selector: Some(selector(&labels)),
            ..Default::default()
        }),
        ..Default::default()
    };
    built(&pdb, &metadata)
}

fn pool_headless_service(ctx: &ShardContext<'_>, pool: &str, cell: &str) -> Built {
    let labels = ctx.pool_labels(pool, cell);
    let metadata = meta(
        ctx.names().pool_headless_service(&ctx.id(), pool, cell),
        &ctx.namespace,
        labels.clone(),
    );
    let service = Service {
        metadata: metadata.clone(),
        spec: Some(ServiceSpec {
            cluster_ip: Some("None".into()),
            publish_not_ready_addresses: Some(true),
            ports: Some(vec![
                named_service_port("http", POOLER_HTTP),
                named_service_port("grpc", POOLER_GRPC),
                named_service_port("postgres", POSTGRES_PORT),
                named_service_port("metrics", EXPORTER_PORT),
            ]),
            selector: Some(labels::selector(&labels)),
            ..Default::default()
        }),
        ..Default::default()
    };
    built(&service, &metadata)
}
