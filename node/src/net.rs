//! The libp2p side: the composed behaviour, its protocols and the swarm.
//!
//! | protocol | who may use it | carries |
//! |---|---|---|
//! | identify, ping | anyone connected | libp2p housekeeping |
//! | `/trustmesh/join/1` | anyone, direct connections ([`Gate::anyone`]) | [`JoinRequest`] / [`JoinResponse`] |
//! | `/trustmesh/sync/1` | members, direct or relayed ([`Gate::members`], [`Gate::over_relays`]) | core [`Message`]s, peer exchange |
//! | gossipsub topic `trustmesh/v1/<network>` | members, direct connections | core `Statements` and `Changes` of CLEAR/GREEN documents |
//! | circuit relay v2 hop (server) | members, direct connections | reservations and circuits for members |
//! | circuit relay v2 stop (client) | members (the relay), direct connections | circuits from members through a member's relay |
//! | DCUtR | members, relayed connections | hole punching to replace a circuit by a direct connection |
//! | AutoNAT v1 | members, direct connections | whether this node is reachable (dial-back probes) |
//!
//! A member that cannot be dialed (a firewall that lets only outbound
//! connections out, or `[relay] reachable = false`) keeps reservations
//! with members that host a relay and advertises the `/p2p-circuit`
//! addresses (identify, the peer exchange); other members dial it there,
//! and the sync protocol, restricted documents included, runs on that
//! circuit: Noise-encrypted from one member to the other, so the relay
//! carries bytes it cannot read. DCUtR then tries to punch a direct
//! connection, and the engine closes the circuit once one is up.
//!
//! [`JoinRequest`]: trustmesh_protocol::JoinRequest
//! [`JoinResponse`]: trustmesh_protocol::JoinResponse
//! [`Message`]: trustmesh_protocol::Message

use std::time::Duration;

use libp2p::swarm::NetworkBehaviour;
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::{
    PeerId, StreamProtocol, Swarm, allow_block_list, autonat, connection_limits, dcutr, gossipsub,
    identify, identity, mdns, noise, ping, relay, request_response, tcp, yamux,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;
use trustmesh_protocol::{NetworkId, TeamId, TeamKey};

use crate::config::Settings;
mod codec;
mod gate;

pub use codec::{Bounded, Refusable, Refused};
pub use gate::{Gate, Path, is_relayed};

/// The sync protocol's name.
pub const SYNC_PROTOCOL: &str = "/trustmesh/sync/1";
/// The join protocol's name.
pub const JOIN_PROTOCOL: &str = "/trustmesh/join/1";

/// A request on the sync protocol (members only).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum SyncRequest {
    /// One encoded core message.
    Core(#[serde(with = "serde_bytes")] Vec<u8>),
    /// Which members the peer knows addresses of.
    Peers,
    /// A request this node's codec refused (never on the wire).
    #[serde(skip)]
    Refused(Refused),
}

impl Refusable for SyncRequest {
    fn refused(why: Refused) -> Self {
        SyncRequest::Refused(why)
    }
}

/// A response on the sync protocol.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum SyncResponse {
    /// Received (core messages are one-way; answers come as requests).
    Ack,
    /// Refused: the sender is over its rate.
    Busy,
    /// Members and their addresses (multiaddr strings).
    Peers(Vec<PeerRecord>),
}

/// A member and where it listens.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PeerRecord {
    /// The member's PeerId bytes.
    #[serde(with = "serde_bytes")]
    pub peer: Vec<u8>,
    /// Its addresses.
    pub addrs: Vec<String>,
}

/// Encoded join request or response ([`trustmesh_protocol::JoinRequest`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Frame(#[serde(with = "serde_bytes")] pub Vec<u8>);

impl Refusable for Frame {
    /// An empty frame, which no join message decodes from: the engine
    /// counts it as a malformed join request.
    fn refused(_: Refused) -> Self {
        Frame(Vec::new())
    }
}

/// Everything a trustmesh node speaks.
#[derive(NetworkBehaviour)]
pub struct Behaviour {
    /// Peers banned for invalid data, and revoked keys.
    pub blocked: allow_block_list::Behaviour<allow_block_list::BlockedPeers>,
    /// Connection counts.
    pub limits: connection_limits::Behaviour,
    /// identify: listen addresses and protocols.
    pub identify: identify::Behaviour,
    /// ping: liveness.
    pub ping: ping::Behaviour,
    /// The join exchange, open to anyone on a direct connection.
    pub join: Gate<request_response::Behaviour<Bounded<Frame, Frame>>>,
    /// Anti-entropy and point-to-point pushes, members only, direct or
    /// relayed.
    pub sync: Gate<request_response::Behaviour<Bounded<SyncRequest, SyncResponse>>>,
    /// Push of statements and CLEAR/GREEN changes, members only, direct.
    pub gossip: Gate<gossipsub::Behaviour>,
    /// The relay this node hosts for members (off with `[relay] server =
    /// false`).
    pub relay: Toggle<Gate<relay::Behaviour>>,
    /// Reservations on members' relays and circuits through them.
    pub relay_client: Gate<relay::client::Behaviour>,
    /// Hole punching on relayed connections to members.
    pub dcutr: Gate<dcutr::Behaviour>,
    /// Whether this node is reachable, probed by members.
    pub autonat: Gate<autonat::Behaviour>,
    /// Local network discovery, when enabled.
    pub mdns: Toggle<mdns::tokio::Behaviour>,
}

/// Why the network could not start.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum NetError {
    /// The team key could not become a libp2p key.
    #[error("team key: {0}")]
    Key(#[from] identity::DecodingError),
    /// A transport or behaviour could not be built.
    #[error("building the network: {0}")]
    Build(String),
    /// Listening failed.
    #[error("cannot listen on {addr}: {why}")]
    Listen {
        /// The address.
        addr: String,
        /// Why.
        why: String,
    },
}

/// The gossip topic of a network.
pub fn topic(network: &NetworkId) -> gossipsub::IdentTopic {
    gossipsub::IdentTopic::new(format!("trustmesh/v1/{}", hex::encode(network.as_bytes())))
}

/// The libp2p PeerId of a team (the same ed25519 key).
pub fn peer_id(team: &TeamId) -> PeerId {
    // A TeamId is a valid ed25519 key, so its PeerId encoding always parses.
    PeerId::from_bytes(&team.to_peer_id_bytes()).expect("a team id is an ed25519 PeerId")
}

/// The team of a PeerId, if it is an ed25519 PeerId.
pub fn team_of(peer: &PeerId) -> Option<TeamId> {
    TeamId::from_peer_id_bytes(&peer.to_bytes()).ok()
}

impl Behaviour {
    /// Everything a node of `network` speaks, for the libp2p identity
    /// `key`, subscribed to the network's gossip topic and with no member
    /// yet (see [`Behaviour::set_membership`]). `relay_client` is the
    /// behaviour half of the relay transport the swarm dials circuits on.
    pub fn new(
        key: &identity::Keypair,
        network: &NetworkId,
        settings: &Settings,
        relay_client: relay::client::Behaviour,
    ) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let limits = &settings.limits;
        let max_bytes = limits.max_message_bytes;
        let local = key.public().to_peer_id();
        let gossip_config = gossipsub::ConfigBuilder::default()
            .validation_mode(gossipsub::ValidationMode::Strict)
            .validate_messages()
            .message_id_fn(|m: &gossipsub::Message| {
                gossipsub::MessageId::from(Sha256::digest(&m.data).to_vec())
            })
            .max_transmit_size(max_bytes)
            .heartbeat_interval(Duration::from_secs(1))
            .build()
            .map_err(|e| e.to_string())?;
        let mut gossip = gossipsub::Behaviour::new(
            gossipsub::MessageAuthenticity::Signed(key.clone()),
            gossip_config,
        )?;
        gossip.subscribe(&topic(network))?;
        // One connection's streams of a request-response protocol share one
        // bound, inbound and outbound alike, and a stream beyond it is
        // dropped ("at capacity"). Both ends keep up to
        // `sync_window(limits)` core messages in flight each way, so the
        // bound holds the peer's requests (`max_concurrent_requests`), ours
        // and a few peer exchanges on top.
        let rr_config = request_response::Config::default()
            .with_request_timeout(Duration::from_secs(30))
            .with_max_concurrent_streams(sync_streams(limits));
        // The limits leave room for the CBOR framing around a core
        // message of `max_bytes`.
        let sync = request_response::Behaviour::with_codec(
            Bounded::new(max_bytes as u64 + 1024, max_bytes as u64 + 1024),
            [(
                StreamProtocol::new(SYNC_PROTOCOL),
                request_response::ProtocolSupport::Full,
            )],
            rr_config.clone(),
        );
        // A join request is one application and a few introductions;
        // the response carries the statement set.
        let join = request_response::Behaviour::with_codec(
            Bounded::new(128 << 10, max_bytes as u64 + 1024),
            [(
                StreamProtocol::new(JOIN_PROTOCOL),
                request_response::ProtocolSupport::Full,
            )],
            rr_config.with_max_concurrent_streams(8),
        );
        let r = &settings.relay;
        let relay = (r.server != Some(false)).then(|| {
            let mut server = relay::Behaviour::new(
                local,
                relay::Config {
                    max_reservations: r.max_reservations,
                    max_circuits: r.max_circuits,
                    max_circuits_per_peer: r.max_circuits_per_peer,
                    max_circuit_duration: Duration::from_secs(r.max_circuit_secs),
                    max_circuit_bytes: r.max_circuit_bytes,
                    ..relay::Config::default()
                },
            );
            // Absent, the relay follows this node's confirmed external
            // addresses (AutoNAT's, or the listen addresses of a node
            // configured reachable).
            if r.server == Some(true) {
                server.set_status(Some(relay::Status::Enable));
            }
            Gate::members(server)
        });
        let autonat = autonat::Behaviour::new(
            local,
            autonat::Config {
                boot_delay: Duration::from_secs(5),
                retry_interval: Duration::from_secs(30),
                refresh_interval: Duration::from_secs(5 * 60),
                throttle_server_period: Duration::from_secs(15),
                only_global_ips: !r.autonat_private,
                ..autonat::Config::default()
            },
        );
        let mdns = if settings.mdns {
            Some(mdns::tokio::Behaviour::new(mdns::Config::default(), local)?)
        } else {
            None
        };
        Ok(Behaviour {
            blocked: Default::default(),
            limits: connection_limits::Behaviour::new(
                connection_limits::ConnectionLimits::default()
                    .with_max_established(Some(limits.max_connections))
                    .with_max_established_per_peer(Some(limits.max_connections_per_peer))
                    .with_max_pending_incoming(Some(64)),
            ),
            // A reservation's `/p2p-circuit` address is a new listen
            // address: pushed to connected peers at once.
            identify: identify::Behaviour::new(
                identify::Config::new("/trustmesh/1".into(), key.public())
                    .with_agent_version(format!("trustmesh/{}", env!("CARGO_PKG_VERSION")))
                    .with_push_listen_addr_updates(true),
            ),
            // The ping handler reports a failure only after two in a
            // row, so a dead path is noticed within about
            // 2 x (interval + timeout) = 20 s; the engine then closes the
            // connection. Two failures in a row also keep a lossy link (a
            // lost ping) from counting as dead.
            ping: ping::Behaviour::new(
                ping::Config::new()
                    .with_interval(Duration::from_secs(4))
                    .with_timeout(Duration::from_secs(6)),
            ),
            join: Gate::anyone(join),
            sync: Gate::members(sync).over_relays(),
            gossip: Gate::members(gossip),
            relay: relay.into(),
            relay_client: Gate::members(relay_client),
            dcutr: Gate::members(dcutr::Behaviour::new(local)).over_relays(),
            autonat: Gate::members(autonat),
            mdns: mdns.into(),
        })
    }

    /// Tells both gates who the members are, and blocks revoked keys for
    /// good (closing their connections). Connections made before a peer
    /// became a member stay gated: the engine replaces them.
    pub fn set_membership(
        &mut self,
        members: &[PeerId],
        revoked: impl IntoIterator<Item = PeerId>,
    ) {
        self.sync.set_members(members.iter().copied());
        self.gossip.set_members(members.iter().copied());
        if let Some(relay) = self.relay.as_mut() {
            relay.set_members(members.iter().copied());
        }
        self.relay_client.set_members(members.iter().copied());
        self.dcutr.set_members(members.iter().copied());
        self.autonat.set_members(members.iter().copied());
        for peer in revoked {
            self.blocked.block_peer(peer);
        }
    }
}

/// Core messages a node keeps in flight to one peer (the engine's window).
pub fn sync_window(limits: &crate::config::LimitsSection) -> usize {
    (limits.max_concurrent_requests / 2).max(1)
}

/// Streams of the sync protocol one connection holds at once, inbound and
/// outbound together: what the peer may send (`max_concurrent_requests`),
/// what this node sends (its window) and room for peer exchanges.
pub fn sync_streams(limits: &crate::config::LimitsSection) -> usize {
    limits.max_concurrent_requests + sync_window(limits) + 4
}

/// Builds the swarm for `key` in `network`: TCP and QUIC, and circuits
/// through members' relays.
pub fn swarm(
    key: &TeamKey,
    network: &NetworkId,
    settings: &Settings,
) -> Result<Swarm<Behaviour>, NetError> {
    let keypair = identity::Keypair::ed25519_from_bytes(key.secret_bytes())?;
    let swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| NetError::Build(e.to_string()))?
        .with_quic()
        .with_relay_client(noise::Config::new, yamux::Config::default)
        .map_err(|e| NetError::Build(e.to_string()))?
        .with_behaviour(|key, relay_client| Behaviour::new(key, network, settings, relay_client))
        .map_err(|e| NetError::Build(e.to_string()))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(120)))
        .build();
    Ok(swarm)
}
