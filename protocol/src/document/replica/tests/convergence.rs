//! Replicas that receive the same signed changes and statements, in any
//! order, in any batching and with duplicates, end identical; what must
//! never be applied never is.

use std::sync::OnceLock;

use proptest::prelude::*;

use super::*;
use crate::{SharedStore, SignedStatement, Store, Tlp};

#[derive(Clone)]
enum Event {
    Statement(SignedStatement),
    /// A change every replica stores.
    Change(SignedChange),
    /// A change every replica must refuse on insert.
    Refused(SignedChange),
}

struct History {
    /// The charter only: every replica starts from it.
    genesis: StatementSet,
    events: Vec<Event>,
    /// Hashes that must never be applied.
    never: Vec<(DocId, ChangeHash)>,
}

const A1: &str = "TM-2024-001";
const A2: &str = "TM-2024-002";

/// Five teams write concurrently: 1, 2 and 3 are founders, 4 is admitted
/// by 1 and 2, 3 is revoked by 1 and 2 keeping only part of its tool
/// registry, 9 never becomes a member. Built once and shared by all cases.
fn history() -> &'static History {
    static HISTORY: OnceLock<History> = OnceLock::new();
    HISTORY.get_or_init(build_history)
}

fn build_history() -> History {
    let genesis = net();
    let n = genesis.network_id();
    let admission4 = admission(n, &key(4), &[&key(1), &key(2)]);
    let mut world = genesis.clone();
    for s in &admission4 {
        world.insert(s.clone()).expect("valid");
    }
    let m = world.membership();
    let writer = || Documents::new(n, &m);
    let (mut w1, mut w1b, mut w2, mut w3, mut w4) =
        (writer(), writer(), writer(), writer(), writer());
    let (k1, k2, k4) = (key(1).id(), key(2).id(), key(4).id());
    let edit =
        |r: Result<Option<SignedChange>, EditError>| r.expect("valid edit").expect("changed");

    w1.edit_contact(&key(1), suffix(1), 1, &contact("CERT-A"))
        .expect("valid");
    let mut a1 = advisory(A1, Tlp::Green, &[], &[k2, k4]);
    w1.publish_advisory(&key(1), suffix(1), 2, &a1)
        .expect("valid");
    let mut a2 = advisory(A2, Tlp::Red, &[k1, k2], &[k2]);
    w1.publish_advisory(&key(1), suffix(1), 3, &a2)
        .expect("valid");
    for w in [&mut w1b, &mut w2, &mut w4] {
        sync(&w1, w, &m);
    }

    // Concurrent edits of A1 by the owner's second process and both co-authors.
    let mut t = a1.clone();
    t.title = "Exploitation of a VPN appliance, second wave".into();
    edit(w1b.update_advisory(&key(1), suffix(11), 4, k1, &t));
    let mut b = a1.clone();
    b.body = "Patch now, then hunt.".into();
    edit(w2.update_advisory(&key(2), suffix(2), 4, k1, &b));
    let mut s = a1.clone();
    s.summary = "Seen at several operators.".into();
    edit(w4.update_advisory(&key(4), suffix(4), 4, k1, &s));
    a2.severity = crate::Severity::Critical;
    edit(w2.update_advisory(&key(2), suffix(2), 5, k1, &a2));
    w2.edit_contact(&key(2), suffix(2), 5, &contact("CERT-B"))
        .expect("valid");
    w4.edit_contact(&key(4), suffix(4), 5, &contact("CERT-D"))
        .expect("valid");
    let mut tools3 = vec![];
    for name in ["one", "two", "three"] {
        tools3.push(edit(w3.upsert_tool(&key(3), suffix(3), 6, &tool(name))));
    }
    w3.edit_contact(&key(3), suffix(3), 6, &contact("CERT-C"))
        .expect("valid");

    // The owner merges everything, then drops co-author 4.
    for w in [&w1b, &w2, &w4] {
        sync(w, &mut w1, &m);
    }
    a1 = w1
        .get::<Advisory>(&advisory_doc(1, A1))
        .expect("readable")
        .expect("exists");
    a1.co_authors = vec![k2];
    edit(w1.update_advisory(&key(1), suffix(1), 7, k1, &a1));

    // What must never be applied.
    let doc1 = DocRef::advisory(k1, A1).expect("valid");
    let put = |key: &'static str, value: &'static str| {
        move |tx: &mut automerge::transaction::Transaction<'_>| {
            automerge::transaction::Transactable::put(tx, automerge::ROOT, key, value)
        }
    };
    // Team 4 is a member but no co-author of A2.
    let doc2 = DocRef::advisory(k1, A2).expect("valid");
    let stranger = raw_change(&w1, &key(4), suffix(4), doc2, put("title", "HACKED"));
    let widen = raw_change(&w1, &key(2), suffix(22), doc1.clone(), put("tlp", "clear"));
    let removed = raw_change(&w1, &key(4), suffix(44), doc1, put("title", "HACKED"));
    let outsider = raw_change(
        &w1,
        &key(9),
        suffix(9),
        DocRef::contacts(key(9).id()),
        put("name", "HACKED"),
    );
    let foreign = raw_change(
        &w1,
        &key(2),
        suffix(2),
        DocRef::contacts(k1),
        put("name", "HACKED"),
    );
    let mut forged_bytes = w2.changes_since(&contacts_of(2), &[])[0].encode();
    let last = forged_bytes.len() - 1;
    forged_bytes[last] ^= 0x40;
    let forged = SignedChange::decode(&forged_bytes).expect("still decodes");

    let mut events: Vec<Event> = admission4.into_iter().map(Event::Statement).collect();
    for r in [1, 2] {
        events.push(Event::Statement(revoke(
            n,
            &key(r),
            &key(3),
            vec![tools3[1].hash()],
        )));
    }
    let mut never = vec![
        (advisory_doc(1, A2), stranger.hash()),
        (advisory_doc(1, A1), widen.hash()),
        (advisory_doc(1, A1), removed.hash()),
        (contacts_of(9), outsider.hash()),
        (DocRef::tools(key(3).id()).id(), tools3[2].hash()),
    ];
    for w in [&w1, &w3] {
        for (id, _) in w.docs() {
            for c in w.changes_since(id, &[]) {
                if c.author() == key(3).id() && c.kind() == DocKind::Contacts {
                    never.push((id.to_owned(), c.hash()));
                }
                events.push(Event::Change(c));
            }
        }
    }
    events.extend([stranger, widen, removed, outsider].map(Event::Change));
    events.extend([foreign, forged].map(Event::Refused));
    History {
        genesis,
        events,
        never,
    }
}

/// One replica: a statement set, the membership it last computed, and its
/// documents.
struct Replica {
    set: StatementSet,
    membership: Membership,
    docs: Documents,
    /// Where changes are stored before the replica takes them, when its
    /// documents out of the cache leave their changes there.
    store: Option<SharedStore>,
}

impl Replica {
    fn new(genesis: &StatementSet) -> Self {
        let membership = genesis.membership();
        Self {
            set: genesis.clone(),
            docs: Documents::new(genesis.network_id(), &membership),
            membership,
            store: None,
        }
    }

    /// A replica whose documents out of the cache go cold.
    fn cold(genesis: &StatementSet) -> Self {
        let mut replica = Self::new(genesis);
        let store = SharedStore::new();
        if let Some(source) = store.source() {
            replica.docs.set_source(source);
        }
        replica.store = Some(store);
        replica
    }

    fn deliver(&mut self, event: &Event) -> Result<(), TestCaseError> {
        match event {
            Event::Statement(s) => {
                self.set.insert(s.clone()).expect("valid statement");
            }
            Event::Change(c) => {
                // Stored first, as the core does.
                if let Some(store) = &mut self.store {
                    let Ok(()) = store.put_changes(std::slice::from_ref(c));
                }
                self.docs
                    .insert(c.clone(), &self.membership)
                    .expect("verifies");
            }
            Event::Refused(c) => {
                prop_assert!(self.docs.insert(c.clone(), &self.membership).is_err());
            }
        }
        Ok(())
    }

    /// Ends a batch: recompute the membership and hand it to the documents.
    fn flush(&mut self) {
        self.membership = self.set.membership();
        self.docs.on_membership_changed(&self.membership);
    }
}

/// Everything a replica shows, for comparison.
fn snapshot(docs: &Documents) -> String {
    let mut out = String::new();
    for (id, doc) in docs.docs() {
        out.push_str(&format!(
            "{doc} {:?} stored {:?} {:?} missing {:?} to {:?}\n",
            docs.heads(id),
            docs.counts(id),
            docs.stored_heads(id),
            docs.missing_deps(id),
            docs.restricted_to(id),
        ));
        let mut changes: Vec<ChangeHash> = docs
            .changes_since(id, &[])
            .iter()
            .map(|c| c.hash())
            .collect();
        changes.sort();
        out.push_str(&format!("{changes:?}\n"));
        match doc.kind() {
            DocKind::Contacts => out.push_str(&format!("{:?}\n", docs.get::<Contact>(id))),
            DocKind::Advisory => out.push_str(&format!("{:?}\n", docs.get::<Advisory>(id))),
            DocKind::Tools => out.push_str(&format!("{:?}\n", docs.get::<ToolRegistry>(id))),
        }
    }
    out.push_str(&format!("{:?}\n", docs.statuses()));
    out
}

fn check_final(replica: &Replica, h: &History) -> Result<(), TestCaseError> {
    let docs = &replica.docs;
    for (doc, hash) in &h.never {
        prop_assert_ne!(
            docs.status(doc, hash),
            Some(ChangeStatus::Applied),
            "{} in {}",
            hash,
            doc
        );
    }
    prop_assert!(!snapshot(docs).contains("HACKED"));
    let a1: Advisory = docs
        .get(&advisory_doc(1, A1))
        .expect("readable")
        .expect("published");
    prop_assert_eq!(a1.tlp, Tlp::Green);
    prop_assert_eq!(
        a1.title.as_str(),
        "Exploitation of a VPN appliance, second wave"
    );
    prop_assert_eq!(a1.body.as_str(), "Patch now, then hunt.");
    // Team 4's edits count once it is admitted, even though it was dropped
    // as a co-author later.
    prop_assert_eq!(a1.summary.as_str(), "Seen at several operators.");
    prop_assert_eq!(
        docs.get::<Contact>(&contacts_of(4)),
        Ok(Some(contact("CERT-D")))
    );
    prop_assert_eq!(docs.get::<Contact>(&contacts_of(9)), Ok(None));
    prop_assert_eq!(docs.get::<Contact>(&contacts_of(3)), Ok(None));
    let tools3: ToolRegistry = docs
        .get(&DocRef::tools(key(3).id()).id())
        .expect("readable")
        .expect("kept part");
    prop_assert_eq!(
        tools3.tools.keys().cloned().collect::<Vec<_>>(),
        vec!["one".to_owned(), "two".to_owned()]
    );
    let a2: Advisory = docs
        .get(&advisory_doc(1, A2))
        .expect("readable")
        .expect("published");
    prop_assert_eq!(a2.severity, crate::Severity::Critical);
    prop_assert!(!docs.may_receive(&advisory_doc(1, A2), &key(4).id(), &replica.membership));
    Ok(())
}

/// How one replica receives the history: a sort key per delivery (a
/// permutation), extra deliveries of some events, where batches end, and
/// how many documents it holds materialized (evicting the others), and
/// whether the evicted ones leave their changes in a store.
type Plan = (Vec<u32>, Vec<usize>, Vec<bool>, usize, bool);

fn plan(n: usize) -> impl Strategy<Value = Plan> {
    (
        prop::collection::vec(any::<u32>(), n + 4),
        prop::collection::vec(0..n, 0..4),
        prop::collection::vec(prop::bool::weighted(0.3), n + 4),
        prop_oneof![Just(usize::MAX), 1usize..4],
        any::<bool>(),
    )
}

#[test]
fn replicas_converge_whatever_the_delivery() {
    let h = history();
    let n = h.events.len();
    let config = ProptestConfig {
        cases: 24,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(plans in prop::collection::vec(plan(n), 2..=5))| {
        let mut snapshots = vec![];
        for (keys, dups, flushes, cached, cold) in &plans {
            let mut order: Vec<usize> = (0..n).chain(dups.iter().copied()).collect();
            let mut keyed: Vec<(u32, usize, usize)> =
                order.drain(..).enumerate().map(|(i, e)| (keys[i], i, e)).collect();
            keyed.sort();
            let mut replica = if *cold {
                Replica::cold(&h.genesis)
            } else {
                Replica::new(&h.genesis)
            };
            replica.docs.set_cache_capacity(*cached);
            for (i, (_, _, e)) in keyed.iter().enumerate() {
                replica.deliver(&h.events[*e])?;
                prop_assert!(replica.docs.cached_documents() <= *cached);
                if flushes[i] {
                    replica.flush();
                }
            }
            replica.flush();
            if *cold && *cached < 4 {
                prop_assert!(replica.docs.cold_documents() > 0, "documents went cold");
            }
            prop_assert_eq!(replica.docs.store_read_failures(), 0);
            check_final(&replica, h)?;
            let rebuilt = replica.docs.rebuilt();
            prop_assert_eq!(snapshot(&replica.docs), snapshot(&rebuilt));
            snapshots.push(snapshot(&replica.docs));
        }
        for s in &snapshots[1..] {
            prop_assert_eq!(s, &snapshots[0]);
        }
    });
}
