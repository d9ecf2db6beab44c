//! Embeds every example input set of `../examples` (one per directory, its
//! YAML files in path order) for the structured target to start from.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml") {
            out.push(path);
        }
    }
}

fn main() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    println!("cargo::rerun-if-changed={}", examples.display());
    let mut sets: Vec<PathBuf> = std::fs::read_dir(&examples)
        .expect("examples/ beside fuzz/")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.is_dir())
        .collect();
    sets.sort();
    let mut code = String::from("&[\n");
    for set in sets {
        let mut files = Vec::new();
        yaml_files(&set, &mut files);
        // examples/ci holds a CI workflow, not manifests.
        if set.ends_with("ci") || files.is_empty() {
            continue;
        }
        let name = set.file_name().unwrap().to_string_lossy();
        writeln!(code, "    ({name:?}, &[").unwrap();
        for file in files {
            let path = file.canonicalize().expect("an example file");
            writeln!(
                code,
                "        include_str!({:?}),",
                path.display().to_string()
            )
            .unwrap();
        }
        code.push_str("    ]),\n");
    }
    code.push_str("]\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("examples.rs");
    std::fs::write(out, code).expect("OUT_DIR is writable");
}
