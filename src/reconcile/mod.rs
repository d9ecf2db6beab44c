//! The in-cluster reconciler (`multigres reconcile`): observe, plan (pure),
//! execute. The planners are pure functions of an observed snapshot; the
//! executor around them does the I/O.

pub mod status;
