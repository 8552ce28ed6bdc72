use super::{Simulation, Topology};
use crate::scenario::Scenario;

fn small() -> Scenario {
    Scenario::parse(
        r#"
name = "small"
version = 1
nodes = 16
founders = 3
duration_s = 900
settle_s = 300
sync_interval_ms = 5000
byzantine = [{ behaviour = "forge", count = 1 }]
[network]
loss_ppm = 10000
[workload]
advisories_per_hour = 60
amber_pct = 20
contact_edits_per_hour = 20
[[events]]
at_s = 100
kind = "partition"
region = 1
duration_s = 300
[[events]]
at_s = 200
kind = "churn"
pct = 20
down_s = [30, 200]
[[events]]
at_s = 300
kind = "join"
count = 3
over_s = 60
[[events]]
at_s = 500
kind = "revoke"
"#,
    )
    .expect("valid scenario")
}

#[test]
fn the_same_seed_replays_the_same_trace_and_another_does_not() {
    let s = small();
    let a = Simulation::new(&s, Topology::Mesh, 7).expect("setup").run();
    let b = Simulation::new(&s, Topology::Mesh, 7).expect("setup").run();
    let c = Simulation::new(&s, Topology::Mesh, 8).expect("setup").run();
    assert_eq!(a.trace_hash, b.trace_hash);
    assert_eq!(a.convergence_ms, b.convergence_ms);
    assert_ne!(a.trace_hash, c.trace_hash);
}

#[test]
fn a_small_faulty_run_converges_safely_in_both_topologies() {
    let s = small();
    for topology in [Topology::Mesh, Topology::Hub] {
        let m = Simulation::new(&s, topology, 3).expect("setup").run();
        for c in &m.checks {
            assert!(c.passed, "{}: {} ({})", topology.label(), c.name, c.detail);
        }
        assert!(m.items > 5, "{}", m.items);
        assert_eq!(
            m.counters.get("joins_admitted"),
            Some(&3),
            "{:?}",
            m.counters
        );
    }
}
