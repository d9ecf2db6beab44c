//! Seeds and crash triage for the fuzz targets (not instrumented itself).
//!
//! corpus seeds DIR   writes DIR/raw_bytes/<example>.yaml (each example
//!                    input set as one stream) and DIR/structured/<example>
//!                    (the byte that picks it, unedited)
//! corpus show FILE   prints the YAML stream a `structured` input builds, to
//!                    keep as a readable regression in fuzz/regressions/

use std::path::Path;
use std::process::ExitCode;

use multigres_fuzz::structured::{EXAMPLES, build};

fn seeds(dir: &Path) -> std::io::Result<()> {
    for target in ["raw_bytes", "structured"] {
        std::fs::create_dir_all(dir.join(target))?;
    }
    for (index, (name, files)) in EXAMPLES.iter().enumerate() {
        let stream: String = files.iter().map(|f| format!("---\n{f}\n")).collect();
        std::fs::write(dir.join("raw_bytes").join(format!("{name}.yaml")), stream)?;
        let byte = u8::try_from(index).expect("fewer than 256 examples");
        std::fs::write(dir.join("structured").join(name), [byte])?;
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.as_slice() {
        [command, dir] if command == "seeds" => seeds(Path::new(dir)).map_err(|e| e.to_string()),
        [command, file] if command == "show" => std::fs::read(file)
            .map_err(|e| format!("{file}: {e}"))
            .and_then(|bytes| build(&bytes).map_err(|e| format!("{file}: {e}")))
            .map(|stream| print!("{stream}")),
        _ => Err("usage: corpus seeds DIR | corpus show FILE".to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("corpus: {message}");
            ExitCode::FAILURE
        }
    }
}
