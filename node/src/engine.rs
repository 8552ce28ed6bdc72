//! The event loop: one task owns the libp2p swarm and the replication core
//! and feeds one into the other (DESIGN.md section 2, STYLE 11).
//!
//! Inputs are swarm events, jobs from the local API (closures run on the
//! engine, so the core is never shared across tasks), the core's timer and
//! a housekeeping tick. After every input the core's transmits and events
//! are drained: a transmit becomes a gossipsub publish or a sync request,
//! an event becomes a disconnection, a gate update or a log line.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use libp2p::core::ConnectedPoint;
use libp2p::gossipsub::{self, MessageAcceptance};
use libp2p::request_response::{self, OutboundFailure};
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::{ConnectionId, SwarmEvent};
use libp2p::{Multiaddr, PeerId, Swarm, identify, mdns};
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info, warn};
use trustmesh_protocol::{
    Advisory, Destination, DocId, DocKind, Event, JoinOutcome, JoinRequest, JoinResponse, Message,
    Millis, NetworkId, Node, Statement, TeamId, TeamKey, Transmit, Verdict,
};

use crate::alerts::{self, AlertStats, Alerts, Candidate};
use crate::config::Settings;
use crate::metrics::{Histogram, LATENCY_BUCKETS};
use crate::net::{
    self, Behaviour, BehaviourEvent, Frame, PeerRecord, SyncRequest, SyncResponse, peer_id, team_of,
};
use crate::peers::{Bucket, PeerBook};
use crate::store::RocksStore;

/// Wall-clock milliseconds, the core's time.
pub fn now_ms() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as Millis)
}

/// Called with the listen addresses whenever they change.
type ListenHook = Box<dyn FnMut(&[Multiaddr]) + Send>;

/// A job the API runs on the engine.
pub type Job = Box<dyn FnOnce(&mut Engine) + Send>;

/// A handle to a running engine.
#[derive(Clone)]
pub struct Client {
    jobs: mpsc::Sender<Job>,
}

/// The engine stopped.
#[derive(Debug, thiserror::Error)]
#[error("the node is shutting down")]
pub struct Stopped;

impl Client {
    /// Runs `f` on the engine and returns its result.
    pub async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Engine) -> T + Send + 'static,
    ) -> Result<T, Stopped> {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |engine| {
            let _ = tx.send(f(engine));
        });
        self.jobs.send(job).await.map_err(|_| Stopped)?;
        rx.await.map_err(|_| Stopped)
    }
}

/// Counters beyond the core's own.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NetStats {
    /// Gossip messages received.
    pub gossip_in: u64,
    /// Gossip messages published.
    pub gossip_out: u64,
    /// Gossip publishes that found no peer (anti-entropy delivers later).
    pub gossip_unsent: u64,
    /// Sync requests received.
    pub sync_in: u64,
    /// Sync requests sent.
    pub sync_out: u64,
    /// Bytes of core messages received (gossip and sync).
    pub bytes_in: u64,
    /// Bytes of core messages sent (gossip and sync).
    pub bytes_out: u64,
    /// Point-to-point messages dropped because the peer had no open connection.
    pub unroutable: u64,
    /// Requests and gossip refused for exceeding a peer's rate.
    pub rate_limited: u64,
    /// Peers banned for invalid data.
    pub bans: u64,
    /// Messages that did not decode or verify, by reason.
    pub invalid: BTreeMap<String, u64>,
    /// Join requests sent.
    pub joins_sent: u64,
    /// Connections from non-members closed after the join grace period.
    pub gated_closed: u64,
}

/// What the engine knows of a connected peer.
#[derive(Debug)]
struct Conn {
    team: Option<TeamId>,
    since: Instant,
    /// Addresses the peer can be reached at (dialed address, identify).
    dialed: Option<Multiaddr>,
    agent: Option<String>,
}

/// The event loop's state.
pub struct Engine {
    swarm: Swarm<Behaviour>,
    node: Node<RocksStore>,
    key: TeamKey,
    network: NetworkId,
    topic: gossipsub::IdentTopic,
    settings: Settings,
    book: PeerBook,
    conns: HashMap<PeerId, Conn>,
    buckets: HashMap<PeerId, Bucket>,
    bans: HashMap<PeerId, Instant>,
    join_pending: HashSet<PeerId>,
    listen: Vec<Multiaddr>,
    started: Instant,
    last_exchange: Instant,
    stats: NetStats,
    /// Called after every drain with the listen addresses, so the node can
    /// publish them (node.json).
    on_listen: Option<ListenHook>,
    /// Receive time minus stated time of changes arriving by gossip.
    gossip_latency: Histogram,
    /// When an anti-entropy round last finished.
    last_round: Option<Instant>,
    /// What arrived in the last sampling window (catch-up progress).
    progress: Progress,
    sample: (Instant, Progress),
    /// The alert dispatcher, when rules are configured.
    alerts: Option<Alerts>,
    /// Advisories changed since they were last offered to the dispatcher.
    alerts_dirty: BTreeSet<DocId>,
}

/// Seconds between progress samples.
const PROGRESS_WINDOW: Duration = Duration::from_secs(10);

/// What arrived over a window: the catch-up progress `status` shows.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Progress {
    /// The window's length in seconds.
    pub window_secs: u64,
    /// New changes stored.
    pub changes: u64,
    /// New statements stored.
    pub statements: u64,
    /// New documents.
    pub documents: u64,
}

impl Engine {
    /// An engine over `node`, listening as `settings` say.
    pub fn new(
        node: Node<RocksStore>,
        key: TeamKey,
        settings: Settings,
        book: PeerBook,
    ) -> Result<Self, net::NetError> {
        let network = node.statements().network_id();
        let mut swarm = net::swarm(&key, &network, &settings)?;
        for addr in &settings.listen {
            swarm
                .listen_on(addr.clone())
                .map_err(|e| net::NetError::Listen {
                    addr: addr.to_string(),
                    why: e.to_string(),
                })?;
        }
        let mut engine = Self {
            swarm,
            topic: net::topic(&network),
            network,
            node,
            key,
            settings,
            book,
            conns: HashMap::new(),
            buckets: HashMap::new(),
            bans: HashMap::new(),
            join_pending: HashSet::new(),
            listen: vec![],
            started: Instant::now(),
            last_exchange: Instant::now(),
            stats: NetStats::default(),
            on_listen: None,
            gossip_latency: Histogram::new(&LATENCY_BUCKETS),
            last_round: None,
            progress: Progress::default(),
            sample: (Instant::now(), Progress::default()),
            alerts: None,
            alerts_dirty: BTreeSet::new(),
        };
        engine.sample.1.documents = engine.node.documents().docs().count() as u64;
        engine.refresh_gates();
        Ok(engine)
    }

    /// Calls `f` with the listen addresses whenever they change.
    pub fn on_listen(&mut self, f: impl FnMut(&[Multiaddr]) + Send + 'static) {
        self.on_listen = Some(Box::new(f));
    }

    /// Hands advisories to `alerts` from now on, every one at once first,
    /// so alerts missed while the node was down go out.
    pub fn set_alerts(&mut self, alerts: Alerts) {
        self.alerts_dirty = self
            .node
            .documents()
            .docs()
            .filter(|(_, r)| r.kind() == DocKind::Advisory)
            .map(|(d, _)| *d)
            .collect();
        self.alerts = Some(alerts);
    }

    /// Alert delivery counters (zero when no rule is configured).
    pub fn alert_stats(&self) -> AlertStats {
        self.alerts.as_ref().map(Alerts::stats).unwrap_or_default()
    }

    /// The gossip latency histogram.
    pub fn gossip_latency(&self) -> &Histogram {
        &self.gossip_latency
    }

    /// How long ago an anti-entropy round last finished.
    pub fn last_sync(&self) -> Option<Duration> {
        self.last_round.map(|t| t.elapsed())
    }

    /// What arrived in the last sampling window.
    pub fn progress(&self) -> Progress {
        self.progress
    }

    /// The sync interval configured.
    pub fn sync_interval(&self) -> Duration {
        self.settings.sync_interval
    }

    /// The replication core.
    pub fn node(&self) -> &Node<RocksStore> {
        &self.node
    }

    /// The replication core, for local edits (the engine drains its output
    /// after the job).
    pub fn node_mut(&mut self) -> &mut Node<RocksStore> {
        &mut self.node
    }

    /// This team's key (to sign introductions and revocations).
    pub fn key(&self) -> &TeamKey {
        &self.key
    }

    /// The network id.
    pub fn network(&self) -> NetworkId {
        self.network
    }

    /// The network counters.
    pub fn stats(&self) -> &NetStats {
        &self.stats
    }

    /// How long the engine has run.
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// The addresses the node listens on.
    pub fn listen_addrs(&self) -> &[Multiaddr] {
        &self.listen
    }

    /// This node's PeerId.
    pub fn local_peer_id(&self) -> PeerId {
        *self.swarm.local_peer_id()
    }

    /// Connected peers: PeerId, team, whether the member protocols run on
    /// the connection, the address, the agent, and for how long.
    pub fn connections(&self) -> Vec<PeerView> {
        let mut out: Vec<PeerView> = self
            .conns
            .iter()
            .map(|(p, c)| PeerView {
                peer_id: p.to_string(),
                team: c.team,
                member: c.team.is_some_and(|t| self.node.membership().is_member(&t)),
                open: self.swarm.behaviour().sync.is_open(p),
                address: c.dialed.as_ref().map(ToString::to_string),
                agent: c.agent.clone(),
                connected_secs: c.since.elapsed().as_secs(),
            })
            .collect();
        out.sort_by(|a, b| a.peer_id.cmp(&b.peer_id));
        out
    }

    /// Members this node knows addresses of.
    pub fn known_addresses(&self) -> usize {
        self.book.len()
    }

    /// Dials `addr` (an operator's request).
    pub fn dial(&mut self, addr: Multiaddr) -> Result<(), String> {
        self.swarm.dial(addr).map_err(|e| e.to_string())
    }

    /// Runs until `jobs` closes or `shutdown` resolves.
    pub async fn run(
        mut self,
        mut jobs: mpsc::Receiver<Job>,
        shutdown: impl std::future::Future<Output = ()>,
    ) {
        let mut housekeeping = tokio::time::interval(Duration::from_secs(1));
        housekeeping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(shutdown);
        for addr in self.settings.bootstrap.clone() {
            self.dial_addr(addr);
        }
        loop {
            let wake = self.core_deadline();
            tokio::select! {
                event = self.swarm.select_next_some() => self.on_swarm_event(event),
                job = jobs.recv() => match job {
                    Some(job) => job(&mut self),
                    None => break,
                },
                () = tokio::time::sleep_until(wake) => self.node.handle_timeout(now_ms()),
                _ = housekeeping.tick() => self.housekeeping(),
                () = &mut shutdown => break,
            }
            self.drain();
            self.offer_alerts();
        }
        self.book.save();
        info!("engine stopped");
    }

    fn core_deadline(&self) -> tokio::time::Instant {
        let now = now_ms();
        let at = self.node.poll_timeout().unwrap_or(now + 60_000);
        tokio::time::Instant::now() + Duration::from_millis(at.saturating_sub(now))
    }

    /// Sends what the core queued and acts on its events.
    fn drain(&mut self) {
        loop {
            let mut progressed = false;
            while let Some(t) = self.node.poll_transmit() {
                progressed = true;
                self.send(t);
            }
            while let Some(e) = self.node.poll_event() {
                progressed = true;
                self.on_core_event(e);
            }
            if !progressed {
                break;
            }
        }
    }

    fn send(&mut self, t: Transmit) {
        let bytes = t.message.encode();
        match t.to {
            Destination::Gossip => {
                let len = bytes.len() as u64;
                match self
                    .swarm
                    .behaviour_mut()
                    .gossip
                    .inner_mut()
                    .publish(self.topic.clone(), bytes)
                {
                    Ok(_) => {
                        self.stats.gossip_out += 1;
                        self.stats.bytes_out += len;
                    }
                    Err(e) => {
                        self.stats.gossip_unsent += 1;
                        debug!(error = %e, "gossip not sent; anti-entropy will deliver");
                    }
                }
            }
            Destination::Peer(team) => {
                let peer = peer_id(&team);
                if !self.swarm.behaviour().sync.is_open(&peer) {
                    self.stats.unroutable += 1;
                    return;
                }
                self.stats.sync_out += 1;
                self.stats.bytes_out += bytes.len() as u64;
                self.swarm
                    .behaviour_mut()
                    .sync
                    .inner_mut()
                    .send_request(&peer, SyncRequest::Core(bytes));
            }
        }
    }

    fn on_core_event(&mut self, event: Event) {
        match event {
            Event::MembershipChanged { admitted, removed } => {
                info!(
                    admitted = admitted.len(),
                    removed = removed.len(),
                    "membership changed"
                );
                self.refresh_gates();
                for team in admitted {
                    let peer = peer_id(&team);
                    if self.conns.contains_key(&peer) && !self.swarm.behaviour().sync.is_open(&peer)
                    {
                        self.reconnect(peer);
                    }
                }
                for team in removed {
                    self.drop_peer(peer_id(&team), "no longer a member");
                }
            }
            Event::Disconnect(team) => self.drop_peer(peer_id(&team), "not a member"),
            Event::DocumentChanged(doc) => {
                debug!(%doc, "document changed");
                let advisory = self
                    .node
                    .documents()
                    .doc_ref(&doc)
                    .is_some_and(|r| r.kind() == DocKind::Advisory);
                if advisory && self.alerts.is_some() {
                    self.alerts_dirty.insert(doc);
                }
            }
            Event::RoundFinished { peer, round } => {
                self.last_round = Some(Instant::now());
                debug!(%peer, round, "round finished");
            }
            Event::StoreFailed(e) => warn!(error = %e, "store write failed"),
            _ => {}
        }
    }

    /// Offers changed advisories to the alert dispatcher while its queue has
    /// room; the rest wait for the next turn of the loop.
    fn offer_alerts(&mut self) {
        let Some(alerts) = self.alerts.clone() else {
            return;
        };
        while let Some(doc) = self.alerts_dirty.first().copied() {
            let permit = match alerts.reserve() {
                Ok(Some(p)) => p,
                Ok(None) => return,
                Err(e) => {
                    warn!(error = %e, "alerts stop");
                    self.alerts = None;
                    self.alerts_dirty.clear();
                    return;
                }
            };
            self.alerts_dirty.remove(&doc);
            if let Some(c) = self.alert_candidate(&doc) {
                permit.send(c);
            }
        }
    }

    fn alert_candidate(&self, doc: &DocId) -> Option<Candidate> {
        let docs = self.node.documents();
        let r = docs.doc_ref(doc)?;
        let advisory = match docs.get::<Advisory>(doc) {
            Ok(Some(a)) => a,
            Ok(None) => return None,
            Err(e) => {
                warn!(%doc, error = %e, "advisory unreadable; no alert");
                return None;
            }
        };
        let heads = docs.heads(doc);
        let stated = heads
            .iter()
            .filter_map(|h| docs.change(doc, h).map(|c| c.timestamp()))
            .max()
            .unwrap_or(0);
        let owner = r.owner();
        Some(Candidate {
            doc: *doc,
            version: alerts::version_of(heads.iter().map(|h| h.as_bytes())),
            stated,
            owner,
            owner_name: self
                .node
                .membership()
                .standing(&owner)
                .and_then(|s| s.profile.as_ref())
                .map(|p| p.short_name.clone()),
            advisory,
        })
    }

    /// Tells the gates who the members are; blocks revoked keys for good.
    fn refresh_gates(&mut self) {
        let membership = self.node.membership();
        let members: Vec<PeerId> = membership.members().iter().map(peer_id).collect();
        let revoked: Vec<PeerId> = membership
            .standings()
            .filter(|s| s.status == trustmesh_protocol::Status::Revoked)
            .map(|s| peer_id(&s.team))
            .collect();
        let b = self.swarm.behaviour_mut();
        b.sync.set_members(members.iter().copied());
        b.gossip.set_members(members);
        for peer in revoked {
            b.blocked.block_peer(peer);
        }
    }

    fn drop_peer(&mut self, peer: PeerId, why: &str) {
        if self.conns.contains_key(&peer) {
            info!(%peer, why, "disconnecting");
            let _ = self.swarm.disconnect_peer_id(peer);
        }
    }

    /// Replaces gated connections to a peer that became a member with a
    /// fresh one, on which the member protocols run.
    fn reconnect(&mut self, peer: PeerId) {
        let addrs = self.addresses_of(&peer);
        let _ = self.swarm.disconnect_peer_id(peer);
        if addrs.is_empty() {
            return;
        }
        info!(%peer, "reconnecting to a new member");
        let opts = DialOpts::peer_id(peer)
            .addresses(addrs)
            .condition(PeerCondition::Always)
            .build();
        if let Err(e) = self.swarm.dial(opts) {
            debug!(%peer, error = %e, "redial failed");
        }
    }

    fn addresses_of(&self, peer: &PeerId) -> Vec<Multiaddr> {
        let mut addrs = self.book.addresses(peer);
        if let Some(a) = self.conns.get(peer).and_then(|c| c.dialed.clone())
            && !addrs.contains(&a)
        {
            addrs.push(a);
        }
        addrs
    }

    fn dial_addr(&mut self, addr: Multiaddr) {
        if let Err(e) = self.swarm.dial(addr.clone()) {
            debug!(%addr, error = %e, "dial failed");
        }
    }

    fn penalize(&mut self, peer: PeerId, reason: &str) {
        *self.stats.invalid.entry(reason.to_owned()).or_default() += 1;
        self.stats.bans += 1;
        warn!(%peer, reason, secs = self.settings.limits.ban_secs, "invalid data: banning the peer");
        self.bans.insert(
            peer,
            Instant::now() + Duration::from_secs(self.settings.limits.ban_secs),
        );
        self.swarm.behaviour_mut().blocked.block_peer(peer);
    }

    /// Takes one token from the peer's bucket; false when it is empty.
    fn admit_rate(&mut self, peer: PeerId) -> bool {
        let l = &self.settings.limits;
        let ok = self
            .buckets
            .entry(peer)
            .or_insert_with(|| Bucket::new(l.requests_per_second, l.request_burst))
            .take(Instant::now());
        if !ok {
            self.stats.rate_limited += 1;
        }
        ok
    }

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                info!(%address, "listening");
                self.listen.push(address);
                if let Some(f) = self.on_listen.as_mut() {
                    f(&self.listen);
                }
            }
            SwarmEvent::ConnectionEstablished {
                peer_id: peer,
                endpoint,
                connection_id,
                ..
            } => self.on_connected(peer, &endpoint, connection_id),
            SwarmEvent::ConnectionClosed {
                peer_id: peer,
                num_established: 0,
                ..
            } => {
                self.conns.remove(&peer);
                self.join_pending.remove(&peer);
                if let Some(team) = team_of(&peer) {
                    self.node.peer_disconnected(&team);
                }
                debug!(%peer, "disconnected");
            }
            SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                debug!(peer = ?peer_id, error = %error, "dial failed");
                if let Some(p) = peer_id {
                    self.book.dial_failed(&p, Instant::now());
                }
            }
            SwarmEvent::Behaviour(event) => self.on_behaviour_event(event),
            _ => {}
        }
    }

    fn on_connected(&mut self, peer: PeerId, endpoint: &ConnectedPoint, _id: ConnectionId) {
        let team = team_of(&peer);
        let dialed = match endpoint {
            ConnectedPoint::Dialer { address, .. } => Some(address.clone()),
            ConnectedPoint::Listener { .. } => None,
        };
        let member = team.is_some_and(|t| self.node.membership().is_member(&t));
        if member && let Some(a) = &dialed {
            self.book.add(peer, a.clone());
            self.book.dial_succeeded(&peer);
        }
        let conn = self.conns.entry(peer).or_insert(Conn {
            team,
            since: Instant::now(),
            dialed: None,
            agent: None,
        });
        if dialed.is_some() {
            conn.dialed = dialed;
        }
        debug!(%peer, member, "connected");
        let Some(team) = team else {
            return;
        };
        if self.swarm.behaviour().sync.is_open(&peer) {
            self.node.peer_connected(now_ms(), team);
            // Learn where the other members are at once, so the mesh does
            // not hang on whoever was dialed first.
            self.swarm
                .behaviour_mut()
                .sync
                .inner_mut()
                .send_request(&peer, SyncRequest::Peers);
        }
        // Present our credentials where they may not be known: while this
        // node is not a member in its own view, or does not know the peer.
        if !self.node.is_member() || !member {
            self.send_join(peer);
        }
    }

    fn send_join(&mut self, peer: PeerId) {
        let me = self.node.team();
        if self.node.statements().charter().is_founder(&me) || self.join_pending.contains(&peer) {
            return;
        }
        let statements: Vec<_> = self
            .node
            .statements()
            .iter()
            .filter(|s| match s.statement() {
                Statement::Application(a) => a.applicant == me,
                Statement::Introduction(i) => i.applicant == me,
                _ => false,
            })
            .take(trustmesh_protocol::MAX_JOIN_STATEMENTS)
            .cloned()
            .collect();
        if statements.is_empty() {
            return;
        }
        self.join_pending.insert(peer);
        self.stats.joins_sent += 1;
        info!(%peer, statements = statements.len(), "presenting our application and introductions");
        self.swarm
            .behaviour_mut()
            .join
            .send_request(&peer, Frame(JoinRequest { statements }.encode()));
    }

    fn on_behaviour_event(&mut self, event: BehaviourEvent) {
        match event {
            BehaviourEvent::Gossip(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            }) => {
                let acceptance = self.on_gossip(propagation_source, &message.data);
                self.swarm
                    .behaviour_mut()
                    .gossip
                    .inner_mut()
                    .report_message_validation_result(&message_id, &propagation_source, acceptance);
            }
            BehaviourEvent::Sync(event) => self.on_sync_event(event),
            BehaviourEvent::Join(event) => self.on_join_event(event),
            BehaviourEvent::Identify(identify::Event::Received { peer_id, info, .. }) => {
                if let Some(c) = self.conns.get_mut(&peer_id) {
                    c.agent = Some(info.agent_version.clone());
                }
                let member =
                    team_of(&peer_id).is_some_and(|t| self.node.membership().is_member(&t));
                if member {
                    for addr in info.listen_addrs.into_iter().take(8) {
                        self.book.add(peer_id, addr);
                    }
                }
            }
            BehaviourEvent::Mdns(mdns::Event::Discovered(found)) => {
                for (peer, addr) in found {
                    if !self.conns.contains_key(&peer) && peer != self.local_peer_id() {
                        debug!(%peer, %addr, "found on the local network");
                        self.dial_addr(addr);
                    }
                }
            }
            _ => {}
        }
    }

    fn on_gossip(&mut self, from: PeerId, data: &[u8]) -> MessageAcceptance {
        self.stats.gossip_in += 1;
        self.stats.bytes_in += data.len() as u64;
        if !self.admit_rate(from) {
            return MessageAcceptance::Ignore;
        }
        let Some(team) = team_of(&from) else {
            return MessageAcceptance::Reject;
        };
        let message = match Message::decode(data) {
            Ok(m @ (Message::Statements(_) | Message::Changes(_))) => m,
            Ok(_) => {
                self.penalize(from, "gossip_kind");
                return MessageAcceptance::Reject;
            }
            Err(e) => {
                debug!(%from, error = %e, "gossip does not decode");
                self.penalize(from, "malformed");
                return MessageAcceptance::Reject;
            }
        };
        let stated: Vec<i64> = match &message {
            Message::Changes(cs) => cs.iter().map(|c| c.timestamp()).collect(),
            _ => vec![],
        };
        let now = now_ms();
        match self.node.handle_message(now, team, message) {
            Verdict::Accept => {
                for t in stated {
                    self.gossip_latency.observe(now as f64 / 1000.0 - t as f64);
                }
                MessageAcceptance::Accept
            }
            Verdict::Ignore => MessageAcceptance::Ignore,
            Verdict::Reject(r) => {
                self.penalize(from, r.name());
                MessageAcceptance::Reject
            }
        }
    }

    fn on_sync_event(&mut self, event: request_response::Event<SyncRequest, SyncResponse>) {
        match event {
            request_response::Event::Message {
                peer,
                message:
                    request_response::Message::Request {
                        request, channel, ..
                    },
                ..
            } => {
                self.stats.sync_in += 1;
                let response = if !self.admit_rate(peer) {
                    SyncResponse::Busy
                } else {
                    match request {
                        SyncRequest::Core(bytes) => {
                            self.on_core_request(peer, &bytes);
                            SyncResponse::Ack
                        }
                        SyncRequest::Peers => SyncResponse::Peers(self.peer_records()),
                        SyncRequest::Refused(why) => {
                            self.penalize(peer, why.name());
                            SyncResponse::Busy
                        }
                    }
                };
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .sync
                    .inner_mut()
                    .send_response(channel, response);
            }
            request_response::Event::Message {
                peer,
                message:
                    request_response::Message::Response {
                        response: SyncResponse::Peers(records),
                        ..
                    },
                ..
            } => {
                let mut learned = 0;
                for r in records.into_iter().take(256) {
                    let Ok(p) = PeerId::from_bytes(&r.peer) else {
                        continue;
                    };
                    let member = team_of(&p).is_some_and(|t| self.node.membership().is_member(&t));
                    if !member || p == self.local_peer_id() {
                        continue;
                    }
                    for a in r.addrs.iter().take(8).filter_map(|a| a.parse().ok()) {
                        learned += usize::from(self.book.add(p, a));
                    }
                }
                debug!(%peer, learned, "peer exchange");
            }
            request_response::Event::OutboundFailure { peer, error, .. } => {
                if matches!(error, OutboundFailure::UnsupportedProtocols) {
                    // The peer gates us: it does not know we are a member.
                    self.send_join(peer);
                } else {
                    debug!(%peer, %error, "sync request failed");
                }
            }
            _ => {}
        }
    }

    fn on_core_request(&mut self, peer: PeerId, bytes: &[u8]) {
        self.stats.bytes_in += bytes.len() as u64;
        let Some(team) = team_of(&peer) else {
            return;
        };
        match Message::decode(bytes) {
            Ok(message) => {
                if let Verdict::Reject(r) = self.node.handle_message(now_ms(), team, message) {
                    self.penalize(peer, r.name());
                }
            }
            Err(e) => {
                debug!(%peer, error = %e, "sync message does not decode");
                self.penalize(peer, "malformed");
            }
        }
    }

    fn peer_records(&self) -> Vec<PeerRecord> {
        self.book
            .entries()
            .filter(|(p, _)| team_of(p).is_some_and(|t| self.node.membership().is_member(&t)))
            .take(256)
            .map(|(p, addrs)| PeerRecord {
                peer: p.to_bytes(),
                addrs: addrs.iter().map(ToString::to_string).collect(),
            })
            .collect()
    }

    fn on_join_event(&mut self, event: request_response::Event<Frame, Frame>) {
        match event {
            request_response::Event::Message {
                peer,
                message:
                    request_response::Message::Request {
                        request, channel, ..
                    },
                ..
            } => {
                let response = self.answer_join(peer, &request.0);
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .join
                    .send_response(channel, Frame(response.encode()));
            }
            request_response::Event::Message {
                peer,
                message: request_response::Message::Response { response, .. },
                ..
            } => {
                self.join_pending.remove(&peer);
                self.on_join_response(peer, &response.0);
            }
            request_response::Event::OutboundFailure { peer, error, .. } => {
                self.join_pending.remove(&peer);
                debug!(%peer, %error, "join request failed");
            }
            _ => {}
        }
    }

    fn answer_join(&mut self, peer: PeerId, bytes: &[u8]) -> JoinResponse {
        let refuse = |reason: &str| JoinResponse::Refused {
            reason: reason.to_owned(),
        };
        if !self.admit_rate(peer) {
            return refuse("too many requests");
        }
        let Some(team) = team_of(&peer) else {
            return refuse("only ed25519 team keys can be members");
        };
        let request = match JoinRequest::decode(bytes) {
            Ok(r) => r,
            Err(e) => {
                self.penalize(peer, "malformed_join");
                return refuse(&format!("malformed join request: {e}"));
            }
        };
        let response = self.node.handle_join_request(now_ms(), team, request);
        match &response {
            JoinResponse::Admitted { .. } => info!(%peer, "admitted a member by its introductions"),
            JoinResponse::Refused { reason } => info!(%peer, %reason, "join refused"),
        }
        response
    }

    fn on_join_response(&mut self, peer: PeerId, bytes: &[u8]) {
        let Some(team) = team_of(&peer) else {
            return;
        };
        let response = match JoinResponse::decode(bytes) {
            Ok(r) => r,
            Err(e) => {
                debug!(%peer, error = %e, "join response does not decode");
                self.penalize(peer, "malformed_join");
                return;
            }
        };
        match self.node.handle_join_response(now_ms(), team, response) {
            JoinOutcome::Admitted {
                new_statements,
                member,
            } => {
                info!(%peer, new_statements, member, "admitted by the peer");
                self.refresh_gates();
                if !self.swarm.behaviour().sync.is_open(&peer) {
                    self.reconnect(peer);
                }
            }
            JoinOutcome::Refused(reason) => warn!(%peer, %reason, "the peer refused our join"),
            JoinOutcome::Invalid(r) => self.penalize(peer, r.name()),
            _ => {}
        }
    }

    /// Once a second: lift expired bans, close idle non-member connections,
    /// keep enough members connected, exchange addresses now and then.
    fn housekeeping(&mut self) {
        let now = Instant::now();
        if now.duration_since(self.sample.0) >= PROGRESS_WINDOW {
            let s = self.node.stats();
            let current = Progress {
                window_secs: now.duration_since(self.sample.0).as_secs(),
                changes: s.changes_new,
                statements: s.statements_new,
                documents: self.node.documents().docs().count() as u64,
            };
            let before = self.sample.1;
            self.progress = Progress {
                window_secs: current.window_secs,
                changes: current.changes.saturating_sub(before.changes),
                statements: current.statements.saturating_sub(before.statements),
                documents: current.documents.saturating_sub(before.documents),
            };
            self.sample = (now, current);
        }
        let expired: Vec<PeerId> = self
            .bans
            .iter()
            .filter(|(_, until)| **until <= now)
            .map(|(p, _)| *p)
            .collect();
        for p in expired {
            self.bans.remove(&p);
            let revoked = team_of(&p).and_then(|t| {
                self.node
                    .membership()
                    .standing(&t)
                    .map(|s| s.status == trustmesh_protocol::Status::Revoked)
            });
            if revoked != Some(true) {
                self.swarm.behaviour_mut().blocked.unblock_peer(p);
            }
        }
        let grace = Duration::from_secs(self.settings.limits.join_grace_secs);
        let stale: Vec<PeerId> = self
            .conns
            .iter()
            .filter(|(p, c)| {
                !self.swarm.behaviour().sync.is_open(p)
                    && !self.join_pending.contains(p)
                    && now.duration_since(c.since) > grace
            })
            .map(|(p, _)| *p)
            .collect();
        for p in stale {
            self.stats.gated_closed += 1;
            self.drop_peer(p, "not a member after the join grace period");
        }
        self.buckets.retain(|p, _| self.conns.contains_key(p));

        let open = self
            .conns
            .keys()
            .filter(|p| self.swarm.behaviour().sync.is_open(p))
            .count();
        let want = self.settings.limits.target_peers.saturating_sub(open);
        if want > 0 {
            let candidates: Vec<(PeerId, Vec<Multiaddr>)> = self
                .book
                .dialable(now)
                .filter(|(p, _)| {
                    !self.conns.contains_key(p)
                        && !self.bans.contains_key(p)
                        && *p != self.local_peer_id()
                        && team_of(p).is_some_and(|t| self.node.membership().is_member(&t))
                })
                .take(want)
                .collect();
            for (p, addrs) in candidates {
                self.book.dialing(&p, now);
                let opts = DialOpts::peer_id(p)
                    .addresses(addrs)
                    .condition(PeerCondition::DisconnectedAndNotDialing)
                    .build();
                let _ = self.swarm.dial(opts);
            }
            if self.conns.is_empty() && self.book.bootstrap_due(now) {
                for addr in self.settings.bootstrap.clone() {
                    self.dial_addr(addr);
                }
            }
        }
        // The book is a cache, written without a sync: cheap enough to keep
        // current, so even a node killed seconds after meeting its peers
        // finds them again.
        self.book.save();
        if now.duration_since(self.last_exchange) > Duration::from_secs(15) {
            self.last_exchange = now;
            let open: Vec<PeerId> = self
                .conns
                .keys()
                .filter(|p| self.swarm.behaviour().sync.is_open(p))
                .copied()
                .collect();
            for p in open {
                self.swarm
                    .behaviour_mut()
                    .sync
                    .inner_mut()
                    .send_request(&p, SyncRequest::Peers);
            }
        }
    }
}

/// A connected peer, as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct PeerView {
    /// libp2p PeerId.
    pub peer_id: String,
    /// Its team id, for ed25519 peers.
    pub team: Option<TeamId>,
    /// Whether it is a member.
    pub member: bool,
    /// Whether the member protocols run on a connection to it.
    pub open: bool,
    /// The address we dialed it at, if we dialed.
    pub address: Option<String>,
    /// Its identify agent string.
    pub agent: Option<String>,
    /// Seconds since it connected.
    pub connected_secs: u64,
}

/// Starts the engine's job channel.
pub fn channel() -> (Client, mpsc::Receiver<Job>) {
    let (tx, rx) = mpsc::channel(256);
    (Client { jobs: tx }, rx)
}
