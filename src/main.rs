#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;

// Rendering builds and drops many small maps; mimalloc serves them faster
// than the system allocator (docs/performance.md has the measurement).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = multigres::cli::Cli::parse();
    // A panic is a bug: report it as an internal error (exit 3), never as
    // invalid input.
    std::panic::catch_unwind(|| multigres::cli::run(cli))
        .unwrap_or_else(|_| ExitCode::from(multigres::cli::EXIT_INTERNAL))
}
