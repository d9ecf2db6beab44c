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
    assert_eq!(snapshot(dir.path()), first, "a second run changed the package");
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
    assert_eq!(snapshot(dir.path()), files, "a second render changed the package");
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
