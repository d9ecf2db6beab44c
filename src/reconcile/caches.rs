//! One watch per kind, shared by every controller: each kind's reflector
//! keeps a store (read by the controllers instead of the API server) and
//! fans its changes out to the controllers that subscribed.
//!
//! Memory is bounded as upstream's cache rules (§9.4) bound it: the kinds
//! the operator creates are watched with the `app.kubernetes.io/managed-by:
//! multigres-operator` selector, so unrelated Pods, Services and
//! Deployments of the cluster are never held. User ConfigMaps (a shard's
//! `postgresConfigRef`) are watched as metadata only, and read when used.

use std::fmt::Debug;

use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Pod, Service};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::core::PartialObjectMeta;
use kube::runtime::reflector::{self, ReflectHandle, Store, store::Writer};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, Resource};
use serde::de::DeserializeOwned;
use tokio::sync::watch;

use crate::api::{
    Cell, CellTemplate, CoreTemplate, MultigresCluster, Shard, ShardTemplate, TableGroup,
    TopoServer,
};
use crate::labels;

/// How many changes a subscriber may lag behind before the reflector waits.
const FAN_OUT_BUFFER: usize = 1024;

type Start<K> = Box<dyn FnOnce(Writer<K>) -> BoxFuture<'static, ()> + Send>;

/// A shared informer of one kind: subscribe, then start.
pub struct Informer<K: Resource<DynamicType = ()> + Clone + 'static> {
    pub store: Store<K>,
    writer: Writer<K>,
    start: Start<K>,
    /// True once the store holds a complete list. Kept here rather than
    /// read with `Store::wait_until_ready`: that wakes only its latest
    /// waiter, and each kube Controller already waits on its own store, so
    /// a second waiter on the same store loses one of the two wake-ups (a
    /// controller that never starts, or a process that never gets ready).
    listed: watch::Receiver<bool>,
}

impl<K> Informer<K>
where
    K: Resource<DynamicType = ()> + Clone + Debug + DeserializeOwned + Send + Sync + 'static,
{
    fn watch(api: Api<K>, config: watcher::Config) -> Self {
        let (store, writer) = reflector::store_shared(FAN_OUT_BUFFER);
        let (listed_tx, listed) = watch::channel(false);
        Self {
            store,
            writer,
            start: Box::new(move |writer| {
                watcher(api, config)
                    .default_backoff()
                    .reflect_shared(writer)
                    .for_each(move |event| {
                        match event {
                            Ok(watcher::Event::InitDone) => {
                                listed_tx.send_replace(true);
                            }
                            Ok(_) => {}
                            // Retried with backoff; say why (a kind it may
                            // not list keeps every cache from syncing).
                            Err(error) => {
                                tracing::warn!(kind = %K::kind(&()), %error, "watch failed; retrying");
                            }
                        }
                        async {}
                    })
                    .boxed()
            }),
            listed,
        }
    }

    /// A stream of every change, for one controller.
    pub fn subscribe(&self) -> ReflectHandle<K> {
        self.writer
            .subscribe()
            .expect("a shared store always accepts subscribers")
    }

    /// The future that keeps the store current; it runs until dropped.
    fn start(self) -> BoxFuture<'static, ()> {
        (self.start)(self.writer)
    }
}

/// Every informer of the reconciler.
pub struct Informers {
    pub clusters: Informer<MultigresCluster>,
    pub core_templates: Informer<CoreTemplate>,
    pub cell_templates: Informer<CellTemplate>,
    pub shard_templates: Informer<ShardTemplate>,
    pub cells: Informer<Cell>,
    pub table_groups: Informer<TableGroup>,
    pub shards: Informer<Shard>,
    pub topo_servers: Informer<TopoServer>,
    pub deployments: Informer<Deployment>,
    pub stateful_sets: Informer<StatefulSet>,
    pub services: Informer<Service>,
    pub disruption_budgets: Informer<PodDisruptionBudget>,
    pub claims: Informer<PersistentVolumeClaim>,
    pub pods: Informer<Pod>,
    /// ConfigMaps the operator creates (whole objects).
    pub config_maps: Informer<ConfigMap>,
    /// Every ConfigMap, metadata only: a change to one a shard names
    /// re-reconciles that shard.
    pub config_map_names: Informer<PartialObjectMeta<ConfigMap>>,
}

/// Stores of every informer, for reading.
#[derive(Clone)]
pub struct Stores {
    pub clusters: Store<MultigresCluster>,
    pub core_templates: Store<CoreTemplate>,
    pub cell_templates: Store<CellTemplate>,
    pub shard_templates: Store<ShardTemplate>,
    pub cells: Store<Cell>,
    pub table_groups: Store<TableGroup>,
    pub shards: Store<Shard>,
    pub topo_servers: Store<TopoServer>,
    pub deployments: Store<Deployment>,
    pub stateful_sets: Store<StatefulSet>,
    pub services: Store<Service>,
    pub disruption_budgets: Store<PodDisruptionBudget>,
    pub claims: Store<PersistentVolumeClaim>,
    pub pods: Store<Pod>,
    pub config_maps: Store<ConfigMap>,
}

impl Informers {
    /// Informers over `namespace`, or every namespace.
    pub fn new(client: &Client, namespace: Option<&str>) -> Self {
        fn api<K: Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>>(
            client: &Client,
            namespace: Option<&str>,
        ) -> Api<K> {
            match namespace {
                Some(ns) => Api::namespaced(client.clone(), ns),
                None => Api::all(client.clone()),
            }
        }
        let all = watcher::Config::default;
        let managed = || {
            watcher::Config::default().labels(&format!(
                "{}={}",
                labels::MANAGED_BY,
                labels::MANAGED_BY_OPERATOR
            ))
        };
        Self {
            clusters: Informer::watch(api(client, namespace), all()),
            core_templates: Informer::watch(api(client, namespace), all()),
            cell_templates: Informer::watch(api(client, namespace), all()),
            shard_templates: Informer::watch(api(client, namespace), all()),
            cells: Informer::watch(api(client, namespace), all()),
            table_groups: Informer::watch(api(client, namespace), all()),
            shards: Informer::watch(api(client, namespace), all()),
            topo_servers: Informer::watch(api(client, namespace), all()),
            deployments: Informer::watch(api(client, namespace), managed()),
            stateful_sets: Informer::watch(api(client, namespace), managed()),
            services: Informer::watch(api(client, namespace), managed()),
            disruption_budgets: Informer::watch(api(client, namespace), managed()),
            claims: Informer::watch(api(client, namespace), managed()),
            pods: Informer::watch(api(client, namespace), managed()),
            config_maps: Informer::watch(api(client, namespace), managed()),
            config_map_names: Informer::watch(api(client, namespace), all()),
        }
    }

    pub fn stores(&self) -> Stores {
        Stores {
            clusters: self.clusters.store.clone(),
            core_templates: self.core_templates.store.clone(),
            cell_templates: self.cell_templates.store.clone(),
            shard_templates: self.shard_templates.store.clone(),
            cells: self.cells.store.clone(),
            table_groups: self.table_groups.store.clone(),
            shards: self.shards.store.clone(),
            topo_servers: self.topo_servers.store.clone(),
            deployments: self.deployments.store.clone(),
            stateful_sets: self.stateful_sets.store.clone(),
            services: self.services.store.clone(),
            disruption_budgets: self.disruption_budgets.store.clone(),
            claims: self.claims.store.clone(),
            pods: self.pods.store.clone(),
            config_maps: self.config_maps.store.clone(),
        }
    }

    /// Resolves once every informer has listed its kind completely (call
    /// before `start`). Any number of tasks may wait on it.
    pub fn all_listed(&self) -> BoxFuture<'static, ()> {
        let listed = [
            self.clusters.listed.clone(),
            self.core_templates.listed.clone(),
            self.cell_templates.listed.clone(),
            self.shard_templates.listed.clone(),
            self.cells.listed.clone(),
            self.table_groups.listed.clone(),
            self.shards.listed.clone(),
            self.topo_servers.listed.clone(),
            self.deployments.listed.clone(),
            self.stateful_sets.listed.clone(),
            self.services.listed.clone(),
            self.disruption_budgets.listed.clone(),
            self.claims.listed.clone(),
            self.pods.listed.clone(),
            self.config_maps.listed.clone(),
            self.config_map_names.listed.clone(),
        ];
        async move {
            for mut listed in listed {
                let _ = listed.wait_for(|done| *done).await;
            }
        }
        .boxed()
    }

    /// The futures that keep every store current (after subscribing).
    pub fn start(self) -> Vec<BoxFuture<'static, ()>> {
        vec![
            self.clusters.start(),
            self.core_templates.start(),
            self.cell_templates.start(),
            self.shard_templates.start(),
            self.cells.start(),
            self.table_groups.start(),
            self.shards.start(),
            self.topo_servers.start(),
            self.deployments.start(),
            self.stateful_sets.start(),
            self.services.start(),
            self.disruption_budgets.start(),
            self.claims.start(),
            self.pods.start(),
            self.config_maps.start(),
            self.config_map_names.start(),
        ]
    }
}
