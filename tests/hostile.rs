//! Hostile and accidental huge inputs: each budget of docs/limits.md ends the
//! run with an MG00x diagnostic, exit 2 and nothing on stdout. The tests
//! assert the budgets (bytes, alias expansion, depth, counts), never seconds:
//! seconds belong to the benchmark script (docs/performance.md).

use std::path::Path;

use crate::support::run;

use run::{Run, multigres};

/// Asserts a refused run: exit 2, empty stdout, and `expected` on stderr.
fn assert_refused(run: &Run, expected: &str) {
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stdout.is_empty(), "stdout must stay empty");
    assert!(
        run.stderr.contains(expected),
        "expected {expected:?} in:\n{}",
        run.stderr
    );
}

/// A scratch directory, removed on drop. `name` says which test made it,
/// for a person looking at a leftover after a crash.
fn scratch(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("multigres-hostile-{name}-"))
        .tempdir()
        .unwrap()
}

fn write(dir: impl AsRef<Path>, name: &str, bytes: &[u8]) -> String {
    let path = dir.as_ref().join(name);
    std::fs::write(&path, bytes).unwrap();
    path.display().to_string()
}

const CONFIG_MAP: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: d}\n";

/// Twelve levels of nine aliases: 9^12 (about 2.8 * 10^11) nodes described
/// in under a kilobyte.
fn billion_laughs() -> String {
    let mut text =
        format!("{CONFIG_MAP}data:\n  a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for level in 1..12 {
        let refs = vec![format!("*a{}", level - 1); 9].join(", ");
        text.push_str(&format!("  a{level}: &a{level} [{refs}]\n"));
    }
    text
}

#[test]
fn a_billion_laughs_document_is_refused_at_the_alias_budget() {
    let text = billion_laughs();
    assert!(text.len() < 1024);
    let run = multigres(&["render", "-"], Some(text.into_bytes()));
    assert_refused(
        &run,
        "-:10:12: error[MG002]: aliases expand to more than 100000 YAML nodes",
    );
}

#[test]
fn a_fifty_megabyte_input_is_refused_at_the_byte_budget() {
    let mut text = format!("{CONFIG_MAP}data:\n  k: \"").into_bytes();
    text.resize(50 << 20, b'x');
    text.extend_from_slice(b"\"\n");
    let dir = scratch("fifty-megabytes");
    let path = write(&dir, "big.yaml", &text);
    let expected = "error[MG002]: input is larger than the limit of 33554432 bytes";
    assert_refused(&multigres(&["render", &path], None), expected);
    // From stdin too: reading stops one byte past the budget.
    assert_refused(&multigres(&["render", "-"], Some(text)), expected);
}

#[test]
fn the_byte_budget_covers_all_inputs_together() {
    let dir = scratch("byte-budget");
    write(&dir, "a.yaml", CONFIG_MAP.as_bytes());
    write(
        dir.path(),
        "b.yaml",
        CONFIG_MAP.replace("name: x", "name: z").as_bytes(),
    );
    let dir = dir.path().display().to_string();
    let both = (2 * CONFIG_MAP.len()).to_string();
    let run = multigres(
        &[
            "render",
            &dir,
            "--namespace",
            "d",
            "--max-input-bytes",
            &both,
        ],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let one_short = (2 * CONFIG_MAP.len() - 1).to_string();
    let run = multigres(&["render", &dir, "--max-input-bytes", &one_short], None);
    assert_refused(
        &run,
        "b.yaml:1:1: error[MG002]: the inputs together are larger than the limit",
    );
}

#[test]
fn nesting_deeper_than_64_levels_is_refused() {
    let nested = |depth: usize| {
        format!(
            "{CONFIG_MAP}extra: {}1{}\n",
            "[".repeat(depth),
            "]".repeat(depth)
        )
    };
    // The document root is level 0 and `extra`'s value level 1, so 63
    // brackets put the innermost value at level 64: the deepest allowed.
    let run = multigres(&["render", "-"], Some(nested(63).into_bytes()));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = multigres(&["render", "-"], Some(nested(64).into_bytes()));
    assert_refused(&run, "error[MG002]: YAML nested more than 64 levels deep");
    // Far deeper input ends the same way, without exhausting the stack.
    let run = multigres(&["render", "-"], Some(nested(1_000_000).into_bytes()));
    assert_refused(&run, "error[MG002]: YAML nested more than 64 levels deep");
}

#[test]
fn duplicate_keys_are_refused_where_they_occur() {
    let text = format!("{CONFIG_MAP}data: {{}}\ndata: {{a: b}}\n");
    let run = multigres(&["render", "-"], Some(text.into_bytes()));
    assert_refused(
        &run,
        "-:5:1: error[MG001]: duplicate key \"data\" in a mapping",
    );
}

#[test]
fn bytes_that_are_not_utf8_are_refused_with_their_position() {
    let mut text = CONFIG_MAP.as_bytes().to_vec();
    text.extend_from_slice(b"data: {k: \"\xff\"}\n");
    let run = multigres(&["render", "-"], Some(text));
    assert_refused(&run, "-:4:12: error[MG003]: input is not UTF-8 text");
}

#[test]
fn the_input_object_budget_counts_objects_over_all_inputs() {
    let objects = |n: usize| {
        (0..n)
            .map(|i| {
                format!(
                    "---\n{}",
                    CONFIG_MAP.replace("name: x", &format!("name: c{i}"))
                )
            })
            .collect::<String>()
            .into_bytes()
    };
    let run = multigres(&["render", "-", "--max-objects", "10"], Some(objects(10)));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = multigres(&["render", "-", "--max-objects", "10"], Some(objects(11)));
    assert_refused(&run, "error[MG002]: the inputs hold more than 10 objects");
    // The default budget.
    let run = multigres(&["render", "-"], Some(objects(50_001)));
    assert_refused(
        &run,
        "error[MG002]: the inputs hold more than 50000 objects",
    );
}

#[test]
fn the_document_budget_counts_documents_of_one_input() {
    let text = "--- ~\n".repeat(100_001);
    let run = multigres(&["render", "-"], Some(text.into_bytes()));
    assert_refused(
        &run,
        "error[MG002]: more than 100000 YAML documents in one input",
    );
}

/// The schema's widest cluster layout: 50 cells and 20 table groups, each
/// with its one shard followed by `shard_body` (indented to the shard's
/// keys).
fn widest_layout(shard_body: &str) -> String {
    let mut text = String::from("  cells:\n");
    for cell in 0..50 {
        text.push_str(&format!("  - {{name: c{cell}, zoneId: z{cell}}}\n"));
    }
    text.push_str("  databases:\n  - name: postgres\n    default: true\n    tablegroups:\n");
    for group in 0..20 {
        if group == 0 {
            text.push_str("    - name: default\n      default: true\n");
        } else {
            text.push_str(&format!("    - name: tg{group}\n"));
        }
        text.push_str("      shards:\n      - name: 0-inf\n");
        text.push_str(shard_body);
    }
    text
}

/// A 12 KB cluster with the schema's largest shape: 50 cells, 20 table
/// groups, 8 pools of 32 replicas each spread over every cell.
fn amplifying_cluster() -> String {
    let pools: String = (0..8)
        .map(|pool| format!("            p{pool}: {{type: readWrite, replicasPerCell: 32}}\n"))
        .collect();
    format!(
        "apiVersion: multigres.com/v1alpha1\nkind: MultigresCluster\nmetadata: {{name: big, namespace: d}}\nspec:\n  postgresPasswordSecretRef: {{name: s, key: p}}\n{}",
        widest_layout(&format!("        spec:\n          pools:\n{pools}"))
    )
}

#[test]
fn the_output_object_budget_stops_a_small_cluster_that_asks_for_a_huge_fleet() {
    let cluster = amplifying_cluster();
    assert!(cluster.len() < 16 << 10);
    let dir = scratch("amplify");
    let path = write(&dir, "big.yaml", cluster.as_bytes());
    // Its static objects alone exceed a budget of 2000...
    let run = multigres(&["render", &path, "--max-objects", "2000"], None);
    assert_refused(
        &run,
        "big.yaml:4:1: error[MG002]: the output would hold more than 2000 objects",
    );
    // ...and its runtime preview (256 000 Pods and as many PVCs) exceeds the
    // default budget.
    let run = multigres(&["render", &path, "--preview-runtime"], None);
    assert_refused(
        &run,
        "error[MG002]: the output would hold more than 50000 objects",
    );
}

/// Runs `multigres ARGS` in `dir` with extra environment, stdin closed. A
/// run still going after a minute is killed and fails the test: that guard
/// turns a hang (a named pipe opened for reading blocks forever) into a
/// failure instead of a stuck suite; it is not a measure of speed.
fn multigres_in(dir: &Path, args: &[&str], env: &[(&str, &std::ffi::OsStr)]) -> Run {
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};
    let mut child = Command::new(env!("CARGO_BIN_EXE_multigres"))
        .current_dir(dir)
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run multigres");
    let started = Instant::now();
    while child.try_wait().expect("wait for multigres").is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("multigres {args:?} hung");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let output = child.wait_with_output().expect("multigres ends");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A directory with the minimal example, for the Argo CD plugin and render.
fn minimal_app(name: &str) -> tempfile::TempDir {
    let dir = scratch(name);
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/minimal");
    for entry in std::fs::read_dir(example).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
    }
    dir
}

#[cfg(unix)]
fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo (coreutils)");
    assert!(status.success());
}

#[cfg(unix)]
#[test]
fn a_named_pipe_is_skipped_in_a_directory_and_refused_by_name() {
    let dir = minimal_app("fifo");
    mkfifo(&dir.path().join("pipe.yaml"));
    // In a directory: skipped with a note, the rest renders.
    let run = multigres_in(dir.path(), &["render", "."], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("kind: MultigresCluster"));
    assert!(
        run.stderr
            .contains("note: ./pipe.yaml: skipped: a named pipe, not a regular file"),
        "{}",
        run.stderr
    );
    // By name, for every command that reads inputs: refused.
    for args in [
        &["render", "pipe.yaml"][..],
        &["validate", "pipe.yaml"],
        &[
            "explain",
            "--field",
            "MultigresCluster/minimal",
            "pipe.yaml",
        ],
        &["render", "minimal.yaml", "--images-file", "pipe.yaml"],
        &["validate", "minimal.yaml", "--previous", "pipe.yaml"],
    ] {
        assert_refused(
            &multigres_in(dir.path(), args, &[]),
            "pipe.yaml: error[MG003]: a named pipe, not a regular file",
        );
    }
    // The Argo CD plugin reads its directory the same way.
    let run = multigres_in(dir.path(), &["argocd", "generate"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = multigres_in(
        dir.path(),
        &["argocd", "generate"],
        &[("ARGOCD_ENV_IMAGES_FILE", "pipe.yaml".as_ref())],
    );
    assert_refused(&run, "pipe.yaml: error[MG003]: a named pipe");
}

#[cfg(unix)]
#[test]
fn devices_are_never_read() {
    let dir = minimal_app("devices");
    for args in [
        &["render", ".", "--images-file", "/dev/zero"][..],
        &["render", "/dev/zero"],
        &["render", "/dev/urandom"],
    ] {
        assert_refused(
            &multigres_in(dir.path(), args, &[]),
            "error[MG003]: a device, not a regular file",
        );
    }
}

#[test]
fn the_images_file_is_charged_to_the_byte_budget() {
    let dir = minimal_app("images-budget");
    let big = format!("# {}\nmultiorch: r/o:1\n", "x".repeat(100_000));
    write(&dir, "images.txt", big.as_bytes());
    let run = multigres_in(
        dir.path(),
        &[
            "render",
            ".",
            "--images-file",
            "images.txt",
            "--max-input-bytes",
            "50000",
        ],
        &[],
    );
    assert_refused(
        &run,
        "images.txt: error[MG002]: the images file takes the inputs over the limit of 50000 bytes",
    );
}

#[cfg(unix)]
#[test]
fn plugin_variables_that_are_not_utf8_are_refused() {
    use std::os::unix::ffi::OsStrExt;
    let dir = minimal_app("argocd-env");
    let not_utf8 = std::ffi::OsStr::from_bytes(b"[\xff\xfe]");
    for variable in [
        "ARGOCD_APP_PARAMETERS",
        "ARGOCD_APP_NAMESPACE",
        "ARGOCD_ENV_TEMPLATES",
        "KUBE_VERSION",
    ] {
        let run = multigres_in(dir.path(), &["argocd", "generate"], &[(variable, not_utf8)]);
        assert_refused(
            &run,
            &format!("{variable}: error[MG021]: the variable's value is not UTF-8 text"),
        );
    }
}

#[test]
fn plugin_contract_errors_carry_a_code() {
    let dir = minimal_app("argocd-contract");
    for (variable, value, expected) in [
        (
            "ARGOCD_APP_NAMESPACE",
            "Bad_NS",
            "ARGOCD_APP_NAMESPACE: error[MG021]: \"Bad_NS\" is not a valid namespace name",
        ),
        (
            "ARGOCD_APP_NAMESPACE",
            &"a".repeat(64),
            "ARGOCD_APP_NAMESPACE: error[MG021]:",
        ),
        (
            "ARGOCD_APP_PARAMETERS",
            "[{\"name\": \"images\"",
            "ARGOCD_APP_PARAMETERS:1:18: error[MG021]: not a JSON array of parameters: EOF while parsing an object",
        ),
        (
            "ARGOCD_APP_PARAMETERS",
            "[{\"name\":\"images\",\"map\":{\"multiorc\":\"r/o:1\"}}]",
            "parameter images: error[MG020]: unknown component \"multiorc\"",
        ),
        (
            "ARGOCD_ENV_IMAGES_FILE",
            "../outside.yaml",
            "images file: error[MG021]: \"../outside.yaml\" must be relative",
        ),
        (
            "KUBE_VERSION",
            "1.28.3",
            "KUBE_VERSION: error[MG021]: the destination cluster runs Kubernetes 1.28",
        ),
        (
            "KUBE_VERSION",
            "garbage",
            "KUBE_VERSION: error[MG021]: \"garbage\" is not a Kubernetes version",
        ),
    ] {
        let run = multigres_in(
            dir.path(),
            &["argocd", "generate"],
            &[(variable, value.as_ref())],
        );
        assert_refused(&run, expected);
    }
}

#[test]
fn images_file_errors_name_the_file_line_and_code() {
    let dir = minimal_app("images-errors");
    for (text, expected) in [
        (
            "multiorc: r/o:1\n",
            "images.txt:1:1: error[MG020]: unknown component \"multiorc\"",
        ),
        (
            "multiorch: [a]\n",
            "images.txt:1:12: error[MG020]: the image of multiorch must be a string",
        ),
        (
            "multiorch: \"a b\"\n",
            "images.txt:1:12: error[MG020]: \"a b\" is not an image reference",
        ),
        (
            "multiorch: [\n",
            "images.txt:1:12: error[MG001]: unclosed bracket",
        ),
    ] {
        write(&dir, "images.txt", text.as_bytes());
        let run = multigres_in(
            dir.path(),
            &["render", ".", "--images-file", "images.txt"],
            &[],
        );
        assert_refused(&run, expected);
    }
    let run = multigres_in(dir.path(), &["render", ".", "--image", "postgres"], &[]);
    assert_refused(
        &run,
        "--image: error[MG020]: \"postgres\": expected COMPONENT=IMAGE",
    );
}

#[test]
fn a_huge_etcd_member_count_is_refused_before_anything_is_built() {
    let dir = minimal_app("etcd-replicas");
    for replicas in ["11", "10000001", "2147483647"] {
        let cluster = format!(
            "apiVersion: multigres.com/v1alpha1\nkind: MultigresCluster\nmetadata: {{name: c, namespace: d}}\n\
             spec:\n  postgresPasswordSecretRef: {{name: s, key: p}}\n  globalTopoServer:\n    etcd:\n      replicas: {replicas}\n  cells:\n  - {{name: a, zoneId: z}}\n"
        );
        write(&dir, "etcd.yaml", cluster.as_bytes());
        let run = multigres_in(dir.path(), &["render", "etcd.yaml"], &[]);
        assert_refused(
            &run,
            &format!(
                "etcd.yaml:8:17: error[MG016]: {replicas} is out of range: must be between 1 and 9"
            ),
        );
    }
}

#[test]
fn a_krm_output_dir_with_a_newline_is_refused() {
    let list = "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\n\
                functionConfig:\n  apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: f}\n  data:\n    outputDir: \"a\\nb\"\n";
    let run = multigres(&["krm"], Some(list.as_bytes().to_vec()));
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stdout.contains("outputDir") && run.stdout.contains("control characters"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("a\nb"), "{}", run.stdout);
}

/// A ShardTemplate whose multiorch affinity holds `bytes` bytes, used by
/// 20 table groups over 50 cells: each copy lands in a Shard and in a
/// multiorch Deployment per cell.
fn amplifying_template(bytes: usize) -> String {
    format!(
        "apiVersion: multigres.com/v1alpha1\nkind: ShardTemplate\nmetadata: {{name: big, namespace: d}}\n\
         spec:\n  multiorch:\n    affinity:\n      nodeAffinity:\n        requiredDuringSchedulingIgnoredDuringExecution:\n\
         \x20         nodeSelectorTerms:\n          - matchExpressions:\n            - {{key: k, operator: In, values: [\"{}\"]}}\n\
         ---\napiVersion: multigres.com/v1alpha1\nkind: MultigresCluster\nmetadata: {{name: amp, namespace: d}}\n\
         spec:\n  postgresPasswordSecretRef: {{name: s, key: p}}\n  templateDefaults: {{shardTemplate: big}}\n{}",
        "x".repeat(bytes),
        widest_layout("")
    )
}

#[test]
fn the_output_byte_budget_stops_a_template_copied_into_every_shard_and_cell() {
    // 64 KB of affinity, copied about a thousand times: some 64 MB of output.
    let dir = scratch("output-bytes");
    let path = write(&dir, "amp.yaml", amplifying_template(64 << 10).as_bytes());
    let run = multigres(&["render", &path, "--max-output-bytes", "16000000"], None);
    assert_refused(
        &run,
        "amp.yaml:16:1: error[MG002]: the output would be larger than 16000000 bytes",
    );
}

#[test]
fn no_object_may_be_larger_than_etcd_stores() {
    let dir = scratch("object-size");
    // An input object over 1.5 MiB is refused where it starts...
    let path = write(&dir, "big.yaml", amplifying_template(1600 << 10).as_bytes());
    assert_refused(
        &multigres(&["render", &path], None),
        "big.yaml:1:1: error[MG002]: ShardTemplate \"big\" is",
    );
    // ...and one that fits, copied into a larger generated object, is refused too.
    let near = amplifying_template(1500 << 10).replace(
        "  templateDefaults: {shardTemplate: big}\n",
        "  templateDefaults: {shardTemplate: big}\n  multiadmin:\n    spec:\n      podAnnotations: {a: b}\n",
    );
    let path = write(&dir, "near.yaml", near.as_bytes());
    let run = multigres(&["render", &path], None);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stdout.is_empty());
}
