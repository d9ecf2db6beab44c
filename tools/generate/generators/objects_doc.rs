//! docs/objects.md: every object of `golden/minimal-runtime/render.yaml`
//! with what it is for.

use std::path::Path;

use super::File;

pub const PATH: &str = "docs/objects.md";
const SOURCE: &str = "golden/minimal-runtime/render.yaml";

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
pub fn files(root: &Path) -> Result<Vec<File>, String> {
    let text = std::fs::read_to_string(root.join(SOURCE))
        .map_err(|e| format!("cannot read {SOURCE}: {e}"))?;
    let docs = multigres::compile::yaml::parse_stream(&text, &Default::default())
        .map_err(|e| format!("{SOURCE}: {e:?}"))?;
    let mut out = String::from(
        "# Objects of a cluster\n\n\
         Every object `multigres render examples/minimal --preview-runtime` prints, in\n\
         output order, with what it is for. *Static* objects belong in Git and are\n\
         applied by a GitOps tool; *runtime* objects are created and owned by the\n\
         in-cluster reconciler and appear here only as a preview (marked\n\
         `config.kubernetes.io/local-config: \"true\"`, never applied).\n\n\
         This page is generated from `golden/minimal-runtime/render.yaml` by\n\
         `scripts/generate objects-doc`; do not edit it by hand.\n\n\
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
    Ok(vec![File::new(PATH, out)])
}
