use super::*;
use crate::document::fixtures::{
    admission, admit, advisory, contact, net, raw_change, revoke, suffix, tool,
};
use crate::fixtures::key;
use crate::{AdvisoryStatus, Revision, StatementSet, Tlp, ToolRegistry};

mod convergence;

fn replica(set: &StatementSet) -> Documents {
    Documents::new(set.network_id(), &set.membership())
}

fn contacts_of(n: u8) -> DocId {
    DocRef::contacts(key(n).id()).id()
}

fn advisory_doc(owner: u8, id: &str) -> DocId {
    DocRef::advisory(key(owner).id(), id)
        .expect("valid id")
        .id()
}

/// Delivers every change of `from` to `to`.
fn sync(from: &Documents, to: &mut Documents, m: &Membership) {
    for (id, _) in from.docs() {
        for c in from.changes_since(id, &to.stored_heads(id)) {
            to.insert(c, m).expect("verified change");
        }
    }
}

fn assert_canonical(docs: &Documents) {
    let rebuilt = docs.rebuilt();
    assert_eq!(docs.statuses(), rebuilt.statuses());
    for (id, _) in docs.docs() {
        assert_eq!(docs.heads(id), rebuilt.heads(id));
    }
}

#[test]
fn contact_round_trip_and_field_level_updates() {
    let set = net();
    let mut docs = replica(&set);
    let mut c = contact("CERT-A");
    let first = docs
        .edit_contact(&key(1), suffix(1), 10, &c)
        .expect("valid")
        .expect("changed");
    assert_eq!(docs.get::<Contact>(&contacts_of(1)), Ok(Some(c.clone())));
    assert_eq!(docs.heads(&contacts_of(1)), vec![first.hash()]);
    assert_eq!(docs.edit_contact(&key(1), suffix(1), 11, &c), Ok(None));

    c.phone = "+31 70 000 0000".into();
    c.pgp_keys[0].armored = Some("-----BEGIN PGP PUBLIC KEY BLOCK-----\nabc\n".into());
    let second = docs
        .edit_contact(&key(1), suffix(1), 12, &c)
        .expect("valid")
        .expect("changed");
    // Two puts: the phone and the armored key; nothing else is rewritten.
    assert_eq!(second.change().len(), 2);
    assert_eq!(second.deps(), vec![first.hash()]);
    assert_eq!(second.seq(), 2);
    assert_eq!(docs.get::<Contact>(&contacts_of(1)), Ok(Some(c.clone())));

    c.representatives.clear();
    c.pgp_keys[0].armored = None;
    docs.edit_contact(&key(1), suffix(1), 13, &c)
        .expect("valid");
    assert_eq!(docs.get::<Contact>(&contacts_of(1)), Ok(Some(c)));
    assert_eq!(
        docs.get::<crate::Advisory>(&contacts_of(1)),
        Err(SchemaError::WrongKind {
            expected: DocKind::Advisory,
            found: DocKind::Contacts
        })
    );
    assert_eq!(docs.get::<Contact>(&contacts_of(2)), Ok(None));
    assert_canonical(&docs);
}

#[test]
fn invalid_values_and_non_members_are_refused_locally() {
    let set = net();
    let mut docs = replica(&set);
    let mut c = contact("CERT-A");
    c.country = "Netherlands".into();
    assert!(matches!(
        docs.edit_contact(&key(1), suffix(1), 1, &c),
        Err(EditError::Invalid(_))
    ));
    assert_eq!(
        docs.edit_contact(&key(9), suffix(1), 1, &contact("X")),
        Err(EditError::NotMember(key(9).id()))
    );
    assert_eq!(docs.docs().count(), 0);
}

#[test]
fn advisory_publish_and_update() {
    let set = net();
    let mut docs = replica(&set);
    let mut a = advisory("TM-2024-001", Tlp::Green, &[], &[]);
    docs.publish_advisory(&key(1), suffix(1), 1, &a)
        .expect("published");
    let id = advisory_doc(1, "TM-2024-001");
    assert_eq!(docs.get::<Advisory>(&id), Ok(Some(a.clone())));
    assert_eq!(
        docs.publish_advisory(&key(1), suffix(1), 2, &a),
        Err(EditError::AlreadyExists(
            DocRef::advisory(key(1).id(), "TM-2024-001").expect("valid")
        ))
    );

    a.title = "Exploitation of a VPN appliance (updated)".into();
    let c = docs
        .update_advisory(&key(1), suffix(1), 3, key(1).id(), &a)
        .expect("valid")
        .expect("changed");
    assert_eq!(c.change().len(), 1, "only the title is written");

    a.body.push_str("\nAlso rotate credentials.");
    a.indicators.push(crate::Indicator {
        kind: crate::IndicatorKind::Domain,
        value: "evil.example".into(),
    });
    a.revisions.push(crate::Revision {
        number: "2".into(),
        date: 4,
        summary: "more indicators".into(),
    });
    docs.update_advisory(&key(1), suffix(1), 4, key(1).id(), &a)
        .expect("valid");
    assert_eq!(docs.get::<Advisory>(&id), Ok(Some(a.clone())));

    let missing = advisory("TM-404", Tlp::Green, &[], &[]);
    assert!(matches!(
        docs.update_advisory(&key(1), suffix(1), 5, key(1).id(), &missing),
        Err(EditError::NotFound(_))
    ));
    assert_canonical(&docs);
}

#[test]
fn co_authors_edit_but_never_the_owner_fields() {
    let set = net();
    let m = set.membership();
    let mut owner = replica(&set);
    let mut a = advisory("TM-1", Tlp::Green, &[], &[key(2).id()]);
    owner
        .publish_advisory(&key(1), suffix(1), 1, &a)
        .expect("published");
    let mut co = replica(&set);
    sync(&owner, &mut co, &m);

    a.body = "Rewritten by the co-author.".into();
    let edit = co
        .update_advisory(&key(2), suffix(2), 2, key(1).id(), &a)
        .expect("co-author may edit")
        .expect("changed");
    owner.insert(edit, &m).expect("verifies");
    let id = advisory_doc(1, "TM-1");
    assert_eq!(owner.get::<Advisory>(&id), Ok(Some(a.clone())));

    let mut widened = a.clone();
    widened.tlp = Tlp::Clear;
    assert_eq!(
        co.update_advisory(&key(2), suffix(2), 3, key(1).id(), &widened),
        Err(EditError::OwnerOnly("tlp label"))
    );
    let mut more = a.clone();
    more.co_authors.push(key(3).id());
    more.co_authors.sort();
    assert_eq!(
        co.update_advisory(&key(2), suffix(2), 3, key(1).id(), &more),
        Err(EditError::OwnerOnly("co-author list"))
    );
    let doc = DocRef::advisory(key(1).id(), "TM-1").expect("valid");
    assert_eq!(
        co.update_advisory(&key(3), suffix(3), 3, key(1).id(), &a),
        Err(EditError::NotPermitted {
            author: key(3).id(),
            doc: doc.clone()
        })
    );

    // The same attempts crafted by hand reach the replica but are not applied.
    let tlp = raw_change(&co, &key(2), suffix(2), doc.clone(), |tx| {
        automerge::transaction::Transactable::put(tx, automerge::ROOT, "tlp", "clear")
    });
    let stranger = raw_change(&co, &key(3), suffix(3), doc.clone(), |tx| {
        automerge::transaction::Transactable::put(tx, automerge::ROOT, "title", "HACKED")
    });
    for c in [tlp, stranger] {
        let inserted = owner.insert(c, &m).expect("verifies");
        assert_eq!(inserted.status, ChangeStatus::NotPermitted);
        assert!(!inserted.changed);
    }
    assert_eq!(owner.get::<Advisory>(&id), Ok(Some(a)));
    assert_canonical(&owner);
}

/// The revision history and withdrawal are the owner's: a co-author adds
/// revisions and edits text, but cannot withdraw the advisory or change or
/// drop a revision, neither through the editing API nor by a change made
/// by hand.
#[test]
fn co_authors_append_revisions_but_never_rewrite_or_withdraw() {
    use automerge::transaction::Transactable;
    use automerge::{ObjType, ReadDoc, ScalarValue};
    let set = net();
    let m = set.membership();
    let mut owner = replica(&set);
    let a = advisory("TM-1", Tlp::Green, &[], &[key(2).id()]);
    owner
        .publish_advisory(&key(1), suffix(1), 1, &a)
        .expect("published");
    let mut co = replica(&set);
    sync(&owner, &mut co, &m);
    let held = a.revisions.len();
    assert!(held > 0, "the fixture has a revision");

    let mut withdrawn = a.clone();
    withdrawn.status = AdvisoryStatus::Withdrawn;
    assert_eq!(
        co.update_advisory(&key(2), suffix(2), 2, key(1).id(), &withdrawn),
        Err(EditError::OwnerOnly("withdrawal"))
    );
    let mut rewritten = a.clone();
    rewritten.revisions[0].summary = "Nothing happened".into();
    assert!(matches!(
        co.update_advisory(&key(2), suffix(2), 2, key(1).id(), &rewritten),
        Err(EditError::OwnerOnly(what)) if what.starts_with("revision history")
    ));
    let mut appended = a.clone();
    let last = appended.revisions[held - 1].clone();
    appended.revisions.push(Revision {
        number: (held + 1).to_string(),
        date: last.date + 60,
        summary: "Co-author's addition".into(),
    });
    let edit = co
        .update_advisory(&key(2), suffix(2), 2, key(1).id(), &appended)
        .expect("a co-author may add a revision")
        .expect("changed");
    assert_eq!(
        owner.insert(edit, &m).expect("verifies").status,
        ChangeStatus::Applied
    );
    sync(&owner, &mut co, &m);

    // By hand: a withdrawal, a removed and a rewritten revision are not
    // applied; a revision inserted is.
    let doc = DocRef::advisory(key(1).id(), "TM-1").expect("valid");
    let history = |tx: &automerge::transaction::Transaction<'_>| {
        let obj = |parent: &automerge::ObjId, key: &str| match tx.get(parent, key) {
            Ok(Some((automerge::Value::Object(_), id))) => id,
            other => panic!("{key}: {other:?}"),
        };
        let c = obj(&automerge::ROOT, "csaf");
        let d = obj(&c, "document");
        let t = obj(&d, "tracking");
        obj(&t, "revision_history")
    };
    let withdraw = raw_change(&co, &key(2), suffix(21), doc.clone(), |tx| {
        tx.put(automerge::ROOT, "status", "withdrawn")
    });
    let dropped = raw_change(&co, &key(2), suffix(22), doc.clone(), |tx| {
        let h = history(tx);
        tx.delete(&h, 0)
    });
    let changed = raw_change(&co, &key(2), suffix(23), doc.clone(), |tx| {
        let h = history(tx);
        let entry = match tx.get(&h, 0)? {
            Some((automerge::Value::Object(_), id)) => id,
            other => panic!("entry: {other:?}"),
        };
        tx.put(&entry, "summary", ScalarValue::from("Nothing happened"))
    });
    for c in [withdraw, dropped, changed] {
        let inserted = owner.insert(c, &m).expect("verifies");
        assert_eq!(inserted.status, ChangeStatus::NotPermitted);
    }
    let added = raw_change(&co, &key(2), suffix(24), doc.clone(), |tx| {
        let h = history(tx);
        let n = tx.length(&h);
        let entry = tx.insert_object(&h, n, ObjType::Map)?;
        tx.put(&entry, "number", (held + 2).to_string())?;
        tx.put(&entry, "date", "2030-01-01T00:00:00Z")?;
        tx.put(&entry, "summary", "By hand")
    });
    assert_eq!(
        owner.insert(added, &m).expect("verifies").status,
        ChangeStatus::Applied
    );
    let d: AdvisoryDocument = owner.get(&doc.id()).expect("reads").expect("held");
    assert_eq!(d.envelope.status, a.status);
    let v = d.view();
    assert_eq!(v.tracking.revisions.len(), held + 2);
    assert_eq!(v.tracking.revisions[0].summary, a.revisions[0].summary);
    assert_canonical(&owner);
}

#[test]
fn co_author_permission_is_judged_in_the_causal_past() {
    let set = net();
    let m = set.membership();
    let mut owner = replica(&set);
    let mut a = advisory("TM-1", Tlp::Green, &[], &[key(2).id()]);
    owner
        .publish_advisory(&key(1), suffix(1), 1, &a)
        .expect("published");
    let mut co = replica(&set);
    sync(&owner, &mut co, &m);

    // Concurrently: the co-author edits, the owner removes the co-author.
    let mut edited = a.clone();
    edited.summary = "Edited while still a co-author.".into();
    let edit = co
        .update_advisory(&key(2), suffix(2), 2, key(1).id(), &edited)
        .expect("valid")
        .expect("changed");
    a.co_authors.clear();
    owner
        .update_advisory(&key(1), suffix(1), 2, key(1).id(), &a)
        .expect("valid");
    let inserted = owner.insert(edit.clone(), &m).expect("verifies");
    assert_eq!(inserted.status, ChangeStatus::Applied);
    let id = advisory_doc(1, "TM-1");
    let merged: Advisory = owner.get(&id).expect("readable").expect("exists");
    assert_eq!(merged.summary, "Edited while still a co-author.");
    assert!(merged.co_authors.is_empty());

    // After seeing the removal, the former co-author can no longer write.
    sync(&owner, &mut co, &m);
    let late = raw_change(
        &co,
        &key(2),
        suffix(2),
        DocRef::advisory(key(1).id(), "TM-1").expect("valid"),
        |tx| automerge::transaction::Transactable::put(tx, automerge::ROOT, "title", "too late"),
    );
    assert_eq!(
        owner.insert(late, &m).map(|i| i.status),
        Ok(ChangeStatus::NotPermitted)
    );
    assert_canonical(&owner);
}

#[test]
fn foreign_writes_to_owner_only_documents_are_refused() {
    let set = net();
    let m = set.membership();
    let mut docs = replica(&set);
    docs.edit_contact(&key(1), suffix(1), 1, &contact("CERT-A"))
        .expect("valid");
    let forged = raw_change(
        &docs,
        &key(2),
        suffix(2),
        DocRef::contacts(key(1).id()),
        |tx| {
            automerge::transaction::Transactable::put(
                tx,
                automerge::ROOT,
                "email",
                "evil@example.org",
            )
        },
    );
    assert_eq!(
        docs.insert(forged.clone(), &m).map(|_| ()),
        Err(ChangeError::NotOwner {
            author: key(2).id(),
            doc: DocRef::contacts(key(1).id())
        })
    );
    // A signature that does not verify is refused before anything is stored.
    let mut bytes = forged.encode();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    assert_eq!(
        docs.insert_bytes(&bytes, &m).map(|_| ()),
        Err(ChangeError::BadSignature(key(2).id()))
    );
    let other = crate::fixtures::charter(&[&key(1)], 1, 1);
    let mut elsewhere = Documents::new(other.network_id(), &StatementSet::new(other).membership());
    assert!(matches!(
        elsewhere.insert(forged, &m),
        Err(ChangeError::WrongNetwork { .. })
    ));
    assert_eq!(docs.counts(&contacts_of(1)), (1, 1));
}

#[test]
fn changes_by_non_members_wait_for_admission() {
    let mut set = net();
    let mut writer_set = net();
    admit(&mut writer_set, &key(4), &[&key(1), &key(2)]);
    let mut writer = replica(&writer_set);
    let c4 = writer
        .edit_contact(&key(4), suffix(4), 1, &contact("CERT-D"))
        .expect("member there")
        .expect("changed");

    let mut docs = replica(&set);
    let inserted = docs
        .insert(c4.clone(), &set.membership())
        .expect("verifies");
    assert_eq!(inserted.status, ChangeStatus::AuthorNotMember);
    assert_eq!(docs.get::<Contact>(&contacts_of(4)), Ok(None));
    assert_eq!(docs.heads(&contacts_of(4)), vec![]);
    assert_eq!(docs.stored_heads(&contacts_of(4)), vec![c4.hash()]);

    admit(&mut set, &key(4), &[&key(1), &key(2)]);
    assert_eq!(
        docs.on_membership_changed(&set.membership()),
        vec![contacts_of(4)]
    );
    assert_eq!(
        docs.status(&contacts_of(4), &c4.hash()),
        Some(ChangeStatus::Applied)
    );
    assert_eq!(
        docs.get::<Contact>(&contacts_of(4)),
        Ok(Some(contact("CERT-D")))
    );
    assert_eq!(docs.on_membership_changed(&set.membership()), vec![]);
}

#[test]
fn revoked_keys_keep_only_their_frontier() {
    let mut set = net();
    let mut docs = replica(&set);
    let mut hashes = vec![];
    for name in ["one", "two", "three"] {
        let c = docs
            .upsert_tool(&key(3), suffix(3), 1, &tool(name))
            .expect("valid")
            .expect("changed");
        hashes.push(c.hash());
    }
    let tools = DocRef::tools(key(3).id()).id();
    let n = set.network_id();
    for revoker in [1, 2] {
        set.insert(revoke(n, &key(revoker), &key(3), vec![hashes[1]]))
            .expect("valid");
    }
    assert_eq!(docs.on_membership_changed(&set.membership()), vec![tools]);
    assert_eq!(docs.heads(&tools), vec![hashes[1]]);
    assert_eq!(
        docs.status(&tools, &hashes[2]),
        Some(ChangeStatus::OutsideRevocationFrontier)
    );
    let registry: ToolRegistry = docs.get(&tools).expect("readable").expect("exists");
    assert_eq!(
        registry.tools.keys().collect::<Vec<_>>(),
        vec!["one", "two"]
    );
    assert_eq!(
        docs.upsert_tool(&key(3), suffix(3), 2, &tool("four")),
        Err(EditError::NotMember(key(3).id()))
    );

    // A fresh replica that learns the revocation first ends the same.
    let mut late = replica(&set);
    for c in docs.changes_since(&tools, &[]).into_iter().rev() {
        late.insert(c, &set.membership()).expect("verifies");
    }
    assert_eq!(late.heads(&tools), vec![hashes[1]]);
    assert_eq!(late.statuses(), docs.statuses());
    assert_canonical(&late);
}

#[test]
fn equivocating_actors_cannot_fork_replicas() {
    let set = net();
    let m = set.membership();
    let base = replica(&set);
    // One actor makes two different first changes from the same state.
    let mut a = base.clone();
    let mut b = base.clone();
    let ca = a
        .upsert_tool(&key(1), suffix(1), 1, &tool("alpha"))
        .expect("valid")
        .expect("changed");
    let cb = b
        .upsert_tool(&key(1), suffix(1), 1, &tool("beta"))
        .expect("valid")
        .expect("changed");
    assert_eq!((ca.seq(), cb.seq()), (1, 1));
    a.insert(cb.clone(), &m).expect("verifies");
    b.insert(ca.clone(), &m).expect("verifies");
    let tools = DocRef::tools(key(1).id()).id();
    let winner = ca.hash().min(cb.hash());
    for docs in [&a, &b] {
        assert_eq!(docs.heads(&tools), vec![winner]);
        assert_canonical(docs);
    }
    assert_eq!(a.statuses(), b.statuses());
    assert_eq!(a.get::<ToolRegistry>(&tools), b.get::<ToolRegistry>(&tools));
    // The loser's process must move on to a fresh suffix.
    let loser = if winner == ca.hash() { &mut b } else { &mut a };
    assert_eq!(
        loser.upsert_tool(&key(1), suffix(1), 2, &tool("gamma")),
        Err(EditError::ActorReused)
    );
    assert!(
        loser
            .upsert_tool(&key(1), suffix(7), 2, &tool("gamma"))
            .is_ok()
    );
}

#[test]
fn tools_upsert_and_remove() {
    let set = net();
    let mut docs = replica(&set);
    docs.upsert_tool(&key(1), suffix(1), 1, &tool("collector"))
        .expect("valid");
    docs.upsert_tool(&key(1), suffix(1), 2, &tool("scanner"))
        .expect("valid");
    let mut t = tool("collector");
    t.version = "1.1.0".into();
    t.tags.pop();
    let c = docs
        .upsert_tool(&key(1), suffix(1), 3, &t)
        .expect("valid")
        .expect("changed");
    assert_eq!(c.change().len(), 2, "the version and one tag");
    assert!(
        docs.remove_tool(&key(1), suffix(1), 4, "scanner")
            .expect("ok")
            .is_some()
    );
    assert_eq!(docs.remove_tool(&key(1), suffix(1), 5, "scanner"), Ok(None));
    let registry: ToolRegistry = docs
        .get(&DocRef::tools(key(1).id()).id())
        .expect("readable")
        .expect("exists");
    assert_eq!(registry.tools.into_values().collect::<Vec<_>>(), vec![t]);
}

#[test]
fn concurrent_edits_of_different_fields_merge() {
    let set = net();
    let m = set.membership();
    let mut a = replica(&set);
    let mut c = contact("CERT-A");
    a.edit_contact(&key(1), suffix(1), 1, &c).expect("valid");
    let mut b = replica(&set);
    sync(&a, &mut b, &m);

    let mut ca = c.clone();
    ca.email = "soc@example.org".into();
    a.edit_contact(&key(1), suffix(1), 2, &ca).expect("valid");
    let mut cb = c.clone();
    cb.phone = "+31 70 999 9999".into();
    // A second process of the same team, with its own actor suffix.
    b.edit_contact(&key(1), suffix(2), 2, &cb).expect("valid");
    sync(&a, &mut b, &m);
    sync(&b, &mut a, &m);

    c.email = ca.email;
    c.phone = cb.phone;
    for docs in [&a, &b] {
        assert_eq!(docs.get::<Contact>(&contacts_of(1)), Ok(Some(c.clone())));
        assert_eq!(docs.heads(&contacts_of(1)).len(), 2);
    }
}

#[test]
fn changes_since_sends_what_the_peer_lacks_in_dependency_order() {
    let set = net();
    let m = set.membership();
    let mut a = replica(&set);
    let mut c = contact("CERT-A");
    a.edit_contact(&key(1), suffix(1), 1, &c).expect("valid");
    let mut b = replica(&set);
    sync(&a, &mut b, &m);
    for i in 0..4 {
        c.business_hours = format!("24/7, shift {i}");
        a.edit_contact(&key(1), suffix(1), 2 + i, &c)
            .expect("valid");
    }
    let id = contacts_of(1);
    let missing = a.changes_since(&id, &b.heads(&id));
    assert_eq!(missing.len(), 4);
    let all = a.changes_since(&id, &[]);
    assert_eq!(all.len(), 5);
    for (i, change) in all.iter().enumerate() {
        for dep in change.deps() {
            assert!(
                all[..i].iter().any(|c| c.hash() == dep),
                "a dependency comes first"
            );
        }
    }
    for change in missing.into_iter().rev() {
        b.insert(change, &m).expect("verifies");
    }
    assert_eq!(b.heads(&id), a.heads(&id));
    assert_eq!(a.changes_since(&id, &a.heads(&id)), vec![]);
    assert_eq!(b.missing_deps(&id), vec![]);
}

#[test]
fn missing_dependencies_are_reported_and_filled() {
    let set = net();
    let m = set.membership();
    let mut a = replica(&set);
    let mut c = contact("CERT-A");
    let first = a
        .edit_contact(&key(1), suffix(1), 1, &c)
        .expect("valid")
        .expect("changed");
    c.phone.clear();
    let second = a
        .edit_contact(&key(1), suffix(1), 2, &c)
        .expect("valid")
        .expect("changed");
    let mut b = replica(&set);
    let id = contacts_of(1);
    assert_eq!(
        b.insert(second.clone(), &m).map(|i| i.status),
        Ok(ChangeStatus::MissingDeps)
    );
    assert_eq!(b.missing_deps(&id), vec![first.hash()]);
    assert_eq!(b.get::<Contact>(&id), Ok(None));
    let inserted = b.insert(first, &m).expect("verifies");
    assert!(inserted.changed && inserted.new);
    assert_eq!(b.status(&id, &second.hash()), Some(ChangeStatus::Applied));
    assert_eq!(b.get::<Contact>(&id), Ok(Some(c)));
    let again = b.insert(second, &m).expect("verifies");
    assert!(!again.new && !again.changed);
}

#[test]
fn tlp_decides_who_may_receive() {
    let mut set = net();
    admit(&mut set, &key(4), &[&key(1), &key(2)]);
    let m = set.membership();
    let mut docs = replica(&set);
    let (k1, k2, k3, k4, k9) = (
        key(1).id(),
        key(2).id(),
        key(3).id(),
        key(4).id(),
        key(9).id(),
    );
    for (id, tlp, audience) in [
        ("TM-clear", Tlp::Clear, vec![]),
        ("TM-green", Tlp::Green, vec![]),
        ("TM-amber", Tlp::Amber, vec![k1, k2]),
        ("TM-strict", Tlp::AmberStrict, vec![k1, k4]),
        ("TM-red", Tlp::Red, vec![k1]),
    ] {
        docs.publish_advisory(&key(1), suffix(1), 1, &advisory(id, tlp, &audience, &[]))
            .expect("published");
        let doc = advisory_doc(1, id);
        for peer in [k1, k2, k3, k4] {
            let expected = !tlp.is_restricted() || audience.contains(&peer);
            assert_eq!(
                docs.may_receive(&doc, &peer, &m),
                expected,
                "{id} to {}",
                peer.short()
            );
        }
        assert!(!docs.may_receive(&doc, &k9, &m), "never to a non-member");
    }
    docs.edit_contact(&key(2), suffix(2), 1, &contact("CERT-B"))
        .expect("valid");
    assert!(docs.may_receive(&contacts_of(2), &k3, &m));
    assert!(!docs.may_receive(&contacts_of(2), &k9, &m));
    assert!(
        !docs.may_receive(&contacts_of(7), &k3, &m),
        "unknown documents go nowhere"
    );

    // Restricting a green advisory takes effect at once.
    let mut a = advisory("TM-green", Tlp::Green, &[], &[]);
    a.tlp = Tlp::Red;
    a.audience = vec![k1];
    docs.update_advisory(&key(1), suffix(1), 2, k1, &a)
        .expect("valid");
    assert!(!docs.may_receive(&advisory_doc(1, "TM-green"), &k2, &m));
    assert!(docs.may_receive(&advisory_doc(1, "TM-green"), &k1, &m));
}

#[test]
fn an_unreadable_label_goes_to_the_owner_alone() {
    let set = net();
    let m = set.membership();
    let mut docs = replica(&set);
    let doc = DocRef::advisory(key(1).id(), "TM-odd").expect("valid");
    let odd = raw_change(&docs, &key(1), suffix(1), doc.clone(), |tx| {
        automerge::transaction::Transactable::put(tx, automerge::ROOT, "tlp", "purple")
    });
    assert_eq!(
        docs.insert(odd, &m).map(|i| i.status),
        Ok(ChangeStatus::Applied)
    );
    assert!(docs.may_receive(&doc.id(), &key(1).id(), &m));
    assert!(!docs.may_receive(&doc.id(), &key(2).id(), &m));
    // Without a format it is not an advisory this build writes.
    assert_eq!(
        docs.get::<Advisory>(&doc.id()),
        Err(SchemaError::UnsupportedFormat(1))
    );
}

#[test]
fn sequence_numbers_must_follow_the_causal_past() {
    use automerge::transaction::Transactable;
    let set = net();
    let m = set.membership();
    let doc = DocRef::tools(key(1).id());
    // An actor whose second change does not build on its first: Automerge
    // alone would accept the pair in one order and refuse it in the other.
    let mut am = automerge::AutoCommit::new()
        .with_actor(super::super::change::actor_id(&key(1).id(), &suffix(1)));
    let options = || {
        automerge::transaction::CommitOptions::default()
            .with_message(super::super::change::change_message(&doc.id()))
    };
    am.put(automerge::ROOT, "one", 1_u64).expect("put");
    let first = am.commit_with(options()).expect("one op");
    am.put(automerge::ROOT, "two", 2_u64).expect("put");
    let second = am.commit_with(options()).expect("one op");
    let first = am.get_change_by_hash(&first).expect("committed");
    let mut detached = am.get_change_by_hash(&second).expect("committed").decode();
    detached.deps.clear();
    detached.hash = None;
    let second = automerge::Change::from(detached);
    let sign = |c: &automerge::Change| {
        SignedChange::sign(set.network_id(), doc.clone(), &key(1), c.raw_bytes()).expect("valid")
    };
    let (first, second) = (sign(&first), sign(&second));
    assert_eq!((first.seq(), second.seq()), (1, 2));
    assert!(second.deps().is_empty());
    for order in [[&first, &second], [&second, &first]] {
        let mut docs = replica(&set);
        for c in order {
            docs.insert(c.clone(), &m).expect("verifies");
        }
        assert_eq!(
            docs.status(&doc.id(), &first.hash()),
            Some(ChangeStatus::Applied)
        );
        assert_eq!(
            docs.status(&doc.id(), &second.hash()),
            Some(ChangeStatus::BrokenSequence)
        );
        assert_canonical(&docs);
    }
}

#[test]
fn documents_can_move_between_threads() {
    fn assert_send<T: Send + 'static>() {}
    assert_send::<Documents>();
    assert_send::<SignedChange>();
}

/// Applying a batch on several threads (documents at once) gives what
/// applying it one change at a time gives, statuses and events alike,
/// whatever the order inside the batch (a change before its dependency
/// waits for it).
#[test]
fn a_batch_applied_on_threads_equals_one_change_at_a_time() {
    let mut set = net();
    let mut writer = replica(&set);
    for i in 0..24u64 {
        let mut t = tool(&format!("t{i}"));
        t.version = format!("{i}");
        writer
            .upsert_tool(&key(1 + (i % 3) as u8), suffix(1 + (i % 3) as u8), i, &t)
            .expect("valid");
        writer
            .publish_advisory(
                &key(1),
                suffix(1),
                i,
                &advisory(&format!("TM-{i}"), Tlp::Clear, &[], &[]),
            )
            .expect("valid");
    }
    let mut changes: Vec<SignedChange> = writer
        .docs()
        .flat_map(|(id, _)| writer.changes_since(id, &[]))
        .collect();
    // The newest change first: it waits for its dependencies in the batch.
    changes.reverse();
    // A team that is not a member yet: its changes are kept aside.
    admit(&mut set, &key(4), &[&key(1), &key(2)]);
    let mut w4 = replica(&set);
    w4.edit_contact(&key(4), suffix(4), 1, &contact("CERT-D"))
        .expect("valid");
    changes.extend(w4.changes_since(&contacts_of(4), &[]));
    let m = net().membership();

    let mut one = Documents::new(set.network_id(), &m);
    let seq: Vec<Inserted> = changes
        .iter()
        .map(|c| one.insert(c.clone(), &m).expect("valid"))
        .collect();
    for threads in [1, 2, 3] {
        let mut many = Documents::new(set.network_id(), &m);
        let par = many.insert_checked_many(changes.clone(), &m, threads);
        assert_eq!(par, seq, "{threads} threads");
        assert_eq!(many.statuses(), one.statuses());
        for (id, _) in one.docs() {
            assert_eq!(many.heads(id), one.heads(id));
        }
        assert_eq!(many.stale_snapshots(), one.stale_snapshots());
    }
    assert!(
        seq.iter()
            .any(|i| i.status == ChangeStatus::AuthorNotMember)
    );
    assert!(seq.iter().any(|i| i.status == ChangeStatus::MissingDeps));
}
