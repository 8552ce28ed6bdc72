//! The simulator: many real cores (`Node<MemStore>`) on the virtual clock
//! and network, driven through the same sans-IO interface the node's
//! engine uses.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::rc::Rc;

use sha2::{Digest, Sha256};
use trustmesh_protocol::{
    ActorSuffix, Application, ChangeHash, Charter, CharterBody, Config, Destination, DocId, Event,
    Founder, Introduction, JoinRequest, JoinResponse, MemStore, Message, Millis, Node, Policy,
    Profile, Revocation, SignedStatement, Statement, StatementId, StatementSet, TeamId, TeamKey,
    TeamKind, Tlp, Transmit, Verdict,
};

use crate::byzantine;
use crate::clock::EventQueue;
use crate::gossip::{Gossip, GossipConfig, MsgId, message_id};
use crate::metrics::{RunMetrics, Sample, peak_rss_kib};
use crate::net::{Dropped, Network};
use crate::rng::SimRng;
use crate::scenario::{Action, Behaviour, Scenario};
use crate::workload;

mod check;
mod tracker;

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
/// How long a node blocks a peer that sent invalid data (the node's
/// default `ban_secs`).
pub const BAN_MS: Millis = 600_000;

/// How often, on average, a node with enough connections still dials a
/// random member.
pub const REDIAL_MS: Millis = 60_000;

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

#[derive(Debug, Clone)]
enum Packet {
    /// A core message sent to one peer (request-response).
    Direct(Rc<[u8]>),
    /// A gossipsub data message.
    Gossip(Rc<[u8]>),
    IHave(Rc<[MsgId]>),
    IWant(Vec<MsgId>),
    Graft,
    Prune,
    JoinRequest(Rc<[u8]>),
    JoinResponse(Rc<[u8]>),
}

impl Packet {
    fn wire_len(&self) -> usize {
        match self {
            Packet::Direct(b) | Packet::JoinRequest(b) | Packet::JoinResponse(b) => {
                b.len() + SYNC_OVERHEAD
            }
            Packet::Gossip(b) => b.len() + GOSSIP_OVERHEAD,
            Packet::IHave(ids) => CONTROL_OVERHEAD + ids.len() * ID_BYTES,
            Packet::IWant(ids) => CONTROL_OVERHEAD + ids.len() * ID_BYTES,
            Packet::Graft | Packet::Prune => CONTROL_OVERHEAD,
        }
    }

    fn kind(&self) -> u8 {
        match self {
            Packet::Direct(_) => 1,
            Packet::Gossip(_) => 2,
            Packet::IHave(_) => 3,
            Packet::IWant(_) => 4,
            Packet::Graft => 5,
            Packet::Prune => 6,
            Packet::JoinRequest(_) => 7,
            Packet::JoinResponse(_) => 8,
        }
    }

    fn digest(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        match self {
            Packet::Direct(b)
            | Packet::Gossip(b)
            | Packet::JoinRequest(b)
            | Packet::JoinResponse(b) => h.update(b),
            Packet::IHave(ids) => ids.iter().for_each(|i| h.update(i)),
            Packet::IWant(ids) => ids.iter().for_each(|i| h.update(i)),
            Packet::Graft | Packet::Prune => {}
        }
        h.finalize().into()
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
    Restart(usize),
    Join(usize),
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
    core: Option<Node<MemStore>>,
    /// The store while the node is down (the disk survives a crash).
    store: MemStore,
    processes: u32,
    epoch: u32,
    links: BTreeSet<usize>,
    gossip: Gossip,
    banned: BTreeMap<usize, Millis>,
    tick_at: Option<Millis>,
    /// Admitted (initial members, or newcomers once admitted).
    member_since: Option<Millis>,
    /// A newcomer's application and introductions.
    join: Option<Vec<SignedStatement>>,
    bytes_out: u64,
    messages_out: u64,
    /// Recent outgoing data, replayed by a flooder.
    recent: VecDeque<Rc<[u8]>>,
}

impl SimNode {
    /// A node that has not started yet, with an empty store.
    fn new(
        key: TeamKey,
        role: Role,
        member_since: Option<Millis>,
        join: Option<Vec<SignedStatement>>,
    ) -> Self {
        Self {
            key,
            role,
            core: None,
            store: MemStore::new(),
            processes: 0,
            epoch: 0,
            links: BTreeSet::new(),
            gossip: Gossip::default(),
            banned: BTreeMap::new(),
            tick_at: None,
            member_since,
            join,
            bytes_out: 0,
            messages_out: 0,
            recent: VecDeque::new(),
        }
    }

    fn up(&self) -> bool {
        self.core.is_some()
    }
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
    forged: BTreeSet<(DocId, ChangeHash)>,
    revoked: BTreeSet<usize>,
    trace: Sha256,
    metrics: RunMetrics,
    published: u64,
    end_ms: Millis,
    events: u64,
    created: std::time::Instant,
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
        };
        for (i, key) in keys.into_iter().enumerate() {
            sim.by_team.insert(key.id(), i);
            sim.nodes.push(SimNode::new(key, roles[i], Some(0), None));
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

    // ---- nodes -----------------------------------------------------------

    fn config(&self, i: usize) -> Config {
        Config::default()
            .with_sync_interval(self.scenario.sync_interval_ms)
            .with_sync_fanout(self.scenario.sync_fanout)
            .with_seed(self.seed ^ (i as u64).wrapping_mul(0x9E37_79B9))
    }

    /// Starts node `i`'s process from its store.
    fn start(&mut self, i: usize) {
        let config = self.config(i);
        let now = self.now();
        let statements = if self.nodes[i].join.is_some() {
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
        let (core, _) = match Node::open_with_statements(
            config,
            node.key.clone(),
            ActorSuffix::from_bytes(suffix),
            statements,
            store,
            now,
        ) {
            Ok(x) => x,
            Err(e) => match e {},
        };
        node.core = Some(core);
        node.gossip = Gossip::default();
        node.tick_at = None;
        let epoch = node.epoch;
        let hb = self.rng.below(self.gossip_config.heartbeat_ms);
        self.queue
            .schedule(now + hb, Ev::Heartbeat { node: i, epoch });
        self.schedule_tick(i);
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

    // ---- links -----------------------------------------------------------

    fn initial_links(&mut self) {
        let n = self.nodes.len();
        match self.topology {
            Topology::Hub => {
                for i in 1..n {
                    self.connect(0, i);
                }
            }
            Topology::Mesh => {
                let want = self.scenario.connections.min(n.saturating_sub(1));
                for i in 0..n {
                    let mut tries = 0;
                    while self.nodes[i].links.len() < want && tries < 4 * want {
                        tries += 1;
                        let j = self.rng.below(n as u64) as usize;
                        self.connect(i, j);
                    }
                }
            }
        }
    }

    fn max_links(&self) -> usize {
        match self.topology {
            Topology::Mesh => 2 * self.scenario.connections.max(1),
            Topology::Hub => usize::MAX,
        }
    }

    /// Opens a connection if both ends are up, reachable, not banning each
    /// other, and each sees the other as a member (the admission gate).
    fn connect(&mut self, a: usize, b: usize) -> bool {
        if a == b || self.nodes[a].links.contains(&b) {
            return false;
        }
        if self.topology == Topology::Hub && a != 0 && b != 0 {
            return false;
        }
        let now = self.now();
        let ok = |x: usize, y: usize, sim: &Self| {
            let node = &sim.nodes[x];
            node.core
                .as_ref()
                .is_some_and(|c| c.membership().is_member(&sim.nodes[y].key.id()))
                && node.banned.get(&y).is_none_or(|&until| until <= now)
                && node.links.len() < sim.max_links()
        };
        if !ok(a, b, self) || !ok(b, a, self) || !self.net.reachable(a, b) {
            return false;
        }
        self.nodes[a].links.insert(b);
        self.nodes[b].links.insert(a);
        let (ta, tb) = (self.nodes[a].key.id(), self.nodes[b].key.id());
        if let Some(c) = self.nodes[a].core.as_mut() {
            c.peer_connected(now, tb);
        }
        if let Some(c) = self.nodes[b].core.as_mut() {
            c.peer_connected(now, ta);
        }
        self.drain(a);
        self.drain(b);
        true
    }

    fn cut(&mut self, a: usize, b: usize) {
        for (x, y) in [(a, b), (b, a)] {
            let team = self.nodes[y].key.id();
            let node = &mut self.nodes[x];
            node.links.remove(&y);
            node.gossip.link_down(y);
            if let Some(c) = node.core.as_mut() {
                c.peer_disconnected(&team);
            }
        }
    }

    fn ban(&mut self, at: usize, offender: usize, reason: &str) {
        self.metrics.count(&format!("banned_{reason}"), 1);
        let until = self.now() + BAN_MS;
        self.nodes[at].banned.insert(offender, until);
        self.cut(at, offender);
    }

    // ---- sending -----------------------------------------------------------

    fn send(&mut self, from: usize, to: usize, packet: Packet) {
        if !self.nodes[from].up() || from == to {
            return;
        }
        let len = packet.wire_len();
        self.nodes[from].bytes_out += len as u64;
        self.nodes[from].messages_out += 1;
        let now = self.now();
        match self.net.send(now, from, to, len, &mut self.net_rng) {
            Ok(at) => {
                let epoch = self.nodes[to].epoch;
                self.queue.schedule(
                    at,
                    Ev::Deliver {
                        from,
                        to,
                        epoch,
                        packet,
                    },
                );
            }
            Err(Dropped::Lost) => self.metrics.count("lost", 1),
            Err(Dropped::Partitioned) => self.metrics.count("partitioned", 1),
        }
    }

    /// Drains node `i`'s transmits and events, then reschedules its tick.
    fn drain(&mut self, i: usize) {
        loop {
            let Some(core) = self.nodes[i].core.as_mut() else {
                return;
            };
            if let Some(t) = core.poll_transmit() {
                self.route(i, t);
                continue;
            }
            if let Some(e) = core.poll_event() {
                self.on_core_event(i, e);
                continue;
            }
            break;
        }
        self.schedule_tick(i);
    }

    fn on_core_event(&mut self, i: usize, e: Event) {
        if let Event::Disconnect(team) = e
            && let Some(&j) = self.by_team.get(&team)
            && self.nodes[i].links.contains(&j)
        {
            self.cut(i, j);
        }
    }

    fn route(&mut self, i: usize, t: Transmit) {
        let payloads: Vec<Rc<[u8]>> = match self.nodes[i].role {
            Role::Honest => vec![Rc::from(t.message.encode())],
            Role::Byzantine(b) => {
                let (out, forged) =
                    byzantine::rewrite(b, self.nodes[i].key.id(), &t.message, &mut self.rng);
                self.forged.extend(forged);
                out.into_iter().map(Rc::from).collect()
            }
        };
        for bytes in payloads {
            if self.nodes[i].role == Role::Byzantine(Behaviour::Flood) {
                let recent = &mut self.nodes[i].recent;
                recent.push_back(bytes.clone());
                if recent.len() > 8 {
                    recent.pop_front();
                }
            }
            match t.to {
                Destination::Peer(p) => {
                    if let Some(&j) = self.by_team.get(&p)
                        && self.nodes[i].links.contains(&j)
                    {
                        self.send(i, j, Packet::Direct(bytes));
                    }
                }
                Destination::Gossip => self.publish_gossip(i, bytes),
            }
        }
    }

    /// A node's own gossip: flood-published in the mesh; sent to the hub
    /// (or by the hub to everyone) in the star.
    fn publish_gossip(&mut self, i: usize, bytes: Rc<[u8]>) {
        let links: Vec<usize> = self.nodes[i].links.iter().copied().collect();
        match self.topology {
            Topology::Mesh => {
                let id = message_id(&bytes);
                let now = self.now();
                self.nodes[i].gossip.first_seen(now, id);
                self.nodes[i].gossip.remember(id, bytes.clone());
                for p in links {
                    self.send(i, p, Packet::Gossip(bytes.clone()));
                }
            }
            Topology::Hub => {
                for p in links {
                    self.send(i, p, Packet::Direct(bytes.clone()));
                }
            }
        }
    }

    // ---- the event loop ----------------------------------------------------

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
                let is_join = matches!(packet, Packet::JoinRequest(_) | Packet::JoinResponse(_));
                if !is_join && !self.nodes[to].links.contains(&from) {
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
            Ev::Restart(i) => {
                self.trace.update(b"restart");
                self.trace.update((i as u64).to_be_bytes());
                if !self.nodes[i].up() {
                    self.start(i);
                }
            }
            Ev::Join(i) => self.attempt_join(i),
            Ev::Sample => {
                self.sample();
                let every = (self.end_ms / 100).max(1000);
                self.queue.schedule(at + every, Ev::Sample);
            }
        }
    }

    fn deliver(&mut self, from: usize, to: usize, packet: Packet) {
        match packet {
            Packet::Direct(bytes) => {
                let Some(message) = self.decode(from, to, &bytes) else {
                    return;
                };
                let verdict = self.handle(from, to, message);
                if self.topology == Topology::Hub && to == 0 && verdict == Verdict::Accept {
                    // The hub relays everything new to everyone else.
                    let links: Vec<usize> = self.nodes[0].links.iter().copied().collect();
                    for p in links.into_iter().filter(|&p| p != from) {
                        self.send(0, p, Packet::Direct(bytes.clone()));
                    }
                }
            }
            Packet::Gossip(bytes) => {
                let id = message_id(&bytes);
                let now = self.now();
                if !self.nodes[to].gossip.first_seen(now, id) {
                    self.metrics.count("gossip_duplicates", 1);
                    return;
                }
                let Some(message) = self.decode(from, to, &bytes) else {
                    return;
                };
                if !matches!(message, Message::Statements(_) | Message::Changes(_)) {
                    self.ban(to, from, "gossip_kind");
                    return;
                }
                if self.handle(from, to, message) == Verdict::Accept {
                    self.nodes[to].gossip.remember(id, bytes.clone());
                    let mesh: Vec<usize> = self.nodes[to].gossip.mesh().iter().copied().collect();
                    for p in mesh.into_iter().filter(|&p| p != from) {
                        self.send(to, p, Packet::Gossip(bytes.clone()));
                    }
                }
            }
            Packet::IHave(ids) => {
                let want = self.nodes[to].gossip.wanted(&ids);
                if !want.is_empty() {
                    self.send(to, from, Packet::IWant(want));
                }
            }
            Packet::IWant(ids) => {
                for id in ids {
                    if let Some(bytes) = self.nodes[to].gossip.cached(&id) {
                        self.send(to, from, Packet::Gossip(bytes));
                    }
                }
            }
            Packet::Graft => {
                let config = self.gossip_config.clone();
                if !self.nodes[to].gossip.on_graft(from, &config) {
                    self.send(to, from, Packet::Prune);
                }
            }
            Packet::Prune => self.nodes[to].gossip.on_prune(from),
            Packet::JoinRequest(bytes) => {
                let Ok(request) = JoinRequest::decode(&bytes) else {
                    self.metrics.count("join_malformed", 1);
                    return;
                };
                let now = self.now();
                let team = self.nodes[from].key.id();
                let ids: Vec<_> = self.nodes[from]
                    .join
                    .iter()
                    .flatten()
                    .map(|s| s.id())
                    .collect();
                let Some(core) = self.nodes[to].core.as_mut() else {
                    return;
                };
                let response = core.handle_join_request(now, team, request);
                let tracked: Vec<[u8; 32]> = ids
                    .iter()
                    .filter(|id| core.statements().contains(id))
                    .map(|id| *id.as_bytes())
                    .collect();
                for key in tracked {
                    self.tracker.received(key, to, now);
                }
                self.drain(to);
                self.send(to, from, Packet::JoinResponse(Rc::from(response.encode())));
            }
            Packet::JoinResponse(bytes) => {
                let Ok(response) = JoinResponse::decode(&bytes) else {
                    self.metrics.count("join_malformed", 1);
                    return;
                };
                let now = self.now();
                let team = self.nodes[from].key.id();
                let Some(core) = self.nodes[to].core.as_mut() else {
                    return;
                };
                core.handle_join_response(now, team, response);
                let held: Vec<[u8; 32]> = self
                    .tracker
                    .pending_for(to)
                    .into_iter()
                    .filter(|k| core.statements().contains(&StatementId::from_bytes(*k)))
                    .collect();
                for key in held {
                    self.tracker.received(key, to, now);
                }
                if core.is_member() && self.nodes[to].member_since.is_none() {
                    self.nodes[to].member_since = Some(now);
                    self.metrics.count("joins_admitted", 1);
                    self.connect(to, from);
                }
                self.drain(to);
            }
        }
    }

    fn decode(&mut self, from: usize, to: usize, bytes: &[u8]) -> Option<Message> {
        match Message::decode(bytes) {
            Ok(m) => Some(m),
            Err(_) => {
                self.metrics.count("rejected_malformed", 1);
                self.ban(to, from, "malformed");
                None
            }
        }
    }

    /// Hands a message to the core, records which tracked items it
    /// delivered, drains the core's output, and bans on a rejection.
    fn handle(&mut self, from: usize, to: usize, message: Message) -> Verdict {
        let keys: Vec<[u8; 32]> = match &message {
            Message::Changes(list) => list
                .iter()
                .map(|c| *c.hash().as_bytes())
                .filter(|k| self.tracker.pending(k, to))
                .collect(),
            Message::Statements(list) => list
                .iter()
                .map(|s| *s.id().as_bytes())
                .filter(|k| self.tracker.pending(k, to))
                .collect(),
            _ => vec![],
        };
        let docs: Vec<(DocId, ChangeHash)> = match &message {
            Message::Changes(list) => list.iter().map(|c| (c.doc(), c.hash())).collect(),
            _ => vec![],
        };
        let now = self.now();
        let team = self.nodes[from].key.id();
        let Some(core) = self.nodes[to].core.as_mut() else {
            return Verdict::Ignore;
        };
        let verdict = core.handle_message(now, team, message);
        for key in keys {
            let held = core.statements().contains(&StatementId::from_bytes(key))
                || docs
                    .iter()
                    .any(|(d, h)| h.as_bytes() == &key && core.documents().change(d, h).is_some());
            if held {
                self.tracker.received(key, to, now);
            }
        }
        self.drain(to);
        if let Verdict::Reject(r) = &verdict {
            self.metrics.count(&format!("rejected_{}", r.name()), 1);
            self.ban(to, from, r.name());
        }
        verdict
    }

    fn heartbeat(&mut self, i: usize) {
        let now = self.now();
        self.nodes[i].banned.retain(|_, until| *until > now);
        // Keep enough connections (the node redials members from its peer
        // book; here: random members it knows of).
        let want = match self.topology {
            Topology::Mesh => self.scenario.connections,
            Topology::Hub => 1,
        };
        // Below the target it dials at every heartbeat; at the target it
        // still dials one random member every `REDIAL_MS` (as discovery
        // keeps finding peers), so a healed partition reconnects even when
        // every node filled its links on its own side.
        let below = self.nodes[i].links.len() < want;
        let explore = self.rng.below(REDIAL_MS / self.gossip_config.heartbeat_ms) == 0;
        if (below || explore) && self.nodes[i].member_since.is_some() {
            let target = match self.topology {
                Topology::Hub => (i != 0).then_some(0),
                Topology::Mesh => self.nodes[i].core.as_ref().and_then(|c| {
                    let members = c.membership().members();
                    let pick = self.rng.below(members.len() as u64) as usize;
                    members
                        .iter()
                        .nth(pick)
                        .and_then(|t| self.by_team.get(t).copied())
                }),
            };
            if let Some(j) = target {
                self.connect(i, j);
            }
        }
        if self.topology == Topology::Mesh {
            let links = self.nodes[i].links.clone();
            let config = self.gossip_config.clone();
            let hb = self.nodes[i]
                .gossip
                .heartbeat(now, &links, &config, &mut self.rng);
            for p in hb.graft {
                self.send(i, p, Packet::Graft);
            }
            for p in hb.prune {
                self.send(i, p, Packet::Prune);
            }
            for (p, ids) in hb.ihave {
                self.send(i, p, Packet::IHave(Rc::from(ids)));
            }
        }
        if self.nodes[i].role == Role::Byzantine(Behaviour::Flood) {
            let links: Vec<usize> = self.nodes[i].links.iter().copied().collect();
            let recent: Vec<Rc<[u8]>> = self.nodes[i].recent.iter().cloned().collect();
            for p in links {
                for bytes in &recent {
                    for _ in 0..4 {
                        self.send(i, p, Packet::Direct(bytes.clone()));
                    }
                }
                let junk = byzantine::junk(&mut self.rng);
                self.send(i, p, Packet::Gossip(Rc::from(junk)));
            }
        }
    }

    // ---- workload ------------------------------------------------------------

    fn publish(&mut self) {
        let live = self.live_members();
        let Some(pick) = self.rng.index(live.len()) else {
            return;
        };
        let author = live[pick];
        self.published += 1;
        let n = self.published;
        let now = self.now();
        if self.nodes[author].role == Role::Byzantine(Behaviour::Unauthorized) {
            let others: Vec<usize> = live.iter().copied().filter(|&v| v != author).collect();
            let Some(victim) = self.rng.index(others.len()).map(|v| others[v]) else {
                return;
            };
            let node = &self.nodes[author];
            let suffix = ActorSuffix::from_bytes([0xEE; 16]);
            if let Some(change) = byzantine::unauthorized_change(
                self.charter.network_id(),
                &node.key,
                suffix,
                self.nodes[victim].key.id(),
                n,
            ) {
                self.forged.insert((change.doc(), change.hash()));
                self.route(
                    author,
                    Transmit {
                        to: Destination::Gossip,
                        message: Message::Changes(vec![change]),
                    },
                );
            }
            return;
        }
        let amber = self.rng.below(100) < self.scenario.workload.amber_pct;
        let (tlp, audience) = if amber {
            let mut aud: Vec<usize> = self.rng.sample(&live, 4);
            aud.retain(|&a| a != author);
            aud.truncate(3);
            (
                Tlp::Amber,
                aud.iter()
                    .map(|&a| self.nodes[a].key.id())
                    .collect::<Vec<_>>(),
            )
        } else {
            (Tlp::Green, vec![])
        };
        let advisory = workload::advisory(n, tlp, &audience);
        let Some(core) = self.nodes[author].core.as_mut() else {
            return;
        };
        match core.publish_advisory(now, &advisory) {
            Ok(change) => {
                let aud = amber.then(|| self.audience_of(author, &audience));
                self.track_change(author, change.hash(), aud);
            }
            Err(_) => self.metrics.count("publish_failed", 1),
        }
        self.drain(author);
        if self.rng.below(100) < self.scenario.workload.update_pct {
            let later = now + self.rng.between(60_000, 1_800_000);
            if later <= self.scenario.duration_s * 1000 {
                self.queue.schedule(
                    later,
                    Ev::Update {
                        author,
                        n,
                        tlp,
                        audience,
                    },
                );
            }
        }
    }

    fn audience_of(&self, author: usize, audience: &[TeamId]) -> BTreeSet<usize> {
        let mut set: BTreeSet<usize> = audience
            .iter()
            .filter_map(|t| self.by_team.get(t).copied())
            .collect();
        set.insert(author);
        set
    }

    fn update(&mut self, author: usize, n: u64, tlp: Tlp, audience: &[TeamId]) {
        let now = self.now();
        let mut advisory = workload::advisory(n, tlp, audience);
        advisory.revisions.push(workload::revision(2));
        advisory.indicators.pop();
        let owner = self.nodes[author].key.id();
        let Some(core) = self.nodes[author].core.as_mut() else {
            return;
        };
        if let Ok(Some(change)) = core.update_advisory(now, owner, &advisory) {
            let aud = (tlp != Tlp::Green).then(|| self.audience_of(author, audience));
            self.track_change(author, change.hash(), aud);
        }
        self.drain(author);
    }

    fn contact_edit(&mut self) {
        let live: Vec<usize> = self
            .live_members()
            .into_iter()
            .filter(|&i| self.is_honest(i))
            .collect();
        let Some(pick) = self.rng.index(live.len()) else {
            return;
        };
        let author = live[pick];
        self.published += 1;
        let contact = workload::contact(author, self.published);
        let now = self.now();
        let Some(core) = self.nodes[author].core.as_mut() else {
            return;
        };
        if let Ok(Some(change)) = core.edit_contact(now, &contact) {
            self.track_change(author, change.hash(), None);
        }
        self.drain(author);
    }

    /// Tracks an honest author's change (a Byzantine author's changes
    /// need not spread; the checks cover what they do).
    fn track_change(&mut self, author: usize, hash: ChangeHash, audience: Option<BTreeSet<usize>>) {
        if !self.is_honest(author) {
            return;
        }
        let now = self.now();
        self.tracker
            .published(*hash.as_bytes(), author, now, audience);
    }

    // ---- timeline ---------------------------------------------------------

    fn timeline(&mut self, i: usize) {
        let now = self.now();
        let action = self.scenario.events[i].action.clone();
        match action {
            Action::Partition { region, duration_s } => {
                self.net.isolate(region);
                for a in 0..self.nodes.len() {
                    let cross: Vec<usize> = self.nodes[a]
                        .links
                        .iter()
                        .copied()
                        .filter(|&b| !self.net.reachable(a, b))
                        .collect();
                    for b in cross {
                        self.cut(a, b);
                    }
                }
                self.queue
                    .schedule(now + duration_s * 1000, Ev::Heal(region));
            }
            Action::HubFailure { duration_s } => {
                self.crash(0);
                self.queue.schedule(now + duration_s * 1000, Ev::Restart(0));
            }
            Action::Churn { pct, down_s } => {
                let candidates: Vec<usize> = self
                    .live_members()
                    .into_iter()
                    .filter(|&i| i != 0 && self.is_honest(i))
                    .collect();
                let count = (candidates.len() as u64 * pct / 100) as usize;
                for v in self.rng.sample(&candidates, count) {
                    self.crash(v);
                    let down = self.rng.between(down_s[0], down_s[1]) * 1000;
                    self.queue.schedule(now + down.max(1), Ev::Restart(v));
                }
            }
            Action::Join { count, over_s } => {
                for j in 0..count {
                    let region = self.rng.below(u64::from(self.scenario.regions)) as u8;
                    let idx = self.add_newcomer(region);
                    let at = now + over_s * 1000 * j as u64 / count.max(1) as u64;
                    self.queue.schedule(at, Ev::Join(idx));
                }
            }
            Action::Revoke => self.revoke(),
        }
    }

    fn add_newcomer(&mut self, region: u8) -> usize {
        let key = TeamKey::from_secret_bytes(self.rng.bytes32());
        let idx = self.net.add_node(region);
        debug_assert_eq!(idx, self.nodes.len());
        self.by_team.insert(key.id(), idx);
        self.nodes
            .push(SimNode::new(key, Role::Honest, None, Some(vec![])));
        idx
    }

    /// A newcomer asks k live honest members to sponsor it (out of band:
    /// they sign introductions), then sends its join request to one of
    /// them, retrying every 30 s until admitted.
    fn attempt_join(&mut self, i: usize) {
        if self.nodes[i].member_since.is_some() {
            return;
        }
        if !self.nodes[i].up() {
            self.start(i);
        }
        let now = self.now();
        let sponsors_live: Vec<usize> = self
            .live_members()
            .into_iter()
            .filter(|&j| self.is_honest(j) && j != i)
            .collect();
        if self.nodes[i].join.as_ref().is_some_and(Vec::is_empty) {
            let k = usize::from(self.scenario.sponsors_required);
            let sponsors = self.rng.sample(&sponsors_live, k);
            if sponsors.len() < k {
                self.queue.schedule(now + 30_000, Ev::Join(i));
                return;
            }
            let network = self.charter.network_id();
            let keys: Vec<&TeamKey> = sponsors.iter().map(|&s| &self.nodes[s].key).collect();
            match admission(network, &self.nodes[i].key, i, keys.into_iter()) {
                Ok(statements) => {
                    for s in &statements {
                        self.tracker.published(*s.id().as_bytes(), i, now, None);
                    }
                    self.nodes[i].join = Some(statements);
                }
                Err(_) => return,
            }
        }
        let Some(&to) = sponsors_live.get(self.rng.below(sponsors_live.len() as u64) as usize)
        else {
            self.queue.schedule(now + 30_000, Ev::Join(i));
            return;
        };
        let request = JoinRequest {
            statements: self.nodes[i].join.clone().unwrap_or_default(),
        };
        self.send(i, to, Packet::JoinRequest(Rc::from(request.encode())));
        self.queue.schedule(now + 30_000, Ev::Join(i));
    }

    /// The first Byzantine member is revoked by r live honest M0 members,
    /// keeping its introductions (it vouched for teams honestly before its
    /// key was stolen).
    fn revoke(&mut self) {
        let Some(target) =
            (0..self.nodes.len()).find(|&i| matches!(self.nodes[i].role, Role::Byzantine(_)))
        else {
            return;
        };
        let now = self.now();
        let revokers: Vec<usize> = (0..self.scenario.nodes)
            .filter(|&i| self.nodes[i].up() && self.is_honest(i) && i != target)
            .take(usize::from(self.scenario.revocation_quorum))
            .collect();
        let network = self.charter.network_id();
        let revoked = self.nodes[target].key.id();
        for r in revokers {
            let key = self.nodes[r].key.clone();
            let Some(core) = self.nodes[r].core.as_mut() else {
                continue;
            };
            let mut kept: Vec<_> = core
                .statements()
                .iter()
                .filter(
                    |s| matches!(s.statement(), Statement::Introduction(i) if i.sponsor == revoked),
                )
                .map(|s| s.id())
                .collect();
            kept.sort();
            let statement = Statement::Revocation(Revocation {
                network,
                revoker: key.id(),
                revoked,
                created_at: 1_700_000_000 + now / 1000,
                reason: "key compromised".to_owned(),
                kept_introductions: kept,
                kept_heads: vec![],
            });
            let Ok(signed) = SignedStatement::sign(statement, &key) else {
                continue;
            };
            let id = *signed.id().as_bytes();
            if let Ok(true) = core.submit_statement(signed) {
                self.tracker.published(id, r, now, None);
            }
            self.drain(r);
        }
        self.revoked.insert(target);
    }

    // ---- measurement ---------------------------------------------------------

    fn expected_holders(&self) -> Vec<(usize, Millis)> {
        (0..self.nodes.len())
            .filter(|&i| self.nodes[i].up() && self.is_honest(i))
            .filter_map(|i| self.nodes[i].member_since.map(|t| (i, t)))
            .collect()
    }

    fn sample(&mut self) {
        let now = self.now();
        let holders = self.expected_holders();
        let delivered = self.tracker.delivered_fraction(&holders);
        let (bytes, messages) = self
            .nodes
            .iter()
            .fold((0, 0), |(b, m), n| (b + n.bytes_out, m + n.messages_out));
        self.metrics.timeline.push(Sample {
            at_ms: now,
            bytes,
            messages,
            delivered,
        });
    }

    fn finish(mut self, wall_ms: u64) -> RunMetrics {
        let holders = self.expected_holders();
        let (convergence, unconverged, delays) = self.tracker.convergence(&holders);
        self.metrics.convergence_ms = convergence;
        self.metrics.unconverged = unconverged;
        self.metrics.delays_ms = delays;
        self.metrics.items = self.tracker.len();
        self.metrics.nodes = self.nodes.len();
        let members: Vec<&SimNode> = self
            .nodes
            .iter()
            .filter(|n| n.member_since.is_some())
            .collect();
        self.metrics.bytes_per_node = members.iter().map(|n| n.bytes_out).collect();
        self.metrics.messages_per_node = members.iter().map(|n| n.messages_out).collect();
        self.metrics.checks = check::run(&self);
        for n in &self.nodes {
            if let Some(c) = &n.core {
                for (k, v) in &c.stats().rejected {
                    self.metrics.count(&format!("core_rejected_{k}"), *v);
                }
                self.metrics
                    .count("core_transmits_dropped", c.stats().transmits_dropped);
            }
        }
        self.metrics.count("events", self.events);
        self.metrics.wall_ms = wall_ms;
        self.metrics.peak_rss_kib = peak_rss_kib();
        self.metrics.trace_hash = hex::encode(self.trace.clone().finalize());
        self.metrics
    }
}

/// The application of `key` (team number `n`) and introductions by
/// `sponsors`.
fn admission<'k>(
    network: trustmesh_protocol::NetworkId,
    key: &TeamKey,
    n: usize,
    sponsors: impl Iterator<Item = &'k TeamKey>,
) -> Result<Vec<SignedStatement>, trustmesh_protocol::StatementError> {
    let app = SignedStatement::sign(
        Statement::Application(Application {
            network,
            applicant: key.id(),
            created_at: 1_700_000_100,
            profile: profile(n),
        }),
        key,
    )?;
    let mut out = vec![app.clone()];
    for s in sponsors {
        out.push(SignedStatement::sign(
            Statement::Introduction(Introduction {
                network,
                sponsor: s.id(),
                applicant: key.id(),
                application: app.id(),
                created_at: 1_700_000_200,
                note: String::new(),
            }),
            s,
        )?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
