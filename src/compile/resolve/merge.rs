//! The merge rules of upstream's `pkg/resolver`, each recording which fields the
//! overlay supplied.

use k8s_openapi::api::core::v1::ResourceRequirements;

use crate::api::common::*;
use crate::compile::provenance::Recorder;

/// Upstream replaces a stateless `resources` block when any of requests,
/// limits or claims is given (an explicit `{}` counts as unset).
fn resources_given(resources: &Option<ResourceRequirements>) -> bool {
    resources
        .as_ref()
        .is_some_and(|r| r.requests.is_some() || r.limits.is_some() || r.claims.is_some())
}

/// Pools and etcd replace `resources` when it is not zero (something inside).
pub fn resources_non_zero(resources: &Option<ResourceRequirements>) -> bool {
    resources.as_ref().is_some_and(|r| {
        r.requests.as_ref().is_some_and(|m| !m.is_empty())
            || r.limits.as_ref().is_some_and(|m| !m.is_empty())
            || r.claims.as_ref().is_some_and(|c| !c.is_empty())
    })
}

macro_rules! take_some {
    ($dst:expr, $src:expr, $rec:expr, $($field:ident => $key:literal),+ $(,)?) => {
        $(if $src.$field.is_some() {
            $dst.$field = $src.$field.clone();
            $rec.set($key);
        })+
    };
}

pub fn stateless(dst: &mut StatelessSpec, src: &StatelessSpec, rec: &mut Recorder<'_>) {
    take_some!(dst, src, rec, replicas => "replicas");
    if resources_given(&src.resources) {
        dst.resources = src.resources.clone();
        rec.set("resources");
    }
    take_some!(dst, src, rec, affinity => "affinity");
    for (key, value) in &src.pod_annotations {
        dst.pod_annotations.insert(key.clone(), value.clone());
        rec.field("podAnnotations").set(key);
    }
    for (key, value) in &src.pod_labels {
        dst.pod_labels.insert(key.clone(), value.clone());
        rec.field("podLabels").set(key);
    }
}

pub fn gateway(dst: &mut MultigatewaySpec, src: &MultigatewaySpec, rec: &mut Recorder<'_>) {
    stateless(&mut dst.stateless, &src.stateless, rec);
    if let Some(src_buffer) = &src.buffer {
        let buffer = dst.buffer.get_or_insert_with(Default::default);
        let mut rec = rec.field("buffer");
        take_some!(buffer, src_buffer, rec,
            enabled => "enabled",
            window => "window",
            max_failover_duration => "maxFailoverDuration",
            min_time_between_failovers => "minTimeBetweenFailovers",
            size => "size",
            drain_concurrency => "drainConcurrency",
        );
    }
}

pub fn multiorch(dst: &mut MultiorchSpec, src: &MultiorchSpec, rec: &mut Recorder<'_>) {
    stateless(&mut dst.stateless, &src.stateless, rec);
    take_some!(dst, src, rec, placement => "placement");
    if !src.cells.is_empty() {
        dst.cells = src.cells.clone();
        rec.set("cells");
    }
}

fn storage(dst: &mut StorageSpec, src: &StorageSpec, rec: &mut Recorder<'_>) {
    let mut rec = rec.field("storage");
    take_some!(dst, src, rec, size => "size", class => "class");
    if !src.access_modes.is_empty() {
        dst.access_modes = src.access_modes.clone();
        rec.set("accessModes");
    }
}

fn container(dst: &mut ContainerConfig, src: &ContainerConfig, rec: &mut Recorder<'_>) {
    if resources_non_zero(&src.resources) {
        dst.resources = src.resources.clone();
        rec.set("resources");
    }
    take_some!(dst, src, rec, run_as_user => "runAsUser", run_as_group => "runAsGroup");
}

pub fn pool(dst: &mut PoolSpec, src: &PoolSpec, rec: &mut Recorder<'_>) {
    take_some!(dst, src, rec, pool_type => "type");
    if !src.cells.is_empty() {
        dst.cells = src.cells.clone();
        rec.set("cells");
    }
    take_some!(dst, src, rec, replicas_per_cell => "replicasPerCell");
    storage(&mut dst.storage, &src.storage, rec);
    container(&mut dst.postgres, &src.postgres, &mut rec.field("postgres"));
    container(
        &mut dst.multipooler,
        &src.multipooler,
        &mut rec.field("multipooler"),
    );
    take_some!(dst, src, rec, affinity => "affinity");
    if !src.tolerations.is_empty() {
        dst.tolerations = src.tolerations.clone();
        rec.set("tolerations");
    }
    take_some!(dst, src, rec, fs_group => "fsGroup", pvc_deletion_policy => "pvcDeletionPolicy");
}

pub fn etcd(dst: &mut EtcdSpec, src: &EtcdSpec, rec: &mut Recorder<'_>) {
    take_some!(dst, src, rec, image => "image", root_path => "rootPath", replicas => "replicas");
    storage(&mut dst.storage, &src.storage, rec);
    if resources_non_zero(&src.resources) {
        dst.resources = src.resources.clone();
        rec.set("resources");
    }
    take_some!(dst, src, rec, pvc_deletion_policy => "pvcDeletionPolicy");
}

/// `MergePVCDeletionPolicy(child, parent)`: [`PvcDeletionPolicy::merged`].
pub fn pvc_policy(
    child: Option<&PvcDeletionPolicy>,
    parent: Option<&PvcDeletionPolicy>,
) -> Option<PvcDeletionPolicy> {
    PvcDeletionPolicy::merged(child, parent)
}

/// `MergeBackupConfig(child, parent)`, child wins (§2.7). Returns the merged
/// config and whether the child replaced the parent entirely.
pub fn backup(child: Option<&BackupConfig>, parent: Option<&BackupConfig>) -> Option<BackupConfig> {
    let (child, parent) = match (child, parent) {
        (None, None) => return None,
        (None, Some(parent)) => return Some(parent.clone()),
        (Some(child), None) => return Some(child.clone()),
        (Some(child), Some(parent)) => (child, parent),
    };
    if child.backup_type != parent.backup_type {
        return Some(child.clone());
    }
    let mut merged = parent.clone();
    match merged.backup_type {
        BackupType::Filesystem => {
            let fs = merged.filesystem.get_or_insert_with(Default::default);
            if let Some(src) = &child.filesystem {
                if src.path.is_some() {
                    fs.path = src.path.clone();
                }
                if src.storage.size.is_some() {
                    fs.storage.size = src.storage.size.clone();
                }
                if src.storage.class.is_some() {
                    fs.storage.class = src.storage.class.clone();
                }
                if !src.storage.access_modes.is_empty() {
                    fs.storage.access_modes = src.storage.access_modes.clone();
                }
            }
        }
        BackupType::S3 => {
            let s3 = merged.s3.get_or_insert_with(Default::default);
            if let Some(src) = &child.s3 {
                if !src.bucket.is_empty() {
                    s3.bucket = src.bucket.clone();
                }
                if !src.region.is_empty() {
                    s3.region = src.region.clone();
                }
                for (dst, from) in [
                    (&mut s3.endpoint, &src.endpoint),
                    (&mut s3.key_prefix, &src.key_prefix),
                    (&mut s3.credentials_secret, &src.credentials_secret),
                    (&mut s3.service_account_name, &src.service_account_name),
                ] {
                    if from.as_deref().is_some_and(|v| !v.is_empty()) {
                        dst.clone_from(from);
                    }
                }
                // Always the child's: a child `false` overrides a parent `true`.
                s3.use_env_credentials = src.use_env_credentials;
            }
        }
    }
    if child.pgbackrest_tls.is_some() {
        merged.pgbackrest_tls = child.pgbackrest_tls.clone();
    }
    if child.encryption.is_some() {
        merged.encryption = child.encryption.clone();
    }
    Some(merged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::provenance::{Layer, Provenance, Source};
    use std::collections::BTreeMap;

    fn quantity(s: &str) -> k8s_openapi::apimachinery::pkg::api::resource::Quantity {
        k8s_openapi::apimachinery::pkg::api::resource::Quantity(s.into())
    }

    #[test]
    fn stateless_rules() {
        let mut dst = StatelessSpec {
            replicas: Some(2),
            resources: Some(ResourceRequirements {
                requests: Some(BTreeMap::from([("cpu".into(), quantity("1"))])),
                limits: Some(BTreeMap::from([("memory".into(), quantity("1Gi"))])),
                ..Default::default()
            }),
            pod_labels: BTreeMap::from([("a".into(), "1".into()), ("b".into(), "1".into())]),
            ..Default::default()
        };
        let src = StatelessSpec {
            resources: Some(ResourceRequirements {
                requests: Some(BTreeMap::from([("cpu".into(), quantity("2"))])),
                ..Default::default()
            }),
            pod_labels: BTreeMap::from([("b".into(), "2".into())]),
            ..Default::default()
        };
        let mut prov = Provenance::default();
        stateless(
            &mut dst,
            &src,
            &mut Recorder::new(&mut prov, "", Source::new(Layer::Override, None)),
        );
        assert_eq!(dst.replicas, Some(2));
        // The whole resources block is replaced: the limit is gone.
        assert!(dst.resources.as_ref().unwrap().limits.is_none());
        assert_eq!(dst.pod_labels["a"], "1");
        assert_eq!(dst.pod_labels["b"], "2");
        assert_eq!(
            prov.lookup("/resources/requests/cpu").unwrap().layer,
            Layer::Override
        );
        assert!(prov.lookup("/replicas").is_none());
        // An explicit empty block counts as unset.
        let empty = StatelessSpec {
            resources: Some(ResourceRequirements::default()),
            ..Default::default()
        };
        stateless(
            &mut dst,
            &empty,
            &mut Recorder::new(&mut prov, "", Source::built_in()),
        );
        assert!(dst.resources.as_ref().unwrap().requests.is_some());
    }

    #[test]
    fn backup_rules() {
        let fs = |path: &str, size: Option<&str>| BackupConfig {
            backup_type: BackupType::Filesystem,
            filesystem: Some(FilesystemBackupConfig {
                path: Some(path.into()),
                storage: StorageSpec {
                    size: size.map(Into::into),
                    ..Default::default()
                },
            }),
            s3: None,
            pgbackrest_tls: None,
            encryption: None,
        };
        let merged = backup(Some(&fs("/b", None)), Some(&fs("/a", Some("5Gi")))).unwrap();
        let merged_fs = merged.filesystem.unwrap();
        assert_eq!(merged_fs.path.as_deref(), Some("/b"));
        assert_eq!(merged_fs.storage.size.as_deref(), Some("5Gi"));
        let s3 = BackupConfig {
            backup_type: BackupType::S3,
            filesystem: None,
            s3: Some(S3BackupConfig {
                bucket: "b".into(),
                region: "r".into(),
                ..Default::default()
            }),
            pgbackrest_tls: None,
            encryption: None,
        };
        assert_eq!(backup(Some(&s3), Some(&fs("/a", None))), Some(s3.clone()));
        let mut parent = s3.clone();
        parent.s3.as_mut().unwrap().use_env_credentials = Some(true);
        let merged = backup(Some(&s3), Some(&parent)).unwrap();
        assert_eq!(merged.s3.unwrap().use_env_credentials, None);
    }

    #[test]
    fn pvc_policy_rules() {
        use PvcRetention::*;
        let p = |d, s| PvcDeletionPolicy {
            when_deleted: d,
            when_scaled: s,
        };
        assert_eq!(
            pvc_policy(None, Some(&p(Some(Delete), None))),
            Some(p(Some(Delete), None))
        );
        assert_eq!(
            pvc_policy(
                Some(&p(None, Some(Retain))),
                Some(&p(Some(Delete), Some(Delete)))
            ),
            Some(p(Some(Delete), Some(Retain)))
        );
        assert_eq!(pvc_policy(Some(&p(None, None)), None), None);
    }
}
