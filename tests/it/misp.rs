//! The MISP feed: every event loads in PyMISP (PyPI), PyMISP's
//! `feed_meta_generator` remakes our manifest and hashes.csv, and a client
//! doing what MISP's feed fetcher does (the manifest, then each event newer
//! than it holds, with If-None-Match) gets every event once, and an
//! updated one again.

use std::collections::BTreeSet;
use std::process::Command;

use serde_json::{Value, json};

use crate::support::{Workspace, python, run};
use crate::taxii::{advisory, configure, free_port, ip, publish, script, token};

fn check(w: &Workspace, feed: &str) -> Value {
    let out = w.path(&format!("{feed}.report.json"));
    run(
        Command::new(python())
            .arg(script("misp_feed.py"))
            .arg("check")
            .arg(w.path(feed))
            .arg(&out),
        "misp_feed.py check",
    );
    let r: Value =
        serde_json::from_str(&std::fs::read_to_string(out).expect("report")).expect("JSON");
    assert_eq!(
        r["manifest_same"], true,
        "feed_meta_generator made another manifest"
    );
    assert_eq!(
        r["hashes_same"], true,
        "feed_meta_generator made other hashes"
    );
    r
}

fn fetch(w: &Workspace, base: &str, tok: &str) -> Value {
    let out = w.path("fetch.json");
    run(
        Command::new(python())
            .arg(script("misp_feed.py"))
            .arg("fetch")
            .arg(base)
            .arg(tok)
            .arg(w.path("fetch-state.json"))
            .arg(&out),
        "misp_feed.py fetch",
    );
    serde_json::from_str(&std::fs::read_to_string(out).expect("report")).expect("JSON")
}

#[test]
fn pymisp_loads_the_feed_and_a_fetcher_gets_each_event_once() {
    let w = Workspace::new();
    w.init("AA", "AA");
    w.init("BB", "BB");
    w.found(&["AA", "BB"], 2);
    let (aa, bb) = (w.team_id("AA"), w.team_id("BB"));
    let port = free_port();
    configure(&w, "AA", port);
    let a = w.start("AA", &["run"]);
    let _b = w.start("BB", &["run", "--bootstrap", &a.addr]);
    publish(
        &w,
        "AA",
        &advisory(
            "AA-GREEN-1",
            "green",
            &[],
            vec![
                ip("192.0.2.1"),
                json!({ "kind": "domain", "value": "bad.example" }),
                json!({ "kind": "url", "value": "https://bad.example/x" }),
                json!({ "kind": "email", "value": "phish@bad.example" }),
                json!({ "kind": "sha256", "value": "A".repeat(64) }),
                json!({ "kind": "sha1", "value": "b".repeat(40) }),
                json!({ "kind": "md5", "value": "c".repeat(32) }),
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
        "BB",
        &advisory("BB-CLEAR-1", "clear", &[], vec![ip("192.0.2.4")]),
    );
    w.wait("AA", &["advisory", "list"], |v| {
        v.to_string().contains("BB-CLEAR-1")
    });

    // The CLI's feed: CLEAR and GREEN by default.
    let v = w.ok(Some("AA"), &["export", "misp-feed", "--out", "feed"]);
    assert_eq!(v["events"], 2, "{v:#}");
    let r = check(&w, "feed");
    let events = r["events"].as_object().expect("events");
    assert_eq!(events.len(), 2);
    let green = events
        .values()
        .find(|e| {
            e["info"]
                .as_str()
                .is_some_and(|i| i.starts_with("AA-GREEN-1"))
        })
        .expect("the GREEN event");
    assert_eq!(green["tags"], json!(["tlp:green"]));
    assert_eq!(green["orgc"].as_str().map(str::is_empty), Some(false));
    assert_eq!(
        green["types"],
        json!([
            "domain",
            "email-src",
            "ip-dst",
            "md5",
            "sha1",
            "sha256",
            "url",
            "vulnerability"
        ])
    );
    assert!(green["values"].to_string().contains(&"a".repeat(64)));
    let clear = events
        .values()
        .find(|e| {
            e["info"]
                .as_str()
                .is_some_and(|i| i.starts_with("BB-CLEAR-1"))
        })
        .expect("the CLEAR event");
    assert_eq!(clear["tags"], json!(["tlp:clear"]));
    // AMBER only when asked for; the ids are stable across exports.
    let v = w.ok(
        Some("AA"),
        &[
            "export",
            "misp-feed",
            "--out",
            "feed-amber",
            "--tlp",
            "clear,green,amber",
        ],
    );
    assert_eq!(v["events"], 3, "{v:#}");
    let amber = check(&w, "feed-amber");
    let tags: BTreeSet<String> = amber["events"]
        .as_object()
        .expect("events")
        .values()
        .map(|e| e["tags"][0].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(
        tags,
        BTreeSet::from(["tlp:amber".into(), "tlp:clear".into(), "tlp:green".into()])
    );
    for id in events.keys() {
        assert!(amber["events"].get(id).is_some(), "{id} changed its id");
    }

    // Served: the green reader's feed, fetched as MISP does.
    let base = format!("http://127.0.0.1:{port}");
    let tok = token(&w, "AA", "green");
    let first = fetch(&w, &base, &tok);
    assert_eq!(first["manifest"], 200);
    let fetched = first["fetched"].as_object().expect("fetched");
    assert_eq!(
        fetched.keys().collect::<BTreeSet<_>>(),
        events.keys().collect::<BTreeSet<_>>()
    );
    assert!(fetched.values().all(|s| s == 200), "{first:#}");
    assert_eq!(first["hashes"], 200);
    assert_eq!(first["hashes_again"], 304);
    assert_eq!(first["no_token"], 401);
    let again = fetch(&w, &base, &tok);
    assert_eq!(again["manifest"], 304, "{again:#}");
    assert_eq!(again["fetched"], json!({}));

    // An update: the manifest changes and only that event is fetched,
    // with a later timestamp.
    w.ok(
        Some("AA"),
        &[
            "advisory",
            "update",
            "AA/AA-GREEN-1",
            "--indicator",
            "domain:worse.example",
            "--revision-summary",
            "Another domain",
        ],
    );
    let updated = fetch(&w, &base, &tok);
    assert_eq!(updated["manifest"], 200, "{updated:#}");
    let (green_id, _) = events
        .iter()
        .find(|(_, e)| {
            e["info"]
                .as_str()
                .is_some_and(|i| i.starts_with("AA-GREEN-1"))
        })
        .expect("green");
    assert_eq!(updated["fetched"], json!({ green_id.clone(): 200 }));
    assert!(
        updated["held"][green_id]["timestamp"].as_u64()
            > first["held"][green_id]["timestamp"].as_u64()
    );
}

#[test]
fn the_feed_of_a_thousand_advisories() {
    let w = Workspace::new();
    w.init("AA", "AA");
    w.init("BB", "BB");
    w.found(&["AA", "BB"], 2);
    let _a = w.start("AA", &["run"]);
    let list: Vec<Value> = (0..1000u32)
        .map(|n| {
            advisory(
                &format!("AA-2026-{n:04}"),
                if n % 2 == 0 { "green" } else { "clear" },
                &[],
                vec![
                    ip(&format!("10.0.{}.{}", n >> 8, n & 255)),
                    json!({ "kind": "domain", "value": format!("host{n}.bad.example") }),
                    json!({ "kind": "url", "value": format!("https://host{n}.bad.example/x") }),
                    json!({ "kind": "sha256", "value": format!("{n:064x}") }),
                    json!({ "kind": "md5", "value": format!("{n:032x}") }),
                ],
            )
        })
        .collect();
    std::fs::write(w.path("many.json"), Value::Array(list).to_string()).expect("write");
    let info: Value = serde_json::from_str(
        &std::fs::read_to_string(w.path("AA").join("node.json")).expect("node.json"),
    )
    .expect("JSON");
    let api = format!("http://{}", info["api"].as_str().expect("api"));
    let admin = std::fs::read_to_string(w.path("AA").join("api.token")).expect("api.token");
    run(
        Command::new(python())
            .arg(script("misp_feed.py"))
            .args(["publish", &api, admin.trim()])
            .arg(w.path("many.json")),
        "publishing 1000 advisories",
    );
    let v = w.ok(Some("AA"), &["export", "misp-feed", "--out", "feed"]);
    assert_eq!(v["events"], 1000, "{v:#}");
    let r = check(&w, "feed");
    assert_eq!(r["events"].as_object().map(|e| e.len()), Some(1000));
    assert_eq!(r["hashes"], 6000);
    let size = |name: &str| std::fs::metadata(w.path("feed").join(name)).map_or(0, |m| m.len());
    println!(
        "MISP feed of 1000 advisories (5 indicators and a CVE each): {} bytes in all, manifest.json {} bytes, hashes.csv {} bytes",
        v["bytes"],
        size("manifest.json"),
        size("hashes.csv")
    );
}
