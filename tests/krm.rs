//! The KRM function under the real kpt: `kpt fn eval --exec`, run twice,
//! and a Kptfile pipeline with `kpt fn render --allow-exec`. Without kpt on
//! PATH these tests are skipped (failed with CI set): docs/development.md.

use crate::support::tools;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_multigres");

/// A kpt package in a scratch directory, removed on drop.
fn package(name: &str, files: &[(&str, String)]) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix(&format!("multigres-krm-{name}-"))
        .tempdir()
        .unwrap();
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

fn minimal() -> String {
    std::fs::read_to_string(format!(
        "{}/examples/minimal/minimal.yaml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// Every file of the package, by relative path.
fn snapshot(dir: &Path) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in std::fs::read_dir(&current).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let relative = path.strip_prefix(dir).unwrap().display().to_string();
                files.insert(relative, std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    files
}

fn kpt(args: &[&str]) -> (bool, String) {
    let output = Command::new("kpt").args(args).output().expect("run kpt");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[test]
fn kpt_fn_eval_writes_every_object_and_is_idempotent() {
    if !tools::require_tool("kpt") {
        return;
    }
    let dir = package("eval", &[("minimal.yaml", minimal())]);
    let exec = format!("{BIN} krm");
    let (ok, log) = kpt(&["fn", "eval", dir.path().to_str().unwrap(), "--exec", &exec]);
    assert!(ok, "{log}");
    let first = snapshot(dir.path());
    for file in [
        "generated/default/Cell/minimal-zone-a-96c88ae0.yaml",
        "generated/default/Shard/minimal-postgres-default-0-inf-1e3c045c.yaml",
        "generated/default/StatefulSet/minimal-global-topo.yaml",
        "generated/default/Deployment/minimal-multiadmin.yaml",
        "generated/default/Deployment/minimal-multiadmin-web.yaml",
        "generated/default/Deployment/minimal-zone-a-multigateway-0ccc2e8b.yaml",
        "generated/default/Deployment/minimal-postgres-default-0-inf-multiorch-zone-a-bbe2a333.yaml",
    ] {
        assert!(
            first.contains_key(file),
            "no {file} in {:?}",
            first.keys().collect::<Vec<_>>()
        );
    }
    // kpt strips the path annotations it uses when it writes.
    assert!(
        !first
            .values()
            .any(|text| text.contains("internal.config.kubernetes.io"))
    );
    // The input keeps its content and comments (kpt merges comments back;
    // the quoting style of scalars may be normalised on the first run).
    let parse = |text: &str| -> Vec<serde_json::Value> {
        multigres::compile::yaml::parse_stream(text, &Default::default())
            .unwrap()
            .into_iter()
            .map(|d| d.value)
            .collect()
    };
    assert_eq!(parse(&first["minimal.yaml"]), parse(&minimal()));
    assert!(
        first["minimal.yaml"]
            .contains("# A minimal cluster requires at least one cell definition.")
    );

    let (ok, log) = kpt(&["fn", "eval", dir.path().to_str().unwrap(), "--exec", &exec]);
    assert!(ok, "{log}");
    assert_eq!(
        snapshot(dir.path()),
        first,
        "a second run changed the package"
    );
}

#[test]
fn kpt_fn_render_runs_the_kptfile_pipeline() {
    if !tools::require_tool("kpt") {
        return;
    }
    // As in a package: the exec entry names the binary and its argument.
    let kptfile = format!(
        "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: orders\npipeline:\n  mutators:\n    - exec: {BIN} krm\n      configMap:\n        namespace: shop\n"
    );
    let cluster = minimal().replace("  namespace: default\n", "");
    let dir = package("render", &[("Kptfile", kptfile), ("cluster.yaml", cluster)]);
    let (refused, log) = kpt(&["fn", "render", dir.path().to_str().unwrap()]);
    assert!(
        !refused,
        "kpt must refuse exec functions without --allow-exec: {log}"
    );
    let (ok, log) = kpt(&["fn", "render", dir.path().to_str().unwrap(), "--allow-exec"]);
    assert!(ok, "{log}");
    let files = snapshot(dir.path());
    let shard = &files["generated/shop/Shard/minimal-postgres-default-0-inf-1e3c045c.yaml"];
    assert!(
        shard.contains("address: minimal-global-topo.shop.svc:2379"),
        "{shard}"
    );
    // The cluster, written without a namespace, gets the function's: applied
    // without one it would land apart from its children.
    assert!(
        files["cluster.yaml"].contains("\n  namespace: shop\n"),
        "{}",
        files["cluster.yaml"]
    );
    let (ok, log) = kpt(&["fn", "render", dir.path().to_str().unwrap(), "--allow-exec"]);
    assert!(ok, "{log}");
    assert_eq!(
        snapshot(dir.path()),
        files,
        "a second render changed the package"
    );
}

#[test]
fn invalid_inputs_fail_with_results_and_leave_the_package_alone() {
    if !tools::require_tool("kpt") {
        return;
    }
    let broken = minimal().replace("zoneId: us-central1-a", "zoneID: us-central1-a");
    let dir = package("invalid", &[("minimal.yaml", broken)]);
    let before = snapshot(dir.path());
    let exec = format!("{BIN} krm");
    let (ok, log) = kpt(&["fn", "eval", dir.path().to_str().unwrap(), "--exec", &exec]);
    assert!(!ok, "{log}");
    assert!(log.contains("[MG010] unknown field \"zoneID\""), "{log}");
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn results_name_the_file_resource_and_field() {
    let broken = minimal().replace("zoneId: us-central1-a", "zoneID: us-central1-a");
    let items: Vec<serde_json::Value> =
        multigres::compile::yaml::parse_stream(&broken, &Default::default())
            .unwrap()
            .into_iter()
            .enumerate()
            .map(|(i, doc)| {
                let mut value = doc.value;
                value["metadata"]["annotations"] = serde_json::json!({
                    "internal.config.kubernetes.io/path": "clusters/minimal.yaml",
                    "internal.config.kubernetes.io/index": i.to_string(),
                });
                value
            })
            .collect();
    let list = serde_json::json!({"apiVersion": "config.kubernetes.io/v1", "kind": "ResourceList", "items": items});
    let mut child = Command::new(BIN)
        .arg("krm")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(
        child.stdin.as_mut().unwrap(),
        serde_json::to_string(&list).unwrap().as_bytes(),
    )
    .unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8(output.stdout).unwrap();
    let out = multigres::compile::yaml::parse_stream(&text, &Default::default())
        .unwrap()
        .remove(0)
        .value;
    let result = out["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["message"].as_str().unwrap().contains("MG010"))
        .unwrap();
    assert_eq!(result["severity"], "error");
    assert_eq!(
        result["file"],
        serde_json::json!({"path": "clusters/minimal.yaml", "index": 1})
    );
    assert_eq!(result["resourceRef"]["kind"], "MultigresCluster");
    assert_eq!(result["resourceRef"]["name"], "minimal");
    assert_eq!(result["field"]["path"], "spec.cells[0].zoneID");
    // On failure the items come back as they came.
    assert_eq!(out["items"].as_array().unwrap().len(), 2);
}

/// The kustomize files of docs/gitops.md, as (path, text): the YAML block
/// that starts with `# kustomization.yaml`, one file per document, each
/// named by its first comment line.
fn documented_kustomization() -> Vec<(String, String)> {
    let doc =
        std::fs::read_to_string(format!("{}/docs/gitops.md", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let start = doc
        .find("```yaml\n# kustomization.yaml\n")
        .expect("docs/gitops.md shows the kustomization")
        + "```yaml\n".len();
    let block = &doc[start..start + doc[start..].find("```").unwrap()];
    block
        .split("---\n")
        .map(|file| {
            let first = file.lines().next().unwrap();
            let path = first
                .trim_start_matches("# ")
                .split([':', ' '])
                .next()
                .unwrap();
            (path.to_owned(), file.to_owned())
        })
        .collect()
}

/// Writes the documented kustomization around the templated example, with
/// the function's path pointing at this build.
fn documented_kustomize_dir() -> tempfile::TempDir {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/templated");
    let mut files: Vec<(&str, String)> = vec![(
        "cluster.yaml",
        std::fs::read_to_string(example.join("templated-cluster.yaml")).unwrap(),
    )];
    let templates: Vec<(String, String)> = ["core.yaml", "cell.yaml", "shard.yaml"]
        .iter()
        .map(|name| {
            let text = std::fs::read_to_string(example.join("templates").join(name)).unwrap();
            (format!("templates/{name}"), text)
        })
        .collect();
    files.extend(templates.iter().map(|(p, t)| (p.as_str(), t.clone())));
    let documented = documented_kustomization();
    assert_eq!(
        documented
            .iter()
            .map(|(p, _)| p.as_str())
            .collect::<Vec<_>>(),
        [
            "kustomization.yaml",
            "templates/kustomization.yaml",
            "multigres.yaml"
        ]
    );
    files.extend(documented.iter().map(|(path, text)| {
        (
            path.as_str(),
            text.replace("path: /usr/local/bin/multigres", &format!("path: {BIN}")),
        )
    }));
    package("kustomize", &files)
}

#[test]
fn kustomize_runs_the_documented_exec_function() {
    if !tools::require_tool("kustomize") {
        return;
    }
    let dir = documented_kustomize_dir();
    let output = Command::new("kustomize")
        .args(["build", "--enable-alpha-plugins", "--enable-exec"])
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for kind in [
        "ShardTemplate",
        "MultigresCluster",
        "Shard",
        "StatefulSet",
        "Deployment",
    ] {
        assert!(
            stdout.contains(&format!("\nkind: {kind}\n")),
            "no {kind} in {stdout}"
        );
    }
    assert!(
        stdout.contains("address: standard-ha-cluster-global-topo.default.svc:2379"),
        "{stdout}"
    );
}

#[test]
fn kubectl_kustomize_refuses_the_exec_function_as_documented() {
    // docs/gitops.md says kubectl's built-in kustomize (5.5 in kubectl 1.32)
    // fails on `args`: this pins the claim to the kubectl CI installs.
    if !tools::require_tool("kubectl") {
        return;
    }
    let version = Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .unwrap();
    let version = String::from_utf8_lossy(&version.stdout);
    let embedded = version
        .lines()
        .find_map(|line| line.strip_prefix("Kustomize Version: v"))
        .unwrap_or("0.0");
    let minor: u32 = embedded
        .split('.')
        .nth(1)
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    if !embedded.starts_with("5.") || minor >= 7 {
        eprintln!(
            "SKIPPED: the documented claim is about kubectl's kustomize before 5.7; this one is {embedded}"
        );
        return;
    }
    let dir = documented_kustomize_dir();
    let output = Command::new("kubectl")
        .args(["kustomize", "--enable-alpha-plugins"])
        .arg(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("unknown field") && stderr.contains("args"),
        "{stderr}"
    );
}
