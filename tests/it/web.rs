//! The node's web page in a real browser: headless Chromium (Debian's
//! `/usr/bin/chromium`, installed with apt-get if missing) driven by
//! playwright-core from tests/js-web (`npm ci` on first use). The script
//! logs in with the link `trustmesh web` prints, visits every page, checks
//! what they show, and saves a screenshot of each into
//! `$CARGO_TARGET_DIR/web-screenshots` (printed by the test).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use trustmesh_node::api::{Advisories, Peers};

use crate::support::{Workspace, npm_ci, run};

const CHROMIUM: &str = "/usr/bin/chromium";

/// tests/js-web with playwright-core installed from the lock file, and
/// Chromium installed.
fn browser_driver() -> PathBuf {
    if !Path::new(CHROMIUM).exists() {
        run(
            Command::new("apt-get")
                .args(["install", "-y", "--no-install-recommends", "chromium"])
                .env("DEBIAN_FRONTEND", "noninteractive"),
            "apt-get install chromium",
        );
    }
    npm_ci("js-web", "playwright-core")
}

/// Where the screenshots go: beside the build, so they outlive the test.
fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    );
    target.join("web-screenshots")
}

#[test]
fn the_web_page_in_headless_chromium() {
    let driver = browser_driver();
    let w = Workspace::new();
    for (t, c) in [("AA", "AA"), ("BB", "BB"), ("CC", "CC"), ("DD", "DD")] {
        w.init(t, c);
    }
    w.found(&["AA", "BB"], 1);
    let a = w.start("AA", &["run"]);
    let _b = w.start("BB", &["run", "--bootstrap", &a.addr]);

    // CC is introduced by AA; DD applied but nobody sponsored it.
    for t in ["CC", "DD"] {
        let app = format!("{t}.app.json");
        w.ok(
            Some(t),
            &["apply", "--charter", "charter.json", "--out", &app],
        );
    }
    w.ok(
        Some("AA"),
        &["sponsor", "CC.app.json", "--out", "CC.intro.json"],
    );
    w.ok(Some("AA"), &["import", "DD.app.json"]);

    let title = "Exploited VPN gateway <script>alert(1)</script> & more";
    w.ok(
        Some("AA"),
        &[
            "advisory",
            "publish",
            "--id",
            "AA-2026-0001",
            "--title",
            title,
            "--category",
            "alert",
            "--tlp",
            "clear",
            "--severity",
            "high",
            "--cve",
            "CVE-2026-1234",
            "--summary",
            "Attackers exploit a VPN gateway flaw.",
            "--indicator",
            "ipv4:192.0.2.7",
        ],
    );
    w.ok(
        Some("AA"),
        &[
            "advisory",
            "update",
            "AA/AA-2026-0001",
            "--severity",
            "critical",
            "--indicator",
            "domain:evil.example",
            "--revision-summary",
            "Second indicator; severity raised",
        ],
    );
    w.ok(
        Some("AA"),
        &[
            "advisory",
            "publish",
            "--id",
            "AA-2026-0002",
            "--title",
            "Phishing wave against ministries",
            "--category",
            "warning",
            "--tlp",
            "green",
            "--severity",
            "low",
        ],
    );
    w.ok(
        Some("AA"),
        &[
            "contact",
            "set",
            "--email",
            "cert@aa.example",
            "--phone",
            "+1 555 0100",
            "--website",
            "https://aa.example",
        ],
    );
    w.ok(
        Some("AA"),
        &[
            "tool",
            "add",
            "--name",
            "ioc-sweeper",
            "--version",
            "1.2.0",
            "--description",
            "Sweeps logs for indicators",
            "--homepage",
            "https://aa.example/ioc-sweeper",
            "--license",
            "MIT",
            "--tag",
            "dfir",
        ],
    );
    let bb_id = w.team_id("BB");
    w.wait_api("AA", &["peers"], |v: &Peers| {
        v.peers
            .iter()
            .any(|p| p.team.map(|t| t.to_string()).as_ref() == Some(&bb_id) && p.open)
    });

    let web = w.ok(Some("AA"), &["web"]);
    let login_url = web["login_url"].as_str().expect("login url");
    let base = web["url"].as_str().expect("url");
    assert!(login_url.starts_with(base) && login_url.contains("/login?token="));

    let shots = screenshot_dir();
    let _ = std::fs::remove_dir_all(&shots);
    let cfg = json!({
        "base": base,
        "login_url": login_url,
        "token": std::fs::read_to_string(w.path("AA").join("api.token")).expect("token").trim(),
        "screenshots": shots,
        "chromium": CHROMIUM,
        "advisory": {
            "owner": w.team_id("AA"),
            "owner_name": "AA",
            "id": "AA-2026-0001",
            "title": title,
            "cve": "CVE-2026-1234",
            "indicator": "evil.example",
            "revision_summary": "Second indicator; severity raised",
        },
        "other_title": "Phishing wave against ministries",
        "contact_email": "cert@aa.example",
        "tool": "ioc-sweeper",
        "members": [
            ["AA", "founder named in the charter"],
            ["BB", "founder named in the charter"],
            ["CC", "introduced by"],
            ["DD", "0 of 1 introductions count"],
        ],
        "peer_team": "BB",
    });
    let out = run(
        Command::new("node")
            .arg("web.mjs")
            .arg(cfg.to_string())
            .current_dir(&driver),
        "the browser script",
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "the browser script prints JSON ({e}):\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    eprintln!("web page screenshots: {}", shots.display());

    let failed: Vec<(&String, &Value)> = report["checks"]
        .as_object()
        .expect("checks")
        .iter()
        .filter(|(_, v)| **v != true)
        .collect();
    assert!(failed.is_empty(), "failed checks: {failed:#?}\n{report:#}");
    for name in [
        "no_cookie_401",
        "login_lands_on_list",
        "cookie_httponly_strict",
        "filter_tlp_narrows",
        "search_cve",
        "advisory_revisions",
        "advisory_signer",
        "contact",
        "tool",
        "member_CC",
        "member_DD",
        "peer",
        "sync_counters",
        "logout_401",
    ] {
        assert_eq!(report["checks"][name], true, "{name}: {report:#}");
    }
    assert_eq!(report["list_rows"], 2, "{report:#}");
    assert_eq!(report["filtered_rows"], 1, "{report:#}");
    assert_eq!(report["searched_rows"], 1, "{report:#}");
    // The hostile title is shown as text: no script ran.
    assert_eq!(report["dialogs"], json!([]), "{report:#}");
    assert_eq!(report["errors"], json!([]), "{report:#}");
    for (path, r) in report["unauthorized"].as_object().expect("unauthorized") {
        assert_eq!(r["status"], 401, "{path} without the token: {r}");
        if path.starts_with("/login") {
            assert_eq!(r["set_cookie"], Value::Null, "{r}");
        } else {
            assert_eq!(r["login_form"], true, "{path}: {r}");
        }
    }
    let shots_taken = report["screenshots"].as_array().expect("screenshots");
    assert_eq!(shots_taken.len(), 9, "{report:#}");
    for s in shots_taken {
        let len = std::fs::metadata(s.as_str().expect("path"))
            .map(|m| m.len())
            .unwrap_or(0);
        assert!(len > 1000, "{s} is {len} bytes");
    }

    // The JSON API is unchanged beside the pages.
    let api: Advisories = w.api("AA", &["advisory", "list", "--tlp", "green"]);
    assert_eq!(api.advisories.len(), 1);
}
