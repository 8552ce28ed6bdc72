//! Tests of the advisory document: JSON, the tree in Automerge, import,
//! export, revisions, severity, limits, and the corpus of real documents.

use std::path::PathBuf;

use super::*;
use crate::document::fixtures::{net, suffix};
use crate::fixtures::key;
use crate::{DocId, Documents, Membership, StatementSet, TeamKey};

mod corpus;
mod generated;
mod json;
mod large;
mod revisions;
mod units;

pub(super) fn replica(set: &StatementSet) -> Documents {
    Documents::new(set.network_id(), &set.membership())
}

/// Delivers every change of `from` to `to`.
pub(super) fn sync(from: &Documents, to: &mut Documents, m: &Membership) {
    for (id, _) in from.docs() {
        for c in from.changes_since(id, &to.stored_heads(id)) {
            to.insert(c, m).expect("verified change");
        }
    }
}

/// The shared corpus of real CSAF documents (`../shared/corpus/csaf` from
/// the workspace root, as CI lays it out beside the checkout), or `None`
/// with the reason printed.
pub(super) fn corpus_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("TRUSTMESH_CSAF_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/csaf")
        });
    if dir.is_dir() {
        Some(dir)
    } else {
        println!(
            "skipped: the CSAF corpus is not at {} (set TRUSTMESH_CSAF_CORPUS)",
            dir.display()
        );
        None
    }
}

/// Every corpus file, sorted.
pub(super) fn corpus_files() -> Option<Vec<PathBuf>> {
    let dir = corpus_dir()?;
    let mut files = Vec::new();
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("readable corpus folder") {
            let p = entry.expect("readable entry").path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "json") {
                files.push(p);
            }
        }
    }
    files.sort();
    Some(files)
}

/// The JSON pointers where two trees differ, compared with serde_json (an
/// independent parser): objects by key, arrays by position, numbers as
/// serde_json reads them (so an integer is never equal to a float).
pub(super) fn differences(a: &serde_json::Value, b: &serde_json::Value) -> Vec<String> {
    use serde_json::Value as V;
    let mut out = Vec::new();
    let mut stack = vec![(String::new(), a, b)];
    while let Some((at, a, b)) = stack.pop() {
        match (a, b) {
            (V::Object(x), V::Object(y)) => {
                for (k, v) in x {
                    let p = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                    match y.get(k) {
                        Some(w) => stack.push((p, v, w)),
                        None => out.push(p),
                    }
                }
                for k in y.keys().filter(|k| !x.contains_key(*k)) {
                    out.push(format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")));
                }
            }
            (V::Array(x), V::Array(y)) if x.len() == y.len() => {
                for (i, (v, w)) in x.iter().zip(y).enumerate() {
                    stack.push((format!("{at}/{i}"), v, w));
                }
            }
            (a, b) if a == b => {}
            _ => out.push(at),
        }
    }
    out.sort();
    out
}

/// Whether a difference at `path` is one [`EXPORT_SETS`] lists.
pub(super) fn allowed(path: &str) -> bool {
    EXPORT_SETS.iter().any(|r| {
        path == r.path
            || path.starts_with(&format!("{}/", r.path))
            || r.path.starts_with(&format!("{path}/"))
    })
}

pub(super) fn serde(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).expect("valid JSON")
}

pub(super) fn owner() -> TeamKey {
    key(1)
}

pub(super) fn random(n: u8) -> [u8; 16] {
    [n; 16]
}

/// Imports `json` as team 1 into a fresh replica of `set`.
pub(super) fn import_into(
    docs: &mut Documents,
    json: &[u8],
    tlp: Option<Tlp>,
) -> Result<crate::Imported, crate::EditError> {
    let mut import = CsafImport::new(json, random(7));
    import.tlp = tlp;
    docs.import_csaf(&owner(), suffix(1), 1_700_000_000, &import)
}

pub(super) fn held(docs: &Documents, doc: &DocId) -> AdvisoryDocument {
    docs.get::<AdvisoryDocument>(doc)
        .expect("readable")
        .expect("held")
}

#[allow(dead_code)]
pub(super) fn network() -> StatementSet {
    net()
}
