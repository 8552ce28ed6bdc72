use super::{Action, Behaviour, Scenario};

#[test]
fn every_shipped_scenario_parses() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("scenarios directory") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "toml") {
            let s = Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                Some(s.name.as_str()),
                path.file_stem().and_then(|s| s.to_str()),
                "a scenario is named after its file"
            );
            n += 1;
        }
    }
    assert!(n >= 5, "{n} scenarios");
}

#[test]
fn a_minimal_scenario_gets_defaults_and_events() {
    let s = Scenario::parse(
        r#"
name = "t"
version = 1
nodes = 10
duration_s = 60
byzantine = [{ behaviour = "forge", count = 1 }]
[[events]]
at_s = 5
kind = "partition"
region = 1
duration_s = 10
[[events]]
at_s = 6
kind = "revoke"
"#,
    )
    .expect("valid");
    assert_eq!(s.sponsors_required, 2);
    assert_eq!(s.byzantine[0].behaviour, Behaviour::Forge);
    assert!(matches!(
        s.events[0].action,
        Action::Partition {
            region: 1,
            duration_s: 10
        }
    ));
}

#[test]
fn nonsense_is_refused() {
    let cases = [
        ("nodes = 2\nfounders = 3", "founders"),
        ("nodes = 10\nsponsors_required = 0", "sponsors_required"),
        (
            "nodes = 10\nregions = 2\n[[events]]\nat_s = 1\nkind = \"partition\"\nregion = 5\nduration_s = 1",
            "region",
        ),
        ("nodes = 10\nnodez = 3", "unknown field"),
    ];
    for (body, expect) in cases {
        let text = format!("name = \"t\"\nversion = 1\nduration_s = 60\n{body}");
        let err = Scenario::parse(&text).expect_err(body).to_string();
        assert!(err.contains(expect), "{err}");
    }
}
