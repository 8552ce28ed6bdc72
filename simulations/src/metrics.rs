//! What a run measured, independent of how it ran: the simulator fills a
//! [`RunMetrics`], and a real-stack run can fill the same one, so both end
//! up in the same report table.

use std::collections::BTreeMap;

/// Percentiles of a set of durations, in ms.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Percentiles {
    /// How many samples.
    pub count: usize,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// Largest.
    pub max: u64,
}

impl Percentiles {
    /// Nearest-rank percentiles of `samples`.
    pub fn of(samples: &[u64]) -> Self {
        if samples.is_empty() {
            return Self::default();
        }
        let mut v = samples.to_vec();
        v.sort_unstable();
        let at = |p: usize| {
            let rank = (p * v.len()).div_ceil(100).max(1);
            v[rank - 1]
        };
        Self {
            count: v.len(),
            p50: at(50),
            p90: at(90),
            p99: at(99),
            max: v[v.len() - 1],
        }
    }
}

/// One pass/fail check at the end of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What was checked.
    pub name: String,
    /// Whether it held.
    pub passed: bool,
    /// Numbers behind the verdict.
    pub detail: String,
}

/// One point of the run's timeline.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Sample {
    /// Virtual time, ms.
    pub at_ms: u64,
    /// Bytes sent so far by all nodes.
    pub bytes: u64,
    /// Messages sent so far.
    pub messages: u64,
    /// Fraction of (live node, published item) pairs delivered.
    pub delivered: f64,
}

/// The figures of one run (one topology of one scenario).
#[derive(Debug, Clone, Default)]
pub struct RunMetrics {
    /// "mesh", "hub", or a real-stack label.
    pub label: String,
    /// Nodes at the end (members, live or not).
    pub nodes: usize,
    /// Items (changes and statements) whose spread was measured.
    pub items: usize,
    /// Per item: time until every live node that should have it has it.
    pub convergence_ms: Vec<u64>,
    /// Items that had not reached every live node by the end.
    pub unconverged: usize,
    /// Per (node, item): time from publication to arrival.
    pub delays_ms: Vec<u64>,
    /// Bytes sent per node.
    pub bytes_per_node: Vec<u64>,
    /// Messages sent per node.
    pub messages_per_node: Vec<u64>,
    /// The timeline, sampled.
    pub timeline: Vec<Sample>,
    /// End-of-run checks.
    pub checks: Vec<Check>,
    /// Counters worth a line in the report (rejections, drops, bans).
    pub counters: BTreeMap<String, u64>,
    /// Wall-clock time of the run (setup included), ms.
    pub wall_ms: u64,
    /// Peak resident memory of the process after the run, KiB (VmHWM).
    pub peak_rss_kib: Option<u64>,
    /// Hash of the event trace (hex), for replay checks.
    pub trace_hash: String,
    /// Virtual duration, ms.
    pub virtual_ms: u64,
}

impl RunMetrics {
    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.passed)
    }

    /// Percentiles of the convergence times.
    pub fn convergence(&self) -> Percentiles {
        Percentiles::of(&self.convergence_ms)
    }

    /// Mean bytes sent per node.
    pub fn mean_bytes(&self) -> f64 {
        mean(&self.bytes_per_node)
    }

    /// Mean messages sent per node.
    pub fn mean_messages(&self) -> f64 {
        mean(&self.messages_per_node)
    }

    /// Adds to a counter.
    pub fn count(&mut self, name: &str, n: u64) {
        *self.counters.entry(name.to_owned()).or_default() += n;
    }
}

fn mean(v: &[u64]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<u64>() as f64 / v.len() as f64
    }
}

/// Peak resident memory of this process (VmHWM), KiB, where the platform
/// reports it.
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

#[cfg(test)]
mod tests;
