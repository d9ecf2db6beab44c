//! The controllers of the child kinds (TableGroup, Cell, TopoServer,
//! Shard): each observes its objects in the caches, asks its status planner
//! (status/) what to write, and takes its part in upstream's deletion
//! handshake when its parent marked it `multigres.com/pending-deletion`.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, Time};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams};
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Resource, ResourceExt};

use super::cluster::{owned, publish};
use super::context::{Context, Error, REQUEUE_NOT_HEALTHY, REQUEUE_PENDING};
use super::metrics::{CellReplicaLabels, PoolReplicaLabels, TopoReplicaLabels};
use super::plan::PENDING_DELETION;
use super::status;
use crate::api::status::Phase;
use crate::api::{Cell, Shard, TableGroup, TopoServer};
use crate::labels;

fn now() -> Time {
    Time(Timestamp::now())
}

fn pending_deletion<K: Resource>(object: &K) -> bool {
    object
        .meta()
        .annotations
        .as_ref()
        .is_some_and(|a| a.contains_key(PENDING_DELETION))
}

/// Whether `owner` is among the ownerReferences of `meta`.
fn owned_by(meta: &kube::core::ObjectMeta, owner: &impl Resource) -> bool {
    let uid = owner.meta().uid.as_deref();
    uid.is_some()
        && meta
            .owner_references
            .iter()
            .flatten()
            .any(|o| Some(o.uid.as_str()) == uid)
}

/// Whether `labels` carry every label of `keys` with the values `of` has.
fn same_labels(of: &kube::core::ObjectMeta, meta: &kube::core::ObjectMeta, keys: &[&str]) -> bool {
    let (a, b) = (of.labels.as_ref(), meta.labels.as_ref());
    keys.iter().all(|k| {
        let value = a.and_then(|l| l.get(*k));
        value.is_some() && value == b.and_then(|l| l.get(*k))
    })
}

/// Pods of the namespace that a workload's selector selects.
fn pods_selected(pods: &Store<Pod>, namespace: &str, selector: Option<&LabelSelector>) -> Vec<Pod> {
    let Some(wanted) = selector.and_then(|s| s.match_labels.as_ref()) else {
        return Vec::new();
    };
    owned(pods, |meta| {
        meta.namespace.as_deref() == Some(namespace)
            && wanted
                .iter()
                .all(|(k, v)| meta.labels.as_ref().and_then(|l| l.get(k)) == Some(v))
    })
}

fn same_namespace(object: &impl Resource) -> impl Fn(&kube::core::ObjectMeta) -> bool + '_ {
    move |meta| meta.namespace == object.meta().namespace
}

// ---------------------------------------------------------------- TableGroup

const TABLE_GROUP_CONTROLLER: &str = "tablegroup-controller";
const SHARD_KEYS: [&str; 4] = [
    labels::CLUSTER,
    labels::DATABASE,
    labels::TABLE_GROUP,
    labels::SHARD,
];
const TABLE_GROUP_KEYS: [&str; 3] = [labels::CLUSTER, labels::DATABASE, labels::TABLE_GROUP];

pub async fn reconcile_table_group(
    tg: Arc<TableGroup>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    if tg.meta().deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let namespace = tg.namespace().unwrap_or_default();
    let in_group = |meta: &kube::core::ObjectMeta| {
        same_namespace(tg.as_ref())(meta) && same_labels(tg.meta(), meta, &TABLE_GROUP_KEYS)
    };
    let shards: Vec<Shard> = owned(&ctx.stores.shards, in_group);
    if pending_deletion(tg.as_ref()) {
        // Upstream: mark every Shard, wait until each is ready, then report.
        let api: Api<Shard> = Api::namespaced(ctx.client.clone(), &namespace);
        for shard in shards.iter().filter(|s| !pending_deletion(*s)) {
            Context::mark_pending_deletion(&api, &shard.name_any()).await?;
            ctx.event(
                TABLE_GROUP_CONTROLLER,
                shard,
                false,
                "PendingDeletion",
                "its table group is being removed".into(),
            )
            .await;
        }
        match status::table_group_ready_for_deletion(&tg, &shards, &now()) {
            Some(planned) => {
                if ctx
                    .write_status(tg.as_ref(), tg.status.as_ref(), &planned.status)
                    .await?
                {
                    publish(&ctx, TABLE_GROUP_CONTROLLER, tg.as_ref(), planned.events).await;
                }
                return Ok(Action::await_change());
            }
            None => return Ok(Action::requeue(REQUEUE_PENDING)),
        }
    }
    let planned = status::table_group_status(
        &status::TableGroupObserved {
            table_group: &tg,
            shards: &shards,
            applied_generations: &BTreeMap::new(),
        },
        &now(),
    );
    let healthy = planned.status.phase == Some(Phase::Healthy);
    if ctx
        .write_status(tg.as_ref(), tg.status.as_ref(), &planned.status)
        .await?
    {
        publish(&ctx, TABLE_GROUP_CONTROLLER, tg.as_ref(), planned.events).await;
    }
    Ok(if healthy {
        Action::await_change()
    } else {
        Action::requeue(REQUEUE_NOT_HEALTHY)
    })
}

// ---------------------------------------------------------------------- Cell

const CELL_CONTROLLER: &str = "cell-controller";

pub async fn reconcile_cell(cell: Arc<Cell>, ctx: Arc<Context>) -> Result<Action, Error> {
    if cell.meta().deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let namespace = cell.namespace().unwrap_or_default();
    let cell_keys = [labels::CLUSTER, labels::CELL];
    let local_topo = owned(&ctx.stores.topo_servers, |meta| {
        same_namespace(cell.as_ref())(meta) && same_labels(cell.meta(), meta, &cell_keys)
    })
    .into_iter()
    .next();
    if pending_deletion(cell.as_ref()) {
        // Upstream: delete the Cell's own local TopoServer first, and wait.
        if let Some(topo) = local_topo
            .as_ref()
            .filter(|t| owned_by(t.meta(), cell.as_ref()))
            && topo.meta().deletion_timestamp.is_none()
        {
            let api: Api<TopoServer> = Api::namespaced(ctx.client.clone(), &namespace);
            api.delete(&topo.name_any(), &DeleteParams::background())
                .await?;
        }
        let exists = local_topo
            .as_ref()
            .is_some_and(|t| owned_by(t.meta(), cell.as_ref()));
        if let Some(planned) = status::cell::cell_ready_for_deletion(&cell, exists, &now())
            && ctx
                .write_status(cell.as_ref(), cell.status.as_ref(), &planned.status)
                .await?
        {
            publish(&ctx, CELL_CONTROLLER, cell.as_ref(), planned.events).await;
        }
        return Ok(if exists {
            Action::requeue(REQUEUE_PENDING)
        } else {
            Action::await_change()
        });
    }
    let gateway: Option<Deployment> = owned(&ctx.stores.deployments, |meta| {
        same_namespace(cell.as_ref())(meta)
            && same_labels(cell.meta(), meta, &cell_keys)
            && meta
                .labels
                .as_ref()
                .and_then(|l| l.get(labels::COMPONENT))
                .map(String::as_str)
                == Some("multigateway")
    })
    .into_iter()
    .next();
    let gateway_pods = gateway.as_ref().map_or_else(Vec::new, |d| {
        pods_selected(
            &ctx.stores.pods,
            &namespace,
            d.spec.as_ref().map(|s| &s.selector),
        )
    });
    let planned = status::cell_status(
        &status::CellObserved {
            cell: &cell,
            gateway: gateway.as_ref(),
            gateway_pods: &gateway_pods,
            local_topo_ready: status::cell::local_topo_ready(&cell, local_topo.as_ref()),
        },
        &now(),
    );
    // Upstream writes no status while the Deployment is missing.
    let Some(planned) = planned else {
        return Ok(Action::requeue(REQUEUE_PENDING));
    };
    for (state, value) in [
        ("desired", planned.status.gateway_replicas),
        ("ready", planned.status.gateway_ready_replicas),
    ] {
        ctx.metrics
            .cell_gateway_replicas
            .get_or_create(&CellReplicaLabels {
                cell: cell.name_any(),
                namespace: namespace.clone(),
                state,
            })
            .set(i64::from(value));
    }
    let healthy = planned.status.phase == Some(Phase::Healthy);
    if ctx
        .write_status(cell.as_ref(), cell.status.as_ref(), &planned.status)
        .await?
    {
        publish(&ctx, CELL_CONTROLLER, cell.as_ref(), planned.events).await;
    }
    Ok(if healthy {
        Action::await_change()
    } else {
        Action::requeue(REQUEUE_NOT_HEALTHY)
    })
}

// ---------------------------------------------------------------- TopoServer

const TOPO_CONTROLLER: &str = "toposerver-controller";

pub async fn reconcile_topo_server(
    topo: Arc<TopoServer>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    if topo.meta().deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let namespace = topo.namespace().unwrap_or_default();
    let stateful_set = ctx
        .stores
        .stateful_sets
        .get(&ObjectRef::new(&topo.name_any()).within(&namespace));
    let pods = stateful_set.as_ref().map_or_else(Vec::new, |s| {
        pods_selected(
            &ctx.stores.pods,
            &namespace,
            s.spec.as_ref().map(|s| &s.selector),
        )
    });
    let Some(planned) = status::topo_server_status(
        &status::TopoServerObserved {
            topo_server: &topo,
            stateful_set: stateful_set.as_deref(),
            pods: &pods,
        },
        &now(),
    ) else {
        return Ok(Action::requeue(REQUEUE_PENDING));
    };
    let desired = stateful_set
        .as_ref()
        .and_then(|s| s.spec.as_ref())
        .and_then(|s| s.replicas)
        .unwrap_or(1);
    let ready = stateful_set
        .as_ref()
        .and_then(|s| s.status.as_ref())
        .and_then(|s| s.ready_replicas)
        .unwrap_or(0);
    for (state, value) in [("desired", desired), ("ready", ready)] {
        ctx.metrics
            .topo_server_replicas
            .get_or_create(&TopoReplicaLabels {
                name: topo.name_any(),
                namespace: namespace.clone(),
                state,
            })
            .set(i64::from(value));
    }
    let healthy = planned.status.phase == Some(Phase::Healthy);
    if ctx
        .write_status(topo.as_ref(), topo.status.as_ref(), &planned.status)
        .await?
    {
        publish(&ctx, TOPO_CONTROLLER, topo.as_ref(), planned.events).await;
    }
    Ok(if healthy {
        Action::await_change()
    } else {
        Action::requeue(REQUEUE_NOT_HEALTHY)
    })
}

// --------------------------------------------------------------------- Shard

const SHARD_CONTROLLER: &str = "shard-controller";

pub async fn reconcile_shard(shard: Arc<Shard>, ctx: Arc<Context>) -> Result<Action, Error> {
    if shard.meta().deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let namespace = shard.namespace().unwrap_or_default();
    let of_shard = |meta: &kube::core::ObjectMeta| {
        same_namespace(shard.as_ref())(meta) && same_labels(shard.meta(), meta, &SHARD_KEYS)
    };
    let component = |meta: &kube::core::ObjectMeta| {
        meta.labels
            .as_ref()
            .and_then(|l| l.get(labels::COMPONENT))
            .cloned()
            .unwrap_or_default()
    };
    let pool_pods: Vec<Pod> = owned(&ctx.stores.pods, |meta| {
        of_shard(meta)
            && meta
                .labels
                .as_ref()
                .is_some_and(|l| l.contains_key(labels::POOL))
    });
    let multiorch: Vec<Deployment> = owned(&ctx.stores.deployments, |meta| {
        of_shard(meta) && component(meta) == "multiorch"
    });
    let multiorch_pods: Vec<Pod> = owned(&ctx.stores.pods, |meta| {
        of_shard(meta) && component(meta) == "multiorch"
    });
    let planned = status::shard_status(
        &status::ShardObserved {
            shard: &shard,
            pods: &pool_pods,
            multiorch: &multiorch,
            multiorch_pods: &multiorch_pods,
            config: None,
        },
        &now(),
    );
    if pending_deletion(shard.as_ref()) && pool_pods.is_empty() {
        // Pool pods are the runtime objects of a later controller (it
        // drains them): with none left the shard is ready to go.
        if let Some(ready) = status::shard_ready_for_deletion(&shard, &now())
            && ctx
                .write_status(shard.as_ref(), shard.status.as_ref(), &ready.status)
                .await?
        {
            publish(&ctx, SHARD_CONTROLLER, shard.as_ref(), ready.events).await;
        }
        return Ok(Action::await_change());
    }
    let cluster = shard
        .labels()
        .get(labels::CLUSTER)
        .cloned()
        .unwrap_or_default();
    for (pool_name, pool) in &shard.spec.pools {
        let desired = pool.replicas_per_cell.unwrap_or(1) * pool.cells.len() as i32;
        let ready = pool_pods
            .iter()
            .filter(|p| p.labels().get(labels::POOL) == Some(pool_name))
            .filter(|p| status::pods::is_ready(p) && !status::pods::is_terminating(p))
            .count() as i64;
        for (state, value) in [("desired", i64::from(desired)), ("ready", ready)] {
            ctx.metrics
                .shard_pool_replicas
                .get_or_create(&PoolReplicaLabels {
                    cluster: cluster.clone(),
                    shard: shard.name_any(),
                    pool: pool_name.clone(),
                    cell: String::new(),
                    namespace: namespace.clone(),
                    state,
                })
                .set(value);
        }
    }
    let healthy = planned.status.phase == Some(Phase::Healthy);
    if ctx
        .write_status(shard.as_ref(), shard.status.as_ref(), &planned.status)
        .await?
    {
        publish(&ctx, SHARD_CONTROLLER, shard.as_ref(), planned.events).await;
    }
    Ok(if healthy {
        Action::await_change()
    } else {
        Action::requeue(REQUEUE_NOT_HEALTHY)
    })
}

/// The Shards whose `postgresConfigRef` names a ConfigMap.
pub fn shards_naming_config_map(
    shards: &Store<Shard>,
    namespace: Option<&str>,
    name: &str,
) -> Vec<Arc<Shard>> {
    let all: Vec<Shard> = shards.state().iter().map(|s| s.as_ref().clone()).collect();
    let config_map = ConfigMap {
        metadata: kube::core::ObjectMeta {
            name: Some(name.into()),
            namespace: namespace.map(str::to_owned),
            ..Default::default()
        },
        ..Default::default()
    };
    status::shards_using_config_map(&all, &config_map)
        .into_iter()
        .map(|s| Arc::new(s.clone()))
        .collect()
}
