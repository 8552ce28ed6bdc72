//! trustmesh-simulations: many nodes of the sans-IO core at once, under a
//! virtual clock and network (DESIGN.md section 2).
//!
//! Every simulated node is the real `trustmesh_protocol::Node` over a
//! `FaultyStore` (a `MemStore` whose writes fail on command); the simulator
//! plays the part of the node's engine (connections, gossipsub,
//! request-response) over a seeded virtual network with latency,
//! bandwidth, loss, partitions, churn, failing disks and Byzantine
//! members. Every protocol decision is the core's: joins, gossip
//! validation, revocation frontiers, peer exchange and dialing, bans and
//! rate limits. The same seed replays the same run: the trace hash of every
//! delivered message proves it.
//!
//! ```
//! use trustmesh_simulations::{Scenario, Simulation, Topology};
//!
//! let scenario = Scenario::parse(r#"
//! name = "tiny"
//! version = 1
//! nodes = 6
//! duration_s = 120
//! settle_s = 60
//! "#)?;
//! let metrics = Simulation::new(&scenario, Topology::Mesh, 42)?.run();
//! assert!(metrics.passed());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]

mod byzantine;
mod clock;
mod gossip;
mod metrics;
mod net;
mod plot;
mod real;
mod report;
mod rng;
mod scenario;
mod simulation;
mod store;
mod workload;

pub use clock::EventQueue;
pub use gossip::GossipConfig;
pub use metrics::{Check, Percentiles, RunMetrics, Sample, peak_rss_kib};
pub use net::NetConfig;
pub use plot::{Series, line_chart};
pub use real::{RealConfig, RealError, run as run_real};
pub use report::{ScenarioReport, render_markdown};
pub use rng::SimRng;
pub use scenario::{
    Action, Behaviour, ByzantineSpec, Limits, Scenario, ScenarioError, TimedEvent, Workload,
};
pub use simulation::{
    CONTROL_OVERHEAD, GOSSIP_OVERHEAD, ID_BYTES, Role, SYNC_OVERHEAD, SetupError, Simulation,
    Topology,
};
pub use store::{Fault, FaultyStore, StoreFault};
