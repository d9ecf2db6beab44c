//! Status vocabulary shared by every kind.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Coarse state of an object, summarised from its conditions.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum Phase {
    Initializing,
    Progressing,
    Healthy,
    Degraded,
    Unknown,
}
