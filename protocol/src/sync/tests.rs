use std::collections::{BTreeMap, BTreeSet, VecDeque};

use proptest::prelude::*;

use super::*;
use crate::document::fixtures::{admission, advisory, contact, suffix, tool};
use crate::fixtures::{charter, key};
use crate::reconcile::{self, ItemSet};
use crate::wire::{SyncClaims, Want};
use crate::{
    Advisory, AdvisoryUpdate, ChangeStatus, Contact, DocKind, MemStore, SignedChange,
    SignedStatement, Tlp,
};

/// A handful of nodes joined by a lossless in-memory network, delivering
/// in flights: every message queued during one flight is delivered in the
/// next. Gossip goes to every connected member. Every message is encoded
/// and decoded on the way, so the wire format is exercised and measured.
struct Net {
    nodes: Vec<Node<MemStore>>,
    /// Messages waiting, with sender and receiver index.
    queue: VecDeque<(usize, usize, Message)>,
    /// Every message delivered: (from, to, message).
    log: Vec<(usize, usize, Message)>,
    bytes: usize,
    flights: usize,
    now: Millis,
}

fn founders() -> Vec<TeamKey> {
    (1..=3).map(key).collect()
}

impl Net {
    /// Nodes for keys 1..=n; 1, 2 and 3 found the network (k = r = 2).
    fn new(n: u8) -> Self {
        let f = founders();
        let charter = charter(&[&f[0], &f[1], &f[2]], 2, 2);
        let nodes = (1..=n)
            .map(|i| {
                let config = Config::default().with_seed(u64::from(i));
                Node::open(
                    config,
                    key(i),
                    suffix(i),
                    charter.clone(),
                    MemStore::new(),
                    0,
                )
                .expect("memory store")
                .0
            })
            .collect();
        Net {
            nodes,
            queue: VecDeque::new(),
            log: vec![],
            bytes: 0,
            flights: 0,
            now: 0,
        }
    }

    fn index_of(&self, team: &TeamId) -> Option<usize> {
        self.nodes.iter().position(|n| n.team() == *team)
    }

    fn connect_all(&mut self) {
        for i in 0..self.nodes.len() {
            for j in 0..self.nodes.len() {
                if i != j {
                    let team = self.nodes[j].team();
                    self.nodes[i].peer_connected(self.now, team);
                }
            }
        }
    }

    /// Moves every queued transmit into the network queue.
    fn collect(&mut self) {
        for i in 0..self.nodes.len() {
            while let Some(t) = self.nodes[i].poll_transmit() {
                match t.to {
                    Destination::Peer(p) => {
                        if let Some(j) = self.index_of(&p) {
                            self.queue.push_back((i, j, t.message));
                        }
                    }
                    Destination::Gossip => {
                        let peers: Vec<TeamId> = self.nodes[i].peers().map(|(t, _)| *t).collect();
                        for p in peers {
                            if let Some(j) = self.index_of(&p) {
                                self.queue.push_back((i, j, t.message.clone()));
                            }
                        }
                    }
                }
            }
            while self.nodes[i].poll_event().is_some() {}
        }
    }

    fn deliver(&mut self, from: usize, to: usize, message: Message) -> Verdict {
        let bytes = message.encode();
        self.bytes += bytes.len();
        let decoded = Message::decode(&bytes).expect("what a node sends decodes");
        assert_eq!(decoded, message);
        let team = self.nodes[from].team();
        self.log.push((from, to, message));
        self.nodes[to].handle_message(self.now, team, decoded)
    }

    /// Delivers flights until nothing is left to send.
    fn run(&mut self) {
        self.collect();
        while !self.queue.is_empty() {
            self.flights += 1;
            assert!(self.flights < 1000, "the exchange does not terminate");
            let flight: Vec<_> = self.queue.drain(..).collect();
            for (from, to, message) in flight {
                self.deliver(from, to, message);
            }
            self.collect();
        }
    }

    /// Advances time by one sync interval, ticks every node and runs.
    fn tick(&mut self) {
        self.now += Config::default().sync_interval;
        for n in &mut self.nodes {
            n.handle_timeout(self.now);
        }
        self.run();
    }

    fn drop_outgoing(&mut self) {
        self.collect();
        self.queue.clear();
    }

    fn reset_counters(&mut self) {
        self.bytes = 0;
        self.flights = 0;
        self.log.clear();
    }
}

fn publish(net: &mut Net, node: usize, id: &str, tlp: Tlp, audience: &[TeamId]) -> SignedChange {
    let now = net.now;
    net.nodes[node]
        .publish_advisory(now, &advisory(id, tlp, audience, &[]))
        .expect("valid advisory")
}

/// A round between two peers that agree: one flight there and one back, and
/// the same number of bytes whether they hold 40 or 160 documents.
#[test]
fn a_round_between_peers_in_agreement_costs_constant_bytes() {
    let mut sizes = vec![];
    for docs in [40, 160] {
        let mut net = Net::new(2);
        net.connect_all();
        for i in 0..docs {
            publish(&mut net, 0, &format!("TM-{i}"), Tlp::Green, &[]);
        }
        net.run();
        assert_eq!(net.nodes[0].digest(), net.nodes[1].digest());
        net.reset_counters();
        net.tick();
        sizes.push((net.bytes, net.flights));
    }
    assert_eq!(
        sizes[0], sizes[1],
        "bytes and flights of one round: {sizes:?}"
    );
    // Each node opened one round: fingerprints and the first symbols of
    // the document set out, an empty reply back; well under 1 KiB a round.
    assert!(sizes[0].0 < 2 * 700, "{sizes:?}");
    assert_eq!(sizes[0].1, 2);
}

/// After a divergence, the bytes exchanged are the missing changes plus a
/// bounded overhead for locating them, not the whole state.
#[test]
fn after_divergence_only_the_missing_changes_travel() {
    let mut net = Net::new(2);
    net.connect_all();
    for i in 0..200 {
        publish(&mut net, 0, &format!("TM-{i}"), Tlp::Green, &[]);
    }
    net.run();
    let full_state: usize = net.nodes[0]
        .store()
        .load()
        .expect("memory")
        .changes
        .iter()
        .map(|c| c.encode().len())
        .sum();
    // Node 0 publishes two more advisories while the pushes are lost.
    let missing: usize = (200..202)
        .map(|i| {
            publish(&mut net, 0, &format!("TM-{i}"), Tlp::Green, &[])
                .encode()
                .len()
        })
        .sum();
    net.drop_outgoing();
    assert_ne!(net.nodes[0].digest(), net.nodes[1].digest());
    net.reset_counters();
    net.now += Config::default().sync_interval;
    net.nodes[1].handle_timeout(net.now);
    net.run();
    assert_eq!(net.nodes[0].digest(), net.nodes[1].digest());
    let overhead = net.bytes - missing;
    assert!(
        overhead < 4_000 && net.bytes < full_state / 20,
        "sent {} bytes for {missing} missing (full state {full_state})",
        net.bytes
    );
}

#[test]
fn nodes_converge_from_scratch_and_agree_on_values() {
    let mut net = Net::new(3);
    for i in 0..3 {
        let now = net.now;
        net.nodes[i]
            .edit_contact(now, &contact(&format!("T{i}")))
            .expect("contact");
        net.nodes[i]
            .upsert_tool(now, &tool("collector"))
            .expect("tool");
        publish(&mut net, i, &format!("TM-{i}"), Tlp::Clear, &[]);
    }
    net.drop_outgoing();
    net.connect_all();
    net.run();
    let d = net.nodes[0].digest();
    assert!(net.nodes.iter().all(|n| n.digest() == d));
    for n in &net.nodes {
        assert_eq!(n.documents().docs().count(), 9);
        let c: Option<Contact> = n
            .documents()
            .get(&DocRef::contacts(key(2).id()).id())
            .expect("contact reads");
        assert_eq!(c, Some(contact("T1")));
    }
}

/// AMBER and RED documents: their changes, their hashes and even their ids
/// are never sent to a member outside the audience, by push or by sync.
#[test]
fn restricted_documents_never_reach_peers_outside_the_audience() {
    let mut net = Net::new(3);
    net.connect_all();
    let audience = [key(1).id(), key(2).id()];
    let red = publish(&mut net, 0, "TM-RED", Tlp::Red, &audience).doc();
    let amber = publish(&mut net, 0, "TM-AMBER", Tlp::Amber, &audience).doc();
    publish(&mut net, 0, "TM-GREEN", Tlp::Green, &[]);
    net.run();
    // Let node 3 also start from nothing and sync repeatedly.
    for _ in 0..3 {
        net.tick();
    }
    let secret = [red, amber];
    for (from, to, message) in &net.log {
        if *to != 2 {
            continue;
        }
        let mentions = match message {
            Message::Changes(list) => list.iter().any(|c| secret.contains(&c.doc())),
            Message::Sync(s) => {
                s.changes.iter().any(|(d, _)| secret.contains(d))
                    || secret.iter().any(|d| s.docs.names(d))
            }
            Message::Want(w) => w.changes.iter().any(|(d, _)| secret.contains(d)),
            Message::Statements(_) => false,
        };
        assert!(
            !mentions,
            "node {from} told node 3 about a restricted document: {message:?}"
        );
    }
    assert!(net.nodes[1].documents().doc_ref(&red).is_some());
    assert!(net.nodes[1].documents().doc_ref(&amber).is_some());
    assert!(net.nodes[2].documents().doc_ref(&red).is_none());
    assert!(net.nodes[2].documents().doc_ref(&amber).is_none());
    assert_eq!(net.nodes[2].documents().docs().count(), 1);
}

/// Downgrading a RED advisory to CLEAR must not ship its RED history to
/// everyone: the update becomes a new advisory holding only the current
/// text, and the RED one stays with its audience. Widening the audience of
/// an AMBER one does the same; narrowing or keeping it updates in place.
#[test]
fn a_downgrade_starts_a_new_advisory_and_the_restricted_history_stays() {
    let mut net = Net::new(3);
    net.connect_all();
    let owner = key(1).id();
    let audience = [key(1).id(), key(2).id()];
    let mut a = advisory("TM-RED", Tlp::Red, &audience, &[]);
    a.body = "secret: the source is a named insider".into();
    let now = net.now;
    let first = net.nodes[0].publish_advisory(now, &a).expect("valid");
    assert!(
        first.change_bytes().windows(6).any(|w| w == b"secret"),
        "the check below can see the RED text"
    );
    let red = first.doc();
    net.run();

    let mut clear = a.clone();
    clear.tlp = Tlp::Clear;
    clear.audience.clear();
    clear.body = "A vulnerability is exploited; patch now.".into();
    let now = net.now;
    let done = net.nodes[0]
        .update_or_continue_advisory(now, owner, &clear)
        .expect("valid");
    let AdvisoryUpdate::Continued { id, held, .. } = done else {
        panic!("updated in place: {done:?}");
    };
    assert_eq!((id.as_str(), held), ("TM-RED~2", "RED"));
    net.run();
    for _ in 0..3 {
        net.tick();
    }
    let new = DocRef::advisory(owner, "TM-RED~2").expect("valid").id();
    for n in 0..3 {
        let got: Advisory = net.nodes[n]
            .documents()
            .get(&new)
            .expect("reads")
            .expect("everyone holds the CLEAR advisory");
        assert_eq!(got.body, clear.body);
    }
    assert!(net.nodes[2].documents().doc_ref(&red).is_none());
    for (_, to, message) in &net.log {
        if let (2, Message::Changes(list)) = (*to, message) {
            for c in list {
                assert_ne!(c.doc(), red, "a change of the RED advisory reached node 3");
                let bytes = c.change_bytes();
                assert!(
                    !bytes.windows(6).any(|w| w == b"secret"),
                    "the RED text reached node 3"
                );
            }
        }
    }
    let red_now: Advisory = net.nodes[1]
        .documents()
        .get(&red)
        .expect("reads")
        .expect("held");
    assert_eq!(
        (red_now.tlp, red_now.body.as_str()),
        (Tlp::Red, a.body.as_str())
    );

    // A second downgrade takes the next name; widening an AMBER audience
    // is a downgrade too; a narrower audience updates in place.
    assert_eq!(
        net.nodes[0].documents().continuation_name(&owner, "TM-RED"),
        Ok("TM-RED~3".to_owned())
    );
    let amber = advisory("TM-AMBER", Tlp::Amber, &[key(1).id()], &[]);
    let now = net.now;
    net.nodes[0].publish_advisory(now, &amber).expect("valid");
    let mut wider = amber.clone();
    wider.audience = audience.to_vec();
    wider.audience.sort();
    let now = net.now;
    assert!(matches!(
        net.nodes[0].update_or_continue_advisory(now, owner, &wider),
        Ok(AdvisoryUpdate::Continued { .. })
    ));
    let mut narrower = a.clone();
    narrower.audience = vec![key(1).id()];
    let now = net.now;
    assert!(matches!(
        net.nodes[0].update_or_continue_advisory(now, owner, &narrower),
        Ok(AdvisoryUpdate::Updated(Some(_)))
    ));
}

#[test]
fn a_non_member_is_refused_and_sent_nothing() {
    let mut net = Net::new(4);
    let outsider = key(4).id();
    net.nodes[0].peer_connected(0, outsider);
    assert_eq!(net.nodes[0].poll_event(), Some(Event::Disconnect(outsider)));
    assert_eq!(net.nodes[0].poll_transmit(), None);
    let opening = Message::Sync(SyncClaims {
        round: 1,
        statements: reconcile::open(&ItemSet::new()),
        ..SyncClaims::default()
    });
    assert_eq!(
        net.nodes[0].handle_message(0, outsider, opening),
        Verdict::Reject(Rejection::NotMember)
    );
    assert_eq!(net.nodes[0].poll_transmit(), None);
    assert_eq!(net.nodes[0].stats().rejected.get("not_member"), Some(&1));
}

#[test]
fn an_admitted_team_is_served_and_a_revoked_one_disconnected() {
    let mut net = Net::new(4);
    net.connect_all();
    let network = net.nodes[0].statements().network_id();
    for s in admission(network, &key(4), &[&key(1), &key(2)]) {
        net.nodes[0].submit_statement(s).expect("valid statement");
    }
    net.run();
    // Node 0 learned of the admission first; the others from its gossip.
    assert!(
        net.nodes
            .iter()
            .all(|n| n.membership().is_member(&key(4).id()))
    );
    net.connect_all();
    publish(&mut net, 0, "TM-1", Tlp::Green, &[]);
    net.run();
    assert_eq!(net.nodes[3].digest(), net.nodes[0].digest());

    let revoke = |by: u8| crate::document::fixtures::revoke(network, &key(by), &key(4), vec![]);
    net.nodes[0].submit_statement(revoke(1)).expect("valid");
    net.nodes[1].submit_statement(revoke(2)).expect("valid");
    net.collect();
    let mut disconnected = false;
    while let Some((from, to, message)) = net.queue.pop_front() {
        net.deliver(from, to, message);
        while let Some(e) = net.nodes[2].poll_event() {
            disconnected |= e == Event::Disconnect(key(4).id());
        }
    }
    net.run();
    assert!(
        disconnected,
        "node 3 drops its connection to the revoked team"
    );
    assert!(!net.nodes[2].membership().is_member(&key(4).id()));
    assert!(net.nodes[2].peers().all(|(t, _)| *t != key(4).id()));
}

#[test]
fn a_pushed_change_with_missing_dependencies_is_completed_from_its_sender() {
    let mut net = Net::new(2);
    net.connect_all();
    net.run();
    publish(&mut net, 0, "TM-1", Tlp::Green, &[]);
    net.drop_outgoing();
    let mut a = advisory("TM-1", Tlp::Green, &[], &[]);
    a.title = "Updated".to_owned();
    let now = net.now;
    net.nodes[0]
        .update_advisory(now, key(1).id(), &a)
        .expect("update")
        .expect("changed");
    net.run();
    assert_eq!(net.nodes[0].digest(), net.nodes[1].digest());
    let got: Option<Advisory> = net.nodes[1]
        .documents()
        .get(&DocRef::advisory(key(1).id(), "TM-1").expect("id").id())
        .expect("reads");
    assert_eq!(got.map(|a| a.title), Some("Updated".to_owned()));
}

#[test]
fn forged_changes_are_rejected_and_not_stored() {
    let mut net = Net::new(2);
    let change = publish(&mut net, 0, "TM-1", Tlp::Green, &[]);
    let mut bytes = change.encode();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let forged = SignedChange::decode(&bytes).expect("decodes");
    let verdict = net.nodes[1].handle_message(0, key(1).id(), Message::Changes(vec![forged]));
    assert!(
        matches!(verdict, Verdict::Reject(Rejection::Change(_))),
        "{verdict:?}"
    );
    assert_eq!(net.nodes[1].store().change_count(), 0);
    assert_eq!(net.nodes[1].documents().docs().count(), 0);
}

#[test]
fn a_reopened_node_has_everything_it_stored() {
    let mut net = Net::new(3);
    net.connect_all();
    let network = net.nodes[0].statements().network_id();
    for s in admission(network, &key(9), &[&key(1), &key(2)]) {
        net.nodes[0].submit_statement(s).expect("valid");
    }
    for i in 0..3 {
        publish(&mut net, i, &format!("TM-{i}"), Tlp::Green, &[]);
    }
    net.run();
    let node = &net.nodes[2];
    let f = founders();
    let (reopened, report) = Node::open(
        Config::default(),
        key(3),
        suffix(33),
        charter(&[&f[0], &f[1], &f[2]], 2, 2),
        node.store().clone(),
        0,
    )
    .expect("memory");
    assert_eq!(reopened.digest(), node.digest());
    assert_eq!(report.changes, 3);
    assert_eq!(report.statements, 3);
    assert!(reopened.membership().is_member(&key(9).id()));
}

/// One operation a node performs in the convergence property.
#[derive(Debug, Clone)]
enum Op {
    Contact(usize),
    Tool(usize, u8),
    Advisory(usize, u8, Tlp),
    Update(usize, u8),
}

fn op() -> impl Strategy<Value = Op> {
    let tlp = prop_oneof![
        Just(Tlp::Clear),
        Just(Tlp::Green),
        Just(Tlp::Amber),
        Just(Tlp::Red)
    ];
    prop_oneof![
        (0..5usize).prop_map(Op::Contact),
        (0..5usize, 0..3u8).prop_map(|(n, t)| Op::Tool(n, t)),
        (0..5usize, 0..4u8, tlp).prop_map(|(n, a, t)| Op::Advisory(n, a, t)),
        (0..5usize, 0..4u8).prop_map(|(n, a)| Op::Update(n, a)),
    ]
}

fn apply(net: &mut Net, op: &Op) {
    let n = net.nodes.len();
    let now = net.now;
    match *op {
        Op::Contact(i) => {
            let _ = net.nodes[i % n].edit_contact(now, &contact(&format!("N{now}")));
        }
        Op::Tool(i, t) => {
            let mut tool = tool(&format!("tool-{t}"));
            tool.version = format!("1.{now}");
            let _ = net.nodes[i % n].upsert_tool(now, &tool);
        }
        Op::Advisory(i, a, tlp) => {
            let owner = net.nodes[i % n].team();
            let audience: Vec<TeamId> = if tlp.is_restricted() {
                // The owner and the next node.
                vec![owner, net.nodes[(i + 1) % n].team()]
            } else {
                vec![]
            };
            let _ = net.nodes[i % n]
                .publish_advisory(now, &advisory(&format!("TM-{a}"), tlp, &audience, &[]));
        }
        Op::Update(i, a) => {
            let owner = net.nodes[i % n].team();
            let doc = DocRef::advisory(owner, &format!("TM-{a}"))
                .expect("id")
                .id();
            let current: Option<Advisory> = net.nodes[i % n].documents().get(&doc).ok().flatten();
            if let Some(mut adv) = current {
                adv.summary = format!("revised at {now}");
                let _ = net.nodes[i % n].update_advisory(now, owner, &adv);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Two to five replicas, edits everywhere, pushes delivered in any
    /// order, some lost and some duplicated: after anti-entropy every
    /// replica holds exactly the documents it may receive, and replicas
    /// that hold a document agree on its heads and value.
    #[test]
    fn replicas_converge_under_any_delivery(
        nodes in 2..=5u8,
        ops in proptest::collection::vec(op(), 1..12),
        order in proptest::collection::vec(any::<u64>(), 0..64),
        loss in proptest::collection::vec(0..4u8, 0..64),
    ) {
        let mut net = Net::new(nodes);
        let network = net.nodes[0].statements().network_id();
        // Teams 4 and 5 join through introductions by 1 and 2.
        for k in 4..=nodes {
            for s in admission(network, &key(k), &[&key(1), &key(2)]) {
                net.nodes[0].submit_statement(s).expect("valid");
            }
        }
        net.drop_outgoing();
        for k in 0..net.nodes.len() {
            let statements: Vec<_> = net.nodes[0].statements().iter().cloned().collect();
            for s in statements {
                let _ = net.nodes[k].submit_statement(s);
            }
        }
        net.drop_outgoing();
        net.connect_all();
        for (step, op) in ops.iter().enumerate() {
            net.now += 1000;
            apply(&mut net, op);
            net.collect();
            // Deliver this step's messages shuffled, losing some and
            // duplicating others.
            let mut flight: Vec<_> = net.queue.drain(..).collect();
            for (i, o) in order.iter().enumerate().take(flight.len()) {
                let j = (*o as usize) % flight.len();
                flight.swap(i, j);
            }
            for (i, (from, to, m)) in flight.into_iter().enumerate() {
                match loss.get(i + step).copied().unwrap_or(1) {
                    0 => {}
                    2 => {
                        net.deliver(from, to, m.clone());
                        net.deliver(from, to, m);
                    }
                    _ => {
                        net.deliver(from, to, m);
                    }
                }
            }
        }
        for _ in 0..4 {
            net.tick();
        }
        check_converged(&net);
    }
}

fn check_converged(net: &Net) {
    let mut all: BTreeMap<DocId, DocRef> = BTreeMap::new();
    for n in &net.nodes {
        for (id, r) in n.documents().docs() {
            all.insert(*id, r.clone());
        }
    }
    for (doc, doc_ref) in &all {
        let owner = net
            .index_of(&doc_ref.owner())
            .expect("documents are written by nodes of the test");
        let owner_docs = net.nodes[owner].documents();
        let heads = owner_docs.stored_heads(doc);
        for n in &net.nodes {
            let may = owner_docs.may_receive(doc, &n.team(), n.membership());
            if may {
                assert_eq!(n.documents().stored_heads(doc), heads, "{doc_ref}");
                assert_eq!(n.documents().heads(doc), owner_docs.heads(doc), "{doc_ref}");
            } else {
                assert!(n.documents().doc_ref(doc).is_none(), "{doc_ref} leaked");
            }
        }
    }
    let set: BTreeSet<_> = net
        .nodes
        .iter()
        .map(|n| n.statements().iter().map(|s| s.id()).collect::<Vec<_>>())
        .collect();
    assert_eq!(set.len(), 1, "statement sets differ");
}

/// A document with a long history is snapshotted as it grows, and a
/// reopened node restores it from the snapshot instead of replaying it.
#[test]
fn reopening_uses_snapshots_instead_of_replaying() {
    let f = founders();
    let charter = charter(&[&f[0], &f[1], &f[2]], 2, 2);
    let config = Config::default().with_snapshot_every(4);
    let (mut node, _) = Node::open(
        config.clone(),
        key(1),
        suffix(1),
        charter.clone(),
        MemStore::new(),
        0,
    )
    .expect("memory");
    for v in 0..10 {
        let mut t = tool("collector");
        t.version = format!("1.{v}");
        node.upsert_tool(v * 1000, &t).expect("valid");
    }
    let loaded = Store::load(node.store()).expect("memory");
    assert_eq!(
        loaded.snapshots.len(),
        1,
        "one snapshot, replaced as the document grew"
    );
    let (reopened, report) =
        Node::open(config, key(1), suffix(2), charter, node.store().clone(), 0).expect("memory");
    assert_eq!(reopened.digest(), node.digest());
    assert_eq!(report.changes, 10);
    assert_eq!(report.from_snapshot, 1);
    // Snapshots were taken after changes 4 and 8: two changes are replayed.
    assert_eq!(report.replayed, 2);
    let registry: Option<crate::ToolRegistry> = reopened
        .documents()
        .get(&DocRef::tools(key(1).id()).id())
        .expect("reads");
    assert_eq!(
        registry.map(|r| r.tools["collector"].version.clone()),
        Some("1.9".to_owned())
    );
}

/// Every changed document gets its snapshot, written lazily in batches
/// (once `snapshot_batch` documents are stale, or at a flush), so a
/// reopened node replays nothing; a failed snapshot write leaves its
/// documents stale, to be written again.
#[test]
fn stale_snapshots_are_written_in_batches_and_a_reopened_node_replays_nothing() {
    let f = founders();
    let charter = charter(&[&f[0], &f[1], &f[2]], 2, 2);
    let config = Config::default().with_snapshot_batch(3);
    let (mut node, _) = Node::open(
        config.clone(),
        key(1),
        suffix(1),
        charter.clone(),
        Flaky::default(),
        0,
    )
    .expect("memory");
    let snapshots = |n: &Node<Flaky>| Store::load(n.store()).expect("memory").snapshots.len();
    node.publish_advisory(1_000, &advisory("TM-1", Tlp::Green, &[], &[]))
        .expect("valid");
    node.publish_advisory(2_000, &advisory("TM-2", Tlp::Green, &[], &[]))
        .expect("valid");
    assert_eq!((node.stale_snapshots(), snapshots(&node)), (2, 0));
    node.edit_contact(3_000, &contact("CERT-A")).expect("valid");
    assert_eq!((node.stale_snapshots(), snapshots(&node)), (0, 3));

    let mut t = tool("collector");
    t.version = "1.0".into();
    node.upsert_tool(4_000, &t).expect("valid");
    node.store().full.set(true);
    assert!(!node.flush_snapshots());
    assert_eq!(node.stale_snapshots(), 1);
    assert_eq!(node.stats().store_failures, 1);
    node.store().full.set(false);
    assert!(node.flush_snapshots());
    assert_eq!((node.stale_snapshots(), snapshots(&node)), (0, 4));

    let (reopened, report) = Node::open(
        config.clone(),
        key(1),
        suffix(2),
        charter.clone(),
        node.store().clone(),
        0,
    )
    .expect("memory");
    assert_eq!(reopened.digest(), node.digest());
    assert_eq!((report.from_snapshot, report.replayed), (4, 0));
    assert_eq!(report.changes, 4);

    // A change stored after the last flush (a crash before it) is
    // replayed, and its document's snapshot written at once.
    t.version = "1.1".into();
    node.upsert_tool(5_000, &t).expect("valid");
    assert_eq!(node.stale_snapshots(), 1);
    let store = node.store().clone();
    let (reopened, report) =
        Node::open(config.clone(), key(1), suffix(3), charter.clone(), store, 0).expect("memory");
    assert_eq!(reopened.digest(), node.digest());
    assert_eq!((report.from_snapshot, report.replayed), (4, 1));
    assert_eq!(reopened.stale_snapshots(), 0);
    let (_, report) = Node::open(
        config,
        key(1),
        suffix(4),
        charter,
        reopened.store().clone(),
        0,
    )
    .expect("memory");
    assert_eq!((report.from_snapshot, report.replayed), (4, 0));
}

/// A node opened from a pre-built statement set holds the same replica as
/// one that verified the same statements from its store.
#[test]
fn opening_from_a_prebuilt_statement_set_equals_opening_from_the_store() {
    let f = founders();
    let charter = charter(&[&f[0], &f[1], &f[2]], 2, 2);
    let mut set = StatementSet::new(charter.clone());
    let mut store = MemStore::new();
    let joined = admission(charter.network_id(), &key(4), &[&f[0], &f[1]]);
    for s in &joined {
        set.insert(s.clone()).expect("valid statement");
    }
    // The store holds one statement of the set and one beyond it.
    let extra = admission(charter.network_id(), &key(5), &[&f[1], &f[2]]);
    store
        .put_statements(&[joined[0].clone(), extra[0].clone()])
        .expect("memory");
    let config = Config::default().with_seed(7);
    let (prebuilt, report) =
        Node::open_with_statements(config.clone(), key(4), suffix(4), set, store.clone(), 0)
            .expect("memory");
    let mut full = MemStore::new();
    full.put_statements(&joined).expect("memory");
    full.put_statements(&extra[..1]).expect("memory");
    let (verified, _) = Node::open(config, key(4), suffix(4), charter, full, 0).expect("memory");
    assert_eq!(prebuilt.digest(), verified.digest());
    assert!(prebuilt.is_member());
    assert_eq!((report.statements, report.bad_statements), (2, 0));
}

#[test]
fn a_strangers_change_is_dropped_unstored_and_not_forwarded() {
    let mut net = Net::new(2);
    let stranger = key(9);
    let doc = DocRef::new(DocKind::Contacts, stranger.id(), "").expect("doc");
    let change = crate::document::fixtures::raw_change(
        net.nodes[0].documents(),
        &stranger,
        suffix(9),
        doc,
        |tx| {
            automerge::transaction::Transactable::put(tx, automerge::ROOT, "name", "spam")
                .map(|_| ())
        },
    );
    // A member relays it: not a rejection (the relay may know of an
    // admission this node lacks), but nothing is kept or forwarded.
    let verdict = net.nodes[1].handle_message(0, key(1).id(), Message::Changes(vec![change]));
    assert_eq!(verdict, Verdict::Ignore);
    assert_eq!(net.nodes[1].stats().changes_unknown_author, 1);
    assert_eq!(net.nodes[1].store().change_count(), 0);
    assert_eq!(net.nodes[1].documents().docs().count(), 0);
}

#[test]
fn a_revoked_authors_change_outside_what_was_kept_is_dropped_unstored() {
    let mut net = Net::new(4);
    let network = net.nodes[0].statements().network_id();
    for s in admission(network, &key(4), &[&key(1), &key(2)]) {
        net.nodes[0].submit_statement(s).expect("valid statement");
    }
    for by in [1, 2] {
        let r = crate::document::fixtures::revoke(network, &key(by), &key(4), vec![]);
        net.nodes[0].submit_statement(r).expect("valid statement");
    }
    assert!(!net.nodes[0].membership().is_member(&key(4).id()));
    let doc = DocRef::new(DocKind::Contacts, key(4).id(), "").expect("doc");
    let change = crate::document::fixtures::raw_change(
        net.nodes[0].documents(),
        &key(4),
        suffix(4),
        doc.clone(),
        |tx| {
            automerge::transaction::Transactable::put(
                tx,
                automerge::ROOT,
                "name",
                "after revocation",
            )
            .map(|_| ())
        },
    );
    let stored = net.nodes[0].store().change_count();
    let verdict =
        net.nodes[0].handle_message(0, key(2).id(), Message::Changes(vec![change.clone()]));
    assert_eq!(verdict, Verdict::Ignore, "gossip must not forward it");
    assert_eq!(
        net.nodes[0].documents().status(&doc.id(), &change.hash()),
        None
    );
    assert_eq!(net.nodes[0].store().change_count(), stored, "not stored");
    assert_eq!(net.nodes[0].stats().changes_revoked_author, 1);
}

/// What a revocation keeps still travels: the kept head and its causal
/// past, in one batch or after it; a change beside them does not.
#[test]
fn a_revoked_authors_kept_changes_are_stored_and_others_dropped() {
    let mut net = Net::new(4);
    let network = net.nodes[0].statements().network_id();
    for s in admission(network, &key(4), &[&key(1), &key(2)]) {
        net.nodes[0]
            .submit_statement(s.clone())
            .expect("valid statement");
        net.nodes[1].submit_statement(s).expect("valid statement");
    }
    let doc = DocRef::new(DocKind::Contacts, key(4).id(), "").expect("doc");
    let write = |docs: &crate::Documents, s: u8, v: &'static str| {
        crate::document::fixtures::raw_change(docs, &key(4), suffix(s), doc.clone(), |tx| {
            automerge::transaction::Transactable::put(tx, automerge::ROOT, "name", v).map(|_| ())
        })
    };
    // Written while a member, on node 1 only: a first change, then one on it.
    let first = write(net.nodes[1].documents(), 4, "first");
    net.nodes[1].handle_message(0, key(2).id(), Message::Changes(vec![first.clone()]));
    let second = write(net.nodes[1].documents(), 4, "second");
    let beside = write(net.nodes[0].documents(), 40, "beside");
    // Revoked keeping `second` (hence `first`).
    for by in [1, 2] {
        let r = crate::document::fixtures::revoke(network, &key(by), &key(4), vec![second.hash()]);
        net.nodes[0].submit_statement(r).expect("valid statement");
    }
    assert!(!net.nodes[0].membership().is_member(&key(4).id()));
    // `first` alone cannot be known to be kept yet: dropped, counted.
    net.nodes[0].handle_message(0, key(2).id(), Message::Changes(vec![first.clone()]));
    assert_eq!(net.nodes[0].stats().changes_revoked_author, 1);
    // With its kept descendant, both are stored and apply; `beside` is not.
    net.nodes[0].handle_message(
        0,
        key(2).id(),
        Message::Changes(vec![first.clone(), second.clone(), beside.clone()]),
    );
    let docs = net.nodes[0].documents();
    assert_eq!(
        docs.status(&doc.id(), &first.hash()),
        Some(ChangeStatus::Applied)
    );
    assert_eq!(
        docs.status(&doc.id(), &second.hash()),
        Some(ChangeStatus::Applied)
    );
    assert_eq!(docs.status(&doc.id(), &beside.hash()), None);
    assert_eq!(net.nodes[0].stats().changes_revoked_author, 2);
}

#[test]
fn gossip_carries_only_statements_and_changes_and_bytes_that_decode() {
    let mut net = Net::new(2);
    net.connect_all();
    net.run();
    let from = key(1).id();
    let sync = Message::Sync(SyncClaims {
        round: 7,
        ..SyncClaims::default()
    })
    .encode();
    let want = Message::Want(Want::default()).encode();
    assert_eq!(
        net.nodes[1].handle_gossip(0, from, &sync),
        Verdict::Reject(Rejection::WrongChannel { kind: "sync" })
    );
    assert_eq!(
        net.nodes[1].handle_gossip(0, from, &want),
        Verdict::Reject(Rejection::WrongChannel { kind: "want" })
    );
    let junk = [1u8, 3, 0xff, 0xff];
    assert!(matches!(
        net.nodes[1].handle_gossip(0, from, &junk),
        Verdict::Reject(Rejection::Malformed(_))
    ));
    assert!(matches!(
        net.nodes[1].handle_direct(0, from, &junk),
        Verdict::Reject(Rejection::Malformed(_))
    ));
    // The same sync step point to point is a protocol step.
    assert_eq!(net.nodes[1].handle_direct(0, from, &sync), Verdict::Ignore);
    let rejected = &net.nodes[1].stats().rejected;
    assert_eq!(rejected.get("gossip_kind"), Some(&2));
    assert_eq!(rejected.get("malformed"), Some(&2));

    let change = publish(&mut net, 0, "TM-1", Tlp::Green, &[]);
    net.drop_outgoing();
    let bytes = Message::Changes(vec![change]).encode();
    assert_eq!(net.nodes[1].handle_gossip(0, from, &bytes), Verdict::Accept);
    assert_eq!(net.nodes[1].handle_gossip(0, from, &bytes), Verdict::Ignore);
    // Gossip from a non-member is refused like any message from one.
    assert_eq!(
        net.nodes[1].handle_gossip(0, key(9).id(), &bytes),
        Verdict::Reject(Rejection::NotMember)
    );
}

/// A store whose writes fail while `full` is set.
#[derive(Debug, Clone, Default)]
struct Flaky {
    inner: MemStore,
    full: std::rc::Rc<std::cell::Cell<bool>>,
}

#[derive(Debug, thiserror::Error)]
#[error("no space left on the device")]
struct Full;

impl Store for Flaky {
    type Error = Full;

    fn put_statements(&mut self, s: &[SignedStatement]) -> Result<(), Full> {
        if self.full.get() {
            return Err(Full);
        }
        let Ok(()) = self.inner.put_statements(s);
        Ok(())
    }

    fn put_changes(&mut self, c: &[SignedChange]) -> Result<(), Full> {
        if self.full.get() {
            return Err(Full);
        }
        let Ok(()) = self.inner.put_changes(c);
        Ok(())
    }

    fn put_snapshot(&mut self, doc: &DocId, snapshot: &[u8]) -> Result<(), Full> {
        if self.full.get() {
            return Err(Full);
        }
        let Ok(()) = self.inner.put_snapshot(doc, snapshot);
        Ok(())
    }

    fn load(&self) -> Result<crate::Loaded, Full> {
        let Ok(loaded) = self.inner.load();
        Ok(loaded)
    }

    fn load_index(&self) -> Result<crate::StoredIndex, Full> {
        let Ok(index) = self.inner.load_index();
        Ok(index)
    }

    fn changes_of(&self, doc: &DocId) -> Result<Vec<SignedChange>, Full> {
        let Ok(changes) = self.inner.changes_of(doc);
        Ok(changes)
    }
}

fn flaky_node(n: u8, store: Flaky) -> Node<Flaky> {
    let f = founders();
    let charter = charter(&[&f[0], &f[1], &f[2]], 2, 2);
    Node::open(Config::default(), key(n), suffix(n), charter, store, 0)
        .expect("loads")
        .0
}

fn changes_sent(node: &mut Node<Flaky>) -> usize {
    let mut n = 0;
    while let Some(t) = node.poll_transmit() {
        if let Message::Changes(list) = t.message {
            n += list.len();
        }
    }
    while node.poll_event().is_some() {}
    n
}

/// A write the store refuses leaves no trace: the local edit fails and is
/// not pushed, a peer's change or statement is not kept (so it is neither
/// forwarded nor served), and once the store works the same inputs succeed
/// and a node reopened over the store equals the running one.
#[test]
fn a_write_the_store_refuses_is_not_kept_pushed_or_acknowledged() {
    let store = Flaky::default();
    let full = store.full.clone();
    let mut a = flaky_node(1, store);
    let mut b = Net::new(2);
    let peer = key(2).id();
    a.peer_connected(0, peer);
    changes_sent(&mut a);
    let network = a.statements().network_id();
    let before = a.digest();

    full.set(true);
    let green = advisory("TM-1", Tlp::Green, &[], &[]);
    assert!(matches!(
        a.publish_advisory(1_000, &green),
        Err(NodeError::Store(Full))
    ));
    assert!(matches!(
        a.edit_contact(1_000, &contact("ONE")),
        Err(NodeError::Store(Full))
    ));
    assert_eq!(changes_sent(&mut a), 0, "nothing pushed");
    assert_eq!(a.documents().docs().count(), 0, "nothing kept");

    let theirs = b.nodes[1]
        .publish_advisory(1_000, &advisory("TM-2", Tlp::Green, &[], &[]))
        .expect("publish");
    let changes = Message::Changes(vec![theirs.clone()]).encode();
    assert_eq!(a.handle_gossip(1_000, peer, &changes), Verdict::Ignore);
    assert!(
        a.documents()
            .change(&theirs.doc(), &theirs.hash())
            .is_none()
    );
    let admitted = admission(network, &key(4), &[&key(1), &key(2)]);
    let statements = Message::Statements(admitted.clone()).encode();
    assert_eq!(a.handle_gossip(1_000, peer, &statements), Verdict::Ignore);
    assert!(!a.membership().is_member(&key(4).id()));
    assert!(admitted.iter().all(|s| !a.statements().contains(&s.id())));
    assert_eq!(a.digest(), before, "the replica is as it was");
    assert_eq!(a.stats().store_failures, 4);
    assert_eq!(a.stats().changes_new + a.stats().statements_new, 0);

    full.set(false);
    let published = a
        .publish_advisory(2_000, &green)
        .expect("the same advisory, now");
    a.edit_contact(2_000, &contact("ONE"))
        .expect("stored")
        .expect("changed");
    assert_eq!(changes_sent(&mut a), 2, "pushed once stored");
    assert_eq!(a.handle_gossip(2_000, peer, &changes), Verdict::Accept);
    assert_eq!(a.handle_gossip(2_000, peer, &statements), Verdict::Accept);
    assert!(a.membership().is_member(&key(4).id()));
    let reopened = flaky_node(1, a.store().clone());
    assert_eq!(reopened.digest(), a.digest());
    for (doc, _) in a.documents().docs() {
        assert_eq!(reopened.documents().heads(doc), a.documents().heads(doc));
    }
    assert!(
        reopened
            .documents()
            .change(&published.doc(), &published.hash())
            .is_some()
    );
}

/// An edit of a document that exists, refused by the store, leaves the
/// document as it was; the retried edit applies on top of that state.
#[test]
fn a_refused_edit_of_an_existing_document_is_rolled_back() {
    let store = Flaky::default();
    let full = store.full.clone();
    let mut a = flaky_node(1, store);
    let mut first = advisory("TM-1", Tlp::Green, &[], &[]);
    a.publish_advisory(1_000, &first).expect("stored");
    let doc = DocRef::advisory(key(1).id(), "TM-1").expect("id").id();
    let heads = a.documents().heads(&doc);

    full.set(true);
    first.title = "Second".to_owned();
    assert!(matches!(
        a.update_advisory(2_000, key(1).id(), &first),
        Err(NodeError::Store(Full))
    ));
    assert_eq!(a.documents().heads(&doc), heads);
    let read: Option<Advisory> = a.documents().get(&doc).expect("reads");
    assert_ne!(read.map(|r| r.title), Some("Second".to_owned()));

    full.set(false);
    a.update_advisory(3_000, key(1).id(), &first)
        .expect("stored")
        .expect("changed");
    let read: Option<Advisory> = a.documents().get(&doc).expect("reads");
    assert_eq!(read.map(|r| r.title), Some("Second".to_owned()));
    let reopened = flaky_node(1, a.store().clone());
    assert_eq!(reopened.documents().heads(&doc), a.documents().heads(&doc));
    assert_eq!(reopened.digest(), a.digest());
}

#[test]
fn audience_peers_are_the_other_members_of_the_audiences_a_node_is_in() {
    let mut net = Net::new(4);
    let network = net.nodes[0].statements().network_id();
    for s in admission(network, &key(4), &[&key(1), &key(2)]) {
        for n in &mut net.nodes {
            n.submit_statement(s.clone()).expect("valid");
        }
    }
    net.drop_outgoing();
    assert!(net.nodes[0].audience_peers().is_empty());
    publish(&mut net, 0, "TM-GREEN", Tlp::Green, &[]);
    publish(
        &mut net,
        0,
        "TM-AMBER",
        Tlp::Amber,
        &[key(1).id(), key(3).id()],
    );
    publish(&mut net, 1, "TM-RED", Tlp::Red, &[key(2).id(), key(4).id()]);
    let expected: BTreeSet<TeamId> = [key(3).id()].into_iter().collect();
    assert_eq!(
        net.nodes[0].audience_peers(),
        expected,
        "only its own audiences"
    );
    let expected: BTreeSet<TeamId> = [key(4).id()].into_iter().collect();
    assert_eq!(net.nodes[1].audience_peers(), expected);
}

/// Catching up sends many batches of at most `max_batch_bytes`, not one
/// message as large as the wire allows: over a slow link each batch must
/// arrive within the transport's request timeout to count.
#[test]
fn catching_up_sends_batches_sized_for_slow_links() {
    let mut net = Net::new(2);
    for i in 0..700 {
        publish(&mut net, 0, &format!("TM-{i}"), Tlp::Green, &[]);
    }
    net.drop_outgoing();
    net.connect_all();
    net.run();
    assert_eq!(net.nodes[0].digest(), net.nodes[1].digest());
    let batches: Vec<usize> = net
        .log
        .iter()
        .filter_map(|(_, _, m)| match m {
            Message::Changes(list) if list.len() > 1 => Some(m.encode().len()),
            _ => None,
        })
        .collect();
    let limit = Config::default().max_batch_bytes;
    assert!(batches.len() >= 2, "{batches:?}");
    assert!(
        batches.iter().all(|b| *b <= limit + 1024),
        "batches over {limit} bytes: {batches:?}"
    );
}
