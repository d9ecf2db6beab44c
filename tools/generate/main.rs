//! `multigres-generate`: regenerates the files the repository derives from
//! code (golden renders, CRDs and embedded schemas, docs/objects.md,
//! docs/argocd/argocd-cm.yaml). A developer tool, built only with the
//! `generate` feature; run it through `scripts/generate`.
//!
//! The tests check every generated file against the same functions
//! (`generators/`), so CI needs no step of its own.

#![forbid(unsafe_code)]

mod generators;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use generators::{Context, Target};

const USAGE: &str = "usage: scripts/generate [--check] [all|golden|crds|objects-doc|argocd-cm]...
Writes the generated files of each target (default: all) and prints those it changed.
--check writes nothing and exits 1 if a file is stale.";

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(args: Vec<String>) -> Result<ExitCode, String> {
    let mut check = false;
    let mut targets = Vec::new();
    for arg in &args {
        match arg.as_str() {
            "--check" => check = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(ExitCode::SUCCESS);
            }
            "all" => targets.extend(Target::ALL),
            name => targets.push(
                Target::ALL
                    .into_iter()
                    .find(|t| t.name() == name)
                    .ok_or_else(|| format!("unknown target {name:?}\n{USAGE}"))?,
            ),
        }
    }
    if targets.is_empty() {
        targets.extend(Target::ALL);
    }
    // In `all` order, whatever order they were named in: objects-doc reads
    // what golden writes.
    let targets: Vec<Target> = Target::ALL
        .into_iter()
        .filter(|t| targets.contains(t))
        .collect();

    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let multigres = multigres_binary()?;
    let context = Context {
        root,
        multigres: &multigres,
    };
    let mut stale_files = 0;
    for target in targets {
        let files = generators::files(target, &context)?;
        let stale: Vec<_> = files
            .iter()
            .filter(|f| generators::is_stale(root, f))
            .collect();
        for file in &stale {
            if check {
                println!(
                    "stale: {} (run `{}`)",
                    file.path.display(),
                    target.command()
                );
                continue;
            }
            let path = root.join(&file.path);
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            }
            std::fs::write(&path, &file.contents)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            println!("wrote {}", file.path.display());
        }
        stale_files += stale.len();
        eprintln!(
            "{}: {} files, {} {}",
            target.name(),
            files.len(),
            stale.len(),
            if check { "stale" } else { "changed" }
        );
    }
    Ok(if check && stale_files > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The `multigres` binary built next to this one (`scripts/generate` builds
/// both), so the golden files are what the shipped command prints.
fn multigres_binary() -> Result<PathBuf, String> {
    let me = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    let binary = me.with_file_name(format!("multigres{}", std::env::consts::EXE_SUFFIX));
    if binary.is_file() {
        Ok(binary)
    } else {
        Err(format!(
            "{} is missing: build it first (scripts/generate does)",
            binary.display()
        ))
    }
}
