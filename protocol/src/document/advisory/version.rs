//! CSAF `tracking.version` and revision numbers (CSAF 2.0 and 2.1 section
//! 3.1.11): integer versioning (`0`, `1`, `2`, ...) or semantic versioning
//! 2.0.0 (`1.4.3`, `2.0.0-rc.1+build.5`), ordered as those schemes order
//! them.
//!
//! - Integers compare as numbers, of any length.
//! - Semantic versions compare by major, minor and patch as numbers, then a
//!   version with a pre-release is lower than the same version without one;
//!   pre-release identifiers compare left to right, numeric ones as numbers
//!   and below alphanumeric ones, which compare in ASCII order; a shorter
//!   list of equal identifiers is lower. Build metadata is ignored.
//! - A document that moved from integer to semantic versioning compares the
//!   integer `n` as `n.0.0`.

use std::cmp::Ordering;
use std::fmt;

/// A CSAF version number, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackingVersion {
    text: String,
    major: String,
    minor: String,
    patch: String,
    pre: Vec<String>,
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'))
}

fn is_ident(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Compares decimal numbers without leading zeros, of any length.
fn cmp_number(a: &str, b: &str) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

impl TrackingVersion {
    /// Parses an integer or semantic version; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        if is_number(text) {
            return Some(Self {
                text: text.to_owned(),
                major: text.to_owned(),
                minor: "0".to_owned(),
                patch: "0".to_owned(),
                pre: vec![],
            });
        }
        let (rest, build) = match text.split_once('+') {
            Some((r, b)) => (r, Some(b)),
            None => (text, None),
        };
        if let Some(b) = build
            && !b.split('.').all(is_ident)
        {
            return None;
        }
        let (core, pre) = match rest.split_once('-') {
            Some((c, p)) => (c, Some(p)),
            None => (rest, None),
        };
        let mut parts = core.split('.');
        let (major, minor, patch) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || ![major, minor, patch].iter().all(|p| is_number(p)) {
            return None;
        }
        let pre: Vec<String> = match pre {
            None => vec![],
            Some(p) => {
                let ids: Vec<&str> = p.split('.').collect();
                let ok = ids.iter().all(|id| {
                    is_ident(id) && (!id.bytes().all(|b| b.is_ascii_digit()) || is_number(id))
                });
                if !ok {
                    return None;
                }
                ids.into_iter().map(str::to_owned).collect()
            }
        };
        Some(Self {
            text: text.to_owned(),
            major: major.to_owned(),
            minor: minor.to_owned(),
            patch: patch.to_owned(),
            pre,
        })
    }

    /// The version as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Precedence: which of two versions is newer (equal when only build
    /// metadata or the scheme differs).
    pub fn precedence(&self, other: &Self) -> Ordering {
        cmp_number(&self.major, &other.major)
            .then_with(|| cmp_number(&self.minor, &other.minor))
            .then_with(|| cmp_number(&self.patch, &other.patch))
            .then_with(|| match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => cmp_pre(&self.pre, &other.pre),
            })
    }
}

fn cmp_pre(a: &[String], b: &[String]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let xn = x.bytes().all(|c| c.is_ascii_digit());
        let yn = y.bytes().all(|c| c.is_ascii_digit());
        let o = match (xn, yn) {
            (true, true) => cmp_number(x, y),
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            (false, false) => x.cmp(y),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    a.len().cmp(&b.len())
}

impl fmt::Display for TrackingVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}
