//! Sizes of objects as the API server stores them (compact JSON), for the
//! limit on one object and the output byte budget.

use serde_json::Value;

/// The most bytes one object may take: etcd's default request limit
/// (`--max-request-bytes`, 1.5 MiB). The API server cannot store a larger
/// object, so a larger input is refused and no larger one is generated.
pub const MAX_OBJECT_BYTES: usize = 1536 * 1024;

/// The length of `value` as compact JSON, not counting escapes.
pub fn json_len(value: &Value) -> usize {
    match value {
        Value::Null | Value::Bool(true) => 4,
        Value::Bool(false) => 5,
        Value::Number(n) => n.to_string().len(),
        Value::String(s) => s.len() + 2,
        Value::Array(items) => {
            2 + items.len().saturating_sub(1) + items.iter().map(json_len).sum::<usize>()
        }
        Value::Object(map) => {
            2 + map.len().saturating_sub(1)
                + map
                    .iter()
                    .map(|(key, v)| key.len() + 3 + json_len(v))
                    .sum::<usize>()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_length_is_that_of_compact_json() {
        for value in [
            json!(null),
            json!(true),
            json!(false),
            json!(-12.5),
            json!("text"),
            json!([]),
            json!({}),
            json!([1, "a", {"k": [null, false]}]),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "b", "c": ""}}),
        ] {
            assert_eq!(json_len(&value), value.to_string().len(), "{value}");
        }
    }
}
