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
//! max_message_bytes = 8388608   # largest request or gossip message
//! requests_per_second = 200     # per peer, sync requests and gossip
//! request_burst = 1000
//! ban_secs = 600                # how long a peer that sent invalid data is blocked
//! join_grace_secs = 30          # how long a non-member may stay connected
//! ```

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use libp2p::Multiaddr;
use serde::Deserialize;
use thiserror::Error;

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
            max_message_bytes: trustmesh_protocol::MAX_MESSAGE_BYTES,
            requests_per_second: 200,
            request_burst: 1000,
            ban_secs: 600,
            join_grace_secs: 30,
        }
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
}

impl NodeConfig {
    /// Reads `config.toml` from `dir`; a missing file gives the defaults.
    pub fn load(dir: &Path) -> Result<Self, ConfigError> {
        let path = dir.join("config.toml");
        let text = match std::fs::read_to_string(&path) {
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
        Ok(Settings {
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
