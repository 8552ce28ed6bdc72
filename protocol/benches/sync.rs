//! Anti-entropy cost for 10,000 documents: two peers in agreement, and
//! after 1% of the documents changed on one side, each beside a full-state
//! transfer measured in the same run.
//!
//! Besides criterion's timings, the bench prints a table of bytes and
//! message flights (one flight = every message in transit at once; a round
//! trip is two). Run: `cargo bench -p trustmesh-protocol --bench sync`.
//! `TRUSTMESH_BENCH_DOCS` changes the document count;
//! `TRUSTMESH_BENCH_TABLE_ONLY=1` prints the table (with one timed round of
//! each kind) and skips criterion's samples, for large counts. Under
//! `cargo test` (criterion's test mode, without `--bench`) it runs once as a
//! smoke test over 400 documents.
//!
//! Baseline (issue 14, range splitting at the document level, release
//! build on the same 2-core machine): at 50,000 documents a round in
//! agreement sent 70 bytes in 2 flights for 28.6 ms of CPU; after 1% of the
//! documents changed, 817 kB for 277 kB of missing changes (2.95x) in 7
//! flights; 2.3x at 10,000.

mod common;

use std::hint::black_box;
use std::time::Instant;

use common::{advisory, key, node};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use trustmesh_protocol::{AdvisoryStatus, Destination, MemStore, Message, Node};

type N = Node<MemStore>;

/// Delivers messages between two nodes until both are quiet; returns the
/// bytes sent and the number of flights.
fn pump(a: &mut N, b: &mut N) -> (usize, usize) {
    let (ta, tb) = (a.team(), b.team());
    let mut bytes = 0;
    let mut flights = 0;
    loop {
        let mut to_b = vec![];
        let mut to_a = vec![];
        while let Some(t) = a.poll_transmit() {
            if matches!(t.to, Destination::Gossip) || t.to == Destination::Peer(tb) {
                to_b.push(t.message.encode());
            }
        }
        while let Some(t) = b.poll_transmit() {
            if matches!(t.to, Destination::Gossip) || t.to == Destination::Peer(ta) {
                to_a.push(t.message.encode());
            }
        }
        while a.poll_event().is_some() {}
        while b.poll_event().is_some() {}
        if to_a.is_empty() && to_b.is_empty() {
            return (bytes, flights);
        }
        flights += 1;
        for m in to_b {
            bytes += m.len();
            let msg = Message::decode(&m).expect("decodes");
            let _ = b.handle_message(0, ta, msg);
        }
        for m in to_a {
            bytes += m.len();
            let msg = Message::decode(&m).expect("decodes");
            let _ = a.handle_message(0, tb, msg);
        }
    }
}

fn open(n: u8) -> N {
    node(n, MemStore::new())
}

/// Two converged nodes holding `docs` advisories by node A.
fn converged(docs: usize) -> (N, N) {
    let mut a = open(1);
    let mut b = open(2);
    let mut changes = Vec::with_capacity(docs);
    for i in 0..docs {
        changes.push(a.publish_advisory(1_000, &advisory(i)).expect("valid"));
    }
    while a.poll_transmit().is_some() {}
    for chunk in changes.chunks(512) {
        let _ = b.handle_message(0, a.team(), Message::Changes(chunk.to_vec()));
    }
    a.peer_connected(0, b.team());
    b.peer_connected(0, a.team());
    pump(&mut a, &mut b);
    assert_eq!(a.digest(), b.digest());
    (a, b)
}

/// Node A revises `n` advisories while its pushes are lost.
fn diverge(a: &mut N, n: usize, step: usize) {
    let owner = a.team();
    for i in (0..n).map(|i| i * step) {
        let mut adv = advisory(i);
        adv.status = AdvisoryStatus::Updated;
        adv.summary = "Revised: a second exploitation path is known.".into();
        a.update_advisory(2_000, owner, &adv)
            .expect("valid")
            .expect("changed");
    }
    while a.poll_transmit().is_some() {}
}

/// What a full-state transfer sends: every stored change and statement.
fn full_state(node: &N) -> Vec<Vec<u8>> {
    let loaded = trustmesh_protocol::Store::load(node.store()).expect("memory");
    let mut msgs: Vec<Vec<u8>> = loaded
        .changes
        .chunks(512)
        .map(|c| Message::Changes(c.to_vec()).encode())
        .collect();
    msgs.push(Message::Statements(loaded.statements).encode());
    msgs
}

fn round(a: &mut N, b: &mut N) -> (usize, usize) {
    a.handle_timeout(a.poll_timeout().expect("a tick is always scheduled"));
    pump(a, b)
}

fn bench(c: &mut Criterion) {
    let docs: usize = std::env::var("TRUSTMESH_BENCH_DOCS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if std::env::args().any(|a| a == "--bench") {
            10_000
        } else {
            400
        });
    let changed = (docs / 100).max(1);
    #[allow(clippy::disallowed_methods)] // a bench reports wall time
    let t = Instant::now();
    let (a, b) = converged(docs);
    eprintln!("setup: {docs} documents in {:.1?}", t.elapsed());

    // Table only (large counts): no copies of the two nodes, whose memory
    // grows with the documents; the divergence is made on the originals.
    let table_only = std::env::var_os("TRUSTMESH_BENCH_TABLE_ONLY").is_some();
    let originals = (!table_only).then(|| (a.clone(), b.clone()));
    let (mut a2, mut b2) = (a, b);
    let full: usize = full_state(&a2).iter().map(Vec::len).sum();
    // Rounds in agreement change nothing; the fastest of five is the
    // round's cost without the preemptions of a busy machine.
    let mut agree = (0, 0);
    let mut agree_time = std::time::Duration::MAX;
    for _ in 0..5 {
        #[allow(clippy::disallowed_methods)]
        let t = Instant::now();
        agree = round(&mut a2, &mut b2);
        agree_time = agree_time.min(t.elapsed());
    }
    let old: std::collections::BTreeSet<_> = trustmesh_protocol::Store::load(a2.store())
        .expect("memory")
        .changes
        .iter()
        .map(|c| c.hash())
        .collect();
    diverge(&mut a2, changed, docs / changed);
    let missing: usize = trustmesh_protocol::Store::load(a2.store())
        .expect("memory")
        .changes
        .iter()
        .filter(|c| !old.contains(&c.hash()))
        .map(|c| c.encode().len())
        .sum();
    #[allow(clippy::disallowed_methods)]
    let t = Instant::now();
    let repair = round(&mut a2, &mut b2);
    let repair_time = t.elapsed();
    assert_eq!(a2.digest(), b2.digest(), "one round repairs the divergence");
    let full_after: usize = full_state(&a2).iter().map(Vec::len).sum();

    println!();
    println!(
        "| {docs} documents | anti-entropy bytes | x missing | flights | one round, both sides (wall; fastest of 5 in agreement) | full-state bytes |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    println!(
        "| in agreement | {} | | {} | {:.2?} | {full} |",
        agree.0, agree.1, agree_time
    );
    println!(
        "| {changed} documents changed ({missing} bytes of changes) | {} | {:.2}x | {} | {:.2?} | {full_after} |",
        repair.0,
        repair.0 as f64 / missing as f64,
        repair.1,
        repair_time
    );
    println!(
        "| baseline at 50,000 (issue 14) | 70 / 817 kB | 2.95x | 2 / 7 | 28.6 ms in agreement | |"
    );
    println!("| goal (issue 14) | < 1 KiB / | <= 1.3x | 2 / <= 6 | < 5 ms in agreement | |");
    println!();
    let Some((a, b)) = originals else {
        return;
    };

    let mut g = c.benchmark_group(format!("sync_{docs}_docs"));
    g.sample_size(10);
    g.bench_function("round_in_agreement", |bch| {
        bch.iter_batched_ref(
            || (a.clone(), b.clone()),
            |(a, b)| black_box(round(a, b)),
            BatchSize::LargeInput,
        )
    });
    g.bench_function("round_after_1pct_divergence", |bch| {
        bch.iter_batched_ref(
            || {
                let (mut a, b) = (a.clone(), b.clone());
                diverge(&mut a, changed, docs / changed);
                (a, b)
            },
            |(a, b)| black_box(round(a, b)),
            BatchSize::LargeInput,
        )
    });
    // The baseline: instead of reconciling, A sends its whole state and B
    // keeps what is new (here, the 1% of revised documents).
    let state = full_state(&a2);
    g.bench_function("full_state_transfer_after_1pct_divergence", |bch| {
        bch.iter_batched_ref(
            || b.clone(),
            |b| {
                for m in &state {
                    let msg = Message::decode(m).expect("decodes");
                    let _ = b.handle_message(0, key(1).id(), msg);
                }
                black_box(b.digest())
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
