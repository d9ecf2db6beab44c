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
        "metadata": {"name": "argocd-repo-server", "namespace": namespace},
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

/// The parameters an Application sets, from `ARGOCD_APP_PARAMETERS`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parameters {
    pub images: BTreeMap<String, String>,
    pub templates: Vec<String>,
    pub images_file: Option<String>,
}

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
            "preview-runtime" | "previewRuntime" => {
                return Err(invalid(
                    "runtime previews are refused in the Argo CD plugin: its output is applied, and pool Pods belong to \
                     the reconciler (use `multigres render --preview-runtime` to review them)"
                        .into(),
                ));
            }
            other => {
                let hint = crate::compile::load::did_you_mean(
                    other,
                    ["images", "templates", "images-file"],
                )
                .map(|s| format!(" (did you mean {s}?)"))
                .unwrap_or_default();
                return Err(invalid(format!(
                    "unknown plugin parameter {other:?}{hint}; parameters are images, templates, images-file"
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
/// (`KUBE_API_VERSIONS`) does not serve. A CRD among the objects counts as
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
    for object in objects {
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
            "install the CRDs first: `multigres crds | kubectl apply --server-side -f -`"
        }
        "cert-manager.io" => {
            "install cert-manager (internalTLS and certCommonName need its Certificates), or turn both off"
        }
        _ => "the destination cluster does not serve this API",
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
        let syntax = parse_parameters(Some("[\n  {")).unwrap_err().to_string();
        assert!(
            syntax
                == "ARGOCD_APP_PARAMETERS:2:3: error[MG021]: not a JSON array of parameters: EOF while parsing an object",
            "{syntax}"
        );
    }

    #[test]
    fn versions() {
        assert_eq!(kube_version("1.32.4"), Some((1, 32)));
        assert_eq!(kube_version("v1.29.0+k3s1"), Some((1, 29)));
        assert_eq!(kube_version(""), None);
    }
}
