//! Resolved clusters into child objects: the global TopoServer, one Cell per
//! cell (and its local TopoServer), one TableGroup per table group, one Shard
//! per shard (as upstream's `pkg/cluster-handler/controller/multigrescluster`
//! creates them). Every default is written out.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;
use serde_json::Value;

use super::provenance::{Provenance, Source};
use super::resolve::{ClusterResolved, Settings, ShardResolved, TableGroupResolved, merge};
use crate::api::children::*;
use crate::api::common::*;
use crate::api::{API_VERSION, Kind};
use crate::labels::{self, Labels};
use crate::names::{ClusterNames, ShardId};

/// One generated object.
#[derive(Debug, Clone)]
pub struct Generated {
    pub kind: Kind,
    pub name: String,
    pub namespace: String,
    pub value: Value,
    /// Sources by JSON pointer inside `value`.
    pub prov: Provenance,
}

/// The cluster's identity as children see it.
pub struct ClusterMeta<'a> {
    pub name: &'a str,
    pub namespace: &'a str,
    pub project_ref: Option<&'a str>,
}

pub fn expand(meta: &ClusterMeta<'_>, resolved: &ClusterResolved) -> Vec<Generated> {
    let names = ClusterNames::new(meta.name, meta.namespace);
    let topo_ref = global_topo_ref(&names, resolved);
    let mut out = Vec::new();
    if let Some(topo) = global_topo_server(meta, &names, resolved) {
        out.push(topo);
    }
    let all_cells: Vec<String> = resolved.cells.iter().map(|c| c.name.clone()).collect();
    for cell in &resolved.cells {
        out.extend(cell_objects(
            meta, &names, resolved, cell, &topo_ref, &all_cells,
        ));
    }
    for table_group in &resolved.table_groups {
        out.extend(table_group_objects(
            meta,
            &names,
            resolved,
            table_group,
            &topo_ref,
        ));
    }
    out
}

/// Where children find the global topology (§8.3).
fn global_topo_ref(
    names: &ClusterNames<'_>,
    resolved: &ClusterResolved,
) -> (GlobalTopoServerRef, Source) {
    let topo = &resolved.global_topo.value;
    match (&topo.external, &topo.etcd) {
        (Some(external), _) => (
            GlobalTopoServerRef {
                address: external.endpoints.first().cloned().unwrap_or_default(),
                root_path: external.root_path.clone().unwrap_or_default(),
                implementation: external.implementation.clone().unwrap_or_default(),
            },
            Source::derived("the first endpoint of the external global topology server"),
        ),
        (None, etcd) => (
            GlobalTopoServerRef {
                address: names.global_topo_address(),
                root_path: etcd
                    .as_ref()
                    .and_then(|e| e.root_path.clone())
                    .unwrap_or_default(),
                implementation: "etcd".into(),
            },
            Source::derived(format!(
                "the client Service of the managed global etcd, {}",
                names.global_topo()
            )),
        ),
    }
}

fn metadata(
    meta: &ClusterMeta<'_>,
    name: String,
    labels: Labels,
    with_project_ref: bool,
) -> ObjectMeta {
    let annotations = meta
        .project_ref
        .filter(|_| with_project_ref)
        .map(|project| BTreeMap::from([(labels::PROJECT_REF.to_owned(), project.to_owned())]));
    ObjectMeta {
        name: Some(name),
        namespace: Some(meta.namespace.to_owned()),
        labels: Some(labels),
        annotations,
        ..Default::default()
    }
}

fn object<T: Serialize>(kind: Kind, metadata: ObjectMeta, spec: &T, prov: Provenance) -> Generated {
    let mut value = serde_json::json!({
        "apiVersion": API_VERSION,
        "kind": kind.name(),
        "metadata": metadata,
        "spec": spec,
    });
    crate::units::canonicalize(&mut value);
    Generated {
        kind,
        name: metadata.name.clone().unwrap_or_default(),
        namespace: metadata.namespace.clone().unwrap_or_default(),
        value,
        prov,
    }
}

fn global_topo_server(
    meta: &ClusterMeta<'_>,
    names: &ClusterNames<'_>,
    resolved: &ClusterResolved,
) -> Option<Generated> {
    let topo = &resolved.global_topo.value;
    let etcd = topo.etcd.as_ref()?;
    if topo.external.is_some() {
        return None;
    }
    let settings = &resolved.settings;
    let mut prov = Provenance::default();
    prov.mount("/spec", &resolved.global_topo.prov);
    let etcd_spec = EtcdSpec {
        pvc_deletion_policy: None,
        ..etcd.clone()
    };
    prov.record(
        "/spec/etcd/pvcDeletionPolicy",
        Source::derived("not copied to the TopoServer"),
    );
    let pvc_deletion_policy = merge::pvc_policy(
        etcd.pvc_deletion_policy.as_ref(),
        merge::pvc_policy(
            topo.pvc_deletion_policy.as_ref(),
            settings.pvc_deletion_policy.as_ref(),
        )
        .as_ref(),
    );
    prov.record(
        "/spec/pvcDeletionPolicy",
        Source::derived(
            "etcd's pvcDeletionPolicy, else the global topology server's, else the cluster's",
        ),
    );
    let spec = TopoServerSpec {
        etcd: Some(etcd_spec),
        pvc_deletion_policy,
        placement: topo.placement.clone(),
    };
    let labels = labels::with(
        labels::standard(meta.name, "global-topo"),
        &[(labels::CLUSTER, meta.name)],
    );
    Some(object(
        Kind::TopoServer,
        metadata(meta, names.global_topo(), labels, false),
        &spec,
        prov,
    ))
}

fn cell_objects(
    meta: &ClusterMeta<'_>,
    names: &ClusterNames<'_>,
    resolved: &ClusterResolved,
    cell: &super::resolve::CellResolved,
    (topo_ref, topo_source): &(GlobalTopoServerRef, Source),
    all_cells: &[String],
) -> Vec<Generated> {
    let settings = &resolved.settings;
    let mut prov = Provenance::default();
    prov.mount("/spec", &cell.prov);
    prov.record("/spec/globalTopoServer", topo_source.clone());
    prov.record(
        "/spec/allCells",
        Source::derived("every cell of the cluster, in spec order"),
    );
    prov.record(
        "/spec/topologyReconciliation",
        Source::derived("registerCell is always true; prunePoolers follows spec.topologyPruning"),
    );
    mount_settings(
        &mut prov,
        settings,
        &[
            "logLevels",
            "observability",
            "internalTLS",
            "certCommonName",
        ],
    );
    prov.record(
        "/spec/images/imagePullPolicy",
        settings_source(settings, "/images/imagePullPolicy"),
    );
    prov.record(
        "/spec/images/imagePullSecrets",
        settings_source(settings, "/images/imagePullSecrets"),
    );
    prov.record(
        "/spec/images/multigateway",
        settings_source(settings, "/images/multigateway"),
    );

    let spec = CellSpec {
        name: cell.name.clone(),
        zone_id: cell.zone_id.clone(),
        region: cell.region.clone(),
        images: CellImages {
            pull: settings.images.pull.clone(),
            multigateway: settings.images.multigateway.clone().unwrap_or_default(),
        },
        multigateway: cell.gateway.clone(),
        multigateway_placement: cell.placement.clone(),
        global_topo_server: topo_ref.clone(),
        topo_server: cell.local_topo.clone(),
        all_cells: all_cells.to_vec(),
        topology_reconciliation: Some(TopologyReconciliation {
            register_cell: true,
            prune_poolers: settings.topology_pruning.enabled != Some(false),
        }),
        observability: settings.observability.clone(),
        log_levels: settings.log_levels.clone(),
        internal_tls: settings.internal_tls.clone(),
        cert_common_name: settings.cert_common_name.clone(),
    };
    let cell_name = names.cell(&cell.name);
    let labels = labels::with(
        labels::standard(meta.name, "cell"),
        &[(labels::CLUSTER, meta.name), (labels::CELL, &cell.name)],
    );
    let mut out = vec![object(
        Kind::Cell,
        metadata(meta, cell_name, labels, true),
        &spec,
        prov,
    )];

    if let Some(etcd) = cell.local_topo.as_ref().and_then(|t| t.etcd.as_ref()) {
        let mut topo_prov = Provenance::default();
        let mut etcd_prov = Provenance::default();
        for (pointer, source) in cell.prov.records() {
            if let Some(rest) = pointer.strip_prefix("/topoServer") {
                etcd_prov.record(rest, source.clone());
            }
        }
        topo_prov.mount("/spec", &etcd_prov);
        topo_prov.record(
            "/spec/pvcDeletionPolicy",
            Source::derived("the local etcd's own pvcDeletionPolicy"),
        );
        let spec = TopoServerSpec {
            etcd: Some(etcd.clone()),
            pvc_deletion_policy: etcd.pvc_deletion_policy.clone(),
            placement: None,
        };
        let labels = labels::with(
            labels::standard(meta.name, "local-topo"),
            &[(labels::CLUSTER, meta.name), (labels::CELL, &cell.name)],
        );
        out.push(object(
            Kind::TopoServer,
            metadata(meta, names.local_topo(&cell.name), labels, false),
            &spec,
            topo_prov,
        ));
    }
    out
}

fn table_group_objects(
    meta: &ClusterMeta<'_>,
    names: &ClusterNames<'_>,
    resolved: &ClusterResolved,
    tg: &TableGroupResolved,
    (topo_ref, topo_source): &(GlobalTopoServerRef, Source),
) -> Vec<Generated> {
    let settings = &resolved.settings;
    let shared = TableGroupShared {
        meta,
        names,
        settings,
        tg,
        topo_ref,
        topo_source,
        images: ShardImages {
            pull: settings.images.pull.clone(),
            multiorch: settings.images.multiorch.clone().unwrap_or_default(),
            multipooler: settings.images.multipooler.clone().unwrap_or_default(),
            postgres: settings.images.postgres.clone().unwrap_or_default(),
        },
        cell_topology_labels: resolved
            .cells
            .iter()
            .filter_map(|c| {
                labels::cell_topology(c.zone_id.as_deref(), c.region.as_deref())
                    .map(|l| (c.name.clone(), l))
            })
            .collect(),
    };
    let mut out = vec![shared.table_group()];
    out.extend(tg.shards.iter().map(|shard| shared.shard(shard)));
    out
}

/// What a TableGroup and its Shards are generated from.
struct TableGroupShared<'a> {
    meta: &'a ClusterMeta<'a>,
    names: &'a ClusterNames<'a>,
    settings: &'a Settings,
    tg: &'a TableGroupResolved,
    topo_ref: &'a GlobalTopoServerRef,
    topo_source: &'a Source,
    images: ShardImages,
    cell_topology_labels: BTreeMap<String, BTreeMap<String, String>>,
}

impl TableGroupShared<'_> {
    /// The provenance of the fields both objects take from the cluster and
    /// the table group.
    fn shared_provenance(&self) -> Provenance {
        let mut prov = Provenance::default();
        prov.record("/spec/globalTopoServer", self.topo_source.clone());
        prov.record(
            "/spec/cellTopologyLabels",
            Source::derived("the zoneId or region of each cell"),
        );
        mount_settings(
            &mut prov,
            self.settings,
            &[
                "logLevels",
                "observability",
                "internalTLS",
                "topologyPruning",
                "postgresSuperuser",
                "postgresPasswordSecretRef",
            ],
        );
        for field in [
            "imagePullPolicy",
            "imagePullSecrets",
            "multiorch",
            "multipooler",
            "postgres",
        ] {
            let target = format!("/images/{field}");
            prov.record(
                &format!("/spec{target}"),
                settings_source(self.settings, &target),
            );
        }
        for (field, at) in [
            ("databaseName", "/databaseName"),
            ("tableGroupName", "/tableGroupName"),
            ("durabilityPolicy", "/durabilityPolicy"),
        ] {
            if let Some(source) = self.tg.prov.lookup(at) {
                prov.record(&format!("/spec/{field}"), source);
            }
        }
        prov
    }

    fn table_group(&self) -> Generated {
        let (meta, tg, settings) = (self.meta, self.tg, self.settings);
        let mut tg_prov = self.shared_provenance();
        for field in ["default", "pvcDeletionPolicy", "backup"] {
            if let Some(source) = tg.prov.lookup(&format!("/{field}")) {
                tg_prov.record(&format!("/spec/{field}"), source);
            }
        }
        for (i, shard) in tg.shards.iter().enumerate() {
            tg_prov.mount(&format!("/spec/shards/{i}"), &shard.prov);
        }
        let tg_spec = TableGroupSpec {
            database_name: tg.database.clone(),
            table_group_name: tg.name.clone(),
            default: tg.default,
            images: self.images.clone(),
            global_topo_server: self.topo_ref.clone(),
            shards: tg.shards.iter().map(|s| s.spec.clone()).collect(),
            pvc_deletion_policy: tg.pvc_deletion_policy.clone(),
            internal_tls: settings.internal_tls.clone(),
            observability: settings.observability.clone(),
            log_levels: settings.log_levels.clone(),
            backup: tg.backup.clone(),
            cell_topology_labels: self.cell_topology_labels.clone(),
            topology_pruning: Some(settings.topology_pruning.clone()),
            durability_policy: Some(tg.durability_policy.clone()),
            postgres_superuser: Some(settings.postgres_superuser.clone()),
            postgres_password_secret_ref: settings.postgres_password_secret_ref.clone(),
        };
        let tg_labels = labels::with(
            labels::standard(meta.name, "tablegroup"),
            &[
                (labels::CLUSTER, meta.name),
                (labels::DATABASE, &tg.database),
                (labels::TABLE_GROUP, &tg.name),
            ],
        );
        object(
            Kind::TableGroup,
            metadata(
                meta,
                self.names.table_group(&tg.database, &tg.name),
                tg_labels,
                true,
            ),
            &tg_spec,
            tg_prov,
        )
    }

    fn shard(&self, shard: &ShardResolved) -> Generated {
        let (meta, tg, settings) = (self.meta, self.tg, self.settings);
        let resolved_shard = &shard.spec;
        let mut prov = self.shared_provenance();
        prov.mount("/spec", &shard.prov);
        prov.record(
            "/spec/shardName",
            shard.prov.lookup("/name").unwrap_or_else(Source::built_in),
        );
        prov.record(
            "/spec/pvcDeletionPolicy",
            Source::derived("the shard's pvcDeletionPolicy, else its table group's"),
        );
        prov.record(
            "/spec/replicas",
            Source::derived("the sum over pools of replicasPerCell × cells"),
        );
        let replicas: i32 = resolved_shard
            .pools
            .values()
            .map(|p| {
                p.replicas_per_cell.unwrap_or(1) * i32::try_from(p.cells.len()).unwrap_or(i32::MAX)
            })
            .sum();
        let spec = ShardSpec {
            database_name: tg.database.clone(),
            table_group_name: tg.name.clone(),
            shard_name: resolved_shard.name.clone(),
            images: self.images.clone(),
            global_topo_server: self.topo_ref.clone(),
            multiorch: resolved_shard.multiorch.clone(),
            initdb_args: resolved_shard.initdb_args.clone(),
            postgres_config_ref: resolved_shard.postgres_config_ref.clone(),
            postgres_config: resolved_shard.postgres_config.clone(),
            pools: resolved_shard.pools.clone(),
            pvc_deletion_policy: merge::pvc_policy(
                resolved_shard.pvc_deletion_policy.as_ref(),
                tg.pvc_deletion_policy.as_ref(),
            ),
            internal_tls: settings.internal_tls.clone(),
            observability: settings.observability.clone(),
            log_levels: settings.log_levels.clone(),
            topology_pruning: Some(settings.topology_pruning.clone()),
            durability_policy: Some(tg.durability_policy.clone()),
            postgres_superuser: Some(settings.postgres_superuser.clone()),
            postgres_password_secret_ref: settings.postgres_password_secret_ref.clone(),
            cell_topology_labels: self.cell_topology_labels.clone(),
            backup: resolved_shard.backup.clone(),
            replicas: Some(replicas),
        };
        let id = ShardId {
            database: &tg.database,
            table_group: &tg.name,
            shard: &resolved_shard.name,
        };
        let labels = labels::with(
            labels::standard(meta.name, "shard"),
            &[
                (labels::CLUSTER, meta.name),
                (labels::DATABASE, &tg.database),
                (labels::TABLE_GROUP, &tg.name),
                (labels::SHARD, &resolved_shard.name),
            ],
        );
        object(
            Kind::Shard,
            metadata(meta, self.names.shard(&id), labels, true),
            &spec,
            prov,
        )
    }
}

/// Mounts cluster settings (`/logLevels`, …) under `/spec`.
fn mount_settings(prov: &mut Provenance, settings: &super::resolve::Settings, fields: &[&str]) {
    for field in fields {
        let at = format!("/{field}");
        prov.record(&format!("/spec{at}"), settings_source(settings, &at));
    }
}

fn settings_source(settings: &super::resolve::Settings, at: &str) -> Source {
    settings.prov.lookup(at).unwrap_or_else(Source::built_in)
}
