//! JSON syntax: the one `invalid_json` entry (with line and column) every body route answers
//! for a body that is not JSON at all, and `duplicate_key` for an object that names a key
//! twice (RFC 8259 leaves its meaning open: one parser keeps the first, another the last, so
//! such a body is a mistake, not something to guess at).
//!
//! A UTF-8 byte-order mark before a body is ignored (RFC 8259 section 8.1): some writers, such
//! as .NET's, put one there by default.

use super::{child, index};
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::map::Entry;
use serde_json::{Map, Number, Value};
use skillgrid_api::{EntryCode, ErrorEntry};
use std::collections::{HashMap, HashSet};
use std::fmt;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// `bytes` without the byte-order mark it may start with.
pub fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(BOM).unwrap_or(bytes)
}

/// A request body read as JSON, and the keys its objects repeat.
#[derive(Debug)]
pub struct Document {
    value: Value,
    /// One `duplicate_key` entry per key an object repeats, at the repeat, in body order.
    duplicates: Vec<ErrorEntry>,
}

impl Document {
    /// The body; a repeated key holds its last value, at the place of its first.
    pub fn value(&self) -> &Value {
        &self.value
    }

    pub fn duplicates(&self) -> &[ErrorEntry] {
        &self.duplicates
    }

    /// Runs the walk that validates the body: its result as it is when no key repeats, else
    /// every problem found, the repeated keys among them.
    pub fn check<T>(
        &self,
        walk: impl FnOnce(&Value) -> Result<T, Vec<ErrorEntry>>,
    ) -> Result<T, Vec<ErrorEntry>> {
        self.finish(walk(&self.value), |_| Vec::new())
    }

    /// [`Document::check`] of a walk that may accept the body with problems inside (a bulk
    /// request, whose items fail one by one): with a repeated key nothing of the body is
    /// taken, so `problems_in` says which problems an accepted body carries, to be answered
    /// with the repeated keys.
    pub fn finish<T>(
        &self,
        walked: Result<T, Vec<ErrorEntry>>,
        problems_in: impl FnOnce(T) -> Vec<ErrorEntry>,
    ) -> Result<T, Vec<ErrorEntry>> {
        if self.duplicates.is_empty() {
            return walked;
        }
        let errors = match walked {
            Ok(v) => problems_in(v),
            Err(e) => e,
        };
        let mut at = Positions {
            doc: &self.value,
            index: HashMap::new(),
        };
        let mut repeats: Vec<(Vec<usize>, &ErrorEntry)> =
            self.duplicates.iter().map(|d| (at.of(d), d)).collect();
        repeats.sort_by(|a, b| a.0.cmp(&b.0));
        let mut repeats = repeats.into_iter().peekable();
        let mut out = Vec::with_capacity(errors.len() + self.duplicates.len());
        for e in errors {
            // A repeated member comes before the problems at or after it (its value's too).
            let here = at.of(&e);
            while let Some((_, d)) = repeats.next_if(|(p, _)| *p <= here) {
                out.push(d.clone());
            }
            out.push(e);
        }
        out.extend(repeats.map(|(_, d)| d.clone()));
        Err(out)
    }
}

/// Where pointers lead in one document, as the index of each step (members by their place in
/// their object), so that pointers in body order compare in that order. Steps that lead
/// nowhere are left out. Members of a large object are found through an index of it, made
/// once: a body may carry thousands of problems in one object.
struct Positions<'v> {
    doc: &'v Value,
    index: HashMap<*const Map<String, Value>, HashMap<&'v str, usize>>,
}

impl<'v> Positions<'v> {
    fn of(&mut self, e: &ErrorEntry) -> Vec<usize> {
        let mut out = Vec::new();
        let mut v = self.doc;
        for token in e.pointer.as_deref().unwrap_or_default().split('/').skip(1) {
            let token = token.replace("~1", "/").replace("~0", "~");
            let step = match v {
                Value::Object(m) if m.len() <= 16 => m
                    .iter()
                    .enumerate()
                    .find(|(_, (k, _))| **k == token)
                    .map(|(i, (_, child))| (i, child)),
                Value::Object(m) => {
                    let index = self.index.entry(m as *const _).or_insert_with(|| {
                        m.keys().enumerate().map(|(i, k)| (k.as_str(), i)).collect()
                    });
                    index.get(token.as_str()).copied().zip(m.get(&token))
                }
                Value::Array(a) => token
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| Some((i, a.get(i)?))),
                _ => None,
            };
            let Some((i, child)) = step else { break };
            out.push(i);
            v = child;
        }
        out
    }
}

/// Parses `bytes` as one JSON document, or says where and why it is not one.
pub fn parse_json(bytes: &[u8]) -> Result<Document, ErrorEntry> {
    let bytes = strip_bom(bytes);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        let mut e = ErrorEntry::at("", EntryCode::InvalidJson, "the request body is empty")
            .expected("a JSON document")
            .hint("send a JSON body; see the route's example in /docs");
        e.line = Some(1);
        e.column = Some(1);
        return Err(e);
    }
    read(bytes).map_err(|err| {
        let mut e = ErrorEntry::at(
            "",
            EntryCode::InvalidJson,
            format!("the body is not valid JSON: {err}"),
        )
        .expected("a JSON document");
        e.line = Some(err.line().max(1));
        e.column = Some(err.column().max(1));
        if bytes.contains(&b'\'') && !bytes.contains(&b'"') {
            e.hint = Some("JSON strings and keys use double quotes, not single quotes".into());
        }
        e
    })
}

/// One JSON document (trailing whitespace only), noting every key an object repeats.
pub(super) fn read(bytes: &[u8]) -> serde_json::Result<Document> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let mut repeats = Repeats::default();
    let value = Read {
        at: Place::Root,
        repeats: &mut repeats,
    }
    .deserialize(&mut de)?;
    de.end()?;
    let duplicates = repeats
        .found
        .into_iter()
        .map(|(pointer, key)| {
            ErrorEntry::at(
                pointer,
                EntryCode::DuplicateKey,
                format!("`{key}` appears more than once in this object"),
            )
            .expected("each key at most once per object")
            .hint(format!("send `{key}` once, with the value meant"))
        })
        .collect();
    Ok(Document { value, duplicates })
}

/// Where the value being read stands: its parent and the step from there. Pointers are
/// built from it only for a repeated key.
enum Place<'a> {
    Root,
    Member(&'a Place<'a>, &'a str),
    Element(&'a Place<'a>, usize),
}

impl Place<'_> {
    fn pointer(&self) -> String {
        match self {
            Place::Root => String::new(),
            Place::Member(parent, key) => child(&parent.pointer(), key),
            Place::Element(parent, i) => index(&parent.pointer(), *i),
        }
    }
}

/// The repeated keys found: `(pointer, key)` of each, once.
#[derive(Default)]
struct Repeats {
    found: Vec<(String, String)>,
    pointers: HashSet<String>,
}

/// A `serde_json::Value` read from the parser, noting each repeated key when its repeat has
/// been read.
struct Read<'p, 'r> {
    at: Place<'p>,
    repeats: &'r mut Repeats,
}

impl<'de> DeserializeSeed<'de> for Read<'_, '_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Read<'_, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E>(self, i: i64) -> Result<Value, E> {
        Ok(Value::Number(i.into()))
    }

    fn visit_u64<E>(self, u: u64) -> Result<Value, E> {
        Ok(Value::Number(u.into()))
    }

    fn visit_f64<E>(self, f: f64) -> Result<Value, E> {
        Ok(Number::from_f64(f).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }

    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Value, A::Error> {
        let Read { at, repeats } = self;
        let mut out = Vec::with_capacity(s.size_hint().unwrap_or(0));
        while let Some(v) = s.next_element_seed(Read {
            at: Place::Element(&at, out.len()),
            repeats: &mut *repeats,
        })? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Value, A::Error> {
        let Read { at, repeats } = self;
        let mut out = Map::new();
        while let Some(key) = m.next_key::<String>()? {
            let value = m.next_value_seed(Read {
                at: Place::Member(&at, &key),
                repeats: &mut *repeats,
            })?;
            match out.entry(key) {
                Entry::Vacant(e) => {
                    e.insert(value);
                }
                Entry::Occupied(mut e) => {
                    let pointer = Place::Member(&at, e.key()).pointer();
                    if repeats.pointers.insert(pointer.clone()) {
                        repeats.found.push((pointer, e.key().clone()));
                    }
                    e.insert(value);
                }
            }
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_errors_have_line_and_column() {
        let e = parse_json(b"{\n  \"skills\": [1,]\n}").unwrap_err();
        assert_eq!(
            (e.code, e.line, e.column),
            (EntryCode::InvalidJson, Some(2), Some(16))
        );
    }

    #[test]
    fn an_empty_body_is_named_as_such() {
        for body in [&b" \n"[..], b"\xEF\xBB\xBF"] {
            let e = parse_json(body).unwrap_err();
            assert_eq!(
                (e.detail.as_str(), e.line),
                ("the request body is empty", Some(1))
            );
        }
    }

    #[test]
    fn a_leading_byte_order_mark_is_ignored_once() {
        let doc = parse_json(b"\xEF\xBB\xBF{\"a\": 1}").unwrap();
        assert_eq!(doc.value(), &serde_json::json!({"a": 1}));
        assert!(doc.duplicates().is_empty());
        let e = parse_json(b"\xEF\xBB\xBF\xEF\xBB\xBF{\"a\": 1}").unwrap_err();
        assert_eq!(e.code, EntryCode::InvalidJson);
        // Elsewhere it is a character like any other: inside a string it stays.
        let doc = parse_json(b"[\"\xEF\xBB\xBFx\"]").unwrap();
        assert_eq!(doc.value()[0], "\u{feff}x");
    }

    fn repeated(body: &str) -> Vec<String> {
        let doc = parse_json(body.as_bytes()).unwrap();
        doc.duplicates()
            .iter()
            .map(|e| {
                assert_eq!(e.code, EntryCode::DuplicateKey);
                e.pointer.clone().unwrap()
            })
            .collect()
    }

    #[test]
    fn repeated_keys_are_found_at_any_depth_once_each_with_escaped_pointers() {
        assert!(repeated(r#"{"a": 1, "b": {"a": 2}, "c": [{"a": 3}, {"a": 4}]}"#).is_empty());
        assert_eq!(repeated(r#"{"a": 1, "a": 2}"#), ["/a"]);
        assert_eq!(repeated(r#"{"a": 1, "a": 2, "a": 3}"#), ["/a"]);
        assert_eq!(
            repeated(r#"[{"x": [{"k": 1, "k": 2}]}, {"a/b~": 1, "a\/b~": 2}]"#),
            ["/0/x/0/k", "/1/a~1b~0"]
        );
        // The same key however it is escaped; a repeat inside a repeat is found too.
        assert_eq!(
            repeated(r#"{"a": {"z": 1}, "\u0061": {"z": 1, "z": 2}}"#),
            ["/a/z", "/a"]
        );
        // The last value is kept, where the key first stood.
        let doc = parse_json(br#"{"a": 1, "b": 2, "a": 3}"#).unwrap();
        assert_eq!(doc.value().to_string(), r#"{"a":3,"b":2}"#);
    }

    #[test]
    fn repeated_keys_join_the_walks_problems_in_body_order() {
        let doc = parse_json(br#"{"p": 1, "q": 2, "q": 3, "r": {"s": 1, "s": 2}}"#).unwrap();
        let walk = |_: &Value| -> Result<(), Vec<ErrorEntry>> {
            Err(vec![
                ErrorEntry::at("/p", EntryCode::InvalidType, "p"),
                ErrorEntry::at("/q", EntryCode::OutOfRange, "q"),
                ErrorEntry::at("/r/s", EntryCode::InvalidType, "s"),
            ])
        };
        let got: Vec<(String, EntryCode)> = doc
            .check(walk)
            .unwrap_err()
            .into_iter()
            .map(|e| (e.pointer.unwrap(), e.code))
            .collect();
        let want = [
            ("/p", EntryCode::InvalidType),
            ("/q", EntryCode::DuplicateKey),
            ("/q", EntryCode::OutOfRange),
            ("/r/s", EntryCode::DuplicateKey),
            ("/r/s", EntryCode::InvalidType),
        ];
        assert_eq!(
            got,
            want.map(|(p, c)| (p.to_string(), c)).to_vec(),
            "a repeat before the problems of its value"
        );
        // A body the walk accepts is still refused.
        assert_eq!(doc.check(|_| Ok(())).unwrap_err().len(), 2);
        // Without a repeat, the walk decides alone.
        let doc = parse_json(br#"{"p": 1}"#).unwrap();
        assert_eq!(doc.check(|_| Ok(7)), Ok(7));
    }
}
