//! Samples over the run and the metrics at its end.

use sha2::Digest;
use trustmesh_protocol::Millis;

use super::{SimNode, Simulation, check};
use crate::metrics::{RunMetrics, Sample, peak_rss_kib};

impl Simulation<'_> {
    pub(super) fn expected_holders(&self) -> Vec<(usize, Millis)> {
        (0..self.nodes.len())
            .filter(|&i| self.nodes[i].up() && self.is_honest(i))
            .filter_map(|i| self.nodes[i].member_since.map(|t| (i, t)))
            .collect()
    }

    pub(super) fn sample(&mut self) {
        let now = self.now();
        let holders = self.expected_holders();
        let delivered = self.tracker.delivered_fraction(&holders);
        let (bytes, messages) = self
            .nodes
            .iter()
            .fold((0, 0), |(b, m), n| (b + n.bytes_out, m + n.messages_out));
        self.metrics.timeline.push(Sample {
            at_ms: now,
            bytes,
            messages,
            delivered,
        });
    }

    pub(super) fn finish(mut self, wall_ms: u64) -> RunMetrics {
        let holders = self.expected_holders();
        let (convergence, unconverged, delays) = self.tracker.convergence(&holders);
        self.metrics.convergence_ms = convergence;
        self.metrics.unconverged = unconverged;
        self.metrics.delays_ms = delays;
        self.metrics.items = self.tracker.len();
        self.metrics.nodes = self.nodes.len();
        let members: Vec<&SimNode> = self
            .nodes
            .iter()
            .filter(|n| n.member_since.is_some())
            .collect();
        self.metrics.bytes_per_node = members.iter().map(|n| n.bytes_out).collect();
        self.metrics.messages_per_node = members.iter().map(|n| n.messages_out).collect();
        for i in 0..self.nodes.len() {
            self.check_replay(i);
        }
        self.metrics.checks = check::run(&self);
        self.metrics.checks.push(self.invariants.check());
        for n in &self.nodes {
            if let Some(c) = &n.core {
                for (k, v) in &c.stats().rejected {
                    self.metrics.count(&format!("core_rejected_{k}"), *v);
                }
                self.metrics
                    .count("core_transmits_dropped", c.stats().transmits_dropped);
                self.metrics
                    .count("core_store_failures", c.stats().store_failures);
                self.metrics
                    .count("documents_cold", c.documents().cold_documents() as u64);
                self.metrics
                    .count("store_read_failures", c.documents().store_read_failures());
            }
        }
        let failed: u64 = (0..self.nodes.len())
            .map(|i| self.disk(i).failed_writes())
            .sum();
        self.metrics.count("store_writes_failed", failed);
        self.metrics.count("events", self.events);
        self.metrics.wall_ms = wall_ms;
        self.metrics.peak_rss_kib = peak_rss_kib();
        self.metrics.trace_hash = hex::encode(self.trace.clone().finalize());
        self.metrics
    }
}
