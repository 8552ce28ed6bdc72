use std::collections::BTreeSet;
use std::rc::Rc;

use super::{Gossip, GossipConfig, message_id};
use crate::rng::SimRng;

#[test]
fn the_mesh_fills_to_d_and_prunes_to_d() {
    let config = GossipConfig::default();
    let mut g = Gossip::default();
    let mut rng = SimRng::new(3);
    let links: BTreeSet<usize> = (0..20).collect();
    let hb = g.heartbeat(0, &links, &config, &mut rng);
    assert_eq!(hb.graft.len(), 6);
    assert_eq!(g.mesh().len(), 6);
    for p in 0..20 {
        g.on_graft(p, &config);
    }
    assert_eq!(g.mesh().len(), 12, "grafts stop at d_hi");
    let few: BTreeSet<usize> = (0..3).collect();
    let hb = g.heartbeat(1000, &few, &config, &mut rng);
    assert!(hb.graft.is_empty(), "nothing left to graft");
    assert_eq!(g.mesh().len(), 3, "disconnected peers leave the mesh");
}

#[test]
fn ihave_advertises_recent_messages_then_forgets_them() {
    let config = GossipConfig::default();
    let mut g = Gossip::default();
    let mut rng = SimRng::new(3);
    let links: BTreeSet<usize> = (0..20).collect();
    let data: Rc<[u8]> = Rc::from(&b"hello"[..]);
    let id = message_id(&data);
    assert!(g.first_seen(0, id));
    assert!(!g.first_seen(1, id));
    g.remember(id, data);
    let hb = g.heartbeat(1000, &links, &config, &mut rng);
    assert_eq!(hb.ihave.len(), 6);
    assert!(
        hb.ihave
            .iter()
            .all(|(p, ids)| !g.mesh().contains(p) && ids == &vec![id])
    );
    for t in 2..=6 {
        g.heartbeat(t * 1000, &links, &config, &mut rng);
    }
    assert!(g.cached(&id).is_none(), "gone after history_length windows");
    assert!(g.wanted(&[id]).is_empty());
    g.heartbeat(200_000, &links, &config, &mut rng);
    assert_eq!(g.wanted(&[id]), vec![id]);
}
