//! Every example renders to exactly its golden file, in any input order.
//!
//! After a reviewed change of output, regenerate them with
//! `scripts/generate golden` (then read `git diff golden/`).

use std::path::{Path, PathBuf};

use crate::generators::Target;
use crate::generators::golden::{EXAMPLES, render, renders};
use crate::support::generated::{assert_up_to_date, context};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
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

#[test]
fn examples_render_to_their_golden_files() {
    assert_up_to_date(Target::Golden);
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
        "tools/generate/generators/golden.rs must list every example directory"
    );
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
        let forward = render(&context(), &paths, flags).unwrap();
        paths.reverse();
        let backward = render(&context(), &paths, flags).unwrap();
        assert_eq!(
            forward.stdout, backward.stdout,
            "examples/{name}: order changed the output"
        );
        let again = render(&context(), &paths, flags).unwrap();
        assert_eq!(
            backward.stdout, again.stdout,
            "examples/{name}: two runs differ"
        );
    }
}
