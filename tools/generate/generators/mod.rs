//! The generators of the files the repository derives from code or from
//! other files. `multigres-generate` (tools/generate/main.rs, run by
//! `scripts/generate`) writes their output; the tests (tests/suite.rs
//! includes this module) check the committed files against exactly the same
//! functions.

pub mod argocd_cm;
pub mod crds;
pub mod golden;
pub mod objects_doc;

use std::path::{Path, PathBuf};

/// A group of generated files, named as `scripts/generate` takes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// `golden/*/`: the render of every example.
    Golden,
    /// `crds/` and the schemas the validator embeds (`src/api/schemas/`).
    Crds,
    /// `docs/objects.md`, from a golden file.
    ObjectsDoc,
    /// `docs/argocd/argocd-cm.yaml`, from the health scripts.
    ArgocdCm,
}

impl Target {
    /// Every target, in the order `all` generates them: `objects-doc` reads
    /// a golden file, so it comes after `golden`.
    pub const ALL: [Target; 4] = [
        Target::Golden,
        Target::Crds,
        Target::ObjectsDoc,
        Target::ArgocdCm,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Target::Golden => "golden",
            Target::Crds => "crds",
            Target::ObjectsDoc => "objects-doc",
            Target::ArgocdCm => "argocd-cm",
        }
    }

    /// The command that regenerates this target's files.
    pub fn command(self) -> String {
        format!("scripts/generate {}", self.name())
    }
}

/// One generated file: its path relative to the repository and its content.
pub struct File {
    pub path: PathBuf,
    pub contents: String,
}

impl File {
    fn new(path: impl Into<PathBuf>, contents: String) -> Self {
        File {
            path: path.into(),
            contents,
        }
    }
}

/// Where the generators read and run.
pub struct Context<'a> {
    /// The repository's root.
    pub root: &'a Path,
    /// The `multigres` binary the golden files are rendered with.
    pub multigres: &'a Path,
}

/// The files of `target`, as they must be committed.
pub fn files(target: Target, context: &Context<'_>) -> Result<Vec<File>, String> {
    match target {
        Target::Golden => golden::files(context),
        Target::Crds => Ok(crds::files()),
        Target::ObjectsDoc => objects_doc::files(context.root),
        Target::ArgocdCm => argocd_cm::files(context.root),
    }
}

/// Whether the committed `file` differs from what it must be (or is missing).
pub fn is_stale(root: &Path, file: &File) -> bool {
    std::fs::read_to_string(root.join(&file.path)).ok().as_ref() != Some(&file.contents)
}
