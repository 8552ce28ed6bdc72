//! A team's displayed identity is the profile the network admitted it
//! with: contact entries cannot borrow another team's name, applicants
//! nobody admitted take no part in name resolution, and two members with
//! one short name are told apart by their id prefix.

use serde_json::Value;
use trustmesh_node::api::{ContactDetail, Contacts, Members};

use crate::support::Workspace;

fn typed<T: serde::de::DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).expect("the API's JSON")
}

/// A team in data directory `dir` with its own name and short name (the
/// workspace's `init` uses the directory as the short name) that applies
/// to the workspace's network, its application written to `out`; returns
/// its id.
fn apply_as(w: &Workspace, dir: &str, name: &str, short: &str, out: &str) -> String {
    let id = w.ok(
        Some(dir),
        &[
            "init",
            "--name",
            name,
            "--short-name",
            short,
            "--country",
            "AT",
        ],
    )["team_id"]
        .as_str()
        .expect("id")
        .to_owned();
    w.ok(
        Some(dir),
        &["apply", "--charter", "charter.json", "--out", out],
    );
    id
}

#[test]
fn a_member_cannot_take_another_teams_name() {
    let w = Workspace::new();
    let aa = w.init("AA", "AT");
    let bb = w.init("BB", "BE");
    w.found(&["AA", "BB"], 1);
    let a = w.start("AA", &["run"]);
    let _b = w.start("BB", &["run", "--bootstrap", &a.addr]);

    // BB writes AA's name, short name and country into its own entry.
    let out = w.ok(
        Some("BB"),
        &[
            "contact",
            "set",
            "--name",
            "AA Computer Security Incident Response Team",
            "--short-name",
            "AA",
            "--country",
            "AT",
            "--email",
            "cert@bb.example",
        ],
    );
    assert_eq!(out["changed"], true);
    // A misspelt field is refused with its name, not dropped.
    let mut entry: Value = w.ok(Some("BB"), &["contact", "show", "BB"])["contact"].clone();
    entry["emial"] = "typo@bb.example".into();
    std::fs::write(w.path("entry.json"), entry.to_string()).expect("write");
    let err = w.fails(Some("BB"), &["contact", "set", "--file", "entry.json"]);
    assert!(err.contains("unknown field `emial`"), "{err}");

    // Everywhere, BB's entry shows BB's admitted identity, with its details.
    let list: Contacts = typed(w.wait("AA", &["contact", "list"], |v| {
        v["contacts"].as_array().is_some_and(|l| !l.is_empty())
    }));
    let entry = list
        .contacts
        .iter()
        .find(|c| c.team.to_string() == bb)
        .expect("BB's entry");
    assert_eq!(entry.contact.short_name, "BB");
    assert_eq!(
        entry.contact.name,
        "BB Computer Security Incident Response Team"
    );
    assert_eq!(entry.contact.country, "BE");
    assert_eq!(entry.contact.email, "cert@bb.example");
    assert!(
        list.contacts
            .iter()
            .all(|c| c.contact.short_name != "AA" || c.team.to_string() == aa),
        "no row shows AA's name for another team"
    );
    let export = w.ok(Some("AA"), &["export", "contacts"]);
    assert!(
        !export.to_string().contains("\"short_name\":\"AA\""),
        "{export}"
    );

    // An advisory BB writes under an id that looks like AA's is published by BB.
    w.ok(
        Some("BB"),
        &[
            "advisory",
            "publish",
            "--id",
            "AA-2026-0001",
            "--title",
            "Looks like AA",
        ],
    );
    let csaf = w.ok(
        Some("BB"),
        &["export", "advisory", "--format", "csaf", "BB/AA-2026-0001"],
    );
    assert_eq!(
        csaf["document"]["publisher"]["name"], "BB Computer Security Incident Response Team",
        "{csaf:#}"
    );
}

#[test]
fn only_members_take_part_in_name_resolution() {
    let w = Workspace::new();
    let aa = w.init("AA", "AT");
    w.init("BB", "BE");
    w.found(&["AA", "BB"], 1);
    // A stranger applies with AA's short name; nobody admits it.
    let stranger = apply_as(&w, "STRANGER", "Not AA", "AA", "stranger.json");
    w.ok(Some("BB"), &["import", "stranger.json"]);
    let a = w.start("AA", &["run"]);
    let _b = w.start("BB", &["run", "--bootstrap", &a.addr]);
    w.ok(
        Some("AA"),
        &["contact", "set", "--email", "cert@aa.example"],
    );
    let shown: ContactDetail = typed(w.wait("BB", &["contact", "show", "AA"], |v| {
        v["contact"]["email"] == "cert@aa.example"
    }));
    assert_eq!(shown.team.to_string(), aa);
    w.ok(
        Some("BB"),
        &[
            "advisory",
            "publish",
            "--id",
            "BB-1",
            "--title",
            "For AA",
            "--tlp",
            "amber",
            "--audience",
            "BB",
            "--audience",
            "AA",
        ],
    );

    // An audience naming a team that is no member is refused.
    let err = w.fails(
        Some("BB"),
        &[
            "advisory",
            "publish",
            "--id",
            "BB-2",
            "--title",
            "For a stranger",
            "--tlp",
            "red",
            "--audience",
            "BB",
            "--audience",
            &stranger[..12],
        ],
    );
    assert!(err.contains("is not a member"), "{err}");

    // A second member admitted with the short name AA: the sponsor is
    // warned, and the name no longer resolves alone.
    let imp = apply_as(&w, "IMP", "Another AA", "AA", "imp.json");
    let sponsored = w.raw(Some("BB"), &["sponsor", "imp.json", "--out", "imp.bb.json"]);
    assert!(sponsored.status.success());
    let v: Value = serde_json::from_slice(&sponsored.stdout).expect("json");
    assert!(v["spread"] == true, "{v}");
    let warning = v["warnings"][0].as_str().unwrap_or_default();
    assert!(
        warning.contains("already goes by the short name \"AA\"") && warning.contains(&aa[..8]),
        "{v}"
    );
    let members: Members = typed(w.wait("BB", &["members"], |v| {
        v["members"].as_array().map(Vec::len) == Some(3)
    }));
    let err = w.fails(Some("BB"), &["contact", "show", "AA"]);
    assert!(err.contains("matches 2 teams"), "{err}");
    assert!(err.contains(&aa[..8]) && err.contains(&imp[..8]), "{err}");
    // Lists tell them apart.
    let names: Vec<String> = members
        .standings
        .iter()
        .map(|s| members.short_name(&s.team))
        .collect();
    assert!(names.contains(&format!("AA ({})", &aa[..8])), "{names:?}");
    assert!(names.contains(&format!("AA ({})", &imp[..8])), "{names:?}");
    // The id prefix still names each.
    let shown: ContactDetail = typed(w.ok(Some("BB"), &["contact", "show", &aa[..8]]));
    assert_eq!(shown.team.to_string(), aa);
}
