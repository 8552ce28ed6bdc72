//! A full disk and a store the process may not write: a clear error, no
//! panic, and nothing acknowledged lost.
//!
//! The full disk is a small tmpfs mounted over a scratch directory, and the
//! permission test runs the binary as `nobody` with `setpriv`; both need
//! root, which these tests have on CI and on the development machines.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

fn run(cmd: &str, args: &[&str]) {
    let s = Command::new(cmd).args(args).status().expect("runs");
    assert!(s.success(), "{cmd} {args:?}: {s}");
}

/// A tmpfs of `mib` MiB, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, mib: u32) -> Self {
        std::fs::create_dir_all(at).expect("mount point");
        let size = format!("size={mib}m");
        let at_s = at.to_str().expect("utf-8 path");
        run("mount", &["-t", "tmpfs", "-o", &size, "tmpfs", at_s]);
        Self(at.to_owned())
    }

    fn resize(&self, mib: u32) {
        let opts = format!("remount,size={mib}m");
        run(
            "mount",
            &["-o", &opts, self.0.to_str().expect("utf-8 path")],
        );
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn acked(out: &Output) -> BTreeSet<String> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2).map(str::to_owned))
        .collect()
}

fn writer(db: &Path, count: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trustmesh-store-writer"))
        .arg(db)
        .arg(count)
        .output()
        .expect("the writer runs")
}

fn reopen(db: &Path) -> BTreeSet<String> {
    crate::kill::reopen(db).0
}

#[test]
fn a_full_disk_is_a_clear_error_and_loses_nothing_acknowledged() {
    if !is_root() {
        eprintln!("skipped: mounting a small tmpfs needs root");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let fs = Tmpfs::mount(&dir.path().join("fs"), 12);
    let db = fs.0.join("db");

    // Writes until the disk is full; the writer must stop with an error.
    let out = writer(&db, "1000000");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "the writer filled 12 MiB without an error"
    );
    assert!(
        stderr.contains("No space left on device"),
        "the error does not say the disk is full: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    let before = acked(&out);
    assert!(
        before.len() > 100,
        "only {} writes before the disk filled",
        before.len()
    );

    // With room again, the store opens with every acknowledged change, and
    // takes new writes.
    fs.resize(128);
    let stored = reopen(&db);
    let lost: Vec<_> = before.difference(&stored).collect();
    assert!(lost.is_empty(), "lost acknowledged changes: {lost:?}");
    let out = writer(&db, "10");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stored = reopen(&db);
    assert!(acked(&out).is_subset(&stored));
}

#[test]
fn a_store_it_may_not_write_is_a_clear_error_and_stays_intact() {
    if !is_root() {
        eprintln!("skipped: running as another user needs root");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    let out = writer(&db, "20");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let before = acked(&out);
    // Others may enter the directory but not write it.
    run("chmod", &["0755", dir.path().to_str().expect("utf-8 path")]);
    run(
        "chmod",
        &["-R", "a+rX,go-w", db.to_str().expect("utf-8 path")],
    );

    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_trustmesh-store-writer"))
        .arg(&db)
        .arg("5")
        .output()
        .expect("setpriv runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "nobody wrote to root's store");
    assert!(
        stderr.contains("Permission denied"),
        "unclear error: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");

    let stored = reopen(&db);
    assert_eq!(stored, before, "the refused attempt changed the store");
}
