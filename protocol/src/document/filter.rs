//! One typed advisory filter for every reader: the API's advisory list,
//! the web page and alert rules. It reads an advisory's [`AdvisoryFacts`],
//! taken once from its envelope and its CSAF tree's read view. Severity
//! compares in the order of [`Severity`] (none < low < medium < high <
//! critical), not by name; parsing text into a filter is the caller's (the
//! node reads query strings and rule files).

use super::advisory::{
    AdvisoryDocument, AdvisoryStatus, AdvisoryView, CATEGORY_NOTE, Origin, Severity, Tlp,
};
use crate::identity::TeamId;

/// A team an advisory filter names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TeamSpec {
    /// By id.
    Id(TeamId),
    /// By short name, compared without case (as the owner is known to the
    /// caller, see [`AdvisoryFilter::matches`]).
    ShortName(String),
}

impl TeamSpec {
    /// Reads an id, else takes the trimmed text as a short name.
    pub fn parse(text: &str) -> Self {
        match text.trim().parse::<TeamId>() {
            Ok(id) => Self::Id(id),
            Err(_) => Self::ShortName(text.trim().to_owned()),
        }
    }
}

/// What readers filter and list an advisory by.
#[derive(Debug, Clone, PartialEq)]
pub struct AdvisoryFacts {
    /// The document's name.
    pub id: String,
    /// `document.title`.
    pub title: String,
    /// The trustmesh category of an advisory written in trustmesh, else
    /// the CSAF `document.category` as written.
    pub category: String,
    /// The level derived from `aggregate_severity` or the highest CVSS
    /// base score; none when the document states neither.
    pub severity: Option<Severity>,
    /// The envelope's TLP label.
    pub tlp: Tlp,
    /// The envelope's status.
    pub status: AdvisoryStatus,
    /// CVE ids of its vulnerabilities.
    pub cves: Vec<String>,
    /// `document.tracking.id`.
    pub tracking_id: String,
    /// The text of its document notes.
    pub notes: Vec<String>,
}

impl AdvisoryFacts {
    /// The facts of `d`, whose read view is `view`.
    pub fn of(d: &AdvisoryDocument, view: &AdvisoryView) -> Self {
        let authored_category = (d.envelope.origin == Origin::Authored)
            .then(|| {
                view.notes
                    .iter()
                    .find(|n| n.category == "other" && n.title.as_deref() == Some(CATEGORY_NOTE))
                    .map(|n| n.text.clone())
            })
            .flatten();
        Self {
            id: d.id.clone(),
            title: view.title.clone(),
            category: authored_category.unwrap_or_else(|| view.category.clone()),
            severity: view.severity.level,
            tlp: d.envelope.tlp,
            status: d.envelope.status,
            cves: view.cves.clone(),
            tracking_id: view.tracking.id.clone(),
            notes: view.notes.iter().map(|n| n.text.clone()).collect(),
        }
    }
}

/// Which advisories to show or alert on. Every criterion is optional, an
/// empty list matches anything, and an advisory must meet them all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AdvisoryFilter {
    /// Categories it matches, compared without case and with `-`, `_` and
    /// spaces alike (`Current-Activity` is `current_activity`): trustmesh
    /// categories of advisories written in trustmesh, CSAF document
    /// categories of imported ones; empty for any.
    pub categories: Vec<String>,
    /// The lowest severity it matches; an advisory that states no severity
    /// matches no lowest severity.
    pub min_severity: Option<Severity>,
    /// TLP labels it matches; empty for any.
    pub tlp: Vec<Tlp>,
    /// Statuses it matches; empty for any.
    pub statuses: Vec<AdvisoryStatus>,
    /// Owner teams it matches; empty for any.
    pub owners: Vec<TeamSpec>,
    /// Text found, without case, in the id, title, tracking id, a note or
    /// a CVE.
    pub text: Option<String>,
}

impl AdvisoryFilter {
    /// Whether the advisory, owned by `owner` (known here by `owner_name`),
    /// meets every criterion.
    pub fn matches(&self, owner: &TeamId, owner_name: Option<&str>, a: &AdvisoryFacts) -> bool {
        (self.categories.is_empty()
            || self
                .categories
                .iter()
                .any(|c| same_category(c, &a.category)))
            && self
                .min_severity
                .is_none_or(|m| a.severity.is_some_and(|s| s >= m))
            && (self.tlp.is_empty() || self.tlp.contains(&a.tlp))
            && (self.statuses.is_empty() || self.statuses.contains(&a.status))
            && (self.owners.is_empty()
                || self.owners.iter().any(|t| match t {
                    TeamSpec::Id(id) => id == owner,
                    TeamSpec::ShortName(s) => owner_name.is_some_and(|n| n.eq_ignore_ascii_case(s)),
                }))
            && self.text.as_deref().is_none_or(|q| text_matches(q, a))
    }

    /// Whether the filter has no criterion (it matches every advisory).
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

fn same_category(a: &str, b: &str) -> bool {
    let norm = |c: char| match c {
        '-' | ' ' => '_',
        c => c.to_ascii_lowercase(),
    };
    a.trim().chars().map(norm).eq(b.trim().chars().map(norm))
}

fn text_matches(query: &str, a: &AdvisoryFacts) -> bool {
    let q = query.to_lowercase();
    [&a.id, &a.title, &a.tracking_id]
        .into_iter()
        .chain(&a.notes)
        .chain(&a.cves)
        .any(|t| t.to_lowercase().contains(&q))
}

#[cfg(test)]
mod tests;
