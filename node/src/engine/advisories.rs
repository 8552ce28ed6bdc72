//! Advisory writes the core's edit methods do not offer (a CSAF import, a
//! new revision, an advisory written with per-vulnerability details, an
//! envelope change): made by `trustmesh_protocol::Documents` on a detached
//! copy that holds only the advisory concerned
//! (`Documents::prepare_import`, `Documents::detached`), then handed to the
//! core as this team's own changes. The core verifies, stores (synced) and
//! applies them like any change, and the engine pushes them as the core
//! pushes its own: by gossip for CLEAR and GREEN, point to point to the
//! connected audience for AMBER, AMBER+STRICT and RED (anti-entropy brings
//! them to the rest).
//!
//! **Invariant:** a write is acknowledged only when the core stored every
//! change (its store-failure counter did not move) and refused none.
//!
//! Each write signs with a fresh actor suffix drawn at random, so it never
//! reuses a sequence number of the core's own actor or of another write.

use trustmesh_protocol::{
    ActorSuffix, Authored, CsafImport, DocRef, EditError, Envelope, Imported, MAX_ITEMS,
    MAX_MESSAGE_BYTES, Message, SignedChange, Verdict,
};

use super::{Engine, now_ms};
use crate::net::peer_id;

/// Why an advisory write was refused or not acknowledged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// The replica refused the write (invalid, not permitted, too large,
    /// an import refused).
    #[error(transparent)]
    Edit(#[from] EditError),
    /// No randomness for the actor suffix or a sharing group.
    #[error("no randomness: {0}")]
    Random(String),
    /// The core refused a change it was handed.
    #[error("the core refused the change: {0}")]
    Refused(String),
    /// The store failed; the write is not acknowledged.
    #[error("the store failed; the advisory was not written")]
    Store,
}

fn random16() -> Result<[u8; 16], WriteError> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|e| WriteError::Random(e.to_string()))?;
    Ok(b)
}

impl Engine {
    /// Imports a CSAF document as an advisory of this team, or as the next
    /// revision of the one that holds its (publisher namespace, tracking
    /// id). `random` in `import` is ignored: the engine draws its own.
    pub fn import_csaf(&mut self, import: &CsafImport<'_>) -> Result<Imported, WriteError> {
        let mut import = import.clone();
        import.random = random16()?;
        let suffix = ActorSuffix::from_bytes(random16()?);
        let imported =
            self.node
                .documents()
                .prepare_import(&self.key, suffix, now_ms() / 1000, &import)?;
        self.submit(&imported.changes)?;
        Ok(imported)
    }

    /// Publishes an advisory written in trustmesh with its details per
    /// vulnerability.
    pub fn publish_authored(&mut self, a: &Authored) -> Result<Vec<SignedChange>, WriteError> {
        let doc = DocRef::advisory(self.node.team(), &a.advisory.id).map_err(EditError::from)?;
        if self.node.documents().doc_ref(&doc.id()).is_some() {
            return Err(EditError::AlreadyExists(doc).into());
        }
        let mut scratch = self.node.documents().detached(None);
        let suffix = ActorSuffix::from_bytes(random16()?);
        let changes = scratch.publish_authored(&self.key, suffix, now_ms() / 1000, a)?;
        self.submit(&changes)?;
        Ok(changes)
    }

    /// Changes an advisory's envelope (label, audience, co-authors,
    /// indicators, status).
    pub fn update_envelope(
        &mut self,
        doc: &DocRef,
        envelope: &Envelope,
    ) -> Result<Vec<SignedChange>, WriteError> {
        let mut scratch = self.node.documents().detached(Some(&doc.id()));
        let suffix = ActorSuffix::from_bytes(random16()?);
        let changes = scratch.update_envelope(
            &self.key,
            suffix,
            now_ms() / 1000,
            doc,
            envelope,
            random16()?,
        )?;
        self.submit(&changes)?;
        Ok(changes)
    }

    /// Hands this team's changes to the core, then pushes them.
    fn submit(&mut self, changes: &[SignedChange]) -> Result<(), WriteError> {
        let team = self.node.team();
        for batch in batches(changes) {
            let failures = self.node.stats().store_failures;
            let verdict =
                self.node
                    .handle_message(now_ms(), team, Message::Changes(batch.to_vec()));
            if let Verdict::Reject(r) = verdict {
                return Err(WriteError::Refused(r.name().to_owned()));
            }
            if self.node.stats().store_failures != failures {
                return Err(WriteError::Store);
            }
            self.push(batch);
        }
        Ok(())
    }

    /// Pushes changes as the core pushes its own.
    fn push(&mut self, batch: &[SignedChange]) {
        let Some(first) = batch.first() else { return };
        let doc = first.doc();
        match self.node.documents().restricted_to(&doc) {
            None => {
                for c in batch {
                    self.publish(Message::Changes(vec![c.clone()]).encode());
                }
            }
            Some(audience) => {
                let bytes = Message::Changes(batch.to_vec()).encode();
                let me = self.node.team();
                for t in audience.iter().filter(|t| **t != me) {
                    if self
                        .node
                        .documents()
                        .may_receive(&doc, t, self.node.membership())
                    {
                        self.send_core(peer_id(t), bytes.clone());
                    }
                }
            }
        }
    }
}

/// Changes in messages within the wire limits (half the message size, as
/// the core batches).
fn batches(changes: &[SignedChange]) -> Vec<&[SignedChange]> {
    let budget = MAX_MESSAGE_BYTES / 2;
    let mut out = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (i, c) in changes.iter().enumerate() {
        let len = c.encoded_len();
        if i > start && (i - start >= MAX_ITEMS || bytes + len > budget) {
            out.push(&changes[start..i]);
            start = i;
            bytes = 0;
        }
        bytes += len;
    }
    if start < changes.len() {
        out.push(&changes[start..]);
    }
    out
}
