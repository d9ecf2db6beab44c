//! The real control plane of `testplane/` for tests: one per test binary,
//! started on first use with `testplane/up --no-kubelet` (etcd,
//! kube-apiserver, kube-controller-manager), a fresh namespace per test, and
//! a kube `Client` built in the test's own runtime. The tests that need
//! pods to run start their own simulated kubelet in the test process,
//! scoped to their namespace (tests/support/kubelet.rs); the kubelet process
//! of `testplane/up` would manage every namespace and race them.
//!
//! Its folder (certificates, kubeconfig, the processes' logs) is kept under
//! the target folder, `target/tmp/testplane-<pid>`, so the logs outlive the
//! run; a test that fails prints their ends. The control plane stops when
//! the test process ends, even when it is killed: `up --owner` leaves a
//! watchdog behind (a static is never dropped, so Drop cannot do it).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, PostParams};

pub struct ControlPlane {
    dir: PathBuf,
}

/// The control plane of this test process, started on first use; `None`
/// (with the skip said on stderr) when Go is missing to build it and CI is
/// not set: see tests/support/tools.rs.
pub fn control_plane() -> Option<&'static ControlPlane> {
    static PLANE: OnceLock<Option<ControlPlane>> = OnceLock::new();
    PLANE
        .get_or_init(|| {
            if !super::tools::require_tool("go") {
                return None;
            }
            Some(ControlPlane::up())
        })
        .as_ref()
}

impl ControlPlane {
    fn up() -> Self {
        let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
        remove_stopped_planes(tmp);
        let dir = tmp.join(format!("testplane-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("testplane/up");
        let output = Command::new(&script)
            .arg(&dir)
            .arg("--no-kubelet")
            .arg("--owner")
            .arg(std::process::id().to_string())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        assert!(
            output.status.success(),
            "testplane/up failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        Self { dir }
    }

    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.join("kubeconfig")
    }

    /// A client of the admin (system:masters), for the calling runtime.
    ///
    /// It does not retry: a test sees each answer of the API server as it
    /// is. kube's default client retries 429, 503 and 504 up to 15 times
    /// with a backoff doubling from 5 ms (minutes in all), so an eviction
    /// that a PodDisruptionBudget refuses (429, an answer, not a transient
    /// failure) came back after 4 to 7 minutes instead of at once.
    pub async fn client(&self) -> kube::Client {
        let kubeconfig = kube::config::Kubeconfig::read_from(self.kubeconfig())
            .expect("testplane/up writes a kubeconfig");
        let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
            .await
            .expect("the kubeconfig of testplane/up is valid");
        config.default_retry = false;
        kube::Client::try_from(config).expect("a client for the control plane")
    }

    /// The API server's audit log of write requests (JSON lines; see
    /// docs/development.md).
    pub fn audit_log(&self) -> PathBuf {
        self.dir.join("logs").join("audit.log")
    }

    /// A kubeconfig that authenticates as the ServiceAccount `name` of
    /// `namespace` with a token of the TokenRequest API (`kubectl create
    /// token`), for this control plane's server and CA, as docs/operator.md
    /// ("Run it outside the cluster") tells a user to write one.
    pub fn service_account_kubeconfig(&self, namespace: &str, name: &str) -> PathBuf {
        let output = self
            .kubectl()
            .args([
                "create",
                "token",
                name,
                "--namespace",
                namespace,
                "--duration",
                "2h",
            ])
            .output()
            .expect("kubectl runs");
        assert!(
            output.status.success(),
            "kubectl create token {name} -n {namespace}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let token = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        let admin = kube::config::Kubeconfig::read_from(self.kubeconfig())
            .expect("testplane/up writes a kubeconfig");
        let cluster = admin.clusters[0].cluster.as_ref().expect("a cluster entry");
        let server = cluster.server.as_deref().expect("a server");
        let ca = cluster.certificate_authority.as_deref().expect("a CA file");
        let text = format!(
            "apiVersion: v1
kind: Config
clusters:
- name: testplane
  cluster:
    server: {server}
    certificate-authority: {ca}
users:
- name: {name}
  user:
    token: {token}
contexts:
- name: testplane
  context: {{cluster: testplane, user: {name}, namespace: {namespace}}}
current-context: testplane
"
        );
        let path = self.dir.join(format!("{namespace}-{name}.kubeconfig"));
        std::fs::write(&path, text).expect("the kubeconfig is written");
        path
    }

    /// `kubectl` talking to this control plane.
    pub fn kubectl(&self) -> Command {
        let mut command = Command::new("kubectl");
        command.env("KUBECONFIG", self.kubeconfig());
        command
    }

    /// A namespace of its own for one test: `<prefix>-<n>`. Hold the guard
    /// for the whole test: when the test fails, it prints the ends of the
    /// control plane's logs.
    pub async fn namespace(&self, client: &kube::Client, prefix: &str) -> TestNamespace {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!("{prefix}-{}", NEXT.fetch_add(1, Ordering::Relaxed));
        let namespace: Namespace = serde_json::from_value(serde_json::json!({
            "metadata": {"name": name}
        }))
        .unwrap();
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &namespace)
            .await
            .unwrap_or_else(|e| panic!("cannot create namespace {name}: {e}"));
        TestNamespace {
            name,
            logs: self.dir.join("logs"),
        }
    }
}

/// A test's namespace; see [`ControlPlane::namespace`].
pub struct TestNamespace {
    pub name: String,
    logs: PathBuf,
}

impl Drop for TestNamespace {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        eprintln!(
            "the test of namespace {} failed; the ends of the control plane's logs ({}):",
            self.name,
            self.logs.display()
        );
        for process in ["etcd", "kube-apiserver", "kube-controller-manager"] {
            let text = std::fs::read_to_string(self.logs.join(format!("{process}.log")))
                .unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            eprintln!("--- {process}.log");
            for line in &lines[lines.len().saturating_sub(15)..] {
                eprintln!("{line}");
            }
        }
    }
}

/// Folders of earlier runs whose control plane has stopped (no `pids`
/// file): their logs are no longer wanted.
fn remove_stopped_planes(tmp: &Path) {
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let ours = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("testplane-"));
        if ours && !path.join("pids").exists() {
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}
