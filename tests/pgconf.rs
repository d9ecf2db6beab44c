//! `multigres::pgconf` against upstream's vectors (`pkg/postgresconfig`: its
//! layering, sizing, reload/restart classes and hashes) and the behaviour the rollout machinery relies on.

use std::collections::BTreeMap;

use multigres::pgconf::{
    self, PoolSizing, RELOAD_MARKER_KEY, RenderedConfig, ResourceBasis, ShardConfigInput,
    TemplateValues,
};
use sha2::{Digest, Sha256};

/// Upstream's rendering (§7.3 of our notes on it) of the minimal shard's
/// `postgresql.conf` for `config/samples/minimal.yaml`, with the
/// upstream classification (marker included). Tabs are `\t`.
const MINIMAL_SECTION_7_3: &str = concat!(
    "# PostgreSQL configuration rendered by multigres-operator.\n",
    "# port, listen_addresses, unix_socket_directories, data_directory, hba_file and\n",
    "# ident_file are intentionally omitted: pgctld pins them via command-line args.\n",
    "\n",
    "#------------------------------------------------------------------------------\n",
    "# CONNECTIONS AND AUTHENTICATION\n",
    "#------------------------------------------------------------------------------\n",
    "\n",
    "max_connections = 60\n",
    "\n",
    "authentication_timeout = 1min\t\t# 1s-600s\n",
    "password_encryption = scram-sha-256\t# scram-sha-256 or md5\n",
    "\n",
    "# - SSL -\n",
    "ssl = off\n",
    "ssl_ca_file = ''\n",
    "ssl_cert_file = ''\n",
    "ssl_crl_file = ''\n",
    "ssl_crl_dir = ''\n",
    "ssl_key_file = ''\n",
    "ssl_ciphers = 'HIGH:MEDIUM:+3DES:!aNULL' # allowed SSL ciphers\n",
    "ssl_prefer_server_ciphers = on\n",
    "ssl_ecdh_curve = 'prime256v1'\n",
    "ssl_min_protocol_version = 'TLSv1.2'\n",
    "ssl_max_protocol_version = ''\n",
    "ssl_dh_params_file = ''\n",
    "ssl_passphrase_command = ''\n",
    "ssl_passphrase_command_supports_reload = off\n",
    "\n",
    "#------------------------------------------------------------------------------\n",
    "# RESOURCE USAGE (except WAL)\n",
    "#------------------------------------------------------------------------------\n",
    "\n",
    "# - Memory -\n",
    "shared_buffers = 128MB\t\t\t# min 128kB (change requires restart)\n",
    "maintenance_work_mem = 32MB\t\t# min 1MB\n",
    "work_mem = 2184kB\t\t\t\t# min 64kB\n",
    "\n",
    "# - Kernel Resources -\n",
    "max_worker_processes = 6\t\t# (change requires restart)\n",
    "\n",
    "# - Asynchronous Behavior -\n",
    "effective_io_concurrency = 0\t# 1-1000; 0 disables prefetching\n",
    "max_parallel_workers = 2\t\t# max number of parallel workers\n",
    "max_parallel_workers_per_gather = 1\n",
    "max_parallel_maintenance_workers = 1\n",
    "\n",
    "#------------------------------------------------------------------------------\n",
    "# WRITE-AHEAD LOG\n",
    "#------------------------------------------------------------------------------\n",
    "\n",
    "wal_level = logical\t\t\t# minimal, replica, or logical (change requires restart)\n",
    "wal_buffers = 3932kB\t\t\t# min 32kB (change requires restart)\n",
    "min_wal_size = 64MB\n",
    "max_wal_size = 256MB\n",
    "wal_keep_size = 128MB\n",
    "\n",
    "# - Checkpoints -\n",
    "checkpoint_completion_target = 0.9\t# 0.0 - 1.0\n",
    "checkpoint_flush_after = 256kB\t\t# measured in pages, 0 disables\n",
    "\n",
    "#------------------------------------------------------------------------------\n",
    "# REPLICATION\n",
    "#------------------------------------------------------------------------------\n",
    "\n",
    "max_wal_senders = 25\t\t# (change requires restart)\n",
    "max_replication_slots = 25\t# (change requires restart)\n",
    "# Protect the primary's disk; a logical consumer that exceeds this cap can\n",
    "# lose its slot at checkpoint and require resynchronization.\n",
    "max_slot_wal_keep_size = 256MB   # in megabytes; -1 disables\n",
    "\n",
    "#------------------------------------------------------------------------------\n",
    "# QUERY TUNING\n",
    "#------------------------------------------------------------------------------\n",
    "\n",
    "effective_cache_size = 384MB\n",
    "random_page_cost = 1.1\t\t\t# same scale as above\n",
    "default_statistics_target = 100\t# range 1-10000\n",
    "\n",
    "#------------------------------------------------------------------------------\n",
    "# REPORTING AND LOGGING\n",
    "#------------------------------------------------------------------------------\n",
    "\n",
    "log_line_prefix = '%h %m [%p] %q%u@%d '\n",
    "log_statement = 'ddl'\t\t\t# none, ddl, mod, all\n",
    "log_timezone = 'UTC'\n",
    "\n",
    "#------------------------------------------------------------------------------\n",
    "# PROCESS TITLE\n",
    "#------------------------------------------------------------------------------\n",
    "\n",
    "cluster_name = 'minimal/postgres/default/0-inf'\t\t# added to process titles if nonempty (change requires restart)\n",
    "\n",
    "#------------------------------------------------------------------------------\n",
    "# CLIENT CONNECTION DEFAULTS\n",
    "#------------------------------------------------------------------------------\n",
    "\n",
    "row_security = on\n",
    "timezone = 'UTC'\n",
    "lc_messages = 'en_US.UTF-8'\n",
    "lc_monetary = 'en_US.UTF-8'\n",
    "lc_numeric = 'en_US.UTF-8'\n",
    "lc_time = 'en_US.UTF-8'\n",
    "default_text_search_config = 'pg_catalog.english'\n",
    "jit_provider = 'llvmjit'\t\t# JIT library to use\n",
    "\n",
    "#------------------------------------------------------------------------------\n",
    "# CUSTOMIZED OPTIONS\n",
    "#------------------------------------------------------------------------------\n",
    "\n",
    "auto_explain.log_min_duration = 10s\n",
    "cron.database_name = 'postgres'\n",
    "wal_log_hints = 'on'\n",
    "\n",
    "# Operator-managed config-version marker; do not edit.\n",
    "multigres.config_reload_marker = 'd4076fe8effa0a788808619bc762a06a387e46001f9c505a01ee8645e80149b0'\n",
);

/// Upstream's hashes of the minimal shard (§7.3), recomputed independently.
const UPSTREAM_MINIMAL_RESTART: &str =
    "0e70cd9ce7522a934a5176968bf79138550b24989e0d2b1555e4a2923748cd47";
const UPSTREAM_MINIMAL_RELOAD: &str =
    "d4076fe8effa0a788808619bc762a06a387e46001f9c505a01ee8645e80149b0";
/// Upstream's hashes of the unsized baseline with `cluster_name = 'default'`.
const UPSTREAM_BASELINE_RESTART: &str =
    "2fda3268f9bed2516d63ab48932e1a1ef38b08458a396c6156b9466e3f1f0233";
const UPSTREAM_BASELINE_RELOAD: &str =
    "9290fbcd4cdee2b3cb12c620177a9a018404917607f124b8dc5fec21d656f127";
/// Our hashes of the minimal shard (`timezone` reload-class): regression
/// anchors, not upstream values.
const PRODUCTION_MINIMAL_RESTART: &str =
    "94ee17d81548b016a8f3909a393db2f1d84852ff3114b566d330239224b32adb";
const PRODUCTION_MINIMAL_RELOAD: &str =
    "64dad11b5ff606721b816567e524e857192ba416b6a92a6815707d079a63f177";

/// SHA-256 of upstream's `pg_hba_template.conf` and
/// `postgres_exporter_queries.yml` at 39a7efc.
const UPSTREAM_PG_HBA_SHA256: &str =
    "3e18e2ee0673cc2a45717e5ae333de253dfff2c58a2afb50aca0141be55145a0";
const UPSTREAM_EXPORTER_QUERIES_SHA256: &str =
    "d5ddb57bd190a944a7ed01e10ba48be8920c58d6ea9406d7157d0fdd5d033932";

const MARKER_COMMENT: &str = "\n# Operator-managed config-version marker; do not edit.\n";

fn minimal_pools() -> [PoolSizing<'static>; 1] {
    [PoolSizing {
        memory_limit: Some("512Mi"),
        memory_request: Some("256Mi"),
        cpu_limit: None,
        cpu_request: Some("100m"),
        storage_size: Some("1Gi"),
    }]
}

fn minimal_input<'a>(
    pools: &'a [PoolSizing<'a>],
    config: &'a BTreeMap<String, String>,
    ref_body: Option<&'a str>,
) -> ShardConfigInput<'a> {
    ShardConfigInput {
        cluster: "minimal",
        database: "postgres",
        table_group: "default",
        shard: "0-inf",
        shard_object_name: "minimal-postgres-default-0-inf-1e3c045c",
        pools,
        postgres_config: config,
        postgres_config_ref_body: ref_body,
    }
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn render(config: &BTreeMap<String, String>, ref_body: Option<&str>) -> RenderedConfig {
    let pools = minimal_pools();
    pgconf::render(&minimal_input(&pools, config, ref_body))
}

/// The text before the marker block, and the marker block.
fn split_marker(text: &str) -> (&str, &str) {
    let at = text
        .rfind(MARKER_COMMENT)
        .expect("the rendered text ends with the marker block");
    text.split_at(at)
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn minimal_shard_matches_section_7_3_with_upstream_classification() {
    let pools = minimal_pools();
    let empty = BTreeMap::new();
    let got = pgconf::render_with(
        &minimal_input(&pools, &empty, None),
        pgconf::upstream_requires_restart,
    );
    assert_eq!(got.restart_hash, UPSTREAM_MINIMAL_RESTART);
    assert_eq!(got.reload_hash, UPSTREAM_MINIMAL_RELOAD);
    assert_eq!(got.text, MINIMAL_SECTION_7_3);
    assert_eq!(
        got.reload_settings
            .get(RELOAD_MARKER_KEY)
            .map(String::as_str),
        Some(UPSTREAM_MINIMAL_RELOAD)
    );
    assert_eq!(
        got.reload_settings.get("timezone"),
        None,
        "upstream: restart"
    );
}

#[test]
fn minimal_shard_with_production_classification() {
    let got = render(&BTreeMap::new(), None);
    let (body, marker) = split_marker(&got.text);
    let (want_body, _) = split_marker(MINIMAL_SECTION_7_3);
    assert_eq!(body, want_body, "everything but the marker is §7.3");
    assert_eq!(
        marker,
        format!(
            "{MARKER_COMMENT}{RELOAD_MARKER_KEY} = '{}'\n",
            got.reload_hash
        )
    );

    // The fix over upstream: TimeZone is a `user` setting, applied by reload.
    assert_eq!(
        got.reload_settings.get("timezone").map(String::as_str),
        Some("UTC")
    );
    assert_ne!(got.restart_hash, UPSTREAM_MINIMAL_RESTART);
    assert_ne!(got.reload_hash, UPSTREAM_MINIMAL_RELOAD);
    assert_eq!(got.restart_hash, PRODUCTION_MINIMAL_RESTART);
    assert_eq!(got.reload_hash, PRODUCTION_MINIMAL_RELOAD);
    assert_eq!(
        got.reload_settings.get(RELOAD_MARKER_KEY),
        Some(&got.reload_hash)
    );
}

#[test]
fn unsized_baseline_matches_upstream_hashes() {
    let baseline = TemplateValues::baseline();
    assert_eq!(baseline.cluster_name, "default");
    let rendered = pgconf::render_layers(&baseline, None, &BTreeMap::new());
    let got = pgconf::stamp_and_split(&rendered, pgconf::upstream_requires_restart);
    assert_eq!(got.restart_hash, UPSTREAM_BASELINE_RESTART);
    assert_eq!(got.reload_hash, UPSTREAM_BASELINE_RELOAD);
    assert_eq!(
        got.text,
        format!("{rendered}{MARKER_COMMENT}{RELOAD_MARKER_KEY} = '{UPSTREAM_BASELINE_RELOAD}'\n")
    );

    // The same through a shard input with no pools and cluster_name `default`.
    let empty = BTreeMap::new();
    let input = ShardConfigInput {
        cluster: "default",
        database: "",
        table_group: "",
        shard: "",
        shard_object_name: "ignored",
        pools: &[],
        postgres_config: &empty,
        postgres_config_ref_body: None,
    };
    let via_input = pgconf::render_with(&input, pgconf::upstream_requires_restart);
    assert_eq!(via_input, got);
    assert_ne!(pgconf::render(&input).reload_hash, UPSTREAM_BASELINE_RELOAD);
}

#[test]
fn baseline_values_are_upstream_defaults() {
    let text = TemplateValues::baseline().render_baseline();
    for line in [
        "max_connections = 60\n",
        "shared_buffers = 64MB\t\t\t# min 128kB (change requires restart)\n",
        "maintenance_work_mem = 16MB\t\t# min 1MB\n",
        "work_mem = 1092kB\t\t\t\t# min 64kB\n",
        "effective_io_concurrency = 0\t# 1-1000; 0 disables prefetching\n",
        "wal_buffers = 1920kB\t\t\t# min 32kB (change requires restart)\n",
        "min_wal_size = 80MB\n",
        "max_wal_size = 1024MB\n",
        "wal_keep_size = 1000MB\n",
        "max_slot_wal_keep_size = 1024MB   # in megabytes; -1 disables\n",
        "checkpoint_completion_target = 0.9\t# 0.0 - 1.0\n",
        "effective_cache_size = 192MB\n",
        "random_page_cost = 1.1\t\t\t# same scale as above\n",
        "cluster_name = 'default'\t\t# added to process titles if nonempty (change requires restart)\n",
    ] {
        assert!(text.contains(line), "missing {line:?}");
    }
    assert!(text.starts_with("# PostgreSQL configuration rendered by multigres-operator.\n"));
    assert!(text.ends_with("wal_log_hints = 'on'\n"));
    assert!(!text.contains("{#") && !text.contains("Apache-2.0"));
}

/// One pool: memory limit, CPU limit, storage size.
fn sized(memory: &str, cpu: &str, disk: &str) -> TemplateValues {
    let pools = [PoolSizing {
        memory_limit: Some(memory),
        cpu_limit: Some(cpu),
        storage_size: Some(disk),
        ..PoolSizing::default()
    }];
    let empty = BTreeMap::new();
    TemplateValues::for_shard(&minimal_input(&pools, &empty, None))
}

#[allow(clippy::too_many_arguments)]
fn assert_row(
    v: &TemplateValues,
    shared_buffers: &str,
    effective_cache_size: &str,
    maintenance_work_mem: &str,
    work_mem: &str,
    wal_buffers: &str,
    workers: [i64; 4],
    wal: [&str; 4],
) {
    assert_eq!(v.shared_buffers, shared_buffers);
    assert_eq!(v.effective_cache_size, effective_cache_size);
    assert_eq!(v.maintenance_work_mem, maintenance_work_mem);
    assert_eq!(v.work_mem, work_mem);
    assert_eq!(v.wal_buffers, wal_buffers);
    assert_eq!(
        [
            v.max_worker_processes,
            v.max_parallel_workers,
            v.max_parallel_workers_per_gather,
            v.max_parallel_maintenance_workers,
        ],
        workers
    );
    assert_eq!(
        [
            v.min_wal_size.as_str(),
            v.max_wal_size.as_str(),
            v.wal_keep_size.as_str(),
            v.max_slot_wal_keep_size.as_str(),
        ],
        wal
    );
    // Never resized.
    assert_eq!(v.max_connections, 60);
    assert_eq!(v.max_wal_senders, 25);
    assert_eq!(v.max_replication_slots, 25);
    assert_eq!(v.effective_io_concurrency, 0);
}

#[test]
fn sizing_table_of_section_5_2() {
    assert_row(
        &sized("512Mi", "100m", "1Gi"),
        "128MB",
        "384MB",
        "32MB",
        "2184kB",
        "3932kB",
        [6, 2, 1, 1],
        ["64MB", "256MB", "128MB", "256MB"],
    );
    assert_row(
        &sized("4Gi", "4", "100Gi"),
        "1GB",
        "3GB",
        "256MB",
        "8738kB",
        "16MB",
        [4, 4, 2, 2],
        ["1024MB", "4096MB", "1000MB", "4096MB"],
    );
    assert_row(
        &sized("16Gi", "8", "500Gi"),
        "4GB",
        "12GB",
        "1GB",
        "17476kB",
        "16MB",
        [8, 8, 4, 4],
        ["1024MB", "4096MB", "1000MB", "4096MB"],
    );
}

#[test]
fn sizing_reduces_over_pools() {
    let pools = [
        PoolSizing {
            memory_request: Some("1Gi"),
            cpu_limit: Some("2"),
            cpu_request: Some("6"),
            storage_size: Some("10Gi"),
            ..PoolSizing::default()
        },
        PoolSizing {
            memory_limit: Some("2Gi"),
            memory_request: Some("8Gi"),
            cpu_request: Some("3500m"),
            storage_size: Some("5Gi"),
            ..PoolSizing::default()
        },
        PoolSizing {
            memory_limit: Some("0"),
            memory_request: Some("512Mi"),
            storage_size: Some("0"),
            ..PoolSizing::default()
        },
        PoolSizing {
            memory_limit: Some("not-a-quantity"),
            cpu_limit: Some("1.5.5"),
            storage_size: Some("huge"),
            ..PoolSizing::default()
        },
    ];
    assert_eq!(
        ResourceBasis::from_pools(&pools),
        ResourceBasis {
            // max of (1Gi request, 2Gi limit, 512Mi request): limits win over requests.
            memory_bytes: 2 << 30,
            // max of (2 limit, 3500m request).
            cpu_millicores: 3500,
            // min positive of (10Gi, 5Gi).
            disk_bytes: 5 << 30,
        }
    );
    // Fractional bytes round up, like Go's Value().
    let fractional = [PoolSizing {
        memory_limit: Some("0.5"),
        cpu_request: Some("0.0001"),
        ..PoolSizing::default()
    }];
    assert_eq!(
        ResourceBasis::from_pools(&fractional),
        ResourceBasis {
            memory_bytes: 1,
            cpu_millicores: 1,
            disk_bytes: 0,
        }
    );
    assert_eq!(ResourceBasis::from_pools(&[]), ResourceBasis::default());
}

#[test]
fn tiny_and_huge_inputs_do_not_panic() {
    for memory in [
        "1",
        "1Ki",
        "64Ki",
        "1Ei",
        "8Ei",
        "9223372036854775807",
        "-1Gi",
    ] {
        for cpu in ["1m", "4", "1000000000", "-3"] {
            for disk in ["1", "1Mi", "1Ei", "-1"] {
                let v = sized(memory, cpu, disk);
                let text = v.render_baseline();
                let got = pgconf::stamp_and_split(&text, pgconf::requires_restart);
                assert_eq!(got.reload_hash.len(), 64);
            }
        }
    }
    let v = sized("1", "1m", "1");
    assert_eq!(v.shared_buffers, "0kB");
    assert_eq!(v.work_mem, "64kB");
    assert_eq!(v.wal_buffers, "32kB");
    assert_eq!(v.min_wal_size, "32MB");
    assert_eq!(v.max_wal_size, "64MB");
    assert_eq!(v.wal_keep_size, "32MB");
    let v = sized("64Gi", "1", "1Gi");
    assert_eq!(v.maintenance_work_mem, "2GB", "capped at 2 GiB");
}

#[test]
fn cluster_name_drops_empty_parts() {
    assert_eq!(
        pgconf::cluster_name("minimal", "postgres", "default", "0-inf", "x"),
        "minimal/postgres/default/0-inf"
    );
    assert_eq!(
        pgconf::cluster_name("", "postgres", "", "0-inf", "x"),
        "postgres/0-inf"
    );
    assert_eq!(
        pgconf::cluster_name("", "", "", "", "shard-obj"),
        "shard-obj"
    );
    let config = BTreeMap::new();
    let input = ShardConfigInput {
        cluster: "",
        database: "",
        table_group: "",
        shard: "",
        shard_object_name: "shard-obj",
        pools: &[],
        postgres_config: &config,
        postgres_config_ref_body: None,
    };
    assert!(
        pgconf::render(&input)
            .text
            .contains("\ncluster_name = 'shard-obj'\t\t# added")
    );
}

#[test]
fn reload_class_change_moves_only_the_reload_hash() {
    let base = render(&BTreeMap::new(), None);
    let changed = render(&map(&[("work_mem", "8MB")]), None);
    assert_eq!(changed.restart_hash, base.restart_hash);
    assert_ne!(changed.reload_hash, base.reload_hash);
    assert_eq!(changed.reload_settings["work_mem"], "8MB");
    assert!(changed.text.contains(&format!(
        "\n# spec.postgresConfig\nwork_mem = '8MB'\n{MARKER_COMMENT}{RELOAD_MARKER_KEY} = '{}'\n",
        changed.reload_hash
    )));
}

#[test]
fn restart_class_change_moves_only_the_restart_hash() {
    let base = render(&BTreeMap::new(), None);
    let changed = render(&map(&[("shared_buffers", "256MB")]), None);
    assert_ne!(changed.restart_hash, base.restart_hash);
    assert_eq!(changed.reload_hash, base.reload_hash);
    assert!(!changed.reload_settings.contains_key("shared_buffers"));
    // The marker carries the (unchanged) reload hash.
    let (_, marker) = split_marker(&changed.text);
    let (_, base_marker) = split_marker(&base.text);
    assert_eq!(marker, base_marker);
}

#[test]
fn namespaced_settings_are_restart_class() {
    assert!(pgconf::requires_restart("pg_stat_statements.max"));
    let base = render(&BTreeMap::new(), None);
    let changed = render(&map(&[("pg_stat_statements.max", "10000")]), None);
    assert_ne!(changed.restart_hash, base.restart_hash);
    assert_eq!(changed.reload_hash, base.reload_hash);
    assert!(
        !changed
            .reload_settings
            .contains_key("pg_stat_statements.max")
    );
    // The marker's own key is namespaced too, but it is stamped after hashing.
    assert!(pgconf::requires_restart(RELOAD_MARKER_KEY));
    assert!(base.reload_settings.contains_key(RELOAD_MARKER_KEY));
}

#[test]
fn classification_catalog_cases() {
    assert!(pgconf::requires_restart("max_connections"));
    assert!(pgconf::requires_restart("WAL_LEVEL"));
    assert!(pgconf::requires_restart("block_size"), "internal");
    assert!(pgconf::requires_restart("made_up_setting"), "unknown");
    assert!(!pgconf::requires_restart("log_statement"), "superuser");
    assert!(!pgconf::requires_restart("checkpoint_timeout"), "sighup");
    for name in ["timezone", "TimeZone", "DateStyle", "intervalstyle"] {
        assert!(!pgconf::requires_restart(name), "{name}: user context");
        assert!(pgconf::upstream_requires_restart(name), "{name}: upstream");
    }
}

#[test]
fn quoting_round_trips() {
    let config = map(&[
        ("application_name", "it's #1"),
        ("search_path", "\"$user\", public"),
        ("statement_timeout", ""),
        ("log_line_prefix", "''"),
    ]);
    let got = render(&config, None);
    let (body, _) = split_marker(&got.text);
    assert!(body.ends_with(concat!(
        "\n# spec.postgresConfig\n",
        "application_name = 'it''s #1'\n",
        "log_line_prefix = ''''''\n",
        "search_path = '\"$user\", public'\n",
        "statement_timeout = ''\n",
    )));
    for (key, value) in &config {
        assert_eq!(got.reload_settings.get(key), Some(value), "{key}");
    }
}

#[test]
fn parsing_handles_comments_case_and_spacing() {
    let a = pgconf::stamp_and_split(
        "# header\nWork_Mem = '4MB'   # trailing\n\n  ssl=off\nbogus line\n",
        pgconf::requires_restart,
    );
    let b = pgconf::stamp_and_split("ssl = 'off'\nwork_mem = 4MB\n", pgconf::requires_restart);
    assert_eq!(
        a.reload_hash, b.reload_hash,
        "cosmetic differences do not count"
    );
    assert_eq!(a.reload_settings, b.reload_settings);
    assert_eq!(a.reload_settings["work_mem"], "4MB");
    // An empty partition hashes the empty input.
    assert_eq!(
        a.restart_hash,
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    let empty = pgconf::stamp_and_split("", pgconf::requires_restart);
    assert_eq!(empty.reload_hash, a.restart_hash);
    assert_eq!(
        empty.text,
        format!(
            "{MARKER_COMMENT}{RELOAD_MARKER_KEY} = '{}'\n",
            empty.reload_hash
        )
    );
}

#[test]
fn postgres_config_ref_block_follows_the_baseline() {
    let ref_body = "# tuned by DBA\nwork_mem = 8MB\nrandom_page_cost = 4\n\n\n";
    let inline = map(&[("random_page_cost", "2")]);
    let got = render(&inline, Some(ref_body));
    let (body, _) = split_marker(&got.text);
    let (baseline, _) = split_marker(MINIMAL_SECTION_7_3);
    let tail = body
        .strip_prefix(baseline)
        .expect("the baseline comes first");
    assert_eq!(
        tail,
        concat!(
            "\n# postgresConfigRef\n",
            "# tuned by DBA\nwork_mem = 8MB\nrandom_page_cost = 4\n",
            "\n# spec.postgresConfig\n",
            "random_page_cost = '2'\n",
        )
    );
    // The ref overrides the baseline; the inline map overrides the ref.
    assert_eq!(got.reload_settings["work_mem"], "8MB");
    assert_eq!(got.reload_settings["random_page_cost"], "2");

    // A body of only newlines (or an empty one) adds no block.
    let blank = render(&BTreeMap::new(), Some("\n\n"));
    assert_eq!(blank, render(&BTreeMap::new(), None));
    assert_eq!(render(&BTreeMap::new(), Some("")), blank);
}

#[test]
fn a_later_assignment_wins() {
    // Same effective value whichever layer sets it.
    let via_ref = render(&BTreeMap::new(), Some("work_mem = '16MB'"));
    let via_inline = render(&map(&[("work_mem", "16MB")]), None);
    assert_eq!(via_ref.reload_hash, via_inline.reload_hash);
    assert_eq!(via_ref.restart_hash, via_inline.restart_hash);
    // Repeating a key keeps only its last value, whatever its case.
    let repeated = render(
        &map(&[("work_mem", "32MB")]),
        Some("WORK_MEM = 1MB\nwork_mem = 2MB"),
    );
    assert_eq!(repeated.reload_settings["work_mem"], "32MB");
    let once = render(&map(&[("work_mem", "32MB")]), None);
    assert_eq!(repeated.reload_hash, once.reload_hash);
    // A restart-class key repeated in the ref: the ref's value wins over the baseline.
    let sb = render(&BTreeMap::new(), Some("shared_buffers = 256MB"));
    let sb_inline = render(&map(&[("shared_buffers", "256MB")]), None);
    assert_eq!(sb.restart_hash, sb_inline.restart_hash);
}

#[test]
fn pg_hba_template_is_upstreams_file() {
    let text = pgconf::pg_hba_template();
    assert_eq!(sha256_hex(text.as_bytes()), UPSTREAM_PG_HBA_SHA256);
    assert_eq!(text.len(), 2056);
    assert!(text.starts_with("# PostgreSQL Client Authentication Configuration File\n"));
    let rules: Vec<&str> = text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    assert_eq!(rules.len(), 11);
    assert!(rules.iter().all(|r| r.ends_with("scram-sha-256")));
}

#[test]
fn exporter_queries_are_upstreams_file() {
    let text = pgconf::exporter_queries();
    assert_eq!(
        sha256_hex(text.as_bytes()),
        UPSTREAM_EXPORTER_QUERIES_SHA256
    );
    assert_eq!(text.len(), 3753);
    let groups: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with([' ', '#']) && l.ends_with(':'))
        .collect();
    assert_eq!(
        groups,
        [
            "pg_database:",
            "pg_wal:",
            "pg_stat_database:",
            "physical_replication_lag:",
            "connection_stats:",
            "max_connections:",
        ]
    );
}
