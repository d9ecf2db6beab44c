//! The `multigres.com/v1alpha1` API: eight kinds, their schemas and CRDs.

pub mod children;
pub mod cluster;
pub mod common;
pub mod crd;
pub mod rules;
pub mod status;
pub mod templates;

pub use children::{Cell, Shard, TableGroup, TopoServer};
pub use cluster::MultigresCluster;
pub use templates::{CellTemplate, CoreTemplate, ShardTemplate};

pub const GROUP: &str = "multigres.com";
pub const VERSION: &str = "v1alpha1";
pub const API_VERSION: &str = "multigres.com/v1alpha1";

/// The kinds of our API group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    MultigresCluster,
    CoreTemplate,
    CellTemplate,
    ShardTemplate,
    Cell,
    TableGroup,
    Shard,
    TopoServer,
}

impl Kind {
    pub const ALL: [Kind; 8] = [
        Kind::MultigresCluster,
        Kind::CoreTemplate,
        Kind::CellTemplate,
        Kind::ShardTemplate,
        Kind::Cell,
        Kind::TableGroup,
        Kind::Shard,
        Kind::TopoServer,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::MultigresCluster => "MultigresCluster",
            Kind::CoreTemplate => "CoreTemplate",
            Kind::CellTemplate => "CellTemplate",
            Kind::ShardTemplate => "ShardTemplate",
            Kind::Cell => "Cell",
            Kind::TableGroup => "TableGroup",
            Kind::Shard => "Shard",
            Kind::TopoServer => "TopoServer",
        }
    }

    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Kinds the compiler generates; users do not write them.
    pub fn is_child(self) -> bool {
        matches!(
            self,
            Kind::Cell | Kind::TableGroup | Kind::Shard | Kind::TopoServer
        )
    }

    pub fn is_template(self) -> bool {
        matches!(
            self,
            Kind::CoreTemplate | Kind::CellTemplate | Kind::ShardTemplate
        )
    }
}
