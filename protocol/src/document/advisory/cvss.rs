//! CVSS v3.0 and v3.1 base scores from their vectors (FIRST's
//! specification documents, section 7 and appendix A), so an advisory
//! written in trustmesh states the score its vector gives, never one typed
//! beside it.

use super::Severity;

/// A parsed CVSS v3 vector: its version and base score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cvss3 {
    /// "3.0" or "3.1".
    pub version: &'static str,
    /// The base score, 0.0 to 10.0.
    pub base_score: f64,
}

impl Cvss3 {
    /// Parses a vector such as `CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H`.
    /// Every base metric must appear once; temporal and environmental
    /// metrics may follow and do not change the base score. `None` for
    /// anything else.
    pub fn parse(vector: &str) -> Option<Self> {
        let mut parts = vector.split('/');
        let version = match parts.next()? {
            "CVSS:3.0" => "3.0",
            "CVSS:3.1" => "3.1",
            _ => return None,
        };
        let mut m: [Option<char>; 8] = [None; 8];
        const BASE: [&str; 8] = ["AV", "AC", "PR", "UI", "S", "C", "I", "A"];
        const OTHER: [&str; 14] = [
            "E", "RL", "RC", "CR", "IR", "AR", "MAV", "MAC", "MPR", "MUI", "MS", "MC", "MI", "MA",
        ];
        let mut seen_other = Vec::new();
        for part in parts {
            let (name, value) = part.split_once(':')?;
            let mut chars = value.chars();
            let (Some(v), None) = (chars.next(), chars.next()) else {
                return None;
            };
            if let Some(i) = BASE.iter().position(|b| *b == name) {
                if m[i].replace(v).is_some() {
                    return None;
                }
            } else if OTHER.contains(&name) && !seen_other.contains(&name) {
                seen_other.push(name);
            } else {
                return None;
            }
        }
        let [av, ac, pr, ui, s, c, i, a] = m;
        let changed = match s? {
            'U' => false,
            'C' => true,
            _ => return None,
        };
        let av = match av? {
            'N' => 0.85,
            'A' => 0.62,
            'L' => 0.55,
            'P' => 0.2,
            _ => return None,
        };
        let ac = match ac? {
            'L' => 0.77,
            'H' => 0.44,
            _ => return None,
        };
        let pr = match (pr?, changed) {
            ('N', _) => 0.85,
            ('L', false) => 0.62,
            ('L', true) => 0.68,
            ('H', false) => 0.27,
            ('H', true) => 0.5,
            _ => return None,
        };
        let ui = match ui? {
            'N' => 0.85,
            'R' => 0.62,
            _ => return None,
        };
        let cia = |x: Option<char>| match x? {
            'H' => Some(0.56),
            'L' => Some(0.22),
            'N' => Some(0.0),
            _ => None,
        };
        let (c, i, a) = (cia(c)?, cia(i)?, cia(a)?);
        let iss = 1.0 - (1.0 - c) * (1.0 - i) * (1.0 - a);
        let impact = if changed {
            7.52 * (iss - 0.029) - 3.25 * f64::powi(iss - 0.02, 15)
        } else {
            6.42 * iss
        };
        let exploitability = 8.22 * av * ac * pr * ui;
        let roundup = if version == "3.1" {
            roundup_31
        } else {
            roundup_30
        };
        let base_score = if impact <= 0.0 {
            0.0
        } else if changed {
            roundup(f64::min(1.08 * (impact + exploitability), 10.0))
        } else {
            roundup(f64::min(impact + exploitability, 10.0))
        };
        Some(Self {
            version,
            base_score,
        })
    }
}

/// CVSS v3.0: the smallest number with one decimal at or above `x`.
fn roundup_30(x: f64) -> f64 {
    (x * 10.0).ceil() / 10.0
}

/// CVSS v3.1 appendix A: the same, computed on integers so that floating
/// point error does not round 4.000000001 up to 4.1.
fn roundup_31(x: f64) -> f64 {
    let n = (x * 100_000.0).round() as i64;
    if n % 10_000 == 0 {
        n as f64 / 100_000.0
    } else {
        ((n / 10_000) + 1) as f64 / 10.0
    }
}

/// The CVSS v3 qualitative rating of a base score (also used for v2 and v4
/// scores, whose bands are the same or close).
pub fn rating(score: f64) -> Severity {
    if score <= 0.0 {
        Severity::None
    } else if score < 4.0 {
        Severity::Low
    } else if score < 7.0 {
        Severity::Medium
    } else if score < 9.0 {
        Severity::High
    } else {
        Severity::Critical
    }
}
