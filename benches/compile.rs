//! In-process cost of rendering against the cost of serialising the same
//! objects: how close `render` is to the floor that any renderer printing
//! these objects pays.
//!
//! ```sh
//! cargo bench --bench compile
//! ```
//!
//! For each input (the minimal example, fleets of 10 and 100 clusters) it
//! measures, side by side in one process:
//!
//! - `render`: compile (read, admit, resolve, validate, expand, build) and
//!   emit the YAML stream, what `multigres render` does;
//! - `compile`: the same without emission;
//! - `emit`: serialising the already-compiled objects to YAML alone.
//!
//! and then prints `render / emit` and `compile / emit` as ratios, from
//! criterion's median estimates. docs/performance.md records a run.

#[path = "support/fleet.rs"]
mod fleet;

use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput};
use multigres::compile::{self, Input, Options, emit};

struct Case {
    name: String,
    inputs: Vec<Input>,
}

fn cases() -> Vec<Case> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let minimal = std::fs::read(root.join("examples/minimal/minimal.yaml")).expect("the example");
    let mut cases = vec![Case {
        name: "minimal".into(),
        inputs: vec![Input::new("examples/minimal/minimal.yaml", minimal)],
    }];
    for clusters in [10, 100] {
        cases.push(Case {
            name: format!("fleet-{clusters}"),
            inputs: fleet::fleet(clusters)
                .into_iter()
                .map(|file| Input::new(file.path, file.text))
                .collect(),
        });
    }
    cases
}

fn render(inputs: &[Input], options: &Options) -> String {
    let output = compile::compile(inputs, options).expect("the benchmark inputs are valid");
    emit::to_yaml(&output.objects)
}

fn main() {
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .configure_from_args();
    let options = Options::default();
    let cases = cases();
    for case in &cases {
        let compiled =
            compile::compile(&case.inputs, &options).expect("the benchmark inputs are valid");
        let objects = compiled.objects.len() as u64;
        let mut group = criterion.benchmark_group(&case.name);
        group.throughput(Throughput::Elements(objects));
        if case.name == "fleet-100" {
            group.sample_size(20);
        }
        group.bench_function(BenchmarkId::from_parameter("render"), |b| {
            b.iter(|| render(&case.inputs, &options))
        });
        group.bench_function(BenchmarkId::from_parameter("compile"), |b| {
            b.iter(|| compile::compile(&case.inputs, &options))
        });
        group.bench_function(BenchmarkId::from_parameter("emit"), |b| {
            b.iter(|| emit::to_yaml(&compiled.objects))
        });
        group.finish();
    }
    criterion.final_summary();
    // `cargo test` runs each benchmark once, without `--bench`, to check it
    // works; ratios only mean something after a measured run.
    if std::env::args().any(|arg| arg == "--bench") {
        print_ratios(&cases);
    }
}

/// criterion's results directory (it honours `CRITERION_HOME`).
fn results_dir() -> PathBuf {
    std::env::var_os("CRITERION_HOME").map_or_else(
        || {
            let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
                || Path::new(env!("CARGO_MANIFEST_DIR")).join("target"),
                PathBuf::from,
            );
            target.join("criterion")
        },
        PathBuf::from,
    )
}

/// The median of one benchmark of this run, in nanoseconds.
fn median_ns(group: &str, function: &str) -> Option<f64> {
    let path = results_dir()
        .join(group)
        .join(function)
        .join("new/estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let estimates: serde_json::Value = serde_json::from_str(&text).ok()?;
    estimates["median"]["point_estimate"].as_f64()
}

fn print_ratios(cases: &[Case]) {
    println!("\n| input | render | compile | emit | render / emit | compile / emit |");
    println!("|---|---|---|---|---|---|");
    for case in cases {
        let (Some(render), Some(compile), Some(emit)) = (
            median_ns(&case.name, "render"),
            median_ns(&case.name, "compile"),
            median_ns(&case.name, "emit"),
        ) else {
            // Filtered out on the command line, or run in test mode.
            continue;
        };
        println!(
            "| {} | {} | {} | {} | {:.2} | {:.2} |",
            case.name,
            millis(render),
            millis(compile),
            millis(emit),
            render / emit,
            compile / emit
        );
    }
}

fn millis(ns: f64) -> String {
    format!("{:.2} ms", ns / 1e6)
}
