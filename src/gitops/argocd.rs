//! The Argo CD config-management plugin (Argo CD's sidecar plugin contract,
//! `ConfigManagementPlugin` v2): what an
//! Argo CD admin installs, and how `multigres argocd generate` reads the
//! plugin contract (parameters, environment, destination cluster).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::compile::diagnostics::{self as codes, InputError};
use crate::compile::emit;
use crate::compile::yaml::Pos;

/// The plugin's name; Argo CD addresses it as `<name>-<version>`.
pub const PLUGIN_NAME: &str = "multigres";
/// The version of the plugin contract (parameters and their meaning). It is
/// part of the plugin's address, so Applications pin the contract they use.
pub const PLUGIN_VERSION: &str = "v1";
/// The sidecar's entrypoint, copied there by the repo-server's init container.
pub const CMP_SERVER: &str = "/var/run/argocd/argocd-cmp-server";

/// `plugin.yaml`: a versioned ConfigManagementPlugin.
pub fn plugin_yaml() -> Value {
    json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ConfigManagementPlugin",
        "metadata": {"name": PLUGIN_NAME},
        "spec": {
            "version": PLUGIN_VERSION,
            "init": {"command": ["multigres", "argocd", "init"]},
            "generate": {"command": ["multigres", "argocd", "generate"]},
            "discover": {"find": {"command": ["multigres", "argocd", "discover"]}},
            "parameters": {
                "static": [
                    {
                        "name": "images",
                        "title": "Component images",
                        "tooltip": "Image per component (multigateway, multiorch, multipooler, multiadmin, multiadminWeb, postgres, etcd, postgresExporter); unset components use the plugin's image set",
                        "collectionType": "map",
                        "map": {},
                    },
                    {
                        "name": "templates",
                        "title": "Extra template paths",
                        "tooltip": "Files or directories, relative to the repository root, holding templates several apps share",
                        "collectionType": "array",
                        "array": [],
                    },
                    {
                        "name": "images-file",
                        "title": "Images file",
                        "tooltip": "A file, relative to the repository root, mapping components to images",
                    },
                    {
                        "name": SHARED_TEMPLATES,
                        "title": "Shared templates",
                        "tooltip": "emit: the templates read through `templates` are part of this application's output; external: they are read to resolve the clusters but left out, because another application owns them",
                        "string": SharedTemplates::Emit.as_str(),
                    },
                ],
            },
        },
    })
}

/// Which documents `multigres install argocd-plugin` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Part {
    All,
    Configmap,
    Patch,
}

/// What `multigres install argocd-plugin` prints: the ConfigMap holding
/// `plugin.yaml`, and a strategic-merge patch of `argocd-repo-server` that
/// adds the sidecar.
pub fn install_manifests(image: &str, namespace: &str, part: Part) -> String {
    let config_map = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "multigres-cmp-plugin",
            "namespace": namespace,
            "labels": {"app.kubernetes.io/name": "multigres-cmp-plugin", "app.kubernetes.io/part-of": "argocd"},
        },
        "data": {"plugin.yaml": emit::yaml(&plugin_yaml())},
    });
    let patch = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        // No namespace: Argo CD's install.yaml sets none on its objects, and
        // kustomize matches a patch by namespace too.
        "metadata": {"name": "argocd-repo-server"},
        "spec": {"template": {"spec": {
            "containers": [{
                "name": "multigres-cmp",
                "image": image,
                "command": [CMP_SERVER],
                "securityContext": {"runAsNonRoot": true, "runAsUser": 999},
                "volumeMounts": [
                    {"name": "var-files", "mountPath": "/var/run/argocd"},
                    {"name": "plugins", "mountPath": "/home/argocd/cmp-server/plugins"},
                    {"name": "multigres-cmp-plugin", "mountPath": "/home/argocd/cmp-server/config/plugin.yaml", "subPath": "plugin.yaml"},
                    {"name": "multigres-cmp-tmp", "mountPath": "/tmp"},
                ],
            }],
            "volumes": [
                {"name": "multigres-cmp-plugin", "configMap": {"name": "multigres-cmp-plugin"}},
                {"name": "multigres-cmp-tmp", "emptyDir": {}},
            ],
        }}},
    });
    let mut out = String::new();
    if part != Part::Patch {
        out.push_str("# The plugin's configuration: apply it in Argo CD's namespace.\n---\n");
        out.push_str(&emit::yaml(&config_map));
    }
    if part != Part::Configmap {
        out.push_str(
            "# A strategic-merge patch of argocd-repo-server that adds the plugin sidecar:\n\
             #   kubectl -n argocd patch deployment argocd-repo-server --patch-file <this document>\n\
             # or list it under `patches:` in the kustomization that installs Argo CD.\n---\n",
        );
        out.push_str(&emit::yaml(&patch));
    }
    out
}

/// The variable that carries the Application's parameters.
pub const PARAMETERS: &str = "ARGOCD_APP_PARAMETERS";

/// The parameter (and, as `ARGOCD_ENV_SHARED_TEMPLATES`, the plugin env)
/// that says which application owns the templates read through `templates`.
pub const SHARED_TEMPLATES: &str = "shared-templates";

/// Whether the objects read through the `templates` parameter are part of
/// the application's output.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SharedTemplates {
    /// They are emitted with the application (one application per set of
    /// shared templates and namespace).
    #[default]
    Emit,
    /// They resolve the clusters but are left out: another application owns
    /// them, so two applications never manage the same template.
    External,
}

impl SharedTemplates {
    pub fn as_str(self) -> &'static str {
        match self {
            SharedTemplates::Emit => "emit",
            SharedTemplates::External => "external",
        }
    }

    /// Parses `emit` or `external`; `what` names where the value came from.
    pub fn parse(text: &str, what: &str) -> Result<Self, InputError> {
        match text.trim() {
            "emit" => Ok(SharedTemplates::Emit),
            "external" => Ok(SharedTemplates::External),
            other => Err(InputError::new(
                what,
                codes::PLUGIN_CONTRACT,
                format!("{other:?} is neither emit nor external"),
            )
            .hint(
                "external leaves the shared templates out of this application's output (another application owns them); emit (the default) includes them",
            )),
        }
    }
}

/// The parameters an Application sets, from `ARGOCD_APP_PARAMETERS`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parameters {
    pub images: BTreeMap<String, String>,
    pub templates: Vec<String>,
    pub images_file: Option<String>,
    pub shared_templates: Option<SharedTemplates>,
}

/// The names of the parameters, for messages.
const PARAMETER_NAMES: [&str; 4] = ["images", "templates", "images-file", SHARED_TEMPLATES];

/// Parses `ARGOCD_APP_PARAMETERS` (the JSON array of the parameters set in
/// the Application; the `PARAM_*` copies are lossy and ignored).
pub fn parse_parameters(json_text: Option<&str>) -> Result<Parameters, InputError> {
    let invalid = |message: String| InputError::new(PARAMETERS, codes::PLUGIN_CONTRACT, message);
    let mut parameters = Parameters::default();
    let Some(text) = json_text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(parameters);
    };
    let list: Vec<Value> = serde_json::from_str(text).map_err(|e| {
        let pos = Pos {
            line: u32::try_from(e.line()).unwrap_or(u32::MAX),
            col: u32::try_from(e.column()).unwrap_or(u32::MAX),
        };
        // serde_json's message ends with the position, which `pos` carries.
        let message = e.to_string();
        let message = message.split(" at line ").next().unwrap_or_default();
        invalid(format!("not a JSON array of parameters: {message}")).at(pos)
    })?;
    for entry in list {
        let name = entry.get("name").and_then(Value::as_str).unwrap_or("");
        match name {
            "images" => {
                let map = entry
                    .get("map")
                    .and_then(Value::as_object)
                    .ok_or_else(|| invalid("parameter images must be a map".into()))?;
                for (component, image) in map {
                    let image = image.as_str().ok_or_else(|| {
                        invalid("parameter images: values must be strings".into())
                    })?;
                    parameters
                        .images
                        .insert(component.clone(), image.to_owned());
                }
            }
            "templates" => {
                let array = entry
                    .get("array")
                    .and_then(Value::as_array)
                    .ok_or_else(|| invalid("parameter templates must be an array".into()))?;
                for path in array {
                    parameters.templates.push(
                        path.as_str()
                            .ok_or_else(|| {
                                invalid("parameter templates: items must be strings".into())
                            })?
                            .to_owned(),
                    );
                }
            }
            "images-file" => {
                let path = entry
                    .get("string")
                    .and_then(Value::as_str)
                    .ok_or_else(|| invalid("parameter images-file must be a string".into()))?;
                parameters.images_file = Some(path.to_owned()).filter(|p| !p.is_empty());
            }
            SHARED_TEMPLATES => {
                let text = entry.get("string").and_then(Value::as_str).ok_or_else(|| {
                    invalid(format!("parameter {SHARED_TEMPLATES} must be a string"))
                })?;
                parameters.shared_templates = Some(SharedTemplates::parse(
                    text,
                    &format!("parameter {SHARED_TEMPLATES}"),
                )?);
            }
            "preview-runtime" | "previewRuntime" => {
                return Err(invalid(
                    "runtime previews are refused in the Argo CD plugin: its output is applied, and pool Pods belong to \
                     the reconciler (use `multigres render --preview-runtime` to review them)"
                        .into(),
                ));
            }
            other => {
                let hint = crate::compile::load::did_you_mean(other, PARAMETER_NAMES)
                    .map(|s| format!(" (did you mean {s}?)"))
                    .unwrap_or_default();
                return Err(invalid(format!(
                    "unknown plugin parameter {other:?}{hint}; parameters are {}",
                    PARAMETER_NAMES.join(", ")
                )));
            }
        }
    }
    Ok(parameters)
}

/// `KUBE_VERSION` (e.g. `1.32.4`) as (major, minor).
pub fn kube_version(text: &str) -> Option<(u32, u32)> {
    let mut parts = text.trim().trim_start_matches('v').split('.');
    let major = parts.next()?.parse().ok()?;
    let minor: String = parts
        .next()?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    Some((major, minor.parse().ok()?))
}

/// Pool pods run pgctld as a native sidecar (an init container with
/// `restartPolicy: Always`), on by default from Kubernetes 1.29.
pub const MIN_KUBE_VERSION: (u32, u32) = (1, 29);

/// The `group/version` values the output needs that the destination cluster
/// (`KUBE_API_VERSIONS`) does not serve. Only what multigres is responsible
/// for is checked: the generated objects and the inputs of its own group.
/// Other inputs (an ExternalSecret for the password, say) pass through
/// unchecked: their CRDs may arrive in the same sync, and they are the
/// user's, not the plugin's, to vouch for. A CRD among the objects counts as
/// serving its group versions (Argo CD applies CRDs first).
pub fn missing_api_versions(
    objects: &[crate::compile::Object],
    api_versions: &str,
) -> Vec<(String, Vec<String>)> {
    let served: std::collections::BTreeSet<&str> = api_versions.split(',').map(str::trim).collect();
    let mut from_crds = std::collections::BTreeSet::new();
    for object in objects
        .iter()
        .filter(|o| o.kind == "CustomResourceDefinition")
    {
        let group = object
            .value
            .pointer("/spec/group")
            .and_then(Value::as_str)
            .unwrap_or("");
        for version in object
            .value
            .pointer("/spec/versions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(name) = version.get("name").and_then(Value::as_str) {
                from_crds.insert(format!("{group}/{name}"));
            }
        }
    }
    let mut missing: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let ours = |object: &crate::compile::Object| {
        matches!(object.origin, crate::compile::Origin::Generated { .. })
            || object.api_version.starts_with("multigres.com/")
    };
    for object in objects.iter().filter(|o| ours(o)) {
        let needed = object.api_version.as_str();
        if !served.contains(needed) && !from_crds.contains(needed) {
            missing
                .entry(needed.to_owned())
                .or_default()
                .push(format!("{}/{}", object.kind, object.name));
        }
    }
    missing.into_iter().collect()
}

/// A hint for a missing API group.
pub fn missing_api_hint(api_version: &str) -> &'static str {
    match api_version.split('/').next().unwrap_or("") {
        "multigres.com" => {
            "install the CRDs first (`multigres crds | kubectl apply --server-side -f -`), or keep them in the application's directory (`multigres crds --output-dir DIR`)"
        }
        "cert-manager.io" => {
            "install cert-manager (internalTLS and certCommonName need its Certificates), or turn both off"
        }
        // A generated object of another group: the setting that asked for it
        // is the way out.
        _ => {
            "install the API in the destination cluster, or turn off the cluster setting that generates these objects"
        }
    }
}

/// Files that mark a directory as another tool's: Argo CD renders a
/// directory holding one of them with Helm or kustomize.
const FOREIGN_MARKERS: [(&str, &str); 4] = [
    ("Chart.yaml", "a Helm chart"),
    ("kustomization.yaml", "a kustomization"),
    ("kustomization.yml", "a kustomization"),
    ("Kustomization", "a kustomization"),
];

/// What `multigres argocd discover` decided about an application directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Discovery {
    /// Ours: the files directly in the directory that hold a MultigresCluster.
    Claimed(Vec<String>),
    /// Not ours, and why (printed on stderr for whoever runs it by hand).
    Declined(String),
}

/// Argo CD asks plugins before it detects Helm or kustomize, so discovery
/// claims only what is unambiguously ours. `files` is every file under the
/// application directory: its path relative to it (`/`-separated) and, for
/// manifests, its text. Claimed: a MultigresCluster (`multigres.com/*`) in a
/// manifest directly in the directory, and nothing anywhere below that is a
/// Helm chart, a kustomization or a render's output (generated children, or
/// objects labelled as generated), which `generate` would read as inputs.
pub fn discover(files: &[(String, Option<String>)]) -> Discovery {
    for (path, _) in files {
        let name = path.rsplit('/').next().unwrap_or(path);
        if let Some((_, what)) = FOREIGN_MARKERS.iter().find(|(marker, _)| *marker == name) {
            return Discovery::Declined(format!("{path}: {what}"));
        }
    }
    let mut claimed = Vec::new();
    let mut deeper = None;
    for (path, text) in files {
        let Some(text) = text else { continue };
        // Cheap tests first: most files are neither.
        if !text.contains("multigres") {
            continue;
        }
        let docs =
            crate::compile::yaml::parse_stream(text, &Default::default()).unwrap_or_default();
        let mut cluster = false;
        for doc in &docs {
            let ours = doc
                .value
                .get("apiVersion")
                .and_then(Value::as_str)
                .is_some_and(|v| v.starts_with("multigres.com/"));
            let kind = doc.value.get("kind").and_then(Value::as_str).unwrap_or("");
            let generated = doc
                .value
                .pointer("/metadata/labels")
                .and_then(|labels| labels.get(crate::labels::MANAGED_BY))
                .and_then(Value::as_str)
                == Some(crate::labels::MANAGED_BY_OPERATOR);
            let child =
                ours && crate::api::Kind::from_name(kind).is_some_and(crate::api::Kind::is_child);
            if generated || child {
                return Discovery::Declined(format!(
                    "{path}: output of a render ({kind} {}), not inputs",
                    doc.value
                        .pointer("/metadata/name")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                ));
            }
            cluster |= ours && kind == "MultigresCluster";
        }
        if cluster {
            if path.contains('/') {
                deeper.get_or_insert(path);
            } else {
                claimed.push(path.clone());
            }
        }
    }
    if !claimed.is_empty() {
        return Discovery::Claimed(claimed);
    }
    Discovery::Declined(match deeper {
        Some(path) => format!(
            "no MultigresCluster directly in the directory ({path} is deeper: point the Application at its directory)"
        ),
        None => "no MultigresCluster in the directory".into(),
    })
}

/// An Application manifest, read for `multigres argocd generate
/// --application`: what Argo CD would pass the plugin for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalApplication {
    pub name: String,
    /// `spec.source.path`, relative to the repository root.
    pub path: String,
    pub path_pos: Pos,
    pub namespace: Option<String>,
    /// `plugin.parameters`, as the JSON of `ARGOCD_APP_PARAMETERS`.
    pub parameters: Option<String>,
    /// `plugin.env`, each as `ARGOCD_ENV_<name>`.
    pub env: Vec<(String, String)>,
}

impl LocalApplication {
    /// Reads the one Application of `text` (the file `file`), refusing one
    /// that names another plugin.
    pub fn parse(file: &str, text: &str) -> Result<Self, InputError> {
        let invalid = |message: String| InputError::new(file, codes::PLUGIN_CONTRACT, message);
        let docs = crate::compile::yaml::parse_stream(text, &Default::default())
            .map_err(|e| InputError::new(file, codes::YAML_SYNTAX, e.message.clone()).at(e.pos))?;
        let mut applications = docs.iter().filter(|d| {
            d.value.get("kind").and_then(Value::as_str) == Some("Application")
                && d.value
                    .get("apiVersion")
                    .and_then(Value::as_str)
                    .is_some_and(|v| v.starts_with("argoproj.io/"))
        });
        let (Some(doc), None) = (applications.next(), applications.next()) else {
            return Err(invalid(
                "the file must hold exactly one Application (argoproj.io)".into(),
            ));
        };
        let at = |pointer: &str| doc.spans.key_pos(pointer);
        // With several sources, the one that uses a plugin.
        let (source, pointer) = match doc.value.pointer("/spec/sources").and_then(Value::as_array) {
            Some(sources) => sources
                .iter()
                .enumerate()
                .find(|(_, s)| s.get("plugin").is_some())
                .map(|(i, s)| (s, format!("/spec/sources/{i}")))
                .ok_or_else(|| {
                    invalid("spec.sources: no source sets a plugin".into()).at(at("/spec/sources"))
                })?,
            None => (
                doc.value.pointer("/spec/source").unwrap_or(&Value::Null),
                "/spec/source".to_owned(),
            ),
        };
        let field = |name: &str| pointer.trim_start_matches('/').replace('/', ".") + "." + name;
        let plugin = source.get("plugin").unwrap_or(&Value::Null);
        if let Some(name) = plugin.get("name").and_then(Value::as_str)
            && name != format!("{PLUGIN_NAME}-{PLUGIN_VERSION}")
        {
            return Err(invalid(format!(
                "{}: {name:?} is not this plugin ({PLUGIN_NAME}-{PLUGIN_VERSION})",
                field("plugin.name")
            ))
            .at(at(&format!("{pointer}/plugin/name"))));
        }
        let path = source.get("path").and_then(Value::as_str).unwrap_or(".");
        let parameters = plugin
            .get("parameters")
            .filter(|p| !p.is_null())
            .map(|p| serde_json::to_string(p).unwrap_or_default());
        let mut env = Vec::new();
        for (i, entry) in plugin
            .get("env")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let (Some(name), Some(value)) = (
                entry.get("name").and_then(Value::as_str),
                entry.get("value").and_then(Value::as_str),
            ) else {
                return Err(invalid(format!(
                    "{}[{i}]: each entry needs a name and a string value",
                    field("plugin.env")
                ))
                .at(at(&format!("{pointer}/plugin/env/{i}"))));
            };
            env.push((format!("ARGOCD_ENV_{name}"), value.to_owned()));
        }
        Ok(LocalApplication {
            name: doc
                .value
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
            path: path.trim_matches('/').to_owned(),
            path_pos: at(&format!("{pointer}/path")),
            namespace: doc
                .value
                .pointer("/spec/destination/namespace")
                .and_then(Value::as_str)
                .map(str::to_owned),
            parameters,
            env,
        })
    }

    /// The plugin contract's variables, as the cmp-server sets them.
    pub fn environment(&self) -> std::collections::HashMap<String, String> {
        let mut env: std::collections::HashMap<String, String> = self.env.iter().cloned().collect();
        env.insert("ARGOCD_APP_NAME".into(), self.name.clone());
        env.insert("ARGOCD_APP_SOURCE_PATH".into(), self.path.clone());
        if let Some(namespace) = &self.namespace {
            env.insert("ARGOCD_APP_NAMESPACE".into(), namespace.clone());
        }
        if let Some(parameters) = &self.parameters {
            env.insert(PARAMETERS.into(), parameters.clone());
        }
        env
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_come_from_the_json_not_the_param_copies() {
        let parsed = parse_parameters(Some(
            r#"[{"name":"images","map":{"multiorch":"r/o:1"}},{"name":"templates","array":["shared/templates"]}]"#,
        ))
        .unwrap();
        assert_eq!(parsed.images["multiorch"], "r/o:1");
        assert_eq!(parsed.templates, ["shared/templates"]);
        assert_eq!(parse_parameters(None).unwrap(), Parameters::default());
        assert!(parse_parameters(Some(r#"[{"name":"preview-runtime","string":"true"}]"#)).is_err());
        let unknown = parse_parameters(Some(r#"[{"name":"imags","map":{}}]"#)).unwrap_err();
        assert!(unknown.message.contains("did you mean images"), "{unknown}");
        let shared = parse_parameters(Some(r#"[{"name":"shared-templates","string":"external"}]"#));
        assert_eq!(
            shared.unwrap().shared_templates,
            Some(SharedTemplates::External)
        );
        assert!(parse_parameters(Some(r#"[{"name":"shared-templates","string":"no"}]"#)).is_err());
        let syntax = parse_parameters(Some("[\n  {")).unwrap_err().to_string();
        assert!(
            syntax
                == "ARGOCD_APP_PARAMETERS:2:3: error[MG021]: not a JSON array of parameters: EOF while parsing an object",
            "{syntax}"
        );
    }

    #[test]
    fn discovery_declines_other_tools_and_renders() {
        let cluster =
            "apiVersion: multigres.com/v1alpha1\nkind: MultigresCluster\nmetadata: {name: c}\n";
        let files = |list: &[(&str, Option<&str>)]| -> Vec<(String, Option<String>)> {
            list.iter()
                .map(|(p, t)| ((*p).to_owned(), t.map(str::to_owned)))
                .collect()
        };
        assert_eq!(
            discover(&files(&[("c.yaml", Some(cluster)), ("README.md", None)])),
            Discovery::Claimed(vec!["c.yaml".into()])
        );
        let declined = |list: &[(&str, Option<&str>)]| match discover(&files(list)) {
            Discovery::Declined(why) => why,
            Discovery::Claimed(files) => panic!("claimed {files:?}"),
        };
        assert!(
            declined(&[
                ("c.yaml", Some(cluster)),
                ("sub/Chart.yaml", Some("name: x"))
            ])
            .contains("Helm")
        );
        assert!(
            declined(&[("c.yaml", Some(cluster)), ("Kustomization", None)])
                .contains("kustomization")
        );
        let child = "apiVersion: multigres.com/v1alpha1\nkind: Shard\nmetadata: {name: s}\n";
        assert!(
            declined(&[("c.yaml", Some(cluster)), ("x/s.yaml", Some(child))]).contains("render")
        );
        let labelled = "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: e\n  labels: {app.kubernetes.io/managed-by: multigres-operator}\n";
        assert!(
            declined(&[("c.yaml", Some(cluster)), ("e.yaml", Some(labelled))]).contains("render")
        );
        assert!(declined(&[("deep/c.yaml", Some(cluster))]).contains("deep/c.yaml is deeper"));
        // Another group's kind of the same name is not ours.
        let other = "apiVersion: example.com/v1\nkind: MultigresCluster\nmetadata: {name: c}\n";
        assert!(declined(&[("c.yaml", Some(other))]).contains("no MultigresCluster"));
    }

    #[test]
    fn versions() {
        assert_eq!(kube_version("1.32.4"), Some((1, 32)));
        assert_eq!(kube_version("v1.29.0+k3s1"), Some((1, 29)));
        assert_eq!(kube_version(""), None);
    }
}
