//! A process that writes through the replication core into a RocksDB store
//! and prints each change once the core acknowledged it, for the kill test.
//!
//! Usage: `trustmesh-store-writer DB COUNT [publish|sync]`. Team key 1
//! founds a one-team network (adopted on first run); every iteration makes
//! an advisory or a tool registry update (so one document grows long) and
//! prints `acked <doc> <hash>` once the stored core returned, which is after
//! the synced write. `publish` (the default) makes the change in the stored
//! core, as a local edit; `sync` makes it in another core of the team in
//! memory and hands it to the stored core as a peer's `Changes` message, the
//! path a sync or gossip delivery takes.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use trustmesh_node::RocksStore;
use trustmesh_protocol::{
    ActorSuffix, Advisory, AdvisoryCategory, AdvisoryStatus, Charter, CharterBody, Config, Founder,
    MemStore, Message, Node, Policy, Profile, Severity, SignedChange, Store, TeamKey, TeamKind,
    Tlp, Tool, Verdict,
};

/// Documents the stored core holds materialized (the kill test reopens
/// with the same).
const CACHED_DOCUMENTS: usize = 4;

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

/// Change `i`: an advisory on even steps, a registry update on odd ones.
fn make<S: Store>(node: &mut Node<S>, now: u64, i: u64) -> Result<Option<SignedChange>>
where
    S::Error: Send + Sync + 'static,
{
    if i.is_multiple_of(2) {
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
        Ok(Some(node.publish_advisory(now + i, &advisory)?))
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
        Ok(node.upsert_tool(now + i, &tool)?)
    }
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: trustmesh-store-writer DB COUNT [publish|sync]";
    let db = args.next().context(usage)?;
    let count: u64 = args.next().context(usage)?.parse()?;
    let sync = match args.next().as_deref() {
        None | Some("publish") => false,
        Some("sync") => true,
        Some(other) => bail!("unknown mode {other:?}; {usage}"),
    };
    let key = TeamKey::from_secret_bytes([1; 32]);
    let store = RocksStore::open(std::path::Path::new(&db))?;
    let charter = charter(&key)?;
    store.adopt_charter(&charter)?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis() as u64;
    // A fresh actor suffix per process, as the node uses.
    let mut suffix = [0u8; 16];
    suffix[..8].copy_from_slice(&now.to_be_bytes());
    suffix[8..12].copy_from_slice(&std::process::id().to_be_bytes());
    // A small cache: most documents are cold (their changes in RocksDB
    // alone) when the kill lands, and the next start restores them so.
    let (mut node, _) = Node::open(
        Config::default().with_cached_documents(CACHED_DOCUMENTS),
        key.clone(),
        ActorSuffix::from_bytes(suffix),
        charter.clone(),
        store,
        now,
    )?;
    // In sync mode the changes come from another node of the team, in
    // memory, and reach the stored core as a peer's message does.
    suffix[12] = 1;
    let (mut peer, _) = Node::open(
        Config::default(),
        key.clone(),
        ActorSuffix::from_bytes(suffix),
        charter,
        MemStore::default(),
        now,
    )?;
    let mut out = std::io::stdout().lock();
    for i in 0..count {
        let change = if sync {
            let Some(c) = make(&mut peer, now, i)? else {
                continue;
            };
            match node.handle_message(now + i, key.id(), Message::Changes(vec![c.clone()])) {
                Verdict::Accept => Some(c),
                other => bail!("the stored core did not take the change: {other:?}"),
            }
        } else {
            make(&mut node, now, i)?
        };
        if let Some(c) = change {
            writeln!(out, "acked {} {}", c.doc(), c.hash())?;
            out.flush()?;
        }
    }
    Ok(())
}
