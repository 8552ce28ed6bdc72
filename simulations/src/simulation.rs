//! The simulator: many real cores (`Node<FaultyStore>`) on the virtual clock
//! and network, driven through the same sans-IO interface the node's
//! engine uses.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::rc::Rc;

use sha2::{Digest, Sha256};
use trustmesh_protocol::{
    ActorSuffix, Address, ChangeHash, Charter, CharterBody, Config, DocId, Founder, Guard,
    GuardConfig, Millis, Node, PeerBook, PeersConfig, Policy, Profile, StatementSet, TeamId,
    TeamKey, TeamKind, Tlp,
};

use crate::clock::EventQueue;
use crate::gossip::{Gossip, GossipConfig};
use crate::metrics::RunMetrics;
use crate::net::Network;
use crate::rng::SimRng;
use crate::scenario::{Behaviour, Scenario};
use crate::store::FaultyStore;

mod check;
mod gossip;
mod invariants;
mod join;
mod links;
mod measure;
mod packet;
mod publish;
mod timeline;
mod tracker;
mod transport;

use invariants::Invariants;
use join::admission;
use packet::Packet;
use tracker::Tracker;

/// Framing bytes added to every direct (request-response) message:
/// yamux frame header, Noise tag, stream negotiation, length prefix.
pub const SYNC_OVERHEAD: usize = 64;
/// Framing bytes added to every gossip data message: the above plus the
/// gossipsub RPC fields of a signed message (source, seqno, topic,
/// 64-byte signature).
pub const GOSSIP_OVERHEAD: usize = 160;
/// Bytes of a gossipsub control message (GRAFT, PRUNE) with framing.
pub const CONTROL_OVERHEAD: usize = 60;
/// Bytes per message id in IHAVE/IWANT.
pub const ID_BYTES: usize = 34;

/// Which dissemination a run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topology {
    /// Every node connects to a few random members; gossipsub plus the
    /// core's anti-entropy.
    Mesh,
    /// A star: every node connects only to node 0, which relays every new
    /// change and statement it accepts to everyone (a central portal).
    Hub,
}

impl Topology {
    /// The label in reports.
    pub fn label(self) -> &'static str {
        match self {
            Topology::Mesh => "mesh",
            Topology::Hub => "hub",
        }
    }
}

#[derive(Debug)]
enum Ev {
    Deliver {
        from: usize,
        to: usize,
        epoch: u32,
        packet: Packet,
    },
    Tick {
        node: usize,
        epoch: u32,
    },
    Heartbeat {
        node: usize,
        epoch: u32,
    },
    Publish,
    Update {
        author: usize,
        n: u64,
        tlp: Tlp,
        audience: Vec<TeamId>,
    },
    ContactEdit,
    Timeline(usize),
    Heal(u8),
    /// The disks of these nodes work again.
    StoreHeal(Vec<usize>),
    Restart(usize),
    Join(usize),
    /// A revoker tries its revocation (again).
    Revoke {
        by: usize,
        target: usize,
    },
    Sample,
}

/// What a node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Follows the protocol.
    Honest,
    /// Rewrites its outgoing traffic.
    Byzantine(Behaviour),
}

struct SimNode {
    key: TeamKey,
    role: Role,
    core: Option<Node<FaultyStore>>,
    /// The store while the node is down (the disk survives a crash).
    store: FaultyStore,
    processes: u32,
    epoch: u32,
    links: BTreeSet<usize>,
    gossip: Gossip,
    /// Bans and rate limits, the engine's policy (in memory: a restart
    /// forgets them, as the node's do).
    guard: Guard<TeamId>,
    /// Members' addresses and the dial state; its records are saved into
    /// `saved_book`, as the node saves them into its `peers` column family.
    book: PeerBook,
    saved_book: Vec<(Vec<u8>, Vec<u8>)>,
    /// The nodes whose addresses this node was configured with.
    bootstrap: Vec<usize>,
    tick_at: Option<Millis>,
    /// Admitted (initial members, or newcomers once admitted).
    member_since: Option<Millis>,
    /// A newcomer, which joins by sponsorship during the run.
    newcomer: bool,
    /// Whether a newcomer holds its application and introductions.
    sponsored: bool,
    bytes_out: u64,
    messages_out: u64,
    /// Recent outgoing data, replayed by a flooder.
    recent: VecDeque<Rc<[u8]>>,
    /// Refuses inbound connections (reached only through a relay).
    refuses_inbound: bool,
    /// Links whose path is down, and since when: the connection stays
    /// open (as a TCP connection behind a cut does) until failure
    /// detection closes it.
    stalled: BTreeMap<usize, Millis>,
}

impl SimNode {
    /// A node that has not started yet, with an empty store.
    fn new(key: TeamKey, role: Role, member_since: Option<Millis>, newcomer: bool) -> Self {
        Self {
            key,
            role,
            core: None,
            store: FaultyStore::new(),
            processes: 0,
            epoch: 0,
            links: BTreeSet::new(),
            gossip: Gossip::default(),
            guard: Guard::new(GuardConfig::default()),
            book: PeerBook::default(),
            saved_book: Vec::new(),
            bootstrap: Vec::new(),
            tick_at: None,
            member_since,
            newcomer,
            sponsored: false,
            bytes_out: 0,
            messages_out: 0,
            recent: VecDeque::new(),
            refuses_inbound: false,
            stalled: BTreeMap::new(),
        }
    }

    fn up(&self) -> bool {
        self.core.is_some()
    }
}

/// The address node `i` listens at: opaque bytes to the core, as a
/// multiaddr is.
fn address(i: usize) -> Address {
    Address::new(format!("/sim/{i}").into_bytes()).expect("a short address")
}

/// The node an address names.
fn node_at(a: &Address) -> Option<usize> {
    std::str::from_utf8(a.as_bytes())
        .ok()?
        .strip_prefix("/sim/")?
        .parse()
        .ok()
}

/// One run of a scenario in one topology.
pub struct Simulation<'a> {
    scenario: &'a Scenario,
    topology: Topology,
    seed: u64,
    queue: EventQueue<Ev>,
    rng: SimRng,
    net_rng: SimRng,
    gossip_config: GossipConfig,
    net: Network,
    charter: Charter,
    genesis: StatementSet,
    nodes: Vec<SimNode>,
    by_team: BTreeMap<TeamId, usize>,
    tracker: Tracker,
    invariants: Invariants,
    /// The audience (with the owner) of every restricted document published.
    audiences: BTreeMap<DocId, BTreeSet<TeamId>>,
    /// Connections to a node that refuses inbound ones, by their ends
    /// (lower index first): the member relaying them.
    relayed: BTreeMap<(usize, usize), usize>,
    forged: BTreeSet<(DocId, ChangeHash)>,
    revoked: BTreeSet<usize>,
    trace: Sha256,
    metrics: RunMetrics,
    published: u64,
    end_ms: Millis,
    events: u64,
    created: std::time::Instant,
    /// The last few distinct memberships nodes computed: a node whose own
    /// equals one of them holds that copy instead (a thousand nodes that
    /// agree hold one membership, not a thousand).
    memberships: VecDeque<std::sync::Arc<trustmesh_protocol::Membership>>,
}

fn profile(n: usize) -> Profile {
    Profile {
        name: format!("Simulated CSIRT {n}"),
        short_name: format!("SIM{n}"),
        country: "NL".to_owned(),
        kind: TeamKind::National,
        constituency: String::new(),
        email: String::new(),
        website: String::new(),
    }
}

/// Why a run could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// A statement of the initial membership was refused.
    #[error("initial membership: {0}")]
    Statement(#[from] trustmesh_protocol::StatementError),
}

impl<'a> Simulation<'a> {
    /// Sets up `scenario` for `seed` in `topology`: keys, charter, the
    /// initial membership (verified once and handed to every node), links.
    pub fn new(scenario: &'a Scenario, topology: Topology, seed: u64) -> Result<Self, SetupError> {
        let mut root = SimRng::new(seed);
        let mut rng = root.fork(1);
        let net_rng = root.fork(2);
        let mut setup = root.fork(3);
        let n = scenario.nodes;
        let keys: Vec<TeamKey> = (0..n)
            .map(|_| TeamKey::from_secret_bytes(setup.bytes32()))
            .collect();
        let founders = scenario.founders;
        let body = CharterBody::new(
            &scenario.name,
            1_700_000_000,
            keys[..founders]
                .iter()
                .enumerate()
                .map(|(i, k)| Founder {
                    id: k.id(),
                    profile: profile(i),
                })
                .collect(),
            Policy {
                sponsors_required: scenario.sponsors_required,
                revocation_quorum: scenario.revocation_quorum,
            },
        )?;
        let mut sigs = BTreeMap::new();
        for k in &keys[..founders] {
            sigs.insert(k.id(), body.sign(k)?);
        }
        let charter = Charter::seal(body, &sigs)?;
        let network = charter.network_id();
        let mut genesis = StatementSet::new(charter.clone());
        let k = usize::from(scenario.sponsors_required);
        for i in founders..n {
            let sponsors: Vec<usize> = setup.sample(&(0..i).collect::<Vec<_>>(), k);
            for s in admission(network, &keys[i], i, sponsors.iter().map(|&j| &keys[j]))? {
                genesis.insert(s)?;
            }
        }
        // Byzantine members: random non-founder members, never node 0.
        let mut roles = vec![Role::Honest; n];
        let mut candidates: Vec<usize> = (founders.max(1)..n).collect();
        setup.shuffle(&mut candidates);
        let mut next = candidates.into_iter();
        for spec in &scenario.byzantine {
            for _ in 0..spec.count {
                if let Some(i) = next.next() {
                    roles[i] = Role::Byzantine(spec.behaviour);
                }
            }
        }
        let regions: Vec<u8> = (0..n)
            .map(|i| (i % usize::from(scenario.regions)) as u8)
            .collect();
        let net = Network::new(scenario.network.clone(), regions, seed);
        let end_ms = (scenario.duration_s + scenario.settle_s) * 1000;
        let mut sim = Self {
            scenario,
            topology,
            seed,
            queue: EventQueue::new(),
            rng: rng.fork(4),
            net_rng,
            gossip_config: GossipConfig::default(),
            net,
            charter,
            genesis,
            nodes: Vec::with_capacity(n),
            by_team: BTreeMap::new(),
            tracker: Tracker::default(),
            invariants: Invariants::default(),
            audiences: BTreeMap::new(),
            relayed: BTreeMap::new(),
            forged: BTreeSet::new(),
            revoked: BTreeSet::new(),
            trace: Sha256::new(),
            metrics: RunMetrics {
                label: topology.label().to_owned(),
                virtual_ms: end_ms,
                ..RunMetrics::default()
            },
            published: 0,
            end_ms,
            events: 0,
            created: std::time::Instant::now(),
            memberships: VecDeque::new(),
        };
        // Members behind firewalls that refuse inbound connections: never
        // a founder (someone must be reachable to start from).
        let mut refusing: Vec<usize> = Vec::new();
        if scenario.refuse_inbound_pct > 0 {
            refusing = (founders.max(1)..n).collect();
            setup.shuffle(&mut refusing);
            let count = refusing.len() * scenario.refuse_inbound_pct.min(100) as usize / 100;
            refusing.truncate(count);
        }
        for (i, key) in keys.into_iter().enumerate() {
            sim.by_team.insert(key.id(), i);
            let mut node = SimNode::new(key, roles[i], Some(0), false);
            node.refuses_inbound = refusing.contains(&i);
            sim.nodes.push(node);
            sim.start(i);
        }
        sim.initial_links();
        for (i, e) in scenario.events.iter().enumerate() {
            sim.queue.schedule(e.at_s * 1000, Ev::Timeline(i));
        }
        if scenario.workload.advisories_per_hour > 0 {
            let gap = sim.gap(scenario.workload.advisories_per_hour);
            sim.queue.schedule(gap, Ev::Publish);
        }
        if scenario.workload.contact_edits_per_hour > 0 {
            let gap = sim.gap(scenario.workload.contact_edits_per_hour);
            sim.queue.schedule(gap, Ev::ContactEdit);
        }
        sim.queue.schedule(0, Ev::Sample);
        Ok(sim)
    }

    /// Runs to the end and returns the metrics, with the checks filled.
    pub fn run(self) -> RunMetrics {
        self.run_with_progress(|_, _| {})
    }

    /// Like [`Simulation::run`], calling `progress(now, end)` at every
    /// timeline sample (a hundred times a run).
    pub fn run_with_progress(mut self, mut progress: impl FnMut(Millis, Millis)) -> RunMetrics {
        while let Some((at, ev)) = self.queue.pop_until(self.end_ms) {
            self.events += 1;
            let sample = matches!(ev, Ev::Sample);
            self.step(at, ev);
            if sample {
                progress(at, self.end_ms);
            }
        }
        self.queue.advance(self.end_ms);
        self.sample();
        let wall = self.created.elapsed().as_millis() as u64;
        self.finish(wall)
    }

    fn now(&self) -> Millis {
        self.queue.now()
    }

    /// Time until the next of `per_hour` evenly spread events, with
    /// jitter of ±50%.
    fn gap(&mut self, per_hour: u64) -> Millis {
        let mean = 3_600_000 / per_hour.max(1);
        self.rng.between(mean / 2, mean + mean / 2).max(1)
    }

    fn config(&self, i: usize) -> Config {
        Config::default()
            .with_sync_interval(self.scenario.sync_interval_ms)
            .with_sync_fanout(self.scenario.sync_fanout)
            .with_cached_documents(self.scenario.limits.cached_documents)
            .with_seed(self.seed ^ (i as u64).wrapping_mul(0x9E37_79B9))
    }

    /// The node's guard settings, from the scenario's limits.
    fn guard_config(&self) -> GuardConfig {
        let l = &self.scenario.limits;
        GuardConfig::default()
            .with_rate(l.requests_per_second, l.request_burst)
            .with_ban(l.ban_secs.saturating_mul(1000))
    }

    /// The node's peer-book settings: the scenario's connections as the
    /// target (the hub baseline does not dial through the book).
    fn peers_config(&self) -> PeersConfig {
        PeersConfig::default().with_target_peers(self.scenario.connections)
    }

    /// Starts node `i`'s process from its store and saved peer book, and
    /// dials its bootstrap nodes.
    fn start(&mut self, i: usize) {
        let config = self.config(i);
        let peers_config = self.peers_config();
        let guard_config = self.guard_config();
        let now = self.now();
        let statements = if self.nodes[i].newcomer {
            StatementSet::new(self.charter.clone())
        } else {
            self.genesis.clone()
        };
        let node = &mut self.nodes[i];
        node.processes += 1;
        node.epoch += 1;
        let mut suffix = [0u8; 16];
        suffix[..8].copy_from_slice(&(i as u64).to_be_bytes());
        suffix[8..12].copy_from_slice(&node.processes.to_be_bytes());
        let store = std::mem::take(&mut node.store);
        // Reading a FaultyStore back never fails; a store that did would
        // leave the node down, counted.
        let Ok((core, _)) = Node::open_with_statements(
            config,
            node.key.clone(),
            ActorSuffix::from_bytes(suffix),
            statements,
            store,
            now,
        ) else {
            self.metrics.count("store_unreadable", 1);
            return;
        };
        node.core = Some(core);
        node.gossip = Gossip::default();
        node.guard = Guard::new(guard_config);
        node.book = PeerBook::new(peers_config);
        for (key, value) in &node.saved_book {
            if node.book.restore(key, value).is_err() {
                self.metrics.count("peer_record_unreadable", 1);
            }
        }
        node.tick_at = None;
        let epoch = node.epoch;
        let hb = self.rng.below(self.gossip_config.heartbeat_ms);
        self.queue
            .schedule(now + hb, Ev::Heartbeat { node: i, epoch });
        self.schedule_tick(i);
        if self.nodes[i].member_since.is_some() {
            for b in self.nodes[i].bootstrap.clone() {
                self.dial(i, b);
            }
        }
    }

    /// Node `i`'s disk, whether its process runs or not.
    fn disk(&self, i: usize) -> &FaultyStore {
        let node = &self.nodes[i];
        node.core.as_ref().map_or(&node.store, |c| c.store())
    }

    fn crash(&mut self, i: usize) {
        let Some(core) = self.nodes[i].core.take() else {
            return;
        };
        self.nodes[i].store = core.store().clone();
        self.nodes[i].epoch += 1;
        let links: Vec<usize> = self.nodes[i].links.iter().copied().collect();
        for p in links {
            self.cut(i, p);
        }
    }

    fn schedule_tick(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        let Some(at) = node.core.as_ref().and_then(|c| c.poll_timeout()) else {
            return;
        };
        if node.tick_at == Some(at) {
            return;
        }
        node.tick_at = Some(at);
        let epoch = node.epoch;
        self.queue.schedule(at, Ev::Tick { node: i, epoch });
    }

    fn is_honest(&self, i: usize) -> bool {
        self.nodes[i].role == Role::Honest && !self.revoked.contains(&i)
    }

    fn live_members(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| {
                self.nodes[i].up()
                    && self.nodes[i].member_since.is_some()
                    && !self.revoked.contains(&i)
            })
            .collect()
    }

    fn step(&mut self, at: Millis, ev: Ev) {
        match ev {
            Ev::Deliver {
                from,
                to,
                epoch,
                packet,
            } => {
                if self.nodes[to].epoch != epoch || !self.nodes[to].up() {
                    self.metrics.count("dropped_receiver_restarted", 1);
                    return;
                }
                if !packet.is_join() && !self.nodes[to].links.contains(&from) {
                    self.metrics.count("dropped_link_closed", 1);
                    return;
                }
                self.trace.update(at.to_be_bytes());
                self.trace.update((from as u64).to_be_bytes());
                self.trace.update((to as u64).to_be_bytes());
                self.trace.update([packet.kind()]);
                self.trace.update(packet.digest());
                self.deliver(from, to, packet);
            }
            Ev::Tick { node, epoch } => {
                let n = &mut self.nodes[node];
                if n.epoch != epoch || n.tick_at != Some(at) {
                    return;
                }
                n.tick_at = None;
                if let Some(c) = n.core.as_mut() {
                    c.handle_timeout(at);
                }
                self.drain(node);
            }
            Ev::Heartbeat { node, epoch } => {
                if self.nodes[node].epoch != epoch || !self.nodes[node].up() {
                    return;
                }
                self.heartbeat(node);
                let next = at + self.gossip_config.heartbeat_ms;
                self.queue.schedule(next, Ev::Heartbeat { node, epoch });
            }
            Ev::Publish => {
                self.publish();
                if at < self.scenario.duration_s * 1000 {
                    let gap = self.gap(self.scenario.workload.advisories_per_hour);
                    if at + gap <= self.scenario.duration_s * 1000 {
                        self.queue.schedule(at + gap, Ev::Publish);
                    }
                }
            }
            Ev::Update {
                author,
                n,
                tlp,
                audience,
            } => self.update(author, n, tlp, &audience),
            Ev::ContactEdit => {
                self.contact_edit();
                let gap = self.gap(self.scenario.workload.contact_edits_per_hour);
                if at + gap <= self.scenario.duration_s * 1000 {
                    self.queue.schedule(at + gap, Ev::ContactEdit);
                }
            }
            Ev::Timeline(i) => {
                self.trace.update(b"timeline");
                self.trace.update((i as u64).to_be_bytes());
                self.timeline(i);
            }
            Ev::Heal(region) => {
                self.trace.update(b"heal");
                self.net.heal(region);
            }
            Ev::StoreHeal(nodes) => {
                self.trace.update(b"store heal");
                for i in nodes {
                    self.disk(i).set_fault(None);
                }
            }
            Ev::Restart(i) => {
                self.trace.update(b"restart");
                self.trace.update((i as u64).to_be_bytes());
                if !self.nodes[i].up() {
                    self.start(i);
                }
            }
            Ev::Join(i) => self.attempt_join(i),
            Ev::Revoke { by, target } => {
                self.trace.update(b"revoke");
                self.revoke_by(by, target);
            }
            Ev::Sample => {
                self.sample();
                self.sample_invariants();
                let every = (self.end_ms / 100).max(1000);
                self.queue.schedule(at + every, Ev::Sample);
            }
        }
    }
}

#[cfg(test)]
mod tests;
