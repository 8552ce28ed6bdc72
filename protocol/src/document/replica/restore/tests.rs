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
fn a_bounded_cache_restores_reads_and_writes_the_same_documents() {
    let set = net();
    let docs = sample(&set);
    for with_snapshots in [true, false] {
        let (mut restored, _) = Documents::restore_on(
            set.network_id(),
            &set.membership(),
            stored(&docs, with_snapshots),
            1,
            1,
        );
        assert_eq!(restored.cached_documents(), 1, "one held, two evicted");
        assert_same(&docs, &restored);
        // Snapshots of evicted documents are those of held ones.
        for (id, _) in docs.docs() {
            assert_eq!(restored.snapshot(id), docs.snapshot(id));
        }
        // Writing an evicted document brings it back, evicting another.
        let mut original = docs.clone();
        let mut t = tool("collector");
        t.version = "2.0".into();
        for d in [&mut original, &mut restored] {
            d.upsert_tool(&key(2), suffix(2), 20, &t).expect("valid");
        }
        assert_eq!(restored.cached_documents(), 1);
        assert_same(&original, &restored);
    }
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
fn a_membership_change_invalidates_only_the_snapshots_of_its_documents() {
    let mut set = net();
    let docs = sample(&set);
    let before = stored(&docs, true);
    // Admitting a team that wrote nothing changes no document.
    let mut admitted = set.clone();
    admit(&mut admitted, &key(4), &[&key(1), &key(2)]);
    let (restored, report) =
        Documents::restore(set.network_id(), &admitted.membership(), before.clone());
    assert_same(&docs, &restored);
    assert_eq!((report.from_snapshot, report.replayed), (3, 0));

    // Revoking team 2 (keeping nothing) changes its tool registry only.
    for by in [key(1), key(3)] {
        set.insert(crate::document::fixtures::revoke(
            set.network_id(),
            &by,
            &key(2),
            vec![],
        ))
        .expect("valid revocation");
    }
    let mut now = Documents::new(set.network_id(), &set.membership());
    for (changes, _) in &before {
        for c in changes {
            now.insert(c.clone(), &set.membership()).expect("valid");
        }
    }
    let (restored, report) = Documents::restore(set.network_id(), &set.membership(), before);
    assert_same(&now, &restored);
    assert_eq!(report.from_snapshot, 2);
    let tools = DocRef::tools(key(2).id()).id();
    assert_eq!(report.fallbacks.len(), 1);
    assert_eq!(report.fallbacks[0].0, tools);
    assert!(report.fallbacks[0].1.contains("membership"));
    assert_eq!(restored.get::<ToolRegistry>(&tools).expect("reads"), None);
    // The rebuilt document's snapshot is stale, the others' are current.
    assert_eq!(restored.stale_snapshots(), 1);
    assert!(restored.snapshot_is_stale(&tools));
}

#[test]
fn a_long_history_restores_from_its_saved_document() {
    let set = net();
    let mut docs = sample(&set);
    for v in 0..12 {
        let mut t = tool("collector");
        t.version = format!("3.{v}");
        docs.upsert_tool(&key(2), suffix(6), 40 + v, &t)
            .expect("valid");
    }
    let tools = DocRef::tools(key(2).id()).id();
    let long = docs.snapshot(&tools).expect("a snapshot");
    let short = docs
        .snapshot(&DocRef::contacts(key(1).id()).id())
        .expect("a snapshot");
    // The long history carries its saved document, the short one not.
    assert!(
        long.len() > short.len() + 100,
        "{} {}",
        long.len(),
        short.len()
    );
    let (restored, report) =
        Documents::restore(set.network_id(), &set.membership(), stored(&docs, true));
    assert_same(&docs, &restored);
    assert_eq!((report.from_snapshot, report.replayed), (3, 0));
}

#[test]
fn taking_snapshots_clears_the_stale_set_and_a_failed_write_restores_it() {
    let set = net();
    let mut docs = sample(&set);
    assert_eq!(docs.stale_snapshots(), 3);
    let taken = docs.take_snapshots(2);
    assert_eq!(taken.len(), 2);
    assert_eq!(docs.stale_snapshots(), 1);
    docs.mark_stale(taken.iter().map(|(d, _)| *d));
    assert_eq!(docs.stale_snapshots(), 3);
    let all = docs.take_snapshots(usize::MAX);
    assert_eq!(all.len(), 3);
    assert_eq!(docs.stale_snapshots(), 0);
    // An edit makes its document stale again, and only it.
    let mut t = tool("collector");
    t.version = "9.0".into();
    docs.upsert_tool(&key(2), suffix(5), 30, &t).expect("valid");
    assert_eq!(docs.stale_snapshots(), 1);
    assert!(docs.snapshot_is_stale(&DocRef::tools(key(2).id()).id()));
    // The snapshots taken restore the state they were taken of.
    let snaps: BTreeMap<DocId, Vec<u8>> = all.into_iter().collect();
    let input: Vec<_> = docs
        .docs()
        .map(|(id, _)| (docs.changes_since(id, &[]), snaps.get(id).cloned()))
        .collect();
    let (restored, report) = Documents::restore(set.network_id(), &set.membership(), input);
    assert_same(&docs, &restored);
    assert_eq!((report.from_snapshot, report.replayed), (3, 1));
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

    /// Edits by members and by a team not yet admitted, a snapshot at any
    /// point, more edits, then the membership changes (the team admitted,
    /// a writer revoked keeping some of its heads or none, or both):
    /// restoring from the snapshots under the new membership equals
    /// rebuilding from the changes under it, and only documents whose
    /// authors' standing changed (or that changed after their snapshot)
    /// are replayed.
    #[test]
    fn restored_from_snapshots_equals_rebuilt_under_membership_changes(
        edits in prop::collection::vec((1..5u8, 0..3u8, 0..3u8), 1..10),
        split in 0usize..10,
        admit_four: bool,
        revoke_three: bool,
        keep_some: bool,
    ) {
        let base = net();
        let n = base.network_id();
        let mut world = base.clone();
        admit(&mut world, &key(4), &[&key(1), &key(2)]);
        let mut docs = Documents::new(n, &base.membership());
        let mut w4 = Documents::new(n, &world.membership());
        let mut snaps = BTreeMap::new();
        for (i, (team, kind, v)) in edits.iter().enumerate() {
            if i == split {
                snaps = docs.docs().filter_map(|(id, _)| docs.snapshot(id).map(|s| (*id, s))).collect();
            }
            let k = key(*team);
            let now = i as u64;
            let writer = if *team == 4 { &mut w4 } else { &mut docs };
            let made: Vec<SignedChange> = match kind {
                0 => writer.edit_contact(&k, suffix(*team), now, &contact(&format!("C{v}-{i}"))).ok().flatten().into_iter().collect(),
                1 => {
                    let mut t = tool(&format!("t{v}"));
                    t.version = format!("{i}");
                    writer.upsert_tool(&k, suffix(*team), now, &t).ok().flatten().into_iter().collect()
                }
                _ => writer
                    .publish_advisory(&k, suffix(*team), now, &advisory(&format!("TM-{team}-{v}"), Tlp::Clear, &[], &[]))
                    .ok()
                    .into_iter()
                    .collect(),
            };
            if *team == 4 {
                for c in made {
                    docs.insert(c, &base.membership()).expect("valid");
                }
            }
        }
        let mut after = base.clone();
        if admit_four {
            admit(&mut after, &key(4), &[&key(1), &key(2)]);
        }
        if revoke_three {
            let kept: Vec<ChangeHash> = if keep_some {
                docs.docs()
                    .filter(|(_, r)| r.owner() == key(3).id())
                    .flat_map(|(id, _)| docs.heads(id))
                    .take(1)
                    .collect()
            } else {
                vec![]
            };
            for by in [key(1), key(2)] {
                after
                    .insert(crate::document::fixtures::revoke(n, &by, &key(3), kept.clone()))
                    .expect("valid revocation");
            }
        }
        let m = after.membership();
        let input: Vec<_> = docs
            .docs()
            .map(|(id, _)| (docs.changes_since(id, &[]), snaps.get(id).cloned()))
            .collect();
        let mut rebuilt = Documents::new(n, &m);
        for (changes, _) in &input {
            for c in changes {
                rebuilt.insert(c.clone(), &m).expect("valid");
            }
        }
        let (restored, report) = Documents::restore(n, &m, input.clone());
        assert_same(&rebuilt, &restored);
        prop_assert_eq!(report.rejected, 0);
        // A snapshot falls back only when one of its document's authors
        // changed standing.
        let affected = |id: &DocId| {
            docs.authors(id).any(|a| {
                (admit_four && *a == key(4).id()) || (revoke_three && *a == key(3).id())
            })
        };
        for (doc, why) in &report.fallbacks {
            prop_assert!(affected(doc), "{why}");
        }
        let expected = input
            .iter()
            .filter(|(changes, snap)| snap.is_some() && !affected(&changes[0].doc()))
            .count();
        prop_assert!(report.from_snapshot >= expected);
        // Restoring again from the restored replica's own snapshots
        // replays nothing.
        let again: Vec<_> = restored
            .docs()
            .map(|(id, _)| (restored.changes_since(id, &[]), restored.snapshot(id)))
            .collect();
        let (twice, report) = Documents::restore(n, &m, again);
        assert_same(&rebuilt, &twice);
        prop_assert_eq!(report.replayed, 0);
    }
}

/// A store holding `docs`' changes and, if asked, their snapshots.
fn shared(docs: &Documents, with_snapshots: bool) -> crate::SharedStore {
    use crate::Store;
    let mut store = crate::SharedStore::new();
    for (id, _) in docs.docs() {
        let Ok(()) = store.put_changes(&docs.changes_since(id, &[]));
        if with_snapshots && let Some(snap) = docs.snapshot(id) {
            let Ok(()) = store.put_snapshot(id, &snap);
        }
    }
    store
}

fn restore_cold(set: &StatementSet, store: &crate::SharedStore) -> (Documents, RestoreReport) {
    use crate::Store;
    let Ok(index) = store.load_index();
    let stored = index.changes.into_iter().map(|(id, hashes)| StoredDoc {
        id,
        snapshot: index.snapshots.get(&id).cloned(),
        hashes,
    });
    let Ok(restored) = Documents::restore_from(
        set.network_id(),
        &set.membership(),
        stored,
        |d| store.changes_of(d),
        store.source(),
        1,
        1,
    );
    restored
}

#[test]
fn with_a_store_to_read_from_a_snapshot_restores_its_document_cold() {
    let set = net();
    let docs = sample(&set);
    let store = shared(&docs, true);
    let (mut restored, report) = restore_cold(&set, &store);
    assert_eq!(
        (report.cold, report.from_snapshot, report.replayed),
        (3, 3, 0)
    );
    assert_eq!(restored.cold_documents(), 3, "no change read at the start");
    assert_eq!(restored.cached_documents(), 0);
    // Reads bring the changes back for the read alone.
    assert_same(&docs, &restored);
    assert_eq!(restored.cold_documents(), 3);
    for (id, _) in docs.docs() {
        assert_eq!(restored.snapshot(id), docs.snapshot(id));
        assert_eq!(restored.stored_heads(id), docs.stored_heads(id));
        assert_eq!(restored.changes_since(id, &[]), docs.changes_since(id, &[]));
    }
    // A write brings its document back into the replica (stored first, as
    // the core does).
    let mut original = docs.clone();
    let mut t = tool("collector");
    t.version = "2.0".into();
    original
        .upsert_tool(&key(2), suffix(2), 20, &t)
        .expect("valid");
    let tools = DocRef::tools(key(2).id()).id();
    let new = original.changes_since(&tools, &docs.heads(&tools));
    let mut writer = store.clone();
    crate::Store::put_changes(&mut writer, &new).expect("stored");
    for c in new {
        restored.insert(c, &set.membership()).expect("verifies");
    }
    assert_same(&original, &restored);
    assert_eq!(restored.cold_documents(), 2);
    assert_eq!(restored.store_read_failures(), 0);

    // That document's change came after its snapshot: the next start
    // replays it, and restores the other two cold.
    let (again, report) = restore_cold(&set, &store);
    assert_eq!((report.cold, report.replayed), (2, 1));
    assert_same(&original, &again);
}

#[test]
fn a_cold_document_whose_changes_are_gone_is_reported_not_invented() {
    let set = net();
    let docs = sample(&set);
    let full = shared(&docs, true);
    // The snapshot lists changes the store no longer has: the start sees
    // it (the stored keys differ) and replays what is there instead.
    let mut partial = crate::SharedStore::new();
    let tools = DocRef::tools(key(2).id()).id();
    for (id, _) in docs.docs() {
        let mut changes = docs.changes_since(id, &[]);
        if *id == tools {
            changes.pop();
        }
        crate::Store::put_changes(&mut partial, &changes).expect("stored");
        let snap = crate::Store::load_index(&full).expect("reads").snapshots[id].clone();
        crate::Store::put_snapshot(&mut partial, id, &snap).expect("stored");
    }
    let (restored, report) = restore_cold(&set, &partial);
    assert_eq!(report.cold, 2);
    assert_eq!(report.fallbacks.len(), 1, "{:?}", report.fallbacks);
    assert_eq!(restored.counts(&tools).0, 3);
    assert_eq!(restored.store_read_failures(), 0);
}
