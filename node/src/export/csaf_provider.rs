//! The team's advisories as a CSAF 2.0 trusted provider's directory
//! (CSAF 2.0 section 7.1, requirements 1 to 20): the tree a web server
//! publishes under `https://<host>/.well-known/csaf/`, which the node also
//! serves itself.
//!
//! ```text
//! provider-metadata.json                 requirement 7 (and 9 at this path)
//! openpgp/<FINGERPRINT>.asc              requirement 20: the public key
//! white/                                 one folder per TLP label (CLEAR, and TLP 1.0's WHITE in 2.0)
//!   index.txt                            requirement 12
//!   changes.csv                          requirement 13
//!   csaf-feed-tlp-white.json             requirement 15: the ROLIE feed
//!   2026/cert-xx-2026-0042.json          requirements 1, 2 (section 5.1 file names) and 11
//!   2026/cert-xx-2026-0042.json.sha256   requirement 18, in sha256sum's format
//!   2026/cert-xx-2026-0042.json.sha512
//!   2026/cert-xx-2026-0042.json.asc      requirement 19: detached, armored OpenPGP signature
//! green/ ...
//! ```
//!
//! Documents are the CSAF the node exports for `export advisory --format
//! csaf` (`super::csaf::export_document`, the protocol's export), in CSAF
//! 2.0: the provider metadata schema is 2.0's, and a 2.0 consumer reading a
//! 2.0 directory expects 2.0 documents. An advisory imported as CSAF 2.1 is
//! converted to 2.0 by the same export (the protocol's `CONVERSIONS` list
//! what 2.0 has no place for); `export advisory --csaf-version 2.1` still
//! gives the 2.1 text.
//!
//! A provider distributes documents on its own behalf (section 7.2.1),
//! so the caller passes only the advisories its team owns: written here or
//! imported by it. The tree is a pure function of the advisories, their
//! arrival times, the key and the settings: `last_updated` is the newest
//! arrival and each signature is made at its document's arrival, so two
//! builds of the same state are the same bytes.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};
use sha2::Digest as _;
use trustmesh_protocol::{AdvisoryDocument, AdvisoryView, CsafVersion, DocId, Tlp, parse_rfc3339};

use super::openpgp::{CsafKey, OpenPgpError};
use super::{Author, rfc3339};

/// The path under the host the tree is published at (requirement 9).
pub const WELL_KNOWN: &str = "/.well-known/csaf";
/// The CSAF 2.0 schema a ROLIE entry names as its format.
const CSAF_20_SCHEMA: &str = "https://docs.oasis-open.org/csaf/csaf/v2.0/csaf_json_schema.json";

/// What the operator decides about the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderSettings {
    /// `https://host` (or `https://host/prefix`) under which
    /// `/.well-known/csaf/` is published, without a trailing slash.
    pub url: String,
    /// The TLP labels published (CLEAR and GREEN unless configured).
    pub tlp: Vec<Tlp>,
    /// The publisher category of `provider-metadata.json`.
    pub category: String,
    /// `list_on_CSAF_aggregators`.
    pub list_on_aggregators: bool,
    /// `mirror_on_CSAF_aggregators`.
    pub mirror_on_aggregators: bool,
}

/// The folder of a label: CSAF 2.0 writes TLP 1.0 names (CLEAR as WHITE,
/// AMBER+STRICT as AMBER).
pub fn folder(tlp: Tlp) -> &'static str {
    match tlp {
        Tlp::Clear => "white",
        Tlp::Green => "green",
        Tlp::Amber | Tlp::AmberStrict => "amber",
        Tlp::Red => "red",
    }
}

/// Whether the files under `folder` need a reader's token (requirement 5:
/// AMBER and RED are access protected, under their own path).
pub fn restricted_folder(folder: &str) -> bool {
    matches!(folder, "amber" | "red")
}

/// A document's file name by section 5.1: the tracking id in lower case,
/// every run of characters other than `a-z`, `0-9`, `+` and `-` replaced
/// by one `_`, and `.json`.
pub fn file_name(tracking_id: &str) -> String {
    let mut out = String::new();
    let mut run = false;
    for c in tracking_id.to_lowercase().chars() {
        if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '+' || c == '-' {
            out.push(c);
            run = false;
        } else if !run {
            out.push('_');
            run = true;
        }
    }
    out + ".json"
}

/// The year folder of a document (requirement 11): the year written in
/// `initial_release_date`.
fn year(initial: Option<&str>) -> Option<&str> {
    let y = initial?.get(..4)?;
    y.bytes().all(|b| b.is_ascii_digit()).then_some(y)
}

/// One document in the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// Its path under `/.well-known/csaf/`.
    pub path: String,
    /// Its document id in trustmesh.
    pub doc: String,
    /// `document.tracking.id`.
    pub tracking_id: String,
    /// Its label.
    pub tlp: Tlp,
}

/// The directory: every file by its path under `/.well-known/csaf/`.
#[derive(Debug, Clone, Default)]
pub struct Tree {
    /// The files (all text).
    pub files: BTreeMap<String, String>,
    /// The documents in it.
    pub documents: Vec<Listed>,
    /// Advisories left out, with why.
    pub skipped: Vec<(String, String)>,
    /// The public key's fingerprint.
    pub fingerprint: String,
}

/// The URL of `provider-metadata.json`: what security.txt's `CSAF:`
/// field names (requirement 8).
pub fn metadata_url(settings: &ProviderSettings) -> String {
    format!("{}{WELL_KNOWN}/provider-metadata.json", settings.url)
}

/// Why the tree could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProviderError {
    /// Signing or exporting the key failed.
    #[error(transparent)]
    OpenPgp(#[from] OpenPgpError),
}

/// An advisory the tree may hold: its document id, the advisory, when this
/// node first held its current version (Unix ms), and its owner.
pub type Advisory = (DocId, AdvisoryDocument, u64, Author);

/// A folder's row: the path below the folder, `current_release_date` as
/// seconds (to sort by) and as written, and the ROLIE entry.
type Row = (String, Option<u64>, String, Value);

/// The lines of `sha256sum`/`sha512sum`: the hex digest, two spaces, the
/// file name.
fn hash_line(hex: &str, name: &str) -> String {
    format!("{hex}  {name}\n")
}

/// The directory of `advisories` (the team's own) signed with `key`;
/// `team` is the publisher `provider-metadata.json` names.
pub fn tree(
    settings: &ProviderSettings,
    key: &CsafKey,
    team: &Author,
    advisories: &[Advisory],
) -> Result<Tree, ProviderError> {
    let base = format!("{}{WELL_KNOWN}", settings.url);
    let mut t = Tree {
        fingerprint: key.fingerprint(),
        ..Tree::default()
    };
    let key_path = format!("openpgp/{}.asc", t.fingerprint);
    t.files.insert(key_path.clone(), key.public_armored()?);
    // Each folder's rows.
    let mut folders: BTreeMap<&'static str, Vec<Row>> = settings
        .tlp
        .iter()
        .map(|t| (folder(*t), Vec::new()))
        .collect();
    let mut taken = BTreeSet::new();
    let mut newest = key.created() * 1000;
    let mut sorted: Vec<&Advisory> = advisories.iter().collect();
    sorted.sort_by_key(|(doc, ..)| *doc);
    for (doc, d, arrival, author) in sorted {
        let tlp = d.envelope.tlp;
        let skip = |t: &mut Tree, why: &str| t.skipped.push((doc.to_string(), why.to_owned()));
        if !settings.tlp.contains(&tlp) {
            continue;
        }
        let csaf = super::csaf::export_document(d, author, CsafVersion::V2_0);
        let view = AdvisoryView::of(&csaf);
        let tracking = &view.tracking;
        if tracking.id.trim().is_empty() {
            skip(&mut t, "no document.tracking.id");
            continue;
        }
        let Some(y) = year(tracking.initial_release_date.as_deref()) else {
            skip(&mut t, "no initial_release_date to file it under a year");
            continue;
        };
        let name = file_name(&tracking.id);
        let dir = folder(tlp);
        let rel = format!("{y}/{name}");
        let path = format!("{dir}/{rel}");
        if !taken.insert(path.clone()) {
            skip(
                &mut t,
                &format!("{path} is taken by another advisory with that tracking id"),
            );
            continue;
        }
        let text = csaf.to_json_pretty();
        let bytes = text.as_bytes();
        let sha256 = hex::encode(sha2::Sha256::digest(bytes));
        let sha512 = hex::encode(sha2::Sha512::digest(bytes));
        let asc = key.sign(bytes, arrival / 1000)?;
        newest = newest.max(*arrival);
        t.files
            .insert(format!("{path}.sha256"), hash_line(&sha256, &name));
        t.files
            .insert(format!("{path}.sha512"), hash_line(&sha512, &name));
        t.files.insert(format!("{path}.asc"), asc);
        t.files.insert(path.clone(), text);
        let current = tracking.current_release_date.clone().unwrap_or_default();
        let url = format!("{base}/{path}");
        let mut entry = json!({
            "id": tracking.id,
            "title": view.title,
            "link": [
                { "rel": "self", "href": url },
                { "rel": "hash", "href": format!("{url}.sha256") },
                { "rel": "hash", "href": format!("{url}.sha512") },
                { "rel": "signature", "href": format!("{url}.asc") },
            ],
            "published": tracking.initial_release_date,
            "updated": current,
            "content": { "type": "application/json", "src": url },
            "format": { "schema": CSAF_20_SCHEMA, "version": "2.0" },
        });
        let summary = view.notes_of("summary");
        if !summary.trim().is_empty() {
            entry["summary"] = json!({ "content": summary });
        }
        t.documents.push(Listed {
            path: path.clone(),
            doc: doc.to_string(),
            tracking_id: tracking.id.clone(),
            tlp,
        });
        if let Some(rows) = folders.get_mut(dir) {
            rows.push((rel, parse_rfc3339(&current), current, entry));
        }
    }
    let updated = rfc3339(newest / 1000);
    let mut feeds = Vec::new();
    let mut distributions = Vec::new();
    for (dir, mut rows) in folders {
        // Newest first (requirement 13), then by path, so the order is
        // the same on every build.
        rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let index: String = rows.iter().map(|(p, ..)| format!("{p}\n")).collect();
        let changes: String = rows
            .iter()
            .map(|(p, _, date, _)| format!("\"{p}\",\"{date}\"\n"))
            .collect();
        let label = dir.to_ascii_uppercase();
        let feed_name = format!("csaf-feed-tlp-{dir}.json");
        let feed_url = format!("{base}/{dir}/{feed_name}");
        let feed = json!({
            "feed": {
                "id": format!("{}-csaf-feed-tlp-{dir}", team.team.short()),
                "title": format!("{} CSAF feed (TLP:{label})", team.display_name()),
                "link": [{ "rel": "self", "href": feed_url }],
                "category": [{
                    "scheme": "urn:ietf:params:rolie:category:information-type",
                    "term": "csaf",
                }],
                "updated": updated,
                "entry": rows.into_iter().map(|(.., e)| e).collect::<Vec<_>>(),
            }
        });
        t.files.insert(format!("{dir}/index.txt"), index);
        t.files.insert(format!("{dir}/changes.csv"), changes);
        t.files.insert(format!("{dir}/{feed_name}"), pretty(&feed));
        distributions.push(json!({ "directory_url": format!("{base}/{dir}/") }));
        feeds.push(json!({
            "summary": format!("All TLP:{label} advisories of {}.", team.display_name()),
            "tlp_label": label,
            "url": feed_url,
        }));
    }
    distributions.push(json!({ "rolie": { "feeds": feeds } }));
    let publisher = super::csaf::publisher(team);
    let mut publisher_json = json!({
        "category": settings.category,
        "name": publisher.name,
        "namespace": publisher.namespace,
    });
    if let Some(c) = publisher.contact_details {
        publisher_json["contact_details"] = json!(c);
    }
    let metadata = json!({
        "canonical_url": metadata_url(settings),
        "distributions": distributions,
        "last_updated": updated,
        "list_on_CSAF_aggregators": settings.list_on_aggregators,
        "metadata_version": "2.0",
        "mirror_on_CSAF_aggregators": settings.mirror_on_aggregators,
        "public_openpgp_keys": [{
            "fingerprint": t.fingerprint,
            "url": format!("{base}/{key_path}"),
        }],
        "publisher": publisher_json,
        "role": "csaf_trusted_provider",
    });
    t.files
        .insert("provider-metadata.json".into(), pretty(&metadata));
    Ok(t)
}

fn pretty(v: &Value) -> String {
    // A Value always serializes.
    serde_json::to_string_pretty(v).unwrap_or_default() + "\n"
}

/// The names directly under `dir` ("" for the top), for a directory
/// listing (requirement 14): files, and folders with a trailing `/`.
pub fn listing<'a>(files: impl Iterator<Item = &'a String>, dir: &str) -> Vec<String> {
    let prefix = if dir.is_empty() {
        String::new()
    } else {
        format!("{}/", dir.trim_end_matches('/'))
    };
    let mut names = BTreeSet::new();
    for f in files {
        if let Some(rest) = f.strip_prefix(&prefix) {
            match rest.split_once('/') {
                Some((d, _)) => names.insert(format!("{d}/")),
                None => names.insert(rest.to_owned()),
            };
        }
    }
    names.into_iter().collect()
}

#[cfg(test)]
mod tests;
