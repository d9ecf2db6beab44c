//! Every example renders to exactly its golden file, in any input order.
//!
//! Re-bless after a reviewed change: `MULTIGRES_BLESS=1 cargo test --release --test suite golden::`
//! (then read `git diff golden/`).

use std::path::{Path, PathBuf};
use std::process::Command;

/// Each example and the extra flags it is rendered with.
const EXAMPLES: &[(&str, &[&str])] = &[
    ("default-templates", &[]),
    ("external-etcd", &[]),
    ("minimal", &[]),
    ("no-namespace", &["--namespace", "staging"]),
    ("no-templates", &[]),
    ("overrides", &[]),
    ("secured", &[]),
    ("templated", &[]),
    ("topology", &[]),
    ("two-cells", &[]),
];

/// Extra golden renders: (golden directory, example, flags).
const VARIANTS: &[(&str, &str, &[&str])] = &[
    ("minimal-runtime", "minimal", &["--preview-runtime"]),
    ("secured-runtime", "secured", &["--preview-runtime"]),
    ("two-cells-runtime", "two-cells", &["--preview-runtime"]),
];

/// Every golden render: (golden directory, example, flags).
fn renders() -> Vec<(&'static str, &'static str, &'static [&'static str])> {
    let mut all: Vec<_> = EXAMPLES
        .iter()
        .map(|(name, flags)| (*name, *name, *flags))
        .collect();
    all.extend(VARIANTS.iter().copied());
    all
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

struct Rendered {
    code: i32,
    stdout: String,
    stderr: String,
}

fn render(paths: &[String], flags: &[&str]) -> Rendered {
    let output = Command::new(env!("CARGO_BIN_EXE_multigres"))
        .current_dir(repo())
        .arg("render")
        .args(paths)
        .args(flags)
        .output()
        .expect("run multigres");
    Rendered {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).expect("UTF-8 stdout"),
        stderr: String::from_utf8(output.stderr).expect("UTF-8 stderr"),
    }
}

/// The example's files, relative to the repository, sorted.
fn files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml") {
                out.push(path.strip_prefix(repo()).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

fn check_or_bless(path: &Path, actual: &str, mismatches: &mut Vec<String>) {
    if std::env::var_os("MULTIGRES_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(path).unwrap_or_default();
    if expected != actual {
        mismatches.push(path.display().to_string());
    }
}

#[test]
fn examples_render_to_their_golden_files() {
    let mut mismatches = Vec::new();
    for (golden, example, flags) in renders() {
        let rendered = render(&[format!("examples/{example}")], flags);
        assert_eq!(
            rendered.code, 0,
            "examples/{example} failed:\n{}",
            rendered.stderr
        );
        assert!(!rendered.stdout.is_empty());
        let golden = repo().join("golden").join(golden);
        check_or_bless(
            &golden.join("render.yaml"),
            &rendered.stdout,
            &mut mismatches,
        );
        check_or_bless(
            &golden.join("warnings.txt"),
            &rendered.stderr,
            &mut mismatches,
        );
    }
    assert!(
        mismatches.is_empty(),
        "golden files differ: {mismatches:?}\nreview the change, then re-bless with `MULTIGRES_BLESS=1 cargo test --release --test suite golden::`"
    );
}

#[test]
fn every_example_has_a_golden_entry() {
    let mut dirs: Vec<String> = std::fs::read_dir(repo().join("examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() && p.file_name().is_some_and(|n| n != "ci"))
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    let listed: Vec<String> = EXAMPLES.iter().map(|(n, _)| (*n).to_owned()).collect();
    assert_eq!(
        dirs, listed,
        "tests/golden.rs must list every example directory"
    );
    if std::env::var_os("MULTIGRES_BLESS").is_some() {
        return; // the other test is writing golden/ right now
    }
    let mut goldens: Vec<String> = std::fs::read_dir(repo().join("golden"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    goldens.sort();
    let mut expected: Vec<String> = renders().iter().map(|(g, _, _)| (*g).to_owned()).collect();
    expected.sort();
    assert_eq!(
        goldens, expected,
        "golden/ holds exactly one directory per render"
    );
}

#[test]
fn output_is_independent_of_input_order() {
    for (name, flags) in EXAMPLES {
        let mut paths = files(&repo().join("examples").join(name));
        let forward = render(&paths, flags);
        paths.reverse();
        let backward = render(&paths, flags);
        assert_eq!(
            forward.stdout, backward.stdout,
            "examples/{name}: order changed the output"
        );
        let again = render(&paths, flags);
        assert_eq!(
            backward.stdout, again.stdout,
            "examples/{name}: two runs differ"
        );
    }
}
