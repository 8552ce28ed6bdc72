//! The advisory list's summaries, kept between requests: reading a
//! summary materialises the advisory's whole CSAF tree (megabytes for a
//! large vendor document), so each is recomputed only when the document's
//! heads or its owner's name changed.

use std::collections::HashMap;

use trustmesh_protocol::{AdvisoryDocument, AdvisoryFacts, ChangeHash, DocId, DocKind};

use super::Engine;
use crate::api::AdvisorySummary;
use crate::http::views::short_name;

/// One advisory's summary and filter facts, with what they were read at.
#[derive(Debug, Clone)]
pub(super) struct Cached {
    heads: Vec<ChangeHash>,
    owner_name: String,
    summary: AdvisorySummary,
    facts: AdvisoryFacts,
}

impl Engine {
    /// Every advisory this node holds, summarised, with the facts filters
    /// read; from the cache where the document did not change.
    pub(crate) fn advisory_summaries(&mut self) -> Vec<(AdvisorySummary, AdvisoryFacts)> {
        let node = &self.node;
        let docs = node.documents();
        let mut fresh: HashMap<DocId, Cached> = HashMap::new();
        for (doc, r) in docs.docs() {
            if r.kind() != DocKind::Advisory {
                continue;
            }
            let heads = docs.heads(doc);
            let owner_name = short_name(node.membership(), &r.owner());
            let cached = self
                .summaries
                .remove(doc)
                .filter(|c| c.heads == heads && c.owner_name == owner_name);
            let entry = match cached {
                Some(c) => c,
                None => {
                    let Ok(Some(d)) = docs.get::<AdvisoryDocument>(doc) else {
                        continue;
                    };
                    let (summary, facts) =
                        AdvisorySummary::with_facts(*doc, &d, owner_name.clone());
                    Cached {
                        heads,
                        owner_name,
                        summary,
                        facts,
                    }
                }
            };
            fresh.insert(*doc, entry);
        }
        self.summaries = fresh;
        self.summaries
            .values()
            .map(|c| (c.summary.clone(), c.facts.clone()))
            .collect()
    }
}
