//! The GitOps front ends of the command line: the Argo CD plugin commands
//! (which, unlike `render`, read their contract from the environment) and
//! the KRM function.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Component as PathComponent, Path, PathBuf};

use crate::cli::{ArgocdCommand, EXIT_INVALID, EXIT_OK, read_paths, report, write_stdout};
use crate::compile::{self, Options, emit};
use crate::gitops::{argocd, krm};
use crate::images::ImageSet;

pub fn argocd(command: &ArgocdCommand) -> Result<u8, String> {
    let env: HashMap<String, String> = std::env::vars().collect();
    let cwd =
        std::env::current_dir().map_err(|e| format!("cannot read the working directory: {e}"))?;
    match command {
        ArgocdCommand::Init => {
            eprintln!(
                "multigres {} (Argo CD plugin {})",
                env!("CARGO_PKG_VERSION"),
                argocd::PLUGIN_VERSION
            );
            Ok(EXIT_OK)
        }
        ArgocdCommand::Discover => {
            let found = discover(&cwd)?;
            write_stdout(
                &found
                    .iter()
                    .map(|p| format!("{}\n", p.display()))
                    .collect::<String>(),
            )?;
            Ok(EXIT_OK)
        }
        ArgocdCommand::Generate => generate(&env, &cwd),
    }
}

/// Manifest files under `dir` (relative paths) that hold a MultigresCluster.
fn discover(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let inputs = read_paths(&[dir.to_path_buf()]).unwrap_or_default();
    let mut found = Vec::new();
    for input in inputs {
        // A cheap test first: most files are not clusters.
        let Ok(text) = std::str::from_utf8(&input.bytes) else {
            continue;
        };
        if !text.contains("MultigresCluster") {
            continue;
        }
        let docs = compile::yaml::parse_stream(text, &Default::default()).unwrap_or_default();
        let is_cluster = docs.iter().any(|d| {
            d.value.get("kind").and_then(|k| k.as_str()) == Some("MultigresCluster")
                && d.value
                    .get("apiVersion")
                    .and_then(|v| v.as_str())
                    .is_some_and(|v| v.starts_with("multigres.com/"))
        });
        if is_cluster {
            let path = PathBuf::from(&input.name);
            found.push(
                path.strip_prefix(dir)
                    .map(Path::to_path_buf)
                    .unwrap_or(path),
            );
        }
    }
    Ok(found)
}

fn generate(env: &HashMap<String, String>, cwd: &Path) -> Result<u8, String> {
    let get = |name: &str| env.get(name).map(String::as_str).filter(|v| !v.is_empty());
    let parameters = argocd::parse_parameters(get("ARGOCD_APP_PARAMETERS"))?;
    let root = repository_root(cwd, get("ARGOCD_APP_SOURCE_PATH"));

    let mut inputs = read_paths(&[cwd.to_path_buf()])?;
    let mut templates = parameters.templates.clone();
    if let Some(list) = get("ARGOCD_ENV_TEMPLATES") {
        templates.extend(
            list.split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned),
        );
    }
    let already: Vec<PathBuf> = vec![canonical(cwd)?];
    for template in &templates {
        let path = inside_repository(&root, template, "template path")?;
        let canonical_path = canonical(&path)?;
        if already.iter().any(|dir| canonical_path.starts_with(dir)) {
            continue; // already read with the application's directory
        }
        inputs.extend(read_paths(&[path])?);
    }

    let mut images = ImageSet::default();
    let images_file = parameters
        .images_file
        .clone()
        .or_else(|| get("ARGOCD_ENV_IMAGES_FILE").map(str::to_owned));
    if let Some(file) = images_file {
        let path = inside_repository(&root, &file, "images file")?;
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read images file {file}: {e}"))?;
        images.apply_file(&file, &text).map_err(|e| e.to_string())?;
    }
    for (component, image) in &parameters.images {
        images
            .apply_flag(&format!("{component}={image}"))
            .map_err(|e| format!("parameter images: {e}"))?;
    }

    // Relative names in diagnostics, as they appear in the repository.
    for input in &mut inputs {
        if let Ok(relative) = Path::new(&input.name).strip_prefix(&root) {
            input.name = relative.display().to_string();
        }
    }
    let options = Options {
        namespace: get("ARGOCD_APP_NAMESPACE").map(str::to_owned),
        images,
        ..Default::default()
    };
    let output = compile::compile(&inputs, &options);
    if report(&output.diagnostics) {
        return Ok(EXIT_INVALID);
    }

    if let Some(version) = get("KUBE_VERSION").and_then(argocd::kube_version)
        && version < argocd::MIN_KUBE_VERSION
    {
        eprintln!(
            "error: the destination cluster runs Kubernetes {}.{}; pool pods need {}.{} or newer (pgctld runs as a native sidecar container)",
            version.0,
            version.1,
            argocd::MIN_KUBE_VERSION.0,
            argocd::MIN_KUBE_VERSION.1
        );
        return Ok(EXIT_INVALID);
    }
    if let Some(served) = get("KUBE_API_VERSIONS") {
        let missing = argocd::missing_api_versions(&output.objects, served);
        for (api_version, objects) in &missing {
            eprintln!(
                "error: the destination cluster does not serve {api_version}, needed by {}\n  hint: {}",
                objects.join(", "),
                argocd::missing_api_hint(api_version)
            );
        }
        if !missing.is_empty() {
            return Ok(EXIT_INVALID);
        }
    }
    write_stdout(&emit::to_yaml(&output.objects))?;
    Ok(EXIT_OK)
}

/// The repository root: the working directory minus the application's path.
fn repository_root(cwd: &Path, source_path: Option<&str>) -> PathBuf {
    let Some(source) = source_path
        .map(|p| p.trim_matches('/'))
        .filter(|p| !p.is_empty() && *p != ".")
    else {
        return cwd.to_path_buf();
    };
    let mut root = cwd.to_path_buf();
    for _ in Path::new(source)
        .components()
        .filter(|c| matches!(c, PathComponent::Normal(_)))
    {
        if !root.pop() {
            return cwd.to_path_buf();
        }
    }
    if root.join(source) == cwd {
        root
    } else {
        cwd.to_path_buf()
    }
}

/// `relative` under `root`, refusing paths that leave the repository.
fn inside_repository(root: &Path, relative: &str, what: &str) -> Result<PathBuf, String> {
    let path = Path::new(relative);
    if path.is_absolute()
        || path
            .components()
            .any(|c| matches!(c, PathComponent::ParentDir))
    {
        return Err(format!(
            "{what} {relative:?} must be relative to the repository root, without `..`"
        ));
    }
    let joined = root.join(path);
    let (resolved, root) = (canonical(&joined)?, canonical(root)?);
    if !resolved.starts_with(&root) {
        return Err(format!("{what} {relative:?} leaves the repository"));
    }
    Ok(joined)
}

fn canonical(path: &Path) -> Result<PathBuf, String> {
    path.canonicalize()
        .map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// `multigres krm`: reads a ResourceList, writes one.
pub fn krm() -> Result<u8, String> {
    // The same byte budget as `render` (a ResourceList holds every input).
    let limit = compile::InputLimits::default().max_input_bytes;
    let mut text = String::new();
    std::io::stdin()
        .take(limit as u64 + 1)
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot read stdin: {e}"))?;
    if text.len() > limit {
        return Err(format!(
            "the ResourceList on stdin is larger than the limit of {limit} bytes"
        ));
    }
    let outcome = krm::run(&text);
    if outcome.failed {
        // Orchestrators print results; a short line on stderr helps when run by hand.
        let count = outcome.resource_list["results"]
            .as_array()
            .map_or(0, Vec::len);
        eprintln!("multigres krm: failed with {count} result(s)");
    }
    write_stdout(&emit::yaml(&outcome.resource_list))?;
    Ok(if outcome.failed { 1 } else { EXIT_OK })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_root_strips_the_source_path() {
        let cwd = Path::new("/tmp/_cmp_server/abc/apps/orders");
        assert_eq!(
            repository_root(cwd, Some("apps/orders")),
            Path::new("/tmp/_cmp_server/abc")
        );
        assert_eq!(repository_root(cwd, Some("other")), cwd);
        assert_eq!(repository_root(cwd, None), cwd);
        assert_eq!(repository_root(cwd, Some(".")), cwd);
    }
}
