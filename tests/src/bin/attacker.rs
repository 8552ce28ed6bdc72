//! A member gone bad, for the Byzantine suite (`tests/it/byzantine.rs`).
//!
//! Usage: `trustmesh-attacker DATA_DIR TARGET ATTACK [ARG]`
//!
//! Loads the member's key and statements from `DATA_DIR` (a node that is
//! not running), connects to `TARGET` (a multiaddr ending in `/p2p/<id>`)
//! over the real transport (TCP, Noise, Yamux) and speaks the real sync
//! protocol, sending what `ATTACK` names. It prints one JSON line: what was
//! sent, how the target answered, and which documents reached it.
//!
//! | attack | sends |
//! |---|---|
//! | `forged-signature` | a change whose signature was altered |
//! | `other-network` | a statement signed for another network |
//! | `replay` | every statement the target already has |
//! | `stranger-change` | a validly signed change by a key that is not a member |
//! | `not-owner` | a change to the target's own contacts entry |
//! | `revoked-author DIR` | a change signed by the revoked team whose data directory is `DIR` |
//! | `malformed-automerge` | a change whose Automerge bytes were altered |
//! | `oversized BYTES` | one request of `BYTES` bytes |
//! | `flood COUNT` | `COUNT` requests as fast as the connection takes them |
//! | `restricted` | nothing bad: it runs anti-entropy like a node and reports what it received |
//! | `load RATE SECS` | valid changes, `RATE` a second for `SECS` seconds, in batches; it runs anti-entropy like a node, prints its report once the load is answered and serves on until killed |

use std::collections::BTreeSet;
use std::io::Write;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, AutoCommit, ROOT};
use futures::StreamExt;
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{Multiaddr, PeerId, StreamProtocol, identity, noise, tcp, yamux};
use serde_json::json;
use trustmesh_node::DataDir;
use trustmesh_node::net::{SYNC_PROTOCOL, SyncRequest, SyncResponse, peer_id, team_of};
use trustmesh_protocol::{
    ActorSuffix, Advisory, AdvisoryCategory, AdvisoryStatus, Application, Config, DocKind, DocRef,
    MemStore, Message, NetworkId, Node, Profile, Severity, SignedChange, SignedStatement,
    Statement, Store, TeamKey, TeamKind, Tlp,
};

#[derive(NetworkBehaviour)]
struct Behaviour {
    sync: request_response::cbor::Behaviour<SyncRequest, SyncResponse>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A change to `doc` signed by `key`, written by hand (no membership or
/// ownership checks on this side).
fn craft(network: NetworkId, doc: DocRef, key: &TeamKey, value: &str) -> Result<SignedChange> {
    let mut actor = key.id().as_bytes().to_vec();
    actor.extend_from_slice(&[0xee; 16]);
    let mut d = AutoCommit::new().with_actor(ActorId::from(actor));
    d.put(ROOT, "name", value)?;
    let hash = d
        .commit_with(
            CommitOptions::default()
                .with_message(doc.id().to_string())
                .with_time(1),
        )
        .context("nothing committed")?;
    let change = d.get_change_by_hash(&hash).context("change missing")?;
    Ok(SignedChange::sign(network, doc, key, change.raw_bytes())?)
}

fn advisory(id: &str) -> Advisory {
    Advisory {
        id: id.into(),
        title: "Attacker's advisory".into(),
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
        summary: String::new(),
        body: String::new(),
        references: vec![],
        acknowledgements: vec![],
    }
}

/// The member's core over a memory copy of its statements: what it writes
/// to make payloads stays out of its data directory.
fn open_core(dir: &DataDir) -> Result<Node<MemStore>> {
    let key = dir.key()?;
    let store = dir.store()?;
    let charter = store
        .charter()?
        .context("the data directory has no charter")?;
    let mut mem = MemStore::default();
    mem.put_statements(&store.load()?.statements)?;
    let mut suffix = [0u8; 16];
    suffix[..8].copy_from_slice(&now_ms().to_be_bytes());
    let config = Config::default().with_sync_interval(500);
    let (node, _) = Node::open(
        config,
        key,
        ActorSuffix::from_bytes(suffix),
        charter,
        mem,
        now_ms(),
    )?;
    Ok(node)
}

/// `n` valid changes by this member, made before any is sent so the
/// sending pace does not depend on how fast they are made: a new advisory
/// every tenth change, and updates to the advisories already published
/// (each advisory gets about ten revisions).
fn valid_changes(core: &mut Node<MemStore>, n: usize) -> Result<Vec<SignedChange>> {
    let mut out = Vec::with_capacity(n);
    let owner = core.team();
    for i in 0..n {
        if i % 10 == 0 {
            out.push(
                core.publish_advisory(now_ms(), &advisory(&format!("LOAD-2026-{:06}", i / 10)))?,
            );
        } else {
            let mut a = advisory(&format!("LOAD-2026-{:06}", i / 10));
            a.title = format!("Revision {i}");
            out.extend(core.update_advisory(now_ms(), owner, &a)?);
        }
    }
    Ok(out)
}

/// What to send, as requests on the sync protocol.
fn payloads(
    attack: &str,
    arg: Option<&str>,
    me: &TeamKey,
    core: &mut Node<MemStore>,
    target: &PeerId,
) -> Result<Vec<SyncRequest>> {
    let network = core.statements().network_id();
    let key_bytes = |n: u8| TeamKey::from_secret_bytes([n; 32]);
    let one = |m: Message| Ok(vec![SyncRequest::Core(m.encode())]);
    match attack {
        "forged-signature" => {
            let c = core.publish_advisory(now_ms(), &advisory("EVIL-2026-0001"))?;
            let mut bytes = c.encode();
            let last = bytes.len() - 1;
            bytes[last] ^= 1;
            one(Message::Changes(vec![SignedChange::decode(&bytes)?]))
        }
        "other-network" => {
            let stranger = key_bytes(0x51);
            let st = SignedStatement::sign(
                Statement::Application(Application {
                    network: NetworkId::from_bytes([0x42; 32]),
                    applicant: stranger.id(),
                    created_at: 1,
                    profile: Profile {
                        name: "Elsewhere CSIRT".into(),
                        short_name: "ELSE".into(),
                        country: "ZZ".into(),
                        kind: TeamKind::National,
                        constituency: String::new(),
                        email: String::new(),
                        website: String::new(),
                    },
                }),
                &stranger,
            )?;
            one(Message::Statements(vec![st]))
        }
        "replay" => one(Message::Statements(
            core.statements().iter().cloned().collect(),
        )),
        "stranger-change" => {
            let stranger = key_bytes(0x52);
            let doc = DocRef::new(DocKind::Contacts, stranger.id(), "")?;
            one(Message::Changes(vec![craft(
                network, doc, &stranger, "spam",
            )?]))
        }
        "not-owner" => {
            let owner = team_of(target).context("the target is not an ed25519 peer")?;
            let doc = DocRef::new(DocKind::Contacts, owner, "")?;
            one(Message::Changes(vec![craft(network, doc, me, "hijacked")?]))
        }
        "revoked-author" => {
            let revoked = DataDir::new(
                arg.context("revoked-author needs the revoked team's data directory")?,
            )
            .key()?;
            let doc = DocRef::new(DocKind::Contacts, revoked.id(), "")?;
            one(Message::Changes(vec![craft(
                network,
                doc,
                &revoked,
                "after revocation",
            )?]))
        }
        "malformed-automerge" => {
            let c = core.publish_advisory(now_ms(), &advisory("EVIL-2026-0002"))?;
            let good = Message::Changes(vec![c.clone()]).encode();
            let mut bytes = good.clone();
            // The Automerge chunk sits in the middle of the change; flip a
            // byte well inside it.
            let at = bytes.len() - 64 - c.change_bytes().len() / 2;
            bytes[at] ^= 0xff;
            Ok(vec![SyncRequest::Core(bytes)])
        }
        "oversized" => {
            let n: usize = arg.context("oversized needs a size")?.parse()?;
            Ok(vec![SyncRequest::Core(vec![0u8; n])])
        }
        "flood" => {
            let n: usize = arg.context("flood needs a count")?.parse()?;
            let m = Message::Statements(core.statements().iter().take(1).cloned().collect());
            Ok(vec![SyncRequest::Core(m.encode()); n])
        }
        "restricted" | "load" => Ok(vec![]),
        other => bail!("unknown attack {other}"),
    }
}

/// The one JSON line the attacker prints.
#[allow(clippy::too_many_arguments)]
fn report(
    attack: &str,
    connected: bool,
    changes_sent: usize,
    load_started: Option<Instant>,
    sent: usize,
    (acks, busy, failures): (usize, usize, usize),
    disconnected: bool,
    messages_in: usize,
    received: &BTreeSet<String>,
    core: &Node<MemStore>,
) -> serde_json::Value {
    json!({
        "attack": attack,
        "connected": connected,
        "changes_sent": changes_sent,
        "load_secs": load_started.map(|t| t.elapsed().as_secs_f64()),
        "sent": sent,
        "acks": acks,
        "busy": busy,
        "failures": failures,
        "disconnected": disconnected,
        "messages_in": messages_in,
        "received_docs": received,
        "documents": core.documents().docs().map(|(id, _)| id.to_string()).collect::<Vec<_>>(),
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, dir, target, attack, rest @ ..] = args.as_slice() else {
        bail!("usage: trustmesh-attacker DATA_DIR TARGET ATTACK [ARG]");
    };
    let dir = DataDir::new(dir);
    let key = dir.key()?;
    let mut core = open_core(&dir)?;
    let target: Multiaddr = target.parse().context("TARGET is not a multiaddr")?;
    let Some(libp2p::multiaddr::Protocol::P2p(target_peer)) = target.iter().last() else {
        bail!("TARGET must end in /p2p/<peer id>");
    };
    let requests = payloads(
        attack,
        rest.first().map(String::as_str),
        &key,
        &mut core,
        &target_peer,
    )?;
    // Local edits made to build payloads go nowhere else.
    while core.poll_transmit().is_some() {}

    let (rate, load_secs) = match (attack.as_str(), rest) {
        ("load", [rate, secs, ..]) => (rate.parse::<usize>()?, secs.parse::<u64>()?),
        ("load", _) => bail!("load needs RATE and SECS"),
        _ => (0, 0),
    };
    let load = if attack == "load" {
        valid_changes(&mut core, rate * load_secs as usize)?
    } else {
        vec![]
    };
    // The core queued a push of each; the load is sent at its own pace.
    while core.poll_transmit().is_some() {}
    let keypair = identity::Keypair::ed25519_from_bytes(key.secret_bytes())?;
    let mut swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            tcp::Config::default(),
            noise::Config::new,
            yamux::Config::default,
        )?
        .with_behaviour(|_| Behaviour {
            sync: request_response::cbor::Behaviour::with_codec(
                request_response::cbor::codec::Codec::default()
                    .set_request_size_maximum(64 << 20)
                    .set_response_size_maximum(64 << 20),
                [(StreamProtocol::new(SYNC_PROTOCOL), ProtocolSupport::Full)],
                request_response::Config::default()
                    .with_request_timeout(Duration::from_secs(10))
                    .with_max_concurrent_streams(10_000),
            ),
        })?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(30)))
        .build();
    swarm.dial(target.clone())?;

    let target_team = team_of(&target_peer).context("the target is not an ed25519 peer")?;
    let sent = requests.len();
    let mut queue = requests.into_iter();
    let (mut acks, mut busy, mut failures) = (0usize, 0usize, 0usize);
    let mut received: BTreeSet<String> = BTreeSet::new();
    let mut messages_in = 0usize;
    let mut connected = false;
    let mut disconnected = false;
    let started = Instant::now();
    let run_for = match attack.as_str() {
        "restricted" => Duration::from_secs(6),
        "load" => Duration::from_secs(load_secs + 600),
        _ => Duration::from_secs(20),
    };
    let mut sent = sent;
    let mut changes_sent = 0usize;
    let mut load_started: Option<Instant> = None;
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    // These two run anti-entropy like a node: the load generator so that
    // pushes the target dropped (at capacity) are pulled again, as from any
    // member. Once its load is sent and answered, the generator prints its
    // report and goes on serving, like the member it is, until killed.
    let acts_as_node = attack == "restricted" || attack == "load";
    let mut reported = false;
    let mut answered_at: Option<Instant> = None;
    loop {
        let loading = load_started.is_none_or(|t| t.elapsed() < Duration::from_secs(load_secs));
        let answered = connected && acks + busy + failures >= sent;
        // The target answers and then cuts a peer off: a moment's grace
        // lets the close arrive, whichever of the two comes first.
        if answered && answered_at.is_none() {
            answered_at = Some(Instant::now());
        }
        let settled = answered_at.is_some_and(|t| t.elapsed() > Duration::from_secs(2));
        let done = settled && attack != "restricted" && attack != "load";
        let finished = done || disconnected || started.elapsed() > run_for;
        let load_answered = attack == "load" && answered && !loading;
        if !reported && (finished || load_answered) {
            println!(
                "{}",
                report(
                    attack,
                    connected,
                    changes_sent,
                    load_started,
                    sent,
                    (acks, busy, failures),
                    disconnected,
                    messages_in,
                    &received,
                    &core
                )
            );
            std::io::stdout().flush()?;
            reported = true;
        }
        if finished {
            break;
        }
        tokio::select! {
            _ = tick.tick() => {
                if connected && acts_as_node {
                    core.handle_timeout(now_ms());
                }
                if connected && attack == "load" {
                    let t0 = *load_started.get_or_insert_with(Instant::now);
                    // Catch up to RATE per second since the start.
                    let due = (t0.elapsed().as_secs_f64().min(load_secs as f64) * rate as f64) as usize;
                    while changes_sent < due.min(load.len()) {
                        let n = (due - changes_sent).min(200);
                        let batch = load[changes_sent..(changes_sent + n).min(load.len())].to_vec();
                        changes_sent += batch.len();
                        sent += 1;
                        swarm
                            .behaviour_mut()
                            .sync
                            .send_request(&target_peer, SyncRequest::Core(Message::Changes(batch).encode()));
                    }
                }
            }
            event = swarm.select_next_some() => match event {
                SwarmEvent::ConnectionEstablished { peer_id: p, .. } if p == target_peer => {
                    connected = true;
                    if acts_as_node {
                        core.peer_connected(now_ms(), target_team);
                    }
                    for r in queue.by_ref() {
                        swarm.behaviour_mut().sync.send_request(&target_peer, r);
                    }
                }
                SwarmEvent::ConnectionClosed { peer_id: p, num_established: 0, .. } if p == target_peer => {
                    disconnected = true;
                }
                SwarmEvent::OutgoingConnectionError { error, .. } => {
                    bail!("cannot connect to the target: {error}");
                }
                SwarmEvent::Behaviour(BehaviourEvent::Sync(e)) => match e {
                    request_response::Event::Message { message: request_response::Message::Response { response, .. }, .. } => {
                        match response {
                            SyncResponse::Busy => busy += 1,
                            _ => acks += 1,
                        }
                    }
                    request_response::Event::Message { message: request_response::Message::Request { request, channel, .. }, .. } => {
                        if let SyncRequest::Core(bytes) = request
                            && let Ok(m) = Message::decode(&bytes)
                        {
                            messages_in += 1;
                            if let Message::Changes(cs) = &m {
                                received.extend(cs.iter().map(|c| c.doc().to_string()));
                            }
                            let _ = core.handle_message(now_ms(), target_team, m);
                        }
                        let _ = swarm.behaviour_mut().sync.send_response(channel, SyncResponse::Ack);
                    }
                    request_response::Event::OutboundFailure { .. } => failures += 1,
                    _ => {}
                },
                _ => {}
            }
        }
        while let Some(t) = core.poll_transmit() {
            if acts_as_node {
                swarm.behaviour_mut().sync.send_request(
                    &peer_id(&target_team),
                    SyncRequest::Core(t.message.encode()),
                );
            }
        }
        while core.poll_event().is_some() {}
    }
    Ok(())
}
