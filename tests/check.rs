//! `render --output-dir` and `render --check` through the built binary, in
//! temporary directories: the golden-review workflow of a pull request.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use multigres::compile::yaml;

use crate::support::tools;

/// A directory under the system's temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!(
            "multigres-check-{name}-{}-{}-{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.0.join(relative)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs multigres in `cwd`: exit code, stdout, stderr.
fn multigres(cwd: &Path, args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_multigres"))
        .current_dir(cwd)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run multigres");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn minimal() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/minimal/minimal.yaml");
    std::fs::read_to_string(path).unwrap()
}

/// The minimal example with a second cell, `zone-b`.
fn two_cells() -> String {
    let text = minimal();
    let with = text.replace(
        "      zoneId: us-central1-a\n",
        "      zoneId: us-central1-a\n    - name: \"zone-b\"\n      zoneId: us-central1-b\n",
    );
    assert_ne!(with, text, "the example changed: adjust the test");
    with
}

/// A cluster with one more field (the multiadmin replica count).
fn with_two_multiadmins(text: &str) -> String {
    let with = text.replacen(
        "  pvcDeletionPolicy:\n",
        "  multiadmin:\n    spec:\n      replicas: 2\n  pvcDeletionPolicy:\n",
        1,
    );
    assert_ne!(with, text, "the example changed: adjust the test");
    with
}

/// The paths of the files a unified diff on stdout is about.
fn diffed_paths(stdout: &str) -> BTreeSet<String> {
    let lines: Vec<&str> = stdout.lines().collect();
    lines
        .windows(2)
        .filter_map(|pair| {
            let old = pair[0].strip_prefix("--- a/")?;
            let new = pair[1].strip_prefix("+++ b/")?;
            assert_eq!(old, new);
            Some(new.to_owned())
        })
        .collect()
}

/// Every file under `dir`, relative, `/`-separated.
fn tree(dir: &Path) -> BTreeSet<String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let relative = path.strip_prefix(root).unwrap();
                out.insert(relative.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(dir, dir, &mut out);
    out
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// The acceptance: render, check (identical), change one replica
/// count (only the changed objects are diffed), remove a cell (an error that
/// names it).
#[test]
fn check_accepts_an_identical_render_and_diffs_only_changed_objects() {
    let temp = TempDir::new("acceptance");
    std::fs::create_dir_all(temp.path("in")).unwrap();
    std::fs::write(temp.path("in/minimal.yaml"), minimal()).unwrap();

    let (code, stdout, stderr) = multigres(&temp.0, &["render", "in", "--output-dir", "out"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains("out: 25 written, 0 removed, 0 unchanged"),
        "{stderr}"
    );
    assert!(
        temp.path("out/default/Deployment/minimal-multiadmin.yaml")
            .is_file()
    );

    let (code, stdout, stderr) = multigres(&temp.0, &["render", "in", "--check", "out"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains(
            "out: 0 changed, 0 added, 0 removed, 25 identical; 0 upgrade error(s), 0 warning(s)"
        ),
        "{stderr}"
    );

    std::fs::write(
        temp.path("in/minimal.yaml"),
        with_two_multiadmins(&minimal()),
    )
    .unwrap();
    let (code, stdout, stderr) = multigres(&temp.0, &["render", "in", "--check", "out"]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        diffed_paths(&stdout),
        set(&[
            "default/Deployment/minimal-multiadmin.yaml",
            "default/MultigresCluster/minimal.yaml"
        ]),
        "{stdout}"
    );
    assert!(
        stdout.contains("\n-  replicas: 1\n+  replicas: 2\n"),
        "{stdout}"
    );
    // Not a terminal: no colour.
    assert!(!stdout.contains('\x1b'), "{stdout:?}");
    assert!(!stderr.contains("error["), "{stderr}");
}

#[test]
fn check_reports_a_removed_cell_by_name() {
    let temp = TempDir::new("cell");
    std::fs::create_dir_all(temp.path("in")).unwrap();
    std::fs::write(temp.path("in/cluster.yaml"), two_cells()).unwrap();
    let (code, _, stderr) = multigres(&temp.0, &["render", "in", "--output-dir", "out"]);
    assert_eq!(code, 0, "{stderr}");

    std::fs::write(temp.path("in/cluster.yaml"), minimal()).unwrap();
    let (code, stdout, stderr) = multigres(&temp.0, &["render", "in", "--check", "out"]);
    // Refused at sync time (4), not only stale (1).
    assert_eq!(code, 4, "{stderr}");
    let error = stderr
        .lines()
        .find(|l| l.contains("error[MG301]"))
        .unwrap_or_else(|| panic!("no MG301 in {stderr}"));
    assert!(
        error.starts_with("out/default/Cell/minimal-zone-b-"),
        "{error}"
    );
    assert!(
        error.contains(": error[MG301]: cell \"zone-b\" of MultigresCluster default/minimal is removed (Cell default/minimal-zone-b-"),
        "{error}"
    );
    assert!(error.ends_with("); cells can only be added"), "{error}");
    assert!(
        stderr.contains("\n  hint: put the cell back in spec.cells"),
        "{stderr}"
    );
    // The pool that ran in both cells loses one: refused too.
    assert!(
        stderr.contains("error[MG304]: cell \"zone-b\" is removed from pool \"default\""),
        "{stderr}"
    );
    // The removed objects are diffed as removals.
    let removed: BTreeSet<String> = diffed_paths(&stdout)
        .into_iter()
        .filter(|p| p.contains("zone-b"))
        .collect();
    assert!(
        removed.iter().any(|p| p.starts_with("default/Cell/")),
        "{stdout}"
    );
}

/// Re-rendering after a cell is removed deletes exactly that cell's files,
/// keeps foreign files, removes emptied directories and leaves unchanged
/// files untouched.
#[test]
fn output_dir_removes_only_what_it_wrote() {
    let temp = TempDir::new("prune");
    std::fs::create_dir_all(temp.path("in")).unwrap();
    std::fs::write(temp.path("in/cluster.yaml"), two_cells()).unwrap();
    let scratch = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\n  namespace: scratch\ndata:\n  a: b\n";
    std::fs::write(temp.path("in/scratch.yaml"), scratch).unwrap();
    let (code, _, stderr) = multigres(&temp.0, &["render", "in", "--output-dir", "out"]);
    assert_eq!(code, 0, "{stderr}");
    let before = tree(&temp.path("out"));
    assert!(before.contains("scratch/ConfigMap/notes.yaml"));
    std::fs::write(temp.path("out/README.md"), "hand-written\n").unwrap();
    std::fs::create_dir_all(temp.path("out/default/Cell")).unwrap();
    std::fs::write(temp.path("out/default/Cell/notes.txt"), "mine\n").unwrap();
    let kept = temp.path("out/default/Deployment/minimal-multiadmin.yaml");
    let mtime = std::fs::metadata(&kept).unwrap().modified().unwrap();

    std::fs::write(temp.path("in/cluster.yaml"), minimal()).unwrap();
    std::fs::remove_file(temp.path("in/scratch.yaml")).unwrap();
    let (code, stdout, stderr) = multigres(&temp.0, &["render", "in", "--output-dir", "out"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.is_empty());
    let after = tree(&temp.path("out"));

    let removed: BTreeSet<String> = before.difference(&after).cloned().collect();
    let mut expected: BTreeSet<String> = before
        .iter()
        .filter(|p| p.contains("zone-b"))
        .cloned()
        .collect();
    expected.insert("scratch/ConfigMap/notes.yaml".into());
    assert_eq!(removed, expected);
    assert!(expected.len() > 5, "{expected:?}");
    let summary = format!("{} removed", expected.len());
    assert!(stderr.contains(&summary), "{stderr}");
    // Foreign files stay; the emptied namespace directory goes.
    assert!(after.contains("README.md") && after.contains("default/Cell/notes.txt"));
    assert!(!temp.path("out/scratch").exists());
    // The multiadmin Deployment did not change: not rewritten.
    assert_eq!(std::fs::metadata(&kept).unwrap().modified().unwrap(), mtime);
    // The record lists exactly the rendered files.
    let (code, _, stderr) = multigres(&temp.0, &["render", "in", "--check", "out"]);
    assert_eq!(code, 0, "{stderr}");
    let record = std::fs::read_to_string(temp.path("out/kustomization.yaml")).unwrap();
    assert!(
        record.starts_with("# Generated by `multigres render --output-dir`"),
        "{record}"
    );
    let listed: BTreeSet<String> = record
        .lines()
        .filter_map(|l| l.strip_prefix("- "))
        .map(str::to_owned)
        .collect();
    let mut on_disk = after;
    for foreign in ["README.md", "default/Cell/notes.txt", "kustomization.yaml"] {
        on_disk.remove(foreign);
    }
    assert_eq!(listed, on_disk);
}

#[test]
fn output_dir_refuses_a_foreign_kustomization() {
    let temp = TempDir::new("foreign");
    std::fs::create_dir_all(temp.path("in")).unwrap();
    std::fs::write(temp.path("in/minimal.yaml"), minimal()).unwrap();
    std::fs::create_dir_all(temp.path("out")).unwrap();
    let foreign =
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [app.yaml]\n";
    std::fs::write(temp.path("out/kustomization.yaml"), foreign).unwrap();
    std::fs::write(temp.path("out/app.yaml"), "kind: Keep\n").unwrap();
    for flag in ["--output-dir", "--check"] {
        let (code, stdout, stderr) = multigres(&temp.0, &["render", "in", flag, "out"]);
        assert_eq!(code, 2, "{flag}: {stderr}");
        assert!(stdout.is_empty());
        assert!(
            stderr.contains(
                "error: out/kustomization.yaml was not written by `multigres render --output-dir`"
            ),
            "{stderr}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(temp.path("out/kustomization.yaml")).unwrap(),
        foreign
    );
    assert_eq!(
        tree(&temp.path("out")),
        set(&["app.yaml", "kustomization.yaml"])
    );
}

#[test]
fn output_dir_must_not_overlap_the_inputs() {
    let temp = TempDir::new("overlap");
    std::fs::create_dir_all(temp.path("in")).unwrap();
    std::fs::write(temp.path("in/minimal.yaml"), minimal()).unwrap();
    let cases: [(&[&str], &str); 4] = [
        (
            &["render", "in", "--output-dir", "in/out"],
            "is inside the input in",
        ),
        (
            &["render", "in", "--output-dir", "./in/../in"],
            "is the input in",
        ),
        (
            &["render", "in/minimal.yaml", "--output-dir", "."],
            "contains the input in/minimal.yaml",
        ),
        (
            &["render", "in", "--check", "in/committed"],
            "is inside the input in",
        ),
    ];
    for (args, relation) in cases {
        let (code, stdout, stderr) = multigres(&temp.0, args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stdout.is_empty());
        assert!(
            stderr.starts_with("error: the output directory"),
            "{stderr}"
        );
        assert!(stderr.contains(relation), "{args:?}: {stderr}");
    }
    assert!(!temp.path("in/out").exists());
    assert_eq!(tree(&temp.path("in")), set(&["minimal.yaml"]));
}

#[test]
fn check_needs_a_committed_render_and_reports_malformed_files() {
    let temp = TempDir::new("malformed");
    std::fs::create_dir_all(temp.path("in")).unwrap();
    std::fs::write(temp.path("in/minimal.yaml"), minimal()).unwrap();
    let (code, _, stderr) = multigres(&temp.0, &["render", "in", "--check", "out"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("error: out has no kustomization.yaml"),
        "{stderr}"
    );

    let (code, _, stderr) = multigres(&temp.0, &["render", "in", "--output-dir", "out"]);
    assert_eq!(code, 0, "{stderr}");
    std::fs::write(
        temp.path("out/default/Secret/multigres-admin-password.yaml"),
        "a: [\n",
    )
    .unwrap();
    std::fs::write(
        temp.path("out/default/Cell/minimal-zone-a-96c88ae0.yaml"),
        "a: 1\n---\nb: 2\n",
    )
    .unwrap();
    let (code, stdout, stderr) = multigres(&temp.0, &["render", "in", "--check", "out"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("out/default/Secret/multigres-admin-password.yaml:"),
        "{stderr}"
    );
    assert!(stderr.contains(": error[MG001]: "), "{stderr}");
    assert!(
        stderr.contains("out/default/Cell/minimal-zone-a-96c88ae0.yaml:1:1: error[MG004]"),
        "{stderr}"
    );

    std::fs::remove_file(temp.path("out/default/Secret/multigres-admin-password.yaml")).unwrap();
    let (code, _, stderr) = multigres(&temp.0, &["render", "in", "--check", "out"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(
            "multigres-admin-password.yaml is listed in out/kustomization.yaml but does not exist"
        ),
        "{stderr}"
    );

    // A render error is exit 2 as ever, with nothing on stdout.
    std::fs::write(temp.path("in/minimal.yaml"), "a: [\n").unwrap();
    let (code, stdout, stderr) = multigres(&temp.0, &["render", "in", "--check", "out"]);
    assert_eq!((code, stdout.as_str()), (2, ""), "{stderr}");
}

#[test]
fn check_and_output_dir_are_exclusive() {
    let temp = TempDir::new("exclusive");
    let (code, _, stderr) = multigres(
        &temp.0,
        &["render", "in", "--check", "a", "--output-dir", "b"],
    );
    assert_eq!(code, 2);
    assert!(stderr.contains("cannot be used with"), "{stderr}");
}

/// Every document of a YAML stream, as JSON text, counted (a multiset).
fn documents(text: &str) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for document in yaml::parse_stream(text, &yaml::Limits::default()).unwrap() {
        *out.entry(document.value.to_string()).or_default() += 1;
    }
    out
}

/// `kubectl kustomize OUT` builds the same objects render prints.
#[test]
fn kustomize_builds_the_rendered_objects() {
    if !tools::require_tool("kubectl") {
        return;
    }
    let temp = TempDir::new("kustomize");
    std::fs::create_dir_all(temp.path("in")).unwrap();
    std::fs::write(temp.path("in/cluster.yaml"), two_cells()).unwrap();
    let (code, stream, stderr) = multigres(&temp.0, &["render", "in"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = multigres(&temp.0, &["render", "in", "--output-dir", "out"]);
    assert_eq!(code, 0, "{stderr}");
    let built = Command::new("kubectl")
        .arg("kustomize")
        .arg(temp.path("out"))
        .output()
        .expect("run kubectl");
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let built = String::from_utf8(built.stdout).unwrap();
    let expected = documents(&stream);
    assert_eq!(
        expected.values().sum::<usize>(),
        tree(&temp.path("out")).len() - 1
    );
    assert_eq!(documents(&built), expected);
}

/// docs/validation.md lists every upgrade-check code with its meaning.
#[test]
fn validation_doc_lists_every_upgrade_code() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/validation.md");
    let text = std::fs::read_to_string(path).unwrap();
    let section = text
        .split("## Upgrade checks (`render --check`)")
        .nth(1)
        .expect("the upgrade checks section");
    for code in multigres::gitops::check::UPGRADE_CODES {
        let info = multigres::compile::diagnostics::code_info(code).expect("a registered code");
        let row = format!("| `{}` | {} |", info.code, info.summary);
        assert!(section.contains(&row), "docs/validation.md lacks {row}");
    }
}

/// Runs git in `cwd` (with a fixed identity); stdout, trimmed. Panics on
/// failure.
fn git(cwd: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .current_dir(cwd)
        .args([
            "-c",
            "user.name=multigres tests",
            "-c",
            "user.email=tests@multigres.invalid",
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run git");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// The steps of the shipped CI workflow (examples/ci/github-actions.yaml).
fn workflow_steps() -> Vec<serde_json::Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/ci/github-actions.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    let documents = yaml::parse_stream(&text, &yaml::Limits::default()).unwrap();
    let steps = documents[0]
        .value
        .pointer("/jobs/render-check/steps")
        .and_then(serde_json::Value::as_array)
        .expect("jobs.render-check.steps");
    steps.clone()
}

/// What a run of the workflow did: the name and exit code of each step that
/// ran (a failed step ends the job, as on GitHub), and the output of the
/// last one.
struct Run {
    codes: Vec<(String, i32)>,
    stderr: String,
}

impl Run {
    fn code(&self, step: &str) -> Option<i32> {
        self.codes
            .iter()
            .find(|(name, _)| name == step)
            .map(|(_, code)| *code)
    }
}

/// Runs the workflow's steps as GitHub runs them for a pull request whose
/// head is checked out in `repo` and whose base commit is `base`: the
/// checkout of the base branch is `git clone` and `git checkout` of the
/// commit its `ref` names, the install step is replaced by the binary under
/// test, each `run:` goes to `bash -eo pipefail` (GitHub's shell). Any other
/// step, or an expression the simulation does not know, fails the test: the
/// simulation must follow the workflow as shipped.
#[cfg(unix)]
fn run_workflow(repo: &Path, base: &str) -> Run {
    let bin = repo.join("../bin");
    if !bin.exists() {
        std::fs::create_dir_all(&bin).unwrap();
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_multigres"), bin.join("multigres")).unwrap();
    }
    let path = std::env::join_paths(std::iter::once(bin.clone()).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .unwrap();
    let _ = std::fs::remove_dir_all(repo.join("base"));
    let mut run = Run {
        codes: Vec::new(),
        stderr: String::new(),
    };
    for step in workflow_steps() {
        let text = |pointer: &str| step.pointer(pointer).and_then(serde_json::Value::as_str);
        let name = text("/name")
            .or(text("/uses"))
            .expect("a step has a name or uses")
            .to_owned();
        match text("/if") {
            None | Some("github.event_name == 'pull_request'") => {}
            Some(other) => panic!("step {name}: unknown condition {other:?}"),
        }
        if let Some(action) = text("/uses") {
            assert!(
                action.starts_with("actions/checkout@"),
                "step {name}: unknown action"
            );
            match text("/with/path") {
                // The pull request's head: the repository as it is.
                None => assert!(text("/with/ref").is_none(), "{step}"),
                Some(dir) => {
                    assert_eq!(
                        text("/with/ref"),
                        Some("${{ github.event.pull_request.base.sha }}"),
                        "step {name}"
                    );
                    git(repo, &["clone", "--quiet", ".", dir]);
                    git(&repo.join(dir), &["checkout", "--quiet", base]);
                }
            }
            continue;
        }
        if text("/id") == Some("install") {
            continue;
        }
        let script = text("/run").unwrap_or_else(|| panic!("step {name}: no run"));
        assert!(!script.contains("${{"), "step {name}: an expression in run");
        let output = Command::new("bash")
            .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", script])
            .current_dir(repo)
            .env("PATH", &path)
            .stdin(Stdio::null())
            .output()
            .expect("run bash");
        let code = output.status.code().unwrap_or(-1);
        run.codes.push((name, code));
        run.stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        if code != 0 {
            break;
        }
    }
    run
}

const CHECK_STEP: &str = "Check the render";

/// Issue 12: the shipped workflow judges a pull request against its base
/// branch's render. A pull request that removes a cell and commits a fresh
/// render (what one does after the check said "stale") fails with the
/// upgrade error naming the cell (exit 4); a stale render alone fails with
/// exit 1 and says to re-render; both at once report both and exit 4.
#[cfg(unix)]
#[test]
fn ci_workflow_judges_a_pull_request_against_its_base_branch() {
    let temp = TempDir::new("workflow");
    let repo = temp.path("repo");
    std::fs::create_dir_all(repo.join("clusters")).unwrap();
    std::fs::write(repo.join("clusters/cluster.yaml"), two_cells()).unwrap();
    std::fs::write(
        repo.join("images.yaml"),
        "postgres: ghcr.io/multigres/pgctld:sha-66d2310\n",
    )
    .unwrap();
    let render = [
        "render",
        "clusters/",
        "--images-file",
        "images.yaml",
        "--output-dir",
        "rendered/",
    ];
    let (code, _, stderr) = multigres(&repo, &render);
    assert_eq!(code, 0, "{stderr}");
    git(&repo, &["init", "--quiet"]);
    git(&repo, &["add", "--all"]);
    git(&repo, &["commit", "--quiet", "-m", "two cells"]);
    let base = git(&repo, &["rev-parse", "HEAD"]);

    // A pull request that changes nothing passes every step.
    let run = run_workflow(&repo, &base);
    assert!(
        run.codes.iter().all(|(_, code)| *code == 0) && run.code(CHECK_STEP) == Some(0),
        "{:?}\n{}",
        run.codes,
        run.stderr
    );

    // Remove the cell, re-render, commit: the render is fresh, the change
    // unsafe.
    git(&repo, &["checkout", "--quiet", "-b", "remove-cell"]);
    std::fs::write(repo.join("clusters/cluster.yaml"), minimal()).unwrap();
    let (code, _, stderr) = multigres(&repo, &render);
    assert_eq!(code, 0, "{stderr}");
    git(
        &repo,
        &["commit", "--quiet", "--all", "-m", "remove zone-b"],
    );
    let run = run_workflow(&repo, &base);
    assert_eq!(
        run.code(CHECK_STEP),
        Some(4),
        "{:?}\n{}",
        run.codes,
        run.stderr
    );
    let error = run
        .stderr
        .lines()
        .find(|l| l.contains("error[MG301]"))
        .unwrap_or_else(|| panic!("no MG301 in {}", run.stderr));
    assert!(
        error.starts_with("base/rendered/default/Cell/minimal-zone-b-")
            && error.contains(
                ": error[MG301]: cell \"zone-b\" of MultigresCluster default/minimal is removed"
            ),
        "{error}"
    );
    assert!(
        run.stderr
            .contains("error: the change would be refused at sync time (2 upgrade error(s) above, judged against base/rendered/)"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("stale"), "{}", run.stderr);
    // What the workflow ran before: the pull request's own render, now
    // fresh, judged against itself. It passes, and says why that is weak.
    let (code, _, stderr) = multigres(
        &repo,
        &[
            "render",
            "clusters/",
            "--images-file",
            "images.yaml",
            "--check",
            "rendered/",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("note: the upgrade is judged against the committed render in rendered/"),
        "{stderr}"
    );
    assert!(stderr.contains("--previous base/rendered"), "{stderr}");

    // The same change without the re-render: stale and unsafe, both said,
    // exit 4.
    git(
        &repo,
        &["checkout", "--quiet", "-b", "remove-cell-stale", &base],
    );
    std::fs::write(repo.join("clusters/cluster.yaml"), minimal()).unwrap();
    git(
        &repo,
        &[
            "commit",
            "--quiet",
            "--all",
            "-m",
            "remove zone-b, not rendered",
        ],
    );
    let run = run_workflow(&repo, &base);
    assert_eq!(run.code(CHECK_STEP), Some(4), "{}", run.stderr);
    assert!(run.stderr.contains("error[MG301]"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("error: the committed render in rendered/ is stale"),
        "{}",
        run.stderr
    );

    // A safe change, not re-rendered: stale alone, exit 1, with the command
    // that re-renders.
    git(&repo, &["checkout", "--quiet", "-b", "stale", &base]);
    std::fs::write(
        repo.join("clusters/cluster.yaml"),
        with_two_multiadmins(&two_cells()),
    )
    .unwrap();
    git(
        &repo,
        &["commit", "--quiet", "--all", "-m", "two multiadmins"],
    );
    let run = run_workflow(&repo, &base);
    assert_eq!(run.code(CHECK_STEP), Some(1), "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "error: the committed render in rendered/ is stale (the diff is on stdout): re-render \
             with `multigres render clusters/ --images-file images.yaml --output-dir rendered/` \
             and commit the result"
        ),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("error[MG3"), "{}", run.stderr);
    assert!(!run.stderr.contains("refused"), "{}", run.stderr);
    // Re-rendered as told: the workflow passes.
    let (code, _, stderr) = multigres(&repo, &render);
    assert_eq!(code, 0, "{stderr}");
    git(&repo, &["commit", "--quiet", "--all", "-m", "re-render"]);
    let run = run_workflow(&repo, &base);
    assert_eq!(run.code(CHECK_STEP), Some(0), "{}", run.stderr);
}

/// The minimal example's cluster under another name.
fn renamed(text: &str, name: &str) -> String {
    let with = text.replacen(
        "kind: MultigresCluster\nmetadata:\n  name: minimal\n",
        &format!("kind: MultigresCluster\nmetadata:\n  name: {name}\n"),
        1,
    );
    assert_ne!(with, text, "the example changed: adjust the test");
    with
}

/// Issue 12: removing or renaming a whole cluster is an upgrade error
/// (MG313), unless `--allow-removal NAMESPACE/NAME` says it is on purpose.
#[test]
fn check_refuses_a_removed_cluster_unless_allowed() {
    let temp = TempDir::new("cluster");
    std::fs::create_dir_all(temp.path("in")).unwrap();
    std::fs::write(temp.path("in/minimal.yaml"), minimal()).unwrap();
    let (code, _, stderr) = multigres(&temp.0, &["render", "in", "--output-dir", "base"]);
    assert_eq!(code, 0, "{stderr}");

    // Renamed, and the new render committed: judged against the base render.
    std::fs::write(temp.path("in/minimal.yaml"), renamed(&minimal(), "main")).unwrap();
    let (code, _, stderr) = multigres(&temp.0, &["render", "in", "--output-dir", "pr"]);
    assert_eq!(code, 0, "{stderr}");
    let check = ["render", "in", "--check", "pr", "--previous", "base"];
    let (code, stdout, stderr) = multigres(&temp.0, &check);
    assert_eq!(code, 4, "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.contains("error[")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        errors[0].starts_with(
            "base/default/MultigresCluster/minimal.yaml: error[MG313]: MultigresCluster \
             default/minimal is removed: a GitOps tool that prunes"
        ),
        "{stderr}"
    );
    assert!(
        errors[0].ends_with(
            "; MultigresCluster default/main is added in the same change: renaming a cluster is \
             removing it and adding a new, empty one"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: put the MultigresCluster back (under its old name, if it was renamed); to delete the cluster on purpose, pass --allow-removal default/minimal"),
        "{stderr}"
    );
    assert!(
        stderr.contains("pr: 0 changed, 0 added, 0 removed, 25 identical; 1 upgrade error(s), 0 warning(s) against base"),
        "{stderr}"
    );
    // Against the committed render (no --previous): the same error, and the
    // render is stale too.
    let (code, _, stderr) = multigres(&temp.0, &["render", "in", "--check", "base"]);
    assert_eq!(code, 4, "{stderr}");
    assert!(stderr.contains("error[MG313]"), "{stderr}");
    assert!(
        stderr.contains("error: the committed render in base is stale"),
        "{stderr}"
    );

    // Allowed: a deletion on purpose.
    let mut allowed = check.to_vec();
    allowed.extend(["--allow-removal", "default/minimal"]);
    let (code, _, stderr) = multigres(&temp.0, &allowed);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains(
            "note: MultigresCluster default/minimal is removed, as --allow-removal default/minimal allows"
        ),
        "{stderr}"
    );
    assert!(
        !stderr.contains("error[") && !stderr.contains("error:"),
        "{stderr}"
    );
    // Allowed but not re-rendered: stale only.
    let (code, _, stderr) = multigres(
        &temp.0,
        &[
            "render",
            "in",
            "--check",
            "base",
            "--allow-removal",
            "default/minimal",
        ],
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(!stderr.contains("error["), "{stderr}");

    // Deleted outright (only the Secret is left): no rename mentioned.
    let secret = minimal();
    let secret = secret.split("\n---\n").next().unwrap();
    std::fs::write(temp.path("in/minimal.yaml"), secret).unwrap();
    let (code, _, stderr) = multigres(&temp.0, &["render", "in", "--check", "base"]);
    assert_eq!(code, 4, "{stderr}");
    let error = stderr
        .lines()
        .find(|l| l.contains("error[MG313]"))
        .unwrap_or_else(|| panic!("no MG313 in {stderr}"));
    assert!(
        error.contains("MultigresCluster default/minimal is removed")
            && !error.contains("renaming"),
        "{error}"
    );
    // Its cells, shards and pools are not reported one by one.
    assert_eq!(stderr.matches("error[").count(), 1, "{stderr}");
}

#[test]
fn check_flags_are_checked() {
    let temp = TempDir::new("flags");
    std::fs::create_dir_all(temp.path("in")).unwrap();
    std::fs::write(temp.path("in/minimal.yaml"), minimal()).unwrap();
    let (code, _, stderr) = multigres(&temp.0, &["render", "in", "--output-dir", "out"]);
    assert_eq!(code, 0, "{stderr}");
    for (args, message) in [
        (&["render", "in", "--previous", "out"][..], "--check <DIR>"),
        (
            &["render", "in", "--allow-removal", "default/minimal"][..],
            "--check <DIR>",
        ),
        (
            &[
                "render",
                "in",
                "--check",
                "out",
                "--allow-removal",
                "minimal",
            ][..],
            "expected NAMESPACE/NAME of a MultigresCluster, for example default/minimal, not \"minimal\"",
        ),
        // validate's --previous takes inputs; render's takes a render.
        (
            &["render", "in", "--check", "out", "--previous", "in"][..],
            "error: --previous in: in has no kustomization.yaml",
        ),
    ] {
        let (code, stdout, stderr) = multigres(&temp.0, args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stdout.is_empty(), "{args:?}: {stdout}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
    let (code, _, stderr) = multigres(
        &temp.0,
        &["render", "in", "--check", "out", "--previous", "in"],
    );
    assert_eq!(code, 2);
    assert!(
        stderr.contains("--previous takes a directory written by `multigres render --output-dir`"),
        "{stderr}"
    );
}
