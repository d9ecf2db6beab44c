//! Field paths: `spec.cells[0].zoneId` for people, `/spec/cells/0/zoneId`
//! (JSON pointer) for lookups.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Segment {
    Key(String),
    Index(usize),
}

#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FieldPath(pub Vec<Segment>);

impl FieldPath {
    pub fn root() -> Self {
        Self(Vec::new())
    }

    pub fn key(&self, key: &str) -> Self {
        let mut next = self.clone();
        next.0.push(Segment::Key(key.to_owned()));
        next
    }

    pub fn index(&self, index: usize) -> Self {
        let mut next = self.clone();
        next.0.push(Segment::Index(index));
        next
    }

    /// RFC 6901 JSON pointer (`""` for the root).
    pub fn pointer(&self) -> String {
        let mut out = String::new();
        for segment in &self.0 {
            out.push('/');
            match segment {
                Segment::Key(key) => crate::yaml::push_escaped(&mut out, key),
                Segment::Index(i) => out.push_str(&i.to_string()),
            }
        }
        out
    }

    /// The path of a JSON pointer; numeric segments are list indexes.
    pub fn from_pointer(pointer: &str) -> Self {
        let segments = pointer
            .split('/')
            .skip(1)
            .map(|segment| match segment.parse::<usize>() {
                Ok(i) => Segment::Index(i),
                Err(_) => Segment::Key(segment.replace("~1", "/").replace("~0", "~")),
            });
        Self(segments.collect())
    }

    /// Parses the display form: `spec.pools.main-app.replicasPerCell`,
    /// `spec.shards[0].name`, `spec.postgresConfig["pg_stat_statements.max"]`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut segments = Vec::new();
        let mut chars = text.char_indices().peekable();
        let mut current = String::new();
        let flush = |current: &mut String, segments: &mut Vec<Segment>| {
            if !current.is_empty() {
                segments.push(Segment::Key(std::mem::take(current)));
            }
        };
        while let Some((at, c)) = chars.next() {
            match c {
                '.' => {
                    if current.is_empty() && segments.is_empty() {
                        return Err(format!("empty field name at offset {at} in {text:?}"));
                    }
                    flush(&mut current, &mut segments);
                }
                '[' => {
                    flush(&mut current, &mut segments);
                    if chars.peek().is_some_and(|(_, c)| *c == '"') {
                        chars.next();
                        let mut key = String::new();
                        loop {
                            match chars.next() {
                                Some((_, '"')) => break,
                                Some((_, c)) => key.push(c),
                                None => return Err(format!("unterminated quoted key in {text:?}")),
                            }
                        }
                        segments.push(Segment::Key(key));
                    } else {
                        let mut digits = String::new();
                        while let Some((_, c)) = chars.peek() {
                            if *c == ']' {
                                break;
                            }
                            digits.push(*c);
                            chars.next();
                        }
                        let index = digits
                            .parse()
                            .map_err(|_| format!("{digits:?} is not a list index in {text:?}"))?;
                        segments.push(Segment::Index(index));
                    }
                    if chars.next().map(|(_, c)| c) != Some(']') {
                        return Err(format!("missing ']' in {text:?}"));
                    }
                }
                _ => current.push(c),
            }
        }
        flush(&mut current, &mut segments);
        Ok(Self(segments))
    }

    pub fn is_prefix_of(&self, other: &FieldPath) -> bool {
        other.0.starts_with(&self.0)
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Key(key) if key.contains(['.', '[', ']']) || key.is_empty() => {
                    write!(f, "[\"{key}\"]")?
                }
                Segment::Key(key) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(key)?;
                }
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for text in [
            "spec.cells[0].zoneId",
            "spec.pools.main-app.replicasPerCell",
            "spec.postgresConfig[\"pg_stat_statements.max\"]",
            "metadata.annotations[\"a/b\"]",
        ] {
            let path = FieldPath::parse(text).unwrap();
            assert_eq!(path.to_string(), text.replace("[\"a/b\"]", ".a/b"));
        }
        let path = FieldPath::parse("spec.shards[2].pools.a~b/c").unwrap();
        assert_eq!(path.pointer(), "/spec/shards/2/pools/a~0b~1c");
        assert!(FieldPath::parse("spec[x]").is_err());
        assert!(FieldPath::parse("spec[\"x").is_err());
    }
}
