//! Checks the committed generated files against their generators
//! (tools/generate/generators, shared with `scripts/generate`).

use std::path::Path;

use crate::generators::{self, Context, Target, is_stale};

pub fn context() -> Context<'static> {
    Context {
        root: Path::new(env!("CARGO_MANIFEST_DIR")),
        multigres: Path::new(env!("CARGO_BIN_EXE_multigres")),
    }
}

/// Fails, naming the command to run, unless every file of `target` is
/// committed exactly as its generator writes it.
pub fn assert_up_to_date(target: Target) {
    let context = context();
    let files = generators::files(target, &context).unwrap_or_else(|e| panic!("{e}"));
    let stale: Vec<String> = files
        .iter()
        .filter(|file| is_stale(context.root, file))
        .map(|file| file.path.display().to_string())
        .collect();
    assert!(
        stale.is_empty(),
        "stale generated files {stale:?}: run `{}`, then review `git diff`",
        target.command()
    );
}
