//! Inputs into Kubernetes objects that know where they came from.

pub use crate::diagnostics::did_you_mean;
use serde_json::Value;

use super::diagnostics::{self as codes, Diagnostic, Diagnostics, Severity};
use super::yaml::{self, Document, LimitKind, Limits, Pos, Spans};
use crate::api::{API_VERSION, GROUP, Kind};

/// One input file (or stdin) as raw bytes.
#[derive(Debug, Clone)]
pub struct Input {
    /// How diagnostics name the file: a path, or `-` for stdin.
    pub name: String,
    pub bytes: Vec<u8>,
}

impl Input {
    pub fn new(name: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Self {
        Self {
            name: name.into(),
            bytes: bytes.into(),
        }
    }
}

/// Budgets for hostile or accidental huge inputs.
#[derive(Debug, Clone, Copy)]
pub struct InputLimits {
    /// Bytes over all inputs.
    pub max_input_bytes: usize,
    /// Objects over all inputs, and objects in the output (inputs plus
    /// generated ones): one small cluster can ask for hundreds of thousands.
    pub max_objects: usize,
    /// Bytes of the output (as compact JSON): a template copied into every
    /// shard or cell multiplies its size.
    pub max_output_bytes: usize,
    pub yaml: Limits,
}

impl Default for InputLimits {
    fn default() -> Self {
        Self {
            max_input_bytes: 32 << 20,
            max_objects: 50_000,
            max_output_bytes: 256 << 20,
            yaml: Limits::default(),
        }
    }
}

/// The parsed documents of every input.
#[derive(Debug, Default)]
pub struct Sources {
    pub files: Vec<SourceFile>,
}

#[derive(Debug)]
pub struct SourceFile {
    pub name: String,
    pub docs: Vec<Document>,
}

/// One document of one input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DocId {
    pub file: usize,
    pub doc: usize,
}

/// Where an object sits in the inputs: its document, and the JSON pointer of
/// the object inside it (empty, or `/items/3` for an entry of a `List`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectSource {
    pub doc: DocId,
    pub base: String,
}

impl Sources {
    pub fn file_name(&self, doc: DocId) -> &str {
        self.files
            .get(doc.file)
            .map_or("<generated>", |f| f.name.as_str())
    }

    fn document(&self, doc: DocId) -> Option<&Document> {
        self.files.get(doc.file)?.docs.get(doc.doc)
    }

    /// Asks the spans of `source`'s document about `pointer` inside the
    /// object; generated objects, which have no document, get the default.
    fn ask_spans<R: Default>(
        &self,
        source: &ObjectSource,
        pointer: &str,
        ask: impl FnOnce(&Spans, &str) -> R,
    ) -> R {
        self.document(source.doc)
            .map(|d| ask(&d.spans, &format!("{}{pointer}", source.base)))
            .unwrap_or_default()
    }

    /// Position of the key (or value) at `pointer` inside the object.
    pub fn key_pos(&self, source: &ObjectSource, pointer: &str) -> Pos {
        self.ask_spans(source, pointer, Spans::key_pos)
    }

    pub fn value_pos(&self, source: &ObjectSource, pointer: &str) -> Pos {
        self.ask_spans(source, pointer, Spans::value_pos)
    }

    /// Where to report something about the node at `pointer`
    /// ([`Spans::node_pos`]).
    pub fn node_pos(&self, source: &ObjectSource, pointer: &str) -> Pos {
        self.ask_spans(source, pointer, Spans::node_pos)
    }

    /// Whether the document holds a node at exactly `pointer`.
    pub fn has_node(&self, source: &ObjectSource, pointer: &str) -> bool {
        self.ask_spans(source, pointer, |spans, at| {
            spans.find(at).is_some_and(|(_, exact)| exact)
        })
    }
}

/// A Kubernetes object read from the inputs.
#[derive(Debug, Clone)]
pub struct LoadedObject {
    pub source: ObjectSource,
    pub value: Value,
    pub api_version: String,
    pub kind_name: String,
    /// Our kind, when the object belongs to `multigres.com/v1alpha1`.
    pub kind: Option<Kind>,
    pub name: String,
    pub namespace: Option<String>,
    /// Its size as compact JSON, measured once: for the limit on one object
    /// and the output byte budget.
    pub bytes: usize,
}

impl LoadedObject {
    pub fn label(&self, key: &str) -> Option<&str> {
        self.value.pointer("/metadata/labels")?.get(key)?.as_str()
    }
}

/// Reads every input: YAML or JSON streams, one object per document, `List`
/// objects expanded into their items.
pub fn load(
    inputs: &[Input],
    options: &super::Options,
) -> (Sources, Vec<LoadedObject>, Diagnostics) {
    let limits = &options.limits;
    let mut sources = Sources::default();
    let mut objects = Vec::new();
    let mut diagnostics = Diagnostics::default();
    let mut bytes_read = 0;
    for input in inputs {
        let file = sources.files.len();
        let error = |code, pos, message: String, hint: Option<&str>| Diagnostic {
            severity: Severity::Error,
            code,
            message,
            file: input.name.clone(),
            pos,
            field: None,
            hint: hint.map(str::to_owned),
            subject: None,
        };
        if input.bytes.len() > limits.max_input_bytes - bytes_read {
            let message = if bytes_read == 0 {
                format!(
                    "input is larger than the limit of {} bytes",
                    limits.max_input_bytes
                )
            } else {
                format!(
                    "the inputs together are larger than the limit of {} bytes \
                     ({bytes_read} bytes were read before this one)",
                    limits.max_input_bytes
                )
            };
            diagnostics.push(error(
                codes::INPUT_LIMIT,
                Pos { line: 1, col: 1 },
                message,
                Some(&options.front_end.limit_hint("--max-input-bytes")),
            ));
            // The budget is spent: later inputs are not read either.
            break;
        }
        bytes_read += input.bytes.len();
        let text = match std::str::from_utf8(&input.bytes) {
            Ok(text) => text,
            Err(err) => {
                let (line, col) = line_col(&input.bytes, err.valid_up_to());
                diagnostics.push(error(
                    codes::UNREADABLE,
                    Pos { line, col },
                    format!(
                        "input is not UTF-8 text (invalid byte at offset {})",
                        err.valid_up_to()
                    ),
                    Some("Kubernetes manifests must be UTF-8 encoded"),
                ));
                sources.files.push(SourceFile {
                    name: input.name.clone(),
                    docs: Vec::new(),
                });
                continue;
            }
        };
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let docs = match yaml::parse_stream(text, &limits.yaml) {
            Ok(docs) => docs,
            Err(err) => {
                let (code, hint) = match err.limit {
                    Some(LimitKind::Depth) => (codes::INPUT_LIMIT, Some("reduce the nesting")),
                    Some(LimitKind::Nodes) => (codes::INPUT_LIMIT, Some("split the input")),
                    Some(LimitKind::Aliases) => (
                        codes::INPUT_LIMIT,
                        Some(
                            "aliases that repeat large nodes many times are refused; write the values out",
                        ),
                    ),
                    Some(LimitKind::Documents) => (codes::INPUT_LIMIT, Some("split the input")),
                    None => (
                        codes::YAML_SYNTAX,
                        Some(
                            "check the indentation of this line and the one before, and quote \
                             values that hold ': ', ' #' or start with one of {}[]*&!|>%@`",
                        ),
                    ),
                };
                diagnostics.push(error(code, err.pos, err.message, hint));
                sources.files.push(SourceFile {
                    name: input.name.clone(),
                    docs: Vec::new(),
                });
                continue;
            }
        };
        for (doc_index, document) in docs.iter().enumerate() {
            let doc = DocId {
                file,
                doc: doc_index,
            };
            collect_objects(
                &document.value,
                doc,
                String::new(),
                &input.name,
                document,
                &mut objects,
                &mut diagnostics,
            );
        }
        sources.files.push(SourceFile {
            name: input.name.clone(),
            docs,
        });
        if objects.len() > limits.max_objects {
            diagnostics.push(error(
                codes::INPUT_LIMIT,
                Pos { line: 1, col: 1 },
                format!("the inputs hold more than {} objects", limits.max_objects),
                Some(&options.front_end.limit_hint("--max-objects")),
            ));
            objects.truncate(limits.max_objects);
            break;
        }
    }
    (sources, objects, diagnostics)
}

fn collect_objects(
    value: &Value,
    doc: DocId,
    base: String,
    file: &str,
    document: &Document,
    objects: &mut Vec<LoadedObject>,
    diagnostics: &mut Diagnostics,
) {
    let pos = |pointer: &str| document.spans.node_pos(&format!("{base}{pointer}"));
    let mut fail = |pointer: &str, message: String, hint: &str| {
        diagnostics.push(Diagnostic {
            severity: Severity::Error,
            code: codes::NOT_AN_OBJECT,
            message,
            file: file.to_owned(),
            pos: pos(pointer),
            field: None,
            hint: Some(hint.to_owned()),
            subject: None,
        });
    };
    let Some(map) = value.as_object() else {
        fail(
            "",
            "document is not a mapping".into(),
            "each YAML document must be one Kubernetes object",
        );
        return;
    };
    let api_version = map.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let kind_name = map.get("kind").and_then(Value::as_str).unwrap_or("");
    if api_version.is_empty() || kind_name.is_empty() {
        let missing = if api_version.is_empty() {
            "apiVersion"
        } else {
            "kind"
        };
        let looks_like_images_file = !map.is_empty()
            && map
                .keys()
                .all(|key| crate::images::Component::from_key(key).is_some());
        let hint = if looks_like_images_file {
            "this looks like an images file (component: image): name it as the images file, \
             which is then not read as an input"
        } else {
            "every object needs apiVersion, kind and metadata.name; a file that is not a \
             Kubernetes object belongs outside the input directories"
        };
        fail("", format!("object has no {missing}"), hint);
        return;
    }
    if api_version == "v1"
        && kind_name.ends_with("List")
        && let Some(items) = map.get("items").and_then(Value::as_array)
    {
        for (i, item) in items.iter().enumerate() {
            let base = format!("{base}/items/{i}");
            collect_objects(item, doc, base, file, document, objects, diagnostics);
        }
        return;
    }
    let name = map
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("");
    if name.is_empty() {
        fail(
            "/metadata",
            format!("{kind_name} has no metadata.name"),
            "name the object; generateName cannot be rendered offline",
        );
        return;
    }
    let size = super::size::json_len(value);
    if size > super::size::MAX_OBJECT_BYTES {
        diagnostics.push(Diagnostic {
            severity: Severity::Error,
            code: codes::INPUT_LIMIT,
            message: format!(
                "{kind_name} {name:?} is {size} bytes as JSON; the API server stores objects of at \
                 most {} bytes (etcd's request limit)",
                super::size::MAX_OBJECT_BYTES
            ),
            file: file.to_owned(),
            pos: pos(""),
            field: None,
            hint: Some("split the object, or move bulky values out of it".into()),
            subject: None,
        });
        return;
    }
    let namespace = map
        .get("metadata")
        .and_then(|m| m.get("namespace"))
        .and_then(Value::as_str)
        .filter(|ns| !ns.is_empty())
        .map(str::to_owned);
    let kind = Kind::from_name(kind_name);
    if let Some(group_version) = api_version
        .strip_prefix(GROUP)
        .and_then(|r| r.strip_prefix('/'))
        && api_version != API_VERSION
    {
        diagnostics.push(Diagnostic {
            severity: Severity::Error,
            code: codes::UNKNOWN_VERSION,
            message: format!("unknown version {group_version:?} of the {GROUP} API"),
            file: file.to_owned(),
            pos: pos("/apiVersion"),
            field: None,
            hint: Some(format!("this release understands {API_VERSION}")),
            subject: None,
        });
        return;
    }
    let ours = api_version == API_VERSION;
    if ours && kind.is_none() {
        diagnostics.push(Diagnostic {
            severity: Severity::Error,
            code: codes::UNKNOWN_VERSION,
            message: format!("{API_VERSION} has no kind {kind_name:?}"),
            file: file.to_owned(),
            pos: pos("/kind"),
            field: None,
            hint: did_you_mean(kind_name, Kind::ALL.iter().map(|k| k.name()))
                .map(|k| format!("did you mean {k}?")),
            subject: None,
        });
        return;
    }
    objects.push(LoadedObject {
        source: ObjectSource { doc, base },
        value: value.clone(),
        api_version: api_version.to_owned(),
        kind_name: kind_name.to_owned(),
        kind: if ours { kind } else { None },
        name: name.to_owned(),
        namespace,
        bytes: size,
    });
}

/// 1-based line and column of byte `offset`.
fn line_col(bytes: &[u8], offset: usize) -> (u32, u32) {
    let before = &bytes[..offset.min(bytes.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let col = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(col).unwrap_or(u32::MAX),
    )
}

#[cfg(test)]
mod tests {
    fn with_limits(limits: InputLimits) -> crate::compile::Options {
        crate::compile::Options {
            limits,
            ..Default::default()
        }
    }
    use super::*;

    fn load_one(text: &str) -> (Vec<LoadedObject>, Diagnostics) {
        let (_, objects, diagnostics) = load(&[Input::new("in.yaml", text)], &Default::default());
        (objects, diagnostics)
    }

    #[test]
    fn objects_and_lists() {
        let (objects, diagnostics) = load_one(
            "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Secret\n  metadata: {name: a}\n---\n\
             apiVersion: multigres.com/v1alpha1\nkind: CellTemplate\nmetadata: {name: b, namespace: x}\n",
        );
        assert!(diagnostics.0.is_empty(), "{diagnostics}");
        assert_eq!(objects.len(), 2);
        assert_eq!(objects[0].source.base, "/items/0");
        assert_eq!(objects[1].kind, Some(Kind::CellTemplate));
        assert_eq!(objects[1].namespace.as_deref(), Some("x"));
    }

    #[test]
    fn bad_documents_are_reported_with_positions() {
        let (_, diagnostics) = load_one(
            "- a\n---\nkind: Secret\nmetadata: {name: a}\n---\napiVersion: multigres.com/v1beta1\nkind: Cell\nmetadata: {name: c}\n\
             ---\napiVersion: multigres.com/v1alpha1\nkind: MultigresClustr\nmetadata: {name: c}\n",
        );
        let found: Vec<_> = diagnostics.0.iter().map(|d| (d.code, d.pos.line)).collect();
        assert_eq!(
            found,
            [("MG004", 1), ("MG004", 3), ("MG008", 6), ("MG008", 11)]
        );
        assert_eq!(
            diagnostics.0[3].hint.as_deref(),
            Some("did you mean MultigresCluster?")
        );
    }

    #[test]
    fn non_utf8_and_oversized_inputs() {
        let (_, objects, diagnostics) = load(
            &[Input::new("bin", b"a: 1\nb: \xff\n".to_vec())],
            &Default::default(),
        );
        assert!(objects.is_empty());
        assert_eq!(diagnostics.0[0].code, "MG003");
        assert_eq!(diagnostics.0[0].pos, Pos { line: 2, col: 4 });
        let limits = with_limits(InputLimits {
            max_input_bytes: 4,
            ..InputLimits::default()
        });
        let (_, _, diagnostics) = load(&[Input::new("big", "a: 12345")], &limits);
        assert_eq!(diagnostics.0[0].code, "MG002");
        assert_eq!(
            diagnostics.0[0].message,
            "input is larger than the limit of 4 bytes"
        );
        // The budget covers all inputs together.
        let limits = with_limits(InputLimits {
            max_input_bytes: 11,
            ..InputLimits::default()
        });
        let inputs = [Input::new("one", "a: 1\n"), Input::new("two", "b: 12\n")];
        let (_, _, diagnostics) = load(&inputs, &limits);
        assert!(!diagnostics.0.iter().any(|d| d.code == "MG002"));
        let inputs = [Input::new("one", "a: 1\n"), Input::new("two", "b: 123\n")];
        let (_, _, diagnostics) = load(&inputs, &limits);
        let breach = diagnostics.0.iter().find(|d| d.code == "MG002").unwrap();
        assert_eq!(breach.file, "two");
        assert!(
            breach.message.contains("5 bytes were read before"),
            "{}",
            breach.message
        );
    }

    #[test]
    fn suggestions() {
        assert_eq!(did_you_mean("zoneID", ["zoneId", "region"]), Some("zoneId"));
        assert_eq!(
            did_you_mean("replcas", ["replicas", "resources"]),
            Some("replicas")
        );
        assert_eq!(did_you_mean("totally", ["replicas"]), None);
    }
}
