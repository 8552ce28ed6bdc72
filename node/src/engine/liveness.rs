//! Which members are reachable, and dead connections closed.
//!
//! libp2p's ping (0.48) reports failed pings but no longer closes the
//! connection, and a TCP connection whose path is cut by a firewall stays
//! open for minutes in kernel retransmit backoff. The engine closes a
//! connection whose ping failed, so the peer counts as unreachable at
//! once and the redial (with its bounded backoff) starts; and it keeps,
//! per member, since when it is reachable or not and when the last sync
//! round with it finished, for `status`, metrics and the web page.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use libp2p::ping;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tracing::{debug, warn};
use trustmesh_protocol::TeamId;

use super::Engine;
use crate::net::{Path, team_of};

/// What the engine knows of one member's reachability.
#[derive(Debug, Clone, Copy)]
pub(super) struct Reach {
    /// Since when the state below holds.
    since: Instant,
    /// Whether the member protocols run on a connection to it.
    reachable: bool,
    /// When the last anti-entropy round with it finished.
    last_sync: Option<Instant>,
    /// The last ping round trip.
    rtt: Option<Duration>,
}

/// A member as `status` shows it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct MemberReach {
    /// The member.
    #[schemars(with = "crate::api::schema::TeamId")]
    pub team: TeamId,
    /// Whether the member protocols run on a connection to it now.
    pub reachable: bool,
    /// For how long it has been reachable, or not (seconds; unreachable
    /// members never seen count from the node's start).
    pub for_secs: u64,
    /// Seconds since the last sync round with it finished.
    pub last_sync_secs: Option<u64>,
    /// The last ping round trip, in milliseconds.
    pub rtt_ms: Option<u64>,
    /// Restricted (AMBER, AMBER+STRICT, RED) documents held here whose
    /// audience names this member. They travel point to point only (over
    /// a direct connection or a relay's circuit, end-to-end encrypted), so
    /// while the member is unreachable they wait: no other member may
    /// store and forward them.
    #[serde(default)]
    pub restricted: usize,
    /// How the member protocols reach it now: over a direct connection or
    /// only through a relay.
    #[serde(default)]
    pub path: Option<Route>,
}

/// How a member is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    /// A direct connection.
    Direct,
    /// Only a circuit through another member's relay.
    Relayed,
}

/// Whether other members can dial this node.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Nat {
    /// They can.
    Public,
    /// They cannot: the node keeps reservations on members' relays.
    Private,
    /// Not known yet (AutoNAT has not probed).
    #[default]
    Unknown,
}

/// This node's side of relaying: whether it is reachable, through which
/// relays, and what its own relay carries.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct Relaying {
    /// Whether other members can dial this node.
    pub nat: Nat,
    /// Where that comes from: `config`, `no listen address` or `autonat`.
    pub nat_from: String,
    /// Members whose relay holds a reservation for this node: it is
    /// reachable through them.
    #[schemars(with = "Vec<crate::api::schema::TeamId>")]
    pub relays: Vec<TeamId>,
    /// Whether this node relays for members.
    pub server: bool,
    /// Circuits between members this node's relay carries now.
    pub circuits: usize,
    /// Members reached only through a relay now.
    pub relayed_members: usize,
}

/// Every member's reachability, this node excluded.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct Reachability {
    /// Members reachable now.
    pub reachable: usize,
    /// Members not reachable now.
    pub unreachable: usize,
    /// Every other member, unreachable first, longest first.
    pub members: Vec<MemberReach>,
    /// Restricted documents waiting for an unreachable audience member,
    /// counted once per (document, member). A member reached through a
    /// relay has a path.
    #[serde(default)]
    pub restricted_without_path: usize,
    /// This node's reachability and relays.
    #[serde(default)]
    pub relaying: Relaying,
}

impl Engine {
    /// The member protocols now run with `team`, or stopped running.
    pub(super) fn set_reachable(&mut self, team: TeamId, reachable: bool) {
        let now = Instant::now();
        let r = self.reach.entry(team).or_insert(Reach {
            since: now,
            reachable,
            last_sync: None,
            rtt: None,
        });
        if r.reachable != reachable {
            r.reachable = reachable;
            r.since = now;
        }
    }

    /// A sync round with `team` finished.
    pub(super) fn synced(&mut self, team: TeamId) {
        let now = Instant::now();
        self.set_reachable(team, true);
        if let Some(r) = self.reach.get_mut(&team) {
            r.last_sync = Some(now);
        }
    }

    /// A ping came back, or failed: a failed ping closes its connection.
    pub(super) fn on_ping(&mut self, event: ping::Event) {
        match event.result {
            Ok(rtt) => {
                if let Some(team) = team_of(&event.peer)
                    && self.swarm.behaviour().sync.is_open(&event.peer)
                {
                    self.set_reachable(team, true);
                    if let Some(r) = self.reach.get_mut(&team) {
                        r.rtt = Some(rtt);
                    }
                }
            }
            // A peer that does not speak ping (a minimal client) is not
            // dead; liveness then rests on the sync protocol's timeouts.
            Err(ping::Failure::Unsupported) => {
                debug!(peer = %event.peer, "the peer does not support ping");
            }
            Err(e) => {
                self.stats.ping_failures += 1;
                warn!(peer = %event.peer, error = %e, "ping failed: closing the connection");
                // Unreachable now, not when the close completes: closing a
                // connection to a peer that does not answer can take long.
                if let Some(team) = team_of(&event.peer) {
                    self.set_reachable(team, false);
                }
                if !self.swarm.close_connection(event.connection) {
                    debug!(peer = %event.peer, "the connection was already closed");
                }
            }
        }
    }

    /// Every other member's reachability now.
    pub(super) fn reachability(&self) -> Reachability {
        let now = Instant::now();
        let me = self.node.team();
        let docs = self.node.documents();
        let mut restricted: BTreeMap<TeamId, usize> = BTreeMap::new();
        for (doc, _) in docs.docs() {
            for t in docs.restricted_to(doc).into_iter().flatten() {
                *restricted.entry(t).or_default() += 1;
            }
        }
        let mut members: Vec<MemberReach> = self
            .node
            .membership()
            .members()
            .iter()
            .filter(|t| **t != me)
            .map(|t| {
                let r = self.reach.get(t);
                MemberReach {
                    team: *t,
                    reachable: r.is_some_and(|r| r.reachable),
                    for_secs: now
                        .saturating_duration_since(r.map_or(self.started, |r| r.since))
                        .as_secs(),
                    last_sync_secs: r
                        .and_then(|r| r.last_sync)
                        .map(|t| now.saturating_duration_since(t).as_secs()),
                    rtt_ms: r.and_then(|r| r.rtt).map(|d| d.as_millis() as u64),
                    restricted: restricted.get(t).copied().unwrap_or(0),
                    path: self
                        .swarm
                        .behaviour()
                        .sync
                        .path(&crate::net::peer_id(t))
                        .map(|p| match p {
                            Path::Direct => Route::Direct,
                            Path::Relayed => Route::Relayed,
                        }),
                }
            })
            .collect();
        members.sort_by_key(|m| (m.reachable, std::cmp::Reverse(m.for_secs)));
        let reachable = members.iter().filter(|m| m.reachable).count();
        let restricted_without_path = members
            .iter()
            .filter(|m| !m.reachable)
            .map(|m| m.restricted)
            .sum();
        let (nat, from) = self.nat();
        let relaying = Relaying {
            nat,
            nat_from: from.name().to_owned(),
            relays: self.relay_teams(),
            server: self.relay_serving(),
            circuits: self.relays.circuits(),
            relayed_members: members
                .iter()
                .filter(|m| m.path == Some(Route::Relayed))
                .count(),
        };
        Reachability {
            reachable,
            unreachable: members.len() - reachable,
            members,
            restricted_without_path,
            relaying,
        }
    }
}

/// Reachability records of teams that are no longer members are dropped.
pub(super) fn prune(reach: &mut BTreeMap<TeamId, Reach>, is_member: impl Fn(&TeamId) -> bool) {
    reach.retain(|t, _| is_member(t));
}
