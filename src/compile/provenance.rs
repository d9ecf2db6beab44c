//! Where every resolved value came from: which layer of the template chain
//! set it, and the file position of the node that holds it.
//!
//! The resolver records, while it merges, "this field (or block) of the
//! result was taken from that node of that input". A lookup finds the most
//! specific record covering a field.

use std::collections::BTreeMap;
use std::fmt;

use super::load::ObjectSource;
use crate::api::Kind;

/// How a template was chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// Named by the component itself (`cellTemplate`, `templateRef`, …).
    Reference,
    /// Named by `spec.templateDefaults`.
    TemplateDefaults,
    /// The namespace's template called `default`, used because nothing else
    /// names one.
    NamespaceDefault,
}

/// The layer of the resolution chain that supplied a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layer {
    /// The cluster's inline `spec` (or a field copied from the cluster spec).
    Inline,
    /// The cluster's `overrides` on top of a template.
    Override,
    Template {
        kind: Kind,
        name: String,
        via: Via,
    },
    /// A `default:` of the CRD schema, applied as the API server would.
    SchemaDefault,
    /// A built-in default of the operator.
    BuiltIn,
    /// Computed from other values; the text says how.
    Derived(String),
    /// The image set: compiled-in, `--image`, or an images file.
    ImageSet(String),
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Layer::Inline => f.write_str("inline in the MultigresCluster"),
            Layer::Override => f.write_str("overrides in the MultigresCluster"),
            Layer::Template { kind, name, via } => {
                let via = match via {
                    Via::Reference => "named by the component",
                    Via::TemplateDefaults => "named by spec.templateDefaults",
                    Via::NamespaceDefault => "the namespace default template",
                };
                write!(f, "{} {name:?} ({via})", kind.name())
            }
            Layer::SchemaDefault => f.write_str("CRD schema default"),
            Layer::BuiltIn => f.write_str("built-in default"),
            Layer::Derived(how) => write!(f, "derived: {how}"),
            Layer::ImageSet(from) => write!(f, "image set: {from}"),
        }
    }
}

/// A layer and, when the value is written in an input, the node holding it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub layer: Layer,
    /// The object and the JSON pointer of the node inside it.
    pub at: Option<(ObjectSource, String)>,
}

impl Source {
    pub fn new(layer: Layer, at: Option<(ObjectSource, String)>) -> Self {
        Self { layer, at }
    }

    pub fn built_in() -> Self {
        Self::new(Layer::BuiltIn, None)
    }

    pub fn derived(how: impl Into<String>) -> Self {
        Self::new(Layer::Derived(how.into()), None)
    }

    /// The same source, one level deeper.
    pub fn child(&self, key: &str) -> Self {
        let mut next = self.clone();
        if let Some((_, pointer)) = &mut next.at {
            pointer.push('/');
            super::yaml::push_escaped(pointer, key);
        }
        next
    }
}

/// Records by JSON pointer inside one resolved object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Provenance {
    records: BTreeMap<String, Source>,
}

impl Provenance {
    /// `target` (and everything below it) came from `source`.
    pub fn record(&mut self, target: &str, source: Source) {
        let below = format!("{target}/");
        self.records.retain(|k, _| !k.starts_with(&below));
        self.records.insert(target.to_owned(), source);
    }

    /// The source of `pointer`: the most specific record covering it, with
    /// the node pointer extended to the field itself.
    pub fn lookup(&self, pointer: &str) -> Option<Source> {
        let mut current = pointer;
        loop {
            if let Some(source) = self.records.get(current) {
                let rest = &pointer[current.len()..];
                let mut found = source.clone();
                if let Some((_, at)) = &mut found.at {
                    at.push_str(rest);
                }
                return Some(found);
            }
            if current.is_empty() {
                return None;
            }
            current = current.rfind('/').map_or("", |i| &current[..i]);
        }
    }

    /// Adds every record of `other` under `prefix`.
    pub fn mount(&mut self, prefix: &str, other: &Provenance) {
        for (pointer, source) in &other.records {
            self.record(&format!("{prefix}{pointer}"), source.clone());
        }
    }

    pub fn records(&self) -> impl Iterator<Item = (&String, &Source)> {
        self.records.iter()
    }
}

/// Records while merging: `target` is where the merge writes inside the
/// result, `source` the node it reads from.
pub struct Recorder<'p> {
    prov: &'p mut Provenance,
    target: String,
    source: Source,
}

impl<'p> Recorder<'p> {
    pub fn new(prov: &'p mut Provenance, target: impl Into<String>, source: Source) -> Self {
        Self {
            prov,
            target: target.into(),
            source,
        }
    }

    /// A recorder one level deeper in both the result and the source.
    pub fn field(&mut self, key: &str) -> Recorder<'_> {
        let mut target = self.target.clone();
        target.push('/');
        super::yaml::push_escaped(&mut target, key);
        Recorder {
            prov: self.prov,
            target,
            source: self.source.child(key),
        }
    }

    /// The whole node under this recorder came from the source.
    pub fn here(&mut self) {
        self.prov.record(&self.target, self.source.clone());
    }

    /// Field `key` came from the source.
    pub fn set(&mut self, key: &str) {
        self.field(key).here();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::load::DocId;

    fn at(pointer: &str) -> Source {
        let object = ObjectSource {
            doc: DocId { file: 0, doc: 0 },
            base: String::new(),
        };
        Source::new(Layer::Inline, Some((object, pointer.to_owned())))
    }

    #[test]
    fn most_specific_record_wins_and_extends_the_pointer() {
        let mut prov = Provenance::default();
        prov.record("/spec/multigateway", at("/spec/multigateway"));
        prov.record("/spec/multigateway/replicas", Source::built_in());
        assert_eq!(
            prov.lookup("/spec/multigateway/replicas").unwrap().layer,
            Layer::BuiltIn
        );
        let resources = prov.lookup("/spec/multigateway/resources/limits").unwrap();
        assert_eq!(
            resources.at.unwrap().1,
            "/spec/multigateway/resources/limits"
        );
        assert!(prov.lookup("/spec/other").is_none());
        // A later record of a block replaces what was recorded inside it.
        prov.record("/spec/multigateway", Source::derived("test"));
        assert_eq!(
            prov.lookup("/spec/multigateway/replicas").unwrap().layer,
            Layer::Derived("test".into())
        );
    }

    #[test]
    fn recorder_walks_both_sides() {
        let mut prov = Provenance::default();
        let mut rec = Recorder::new(&mut prov, "/pools/main", at("/spec/pools/main"));
        rec.field("storage").set("size");
        let found = prov.lookup("/pools/main/storage/size").unwrap();
        assert_eq!(found.at.unwrap().1, "/spec/pools/main/storage/size");
    }
}
