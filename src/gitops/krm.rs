//! The KRM function: a `ResourceList` in, a `ResourceList` out, for kpt and
//! kustomize (the KRM Functions specification of kustomize and kpt).
//!
//! The emission rule is `render`'s: every input item is kept as it came
//! (annotations included, so the orchestrator can map it back to its file;
//! only the `namespace` option is written into items that set none),
//! earlier renders are replaced, and generated objects are added with a path
//! annotation that puts each in a stable file. Diagnostics become `results`.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::compile::{self, Input, Options, Origin, diagnostics::Diagnostic};
use crate::images::ImageSet;

/// Where generated objects go, inside the package, unless configured.
pub const DEFAULT_OUTPUT_DIR: &str = "generated";

/// What the function was asked, from `functionConfig`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FunctionOptions {
    pub namespace: Option<String>,
    /// `COMPONENT=IMAGE` entries.
    pub images: Vec<String>,
    pub output_dir: String,
}

/// The outcome: the ResourceList to print and whether it is a failure.
#[derive(Debug)]
pub struct Outcome {
    pub resource_list: Value,
    pub failed: bool,
}

/// Runs the function on the text of a ResourceList.
pub fn run(input: &str) -> Outcome {
    let list = match parse_resource_list(input) {
        Ok(list) => list,
        Err(message) => return failure(Vec::new(), vec![result(&message, "error", None)]),
    };
    let items: Vec<Value> = list
        .get("items")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let options = match function_options(list.get("functionConfig")) {
        Ok(options) => options,
        Err(message) => return failure(items, vec![result(&message, "error", None)]),
    };
    let mut images = ImageSet::default();
    for flag in &options.images {
        if let Err(err) = images.apply_entry("functionConfig images", flag, "functionConfig images")
        {
            let mut message = format!("functionConfig: images: {}", err.message);
            if let Some(hint) = &err.hint {
                message.push_str(&format!(" ({hint})"));
            }
            return failure(items, vec![result(&message, "error", None)]);
        }
    }

    // Each item is one input; its position maps diagnostics back to it.
    let inputs: Vec<Input> = items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            Input::new(
                format!("item:{i}"),
                crate::compile::emit::yaml(item).into_bytes(),
            )
        })
        .collect();
    let compile_options = Options {
        namespace: options.namespace.clone(),
        images,
        front_end: compile::FrontEnd::KrmFunction,
        ..Default::default()
    };
    let output = compile::compile(&inputs, &compile_options);
    let results: Vec<Value> = compile::diagnostics_of(&output)
        .0
        .iter()
        .map(|d| diagnostic_result(d, &items))
        .collect();
    let Ok(output) = output else {
        return failure(items, results);
    };

    let mut out_items = Vec::new();
    for object in output.objects {
        match &object.origin {
            Origin::Input(source) => {
                // Inputs come back as they came, annotations included, with
                // the function's namespace written into those that set none.
                if let Some(item) = items.get(source.doc.file) {
                    let mut item = match source.base.as_str() {
                        "" => item.clone(),
                        base => item.pointer(base).cloned().unwrap_or_else(|| item.clone()),
                    };
                    if let (Some(namespace), Some(metadata)) = (
                        object.value.pointer("/metadata/namespace"),
                        item.get_mut("metadata").and_then(Value::as_object_mut),
                    ) {
                        metadata
                            .entry("namespace")
                            .or_insert_with(|| namespace.clone());
                    }
                    out_items.push(item);
                }
            }
            Origin::Generated { .. } => {
                let mut value = object.value;
                // The layout of `render --output-dir`, under the output directory.
                let relative = match crate::gitops::tree::object_path(
                    &object.kind,
                    object.namespace.as_deref(),
                    &object.name,
                ) {
                    Ok(relative) => relative,
                    Err(error) => {
                        return failure(items, vec![result(&error.to_string(), "error", None)]);
                    }
                };
                let path = format!("{}/{relative}", options.output_dir);
                set_annotations(&mut value, &path);
                out_items.push(value);
            }
        }
    }
    Outcome {
        resource_list: json!({
            "apiVersion": "config.kubernetes.io/v1",
            "kind": "ResourceList",
            "items": out_items,
            "results": results,
        }),
        failed: false,
    }
}

fn failure(items: Vec<Value>, results: Vec<Value>) -> Outcome {
    Outcome {
        resource_list: json!({
            "apiVersion": "config.kubernetes.io/v1",
            "kind": "ResourceList",
            "items": items,
            "results": results,
        }),
        failed: true,
    }
}

fn parse_resource_list(input: &str) -> Result<Map<String, Value>, String> {
    let docs = crate::compile::yaml::parse_stream(input, &Default::default())
        .map_err(|e| format!("stdin:{}:{}: {}", e.pos.line, e.pos.col, e.message))?;
    let [doc] = docs.as_slice() else {
        return Err(format!(
            "expected one ResourceList on stdin, got {} documents",
            docs.len()
        ));
    };
    let map = doc.value.as_object().cloned().unwrap_or_default();
    let kind = map.get("kind").and_then(Value::as_str).unwrap_or("");
    let api_version = map.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    if kind != "ResourceList" || !api_version.starts_with("config.kubernetes.io/") {
        return Err(format!(
            "expected a config.kubernetes.io ResourceList on stdin, got {api_version} {kind}"
        ));
    }
    if !map.get("items").is_some_and(Value::is_array) {
        return Err("the ResourceList has no items list".into());
    }
    Ok(map)
}

/// Options from a ConfigMap-style `functionConfig` (`data:` keys, as
/// `kpt fn eval -- key=value` synthesises): `namespace`, `images`
/// (`COMPONENT=IMAGE` entries separated by commas or newlines), `outputDir`.
/// Runtime previews are refused: a function's output is applied.
pub fn function_options(config: Option<&Value>) -> Result<FunctionOptions, String> {
    let mut options = FunctionOptions {
        output_dir: DEFAULT_OUTPUT_DIR.into(),
        ..Default::default()
    };
    let Some(config) = config.filter(|c| !c.is_null()) else {
        return Ok(options);
    };
    let data = config
        .get("data")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for (key, value) in &data {
        let text = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        match key.as_str() {
            "namespace" => {
                if !text.is_empty() {
                    crate::compile::check_namespace(&text)
                        .map_err(|e| format!("functionConfig: namespace: {e}"))?;
                    options.namespace = Some(text);
                }
            }
            "images" => {
                options.images = text
                    .split([',', '\n'])
                    .map(str::trim)
                    .filter(|entry| !entry.is_empty())
                    .map(str::to_owned)
                    .collect();
            }
            "outputDir" => {
                let dir = text.trim_matches('/').to_owned();
                // The directory ends up in every item's path annotation: a
                // control character there would corrupt the annotation.
                if dir.is_empty()
                    || dir.split('/').any(|part| part == ".." || part.is_empty())
                    || dir.chars().any(char::is_control)
                {
                    return Err(format!(
                        "functionConfig: outputDir {text:?} must be a relative path inside the package, without `..`, empty parts or control characters"
                    ));
                }
                options.output_dir = dir;
            }
            "previewRuntime" | "preview-runtime" => {
                return Err(
                    "functionConfig: runtime previews are refused here: a KRM function's output is applied, and \
                     pool Pods belong to the reconciler (use `multigres render --preview-runtime` to review them)"
                        .into(),
                );
            }
            other => {
                let hint =
                    crate::compile::load::did_you_mean(other, ["namespace", "images", "outputDir"])
                        .map(|s| format!(" (did you mean {s:?}?)"))
                        .unwrap_or_default();
                return Err(format!(
                    "functionConfig: unknown option {other:?}{hint}; options are namespace, images, outputDir"
                ));
            }
        }
    }
    Ok(options)
}

fn set_annotations(object: &mut Value, path: &str) {
    let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let annotations = metadata
        .entry("annotations")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Some(annotations) = annotations.as_object_mut() {
        for (key, value) in [
            (crate::labels::KRM_PATH, path),
            (crate::labels::KRM_INDEX, "0"),
            (crate::labels::KRM_LEGACY_PATH, path),
            (crate::labels::KRM_LEGACY_INDEX, "0"),
        ] {
            annotations.insert(key.into(), Value::String(value.into()));
        }
    }
}

fn result(message: &str, severity: &str, extra: Option<Map<String, Value>>) -> Value {
    let mut result = Map::new();
    result.insert("message".into(), Value::String(message.into()));
    result.insert("severity".into(), Value::String(severity.into()));
    if let Some(extra) = extra {
        result.extend(extra);
    }
    Value::Object(result)
}

/// A diagnostic as a KRM result: message with code and hint, the resource,
/// the field, and the file the item came from.
fn diagnostic_result(d: &Diagnostic, items: &[Value]) -> Value {
    let mut extra = Map::new();
    if let Some(subject) = &d.subject {
        extra.insert(
            "resourceRef".into(),
            json!({"apiVersion": crate::api::API_VERSION, "kind": subject.kind, "name": subject.name, "namespace": subject.namespace}),
        );
        if !subject.field.is_empty() {
            extra.insert("field".into(), json!({"path": subject.field}));
        }
    }
    let item = d
        .file
        .strip_prefix("item:")
        .and_then(|i| i.parse::<usize>().ok())
        .and_then(|i| items.get(i));
    if let Some(item) = item {
        let annotation = |keys: [&str; 2]| {
            keys.iter().find_map(|k| {
                item.pointer(&format!("/metadata/annotations/{}", k.replace('/', "~1")))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
        };
        if let Some(path) = annotation([crate::labels::KRM_PATH, crate::labels::KRM_LEGACY_PATH]) {
            let index = annotation([crate::labels::KRM_INDEX, crate::labels::KRM_LEGACY_INDEX])
                .and_then(|i| i.parse::<u64>().ok())
                .unwrap_or(0);
            extra.insert("file".into(), json!({"path": path, "index": index}));
        }
        if !extra.contains_key("resourceRef") {
            let mut reference = BTreeMap::new();
            for key in ["apiVersion", "kind"] {
                if let Some(v) = item.get(key) {
                    reference.insert(key.to_owned(), v.clone());
                }
            }
            for key in ["name", "namespace"] {
                if let Some(v) = item.pointer(&format!("/metadata/{key}")) {
                    reference.insert(key.to_owned(), v.clone());
                }
            }
            extra.insert("resourceRef".into(), json!(reference));
        }
    }
    let mut message = format!("[{}] {}", d.code, d.message);
    if let Some(hint) = &d.hint {
        message.push_str(&format!(" (hint: {hint})"));
    }
    result(&message, d.severity.as_str(), Some(extra))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_name_the_functions_settings_not_command_line_flags() {
        let cluster = "apiVersion: multigres.com/v1alpha1\nkind: MultigresCluster\n\
                       metadata: {name: demo}\nspec:\n  cells: [{name: a, zoneId: z}]\n";
        let list = format!(
            "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n{}",
            cluster
                .lines()
                .enumerate()
                .map(|(i, l)| format!("{}{l}\n", if i == 0 { "- " } else { "  " }))
                .collect::<String>()
        );
        let outcome = run(&list);
        assert!(outcome.failed);
        let message = outcome.resource_list["results"][0]["message"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(message.starts_with("[MG006]"), "{message}");
        assert!(
            message.contains("the functionConfig's namespace"),
            "{message}"
        );
        assert!(!message.contains("--"), "{message}");
    }

    #[test]
    fn options() {
        assert_eq!(function_options(None).unwrap().output_dir, "generated");
        let config =
            json!({"data": {"namespace": "db", "images": "multiorch=a:1, postgres=b:2\n"}});
        let options = function_options(Some(&config)).unwrap();
        assert_eq!(options.namespace.as_deref(), Some("db"));
        assert_eq!(options.images, ["multiorch=a:1", "postgres=b:2"]);
        assert!(
            function_options(Some(&json!({"data": {"previewRuntime": "true"}})))
                .unwrap_err()
                .contains("refused")
        );
        assert!(
            function_options(Some(&json!({"data": {"namspace": "x"}})))
                .unwrap_err()
                .contains("did you mean")
        );
        assert!(function_options(Some(&json!({"data": {"outputDir": "../x"}}))).is_err());
        for dir in ["a\nb", "a\tb", "a//b", "x\u{7f}"] {
            assert!(
                function_options(Some(&json!({"data": {"outputDir": dir}}))).is_err(),
                "{dir:?}"
            );
        }
        assert!(function_options(Some(&json!({"data": {"namespace": "Bad_NS"}}))).is_err());
    }

    #[test]
    fn not_a_resource_list() {
        let outcome = run("apiVersion: v1\nkind: ConfigMap\n");
        assert!(outcome.failed);
        assert!(
            outcome.resource_list["results"][0]["message"]
                .as_str()
                .unwrap()
                .contains("ResourceList")
        );
    }
}
