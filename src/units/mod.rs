//! Kubernetes quantities and Go durations in their canonical forms.
pub mod duration;
pub mod quantity;
