use super::{Dropped, NetConfig, Network};
use crate::rng::SimRng;

fn net() -> Network {
    let config = NetConfig {
        intra_region_ms: [10, 10],
        inter_region_ms: [100, 100],
        jitter_ms: 0,
        loss_ppm: 0,
        uplink_bytes_per_s: 1000,
    };
    Network::new(config, vec![0, 0, 1], 7)
}

#[test]
fn latency_bandwidth_and_queueing_add_up() {
    let mut n = net();
    let mut rng = SimRng::new(1);
    // 500 bytes at 1000 B/s take 500 ms on the uplink, then 10 ms.
    assert_eq!(n.send(0, 0, 1, None, 500, &mut rng), Ok(510));
    // The next message waits for the first to leave the uplink.
    assert_eq!(n.send(0, 0, 2, None, 500, &mut rng), Ok(1100));
}

#[test]
fn an_isolated_region_is_unreachable_until_healed() {
    let mut n = net();
    let mut rng = SimRng::new(1);
    n.isolate(1);
    assert!(!n.reachable(0, 2));
    assert!(n.reachable(0, 1));
    assert_eq!(
        n.send(0, 0, 2, None, 1, &mut rng),
        Err(Dropped::Partitioned)
    );
    n.heal(1);
    assert!(n.reachable(0, 2));
}

#[test]
fn link_latency_is_fixed_per_link_and_symmetric() {
    let config = NetConfig::default();
    let n = Network::new(config, vec![0, 1, 2, 3], 9);
    assert_eq!(n.base_latency(0, 3), n.base_latency(3, 0));
    let l = n.base_latency(1, 2);
    assert!((60..=250).contains(&l), "{l}");
}

#[test]
fn a_relayed_packet_takes_both_hops_and_needs_both() {
    let config = NetConfig {
        intra_region_ms: [10, 10],
        inter_region_ms: [100, 100],
        jitter_ms: 0,
        loss_ppm: 0,
        uplink_bytes_per_s: 1_000_000,
    };
    let mut n = Network::new(config, vec![0, 0, 1], 7);
    let mut rng = SimRng::new(1);
    // 0 -> 1 through 2: 100 ms there and 100 ms back, plus 1 ms on the uplink.
    assert_eq!(n.send(0, 0, 1, Some(2), 1000, &mut rng), Ok(201));
    n.isolate(1);
    assert_eq!(
        n.send(1_000, 0, 1, Some(2), 1, &mut rng),
        Err(Dropped::Partitioned)
    );
    // Direct, inside the region, after the lost byte left the uplink.
    assert_eq!(n.send(1_000, 0, 1, None, 1, &mut rng), Ok(1_012));
}
