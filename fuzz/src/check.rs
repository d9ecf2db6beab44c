//! What the compiler must do with any input whatever its bytes: not panic,
//! give the same answer twice, place every diagnostic inside the input, and
//! when it renders, print YAML that reads back as exactly the objects it
//! rendered.
//!
//! Shared by the fuzz targets and by the main crate's
//! `tests/fuzz_regressions.rs`, which replays every input a fuzzer ever
//! found (`fuzz/regressions/`).

use multigres::compile::diagnostics::Diagnostics;
use multigres::compile::yaml::{self, Limits};
use multigres::compile::{Bundle, Input, InputLimits, Options, compile, diagnostics_of, emit};

/// The name diagnostics give the input.
const FILE: &str = "fuzz.yaml";

/// Output budget while fuzzing: enough for every example, small enough
/// that one execution stays within milliseconds. (The default budget is
/// exercised by tests/hostile.rs.)
const MAX_OBJECTS: usize = 2_000;

/// Compiles `bytes` as one input file and checks the result.
pub fn check(bytes: &[u8], preview_runtime: bool) {
    let options = Options {
        preview_runtime,
        limits: InputLimits {
            max_objects: MAX_OBJECTS,
            ..InputLimits::default()
        },
        ..Options::default()
    };
    let inputs = [Input::new(FILE, bytes)];
    let first = compile(&inputs, &options);
    let again = compile(&inputs, &options);
    let seen = Seen::of(&first);
    assert_eq!(
        seen,
        Seen::of(&again),
        "compiling the same input twice gave different results"
    );
    check_positions(&first, bytes);
    if let (Ok(bundle), Some(yaml)) = (&first, &seen.yaml) {
        check_output_reads_back(bundle, yaml);
    }
}

/// Everything a user sees: the diagnostics, and the rendered YAML unless
/// there are errors.
#[derive(Debug, PartialEq)]
struct Seen {
    diagnostics: String,
    yaml: Option<String>,
}

impl Seen {
    fn of(output: &Result<Bundle, Diagnostics>) -> Self {
        Seen {
            diagnostics: diagnostics_of(output)
                .0
                .iter()
                .map(|d| format!("{d}\n"))
                .collect(),
            yaml: output
                .as_ref()
                .ok()
                .map(|bundle| emit::to_yaml(&bundle.objects)),
        }
    }
}

/// Every diagnostic names the input and a line of it (or the line just
/// past its end, where a stream can end too early). Lines end as YAML ends
/// them: at a line feed, a carriage return, or both together.
fn check_positions(output: &Result<Bundle, Diagnostics>, bytes: &[u8]) {
    let breaks = bytes
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')))
        .count();
    let lines = breaks + 1;
    for diagnostic in &diagnostics_of(output).0 {
        assert_eq!(diagnostic.file, FILE, "{diagnostic}");
        let line = diagnostic.pos.line as usize;
        assert!(
            (1..=lines + 1).contains(&line),
            "diagnostic outside the input of {lines} lines: {diagnostic}"
        );
    }
}

/// `text` is what `output` printed.
fn check_output_reads_back(output: &Bundle, text: &str) {
    let unlimited = Limits {
        max_depth: usize::MAX,
        max_nodes: usize::MAX,
        max_alias_nodes: usize::MAX,
        max_documents: usize::MAX,
    };
    let documents = yaml::parse_stream(text, &unlimited)
        .unwrap_or_else(|e| panic!("the output is not YAML: {e:?}\n{text}"));
    assert_eq!(
        documents.len(),
        output.objects.len(),
        "the output does not hold one document per object"
    );
    for (document, object) in documents.iter().zip(&output.objects) {
        assert_eq!(
            document.value, object.value,
            "{} {} reads back as something else from the printed YAML",
            object.kind, object.name
        );
    }
}
