//! multigres: turns a `MultigresCluster` and its templates into every Kubernetes
//! object the cluster needs.
//!
//! The compiler ([`compile`]) is pure: no I/O, no clock, no environment. Every
//! front end (the CLI, the Argo CD plugin, the KRM function, the reconciler)
//! calls [`compile::compile`].

#![forbid(unsafe_code)]

pub mod api;
#[cfg(feature = "cli")]
pub mod cli;
#[cfg(feature = "cli")]
mod cli_gitops;
#[cfg(feature = "operator")]
mod cli_reconcile;
pub mod compile;
pub mod diagnostics;
pub mod explain;
pub mod field_path;
pub mod gitops;
pub mod images;
pub mod input_files;
pub mod install;
pub mod labels;
pub mod manifests;
pub mod names;
pub mod pgconf;
pub mod reconcile;
pub mod units;
pub mod yaml;
