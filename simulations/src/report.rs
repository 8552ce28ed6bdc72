//! The Markdown report and its plots for one scenario: the mesh beside
//! the central-hub baseline.

use std::fmt::Write;

use crate::metrics::{Percentiles, RunMetrics};
use crate::plot::{Series, line_chart};
use crate::simulation::{CONTROL_OVERHEAD, GOSSIP_OVERHEAD, ID_BYTES, SYNC_OVERHEAD};

/// The runs of one scenario, ready to render.
#[derive(Debug, Clone)]
pub struct ScenarioReport {
    /// Scenario name.
    pub name: String,
    /// Scenario version.
    pub version: u32,
    /// Scenario description.
    pub description: String,
    /// Seed.
    pub seed: u64,
    /// The runs (mesh first, then the baseline).
    pub runs: Vec<RunMetrics>,
}

fn secs(ms: u64) -> String {
    if ms >= 60_000 {
        format!("{:.1} min", ms as f64 / 60_000.0)
    } else {
        format!("{:.2} s", ms as f64 / 1000.0)
    }
}

fn bytes(b: f64) -> String {
    if b >= 1e6 {
        format!("{:.2} MB", b / 1e6)
    } else {
        format!("{:.1} kB", b / 1e3)
    }
}

impl ScenarioReport {
    /// Whether every check of every run passed.
    pub fn passed(&self) -> bool {
        self.runs.iter().all(RunMetrics::passed)
    }

    /// The plots: (file name, SVG text).
    pub fn plots(&self) -> Vec<(String, String)> {
        let cdf: Vec<Series> = self
            .runs
            .iter()
            .map(|r| {
                let mut d = r.delays_ms.clone();
                d.sort_unstable();
                let n = d.len().max(1) as f64;
                let step = (d.len() / 400).max(1);
                let mut points: Vec<(f64, f64)> = d
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| i % step == 0 || *i + 1 == d.len())
                    .map(|(i, &v)| (v as f64 / 1000.0, (i + 1) as f64 / n))
                    .collect();
                points.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
                Series {
                    name: r.label.clone(),
                    points,
                }
            })
            .collect();
        let over_time = |f: &dyn Fn(&crate::metrics::Sample, &crate::metrics::Sample) -> f64| {
            self.runs
                .iter()
                .map(|r| Series {
                    name: r.label.clone(),
                    points: r
                        .timeline
                        .windows(2)
                        .map(|w| (w[1].at_ms as f64 / 60_000.0, f(&w[0], &w[1])))
                        .collect(),
                })
                .collect::<Vec<_>>()
        };
        let rate = over_time(&|a, b| {
            let dt = (b.at_ms.saturating_sub(a.at_ms)).max(1) as f64 / 1000.0;
            (b.bytes.saturating_sub(a.bytes)) as f64 / dt
        });
        let delivered = over_time(&|_, b| b.delivered * 100.0);
        vec![
            (
                "propagation_cdf.svg".to_owned(),
                line_chart(
                    &format!("{}: propagation delay CDF (node, item)", self.name),
                    "seconds after publication",
                    "fraction of deliveries",
                    &cdf,
                ),
            ),
            (
                "bytes_over_time.svg".to_owned(),
                line_chart(
                    &format!("{}: bytes sent per second, all nodes", self.name),
                    "minutes",
                    "bytes/s",
                    &rate,
                ),
            ),
            (
                "convergence_over_time.svg".to_owned(),
                line_chart(
                    &format!("{}: items delivered to live nodes", self.name),
                    "minutes",
                    "% of (node, item) pairs",
                    &delivered,
                ),
            ),
        ]
    }
}

/// The Markdown report of several scenarios.
pub fn render_markdown(reports: &[ScenarioReport]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# trustmesh simulation report\n");
    let _ = writeln!(
        s,
        "*conv.*: per published item, the time until every node that should hold it does \
         (a node that is down counts once it is back). *delivery*: per (node, item), the time \
         from publication to arrival.\n"
    );
    let real = |m: &RunMetrics| m.label.starts_with("real");
    if reports.iter().flat_map(|r| &r.runs).any(real) {
        let _ = writeln!(s, "{}\n", crate::real::NOTE);
    }
    if !reports.iter().flat_map(|r| &r.runs).any(|m| !real(m)) {
        return render_scenarios(s, reports);
    }
    let _ = writeln!(
        s,
        "Each simulated node runs the real `trustmesh_protocol::Node` core over a `FaultyStore` (a `MemStore` whose writes fail on command). \
         Anti-entropy, statements and documents are the core's own logic. Gossipsub is modelled \
         (D=6, D_lo=4, D_hi=12, D_lazy=6, 1 s heartbeat, 5 history windows of which 3 gossiped, \
         flood publishing, content ids, forwarding only on `Verdict::Accept`, a 2 min seen cache). \
         Bytes are the real wire encoding plus a fixed framing overhead: {SYNC_OVERHEAD} B per \
         direct message, {GOSSIP_OVERHEAD} B per gossip message, {CONTROL_OVERHEAD} B per control \
         message plus {ID_BYTES} B per IHAVE/IWANT id. Connection setup is instantaneous; \
         per-peer rate limits are not modelled. The hub baseline runs the same cores in a star: \
         every node connects only to node 0, which relays every new item it accepts to all.\n"
    );
    render_scenarios(s, reports)
}

fn render_scenarios(mut s: String, reports: &[ScenarioReport]) -> String {
    for r in reports {
        let _ = writeln!(s, "## {} (v{}), seed {}\n", r.name, r.version, r.seed);
        if !r.description.is_empty() {
            let _ = writeln!(s, "{}\n", r.description.trim());
        }
        let _ = writeln!(
            s,
            "| run | nodes | items | conv. p50 | p90 | p99 | max | delivery p50 | p90 | p99 | unconverged | bytes/node | msgs/node | wall | peak RSS | checks |"
        );
        let _ = writeln!(
            s,
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
        );
        for m in &r.runs {
            let p: Percentiles = m.convergence();
            let d = Percentiles::of(&m.delays_ms);
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.0} | {} | {} | {} |",
                m.label,
                m.nodes,
                m.items,
                secs(p.p50),
                secs(p.p90),
                secs(p.p99),
                secs(p.max),
                secs(d.p50),
                secs(d.p90),
                secs(d.p99),
                m.unconverged,
                bytes(m.mean_bytes()),
                m.mean_messages(),
                secs(m.wall_ms),
                m.peak_rss_kib.map_or("n/a".to_owned(), |k| format!(
                    "{:.0} MiB",
                    k as f64 / 1024.0
                )),
                if m.passed() { "pass" } else { "**FAIL**" }
            );
        }
        let _ = writeln!(s);
        for m in &r.runs {
            let _ = writeln!(s, "Checks ({}):\n", m.label);
            for c in &m.checks {
                let _ = writeln!(
                    s,
                    "- {} {}: {}",
                    if c.passed { "pass" } else { "**FAIL**" },
                    c.name,
                    c.detail
                );
            }
            let counters: Vec<String> =
                m.counters.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let _ = writeln!(s, "\nCounters ({}): {}\n", m.label, counters.join(", "));
            let _ = writeln!(s, "Trace hash ({}): `{}`\n", m.label, m.trace_hash);
        }
        let _ = writeln!(
            s,
            "![propagation CDF]({0}/propagation_cdf.svg) ![bytes over time]({0}/bytes_over_time.svg) ![convergence]({0}/convergence_over_time.svg)\n",
            r.name
        );
    }
    s
}
