//! The GitOps front ends of the command line: the Argo CD plugin commands
//! (which, unlike `render`, read their contract from the environment) and
//! the KRM function.

use std::collections::HashMap;
use std::path::{Component as PathComponent, Path, PathBuf};

use crate::cli::{
    ArgocdCommand, EXIT_INVALID, EXIT_OK, Failure, compiled, read_paths, write_stdout,
};
use crate::compile::diagnostics::{self as codes, InputError};
use crate::compile::{self, InputLimits, Options, emit};
use crate::gitops::{argocd, krm};
use crate::images::ImageSet;
use crate::input_files::Budget;

/// The variables of Argo CD's plugin contract, read by name: `ARGOCD_APP_*`,
/// `ARGOCD_ENV_*` (the Application's plugin env) and the destination's
/// `KUBE_*`. Any of them that is not UTF-8 is refused; other variables are
/// not read.
fn contract_environment() -> Result<HashMap<String, String>, InputError> {
    let mut env = HashMap::new();
    for (name, value) in std::env::vars_os() {
        let Some(name) = name.to_str() else { continue };
        if !["ARGOCD_APP_", "ARGOCD_ENV_", "KUBE_"]
            .iter()
            .any(|prefix| name.starts_with(prefix))
        {
            continue;
        }
        let value = value.into_string().map_err(|_| {
            InputError::new(
                name,
                codes::PLUGIN_CONTRACT,
                "the variable's value is not UTF-8 text".into(),
            )
            .hint("Argo CD passes UTF-8; check the Application's parameters and plugin env")
        })?;
        env.insert(name.to_owned(), value);
    }
    Ok(env)
}

pub fn argocd(command: &ArgocdCommand) -> Result<u8, Failure> {
    let env = contract_environment()?;
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
fn discover(dir: &Path) -> Result<Vec<PathBuf>, Failure> {
    let mut budget = Budget::new(InputLimits::default().max_input_bytes);
    let inputs = read_paths(&[dir.to_path_buf()], &mut budget)?;
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

fn generate(env: &HashMap<String, String>, cwd: &Path) -> Result<u8, Failure> {
    let get = |name: &str| env.get(name).map(String::as_str).filter(|v| !v.is_empty());
    let parameters = argocd::parse_parameters(get(argocd::PARAMETERS))?;
    let root = repository_root(cwd, get("ARGOCD_APP_SOURCE_PATH"));
    let namespace = get("ARGOCD_APP_NAMESPACE").map(str::to_owned);
    if let Some(namespace) = &namespace {
        compile::check_namespace(namespace).map_err(|message| {
            InputError::new("ARGOCD_APP_NAMESPACE", codes::PLUGIN_CONTRACT, message)
                .hint("the Application's destination namespace must be a valid namespace name")
        })?;
    }

    // One budget for every file the plugin reads, as for `render`.
    let mut budget = Budget::new(InputLimits::default().max_input_bytes);
    let mut inputs = read_paths(&[cwd.to_path_buf()], &mut budget)?;
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
        let path = inside_repository(&root, template, "parameter templates")?;
        let canonical_path = canonical(&path)?;
        if already.iter().any(|dir| canonical_path.starts_with(dir)) {
            continue; // already read with the application's directory
        }
        inputs.extend(read_paths(&[path], &mut budget)?);
    }

    let mut images = ImageSet::default();
    let images_file = parameters
        .images_file
        .clone()
        .or_else(|| get("ARGOCD_ENV_IMAGES_FILE").map(str::to_owned));
    // Past the budget the compiler reports the breach on the inputs.
    if let Some(file) = images_file.filter(|_| !budget.is_crossed()) {
        let path = inside_repository(&root, &file, "images file")?;
        let text = budget
            .read_text(&path, "the images file")
            .map_err(|mut e| {
                e.place.clone_from(&file);
                e
            })?;
        images.apply_file(&file, &text)?;
    }
    for (component, image) in &parameters.images {
        images.apply_entry(
            "parameter images",
            &format!("{component}={image}"),
            "plugin parameter images",
        )?;
    }

    // Relative names in diagnostics, as they appear in the repository.
    for input in &mut inputs {
        if let Ok(relative) = Path::new(&input.name).strip_prefix(&root) {
            input.name = relative.display().to_string();
        }
    }
    let options = Options {
        namespace,
        images,
        ..Default::default()
    };
    let Some(output) = compiled(compile::compile(&inputs, &options)) else {
        return Ok(EXIT_INVALID);
    };

    if let Some(version) = get("KUBE_VERSION").and_then(argocd::kube_version)
        && version < argocd::MIN_KUBE_VERSION
    {
        return Err(InputError::new(
            "KUBE_VERSION",
            codes::PLUGIN_CONTRACT,
            format!(
                "the destination cluster runs Kubernetes {}.{}; pool pods need {}.{} or newer (pgctld runs as a native sidecar container)",
                version.0,
                version.1,
                argocd::MIN_KUBE_VERSION.0,
                argocd::MIN_KUBE_VERSION.1
            ),
        )
        .into());
    }
    if let Some(served) = get("KUBE_API_VERSIONS") {
        let missing = argocd::missing_api_versions(&output.objects, served);
        for (api_version, objects) in &missing {
            let error = InputError::new(
                "KUBE_API_VERSIONS",
                codes::PLUGIN_CONTRACT,
                format!(
                    "the destination cluster does not serve {api_version}, needed by {}",
                    objects.join(", ")
                ),
            )
            .hint(argocd::missing_api_hint(api_version));
            eprintln!("{error}");
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
/// `what` names the parameter or variable that gave the path.
fn inside_repository(root: &Path, relative: &str, what: &str) -> Result<PathBuf, InputError> {
    let refuse = |message: String| InputError::new(what, codes::PLUGIN_CONTRACT, message);
    let path = Path::new(relative);
    if path.is_absolute()
        || path
            .components()
            .any(|c| matches!(c, PathComponent::ParentDir))
    {
        return Err(refuse(format!(
            "{relative:?} must be relative to the repository root, without `..`"
        )));
    }
    let joined = root.join(path);
    let (resolved, root) = (canonical(&joined)?, canonical(root)?);
    if !resolved.starts_with(&root) {
        return Err(refuse(format!("{relative:?} leaves the repository")));
    }
    Ok(joined)
}

fn canonical(path: &Path) -> Result<PathBuf, InputError> {
    path.canonicalize().map_err(|e| {
        InputError::new(
            path.display().to_string(),
            codes::UNREADABLE,
            format!("cannot read: {e}"),
        )
    })
}

/// `multigres krm`: reads a ResourceList, writes one.
pub fn krm() -> Result<u8, Failure> {
    // The same byte budget as `render` (a ResourceList holds every input).
    let mut budget = Budget::new(InputLimits::default().max_input_bytes);
    let text = budget.read_text(Path::new("-"), "the ResourceList on stdin")?;
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
