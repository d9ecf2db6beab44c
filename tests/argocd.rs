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
        .args(["install", "argocd-plugin"])
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

#[test]
fn discovery_matches_only_directories_with_a_cluster() {
    let plugin = plugin();
    let repo = Repo::new(
        "discover",
        &[
            ("apps/db/nested/cluster.yaml", upstream_minimal()),
            (
                "apps/other/app.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n".to_owned(),
            ),
        ],
    );
    assert_eq!(
        run_phase(&plugin, "discover", &repo, "apps/db", &env(&[]))
            .stdout
            .trim(),
        "nested/cluster.yaml"
    );
    let other = run_phase(&plugin, "discover", &repo, "apps/other", &env(&[]));
    assert_eq!(other.code, Some(0));
    assert!(other.stdout.is_empty());
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
