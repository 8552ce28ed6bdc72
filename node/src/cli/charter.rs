//! `charter draft|sign|seal`: founding a network.

use std::path::PathBuf;

use anyhow::Result;
use clap::Subcommand;
use serde_json::json;
use trustmesh_bootstrap::{CharterDraftFile, TrustFile};
use trustmesh_protocol::Policy;

use super::files::{expect_kind, read_draft, read_file, write_file};
use super::{Report, now};
use crate::datadir::DataDir;

#[derive(Debug, Subcommand)]
pub(super) enum CharterCommand {
    /// Draft a charter from the founders' cards.
    Draft {
        /// The network's name.
        #[arg(long)]
        name: String,
        /// A founder's card file (repeat for each founder).
        #[arg(long = "founder", required = true)]
        founders: Vec<PathBuf>,
        /// k: introductions from distinct members needed to join.
        #[arg(long, default_value_t = 2)]
        sponsors_required: u16,
        /// r: revocations from distinct members needed to revoke (default: k).
        #[arg(long)]
        revocation_quorum: Option<u16>,
        /// Where to write the draft.
        #[arg(long)]
        out: PathBuf,
    },
    /// Add this team's signature to a draft (as a founder).
    Sign {
        /// The draft file.
        draft: PathBuf,
        /// Write the signed draft here instead of updating the file in place.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Seal a draft every founder has signed.
    Seal {
        /// The draft file.
        draft: PathBuf,
        /// Where to write the sealed charter.
        #[arg(long)]
        out: PathBuf,
    },
}

pub(super) fn charter(dir: &DataDir, cmd: CharterCommand) -> Result<Report> {
    match cmd {
        CharterCommand::Draft {
            name,
            founders,
            sponsors_required,
            revocation_quorum,
            out,
        } => {
            let cards = founders
                .iter()
                .map(|p| {
                    expect_kind(
                        p,
                        read_file(p)?,
                        |f| match f {
                            TrustFile::Card(c) => Some(c),
                            _ => None,
                        },
                        "team card",
                    )
                })
                .collect::<Result<Vec<_>>>()?;
            let policy = Policy {
                sponsors_required,
                revocation_quorum: revocation_quorum.unwrap_or(sponsors_required),
            };
            let draft =
                TrustFile::CharterDraft(CharterDraftFile::new(&name, now(), &cards, policy)?);
            write_file(&out, &draft)?;
            Ok(Report::new(
                format!("wrote {}\n{}", out.display(), draft.describe()),
                json!({ "written": out, "draft": draft }),
            ))
        }
        CharterCommand::Sign { draft, out } => {
            let mut d = read_draft(&draft)?;
            let key = dir.key()?;
            d.sign(&key)?;
            let missing = d.missing();
            let file = TrustFile::CharterDraft(d);
            let out = out.unwrap_or(draft);
            write_file(&out, &file)?;
            let next = if missing.is_empty() {
                "every founder has signed: seal it with `trustmesh charter seal`".to_owned()
            } else {
                format!("{} founder(s) still to sign", missing.len())
            };
            Ok(Report::new(
                format!(
                    "signed as {} and wrote {}\n{}{next}\n",
                    key.id().short(),
                    out.display(),
                    file.describe()
                ),
                json!({ "written": out, "signer": key.id(), "missing": missing }),
            ))
        }
        CharterCommand::Seal { draft, out } => {
            let d = read_draft(&draft)?;
            let file = TrustFile::Charter(d.seal()?);
            write_file(&out, &file)?;
            Ok(Report::new(
                format!("sealed; wrote {}\n{}", out.display(), file.describe()),
                json!({ "written": out, "charter": file }),
            ))
        }
    }
}
