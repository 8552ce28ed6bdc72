//! Byzantine members: what they do to the messages their (real) core
//! produces, and the forgeries they make.

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, Automerge, ROOT, ReadDoc};
use trustmesh_protocol::{
    ActorSuffix, ChangeHash, DocId, DocRef, Message, NetworkId, SignedChange, TeamId, TeamKey,
};

use crate::rng::SimRng;
use crate::scenario::Behaviour;

/// What a Byzantine node sends instead of `message`, and the changes it
/// authored whose valid form never left it (forgeries: if an honest node
/// ever applies one, a forged signature got through).
pub fn rewrite(
    behaviour: Behaviour,
    me: TeamId,
    message: &Message,
    rng: &mut SimRng,
) -> (Vec<Vec<u8>>, Vec<(DocId, ChangeHash)>) {
    match (behaviour, message) {
        (Behaviour::Withhold, _) => (vec![], vec![]),
        (Behaviour::Forge, Message::Changes(list)) => {
            let mut forged = vec![];
            let tampered: Vec<SignedChange> = list
                .iter()
                .filter_map(|c| {
                    if c.author() == me {
                        forged.push((c.doc(), c.hash()));
                    }
                    flip_signature(c)
                })
                .collect();
            (vec![Message::Changes(tampered).encode()], forged)
        }
        (Behaviour::Malformed, Message::Changes(_) | Message::Statements(_)) => {
            (vec![junk(rng)], vec![])
        }
        _ => (vec![message.encode()], vec![]),
    }
}

/// The change with the last byte of its signature flipped: it parses,
/// and its signature does not verify.
pub fn flip_signature(change: &SignedChange) -> Option<SignedChange> {
    let mut bytes = change.encode();
    let last = bytes.last_mut()?;
    *last ^= 0x01;
    SignedChange::decode(&bytes).ok()
}

/// Bytes that look like the start of a message and do not decode.
pub fn junk(rng: &mut SimRng) -> Vec<u8> {
    let len = rng.between(40, 400) as usize;
    let mut out = vec![1u8, 3u8];
    while out.len() < len {
        out.extend_from_slice(&rng.next_u64().to_le_bytes());
    }
    out
}

/// A change by `key` to `victim`'s contact entry, which only the victim
/// may write, validly signed by `key`: the receiving core must refuse to
/// apply it.
pub fn unauthorized_change(
    network: NetworkId,
    key: &TeamKey,
    suffix: ActorSuffix,
    victim: TeamId,
    n: u64,
) -> Option<SignedChange> {
    let doc = DocRef::contacts(victim);
    let mut actor = key.id().as_bytes().to_vec();
    actor.extend_from_slice(suffix.as_bytes());
    let mut am = Automerge::new();
    am.set_actor(ActorId::from(actor));
    let mut tx = am.transaction();
    tx.put(ROOT, "email", format!("attacker{n}@example.invalid"))
        .ok()?;
    let (hash, _) = tx.commit_with(
        CommitOptions::default()
            .with_time(1_700_000_000)
            .with_message(doc.id().to_string()),
    );
    let change = am.get_change_by_hash(&hash?)?;
    SignedChange::sign(network, doc, key, change.raw_bytes()).ok()
}

#[cfg(test)]
mod tests;
