//! `export`: advisories as CSAF or STIX, the contacts directory, the MISP
//! feed, the CSAF trusted-provider directory.

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
    /// The team's advisories as a CSAF 2.0 trusted provider's directory
    /// (provider-metadata.json, per-TLP folders with signed and hashed
    /// documents, index.txt, changes.csv, ROLIE feeds, the OpenPGP key),
    /// to publish as https://<host>/.well-known/csaf/. Needs a [csaf]
    /// section in config.toml.
    CsafProvider {
        /// The folder to write: the contents of `.well-known/csaf/`
        /// (created if missing; files no longer in the tree are left
        /// alone).
        #[arg(long)]
        out: PathBuf,
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
        ExportCommand::CsafProvider { out } => csaf_provider(&api, &out),
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

/// Writes the node's CSAF provider directory into `out`.
fn csaf_provider(api: &ApiClient, out: &Path) -> Result<Report> {
    let tree: crate::api::CsafProviderExport = api.get("/export/csaf-provider")?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let mut bytes = 0;
    for (name, body) in &tree.files {
        // The paths are the node's own (folders, years, file names made by
        // CSAF's rules); refuse anything that could leave `out`.
        let safe = !name.is_empty()
            && name.split('/').all(|seg| {
                !seg.is_empty()
                    && seg != ".."
                    && seg != "."
                    && seg
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"+-_.".contains(&b))
            });
        if !safe {
            anyhow::bail!("the node named a directory file {name:?}");
        }
        let path = out.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, body).with_context(|| format!("writing {}", path.display()))?;
        // The binary's umask keeps what it writes to its user; a web
        // server must read the public folders, never amber/ and red/.
        let first = name.split('/').next().unwrap_or_default();
        if !crate::export::csaf_provider::restricted_folder(first) {
            use std::os::unix::fs::PermissionsExt as _;
            let public = |p: &Path, mode: u32| {
                std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
                    .with_context(|| format!("making {} readable", p.display()))
            };
            public(&path, 0o644)?;
            let mut dir = path.parent();
            while let Some(d) = dir.filter(|d| d.starts_with(out)) {
                public(d, 0o755)?;
                dir = d.parent();
            }
        }
        bytes += body.len();
    }
    let mut text = format!(
        "wrote a CSAF trusted-provider directory of {} documents ({} files, {bytes} bytes) to {}\n\
         publish it as {}\n\
         signed with OpenPGP key {}\n\
         for security.txt:\n{}\n",
        tree.documents.len(),
        tree.files.len(),
        out.display(),
        tree.metadata_url.trim_end_matches("provider-metadata.json"),
        tree.fingerprint,
        tree.security_txt,
    );
    for s in &tree.skipped {
        text += &format!("left out {}: {}\n", s.doc, s.why);
    }
    Ok(Report::new(
        text,
        json!({
            "written": out,
            "documents": tree.documents,
            "files": tree.files.len(),
            "bytes": bytes,
            "skipped": tree.skipped,
            "fingerprint": tree.fingerprint,
            "metadata_url": tree.metadata_url,
            "security_txt": tree.security_txt,
        }),
    ))
}
