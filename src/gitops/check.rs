//! `render --check DIR`: golden review of a committed render.
//!
//! Two questions about a pull request that changes the inputs of a render
//! committed with `render --output-dir`:
//!
//! 1. **What changes?** [`diff`] pairs the committed files with the new ones
//!    by path and [`unified`] prints a unified diff per added, removed or
//!    changed object, so a reviewer reads the effect of the change on every
//!    Kubernetes object.
//! 2. **Will it sync?** [`judge`] compares the committed objects (old) with
//!    the new render and reports every change the API server or the upstream
//!    admission webhook would refuse when a GitOps tool applies it (cells
//!    removed, immutable fields changed, volumes shrunk, ...), so that the
//!    pull request fails in CI instead of at sync time. It also warns about
//!    changes that sync but disturb a running cluster (a Service selector
//!    that names labels the running pods do not carry yet). The codes are in
//!    [`UPGRADE_CODES`] and `docs/validation.md`.
//!
//! Everything here is pure: the files come from [`super::tree::read`] and
//! [`super::tree::files`].

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;
use similar::{ChangeTag, TextDiff};

use super::tree::{File, object_path};
use crate::compile::diagnostics::{
    BACKUP_ENCRYPTION_CHANGED, CELL_REMOVED, CLUSTER_REMOVED, ETCD_REPLICAS_CHANGED,
    POOL_CELL_REMOVED, POOL_REMOVED, PVC_IMMUTABLE, SELECTOR_CHANGED, SERVICE_CLUSTER_IP,
    SERVICE_SELECTOR_CHANGED, SHARD_REMOVED, STATEFULSET_IMMUTABLE, STORAGE_SHRINK, Severity,
    code_info,
};
use crate::compile::{Object, yaml};
use crate::units::quantity::{self, Quantity};

/// Exit status of `render --check` when the committed render is stale: the
/// new render differs from it (re-render and commit). 0: identical and safe,
/// 2: invalid input.
pub const EXIT_STALE: u8 = 1;

/// Exit status of `render --check` when the change would be refused at sync
/// time (an upgrade error), whether or not the committed render is also
/// stale: re-rendering does not fix it.
pub const EXIT_UNSAFE: u8 = 4;

/// The codes `render --check` reports, in order: the rules of a rendered
/// tree's change. They live in the one registry of codes
/// ([`crate::compile::diagnostics::CODES`]); the two rules the upstream
/// webhook also judges on the inputs (a volume shrinks, the etcd member
/// count changes) share their codes with `validate --previous`.
pub const UPGRADE_CODES: &[&str] = &[
    STORAGE_SHRINK,
    ETCD_REPLICAS_CHANGED,
    CELL_REMOVED,
    SHARD_REMOVED,
    POOL_REMOVED,
    POOL_CELL_REMOVED,
    BACKUP_ENCRYPTION_CHANGED,
    SELECTOR_CHANGED,
    STATEFULSET_IMMUTABLE,
    PVC_IMMUTABLE,
    SERVICE_CLUSTER_IP,
    SERVICE_SELECTOR_CHANGED,
    CLUSTER_REMOVED,
];

/// A MultigresCluster by namespace and name.
pub type ClusterName = (String, String);

/// Parses the argument of `--allow-removal`: `NAMESPACE/NAME`.
///
/// # Errors
///
/// A message naming the expected form when `text` is not two non-empty
/// parts separated by one `/`.
pub fn parse_cluster_name(text: &str) -> Result<ClusterName, String> {
    match text.split_once('/') {
        Some((namespace, name))
            if !namespace.is_empty() && !name.is_empty() && !name.contains('/') =>
        {
            Ok((namespace.to_owned(), name.to_owned()))
        }
        _ => Err(format!(
            "expected NAMESPACE/NAME of a MultigresCluster, for example default/minimal, \
             not {text:?}"
        )),
    }
}

/// How a file of the tree differs between the committed and the new render.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Change {
    /// Rendered now, not committed.
    Added,
    /// Committed, no longer rendered.
    Removed,
    /// In both, with other content.
    Changed,
}

/// One file that differs, with both contents (empty for the missing side).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDiff {
    /// `NAMESPACE/KIND/NAME.yaml`.
    pub path: String,
    pub change: Change,
    /// The committed content (empty when added).
    pub old: String,
    /// The new content (empty when removed).
    pub new: String,
}

/// Every file that differs between `old` (committed) and `new` (rendered),
/// sorted by path. Identical files are left out, so an empty result means the
/// committed render is up to date.
pub fn diff(old: &[File], new: &[File]) -> Vec<FileDiff> {
    let old: BTreeMap<&str, &str> = old
        .iter()
        .map(|f| (f.path.as_str(), f.text.as_str()))
        .collect();
    let new: BTreeMap<&str, &str> = new
        .iter()
        .map(|f| (f.path.as_str(), f.text.as_str()))
        .collect();
    let paths: BTreeSet<&str> = old.keys().chain(new.keys()).copied().collect();
    paths
        .into_iter()
        .filter_map(|path| {
            let (change, old, new) = match (old.get(path), new.get(path)) {
                (Some(o), Some(n)) if o == n => return None,
                (Some(o), Some(n)) => (Change::Changed, *o, *n),
                (Some(o), None) => (Change::Removed, *o, ""),
                (None, Some(n)) => (Change::Added, "", *n),
                (None, None) => return None,
            };
            Some(FileDiff {
                path: path.to_owned(),
                change,
                old: old.to_owned(),
                new: new.to_owned(),
            })
        })
        .collect()
}

const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const CYAN: &str = "\x1b[36m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

/// A unified diff of one file, with headers `--- a/PATH` and `+++ b/PATH` and
/// 3 lines of context (what `git diff` shows), coloured with ANSI escapes
/// (removed lines red, added green, hunk headers cyan) when `color` is set.
pub fn unified(file: &FileDiff, color: bool) -> String {
    let text_diff = TextDiff::configure()
        // A pathological file gets a coarser diff rather than a long wait.
        .timeout(std::time::Duration::from_secs(10))
        .diff_lines(file.old.as_str(), file.new.as_str());
    let paint = |code: &str, line: &str| {
        if color {
            format!("{code}{line}{RESET}")
        } else {
            line.to_owned()
        }
    };
    let mut out = String::new();
    let _ = writeln!(out, "{}", paint(BOLD, &format!("--- a/{}", file.path)));
    let _ = writeln!(out, "{}", paint(BOLD, &format!("+++ b/{}", file.path)));
    let unified = text_diff.unified_diff();
    for hunk in unified.iter_hunks() {
        let _ = writeln!(out, "{}", paint(CYAN, &hunk.header().to_string()));
        for change in hunk.iter_changes() {
            let (sign, code) = match change.tag() {
                ChangeTag::Delete => ('-', RED),
                ChangeTag::Insert => ('+', GREEN),
                ChangeTag::Equal => (' ', ""),
            };
            let value = change.value();
            let line = value.strip_suffix('\n').unwrap_or(value);
            let line = format!("{sign}{line}");
            if code.is_empty() {
                out.push_str(&line);
            } else {
                out.push_str(&paint(code, &line));
            }
            out.push('\n');
            if !value.ends_with('\n') {
                out.push_str("\\ No newline at end of file\n");
            }
        }
    }
    out
}

/// The objects of committed files, by path: each file must hold exactly one
/// YAML document that is a mapping.
///
/// # Errors
///
/// Every malformed file, each as `DIR/PATH:LINE:COL: error[MG001]: message`
/// (`dir` is how the directory is named in messages).
pub fn parse_objects(files: &[File], dir: &Path) -> Result<BTreeMap<String, Value>, Vec<String>> {
    let mut objects = BTreeMap::new();
    let mut errors = Vec::new();
    for file in files {
        let name = dir.join(&file.path).display().to_string();
        match yaml::parse_stream(&file.text, &yaml::Limits::default()) {
            Err(e) => errors.push(format!(
                "{name}:{}:{}: error[{}]: {}",
                e.pos.line,
                e.pos.col,
                crate::compile::diagnostics::YAML_SYNTAX,
                e.message
            )),
            Ok(documents) => match documents.as_slice() {
                [document] if document.value.is_object() => {
                    objects.insert(file.path.clone(), document.value.clone());
                }
                [document] => errors.push(format!(
                    "{name}:{}:{}: error[{}]: the committed file does not hold a Kubernetes object",
                    document.start.line,
                    document.start.col,
                    crate::compile::diagnostics::NOT_AN_OBJECT
                )),
                _ => errors.push(format!(
                    "{name}:1:1: error[{}]: a committed file must hold one object, this one holds {} documents",
                    crate::compile::diagnostics::NOT_AN_OBJECT,
                    documents.len()
                )),
            },
        }
    }
    if errors.is_empty() {
        Ok(objects)
    } else {
        Err(errors)
    }
}

/// The rendered objects by their path in the tree (objects whose path is
/// unsafe are left out: [`super::tree::files`] refuses them first).
pub fn values(objects: &[Object]) -> BTreeMap<String, Value> {
    objects
        .iter()
        .filter_map(|o| {
            let path = object_path(&o.kind, o.namespace.as_deref(), &o.name).ok()?;
            Some((path, o.value.clone()))
        })
        .collect()
}

/// A change that would be refused at sync time (an error), or that syncs
/// but disturbs the running cluster (a warning).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// One of [`UPGRADE_CODES`].
    pub code: &'static str,
    /// The severity the registry gives the code.
    pub severity: Severity,
    /// The file of the object, relative to the checked directory.
    pub path: String,
    /// What changes, naming the object (and the cell or pool).
    pub message: String,
    /// What to do instead.
    pub hint: String,
}

impl Finding {
    /// `DIR/PATH: error[CODE]: message` (or `warning[CODE]`) and an
    /// indented hint line, as `render --check` prints it on stderr.
    pub fn display(&self, dir: &Path) -> String {
        format!(
            "{}: {}[{}]: {}\n  hint: {}",
            dir.join(&self.path).display(),
            self.severity.as_str(),
            self.code,
            self.message,
            self.hint
        )
    }
}

/// The upgrade-safety verdict of a new render over a committed one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Judgement {
    /// Sorted by path, then code.
    pub findings: Vec<Finding>,
    /// What the allowed removals did: each allowed cluster removed, and each
    /// allowance that matched no removed cluster (a typo, most likely).
    pub notes: Vec<String>,
}

impl Judgement {
    /// Whether every change would be accepted at sync time (warnings do not
    /// count).
    pub fn is_safe(&self) -> bool {
        self.errors() == 0
    }

    /// How many findings are errors.
    pub fn errors(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .count()
    }

    /// How many findings are warnings.
    pub fn warnings(&self) -> usize {
        self.findings.len() - self.errors()
    }
}

/// Judges the update from `old` (the deployed objects: a previous render)
/// to `new` (the new render), both by path: every change that the API
/// server (immutable fields, CEL transition rules of the CRDs) or the
/// upstream operator's webhook would refuse, and (as warnings) changes that
/// sync but leave a Service without the pods it needs for a while.
///
/// A whole MultigresCluster removed (or renamed: removed and another added)
/// is an error too, because a GitOps tool that prunes deletes it and its
/// databases with it, unless `allowed_removals` names it: then it is a
/// deletion on purpose. Either way the objects of a removed cluster are not
/// reported one by one.
pub fn judge(
    old: &BTreeMap<String, Value>,
    new: &BTreeMap<String, Value>,
    allowed_removals: &BTreeSet<ClusterName>,
) -> Judgement {
    let clusters = cluster_names(new);
    let mut findings = Vec::new();
    let mut notes = Vec::new();
    cluster_removals(old, new, allowed_removals, &mut findings, &mut notes);
    for (path, old_value) in old {
        let mut report = |code: &'static str, message: String, hint: &str| {
            findings.push(Finding {
                code,
                severity: severity(code),
                path: path.clone(),
                message,
                hint: hint.to_owned(),
            });
        };
        match new.get(path) {
            None => removed(old_value, &clusters, &mut report),
            Some(new_value) => {
                changed(old_value, new_value, &mut report);
                if is(old_value, CORE, "Service") && is(new_value, CORE, "Service") {
                    service_selector(old_value, new_value, old, new, &mut report);
                }
            }
        }
    }
    findings.sort_by(|a, b| (&a.path, a.code, &a.message).cmp(&(&b.path, b.code, &b.message)));
    Judgement { findings, notes }
}

/// The MultigresClusters among `objects`, by name, with their paths.
fn clusters_of(objects: &BTreeMap<String, Value>) -> BTreeMap<ClusterName, &str> {
    objects
        .iter()
        .filter(|(_, v)| is(v, MULTIGRES, "MultigresCluster"))
        .map(|(path, v)| {
            (
                (
                    text(v, "/metadata/namespace").to_owned(),
                    text(v, "/metadata/name").to_owned(),
                ),
                path.as_str(),
            )
        })
        .collect()
}

fn cluster_names(objects: &BTreeMap<String, Value>) -> BTreeSet<ClusterName> {
    clusters_of(objects).into_keys().collect()
}

/// `namespace/name`.
fn qualified((namespace, name): &ClusterName) -> String {
    format!("{namespace}/{name}")
}

/// Reports every MultigresCluster of `old` that `new` no longer renders,
/// unless allowed (then notes it), and notes the allowances that matched
/// no removed cluster.
fn cluster_removals(
    old: &BTreeMap<String, Value>,
    new: &BTreeMap<String, Value>,
    allowed: &BTreeSet<ClusterName>,
    findings: &mut Vec<Finding>,
    notes: &mut Vec<String>,
) {
    let (before, after) = (clusters_of(old), clusters_of(new));
    let added: Vec<String> = after
        .keys()
        .filter(|name| !before.contains_key(*name))
        .map(|name| format!("MultigresCluster {}", qualified(name)))
        .collect();
    for (name, path) in &before {
        if after.contains_key(name) {
            continue;
        }
        let cluster = qualified(name);
        if allowed.contains(name) {
            notes.push(format!(
                "MultigresCluster {cluster} is removed, as --allow-removal {cluster} allows: a \
                 GitOps tool that prunes deletes it and its databases"
            ));
            continue;
        }
        let mut message = format!(
            "MultigresCluster {cluster} is removed: a GitOps tool that prunes (Argo CD's \
             prune: true, Flux) deletes it, and with it every cell, shard and pool of the \
             cluster and their data (unless spec.pvcDeletionPolicy.whenDeleted is Retain)"
        );
        if !added.is_empty() {
            let _ = write!(
                message,
                "; {} is added in the same change: renaming a cluster is removing it and adding \
                 a new, empty one",
                added.join(", ")
            );
        }
        findings.push(Finding {
            code: CLUSTER_REMOVED,
            severity: severity(CLUSTER_REMOVED),
            path: (*path).to_owned(),
            message,
            hint: format!(
                "put the MultigresCluster back (under its old name, if it was renamed); to \
                 delete the cluster on purpose, pass --allow-removal {cluster}"
            ),
        });
    }
    for name in allowed {
        if !before.contains_key(name) || after.contains_key(name) {
            notes.push(format!(
                "--allow-removal {}: this change removes no MultigresCluster of that name",
                qualified(name)
            ));
        }
    }
}

/// The severity the registry gives `code` (an error when unlisted).
fn severity(code: &str) -> Severity {
    code_info(code).map_or(Severity::Error, |c| c.severity)
}

const MULTIGRES: &str = "multigres.com";
const APPS: &str = "apps";
const CORE: &str = "";

/// Whether `value` is a `kind` of API group `group` (`""` for core).
fn is(value: &Value, group: &str, kind: &str) -> bool {
    let api_version = text(value, "/apiVersion");
    let value_group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
    value_group == group && text(value, "/kind") == kind
}

/// The string at `pointer`, or `""`.
fn text<'v>(value: &'v Value, pointer: &str) -> &'v str {
    value.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// The value at `pointer`; `null` counts as absent.
fn at<'v>(value: &'v Value, pointer: &str) -> Option<&'v Value> {
    value.pointer(pointer).filter(|v| !v.is_null())
}

/// `Kind namespace/name` (or `Kind name` without a namespace).
fn who(value: &Value) -> String {
    let kind = text(value, "/kind");
    let name = text(value, "/metadata/name");
    match text(value, "/metadata/namespace") {
        "" => format!("{kind} {name}"),
        namespace => format!("{kind} {namespace}/{name}"),
    }
}

/// ` of MultigresCluster NS/NAME` for a generated object, from its
/// `multigres.com/cluster` label.
fn of_cluster(value: &Value) -> String {
    match text(value, "/metadata/labels/multigres.com~1cluster") {
        "" => String::new(),
        cluster => match text(value, "/metadata/namespace") {
            "" => format!(" of MultigresCluster {cluster}"),
            namespace => format!(" of MultigresCluster {namespace}/{cluster}"),
        },
    }
}

/// Whether a generated object's MultigresCluster is still rendered (if not,
/// the object goes with its cluster: the cluster's removal is judged once,
/// by [`cluster_removals`]).
fn cluster_remains(value: &Value, clusters: &BTreeSet<ClusterName>) -> bool {
    match text(value, "/metadata/labels/multigres.com~1cluster") {
        "" => true,
        cluster => clusters.contains(&(
            text(value, "/metadata/namespace").to_owned(),
            cluster.to_owned(),
        )),
    }
}

/// A value as written (a string without quotes).
fn shown(value: Option<&Value>) -> String {
    match value {
        None => "(none)".into(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// A quantity written as a string or a number; `None` when absent or invalid.
fn quantity_at(value: &Value, pointer: &str) -> Option<Quantity> {
    match at(value, pointer)? {
        Value::String(s) => quantity::parse(s).ok(),
        Value::Number(n) => quantity::parse(&n.to_string()).ok(),
        _ => None,
    }
}

const GROW_HINT: &str =
    "keep the previous size or a larger one: the API server refuses to shrink a volume";

fn removed(
    old: &Value,
    clusters: &BTreeSet<ClusterName>,
    report: &mut impl FnMut(&'static str, String, &str),
) {
    if !cluster_remains(old, clusters) {
        return;
    }
    if is(old, MULTIGRES, "Cell") {
        let cell = match text(old, "/spec/name") {
            "" => text(old, "/metadata/name"),
            name => name,
        };
        report(
            CELL_REMOVED,
            format!(
                "cell {cell:?}{} is removed ({}); cells can only be added",
                of_cluster(old),
                who(old)
            ),
            "put the cell back in spec.cells of the MultigresCluster: the API server refuses \
             removing or renaming a cell (MG107)",
        );
    } else if is(old, MULTIGRES, "Shard") {
        let mut what = format!("shard {:?}", text(old, "/spec/shardName"));
        for (label, pointer) in [
            ("tablegroup", "/spec/tableGroupName"),
            ("database", "/spec/databaseName"),
        ] {
            let name = text(old, pointer);
            if !name.is_empty() {
                let _ = write!(what, " of {label} {name:?}");
            }
        }
        report(
            SHARD_REMOVED,
            format!(
                "{what}{} is removed ({}); shards can only be added",
                of_cluster(old),
                who(old)
            ),
            "put the database, tablegroup and shard back in spec.databases of the \
             MultigresCluster: the upstream webhook refuses deleting a Shard from outside the \
             operator (a shard is retired by a graceful drain, not by a sync)",
        );
    }
}

fn changed(old: &Value, new: &Value, report: &mut impl FnMut(&'static str, String, &str)) {
    if is(old, MULTIGRES, "Shard") && is(new, MULTIGRES, "Shard") {
        shard(old, new, report);
    }
    for kind in ["Shard", "TableGroup"] {
        if is(old, MULTIGRES, kind)
            && is(new, MULTIGRES, kind)
            && at(old, "/spec/backup/encryption") != at(new, "/spec/backup/encryption")
        {
            let (before, after) = (
                at(old, "/spec/backup/encryption"),
                at(new, "/spec/backup/encryption"),
            );
            let how = match (before, after) {
                (None, _) => "added",
                (_, None) => "removed",
                _ => "changed",
            };
            report(
                BACKUP_ENCRYPTION_CHANGED,
                format!(
                    "backup encryption of {}{} is {how}; it is immutable after creation",
                    who(new),
                    of_cluster(new)
                ),
                "restore spec.backup.encryption as it was: the API server refuses adding, removing \
                 or changing it (MG104); backups need a new cluster to change their encryption",
            );
        }
    }
    if is(old, MULTIGRES, "TopoServer") && is(new, MULTIGRES, "TopoServer") {
        shrink(
            old,
            new,
            "/spec/etcd/storage/size",
            &format!("etcd storage of {}", who(new)),
            report,
        );
        let (before, after) = (
            at(old, "/spec/etcd/replicas"),
            at(new, "/spec/etcd/replicas"),
        );
        if before != after {
            report(
                ETCD_REPLICAS_CHANGED,
                format!(
                    "etcd replicas of {} change from {} to {}; etcd membership is fixed at creation",
                    who(new),
                    shown(before),
                    shown(after)
                ),
                "keep the previous replica count: the upstream webhook refuses changing it (MG220)",
            );
        }
    }
    if is(old, CORE, "PersistentVolumeClaim") && is(new, CORE, "PersistentVolumeClaim") {
        shrink(
            old,
            new,
            "/spec/resources/requests/storage",
            &format!("storage request of {}", who(new)),
            report,
        );
        for field in ["storageClassName", "accessModes", "volumeName"] {
            immutable(
                old,
                new,
                &format!("/spec/{field}"),
                &format!("spec.{field}"),
                PVC_IMMUTABLE,
                report,
            );
        }
    }
    for kind in ["Deployment", "StatefulSet"] {
        if is(old, APPS, kind) && is(new, APPS, kind) {
            immutable(
                old,
                new,
                "/spec/selector",
                "spec.selector",
                SELECTOR_CHANGED,
                report,
            );
        }
    }
    if is(old, APPS, "StatefulSet") && is(new, APPS, "StatefulSet") {
        for field in ["serviceName", "volumeClaimTemplates", "podManagementPolicy"] {
            immutable(
                old,
                new,
                &format!("/spec/{field}"),
                &format!("spec.{field}"),
                STATEFULSET_IMMUTABLE,
                report,
            );
        }
    }
    if is(old, CORE, "Service") && is(new, CORE, "Service") {
        service(old, new, report);
    }
}

fn shard(old: &Value, new: &Value, report: &mut impl FnMut(&'static str, String, &str)) {
    let Some(old_pools) = at(old, "/spec/pools").and_then(Value::as_object) else {
        return;
    };
    let empty = serde_json::Map::new();
    let new_pools = at(new, "/spec/pools")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    for (pool, old_pool) in old_pools {
        let Some(new_pool) = new_pools.get(pool) else {
            report(
                POOL_REMOVED,
                format!(
                    "pool {pool:?} of {}{} is removed or renamed; pools can only be added",
                    who(old),
                    of_cluster(old)
                ),
                "put the pool back under spec.pools: the API server refuses removing or renaming \
                 a pool (MG129)",
            );
            continue;
        };
        let cells = |pool: &Value| -> Vec<String> {
            pool.get("cells")
                .and_then(Value::as_array)
                .map(|cells| {
                    cells
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        let new_cells = cells(new_pool);
        for cell in cells(old_pool) {
            if !new_cells.contains(&cell) {
                report(
                    POOL_CELL_REMOVED,
                    format!(
                        "cell {cell:?} is removed from pool {pool:?} of {}{}; a pool's cells can only be added",
                        who(old),
                        of_cluster(old)
                    ),
                    "put the cell back in the pool's cells: the API server refuses removing a cell \
                     from a pool (MG131)",
                );
            }
        }
        shrink(
            old_pool,
            new_pool,
            "/storage/size",
            &format!("storage of pool {pool:?} of {}", who(old)),
            report,
        );
    }
}

/// Reports `what` (at `pointer` in both) when it is smaller in `new`.
fn shrink(
    old: &Value,
    new: &Value,
    pointer: &str,
    what: &str,
    report: &mut impl FnMut(&'static str, String, &str),
) {
    if let (Some(before), Some(after)) = (quantity_at(old, pointer), quantity_at(new, pointer))
        && after < before
    {
        report(
            STORAGE_SHRINK,
            format!(
                "{what} shrinks from {} to {}; volumes can only grow",
                shown(at(old, pointer)),
                shown(at(new, pointer))
            ),
            GROW_HINT,
        );
    }
}

/// Reports a change of the immutable field at `pointer` (`field` in messages).
fn immutable(
    old: &Value,
    new: &Value,
    pointer: &str,
    field: &str,
    code: &'static str,
    report: &mut impl FnMut(&'static str, String, &str),
) {
    let (before, after) = (at(old, pointer), at(new, pointer));
    if before != after {
        report(
            code,
            format!("{field} of {} changes; the field is immutable", who(new)),
            "the API server refuses this update: keep the previous value, or delete the object \
             so that it is created again (for example with Argo CD's Replace=true sync option)",
        );
    }
}

fn service(old: &Value, new: &Value, report: &mut impl FnMut(&'static str, String, &str)) {
    let ip = |v: &Value| {
        at(v, "/spec/clusterIP")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let (before, after) = (ip(old), ip(new));
    // An absent clusterIP is allocated (or kept) by the API server; a change
    // counts when both sides set one, or when one side is headless (`None`).
    if before != after
        && ((!before.is_empty() && !after.is_empty()) || before == "None" || after == "None")
    {
        let show = |ip: &str| {
            if ip.is_empty() {
                "(allocated)".to_owned()
            } else {
                ip.to_owned()
            }
        };
        report(
            SERVICE_CLUSTER_IP,
            format!(
                "spec.clusterIP of {} changes from {} to {}; a Service's cluster IP (and whether it is headless) is immutable",
                who(new),
                show(&before),
                show(&after)
            ),
            "keep the previous clusterIP, or give the new kind of Service another name",
        );
        return;
    }
    let kind = |v: &Value| match at(v, "/spec/type").and_then(Value::as_str) {
        None | Some("") => "ClusterIP".to_owned(),
        Some(t) => t.to_owned(),
    };
    let (old_type, new_type) = (kind(old), kind(new));
    if old_type != new_type && (before == "None" || after == "None") {
        report(
            SERVICE_CLUSTER_IP,
            format!(
                "spec.type of headless {} changes from {old_type} to {new_type}; a headless Service stays headless",
                who(new)
            ),
            "keep the Service headless (type ClusterIP, clusterIP None), or give the new Service another name",
        );
    }
}

/// The labels of the pods `value` makes: a Pod's own, a workload's pod
/// template's.
fn pod_labels(value: &Value) -> Option<&serde_json::Map<String, Value>> {
    let pointer = if is(value, CORE, "Pod") {
        "/metadata/labels"
    } else if ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"]
        .iter()
        .any(|kind| is(value, APPS, kind))
    {
        "/spec/template/metadata/labels"
    } else {
        return None;
    };
    at(value, pointer).and_then(Value::as_object)
}

/// Whether a Service selector selects pods labelled `labels` (an empty
/// selector selects none: the Service's endpoints are not managed).
fn selects(
    selector: &serde_json::Map<String, Value>,
    labels: &serde_json::Map<String, Value>,
) -> bool {
    !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// `k=v,k=v`, or `(none)`.
fn selector_text(selector: Option<&Value>) -> String {
    match selector.and_then(Value::as_object) {
        Some(map) if !map.is_empty() => map
            .iter()
            .map(|(k, v)| format!("{k}={}", shown(Some(v))))
            .collect::<Vec<_>>()
            .join(","),
        _ => shown(selector),
    }
}

/// Warns when a Service's selector changes so that, the moment it applies,
/// the running pods (those the committed render makes) do not give it the
/// endpoints it will have: no committed pod carries the new labels, or a
/// workload whose pods the new selector is meant for (its new pod template
/// matches) carries them only once its pods are replaced. The API server
/// accepts the change; endpoints follow the selector at once, pods follow
/// their template one rollout later.
fn service_selector(
    old: &Value,
    new: &Value,
    old_all: &BTreeMap<String, Value>,
    new_all: &BTreeMap<String, Value>,
    report: &mut impl FnMut(&'static str, String, &str),
) {
    let (before, after) = (at(old, "/spec/selector"), at(new, "/spec/selector"));
    if before == after {
        return;
    }
    let empty = serde_json::Map::new();
    let selector = after.and_then(Value::as_object).unwrap_or(&empty);
    let namespace = text(new, "/metadata/namespace");
    let pods = |all: &'_ BTreeMap<String, Value>| -> BTreeMap<String, bool> {
        all.iter()
            .filter(|(_, v)| text(v, "/metadata/namespace") == namespace)
            .filter_map(|(path, v)| Some((path.clone(), selects(selector, pod_labels(v)?))))
            .collect()
    };
    let (running, coming) = (pods(old_all), pods(new_all));
    let late: Vec<String> = coming
        .iter()
        .filter(|&(path, &matches)| matches && running.get(path) == Some(&false))
        .filter_map(|(path, _)| new_all.get(path).map(who))
        .collect();
    let why = if !late.is_empty() {
        format!(
            "the pods of {} carry them only once they are replaced",
            late.join(", ")
        )
    } else if !running.values().any(|&m| m) {
        "no pod of the committed render carries them".to_owned()
    } else {
        return;
    };
    report(
        SERVICE_SELECTOR_CHANGED,
        format!(
            "spec.selector of {} changes from {} to {}; its endpoints follow the new labels as soon \
             as it applies, but {why}, so it has fewer endpoints (or none) until then",
            who(new),
            selector_text(before),
            selector_text(after)
        ),
        "the API server accepts this, but label the running pods first (kubectl label pod ...), \
         or put the labels on the pod template in an earlier sync and let the pods roll before \
         the Service selects on them",
    );
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The judgement with no removal allowed.
    fn judge(old: &BTreeMap<String, Value>, new: &BTreeMap<String, Value>) -> Judgement {
        super::judge(old, new, &BTreeSet::new())
    }

    fn one(path: &str, value: Value) -> BTreeMap<String, Value> {
        BTreeMap::from([(path.to_owned(), value)])
    }

    fn codes(old: &BTreeMap<String, Value>, new: &BTreeMap<String, Value>) -> Vec<&'static str> {
        judge(old, new).findings.iter().map(|f| f.code).collect()
    }

    fn cluster() -> Value {
        json!({"apiVersion": "multigres.com/v1alpha1", "kind": "MultigresCluster",
               "metadata": {"name": "minimal", "namespace": "default"}})
    }

    fn labelled(kind: &str, name: &str, spec: Value) -> Value {
        json!({"apiVersion": "multigres.com/v1alpha1", "kind": kind,
               "metadata": {"name": name, "namespace": "default",
                            "labels": {"multigres.com/cluster": "minimal"}},
               "spec": spec})
    }

    fn with(path: &str, value: Value, cluster: bool) -> BTreeMap<String, Value> {
        let mut map = one(path, value);
        if cluster {
            map.insert(
                "default/MultigresCluster/minimal.yaml".into(),
                super::tests::cluster(),
            );
        }
        map
    }

    #[test]
    fn every_code_is_registered_distinct_and_in_order() {
        let mut sorted = UPGRADE_CODES.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(UPGRADE_CODES, sorted);
        assert!(UPGRADE_CODES.iter().all(|c| code_info(c).is_some()));
    }

    #[test]
    fn mg301_a_removed_cell_is_named() {
        let path = "default/Cell/minimal-zone-b-1234abcd.yaml";
        let cell = labelled("Cell", "minimal-zone-b-1234abcd", json!({"name": "zone-b"}));
        let mut old = with(path, cell, true);
        let new = with("x", json!({}), true);
        let judgement = judge(&old, &new);
        assert_eq!(judgement.findings.len(), 1);
        let finding = &judgement.findings[0];
        assert_eq!(finding.code, CELL_REMOVED);
        assert_eq!(finding.path, path);
        assert_eq!(
            finding.message,
            "cell \"zone-b\" of MultigresCluster default/minimal is removed (Cell \
             default/minimal-zone-b-1234abcd); cells can only be added"
        );
        assert!(
            finding
                .display(Path::new("out"))
                .starts_with(&format!("out/{path}: error[MG301]: cell"))
        );
        // Removed with its whole cluster: a deletion, allowed.
        old.remove("default/MultigresCluster/minimal.yaml");
        assert!(judge(&old, &BTreeMap::new()).is_safe());
        // Unchanged: nothing to say.
        assert!(judge(&old, &old).is_safe());
    }

    #[test]
    fn mg302_a_removed_shard() {
        let shard = labelled(
            "Shard",
            "minimal-postgres-default-0-inf-1",
            json!({"shardName": "0-inf", "tableGroupName": "default", "databaseName": "postgres"}),
        );
        let old = with("default/Shard/s.yaml", shard, true);
        let judgement = judge(&old, &with("x", json!({}), true));
        assert_eq!(judgement.findings.len(), 1);
        assert_eq!(judgement.findings[0].code, SHARD_REMOVED);
        assert!(
            judgement.findings[0]
                .message
                .starts_with("shard \"0-inf\" of tablegroup \"default\" of database \"postgres\" of MultigresCluster default/minimal is removed"),
            "{}",
            judgement.findings[0].message
        );
        // Removed with its whole cluster: the cluster's removal is the one
        // finding.
        assert_eq!(codes(&old, &BTreeMap::new()), [CLUSTER_REMOVED]);
    }

    #[test]
    fn mg313_a_removed_cluster_is_refused_unless_allowed() {
        let cluster_path = "default/MultigresCluster/minimal.yaml";
        let cell = labelled("Cell", "minimal-zone-a-1", json!({"name": "zone-a"}));
        let old = with("default/Cell/minimal-zone-a-1.yaml", cell, true);
        let judgement = judge(&old, &BTreeMap::new());
        assert_eq!(judgement.findings.len(), 1, "{judgement:?}");
        let finding = &judgement.findings[0];
        assert_eq!(
            (finding.code, finding.path.as_str()),
            (CLUSTER_REMOVED, cluster_path)
        );
        assert!(
            finding.message.starts_with(
                "MultigresCluster default/minimal is removed: a GitOps tool that prunes"
            ),
            "{}",
            finding.message
        );
        assert!(!finding.message.contains("renaming"), "{}", finding.message);
        assert!(
            finding
                .hint
                .ends_with("pass --allow-removal default/minimal"),
            "{}",
            finding.hint
        );

        // Allowed: safe, and said so.
        let allowed = BTreeSet::from([("default".to_owned(), "minimal".to_owned())]);
        let judgement = super::judge(&old, &BTreeMap::new(), &allowed);
        assert!(judgement.findings.is_empty(), "{judgement:?}");
        assert_eq!(judgement.notes.len(), 1);
        assert!(judgement.notes[0].starts_with(
            "MultigresCluster default/minimal is removed, as --allow-removal default/minimal allows"
        ));

        // Renamed: the message says the other cluster is added.
        let mut renamed = BTreeMap::new();
        renamed.insert(
            "default/MultigresCluster/main.yaml".to_owned(),
            json!({"apiVersion": "multigres.com/v1alpha1", "kind": "MultigresCluster",
                   "metadata": {"name": "main", "namespace": "default"}}),
        );
        let judgement = judge(&old, &renamed);
        assert_eq!(judgement.findings.len(), 1, "{judgement:?}");
        assert!(
            judgement.findings[0].message.contains(
                "; MultigresCluster default/main is added in the same change: renaming a cluster \
                 is removing it and adding a new, empty one"
            ),
            "{}",
            judgement.findings[0].message
        );

        // An allowance that matches no removal is noted (a typo, most likely),
        // and allows nothing else.
        let typo = BTreeSet::from([("default".to_owned(), "minimall".to_owned())]);
        let judgement = super::judge(&old, &renamed, &typo);
        assert_eq!(judgement.errors(), 1);
        assert_eq!(
            judgement.notes,
            [
                "--allow-removal default/minimall: this change removes no MultigresCluster of that name"
            ]
        );
        // A cluster of the same name in another namespace is another cluster.
        let mut moved = cluster();
        moved["metadata"]["namespace"] = json!("prod");
        let moved = one("prod/MultigresCluster/minimal.yaml", moved);
        assert_eq!(codes(&old, &moved), [CLUSTER_REMOVED]);
        // Kept: nothing to say.
        assert!(judge(&old, &old).findings.is_empty());
    }

    #[test]
    fn cluster_names_are_namespace_slash_name() {
        assert_eq!(
            parse_cluster_name("default/minimal"),
            Ok(("default".to_owned(), "minimal".to_owned()))
        );
        for bad in ["minimal", "/minimal", "default/", "a/b/c", ""] {
            let error = parse_cluster_name(bad).unwrap_err();
            assert!(error.contains("expected NAMESPACE/NAME"), "{error}");
        }
    }

    fn shard(pools: Value) -> BTreeMap<String, Value> {
        one(
            "default/Shard/s.yaml",
            labelled("Shard", "s", json!({"pools": pools})),
        )
    }

    #[test]
    fn mg303_mg304_mg219_pools() {
        let old = shard(json!({
            "main": {"cells": ["a", "b"], "storage": {"size": "10Gi"}},
            "reporting": {"cells": ["a"], "storage": {"size": "1Gi"}},
        }));
        // Renamed pool, a cell dropped, storage shrunk (1024Mi == 1Gi is no shrink).
        let new = shard(json!({
            "main": {"cells": ["b", "c"], "storage": {"size": "9Gi"}},
            "reports": {"cells": ["a"], "storage": {"size": "1024Mi"}},
        }));
        assert_eq!(
            codes(&old, &new),
            [STORAGE_SHRINK, POOL_REMOVED, POOL_CELL_REMOVED]
        );
        let messages: Vec<String> = judge(&old, &new)
            .findings
            .into_iter()
            .map(|f| f.message)
            .collect();
        assert!(
            messages[0].contains("shrinks from 10Gi to 9Gi"),
            "{messages:?}"
        );
        assert!(
            messages[1].starts_with(
                "pool \"reporting\" of Shard default/s of MultigresCluster default/minimal"
            ),
            "{messages:?}"
        );
        assert!(
            messages[2].starts_with("cell \"a\" is removed from pool \"main\""),
            "{messages:?}"
        );
        // Growing, adding pools and cells is fine; equal values in other units too.
        let grown = shard(json!({
            "main": {"cells": ["a", "b", "c"], "storage": {"size": "10240Mi"}},
            "reporting": {"cells": ["a"], "storage": {"size": "2Gi"}},
            "extra": {"cells": ["a"]},
        }));
        assert!(judge(&old, &grown).is_safe());
        // Invalid quantities are not judged (the schema reports them).
        let invalid = shard(json!({
            "main": {"cells": ["a", "b"], "storage": {"size": "lots"}},
            "reporting": {"cells": ["a"], "storage": {"size": 1}},
        }));
        assert_eq!(codes(&old, &invalid), [STORAGE_SHRINK]);
    }

    #[test]
    fn mg305_backup_encryption() {
        let tg = |backup: Value| {
            one(
                "default/TableGroup/t.yaml",
                labelled("TableGroup", "t", json!({"backup": backup})),
            )
        };
        let plain = tg(json!({"type": "s3"}));
        let kms = tg(json!({"type": "s3", "encryption": {"kmsKeyId": "k1"}}));
        let other = tg(json!({"type": "s3", "encryption": {"kmsKeyId": "k2"}}));
        assert_eq!(codes(&plain, &kms), [BACKUP_ENCRYPTION_CHANGED]);
        assert_eq!(codes(&kms, &plain), [BACKUP_ENCRYPTION_CHANGED]);
        assert_eq!(codes(&kms, &other), [BACKUP_ENCRYPTION_CHANGED]);
        assert!(judge(&kms, &kms).is_safe());
        assert!(
            judge(&kms, &plain).findings[0]
                .message
                .contains("is removed")
        );
        let shard_plain = shard(json!({}));
        let mut shard_kms = shard(json!({}));
        shard_kms.get_mut("default/Shard/s.yaml").unwrap()["spec"]["backup"] =
            json!({"encryption": {"a": 1}});
        assert_eq!(codes(&shard_plain, &shard_kms), [BACKUP_ENCRYPTION_CHANGED]);
    }

    fn topo(replicas: Value, size: &str) -> BTreeMap<String, Value> {
        one(
            "default/TopoServer/t.yaml",
            labelled(
                "TopoServer",
                "t",
                json!({"etcd": {"replicas": replicas, "storage": {"size": size}}}),
            ),
        )
    }

    #[test]
    fn mg219_mg220_topo_server() {
        let old = topo(json!(3), "1Gi");
        assert_eq!(codes(&old, &topo(json!(5), "1Gi")), [ETCD_REPLICAS_CHANGED]);
        assert_eq!(codes(&old, &topo(json!(3), "512Mi")), [STORAGE_SHRINK]);
        assert!(judge(&old, &topo(json!(3), "2Gi")).is_safe());
        let message = &judge(&old, &topo(json!(5), "1Gi")).findings[0].message;
        assert!(message.contains("from 3 to 5"), "{message}");
    }

    fn pvc(spec: Value) -> BTreeMap<String, Value> {
        one(
            "default/PersistentVolumeClaim/p.yaml",
            json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                   "metadata": {"name": "p", "namespace": "default"}, "spec": spec}),
        )
    }

    #[test]
    fn mg219_mg310_persistent_volume_claims() {
        let old = pvc(
            json!({"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10Gi"}}}),
        );
        let smaller = pvc(
            json!({"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "5Gi"}}}),
        );
        assert_eq!(codes(&old, &smaller), [STORAGE_SHRINK]);
        let larger = pvc(
            json!({"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "20Gi"}}}),
        );
        assert!(judge(&old, &larger).is_safe());
        let rwx = pvc(
            json!({"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "10Gi"}}}),
        );
        assert_eq!(codes(&old, &rwx), [PVC_IMMUTABLE]);
        let class = pvc(
            json!({"accessModes": ["ReadWriteOnce"], "storageClassName": "fast",
                               "resources": {"requests": {"storage": "10Gi"}}}),
        );
        assert_eq!(codes(&old, &class), [PVC_IMMUTABLE]);
        let bound = pvc(
            json!({"accessModes": ["ReadWriteOnce"], "volumeName": "pv-1",
                               "resources": {"requests": {"storage": "10Gi"}}}),
        );
        assert_eq!(codes(&old, &bound), [PVC_IMMUTABLE]);
        assert!(
            judge(&old, &bound).findings[0]
                .message
                .starts_with("spec.volumeName of PersistentVolumeClaim default/p changes")
        );
    }

    fn workload(kind: &str, spec: Value) -> BTreeMap<String, Value> {
        one(
            &format!("default/{kind}/w.yaml"),
            json!({"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": "w", "namespace": "default"}, "spec": spec}),
        )
    }

    #[test]
    fn mg308_mg309_workloads() {
        let selector = |app: &str| json!({"matchLabels": {"app": app}});
        let old = workload(
            "Deployment",
            json!({"selector": selector("a"), "replicas": 1}),
        );
        assert_eq!(
            codes(
                &old,
                &workload(
                    "Deployment",
                    json!({"selector": selector("b"), "replicas": 1})
                )
            ),
            [SELECTOR_CHANGED]
        );
        assert!(
            judge(
                &old,
                &workload(
                    "Deployment",
                    json!({"selector": selector("a"), "replicas": 2})
                )
            )
            .is_safe()
        );
        let sts = |selector: Value, service: &str, vct: Value, policy: &str| {
            workload(
                "StatefulSet",
                json!({"selector": selector, "serviceName": service, "volumeClaimTemplates": vct,
                       "podManagementPolicy": policy, "replicas": 3}),
            )
        };
        let vct = |size: &str| json!([{"metadata": {"name": "data"}, "spec": {"resources": {"requests": {"storage": size}}}}]);
        let old = sts(selector("a"), "h", vct("1Gi"), "Parallel");
        assert_eq!(
            codes(&old, &sts(selector("b"), "h", vct("1Gi"), "Parallel")),
            [SELECTOR_CHANGED]
        );
        assert_eq!(
            codes(&old, &sts(selector("a"), "h2", vct("1Gi"), "Parallel")),
            [STATEFULSET_IMMUTABLE]
        );
        assert_eq!(
            codes(&old, &sts(selector("a"), "h", vct("2Gi"), "Parallel")),
            [STATEFULSET_IMMUTABLE]
        );
        assert_eq!(
            codes(&old, &sts(selector("a"), "h", vct("1Gi"), "OrderedReady")),
            [STATEFULSET_IMMUTABLE]
        );
        assert!(judge(&old, &old).is_safe());
        // Another group's kind of the same name is not judged.
        let mut foreign = old.clone();
        foreign.get_mut("default/StatefulSet/w.yaml").unwrap()["apiVersion"] =
            json!("example.com/v1");
        let mut foreign_new = sts(selector("b"), "h", vct("1Gi"), "Parallel");
        foreign_new.get_mut("default/StatefulSet/w.yaml").unwrap()["apiVersion"] =
            json!("example.com/v1");
        assert!(judge(&foreign, &foreign_new).is_safe());
    }

    fn service(spec: Value) -> BTreeMap<String, Value> {
        one(
            "default/Service/s.yaml",
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "default"}, "spec": spec}),
        )
    }

    #[test]
    fn mg311_services() {
        let headless = service(json!({"clusterIP": "None", "ports": [{"port": 1}]}));
        let allocated = service(json!({"ports": [{"port": 1}]}));
        let fixed = service(json!({"clusterIP": "10.0.0.1"}));
        let other = service(json!({"clusterIP": "10.0.0.2"}));
        assert_eq!(codes(&headless, &allocated), [SERVICE_CLUSTER_IP]);
        assert_eq!(codes(&allocated, &headless), [SERVICE_CLUSTER_IP]);
        assert_eq!(codes(&fixed, &other), [SERVICE_CLUSTER_IP]);
        // The API server keeps an allocated IP when the manifest stops naming it.
        assert!(judge(&fixed, &allocated).is_safe());
        assert!(judge(&allocated, &fixed).is_safe());
        let node_port = service(json!({"clusterIP": "None", "type": "NodePort"}));
        assert_eq!(codes(&headless, &node_port), [SERVICE_CLUSTER_IP]);
        assert!(
            judge(&headless, &node_port).findings[0]
                .message
                .starts_with("spec.type of headless Service default/s")
        );
        let load_balancer = service(json!({"type": "LoadBalancer"}));
        assert!(judge(&allocated, &load_balancer).is_safe());
        let explicit =
            service(json!({"clusterIP": "None", "type": "ClusterIP", "ports": [{"port": 2}]}));
        assert!(judge(&headless, &explicit).is_safe());
    }

    /// A Service `s` selecting `selector`, beside a StatefulSet `etcd` whose
    /// pods are labelled `pods` (each in namespace `default`).
    fn selected(selector: Value, pods: Value) -> BTreeMap<String, Value> {
        let mut objects = service(json!({"selector": selector}));
        objects.insert(
            "default/StatefulSet/etcd.yaml".into(),
            json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
                   "metadata": {"name": "etcd", "namespace": "default"},
                   "spec": {"selector": {"matchLabels": {"app": "etcd"}},
                            "template": {"metadata": {"labels": pods}}}}),
        );
        objects
    }

    #[test]
    fn mg312_a_service_selector_ahead_of_its_pods_is_a_warning() {
        let plain = json!({"app": "etcd"});
        let own = json!({"app": "etcd", "multigres.com/toposerver": "etcd"});
        // Adopting unlabelled pods: the Service selects on the label at the
        // same sync that adds it to the pod template.
        let old = selected(plain.clone(), plain.clone());
        let new = selected(own.clone(), own.clone());
        let judgement = judge(&old, &new);
        assert_eq!(codes(&old, &new), [SERVICE_SELECTOR_CHANGED]);
        let finding = &judgement.findings[0];
        assert_eq!(finding.severity, Severity::Warning);
        assert_eq!(finding.path, "default/Service/s.yaml");
        assert!(
            finding.message.starts_with(
                "spec.selector of Service default/s changes from app=etcd to \
                 app=etcd,multigres.com/toposerver=etcd; its endpoints follow"
            ),
            "{}",
            finding.message
        );
        assert!(
            finding.message.contains(
                "but the pods of StatefulSet default/etcd carry them only once they are replaced"
            ),
            "{}",
            finding.message
        );
        assert!(
            finding
                .display(Path::new("out"))
                .starts_with("out/default/Service/s.yaml: warning[MG312]: spec.selector")
        );
        // A warning alone does not make the update unsafe.
        assert!(judgement.is_safe());
        assert_eq!((judgement.errors(), judgement.warnings()), (0, 1));
        // Pods labelled in an earlier sync: the selector change is safe.
        let labelled = selected(plain.clone(), own.clone());
        assert!(judge(&labelled, &new).findings.is_empty());
        // Loosening a selector the running pods match: nothing to say.
        assert!(
            judge(&new, &selected(plain.clone(), own.clone()))
                .findings
                .is_empty()
        );
        // No committed pod carries the new labels (here: no pods at all).
        let alone = |selector: Value| service(json!({"selector": selector}));
        let lone = judge(&alone(plain), &alone(own));
        assert_eq!(lone.findings.len(), 1);
        assert!(
            lone.findings[0]
                .message
                .contains("but no pod of the committed render carries them"),
            "{}",
            lone.findings[0].message
        );
        // Unchanged selectors are not judged.
        assert!(judge(&old, &old).findings.is_empty());
    }

    #[test]
    fn malformed_values_do_not_panic() {
        let odd = [
            json!(null),
            json!([]),
            json!({"kind": "Shard", "apiVersion": "multigres.com/v1alpha1", "spec": {"pools": {"p": 3}}}),
            json!({"kind": "Shard", "apiVersion": "multigres.com/v1alpha1", "spec": {"pools": []}}),
            json!({"kind": "Service", "apiVersion": "v1", "spec": {"clusterIP": 5, "type": []}}),
            json!({"kind": "Service", "apiVersion": "v1", "spec": {"selector": [1]}}),
            json!({"kind": "Service", "apiVersion": "v1", "spec": {"selector": {"a": 1}}}),
            json!({"kind": "Pod", "apiVersion": "v1", "metadata": {"labels": "x"}}),
            json!({"kind": "TopoServer", "apiVersion": "multigres.com/v1alpha1", "spec": {"etcd": "x"}}),
            json!({"kind": "Cell", "apiVersion": "multigres.com/v1alpha1", "metadata": {"labels": 1}}),
        ];
        for a in &odd {
            for b in &odd {
                let _ = judge(&one("p", a.clone()), &one("p", b.clone()));
            }
            let _ = judge(&one("p", a.clone()), &BTreeMap::new());
        }
    }

    fn file(path: &str, text: &str) -> File {
        File {
            path: path.into(),
            text: text.into(),
        }
    }

    #[test]
    fn diffs_pair_files_by_path() {
        let old = [
            file("a/K/same.yaml", "x\n"),
            file("a/K/gone.yaml", "g\n"),
            file("a/K/edit.yaml", "1\n2\n3\n4\n5\n6\n7\n8\n"),
        ];
        let new = [
            file("a/K/same.yaml", "x\n"),
            file("a/K/new.yaml", "n\n"),
            file("a/K/edit.yaml", "1\n2\n3\n4\nfive\n6\n7\n8\n"),
        ];
        let diffs = diff(&old, &new);
        let summary: Vec<(&str, Change)> =
            diffs.iter().map(|d| (d.path.as_str(), d.change)).collect();
        assert_eq!(
            summary,
            [
                ("a/K/edit.yaml", Change::Changed),
                ("a/K/gone.yaml", Change::Removed),
                ("a/K/new.yaml", Change::Added)
            ]
        );
        assert_eq!(
            unified(&diffs[0], false),
            "--- a/a/K/edit.yaml\n+++ b/a/K/edit.yaml\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n"
        );
        assert_eq!(
            unified(&diffs[2], false),
            "--- a/a/K/new.yaml\n+++ b/a/K/new.yaml\n@@ -0,0 +1 @@\n+n\n"
        );
        let coloured = unified(&diffs[1], true);
        assert!(coloured.contains("\x1b[31m-g\x1b[0m\n"), "{coloured:?}");
        assert!(
            coloured.contains("\x1b[36m@@ -1 +0,0 @@\x1b[0m\n"),
            "{coloured:?}"
        );
        let no_newline = FileDiff {
            path: "p".into(),
            change: Change::Changed,
            old: "a".into(),
            new: "b\n".into(),
        };
        assert!(unified(&no_newline, false).contains("-a\n\\ No newline at end of file\n+b\n"));
    }

    #[test]
    fn committed_files_must_each_hold_one_object() {
        let good = file("d/K/a.yaml", "kind: K\n");
        assert_eq!(
            parse_objects(std::slice::from_ref(&good), Path::new("out"))
                .unwrap()
                .len(),
            1
        );
        let errors = parse_objects(
            &[
                good,
                file("d/K/b.yaml", "a: [\n"),
                file("d/K/c.yaml", "- 1\n"),
                file("d/K/d.yaml", "a: 1\n---\nb: 2\n"),
            ],
            Path::new("out"),
        )
        .unwrap_err();
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors[0].starts_with("out/d/K/b.yaml:"), "{errors:?}");
        assert!(errors[0].contains(": error[MG001]: "), "{errors:?}");
        assert!(
            errors[1].starts_with("out/d/K/c.yaml:1:1: error[MG004]"),
            "{errors:?}"
        );
    }
}
