//! The in-cluster reconciler, `multigres reconcile --mode full|runtime`.
//!
//! Shape (DESIGN.md): observe (shared informers, `caches`) → plan (pure:
//! `plan` for the full mode's writes, `status` for every status) →
//! execute (thin: `full`, the controllers) → status.
//!
//! - **full** mode compiles each live MultigresCluster with the `compile()`
//!   of `render` (`desired`) and server-side applies every static object,
//!   with ownerReferences, pruning and upstream's deletion handshake;
//! - **runtime** mode leaves static objects to a GitOps tool and writes
//!   only status (and, in later work, the runtime objects).
//!
//! The pure parts (`plan` with `unchanged`, `desired`, `status`) build without the
//! `operator` feature; the rest needs the kube client and tokio.

pub mod desired;
pub mod images;
pub mod plan;
pub mod status;
pub mod unchanged;

#[cfg(feature = "operator")]
pub mod caches;
#[cfg(feature = "operator")]
mod cluster;
#[cfg(feature = "operator")]
pub mod context;
#[cfg(feature = "operator")]
mod controllers;
#[cfg(feature = "operator")]
pub mod full;
#[cfg(feature = "operator")]
pub mod leader;
#[cfg(feature = "operator")]
pub mod metrics;
#[cfg(feature = "operator")]
mod objects;
#[cfg(feature = "operator")]
pub mod run;
#[cfg(feature = "operator")]
pub mod serve;

#[cfg(feature = "operator")]
pub use context::Mode;
#[cfg(feature = "operator")]
pub use run::{Settings, images_from_env, run};
