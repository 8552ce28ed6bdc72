//! Exports to, and imports from, the formats other CSIRT tools read.
//!
//! Pure conversions, no engine and no I/O: an advisory to a CSAF 2.0
//! document and back ([`csaf`]), its indicators to a STIX 2.1 bundle
//! ([`stix`]), and the contacts directory to a JSON file that keeps every
//! RFC 2350 field ([`contacts`]), the team's advisories as a CSAF trusted
//! provider's directory ([`csaf_provider`], signed with the key of
//! [`openpgp`]). The API (`views.rs`) feeds them what the
//! node holds; the CLI writes what they return.

use serde::Serialize;
use trustmesh_protocol::{Contact, TeamId};

pub mod csaf;
pub mod csaf_provider;
pub mod misp;
pub mod openpgp;
pub mod stix;
pub mod taxii;

/// The team an export speaks for: the advisory's owner, as its contact
/// entry (or, without one, its membership profile) names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    /// The team's id.
    pub team: TeamId,
    /// Its full name.
    pub name: String,
    /// Its web site, possibly empty.
    pub website: String,
    /// Its e-mail address, possibly empty.
    pub email: String,
}

impl Author {
    /// A URL that names the team: the scheme and host of its web site, or
    /// `https://trustmesh.invalid/<team id>` when it has none.
    pub fn namespace(&self) -> String {
        site_origin(&self.website)
            .unwrap_or_else(|| format!("https://trustmesh.invalid/{}", self.team))
    }

    /// The name to show, never empty.
    pub fn display_name(&self) -> String {
        if self.name.trim().is_empty() {
            format!("trustmesh team {}", self.team.short())
        } else {
            self.name.trim().to_owned()
        }
    }
}

/// `https://host` of a web site given with or without a scheme, if it
/// looks like one.
fn site_origin(website: &str) -> Option<String> {
    let w = website.trim();
    let (scheme, rest) = match w.split_once("://") {
        Some((s, r)) if s.eq_ignore_ascii_case("http") || s.eq_ignore_ascii_case("https") => {
            (s.to_ascii_lowercase(), r)
        }
        Some(_) => return None,
        None => ("https".to_owned(), w),
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let ok = !host.is_empty()
        && host.contains('.')
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    ok.then(|| format!("{scheme}://{}", host.to_ascii_lowercase()))
}

/// The format tag of a contacts export.
pub const CONTACTS_FORMAT: &str = "trustmesh-contacts/1";

/// One entry of a contacts export: the team id, whether it is a member,
/// and every field of its [`Contact`] (RFC 2350) as the document holds it.
#[derive(Debug, Serialize)]
pub struct ContactEntry<'a> {
    /// The team's id.
    pub team: TeamId,
    /// Whether the team is a member now.
    pub member: bool,
    /// The entry.
    #[serde(flatten)]
    pub contact: &'a Contact,
}

/// A contacts export.
#[derive(Debug, Serialize)]
pub struct ContactsExport<'a> {
    /// [`CONTACTS_FORMAT`].
    pub format: &'static str,
    /// When it was made (RFC 3339).
    pub exported: String,
    /// The entries, sorted by short name, then team id.
    pub contacts: Vec<ContactEntry<'a>>,
}

/// The contacts directory as one JSON document.
pub fn contacts(entries: &[(TeamId, bool, Contact)], now: u64) -> ContactsExport<'_> {
    let mut contacts: Vec<ContactEntry<'_>> = entries
        .iter()
        .map(|(team, member, contact)| ContactEntry {
            team: *team,
            member: *member,
            contact,
        })
        .collect();
    contacts.sort_by(|a, b| {
        (a.contact.short_name.to_lowercase(), a.team)
            .cmp(&(b.contact.short_name.to_lowercase(), b.team))
    });
    ContactsExport {
        format: CONTACTS_FORMAT,
        exported: rfc3339(now),
        contacts,
    }
}

/// The latest instant RFC 3339 (four-digit years) can write.
const MAX_SECS: u64 = 253_402_300_799;

/// Unix seconds as an RFC 3339 UTC timestamp, `2026-01-31T12:00:00Z`.
/// Instants after the year 9999 are written as its last second.
pub fn rfc3339(secs: u64) -> String {
    let (y, mo, d, h, mi, s) = civil(secs);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// Unix seconds as a STIX timestamp: RFC 3339 UTC to the millisecond.
pub fn stix_time(secs: u64) -> String {
    let (y, mo, d, h, mi, s) = civil(secs);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.000Z")
}

/// Unix seconds as UTC (year, month, day, hour, minute, second).
pub(crate) fn civil(secs: u64) -> (i64, u32, u32, u32, u32, u32) {
    // Bounded above, so the cast cannot wrap.
    let secs = secs.min(MAX_SECS) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    let rem = rem as u32;
    (y, m, d, rem / 3600, rem / 60 % 60, rem % 60)
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Why a timestamp was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimeError {
    /// It is not `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)`.
    #[error("{0:?} is not an RFC 3339 date-time such as 2026-01-31T12:00:00Z")]
    Syntax(String),
    /// It is before 1970, which a revision date cannot be.
    #[error("{0:?} is before 1970")]
    BeforeEpoch(String),
}

/// Parses an RFC 3339 date-time into Unix seconds (fractions dropped).
pub fn parse_rfc3339(text: &str) -> Result<u64, TimeError> {
    let bad = || TimeError::Syntax(text.to_owned());
    let b = text.as_bytes();
    let num = |from: usize, len: usize| -> Result<i64, TimeError> {
        let part = b.get(from..from + len).ok_or_else(bad)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return Err(bad());
        }
        Ok(part.iter().fold(0i64, |n, d| n * 10 + i64::from(d - b'0')))
    };
    let sep = |at: usize, ok: &[u8]| b.get(at).is_some_and(|c| ok.contains(c));
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt ") && sep(13, b":") && sep(16, b":")) {
        return Err(bad());
    }
    let (y, mo, d, h, mi, s) = (
        num(0, 4)?,
        num(5, 2)?,
        num(8, 2)?,
        num(11, 2)?,
        num(14, 2)?,
        num(17, 2)?,
    );
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    let max_day = usize::try_from(mo - 1)
        .ok()
        .and_then(|i| month_days.get(i).copied())
        .ok_or_else(bad)?;
    if !(1..=max_day).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return Err(bad());
    }
    let mut at = 19;
    if b.get(at) == Some(&b'.') {
        at += 1;
        let start = at;
        while b.get(at).is_some_and(u8::is_ascii_digit) {
            at += 1;
        }
        if at == start {
            return Err(bad());
        }
    }
    let offset = match b.get(at..) {
        Some(b"Z" | b"z") => 0,
        Some([sign @ (b'+' | b'-'), ..]) if b.len() == at + 6 && b[at + 3] == b':' => {
            let (oh, om) = (num(at + 1, 2)?, num(at + 4, 2)?);
            if oh > 23 || om > 59 {
                return Err(bad());
            }
            let o = oh * 3600 + om * 60;
            if *sign == b'+' { o } else { -o }
        }
        _ => return Err(bad()),
    };
    // A leap second is counted as the second before it.
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s.min(59) - offset;
    u64::try_from(secs).map_err(|_| TimeError::BeforeEpoch(text.to_owned()))
}

#[cfg(test)]
mod tests;
