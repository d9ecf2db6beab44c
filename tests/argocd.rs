//! The Argo CD plugin, run the way argocd-cmp-server runs it: the commands of
//! the generated plugin.yaml, in the application's directory inside a
//! repository copy, with the plugin contract's environment and a deadline.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use multigres::compile::yaml::parse_stream;
use serde_json::Value;

use crate::support::tools;

const BIN: &str = env!("CARGO_BIN_EXE_multigres");
/// Argo CD's default repo-server deadline.
const DEADLINE: Duration = Duration::from_secs(60);

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A scratch repository: `<tmp>/repo` with the given files.
struct Repo {
    root: PathBuf,
    bin_dir: PathBuf,
}

impl Repo {
    fn new(name: &str, files: &[(&str, String)]) -> Self {
        let base =
            std::env::temp_dir().join(format!("multigres-argocd-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let root = base.join("repo");
        for (path, text) in files {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        // The sidecar image has `multigres` on its PATH.
        let bin_dir = base.join("bin");
        std::fs::create_dir_all(&bin_dir).unwrap();
        std::os::unix::fs::symlink(BIN, bin_dir.join("multigres")).unwrap();
        Repo { root, bin_dir }
    }
}

impl Drop for Repo {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(self.root.parent().unwrap());
    }
}

/// The plugin.yaml that `multigres install argocd-plugin` puts in its ConfigMap.
fn plugin() -> Value {
    let output = Command::new(BIN)
        .args([
            "install",
            "argocd-plugin",
            "--image",
            "registry.example/multigres-cmp:1",
        ])
        .output()
        .unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    let docs = parse_stream(&text, &Default::default()).unwrap();
    let config_map = docs
        .iter()
        .find(|d| d.value["kind"] == "ConfigMap")
        .expect("a ConfigMap");
    let plugin_yaml = config_map.value["data"]["plugin.yaml"]
        .as_str()
        .expect("data.plugin.yaml");
    let plugin = parse_stream(plugin_yaml, &Default::default())
        .unwrap()
        .remove(0)
        .value;
    assert_eq!(plugin["apiVersion"], "argoproj.io/v1alpha1");
    assert_eq!(plugin["kind"], "ConfigManagementPlugin");
    assert_eq!(plugin["metadata"]["name"], "multigres");
    assert_eq!(plugin["spec"]["version"], "v1");
    let patch = docs
        .iter()
        .find(|d| d.value["kind"] == "Deployment")
        .expect("the repo-server patch");
    let sidecar = &patch.value["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(sidecar["command"][0], "/var/run/argocd/argocd-cmp-server");
    assert_eq!(sidecar["securityContext"]["runAsUser"], 999);
    plugin
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs a plugin command (`spec.<phase>`) like argocd-cmp-server: in `cwd`,
/// with the sidecar's PATH plus the contract's variables, killed at the deadline.
fn run_phase(
    plugin: &Value,
    phase: &str,
    repo: &Repo,
    app: &str,
    env: &BTreeMap<&str, String>,
) -> Run {
    let command = match phase {
        "discover" => &plugin["spec"]["discover"]["find"],
        _ => &plugin["spec"][phase],
    };
    let argv: Vec<String> = command["command"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(command["args"].as_array().into_iter().flatten())
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    let cwd = repo.root.join(app);
    let mut child = Command::new(&argv[0]);
    child
        .args(&argv[1..])
        .current_dir(&cwd)
        .env_clear()
        .env("PATH", format!("{}:/usr/bin:/bin", repo.bin_dir.display()))
        .env("ARGOCD_APP_NAME", "argocd_orders")
        .env("ARGOCD_APP_PROJECT_NAME", "default")
        .env(
            "ARGOCD_APP_REVISION",
            "0123456789abcdef0123456789abcdef01234567",
        )
        .env("ARGOCD_APP_REVISION_SHORT", "0123456")
        .env("ARGOCD_APP_SOURCE_PATH", app)
        .env(
            "ARGOCD_APP_SOURCE_REPO_URL",
            "https://git.example.com/platform.git",
        )
        .env("ARGOCD_APP_SOURCE_TARGET_REVISION", "HEAD")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in env {
        child.env(key, value);
    }
    // argocd-cmp-server runs each command in a PATH lookup of the sidecar.
    let mut child = child
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {argv:?}: {e}"));
    // Drain both pipes while waiting, as the cmp-server does: a full pipe
    // would otherwise stall the command.
    let mut stdout_pipe = child.stdout.take().unwrap();
    let mut stderr_pipe = child.stderr.take().unwrap();
    let stdout = std::thread::spawn(move || {
        let mut text = String::new();
        stdout_pipe.read_to_string(&mut text).unwrap();
        text
    });
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        stderr_pipe.read_to_string(&mut text).unwrap();
        text
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > DEADLINE {
            child.kill().unwrap();
            panic!("{phase} exceeded the repo-server deadline of {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Run {
        code: status.code(),
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

/// The upstream operator's `config/samples/minimal.yaml`, as copied into
/// examples/ (with a two-line note of its origin on top).
fn upstream_minimal() -> String {
    std::fs::read_to_string(repo_root().join("examples/minimal/minimal.yaml"))
        .expect("examples/minimal/minimal.yaml")
}

fn env(pairs: &[(&'static str, &str)]) -> BTreeMap<&'static str, String> {
    let mut map: BTreeMap<&str, String> = BTreeMap::from([
        ("ARGOCD_APP_NAMESPACE", "default".to_owned()),
        ("KUBE_VERSION", "1.33.1".to_owned()),
    ]);
    for (key, value) in pairs {
        map.insert(key, (*value).to_owned());
    }
    map
}

fn render(args: &[&str]) -> String {
    let output = Command::new(BIN).arg("render").args(args).output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn generate_prints_the_full_rendered_application() {
    let plugin = plugin();
    let repo = Repo::new(
        "minimal",
        &[("apps/minimal/minimal.yaml", upstream_minimal())],
    );
    let init = run_phase(&plugin, "init", &repo, "apps/minimal", &env(&[]));
    assert_eq!(init.code, Some(0), "{}", init.stderr);
    let discover = run_phase(&plugin, "discover", &repo, "apps/minimal", &env(&[]));
    assert_eq!(discover.code, Some(0));
    assert_eq!(discover.stdout.trim(), "minimal.yaml");
    let generate = run_phase(&plugin, "generate", &repo, "apps/minimal", &env(&[]));
    assert_eq!(generate.code, Some(0), "{}", generate.stderr);
    let expected = render(&[repo.root.join("apps/minimal").to_str().unwrap()]);
    assert_eq!(generate.stdout, expected);
    for kind in [
        "Cell",
        "Shard",
        "TableGroup",
        "TopoServer",
        "StatefulSet",
        "Deployment",
        "Service",
        "ConfigMap",
    ] {
        assert!(
            generate.stdout.contains(&format!("\nkind: {kind}\n")),
            "no {kind}"
        );
    }
}

#[test]
fn an_invalid_cluster_fails_with_nothing_on_stdout() {
    let plugin = plugin();
    let broken = upstream_minimal().replace("zoneId: us-central1-a", "zoneID: us-central1-a");
    let repo = Repo::new("invalid", &[("apps/broken/cluster.yaml", broken)]);
    let generate = run_phase(&plugin, "generate", &repo, "apps/broken", &env(&[]));
    assert_ne!(generate.code, Some(0));
    assert!(generate.stdout.is_empty(), "{}", generate.stdout);
    assert!(
        generate.stderr.contains("error[MG010]"),
        "{}",
        generate.stderr
    );
    assert!(
        generate.stderr.contains("apps/broken/cluster.yaml:"),
        "{}",
        generate.stderr
    );
}

/// What `discover` prints for `app` (its code must be 0: Argo CD takes any
/// other as an error, not as "not mine").
fn discover(plugin: &Value, repo: &Repo, app: &str, env_pairs: &[(&'static str, &str)]) -> String {
    let run = run_phase(plugin, "discover", repo, app, &env(env_pairs));
    assert_eq!(run.code, Some(0), "{app}: {}", run.stderr);
    run.stdout
}

#[test]
fn discovery_claims_only_directories_of_inputs() {
    let plugin = plugin();
    let cluster = upstream_minimal();
    let templates = |name: &str| {
        std::fs::read_to_string(repo_root().join("examples/templated/templates").join(name))
            .unwrap()
    };
    let mut files = vec![
        // Ours: a cluster, its templates below it, a plain Secret.
        ("apps/db/cluster.yaml", cluster.clone()),
        ("apps/db/templates/shard.yaml", templates("shard.yaml")),
        (
            "apps/db/secret.yaml",
            "apiVersion: v1\nkind: Secret\nmetadata: {name: pw}\nstringData: {password: x}\n"
                .to_owned(),
        ),
        // A Helm chart that templates a cluster.
        (
            "charts/db/Chart.yaml",
            "apiVersion: v2\nname: db\nversion: 0.1.0\n".to_owned(),
        ),
        ("charts/db/templates/cluster.yaml", cluster.clone()),
        ("charts/db/values.yaml", "replicas: 2\n".to_owned()),
        // A kustomize overlay (each spelling of the file's name).
        ("overlays/prod/cluster.yaml", cluster.clone()),
        (
            "overlays/prod/kustomization.yaml",
            "resources: [cluster.yaml]\n".to_owned(),
        ),
        ("overlays/yml/cluster.yaml", cluster.clone()),
        (
            "overlays/yml/kustomization.yml",
            "resources: [cluster.yaml]\n".to_owned(),
        ),
        ("overlays/bare/cluster.yaml", cluster.clone()),
        (
            "overlays/bare/Kustomization",
            "resources: [cluster.yaml]\n".to_owned(),
        ),
        // A cluster deeper down only (a directory of clusters, an app of apps).
        ("fleet/orders/cluster.yaml", cluster.clone()),
        (
            "other/app.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n".to_owned(),
        ),
    ];
    // The output of `render --output-dir`: children and the kustomization record.
    let rendered =
        std::env::temp_dir().join(format!("multigres-argocd-rendered-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&rendered);
    render(&[
        repo_root().join("examples/minimal").to_str().unwrap(),
        "--output-dir",
        rendered.to_str().unwrap(),
    ]);
    let mut rendered_files = Vec::new();
    let mut stack = vec![rendered.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let relative = path.strip_prefix(&rendered).unwrap().display().to_string();
                rendered_files.push((relative, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    std::fs::remove_dir_all(&rendered).unwrap();
    assert!(
        rendered_files
            .iter()
            .any(|(p, _)| p == "kustomization.yaml")
    );
    let rendered_paths: Vec<(String, String)> = rendered_files
        .iter()
        .map(|(p, t)| (format!("rendered/{p}"), t.clone()))
        .collect();
    // The same tree without its kustomization record: still a render's output.
    let stripped: Vec<(String, String)> = rendered_files
        .iter()
        .filter(|(p, _)| p != "kustomization.yaml")
        .map(|(p, t)| (format!("rendered-bare/{p}"), t.clone()))
        .collect();
    let owned: Vec<(String, String)> = rendered_paths.into_iter().chain(stripped).collect();
    files.extend(owned.iter().map(|(p, t)| (p.as_str(), t.clone())));
    let repo = Repo::new("discover", &files);

    assert_eq!(discover(&plugin, &repo, "apps/db", &[]), "cluster.yaml\n");
    for app in [
        "charts/db",
        "overlays/prod",
        "overlays/yml",
        "overlays/bare",
        "rendered",
        "rendered-bare",
        "fleet",
        "other",
    ] {
        assert_eq!(discover(&plugin, &repo, app, &[]), "", "{app} was claimed");
    }
    // Why it is declined goes to stderr, for people.
    let declined = run_phase(&plugin, "discover", &repo, "rendered-bare", &env(&[]));
    assert!(
        declined.stderr.contains("output of a render"),
        "{}",
        declined.stderr
    );
    // Argo CD runs discovery for a named plugin too: an Application that
    // names the plugin claims a directory with the plugin env DISCOVER=always.
    assert!(
        !discover(
            &plugin,
            &repo,
            "fleet",
            &[("ARGOCD_ENV_DISCOVER", "always")]
        )
        .is_empty()
    );
    let typo = run_phase(
        &plugin,
        "discover",
        &repo,
        "fleet",
        &env(&[("ARGOCD_ENV_DISCOVER", "allways")]),
    );
    assert_ne!(typo.code, Some(0));
    assert!(
        typo.stderr.contains("ARGOCD_ENV_DISCOVER"),
        "{}",
        typo.stderr
    );
}

/// The fenced block of `docs/argocd.md` that starts with `first_line`.
fn docs_block(first_line: &str) -> String {
    let text = std::fs::read_to_string(repo_root().join("docs/argocd.md")).unwrap();
    let start = text
        .find(&format!("```yaml\n{first_line}\n"))
        .unwrap_or_else(|| panic!("docs/argocd.md has no yaml block starting {first_line:?}"));
    let body = &text[start + "```yaml\n".len()..];
    body[..body.find("```").unwrap()].to_owned()
}

#[test]
fn the_documented_kustomize_install_patches_the_repo_server() {
    if !tools::require_tool("kubectl") {
        return;
    }
    let kustomization = docs_block("# kustomization.yaml");
    // The files the kustomization names, as the comments beside them say.
    let file_after = |marker: &str| {
        let line = kustomization
            .lines()
            .find(|l| l.contains(marker))
            .unwrap_or_else(|| panic!("no line with {marker:?} in {kustomization}"));
        line.split('#')
            .next()
            .unwrap()
            .trim()
            .trim_start_matches("- path:")
            .trim_start_matches('-')
            .trim()
            .to_owned()
    };
    let install = file_after("Argo CD's manifests/install.yaml");
    let config_map = file_after("--part configmap");
    let patch = file_after("--part patch");
    let image = "registry.example/multigres-cmp:1";
    let print = |part: &str| {
        let output = Command::new(BIN)
            .args(["install", "argocd-plugin", "--image", image, "--part", part])
            .output()
            .unwrap();
        assert!(output.status.success());
        String::from_utf8(output.stdout).unwrap()
    };
    let repo = Repo::new(
        "kustomize",
        &[
            ("kustomization.yaml", kustomization.clone()),
            (
                install.as_str(),
                std::fs::read_to_string(repo_root().join("tests/data/argocd-install/install.yaml"))
                    .unwrap(),
            ),
            (config_map.as_str(), print("configmap")),
            (patch.as_str(), print("patch")),
        ],
    );
    let output = Command::new("kubectl")
        .args(["kustomize", repo.root.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "kubectl kustomize failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let docs = parse_stream(
        &String::from_utf8(output.stdout).unwrap(),
        &Default::default(),
    )
    .unwrap();
    let find = |kind: &str, name: &str| {
        docs.iter()
            .map(|d| &d.value)
            .find(|v| v["kind"] == kind && v["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("no {kind} {name} in the output"))
    };
    let repo_server = find("Deployment", "argocd-repo-server");
    assert_eq!(repo_server["metadata"]["namespace"], "argocd");
    let pod = &repo_server["spec"]["template"]["spec"];
    let containers: Vec<&str> = pod["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(containers, ["multigres-cmp", "argocd-repo-server"], "{pod}");
    let sidecar = &pod["containers"][0];
    assert_eq!(sidecar["image"], image);
    assert_eq!(sidecar["command"][0], "/var/run/argocd/argocd-cmp-server");
    assert_eq!(sidecar["securityContext"]["runAsUser"], 999);
    let volumes: Vec<&str> = pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    for volume in [
        "var-files",
        "plugins",
        "multigres-cmp-plugin",
        "multigres-cmp-tmp",
    ] {
        assert!(volumes.contains(&volume), "no volume {volume}: {volumes:?}");
    }
    let plugin_config = find("ConfigMap", "multigres-cmp-plugin");
    assert_eq!(plugin_config["metadata"]["namespace"], "argocd");
    assert!(
        plugin_config["data"]["plugin.yaml"]
            .as_str()
            .unwrap()
            .contains("kind: ConfigManagementPlugin")
    );
    assert_eq!(
        find("ConfigMap", "argocd-cm")["metadata"]["namespace"],
        "argocd"
    );
}

#[test]
fn install_requires_an_image() {
    let output = Command::new(BIN)
        .args(["install", "argocd-plugin"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--image"));
}

#[test]
fn parameters_namespace_and_shared_templates() {
    let plugin = plugin();
    let templates = |name: &str| {
        std::fs::read_to_string(repo_root().join("examples/templated/templates").join(name))
            .unwrap()
    };
    let cluster =
        std::fs::read_to_string(repo_root().join("examples/templated/templated-cluster.yaml"))
            .unwrap();
    // The cluster and the shared templates set no namespace: the destination's is used.
    let strip = |text: String| text.replace("  namespace: default\n", "");
    let repo = Repo::new(
        "templates",
        &[
            ("apps/ha/cluster.yaml", strip(cluster)),
            ("shared/templates/core.yaml", strip(templates("core.yaml"))),
            ("shared/templates/cell.yaml", strip(templates("cell.yaml"))),
            (
                "shared/templates/shard.yaml",
                strip(templates("shard.yaml")),
            ),
            (
                "images.yaml",
                "postgres: registry.example/pgctld:17\n".to_owned(),
            ),
        ],
    );
    let parameters = r#"[{"name":"templates","array":["shared/templates"]},{"name":"images","map":{"multiorch":"registry.example/orch:2"}},{"name":"images-file","string":"images.yaml"}]"#;
    let generate = run_phase(
        &plugin,
        "generate",
        &repo,
        "apps/ha",
        &env(&[
            ("ARGOCD_APP_NAMESPACE", "databases"),
            ("ARGOCD_APP_PARAMETERS", parameters),
            ("PARAM_IMAGES_MULTIORCH", "ignored:0"),
        ]),
    );
    assert_eq!(generate.code, Some(0), "{}", generate.stderr);
    assert!(
        generate
            .stdout
            .contains("address: standard-ha-cluster-global-topo.databases.svc:2379")
    );
    assert!(
        generate
            .stdout
            .contains("multiorch: registry.example/orch:2")
    );
    assert!(!generate.stdout.contains("ignored:0"));
    assert!(
        generate
            .stdout
            .contains("postgres: registry.example/pgctld:17")
    );
    // The template values were used: gateway replicas 2, etcd storage 10Gi.
    assert!(generate.stdout.contains("size: 10Gi"));

    // A template path may not leave the repository.
    let escape = r#"[{"name":"templates","array":["../outside"]}]"#;
    let refused = run_phase(
        &plugin,
        "generate",
        &repo,
        "apps/ha",
        &env(&[("ARGOCD_APP_PARAMETERS", escape)]),
    );
    assert_ne!(refused.code, Some(0));
    assert!(refused.stdout.is_empty());
}

#[test]
fn destination_cluster_capabilities_are_checked() {
    let plugin = plugin();
    let secured =
        std::fs::read_to_string(repo_root().join("examples/secured/cluster.yaml")).unwrap();
    let repo = Repo::new(
        "capabilities",
        &[
            ("apps/secured/cluster.yaml", secured),
            ("apps/minimal/minimal.yaml", upstream_minimal()),
        ],
    );
    let served = "v1,v1/ConfigMap,apps/v1,apps/v1/Deployment,policy/v1,multigres.com/v1alpha1";
    let without_cert_manager = run_phase(
        &plugin,
        "generate",
        &repo,
        "apps/secured",
        &env(&[("KUBE_API_VERSIONS", served)]),
    );
    assert_ne!(without_cert_manager.code, Some(0));
    assert!(without_cert_manager.stdout.is_empty());
    assert!(
        without_cert_manager
            .stderr
            .contains("does not serve cert-manager.io/v1"),
        "{}",
        without_cert_manager.stderr
    );
    assert!(
        without_cert_manager
            .stderr
            .contains("hint: install cert-manager"),
        "{}",
        without_cert_manager.stderr
    );
    let with = format!("{served},cert-manager.io/v1");
    let ok = run_phase(
        &plugin,
        "generate",
        &repo,
        "apps/secured",
        &env(&[("KUBE_API_VERSIONS", &with)]),
    );
    assert_eq!(ok.code, Some(0), "{}", ok.stderr);

    let old = run_phase(
        &plugin,
        "generate",
        &repo,
        "apps/minimal",
        &env(&[("KUBE_VERSION", "1.28.9")]),
    );
    assert_ne!(old.code, Some(0));
    assert!(old.stderr.contains("1.29 or newer"), "{}", old.stderr);
    assert!(old.stdout.is_empty());

    let preview = r#"[{"name":"preview-runtime","string":"true"}]"#;
    let refused = run_phase(
        &plugin,
        "generate",
        &repo,
        "apps/minimal",
        &env(&[("ARGOCD_APP_PARAMETERS", preview)]),
    );
    assert_ne!(refused.code, Some(0));
    assert!(refused.stderr.contains("refused"), "{}", refused.stderr);
}

#[test]
fn the_namespace_comes_from_the_destination_when_the_cluster_sets_none() {
    let plugin = plugin();
    let text =
        std::fs::read_to_string(repo_root().join("examples/no-namespace/cluster.yaml")).unwrap();
    let repo = Repo::new("namespace", &[("apps/staging/cluster.yaml", text)]);
    let no_namespace = run_phase(
        &plugin,
        "generate",
        &repo,
        "apps/staging",
        &env(&[("ARGOCD_APP_NAMESPACE", "")]),
    );
    assert_ne!(no_namespace.code, Some(0));
    assert!(
        no_namespace.stderr.contains("error[MG006]"),
        "{}",
        no_namespace.stderr
    );
    // Inside Argo CD there are no flags: the hint names the Application's field.
    assert!(
        no_namespace.stderr.contains("spec.destination.namespace"),
        "{}",
        no_namespace.stderr
    );
    assert!(
        !no_namespace.stderr.contains("--namespace"),
        "{}",
        no_namespace.stderr
    );
    let generate = run_phase(
        &plugin,
        "generate",
        &repo,
        "apps/staging",
        &env(&[("ARGOCD_APP_NAMESPACE", "staging")]),
    );
    assert_eq!(generate.code, Some(0), "{}", generate.stderr);
    let expected = render(&["examples/no-namespace", "--namespace", "staging"]);
    assert_eq!(generate.stdout, expected);
}

#[test]
fn objects_multigres_does_not_generate_pass_through_the_api_check() {
    let plugin = plugin();
    let external_secret = "apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: minimal-postgres-password
  namespace: default
spec:
  secretStoreRef: {name: vault, kind: ClusterSecretStore}
  target: {name: minimal-postgres-password}
  data:
    - secretKey: password
      remoteRef: {key: db/minimal, property: password}
";
    let repo = Repo::new(
        "passthrough",
        &[
            ("apps/minimal/minimal.yaml", upstream_minimal()),
            ("apps/minimal/password.yaml", external_secret.to_owned()),
        ],
    );
    // The destination does not serve external-secrets.io yet (its CRDs may
    // come in the same sync): not the plugin's to judge.
    let served = "v1,apps/v1,policy/v1,multigres.com/v1alpha1";
    let generate = run_phase(
        &plugin,
        "generate",
        &repo,
        "apps/minimal",
        &env(&[("KUBE_API_VERSIONS", served)]),
    );
    assert_eq!(generate.code, Some(0), "{}", generate.stderr);
    let docs = parse_stream(&generate.stdout, &Default::default()).unwrap();
    let passed = docs
        .iter()
        .find(|d| d.value["kind"] == "ExternalSecret")
        .expect("the ExternalSecret in the output");
    let input = parse_stream(external_secret, &Default::default()).unwrap();
    assert_eq!(passed.value, input[0].value, "passed through unchanged");

    // What multigres generates is still checked, with a hint that says what
    // to do rather than repeating the error.
    let without_apps = run_phase(
        &plugin,
        "generate",
        &repo,
        "apps/minimal",
        &env(&[("KUBE_API_VERSIONS", "v1,policy/v1,multigres.com/v1alpha1")]),
    );
    assert_ne!(without_apps.code, Some(0));
    assert!(without_apps.stdout.is_empty());
    let stderr = &without_apps.stderr;
    assert!(
        stderr.contains("does not serve apps/v1, needed by"),
        "{stderr}"
    );
    assert!(!stderr.contains("external-secrets.io"), "{stderr}");
    let hint = stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("hint: "))
        .expect("a hint");
    assert!(
        !hint.contains("does not serve"),
        "the hint repeats the error: {hint}"
    );
}

/// The kinds of a YAML stream's documents, with their names.
fn kinds_and_names(stream: &str) -> Vec<(String, String)> {
    parse_stream(stream, &Default::default())
        .unwrap()
        .iter()
        .map(|d| {
            (
                d.value["kind"].as_str().unwrap_or("").to_owned(),
                d.value["metadata"]["name"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned(),
            )
        })
        .collect()
}

#[test]
fn shared_templates_can_be_owned_by_one_application() {
    let plugin = plugin();
    let read = |path: &str| std::fs::read_to_string(repo_root().join(path)).unwrap();
    let cluster = read("examples/templated/templated-cluster.yaml");
    let repo = Repo::new(
        "owned-templates",
        &[
            ("apps/orders/cluster.yaml", cluster.clone()),
            (
                "apps/billing/cluster.yaml",
                cluster.replace("name: standard-ha-cluster", "name: billing"),
            ),
            (
                "shared/templates/core.yaml",
                read("examples/templated/templates/core.yaml"),
            ),
            (
                "shared/templates/cell.yaml",
                read("examples/templated/templates/cell.yaml"),
            ),
            (
                "shared/templates/shard.yaml",
                read("examples/templated/templates/shard.yaml"),
            ),
        ],
    );
    let templates =
        |extra: &str| format!(r#"[{{"name":"templates","array":["shared/templates"]}}{extra}]"#);
    let generate = |app: &str, pairs: &[(&'static str, &str)]| {
        let run = run_phase(&plugin, "generate", &repo, app, &env(pairs));
        assert_eq!(run.code, Some(0), "{app}: {}", run.stderr);
        run.stdout
    };
    let is_template = |(kind, _): &(String, String)| kind.ends_with("Template");
    let emitted = generate("apps/orders", &[("ARGOCD_APP_PARAMETERS", &templates(""))]);
    let emitted_kinds = kinds_and_names(&emitted);
    assert_eq!(emitted_kinds.iter().filter(|k| is_template(k)).count(), 3);

    // Both apps leave the templates out; the generated children are the same.
    let external = r#",{"name":"shared-templates","string":"external"}"#;
    for app in ["apps/orders", "apps/billing"] {
        let out = generate(app, &[("ARGOCD_APP_PARAMETERS", &templates(external))]);
        let kinds = kinds_and_names(&out);
        assert!(
            !kinds.iter().any(is_template),
            "{app} emits templates: {kinds:?}"
        );
        assert!(kinds.iter().any(|(k, _)| k == "Shard"), "{app}: {kinds:?}");
        if app == "apps/orders" {
            let without: Vec<_> = emitted_kinds
                .iter()
                .filter(|k| !is_template(k))
                .cloned()
                .collect();
            assert_eq!(kinds, without);
        }
    }
    // The same with the plugin env.
    let by_env = generate(
        "apps/orders",
        &[
            ("ARGOCD_ENV_TEMPLATES", "shared/templates"),
            ("ARGOCD_ENV_SHARED_TEMPLATES", "external"),
        ],
    );
    assert!(!kinds_and_names(&by_env).iter().any(is_template));
    // A third Application owns them: the directory itself.
    let owner = kinds_and_names(&render(&[repo
        .root
        .join("shared/templates")
        .to_str()
        .unwrap()]));
    assert_eq!(owner.len(), 3);
    assert!(owner.iter().all(is_template));

    let wrong = run_phase(
        &plugin,
        "generate",
        &repo,
        "apps/orders",
        &env(&[(
            "ARGOCD_APP_PARAMETERS",
            r#"[{"name":"shared-templates","string":"extern"}]"#,
        )]),
    );
    assert_ne!(wrong.code, Some(0));
    assert!(
        wrong.stderr.contains("parameter shared-templates"),
        "{}",
        wrong.stderr
    );
}

#[test]
fn generate_with_an_application_renders_what_argo_cd_would() {
    let plugin = plugin();
    let read = |path: &str| std::fs::read_to_string(repo_root().join(path)).unwrap();
    let strip = |text: String| text.replace("  namespace: default\n", "");
    let application = r#"apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: orders, namespace: argocd}
spec:
  project: default
  destination: {server: https://kubernetes.default.svc, namespace: shop}
  source:
    repoURL: https://git.example.com/platform/databases.git
    path: apps/orders
    plugin:
      name: multigres-v1
      parameters:
        - name: images
          map: {multiorch: registry.example/orch:2}
        - name: templates
          array: [shared/templates]
        - name: shared-templates
          string: external
      env:
        - name: IMAGES_FILE
          value: images.yaml
"#;
    let repo = Repo::new(
        "local",
        &[
            ("app.yaml", application.to_owned()),
            (
                "apps/orders/cluster.yaml",
                strip(read("examples/templated/templated-cluster.yaml")),
            ),
            (
                "shared/templates/core.yaml",
                strip(read("examples/templated/templates/core.yaml")),
            ),
            (
                "shared/templates/cell.yaml",
                strip(read("examples/templated/templates/cell.yaml")),
            ),
            (
                "shared/templates/shard.yaml",
                strip(read("examples/templated/templates/shard.yaml")),
            ),
            (
                "images.yaml",
                "postgres: registry.example/pgctld:17\n".to_owned(),
            ),
        ],
    );
    let local = |extra: &[&str]| {
        Command::new(BIN)
            .args([
                "argocd",
                "generate",
                "--application",
                "app.yaml",
                "--repo",
                ".",
            ])
            .args(extra)
            .current_dir(&repo.root)
            // The shell's contract variables are not read.
            .env("ARGOCD_APP_NAMESPACE", "elsewhere")
            .env("KUBE_VERSION", "1.20.0")
            .output()
            .unwrap()
    };
    let output = local(&["--kube-version", "1.33.1"]);
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // What the sidecar prints for the same Application.
    let in_argo_cd = run_phase(
        &plugin,
        "generate",
        &repo,
        "apps/orders",
        &env(&[
            ("ARGOCD_APP_NAMESPACE", "shop"),
            (
                "ARGOCD_APP_PARAMETERS",
                r#"[{"name":"images","map":{"multiorch":"registry.example/orch:2"}},{"name":"templates","array":["shared/templates"]},{"name":"shared-templates","string":"external"}]"#,
            ),
            ("ARGOCD_ENV_IMAGES_FILE", "images.yaml"),
        ]),
    );
    assert_eq!(in_argo_cd.code, Some(0), "{}", in_argo_cd.stderr);
    assert_eq!(stdout, in_argo_cd.stdout);
    assert!(stdout.contains("multiorch: registry.example/orch:2"));
    assert!(stdout.contains("postgres: registry.example/pgctld:17"));
    assert!(stdout.contains(".shop.svc:2379"));

    // The destination's version comes from the flag, with the plugin's check.
    let old = local(&["--kube-version", "1.28.0"]);
    assert_ne!(old.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&old.stderr).contains("1.29 or newer"));
    assert!(old.stdout.is_empty());

    // A path that leaves the checkout is refused, at its line.
    std::fs::write(
        repo.root.join("app.yaml"),
        application.replace("path: apps/orders", "path: ../apps/orders"),
    )
    .unwrap();
    let outside = local(&[]);
    assert_ne!(outside.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&outside.stderr);
    assert!(
        stderr.contains("app.yaml:9:") && stderr.contains("spec.source.path"),
        "{stderr}"
    );

    // An Application of another plugin is refused, at its line.
    std::fs::write(
        repo.root.join("app.yaml"),
        application.replace("name: multigres-v1", "name: other-v1"),
    )
    .unwrap();
    let other = local(&[]);
    assert_ne!(other.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&other.stderr);
    assert!(stderr.contains("app.yaml:11:"), "{stderr}");
    assert!(stderr.contains("spec.source.plugin.name"), "{stderr}");
}

#[test]
fn an_images_file_in_the_application_directory_is_not_read_as_an_input() {
    let plugin = plugin();
    let cluster =
        std::fs::read_to_string(repo_root().join("examples/minimal/minimal.yaml")).unwrap();
    let repo = Repo::new(
        "images-beside",
        &[
            ("apps/db/cluster.yaml", cluster),
            (
                "apps/db/images.yaml",
                "postgres: registry.example/pgctld:17\n".to_owned(),
            ),
        ],
    );
    let generate = run_phase(
        &plugin,
        "generate",
        &repo,
        "apps/db",
        &env(&[("ARGOCD_ENV_IMAGES_FILE", "apps/db/images.yaml")]),
    );
    assert_eq!(generate.code, Some(0), "{}", generate.stderr);
    assert!(
        generate
            .stdout
            .contains("postgres: registry.example/pgctld:17"),
        "{}",
        generate.stdout
    );
    assert!(
        generate
            .stderr
            .contains("images.yaml: skipped: read as the images file"),
        "{}",
        generate.stderr
    );
}
