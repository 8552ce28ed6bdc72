//! Handing changed advisories to the alert dispatcher.

use tracing::warn;
use trustmesh_protocol::{AdvisoryDocument, DocId};

use super::Engine;
use crate::alerts::{self, Candidate};

impl Engine {
    /// Offers changed advisories to the alert dispatcher while its queue has
    /// room; the rest wait for the next turn of the loop.
    pub(super) fn offer_alerts(&mut self) {
        let Some(alerts) = self.alerts.clone() else {
            return;
        };
        while let Some(doc) = self.alerts_dirty.first().copied() {
            let permit = match alerts.reserve() {
                Ok(Some(p)) => p,
                Ok(None) => return,
                Err(e) => {
                    warn!(error = %e, "alerts stop");
                    self.alerts = None;
                    self.alerts_dirty.clear();
                    return;
                }
            };
            self.alerts_dirty.remove(&doc);
            if let Some(c) = self.alert_candidate(&doc) {
                permit.send(c);
            }
        }
    }

    fn alert_candidate(&self, doc: &DocId) -> Option<Candidate> {
        let docs = self.node.documents();
        let r = docs.doc_ref(doc)?;
        let document = match docs.get::<AdvisoryDocument>(doc) {
            // A write spanning several changes alerts once it is whole.
            Ok(Some(d)) if d.complete => d,
            Ok(_) => return None,
            Err(e) => {
                warn!(%doc, error = %e, "advisory unreadable; no alert");
                return None;
            }
        };
        let heads = docs.heads(doc);
        let stated = docs
            .changes(doc, &heads)
            .unwrap_or_default()
            .iter()
            .map(|c| c.timestamp())
            .max()
            .unwrap_or(0);
        let owner = r.owner();
        let owner_name = self
            .node
            .membership()
            .standing(&owner)
            .and_then(|s| s.profile.as_ref())
            .map(|p| p.short_name.clone());
        let (advisory, facts) = crate::api::AdvisorySummary::with_facts(
            *doc,
            &document,
            owner_name.clone().unwrap_or_else(|| owner.short()),
        );
        Some(Candidate {
            doc: *doc,
            version: alerts::version_of(heads.iter().map(|h| h.as_bytes())),
            stated,
            owner,
            owner_name,
            advisory,
            facts,
        })
    }
}
