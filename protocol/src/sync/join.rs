//! The join exchange, both sides ([`crate::join`]).

use super::{Destination, Millis, Node, Rejection, Transmit};
use crate::identity::TeamId;
use crate::join::{JoinRequest, JoinResponse, MAX_ADMISSION_STATEMENTS, MAX_JOIN_STATEMENTS};
use crate::statement::{SignedStatement, Statement};
use crate::store::Store;
use crate::wire::{MAX_MESSAGE_BYTES, Message};

/// What a join response did on the applicant's side.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum JoinOutcome {
    /// The peer admitted this node and sent its statements.
    Admitted {
        /// Statements that were new here.
        new_statements: usize,
        /// Whether this node now computes itself a member.
        member: bool,
    },
    /// The peer refused, for this reason.
    Refused(String),
    /// The response carried a statement that does not verify.
    Invalid(Rejection),
}

impl<S: Store> Node<S> {
    /// Whether this node's own team is a member.
    pub fn is_member(&self) -> bool {
        self.membership.is_member(&self.team())
    }

    /// What this node presents to a peer that may not know it is a member:
    /// this team's applications and the introductions naming it, in the
    /// statement set's order, at most [`MAX_JOIN_STATEMENTS`]. A founder
    /// presents nothing (the charter admits it), and neither does a team
    /// holding no application of its own; an empty request is not sent.
    pub fn join_request(&self) -> JoinRequest {
        let me = self.team();
        if self.statements.charter().is_founder(&me) {
            return JoinRequest::default();
        }
        let statements = self
            .statements
            .iter()
            .filter(|s| match s.statement() {
                Statement::Application(a) => a.applicant == me,
                Statement::Introduction(i) => i.applicant == me,
                Statement::Revocation(_) => false,
            })
            .take(MAX_JOIN_STATEMENTS)
            .cloned()
            .collect();
        JoinRequest { statements }
    }

    /// Answers a join request from `from`, whose key the transport proved.
    ///
    /// Only `from`'s own application and the introductions naming it are
    /// considered. If they make `from` a member, they are stored, applied
    /// and gossiped, and the answer carries this node's statements;
    /// otherwise nothing is stored and the answer says why.
    pub fn handle_join_request(
        &mut self,
        _now: Millis,
        from: TeamId,
        request: JoinRequest,
    ) -> JoinResponse {
        if self.membership.is_member(&from) {
            self.stats.joins_admitted += 1;
            return self.admission();
        }
        let refuse = |node: &mut Self, reason: String| {
            node.stats.joins_refused += 1;
            JoinResponse::Refused { reason }
        };
        let mut trial = self.statements.clone();
        let mut new = Vec::new();
        for s in request.statements {
            let about_applicant = match s.statement() {
                Statement::Application(a) => a.applicant == from,
                Statement::Introduction(i) => i.applicant == from,
                _ => false,
            };
            if !about_applicant {
                return refuse(
                    self,
                    format!(
                        "a join request carries only the applicant's own application and introductions, not a {}",
                        s.statement().kind_name()
                    ),
                );
            }
            match trial.insert(s.clone()) {
                Ok(true) => new.push(s),
                Ok(false) => {}
                Err(e) => return refuse(self, format!("a statement does not verify: {e}")),
            }
        }
        let membership = trial.membership();
        if !membership.is_member(&from) {
            let reason = membership.standing(&from).map_or_else(
                || "no application from this team".to_owned(),
                |s| s.reason(),
            );
            return refuse(self, format!("not admitted: {reason}"));
        }
        if let Err(e) = self.store.put_statements(&new) {
            self.store_failed(e.to_string());
            return refuse(
                self,
                "the node could not store the statements; try again".to_owned(),
            );
        }
        self.statements = trial;
        self.statements_added(&new);
        if !new.is_empty() {
            self.transmit(Transmit {
                to: Destination::Gossip,
                message: Message::Statements(new),
            });
        }
        self.stats.joins_admitted += 1;
        self.admission()
    }

    /// The statements an admitted peer receives, within one message's size.
    fn admission(&self) -> JoinResponse {
        let budget = MAX_MESSAGE_BYTES / 2;
        let mut bytes = 0;
        let statements: Vec<SignedStatement> = self
            .statements
            .iter()
            .take(MAX_ADMISSION_STATEMENTS)
            .take_while(|s| {
                bytes += s.encode().len() + 4;
                bytes <= budget
            })
            .cloned()
            .collect();
        JoinResponse::Admitted { statements }
    }

    /// Handles the answer to a join request this node sent to `from`.
    /// The statements of an admission are verified one by one like any
    /// other; they need no membership of the sender to count, since their
    /// signatures prove their authors.
    pub fn handle_join_response(
        &mut self,
        _now: Millis,
        _from: TeamId,
        response: JoinResponse,
    ) -> JoinOutcome {
        let statements = match response {
            JoinResponse::Refused { reason } => return JoinOutcome::Refused(reason),
            JoinResponse::Admitted { statements } => statements,
        };
        let (new_statements, rejection) = self.add_statements(statements);
        match rejection {
            Some(r) => {
                *self.stats.rejected.entry(r.name()).or_default() += 1;
                JoinOutcome::Invalid(r)
            }
            None => JoinOutcome::Admitted {
                new_statements,
                member: self.is_member(),
            },
        }
    }
}

#[cfg(test)]
mod tests;
