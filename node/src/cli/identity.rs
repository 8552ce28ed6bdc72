//! `init` and `card`: a team's key, profile and contact card.

use std::path::Path;

use anyhow::Result;
use clap::Args;
use serde_json::json;
use trustmesh_bootstrap::{CardFile, TrustFile};
use trustmesh_protocol::{Profile, TeamKind};

use super::Report;
use super::files::write_file;
use crate::datadir::DataDir;

#[derive(Debug, Args)]
pub(super) struct ProfileArgs {
    /// The team's full name.
    #[arg(long)]
    name: String,
    /// Its short name, such as CERT-XY.
    #[arg(long)]
    short_name: String,
    /// ISO 3166-1 alpha-2 country code.
    #[arg(long)]
    country: String,
    /// national, governmental, sector, academic, commercial, product or other.
    #[arg(long, default_value = "national")]
    kind: TeamKind,
    /// Whom the team serves.
    #[arg(long, default_value = "")]
    constituency: String,
    /// The team's e-mail address.
    #[arg(long, default_value = "")]
    email: String,
    /// The team's web site.
    #[arg(long, default_value = "")]
    website: String,
}

pub(super) fn init(dir: &DataDir, p: ProfileArgs) -> Result<Report> {
    let profile = Profile {
        name: p.name,
        short_name: p.short_name,
        country: p.country.to_ascii_uppercase(),
        kind: p.kind,
        constituency: p.constituency,
        email: p.email,
        website: p.website,
    };
    let key = dir.init(&profile)?;
    let id = key.id();
    Ok(Report::new(
        format!(
            "created the team key of {} in {}\n  team id  {id}\n  peer id  {}\n",
            profile.short_name,
            dir.path().display(),
            id.peer_id()
        ),
        json!({ "team_id": id, "peer_id": id.peer_id(), "data_dir": dir.path() }),
    ))
}

pub(super) fn card(dir: &DataDir, out: Option<&Path>) -> Result<Report> {
    let file = TrustFile::Card(CardFile::new(&dir.key()?, dir.profile()?));
    match out {
        Some(path) => {
            write_file(path, &file)?;
            Ok(Report::new(
                format!("wrote {}\n{}", path.display(), file.describe()),
                json!({ "written": path, "card": file }),
            ))
        }
        None => Ok(Report::new(file.to_json(), serde_json::to_value(&file)?)),
    }
}
