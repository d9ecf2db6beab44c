//! `multigres reconcile` with the credentials `multigres install operator`
//! gives it (issue 11): a token of the installed ServiceAccount, RBAC on.
//! Nothing the reconciler needs is forbidden in either mode, and a write
//! its mode must not make is refused by the API server. Then "quiet when
//! idle" as the API server counts it: after convergence, a minute without
//! changes brings no write request of the reconciler's user into the audit
//! log of testplane/up.
//!
//! Both tests hold `install::CLUSTER_WIDE`: the ClusterRole and its binding
//! are cluster-wide, and tests/install.rs applies them with other subjects
//! and rules.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::discovery::Discovery;
use serde_json::{Value, json};

use super::apiserver::{render, start};
use super::install::{self, CLUSTER_WIDE};
use super::reconcile::{
    apply_inputs, apply_object, assert_only_status_written, cluster, eventually, generated,
    matches_render, minimal_with_two_gateways, statuses_written,
};
use super::support::operator::Operator;
use super::support::testplane::ControlPlane;
use multigres::api::MultigresCluster;
use multigres::compile;

const SERVICE_ACCOUNT: &str = "multigres-operator";
const WRITES: [&str; 4] = ["POST", "PUT", "PATCH", "DELETE"];

/// A client with the credentials of `kubeconfig` (no retries: each answer
/// as the server gave it).
async fn client_of(kubeconfig: &Path) -> kube::Client {
    let kubeconfig = kube::config::Kubeconfig::read_from(kubeconfig).unwrap();
    let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .unwrap();
    config.default_retry = false;
    kube::Client::try_from(config).unwrap()
}

/// The lines of an operator's log that report a refusal.
fn forbidden(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|line| line.to_ascii_lowercase().contains("forbidden"))
        .collect()
}

/// Installs `mode` with the operator namespace `ours`; returns a
/// kubeconfig of the installed ServiceAccount and a client with its token,
/// once its rights hold in `tenant`.
async fn installed(
    plane: &ControlPlane,
    mode: &str,
    ours: &str,
    tenant: &str,
) -> (std::path::PathBuf, kube::Client) {
    install::apply(plane, &install::install(mode, ours));
    let kubeconfig = plane.service_account_kubeconfig(ours, SERVICE_ACCOUNT);
    let token = client_of(&kubeconfig).await;
    rights_settled(&token, ours, tenant).await;
    (kubeconfig, token)
}

/// Waits until the token's reads are allowed (the authorizer follows an
/// apply of RBAC objects within moments), so the reconciler's first
/// requests do not race the install.
async fn rights_settled(token: &kube::Client, operator_namespace: &str, tenant: &str) {
    eventually(
        "the installed rights take effect",
        Duration::from_secs(20),
        async || {
            Api::<MultigresCluster>::namespaced(token.clone(), tenant)
                .list(&ListParams::default())
                .await
                .map_err(|e| e.to_string())?;
            Api::<Lease>::namespaced(token.clone(), operator_namespace)
                .get_opt("multigres-operator.multigres.com")
                .await
                .map_err(|e| e.to_string())?;
            Ok(())
        },
    )
    .await;
}

/// A merge patch of a live Deployment, dry run: authorized (and then
/// discarded) or refused.
async fn patch_deployment(
    token: &kube::Client,
    namespace: &str,
    name: &str,
) -> Result<(), kube::Error> {
    let params = PatchParams {
        dry_run: true,
        ..Default::default()
    };
    let patch = json!({"metadata": {"labels": {"rbac-probe": "x"}}});
    Api::<Deployment>::namespaced(token.clone(), namespace)
        .patch(name, &params, &Patch::Merge(&patch))
        .await
        .map(|_| ())
}

async fn converged(client: &kube::Client, discovery: &Discovery, objects: &[compile::Object]) {
    eventually(
        "the live objects equal the render",
        Duration::from_secs(120),
        async || matches_render(client, discovery, objects).await,
    )
    .await;
    eventually(
        "the cluster reports its phase",
        Duration::from_secs(60),
        async || {
            let status = cluster(client, objects).await.status.unwrap_or_default();
            match status.phase {
                Some(_) if status.conditions.iter().any(|c| c.type_ == "Available") => Ok(()),
                _ => Err(format!("status {status:?}")),
            }
        },
    )
    .await;
}

#[tokio::test]
async fn the_installed_service_account_runs_each_mode_and_is_refused_what_its_mode_must_not_do() {
    let Some(plane) = start() else { return };
    let _cluster_wide = CLUSTER_WIDE.lock().await;
    let client = plane.client().await;
    let discovery = Discovery::new(client.clone()).run().await.unwrap();
    let operator_namespace = plane.namespace(&client, "rbac-operator").await;
    let ours = operator_namespace.name.as_str();
    let tenant = plane.namespace(&client, "rbac-full").await;

    // Full mode, as the Deployment runs it: leader election in its own
    // namespace, every static object applied with the token's rights.
    let (kubeconfig, token) = installed(plane, "full", ours, &tenant.name).await;
    let env = [("POD_NAMESPACE", ours)];
    let mut full = Operator::start(&kubeconfig, "full", &tenant.name, &["--leader-elect"], &env);
    let objects = render("minimal", &tenant.name);
    apply_inputs(&client, &discovery, &objects, "kubectl").await;
    converged(&client, &discovery, &objects).await;
    let log = full.log_text();
    assert!(
        log.contains("acquired the lease"),
        "the operator did not take the lease:\n{log}"
    );
    assert_eq!(
        forbidden(&log),
        Vec::<&str>::new(),
        "full mode with the full install's rights"
    );
    let gateway = generated(&objects)
        .into_iter()
        .find(|o| o.kind == "Deployment")
        .expect("the example renders a Deployment");
    if let Err(e) = patch_deployment(&token, &tenant.name, &gateway.name).await {
        panic!("the full install lets its ServiceAccount patch a Deployment: {e}");
    }
    full.terminate();

    // The runtime install takes the writes of static objects away: the
    // same token's patch of the same Deployment is refused.
    install::apply(plane, &install::install("runtime", ours));
    let refusal = eventually(
        "the runtime install's token cannot patch a Deployment",
        Duration::from_secs(20),
        async || match patch_deployment(&token, &tenant.name, &gateway.name).await {
            Err(kube::Error::Api(status)) if status.code == 403 => Ok(status.message),
            other => Err(format!("{other:?}")),
        },
    )
    .await;
    assert!(
        refusal.contains(&format!("system:serviceaccount:{ours}:{SERVICE_ACCOUNT}")),
        "{refusal}"
    );
    // The log check above would see a refusal: the full mode with the
    // runtime install's rights logs one once the render asks for a write
    // (a restart alone writes nothing: everything is applied already).
    let wrong = Operator::start(&kubeconfig, "full", &tenant.name, &[], &[]);
    let (_, cluster_object) = minimal_with_two_gateways(&tenant.name);
    apply_object(&client, &discovery, &cluster_object, "kubectl").await;
    eventually(
        "full mode with runtime rights logs a refusal",
        Duration::from_secs(60),
        async || match forbidden(&wrong.log_text()).is_empty() {
            true => Err("no refusal in the log yet".to_owned()),
            false => Ok(()),
        },
    )
    .await;
    drop(wrong);

    // Runtime mode with its install's rights, over objects a GitOps tool
    // applied: statuses are written, nothing is refused, no static field
    // is taken.
    let gitops = plane.namespace(&client, "rbac-runtime").await;
    let objects = render("minimal", &gitops.name);
    for object in &objects {
        apply_object(&client, &discovery, object, "argocd-controller").await;
    }
    let runtime = Operator::start(
        &kubeconfig,
        "runtime",
        &gitops.name,
        &["--leader-elect"],
        &env,
    );
    eventually(
        "every child and the cluster have a status",
        Duration::from_secs(90),
        async || {
            statuses_written(
                &client,
                &discovery,
                &objects,
                &["MultigresCluster", "Cell", "TableGroup", "Shard"],
            )
            .await
        },
    )
    .await;
    // Let every controller pass once more.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_only_status_written(&client, &discovery, &objects).await;
    let log = runtime.log_text();
    assert!(
        log.contains("acquired the lease"),
        "the operator did not take the lease:\n{log}"
    );
    assert_eq!(
        forbidden(&log),
        Vec::<&str>::new(),
        "runtime mode with the runtime install's rights"
    );
}

/// One write request of the audit log.
#[derive(Debug)]
struct Write {
    at: Timestamp,
    verb: String,
    object: String,
}

/// The write requests of `user` in the audit log.
fn writes_of(audit_log: &Path, user: &str) -> Vec<Write> {
    let text = std::fs::read_to_string(audit_log)
        .unwrap_or_else(|e| panic!("{}: {e}", audit_log.display()));
    text.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|event| event["user"]["username"] == user)
        .map(|event| {
            let at = event["requestReceivedTimestamp"]
                .as_str()
                .unwrap_or_default();
            let object = &event["objectRef"];
            Write {
                at: at
                    .parse()
                    .unwrap_or_else(|e| panic!("timestamp {at:?}: {e}")),
                verb: event["verb"].as_str().unwrap_or_default().to_owned(),
                object: format!(
                    "{}/{} {}",
                    object["resource"].as_str().unwrap_or_default(),
                    object["subresource"].as_str().unwrap_or_default(),
                    object["name"].as_str().unwrap_or_default()
                ),
            }
        })
        .collect()
}

/// How many reconciles the operator ran, every controller and result.
fn reconciles(operator: &Operator) -> f64 {
    operator
        .metrics()
        .lines()
        .filter(|line| line.starts_with("multigres_operator_reconcile_total{"))
        .filter_map(|line| line.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum()
}

/// The operator's own count of its write requests, by verb.
fn counted_writes(operator: &Operator) -> BTreeMap<&'static str, f64> {
    let body = operator.metrics();
    WRITES
        .into_iter()
        .map(|verb| {
            let series = format!(r#"multigres_operator_api_requests_total{{verb="{verb}"}}"#);
            (verb, super::support::operator::sample(&body, &series))
        })
        .collect()
}

#[tokio::test]
async fn an_idle_reconciler_writes_nothing() {
    let Some(plane) = start() else { return };
    let _cluster_wide = CLUSTER_WIDE.lock().await;
    let client = plane.client().await;
    let discovery = Discovery::new(client.clone()).run().await.unwrap();
    let operator_namespace = plane.namespace(&client, "idle-operator").await;
    let ours = operator_namespace.name.as_str();
    let tenant = plane.namespace(&client, "idle").await;
    let (kubeconfig, _) = installed(plane, "full", ours, &tenant.name).await;
    // No leader election: renewing the Lease is a write every 2 s by design.
    let operator = Operator::start(&kubeconfig, "full", &tenant.name, &[], &[]);
    let objects = render("minimal", &tenant.name);
    apply_inputs(&client, &discovery, &objects, "kubectl").await;
    converged(&client, &discovery, &objects).await;

    let user = format!("system:serviceaccount:{ours}:{SERVICE_ACCOUNT}");
    let audit_log = plane.audit_log();
    // The audit log sees the reconciler's writes: converging took some.
    let converging = writes_of(&audit_log, &user);
    assert!(
        !converging.is_empty(),
        "no write of {user} in {}",
        audit_log.display()
    );

    // Let the last writes of convergence land (statuses following the
    // children's): ten seconds without a write, within a minute.
    let settle = tokio::time::Instant::now();
    let mut quiet_since = tokio::time::Instant::now();
    let mut last = counted_writes(&operator);
    while quiet_since.elapsed() < Duration::from_secs(10)
        && settle.elapsed() < Duration::from_secs(60)
    {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = counted_writes(&operator);
        if now != last {
            (last, quiet_since) = (now, tokio::time::Instant::now());
        }
    }
    assert!(
        quiet_since.elapsed() >= Duration::from_secs(10),
        "still writing a minute after convergence; its writes by verb: {last:?}"
    );

    // A minute with no change: the controllers' 30 s requeues (the pods
    // stay Pending, nothing is healthy) pass twice and must write nothing.
    let from = Timestamp::now();
    let before = counted_writes(&operator);
    let reconciles_before = reconciles(&operator);
    tokio::time::sleep(Duration::from_secs(60)).await;
    let until = Timestamp::now();
    let after = counted_writes(&operator);
    let reconciles_in_window = reconciles(&operator) - reconciles_before;
    // The audit backend writes each event as the request completes; a
    // moment for the last one.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let in_window: Vec<Write> = writes_of(&audit_log, &user)
        .into_iter()
        .filter(|w| from <= w.at && w.at < until)
        .collect();
    assert!(
        in_window.is_empty(),
        "{} writes by {user} in a minute without changes:\n{}",
        in_window.len(),
        in_window
            .iter()
            .map(|w| format!("{} {} {}", w.at, w.verb, w.object))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(
        after, before,
        "the operator counted writes of its own while idle"
    );
    // The window saw reconciles (the requeues of what is not healthy):
    // they ran, and wrote nothing.
    assert!(
        reconciles_in_window > 0.0,
        "no reconcile ran in the idle minute"
    );
    assert!(
        before.values().sum::<f64>() > 0.0,
        "the operator's counters saw no write at all: {before:?}"
    );
}

/// A ServiceAccount without any binding may list nothing: the caches never
/// sync. The reconciler must stay unready, decide nothing, and still stop
/// at once on SIGTERM (its reconciles and its readiness wait for the
/// caches; neither may keep the process alive).
#[tokio::test]
async fn a_reconciler_that_may_not_list_stays_unready_and_stops_on_sigterm() {
    let Some(plane) = start() else { return };
    let client = plane.client().await;
    let namespace = plane.namespace(&client, "no-rights").await;
    let ns = namespace.name.as_str();
    let accounts: Api<k8s_openapi::api::core::v1::ServiceAccount> =
        Api::namespaced(client.clone(), ns);
    accounts
        .create(
            &Default::default(),
            &serde_json::from_value(json!({"metadata": {"name": "nobody"}})).unwrap(),
        )
        .await
        .unwrap();
    let kubeconfig = plane.service_account_kubeconfig(ns, "nobody");
    let mut operator = Operator::start(&kubeconfig, "full", ns, &[], &[]);
    eventually(
        "the operator logs that it may not list",
        Duration::from_secs(30),
        async || {
            let log = operator.log_text();
            log.contains("forbidden")
                .then_some(())
                .ok_or_else(|| format!("log so far:\n{log}"))
        },
    )
    .await;
    assert!(!operator.ready(), "ready without its caches");
    operator.assert_stops_on_sigterm(Duration::from_secs(30), "an operator without its caches");
}
