//! `export`: advisories as CSAF or STIX, the contacts directory, the MISP
//! feed.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Subcommand;
use serde::Deserialize;
use serde_json::{Value, json};

use super::Report;
use super::advisory::split_target;
use super::client::ApiClient;
use crate::DataDir;
use crate::api::{OriginalDocument, segment};

/// `trustmesh export ...`
#[derive(Debug, Subcommand)]
pub(super) enum ExportCommand {
    /// An advisory (OWNER/ID) as CSAF 2.0 or 2.1, or its CVEs and
    /// indicators as a STIX 2.1 bundle; for a forwarded one, also the
    /// publisher's original bytes or signature.
    Advisory {
        /// OWNER/ID: the owner team (id, prefix or short name) and the advisory id.
        target: String,
        /// csaf, stix, original (the publisher's bytes, exactly) or
        /// signature (the publisher's `.asc`).
        #[arg(long, value_enum)]
        format: ExportFormat,
        /// The CSAF version: 2.0 or 2.1.
        #[arg(long, default_value = "2.0", value_parser = ["2.0", "2.1"])]
        csaf_version: String,
        /// Write the document to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// The advisories as a MISP feed: manifest.json, one <uuid>.json per
    /// event and hashes.csv, written into a folder a MISP can pull.
    MispFeed {
        /// The folder to write (created if missing; files of events no
        /// longer in the feed are left alone).
        #[arg(long)]
        out: PathBuf,
        /// The TLP labels to include, comma-separated.
        #[arg(long, default_value = "clear,green")]
        tlp: String,
    },
    /// The contacts directory as JSON, with every RFC 2350 field.
    Contacts {
        /// Write the document to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// What `export advisory` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(super) enum ExportFormat {
    /// A CSAF document (2.0 or 2.1, `--csaf-version`).
    Csaf,
    /// A STIX 2.1 bundle of the CVEs and indicators.
    Stix,
    /// The publisher's document, byte for byte, as forwarded.
    Original,
    /// The publisher's detached OpenPGP signature over the original.
    Signature,
}

/// Writes `text` exactly (no reformatting) to `out`, or to standard output.
fn exported_text(text: String, out: Option<&Path>, what: &str, meta: Value) -> Result<Report> {
    let Some(out) = out else {
        return Ok(Report::new(text, meta));
    };
    std::fs::write(out, text.as_bytes()).with_context(|| format!("writing {}", out.display()))?;
    Ok(Report::new(
        format!("wrote {what} to {}\n", out.display()),
        json!({ "written": out, "what": what, "document": meta }),
    ))
}

/// Writes an exported document to `out`, or reports it for standard output.
pub(super) fn exported(doc: Value, out: Option<&Path>, what: &str) -> Result<Report> {
    let Some(out) = out else {
        return Ok(Report::new(format!("{doc:#}\n"), doc));
    };
    std::fs::write(out, format!("{doc:#}\n"))
        .with_context(|| format!("writing {}", out.display()))?;
    Ok(Report::new(
        format!("wrote {what} to {}\n", out.display()),
        json!({ "written": out, "what": what }),
    ))
}

/// A forwarded advisory's original bytes or its publisher's signature,
/// written exactly as kept.
fn original(
    api: &ApiClient,
    owner: &str,
    id: &str,
    format: ExportFormat,
    out: Option<&Path>,
) -> Result<Report> {
    let o: OriginalDocument = api.get(&format!(
        "/advisories/{}/{}/original",
        segment(owner),
        segment(id)
    ))?;
    let meta = json!({ "sha256": o.sha256, "sha512": o.sha512 });
    if format == ExportFormat::Signature {
        let asc = o.signature.ok_or_else(|| {
            anyhow::anyhow!("{id} was forwarded without its publisher's signature")
        })?;
        let what = format!("the publisher's signature of {id}");
        return exported_text(asc, out, &what, meta);
    }
    let what = format!("the publisher's original of {id}");
    exported_text(o.text, out, &what, meta)
}

pub(super) fn export(dir: &DataDir, cmd: ExportCommand) -> Result<Report> {
    let api = ApiClient::require(dir)?;
    match cmd {
        ExportCommand::Advisory {
            target,
            format,
            csaf_version,
            out,
        } => {
            let (owner, id) = split_target(&target)?;
            let (route, what) = match format {
                ExportFormat::Csaf => (
                    format!("csaf?version={csaf_version}"),
                    format!("the CSAF {csaf_version} document of {id}"),
                ),
                ExportFormat::Stix => ("stix".to_owned(), format!("the STIX 2.1 bundle of {id}")),
                ExportFormat::Original | ExportFormat::Signature => {
                    return original(&api, owner, id, format, out.as_deref());
                }
            };
            let doc: Value = api.get(&format!(
                "/advisories/{}/{}/{route}",
                segment(owner),
                segment(id)
            ))?;
            exported(doc, out.as_deref(), &what)
        }
        ExportCommand::MispFeed { out, tlp } => {
            /// The route's answer.
            #[derive(serde::Deserialize)]
            struct Files {
                files: std::collections::BTreeMap<String, String>,
            }
            let feed: Files = api.get(&format!("/export/misp-feed?tlp={}", segment(&tlp)))?;
            std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
            let mut bytes = 0;
            for (name, body) in &feed.files {
                // The names are the node's own (UUIDs and two fixed names);
                // refuse anything else rather than write outside `out`.
                if name.contains('/') || name.starts_with('.') {
                    anyhow::bail!("the node named a feed file {name:?}");
                }
                let path = out.join(name);
                std::fs::write(&path, body)
                    .with_context(|| format!("writing {}", path.display()))?;
                bytes += body.len();
            }
            let events = feed.files.len().saturating_sub(2);
            Ok(Report::new(
                format!(
                    "wrote a MISP feed of {events} events ({bytes} bytes) to {}\n",
                    out.display()
                ),
                json!({ "written": out, "events": events, "bytes": bytes }),
            ))
        }
        ExportCommand::Contacts { out } => {
            let doc: Value = api.get("/contacts/export")?;
            /// Just the entries' count of the export.
            #[derive(serde::Deserialize)]
            struct Count {
                contacts: Vec<serde::de::IgnoredAny>,
            }
            let n = Count::deserialize(&doc).map_or(0, |c| c.contacts.len());
            exported(doc, out.as_deref(), &format!("{n} contact entries"))
        }
    }
}
