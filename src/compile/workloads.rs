//! From a cluster's generated children to every Kubernetes object the
//! operator would create for them from the spec alone (the "static" ones),
//! and, on request, the runtime objects the reconciler will own.

use std::collections::{BTreeMap, HashMap};

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::Parent;
use super::diagnostics::{self as codes, Severity};
use super::expand::Generated;
use super::load::ObjectSource;
use super::path::FieldPath;
use super::provenance::Source;
use super::resolve::ClusterResolved;
use super::size;
use super::validate::Finding;
use crate::api::cluster::MultigresClusterSpec;
use crate::api::{Cell, Kind, Shard, TopoServer};
use crate::images::{Component, ImageSet};
use crate::labels;
use crate::manifests::{
    self, BuildError, Built, cluster::ClusterParts, otel::Otel, pool::PodInputs, shard::ConfigFiles,
};
use crate::pgconf;
use crate::pgconf::settings as pgconfig;

/// What the builders of one cluster need.
pub struct ClusterContext<'a> {
    pub name: &'a str,
    pub namespace: &'a str,
    pub spec: &'a MultigresClusterSpec,
    pub resolved: &'a ClusterResolved,
    pub images: &'a ImageSet,
    /// Where the cluster was read from.
    pub source: &'a super::load::ObjectSource,
    /// ConfigMaps among the inputs, by namespace and name (for `postgresConfigRef`).
    /// Input ConfigMaps by namespace and name, with where each was written.
    pub config_maps: &'a HashMap<(String, String), (&'a Value, &'a ObjectSource)>,
}

/// Static and runtime objects of one cluster, each with the child it was
/// built from, and problems found building them.
#[derive(Default)]
pub struct Workloads {
    pub objects: Vec<(Built, Parent)>,
    pub runtime: Vec<(Built, Parent)>,
    pub findings: Vec<Finding>,
    /// Bytes of `objects` and `runtime`, as compact JSON.
    pub bytes: usize,
}

impl Workloads {
    /// Adds built objects, counting their bytes. A generated object larger
    /// than the API server stores is an error (a template's bulky value
    /// copied into it, say).
    fn add(&mut self, objects: impl IntoIterator<Item = Built>, parent: &Parent, runtime: bool) {
        for object in objects {
            let size = size::json_len(&object.value);
            if size > size::MAX_OBJECT_BYTES {
                self.findings.push(Finding {
                    severity: Severity::Error,
                    code: codes::INPUT_LIMIT,
                    path: FieldPath::root().key("spec"),
                    at_key: true,
                    message: format!(
                        "the generated {} {}/{} would be {size} bytes as JSON; the API server \
                         stores objects of at most {} bytes",
                        object.kind,
                        object.namespace,
                        object.name,
                        size::MAX_OBJECT_BYTES
                    ),
                    hint: Some(
                        "move bulky values (affinity, postgresConfig) out of the templates".into(),
                    ),
                    elsewhere: None,
                });
            }
            self.bytes += size;
            if runtime {
                self.runtime.push((object, parent.clone()));
            } else {
                self.objects.push((object, parent.clone()));
            }
        }
    }

    fn count(&self) -> usize {
        self.objects.len() + self.runtime.len()
    }
}

/// No operator environment when rendering: telemetry comes from the spec only.
fn no_env() -> &'static BTreeMap<String, String> {
    static EMPTY: BTreeMap<String, String> = BTreeMap::new();
    &EMPTY
}

/// How many objects and bytes the output may hold, and how many it holds
/// already. Checked before each child, and each pool's pods in one cell, is
/// built, so a breach overshoots by at most one such group.
#[derive(Debug, Clone, Copy)]
pub struct OutputBudget {
    pub max_objects: usize,
    pub objects: usize,
    pub max_bytes: usize,
    pub bytes: usize,
    pub front_end: super::FrontEnd,
}

impl OutputBudget {
    /// Whether `objects` and `bytes` more would exceed either limit.
    pub fn exceeded_by(&self, objects: usize, bytes: usize) -> bool {
        self.objects.saturating_add(objects) > self.max_objects
            || self.bytes.saturating_add(bytes) > self.max_bytes
    }

    /// The error reported where the budget ran out.
    pub fn breach(&self, objects: usize) -> Finding {
        let (message, hint) = if self.objects.saturating_add(objects) > self.max_objects {
            (
                format!(
                    "the output would hold more than {} objects (inputs and generated ones); \
                     stopped at this cluster",
                    self.max_objects
                ),
                self.front_end.limit_hint("--max-objects"),
            )
        } else {
            (
                format!(
                    "the output would be larger than {} bytes (inputs and generated objects, as \
                     JSON); stopped at this cluster",
                    self.max_bytes
                ),
                self.front_end.limit_hint("--max-output-bytes"),
            )
        };
        Finding {
            severity: Severity::Error,
            code: codes::INPUT_LIMIT,
            path: FieldPath::root().key("spec"),
            at_key: true,
            message,
            hint: Some(hint),
            elsewhere: None,
        }
    }
}

/// Builds the objects of one cluster. Stops with an error finding once the
/// budget is spent (a shard adds at most a few thousand objects), so that a
/// small cluster asking for a huge fleet cannot exhaust memory.
pub fn build(
    ctx: &ClusterContext<'_>,
    children: &[Generated],
    preview_runtime: bool,
    budget: OutputBudget,
) -> Workloads {
    let mut out = Workloads::default();
    let settings = &ctx.resolved.settings;
    let global_topo = children
        .iter()
        .find(|c| c.kind == Kind::Cell)
        .map(typed::<Cell>)
        .map(|c| c.spec.global_topo_server)
        .unwrap_or_default();
    let parts = ClusterParts {
        name: ctx.name,
        namespace: ctx.namespace,
        images: &settings.images,
        log_levels: &settings.log_levels,
        postgres_superuser: &settings.postgres_superuser,
        global_topo: &global_topo,
        multiadmin: &ctx.resolved.multiadmin.value.spec,
        multiadmin_placement: ctx.resolved.multiadmin.value.placement.as_ref(),
        multiadmin_web: &ctx.resolved.multiadmin_web.value,
        external_gateway: ctx.spec.external_gateway.as_ref(),
        external_admin_web: ctx.spec.external_admin_web.as_ref(),
        internal_tls: settings.internal_tls.as_ref().and_then(|t| t.enabled) == Some(true),
        otel: Otel {
            config: settings.observability.as_ref(),
            fallback: no_env(),
        },
    };
    out.add(manifests::cluster::build(&parts), &Parent::Cluster, false);
    out.add(
        manifests::certificates::build(
            ctx.name,
            ctx.namespace,
            parts.internal_tls,
            settings.cert_common_name.as_deref(),
        ),
        &Parent::Cluster,
        false,
    );

    let has_local_topo = children.iter().any(|c| {
        c.kind == Kind::TopoServer
            && c.value
                .pointer("/metadata/labels/multigres.com~1cell")
                .is_some()
    });
    for child in children {
        // Before each child: a breach overshoots by one child's objects.
        if budget.exceeded_by(out.count(), out.bytes) {
            break;
        }
        let parent = Parent::Child {
            kind: child.kind,
            name: child.name.clone(),
        };
        match child.kind {
            Kind::TopoServer => {
                let topo = typed::<TopoServer>(child);
                let global = topo
                    .metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get(labels::CELL))
                    .is_none();
                out.add(
                    built_from(manifests::topo::build(
                        &topo,
                        &settings.images.pull,
                        global && has_local_topo,
                    )),
                    &parent,
                    false,
                );
            }
            Kind::Cell => {
                let cell = typed::<Cell>(child);
                out.add(
                    built_from(manifests::gateway::build(&cell, no_env())),
                    &parent,
                    false,
                );
            }
            Kind::Shard => {
                let shard = typed::<Shard>(child);
                shard_objects(
                    ctx,
                    child,
                    &shard,
                    preview_runtime,
                    budget,
                    &mut out,
                    &parent,
                );
            }
            _ => {}
        }
    }
    if budget.exceeded_by(out.count(), out.bytes) {
        out.findings.push(budget.breach(out.count()));
    }
    out
}

/// A builder's objects. The compiler made every child it builds from, with
/// its identity, so an error is a broken invariant: an internal error
/// naming the child (exit 3), never objects with empty names.
fn built_from<T>(result: Result<T, BuildError>) -> T {
    result.unwrap_or_else(|e| panic!("internal error: {e}"))
}

/// A child as its type. Children are serialised from these very types, so
/// a failure is an internal error naming the child, never a child whose
/// objects silently vanish.
fn typed<T: DeserializeOwned>(child: &Generated) -> T {
    // Read in place: cloning the value first would double the cost.
    T::deserialize(&child.value).unwrap_or_else(|e| {
        panic!(
            "internal error: the generated {} {}/{} does not match its type: {e}",
            child.kind.name(),
            child.namespace,
            child.name
        )
    })
}

fn shard_objects(
    ctx: &ClusterContext<'_>,
    child: &Generated,
    shard: &Shard,
    preview_runtime: bool,
    budget: OutputBudget,
    out: &mut Workloads,
    parent: &Parent,
) {
    let spec = &shard.spec;
    let reference_body = match &spec.postgres_config_ref {
        None => None,
        Some(reference) => {
            let data_pointer = format!(
                "/data/{}",
                reference.key.replace('~', "~0").replace('/', "~1")
            );
            let config_map = ctx
                .config_maps
                .get(&(ctx.namespace.to_owned(), reference.name.clone()));
            let found = config_map.and_then(|(config_map, source)| {
                let body = config_map.pointer(&data_pointer)?.as_str()?;
                Some((body, *source))
            });
            let Some((body, source)) = found else {
                // The ConfigMap is missing (its name is wrong), or it lacks the key.
                let field = if config_map.is_some() { "key" } else { "name" };
                out.findings.push(missing_reference(
                    ctx,
                    child,
                    &reference.name,
                    &reference.key,
                    field,
                ));
                return;
            };
            let owned = owned_settings_in_body(body, &reference.name, &reference.key);
            if !owned.is_empty() {
                out.findings
                    .extend(owned.into_iter().map(|message| Finding {
                        severity: Severity::Error,
                        code: codes::PG_MANAGED_PARAMETER,
                        path: FieldPath::from_pointer(&data_pointer),
                        at_key: true,
                        message,
                        hint: Some(
                            "remove the setting from the ConfigMap: the operator sets it".into(),
                        ),
                        elsewhere: Some(source.clone()),
                    }));
                return;
            }
            Some(body)
        }
    };
    let rendered = built_from(pgconf::render_for_shard(shard, reference_body));
    let files = ConfigFiles {
        postgresql_conf: rendered.text.clone(),
        pg_hba_template: pgconf::pg_hba_template(),
        exporter_queries: pgconf::exporter_queries(),
    };
    out.add(
        built_from(manifests::shard::build(shard, &files, no_env())),
        parent,
        false,
    );
    if !preview_runtime {
        return;
    }
    let inputs = PodInputs {
        config_hash: &rendered.restart_hash,
        reload_hash: &rendered.reload_hash,
        exporter_image: ctx.images.image(Component::PostgresExporter),
        otel_fallback: no_env(),
    };
    for (pool_name, pool) in &spec.pools {
        for cell in &pool.cells {
            // The caller reports the breach.
            if budget.exceeded_by(out.count(), out.bytes) {
                return;
            }
            for index in 0..u32::try_from(pool.replicas_per_cell.unwrap_or(1)).unwrap_or(0) {
                if let Some(objects) = built_from(manifests::pool::build(
                    shard, pool_name, cell, index, &inputs,
                )) {
                    out.add(objects.into_iter().map(mark_local_config), parent, true);
                }
            }
        }
    }
}

/// Runtime previews are for reading: no tool applies them.
fn mark_local_config(mut object: Built) -> Built {
    if let Some(metadata) = object
        .value
        .get_mut("metadata")
        .and_then(Value::as_object_mut)
    {
        let annotations = metadata
            .entry("annotations")
            .or_insert_with(|| Value::Object(Default::default()));
        if let Some(annotations) = annotations.as_object_mut() {
            annotations.insert(labels::LOCAL_CONFIG.into(), Value::String("true".into()));
        }
    }
    object
}

/// The settings of a `postgresConfigRef` body that the operator owns, as
/// messages naming the line. Upstream copies the body verbatim, so `port` or
/// `hba_file` there would bypass the rule that refuses them inline (MG203).
fn owned_settings_in_body(body: &str, name: &str, key: &str) -> Vec<String> {
    body.lines()
        .enumerate()
        .filter_map(|(index, line)| {
            let setting = pgconf::setting_name(line)?;
            let why = pgconfig::owned_by_operator(setting)?;
            Some(format!(
                "ConfigMap {name} key {key:?}, line {} of the body: parameter {:?} is managed \
                 by the operator and cannot be set: {why}",
                index + 1,
                setting.to_ascii_lowercase()
            ))
        })
        .collect()
}

fn missing_reference(
    ctx: &ClusterContext<'_>,
    child: &Generated,
    name: &str,
    key: &str,
    field: &str,
) -> Finding {
    let namespace = ctx.namespace;
    // Point at whichever input wrote the reference (the cluster or a
    // template), at the field that names what is missing.
    let source = child
        .prov
        .lookup(&format!("/spec/postgresConfigRef/{field}"))
        .and_then(|s: Source| s.at);
    let (path, elsewhere) = match source {
        Some((object, pointer)) => {
            let elsewhere = (&object != ctx.source).then_some(object);
            (FieldPath::from_pointer(&pointer), elsewhere)
        }
        None => (FieldPath::root(), None),
    };
    Finding {
        severity: Severity::Error,
        code: codes::CONFIG_REF_MISSING,
        path,
        at_key: false,
        message: format!("postgresConfigRef names ConfigMap {namespace}/{name} key {key:?}, which is not among the inputs"),
        hint: Some(
            "pass the ConfigMap with the cluster (render needs its body to build postgresql.conf), or move the settings to postgresConfig"
                .into(),
        ),
        elsewhere,
    }
}
