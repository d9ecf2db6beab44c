//! A simulated kubelet (and scheduler, and volume provisioner) for the test
//! control plane: the one fake of the test suite. The control plane of
//! `testplane/up` is real (API server, etcd, controller manager) but has no
//! scheduler and no kubelet, so nothing would ever run a pod. [`Kubelet`]
//! fills that gap the way the real components would, seen from the API:
//!
//! - registers Nodes (labels with zone and region, Ready, allocatable);
//! - binds unscheduled pods to a Node matching their nodeSelector and
//!   required node affinity (the `pods/binding` subresource, as the
//!   scheduler does), then reports them Running and Ready;
//! - keeps a pod Pending with a `FailedMount` Event while a Secret,
//!   ConfigMap or PersistentVolumeClaim it mounts is missing (or the claim
//!   is not Bound);
//! - removes deleted pods after their grace period (capped, so tests stay
//!   fast), unless they have finalizers;
//! - provisions a PersistentVolume for each pending claim and reports
//!   resizes of claims whose StorageClass allows expansion.
//!
//! It is level-triggered: every round lists what it manages and moves each
//! object one step towards where a real node would take it. A watch on pods
//! starts a round at once; otherwise a round runs every 200 ms, which is also
//! how it notices that a missing Secret appeared.
//!
//! Tests steer single pods with [`Kubelet::crash_loop`],
//! [`Kubelet::not_ready`], [`Kubelet::hold`] and friends, and wait on
//! conditions with [`wait_for`], never with sleeps.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::{
    Binding, ConfigMap, ContainerState, ContainerStateRunning, ContainerStateTerminated,
    ContainerStateWaiting, ContainerStatus, Event, EventSource, Node, NodeSelectorRequirement,
    NodeSelectorTerm, ObjectReference, PersistentVolume, PersistentVolumeClaim,
    PersistentVolumeClaimCondition, Pod, PodCondition, PodIP, PodStatus, Secret,
};
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use kube::api::{
    DeleteParams, EvictParams, ListParams, Patch, PatchParams, PostParams, Preconditions,
};
use kube::runtime::watcher;
use kube::{Api, Client, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// The field manager of every write, so `managedFields` say who wrote what.
const MANAGER: &str = "testplane-kubelet";
/// Marks the PersistentVolumes this simulator provisioned (it deletes only those).
const PROVISIONED_LABEL: &str = "testplane.multigres.io/provisioned";
/// How often a round runs when no pod changed.
const POLL: Duration = Duration::from_millis(200);
/// How long a crash-looping container stays up between restarts.
const CRASH_PERIOD: Duration = Duration::from_secs(1);

/// One Node to register.
#[derive(Clone, Debug)]
pub struct NodeSpec {
    pub name: String,
    pub region: String,
    pub zone: String,
    /// Labels beyond the well-known ones (hostname, os, arch, region, zone).
    pub labels: BTreeMap<String, String>,
    pub cpu: String,
    pub memory: String,
    pub pods: String,
}

impl NodeSpec {
    /// A node of 8 CPUs, 32 GiB and 110 pods in `region`/`zone`.
    pub fn new(
        name: impl Into<String>,
        region: impl Into<String>,
        zone: impl Into<String>,
    ) -> Self {
        NodeSpec {
            name: name.into(),
            region: region.into(),
            zone: zone.into(),
            labels: BTreeMap::new(),
            cpu: "8".into(),
            memory: "32Gi".into(),
            pods: "110".into(),
        }
    }

    #[allow(dead_code)] // steering API for the tests to come
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }

    fn all_labels(&self) -> BTreeMap<String, String> {
        let mut labels = BTreeMap::from([
            ("kubernetes.io/hostname".to_owned(), self.name.clone()),
            ("kubernetes.io/os".to_owned(), "linux".to_owned()),
            ("kubernetes.io/arch".to_owned(), "amd64".to_owned()),
            (
                "topology.kubernetes.io/region".to_owned(),
                self.region.clone(),
            ),
            ("topology.kubernetes.io/zone".to_owned(), self.zone.clone()),
        ]);
        labels.extend(self.labels.clone());
        labels
    }
}

/// What the simulator manages and how fast it lets pods go.
#[derive(Clone, Debug)]
pub struct Options {
    /// Only pods and claims of this namespace; `None` for the whole cluster.
    /// Several kubelets can share a control plane when each has its own
    /// namespace (and its own node names).
    pub namespace: Option<String>,
    /// The longest a deleted pod waits before it is removed, whatever its
    /// terminationGracePeriodSeconds (30 s by default would slow tests).
    pub max_grace: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            namespace: None,
            max_grace: Duration::from_secs(2),
        }
    }
}

/// How a test asked one pod to behave.
#[derive(Clone, Copy, Debug)]
enum Steer {
    /// Stays Pending: not bound, or bound but not started.
    Hold,
    /// Its containers keep crashing since that instant.
    CrashLoop(Instant),
    /// Running, but its containers fail their readiness probes.
    NotReady,
}

type PodKey = (String, String);

/// State shared by the task and the steering methods.
struct Shared {
    api: Client,
    options: Options,
    nodes: Vec<NodeSpec>,
    steer: Mutex<HashMap<PodKey, Steer>>,
    /// Deletion delays a test asked for (`terminate_slowly`).
    slow: Mutex<HashMap<PodKey, Duration>>,
    /// Pods (by uid) whose removal is already under way.
    removing: Mutex<HashSet<String>>,
    /// Events already recorded, so a pod waiting for a Secret gets one
    /// Event rather than one every round.
    events: Mutex<HashSet<(String, String, String)>>,
    wake: Notify,
}

/// The running simulator. Dropping it (or [`Kubelet::stop`]) stops it;
/// the Nodes and pods it left stay, as after a real node went away.
pub struct Kubelet {
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

impl Kubelet {
    /// Registers `nodes` and starts simulating them for the whole cluster.
    #[allow(dead_code)] // steering API for the tests to come
    pub async fn start(client: Client, nodes: &[NodeSpec]) -> Kubelet {
        Self::start_with(client, nodes, Options::default()).await
    }

    /// Registers `nodes` and starts simulating them with `options`.
    /// Panics if a Node cannot be registered (a test cannot go on).
    pub async fn start_with(client: Client, nodes: &[NodeSpec], options: Options) -> Kubelet {
        for (index, node) in nodes.iter().enumerate() {
            register_node(&client, node, index)
                .await
                .unwrap_or_else(|e| panic!("registering Node {}: {e}", node.name));
        }
        let shared = Arc::new(Shared {
            api: client,
            options,
            nodes: nodes.to_vec(),
            steer: Mutex::default(),
            slow: Mutex::default(),
            removing: Mutex::default(),
            events: Mutex::default(),
            wake: Notify::new(),
        });
        let tasks = vec![
            tokio::spawn(watch_pods(shared.clone())),
            tokio::spawn(run(shared.clone())),
        ];
        Kubelet { shared, tasks }
    }

    /// Stops simulating (Nodes and pods stay as they are).
    pub fn stop(&mut self) {
        for task in self.tasks.drain(..) {
            task.abort();
        }
    }

    /// Keeps the pod Pending (unbound, or not started) until [`Kubelet::release`].
    /// May be called before the pod exists.
    pub fn hold(&self, namespace: &str, pod: &str) {
        self.set(namespace, pod, Some(Steer::Hold));
    }

    /// Lets a held pod go on.
    pub fn release(&self, namespace: &str, pod: &str) {
        self.set(namespace, pod, None);
    }

    /// The pod's containers crash from now on: restartCount climbs, they wait
    /// in CrashLoopBackOff, the pod is not Ready.
    pub fn crash_loop(&self, namespace: &str, pod: &str) {
        self.set(namespace, pod, Some(Steer::CrashLoop(Instant::now())));
    }

    /// The pod's containers run but are not ready (a failing readiness probe).
    pub fn not_ready(&self, namespace: &str, pod: &str) {
        self.set(namespace, pod, Some(Steer::NotReady));
    }

    /// Undoes [`Kubelet::crash_loop`] and [`Kubelet::not_ready`]: the pod runs and is Ready.
    pub fn ready(&self, namespace: &str, pod: &str) {
        self.set(namespace, pod, None);
    }

    /// When deleted, the pod takes `delay` to go away (instead of its grace
    /// period capped at [`Options::max_grace`]).
    #[allow(dead_code)] // steering API for the tests to come
    pub fn terminate_slowly(&self, namespace: &str, pod: &str, delay: Duration) {
        let key = (namespace.to_owned(), pod.to_owned());
        self.shared.slow.lock().unwrap().insert(key, delay);
    }

    /// Evicts the pod through the `pods/eviction` subresource, as `kubectl
    /// drain` does: the API server refuses (429) when a PodDisruptionBudget
    /// does not allow it, and that error is returned (at once with the
    /// clients of tests/support/testplane.rs; a client with kube's default
    /// retry policy tries a 429 again for minutes first).
    pub async fn evict(&self, namespace: &str, pod: &str) -> Result<(), kube::Error> {
        let pods: Api<Pod> = Api::namespaced(self.shared.api.clone(), namespace);
        pods.evict(pod, &EvictParams::default()).await.map(|_| ())
    }

    fn set(&self, namespace: &str, pod: &str, steer: Option<Steer>) {
        let key = (namespace.to_owned(), pod.to_owned());
        let mut map = self.shared.steer.lock().unwrap();
        match steer {
            Some(steer) => map.insert(key, steer),
            None => map.remove(&key),
        };
        drop(map);
        self.shared.wake.notify_one();
    }
}

impl Drop for Kubelet {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The error of [`wait_for`]: what was awaited and the object as last seen.
pub struct WaitError(String);

impl fmt::Display for WaitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

// Debug as Display: `.unwrap()` in a test then prints the last state readably.
impl fmt::Debug for WaitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Waits (on a watch) until `predicate` holds for the object `name` of
/// `api`, and returns it; after `timeout`, an error with the object as it
/// last was (or that it does not exist).
pub async fn wait_for<K>(
    api: &Api<K>,
    name: &str,
    predicate: impl Fn(&K) -> bool,
    timeout: Duration,
) -> Result<K, WaitError>
where
    K: Resource<DynamicType = ()>
        + Clone
        + fmt::Debug
        + Serialize
        + DeserializeOwned
        + Send
        + 'static,
{
    let condition = |object: Option<&K>| object.is_some_and(&predicate);
    let waited = tokio::time::timeout(
        timeout,
        kube::runtime::wait::await_condition(api.clone(), name, condition),
    )
    .await;
    let kind = K::kind(&()).into_owned();
    match waited {
        Ok(Ok(Some(object))) => Ok(object),
        Ok(Ok(None)) => Err(WaitError(format!(
            "{kind} {name} was deleted while waiting"
        ))),
        Ok(Err(e)) => Err(WaitError(format!("watching {kind} {name}: {e}"))),
        Err(_) => {
            let last = match api.get_opt(name).await {
                Ok(Some(object)) => serde_json::to_string_pretty(&object).unwrap_or_default(),
                Ok(None) => "it does not exist".to_owned(),
                Err(e) => format!("reading it failed: {e}"),
            };
            Err(WaitError(format!(
                "{kind} {name}: condition not met after {timeout:?}; last state:\n{last}"
            )))
        }
    }
}

/// Creates or updates the Node, then reports it Ready.
async fn register_node(client: &Client, spec: &NodeSpec, index: usize) -> kube::Result<()> {
    let nodes: Api<Node> = Api::all(client.clone());
    let params = PatchParams::apply(MANAGER).force();
    let node = json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": spec.name, "labels": spec.all_labels()},
    });
    nodes
        .patch(&spec.name, &params, &Patch::Apply(node))
        .await?;
    let now = now();
    let status = json!({
        "apiVersion": "v1",
        "kind": "Node",
        "status": {
            "capacity": {"cpu": spec.cpu, "memory": spec.memory, "pods": spec.pods},
            "allocatable": {"cpu": spec.cpu, "memory": spec.memory, "pods": spec.pods},
            "addresses": [
                {"type": "InternalIP", "address": node_ip(index)},
                {"type": "Hostname", "address": spec.name},
            ],
            "conditions": [{
                "type": "Ready", "status": "True", "reason": "KubeletReady",
                "message": "kubelet is posting ready status (simulated)",
                "lastHeartbeatTime": now, "lastTransitionTime": now,
            }],
            "nodeInfo": {
                "architecture": "amd64", "operatingSystem": "linux",
                "kubeletVersion": "v1.34.4", "kubeProxyVersion": "v1.34.4",
                "containerRuntimeVersion": "containerd://simulated",
                "bootID": "", "machineID": "", "systemUUID": "",
                "kernelVersion": "", "osImage": "testplane",
            },
        },
    });
    nodes
        .patch_status(&spec.name, &params, &Patch::Apply(status))
        .await?;
    Ok(())
}

fn node_ip(index: usize) -> String {
    format!("192.168.{}.{}", index / 250, index % 250 + 2)
}

/// A fresh pod IP, unique in this process (so across every kubelet of a
/// test run): 10.1.0.1 onwards, clear of the service range 10.0.0.0/24.
fn next_pod_ip() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed) + (1 << 16);
    format!("10.{}.{}.{}", (n >> 16) & 255, (n >> 8) & 255, n & 255)
}

fn now() -> Time {
    // Whole seconds, as the API server stores them: a status built twice in
    // the same second then compares equal and is not patched again.
    let seconds = Timestamp::now().as_second();
    Time(Timestamp::from_second(seconds).expect("now is a valid timestamp"))
}

/// Wakes a round as soon as any pod in scope changes.
async fn watch_pods(shared: Arc<Shared>) {
    let pods: Api<Pod> = scoped(&shared);
    let mut events = watcher(pods, watcher::Config::default()).boxed();
    while let Some(event) = events.next().await {
        // Errors (a watch that expired) are retried by the watcher itself;
        // the 200 ms rounds cover the gap.
        if event.is_ok() {
            shared.wake.notify_one();
        }
    }
}

fn scoped<K>(shared: &Shared) -> Api<K>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope>,
    <K as Resource>::DynamicType: Default,
{
    match &shared.options.namespace {
        Some(namespace) => Api::namespaced(shared.api.clone(), namespace),
        None => Api::all(shared.api.clone()),
    }
}

/// The main loop: a round on every pod change, or every 200 ms.
async fn run(shared: Arc<Shared>) {
    loop {
        // A failed round (the API server restarting) is simply tried again.
        if let Err(e) = round(&shared).await {
            eprintln!("testplane kubelet: {e}");
        }
        tokio::select! {
            () = shared.wake.notified() => {}
            () = tokio::time::sleep(POLL) => {}
        }
    }
}

async fn round(shared: &Arc<Shared>) -> kube::Result<()> {
    let claims = scoped::<PersistentVolumeClaim>(shared)
        .list(&ListParams::default())
        .await?;
    for claim in &claims {
        reconcile_claim(shared, claim).await?;
    }
    reconcile_released_volumes(shared).await?;
    let pods = scoped::<Pod>(shared).list(&ListParams::default()).await?;
    for pod in &pods {
        reconcile_pod(shared, pod, &pods.items).await?;
    }
    Ok(())
}

fn key(pod: &Pod) -> PodKey {
    (pod.namespace().unwrap_or_default(), pod.name_any())
}

async fn reconcile_pod(shared: &Arc<Shared>, pod: &Pod, all: &[Pod]) -> kube::Result<()> {
    let spec = pod.spec.clone().unwrap_or_default();
    let steer = shared.steer.lock().unwrap().get(&key(pod)).copied();
    if pod.metadata.deletion_timestamp.is_some() {
        return remove_after_grace(shared, pod);
    }
    let Some(node_name) = spec.node_name.clone() else {
        if matches!(steer, Some(Steer::Hold)) {
            return Ok(());
        }
        return schedule(shared, pod, all).await;
    };
    let Some(node_index) = shared.nodes.iter().position(|n| n.name == node_name) else {
        return Ok(()); // another kubelet's node
    };
    if matches!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded" | "Failed")
    ) {
        return Ok(());
    }
    let missing = missing_volumes(shared, pod).await?;
    for what in &missing {
        record_event(shared, pod, &node_name, "FailedMount", what).await?;
    }
    let state = if matches!(steer, Some(Steer::Hold)) || !missing.is_empty() {
        Run::Creating
    } else {
        match steer {
            Some(Steer::CrashLoop(since)) => Run::CrashLoop(since),
            Some(Steer::NotReady) => Run::NotReady,
            _ => Run::Ready,
        }
    };
    let status = desired_status(pod, &node_ip(node_index), state);
    patch_status_if_changed(shared, pod, status).await
}

/// Where a bound pod's containers are.
#[derive(Clone, Copy)]
enum Run {
    /// Not started: held, or waiting for a volume.
    Creating,
    Ready,
    NotReady,
    CrashLoop(Instant),
}

/// Binds the pod to the matching node with the fewest pods, as the
/// scheduler would; with no matching node, reports it Unschedulable.
async fn schedule(shared: &Arc<Shared>, pod: &Pod, all: &[Pod]) -> kube::Result<()> {
    let spec = pod.spec.clone().unwrap_or_default();
    let load = |node: &str| {
        all.iter()
            .filter(|p| p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(node))
            .count()
    };
    let chosen = shared
        .nodes
        .iter()
        .filter(|node| node_matches(&spec, node))
        .min_by_key(|node| load(&node.name));
    let pods: Api<Pod> = Api::namespaced(shared.api.clone(), &pod.namespace().unwrap_or_default());
    let Some(node) = chosen else {
        let mut status = pod.status.clone().unwrap_or_default();
        let message = format!(
            "0/{} nodes are available: none matches the pod's node selector or affinity",
            shared.nodes.len()
        );
        set_condition(
            &mut status,
            "PodScheduled",
            false,
            Some("Unschedulable"),
            Some(&message),
        );
        status.phase = Some("Pending".into());
        return patch_status_if_changed(shared, pod, status).await;
    };
    let binding = Binding {
        metadata: ObjectMeta {
            name: Some(pod.name_any()),
            uid: pod.uid(),
            ..ObjectMeta::default()
        },
        target: ObjectReference {
            api_version: Some("v1".into()),
            kind: Some("Node".into()),
            name: Some(node.name.clone()),
            ..ObjectReference::default()
        },
    };
    let bound = pods
        .create_subresource::<_, serde_json::Value>(
            "binding",
            &pod.name_any(),
            &PostParams::default(),
            &binding,
        )
        .await;
    match bound {
        // 409: bound meanwhile (by an earlier round); the next round goes on.
        Err(kube::Error::Api(e)) if e.code == 409 || e.code == 404 => Ok(()),
        other => other.map(|_| ()),
    }
}

/// Whether the pod's nodeSelector and required node affinity accept the node.
fn node_matches(spec: &k8s_openapi::api::core::v1::PodSpec, node: &NodeSpec) -> bool {
    let labels = node.all_labels();
    let selector_ok = spec
        .node_selector
        .iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v));
    let required = spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|a| {
            a.required_during_scheduling_ignored_during_execution
                .as_ref()
        });
    // The terms are ORed, the requirements of one term ANDed.
    let affinity_ok = required.is_none_or(|selector| {
        selector
            .node_selector_terms
            .iter()
            .any(|term| term_matches(term, &labels, &node.name))
    });
    selector_ok && affinity_ok
}

fn term_matches(term: &NodeSelectorTerm, labels: &BTreeMap<String, String>, name: &str) -> bool {
    let expressions = term.match_expressions.iter().flatten();
    let fields = term.match_fields.iter().flatten();
    // The only field a node selector term may name is metadata.name.
    let node_fields = BTreeMap::from([("metadata.name".to_owned(), name.to_owned())]);
    let empty = term.match_expressions.as_ref().is_none_or(Vec::is_empty)
        && term.match_fields.as_ref().is_none_or(Vec::is_empty);
    // An empty term matches nothing (as in the scheduler).
    !empty
        && expressions
            .into_iter()
            .all(|r| requirement_matches(r, labels))
        && fields
            .into_iter()
            .all(|r| requirement_matches(r, &node_fields))
}

fn requirement_matches(req: &NodeSelectorRequirement, labels: &BTreeMap<String, String>) -> bool {
    let value = labels.get(&req.key);
    let values = req.values.as_deref().unwrap_or_default();
    let number = |v: &str| v.parse::<i64>().ok();
    let compare = |ordering: std::cmp::Ordering| match (
        value.and_then(|v| number(v)),
        values.first().and_then(|v| number(v)),
    ) {
        (Some(have), Some(want)) => have.cmp(&want) == ordering,
        _ => false,
    };
    match req.operator.as_str() {
        "In" => value.is_some_and(|v| values.contains(v)),
        "NotIn" => value.is_none_or(|v| !values.contains(v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        "Gt" => compare(std::cmp::Ordering::Greater),
        "Lt" => compare(std::cmp::Ordering::Less),
        _ => false,
    }
}

/// What the pod mounts that is not there yet, one sentence each (the
/// message of its FailedMount Event). Optional Secrets and ConfigMaps may
/// be missing, as with a real kubelet.
async fn missing_volumes(shared: &Shared, pod: &Pod) -> kube::Result<Vec<String>> {
    let namespace = pod.namespace().unwrap_or_default();
    let secrets: Api<Secret> = Api::namespaced(shared.api.clone(), &namespace);
    let config_maps: Api<ConfigMap> = Api::namespaced(shared.api.clone(), &namespace);
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(shared.api.clone(), &namespace);
    let mut missing = Vec::new();
    let volumes = pod.spec.iter().flat_map(|s| s.volumes.iter().flatten());
    for volume in volumes {
        let mut secret_names = Vec::new();
        let mut config_map_names = Vec::new();
        if let Some(s) = &volume.secret {
            secret_names.push((s.secret_name.clone().unwrap_or_default(), s.optional));
        }
        if let Some(c) = &volume.config_map {
            config_map_names.push((c.name.clone(), c.optional));
        }
        // Projected volumes (the service account token volume among them).
        for source in volume
            .projected
            .iter()
            .flat_map(|p| p.sources.iter().flatten())
        {
            if let Some(s) = &source.secret {
                secret_names.push((s.name.clone(), s.optional));
            }
            if let Some(c) = &source.config_map {
                config_map_names.push((c.name.clone(), c.optional));
            }
        }
        for (name, optional) in secret_names {
            if optional != Some(true) && secrets.get_opt(&name).await?.is_none() {
                missing.push(format!(
                    "MountVolume.SetUp failed for volume \"{}\" : secret \"{name}\" not found",
                    volume.name
                ));
            }
        }
        for (name, optional) in config_map_names {
            if optional != Some(true) && config_maps.get_opt(&name).await?.is_none() {
                missing.push(format!(
                    "MountVolume.SetUp failed for volume \"{}\" : configmap \"{name}\" not found",
                    volume.name
                ));
            }
        }
        if let Some(source) = &volume.persistent_volume_claim {
            let claim = claims.get_opt(&source.claim_name).await?;
            let phase = claim
                .as_ref()
                .and_then(|c| c.status.as_ref()?.phase.clone());
            match (claim, phase.as_deref()) {
                (None, _) => missing.push(format!(
                    "persistentvolumeclaim \"{}\" not found",
                    source.claim_name
                )),
                (Some(_), Some("Bound")) => {}
                (Some(_), _) => missing.push(format!(
                    "persistentvolumeclaim \"{}\" is not bound",
                    source.claim_name
                )),
            }
        }
    }
    Ok(missing)
}

/// Records a Warning Event about the pod once per distinct message.
async fn record_event(
    shared: &Shared,
    pod: &Pod,
    node: &str,
    reason: &str,
    message: &str,
) -> kube::Result<()> {
    let namespace = pod.namespace().unwrap_or_default();
    let seen = (
        namespace.clone(),
        pod.uid().unwrap_or_default(),
        message.to_owned(),
    );
    if !shared.events.lock().unwrap().insert(seen) {
        return Ok(());
    }
    let now = now();
    let event = Event {
        metadata: ObjectMeta {
            generate_name: Some(format!("{}.", pod.name_any())),
            namespace: Some(namespace.clone()),
            ..ObjectMeta::default()
        },
        involved_object: ObjectReference {
            api_version: Some("v1".into()),
            kind: Some("Pod".into()),
            name: Some(pod.name_any()),
            namespace: Some(namespace.clone()),
            uid: pod.uid(),
            ..ObjectReference::default()
        },
        reason: Some(reason.into()),
        message: Some(message.into()),
        type_: Some("Warning".into()),
        count: Some(1),
        first_timestamp: Some(now.clone()),
        last_timestamp: Some(now),
        source: Some(EventSource {
            component: Some("kubelet".into()),
            host: Some(node.into()),
        }),
        reporting_component: Some("kubelet".into()),
        reporting_instance: Some(node.into()),
        ..Event::default()
    };
    Api::<Event>::namespaced(shared.api.clone(), &namespace)
        .create(&PostParams::default(), &event)
        .await
        .map(|_| ())
}

/// The status a real kubelet would report for the pod in `state`, keeping
/// what does not change (IP, start times, transition times) from the
/// current status so that an unchanged pod is not patched again.
fn desired_status(pod: &Pod, host_ip: &str, state: Run) -> PodStatus {
    let spec = pod.spec.clone().unwrap_or_default();
    let mut status = pod.status.clone().unwrap_or_default();
    let started = !matches!(state, Run::Creating);
    status.host_ip = Some(host_ip.into());
    status.host_ips = Some(vec![k8s_openapi::api::core::v1::HostIP {
        ip: host_ip.into(),
    }]);
    status.start_time = status.start_time.or_else(|| Some(now()));
    status.phase = Some(if started { "Running" } else { "Pending" }.into());
    if started && status.pod_ip.is_none() {
        let ip = next_pod_ip();
        status.pod_ip = Some(ip.clone());
        status.pod_ips = Some(vec![PodIP { ip }]);
    }
    let previous = |list: &Option<Vec<ContainerStatus>>, name: &str| {
        list.iter().flatten().find(|c| c.name == name).cloned()
    };
    let init_statuses: Vec<ContainerStatus> = spec
        .init_containers
        .iter()
        .flatten()
        .map(|c| {
            // Native sidecars (restartPolicy Always) keep running; the
            // others ran to completion before the main containers started.
            let sidecar = c.restart_policy.as_deref() == Some("Always");
            let before = previous(&status.init_container_statuses, &c.name);
            let run = if started { Run::Ready } else { Run::Creating };
            let mut s = container_status(pod, &c.name, c.image.as_deref(), before, run);
            if started && !sidecar {
                s.ready = false;
                s.started = Some(false);
                let at = status.start_time.clone();
                s.state = Some(ContainerState {
                    terminated: Some(ContainerStateTerminated {
                        exit_code: 0,
                        reason: Some("Completed".into()),
                        started_at: at.clone(),
                        finished_at: at,
                        container_id: s.container_id.clone(),
                        ..ContainerStateTerminated::default()
                    }),
                    ..ContainerState::default()
                });
            }
            s
        })
        .collect();
    let terminating = pod.metadata.deletion_timestamp.is_some();
    let statuses: Vec<ContainerStatus> = spec
        .containers
        .iter()
        .map(|c| {
            let before = previous(&status.container_statuses, &c.name);
            let mut s = container_status(pod, &c.name, c.image.as_deref(), before, state);
            // A terminating pod leaves its Service's endpoints first.
            s.ready &= !terminating;
            s
        })
        .collect();
    let containers_ready = started && statuses.iter().all(|s| s.ready);
    // Readiness gates: Ready also needs each named condition True.
    let gates_ok = spec.readiness_gates.iter().flatten().all(|gate| {
        status
            .conditions
            .iter()
            .flatten()
            .any(|c| c.type_ == gate.condition_type && c.status == "True")
    });
    status.init_container_statuses = (!init_statuses.is_empty()).then_some(init_statuses);
    status.container_statuses = Some(statuses);
    let not_ready = (!containers_ready).then_some("ContainersNotReady");
    set_condition(&mut status, "PodScheduled", true, None, None);
    set_condition(
        &mut status,
        "PodReadyToStartContainers",
        started,
        None,
        None,
    );
    set_condition(
        &mut status,
        "Initialized",
        started,
        (!started).then_some("PodInitializing"),
        None,
    );
    set_condition(
        &mut status,
        "ContainersReady",
        containers_ready,
        not_ready,
        None,
    );
    let ready = containers_ready && gates_ok;
    let ready_reason = if containers_ready && !gates_ok {
        Some("ReadinessGatesNotReady")
    } else {
        not_ready
    };
    set_condition(&mut status, "Ready", ready, ready_reason, None);
    status
}

/// One container's status in `state`, keeping its start time and restart
/// count from `before` while it keeps running.
fn container_status(
    pod: &Pod,
    name: &str,
    image: Option<&str>,
    before: Option<ContainerStatus>,
    state: Run,
) -> ContainerStatus {
    let image = image.unwrap_or_default().to_owned();
    let image_id = format!("{image}@sha256:{}", hex_digest(&image));
    let uid = pod.uid().unwrap_or_default();
    let was_running_at = before
        .as_ref()
        .and_then(|b| b.state.as_ref()?.running.as_ref()?.started_at.clone());
    match state {
        Run::Creating => ContainerStatus {
            name: name.into(),
            image,
            image_id: String::new(),
            ready: false,
            started: Some(false),
            restart_count: 0,
            state: Some(ContainerState {
                waiting: Some(ContainerStateWaiting {
                    reason: Some("ContainerCreating".into()),
                    message: None,
                }),
                ..ContainerState::default()
            }),
            ..ContainerStatus::default()
        },
        Run::Ready | Run::NotReady => {
            let restarts = before.as_ref().map_or(0, |b| b.restart_count);
            ContainerStatus {
                name: name.into(),
                image,
                image_id,
                container_id: Some(container_id(&uid, name, restarts)),
                ready: matches!(state, Run::Ready),
                started: Some(true),
                restart_count: restarts,
                last_state: before.and_then(|b| b.last_state),
                state: Some(ContainerState {
                    running: Some(ContainerStateRunning {
                        started_at: was_running_at.or_else(|| Some(now())),
                    }),
                    ..ContainerState::default()
                }),
                ..ContainerStatus::default()
            }
        }
        Run::CrashLoop(since) => {
            // One more restart for every period the container has been crashing.
            let crashes = (since.elapsed().as_millis() / CRASH_PERIOD.as_millis()) as i32 + 1;
            let restarts = before.as_ref().map_or(0, |b| b.restart_count).max(crashes);
            ContainerStatus {
                name: name.into(),
                image,
                image_id,
                container_id: Some(container_id(&uid, name, restarts)),
                ready: false,
                started: Some(false),
                restart_count: restarts,
                last_state: Some(ContainerState {
                    terminated: Some(ContainerStateTerminated {
                        exit_code: 1,
                        reason: Some("Error".into()),
                        container_id: Some(container_id(&uid, name, restarts)),
                        ..ContainerStateTerminated::default()
                    }),
                    ..ContainerState::default()
                }),
                state: Some(ContainerState {
                    waiting: Some(ContainerStateWaiting {
                        reason: Some("CrashLoopBackOff".into()),
                        message: Some(format!(
                            "back-off restarting failed container {name} in pod {}",
                            pod.name_any()
                        )),
                    }),
                    ..ContainerState::default()
                }),
                ..ContainerStatus::default()
            }
        }
    }
}

fn container_id(pod_uid: &str, name: &str, restarts: i32) -> String {
    format!(
        "containerd://{}",
        hex_digest(&format!("{pod_uid}/{name}/{restarts}"))
    )
}

fn hex_digest(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Sets a pod condition, keeping its lastTransitionTime when the status
/// did not change.
fn set_condition(
    status: &mut PodStatus,
    type_: &str,
    value: bool,
    reason: Option<&str>,
    message: Option<&str>,
) {
    let value = if value { "True" } else { "False" };
    let conditions = status.conditions.get_or_insert_with(Vec::new);
    let since = conditions
        .iter()
        .find(|c| c.type_ == type_ && c.status == value)
        .and_then(|c| c.last_transition_time.clone())
        .unwrap_or_else(now);
    conditions.retain(|c| c.type_ != type_);
    conditions.push(PodCondition {
        type_: type_.into(),
        status: value.into(),
        reason: reason.map(Into::into),
        message: message.map(Into::into),
        last_transition_time: Some(since),
        ..PodCondition::default()
    });
    // A stable order, so that the same conditions compare equal.
    conditions.sort_by(|a, b| a.type_.cmp(&b.type_));
}

async fn patch_status_if_changed(
    shared: &Shared,
    pod: &Pod,
    status: PodStatus,
) -> kube::Result<()> {
    let mut current = pod.status.clone().unwrap_or_default();
    if let Some(conditions) = current.conditions.as_mut() {
        conditions.sort_by(|a, b| a.type_.cmp(&b.type_));
    }
    if serde_json::to_value(&current).ok() == serde_json::to_value(&status).ok() {
        return Ok(());
    }
    let pods: Api<Pod> = Api::namespaced(shared.api.clone(), &pod.namespace().unwrap_or_default());
    // A merge patch replaces the lists (conditions, containerStatuses) whole.
    let patch = Patch::Merge(json!({"status": status}));
    match pods
        .patch_status(&pod.name_any(), &PatchParams::default(), &patch)
        .await
    {
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()), // deleted meanwhile
        other => other.map(|_| ()),
    }
}

/// Removes a deleted pod once its grace period (capped) has passed, as a
/// kubelet does after stopping the containers. A pod with finalizers waits
/// for them to go (it is looked at again in every round).
fn remove_after_grace(shared: &Arc<Shared>, pod: &Pod) -> kube::Result<()> {
    if !pod.finalizers().is_empty() {
        return Ok(());
    }
    let uid = pod.uid().unwrap_or_default();
    if !shared.removing.lock().unwrap().insert(uid.clone()) {
        return Ok(());
    }
    let grace = Duration::from_secs(
        pod.metadata
            .deletion_grace_period_seconds
            .unwrap_or(30)
            .max(0) as u64,
    );
    let delay = shared
        .slow
        .lock()
        .unwrap()
        .get(&key(pod))
        .copied()
        .unwrap_or_else(|| grace.min(shared.options.max_grace));
    let pods: Api<Pod> = Api::namespaced(shared.api.clone(), &pod.namespace().unwrap_or_default());
    let name = pod.name_any();
    let shared = shared.clone();
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        let params = DeleteParams {
            grace_period_seconds: Some(0),
            preconditions: Some(Preconditions {
                uid: Some(uid.clone()),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        if let Err(e) = pods.delete(&name, &params).await {
            eprintln!("testplane kubelet: removing pod {name}: {e}");
            // Let a later round try again.
            shared.removing.lock().unwrap().remove(&uid);
        }
    });
    Ok(())
}

/// Provisions a volume for a pending claim, and carries out resizes.
async fn reconcile_claim(shared: &Shared, claim: &PersistentVolumeClaim) -> kube::Result<()> {
    if claim.metadata.deletion_timestamp.is_some() {
        return Ok(());
    }
    let spec = claim.spec.clone().unwrap_or_default();
    let requested = spec
        .resources
        .as_ref()
        .and_then(|r| r.requests.as_ref()?.get("storage").cloned());
    let Some(requested) = requested else {
        return Ok(()); // invalid without a request; the API server refuses those
    };
    match spec.volume_name.as_deref() {
        None | Some("") => provision(shared, claim, &requested).await,
        Some(volume) => resize(shared, claim, volume, &requested).await,
    }
}

/// Creates a PersistentVolume bound to the claim (claimRef with its uid);
/// the controller manager's PV controller then completes the binding
/// (spec.volumeName, phase Bound on both), as with any external provisioner.
async fn provision(
    shared: &Shared,
    claim: &PersistentVolumeClaim,
    size: &Quantity,
) -> kube::Result<()> {
    let spec = claim.spec.clone().unwrap_or_default();
    let name = format!("pvc-{}", claim.uid().unwrap_or_default());
    let class = spec.storage_class_name.clone().unwrap_or_default();
    let classes: Api<StorageClass> = Api::all(shared.api.clone());
    let storage_class = if class.is_empty() {
        None
    } else {
        classes.get_opt(&class).await?
    };
    let reclaim = storage_class
        .as_ref()
        .and_then(|c| c.reclaim_policy.clone())
        .unwrap_or_else(|| "Delete".into());
    let provisioner = storage_class
        .as_ref()
        .map_or("testplane.multigres.io/simulated".to_owned(), |c| {
            c.provisioner.clone()
        });
    let volume = json!({
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {
            "name": name,
            "labels": {PROVISIONED_LABEL: "true"},
            "annotations": {"pv.kubernetes.io/provisioned-by": provisioner},
        },
        "spec": {
            "capacity": {"storage": size},
            "accessModes": spec.access_modes.clone().unwrap_or_else(|| vec!["ReadWriteOnce".into()]),
            "volumeMode": spec.volume_mode.clone().unwrap_or_else(|| "Filesystem".into()),
            "storageClassName": class,
            "persistentVolumeReclaimPolicy": reclaim,
            "hostPath": {"path": format!("/var/lib/testplane/{name}")},
            "claimRef": {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "namespace": claim.namespace(),
                "name": claim.name_any(),
                "uid": claim.uid(),
            },
        },
    });
    let volumes: Api<PersistentVolume> = Api::all(shared.api.clone());
    let params = PatchParams::apply(MANAGER).force();
    volumes.patch(&name, &params, &Patch::Apply(volume)).await?;
    Ok(())
}

/// Grows a bound claim whose request went up, as the external resizer and
/// the kubelet do together: first the volume (PV capacity, condition
/// FileSystemResizePending on the claim), then, in a later round, the file
/// system (the claim's status.capacity). The API server already refused
/// the resize if the StorageClass does not allow expansion.
async fn resize(
    shared: &Shared,
    claim: &PersistentVolumeClaim,
    volume: &str,
    requested: &Quantity,
) -> kube::Result<()> {
    let status = claim.status.clone().unwrap_or_default();
    if status.phase.as_deref() != Some("Bound") {
        return Ok(());
    }
    let capacity = status
        .capacity
        .as_ref()
        .and_then(|c| c.get("storage").cloned());
    let Some(capacity) = capacity else {
        return Ok(());
    };
    if bytes(requested) <= bytes(&capacity) {
        return Ok(());
    }
    let volumes: Api<PersistentVolume> = Api::all(shared.api.clone());
    let Some(pv) = volumes.get_opt(volume).await? else {
        return Ok(());
    };
    if pv.labels().get(PROVISIONED_LABEL).map(String::as_str) != Some("true") {
        return Ok(()); // a volume someone else made; not ours to grow
    }
    let claims: Api<PersistentVolumeClaim> =
        Api::namespaced(shared.api.clone(), &claim.namespace().unwrap_or_default());
    let pending = status
        .conditions
        .iter()
        .flatten()
        .any(|c| c.type_ == "FileSystemResizePending");
    let now = now();
    // First the volume grows and the claim waits for its file system; on
    // the next round the claim reports the new capacity.
    let patch = if !pending {
        let grow = json!({"spec": {"capacity": {"storage": requested}}});
        volumes
            .patch(volume, &PatchParams::default(), &Patch::Merge(grow))
            .await?;
        let condition = PersistentVolumeClaimCondition {
            type_: "FileSystemResizePending".into(),
            status: "True".into(),
            message: Some("Waiting for user to (re-)start a pod to finish file system resize of volume on node.".into()),
            last_transition_time: Some(now.clone()),
            last_probe_time: Some(now),
            ..PersistentVolumeClaimCondition::default()
        };
        json!({"status": {
            "conditions": [condition],
            "allocatedResources": {"storage": requested},
        }})
    } else {
        json!({"status": {"conditions": null, "capacity": {"storage": requested}}})
    };
    claims
        .patch_status(
            &claim.name_any(),
            &PatchParams::default(),
            &Patch::Merge(patch),
        )
        .await?;
    Ok(())
}

/// Deletes the volumes it provisioned once their claim is gone and their
/// reclaim policy is Delete (the PV controller leaves that to the
/// provisioner).
async fn reconcile_released_volumes(shared: &Shared) -> kube::Result<()> {
    let volumes: Api<PersistentVolume> = Api::all(shared.api.clone());
    let ours = ListParams::default().labels(&format!("{PROVISIONED_LABEL}=true"));
    for pv in volumes.list(&ours).await? {
        let spec = pv.spec.clone().unwrap_or_default();
        let in_scope = match &shared.options.namespace {
            Some(ns) => spec.claim_ref.as_ref().and_then(|r| r.namespace.as_ref()) == Some(ns),
            None => true,
        };
        let released = pv.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Released");
        let delete = spec.persistent_volume_reclaim_policy.as_deref() == Some("Delete");
        if in_scope && released && delete && pv.metadata.deletion_timestamp.is_none() {
            match volumes
                .delete(&pv.name_any(), &DeleteParams::default())
                .await
            {
                Err(kube::Error::Api(e)) if e.code == 404 => {}
                other => {
                    other?;
                }
            }
        }
    }
    Ok(())
}

/// A quantity in bytes, for comparing storage sizes ("1Gi" < "2Gi").
fn bytes(quantity: &Quantity) -> f64 {
    let text = quantity.0.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let factor: f64 = match suffix {
        "" => 1.0,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        _ => f64::NAN,
    };
    number.parse::<f64>().unwrap_or(f64::NAN) * factor
}
