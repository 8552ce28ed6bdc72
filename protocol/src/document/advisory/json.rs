//! JSON as CSAF documents are written: a tree that keeps every value, a
//! bounded parser that never recurses on its input, and a writer.
//!
//! Numbers keep what they were. An integer stays an integer (`i64`, or
//! `u64` above `i64::MAX`), a number written with a fraction or exponent
//! stays a float when an `f64` holds exactly the decimal written (so a
//! CVSS `9.8` stays `9.8` and `0.0` stays `0.0`), and any other number (an
//! integer beyond 64 bits, `-0`, more digits than an `f64` holds, `1e400`)
//! is kept as the text written. Every tree written back parses to an equal
//! tree.
//!
//! Objects are sorted by key, as Automerge maps are; JSON gives key order no
//! meaning. An object that repeats a key is refused: parsers disagree on
//! which value wins, so such a document could be read two ways.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use thiserror::Error;

use super::limits::Limit;

/// A JSON value.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, as written.
    Number(Number),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Json>),
    /// An object, sorted by key.
    Object(BTreeMap<String, Json>),
}

/// A JSON number that keeps integer against float, and the text of any
/// number neither an `i64`, a `u64` nor an `f64` holds exactly.
#[derive(Debug, Clone, PartialEq)]
pub struct Number(Repr);

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Repr {
    Int(i64),
    /// Only above `i64::MAX`.
    Uint(u64),
    /// Finite.
    Float(f64),
    /// Valid JSON number text that no other variant holds exactly.
    Text(Box<str>),
}

impl Number {
    /// An integer.
    pub fn from_i64(n: i64) -> Self {
        Self(Repr::Int(n))
    }

    /// A non-negative integer.
    pub fn from_u64(n: u64) -> Self {
        match i64::try_from(n) {
            Ok(i) => Self(Repr::Int(i)),
            Err(_) => Self(Repr::Uint(n)),
        }
    }

    /// A float; `None` for NaN and infinities, which JSON cannot write.
    pub fn from_f64(f: f64) -> Option<Self> {
        f.is_finite().then_some(Self(Repr::Float(f)))
    }

    /// Parses JSON number text, keeping it as written when no machine
    /// number holds it exactly. `None` when it is not a JSON number.
    pub fn parse(text: &str) -> Option<Self> {
        let shape = number_shape(text.as_bytes())?;
        if shape != text.len() {
            return None;
        }
        Some(Self::from_valid_text(text))
    }

    fn from_valid_text(text: &str) -> Self {
        let is_integer = !text.bytes().any(|b| matches!(b, b'.' | b'e' | b'E'));
        if is_integer {
            if text == "-0" {
                return Self(Repr::Text(text.into()));
            }
            if let Ok(i) = text.parse::<i64>() {
                return Self(Repr::Int(i));
            }
            if let Ok(u) = text.parse::<u64>() {
                return Self(Repr::Uint(u));
            }
            return Self(Repr::Text(text.into()));
        }
        match text.parse::<f64>() {
            Ok(f) if f.is_finite() && decimal(text) == decimal(&format!("{f:?}")) => {
                Self(Repr::Float(f))
            }
            _ => Self(Repr::Text(text.into())),
        }
    }

    pub(crate) fn repr(&self) -> &Repr {
        &self.0
    }

    /// Whether it was written as an integer (no fraction, no exponent).
    pub fn is_integer(&self) -> bool {
        match &self.0 {
            Repr::Int(_) | Repr::Uint(_) => true,
            Repr::Float(_) => false,
            Repr::Text(t) => !t.bytes().any(|b| matches!(b, b'.' | b'e' | b'E')),
        }
    }

    /// The value as an `f64`, rounded; infinite for text beyond its range.
    pub fn as_f64(&self) -> f64 {
        match &self.0 {
            Repr::Int(i) => *i as f64,
            Repr::Uint(u) => *u as f64,
            Repr::Float(f) => *f,
            Repr::Text(t) => t.parse().unwrap_or(f64::NAN),
        }
    }

    /// The value as an `i64`, when it is an integer that fits.
    pub fn as_i64(&self) -> Option<i64> {
        match &self.0 {
            Repr::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The value as a `u64`, when it is a non-negative integer that fits.
    pub fn as_u64(&self) -> Option<u64> {
        match &self.0 {
            Repr::Int(i) => u64::try_from(*i).ok(),
            Repr::Uint(u) => Some(*u),
            _ => None,
        }
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Repr::Int(i) => write!(f, "{i}"),
            Repr::Uint(u) => write!(f, "{u}"),
            // Debug is the shortest text that reads back to the same f64,
            // and always has a fraction or an exponent.
            Repr::Float(x) => write!(f, "{x:?}"),
            Repr::Text(t) => f.write_str(t),
        }
    }
}

/// The length of the JSON number at the start of `b`, if one starts there.
fn number_shape(b: &[u8]) -> Option<usize> {
    let mut i = 0;
    if b.first() == Some(&b'-') {
        i += 1;
    }
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        }
        _ => return None,
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    Some(i)
}

/// A decimal number reduced to (negative, significant digits, exponent),
/// its value being `0.DIGITS × 10^exponent`; zero has no digits. Two texts
/// of the same value reduce to the same triple.
fn decimal(text: &str) -> (bool, String, i64) {
    let (negative, rest) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text),
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(at) => (&rest[..at], &rest[at + 1..]),
        None => (rest, "0"),
    };
    // Saturating: a huge exponent only matters for values an f64 cannot
    // hold, which never get this far as floats.
    let exponent =
        exponent
            .trim_start_matches('+')
            .parse::<i64>()
            .unwrap_or(if exponent.starts_with('-') {
                i64::MIN / 2
            } else {
                i64::MAX / 2
            });
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits: String = int.chars().chain(frac.chars()).collect();
    let leading = digits.len() - digits.trim_start_matches('0').len();
    let significant = digits.trim_start_matches('0').trim_end_matches('0');
    if significant.is_empty() {
        return (negative, String::new(), 0);
    }
    let int_len = i64::try_from(int.len()).unwrap_or(i64::MAX / 4);
    let leading = i64::try_from(leading).unwrap_or(i64::MAX / 4);
    (
        negative,
        significant.to_owned(),
        exponent.saturating_add(int_len).saturating_sub(leading),
    )
}

impl Json {
    /// The member `key` of an object.
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(m) => m.get(key),
            _ => None,
        }
    }

    /// The value at a JSON pointer (RFC 6901), such as `/document/title`.
    pub fn pointer(&self, pointer: &str) -> Option<&Json> {
        if pointer.is_empty() {
            return Some(self);
        }
        let mut at = self;
        for part in pointer.strip_prefix('/')?.split('/') {
            let part = part.replace("~1", "/").replace("~0", "~");
            at = match at {
                Json::Object(m) => m.get(&part)?,
                Json::Array(a) => a.get(part.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(at)
    }

    /// The string, if it is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    /// The elements, if it is an array.
    pub fn as_array(&self) -> Option<&[Json]> {
        match self {
            Json::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The members, if it is an object.
    pub fn as_object(&self) -> Option<&BTreeMap<String, Json>> {
        match self {
            Json::Object(m) => Some(m),
            _ => None,
        }
    }

    /// The members, if it is an object, to change them.
    pub fn as_object_mut(&mut self) -> Option<&mut BTreeMap<String, Json>> {
        match self {
            Json::Object(m) => Some(m),
            _ => None,
        }
    }

    /// The number, if it is one.
    pub fn as_number(&self) -> Option<&Number> {
        match self {
            Json::Number(n) => Some(n),
            _ => None,
        }
    }

    /// The number as an `f64`, if it is one.
    pub fn as_f64(&self) -> Option<f64> {
        self.as_number().map(Number::as_f64)
    }

    /// The elements of an array, or nothing: for reading optional lists.
    pub fn items(&self) -> &[Json] {
        self.as_array().unwrap_or_default()
    }

    /// An object of the given members.
    pub fn object<K: Into<String>>(members: impl IntoIterator<Item = (K, Json)>) -> Json {
        Json::Object(members.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// Parses JSON text within the document limits (see [`Limit`]). A
    /// leading byte order mark is ignored.
    pub fn parse(bytes: &[u8]) -> Result<Json, JsonError> {
        parse(bytes)
    }

    /// The compact JSON text.
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, None, 0);
        out
    }

    /// The JSON text indented by two spaces, one member per line.
    pub fn to_json_pretty(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, Some(2), 0);
        out.push('\n');
        out
    }

    /// How deep the value nests (a scalar is 0).
    pub fn depth(&self) -> usize {
        // Iterative: values built by callers may nest arbitrarily.
        let mut max = 0;
        let mut stack = vec![(self, 0usize)];
        while let Some((v, d)) = stack.pop() {
            max = max.max(d);
            match v {
                Json::Array(a) => stack.extend(a.iter().map(|x| (x, d + 1))),
                Json::Object(m) => stack.extend(m.values().map(|x| (x, d + 1))),
                _ => {}
            }
        }
        max
    }

    /// Recursion is bounded by the depth the parser and the document reader
    /// allow ([`Limit::Depth`]).
    fn write(&self, out: &mut String, indent: Option<usize>, level: usize) {
        let newline = |out: &mut String, level: usize| {
            if let Some(n) = indent {
                out.push('\n');
                out.extend(std::iter::repeat_n(' ', n * level));
            }
        };
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Number(n) => {
                let _ = write!(out, "{n}");
            }
            Json::String(s) => write_string(out, s),
            Json::Array(a) if a.is_empty() => out.push_str("[]"),
            Json::Array(a) => {
                out.push('[');
                for (i, v) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(out, level + 1);
                    v.write(out, indent, level + 1);
                }
                newline(out, level);
                out.push(']');
            }
            Json::Object(m) if m.is_empty() => out.push_str("{}"),
            Json::Object(m) => {
                out.push('{');
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(out, level + 1);
                    write_string(out, k);
                    out.push(':');
                    if indent.is_some() {
                        out.push(' ');
                    }
                    v.write(out, indent, level + 1);
                }
                newline(out, level);
                out.push('}');
            }
        }
    }
}

impl From<&str> for Json {
    fn from(s: &str) -> Self {
        Json::String(s.to_owned())
    }
}

impl From<String> for Json {
    fn from(s: String) -> Self {
        Json::String(s)
    }
}

impl From<bool> for Json {
    fn from(b: bool) -> Self {
        Json::Bool(b)
    }
}

impl From<Number> for Json {
    fn from(n: Number) -> Self {
        Json::Number(n)
    }
}

impl From<Vec<Json>> for Json {
    fn from(a: Vec<Json>) -> Self {
        Json::Array(a)
    }
}

impl fmt::Display for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_json())
    }
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Why JSON text was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum JsonError {
    /// The bytes are not UTF-8.
    #[error("the document is not UTF-8 text (at byte {0})")]
    NotUtf8(usize),
    /// The text is not JSON.
    #[error("not JSON at byte {offset}: {problem}")]
    Syntax {
        /// Where, in bytes from the start.
        offset: usize,
        /// What is wrong.
        problem: &'static str,
    },
    /// The document exceeds a limit.
    #[error("the document has more than {0}")]
    TooLarge(Limit),
}

enum Frame {
    Array(Vec<Json>),
    Object(BTreeMap<String, Json>, String),
}

struct Parser<'a> {
    text: &'a str,
    b: &'a [u8],
    at: usize,
    values: usize,
}

fn parse(bytes: &[u8]) -> Result<Json, JsonError> {
    if bytes.len() > Limit::JsonBytes.bound() {
        return Err(JsonError::TooLarge(Limit::JsonBytes));
    }
    let bom = usize::from(bytes.starts_with(&[0xef, 0xbb, 0xbf])) * 3;
    let text = std::str::from_utf8(&bytes[bom..])
        .map_err(|e| JsonError::NotUtf8(bom + e.valid_up_to()))?;
    let mut p = Parser {
        text,
        b: text.as_bytes(),
        at: 0,
        values: 0,
    };
    let value = p.document()?;
    p.skip_ws();
    if p.at != p.b.len() {
        return Err(p.error("unexpected text after the document"));
    }
    Ok(value)
}

impl Parser<'_> {
    fn error(&self, problem: &'static str) -> JsonError {
        JsonError::Syntax {
            offset: self.at,
            problem,
        }
    }

    fn skip_ws(&mut self) {
        while matches!(self.b.get(self.at), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn count(&mut self) -> Result<(), JsonError> {
        self.values += 1;
        if self.values > Limit::Values.bound() {
            return Err(JsonError::TooLarge(Limit::Values));
        }
        Ok(())
    }

    /// One document, with an explicit stack instead of recursion.
    fn document(&mut self) -> Result<Json, JsonError> {
        let mut stack: Vec<Frame> = Vec::new();
        loop {
            // A value starts here.
            self.skip_ws();
            self.count()?;
            if matches!(self.b.get(self.at), Some(b'{' | b'['))
                && stack.len() >= Limit::Depth.bound()
            {
                return Err(JsonError::TooLarge(Limit::Depth));
            }
            let mut value = match self.b.get(self.at) {
                Some(b'{') => {
                    self.at += 1;
                    self.skip_ws();
                    if self.b.get(self.at) == Some(&b'}') {
                        self.at += 1;
                        Json::Object(BTreeMap::new())
                    } else {
                        let key = self.key()?;
                        stack.push(Frame::Object(BTreeMap::new(), key));
                        continue;
                    }
                }
                Some(b'[') => {
                    self.at += 1;
                    self.skip_ws();
                    if self.b.get(self.at) == Some(&b']') {
                        self.at += 1;
                        Json::Array(Vec::new())
                    } else {
                        stack.push(Frame::Array(Vec::new()));
                        continue;
                    }
                }
                Some(b'"') => Json::String(self.string(Limit::StringBytes)?),
                Some(b't') => self.literal("true", Json::Bool(true))?,
                Some(b'f') => self.literal("false", Json::Bool(false))?,
                Some(b'n') => self.literal("null", Json::Null)?,
                Some(b'-' | b'0'..=b'9') => Json::Number(self.number()?),
                Some(_) => return Err(self.error("expected a value")),
                None => return Err(self.error("the text ends where a value should start")),
            };
            // The value is complete: attach it, closing every container it
            // completes, until one expects another member.
            loop {
                let Some(top) = stack.last_mut() else {
                    return Ok(value);
                };
                self.skip_ws();
                let next = self.b.get(self.at).copied();
                match top {
                    Frame::Array(items) => {
                        items.push(value);
                        match next {
                            Some(b',') => {
                                self.at += 1;
                                break;
                            }
                            Some(b']') => self.at += 1,
                            _ => return Err(self.error("expected , or ] in an array")),
                        }
                    }
                    Frame::Object(members, key) => {
                        let key = std::mem::take(key);
                        if members.insert(key, value).is_some() {
                            return Err(self.error("an object repeats a key"));
                        }
                        match next {
                            Some(b',') => {
                                self.at += 1;
                                self.skip_ws();
                                let key = self.key()?;
                                if let Some(Frame::Object(_, k)) = stack.last_mut() {
                                    *k = key;
                                }
                                break;
                            }
                            Some(b'}') => self.at += 1,
                            _ => return Err(self.error("expected , or } in an object")),
                        }
                    }
                }
                // The container closed: it is the value to attach next.
                value = match stack.pop() {
                    Some(Frame::Array(items)) => Json::Array(items),
                    Some(Frame::Object(members, _)) => Json::Object(members),
                    None => return Err(self.error("unbalanced document")),
                };
            }
        }
    }

    /// An object key and the colon after it.
    fn key(&mut self) -> Result<String, JsonError> {
        if self.b.get(self.at) != Some(&b'"') {
            return Err(self.error("expected a key in quotes"));
        }
        let key = self.string(Limit::KeyBytes)?;
        self.skip_ws();
        if self.b.get(self.at) != Some(&b':') {
            return Err(self.error("expected : after a key"));
        }
        self.at += 1;
        Ok(key)
    }

    fn literal(&mut self, word: &'static str, value: Json) -> Result<Json, JsonError> {
        if self.b[self.at..].starts_with(word.as_bytes()) {
            self.at += word.len();
            Ok(value)
        } else {
            Err(self.error("expected true, false or null"))
        }
    }

    fn number(&mut self) -> Result<Number, JsonError> {
        let len = number_shape(&self.b[self.at..]).ok_or_else(|| self.error("malformed number"))?;
        if len > Limit::NumberChars.bound() {
            return Err(JsonError::TooLarge(Limit::NumberChars));
        }
        let text = &self.text[self.at..self.at + len];
        self.at += len;
        Ok(Number::from_valid_text(text))
    }

    /// A string starting at the opening quote.
    fn string(&mut self, limit: Limit) -> Result<String, JsonError> {
        self.at += 1;
        let mut out = String::new();
        loop {
            let start = self.at;
            while let Some(&c) = self.b.get(self.at) {
                if c == b'"' || c == b'\\' || c < 0x20 {
                    break;
                }
                self.at += 1;
            }
            // Only ASCII delimiters end a run, so both ends are char
            // boundaries.
            out.push_str(&self.text[start..self.at]);
            if out.len() > limit.bound() {
                return Err(JsonError::TooLarge(limit));
            }
            match self.b.get(self.at) {
                Some(b'"') => {
                    self.at += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.at += 1;
                    let c = self.escape()?;
                    out.push(c);
                }
                Some(_) => return Err(self.error("a control character inside a string")),
                None => return Err(self.error("the text ends inside a string")),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let digits = self
            .b
            .get(self.at..self.at + 4)
            .ok_or_else(|| self.error("a \\u escape needs four hex digits"))?;
        let mut n = 0u32;
        for d in digits {
            let v = char::from(*d)
                .to_digit(16)
                .ok_or_else(|| self.error("a \\u escape needs four hex digits"))?;
            n = n * 16 + v;
        }
        self.at += 4;
        Ok(n)
    }

    fn escape(&mut self) -> Result<char, JsonError> {
        let c = self
            .b
            .get(self.at)
            .copied()
            .ok_or_else(|| self.error("the text ends inside an escape"))?;
        self.at += 1;
        Ok(match c {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let first = self.hex4()?;
                let code = match first {
                    0xd800..=0xdbff => {
                        if !self.b[self.at..].starts_with(b"\\u") {
                            return Err(self.error("a lone surrogate in a \\u escape"));
                        }
                        self.at += 2;
                        let second = self.hex4()?;
                        if !(0xdc00..=0xdfff).contains(&second) {
                            return Err(self.error("a lone surrogate in a \\u escape"));
                        }
                        0x10000 + ((first - 0xd800) << 10) + (second - 0xdc00)
                    }
                    0xdc00..=0xdfff => {
                        return Err(self.error("a lone surrogate in a \\u escape"));
                    }
                    n => n,
                };
                char::from_u32(code).ok_or_else(|| self.error("an invalid \\u escape"))?
            }
            _ => return Err(self.error("an unknown escape")),
        })
    }
}
