//! The admission gate in process: three swarms with the node's real
//! [`Behaviour`] on libp2p's in-memory transport (libp2p-swarm-test).
//!
//! `m` is the member under test. `p` is a member in everyone's view. `n`
//! is not a member in `m`'s view, but `n` itself treats `m` as a member,
//! so `n` offers the member protocols and the refusal is `m`'s alone.

use std::future::poll_fn;
use std::task::Poll;
use std::time::Duration;

use futures::StreamExt;
use libp2p::core::multiaddr::Protocol;
use libp2p::core::transport::MemoryTransport;
use libp2p::core::{Transport, upgrade};
use libp2p::swarm::{ListenError, SwarmEvent};
use libp2p::{PeerId, Swarm, gossipsub, identity, noise, relay, request_response, yamux};
use libp2p_swarm_test::SwarmExt;
use trustmesh_protocol::NetworkId;

use crate::config::{NodeConfig, Settings};
use crate::net::{Behaviour, BehaviourEvent, Frame, SyncRequest, SyncResponse, topic};

const M: usize = 0;
const P: usize = 1;
const N: usize = 2;

type Event = SwarmEvent<BehaviourEvent>;

fn network() -> NetworkId {
    "ab".repeat(32).parse().expect("64 hex digits")
}

struct Net {
    swarms: Vec<Swarm<Behaviour>>,
    /// What the sync and gossip behaviours reported, whichever wait saw
    /// it: `(swarm, note)`.
    log: Vec<(usize, Note)>,
}

/// A sync or gossip event, by the peer it is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Note {
    /// A sync request arrived from the peer.
    SyncRequest(PeerId),
    /// The peer subscribed to a topic.
    Subscribed(PeerId),
    /// A gossip message arrived from the peer.
    Gossip(PeerId),
    /// The peer speaks no gossipsub to us.
    NoGossip(PeerId),
}

impl Note {
    fn of(e: &Event) -> Option<Note> {
        match e {
            SwarmEvent::Behaviour(BehaviourEvent::Sync(request_response::Event::Message {
                peer,
                message: request_response::Message::Request { .. },
                ..
            })) => Some(Note::SyncRequest(*peer)),
            SwarmEvent::Behaviour(BehaviourEvent::Gossip(e)) => match e {
                gossipsub::Event::Subscribed { peer_id, .. } => Some(Note::Subscribed(*peer_id)),
                gossipsub::Event::Message {
                    propagation_source, ..
                } => Some(Note::Gossip(*propagation_source)),
                gossipsub::Event::GossipsubNotSupported { peer_id } => {
                    Some(Note::NoGossip(*peer_id))
                }
                _ => None,
            },
            _ => None,
        }
    }

    fn peer(self) -> PeerId {
        match self {
            Note::SyncRequest(p) | Note::Subscribed(p) | Note::Gossip(p) | Note::NoGossip(p) => p,
        }
    }
}

/// A swarm with the node's real `Behaviour` over the in-memory transport
/// and the relay client's transport, as the node's swarm has it over TCP.
fn swarm(settings: &Settings) -> Swarm<Behaviour> {
    let key = identity::Keypair::generate_ed25519();
    let peer = key.public().to_peer_id();
    let (relay_transport, relay_client) = relay::client::new(peer);
    let transport = relay_transport
        .or_transport(MemoryTransport::default())
        .upgrade(upgrade::Version::V1)
        .authenticate(noise::Config::new(&key).expect("noise"))
        .multiplex(yamux::Config::default())
        .timeout(Duration::from_secs(10))
        .boxed();
    let behaviour = Behaviour::new(&key, &network(), settings, relay_client).expect("behaviour");
    Swarm::new(
        transport,
        behaviour,
        peer,
        libp2p::swarm::Config::with_tokio_executor()
            .with_idle_connection_timeout(Duration::from_secs(60)),
    )
}

impl Net {
    async fn new() -> Self {
        let mut config = NodeConfig::default();
        config.relay.server = Some(true);
        let settings = config.validate().expect("default settings");
        assert!(!settings.mdns, "the test runs without mDNS");
        let mut swarms = Vec::new();
        for _ in 0..3 {
            let mut s = swarm(&settings);
            // On memory only (libp2p-swarm-test's `listen` adds TCP, which
            // this transport has not).
            let id = s.listen_on(Protocol::Memory(0).into()).expect("listen");
            let addr = s
                .wait(|e| match e {
                    SwarmEvent::NewListenAddr {
                        address,
                        listener_id,
                    } => (listener_id == id).then_some(address),
                    _ => None,
                })
                .await;
            s.add_external_address(addr);
            swarms.push(s);
        }
        let mut net = Self {
            swarms,
            log: Vec::new(),
        };
        let (m, p) = (net.id(M), net.id(P));
        net.members(M, &[p], []);
        net.members(P, &[m], []);
        net.members(N, &[m, p], []);
        net
    }

    fn id(&self, i: usize) -> PeerId {
        *self.swarms[i].local_peer_id()
    }

    fn members<const K: usize>(&mut self, i: usize, members: &[PeerId], revoked: [PeerId; K]) {
        self.swarms[i]
            .behaviour_mut()
            .set_membership(members, revoked);
    }

    fn behaviour(&mut self, i: usize) -> &mut Behaviour {
        self.swarms[i].behaviour_mut()
    }

    /// Polls every swarm until `f`, shown each event with its swarm's
    /// index, returns a value. Ten seconds without one is a failure.
    async fn until<T>(&mut self, mut f: impl FnMut(usize, Event) -> Option<T>) -> T {
        let swarms = &mut self.swarms;
        let log = &mut self.log;
        let run = poll_fn(|cx| {
            loop {
                let mut progressed = false;
                for (i, s) in swarms.iter_mut().enumerate() {
                    if let Poll::Ready(Some(e)) = s.poll_next_unpin(cx) {
                        progressed = true;
                        if let Some(note) = Note::of(&e) {
                            log.push((i, note));
                        }
                        if let Some(t) = f(i, e) {
                            return Poll::Ready(t);
                        }
                    }
                }
                if !progressed {
                    return Poll::Pending;
                }
            }
        });
        tokio::time::timeout(Duration::from_secs(10), run)
            .await
            .expect("the swarms got there within 10 s")
    }

    /// `a` dials `b` and both see the connection established.
    async fn connect(&mut self, a: usize, b: usize) {
        let addr = self.swarms[b]
            .external_addresses()
            .next()
            .expect("a listen address")
            .clone();
        let (ida, idb) = (self.id(a), self.id(b));
        self.swarms[a]
            .dial(
                libp2p::swarm::dial_opts::DialOpts::peer_id(idb)
                    .addresses(vec![addr])
                    .condition(libp2p::swarm::dial_opts::PeerCondition::Always)
                    .build(),
            )
            .expect("dial");
        let (mut at_a, mut at_b) = (false, false);
        self.until(|i, e| {
            if let SwarmEvent::ConnectionEstablished { peer_id, .. } = e {
                at_a |= i == a && peer_id == idb;
                at_b |= i == b && peer_id == ida;
            }
            (at_a && at_b).then_some(())
        })
        .await;
    }

    /// `a` closes its connections to `b` and both see them closed.
    async fn disconnect(&mut self, a: usize, b: usize) {
        let (ida, idb) = (self.id(a), self.id(b));
        self.swarms[a]
            .disconnect_peer_id(idb)
            .expect("a is connected to b");
        let (mut at_a, mut at_b) = (false, false);
        self.until(|i, e| {
            if let SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                ..
            } = e
            {
                at_a |= i == a && peer_id == idb;
                at_b |= i == b && peer_id == ida;
            }
            (at_a && at_b).then_some(())
        })
        .await;
    }

    /// `from` sends `m` a sync request, which `m` answers if it arrives:
    /// the requester's outcome, the answer or the failure.
    async fn sync(
        &mut self,
        from: usize,
    ) -> Result<SyncResponse, request_response::OutboundFailure> {
        let to = self.id(M);
        let asked = self
            .behaviour(from)
            .sync
            .inner_mut()
            .send_request(&to, SyncRequest::Peers);
        let arrived = self
            .until(|i, e| match e {
                SwarmEvent::Behaviour(BehaviourEvent::Sync(request_response::Event::Message {
                    message: request_response::Message::Request { channel, .. },
                    ..
                })) if i == M => Some(Ok(channel)),
                e => outcome(i, from, asked, e).map(Err),
            })
            .await;
        match arrived {
            Ok(channel) => {
                self.behaviour(M)
                    .sync
                    .inner_mut()
                    .send_response(channel, SyncResponse::Ack)
                    .expect("the requester waits");
                self.until(|i, e| outcome(i, from, asked, e)).await
            }
            Err(outcome) => outcome,
        }
    }

    /// Polls until swarm `at` has reported `note`, now or before.
    async fn wait_for(&mut self, at: usize, note: Note) {
        while !self.log.contains(&(at, note)) {
            self.until(|_, _| Some(())).await;
        }
    }

    /// Fails if `m`'s sync or gossip behaviour ever reported `peer`.
    fn m_never_heard(&self, peer: PeerId) {
        let heard: Vec<_> = self
            .log
            .iter()
            .filter(|(i, n)| *i == M && n.peer() == peer)
            .collect();
        assert!(
            heard.is_empty(),
            "m's inner behaviours heard from {peer}: {heard:?}"
        );
    }

    /// Whether `m`'s inner sync and gossip behaviours know `peer`.
    fn m_inner_knows(&mut self, peer: PeerId) -> bool {
        let b = self.behaviour(M);
        b.sync.is_open(&peer)
            || b.gossip.is_open(&peer)
            || b.sync.inner().is_connected(&peer)
            || b.gossip.inner().all_peers().any(|(p, _)| *p == peer)
    }
}

/// The outcome of the sync request `asked` of swarm `from`, if `e` is it.
fn outcome(
    i: usize,
    from: usize,
    asked: request_response::OutboundRequestId,
    e: Event,
) -> Option<Result<SyncResponse, request_response::OutboundFailure>> {
    match e {
        SwarmEvent::Behaviour(BehaviourEvent::Sync(request_response::Event::Message {
            message:
                request_response::Message::Response {
                    request_id,
                    response,
                },
            ..
        })) if i == from && request_id == asked => Some(Ok(response)),
        SwarmEvent::Behaviour(BehaviourEvent::Sync(request_response::Event::OutboundFailure {
            request_id,
            error,
            ..
        })) if i == from && request_id == asked => Some(Err(error)),
        _ => None,
    }
}

#[tokio::test]
async fn a_non_member_gets_the_join_exchange_and_nothing_else() {
    let mut net = Net::new().await;
    let (m, n) = (net.id(M), net.id(N));
    net.connect(N, M).await;
    assert!(!net.m_inner_knows(n), "gated from the start");

    // Its sync requests are refused at protocol negotiation: m's side of
    // the connection speaks no sync protocol, so nothing reaches m's
    // request-response behaviour.
    assert!(matches!(
        net.sync(N).await,
        Err(request_response::OutboundFailure::UnsupportedProtocols)
    ));
    // Gossip likewise: n's gossipsub finds m speaks none to it.
    net.wait_for(N, Note::NoGossip(m)).await;

    // m cannot send to it either. Its sync behaviour sees no connection
    // to n, so a request to n waits for a dial that the swarm refuses (n
    // is connected) and never leaves; the engine sends only to peers whose
    // sync is open. A publish with only n connected reaches no one.
    let _held = net
        .behaviour(M)
        .sync
        .inner_mut()
        .send_request(&n, SyncRequest::Peers);
    let published = net
        .behaviour(M)
        .gossip
        .inner_mut()
        .publish(topic(&network()), b"for members".to_vec());
    assert!(
        matches!(
            published,
            Err(gossipsub::PublishError::NoPeersSubscribedToTopic)
        ),
        "{published:?}"
    );

    // The join exchange, open to anyone, works on the same connection.
    let joined = net
        .behaviour(N)
        .join
        .inner_mut()
        .send_request(&m, Frame(b"join".to_vec()));
    let channel = net
        .until(|i, e| match e {
            SwarmEvent::Behaviour(BehaviourEvent::Join(request_response::Event::Message {
                peer,
                message:
                    request_response::Message::Request {
                        channel, request, ..
                    },
                ..
            })) if i == M && peer == n => Some((channel, request.0)),
            _ => None,
        })
        .await;
    assert_eq!(channel.1, b"join");
    net.behaviour(M)
        .join
        .inner_mut()
        .send_response(channel.0, Frame(b"welcome".to_vec()))
        .expect("n waits");
    let welcome = net
        .until(|i, e| match e {
            SwarmEvent::Behaviour(BehaviourEvent::Join(request_response::Event::Message {
                message:
                    request_response::Message::Response {
                        request_id,
                        response,
                    },
                ..
            })) if i == N && request_id == joined => Some(response.0),
            _ => None,
        })
        .await;
    assert_eq!(welcome, b"welcome");

    // Nothing of n ever reached m's sync or gossip behaviour, and m's
    // request did not reach n (m's sync has no connection to send it on).
    net.m_never_heard(n);
    assert!(!net.log.contains(&(N, Note::SyncRequest(m))));
    assert!(!net.m_inner_knows(n));
}

#[tokio::test]
async fn a_member_gets_sync_and_gossip() {
    let mut net = Net::new().await;
    let (m, p) = (net.id(M), net.id(P));
    net.connect(P, M).await;
    assert!(net.behaviour(M).sync.is_open(&p) && net.behaviour(M).gossip.is_open(&p));
    assert!(matches!(net.sync(P).await, Ok(SyncResponse::Ack)));
    assert!(net.log.contains(&(M, Note::SyncRequest(p))));

    // Gossip: once m knows p's subscription, p receives what m publishes.
    net.wait_for(M, Note::Subscribed(p)).await;
    net.behaviour(M)
        .gossip
        .inner_mut()
        .publish(topic(&network()), b"for members".to_vec())
        .expect("p is subscribed");
    let data = net
        .until(|i, e| match e {
            SwarmEvent::Behaviour(BehaviourEvent::Gossip(gossipsub::Event::Message {
                propagation_source,
                message,
                ..
            })) if i == P && propagation_source == m => Some(message.data),
            _ => None,
        })
        .await;
    assert_eq!(data, b"for members");
}

#[tokio::test]
async fn a_peer_admitted_after_connecting_gets_the_protocols_on_a_fresh_connection() {
    let mut net = Net::new().await;
    let (n, p) = (net.id(N), net.id(P));
    net.connect(N, M).await;
    net.members(M, &[p, n], []);

    // The connection made while n was not a member stays gated.
    assert!(!net.m_inner_knows(n));
    assert!(matches!(
        net.sync(N).await,
        Err(request_response::OutboundFailure::UnsupportedProtocols)
    ));
    net.m_never_heard(n);

    // A new connection runs the member protocols.
    net.disconnect(N, M).await;
    net.connect(N, M).await;
    assert!(net.behaviour(M).sync.is_open(&n));
    assert!(matches!(net.sync(N).await, Ok(SyncResponse::Ack)));
    net.wait_for(M, Note::Subscribed(n)).await;
}

#[tokio::test]
async fn a_revoked_member_is_cut_off_and_cannot_come_back() {
    let mut net = Net::new().await;
    let (m, p) = (net.id(M), net.id(P));
    net.connect(P, M).await;
    assert!(matches!(net.sync(P).await, Ok(SyncResponse::Ack)));

    // Revoked: the block list closes its connection at once.
    net.members(M, &[], [p]);
    net.until(|i, e| {
        matches!(
            e,
            SwarmEvent::ConnectionClosed { peer_id, num_established: 0, .. } if i == M && peer_id == p
        )
        .then_some(())
    })
    .await;
    assert!(!net.m_inner_knows(p));

    // And every new connection from it is denied.
    let addr = net.swarms[M]
        .external_addresses()
        .next()
        .expect("a listen address")
        .clone();
    net.swarms[P]
        .dial(
            libp2p::swarm::dial_opts::DialOpts::peer_id(m)
                .addresses(vec![addr])
                .condition(libp2p::swarm::dial_opts::PeerCondition::Always)
                .build(),
        )
        .expect("dial");
    net.until(|i, e| match e {
        SwarmEvent::ConnectionEstablished { peer_id, .. } if i == M && peer_id == p => {
            panic!("m let a revoked key connect")
        }
        SwarmEvent::IncomingConnectionError {
            error: ListenError::Denied { .. },
            ..
        } if i == M => Some(()),
        _ => None,
    })
    .await;
    assert!(!net.m_inner_knows(p));
}

/// m hosts a relay: p, a member in m's view, gets a reservation on it; n,
/// which is not, finds no relay protocol on m's side, and m's relay never
/// hears of it.
#[tokio::test]
async fn only_members_get_a_reservation_on_a_member_s_relay() {
    let mut net = Net::new().await;
    let (m, p, n) = (net.id(M), net.id(P), net.id(N));
    let circuit = net.swarms[M]
        .external_addresses()
        .next()
        .expect("a listen address")
        .clone()
        .with(Protocol::P2p(m))
        .with(Protocol::P2pCircuit);
    let mut relay_heard = Vec::new();

    net.swarms[P]
        .listen_on(circuit.clone())
        .expect("p listens through m");
    let (mut p_reserved, mut m_accepted) = (false, false);
    net.until(|i, e| {
        match e {
            SwarmEvent::Behaviour(BehaviourEvent::RelayClient(
                relay::client::Event::ReservationReqAccepted { relay_peer_id, .. },
            )) if i == P && relay_peer_id == m => p_reserved = true,
            SwarmEvent::Behaviour(BehaviourEvent::Relay(e)) if i == M => {
                if let relay::Event::ReservationReqAccepted { src_peer_id, .. } = &e {
                    m_accepted |= *src_peer_id == p;
                }
                relay_heard.push(format!("{e:?}"));
            }
            _ => {}
        }
        (p_reserved && m_accepted).then_some(())
    })
    .await;

    let refused = net.swarms[N].listen_on(circuit).expect("n asks through m");
    let closed = net
        .until(|i, e| match e {
            SwarmEvent::ListenerClosed {
                listener_id,
                reason,
                ..
            } if i == N && listener_id == refused => Some(reason),
            SwarmEvent::Behaviour(BehaviourEvent::Relay(e)) if i == M => {
                relay_heard.push(format!("{e:?}"));
                None
            }
            SwarmEvent::Behaviour(BehaviourEvent::RelayClient(
                relay::client::Event::ReservationReqAccepted { .. },
            )) if i == N => panic!("n got a reservation on m's relay"),
            _ => None,
        })
        .await;
    assert!(closed.is_err(), "the reservation failed: {closed:?}");
    assert!(
        relay_heard.iter().all(|e| !e.contains(&n.to_string())),
        "m's relay heard of n: {relay_heard:?}"
    );
    assert!(!net.behaviour(M).sync.is_open(&n));
}
