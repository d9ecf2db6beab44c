//! Templates: reusable configuration that clusters name (or find by the name
//! `default` in their namespace).

use std::collections::BTreeMap;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::children::TopoServerSpec;
use super::common::*;
use super::rules;

/// Global components: topology server, admin API and admin web UI.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "multigres.com",
    version = "v1alpha1",
    kind = "CoreTemplate",
    namespaced,
    shortname = "cot"
)]
#[serde(rename_all = "camelCase")]
pub struct CoreTemplateSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global_topo_server: Option<TopoServerSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multiadmin: Option<StatelessSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multiadmin_placement: Option<PodPlacementSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multiadmin_web: Option<StatelessSpec>,
}

/// Per-cell components: gateway and an optional local topology server.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "multigres.com",
    version = "v1alpha1",
    kind = "CellTemplate",
    namespaced,
    shortname = "cet"
)]
#[serde(rename_all = "camelCase")]
pub struct CellTemplateSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multigateway: Option<MultigatewaySpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multigateway_placement: Option<PodPlacementSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_topo_server: Option<LocalTopoServerSpec>,
}

/// Per-shard components: orchestrator, pools and PostgreSQL settings.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "multigres.com",
    version = "v1alpha1",
    kind = "ShardTemplate",
    namespaced,
    shortname = "sht"
)]
#[serde(rename_all = "camelCase")]
pub struct ShardTemplateSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multiorch: Option<MultiorchSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 512))]
    pub initdb_args: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgres_config_ref: Option<PostgresConfigRef>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = 200))]
    pub postgres_config: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend(
        "maxProperties" = 8,
        "x-kubernetes-validations" = [
            rules::POOL_NAME_LENGTH.schema_entry(),
            rules::POOLS_APPEND_ONLY.schema_entry(),
        ]
    ))]
    pub pools: BTreeMap<String, PoolSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pvc_deletion_policy: Option<PvcDeletionPolicy>,
}
