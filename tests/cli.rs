//! The command line as a user meets it: exit codes, stdout and stderr.

use crate::support::run;

fn multigres(args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    let run = run::multigres(args, stdin.map(|text| text.as_bytes().to_vec()));
    (run.code, run.stdout, run.stderr)
}

const MINIMAL: &str = "apiVersion: multigres.com/v1alpha1
kind: MultigresCluster
metadata:
  name: demo
spec:
  postgresPasswordSecretRef: {name: s, key: k}
  cells:
  - name: zone-a
    zoneId: z1
";

#[test]
fn render_reads_stdin_with_a_namespace() {
    let (code, stdout, stderr) = multigres(&["render", "-", "--namespace", "team"], Some(MINIMAL));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("name: demo-zone-a-"), "{stdout}");
    assert!(stdout.contains("address: demo-global-topo.team.svc:2379"));
    // The cluster itself gets the namespace, as `kubectl apply -n` would give
    // it: applied without one, it would land apart from its children.
    let cluster = stdout
        .split("---\n")
        .find(|doc| doc.contains("kind: MultigresCluster"))
        .expect("the input cluster");
    assert!(cluster.starts_with("apiVersion: multigres.com/v1alpha1\nkind: MultigresCluster\nmetadata:\n  name: demo\n  namespace: team\nspec:"), "{cluster}");
}

#[test]
fn namespace_flag_fills_namespaced_inputs_and_leaves_cluster_scoped_ones() {
    let input = format!(
        "{MINIMAL}---
apiVersion: v1
kind: Secret
metadata: {{name: s}}
stringData: {{k: pw}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {{name: reader}}
rules: []
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: kept, namespace: elsewhere}}
"
    );
    let (code, stdout, stderr) = multigres(&["render", "-", "-n", "team-a"], Some(&input));
    assert_eq!(code, 0, "{stderr}");
    let doc = |kind: &str| {
        stdout
            .split("---\n")
            .find(|doc| doc.contains(&format!("kind: {kind}\n")))
            .unwrap_or_else(|| panic!("no {kind} in {stdout}"))
            .to_owned()
    };
    assert!(doc("Secret").contains("  name: s\n  namespace: team-a\n"));
    assert!(
        !doc("ClusterRole").contains("namespace:"),
        "{}",
        doc("ClusterRole")
    );
    assert!(doc("ConfigMap").contains("namespace: elsewhere"));

    // --output-dir files the cluster under its namespace, as cli.md says.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("rendered");
    let out_arg = out.to_str().unwrap();
    let (code, _, stderr) = multigres(
        &["render", "-", "-n", "team-a", "--output-dir", out_arg],
        Some(&input),
    );
    assert_eq!(code, 0, "{stderr}");
    let cluster = std::fs::read_to_string(out.join("team-a/MultigresCluster/demo.yaml")).unwrap();
    assert!(cluster.contains("  namespace: team-a\n"), "{cluster}");
    assert!(out.join("_cluster/ClusterRole/reader.yaml").is_file());
}

#[test]
fn missing_namespace_is_an_error_with_nothing_on_stdout() {
    let (code, stdout, stderr) = multigres(&["render", "-"], Some(MINIMAL));
    assert_eq!(code, 2);
    assert!(stdout.is_empty());
    assert!(stderr.starts_with("-:3:1: error[MG006]:"), "{stderr}");
}

#[test]
fn yaml_syntax_errors_point_at_the_line() {
    let (code, stdout, stderr) = multigres(&["render", "-", "-n", "x"], Some("a: [1, 2\nb: {\n"));
    assert_eq!(code, 2);
    assert!(stdout.is_empty());
    assert!(stderr.contains(": error[MG001]:"), "{stderr}");
    assert!(stderr.starts_with("-:"), "{stderr}");
    assert!(
        stderr.contains("\n  hint: check the indentation"),
        "{stderr}"
    );
}

#[test]
fn a_typo_is_reported_before_the_errors_it_causes() {
    // `zoneID` leaves the cell without zoneId or region (MG111, on an
    // earlier line): the unknown field, the cause, comes first.
    let typo = MINIMAL.replace("    zoneId: z1\n", "    name2: x\n    zoneID: z1\n");
    let (code, _, stderr) = multigres(&["render", "-", "-n", "x"], Some(&typo));
    assert_eq!(code, 2);
    let codes: Vec<&str> = stderr
        .lines()
        .filter_map(|line| line.split("error[").nth(1))
        .map(|rest| &rest[..5])
        .collect();
    assert_eq!(codes, ["MG010", "MG010", "MG111"], "{stderr}");
}

#[test]
fn inputs_without_a_cluster_render_with_a_note() {
    let config_map = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: b\n";
    let (code, stdout, stderr) = multigres(&["render", "-"], Some(config_map));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, format!("---\n{config_map}"));
    assert!(
        stderr.contains("note: the inputs hold no MultigresCluster: nothing is generated"),
        "{stderr}"
    );
}

#[test]
fn json_output_is_a_list() {
    let (code, stdout, _) = multigres(&["render", "examples/minimal", "--format", "json"], None);
    assert_eq!(code, 0);
    let list: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(list["kind"], "List");
    // 2 inputs, 4 child resources, 19 workload objects (as upstream creates them).
    assert_eq!(list["items"].as_array().unwrap().len(), 25);
}

#[test]
fn rendering_a_render_changes_nothing() {
    let (_, first, _) = multigres(&["render", "examples/templated"], None);
    let (code, second, stderr) = multigres(&["render", "-"], Some(&first));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(first, second);
}

#[test]
fn images_come_from_flags_and_files_only() {
    let (code, stdout, _) = multigres(
        &[
            "render",
            "examples/minimal",
            "--image",
            "multiorch=registry.example/orch:1",
            "--images-file",
            "tests/data/images.yaml",
        ],
        None,
    );
    assert_eq!(code, 0);
    assert!(stdout.contains("multiorch: registry.example/orch:1"));
    assert!(stdout.contains("postgres: registry.example/pgctld:17"));
    let (code, stdout, stderr) = multigres(
        &["render", "examples/minimal", "--image", "multiorc=x"],
        None,
    );
    assert_eq!(code, 2);
    assert!(stdout.is_empty());
    assert!(stderr.contains("did you mean multiorch?"), "{stderr}");
}

#[test]
fn usage_errors_exit_2() {
    let (code, _, _) = multigres(&["render", "--no-such-flag"], None);
    assert_eq!(code, 2);
    let (code, _, stderr) = multigres(&["render", "does/not/exist.yaml"], None);
    assert_eq!(code, 2);
    assert!(
        stderr.starts_with("does/not/exist.yaml: error[MG003]: cannot read: "),
        "{stderr}"
    );
}

#[test]
fn crds_command_equals_the_crds_directory() {
    let (code, stdout, _) = multigres(&["crds"], None);
    assert_eq!(code, 0);
    let mut expected = String::new();
    for kind in multigres::api::Kind::ALL {
        let path = format!(
            "{}/crds/{}",
            env!("CARGO_MANIFEST_DIR"),
            multigres::api::crd::file_name(kind)
        );
        expected.push_str("---\n");
        expected.push_str(&std::fs::read_to_string(path).unwrap());
    }
    assert_eq!(stdout, expected);
    assert_eq!(stdout.matches("kind: CustomResourceDefinition").count(), 8);
}

#[test]
fn explain_names_the_layer_and_the_line() {
    let (code, stdout, stderr) = multigres(
        &[
            "explain",
            "examples/templated",
            "--field",
            "Shard/standard-ha-cluster-postgres-default-0-inf-27bb51b3:spec.pools.main-app.replicasPerCell",
        ],
        None,
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("spec.pools.main-app.replicasPerCell: 4"),
        "{stdout}"
    );
    assert!(
        stdout.contains("from: ShardTemplate \"standard-shard\" (named by spec.templateDefaults)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("at:   examples/templated/templates/shard.yaml:21:7"),
        "{stdout}"
    );

    let (_, stdout, _) = multigres(
        &[
            "explain",
            "examples/templated",
            "--field",
            "Shard/standard-ha-cluster-postgres-default-0-inf-27bb51b3:spec.pools.main-app.cells",
        ],
        None,
    );
    assert!(
        stdout.contains("from: overrides in the MultigresCluster"),
        "{stdout}"
    );
    assert!(
        stdout.contains("at:   examples/templated/templated-cluster.yaml:"),
        "{stdout}"
    );

    let (_, stdout, _) = multigres(
        &[
            "explain",
            "examples/minimal",
            "--field",
            "cell/minimal-zone-a-96c88ae0:spec.multigateway.replicas",
        ],
        None,
    );
    assert!(stdout.contains("from: built-in default"), "{stdout}");

    let (code, _, stderr) = multigres(
        &["explain", "examples/minimal", "--field", "Cell/nope:spec"],
        None,
    );
    assert_eq!(code, 2);
    assert!(
        stderr.contains("there is Cell/minimal-zone-a-96c88ae0"),
        "{stderr}"
    );
}

#[test]
fn validate_judges_updates_against_the_previous_version() {
    let (code, _, stderr) = multigres(
        &[
            "validate",
            "examples/minimal",
            "--previous",
            "examples/minimal",
        ],
        None,
    );
    assert_eq!(code, 0, "{stderr}");
}

/// Writes `text` to `dir/name` and returns the path.
fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// A previous version that does not load or admit is reported at its own
/// file, line and column, and fails: the update checks cannot be skipped
/// without a word.
#[test]
fn validate_fails_on_a_broken_previous_version() {
    let cases = [
        // Line 4 holds an unquoted ": " inside a value: not YAML.
        (
            "previous-syntax.yaml",
            MINIMAL.replace("  name: demo\n", "  name: demo: x\n"),
            "error[MG001]",
            ":4:",
        ),
        // Line 10 holds a field the schema does not know.
        (
            "previous-unknown-field.yaml",
            MINIMAL.replace("    zoneId: z1\n", "    zoneId: z1\n    zoneID: z2\n"),
            "error[MG010]",
            ":10:",
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    let current = write(&dir, "current.yaml", MINIMAL);
    for (name, text, code, line) in cases {
        let previous = write(&dir, name, &text);
        let (status, stdout, stderr) = multigres(
            &["validate", &current, "--previous", &previous, "-n", "team"],
            None,
        );
        assert_eq!(status, 2, "{name}: {stderr}");
        assert!(stdout.is_empty(), "{name}: {stdout}");
        assert!(stderr.contains(code), "{name}: {stderr}");
        assert!(
            stderr.contains(&format!("{}{line}", &previous)),
            "{name}: stderr names the previous file and line: {stderr}"
        );
        assert!(stderr.contains("previous version: "), "{name}: {stderr}");
        assert!(!stderr.contains("objects valid"), "{name}: {stderr}");
    }
}

#[test]
fn files_beside_the_clusters_that_are_no_objects_are_skipped_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let clusters = dir.path().join("clusters");
    std::fs::create_dir(&clusters).unwrap();
    std::fs::write(clusters.join("demo.yaml"), MINIMAL).unwrap();
    std::fs::write(
        clusters.join("images.yaml"),
        "postgres: example.com/pg:17\n",
    )
    .unwrap();
    std::fs::write(
        clusters.join("kustomization.yaml"),
        "resources: [demo.yaml]\n",
    )
    .unwrap();
    std::fs::write(clusters.join("Chart.yaml"), "name: demo\nversion: 0.1.0\n").unwrap();
    let clusters = clusters.display().to_string();
    let images = format!("{clusters}/images.yaml");

    let (code, stdout, stderr) = multigres(
        &["render", &clusters, "-n", "team", "--images-file", &images],
        None,
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("postgres: example.com/pg:17"),
        "the images file applies"
    );
    for note in [
        format!("note: {clusters}/images.yaml: skipped: read as the images file"),
        format!(
            "note: {clusters}/kustomization.yaml: skipped: a kustomization, not a Kubernetes object"
        ),
        format!(
            "note: {clusters}/Chart.yaml: skipped: a Helm chart's metadata, not a Kubernetes object"
        ),
    ] {
        assert!(stderr.contains(&note), "{note:?} in {stderr}");
    }

    // Not named as the images file, it is an input, and the error says what
    // it looks like.
    let (code, _, stderr) = multigres(&["render", &clusters, "-n", "team"], None);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("images.yaml:1:1: error[MG004]: object has no apiVersion\n  hint: this looks like an images file"),
        "{stderr}"
    );
}
