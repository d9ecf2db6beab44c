//! Pool pods and their data volumes (upstream's shard controller,
//! `pkg/resource-handler/controller/shard`, and its rolling update). These
//! are runtime objects: the in-cluster reconciler creates and replaces them;
//! `render --preview-runtime` shows them for review.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    ConfigMapVolumeSource, Container, EnvVar, EnvVarSource, KeyToPath,
    PersistentVolumeClaimVolumeSource, Pod, PodSecurityContext, PodSpec, ProjectedVolumeSource,
    SecretKeySelector, SecretProjection, SecretVolumeSource, SecurityContext, Volume, VolumeMount,
    VolumeProjection,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::Value;

use super::cluster::log_level;
use super::otel::{Otel, Resource};
use super::shard::{
    EXPORTER_PORT, POOLER_GRPC, POOLER_HTTP, POSTGRES_PORT, ShardContext, config_map_names,
};
use super::topo::{pull_policy, pull_secrets};
use super::{
    BuildError, Built, built, config_map_volume, empty_dir_volume, env, internal_tls_name,
    keep_annotations, mount, probes, secret_volume, tcp_port, volume_claim,
};
use crate::api::Shard;
use crate::api::children::ShardSpec;
use crate::api::common::{BackupConfig, BackupType, PoolSpec, PvcDeletionPolicy, PvcRetention};
use crate::labels;
use crate::names::pooler_service_id;

pub const PGCTLD_HTTP: i32 = 15400;
pub const PGCTLD_GRPC: i32 = 15470;
pub const PGBACKREST_PORT: i32 = 8432;
const TERMINATION_GRACE_SECONDS: i64 = 30;
const POOL_STORAGE_FALLBACK: &str = "1Gi";
/// The user (and group) of the default images.
const DEFAULT_IMAGE_USER: i64 = 999;

const PGDATA_DIR: &str = "/var/lib/pooler";
const PASSWORD_DIR: &str = "/etc/postgres-password";
const CERT_DIR: &str = "/certs/pgbackrest";
const CIPHER_DIR: &str = "/secrets/pgbackrest-cipher";
const TLS_DIR: &str = "/etc/multigres/tls";

/// What a pool pod depends on besides the Shard.
#[derive(Debug, Clone, Copy)]
pub struct PodInputs<'a> {
    /// Restart and reload hashes of the shard's rendered postgresql.conf.
    pub config_hash: &'a str,
    pub reload_hash: &'a str,
    pub exporter_image: &'a str,
    /// The operator's `OTEL_*` environment (empty when rendering).
    pub otel_fallback: &'a BTreeMap<String, String>,
}

/// Pod `index` of `pool` in `cell`, and its data volume.
pub fn build(
    shard: &Shard,
    pool_name: &str,
    cell: &str,
    index: u32,
    inputs: &PodInputs<'_>,
) -> Result<Option<[Built; 2]>, BuildError> {
    let ctx = ShardContext::new(shard)?;
    let Some(pool) = shard.spec.pools.get(pool_name) else {
        return Ok(None);
    };
    let names = ctx.names();
    let id = ctx.id();
    let pod_name = names.pool_pod(&id, pool_name, cell, index);
    let pvc_name = names.pool_data_pvc(&id, pool_name, cell, index);
    let labels = ctx.pool_labels(pool_name, cell);

    let pod = pod(&ctx, pool, pool_name, cell, &pod_name, &pvc_name, inputs);
    let mut pod_value = built(&pod, &pod.metadata);
    let hash = spec_hash(&pod_value.value["spec"], inputs.config_hash);
    if let Some(annotations) = pod_value
        .value
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
    {
        annotations.insert(labels::SPEC_HASH.into(), Value::String(hash));
    }

    // Effective policy: the pool's, else the shard's (already merged from
    // table group and cluster). Without Delete, the volume outlives its pod
    // and must never be pruned by a GitOps tool.
    let policy = PvcDeletionPolicy::merged(
        pool.pvc_deletion_policy.as_ref(),
        shard.spec.pvc_deletion_policy.as_ref(),
    );
    let mut annotations = runtime_annotations();
    if policy.and_then(|p| p.when_deleted) != Some(PvcRetention::Delete) {
        keep_annotations(&mut annotations);
    }
    let metadata = ObjectMeta {
        name: Some(pvc_name),
        namespace: Some(ctx.namespace.clone()),
        labels: Some(labels::with(labels, &[(labels::CLUSTER, &ctx.cluster)])),
        annotations: Some(annotations),
        ..Default::default()
    };
    let pvc = volume_claim(metadata, &pool.storage, POOL_STORAGE_FALLBACK);
    Ok(Some([pod_value, pvc]))
}

/// Every runtime object carries these: Argo CD must neither prune them nor
/// report them as extraneous, whatever its tracking method.
fn runtime_annotations() -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            labels::ARGOCD_SYNC_OPTIONS.to_owned(),
            "Prune=false".to_owned(),
        ),
        (
            labels::ARGOCD_COMPARE_OPTIONS.to_owned(),
            "IgnoreExtraneous".to_owned(),
        ),
    ])
}

/// What the containers and volumes of one pool pod are drawn from.
struct PoolPod<'a> {
    ctx: &'a ShardContext<'a>,
    spec: &'a ShardSpec,
    pool: &'a PoolSpec,
    cell: &'a str,
    name: &'a str,
    inputs: &'a PodInputs<'a>,
    otel: Otel<'a>,
    superuser: String,
    /// The Secret of the pgBackRest cipher key, when backups are encrypted.
    cipher_secret: Option<String>,
}

fn pod(
    ctx: &ShardContext<'_>,
    pool: &PoolSpec,
    pool_name: &str,
    cell: &str,
    pod_name: &str,
    pvc_name: &str,
    inputs: &PodInputs<'_>,
) -> Pod {
    let spec = &ctx.shard.spec;
    let parts = PoolPod {
        ctx,
        spec,
        pool,
        cell,
        name: pod_name,
        inputs,
        otel: ctx.otel(inputs.otel_fallback),
        superuser: spec
            .postgres_superuser
            .clone()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| "postgres".into()),
        cipher_secret: spec
            .backup
            .as_ref()
            .and_then(|b| b.encryption.as_ref())
            .map(|e| e.secret_name.clone()),
    };
    let names = ctx.names();
    Pod {
        metadata: ObjectMeta {
            name: Some(pod_name.into()),
            namespace: Some(ctx.namespace.clone()),
            labels: Some(ctx.pool_labels(pool_name, cell)),
            annotations: Some(parts.annotations()),
            ..Default::default()
        },
        spec: Some(PodSpec {
            security_context: pool.fs_group.map(|fs_group| PodSecurityContext {
                fs_group: Some(fs_group),
                ..Default::default()
            }),
            termination_grace_period_seconds: Some(TERMINATION_GRACE_SECONDS),
            hostname: Some(pod_name.into()),
            subdomain: Some(names.pool_headless_service(&ctx.id(), pool_name, cell)),
            node_selector: spec.cell_topology_labels.get(cell).cloned(),
            affinity: pool.affinity.clone(),
            tolerations: (!pool.tolerations.is_empty()).then(|| pool.tolerations.clone()),
            service_account_name: parts
                .backup()
                .and_then(|b| b.s3.as_ref())
                .and_then(|s3| s3.service_account_name.clone())
                .filter(|sa| !sa.is_empty()),
            image_pull_secrets: pull_secrets(&spec.images.pull),
            init_containers: Some(vec![parts.pgctld()]),
            containers: vec![parts.multipooler(), parts.exporter()],
            volumes: Some(parts.volumes(pvc_name)),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The volumes pgctld and the pooler both mount, read-write.
fn data_mounts() -> Vec<VolumeMount> {
    vec![
        mount("pgdata", PGDATA_DIR, false),
        mount("backup-data", "/backups", false),
        mount("socket-dir", "/var/run/postgresql", false),
    ]
}

impl PoolPod<'_> {
    fn backup(&self) -> Option<&BackupConfig> {
        self.spec.backup.as_ref()
    }

    /// Runtime annotations, Prometheus scraping of the exporter, and the
    /// configuration hashes that restart or reload PostgreSQL.
    fn annotations(&self) -> BTreeMap<String, String> {
        let mut annotations = runtime_annotations();
        annotations.insert(labels::PROJECT_REF.into(), self.ctx.project.clone());
        annotations.insert("prometheus.io/scrape".into(), "true".into());
        annotations.insert("prometheus.io/port".into(), EXPORTER_PORT.to_string());
        annotations.insert("prometheus.io/path".into(), "/metrics".into());
        annotations.insert(labels::CONFIG_HASH.into(), self.inputs.config_hash.into());
        annotations.insert(labels::RELOAD_HASH.into(), self.inputs.reload_hash.into());
        annotations
    }

    /// Where PostgreSQL's data and superuser password are.
    fn postgres_env(&self) -> Vec<EnvVar> {
        vec![
            env("PGDATA", format!("{PGDATA_DIR}/pg_data")),
            env("POSTGRES_USER", self.superuser.as_str()),
            env("POSTGRES_PASSWORD_FILE", format!("{PASSWORD_DIR}/password")),
        ]
    }

    fn otel_env(&self, component: &str) -> Vec<EnvVar> {
        self.otel.env(Some(Resource {
            project: &self.ctx.project,
            cluster: &self.ctx.cluster,
            component,
        }))
    }

    /// pgctld, which runs PostgreSQL: a native sidecar, so that it outlives
    /// the pooler at shutdown.
    fn pgctld(&self) -> Container {
        let spec = self.spec;
        let mut vars = self.postgres_env();
        if let Some(args) = spec.initdb_args.as_deref().filter(|a| !a.is_empty()) {
            vars.push(env("POSTGRES_INITDB_ARGS", args));
        }
        vars.push(env(
            "POSTGRES_INITDB_EXTRA_CONF",
            "/etc/pgctld/postgres-config/postgresql.conf",
        ));
        vars.extend(s3_env(self.backup()));
        vars.extend(self.otel_env("pgctld"));
        let mut mounts = data_mounts();
        mounts.push(mount("pg-hba-template", "/etc/pgctld", true));
        mounts.push(mount("postgres-password", PASSWORD_DIR, true));
        mounts.push(mount(
            "postgres-config",
            "/etc/pgctld/postgres-config",
            true,
        ));
        if self.backup().is_some() {
            mounts.push(mount("pgbackrest-certs", CERT_DIR, true));
        }
        mounts.extend(self.otel.mount());
        let image = spec.images.postgres.clone();
        let postgres = &self.pool.postgres;
        let mut container = Container {
            name: "postgres".into(),
            image: Some(image.clone()),
            image_pull_policy: pull_policy(&spec.images.pull),
            restart_policy: Some("Always".into()),
            command: Some(vec!["/usr/local/bin/pgctld".into()]),
            args: Some(self.pgctld_args()),
            env: Some(vars),
            volume_mounts: Some(mounts),
            resources: postgres.resources.clone(),
            security_context: Some(non_root(
                postgres.run_as_user,
                postgres.run_as_group,
                is_default_image(&image, crate::images::Component::Postgres),
            )),
            ..Default::default()
        };
        probes(&mut container, PGCTLD_HTTP, "/live", "/live", "/live");
        container
    }

    fn pgctld_args(&self) -> Vec<String> {
        let mut args = vec![
            "server".to_owned(),
            format!("--pooler-dir={PGDATA_DIR}"),
            format!("--grpc-port={PGCTLD_GRPC}"),
            format!("--pg-port={POSTGRES_PORT}"),
            "--pg-listen-addresses=*".into(),
            format!("--log-level={}", log_level(self.spec.log_levels.pgctld)),
            format!("--grpc-socket-file={PGDATA_DIR}/pgctld.sock"),
            "--pg-hba-template=/etc/pgctld/pg_hba_template.conf".into(),
            format!("--http-port={PGCTLD_HTTP}"),
        ];
        if self.backup().is_some() {
            args.push(format!("--pgbackrest-cert-dir={CERT_DIR}"));
            args.push(format!("--pgbackrest-port={PGBACKREST_PORT}"));
        }
        args
    }

    fn multipooler(&self) -> Container {
        let spec = self.spec;
        let internal_tls = self.ctx.internal_tls();
        let mut vars = self.postgres_env();
        vars.extend(s3_env(self.backup()));
        vars.extend(self.otel_env("multipooler"));
        let mut mounts = data_mounts();
        mounts.push(mount("postgres-password", PASSWORD_DIR, true));
        if self.backup().is_some() {
            mounts.push(mount("pgbackrest-certs", CERT_DIR, true));
        }
        if self.cipher_secret.is_some() {
            mounts.push(mount("pgbackrest-cipher", CIPHER_DIR, true));
        }
        if internal_tls {
            mounts.push(mount("tls-certs", TLS_DIR, true));
        }
        mounts.extend(self.otel.mount());
        let image = spec.images.multipooler.clone();
        let pool = self.pool;
        let mut container = Container {
            name: "multipooler".into(),
            image: Some(image.clone()),
            image_pull_policy: pull_policy(&spec.images.pull),
            args: Some(self.multipooler_args(internal_tls)),
            ports: Some(vec![
                tcp_port("http", POOLER_HTTP),
                tcp_port("grpc", POOLER_GRPC),
                tcp_port("postgres", POSTGRES_PORT),
            ]),
            env: Some(vars),
            volume_mounts: Some(mounts),
            resources: pool.multipooler.resources.clone(),
            security_context: Some(non_root(
                pool.multipooler.run_as_user.or(pool.postgres.run_as_user),
                pool.multipooler.run_as_group,
                is_default_image(&image, crate::images::Component::Multipooler),
            )),
            ..Default::default()
        };
        probes(&mut container, POOLER_HTTP, "/live", "/live", "/live");
        container
    }

    fn multipooler_args(&self, internal_tls: bool) -> Vec<String> {
        let spec = self.spec;
        let mut args = vec![
            "multipooler".to_owned(),
            format!("--http-port={POOLER_HTTP}"),
            format!("--grpc-port={POOLER_GRPC}"),
            format!("--pooler-dir={PGDATA_DIR}"),
            format!("--socket-file={PGDATA_DIR}/pg_sockets/.s.PGSQL.{POSTGRES_PORT}"),
            "--service-map=grpc-pooler".into(),
            format!(
                "--topo-global-server-addresses={}",
                spec.global_topo_server.address
            ),
            format!("--topo-global-root={}", spec.global_topo_server.root_path),
            format!("--cell={}", self.cell),
            format!("--database={}", spec.database_name),
            format!("--table-group={}", spec.table_group_name),
            format!("--shard={}", spec.shard_name),
            format!("--service-id={}", pooler_service_id(self.name)),
            format!("--pgctld-addr=localhost:{PGCTLD_GRPC}"),
            format!("--pg-port={POSTGRES_PORT}"),
            "--connpool-global-capacity=40".into(),
            "--connpool-admin-capacity=5".into(),
            format!("--log-level={}", log_level(spec.log_levels.multipooler)),
        ];
        if self.backup().is_some() {
            args.push(format!("--pgbackrest-cert-file={CERT_DIR}/pgbackrest.crt"));
            args.push(format!("--pgbackrest-key-file={CERT_DIR}/pgbackrest.key"));
            args.push(format!("--pgbackrest-ca-file={CERT_DIR}/ca.crt"));
        }
        if internal_tls {
            for (flag, file) in [
                ("--grpc-cert", "tls.crt"),
                ("--grpc-key", "tls.key"),
                ("--grpc-ca", "ca.crt"),
                ("--grpc-server-ca", "ca.crt"),
            ] {
                args.push(flag.into());
                args.push(format!("{TLS_DIR}/{file}"));
            }
        }
        if self.cipher_secret.is_some() {
            args.push(format!(
                "--pgbackrest-cipher-key-file={CIPHER_DIR}/keys.json"
            ));
        }
        args
    }

    fn exporter(&self) -> Container {
        Container {
            name: "postgres-exporter".into(),
            image: Some(self.inputs.exporter_image.into()),
            image_pull_policy: pull_policy(&self.spec.images.pull),
            args: Some(vec![
                format!("--web.listen-address=:{EXPORTER_PORT}"),
                "--extend.query-path=/etc/postgres-exporter/queries.yml".into(),
            ]),
            ports: Some(vec![tcp_port("metrics", EXPORTER_PORT)]),
            env: Some(vec![
                env(
                    "DATA_SOURCE_URI",
                    format!(
                        "localhost:{POSTGRES_PORT}/postgres?sslmode=disable&connect_timeout=5&options=-c%20statement_timeout%3D8s"
                    ),
                ),
                env("DATA_SOURCE_USER", self.superuser.clone()),
                env("DATA_SOURCE_PASS_FILE", format!("{PASSWORD_DIR}/password")),
            ]),
            volume_mounts: Some(vec![
                mount("postgres-password", PASSWORD_DIR, true),
                mount("postgres-exporter-queries", "/etc/postgres-exporter", true),
            ]),
            security_context: Some(non_root(
                Some(DEFAULT_IMAGE_USER),
                Some(DEFAULT_IMAGE_USER),
                false,
            )),
            ..Default::default()
        }
    }

    fn volumes(&self, pvc_name: &str) -> Vec<Volume> {
        let ctx = self.ctx;
        let spec = self.spec;
        let backup = self.backup();
        let [pg_hba, postgres_config, exporter_queries] = config_map_names(&ctx.name);
        let backup_data = match backup.map(|b| b.backup_type) {
            Some(BackupType::Filesystem) => {
                claim_volume("backup-data", ctx.names().backup_pvc(&ctx.id()))
            }
            _ => empty_dir_volume("backup-data"),
        };
        let mut volumes = vec![
            claim_volume("pgdata", pvc_name.into()),
            backup_data,
            empty_dir_volume("socket-dir"),
            config_map_volume("pg-hba-template", &pg_hba),
            Volume {
                name: "postgres-password".into(),
                secret: Some(SecretVolumeSource {
                    secret_name: Some(spec.postgres_password_secret_ref.name.clone()),
                    default_mode: Some(0o444),
                    items: Some(vec![key_to_path(
                        &spec.postgres_password_secret_ref.key,
                        "password",
                    )]),
                    ..Default::default()
                }),
                ..Default::default()
            },
            Volume {
                name: "postgres-config".into(),
                config_map: Some(ConfigMapVolumeSource {
                    name: postgres_config,
                    items: Some(vec![key_to_path("postgresql.conf", "postgresql.conf")]),
                    ..Default::default()
                }),
                ..Default::default()
            },
            config_map_volume("postgres-exporter-queries", &exporter_queries),
        ];
        if let Some(backup) = backup {
            volumes.push(pgbackrest_certs(&ctx.name, backup));
        }
        if let Some(secret) = &self.cipher_secret {
            volumes.push(secret_volume("pgbackrest-cipher", secret));
        }
        if ctx.internal_tls() {
            volumes.push(secret_volume(
                "tls-certs",
                &internal_tls_name("multipooler", &ctx.cluster, &ctx.namespace),
            ));
        }
        volumes.extend(self.otel.volume());
        volumes
    }
}

fn claim_volume(name: &str, claim: String) -> Volume {
    Volume {
        name: name.into(),
        persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
            claim_name: claim,
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn key_to_path(key: &str, path: &str) -> KeyToPath {
    KeyToPath {
        key: key.into(),
        path: path.into(),
        ..Default::default()
    }
}

/// The pgBackRest certificates: the user's Secret, or the two Secrets the
/// reconciler generates.
fn pgbackrest_certs(shard_name: &str, backup: &BackupConfig) -> Volume {
    let projection = |secret: String, items: Vec<KeyToPath>| VolumeProjection {
        secret: Some(SecretProjection {
            name: secret,
            items: Some(items),
            ..Default::default()
        }),
        ..Default::default()
    };
    let leaf = || {
        vec![
            key_to_path("tls.crt", "pgbackrest.crt"),
            key_to_path("tls.key", "pgbackrest.key"),
        ]
    };
    let user_secret = backup
        .pgbackrest_tls
        .as_ref()
        .and_then(|t| t.secret_name.clone())
        .filter(|s| !s.is_empty());
    let sources = match user_secret {
        Some(secret) => {
            let mut items = vec![key_to_path("ca.crt", "ca.crt")];
            items.extend(leaf());
            vec![projection(secret, items)]
        }
        None => vec![
            projection(
                format!("{shard_name}-pgbackrest-ca"),
                vec![key_to_path("ca.crt", "ca.crt")],
            ),
            projection(format!("{shard_name}-pgbackrest-tls"), leaf()),
        ],
    };
    Volume {
        name: "pgbackrest-certs".into(),
        projected: Some(ProjectedVolumeSource {
            default_mode: Some(0o440),
            sources: Some(sources),
        }),
        ..Default::default()
    }
}

fn s3_env(backup: Option<&BackupConfig>) -> Vec<EnvVar> {
    let Some(s3) = backup
        .filter(|b| b.backup_type == BackupType::S3)
        .and_then(|b| b.s3.as_ref())
    else {
        return Vec::new();
    };
    let mut vars = Vec::new();
    if !s3.region.is_empty() {
        vars.push(env("AWS_REGION", s3.region.clone()));
    }
    if let Some(secret) = s3.credentials_secret.as_deref().filter(|s| !s.is_empty()) {
        for key in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] {
            vars.push(EnvVar {
                name: key.into(),
                value_from: Some(EnvVarSource {
                    secret_key_ref: Some(SecretKeySelector {
                        name: secret.into(),
                        key: key.into(),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            });
        }
    }
    vars
}

/// `runAsNonRoot`, with the given user and group; the default images run as
/// 999:999, which fills what is unset.
fn non_root(user: Option<i64>, group: Option<i64>, default_image: bool) -> SecurityContext {
    let fallback = default_image.then_some(DEFAULT_IMAGE_USER);
    SecurityContext {
        run_as_non_root: Some(true),
        run_as_user: user.or(fallback),
        run_as_group: group.or(fallback),
        ..Default::default()
    }
}

/// Whether `image` is the default image of `component`, whatever its tag.
/// Upstream compares the whole reference, so pinning another tag of the same
/// image drops the 999 defaults (its quirk §8.11).
fn is_default_image(image: &str, component: crate::images::Component) -> bool {
    fn repository(image: &str) -> &str {
        let without_digest = image.split('@').next().unwrap_or(image);
        match without_digest.rfind(':') {
            Some(i) if !without_digest[i..].contains('/') => &without_digest[..i],
            _ => without_digest,
        }
    }
    repository(image) == repository(component.default_image())
}

/// The pod spec-hash: FNV-1a 32 over the parts of §5.6, each followed by a
/// newline. The JSON parts use our serialisation (sorted keys), so the hash
/// differs from upstream's (docs/compatibility.md).
pub fn spec_hash(spec: &Value, config_hash: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    let json = |v: &Value| serde_json::to_string(v).unwrap_or_default();
    let containers = spec["initContainers"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(spec["containers"].as_array().into_iter().flatten());
    for c in containers {
        parts.push(format!("name={}", c["name"].as_str().unwrap_or("")));
        parts.push(format!("image={}", c["image"].as_str().unwrap_or("")));
        for cmd in c["command"].as_array().into_iter().flatten() {
            parts.push(format!("cmd={}", cmd.as_str().unwrap_or("")));
        }
        for arg in c["args"].as_array().into_iter().flatten() {
            parts.push(format!("arg={}", arg.as_str().unwrap_or("")));
        }
        for e in c["env"].as_array().into_iter().flatten() {
            let name = e["name"].as_str().unwrap_or("");
            parts.push(format!("env={name}={}", e["value"].as_str().unwrap_or("")));
            if let Some(from) = e.get("valueFrom") {
                parts.push(format!("envValFrom={name}={}", json(from)));
            }
        }
        for from in c["envFrom"].as_array().into_iter().flatten() {
            parts.push(format!("envFromSrc={}", json(from)));
        }
        parts.push(format!(
            "res={}",
            json(
                c.get("resources")
                    .unwrap_or(&Value::Object(Default::default()))
            )
        ));
        for m in c["volumeMounts"].as_array().into_iter().flatten() {
            parts.push(format!("vm={}", json(m)));
        }
        if let Some(sc) = c.get("securityContext") {
            parts.push(format!("sc={}", json(sc)));
        }
    }
    for v in spec["volumes"].as_array().into_iter().flatten() {
        parts.push(json(v));
    }
    if let Some(affinity) = spec.get("affinity") {
        parts.push(json(affinity));
    }
    if let Some(tolerations) = spec
        .get("tolerations")
        .filter(|t| t.as_array().is_some_and(|a| !a.is_empty()))
    {
        parts.push(json(tolerations));
    }
    if let Some(selector) = spec.get("nodeSelector").and_then(Value::as_object) {
        parts.push(
            selector
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect(),
        );
    }
    parts.push(format!("tgp={TERMINATION_GRACE_SECONDS}"));
    if let Some(sa) = spec.get("serviceAccountName").and_then(Value::as_str) {
        parts.push(format!("sa={sa}"));
    }
    if let Some(sc) = spec.get("securityContext") {
        parts.push(format!("podsc={}", json(sc)));
    }
    if !config_hash.is_empty() {
        parts.push(format!("pgcfg={config_hash}"));
    }
    let mut stream = String::new();
    for part in parts {
        stream.push_str(&part);
        stream.push('\n');
    }
    crate::names::hash(&[&stream])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_image_ignores_the_tag() {
        use crate::images::Component::Postgres;
        assert!(is_default_image(
            "ghcr.io/multigres/pgctld:sha-66d2310",
            Postgres
        ));
        assert!(is_default_image(
            "ghcr.io/multigres/pgctld:sha-1234567",
            Postgres
        ));
        assert!(is_default_image(
            "ghcr.io/multigres/pgctld@sha256:abcd",
            Postgres
        ));
        assert!(!is_default_image(
            "registry.example:5000/pgctld:1",
            Postgres
        ));
    }
}
