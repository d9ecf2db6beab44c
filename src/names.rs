//! Deterministic child names, bit for bit as the upstream operator makes them
//! (upstream's `pkg/util/name`), so that an upstream-managed cluster can be adopted
//! without renaming anything.
//!
//! Every hashed name is `part-part-…-<8 hex>`: the parts are sanitised and
//! joined, the FNV-1a hash of the *original* parts is appended, and a name
//! that would be too long is cut and marked with `---` before the hash.

/// Length limit and first-character rule of one kind of Kubernetes name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameRule {
    pub max_len: usize,
    /// Whether the name may start with a digit (DNS-1123 subdomain) or must
    /// start with a letter (DNS-1035 label, as Services require).
    pub digit_first: bool,
}

/// Cell, TableGroup and Shard names; gateway and multiorch Deployments.
pub const DEFAULT: NameRule = NameRule {
    max_len: 253,
    digit_first: true,
};
/// Services, PodDisruptionBudgets, the shard backup PVC.
pub const SERVICE: NameRule = NameRule {
    max_len: 63,
    digit_first: false,
};
/// Managed local TopoServers (their StatefulSet adds a pod index and a
/// controller-revision hash, hence the shorter limit).
pub const STATEFUL_SET: NameRule = NameRule {
    max_len: 52,
    digit_first: false,
};
/// Pool pod base names (the replica index is appended afterwards).
pub const POD: NameRule = NameRule {
    max_len: 60,
    digit_first: false,
};

/// The length of `-` + 8 hex digits.
const HASH_SUFFIX_LEN: usize = 9;

/// FNV-1a 32 over each part followed by a NUL byte, as 8 lowercase hex digits.
/// The separator makes `["a-b", "c"]` and `["a", "b-c"]` hash differently.
pub fn hash(parts: &[&str]) -> String {
    const OFFSET_BASIS: u32 = 0x811c_9dc5;
    const PRIME: u32 = 0x0100_0193;
    let mut sum = OFFSET_BASIS;
    for part in parts {
        for byte in part.bytes().chain(std::iter::once(0)) {
            sum ^= u32::from(byte);
            sum = sum.wrapping_mul(PRIME);
        }
    }
    format!("{sum:08x}")
}

/// Joins `parts` into a name that satisfies `rule`, always ending in the hash
/// of the original parts (upstream `JoinWithConstraints`).
pub fn join(rule: NameRule, parts: &[&str]) -> String {
    if parts.is_empty() {
        return String::new();
    }
    let hash = hash(parts);
    let mut joined = String::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            joined.push('-');
        }
        let sanitised = sanitise(part);
        if i == 0 && !valid_first_char(sanitised.chars().next(), rule) {
            joined.push('x');
        }
        joined.push_str(&sanitised);
    }
    if joined.len() + HASH_SUFFIX_LEN <= rule.max_len {
        return format!("{joined}-{hash}");
    }
    // Cut so that `joined + "---" + hash` is exactly max_len. Sanitised names
    // are ASCII, so byte and character positions agree.
    let keep = rule.max_len - HASH_SUFFIX_LEN - 2;
    joined.truncate(keep);
    format!("{joined}---{hash}")
}

/// Lower-cases ASCII letters, keeps digits and `-`, and turns every other
/// character (`_`, `.`, spaces, anything non-ASCII) into `-`.
fn sanitise(part: &str) -> String {
    part.chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' | '-' => c,
            'A'..='Z' => c.to_ascii_lowercase(),
            _ => '-',
        })
        .collect()
}

fn valid_first_char(first: Option<char>, rule: NameRule) -> bool {
    match first {
        Some('a'..='z') => true,
        Some('0'..='9') => rule.digit_first,
        _ => false,
    }
}

/// Names of every child of one cluster, from its logical names.
#[derive(Debug, Clone, Copy)]
pub struct ClusterNames<'a> {
    pub cluster: &'a str,
    pub namespace: &'a str,
}

impl<'a> ClusterNames<'a> {
    pub fn new(cluster: &'a str, namespace: &'a str) -> Self {
        Self { cluster, namespace }
    }

    /// The global TopoServer, its StatefulSet and its client Service.
    pub fn global_topo(&self) -> String {
        format!("{}-global-topo", self.cluster)
    }

    /// Client address of the managed global topology server.
    pub fn global_topo_address(&self) -> String {
        format!("{}.{}.svc:2379", self.global_topo(), self.namespace)
    }

    pub fn multiadmin(&self) -> String {
        format!("{}-multiadmin", self.cluster)
    }

    pub fn multiadmin_web(&self) -> String {
        format!("{}-multiadmin-web", self.cluster)
    }

    pub fn global_gateway_service(&self) -> String {
        format!("{}-multigateway", self.cluster)
    }

    pub fn global_gateway_replica_service(&self) -> String {
        format!("{}-multigateway-replica", self.cluster)
    }

    pub fn cell(&self, cell: &str) -> String {
        join(DEFAULT, &[self.cluster, cell])
    }

    /// A cell's managed local TopoServer (also its StatefulSet and client Service).
    pub fn local_topo(&self, cell: &str) -> String {
        join(STATEFUL_SET, &[&self.cell(cell), "topo"])
    }

    pub fn gateway_deployment(&self, cell: &str) -> String {
        join(DEFAULT, &[self.cluster, cell, "multigateway"])
    }

    pub fn gateway_service(&self, cell: &str) -> String {
        join(SERVICE, &[self.cluster, cell, "multigateway"])
    }

    pub fn table_group(&self, database: &str, table_group: &str) -> String {
        join(DEFAULT, &[self.cluster, database, table_group])
    }

    pub fn shard(&self, shard: &ShardId<'_>) -> String {
        join(
            DEFAULT,
            &[self.cluster, shard.database, shard.table_group, shard.shard],
        )
    }

    pub fn multiorch_deployment(&self, shard: &ShardId<'_>, cell: &str) -> String {
        join(DEFAULT, &self.shard_parts(shard, &["multiorch", cell]))
    }

    pub fn multiorch_service(&self, shard: &ShardId<'_>, cell: &str) -> String {
        join(SERVICE, &self.shard_parts(shard, &["multiorch", cell]))
    }

    /// Base name of a pool's pods in one cell; pod `i` is `<base>-<i>`.
    pub fn pool_pod_base(&self, shard: &ShardId<'_>, pool: &str, cell: &str) -> String {
        join(POD, &self.shard_parts(shard, &["pool", pool, cell]))
    }

    pub fn pool_pod(&self, shard: &ShardId<'_>, pool: &str, cell: &str, index: u32) -> String {
        format!("{}-{index}", self.pool_pod_base(shard, pool, cell))
    }

    pub fn pool_data_pvc(&self, shard: &ShardId<'_>, pool: &str, cell: &str, index: u32) -> String {
        format!("data-{}", self.pool_pod(shard, pool, cell, index))
    }

    pub fn pool_headless_service(&self, shard: &ShardId<'_>, pool: &str, cell: &str) -> String {
        join(
            SERVICE,
            &self.shard_parts(shard, &["pool", pool, cell, "headless"]),
        )
    }

    pub fn pool_pdb(&self, shard: &ShardId<'_>, pool: &str, cell: &str) -> String {
        join(
            SERVICE,
            &self.shard_parts(shard, &["pool", pool, cell, "pdb"]),
        )
    }

    pub fn backup_pvc(&self, shard: &ShardId<'_>) -> String {
        join(
            SERVICE,
            &[
                "backup-data",
                self.cluster,
                shard.database,
                shard.table_group,
                shard.shard,
            ],
        )
    }

    fn shard_parts<'p>(&'p self, shard: &ShardId<'p>, tail: &[&'p str]) -> Vec<&'p str> {
        let mut parts = vec![self.cluster, shard.database, shard.table_group, shard.shard];
        parts.extend_from_slice(tail);
        parts
    }
}

/// The logical identity of a shard: database, table group, shard name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardId<'a> {
    pub database: &'a str,
    pub table_group: &'a str,
    pub shard: &'a str,
}

/// The multipooler service ID of a pool pod: `p-` + hash of the pod name.
pub fn pooler_service_id(pod_name: &str) -> String {
    format!("p-{}", hash(&[pod_name]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE_50: NameRule = NameRule {
        max_len: 50,
        digit_first: false,
    };

    #[test]
    fn hash_separates_parts() {
        assert_eq!(hash(&["a-b", "c"]), "f03bd84a");
        assert_eq!(hash(&["a", "b-c"]), "86d543be");
    }

    #[test]
    fn upstream_name_test_vectors() {
        assert_eq!(join(DEFAULT, &["hello", "world"]), "hello-world-344ce285");
        assert_eq!(
            join(DEFAULT, &["production", "mydb", "default"]),
            "production-mydb-default-5c6a71f9"
        );
        assert!(
            join(RULE_50, &["UpperCase-Letters", "Are-Lowercased"])
                .starts_with("uppercase-letters-are-lowercased-")
        );
        assert!(
            join(RULE_50, &["disallowed_symbols", "are.replaced"])
                .starts_with("disallowed-symbols-are-replaced-")
        );
        assert_eq!(
            join(RULE_50, &["-disallowed first chars", "-are prefixed"]),
            "x-disallowed-first-chars--are-prefixed-da7026e5"
        );
        let long = join(
            RULE_50,
            &["really-really-ridiculously-long-inputs-are-truncated"],
        );
        assert_eq!(long, "really-really-ridiculously-long-inputs----ff6dd618");
        assert_eq!(long.len(), 50);
    }

    #[test]
    fn minimal_sample_names() {
        let n = ClusterNames::new("minimal", "default");
        let shard = ShardId {
            database: "postgres",
            table_group: "default",
            shard: "0-inf",
        };
        assert_eq!(n.cell("zone-a"), "minimal-zone-a-96c88ae0");
        assert_eq!(
            n.table_group("postgres", "default"),
            "minimal-postgres-default-f7d4ad4a"
        );
        assert_eq!(n.shard(&shard), "minimal-postgres-default-0-inf-1e3c045c");
        assert_eq!(n.global_topo(), "minimal-global-topo");
        assert_eq!(
            n.global_topo_address(),
            "minimal-global-topo.default.svc:2379"
        );
        assert_eq!(
            n.gateway_deployment("zone-a"),
            "minimal-zone-a-multigateway-0ccc2e8b"
        );
        assert_eq!(
            n.gateway_service("zone-a"),
            "minimal-zone-a-multigateway-0ccc2e8b"
        );
        assert_eq!(
            n.multiorch_deployment(&shard, "zone-a"),
            "minimal-postgres-default-0-inf-multiorch-zone-a-bbe2a333"
        );
        assert_eq!(
            n.pool_pod(&shard, "default", "zone-a", 0),
            "minimal-postgres-default-0-inf-pool-default-zone-a-a3a0d77b-0"
        );
        assert_eq!(
            n.pool_data_pvc(&shard, "default", "zone-a", 0),
            "data-minimal-postgres-default-0-inf-pool-default-zone-a-a3a0d77b-0"
        );
        let headless = n.pool_headless_service(&shard, "default", "zone-a");
        assert_eq!(
            headless,
            "minimal-postgres-default-0-inf-pool-default-zone-a-h---22cdf02c"
        );
        assert_eq!(headless.len(), 63);
        let pdb = n.pool_pdb(&shard, "default", "zone-a");
        assert_eq!(
            pdb,
            "minimal-postgres-default-0-inf-pool-default-zone-a-pdb-6a4f8455"
        );
        assert_eq!(pdb.len(), 63);
        assert_eq!(
            n.backup_pvc(&shard),
            "backup-data-minimal-postgres-default-0-inf-811a09a5"
        );
        assert_eq!(
            n.local_topo("zone-a"),
            "minimal-zone-a-96c88ae0-topo-26e28848"
        );
        assert_eq!(
            pooler_service_id("minimal-postgres-default-0-inf-pool-default-zone-a-a3a0d77b-0"),
            "p-45f814aa"
        );
        assert_eq!(
            pooler_service_id("minimal-postgres-default-0-inf-pool-default-zone-a-a3a0d77b-1"),
            "p-6bfa8f13"
        );
    }

    #[test]
    fn templated_sample_names() {
        let n = ClusterNames::new("standard-ha-cluster", "default");
        let shard = ShardId {
            database: "postgres",
            table_group: "default",
            shard: "0-inf",
        };
        assert_eq!(n.cell("az1"), "standard-ha-cluster-az1-4955dd37");
        assert_eq!(n.cell("az2"), "standard-ha-cluster-az2-d74e6dfc");
        assert_eq!(
            n.table_group("postgres", "default"),
            "standard-ha-cluster-postgres-default-10b0d3d9"
        );
        assert_eq!(
            n.shard(&shard),
            "standard-ha-cluster-postgres-default-0-inf-27bb51b3"
        );
        assert_eq!(
            n.pool_pod_base(&shard, "main-app", "az1"),
            "standard-ha-cluster-postgres-default-0-inf-pool-m---69985446"
        );
        assert_eq!(
            n.pool_pod_base(&shard, "main-app", "az2"),
            "standard-ha-cluster-postgres-default-0-inf-pool-m---4395d9dd"
        );
        assert_eq!(
            n.multiorch_deployment(&shard, "az1"),
            "standard-ha-cluster-postgres-default-0-inf-multiorch-az1-bf51a75c"
        );
        assert_eq!(
            n.gateway_deployment("az1"),
            "standard-ha-cluster-az1-multigateway-c341f40a"
        );
    }

    #[test]
    fn longest_cluster_name() {
        let n = ClusterNames::new("production-analytics-east", "default");
        let shard = ShardId {
            database: "postgres",
            table_group: "default",
            shard: "0-inf",
        };
        let base = n.pool_pod_base(&shard, "main-app", "us-east-1a");
        assert_eq!(
            base,
            "production-analytics-east-postgres-default-0-inf----702eb6b5"
        );
        assert_eq!(base.len(), 60);
        assert_eq!(
            n.pool_data_pvc(&shard, "main-app", "us-east-1a", 0).len(),
            67
        );
        assert_eq!(
            n.cell("us-east-1a"),
            "production-analytics-east-us-east-1a-0a8d77c2"
        );
        assert_eq!(
            n.local_topo("us-east-1a"),
            "production-analytics-east-us-east-1a-0a8d---ea1d5c3c"
        );
        assert_eq!(
            n.multiorch_service(&shard, "us-east-1a"),
            "production-analytics-east-postgres-default-0-inf-mul---b12095ab"
        );
        assert_eq!(
            n.multiorch_deployment(&shard, "us-east-1a"),
            "production-analytics-east-postgres-default-0-inf-multiorch-us-east-1a-b12095ab"
        );
    }

    #[test]
    fn first_character_and_character_set() {
        let n = ClusterNames::new("9lives", "default");
        assert_eq!(
            n.gateway_deployment("zone-a"),
            "9lives-zone-a-multigateway-0ce816ea"
        );
        assert_eq!(
            n.gateway_service("zone-a"),
            "x9lives-zone-a-multigateway-0ce816ea"
        );
        assert_eq!(
            join(DEFAULT, &["My_Cluster", "Zone.A"]),
            "my-cluster-zone-a-fc396e77"
        );
        let inline = ClusterNames::new("inline", "default");
        let shard = ShardId {
            database: "postgres",
            table_group: "default",
            shard: "0-inf",
        };
        assert_eq!(inline.cell("z1"), "inline-z1-42ad6e9b");
        assert_eq!(
            inline.table_group("postgres", "default"),
            "inline-postgres-default-c1e5b08e"
        );
        assert_eq!(
            inline.shard(&shard),
            "inline-postgres-default-0-inf-6245c788"
        );
        assert_eq!(
            inline.pool_pod_base(&shard, "main", "z1"),
            "inline-postgres-default-0-inf-pool-main-z1-168f1440"
        );
    }

    #[test]
    fn non_ascii_parts_become_dashes_and_lengths_hold() {
        let name = join(SERVICE, &["Zürich", "ñ"]);
        assert!(name.starts_with("z-rich---"));
        for rule in [DEFAULT, SERVICE, STATEFUL_SET, POD] {
            for len in [0, 1, 10, 50, 60, 63, 200, 300] {
                let part = "ä".repeat(len);
                let name = join(rule, &[&part, "b"]);
                assert!(name.len() <= rule.max_len, "{name}");
                assert!(name.is_ascii());
            }
        }
        assert_eq!(join(DEFAULT, &[]), "");
        assert!(join(SERVICE, &["", "a"]).starts_with("x-a-"));
    }
}
