//! `testplane/up` and `testplane/down` as a person runs them (the acceptance
//! of issue 10): a control plane in an empty folder, used with kubectl
//! alone. Its own control plane, not the shared one of
//! tests/support/testplane.rs, since this one runs the kubelet process.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::tools;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `testplane/down DIR` when dropped, so a failing test leaves no
/// process behind either.
struct Plane {
    dir: PathBuf,
}

impl Plane {
    fn kubectl(&self, args: &[&str]) -> Output {
        Command::new("kubectl")
            .env("KUBECONFIG", self.dir.join("kubeconfig"))
            .args(args)
            .output()
            .expect("running kubectl")
    }

    /// kubectl, which must succeed; its stdout.
    fn ok(&self, args: &[&str]) -> String {
        let output = self.kubectl(args);
        assert!(
            output.status.success(),
            "kubectl {}: {}{}\nthe kubelet's log ends:\n{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
            tail(&self.dir.join("logs/kubelet.log"))
        );
        String::from_utf8(output.stdout).unwrap()
    }

    fn down(&self) -> Output {
        Command::new(repo().join("testplane/down"))
            .arg(&self.dir)
            .output()
            .expect("running testplane/down")
    }
}

impl Drop for Plane {
    fn drop(&mut self) {
        if self.dir.join("pids").exists() {
            let _ = self.down();
        }
    }
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// Whether a process of that pid runs and is the one up started in `dir`
/// (its command line names the folder, as `testplane/down` checks).
fn alive(pid: &str, dir: &Path) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .is_ok_and(|cmdline| String::from_utf8_lossy(&cmdline).contains(dir.to_str().unwrap()))
}

#[test]
fn up_runs_a_cluster_kubectl_can_use_and_down_leaves_no_process() {
    if !tools::require_tool("go") || !tools::require_tool("kubectl") {
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("plane");
    let up = Command::new(repo().join("testplane/up"))
        .arg(&dir)
        .output()
        .expect("running testplane/up");
    let plane = Plane { dir: dir.clone() };
    assert!(
        up.status.success(),
        "testplane/up failed:\n{}",
        String::from_utf8_lossy(&up.stderr)
    );
    let started = std::fs::read_to_string(dir.join("pids")).unwrap();
    let names: Vec<&str> = started
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    assert_eq!(
        names,
        [
            "etcd",
            "kube-apiserver",
            "kube-controller-manager",
            "kubelet"
        ]
    );

    // The kubelet's Nodes, Ready, in three zones of one region.
    let nodes = plane.ok(&[
        "get",
        "nodes",
        "-o",
        r#"jsonpath={range .items[*]}{.metadata.name} {.metadata.labels.topology\.kubernetes\.io/region} {.metadata.labels.topology\.kubernetes\.io/zone} {.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}"#,
    ]);
    assert_eq!(
        nodes,
        "testplane-a region-1 zone-a True\n\
         testplane-b region-1 zone-b True\n\
         testplane-c region-1 zone-c True\n"
    );

    // Our CRDs, then a golden file as committed.
    plane.ok(&[
        "apply",
        "--server-side",
        "-f",
        repo().join("crds").to_str().unwrap(),
    ]);
    plane.ok(&[
        "wait",
        "--for=condition=Established",
        "crd",
        "--all",
        "--timeout=120s",
    ]);
    let golden = repo().join("golden/minimal/render.yaml");
    plane.ok(&["apply", "--server-side", "-f", golden.to_str().unwrap()]);

    // A Deployment made by hand gets a ReplicaSet and Ready pods.
    plane.ok(&[
        "create",
        "deployment",
        "web",
        "--image=nginx",
        "--replicas=2",
    ]);
    plane.ok(&[
        "wait",
        "--for=condition=Available",
        "deploy/web",
        "--timeout=120s",
    ]);
    let sets = plane.ok(&[
        "get",
        "replicasets",
        "-l",
        "app=web",
        "-o",
        "jsonpath={range .items[*]}{.status.readyReplicas}{\"\\n\"}{end}",
    ]);
    assert_eq!(sets, "2\n", "one ReplicaSet with two ready replicas");
    let pods = plane.ok(&[
        "get",
        "pods",
        "-l",
        "app=web",
        "-o",
        r#"jsonpath={range .items[*]}{.status.phase} {.status.conditions[?(@.type=="Ready")].status} {.spec.nodeName}{"\n"}{end}"#,
    ]);
    let pods: Vec<&str> = pods.lines().collect();
    assert_eq!(pods.len(), 2, "{pods:?}");
    for pod in &pods {
        assert!(pod.starts_with("Running True testplane-"), "{pod}");
    }

    // down stops every process up started.
    let pids: Vec<&str> = started
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(pids.iter().all(|pid| alive(pid, &dir)), "{started}");
    let down = plane.down();
    assert!(
        down.status.success(),
        "testplane/down: {}",
        String::from_utf8_lossy(&down.stderr)
    );
    let left: Vec<&&str> = pids.iter().filter(|pid| alive(pid, &dir)).collect();
    assert!(left.is_empty(), "still running after down: {left:?}");
    // The kubelet stopped on SIGTERM, not SIGKILL: it said so.
    let log = std::fs::read_to_string(dir.join("logs/kubelet.log")).unwrap();
    assert!(log.contains("testplane-kubelet: stopped"), "{log}");
}
