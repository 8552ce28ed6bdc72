use proptest::prelude::*;

use super::*;
use crate::document::fixtures::{admit, advisory, contact, net, suffix, tool};
use crate::fixtures::key;
use crate::{Advisory, Contact, StatementSet, Tlp, ToolRegistry};

/// Every document's stored changes and snapshot, as a store would give
/// them back.
fn stored(docs: &Documents, with_snapshots: bool) -> Vec<(Vec<SignedChange>, Option<Vec<u8>>)> {
    docs.docs()
        .map(|(id, _)| {
            let changes = docs.changes_since(id, &[]);
            let snap = with_snapshots.then(|| docs.snapshot(id)).flatten();
            (changes, snap)
        })
        .collect()
}

fn assert_same(a: &Documents, b: &Documents) {
    assert_eq!(a.statuses(), b.statuses());
    let ids: Vec<DocId> = a.docs().map(|(id, _)| *id).collect();
    assert_eq!(ids, b.docs().map(|(id, _)| *id).collect::<Vec<_>>());
    for id in &ids {
        assert_eq!(a.heads(id), b.heads(id));
        match a.doc_ref(id).map(DocRef::kind) {
            Some(crate::DocKind::Contacts) => {
                assert_eq!(a.get::<Contact>(id), b.get::<Contact>(id));
            }
            Some(crate::DocKind::Tools) => {
                assert_eq!(a.get::<ToolRegistry>(id), b.get::<ToolRegistry>(id));
            }
            _ => assert_eq!(a.get::<Advisory>(id), b.get::<Advisory>(id)),
        }
    }
}

/// Three documents with a few changes each.
fn sample(set: &StatementSet) -> Documents {
    let mut docs = Documents::new(set.network_id(), &set.membership());
    docs.edit_contact(&key(1), suffix(1), 1, &contact("CERT-A"))
        .expect("valid");
    for v in 0..4 {
        let mut t = tool("collector");
        t.version = format!("1.{v}");
        docs.upsert_tool(&key(2), suffix(2), 2 + v, &t)
            .expect("valid");
    }
    docs.publish_advisory(
        &key(1),
        suffix(1),
        9,
        &advisory("TM-1", Tlp::Green, &[], &[]),
    )
    .expect("valid");
    docs
}

#[test]
fn a_snapshot_restores_without_replaying() {
    let set = net();
    let docs = sample(&set);
    let (restored, report) =
        Documents::restore(set.network_id(), &set.membership(), stored(&docs, true));
    assert_same(&docs, &restored);
    assert_eq!(report.from_snapshot, 3);
    assert_eq!(report.skipped, 6);
    assert_eq!(report.replayed, 0);
    assert!(report.fallbacks.is_empty());

    // Without snapshots everything is replayed, to the same result.
    let (replayed, report) =
        Documents::restore(set.network_id(), &set.membership(), stored(&docs, false));
    assert_same(&docs, &replayed);
    assert_eq!((report.from_snapshot, report.replayed), (0, 6));
}

#[test]
fn changes_stored_after_the_snapshot_are_applied_on_top() {
    let set = net();
    let mut docs = sample(&set);
    let snaps: BTreeMap<DocId, Vec<u8>> = docs
        .docs()
        .filter_map(|(id, _)| docs.snapshot(id).map(|s| (*id, s)))
        .collect();
    let mut t = tool("collector");
    t.version = "2.0".into();
    docs.upsert_tool(&key(2), suffix(3), 20, &t).expect("valid");
    let input = docs
        .docs()
        .map(|(id, _)| (docs.changes_since(id, &[]), snaps.get(id).cloned()));
    let (restored, report) = Documents::restore(
        set.network_id(),
        &set.membership(),
        input.collect::<Vec<_>>(),
    );
    assert_same(&docs, &restored);
    assert_eq!((report.from_snapshot, report.replayed), (3, 1));
    // The restored replica keeps working: a further edit applies.
    let mut restored = restored;
    t.version = "2.1".into();
    assert!(
        restored
            .upsert_tool(&key(2), suffix(4), 21, &t)
            .expect("valid")
            .is_some()
    );
}

#[test]
fn a_snapshot_from_another_membership_is_not_used() {
    let mut set = net();
    let docs = sample(&set);
    let before = stored(&docs, true);
    admit(&mut set, &key(4), &[&key(1), &key(2)]);
    let mut now = Documents::new(set.network_id(), &set.membership());
    for (changes, _) in &before {
        for c in changes {
            now.insert(c.clone(), &set.membership()).expect("valid");
        }
    }
    let (restored, report) = Documents::restore(set.network_id(), &set.membership(), before);
    assert_same(&now, &restored);
    assert_eq!(report.from_snapshot, 0);
    assert_eq!(report.fallbacks.len(), 3);
    assert!(
        report
            .fallbacks
            .iter()
            .all(|(_, why)| why.contains("membership"))
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// A damaged snapshot never panics and never changes the result: the
    /// document is rebuilt from its changes instead.
    #[test]
    fn damaged_snapshots_fall_back(at in any::<prop::sample::Index>(), byte: u8, cut: bool) {
        let set = net();
        let docs = sample(&set);
        let mut input = stored(&docs, true);
        for (_, snap) in &mut input {
            if let Some(s) = snap {
                let i = at.index(s.len());
                if cut { s.truncate(i) } else { s[i] ^= byte.max(1) }
            }
        }
        let (restored, report) = Documents::restore(set.network_id(), &set.membership(), input);
        assert_same(&docs, &restored);
        prop_assert_eq!(report.rejected, 0);
    }

    /// Edits, a snapshot at any point, more edits: restoring gives the
    /// replica the edits built.
    #[test]
    fn restore_equals_the_original(edits in prop::collection::vec((0..3u8, 0..4u8), 1..12), split in 0usize..12) {
        let set = net();
        let mut docs = Documents::new(set.network_id(), &set.membership());
        let mut snaps = BTreeMap::new();
        for (i, (kind, v)) in edits.iter().enumerate() {
            if i == split {
                snaps = docs.docs().filter_map(|(id, _)| docs.snapshot(id).map(|s| (*id, s))).collect();
            }
            let now = i as u64;
            let _ = match kind {
                0 => docs.edit_contact(&key(1), suffix(1), now, &contact(&format!("C{v}"))).map(|_| ()),
                1 => {
                    let mut t = tool(&format!("t{v}"));
                    t.version = format!("{i}");
                    docs.upsert_tool(&key(2), suffix(2), now, &t).map(|_| ())
                }
                _ => docs
                    .publish_advisory(&key(3), suffix(3), now, &advisory(&format!("TM-{v}"), Tlp::Clear, &[], &[]))
                    .map(|_| ()),
            };
        }
        let input: Vec<_> = docs
            .docs()
            .map(|(id, _)| (docs.changes_since(id, &[]), snaps.get(id).cloned()))
            .collect();
        let (restored, _) = Documents::restore(set.network_id(), &set.membership(), input);
        assert_same(&docs, &restored);
    }
}
