//! The founding and joining flow through the command line.

use std::os::unix::fs::PermissionsExt;

use trustmesh_node::api::{MemberStatus, Members};

use crate::support::{Workspace, exe};

#[test]
fn founding_applying_sponsoring_and_membership() {
    let w = Workspace::new();
    let ids: Vec<String> = [("AA", "AT"), ("BB", "BE"), ("CC", "CY"), ("NEW", "DK")]
        .iter()
        .map(|(s, c)| w.init(s, c))
        .collect();
    let mode = std::fs::metadata(w.path("AA").join("team.key"))
        .expect("key file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the secret key is private");
    let network = w.found(&["AA", "BB", "CC"], 2);

    // Every founder sees three founders.
    let members: Members = w.api("BB", &["members"]);
    assert_eq!(members.network_id.to_string(), network);
    assert_eq!(members.members.len(), 3);

    w.ok(
        Some("NEW"),
        &["apply", "--charter", "charter.json", "--out", "app.json"],
    );
    w.ok(
        Some("AA"),
        &[
            "sponsor",
            "app.json",
            "--note",
            "long-time partner",
            "--out",
            "intro.aa.json",
        ],
    );

    // One introduction: pending, and the reason says why.
    w.ok(Some("CC"), &["import", "intro.aa.json"]);
    let s = w.standing("CC", "NEW").expect("CC knows the applicant");
    assert_eq!(s.status, MemberStatus::Pending);
    assert!(!s.member);
    assert!(s.reason.contains("1 of 2 introductions count"));

    w.ok(
        Some("BB"),
        &["sponsor", "app.json", "--out", "intro.bb.json"],
    );
    w.ok(Some("CC"), &["import", "intro.bb.json"]);
    let s = w.standing("CC", "NEW").expect("CC knows the applicant");
    assert_eq!(s.status, MemberStatus::Admitted);
    assert_eq!(s.team.to_string(), ids[3]);
    assert_eq!(s.introductions.len(), 2);

    // Importing the same files again changes nothing.
    let again = w.ok(Some("CC"), &["import", "intro.aa.json", "intro.bb.json"]);
    assert_eq!(again["added"], 0);
}

#[test]
fn init_refuses_to_overwrite_a_key() {
    let w = Workspace::new();
    w.init("AA", "AT");
    let err = w.fails(
        Some("AA"),
        &[
            "init",
            "--name",
            "x",
            "--short-name",
            "x",
            "--country",
            "AT",
        ],
    );
    assert!(err.contains("already holds a team key"), "{err}");
}

#[test]
fn a_key_readable_by_others_is_refused() {
    let w = Workspace::new();
    w.init("AA", "AT");
    let key = w.path("AA").join("team.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let err = w.fails(Some("AA"), &["card"]);
    assert!(err.contains("readable by other users"), "{err}");
}

#[test]
fn invalid_input_is_a_clear_error() {
    let w = Workspace::new();
    let err = w.fails(
        Some("AA"),
        &[
            "init",
            "--name",
            "x",
            "--short-name",
            "x",
            "--country",
            "Austria",
        ],
    );
    assert!(err.contains("country"), "{err}");
    std::fs::write(w.path("junk.json"), "{ not json").expect("write");
    let err = w.fails(None, &["verify", "junk.json"]);
    assert!(err.contains("not a trustmesh file"), "{err}");
    let err = w.fails(Some("AA"), &["members"]);
    assert!(
        err.contains("trustmesh init") || err.contains("no network"),
        "{err}"
    );
}

#[test]
fn verify_detects_tampering_and_other_networks() {
    let w = Workspace::new();
    for (s, c) in [("AA", "AT"), ("BB", "BE"), ("NEW", "DK")] {
        w.init(s, c);
    }
    w.found(&["AA", "BB"], 2);
    w.ok(
        Some("NEW"),
        &["apply", "--charter", "charter.json", "--out", "app.json"],
    );
    let ok = w.ok(None, &["verify", "app.json", "--charter", "charter.json"]);
    assert_eq!(ok["files"][0]["valid"], true);

    let text = std::fs::read_to_string(w.path("app.json")).expect("read");
    let edited = text.replace("NEW Computer", "OLD Computer");
    assert_ne!(text, edited);
    std::fs::write(w.path("edited.json"), edited).expect("write");
    let err = w.fails(None, &["verify", "edited.json"]);
    assert!(err.contains("disagree with its signed bytes"), "{err}");

    // A second network: its files do not verify against the first charter,
    // and a data directory of the first network refuses them.
    let other = Workspace::new();
    other.init("ZZ", "ZA");
    other.init("NEW2", "DK");
    other.found(&["ZZ"], 1);
    other.ok(
        Some("NEW2"),
        &["apply", "--charter", "charter.json", "--out", "app.json"],
    );
    std::fs::copy(other.path("app.json"), w.path("foreign.json")).expect("copy");
    let err = w.fails(
        None,
        &["verify", "foreign.json", "--charter", "charter.json"],
    );
    assert!(err.contains("is for network"), "{err}");
    let err = w.fails(Some("AA"), &["import", "foreign.json"]);
    assert!(err.contains("is for network"), "{err}");
    let err = w.fails(
        Some("AA"),
        &["import", &other.path("charter.json").display().to_string()],
    );
    assert!(err.contains("already belongs to network"), "{err}");
}

#[test]
fn revoking_a_compromised_sponsor_keeps_its_honest_introductions() {
    let w = Workspace::new();
    for (s, c) in [
        ("AA", "AT"),
        ("BB", "BE"),
        ("CC", "CY"),
        ("NEW", "DK"),
        ("LATE", "EE"),
    ] {
        w.init(s, c);
    }
    w.found(&["AA", "BB", "CC"], 2);
    w.ok(
        Some("NEW"),
        &[
            "apply",
            "--charter",
            "charter.json",
            "--out",
            "new.app.json",
        ],
    );
    w.ok(
        Some("AA"),
        &["sponsor", "new.app.json", "--out", "new.aa.json"],
    );
    w.ok(
        Some("BB"),
        &["sponsor", "new.app.json", "--out", "new.bb.json"],
    );
    w.ok(Some("CC"), &["import", "new.aa.json", "new.bb.json"]);
    let aa = w.ok(Some("AA"), &["card"])["team_id"]
        .as_str()
        .expect("id")
        .to_owned();

    // Without --yes nothing is signed: the command says what it would do.
    let err = w.fails(
        Some("CC"),
        &[
            "revoke",
            &aa[..12],
            "--reason",
            "key stolen",
            "--out",
            "rev.cc.json",
        ],
    );
    assert!(
        err.contains("not revoked") && err.contains("--yes"),
        "{err}"
    );
    assert!(err.contains(&aa), "names the team in full: {err}");
    assert!(!w.path("rev.cc.json").exists(), "nothing written");
    assert_eq!(
        w.standing("CC", "AA").expect("known").status,
        trustmesh_node::api::MemberStatus::Founder,
        "nothing signed"
    );

    // BB and CC revoke AA (r = k = 2). CC holds AA's introduction of NEW,
    // so its revocation keeps it; BB keeps none.
    let rev = w.ok(
        Some("CC"),
        &[
            "revoke",
            "--yes",
            &aa[..12],
            "--reason",
            "key stolen",
            "--out",
            "rev.cc.json",
        ],
    );
    assert_eq!(
        rev["revocation"]["kept_introductions"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    w.ok(
        Some("BB"),
        &[
            "revoke",
            "--yes",
            &aa,
            "--reason",
            "key stolen",
            "--keep-none",
            "--out",
            "rev.bb.json",
        ],
    );
    w.ok(Some("CC"), &["import", "rev.bb.json"]);

    let s = w.standing("CC", "AA").expect("known");
    assert_eq!(s.status, MemberStatus::Revoked);
    let s = w.standing("CC", "NEW").expect("known");
    assert_eq!(
        s.status,
        MemberStatus::Admitted,
        "the kept introduction still counts: {s:#?}"
    );

    // The stolen key cannot admit anyone new.
    w.ok(
        Some("LATE"),
        &[
            "apply",
            "--charter",
            "charter.json",
            "--out",
            "late.app.json",
        ],
    );
    w.ok(
        Some("AA"),
        &["sponsor", "late.app.json", "--out", "late.aa.json"],
    );
    w.ok(
        Some("CC"),
        &["sponsor", "late.app.json", "--out", "late.cc.json"],
    );
    w.ok(Some("CC"), &["import", "late.aa.json"]);
    let s = w.standing("CC", "LATE").expect("known");
    assert_eq!(s.status, MemberStatus::Pending);
    assert!(s.reason.contains("the sponsor was revoked"), "{s:#?}");
}

#[test]
fn the_demo_passes() {
    let out = std::process::Command::new(exe())
        .args(["--json", "demo"])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "demo failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["passed"], true);
    let progress = String::from_utf8_lossy(&out.stderr);
    assert!(progress.contains("checks passed"), "{progress}");
    assert!(!progress.contains("FAIL"), "{progress}");
}
