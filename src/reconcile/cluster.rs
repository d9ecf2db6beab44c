//! The MultigresCluster controller: in full mode it applies the cluster's
//! render (full.rs) and keeps upstream's cleanup finalizer; in both modes it
//! aggregates its children into the cluster's status (§7.7).

use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Resource, ResourceExt};
use serde_json::json;

use super::context::{Context, Error, Mode};
use super::status::{self, ClusterObserved, PlannedEvent, TemplateKind};
use super::{full, images};
use crate::api::{Cell, Kind, MultigresCluster, TableGroup};
use crate::labels;

/// Upstream's finalizer: the cluster's children are deleted before it goes.
pub const CLEANUP_FINALIZER: &str = "multigres.com/cluster-cleanup";
const CONTROLLER: &str = "multigrescluster-controller";

pub async fn reconcile(cluster: Arc<MultigresCluster>, ctx: Arc<Context>) -> Result<Action, Error> {
    let namespace = cluster.namespace().unwrap_or_default();
    let name = cluster.name_any();
    if cluster.meta().deletion_timestamp.is_some() {
        ctx.metrics.forget_cluster(&namespace, &name);
        if ctx.mode == Mode::Full {
            clean_up(&ctx, &cluster).await?;
        }
        return Ok(Action::await_change());
    }

    let mut requeue = None;
    let mut images = None;
    let mut cluster = cluster;
    if ctx.mode == Mode::Full {
        cluster = add_finalizer(&ctx, cluster).await?;
        let resolved = resolve_images(&ctx, &cluster).await?;
        match full::reconcile(&ctx, &cluster, &resolved.images).await {
            Ok(outcome) => {
                requeue = outcome.requeue;
                for key in &outcome.marked {
                    let note = format!(
                        "{key} is no longer in the spec; waiting for it to be ready for deletion"
                    );
                    ctx.event(CONTROLLER, cluster.as_ref(), false, "PendingDeletion", note)
                        .await;
                }
                for key in &outcome.deleted {
                    ctx.event(
                        CONTROLLER,
                        cluster.as_ref(),
                        false,
                        "Deleted",
                        format!("deleted {key}"),
                    )
                    .await;
                }
                if outcome.writes > 0 {
                    tracing::info!(writes = outcome.writes, "applied the render");
                }
            }
            Err(e @ Error::Compile(_)) => {
                ctx.event(
                    CONTROLLER,
                    cluster.as_ref(),
                    true,
                    "FailedApply",
                    e.to_string(),
                )
                .await;
                return Err(e);
            }
            Err(e) => return Err(e),
        }
        images = Some(resolved);
    }

    write_status(&ctx, &cluster, &namespace, images.as_ref()).await?;
    Ok(requeue.map_or_else(Action::await_change, Action::requeue))
}

/// Resolves the images the cluster runs (images.rs) and records them in
/// its `multigres.com/applied-images` annotation when they changed.
async fn resolve_images(
    ctx: &Context,
    cluster: &MultigresCluster,
) -> Result<images::Resolved, Error> {
    let annotation = cluster
        .annotations()
        .get(labels::APPLIED_IMAGES)
        .map(String::as_str);
    let observed = images::ImagesObserved {
        pinned: &cluster.spec.images,
        policy: cluster.spec.image_update_policy.as_ref(),
        annotation,
        status: cluster.status.as_ref().and_then(|s| s.images.as_ref()),
        default_strategy: ctx.image_update_strategy,
        available: &ctx.images,
    };
    let resolved = match images::resolve(&observed) {
        Ok(resolved) => resolved,
        Err(invalid) => {
            publish(ctx, CONTROLLER, cluster, invalid.events.clone()).await;
            return Err(Error::Other(invalid.to_string()));
        }
    };
    if annotation != Some(resolved.annotation.as_str()) {
        // The resourceVersion makes it an optimistic lock, as upstream's.
        let patch = json!({"metadata": {
            "annotations": {labels::APPLIED_IMAGES: resolved.annotation},
            "resourceVersion": cluster.resource_version(),
        }});
        api(ctx, cluster)
            .patch(
                &cluster.name_any(),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await?;
    }
    Ok(resolved)
}

/// Plans and writes the cluster's status; in full mode `images` adds
/// `status.images` and ImageRolloutPending.
async fn write_status(
    ctx: &Context,
    cluster: &MultigresCluster,
    namespace: &str,
    images: Option<&images::Resolved>,
) -> Result<(), Error> {
    let name = cluster.name_any();
    let of_cluster = |labels: Option<&std::collections::BTreeMap<String, String>>| {
        labels
            .and_then(|l| l.get(labels::CLUSTER))
            .map(String::as_str)
            == Some(name.as_str())
    };
    let in_cluster = |meta: &kube::core::ObjectMeta| {
        meta.namespace.as_deref() == Some(namespace) && of_cluster(meta.labels.as_ref())
    };
    let stores = &ctx.stores;
    let cells: Vec<Cell> = owned(&stores.cells, in_cluster);
    let table_groups: Vec<TableGroup> = owned(&stores.table_groups, in_cluster);
    let topo_servers = owned(&stores.topo_servers, in_cluster);
    let service = |suffix: &str| {
        stores
            .services
            .get(&ObjectRef::new(&format!("{name}-{suffix}")).within(namespace))
    };
    let deployment = stores
        .deployments
        .get(&ObjectRef::new(&format!("{name}-multiadmin-web")).within(namespace));
    let (gateway_service, admin_web_service) = (service("multigateway"), service("multiadmin-web"));
    let now = Time(Timestamp::now());
    let mut planned = status::cluster_status(
        &ClusterObserved {
            cluster,
            cells: &cells,
            table_groups: &table_groups,
            topo_servers: &topo_servers,
            gateway_service: gateway_service.as_deref(),
            admin_web_service: admin_web_service.as_deref(),
            admin_web_deployment: deployment.as_deref(),
        },
        &now,
    );
    if let Some(resolved) = images {
        images::set_status(
            &mut planned.status,
            resolved,
            cluster.metadata.generation,
            &now,
        );
        planned.events.extend(resolved.events.iter().cloned());
    }
    let phase = planned.status.phase.map(|p| status::phase_name(Some(p)));
    ctx.metrics.set_cluster_phase(namespace, &name, phase);
    let labels = super::metrics::ClusterLabels {
        cluster: name.clone(),
        namespace: namespace.into(),
    };
    ctx.metrics
        .cluster_cells
        .get_or_create(&labels)
        .set(planned.status.cells.len() as i64);
    ctx.metrics.cluster_shards.get_or_create(&labels).set(
        planned
            .status
            .databases
            .values()
            .map(|d| i64::from(d.total_shards))
            .sum(),
    );
    if ctx
        .write_status(cluster, cluster.status.as_ref(), &planned.status)
        .await?
    {
        publish(ctx, CONTROLLER, cluster, planned.events).await;
    }
    Ok(())
}

/// Publishes a planner's events on `object`.
pub async fn publish<K: Resource<DynamicType = ()>>(
    ctx: &Context,
    controller: &'static str,
    object: &K,
    events: Vec<PlannedEvent>,
) {
    for event in events {
        let warning = event.type_ == status::EventType::Warning;
        ctx.event(controller, object, warning, event.reason, event.message)
            .await;
    }
}

/// The objects of `store` that `keep` selects, sorted by name.
pub fn owned<K>(store: &Store<K>, keep: impl Fn(&kube::core::ObjectMeta) -> bool) -> Vec<K>
where
    K: Resource<DynamicType = ()> + Clone + 'static,
{
    let mut out: Vec<K> = store
        .state()
        .iter()
        .filter(|o| keep(o.meta()))
        .map(|o| o.as_ref().clone())
        .collect();
    out.sort_by_key(|o| o.meta().name.clone());
    out
}

/// Adds the cleanup finalizer; returns the cluster as it is now (a later
/// optimistic-lock write needs its new resourceVersion).
async fn add_finalizer(
    ctx: &Context,
    cluster: Arc<MultigresCluster>,
) -> Result<Arc<MultigresCluster>, Error> {
    if cluster.finalizers().iter().any(|f| f == CLEANUP_FINALIZER) {
        return Ok(cluster);
    }
    let mut finalizers = cluster.finalizers().to_vec();
    finalizers.push(CLEANUP_FINALIZER.into());
    Ok(Arc::new(set_finalizers(ctx, &cluster, &finalizers).await?))
}

/// Writes the cluster's finalizers with a merge patch that carries its
/// resourceVersion: an optimistic lock, so a finalizer someone else added
/// meanwhile is never dropped (upstream does the same).
async fn set_finalizers(
    ctx: &Context,
    cluster: &MultigresCluster,
    finalizers: &[String],
) -> Result<MultigresCluster, Error> {
    let patch = json!({"metadata": {
        "finalizers": finalizers,
        "resourceVersion": cluster.resource_version(),
    }});
    Ok(api(ctx, cluster)
        .patch(
            &cluster.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await?)
}

/// Upstream's cleanup (§7.8): delete the cluster's Cells and TableGroups,
/// then let it go. Garbage collection removes the rest by ownerReference.
async fn clean_up(ctx: &Context, cluster: &MultigresCluster) -> Result<(), Error> {
    if !cluster.finalizers().iter().any(|f| f == CLEANUP_FINALIZER) {
        return Ok(());
    }
    let namespace = cluster.namespace().unwrap_or_default();
    let selector = format!("{}={}", labels::CLUSTER, cluster.name_any());
    let params = ListParams::default().labels(&selector);
    let cells: Api<Cell> = Api::namespaced(ctx.client.clone(), &namespace);
    cells
        .delete_collection(&DeleteParams::background(), &params)
        .await?;
    let table_groups: Api<TableGroup> = Api::namespaced(ctx.client.clone(), &namespace);
    table_groups
        .delete_collection(&DeleteParams::background(), &params)
        .await?;
    let finalizers: Vec<String> = cluster
        .finalizers()
        .iter()
        .filter(|f| *f != CLEANUP_FINALIZER)
        .cloned()
        .collect();
    set_finalizers(ctx, cluster, &finalizers).await?;
    ctx.event(
        CONTROLLER,
        cluster,
        false,
        "CleanupComplete",
        "deleted the cluster's cells and table groups".into(),
    )
    .await;
    Ok(())
}

fn api(ctx: &Context, cluster: &MultigresCluster) -> Api<MultigresCluster> {
    Api::namespaced(ctx.client.clone(), &cluster.namespace().unwrap_or_default())
}

/// The clusters a change to a template re-reconciles.
pub fn clusters_using_template(
    clusters: &Store<MultigresCluster>,
    kind: Kind,
    name: &str,
    namespace: Option<&str>,
) -> Vec<ObjectRef<MultigresCluster>> {
    let Some(kind) = TemplateKind::from_kind(kind) else {
        return Vec::new();
    };
    let all: Vec<MultigresCluster> = clusters
        .state()
        .iter()
        .map(|c| c.as_ref().clone())
        .collect();
    status::clusters_using_template(&all, kind, namespace.unwrap_or_default(), name)
        .into_iter()
        .map(ObjectRef::from_obj)
        .collect()
}
