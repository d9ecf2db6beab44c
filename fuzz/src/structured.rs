//! The structured target's inputs: an example input set from `examples/`
//! with a few edits applied, all chosen by the fuzzer's bytes. Edits set
//! any node to a random value, add fields (named as our schemas name
//! them), remove fields or list items, repeat list items and repeat whole
//! objects, so the compiler sees valid-shaped clusters that are wrong in
//! one or a few places.
//!
//! The first byte picks the example (`[i]` alone is example `i`
//! unchanged: the seed corpus); the rest are edits until the bytes run out.

use std::sync::LazyLock;

use arbitrary::{Result, Unstructured};
use serde_json::{Map, Number, Value};

use crate::edge_strings::EDGE_STRINGS;
use multigres::compile::emit;
use multigres::compile::yaml::{self, Limits};

/// `(name, files)` of every example input set.
pub const EXAMPLES: &[(&str, &[&str])] = include!(concat!(env!("OUT_DIR"), "/examples.rs"));

const SCHEMAS: &[&str] = &[
    include_str!("../../src/api/schemas/multigresclusters.json"),
    include_str!("../../src/api/schemas/coretemplates.json"),
    include_str!("../../src/api/schemas/celltemplates.json"),
    include_str!("../../src/api/schemas/shardtemplates.json"),
];

/// Most edits per input; more would mostly yield inputs that fail early.
const MAX_EDITS: usize = 8;
/// Most documents per input (whole objects can be repeated).
const MAX_DOCUMENTS: usize = 16;

/// Field names and enum values of our schemas, and values that sit on the
/// edges of what fields accept.
static WORDS: LazyLock<Vec<String>> = LazyLock::new(|| {
    let mut words: Vec<String> = EDGE_STRINGS.iter().map(|s| (*s).to_owned()).collect();
    for schema in SCHEMAS {
        let schema: Value = serde_json::from_str(schema).expect("an embedded schema");
        collect_words(&schema, &mut words);
    }
    words.sort();
    words.dedup();
    words
});

fn collect_words(schema: &Value, words: &mut Vec<String>) {
    match schema {
        Value::Object(map) => {
            if let Some(Value::Object(properties)) = map.get("properties") {
                words.extend(properties.keys().cloned());
            }
            if let Some(Value::Array(values)) = map.get("enum") {
                words.extend(values.iter().filter_map(Value::as_str).map(str::to_owned));
            }
            map.values().for_each(|v| collect_words(v, words));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_words(v, words)),
        _ => {}
    }
}

/// The YAML stream `data` describes.
pub fn build(data: &[u8]) -> Result<String> {
    let mut u = Unstructured::new(data);
    let (_, files) = EXAMPLES[u.choose_index(EXAMPLES.len())?];
    let mut documents: Vec<Value> = Vec::new();
    for file in files.iter() {
        let parsed = yaml::parse_stream(file, &Limits::default()).expect("an example is YAML");
        documents.extend(parsed.into_iter().map(|d| d.value));
    }
    for _ in 0..MAX_EDITS {
        if u.is_empty() {
            break;
        }
        edit(&mut documents, &mut u)?;
    }
    Ok(documents
        .iter()
        .map(|d| format!("---\n{}", emit::yaml(d)))
        .collect())
}

fn edit(documents: &mut Vec<Value>, u: &mut Unstructured) -> Result<()> {
    let index = u.choose_index(documents.len())?;
    let kind = u.choose_index(5)?;
    if kind == 4 {
        if documents.len() < MAX_DOCUMENTS {
            documents.push(documents[index].clone());
        }
        return Ok(());
    }
    let node = pick(&mut documents[index], u)?;
    match (kind, node) {
        (0, node) => *node = value(u, 0)?,
        (1, Value::Object(map)) => {
            map.insert(u.choose(&WORDS)?.clone(), value(u, 0)?);
        }
        (1, Value::Array(items)) => items.push(value(u, 0)?),
        (2, Value::Object(map)) if !map.is_empty() => {
            let key = map.keys().nth(u.choose_index(map.len())?).cloned();
            key.map(|key| map.remove(&key));
        }
        (2, Value::Array(items)) if !items.is_empty() => {
            items.remove(u.choose_index(items.len())?);
        }
        (3, Value::Array(items)) if !items.is_empty() => {
            let item = items[u.choose_index(items.len())?].clone();
            items.push(item);
        }
        _ => {}
    }
    Ok(())
}

/// A node of `root`, reached by a few random steps down.
fn pick<'v>(mut node: &'v mut Value, u: &mut Unstructured) -> Result<&'v mut Value> {
    for _ in 0..u.int_in_range(0..=12u8)? {
        let len = match &*node {
            Value::Object(map) => map.len(),
            Value::Array(items) => items.len(),
            _ => 0,
        };
        if len == 0 {
            break;
        }
        let step = u.choose_index(len)?;
        node = match node {
            Value::Object(map) => map.values_mut().nth(step).expect("step < len"),
            Value::Array(items) => &mut items[step],
            _ => unreachable!("only collections have a length"),
        };
    }
    Ok(node)
}

/// A random value, nested at most three levels.
fn value(u: &mut Unstructured, depth: usize) -> Result<Value> {
    let kinds = if depth < 3 { 9 } else { 7 };
    Ok(match u.choose_index(kinds)? {
        0 => Value::Null,
        1 => Value::Bool(u.arbitrary()?),
        2 => Value::from(u.arbitrary::<i64>()?),
        3 => Value::from(u.int_in_range(-2..=5i64)?),
        4 => Number::from_f64(u.arbitrary()?).map_or(Value::Null, Value::Number),
        5 => Value::from(u.choose(&WORDS)?.clone()),
        6 => Value::from(u.arbitrary::<&str>()?),
        7 => Value::Array(
            (0..u.int_in_range(0..=3u8)?)
                .map(|_| value(u, depth + 1))
                .collect::<Result<_>>()?,
        ),
        _ => {
            let mut map = Map::new();
            for _ in 0..u.int_in_range(0..=3u8)? {
                map.insert(u.choose(&WORDS)?.clone(), value(u, depth + 1)?);
            }
            Value::Object(map)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_byte_is_an_example_unchanged() {
        for (index, (name, files)) in EXAMPLES.iter().enumerate() {
            let byte = u8::try_from(index).unwrap();
            let built = build(&[byte]).unwrap();
            let expected: Vec<Value> = files
                .iter()
                .flat_map(|f| yaml::parse_stream(f, &Limits::default()).unwrap())
                .map(|d| d.value)
                .collect();
            let rebuilt: Vec<Value> = yaml::parse_stream(&built, &Limits::default())
                .unwrap()
                .into_iter()
                .map(|d| d.value)
                .collect();
            assert_eq!(rebuilt, expected, "{name}");
        }
    }

    #[test]
    fn bytes_after_the_first_change_the_example() {
        let plain = build(&[0]).unwrap();
        let edited = build(&[0, 7, 1, 3, 9, 200, 17, 4, 4, 1, 0]).unwrap();
        assert_ne!(plain, edited);
    }

    #[test]
    fn words_come_from_the_schemas() {
        for word in ["cells", "replicasPerCell", "readWrite", "postgresConfig"] {
            assert!(WORDS.contains(&word.to_owned()), "{word}");
        }
    }
}
