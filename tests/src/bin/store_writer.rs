//! A process that writes through the replication core into a RocksDB store
//! and prints each change once the core acknowledged it, for the kill test.
//!
//! Usage: `trustmesh-store-writer DB COUNT`. Team key 1 founds a one-team
//! network (adopted on first run); every iteration publishes an advisory or
//! updates the tool registry (so one document grows long), and prints
//! `acked <doc> <hash>` after the call returns, which is after the synced
//! write.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use trustmesh_node::RocksStore;
use trustmesh_protocol::{
    ActorSuffix, Advisory, AdvisoryCategory, AdvisoryStatus, Charter, CharterBody, Config, Founder,
    Node, Policy, Profile, Severity, TeamKey, TeamKind, Tlp, Tool,
};

fn charter(key: &TeamKey) -> Result<Charter> {
    let profile = Profile {
        name: "Kill Test CSIRT".into(),
        short_name: "KILL".into(),
        country: "EE".into(),
        kind: TeamKind::National,
        constituency: String::new(),
        email: String::new(),
        website: String::new(),
    };
    let body = CharterBody::new(
        "kill test",
        0,
        vec![Founder {
            id: key.id(),
            profile,
        }],
        Policy {
            sponsors_required: 1,
            revocation_quorum: 1,
        },
    )?;
    let sigs = BTreeMap::from([(key.id(), body.sign(key)?)]);
    Ok(Charter::seal(body, &sigs)?)
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let db = args
        .next()
        .context("usage: trustmesh-store-writer DB COUNT")?;
    let count: u64 = args.next().context("missing COUNT")?.parse()?;
    let key = TeamKey::from_secret_bytes([1; 32]);
    let store = RocksStore::open(std::path::Path::new(&db))?;
    let charter = charter(&key)?;
    store.adopt_charter(&charter)?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis() as u64;
    // A fresh actor suffix per process, as the node uses.
    let mut suffix = [0u8; 16];
    suffix[..8].copy_from_slice(&now.to_be_bytes());
    suffix[8..12].copy_from_slice(&std::process::id().to_be_bytes());
    let (mut node, _) = Node::open(
        Config::default(),
        key,
        ActorSuffix::from_bytes(suffix),
        charter,
        store,
        now,
    )?;
    let mut out = std::io::stdout().lock();
    for i in 0..count {
        let change = if i % 2 == 0 {
            let advisory = Advisory {
                id: format!("KILL-{now}-{i}"),
                title: "Kill test".into(),
                category: AdvisoryCategory::Alert,
                tlp: Tlp::Clear,
                audience: vec![],
                co_authors: vec![],
                severity: Severity::Low,
                status: AdvisoryStatus::Final,
                revisions: vec![],
                cves: vec![],
                products: vec![],
                indicators: vec![],
                summary: "written to be killed".into(),
                body: String::new(),
                references: vec![],
                acknowledgements: vec![],
            };
            Some(node.publish_advisory(now + i, &advisory)?)
        } else {
            let tool = Tool {
                name: "collector".into(),
                version: format!("{now}.{i}"),
                description: "Collects triage data.".into(),
                homepage: String::new(),
                download_url: String::new(),
                sha256: String::new(),
                license: "MIT".into(),
                tags: vec![],
                maintainer: "KILL".into(),
            };
            node.upsert_tool(now + i, &tool)?
        };
        if let Some(c) = change {
            writeln!(out, "acked {} {}", c.doc(), c.hash())?;
            out.flush()?;
        }
    }
    Ok(())
}
