//! Labels and annotations of generated objects (upstream's `pkg/util/metadata`).

use std::collections::BTreeMap;

pub const NAME: &str = "app.kubernetes.io/name";
pub const INSTANCE: &str = "app.kubernetes.io/instance";
pub const COMPONENT: &str = "app.kubernetes.io/component";
pub const PART_OF: &str = "app.kubernetes.io/part-of";
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// The value of [`MANAGED_BY`] on everything the operator (or render) makes.
pub const MANAGED_BY_OPERATOR: &str = "multigres-operator";

pub const CLUSTER: &str = "multigres.com/cluster";
pub const DATABASE: &str = "multigres.com/database";
pub const TABLE_GROUP: &str = "multigres.com/tablegroup";
pub const SHARD: &str = "multigres.com/shard";
pub const POOL: &str = "multigres.com/pool";
pub const CELL: &str = "multigres.com/cell";
pub const ZONE_ID: &str = "multigres.com/zone-id";
pub const REGION: &str = "multigres.com/region";

/// Set by users on a MultigresCluster; copied to Cells, TableGroups, Shards.
pub const PROJECT_REF: &str = "multigres.com/project-ref";

/// Node labels that place a cell's pods.
pub const NODE_ZONE_ID: &str = "topology.k8s.aws/zone-id";
pub const NODE_REGION: &str = "topology.kubernetes.io/region";

/// Pod label of a TopoServer's own etcd pods (see `manifests::topo::build`).
pub const TOPO_SERVER: &str = "multigres.com/toposerver";

/// Annotations of a pool pod: the hash of its spec, and of the
/// restart-class and reload-class PostgreSQL settings it runs with.
pub const SPEC_HASH: &str = "multigres.com/spec-hash";
pub const CONFIG_HASH: &str = "multigres.com/postgres-config-hash";
pub const RELOAD_HASH: &str = "multigres.com/postgres-reload-hash";

/// On a MultigresCluster: the component images it runs, JSON, or the JSON
/// string `"fully-pinned"` (the full mode records it; runtime spec §7.7).
pub const APPLIED_IMAGES: &str = "multigres.com/applied-images";

/// Argo CD's per-object sync and compare options.
pub const ARGOCD_SYNC_OPTIONS: &str = "argocd.argoproj.io/sync-options";
pub const ARGOCD_COMPARE_OPTIONS: &str = "argocd.argoproj.io/compare-options";

/// `config.kubernetes.io/local-config: "true"`: tools read the object but
/// never apply it.
pub const LOCAL_CONFIG: &str = "config.kubernetes.io/local-config";

/// Where a KRM function's item is written in its package (kpt and
/// kustomize), and the legacy forms that older orchestrators read.
pub const KRM_PATH: &str = "internal.config.kubernetes.io/path";
pub const KRM_INDEX: &str = "internal.config.kubernetes.io/index";
pub const KRM_LEGACY_PATH: &str = "config.kubernetes.io/path";
pub const KRM_LEGACY_INDEX: &str = "config.kubernetes.io/index";

pub type Labels = BTreeMap<String, String>;

/// The five standard labels of a component of cluster `cluster`.
pub fn standard(cluster: &str, component: &str) -> Labels {
    Labels::from([
        (NAME.into(), "multigres".into()),
        (INSTANCE.into(), cluster.into()),
        (COMPONENT.into(), component.into()),
        (PART_OF.into(), "multigres".into()),
        (MANAGED_BY.into(), MANAGED_BY_OPERATOR.into()),
    ])
}

/// Adds `key: value` pairs to a label set.
pub fn with(mut labels: Labels, extra: &[(&str, &str)]) -> Labels {
    for (key, value) in extra {
        labels.insert((*key).into(), (*value).into());
    }
    labels
}

/// The labels selectors may use: the identity subset of a label set.
pub fn selector(labels: &Labels) -> Labels {
    const ALLOWED: [&str; 8] = [
        COMPONENT,
        INSTANCE,
        CLUSTER,
        DATABASE,
        TABLE_GROUP,
        SHARD,
        POOL,
        CELL,
    ];
    labels
        .iter()
        .filter(|(k, _)| ALLOWED.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// `MergeLabels(standard, custom)`: custom first, operator labels win.
pub fn merge(standard: &Labels, custom: &Labels) -> Labels {
    let mut merged = custom.clone();
    merged.extend(standard.iter().map(|(k, v)| (k.clone(), v.clone())));
    merged
}

/// Node labels of a cell: its zone ID, else its region.
pub fn cell_topology(zone_id: Option<&str>, region: Option<&str>) -> Option<Labels> {
    match (zone_id, region) {
        (Some(zone), _) => Some(Labels::from([(NODE_ZONE_ID.into(), zone.into())])),
        (None, Some(region)) => Some(Labels::from([(NODE_REGION.into(), region.into())])),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selector_keeps_identity_labels_only() {
        let labels = with(
            standard("c", "shard-pool"),
            &[(POOL, "main"), (ZONE_ID, "z")],
        );
        let selected = selector(&labels);
        assert_eq!(selected.len(), 3);
        assert_eq!(selected[POOL], "main");
        assert!(!selected.contains_key(NAME));
    }

    #[test]
    fn operator_labels_win() {
        let custom = Labels::from([
            (COMPONENT.to_owned(), "mine".to_owned()),
            ("team".to_owned(), "db".to_owned()),
        ]);
        let merged = merge(&standard("c", "multigateway"), &custom);
        assert_eq!(merged[COMPONENT], "multigateway");
        assert_eq!(merged["team"], "db");
    }
}
