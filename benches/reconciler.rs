//! `multigres reconcile --mode full` against the test control plane
//! (testplane/): how long applied clusters take to converge, how many API
//! requests a reconcile costs, whether an idle or no-op reconciler writes,
//! and how much memory the process holds.
//!
//! ```sh
//! cargo bench --bench reconciler                    # 1 and 100 clusters
//! cargo bench --bench reconciler -- --clusters 10   # a smaller fleet
//! MULTIGRES_BENCH_TESTPLANE=DIR cargo bench --bench reconciler   # reuse `testplane/up DIR`
//! ```
//!
//! Phases, each with its own reconciler process (the release binary,
//! watching one fresh namespace, so nothing else on the control plane is
//! reconciled):
//!
//! 1. one cluster (the inputs of examples/minimal): resident memory with
//!    no cluster, then the time from the first apply until every object
//!    `multigres render` generates for it is live (listed by kind and name),
//!    then until its API requests stop for 5 s (its reconciles do not stop:
//!    what is not healthy is requeued every 30 s and read from the caches);
//! 2. the same for a fleet of `--clusters` (100) clusters of distinct names
//!    in a second namespace, and the memory once they converged;
//! 3. no-op, once the built-in controllers are done with the fleet's
//!    workloads (they create ReplicaSets and pods well after the reconciler
//!    converged; their statuses are real changes): a fresh full-mode
//!    reconciler over the converged fleet (every
//!    object is reconciled once more, nothing is to change), then 60
//!    seconds idle: neither may write (POST, PUT, PATCH, DELETE);
//! 4. the same fresh start in runtime mode, the baseline for requests per
//!    reconcile (it reads what full mode reads but writes only status).
//!
//! Requests per reconcile are deltas of `multigres_operator_api_requests_total`
//! over deltas of `multigres_operator_reconcile_total` (all five
//! controllers). The control plane runs without the simulated kubelet
//! (`testplane/up --no-kubelet`): no pod runs, so what is timed is the
//! reconciler's own work, not pods starting.
//!
//! Run without `--bench` (as `cargo test --all-targets` does), it only
//! checks its inputs, in a second and without a control plane: the fleet
//! renders to exactly `--clusters` times the objects of one cluster, with
//! no name shared, and the metrics reader sums what it should.

#[path = "support/machine.rs"]
mod machine;
#[path = "../tests/support/operator.rs"]
#[allow(dead_code, reason = "shared with the tests, which use more of it")]
mod operator;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::core::GroupVersionKind;
use kube::discovery::{ApiResource, Discovery};
use multigres::compile::{self, Input, Object, Options, Origin};
use serde_json::Value;

use operator::Operator;

/// The API request counter must stand still this long to call a phase done.
const QUIET: Duration = Duration::from_secs(5);
const IDLE: Duration = Duration::from_secs(60);
/// The built-in controllers are done with a namespace when its workloads
/// have not changed for this long.
const SETTLED: Duration = Duration::from_secs(10);
const CONVERGE_LIMIT: Duration = Duration::from_secs(900);
const WRITES: [&str; 4] = ["POST", "PUT", "PATCH", "DELETE"];
/// The test control plane's Service range (`testplane/up`: 10.0.0.0/16)
/// holds 65533 cluster IPs besides `kubernetes`; a minimal cluster takes 7.
/// Sizes that do not fit are refused before anything starts (the API
/// server would answer "range is full").
const SERVICE_IPS: usize = 65_533;
const DEFAULT_CLUSTERS: usize = 100;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

// ---------------------------------------------------------------- inputs

/// The inputs of examples/minimal for clusters `names` (its Secret once,
/// its cluster once per name), without `metadata.namespace`.
fn inputs(names: &[String]) -> Vec<Input> {
    let text = std::fs::read_to_string(repo().join("examples/minimal/minimal.yaml")).unwrap();
    let documents = compile::yaml::parse_stream(&text, &Default::default()).unwrap();
    let mut secret = None;
    let mut cluster = None;
    for document in documents.into_iter().filter(|d| !d.value.is_null()) {
        let mut value = document.value;
        value["metadata"]
            .as_object_mut()
            .unwrap()
            .remove("namespace");
        match value["kind"].as_str() {
            Some("Secret") => secret = Some(value),
            Some("MultigresCluster") => cluster = Some(value),
            other => panic!("examples/minimal holds a {other:?}"),
        }
    }
    let (secret, cluster) = (secret.unwrap(), cluster.unwrap());
    let mut inputs = vec![Input::new("secret.yaml", compile::emit::yaml(&secret))];
    for name in names {
        let mut cluster = cluster.clone();
        cluster["metadata"]["name"] = Value::from(name.as_str());
        inputs.push(Input::new(
            format!("{name}.yaml"),
            compile::emit::yaml(&cluster),
        ));
    }
    inputs
}

fn cluster_names(count: usize) -> Vec<String> {
    (0..count).map(|i| format!("bench-{i:03}")).collect()
}

/// What `multigres render --namespace NAMESPACE` gives for the clusters.
fn render(names: &[String], namespace: &str) -> Vec<Object> {
    let options = Options {
        namespace: Some(namespace.to_owned()),
        ..Default::default()
    };
    match compile::compile(&inputs(names), &options) {
        Ok(bundle) => bundle.objects,
        Err(diagnostics) => panic!("the benchmark's clusters do not render:\n{diagnostics}"),
    }
}

fn generated(objects: &[Object]) -> impl Iterator<Item = &Object> {
    objects
        .iter()
        .filter(|o| matches!(o.origin, Origin::Generated { .. }))
}

/// Generated objects by (apiVersion, kind): the names that must be live.
fn expected(objects: &[Object]) -> BTreeMap<(String, String), BTreeSet<String>> {
    let mut out: BTreeMap<_, BTreeSet<String>> = BTreeMap::new();
    for object in generated(objects) {
        out.entry((object.api_version.clone(), object.kind.clone()))
            .or_default()
            .insert(object.name.clone());
    }
    out
}

// --------------------------------------------------------------- metrics

/// The sum of every series of `name` (a counter's `_total`) whose labels
/// contain `label` (e.g. `verb="GET"`; empty for all).
fn sum(body: &str, name: &str, label: &str) -> f64 {
    body.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let rest = line.strip_prefix(name)?;
            let (labels, value) = match rest.strip_prefix('{') {
                Some(rest) => rest.split_once("} ")?,
                None => ("", rest.strip_prefix(' ')?),
            };
            labels
                .contains(label)
                .then(|| value.trim().parse::<f64>().ok())?
        })
        .sum()
}

/// The counters a phase is measured with, read at one moment.
#[derive(Debug, Clone, Copy, Default)]
struct Counters {
    requests: f64,
    writes: f64,
    reconciles: f64,
}

impl Counters {
    fn read(body: &str) -> Self {
        let requests = "multigres_operator_api_requests_total";
        Self {
            requests: sum(body, requests, ""),
            writes: WRITES
                .iter()
                .map(|verb| sum(body, requests, &format!("verb=\"{verb}\"")))
                .sum(),
            reconciles: sum(body, "multigres_operator_reconcile_total", ""),
        }
    }

    fn since(self, start: Self) -> Self {
        Self {
            requests: self.requests - start.requests,
            writes: self.writes - start.writes,
            reconciles: self.reconciles - start.reconciles,
        }
    }

    fn per_reconcile(self) -> f64 {
        self.requests / self.reconciles.max(1.0)
    }
}

fn counters(operator: &Operator) -> Counters {
    Counters::read(&operator.metrics())
}

/// Waits until the API request counter has not moved for [`QUIET`];
/// returns the counters then and when it last moved (so the quiet wait is
/// not counted).
fn wait_quiet(operator: &Operator, limit: Duration) -> (Counters, Instant) {
    let deadline = Instant::now() + limit;
    let mut last = counters(operator);
    let mut moved = Instant::now();
    while moved.elapsed() < QUIET {
        assert!(
            Instant::now() < deadline,
            "the reconciler did not settle in {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(250));
        let now = counters(operator);
        // Reconciles alone do not count: with many clusters the requeues of
        // what is not healthy (30 s, pods never run here) never pause, and
        // they read from the caches.
        if now.requests != last.requests {
            moved = Instant::now();
        }
        last = now;
    }
    (last, moved)
}

/// VmRSS of a process, in KiB.
fn resident_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

// --------------------------------------------------------- control plane

/// The control plane: started here (stopped at the end), or reused from
/// `MULTIGRES_BENCH_TESTPLANE`.
struct Plane {
    dir: PathBuf,
    ours: bool,
}

impl Plane {
    fn start() -> Self {
        if let Some(dir) = std::env::var_os("MULTIGRES_BENCH_TESTPLANE") {
            return Self {
                dir: dir.into(),
                ours: false,
            };
        }
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-reconciler-plane");
        let down = repo().join("testplane/down");
        let _ = Command::new(&down).arg(&dir).output();
        let _ = std::fs::remove_dir_all(&dir);
        let status = Command::new(repo().join("testplane/up"))
            .arg(&dir)
            .arg("--no-kubelet")
            .arg("--owner")
            .arg(std::process::id().to_string())
            .status()
            .expect("run testplane/up");
        assert!(status.success(), "testplane/up failed");
        Self { dir, ours: true }
    }

    fn kubeconfig(&self) -> PathBuf {
        self.dir.join("kubeconfig")
    }

    fn kubectl(&self, args: &[&str]) {
        let output = Command::new("kubectl")
            .env("KUBECONFIG", self.kubeconfig())
            .args(args)
            .output()
            .expect("run kubectl");
        assert!(
            output.status.success(),
            "kubectl {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn install_crds(&self) {
        let crds = repo().join("crds");
        self.kubectl(&["apply", "--server-side", "-f", crds.to_str().unwrap()]);
        self.kubectl(&[
            "wait",
            "--for",
            "condition=Established",
            "crd",
            "--all",
            "--timeout=120s",
        ]);
    }

    async fn client(&self) -> kube::Client {
        let kubeconfig = kube::config::Kubeconfig::read_from(self.kubeconfig()).unwrap();
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
            .await
            .unwrap();
        kube::Client::try_from(config).unwrap()
    }
}

impl Drop for Plane {
    fn drop(&mut self) {
        if self.ours {
            let _ = Command::new(repo().join("testplane/down"))
                .arg(&self.dir)
                .status();
        }
    }
}

fn resource(discovery: &Discovery, api_version: &str, kind: &str) -> ApiResource {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let gvk = GroupVersionKind::gvk(group, version, kind);
    discovery
        .resolve_gvk(&gvk)
        .unwrap_or_else(|| panic!("the API server does not serve {gvk:?}"))
        .0
}

async fn create_namespace(client: &kube::Client, name: &str) {
    let namespace: Namespace =
        serde_json::from_value(serde_json::json!({"metadata": {"name": name}})).unwrap();
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &namespace)
        .await
        .unwrap_or_else(|e| panic!("create namespace {name}: {e}"));
}

/// Server-side applies the inputs (cluster, Secret) as a user would.
async fn apply_inputs(client: &kube::Client, discovery: &Discovery, objects: &[Object]) {
    for object in objects
        .iter()
        .filter(|o| matches!(o.origin, Origin::Input(_)))
    {
        let resource = resource(discovery, &object.api_version, &object.kind);
        let api = Api::<kube::api::DynamicObject>::namespaced_with(
            client.clone(),
            object.namespace.as_deref().unwrap(),
            &resource,
        );
        api.patch(
            &object.name,
            &PatchParams::apply("bench").force(),
            &Patch::Apply(&object.value),
        )
        .await
        .unwrap_or_else(|e| panic!("apply {} {}: {e}", object.kind, object.name));
    }
}

/// How many of the expected objects are live (one list per kind, names only).
async fn live_count(
    client: &kube::Client,
    discovery: &Discovery,
    namespace: &str,
    expected: &BTreeMap<(String, String), BTreeSet<String>>,
) -> usize {
    let mut found = 0;
    for ((api_version, kind), names) in expected {
        let resource = resource(discovery, api_version, kind);
        let api =
            Api::<kube::api::DynamicObject>::namespaced_with(client.clone(), namespace, &resource);
        let Ok(list) = api.list_metadata(&ListParams::default()).await else {
            continue;
        };
        found += list
            .items
            .iter()
            .filter(|o| o.metadata.name.as_ref().is_some_and(|n| names.contains(n)))
            .count();
    }
    found
}

// ---------------------------------------------------------------- phases

/// One measured phase, for the table.
struct Row {
    phase: String,
    seconds: Option<f64>,
    counters: Counters,
    resident_kib: u64,
}

/// Applies `count` clusters in a fresh namespace under a fresh full-mode
/// reconciler: the memory before, the time to converge, the counters
/// until the reconciler settles. Returns the reconciler, still running.
async fn converge(
    plane: &Plane,
    client: &kube::Client,
    discovery: &Discovery,
    count: usize,
    rows: &mut Vec<Row>,
) -> (Operator, String) {
    let namespace = format!("bench-{count}-{}", std::process::id());
    create_namespace(client, &namespace).await;
    let objects = render(&cluster_names(count), &namespace);
    let expected = expected(&objects);
    let total: usize = expected.values().map(BTreeSet::len).sum();
    let operator = Operator::start(&plane.kubeconfig(), "full", &namespace, &[], &[]);
    let (idle, _) = wait_quiet(&operator, Duration::from_secs(60));
    rows.push(Row {
        phase: format!("full, idle, no cluster (before {count})"),
        seconds: None,
        counters: idle,
        resident_kib: resident_kib(operator.pid()),
    });
    let start = Instant::now();
    apply_inputs(client, discovery, &objects).await;
    let applied = start.elapsed();
    loop {
        let live = live_count(client, discovery, &namespace, &expected).await;
        if live == total {
            break;
        }
        assert!(
            start.elapsed() < CONVERGE_LIMIT,
            "{count} clusters: {live} of {total} objects live after {CONVERGE_LIMIT:?}; see {}",
            operator.log.display()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let converged = start.elapsed().as_secs_f64();
    let (settled, _) = wait_quiet(&operator, CONVERGE_LIMIT);
    eprintln!(
        "reconciler: {count} cluster(s), {total} objects live after {converged:.1} s \
         (applying the inputs took {:.1} s)",
        applied.as_secs_f64()
    );
    rows.push(Row {
        phase: format!("full, apply {count} cluster(s) to converged ({total} objects)"),
        seconds: Some(converged),
        counters: settled.since(idle),
        resident_kib: resident_kib(operator.pid()),
    });
    (operator, namespace)
}

/// A fresh reconciler of `mode` over converged clusters: its first pass
/// (every object reconciled once, nothing to change), counted from the
/// process start (so the informers' initial lists and watches are in).
fn restart(plane: &Plane, mode: &str, namespace: &str, rows: &mut Vec<Row>) -> Operator {
    let start = Instant::now();
    let operator = Operator::start(&plane.kubeconfig(), mode, namespace, &[], &[]);
    let (settled, moved) = wait_quiet(&operator, CONVERGE_LIMIT);
    rows.push(Row {
        phase: format!("{mode}, fresh start over the converged fleet (no-op)"),
        seconds: Some(moved.duration_since(start).as_secs_f64()),
        counters: settled,
        resident_kib: resident_kib(operator.pid()),
    });
    operator
}

fn machine() -> String {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    format!(
        "{}, load average {}",
        machine::cpu_and_cores(),
        load.join(" ")
    )
}

struct Settings {
    clusters: usize,
}

fn settings(args: &[String]) -> Settings {
    let mut settings = Settings {
        clusters: DEFAULT_CLUSTERS,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if arg == "--clusters" {
            settings.clusters = args
                .next()
                .and_then(|v| v.parse().ok())
                .expect("--clusters takes a number");
        }
    }
    settings
}

fn print(rows: &[Row]) {
    println!(
        "| phase | time | reconciles | API requests | requests / reconcile | writes | resident |"
    );
    println!("|---|---|---|---|---|---|---|");
    for row in rows {
        let c = row.counters;
        println!(
            "| {} | {} | {} | {} | {} | {} | {} |",
            row.phase,
            row.seconds.map_or("".into(), |s| format!("{s:.1} s")),
            count(c.reconciles),
            count(c.requests),
            if c.reconciles > 0.0 {
                format!("{:.2}", c.per_reconcile())
            } else {
                "".into()
            },
            count(c.writes),
            mib(row.resident_kib),
        );
    }
}

/// A counter delta as a whole number (a delta of zero may be -0.0).
fn count(delta: f64) -> String {
    format!("{:.0}", delta.abs())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let settings = settings(&args);
    if !args.iter().any(|a| a == "--bench") {
        self_check(settings.clusters);
        return;
    }
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
        .block_on(bench(settings.clusters));
}

async fn bench(clusters: usize) {
    let ips = |count: usize| {
        generated(&render(&cluster_names(count), "check"))
            .filter(|o| {
                o.kind == "Service"
                    && o.value.pointer("/spec/clusterIP") != Some(&Value::from("None"))
            })
            .count()
    };
    assert!(
        ips(1) + ips(clusters) <= SERVICE_IPS,
        "{clusters} clusters need {} cluster IPs; the test control plane has {SERVICE_IPS}",
        ips(1) + ips(clusters)
    );
    println!("machine at the start: {}", machine());
    let plane = Plane::start();
    plane.install_crds();
    let client = plane.client().await;
    let discovery = Discovery::new(client.clone()).run().await.unwrap();
    let mut rows = Vec::new();

    let (one, _) = converge(&plane, &client, &discovery, 1, &mut rows).await;
    drop(one);
    let (fleet, namespace) = converge(&plane, &client, &discovery, clusters, &mut rows).await;
    // The no-op phases need a world that stands still: the built-in
    // controllers still create ReplicaSets and pods for the fleet's
    // Deployments and StatefulSets, and each status they write is a real
    // change the reconciler follows (cells' and clusters' statuses).
    settle(&client, &namespace).await;
    wait_quiet(&fleet, CONVERGE_LIMIT);
    drop(fleet);

    let full = restart(&plane, "full", &namespace, &mut rows);
    let before = counters(&full);
    std::thread::sleep(IDLE);
    rows.push(Row {
        phase: format!("full, {} s idle after that", IDLE.as_secs()),
        seconds: Some(IDLE.as_secs_f64()),
        counters: counters(&full).since(before),
        resident_kib: resident_kib(full.pid()),
    });
    drop(full);
    let runtime = restart(&plane, "runtime", &namespace, &mut rows);
    drop(runtime);

    println!("machine at the end: {}", machine());
    println!();
    print(&rows);
    println!();
    let time = |i: usize| rows[i].seconds.unwrap_or(f64::NAN);
    let per = |i: usize| rows[i].counters.per_reconcile();
    println!(
        "converge time, {clusters} clusters / 1 cluster: {:.2} (linear would be {clusters})",
        time(3) / time(1)
    );
    println!(
        "requests per reconcile, full / runtime mode (fresh start, no-op): {:.2}",
        per(4) / per(6)
    );
    println!(
        "requests per reconcile, converging / no-op (full, {clusters} clusters): {:.2}",
        per(3) / per(4)
    );
    println!(
        "resident memory, {clusters} clusters converged / idle: {:.2}",
        rows[3].resident_kib as f64 / rows[2].resident_kib.max(1) as f64
    );
}

/// Waits until the namespace's Deployments, ReplicaSets and StatefulSets
/// have not changed for [`SETTLED`] (the built-in controllers are done).
async fn settle(client: &kube::Client, namespace: &str) {
    use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, StatefulSet};
    async fn versions<K>(client: &kube::Client, namespace: &str) -> BTreeSet<String>
    where
        K: kube::Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
            + Clone
            + serde::de::DeserializeOwned
            + std::fmt::Debug,
    {
        let api: Api<K> = Api::namespaced(client.clone(), namespace);
        let list = api.list(&ListParams::default()).await.unwrap();
        list.items
            .iter()
            .map(|o| {
                format!(
                    "{}/{:?}",
                    o.meta().name.clone().unwrap_or_default(),
                    o.meta().resource_version
                )
            })
            .collect()
    }
    let deadline = Instant::now() + CONVERGE_LIMIT;
    let mut last = BTreeSet::new();
    let mut changed = Instant::now();
    while changed.elapsed() < SETTLED {
        assert!(
            Instant::now() < deadline,
            "the control plane did not settle in {CONVERGE_LIMIT:?}"
        );
        let mut now = versions::<Deployment>(client, namespace).await;
        now.extend(versions::<ReplicaSet>(client, namespace).await);
        now.extend(versions::<StatefulSet>(client, namespace).await);
        if now != last {
            (last, changed) = (now, Instant::now());
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Without a control plane: the fleet is what the table says it is.
fn self_check(clusters: usize) {
    let one = render(&cluster_names(1), "check");
    let fleet = render(&cluster_names(clusters), "check");
    let per_cluster = generated(&one).count();
    let names: BTreeSet<(&str, &str)> = generated(&fleet)
        .map(|o| (o.kind.as_str(), o.name.as_str()))
        .collect();
    assert!(
        per_cluster > 10,
        "one cluster generates {per_cluster} objects"
    );
    assert_eq!(
        names.len(),
        clusters * per_cluster,
        "{clusters} clusters must generate {clusters} times the objects of one, all named apart"
    );
    let body = "# HELP x\nmultigres_operator_api_requests_total{verb=\"GET\"} 7\n\
                multigres_operator_api_requests_total{verb=\"PATCH\"} 2\n\
                multigres_operator_api_requests_total{verb=\"POST\"} 1\n\
                multigres_operator_reconcile_total{controller=\"cell\",result=\"success\"} 3\n\
                multigres_operator_reconcile_total{controller=\"shard\",result=\"error\"} 2\n\
                multigres_operator_reconcile_duration_seconds_sum{controller=\"cell\"} 9\n";
    let counters = Counters::read(body);
    assert_eq!(
        (counters.requests, counters.writes, counters.reconciles),
        (10.0, 3.0, 5.0)
    );
    println!(
        "reconciler: {clusters} clusters render {} objects ({per_cluster} each), named apart; \
         run `cargo bench --bench reconciler` to measure",
        names.len()
    );
}
