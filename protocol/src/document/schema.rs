//! What the three document schemas share: the error type, field checks,
//! and the helpers that read and write typed values in an Automerge
//! document. Callers never see the Automerge maps; they read and write the
//! typed records in `contacts`, `advisory` and `tools`.
//!
//! Writes are diffs: a helper writes a field only when its value differs
//! from the document's, so an edit of one field leaves the others alone and
//! concurrent edits of different fields merge.

use automerge::transaction::Transactable;
use automerge::{AutomergeError, ObjId, ObjType, Prop, ReadDoc, Value};
use thiserror::Error;

use super::id::{DocKind, DocRef};

/// Why a document value is invalid or could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// A field fails validation.
    #[error("invalid {field}: {problem}")]
    InvalidField {
        /// The field (with its list index, if any).
        field: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// The stored document does not hold what the schema expects there.
    #[error("the document does not match its schema at {0}")]
    Malformed(String),
    /// The advisory is in a document format this build does not read
    /// (format 1 is the advisory model before CSAF trees).
    #[error("the advisory is in document format {0}; this build reads format 2")]
    UnsupportedFormat(u64),
    /// The advisory was imported from CSAF and has no short form.
    #[error("the advisory was imported from CSAF; read it as a CSAF document")]
    NotAuthored,
    /// The document's changes could not be read back from the store.
    #[error("the document's changes could not be read from the store: {0}")]
    Unreadable(String),
    /// The document is of another kind than the one asked for.
    #[error("the document is a {found} document, not a {expected} document")]
    WrongKind {
        /// The kind asked for.
        expected: DocKind,
        /// The document's kind.
        found: DocKind,
    },
}

impl SchemaError {
    pub(crate) fn invalid(field: impl Into<String>, problem: &'static str) -> Self {
        Self::InvalidField {
            field: field.into(),
            problem,
        }
    }
}

/// A document schema: [`super::Contact`], [`super::Advisory`] or
/// [`super::ToolRegistry`]. Sealed: the replica reads only these.
pub trait Schema: sealed::Sealed {
    /// The kind of document this schema describes.
    const KIND: DocKind;
}

pub(crate) mod sealed {
    use super::{DocRef, SchemaError};

    /// Reads a typed value from a materialized document.
    pub trait Sealed: Sized {
        fn read(doc: &automerge::Automerge, doc_ref: &DocRef) -> Result<Self, SchemaError>;
    }
}

// ---------------------------------------------------------------------------
// Field checks.

/// A single-line text: at most `max_chars`, no control characters and no
/// bidirectional formatting characters (a right-to-left override makes
/// "safe\u{202e}gnp.exe" display as "safeexe.png").
pub(crate) fn check_text(
    field: &str,
    value: &str,
    max_chars: usize,
    required: bool,
) -> Result<(), SchemaError> {
    check_len(field, value, max_chars, required)?;
    if value.chars().any(char::is_control) {
        return Err(SchemaError::invalid(field, "contains control characters"));
    }
    if value.chars().any(crate::is_bidi_control) {
        return Err(SchemaError::invalid(
            field,
            "contains bidirectional formatting characters",
        ));
    }
    Ok(())
}

/// A multi-line text: line breaks and tabs allowed, other controls not.
pub(crate) fn check_multiline(
    field: &str,
    value: &str,
    max_chars: usize,
    required: bool,
) -> Result<(), SchemaError> {
    check_len(field, value, max_chars, required)?;
    if value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(SchemaError::invalid(field, "contains control characters"));
    }
    Ok(())
}

fn check_len(
    field: &str,
    value: &str,
    max_chars: usize,
    required: bool,
) -> Result<(), SchemaError> {
    if required && value.trim().is_empty() {
        return Err(SchemaError::invalid(field, "must not be empty"));
    }
    // Cheap byte bound first, so huge inputs are not walked char by char.
    if value.len() > max_chars * 4 || value.chars().count() > max_chars {
        return Err(SchemaError::invalid(field, "too long"));
    }
    Ok(())
}

pub(crate) fn check_count(field: &str, n: usize, max: usize) -> Result<(), SchemaError> {
    if n > max {
        return Err(SchemaError::invalid(field, "too many entries"));
    }
    Ok(())
}

/// Empty, or an `http://` or `https://` URL without whitespace.
pub(crate) fn check_url(field: &str, value: &str, required: bool) -> Result<(), SchemaError> {
    check_text(field, value, 2048, required)?;
    if value.is_empty() {
        return Ok(());
    }
    let rest = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"))
        .ok_or_else(|| SchemaError::invalid(field, "must be an http:// or https:// URL"))?;
    if rest.is_empty() || rest.starts_with('/') || value.chars().any(char::is_whitespace) {
        return Err(SchemaError::invalid(
            field,
            "must be an http:// or https:// URL",
        ));
    }
    Ok(())
}

/// Empty, or something shaped like an e-mail address.
pub(crate) fn check_email(field: &str, value: &str, required: bool) -> Result<(), SchemaError> {
    check_text(field, value, 254, required)?;
    if value.is_empty() {
        return Ok(());
    }
    match value.split_once('@') {
        Some((local, domain))
            if !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !value.chars().any(char::is_whitespace) =>
        {
            Ok(())
        }
        _ => Err(SchemaError::invalid(field, "must be an e-mail address")),
    }
}

/// Empty, or a phone number: digits, spaces and `+-().`, at least one digit.
pub(crate) fn check_phone(field: &str, value: &str) -> Result<(), SchemaError> {
    check_text(field, value, 64, false)?;
    if value.is_empty() {
        return Ok(());
    }
    if !value
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '(' | ')' | '.'))
        || !value.chars().any(|c| c.is_ascii_digit())
    {
        return Err(SchemaError::invalid(
            field,
            "must be a phone number such as +31 70 123 4567",
        ));
    }
    Ok(())
}

/// Exactly `len` hexadecimal digits (either case).
pub(crate) fn is_hex(value: &str, len: usize) -> bool {
    value.len() == len && value.bytes().all(|b| b.is_ascii_hexdigit())
}

/// An ISO 3166-1 alpha-2 code in upper case.
pub(crate) fn check_country(value: &str) -> Result<(), SchemaError> {
    if value.len() != 2 || !value.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(SchemaError::invalid(
            "country",
            "must be an ISO 3166-1 alpha-2 code such as DE",
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Reading.

fn malformed(at: &str, key: impl std::fmt::Display) -> SchemaError {
    if at.is_empty() {
        SchemaError::Malformed(key.to_string())
    } else {
        SchemaError::Malformed(format!("{at}.{key}"))
    }
}

/// The value at `obj[prop]`, `None` when absent.
fn get<'d, D: ReadDoc, P: Into<Prop> + Copy + std::fmt::Display>(
    doc: &'d D,
    obj: &ObjId,
    prop: P,
    at: &str,
) -> Result<Option<(Value<'d>, ObjId)>, SchemaError> {
    doc.get(obj, prop).map_err(|_| malformed(at, prop))
}

/// A string field; absent reads as empty. Accepts a scalar string or a
/// text object.
pub(crate) fn read_str<D: ReadDoc>(
    doc: &D,
    obj: &ObjId,
    key: &str,
    at: &str,
) -> Result<String, SchemaError> {
    Ok(read_opt_str(doc, obj, key, at)?.unwrap_or_default())
}

/// An optional string field.
pub(crate) fn read_opt_str<D: ReadDoc>(
    doc: &D,
    obj: &ObjId,
    key: &str,
    at: &str,
) -> Result<Option<String>, SchemaError> {
    match get(doc, obj, key, at)? {
        None => Ok(None),
        Some((value, id)) => value_to_string(doc, value, &id)
            .map(Some)
            .ok_or_else(|| malformed(at, key)),
    }
}

fn value_to_string<D: ReadDoc>(doc: &D, value: Value<'_>, id: &ObjId) -> Option<String> {
    match value {
        Value::Scalar(s) => s.as_str().map(str::to_owned),
        Value::Object(ObjType::Text) => doc.text(id).ok(),
        Value::Object(_) => None,
    }
}

/// A field holding an enum's lowercase name; absent is an error.
pub(crate) fn read_enum<D: ReadDoc, T>(
    doc: &D,
    obj: &ObjId,
    key: &str,
    at: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<T, SchemaError> {
    read_opt_str(doc, obj, key, at)?
        .as_deref()
        .and_then(parse)
        .ok_or_else(|| malformed(at, key))
}

fn read_obj<D: ReadDoc, P: Into<Prop> + Copy + std::fmt::Display>(
    doc: &D,
    obj: &ObjId,
    prop: P,
    at: &str,
    want: ObjType,
) -> Result<Option<ObjId>, SchemaError> {
    match get(doc, obj, prop, at)? {
        None => Ok(None),
        Some((Value::Object(t), id))
            if t == want || (want == ObjType::Map && t == ObjType::Table) =>
        {
            Ok(Some(id))
        }
        Some(_) => Err(malformed(at, prop)),
    }
}

/// A list of strings; absent reads as empty.
pub(crate) fn read_str_list<D: ReadDoc>(
    doc: &D,
    obj: &ObjId,
    key: &str,
    at: &str,
) -> Result<Vec<String>, SchemaError> {
    let Some(list) = read_obj(doc, obj, key, at, ObjType::List)? else {
        return Ok(vec![]);
    };
    let path = join(at, key);
    (0..doc.length(&list))
        .map(|i| match get(doc, &list, i, &path)? {
            Some((value, id)) => {
                value_to_string(doc, value, &id).ok_or_else(|| malformed(&path, i))
            }
            None => Err(malformed(&path, i)),
        })
        .collect()
}

/// A list of records, each a map; absent reads as empty.
pub(crate) fn read_records<D: ReadDoc, R: Record>(
    doc: &D,
    obj: &ObjId,
    key: &str,
    at: &str,
) -> Result<Vec<R>, SchemaError> {
    let Some(list) = read_obj(doc, obj, key, at, ObjType::List)? else {
        return Ok(vec![]);
    };
    let path = join(at, key);
    (0..doc.length(&list))
        .map(|i| {
            let item =
                read_obj(doc, &list, i, &path, ObjType::Map)?.ok_or_else(|| malformed(&path, i))?;
            R::read(doc, &item, &format!("{path}[{i}]"))
        })
        .collect()
}

/// The map at `obj[key]`, if there is one.
pub(crate) fn read_map<D: ReadDoc>(
    doc: &D,
    obj: &ObjId,
    key: &str,
    at: &str,
) -> Result<Option<ObjId>, SchemaError> {
    read_obj(doc, obj, key, at, ObjType::Map)
}

fn join(at: &str, key: &str) -> String {
    if at.is_empty() {
        key.to_owned()
    } else {
        format!("{at}.{key}")
    }
}

// ---------------------------------------------------------------------------
// Writing.

/// A record stored as a map inside a list or a map.
pub(crate) trait Record: Sized {
    /// Writes the fields that differ from the map's current values.
    fn write<T: Transactable>(&self, tx: &mut T, obj: &ObjId) -> Result<(), AutomergeError>;
    /// Reads the record from its map; `at` names it in errors.
    fn read<D: ReadDoc>(doc: &D, obj: &ObjId, at: &str) -> Result<Self, SchemaError>;
}

fn current_str<T: ReadDoc, P: Into<Prop>>(tx: &T, obj: &ObjId, prop: P) -> Option<String> {
    match tx.get(obj, prop) {
        Ok(Some((Value::Scalar(s), _))) => s.as_str().map(str::to_owned),
        _ => None,
    }
}

/// Puts a string unless the field already holds it.
pub(crate) fn put_str<T: Transactable>(
    tx: &mut T,
    obj: &ObjId,
    key: &str,
    value: &str,
) -> Result<(), AutomergeError> {
    if current_str(tx, obj, key).as_deref() != Some(value) {
        tx.put(obj, key, value)?;
    }
    Ok(())
}

/// Puts an optional string; `None` deletes the field.
pub(crate) fn put_opt_str<T: Transactable>(
    tx: &mut T,
    obj: &ObjId,
    key: &str,
    value: Option<&str>,
) -> Result<(), AutomergeError> {
    match value {
        Some(v) => put_str(tx, obj, key, v),
        None => {
            if tx.get(obj, key)?.is_some() {
                tx.delete(obj, key)?;
            }
            Ok(())
        }
    }
}

fn ensure_obj<T: Transactable>(
    tx: &mut T,
    obj: &ObjId,
    key: &str,
    want: ObjType,
) -> Result<ObjId, AutomergeError> {
    match tx.get(obj, key)? {
        Some((Value::Object(t), id)) if t == want => Ok(id),
        _ => tx.put_object(obj, key, want),
    }
}

/// The map at `obj[key]`, created if absent.
pub(crate) fn ensure_map<T: Transactable>(
    tx: &mut T,
    obj: &ObjId,
    key: &str,
) -> Result<ObjId, AutomergeError> {
    ensure_obj(tx, obj, key, ObjType::Map)
}

/// Makes the list at `obj[key]` hold `values`, touching only the elements
/// that differ.
pub(crate) fn put_str_list<T: Transactable>(
    tx: &mut T,
    obj: &ObjId,
    key: &str,
    values: &[String],
) -> Result<(), AutomergeError> {
    let list = ensure_obj(tx, obj, key, ObjType::List)?;
    let len = tx.length(&list);
    for (i, v) in values.iter().enumerate() {
        if i < len {
            if current_str(tx, &list, i).as_deref() != Some(v.as_str()) {
                tx.put(&list, i, v.as_str())?;
            }
        } else {
            tx.insert(&list, i, v.as_str())?;
        }
    }
    for i in (values.len()..len).rev() {
        tx.delete(&list, i)?;
    }
    Ok(())
}

/// Makes the list at `obj[key]` hold `records`, updating existing maps in
/// place field by field.
pub(crate) fn put_records<T: Transactable, R: Record>(
    tx: &mut T,
    obj: &ObjId,
    key: &str,
    records: &[R],
) -> Result<(), AutomergeError> {
    let list = ensure_obj(tx, obj, key, ObjType::List)?;
    let len = tx.length(&list);
    for (i, r) in records.iter().enumerate() {
        let item = if i < len {
            match tx.get(&list, i)? {
                Some((Value::Object(ObjType::Map), id)) => id,
                _ => tx.put_object(&list, i, ObjType::Map)?,
            }
        } else {
            tx.insert_object(&list, i, ObjType::Map)?
        };
        r.write(tx, &item)?;
    }
    for i in (records.len()..len).rev() {
        tx.delete(&list, i)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
