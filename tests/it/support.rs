//! Running the trustmesh binary from tests.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

/// The binary under test.
pub fn exe() -> &'static str {
    env!("CARGO_BIN_EXE_trustmesh-e2e")
}

/// A scratch directory where teams keep their data directories and files.
pub struct Workspace {
    pub dir: tempfile::TempDir,
}

impl Workspace {
    pub fn new() -> Self {
        Self {
            dir: tempfile::Builder::new()
                .prefix("trustmesh-it-")
                .tempdir()
                .expect("tempdir"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs `trustmesh --json [--data-dir team] args` in the workspace.
    pub fn raw(&self, team: Option<&str>, args: &[&str]) -> Output {
        let mut cmd = Command::new(exe());
        cmd.current_dir(self.dir.path()).arg("--json");
        if let Some(t) = team {
            cmd.arg("--data-dir").arg(self.path(t));
        }
        cmd.args(args).env_remove("TRUSTMESH_DATA_DIR");
        cmd.output().expect("the binary runs")
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

    /// The standing of the team with this short name, as `members` reports it.
    pub fn standing(&self, viewer: &str, short: &str) -> Option<Value> {
        let v = self.ok(Some(viewer), &["members"]);
        v["standings"]
            .as_array()?
            .iter()
            .find(|s| s["profile"]["short_name"] == short)
            .cloned()
    }
}
