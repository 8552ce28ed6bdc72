//! Local operations: statements and edits made here, stored before they
//! are applied for good and pushed.

use super::{Destination, Millis, Node, NodeError, Transmit};
use crate::document::{
    ActorSuffix, Advisory, ChangeStatus, Contact, DocId, DocRef, Documents, EditError, Inserted,
    SignedChange, Tool,
};
use crate::identity::{TeamId, TeamKey};
use crate::statement::SignedStatement;
use crate::store::Store;
use crate::wire::Message;

/// What [`Node::update_or_continue_advisory`] did.
#[derive(Debug, Clone)]
pub enum AdvisoryUpdate {
    /// The advisory was updated (`None`: nothing differed).
    Updated(Option<SignedChange>),
    /// The update would have widened a restricted advisory's history: the
    /// current text was published as the new advisory `id`.
    Continued {
        /// The new advisory's name.
        id: String,
        /// The change that published it.
        change: SignedChange,
        /// The restricted advisory's label, which it keeps.
        held: &'static str,
    },
}

impl<S: Store> Node<S> {
    /// Adds a statement made here (an application, introduction or
    /// revocation): verifies it, stores it durably, applies it and gossips
    /// it. Returns whether it was new.
    pub fn submit_statement(
        &mut self,
        statement: SignedStatement,
    ) -> Result<bool, NodeError<S::Error>> {
        if self.statements.contains(&statement.id()) {
            return Ok(false);
        }
        statement.verify(&self.statements.network_id())?;
        if let Err(e) = self.store.put_statements(std::slice::from_ref(&statement)) {
            self.stats.store_failures += 1;
            return Err(NodeError::Store(e));
        }
        self.statements.insert_verified(statement.clone());
        self.statements_added(std::slice::from_ref(&statement));
        self.transmit(Transmit {
            to: Destination::Gossip,
            message: Message::Statements(vec![statement]),
        });
        Ok(true)
    }

    /// Writes this team's contact entry; `None` when nothing differed.
    pub fn edit_contact(
        &mut self,
        now: Millis,
        contact: &Contact,
    ) -> Result<Option<SignedChange>, NodeError<S::Error>> {
        let doc = DocRef::contacts(self.team()).id();
        self.local_edit(Some(doc), |docs, key, suffix| {
            docs.edit_contact(key, suffix, now / 1000, contact)
        })
    }

    /// Publishes a new advisory owned by this team.
    pub fn publish_advisory(
        &mut self,
        now: Millis,
        advisory: &Advisory,
    ) -> Result<SignedChange, NodeError<S::Error>> {
        let doc = DocRef::advisory(self.team(), &advisory.id)
            .ok()
            .map(|r| r.id());
        let change = self.local_edit(doc, |docs, key, suffix| {
            docs.publish_advisory(key, suffix, now / 1000, advisory)
                .map(Some)
        })?;
        // `Documents::publish_advisory` always makes a change.
        change.ok_or(NodeError::Edit(EditError::Automerge(
            "publishing made no change".to_owned(),
        )))
    }

    /// Updates an advisory this team owns or co-authors; `None` when
    /// nothing differed.
    pub fn update_advisory(
        &mut self,
        now: Millis,
        owner: TeamId,
        advisory: &Advisory,
    ) -> Result<Option<SignedChange>, NodeError<S::Error>> {
        let doc = DocRef::advisory(owner, &advisory.id).ok().map(|r| r.id());
        self.local_edit(doc, |docs, key, suffix| {
            docs.update_advisory(key, suffix, now / 1000, owner, advisory)
        })
    }

    /// Updates an advisory as [`Self::update_advisory`] does, except where
    /// the owner's update would widen a restricted advisory's distribution
    /// (a wider label, or more teams): then the current text is published
    /// as a new advisory ([`Documents::continuation_name`]) with its own
    /// history, and the restricted one stays as it was, with its audience.
    pub fn update_or_continue_advisory(
        &mut self,
        now: Millis,
        owner: TeamId,
        advisory: &Advisory,
    ) -> Result<AdvisoryUpdate, NodeError<S::Error>> {
        match self.update_advisory(now, owner, advisory) {
            Ok(change) => Ok(AdvisoryUpdate::Updated(change)),
            Err(NodeError::Edit(EditError::WidensHistory { held, .. })) if owner == self.team() => {
                let mut next = advisory.clone();
                next.id = self
                    .docs
                    .continuation_name(&owner, &advisory.id)
                    .map_err(|e| NodeError::Edit(e.into()))?;
                let change = self.publish_advisory(now, &next)?;
                Ok(AdvisoryUpdate::Continued {
                    id: next.id,
                    change,
                    held,
                })
            }
            Err(e) => Err(e),
        }
    }

    /// Adds or updates a tool in this team's registry.
    pub fn upsert_tool(
        &mut self,
        now: Millis,
        tool: &Tool,
    ) -> Result<Option<SignedChange>, NodeError<S::Error>> {
        let doc = DocRef::tools(self.team()).id();
        self.local_edit(Some(doc), |docs, key, suffix| {
            docs.upsert_tool(key, suffix, now / 1000, tool)
        })
    }

    /// Removes a tool from this team's registry.
    pub fn remove_tool(
        &mut self,
        now: Millis,
        name: &str,
    ) -> Result<Option<SignedChange>, NodeError<S::Error>> {
        let doc = DocRef::tools(self.team()).id();
        self.local_edit(Some(doc), |docs, key, suffix| {
            docs.remove_tool(key, suffix, now / 1000, name)
        })
    }

    /// Makes a local change to `doc` with `edit`, stores it durably, and
    /// only then indexes and pushes it. The replica applies the change as it
    /// makes it, so `doc` is checkpointed first and put back when the edit
    /// fails or the store refuses the change: a change that is not durable
    /// is not acknowledged, not pushed and not kept, and the next edit
    /// starts from the same state. (`doc` is `None` only when the edit
    /// fails before it touches the replica, on an invalid advisory id.)
    fn local_edit(
        &mut self,
        doc: Option<DocId>,
        edit: impl FnOnce(
            &mut Documents,
            &TeamKey,
            ActorSuffix,
        ) -> Result<Option<SignedChange>, EditError>,
    ) -> Result<Option<SignedChange>, NodeError<S::Error>> {
        let checkpoint = doc.map(|d| self.docs.checkpoint(&d));
        let change = match edit(&mut self.docs, &self.key, self.suffix) {
            Ok(Some(change)) => change,
            Ok(None) => return Ok(None),
            Err(e) => {
                if let Some(c) = checkpoint {
                    self.docs.rollback(c);
                }
                return Err(e.into());
            }
        };
        debug_assert_eq!(
            doc,
            Some(change.doc()),
            "the checkpoint is of the edited document"
        );
        if let Err(e) = self.store.put_changes(std::slice::from_ref(&change)) {
            if let Some(c) = checkpoint {
                self.docs.rollback(c);
            }
            self.stats.store_failures += 1;
            return Err(NodeError::Store(e));
        }
        self.changes_added(&[Inserted {
            doc: change.doc(),
            hash: change.hash(),
            new: true,
            status: ChangeStatus::Applied,
            changed: true,
        }]);
        self.push(change.clone());
        Ok(Some(change))
    }
}
