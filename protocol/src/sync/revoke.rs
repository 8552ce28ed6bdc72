//! The frontier a revocation carries (DESIGN.md section 3, step 3): one
//! rule, whether the revoker's node is running, offline or simulated.

use super::Node;
use crate::document::Documents;
use crate::identity::TeamId;
use crate::membership::StatementSet;
use crate::statement::{ChangeHash, Statement, StatementId};
use crate::store::Store;

/// What a revocation keeps of the revoked key's past: its introductions
/// and the heads of the documents it wrote, as the revoker holds them.
/// Kept introductions still count after the revocation; the revoked key's
/// changes stay applied within the causal past of the kept heads.
///
/// Both lists are sorted and without duplicates, as a
/// [`crate::Revocation`] requires. A frontier longer than
/// [`crate::MAX_LIST`] does not fit in one revocation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    /// The revoked key's introductions the revoker holds.
    pub introductions: Vec<StatementId>,
    /// The current heads of every document holding a change the revoked
    /// key signed.
    pub heads: Vec<ChangeHash>,
}

impl Frontier {
    /// The frontier of a revocation of `team` over `statements` and `docs`:
    /// every introduction `team` signed, and the heads of the materialized
    /// documents (what this replica shows) among which `team` authored a
    /// stored change. A pure function of the two sets, so a node opened
    /// offline over a store computes what the running node computed.
    pub fn of(statements: &StatementSet, docs: &Documents, team: &TeamId) -> Self {
        let introductions = statements
            .iter()
            .filter(|s| matches!(s.statement(), Statement::Introduction(i) if i.sponsor == *team))
            .map(|s| s.id())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let heads = docs
            .docs()
            .filter(|(d, _)| docs.authors(d).any(|a| a == team))
            .flat_map(|(d, _)| docs.heads(d))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        Self {
            introductions,
            heads,
        }
    }

    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.introductions.is_empty() && self.heads.is_empty()
    }
}

impl<S: Store> Node<S> {
    /// The frontier a revocation of `team` made here carries
    /// ([`Frontier::of`] over this node's statements and documents).
    pub fn revocation_frontier(&self, team: &TeamId) -> Frontier {
        Frontier::of(&self.statements, &self.docs, team)
    }
}

#[cfg(test)]
mod tests;
