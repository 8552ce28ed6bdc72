//! Scenarios: named, versioned TOML files that say how many nodes, what
//! network, what workload and what happens when.

use std::path::Path;

use serde::Deserialize;
use thiserror::Error;

use crate::net::NetConfig;

/// A scenario file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short name (the file's stem by convention).
    pub name: String,
    /// Version of this scenario; bump it when its meaning changes, so
    /// reports from different versions are not compared.
    pub version: u32,
    /// What it shows.
    #[serde(default)]
    pub description: String,
    /// Members at the start (founders included).
    pub nodes: usize,
    /// Founders among them (the rest were admitted by sponsorship).
    #[serde(default = "default_founders")]
    pub founders: usize,
    /// Introductions required (k) and revocations required (r).
    #[serde(default = "default_k")]
    pub sponsors_required: u16,
    /// Revocations required (r).
    #[serde(default = "default_k")]
    pub revocation_quorum: u16,
    /// Regions the nodes are spread over (round robin).
    #[serde(default = "default_regions")]
    pub regions: u8,
    /// Members each node keeps connected (the peer book's target): it
    /// starts from this many random members as its bootstrap addresses and
    /// learns the others by peer exchange.
    #[serde(default = "default_connections")]
    pub connections: usize,
    /// How long the scripted part runs, in seconds.
    pub duration_s: u64,
    /// Quiet time after it (no faults, no workload) before the checks.
    #[serde(default = "default_settle")]
    pub settle_s: u64,
    /// The core's anti-entropy interval, in ms.
    #[serde(default = "default_sync_interval")]
    pub sync_interval_ms: u64,
    /// The core's anti-entropy fanout.
    #[serde(default = "default_fanout")]
    pub sync_fanout: usize,
    /// The network.
    #[serde(default)]
    pub network: NetConfig,
    /// The workload.
    #[serde(default)]
    pub workload: Workload,
    /// Byzantine members.
    #[serde(default)]
    pub byzantine: Vec<ByzantineSpec>,
    /// Every node's rate limits and bans (the node's `[limits]`).
    #[serde(default)]
    pub limits: Limits,
    /// The timeline.
    #[serde(default)]
    pub events: Vec<TimedEvent>,
    /// Also run the central-hub baseline.
    #[serde(default = "yes")]
    pub hub_baseline: bool,
    /// Percent of the members that are not founders which refuse inbound
    /// connections (a stateful firewall, as most government networks
    /// have): they only dial out, and others reach them through a circuit
    /// relay hosted by a member they are connected to.
    #[serde(default)]
    pub refuse_inbound_pct: u64,
}

fn default_founders() -> usize {
    3
}
fn default_k() -> u16 {
    2
}
fn default_regions() -> u8 {
    4
}
fn default_connections() -> usize {
    8
}
fn default_settle() -> u64 {
    300
}
fn default_sync_interval() -> u64 {
    10_000
}
fn default_fanout() -> usize {
    2
}
fn yes() -> bool {
    true
}

/// The flow of edits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    /// New advisories per simulated hour (network-wide), by random members.
    #[serde(default = "default_advisories")]
    pub advisories_per_hour: u64,
    /// Percent of advisories later updated once by their author.
    #[serde(default = "default_updates")]
    pub update_pct: u64,
    /// Percent of advisories that are AMBER with an audience of a few
    /// members (sent directly, never gossiped).
    #[serde(default)]
    pub amber_pct: u64,
    /// Contact-entry edits per simulated hour.
    #[serde(default)]
    pub contact_edits_per_hour: u64,
}

fn default_advisories() -> u64 {
    24
}
fn default_updates() -> u64 {
    25
}

impl Default for Workload {
    fn default() -> Self {
        Self {
            advisories_per_hour: default_advisories(),
            update_pct: default_updates(),
            amber_pct: 0,
            contact_edits_per_hour: 0,
        }
    }
}

/// Rate limits and bans, as the node's `[limits]` section sets them; the
/// defaults are the node's.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Requests and gossip messages a peer may send per second.
    #[serde(default = "default_rate")]
    pub requests_per_second: u32,
    /// How many it may send at once after a quiet spell.
    #[serde(default = "default_burst")]
    pub request_burst: u32,
    /// How long a peer that sent invalid data is banned, in seconds.
    #[serde(default = "default_ban")]
    pub ban_secs: u64,
    /// How many documents each node holds materialized (the node's
    /// `limits.cached_documents`); the others leave their changes in the
    /// node's store, read back when written or read.
    #[serde(default = "default_cached")]
    pub cached_documents: usize,
}

fn default_rate() -> u32 {
    200
}
fn default_burst() -> u32 {
    1000
}
fn default_ban() -> u64 {
    600
}
fn default_cached() -> usize {
    trustmesh_protocol::Config::default().cached_documents
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            requests_per_second: default_rate(),
            request_burst: default_burst(),
            ban_secs: default_ban(),
            cached_documents: default_cached(),
        }
    }
}

/// What a Byzantine member does with its outgoing traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Behaviour {
    /// Flips a signature byte of every change and statement it sends.
    Forge,
    /// Writes changes to other teams' documents (validly signed by itself).
    Unauthorized,
    /// Sends bytes that do not decode.
    Malformed,
    /// Sends nothing at all (drops every outgoing message).
    Withhold,
    /// Sends many copies of junk and of stale messages every heartbeat.
    Flood,
}

/// Byzantine members of one behaviour.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ByzantineSpec {
    /// Behaviour.
    pub behaviour: Behaviour,
    /// How many members behave so.
    pub count: usize,
}

/// A timeline entry.
#[derive(Debug, Clone, Deserialize)]
pub struct TimedEvent {
    /// When, in seconds from the start.
    pub at_s: u64,
    /// What.
    #[serde(flatten)]
    pub action: Action,
}

/// Something that happens at a point of the timeline.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    /// A region is cut off from the others for a while.
    Partition {
        /// The region.
        region: u8,
        /// For how long, in seconds.
        duration_s: u64,
    },
    /// Node 0 (the hub in the baseline; a node like any other in the
    /// mesh) crashes for a while and comes back with its store.
    HubFailure {
        /// For how long, in seconds.
        duration_s: u64,
    },
    /// Random honest nodes leave and come back with their stores.
    Churn {
        /// Percent of the nodes.
        pct: u64,
        /// Downtime range, in seconds.
        down_s: [u64; 2],
    },
    /// New teams join by sponsorship, spread over a period.
    Join {
        /// How many.
        count: usize,
        /// Over how many seconds.
        over_s: u64,
    },
    /// The first Byzantine member is found compromised: r members revoke it.
    Revoke,
    /// Random honest nodes' disks fail for a while (node 0 is spared, so
    /// that the hub baseline measures the hub, not its disk).
    StoreFault {
        /// Percent of the live honest members.
        pct: u64,
        /// For how long, in seconds.
        duration_s: u64,
        /// How their writes fail.
        fault: crate::store::Fault,
    },
}

/// Why a scenario could not be read.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not a valid scenario.
    #[error("invalid scenario {path}: {source}")]
    Parse {
        /// The file.
        path: String,
        /// The cause.
        source: toml::de::Error,
    },
    /// The values do not make sense together.
    #[error("invalid scenario: {0}")]
    Invalid(String),
}

impl Scenario {
    /// Reads and checks a scenario file.
    pub fn load(path: &Path) -> Result<Self, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text).map_err(|e| match e {
            ScenarioError::Parse { source, .. } => ScenarioError::Parse {
                path: path.display().to_string(),
                source,
            },
            other => other,
        })
    }

    /// Parses and checks scenario text.
    pub fn parse(text: &str) -> Result<Self, ScenarioError> {
        let s: Scenario = toml::from_str(text).map_err(|source| ScenarioError::Parse {
            path: String::new(),
            source,
        })?;
        s.validate()?;
        Ok(s)
    }

    fn validate(&self) -> Result<(), ScenarioError> {
        let bad = |m: &str| Err(ScenarioError::Invalid(m.to_owned()));
        let k = usize::from(self.sponsors_required);
        if self.founders == 0 || self.founders > self.nodes {
            return bad("founders must be between 1 and nodes");
        }
        if k == 0 || k > self.founders {
            return bad("sponsors_required must be between 1 and founders");
        }
        if self.revocation_quorum == 0 || usize::from(self.revocation_quorum) > self.founders {
            return bad("revocation_quorum must be between 1 and founders");
        }
        if self.regions == 0 {
            return bad("regions must be at least 1");
        }
        if self.sync_interval_ms == 0 {
            return bad("sync_interval_ms must be positive");
        }
        let byz: usize = self.byzantine.iter().map(|b| b.count).sum();
        if byz + self.founders + 1 > self.nodes {
            return bad("too many byzantine members for the node count");
        }
        for e in &self.events {
            if e.at_s > self.duration_s {
                return bad("an event is scheduled after duration_s");
            }
            match &e.action {
                Action::Partition { region, .. } if *region >= self.regions => {
                    return bad("partition names a region that does not exist");
                }
                Action::Revoke if byz == 0 => {
                    return bad("revoke needs a byzantine member to revoke");
                }
                Action::Churn { down_s, .. } if down_s[0] > down_s[1] => {
                    return bad("churn down_s must be [min, max]");
                }
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
