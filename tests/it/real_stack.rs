//! The simulator's real-stack mode runs and measures real processes.

use std::time::Duration;

use trustmesh_simulations::{RealConfig, Topology, run_real};

#[test]
fn the_real_stack_mode_measures_a_mesh_and_a_star_of_real_nodes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = RealConfig {
        binary: crate::support::exe().into(),
        dir: dir.path().join("nodes"),
        nodes: 5,
        advisories: 3,
        interval: Duration::from_millis(200),
        sync_interval_ms: 1000,
        deadline: Duration::from_secs(60),
        seed: 7,
    };
    for topology in [Topology::Mesh, Topology::Hub] {
        let m = run_real(&config, topology).expect("the run completes");
        assert!(m.passed(), "{:?}", m.checks);
        assert_eq!(m.items, 3);
        assert_eq!(m.convergence_ms.len(), 3, "{m:?}");
        assert_eq!(m.bytes_per_node.len(), 5);
        assert!(m.bytes_per_node.iter().all(|b| *b > 0), "{m:?}");
    }
}
