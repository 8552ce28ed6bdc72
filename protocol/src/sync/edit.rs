//! Local operations: statements and edits made here, stored before they
//! are applied for good and pushed.

use super::{Destination, Millis, Node, NodeError, Transmit};
use crate::document::{Advisory, ChangeStatus, Contact, Inserted, SignedChange, Tool};
use crate::identity::TeamId;
use crate::statement::SignedStatement;
use crate::store::Store;
use crate::wire::Message;

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
        self.store
            .put_statements(std::slice::from_ref(&statement))
            .map_err(NodeError::Store)?;
        self.statements.insert(statement.clone())?;
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
        let change = self
            .docs
            .edit_contact(&self.key, self.suffix, now / 1000, contact)?;
        self.commit_local(change)
    }

    /// Publishes a new advisory owned by this team.
    pub fn publish_advisory(
        &mut self,
        now: Millis,
        advisory: &Advisory,
    ) -> Result<SignedChange, NodeError<S::Error>> {
        let change = self
            .docs
            .publish_advisory(&self.key, self.suffix, now / 1000, advisory)?;
        self.commit_local(Some(change.clone()))?;
        Ok(change)
    }

    /// Updates an advisory this team owns or co-authors; `None` when
    /// nothing differed.
    pub fn update_advisory(
        &mut self,
        now: Millis,
        owner: TeamId,
        advisory: &Advisory,
    ) -> Result<Option<SignedChange>, NodeError<S::Error>> {
        let change =
            self.docs
                .update_advisory(&self.key, self.suffix, now / 1000, owner, advisory)?;
        self.commit_local(change)
    }

    /// Adds or updates a tool in this team's registry.
    pub fn upsert_tool(
        &mut self,
        now: Millis,
        tool: &Tool,
    ) -> Result<Option<SignedChange>, NodeError<S::Error>> {
        let change = self
            .docs
            .upsert_tool(&self.key, self.suffix, now / 1000, tool)?;
        self.commit_local(change)
    }

    /// Removes a tool from this team's registry.
    pub fn remove_tool(
        &mut self,
        now: Millis,
        name: &str,
    ) -> Result<Option<SignedChange>, NodeError<S::Error>> {
        let change = self
            .docs
            .remove_tool(&self.key, self.suffix, now / 1000, name)?;
        self.commit_local(change)
    }

    /// Stores a local change durably, then pushes it. The replica applied
    /// it already; if the store fails the change is not acknowledged and
    /// not pushed (it may still reach peers by anti-entropy, signed as it
    /// is, and the next process uses a fresh actor suffix).
    fn commit_local(
        &mut self,
        change: Option<SignedChange>,
    ) -> Result<Option<SignedChange>, NodeError<S::Error>> {
        let Some(change) = change else {
            return Ok(None);
        };
        self.store
            .put_changes(std::slice::from_ref(&change))
            .map_err(NodeError::Store)?;
        let doc = change.doc();
        self.changes_added(&[Inserted {
            doc,
            hash: change.hash(),
            new: true,
            status: ChangeStatus::Applied,
            changed: true,
        }]);
        self.push(change.clone());
        Ok(Some(change))
    }
}
