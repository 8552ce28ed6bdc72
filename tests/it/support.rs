//! Running the trustmesh binary from tests.

use std::any::type_name;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde_json::Value;
use trustmesh_node::api;

/// The binary under test.
pub fn exe() -> &'static str {
    env!("CARGO_BIN_EXE_trustmesh-e2e")
}

/// A scratch directory where teams keep their data directories and files.
pub struct Workspace {
    pub dir: tempfile::TempDir,
    /// Each team's TCP port, picked once, so a restarted node listens where
    /// the others' peer books expect it.
    ports: std::cell::RefCell<std::collections::BTreeMap<String, u16>>,
    /// The network namespace each team's commands run in (`ip netns exec`),
    /// for teams the netns suite placed in one; others run here.
    netns: std::cell::RefCell<std::collections::BTreeMap<String, String>>,
}

impl Workspace {
    pub fn new() -> Self {
        Self {
            dir: tempfile::Builder::new()
                .prefix("trustmesh-it-")
                .tempdir()
                .expect("tempdir"),
            ports: Default::default(),
            netns: Default::default(),
        }
    }

    /// From now on, runs `team`'s commands inside network namespace `ns`,
    /// where its node's API listens on loopback.
    pub fn set_netns(&self, team: &str, ns: &str) {
        self.netns
            .borrow_mut()
            .insert(team.to_owned(), ns.to_owned());
    }

    /// `trustmesh --json [--data-dir team] args` in the workspace, inside
    /// the team's network namespace if it has one, ready to run.
    pub fn command(&self, team: Option<&str>, args: &[&str]) -> Command {
        let ns = team.and_then(|t| self.netns.borrow().get(t).cloned());
        let mut cmd = match ns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", &ns, exe()]);
                c
            }
            None => Command::new(exe()),
        };
        cmd.current_dir(self.dir.path()).arg("--json");
        if let Some(t) = team {
            cmd.arg("--data-dir").arg(self.path(t));
        }
        cmd.args(args).env_remove("TRUSTMESH_DATA_DIR");
        cmd
    }

    /// A free loopback port for `team`, the same on every call.
    pub fn port(&self, team: &str) -> u16 {
        *self
            .ports
            .borrow_mut()
            .entry(team.to_owned())
            .or_insert_with(|| {
                std::net::TcpListener::bind("127.0.0.1:0")
                    .and_then(|l| l.local_addr())
                    .expect("a free port")
                    .port()
            })
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs `trustmesh --json [--data-dir team] args` in the workspace (see
    /// [`Workspace::command`]).
    pub fn raw(&self, team: Option<&str>, args: &[&str]) -> Output {
        self.command(team, args).output().expect("the binary runs")
    }

    /// Runs a command that must succeed and returns its JSON output.
    pub fn ok(&self, team: Option<&str>, args: &[&str]) -> Value {
        let out = self.raw(team, args);
        assert!(
            out.status.success(),
            "trustmesh {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("--json prints one JSON value")
    }

    /// Runs a command that must succeed and prints one of the node's API
    /// answers (`status`, `members`, `advisory list`, ...), typed.
    pub fn api<T: DeserializeOwned>(&self, team: &str, args: &[&str]) -> T {
        let v = self.ok(Some(team), args);
        serde_json::from_value(v.clone())
            .unwrap_or_else(|e| panic!("`{args:?}` printed no {}: {e}\n{v:#}", type_name::<T>()))
    }

    /// `trustmesh status` of a running node.
    pub fn status(&self, team: &str) -> api::Status {
        self.api(team, &["status"])
    }

    /// Runs a command that must fail and returns its standard error.
    pub fn fails(&self, team: Option<&str>, args: &[&str]) -> String {
        let out = self.raw(team, args);
        assert!(
            !out.status.success(),
            "trustmesh {args:?} should have failed"
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    pub fn init(&self, short: &str, country: &str) -> String {
        let v = self.ok(
            Some(short),
            &[
                "init",
                "--name",
                &format!("{short} Computer Security Incident Response Team"),
                "--short-name",
                short,
                "--country",
                country,
            ],
        );
        v["team_id"].as_str().expect("team id").to_owned()
    }

    /// Founds a network of `founders` with k sponsors; every founder
    /// imports the sealed charter. Returns the network id.
    pub fn found(&self, founders: &[&str], k: u16) -> String {
        let mut args = vec!["charter", "draft", "--name", "Test Network"];
        let cards: Vec<String> = founders.iter().map(|f| format!("{f}.card.json")).collect();
        for (f, card) in founders.iter().zip(&cards) {
            self.ok(Some(f), &["card", "--out", card]);
            args.extend(["--founder", card.as_str()]);
        }
        let k = k.to_string();
        args.extend(["--sponsors-required", &k, "--out", "draft.json"]);
        let draft = self.ok(None, &args);
        for f in founders {
            self.ok(Some(f), &["charter", "sign", "draft.json"]);
        }
        self.ok(
            None,
            &["charter", "seal", "draft.json", "--out", "charter.json"],
        );
        for f in founders {
            self.ok(Some(f), &["import", "charter.json"]);
        }
        draft["draft"]["network_id"]
            .as_str()
            .expect("network id")
            .to_owned()
    }

    /// The team id of a team, from its card.
    pub fn team_id(&self, short: &str) -> String {
        self.ok(Some(short), &["card"])["team_id"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_default()
    }

    /// The standing of the team with this short name, as `members` reports it.
    pub fn standing(&self, viewer: &str, short: &str) -> Option<api::MemberView> {
        let v: api::Members = self.api(viewer, &["members"]);
        v.standings
            .into_iter()
            .find(|s| s.short_name.as_deref() == Some(short))
    }
}

/// A running `trustmesh run` process, killed when dropped.
pub struct Running {
    pub child: Child,
    /// Its TCP listen address with /p2p.
    pub addr: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Running {
    /// Kills the process with SIGKILL.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How long a test waits for the mesh to converge.
pub const CONVERGE: Duration = Duration::from_secs(60);

impl Workspace {
    /// Starts a node (`run` or `join` with `args`) on loopback ports the
    /// system picks, syncing every second; waits until it listens.
    pub fn start(&self, team: &str, args: &[&str]) -> Running {
        let dir = self.path(team);
        let _ = std::fs::remove_file(dir.join("node.json"));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path(&format!("{team}.log")))
            .expect("log file");
        let listen = format!("/ip4/127.0.0.1/tcp/{}", self.port(team));
        let child = Command::new(exe())
            .current_dir(self.dir.path())
            .arg("--data-dir")
            .arg(&dir)
            .args(args)
            .args([
                "--listen",
                &listen,
                "--api",
                "127.0.0.1:0",
                "--sync-interval-ms",
                "1000",
            ])
            .env(
                "TRUSTMESH_LOG",
                std::env::var("TRUSTMESH_TEST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .env_remove("TRUSTMESH_DATA_DIR")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("the binary starts");
        let mut running = Running {
            child,
            addr: String::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(text) = std::fs::read_to_string(dir.join("node.json"))
                && let Ok(v) = serde_json::from_str::<Value>(&text)
                && let Some(a) = v["listen"]
                    .as_array()
                    .and_then(|l| l.first())
                    .and_then(Value::as_str)
            {
                running.addr = a.to_owned();
                return running;
            }
            if let Ok(Some(status)) = running.child.try_wait() {
                panic!("{team}'s node exited with {status}: {}", self.log(team));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("{team}'s node did not start: {}", self.log(team));
    }

    /// A node's log so far.
    pub fn log(&self, team: &str) -> String {
        std::fs::read_to_string(self.path(&format!("{team}.log"))).unwrap_or_default()
    }

    /// Polls `trustmesh --json args`, whose output is the API answer `T`,
    /// on `team` until `ok` holds; returns the last answer. Panics with the
    /// node logs after [`CONVERGE`], or at once on output that is no `T`.
    pub fn wait_api<T: DeserializeOwned>(
        &self,
        team: &str,
        args: &[&str],
        ok: impl Fn(&T) -> bool,
    ) -> T {
        let v = self.wait(team, args, |v| {
            let t: T = serde_json::from_value(v.clone()).unwrap_or_else(|e| {
                panic!("`{args:?}` printed no {}: {e}\n{v:#}", type_name::<T>())
            });
            ok(&t)
        });
        serde_json::from_value(v).expect("checked above")
    }

    /// Polls `trustmesh --json args` on `team` until `ok` holds; returns the
    /// last value. Panics with the node logs after [`CONVERGE`].
    pub fn wait(&self, team: &str, args: &[&str], ok: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + CONVERGE;
        let mut last = Value::Null;
        while Instant::now() < deadline {
            let out = self.raw(Some(team), args);
            if out.status.success() {
                last = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
                if ok(&last) {
                    return last;
                }
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!(
            "{team}: `{args:?}` did not reach the expected state; last: {last:#}\n--- log ---\n{}",
            self.log(team)
        );
    }
}

/// Runs `cmd`; panics with its output unless it succeeds.
pub fn run(cmd: &mut Command, what: &str) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `tests/<dir>` with its npm packages installed from its lock file
/// (`npm ci`, the first time: when `node_modules/<package>` is missing).
pub fn npm_ci(dir: &str, package: &str) -> PathBuf {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    if !path
        .join("node_modules")
        .join(package)
        .join("package.json")
        .exists()
    {
        run(
            Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(&path),
            &format!("npm ci in tests/{dir} (needs Node.js and npm)"),
        );
    }
    path
}

/// Whether an advisory list holds `id`.
pub fn has_advisory(v: &api::Advisories, id: &str) -> bool {
    v.advisories.iter().any(|a| a.id == id)
}

/// Python packages the tests run, pinned; one venv holds them all.
const PY_PACKAGES: [&str; 4] = [
    "taxii2-client==2.3.0",
    "stix2-validator==3.3.2",
    "pymisp==2.5.34.4",
    "trustme==1.2.1",
];

/// The python of the tests' venv (`$HOME/.cache/trustmesh-py`), made and
/// filled with [`PY_PACKAGES`] on first use. Tests run in parallel: a lock
/// keeps two of them from creating or installing into it at once.
pub fn python() -> PathBuf {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _held = LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let home = std::env::var_os("HOME").expect("HOME is set");
    let venv = PathBuf::from(home).join(".cache/trustmesh-py");
    let py = venv.join("bin/python");
    if !venv.join("bin/pip").exists() {
        run(
            Command::new("python3").arg("-m").arg("venv").arg(&venv),
            "python3 -m venv (on Debian/Ubuntu this needs python3-venv)",
        );
    }
    let have = Command::new(&py)
        .args(["-c", "import taxii2client, stix2validator, pymisp, trustme"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !have {
        run(
            Command::new(venv.join("bin/pip"))
                .args(["install", "--quiet"])
                .args(PY_PACKAGES),
            "pip install taxii2-client stix2-validator pymisp trustme",
        );
    }
    py
}
