//! The operator's built-in defaults (upstream's `pkg/resolver/defaults.go`
//! and `api/v1alpha1/image_defaults.go`).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

pub const GLOBAL_ROOT_PATH: &str = "/multigres/global";
pub const ETCD_REPLICAS: i32 = 3;
pub const ETCD_STORAGE_SIZE: &str = crate::manifests::topo::RESOLVED_ETCD_STORAGE;
/// Upstream reuses the etcd storage constant for pools.
pub const POOL_STORAGE_SIZE: &str = crate::manifests::topo::RESOLVED_ETCD_STORAGE;
pub const EXTERNAL_TOPO_IMPLEMENTATION: &str = "etcd";
pub const STATELESS_REPLICAS: i32 = 1;
pub const BACKUP_PATH: &str = "/backups";
pub const BACKUP_STORAGE_SIZE: &str = "10Gi";
pub const DURABILITY_POLICY: &str = "AT_LEAST_2";
pub const MULTI_CELL_DURABILITY_POLICY: &str = "MULTI_CELL_AT_LEAST_2";
pub const SYSTEM_DATABASE: &str = "postgres";
pub const DEFAULT_TABLE_GROUP: &str = "default";
pub const DEFAULT_SHARD: &str = "0-inf";
pub const DEFAULT_POOL: &str = "default";
pub const DEFAULT_TEMPLATE: &str = "default";
pub const POSTGRES_SUPERUSER: &str = "postgres";
/// Binary defaults of the gateway buffer, for the ordering check.
pub const BUFFER_WINDOW: &str = "10s";
pub const BUFFER_MAX_FAILOVER_DURATION: &str = "20s";

pub fn local_root_path(cell: &str) -> String {
    format!("/multigres/{cell}")
}

/// Requests of CPU and memory and a memory limit; the defaults set no CPU limit.
fn resources(cpu: &str, memory: &str, memory_limit: &str) -> ResourceRequirements {
    let quantity = |s: &str| Quantity(s.to_owned());
    ResourceRequirements {
        requests: Some(BTreeMap::from([
            ("cpu".to_owned(), quantity(cpu)),
            ("memory".to_owned(), quantity(memory)),
        ])),
        limits: Some(BTreeMap::from([(
            "memory".to_owned(),
            quantity(memory_limit),
        )])),
        claims: None,
    }
}

pub fn multiadmin_resources() -> ResourceRequirements {
    resources("100m", "128Mi", "256Mi")
}

pub fn multiadmin_web_resources() -> ResourceRequirements {
    resources("50m", "64Mi", "128Mi")
}

pub fn gateway_resources() -> ResourceRequirements {
    resources("100m", "128Mi", "256Mi")
}

pub fn multiorch_resources() -> ResourceRequirements {
    resources("50m", "64Mi", "128Mi")
}

pub fn etcd_resources() -> ResourceRequirements {
    resources("100m", "256Mi", "512Mi")
}

pub fn postgres_resources() -> ResourceRequirements {
    resources("100m", "256Mi", "512Mi")
}

pub fn multipooler_resources() -> ResourceRequirements {
    resources("100m", "128Mi", "256Mi")
}

/// Upstream applies a resources default only when requests, limits and
/// claims are all unset.
pub fn resources_unset(resources: &Option<ResourceRequirements>) -> bool {
    resources
        .as_ref()
        .is_none_or(|r| r.requests.is_none() && r.limits.is_none() && r.claims.is_none())
}
