//! The virtual network: per-link latency, per-node uplink bandwidth, loss,
//! and partitions between regions.
//!
//! Every link's base latency is fixed for the run (drawn from the link's
//! own hash, so no table of n² links is kept); each message adds a random
//! jitter. A node's uplink sends one message after another, so a burst
//! queues behind itself. All arithmetic is on integers.

use std::collections::BTreeSet;

use serde::Deserialize;
use sha2::{Digest, Sha256};
use trustmesh_protocol::Millis;

use crate::rng::SimRng;

/// The network's settings, as a scenario file gives them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetConfig {
    /// Base latency range of a link inside one region, in ms.
    #[serde(default = "default_intra")]
    pub intra_region_ms: [u64; 2],
    /// Base latency range of a link between regions, in ms.
    #[serde(default = "default_inter")]
    pub inter_region_ms: [u64; 2],
    /// Per-message jitter added to the base latency, 0..=jitter, in ms.
    #[serde(default = "default_jitter")]
    pub jitter_ms: u64,
    /// Probability that a message is lost, in parts per million.
    #[serde(default)]
    pub loss_ppm: u32,
    /// Each node's uplink, in bytes per second.
    #[serde(default = "default_bandwidth")]
    pub uplink_bytes_per_s: u64,
}

fn default_intra() -> [u64; 2] {
    [5, 40]
}
fn default_inter() -> [u64; 2] {
    [60, 250]
}
fn default_jitter() -> u64 {
    20
}
fn default_bandwidth() -> u64 {
    1_250_000
}

impl Default for NetConfig {
    fn default() -> Self {
        Self {
            intra_region_ms: default_intra(),
            inter_region_ms: default_inter(),
            jitter_ms: default_jitter(),
            loss_ppm: 0,
            uplink_bytes_per_s: default_bandwidth(),
        }
    }
}

/// Why a message did not arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dropped {
    /// Lost on the way.
    Lost,
    /// The two ends are on different sides of a partition.
    Partitioned,
}

/// The network state of a run.
#[derive(Debug)]
pub struct Network {
    config: NetConfig,
    salt: [u8; 8],
    region: Vec<u8>,
    busy_until: Vec<Millis>,
    isolated: BTreeSet<u8>,
}

impl Network {
    /// A network of nodes in the given regions; `salt` varies link
    /// latencies between seeds.
    pub fn new(config: NetConfig, region: Vec<u8>, salt: u64) -> Self {
        let n = region.len();
        Self {
            config,
            salt: salt.to_be_bytes(),
            region,
            busy_until: vec![0; n],
            isolated: BTreeSet::new(),
        }
    }

    /// Adds a node (a newcomer) in `region`; returns its index.
    pub fn add_node(&mut self, region: u8) -> usize {
        self.region.push(region);
        self.busy_until.push(0);
        self.region.len() - 1
    }

    /// Cuts `region` off from every other region.
    pub fn isolate(&mut self, region: u8) {
        self.isolated.insert(region);
    }

    /// Reconnects `region`.
    pub fn heal(&mut self, region: u8) {
        self.isolated.remove(&region);
    }

    /// Whether `a` and `b` can reach each other now.
    pub fn reachable(&self, a: usize, b: usize) -> bool {
        let (ra, rb) = (self.region[a], self.region[b]);
        ra == rb || (!self.isolated.contains(&ra) && !self.isolated.contains(&rb))
    }

    /// The fixed base latency of the link between `a` and `b`.
    pub fn base_latency(&self, a: usize, b: usize) -> Millis {
        let [lo, hi] = if self.region[a] == self.region[b] {
            self.config.intra_region_ms
        } else {
            self.config.inter_region_ms
        };
        let (x, y) = (a.min(b) as u64, a.max(b) as u64);
        let mut h = Sha256::new();
        h.update(self.salt);
        h.update(x.to_be_bytes());
        h.update(y.to_be_bytes());
        let d: [u8; 32] = h.finalize().into();
        let mut first = [0u8; 8];
        first.copy_from_slice(&d[..8]);
        lo + u64::from_be_bytes(first) % (hi.saturating_sub(lo) + 1)
    }

    /// Sends `len` bytes from `from` to `to` at `now`, directly or through
    /// the relay `via`: when they arrive, or why they do not. The bytes
    /// take the sender's uplink either way (and a relay's, which forwards
    /// them as they come: its uplink is not modelled).
    pub fn send(
        &mut self,
        now: Millis,
        from: usize,
        to: usize,
        via: Option<usize>,
        len: usize,
        rng: &mut SimRng,
    ) -> Result<Millis, Dropped> {
        let bw = self.config.uplink_bytes_per_s.max(1);
        let start = self.busy_until[from].max(now);
        let done = start + (len as u64 * 1000).div_ceil(bw);
        self.busy_until[from] = done;
        let latency = match via {
            Some(r) if self.reachable(from, r) && self.reachable(r, to) => {
                self.base_latency(from, r) + self.base_latency(r, to)
            }
            None if self.reachable(from, to) => self.base_latency(from, to),
            _ => return Err(Dropped::Partitioned),
        };
        if rng.chance_ppm(self.config.loss_ppm) {
            return Err(Dropped::Lost);
        }
        let jitter = rng.below(self.config.jitter_ms + 1);
        Ok(done + latency + jitter)
    }
}

#[cfg(test)]
mod tests;
