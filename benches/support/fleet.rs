//! Generated fleets for the benchmarks: N clusters of three cells each,
//! ten clusters per namespace sharing that namespace's templates, as a
//! platform team's repository would hold them.

/// One input file: its path relative to the fleet's root, and its text.
pub struct FleetFile {
    pub path: String,
    pub text: String,
}

const CLUSTERS_PER_NAMESPACE: usize = 10;

/// The files of a fleet of `clusters` clusters.
pub fn fleet(clusters: usize) -> Vec<FleetFile> {
    let mut files = Vec::new();
    for index in 0..clusters {
        let namespace = format!("team-{:03}", index / CLUSTERS_PER_NAMESPACE);
        if index.is_multiple_of(CLUSTERS_PER_NAMESPACE) {
            files.push(FleetFile {
                path: format!("{namespace}/templates.yaml"),
                text: templates(&namespace),
            });
        }
        let name = format!("db-{index:04}");
        files.push(FleetFile {
            path: format!("{namespace}/{name}.yaml"),
            text: cluster(&namespace, &name, index),
        });
    }
    files
}

fn templates(namespace: &str) -> String {
    format!(
        r#"apiVersion: multigres.com/v1alpha1
kind: CoreTemplate
metadata:
  name: standard-core
  namespace: {namespace}
spec:
  globalTopoServer:
    etcd:
      replicas: 3
      storage:
        size: 10Gi
      resources:
        requests: {{cpu: 100m, memory: 128Mi}}
        limits: {{cpu: 200m, memory: 256Mi}}
  multiadmin:
    replicas: 2
---
apiVersion: multigres.com/v1alpha1
kind: CellTemplate
metadata:
  name: standard-cell
  namespace: {namespace}
spec:
  multigateway:
    replicas: 2
    resources:
      requests: {{cpu: 100m, memory: 128Mi}}
      limits: {{cpu: 200m, memory: 256Mi}}
---
apiVersion: multigres.com/v1alpha1
kind: ShardTemplate
metadata:
  name: standard-shard
  namespace: {namespace}
spec:
  multiorch:
    resources:
      requests: {{cpu: 100m, memory: 128Mi}}
  postgresConfig:
    log_min_duration_statement: "500"
  pools:
    main:
      type: readWrite
      replicasPerCell: 2
      storage:
        size: 50Gi
      postgres:
        resources:
          requests: {{cpu: 500m, memory: 1Gi}}
          limits: {{cpu: "1", memory: 2Gi}}
"#
    )
}

/// A cluster over three zones. Every third one overrides a setting, as
/// real fleets drift from their templates.
fn cluster(namespace: &str, name: &str, index: usize) -> String {
    let overrides = if index.is_multiple_of(3) {
        "\n              overrides:\n                postgresConfig:\n                  work_mem: 16MB"
    } else {
        ""
    };
    format!(
        r#"apiVersion: v1
kind: Secret
metadata:
  name: {name}-admin
  namespace: {namespace}
type: Opaque
stringData:
  password: change-me
---
apiVersion: multigres.com/v1alpha1
kind: MultigresCluster
metadata:
  name: {name}
  namespace: {namespace}
spec:
  postgresPasswordSecretRef:
    name: {name}-admin
    key: password
  templateDefaults:
    coreTemplate: standard-core
    cellTemplate: standard-cell
    shardTemplate: standard-shard
  cells:
    - name: zone-a
      zoneId: use1-az1
    - name: zone-b
      zoneId: use1-az2
    - name: zone-c
      zoneId: use1-az3
  databases:
    - name: postgres
      default: true
      tablegroups:
        - name: default
          default: true
          shards:
            - name: 0-inf{overrides}
"#
    )
}
