use trustmesh_protocol::{ActorSuffix, Destination, Message, TeamKey, Tlp, Transmit};

use super::{Role, Simulation, Topology};
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

/// Runs `sim` to its end one event at a time, keeping it for inspection.
fn run_in_place(sim: &mut Simulation<'_>) {
    while let Some((at, ev)) = sim.queue.pop_until(sim.end_ms) {
        sim.step(at, ev);
    }
}

#[test]
fn nodes_learn_the_mesh_by_peer_exchange_from_a_few_bootstrap_addresses() {
    let s = Scenario::parse(
        r#"
name = "exchange"
version = 1
nodes = 24
founders = 3
connections = 3
duration_s = 300
settle_s = 60
"#,
    )
    .expect("valid scenario");
    let mut sim = Simulation::new(&s, Topology::Mesh, 11).expect("setup");
    let bootstrap: Vec<usize> = sim.nodes.iter().map(|n| n.bootstrap.len()).collect();
    assert!(bootstrap.iter().all(|&b| b <= 3 + 9), "{bootstrap:?}");
    run_in_place(&mut sim);
    for (i, n) in sim.nodes.iter().enumerate() {
        let known = n.book.len();
        assert!(
            known >= 20 && known > n.bootstrap.len(),
            "node {i} knows {known} members, bootstrap {}",
            n.bootstrap.len()
        );
        assert!(n.book.stats().learned > 0, "node {i}");
    }
}

#[test]
fn a_flooder_is_rate_limited_by_the_guard_and_the_rest_converge() {
    let s = Scenario::parse(
        r#"
name = "flood"
version = 1
nodes = 10
founders = 3
connections = 3
duration_s = 300
settle_s = 120
sync_interval_ms = 5000
byzantine = [{ behaviour = "flood", count = 1 }]
[limits]
requests_per_second = 5
request_burst = 10
[workload]
advisories_per_hour = 120
"#,
    )
    .expect("valid scenario");
    let m = Simulation::new(&s, Topology::Mesh, 4).expect("setup").run();
    for c in &m.checks {
        assert!(c.passed, "{}: {}", c.name, c.detail);
    }
    assert!(
        m.counters.get("rate_limited").copied().unwrap_or(0) > 100,
        "{:?}",
        m.counters
    );
}

/// The revokers keep what their cores' frontier says: the advisories the
/// revoked member published while its key was its own stay, identically on
/// every node.
#[test]
fn a_revocation_keeps_the_frontier_its_revokers_compute() {
    let s = Scenario::parse(
        r#"
name = "frontier"
version = 1
nodes = 10
founders = 3
connections = 3
duration_s = 600
settle_s = 120
sync_interval_ms = 5000
byzantine = [{ behaviour = "withhold", count = 1 }]
[workload]
advisories_per_hour = 240
[[events]]
at_s = 400
kind = "revoke"
"#,
    )
    .expect("valid scenario");
    let mut sim = Simulation::new(&s, Topology::Mesh, 5).expect("setup");
    let target = (0..sim.nodes.len())
        .find(|&i| sim.nodes[i].role != Role::Honest)
        .expect("one Byzantine member");
    // Honest until its key is stolen, shortly before the revocation.
    let role = std::mem::replace(&mut sim.nodes[target].role, Role::Honest);
    while let Some((at, ev)) = sim.queue.pop_until(390_000) {
        sim.step(at, ev);
    }
    sim.nodes[target].role = role;
    run_in_place(&mut sim);
    assert_eq!(
        sim.revoked.iter().copied().collect::<Vec<_>>(),
        vec![target]
    );
    let team = sim.nodes[target].key.id();
    let kept: Vec<usize> = (0..sim.nodes.len())
        .filter(|&i| sim.is_honest(i))
        .filter_map(|i| sim.nodes[i].core.as_ref())
        .map(|c| {
            assert!(c.membership().is_revoked(&team));
            c.documents()
                .docs()
                .filter(|(d, r)| r.owner() == team && !c.documents().heads(d).is_empty())
                .count()
        })
        .collect();
    assert!(
        kept[0] > 0,
        "the revoked team's advisories are kept: {kept:?}"
    );
    assert!(kept.iter().all(|&c| c == kept[0]), "{kept:?}");
    let m = sim.finish(0);
    for c in &m.checks {
        assert!(c.passed, "{}: {}", c.name, c.detail);
    }
    assert!(
        m.counters
            .get("revocation_kept_heads")
            .is_some_and(|&n| n > 0)
    );
}

/// The step checks are not vacuous: a restricted change sent outside its
/// audience or by gossip, a message to a non-member, and a change that was
/// never stored are each caught.
#[test]
fn the_step_checks_catch_what_a_core_must_never_send() {
    let s = small();
    let mut sim = Simulation::new(&s, Topology::Mesh, 3).expect("setup");
    while let Some((at, ev)) = sim.queue.pop_until(60_000) {
        sim.step(at, ev);
    }
    assert!(sim.invariants.check().passed);
    let (a, b, c) = (0, 1, 2);
    let (ta, tb, tc) = (
        sim.nodes[a].key.id(),
        sim.nodes[b].key.id(),
        sim.nodes[c].key.id(),
    );
    let advisory = crate::workload::advisory(9_999, Tlp::Amber, &[ta, tb]);
    let now = sim.now();
    let change = sim.nodes[a]
        .core
        .as_mut()
        .expect("up")
        .publish_advisory(now, &advisory)
        .expect("stored");
    sim.audiences
        .insert(change.doc(), [ta, tb].into_iter().collect());
    let changes = Message::Changes(vec![change]);
    sim.check_transmit(
        a,
        &Transmit {
            to: Destination::Peer(tb),
            message: changes.clone(),
        },
    );
    assert!(sim.invariants.check().passed, "the audience may receive it");
    sim.check_transmit(
        a,
        &Transmit {
            to: Destination::Peer(tc),
            message: changes.clone(),
        },
    );
    sim.check_transmit(
        a,
        &Transmit {
            to: Destination::Gossip,
            message: changes,
        },
    );
    let outsider = TeamKey::from_secret_bytes([0x77; 32]).id();
    sim.check_transmit(
        a,
        &Transmit {
            to: Destination::Peer(outsider),
            message: Message::Statements(vec![]),
        },
    );
    let never_stored = crate::byzantine::unauthorized_change(
        sim.charter.network_id(),
        &sim.nodes[a].key,
        ActorSuffix::from_bytes([0xEE; 16]),
        tc,
        1,
    )
    .expect("a change");
    sim.check_transmit(
        a,
        &Transmit {
            to: Destination::Peer(tb),
            message: Message::Changes(vec![never_stored]),
        },
    );
    let verdict = sim.invariants.check();
    assert!(!verdict.passed);
    assert!(
        verdict.detail.contains("4 violations"),
        "{}",
        verdict.detail
    );
}
