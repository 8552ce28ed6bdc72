//! Years of a network's data on a modest machine (issue 14): ingest of
//! received changes into RocksDB, cold start and resident memory, at
//! 10,000 and 100,000 documents, each figure printed beside its baseline.
//!
//! The documents: one in 100 is a CSAF document of the shared corpus
//! (`../shared/corpus/csaf`, cycled, each copy under its own tracking id;
//! from 4 kB to 705 kB), the others small advisories written in trustmesh
//! with one revision each (two signed changes), as the issue measured.
//!
//! - ingest: the changes arrive from a peer in messages as the outbox
//!   splits them (at most 1,024 changes or 8 MiB), are verified, stored
//!   (one synced write per message) and applied; the stale snapshots are
//!   written as the core decides, and the last ones before the clock
//!   stops. Beside it: the same with signatures checked on one thread
//!   (`ingest_threads = 1`), and the 3,700 changes/s.
//! - cold start and memory: a child process opens the store (read-only,
//!   so nothing it does is written) and reports the time to open and its
//!   resident memory after opening (VmRSS) and at its peak (VmHWM). The
//!   baseline is the same store without snapshots (what every start
//!   replayed before, when advisories with few revisions were never
//!   snapshotted), and the 10.6 s and 818 MiB for 20,000
//!   advisories.
//!
//! Run: `cargo bench -p trustmesh-node --bench store`. The sizes come
//! from `TRUSTMESH_BENCH_DOCS` (default `10000,100000`; 1,000 when
//! `cargo test` runs it once). Criterion times
//! ingest and cold start at the first size; the table covers every size
//! (`TRUSTMESH_BENCH_TABLE_ONLY=1`: the table alone).

#[path = "../../protocol/benches/common/mod.rs"]
#[allow(dead_code)] // the builders this bench does not use
mod common;

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{advisory, charter, key};
use criterion::{BatchSize, Criterion, Throughput};
use trustmesh_node::RocksStore;
use trustmesh_protocol::{
    ActorSuffix, AdvisoryStatus, Config, CsafImport, Documents, Message, Node, SignedChange,
    StatementSet, Tlp,
};

/// The figures, measured before this work on the same machine.
const BASELINE_INGEST_PER_S: f64 = 3_700.0;
const BASELINE_COLD_START_S: f64 = 10.6;
const BASELINE_RSS_MIB: f64 = 818.0;
const BASELINE_DOCS: usize = 20_000;

/// Measured on this machine before documents out of the cache left their
/// changes in the store (every change held in memory): documents, cold
/// start (s), resident after open (MiB), and with 256 cached (MiB).
const BEFORE_STORE_LAYOUT: [(usize, f64, f64, f64); 2] = [
    (10_000, 2.57, 307.0, 237.0),
    (100_000, 31.6, 2_594.0, 2_568.0),
];

/// A small `cached_documents`, beside the default: memory bounded by it.
const SMALL_CACHE: usize = 256;

/// The child process mode: open the store at this path and report.
const CHILD_ENV: &str = "TRUSTMESH_BENCH_OPEN";
/// The child's `Config::cached_documents` (absent: the default).
const CACHED_ENV: &str = "TRUSTMESH_BENCH_CACHED";

/// Wire limits a sync reply or push respects (see `wire`).
const MAX_ITEMS: usize = 1024;
const MAX_BYTES: usize = 8 << 20;

fn corpus() -> Vec<Vec<u8>> {
    let dir = std::env::var_os("TRUSTMESH_CSAF_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/csaf")
        });
    let mut files = Vec::new();
    for version in ["2.0", "2.1"] {
        let Ok(entries) = std::fs::read_dir(dir.join(version)) else {
            continue;
        };
        for e in entries.flatten() {
            if e.path().extension().is_some_and(|x| x == "json") {
                files.push(e.path());
            }
        }
    }
    files.sort();
    assert!(
        !files.is_empty(),
        "the CSAF corpus is not at {} (set TRUSTMESH_CSAF_CORPUS)",
        dir.display()
    );
    files
        .iter()
        .map(|p| std::fs::read(p).expect("a readable corpus file"))
        .collect()
}

/// `json` with its tracking id made unique by `n`, so every copy is its
/// own advisory.
fn renamed(json: &[u8], n: usize) -> Vec<u8> {
    let mut v: serde_json::Value = serde_json::from_slice(json).expect("corpus JSON");
    let id = v["document"]["tracking"]["id"]
        .as_str()
        .expect("a tracking id")
        .to_owned();
    v["document"]["tracking"]["id"] = serde_json::Value::String(format!("{id}-copy{n}"));
    serde_json::to_vec(&v).expect("serializes")
}

/// Every signed change of `docs` documents by team 1, dependencies first.
fn dataset(docs: usize) -> Vec<SignedChange> {
    let corpus = corpus();
    let set = StatementSet::new(charter());
    let m = set.membership();
    let author = key(1);
    let owner = author.id();
    let suffix = ActorSuffix::from_bytes([1; 16]);
    let mut out = Vec::with_capacity(docs * 2);
    let mut copies = 0;
    for i in 0..docs {
        // A fresh replica per document keeps generation linear.
        let mut w = Documents::new(set.network_id(), &m);
        if i % 100 == 0 {
            let json = renamed(&corpus[copies % corpus.len()], copies);
            copies += 1;
            // A document without a TLP label is shared as CLEAR, as an
            // operator importing it would choose.
            let import = CsafImport::new(&json, [7; 16]);
            let imported = match w.import_csaf(&author, suffix, 1_000, &import) {
                Ok(i) => i,
                Err(_) => w
                    .import_csaf(
                        &author,
                        suffix,
                        1_000,
                        &CsafImport {
                            tlp: Some(Tlp::Clear),
                            ..import
                        },
                    )
                    .expect("a corpus document imports"),
            };
            out.extend(imported.changes);
        } else {
            let mut adv = advisory(i);
            adv.id = format!("BENCH-{i:06}");
            out.push(
                w.publish_advisory(&author, suffix, 1_000, &adv)
                    .expect("valid"),
            );
            adv.status = AdvisoryStatus::Updated;
            adv.summary = "Revised: a second exploitation path is known.".into();
            out.extend(
                w.update_advisory(&author, suffix, 2_000, owner, &adv)
                    .expect("valid"),
            );
        }
    }
    out
}

/// The changes in messages as the outbox splits them.
fn messages(changes: &[SignedChange]) -> Vec<Vec<SignedChange>> {
    let mut out = vec![];
    let mut cur: Vec<SignedChange> = vec![];
    let mut bytes = 0;
    for c in changes {
        let n = c.encoded_len();
        if !cur.is_empty() && (cur.len() == MAX_ITEMS || bytes + n > MAX_BYTES - 4096) {
            out.push(std::mem::take(&mut cur));
            bytes = 0;
        }
        bytes += n;
        cur.push(c.clone());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn receiver(path: &Path, threads: usize) -> Node<RocksStore> {
    let store = RocksStore::open(path).expect("opens");
    Node::open(
        Config::default().with_ingest_threads(threads),
        key(2),
        ActorSuffix::from_bytes([2; 16]),
        charter(),
        store,
        0,
    )
    .expect("opens")
    .0
}

/// Ingests every message into `node`; returns the time it took, the
/// stale snapshots' last write included.
fn ingest(node: &mut Node<RocksStore>, msgs: &[Vec<SignedChange>]) -> Duration {
    let from = key(1).id();
    let start = Instant::now();
    for m in msgs {
        let _ = node.handle_message(0, from, Message::Changes(m.clone()));
        while node.poll_transmit().is_some() {}
        while node.poll_event().is_some() {}
    }
    node.flush_snapshots();
    let took = start.elapsed();
    assert_eq!(node.stats().store_failures, 0);
    took
}

/// What the child process reports.
#[derive(Debug)]
struct Opened {
    secs: f64,
    rss_mib: f64,
    hwm_mib: f64,
    from_snapshot: usize,
    replayed: usize,
    documents: usize,
    cold: usize,
}

fn status_kib(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0)
}

/// The child: opens the store read-only and prints what it measured.
fn child(path: &str) {
    let start = Instant::now();
    let store = RocksStore::open_read_only(Path::new(path)).expect("opens");
    let mut config = Config::default().with_ingest_threads(2);
    if let Some(n) = std::env::var(CACHED_ENV).ok().and_then(|v| v.parse().ok()) {
        config = config.with_cached_documents(n);
    }
    let (node, report) = Node::open(
        config,
        key(2),
        ActorSuffix::from_bytes([3; 16]),
        charter(),
        store,
        0,
    )
    .expect("opens");
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{secs} {} {} {} {} {} {}",
        status_kib("VmRSS:") / 1024.0,
        status_kib("VmHWM:") / 1024.0,
        report.from_snapshot,
        report.replayed,
        report.documents,
        report.cold
    );
    black_box(node);
}

fn open_in_child(path: &Path, cached: Option<usize>) -> Opened {
    let mut child = Command::new(std::env::current_exe().expect("the bench binary"));
    child.env(CHILD_ENV, path);
    if let Some(n) = cached {
        child.env(CACHED_ENV, n.to_string());
    }
    let out = child.output().expect("the child runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().last().expect("a report line");
    let f: Vec<f64> = line
        .split_whitespace()
        .map(|v| v.parse().expect("a number"))
        .collect();
    Opened {
        secs: f[0],
        rss_mib: f[1],
        hwm_mib: f[2],
        from_snapshot: f[3] as usize,
        replayed: f[4] as usize,
        documents: f[5] as usize,
        cold: f[6] as usize,
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("creates");
    for e in std::fs::read_dir(from).expect("reads").flatten() {
        std::fs::copy(e.path(), to.join(e.file_name())).expect("copies");
    }
}

fn disk_mib(path: &Path) -> f64 {
    std::fs::read_dir(path)
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum::<u64>()
        })
        .unwrap_or(0) as f64
        / (1 << 20) as f64
}

/// One size: ingest (two and one verifying threads), then cold start and
/// memory with and without snapshots. Returns the changes for criterion.
fn report(docs: usize) -> Vec<Vec<SignedChange>> {
    let t = Instant::now();
    let changes = dataset(docs);
    let bytes: usize = changes.iter().map(SignedChange::encoded_len).sum();
    println!(
        "\n{docs} documents: {} changes, {:.1} MB of changes (made in {:.1} s)",
        changes.len(),
        bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    let msgs = messages(&changes);
    let mut dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    // TRUSTMESH_BENCH_KEEP: leave the store behind, to open it again in a
    // profiler (`TRUSTMESH_BENCH_OPEN=PATH`).
    if std::env::var_os("TRUSTMESH_BENCH_KEEP").is_some() {
        dir.disable_cleanup(true);
        println!("  store kept at {}", db.display());
    }
    let mut node = receiver(&db, 2);
    let took = ingest(&mut node, &msgs);
    assert_eq!(node.stats().changes_new as usize, changes.len());
    drop(node);
    let rate = changes.len() as f64 / took.as_secs_f64();
    let single = {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut node = receiver(&dir.path().join("db"), 1);
        changes.len() as f64 / ingest(&mut node, &msgs).as_secs_f64()
    };
    println!(
        "  ingest into RocksDB:  {rate:>9.0} changes/s (2 threads)   baseline: {single:.0}/s on 1 thread, {BASELINE_INGEST_PER_S:.0}/s in the issue"
    );
    let bare = dir.path().join("bare");
    copy_dir(&db, &bare);
    {
        let store = RocksStore::open(&bare).expect("opens");
        store.drop_snapshots().expect("drops");
    }
    let with = open_in_child(&db, None);
    let small = open_in_child(&db, Some(SMALL_CACHE));
    let without = open_in_child(&bare, None);
    assert_eq!(with.documents, docs);
    assert_eq!(without.documents, docs);
    let scale = docs as f64 / BASELINE_DOCS as f64;
    println!(
        "  cold start:           {:>9.2} s ({} from snapshots, {} of them cold, {} changes replayed)   baseline: {:.2} s replaying {} changes; issue: {BASELINE_COLD_START_S} s at {BASELINE_DOCS} (x{scale:.1} = {:.1} s)",
        with.secs,
        with.from_snapshot,
        with.cold,
        with.replayed,
        without.secs,
        without.replayed,
        BASELINE_COLD_START_S * scale,
    );
    println!(
        "  resident after open:  {:>9.0} MiB (peak {:.0})   baseline: {:.0} MiB (peak {:.0}) replaying; issue: {BASELINE_RSS_MIB} MiB at {BASELINE_DOCS} (x{scale:.1} = {:.0} MiB)",
        with.rss_mib,
        with.hwm_mib,
        without.rss_mib,
        without.hwm_mib,
        BASELINE_RSS_MIB * scale,
    );
    println!(
        "  with {SMALL_CACHE} cached:      {:>9.0} MiB (peak {:.0}), open in {:.2} s   (default: {} documents held materialized)",
        small.rss_mib,
        small.hwm_mib,
        small.secs,
        Config::default().cached_documents,
    );
    if let Some((_, secs, rss, small)) = BEFORE_STORE_LAYOUT.iter().find(|b| b.0 == docs) {
        println!(
            "  before (all changes in memory): cold start {secs:.2} s, resident {rss:.0} MiB, {small:.0} MiB with {SMALL_CACHE} cached"
        );
    }
    println!("  on disk:              {:>9.1} MiB", disk_mib(&db));
    msgs
}

/// The sizes to measure: `TRUSTMESH_BENCH_DOCS`, else 10,000 and 100,000
/// under `cargo bench`, and 1,000 when `cargo test` runs this bench once
/// to check that it works (a debug build takes over 20 minutes for the
/// full sizes).
fn sizes() -> Vec<usize> {
    let benchmarking = std::env::args().any(|a| a == "--bench");
    std::env::var("TRUSTMESH_BENCH_DOCS")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| {
            if benchmarking {
                vec![10_000, 100_000]
            } else {
                vec![1_000]
            }
        })
}

fn main() {
    if let Some(path) = std::env::var_os(CHILD_ENV) {
        child(&path.to_string_lossy());
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    let sizes = sizes();
    let mut first = None;
    for docs in &sizes {
        let msgs = report(*docs);
        first.get_or_insert((*docs, msgs));
    }
    // `TRUSTMESH_BENCH_TABLE_ONLY=1` prints the table and skips criterion.
    if std::env::var_os("TRUSTMESH_BENCH_TABLE_ONLY").is_some() {
        return;
    }
    let Some((docs, msgs)) = first else {
        return;
    };
    let n: usize = msgs.iter().map(Vec::len).sum();
    let mut g = c.benchmark_group(format!("store_{docs}_documents"));
    g.sample_size(10);
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("ingest_rocksdb", |b| {
        b.iter_batched_ref(
            || {
                let dir = tempfile::tempdir().expect("tempdir");
                let node = receiver(&dir.path().join("db"), 2);
                (dir, node)
            },
            |(_dir, node)| black_box(ingest(node, &msgs)),
            BatchSize::PerIteration,
        )
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    {
        let mut node = receiver(&db, 2);
        ingest(&mut node, &msgs);
    }
    g.throughput(Throughput::Elements(docs as u64));
    g.bench_function("cold_start", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                let node = receiver(&db, 2);
                total += start.elapsed();
                drop(node);
            }
            total
        })
    });
    g.finish();
    c.final_summary();
}
