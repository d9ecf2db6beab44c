//! docs/argocd/argocd-cm.yaml: a patch of Argo CD's argocd-cm ConfigMap
//! that embeds the health script of every kind.

use std::path::Path;

use super::File;

pub const PATH: &str = "docs/argocd/argocd-cm.yaml";

/// The kinds with a health check (the ones with a status).
pub const KINDS: [&str; 5] = [
    "MultigresCluster",
    "Cell",
    "TableGroup",
    "Shard",
    "TopoServer",
];

/// Argo CD's layout: `resource_customizations/<group>/<Kind>/`.
pub const CUSTOMIZATIONS: &str = "docs/argocd/resource_customizations/multigres.com";

pub fn script_path(kind: &str) -> String {
    format!("{CUSTOMIZATIONS}/{kind}/health.lua")
}

/// The argocd-cm key Argo CD reads the health script of `kind` from.
pub fn config_key(kind: &str) -> String {
    format!("resource.customizations.health.multigres.com_{kind}")
}

pub fn files(root: &Path) -> Result<Vec<File>, String> {
    let mut out = String::from(
        "# Argo CD health checks for the multigres.com kinds: a patch of Argo CD's\n\
         # argocd-cm ConfigMap. Install: docs/argocd/README.md.\n\
         #\n\
         # Generated from docs/argocd/resource_customizations/multigres.com/*/health.lua by\n\
         # `scripts/generate argocd-cm`; edit the .lua files, not this file (a\n\
         # test checks that every script below equals its file byte for byte).\n\
         apiVersion: v1\n\
         kind: ConfigMap\n\
         metadata:\n  \
           name: argocd-cm\n  \
           namespace: argocd\n  \
           labels:\n    \
             app.kubernetes.io/name: argocd-cm\n    \
             app.kubernetes.io/part-of: argocd\n\
         data:\n",
    );
    for kind in KINDS {
        let path = script_path(kind);
        let script = std::fs::read_to_string(root.join(&path))
            .map_err(|e| format!("cannot read {path}: {e}"))?;
        out.push_str(&format!("  {}: |\n", config_key(kind)));
        for line in script.lines() {
            if line.is_empty() {
                out.push('\n');
            } else {
                out.push_str("    ");
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    Ok(vec![File::new(PATH, out)])
}
