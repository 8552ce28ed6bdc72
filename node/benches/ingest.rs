//! Ingest throughput: signed changes received from a peer, verified,
//! applied and persisted (RocksDB, synced WAL per message), beside the same
//! work without persistence (memory store) so the cost of durability shows.
//!
//! Also cold start: opening a node whose store holds 100 advisories with
//! 20 revisions each, restored from snapshots, beside replaying every
//! change (the same store without snapshots).
//!
//! Run: `cargo bench -p trustmesh-node --bench ingest`.

#[path = "../../protocol/benches/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use common::{advisory, charter, key, node};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use trustmesh_node::RocksStore;
use trustmesh_protocol::{
    ActorSuffix, AdvisoryStatus, Config, MemStore, Message, Node, SignedChange, Store,
};

/// Changes per received message, as a peer's push batch or sync reply.
const BATCH: usize = 64;
/// Changes per measured iteration.
const CHANGES: usize = 1024;

/// Half new advisories, half revisions of them: both new documents and
/// changes that extend existing ones.
fn changes() -> Vec<SignedChange> {
    let mut author = node(1, MemStore::new());
    let owner = author.team();
    let mut out = Vec::with_capacity(CHANGES);
    for i in 0..CHANGES / 2 {
        let mut adv = advisory(i);
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
        b.iter_batched_ref(
            || {
                let dir = tempfile::tempdir().expect("tempdir");
                let store = RocksStore::open(&dir.path().join("db")).expect("opens");
                (dir, node(2, store))
            },
            |(_dir, node)| {
                let applied = ingest(node, &changes);
                assert_eq!(applied, changes.len());
                black_box(applied)
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("verify_apply_memory_baseline", |b| {
        b.iter_batched_ref(
            || node(2, MemStore::new()),
            |node| black_box(ingest(node, &changes)),
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

/// A store holding `docs` advisories with `revisions` revisions each,
/// written by a node that snapshots every `snapshot_every` changes.
fn history(path: &std::path::Path, docs: usize, revisions: usize, snapshot_every: usize) {
    let store = RocksStore::open(path).expect("opens");
    let (mut author, _) = Node::open(
        Config::default()
            .with_snapshot_every(snapshot_every)
            .with_snapshot_batch(usize::MAX),
        key(1),
        ActorSuffix::from_bytes([1; 16]),
        charter(),
        store,
        0,
    )
    .expect("opens");
    let owner = author.team();
    for i in 0..docs {
        let mut adv = advisory(i);
        author.publish_advisory(1_000, &adv).expect("valid");
        for r in 0..revisions {
            adv.summary = format!("Revision {r}: more is known.");
            author
                .update_advisory(2_000 + r as u64, owner, &adv)
                .expect("valid");
        }
    }
}

fn cold_start(c: &mut Criterion) {
    let (docs, revisions) = (100, 20);
    let snapshotted = tempfile::tempdir().expect("tempdir");
    let replayed = tempfile::tempdir().expect("tempdir");
    history(snapshotted.path(), docs, revisions, 8);
    history(replayed.path(), docs, revisions, usize::MAX);
    let open = |path: &std::path::Path| {
        // Read-only: opening must not write snapshots, so both stores stay
        // as built.
        let store = RocksStore::open_read_only(path).expect("opens");
        let (node, report) = Node::open(
            Config::default(),
            key(1),
            ActorSuffix::from_bytes([2; 16]),
            charter(),
            store,
            0,
        )
        .expect("opens");
        assert_eq!(report.changes, docs * (revisions + 1));
        black_box(node)
    };
    let mut g = c.benchmark_group("cold_start_2100_changes");
    g.sample_size(10);
    // Only opening is timed: each node must be dropped (closing RocksDB)
    // before the next can open the same store.
    let timed = |path: &std::path::Path, iters: u64| {
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            let start = Instant::now();
            let node = open(path);
            total += start.elapsed();
            drop(node);
        }
        total
    };
    g.bench_function("from_snapshots", |b| {
        b.iter_custom(|iters| timed(snapshotted.path(), iters))
    });
    g.bench_function("replaying_every_change_baseline", |b| {
        b.iter_custom(|iters| timed(replayed.path(), iters))
    });
    g.finish();
}

criterion_group!(benches, bench, cold_start);
criterion_main!(benches);
