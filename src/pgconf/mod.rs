//! The generated PostgreSQL configuration of a shard: `postgresql.conf`, its
//! restart and reload hashes, the `pg_hba` template and the
//! postgres_exporter queries.
//!
//! This reproduces upstream's `pkg/postgresconfig` and the shard controller's
//! `renderPostgresConfig` (github.com/multigres/multigres-operator at commit
//! 39a7efc):
//!
//! 1. **Sizing** ([`ResourceBasis::from_pools`],
//!    [`TemplateValues::apply_resource_sizing`]): the pools' postgres memory,
//!    CPU and storage are reduced to one basis, from which the size-sensitive
//!    settings are derived (`ApplyResourceSizing`).
//! 2. **Layering** ([`render_layers`]): the baseline template, then the
//!    deprecated `postgresConfigRef` body, then the inline
//!    `spec.postgresConfig` map. PostgreSQL applies later lines last, so each
//!    layer overrides the ones before it.
//! 3. **Stamping** ([`stamp_and_split`]): the effective settings are split
//!    into restart-class and reload-class partitions, each partition is
//!    hashed, and the reload-hash is appended as a marker setting
//!    (`StampAndSplit`).
//!
//! The restart-hash becomes the pod annotation
//! `multigres.com/postgres-config-hash` (folded into the pod spec-hash, so a
//! change recreates pods); the reload-hash becomes
//! `multigres.com/postgres-reload-hash` (a change is applied by a reload).
//!
//! One deliberate difference: upstream's settings catalog lost PostgreSQL's
//! mixed-case settings (`TimeZone`, `DateStyle`, `IntervalStyle`), so it
//! classifies the baseline's `timezone = 'UTC'` as restart-class.
//! [`requires_restart`] uses the crate's catalog, which knows them (context
//! `user`, so reload). The hashes therefore differ from upstream's for every
//! shard; [`upstream_requires_restart`] reproduces upstream's classification
//! for anyone who needs upstream's exact hashes (pass it to [`render_with`]).
//!
//! Everything here is pure: no I/O, and no panic on any input.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::OnceLock;

use minijinja::{AutoEscape, Environment, UndefinedBehavior, context};
use sha2::{Digest, Sha256};

pub mod settings;

use crate::units::quantity;
use settings as pgconfig;

/// The baseline `postgresql.conf` template (upstream's
/// `pkg/postgresconfig/templates/postgresql.conf.tmpl`, tabs included).
const POSTGRESQL_CONF_TEMPLATE: &str = include_str!("../../templates/postgresql.conf.j2");
/// Upstream's `pg_hba_template.conf`, verbatim.
const PG_HBA_TEMPLATE: &str = include_str!("../../templates/pg_hba_template.conf.j2");
/// Upstream's `postgres_exporter_queries.yml`, verbatim.
const EXPORTER_QUERIES_TEMPLATE: &str =
    include_str!("../../templates/postgres_exporter_queries.yml.j2");

/// Name of the synthetic setting that carries the reload-hash in the rendered
/// file and in [`RenderedConfig::reload_settings`] (upstream's
/// `ReloadMarkerGUC`).
///
/// It lets the multipooler verify a reload even when a change only removes a
/// reload-class setting: a stale (not yet synced) file still carries the old
/// marker value. Being namespaced, PostgreSQL accepts it as a placeholder.
pub const RELOAD_MARKER_KEY: &str = "multigres.config_reload_marker";

/// ConfigMap `<shard>-postgres-config` key holding the rendered file.
pub const CONFIG_FILE_NAME: &str = "postgresql.conf";

const KIB: i128 = 1 << 10;
const MIB: i128 = 1 << 20;
const GIB: i128 = 1 << 30;

/// Below this many whole cores the worker settings keep their baseline.
const PARALLEL_WORKER_CPU_THRESHOLD: i64 = 4;
/// `maintenance_work_mem` never exceeds 2 GiB.
const MAINTENANCE_WORK_MEM_CAP: i128 = 2 * GIB;
/// `max_wal_size` (and `max_slot_wal_keep_size`) never exceed this, in MB.
const MAX_WAL_SIZE_CAP_MB: i64 = 4096;
/// PostgreSQL's default WAL segment size, in MB (the WAL floors derive from
/// it).
const WAL_SEGMENT_MB: i64 = 16;

/// The resources of one pool's postgres container and its data volume, as
/// Kubernetes quantity strings (`"512Mi"`, `"100m"`, `"1Gi"`); `None` when
/// unset.
///
/// A string that is not a valid quantity counts as unset (the API server
/// would have rejected it; the compiler reports it elsewhere).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolSizing<'a> {
    /// `postgres.resources.limits.memory`.
    pub memory_limit: Option<&'a str>,
    /// `postgres.resources.requests.memory`.
    pub memory_request: Option<&'a str>,
    /// `postgres.resources.limits.cpu`.
    pub cpu_limit: Option<&'a str>,
    /// `postgres.resources.requests.cpu`.
    pub cpu_request: Option<&'a str>,
    /// `storage.size` of the pool's data volume.
    pub storage_size: Option<&'a str>,
}

/// Everything the `postgresql.conf` of one shard depends on.
#[derive(Debug, Clone, Copy)]
pub struct ShardConfigInput<'a> {
    /// The MultigresCluster name (upstream reads the Shard's
    /// `multigres.com/cluster` label).
    pub cluster: &'a str,
    /// `spec.databaseName` of the Shard.
    pub database: &'a str,
    /// `spec.tableGroupName` of the Shard.
    pub table_group: &'a str,
    /// `spec.shardName` of the Shard (e.g. `0-inf`).
    pub shard: &'a str,
    /// `metadata.name` of the Shard: the `cluster_name` when the four parts
    /// above are all empty.
    pub shard_object_name: &'a str,
    /// Every pool of the shard: one file serves every pod of the shard, so
    /// the sizing basis is reduced over all of them.
    pub pools: &'a [PoolSizing<'a>],
    /// The merged `postgresConfig` map (template, overrides, inline).
    pub postgres_config: &'a BTreeMap<String, String>,
    /// The body of the deprecated `postgresConfigRef` ConfigMap key, when the
    /// reference is set. (A missing ConfigMap or key is the caller's error to
    /// report; upstream fails the reconcile.)
    pub postgres_config_ref_body: Option<&'a str>,
}

/// The shard's rendered `postgresql.conf` and what the rollout machinery
/// needs from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedConfig {
    /// The file content, marker line included.
    pub text: String,
    /// SHA-256 (lower-case hex) of the restart-class settings: the
    /// `multigres.com/postgres-config-hash` annotation.
    pub restart_hash: String,
    /// SHA-256 (lower-case hex) of the reload-class settings, marker excluded:
    /// the `multigres.com/postgres-reload-hash` annotation and the marker's
    /// value.
    pub reload_hash: String,
    /// The reload-class settings with their unquoted values, plus the marker:
    /// the `expected_settings` of the multipooler `ReloadConfig` call.
    pub reload_settings: BTreeMap<String, String>,
}

/// The sizing basis of a shard (upstream's `reduceShardResources`). A zero
/// field leaves the settings it drives at their baseline.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResourceBasis {
    /// Largest postgres memory (limit, else request) over the pools, bytes.
    pub memory_bytes: i64,
    /// Largest postgres CPU (limit, else request) over the pools, millicores.
    pub cpu_millicores: i64,
    /// Smallest positive `storage.size` over the pools, bytes.
    pub disk_bytes: i64,
}

impl ResourceBasis {
    /// Reduces the pools as upstream does: memory and CPU take the maximum,
    /// so settings that must agree between primary and replicas fit every
    /// pod; disk takes the minimum positive size, so WAL budgeting never
    /// overfills the smallest volume.
    ///
    /// For memory and CPU, a non-zero limit is used, else a non-zero request
    /// (upstream's `effectiveResource`). Memory rounds up to whole bytes and
    /// CPU to whole millicores (Go's `Value()` and `MilliValue()`). Values
    /// that do not parse, or do not fit in an `i64`, count as unset.
    pub fn from_pools(pools: &[PoolSizing<'_>]) -> ResourceBasis {
        let mut basis = ResourceBasis::default();
        for pool in pools {
            let memory =
                effective_quantity(pool.memory_limit, pool.memory_request).and_then(|q| q.value());
            if let Some(bytes) = memory {
                basis.memory_bytes = basis.memory_bytes.max(bytes);
            }
            let cpu =
                effective_quantity(pool.cpu_limit, pool.cpu_request).and_then(|q| q.milli_value());
            if let Some(millis) = cpu {
                basis.cpu_millicores = basis.cpu_millicores.max(millis);
            }
            let disk = pool
                .storage_size
                .and_then(|s| quantity::parse(s).ok())
                .and_then(|q| q.value());
            if let Some(bytes) = disk
                && bytes > 0
                && (basis.disk_bytes == 0 || bytes < basis.disk_bytes)
            {
                basis.disk_bytes = bytes;
            }
        }
        basis
    }
}

/// The limit when it parses and is non-zero, else the request under the same
/// condition (upstream's `effectiveResource`).
fn effective_quantity(limit: Option<&str>, request: Option<&str>) -> Option<quantity::Quantity> {
    [limit, request]
        .into_iter()
        .flatten()
        .filter_map(|s| quantity::parse(s).ok())
        .find(|q| !q.is_zero())
}

/// The 21 variables of the baseline template (upstream's `Config`).
///
/// Sizes are PostgreSQL size strings (`128MB`, `2184kB`).
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateValues {
    pub max_connections: i64,
    pub shared_buffers: String,
    pub maintenance_work_mem: String,
    pub work_mem: String,
    pub max_worker_processes: i64,
    pub effective_io_concurrency: i64,
    pub max_parallel_workers: i64,
    pub max_parallel_workers_per_gather: i64,
    pub max_parallel_maintenance_workers: i64,
    pub wal_buffers: String,
    pub min_wal_size: String,
    pub max_wal_size: String,
    pub wal_keep_size: String,
    pub max_slot_wal_keep_size: String,
    /// Printed as Go's `%v` prints a `float64`.
    pub checkpoint_completion_target: f64,
    pub max_wal_senders: i64,
    pub max_replication_slots: i64,
    pub effective_cache_size: String,
    /// Printed as Go's `%v` prints a `float64`.
    pub random_page_cost: f64,
    pub default_statistics_target: i64,
    /// Written single-quoted, without escaping (upstream's names never hold
    /// a quote).
    pub cluster_name: String,
}

impl Default for TemplateValues {
    fn default() -> Self {
        TemplateValues::baseline()
    }
}

impl TemplateValues {
    /// The unsized baseline (upstream's `Defaults()`), tuned for a small
    /// instance; `cluster_name` is the placeholder `default`, which a shard
    /// always replaces.
    pub fn baseline() -> TemplateValues {
        TemplateValues {
            max_connections: 60,
            shared_buffers: "64MB".into(),
            maintenance_work_mem: "16MB".into(),
            work_mem: "1092kB".into(),
            max_worker_processes: 6,
            effective_io_concurrency: 0,
            max_parallel_workers: 2,
            max_parallel_workers_per_gather: 1,
            max_parallel_maintenance_workers: 1,
            wal_buffers: "1920kB".into(),
            min_wal_size: "80MB".into(),
            max_wal_size: "1024MB".into(),
            wal_keep_size: "1000MB".into(),
            max_slot_wal_keep_size: "1024MB".into(),
            checkpoint_completion_target: 0.9,
            max_wal_senders: 25,
            max_replication_slots: 25,
            effective_cache_size: "192MB".into(),
            random_page_cost: 1.1,
            default_statistics_target: 100,
            cluster_name: "default".into(),
        }
    }

    /// The baseline with the shard's `cluster_name` and sizing applied.
    pub fn for_shard(input: &ShardConfigInput<'_>) -> TemplateValues {
        let mut values = TemplateValues::baseline();
        values.cluster_name = cluster_name(
            input.cluster,
            input.database,
            input.table_group,
            input.shard,
            input.shard_object_name,
        );
        values.apply_resource_sizing(ResourceBasis::from_pools(input.pools));
        values
    }

    /// Derives the size-sensitive settings from `basis` (upstream's
    /// `ApplyResourceSizing`), in upstream's order: CPU first (it sets
    /// `max_parallel_workers_per_gather`, which `work_mem` divides by), then
    /// memory, then disk. A zero (or negative) input leaves its settings
    /// alone. Divisions are integer divisions, as in Go.
    ///
    /// The memory arithmetic runs in `i128`, so it cannot overflow; Go's
    /// `int64` would wrap only above about 3 EiB of memory.
    pub fn apply_resource_sizing(&mut self, basis: ResourceBasis) {
        if basis.cpu_millicores > 0 {
            let cores = basis.cpu_millicores / 1000;
            if cores >= PARALLEL_WORKER_CPU_THRESHOLD {
                self.max_worker_processes = cores;
                self.max_parallel_workers = cores;
                self.max_parallel_workers_per_gather = cores / 2;
                self.max_parallel_maintenance_workers = (cores / 2).min(4);
            }
        }

        if basis.memory_bytes > 0 {
            let mem = i128::from(basis.memory_bytes);
            let shared = mem / 4;
            self.shared_buffers = format_bytes(shared);
            self.effective_cache_size = format_bytes(mem * 3 / 4);
            self.maintenance_work_mem = format_bytes((mem / 16).min(MAINTENANCE_WORK_MEM_CAP));
            self.wal_buffers = format_bytes((shared * 3 / 100).clamp(32 * KIB, 16 * MIB));
            let parallel = i128::from(self.max_parallel_workers_per_gather.max(1));
            let conns = i128::from(self.max_connections.max(1));
            self.work_mem = format_bytes(((mem - shared) / (conns * 3) / parallel).max(64 * KIB));
        }

        if basis.disk_bytes > 0 {
            // Upstream's deriveWalSettings with a 16 MB segment: the floors
            // keep at least two (min) and four (max) segments.
            let vol_mb = basis.disk_bytes / (1 << 20);
            let max_wal_floor = 64.max(4 * WAL_SEGMENT_MB);
            let min_wal_floor = 32.max(2 * WAL_SEGMENT_MB);
            let max_wal = (vol_mb / 4).clamp(max_wal_floor, MAX_WAL_SIZE_CAP_MB);
            let min_wal = (max_wal / 4).clamp(min_wal_floor, 1024.max(min_wal_floor));
            let keep = (vol_mb / 8).clamp(32.max(WAL_SEGMENT_MB), 1000.max(WAL_SEGMENT_MB));
            self.min_wal_size = format!("{min_wal}MB");
            self.max_wal_size = format!("{max_wal}MB");
            self.wal_keep_size = format!("{keep}MB");
            self.max_slot_wal_keep_size = format!("{max_wal}MB");
        }
    }

    /// The baseline template rendered with these values (upstream's
    /// template execution), ending in one newline.
    pub fn render_baseline(&self) -> String {
        let ctx = context! {
            max_connections => self.max_connections,
            shared_buffers => &self.shared_buffers,
            maintenance_work_mem => &self.maintenance_work_mem,
            work_mem => &self.work_mem,
            max_worker_processes => self.max_worker_processes,
            effective_io_concurrency => self.effective_io_concurrency,
            max_parallel_workers => self.max_parallel_workers,
            max_parallel_workers_per_gather => self.max_parallel_workers_per_gather,
            max_parallel_maintenance_workers => self.max_parallel_maintenance_workers,
            wal_buffers => &self.wal_buffers,
            min_wal_size => &self.min_wal_size,
            max_wal_size => &self.max_wal_size,
            wal_keep_size => &self.wal_keep_size,
            max_slot_wal_keep_size => &self.max_slot_wal_keep_size,
            checkpoint_completion_target => go_float_v(self.checkpoint_completion_target),
            max_wal_senders => self.max_wal_senders,
            max_replication_slots => self.max_replication_slots,
            effective_cache_size => &self.effective_cache_size,
            random_page_cost => go_float_v(self.random_page_cost),
            default_statistics_target => self.default_statistics_target,
            cluster_name => &self.cluster_name,
        };
        render_embedded(POSTGRESQL_CONF, ctx)
    }
}

/// A byte count as a PostgreSQL size (upstream's `formatBytes`): whole kB
/// (sub-kB remainders truncated), printed in the largest of GB, MB, kB that
/// divides it exactly; `0kB` when under 1 kB.
pub fn format_bytes(bytes: i128) -> String {
    let kb = bytes / KIB;
    if kb <= 0 {
        "0kB".into()
    } else if kb % (KIB * KIB) == 0 {
        format!("{}GB", kb / (KIB * KIB))
    } else if kb % KIB == 0 {
        format!("{}MB", kb / KIB)
    } else {
        format!("{kb}kB")
    }
}

/// A `float64` as Go's `fmt` `%v` prints it: the shortest representation
/// that round-trips, in exponent form (`1e-05`, `1e+21`) when the decimal
/// exponent is below -4 or at least 21.
fn go_float_v(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let sci = format!("{f:e}");
    let Some((mantissa, exponent)) = sci.split_once('e') else {
        return f.to_string();
    };
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if f == 0.0 || (-4..21).contains(&exponent) {
        return f.to_string();
    }
    let sign = if exponent < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exponent.unsigned_abs())
}

/// The `cluster_name` of a shard (upstream's `shardClusterName`):
/// `cluster/database/table_group/shard` with empty parts dropped, or the
/// Shard object's name when all four are empty. It names the shard in
/// PostgreSQL process titles and logs.
pub fn cluster_name(
    cluster: &str,
    database: &str,
    table_group: &str,
    shard: &str,
    shard_object_name: &str,
) -> String {
    let parts: Vec<&str> = [cluster, database, table_group, shard]
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect();
    if parts.is_empty() {
        shard_object_name.to_owned()
    } else {
        parts.join("/")
    }
}

/// The file before stamping (upstream's `Render`): the baseline, then, if
/// the `postgresConfigRef` body is non-empty once its trailing newlines are
/// removed, a blank line, `# postgresConfigRef` and that body; then, if
/// `inline` is non-empty, a blank line, `# spec.postgresConfig` and one
/// `key = '<value>'` line per key in sorted order, each `'` in the value
/// doubled.
///
/// Later lines win in PostgreSQL, so the ref overrides the baseline
/// (including the sizing) and the inline map overrides both.
pub fn render_layers(
    values: &TemplateValues,
    ref_body: Option<&str>,
    inline: &BTreeMap<String, String>,
) -> String {
    let mut out = values.render_baseline();
    let ref_body = ref_body.unwrap_or("").trim_end_matches('\n');
    if !ref_body.is_empty() {
        out.push_str("\n# postgresConfigRef\n");
        out.push_str(ref_body);
        out.push('\n');
    }
    if !inline.is_empty() {
        out.push_str("\n# spec.postgresConfig\n");
        for (key, value) in inline {
            let _ = writeln!(out, "{key} = '{}'", value.replace('\'', "''"));
        }
    }
    out
}

/// The setting a postgresql.conf line sets, if it sets one: the name before
/// `=` or blank space, skipping blank lines and `#` comments (PostgreSQL's
/// configuration syntax; `include` lines come out as the name `include`).
pub fn setting_name(line: &str) -> Option<&str> {
    let line = line.trim_start();
    let end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '$' | '-')))
        .unwrap_or(line.len());
    Some(&line[..end]).filter(|name| !name.is_empty())
}

/// Whether changing setting `name` needs a PostgreSQL restart rather than a
/// reload (upstream's `RequiresRestart`, with the crate's catalog):
///
/// * a namespaced name (`pg_stat_statements.max`, `cron.database_name`)
///   cannot be looked up, so it is restart-class;
/// * a catalog setting with context `postmaster` or `internal` (or no
///   context) is restart-class, any other context is reload-class;
/// * an unknown name is restart-class.
///
/// Restart is the conservative answer: a needless restart is disruptive, a
/// reload of a restart-only setting silently does nothing.
///
/// Unlike upstream, `TimeZone`, `DateStyle` and `IntervalStyle` (any case)
/// are known, context `user`: reload-class.
pub fn requires_restart(name: &str) -> bool {
    let name = name.trim();
    if name.contains('.') {
        return true;
    }
    pgconfig::lookup(name).is_none_or(|setting| setting.requires_restart())
}

/// [`requires_restart`] as upstream (commit 39a7efc) answers it: its
/// catalog lacks the three mixed-case settings, so `timezone`, `datestyle`
/// and `intervalstyle` are unknown and hence restart-class.
///
/// Only for reproducing upstream's hashes (for example to compare with pods
/// annotated by the Go operator).
pub fn upstream_requires_restart(name: &str) -> bool {
    let lowered = name.trim().to_ascii_lowercase();
    if matches!(lowered.as_str(), "timezone" | "datestyle" | "intervalstyle") {
        return true;
    }
    requires_restart(&lowered)
}

/// Hashes and stamps a rendered file (upstream's `StampAndSplit`).
///
/// 1. The effective settings: lines are trimmed; blank lines and lines
///    starting with `#` are skipped, as are lines without `=`; the key is the
///    trimmed, lower-cased text before the first `=`; the value is the rest
///    with any `# …` comment outside single quotes removed (`''` inside quotes
///    is an escaped quote), trimmed, and unquoted (`'…'` loses its quotes and
///    each inner `''` becomes `'`). A repeated key takes its last value, as
///    in PostgreSQL.
/// 2. Each key goes to the restart or the reload partition by
///    `requires_restart`.
/// 3. Each partition is hashed: SHA-256 over `key=value\n` in sorted key
///    order (an empty partition hashes the empty input).
/// 4. The marker `multigres.config_reload_marker = '<reload hash>'` is
///    appended after a blank line and a comment, and added to the reload
///    settings. It is stamped after hashing, so it never feeds a hash.
///
/// Parsing before hashing makes a cosmetic edit (comment, order, spacing)
/// move neither hash.
pub fn stamp_and_split(rendered: &str, requires_restart: impl Fn(&str) -> bool) -> RenderedConfig {
    let mut restart = BTreeMap::new();
    let mut reload = BTreeMap::new();
    for (key, value) in effective_settings(rendered) {
        let value = unquote(&value);
        if requires_restart(&key) {
            restart.insert(key, value);
        } else {
            reload.insert(key, value);
        }
    }
    let restart_hash = hash_settings(&restart);
    let reload_hash = hash_settings(&reload);
    reload.insert(RELOAD_MARKER_KEY.to_owned(), reload_hash.clone());
    let mut text = String::with_capacity(rendered.len() + 140);
    text.push_str(rendered);
    text.push_str("\n# Operator-managed config-version marker; do not edit.\n");
    let _ = writeln!(text, "{RELOAD_MARKER_KEY} = '{reload_hash}'");
    RenderedConfig {
        text,
        restart_hash,
        reload_hash,
        reload_settings: reload,
    }
}

/// Upstream's `parseEffectiveConfig`: values still quoted.
fn effective_settings(rendered: &str) -> BTreeMap<String, String> {
    let mut settings = BTreeMap::new();
    for line in rendered.split('\n') {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        // Per-character lower-casing, like Go's strings.ToLower.
        let key: String = key.trim().chars().flat_map(char::to_lowercase).collect();
        if key.is_empty() {
            continue;
        }
        settings.insert(key, strip_inline_comment(value).trim().to_owned());
    }
    settings
}

/// Cuts a trailing `# …` comment that is outside single quotes.
fn strip_inline_comment(value: &str) -> &str {
    let bytes = value.as_bytes();
    let mut in_quote = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' => {
                if in_quote && bytes.get(i + 1) == Some(&b'\'') {
                    i += 2;
                    continue;
                }
                in_quote = !in_quote;
            }
            b'#' if !in_quote => return &value[..i],
            _ => {}
        }
        i += 1;
    }
    value
}

/// Undoes the quoting of [`render_layers`]: `'it''s'` becomes `it's`; an
/// unquoted token is returned trimmed.
fn unquote(value: &str) -> String {
    let value = value.trim();
    match value
        .strip_prefix('\'')
        .and_then(|rest| rest.strip_suffix('\''))
    {
        Some(inner) => inner.replace("''", "'"),
        None => value.to_owned(),
    }
}

/// SHA-256 hex over `key=value\n` in sorted key order.
fn hash_settings(settings: &BTreeMap<String, String>) -> String {
    let mut hasher = Sha256::new();
    for (key, value) in settings {
        hasher.update(key.as_bytes());
        hasher.update(b"=");
        hasher.update(value.as_bytes());
        hasher.update(b"\n");
    }
    let mut hex = String::with_capacity(64);
    for byte in hasher.finalize() {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

/// The shard's `postgresql.conf` with its hashes, classified by
/// [`requires_restart`].
/// The amount `key` (`memory`, `cpu`) of a resource list, as written.
fn quantity_text<'q>(
    amounts: Option<&'q BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>>,
    key: &str,
) -> Option<&'q str> {
    amounts.and_then(|m| m.get(key)).map(|q| q.0.as_str())
}

/// The configuration of `shard` as the API server stores it: sized from
/// its pools, named by its identity, from its merged `postgresConfig` and
/// the body of its `postgresConfigRef` (which the caller reads from the
/// ConfigMap). The compiler and the reconciler both build from this, so
/// they produce the same file and hashes from the same Shard.
pub fn render_for_shard(
    shard: &crate::api::Shard,
    reference_body: Option<&str>,
) -> Result<RenderedConfig, crate::manifests::BuildError> {
    let identity = crate::manifests::Identity::of("Shard", &shard.metadata)?;
    let spec = &shard.spec;
    let sizing: Vec<PoolSizing<'_>> = spec
        .pools
        .values()
        .map(|pool| {
            let resources = pool.postgres.resources.as_ref();
            let limits = resources.and_then(|r| r.limits.as_ref());
            let requests = resources.and_then(|r| r.requests.as_ref());
            PoolSizing {
                memory_limit: quantity_text(limits, "memory"),
                memory_request: quantity_text(requests, "memory"),
                cpu_limit: quantity_text(limits, "cpu"),
                cpu_request: quantity_text(requests, "cpu"),
                storage_size: pool.storage.size.as_deref(),
            }
        })
        .collect();
    Ok(render(&ShardConfigInput {
        cluster: &identity.cluster,
        database: &spec.database_name,
        table_group: &spec.table_group_name,
        shard: &spec.shard_name,
        shard_object_name: &identity.name,
        pools: &sizing,
        postgres_config: &spec.postgres_config,
        postgres_config_ref_body: reference_body,
    }))
}

pub fn render(input: &ShardConfigInput<'_>) -> RenderedConfig {
    render_with(input, requires_restart)
}

/// [`render`] with another classification, e.g.
/// [`upstream_requires_restart`] to reproduce upstream's hashes.
pub fn render_with(
    input: &ShardConfigInput<'_>,
    requires_restart: impl Fn(&str) -> bool,
) -> RenderedConfig {
    let values = TemplateValues::for_shard(input);
    let rendered = render_layers(
        &values,
        input.postgres_config_ref_body,
        input.postgres_config,
    );
    stamp_and_split(&rendered, requires_restart)
}

/// The content of ConfigMap `<shard>-pg-hba`, key `pg_hba_template.conf`:
/// upstream's fixed template, byte for byte (pgctld fills it in).
pub fn pg_hba_template() -> String {
    render_embedded(PG_HBA, context! {})
}

/// The content of ConfigMap `<shard>-exporter-queries`, key `queries.yml`:
/// upstream's postgres_exporter custom queries, byte for byte.
pub fn exporter_queries() -> String {
    render_embedded(EXPORTER_QUERIES, context! {})
}

const POSTGRESQL_CONF: &str = "postgresql.conf";
const PG_HBA: &str = "pg_hba_template.conf";
const EXPORTER_QUERIES: &str = "postgres_exporter_queries.yml";

/// The template environment: no escaping, the final newline kept (the files
/// end in one), and an undefined variable is an error rather than empty.
fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_keep_trailing_newline(true);
        env.set_auto_escape_callback(|_| AutoEscape::None);
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        for (name, source) in [
            (POSTGRESQL_CONF, POSTGRESQL_CONF_TEMPLATE),
            (PG_HBA, PG_HBA_TEMPLATE),
            (EXPORTER_QUERIES, EXPORTER_QUERIES_TEMPLATE),
        ] {
            if let Err(err) = env.add_template(name, source) {
                panic!("embedded template {name} does not parse: {err}");
            }
        }
        env
    })
}

/// Renders one embedded template. The templates are compile-time constants
/// and every value is a plain string or integer, so failure is a bug in this
/// module (caught by its tests), never a consequence of the input.
fn render_embedded(name: &str, ctx: minijinja::Value) -> String {
    match environment()
        .get_template(name)
        .and_then(|template| template.render(ctx))
    {
        Ok(text) => text,
        Err(err) => panic!("embedded template {name} failed to render: {err}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_bytes_picks_the_largest_exact_unit() {
        assert_eq!(format_bytes(0), "0kB");
        assert_eq!(format_bytes(1023), "0kB");
        assert_eq!(format_bytes(-5 * KIB), "0kB");
        assert_eq!(format_bytes(1536), "1kB");
        assert_eq!(format_bytes(2 * GIB), "2GB");
        assert_eq!(format_bytes(3 * MIB), "3MB");
        assert_eq!(format_bytes(3 * MIB + KIB), "3073kB");
    }

    #[test]
    fn go_float_v_matches_go() {
        assert_eq!(go_float_v(0.9), "0.9");
        assert_eq!(go_float_v(1.1), "1.1");
        assert_eq!(go_float_v(4.0), "4");
        assert_eq!(go_float_v(0.0), "0");
        assert_eq!(go_float_v(0.0001), "0.0001");
        assert_eq!(go_float_v(0.00001), "1e-05");
        assert_eq!(go_float_v(1.5e-7), "1.5e-07");
        assert_eq!(go_float_v(1e20), "100000000000000000000");
        assert_eq!(go_float_v(1e21), "1e+21");
        assert_eq!(go_float_v(-2.5e100), "-2.5e+100");
        assert_eq!(go_float_v(f64::INFINITY), "+Inf");
        assert_eq!(go_float_v(f64::NAN), "NaN");
    }

    #[test]
    fn strip_inline_comment_respects_quotes() {
        assert_eq!(strip_inline_comment(" 1min\t\t# 1s-600s"), " 1min\t\t");
        assert_eq!(strip_inline_comment(" 'a#b' # c"), " 'a#b' ");
        assert_eq!(strip_inline_comment(" 'it''s #1' # c"), " 'it''s #1' ");
        assert_eq!(
            strip_inline_comment(" 'open # never closed"),
            " 'open # never closed"
        );
    }

    #[test]
    fn unquote_undoes_quoting() {
        assert_eq!(unquote("'UTC'"), "UTC");
        assert_eq!(unquote("'it''s'"), "it's");
        assert_eq!(unquote("''"), "");
        assert_eq!(unquote("'"), "'");
        assert_eq!(unquote("60"), "60");
    }

    #[test]
    fn effective_settings_last_wins_and_lowercases() {
        let got = effective_settings("A = 1\n# b = 2\n  a = '3' # x\nnoequals\n = 4\nc=\n");
        let want: BTreeMap<String, String> = [("a", "'3'"), ("c", "")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn empty_partition_hashes_the_empty_input() {
        assert_eq!(
            hash_settings(&BTreeMap::new()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn classification() {
        assert!(requires_restart("shared_buffers"));
        assert!(requires_restart("Shared_Buffers"));
        assert!(!requires_restart("work_mem"));
        assert!(requires_restart("pg_stat_statements.max"));
        assert!(requires_restart("no_such_setting"));
        assert!(!requires_restart("timezone"));
        assert!(!requires_restart("TimeZone"));
        assert!(upstream_requires_restart("timezone"));
        assert!(upstream_requires_restart("DateStyle"));
        assert!(!upstream_requires_restart("work_mem"));
    }

    #[test]
    fn bad_quantities_count_as_unset() {
        let pools = [PoolSizing {
            memory_limit: Some("lots"),
            memory_request: Some("1Gi"),
            cpu_limit: Some("0"),
            cpu_request: Some("250m"),
            storage_size: Some("-1Gi"),
        }];
        assert_eq!(
            ResourceBasis::from_pools(&pools),
            ResourceBasis {
                memory_bytes: 1 << 30,
                cpu_millicores: 250,
                disk_bytes: 0,
            }
        );
    }
}
