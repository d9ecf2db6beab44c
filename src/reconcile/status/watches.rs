//! Which objects a change to a watched object re-reconciles (upstream
//! `enqueueRequestsFromTemplate` and the Shard controller's ConfigMap map).

use k8s_openapi::api::core::v1::ConfigMap;

use crate::api::cluster::{MultigresCluster, MultigresClusterSpec};
use crate::api::{Kind, Shard};

/// The three template kinds a cluster reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateKind {
    Core,
    Cell,
    Shard,
}

impl TemplateKind {
    pub fn from_kind(kind: Kind) -> Option<Self> {
        match kind {
            Kind::CoreTemplate => Some(TemplateKind::Core),
            Kind::CellTemplate => Some(TemplateKind::Cell),
            Kind::ShardTemplate => Some(TemplateKind::Shard),
            _ => None,
        }
    }
}

/// The name of the template a component without a reference (and without
/// templateDefaults) falls back to.
const DEFAULT_TEMPLATE: &str = "default";

/// The clusters of `namespace` that a change to template `name` of `kind`
/// re-reconciles: those whose `status.resolvedTemplates` lists it, and
/// every cluster without `resolvedTemplates` (never reconciled).
///
/// Upstream: `resolvedTemplates` records explicit references only, so an
/// edit of the namespace's `default` template reached none of the clusters
/// that fall back to it. Those are enqueued here too (see
/// [`falls_back_to_default`]).
pub fn clusters_using_template<'c>(
    clusters: &'c [MultigresCluster],
    kind: TemplateKind,
    namespace: &str,
    name: &str,
) -> Vec<&'c MultigresCluster> {
    clusters
        .iter()
        .filter(|c| c.metadata.namespace.as_deref().unwrap_or_default() == namespace)
        .filter(|c| {
            let Some(recorded) = c
                .status
                .as_ref()
                .and_then(|s| s.resolved_templates.as_ref())
            else {
                return true;
            };
            let listed = match kind {
                TemplateKind::Core => &recorded.core_templates,
                TemplateKind::Cell => &recorded.cell_templates,
                TemplateKind::Shard => &recorded.shard_templates,
            };
            listed.iter().any(|n| n == name)
                || (name == DEFAULT_TEMPLATE && falls_back_to_default(&c.spec, kind))
        })
        .collect()
}

/// Some component of `kind` names no template and `templateDefaults` names
/// none for the kind, so the resolver reads the namespace's `default`
/// template (src/compile/resolve: `choose`). For shards that is any cluster
/// without a shard templateDefault: injected shards, and the decision to
/// inject a `default` pool, read it too.
pub fn falls_back_to_default(spec: &MultigresClusterSpec, kind: TemplateKind) -> bool {
    let unset = |r: Option<&String>| r.is_none_or(|n| n.is_empty());
    let defaults = &spec.template_defaults;
    match kind {
        TemplateKind::Core => {
            unset(defaults.core_template.as_ref())
                && (unset(
                    spec.global_topo_server
                        .as_ref()
                        .and_then(|g| g.template_ref.as_ref()),
                ) || unset(
                    spec.multiadmin
                        .as_ref()
                        .and_then(|m| m.template_ref.as_ref()),
                ) || unset(
                    spec.multiadmin_web
                        .as_ref()
                        .and_then(|m| m.template_ref.as_ref()),
                ))
        }
        TemplateKind::Cell => {
            unset(defaults.cell_template.as_ref())
                && spec.cells.iter().any(|c| unset(c.cell_template.as_ref()))
        }
        TemplateKind::Shard => unset(defaults.shard_template.as_ref()),
    }
}

/// The Shards a change to `config_map` re-reconciles: same namespace, and
/// `spec.postgresConfigRef.name` names it.
pub fn shards_using_config_map<'s>(shards: &'s [Shard], config_map: &ConfigMap) -> Vec<&'s Shard> {
    let namespace = config_map.metadata.namespace.as_deref().unwrap_or_default();
    let Some(name) = config_map.metadata.name.as_deref() else {
        return Vec::new();
    };
    shards
        .iter()
        .filter(|s| s.metadata.namespace.as_deref().unwrap_or_default() == namespace)
        .filter(|s| {
            s.spec
                .postgres_config_ref
                .as_ref()
                .is_some_and(|r| r.name == name)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::cluster::{
        CellConfig, GlobalTopoServerSpec, MultiadminConfig, MultiadminWebConfig,
        MultigresClusterStatus, ResolvedTemplates, TemplateDefaults,
    };
    use crate::api::common::PostgresConfigRef;
    use crate::reconcile::status::resolved_templates;

    fn cluster(
        name: &str,
        namespace: &str,
        spec: MultigresClusterSpec,
        reconciled: bool,
    ) -> MultigresCluster {
        let mut c = MultigresCluster::new(name, spec);
        c.metadata.namespace = Some(namespace.into());
        if reconciled {
            c.status = Some(MultigresClusterStatus {
                resolved_templates: Some(resolved_templates(&c.spec)),
                ..Default::default()
            });
        }
        c
    }

    fn names(list: Vec<&MultigresCluster>) -> Vec<&str> {
        list.iter()
            .map(|c| c.metadata.name.as_deref().unwrap())
            .collect()
    }

    /// Every component names its template: nothing falls back to `default`.
    fn explicit(core: &str, cell: &str, shard: &str) -> MultigresClusterSpec {
        MultigresClusterSpec {
            template_defaults: TemplateDefaults {
                core_template: Some(core.into()),
                cell_template: Some(cell.into()),
                shard_template: Some(shard.into()),
            },
            ..Default::default()
        }
    }

    #[test]
    fn only_clusters_listing_the_template_and_unreconciled_ones_are_enqueued() {
        let clusters = [
            cluster("a", "ns", explicit("core-1", "cell-1", "shard-1"), true),
            cluster("b", "ns", explicit("core-2", "cell-2", "shard-2"), true),
            cluster("new", "ns", explicit("core-2", "cell-2", "shard-2"), false),
            cluster(
                "elsewhere",
                "other",
                explicit("core-1", "cell-1", "shard-1"),
                true,
            ),
        ];
        assert_eq!(
            names(clusters_using_template(
                &clusters,
                TemplateKind::Core,
                "ns",
                "core-1"
            )),
            ["a", "new"]
        );
        assert_eq!(
            names(clusters_using_template(
                &clusters,
                TemplateKind::Cell,
                "ns",
                "cell-2"
            )),
            ["b", "new"]
        );
        assert_eq!(
            names(clusters_using_template(
                &clusters,
                TemplateKind::Shard,
                "ns",
                "shard-1"
            )),
            ["a", "new"]
        );
        // Kinds do not mix: a CellTemplate named like a core template.
        assert_eq!(
            names(clusters_using_template(
                &clusters,
                TemplateKind::Cell,
                "ns",
                "core-1"
            )),
            ["new"]
        );
        assert_eq!(
            names(clusters_using_template(
                &clusters,
                TemplateKind::Core,
                "ns",
                "default"
            )),
            ["new"]
        );
    }

    #[test]
    fn clusters_that_fall_back_to_default_are_enqueued_for_default() {
        let implicit = cluster("implicit", "ns", MultigresClusterSpec::default(), true);
        assert_eq!(
            implicit.status.as_ref().unwrap().resolved_templates,
            Some(ResolvedTemplates::default())
        );
        let clusters = [
            implicit,
            cluster("pinned", "ns", explicit("c", "c", "s"), true),
        ];
        for kind in [TemplateKind::Core, TemplateKind::Cell, TemplateKind::Shard] {
            let expected: &[&str] = if kind == TemplateKind::Cell {
                // No cells: no cell reads a template.
                &[]
            } else {
                &["implicit"]
            };
            assert_eq!(
                names(clusters_using_template(&clusters, kind, "ns", "default")),
                expected,
                "{kind:?}"
            );
        }
    }

    #[test]
    fn fallback_per_kind() {
        let mut spec = MultigresClusterSpec {
            global_topo_server: Some(GlobalTopoServerSpec {
                template_ref: Some("t".into()),
                ..Default::default()
            }),
            multiadmin: Some(MultiadminConfig {
                template_ref: Some("t".into()),
                ..Default::default()
            }),
            multiadmin_web: Some(MultiadminWebConfig {
                template_ref: Some("t".into()),
                ..Default::default()
            }),
            cells: vec![CellConfig {
                name: "z1".into(),
                cell_template: Some("t".into()),
                ..Default::default()
            }],
            ..Default::default()
        };
        assert!(!falls_back_to_default(&spec, TemplateKind::Core));
        assert!(!falls_back_to_default(&spec, TemplateKind::Cell));
        assert!(falls_back_to_default(&spec, TemplateKind::Shard));
        spec.multiadmin_web = None;
        spec.cells.push(CellConfig {
            name: "z2".into(),
            ..Default::default()
        });
        assert!(falls_back_to_default(&spec, TemplateKind::Core));
        assert!(falls_back_to_default(&spec, TemplateKind::Cell));
        spec.template_defaults = explicit("c", "c", "s").template_defaults;
        for kind in [TemplateKind::Core, TemplateKind::Cell, TemplateKind::Shard] {
            assert!(!falls_back_to_default(&spec, kind), "{kind:?}");
        }
    }

    #[test]
    fn template_kind_from_api_kind() {
        assert_eq!(
            TemplateKind::from_kind(Kind::CoreTemplate),
            Some(TemplateKind::Core)
        );
        assert_eq!(
            TemplateKind::from_kind(Kind::CellTemplate),
            Some(TemplateKind::Cell)
        );
        assert_eq!(
            TemplateKind::from_kind(Kind::ShardTemplate),
            Some(TemplateKind::Shard)
        );
        assert_eq!(TemplateKind::from_kind(Kind::Shard), None);
    }

    fn shard(name: &str, namespace: &str, config_map: Option<&str>) -> Shard {
        let mut s = Shard::new(name, Default::default());
        s.metadata.namespace = Some(namespace.into());
        s.spec.postgres_config_ref = config_map.map(|n| PostgresConfigRef {
            name: n.into(),
            key: "postgresql.conf".into(),
        });
        s
    }

    #[test]
    fn config_map_maps_to_the_shards_that_reference_it_in_its_namespace() {
        let shards = [
            shard("a", "ns", Some("pg")),
            shard("b", "ns", Some("other")),
            shard("c", "ns", None),
            shard("d", "elsewhere", Some("pg")),
            shard("e", "ns", Some("pg")),
        ];
        let mut cm = ConfigMap::default();
        cm.metadata.name = Some("pg".into());
        cm.metadata.namespace = Some("ns".into());
        let found: Vec<&str> = shards_using_config_map(&shards, &cm)
            .iter()
            .map(|s| s.metadata.name.as_deref().unwrap())
            .collect();
        assert_eq!(found, ["a", "e"]);
        assert!(shards_using_config_map(&shards, &ConfigMap::default()).is_empty());
    }
}
