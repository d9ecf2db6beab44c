//! The pure compiler: inputs in, objects or diagnostics out.
//!
//! ```text
//! load      YAML streams -> objects that remember file, line and column
//! admit     what the API server does: defaults, schema, CEL rules
//! resolve   the template chain, recording where every value came from
//! validate  the upstream webhook's rules that can be judged offline
//! expand    child objects with every default written out
//! ```
//!
//! [`compile`] reads no files, clock or environment: front ends pass file
//! contents and flags in, and print what comes out.

pub mod emit;
// Diagnostics, field paths and the located YAML reader live below the
// compiler (the API's rules and the image set use them too); the compiler
// re-exports them under their old paths.
pub use crate::{diagnostics, field_path as path, yaml};
pub mod expand;
pub mod load;
pub mod provenance;
pub mod resolve;
pub mod schema;
pub mod size;
pub mod validate;
pub mod workloads;

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::api::{CellTemplate, CoreTemplate, Kind, MultigresCluster, ShardTemplate};
use crate::images::ImageSet;
use crate::labels;
use diagnostics::{self as codes, Diagnostic, Diagnostics, Severity, Subject};
use load::{LoadedObject, ObjectSource, Sources};
use path::FieldPath;
use provenance::Provenance;
use resolve::{Catalog, Found};

pub use load::{Input, InputLimits};

/// Everything a compilation depends on besides the inputs.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Namespace of objects that set none (`--namespace`).
    pub namespace: Option<String>,
    pub images: ImageSet,
    pub limits: InputLimits,
    /// Also emit the runtime objects the reconciler will create (pool Pods
    /// and their data PVCs), marked `config.kubernetes.io/local-config`.
    pub preview_runtime: bool,
    /// Who runs the compiler: hints name that front end's settings.
    pub front_end: FrontEnd,
}

/// The program that runs the compiler. Its settings differ (the command
/// line's `--namespace` is the Argo CD Application's destination namespace
/// and the KRM function's `namespace` option), so hints name the right one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FrontEnd {
    #[default]
    CommandLine,
    ArgoCdPlugin,
    KrmFunction,
}

impl FrontEnd {
    /// How to give objects without one a namespace.
    pub fn namespace_hint(self) -> &'static str {
        match self {
            FrontEnd::CommandLine => "set metadata.namespace or pass --namespace",
            FrontEnd::ArgoCdPlugin => {
                "set metadata.namespace, or give the Application a destination namespace \
                 (spec.destination.namespace, which the plugin reads as ARGOCD_APP_NAMESPACE)"
            }
            FrontEnd::KrmFunction => "set metadata.namespace or the functionConfig's namespace",
        }
    }

    /// What to do about a budget the inputs exceed; `flag` raises it on the
    /// command line. The plugin and the function have fixed budgets.
    pub fn limit_hint(self, flag: &str) -> String {
        match self {
            FrontEnd::CommandLine => format!("split the inputs, or raise the limit with {flag}"),
            FrontEnd::ArgoCdPlugin => "split the application into several Applications: the \
                 plugin runs with the default limits (check locally with `multigres render`, \
                 whose --max-* flags show how far over it is)"
                .into(),
            FrontEnd::KrmFunction => "split the package: the function runs with the default \
                 limits (docs/limits.md)"
                .into(),
        }
    }
}

/// Where an emitted object comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// An input object, emitted unchanged.
    Input(ObjectSource),
    /// Generated from the MultigresCluster of that name (in the object's
    /// namespace), for `parent`.
    Generated { cluster: String, parent: Parent },
}

/// The object a generated object belongs to, in its namespace: the owner
/// the reconciler gives it (`ownerReferences`), so that deleting a child
/// deletes what was built from it, as upstream's controllers split them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parent {
    /// The MultigresCluster itself.
    Cluster,
    /// A child custom resource of the cluster (a Cell, TableGroup, Shard or
    /// TopoServer) of that name.
    Child { kind: Kind, name: String },
}

/// One object of the output.
#[derive(Debug, Clone)]
pub struct Object {
    pub api_version: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    pub value: Value,
    pub origin: Origin,
    /// For generated objects: where each field came from.
    pub prov: Provenance,
}

/// What a compilation that found no error produced. With any error,
/// [`compile`] returns every diagnostic instead (errors and warnings), and no
/// object: all or nothing.
#[derive(Debug, Default)]
pub struct Bundle {
    /// The inputs as read, for positions (`explain`).
    pub sources: Sources,
    /// Sorted in emission order (see [`emit::sort_key`]).
    pub objects: Vec<Object>,
    /// Warnings only.
    pub warnings: Diagnostics,
}

/// Every diagnostic of a compilation: the errors and warnings of a failure,
/// or the warnings of a success.
pub fn diagnostics_of(result: &Result<Bundle, Diagnostics>) -> &Diagnostics {
    match result {
        Ok(bundle) => &bundle.warnings,
        Err(diagnostics) => diagnostics,
    }
}

/// Checks a namespace given outside the inputs (`--namespace`, an Argo CD
/// Application's destination, a KRM function's option): every object gets
/// it, so it must be a DNS-1123 label as the API server requires.
pub fn check_namespace(namespace: &str) -> Result<(), String> {
    if validate::is_dns_label(namespace) {
        Ok(())
    } else {
        Err(format!(
            "{namespace:?} is not a valid namespace name: at most 63 lowercase letters, digits \
             and '-', starting and ending with a letter or digit"
        ))
    }
}

/// Compiles `inputs` as a create: every input is new.
pub fn compile(inputs: &[Input], options: &Options) -> Result<Bundle, Diagnostics> {
    compile_with_previous(inputs, &[], options)
}

/// Compiles `inputs` as an update of `previous` (the same objects as they
/// were last applied): transition rules and the webhook's update checks are
/// judged too. A previous version that does not load or admit is an error,
/// reported at its own file, line and column: the update checks would
/// otherwise be skipped without a word.
pub fn compile_with_previous(
    inputs: &[Input],
    previous: &[Input],
    options: &Options,
) -> Result<Bundle, Diagnostics> {
    let (sources, loaded, load_diagnostics) = load::load(inputs, options);
    let mut run = Run {
        sources,
        diagnostics: load_diagnostics,
        options,
    };
    let (previous_objects, previous_errors) = previous_objects(previous, options);
    run.diagnostics.0.extend(previous_errors);

    let kept = run.drop_previous_renders(loaded);
    let kept = run.assign_namespaces(kept);
    run.check_duplicates(&kept);

    let (templates, clusters) = run.admit_all(&kept, &previous_objects);

    let typed = TypedTemplates::new(&mut run, &templates);
    let mut objects: Vec<Object> = kept
        .iter()
        .map(|(object, namespace)| Object::input(object, namespace))
        .collect();
    let config_maps: HashMap<(String, String), (&Value, &ObjectSource)> = kept
        .iter()
        .filter(|(o, _)| o.api_version == "v1" && o.kind_name == "ConfigMap")
        .map(|(o, namespace)| ((namespace.clone(), o.name.clone()), (&o.value, &o.source)))
        .collect();
    // The output's bytes so far: the inputs, then each cluster's objects.
    let mut output_bytes: usize = kept.iter().map(|(o, _)| o.bytes).sum();
    for cluster in &clusters {
        let Some(typed_cluster) = run.typed::<MultigresCluster>(cluster) else {
            continue;
        };
        let mut budget = workloads::OutputBudget {
            max_objects: options.limits.max_objects,
            objects: objects.len(),
            max_bytes: options.limits.max_output_bytes,
            bytes: output_bytes,
            front_end: options.front_end,
        };
        let label = Who {
            kind: Kind::MultigresCluster,
            namespace: &cluster.namespace,
            name: &cluster.name,
        };
        if budget.exceeded_by(0, 0) {
            run.report_finding(&cluster.source, &label, budget.breach(0));
            break;
        }
        let catalog = typed.catalog(&cluster.namespace);
        let defaulted: HashSet<String> = cluster.defaulted.iter().map(FieldPath::pointer).collect();
        let resolve_input = resolve::Cluster {
            name: &cluster.name,
            namespace: &cluster.namespace,
            spec: &typed_cluster.spec,
            source: &cluster.source,
            defaulted: &defaulted,
        };
        let resolved = resolve::resolve(&resolve_input, &catalog, &options.images);
        let previous = previous_objects.get(&(
            Kind::MultigresCluster,
            cluster.namespace.clone(),
            cluster.name.clone(),
        ));
        // The previous version was admitted like the inputs, so a failure
        // here means schema and types disagree: reported, never a skipped
        // update check.
        let old = match previous.map(MultigresCluster::deserialize) {
            None => None,
            Some(Ok(old)) => Some(old),
            Some(Err(err)) => {
                run.error(
                    codes::WRONG_TYPE,
                    &cluster.source,
                    "",
                    format!(
                        "the previous version of MultigresCluster {:?} does not match its type: {err}",
                        cluster.name
                    ),
                    Some("this is a bug in multigres: please report it with the input".into()),
                );
                None
            }
        };
        let findings = validate::cluster(&resolve_input, &catalog, &resolved, old.as_ref());
        for finding in findings {
            run.report_finding(&cluster.source, &label, finding);
        }
        let project_ref = typed_cluster
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(labels::PROJECT_REF))
            .map(String::as_str);
        let meta = expand::ClusterMeta {
            name: &cluster.name,
            namespace: &cluster.namespace,
            project_ref,
        };
        let children = expand::expand(&meta, &resolved);
        let context = workloads::ClusterContext {
            name: &cluster.name,
            namespace: &cluster.namespace,
            spec: &typed_cluster.spec,
            resolved: &resolved,
            images: &options.images,
            source: &cluster.source,
            config_maps: &config_maps,
        };
        budget.objects += children.len();
        budget.bytes += children
            .iter()
            .map(|c| size::json_len(&c.value))
            .sum::<usize>();
        let built = workloads::build(&context, &children, options.preview_runtime, budget);
        output_bytes = budget.bytes + built.bytes;
        let over_budget = built.findings.iter().any(|f| f.code == codes::INPUT_LIMIT);
        for finding in built.findings {
            run.report_finding(&cluster.source, &label, finding);
        }
        if over_budget {
            break;
        }
        let parents: Vec<Parent> = children.iter().map(|c| parent_of(c, &children)).collect();
        objects.extend(
            children
                .into_iter()
                .zip(parents)
                .map(|(child, parent)| Object::generated(&cluster.name, child, parent)),
        );
        objects.extend(
            built
                .objects
                .into_iter()
                .chain(built.runtime)
                .map(|(object, parent)| Object::built(&cluster.name, object, parent)),
        );
    }
    for template in &templates {
        run.validate_template(template);
    }
    run.check_generated_clashes(&objects);
    if objects.is_empty() && !run.diagnostics.has_errors() {
        // An empty render applied by a GitOps tool would prune everything.
        run.diagnostics.push(nothing_to_render(inputs));
    }
    objects.sort_by_cached_key(emit::sort_key);
    let diagnostics = run.diagnostics.finish();
    if diagnostics.has_errors() {
        return Err(diagnostics);
    }
    Ok(Bundle {
        sources: run.sources,
        objects,
        warnings: diagnostics,
    })
}

/// The error of inputs that hold no object.
fn nothing_to_render(inputs: &[Input]) -> Diagnostic {
    Diagnostic {
        severity: Severity::Error,
        code: codes::NOT_AN_OBJECT,
        message: "the inputs hold no Kubernetes objects".into(),
        file: inputs
            .first()
            .map_or_else(|| "-".into(), |i| i.name.clone()),
        pos: yaml::Pos { line: 1, col: 1 },
        field: None,
        hint: Some("pass the files or directories that hold the cluster".into()),
        subject: None,
    }
}

impl Object {
    /// An input object, in the namespace it lands in: its own, else
    /// `--namespace`, which is then written into it as `kubectl apply -n`
    /// would: a cluster applied without its namespace would land apart from
    /// its children (and Flux refuses namespaced objects without one).
    fn input(object: &LoadedObject, namespace: &str) -> Self {
        let mut value = object.value.clone();
        if object.namespace.is_none()
            && !namespace.is_empty()
            && let Some(metadata) = value.get_mut("metadata").and_then(Value::as_object_mut)
        {
            metadata.insert("namespace".into(), Value::String(namespace.to_owned()));
        }
        Self {
            api_version: object.api_version.clone(),
            kind: object.kind_name.clone(),
            namespace: Some(namespace.to_owned()).filter(|ns| !ns.is_empty()),
            name: object.name.clone(),
            value,
            origin: Origin::Input(object.source.clone()),
            prov: Provenance::default(),
        }
    }

    /// A child custom resource of `cluster`.
    fn generated(cluster: &str, generated: expand::Generated, parent: Parent) -> Self {
        Self {
            api_version: crate::api::API_VERSION.into(),
            kind: generated.kind.name().into(),
            namespace: Some(generated.namespace),
            name: generated.name,
            value: generated.value,
            origin: Origin::Generated {
                cluster: cluster.to_owned(),
                parent,
            },
            prov: generated.prov,
        }
    }

    /// A Kubernetes object built for `cluster`'s children.
    fn built(cluster: &str, object: crate::manifests::Built, parent: Parent) -> Self {
        Self {
            api_version: object.api_version.into(),
            kind: object.kind.into(),
            namespace: Some(object.namespace),
            name: object.name,
            value: object.value,
            origin: Origin::Generated {
                cluster: cluster.to_owned(),
                parent,
            },
            prov: Provenance::default(),
        }
    }
}

/// Whom a child custom resource belongs to, as upstream's controllers
/// create them: a Shard to its TableGroup, a cell's own TopoServer to its
/// Cell, everything else to the cluster.
fn parent_of(child: &expand::Generated, children: &[expand::Generated]) -> Parent {
    let label = |object: &expand::Generated, key: &str| {
        object
            .value
            .pointer(&format!("/metadata/labels/{}", key.replace('/', "~1")))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let (kind, keys): (Kind, &[&str]) = match child.kind {
        Kind::Shard => (Kind::TableGroup, &[labels::DATABASE, labels::TABLE_GROUP]),
        Kind::TopoServer if label(child, labels::CELL).is_some() => (Kind::Cell, &[labels::CELL]),
        _ => return Parent::Cluster,
    };
    children
        .iter()
        .find(|c| c.kind == kind && keys.iter().all(|k| label(c, k) == label(child, k)))
        .map_or(Parent::Cluster, |c| Parent::Child {
            kind,
            name: c.name.clone(),
        })
}

/// The object a finding is reported against.
struct Who<'a> {
    kind: Kind,
    namespace: &'a str,
    name: &'a str,
}

/// A cluster or template that passed admission.
struct Admitted {
    kind: Kind,
    name: String,
    namespace: String,
    source: ObjectSource,
    value: Value,
    defaulted: Vec<FieldPath>,
}

struct Run<'o> {
    sources: Sources,
    diagnostics: Diagnostics,
    options: &'o Options,
}

impl Run<'_> {
    fn error(
        &mut self,
        code: &'static str,
        source: &ObjectSource,
        pointer: &str,
        message: String,
        hint: Option<String>,
    ) {
        self.diagnostics.push(Diagnostic {
            severity: Severity::Error,
            code,
            message,
            file: self.sources.file_name(source.doc).to_owned(),
            pos: self.sources.node_pos(source, pointer),
            field: None,
            hint,
            subject: None,
        });
    }

    /// Places a finding about `source` (an object named `label`) in its file.
    fn report_finding(&mut self, source: &ObjectSource, who: &Who<'_>, finding: validate::Finding) {
        let label = format!("{} {}/{}", who.kind.name(), who.namespace, who.name);
        let (source, label) = match &finding.elsewhere {
            Some(other) => (other, format!("used by {label}")),
            None => (source, label),
        };
        let pointer = finding.path.pointer();
        let pos = if finding.at_key {
            self.sources.key_pos(source, &pointer)
        } else {
            self.sources.node_pos(source, &pointer)
        };
        let field = if finding.path.0.is_empty() {
            label
        } else {
            format!("{label}: {}", finding.path)
        };
        self.diagnostics.push(Diagnostic {
            severity: finding.severity,
            code: finding.code,
            message: finding.message,
            file: self.sources.file_name(source.doc).to_owned(),
            pos,
            field: Some(field),
            hint: finding.hint,
            subject: Some(Subject {
                kind: who.kind.name().to_owned(),
                namespace: who.namespace.to_owned(),
                name: who.name.to_owned(),
                field: finding.path.to_string(),
            }),
        });
    }

    /// Admits the kept templates and clusters (the child kinds are the
    /// operator's to write), each against its previous version.
    fn admit_all(
        &mut self,
        kept: &[(LoadedObject, String)],
        previous: &PreviousObjects,
    ) -> (Vec<Admitted>, Vec<Admitted>) {
        let mut templates: Vec<Admitted> = Vec::new();
        let mut clusters: Vec<Admitted> = Vec::new();
        for (object, namespace) in kept {
            let Some(kind) = object.kind else { continue };
            if kind.is_child() {
                continue;
            }
            let old = previous.get(&(kind, namespace.clone(), object.name.clone()));
            let Some(admitted) = self.admit(object, kind, namespace, old) else {
                continue;
            };
            if kind == Kind::MultigresCluster {
                clusters.push(admitted);
            } else {
                templates.push(admitted);
            }
        }
        (templates, clusters)
    }

    fn validate_template(&mut self, template: &Admitted) {
        let label = Who {
            kind: template.kind,
            namespace: &template.namespace,
            name: &template.name,
        };
        for finding in validate::template(template.kind, &template.value) {
            self.report_finding(&template.source, &label, finding);
        }
    }

    /// Objects an earlier render generated are replaced; a child kind that
    /// was not generated is an error.
    fn drop_previous_renders(&mut self, loaded: Vec<LoadedObject>) -> Vec<LoadedObject> {
        let mut kept = Vec::new();
        for object in loaded {
            let generated = object.label(labels::MANAGED_BY) == Some(labels::MANAGED_BY_OPERATOR);
            if generated {
                continue;
            }
            if object.kind.is_some_and(Kind::is_child) {
                self.error(
                    codes::HAND_WRITTEN_CHILD,
                    &object.source,
                    "/kind",
                    format!("{} {:?} is generated from a MultigresCluster and cannot be written by hand", object.kind_name, object.name),
                    Some("configure it through the MultigresCluster (and its templates); render generates it".into()),
                );
                continue;
            }
            kept.push(object);
        }
        kept
    }

    /// Our kinds need a namespace: their own, else `--namespace`. Other
    /// namespaced objects take `--namespace` too; cluster-scoped ones none.
    fn assign_namespaces(&mut self, objects: Vec<LoadedObject>) -> Vec<(LoadedObject, String)> {
        let mut out = Vec::new();
        for object in objects {
            let namespace = if is_cluster_scoped(&object.api_version, &object.kind_name) {
                None
            } else {
                object
                    .namespace
                    .clone()
                    .or_else(|| self.options.namespace.clone())
            };
            match (namespace, object.kind) {
                (Some(namespace), _) => out.push((object, namespace)),
                (None, None) => out.push((object, String::new())),
                (None, Some(kind)) => {
                    self.error(
                        codes::NO_NAMESPACE,
                        &object.source,
                        "/metadata",
                        format!("{} {:?} has no namespace", kind.name(), object.name),
                        Some(format!(
                            "generated objects embed their namespace in service addresses: {}",
                            self.options.front_end.namespace_hint()
                        )),
                    );
                }
            }
        }
        out
    }

    fn check_duplicates(&mut self, objects: &[(LoadedObject, String)]) {
        let mut seen: HashMap<(String, String, String), &ObjectSource> = HashMap::new();
        for (object, namespace) in objects {
            let group = object.api_version.rsplit_once('/').map_or("", |(g, _)| g);
            let key = (
                format!("{group}/{}", object.kind_name),
                namespace.clone(),
                object.name.clone(),
            );
            if let Some(first) = seen.get(&key) {
                let first = format!(
                    "{}:{}",
                    self.sources.file_name(first.doc),
                    self.sources.key_pos(first, "").line
                );
                self.error(
                    codes::DUPLICATE_OBJECT,
                    &object.source,
                    "/metadata/name",
                    format!(
                        "{} {namespace}/{} is defined twice (first at {first})",
                        object.kind_name, object.name
                    ),
                    Some("each object must appear once among the inputs".into()),
                );
            } else {
                seen.insert(key, &object.source);
            }
        }
    }

    fn check_generated_clashes(&mut self, objects: &[Object]) {
        let mut inputs: HashMap<(&str, Option<&str>, &str), &ObjectSource> = HashMap::new();
        for object in objects {
            if let Origin::Input(source) = &object.origin {
                inputs.insert(
                    (
                        object.kind.as_str(),
                        object.namespace.as_deref(),
                        object.name.as_str(),
                    ),
                    source,
                );
            }
        }
        for object in objects {
            if let Origin::Generated { cluster, .. } = &object.origin
                && let Some(source) = inputs.get(&(
                    object.kind.as_str(),
                    object.namespace.as_deref(),
                    object.name.as_str(),
                ))
            {
                let source = (*source).clone();
                self.error(
                    codes::DUPLICATE_OBJECT,
                    &source,
                    "/metadata/name",
                    format!(
                        "{} {:?} clashes with an object generated for MultigresCluster {cluster:?}",
                        object.kind, object.name
                    ),
                    Some("rename the input object".into()),
                );
            }
        }
    }

    /// Admits one of our objects (schema, defaults, CEL rules, metadata).
    fn admit(
        &mut self,
        object: &LoadedObject,
        kind: Kind,
        namespace: &str,
        old: Option<&Value>,
    ) -> Option<Admitted> {
        let label = Who {
            kind,
            namespace,
            name: &object.name,
        };
        let before = self.diagnostics.errors().count();
        for finding in validate::metadata(&object.value)
            .into_iter()
            .chain(validate::kubernetes_syntax(kind, &object.value))
        {
            self.report_finding(&object.source, &label, finding);
        }
        let admitted = schema::admit(kind, &object.value, old);
        for finding in admitted.findings {
            self.report_finding(
                &object.source,
                &label,
                validate::Finding {
                    severity: Severity::Error,
                    code: finding.code,
                    path: finding.path,
                    at_key: finding.at_key,
                    message: finding.message,
                    hint: finding.hint,
                    elsewhere: None,
                },
            );
        }
        (self.diagnostics.errors().count() == before).then(|| Admitted {
            kind,
            name: object.name.clone(),
            namespace: namespace.to_owned(),
            source: object.source.clone(),
            value: admitted.value,
            defaulted: admitted.defaulted,
        })
    }

    /// The typed form of an admitted object. Admission checked the shape, so
    /// a failure here means schema and types disagree: reported, not panicked.
    fn typed<T: DeserializeOwned>(&mut self, admitted: &Admitted) -> Option<T> {
        match T::deserialize(&admitted.value) {
            Ok(typed) => Some(typed),
            Err(err) => {
                self.error(
                    codes::WRONG_TYPE,
                    &admitted.source,
                    "",
                    format!(
                        "{} {:?} does not match its type: {err}",
                        admitted.kind.name(),
                        admitted.name
                    ),
                    Some("this is a bug in multigres: please report it with the input".into()),
                );
                None
            }
        }
    }
}

/// Every admitted template, typed, by namespace.
struct TypedTemplates {
    core: Vec<(String, String, CoreTemplate, ObjectSource)>,
    cell: Vec<(String, String, CellTemplate, ObjectSource)>,
    shard: Vec<(String, String, ShardTemplate, ObjectSource)>,
}

impl TypedTemplates {
    fn new(run: &mut Run<'_>, templates: &[Admitted]) -> Self {
        let mut typed = Self {
            core: Vec::new(),
            cell: Vec::new(),
            shard: Vec::new(),
        };
        for t in templates {
            let key = (t.namespace.clone(), t.name.clone());
            match t.kind {
                Kind::CoreTemplate => {
                    if let Some(v) = run.typed::<CoreTemplate>(t) {
                        typed.core.push((key.0, key.1, v, t.source.clone()));
                    }
                }
                Kind::CellTemplate => {
                    if let Some(v) = run.typed::<CellTemplate>(t) {
                        typed.cell.push((key.0, key.1, v, t.source.clone()));
                    }
                }
                Kind::ShardTemplate => {
                    if let Some(v) = run.typed::<ShardTemplate>(t) {
                        typed.shard.push((key.0, key.1, v, t.source.clone()));
                    }
                }
                _ => {}
            }
        }
        typed
    }

    /// The templates a cluster in `namespace` can use.
    fn catalog(&self, namespace: &str) -> Catalog<'_> {
        Catalog {
            core: in_namespace(&self.core, namespace, |t| &t.spec),
            cell: in_namespace(&self.cell, namespace, |t| &t.spec),
            shard: in_namespace(&self.shard, namespace, |t| &t.spec),
        }
    }
}

/// The specs of the templates in `namespace`, by name (the last of a name
/// wins).
fn in_namespace<'t, T, S>(
    templates: &'t [(String, String, T, ObjectSource)],
    namespace: &str,
    spec: impl Fn(&'t T) -> &'t S,
) -> HashMap<&'t str, Found<'t, S>> {
    templates
        .iter()
        .filter(|(ns, ..)| ns == namespace)
        .map(|(_, name, template, source)| {
            let found = Found {
                spec: spec(template),
                source,
            };
            (name.as_str(), found)
        })
        .collect()
}

/// Objects of the previous version by kind, namespace and name.
type PreviousObjects = BTreeMap<(Kind, String, String), Value>;

/// Our user-written objects of the previous version, by kind, namespace
/// and name, admitted (defaults applied) as the API server stored them;
/// and the errors of the previous inputs (load and admission), whose
/// objects are left out.
fn previous_objects(previous: &[Input], options: &Options) -> (PreviousObjects, Vec<Diagnostic>) {
    let (sources, loaded, diagnostics) = load::load(previous, options);
    let mut run = Run {
        sources,
        diagnostics,
        options,
    };
    let mut objects = BTreeMap::new();
    for object in loaded {
        let Some(kind) = object.kind.filter(|k| !k.is_child()) else {
            continue;
        };
        let Some(namespace) = object
            .namespace
            .clone()
            .or_else(|| options.namespace.clone())
        else {
            continue;
        };
        if let Some(admitted) = run.admit(&object, kind, &namespace, None) {
            objects.insert((kind, namespace, object.name), admitted.value);
        }
    }
    let errors = run
        .diagnostics
        .0
        .into_iter()
        .filter(Diagnostic::is_error)
        .map(|mut d| {
            d.message = format!("previous version: {}", d.message);
            d
        })
        .collect();
    (objects, errors)
}

/// The built-in kinds that have no namespace (Kubernetes 1.33), by API group
/// ("" for the core group). Another kind given without a namespace is taken
/// as namespaced, as `kubectl apply -n` and kustomize take unknown kinds.
const CLUSTER_SCOPED_KINDS: &[(&str, &str)] = &[
    ("", "Namespace"),
    ("", "Node"),
    ("", "PersistentVolume"),
    ("", "ComponentStatus"),
    (
        "admissionregistration.k8s.io",
        "MutatingWebhookConfiguration",
    ),
    (
        "admissionregistration.k8s.io",
        "ValidatingWebhookConfiguration",
    ),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
    (
        "admissionregistration.k8s.io",
        "ValidatingAdmissionPolicyBinding",
    ),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("apiregistration.k8s.io", "APIService"),
    ("certificates.k8s.io", "CertificateSigningRequest"),
    ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
    ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
    ("networking.k8s.io", "IngressClass"),
    ("node.k8s.io", "RuntimeClass"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("scheduling.k8s.io", "PriorityClass"),
    ("storage.k8s.io", "CSIDriver"),
    ("storage.k8s.io", "CSINode"),
    ("storage.k8s.io", "StorageClass"),
    ("storage.k8s.io", "VolumeAttachment"),
];

fn is_cluster_scoped(api_version: &str, kind: &str) -> bool {
    let group = api_version.rsplit_once('/').map_or("", |(group, _)| group);
    CLUSTER_SCOPED_KINDS.contains(&(group, kind))
}
