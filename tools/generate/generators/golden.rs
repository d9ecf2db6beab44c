//! `golden/<render>/render.yaml` and `warnings.txt`: the reviewed output
//! (stdout and stderr) of `multigres render` on every example.

use std::path::Path;
use std::process::Command;

use super::{Context, File};

/// Each example and the extra flags it is rendered with.
pub const EXAMPLES: &[(&str, &[&str])] = &[
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
pub fn renders() -> Vec<(&'static str, &'static str, &'static [&'static str])> {
    let mut all: Vec<_> = EXAMPLES
        .iter()
        .map(|(name, flags)| (*name, *name, *flags))
        .collect();
    all.extend(VARIANTS.iter().copied());
    all
}

pub struct Rendered {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// `multigres render PATHS FLAGS`, run in the repository.
pub fn render(context: &Context<'_>, paths: &[String], flags: &[&str]) -> Result<Rendered, String> {
    let output = Command::new(context.multigres)
        .current_dir(context.root)
        .arg("render")
        .args(paths)
        .args(flags)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", context.multigres.display()))?;
    let text = |bytes: Vec<u8>, stream: &str| {
        String::from_utf8(bytes).map_err(|e| format!("render wrote non-UTF-8 {stream}: {e}"))
    };
    Ok(Rendered {
        code: output.status.code().unwrap_or(-1),
        stdout: text(output.stdout, "stdout")?,
        stderr: text(output.stderr, "stderr")?,
    })
}

pub fn files(context: &Context<'_>) -> Result<Vec<File>, String> {
    let mut files = Vec::new();
    for (golden, example, flags) in renders() {
        let rendered = render(context, &[format!("examples/{example}")], flags)?;
        if rendered.code != 0 || rendered.stdout.is_empty() {
            return Err(format!(
                "examples/{example} failed (exit {}):\n{}",
                rendered.code, rendered.stderr
            ));
        }
        let dir = Path::new("golden").join(golden);
        files.push(File::new(dir.join("render.yaml"), rendered.stdout));
        files.push(File::new(dir.join("warnings.txt"), rendered.stderr));
    }
    Ok(files)
}
