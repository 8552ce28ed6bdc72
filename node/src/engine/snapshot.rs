//! The plain state status and metrics read: counters, peers, progress.
//! The engine produces a [`Snapshot`] inside its loop; the HTTP layer
//! renders it without touching the engine.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use trustmesh_protocol::{NetworkId, Stats, TeamId};

use super::Engine;
use crate::alerts::{AlertStats, Alerts};

/// Seconds between progress samples.
pub(super) const PROGRESS_WINDOW: Duration = Duration::from_secs(10);

/// Counters beyond the core's own.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
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
    /// Core messages that waited for room in a peer's window.
    #[serde(default)]
    pub sync_queued: u64,
    /// Core messages dropped because a peer's queue was full (anti-entropy
    /// brings what they carried).
    #[serde(default)]
    pub sync_dropped: u64,
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
    /// Pings that failed (each closed its connection).
    #[serde(default)]
    pub ping_failures: u64,
    /// Reservations this node's relay accepted for members (renewals not
    /// counted).
    #[serde(default)]
    pub relay_reservations_accepted: u64,
    /// Reservations this node's relay denied (over its limits).
    #[serde(default)]
    pub relay_reservations_denied: u64,
    /// Circuits between members this node's relay opened.
    #[serde(default)]
    pub relay_circuits_accepted: u64,
    /// Circuits this node's relay denied (over its limits, or no
    /// reservation for the destination).
    #[serde(default)]
    pub relay_circuits_denied: u64,
    /// Circuits this node's relay carried that closed (a limit reached, or
    /// an end gone).
    #[serde(default)]
    pub relay_circuits_closed: u64,
    /// Reservations this node got on members' relays.
    #[serde(default)]
    pub reservations_accepted: u64,
    /// Reservations refused or lost (the relay asked again later).
    #[serde(default)]
    pub reservations_lost: u64,
    /// Hole punches (DCUtR) that made a direct connection.
    #[serde(default)]
    pub holepunch_ok: u64,
    /// Hole punches that failed (the member stays reached through a relay).
    #[serde(default)]
    pub holepunch_failed: u64,
    /// Circuits closed because their member was reached directly.
    #[serde(default)]
    pub circuits_replaced: u64,
}

/// What arrived over a window: the catch-up progress `status` shows.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, JsonSchema)]
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

/// A connected peer, as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct PeerView {
    /// libp2p PeerId.
    pub peer_id: String,
    /// Its team id, for ed25519 peers.
    #[schemars(with = "Option<crate::api::schema::TeamId>")]
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

/// Upper bounds (seconds) of the gossip latency buckets.
pub const LATENCY_BUCKETS: [f64; 10] = [0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0, 600.0, 3600.0];

/// A cumulative histogram over fixed buckets.
#[derive(Debug, Clone)]
pub struct Histogram {
    bounds: &'static [f64],
    /// Observations per bucket (not cumulative; summed when rendered).
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    /// An empty histogram with these upper bounds (ascending).
    pub fn new(bounds: &'static [f64]) -> Self {
        assert!(
            bounds.windows(2).all(|w| w[0] < w[1]),
            "histogram bounds must ascend"
        );
        Self {
            bounds,
            counts: vec![0; bounds.len()],
            sum: 0.0,
            count: 0,
        }
    }

    /// Records one value; negative and NaN values count as 0.
    pub fn observe(&mut self, v: f64) {
        let v = if v.is_nan() { 0.0 } else { v.max(0.0) };
        if let Some(i) = self.bounds.iter().position(|b| v <= *b) {
            self.counts[i] += 1;
        }
        self.sum += v;
        self.count += 1;
    }

    /// How many values were recorded.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The sum of the values recorded.
    pub fn sum(&self) -> f64 {
        self.sum
    }

    /// Each bucket's upper bound and its own count (not cumulative).
    pub fn buckets(&self) -> impl Iterator<Item = (f64, u64)> + '_ {
        self.bounds.iter().copied().zip(self.counts.iter().copied())
    }
}

/// The engine's state at one moment, as plain values.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// This team.
    pub team: TeamId,
    /// This node's libp2p PeerId.
    pub peer_id: String,
    /// The network id.
    pub network_id: NetworkId,
    /// The network's name (from the charter).
    pub network: String,
    /// Whether this node is a member in its own view.
    pub member: bool,
    /// Members in this node's view.
    pub members: usize,
    /// Listen addresses.
    pub listen: Vec<String>,
    /// Connected peers.
    pub peers: Vec<PeerView>,
    /// Members this node knows addresses of.
    pub known_addresses: usize,
    /// Statements held.
    pub statements: usize,
    /// Documents held.
    pub documents: usize,
    /// Documents held materialized in memory (`limits.cached_documents`
    /// at most).
    pub cached_documents: usize,
    /// Documents whose changes are in the store alone (read back when
    /// needed).
    pub cold_documents: usize,
    /// Reads of documents' changes from the store that failed.
    pub store_read_failures: u64,
    /// The core's counters.
    pub core: Stats,
    /// The network counters.
    pub net: NetStats,
    /// Seconds since the engine started.
    pub uptime: Duration,
    /// How long ago an anti-entropy round last finished.
    pub last_sync: Option<Duration>,
    /// The sync interval configured.
    pub sync_interval: Duration,
    /// What arrived in the last sampling window.
    pub progress: Progress,
    /// Alert delivery counters (zero when no rule is configured).
    pub alerts: AlertStats,
    /// Receive time minus stated time of changes arriving by gossip.
    pub gossip_latency: Histogram,
    /// Which members are reachable.
    pub reachability: super::Reachability,
}

impl Engine {
    /// The engine's state now, for status and metrics.
    pub fn snapshot(&self) -> Snapshot {
        let node = &self.node;
        let charter = node.statements().charter();
        Snapshot {
            team: node.team(),
            peer_id: self.local_peer_id().to_string(),
            network_id: self.network,
            network: charter.body().name().to_owned(),
            member: node.is_member(),
            members: node.membership().members().len(),
            listen: self.listen.iter().map(ToString::to_string).collect(),
            peers: self.connections(),
            known_addresses: self.book.len(),
            statements: node.statements().len(),
            documents: node.documents().docs().count(),
            cached_documents: node.documents().cached_documents(),
            cold_documents: node.documents().cold_documents(),
            store_read_failures: node.documents().store_read_failures(),
            core: node.stats().clone(),
            net: self.stats.clone(),
            uptime: self.started.elapsed(),
            last_sync: self.last_round.map(|t| t.elapsed()),
            sync_interval: self.settings.sync_interval,
            progress: self.progress,
            alerts: self.alerts.as_ref().map(Alerts::stats).unwrap_or_default(),
            gossip_latency: self.gossip_latency.clone(),
            reachability: self.reachability(),
        }
    }

    /// Connected peers: PeerId, team, whether the member protocols run on
    /// the connection, the address, the agent, and for how long.
    fn connections(&self) -> Vec<PeerView> {
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

    /// Samples what arrived since the last window (catch-up progress).
    pub(super) fn sample_progress(&mut self, now: Instant) {
        if now.duration_since(self.sample.0) < PROGRESS_WINDOW {
            return;
        }
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
}
