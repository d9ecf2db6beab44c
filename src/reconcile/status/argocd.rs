//! The Argo CD health scripts (docs/argocd/resource_customizations) read
//! the statuses these planners write: each kind's healthy, progressing and
//! degraded plans get the verdict the script promises.

use k8s_openapi::api::apps::v1::StatefulSetStatus;
use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentSpec, DeploymentStatus, StatefulSet, StatefulSetSpec,
};
use k8s_openapi::api::core::v1::Pod;
use mlua::{Lua, LuaOptions, StdLib};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

use super::conditions::tests::at;
use super::pods::tests::{pod, waiting, with_container};
use super::*;
use crate::api::children::{Cell, Shard, TableGroup, TopoServer};
use crate::api::cluster::MultigresCluster;
use crate::api::common::PoolSpec;
use crate::api::status::Phase;
use crate::labels;
use crate::manifests::shard::ShardContext;

/// (status, message) of `kind`'s health.lua for `object`.
fn health(kind: &str, object: &Value) -> (String, String) {
    let path = format!(
        "{}/docs/argocd/resource_customizations/multigres.com/{kind}/health.lua",
        env!("CARGO_MANIFEST_DIR")
    );
    let source = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let lua = Lua::new_with(StdLib::TABLE, LuaOptions::new()).unwrap();
    let obj: mlua::Value = to_lua(&lua, object);
    lua.globals().set("obj", obj).unwrap();
    let result: mlua::Table = lua.load(source).set_name(path).eval().unwrap();
    (
        result.get("status").unwrap(),
        result.get("message").unwrap(),
    )
}

fn to_lua(lua: &Lua, value: &Value) -> mlua::Value {
    match value {
        Value::Null => mlua::Value::Nil,
        Value::Bool(b) => mlua::Value::Boolean(*b),
        Value::Number(n) => mlua::Value::Number(n.as_f64().unwrap_or(f64::NAN)),
        Value::String(s) => mlua::Value::String(lua.create_string(s).unwrap()),
        Value::Array(items) => {
            let table = lua.create_table().unwrap();
            for (i, item) in items.iter().enumerate() {
                table.raw_set(i + 1, to_lua(lua, item)).unwrap();
            }
            mlua::Value::Table(table)
        }
        Value::Object(map) => {
            let table = lua.create_table().unwrap();
            for (key, item) in map {
                table.raw_set(key.as_str(), to_lua(lua, item)).unwrap();
            }
            mlua::Value::Table(table)
        }
    }
}

/// The object as Argo CD sees it: generation 1 (every planner here writes
/// observedGeneration 1) and the planned status.
fn object<S: Serialize>(kind: &str, status: &S) -> Value {
    json!({
        "apiVersion": "multigres.com/v1alpha1",
        "kind": kind,
        "metadata": {"name": "x", "namespace": "ns", "generation": 1},
        "status": serde_json::to_value(status).unwrap(),
    })
}

fn meta(name: &str) -> k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
    k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
        name: Some(name.into()),
        namespace: Some("ns".into()),
        generation: Some(1),
        labels: Some(BTreeMap::from([(labels::CLUSTER.into(), "c".into())])),
        ..Default::default()
    }
}

fn crashing() -> Vec<Pod> {
    vec![with_container(
        pod("p", &[(labels::POOL, "main"), (labels::CELL, "z1")], true),
        waiting("CrashLoopBackOff"),
    )]
}

fn deployment(name: Option<String>, replicas: i32, ready: i32) -> Deployment {
    Deployment {
        metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
            name,
            generation: Some(1),
            ..Default::default()
        },
        spec: Some(DeploymentSpec {
            replicas: Some(replicas),
            ..Default::default()
        }),
        status: Some(DeploymentStatus {
            observed_generation: Some(1),
            replicas: Some(replicas),
            ready_replicas: Some(ready),
            ..Default::default()
        }),
    }
}

fn verdict(kind: &str, value: Value) -> String {
    health(kind, &value).0
}

#[test]
fn cell_plans_get_the_promised_verdicts() {
    let mut cell = Cell::new("c-z1", Default::default());
    cell.metadata = meta("c-z1");
    cell.spec.name = "z1".into();
    let plan = |replicas, ready, pods: &[Pod], topo_ready| {
        let d = deployment(None, replicas, ready);
        let observed = CellObserved {
            cell: &cell,
            gateway: Some(&d),
            gateway_pods: pods,
            local_topo_ready: topo_ready,
        };
        object("Cell", &cell_status(&observed, &at(1)).unwrap().status)
    };
    assert_eq!(
        health("Cell", &plan(2, 2, &[], true)),
        ("Healthy".into(), "Ready".into())
    );
    assert_eq!(
        health("Cell", &plan(2, 1, &[], true)),
        ("Progressing".into(), "Gateway: 1/2 replicas ready".into())
    );
    assert_eq!(verdict("Cell", plan(2, 2, &crashing(), true)), "Degraded");
    assert_eq!(verdict("Cell", plan(2, 2, &[], false)), "Progressing");
}

#[test]
fn topo_server_plans_get_the_promised_verdicts() {
    let mut topo = TopoServer::new("t", Default::default());
    topo.metadata = meta("t");
    let plan = |desired, ready, pods: &[Pod]| {
        let sts = StatefulSet {
            metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                generation: Some(1),
                ..Default::default()
            },
            spec: Some(StatefulSetSpec {
                replicas: Some(desired),
                ..Default::default()
            }),
            status: Some(StatefulSetStatus {
                observed_generation: Some(1),
                ready_replicas: Some(ready),
                ..Default::default()
            }),
        };
        let observed = TopoServerObserved {
            topo_server: &topo,
            stateful_set: Some(&sts),
            pods,
        };
        object(
            "TopoServer",
            &topo_server_status(&observed, &at(1)).unwrap().status,
        )
    };
    assert_eq!(
        health("TopoServer", &plan(3, 3, &[])),
        ("Healthy".into(), "Ready".into())
    );
    assert_eq!(verdict("TopoServer", plan(3, 1, &[])), "Progressing");
    assert_eq!(verdict("TopoServer", plan(0, 0, &[])), "Progressing");
    assert_eq!(verdict("TopoServer", plan(3, 3, &crashing())), "Degraded");
}

#[test]
fn shard_plans_get_the_promised_verdicts() {
    let mut shard = Shard::new("s", Default::default());
    shard.metadata = meta("s");
    shard.spec.database_name = "postgres".into();
    shard.spec.table_group_name = "default".into();
    shard.spec.shard_name = "0-inf".into();
    shard.spec.pools.insert(
        "main".into(),
        PoolSpec {
            cells: vec!["z1".into()],
            replicas_per_cell: Some(1),
            ..Default::default()
        },
    );
    let ctx = ShardContext::new(&shard).unwrap();
    let orch = [deployment(
        Some(ctx.names().multiorch_deployment(&ctx.id(), "z1")),
        1,
        1,
    )];
    let plan = |pods: &[Pod]| {
        let observed = ShardObserved {
            shard: &shard,
            pods,
            multiorch: &orch,
            multiorch_pods: &[],
            config: None,
        };
        object("Shard", &shard_status(&observed, &at(1)).status)
    };
    let ready = [pod(
        "p",
        &[(labels::POOL, "main"), (labels::CELL, "z1")],
        true,
    )];
    assert_eq!(
        health("Shard", &plan(&ready)),
        ("Healthy".into(), "Ready".into())
    );
    assert_eq!(
        health("Shard", &plan(&[])),
        (
            "Progressing".into(),
            "PoolsReady: false, OrchReady: true; 0/1 pods ready (NotAllPodsReady)".into()
        )
    );
    assert_eq!(
        health("Shard", &plan(&crashing())),
        (
            "Degraded".into(),
            "One or more pool pods are crash-looping".into()
        )
    );
}

#[test]
fn table_group_plans_get_the_promised_verdicts() {
    let mut tg = TableGroup::new("tg", Default::default());
    tg.metadata = meta("tg");
    tg.spec.database_name = "postgres".into();
    tg.spec.table_group_name = "default".into();
    let names = desired_names(&tg, &["0-inf"]);
    tg.spec.shards = vec![crate::api::children::ShardResolvedSpec {
        name: "0-inf".into(),
        ..Default::default()
    }];
    let plan = |tg: &TableGroup, phase: Option<Phase>| {
        let shards: Vec<Shard> = phase
            .map(|phase| {
                let mut s = Shard::new(&names[0], Default::default());
                s.metadata.generation = Some(1);
                s.status = Some(crate::api::children::ShardStatus {
                    observed_generation: Some(1),
                    phase: Some(phase),
                    ..Default::default()
                });
                s
            })
            .into_iter()
            .collect();
        let observed = TableGroupObserved {
            table_group: tg,
            shards: &shards,
            applied_generations: &BTreeMap::new(),
        };
        object("TableGroup", &table_group_status(&observed, &at(1)).status)
    };
    assert_eq!(
        health("TableGroup", &plan(&tg, Some(Phase::Healthy))),
        ("Healthy".into(), "Ready".into())
    );
    assert_eq!(
        health("TableGroup", &plan(&tg, Some(Phase::Progressing))),
        ("Progressing".into(), "0/1 shards ready".into())
    );
    assert_eq!(verdict("TableGroup", plan(&tg, None)), "Progressing");
    assert_eq!(
        verdict("TableGroup", plan(&tg, Some(Phase::Degraded))),
        "Degraded"
    );
    // No shards: Initializing, which the script reports Healthy (NoShards).
    let mut empty = tg.clone();
    empty.spec.shards.clear();
    assert_eq!(verdict("TableGroup", plan(&empty, None)), "Healthy");
}

fn desired_names(tg: &TableGroup, shards: &[&str]) -> Vec<String> {
    let mut with = tg.clone();
    with.spec.shards = shards
        .iter()
        .map(|name| crate::api::children::ShardResolvedSpec {
            name: (*name).into(),
            ..Default::default()
        })
        .collect();
    table_group::desired_shard_names(&with)
}

#[test]
fn cluster_plans_get_the_promised_verdicts() {
    let mut cluster = MultigresCluster::new("c", Default::default());
    cluster.metadata = meta("c");
    let cell = |phase: Phase| {
        let mut c = Cell::new("c-z1", Default::default());
        c.metadata = meta("c-z1");
        c.spec.name = "z1".into();
        let d = deployment(None, 1, i32::from(phase == Phase::Healthy));
        let pods = if phase == Phase::Degraded {
            crashing()
        } else {
            Vec::new()
        };
        let observed = CellObserved {
            cell: &c,
            gateway: Some(&d),
            gateway_pods: &pods,
            local_topo_ready: true,
        };
        c.status = Some(cell_status(&observed, &at(1)).unwrap().status);
        c
    };
    let plan = |cells: &[Cell]| {
        let observed = ClusterObserved {
            cluster: &cluster,
            cells,
            table_groups: &[],
            topo_servers: &[],
            gateway_service: None,
            admin_web_service: None,
            admin_web_deployment: None,
        };
        object(
            "MultigresCluster",
            &cluster_status(&observed, &at(1)).status,
        )
    };
    assert_eq!(
        health("MultigresCluster", &plan(&[cell(Phase::Healthy)])),
        ("Healthy".into(), "Ready".into())
    );
    assert_eq!(
        health("MultigresCluster", &plan(&[cell(Phase::Progressing)])),
        (
            "Progressing".into(),
            "Cluster is progressing (cells not ready: z1)".into()
        )
    );
    assert_eq!(
        verdict("MultigresCluster", plan(&[cell(Phase::Degraded)])),
        "Degraded"
    );
    // No children: Healthy (upstream quirk), and the script agrees.
    assert_eq!(verdict("MultigresCluster", plan(&[])), "Healthy");
}
