//! What every controller shares: the client, the mode, the caches, the
//! metrics, and the few writes all of them make (status, events).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use kube::api::{Api, Patch, PatchParams};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::{Client, Resource, ResourceExt};
use serde::Serialize;
use serde_json::{Value, json};

use super::caches::Stores;
use super::metrics::Metrics;
use super::plan::{FIELD_MANAGER, PENDING_DELETION};
use super::run::Settings;
use crate::api::cluster::ImageUpdateStrategy;
use crate::images::ImageSet;

/// Who applies the static objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The reconciler applies every static object (a drop-in for upstream).
    Full,
    /// A GitOps tool applies them; the reconciler writes status and the
    /// runtime objects only.
    Runtime,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Full => "full",
            Mode::Runtime => "runtime",
        }
    }
}

/// A reconcile's failure; the controller retries it with backoff.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Kube(#[from] kube::Error),
    /// The cluster and its templates do not compile (the diagnostics, as
    /// `multigres validate` prints them).
    #[error("the cluster does not compile:\n{0}")]
    Compile(String),
    #[error("{0}")]
    Other(String),
}

/// Shared by the five controllers.
pub struct Context {
    pub client: Client,
    pub mode: Mode,
    pub stores: Stores,
    pub metrics: Arc<Metrics>,
    /// The operator's image set (the available set of images.rs).
    pub images: ImageSet,
    /// `--image-update-strategy`.
    pub image_update_strategy: ImageUpdateStrategy,
    /// The Event recorder of each controller (upstream's component names).
    recorders: HashMap<&'static str, Recorder>,
    /// True once every cache holds its first complete list (run.rs sets it).
    synced: tokio::sync::watch::Sender<bool>,
    /// True once the process is stopping (SIGTERM, a lost Lease).
    stopping: tokio::sync::watch::Receiver<bool>,
}

/// Requeue periods of upstream (§0.3).
pub const REQUEUE_PENDING: Duration = Duration::from_secs(5);
pub const REQUEUE_NOT_HEALTHY: Duration = Duration::from_secs(30);

impl Context {
    /// The context of a process run with `settings` (its identity names
    /// the events' reporting instance); `stopping` turns true when it stops.
    pub fn new(
        client: Client,
        settings: &Settings,
        stores: Stores,
        metrics: Arc<Metrics>,
        stopping: tokio::sync::watch::Receiver<bool>,
    ) -> Self {
        let recorders = [
            "multigrescluster-controller",
            "tablegroup-controller",
            "cell-controller",
            "toposerver-controller",
            "shard-controller",
        ]
        .into_iter()
        .map(|controller| {
            let reporter = Reporter {
                controller: controller.into(),
                instance: Some(settings.identity.clone()),
            };
            (controller, Recorder::new(client.clone(), reporter))
        })
        .collect();
        Self {
            client,
            mode: settings.mode,
            stores,
            metrics,
            images: settings.images.clone(),
            image_update_strategy: settings.image_update_strategy,
            recorders,
            synced: tokio::sync::watch::Sender::new(false),
            stopping,
        }
    }

    /// Marks every cache synced: reconciles waiting in `caches_synced` go on.
    pub fn set_caches_synced(&self) {
        self.synced.send_replace(true);
    }

    /// Waits until every cache holds its first complete list (true), or
    /// the process stops first (false: a cache that cannot list, such as a
    /// kind the ServiceAccount may not read, must not keep SIGTERM from
    /// ending the process). The controllers start with the informers, and a
    /// reconcile decided on a partial cache would apply again what exists,
    /// or write a status that misses children (and another one a moment
    /// later). run.rs sets the flag once every informer has listed
    /// (`Informers::all_listed`).
    pub async fn caches_synced(&self) -> bool {
        let mut synced = self.synced.subscribe();
        let mut stopping = self.stopping.clone();
        tokio::select! {
            result = synced.wait_for(|synced| *synced) => result.is_ok(),
            _ = stopping.wait_for(|stop| *stop) => false,
        }
    }

    /// Publishes an Event about `object`. A failure is logged, never fatal:
    /// events are for people, and the next change publishes again.
    pub async fn event<K: Resource<DynamicType = ()>>(
        &self,
        controller: &'static str,
        object: &K,
        warning: bool,
        reason: &str,
        note: String,
    ) {
        let Some(recorder) = self.recorders.get(controller) else {
            return;
        };
        let event = Event {
            type_: if warning {
                EventType::Warning
            } else {
                EventType::Normal
            },
            reason: reason.into(),
            note: Some(note),
            action: "Reconcile".into(),
            secondary: None,
        };
        if let Err(e) = recorder.publish(&event, &object.object_ref(&())).await {
            tracing::warn!(error = %e, reason, "could not publish an event");
        }
    }

    /// Annotates `multigres.com/pending-deletion` on `name`: the first step
    /// of upstream's deletion handshake (its controller prepares, reports
    /// `ReadyForDeletion`, and only then is it deleted).
    pub async fn mark_pending_deletion<K>(api: &Api<K>, name: &str) -> Result<(), Error>
    where
        K: Clone + serde::de::DeserializeOwned + std::fmt::Debug,
    {
        let patch = json!({"metadata": {"annotations": {PENDING_DELETION: "true"}}});
        api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
        Ok(())
    }

    /// Writes `status` with server-side apply (upstream: force, field
    /// manager `multigres-operator`), unless it equals the live status: a
    /// no-op reconcile writes nothing.
    pub async fn write_status<K, S>(
        &self,
        object: &K,
        live: Option<&S>,
        status: &S,
    ) -> Result<bool, Error>
    where
        K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
            + Clone
            + serde::de::DeserializeOwned
            + std::fmt::Debug,
        S: Serialize,
    {
        if !super::status::status_changed(live, status) {
            return Ok(false);
        }
        let api: Api<K> =
            Api::namespaced(self.client.clone(), &object.namespace().unwrap_or_default());
        let patch = json!({
            "apiVersion": K::api_version(&()),
            "kind": K::kind(&()),
            "status": serde_json::to_value(status).unwrap_or(Value::Null),
        });
        api.patch_status(
            &object.name_any(),
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&patch),
        )
        .await?;
        Ok(true)
    }
}
