//! `contact`: the contacts directory.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};
use trustmesh_protocol::{Contact, TeamKind};

use super::Report;
use super::client::ApiClient;
use super::files::read_json;
use crate::DataDir;
use crate::api::segment;
use crate::api::{Changed, ContactDetail, Contacts, Status};

/// `trustmesh contact ...`
#[derive(Debug, Subcommand)]
pub(super) enum ContactCommand {
    /// Set this team's entry in the contacts directory (fields not given keep their value).
    Set(Box<ContactArgs>),
    /// List every team's entry.
    List,
    /// Show one team's entry.
    Show {
        /// The team (id, prefix or short name).
        team: String,
    },
}

/// Fields of a contact entry (RFC 2350).
#[derive(Debug, Args)]
pub(super) struct ContactArgs {
    /// The whole entry as JSON (`-` for standard input); flags override its fields.
    #[arg(long)]
    file: Option<PathBuf>,
    #[arg(long)]
    name: Option<String>,
    #[arg(long)]
    short_name: Option<String>,
    #[arg(long)]
    country: Option<String>,
    #[arg(long)]
    kind: Option<TeamKind>,
    #[arg(long)]
    constituency: Option<String>,
    #[arg(long)]
    postal_address: Option<String>,
    #[arg(long)]
    time_zone: Option<String>,
    #[arg(long)]
    business_hours: Option<String>,
    #[arg(long)]
    email: Option<String>,
    #[arg(long)]
    phone: Option<String>,
    #[arg(long)]
    emergency_phone: Option<String>,
    #[arg(long)]
    website: Option<String>,
}

pub(super) fn contact(dir: &DataDir, cmd: ContactCommand) -> Result<Report> {
    let api = ApiClient::require(dir)?;
    match cmd {
        ContactCommand::Set(args) => {
            let me = api.get::<Status>("/status")?.team_id;
            let mut c: Contact = match &args.file {
                Some(f) => read_json(f)?,
                None => match api.get::<ContactDetail>(&format!("/contacts/{me}")) {
                    Ok(v) => v.contact,
                    Err(_) => {
                        let profile = dir.profile()?;
                        Contact {
                            name: profile.name,
                            short_name: profile.short_name,
                            country: profile.country,
                            kind: profile.kind,
                            constituency: profile.constituency,
                            postal_address: String::new(),
                            time_zone: String::new(),
                            business_hours: String::new(),
                            email: profile.email,
                            phone: String::new(),
                            emergency_phone: String::new(),
                            website: profile.website,
                            pgp_keys: vec![],
                            representatives: vec![],
                        }
                    }
                },
            };
            macro_rules! set {
                ($($f:ident),*) => { $( if let Some(v) = &args.$f { c.$f = v.clone(); } )* };
            }
            set!(
                name,
                short_name,
                country,
                constituency,
                postal_address,
                time_zone,
                business_hours,
                email,
                phone,
                emergency_phone,
                website
            );
            if let Some(k) = args.kind {
                c.kind = k;
            }
            let r: Changed = api.put("/contacts", &c)?;
            let what = if r.changed { "updated" } else { "unchanged:" };
            // Named by what the node shows: the admitted profile's names.
            let shown: ContactDetail = api.get(&format!("/contacts/{me}"))?;
            let mut human = format!(
                "{what} the contact entry of {} ({})\n",
                shown.contact.short_name,
                me.short()
            );
            if (&c.name, &c.short_name, &c.country)
                != (
                    &shown.contact.name,
                    &shown.contact.short_name,
                    &shown.contact.country,
                )
            {
                human += "note: the name, short name and country others see are those the network admitted your team with; the entry's own are not shown\n";
            }
            Report::of(human, &r)
        }
        ContactCommand::List => {
            let r: Contacts = api.get("/contacts")?;
            let mut human = String::new();
            for c in &r.contacts {
                let x = &c.contact;
                human += &format!(
                    "{:<12} {:<3} {:<32} {:<28} {}\n",
                    x.short_name, x.country, x.email, x.phone, x.emergency_phone
                );
            }
            Report::of(human, &r)
        }
        ContactCommand::Show { team } => {
            let r: ContactDetail = api.get(&format!("/contacts/{}", segment(&team)))?;
            let human = format!("{}\n", serde_json::to_string_pretty(&r.contact)?);
            Report::of(human, &r)
        }
    }
}
