//! The advisories' STIX 2.1 objects as TAXII 2.1 collections, one per TLP
//! label, and the queries TAXII's `objects/` and `manifest/` answer.
//!
//! Pure: [`Catalog::build`] takes each advisory's STIX bundle (made by
//! [`super::stix::bundle`], the one conversion) with its label and the
//! time this node first held that version of it; [`Catalog::query`] pages
//! through a collection with TAXII's filters. The HTTP side is
//! `http/taxii.rs`.
//!
//! Each advisory object has one version here, the one of the advisory's
//! current state: the node keeps documents, not the history of their
//! exports. An object's `date_added` is when this node first held the
//! advisory version it comes from, so `added_after` finds what arrived
//! since a client last asked. The owner's `identity` is shared by its
//! advisories: the collection holds the one of the earliest `created`,
//! added when the first of them was, and the TLP marking once.

use std::collections::BTreeMap;

use serde_json::Value;
use trustmesh_protocol::{Tlp, parse_rfc3339};

use super::civil;

/// The largest page [`Catalog::query`] returns.
pub const MAX_PAGE: usize = 1000;

/// One object version in a collection.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The STIX id.
    pub id: String,
    /// The STIX type.
    pub kind: String,
    /// The version: `modified`, or `created` for an object without one.
    pub version: String,
    /// The version as Unix milliseconds, for `match[version]`.
    pub version_ms: u64,
    /// When this node first held it (Unix milliseconds).
    pub added_ms: u64,
    /// The object.
    pub object: Value,
}

impl Entry {
    /// The page cursor just after this entry.
    fn cursor(&self) -> String {
        format!("{}_{}", self.added_ms, self.id)
    }
}

/// Every collection's entries, in the order pages walk them: by time
/// added, then id.
#[derive(Debug, Default, Clone)]
pub struct Catalog {
    collections: BTreeMap<Tlp, Vec<Entry>>,
}

/// A `match[version]` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionMatch {
    /// The oldest version.
    First,
    /// The newest version (the default).
    Last,
    /// Every version.
    All,
    /// The version of this timestamp (Unix milliseconds).
    At(u64),
}

/// A TAXII query on a collection's `objects/` or `manifest/`.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// Only what was added strictly after this (Unix milliseconds).
    pub added_after: Option<u64>,
    /// At most this many objects (capped at [`MAX_PAGE`]).
    pub limit: Option<usize>,
    /// Where the previous page stopped (its `next`).
    pub next: Option<String>,
    /// `match[id]`: any of these ids (empty: any).
    pub ids: Vec<String>,
    /// `match[type]`: any of these types (empty: any).
    pub types: Vec<String>,
    /// `match[version]` (empty: the newest).
    pub versions: Vec<VersionMatch>,
    /// `match[spec_version]` (empty: any; every object here is 2.1).
    pub spec_versions: Vec<String>,
}

/// Why a query was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    /// A parameter's value is malformed.
    #[error("invalid {param}: {why}")]
    Invalid {
        /// The parameter.
        param: &'static str,
        /// What is wrong.
        why: String,
    },
}

/// One page of a query's answer.
#[derive(Debug)]
pub struct Page<'a> {
    /// The entries, in collection order.
    pub entries: Vec<&'a Entry>,
    /// Whether more entries match after these.
    pub more: bool,
    /// The cursor for the next page, when `more`.
    pub next: Option<String>,
}

impl Catalog {
    /// The collections of `advisories`: each its label, the time this node
    /// first held its current version (Unix ms), and its STIX bundle.
    pub fn build(advisories: impl IntoIterator<Item = (Tlp, u64, Value)>) -> Self {
        let mut by_id: BTreeMap<Tlp, BTreeMap<String, Entry>> = BTreeMap::new();
        for (tlp, added_ms, bundle) in advisories {
            let Some(Value::Array(objects)) = bundle.get("objects").cloned() else {
                continue;
            };
            let collection = by_id.entry(tlp).or_default();
            for object in objects {
                let (Some(id), Some(kind)) = (
                    object["id"].as_str().map(str::to_owned),
                    object["type"].as_str().map(str::to_owned),
                ) else {
                    continue;
                };
                let Some(version) = object["modified"]
                    .as_str()
                    .or_else(|| object["created"].as_str())
                    .map(str::to_owned)
                else {
                    continue;
                };
                let version_ms = parse_ms(&version).unwrap_or(0);
                let entry = Entry {
                    id: id.clone(),
                    kind,
                    version,
                    version_ms,
                    added_ms,
                    object,
                };
                match collection.get_mut(&id) {
                    None => {
                        collection.insert(id, entry);
                    }
                    Some(held) => {
                        // A shared object (the owner's identity, the
                        // marking): the earliest version, added when the
                        // first advisory carrying it was.
                        let added = held.added_ms.min(entry.added_ms);
                        if entry.version_ms < held.version_ms {
                            *held = entry;
                        }
                        held.added_ms = added;
                    }
                }
            }
        }
        let collections = by_id
            .into_iter()
            .map(|(tlp, entries)| {
                let mut entries: Vec<Entry> = entries.into_values().collect();
                entries.sort_by(|a, b| (a.added_ms, &a.id).cmp(&(b.added_ms, &b.id)));
                (tlp, entries)
            })
            .collect();
        Self { collections }
    }

    /// The entries of a collection, in page order (none for a label no
    /// advisory has).
    pub fn entries(&self, tlp: Tlp) -> &[Entry] {
        self.collections.get(&tlp).map_or(&[], Vec::as_slice)
    }

    /// How many objects all collections hold.
    pub fn len(&self) -> usize {
        self.collections.values().map(Vec::len).sum()
    }

    /// Whether no collection holds anything.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// One page of the collection `tlp` for `q`.
    pub fn query(&self, tlp: Tlp, q: &Query) -> Result<Page<'_>, QueryError> {
        let after = match &q.next {
            None => None,
            Some(next) => Some(parse_cursor(next)?),
        };
        let limit = q.limit.unwrap_or(MAX_PAGE).clamp(1, MAX_PAGE);
        let spec_ok = q.spec_versions.is_empty() || q.spec_versions.iter().any(|v| v == "2.1");
        let mut matching = self.entries(tlp).iter().filter(|e| {
            spec_ok
                && q.added_after.is_none_or(|t| e.added_ms > t)
                && (q.ids.is_empty() || q.ids.contains(&e.id))
                && (q.types.is_empty() || q.types.contains(&e.kind))
                && (q.versions.is_empty()
                    || q.versions.iter().any(|v| match v {
                        // One version per object: it is the first, the
                        // last and all of them.
                        VersionMatch::First | VersionMatch::Last | VersionMatch::All => true,
                        VersionMatch::At(ms) => e.version_ms == *ms,
                    }))
                && after
                    .as_ref()
                    .is_none_or(|(ms, id)| (e.added_ms, e.id.as_str()) > (*ms, id.as_str()))
        });
        let entries: Vec<&Entry> = matching.by_ref().take(limit).collect();
        let more = matching.next().is_some();
        let next = more.then(|| entries.last().map(|e| e.cursor())).flatten();
        Ok(Page {
            entries,
            more,
            next,
        })
    }
}

fn parse_cursor(next: &str) -> Result<(u64, String), QueryError> {
    let bad = || QueryError::Invalid {
        param: "next",
        why: format!("{next:?} is not a cursor this server gave"),
    };
    let (ms, id) = next.split_once('_').ok_or_else(bad)?;
    let ms = ms.parse::<u64>().map_err(|_| bad())?;
    if id.is_empty() || !id.contains("--") {
        return Err(bad());
    }
    Ok((ms, id.to_owned()))
}

/// A TAXII timestamp (RFC 3339, any fraction) as Unix milliseconds.
pub fn parse_ms(text: &str) -> Option<u64> {
    let secs = parse_rfc3339(text)?;
    let ms = text
        .get(19..)
        .and_then(|rest| rest.strip_prefix('.'))
        .map(|frac| {
            // The first three digits, padded with zeros: milliseconds.
            let digits = frac.bytes().take_while(u8::is_ascii_digit);
            digits
                .chain(std::iter::repeat(b'0'))
                .take(3)
                .fold(0u64, |n, c| n * 10 + u64::from(c - b'0'))
        })
        .unwrap_or(0);
    secs.checked_mul(1000)?.checked_add(ms)
}

/// Unix milliseconds as a TAXII timestamp, `2026-01-31T12:00:00.123Z`.
pub fn taxii_time(ms: u64) -> String {
    let (y, mo, d, h, mi, s) = civil(ms / 1000);
    format!(
        "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:03}Z",
        ms % 1000
    )
}

/// Parses a `match[version]` value.
pub fn parse_version(v: &str) -> Result<VersionMatch, QueryError> {
    match v {
        "first" => Ok(VersionMatch::First),
        "last" => Ok(VersionMatch::Last),
        "all" => Ok(VersionMatch::All),
        t => parse_ms(t)
            .map(VersionMatch::At)
            .ok_or_else(|| QueryError::Invalid {
                param: "match[version]",
                why: format!("{t:?} is not first, last, all or a timestamp"),
            }),
    }
}

#[cfg(test)]
mod tests;
