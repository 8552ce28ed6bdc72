//! The TAXII 2.1 server read by the OASIS `taxii2-client` (PyPI), every
//! object checked by `stix2-validator`; readers see only the TLP labels
//! their `[[taxii.readers]]` entry names; over TLS with a test CA made by
//! `trustme`. The test installs them into the
//! venv at `$HOME/.cache/trustmesh-py` on first use.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde_json::{Value, json};

use crate::support::{Workspace, python, run};

/// The releases the test pins.
/// A script of tests/py.
pub fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("py").join(name)
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Writes `team`'s config.toml with a TAXII server on `port` and readers
/// `green` (the default labels), `amber` (CLEAR, GREEN, AMBER) and `red`.
pub fn configure(w: &Workspace, team: &str, port: u16) {
    let config = format!(
        r#"
[taxii]
listen = "127.0.0.1:{port}"

[[taxii.readers]]
name = "green"

[[taxii.readers]]
name = "amber"
tlp = ["clear", "green", "amber"]

[[taxii.readers]]
name = "red"
tlp = ["TLP:RED"]
"#
    );
    std::fs::write(w.path(team).join("config.toml"), config).expect("config.toml");
}

pub fn token(w: &Workspace, team: &str, reader: &str) -> String {
    let path = w.path(team).join("taxii").join(format!("{reader}.token"));
    let text = std::fs::read_to_string(&path).expect("the reader's token file");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&path).expect("stat").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{}", path.display());
    assert!(text.trim().len() >= 32, "short token");
    text.trim().to_owned()
}

pub fn advisory(id: &str, tlp: &str, audience: &[&str], indicators: Vec<Value>) -> Value {
    let mut audience: Vec<String> = audience.iter().map(|s| (*s).to_owned()).collect();
    audience.sort();
    json!({
        "id": id,
        "title": format!("Advisory {id}"),
        "category": "warning",
        "tlp": tlp,
        "audience": audience,
        "co_authors": [],
        "severity": "high",
        "status": "final",
        "revisions": [{ "number": "1", "date": 1_764_547_200u64, "summary": "Initial release" }],
        "cves": ["CVE-2024-3094"],
        "products": [],
        "indicators": indicators,
        "references": [],
        "summary": "Indicators to block.",
        "body": "Block the indicators.",
        "acknowledgements": [],
    })
}

pub fn publish(w: &Workspace, team: &str, a: &Value) {
    let file = format!("{}-{}.json", team, a["id"].as_str().unwrap_or("x"));
    std::fs::write(w.path(&file), a.to_string()).expect("write");
    w.ok(Some(team), &["advisory", "publish", "--file", &file]);
}

/// Runs taxii_walk.py with the reader token `tok`; returns its report.
fn walk(w: &Workspace, url: &str, tok: &str, added_after: Option<&str>, per: usize) -> Value {
    walk_verified(w, url, tok, added_after, per, None)
}

/// [`walk`], trusting the certificate `ca` for https.
fn walk_verified(
    w: &Workspace,
    url: &str,
    tok: &str,
    added_after: Option<&str>,
    per: usize,
    ca: Option<&Path>,
) -> Value {
    let out = tempfile::tempdir_in(w.dir.path()).expect("tempdir");
    let mut cmd = Command::new(python());
    if let Some(ca) = ca {
        // requests lets these override a session's own CA file.
        cmd.env("TAXII_VERIFY", ca)
            .env_remove("REQUESTS_CA_BUNDLE")
            .env_remove("CURL_CA_BUNDLE");
    }
    run(
        cmd.arg(script("taxii_walk.py"))
            .arg(url)
            .arg(tok)
            .arg(out.path())
            .arg(added_after.unwrap_or(""))
            .arg(per.to_string()),
        "taxii_walk.py",
    );
    let report: Value = serde_json::from_str(
        &std::fs::read_to_string(out.path().join("report.json")).expect("report.json"),
    )
    .expect("JSON");
    // Every collection's objects pass stix2-validator.
    for c in report["collections"].as_array().into_iter().flatten() {
        if c["objects"].as_array().is_none_or(Vec::is_empty) {
            continue;
        }
        let bundle = out
            .path()
            .join(format!("{}.json", c["id"].as_str().unwrap_or("")));
        let validator = python().with_file_name("stix2_validator");
        let o = Command::new(validator)
            .args(["--version", "2.1"])
            .arg(&bundle)
            .output()
            .expect("stix2_validator runs");
        let text =
            String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
        assert!(
            o.status.success() && text.contains("STIX JSON: Valid") && !text.contains("Invalid"),
            "stix2-validator rejects collection {}:\n{text}",
            c["title"]
        );
    }
    report
}

/// Each collection's title and the set of object ids it gave.
fn seen(report: &Value) -> BTreeMap<String, BTreeSet<String>> {
    report["collections"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            let ids = c["objects"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|o| o["id"].as_str().map(str::to_owned))
                .collect();
            (c["title"].as_str().unwrap_or("").to_owned(), ids)
        })
        .collect()
}

/// Every indicator pattern a report's collections gave.
fn patterns(report: &Value) -> BTreeSet<String> {
    report["collections"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|c| c["objects"].as_array().into_iter().flatten())
        .filter_map(|o| o["pattern"].as_str().map(str::to_owned))
        .collect()
}

pub fn ip(v: &str) -> Value {
    json!({ "kind": "ipv4", "value": v })
}

#[test]
fn taxii2_client_reads_each_readers_collections() {
    let w = Workspace::new();
    w.init("AA", "AA");
    w.init("BB", "BB");
    w.found(&["AA", "BB"], 2);
    let (aa, bb) = (w.team_id("AA"), w.team_id("BB"));
    let port = free_port();
    configure(&w, "AA", port);
    let url = format!("http://127.0.0.1:{port}/taxii2/");
    let a = w.start("AA", &["run"]);
    let _b = w.start("BB", &["run", "--bootstrap", &a.addr]);
    w.wait_api("BB", &["status"], |s: &trustmesh_node::api::Status| {
        s.peers.members >= 1
    });
    publish(
        &w,
        "AA",
        &advisory(
            "AA-GREEN-1",
            "green",
            &[],
            vec![
                ip("192.0.2.1"),
                json!({ "kind": "domain", "value": "green.example" }),
            ],
        ),
    );
    publish(
        &w,
        "AA",
        &advisory("AA-AMBER-1", "amber", &[&aa, &bb], vec![ip("192.0.2.2")]),
    );
    publish(
        &w,
        "AA",
        &advisory("AA-RED-1", "red", &[&aa, &bb], vec![ip("192.0.2.3")]),
    );
    publish(
        &w,
        "BB",
        &advisory("BB-CLEAR-1", "clear", &[], vec![ip("192.0.2.4")]),
    );
    // BB's advisory reaches AA over the mesh.
    w.wait("AA", &["advisory", "list"], |v| {
        v.to_string().contains("BB-CLEAR-1")
    });

    let green = walk(&w, &url, &token(&w, "AA", "green"), None, 2);
    assert_eq!(green["title"], "trustmesh TAXII 2.1");
    assert_eq!(green["api_roots"], json!([format!("{url}root/")]));
    assert_eq!(
        green["root"]["versions"],
        json!(["application/taxii+json;version=2.1"])
    );
    assert!(green["root"]["max_content_length"].as_u64().unwrap_or(0) > 0);
    let titles: Vec<&str> = green["collections"]
        .as_array()
        .expect("collections")
        .iter()
        .map(|c| c["title"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(titles, ["TLP:CLEAR advisories", "TLP:GREEN advisories"]);
    for c in green["collections"].as_array().expect("collections") {
        assert_eq!(c["can_read"], true);
        assert_eq!(c["can_write"], false);
        assert_eq!(
            c["media_types"],
            json!(["application/stix+json;version=2.1"])
        );
        // Paged two at a time: every object once, the manifest alike.
        let objects = c["objects"].as_array().expect("objects");
        let n = objects.len();
        assert!(n >= 3, "{c:#}");
        assert_eq!(c["pages"].as_u64(), Some(n.div_ceil(2) as u64), "{c:#}");
        let ids: BTreeSet<&str> = objects.iter().filter_map(|o| o["id"].as_str()).collect();
        assert_eq!(ids.len(), n, "an object came twice");
        let manifest: BTreeSet<&str> = c["manifest"]
            .as_array()
            .expect("manifest")
            .iter()
            .filter_map(|o| o["id"].as_str())
            .collect();
        assert_eq!(manifest, ids);
        assert_eq!(c["get_object"].as_array().map(Vec::len), Some(1));
        let types: BTreeSet<&str> = objects.iter().filter_map(|o| o["type"].as_str()).collect();
        assert_eq!(
            types,
            BTreeSet::from([
                "identity",
                "indicator",
                "marking-definition",
                "vulnerability"
            ])
        );
    }
    let p = patterns(&green);
    assert!(p.contains("[ipv4-addr:value = '192.0.2.1']"), "{p:?}");
    assert!(p.contains("[domain-name:value = 'green.example']"), "{p:?}");
    assert!(p.contains("[ipv4-addr:value = '192.0.2.4']"), "{p:?}");
    assert!(
        !p.contains("[ipv4-addr:value = '192.0.2.2']"),
        "AMBER leaked: {p:?}"
    );
    assert!(
        !p.contains("[ipv4-addr:value = '192.0.2.3']"),
        "RED leaked: {p:?}"
    );

    let amber = walk(&w, &url, &token(&w, "AA", "amber"), None, 2);
    let p = patterns(&amber);
    assert!(p.contains("[ipv4-addr:value = '192.0.2.2']"), "{p:?}");
    assert!(
        !p.contains("[ipv4-addr:value = '192.0.2.3']"),
        "RED leaked: {p:?}"
    );
    assert_eq!(
        seen(&amber).keys().collect::<Vec<_>>(),
        [
            "TLP:AMBER advisories",
            "TLP:CLEAR advisories",
            "TLP:GREEN advisories"
        ]
    );
    let red = walk(&w, &url, &token(&w, "AA", "red"), None, 2);
    assert_eq!(
        patterns(&red),
        BTreeSet::from(["[ipv4-addr:value = '192.0.2.3']".to_owned()])
    );

    // Wrong, missing and admin tokens are refused; Bearer and Token work.
    let probe = |auth: Option<String>| -> u16 {
        let mut args = vec![
            "-c".to_owned(),
            "import sys, requests; h = {} if len(sys.argv) < 3 else {'Authorization': sys.argv[2]}; print(requests.get(sys.argv[1], headers=h).status_code)".to_owned(),
            format!("{url}root/collections/"),
        ];
        args.extend(auth);
        let o = run(Command::new(python()).args(&args), "requests probe");
        String::from_utf8_lossy(&o.stdout)
            .trim()
            .parse()
            .unwrap_or(0)
    };
    let green_token = token(&w, "AA", "green");
    assert_eq!(probe(None), 401);
    assert_eq!(probe(Some("Bearer 00".into())), 401);
    let admin = std::fs::read_to_string(w.path("AA").join("api.token")).expect("api.token");
    assert_eq!(probe(Some(format!("Bearer {}", admin.trim()))), 401);
    assert_eq!(probe(Some(format!("Bearer {green_token}"))), 200);
    assert_eq!(probe(Some(format!("Token {green_token}"))), 200);

    // The date headers and content type of a page, as served.
    let green_collection = green["collections"][1]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let o = run(
        Command::new(python()).args([
            "-c",
            "import sys, json, requests; r = requests.get(sys.argv[1], params={'limit': 1}, \
             headers={'Authorization': 'Bearer ' + sys.argv[2], 'Accept': 'application/taxii+json;version=2.1'}); \
             print(json.dumps({'status': r.status_code, 'type': r.headers.get('Content-Type'), \
             'first': r.headers.get('X-TAXII-Date-Added-First'), 'last': r.headers.get('X-TAXII-Date-Added-Last'), \
             'body': r.json()}))",
            &format!("{url}root/collections/{green_collection}/objects/"),
            &green_token,
        ]),
        "requests page",
    );
    let page: Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(page["status"], 200, "{page:#}");
    assert_eq!(page["type"], "application/taxii+json;version=2.1");
    assert_eq!(page["body"]["more"], true, "{page:#}");
    assert!(page["body"]["next"].is_string(), "{page:#}");
    let first_added = green["collections"][1]["manifest"][0]["date_added"].clone();
    assert_eq!(page["first"], first_added, "{page:#}");
    assert_eq!(page["last"], first_added, "{page:#}");

    // added_after: the latest date added so far, then a new advisory by BB.
    let last_added = green["collections"]
        .as_array()
        .expect("collections")
        .iter()
        .flat_map(|c| c["manifest"].as_array().into_iter().flatten())
        .filter_map(|m| m["date_added"].as_str().map(str::to_owned))
        .max()
        .expect("dates");
    publish(
        &w,
        "BB",
        &advisory("BB-GREEN-2", "green", &[], vec![ip("192.0.2.5")]),
    );
    w.wait("AA", &["advisory", "list"], |v| {
        v.to_string().contains("BB-GREEN-2")
    });
    let later = walk(&w, &url, &green_token, Some(&last_added), 2);
    let after: BTreeSet<String> = later["collections"]
        .as_array()
        .expect("collections")
        .iter()
        .flat_map(|c| c["after"].as_array().into_iter().flatten())
        .filter_map(|id| id.as_str().map(str::to_owned))
        .collect();
    let before: BTreeSet<String> = seen(&green).into_values().flatten().collect();
    let now: BTreeSet<String> = seen(&later).into_values().flatten().collect();
    let new: BTreeSet<String> = now.difference(&before).cloned().collect();
    assert!(!new.is_empty());
    // BB's identity is already in the CLEAR collection, not yet in GREEN.
    assert!(
        new.iter().all(|id| after.contains(id)),
        "added_after missed {new:?}: {after:?}"
    );
    assert!(
        after
            .iter()
            .all(|id| new.contains(id) || id.starts_with("identity--")),
        "added_after gave old objects: {after:?} (new {new:?})"
    );

    // Times of arrival survive a restart.
    let dates = |r: &Value| -> BTreeMap<String, String> {
        r["collections"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|c| c["manifest"].as_array().into_iter().flatten())
            .map(|m| {
                (
                    format!("{}", m["id"]),
                    m["date_added"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect()
    };
    a.kill();
    let _a = w.start("AA", &["run"]);
    let restarted = walk(&w, &url, &green_token, None, 2);
    assert_eq!(dates(&restarted), dates(&later));
}

#[test]
fn taxii2_client_pages_ten_thousand_objects() {
    let w = Workspace::new();
    w.init("AA", "AA");
    w.init("BB", "BB");
    w.found(&["AA", "BB"], 2);
    let port = free_port();
    configure(&w, "AA", port);
    let _a = w.start("AA", &["run"]);
    for n in 0..10u32 {
        let indicators = (0..1000u32)
            .map(|i| {
                let x = n * 1000 + i;
                ip(&format!("10.{}.{}.{}", x >> 16, (x >> 8) & 255, x & 255))
            })
            .collect();
        publish(
            &w,
            "AA",
            &advisory(&format!("AA-BULK-{n}"), "green", &[], indicators),
        );
    }
    let url = format!("http://127.0.0.1:{port}/taxii2/");
    let tok = token(&w, "AA", "green");
    for per in [1000usize, 100] {
        let started = Instant::now();
        let r = walk(&w, &url, &tok, None, per);
        let total = started.elapsed();
        let c = &r["collections"][1];
        let n = c["objects"].as_array().map_or(0, Vec::len);
        assert!(n >= 10_000, "{n} objects");
        assert_eq!(
            c["indicators"].as_u64(),
            Some(1000),
            "one page of indicators"
        );
        println!(
            "taxii2-client paged {n} objects (and their manifest) {per} a page in {:.2} s (debug build; {:.2} s with the validator)",
            r["seconds"].as_f64().unwrap_or(0.0),
            total.as_secs_f64()
        );
    }
}

#[test]
fn taxii2_client_reads_over_tls() {
    let w = Workspace::new();
    w.init("AA", "AA");
    w.init("BB", "BB");
    w.found(&["AA", "BB"], 2);
    // A test CA and a certificate it issued for 127.0.0.1 (trustme).
    let (ca, cert, key) = (w.path("ca.pem"), w.path("taxii.crt"), w.path("taxii.key"));
    run(
        Command::new(python())
            .args([
                "-c",
                "import sys, trustme; ca = trustme.CA(); c = ca.issue_cert('127.0.0.1'); \
                 ca.cert_pem.write_to_path(sys.argv[1]); \
                 c.private_key_pem.write_to_path(sys.argv[3]); \
                 open(sys.argv[2], 'wb').write(b''.join(p.bytes() for p in c.cert_chain_pems))",
            ])
            .arg(&ca)
            .arg(&cert)
            .arg(&key),
        "trustme",
    );
    let port = free_port();
    std::fs::write(
        w.path("AA").join("config.toml"),
        format!(
            "[taxii]\nlisten = \"127.0.0.1:{port}\"\ntls_cert = {:?}\ntls_key = {:?}\n",
            cert.display().to_string(),
            key.display().to_string()
        ),
    )
    .expect("config.toml");
    let _a = w.start("AA", &["run"]);
    publish(
        &w,
        "AA",
        &advisory("AA-TLS-1", "green", &[], vec![ip("192.0.2.9")]),
    );
    let url = format!("https://127.0.0.1:{port}/taxii2/");
    let r = walk_verified(&w, &url, &token(&w, "AA", "default"), None, 2, Some(&ca));
    assert_eq!(r["api_roots"], json!([format!("{url}root/")]));
    assert!(
        patterns(&r).contains("[ipv4-addr:value = '192.0.2.9']"),
        "{r:#}"
    );
    // Plain http to the TLS port gets no answer.
    let o = Command::new(python())
        .args([
            "-c",
            "import sys, requests; requests.get(sys.argv[1], timeout=5)",
        ])
        .arg(format!("http://127.0.0.1:{port}/taxii2/"))
        .output()
        .expect("python runs");
    assert!(!o.status.success(), "plain http was answered");
}
