//! Every integration test, in one binary: one link of the crate and its
//! test dependencies instead of one per file. Each file of `tests/` is a
//! module here and keeps its own documentation; run one of them with
//! `cargo test --release --test suite MODULE::` (for example `golden::`).

#[path = "anchors.rs"]
mod anchors;

#[path = "apiserver.rs"]
mod apiserver;

#[path = "argocd.rs"]
mod argocd;

#[path = "argocd_health.rs"]
mod argocd_health;

#[path = "cel_oracle.rs"]
mod cel_oracle;

#[path = "check.rs"]
mod check;

#[path = "cli.rs"]
mod cli;

#[path = "crds.rs"]
mod crds;

#[path = "docs.rs"]
mod docs;

#[path = "flux_health.rs"]
mod flux_health;

#[path = "fuzz_regressions.rs"]
mod fuzz_regressions;

#[path = "golden.rs"]
mod golden;

#[path = "hostile.rs"]
mod hostile;

#[path = "invalid.rs"]
mod invalid;

#[path = "install.rs"]
mod install;

#[path = "json_schemas.rs"]
mod json_schemas;

#[path = "kubelet.rs"]
mod kubelet;

#[path = "krm.rs"]
mod krm;

#[path = "objects.rs"]
mod objects;

#[path = "pgconf.rs"]
mod pgconf;

#[path = "properties.rs"]
mod properties;

#[path = "reconcile.rs"]
mod reconcile;

#[path = "reconcile_rbac.rs"]
mod reconcile_rbac;

#[path = "reconcile_ha.rs"]
mod reconcile_ha;

#[path = "testplane.rs"]
mod testplane;

/// The generators of `scripts/generate`: the tests check the committed
/// generated files against them.
#[path = "../tools/generate/generators/mod.rs"]
mod generators;

/// Helpers shared by several of the files above.
mod support {
    #[path = "generated.rs"]
    pub mod generated;
    #[path = "kubelet.rs"]
    pub mod kubelet;
    #[path = "operator.rs"]
    pub mod operator;
    #[path = "run.rs"]
    pub mod run;
    #[path = "testplane.rs"]
    pub mod testplane;
    #[path = "tools.rs"]
    pub mod tools;
}
