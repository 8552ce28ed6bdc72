//! The data directory as an operator meets it: private files, one node
//! per directory, read-only commands beside a running node, clear errors.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{Workspace, exe};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![];
    for e in std::fs::read_dir(dir).expect("read_dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Runs `trustmesh --data-dir team run` and expects it to exit by itself
/// within 20 s (it must refuse to start); returns its standard error.
fn run_refused(w: &Workspace, team: &str) -> String {
    let mut child = Command::new(exe())
        .current_dir(w.dir.path())
        .arg("--data-dir")
        .arg(w.path(team))
        .args([
            "run",
            "--listen",
            "/ip4/127.0.0.1/tcp/0",
            "--api",
            "127.0.0.1:0",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            assert!(!status.success(), "run should have refused to start");
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut e, &mut err);
            }
            return err;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("run started although it should have refused");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_data_directory_and_its_files_are_private_and_checked() {
    let w = Workspace::new();
    w.init("AA", "AT");
    w.init("BB", "BE");
    w.found(&["AA", "BB"], 1);
    let dir = w.path("AA");
    let node = w.start("AA", &["run"]);
    assert_eq!(mode(&dir), 0o700, "the data directory is 0700");
    for f in files(&dir) {
        assert_eq!(mode(&f) & 0o077, 0, "{} is private", f.display());
    }
    let token = std::fs::read_to_string(dir.join("api.token")).expect("token");
    assert!(token.trim().len() >= 32, "at least 128 bits");
    node.kill();

    // A data directory others can enter is refused, with the fix.
    chmod(&dir, 0o755);
    let err = w.fails(Some("AA"), &["members"]);
    assert!(
        err.contains(&format!("chmod 700 {}", dir.display())),
        "{err}"
    );
    let err = run_refused(&w, "AA");
    assert!(err.contains("chmod 700"), "{err}");
    chmod(&dir, 0o700);

    // A token others can read, or one too short to be secret, is refused.
    let token_path = dir.join("api.token");
    chmod(&token_path, 0o644);
    let err = run_refused(&w, "AA");
    assert!(err.contains("chmod 600"), "{err}");
    std::fs::write(&token_path, "x").expect("write token");
    chmod(&token_path, 0o600);
    let err = run_refused(&w, "AA");
    assert!(err.contains("32 hex digits"), "{err}");
    std::fs::remove_file(&token_path).expect("rm token");
    let node = w.start("AA", &["run"]);
    node.kill();
    assert!(
        std::fs::read_to_string(&token_path)
            .expect("new token")
            .len()
            >= 32
    );
}

#[test]
fn one_node_per_data_directory_and_reading_beside_it() {
    let w = Workspace::new();
    w.init("AA", "AT");
    w.init("BB", "BE");
    w.init("NEW", "DK");
    w.found(&["AA", "BB"], 1);
    w.ok(
        Some("NEW"),
        &["apply", "--charter", "charter.json", "--out", "app.json"],
    );
    let node = w.start("AA", &["run"]);
    let pid = node.child.id();

    // A second node on the same directory names the process holding it.
    let err = run_refused(&w, "AA");
    assert!(err.contains(&format!("in use by process {pid}")), "{err}");
    assert!(err.contains("run"), "the holder's command line: {err}");

    // Read-only commands work while the node runs: `verify` reads the
    // store's charter, `members` and `status` ask the node.
    let v = w.ok(Some("AA"), &["verify", "app.json"]);
    assert_eq!(v["files"][0]["valid"], true, "{v}");
    w.ok(Some("AA"), &["members"]);
    w.ok(Some("AA"), &["status"]);
    // Even with node.json gone (the node cannot be found through its API),
    // `members` reads the store without taking it from the node.
    std::fs::remove_file(w.path("AA").join("node.json")).expect("rm node.json");
    let m = w.ok(Some("AA"), &["members"]);
    assert_eq!(m["members"].as_array().map(Vec::len), Some(2));
    node.kill();
}

#[test]
fn a_running_node_refuses_another_networks_charter() {
    let w = Workspace::new();
    w.init("AA", "AT");
    w.init("BB", "BE");
    w.found(&["AA", "BB"], 1);
    let other = Workspace::new();
    other.init("XX", "FR");
    other.init("YY", "DE");
    other.found(&["XX", "YY"], 1);
    let node = w.start("AA", &["run"]);
    let foreign = other.path("charter.json");
    let err = w.fails(
        Some("AA"),
        &["import", foreign.to_str().expect("utf-8 path")],
    );
    assert!(err.contains("network"), "{err}");
    // Its own charter is no error: it carries nothing new.
    let v = w.ok(Some("AA"), &["import", "charter.json"]);
    assert_eq!(v["added"], 0);
    node.kill();
}

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    let w = Workspace::new();
    w.init("AA", "AT");
    w.init("BB", "BE");
    w.found(&["AA", "BB"], 1);
    // `members --json | reader`, where the reader has closed its end
    // before the first byte is written (as `head` has after its lines).
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "'{}' --json --data-dir '{}' members | {{ exec 0<&-; sleep 1; }}; echo \"${{PIPESTATUS[0]}}\"",
            exe(),
            w.path("AA").display()
        ))
        .stderr(Stdio::piped())
        .output()
        .expect("bash runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert!(!err.contains("Broken pipe"), "{err}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0", "{err}");
}
