//! The event loop: one task owns the libp2p swarm and the replication core
//! and feeds one into the other (DESIGN.md section 2, STYLE 11).
//!
//! Inputs are swarm events, jobs from the local API (closures run on the
//! engine, so the core is never shared across tasks), the core's timer and
//! a housekeeping tick. After every input the core's transmits and events
//! are drained: a transmit becomes a gossipsub publish or a sync request,
//! an event becomes a disconnection, a gate update or a log line.
//!
//! The loop's parts each own one concern: [`client`] (how the API reaches
//! the loop), `gossip` and `sync` (the two ways core messages travel),
//! `join` (the join exchange), `guard` (rate limits and bans), `peers`
//! (the peer book, dialing and peer exchange), `alerts` (handing changed
//! advisories to the dispatcher), `housekeeping` (the one-second tick) and
//! [`snapshot`] (the plain state that status and metrics read).

mod advisories;
mod alerts;
mod arrivals;
mod client;
mod gossip;
mod guard;
mod housekeeping;
mod join;
mod liveness;
mod peers;
mod snapshot;
mod summaries;
mod sync;

pub use advisories::WriteError;
pub use client::{Client, Job, Stopped, channel};
pub use liveness::{MemberReach, Nat, Reachability, Relaying, Route};
pub use peers::PeerBook;
pub use snapshot::{Histogram, LATENCY_BUCKETS, NetStats, PeerView, Progress, Snapshot};

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use libp2p::core::ConnectedPoint;
use libp2p::gossipsub;
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::{ConnectionId, SwarmEvent};
use libp2p::{Multiaddr, PeerId, Swarm, identify, mdns};
use tokio::sync::mpsc;
use tracing::{debug, info, warn};
use trustmesh_protocol::{
    Destination, DocId, DocKind, Event, Millis, NetworkId, Node, TeamId, TeamKey, Transmit,
};

use crate::alerts::Alerts;
use crate::config::Settings;
use crate::net::{self, Behaviour, BehaviourEvent, SyncRequest, peer_id, team_of};
use crate::store::RocksStore;
use guard::GuardKey;
use trustmesh_protocol::Guard;

/// Wall-clock milliseconds, the core's time.
pub fn now_ms() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as Millis)
}

/// Called with the listen addresses whenever they change.
type ListenHook = Box<dyn FnMut(&[Multiaddr]) + Send>;

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
    /// Rate limits and bans, the core's policy.
    guard: Guard<GuardKey>,
    join_pending: HashSet<PeerId>,
    listen: Vec<Multiaddr>,
    started: Instant,
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
    /// Each member's reachability.
    reach: std::collections::BTreeMap<TeamId, liveness::Reach>,
    /// Advisories changed since they were last offered to the dispatcher.
    alerts_dirty: BTreeSet<DocId>,
    /// The advisory list's summaries, by document (see `summaries.rs`).
    summaries: HashMap<DocId, summaries::Cached>,
    /// Core messages in flight to each peer, and those waiting for room.
    outbound: HashMap<PeerId, sync::Outbound<libp2p::request_response::OutboundRequestId>>,
    /// When each advisory version first arrived (TAXII's `date_added`).
    arrivals: arrivals::Arrivals,
    /// Reservations on members' relays, and what AutoNAT and this node's
    /// relay report.
    relays: peers::Relays,
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
            guard: guard::guard(&settings.limits),
            swarm,
            topic: net::topic(&network),
            network,
            node,
            key,
            settings,
            book,
            conns: HashMap::new(),
            join_pending: HashSet::new(),
            listen: vec![],
            started: Instant::now(),
            stats: NetStats::default(),
            on_listen: None,
            gossip_latency: Histogram::new(&LATENCY_BUCKETS),
            last_round: None,
            progress: Progress::default(),
            sample: (Instant::now(), Progress::default()),
            alerts: None,
            alerts_dirty: BTreeSet::new(),
            arrivals: Default::default(),
            reach: Default::default(),
            outbound: HashMap::new(),
            summaries: HashMap::new(),
            relays: Default::default(),
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

    /// This node's PeerId.
    pub fn local_peer_id(&self) -> PeerId {
        *self.swarm.local_peer_id()
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
                () = tokio::time::sleep_until(wake) => {
                    self.node.handle_timeout(now_ms());
                    // Snapshots are written lazily: at most one sync
                    // interval after their document changed.
                    self.node.flush_snapshots();
                }
                _ = housekeeping.tick() => self.housekeeping(),
                () = &mut shutdown => break,
            }
            self.drain();
            self.offer_alerts();
        }
        self.book.save();
        self.node.flush_snapshots();
        info!("engine stopped");
    }

    fn core_deadline(&self) -> tokio::time::Instant {
        let now = now_ms();
        let at = self.node.poll_timeout().unwrap_or(now + 60_000);
        tokio::time::Instant::now() + Duration::from_millis(at.saturating_sub(now))
    }

    /// Acts on the core's events, then sends what it queued. Events go
    /// first: a membership change refreshes the gates and closes the
    /// connections to teams that are no longer members before anything is
    /// sent (a revocation's own gossip must not reach the revoked key).
    fn drain(&mut self) {
        loop {
            let mut progressed = false;
            while let Some(e) = self.node.poll_event() {
                progressed = true;
                self.on_core_event(e);
            }
            while let Some(t) = self.node.poll_transmit() {
                progressed = true;
                self.send(t);
            }
            if !progressed {
                break;
            }
        }
    }

    fn send(&mut self, t: Transmit) {
        let bytes = t.message.encode();
        match t.to {
            Destination::Gossip => self.publish(bytes),
            Destination::Peer(team) => self.send_core(peer_id(&team), bytes),
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
                let membership = self.node.membership();
                liveness::prune(&mut self.reach, |t| membership.is_member(t));
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
                if advisory {
                    self.record_arrival(&doc);
                }
                if advisory && self.alerts.is_some() {
                    self.alerts_dirty.insert(doc);
                }
            }
            Event::RoundFinished { peer, round } => {
                self.last_round = Some(Instant::now());
                self.synced(peer);
                debug!(%peer, round, "round finished");
            }
            Event::StoreFailed(e) => warn!(error = %e, "store write failed"),
            _ => {}
        }
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
        self.swarm.behaviour_mut().set_membership(&members, revoked);
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

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                info!(%address, "listening");
                self.relay_listening(&address);
                self.listen.push(address);
                if let Some(f) = self.on_listen.as_mut() {
                    f(&self.listen);
                }
            }
            SwarmEvent::ExpiredListenAddr { address, .. } => {
                info!(%address, "no longer listening");
                self.listen.retain(|a| *a != address);
                if let Some(f) = self.on_listen.as_mut() {
                    f(&self.listen);
                }
            }
            SwarmEvent::ListenerClosed {
                listener_id,
                addresses,
                reason,
            } => {
                let reason = match &reason {
                    Ok(()) => "closed".to_owned(),
                    Err(e) => e.to_string(),
                };
                self.relay_listener_closed(listener_id, &reason);
                if !addresses.is_empty() {
                    self.listen.retain(|a| !addresses.contains(a));
                    if let Some(f) = self.on_listen.as_mut() {
                        f(&self.listen);
                    }
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
                // What waited for it is dropped: anti-entropy brings it
                // once a connection is back.
                self.outbound.remove(&peer);
                self.join_pending.remove(&peer);
                self.guard.forget(&GuardKey(peer));
                self.relay_disconnected(&peer);
                if let Some(team) = team_of(&peer) {
                    self.node.peer_disconnected(&team);
                    self.set_reachable(team, false);
                }
                debug!(%peer, "disconnected");
            }
            SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                debug!(peer = ?peer_id, error = %error, "dial failed");
                if let Some(p) = peer_id {
                    self.book_dial_failed(&p);
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
        if member {
            self.book_connected(&peer, dialed.as_ref());
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
            self.set_reachable(team, true);
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
            BehaviourEvent::Ping(event) => self.on_ping(event),
            BehaviourEvent::Join(event) => self.on_join_event(event),
            BehaviourEvent::Relay(event) => self.on_relay_server(event),
            BehaviourEvent::RelayClient(event) => self.on_relay_client(event),
            BehaviourEvent::Dcutr(event) => self.on_dcutr(event),
            BehaviourEvent::Autonat(event) => self.on_autonat(event),
            BehaviourEvent::Identify(identify::Event::Received { peer_id, info, .. }) => {
                if let Some(c) = self.conns.get_mut(&peer_id) {
                    c.agent = Some(info.agent_version.clone());
                }
                self.relay_identified(&peer_id, &info);
                let member =
                    team_of(&peer_id).is_some_and(|t| self.node.membership().is_member(&t));
                if member {
                    self.book_listens(&peer_id, info.listen_addrs);
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
}
