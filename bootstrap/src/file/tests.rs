use trustmesh_protocol::{StatementSet, TeamKind};

use super::*;

fn key(n: u8) -> TeamKey {
    TeamKey::from_secret_bytes([n; 32])
}

fn profile(name: &str) -> Profile {
    Profile {
        name: format!("{name} CSIRT"),
        short_name: name.to_owned(),
        country: "EE".to_owned(),
        kind: TeamKind::National,
        constituency: "Estonia".to_owned(),
        email: "cert@example.ee".to_owned(),
        website: String::new(),
    }
}

fn sealed() -> (Charter, CharterFile) {
    let cards: Vec<_> = (1..=3)
        .map(|n| CardFile::new(&key(n), profile(&format!("F{n}"))))
        .collect();
    let mut draft = CharterDraftFile::new("baltic", 1_700_000_000, &cards, Policy::default())
        .expect("valid draft");
    for n in 1..=3 {
        draft.sign(&key(n)).expect("founder signs");
    }
    let file = draft.seal().expect("all signed");
    (file.charter().expect("verifies"), file)
}

fn round_trip(f: &TrustFile) -> Result<TrustFile, FileError> {
    TrustFile::parse(&f.to_json())
}

#[test]
fn the_whole_flow_through_json_files() {
    let (charter, charter_file) = sealed();
    let charter_file = TrustFile::Charter(charter_file);
    assert_eq!(round_trip(&charter_file).expect("parses"), charter_file);

    let app = ApplicationFile::create(&charter, &key(4), profile("NEW"), 1_700_000_100)
        .expect("application");
    let app_file = round_trip(&TrustFile::Application(app.clone())).expect("parses");
    let TrustFile::Application(app) = app_file else {
        panic!("kind changed");
    };
    let mut set = StatementSet::new(charter.clone());
    for n in [1, 2] {
        let intro = IntroductionFile::create(&charter, &key(n), &app, "known", 1_700_000_200)
            .expect("introduction");
        let parsed = round_trip(&TrustFile::Introduction(intro)).expect("parses");
        for st in parsed.statements().expect("verified") {
            set.insert(st).expect("inserts");
        }
    }
    assert!(set.membership().is_member(&key(4).id()));
}

#[test]
fn a_draft_missing_a_signature_cannot_be_sealed() {
    let cards: Vec<_> = (1..=2)
        .map(|n| CardFile::new(&key(n), profile("F")))
        .collect();
    let mut draft = CharterDraftFile::new("n", 0, &cards, Policy::default()).expect("draft");
    draft.sign(&key(1)).expect("founder");
    assert_eq!(draft.missing(), vec![key(2).id()]);
    assert!(matches!(
        draft.seal(),
        Err(FileError::Statement(StatementError::MissingFounderSignature(id))) if id == key(2).id()
    ));
    assert!(matches!(
        draft.sign(&key(9)),
        Err(FileError::Statement(StatementError::NotAFounder(_)))
    ));
}

#[test]
fn an_edited_readable_field_is_detected() {
    let (charter, _) = sealed();
    let app = ApplicationFile::create(&charter, &key(4), profile("NEW"), 5).expect("application");
    let mut edited = app.clone();
    edited.profile.name = "Somebody Else".into();
    let json = TrustFile::Application(edited).to_json();
    assert!(matches!(
        TrustFile::parse(&json),
        Err(FileError::Tampered("application"))
    ));

    let (_, mut charter_file) = sealed();
    charter_file.policy.sponsors_required = 1;
    let json = TrustFile::Charter(charter_file).to_json();
    assert!(matches!(
        TrustFile::parse(&json),
        Err(FileError::Tampered("charter"))
    ));
}

#[test]
fn an_edited_draft_invalidates_collected_signatures() {
    let cards: Vec<_> = (1..=2)
        .map(|n| CardFile::new(&key(n), profile("F")))
        .collect();
    let mut draft = CharterDraftFile::new("n", 0, &cards, Policy::default()).expect("draft");
    draft.sign(&key(1)).expect("founder");
    draft.name = "renamed".into();
    assert!(matches!(
        TrustFile::parse(&TrustFile::CharterDraft(draft).to_json()),
        Err(FileError::Tampered("charter draft"))
    ));
}

#[test]
fn a_file_for_another_network_is_refused() {
    let (charter, _) = sealed();
    let cards = [CardFile::new(&key(7), profile("X"))];
    let mut other = CharterDraftFile::new(
        "other",
        0,
        &cards,
        Policy {
            sponsors_required: 1,
            revocation_quorum: 1,
        },
    )
    .expect("draft");
    other.sign(&key(7)).expect("founder");
    let other = other.seal().expect("sealed").charter().expect("verifies");
    let app = ApplicationFile::create(&other, &key(4), profile("NEW"), 5).expect("application");
    assert!(matches!(
        check_network(&charter, &TrustFile::Application(app.clone())),
        Err(FileError::WrongNetwork { .. })
    ));
    assert!(matches!(
        IntroductionFile::create(&charter, &key(1), &app, "", 6),
        Err(FileError::WrongNetwork { .. })
    ));
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    for input in [
        "",
        "{}",
        "[1,2]",
        r#"{"format":"trustmesh/charter/v1"}"#,
        r#"{"format":"trustmesh/application/v1","network_id":"zz","statement_id":"00","applicant":"x","created_at":1,"profile":{},"signed":"00"}"#,
    ] {
        assert!(TrustFile::parse(input).is_err(), "{input}");
    }
}

#[test]
fn revocation_files_sort_their_frontier() {
    let (charter, _) = sealed();
    let ids = vec![
        StatementId::from_bytes([2; 32]),
        StatementId::from_bytes([1; 32]),
        StatementId::from_bytes([2; 32]),
    ];
    let rev = RevocationFile::create(&charter, &key(1), key(2).id(), "retired", 9, ids, vec![])
        .expect("revocation");
    assert_eq!(rev.kept_introductions.len(), 2);
    let parsed = round_trip(&TrustFile::Revocation(rev)).expect("parses");
    assert!(parsed.describe().contains("keeps    2 introductions"));
}
