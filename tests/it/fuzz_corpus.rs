//! Every saved fuzz input, run through its target's harness on every test
//! run: the seed corpora in `fuzz/corpus/<target>/` and the inputs that once
//! crashed a target in `fuzz/regressions/<target>/`. libFuzzer itself runs
//! only under `cargo +nightly fuzz` (see the README); this keeps what it
//! found from coming back.

use std::path::{Path, PathBuf};

#[path = "../../fuzz/harness.rs"]
#[allow(dead_code)]
mod harness;

type Target = fn(&[u8]);

const TARGETS: &[(&str, Target)] = &[
    ("statement", harness::statement),
    ("change", harness::change),
    ("message", harness::message),
    ("gossip", harness::gossip),
    ("join_request", harness::join_request),
    ("join_response", harness::join_response),
    ("file", harness::file),
    ("api_body", harness::api_body),
    ("member_change", harness::member_change),
    ("csaf_import", harness::csaf_import),
];

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

fn target(name: &str) -> Target {
    TARGETS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, f)| *f)
        .unwrap_or_else(|| panic!("no fuzz target named {name}"))
}

/// The generated seeds run, and match the committed corpus; with
/// `TRUSTMESH_WRITE_SEEDS=1` they are (re)written there instead.
#[test]
fn seeds_run_and_are_committed() {
    let write = std::env::var_os("TRUSTMESH_WRITE_SEEDS").is_some();
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    for (name, bytes) in harness::seeds() {
        target(name)(&bytes);
        let n = counts.entry(name).or_default();
        let path = fuzz_dir()
            .join("corpus")
            .join(name)
            .join(format!("seed-{n:02}"));
        *n += 1;
        if write {
            std::fs::create_dir_all(path.parent().expect("a corpus file has a directory"))
                .expect("create the corpus directory");
            std::fs::write(&path, &bytes).expect("write a seed");
        } else {
            let committed = std::fs::read(&path).unwrap_or_else(|e| {
                panic!(
                    "{}: {e}; run TRUSTMESH_WRITE_SEEDS=1 cargo test -p trustmesh-tests --test it fuzz_corpus",
                    path.display()
                )
            });
            assert!(
                committed == bytes,
                "{} differs from the generated seed; regenerate with TRUSTMESH_WRITE_SEEDS=1",
                path.display()
            );
        }
    }
    for (name, _) in TARGETS {
        assert!(counts.contains_key(name), "no seed for {name}");
    }
}

/// Every file in every target's corpus and regressions runs without a panic.
#[test]
fn saved_inputs_do_not_panic() {
    let mut ran = 0;
    for (name, run) in TARGETS {
        for dir in ["corpus", "regressions"] {
            let Ok(entries) = std::fs::read_dir(fuzz_dir().join(dir).join(name)) else {
                continue;
            };
            let mut paths: Vec<PathBuf> = entries.filter_map(|e| Some(e.ok()?.path())).collect();
            paths.sort();
            for p in paths {
                let bytes = std::fs::read(&p).expect("read a saved input");
                let outcome = std::panic::catch_unwind(|| run(&bytes));
                assert!(outcome.is_ok(), "{name}: {} panicked", p.display());
                ran += 1;
            }
        }
    }
    assert!(
        ran > 0,
        "no saved fuzz inputs found under {}",
        fuzz_dir().display()
    );
}
