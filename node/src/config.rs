//! The node's settings: `<data-dir>/config.toml`, overridden by flags.
//!
//! Every key is optional; a missing file means the defaults. Precedence is
//! command line > environment (for the data directory) > file > default;
//! [`NodeConfig::validate`] turns the strings into typed values once.
//!
//! ```toml
//! listen = ["/ip4/0.0.0.0/tcp/4001", "/ip4/0.0.0.0/udp/4001/quic-v1"]
//! bootstrap = ["/ip4/192.0.2.10/tcp/4001/p2p/12D3KooW..."]
//! api = "127.0.0.1:7701"
//! mdns = false
//!
//! [sync]
//! interval_ms = 10000   # how often anti-entropy runs
//! fanout = 2            # with how many random members
//!
//! [limits]
//! target_peers = 8              # members to stay connected to
//! max_connections = 256         # established connections in all
//! max_connections_per_peer = 3
//! max_concurrent_requests = 16  # sync requests in flight per connection
//! max_message_bytes = 8388608   # largest request or gossip message
//! # Buffered requests of one peer stay under max_connections_per_peer x
//! # max_concurrent_requests x max_message_bytes (384 MiB with these).
//! requests_per_second = 200     # per peer, sync requests and gossip
//! request_burst = 1000
//! ban_secs = 600                # how long a peer that sent invalid data is blocked
//! join_grace_secs = 30          # how long a non-member may stay connected
//!
//! [[alerts]]                    # any number of rules (see `alerts.rs`)
//! name = "critical-alerts"
//! categories = ["alert", "vulnerability"]   # optional, any by default
//! min_severity = "high"                     # optional
//! tlp = ["clear", "green", "amber"]         # optional
//! teams = ["CERT-XX", "3f2a..."]            # optional: short names or ids
//! command = ["/usr/local/bin/page-oncall", "--json"]  # or webhook = "http://..."
//! timeout_secs = 30
//!
//! [taxii]                       # the TAXII 2.1 server and MISP feed (off without it)
//! listen = "127.0.0.1:7702"     # beyond loopback only with tls_cert and tls_key
//! tls_cert = "/etc/trustmesh/taxii.crt"   # PEM chain
//! tls_key = "/etc/trustmesh/taxii.key"    # PEM private key
//! [[taxii.readers]]             # none given: one reader "default" seeing CLEAR and GREEN
//! name = "opencti"              # its token is <data-dir>/taxii/opencti.token
//! tlp = ["clear", "green", "amber"]       # AMBER and RED only when listed
//! ```

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use libp2p::Multiaddr;
use serde::Deserialize;
use thiserror::Error;
use trustmesh_protocol::{AdvisoryCategory, AdvisoryFilter, Severity, Tlp};

use crate::alerts::{Action, Rule, TeamSpec};

/// Why the configuration is unusable.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has unknown keys.
    #[error("{path}: {source}")]
    Parse {
        /// The file.
        path: String,
        /// The error.
        source: toml::de::Error,
    },
    /// A value is out of range or malformed.
    #[error("invalid setting {key}: {why}")]
    Invalid {
        /// The key.
        key: &'static str,
        /// What is wrong.
        why: String,
    },
}

/// `[sync]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SyncSection {
    /// Milliseconds between anti-entropy rounds.
    pub interval_ms: u64,
    /// Random members per round.
    pub fanout: usize,
}

impl Default for SyncSection {
    fn default() -> Self {
        Self {
            interval_ms: 10_000,
            fanout: 2,
        }
    }
}

/// `[limits]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsSection {
    /// Members to stay connected to.
    pub target_peers: usize,
    /// Established connections in all.
    pub max_connections: u32,
    /// Established connections to one peer.
    pub max_connections_per_peer: u32,
    /// Sync requests one connection may have in flight: with the two
    /// settings around it, this bounds the memory one peer can make the
    /// node hold for its requests.
    pub max_concurrent_requests: usize,
    /// Largest request, response or gossip message.
    pub max_message_bytes: usize,
    /// Sustained requests and gossip messages per second from one peer.
    pub requests_per_second: u32,
    /// Burst above the sustained rate.
    pub request_burst: u32,
    /// How long a peer that sent invalid data stays blocked.
    pub ban_secs: u64,
    /// How long a non-member may stay connected for the join exchange.
    pub join_grace_secs: u64,
}

impl Default for LimitsSection {
    fn default() -> Self {
        Self {
            target_peers: 8,
            max_connections: 256,
            max_connections_per_peer: 3,
            max_concurrent_requests: 16,
            max_message_bytes: trustmesh_protocol::MAX_MESSAGE_BYTES,
            requests_per_second: 200,
            request_burst: 1000,
            ban_secs: 600,
            join_grace_secs: 30,
        }
    }
}

/// One `[[alerts]]` rule as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertSection {
    /// Unique name; the delivery cursor is kept under it.
    pub name: String,
    /// Categories to match (`alert`, `warning`, `current_activity`,
    /// `vulnerability`, `other`); empty for any.
    #[serde(default)]
    pub categories: Vec<String>,
    /// The lowest severity to match (`none` .. `critical`).
    pub min_severity: Option<String>,
    /// TLP labels to match (`clear`, `green`, `amber`, `amber_strict`, `red`).
    #[serde(default)]
    pub tlp: Vec<String>,
    /// Owner teams to match: short names or team ids.
    #[serde(default)]
    pub teams: Vec<String>,
    /// A program and its arguments (no shell), run with the alert on stdin.
    pub command: Option<Vec<String>>,
    /// An `http://` URL the alert is POSTed to.
    pub webhook: Option<String>,
    /// Seconds one attempt may take (default 30).
    pub timeout_secs: Option<u64>,
}

impl AlertSection {
    /// Checks the rule and types it.
    pub fn validate(&self) -> Result<Rule, ConfigError> {
        let bad = |why: String| ConfigError::Invalid { key: "alerts", why };
        let name = self.name.trim();
        if name.is_empty() || name.len() > 64 || name.chars().any(char::is_control) {
            return Err(bad(format!(
                "rule name {:?} must be 1 to 64 printable characters",
                self.name
            )));
        }
        let of = |what: &str, v: &str| bad(format!("rule {name:?}: unknown {what} {v:?}"));
        let lower = |v: &str| v.trim().to_ascii_lowercase().replace(['-', '+'], "_");
        // A trustmesh category (of advisories written in trustmesh) or a
        // CSAF document category (csaf_security_advisory, csaf_vex, ...).
        let categories = self
            .categories
            .iter()
            .map(|c| {
                let l = lower(c);
                if l.parse::<AdvisoryCategory>().is_ok() || l.starts_with("csaf_") {
                    Ok(l)
                } else {
                    Err(of("category", c))
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        let min_severity = self
            .min_severity
            .as_ref()
            .map(|s| lower(s).parse::<Severity>().map_err(|_| of("severity", s)))
            .transpose()?;
        let tlp = self
            .tlp
            .iter()
            .map(|t| {
                lower(t.trim_start_matches("TLP:").trim_start_matches("tlp:"))
                    .parse::<Tlp>()
                    .map_err(|_| of("TLP label", t))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let action = match (&self.command, &self.webhook) {
            (Some(_), Some(_)) => {
                return Err(bad(format!(
                    "rule {name:?} has both command and webhook; give exactly one"
                )));
            }
            (None, None) => {
                return Err(bad(format!("rule {name:?} needs a command or a webhook")));
            }
            (Some(argv), None) => {
                if argv.first().is_none_or(|p| p.trim().is_empty()) {
                    return Err(bad(format!(
                        "rule {name:?}: command must name a program, as [\"prog\", \"arg\"]"
                    )));
                }
                Action::Command(argv.clone())
            }
            (None, Some(url)) => {
                let rest = url.strip_prefix("http://").ok_or_else(|| {
                    bad(format!(
                        "rule {name:?}: webhook {url:?} must be an http:// URL (this build has no TLS; relay https through a local proxy)"
                    ))
                })?;
                if rest.is_empty() || rest.starts_with('/') || url.chars().any(char::is_whitespace)
                {
                    return Err(bad(format!("rule {name:?}: webhook {url:?} names no host")));
                }
                Action::Webhook(url.clone())
            }
        };
        let timeout = self.timeout_secs.unwrap_or(30);
        if timeout == 0 || timeout > 3600 {
            return Err(bad(format!(
                "rule {name:?}: timeout_secs must be between 1 and 3600"
            )));
        }
        Ok(Rule {
            name: name.to_owned(),
            filter: AdvisoryFilter {
                categories,
                min_severity,
                tlp,
                owners: self.teams.iter().map(|t| TeamSpec::parse(t)).collect(),
                ..AdvisoryFilter::default()
            },
            action,
            timeout: Duration::from_secs(timeout),
        })
    }
}

/// One `[[taxii.readers]]` entry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReaderSection {
    /// The reader's name: its token is `<data-dir>/taxii/<name>.token`.
    pub name: String,
    /// The TLP labels it may read (default CLEAR and GREEN).
    pub tlp: Option<Vec<String>>,
}

/// `[taxii]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaxiiSection {
    /// Where the TAXII server listens.
    pub listen: String,
    /// The TLS certificate chain (PEM).
    pub tls_cert: Option<String>,
    /// The TLS private key (PEM).
    pub tls_key: Option<String>,
    /// The readers and what each may read.
    #[serde(default)]
    pub readers: Vec<ReaderSection>,
}

/// A TAXII reader, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reader {
    /// Its name (letters, digits, `-`, `_`).
    pub name: String,
    /// The labels it may read.
    pub tlp: Vec<Tlp>,
}

/// `[taxii]`, checked.
#[derive(Debug, Clone)]
pub struct TaxiiSettings {
    /// The listen address.
    pub listen: SocketAddr,
    /// Certificate and key files, when it speaks TLS.
    pub tls: Option<(std::path::PathBuf, std::path::PathBuf)>,
    /// The readers.
    pub readers: Vec<Reader>,
}

/// Parses a TLP label as config files write it (`clear`, `TLP:AMBER+STRICT`,
/// `amber_strict`, ...).
pub fn parse_tlp_label(t: &str) -> Option<Tlp> {
    let l = t.trim();
    let l = l
        .strip_prefix("TLP:")
        .or_else(|| l.strip_prefix("tlp:"))
        .unwrap_or(l);
    l.to_ascii_lowercase()
        .replace(['-', '+'], "_")
        .parse::<Tlp>()
        .ok()
}

impl TaxiiSection {
    /// Checks the section and types it.
    pub fn validate(&self) -> Result<TaxiiSettings, ConfigError> {
        let bad = |key: &'static str, why: String| ConfigError::Invalid { key, why };
        let listen: SocketAddr = self.listen.parse().map_err(|e| {
            bad(
                "taxii.listen",
                format!("{:?} is not an address:port: {e}", self.listen),
            )
        })?;
        let tls = match (&self.tls_cert, &self.tls_key) {
            (Some(c), Some(k)) => Some((c.into(), k.into())),
            (None, None) => None,
            _ => {
                return Err(bad(
                    "taxii.tls_cert",
                    "give both tls_cert and tls_key, or neither".into(),
                ));
            }
        };
        if tls.is_none() && !listen.ip().is_loopback() {
            return Err(bad(
                "taxii.listen",
                format!("{listen} is beyond loopback: set tls_cert and tls_key to listen there"),
            ));
        }
        let mut readers = Vec::new();
        for r in &self.readers {
            let name = r.name.trim();
            if name.is_empty()
                || name.len() > 64
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(bad(
                    "taxii.readers",
                    format!(
                        "reader name {:?} must be 1 to 64 letters, digits, - or _",
                        r.name
                    ),
                ));
            }
            if readers.iter().any(|x: &Reader| x.name == name) {
                return Err(bad(
                    "taxii.readers",
                    format!("two readers are named {name:?}"),
                ));
            }
            let tlp = match &r.tlp {
                None => vec![Tlp::Clear, Tlp::Green],
                Some(list) => list
                    .iter()
                    .map(|t| {
                        parse_tlp_label(t).ok_or_else(|| {
                            bad(
                                "taxii.readers",
                                format!("reader {name:?}: unknown TLP label {t:?}"),
                            )
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            };
            let mut tlp = tlp;
            tlp.sort();
            tlp.dedup();
            readers.push(Reader {
                name: name.to_owned(),
                tlp,
            });
        }
        if readers.is_empty() {
            readers.push(Reader {
                name: "default".into(),
                tlp: vec![Tlp::Clear, Tlp::Green],
            });
        }
        Ok(TaxiiSettings {
            listen,
            tls,
            readers,
        })
    }
}

/// The settings file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NodeConfig {
    /// Multiaddrs to listen on.
    pub listen: Vec<String>,
    /// Multiaddrs of members to dial first.
    pub bootstrap: Vec<String>,
    /// Where the local API listens.
    pub api: String,
    /// Whether to find peers on the local network with mDNS.
    pub mdns: bool,
    /// `[sync]`.
    pub sync: SyncSection,
    /// `[limits]`.
    pub limits: LimitsSection,
    /// `[[alerts]]` rules.
    pub alerts: Vec<AlertSection>,
    /// `[taxii]`, when the TAXII server and MISP feed are on.
    pub taxii: Option<TaxiiSection>,
}

impl Default for NodeConfig {
    fn default() -> Self {
        Self {
            listen: vec![
                "/ip4/0.0.0.0/tcp/4001".into(),
                "/ip4/0.0.0.0/udp/4001/quic-v1".into(),
            ],
            bootstrap: vec![],
            api: "127.0.0.1:7701".into(),
            mdns: false,
            sync: SyncSection::default(),
            limits: LimitsSection::default(),
            alerts: vec![],
            taxii: None,
        }
    }
}

/// Settings checked and typed.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Listen addresses.
    pub listen: Vec<Multiaddr>,
    /// Bootstrap addresses.
    pub bootstrap: Vec<Multiaddr>,
    /// The API's socket address.
    pub api: SocketAddr,
    /// mDNS on or off.
    pub mdns: bool,
    /// Anti-entropy interval.
    pub sync_interval: Duration,
    /// Anti-entropy fanout.
    pub sync_fanout: usize,
    /// `[limits]`, checked.
    pub limits: LimitsSection,
    /// Alert rules, checked.
    pub alerts: Vec<Rule>,
    /// `[taxii]`, checked.
    pub taxii: Option<TaxiiSettings>,
}

impl NodeConfig {
    /// Reads the configuration file at `path` (`DataDir::config_path`); a
    /// missing file gives the defaults.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.display().to_string(),
                    source,
                });
            }
        };
        toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.display().to_string(),
            source,
        })
    }

    /// Checks every value and types it.
    pub fn validate(&self) -> Result<Settings, ConfigError> {
        let addrs = |key: &'static str, list: &[String]| {
            list.iter()
                .map(|a| {
                    a.parse::<Multiaddr>().map_err(|e| ConfigError::Invalid {
                        key,
                        why: format!("{a:?} is not a multiaddr: {e}"),
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        };
        let api = self.api.parse().map_err(|e| ConfigError::Invalid {
            key: "api",
            why: format!("{:?} is not an address:port: {e}", self.api),
        })?;
        let l = &self.limits;
        let positive = |key: &'static str, v: u64| {
            if v == 0 {
                Err(ConfigError::Invalid {
                    key,
                    why: "must be at least 1".into(),
                })
            } else {
                Ok(())
            }
        };
        positive("sync.interval_ms", self.sync.interval_ms)?;
        positive("limits.target_peers", l.target_peers as u64)?;
        positive("limits.max_connections", l.max_connections.into())?;
        positive(
            "limits.max_connections_per_peer",
            l.max_connections_per_peer.into(),
        )?;
        positive(
            "limits.max_concurrent_requests",
            l.max_concurrent_requests as u64,
        )?;
        positive("limits.requests_per_second", l.requests_per_second.into())?;
        positive("limits.request_burst", l.request_burst.into())?;
        if l.max_message_bytes < 64 << 10
            || l.max_message_bytes > trustmesh_protocol::MAX_MESSAGE_BYTES
        {
            return Err(ConfigError::Invalid {
                key: "limits.max_message_bytes",
                why: format!(
                    "must be between 65536 and {}",
                    trustmesh_protocol::MAX_MESSAGE_BYTES
                ),
            });
        }
        let alerts = self
            .alerts
            .iter()
            .map(AlertSection::validate)
            .collect::<Result<Vec<_>, _>>()?;
        let mut names = std::collections::BTreeSet::new();
        for r in &alerts {
            if !names.insert(r.name.as_str()) {
                return Err(ConfigError::Invalid {
                    key: "alerts",
                    why: format!("two rules are named {:?}", r.name),
                });
            }
        }
        let taxii = self
            .taxii
            .as_ref()
            .map(TaxiiSection::validate)
            .transpose()?;
        Ok(Settings {
            alerts,
            taxii,
            listen: addrs("listen", &self.listen)?,
            bootstrap: addrs("bootstrap", &self.bootstrap)?,
            api,
            mdns: self.mdns,
            sync_interval: Duration::from_millis(self.sync.interval_ms),
            sync_fanout: self.sync.fanout,
            limits: l.clone(),
        })
    }
}

#[cfg(test)]
mod tests;
