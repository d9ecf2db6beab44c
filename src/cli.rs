//! The `multigres` command line.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::api::{Kind, crd};
use crate::compile::diagnostics::{Diagnostics, InputError};
use crate::compile::{self, Bundle, Input, InputLimits, Options, emit};
use crate::explain;
use crate::images::ImageSet;
use crate::input_files::{self, Budget};

/// Exit codes (also in docs/cli.md).
pub const EXIT_OK: u8 = 0;
pub const EXIT_INVALID: u8 = 2;
pub const EXIT_INTERNAL: u8 = 3;

#[derive(Parser, Debug)]
#[command(
    name = "multigres",
    version,
    about = "Render Multigres clusters into Kubernetes manifests",
    long_about = "Render Multigres clusters into Kubernetes manifests.\n\n\
        multigres turns a MultigresCluster and its Core/Cell/ShardTemplates into the \
        Cell, TableGroup, Shard and TopoServer objects the upstream operator would create, \
        with the same names, every default written out, byte-identical on every run.\n\n\
        Start with:  multigres render examples/minimal",
    after_help = "Exit codes: 0 success, 1 the committed render is stale (render --check) or a failed \
                  KRM function, 2 invalid input or usage, 3 internal error, 4 the change would be \
                  refused at sync time (render --check)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Render clusters and templates into manifests (YAML on stdout).
    ///
    /// Prints every input object unchanged plus the generated children. Objects
    /// carrying `app.kubernetes.io/managed-by: multigres-operator` are taken to be a
    /// previous render and replaced. On any error nothing is printed on stdout and
    /// the diagnostics go to stderr.
    Render(RenderArgs),
    /// Show which layer of the template chain supplied a field, and where.
    ///
    /// Example: multigres explain examples/templated --field
    /// Shard/standard-ha-cluster-postgres-default-0-inf-27bb51b3:spec.pools.main-app.replicasPerCell
    ///
    /// Leave out `:FIELD` to list every field of the object with its source.
    Explain(ExplainArgs),
    /// Check inputs without printing manifests (exit 2 on errors).
    ///
    /// With --previous, the inputs are judged as an update of the previous
    /// version: append-only lists, immutable backup encryption, storage that
    /// must not shrink, etcd replicas that must not change. A previous version
    /// that does not load or admit is an error (exit 2), reported at its lines.
    Validate(ValidateArgs),
    /// Print the eight CustomResourceDefinitions, or write their JSON Schemas.
    ///
    /// With --json-schema DIR, writes one JSON Schema per kind for editors
    /// and kubeconform (`multigrescluster_v1alpha1.json`, ...) instead of
    /// printing the CRDs; see docs/validation.md.
    Crds(CrdsArgs),
    /// The Argo CD config-management plugin (run by argocd-cmp-server).
    ///
    /// Install it with `multigres install argocd-plugin`; see docs/argocd.md.
    Argocd {
        #[command(subcommand)]
        command: ArgocdCommand,
    },
    /// A KRM function: a ResourceList on stdin, the rendered ResourceList on stdout.
    ///
    /// For kpt (`kpt fn eval DIR --exec "multigres krm"`) and kustomize
    /// (exec transformers). Options come from a ConfigMap functionConfig:
    /// `namespace`, `images` (COMPONENT=IMAGE, comma-separated), `outputDir`.
    Krm,
    /// Run in the cluster as the operator: `--mode full` applies every
    /// static object, `--mode runtime` leaves them to a GitOps tool and writes
    /// status. See docs/operator.md.
    #[cfg(feature = "operator")]
    Reconcile(crate::cli_reconcile::ReconcileArgs),
    /// Print what an administrator applies to install an integration.
    Install {
        #[command(subcommand)]
        what: InstallCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum ArgocdCommand {
    /// Runs before every generate; checks nothing and prints the version on stderr.
    Init,
    /// Render the application's directory (the working directory) for Argo CD.
    ///
    /// Reads the plugin contract from the environment: ARGOCD_APP_PARAMETERS
    /// (parameters images, templates, images-file, shared-templates),
    /// ARGOCD_ENV_IMAGES_FILE, ARGOCD_ENV_TEMPLATES and
    /// ARGOCD_ENV_SHARED_TEMPLATES, ARGOCD_APP_NAMESPACE (the namespace of
    /// objects that set none), KUBE_VERSION and KUBE_API_VERSIONS.
    ///
    /// With --application, renders locally what Argo CD would render for
    /// that Application: multigres argocd generate --application app.yaml
    /// --repo . --kube-version 1.33
    Generate(ArgocdGenerateArgs),
    /// Argo CD's discovery: print the files directly in the working directory
    /// that hold a MultigresCluster, unless the directory is a Helm chart, a
    /// kustomization or a render's output (any output means a match; why a
    /// directory is declined goes to stderr). Plugin env DISCOVER=always
    /// claims any directory.
    Discover,
}

#[derive(Args, Debug)]
pub struct ArgocdGenerateArgs {
    /// Run outside Argo CD: read this Application manifest (its source path,
    /// plugin parameters and env, destination namespace) and render what the
    /// plugin would. The shell's ARGOCD_* and KUBE_* variables are not read.
    #[arg(long, value_name = "FILE")]
    pub application: Option<PathBuf>,
    /// The checkout of the Application's repository (with --application).
    #[arg(
        long,
        value_name = "DIR",
        default_value = ".",
        requires = "application"
    )]
    pub repo: PathBuf,
    /// The destination cluster's Kubernetes version, as KUBE_VERSION (with --application).
    #[arg(long, value_name = "VERSION", requires = "application")]
    pub kube_version: Option<String>,
    /// The APIs the destination cluster serves, comma-separated, as
    /// KUBE_API_VERSIONS (with --application; `kubectl api-versions | paste -sd,`).
    #[arg(long, value_name = "LIST", requires = "application")]
    pub api_versions: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum InstallCommand {
    /// The Argo CD plugin: a ConfigMap with plugin.yaml and a patch of
    /// argocd-repo-server that adds the sidecar.
    ArgocdPlugin {
        /// Sidecar image: any image with `multigres` on its PATH, such as one
        /// built from deploy/argocd-cmp.Dockerfile and pushed to your registry.
        /// No image is published: there is no default.
        #[arg(long, value_name = "IMAGE")]
        image: String,
        /// Argo CD's namespace.
        #[arg(long, default_value = "argocd")]
        namespace: String,
        /// Print both documents, or only the ConfigMap or only the patch.
        #[arg(long, value_enum, default_value_t = crate::gitops::argocd::Part::All)]
        part: crate::gitops::argocd::Part,
    },
    /// The in-cluster reconciler: CRDs, Namespace, ServiceAccount, RBAC,
    /// the Deployment running `multigres reconcile` and its metrics
    /// Service. Apply with `kubectl apply --server-side -f -`; see
    /// docs/operator.md.
    Operator {
        /// full applies every object of the render itself; runtime (for
        /// GitOps) writes only status, events and runtime objects, and gets
        /// fewer rights.
        #[arg(long, value_enum, default_value_t = crate::install::Mode::Full)]
        mode: crate::install::Mode,
        /// The operator's namespace (created, labelled to enforce the
        /// restricted Pod Security level: give it one of its own).
        #[arg(long, default_value = crate::install::DEFAULT_NAMESPACE)]
        namespace: String,
        /// Image with `multigres` on its PATH, such as one built from
        /// deploy/operator.Dockerfile and pushed to your registry. No image
        /// is published: the default is the local name that Dockerfile's
        /// build command in docs/operator.md gives, `multigres:VERSION`.
        #[arg(long, value_name = "IMAGE")]
        image: Option<String>,
        /// Replicas of the Deployment; one leads, the others wait.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
        replicas: u16,
    },
}

#[derive(Args, Debug)]
pub struct InputArgs {
    /// Files or directories (searched recursively for .yaml, .yml, .json); `-` reads stdin.
    #[arg(value_name = "PATH", default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Namespace of objects that set none.
    #[arg(short, long)]
    pub namespace: Option<String>,
    /// Image of a component, COMPONENT=IMAGE (repeatable). Components: multigateway,
    /// multiorch, multipooler, multiadmin, multiadminWeb, postgres, etcd, postgresExporter.
    #[arg(long = "image", value_name = "COMPONENT=IMAGE")]
    pub images: Vec<String>,
    /// A YAML file mapping components to images (kept in Git); --image wins over it.
    #[arg(long = "images-file", value_name = "FILE")]
    pub images_file: Option<PathBuf>,
    /// Most bytes read over all inputs (the images file included).
    #[arg(long, value_name = "BYTES", default_value_t = InputLimits::default().max_input_bytes)]
    pub max_input_bytes: usize,
    /// Most objects in the inputs, and in the output.
    #[arg(long, value_name = "COUNT", default_value_t = InputLimits::default().max_objects)]
    pub max_objects: usize,
    /// Most bytes of the output, measured as compact JSON.
    #[arg(long, value_name = "BYTES", default_value_t = InputLimits::default().max_output_bytes)]
    pub max_output_bytes: usize,
}

#[derive(Args, Debug)]
pub struct RenderArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Format::Yaml)]
    pub format: Format,
    /// Also print what the in-cluster reconciler will create and own (pool
    /// Pods for the nominal replica count and their data PVCs), for review.
    /// They are marked `config.kubernetes.io/local-config: "true"`, so no
    /// tool applies them.
    #[arg(long)]
    pub preview_runtime: bool,
    /// Write one file per object into DIR (NAMESPACE/KIND/NAME.yaml, `_cluster`
    /// for objects without a namespace) plus DIR/kustomization.yaml listing
    /// them, instead of printing. Only files whose content changes are
    /// written; files an earlier run wrote and no longer rendered are removed;
    /// other files in DIR are left alone. DIR must not overlap the inputs.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["check", "format"])]
    pub output_dir: Option<PathBuf>,
    /// Compare with the render committed in DIR (by --output-dir): print a
    /// unified diff of every added, removed or changed object, and report as
    /// errors the changes the API server or the upstream webhook would refuse
    /// at sync time (judged against --previous, or else against DIR). Exit 0
    /// when identical and safe, 1 when DIR is stale (re-render it), 4 when
    /// the change would be refused at sync time (also when stale), 2 on
    /// invalid input.
    #[arg(long, value_name = "DIR", conflicts_with = "format")]
    pub check: Option<PathBuf>,
    /// With --check: judge the upgrade against the render in DIR, the one
    /// deployed or merged (in CI, the base branch's render checked out
    /// beside the pull request, for example base/rendered/), instead of the
    /// pull request's own committed render.
    #[arg(long, value_name = "DIR", requires = "check")]
    pub previous: Option<PathBuf>,
    /// With --check: the MultigresCluster NAMESPACE/NAME may be removed (a
    /// deletion on purpose; its databases go with it). Repeatable. Without
    /// it, removing or renaming a cluster is an upgrade error (MG313).
    #[arg(
        long = "allow-removal",
        value_name = "NAMESPACE/NAME",
        requires = "check",
        value_parser = crate::gitops::check::parse_cluster_name
    )]
    pub allow_removals: Vec<crate::gitops::check::ClusterName>,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A YAML stream, one document per object.
    Yaml,
    /// One JSON `v1/List` holding every object.
    Json,
}

#[derive(Args, Debug)]
pub struct ExplainArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// `KIND/NAME[:FIELD]`, e.g. `Cell/minimal-zone-a-96c88ae0:spec.multigateway.replicas`
    /// (KIND is case-insensitive; NAME may be namespace/name).
    #[arg(long, value_name = "KIND/NAME[:FIELD]")]
    pub field: String,
}

#[derive(Args, Debug)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// The previous version of the inputs (files or directories), for update checks.
    #[arg(long, value_name = "PATH")]
    pub previous: Vec<PathBuf>,
}

#[derive(Args, Debug)]
pub struct CrdsArgs {
    /// Write one file per CRD into this directory instead of printing.
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// Write the JSON Schema of each kind into this directory, named as
    /// kubeconform expects: `{kind}_{version}.json`, kind in lower case.
    #[arg(long, value_name = "DIR")]
    pub json_schema: Option<PathBuf>,
}

/// Why a command stopped with exit 2 without compiling.
#[derive(Debug)]
pub enum Failure {
    /// A mistake in how the command was called: printed as `error: message`.
    Usage(String),
    /// An input the command cannot use (a file, a variable, a parameter),
    /// printed in the diagnostics' form `PLACE: error[CODE]: message`.
    Input(InputError),
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure::Usage(message)
    }
}

/// A tree that cannot be written or read is a usage error (exit 2), its
/// message as the tree says it.
impl From<crate::gitops::tree::TreeError> for Failure {
    fn from(error: crate::gitops::tree::TreeError) -> Self {
        Failure::Usage(error.to_string())
    }
}

impl From<&str> for Failure {
    fn from(message: &str) -> Self {
        Failure::Usage(message.to_owned())
    }
}

impl From<InputError> for Failure {
    fn from(error: InputError) -> Self {
        Failure::Input(error)
    }
}

/// Runs the command line; returns the process exit code.
pub fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::Render(args) => render(&args),
        Command::Explain(args) => explain_command(&args),
        Command::Validate(args) => validate(&args),
        Command::Crds(args) => crds(&args),
        Command::Argocd { command } => crate::cli_gitops::argocd(&command),
        Command::Krm => crate::cli_gitops::krm(),
        #[cfg(feature = "operator")]
        Command::Reconcile(args) => crate::cli_reconcile::reconcile(&args),
        Command::Install {
            what:
                InstallCommand::ArgocdPlugin {
                    image,
                    namespace,
                    part,
                },
        } => write_stdout(&crate::gitops::argocd::install_manifests(
            &image, &namespace, part,
        ))
        .map(|()| EXIT_OK)
        .map_err(Failure::from),
        Command::Install {
            what:
                InstallCommand::Operator {
                    mode,
                    namespace,
                    image,
                    replicas,
                },
        } => install_operator(crate::install::Options {
            mode,
            namespace,
            image: image.unwrap_or_else(|| {
                let image = format!("multigres:{}", env!("CARGO_PKG_VERSION"));
                eprintln!(
                    "note: no --image given: the Deployment runs {image}, which is not \
                     published; build and push it (docs/operator.md), or pass --image"
                );
                image
            }),
            replicas,
        }),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(Failure::Usage(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(EXIT_INVALID)
        }
        Err(Failure::Input(error)) => {
            eprintln!("{error}");
            ExitCode::from(EXIT_INVALID)
        }
    }
}

fn render(args: &RenderArgs) -> Result<u8, Failure> {
    use crate::gitops::tree;
    if let Some(dir) = args.output_dir.as_ref().or(args.check.as_ref()) {
        tree::check_overlap(dir, &args.input.paths)?;
    }
    let (inputs, mut options) = read_inputs(&args.input)?;
    options.preview_runtime = args.preview_runtime;
    let Some(output) = compiled(compile::compile(&inputs, &options)) else {
        return Ok(EXIT_INVALID);
    };
    if let Some(dir) = &args.output_dir {
        let files = tree::files(&output.objects)?;
        let summary = tree::write(dir, &files)?;
        eprintln!("{}: {summary}", dir.display());
        return Ok(EXIT_OK);
    }
    if let Some(dir) = &args.check {
        return check_render(args, dir, &output.objects);
    }
    let written = match args.format {
        Format::Yaml => {
            let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
            emit::write_yaml(&output.objects, &mut stdout).and_then(|()| stdout.flush())
        }
        Format::Json => {
            write_stdout(&emit::to_json(&output.objects)).map_err(std::io::Error::other)
        }
    };
    // The process ends now: freeing every object one by one would cost a
    // tenth of the run (measured on a 100-cluster fleet), for memory the
    // operating system reclaims at once.
    std::mem::forget(output);
    match written {
        Ok(()) => Ok(EXIT_OK),
        // A closed pipe (`| head`) is the reader's choice, not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(EXIT_OK),
        Err(e) => Err(format!("cannot write output: {e}").into()),
    }
}

/// `render --check DIR [--previous PREVIOUS]`: two verdicts, told apart by
/// exit code and message. Whether DIR is stale (exit 1: re-render), and
/// whether the change from PREVIOUS (else from DIR) would be refused at sync
/// time (exit 4: re-rendering does not help; also when DIR is stale too).
fn check_render(
    args: &RenderArgs,
    dir: &std::path::Path,
    objects: &[compile::Object],
) -> Result<u8, Failure> {
    use crate::gitops::{check, tree};
    let files = tree::files(objects)?;
    let committed = tree::read(dir, args.input.max_input_bytes)?;
    let Some(committed_objects) = parsed(&committed, dir) else {
        return Ok(EXIT_INVALID);
    };
    let (baseline_dir, baseline) = match &args.previous {
        Some(previous) => {
            let files = tree::read(previous, args.input.max_input_bytes).map_err(|e| {
                format!(
                    "--previous {}: {e}; --previous takes a directory written by `multigres \
                     render --output-dir` (in CI, the base branch's render), not inputs",
                    previous.display()
                )
            })?;
            let Some(objects) = parsed(&files, previous) else {
                return Ok(EXIT_INVALID);
            };
            (previous.as_path(), objects)
        }
        None => {
            eprintln!(
                "note: the upgrade is judged against the committed render in {dir}, which a pull \
                 request that re-renders also changes; to judge it against what is deployed, pass \
                 the base branch's render: --previous base/rendered (see \
                 examples/ci/github-actions.yaml)",
                dir = dir.display()
            );
            (dir, committed_objects)
        }
    };
    let diffs = check::diff(&committed, &files);
    let color = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let text: String = diffs.iter().map(|d| check::unified(d, color)).collect();
    write_stdout(&text)?;
    let allowed = args.allow_removals.iter().cloned().collect();
    let judgement = check::judge(&baseline, &check::values(objects), &allowed);
    for finding in &judgement.findings {
        eprintln!("{}", finding.display(baseline_dir));
    }
    for note in &judgement.notes {
        eprintln!("note: {note}");
    }
    let count = |change| diffs.iter().filter(|d| d.change == change).count();
    let against = match &args.previous {
        Some(previous) => format!(" against {}", previous.display()),
        None => String::new(),
    };
    eprintln!(
        "{}: {} changed, {} added, {} removed, {} identical; {} upgrade error(s), {} warning(s){against}",
        dir.display(),
        count(check::Change::Changed),
        count(check::Change::Added),
        count(check::Change::Removed),
        files.len() - count(check::Change::Changed) - count(check::Change::Added),
        judgement.errors(),
        judgement.warnings()
    );
    let stale = !diffs.is_empty();
    if stale {
        eprintln!(
            "error: the committed render in {} is stale (the diff is on stdout): re-render with \
             `{}` and commit the result",
            dir.display(),
            rerender_command(args, dir)
        );
    }
    if !judgement.is_safe() {
        eprintln!(
            "error: the change would be refused at sync time ({} upgrade error(s) above, judged \
             against {}): re-rendering does not fix this; change the inputs",
            judgement.errors(),
            baseline_dir.display()
        );
        return Ok(check::EXIT_UNSAFE);
    }
    Ok(if stale { check::EXIT_STALE } else { EXIT_OK })
}

/// The objects of a render tree's files; on malformed files, every error
/// printed and `None`.
fn parsed(
    files: &[crate::gitops::tree::File],
    dir: &std::path::Path,
) -> Option<std::collections::BTreeMap<String, serde_json::Value>> {
    match crate::gitops::check::parse_objects(files, dir) {
        Ok(objects) => Some(objects),
        Err(errors) => {
            for error in &errors {
                eprintln!("{error}");
            }
            eprintln!("{} malformed file(s) in {}", errors.len(), dir.display());
            None
        }
    }
}

/// The `render --output-dir DIR` command that brings DIR up to date: the
/// input flags of this `render --check`, shell-quoted.
fn rerender_command(args: &RenderArgs, dir: &std::path::Path) -> String {
    let input = &args.input;
    let defaults = InputLimits::default();
    let mut words: Vec<String> = vec!["multigres".into(), "render".into()];
    words.extend(input.paths.iter().map(|p| p.display().to_string()));
    if let Some(namespace) = &input.namespace {
        words.extend(["--namespace".into(), namespace.clone()]);
    }
    if let Some(file) = &input.images_file {
        words.extend(["--images-file".into(), file.display().to_string()]);
    }
    for image in &input.images {
        words.extend(["--image".into(), image.clone()]);
    }
    for (flag, value, default) in [
        (
            "--max-input-bytes",
            input.max_input_bytes,
            defaults.max_input_bytes,
        ),
        ("--max-objects", input.max_objects, defaults.max_objects),
        (
            "--max-output-bytes",
            input.max_output_bytes,
            defaults.max_output_bytes,
        ),
    ] {
        if value != default {
            words.extend([flag.into(), value.to_string()]);
        }
    }
    if args.preview_runtime {
        words.push("--preview-runtime".into());
    }
    words.extend(["--output-dir".into(), dir.display().to_string()]);
    words
        .iter()
        .map(|w| shell_quoted(w))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `word` as a POSIX shell reads it back: as is when it holds only safe
/// characters, else in single quotes.
fn shell_quoted(word: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_./=:@%+,".contains(c);
    if !word.is_empty() && word.chars().all(safe) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

fn install_operator(options: crate::install::Options) -> Result<u8, Failure> {
    compile::check_namespace(&options.namespace).map_err(|e| format!("--namespace: {e}"))?;
    if options.image.trim().is_empty() {
        return Err("--image: empty; name the image to run, as REGISTRY/NAME:TAG".into());
    }
    write_stdout(&crate::install::manifests(&options))?;
    Ok(EXIT_OK)
}

fn explain_command(args: &ExplainArgs) -> Result<u8, Failure> {
    let query = explain::Query::parse(&args.field)?;
    let (inputs, options) = read_inputs(&args.input)?;
    let Some(output) = compiled(compile::compile(&inputs, &options)) else {
        return Ok(EXIT_INVALID);
    };
    let text = explain::explain(&output, &query, options.namespace.as_deref())?;
    write_stdout(&text)?;
    Ok(EXIT_OK)
}

fn validate(args: &ValidateArgs) -> Result<u8, Failure> {
    let (inputs, options) = read_inputs(&args.input)?;
    let previous = read_paths(&args.previous, &mut Budget::new(args.input.max_input_bytes))?;
    let Some(output) = compiled(compile::compile_with_previous(&inputs, &previous, &options))
    else {
        return Ok(EXIT_INVALID);
    };
    eprintln!("{} objects valid", output.objects.len());
    Ok(EXIT_OK)
}

fn crds(args: &CrdsArgs) -> Result<u8, Failure> {
    if let Some(dir) = &args.json_schema {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        for kind in Kind::ALL {
            let path = dir.join(crd::json_schema_file_name(kind));
            let mut text = serde_json::to_string_pretty(&crd::json_schema(kind))
                .map_err(|e| format!("cannot serialise the {} schema: {e}", kind.name()))?;
            text.push('\n');
            std::fs::write(&path, text)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        }
        // The schemas replace the printed CRDs unless --output-dir asks for them too.
        if args.output_dir.is_none() {
            return Ok(EXIT_OK);
        }
    }
    match &args.output_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            for kind in Kind::ALL {
                let path = dir.join(crd::file_name(kind));
                std::fs::write(&path, crd::yaml(kind))
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            }
        }
        None => {
            write_stdout(&crd::yaml_stream())?;
        }
    }
    Ok(EXIT_OK)
}

/// The bundle of a compilation, its warnings printed on stderr; or, on
/// errors, every diagnostic printed and `None`.
pub(crate) fn compiled(result: Result<Bundle, Diagnostics>) -> Option<Bundle> {
    report(compile::diagnostics_of(&result));
    let bundle = result.ok()?;
    let has_cluster = bundle
        .objects
        .iter()
        .any(|o| o.kind == "MultigresCluster" && o.api_version == crate::api::API_VERSION);
    if !has_cluster {
        // Not an error (templates may live apart from their clusters), but
        // a person who passed the wrong directory must learn it here.
        eprintln!(
            "note: the inputs hold no MultigresCluster: nothing is generated, the {} input \
             object(s) are passed through",
            bundle.objects.len()
        );
    }
    Some(bundle)
}

/// Prints diagnostics to stderr; returns whether any is an error.
pub(crate) fn report(diagnostics: &Diagnostics) -> bool {
    let mut stderr = std::io::stderr().lock();
    for d in &diagnostics.0 {
        let _ = writeln!(stderr, "{d}");
    }
    let errors = diagnostics.errors().count();
    if errors > 0 {
        let _ = writeln!(stderr, "{errors} error(s); nothing rendered");
    }
    errors > 0
}

pub(crate) fn write_stdout(text: &str) -> Result<(), String> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => Ok(()),
        // A closed pipe (`| head`) is the reader's choice, not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(format!("cannot write output: {e}")),
    }
}

fn read_inputs(args: &InputArgs) -> Result<(Vec<Input>, Options), Failure> {
    if let Some(namespace) = &args.namespace {
        compile::check_namespace(namespace).map_err(|e| format!("--namespace: {e}"))?;
    }
    let limits = InputLimits {
        max_input_bytes: args.max_input_bytes,
        max_objects: args.max_objects,
        max_output_bytes: args.max_output_bytes,
        ..InputLimits::default()
    };
    // One budget for every file the command reads, the images file included.
    let mut budget = Budget::new(limits.max_input_bytes);
    let inputs = read_paths_beside(&args.paths, args.images_file.as_deref(), &mut budget)?;
    let mut images = ImageSet::default();
    // Past the budget the compiler reports the breach on the inputs.
    if let Some(path) = args.images_file.as_ref().filter(|_| !budget.is_crossed()) {
        let text = budget.read_text(path, "the images file").map_err(|e| {
            if e.code == compile::diagnostics::INPUT_LIMIT {
                e.hint("raise the limit with --max-input-bytes")
            } else {
                e
            }
        })?;
        images.apply_file(&path.display().to_string(), &text)?;
    }
    for flag in &args.images {
        images.apply_flag(flag)?;
    }
    Ok((
        inputs,
        Options {
            namespace: args.namespace.clone(),
            images,
            limits,
            preview_runtime: false,
            front_end: compile::FrontEnd::CommandLine,
        },
    ))
}

/// Reads files, directories (recursively, sorted) and `-` (stdin) within
/// `budget`; entries of a directory that are not regular files are skipped
/// with a note on stderr.
pub(crate) fn read_paths(paths: &[PathBuf], budget: &mut Budget) -> Result<Vec<Input>, InputError> {
    read_paths_beside(paths, None, budget)
}

/// [`read_paths`] for a command that also reads `images_file`: where it sits
/// in an input directory, it is skipped with a note rather than read as a
/// manifest.
pub(crate) fn read_paths_beside(
    paths: &[PathBuf],
    images_file: Option<&Path>,
    budget: &mut Budget,
) -> Result<Vec<Input>, InputError> {
    let read = input_files::read_paths_beside(paths, images_file, budget)?;
    for note in &read.skipped {
        eprintln!("note: {note}");
    }
    Ok(read.inputs)
}

#[cfg(test)]
mod tests {
    use super::shell_quoted;

    #[test]
    fn re_render_commands_quote_what_a_shell_would_split() {
        assert_eq!(shell_quoted("clusters/"), "clusters/");
        assert_eq!(shell_quoted("postgres=ghcr.io/x:1"), "postgres=ghcr.io/x:1");
        assert_eq!(shell_quoted("my clusters"), "'my clusters'");
        assert_eq!(shell_quoted("it's"), r"'it'\''s'");
        assert_eq!(shell_quoted("$HOME"), "'$HOME'");
        assert_eq!(shell_quoted(""), "''");
    }
}
