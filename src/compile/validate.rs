//! The upstream admission webhook's rules (`pkg/webhook/handlers`: cluster and
//! template validators)
//! that can be judged without a cluster, plus metadata checks.
//!
//! Not judged offline, because they need the live cluster: whether nodes
//! carry a cell's zone or region label, and whether a default StorageClass
//! exists (docs/validation.md lists them).

use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::IpAddr;

use k8s_openapi::api::core::v1::ResourceRequirements;
use serde_json::Value;

use super::diagnostics::{self as codes, Severity};
use super::load::{ObjectSource, did_you_mean};
use super::path::FieldPath;
use super::provenance::Source;
use super::resolve::{Catalog, Cluster, ClusterResolved, ShardResolved, defaults as d};
use crate::api::cluster::{MultigresCluster, MultigresClusterSpec, ShardConfig};
use crate::api::common::*;
use crate::api::{Kind, templates::ShardTemplateSpec};
use crate::pgconf::settings as pgconfig;
use crate::units::{duration, quantity};

/// One finding of the validator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub severity: Severity,
    pub code: &'static str,
    /// The field in the object being validated.
    pub path: FieldPath,
    /// Whether to point at the field's key rather than its value.
    pub at_key: bool,
    pub message: String,
    pub hint: Option<String>,
    /// Set when `path` is in another object (a template that supplied the
    /// value) rather than the one being validated.
    pub elsewhere: Option<ObjectSource>,
}

impl Finding {
    fn error(code: &'static str, place: impl Into<Place>, message: String) -> Self {
        let place = place.into();
        Self {
            severity: Severity::Error,
            code,
            path: place.path,
            at_key: false,
            message,
            hint: None,
            elsewhere: place.object,
        }
    }

    fn warning(code: &'static str, place: impl Into<Place>, message: String) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(code, place, message)
        }
    }

    fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    fn at_key(mut self) -> Self {
        self.at_key = true;
        self
    }
}

/// A field in the validated object, or in another input object.
#[derive(Debug, Clone)]
pub struct Place {
    pub path: FieldPath,
    pub object: Option<ObjectSource>,
}

impl From<FieldPath> for Place {
    fn from(path: FieldPath) -> Self {
        Self { path, object: None }
    }
}

/// Where a finding about a resolved value should point: the node that
/// supplied the value (in the cluster or a template), else `fallback`.
fn located(source: Option<Source>, cluster: &ObjectSource, fallback: &FieldPath) -> Place {
    match source.and_then(|s| s.at) {
        Some((object, pointer)) => {
            let elsewhere = (&object != cluster).then_some(object);
            Place {
                path: FieldPath::from_pointer(&pointer),
                object: elsewhere,
            }
        }
        None => fallback.clone().into(),
    }
}

/// Finds the place of a field below some node, given as keys
/// (`["limits", "cpu"]`; none for the node itself).
type Locate<'l> = dyn Fn(&[&str]) -> Place + 'l;

/// The JSON pointer of `keys` below `base`.
fn below(base: &str, keys: &[&str]) -> String {
    let mut pointer = base.to_owned();
    for key in keys {
        pointer.push('/');
        super::yaml::push_escaped(&mut pointer, key);
    }
    pointer
}

/// Places below `base` in the validated object (a template: no provenance).
fn within(base: &FieldPath) -> impl Fn(&[&str]) -> Place + '_ {
    move |keys| {
        let mut path = base.clone();
        for key in keys {
            path = path.key(key);
        }
        path.into()
    }
}

/// Metadata as the API server checks it: known fields, valid names and labels.
pub fn metadata(object: &Value) -> Vec<Finding> {
    const FIELDS: [&str; 15] = [
        "name",
        "namespace",
        "labels",
        "annotations",
        "generateName",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "ownerReferences",
        "finalizers",
        "managedFields",
        "selfLink",
    ];
    let mut findings = Vec::new();
    let root = FieldPath::root().key("metadata");
    let Some(metadata) = object.get("metadata").and_then(Value::as_object) else {
        return vec![Finding::error(
            codes::INVALID_METADATA,
            root,
            "metadata must be a mapping".into(),
        )];
    };
    for key in metadata.keys() {
        if !FIELDS.contains(&key.as_str()) {
            let hint = did_you_mean(key, FIELDS).map(|s| format!("did you mean {s:?}?"));
            let mut finding = Finding::error(
                codes::UNKNOWN_FIELD,
                root.key(key),
                format!("unknown field {key:?}"),
            )
            .at_key();
            finding.hint = hint;
            findings.push(finding);
        }
    }
    if let Some(name) = metadata.get("name").and_then(Value::as_str)
        && !is_dns_subdomain(name)
    {
        findings.push(
            Finding::error(
                codes::INVALID_METADATA,
                root.key("name"),
                format!("{name:?} is not a valid object name"),
            )
            .hint(DNS_SUBDOMAIN_HINT),
        );
    }
    if let Some(namespace) = metadata.get("namespace").and_then(Value::as_str)
        && !is_dns_label(namespace)
    {
        findings.push(
            Finding::error(
                codes::INVALID_METADATA,
                root.key("namespace"),
                format!("{namespace:?} is not a valid namespace"),
            )
            .hint("use at most 63 lowercase letters, digits and '-'"),
        );
    }
    for field in ["labels", "annotations"] {
        let Some(map) = metadata.get(field) else {
            continue;
        };
        let Some(map) = map.as_object() else {
            findings.push(Finding::error(
                codes::WRONG_TYPE,
                root.key(field),
                format!("{field} must be a mapping of strings"),
            ));
            continue;
        };
        for (key, value) in map {
            let path = root.key(field).key(key);
            let Some(value) = value.as_str() else {
                findings.push(
                    Finding::error(
                        codes::WRONG_TYPE,
                        path,
                        format!("the value of {field} {key:?} must be a string"),
                    )
                    .hint("quote the value"),
                );
                continue;
            };
            if !is_qualified_name(key) {
                findings.push(
                    Finding::error(
                        codes::INVALID_METADATA,
                        path.clone(),
                        format!("{key:?} is not a valid {field} key"),
                    )
                    .at_key(),
                );
            }
            if field == "labels" && !is_label_value(value) {
                findings.push(
                    Finding::error(
                        codes::INVALID_METADATA,
                        path,
                        format!("{value:?} is not a valid label value"),
                    )
                    .hint(LABEL_VALUE_HINT),
                );
            }
        }
    }
    findings
}

/// Values of our kinds that end up where Kubernetes applies a syntax of its
/// own: pod label keys and values and pod annotation keys, a cell's zone and
/// region (label values and node selectors), the gateway's certificate name
/// (an object name). Checked where they are written, so that the API server
/// never refuses what render printed.
pub fn kubernetes_syntax(kind: Kind, value: &Value) -> Vec<Finding> {
    let mut findings = Vec::new();
    let spec = FieldPath::root().key("spec");
    let Some(spec_value) = value.get("spec") else {
        return findings;
    };
    pod_metadata_syntax(spec_value, &spec, &mut findings);
    if kind != Kind::MultigresCluster {
        return findings;
    }
    let cells = spec_value.get("cells").and_then(Value::as_array);
    for (i, cell) in cells.into_iter().flatten().enumerate() {
        let path = spec.key("cells").index(i);
        for (field, label, node_label) in [
            (
                "zoneId",
                crate::labels::ZONE_ID,
                crate::labels::NODE_ZONE_ID,
            ),
            ("region", crate::labels::REGION, crate::labels::NODE_REGION),
        ] {
            // The length is the schema's (MG015).
            if let Some(text) = cell.get(field).and_then(Value::as_str)
                && !is_label_value_syntax(text)
            {
                findings.push(
                    Finding::error(
                        codes::KUBERNETES_SYNTAX,
                        path.key(field),
                        format!(
                            "{field} {text:?} is not a valid label value: it becomes the {label} \
                             label and the node selector {node_label}"
                        ),
                    )
                    .hint(LABEL_VALUE_HINT),
                );
            }
        }
    }
    if let Some(name) = spec_value.get("certCommonName").and_then(Value::as_str)
        && !name.is_empty()
        && !is_dns_subdomain(name)
    {
        findings.push(
            Finding::error(
                codes::KUBERNETES_SYNTAX,
                spec.key("certCommonName"),
                format!(
                    "certCommonName {name:?} is not a valid DNS name: it names the gateway's \
                     cert-manager Certificate and is its DNS name"
                ),
            )
            .hint(DNS_SUBDOMAIN_HINT),
        );
    }
    findings
}

const DNS_SUBDOMAIN_HINT: &str = "use at most 253 lowercase letters, digits, '-' and '.', \
                                  starting and ending with a letter or digit";

const LABEL_VALUE_HINT: &str = "label values have at most 63 characters: letters, digits, '-', '_' \
                                and '.', starting and ending with a letter or digit";

/// `podLabels` and `podAnnotations` maps anywhere under `value`. Lengths
/// are the CRD rules' (`MG120`, `MG121`); this checks the characters.
fn pod_metadata_syntax(value: &Value, path: &FieldPath, findings: &mut Vec<Finding>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let child_path = path.key(key);
                let field = key.as_str();
                match (field, child.as_object()) {
                    ("podLabels" | "podAnnotations", Some(entries)) => {
                        for (name, entry) in entries {
                            let entry_path = child_path.key(name);
                            if !is_qualified_name_syntax(name) {
                                findings.push(
                                    Finding::error(
                                        codes::KUBERNETES_SYNTAX,
                                        entry_path.clone(),
                                        format!("{name:?} is not a valid key of {field}"),
                                    )
                                    .hint("keys are an optional DNS prefix and '/', then at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit")
                                    .at_key(),
                                );
                            }
                            if field == "podLabels"
                                && let Some(text) = entry.as_str()
                                && !is_label_value_syntax(text)
                            {
                                findings.push(
                                    Finding::error(
                                        codes::KUBERNETES_SYNTAX,
                                        entry_path,
                                        format!("{text:?} is not a valid label value"),
                                    )
                                    .hint(LABEL_VALUE_HINT),
                                );
                            }
                        }
                    }
                    _ => pod_metadata_syntax(child, &child_path, findings),
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                pod_metadata_syntax(item, &path.index(i), findings);
            }
        }
        _ => {}
    }
}

pub fn is_dns_label(s: &str) -> bool {
    s.len() <= 63 && is_label_syntax(s)
}

/// As Kubernetes' IsDNS1123Subdomain: 253 characters in all; the parts
/// between dots are not limited to 63.
pub fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_label_syntax)
}

/// Lowercase letters, digits and `-`, starting and ending with a letter or digit.
fn is_label_syntax(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// A DNS-1035 label, the syntax of Service names: a letter first.
fn is_dns1035_label(s: &str) -> bool {
    is_dns_label(s) && s.starts_with(|c: char| c.is_ascii_lowercase())
}

fn is_label_value(s: &str) -> bool {
    s.len() <= 63 && is_label_value_syntax(s)
}

/// A label value's characters, whatever its length: letters, digits, `-`,
/// `_` and `.`, starting and ending with a letter or digit (or empty).
fn is_label_value_syntax(s: &str) -> bool {
    s.is_empty()
        || (s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            && s.as_bytes()[0].is_ascii_alphanumeric()
            && s.as_bytes()[s.len() - 1].is_ascii_alphanumeric())
}

fn is_qualified_name(s: &str) -> bool {
    s.rsplit('/').next().is_some_and(|name| name.len() <= 63) && is_qualified_name_syntax(s)
}

/// A label or annotation key's characters, whatever the length of its name:
/// an optional DNS subdomain and `/`, then a non-empty label value.
fn is_qualified_name_syntax(s: &str) -> bool {
    let (prefix, name) = match s.rsplit_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, s),
    };
    prefix.is_none_or(|p| !p.is_empty() && is_dns_subdomain(p))
        && !name.is_empty()
        && is_label_value_syntax(name)
}

/// Checks a MultigresCluster with its resolution (and, on update, its
/// previous version).
pub fn cluster(
    cluster: &Cluster<'_>,
    catalog: &Catalog<'_>,
    resolved: &ClusterResolved,
    old: Option<&MultigresCluster>,
) -> Vec<Finding> {
    let mut v = ClusterValidator {
        cluster,
        catalog,
        resolved,
        findings: Vec::new(),
    };
    v.name();
    v.template_references();
    v.postgres_config();
    v.etcd();
    v.external_exposure();
    v.gateways();
    v.shards();
    if let Some(old) = old {
        v.update(&old.spec);
    }
    v.findings
}

struct ClusterValidator<'c, 'a> {
    cluster: &'c Cluster<'a>,
    catalog: &'c Catalog<'a>,
    resolved: &'c ClusterResolved,
    findings: Vec<Finding>,
}

fn spec_path() -> FieldPath {
    FieldPath::root().key("spec")
}

/// `spec.databases[i].tablegroups[j].shards[k]`.
fn shard_path(i: usize, j: usize, k: usize) -> FieldPath {
    spec_path()
        .key("databases")
        .index(i)
        .key("tablegroups")
        .index(j)
        .key("shards")
        .index(k)
}

impl<'a> ClusterValidator<'_, 'a> {
    fn spec(&self) -> &'a MultigresClusterSpec {
        self.cluster.spec
    }

    /// Services are named after the cluster (`<name>-global-topo`,
    /// `<name>-multiadmin`, ...), and Service names are DNS-1035 labels.
    /// Upstream accepts such a cluster and then fails to create them.
    fn name(&mut self) {
        let name = self.cluster.name;
        if !is_dns1035_label(name) {
            self.findings.push(
                Finding::error(
                    codes::SERVICE_NAME,
                    FieldPath::root().key("metadata").key("name"),
                    format!(
                        "MultigresCluster name {name:?} cannot begin the names of its Services \
                         ({name}-global-topo, {name}-multiadmin, ...)"
                    ),
                )
                .hint(
                    "start the name with a letter and use only lowercase letters, digits and '-'",
                ),
            );
        }
    }

    /// (a) Every explicitly named template must exist in the namespace.
    fn template_references(&mut self) {
        let spec = self.spec();
        let defaults = spec_path().key("templateDefaults");
        let mut core = vec![(
            defaults.key("coreTemplate"),
            spec.template_defaults.core_template.as_deref(),
        )];
        core.push((
            spec_path().key("multiadmin").key("templateRef"),
            spec.multiadmin
                .as_ref()
                .and_then(|m| m.template_ref.as_deref()),
        ));
        core.push((
            spec_path().key("globalTopoServer").key("templateRef"),
            spec.global_topo_server
                .as_ref()
                .and_then(|g| g.template_ref.as_deref()),
        ));
        core.push((
            spec_path().key("multiadminWeb").key("templateRef"),
            spec.multiadmin_web
                .as_ref()
                .and_then(|m| m.template_ref.as_deref()),
        ));
        let mut cell = vec![(
            defaults.key("cellTemplate"),
            spec.template_defaults.cell_template.as_deref(),
        )];
        for (i, c) in spec.cells.iter().enumerate() {
            cell.push((
                spec_path().key("cells").index(i).key("cellTemplate"),
                c.cell_template.as_deref(),
            ));
        }
        let mut shard = vec![(
            defaults.key("shardTemplate"),
            spec.template_defaults.shard_template.as_deref(),
        )];
        for (path, s) in self.shard_configs() {
            shard.push((path.key("shardTemplate"), s.shard_template.as_deref()));
        }
        let core_names: Vec<&str> = self.catalog.core.keys().copied().collect();
        let cell_names: Vec<&str> = self.catalog.cell.keys().copied().collect();
        let shard_names: Vec<&str> = self.catalog.shard.keys().copied().collect();
        for (kind, refs, known) in [
            (Kind::CoreTemplate, core, core_names),
            (Kind::CellTemplate, cell, cell_names),
            (Kind::ShardTemplate, shard, shard_names),
        ] {
            for (path, name) in refs {
                let Some(name) = name else { continue };
                if known.contains(&name) {
                    continue;
                }
                let suggestion = did_you_mean(name, known.iter().copied())
                    .map(|s| format!("did you mean {s:?}? "))
                    .unwrap_or_default();
                self.findings.push(
                    Finding::error(
                        codes::TEMPLATE_NOT_FOUND,
                        path,
                        format!("referenced {} '{name}' not found in namespace '{}'", kind.name(), self.cluster.namespace),
                    )
                    .hint(format!(
                        "{suggestion}pass the file that defines it (templates resolve within the cluster's namespace)"
                    )),
                );
            }
        }
    }

    /// The shard entries written in the cluster, with their paths.
    fn shard_configs(&self) -> Vec<(FieldPath, &'a ShardConfig)> {
        let mut out = Vec::new();
        for (i, db) in self.spec().databases.iter().enumerate() {
            for (j, tg) in db.tablegroups.iter().enumerate() {
                for (k, shard) in tg.shards.iter().enumerate() {
                    out.push((shard_path(i, j, k), shard));
                }
            }
        }
        out
    }

    /// (b) postgresConfig in shard specs and overrides.
    fn postgres_config(&mut self) {
        let mut found = Vec::new();
        for (path, shard) in self.shard_configs() {
            if let Some(spec) = &shard.spec {
                found.extend(check_postgres_config(
                    &spec.postgres_config,
                    &path.key("spec").key("postgresConfig"),
                ));
            }
            if let Some(overrides) = &shard.overrides {
                found.extend(check_postgres_config(
                    &overrides.postgres_config,
                    &path.key("overrides").key("postgresConfig"),
                ));
            }
        }
        self.findings.extend(found);
    }

    /// Warnings about a single etcd member.
    fn etcd(&mut self) {
        let topo = &self.resolved.global_topo;
        let Some(etcd) = &topo.value.etcd else { return };
        if topo.value.external.is_some() || etcd.replicas != Some(1) {
            return;
        }
        let path = located(
            topo.prov.lookup("/etcd/replicas"),
            self.cluster.source,
            &spec_path(),
        );
        self.findings.push(
            Finding::warning(
                codes::ETCD_SINGLE_REPLICA,
                path,
                "etcd has 1 replica — no fault tolerance. 3 replicas is recommended for production (tolerates 1 failure). \
                 Note: topology server replicas cannot be changed after cluster creation"
                    .into(),
            )
            .hint("set globalTopoServer.etcd.replicas: 3 before the cluster is created"),
        );
    }

    fn external_exposure(&mut self) {
        let spec = self.spec();
        let exposures = [
            (
                "externalGateway",
                spec.external_gateway
                    .as_ref()
                    .map(|e| (e.enabled, &e.external_ips)),
                "global multigateway Service",
            ),
            (
                "externalAdminWeb",
                spec.external_admin_web
                    .as_ref()
                    .map(|e| (e.enabled, &e.external_ips)),
                "multiadmin-web Service",
            ),
        ];
        for (field, config, service) in exposures {
            let Some((true, ips)) = config else { continue };
            let path = spec_path().key(field);
            if ips.is_empty() {
                self.findings.push(Finding::warning(
                    codes::EXTERNAL_NO_IPS,
                    path.clone(),
                    format!(
                        "{field} is enabled but no externalIPs specified; endpoint resolution depends on an external \
                         load balancer controller provisioning an ingress address on the {service}"
                    ),
                ));
            }
            for (i, ip) in ips.iter().enumerate() {
                if ip.parse::<IpAddr>().is_err() {
                    self.findings.push(Finding::error(
                        codes::EXTERNAL_BAD_IP,
                        path.key("externalIPs").index(i),
                        format!("{field}.externalIPs contains invalid IP address: {ip:?}"),
                    ));
                }
            }
        }
    }

    /// Resources and buffers of the resolved gateways, and of the global components.
    fn gateways(&mut self) {
        let source = self.cluster.source;
        let global = [
            (
                "etcd",
                self.resolved
                    .global_topo
                    .value
                    .etcd
                    .as_ref()
                    .and_then(|e| e.resources.as_ref()),
                &self.resolved.global_topo.prov,
                "/etcd/resources",
                spec_path().key("globalTopoServer"),
            ),
            (
                "multiadmin",
                self.resolved.multiadmin.value.spec.resources.as_ref(),
                &self.resolved.multiadmin.prov,
                "/spec/resources",
                spec_path().key("multiadmin"),
            ),
            (
                "multiadmin-web",
                self.resolved.multiadmin_web.value.resources.as_ref(),
                &self.resolved.multiadmin_web.prov,
                "/resources",
                spec_path().key("multiadminWeb"),
            ),
        ];
        let mut found = Vec::new();
        for (subject, resources, prov, at, fallback) in global {
            let locate = |keys: &[&str]| located(prov.lookup(&below(at, keys)), source, &fallback);
            found.extend(check_resources(subject, resources, &locate));
        }
        for cell in &self.resolved.cells {
            let fallback = spec_path().key("cells").index(cell.index);
            let subject = format!("cell '{}'", cell.name);
            let resources = |keys: &[&str]| {
                located(
                    cell.prov.lookup(&below("/multigateway/resources", keys)),
                    source,
                    &fallback,
                )
            };
            found.extend(check_resources(
                &format!("{subject} multigateway (resolved)"),
                cell.gateway.stateless.resources.as_ref(),
                &resources,
            ));
            if let Some(buffer) = &cell.gateway.buffer {
                let locate = |keys: &[&str]| {
                    located(
                        cell.prov.lookup(&below("/multigateway/buffer", keys)),
                        source,
                        &fallback,
                    )
                };
                found.extend(check_buffer(buffer, &subject, true, &locate));
            }
        }
        self.findings.extend(found);
    }

    /// Cells, pools, durability and backups of every resolved shard.
    fn shards(&mut self) {
        let source = self.cluster.source;
        let cells: Vec<&str> = self
            .resolved
            .cells
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        let mut found = Vec::new();
        for tg in &self.resolved.table_groups {
            for shard in &tg.shards {
                let path = shard.path.clone().unwrap_or_else(spec_path);
                let orphans = self.orphan_pool_overrides(shard, &path);
                let mut check = ShardCheck {
                    shard,
                    name: &shard.spec.name,
                    path,
                    source,
                    cells: &cells,
                    policy: tg.durability_policy.as_str(),
                    found: orphans,
                };
                check.multiorch_cells();
                let mut poolers = 0;
                for (pool_name, pool) in &shard.spec.pools {
                    check.pool(pool_name, pool);
                    let replicas = pool.replicas_per_cell.unwrap_or(1);
                    poolers += usize::try_from(replicas).unwrap_or(0) * pool.cells.len();
                }
                check.multiorch_resources();
                check.backup(poolers);
                found.extend(check.found);
            }
        }
        self.findings.extend(found);
        self.topo_storage_sizes();
    }

    /// Pools that a shard's overrides add to its template (a warning: a
    /// typo would silently create a pool).
    fn orphan_pool_overrides(&self, shard: &ShardResolved, shard_path: &FieldPath) -> Vec<Finding> {
        let name = &shard.spec.name;
        let shard_default = self.spec().template_defaults.shard_template.clone();
        let mut found = Vec::new();
        let Some(config) = self.shard_config(shard.path.as_ref()) else {
            return found;
        };
        let template_name = config
            .shard_template
            .clone()
            .or(shard_default.clone())
            .unwrap_or_else(|| d::DEFAULT_TEMPLATE.into());
        let template_pools = self
            .catalog
            .shard
            .get(template_name.as_str())
            .map(|t| &t.spec.pools);
        if let Some(overrides) = &config.overrides {
            for pool in overrides.pools.keys() {
                if !template_pools.is_some_and(|p| p.contains_key(pool)) {
                    found.push(
                            Finding::warning(
                                codes::ORPHAN_POOL_OVERRIDE,
                                shard_path.key("overrides").key("pools").key(pool),
                                format!(
                                    "Pool '{pool}' defined in overrides for shard '{name}' does not exist in template '{template_name}'. A new pool will be created."
                                ),
                            )
                            .at_key()
                            .hint("check the pool name for typos, or define the pool in the template"),
                        );
                }
            }
        }
        found
    }

    /// The etcd storage sizes of the global and local topology servers.
    fn topo_storage_sizes(&mut self) {
        let source = self.cluster.source;
        let mut found = Vec::new();
        if let Some(etcd) = &self.resolved.global_topo.value.etcd {
            let path = located(
                self.resolved.global_topo.prov.lookup("/etcd/storage/size"),
                source,
                &spec_path(),
            );
            found.extend(check_quantity(etcd.storage.size.as_deref(), &path));
        }
        for cell in &self.resolved.cells {
            if let Some(etcd) = cell.local_topo.as_ref().and_then(|t| t.etcd.as_ref()) {
                let path = located(
                    cell.prov.lookup("/topoServer/etcd/storage/size"),
                    source,
                    &spec_path().key("cells").index(cell.index),
                );
                found.extend(check_quantity(etcd.storage.size.as_deref(), &path));
            }
        }
        self.findings.extend(found);
    }

    fn shard_config(&self, path: Option<&FieldPath>) -> Option<&'a ShardConfig> {
        let path = path?;
        self.shard_configs()
            .into_iter()
            .find(|(p, _)| p == path)
            .map(|(_, s)| s)
    }

    /// (d), (e): changes the webhook refuses on update.
    fn update(&mut self, old: &MultigresClusterSpec) {
        let sizes = |spec: &MultigresClusterSpec| {
            let mut sizes = BTreeMap::new();
            for (i, db) in spec.databases.iter().enumerate() {
                for (j, tg) in db.tablegroups.iter().enumerate() {
                    for (k, shard) in tg.shards.iter().enumerate() {
                        let (pools, section) = match (&shard.spec, &shard.overrides) {
                            (Some(spec), _) => (&spec.pools, "spec"),
                            (None, Some(overrides)) => (&overrides.pools, "overrides"),
                            (None, None) => continue,
                        };
                        for (pool, config) in pools {
                            if let Some(size) =
                                config.storage.size.as_deref().filter(|s| !s.is_empty())
                            {
                                let key = format!("{}/{}/{}/{pool}", db.name, tg.name, shard.name);
                                let path = shard_path(i, j, k)
                                    .key(section)
                                    .key("pools")
                                    .key(pool)
                                    .key("storage")
                                    .key("size");
                                sizes.insert(key, (size.to_owned(), path));
                            }
                        }
                    }
                }
            }
            sizes
        };
        let before = sizes(old);
        for (key, (new_size, path)) in sizes(self.spec()) {
            let Some((old_size, _)) = before.get(&key) else {
                continue;
            };
            if let (Ok(old_q), Ok(new_q)) = (quantity::parse(old_size), quantity::parse(&new_size))
                && new_q < old_q
            {
                self.findings.push(
                    Finding::error(codes::STORAGE_SHRINK, path, format!(
                        "storage.size cannot be decreased ({key}: {old_size} → {new_size}); PVC shrink is not supported by Kubernetes"
                    ))
                    .hint("keep the size, or create a new pool and move the data"),
                );
            }
        }
        let replicas = |spec: &MultigresClusterSpec| match &spec.global_topo_server {
            Some(g) if g.external.is_some() => 0,
            Some(g) => g
                .etcd
                .as_ref()
                .and_then(|e| e.replicas)
                .unwrap_or(d::ETCD_REPLICAS),
            None => d::ETCD_REPLICAS,
        };
        let (old_replicas, new_replicas) = (replicas(old), replicas(self.spec()));
        if old_replicas != 0 && new_replicas != 0 && old_replicas != new_replicas {
            // The new count where it is written, else what lacks it.
            let topo = self.spec().global_topo_server.as_ref();
            let path = match topo.map(|g| g.etcd.as_ref().map(|e| e.replicas)) {
                Some(Some(Some(_))) => spec_path()
                    .key("globalTopoServer")
                    .key("etcd")
                    .key("replicas"),
                Some(Some(None)) => spec_path().key("globalTopoServer").key("etcd"),
                Some(None) => spec_path().key("globalTopoServer"),
                None => spec_path(),
            };
            self.findings.push(
                Finding::error(
                    codes::ETCD_REPLICAS_CHANGED,
                    path,
                    format!(
                        "topology server (etcd) replicas cannot be changed after cluster creation ({old_replicas} → {new_replicas}); \
                         etcd uses static bootstrap which does not support dynamic member addition"
                    ),
                )
                .hint(format!("keep {old_replicas} replicas")),
            );
        }
    }
}

/// One resolved shard under validation.
struct ShardCheck<'s> {
    shard: &'s ShardResolved,
    name: &'s str,
    path: FieldPath,
    source: &'s ObjectSource,
    /// The names of the cluster's cells.
    cells: &'s [&'s str],
    /// The table group's durability policy.
    policy: &'s str,
    found: Vec<Finding>,
}

impl ShardCheck<'_> {
    /// Where the field at `pointer` of the resolved shard was written.
    fn at(&self, pointer: &str) -> Place {
        located(self.shard.prov.lookup(pointer), self.source, &self.path)
    }

    /// The orchestrator's cells.
    fn multiorch_cells(&mut self) {
        let name = self.name;
        let multiorch = &self.shard.spec.multiorch;
        if multiorch.cells.is_empty() {
            self.found.push(
                Finding::error(codes::NO_CELLS, self.path.clone(), format!("shard '{name}' matches NO cells (check your cell names or template configuration)"))
                    .hint("add at least one entry to spec.cells"),
            );
        }
        for (i, cell) in multiorch.cells.iter().enumerate() {
            if !self.cells.contains(&cell.as_str()) {
                self.found.push(unknown_cell(
                    self.at(&format!("/multiorch/cells/{i}")),
                    format!("shard '{name}' is assigned to non-existent cell '{cell}'"),
                    self.cells,
                ));
            }
        }
    }

    fn multiorch_resources(&mut self) {
        let found = check_resources(
            &format!("shard '{}' multiorch", self.name),
            self.shard.spec.multiorch.stateless.resources.as_ref(),
            &|keys: &[&str]| self.at(&below("/multiorch/resources", keys)),
        );
        self.found.extend(found);
    }

    /// A pool's name, cells, durability, resources, users, storage and
    /// implicit replicas.
    fn pool(&mut self, pool_name: &str, pool: &PoolSpec) {
        let name = self.name;
        let pool_at = format!("/pools/{pool_name}");
        let pool_path = self.at(&pool_at);
        if pool_name.chars().count() > 25 || pool_name.is_empty() {
            self.found.push(Finding::error(codes::INVALID_POOL_NAME, pool_path.clone(), format!("shard '{name}': pool name '{pool_name}' must be between 1 and 25 characters")).at_key());
        } else if !is_dns_label(pool_name) {
            self.found.push(Finding::error(codes::INVALID_POOL_NAME, pool_path.clone(), format!(
                "shard '{name}': pool name '{pool_name}' is invalid: must consist of lowercase alphanumeric characters or '-', and must start and end with an alphanumeric character"
            )).at_key());
        }
        if pool.cells.is_empty() {
            self.found.push(Finding::error(
                codes::NO_CELLS,
                pool_path.clone(),
                format!("pool '{pool_name}' in shard '{name}' matches NO cells"),
            ));
        }
        for (i, cell) in pool.cells.iter().enumerate() {
            if !self.cells.contains(&cell.as_str()) {
                self.found.push(unknown_cell(self.at(&format!("{pool_at}/cells/{i}")), format!("pool '{pool_name}' in shard '{name}' is assigned to non-existent cell '{cell}'"), self.cells));
            }
        }
        let replicas = pool.replicas_per_cell.unwrap_or(1);
        let cell_count = if pool.cells.is_empty() {
            self.cells.len()
        } else {
            pool.cells.len()
        };
        let policy = self.policy;
        if policy == d::MULTI_CELL_DURABILITY_POLICY && cell_count < 2 {
            self.found.push(Finding::warning(codes::DURABILITY, pool_path.clone(), format!(
                "pool '{pool_name}' in shard '{name}' spans {cell_count} cell(s); durability policy \"{policy}\" requires at least 2 distinct cells."
            )));
        } else if policy != d::MULTI_CELL_DURABILITY_POLICY
            && (i64::from(replicas) * cell_count as i64) < 2
        {
            self.found.push(Finding::warning(codes::DURABILITY, pool_path.clone(), format!(
                "pool '{pool_name}' in shard '{name}' has replicasPerCell={replicas} across {cell_count} cell(s) ({} total); durability policy \"{policy}\" requires at least 2 total poolers.",
                i64::from(replicas) * cell_count as i64
            )));
        }
        for (container, config) in [
            ("postgres", &pool.postgres),
            ("multipooler", &pool.multipooler),
        ] {
            let base = format!("{pool_at}/{container}/resources");
            let locate = |keys: &[&str]| self.at(&below(&base, keys));
            let found = check_resources(
                &format!("shard '{name}' pool '{pool_name}' {container}"),
                config.resources.as_ref(),
                &locate,
            );
            self.found.extend(found);
        }
        if let Some(user) = pool.multipooler.run_as_user {
            match pool.postgres.run_as_user {
                None => self.found.push(Finding::error(codes::RUN_AS_MISMATCH, self.at(&format!("{pool_at}/multipooler/runAsUser")), format!(
                    "shard '{name}' pool '{pool_name}': multipooler runAsUser {user} requires matching postgres runAsUser because both access PGDATA"
                ))),
                Some(postgres) if postgres != user => self.found.push(Finding::error(codes::RUN_AS_MISMATCH, self.at(&format!("{pool_at}/multipooler/runAsUser")), format!(
                    "shard '{name}' pool '{pool_name}': postgres runAsUser {postgres} and multipooler runAsUser {user} must match because both access PGDATA"
                ))),
                _ => {}
            }
        }
        self.found.extend(check_quantity(
            pool.storage.size.as_deref(),
            &self.at(&format!("{pool_at}/storage/size")),
        ));
        if self.shard.implicit_replicas.iter().any(|p| p == pool_name) {
            let count = if pool.cells.is_empty() {
                self.cells.len()
            } else {
                pool.cells.len()
            };
            self.found.push(
                Finding::warning(codes::IMPLICIT_REPLICAS, pool_path.clone(), format!(
                    "pool '{pool_name}' of shard '{name}' gets replicasPerCell={replicas} from its cell count ({count}); \
                     the value is implicit: render derives it on every run, where upstream's webhook would store it once"
                ))
                .hint("set replicasPerCell explicitly so that adding a cell does not change it"),
            );
        }
    }

    /// A filesystem backup's size, and its access mode when several
    /// poolers share it.
    fn backup(&mut self, poolers: usize) {
        let name = self.name;
        if let Some(backup) = &self.shard.spec.backup
            && backup.backup_type == BackupType::Filesystem
        {
            let fs = backup.filesystem.clone().unwrap_or_default();
            self.found.extend(check_quantity(
                fs.storage.size.as_deref(),
                &self.at("/backup/filesystem/storage/size"),
            ));
            let rwx = fs.storage.access_modes.iter().any(|m| m == "ReadWriteMany");
            if !rwx && poolers > 1 {
                self.found.push(Finding::warning(codes::SHARED_RWO_BACKUP, self.at("/backup"), format!(
                    "Shard '{name}' uses filesystem backups with ReadWriteOnce (RWO) storage but {poolers} poolers mount the shard-wide backup PVC. \
                     This configuration may fail when poolers are scheduled on different nodes. Configure ReadWriteMany (RWX) storage, ensure node affinity, or use S3 backups."
                )));
            }
        }
    }
}

fn unknown_cell(path: Place, message: String, cells: &[&str]) -> Finding {
    let hint = if cells.is_empty() {
        "the cluster defines no cells".to_owned()
    } else {
        format!("the cluster's cells are {}", cells.join(", "))
    };
    Finding::error(codes::UNKNOWN_CELL, path, message).hint(hint)
}

fn check_postgres_config(config: &BTreeMap<String, String>, path: &FieldPath) -> Vec<Finding> {
    config
        .iter()
        .filter_map(|(name, value)| {
            let rejection = pgconfig::check(name, value).err()?;
            let mut finding = Finding::error(
                rejection.code,
                path.key(name),
                format!("invalid postgresConfig: {}", rejection.message),
            );
            finding.hint = rejection.hint;
            finding.at_key = rejection.code != codes::PG_BAD_VALUE;
            Some(finding)
        })
        .collect()
}

/// Every limit at least its request; a finding points at the limit.
fn check_resources(
    subject: &str,
    resources: Option<&ResourceRequirements>,
    locate: &Locate<'_>,
) -> Vec<Finding> {
    let Some(resources) = resources else {
        return Vec::new();
    };
    let (Some(requests), Some(limits)) = (&resources.requests, &resources.limits) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for (name, limit) in limits {
        let Some(request) = requests.get(name) else {
            continue;
        };
        match (quantity::parse(&limit.0), quantity::parse(&request.0)) {
            (Ok(l), Ok(r)) if l < r => found.push(Finding::error(
                codes::LIMIT_BELOW_REQUEST,
                locate(&["limits", name]),
                format!(
                    "{subject}: resource {name} limit ({}) must be >= request ({})",
                    limit.0, request.0
                ),
            )),
            _ => {}
        }
    }
    found
}

fn check_quantity(size: Option<&str>, path: &Place) -> Vec<Finding> {
    match size.map(quantity::parse) {
        Some(Err(err)) => vec![
            Finding::error(codes::BAD_QUANTITY, path.clone(), format!("{err}"))
                .hint("use a quantity such as 10Gi"),
        ],
        _ => Vec::new(),
    }
}

/// Gateway buffer rules; `resolved` applies the binary defaults for the
/// ordering check (partial mode, for templates, needs both values). Each
/// finding points at the field whose value breaks the rule.
fn check_buffer(
    buffer: &GatewayBufferConfig,
    subject: &str,
    resolved: bool,
    locate: &Locate<'_>,
) -> Vec<Finding> {
    if buffer.enabled == Some(false) {
        return Vec::new();
    }
    let mut found = Vec::new();
    let mut parse = |field: &str, value: &Option<String>| -> Option<i64> {
        let text = value.as_deref()?;
        match duration::parse(text) {
            Ok(nanos) => Some(nanos),
            Err(err) => {
                found.push(Finding::error(
                    codes::BAD_QUANTITY,
                    locate(&[field]),
                    format!("{subject}: {err}"),
                ));
                None
            }
        }
    };
    let window = parse("window", &buffer.window);
    let max_failover = parse("maxFailoverDuration", &buffer.max_failover_duration);
    let min_between = parse(
        "minTimeBetweenFailovers",
        &buffer.min_time_between_failovers,
    );
    let error = |field: &str, value: i64, requirement: &str| {
        Finding::error(
            codes::GATEWAY_BUFFER,
            locate(&[field]),
            format!(
                "{subject}: multigateway buffer {field} ({}) {requirement}",
                duration::format(value)
            ),
        )
    };
    if let Some(w) = window.filter(|w| *w <= 0) {
        found.push(error("window", w, "must be a positive duration"));
    }
    if let Some(m) = max_failover.filter(|m| *m <= 0) {
        found.push(error(
            "maxFailoverDuration",
            m,
            "must be a positive duration",
        ));
    }
    if let Some(m) = min_between.filter(|m| *m < 0) {
        found.push(error("minTimeBetweenFailovers", m, "must not be negative"));
    }
    let both_set = window.is_some() && max_failover.is_some();
    if resolved || both_set {
        let defaulted = window.is_none() || max_failover.is_none();
        let w = window.unwrap_or_else(|| duration::parse(d::BUFFER_WINDOW).unwrap_or(0));
        let m = max_failover
            .unwrap_or_else(|| duration::parse(d::BUFFER_MAX_FAILOVER_DURATION).unwrap_or(0));
        if w > 0 && m > 0 && w > m {
            let suffix = if resolved && defaulted {
                "; unset fields use the multigateway defaults (window 10s, maxFailoverDuration 20s)"
            } else {
                ""
            };
            // The window is too long: point at it, or, when it is the
            // default, at the maxFailoverDuration it exceeds.
            let culprit: &[&str] = match (window, max_failover) {
                (Some(_), _) => &["window"],
                (None, Some(_)) => &["maxFailoverDuration"],
                (None, None) => &[],
            };
            found.push(Finding::error(
                codes::GATEWAY_BUFFER,
                locate(culprit),
                format!("{subject}: multigateway buffer window ({}) must be <= maxFailoverDuration ({}){suffix}", duration::format(w), duration::format(m)),
            ));
        }
    }
    found
}

/// §13.3: ShardTemplate pool names and postgresConfig; CellTemplate buffer
/// and resources.
pub fn template(kind: Kind, value: &Value) -> Vec<Finding> {
    let spec = FieldPath::root().key("spec");
    let name = value
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    match kind {
        Kind::ShardTemplate => {
            let Ok(template) = serde_json::from_value::<ShardTemplateSpec>(
                value.get("spec").cloned().unwrap_or_default(),
            ) else {
                return Vec::new();
            };
            let mut found = Vec::new();
            for pool in template.pools.keys() {
                let path = spec.key("pools").key(pool);
                if pool.chars().count() > 25 || pool.is_empty() {
                    found.push(
                        Finding::error(
                            codes::INVALID_POOL_NAME,
                            path,
                            format!("pool name '{pool}' must be between 1 and 25 characters"),
                        )
                        .at_key(),
                    );
                } else if !is_dns_label(pool) {
                    found.push(Finding::error(codes::INVALID_POOL_NAME, path, format!(
                        "pool name '{pool}' is invalid: must consist of lowercase alphanumeric characters or '-', and must start and end with an alphanumeric character"
                    )).at_key());
                }
            }
            found.extend(check_postgres_config(
                &template.postgres_config,
                &spec.key("postgresConfig"),
            ));
            found
        }
        Kind::CellTemplate => {
            let gateway: Option<MultigatewaySpec> = value
                .pointer("/spec/multigateway")
                .and_then(|g| MultigatewaySpec::deserialize(g).ok());
            let Some(gateway) = gateway else {
                return Vec::new();
            };
            let path = spec.key("multigateway");
            let subject = format!("CellTemplate '{name}'");
            let mut found = Vec::new();
            if let Some(buffer) = &gateway.buffer {
                let buffer_path = path.key("buffer");
                found.extend(check_buffer(buffer, &subject, false, &within(&buffer_path)));
            }
            let resources = path.key("resources");
            found.extend(check_resources(
                &format!("{subject} multigateway"),
                gateway.stateless.resources.as_ref(),
                &within(&resources),
            ));
            found
        }
        _ => Vec::new(),
    }
}
