//! The full mode's executor: compiles a live cluster, plans (plan.rs) and
//! carries the plan out with server-side apply. Thin on purpose: every
//! decision is the planner's.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, Patch, PatchParams,
};
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde_json::{Value, json};

use super::context::{Context, Error};
use super::desired::{self, LiveInputs};
use super::plan::{self, Action, FIELD_MANAGER, Live, ObjectKey};
use crate::api::MultigresCluster;
use crate::images::ImageSet;
use crate::labels;

/// At most this many plan-execute passes per reconcile: owners, then what
/// they own, then what that owns (cluster → TableGroup → Shard → its
/// objects).
const PASSES: usize = 4;
/// How soon to come back while children wait (for an owner, or for their
/// `ReadyForDeletion`): upstream's pending-deletion requeue.
const WAITING_REQUEUE: Duration = Duration::from_secs(2);

/// What one full-mode reconcile did.
#[derive(Debug, Default)]
pub struct Outcome {
    pub writes: usize,
    pub requeue: Option<Duration>,
    pub marked: Vec<ObjectKey>,
    pub deleted: Vec<ObjectKey>,
}

/// Applies the render of `cluster` with the component images `images`
/// (images.rs resolved them).
pub async fn reconcile(
    ctx: &Context,
    cluster: &MultigresCluster,
    images: &ImageSet,
) -> Result<Outcome, Error> {
    let namespace = cluster.namespace().unwrap_or_default();
    let name = cluster.name_any();
    let cluster_value = serde_json::to_value(cluster).map_err(|e| Error::Other(e.to_string()))?;
    let templates = templates_of(ctx, &namespace);
    let config_maps = referenced_config_maps(ctx, &namespace, &cluster_value, &templates).await?;
    let desired = desired::desired(
        &LiveInputs {
            cluster: &cluster_value,
            templates: &templates,
            config_maps: &config_maps,
        },
        images,
    )
    .map_err(|diagnostics| Error::Compile(diagnostics.to_string()))?;

    let (mut live, cached_kinds) = owned_objects(ctx, &namespace, &name);
    add_uncached(ctx, &namespace, &desired, &cached_kinds, &mut live).await?;
    let mut outcome = Outcome::default();
    let cluster_uid = cluster.uid().unwrap_or_default();
    for _ in 0..PASSES {
        let planned = plan::full(&plan::Observed {
            cluster_name: &name,
            cluster_uid: &cluster_uid,
            desired: &desired,
            live: &live,
        });
        outcome.requeue = (!planned.waiting.is_empty()).then_some(WAITING_REQUEUE);
        if planned.actions.is_empty() {
            break;
        }
        for action in planned.actions {
            outcome.writes += 1;
            match action {
                Action::Apply { key, value } => {
                    let applied = apply(ctx, &namespace, &key, &value).await?;
                    live.insert(key, Live::of(&applied));
                }
                Action::MarkPendingDeletion(key) => {
                    Context::mark_pending_deletion(&api_for(ctx, &namespace, &key), &key.name)
                        .await?;
                    if let Some(l) = live.get_mut(&key) {
                        l.pending_deletion = true;
                    }
                    outcome.marked.push(key);
                }
                Action::Delete(key) => {
                    match api_for(ctx, &namespace, &key)
                        .delete(&key.name, &DeleteParams::background())
                        .await
                    {
                        Ok(_) => {}
                        Err(kube::Error::Api(status)) if status.code == 404 => {}
                        Err(e) => return Err(e.into()),
                    }
                    if let Some(l) = live.get_mut(&key) {
                        l.terminating = true;
                    }
                    outcome.deleted.push(key);
                }
            }
        }
    }
    Ok(outcome)
}

/// Server-side apply of one object; returns it as the server stored it.
async fn apply(
    ctx: &Context,
    namespace: &str,
    key: &ObjectKey,
    value: &Value,
) -> Result<Value, Error> {
    let api = api_for(ctx, namespace, key);
    let applied = api
        .patch(
            &key.name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(value),
        )
        .await
        .map_err(|e| match e {
            kube::Error::Api(status) if status.code == 404 => Error::Other(format!(
                "the API server does not serve {} ({}): is its CRD installed?",
                key.kind, key.api_version
            )),
            e => Error::Kube(e),
        })?;
    serde_json::to_value(applied).map_err(|e| Error::Other(e.to_string()))
}

fn api_for(ctx: &Context, namespace: &str, key: &ObjectKey) -> Api<DynamicObject> {
    let (group, version) = key
        .api_version
        .split_once('/')
        .unwrap_or(("", key.api_version.as_str()));
    let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, &key.kind));
    Api::namespaced_with(ctx.client.clone(), namespace, &resource)
}

/// The templates of the cluster's namespace, as JSON.
fn templates_of(ctx: &Context, namespace: &str) -> Vec<Value> {
    fn of<K>(store: &kube::runtime::reflector::Store<K>, namespace: &str) -> Vec<Value>
    where
        K: Resource + Serialize + Clone,
        K::DynamicType: Eq + std::hash::Hash + Clone,
    {
        let mut objects: Vec<Value> = store
            .state()
            .iter()
            .filter(|o| o.meta().namespace.as_deref() == Some(namespace))
            .filter_map(|o| serde_json::to_value(o.as_ref()).ok())
            .collect();
        objects.sort_by_key(desired::input_name);
        objects
    }
    let stores = &ctx.stores;
    let mut templates = of(&stores.core_templates, namespace);
    templates.extend(of(&stores.cell_templates, namespace));
    templates.extend(of(&stores.shard_templates, namespace));
    templates
}

/// The ConfigMaps the cluster or its templates name in a
/// `postgresConfigRef`, read from the API server (user objects are not
/// cached). One that does not exist is left out: the compiler reports it.
async fn referenced_config_maps(
    ctx: &Context,
    namespace: &str,
    cluster: &Value,
    templates: &[Value],
) -> Result<Vec<Value>, Error> {
    let mut names = BTreeSet::new();
    for object in std::iter::once(cluster).chain(templates) {
        collect_config_refs(object, &mut names);
    }
    let api: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), namespace);
    let mut out = Vec::new();
    for name in names {
        if let Some(config_map) = api.get_opt(&name).await? {
            out.push(serde_json::to_value(config_map).map_err(|e| Error::Other(e.to_string()))?);
        }
    }
    Ok(out)
}

/// Every `postgresConfigRef.name` anywhere in `value`.
pub fn collect_config_refs(value: &Value, names: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                if key == "postgresConfigRef"
                    && let Some(name) = inner.get("name").and_then(Value::as_str)
                {
                    names.insert(name.to_owned());
                }
                collect_config_refs(inner, names);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| collect_config_refs(i, names)),
        _ => {}
    }
}

/// Adds to `live` the desired objects of kinds outside `cached_kinds`
/// (cert-manager's Certificate), read from the API server, so the planner
/// can tell that they need no apply (reads are not writes).
async fn add_uncached(
    ctx: &Context,
    namespace: &str,
    desired: &[plan::Desired],
    cached_kinds: &BTreeSet<(String, String)>,
    live: &mut BTreeMap<ObjectKey, Live>,
) -> Result<(), Error> {
    for object in desired {
        let key = ObjectKey::of(&object.value);
        let cached = cached_kinds.contains(&(key.api_version.clone(), key.kind.clone()));
        if cached || live.contains_key(&key) {
            continue;
        }
        if let Some(found) = api_for(ctx, namespace, &key).get_opt(&key.name).await? {
            let value = serde_json::to_value(found).map_err(|e| Error::Other(e.to_string()))?;
            live.insert(key, Live::of(&value));
        }
    }
    Ok(())
}

/// The live objects of the cluster that this mode applied: they carry the
/// cluster's label and a `managedFields` entry of our server-side apply.
/// Objects created otherwise (the runtime objects of later controllers, a
/// GitOps tool's) are never pruned here. Also returns the kinds
/// (apiVersion, kind) read from the caches.
fn owned_objects(
    ctx: &Context,
    namespace: &str,
    cluster: &str,
) -> (BTreeMap<ObjectKey, Live>, BTreeSet<(String, String)>) {
    struct Owned<'a> {
        namespace: &'a str,
        cluster: &'a str,
        live: BTreeMap<ObjectKey, Live>,
        kinds: BTreeSet<(String, String)>,
    }
    impl Owned<'_> {
        fn add<K>(&mut self, store: &kube::runtime::reflector::Store<K>)
        where
            K: Resource<DynamicType = ()> + Clone + Serialize,
        {
            self.kinds
                .insert((K::api_version(&()).into(), K::kind(&()).into()));
            for object in store.state() {
                let meta = object.meta();
                let in_cluster = meta.namespace.as_deref() == Some(self.namespace)
                    && meta
                        .labels
                        .as_ref()
                        .and_then(|l| l.get(labels::CLUSTER))
                        .map(String::as_str)
                        == Some(self.cluster);
                if !in_cluster {
                    continue;
                }
                let Ok(mut value) = serde_json::to_value(object.as_ref()) else {
                    continue;
                };
                // Typed objects serialise without their type.
                value["apiVersion"] = json!(K::api_version(&()));
                value["kind"] = json!(K::kind(&()));
                let live = Live::of(&value);
                // Applied by us: our field manager has an Apply entry.
                if live.owned_fields.is_null() {
                    continue;
                }
                if let Some(key) = live.key.clone() {
                    self.live.insert(key, live);
                }
            }
        }
    }
    let s = &ctx.stores;
    let mut owned = Owned {
        namespace,
        cluster,
        live: BTreeMap::new(),
        kinds: BTreeSet::new(),
    };
    owned.add(&s.cells);
    owned.add(&s.table_groups);
    owned.add(&s.shards);
    owned.add(&s.topo_servers);
    owned.add(&s.deployments);
    owned.add(&s.stateful_sets);
    owned.add(&s.services);
    owned.add(&s.disruption_budgets);
    owned.add(&s.claims);
    owned.add(&s.config_maps);
    (owned.live, owned.kinds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_refs_are_found_at_any_depth() {
        let mut names = BTreeSet::new();
        collect_config_refs(
            &json!({"spec": {"databases": [{"tablegroups": [{"shards": [
                {"spec": {"postgresConfigRef": {"name": "pg-a", "key": "x"}}},
                {"overrides": {"postgresConfigRef": {"name": "pg-b"}}}]}]}]}}),
            &mut names,
        );
        assert_eq!(names.into_iter().collect::<Vec<_>>(), ["pg-a", "pg-b"]);
    }
}
