//! Whole-process timings: `multigres render` of the inputs against
//! `kubectl kustomize` of a directory holding the already-rendered output
//! of the same inputs (what `render --output-dir` writes: one file per
//! object and a kustomization.yaml). The baseline does no work but read the
//! same objects and print them again, so the ratio says what rendering costs
//! over passing the objects through.
//!
//! ```sh
//! cargo bench --bench whole_process                          # minimal, fleets of 10, 100, 1000
//! cargo bench --bench whole_process -- --sizes 10,100 --repeat 3
//! ```
//!
//! Both commands run alternately in one run, each sample a fresh process
//! whose wall time and peak resident memory (wait4) are recorded; the tables
//! show medians. kustomize is quadratic in the number of objects (one to two
//! hours for the 1000-cluster fleet), so after `--baseline-seconds` spent on
//! one input it is not repeated, and a run longer than `--baseline-limit`
//! (default two hours) is stopped: its time is then a lower bound and the
//! ratio an upper bound, marked `<`. The table says how many samples each
//! median has. Also timed: the hostile inputs of docs/limits.md.
//!
//! Run without `--bench` (as `cargo test --all-targets` does), it checks
//! itself on the minimal example and a fleet of 10: both commands must
//! print the same objects (skipped without kubectl on PATH, failed with CI
//! set: docs/development.md).

// wait4(2) reads each child's peak memory; the library itself forbids unsafe code.
#![allow(unsafe_code)]

#[path = "support/fleet.rs"]
mod fleet;
#[path = "support/machine.rs"]
mod machine;
#[path = "../tests/support/tools.rs"]
mod tools;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use multigres::compile::yaml::{self, Limits};
use serde_json::Value;

const MULTIGRES: &str = env!("CARGO_BIN_EXE_multigres");

/// One run of a process.
#[derive(Debug, Clone, Copy)]
struct Sample {
    seconds: f64,
    peak_kib: u64,
    exit_code: i32,
    /// Killed at the time limit: `seconds` is then a lower bound.
    stopped: bool,
}

/// Runs `command` to the end (or until `limit` has passed, when it is
/// killed) with its output discarded, and measures it.
fn measure(command: &mut Command, limit: Option<Duration>) -> Sample {
    let start = Instant::now();
    #[expect(
        clippy::zombie_processes,
        reason = "reaped below by wait4, which also reports its peak memory"
    )]
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    let pid = libc::pid_t::try_from(child.id()).expect("a pid");
    let (done, finished) = mpsc::channel::<()>();
    let watchdog = limit.map(|limit| {
        std::thread::spawn(move || {
            let timed_out = finished.recv_timeout(limit) == Err(RecvTimeoutError::Timeout);
            if timed_out {
                // SAFETY: plain syscall. `done` is sent right after the
                // child is reaped, so `pid` can only name another process
                // if it is reused within those few instructions.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
            timed_out
        })
    });
    let mut status = 0;
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `pid` is our child and not reaped yet (std reaps only in
    // wait/try_wait, which are never called); both pointers are valid.
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, usage.as_mut_ptr()) };
    let seconds = start.elapsed().as_secs_f64();
    let _ = done.send(());
    let stopped = watchdog.is_some_and(|w| w.join().expect("watchdog"));
    assert_eq!(reaped, pid, "wait4 failed for {command:?}");
    // SAFETY: wait4 succeeded, so it filled `usage` in.
    let usage = unsafe { usage.assume_init() };
    let exit_code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    Sample {
        seconds,
        peak_kib: u64::try_from(usage.ru_maxrss).unwrap_or(0),
        exit_code,
        stopped,
    }
}

fn render_command(input: &Path) -> Command {
    let mut command = Command::new(MULTIGRES);
    command.arg("render").arg(input);
    command
}

fn kustomize_command(rendered: &Path) -> Command {
    let mut command = Command::new("kubectl");
    command.arg("kustomize").arg(rendered);
    command
}

/// An input set written to disk, and its render written with `--output-dir`.
struct Case {
    name: String,
    clusters: usize,
    input: PathBuf,
    rendered: PathBuf,
    objects: usize,
}

fn work_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("whole-process")
}

fn prepare(name: &str, clusters: usize, files: &[(String, Vec<u8>)]) -> Case {
    let dir = work_dir().join(name);
    let _ = std::fs::remove_dir_all(&dir);
    let input = dir.join("input");
    for (path, bytes) in files {
        let path = input.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    let rendered = dir.join("rendered");
    let status = Command::new(MULTIGRES)
        .arg("render")
        .arg(&input)
        .arg("--output-dir")
        .arg(&rendered)
        .stderr(Stdio::null())
        .status()
        .expect("run multigres");
    assert!(status.success(), "render --output-dir of {name} failed");
    let record = std::fs::read_to_string(rendered.join("kustomization.yaml")).unwrap();
    let objects = record.lines().filter(|l| l.starts_with("- ")).count();
    Case {
        name: name.into(),
        clusters,
        input,
        rendered,
        objects,
    }
}

fn minimal_case() -> Case {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let minimal = std::fs::read(root.join("examples/minimal/minimal.yaml")).unwrap();
    prepare("minimal", 1, &[("minimal.yaml".into(), minimal)])
}

fn fleet_case(clusters: usize) -> Case {
    let files: Vec<(String, Vec<u8>)> = fleet::fleet(clusters)
        .into_iter()
        .map(|f| (f.path, f.text.into_bytes()))
        .collect();
    prepare(&format!("fleet-{clusters}"), clusters, &files)
}

fn median(samples: &[Sample], key: impl Fn(&Sample) -> f64) -> f64 {
    let mut values: Vec<f64> = samples.iter().map(key).collect();
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

struct Measured {
    render: Vec<Sample>,
    kustomize: Vec<Sample>,
}

/// Alternates the two commands `repeat` times; kustomize stops repeating
/// once it has used `baseline_seconds` on this input.
fn compare(case: &Case, repeat: usize, baseline_seconds: f64, limit: Duration) -> Measured {
    let mut measured = Measured {
        render: Vec::new(),
        kustomize: Vec::new(),
    };
    for _ in 0..repeat {
        let render = measure(&mut render_command(&case.input), None);
        assert_eq!(render.exit_code, 0, "render of {} failed", case.name);
        measured.render.push(render);
        let spent: f64 = measured.kustomize.iter().map(|s| s.seconds).sum();
        if measured.kustomize.is_empty() || spent < baseline_seconds {
            let kustomize = measure(&mut kustomize_command(&case.rendered), Some(limit));
            assert!(
                kustomize.stopped || kustomize.exit_code == 0,
                "kustomize of {} failed",
                case.name
            );
            measured.kustomize.push(kustomize);
        }
    }
    measured
}

fn mib(kib: f64) -> String {
    format!("{:.1} MiB", kib / 1024.0)
}

fn seconds(s: f64) -> String {
    if s < 1.0 {
        format!("{:.1} ms", s * 1000.0)
    } else {
        format!("{s:.2} s")
    }
}

struct Options {
    sizes: Vec<usize>,
    repeat: usize,
    baseline_seconds: f64,
    baseline_limit: Duration,
}

fn options(args: &[String]) -> Options {
    let mut options = Options {
        sizes: vec![10, 100, 1000],
        repeat: 5,
        baseline_seconds: 120.0,
        baseline_limit: Duration::from_secs(2 * 3600),
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = || args.next().cloned().unwrap_or_default();
        match arg.as_str() {
            "--sizes" => {
                options.sizes = value()
                    .split(',')
                    .map(|s| s.trim().parse().expect("--sizes takes numbers: 10,100"))
                    .collect();
            }
            "--repeat" => options.repeat = value().parse().expect("--repeat takes a number"),
            "--baseline-seconds" => {
                options.baseline_seconds =
                    value().parse().expect("--baseline-seconds takes seconds");
            }
            "--baseline-limit" => {
                options.baseline_limit =
                    Duration::from_secs(value().parse().expect("--baseline-limit takes seconds"));
            }
            _ => {} // `--bench` and cargo's own flags
        }
    }
    options
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.iter().any(|a| a == "--bench") {
        self_check();
        return;
    }
    let options = options(&args);
    let mut cases = vec![minimal_case()];
    cases.extend(options.sizes.iter().map(|&n| fleet_case(n)));
    println!("machine: {}", machine::cpu_and_cores());
    println!(
        "kubectl: {}",
        output_of(Command::new("kubectl").args(["version", "--client"]))
            .lines()
            .next()
            .unwrap_or("?")
    );
    println!();
    println!(
        "| input | objects | render | kustomize | render / kustomize | render peak | kustomize peak |"
    );
    println!("|---|---|---|---|---|---|---|");
    let mut growth_rows = Vec::new();
    for case in &cases {
        let measured = compare(
            case,
            options.repeat,
            options.baseline_seconds,
            options.baseline_limit,
        );
        // A kustomize run stopped at the limit took at least that long, so
        // the ratio is then an upper bound.
        let stopped = if measured.kustomize.iter().any(|s| s.stopped) {
            "< "
        } else {
            ""
        };
        let render = median(&measured.render, |s| s.seconds);
        let kustomize = median(&measured.kustomize, |s| s.seconds);
        let render_peak = median(&measured.render, |s| s.peak_kib as f64);
        let kustomize_peak = median(&measured.kustomize, |s| s.peak_kib as f64);
        println!(
            "| {} | {} | {} (n={}) | {}{} (n={}) | {stopped}{:.4} | {} | {}{} |",
            case.name,
            case.objects,
            seconds(render),
            measured.render.len(),
            if stopped.is_empty() { "" } else { "> " },
            seconds(kustomize),
            measured.kustomize.len(),
            render / kustomize,
            mib(render_peak),
            if stopped.is_empty() { "" } else { "> " },
            mib(kustomize_peak),
        );
        growth_rows.push((case.clusters, render, render_peak));
    }
    print_growth(&growth_rows);
    print_hostile();
}

/// Time and memory as the fleet grows. Linear growth shows as a constant
/// cost per added cluster (from one row to the next; the first row starts
/// from the minimal example's single cluster).
fn print_growth(rows: &[(usize, f64, f64)]) {
    println!();
    println!(
        "| clusters | render | peak memory | time per added cluster | memory per added cluster |"
    );
    println!("|---|---|---|---|---|");
    for pair in rows.windows(2) {
        let [(n0, t0, p0), (n1, t1, p1)] = [pair[0], pair[1]];
        let added = (n1 - n0) as f64;
        println!(
            "| {n1} | {} | {} | {} | {:.0} KiB |",
            seconds(t1),
            mib(p1),
            seconds((t1 - t0) / added),
            (p1 - p0) / added,
        );
    }
}

/// The hostile inputs of docs/limits.md: each must end with exit 2.
fn print_hostile() {
    let dir = work_dir().join("hostile");
    std::fs::create_dir_all(&dir).unwrap();
    let mut laughs = String::from(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: d}\ndata:\n  a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
    );
    for level in 1..12 {
        let refs = vec![format!("*a{}", level - 1); 9].join(", ");
        laughs.push_str(&format!("  a{level}: &a{level} [{refs}]\n"));
    }
    std::fs::write(dir.join("billion-laughs.yaml"), laughs).unwrap();
    // Written in pieces: the peak memory a child reports includes what its
    // parent held when it was spawned, so the benchmark itself stays small.
    let mut big = std::fs::File::create(dir.join("fifty-megabytes.yaml")).unwrap();
    let header =
        b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: d}\ndata:\n  k: \"";
    big.write_all(header).unwrap();
    let chunk = vec![b'x'; 1 << 20];
    for _ in 0..50 {
        big.write_all(&chunk).unwrap();
    }
    big.write_all(b"\"\n").unwrap();
    println!();
    println!("| hostile input | exit | time | peak memory |");
    println!("|---|---|---|---|");
    for name in ["billion-laughs.yaml", "fifty-megabytes.yaml"] {
        let samples: Vec<Sample> = (0..5)
            .map(|_| measure(&mut render_command(&dir.join(name)), None))
            .collect();
        assert!(
            samples.iter().all(|s| s.exit_code == 2),
            "{name} must exit 2"
        );
        println!(
            "| {name} | 2 | {} | {} |",
            seconds(median(&samples, |s| s.seconds)),
            mib(median(&samples, |s| s.peak_kib as f64))
        );
    }
}

fn output_of(command: &mut Command) -> String {
    command
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

/// The objects of a YAML stream, keyed by kind, namespace and name.
fn objects(stream: &str) -> BTreeMap<(String, String, String), Value> {
    let limits = Limits {
        max_nodes: usize::MAX,
        max_documents: usize::MAX,
        ..Limits::default()
    };
    let documents = yaml::parse_stream(stream, &limits).expect("a YAML stream");
    documents
        .into_iter()
        .map(|d| {
            let field = |pointer: &str| {
                d.value
                    .pointer(pointer)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned()
            };
            (
                (
                    field("/kind"),
                    field("/metadata/namespace"),
                    field("/metadata/name"),
                ),
                d.value,
            )
        })
        .collect()
}

/// The benchmark compares like with like: kustomize prints exactly the
/// objects render prints.
fn self_check() {
    if !tools::require_tool("kubectl") {
        return;
    }
    for case in [minimal_case(), fleet_case(10)] {
        let rendered = output_of(&mut render_command(&case.input));
        let kustomized = output_of(&mut kustomize_command(&case.rendered));
        let (ours, theirs) = (objects(&rendered), objects(&kustomized));
        assert_eq!(ours.len(), case.objects, "{}: object count", case.name);
        assert!(
            ours == theirs,
            "{}: kustomize prints other objects than render",
            case.name
        );
        println!(
            "whole_process: {} passes the same {} objects through kustomize",
            case.name, case.objects
        );
    }
}
