//! One typed advisory filter for every reader: the API's advisory list,
//! the web page and alert rules. Values are the schema's own types, so
//! severity compares in the order of [`Severity`] (none < low < medium <
//! high < critical), not by name; parsing text into a filter is the
//! caller's (the node reads query strings and rule files).

use super::advisory::{Advisory, AdvisoryCategory, AdvisoryStatus, Severity, Tlp};
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

/// Which advisories to show or alert on. Every criterion is optional, an
/// empty list matches anything, and an advisory must meet them all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AdvisoryFilter {
    /// Categories it matches; empty for any.
    pub categories: Vec<AdvisoryCategory>,
    /// The lowest severity it matches.
    pub min_severity: Option<Severity>,
    /// TLP labels it matches; empty for any.
    pub tlp: Vec<Tlp>,
    /// Statuses it matches; empty for any.
    pub statuses: Vec<AdvisoryStatus>,
    /// Owner teams it matches; empty for any.
    pub owners: Vec<TeamSpec>,
    /// Text found, without case, in the id, title, summary, body or a CVE.
    pub text: Option<String>,
}

impl AdvisoryFilter {
    /// Whether the advisory, owned by `owner` (known here by `owner_name`),
    /// meets every criterion.
    pub fn matches(&self, owner: &TeamId, owner_name: Option<&str>, a: &Advisory) -> bool {
        (self.categories.is_empty() || self.categories.contains(&a.category))
            && self.min_severity.is_none_or(|m| a.severity >= m)
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

fn text_matches(query: &str, a: &Advisory) -> bool {
    let q = query.to_lowercase();
    [&a.id, &a.title, &a.summary, &a.body]
        .iter()
        .any(|t| t.to_lowercase().contains(&q))
        || a.cves.iter().any(|c| c.to_lowercase().contains(&q))
}

#[cfg(test)]
mod tests;
