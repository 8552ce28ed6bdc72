//! The gossip channel: which changes travel on it (only those every member
//! may receive; restricted documents go point to point to their audience).

use super::{Destination, Node, Transmit};
use crate::document::SignedChange;
use crate::identity::TeamId;
use crate::store::Store;
use crate::wire::Message;

impl<S: Store> Node<S> {
    /// Pushes a change: by gossip when every member may receive its
    /// document, otherwise to each connected member of its audience.
    pub(super) fn push(&mut self, change: SignedChange) {
        let doc = change.doc();
        match self.index.restricted(&doc).cloned() {
            None => self.transmit(Transmit {
                to: Destination::Gossip,
                message: Message::Changes(vec![change]),
            }),
            Some(audience) => {
                let peers: Vec<TeamId> = audience
                    .into_iter()
                    .filter(|p| self.peers.contains(p))
                    .filter(|p| self.docs.may_receive(&doc, p, &self.membership))
                    .collect();
                for p in peers {
                    self.send_changes(Destination::Peer(p), vec![change.clone()]);
                }
            }
        }
    }
}
