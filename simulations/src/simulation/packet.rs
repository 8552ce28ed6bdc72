//! What travels between simulated nodes, and what it costs on the wire.

use std::rc::Rc;

use sha2::{Digest, Sha256};

use super::{CONTROL_OVERHEAD, GOSSIP_OVERHEAD, ID_BYTES, SYNC_OVERHEAD};
use crate::gossip::MsgId;

#[derive(Debug, Clone)]
pub(super) enum Packet {
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
    /// A peer-exchange request (the node's `SyncRequest::Peers`).
    PeersRequest,
    /// The answer: members' records ([`trustmesh_protocol::encode_records`]).
    Peers(Rc<[u8]>),
}

impl Packet {
    pub(super) fn wire_len(&self) -> usize {
        match self {
            Packet::Direct(b)
            | Packet::JoinRequest(b)
            | Packet::JoinResponse(b)
            | Packet::Peers(b) => b.len() + SYNC_OVERHEAD,
            Packet::PeersRequest => 1 + SYNC_OVERHEAD,
            Packet::Gossip(b) => b.len() + GOSSIP_OVERHEAD,
            Packet::IHave(ids) => CONTROL_OVERHEAD + ids.len() * ID_BYTES,
            Packet::IWant(ids) => CONTROL_OVERHEAD + ids.len() * ID_BYTES,
            Packet::Graft | Packet::Prune => CONTROL_OVERHEAD,
        }
    }

    pub(super) fn kind(&self) -> u8 {
        match self {
            Packet::Direct(_) => 1,
            Packet::Gossip(_) => 2,
            Packet::IHave(_) => 3,
            Packet::IWant(_) => 4,
            Packet::Graft => 5,
            Packet::Prune => 6,
            Packet::JoinRequest(_) => 7,
            Packet::JoinResponse(_) => 8,
            Packet::PeersRequest => 9,
            Packet::Peers(_) => 10,
        }
    }

    /// Whether the packet travels outside a connection between members:
    /// the join exchange runs with anyone.
    pub(super) fn is_join(&self) -> bool {
        matches!(self, Packet::JoinRequest(_) | Packet::JoinResponse(_))
    }

    pub(super) fn digest(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        match self {
            Packet::Direct(b)
            | Packet::Gossip(b)
            | Packet::JoinRequest(b)
            | Packet::JoinResponse(b)
            | Packet::Peers(b) => h.update(b),
            Packet::IHave(ids) => ids.iter().for_each(|i| h.update(i)),
            Packet::IWant(ids) => ids.iter().for_each(|i| h.update(i)),
            Packet::Graft | Packet::Prune | Packet::PeersRequest => {}
        }
        h.finalize().into()
    }
}
