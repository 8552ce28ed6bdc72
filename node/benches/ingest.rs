//! Ingest throughput: signed changes received from a peer, verified,
//! applied and persisted (RocksDB, synced WAL per message), beside the same
//! work without persistence (memory store) so the cost of durability shows.
//!
//! Run: `cargo bench -p trustmesh-node --bench ingest`.

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use trustmesh_node::RocksStore;
use trustmesh_protocol::{
    ActorSuffix, Advisory, AdvisoryCategory, AdvisoryStatus, Charter, CharterBody, Config, Founder,
    MemStore, Message, Node, Policy, Profile, Severity, SignedChange, Store, TeamKey, TeamKind,
    Tlp,
};

/// Changes per received message, as a peer's push batch or sync reply.
const BATCH: usize = 64;
/// Changes per measured iteration.
const CHANGES: usize = 1024;

fn key(n: u8) -> TeamKey {
    TeamKey::from_secret_bytes([n; 32])
}

fn charter() -> Charter {
    let founders = [key(1), key(2)];
    let body = CharterBody::new(
        "bench",
        0,
        founders
            .iter()
            .map(|k| Founder {
                id: k.id(),
                profile: Profile {
                    name: format!("Team {}", k.id().short()),
                    short_name: k.id().short(),
                    country: "EE".into(),
                    kind: TeamKind::National,
                    constituency: String::new(),
                    email: String::new(),
                    website: String::new(),
                },
            })
            .collect(),
        Policy {
            sponsors_required: 1,
            revocation_quorum: 1,
        },
    )
    .expect("valid charter");
    let sigs: BTreeMap<_, _> = founders
        .iter()
        .map(|k| (k.id(), body.sign(k).expect("founder")))
        .collect();
    Charter::seal(body, &sigs).expect("sealed")
}

fn node<S: Store>(n: u8, store: S) -> Node<S> {
    Node::open(
        Config::default(),
        key(n),
        ActorSuffix::from_bytes([n; 16]),
        charter(),
        store,
        0,
    )
    .expect("store opens")
    .0
}

/// Half new advisories, half revisions of them: both new documents and
/// changes that extend existing ones.
fn changes() -> Vec<SignedChange> {
    let mut author = node(1, MemStore::new());
    let owner = author.team();
    let mut out = Vec::with_capacity(CHANGES);
    for i in 0..CHANGES / 2 {
        let mut adv = Advisory {
            id: format!("INGEST-{i:05}"),
            title: format!("Exploitation of appliance model {i}"),
            category: AdvisoryCategory::Alert,
            tlp: Tlp::Green,
            audience: vec![],
            co_authors: vec![],
            severity: Severity::Critical,
            status: AdvisoryStatus::Final,
            revisions: vec![],
            cves: vec![format!("CVE-2026-{:04}", 1000 + i)],
            products: vec![],
            indicators: vec![],
            summary: "Patch now; exploitation is ongoing.".into(),
            body: "Apply the vendor update and review logs for the indicators.".into(),
            references: vec![],
            acknowledgements: vec![],
        };
        out.push(author.publish_advisory(1_000, &adv).expect("valid"));
        adv.status = AdvisoryStatus::Updated;
        adv.summary = "Revised: a second exploitation path is known.".into();
        out.extend(author.update_advisory(2_000, owner, &adv).expect("valid"));
    }
    out
}

fn ingest<S: Store>(node: &mut Node<S>, changes: &[SignedChange]) -> usize {
    let from = key(1).id();
    for batch in changes.chunks(BATCH) {
        let _ = node.handle_message(0, from, Message::Changes(batch.to_vec()));
    }
    node.stats().changes_new as usize
}

fn bench(c: &mut Criterion) {
    let changes = changes();
    let mut g = c.benchmark_group("ingest");
    g.sample_size(10);
    g.throughput(Throughput::Elements(changes.len() as u64));
    g.bench_function("verify_apply_persist_rocksdb", |b| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().expect("tempdir");
                let store = RocksStore::open(&dir.path().join("db")).expect("opens");
                (dir, node(2, store))
            },
            |(_dir, mut node)| {
                let applied = ingest(&mut node, &changes);
                assert_eq!(applied, changes.len());
                black_box(applied)
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("verify_apply_memory_baseline", |b| {
        b.iter_batched(
            || node(2, MemStore::new()),
            |mut node| black_box(ingest(&mut node, &changes)),
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
