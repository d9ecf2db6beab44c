//! Start-up and shutdown of `multigres reconcile` (upstream §9.2): the
//! client, the probe and metrics servers, leader election, the informers
//! and the five controllers; SIGTERM stops them and releases the lease.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use tokio::sync::watch;

use super::caches::Informers;
use super::context::{Context, Mode};
use super::controllers;
use super::leader::{self, Attempt, Elector};
use super::metrics::{Metrics, VerbLabels};
use super::serve::{self, Health};
use crate::api::cluster::ImageUpdateStrategy;
use crate::images::{Component, ImageSet};

/// How long SIGTERM waits for the controllers (Kubernetes' default grace
/// period before SIGKILL is 30 s).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Everything `multigres reconcile` is told.
#[derive(Debug, Clone)]
pub struct Settings {
    pub mode: Mode,
    /// `None` disables the metrics server.
    pub metrics_address: Option<SocketAddr>,
    pub probe_address: Option<SocketAddr>,
    /// Hold the Lease before reconciling (`--leader-elect`).
    pub leader_elect: bool,
    /// Namespace of the Lease (`POD_NAMESPACE`).
    pub namespace: String,
    /// Reconcile only this namespace (`--watch-namespace`), else all.
    pub watch_namespace: Option<String>,
    /// The Lease holder and the events' reporting instance.
    pub identity: String,
    pub images: ImageSet,
    /// `--image-update-strategy`.
    pub image_update_strategy: ImageUpdateStrategy,
}

/// The image set of the operator: the compiled-in defaults, overridden by
/// `MULTIGRES_IMAGE_<COMPONENT>` (upstream's variables, trimmed).
pub fn images_from_env(get: impl Fn(&str) -> Option<String>) -> Result<ImageSet, String> {
    let mut images = ImageSet::default();
    for component in Component::ALL {
        let variable = format!("MULTIGRES_IMAGE_{}", env_suffix(component));
        if let Some(value) = get(&variable)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
        {
            images
                .apply_entry(
                    &variable,
                    &format!("{}={value}", component.key()),
                    &variable,
                )
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(images)
}

/// `multiadminWeb` → `MULTIADMIN_WEB`.
fn env_suffix(component: Component) -> String {
    let mut out = String::new();
    for c in component.key().chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// A future every part of the process waits on to stop.
type Stop = Shared<BoxFuture<'static, ()>>;

fn stop_signal(rx: watch::Receiver<bool>) -> Stop {
    async move {
        let mut rx = rx;
        let _ = rx.wait_for(|stop| *stop).await;
    }
    .boxed()
    .shared()
}

/// Runs until SIGTERM or SIGINT (or a lost lease, which is an error: the
/// process exits and its Deployment restarts it, as controller-runtime does).
pub async fn run(settings: Settings) -> Result<(), String> {
    let metrics = Metrics::new();
    let client = client(metrics.clone()).await?;
    let health = Arc::new(Health::default());
    let (stop_tx, stop_rx) = watch::channel(false);
    let stop = stop_signal(stop_rx.clone());

    let mut servers = Vec::new();
    if let Some(address) = settings.probe_address {
        let listener = serve::bind(address)
            .await
            .map_err(|e| format!("cannot listen on {address} for the probes: {e}"))?;
        servers.push(tokio::spawn(serve::serve(
            listener,
            serve::probes(health.clone()),
            stop.clone(),
        )));
    }
    if let Some(address) = settings.metrics_address {
        let listener = serve::bind(address)
            .await
            .map_err(|e| format!("cannot listen on {address} for metrics: {e}"))?;
        servers.push(tokio::spawn(serve::serve(
            listener,
            serve::metrics(metrics.clone()),
            stop.clone(),
        )));
    }
    let stop_tx = Arc::new(stop_tx);
    {
        let stop_tx = stop_tx.clone();
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!("shutting down");
            stop_tx.send_replace(true);
        });
    }

    let elector = settings.leader_elect.then(|| {
        Elector::new(
            client.clone(),
            &settings.namespace,
            settings.identity.clone(),
        )
    });
    if let Some(elector) = &elector {
        // A standby is alive and ready: it only waits.
        health.ready.store(true, Ordering::Relaxed);
        tracing::info!(
            lease = leader::LEASE_NAME,
            identity = elector.identity(),
            "waiting for the lease"
        );
        if !acquire(elector, stop.clone()).await? {
            return Ok(());
        }
        tracing::info!(lease = leader::LEASE_NAME, "acquired the lease");
    }
    metrics.leader.set(1);

    let informers = Informers::new(&client, settings.watch_namespace.as_deref());
    let ctx = Arc::new(Context::new(
        client.clone(),
        &settings,
        informers.stores(),
        metrics.clone(),
        stop_rx,
    ));
    let controllers = controllers::controllers(&informers, ctx.clone(), stop.clone());
    let all_listed = informers.all_listed();
    let informer_tasks: Vec<_> = informers.start().into_iter().map(tokio::spawn).collect();
    let sync = async {
        tokio::select! {
            () = all_listed => {
                ctx.set_caches_synced();
                health.ready.store(true, Ordering::Relaxed);
                tracing::info!(mode = settings.mode.name(), "caches synced; reconciling");
            }
            // A cache that cannot list (a kind it may not read) keeps
            // readiness false; stopping must not wait for it.
            () = stop.clone() => {}
        }
    };
    let run_controllers = async {
        let mut all = futures::future::join_all(controllers.into_iter().map(tokio::spawn));
        tokio::select! {
            _ = &mut all => {}
            () = stop.clone() => {
                // Running reconciles finish; a controller still held until
                // its cache lists (a kind it may not read) would wait
                // forever, so the wait is bounded.
                if tokio::time::timeout(SHUTDOWN_GRACE, &mut all).await.is_err() {
                    tracing::warn!(seconds = SHUTDOWN_GRACE.as_secs(), "controllers did not stop in time; exiting");
                }
            }
        }
    };
    let lost = async {
        let result = match &elector {
            Some(elector) => renew(elector, stop.clone()).await,
            None => {
                stop.clone().await;
                Ok(())
            }
        };
        // A lost lease stops the controllers too: another replica may be
        // writing by now.
        if let Err(message) = &result {
            tracing::error!(%message, "stopping");
        }
        stop_tx.send_replace(true);
        result
    };
    let (_, _, lost) = tokio::join!(sync, run_controllers, lost);
    for task in informer_tasks {
        task.abort();
    }
    if let Some(elector) = &elector {
        metrics.leader.set(0);
        match elector.release().await {
            Ok(true) => tracing::info!("released the lease"),
            Ok(false) => tracing::info!("the lease is no longer ours; nothing to release"),
            Err(e) => tracing::warn!(error = %e, "could not release the lease"),
        }
    }
    for server in servers {
        let _ = server.await;
    }
    lost
}

/// Tries for the lease until it is ours (true) or the process stops (false).
async fn acquire(elector: &Elector, stop: Stop) -> Result<bool, String> {
    loop {
        match elector.try_acquire().await {
            Ok(Attempt::Held) => return Ok(true),
            Ok(Attempt::HeldByOther(holder)) => {
                tracing::debug!(holder, "the lease is held by another replica");
            }
            Err(e) => tracing::warn!(error = %e, "could not read or write the lease"),
        }
        tokio::select! {
            () = stop.clone() => return Ok(false),
            () = tokio::time::sleep(leader::RETRY_PERIOD) => {}
        }
    }
}

/// Renews the lease until the process stops; returns an error once it
/// could not be renewed for the renew deadline: another replica may hold
/// it by now, so this one must stop writing.
async fn renew(elector: &Elector, stop: Stop) -> Result<(), String> {
    let mut last_renewal = tokio::time::Instant::now();
    loop {
        tokio::select! {
            () = stop.clone() => return Ok(()),
            () = tokio::time::sleep(leader::RETRY_PERIOD) => {}
        }
        match elector.try_acquire().await {
            Ok(Attempt::Held) => last_renewal = tokio::time::Instant::now(),
            Ok(Attempt::HeldByOther(holder)) => {
                return Err(format!(
                    "lost the lease {} to {holder:?}",
                    leader::LEASE_NAME
                ));
            }
            Err(e) => tracing::warn!(error = %e, "could not renew the lease"),
        }
        if last_renewal.elapsed() > leader::RENEW_DEADLINE {
            return Err(format!(
                "could not renew the lease {} for {:?}",
                leader::LEASE_NAME,
                leader::RENEW_DEADLINE
            ));
        }
    }
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        _ => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// A client from the usual places (in-cluster service account, else
/// KUBECONFIG), counting every request by verb.
async fn client(metrics: Arc<Metrics>) -> Result<kube::Client, String> {
    let config = kube::Config::infer()
        .await
        .map_err(|e| format!("no Kubernetes configuration: {e}"))?;
    let mut config = config;
    // Upstream's client limits are QPS 50 / burst 100; kube has no client
    // side limiter, the API server's priority and fairness applies instead.
    config.read_timeout = Some(std::time::Duration::from_secs(295));
    let count = tower::util::MapRequestLayer::new(
        move |request: axum::http::Request<kube::client::Body>| {
            metrics
                .api_requests
                .get_or_create(&VerbLabels {
                    verb: request.method().as_str().to_owned(),
                })
                .inc();
            request
        },
    );
    let builder = kube::client::ClientBuilder::try_from(config).map_err(|e| e.to_string())?;
    Ok(builder.with_layer(&count).build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_variables_are_upstreams() {
        assert_eq!(env_suffix(Component::MultiadminWeb), "MULTIADMIN_WEB");
        let images = images_from_env(|name| {
            (name == "MULTIGRES_IMAGE_MULTIORCH").then(|| " registry.local/orch:1 ".to_owned())
        })
        .unwrap();
        assert_eq!(images.image(Component::Multiorch), "registry.local/orch:1");
        assert_eq!(
            images.image(Component::Postgres),
            Component::Postgres.default_image()
        );
        assert!(images_from_env(|_| Some("not a reference!".into())).is_err());
    }
}
