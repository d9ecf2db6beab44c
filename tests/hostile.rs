//! Hostile and accidental huge inputs: each budget of docs/limits.md ends the
//! run with an MG00x diagnostic, exit 2 and nothing on stdout. The tests
//! assert the budgets (bytes, alias expansion, depth, counts), never seconds:
//! seconds belong to the benchmark script (docs/performance.md).

use std::path::{Path, PathBuf};

#[path = "support/run.rs"]
mod run;

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

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("hostile")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
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
        &dir,
        "b.yaml",
        CONFIG_MAP.replace("name: x", "name: z").as_bytes(),
    );
    let dir = dir.display().to_string();
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

/// A 12 KB cluster with the schema's largest shape: 50 cells, 20 table
/// groups, 8 pools of 32 replicas each spread over every cell.
fn amplifying_cluster() -> String {
    let mut text = String::from(
        "apiVersion: multigres.com/v1alpha1\nkind: MultigresCluster\nmetadata: {name: big, namespace: d}\nspec:\n  postgresPasswordSecretRef: {name: s, key: p}\n  cells:\n",
    );
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
        text.push_str("      shards:\n      - name: 0-inf\n        spec:\n          pools:\n");
        for pool in 0..8 {
            text.push_str(&format!(
                "            p{pool}: {{type: readWrite, replicasPerCell: 32}}\n"
            ));
        }
    }
    text
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
