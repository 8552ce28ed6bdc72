use axum::http::{HeaderMap, HeaderValue, header};
use expect_test::{Expect, expect};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::render::*;
use super::*;
use crate::api::{
    Advisories, AdvisoryDetail, AlertStats, Contacts, Members, NetStats, Peers, Progress,
    SyncCounters, Tools,
};

fn check(actual: &str, expect: Expect) {
    expect.assert_eq(actual);
}

const HOSTILE: &str = r#"<script>alert("x")</script> & 'quoted' <img src=x onerror=alert(1)>"#;

#[test]
fn escape_neutralises_markup() {
    check(
        &escape(HOSTILE),
        expect![[
            r#"&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;quoted&#39; &lt;img src=x onerror=alert(1)&gt;"#
        ]],
    );
    check(
        &escape("CERT-XY-2026 ünïcode"),
        expect!["CERT-XY-2026 ünïcode"],
    );
    check(&escape(""), expect![""]);
}

#[test]
fn links_are_only_made_of_http_urls() {
    check(
        &link("https://example.org/a?b=1&c=\"2\""),
        expect![[
            r#"<a href="https://example.org/a?b=1&amp;c=&quot;2&quot;" rel="noopener noreferrer">https://example.org/a?b=1&amp;c=&quot;2&quot;</a>"#
        ]],
    );
    check(&link("javascript:alert(1)"), expect!["javascript:alert(1)"]);
    check(
        &link(" JaVaScRiPt:alert('<x>')"),
        expect![" JaVaScRiPt:alert(&#39;&lt;x&gt;&#39;)"],
    );
}

#[test]
fn dates_are_utc() {
    check(&date(0), expect!["1970-01-01 00:00 UTC"]);
    check(&date(951_782_400), expect!["2000-02-29 00:00 UTC"]);
    check(&date(1_767_225_599), expect!["2025-12-31 23:59 UTC"]);
}

#[test]
fn fill_does_not_rescan_what_it_inserts() {
    check(
        &fill(
            "<p>{{a}}|{{b}}|{{unknown}}|{{open",
            &[("a", "{{b}}"), ("b", "B")],
        ),
        expect!["<p>{{b}}|B|{{unknown}}|{{open"],
    );
}

fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(k, HeaderValue::from_str(v).expect("header"));
    }
    h
}

fn shared() -> Shared {
    Shared {
        client: crate::engine::channel().0,
        token: "00ff".into(),
        sessions: auth::Sessions::new([7; 32]),
        csaf: None,
    }
}

#[test]
fn pages_take_the_bearer_token_or_a_session_cookie_never_the_token_as_cookie() {
    let s = shared();
    let now = 1_800_000_000;
    let session = s.sessions.issue(now);
    let cookie_of = |v: &str| format!("trustmesh_session={v}");
    let cases = [
        (headers(&[]), false),
        (headers(&[(header::AUTHORIZATION, "Bearer 00ff")]), true),
        (headers(&[(header::AUTHORIZATION, "bearer 00ff")]), true),
        (headers(&[(header::AUTHORIZATION, "BEARER 00ff")]), true),
        (headers(&[(header::AUTHORIZATION, "Bearer 00fe")]), false),
        (headers(&[(header::AUTHORIZATION, "Basic 00ff")]), false),
        (headers(&[(header::COOKIE, &cookie_of(&session))]), true),
        (
            headers(&[(
                header::COOKIE,
                &format!("a=1; {}; b=2", cookie_of(&session)),
            )]),
            true,
        ),
        // The API token is no session.
        (headers(&[(header::COOKIE, &cookie_of("00ff"))]), false),
        (headers(&[(header::COOKIE, "trustmesh_token=00ff")]), false),
        // Another node's key, a changed time, a cut MAC, nothing.
        (
            headers(&[(
                header::COOKIE,
                &cookie_of(&auth::Sessions::new([8; 32]).issue(now)),
            )]),
            false,
        ),
        (
            headers(&[(header::COOKIE, &cookie_of(&session.replacen("18", "19", 1)))]),
            false,
        ),
        (
            headers(&[(header::COOKIE, &cookie_of(&session[..session.len() - 2]))]),
            false,
        ),
        (headers(&[(header::COOKIE, "trustmesh_session=")]), false),
    ];
    for (h, want) in cases {
        assert_eq!(authorized(&h, &s, now), want, "{h:?}");
    }
    // A session expires.
    let h = headers(&[(header::COOKIE, &cookie_of(&session))]);
    assert!(authorized(&h, &s, now + auth::SESSION_SECS - 1));
    assert!(!authorized(&h, &s, now + auth::SESSION_SECS));
}

#[test]
fn empty_form_fields_are_no_filter() {
    let f = WebFilter {
        q: Some("  ".into()),
        category: Some(String::new()),
        severity: Some("high".into()),
        tlp: None,
        team: Some(" AA ".into()),
    }
    .to_filter();
    check(
        &format!("{f:?}"),
        expect![[
            r#"AdvisoryQuery { category: None, severity: Some("high"), tlp: None, owner: Some("AA"), status: None, q: None }"#
        ]],
    );
}

/// A fixture written as the API's JSON, read into its type.
fn typed<T: DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).expect("fixture matches the API type")
}

fn team_id(byte: u8) -> String {
    trustmesh_protocol::TeamKey::from_secret_bytes([byte; 32])
        .id()
        .to_string()
}

fn aa() -> String {
    team_id(0xaa)
}

fn bb() -> String {
    team_id(0xbb)
}

fn members() -> Members {
    typed(json!({
        "network": "Test <Network>",
        "network_id": "1234567890abcdef1234567890abcdef1234567890abcdef1234567890abcdef",
        "members": [aa(), bb()],
        "sponsors_required": 2,
        "revocation_quorum": 2,
        "standings": [
            { "team": aa(), "short_name": "AA", "name": "AA CSIRT", "country": "AA",
              "status": "founder", "reason": "founder named in the charter", "sponsors": [],
              "member": true, "profile": null, "applied": false, "introductions": [],
              "revocations": [], "revokers": [],
              "policy": { "sponsors_required": 2, "revocation_quorum": 2 } },
            { "team": bb(), "short_name": "B<b>", "name": "BB CSIRT", "country": "BB",
              "status": "admitted", "reason": "introduced by aa000000 (2 of 2 required)",
              "sponsors": [aa()],
              "member": true, "profile": null, "applied": true, "introductions": [],
              "revocations": [], "revokers": [],
              "policy": { "sponsors_required": 2, "revocation_quorum": 2 } },
        ],
    }))
}

fn hostile_advisory() -> AdvisoryDetail {
    typed(json!({
        "owner": aa(),
        "owner_name": "AA",
        "summary": {
            "doc": DOC, "owner": aa(), "owner_name": "AA", "id": "AA-1", "title": HOSTILE,
            "category": "csaf_security_advisory", "tlp": "clear", "severity": "critical",
            "severity_text": "<i>kritisch</i>", "status": "updated", "cves": ["CVE-2026-0001"],
            "revision": "2", "updated": 1_767_312_000u64, "imported": true,
            "publisher": "<Vendor>", "csaf_version": "2.0", "complete": true,
        },
        "envelope": {
            "tlp": "clear", "audience": [], "co_authors": [bb()],
            "indicators": [{ "kind": "ipv4", "value": "192.0.2.7" }],
            "status": "updated", "original_sha256": "ab", "original_sha512": "cd",
            "original_signature": null, "sharing_group": null,
        },
        "csaf": {
            "document": {
                "category": "csaf_security_advisory", "csaf_version": "2.0", "title": HOSTILE,
                "publisher": { "category": "vendor", "name": "<Vendor>", "namespace": "javascript:alert(1)" },
                "aggregate_severity": { "text": "<i>kritisch</i>" },
                "notes": [{ "category": "summary", "title": "<img src=x>", "text": "</div><script>1</script>" }],
                "references": [{ "url": "javascript:alert(1)", "summary": "bad" }],
                "tracking": { "id": "AA-1", "version": "2", "status": "final",
                    "revision_history": [
                        { "number": "1", "date": "2026-01-01T00:00:00Z", "summary": "Initial" },
                        { "number": "2", "date": "2026-01-02T00:00:00Z", "summary": "<b>More</b> indicators" },
                    ] },
            },
            "product_tree": { "branches": [{ "category": "vendor", "name": "<script>v</script>",
                "branches": [{ "category": "product_name", "name": "P", "product":
                    { "name": "<img src=p>", "product_id": "P1" } }] }] },
            "vulnerabilities": [{
                "cve": "CVE-2026-0001", "title": "<script>t</script>",
                "scores": [{ "products": ["P1"], "cvss_v3": { "version": "3.1", "baseScore": 9.8,
                    "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H" } }],
                "cwe": { "id": "CWE-79", "name": "<b>XSS</b>" },
                "product_status": { "known_affected": ["P1"], "fixed": ["P2"] },
                "remediations": [{ "category": "vendor_fix", "details": "<b>patch</b>",
                    "url": "javascript:alert(1)", "product_ids": ["P1"] },
                    { "category": "workaround", "details": "w", "url": "https://vendor.example/fix" }],
                "threats": [{ "category": "exploit_status", "details": "<script>x</script>" }],
            }],
        },
        "meta": { "doc": DOC, "heads": [DOC], "changes_applied": 2, "changes_held": 0,
                  "signed_by": [aa(), bb()] },
    }))
}

const DOC: &str = "d0c0000000000000000000000000000000000000000000000000000000000000";

/// No string from a document reaches the page as markup.
fn assert_inert(html: &str) {
    for bad in [
        "<script",
        "<img",
        "<b>",
        "javascript:alert(1)\"",
        "href=\"javascript",
    ] {
        assert!(!html.contains(bad), "{bad:?} in:\n{html}");
    }
}

#[test]
fn the_advisory_page_escapes_and_shows_history_and_signers() {
    let html = advisory_html(&hostile_advisory(), &members());
    assert_inert(&html);
    assert!(html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"));
    let revisions = html
        .split(r#"<table id="revisions">"#)
        .nth(1)
        .and_then(|t| t.split("</table>").next())
        .unwrap_or_default();
    check(
        revisions,
        expect![[
            r#"<thead><tr><th>Revision</th><th>Date</th><th>Summary</th></tr></thead><tbody><tr><td>1</td><td>2026-01-01 00:00 UTC</td><td>Initial</td></tr><tr><td>2</td><td>2026-01-02 00:00 UTC</td><td>&lt;b&gt;More&lt;/b&gt; indicators</td></tr></tbody>"#
        ]],
    );
    let signed = html
        .split(r#"<td id="signed-by">"#)
        .nth(1)
        .and_then(|t| t.split("</td>").next())
        .unwrap_or_default();
    check(
        signed,
        expect![[
            r#"<span title="e734ea6c2b6257de72355e472aa05a4c487e6b463c029ed306df2f01b5636b58">AA</span>, <span title="7d59c5623dd40a74aa4d5a32ac645d3b3f95daeae4c22be25476dd6a486f7382">B&lt;b&gt;</span>"#
        ]],
    );
    assert!(html.contains(r#"<span class="badge tlp tlp-clear">TLP:CLEAR</span>"#));
    // What a responder reads per vulnerability.
    for want in [
        "CVE-2026-0001",
        "9.8 <span class=\"mono\">CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H</span>",
        "CWE-79 &lt;b&gt;XSS&lt;/b&gt;",
        "<tr><th>affected</th><td>&lt;img src=p&gt;</td></tr>",
        "<tr><th>fixed</th><td>P2</td></tr>",
        r#"<a href="https://vendor.example/fix" rel="noopener noreferrer">"#,
        "Threat (exploit_status)",
        "Forwarded by",
        "&lt;i&gt;kritisch&lt;/i&gt; <span class=\"badge sev-critical\">critical</span>",
        r#"<details id="product-tree"><summary>Product tree (1 products)</summary>"#,
    ] {
        assert!(html.contains(want), "{want:?} not in:\n{html}");
    }
}

#[test]
fn the_list_escapes_titles_and_keeps_the_filters() {
    let list: Advisories = typed(json!({ "advisories": [{
        "doc": DOC, "owner": aa(), "owner_name": "AA", "id": "AA/1 <x>", "title": HOSTILE,
        "category": "alert", "tlp": "amber_strict", "severity": "high", "severity_text": "hoch",
        "status": "final", "cves": ["CVE-2026-0001"], "revision": "1", "updated": 0,
        "imported": false, "publisher": "AA", "csaf_version": "2.0", "complete": true,
    }]}));
    let f = WebFilter {
        q: Some("\"><script>".into()),
        severity: Some("high".into()),
        ..Default::default()
    };
    let html = advisories_html(&list, &members(), &f);
    assert_inert(&html);
    assert!(
        html.contains(r#"value="&quot;&gt;&lt;script&gt;""#),
        "{html}"
    );
    assert!(html.contains(r#"<option value="high" selected>high</option>"#));
    assert!(html.contains(&format!(r#"href="/advisories/{}/AA%2F1%20%3Cx%3E""#, aa())));
    assert!(html.contains("TLP:AMBER+STRICT"));
    assert!(html.contains(r#"<p class="muted" id="count">1 advisory</p>"#));
}

#[test]
fn members_show_why() {
    let html = members_html(&members());
    assert_inert(&html);
    assert!(html.contains("Test &lt;Network&gt;"));
    assert!(html.contains(r#"<td class="reason">introduced by aa000000 (2 of 2 required)</td>"#));
    assert!(html.contains(r#"<span class="badge st-admitted">admitted</span>"#));
}

#[test]
fn contacts_and_tools_escape_and_link_safely() {
    let contacts: Contacts = typed(
        json!({ "contacts": [{ "team": aa(), "member": true, "contact": {
            "name": HOSTILE, "short_name": "AA", "country": "AA", "kind": "national",
            "constituency": "", "email": "a\"@example.org", "phone": "", "emergency_phone": "",
            "website": "javascript:alert(1)", "time_zone": "UTC", "business_hours": "9-17",
            "postal_address": "",
            "pgp_keys": [{ "fingerprint": "<F>", "armored": null }],
            "representatives": [{ "name": "<R>", "role": "lead", "email": "", "phone": "" }],
        }}]}),
    );
    let html = contacts_html(&contacts);
    assert_inert(&html);
    assert!(html.contains(r#"<a href="mailto:a&quot;@example.org">"#));
    let tools: Tools = typed(
        json!({ "tools": [{ "team": aa(), "team_name": "AA", "tool": {
            "name": "<t>", "version": "1", "description": HOSTILE, "homepage": "https://example.org/t",
            "download_url": "", "sha256": "", "license": "MIT", "tags": ["<x>"], "maintainer": "",
        }}]}),
    );
    let html = tools_html(&tools);
    assert_inert(&html);
    assert!(html.contains(r#"<a href="https://example.org/t" rel="noopener noreferrer">"#));
    check(
        &tools_html(&Tools { tools: vec![] }),
        expect![[r#"<p class="muted">No team has registered a tool yet.</p>"#]],
    );
}

#[test]
fn peers_flatten_counters() {
    let mut sync = SyncCounters {
        rounds_finished: 7,
        ..Default::default()
    };
    sync.rejected.insert("bad<sig>".into(), 1);
    let status: Status = typed(json!({
        "team_id": aa(), "peer_id": "12D3<", "listen": ["/ip4/127.0.0.1/tcp/1"], "member": true,
        "network_id": DOC, "network": "n",
        "peers": { "connected": 1, "members": 1, "known_addresses": 1 },
        "members": 2, "statements": 3, "documents": 4, "digest": "ff", "uptime_secs": 5,
        "sync": sync,
        "net": NetStats { gossip_in: 2, ..Default::default() },
        "last_sync_secs": null, "progress": Progress::default(), "alerts": AlertStats::default(),
        "health": { "state": "healthy", "reasons": [], "summary": "healthy" },
        "reachability": { "reachable": 1, "unreachable": 1, "members": [
            { "team": bb(), "reachable": false, "for_secs": 40, "last_sync_secs": 45, "rtt_ms": null },
            { "team": aa(), "reachable": true, "for_secs": 90, "last_sync_secs": 2, "rtt_ms": 3 },
        ]},
    }));
    let peers: Peers = typed(
        json!({ "peers": [{ "peer_id": "12D3KooB", "team": bb(), "member": true,
        "open": true, "address": null, "agent": "<agent>", "connected_secs": 9 }], "known_addresses": 1 }),
    );
    let html = peers_html(&status, &peers, &members());
    assert_inert(&html);
    let sync = html
        .split(r#"<table class="kv" id="sync"><tbody>"#)
        .nth(1)
        .and_then(|t| t.split("</tbody>").next())
        .unwrap_or_default();
    check(
        sync,
        expect![
            "<tr><th>changes duplicate</th><td>0</td></tr><tr><th>changes new</th><td>0</td></tr><tr><th>changes revoked author</th><td>0</td></tr><tr><th>changes unknown author</th><td>0</td></tr><tr><th>joins admitted</th><td>0</td></tr><tr><th>joins refused</th><td>0</td></tr><tr><th>messages in</th><td>0</td></tr><tr><th>messages out</th><td>0</td></tr><tr><th>rejected.bad&lt;sig&gt;</th><td>1</td></tr><tr><th>rounds finished</th><td>7</td></tr><tr><th>rounds opened</th><td>0</td></tr><tr><th>statements new</th><td>0</td></tr><tr><th>store failures</th><td>0</td></tr><tr><th>transmits dropped</th><td>0</td></tr>"
        ],
    );
    assert!(html.contains("(inbound)"));
    assert!(
        html.contains(
            r#"<p class="muted" id="reachability">1 of 2 other member(s) reachable.</p>"#
        )
    );
    assert!(
        html.contains(r#"<span class="badge no">no</span></td><td>40 s</td><td>45 s ago</td>"#),
        "{html}"
    );
}

#[test]
fn pages_have_the_nav_bar_and_an_escaped_title() {
    let html = layout("<T>", "/tools", None, "<p>body</p>");
    assert!(html.contains("<title>&lt;T&gt; · trustmesh</title>"));
    assert!(html.contains(r#"<a href="/tools" class="active">Tools</a>"#));
    assert!(html.contains(r#"<a href="/members">Members</a>"#));
    assert!(html.contains("<p>body</p>"));
    let login = login_html(Some("<no>"));
    assert!(login.contains(r#"<form class="login" method="post" action="/login">"#));
    assert!(login.contains("&lt;no&gt;"));
}
