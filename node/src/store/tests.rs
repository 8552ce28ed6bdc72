use std::collections::BTreeMap;

use trustmesh_protocol::{
    Application, CharterBody, Founder, Policy, Profile, Statement, Store, TeamKey, TeamKind,
};

use super::*;

fn key(n: u8) -> TeamKey {
    TeamKey::from_secret_bytes([n; 32])
}

fn profile() -> Profile {
    Profile {
        name: "Test CSIRT".into(),
        short_name: "TEST".into(),
        country: "PT".into(),
        kind: TeamKind::National,
        constituency: String::new(),
        email: String::new(),
        website: String::new(),
    }
}

fn charter(name: &str) -> Charter {
    let body = CharterBody::new(
        name,
        0,
        vec![Founder {
            id: key(1).id(),
            profile: profile(),
        }],
        Policy {
            sponsors_required: 1,
            revocation_quorum: 1,
        },
    )
    .expect("valid body");
    let sigs = BTreeMap::from([(key(1).id(), body.sign(&key(1)).expect("founder"))]);
    Charter::seal(body, &sigs).expect("sealed")
}

fn tool(version: &str) -> trustmesh_protocol::Tool {
    trustmesh_protocol::Tool {
        name: "collector".into(),
        version: version.into(),
        description: "Collects triage data.".into(),
        homepage: String::new(),
        download_url: String::new(),
        sha256: String::new(),
        license: "MIT".into(),
        tags: vec![],
        maintainer: "TEST".into(),
    }
}

fn contact() -> trustmesh_protocol::Contact {
    trustmesh_protocol::Contact {
        name: "Test CSIRT".into(),
        short_name: "TEST".into(),
        country: "PT".into(),
        kind: TeamKind::National,
        constituency: "the government".into(),
        postal_address: String::new(),
        time_zone: "Europe/Lisbon".into(),
        business_hours: "Mon-Fri 09:00-17:00".into(),
        email: "cert@example.org".into(),
        phone: String::new(),
        emergency_phone: String::new(),
        website: String::new(),
        pgp_keys: vec![],
        representatives: vec![],
    }
}

#[test]
fn statements_survive_a_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let c = charter("n");
    let app = SignedStatement::sign(
        Statement::Application(Application {
            network: c.network_id(),
            applicant: key(2).id(),
            created_at: 1,
            profile: profile(),
        }),
        &key(2),
    )
    .expect("valid");
    {
        let store = RocksStore::open(dir.path()).expect("opens");
        assert!(store.adopt_charter(&c).expect("adopts"));
        assert!(store.put_statement(&app).expect("writes"));
        assert!(!store.put_statement(&app).expect("writes"));
    }
    let store = RocksStore::open(dir.path()).expect("reopens");
    let loaded = store.charter().expect("reads").expect("present");
    assert_eq!(loaded.network_id(), c.network_id());
    let set = store.statement_set(loaded).expect("loads");
    assert!(set.contains(&app.id()));
}

#[test]
fn a_store_belongs_to_one_network() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = RocksStore::open(dir.path()).expect("opens");
    store.adopt_charter(&charter("a")).expect("adopts");
    assert!(!store.adopt_charter(&charter("a")).expect("same network"));
    assert!(matches!(
        store.adopt_charter(&charter("b")),
        Err(StoreError::OtherNetwork { .. })
    ));
}

#[test]
fn an_unreadable_record_is_skipped_and_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = RocksStore::open(dir.path()).expect("opens");
    store
        .put(CF_STATEMENTS, b"junk", b"not a statement")
        .expect("writes");
    let set = store.statement_set(charter("n")).expect("loads");
    assert!(set.is_empty());
    assert!(store.get(CF_STATEMENTS, b"junk").expect("reads").is_some());
}

#[test]
fn a_second_process_cannot_open_the_same_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let _first = RocksStore::open(dir.path()).expect("opens");
    assert!(matches!(
        RocksStore::open(dir.path()),
        Err(StoreError::Db(_))
    ));
}

/// The core's store interface: what goes in comes back after a reopen,
/// repeated puts are harmless, and junk is skipped but kept.
#[test]
fn the_core_reloads_changes_statements_and_snapshots() {
    use trustmesh_protocol::{ActorSuffix, Config, Node, Store as _};
    let dir = tempfile::tempdir().expect("tempdir");
    let c = charter("n");
    let digest = {
        let store = RocksStore::open(dir.path()).expect("opens");
        store.adopt_charter(&c).expect("adopts");
        let (mut node, _) = Node::open(
            Config::default(),
            key(1),
            ActorSuffix::from_bytes([1; 16]),
            c.clone(),
            store,
            0,
        )
        .expect("opens");
        let change = node
            .upsert_tool(1_000, &tool("1.0"))
            .expect("valid")
            .expect("new");
        node.edit_contact(2_000, &contact()).expect("valid");
        // Storing again is idempotent.
        let mut store = RocksStore::open(tempfile::tempdir().expect("tmp").path()).expect("opens");
        store
            .put_changes(&[change.clone(), change])
            .expect("writes");
        assert_eq!(store.load().expect("loads").changes.len(), 1);
        node.digest()
    };
    let mut store = RocksStore::open(dir.path()).expect("reopens");
    store
        .put(CF_CHANGES, b"junk", b"not a change")
        .expect("writes");
    store
        .put_snapshot(&trustmesh_protocol::DocId::from_bytes([7; 32]), b"snap")
        .expect("writes");
    let loaded = store.load().expect("loads");
    assert_eq!(loaded.changes.len(), 2);
    assert_eq!(loaded.snapshots.len(), 1);
    let (node, report) = Node::open(
        Config::default(),
        key(1),
        ActorSuffix::from_bytes([2; 16]),
        c,
        store,
        0,
    )
    .expect("opens");
    assert_eq!(node.digest(), digest);
    assert_eq!(report.changes, 2);
    assert!(
        node.store()
            .get(CF_CHANGES, b"junk")
            .expect("reads")
            .is_some()
    );
}

#[test]
fn snapshots_are_written_in_one_batch_and_can_be_dropped() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut store = RocksStore::open(dir.path()).expect("opens");
    let docs: Vec<(trustmesh_protocol::DocId, Vec<u8>)> = (0..3u8)
        .map(|i| (trustmesh_protocol::DocId::from_bytes([i; 32]), vec![i; 4]))
        .collect();
    store.put_snapshots(&docs).expect("writes");
    // A later batch replaces one document's snapshot.
    store
        .put_snapshots(&[(docs[1].0, b"newer".to_vec())])
        .expect("writes");
    let loaded = store.load().expect("loads");
    assert_eq!(loaded.snapshots.len(), 3);
    assert_eq!(loaded.snapshots[&docs[0].0], vec![0; 4]);
    assert_eq!(loaded.snapshots[&docs[1].0], b"newer".to_vec());
    assert_eq!(store.drop_snapshots().expect("drops"), 3);
    drop(store);
    let store = RocksStore::open(dir.path()).expect("reopens");
    assert!(store.load().expect("loads").snapshots.is_empty());
}

/// With a small cache, documents out of it leave their changes in RocksDB:
/// reads and writes read them back, and a start with snapshots reads none.
#[test]
fn documents_out_of_the_cache_live_in_the_store() {
    use trustmesh_protocol::{ActorSuffix, Config, Node, Store as _, ToolRegistry};
    let dir = tempfile::tempdir().expect("tempdir");
    let c = charter("n");
    let open = |suffix: u8| {
        let store = RocksStore::open(dir.path()).expect("opens");
        store.adopt_charter(&c).expect("adopts");
        Node::open(
            Config::default().with_cached_documents(1),
            key(1),
            ActorSuffix::from_bytes([suffix; 16]),
            c.clone(),
            store,
            0,
        )
        .expect("opens")
    };
    let tools = trustmesh_protocol::DocRef::tools(key(1).id()).id();
    let digest = {
        let (mut node, _) = open(1);
        node.upsert_tool(1_000, &tool("1.0")).expect("valid");
        node.upsert_tool(1_500, &tool("1.1")).expect("valid");
        node.edit_contact(2_000, &contact()).expect("valid");
        let docs = node.documents();
        assert_eq!((docs.cached_documents(), docs.cold_documents()), (1, 1));
        let registry: ToolRegistry = docs.get(&tools).expect("reads").expect("held");
        assert_eq!(registry.tools["collector"].version, "1.1");
        assert_eq!(docs.changes_since(&tools, &[]).len(), 2);
        // What the start reads: the keys, and one document's changes.
        let index = node.store().load_index().expect("reads");
        assert_eq!(index.changes.len(), 2);
        assert_eq!(index.changes[&tools].len(), 2);
        assert_eq!(node.store().changes_of(&tools).expect("reads").len(), 2);
        node.digest()
    };
    // A junk key is skipped by every read, and kept.
    RocksStore::open(dir.path())
        .expect("opens")
        .put(CF_CHANGES, b"junk", b"not a change")
        .expect("writes");
    {
        // The first start replays what had no snapshot yet, and writes them.
        let (node, report) = open(2);
        assert_eq!(node.digest(), digest);
        assert_eq!(report.documents, 2);
    }
    let (mut node, report) = open(3);
    assert_eq!((report.cold, report.replayed), (2, 0), "{report:?}");
    assert_eq!(node.digest(), digest);
    assert_eq!(node.documents().cached_documents(), 0);
    // A write to a cold document reads it back and applies on top.
    node.upsert_tool(3_000, &tool("2.0")).expect("valid");
    let registry: ToolRegistry = node.documents().get(&tools).expect("reads").expect("held");
    assert_eq!(registry.tools["collector"].version, "2.0");
    assert_eq!(node.documents().counts(&tools), (3, 3));
    assert_eq!(node.documents().store_read_failures(), 0);
}
