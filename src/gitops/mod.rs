//! GitOps front ends and review tools: the Argo CD plugin, the KRM function,
//! and rendering into a directory that is checked in review.
//!
//! - [`tree`]: `render --output-dir`, one file per object plus a
//!   `kustomization.yaml` that records what was written (the only module here
//!   that touches the file system for review);
//! - [`check`]: `render --check`, the unified diff against a committed render
//!   and the upgrade-safety judgement (changes the API server or the upstream
//!   webhook would refuse at sync time).

pub mod argocd;
pub mod check;
pub mod krm;
pub mod tree;
