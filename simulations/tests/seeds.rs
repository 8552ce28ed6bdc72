//! Many seeds of the partition, churn and Byzantine scenarios, each
//! checked for convergence and safety, with some nodes' disks failing
//! (full, or failing now and then) for a while in every scenario: the
//! core's invariants, checked at every step, include that a write the
//! store refused is never acknowledged or sent on, and the end checks that
//! the node converges once its writes work again. `TRUSTMESH_SIM_SEEDS`
//! sets how many seeds per scenario (default 100); a failure prints the
//! seed, and `Simulation::new(&scenario, Topology::Mesh, seed)` replays it
//! exactly.

use trustmesh_simulations::{Scenario, Simulation, Topology};

fn seeds() -> u64 {
    std::env::var("TRUSTMESH_SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100)
}

/// Runs every seed; returns the runs' counters, summed.
fn run_seeds(text: &str) -> std::collections::BTreeMap<String, u64> {
    let mut counters = std::collections::BTreeMap::new();
    let scenario = Scenario::parse(text).expect("valid scenario");
    let n = seeds();
    let mut items = 0;
    let mut failed_writes = 0;
    for seed in 0..n {
        let m = Simulation::new(&scenario, Topology::Mesh, seed)
            .expect("setup")
            .run();
        let failed: Vec<String> = m
            .checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| format!("{}: {}", c.name, c.detail))
            .collect();
        assert!(
            failed.is_empty(),
            "scenario {} seed {seed} failed (replay with this seed):\n{}",
            scenario.name,
            failed.join("\n")
        );
        items += m.items;
        failed_writes += m.counters.get("store_writes_failed").copied().unwrap_or(0);
        for (k, v) in &m.counters {
            *counters.entry(k.clone()).or_insert(0) += v;
        }
    }
    assert!(items as u64 >= n, "{} items over {n} seeds", items);
    assert!(
        failed_writes >= n,
        "the store faults cost only {failed_writes} writes over {n} seeds"
    );
    counters
}

#[test]
fn partitions_heal_for_every_seed() {
    let counters = run_seeds(
        r#"
name = "seeds-partition"
version = 2
nodes = 8
founders = 3
regions = 2
connections = 3
duration_s = 240
settle_s = 120
sync_interval_ms = 5000
hub_baseline = false
[network]
loss_ppm = 20000
[workload]
advisories_per_hour = 120
amber_pct = 20
[[events]]
at_s = 30
kind = "partition"
region = 1
duration_s = 150
[[events]]
at_s = 50
kind = "store_fault"
pct = 30
duration_s = 60
fault = "disk_full"
"#,
    );
    // The partition is a firewall cut: connections stall without closing
    // until failure detection closes them.
    assert!(
        counters
            .get("dead_connections_closed")
            .copied()
            .unwrap_or(0)
            >= seeds()
    );
}

/// Members behind firewalls that refuse inbound connections share AMBER
/// advisories (which travel point to point only) through circuit relays,
/// across a partition and churn of the relays.
#[test]
fn inbound_refusing_members_share_restricted_documents_for_every_seed() {
    let counters = run_seeds(
        r#"
name = "seeds-firewalls"
version = 1
nodes = 8
founders = 3
regions = 2
connections = 3
duration_s = 240
settle_s = 120
sync_interval_ms = 5000
hub_baseline = false
refuse_inbound_pct = 60
[network]
loss_ppm = 20000
[workload]
advisories_per_hour = 120
amber_pct = 50
[[events]]
at_s = 30
kind = "partition"
region = 1
duration_s = 60
[[events]]
at_s = 100
kind = "churn"
pct = 30
down_s = [10, 60]
[[events]]
at_s = 50
kind = "store_fault"
pct = 30
duration_s = 60
fault = "disk_full"
"#,
    );
    assert!(counters.get("relayed_connections").copied().unwrap_or(0) >= seeds());
}

/// With a cache of four documents, the others leave their changes in the
/// store: restarts, failing writes and joins then run over cold documents.
#[test]
fn churn_and_joins_converge_for_every_seed() {
    let counters = run_seeds(
        r#"
name = "seeds-churn"
version = 2
nodes = 8
founders = 3
regions = 2
connections = 3
duration_s = 240
settle_s = 120
sync_interval_ms = 5000
hub_baseline = false
[limits]
cached_documents = 4
[network]
loss_ppm = 20000
[workload]
advisories_per_hour = 120
contact_edits_per_hour = 60
[[events]]
at_s = 20
kind = "churn"
pct = 40
down_s = [10, 120]
[[events]]
at_s = 60
kind = "hub_failure"
duration_s = 60
[[events]]
at_s = 90
kind = "join"
count = 2
over_s = 30
[[events]]
at_s = 40
kind = "store_fault"
pct = 30
duration_s = 90
fault = { write_error = { every = 2 } }
[[events]]
at_s = 140
kind = "store_fault"
pct = 20
duration_s = 40
fault = "disk_full"
"#,
    );
    assert!(counters.get("documents_cold").copied().unwrap_or(0) >= seeds());
    assert_eq!(counters.get("store_read_failures").copied().unwrap_or(0), 0);
}

#[test]
fn byzantine_members_never_get_a_forgery_applied_for_any_seed() {
    run_seeds(
        r#"
name = "seeds-byzantine"
version = 2
nodes = 10
founders = 3
regions = 2
connections = 4
duration_s = 240
settle_s = 120
sync_interval_ms = 5000
hub_baseline = false
byzantine = [
  { behaviour = "forge", count = 1 },
  { behaviour = "unauthorized", count = 1 },
  { behaviour = "malformed", count = 1 },
  { behaviour = "withhold", count = 1 },
  { behaviour = "flood", count = 1 },
]
[network]
loss_ppm = 10000
[workload]
advisories_per_hour = 180
amber_pct = 20
[[events]]
at_s = 120
kind = "revoke"
[[events]]
at_s = 60
kind = "store_fault"
pct = 25
duration_s = 80
fault = "disk_full"
"#,
    );
}
