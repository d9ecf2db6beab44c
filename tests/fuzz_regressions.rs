//! The fuzz targets' checks (fuzz/src/check.rs: no panic, the same answer
//! twice, diagnostics inside the input, output that reads back as what was
//! rendered) on every input a fuzzer found a problem with, kept in
//! `fuzz/regressions/` once fixed, and on every example input set.

#[path = "../fuzz/src/check.rs"]
mod check;

use std::path::{Path, PathBuf};

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn check_both_ways(name: &str, bytes: &[u8]) {
    for preview_runtime in [false, true] {
        let outcome = std::panic::catch_unwind(|| check::check(bytes, preview_runtime));
        assert!(
            outcome.is_ok(),
            "{name} (preview_runtime: {preview_runtime}) fails the fuzz checks"
        );
    }
}

#[test]
fn inputs_the_fuzzers_found_pass_the_checks() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions");
    let mut files = Vec::new();
    files_under(&dir, &mut files);
    files.retain(|f| f.file_name().is_some_and(|n| n != "README.md"));
    assert!(!files.is_empty(), "fuzz/regressions holds no inputs");
    for file in files {
        check_both_ways(&file.display().to_string(), &std::fs::read(&file).unwrap());
    }
}

#[test]
fn examples_pass_the_checks() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut checked = 0;
    for entry in std::fs::read_dir(&examples).unwrap() {
        let dir = entry.unwrap().path();
        let mut files = Vec::new();
        files_under(&dir, &mut files);
        files.retain(|f| f.extension().is_some_and(|e| e == "yaml") && !dir.ends_with("ci"));
        if files.is_empty() {
            continue;
        }
        let stream: String = files
            .iter()
            .map(|f| format!("---\n{}\n", std::fs::read_to_string(f).unwrap()))
            .collect();
        check_both_ways(&dir.display().to_string(), stream.as_bytes());
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} example sets found");
}
