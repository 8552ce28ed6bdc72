//! `sim`: runs scenarios in the deterministic simulator and writes the
//! report and plots.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use trustmesh_simulations::{
    Scenario, ScenarioReport, Simulation, Topology, peak_rss_kib, render_markdown,
};

#[derive(Parser)]
#[command(about = "Deterministic many-node simulations of the trustmesh core")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs scenario files (mesh, and the hub baseline unless disabled)
    /// and writes report.md and SVG plots to --out.
    Run {
        /// Scenario TOML files.
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
        /// The seed.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Output directory.
        #[arg(long, default_value = "sim-out")]
        out: PathBuf,
        /// Skip the hub baseline.
        #[arg(long)]
        no_hub: bool,
    },
}

fn main() -> anyhow::Result<()> {
    let Command::Run {
        scenarios,
        seed,
        out,
        no_hub,
    } = Cli::parse().command;
    let mut reports = vec![];
    for path in &scenarios {
        let scenario = Scenario::load(path)?;
        let mut topologies = vec![Topology::Mesh];
        if scenario.hub_baseline && !no_hub {
            topologies.push(Topology::Hub);
        }
        let mut runs = vec![];
        for t in topologies {
            eprintln!("running {} ({}) seed {seed}", scenario.name, t.label());
            let started = std::time::Instant::now();
            let metrics = Simulation::new(&scenario, t, seed)
                .with_context(|| format!("setting up {}", scenario.name))?
                .run_with_progress(|now, end| {
                    if now % (end / 10).max(1) < (end / 100).max(1000) && now > 0 {
                        eprintln!(
                            "  {}: {:.0}% of {} s virtual, {:.1} s wall",
                            t.label(),
                            now as f64 * 100.0 / end as f64,
                            end / 1000,
                            started.elapsed().as_secs_f64()
                        );
                    }
                });
            let p = metrics.convergence();
            eprintln!(
                "  {}: items {} p50 {} ms p99 {} ms max {} ms, {:.0} B/node, wall {} ms, {}",
                t.label(),
                metrics.items,
                p.p50,
                p.p99,
                p.max,
                metrics.mean_bytes(),
                metrics.wall_ms,
                if metrics.passed() { "pass" } else { "FAIL" }
            );
            runs.push(metrics);
        }
        reports.push(ScenarioReport {
            name: scenario.name.clone(),
            version: scenario.version,
            description: scenario.description.clone(),
            seed,
            runs,
        });
    }
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    for r in &reports {
        let dir = out.join(&r.name);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        for (file, svg) in r.plots() {
            std::fs::write(dir.join(&file), svg)
                .with_context(|| format!("writing {}", dir.join(&file).display()))?;
        }
    }
    let report = out.join("report.md");
    std::fs::write(&report, render_markdown(&reports))
        .with_context(|| format!("writing {}", report.display()))?;
    eprintln!(
        "wrote {} (peak RSS {} KiB)",
        report.display(),
        peak_rss_kib().unwrap_or(0)
    );
    let failed: Vec<&str> = reports
        .iter()
        .filter(|r| !r.passed())
        .map(|r| r.name.as_str())
        .collect();
    if !failed.is_empty() {
        bail!("checks failed in: {}", failed.join(", "));
    }
    Ok(())
}
