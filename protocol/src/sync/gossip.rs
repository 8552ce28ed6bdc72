//! The two channels a message arrives on, and which changes travel on
//! gossip (only those every member may receive; restricted documents go
//! point to point to their audience, since gossip reaches every
//! subscriber).

use super::{Destination, Millis, Node, Rejection, Transmit, Verdict};
use crate::document::SignedChange;
use crate::identity::TeamId;
use crate::store::Store;
use crate::wire::Message;

impl<S: Store> Node<S> {
    /// Handles a gossip payload forwarded by `from` (the peer the transport
    /// proved, not necessarily the author). Gossip carries only statements
    /// and changes: any other kind is rejected as `gossip_kind`, bytes that
    /// do not decode as `malformed`. Only [`Verdict::Accept`] may be
    /// forwarded; a rejection should cost the sender.
    pub fn handle_gossip(&mut self, now: Millis, from: TeamId, bytes: &[u8]) -> Verdict {
        match Message::decode(bytes) {
            Ok(m @ (Message::Statements(_) | Message::Changes(_))) => {
                self.handle_message(now, from, m)
            }
            Ok(m) => self.refuse(
                now,
                &from,
                Rejection::WrongChannel {
                    kind: m.kind_name(),
                },
            ),
            Err(e) => self.refuse(now, &from, Rejection::Malformed(e)),
        }
    }

    /// Handles the bytes of a message `from` sent to this node point to
    /// point (the sync protocol), where every kind may travel; bytes that do
    /// not decode are rejected as `malformed`.
    pub fn handle_direct(&mut self, now: Millis, from: TeamId, bytes: &[u8]) -> Verdict {
        match Message::decode(bytes) {
            Ok(m) => self.handle_message(now, from, m),
            Err(e) => self.refuse(now, &from, Rejection::Malformed(e)),
        }
    }

    /// Counts a message refused before it reached [`Node::handle_message`].
    fn refuse(&mut self, now: Millis, from: &TeamId, rejection: Rejection) -> Verdict {
        self.stats.messages_in += 1;
        self.peers.heard(now, from);
        let verdict = Verdict::Reject(rejection);
        self.count_rejection(&verdict);
        verdict
    }

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
