//! `sim`: runs scenarios in the deterministic simulator and writes the
//! report and plots.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use trustmesh_simulations::{
    RealConfig, Scenario, ScenarioReport, Simulation, Topology, peak_rss_kib, render_markdown,
    run_real,
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
    /// Runs real `trustmesh` processes on loopback (mesh, then the hub
    /// baseline), publishes advisories, measures their spread and writes
    /// report.md and SVG plots to --out.
    Real {
        /// The trustmesh binary (default: the one beside this program).
        #[arg(long)]
        binary: Option<PathBuf>,
        /// How many nodes.
        #[arg(long, default_value_t = 20)]
        nodes: usize,
        /// How many advisories to publish.
        #[arg(long, default_value_t = 20)]
        advisories: usize,
        /// Milliseconds between publications.
        #[arg(long, default_value_t = 500)]
        interval_ms: u64,
        /// Anti-entropy interval of every node, ms.
        #[arg(long, default_value_t = 10_000)]
        sync_interval_ms: u64,
        /// The seed of the choice of publishers.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Output directory (the nodes' data goes to OUT/nodes).
        #[arg(long, default_value = "sim-real")]
        out: PathBuf,
        /// Skip the hub baseline.
        #[arg(long)]
        no_hub: bool,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Run {
            scenarios,
            seed,
            out,
            no_hub,
        } => simulate(&scenarios, seed, &out, no_hub),
        Command::Real {
            binary,
            nodes,
            advisories,
            interval_ms,
            sync_interval_ms,
            seed,
            out,
            no_hub,
        } => {
            // By default the trustmesh binary built beside this one.
            let binary = match binary {
                Some(b) => b,
                None => std::env::current_exe()?.with_file_name("trustmesh"),
            };
            if !binary.exists() {
                bail!(
                    "{} not found: build it (cargo build -p trustmesh-node) or pass --binary",
                    binary.display()
                );
            }
            let config = RealConfig {
                binary,
                dir: out.join("nodes"),
                nodes,
                advisories,
                interval: std::time::Duration::from_millis(interval_ms),
                sync_interval_ms,
                deadline: std::time::Duration::from_secs(120),
                seed,
            };
            let mut runs = vec![];
            let mut topologies = vec![Topology::Mesh];
            if !no_hub {
                topologies.push(Topology::Hub);
            }
            for t in topologies {
                eprintln!(
                    "real stack: {nodes} nodes ({}), {advisories} advisories",
                    t.label()
                );
                let m = run_real(&config, t)?;
                let p = m.convergence();
                eprintln!(
                    "  {}: p50 {} ms p99 {} ms max {} ms, {:.0} B/node, {}",
                    t.label(),
                    p.p50,
                    p.p99,
                    p.max,
                    m.mean_bytes(),
                    if m.passed() { "pass" } else { "FAIL" }
                );
                runs.push(m);
            }
            write(
                &out,
                &[ScenarioReport {
                    name: "real-stack".into(),
                    version: 1,
                    description: format!(
                        "{nodes} real trustmesh processes on loopback, {advisories} CLEAR \
                         advisories published {interval_ms} ms apart from nodes picked by the \
                         seed; anti-entropy every {sync_interval_ms} ms. Wall-clock figures."
                    ),
                    seed,
                    runs,
                }],
            )
        }
    }
}

fn simulate(
    scenarios: &[PathBuf],
    seed: u64,
    out: &std::path::Path,
    no_hub: bool,
) -> anyhow::Result<()> {
    let mut reports = vec![];
    for path in scenarios {
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
    write(out, &reports)
}

/// Writes report.md and each scenario's plots; fails if a check failed.
fn write(out: &std::path::Path, reports: &[ScenarioReport]) -> anyhow::Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    for r in reports {
        let dir = out.join(&r.name);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        for (file, svg) in r.plots() {
            std::fs::write(dir.join(&file), svg)
                .with_context(|| format!("writing {}", dir.join(&file).display()))?;
        }
    }
    let report = out.join("report.md");
    std::fs::write(&report, render_markdown(reports))
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
