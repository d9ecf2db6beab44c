//! The template chain of upstream's `pkg/resolver`: for every component, the
//! template it names (or `templateDefaults`, or the namespace's `default`
//! template), then `overrides`, then the inline spec, then built-in defaults.
//!
//! Resolution is what the upstream reconciler does in memory; nothing is
//! written back into the cluster. Every value records its source.

pub mod defaults;
pub mod merge;

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::api::cluster::*;
use crate::api::common::*;
use crate::api::templates::{CellTemplateSpec, CoreTemplateSpec, ShardTemplateSpec};
use crate::api::{Kind, children::ShardResolvedSpec};
use crate::compile::load::ObjectSource;
use crate::compile::path::FieldPath;
use crate::compile::provenance::{Layer, Provenance, Recorder, Source, Via};
use crate::images::{Component, ImageSet};

use defaults as d;

/// A template found among the inputs.
#[derive(Debug)]
pub struct Found<'a, T> {
    pub spec: &'a T,
    pub source: &'a ObjectSource,
}

// Manual impls: a derive would require `T: Copy`.
impl<T> Clone for Found<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Found<'_, T> {}

/// The templates of the cluster's namespace, by name.
#[derive(Debug, Default)]
pub struct Catalog<'a> {
    pub core: HashMap<&'a str, Found<'a, CoreTemplateSpec>>,
    pub cell: HashMap<&'a str, Found<'a, CellTemplateSpec>>,
    pub shard: HashMap<&'a str, Found<'a, ShardTemplateSpec>>,
}

/// The cluster being resolved.
#[derive(Debug, Clone, Copy)]
pub struct Cluster<'a> {
    pub name: &'a str,
    pub namespace: &'a str,
    /// The spec after schema defaults.
    pub spec: &'a MultigresClusterSpec,
    pub source: &'a ObjectSource,
    /// JSON pointers of fields the schema defaulted.
    pub defaulted: &'a HashSet<String>,
}

/// A resolved value and where each part of it came from (pointers relative
/// to the value).
#[derive(Debug, Clone, Default)]
pub struct Resolved<T> {
    pub value: T,
    pub prov: Provenance,
}

/// The resolved global topology server.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GlobalTopo {
    pub etcd: Option<EtcdSpec>,
    pub external: Option<ExternalTopoServerSpec>,
    pub pvc_deletion_policy: Option<PvcDeletionPolicy>,
    pub placement: Option<PodPlacementSpec>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Admin {
    pub spec: StatelessSpec,
    pub placement: Option<PodPlacementSpec>,
}

/// One resolved cell; provenance under `/multigateway`,
/// `/multigatewayPlacement` and `/topoServer` (Cell spec field names).
#[derive(Debug, Clone, Default)]
pub struct CellResolved {
    pub name: String,
    pub zone_id: Option<String>,
    pub region: Option<String>,
    pub gateway: MultigatewaySpec,
    pub placement: Option<PodPlacementSpec>,
    pub local_topo: Option<LocalTopoServerSpec>,
    pub prov: Provenance,
    /// Index in `spec.cells`.
    pub index: usize,
}

/// One resolved shard, with provenance relative to its resolved spec.
#[derive(Debug, Clone, Default)]
pub struct ShardResolved {
    pub spec: ShardResolvedSpec,
    pub prov: Provenance,
    /// Pools whose replicasPerCell was derived from their cell count.
    pub implicit_replicas: Vec<String>,
    /// Where the shard is configured in the cluster (`None` when injected).
    pub path: Option<FieldPath>,
}

/// One resolved table group.
#[derive(Debug, Clone, Default)]
pub struct TableGroupResolved {
    pub database: String,
    pub name: String,
    pub default: bool,
    pub pvc_deletion_policy: Option<PvcDeletionPolicy>,
    /// Merge(tg.backup, Merge(db.backup, cluster.backup)).
    pub backup: Option<BackupConfig>,
    pub durability_policy: String,
    pub shards: Vec<ShardResolved>,
    /// Provenance of the table-group-level fields (`/pvcDeletionPolicy`,
    /// `/backup`, `/durabilityPolicy`, `/databaseName`, …).
    pub prov: Provenance,
    pub path: Option<FieldPath>,
}

/// Cluster-wide settings copied to children, defaulted.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub images: ClusterImages,
    pub log_levels: ComponentLogLevels,
    pub pvc_deletion_policy: Option<PvcDeletionPolicy>,
    pub backup: BackupConfig,
    pub topology_pruning: TopologyPruningConfig,
    pub durability_policy: String,
    pub postgres_superuser: String,
    /// Copied verbatim to children.
    pub postgres_password_secret_ref: PostgresPasswordSecretRef,
    pub observability: Option<ObservabilityConfig>,
    pub internal_tls: Option<InternalTlsConfig>,
    pub cert_common_name: Option<String>,
    /// Provenance by the child spec field names (`/images/multiorch`, …).
    pub prov: Provenance,
}

/// Everything the expansion needs.
#[derive(Debug, Clone, Default)]
pub struct ClusterResolved {
    pub settings: Settings,
    pub global_topo: Resolved<GlobalTopo>,
    pub multiadmin: Resolved<Admin>,
    pub multiadmin_web: Resolved<StatelessSpec>,
    pub cells: Vec<CellResolved>,
    pub table_groups: Vec<TableGroupResolved>,
}

/// Resolves `cluster` against the templates of its namespace.
pub fn resolve(cluster: &Cluster<'_>, catalog: &Catalog<'_>, images: &ImageSet) -> ClusterResolved {
    let r = Resolver {
        cluster,
        catalog,
        images,
    };
    let cells = r.cells();
    let cell_names: Vec<String> = cells.iter().map(|c| c.name.clone()).collect();
    ClusterResolved {
        settings: r.settings(),
        global_topo: r.global_topo(),
        multiadmin: r.multiadmin(),
        multiadmin_web: r.multiadmin_web(),
        table_groups: r.table_groups(&cell_names),
        cells,
    }
}

struct Resolver<'c, 'a> {
    cluster: &'c Cluster<'a>,
    catalog: &'c Catalog<'a>,
    images: &'c ImageSet,
}

/// A chosen template: its name, how it was chosen, and the template itself
/// if it is among the inputs.
struct Choice<'a, T> {
    name: String,
    via: Via,
    found: Option<Found<'a, T>>,
}

impl<'a, T> Choice<'a, T> {
    fn source(&self, kind: Kind, pointer: &str) -> Option<Source> {
        let found = self.found.as_ref()?;
        let layer = Layer::Template {
            kind,
            name: self.name.clone(),
            via: self.via.clone(),
        };
        Some(Source::new(
            layer,
            Some((found.source.clone(), pointer.to_owned())),
        ))
    }
}

fn choose<'a, T>(
    map: &HashMap<&'a str, Found<'a, T>>,
    reference: Option<&str>,
    defaults: Option<&str>,
) -> Choice<'a, T> {
    let (name, via) = match (reference, defaults) {
        (Some(name), _) => (name, Via::Reference),
        (None, Some(name)) => (name, Via::TemplateDefaults),
        (None, None) => (d::DEFAULT_TEMPLATE, Via::NamespaceDefault),
    };
    Choice {
        name: name.to_owned(),
        via,
        found: map.get(name).copied(),
    }
}

impl<'a> Resolver<'_, 'a> {
    /// A node of the cluster object (or a schema default there).
    fn inline(&self, pointer: &str) -> Source {
        let layer = if self.cluster.defaulted.contains(pointer) {
            Layer::SchemaDefault
        } else {
            Layer::Inline
        };
        Source::new(
            layer,
            Some((self.cluster.source.clone(), pointer.to_owned())),
        )
    }

    fn overrides(&self, pointer: &str) -> Source {
        Source::new(
            Layer::Override,
            Some((self.cluster.source.clone(), pointer.to_owned())),
        )
    }

    fn spec(&self) -> &MultigresClusterSpec {
        self.cluster.spec
    }

    /// The cluster's `field` when written, else the built-in `default`;
    /// records which.
    fn written_or<T>(
        &self,
        prov: &mut Provenance,
        field: &str,
        written: Option<T>,
        default: impl FnOnce() -> T,
    ) -> T {
        let target = format!("/{field}");
        match written {
            Some(value) => {
                prov.record(&target, self.inline(&format!("/spec{target}")));
                value
            }
            None => {
                prov.record(&target, Source::built_in());
                default()
            }
        }
    }

    /// The pull settings and every component's image: the cluster's pin,
    /// else the image set's.
    fn settings_images(&self, prov: &mut Provenance) -> ClusterImages {
        let spec = self.spec();
        let mut images = ClusterImages {
            pull: spec.images.pull.clone(),
            ..Default::default()
        };
        if images.pull.image_pull_policy.is_none() {
            images.pull.image_pull_policy = Some(PullPolicy::IfNotPresent);
            prov.record("/images/imagePullPolicy", Source::built_in());
        } else {
            prov.record(
                "/images/imagePullPolicy",
                self.inline("/spec/images/imagePullPolicy"),
            );
        }
        if !images.pull.image_pull_secrets.is_empty() {
            prov.record(
                "/images/imagePullSecrets",
                self.inline("/spec/images/imagePullSecrets"),
            );
        }
        let pinned = [
            (
                Component::Multigateway,
                &spec.images.multigateway,
                &mut images.multigateway,
            ),
            (
                Component::Multiorch,
                &spec.images.multiorch,
                &mut images.multiorch,
            ),
            (
                Component::Multipooler,
                &spec.images.multipooler,
                &mut images.multipooler,
            ),
            (
                Component::Multiadmin,
                &spec.images.multiadmin,
                &mut images.multiadmin,
            ),
            (
                Component::MultiadminWeb,
                &spec.images.multiadmin_web,
                &mut images.multiadmin_web,
            ),
            (
                Component::Postgres,
                &spec.images.postgres,
                &mut images.postgres,
            ),
        ];
        for (component, pin, out) in pinned {
            let target = format!("/images/{}", component.key());
            match pin {
                Some(image) => {
                    *out = Some(image.clone());
                    prov.record(
                        &target,
                        self.inline(&format!("/spec/images/{}", component.key())),
                    );
                }
                None => {
                    let chosen = self.images.get(component);
                    *out = Some(chosen.image.clone());
                    prov.record(
                        &target,
                        Source::new(Layer::ImageSet(chosen.from.clone()), None),
                    );
                }
            }
        }
        images
    }

    /// Each component's log level: the cluster's, else `info`.
    fn settings_log_levels(&self, prov: &mut Provenance) -> ComponentLogLevels {
        let spec = self.spec();
        let mut log_levels = spec.log_levels.clone();
        for (key, level) in [
            ("pgctld", &mut log_levels.pgctld),
            ("multipooler", &mut log_levels.multipooler),
            ("multiorch", &mut log_levels.multiorch),
            ("multiadmin", &mut log_levels.multiadmin),
            ("multigateway", &mut log_levels.multigateway),
        ] {
            let target = format!("/logLevels/{key}");
            if level.is_none() {
                *level = Some(LogLevel::Info);
                prov.record(&target, Source::built_in());
            } else {
                prov.record(&target, self.inline(&format!("/spec{target}")));
            }
        }
        log_levels
    }

    fn settings(&self) -> Settings {
        let spec = self.spec();
        let mut prov = Provenance::default();
        let images = self.settings_images(&mut prov);
        let log_levels = self.settings_log_levels(&mut prov);
        let pvc_deletion_policy = Some(self.written_or(
            &mut prov,
            "pvcDeletionPolicy",
            spec.pvc_deletion_policy.clone(),
            || PvcDeletionPolicy {
                when_deleted: Some(PvcRetention::Delete),
                when_scaled: Some(PvcRetention::Delete),
            },
        ));
        let backup = self.written_or(&mut prov, "backup", spec.backup.clone(), default_backup);
        let topology_pruning = self.written_or(
            &mut prov,
            "topologyPruning",
            spec.topology_pruning
                .clone()
                .filter(|p| p.enabled.is_some()),
            || TopologyPruningConfig {
                enabled: Some(true),
            },
        );
        let durability_policy = self.written_or(
            &mut prov,
            "durabilityPolicy",
            spec.durability_policy.clone().filter(|p| !p.is_empty()),
            || d::DURABILITY_POLICY.to_owned(),
        );
        let postgres_superuser = self.written_or(
            &mut prov,
            "postgresSuperuser",
            spec.postgres_superuser.clone().filter(|u| !u.is_empty()),
            || d::POSTGRES_SUPERUSER.to_owned(),
        );
        for field in [
            "postgresPasswordSecretRef",
            "observability",
            "internalTLS",
            "certCommonName",
        ] {
            prov.record(&format!("/{field}"), self.inline(&format!("/spec/{field}")));
        }
        Settings {
            images,
            log_levels,
            pvc_deletion_policy,
            backup,
            topology_pruning,
            durability_policy,
            postgres_superuser,
            postgres_password_secret_ref: spec.postgres_password_secret_ref.clone(),
            observability: spec.observability.clone(),
            internal_tls: spec.internal_tls.clone(),
            cert_common_name: spec.cert_common_name.clone(),
            prov,
        }
    }

    fn core_template(&self, reference: Option<&str>) -> Choice<'a, CoreTemplateSpec> {
        choose(
            &self.catalog.core,
            reference,
            self.spec().template_defaults.core_template.as_deref(),
        )
    }

    /// `ResolveGlobalTopo` (§8.3); provenance relative to the TopoServer spec.
    fn global_topo(&self) -> Resolved<GlobalTopo> {
        let spec = self.spec().global_topo_server.as_ref();
        let choice = self.core_template(spec.and_then(|g| g.template_ref.as_deref()));
        let mut prov = Provenance::default();
        let mut topo = GlobalTopo::default();
        match choice
            .found
            .as_ref()
            .and_then(|f| f.spec.global_topo_server.as_ref())
        {
            Some(tpl) => {
                topo.etcd = tpl.etcd.clone();
                topo.pvc_deletion_policy = tpl.pvc_deletion_policy.clone();
                topo.placement = tpl.placement.clone();
                for field in ["etcd", "pvcDeletionPolicy", "placement"] {
                    if let Some(source) = choice.source(
                        Kind::CoreTemplate,
                        &format!("/spec/globalTopoServer/{field}"),
                    ) {
                        prov.record(&format!("/{field}"), source);
                    }
                }
            }
            None => topo.etcd = Some(EtcdSpec::default()),
        }
        if let Some(spec) = spec {
            if let Some(external) = &spec.external {
                topo.external = Some(external.clone());
                topo.etcd = None;
                prov.record("/external", self.inline("/spec/globalTopoServer/external"));
            } else if let Some(inline) = &spec.etcd {
                let etcd = topo.etcd.get_or_insert_with(Default::default);
                let mut rec = Recorder::new(
                    &mut prov,
                    "/etcd",
                    self.inline("/spec/globalTopoServer/etcd"),
                );
                merge::etcd(etcd, inline, &mut rec);
            }
        }
        if let Some(etcd) = &mut topo.etcd {
            self.etcd_defaults(etcd, d::GLOBAL_ROOT_PATH, &mut prov, "/etcd");
        }
        if let Some(external) = &mut topo.external {
            external_defaults(external, d::GLOBAL_ROOT_PATH, &mut prov, "/external");
        }
        if let Some(spec) = spec {
            if spec.pvc_deletion_policy.is_some() {
                topo.pvc_deletion_policy = spec.pvc_deletion_policy.clone();
                prov.record(
                    "/pvcDeletionPolicy",
                    self.inline("/spec/globalTopoServer/pvcDeletionPolicy"),
                );
            }
            if spec.placement.is_some() {
                topo.placement = spec.placement.clone();
                prov.record(
                    "/placement",
                    self.inline("/spec/globalTopoServer/placement"),
                );
            }
        }
        Resolved { value: topo, prov }
    }

    fn etcd_defaults(&self, etcd: &mut EtcdSpec, root_path: &str, prov: &mut Provenance, at: &str) {
        if etcd.image.is_none() {
            let chosen = self.images.get(Component::Etcd);
            etcd.image = Some(chosen.image.clone());
            prov.record(
                &format!("{at}/image"),
                Source::new(Layer::ImageSet(chosen.from.clone()), None),
            );
        }
        if etcd.storage.size.is_none() {
            etcd.storage.size = Some(d::ETCD_STORAGE_SIZE.into());
            prov.record(&format!("{at}/storage/size"), Source::built_in());
        }
        if etcd.replicas.is_none() {
            etcd.replicas = Some(d::ETCD_REPLICAS);
            prov.record(&format!("{at}/replicas"), Source::built_in());
        }
        if etcd.root_path.is_none() {
            etcd.root_path = Some(root_path.into());
            prov.record(&format!("{at}/rootPath"), Source::built_in());
        }
        if d::resources_unset(&etcd.resources) {
            etcd.resources = Some(d::etcd_resources());
            prov.record(&format!("{at}/resources"), Source::built_in());
        }
    }

    /// `ResolveMultiadmin`; provenance under `/spec` and `/placement`.
    fn multiadmin(&self) -> Resolved<Admin> {
        let config = self.spec().multiadmin.as_ref();
        let choice = self.core_template(config.and_then(|c| c.template_ref.as_deref()));
        let mut prov = Provenance::default();
        let mut admin = Admin::default();
        if let Some(found) = &choice.found {
            if let Some(tpl) = &found.spec.multiadmin {
                admin.spec = tpl.clone();
                record_opt(
                    &mut prov,
                    "/spec",
                    choice.source(Kind::CoreTemplate, "/spec/multiadmin"),
                );
            }
            if let Some(placement) = &found.spec.multiadmin_placement {
                admin.placement = Some(placement.clone());
                record_opt(
                    &mut prov,
                    "/placement",
                    choice.source(Kind::CoreTemplate, "/spec/multiadminPlacement"),
                );
            }
        }
        if let Some(config) = config {
            if let Some(inline) = &config.spec {
                let mut rec =
                    Recorder::new(&mut prov, "/spec", self.inline("/spec/multiadmin/spec"));
                merge::stateless(&mut admin.spec, inline, &mut rec);
            }
            if config.placement.is_some() {
                admin.placement = config.placement.clone();
                prov.record("/placement", self.inline("/spec/multiadmin/placement"));
            }
        }
        stateless_defaults(
            &mut admin.spec,
            d::multiadmin_resources(),
            &mut prov,
            "/spec",
        );
        Resolved { value: admin, prov }
    }

    fn multiadmin_web(&self) -> Resolved<StatelessSpec> {
        let config = self.spec().multiadmin_web.as_ref();
        let choice = self.core_template(config.and_then(|c| c.template_ref.as_deref()));
        let mut prov = Provenance::default();
        let mut spec = StatelessSpec::default();
        if let Some(tpl) = choice
            .found
            .as_ref()
            .and_then(|f| f.spec.multiadmin_web.as_ref())
        {
            spec = tpl.clone();
            record_opt(
                &mut prov,
                "",
                choice.source(Kind::CoreTemplate, "/spec/multiadminWeb"),
            );
        }
        if let Some(inline) = config.and_then(|c| c.spec.as_ref()) {
            let mut rec = Recorder::new(&mut prov, "", self.inline("/spec/multiadminWeb/spec"));
            merge::stateless(&mut spec, inline, &mut rec);
        }
        stateless_defaults(&mut spec, d::multiadmin_web_resources(), &mut prov, "");
        Resolved { value: spec, prov }
    }

    /// `ResolveCell` for every cell (§8.4).
    fn cells(&self) -> Vec<CellResolved> {
        let defaults = self.spec().template_defaults.cell_template.as_deref();
        self.spec()
            .cells
            .iter()
            .enumerate()
            .map(|(index, cell)| {
                let at = format!("/spec/cells/{index}");
                let choice = choose(&self.catalog.cell, cell.cell_template.as_deref(), defaults);
                let mut prov = Provenance::default();
                for field in ["name", "zoneId", "region"] {
                    prov.record(&format!("/{field}"), self.inline(&format!("{at}/{field}")));
                }
                let mut resolved = CellResolved {
                    name: cell.name.clone(),
                    zone_id: cell.zone_id.clone(),
                    region: cell.region.clone(),
                    index,
                    ..Default::default()
                };
                if let Some(tpl) = choice.found.as_ref().map(|f| f.spec) {
                    for (field, target, present) in [
                        ("multigateway", "/multigateway", tpl.multigateway.is_some()),
                        (
                            "multigatewayPlacement",
                            "/multigatewayPlacement",
                            tpl.multigateway_placement.is_some(),
                        ),
                        (
                            "localTopoServer",
                            "/topoServer",
                            tpl.local_topo_server.is_some(),
                        ),
                    ] {
                        if present {
                            record_opt(
                                &mut prov,
                                target,
                                choice.source(Kind::CellTemplate, &format!("/spec/{field}")),
                            );
                        }
                    }
                    resolved.gateway = tpl.multigateway.clone().unwrap_or_default();
                    resolved.placement = tpl.multigateway_placement.clone();
                    resolved.local_topo = tpl.local_topo_server.clone();
                }
                if let Some(overrides) = &cell.overrides {
                    layer_cell_gateway(
                        &mut resolved,
                        &mut prov,
                        (
                            overrides.multigateway.as_ref(),
                            &overrides.multigateway_placement,
                        ),
                        |field| self.overrides(&format!("{at}/overrides/{field}")),
                    );
                }
                if let Some(inline) = &cell.spec {
                    layer_cell_gateway(
                        &mut resolved,
                        &mut prov,
                        (Some(&inline.multigateway), &inline.multigateway_placement),
                        |field| self.inline(&format!("{at}/spec/{field}")),
                    );
                    if inline.local_topo_server.is_some() {
                        resolved.local_topo = inline.local_topo_server.clone();
                        prov.record(
                            "/topoServer",
                            self.inline(&format!("{at}/spec/localTopoServer")),
                        );
                    }
                }
                stateless_defaults(
                    &mut resolved.gateway.stateless,
                    d::gateway_resources(),
                    &mut prov,
                    "/multigateway",
                );
                let buffer = resolved.gateway.buffer.get_or_insert_with(Default::default);
                if buffer.enabled.is_none() {
                    buffer.enabled = Some(true);
                    prov.record("/multigateway/buffer/enabled", Source::built_in());
                }
                if let Some(local) = &mut resolved.local_topo {
                    let root = d::local_root_path(&cell.name);
                    if let Some(etcd) = &mut local.etcd {
                        self.etcd_defaults(etcd, &root, &mut prov, "/topoServer/etcd");
                    }
                    if let Some(external) = &mut local.external {
                        external_defaults(external, &root, &mut prov, "/topoServer/external");
                    }
                }
                resolved.prov = prov;
                resolved
            })
            .collect()
    }

    /// Databases, table groups and shards, with the system catalog defaults
    /// of §8.2 applied in memory.
    fn table_groups(&self, cell_names: &[String]) -> Vec<TableGroupResolved> {
        let spec = self.spec();
        let cluster_backup = spec.backup.clone().unwrap_or_else(default_backup);
        let cluster_pvc = spec.pvc_deletion_policy.clone().or(Some(PvcDeletionPolicy {
            when_deleted: Some(PvcRetention::Delete),
            when_scaled: Some(PvcRetention::Delete),
        }));
        let shard_template_default = spec.template_defaults.shard_template.as_deref();
        // §8.2 step 8: a `default` pool is injected only when no shard
        // template is in play.
        let inject_default_pool = shard_template_default.is_none()
            && !self.catalog.shard.contains_key(d::DEFAULT_TEMPLATE);

        let system_database = DatabaseConfig {
            name: d::SYSTEM_DATABASE.into(),
            default: Some(true),
            ..Default::default()
        };
        let databases = written_or_injected(
            &spec.databases,
            &system_database,
            Some("/spec"),
            "databases",
        );
        let default_table_group = TableGroupConfig {
            name: d::DEFAULT_TABLE_GROUP.into(),
            default: Some(true),
            ..Default::default()
        };
        let mut out = Vec::new();
        for (db_at, db) in databases {
            let table_groups = written_or_injected(
                &db.tablegroups,
                &default_table_group,
                db_at.as_deref(),
                "tablegroups",
            );
            for (tg_at, tg) in table_groups {
                let mut prov = Provenance::default();
                let name_source = |at: &Option<String>, field: &str| match at {
                    Some(at) => self.inline(&format!("{at}/{field}")),
                    None => Source::new(Layer::BuiltIn, None),
                };
                prov.record("/databaseName", name_source(&db_at, "name"));
                prov.record("/tableGroupName", name_source(&tg_at, "name"));
                prov.record("/default", name_source(&tg_at, "default"));

                let pvc_deletion_policy =
                    merge::pvc_policy(tg.pvc_deletion_policy.as_ref(), cluster_pvc.as_ref());
                prov.record(
                    "/pvcDeletionPolicy",
                    match (&tg.pvc_deletion_policy, &tg_at) {
                        (Some(_), Some(at)) => self.inline(&format!("{at}/pvcDeletionPolicy")),
                        _ => self.settings_source("/spec/pvcDeletionPolicy"),
                    },
                );
                let db_backup = merge::backup(db.backup.as_ref(), Some(&cluster_backup));
                let backup = merge::backup(tg.backup.as_ref(), db_backup.as_ref());
                // The most specific level that configures a backup.
                let backup_source = match (&tg.backup, &tg_at, &db.backup, &db_at) {
                    (Some(_), Some(at), _, _) => self.inline(&format!("{at}/backup")),
                    (_, _, Some(_), Some(at)) => self.inline(&format!("{at}/backup")),
                    _ => self.settings_source("/spec/backup"),
                };
                prov.record("/backup", backup_source.clone());
                let durability_policy = self.durability_policy(db, db_at.as_deref(), &mut prov);

                let injected_shard = injected_shard(!cell_names.is_empty(), inject_default_pool);
                let shards =
                    written_or_injected(&tg.shards, &injected_shard, tg_at.as_deref(), "shards")
                        .into_iter()
                        .map(|(shard_at, shard)| {
                            self.shard(
                                shard,
                                shard_at,
                                (backup.as_ref(), &backup_source),
                                cell_names,
                            )
                        })
                        .collect();
                out.push(TableGroupResolved {
                    database: db.name.clone(),
                    name: tg.name.clone(),
                    default: tg.default == Some(true),
                    pvc_deletion_policy,
                    backup,
                    durability_policy,
                    shards,
                    prov,
                    path: tg_at.map(|p| FieldPath::from_pointer(&p)),
                });
            }
        }
        out
    }

    /// The database's durability policy, else the cluster's, else the
    /// built-in one.
    fn durability_policy(
        &self,
        db: &DatabaseConfig,
        db_at: Option<&str>,
        prov: &mut Provenance,
    ) -> String {
        match (
            db.durability_policy.as_deref().filter(|p| !p.is_empty()),
            db_at,
        ) {
            (Some(policy), Some(at)) => {
                prov.record(
                    "/durabilityPolicy",
                    self.inline(&format!("{at}/durabilityPolicy")),
                );
                policy.to_owned()
            }
            _ => {
                prov.record(
                    "/durabilityPolicy",
                    self.settings_source("/spec/durabilityPolicy"),
                );
                self.spec()
                    .durability_policy
                    .clone()
                    .filter(|p| !p.is_empty())
                    .unwrap_or_else(|| d::DURABILITY_POLICY.into())
            }
        }
    }

    /// The source of a defaulted cluster setting: the cluster's field when
    /// written, else the built-in default.
    fn settings_source(&self, pointer: &str) -> Source {
        let spec = self.spec();
        let written = match pointer {
            "/spec/pvcDeletionPolicy" => spec.pvc_deletion_policy.is_some(),
            "/spec/backup" => spec.backup.is_some(),
            "/spec/durabilityPolicy" => spec
                .durability_policy
                .as_deref()
                .is_some_and(|p| !p.is_empty()),
            _ => true,
        };
        if written {
            self.inline(pointer)
        } else {
            Source::built_in()
        }
    }

    /// `ResolveShard` (§8.5) with cell defaults materialised.
    fn shard(
        &self,
        shard: &ShardConfig,
        at: Option<String>,
        (inherited_backup, inherited_source): (Option<&BackupConfig>, &Source),
        cell_names: &[String],
    ) -> ShardResolved {
        let defaults = self.spec().template_defaults.shard_template.as_deref();
        let choice = choose(
            &self.catalog.shard,
            shard.shard_template.as_deref(),
            defaults,
        );
        let mut prov = Provenance::default();
        let mut res = ShardResolvedSpec {
            name: shard.name.clone(),
            ..Default::default()
        };
        let cluster_source = |pointer: String| match &at {
            Some(at) => self.inline(&format!("{at}{pointer}")),
            None => Source::built_in(),
        };
        prov.record("/name", cluster_source("/name".into()));

        if let Some(tpl) = choice.found.as_ref().map(|f| f.spec) {
            let from = |field: &str| choice.source(Kind::ShardTemplate, &format!("/spec/{field}"));
            layer_shard_template(&mut res, &mut prov, tpl, from);
        }
        if let (Some(overrides), Some(at)) = (&shard.overrides, &at) {
            let source = |field: &str| self.overrides(&format!("{at}/overrides/{field}"));
            if let Some(multiorch) = &overrides.multiorch {
                merge::multiorch(
                    &mut res.multiorch,
                    multiorch,
                    &mut Recorder::new(&mut prov, "/multiorch", source("multiorch")),
                );
            }
            self.merge_pools(
                &mut res.pools,
                &overrides.pools,
                &mut prov,
                &source("pools"),
            );
            let settings = PostgresSettings {
                initdb_args: &overrides.initdb_args,
                config_ref: &overrides.postgres_config_ref,
                config: &overrides.postgres_config,
            };
            settings.layer_over(&mut res, &mut prov, source);
        }
        if let Some(inline) = &shard.spec {
            let source = |field: &str| cluster_source(format!("/spec/{field}"));
            merge::multiorch(
                &mut res.multiorch,
                &inline.multiorch,
                &mut Recorder::new(&mut prov, "/multiorch", source("multiorch")),
            );
            self.merge_pools(&mut res.pools, &inline.pools, &mut prov, &source("pools"));
            if inline.pvc_deletion_policy.is_some() {
                res.pvc_deletion_policy = inline.pvc_deletion_policy.clone();
                prov.record("/pvcDeletionPolicy", source("pvcDeletionPolicy"));
            }
            let settings = PostgresSettings {
                initdb_args: &inline.initdb_args,
                config_ref: &inline.postgres_config_ref,
                config: &inline.postgres_config,
            };
            settings.layer_over(&mut res, &mut prov, source);
        }

        // Backup: inherited along cluster → database → table group, then the shard's own.
        res.backup = inherited_backup.cloned();
        prov.record("/backup", inherited_source.clone());
        if let (Some(own), Some(at)) = (&shard.backup, &at) {
            res.backup = merge::backup(Some(own), res.backup.as_ref());
            prov.record("/backup", self.inline(&format!("{at}/backup")));
        }
        fill_backup_defaults(&mut res, &mut prov);
        let implicit_replicas = fill_pool_defaults(&mut res, &mut prov, cell_names);
        ShardResolved {
            spec: res,
            prov,
            implicit_replicas,
            path: at.map(|p| FieldPath::from_pointer(&p)),
        }
    }

    fn merge_pools(
        &self,
        pools: &mut BTreeMap<String, PoolSpec>,
        overlay: &BTreeMap<String, PoolSpec>,
        prov: &mut Provenance,
        source: &Source,
    ) {
        for (name, pool) in overlay {
            let target = format!("/pools/{name}");
            match pools.get_mut(name) {
                Some(existing) => {
                    merge::pool(
                        existing,
                        pool,
                        &mut Recorder::new(prov, target, source.child(name)),
                    );
                }
                None => {
                    pools.insert(name.clone(), pool.clone());
                    prov.record(&target, source.child(name));
                }
            }
        }
    }
}

/// Takes a shard template's fields, each recorded where the template
/// sets it.
fn layer_shard_template(
    res: &mut ShardResolvedSpec,
    prov: &mut Provenance,
    tpl: &ShardTemplateSpec,
    from: impl Fn(&str) -> Option<Source>,
) {
    if let Some(multiorch) = &tpl.multiorch {
        res.multiorch = multiorch.clone();
        record_opt(prov, "/multiorch", from("multiorch"));
    }
    for (name, pool) in &tpl.pools {
        res.pools.insert(name.clone(), pool.clone());
        record_opt(
            prov,
            &format!("/pools/{name}"),
            from(&format!("pools/{name}")),
        );
    }
    if tpl.pvc_deletion_policy.is_some() {
        res.pvc_deletion_policy = tpl.pvc_deletion_policy.clone();
        record_opt(prov, "/pvcDeletionPolicy", from("pvcDeletionPolicy"));
    }
    if tpl.initdb_args.is_some() {
        res.initdb_args = tpl.initdb_args.clone();
        record_opt(prov, "/initdbArgs", from("initdbArgs"));
    }
    if tpl.postgres_config_ref.is_some() {
        res.postgres_config_ref = tpl.postgres_config_ref.clone();
        record_opt(prov, "/postgresConfigRef", from("postgresConfigRef"));
    }
    for (key, value) in &tpl.postgres_config {
        res.postgres_config.insert(key.clone(), value.clone());
        record_opt(
            prov,
            &format!("/postgresConfig/{}", escape(key)),
            from(&format!("postgresConfig/{}", escape(key))),
        );
    }
}

/// Fills the filesystem backup's path and size when unset (and the
/// backup itself, when nothing sets one).
fn fill_backup_defaults(res: &mut ShardResolvedSpec, prov: &mut Provenance) {
    let backup = res.backup.get_or_insert_with(|| BackupConfig {
        filesystem: None,
        ..default_backup()
    });
    if backup.backup_type == BackupType::Filesystem {
        let fs = backup.filesystem.get_or_insert_with(Default::default);
        if fs.path.is_none() {
            fs.path = Some(d::BACKUP_PATH.into());
            prov.record("/backup/filesystem/path", Source::built_in());
        }
        if fs.storage.size.is_none() {
            fs.storage.size = Some(d::BACKUP_STORAGE_SIZE.into());
            prov.record("/backup/filesystem/storage/size", Source::built_in());
        }
    }
}

/// Fills the orchestrator's and pools' defaults: cells, replicas, storage
/// and resources (and a default pool when there is none). Returns the pools
/// whose replicas were chosen for them.
fn fill_pool_defaults(
    res: &mut ShardResolvedSpec,
    prov: &mut Provenance,
    cell_names: &[String],
) -> Vec<String> {
    stateless_defaults(
        &mut res.multiorch.stateless,
        d::multiorch_resources(),
        prov,
        "/multiorch",
    );
    let mut sorted_cells = cell_names.to_vec();
    sorted_cells.sort();
    if res.multiorch.cells.is_empty() && !sorted_cells.is_empty() {
        res.multiorch.cells = sorted_cells.clone();
        prov.record(
            "/multiorch/cells",
            Source::derived("every cell of the cluster, sorted"),
        );
    }
    if res.pools.is_empty() {
        res.pools.insert(
            d::DEFAULT_POOL.into(),
            PoolSpec {
                pool_type: Some(PoolType::ReadWrite),
                cells: res.multiorch.cells.clone(),
                ..Default::default()
            },
        );
        prov.record(
            &format!("/pools/{}", d::DEFAULT_POOL),
            Source::derived("the shard has no pools, so a default pool is added"),
        );
    }
    let mut implicit_replicas = Vec::new();
    for (name, pool) in &mut res.pools {
        let at = format!("/pools/{name}");
        if pool.cells.is_empty() && !sorted_cells.is_empty() {
            pool.cells = sorted_cells.clone();
            prov.record(
                &format!("{at}/cells"),
                Source::derived("every cell of the cluster, sorted"),
            );
        }
        if pool.replicas_per_cell.is_none() {
            let cells = if pool.cells.is_empty() {
                cell_names.len()
            } else {
                pool.cells.len()
            };
            let replicas = if cells == 1 { 2 } else { d::STATELESS_REPLICAS };
            pool.replicas_per_cell = Some(replicas);
            implicit_replicas.push(name.clone());
            let how = if cells == 1 {
                "2 because the pool spans exactly one cell (AT_LEAST_2 needs two poolers)"
            } else {
                "1 because the pool spans more than one cell"
            };
            prov.record(&format!("{at}/replicasPerCell"), Source::derived(how));
        }
        if pool.storage.size.is_none() {
            pool.storage.size = Some(d::POOL_STORAGE_SIZE.into());
            prov.record(&format!("{at}/storage/size"), Source::built_in());
        }
        if !merge::resources_non_zero(&pool.postgres.resources) {
            pool.postgres.resources = Some(d::postgres_resources());
            prov.record(&format!("{at}/postgres/resources"), Source::built_in());
        }
        if !merge::resources_non_zero(&pool.multipooler.resources) {
            pool.multipooler.resources = Some(d::multipooler_resources());
            prov.record(&format!("{at}/multipooler/resources"), Source::built_in());
        }
    }
    implicit_replicas
}

/// Layers a cell's gateway and its placement, from its overrides or its
/// inline spec, over `resolved`; `source(field)` says where each is written.
fn layer_cell_gateway(
    resolved: &mut CellResolved,
    prov: &mut Provenance,
    (gateway, placement): (Option<&MultigatewaySpec>, &Option<PodPlacementSpec>),
    source: impl Fn(&str) -> Source,
) {
    if let Some(gateway) = gateway {
        let mut recorder = Recorder::new(prov, "/multigateway", source("multigateway"));
        merge::gateway(&mut resolved.gateway, gateway, &mut recorder);
    }
    if placement.is_some() {
        resolved.placement = placement.clone();
        prov.record("/multigatewayPlacement", source("multigatewayPlacement"));
    }
}

/// The shard injected into a table group that lists none: with cells,
/// upstream gives it an empty inline spec, plus a `default` pool when no
/// shard template is in play.
fn injected_shard(with_cells: bool, inject_default_pool: bool) -> ShardConfig {
    ShardConfig {
        name: d::DEFAULT_SHARD.into(),
        spec: with_cells.then(|| ShardInlineSpec {
            pools: if inject_default_pool {
                BTreeMap::from([(
                    d::DEFAULT_POOL.to_owned(),
                    PoolSpec {
                        pool_type: Some(PoolType::ReadWrite),
                        ..Default::default()
                    },
                )])
            } else {
                BTreeMap::new()
            },
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The entries of a list at `{at}/{field}`, each with its pointer; or, when
/// the list is empty, the injected `fallback` alone, written nowhere (§8.2).
fn written_or_injected<'t, T>(
    items: &'t [T],
    fallback: &'t T,
    at: Option<&str>,
    field: &str,
) -> Vec<(Option<String>, &'t T)> {
    if items.is_empty() {
        return vec![(None, fallback)];
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| (at.map(|at| format!("{at}/{field}/{i}")), item))
        .collect()
}

fn record_opt(prov: &mut Provenance, target: &str, source: Option<Source>) {
    if let Some(source) = source {
        prov.record(target, source);
    }
}

fn escape(key: &str) -> String {
    let mut out = String::new();
    crate::compile::yaml::push_escaped(&mut out, key);
    out
}

fn stateless_defaults(
    spec: &mut StatelessSpec,
    resources: k8s_openapi::api::core::v1::ResourceRequirements,
    prov: &mut Provenance,
    at: &str,
) {
    if spec.replicas.is_none() {
        spec.replicas = Some(d::STATELESS_REPLICAS);
        prov.record(&format!("{at}/replicas"), Source::built_in());
    }
    if d::resources_unset(&spec.resources) {
        spec.resources = Some(resources);
        prov.record(&format!("{at}/resources"), Source::built_in());
    }
}

fn external_defaults(
    external: &mut ExternalTopoServerSpec,
    root_path: &str,
    prov: &mut Provenance,
    at: &str,
) {
    if external.implementation.as_deref().is_none_or(str::is_empty) {
        external.implementation = Some(d::EXTERNAL_TOPO_IMPLEMENTATION.into());
        prov.record(&format!("{at}/implementation"), Source::built_in());
    }
    if external.root_path.is_none() {
        external.root_path = Some(root_path.into());
        prov.record(&format!("{at}/rootPath"), Source::built_in());
    }
}

/// `{type: filesystem, filesystem: {path: /backups, storage: {size: 10Gi}}}`.
pub fn default_backup() -> BackupConfig {
    BackupConfig {
        backup_type: BackupType::Filesystem,
        filesystem: Some(FilesystemBackupConfig {
            path: Some(d::BACKUP_PATH.into()),
            storage: StorageSpec {
                size: Some(d::BACKUP_STORAGE_SIZE.into()),
                ..Default::default()
            },
        }),
        s3: None,
        pgbackrest_tls: None,
        encryption: None,
    }
}
/// The PostgreSQL settings a shard's overrides and inline spec both carry.
struct PostgresSettings<'a> {
    initdb_args: &'a Option<String>,
    config_ref: &'a Option<PostgresConfigRef>,
    config: &'a BTreeMap<String, String>,
}

impl PostgresSettings<'_> {
    /// Layers these settings over `res`, recording each at `source(field)`:
    /// empty initdb arguments count as unset.
    fn layer_over(
        &self,
        res: &mut ShardResolvedSpec,
        prov: &mut Provenance,
        source: impl Fn(&str) -> Source,
    ) {
        if self.initdb_args.as_deref().is_some_and(|a| !a.is_empty()) {
            res.initdb_args = self.initdb_args.clone();
            prov.record("/initdbArgs", source("initdbArgs"));
        }
        if self.config_ref.is_some() {
            res.postgres_config_ref = self.config_ref.clone();
            prov.record("/postgresConfigRef", source("postgresConfigRef"));
        }
        for (key, value) in self.config {
            res.postgres_config.insert(key.clone(), value.clone());
            prov.record(
                &format!("/postgresConfig/{}", escape(key)),
                source(&format!("postgresConfig/{}", escape(key))),
            );
        }
    }
}
