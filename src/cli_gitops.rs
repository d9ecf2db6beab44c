//! The GitOps front ends of the command line: the Argo CD plugin commands
//! (which, unlike `render`, read their contract from the environment) and
//! the KRM function.

use std::collections::HashMap;
use std::path::{Component as PathComponent, Path, PathBuf};

use crate::cli::{
    ArgocdCommand, ArgocdGenerateArgs, EXIT_INVALID, EXIT_OK, Failure, compiled, read_paths_beside,
    write_stdout,
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
    if let ArgocdCommand::Generate(args) = command
        && args.application.is_some()
    {
        return generate_locally(args);
    }
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
            // Argo CD reads only stdout: any output claims the directory.
            // Why a directory is declined goes to stderr, for people.
            match discover(&cwd, &env)? {
                argocd::Discovery::Claimed(files) => {
                    write_stdout(&files.iter().map(|f| format!("{f}\n")).collect::<String>())?;
                }
                argocd::Discovery::Declined(why) => eprintln!("not claimed: {why}"),
            }
            Ok(EXIT_OK)
        }
        ArgocdCommand::Generate(_) => generate(&env, &cwd),
    }
}

/// The plugin env (`ARGOCD_ENV_DISCOVER`) with which an Application that
/// names the plugin has it claim a directory discovery declines: Argo CD runs
/// the discover rule for a named plugin too.
const DISCOVER_ENV: &str = "ARGOCD_ENV_DISCOVER";

/// Argo CD's discovery for the application directory `dir`.
fn discover(dir: &Path, env: &HashMap<String, String>) -> Result<argocd::Discovery, Failure> {
    match env.get(DISCOVER_ENV).map(|v| v.trim()) {
        None | Some("") => {}
        Some("always") => {
            return Ok(argocd::Discovery::Claimed(vec![format!(
                "{DISCOVER_ENV}=always"
            )]));
        }
        Some(other) => {
            return Err(InputError::new(
                DISCOVER_ENV,
                codes::PLUGIN_CONTRACT,
                format!("{other:?} is not a discovery setting"),
            )
            .hint("set the plugin env DISCOVER to `always` to have this Application use the plugin whatever the directory holds, or leave it out")
            .into());
        }
    }
    let mut budget = Budget::new(InputLimits::default().max_input_bytes);
    let mut files = Vec::new();
    list_files(dir, "", &mut budget, &mut files)?;
    Ok(argocd::discover(&files))
}

/// Every file under `dir` (hidden entries skipped, links to directories not
/// followed) as its `/`-separated path under it, with its text when it is a
/// manifest read within the budget.
fn list_files(
    dir: &Path,
    prefix: &str,
    budget: &mut Budget,
    out: &mut Vec<(String, Option<String>)>,
) -> Result<(), InputError> {
    let unreadable = |path: &Path, e: std::io::Error| {
        InputError::new(
            path.display().to_string(),
            codes::UNREADABLE,
            format!("cannot read: {e}"),
        )
    };
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| unreadable(dir, e))? {
        entries.push(entry.map_err(|e| unreadable(dir, e))?);
    }
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for entry in entries {
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        let relative = format!("{prefix}{name}");
        let own = entry.file_type().map_err(|e| unreadable(&path, e))?;
        if own.is_dir() {
            list_files(&path, &format!("{relative}/"), budget, out)?;
            continue;
        }
        let manifest = [".yaml", ".yml", ".json"].iter().any(|e| name.ends_with(e));
        let text = if manifest && path.is_file() && !budget.is_crossed() {
            budget
                .read_file(&path)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
        } else {
            None
        };
        out.push((relative, text));
    }
    Ok(())
}

/// `multigres argocd generate --application FILE`: the plugin's generate,
/// outside Argo CD, with the contract Argo CD would pass for that
/// Application (and nothing from this shell's environment).
fn generate_locally(args: &ArgocdGenerateArgs) -> Result<u8, Failure> {
    let Some(file) = &args.application else {
        return Err(Failure::Usage("--application is required".into()));
    };
    let mut budget = Budget::new(InputLimits::default().max_input_bytes);
    let text = budget.read_text(file, "the Application")?;
    let application = argocd::LocalApplication::parse(&file.display().to_string(), &text)?;
    let mut env = application.environment();
    if let Some(version) = &args.kube_version {
        env.insert("KUBE_VERSION".into(), version.clone());
    }
    if let Some(served) = &args.api_versions {
        env.insert("KUBE_API_VERSIONS".into(), served.clone());
    }
    let cwd = args.repo.join(&application.path);
    let escapes = Path::new(&application.path)
        .components()
        .any(|c| matches!(c, PathComponent::ParentDir | PathComponent::RootDir));
    if escapes || !cwd.is_dir() {
        return Err(InputError::new(
            file.display().to_string(),
            codes::PLUGIN_CONTRACT,
            format!(
                "spec.source.path {:?} is not a directory under {}",
                application.path,
                args.repo.display()
            ),
        )
        .at(application.path_pos)
        .hint("pass the checkout of the Application's repository with --repo")
        .into());
    }
    if let argocd::Discovery::Declined(why) = discover(&cwd, &env)? {
        eprintln!(
            "warning: Argo CD would not use the plugin for this directory (discovery declines it: {why}); \
             see docs/argocd.md, Discovery"
        );
    }
    generate(&env, &cwd)
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

    let images_file = parameters
        .images_file
        .clone()
        .or_else(|| get("ARGOCD_ENV_IMAGES_FILE").map(str::to_owned));
    let images_path = images_file
        .as_deref()
        .map(|file| inside_repository(&root, file, "images file"))
        .transpose()?;

    // One budget for every file the plugin reads, as for `render`; the
    // images file may sit in the application's directory, as beside
    // `render`'s inputs.
    let mut budget = Budget::new(InputLimits::default().max_input_bytes);
    let mut inputs = read_paths_beside(&[cwd.to_path_buf()], images_path.as_deref(), &mut budget)?;
    let mut templates = parameters.templates.clone();
    if let Some(list) = get("ARGOCD_ENV_TEMPLATES") {
        templates.extend(
            list.split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned),
        );
    }
    let shared_templates = match get("ARGOCD_ENV_SHARED_TEMPLATES") {
        Some(text) if parameters.shared_templates.is_none() => {
            argocd::SharedTemplates::parse(text, "ARGOCD_ENV_SHARED_TEMPLATES")?
        }
        _ => parameters.shared_templates.unwrap_or_default(),
    };
    let already: Vec<PathBuf> = vec![canonical(cwd)?];
    let own_inputs = inputs.len();
    for template in &templates {
        let path = inside_repository(&root, template, "parameter templates")?;
        let canonical_path = canonical(&path)?;
        if already.iter().any(|dir| canonical_path.starts_with(dir)) {
            continue; // already read with the application's directory
        }
        inputs.extend(read_paths_beside(
            &[path],
            images_path.as_deref(),
            &mut budget,
        )?);
    }

    let mut images = ImageSet::default();
    // Past the budget the compiler reports the breach on the inputs.
    if let (Some(file), Some(path)) = (images_file.filter(|_| !budget.is_crossed()), images_path) {
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
        front_end: compile::FrontEnd::ArgoCdPlugin,
        ..Default::default()
    };
    // The files read through `templates`, by the names the compiler knows.
    let shared_files: std::collections::HashSet<String> = inputs[own_inputs..]
        .iter()
        .map(|input| input.name.clone())
        .collect();
    let Some(mut output) = compiled(compile::compile(&inputs, &options)) else {
        return Ok(EXIT_INVALID);
    };
    if shared_templates == argocd::SharedTemplates::External {
        // They resolved the clusters; another Application applies them.
        let sources = &output.sources;
        output.objects.retain(|object| match &object.origin {
            compile::Origin::Input(source) => !shared_files.contains(sources.file_name(source.doc)),
            compile::Origin::Generated { .. } => true,
        });
    }

    let version = match get("KUBE_VERSION") {
        None => None,
        Some(text) => Some(argocd::kube_version(text).ok_or_else(|| {
            InputError::new(
                "KUBE_VERSION",
                codes::PLUGIN_CONTRACT,
                format!("{text:?} is not a Kubernetes version"),
            )
            .hint("Argo CD sets it to the destination cluster's version, such as 1.33.2")
        })?),
    };
    if let Some(version) = version
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
