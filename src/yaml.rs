//! YAML streams into JSON values that remember where every node came from.
//!
//! Scalars are resolved the way `kubectl` reads manifests (sigs.k8s.io/yaml on
//! top of go-yaml v2, YAML 1.1 flavoured): `yes`/`on`/`y` are booleans, `0x1F`
//! and `0755` are integers, timestamps stay strings. Duplicate keys are errors,
//! as kubectl's strict field validation makes them. Aliases and nesting are
//! budgeted so that a hostile document ends with an error instead of
//! exhausting memory.

use std::collections::{HashMap, HashSet};

use granit_parser::{Event, Options, Parser, ScalarStyle, Span};
use serde_json::{Map, Number, Value};

/// A position in a source file, both 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

/// Where a node sits: its key (for mapping entries) and its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loc {
    pub key: Option<Pos>,
    pub value: Pos,
}

/// Positions of the nodes of one document, by JSON pointer (`/spec/cells/0`).
#[derive(Debug, Clone, Default)]
pub struct Spans {
    by_pointer: HashMap<String, Loc>,
}

impl Spans {
    /// The location of `pointer`, or of its nearest ancestor that has one.
    pub fn find(&self, pointer: &str) -> Option<(Loc, bool)> {
        let mut current = pointer;
        loop {
            if let Some(loc) = self.by_pointer.get(current) {
                return Some((*loc, current.len() == pointer.len()));
            }
            if current.is_empty() {
                return None;
            }
            current = match current.rfind('/') {
                Some(i) => &current[..i],
                None => "",
            };
        }
    }

    /// The position to report for `pointer`: the key of a mapping entry (so
    /// that `field: value` errors point at the field), else the value.
    pub fn key_pos(&self, pointer: &str) -> Pos {
        self.find(pointer)
            .map(|(loc, _)| loc.key.unwrap_or(loc.value))
            .unwrap_or_default()
    }

    /// The position of the value at `pointer` (or of its nearest ancestor).
    pub fn value_pos(&self, pointer: &str) -> Pos {
        self.find(pointer)
            .map(|(loc, _)| loc.value)
            .unwrap_or_default()
    }

    /// Where to report something about the node at `pointer`: the value of
    /// a scalar (or flow collection) written on its key's line, the key of a
    /// block mapping or list (whose value starts on a later line, at its
    /// first entry), the item of a list. A node the source does not hold (a
    /// defaulted field) is reported at its nearest written ancestor.
    pub fn node_pos(&self, pointer: &str) -> Pos {
        match self.find(pointer) {
            Some((loc, true)) => match loc.key {
                Some(key) if key.line != loc.value.line => key,
                _ => loc.value,
            },
            Some((loc, false)) => loc.key.unwrap_or(loc.value),
            None => Pos::default(),
        }
    }
}

/// One document of a YAML stream.
#[derive(Debug, Clone)]
pub struct Document {
    /// 0-based position of the document in its stream.
    pub index: usize,
    /// Where the document's root node starts.
    pub start: Pos,
    pub value: Value,
    pub spans: Spans,
}

/// Budgets that keep a hostile stream from exhausting time or memory.
/// Each is checked before the work it guards is done, so a breach costs no
/// more than the budget itself.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Deepest nesting of collections.
    pub max_depth: usize,
    /// Nodes produced in one stream, counting every node an alias repeats.
    pub max_nodes: usize,
    /// Nodes produced by alias expansion in one stream: a "billion laughs"
    /// document is refused after this many, however small it is.
    pub max_alias_nodes: usize,
    /// Documents in one stream.
    pub max_documents: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 64,
            max_nodes: 2_000_000,
            // Manifests use aliases for a few shared blocks; kubectl's YAML
            // reader refuses documents where aliases dominate.
            max_alias_nodes: 100_000,
            max_documents: 100_000,
        }
    }
}

/// A stream that could not be read, with the position of the problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub pos: Pos,
    pub message: String,
    /// Which budget was exceeded, if that is why reading stopped.
    pub limit: Option<LimitKind>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitKind {
    Depth,
    Nodes,
    Aliases,
    Documents,
}

/// Parses every document of `text`. Empty documents (only comments) are
/// skipped, as kubectl skips them.
pub fn parse_stream(text: &str, limits: &Limits) -> Result<Vec<Document>, YamlError> {
    let mut options = Options::default();
    options.set_emit_comments(false);
    options.block_nesting_limit = limits.max_depth.saturating_add(1);
    options.flow_nesting_limit = limits.max_depth.saturating_add(1);
    let parser = Parser::new_from_str_with_options(text, options);
    let mut builder = Builder {
        events: parser,
        limits,
        nodes: 0,
        alias_nodes: 0,
        anchors: HashMap::new(),
    };
    builder.stream()
}

struct Builder<'a, I> {
    events: I,
    limits: &'a Limits,
    nodes: usize,
    alias_nodes: usize,
    /// Anchored nodes of the current document, by anchor id, with the number
    /// of nodes each one repeats when an alias uses it.
    anchors: HashMap<usize, (Value, usize)>,
}

/// Adds `n` to the budget `used`; past `limit`, the error `message` says.
fn charge(
    used: &mut usize,
    n: usize,
    limit: usize,
    at: &Span,
    kind: LimitKind,
    message: impl FnOnce() -> String,
) -> Result<(), YamlError> {
    *used = used.saturating_add(n);
    if *used > limit {
        return Err(YamlError {
            pos: pos(at),
            message: message(),
            limit: Some(kind),
        });
    }
    Ok(())
}

fn pos(span: &Span) -> Pos {
    Pos {
        line: u32::try_from(span.start.line()).unwrap_or(u32::MAX),
        col: u32::try_from(span.start.col() + 1).unwrap_or(u32::MAX),
    }
}

impl<'input, I> Builder<'_, I>
where
    I: Iterator<Item = Result<(Event<'input>, Span), granit_parser::ScanError>>,
{
    fn next(&mut self) -> Result<(Event<'input>, Span), YamlError> {
        match self.events.next() {
            Some(Ok(event)) => Ok(event),
            Some(Err(err)) => {
                let mut message = err.info().to_owned();
                // The parser's own nesting guard fires before ours on flow
                // collections; both are the depth budget.
                let limit = (message.contains("recursion limit") || message.contains("nesting"))
                    .then_some(LimitKind::Depth);
                if limit.is_some() {
                    message = self.too_deep();
                }
                Err(YamlError {
                    pos: Pos {
                        line: u32::try_from(err.marker().line()).unwrap_or(u32::MAX),
                        col: u32::try_from(err.marker().col() + 1).unwrap_or(u32::MAX),
                    },
                    message,
                    limit,
                })
            }
            None => Err(YamlError {
                pos: Pos::default(),
                message: "unexpected end of the YAML stream".into(),
                limit: None,
            }),
        }
    }

    fn stream(&mut self) -> Result<Vec<Document>, YamlError> {
        let mut documents = Vec::new();
        let mut index = 0;
        loop {
            let (event, span) = self.next()?;
            match event {
                Event::StreamStart => {}
                Event::StreamEnd => return Ok(documents),
                Event::DocumentStart(..) => {
                    if index >= self.limits.max_documents {
                        return Err(YamlError {
                            pos: pos(&span),
                            message: format!(
                                "more than {} YAML documents in one input",
                                self.limits.max_documents
                            ),
                            limit: Some(LimitKind::Documents),
                        });
                    }
                    self.anchors.clear();
                    let (first, first_span) = self.next()?;
                    if matches!(first, Event::DocumentEnd) {
                        index += 1;
                        continue;
                    }
                    let mut spans = Spans::default();
                    let start = pos(&first_span);
                    let mut pointer = String::new();
                    let value = self.node(first, first_span, &mut pointer, None, &mut spans, 0)?;
                    let (end, end_span) = self.next()?;
                    if !matches!(end, Event::DocumentEnd) {
                        return Err(YamlError {
                            pos: pos(&end_span),
                            message: "expected the end of the document".into(),
                            limit: None,
                        });
                    }
                    // A document holding only `~` or nothing is skipped.
                    if !value.is_null() {
                        documents.push(Document {
                            index,
                            start,
                            value,
                            spans,
                        });
                    }
                    index += 1;
                }
                _ => {
                    return Err(YamlError {
                        pos: pos(&span),
                        message: "unexpected YAML event outside a document".into(),
                        limit: None,
                    });
                }
            }
        }
    }

    fn count_nodes(&mut self, n: usize, at: &Span) -> Result<(), YamlError> {
        let limit = self.limits.max_nodes;
        charge(&mut self.nodes, n, limit, at, LimitKind::Nodes, || {
            format!(
                "the input expands to more than {limit} YAML nodes (aliases count each time they \
                 are used); refusing to read further"
            )
        })
    }

    fn too_deep(&self) -> String {
        format!(
            "YAML nested more than {} levels deep",
            self.limits.max_depth
        )
    }

    /// Charges an alias that repeats `n` nodes to both budgets.
    fn count_alias(&mut self, n: usize, at: &Span) -> Result<(), YamlError> {
        let limit = self.limits.max_alias_nodes;
        charge(
            &mut self.alias_nodes,
            n,
            limit,
            at,
            LimitKind::Aliases,
            || format!("aliases expand to more than {limit} YAML nodes; refusing to read further"),
        )?;
        self.count_nodes(n, at)
    }

    fn node(
        &mut self,
        event: Event<'input>,
        span: Span,
        pointer: &mut String,
        key: Option<Pos>,
        spans: &mut Spans,
        depth: usize,
    ) -> Result<Value, YamlError> {
        if depth > self.limits.max_depth {
            return Err(YamlError {
                pos: pos(&span),
                message: self.too_deep(),
                limit: Some(LimitKind::Depth),
            });
        }
        let nodes_before = self.nodes;
        self.count_nodes(1, &span)?;
        spans.by_pointer.insert(
            pointer.clone(),
            Loc {
                key,
                value: pos(&span),
            },
        );
        let (value, anchor) = match event {
            Event::Scalar(text, style, anchor, tag) => {
                let tag = tag
                    .as_ref()
                    .and_then(|t| t.core_suffix().map(str::to_owned));
                (resolve_scalar(&text, style, tag.as_deref(), &span)?, anchor)
            }
            Event::SequenceStart(_, anchor, _) => {
                let mut items = Vec::new();
                loop {
                    let (event, item_span) = self.next()?;
                    if matches!(event, Event::SequenceEnd) {
                        break;
                    }
                    let len = pointer.len();
                    pointer.push('/');
                    pointer.push_str(&items.len().to_string());
                    let item = self.node(event, item_span, pointer, None, spans, depth + 1)?;
                    pointer.truncate(len);
                    items.push(item);
                }
                (Value::Array(items), anchor)
            }
            Event::MappingStart(_, anchor, _) => {
                (Value::Object(self.mapping(pointer, spans, depth)?), anchor)
            }
            Event::Alias(id) => {
                let Some(&(_, repeats)) = self.anchors.get(&id) else {
                    return Err(YamlError {
                        pos: pos(&span),
                        message: "alias refers to an unknown anchor".into(),
                        limit: None,
                    });
                };
                // Charged before the copy is made. The alias node itself
                // was counted above.
                self.count_alias(repeats.saturating_sub(1), &span)?;
                (self.anchors[&id].0.clone(), 0)
            }
            _ => {
                return Err(YamlError {
                    pos: pos(&span),
                    message: "unexpected YAML event".into(),
                    limit: None,
                });
            }
        };
        if anchor != 0 {
            let repeats = self.nodes - nodes_before;
            self.anchors.insert(anchor, (value.clone(), repeats));
        }
        Ok(value)
    }

    fn mapping(
        &mut self,
        pointer: &mut String,
        spans: &mut Spans,
        depth: usize,
    ) -> Result<Map<String, Value>, YamlError> {
        let mut map = Map::new();
        let mut explicit: HashSet<String> = HashSet::new();
        let mut merged: Vec<Map<String, Value>> = Vec::new();
        loop {
            let (event, key_span) = self.next()?;
            if matches!(event, Event::MappingEnd) {
                break;
            }
            let is_merge_key = matches!(
                &event,
                Event::Scalar(text, ScalarStyle::Plain, _, None) if text == "<<"
            );
            let key = self.key(event, &key_span)?;
            let key_pos = pos(&key_span);
            let (value_event, value_span) = self.next()?;
            if is_merge_key {
                let mut scratch = String::new();
                let mut scratch_spans = Spans::default();
                let value = self.node(
                    value_event,
                    value_span,
                    &mut scratch,
                    None,
                    &mut scratch_spans,
                    depth + 1,
                )?;
                merged.extend(merge_sources(value, &value_span)?);
                continue;
            }
            if !explicit.insert(key.clone()) {
                return Err(YamlError {
                    pos: key_pos,
                    message: format!("duplicate key {key:?} in a mapping"),
                    limit: None,
                });
            }
            let len = pointer.len();
            pointer.push('/');
            push_escaped(pointer, &key);
            let value = self.node(
                value_event,
                value_span,
                pointer,
                Some(key_pos),
                spans,
                depth + 1,
            )?;
            pointer.truncate(len);
            map.insert(key, value);
        }
        // `<<: *base` adds the keys the mapping does not set itself; the first
        // merged mapping wins among several, as in go-yaml.
        for source in merged {
            for (key, value) in source {
                map.entry(key).or_insert(value);
            }
        }
        Ok(map)
    }

    /// Mapping keys become strings, as sigs.k8s.io/yaml turns them into JSON
    /// object keys.
    fn key(&mut self, event: Event<'input>, span: &Span) -> Result<String, YamlError> {
        let value = match event {
            Event::Scalar(text, style, _, tag) => {
                let tag = tag
                    .as_ref()
                    .and_then(|t| t.core_suffix().map(str::to_owned));
                resolve_scalar(&text, style, tag.as_deref(), span)?
            }
            Event::Alias(id) => self
                .anchors
                .get(&id)
                .map_or(Value::Null, |(value, _)| value.clone()),
            _ => {
                return Err(YamlError {
                    pos: pos(span),
                    message: "mapping keys must be scalars".into(),
                    limit: None,
                });
            }
        };
        match value {
            Value::String(s) => Ok(s),
            Value::Null => Ok("null".into()),
            Value::Bool(b) => Ok(b.to_string()),
            Value::Number(n) => Ok(n.to_string()),
            _ => Err(YamlError {
                pos: pos(span),
                message: "mapping keys must be scalars".into(),
                limit: None,
            }),
        }
    }
}

fn merge_sources(value: Value, span: &Span) -> Result<Vec<Map<String, Value>>, YamlError> {
    let not_a_mapping = || YamlError {
        pos: pos(span),
        message: "a merge key (`<<`) needs a mapping or a list of mappings".into(),
        limit: None,
    };
    match value {
        Value::Object(map) => Ok(vec![map]),
        Value::Array(items) => items
            .into_iter()
            .map(|item| match item {
                Value::Object(map) => Ok(map),
                _ => Err(not_a_mapping()),
            })
            .collect(),
        _ => Err(not_a_mapping()),
    }
}

/// Appends `key` to a JSON pointer, escaping `~` and `/` (RFC 6901).
pub fn push_escaped(pointer: &mut String, key: &str) {
    for c in key.chars() {
        match c {
            '~' => pointer.push_str("~0"),
            '/' => pointer.push_str("~1"),
            _ => pointer.push(c),
        }
    }
}

/// Resolves one scalar as go-yaml v2 does for an untyped target.
fn resolve_scalar(
    text: &str,
    style: ScalarStyle,
    tag: Option<&str>,
    span: &Span,
) -> Result<Value, YamlError> {
    let invalid = |what: &str| YamlError {
        pos: pos(span),
        message: format!("{text:?} is not a valid {what}"),
        limit: None,
    };
    match tag {
        Some("str") => return Ok(Value::String(text.to_owned())),
        Some("null") => return Ok(Value::Null),
        Some("bool") => {
            return bool_value(text)
                .map(Value::Bool)
                .ok_or_else(|| invalid("bool"));
        }
        Some("int") => return int_value(text).ok_or_else(|| invalid("integer")),
        Some("float") => {
            return float_value(text)
                .or_else(|| int_value(text))
                .ok_or_else(|| invalid("float"))
                .and_then(|v| finite(v, span));
        }
        _ => {}
    }
    if style != ScalarStyle::Plain {
        return Ok(Value::String(text.to_owned()));
    }
    if matches!(text, "" | "~" | "null" | "Null" | "NULL") {
        return Ok(Value::Null);
    }
    if let Some(b) = bool_value(text) {
        return Ok(Value::Bool(b));
    }
    let starts_numeric = text.starts_with(|c: char| c.is_ascii_digit() || "+-.".contains(c));
    if starts_numeric {
        if let Some(number) = int_value(text) {
            return Ok(number);
        }
        if let Some(number) = float_value(text) {
            return finite(number, span);
        }
    }
    Ok(Value::String(text.to_owned()))
}

fn finite(value: Value, span: &Span) -> Result<Value, YamlError> {
    if value.is_null() {
        return Err(YamlError {
            pos: pos(span),
            message: "infinite and NaN numbers cannot be represented in JSON".into(),
            limit: None,
        });
    }
    Ok(value)
}

/// YAML 1.1 booleans, as go-yaml v2 reads them.
fn bool_value(text: &str) -> Option<bool> {
    match text {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            Some(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            Some(false)
        }
        _ => None,
    }
}

/// Integers as Go's `strconv.ParseInt(s, 0, 64)` reads them after go-yaml
/// removed underscores: decimal, `0x` hex, `0o` or leading-zero octal, `0b`.
fn int_value(text: &str) -> Option<Value> {
    let plain: String = text.chars().filter(|&c| c != '_').collect();
    let (negative, digits) = match plain.as_bytes().first() {
        Some(b'-') => (true, &plain[1..]),
        Some(b'+') => (false, &plain[1..]),
        _ => (false, plain.as_str()),
    };
    let (radix, body) = if let Some(rest) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        (16, rest)
    } else if let Some(rest) = digits
        .strip_prefix("0b")
        .or_else(|| digits.strip_prefix("0B"))
    {
        (2, rest)
    } else if let Some(rest) = digits
        .strip_prefix("0o")
        .or_else(|| digits.strip_prefix("0O"))
    {
        (8, rest)
    } else if digits.len() > 1 && digits.starts_with('0') {
        (8, &digits[1..])
    } else {
        (10, digits)
    };
    if body.is_empty() || !body.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u64::from_str_radix(body, radix).ok()?;
    if negative {
        let value = 0i64.checked_sub_unsigned(magnitude)?;
        Some(Value::Number(value.into()))
    } else {
        Some(Value::Number(magnitude.into()))
    }
}

/// Floats in YAML's plain style; integral values become JSON integers, as Go's
/// JSON encoder writes `1.0` as `1`. Infinity and NaN yield `Null` (an error).
fn float_value(text: &str) -> Option<Value> {
    let lowered = text.to_ascii_lowercase();
    if matches!(lowered.as_str(), ".inf" | "+.inf" | "-.inf" | ".nan") {
        return Some(Value::Null);
    }
    if !is_yaml_float(text) {
        return None;
    }
    let float: f64 = text.parse().ok()?;
    if !float.is_finite() {
        return Some(Value::Null);
    }
    const EXACT_INTEGER_LIMIT: f64 = 9_007_199_254_740_992.0; // 2^53
    if float.fract() == 0.0 && float.abs() < EXACT_INTEGER_LIMIT {
        // The range check above makes the conversion exact.
        #[allow(clippy::cast_possible_truncation)]
        return Some(Value::Number((float as i64).into()));
    }
    Number::from_f64(float).map(Value::Number)
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`, go-yaml's float syntax.
fn is_yaml_float(text: &str) -> bool {
    let s = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some(("", frac)) => !frac.is_empty() && frac.bytes().all(|b| b.is_ascii_digit()),
        Some((int, frac)) => {
            !int.is_empty()
                && int.bytes().all(|b| b.is_ascii_digit())
                && frac.bytes().all(|b| b.is_ascii_digit())
        }
        None => !mantissa.is_empty() && mantissa.bytes().all(|b| b.is_ascii_digit()),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let digits = e.strip_prefix(['-', '+']).unwrap_or(e);
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
    });
    mantissa_ok && exponent_ok
}

/// One value as a YAML document (keys sorted, strings quoted where YAML 1.1
/// readers such as kubectl would otherwise see another type).
pub fn document(value: &Value) -> String {
    try_document(value)
        .unwrap_or_else(|e| panic!("internal error: a value does not serialise to YAML: {e}"))
}

/// [`document`], or why serde-saphyr refused the value (a bug: every JSON value
/// has a YAML form).
pub fn try_document(value: &Value) -> Result<String, serde_saphyr::ser::Error> {
    // Long lines stay on one line (no folding), so that diffs show whole
    // values; multi-line strings become literal blocks.
    let mut options = serde_saphyr::SerializerOptions::default();
    options.folded_wrap_chars = usize::MAX;
    let mut text = serde_saphyr::to_string_with_options(value, options)?;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(text: &str) -> Vec<Document> {
        parse_stream(text, &Limits::default()).expect("valid YAML")
    }

    fn one(text: &str) -> Value {
        parse(text).remove(0).value
    }

    #[test]
    fn scalars_resolve_like_kubectl() {
        let v = one(
            "a: yes\nb: off\nc: 0x1F\nd: 0755\ne: 1_000\nf: 1.5\ng: 1.0\nh: '1'\ni: ~\nj: 2001-01-01\n\
             k: 1e3\nl: -12\nm: .5\nnn: \"on\"\no: 1Gi\np: 0b11\nq: !!str 12\nr: 0o17\ns: +3\n",
        );
        assert_eq!(
            v,
            json!({"a": true, "b": false, "c": 31, "d": 493, "e": 1000, "f": 1.5, "g": 1,
                   "h": "1", "i": null, "j": "2001-01-01", "k": 1000, "l": -12, "m": 0.5,
                   "nn": "on", "o": "1Gi", "p": 3, "q": "12", "r": 15, "s": 3})
        );
    }

    #[test]
    fn positions_of_keys_and_values() {
        let docs =
            parse("---\n# comment\nkind: A\nspec:\n  cells:\n    - name: x\n      zoneId: z\n");
        let spans = &docs[0].spans;
        assert_eq!(spans.key_pos("/kind"), Pos { line: 3, col: 1 });
        assert_eq!(spans.value_pos("/kind"), Pos { line: 3, col: 7 });
        assert_eq!(
            spans.key_pos("/spec/cells/0/zoneId"),
            Pos { line: 7, col: 7 }
        );
        assert_eq!(spans.value_pos("/spec/cells/0"), Pos { line: 6, col: 7 });
        // A missing field reports its nearest ancestor.
        assert_eq!(
            spans.key_pos("/spec/cells/0/region"),
            Pos { line: 6, col: 7 }
        );
    }

    #[test]
    fn multiple_documents_and_empty_ones() {
        let docs = parse("a: 1\n---\n# only a comment\n---\nb: 2\n...\n---\n");
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].value, json!({"a": 1}));
        assert_eq!(docs[1].value, json!({"b": 2}));
        assert_eq!(docs[1].index, 2);
        assert_eq!(docs[1].start.line, 5);
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let err = parse_stream("a: 1\nb: 2\na: 3\n", &Limits::default()).unwrap_err();
        assert_eq!(err.pos, Pos { line: 3, col: 1 });
        assert!(err.message.contains("duplicate key \"a\""));
    }

    #[test]
    fn anchors_aliases_and_merge_keys() {
        let v = one("base: &b {x: 1, z: 2}\nuse: *b\nmerged:\n  <<: *b\n  z: 3\n");
        assert_eq!(v["use"], json!({"x": 1, "z": 2}));
        assert_eq!(v["merged"], json!({"x": 1, "z": 3}));
    }

    #[test]
    fn boolean_looking_keys_become_true_and_false_as_in_kubectl() {
        assert_eq!(one("n: 1\ny: 2\n"), json!({"false": 1, "true": 2}));
    }

    #[test]
    fn syntax_errors_have_positions() {
        let err = parse_stream("a: [1, 2\nb: 3\n", &Limits::default()).unwrap_err();
        assert!(err.pos.line >= 1);
        assert!(!err.message.is_empty());
    }

    #[test]
    fn billion_laughs_is_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let refs = vec![format!("*a{}", i - 1); 10].join(", ");
            text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        let err = parse_stream(&text, &Limits::default()).unwrap_err();
        assert_eq!(err.limit, Some(LimitKind::Aliases));
        // Refused on line 5, whose aliases repeat 11 111 nodes each, long
        // before the 10^10 nodes the document describes.
        assert_eq!(err.pos.line, 5, "{err:?}");
    }

    #[test]
    fn aliases_within_the_budget_are_charged_what_they_repeat() {
        let limits = Limits {
            max_alias_nodes: 7,
            ..Limits::default()
        };
        // `*b` repeats a mapping of 3 nodes: 1 + 2 extra each time.
        let text = "b: &b {x: 1, y: 2}\nc: [*b, *b, *b]\n";
        assert!(parse_stream(text, &limits).is_ok());
        let text = "b: &b {x: 1, y: 2}\nc: [*b, *b, *b, *b]\n";
        let err = parse_stream(text, &limits).unwrap_err();
        assert_eq!(err.limit, Some(LimitKind::Aliases));
    }

    #[test]
    fn literal_nodes_have_their_own_budget() {
        let limits = Limits {
            max_nodes: 10,
            ..Limits::default()
        };
        let err = parse_stream("[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]", &limits).unwrap_err();
        assert_eq!(err.limit, Some(LimitKind::Nodes));
        assert!(parse_stream("[1, 2, 3, 4, 5, 6, 7, 8, 9]", &limits).is_ok());
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = format!("{}1{}", "[".repeat(100), "]".repeat(100));
        let err = parse_stream(&text, &Limits::default()).unwrap_err();
        assert_eq!(err.limit, Some(LimitKind::Depth), "{err:?}");
        assert_eq!(err.message, "YAML nested more than 64 levels deep");
        let block: String = (0..100).map(|i| format!("{}a:\n", " ".repeat(i))).collect();
        let err = parse_stream(&block, &Limits::default()).unwrap_err();
        assert_eq!(err.limit, Some(LimitKind::Depth), "{err:?}");
        // Exactly at the budget is accepted.
        let text = format!("{}1{}", "[".repeat(64), "]".repeat(64));
        assert!(parse_stream(&text, &Limits::default()).is_ok());
    }

    #[test]
    fn infinities_are_refused() {
        assert!(parse_stream("a: .inf\n", &Limits::default()).is_err());
        assert!(parse_stream("a: 1e999\n", &Limits::default()).is_err());
    }
}
