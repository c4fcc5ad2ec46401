//! One rule per kind of value: ids, strings, booleans, integers, timestamps.

use super::{wrong_type, Report};
use crate::timestamp::Timestamp;
use serde_json::Value;
use skillgrid_api::{EntryCode, ErrorEntry};
use uuid::Uuid;

pub fn describe_json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a decimal number",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The value to echo as `received`: small values as sent, big ones summarised.
pub fn received(v: &Value) -> Value {
    const MAX: usize = 200;
    match v {
        Value::String(s) if s.len() > MAX => {
            let mut cut = MAX;
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
            Value::String(format!("{}…", &s[..cut]))
        }
        Value::Array(a) if a.len() > 8 => Value::String(format!("an array of {} items", a.len())),
        Value::Object(o) if o.len() > 8 => {
            Value::String(format!("an object with {} keys", o.len()))
        }
        v if matches!(v, Value::Array(_) | Value::Object(_)) && v.to_string().len() > MAX => {
            Value::String(describe_json_type(v).to_string())
        }
        v => v.clone(),
    }
}

pub fn list_fields(fields: &[&str]) -> String {
    let quoted: Vec<String> = fields.iter().map(|f| format!("`{f}`")).collect();
    match quoted.len() {
        0 => String::new(),
        1 => quoted[0].clone(),
        n => format!("{} and {}", quoted[..n - 1].join(", "), quoted[n - 1]),
    }
}

pub const UUID_EXPECTED: &str = "a UUID such as 0192f0c1-7a3e-7b4c-9d2e-5f6a7b8c9d0e";

/// The id in `v`, of whichever kind the caller reads (a skill's, an agent's).
pub fn uuid<T: From<Uuid>>(r: &mut Report, ptr: &str, what: &str, v: &Value) -> Option<T> {
    let Value::String(s) = v else {
        r.push(wrong_type(ptr, what, UUID_EXPECTED, v));
        return None;
    };
    match parse_uuid(s) {
        Some(id) => Some(T::from(id)),
        None => {
            r.push(
                ErrorEntry::at(
                    ptr.to_string(),
                    EntryCode::InvalidFormat,
                    format!("{what} `{}` is not a UUID", truncate(s)),
                )
                .expected(UUID_EXPECTED)
                .received(received(v)),
            );
            None
        }
    }
}

/// Hyphenated UUIDs in any case (the wire form); other spellings are not ids of ours.
pub fn parse_uuid(s: &str) -> Option<Uuid> {
    if s.len() != 36 {
        return None;
    }
    Uuid::parse_str(s).ok()
}

pub fn truncate(s: &str) -> &str {
    let mut cut = s.len().min(80);
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    &s[..cut]
}

/// A string of `min..=max` characters after trimming surrounding whitespace.
pub fn text(
    r: &mut Report,
    ptr: &str,
    what: &str,
    v: &Value,
    min: usize,
    max: usize,
) -> Option<String> {
    let Value::String(s) = v else {
        r.push(wrong_type(ptr, what, "a string", v));
        return None;
    };
    let t = s.trim();
    let n = t.chars().count();
    if n < min || n > max {
        let detail = if n < min {
            format!("{what} must not be empty")
        } else {
            format!("{what} is {n} characters long; at most {max} are allowed")
        };
        r.push(
            ErrorEntry::at(ptr.to_string(), EntryCode::OutOfRange, detail)
                .expected(format!("a string of {min} to {max} characters"))
                .received(received(v)),
        );
        return None;
    }
    if t.chars().any(char::is_control) {
        r.push(
            ErrorEntry::at(
                ptr.to_string(),
                EntryCode::InvalidFormat,
                format!("{what} contains control characters"),
            )
            .expected("printable text")
            .received(received(v)),
        );
        return None;
    }
    Some(t.to_string())
}

/// Like [`text`], but `null` is allowed and means "none".
pub fn optional_text(
    r: &mut Report,
    ptr: &str,
    what: &str,
    v: &Value,
    max: usize,
) -> Option<Option<String>> {
    if v.is_null() {
        return Some(None);
    }
    if !v.is_string() {
        r.push(wrong_type(ptr, what, "a string or null", v));
        return None;
    }
    text(r, ptr, what, v, 0, max).map(|s| if s.is_empty() { None } else { Some(s) })
}

pub fn boolean(r: &mut Report, ptr: &str, what: &str, v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false") => {
            r.push(wrong_type(ptr, what, "true or false", v).hint(format!(
                "drop the quotes: send {}, not \"{s}\"",
                s.to_lowercase()
            )));
            None
        }
        _ => {
            r.push(wrong_type(ptr, what, "true or false", v));
            None
        }
    }
}

/// An integer from `min` to `max`; strings holding a number and decimals get a hint.
pub fn integer(
    r: &mut Report,
    ptr: &str,
    what: &str,
    v: &Value,
    min: i64,
    max: i64,
) -> Option<i64> {
    let expected = format!("an integer from {min} to {max}");
    match number(v) {
        Num::Int(i) if (min..=max).contains(&i) => Some(i),
        Num::Int(i) => {
            r.push(
                ErrorEntry::at(
                    ptr.to_string(),
                    EntryCode::OutOfRange,
                    format!("{what} {i} is out of range"),
                )
                .expected(expected)
                .received(v.clone()),
            );
            None
        }
        Num::BigInt => {
            r.push(
                ErrorEntry::at(
                    ptr.to_string(),
                    EntryCode::OutOfRange,
                    format!("{what} is out of range"),
                )
                .expected(expected)
                .received(v.clone()),
            );
            None
        }
        other => {
            r.push(wrong_type(ptr, what, &expected, v).maybe_hint(other.hint()));
            None
        }
    }
}

/// How a JSON value reads as a number.
pub enum Num {
    Int(i64),
    /// An integer beyond i64.
    BigInt,
    Decimal(f64),
    QuotedInt(String),
    Other,
}

pub fn number(v: &Value) -> Num {
    match v {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Num::Int(i)
            } else if n.is_u64() {
                Num::BigInt
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                // An integer beyond u64 or below i64 (or one written with an exponent, such as
                // 1e20) reaches us as a float; outside i64 it is a whole number that is out of
                // range, not a decimal to be rounded. The floats at the ends, 2^63 and -2^63,
                // are beyond too: integers a little past either end (-9223372036854775809)
                // round to them.
                if f.is_finite() && (f >= i64::MAX as f64 || f <= i64::MIN as f64) {
                    Num::BigInt
                } else {
                    Num::Decimal(f)
                }
            }
        }
        Value::String(s) => number_in_string(s),
        _ => Num::Other,
    }
}

/// How a string reads as a number: a number in quotes, or not a number at all.
pub fn number_in_string(s: &str) -> Num {
    let t = s.trim();
    match t.parse::<i64>() {
        Ok(i) => Num::QuotedInt(i.to_string()),
        Err(_) => match t.parse::<f64>() {
            Ok(f)
                if f.is_finite() && t.chars().all(|c| c.is_ascii_digit() || ".-+".contains(c)) =>
            {
                Num::QuotedInt(t.to_string())
            }
            _ => Num::Other,
        },
    }
}

impl Num {
    pub fn hint(&self) -> Option<String> {
        match self {
            Num::QuotedInt(s) => Some(format!("drop the quotes: send {s}, not \"{s}\"")),
            Num::Decimal(f) if f.is_finite() => {
                let (lo, hi) = (f.floor(), f.ceil());
                if lo == hi {
                    Some(format!("send {lo} without a fractional part"))
                } else {
                    Some(format!("send a whole number such as {lo} or {hi}"))
                }
            }
            _ => None,
        }
    }
}

pub const TIMESTAMP_EXPECTED: &str = "an RFC 3339 timestamp such as 2026-11-22T11:30:00Z, or null";

/// An RFC 3339 timestamp from year 1 to year 9999.
pub fn timestamp(s: &str) -> Option<Timestamp> {
    Timestamp::parse_rfc3339(s)
        .filter(|t| (-62_135_596_800_000..=253_402_300_799_999).contains(&t.0))
}

/// An RFC 3339 timestamp or null.
pub fn timestamp_or_null(
    r: &mut Report,
    ptr: &str,
    what: &str,
    v: &Value,
) -> Option<Option<Timestamp>> {
    match v {
        Value::Null => Some(None),
        Value::String(s) => match timestamp(s) {
            Some(t) => Some(Some(t)),
            None => {
                let hint = if s.len() == 10 && s.as_bytes().get(4) == Some(&b'-') {
                    Some(format!("add a time and offset: {s}T00:00:00Z"))
                } else if s.contains(' ') && !s.contains('T') {
                    Some("separate date and time with `T` and end with `Z` or an offset".into())
                } else if s.contains('T')
                    && !s.ends_with('Z')
                    && !s.contains('+')
                    && s.matches('-').count() < 3
                {
                    Some(format!("add the offset, e.g. {s}Z for UTC"))
                } else {
                    None
                };
                r.push(
                    ErrorEntry::at(
                        ptr.to_string(),
                        EntryCode::InvalidFormat,
                        format!("{what} `{}` is not an RFC 3339 timestamp", truncate(s)),
                    )
                    .expected(TIMESTAMP_EXPECTED)
                    .received(received(v))
                    .maybe_hint(hint),
                );
                None
            }
        },
        _ => {
            r.push(wrong_type(ptr, what, TIMESTAMP_EXPECTED, v));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Num {
        number(&serde_json::from_str(text).unwrap())
    }

    #[test]
    fn whole_numbers_past_either_end_of_i64_are_out_of_range_not_decimals() {
        for text in [
            "-9223372036854775809",
            "-99999999999999999999",
            "-9223372036854775808e0",
            "9223372036854775808",
            "99999999999999999999",
            "1e20",
        ] {
            assert!(matches!(read(text), Num::BigInt), "{text}");
        }
        assert!(matches!(read("-9223372036854775808"), Num::Int(i64::MIN)));
        assert!(matches!(read("9223372036854775807"), Num::Int(i64::MAX)));
        assert!(matches!(read("-9.5e18"), Num::BigInt));
        assert!(matches!(read("75.5"), Num::Decimal(_)));
        assert!(matches!(read("-4611686018427387904.5"), Num::Decimal(_)));
    }
}
