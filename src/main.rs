#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;

// Rendering builds and drops many small maps; mimalloc serves them faster
// than the system allocator (docs/performance.md has the measurement).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = multigres::cli::Cli::parse();
    // A panic is a bug (a broken invariant, never bad input): say so in one
    // paragraph, with where, and exit 3, never 2.
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".into());
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!(
            "error: internal error{place}: {message}\n  hint: this is a bug in multigres \
             {}; please report it with the input",
            env!("CARGO_PKG_VERSION")
        );
    }));
    std::panic::catch_unwind(|| multigres::cli::run(cli))
        .unwrap_or_else(|_| ExitCode::from(multigres::cli::EXIT_INTERNAL))
}
