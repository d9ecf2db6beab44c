//! The five controllers, wired as upstream splits them (§0.1), over the
//! shared informers: what triggers each, and the run loop around each
//! reconcile (logs, metrics, error backoff).

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Resource, ResourceExt};
use tracing::Instrument;

use super::caches::Informers;
use super::context::{Context, Error};
use super::metrics::{ControllerLabels, ObjectLabels, ResultLabels};
use super::{cluster, objects};
use crate::api::{MultigresCluster, TopoServer};
use crate::labels;

/// Upstream's "max concurrent reconciles".
const CONCURRENCY: u16 = 20;

/// The objects of `store` in `namespace` whose labels `keys` equal those of
/// `labels_of_changed` (all present): a child's change reaches its parent.
fn matching<K>(
    store: &Store<K>,
    namespace: Option<&str>,
    changed: &BTreeMap<String, String>,
    keys: &[&str],
) -> Vec<ObjectRef<K>>
where
    K: Resource<DynamicType = ()> + Clone + 'static,
{
    if keys.iter().any(|k| !changed.contains_key(*k)) {
        return Vec::new();
    }
    store
        .state()
        .iter()
        .filter(|o| o.meta().namespace.as_deref() == namespace)
        .filter(|o| {
            let labels = o.meta().labels.as_ref();
            keys.iter()
                .all(|k| labels.and_then(|l| l.get(*k)) == changed.get(*k))
        })
        .map(|o| ObjectRef::from_obj(o.as_ref()))
        .collect()
}

/// The cluster a child belongs to, by its `multigres.com/cluster` label.
fn cluster_of<K: Resource>(object: &K) -> Option<ObjectRef<MultigresCluster>> {
    let name = object.meta().labels.as_ref()?.get(labels::CLUSTER)?;
    let mut reference = ObjectRef::new(name);
    if let Some(ns) = &object.meta().namespace {
        reference = reference.within(ns);
    }
    Some(reference)
}

/// Runs one controller's reconcile with a span naming the object, and
/// counts it, once every cache is synced (`Context::caches_synced`).
async fn observed<K, F>(
    ctx: Arc<Context>,
    controller: &'static str,
    object: Arc<K>,
    reconcile: impl FnOnce(Arc<K>, Arc<Context>) -> F,
) -> Result<Action, Error>
where
    K: Resource + ResourceExt,
    F: Future<Output = Result<Action, Error>>,
{
    if !ctx.caches_synced().await {
        // Stopping before the caches synced: nothing was decided.
        return Ok(Action::await_change());
    }
    let namespace = object.namespace().unwrap_or_default();
    let name = object.name_any();
    let span =
        tracing::info_span!("reconcile", controller, object = %format!("{namespace}/{name}"));
    let started = Instant::now();
    let result = reconcile(object, ctx.clone())
        .instrument(span.clone())
        .await;
    ctx.metrics
        .reconcile_seconds
        .get_or_create(&ControllerLabels { controller })
        .observe(started.elapsed().as_secs_f64());
    let outcome = match &result {
        Ok(_) => "success",
        Err(_) => "error",
    };
    ctx.metrics
        .reconciles
        .get_or_create(&ResultLabels {
            controller,
            result: outcome,
        })
        .inc();
    if let Err(e) = &result {
        ctx.metrics
            .reconcile_errors
            .get_or_create(&ObjectLabels {
                controller,
                name,
                namespace,
            })
            .inc();
        span.in_scope(|| tracing::warn!(error = %e, "reconcile failed"));
    }
    result
}

/// A failed reconcile comes back after a pause (the controller's backoff
/// for errors; upstream's controller-runtime uses a rate limiter).
fn retry_later<K>(_: Arc<K>, _: &Error, _: Arc<Context>) -> Action {
    Action::requeue(Duration::from_secs(5))
}

/// Drives a controller's stream to the end.
fn drive<K, E>(
    stream: impl futures::Stream<Item = Result<(ObjectRef<K>, Action), E>> + Send + 'static,
) -> BoxFuture<'static, ()>
where
    K: Resource + 'static,
    E: Debug + Send + 'static,
{
    stream.for_each(|_| async {}).boxed()
}

/// Every controller, ready to run until `shutdown`.
pub fn controllers(
    informers: &Informers,
    ctx: Arc<Context>,
    shutdown: impl Future<Output = ()> + Clone + Send + Sync + 'static,
) -> Vec<BoxFuture<'static, ()>> {
    let stores = ctx.stores.clone();
    let config = kube::runtime::controller::Config::default().concurrency(CONCURRENCY);

    // MultigresCluster: its templates, the ConfigMaps its shards name, and
    // every child and object of the cluster (status, and in full mode the
    // objects it applies).
    let template_clusters = {
        let clusters = stores.clusters.clone();
        move |kind: crate::api::Kind, name: String, namespace: Option<String>| {
            cluster::clusters_using_template(&clusters, kind, &name, namespace.as_deref())
        }
    };
    let cluster_controller = {
        let (t1, t2, t3) = (
            template_clusters.clone(),
            template_clusters.clone(),
            template_clusters,
        );
        let shards = stores.shards.clone();
        Controller::for_shared_stream(informers.clusters.subscribe(), stores.clusters.clone())
            .with_config(config.clone())
            .watches_shared_stream(informers.core_templates.subscribe(), move |t| {
                t1(crate::api::Kind::CoreTemplate, t.name_any(), t.namespace())
            })
            .watches_shared_stream(informers.cell_templates.subscribe(), move |t| {
                t2(crate::api::Kind::CellTemplate, t.name_any(), t.namespace())
            })
            .watches_shared_stream(informers.shard_templates.subscribe(), move |t| {
                t3(crate::api::Kind::ShardTemplate, t.name_any(), t.namespace())
            })
            .watches_shared_stream(informers.config_map_names.subscribe(), move |cm| {
                objects::shards_naming_config_map(
                    &shards,
                    cm.namespace().as_deref(),
                    &cm.name_any(),
                )
                .into_iter()
                .filter_map(|shard| cluster_of(shard.as_ref()))
                .collect::<Vec<_>>()
            })
            .watches_shared_stream(informers.cells.subscribe(), |o| cluster_of(o.as_ref()))
            .watches_shared_stream(informers.table_groups.subscribe(), |o| {
                cluster_of(o.as_ref())
            })
            .watches_shared_stream(informers.topo_servers.subscribe(), |o| {
                cluster_of(o.as_ref())
            })
            .watches_shared_stream(informers.shards.subscribe(), |o| cluster_of(o.as_ref()))
            .watches_shared_stream(informers.deployments.subscribe(), |o| {
                cluster_of(o.as_ref())
            })
            .watches_shared_stream(informers.stateful_sets.subscribe(), |o| {
                cluster_of(o.as_ref())
            })
            .watches_shared_stream(informers.services.subscribe(), |o| cluster_of(o.as_ref()))
            .watches_shared_stream(informers.disruption_budgets.subscribe(), |o| {
                cluster_of(o.as_ref())
            })
            .watches_shared_stream(informers.claims.subscribe(), |o| cluster_of(o.as_ref()))
            .watches_shared_stream(informers.config_maps.subscribe(), |o| {
                cluster_of(o.as_ref())
            })
            .graceful_shutdown_on(shutdown.clone())
            .run(
                |o, ctx| observed(ctx, "multigrescluster", o, cluster::reconcile),
                retry_later,
                ctx.clone(),
            )
    };

    // TableGroup: its Shards.
    let table_group_controller = {
        let table_groups = stores.table_groups.clone();
        Controller::for_shared_stream(
            informers.table_groups.subscribe(),
            stores.table_groups.clone(),
        )
        .with_config(config.clone())
        .watches_shared_stream(informers.shards.subscribe(), move |shard| {
            matching(
                &table_groups,
                shard.namespace().as_deref(),
                shard.labels(),
                &[labels::CLUSTER, labels::DATABASE, labels::TABLE_GROUP],
            )
        })
        .graceful_shutdown_on(shutdown.clone())
        .run(
            |o, ctx| observed(ctx, "tablegroup", o, objects::reconcile_table_group),
            retry_later,
            ctx.clone(),
        )
    };

    // Cell: its gateway Deployment and its local TopoServer.
    let cell_controller = {
        let (cells_a, cells_b) = (stores.cells.clone(), stores.cells.clone());
        Controller::for_shared_stream(informers.cells.subscribe(), stores.cells.clone())
            .with_config(config.clone())
            .watches_shared_stream(informers.deployments.subscribe(), move |d| {
                matching(
                    &cells_a,
                    d.namespace().as_deref(),
                    d.labels(),
                    &[labels::CLUSTER, labels::CELL],
                )
            })
            .watches_shared_stream(informers.topo_servers.subscribe(), move |t| {
                matching(
                    &cells_b,
                    t.namespace().as_deref(),
                    t.labels(),
                    &[labels::CLUSTER, labels::CELL],
                )
            })
            .graceful_shutdown_on(shutdown.clone())
            .run(
                |o, ctx| observed(ctx, "cell", o, objects::reconcile_cell),
                retry_later,
                ctx.clone(),
            )
    };

    // TopoServer: its StatefulSet (of the same name).
    let topo_controller = Controller::for_shared_stream(
        informers.topo_servers.subscribe(),
        stores.topo_servers.clone(),
    )
    .with_config(config.clone())
    .watches_shared_stream(informers.stateful_sets.subscribe(), |s| {
        let mut reference = ObjectRef::<TopoServer>::new(&s.name_any());
        if let Some(ns) = s.namespace() {
            reference = reference.within(&ns);
        }
        Some(reference)
    })
    .graceful_shutdown_on(shutdown.clone())
    .run(
        |o, ctx| observed(ctx, "toposerver", o, objects::reconcile_topo_server),
        retry_later,
        ctx.clone(),
    );

    // Shard: its pods, its multiorch Deployments, and the ConfigMap its
    // postgresConfigRef names (upstream: every event reconciles).
    let shard_controller = {
        let (a, b, c) = (
            stores.shards.clone(),
            stores.shards.clone(),
            stores.shards.clone(),
        );
        let keys = [
            labels::CLUSTER,
            labels::DATABASE,
            labels::TABLE_GROUP,
            labels::SHARD,
        ];
        Controller::for_shared_stream(informers.shards.subscribe(), stores.shards.clone())
            .with_config(config)
            .watches_shared_stream(informers.pods.subscribe(), move |p| {
                matching(&a, p.namespace().as_deref(), p.labels(), &keys)
            })
            .watches_shared_stream(informers.deployments.subscribe(), move |d| {
                matching(&b, d.namespace().as_deref(), d.labels(), &keys)
            })
            .watches_shared_stream(informers.config_map_names.subscribe(), move |cm| {
                objects::shards_naming_config_map(&c, cm.namespace().as_deref(), &cm.name_any())
                    .iter()
                    .map(|s| ObjectRef::from_obj(s.as_ref()))
                    .collect::<Vec<_>>()
            })
            .graceful_shutdown_on(shutdown)
            .run(
                |o, ctx| observed(ctx, "shard", o, objects::reconcile_shard),
                retry_later,
                ctx,
            )
    };

    vec![
        drive(cluster_controller),
        drive(table_group_controller),
        drive(cell_controller),
        drive(topo_controller),
        drive(shard_controller),
    ]
}
