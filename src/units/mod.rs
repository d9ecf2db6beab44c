//! Kubernetes quantities and Go durations in their canonical forms.
pub mod duration;
pub mod quantity;

use serde_json::Value;

/// Quantities and durations in the form Go writes them, so that what Git
/// holds equals what the operator and the API server would store.
pub fn canonicalize(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                match key.as_str() {
                    "requests" | "limits" => {
                        if let Value::Object(amounts) = child {
                            for amount in amounts.values_mut() {
                                if let Some(text) = amount.as_str()
                                    && let Ok(q) = quantity::parse(text)
                                {
                                    *amount = Value::String(q.canonical());
                                }
                            }
                        }
                    }
                    "window" | "maxFailoverDuration" | "minTimeBetweenFailovers" => {
                        if let Some(text) = child.as_str()
                            && let Ok(canonical) = duration::canonical(text)
                        {
                            *child = Value::String(canonical);
                        }
                    }
                    _ => canonicalize(child),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(canonicalize),
        _ => {}
    }
}
