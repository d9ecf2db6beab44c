//! Docs that must follow the code.

use multigres::api::rules;
use multigres::compile::diagnostics::CODES;
use multigres::compile::emit::KIND_ORDER;

fn doc(name: &str) -> String {
    std::fs::read_to_string(format!("{}/docs/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[test]
fn validation_doc_lists_every_code() {
    let text = doc("validation.md");
    for code in CODES {
        let row = format!(
            "| `{}` | {} | {} |",
            code.code,
            format!("{:?}", code.severity).to_lowercase(),
            code.summary
        );
        assert!(
            text.contains(&row),
            "docs/validation.md lacks the row {row}"
        );
    }
    for rule in rules::ALL {
        assert!(
            text.contains(&format!("| `{}` |", rule.code)),
            "docs/validation.md lacks {}",
            rule.code
        );
        assert!(
            text.contains(rule.message),
            "docs/validation.md lacks the message of {}",
            rule.code
        );
    }
}

#[test]
fn cli_doc_lists_the_kind_order() {
    let text = doc("cli.md");
    let listed = KIND_ORDER
        .iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ");
    assert!(
        text.contains(&listed),
        "docs/cli.md must list the kind order: {listed}"
    );
}

/// What an object of the rendered output is for, from its kind, component
/// label and name.
fn purpose(kind: &str, component: &str, name: &str, input: bool) -> &'static str {
    if input {
        return match kind {
            "MultigresCluster" => "The cluster, as written.",
            "Secret" => "The PostgreSQL superuser password the cluster references.",
            _ => "An input object, passed through unchanged.",
        };
    }
    match (kind, component) {
        ("TopoServer", "global-topo") => "The cluster's global topology server (managed etcd).",
        ("TopoServer", _) => "A cell's own topology server (managed etcd).",
        ("Cell", _) => "One cell: its gateway, its topology registration, every cell name.",
        ("TableGroup", _) => "One table group of a database, with its resolved shards.",
        ("Shard", _) => {
            "One shard: its orchestrators, pools and PostgreSQL settings, fully resolved."
        }
        ("StatefulSet", _) => {
            "The etcd members of a TopoServer (static bootstrap, one volume each)."
        }
        ("Service", "toposerver") if name.ends_with("-headless") => {
            "Stable DNS names of the etcd members, for peers and bootstrap."
        }
        ("Service", "toposerver") => "Client endpoint of the topology server (port 2379).",
        ("Deployment", "multiadmin") => "The admin API (multiadmin).",
        ("Service", "multiadmin") => "Endpoint of the admin API (HTTP 18000, gRPC 18070).",
        ("Deployment", "multiadmin-web") => "The admin web UI.",
        ("Service", "multiadmin-web") => "Endpoint of the admin web UI (HTTP 18100).",
        ("Service", "multigateway") if name.ends_with("-multigateway-replica") => {
            "Read endpoint of the cluster: every cell's gateways (port 5433)."
        }
        ("Service", "multigateway") if !name.ends_with(|c: char| c.is_ascii_hexdigit()) => {
            "PostgreSQL endpoint of the cluster: every cell's gateways (port 5432)."
        }
        ("Deployment", "multigateway") => {
            "A cell's gateways: the PostgreSQL front end that routes queries to shards."
        }
        ("Service", "multigateway") => "Endpoint of one cell's gateways.",
        ("Deployment", "multiorch") => {
            "A shard's orchestrator in one cell: health checks, failover, switchover."
        }
        ("Service", "multiorch") => "Endpoint of a shard's orchestrator in one cell.",
        ("ConfigMap", "pg-hba-config") => "The pg_hba.conf template pgctld uses.",
        ("ConfigMap", "postgres-config") => {
            "The shard's postgresql.conf, sized from its pools' resources."
        }
        ("ConfigMap", "postgres-exporter-queries") => "Extra queries of the postgres exporter.",
        ("PersistentVolumeClaim", _) if name.starts_with("backup-data-") => {
            "The shard's filesystem backup volume (pgBackRest repository)."
        }
        ("PersistentVolumeClaim", _) => {
            "The data volume of one pool pod (runtime: the reconciler creates it)."
        }
        ("PodDisruptionBudget", _) => "At most one pod of a pool in a cell down at a time.",
        ("Service", "shard-pool") => "DNS names of a pool's pods in one cell (their subdomain).",
        ("Pod", _) => {
            "A pool member: pgctld with PostgreSQL, the multipooler, the exporter (runtime: the reconciler creates it)."
        }
        ("Certificate", _) => {
            "A cert-manager certificate for internal mTLS or the gateway's public TLS."
        }
        _ => "Generated.",
    }
}

/// docs/objects.md, from golden/minimal-runtime/render.yaml.
fn objects_doc() -> String {
    let path = format!(
        "{}/golden/minimal-runtime/render.yaml",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(path).unwrap();
    let docs = multigres::compile::yaml::parse_stream(&text, &Default::default()).unwrap();
    let mut out = String::from(
        "# Objects of a cluster\n\n\
         Every object `multigres render examples/minimal --preview-runtime` prints, in\n\
         output order, with what it is for. *Static* objects belong in Git and are\n\
         applied by a GitOps tool; *runtime* objects are created and owned by the\n\
         in-cluster reconciler and appear here only as a preview (marked\n\
         `config.kubernetes.io/local-config: \"true\"`, never applied).\n\n\
         This page is generated from `golden/minimal-runtime/render.yaml` by\n\
         `MULTIGRES_BLESS=1 cargo test --release --test suite docs::`; do not edit it by hand.\n\n\
         | # | Kind | Name | Class | Purpose |\n|---|---|---|---|---|\n",
    );
    for (i, doc) in docs.iter().enumerate() {
        let v = &doc.value;
        let kind = v["kind"].as_str().unwrap_or("");
        let name = v["metadata"]["name"].as_str().unwrap_or("");
        let labels = &v["metadata"]["labels"];
        let component = labels["app.kubernetes.io/component"].as_str().unwrap_or("");
        let generated = labels["app.kubernetes.io/managed-by"] == "multigres-operator";
        let runtime = v["metadata"]["annotations"]["config.kubernetes.io/local-config"] == "true";
        let class = if !generated {
            "input"
        } else if runtime {
            "runtime"
        } else {
            "static"
        };
        out.push_str(&format!(
            "| {} | {kind} | `{name}` | {class} | {} |\n",
            i + 1,
            purpose(kind, component, name, !generated)
        ));
    }
    out
}

#[test]
fn objects_doc_is_generated_from_the_golden_file() {
    let path = format!("{}/docs/objects.md", env!("CARGO_MANIFEST_DIR"));
    let generated = objects_doc();
    if std::env::var_os("MULTIGRES_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/objects.md is stale: run `MULTIGRES_BLESS=1 cargo test --release --test suite docs::`"
    );
}

#[test]
fn limits_doc_states_the_defaults_of_the_code() {
    let text = doc("limits.md");
    let limits = multigres::compile::InputLimits::default();
    for (budget, value) in [
        ("Bytes read, over all inputs", limits.max_input_bytes),
        ("Objects in the inputs", limits.max_objects),
        ("Nesting depth", limits.yaml.max_depth),
        (
            "Nodes produced by alias expansion",
            limits.yaml.max_alias_nodes,
        ),
        ("Nodes per input", limits.yaml.max_nodes),
        ("Documents per input", limits.yaml.max_documents),
    ] {
        let row = text
            .lines()
            .find(|line| line.starts_with(&format!("| {budget}")))
            .unwrap_or_else(|| panic!("docs/limits.md has no row for {budget:?}"));
        assert!(
            row.contains(&format!("| {value}")),
            "docs/limits.md states another default for {budget:?} than {value}: {row}"
        );
    }
}

/// A heading's anchor as GitHub makes it: lower case, punctuation dropped,
/// spaces turned into hyphens.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors of a markdown file's headings (outside code blocks).
fn anchors(text: &str) -> Vec<String> {
    let mut in_code = false;
    let mut found = Vec::new();
    for line in text.lines() {
        if line.starts_with("```") {
            in_code = !in_code;
        } else if !in_code && line.starts_with('#') {
            found.push(anchor(line.trim_start_matches('#')));
        }
    }
    found
}

#[test]
fn links_between_docs_resolve() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let link = regex::Regex::new(r"\]\(([^)\s]+)\)").unwrap();
    let mut files = vec![root.join("README.md")];
    for entry in std::fs::read_dir(root.join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            files.push(path);
        }
    }
    let mut checked = 0;
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for target in link.captures_iter(&text).map(|c| c[1].to_owned()) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (path, fragment) = target.split_once('#').unwrap_or((&target, ""));
            let linked = if path.is_empty() {
                file.clone()
            } else {
                file.parent().unwrap().join(path)
            };
            assert!(
                linked.exists(),
                "{}: link to {target}: no such file",
                file.display()
            );
            if !fragment.is_empty() {
                let text = std::fs::read_to_string(&linked).unwrap();
                assert!(
                    anchors(&text).iter().any(|a| a == fragment),
                    "{}: link to {target}: no such heading",
                    file.display()
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 20, "only {checked} links found");
}
