//! SCIM filters (RFC 7644 section 3.4.2.2) and attribute paths (section 3.5.2), parsed by recursive descent
//! and evaluated against a resource's JSON representation.
//!
//! The grammar, with precedence `or` < `and` < `not` / parentheses / comparisons:
//!
//! ```text
//! filter    = and *("or" and)
//! and       = unary *("and" unary)
//! unary     = "not" "(" filter ")" / "(" filter ")" / attrPath "[" filter "]" / attrExp
//! attrExp   = attrPath "pr" / attrPath compareOp compValue
//! compValue = "true" / "false" / "null" / number / string
//! attrPath  = [schema-URN ":"] name ["." name]
//! ```
//!
//! Only the attributes listed in [`ATTRIBUTES`] may be filtered on; anything else, a value of
//! the wrong type or an operator the attribute does not take is refused as `invalidFilter`
//! rather than matched wrongly.

use crate::timestamp::Timestamp;
use serde_json::Value;
use std::cmp::Ordering;

/// The User schema's URN.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The skills extension's URN.
pub const SKILLS_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:skillgrid:2.0:User";

/// A filter that cannot be parsed or evaluated: the detail of an `invalidFilter` answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError(pub String);

type Res<T> = Result<T, FilterError>;

fn err<T>(s: impl Into<String>) -> Res<T> {
    Err(FilterError(s.into()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

impl Op {
    fn parse(s: &str) -> Option<Op> {
        Some(match s.to_ascii_lowercase().as_str() {
            "eq" => Op::Eq,
            "ne" => Op::Ne,
            "co" => Op::Co,
            "sw" => Op::Sw,
            "ew" => Op::Ew,
            "gt" => Op::Gt,
            "ge" => Op::Ge,
            "lt" => Op::Lt,
            "le" => Op::Le,
            _ => return None,
        })
    }
}

/// An attribute path: an attribute of the core schema or of the skills extension (`ext`),
/// and maybe one of its sub-attributes; names as the schema spells them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    pub ext: bool,
    pub attr: String,
    pub sub: Option<String>,
}

impl AttrPath {
    /// `attr` or `attr.sub`, as the schema spells them.
    pub fn dotted(&self) -> String {
        match &self.sub {
            Some(s) => format!("{}.{s}", self.attr),
            None => self.attr.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Or(Box<Filter>, Box<Filter>),
    And(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    Present(AttrPath),
    Compare(AttrPath, Op, Value),
    /// `attr[filter]`: some value of the multi-valued `attr` matches `filter`, whose paths
    /// name its sub-attributes.
    Values(AttrPath, Box<Filter>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text {
        case_exact: bool,
    },
    Boolean,
    DateTime,
    /// A multi-valued complex attribute: only `pr` or `attr[…]`.
    Complex,
}

/// What may be filtered on (dotted path, lower-case → spelling, kind). Sub-attributes of a
/// multi-valued attribute are also named inside its brackets (`emails[type eq "work"]`).
const ATTRIBUTES: &[(&str, &str, Kind)] = &[
    ("id", "id", Kind::Text { case_exact: false }),
    ("username", "userName", Kind::Text { case_exact: false }),
    ("externalid", "externalId", Kind::Text { case_exact: true }),
    (
        "displayname",
        "displayName",
        Kind::Text { case_exact: false },
    ),
    ("active", "active", Kind::Boolean),
    ("emails", "emails", Kind::Complex),
    (
        "emails.value",
        "emails.value",
        Kind::Text { case_exact: false },
    ),
    (
        "emails.type",
        "emails.type",
        Kind::Text { case_exact: false },
    ),
    ("emails.primary", "emails.primary", Kind::Boolean),
    (
        "name.formatted",
        "name.formatted",
        Kind::Text { case_exact: false },
    ),
    (
        "name.givenname",
        "name.givenName",
        Kind::Text { case_exact: false },
    ),
    (
        "name.familyname",
        "name.familyName",
        Kind::Text { case_exact: false },
    ),
    // A Group's members (SCIM User ids) and their names.
    ("members", "members", Kind::Complex),
    (
        "members.value",
        "members.value",
        Kind::Text { case_exact: false },
    ),
    (
        "members.display",
        "members.display",
        Kind::Text { case_exact: false },
    ),
    ("meta.created", "meta.created", Kind::DateTime),
    ("meta.lastmodified", "meta.lastModified", Kind::DateTime),
    (
        "meta.resourcetype",
        "meta.resourceType",
        Kind::Text { case_exact: true },
    ),
];

const EXT_ATTRIBUTES: &[(&str, &str, Kind)] = &[
    ("skills", "skills", Kind::Complex),
    (
        "skills.skill",
        "skills.skill",
        Kind::Text { case_exact: false },
    ),
    // A level's name, or the number as a string.
    (
        "skills.proficiency",
        "skills.proficiency",
        Kind::Text { case_exact: false },
    ),
];

fn lookup(path: &AttrPath) -> Option<(AttrPath, Kind)> {
    let table = if path.ext { EXT_ATTRIBUTES } else { ATTRIBUTES };
    let key = path.dotted().to_ascii_lowercase();
    let (_, spelt, kind) = table.iter().find(|(k, _, _)| *k == key)?;
    let (attr, sub) = match spelt.split_once('.') {
        Some((a, s)) => (a.to_string(), Some(s.to_string())),
        None => (spelt.to_string(), None),
    };
    Some((
        AttrPath {
            ext: path.ext,
            attr,
            sub,
        },
        *kind,
    ))
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Num(serde_json::Number),
    LParen,
    RParen,
    LBracket,
    RBracket,
}

fn tokenize(s: &str) -> Res<Vec<Tok>> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                out.push(Tok::LParen);
                i += 1
            }
            ')' => {
                out.push(Tok::RParen);
                i += 1
            }
            '[' => {
                out.push(Tok::LBracket);
                i += 1
            }
            ']' => {
                out.push(Tok::RBracket);
                i += 1
            }
            '"' => {
                // A JSON string: find its end, honouring escapes, and let serde read it.
                let start = i;
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '\\' {
                        i += 1;
                    }
                    i += 1;
                }
                if i >= chars.len() {
                    return err("a string in the filter is not closed");
                }
                i += 1;
                let text: String = chars[start..i].iter().collect();
                match serde_json::from_str::<String>(&text) {
                    Ok(v) => out.push(Tok::Str(v)),
                    Err(_) => return err(format!("{text} is not a valid JSON string")),
                }
            }
            _ => {
                let start = i;
                // A `.` ends a word only after `]` (`emails[…].value`), never inside a URN.
                while i < chars.len() && !matches!(chars[i], '(' | ')' | '[' | ']' | '"') {
                    if chars[i].is_whitespace() {
                        break;
                    }
                    i += 1;
                }
                let w: String = chars[start..i].iter().collect();
                let numeric = w.starts_with(|c: char| c.is_ascii_digit() || c == '-');
                if numeric {
                    match serde_json::from_str::<serde_json::Number>(&w) {
                        Ok(n) => out.push(Tok::Num(n)),
                        Err(_) => return err(format!("`{w}` is not a number")),
                    }
                } else {
                    out.push(Tok::Word(w));
                }
            }
        }
    }
    Ok(out)
}

/// Reads `[urn:…:]name[.sub]` into a path; the URN may name the User schema or the skills
/// extension, in any case.
pub fn attr_path(word: &str) -> Res<AttrPath> {
    let lower = word.to_ascii_lowercase();
    let (ext, rest) = if lower.starts_with("urn:") {
        let (prefix, rest) = if lower.starts_with(&SKILLS_SCHEMA.to_ascii_lowercase()) {
            (SKILLS_SCHEMA.len(), true)
        } else if lower.starts_with(&USER_SCHEMA.to_ascii_lowercase()) {
            (USER_SCHEMA.len(), false)
        } else {
            return err(format!(
                "`{word}` names a schema this service does not have; the User schema and {SKILLS_SCHEMA} are supported"
            ));
        };
        match word[prefix..].strip_prefix(':') {
            Some(r) => (rest, r),
            None => return err(format!("`{word}` names a schema but no attribute of it")),
        }
    } else {
        (false, word)
    };
    let mut parts = rest.split('.');
    let attr = parts.next().unwrap_or_default();
    let sub = parts.next();
    let valid = |s: &str| {
        s.starts_with(|c: char| c.is_ascii_alphabetic())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '$')
    };
    if parts.next().is_some() || !valid(attr) || sub.is_some_and(|s| !valid(s)) {
        return err(format!("`{word}` is not an attribute path"));
    }
    Ok(AttrPath {
        ext,
        attr: attr.to_string(),
        sub: sub.map(str::to_string),
    })
}

struct Parser {
    toks: Vec<Tok>,
    at: usize,
    /// Inside `attr[…]`: paths name sub-attributes of `attr`.
    within: Option<AttrPath>,
    /// A PATCH path's filter may name attributes this service ignores (`phoneNumbers[…]`):
    /// they are compared as strings.
    lenient: bool,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn keyword(&self, k: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(k))
    }

    fn expect(&mut self, t: Tok, what: &str) -> Res<()> {
        match self.next() {
            Some(x) if x == t => Ok(()),
            Some(x) => err(format!("expected {what}, found {}", show(&x))),
            None => err(format!("expected {what}, found the end of the filter")),
        }
    }

    fn or(&mut self) -> Res<Filter> {
        let mut f = self.and()?;
        while self.keyword("or") {
            self.at += 1;
            f = Filter::Or(Box::new(f), Box::new(self.and()?));
        }
        Ok(f)
    }

    fn and(&mut self) -> Res<Filter> {
        let mut f = self.unary()?;
        while self.keyword("and") {
            self.at += 1;
            f = Filter::And(Box::new(f), Box::new(self.unary()?));
        }
        Ok(f)
    }

    fn unary(&mut self) -> Res<Filter> {
        if self.keyword("not") {
            self.at += 1;
            self.expect(Tok::LParen, "`(` after `not`")?;
            let f = self.or()?;
            self.expect(Tok::RParen, "`)`")?;
            return Ok(Filter::Not(Box::new(f)));
        }
        match self.next() {
            Some(Tok::LParen) => {
                let f = self.or()?;
                self.expect(Tok::RParen, "`)`")?;
                Ok(f)
            }
            Some(Tok::Word(w)) => self.attr_exp(&w),
            Some(t) => err(format!("expected an attribute, found {}", show(&t))),
            None => err("the filter ends where an attribute was expected"),
        }
    }

    fn attr_exp(&mut self, word: &str) -> Res<Filter> {
        let raw = attr_path(word)?;
        let path = match &self.within {
            Some(outer) => {
                if raw.sub.is_some() || raw.ext {
                    return err(format!(
                        "`{word}` inside `{}[…]` must name one of its sub-attributes",
                        outer.attr
                    ));
                }
                AttrPath {
                    ext: outer.ext,
                    attr: outer.attr.clone(),
                    sub: Some(raw.attr),
                }
            }
            None => raw,
        };
        let known = match lookup(&path) {
            None if self.lenient => Some((path.clone(), Kind::Text { case_exact: false })),
            k => k,
        };
        let (path, kind) = known.ok_or_else(|| {
            FilterError(format!(
                "filtering on `{}` is not supported; supported: {}",
                path.dotted(),
                supported()
            ))
        })?;
        if matches!(self.peek(), Some(Tok::LBracket)) {
            if self.within.is_some() || kind != Kind::Complex {
                return err(format!(
                    "`{}[…]` is not a multi-valued attribute filter",
                    path.dotted()
                ));
            }
            self.at += 1;
            self.within = Some(path.clone());
            let inner = self.or()?;
            self.within = None;
            self.expect(Tok::RBracket, "`]`")?;
            return Ok(Filter::Values(path, Box::new(inner)));
        }
        let op = match self.next() {
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("pr") => return Ok(Filter::Present(path)),
            Some(Tok::Word(w)) => Op::parse(&w).ok_or_else(|| {
                FilterError(format!(
                    "`{w}` is not an operator; use eq, ne, co, sw, ew, gt, ge, lt, le or pr"
                ))
            })?,
            Some(t) => return err(format!("expected an operator, found {}", show(&t))),
            None => return err(format!("`{word}` needs an operator and a value")),
        };
        let value = match self.next() {
            Some(Tok::Str(s)) => Value::String(s),
            Some(Tok::Num(n)) => Value::Number(n),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("true") => Value::Bool(true),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("false") => Value::Bool(false),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("null") => Value::Null,
            Some(t) => {
                return err(format!(
                    "expected a value (a \"string\", a number, true, false or null), found {}",
                    show(&t)
                ))
            }
            None => return err(format!("`{word} …` needs a value")),
        };
        check_operands(&path, kind, op, &value)?;
        Ok(Filter::Compare(path, op, value))
    }
}

fn check_operands(path: &AttrPath, kind: Kind, op: Op, value: &Value) -> Res<()> {
    let name = path.dotted();
    let ordering = matches!(op, Op::Gt | Op::Ge | Op::Lt | Op::Le);
    let substring = matches!(op, Op::Co | Op::Sw | Op::Ew);
    if value.is_null() {
        return if matches!(op, Op::Eq | Op::Ne) && kind != Kind::Complex {
            Ok(())
        } else {
            err(format!(
                "`null` can only be compared with eq or ne (`{name}`)"
            ))
        };
    }
    match kind {
        Kind::Complex => err(format!(
            "`{name}` is multi-valued: use `{name}[…]`, `{name}.<sub-attribute>` or `pr`"
        )),
        Kind::Boolean if ordering || substring => {
            err(format!("`{name}` is a boolean: only eq, ne and pr apply"))
        }
        Kind::Boolean if !value.is_boolean() => {
            err(format!("`{name}` is a boolean: compare it with true or false"))
        }
        Kind::Text { .. } if !value.is_string() => {
            err(format!("`{name}` is a string: compare it with a \"quoted\" value"))
        }
        Kind::DateTime if substring => {
            err(format!("`{name}` is a date and time: use eq, ne, gt, ge, lt or le"))
        }
        Kind::DateTime => match value.as_str().and_then(Timestamp::parse_rfc3339) {
            Some(_) => Ok(()),
            None => err(format!(
                "`{name}` is a date and time: compare it with an RFC 3339 string such as \"2026-01-31T00:00:00Z\""
            )),
        },
        _ => Ok(()),
    }
}

fn supported() -> String {
    ATTRIBUTES
        .iter()
        .map(|(_, s, _)| *s)
        .chain(EXT_ATTRIBUTES.iter().map(|(_, s, _)| *s))
        .collect::<Vec<_>>()
        .join(", ")
}

fn show(t: &Tok) -> String {
    match t {
        Tok::Word(w) => format!("`{w}`"),
        Tok::Str(s) => format!("\"{s}\""),
        Tok::Num(n) => n.to_string(),
        Tok::LParen => "`(`".into(),
        Tok::RParen => "`)`".into(),
        Tok::LBracket => "`[`".into(),
        Tok::RBracket => "`]`".into(),
    }
}

/// Parses a filter (the `filter` query parameter).
pub fn parse(s: &str) -> Res<Filter> {
    parse_with(s, None, false)
}

/// Parses the filter inside a PATCH path's brackets (`emails[…]`), whose paths name
/// sub-attributes of `within`, which may be one this service ignores.
pub fn parse_within(s: &str, within: AttrPath) -> Res<Filter> {
    parse_with(s, Some(within), true)
}

fn parse_with(s: &str, within: Option<AttrPath>, lenient: bool) -> Res<Filter> {
    let toks = tokenize(s)?;
    if toks.is_empty() {
        return err("the filter is empty");
    }
    let mut p = Parser {
        toks,
        at: 0,
        within,
        lenient,
    };
    let f = p.or()?;
    match p.next() {
        None => Ok(f),
        Some(t) => err(format!("unexpected {} after a complete filter", show(&t))),
    }
}

/// The object of `resource` a path starts from: the resource, or its extension object.
fn root(resource: &Value, ext: bool) -> Option<&Value> {
    if ext {
        get_ci(resource, SKILLS_SCHEMA)
    } else {
        Some(resource)
    }
}

/// A member of an object, its name compared case-insensitively.
pub fn get_ci<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

/// Every value at `path` in `resource` (a multi-valued attribute's elements flattened).
fn values<'a>(resource: &'a Value, path: &AttrPath) -> Vec<&'a Value> {
    let Some(top) = root(resource, path.ext).and_then(|r| get_ci(r, &path.attr)) else {
        return Vec::new();
    };
    let items: Vec<&Value> = match top {
        Value::Array(a) => a.iter().collect(),
        v => vec![v],
    };
    match &path.sub {
        None => items,
        Some(sub) => items.into_iter().filter_map(|i| get_ci(i, sub)).collect(),
    }
}

fn present(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    }
}

/// Whether `resource` matches `filter`.
pub fn matches(filter: &Filter, resource: &Value) -> bool {
    match filter {
        Filter::Or(a, b) => matches(a, resource) || matches(b, resource),
        Filter::And(a, b) => matches(a, resource) && matches(b, resource),
        Filter::Not(f) => !matches(f, resource),
        Filter::Present(p) => values(resource, p).into_iter().any(present),
        Filter::Values(p, f) => {
            let element = AttrPath {
                sub: None,
                ..p.clone()
            };
            values(resource, &element)
                .into_iter()
                .any(|e| matches_element(f, e))
        }
        Filter::Compare(p, op, want) => {
            let found = values(resource, p);
            let kind = Some(lookup(p).map_or(Kind::Text { case_exact: false }, |(_, k)| k));
            if want.is_null() {
                let any = found.iter().any(|v| present(v));
                return if *op == Op::Eq { !any } else { any };
            }
            if *op == Op::Ne {
                return !found.iter().any(|v| compare(kind, Op::Eq, v, want));
            }
            found.iter().any(|v| compare(kind, *op, v, want))
        }
    }
}

/// [`matches`] on one element of a multi-valued attribute: the filter's paths name the
/// element's sub-attributes.
pub fn matches_element(filter: &Filter, element: &Value) -> bool {
    let mut wrapper = serde_json::Map::new();
    let wrapped = match first_path(filter) {
        Some(p) if p.ext => {
            let mut inner = serde_json::Map::new();
            inner.insert(p.attr.clone(), element.clone());
            wrapper.insert(SKILLS_SCHEMA.to_string(), Value::Object(inner));
            Value::Object(wrapper)
        }
        Some(p) => {
            wrapper.insert(p.attr.clone(), element.clone());
            Value::Object(wrapper)
        }
        None => return false,
    };
    matches(filter, &wrapped)
}

fn first_path(f: &Filter) -> Option<&AttrPath> {
    match f {
        Filter::Or(a, _) | Filter::And(a, _) => first_path(a),
        Filter::Not(f) => first_path(f),
        Filter::Present(p) | Filter::Compare(p, _, _) | Filter::Values(p, _) => Some(p),
    }
}

fn compare(kind: Option<Kind>, op: Op, have: &Value, want: &Value) -> bool {
    match kind {
        Some(Kind::DateTime) => {
            let (Some(a), Some(b)) = (
                have.as_str().and_then(Timestamp::parse_rfc3339),
                want.as_str().and_then(Timestamp::parse_rfc3339),
            ) else {
                return false;
            };
            ordered(op, a.0.cmp(&b.0))
        }
        Some(Kind::Boolean) => match (have, want) {
            (Value::Bool(a), Value::Bool(b)) => ordered(op, a.cmp(b)),
            _ => false,
        },
        Some(Kind::Text { case_exact }) => {
            let (Some(a), Some(b)) = (have.as_str(), want.as_str()) else {
                return false;
            };
            let (a, b) = if case_exact {
                (a.to_string(), b.to_string())
            } else {
                (a.to_lowercase(), b.to_lowercase())
            };
            match op {
                Op::Co => a.contains(&b),
                Op::Sw => a.starts_with(&b),
                Op::Ew => a.ends_with(&b),
                _ => ordered(op, a.cmp(&b)),
            }
        }
        _ => false,
    }
}

fn ordered(op: Op, o: Ordering) -> bool {
    match op {
        Op::Eq => o == Ordering::Equal,
        Op::Ne => o != Ordering::Equal,
        Op::Gt => o == Ordering::Greater,
        Op::Ge => o != Ordering::Less,
        Op::Lt => o == Ordering::Less,
        Op::Le => o != Ordering::Greater,
        Op::Co | Op::Sw | Op::Ew => false,
    }
}

/// Whether a filter looks at the skills extension (its evaluation then needs the skills).
pub fn uses_extension(f: &Filter) -> bool {
    match f {
        Filter::Or(a, b) | Filter::And(a, b) => uses_extension(a) || uses_extension(b),
        Filter::Not(f) => uses_extension(f),
        Filter::Present(p) | Filter::Compare(p, _, _) => p.ext,
        Filter::Values(p, _) => p.ext,
    }
}

/// The value a filter pins `userName` to when it is `userName eq "…"` (maybe within `and`s):
/// the listing can then be narrowed by the database before the filter is applied.
pub fn user_name_eq(f: &Filter) -> Option<&str> {
    match f {
        Filter::Compare(p, Op::Eq, Value::String(s)) if !p.ext && p.attr == "userName" => Some(s),
        Filter::And(a, b) => user_name_eq(a).or_else(|| user_name_eq(b)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user() -> Value {
        json!({
            "id": "0190-abc",
            "userName": "Ana@Example.com",
            "externalId": "E-1",
            "displayName": "Ana Lopez",
            "active": true,
            "name": {"formatted": "Ana Lopez", "givenName": "Ana", "familyName": "Lopez"},
            "emails": [{"value": "Ana@Example.com", "type": "work", "primary": true}],
            "meta": {"lastModified": "2026-03-01T10:00:00.000Z", "created": "2026-01-01T00:00:00.000Z"},
            SKILLS_SCHEMA: {"skills": [{"skill": "Billing", "proficiency": "Advanced"}]}
        })
    }

    fn m(f: &str) -> bool {
        matches(&parse(f).unwrap_or_else(|e| panic!("{f}: {e:?}")), &user())
    }

    #[test]
    fn matches_as_the_rfc_reads() {
        let yes = [
            r#"userName eq "ana@example.com""#,
            r#"USERNAME Eq "ANA@EXAMPLE.COM""#,
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "ana@example.com""#,
            r#"userName sw "ana" and userName ew ".com""#,
            r#"displayName co "lop""#,
            r#"externalId eq "E-1""#,
            r#"active eq true"#,
            r#"not (active eq false)"#,
            r#"emails.value eq "ana@example.com""#,
            r#"emails[type eq "work" and value co "@example"]"#,
            r#"emails pr"#,
            r#"meta.lastModified gt "2026-02-01T00:00:00Z""#,
            r#"meta.lastModified le "2026-03-01T10:00:00Z""#,
            r#"userName eq "x" or (name.givenName eq "ana" and name.familyName pr)"#,
            r#"externalId ne "E-2""#,
            r#"urn:ietf:params:scim:schemas:extension:skillgrid:2.0:User:skills[skill eq "billing"]"#,
            r#"urn:ietf:params:scim:schemas:extension:skillgrid:2.0:User:skills.proficiency eq "advanced""#,
        ];
        for f in yes {
            assert!(m(f), "{f}");
        }
        let no = [
            r#"externalId eq "e-1""#,
            r#"active eq false"#,
            r#"emails[type eq "home"]"#,
            r#"meta.lastModified lt "2026-03-01T10:00:00Z""#,
            r#"userName eq "ana@example.com" and not (displayName sw "ana")"#,
            r#"userName eq null"#,
        ];
        for f in no {
            assert!(!m(f), "{f}");
        }
    }

    #[test]
    fn refuses_what_it_cannot_answer_rightly() {
        for f in [
            "",
            "userName",
            r#"userName eq"#,
            r#"userName eq "a" and"#,
            r#"userName zz "a""#,
            r#"nickName eq "a""#,
            r#"active gt true"#,
            r#"active eq "true""#,
            r#"userName eq 3"#,
            r#"meta.lastModified gt "yesterday""#,
            r#"emails eq "a""#,
            r#"(userName eq "a""#,
            r#"userName eq "a")"#,
            r#"emails[type eq "work""#,
            r#"urn:example:Other:x eq "a""#,
            r#"userName eq "unterminated"#,
        ] {
            assert!(parse(f).is_err(), "{f}");
        }
    }

    #[test]
    fn narrows_by_user_name() {
        let f = parse(r#"userName eq "a@b.c" and active eq true"#).unwrap();
        assert_eq!(user_name_eq(&f), Some("a@b.c"));
        let f = parse(r#"userName eq "a@b.c" or active eq true"#).unwrap();
        assert_eq!(user_name_eq(&f), None);
    }
}
