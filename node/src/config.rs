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
//! max_concurrent_requests = 16  # sync requests a peer may have in flight to
//!                               # this node per connection; this node keeps
//!                               # half as many in flight to each peer and
//!                               # queues the rest (up to 4 x max_message_bytes).
//!                               # A connection holds both ends' requests and a
//!                               # few peer exchanges: 16 + 8 + 4 = 28 sync streams
//! max_message_bytes = 8388608   # largest request or gossip message
//! # Buffered requests of one peer stay under max_connections_per_peer x
//! # 28 x max_message_bytes (672 MiB with these; an honest peer keeps 8 in
//! # flight per connection: 192 MiB).
//! requests_per_second = 200     # per peer, sync requests and gossip
//! request_burst = 1000
//! ban_secs = 600                # how long a peer that sent invalid data is blocked
//! join_grace_secs = 30          # how long a non-member may stay connected
//! cached_documents = 4096       # documents held materialized in memory (the
//!                               # most recently written); the others leave
//!                               # their changes on disk, read back when needed
//!
//! [relay]                       # circuit relay v2, DCUtR and AutoNAT (see `net.rs`)
//! # reachable = false           # absent: AutoNAT decides (no listen address: not reachable)
//! # server = true               # host a relay for members; absent: when reachable
//! reservations = 2              # relays to hold a reservation with while not reachable
//! max_reservations = 128        # reservations this node's relay holds for members
//! max_circuits = 64             # circuits it relays at once, and per peer
//! max_circuits_per_peer = 8
//! max_circuit_secs = 1800       # how long one circuit may stay open
//! max_circuit_bytes = 67108864  # what one circuit may carry each way (8 largest messages)
//! autonat_private = false       # AutoNAT also counts private and loopback addresses
//!                               # (one site's network, a testbed)
//!
//! [[alerts]]                    # any number of rules (see `alerts.rs`)
//! name = "critical-alerts"
//! categories = ["alert", "vulnerability"]   # optional, any by default
//! min_severity = "high"                     # optional
//! tlp = ["clear", "green", "amber"]         # optional
//! teams = ["CERT-XX", "3f2a..."]            # optional: short names or ids
//! command = ["/usr/local/bin/page-oncall", "--json"]  # or webhook, or mail
//! timeout_secs = 30
//!
//! [[alerts]]
//! name = "mattermost"
//! webhook = "https://chat.example.org/hooks/xxx"
//! format = "mattermost"                     # raw (default), slack, mattermost, teams
//! headers = { "X-Team" = "cert-xx" }        # optional
//! hmac_secret_file = "alert-hmac.key"       # optional: X-Trustmesh-Signature: sha256=<hex>
//! ca_file = "chat-ca.pem"                   # optional: instead of the system's roots
//!
//! [[alerts]]
//! name = "mail"
//! mail = { to = ["soc@example.org"], from = "trustmesh@example.org", server = "smtp.example.org", port = 587, starttls = true, username = "trustmesh", password_file = "smtp.password" }
//!
//! [taxii]                       # the TAXII 2.1 server and MISP feed (off without it)
//! listen = "127.0.0.1:7702"     # beyond loopback only with tls_cert and tls_key
//! tls_cert = "/etc/trustmesh/taxii.crt"   # PEM chain
//! tls_key = "/etc/trustmesh/taxii.key"    # PEM private key
//! [[taxii.readers]]             # none given: one reader "default" seeing CLEAR and GREEN
//! name = "opencti"              # its token is <data-dir>/taxii/opencti.token
//! tlp = ["clear", "green", "amber"]       # AMBER and RED only when listed
//!
//! [csaf]                        # the CSAF trusted-provider directory (off without it)
//! url = "https://cert-xx.example"         # where /.well-known/csaf/ is published
//! tlp = ["clear", "green"]                # the default; AMBER and RED folders need a reader's token
//! category = "coordinator"                # provider-metadata.json's publisher category
//! list_on_aggregators = true
//! mirror_on_aggregators = true
//! openpgp_key = "csaf-signing.asc"        # optional: the team's armored secret key
//! openpgp_passphrase_file = "csaf-signing.pass"   # optional: its passphrase
//! ```
//!
//! `web_url = "https://trustmesh.example.org"` (top level) makes alerts link
//! to the advisory's page. Relative file names are read from the
//! directory config.toml is in (the data directory unless `--config` names
//! another file).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use libp2p::Multiaddr;
use serde::Deserialize;
use thiserror::Error;
use trustmesh_protocol::{AdvisoryCategory, AdvisoryFilter, Severity, Tlp};

use crate::alerts::{Action, Format, Mail, Rule, Secret, TeamSpec, Webhook};

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
    /// Documents held materialized in memory, the most recently written:
    /// bounds the memory documents take, whatever the history's length.
    pub cached_documents: usize,
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
            cached_documents: trustmesh_protocol::Config::default().cached_documents,
        }
    }
}

/// `[relay]`: circuit relay v2 among members, DCUtR and AutoNAT.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RelaySection {
    /// Whether other members can dial this node: absent, AutoNAT decides
    /// (and a node listening on no address is not reachable).
    pub reachable: Option<bool>,
    /// Whether this node relays for members: absent, while it is reachable.
    pub server: Option<bool>,
    /// Relays to hold a reservation with while this node is not reachable.
    pub reservations: usize,
    /// Reservations this node's relay holds at once (members only).
    pub max_reservations: usize,
    /// Circuits this node's relay carries at once.
    pub max_circuits: usize,
    /// Circuits this node's relay carries at once for one peer.
    pub max_circuits_per_peer: usize,
    /// How long one relayed circuit may stay open, in seconds; the members
    /// at its ends dial a new one when it closes.
    pub max_circuit_secs: u64,
    /// How many bytes one relayed circuit may carry in each direction.
    pub max_circuit_bytes: u64,
    /// Whether AutoNAT counts private and loopback addresses (a network
    /// inside one site, a testbed) and not only global ones.
    pub autonat_private: bool,
}

impl Default for RelaySection {
    fn default() -> Self {
        Self {
            reachable: None,
            server: None,
            reservations: 2,
            max_reservations: 128,
            max_circuits: 64,
            max_circuits_per_peer: 8,
            max_circuit_secs: 30 * 60,
            // Eight of the largest messages: a restricted CSAF document of
            // the largest size, its catch-up and more, where libp2p's
            // default (128 KiB, 2 min) carries hole punching and little else.
            max_circuit_bytes: 8 * trustmesh_protocol::MAX_MESSAGE_BYTES as u64,
            autonat_private: false,
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
    /// An `https://` (or `http://`) URL the alert is POSTed to.
    pub webhook: Option<String>,
    /// The webhook's payload: `raw` (default), `slack`, `mattermost`, `teams`.
    pub format: Option<String>,
    /// Headers added to each webhook request.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// A file holding the webhook's HMAC-SHA256 key (at least 16 bytes;
    /// surrounding whitespace is dropped); relative to config.toml's directory.
    pub hmac_secret_file: Option<PathBuf>,
    /// PEM trust anchors for the webhook's https, instead of the system's;
    /// relative to config.toml's directory.
    pub ca_file: Option<PathBuf>,
    /// Mail over SMTP.
    pub mail: Option<MailSection>,
    /// Seconds one attempt may take (default 30).
    pub timeout_secs: Option<u64>,
}

/// `mail = { ... }` in an `[[alerts]]` rule.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailSection {
    /// Recipients (`soc@example.org` or `SOC <soc@example.org>`).
    pub to: Vec<String>,
    /// Sender.
    pub from: String,
    /// SMTP server: the host name its certificate names.
    pub server: String,
    /// SMTP port (default 587).
    pub port: Option<u16>,
    /// Require STARTTLS (default true; false only to a loopback relay).
    pub starttls: Option<bool>,
    /// SMTP AUTH user; needs `password_file`.
    pub username: Option<String>,
    /// A file holding the SMTP password; relative to config.toml's directory.
    pub password_file: Option<PathBuf>,
    /// PEM trust anchors for STARTTLS, instead of the system's.
    pub ca_file: Option<PathBuf>,
}

/// Header names the node sets itself.
const RESERVED_HEADERS: &[&str] = &[
    "content-type",
    "content-length",
    "host",
    "transfer-encoding",
    "connection",
    "x-trustmesh-signature",
    "x-trustmesh-delivery",
];

/// Reads a file named in a rule, relative to `base`.
fn read_rule_file(rule: &str, key: &str, base: &Path, file: &Path) -> Result<Vec<u8>, ConfigError> {
    let path = base.join(file);
    std::fs::read(&path).map_err(|e| ConfigError::Invalid {
        key: "alerts",
        why: format!("rule {rule:?}: {key} {}: {e}", path.display()),
    })
}

/// The certificates (DER) of a PEM file named in a rule.
fn read_ca_file(
    rule: &str,
    key: &str,
    base: &Path,
    file: &Path,
) -> Result<Vec<Vec<u8>>, ConfigError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    let pem = read_rule_file(rule, key, base, file)?;
    let bad = |why: String| ConfigError::Invalid {
        key: "alerts",
        why: format!("rule {rule:?}: {key} {}: {why}", base.join(file).display()),
    };
    let certs = CertificateDer::pem_slice_iter(&pem)
        .map(|c| c.map(|c| c.as_ref().to_vec()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(format!("not PEM: {e}")))?;
    if certs.is_empty() {
        return Err(bad("holds no CERTIFICATE".into()));
    }
    Ok(certs)
}

fn is_loopback_host(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl AlertSection {
    /// Checks the rule and types it; files it names are read relative to
    /// the working directory.
    pub fn validate(&self) -> Result<Rule, ConfigError> {
        self.validate_in(Path::new(""))
    }

    /// Checks the rule and types it, reading the files it names (secrets,
    /// CA certificates) relative to `base`.
    pub fn validate_in(&self, base: &Path) -> Result<Rule, ConfigError> {
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
        let given = [
            self.command.is_some(),
            self.webhook.is_some(),
            self.mail.is_some(),
        ];
        match given.iter().filter(|g| **g).count() {
            0 => {
                return Err(bad(format!(
                    "rule {name:?} needs one of command, webhook or mail"
                )));
            }
            1 => {}
            _ => {
                return Err(bad(format!(
                    "rule {name:?} has more than one of command, webhook and mail; give exactly one"
                )));
            }
        }
        let webhook_only = [
            ("format", self.format.is_some()),
            ("headers", !self.headers.is_empty()),
            ("hmac_secret_file", self.hmac_secret_file.is_some()),
            ("ca_file", self.ca_file.is_some()),
        ];
        if self.webhook.is_none()
            && let Some((key, _)) = webhook_only.iter().find(|(_, set)| *set)
        {
            let hint = if self.mail.is_some() && *key == "ca_file" {
                " (a mail rule takes ca_file inside mail = { ... })"
            } else {
                ""
            };
            return Err(bad(format!(
                "rule {name:?}: {key} applies to webhooks only{hint}"
            )));
        }
        let action = if let Some(argv) = &self.command {
            if argv.first().is_none_or(|p| p.trim().is_empty()) {
                return Err(bad(format!(
                    "rule {name:?}: command must name a program, as [\"prog\", \"arg\"]"
                )));
            }
            Action::Command(argv.clone())
        } else if let Some(url) = &self.webhook {
            Action::Webhook(self.webhook(name, url, base)?)
        } else if let Some(m) = &self.mail {
            Action::Mail(m.validate(name, base)?)
        } else {
            unreachable!("one action is given, checked above")
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
            web_url: None,
        })
    }

    fn webhook(&self, name: &str, url: &str, base: &Path) -> Result<Webhook, ConfigError> {
        let bad = |why: String| ConfigError::Invalid {
            key: "alerts",
            why: format!("rule {name:?}: {why}"),
        };
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))
            .ok_or_else(|| {
                bad(format!(
                    "webhook {url:?} must be an https:// or http:// URL"
                ))
            })?;
        if rest.is_empty() || rest.starts_with('/') || url.chars().any(char::is_whitespace) {
            return Err(bad(format!("webhook {url:?} names no host")));
        }
        let format = match &self.format {
            None => Format::Raw,
            Some(f) => Format::parse(f).ok_or_else(|| {
                bad(format!(
                    "unknown format {f:?}: raw, slack, mattermost or teams"
                ))
            })?,
        };
        let mut headers = Vec::new();
        for (k, v) in &self.headers {
            let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
            if k.is_empty() || !k.chars().all(token) {
                return Err(bad(format!("header name {k:?} is not an HTTP token")));
            }
            if RESERVED_HEADERS.contains(&k.to_ascii_lowercase().as_str()) {
                return Err(bad(format!("header {k:?} is set by the node")));
            }
            if !v.chars().all(|c| c == '\t' || (' '..='~').contains(&c)) {
                return Err(bad(format!(
                    "header {k:?}: the value must be printable ASCII on one line"
                )));
            }
            headers.push((k.clone(), v.trim().to_owned()));
        }
        let hmac_secret = self
            .hmac_secret_file
            .as_ref()
            .map(|f| {
                let bytes = read_rule_file(name, "hmac_secret_file", base, f)?;
                let key = bytes.trim_ascii().to_vec();
                if key.len() < 16 {
                    return Err(bad(format!(
                        "hmac_secret_file {} holds {} bytes; use at least 16 (e.g. openssl rand -hex 32)",
                        base.join(f).display(),
                        key.len()
                    )));
                }
                Ok(Secret::new(key))
            })
            .transpose()?;
        let ca = self
            .ca_file
            .as_ref()
            .map(|f| read_ca_file(name, "ca_file", base, f))
            .transpose()?;
        if ca.is_some() && url.starts_with("http://") {
            return Err(bad(format!(
                "ca_file is set but webhook {url:?} is not https"
            )));
        }
        Ok(Webhook {
            url: url.to_owned(),
            format,
            headers,
            hmac_secret,
            ca,
        })
    }
}

impl MailSection {
    fn validate(&self, name: &str, base: &Path) -> Result<Mail, ConfigError> {
        let bad = |why: String| ConfigError::Invalid {
            key: "alerts",
            why: format!("rule {name:?}: mail: {why}"),
        };
        let mailbox = |what: &str, v: &str| {
            v.parse::<lettre::message::Mailbox>()
                .map_err(|e| bad(format!("{what} {v:?} is not a mail address: {e}")))
        };
        if self.to.is_empty() {
            return Err(bad("to names no recipient".into()));
        }
        let to = self
            .to
            .iter()
            .map(|t| mailbox("to", t))
            .collect::<Result<Vec<_>, _>>()?;
        let from = mailbox("from", &self.from)?;
        let server = self.server.trim();
        if server.is_empty() || server.chars().any(|c| c.is_whitespace() || c == '/') {
            return Err(bad(format!("server {:?} is not a host name", self.server)));
        }
        let starttls = self.starttls.unwrap_or(true);
        if !starttls && !is_loopback_host(server) {
            return Err(bad(format!(
                "starttls = false sends mail in clear text; allowed only to a loopback relay, not {server:?}"
            )));
        }
        let password = match (&self.username, &self.password_file) {
            (Some(_), None) => return Err(bad("username needs password_file".into())),
            (None, Some(_)) => return Err(bad("password_file needs username".into())),
            (Some(_), Some(f)) => {
                if !starttls {
                    return Err(bad(
                        "SMTP AUTH without STARTTLS would send the password in clear text".into(),
                    ));
                }
                let bytes = read_rule_file(name, "mail.password_file", base, f)?;
                let pw = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
                let pw = pw.strip_suffix(b"\r").unwrap_or(pw);
                if pw.is_empty() {
                    return Err(bad(format!(
                        "password_file {} is empty",
                        base.join(f).display()
                    )));
                }
                Some(Secret::new(pw.to_vec()))
            }
            (None, None) => None,
        };
        let ca = self
            .ca_file
            .as_ref()
            .map(|f| read_ca_file(name, "mail.ca_file", base, f))
            .transpose()?;
        if ca.is_some() && !starttls {
            return Err(bad("ca_file is set but starttls is false".into()));
        }
        Ok(Mail {
            to,
            from,
            server: server.to_owned(),
            port: self.port.unwrap_or(if starttls { 587 } else { 25 }),
            starttls,
            username: self.username.clone(),
            password,
            ca,
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

/// `[csaf]`: the CSAF trusted-provider directory.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsafSection {
    /// `https://host` (or `https://host/prefix`) under which
    /// `/.well-known/csaf/` is published.
    pub url: String,
    /// The TLP labels published (default CLEAR and GREEN).
    pub tlp: Option<Vec<String>>,
    /// The publisher category (default `coordinator`, what a national
    /// CSIRT is in CSAF's terms).
    pub category: Option<String>,
    /// `list_on_CSAF_aggregators` (default true).
    pub list_on_aggregators: Option<bool>,
    /// `mirror_on_CSAF_aggregators` (default true).
    pub mirror_on_aggregators: Option<bool>,
    /// The team's armored OpenPGP secret key; without it the node makes
    /// one (`<data-dir>/csaf/openpgp-secret.asc`).
    pub openpgp_key: Option<PathBuf>,
    /// A file holding the key's passphrase (one line).
    pub openpgp_passphrase_file: Option<PathBuf>,
}

/// Where the directory's OpenPGP key comes from.
#[derive(Debug, Clone)]
pub enum CsafKeySource {
    /// The operator's armored secret key, read at start, and its
    /// passphrase (empty for none).
    Imported {
        /// The file it was read from.
        path: PathBuf,
        /// Its armored text.
        armored: Secret,
        /// The passphrase.
        passphrase: Secret,
    },
    /// The key the node made, in the data directory.
    Made,
}

/// `[csaf]`, checked.
#[derive(Debug, Clone)]
pub struct CsafSettings {
    /// What the tree is made with.
    pub provider: crate::export::csaf_provider::ProviderSettings,
    /// The key.
    pub key: CsafKeySource,
}

/// CSAF 2.0's publisher categories.
const PUBLISHER_CATEGORIES: [&str; 6] = [
    "coordinator",
    "discoverer",
    "other",
    "translator",
    "user",
    "vendor",
];

impl CsafSection {
    /// Checks the section and reads its key files, relative to `base`.
    pub fn validate(&self, base: &Path) -> Result<CsafSettings, ConfigError> {
        let bad = |key: &'static str, why: String| ConfigError::Invalid { key, why };
        let url = self.url.trim().trim_end_matches('/');
        let host = url
            .strip_prefix("https://")
            .or_else(|| {
                url.strip_prefix("http://")
                    .filter(|h| is_loopback_authority(h))
            })
            .unwrap_or("");
        let host_part = host.split('/').next().unwrap_or("");
        if host_part.is_empty()
            || url.contains(['?', '#'])
            || url
                .chars()
                .any(|c| c.is_whitespace() || "<>|\"\\".contains(c))
        {
            return Err(bad(
                "csaf.url",
                format!(
                    "{:?} is not an https:// URL (CSAF requirement 3; http:// only on loopback)",
                    self.url
                ),
            ));
        }
        if url.ends_with(crate::export::csaf_provider::WELL_KNOWN) {
            return Err(bad(
                "csaf.url",
                format!(
                    "{url:?}: give the site, without {}",
                    crate::export::csaf_provider::WELL_KNOWN
                ),
            ));
        }
        let mut tlp = match &self.tlp {
            None => vec![Tlp::Clear, Tlp::Green],
            Some(list) => list
                .iter()
                .map(|t| {
                    parse_tlp_label(t)
                        .ok_or_else(|| bad("csaf.tlp", format!("unknown TLP label {t:?}")))
                })
                .collect::<Result<Vec<_>, _>>()?,
        };
        tlp.sort();
        tlp.dedup();
        if tlp.is_empty() {
            return Err(bad("csaf.tlp", "name at least one label".into()));
        }
        let category = self
            .category
            .as_deref()
            .unwrap_or("coordinator")
            .trim()
            .to_owned();
        if !PUBLISHER_CATEGORIES.contains(&category.as_str()) {
            return Err(bad(
                "csaf.category",
                format!(
                    "{category:?} is none of {}",
                    PUBLISHER_CATEGORIES.join(", ")
                ),
            ));
        }
        let read = |key: &'static str, file: &Path| {
            let path = base.join(file);
            std::fs::read(&path)
                .map(|b| (path.clone(), b))
                .map_err(|e| bad(key, format!("{}: {e}", path.display())))
        };
        let key = match (&self.openpgp_key, &self.openpgp_passphrase_file) {
            (Some(k), pass) => {
                let (path, armored) = read("csaf.openpgp_key", k)?;
                let passphrase = match pass {
                    Some(p) => {
                        let (_, bytes) = read("csaf.openpgp_passphrase_file", p)?;
                        let text = String::from_utf8(bytes).map_err(|_| {
                            bad("csaf.openpgp_passphrase_file", "is not UTF-8 text".into())
                        })?;
                        Secret::new(text.trim_end_matches(['\r', '\n']).as_bytes().to_vec())
                    }
                    None => Secret::new(vec![]),
                };
                CsafKeySource::Imported {
                    path,
                    armored: Secret::new(armored),
                    passphrase,
                }
            }
            (None, Some(_)) => {
                return Err(bad(
                    "csaf.openpgp_passphrase_file",
                    "is for openpgp_key, which is not set".into(),
                ));
            }
            (None, None) => CsafKeySource::Made,
        };
        Ok(CsafSettings {
            provider: crate::export::csaf_provider::ProviderSettings {
                url: url.to_owned(),
                tlp,
                category,
                list_on_aggregators: self.list_on_aggregators.unwrap_or(true),
                mirror_on_aggregators: self.mirror_on_aggregators.unwrap_or(true),
            },
            key,
        })
    }
}

/// Whether `host[:port][/path]` names this machine (127.0.0.0/8, `[::1]`,
/// `localhost`).
fn is_loopback_authority(rest: &str) -> bool {
    let authority = rest.split('/').next().unwrap_or("");
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        authority.rsplit_once(':').map_or(authority, |(h, _)| h)
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
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
    /// `[relay]`.
    pub relay: RelaySection,
    /// Where people open the node's web page (`https://...`), when it is
    /// published behind a proxy: alerts link to advisories there.
    pub web_url: Option<String>,
    /// `[[alerts]]` rules.
    pub alerts: Vec<AlertSection>,
    /// The directory relative paths in the file are taken from: the
    /// file's own (the data directory).
    #[serde(skip)]
    pub base: PathBuf,
    /// `[taxii]`, when the TAXII server and MISP feed are on.
    pub taxii: Option<TaxiiSection>,
    /// `[csaf]`, when the CSAF provider directory is on.
    pub csaf: Option<CsafSection>,
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
            relay: RelaySection::default(),
            web_url: None,
            alerts: vec![],
            base: PathBuf::new(),
            taxii: None,
            csaf: None,
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
    /// `[relay]`, checked.
    pub relay: RelaySection,
    /// Alert rules, checked.
    pub alerts: Vec<Rule>,
    /// `[taxii]`, checked.
    pub taxii: Option<TaxiiSettings>,
    /// `[csaf]`, checked, with its key files read.
    pub csaf: Option<CsafSettings>,
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
        let mut config: Self = toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.display().to_string(),
            source,
        })?;
        config.base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Ok(config)
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
        positive("limits.cached_documents", l.cached_documents as u64)?;
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
        let r = &self.relay;
        positive("relay.max_reservations", r.max_reservations as u64)?;
        positive("relay.max_circuits", r.max_circuits as u64)?;
        positive(
            "relay.max_circuits_per_peer",
            r.max_circuits_per_peer as u64,
        )?;
        if r.max_circuit_secs == 0 || r.max_circuit_secs > u64::from(u32::MAX) {
            return Err(ConfigError::Invalid {
                key: "relay.max_circuit_secs",
                why: format!("must be between 1 and {}", u32::MAX),
            });
        }
        // A circuit must carry at least one largest message each way, with
        // the framing around it.
        let least = 2 * l.max_message_bytes as u64;
        if r.max_circuit_bytes < least {
            return Err(ConfigError::Invalid {
                key: "relay.max_circuit_bytes",
                why: format!("must be at least twice limits.max_message_bytes ({least})"),
            });
        }
        let web_url = self
            .web_url
            .as_ref()
            .map(|u| {
                let u = u.trim().trim_end_matches('/');
                let host = u
                    .strip_prefix("https://")
                    .or_else(|| u.strip_prefix("http://"))
                    .unwrap_or("");
                if host.is_empty() || u.chars().any(|c| c.is_whitespace() || "<>|\"".contains(c)) {
                    Err(ConfigError::Invalid {
                        key: "web_url",
                        why: format!("{u:?} is not an https:// or http:// URL"),
                    })
                } else {
                    Ok(u.to_owned())
                }
            })
            .transpose()?;
        let alerts = self
            .alerts
            .iter()
            .map(|a| {
                a.validate_in(&self.base).map(|mut r| {
                    r.web_url.clone_from(&web_url);
                    r
                })
            })
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
        let csaf = self
            .csaf
            .as_ref()
            .map(|c| c.validate(&self.base))
            .transpose()?;
        Ok(Settings {
            alerts,
            taxii,
            csaf,
            listen: addrs("listen", &self.listen)?,
            bootstrap: addrs("bootstrap", &self.bootstrap)?,
            api,
            mdns: self.mdns,
            sync_interval: Duration::from_millis(self.sync.interval_ms),
            sync_fanout: self.sync.fanout,
            limits: l.clone(),
            relay: self.relay.clone(),
        })
    }
}

#[cfg(test)]
mod tests;
